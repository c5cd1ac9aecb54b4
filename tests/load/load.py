#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""flexhooks load driver: plays simulated calls against a running local stack.

Started by tests/load/run.sh, which brings up its own stack (deploy/local.sh
start with the emulator, FLEXHOOKS_PROCESSES processes per program and
FLEXHOOKS_EMULATOR_LATENCY_MS on every Twilio answer) and stops it after.
Standard library only; every request goes to 127.0.0.1.

Two kinds of journey, mixed (--wait-share of them are of the first kind):

  wait     a caller in a TaskRouter queue (its pending task, queue and call
           are seeded in the emulator before the timed run, as TaskRouter
           would have created them): the waitUrl, the hold loop, "*", "1"
           (callback), "1" (same number), submit-callback; the caller hears
           callbackSubmitted and the call ends.  Expected: the task
           canceled and one callback task for the caller's number.
  studio   one signed studio/create-callback POST (numberToCall,
           numberToCallFrom).  Expected: one callback task.

A scheduler thread releases journey i at t0 + i/rate to a pool of worker
threads; the time between that moment and the start of the journey is its
lateness (the driver fell behind).  Every webhook is signed as Twilio signs
it (the URL as given to Twilio, userinfo included, and the form pairs) and
sent on a new connection, as Twilio does.

After the run it reads the emulator's state and counts the callback tasks
per number: tasks expected vs created, duplicates, lost.  It prints a report
(latency per route, errors by kind, injected 429s and the programs' retries,
CPU and RSS of the emulator, nginx and the FastCGI programs) and exits 1 when
a task is lost or duplicated, when flexhooks itself answered any webhook with
429 (nginx's rate limit, or a program giving up after Twilio's 429s), or when
no journey ran; else 0.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import queue
import random
import re
import secrets
import socket
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

WAIT_PATH = "/features/callback-and-voicemail/studio/wait-experience"
STUDIO_PATH = "/features/callback-and-voicemail/studio/create-callback"
CALLED = "+18005550100"        # the number the callers dialled
# docs/design/wait-experience.md#prompts: the prompts that end a journey in error.
ERROR_PROMPTS = {
    "Sorry, we were unable to perform this operation. Please remain on "
    "the line.": "processingError",
    "Sorry, we were unable to complete your request. Please call again "
    "later. Goodbye.": "followUpFailed",
    "A representative is about to take your call. Please continue to "
    "hold.": "agentConnecting",
    "The option to request a callback or leave a voicemail is not "
    "available at this time. Please continue to hold.":
    "callbackAndVoicemailUnavailable (task not found)",
    "You have entered an invalid selection. Please try again.":
    "invalidInput",
}
SUBMITTED = ("Thank you. A callback has been requested. You will receive a "
             "call shortly. Goodbye.")
DIGITS = ("*", "1", "1")       # star, callback, same number
MAX_DOCS = 12
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------
# configuration and signing


def read_env_file(path):
    """KEY=VALUE lines of .local/flexhooks.env (written by local.sh)."""
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, _, v = line.partition("=")
            out[k] = v
    return out


