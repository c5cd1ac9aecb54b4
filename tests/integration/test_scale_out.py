#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Scaling out: two complete flexhooks "hosts" behind one nginx upstream.

flexhooks keeps no state between requests apart from per-process caches
(the Flex token cache, status-callback's stale flag, the locations file):
duplicate protection lives in Twilio's task state (If-Match claims and
markers).  So any number of hosts can serve one account behind a load
balancer.  This test shows it on the loopback without disturbing the
shared test stack:

- it starts two sets of every built FastCGI program ("host a" and "host
  b") under spawn-fcgi from FLEXHOOKS_BUILD_DIR, each in its own
  directory with its own sockets and logs, and both with a copy of the
  test stack's configuration (same Twilio emulator, same public URL, same
  Basic credentials: what a second server gets);
- it starts a private nginx on a free port from the real template
  (nginx/flexhooks.conf.in), with each program's fastcgi_pass turned into
  an upstream of the two sockets, one worker (so the round robin is
  exact) and `fastcgi_next_upstream error timeout` (nginx's default,
  spelled out): a request moves to the other host only when it could not
  be sent, because `non_idempotent` stays unset, so a POST that reached a
  program is never sent twice; create-callback's requests that carry
  I-Twilio-Idempotency-Token go to an upstream hashed on it (README.md
  "Several hosts"), the others keep the round robin;
- requests are signed over FLEXHOOKS_PUBLIC_URL, as Twilio signs them,
  whichever host answers.

It checks that (a) requests are spread over both hosts (their logs),
(b) one webhook delivered to both hosts at once gives exactly one task or
call in the emulator (copies made to read the same ETag, so only If-Match
separates them), and a voicemail's callbacks on different hosts give one
task, while Twilio's copies of one delivery (one idempotency token)
reach one host and make one task, (c) when one host dies with requests in flight, its requests answer
502 and are not replayed on the other, and everything after that is
served by the surviving host.

