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
    requests.py learn NAME DIR WHO [PORT]  BENCH_TWILIO=canned, before the
                                 stand-in replaces the emulator: seed, send
                                 the route's request once (through nginx, or
                                 to 127.0.0.1:PORT: Node), send each Twilio
                                 request it made to the emulator again and
                                 add request and answer to DIR/canned.json;
                                 keep the webhook's answer as
                                 DIR/NAME.WHO.answer; print the number of
                                 Twilio requests
    requests.py standin DIR PORT the stand-in's nginx.conf (DIR/nginx.conf,
                                 listening on 127.0.0.1:PORT) from
                                 DIR/canned.json
    requests.py rss PIDFILE OUT  until SIGTERM: sample VmRSS of the program
                                 whose pid file is PIDFILE and of its
                                 children every 100 ms; write the maximum
                                 (kB) of each process to OUT
    requests.py cpu RUNDIR PROG [PIDFILE]  CPU ticks so far of PROG, nginx
                                 and the emulator (pid files in RUNDIR,
                                 children included; PIDFILE: the stand-in's
                                 nginx instead of the emulator), then ticks
                                 per second
    requests.py wrkout FILE [KINDS]  parse the BENCH line of a wrk run:
                                 requests/s, p50 and p99 (ms), and the sum
                                 of the error counts named in KINDS
                                 (default: all of them)

The environment is the test stack's (deploy/local.sh export_test_env):
FLEXHOOKS_PORT, FLEXHOOKS_PUBLIC_URL, FLEXHOOKS_BASIC_AUTH, ACCOUNT_SID,
AUTH_TOKEN, TWILIO_FLEX_WORKSPACE_SID, TWILIO_FLEX_CALLBACK_WORKFLOW_SID,
FLEXHOOKS_EMULATOR_URL.  BENCH_STANDIN (a DIR of learn/standin): the
stand-in answers for the emulator (bench/run.sh BENCH_TWILIO=canned): seed
does nothing, and preflight also fails when the stand-in answered a request
404 (DIR/miss.log grew) or when the webhook's answer differs from the one
learn kept (SIDs aside).
"""

import json
import os
import re
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
    if os.environ.get("BENCH_STANDIN"):
        return      # the stand-in keeps no state
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


def send(name, port=None):
    method, target, headers, body = build(name)
    port = ENV.port if port is None else int(port)
    return t.http_raw(method, ENV.host, port, target, headers,
                      body if method == "POST" else None, 10.0)


def preflight(name, port=None):
    standin = os.environ.get("BENCH_STANDIN")
    if standin:
        misses = miss_count(standin)
    r = send(name, port)
    print(r.status)
    want = route(name)[7]
    if r.status != want:
        sys.stderr.write("requests.py: %s answered %d, not %d: %r\n" %
                         (name, r.status, want, r.body[:300]))
        sys.exit(1)
    if not standin:
        return
    lines = miss_lines(standin)[misses:]
    if lines:
        sys.stderr.write("requests.py: %s: the stand-in answered 404 to: %s\n"
                         % (name, "; ".join(lines)))
        sys.exit(1)
    who = "flexhooks" if port is None else "node"
    try:
        with open(os.path.join(standin, "%s.%s.answer" % (name, who)),
                  "rb") as f:
            learned = f.read()
    except OSError:
        sys.stderr.write("requests.py: %s: no answer learned from the "
                         "emulator\n" % name)
        sys.exit(1)
    if sids_out(r.body) != sids_out(learned):
        sys.stderr.write("requests.py: %s: the answer with the stand-in "
                         "differs from the one with the emulator: %r, not "
                         "%r\n" % (name, r.body[:300], learned[:300]))
        sys.exit(1)


SID = re.compile(rb"\b[A-Z]{2}[0-9a-f]{32}\b")


def sids_out(b):
    """b with every Twilio SID replaced (a create answers a new one)."""
    return SID.sub(b"SID", b)


def miss_lines(standin):
    try:
        with open(os.path.join(standin, "miss.log")) as f:
            return [x.strip() for x in f if x.strip()]
    except OSError:
        return []


def miss_count(standin):
    return len(miss_lines(standin))


# The emulator's request headers that can change its answer.
REPLAY_HEADERS = ("Authorization", "Content-Type", "If-Match")


def learn(name, outdir, who, port=None):
    """One webhook of route NAME against the emulator (WHO: flexhooks, or
    node on PORT); each Twilio request it made is sent to the emulator once
    more (same method, target, headers and body, the state as the webhook
    left it) and its answer becomes the stand-in's for that request."""
    seed(name)
    r = send(name, port)
    with open(os.path.join(outdir, "%s.%s.answer" % (name, who)), "wb") as f:
        f.write(r.body)
    want = route(name)[7]
    if r.status != want:
        sys.stderr.write("requests.py: learn %s (%s): answered %d, not %d: "
                         "%r\n" % (name, who, r.status, want, r.body[:300]))
        sys.exit(1)
    reqs = t.EMU.requests(0)
    path = os.path.join(outdir, "canned.json")
    try:
        with open(path) as f:
            table = json.load(f)
    except (OSError, ValueError):
        table = {}
    for q in reqs:
        target = q["path"] + ("?" + q["query"] if q.get("query") else "")
        key = "%s %s" % (q["method"], target)
        hdrs = [(k, t.header_of(q, k)) for k in REPLAY_HEADERS
                if t.header_of(q, k) is not None]
        body = (q.get("body") or "").encode()
        a = t.http_raw(q["method"], t.EMU.host, t.EMU.port, target, hdrs,
                       body if q["method"] in ("POST", "PUT") else None,
                       10.0)
        if a.status not in (200, 201, 204):
            sys.stderr.write("requests.py: learn %s (%s): the emulator "
                             "answered %s again %d\n" % (name, who, key,
                                                           a.status))
            sys.exit(1)
        e = table.setdefault(key, {"by": []})
        if "%s %s" % (who, name) not in e["by"]:
            e["by"].append("%s %s" % (who, name))
        e["status"] = a.status
        e["content_type"] = a.header("Content-Type", "application/json")
        e["body"] = a.text
    with open(path + ".new", "w") as f:
        json.dump(table, f, indent=1, sort_keys=True)
    os.replace(path + ".new", path)
    print(len(reqs))