def twilio_signature(token, url, pairs):
    """X-Twilio-Signature: HMAC-SHA1 over the URL, then name+value of each
    form pair sorted by name (docs/design/platform.md#request-signatures; the pairs here
    are ASCII and unique, so a plain sort is Twilio's order)."""
    data = url + "".join(k + v for k, v in sorted(pairs))
    mac = hmac.new(token.encode(), data.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


class Stack:
    """Where the stack is and the credentials it was started with."""

    def __init__(self, root, port):
        env = read_env_file(os.path.join(root, ".local", "flexhooks.env"))
        self.root = root
        self.port = port
        self.account_sid = env["ACCOUNT_SID"]
        self.auth_token = env["AUTH_TOKEN"]
        self.workspace_sid = env["TWILIO_FLEX_WORKSPACE_SID"]
        self.workflow_sid = env["TWILIO_FLEX_CALLBACK_WORKFLOW_SID"]
        self.basic_auth = env["FLEXHOOKS_BASIC_AUTH"]
        self.public_url = env["FLEXHOOKS_PUBLIC_URL"].rstrip("/")
        self.emulator = ("127.0.0.1", int(urllib.parse.urlsplit(
            env["FLEXHOOKS_TWILIO_API_URL"]).port))
        pub = urllib.parse.urlsplit(self.public_url)
        if pub.hostname != "127.0.0.1" or self.emulator[0] != "127.0.0.1":
            raise SystemExit("load.py: the stack is not on 127.0.0.1")
        self.host_header = pub.netloc
        self.prefix = pub.path
        self.run_dir = os.path.join(root, ".local", "run")
        self.log_dir = os.path.join(root, ".local", "log")


# --------------------------------------------------------------------------
# HTTP


class HttpError(Exception):
    """A webhook that got no HTTP answer: kind is "timeout" or "connection"."""

    def __init__(self, kind, detail):
        super().__init__(detail)
        self.kind = kind


def http_call(host, port, method, target, headers, body, timeout):
    """One request on a new connection; -> (status, body bytes)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    except socket.timeout as e:
        raise HttpError("timeout", str(e)) from None
    except (OSError, http.client.HTTPException) as e:
        raise HttpError("connection", "%s: %s" % (type(e).__name__, e)) from None
    finally:
        conn.close()


class KeepAlive(threading.local):
    """One keep-alive connection to nginx per driver thread.  A new
    connection per webhook would leave ~350 sockets a second in TIME_WAIT
    (60 s each), close to the 28,000 ephemeral ports of one destination."""

    conn = None
    stale_retries = 0
    stale_lock = threading.Lock()

    def call(self, host, port, method, target, headers, body, timeout):
        """-> (status, body bytes).  A reused connection that the server
        had closed while idle (no byte of an answer came back) is opened
        again and the request sent once more; that is counted."""
        for attempt in (1, 2):
            reused = self.conn is not None
            if not reused:
                self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
            try:
                self.conn.request(method, target, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                if r.will_close:
                    self.close()
                return r.status, data
            except socket.timeout as e:
                self.close()
                raise HttpError("timeout", str(e)) from None
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError) as e:
                self.close()
                if reused and attempt == 1:
                    with KeepAlive.stale_lock:
                        KeepAlive.stale_retries += 1
                    continue
                raise HttpError("connection", "%s: %s" % (type(e).__name__, e)) from None
            except (OSError, http.client.HTTPException) as e:
                self.close()
                raise HttpError("connection", "%s: %s" % (type(e).__name__, e)) from None
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Emulator:
    """The emulator's control routes (never delayed, never faulted)."""

    def __init__(self, addr):
        self.addr = addr

    def call(self, method, name, obj=None, timeout=120):
        body = None if obj is None else json.dumps(obj).encode()
        hdrs = {"Content-Type": "application/json"} if body else {}
        status, data = http_call(self.addr[0], self.addr[1], method,
                                 "/__emulator/" + name, hdrs, body, timeout)
        if status != 200:
            raise SystemExit("load.py: emulator %s %s: %d %r" % (
                method, name, status, data[:300]))
        return json.loads(data)


# --------------------------------------------------------------------------
# results


class Results:
    """Everything the journeys record, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency = {}       # route -> [seconds]
        self.errors = {}        # kind -> count
        self.throttled = {}     # "route: who" -> 429s flexhooks answered
        self.outcome = {}       # journey kind -> {"ok": n, "failed": n}
        self.lateness = []      # per started journey, seconds
        self.starts = []
        self.ends = []

    def webhook(self, route, seconds):
        with self.lock:
            self.latency.setdefault(route, []).append(seconds)

    def throttle(self, route, body):
        """A 429 from the stack: nginx's limit_req page or a program's
        answer after Twilio's 429s outlasted its retries."""
        who = "nginx" if b"too many requests" in body else "program"
        with self.lock:
            k = "%s: %s" % (route, who)
            self.throttled[k] = self.throttled.get(k, 0) + 1

    def error(self, kind):
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def journey(self, kind, ok, due, start, end):
        with self.lock:
            o = self.outcome.setdefault(kind, {"ok": 0, "failed": 0})
            o["ok" if ok else "failed"] += 1
            self.lateness.append(start - due)
            self.starts.append(start)
            self.ends.append(end)


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[i]


# --------------------------------------------------------------------------
# journeys


class Driver:
    def __init__(self, stack, args, results):
        self.stack = stack
        self.args = args
        self.res = results
        user, _, pw = stack.basic_auth.partition(":")
        self.basic = "Basic " + base64.b64encode(
            ("%s:%s" % (user, pw)).encode()).decode()
        self.http = KeepAlive()

    def post(self, url, pairs, route):
        """POST pairs to url (as given to Twilio, maybe with userinfo),
        signed; -> (status, body).  Records the latency under route."""
        u = urllib.parse.urlsplit(url)
        if u.username is not None:
            auth = "Basic " + base64.b64encode(("%s:%s" % (
                urllib.parse.unquote(u.username),
                urllib.parse.unquote(u.password or ""))).encode()).decode()
        else:
            auth = self.basic
        target = u.path + ("?" + u.query if u.query else "")
        if not target.startswith(self.stack.prefix):
            raise HttpError("bad URL", url)
        target = target[len(self.stack.prefix):] or "/"
        body = urllib.parse.urlencode(pairs).encode()
        hdrs = {"Host": self.stack.host_header, "Authorization": auth,
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": twilio_signature(
                    self.stack.auth_token, url, pairs)}
        t0 = time.monotonic()
        try:
            status, data = self.http.call("127.0.0.1", self.stack.port, "POST",
                                          target, hdrs, body, self.args.timeout)
        finally:
            self.res.webhook(route, time.monotonic() - t0)
        if status == 429:
            self.res.throttle(route, data)
        return status, data

    def wait_journey(self, j):
        """-> True when the caller heard callbackSubmitted and hung up."""
        base = [("AccountSid", self.stack.account_sid), ("CallSid", j["call"]),
                ("Caller", j["number"]), ("From", j["number"]),
                ("Called", CALLED), ("To", CALLED),
                ("CallStatus", "in-progress"), ("Direction", "inbound"),
                ("QueueSid", j["queue"]), ("QueuePosition", "1")]
        digits = list(DIGITS)
        url, extra, route = self.stack.public_url + WAIT_PATH, [], "wait initialize"
        submitted = False
        for _ in range(MAX_DOCS):
            try:
                status, data = self.post(url, base + extra, route)
            except HttpError as e:
                self.res.error("%s: %s" % (e.kind, route))
                return False
            if status != 200:
                self.res.error("HTTP %d: %s" % (status, route))
                return False
            try:
                root = ET.fromstring(data)
            except ET.ParseError:
                self.res.error("bad TwiML: %s" % route)
                return False
            nxt = None
            for verb in root:
                if verb.tag == "Say":
                    text = "".join(verb.itertext())
                    if text in ERROR_PROMPTS:
                        self.res.error("TwiML %s: %s" % (ERROR_PROMPTS[text], route))
                        return False
                    submitted = submitted or text == SUBMITTED
                elif verb.tag == "Hangup":
                    if not submitted:
                        self.res.error("hangup without callbackSubmitted: %s" % route)
                    return submitted
                elif verb.tag == "Gather":
                    if not digits:
                        continue        # no input: fall through
                    nxt = (verb.get("action"), [("Digits", digits.pop(0))])
                    break
                elif verb.tag == "Redirect":
                    nxt = (verb.text, [])
                    break
            if nxt is None:
                self.res.error("TwiML ended without Hangup: %s" % route)
                return False
            url, extra = nxt
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
            route = "wait " + q.get("mode", ["initialize"])[0]
        self.res.error("more than %d TwiML documents" % MAX_DOCS)
        return False

    def studio_journey(self, j):
        route = "studio/create-callback"
        pairs = [("numberToCall", j["number"]), ("numberToCallFrom", CALLED)]
        try:
            status, data = self.post(self.stack.public_url + STUDIO_PATH,
                                     pairs, route)
        except HttpError as e:
            self.res.error("%s: %s" % (e.kind, route))
            return False
        if status != 200:
            self.res.error("HTTP %d: %s" % (status, route))
            return False
        try:
            ok = json.loads(data).get("success") is True
        except ValueError:
            ok = False
        if not ok:
            self.res.error("unexpected body: %s" % route)
        return ok

    def play(self, j, due):
        start = time.monotonic()
        try:
            if j["kind"] == "wait":
                ok = self.wait_journey(j)
            else:
                ok = self.studio_journey(j)
        except Exception as e:          # a driver bug must not hide a journey
            self.res.error("driver exception %s" % type(e).__name__)
            sys.stderr.write("load.py: journey %d: %r\n" % (j["i"], e))
            ok = False
        j["ok"] = ok
        self.res.journey(j["kind"], ok, due, start, time.monotonic())


