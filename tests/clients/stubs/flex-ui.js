// SPDX-License-Identifier: Apache-2.0
/*
 * Stand-in for @twilio/flex-ui in the real-client test (README.md
 * "Building by hand"): only what the plugins' callback and voicemail code
 * touches.  The test controls the Manager (user token, store, service
 * configuration, ui_attributes.custom_data) through globalThis.__FH_FLEX,
 * set before the bundle is loaded, and reads back what the plugin asked
 * Flex to do (Actions.invokeAction, Notifications.showNotification,
 * store.dispatch) from the same object.
 */
const h = globalThis.__FH_FLEX;
if (!h)
	throw new Error("flex-ui stub: globalThis.__FH_FLEX is not set");
h.actions = h.actions || [];
h.notifications = h.notifications || [];
h.dispatched = h.dispatched || [];

function plain(v) {
	/* what a recorder keeps of a payload: no functions, no cycles */
	try {
		return JSON.parse(JSON.stringify(v === undefined ? null : v));
	} catch (e) {
		return String(v);
	}
}

const store = {
	getState: () => h.state || {},
	dispatch: (action) => {
		h.dispatched.push(plain(action && { type: action.type,
		    payload: action.payload }));
		return action;
	},
	subscribe: () => () => {},
};

const manager = {
	get user() { return { token: h.token }; },
	store,
	get serviceConfiguration() { return h.serviceConfiguration || {}; },
	get configuration() {
		return { custom_data: (h.serviceConfiguration &&
		    h.serviceConfiguration.ui_attributes &&
		    h.serviceConfiguration.ui_attributes.custom_data) || {} };
	},
	workerClient: { attributes: {} },
	strings: {},
	reportErrorEvent: (e) => { h.errors = (h.errors || []).concat(
	    String(e && e.message)); },
};

export const Manager = { getInstance: () => manager };

export const Actions = {
	invokeAction: async (name, payload) => {
		const p = payload || {};
		h.actions.push({ name, task: p.task ? p.task.taskSid : undefined,
		    payload: plain(p.task ? Object.assign({}, p,
		    { task: p.task.taskSid }) : p) });
		if (h.failActions && h.failActions.includes(name))
			throw new Error("stub: " + name + " failed");
	},
	addListener: () => {},
	replaceAction: () => {},
	registerAction: () => {},
};

export const Notifications = {
	showNotification: (id, context) => {
		h.notifications.push({ id, context: plain(context) });
	},
	registerNotification: () => {},
};

export const NotificationType = { error: "error", info: "info",
    success: "success", warning: "warning" };

export class FlexError extends Error {
	constructor(message, options) {
		super(message);
		this.options = options;
	}
}

export const VERSION = "2.8.0";

export function useFlexSelector(fn) { return fn(store.getState()); }
export function withTaskContext(C) { return C; }
export function Template(props) { return props && props.code; }
export const templates = {};
export const TaskHelper = {};
export const DefaultTaskChannels = {};
