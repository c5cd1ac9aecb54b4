// SPDX-License-Identifier: Apache-2.0
/*
 * drive.mjs: run a Flex plugin's OWN client code (../shared/clients) under
 * Node against the local stack, for tests/integration/test_clients.py.
 *
 *   node drive.mjs SCENARIO.json RESULT.json
 *
 * The scenario names a client ("template-fbd5594", "template-1bdf516",
 * "plugin-library"), an action and its inputs; the result holds what the
 * plugin returned or threw, every fetch it made (as a browser saw it),
 * every Flex action, notification and store dispatch it asked for, and
 * for "panel" the panel's rendered HTML.
 *
 * The plugin's modules are bundled with esbuild (from npm, in
 * FLEXHOOKS_CLIENT_MODULES, installed by deploy/local.sh test) with
 * stubs/ standing in for @twilio/flex-ui, the Paste UI kit, the telemetry
 * library and react-redux.  fetch behaves like a browser on
 * https://flex.twilio.com: it sends Origin, and an answer without a
 * matching Access-Control-Allow-Origin (or with two) is hidden from the
 * plugin as TypeError("Failed to fetch"); a request that is not "simple"
 * is preflighted first.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ORIGIN = "https://flex.twilio.com";

const CLIENTS = {
	"template-fbd5594": {
		dir: "flex-project-template@fbd5594/plugin-flex-ts-template-v2/src",
		service: "feature-library/callback-and-voicemail/utils/callback/CallbackService.ts",
	},
	"template-1bdf516": {
		dir: "flex-project-template@1bdf516/plugin-flex-ts-template-v2/src",
		service: "feature-library/callback-and-voicemail/utils/callback/CallbackService.ts",
	},
	"plugin-library": {
		dir: "flex-plugin-library-callback-and-voicemail@b4e6c6f/ui-src/src",
		service: "service/CallbackService.ts",
		panel: "components/CallbackAndVoicemail/CallbackAndVoicemail.tsx",
	},
};

function need(name) {
	const v = process.env[name];
	if (!v)
		throw new Error(name + " is not set");
	return v;
}

/* ------------------------------------------------------------ bundling */

