#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/requests.py - the requests of bench/run.sh, and its small helpers.

Standard library only.  Signatures come from tests/integration/fhtest.py,
so the benchmark signs exactly as the integration tests (and Twilio) do.
Everything here talks to 127.0.0.1 only.

    requests.py write DIR        one DIR/NAME.lua (wrk) and DIR/NAME.req
                                 (bench/handler_loop) per route
    requests.py seed NAME        reset the emulator and seed what route NAME
                                 needs (the wait lookup finds its task)
    requests.py preflight NAME [PORT]  send the route's request once through
                                 nginx (or to 127.0.0.1:PORT: the Node
                                 reference); print its status; exit 1 when
                                 unexpected
    requests.py capture NAME DIR after a preflight: the Twilio requests it
                                 made, as DIR/NAME-emulator.lua for wrk
                                 straight against the emulator; prints the
                                 number of calls per request (0: none, and
                                 no script)
    requests.py rss PIDFILE OUT  until SIGTERM: sample VmRSS of the program
                                 whose pid file is PIDFILE and of its
                                 children every 100 ms; write the maximum
                                 (kB) of each process to OUT
    requests.py cpu RUNDIR PROG  CPU ticks so far of PROG, nginx and the
                                 emulator (pid files in RUNDIR, children
                                 included), then ticks per second
    requests.py wrkout FILE [KINDS]  parse the BENCH line of a wrk run:
                                 requests/s, p50 and p99 (ms), and the sum
                                 of the error counts named in KINDS
                                 (default: all of them)

The environment is the test stack's (deploy/local.sh export_test_env):
FLEXHOOKS_PORT, FLEXHOOKS_PUBLIC_URL, FLEXHOOKS_BASIC_AUTH, ACCOUNT_SID,
AUTH_TOKEN, TWILIO_FLEX_WORKSPACE_SID, TWILIO_FLEX_CALLBACK_WORKFLOW_SID,
FLEXHOOKS_EMULATOR_URL.
"""

import json
import os
import signal
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import fhtest as t  # noqa: E402

ENV = t.ENV
FORM = "application/x-www-form-urlencoded"
WAIT = "/features/callback-and-voicemail/studio/wait-experience"
CREATE = "/features/callback-and-voicemail/studio/create-callback"

# Fixed identities: the signature of a fixed request is a constant.
CALL = "CA" + "b" * 32
QUEUE = "QU" + "b" * 32
TASK = "WT" + "b" * 32
WORKFLOW = "WW" + "b" * 32
CALLER = "+14155550100"
CALLED = "+18005550199"
BASELINE_PATH = "/__bench/baseline"
FLOOR_PATH = "/__bench/fcgi-floor"


def twilio_call_params(extra=()):
    p = [("AccountSid", ENV.account_sid), ("CallSid", CALL),
         ("Caller", CALLER), ("From", CALLER), ("Called", CALLED),
         ("To", CALLED), ("CallStatus", "in-progress"),
         ("Direction", "inbound"), ("QueueSid", QUEUE),
         ("QueuePosition", "1")]
    return p + list(extra)


def userinfo_base():
    """FLEXHOOKS_PUBLIC_URL with the Basic credentials, as in the URLs
    flexhooks hands to Twilio (Twilio signs the URL it was given)."""
    u = urllib.parse.urlsplit(ENV.public_url)
    return "%s://%s@%s%s" % (u.scheme, ENV.basic_auth, u.netloc, u.path)


# name: (method, path, query, form pairs, Basic auth, signed base or None
#        for the public URL, expected status, program, label).  Routes
# behind Basic auth are signed over the URL with the credentials: Twilio
# can only send them when the configured URL carries them, and it signs
# that URL (docs/design/platform.md#request-signatures).
def routes():
    return [
        ("baseline", "GET", BASELINE_PATH, None, None, False, False,
         200, None, "nginx static TwiML (baseline)"),
        # the same request as /dial-queue's, to a responder that does
        # nothing (bench/fcgi_floor)
        ("floor", "POST", FLOOR_PATH,
         [("queue", "WR" + "6" * 32), ("from", "+15005550006"),
          ("task", TASK)],
         [("CallSid", CALL), ("AccountSid", ENV.account_sid),
          ("AnsweredBy", "human")], False, None, 200, "bench-floor",
         "FastCGI floor (fixed answer)"),
        ("wait-loop", "POST", WAIT,
         [("mode", "main-wait-loop"), ("enqueuedTaskSid", TASK),
          ("skipGreeting", "true")], twilio_call_params(), True,
         userinfo_base(), 200, "wait-experience",
         "wait-experience main loop"),
        ("dial-queue", "POST", "/dial-queue",
         [("queue", "WR" + "6" * 32), ("from", "+15005550006"),
          ("task", TASK)],
         [("CallSid", CALL), ("AccountSid", ENV.account_sid),
          ("AnsweredBy", "human")], False, None, 200, "dial-queue",
         "/dial-queue"),
        ("redirect", "POST", "/twiml-redirect-call",
         [("queue", "WQ" + "a" * 31 + "1")],
         [("CallSid", CALL), ("From", CALLER),
          ("CallStatus", "in-progress")], False, None, 200,
         "twiml-redirect-call", "/twiml-redirect-call"),
        ("wait-init", "POST", WAIT, None, twilio_call_params(), True,
         userinfo_base(), 200, "wait-experience",
         "wait-experience initialize (2 calls)"),
        ("create-callback", "POST", CREATE, None,
         [("numberToCall", CALLER), ("numberToCallFrom", CALLED)], True,
         userinfo_base(), 200, "create-callback",
         "studio create-callback (1 call)"),
        ("tr-event", "POST", "/tr-event-callback", None,
         [("EventType", "task-queue.entered"),
          ("Sid", "EV" + "b" * 32), ("AccountSid", ENV.account_sid),
          ("WorkspaceSid", ENV.workspace_sid), ("TaskSid", TASK),
          ("TaskQueueSid", "WQ" + "c" * 32),
          ("TaskAttributes", json.dumps({"call_sid": CALL},
                                        separators=(",", ":")))],
         True, userinfo_base(), 204, "taskrouter-events",
         "/tr-event-callback"),
    ]


def route(name):
    for r in routes():
        if r[0] == name:
            return r
    raise SystemExit("requests.py: unknown route '%s'" % name)


def build(name):
    """(method, target, headers [(k, v)], body bytes or b"")"""
    _, method, path, query, form, auth, sign_base, _, _, _ = route(name)
    target = t.url_for(path, query)
    headers = []
    body = b""
    if form is not None:
        body = t.form_encode(form)
        headers.append(("Content-Type", FORM))
    if auth:
        headers.append(("Authorization", t._basic_header(True)))
    if name != "baseline":
        url = (sign_base or ENV.public_url) + target
        params = t.decode_form_bytes(body) if method == "POST" else None
        headers.append(("X-Twilio-Signature", t.sign(url, params)))
    return method, target, headers, body


def lua_str(b):
    if isinstance(b, str):
        b = b.encode()
    return '"' + "".join("\\%03d" % c if c < 32 or c > 126 or c in b'"\\'
                         else chr(c) for c in b) + '"'


# Prints one line that run.sh reads.  wrk counts a status >= 400 as a
# status error; no benchmarked route answers 1xx or 3xx, so that is the
# number of non-2xx answers.
LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d "
    .. "p99_us=%d connect=%d read=%d write=%d status=%d timeout=%d\\n",
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect, e.read, e.write, e.status,
    e.timeout))
end
"""