def ngx_str(s):
    """s as a single-quoted nginx string that yields s itself (a "$" would
    start a variable: ${dollar}, a geo constant)."""
    s = s.replace("\\", "\\\\").replace("'", "\\'")
    return "'" + s.replace("$", "${dollar}") + "'"


NOT_FOUND = ('{"code":20404,"message":"The requested resource was not found '
             '(bench stand-in: no canned answer)","more_info":'
             '"https://www.twilio.com/docs/errors/20404","status":404}')


def standin(outdir, port):
    """The stand-in's nginx.conf: one worker answering each learned
    request ("METHOD TARGET", exact) with its learned status and body, and
    anything else 404 (logged to miss.log)."""
    with open(os.path.join(outdir, "canned.json")) as f:
        table = json.load(f)
    ctypes = {e["content_type"] for e in table.values()} or {
        "application/json"}
    if len(ctypes) != 1:
        raise SystemExit("requests.py: the emulator answered with several "
                         "content types: %s" % sorted(ctypes))
    for key in table:
        if "$" in key or "'" in key or "\\" in key:
            raise SystemExit("requests.py: cannot match %r" % key)
    status = "\n".join("\t\t%s %d;" % (ngx_str(k), e["status"])
                       for k, e in sorted(table.items()))
    body = "\n".join("\t\t%s %s;" % (ngx_str(k), ngx_str(e["body"]))
                     for k, e in sorted(table.items()))
    longest = max([len(k) for k in table] + [64])
    bucket = 64
    while bucket < longest + 32:
        bucket *= 2
    conf = """# generated by bench/requests.py standin: the Twilio stand-in of
# bench/run.sh BENCH_TWILIO=canned (answers learned from the emulator)
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{
\tworker_connections 4096;
}}
http {{
\taccess_log off;
\tclient_body_temp_path {d}/tmp/body;
\tproxy_temp_path {d}/tmp/proxy;
\tfastcgi_temp_path {d}/tmp/fastcgi;
\tuwsgi_temp_path {d}/tmp/uwsgi;
\tscgi_temp_path {d}/tmp/scgi;
\tkeepalive_requests 1000000;
\tkeepalive_timeout 75s;
\tserver_tokens off;
\tmap_hash_bucket_size {bucket};
\tgeo $dollar {{
\t\tdefault "$";
\t}}
\tmap "$request_method $request_uri" $canned_status {{
\t\tdefault 404;
{status}
\t}}
\tmap "$request_method $request_uri" $canned_body {{
\t\tdefault {nf};
{body}
\t}}
\tmap $canned_status $canned_miss {{
\t\t404 1;
\t\tdefault 0;
\t}}
\tlog_format miss '$request_method $request_uri';
\tserver {{
\t\tlisten 127.0.0.1:{port};
\t\tdefault_type {ctype};
\t\taccess_log {d}/miss.log miss if=$canned_miss;
\t\tlocation / {{
\t\t\tif ($canned_status = 200) {{
\t\t\t\treturn 200 $canned_body;
\t\t\t}}
\t\t\tif ($canned_status = 201) {{
\t\t\t\treturn 201 $canned_body;
\t\t\t}}
\t\t\tif ($canned_status = 204) {{
\t\t\t\treturn 204;
\t\t\t}}
\t\t\treturn 404 $canned_body;
\t\t}}
\t}}
}}
""".format(d=os.path.abspath(outdir), bucket=bucket, status=status,
           body=body, nf=ngx_str(NOT_FOUND), port=int(port),
           ctype=ngx_str(ctypes.pop()))
    os.makedirs(os.path.join(outdir, "tmp"), exist_ok=True)
    with open(os.path.join(outdir, "nginx.conf"), "w") as f:
        f.write(conf)


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


def cpu(rundir, prog, third=None):
    """CPU clock ticks used so far by the program, nginx and the emulator
    (or the stand-in: pid file THIRD), each with its children, from their
    pid files."""
    out = []
    for pidfile in (os.path.join(rundir, prog + ".pid"),
                    os.path.join(rundir, "nginx.pid"),
                    third or os.path.join(rundir, "emulator.pid")):
        total = 0
        try:
            with open(pidfile) as f:
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
    elif cmd == "cpu" and len(argv) in (4, 5):
        cpu(*argv[2:])
    elif cmd == "learn" and len(argv) in (5, 6):
        learn(*argv[2:])
    elif cmd == "standin" and len(argv) == 4:
        standin(argv[2], argv[3])
    elif cmd == "wrkout" and len(argv) in (3, 4):
        wrkout(*argv[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
