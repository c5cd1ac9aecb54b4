#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A deployment without Flex (issue 22): the programs started with no
TWILIO_FLEX_WORKSPACE_SID and no callback workflow, only the dialer's
workspace in FLEXHOOKS_EVENT_WORKSPACES.

Every program starts (none refuses), the dialer routes work against the
Twilio emulator (an event from the listed workspace places one call,
/dial-queue bridges, /location-lookup answers from the shipped example
file, /incoming-call enqueues without the wait experience), the programs
that need Flex answer 503 "not configured: TWILIO_FLEX_WORKSPACE_SID",
and /healthz says which features are configured.

The programs run under spawn-fcgi on private sockets with a config file
of their own, and the test speaks FastCGI to them itself (no nginx: the
Basic-auth marker is passed as nginx would).  Needs the stack's emulator:
exits 77 unless FLEXHOOKS_TEST_STACK=1, or without spawn-fcgi.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402

ENV = t.ENV
EMU = t.EMU
PUBLIC = "https://noflex.example.com"
BUILD = os.environ.get("FLEXHOOKS_BUILD_DIR") or ENV.root
SRC = os.environ.get("FLEXHOOKS_SRCDIR") or ENV.root
PROGRAMS = ("healthz", "taskrouter-events", "dial-queue", "status-callback",
            "location-lookup", "incoming-call", "create-callback",
            "flex-create-callback", "fetch-voicemail", "requeue-callback",
            "wait-experience")
INBOUND_WF = "WW" + "5" * 32
NOT_CONFIGURED = "not configured: TWILIO_FLEX_WORKSPACE_SID"
CALLS = "/2010-04-01/Accounts/%s/Calls.json" % ENV.account_sid
STACK = {}


# ------------------------------------------------------------- FastCGI


def fcgi(prog, method, uri, form=None, signed=True, basic=True):
    """One request to prog; returns (status, headers dict, body)."""
    body = t.form_encode(form) if form is not None else b""
    extra = []
    if form is not None:
        extra.append(("CONTENT_TYPE", "application/x-www-form-urlencoded"))
    if signed:
        extra.append(("HTTP_X_TWILIO_SIGNATURE", t.sign(
            PUBLIC + uri, form if method == "POST" else None)))
    if basic:
        extra.append(("FLEXHOOKS_BASIC_VERIFIED", "1"))
    return t.fcgi_parse(t.fcgi_request(
        STACK["socks"][prog], t.fcgi_params(method, uri, len(body), extra),
        body))


def start(tmp, ws):
    conf = os.path.join(tmp, "flexhooks.env")
    socks = {p: os.path.join(tmp, p + ".sock") for p in PROGRAMS}
    settings = {
        "ACCOUNT_SID": ENV.account_sid, "AUTH_TOKEN": ENV.auth_token,
        "FLEXHOOKS_PUBLIC_URL": PUBLIC,
        "FLEXHOOKS_BASIC_AUTH": ENV.basic_auth,
        "FLEXHOOKS_EVENT_WORKSPACES": ws,
        "FLEXHOOKS_INBOUND_WORKFLOW_SID": INBOUND_WF,
        "FLEXHOOKS_LOCATIONS": os.path.join(SRC, "deploy",
                                            "locations.example.json"),
        "FLEXHOOKS_TWILIO_API_URL": ENV.emulator_url,
        "FLEXHOOKS_TASKROUTER_URL": ENV.emulator_url,
        "FLEXHOOKS_IAM_URL": ENV.emulator_url,
        "FLEXHOOKS_HEALTH_SOCKETS": ":".join(socks.values()),
        "FLEXHOOKS_PROCESSES": "1", "FLEXHOOKS_LOG_LEVEL": "info"}
    with open(conf, "w") as f:
        for k, v in settings.items():
            f.write("%s=%s\n" % (k, v))
    os.chmod(conf, 0o600)
    env = {"PATH": "/usr/bin:/bin", "FLEXHOOKS_CONFIG": conf}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    procs = {}
    for p in PROGRAMS:
        log = open(os.path.join(tmp, p + ".log"), "ab")
        procs[p] = subprocess.Popen(
            ["spawn-fcgi", "-n", "-s", socks[p], "-M", "0600", "--",
             os.path.join(BUILD, "cgi-bin", p)],
            stdout=log, stderr=log, env=env)
        log.close()
    end = time.monotonic() + 15
    while time.monotonic() < end and not all(
            os.path.exists(s) or procs[p].poll() is not None
            for p, s in socks.items()):
        time.sleep(0.05)
    STACK.update(tmp=tmp, socks=socks, procs=procs, ws=ws)


def log_of(prog):
    with open(os.path.join(STACK["tmp"], prog + ".log"), "rb") as f:
        return f.read().decode("utf-8", "replace")


# ------------------------------------------------------------- tests


@t.test
def every_program_starts():
    time.sleep(0.3)
    dead = [p for p, pr in STACK["procs"].items() if pr.poll() is not None]
    t.eq(dead, [], "programs that refused to start")
    t.ok(NOT_CONFIGURED in log_of("create-callback"),
         "create-callback logs what it lacks:\n" + log_of("create-callback"))