def write(outdir):
    os.makedirs(outdir, exist_ok=True)
    for r in routes():
        name = r[0]
        method, target, headers, body = build(name)
        with open(os.path.join(outdir, name + ".lua"), "w") as f:
            f.write("-- generated by bench/requests.py\n")
            f.write("wrk.method = %s\n" % lua_str(method))
            f.write("wrk.path = %s\n" % lua_str(target))
            f.write("wrk.body = %s\n" % lua_str(body))
            for k, v in headers:
                f.write("wrk.headers[%s] = %s\n" % (lua_str(k), lua_str(v)))
            f.write(LUA_DONE)
        # handler_loop: method, request URI, content type, signature,
        # Authorization, Basic verified (0/1), expected status, then the body
        h = dict(headers)
        with open(os.path.join(outdir, name + ".req"), "wb") as f:
            for line in (method, target, h.get("Content-Type", ""),
                         h.get("X-Twilio-Signature", ""),
                         h.get("Authorization", ""),
                         "1" if r[5] else "0", str(r[7])):
                f.write(line.encode() + b"\n")
            f.write(body)
        with open(os.path.join(outdir, name + ".info"), "w") as f:
            f.write("%s\t%s\t%s\t%s\n" % (name, r[8] or "-", r[7], r[9]))


def seed(name):
    t.EMU._call("POST", "/__emulator/reset")
    if name != "wait-init":
        return
    attrs = {"call_sid": CALL, "from": CALLER, "name": CALLER}
    t.EMU.seed({"queues": {QUEUE: WORKFLOW},
                "calls": {CALL: {"status": "in-progress", "to": CALLED,
                                 "from": CALLER}},
                "tasks": [{"workflow_sid": WORKFLOW, "attributes": attrs,
                           "assignment_status": "pending",
                           "date_created": "2026-01-02T03:04:05Z"}]})


