// SPDX-License-Identifier: Apache-2.0
// bench/node-preload.js - `node --require` preload for the Node reference
// row of bench/run.sh.
//
// The reference is the template's own functions under twilio-run; their
// REST calls go through the twilio library's RequestClient (axios).  This
// preload wraps RequestClient.prototype.request, whichever copy of the
// library is loaded, so that every request to https://*.twilio.com goes to
// the bench's emulator instead, over plain http on 127.0.0.1, with the
// same path, query, method, headers and body.  A request to any other host
// fails: the benchmark never leaves the machine.
//
// Environment: BENCH_NODE_EMULATOR, the emulator's base URL (required;
// http://127.0.0.1:PORT).
'use strict';

const Module = require('module');

const target = process.env.BENCH_NODE_EMULATOR || '';
if (!/^http:\/\/127\.0\.0\.1:[0-9]+$/.test(target)) {
  throw new Error(`node-preload: BENCH_NODE_EMULATOR '${target}' is not http://127.0.0.1:PORT`);
}

const TWILIO_HOST = /^https:\/\/[a-z0-9.-]*\.twilio\.com(?=\/|$)/;

function rewrite(uri) {
  if (!TWILIO_HOST.test(uri)) {
    throw new Error(`node-preload: refusing a request to '${uri}'`);
  }
  return uri.replace(TWILIO_HOST, target);
}

function wrap(RequestClient) {
  if (!RequestClient || !RequestClient.prototype || RequestClient.prototype.benchWrapped) {
    return;
  }
  const request = RequestClient.prototype.request;
  RequestClient.prototype.request = function benchRequest(opts) {
    return request.call(this, { ...opts, uri: rewrite(String(opts.uri)) });
  };
  RequestClient.prototype.benchWrapped = true;
}

const load = Module._load;
Module._load = function benchLoad(request, parent, isMain) {
  const exported = load.apply(this, arguments);
  if (/RequestClient(\.js)?$/.test(request)) {
    let file = '';
    try {
      file = Module._resolveFilename(request, parent, isMain);
    } catch (e) {
      file = '';
    }
    if (/[\\/]twilio[\\/]lib[\\/]base[\\/]RequestClient\.js$/.test(file)) {
      wrap(exported && exported.default ? exported.default : exported);
    }
  }
  return exported;
};
