#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests of the wait experience's position and estimated wait
(FLEXHOOKS_ANNOUNCE) and of the callback offer that fits the wait
(FLEXHOOKS_OFFER_CALLBACK_AFTER_S / _POSITION), through nginx, the real
wait-experience program and the Twilio emulator.

The shared stack runs with the defaults (announcements off); the journeys
that need the settings start a private wait-experience with them
(fhprivate.Private) on the same emulator.  fhwait's call driver plays
the calls.  Each test seeds its own TaskQueue (a unique name), its
statistics overlay (queue_statistics: eligible workers and tasks accepted
in the window) and its tasks, so the estimate is known in advance:
position x 1800 s / accepted.

Run by `deploy/local.sh test` (make check); exits 77 unless
FLEXHOOKS_TEST_STACK=1.
"""

import os
import re
import sys
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402

t.require_stack()
import fhprivate  # noqa: E402
import fhwait as w  # noqa: E402

ENV = t.ENV
EMU = t.EMU
PATH = w.PATH
CACHE_S = 2             # the private stack's statistics cache period
SETTINGS = {"FLEXHOOKS_ANNOUNCE": "position,wait",
            "FLEXHOOKS_ANNOUNCE_EVERY_S": "60",
            "FLEXHOOKS_OFFER_CALLBACK_AFTER_S": "300",
            "FLEXHOOKS_QUEUE_STATS_CACHE_S": str(CACHE_S)}
STAR = "To request a callback, or to leave a voicemail, press the star key"
TESTS = []


def test(fn):
    TESTS.append((fn.__name__, fn, ()))
    return fn


def new_queue(accepted=12, eligible=2):
    """A TaskQueue of its own with a statistics overlay."""
    out = EMU.seed({"task_queues": [{"friendly_name": "stats-" +
                                     t.unique_hex(8)}]})
    wq = out["task_queues"][0]
    overlay(wq, accepted, eligible)
    return wq


def overlay(wq, accepted, eligible=2):
    EMU.seed({"queue_statistics": {wq: {
        "realtime": {"total_eligible_workers": eligible},
        "cumulative": {"reservations_accepted": accepted}}}})


def seed_call(call, wq, created, ahead=()):
    """The caller's pending task in wq (created at `created`), after the
    tasks of `ahead` (their creation times); -> (caller's WT, [WT ahead])."""
    tasks = [{"workflow_sid": call.wf, "task_queue_sid": wq,
              "attributes": {"call_sid": t.sid("CA")}, "priority": 0,
              "date_created": c} for c in ahead]
    tasks.append({"workflow_sid": call.wf, "task_queue_sid": wq,
                  "attributes": {"call_sid": call.sid, "from": call.caller},
                  "priority": 0, "timeout": 3600, "date_created": created})
    out = EMU.seed({"queues": {call.queue_sid: call.wf},
                    "calls": {call.sid: {"status": "in-progress",
                                         "to": call.called,
                                         "from": call.caller}},
                    "tasks": tasks})
    return out["tasks"][-1], out["tasks"][:-1]


def says(call):
    return [v for k, v in call.heard if k == "say"]


def stats_requests(reqs, wq):
    """{kind: count} of the requests about wq."""
    out = {"realtime": 0, "cumulative": 0, "line": 0}
    for r in reqs:
        if r["path"].endswith("/TaskQueues/%s/RealTimeStatistics" % wq):
            out["realtime"] += 1
        elif r["path"].endswith("/TaskQueues/%s/CumulativeStatistics" % wq):
            out["cumulative"] += 1
        elif r["path"] == ENV.tasks_path and wq in (r.get("query") or ""):
            out["line"] += 1
    return out


def hold(call, r):
    """Walk to the loop document and hold there: its Gather (if any) times
    out and Twilio goes on to the Redirect after it, the next LOOP."""
    end = call.walk(r, [], stop_on_gather=True)
    t.ok(end in ("gather", "loop"), "at the loop: %s" % end)
    call.loop_url = ET.fromstring(call.docs[-1]).find("Redirect").text
    return end


def again(call, url, announced_ago=None):
    """Twilio requests the loop URL again (after the hold music); with
    announced_ago, as if the last announcement was that long ago."""
    if announced_ago is not None:
        url = re.sub(r"announcedAt=\d+", "announcedAt=%d" % (
            time.time() - announced_ago), url)
    call.heard = []
    return hold(call, call.post(url))


# --------------------------------------------------------------------------
# announcements off (the shared stack's defaults)
# --------------------------------------------------------------------------


@test
def announcements_off_by_default():
    """Without FLEXHOOKS_ANNOUNCE nothing is said, no statistics are read
    and the URLs carry no hold state: today's loop."""
    wq = new_queue()
    call = w.Call()
    seed_call(call, wq, "2026-01-02T03:00:02Z",
              ahead=["2026-01-02T03:00:00Z"])
    m = EMU.mark()
    end = call.walk(call.start(), [None, None], stop_on_gather=True)
    t.eq(end, "loop", "holding")
    t.ok(not any("in line" in s or "estimated" in s for s in says(call)),
         "nothing announced: %r" % says(call))
    t.ok(any(STAR in s for s in says(call)), "the menu is offered")
    t.eq(stats_requests(EMU.requests(m), wq),
         {"realtime": 0, "cumulative": 0, "line": 0}, "no statistics read")
    t.ok("taskQueueSid" not in call.loop_url and
         "announcedAt" not in call.loop_url, "no hold state in the URL")


# --------------------------------------------------------------------------
# announcements on (a private wait-experience)
# --------------------------------------------------------------------------


@test
def announcements_then_position_moves():
    """Third in line, 12 tasks accepted in 30 minutes: "number 3", "about
    8 minutes" (3 x 150 s), at the first loop only; the offer (past 300 s)
    is there.  As the tasks ahead are accepted, the next announcements say
    2, then "next in line" (1 x 150 s: "about 3 minutes")."""
    wq = new_queue(accepted=12)
    call = w.Call()
    wt, ahead = seed_call(call, wq, "2026-01-02T03:00:02Z",
                          ahead=["2026-01-02T03:00:00Z",
                                 "2026-01-02T03:00:01Z"])
    m = EMU.mark()
    end = call.walk(call.start(), [None], stop_on_gather=True)
    t.eq(end, "loop", "holding")
    t.eq(says(call)[:3], [
        w.P["greeting"], "You are number 3 in line.",
        "Your estimated wait time is about 8 minutes."], "announced")
    t.ok(any(STAR in s for s in says(call)), "offered (450 s > 300 s)")
    u = call.loop_url
    t.ok(("enqueuedTaskSid=%s" % wt) in u and ("taskQueueSid=" + wq) in u
         and "announcedAt=" in u and "offered=true" in u,
         "hold state in the LOOP: " + u)
    n = stats_requests(EMU.requests(m), wq)
    t.ok(1 <= n["realtime"] <= 2 and 1 <= n["cumulative"] <= 2 and
         1 <= n["line"] <= 2, "read once per process at most: %r" % n)
    # the next loop: not due yet, nothing said, nothing read
    m = EMU.mark()
    again(call, u)
    t.ok(not any("line" in s or "estimated" in s for s in says(call)),
         "not again before FLEXHOOKS_ANNOUNCE_EVERY_S: %r" % says(call))
    t.ok(any(STAR in s for s in says(call)), "still offered")
    t.eq(stats_requests(EMU.requests(m), wq)["realtime"], 0, "no request")
    # the first task ahead is accepted
    EMU.seed({"task_status": {ahead[0]: "assigned"}})
    time.sleep(CACHE_S + 0.5)
    again(call, call.loop_url, announced_ago=120)
    t.ok("You are number 2 in line." in says(call), "2: %r" % says(call))
    t.ok("Your estimated wait time is about 5 minutes." in says(call),
         "2 x 150 s: %r" % says(call))
    EMU.seed({"task_status": {ahead[1]: "assigned"}})
    time.sleep(CACHE_S + 0.5)
    again(call, call.loop_url, announced_ago=120)
    t.ok("You are next in line." in says(call), "1: %r" % says(call))
    t.ok("Your estimated wait time is about 3 minutes." in says(call),
         "150 s: %r" % says(call))


@test
def no_statistics_nothing_said():
    """No task accepted in the window, then no eligible worker: no
    estimate, so no wait is said (the position still is); with no estimate
    the offer threshold cannot be judged: offered, as today."""
    for accepted, eligible in ((0, 2), (12, 0), (2, 2)):
        wq = new_queue(accepted=accepted, eligible=eligible)
        call = w.Call()
        seed_call(call, wq, "2026-01-02T03:00:01Z",
                  ahead=["2026-01-02T03:00:00Z"])
        call.walk(call.start(), [None], stop_on_gather=True)
        what = "accepted %d, eligible %d" % (accepted, eligible)
        t.ok("You are number 2 in line." in says(call), what)
        t.ok(not any("estimated" in s for s in says(call)), "%s: %r" % (
            what, says(call)))
        t.ok(any(STAR in s for s in says(call)), what + ": offered")
        t.ok("offered=true" not in call.loop_url, what + ": not sticky")


def today_verbs(doc):
    root = ET.fromstring(doc)
    return [v.tag for v in root], [x.tag for x in root.find("Gather")]


@test
def statistics_failing_loop_unchanged():
    """The statistics answer 503 (and then the queue's task list too):
    nothing is said that they would have given, and the loop is today's:
    greeting, Gather[prompt, hold music], Redirect."""
    wq = new_queue()
    stats = "/v1/Workspaces/%s/TaskQueues/%s" % (ENV.workspace_sid, wq)
    EMU.fault(method="GET", path=stats, status=503, times=0)
    try:
        call = w.Call()
        seed_call(call, wq, "2026-01-02T03:00:01Z",
                  ahead=["2026-01-02T03:00:00Z"])
        call.walk(call.start(), [None], stop_on_gather=True)
        t.ok("You are number 2 in line." in says(call),
             "the line still counts: %r" % says(call))
        t.ok(not any("estimated" in s for s in says(call)), "no wait")
        EMU.fault(method="GET", path=ENV.tasks_path, exact=True, query=wq,
                  status=503, times=0)
        call = w.Call()
        seed_call(call, wq, "2026-01-02T03:00:02Z")
        time.sleep(CACHE_S + 0.5)
        t0 = time.monotonic()
        call.walk(call.start(), [None], stop_on_gather=True)
        t.ok(time.monotonic() - t0 < 10, "answered in time")
        t.eq(len(says(call)), 2, "greeting and prompt only: %r" %
             says(call))
        t.eq(says(call)[0], w.P["greeting"], "the greeting")
        t.ok(STAR in says(call)[1], "the prompt")
        verbs = today_verbs(call.docs[-1])
        t.eq(verbs, (["Say", "Gather", "Redirect"], ["Say", "Play"]),
             "today's loop")
    finally:
        EMU.remove_faults(lambda f: f.get("path") in (stats, ENV.tasks_path)
                          and f.get("status") == 503)


@test
def offer_only_past_threshold():
    """FLEXHOOKS_OFFER_CALLBACK_AFTER_S=300: first in line with 150 s to
    wait, the caller hears the wait and hold music, no "*"; when the pace
    drops (3 accepted: 600 s) the offer starts, and stays when it picks up
    again; "*" then opens the menu."""
    wq = new_queue(accepted=12)
    call = w.Call()
    seed_call(call, wq, "2026-01-02T03:00:00Z")
    t.eq(hold(call, call.start()), "loop", "holding without a Gather")
    t.eq(says(call), [w.P["greeting"], "You are next in line.",
                      "Your estimated wait time is about 3 minutes."],
         "no prompt to press star")
    t.ok(("play", ENV.public_url + "/assets/hold-music.wav") in call.heard,
         "hold music")
    t.ok(not any(b"<Gather" in d for d in call.docs), "no Gather")
    t.ok("offered" not in call.loop_url, "not offered yet")
    overlay(wq, accepted=3)
    time.sleep(CACHE_S + 0.5)
    again(call, call.loop_url)
    t.ok(any(STAR in s for s in says(call)), "offered now: %r" % says(call))
    t.ok("offered=true" in call.loop_url, "and it stays")
    overlay(wq, accepted=12)
    time.sleep(CACHE_S + 0.5)
    again(call, call.loop_url)
    t.ok(any(STAR in s for s in says(call)), "still offered")
    # "*": the menu, whose LOOP keeps the state
    call.heard = []
    end = call.walk(call.post(call.loop_url), ["*", None],
                    stop_on_gather=True)
    t.ok(any("press 1" in s for k, s in call.heard if k == "say"),
         "the menu: %r" % call.heard)
    t.ok("offered=true" in call.loop_url and ("taskQueueSid=" + wq) in
         call.loop_url, "state through the menu: " + call.loop_url)


# --------------------------------------------------------------------------
# a thousand callers (a private stack with a 60 s cache)
# --------------------------------------------------------------------------

CALLERS = 1000
THREADS = 16
BIG = {"FLEXHOOKS_ANNOUNCE": "position,wait",
       "FLEXHOOKS_QUEUE_STATS_CACHE_S": "60"}
BIG_PROCESSES = 4


def thousand_callers():
    """1,000 callers of one queue at their loop at once (16 at a time,
    through nginx, 4 processes): every one hears its own position, and the
    emulator sees at most one request per document per process (the
    cache period, 60 s, is longer than the run)."""
    wq = new_queue(accepted=100)
    wf = t.sid("WW")
    calls = [t.sid("CA") for _ in range(CALLERS)]
    tasks = [{"workflow_sid": wf, "task_queue_sid": wq,
              "attributes": {"call_sid": c}, "priority": 0,
              "date_created": "2026-01-02T%02d:%02d:%02dZ" % (
                  i // 3600, i // 60 % 60, i % 60)}
             for i, c in enumerate(calls)]
    sids = EMU.seed({"tasks": tasks})["tasks"]
    m = EMU.mark()
    t0 = time.monotonic()
    results = [None] * CALLERS
    nxt = [0]
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= CALLERS:
                return
            q = [("mode", "main-wait-loop"), ("enqueuedTaskSid", sids[i]),
                 ("skipGreeting", "true"), ("taskQueueSid", wq)]
            form = [("CallSid", calls[i]), ("Caller", "+15550000000"),
                    ("From", "+15550000000"), ("Called", "+15550000001"),
                    ("To", "+15550000001")]
            try:
                results[i] = t.request("POST", PATH, query=q, form=form)
            except Exception as e:  # noqa: BLE001 - checked below
                results[i] = e
    th = [threading.Thread(target=worker) for _ in range(THREADS)]
    for x in th:
        x.start()
    for x in th:
        x.join(300)
    took = time.monotonic() - t0
    t.ok(took < 60, "the run fits in one cache period: %.1f s" % took)
    bad = [r for r in results if not isinstance(r, t.Resp) or
           r.status != 200]
    t.eq(len(bad), 0, "every answer 200: %r" % bad[:3])
    for i in (0, 1, 2, 499, 999):
        want = "You are next in line." if i == 0 else \
            "You are number %d in line." % (i + 1)
        t.ok(want.encode() in results[i].body, "caller %d: %r" % (
            i, results[i].body[:300]))
    # 1800 s / 100 accepted = 18 s each: caller 1000 waits 18000 s
    t.ok(b"more than 30 minutes" in results[999].body, "the last one")
    t.ok(b"about 3 minutes" in results[9].body, "the tenth: 180 s")
    n = stats_requests(EMU.requests(m), wq)
    print("# %d callers in %.1f s: %r" % (CALLERS, took, n))
    for kind, count in n.items():
        t.ok(1 <= count <= BIG_PROCESSES, "%s read %d times (at most %d, "
             "one per process)" % (kind, count, BIG_PROCESSES))
    fetches = [r for r in EMU.requests(m) if r["method"] == "GET" and
               any(r["path"].endswith("/Tasks/" + s) for s in sids[:50])]
    t.eq(fetches, [], "no task fetched: all were in the line read")


def main():
    passed = failed = skipped = 0
    p, f, s = t.run(TESTS[:1])          # the shared stack's defaults
    passed, failed, skipped = passed + p, failed + f, skipped + s
    for settings, processes, tests in (
            (SETTINGS, 2, TESTS[1:]),
            (BIG, BIG_PROCESSES, [("thousand_callers", thousand_callers,
                                   ())])):
        priv = fhprivate.Private(settings, processes=processes)
        try:
            with priv:
                p, f, s = t.run(tests)
        except t.Skip as e:
            print("skip private stack: %s" % e)
            p, f, s = 0, 0, len(tests)
        except AssertionError as e:
            print("FAIL private stack: %s" % e)
            p, f, s = 0, len(tests), 0
        passed, failed, skipped = passed + p, failed + f, skipped + s
    t.finish(passed, failed, skipped)


if __name__ == "__main__":
    main()