Everything it starts runs in its own session and is killed, and its
directory removed, on exit.  Exits 77 unless FLEXHOOKS_TEST_STACK=1 or
without spawn-fcgi/nginx.
"""

import os
import re
import shutil
import signal
import sys
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402
import fhprivate  # noqa: E402

t.require_stack()
import fhwait as w  # noqa: E402

ENV = t.ENV
EMU = t.EMU
STUDIO = "/features/callback-and-voicemail/studio/create-callback"
WAIT = "/features/callback-and-voicemail/studio/wait-experience"
EVENTS = "/tr-event-callback"
CALLS = "/2010-04-01/Accounts/%s/Calls.json" % ENV.account_sid
HOSTS = ("a", "b")
PROCESSES = 2           # per program and host


def same_etag(task, n):
    """Make n copies of a webhook (n processes on two hosts) read the task
    in the same state: the emulator holds the first n reads of the task
    for 1.5 s, and the first n writes (each copy's claim) for 1.5 s more,
    so that every copy has read before any write lands.  Only If-Match
    then keeps them from all going on."""
    path = "%s/%s" % (ENV.tasks_path, task)
    EMU.fault(method="GET", path=path, exact=True, delay_ms=1500, times=n)
    EMU.fault(method="POST", path=path, exact=True, delay_ms=1500, times=n)


def both(c, what):
    t.ok(all(c[h] >= 1 for h in HOSTS), "%s reached both hosts: %r" %
         (what, c))


def task_sid_of(r):
    t.eq(r.status, 200, "status (body %r)" % r.body[:200])
    b = r.json()
    t.eq(b.get("success"), True, "success")
    return b["taskSid"]


FARM = fhprivate.Private(programs=None, processes=PROCESSES, hosts=HOSTS,
                         prefix="fhscale")
TESTS = []


def test(fn):
    TESTS.append((fn.__name__, fn, ()))
    return fn


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------


@test
def only_unsent_requests_move_to_the_other_host():
    """The balancer's retry policy, and that no nginx file of the project
    turns on retries of non-idempotent requests."""
    t.ok(re.search(r"^\s*fastcgi_next_upstream error timeout;$", FARM.conf,
                   re.M), "fastcgi_next_upstream error timeout")
    d = os.path.join(ENV.root, "nginx")
    for name in sorted(os.listdir(d)):
        for ln in t.read_text(os.path.join(d, name)).split("\n"):
            t.ok("non_idempotent" not in ln.split("#", 1)[0],
                 "non_idempotent in nginx/%s" % name)
    t.ok(all("non_idempotent" not in ln.split("#", 1)[0]
             for ln in FARM.conf.split("\n")), "non_idempotent in the farm")


@test
def requests_spread_over_both_hosts():
    n = 10
    since = FARM.marks("create-callback")
    hsince = FARM.marks("healthz")
    numbers = []
    for _ in range(n):
        num = t.unique_number()
        numbers.append(num)
        task_sid_of(t.request("POST", STUDIO, form=[
            ("numberToCall", num), ("numberToCallFrom", t.unique_number())]))
    for _ in range(4):
        t.eq(FARM.get("/healthz").status, 200, "/healthz")
    c = FARM.wait_lines("create-callback", since, n,
                        lambda o: o.get("path") == STUDIO)
    h = FARM.wait_lines("healthz", hsince, 4)
    print("# create-callback requests per host: %r, /healthz: %r" % (c, h))
    t.eq(sum(c.values()), n, "access lines")
    t.eq(c, {"a": n // 2, "b": n // 2}, "round robin (one nginx worker)")
    both(h, "/healthz")
    stored = {}
    for tk in EMU.tasks():
        a = w.attrs_of(tk) or {}
        num = (a.get("callBackData") or {}).get("numberToCall")
        if num in numbers:
            stored[num] = stored.get(num, 0) + 1
    t.eq(stored, {num: 1 for num in numbers}, "one task per request")


@test
def twilio_retries_reach_one_host_one_task():
    """Twilio's retries of one delivery carry the same
    I-Twilio-Idempotency-Token: hashed on it, they reach one host, which
    creates the task once (round robin would have sent them to both, and
    each host would have made a task)."""
    tokens = ["%s-%s" % (ENV.account_sid, t.unique_hex(32))
              for _ in range(4)]
    for tok in tokens:
        since = FARM.marks("create-callback")
        mark = EMU.mark()
        num = t.unique_number()
        pairs = [("numberToCall", num), ("numberToCallFrom",
                                         t.unique_number())]
        sids = [task_sid_of(t.request(
            "POST", STUDIO, form=pairs,
            headers=[("I-Twilio-Idempotency-Token", tok)]))
            for _ in range(4)]
        t.eq(sids, [sids[0]] * 4, "task SIDs of 4 copies of one delivery")
        t.eq(len(t.task_creates(EMU.requests(mark), num)), 1,
             "task creates")
        c = FARM.wait_lines("create-callback", since, 4,
                            lambda o: o.get("path") == STUDIO)
        t.eq(sorted(c.values()), [0, 4], "one host for one token: %r" % c)


@test
def voicemail_callbacks_on_both_hosts_one_task():
    """The recording callback on one host, the transcription callback on
    the other: the second finds the first's task in Twilio."""
    since = FARM.marks("create-callback")
    re_sid, tr_sid = t.sid("RE"), t.sid("TR")
    num, frm = t.unique_number(), t.unique_number()
    url = "https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s" % (
        ENV.account_sid, re_sid)
    mark = EMU.mark()
    first = task_sid_of(t.request("POST", STUDIO, form=[
        ("numberToCall", num), ("numberToCallFrom", frm),
        ("RecordingSid", re_sid), ("RecordingUrl", url),
        ("RecordingStatus", "completed")]))
    second = task_sid_of(t.request("POST", STUDIO, form=[
        ("numberToCall", num), ("numberToCallFrom", frm),
        ("RecordingSid", re_sid), ("TranscriptionSid", tr_sid),
        ("TranscriptionText", "call me"),
        ("TranscriptionStatus", "completed")]))
    both(FARM.wait_lines("create-callback", since, 2), "the two callbacks")
    t.eq(second, first, "the second callback answers the first task")
    t.eq(len(t.task_creates(EMU.requests(mark), num)), 1, "task creates")
    cbd = w.attrs_of(EMU.task(first))["callBackData"]
    t.eq((cbd.get("recordingSid"), cbd.get("transcriptSid")),
         (re_sid, tr_sid), "one task with both callbacks' data")


@test
def reservation_on_both_hosts_one_call():
    """Four copies of one reservation.created, two per host, all reading
    the task's same ETag: the If-Match claim lets one place the call."""
    attrs = {"type": "inbound", "practicePhone": t.unique_number(),
             "callerID": t.unique_number(), "call_sid": t.sid("CA")}
    task = EMU.seed({"tasks": [{"workflow_sid": t.sid("WW"),
                                "attributes": attrs,
                                "assignment_status": "reserved",
                                "task_channel": "voice"}]})["tasks"][0]
    res, ev = t.sid("WR"), t.sid("EV")
    form = [("EventType", "reservation.created"),
            ("AccountSid", ENV.account_sid),
            ("WorkspaceSid", ENV.workspace_sid), ("Sid", ev),
            ("ResourceType", "reservation"), ("Timestamp", "1767225600"),
            ("TaskSid", task), ("TaskAttributes", t.dumps_plain(attrs)),
            ("ReservationSid", res)]
    since = FARM.marks("taskrouter-events")
    mark = EMU.mark()
    same_etag(task, 4)
    answers = t.concurrently([lambda: t.request("POST", EVENTS, form=form)] * 4)
    for r in answers:
        t.ok(isinstance(r, t.Resp), "request failed: %r" % (r,))
        t.eq(r.status, 204, "status (body %r)" % r.body[:200])
    c = FARM.wait_lines("taskrouter-events", since, 4,
                        lambda o: o.get("task_sid") == task)
    print("# reservation.created copies per host: %r" % c)
    both(c, "the copies")
    reqs = EMU.requests(mark)
    claims = [r for r in reqs if r["method"] == "POST" and
              r["path"] == "%s/%s" % (ENV.tasks_path, task) and
              t.header_of(r, "If-Match")]
    creates = [r for r in reqs if r["method"] == "POST" and
               r["path"] == CALLS and t.mentions(r, task)]
    print("# claim writes %d, calls placed %d" % (len(claims),
                                                   len(creates)))
    t.ok(len(claims) >= 2, "copies raced on one ETag (claim writes: %d)" %
         len(claims))
    t.eq(len(creates), 1, "calls placed")


@test
def submit_callback_on_both_hosts_one_task():
    """A caller's submit-callback delivered to both hosts at once: the
    cancel with If-Match lets one create the callback."""
    call = w.Call()
    wt = w.seed_task(call)
    since = FARM.marks("wait-experience")
    end = call.walk(call.start(), ["*", "1"], stop_on_gather=True)
    t.eq(end, "gather", "at the callback choice")
    hops = FARM.wait_lines("wait-experience", since, 4,
                           lambda o: o.get("call_sid") == call.sid)
    print("# one call's webhooks per host: %r" % hops)
    both(hops, "one call's successive webhooks")
    r = call.post(call.gather.get("action"), [("Digits", "1")])
    submit = ET.fromstring(r.body).find("Redirect").text
    t.ok("mode=submit-callback" in submit, "submit-callback")
    since = FARM.marks("wait-experience")
    mark = EMU.mark()
    same_etag(wt, 2)
    answers = t.concurrently([lambda: call.post(submit)] * 2)
    waited = 0
    for r in answers:
        t.ok(isinstance(r, t.Resp), "request failed: %r" % (r,))
        t.eq(r.status, 200, "status")
        # the copy that lost may answer before the winner has its task:
        # then it says nothing yet (Pause, Redirect to itself), never
        # "submitted" without a task
        for _ in range(5):
            if w.P["submitted"].encode() in r.body:
                break
            root = ET.fromstring(r.body)
            t.eq([v.tag for v in root], ["Pause", "Redirect"],
                 "not submitted yet: %r" % r.body)
            waited += 1
            r = call.post(root.find("Redirect").text)
        t.ok(w.P["submitted"].encode() in r.body,
             "callbackSubmitted: %r" % r.body)
    print("# copies told to wait for the other's task: %d" % waited)
    both(FARM.wait_lines("wait-experience", since, 2,
                         lambda o: o.get("call_sid") == call.sid),
         "the two copies")
    reqs = EMU.requests(mark)
    cancels = [r for r in reqs if r["method"] == "POST" and
               r["path"].endswith("/Tasks/" + wt) and
               t.first(t.form_of(r), "AssignmentStatus") == "canceled"]
    print("# cancel writes %d, callback tasks %d" % (
        len(cancels), len(w.callback_tasks(call.caller))))
    t.eq(len(cancels), 2, "cancel writes (one per copy: both read the "
         "same ETag, one got 412)")
    t.eq(len(w.callback_tasks(call.caller)), 1, "callback tasks")
    t.eq(EMU.task(wt)["assignment_status"], "canceled", "original")


@test
def host_down_in_flight_then_failover():
    """Host b dies while each host holds one request: b's is not sent
    again to a (it was a POST that reached b): nginx answers it with the
    wait experience's fallback TwiML (the caller keeps holding and comes
    back to the wait URL), where a JSON route would get a 502; every later
    request is served by a."""
    calls = [w.Call(), w.Call()]
    queues = []
    for c in calls:
        w.seed_task(c)
        q = "/2010-04-01/Accounts/%s/Queues/%s.json" % (ENV.account_sid,
                                                         c.queue_sid)
        queues.append(q)
        EMU.fault(method="GET", path=q, exact=True, delay_ms=3000, times=1)
    since = FARM.marks("wait-experience")
    mark = EMU.mark()
    box = []
    th = threading.Thread(target=lambda: box.append(t.concurrently(
        [c.start for c in calls])))
    th.start()
    end = time.monotonic() + 10
    while True:     # both requests are in a program, waiting for Twilio
        paths = [r["path"] for r in EMU.requests(mark)]
        if all(q in paths for q in queues) or time.monotonic() > end:
            break
        time.sleep(0.05)
    t.ok(all(q in paths for q in queues), "both requests in flight")
    FARM.kill_host("b")
    th.join(30)
    answers = box[0]
    for r in answers:
        t.ok(isinstance(r, t.Resp), "request failed: %r" % (r,))
    t.eq(sorted(r.status for r in answers), [200, 200], "answers")
    held = [r for r in answers if b"Please continue to hold" in r.body]
    t.eq(len(held), 1, "one fallback answer: %r" % [r.body[:120]
                                                   for r in answers])
    t.ok(b'<Redirect method="POST">wait-experience</Redirect>' in
         held[0].body, "back to the wait URL: %r" % held[0].body)
    t.eq(held[0].header("Content-Type"), "text/xml; charset=utf-8",
         "fallback content type")
    reqs = EMU.requests(mark)
    for q in queues:
        t.eq(len([r for r in reqs if r["path"] == q]), 1,
             "queue fetches of one call (a replay would fetch again)")
    served = FARM.counts("wait-experience", since,
                         lambda o: o.get("path") == WAIT)
    t.eq(served, {"a": 1, "b": 0}, "access lines of the two starts")
    t.ok("prematurely closed" in FARM.nginx_errors(),
         "nginx logged the lost upstream")

    # every later request goes to a: nginx finds b's sockets refusing
    # connections (nothing was sent), marks b down and moves on
    since = FARM.marks("create-callback")
    n = 6
    numbers = [t.unique_number() for _ in range(n)]
    mark = EMU.mark()
    for num in numbers:
        task_sid_of(t.request("POST", STUDIO, form=[
            ("numberToCall", num), ("numberToCallFrom", t.unique_number())]))
    for _ in range(3):
        t.eq(FARM.get("/healthz").status, 200, "/healthz")
    c = FARM.wait_lines("create-callback", since, n)
    print("# after host b died: create-callback per host %r" % c)
    t.eq(c, {"a": n, "b": 0}, "all served by host a")
    reqs = EMU.requests(mark)
    for num in numbers:
        t.eq(len(t.task_creates(reqs, num)), 1, "creates for one request")
    t.ok(re.search(r"connect\(\) to unix:\S+/b/\S+ failed \(111",
                   FARM.nginx_errors()), "nginx logged the refused connect")
    call = w.Call()
    w.seed_task(call)
    t.eq(call.walk(call.start(), [None], stop_on_gather=True), "loop",
         "a call holds on host a")


def main():
    for tool in ("spawn-fcgi", "nginx"):
        if shutil.which(tool) is None:
            print("SKIP: %s not installed" % tool)
            sys.exit(t.SKIP_EXIT)

    def stop(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    t0 = time.monotonic()
    passed = failed = skipped = 0
    try:
        try:
            FARM.start()
        except AssertionError as e:
            print("FAIL start: %s" % e)
            for d, _, files in os.walk(FARM.tmp):
                for f in sorted(files):
                    if f.endswith(".log"):
                        print("# %s: %s" % (f, t.read_text(
                            os.path.join(d, f))[-400:]))
            raise SystemExit(1)
        ENV.port = FARM.port    # every fhtest request goes to the farm
        print("# two hosts x %d programs x %d processes behind "
              "127.0.0.1:%d (%.1f s to start)" % (
                  len(FARM.programs), PROCESSES, FARM.port,
                  time.monotonic() - t0))
        passed, failed, skipped = t.run(TESTS)
        reports = FARM.sanitizer_reports()
        if reports:
            print("FAIL sanitizer reports in: %s" % ", ".join(reports))
            failed += 1
    finally:
        FARM.stop()
    print("# %.1f s" % (time.monotonic() - t0))
    t.finish(passed, failed, skipped)


if __name__ == "__main__":
    main()