def preflight(name, port=None):
    method, target, headers, body = build(name)
    port = ENV.port if port is None else int(port)
    r = t.http_raw(method, ENV.host, port, target, headers,
                   body if method == "POST" else None, 10.0)
    print(r.status)
    want = route(name)[7]
    if r.status != want:
        sys.stderr.write("requests.py: %s answered %d, not %d: %r\n" %
                         (name, r.status, want, r.body[:300]))
        sys.exit(1)


def capture(name, outdir):
    """The Twilio requests of one preflight (the emulator was reset just
    before it) become a round-robin wrk script against the emulator."""
    reqs = t.EMU.requests(0)
    out = []
    for q in reqs:
        path = q["path"] + ("?" + q["query"] if q.get("query") else "")
        hdrs = {}
        for k in ("Authorization", "Content-Type", "If-Match"):
            v = t.header_of(q, k)
            if v is not None:
                hdrs[k] = v
        # flexhooks sends a create (POST to a collection) on a connection
        # of its own (CURLOPT_FRESH_CONNECT): so does the emulator row
        if q["method"] == "POST" and (q["path"].endswith("/Tasks") or
                                      q["path"].endswith("/Calls.json")):
            hdrs["Connection"] = "close"
        out.append((q["method"], path, hdrs, q.get("body") or ""))
    if not out:
        print(0)
        return
    with open(os.path.join(outdir, name + "-emulator.lua"), "w") as f:
        f.write("-- generated by bench/requests.py: the Twilio requests "
                "of one %s\nlocal reqs = {\n" % name)
        for m, p, h, b in out:
            hs = ", ".join("[%s] = %s" % (lua_str(k), lua_str(v))
                           for k, v in sorted(h.items()))
            f.write("  { %s, %s, { %s }, %s },\n" % (
                lua_str(m), lua_str(p), hs, lua_str(b)))
        f.write("}\nlocal i = 0\nrequest = function()\n"
                "  i = i % #reqs + 1\n  local r = reqs[i]\n"
                "  return wrk.format(r[1], r[2], r[3], "
                "r[4] ~= \"\" and r[4] or nil)\nend\n")
        f.write(LUA_DONE)
    print(len(out))


def rss_of(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def rss(pidfile, outfile):
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    with open(pidfile) as f:
        top = int(f.read().strip())
    peak = {}
    while not stop:
        for pid in [top] + t.children(top):
            v = rss_of(pid)
            if v is not None:
                peak[pid] = max(peak.get(pid, 0), v)
        time.sleep(0.1)
    with open(outfile, "w") as f:
        for pid, v in sorted(peak.items()):
            f.write("%d %d %s\n" % (pid, v,
                                    "supervisor" if pid == top else "child"))


def ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return 0
    fields = st[st.rfind(")") + 2:].split()
    return int(fields[11]) + int(fields[12])    # utime + stime


def cpu(rundir, prog):
    """CPU clock ticks used so far by the program, nginx and the emulator
    (each with its children), from their pid files."""
    out = []
    for name in (prog, "nginx", "emulator"):
        total = 0
        try:
            with open(os.path.join(rundir, name + ".pid")) as f:
                top = int(f.read().strip())
            for pid in [top] + t.children(top):
                total += ticks(pid)
        except (OSError, ValueError):
            pass
        out.append(str(total))
    print(" ".join(out), os.sysconf("SC_CLK_TCK"))


def wrkout(path, kinds="connect read write status timeout"):
    """requests/s, p50 ms, p99 ms, the errors of the kinds named and the
    number of requests."""
    with open(path) as f:
        for line in f:
            if line.startswith("BENCH "):
                d = dict(kv.split("=") for kv in line.split()[1:])
                secs = int(d["duration_us"]) / 1e6
                errs = sum(int(d[k]) for k in kinds.split())
                print("%.1f %.2f %.2f %d %s" % (
                    int(d["requests"]) / secs, int(d["p50_us"]) / 1000.0,
                    int(d["p99_us"]) / 1000.0, errs, d["requests"]))
                return
    print("0 0 0 -1 0")


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd = argv[1]
    if cmd == "write" and len(argv) == 3:
        write(argv[2])
    elif cmd == "seed" and len(argv) == 3:
        seed(argv[2])
    elif cmd == "preflight" and len(argv) in (3, 4):
        preflight(*argv[2:])
    elif cmd == "capture" and len(argv) == 4:
        capture(argv[2], argv[3])
    elif cmd == "rss" and len(argv) == 4:
        rss(argv[2], argv[3])
    elif cmd == "cpu" and len(argv) == 4:
        cpu(argv[2], argv[3])
    elif cmd == "wrkout" and len(argv) in (3, 4):
        wrkout(*argv[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
