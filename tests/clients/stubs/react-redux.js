// SPDX-License-Identifier: Apache-2.0
/*
 * Stand-in for react-redux: the panel reads and dispatches through the
 * stub Manager's store (stubs/flex-ui.js), which the test controls.
 */
import { Manager } from "@twilio/flex-ui";

export function useSelector(fn) {
	return fn(Manager.getInstance().store.getState());
}
export function useDispatch() {
	return Manager.getInstance().store.dispatch;
}