def make_journeys(n, wait_share, seed):
    """Journey specs; numbers are unique in the run (the emulator is reset)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = "wait" if rng.random() < wait_share else "studio"
        j = {"i": i, "kind": kind, "number": "+1555%07d" % i}
        if kind == "wait":
            j.update(call="CA" + secrets.token_hex(16),
                     queue="QU" + secrets.token_hex(16),
                     workflow="WW" + secrets.token_hex(16))
        out.append(j)
    return out


def seed_waits(emu, journeys, chunk=500):
    """What TaskRouter holds when the call reaches the waitUrl: per caller a
    queue whose friendly_name is its own workflow (so the lookup lists only
    this caller's tasks), the call, and the pending task."""
    waits = [j for j in journeys if j["kind"] == "wait"]
    for k in range(0, len(waits), chunk):
        part = waits[k:k + chunk]
        out = emu.call("POST", "seed", {
            "queues": {j["queue"]: j["workflow"] for j in part},
            "calls": {j["call"]: {"status": "in-progress", "to": CALLED,
                                  "from": j["number"]} for j in part},
            "tasks": [{"workflow_sid": j["workflow"], "priority": 0,
                       "timeout": 3600, "attributes": {
                           "call_sid": j["call"], "from": j["number"],
                           "name": j["number"], "direction": "inbound",
                           "conversations": {}}} for j in part]})
        for j, sid in zip(part, out["tasks"]):
            j["task"] = sid


# --------------------------------------------------------------------------
# process metrics (/proc only)


def read_pid(path):
    try:
        with open(path) as fh:
            return int(fh.read().strip() or "0") or None
    except (OSError, ValueError):
        return None


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as fh:
                st = fh.read()
        except OSError:
            continue
        ppid = int(st.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid, kids):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def proc_cpu(pid):
    """CPU seconds used by pid.  A single-threaded process is read from
    schedstat (nanoseconds): /proc/PID/stat counts whole clock ticks per
    process, which rounds the many short bursts of 30 FastCGI processes
    down to nothing.  A threaded one (the emulator, whose finished threads
    only stat still counts) from stat's utime + stime."""
    try:
        with open("/proc/%d/status" % pid) as fh:
            threads = next((int(line.split()[1]) for line in fh
                            if line.startswith("Threads:")), 1)
        if threads == 1:
            with open("/proc/%d/schedstat" % pid) as fh:
                return int(fh.read().split()[0]) / 1e9
        with open("/proc/%d/stat" % pid) as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / float(CLK_TCK)
    except (OSError, ValueError, IndexError, StopIteration):
        return 0.0


def proc_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def proc_pss_kb(pid):
    """Proportional set size: shared pages (libraries, the copy-on-write
    image of the supervisor) divided among the processes sharing them."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def system_ticks():
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    return sum(f) - idle, sum(f)


def loadavg():
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


class Components:
    """The stack's processes by pid file: emulator, nginx and each program
    (the supervisor and its worker processes)."""

    def __init__(self, stack, programs):
        self.groups = {}
        for name in ["emulator", "nginx"] + programs:
            pid = read_pid(os.path.join(stack.run_dir, name + ".pid"))
            if pid:
                self.groups[name] = pid

    def snapshot(self):
        kids = children_map()
        snap = {}
        for name, pid in self.groups.items():
            pids = tree(pid, kids)
            snap[name] = {"pids": pids,
                          "cpu": sum(proc_cpu(p) for p in pids),
                          "rss": [proc_rss_kb(p) for p in pids]}
        snap["_driver"] = {"cpu": sum(os.times()[:2])}
        snap["_system"] = system_ticks()
        snap["_t"] = time.monotonic()
        return snap


class Sampler(threading.Thread):
    """Per-interval CPU of each component, for the peak figures."""

    def __init__(self, comps, interval=2.0):
        super().__init__(daemon=True)
        self.comps = comps
        self.interval = interval
        self.stop = threading.Event()
        self.peak = {}

    def run(self):
        prev = self.comps.snapshot()
        while not self.stop.wait(self.interval):
            cur = self.comps.snapshot()
            for name, pct_ in cpu_percent(prev, cur).items():
                self.peak[name] = max(self.peak.get(name, 0.0), pct_)
            prev = cur


def cpu_percent(a, b):
    wall = b["_t"] - a["_t"]
    out = {}
    if wall <= 0:
        return out
    for name in b:
        if name.startswith("_") and name != "_driver":
            continue
        if name in a:
            out[name] = 100.0 * (b[name]["cpu"] - a[name]["cpu"]) / wall
    busy = b["_system"][0] - a["_system"][0]
    total = b["_system"][1] - a["_system"][1]
    out["_system"] = 100.0 * os.cpu_count() * busy / total if total else 0.0
    return out


# --------------------------------------------------------------------------
# program logs: the REST client's retry lines


def log_offsets(stack, programs):
    out = {}
    for p in programs:
        try:
            out[p] = os.path.getsize(os.path.join(stack.log_dir, p + ".log"))
        except OSError:
            out[p] = 0
    return out


def count_retries(stack, offsets):
    """Lines of the programs' logs since offsets: (retried 429s, other
    retries, requests that ran out of time to retry)."""
    r429 = other = gave_up = 0
    for p, off in offsets.items():
        try:
            with open(os.path.join(stack.log_dir, p + ".log"), "rb") as fh:
                fh.seek(off)
                for line in fh:
                    if b"retrying in" in line:
                        if b"429" in line:
                            r429 += 1
                        else:
                            other += 1
                    elif b"no time left to retry" in line:
                        gave_up += 1
        except OSError:
            pass
    return r429, other, gave_up


# --------------------------------------------------------------------------
# the run


def run(args):
    stack = Stack(args.root, args.port)
    emu = Emulator(stack.emulator)
    programs = ["wait-experience", "create-callback"]
    res = Results()
    driver = Driver(stack, args, res)

    emu.call("POST", "reset")
    journeys = make_journeys(args.journeys, args.wait_share, args.seed)
    t_seed = time.monotonic()
    seed_waits(emu, journeys)
    t_seed = time.monotonic() - t_seed
    fault_id = None
    if args.p429 > 0:
        faults = emu.call("POST", "faults", {
            "path": "/", "status": 429, "retry_after": "1", "times": 0,
            "probability": args.p429, "seed": args.seed})["faults"]
        fault_id = faults[-1]["id"]

    comps = Components(stack, programs)
    offsets = log_offsets(stack, programs)
    emu_rss0 = sum(comps.snapshot().get("emulator", {}).get("rss", [0]))
    load0 = loadavg()
    sampler = Sampler(comps)
    work = queue.Queue()
    threading.stack_size(512 * 1024)

    def worker():
        while True:
            item = work.get()
            if item is None:
                return
            driver.play(*item)

    workers = [threading.Thread(target=worker, daemon=True)
               for _ in range(args.workers)]
    for w in workers:
        w.start()

    n = len(journeys)
    print("load.py: %d journeys (%d wait, %d studio) at %g/s, %d workers; "
          "seeding took %.1f s; load average %s" % (
              n, sum(j["kind"] == "wait" for j in journeys),
              sum(j["kind"] == "studio" for j in journeys), args.rate,
              args.workers, t_seed, load0), flush=True)
    snap0 = comps.snapshot()
    sampler.start()
    t0 = time.monotonic() + 0.2
    deadline = t0 + args.max_seconds
    released = 0
    for j in journeys:
        due = t0 + j["i"] / args.rate
        now = time.monotonic()
        if now > deadline:
            break
        if due > now:
            time.sleep(due - now)
        work.put((j, due))
        released += 1
        if args.progress and released % args.progress == 0:
            print("load.py: released %d, finished %d, %.1f s" % (
                released, len(res.ends), time.monotonic() - t0), flush=True)
    for _ in workers:
        work.put(None)
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()) + 1)
    t_end = time.monotonic()
    snap1 = comps.snapshot()
    sampler.stop.set()
    load1 = loadavg()
    unfinished = released - len(res.ends) + (n - released)
    time.sleep(0.5)     # the programs write their log line after answering

    # Read back what the emulator holds.
    state = emu.call("GET", "state", timeout=600)
    faults = emu.call("GET", "faults")["faults"]
    retries = count_retries(stack, offsets)
    emu_rss1 = sum(comps.snapshot().get("emulator", {}).get("rss", [0]))

    expected = {j["number"]: j for j in journeys[:released]}
    per_number = {}
    unexpected = 0
    originals = {j["task"]: j for j in journeys if j.get("task")}
    canceled = 0
    for tk in state["tasks"]:
        a = tk.get("attributes_parsed") or {}
        if tk["sid"] in originals:
            canceled += tk["assignment_status"] == "canceled"
            continue
        if a.get("taskType") != "callback":
            continue
        num = (a.get("callBackData") or {}).get("numberToCall")
        if num in expected:
            per_number[num] = per_number.get(num, 0) + 1
        else:
            unexpected += 1
    created = sum(per_number.values())
    duplicates = sum(c - 1 for c in per_number.values() if c > 1)
    lost = sum(1 for num in expected if per_number.get(num, 0) == 0)
    # a task missing after the caller was told it was created is a silent
    # loss; one missing after a failed webhook was at least visible
    silent = sum(1 for num, j in expected.items()
                 if per_number.get(num, 0) == 0 and j.get("ok"))

    report = {
        "args": args, "stack": stack, "journeys": journeys, "released": released,
        "unfinished": unfinished, "res": res, "t0": t0, "t_end": t_end,
        "cpu": cpu_percent(snap0, snap1), "peak": sampler.peak, "snap1": snap1,
        "load": (load0, load1), "expected": len(expected), "created": created,
        "unexpected": unexpected, "duplicates": duplicates, "lost": lost,
        "silent": silent,
        "canceled": canceled, "originals": sum(1 for j in journeys[:released]
                                               if j["kind"] == "wait"),
        "fault": next((f for f in faults if f["id"] == fault_id), None),
        "retries": retries, "emu_rss": (emu_rss0, emu_rss1),
        "emu_requests": state.get("requests"),
        "stale_retries": KeepAlive.stale_retries,
    }
    print_report(report)
    bad = lost > 0 or duplicates > 0 or unexpected > 0 or released == 0 \
        or sum(res.throttled.values()) > 0
    return 1 if bad else 0


def print_report(r):
    args, res = r["args"], r["res"]
    ms = 1000.0
    print()
    print("==== flexhooks load test ====")
    print("settings       %d journeys at %g/s, wait share %.2f, Twilio latency %s ms, "
          "429 probability %g, %s FastCGI processes per program, %d driver workers" % (
              args.journeys, args.rate, args.wait_share, args.latency_ms, args.p429,
              args.processes, args.workers))
    print("load average   %s at start, %s at end (%d cores)" % (
        r["load"][0], r["load"][1], os.cpu_count()))
    n = len(res.starts)
    starts = sorted(res.starts)
    span = (starts[-1] - starts[0]) if n > 1 else 0.0
    rate = (n - 1) / span if span > 0 else float("nan")
    late = sorted(res.lateness)
    print()
    print("journeys       %d played (%d released, %d unfinished)" % (
        n, r["released"], r["unfinished"]))
    for kind in sorted(res.outcome):
        o = res.outcome[kind]
        print("  %-12s %d ok, %d failed" % (kind, o["ok"], o["failed"]))
    print("start rate     %.1f/s achieved (target %g/s); lateness p50 %.1f ms, "
          "p99 %.1f ms, max %.1f ms; %d started >100 ms late" % (
              rate, args.rate, pct(late, 50) * ms, pct(late, 99) * ms,
              (late[-1] if late else 0) * ms, sum(1 for x in late if x > 0.1)))
    wall = r["t_end"] - r["t0"]
    hooks = sum(len(v) for v in res.latency.values())
    print("duration       %.1f s; %d webhooks (%.1f/s); %s Twilio API requests "
          "to the emulator" % (wall, hooks, hooks / wall if wall else 0,
                               r["emu_requests"]))
    print("connections    keep-alive, one per driver thread; %d requests resent "
          "after nginx had closed an idle connection" % r["stale_retries"])
    print()
    print("tasks          expected %d, created %d, duplicates %d, lost %d, "
          "unexpected %d" % (r["expected"], r["created"], r["duplicates"],
                             r["lost"], r["unexpected"]))
    print("               lost after a success answer: %d; after a failed "
          "journey: %d" % (r["silent"], r["lost"] - r["silent"]))
    print("               wait originals canceled: %d of %d" % (
        r["canceled"], r["originals"]))
    print()
    print("webhook latency (ms)                        count      p50      p95      p99      max")
    for route in sorted(res.latency):
        v = sorted(res.latency[route])
        print("  %-40s %7d %8.1f %8.1f %8.1f %8.1f" % (
            route, len(v), pct(v, 50) * ms, pct(v, 95) * ms, pct(v, 99) * ms,
            v[-1] * ms))
    print()
    print("errors by kind")
    if not res.errors:
        print("  none")
    for kind, count in sorted(res.errors.items(), key=lambda kv: -kv[1]):
        print("  %6d  %s" % (count, kind))
    print()
    throttled = sum(res.throttled.values())
    print("throttled      %d webhooks answered 429 by flexhooks itself" % throttled)
    for kind, count in sorted(res.throttled.items(), key=lambda kv: -kv[1]):
        print("  %6d  %s" % (count, kind))
    print()
    f = r["fault"]
    r429, other, gave_up = r["retries"]
    if f:
        print("429s           %d injected (of %d requests drawn, p=%g); programs "
              "logged %d retries after a 429, %d other retries, %d gave up "
              "(deadline)" % (f["hits"], f.get("matched", 0), f["probability"],
                              r429, other, gave_up))
    else:
        print("429s           none injected; programs logged %d retries, %d gave up" % (
            other + r429, gave_up))
    print()
    print("CPU (%% of one core; %d cores)   average   peak(2 s)" % os.cpu_count())
    cpu, peak = r["cpu"], r["peak"]
    for name in sorted(k for k in cpu if not k.startswith("_")):
        print("  %-28s %7.1f %9.1f" % (name, cpu[name], peak.get(name, 0.0)))
    print("  %-28s %7.1f %9.1f" % ("load driver (this script)", cpu.get("_driver", 0.0),
                                   peak.get("_driver", 0.0)))
    print("  %-28s %7.1f %9.1f" % ("whole machine", cpu.get("_system", 0.0),
                                   peak.get("_system", 0.0)))
    print()
    print("memory (MiB) at the end     processes  RSS sum  RSS max  PSS sum")
    for name, s in sorted(r["snap1"].items()):
        if name.startswith("_"):
            continue
        rss = s["rss"]
        pss = sum(proc_pss_kb(p) for p in s["pids"])
        print("  %-28s %6d %8.1f %8.1f %8.1f" % (
            name, len(rss), sum(rss) / 1024.0, max(rss) / 1024.0, pss / 1024.0))
    print("  emulator RSS before the run %.1f MiB, after %.1f MiB" % (
        r["emu_rss"][0] / 1024.0, r["emu_rss"][1] / 1024.0))
    print()
    verdict = "PASS" if r["lost"] == 0 and r["duplicates"] == 0 and \
        r["unexpected"] == 0 and n > 0 and throttled == 0 else "FAIL"
    print("result         %s (lost %d, duplicates %d, throttled %d)" % (
        verdict, r["lost"], r["duplicates"], throttled))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--journeys", type=int, default=10000)
    ap.add_argument("--rate", type=float, default=100.0, help="journeys started per second")
    ap.add_argument("--wait-share", type=float, default=0.5,
                    help="fraction of wait-experience journeys (the rest: studio create-callback)")
    ap.add_argument("--p429", type=float, default=0.01, help="probability of a 429 per Twilio request")
    ap.add_argument("--latency-ms", default="?", help="the emulator's latency (for the report)")
    ap.add_argument("--processes", default="?", help="FLEXHOOKS_PROCESSES (for the report)")
    ap.add_argument("--workers", type=int, default=400, help="driver threads")
    ap.add_argument("--timeout", type=float, default=20.0, help="per webhook, seconds")
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="stop releasing journeys after this long (default 3x the planned time + 60)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--progress", type=int, default=1000, help="print every N journeys (0: never)")
    ap.add_argument("--port", type=int, default=int(os.environ.get("FLEXHOOKS_PORT") or 48080))
    ap.add_argument("--root", default=os.path.abspath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")))
    args = ap.parse_args(argv)
    if args.journeys < 1 or args.rate <= 0 or not 0 <= args.wait_share <= 1 or \
            not 0 <= args.p429 <= 1 or args.workers < 1:
        ap.error("bad --journeys, --rate, --wait-share, --p429 or --workers")
    if args.workers > 900:
        print("load.py: warning: %d keep-alive connections come near nginx's "
              "1024 (2 workers x worker_connections 512, each request in "
              "flight taking a second one upstream)" % args.workers, file=sys.stderr)
    if args.max_seconds is None:
        args.max_seconds = 3 * args.journeys / args.rate + 60
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