@t.test
def flex_programs_answer_503():
    cases = (
        ("create-callback", "POST",
         "/features/callback-and-voicemail/studio/create-callback",
         [("numberToCall", t.unique_number()),
          ("numberToCallFrom", t.unique_number())]),
        ("flex-create-callback", "POST",
         "/features/callback-and-voicemail/flex/create-callback",
         [("Token", "x"), ("numberToCall", t.unique_number()),
          ("numberToCallFrom", t.unique_number())]),
        ("fetch-voicemail", "POST",
         "/features/callback-and-voicemail/flex/fetch-voicemail",
         [("Token", "x"), ("taskSid", t.sid("WT"))]),
        ("requeue-callback", "POST",
         "/features/callback-and-voicemail/flex/requeue-callback",
         [("Token", "x"), ("taskSid", t.sid("WT"))]),
        ("wait-experience", "POST",
         "/features/callback-and-voicemail/studio/wait-experience",
         [("CallSid", t.sid("CA"))]))
    mark = EMU.mark()
    for prog, method, uri, form in cases:
        status, headers, body = fcgi(prog, method, uri, form)
        t.eq(status, 503, "%s status (body %r)" % (prog, body[:200]))
        t.eq(json.loads(body.decode())["message"], NOT_CONFIGURED,
             "%s message" % prog)
    t.eq([r["path"] for r in EMU.requests(mark)
          if r["path"].startswith(("/v1/Workspaces", "/v1/Token"))
          and ENV.workspace_sid in r["path"]], [], "no Twilio request")


@t.test
def healthz_says_what_is_configured():
    status, _, body = fcgi("healthz", "GET", "/healthz", signed=False,
                           basic=False)
    t.eq(status, 200, "status (body %r)" % body[:300])
    h = json.loads(body.decode())
    t.eq(h["ok"], True, "every program is up: %r" % h["down"])
    t.eq(h["workspaces"], [STACK["ws"]], "workspaces")
    for f in ("outbound_dialer", "location_lookup", "incoming_call"):
        t.eq(h["features"][f], True, f)
    for f in ("callbacks", "flex_plugin", "wait_experience"):
        t.eq(h["features"][f], False, f)
        t.eq(h["not_configured"][f], "TWILIO_FLEX_WORKSPACE_SID", f)
    t.eq(h["not_configured"]["no_agent_redirect"], "FLEXHOOKS_FORWARD_RULES",
         "redirect")


@t.test
def location_lookup_from_the_shipped_example():
    status, _, body = fcgi("location-lookup", "GET",
                           "/location-lookup?Called=%2B14155550100",
                           basic=False)
    t.eq(status, 200, "status (body %r)" % body[:200])
    t.eq(json.loads(body.decode())["location"], "Pacific Health", "entry")


@t.test
def incoming_call_without_wait_experience():
    status, _, body = fcgi("incoming-call", "POST", "/incoming-call",
                           [("CallSid", t.sid("CA")),
                            ("From", t.unique_number())])
    t.eq(status, 200, "status")
    t.ok(('<Enqueue workflowSid="%s">' % INBOUND_WF).encode() in body,
         "enqueued: %r" % body)
    t.ok(b"waitUrl" not in body, "no wait experience: %r" % body)


@t.test
def dialer_places_one_call_and_bridges():
    ws = STACK["ws"]
    to, frm = t.unique_number(), t.unique_number()
    attrs = {"practice": "Pacific Health", "practicePhone": to,
             "callerID": frm}
    task = EMU.seed({"workspace_sid": ws, "tasks": [{
        "workflow_sid": INBOUND_WF, "attributes": attrs,
        "assignment_status": "reserved"}]})["tasks"][0]
    res = t.sid("WR")
    form = [("EventType", "reservation.created"),
            ("AccountSid", ENV.account_sid), ("WorkspaceSid", ws),
            ("Sid", t.sid("EV")), ("TaskSid", task),
            ("ReservationSid", res),
            ("TaskAttributes", t.dumps_plain(attrs))]
    mark = EMU.mark()
    for _ in range(2):
        status, headers, _ = fcgi("taskrouter-events", "POST",
                                  "/tr-event-callback", form)
        t.eq(status, 204, "event status")
    creates = [r for r in EMU.requests(mark) if r["method"] == "POST" and
               r["path"] == CALLS and t.mentions(r, to)]
    t.eq(len(creates), 1, "one call")
    url = t.first(t.form_of(creates[0]), "Url")
    t.eq(url, "%s/dial-queue?queue=%s&from=%s&task=%s" % (
        PUBLIC, res, urllib.parse.quote(frm, safe=""), task),
        "Url (the only workspace is the default one)")
    status, _, body = fcgi("dial-queue", "POST", url[len(PUBLIC):],
                           [("CallSid", t.sid("CA")),
                            ("AnsweredBy", "human")], basic=False)
    t.eq(status, 200, "dial-queue")
    t.ok(('<Queue reservationSid="%s"/>' % res).encode() in body,
         "bridged: %r" % body)


def main():
    if not ENV.stack:
        print("SKIP: FLEXHOOKS_TEST_STACK is not 1 (run deploy/local.sh "
              "test)")
        return 77
    if shutil.which("spawn-fcgi") is None:
        print("SKIP: spawn-fcgi not installed")
        return 77
    missing = [p for p in PROGRAMS
               if not os.access(os.path.join(BUILD, "cgi-bin", p), os.X_OK)]
    if missing:
        print("SKIP: not built: %s" % " ".join(missing))
        return 77
    tmp = tempfile.mkdtemp(prefix="fhnoflex")
    try:
        start(tmp, t.fresh_workspace(everyone=False))
        passed, failed, skipped = t.run()
    finally:
        for pr in STACK.get("procs", {}).values():
            if pr.poll() is None:
                pr.send_signal(signal.SIGTERM)
        for pr in STACK.get("procs", {}).values():
            try:
                pr.wait(timeout=8)
            except subprocess.TimeoutExpired:
                pr.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    t.finish(passed, failed, skipped)


if __name__ == "__main__":
    sys.exit(main())
