#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fault injection across the endpoints (issue 6): what each caller gets
when Twilio misbehaves, through the real stack and the emulator's faults.

For every fault the test asserts three things: the caller gets a correct
answer (the spec's status and body, or Twilio-friendly TwiML with status
200 for voice webhooks) within the deadline (FLEXHOOKS_DEADLINE_MS, 8 s,
plus a second of slack); creates are never duplicated (at most one task for
the journey, exactly one when the fault is retryable); and nothing is lost
silently (a failed create is logged at error level with Twilio's code or
the transport error, naming the task or number).

Faults: 429 with Retry-After, 503 bursts, responses slower than the
deadline, dropped connections, malformed JSON bodies, IAM down.  The
per-route suites cover more cases of their own; this file is the matrix
across routes.  Runs in make check through `deploy/local.sh test`; exits 77
unless FLEXHOOKS_TEST_STACK=1.  Every fault is narrowed to this test's own
SIDs or numbers, and removed afterwards, as other scripts share the
emulator.
"""

import json
import os
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402
import fhrequeue as rq  # noqa: E402
import fhvoicemail as vm  # noqa: E402
import fhwait as w  # noqa: E402
from fhtest import fault  # noqa: E402

ENV = t.ENV
EMU = t.EMU
DEADLINE_S = 8.0
SLACK_S = 1.5
# docs/design/wait-experience.md#prompts, the defaults
FOLLOWUP_FAILED = ("Sorry, we were unable to complete your request. Please "
                   "call again later. Goodbye.")
PROCESSING_ERROR = ("Sorry, we were unable to perform this operation. "
                    "Please remain on the line.")
STUDIO = "/features/callback-and-voicemail/studio/create-callback"


def timed(fn, *a, **kw):
    t0 = time.monotonic()
    r = fn(*a, **kw)
    return r, time.monotonic() - t0


def within_deadline(elapsed):
    t.ok(elapsed < DEADLINE_S + SLACK_S,
         "answered within the deadline (%.2f s)" % elapsed)


def error_logged(lm, prog, *needles):
    """An error-level log line since lm mentioning every needle."""
    _, lines = t.log_since(lm, prog)
    for ln in lines:
        if ln.get("level") != "error":
            continue
        text = json.dumps(ln)
        if all(n in text for n in needles):
            return ln
    raise AssertionError("no error log line in %s with %r; got %r" %
                         (prog, needles, lines[-5:]))


def task_path(sid):
    return "%s/%s" % (ENV.tasks_path, sid)


# --------------------------------------------------------------------------
# the wait experience: Twilio-friendly TwiML whatever happens
# --------------------------------------------------------------------------

def wait_to_submit(call):
    """Walk the caller to the submit-callback Redirect: `*`, then `1`
    (callback), stopping before the final step; returns its URL."""
    r = call.start()
    end = call.walk(r, ["*", "1"], stop_on_gather=True)
    t.eq(end, "gather", "at the confirmation menu")
    action = call.gather.get("action")
    r = call.post(action, [("Digits", "1")])
    t.eq(r.status, 200, "status")
    return r


@t.test
def wait_create_429_retried():
    """The callback create answers 429 once: retried after Retry-After,
    one task, the caller hears callbackSubmitted."""
    call = w.Call()
    w.seed_task(call)
    with fault(method="POST", path=ENV.tasks_path, exact=True, status=429,
               retry_after="1", body_contains=call.caller.replace(
                   "+", "%2B")):
        r, el = timed(lambda: call.walk(call.start(), ["*", "1", "1"]))
    t.eq(r, "hangup", "call ends")
    t.ok(call.said(w.P["submitted"]), "callbackSubmitted said")
    t.eq(len(w.callback_tasks(call.caller)), 1, "one callback task")
    within_deadline(el)


@t.test
def wait_cancel_503_burst():
    """Two 503s on the conditional cancel: retried (If-Match makes it
    safe), then the callback is created once."""
    call = w.Call()
    wt = w.seed_task(call)
    with fault(method="POST", path=task_path(wt), exact=True, status=503,
               times=2):
        end = call.walk(call.start(), ["*", "1", "1"])
    t.eq(end, "hangup", "call ends")
    t.ok(call.said(w.P["submitted"]), "callbackSubmitted said")
    t.eq(EMU.task(wt)["assignment_status"], "canceled", "original canceled")
    t.eq(len(w.callback_tasks(call.caller)), 1, "one callback task")


@t.test
def wait_create_dropped_not_retried():
    """The connection drops after the create was sent: not retried (it
    may have been delivered); the caller is told, the failure is logged
    with the task SID."""
    call = w.Call()
    wt = w.seed_task(call)
    lm = t.log_mark("wait-experience")
    with fault(method="POST", path=ENV.tasks_path, exact=True, drop=True,
               body_contains=call.caller.replace("+", "%2B")):
        r, el = timed(lambda: call.walk(call.start(), ["*", "1", "1"]))
    t.eq(r, "hangup", "call ends")
    t.ok(call.said(FOLLOWUP_FAILED), "followUpFailed said")
    t.ok(len(w.callback_tasks(call.caller)) <= 1, "never two tasks")
    error_logged(lm, "wait-experience", wt)
    within_deadline(el)


@t.test
def wait_create_slower_than_deadline():
    """The create answers after the deadline: the caller gets TwiML in
    time, and the late create is not repeated."""
    call = w.Call()
    wt = w.seed_task(call)
    r = wait_to_submit(call)
    lm = t.log_mark("wait-experience")
    with fault(method="POST", path=ENV.tasks_path, exact=True,
               delay_ms=int((DEADLINE_S + 1) * 1000),
               body_contains=call.caller.replace("+", "%2B")):
        root_url = None
        for verb in ET.fromstring(r.body):
            if verb.tag == "Redirect":
                root_url = verb.text
        t.ok(root_url is not None, "a Redirect to submit-callback")
        r2, el = timed(call.post, root_url)
    t.eq(r2.status, 200, "TwiML status")
    t.ok(FOLLOWUP_FAILED.encode() in r2.body or
         w.P["submitted"].encode() in r2.body, "a final prompt: %r" %
         r2.body[:200])
    within_deadline(el)
    time.sleep(1.5)     # the emulator finishes the late create
    t.ok(len(w.callback_tasks(call.caller)) <= 1, "never two tasks")
    if FOLLOWUP_FAILED.encode() in r2.body:
        error_logged(lm, "wait-experience", wt)


@t.test
def wait_task_fetch_malformed_json():
    """Malformed JSON where the submit step reads the task: no create, the
    caller keeps holding with processingError (never a 5xx)."""
    call = w.Call()
    wt = w.seed_task(call)
    r = wait_to_submit(call)
    url = [v.text for v in ET.fromstring(r.body) if v.tag == "Redirect"]
    t.eq(len(url), 1, "one Redirect")
    with fault(method="GET", path=task_path(wt), exact=True,
               malformed_json=True, times=0, used=False):
        r2 = call.post(url[0])
    t.eq(r2.status, 200, "TwiML status")
    t.ok(PROCESSING_ERROR.encode() in r2.body or
         FOLLOWUP_FAILED.encode() in r2.body,
         "an error prompt: %r" % r2.body[:200])
    t.eq(w.callback_tasks(call.caller), [], "no callback task")


@t.test
def wait_lookup_malformed_json():
    """Malformed JSON in the pending-task lookup counts as not found: the
    caller keeps holding, and the next loop looks again."""
    call = w.Call()
    w.seed_task(call)
    with fault(method="GET", path=ENV.tasks_path, exact=True,
               malformed_json=True, query=call.wf, times=0, used=False):
        r = call.start()
    t.eq(r.status, 200, "TwiML status")
    t.ok(b"lookup=1" in r.body, "lookup counted: %r" % r.body[:300])
    # fault gone: the next loop finds the task and offers the menu
    end = call.walk(r, ["*", "1", "1"])
    t.eq(end, "hangup", "call ends")
    t.eq(len(w.callback_tasks(call.caller)), 1, "one callback task")


# --------------------------------------------------------------------------
# studio create-callback
# --------------------------------------------------------------------------

@t.test
def studio_create_malformed_json():
    """Twilio answers the create with broken JSON: the task may exist, so
    it is not retried; 502 with a message, logged."""
    n, f, pairs = (lambda n, f: (n, f, [("numberToCall", n),
                                        ("numberToCallFrom", f)]))(
        t.unique_number(), t.unique_number())
    lm = t.log_mark("create-callback")
    m = EMU.mark()
    with fault(method="POST", path=ENV.tasks_path, exact=True,
               malformed_json=True, status=201,
               body_contains=n.replace("+", "%2B")):
        r, el = timed(t.request, "POST", STUDIO, form=pairs)
    t.eq(r.status, 502, "status (body %r)" % r.body[:200])
    t.eq(r.header("Content-Type"), "application/json", "JSON error")
    t.eq(len(t.task_creates(EMU.requests(m), n)), 1, "one create attempt")
    error_logged(lm, "create-callback")
    within_deadline(el)


@t.test
def studio_create_slower_than_deadline():
    """The create answers after the deadline: 504 or 502 in time, one
    create attempt, never a second task."""
    n, f = t.unique_number(), t.unique_number()
    m = EMU.mark()
    with fault(method="POST", path=ENV.tasks_path, exact=True,
               delay_ms=int((DEADLINE_S + 1) * 1000),
               body_contains=n.replace("+", "%2B")):
        r, el = timed(t.request, "POST", STUDIO,
                      form=[("numberToCall", n), ("numberToCallFrom", f)])
    t.ok(r.status in (502, 504), "status %d" % r.status)
    within_deadline(el)
    time.sleep(1.5)
    t.eq(len(t.task_creates(EMU.requests(m), n)), 1, "one create attempt")


# --------------------------------------------------------------------------
# flex routes
# --------------------------------------------------------------------------

@t.test
def requeue_fetch_503_burst():
    """Two 503s on the task fetch (idempotent): retried, then success."""
    rq.seed_token()
    sid, wf = rq.seed_task(rq.callback_attrs())
    with fault(method="GET", path=task_path(sid), exact=True, status=503,
               times=2):
        r = rq.requeue(sid)
    t.eq(r.status, 200, "status (body %r)" % r.body[:200])


@t.test
def requeue_fetch_malformed_json():
    """Malformed JSON for the task fetch: 502, nothing created."""
    rq.seed_token()
    attrs = rq.callback_attrs()
    sid, wf = rq.seed_task(attrs)
    m = EMU.mark()
    with fault(method="GET", path=task_path(sid), exact=True,
               malformed_json=True, times=0, used=False):
        r = rq.requeue(sid)
    t.eq(r.status, 502, "status (body %r)" % r.body[:200])
    creates = [q for q in EMU.requests(m) if t.is_task_create(q)]
    t.eq(creates, [], "nothing created")


@t.test
def requeue_create_dropped():
    """The connection drops after the create was sent: 502, not retried,
    logged; a second click finds the claim and never makes two tasks."""
    rq.seed_token()
    attrs = rq.callback_attrs()
    sid, wf = rq.seed_task(attrs)
    m = EMU.mark()
    lm = t.log_mark("requeue-callback")
    with fault(method="POST", path=ENV.tasks_path, exact=True, drop=True):
        r, el = timed(rq.requeue, sid)
    t.eq(r.status, 502, "status (body %r)" % r.body[:200])
    creates = [q for q in EMU.requests(m) if t.is_task_create(q)]
    t.eq(len(creates), 1, "one create attempt")
    error_logged(lm, "requeue-callback", sid)
    within_deadline(el)


@t.test
def fetch_voicemail_media_429_then_ok():
    """429 with Retry-After on the media GET: retried, the bytes arrive."""
    tok = vm.token()
    data = os.urandom(4096)
    re_sid = vm.seed_recording(data=data)
    with fault(method="GET", path=vm.media_path(re_sid), exact=True,
               status=429, retry_after="1"):
        r = t.request("POST", vm.FV, form=[("Token", tok),
                                           ("recordingSid", re_sid)],
                      auth=None, signature=None)
    t.eq(r.status, 200, "status (body %r)" % r.body[:200])
    t.ok(r.header("Content-Type", "").startswith("application/json"),
         "JSON answer")


@t.test
def fetch_voicemail_media_slow_and_dropped():
    """Media slower than the deadline, then a dropped connection: each
    answers an error in time, never a hang."""
    tok = vm.token()
    re_sid = vm.seed_recording(size=1000)
    for kw in ({"delay_ms": int((DEADLINE_S + 1) * 1000), "times": 0},
               {"drop": True, "times": 0}):
        with fault(method="GET", path=vm.media_path(re_sid), exact=True,
                   used=False, **kw):
            r, el = timed(t.request, "POST", vm.FV,
                          form=[("Token", tok), ("recordingSid", re_sid)],
                          auth=None, signature=None)
        t.ok(r.status in (502, 503, 504), "status %d for %r" %
             (r.status, kw))
        within_deadline(el)


@t.test
def iam_down_every_flex_route():
    """IAM answers 503 (a fresh token, so no cache helps): every Flex
    route refuses with 503 in time and calls nothing else."""
    iam = "/v1/Accounts/%s/Tokens/validate" % ENV.account_sid
    routes = ("create-callback", "requeue-callback", "fetch-voicemail",
              "delete-voicemail")
    for name in routes:
        tok = "tok-down-" + t.unique_hex(16)
        m = EMU.mark()
        with fault(path=iam, status=503, times=0, used=False):
            r, el = timed(t.request, "POST",
                          "/features/callback-and-voicemail/flex/" + name,
                          form=[("Token", tok),
                                ("numberToCall", t.unique_number()),
                                ("numberToCallFrom", t.unique_number()),
                                ("taskSid", t.sid("WT")),
                                ("recordingSid", t.sid("RE"))],
                          auth=None, signature=None)
        t.eq(r.status, 503, "%s status (body %r)" % (name, r.body[:200]))
        within_deadline(el)
        others = [q for q in EMU.requests(m)
                  if not q.get("path", "").startswith(iam)]
        t.eq(others, [], "%s: nothing else called" % name)


if __name__ == "__main__":
    t.require_stack()
    t.main()