const STUBS = [
	[/^@twilio\/flex-ui$/, "flex-ui.js"],
	[/^@twilio\/flex-ui-telemetry$/, "telemetry.js"],
	[/^@twilio-paste\//, "paste.js"],
	[/^react-redux$/, "react-redux.js"],
];

async function bundle(client, sc, outDir) {
	const c = CLIENTS[client];
	if (!c)
		throw new Error("unknown client " + client);
	const modules = need("FLEXHOOKS_CLIENT_MODULES");
	const src = path.join(need("FLEXHOOKS_CLIENTS_DIR"), c.dir);
	const out = path.join(outDir, client + ".cjs");
	if (fs.existsSync(out))
		return out;
	const req = createRequire(path.join(modules, "x.js"));
	const esbuild = req("esbuild");
	const entry = path.join(outDir, client + "-entry.js");
	let text = "export { default as CallbackService } from " +
	    JSON.stringify(path.join(src, c.service)) + ";\n";
	if (c.panel) {
		text += "export { CallbackAndVoicemail } from " +
		    JSON.stringify(path.join(src, c.panel)) + ";\n" +
		    "export { default as React } from \"react\";\n" +
		    "export { renderToStaticMarkup } from " +
		    "\"react-dom/server\";\n";
	}
	fs.writeFileSync(entry, text);
	const stubs = {
		name: "flexhooks-stubs",
		setup(b) {
			for (const [re, file] of STUBS)
				b.onResolve({ filter: re }, () => ({
					path: path.join(HERE, "stubs", file) }));
		},
	};
	await esbuild.build({
		entryPoints: [entry],
		outfile: out,
		bundle: true,
		platform: "node",
		format: "cjs",
		target: "node18",
		nodePaths: [modules],
		plugins: [stubs],
		logLevel: "error",
		/* what the plugin's own build puts in (flex-plugin-scripts
		 * replaces FLEX_APP_* at build time), per scenario here */
		define: {
			"process.env.FLEX_APP_SERVERLESS_FUNCTONS_DOMAIN":
			    "globalThis.__FH_BUILD_DOMAIN",
		},
	});
	return out;
}

/* ------------------------------------------------------ browser fetch */

const SAFE_CT = ["application/x-www-form-urlencoded", "multipart/form-data",
    "text/plain"];

function headerList(h) {
	if (!h)
		return [];
	if (typeof h.entries === "function" && !Array.isArray(h))
		return [...h.entries()];
	if (Array.isArray(h))
		return h;
	return Object.entries(h);
}

function isSimple(method, headers) {
	if (!["GET", "HEAD", "POST"].includes(method))
		return false;
	for (const [k, v] of headers) {
		const n = k.toLowerCase();
		if (n === "content-type") {
			if (!SAFE_CT.includes(String(v).split(";")[0].trim()
			    .toLowerCase()))
				return false;
		} else if (!["accept", "accept-language",
		    "content-language"].includes(n))
			return false;
	}
	return true;
}

function send(u, method, headers, body) {
	return new Promise((resolve, reject) => {
		const mod = u.protocol === "https:" ? https : http;
		const r = mod.request(u, { method, headers: Object.fromEntries(
		    headers), timeout: 60000 }, (res) => {
			const chunks = [];
			res.on("data", (d) => chunks.push(d));
			res.on("end", () => resolve({ status: res.statusCode,
			    statusText: res.statusMessage, headers: res.headers,
			    raw: res.rawHeaders, body: Buffer.concat(chunks) }));
			res.on("error", reject);
		});
		r.on("timeout", () => r.destroy(new Error("timeout")));
		r.on("error", reject);
		if (body !== undefined && body !== null)
			r.write(body);
		r.end();
	});
}

/* the values of one header, duplicates kept apart */
function allOf(res, name) {
	const out = [];
	for (let i = 0; i + 1 < res.raw.length; i += 2)
		if (res.raw[i].toLowerCase() === name)
			out.push(res.raw[i + 1]);
	return out;
}

function corsOk(res) {
	const v = allOf(res, "access-control-allow-origin");
	return v.length === 1 && (v[0] === "*" || v[0] === ORIGIN);
}

function makeFetch(log) {
	return async function browserFetch(url, init = {}) {
		const u = new URL(String(url));
		const method = String(init.method || "GET").toUpperCase();
		const headers = headerList(init.headers).map(([k, v]) =>
		    [k, String(v)]);
		const rec = { method, url: u.href, body: init.body === undefined ?
		    null : String(init.body) };
		log.push(rec);
		const fail = (why) => {
			rec.hidden = why;
			throw new TypeError("Failed to fetch");
		};
		const cross = u.origin !== ORIGIN;
		if (cross && !isSimple(method, headers)) {
			let pre;
			try {
				pre = await send(u, "OPTIONS", [["Origin", ORIGIN],
				    ["Access-Control-Request-Method", method],
				    ["Access-Control-Request-Headers",
				    headers.map(([k]) => k.toLowerCase())
				    .join(",")]]);
			} catch (e) {
				fail("preflight: " + e.message);
			}
			rec.preflight = pre.status;
			if (pre.status < 200 || pre.status > 299 || !corsOk(pre))
				fail("preflight refused (" + pre.status + ")");
		}
		let res;
		try {
			res = await send(u, method, headers.concat(cross ?
			    [["Origin", ORIGIN]] : []), init.body);
		} catch (e) {
			fail("network: " + e.message);
		}
		rec.status = res.status;
		rec.acao = allOf(res, "access-control-allow-origin");
		rec.answer = res.body.toString("utf8").slice(0, 400);
		if (cross && !corsOk(res))
			fail("no Access-Control-Allow-Origin for " + ORIGIN);
		const nobody = [101, 204, 205, 304].includes(res.status);
		return new Response(nobody ? null : res.body, {
			status: res.status, statusText: res.statusText,
			headers: Object.entries(res.headers).map(([k, v]) =>
			    [k, Array.isArray(v) ? v.join(", ") : String(v)]),
		});
	};
}

/* ------------------------------------------------------------ running */

/* A Flex ITask made from the emulator's task (Twilio's JSON). */
function iTask(t, sc) {
	const attributes = typeof t.attributes === "string" ?
	    JSON.parse(t.attributes) : t.attributes;
	return {
		taskSid: t.sid,
		sid: sc.reservationSid || "WR" + t.sid.slice(2),
		attributes,
		workflowSid: t.workflow_sid,
		queueSid: t.task_queue_sid,
		timeout: t.timeout,
		priority: t.priority,
		taskStatus: t.assignment_status || "assigned",
		status: "accepted",
		taskChannelUniqueName: "voice",
		defaultFrom: attributes && attributes.from,
	};
}

function plainError(e) {
	if (e === undefined || e === null)
		return null;
	if (e instanceof Error)
		return { name: e.name, message: e.message };
	try {
		return JSON.parse(JSON.stringify(e));
	} catch (x) {
		return String(e);
	}
}

async function main() {
	const [scFile, outFile] = process.argv.slice(2);
	const sc = JSON.parse(fs.readFileSync(scFile, "utf8"));
	const h = {
		token: sc.token,
		serviceConfiguration: sc.serviceConfiguration || {},
		state: sc.state || {},
		failActions: sc.failActions || [],
	};
	globalThis.__FH_FLEX = h;
	globalThis.__FH_BUILD_DOMAIN = sc.buildDomain || "";
	globalThis.window = globalThis;	/* the plugins read window.Twilio */
	const fetches = [];
	globalThis.fetch = makeFetch(fetches);
	const logs = [];
	for (const level of ["log", "info", "warn", "error", "debug"]) {
		console[level] = (...a) => logs.push(level + ": " + a.map((x) =>
		    typeof x === "string" ? x : (x instanceof Error ?
		    x.message : (() => { try { return JSON.stringify(x); }
		    catch (e) { return String(x); } })())).join(" "));
	}
	const result = { fetches, logs };
	try {
		const file = await bundle(sc.client, sc, sc.outDir);
		const req = createRequire(import.meta.url);
		const m = req(file);
		const svc = m.CallbackService;
		let r;
		switch (sc.action) {
		case "requeue":
			r = await svc.requeueCallback(iTask(sc.task, sc));
			result.returned = r && r.taskSid;
			break;
		case "fetchVoicemail": {
			r = await svc.fetchVoicemail(sc.recordingSid);
			const bytes = Buffer.from(r.recording || "", "base64");
			result.returned = { type: r.type, bytes: bytes.length,
			    sha256: createHash("sha256").update(bytes)
			    .digest("hex") };
			break;
		}
		case "createCallback":
			result.returned = await svc.createCallback(sc.request);
			break;
		case "panel":
			result.html = m.renderToStaticMarkup(m.React.createElement(
			    m.CallbackAndVoicemail, { task: iTask(sc.task, sc),
			    maxAttempts: sc.maxAttempts || 3 }));
			break;
		default:
			throw new Error("unknown action " + sc.action);
		}
	} catch (e) {
		result.threw = plainError(e);
	}
	result.actions = h.actions;
	result.notifications = h.notifications;
	result.dispatched = h.dispatched;
	result.tracked = h.tracked || [];
	fs.writeFileSync(outFile, JSON.stringify(result, null, 1));
}

main().then(() => process.exit(0), (e) => {
	process.stderr.write("drive.mjs: " + (e && e.stack || e) + "\n");
	process.exit(2);
});
