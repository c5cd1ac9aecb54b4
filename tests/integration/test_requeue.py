#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests of flex/requeue-callback through the real stack.

POST /features/callback-and-voicemail/flex/requeue-callback through nginx
(Flex token in the form body) to the requeue-callback FastCGI program,
which talks to the Twilio emulator
(docs/design/callbacks-and-voicemail.md#requeue).  Each test seeds its own tasks and a Flex token in the emulator,
asserts the HTTP answer (status, exact body) and what the emulator
received: the fetch, the claim (If-Match, only Attributes, the
flexhooks_followup marker), the create (field names, order and values, the
attributes byte for byte as the task builder derives them) and the task_sid
written back to the marker.

Run by `deploy/local.sh test` (make check); exits 77 unless
FLEXHOOKS_TEST_STACK=1.  Other scripts share the emulator, so nothing is
reset: every test marks the request log first and finds its own requests by
the SIDs it seeded.
"""

import copy
import datetime
import os
import sys
import threading
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402
from fhtest import fault  # noqa: E402
from fhrequeue import (  # noqa: E402
    PATH, TOKEN, od, seed_token, callback_attrs, seed_task, requeue,
    check_success)

ENV = t.ENV
EMU = t.EMU
MARKER = "flexhooks_followup"
AT_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
CREATE_KEYS = ["Timeout", "Priority", "TaskChannel", "WorkflowSid",
               "Attributes"]


def utc(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def check_error(resp, status, message, code=None, more_info=None):
    t.is_json_error(resp, status, message, code, more_info)
    t.eq(resp.header("Cache-Control"), "no-store", "Cache-Control")


def task_path(sid):
    return "%s/%s" % (ENV.tasks_path, sid)


def about(reqs, sid, conv=None):
    """The Twilio requests about task sid: its fetches and updates, and
    the creates whose form mentions conv (the conversation_id the new
    task inherits; sid unless the task has one of its own)."""
    conv = conv or sid
    out = []
    for r in reqs:
        if r.get("path") == task_path(sid):
            out.append(r)
        elif t.is_task_create(r) and any(conv in v
                                         for _, v in t.form_of(r)):
            out.append(r)
    return out


def kinds(reqs, sid, conv=None):
    """A compact picture of what reached Twilio for sid: "GET", "UPDATE"
    (a POST to the task), "CREATE"."""
    out = []
    for r in about(reqs, sid, conv):
        if r.get("method") == "GET":
            out.append("GET")
        elif r.get("path") == task_path(sid):
            out.append("UPDATE")
        else:
            out.append("CREATE")
    return out


def check_twilio_headers(req):
    t.eq(t.header_of(req, "Authorization"), ENV.twilio_basic(),
         "Authorization to Twilio")
    t.ok((t.header_of(req, "User-Agent") or "").startswith("flexhooks/"),
         "User-Agent")


def check_update(req, if_match):
    """A conditional attributes update: If-Match, only Attributes; returns
    the parsed attributes."""
    check_twilio_headers(req)
    t.eq(t.header_of(req, "If-Match"), if_match, "If-Match")
    form = t.form_of(req)
    t.eq([k for k, _ in form], ["Attributes"], "update form keys")
    return t.loads_ordered(t.first(form, "Attributes"))


def expected_attrs(orig, orig_sid):
    """Section 4 with the fetched task as the original and no overrides."""
    a = copy.deepcopy(orig)
    ocb = orig.get("callBackData")
    ocb = ocb if isinstance(ocb, dict) else od()
    to_call = ocb.get("numberToCall")
    if not isinstance(to_call, str):
        to_call = None
    att = ocb.get("attempts")
    if isinstance(att, bool):
        att = None
    if isinstance(att, str) and att.isdigit():
        att = int(att)
    attempts = att + 1 if isinstance(att, int) else 0
    rec = ocb.get("recordingSid")
    if to_call is not None:
        a["from"] = to_call
        a["name"] = to_call
    a["taskType"] = "voicemail" if isinstance(rec, str) else "callback"
    cb = copy.deepcopy(ocb)
    if to_call is not None:
        cb["numberToCall"] = to_call
    tz = ocb.get("mainTimeZone")
    cb["mainTimeZone"] = tz if isinstance(tz, str) else ENV.main_timezone
    cb["utcDateTimeReceived"] = ocb["utcDateTimeReceived"]
    dele = ocb.get("isDeleted", False)
    if isinstance(dele, str):
        dele = dele.lower() == "true"
    cb["isDeleted"] = bool(dele)
    cb["attempts"] = attempts
    a["callBackData"] = cb
    a["direction"] = "inbound"
    conv = orig.get("conversations")
    conv = copy.deepcopy(conv) if isinstance(conv, dict) else od()
    if not isinstance(conv.get("conversation_id"), str):
        conv["conversation_id"] = orig_sid
    conv.pop("abandoned", None)
    conv.pop("hang_up_by", None)
    a["conversations"] = conv
    for k in ("call_sid", "reservation_attributes", "conference"):
        a.pop(k, None)
    for k in [k for k in a if k.startswith("flexhooks_")]:
        del a[k]
    return a


def check_create(req, orig, orig_sid, wf, timeout="3600", priority="5",
                 channel="voice"):
    """The create: field names in order, routing kept, attributes byte
    for byte; returns the parsed attributes."""
    check_twilio_headers(req)
    t.eq(t.header_of(req, "If-Match"), None, "If-Match on a create")
    form = t.form_of(req)
    t.eq([k for k, _ in form], CREATE_KEYS, "create form keys and order")
    t.eq(t.first(form, "Timeout"), timeout, "Timeout")
    t.eq(t.first(form, "Priority"), priority, "Priority")
    t.eq(t.first(form, "TaskChannel"), channel, "TaskChannel")
    t.eq(t.first(form, "WorkflowSid"), wf, "WorkflowSid")
    raw = t.first(form, "Attributes")
    want = expected_attrs(orig, orig_sid)
    t.eq(raw, t.dumps_plain(want), "Attributes bytes")
    got = t.loads_ordered(raw)
    t.ok(type(got["callBackData"]["attempts"]) is int, "attempts is an "
         "integer")
    t.ok(not any(k.startswith("flexhooks_") for k in got), "a flexhooks_ "
         "key was copied")
    t.ok("call_sid" not in got, "call_sid was copied")
    return got


def stored_attrs(sid):
    task = EMU.task(sid)
    t.ok(task is not None, "emulator has no task %s" % sid)
    return t.loads_ordered(task["attributes"]), task


def full_requeue(sid, wf, orig, timeout="3600", priority="5",
                 channel="voice"):
    """Requeue sid, which has no marker, and check every request of the
    requeue sequence (docs/design/callbacks-and-voicemail.md#requeue).  Returns the new SID."""
    etag0 = EMU.task(sid)["etag"]
    conv = (orig.get("conversations") or {}).get("conversation_id") or sid
    mark = EMU.mark()
    new = check_success(requeue(sid))
    reqs = EMU.requests(mark)
    t.eq(kinds(reqs, sid, conv), ["GET", "UPDATE", "CREATE", "UPDATE"],
         "Twilio requests for %s" % sid)
    mine = about(reqs, sid, conv)
    check_twilio_headers(mine[0])
    claimed = check_update(mine[1], etag0)
    mk = claimed.get(MARKER)
    t.ok(isinstance(mk, dict), "no marker in the claim")
    t.eq(list(mk.keys()), ["type", "claim", "at"], "marker keys")
    t.eq(mk["type"], "requeue", "marker type")
    t.match(r"^[0-9a-f]{32}$", mk["claim"], "marker claim")
    t.match(AT_RE, mk["at"], "marker at")
    at = datetime.datetime.strptime(mk["at"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    t.ok(abs((now_utc() - at).total_seconds()) < 120, "marker at %s is "
         "not now" % mk["at"])
    rest = OrderedDict((k, v) for k, v in claimed.items() if k != MARKER)
    t.eq(t.dumps_plain(rest), t.dumps_plain(orig), "claim kept the other "
         "attributes")
    check_create(mine[2], orig, sid, wf, timeout, priority, channel)
    recorded = check_update(mine[3], str(int(etag0) + 1))
    want = copy.deepcopy(claimed)
    want[MARKER]["task_sid"] = new
    t.eq(t.dumps_plain(recorded), t.dumps_plain(want), "task_sid record")
    # what the emulator now holds
    a, task = stored_attrs(new)
    t.eq(task["assignment_status"], "pending", "new task status")
    t.eq(task["workflow_sid"], wf, "new task workflow")
    t.eq(str(task["timeout"]), timeout, "new task timeout")
    t.eq(str(task["priority"]), priority, "new task priority")
    t.eq(task["task_channel_unique_name"], channel, "new task channel")
    t.eq(t.dumps_plain(a), t.dumps_plain(expected_attrs(orig, sid)),
         "stored attributes")
    o, _ = stored_attrs(sid)
    t.eq(o[MARKER].get("task_sid"), new, "task_sid on the original")
    return new


def nothing_written(mark, sid):
    reqs = EMU.requests(mark)
    t.eq([k for k in kinds(reqs, sid) if k != "GET"], [],
         "writes for %s" % sid)
    t.eq([r for r in reqs if t.is_task_create(r) and
          any(sid in v for _, v in t.form_of(r))], [], "creates")


def no_task_requests(mark):
    reqs = EMU.requests(mark)
    tr = [r for r in reqs if (r.get("path") or "").startswith(
        ENV.tasks_path)]
    return tr


# --------------------------------------------------------------------------
# happy paths
# --------------------------------------------------------------------------


@t.test
def attempts_0_1_2():
    orig = callback_attrs(attempts=0)
    sid, wf = seed_task(orig)
    lm = t.log_mark("requeue-callback")
    new1 = full_requeue(sid, wf, orig)
    a1, _ = stored_attrs(new1)
    t.eq(a1["callBackData"]["attempts"], 1, "first requeue attempts")
    t.eq(a1["conversations"]["conversation_id"], sid, "conversation_id")
    # the new task is requeued in turn (an agent took it: assigned)
    EMU.seed({"task_status": {new1: "assigned"}})
    new2 = full_requeue(new1, wf, a1)
    a2, _ = stored_attrs(new2)
    t.eq(a2["callBackData"]["attempts"], 2, "second requeue attempts")
    t.ok(type(a2["callBackData"]["attempts"]) is int, "attempts type")
    t.eq(a2["conversations"]["conversation_id"], sid,
         "conversation_id stays the first task's")
    _, _, line = t.wait_log(lm, lambda o: o.get("task_sid") == sid and
                            "status" in o, prog="requeue-callback")
    t.ok(line is not None, "no access line with task_sid %s" % sid)
    t.eq(line.get("status"), 200, "access line status")
    t.eq(line.get("path"), PATH, "access line path")
    # fetch, claim, create, record (and IAM when the token was not cached,
    # and GET Workflow when this process has not yet checked the
    # original's workflow for a redirect placeholder: the test stack sets
    # FLEXHOOKS_FORWARD_RULES)
    t.ok(line.get("rest") in (4, 5, 6), "access line rest %r" %
         line.get("rest"))


@t.test
def routing_kept():
    orig = callback_attrs(attempts=3)
    sid, wf = seed_task(orig, timeout=120, priority=0, channel="custom1",
                        status="wrapping")
    full_requeue(sid, wf, orig, timeout="120", priority="0",
                 channel="custom1")


@t.test
def legacy_string_attempts():
    orig = callback_attrs()
    orig["callBackData"]["attempts"] = "2"
    orig["callBackData"]["isDeleted"] = "false"
    sid, wf = seed_task(orig)
    new = full_requeue(sid, wf, orig)
    a, _ = stored_attrs(new)
    t.eq(a["callBackData"]["attempts"], 3, "attempts")
    t.ok(type(a["callBackData"]["attempts"]) is int, "attempts type")
    t.ok(a["callBackData"]["isDeleted"] is False, "isDeleted boolean")


@t.test
def voicemail_requeued_as_voicemail():
    n = t.unique_number()
    orig = callback_attrs(n=n, attempts=1)
    orig["taskType"] = "voicemail"
    cb = orig["callBackData"]
    cb["recordingSid"] = t.sid("RE")
    cb["recordingUrl"] = "https://api.twilio.com/2010-04-01/Accounts/%s/" \
        "Recordings/%s" % (ENV.account_sid, cb["recordingSid"])
    cb["transcriptSid"] = t.sid("TR")
    cb["transcriptText"] = "please call me back"
    orig["conversations"] = od(("conversation_id", "conv-" + t.unique_hex(8)),
                               ("abandoned", "Follow-Up"))
    sid, wf = seed_task(orig)
    new = full_requeue(sid, wf, orig)
    a, _ = stored_attrs(new)
    t.eq(a["taskType"], "voicemail", "taskType")
    t.eq(a["callBackData"]["recordingSid"], cb["recordingSid"],
         "recordingSid")
    t.eq(a["callBackData"]["attempts"], 2, "attempts")
    t.eq(a["conversations"], od(("conversation_id",
                                 orig["conversations"]["conversation_id"])),
         "conversations")


# --------------------------------------------------------------------------
# refusals: nothing created
# --------------------------------------------------------------------------


@t.test
def unknown_task_404():
    sid = t.sid("WT")
    mark = EMU.mark()
    r = requeue(sid)
    check_error(r, 404, "task not found", 20404,
                "https://www.twilio.com/docs/errors/20404")
    t.eq(kinds(EMU.requests(mark), sid), ["GET"], "Twilio requests")
    t.eq(EMU.task(sid), None, "a task appeared")
    nothing_written(mark, sid)


@t.test
def not_a_callback_409():
    for attrs in (od(("call_sid", t.sid("CA")), ("name", "+15555550100")),
                  od(("taskType", "chat"), ("callBackData",
                                            od(("attempts", 0))))):
        sid, _ = seed_task(attrs)
        before = EMU.task(sid)["attributes"]
        mark = EMU.mark()
        r = requeue(sid)
        check_error(r, 409, "not a callback or voicemail task")
        t.eq(kinds(EMU.requests(mark), sid), ["GET"], "Twilio requests")
        t.eq(EMU.task(sid)["attributes"], before, "original changed")
        nothing_written(mark, sid)


@t.test
def missing_and_invalid_task_sid_400():
    cases = [(None, "missing taskSid"), ("", "missing taskSid"),
             ("WT123", "invalid taskSid"),
             (t.sid("WR"), "invalid taskSid"),
             (t.sid("WT") + "0", "invalid taskSid"),
             ("../" + t.sid("WT"), "invalid taskSid")]
    for value, message in cases:
        mark = EMU.mark()
        r = requeue(value)
        check_error(r, 400, message)
        t.eq(no_task_requests(mark), [], "task requests for %r" % value)
    mark = EMU.mark()
    r = requeue(None, extra=[("TaskSid", t.sid("WT"))])
    check_error(r, 400, "missing taskSid")
    t.eq(no_task_requests(mark), [], "task requests (names are "
         "case-sensitive)")


@t.test
def bad_token_403():
    orig = callback_attrs()
    sid, _ = seed_task(orig)
    for token in ("", "bad-" + t.unique_hex(16)):
        mark = EMU.mark()
        r = requeue(sid, token=token)
        check_error(r, 403, "invalid or missing Flex token")
        t.eq(kinds(EMU.requests(mark), sid), [], "Twilio requests")
    # the token is read from the body only, never the query string
    mark = EMU.mark()
    r = t.request("POST", PATH, query=[("Token", TOKEN)],
                  form=[("taskSid", sid)], auth=None, signature=None)
    check_error(r, 403, "invalid or missing Flex token")
    t.eq(kinds(EMU.requests(mark), sid), [], "Twilio requests")


@t.test
def unknown_token_403():
    """A token IAM does not know is refused before any task request."""
    orig = callback_attrs()
    sid, _ = seed_task(orig)
    mark = EMU.mark()
    r = requeue(sid, token="tok-" + t.unique_hex(24))
    check_error(r, 403, "invalid or missing Flex token")
    reqs = EMU.requests(mark)
    t.eq(kinds(reqs, sid), [], "Twilio requests")
    t.ok(any((x.get("path") or "").endswith("/Tokens/validate")
             for x in reqs), "IAM was not asked")


@t.test
def json_body():
    orig = callback_attrs(attempts=4)
    sid, wf = seed_task(orig)
    mark = EMU.mark()
    r = t.request("POST", PATH, json_body=od(("Token", TOKEN),
                                             ("taskSid", sid)),
                  body_sha=False, auth=None, signature=None)
    new = check_success(r)
    mine = about(EMU.requests(mark), sid)
    t.eq(kinds(EMU.requests(mark), sid), ["GET", "UPDATE", "CREATE",
                                           "UPDATE"], "Twilio requests")
    check_create(mine[2], orig, sid, wf)
    a, _ = stored_attrs(new)
    t.eq(a["callBackData"]["attempts"], 5, "attempts")


@t.test
def methods():
    r = t.request("OPTIONS", PATH, auth=None, signature=None,
                  headers=[("Origin", "https://flex.twilio.com"),
                           ("Access-Control-Request-Method", "POST")])
    t.eq(r.status, 204, "preflight status")
    t.eq(r.body, b"", "preflight body")
    t.ok(r.header("Access-Control-Allow-Origin") in
         ("*", "https://flex.twilio.com"), "Access-Control-Allow-Origin")
    t.eq(r.header("Access-Control-Allow-Methods"), "POST, OPTIONS",
         "Access-Control-Allow-Methods")
    r = t.request("GET", PATH, query=[("taskSid", t.sid("WT"))], auth=None,
                  signature=None)
    check_error(r, 405, "method not allowed")
    t.eq(r.header("Allow"), "POST, OPTIONS", "Allow")


# --------------------------------------------------------------------------
# the claim marker
# --------------------------------------------------------------------------


@t.test
def double_click_same_task():
    orig = callback_attrs()
    sid, wf = seed_task(orig)
    new = full_requeue(sid, wf, orig)
    mark = EMU.mark()
    again = check_success(requeue(sid))
    t.eq(again, new, "second click's taskSid")
    t.eq(kinds(EMU.requests(mark), sid), ["GET"], "Twilio requests of the "
         "second click")
    creates = [x for x in EMU.tasks()
               if sid in (x.get("attributes") or "")]
    t.eq([x["sid"] for x in creates], [new], "tasks created from %s" % sid)


@t.test
def double_click_at_once():
    orig = callback_attrs()
    sid, _ = seed_task(orig)
    mark = EMU.mark()
    out = [None, None]

    def click(i):
        out[i] = requeue(sid)

    th = [threading.Thread(target=click, args=(i,)) for i in range(2)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    sids = set()
    for r in out:
        if r.status == 200:
            sids.add(check_success(r))
        else:
            check_error(r, 409, "requeue in progress")
    t.eq(len(sids), 1, "distinct taskSids answered")
    t.eq(kinds(EMU.requests(mark), sid).count("CREATE"), 1, "creates")


@t.test
def fresh_marker_409():
    orig = callback_attrs()
    orig[MARKER] = od(("type", "requeue"), ("claim", t.unique_hex(32)),
                      ("at", utc(now_utc())))
    sid, _ = seed_task(orig)
    before = EMU.task(sid)["attributes"]
    mark = EMU.mark()
    r = requeue(sid)
    check_error(r, 409, "requeue in progress")
    t.eq(kinds(EMU.requests(mark), sid), ["GET"], "Twilio requests")
    t.eq(EMU.task(sid)["attributes"], before, "original changed")


@t.test
def stale_marker_proceeds():
    orig = callback_attrs()
    old_claim = t.unique_hex(32)
    orig[MARKER] = od(("type", "requeue"), ("claim", old_claim),
                      ("at", utc(now_utc() - datetime.timedelta(hours=1))))
    sid, wf = seed_task(orig)
    etag0 = EMU.task(sid)["etag"]
    mark = EMU.mark()
    new = check_success(requeue(sid))
    reqs = EMU.requests(mark)
    t.eq(kinds(reqs, sid), ["GET", "UPDATE", "CREATE", "UPDATE"],
         "Twilio requests")
    mine = about(reqs, sid)
    claimed = check_update(mine[1], etag0)
    t.ok(claimed[MARKER]["claim"] != old_claim, "the stale claim was kept")
    t.eq(list(claimed.keys()), list(orig.keys()), "marker keeps its place")
    check_create(mine[2], orig, sid, wf)
    o, _ = stored_attrs(sid)
    t.eq(o[MARKER]["task_sid"], new, "task_sid recorded")


@t.test
def stale_marker_its_task_answered():
    """A claim went stale after its create had landed (its request died
    before recording task_sid): the next requeue finds that task (the same
    conversation, created since the claim), answers and records it, and
    creates none."""
    orig = callback_attrs()
    orig[MARKER] = od(("type", "requeue"), ("claim", t.unique_hex(32)),
                      ("at", utc(now_utc() - datetime.timedelta(minutes=5))))
    sid, wf = seed_task(orig)
    made, _ = seed_task(od(("taskType", "callback"),
                           ("conversations", od(("conversation_id", sid),))),
                        workflow=wf, status="pending")
    mark = EMU.mark()
    t.eq(check_success(requeue(sid)), made, "the stale claim's task")
    t.eq(kinds(EMU.requests(mark), sid), ["GET", "UPDATE", "UPDATE"],
         "Twilio requests (no create)")
    o, _ = stored_attrs(sid)
    t.eq(o[MARKER].get("task_sid"), made, "task_sid recorded")
    t.eq(check_success(requeue(sid)), made, "a retry")
    t.eq(made_from(sid), [made], "tasks made from the original")


@t.test
def finished_marker_answers_its_sid():
    orig = callback_attrs()
    done = t.sid("WT")
    orig[MARKER] = od(("type", "requeue"), ("claim", t.unique_hex(32)),
                      ("at", "2020-01-01T00:00:00Z"), ("task_sid", done))
    sid, _ = seed_task(orig)
    mark = EMU.mark()
    t.eq(check_success(requeue(sid)), done, "taskSid")
    t.eq(kinds(EMU.requests(mark), sid), ["GET"], "Twilio requests")


# --------------------------------------------------------------------------
# Twilio faults
# --------------------------------------------------------------------------


@t.test
def claim_412_refetch():
    orig = callback_attrs()
    sid, wf = seed_task(orig)
    etag0 = EMU.task(sid)["etag"]
    mark = EMU.mark()
    # a real 412 carries no Twilio code
    with fault(method="POST", path=task_path(sid), exact=True, status=412,
               code=None, times=1):
        r = requeue(sid)
    new = check_success(r)
    reqs = EMU.requests(mark)
    t.eq(kinds(reqs, sid), ["GET", "UPDATE", "GET", "UPDATE", "CREATE",
                            "UPDATE"], "Twilio requests")
    mine = about(reqs, sid)
    first = check_update(mine[1], etag0)
    second = check_update(mine[3], etag0)
    t.eq(first[MARKER]["claim"], second[MARKER]["claim"], "one claim per "
         "request")
    check_create(mine[4], orig, sid, wf)
    t.eq([x["sid"] for x in EMU.tasks()
          if sid in (x.get("attributes") or "")], [new], "tasks created")


@t.test
def claim_412_three_times():
    orig = callback_attrs()
    sid, _ = seed_task(orig)
    mark = EMU.mark()
    with fault(method="POST", path=task_path(sid), exact=True, status=412,
               code=None, times=3):
        r = requeue(sid)
    check_error(r, 412, "Twilio rejected the request")
    t.eq(kinds(EMU.requests(mark), sid), ["GET", "UPDATE"] * 3,
         "Twilio requests")


@t.test
def create_429_retried():
    orig = callback_attrs()
    sid, wf = seed_task(orig)
    mark = EMU.mark()
    with fault(method="POST", path=ENV.tasks_path, exact=True, status=429,
               retry_after="1", times=1):
        r = requeue(sid)
    new = check_success(r)
    reqs = EMU.requests(mark)
    t.eq(kinds(reqs, sid), ["GET", "UPDATE", "CREATE", "CREATE", "UPDATE"],
         "Twilio requests")
    mine = about(reqs, sid)
    t.eq(mine[2]["body"], mine[3]["body"], "retried create body")
    check_create(mine[3], orig, sid, wf)
    t.eq([x["sid"] for x in EMU.tasks()
          if sid in (x.get("attributes") or "")], [new], "tasks created")


@t.test
def create_fails_nothing_recorded():
    orig = callback_attrs()
    sid, _ = seed_task(orig)
    mark = EMU.mark()
    with fault(method="POST", path=ENV.tasks_path, exact=True, status=400,
               times=1):
        r = requeue(sid)
    check_error(r, 400, "Twilio rejected the request", 20001,
                "https://www.twilio.com/docs/errors/20001")
    t.eq(kinds(EMU.requests(mark), sid), ["GET", "UPDATE", "CREATE",
                                          "UPDATE"], "Twilio requests")
    o, _ = stored_attrs(sid)
    t.ok("task_sid" not in o[MARKER], "task_sid recorded without a task")
    t.eq(o[MARKER].get("failed"), True, "claim marked failed")
    # the claim was given up: a retry now does the work, once
    new = check_success(requeue(sid))
    t.eq(check_success(requeue(sid)), new, "a second retry's taskSid")
    t.eq([x["sid"] for x in EMU.tasks()
          if sid in (x.get("attributes") or "")], [new], "tasks created")
    o, _ = stored_attrs(sid)
    t.eq(o[MARKER]["task_sid"], new, "task_sid recorded")
    t.ok("failed" not in o[MARKER], "the new claim is not failed")


# --------------------------------------------------------------------------
# claims that outlive a failure (issue 16)
# --------------------------------------------------------------------------


class rate_limited:
    """Twilio answers 429 to every task create until the REST client's
    retries run out (TWILIO_SERVICE_RETRY_LIMIT + 1 tries)."""

    def __enter__(self):
        EMU.fault(method="POST", path=ENV.tasks_path, exact=True,
                  status=429, retry_after="1", times=ENV.retry_limit + 1)
        return self

    def __exit__(self, *exc):
        left = EMU.remove_faults(lambda f: f.get("path") == ENV.tasks_path
                                 and f.get("status") == 429)
        if left and exc[0] is None:
            raise AssertionError("the 429 fault was not used up")
        return False


def made_from(sid):
    return [x["sid"] for x in EMU.tasks()
            if sid in (x.get("attributes") or "") and x["sid"] != sid]


@t.test
def requeue_429_then_retry_creates_one():
    """Retry later while TaskRouter answers 429: the client gets 429 with
    Retry-After, the claim is given up, and the plugin's retry right after
    creates exactly one task (it used to get 409 for 30 s)."""
    orig = callback_attrs()
    sid, wf = seed_task(orig)
    with rate_limited():
        r = requeue(sid)
    check_error(r, 429, "Twilio rate limit", 20429,
                "https://www.twilio.com/docs/errors/20429")
    t.eq(r.header("Retry-After"), "1", "Retry-After")
    o, _ = stored_attrs(sid)
    t.eq(o[MARKER].get("failed"), True, "claim marked failed")
    t.eq(made_from(sid), [], "tasks created")
    new = check_success(requeue(sid))
    t.eq(made_from(sid), [new], "tasks created by the retry")
    t.eq(check_success(requeue(sid)), new, "a double click after it")
    t.eq(made_from(sid), [new], "still one")


@t.test
def requeue_create_answer_lost_finds_its_task():
    """Twilio makes the task but its answer comes after the deadline: the
    request looks before giving its claim up, finds the task and answers
    it, so a retry gets the same task (no duplicate)."""
    orig = callback_attrs()
    sid, wf = seed_task(orig)
    EMU.fault(method="POST", path=ENV.tasks_path, exact=True,
              answer_delay_ms=ENV.deadline_ms + 2500, times=1)
    try:
        r = requeue(sid)
    finally:
        left = EMU.remove_faults(lambda f: f.get("path") == ENV.tasks_path
                                 and f.get("answer_delay_ms"))
    t.eq(left, 0, "the delay fault was used")
    made = made_from(sid)
    t.eq(len(made), 1, "tasks created")
    t.eq(check_success(r), made[0], "the lost create's task answered")
    o, _ = stored_attrs(sid)
    t.eq(o[MARKER].get("task_sid"), made[0], "task_sid recorded")
    t.ok("failed" not in o[MARKER], "not marked failed")
    t.eq(check_success(requeue(sid)), made[0], "the retry's taskSid")
    t.eq(made_from(sid), made, "still one")


# --------------------------------------------------------------------------
# create-callback as a requeue: the older template plugin's Retry later
# --------------------------------------------------------------------------

CREATE = "/features/callback-and-voicemail/flex/create-callback"


def create_callback(pairs, token=None):
    return t.request("POST", CREATE, form=[("Token", TOKEN if token is None
                                            else token)] + list(pairs),
                     auth=None, signature=None)


def retry_later_form(sid, attrs, wf, flow=None):
    """What flex-project-template@1bdf516's CallbackService.requeueCallback
    posts for task sid: flexFlowSid is the text "undefined" when the task
    has no flow_execution_sid, attempts the old value + 1."""
    cb = attrs["callBackData"]
    pairs = [("numberToCall", cb["numberToCall"]),
             ("numberToCallFrom", cb["numberToCallFrom"]),
             ("flexFlowSid", flow or "undefined"), ("workflowSid", wf),
             ("timeout", "3600"), ("priority", "5"),
             ("attempts", str(int(cb.get("attempts") or 0) + 1)),
             ("conversation_id", sid),
             ("utcDateTimeReceived", cb["utcDateTimeReceived"])]
    for k in ("recordingSid", "recordingUrl", "transcriptSid",
              "transcriptText"):
        if cb.get(k):
            pairs.append((k, cb[k]))
    return pairs


def voicemail_attrs():
    a = callback_attrs(taskType="voicemail")
    re_sid = t.sid("RE")
    a["callBackData"]["recordingSid"] = re_sid
    a["callBackData"]["recordingUrl"] = (
        "https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s" %
        (ENV.account_sid, re_sid))
    return a


@t.test
def old_plugin_retry_voicemail_makes_a_new_task():
    """The voicemail's recordingSid matches the original task, which must
    not be answered instead of a new one (the plugin wraps it up)."""
    orig = voicemail_attrs()
    sid, wf = seed_task(orig)
    form = retry_later_form(sid, orig, wf)
    new = check_success(create_callback(form))
    t.ok(new != sid, "answered the original task's SID")
    a, task = stored_attrs(new)
    t.eq(a["taskType"], "voicemail", "taskType")
    t.eq(a["callBackData"]["recordingSid"],
         orig["callBackData"]["recordingSid"], "recordingSid")
    t.eq(a["callBackData"]["attempts"], 1, "attempts")
    t.ok("flow_execution_sid" not in a, "flexFlowSid=undefined is absent")
    t.eq(task["workflow_sid"], wf, "workflow")
    o, _ = stored_attrs(sid)
    t.eq(o[MARKER]["task_sid"], new, "task_sid on the original")
    t.eq(o[MARKER]["type"], "requeue", "marker type")
    # a double click, a retried request: the same new task
    t.eq(check_success(create_callback(form)), new, "second taskSid")
    rec = orig["callBackData"]["recordingSid"]
    t.eq(sorted(x["sid"] for x in EMU.tasks()
                if rec in (x.get("attributes") or "")),
         sorted([sid, new]), "tasks with the recording")


@t.test
def old_plugin_retry_callback_flexflowsid_undefined():
    orig = callback_attrs(attempts=2)
    sid, wf = seed_task(orig)
    form = retry_later_form(sid, orig, wf)
    t.eq(t.first(form, "flexFlowSid"), "undefined", "what the plugin sends")
    new = check_success(create_callback(form))
    a, _ = stored_attrs(new)
    t.eq(a["taskType"], "callback", "taskType")
    t.eq(a["callBackData"]["attempts"], 3, "attempts")
    t.ok("flow_execution_sid" not in a, "no flow_execution_sid")
    t.eq(a["conversations"]["conversation_id"], sid, "conversation_id")
    t.eq(made_from(sid), [new], "tasks created")
    t.eq(check_success(create_callback(form)), new, "double click")
    t.eq(made_from(sid), [new], "still one")


@t.test
def old_plugin_retry_429_then_retry_creates_one():
    orig = voicemail_attrs()
    sid, wf = seed_task(orig)
    form = retry_later_form(sid, orig, wf)
    with rate_limited():
        r = create_callback(form)
    check_error(r, 429, "Twilio rate limit", 20429,
                "https://www.twilio.com/docs/errors/20429")
    o, _ = stored_attrs(sid)
    t.eq(o[MARKER].get("failed"), True, "claim marked failed")
    t.eq(made_from(sid), [], "tasks created")
    new = check_success(create_callback(form))
    t.eq(made_from(sid), [new], "tasks created by the retry")
    t.eq(check_success(create_callback(form)), new, "and again")


@t.test
def old_plugin_retry_while_requeue_in_progress():
    """A fresh claim by another request: 409, nothing created."""
    orig = callback_attrs()
    orig[MARKER] = od(("type", "requeue"), ("claim", t.unique_hex(32)),
                      ("at", utc(now_utc())))
    sid, wf = seed_task(orig)
    check_error(create_callback(retry_later_form(sid, orig, wf)), 409,
                "requeue in progress")
    t.eq(made_from(sid), [], "tasks created")


@t.test
def create_callback_undefined_required_creates_nothing():
    orig = callback_attrs()
    sid, wf = seed_task(orig)
    form = [(k, "undefined" if k == "numberToCall" else v)
            for k, v in retry_later_form(sid, orig, wf)]
    mark = EMU.mark()
    check_error(create_callback(form), 400, "missing numberToCall")
    t.eq(no_task_requests(mark), [], "task requests")
    form = [(k, "null" if k == "numberToCallFrom" else v)
            for k, v in retry_later_form(sid, orig, wf)]
    check_error(create_callback(form), 400, "missing numberToCallFrom")
    t.eq(no_task_requests(mark), [], "task requests")
    t.eq(made_from(sid), [], "tasks created")


if __name__ == "__main__":
    t.require_stack()
    seed_token()
    t.main()
