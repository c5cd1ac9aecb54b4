// SPDX-License-Identifier: Apache-2.0
/* Stand-in for @twilio/flex-ui-telemetry: records what the plugin tracks. */
export default class FlexTelemetry {
	constructor(opts) { this.opts = opts; }
	track(event, props) {
		const h = globalThis.__FH_FLEX;
		h.tracked = (h.tracked || []).concat([{ event, props }]);
	}
}
