#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests of /tr-event-callback and /tr-event-handler through the
real stack (docs/design/taskrouter-events.md).

Every event goes through nginx (Basic auth) to the taskrouter-events
FastCGI program, signed as TaskRouter signs it, and is answered 204 with
Content-Type application/json and no body.  What the program did is read
back from the Twilio emulator: the task fetch, the If-Match claim (only
Attributes, every other attribute kept, the marker added), the call update
of the no-agent redirect (inline Twiml), the cancel with its reason, the
outbound Calls.json create (every field, in order), the wrap-up complete.
Duplicate and concurrent copies of an event must give exactly one call
update or one call.  `deploy/local.sh test` configures two redirect rules
(FLEXHOOKS_FORWARD_RULES) and the default outbound attributes.

Exits 77 unless FLEXHOOKS_TEST_STACK=1.  Other scripts share the emulator,
so nothing is reset: tests mark the request log and find their own
requests by the SIDs and numbers they seeded.
"""

import json
import os
import sys
import threading
import urllib.parse
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402
from fhevents import (  # noqa: E402
    CB, PROG, TO_ATTR, FROM_ATTR, rules, event, is_204, placeholder,
    task_path, seed_redirect, drop_faults)

ENV = t.ENV
EMU = t.EMU
HANDLER = "/tr-event-handler"
AT_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
CLAIM_RE = r"^[0-9a-f]{32}$"
CALLS = "/2010-04-01/Accounts/%s/Calls" % ENV.account_sid
THRESHOLD = os.environ.get("FLEXHOOKS_AMD_SPEECH_THRESHOLD", "1000")
DEADLINE_MS = int(os.environ.get("FLEXHOOKS_EVENT_DEADLINE_MS") or
                  ENV.deadline_ms)


def seed_dialer(status="reserved", to=None, frm=None, extra=None):
    to = to if to is not None else t.unique_number()
    frm = frm if frm is not None else t.unique_number()
    attrs = OrderedDict([("type", "inbound"), ("practice", "Pacific Health"),
                         (TO_ATTR, to), (FROM_ATTR, frm),
                         ("call_sid", t.sid("CA"))])
    if extra:
        attrs.update(extra)
    out = EMU.seed({"tasks": [{"workflow_sid": t.sid("WW"),
                               "attributes": attrs,
                               "assignment_status": status,
                               "task_channel": "voice"}]})
    return out["tasks"][0], attrs


def about(reqs, *markers):
    return [r for r in reqs if any(t.mentions(r, m) for m in markers)]


def call_updates(reqs, call):
    return [r for r in reqs if r["method"] == "POST" and
            r["path"] == "%s/%s.json" % (CALLS, call)]


def call_creates(reqs, marker):
    return [r for r in reqs if r["method"] == "POST" and
            r["path"] == CALLS + ".json" and t.mentions(r, marker)]


def task_posts(reqs, task):
    return [r for r in reqs if r["method"] == "POST" and
            r["path"] == task_path(task)]


def attrs_of(req):
    return json.loads(t.first(t.form_of(req), "Attributes"),
                      object_pairs_hook=OrderedDict)


def stored_attrs(task):
    return json.loads(EMU.task(task)["attributes"],
                      object_pairs_hook=OrderedDict)


def summary(mark, task, timeout=5.0):
    _, _, hit = t.wait_log(mark, lambda o: ("redirect task '%s'" % task) in
                           (o.get("msg") or ""), prog=PROG, timeout=timeout)
    return hit


def kinds(reqs, task, call=None):
    """What reached Twilio for task: GET, CLAIM (attributes), CANCEL,
    COMPLETE, CALL (call update), CREATE (call create)."""
    out = []
    for r in reqs:
        if r["path"] == task_path(task):
            if r["method"] == "GET":
                out.append("GET")
            else:
                keys = [k for k, _ in t.form_of(r)]
                if keys == ["Attributes"]:
                    out.append("CLAIM")
                elif ("AssignmentStatus", "canceled") in t.form_of(r):
                    out.append("CANCEL")
                elif ("AssignmentStatus", "completed") in t.form_of(r):
                    out.append("COMPLETE")
                else:
                    out.append("POST?")
        elif call and r["path"] == "%s/%s.json" % (CALLS, call):
            out.append("CALL")
        elif r["path"] == CALLS + ".json" and t.mentions(r, task):
            out.append("CREATE")
        elif r["path"].startswith(task_path(task) + "/Reservations/"):
            out.append("REJECT")
    return out


# --------------------------------------------------------------------------
# no-agent redirect
# --------------------------------------------------------------------------


def check_claim(req, attrs, key):
    """A claim write: If-Match, only Attributes, every other attribute kept
    with its type, the marker added."""
    t.ok(t.header_of(req, "If-Match"), "claim carries If-Match")
    t.eq([k for k, _ in t.form_of(req)], ["Attributes"], "claim form keys")
    got = attrs_of(req)
    for k, v in attrs.items():
        t.eq(got.get(k), v, "attribute %s kept" % k)
        t.eq(type(got.get(k)), type(v), "attribute %s type" % k)
    t.ok(key in got, "marker %s added: %r" % (key, got))
    return got[key]


@t.test
def redirect_happy_path():
    queue, number = placeholder()
    task, call, attrs = seed_redirect()
    ev_sid = t.sid("EV")
    mark, lmark = EMU.mark(), t.log_mark(PROG)
    r = event("task-queue.entered", task, attrs, TaskQueueSid=queue,
              TaskQueueName="[TR Call Redirection] Call Redirection",
              Sid=ev_sid)
    is_204(r)
    reqs = about(EMU.requests(mark), task, call)
    t.eq(kinds(reqs, task, call), ["GET", "CLAIM", "CALL", "CANCEL"],
         "requests in order")
    for q in reqs:
        t.eq(t.header_of(q, "Authorization"), ENV.twilio_basic(),
             "Authorization")
    mk = check_claim(reqs[1], attrs, "flexhooks_redirect")
    t.eq(list(mk.keys()), ["to", "event_sid", "claim", "at"], "marker keys")
    t.eq(mk["to"], number, "marker to")
    t.eq(mk["event_sid"], ev_sid, "marker event_sid")
    t.match(CLAIM_RE, mk["claim"], "claim")
    t.match(AT_RE, mk["at"], "at")
    # the call update: inline TwiML, exactly the twiml-redirect-call document
    t.eq(t.form_of(reqs[2]),
         [("Twiml", "<Response><Dial>%s</Dial></Response>" % number)],
         "call update form")
    # the cancel: no If-Match, the reason names the number
    t.eq(t.header_of(reqs[3], "If-Match"), None, "cancel without If-Match")
    t.eq(t.form_of(reqs[3]),
         [("AssignmentStatus", "canceled"),
          ("Reason", "Redirected to %s (no agents available)" % number)],
         "cancel form")
    st = EMU.task(task)
    t.eq(st["assignment_status"], "canceled", "task canceled")
    t.eq(st["reason"], "Redirected to %s (no agents available)" % number,
         "reason")
    t.eq(stored_attrs(task)["flexhooks_redirect"], mk, "stored marker")
    hit = summary(lmark, task)
    t.ok(hit is not None, "summary line")
    t.ok("result moved" in hit["msg"] and call in hit["msg"] and
         number not in hit["msg"], "summary: %r" % hit["msg"])


@t.test
def redirect_second_rule_on_handler_path():
    queue, number = placeholder(1)
    task, call, attrs = seed_redirect(status="reserved", queue=queue)
    mark = EMU.mark()
    is_204(event("task-queue.entered", task, attrs, path=HANDLER,
                 TaskQueueSid=queue))
    reqs = about(EMU.requests(mark), task, call)
    t.eq(kinds(reqs, task, call), ["GET", "CLAIM", "CALL", "CANCEL"],
         "requests")
    t.eq(t.form_of(reqs[2]),
         [("Twiml", "<Response><Dial>%s</Dial></Response>" % number)],
         "the second rule's number")


@t.test
def non_placeholder_queue_ignored():
    task, call, attrs = seed_redirect(queue=t.sid("WQ"))
    mark = EMU.mark()
    is_204(event("task-queue.entered", task, attrs,
                 TaskQueueSid=t.sid("WQ")))
    is_204(event("task-queue.entered", task, attrs))     # no TaskQueueSid
    t.eq(about(EMU.requests(mark), task, call), [], "nothing called")
    t.eq(EMU.task(task)["assignment_status"], "pending", "task untouched")


@t.test
def task_created_for_placeholder_ignored():
    queue = placeholder()[0]
    task, call, attrs = seed_redirect()
    mark, lmark = EMU.mark(), t.log_mark(PROG)
    ev_sid = t.sid("EV")
    is_204(event("task.created", task, attrs, TaskQueueSid=queue,
                 Sid=ev_sid))
    t.eq(about(EMU.requests(mark), task, call), [], "nothing called")
    _, _, hit = t.wait_log(lmark, lambda o: "event ignored" in
                           (o.get("msg") or "") and ev_sid in o["msg"],
                           prog=PROG)
    t.ok(hit is not None and "task.created" in hit["msg"],
         "one 'event ignored' line: %r" % hit)


@t.test
def other_event_types_ignored():
    queue = placeholder()[0]
    task, attrs = seed_dialer()
    mark = EMU.mark()
    for etype in ("task.updated", "task.canceled", "reservation.accepted",
                  "reservation.rejected", "worker.activity.update",
                  "task-queue.moved", "Reservation.Created", ""):
        is_204(event(etype, task, attrs, TaskQueueSid=queue,
                     ReservationSid=t.sid("WR")))
    # no EventType at all
    r = t.request("POST", CB, form=[("AccountSid", ENV.account_sid),
                                    ("WorkspaceSid", ENV.workspace_sid),
                                    ("TaskSid", task)])
    is_204(r)
    t.eq(about(EMU.requests(mark), task), [], "nothing called")


@t.test
def foreign_workspace_ignored():
    queue = placeholder()[0]
    task, call, attrs = seed_redirect()
    mark = EMU.mark()
    form = [("EventType", "task-queue.entered"),
            ("AccountSid", ENV.account_sid),
            ("WorkspaceSid", t.sid("WS")), ("TaskSid", task),
            ("TaskQueueSid", queue),
            ("TaskAttributes", t.dumps_plain(attrs))]
    is_204(t.request("POST", CB, form=form))
    t.eq(about(EMU.requests(mark), task, call), [], "nothing called")


@t.test
def bad_task_attributes_call_nothing():
    queue = placeholder()[0]
    task, call, _ = seed_redirect()
    dtask, _ = seed_dialer()
    mark, lmark = EMU.mark(), t.log_mark(PROG)
    ev_sid = t.sid("EV")
    for bad in ("{\"call_sid\":", "[]", "\"x\"", "null", "{}}"):
        is_204(event("task-queue.entered", task, bad, TaskQueueSid=queue,
                     Sid=ev_sid))
        is_204(event("reservation.created", dtask, bad,
                     ReservationSid=t.sid("WR")))
        is_204(event("reservation.wrapup", dtask, bad))
    is_204(event("reservation.created", dtask, None,
                 ReservationSid=t.sid("WR")))
    t.eq(about(EMU.requests(mark), task, call, dtask), [], "nothing called")
    _, objs, hit = t.wait_log(
        lmark, lambda o: o.get("level") == "error" and ev_sid in
        (o.get("msg") or ""), prog=PROG)
    t.ok(hit is not None, "error line")
    t.ok("TaskAttributes" in hit["msg"] and task in hit["msg"] and
         "task-queue.entered" in hit["msg"], "line names Sid, EventType and "
         "TaskSid: %r" % hit["msg"])
    acc = [o for o in t.access_lines(objs, CB)]
    t.ok(acc and all(o["status"] == 204 for o in acc), "access lines 204")


@t.test
def no_call_sid_skipped():
    queue = placeholder()[0]
    out = EMU.seed({"tasks": [{"workflow_sid": t.sid("WW"),
                               "attributes": {"channel": "chat"},
                               "assignment_status": "pending"}]})
    task = out["tasks"][0]
    mark, lmark = EMU.mark(), t.log_mark(PROG)
    is_204(event("task-queue.entered", task, {"channel": "chat"},
                 TaskQueueSid=queue))
    t.eq(about(EMU.requests(mark), task), [], "nothing called")
    _, _, hit = t.wait_log(lmark, lambda o: "redirect skipped: no call_sid"
                           in (o.get("msg") or "") and task in o["msg"],
                           prog=PROG)
    t.ok(hit is not None, "skip line")


@t.test
def ended_call_still_cancels():
    queue, number = placeholder()
    task, call, attrs = seed_redirect(call_status="completed")
    mark, lmark = EMU.mark(), t.log_mark(PROG)
    is_204(event("task-queue.entered", task, attrs, TaskQueueSid=queue))
    reqs = about(EMU.requests(mark), task, call)
    t.eq(kinds(reqs, task, call), ["GET", "CLAIM", "CALL", "CANCEL"],
         "21220 is not retried; the task is still canceled")
    reason = "Caller left before redirect to %s (no agents available)" % \
        number
    t.eq(t.form_of(reqs[3]), [("AssignmentStatus", "canceled"),
                              ("Reason", reason)], "cancel form")
    t.eq(EMU.task(task)["reason"], reason, "stored reason")
    hit = summary(lmark, task)
    t.ok(hit is not None and "result caller-gone" in hit["msg"] and
         "21220" in hit["msg"], "summary: %r" % hit)
    # a call Twilio no longer knows (404) is the same
    task2, _, attrs2 = seed_redirect()
    attrs2["call_sid"] = gone = t.sid("CA")
    EMU.seed({"task_status": {task2: {"attributes": attrs2}}})
    mark = EMU.mark()
    is_204(event("task-queue.entered", task2, attrs2, TaskQueueSid=queue))
    t.eq(kinds(about(EMU.requests(mark), task2, gone), task2, gone),
         ["GET", "CLAIM", "CALL", "CANCEL"], "404 call")
    t.eq(EMU.task(task2)["assignment_status"], "canceled", "canceled")


@t.test
def repeated_event_one_redirect():
    queue = placeholder()[0]
    task, call, attrs = seed_redirect()
    mark, lmark = EMU.mark(), t.log_mark(PROG)
    ev_sid = t.sid("EV")
    for _ in range(3):
        is_204(event("task-queue.entered", task, attrs, TaskQueueSid=queue,
                     Sid=ev_sid))
    # another event asking for the same work (re-entry into the queue)
    is_204(event("task-queue.entered", task, attrs, TaskQueueSid=queue))
    reqs = EMU.requests(mark)
    t.eq(len(call_updates(reqs, call)), 1, "one call update")
    t.eq(kinds(about(reqs, task, call), task, call),
         ["GET", "CLAIM", "CALL", "CANCEL", "GET", "GET", "GET"],
         "the copies only read the task")
    _, objs, _ = t.wait_log(lmark, lambda o: False, prog=PROG, timeout=0.5)
    dup = [o for o in objs if ("redirect task '%s'" % task) in
           (o.get("msg") or "") and "result duplicate" in o["msg"]]
    t.eq(len(dup), 3, "three duplicate summaries")


def concurrently(n, fn):
    errors, answers = [], []
    lock = threading.Lock()

    def run():
        try:
            r = fn()
            with lock:
                answers.append(r)
        except Exception as e:  # noqa: BLE001 - reported below
            with lock:
                errors.append(e)
    threads = [threading.Thread(target=run) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    t.eq(errors, [], "request errors")
    for r in answers:
        is_204(r)
    t.eq(len(answers), n, "answers")


def same_etag_race(task, n):
    """Hold the answers to the first n reads of the task for 1.5 s (the
    state is read when each request arrives), so that n copies handled by
    several processes all get the same ETag before any of them writes:
    only If-Match keeps them from all claiming.  The test stack runs
    taskrouter-events with several processes (local.sh)."""
    EMU.fault(method="GET", path=task_path(task), exact=True,
              answer_delay_ms=1500, times=n)


def claim_writes(reqs, task):
    return [k for k in kinds(reqs, task) if k == "CLAIM"]


@t.test
def concurrent_copies_one_call_update():
    queue = placeholder()[0]
    task, call, attrs = seed_redirect()
    mark = EMU.mark()
    ev_sid = t.sid("EV")
    same_etag_race(task, 3)
    concurrently(3, lambda: event("task-queue.entered", task, attrs,
                                  TaskQueueSid=queue, Sid=ev_sid))
    reqs = EMU.requests(mark)
    t.ok(len(claim_writes(reqs, task)) >= 2,
         "copies raced on one ETag (claim writes: %d)" %
         len(claim_writes(reqs, task)))
    t.eq(len(call_updates(reqs, call)), 1, "exactly one call update")
    t.eq(EMU.task(task)["assignment_status"], "canceled", "canceled")


@t.test
def claim_write_503_is_retried():
    """The claim is conditional (If-Match), so the client sends it again
    after a 503; the call still moves once."""
    queue = placeholder()[0]
    task, call, attrs = seed_redirect()
    EMU.fault(method="POST", path=task_path(task), exact=True, status=503,
              times=1)
    mark = EMU.mark()
    try:
        is_204(event("task-queue.entered", task, attrs, TaskQueueSid=queue))
    finally:
        drop_faults(task_path(task))
    reqs = about(EMU.requests(mark), task, call)
    t.eq(kinds(reqs, task, call), ["GET", "CLAIM", "CLAIM", "CALL",
                                   "CANCEL"], "requests")
    t.eq(t.header_of(reqs[1], "If-Match"), t.header_of(reqs[2], "If-Match"),
         "the same conditional write")
    t.eq(EMU.task(task)["assignment_status"], "canceled", "canceled")


@t.test
def claim_412_reads_again():
    """Someone else writes the task between the read and the claim: the
    next round reads it again and still claims once."""
    queue = placeholder()[0]
    task, call, attrs = seed_redirect()
    EMU.fault(method="POST", path=task_path(task), exact=True, status=412,
              times=1)
    mark = EMU.mark()
    try:
        is_204(event("task-queue.entered", task, attrs, TaskQueueSid=queue))
    finally:
        drop_faults(task_path(task))
    t.eq(kinds(about(EMU.requests(mark), task, call), task, call),
         ["GET", "CLAIM", "GET", "CLAIM", "CALL", "CANCEL"], "requests")


@t.test
def redirect_skips_assigned_task():
    queue = placeholder()[0]
    task, call, attrs = seed_redirect(status="assigned")
    mark = EMU.mark()
    is_204(event("task-queue.entered", task, attrs, TaskQueueSid=queue))
    t.eq(kinds(about(EMU.requests(mark), task, call), task, call), ["GET"],
         "an agent has it: read only")


# --------------------------------------------------------------------------
# outbound dialer
# --------------------------------------------------------------------------


def q(s):
    return urllib.parse.quote(s, safe="")


def expected_create(to, frm, res, task):
    url = "%s/dial-queue?queue=%s&from=%s&task=%s" % (ENV.public_url, res,
                                                     q(frm), task)
    cb = "%s/status-callback?reservation=%s&task=%s" % (ENV.public_url, res,
                                                        task)
    pairs = [("To", to), ("From", frm), ("Url", url), ("Method", "POST"),
             ("StatusCallback", cb), ("StatusCallbackMethod", "POST"),
             ("StatusCallbackEvent", "answered"),
             ("StatusCallbackEvent", "completed"),
             ("MachineDetection", "Enable")]
    if THRESHOLD != "":
        pairs.append(("MachineDetectionSpeechThreshold", THRESHOLD))
    return pairs, "&".join("%s=%s" % (k, q(v)) for k, v in pairs)


@t.test
def outbound_places_one_call():
    task, attrs = seed_dialer()
    res, ev_sid = t.sid("WR"), t.sid("EV")
    mark, lmark = EMU.mark(), t.log_mark(PROG)
    is_204(event("reservation.created", task, attrs, ReservationSid=res,
                 Sid=ev_sid, WorkerSid=t.sid("WK"),
                 WorkerName="Pacific Health Main"))
    reqs = about(EMU.requests(mark), task)
    t.eq(kinds(reqs, task), ["GET", "CLAIM", "CREATE"], "requests")
    mk = check_claim(reqs[1], attrs, "flexhooks_outbound")
    t.eq(list(mk.keys()), [res], "one reservation in the marker")
    t.eq(list(mk[res].keys()), ["event_sid", "claim", "at"], "entry keys")
    t.eq(mk[res]["event_sid"], ev_sid, "event_sid")
    t.match(CLAIM_RE, mk[res]["claim"], "claim")
    create = reqs[2]
    pairs, body = expected_create(attrs[TO_ATTR], attrs[FROM_ATTR], res,
                                  task)
    t.eq(t.form_of(create), pairs, "Calls.json fields, in order")
    t.eq(create["body"], body, "Calls.json body byte for byte")
    t.eq(t.header_of(create, "Content-Type"),
         "application/x-www-form-urlencoded", "Content-Type")
    t.eq(t.header_of(create, "Authorization"), ENV.twilio_basic(),
         "Authorization")
    t.ok("%2B" in create["body"] and "%252B" in create["body"],
         "From encoded inside Url")
    _, _, hit = t.wait_log(lmark, lambda o: "outbound call placed" in
                           (o.get("msg") or "") and res in o["msg"],
                           prog=PROG)
    t.ok(hit is not None, "placed line")
    t.ok(attrs[TO_ATTR] not in hit["msg"], "number masked")
    # the URLs flexhooks handed Twilio are signature-only routes: they
    # answer a correctly signed request (no Basic credentials needed)
    url = dict(pairs)["Url"]
    target = url[len(ENV.public_url):]
    r = t.request("POST", target, auth=None,
                  form=[("CallSid", t.sid("CA")), ("AnsweredBy", "human")])
    t.eq(r.status, 200, "dial-queue answers the Url")
    t.ok(("reservationSid=\"%s\"" % res).encode() in r.body, "bridge")


@t.test
def outbound_repeated_and_concurrent_one_call():
    task, attrs = seed_dialer()
    res, ev_sid = t.sid("WR"), t.sid("EV")
    mark = EMU.mark()
    for _ in range(2):
        is_204(event("reservation.created", task, attrs, ReservationSid=res,
                     Sid=ev_sid))
    concurrently(5, lambda: event("reservation.created", task, attrs,
                                  ReservationSid=res, Sid=ev_sid))
    t.eq(len(call_creates(EMU.requests(mark), task)), 1, "one call")
    # copies that all read the same ETag: If-Match lets one through
    task2, attrs2 = seed_dialer()
    res2 = t.sid("WR")
    mark = EMU.mark()
    same_etag_race(task2, 3)
    concurrently(3, lambda: event("reservation.created", task2, attrs2,
                                  ReservationSid=res2))
    reqs = EMU.requests(mark)
    t.ok(len(claim_writes(reqs, task2)) >= 2,
         "copies raced on one ETag (claim writes: %d)" %
         len(claim_writes(reqs, task2)))
    t.eq(len(call_creates(reqs, task2)), 1, "one call")
    # a new reservation of the same task is new work: one more call
    mark = EMU.mark()
    is_204(event("reservation.created", task2, attrs2,
                 ReservationSid=t.sid("WR")))
    t.eq(len(call_creates(EMU.requests(mark), task2)), 1,
         "one more call for a new reservation")


@t.test
def outbound_invalid_numbers_call_nothing():
    mark = EMU.mark()
    tasks = []
    for to, frm in (("14158786346", "+15005550006"),
                    ("+1 415 878 6346", "+15005550006"),
                    ("+14158786346", "15005550006"),
                    ("+0123", "+15005550006"), (1415, "+15005550006")):
        task, attrs = seed_dialer(to=to, frm=frm)
        tasks.append(task)
        is_204(event("reservation.created", task, attrs,
                     ReservationSid=t.sid("WR")))
    # from missing
    task, attrs = seed_dialer()
    del attrs[FROM_ATTR]
    tasks.append(task)
    is_204(event("reservation.created", task, attrs,
                 ReservationSid=t.sid("WR")))
    # a malformed ReservationSid
    task, attrs = seed_dialer()
    tasks.append(task)
    is_204(event("reservation.created", task, attrs, ReservationSid="WR1"))
    t.eq(about(EMU.requests(mark), *tasks), [], "nothing called")


@t.test
def outbound_ordinary_task_ignored():
    out = EMU.seed({"tasks": [{"workflow_sid": t.sid("WW"),
                               "attributes": {"type": "inbound"},
                               "assignment_status": "reserved"}]})
    task = out["tasks"][0]
    mark = EMU.mark()
    is_204(event("reservation.created", task, {"type": "inbound"},
                 ReservationSid=t.sid("WR")))
    t.eq(about(EMU.requests(mark), task), [], "nothing called")


@t.test
def outbound_trimmed_and_nested():
    """Surrounding whitespace is trimmed; nothing else is normalised."""
    to = t.unique_number()
    task, attrs = seed_dialer(to="  %s\t" % to)
    res = t.sid("WR")
    mark = EMU.mark()
    is_204(event("reservation.created", task, attrs, ReservationSid=res))
    creates = call_creates(EMU.requests(mark), task)
    t.eq(len(creates), 1, "one call")
    t.eq(t.first(t.form_of(creates[0]), "To"), to, "trimmed To")


@t.test
def outbound_needs_reserved_task():
    task, attrs = seed_dialer(status="pending")
    mark = EMU.mark()
    is_204(event("reservation.created", task, attrs,
                 ReservationSid=t.sid("WR")))
    t.eq(kinds(about(EMU.requests(mark), task), task), ["GET"],
         "read only, no call")


# --------------------------------------------------------------------------
# wrap-up
# --------------------------------------------------------------------------


@t.test
def wrapup_completes_dialer_task():
    task, attrs = seed_dialer(status="wrapping")
    mark = EMU.mark()
    is_204(event("reservation.wrapup", task, attrs,
                 ReservationSid=t.sid("WR")))
    reqs = about(EMU.requests(mark), task)
    t.eq(kinds(reqs, task), ["COMPLETE"], "one complete")
    t.eq(t.form_of(reqs[0]), [("AssignmentStatus", "completed"),
                              ("Reason", "Outbound call ended")], "form")
    t.eq(t.header_of(reqs[0], "If-Match"), None, "no If-Match")
    st = EMU.task(task)
    t.eq(st["assignment_status"], "completed", "completed")
    t.eq(st["reason"], "Outbound call ended", "reason")
    # a repeat: 400, then a fetch shows it completed: done
    mark = EMU.mark()
    is_204(event("reservation.wrapup", task, attrs))
    t.eq(kinds(about(EMU.requests(mark), task), task), ["COMPLETE", "GET"],
         "repeat")


@t.test
def wrapup_ignores_other_tasks():
    out = EMU.seed({"tasks": [{"workflow_sid": t.sid("WW"),
                               "attributes": {"type": "inbound",
                                              "name": "x"},
                               "assignment_status": "wrapping"}]})
    task = out["tasks"][0]
    mark = EMU.mark()
    is_204(event("reservation.wrapup", task, {"type": "inbound",
                                              "name": "x"}))
    t.eq(about(EMU.requests(mark), task), [], "nothing called")
    t.eq(EMU.task(task)["assignment_status"], "wrapping", "untouched")


# --------------------------------------------------------------------------
# failures and the deadline
# --------------------------------------------------------------------------


@t.test(tags=("slow",))
def twilio_503_still_204():
    queue = placeholder()[0]
    task, call, attrs = seed_redirect()
    EMU.fault(method="GET", path=task_path(task), status=503, times=50)
    try:
        mark = EMU.mark()
        r = event("task-queue.entered", task, attrs, TaskQueueSid=queue)
        is_204(r)
        t.ok(r.elapsed < 15.0, "answered in %.1fs" % r.elapsed)
        reqs = EMU.requests(mark)
        t.eq(call_updates(reqs, call), [], "no call update")
        t.ok(len([q for q in about(reqs, task) if q["method"] == "GET"]) >
             1, "the fetch was retried")
    finally:
        drop_faults(task_path(task))
    t.eq(EMU.task(task)["assignment_status"], "pending", "task left alone")


@t.test(tags=("slow",))
def slow_twilio_past_deadline_still_204():
    queue = placeholder()[0]
    task, call, attrs = seed_redirect()
    delay = DEADLINE_MS + 4000
    EMU.fault(method="GET", path=task_path(task), delay_ms=delay, times=1)
    try:
        mark, lmark = EMU.mark(), t.log_mark(PROG)
        r = event("task-queue.entered", task, attrs, TaskQueueSid=queue)
        is_204(r)
        t.ok(r.elapsed < 15.0, "answered in %.1fs" % r.elapsed)
        t.ok(r.elapsed < delay / 1000.0, "did not wait for Twilio")
        t.eq(call_updates(EMU.requests(mark), call), [], "no call update")
        hit = summary(lmark, task)
        t.ok(hit is not None and "result deadline" in hit["msg"],
             "deadline logged: %r" % hit)
    finally:
        drop_faults(task_path(task))


@t.test(tags=("slow",))
def outbound_call_503_not_retried():
    task, attrs = seed_dialer()
    res = t.sid("WR")
    # only this task's create: its Url carries the task SID
    EMU.fault(method="POST", path=CALLS + ".json", status=503, times=1,
              query_absent="never-in-a-query")
    mark, lmark = EMU.mark(), t.log_mark(PROG)
    try:
        is_204(event("reservation.created", task, attrs, ReservationSid=res))
    finally:
        EMU.remove_faults(lambda f: f.get("query_absent") ==
                          "never-in-a-query")
    _, _, hit = t.wait_log(lmark, lambda o: "cannot place outbound call" in
                           (o.get("msg") or "") and res in o["msg"],
                           prog=PROG)
    t.ok(hit is not None and "503" in hit["msg"], "error line: %r" % hit)
    creates = [q for q in EMU.requests(mark) if q["method"] == "POST" and
               q["path"] == CALLS + ".json"]
    mine = [q for q in creates if t.mentions(q, task)]
    t.eq(len(mine), 1, "a create is not retried on 503")
    t.eq(kinds(about(EMU.requests(mark), task), task),
         ["GET", "CLAIM", "CREATE"], "no reject after a 5xx")
    # the marker stays: a repeat places nothing
    mark = EMU.mark()
    is_204(event("reservation.created", task, attrs, ReservationSid=res))
    t.eq(call_creates(EMU.requests(mark), task), [], "no second call")


@t.test
def outbound_call_4xx_rejects_only_when_configured():
    task, attrs = seed_dialer()
    res = t.sid("WR")
    EMU.fault(method="POST", path=CALLS + ".json", exact=True, status=400,
              code=21211, times=1, query_absent="4xx-" + res)
    mark, lmark = EMU.mark(), t.log_mark(PROG)
    try:
        is_204(event("reservation.created", task, attrs, ReservationSid=res))
    finally:
        EMU.remove_faults(lambda f: f.get("query_absent") == "4xx-" + res)
    _, _, hit = t.wait_log(lmark, lambda o: "cannot place outbound call" in
                           (o.get("msg") or "") and res in o["msg"],
                           prog=PROG)
    t.ok(hit is not None and "21211" in hit["msg"], "error line: %r" % hit)
    want = ["GET", "CLAIM", "CREATE"]
    if os.environ.get("FLEXHOOKS_OUTBOUND_REJECT_ON_FAILURE") == "true":
        want.append("REJECT")
    t.eq(kinds(about(EMU.requests(mark), task), task), want, "requests")


# --------------------------------------------------------------------------
# transport (docs/design/taskrouter-events.md#event-callback)
# --------------------------------------------------------------------------


@t.test
def transport_errors():
    form = [("EventType", "task.created"), ("AccountSid", ENV.account_sid),
            ("WorkspaceSid", ENV.workspace_sid)]
    r = t.request("GET", CB, query=form)
    t.eq(r.status, 405, "GET")
    t.eq(r.header("Allow"), "POST", "Allow")
    r = t.request("POST", CB, form=form, auth=None)
    t.eq(r.status, 401, "no Basic auth")
    t.ok(r.header("WWW-Authenticate"), "Basic challenge")
    r = t.request("POST", CB, form=form, auth=("nobody", "wrong"))
    t.eq(r.status, 401, "wrong Basic credentials")
    r = t.request("POST", CB, form=form, signature="RSOYDt4T1cUTdK1PDd93/"
                  "VVr8B8=")
    t.is_json_error(r, 403, "invalid signature")
    r = t.request("POST", CB, form=form, signature=None)
    t.is_json_error(r, 403, "invalid signature")
    r = t.request("POST", HANDLER, form=form, token="not-the-token")
    t.eq(r.status, 403, "signed with another token")
    for ctype, body in (("application/json",
                         b'{"EventType":"task.created"}'),
                        ("text/plain", b"EventType=task.created")):
        r = t.request("POST", CB, body=body, content_type=ctype)
        t.eq(r.status, 400, "%s body" % ctype)
    r = t.request("POST", CB, body=b"EventType=%zz", content_type=
                  "application/x-www-form-urlencoded", signature="x")
    t.eq(r.status, 400, "malformed form")
    # signed and well formed: 204 even for an event nobody handles
    is_204(t.request("POST", CB, form=form))
    is_204(t.request("POST", HANDLER, form=form))


if __name__ == "__main__":
    t.require_stack()
    t.main()
