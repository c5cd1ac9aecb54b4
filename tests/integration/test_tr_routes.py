#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests of /twiml-redirect-call, /dial-queue, /status-callback
and /location-lookup through the real stack
(docs/design/taskrouter-events.md).

Every request goes through nginx to the FastCGI program, signed as Twilio
signs it (or with Basic auth where /location-lookup allows it).  Answers
are compared byte for byte with the golden files the unit tests own
(tests/golden/<program>/), and /dial-queue's reservation reject is checked
in what the Twilio emulator received.  `deploy/local.sh test` sets up the
stack for these routes (its export_test_settings): the locations fixture,
two redirect rules and FLEXHOOKS_AMD_POLICY=hangup-on-machine.

Exits 77 unless FLEXHOOKS_TEST_STACK=1.  Other scripts share the emulator,
so nothing is reset: tests mark the request log and find their own
requests by the SIDs they seeded.
"""

import json
import os
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402

ENV = t.ENV
EMU = t.EMU
FORM = "application/x-www-form-urlencoded"
XML = "text/xml; charset=utf-8"
SRCDIR = os.environ.get("FLEXHOOKS_SRCDIR") or ENV.root
GOLDEN = os.path.join(SRCDIR, "tests", "golden")


def golden(prog, name):
    with open(os.path.join(GOLDEN, prog, name), "rb") as f:
        return f.read()


def rules():
    """The redirect rules of the stack: [(queue, number)]."""
    raw = os.environ.get("FLEXHOOKS_FORWARD_RULES") or ""
    return [tuple(r.split("=", 1)) for r in raw.split(",") if "=" in r]


def is_twiml(r, body):
    t.eq(r.status, 200, "status (body %r)" % r.body[:300])
    t.eq(r.header("Content-Type"), XML, "Content-Type")
    t.eq(r.body, body, "TwiML")


def dial(number):
    return ('<?xml version="1.0" encoding="UTF-8"?><Response><Dial>%s'
            '</Dial></Response>' % number).encode()


GOODBYE = golden("twiml-redirect-call", "unknown-queue.xml")


# --------------------------------------------------------------------------
# /twiml-redirect-call
# --------------------------------------------------------------------------

RD = "/twiml-redirect-call"


@t.test
def redirect_get_by_queue():
    rs = rules()
    t.ok(len(rs) >= 2, "the stack has two redirect rules: %r" % rs)
    for queue, number in rs:
        r = t.request("GET", RD, query=[("queue", queue)], auth=None)
        is_twiml(r, dial(number))
    # the stack's first rule is the unit test's golden number
    r = t.request("GET", RD, query=[("queue", rs[0][0])], auth=None)
    if rs[0][1] == "+6591234567":
        t.eq(r.body, golden("twiml-redirect-call",
                            "single-rule-no-queue.xml"), "golden")


@t.test
def redirect_post_form():
    queue, number = rules()[1]
    r = t.request("POST", RD, query=[("queue", queue)], auth=None,
                  form=[("CallSid", t.sid("CA")), ("From", "+15005550006"),
                        ("CallStatus", "in-progress")])
    is_twiml(r, dial(number))


@t.test
def redirect_errors_answer_goodbye():
    mark = t.log_mark("twiml-redirect-call")
    call = t.sid("CA")
    for q in (None, [("queue", t.sid("WQ"))], [("queue", "WQ123")],
              "queue=undefined"):
        r = t.request("POST", RD, query=q, auth=None,
                      form=[("CallSid", call)])
        is_twiml(r, GOODBYE)
    _, objs, hit = t.wait_log(
        mark, lambda o: o.get("level") == "error" and call in
        (o.get("msg") or ""), prog="twiml-redirect-call")
    t.ok(hit is not None, "error line with the CallSid")
    t.ok(any("several rules and no queue" in (o.get("msg") or "")
             for o in objs), "ambiguous request logged")


@t.test
def redirect_security():
    queue = rules()[0][0]
    r = t.request("GET", RD, query=[("queue", queue)], auth=None,
                  signature=None)
    t.is_json_error(r, 403, "invalid signature")
    r = t.request("GET", RD, query=[("queue", queue)], auth=None,
                  signature="RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    t.is_json_error(r, 403, "invalid signature")
    # the query is signed: changing it after signing fails
    good = t.sign(ENV.public_url + RD + "?queue=" + queue)
    r = t.request("GET", RD, query=[("queue", rules()[1][0])], auth=None,
                  signature=good)
    t.is_json_error(r, 403, "invalid signature")
    r = t.request("PUT", RD, auth=None, body=b"", content_type=FORM)
    t.eq(r.status, 405, "PUT status")


# --------------------------------------------------------------------------
# /dial-queue
# --------------------------------------------------------------------------

DQ = "/dial-queue"
WR_GOLDEN = "WR66666666666666666666666666666666"


def reservation_posts(reqs, task):
    return [q for q in reqs if q["method"] == "POST" and
            q["path"].startswith(ENV.tasks_path + "/" + task +
                                 "/Reservations/")]


@t.test
def dial_queue_bridge_golden():
    task = t.sid("WT")
    mark = EMU.mark()
    for by in (None, "human", "unknown"):
        form = [("CallSid", t.sid("CA")), ("AccountSid", ENV.account_sid)]
        if by:
            form.append(("AnsweredBy", by))
        r = t.request("POST", DQ, auth=None, form=form,
                      query=[("queue", WR_GOLDEN), ("from", "+15005550006"),
                             ("task", task)])
        is_twiml(r, golden("dial-queue", "bridge.xml"))
    t.eq(reservation_posts(EMU.requests(mark), task), [],
         "no reject when bridging")


@t.test
def dial_queue_bad_queue_is_clear_error():
    mark = t.log_mark("dial-queue")
    call = t.sid("CA")
    for q in ([("from", "+15005550006")], [("queue", "undefined")],
              [("queue", "WR6666")], [("queue", t.sid("WT"))]):
        r = t.request("POST", DQ, query=q, auth=None,
                      form=[("CallSid", call)])
        is_twiml(r, golden("dial-queue", "missing-queue.xml"))
        t.ok(b"undefined" not in r.body, "no 'undefined' in the TwiML")
    _, objs, hit = t.wait_log(
        mark, lambda o: "decision error" in (o.get("msg") or ""),
        prog="dial-queue")
    t.ok(hit is not None and call in hit["msg"], "decision line: %r" % hit)


@t.test
def dial_queue_machine_rejects_reservation():
    if os.environ.get("FLEXHOOKS_AMD_POLICY") != "hangup-on-machine":
        t.skip("FLEXHOOKS_AMD_POLICY is not hangup-on-machine")
    out = EMU.seed({"tasks": [{"workflow_sid": t.sid("WW"),
                               "attributes": {"practicePhone": "+14158786346"},
                               "assignment_status": "reserved"}]})
    task = out["tasks"][0]
    res = t.sid("WR")
    mark = EMU.mark()
    r = t.request("POST", DQ, auth=None,
                  query=[("queue", res), ("from", "+15005550006"),
                         ("task", task)],
                  form=[("CallSid", t.sid("CA")),
                        ("AnsweredBy", "machine_start"),
                        ("MachineDetectionDuration", "2400")])
    is_twiml(r, golden("dial-queue", "hangup-machine.xml"))
    posts = reservation_posts(EMU.requests(mark), task)
    t.eq(len(posts), 1, "one reservation update")
    t.eq(posts[0]["path"], "%s/%s/Reservations/%s" % (ENV.tasks_path, task,
                                                       res), "path")
    t.eq(t.form_of(posts[0]), [("ReservationStatus", "rejected")], "form")
    t.eq(t.header_of(posts[0], "Authorization"), ENV.twilio_basic(),
         "Authorization")
    t.eq(EMU.task(task)["assignment_status"], "pending", "task re-routed")
    # a repeat: the reservation is no longer pending (400), still hang up
    mark = EMU.mark()
    r = t.request("POST", DQ, auth=None,
                  query=[("queue", res), ("task", task)],
                  form=[("AnsweredBy", "fax")])
    is_twiml(r, golden("dial-queue", "hangup-fax.xml"))
    t.eq(len(reservation_posts(EMU.requests(mark), task)), 1,
         "one reject attempt, not retried")


@t.test
def dial_queue_machine_without_task_only_hangs_up():
    if os.environ.get("FLEXHOOKS_AMD_POLICY") != "hangup-on-machine":
        t.skip("FLEXHOOKS_AMD_POLICY is not hangup-on-machine")
    res = t.sid("WR")
    mark = EMU.mark()
    r = t.request("POST", DQ, auth=None, query=[("queue", res)],
                  form=[("AnsweredBy", "machine_end_beep")])
    is_twiml(r, golden("dial-queue", "hangup-machine.xml"))
    t.eq([q for q in EMU.requests(mark) if res in q["path"]], [],
         "nothing sent to Twilio")


@t.test
def dial_queue_security():
    q = [("queue", WR_GOLDEN)]
    r = t.request("POST", DQ, query=q, auth=None, signature=None,
                  form=[("CallSid", t.sid("CA"))])
    t.is_json_error(r, 403, "invalid signature")
    # a form parameter changed after signing
    sig = t.sign(ENV.public_url + DQ + "?queue=" + WR_GOLDEN,
                 [("AnsweredBy", "human")])
    r = t.request("POST", DQ, query=q, auth=None, signature=sig,
                  form=[("AnsweredBy", "machine_start")])
    t.is_json_error(r, 403, "invalid signature")
    r = t.request("GET", DQ, query=q, auth=None)
    t.eq(r.status, 405, "GET status")
    t.eq(r.header("Allow"), "POST", "Allow")


# --------------------------------------------------------------------------
# /status-callback
# --------------------------------------------------------------------------

SC = "/status-callback"


def status_lines(objs, call):
    out = []
    for o in objs:
        m = o.get("msg") or ""
        if m.startswith("status callback {") and call in m:
            out.append(json.loads(m[len("status callback "):],
                                  object_pairs_hook=OrderedDict))
    return out


@t.test
def status_callbacks_logged_in_order():
    call, res, task = t.sid("CA"), t.sid("WR"), t.sid("WT")
    mark = t.log_mark("status-callback")
    emark = EMU.mark()
    q = [("reservation", res), ("task", task)]
    sent = [("completed", "1", [("CallDuration", "42")]),
            ("in-progress", "0", [("AnsweredBy", "human")]),
            ("completed", "1", [("CallDuration", "42")])]
    for status, seq, extra in sent:
        r = t.request("POST", SC, query=q, auth=None,
                      form=[("CallSid", call), ("CallStatus", status),
                            ("SequenceNumber", seq),
                            ("To", "+14158786346")] + extra)
        t.eq(r.status, 200, "status")
        t.eq(r.body, b"", "empty body")
    _, objs, _ = t.wait_log(mark, lambda o: len(status_lines([o], call))
                            and o["msg"].count("stale") == 1 and
                            "CallDuration" in o["msg"],
                            prog="status-callback")
    lines = status_lines(objs, call)
    t.eq(len(lines), 3, "one line per callback")
    t.eq([(x["CallStatus"], x["SequenceNumber"], x.get("stale"))
          for x in lines],
         [("completed", 1, None), ("in-progress", 0, True),
          ("completed", 1, True)], "order and stale flags")
    t.eq(list(lines[0].keys()), ["CallSid", "CallStatus", "SequenceNumber",
                                 "CallDuration", "reservation", "task"],
         "fields")
    t.ok("+14158786346" not in json.dumps(objs), "no phone number logged")
    t.eq([x for x in EMU.requests(emark) if task in x["path"]], [],
         "nothing sent to Twilio")


@t.test
def status_failed_without_reject_setting():
    if os.environ.get("FLEXHOOKS_OUTBOUND_REJECT_ON_FAILURE") == "true":
        t.skip("FLEXHOOKS_OUTBOUND_REJECT_ON_FAILURE is on")
    task, res = t.sid("WT"), t.sid("WR")
    mark = EMU.mark()
    for status in ("busy", "no-answer", "failed"):
        r = t.request("POST", SC, auth=None,
                      query=[("reservation", res), ("task", task)],
                      form=[("CallSid", t.sid("CA")),
                            ("CallStatus", status),
                            ("SequenceNumber", "1")])
        t.eq((r.status, r.body), (200, b""), "answer")
    t.eq([x for x in EMU.requests(mark) if task in x["path"]], [],
         "no reject while the setting is off")


@t.test
def status_security():
    r = t.request("POST", SC, auth=None, signature=None,
                  form=[("CallSid", t.sid("CA"))])
    t.is_json_error(r, 403, "invalid signature")


# --------------------------------------------------------------------------
# /location-lookup
# --------------------------------------------------------------------------

LK = "/location-lookup"


def is_json(r, status, body):
    t.eq(r.status, status, "status (body %r)" % r.body[:300])
    t.json_type(r)
    t.eq(r.body, body, "body")


@t.test
def location_signed_get_and_form():
    r = t.request("GET", LK, query=[("Called", "+14155550100")], auth=None)
    is_json(r, 200, golden("location-lookup", "called.json"))
    r = t.request("POST", LK, auth=None,
                  form=[("To", "+19999999999"),
                        ("Called", " +14155550100 ")])
    is_json(r, 200, golden("location-lookup", "called.json"))


@t.test
def location_signed_json_body():
    r = t.request("POST", LK, auth=None,
                  json_body=OrderedDict([("location", "pacific-health")]))
    is_json(r, 200, golden("location-lookup", "json-body.json"))


@t.test
def location_basic_auth_without_signature():
    r = t.request("POST", LK, signature=None,
                  form=[("location", "pacific-health"),
                        ("Called", "+14155550100")])
    is_json(r, 200, golden("location-lookup", "location-wins.json"))
    r = t.request("GET", LK, signature=None,
                  query=[("Called", "+14155550199")])
    is_json(r, 200, golden("location-lookup", "escaped.json"))


@t.test
def location_unknown_and_missing():
    r = t.request("GET", LK, query=[("Called", "+14155550101")], auth=None)
    is_json(r, 404, golden("location-lookup", "unknown.json"))
    r = t.request("POST", LK, signature=None, form=[("From", "+1415")])
    is_json(r, 400, golden("location-lookup", "missing-key.json"))


@t.test
def location_security():
    # neither a signature nor credentials: nginx's Basic challenge
    r = t.request("GET", LK, query=[("Called", "+14155550100")], auth=None,
                  signature=None)
    t.eq(r.status, 401, "status")
    t.ok("Basic" in (r.header("WWW-Authenticate") or ""), "challenge")
    # a bad signature never falls back to Basic auth
    r = t.request("GET", LK, query=[("Called", "+14155550100")],
                  signature="RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    t.is_json_error(r, 403, "invalid signature")
    # wrong credentials
    r = t.request("GET", LK, query=[("Called", "+14155550100")],
                  auth="nobody:wrong", signature=None)
    t.eq(r.status, 401, "wrong credentials")


if __name__ == "__main__":
    t.require_stack()
    t.main()
