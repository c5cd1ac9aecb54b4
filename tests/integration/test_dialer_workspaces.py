#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The outbound dialer in a TaskRouter workspace of its own (issue 22), as
the Outbound Calling Example's users run it: a "Call Router" workspace
beside the Flex one, in one deployment.

`deploy/local.sh test` lists a second emulator workspace in
FLEXHOOKS_EVENT_WORKSPACES (FAKE_DIALER_WORKSPACE_SID); this script seeds
it as "Call Router" when the emulator does not have it yet.  The journey:
a caller's task enqueued there with the dialer attributes,
reservation.created from that workspace places exactly one call with
machine detection (a duplicate places none), /dial-queue bridges it,
/status-callback addresses that workspace's reservation, and
reservation.wrapup completes the task in that workspace.  An event from a
workspace that is not listed changes nothing, and callbacks in the Flex
workspace still work in the same deployment.

Exits 77 unless FLEXHOOKS_TEST_STACK=1 and FLEXHOOKS_EVENT_WORKSPACES is
set.
"""

import os
import sys
import time
import urllib.parse
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402

ENV = t.ENV
EMU = t.EMU
PROG = "taskrouter-events"
CALLS = "/2010-04-01/Accounts/%s/Calls.json" % ENV.account_sid
TO_ATTR = os.environ.get("FLEXHOOKS_OUTBOUND_TO_ATTRIBUTE") or \
    "practicePhone"
FROM_ATTR = os.environ.get("FLEXHOOKS_OUTBOUND_FROM_ATTRIBUTE") or \
    "callerID"
LISTED = [w for w in (os.environ.get("FLEXHOOKS_EVENT_WORKSPACES") or
                      "").split(",") if w]


def router():
    """The "Call Router" workspace (the first listed one that is not the
    Flex one), seeded in the emulator when missing."""
    ws = [w for w in LISTED if w != ENV.workspace_sid]
    if not ws:
        t.skip("FLEXHOOKS_EVENT_WORKSPACES lists no second workspace")
    sid = ws[0]
    if sid not in EMU.state()["workspaces"]:
        try:
            EMU.seed({"workspaces": [{"sid": sid,
                                      "friendly_name": "Call Router"}]})
        except t.EmulatorError:
            pass            # a concurrent run seeded it first
    return sid


def event(ws, etype, task, attrs, **extra):
    form = [("EventType", etype), ("AccountSid", ENV.account_sid),
            ("WorkspaceSid", ws), ("Sid", t.sid("EV")),
            ("TaskSid", task), ("TaskAttributes", t.dumps_plain(attrs))]
    form.extend(extra.items())
    r = t.request("POST", "/tr-event-callback", form=form, timeout=30.0)
    t.eq(r.status, 204, "event status (body %r)" % r.body[:200])
    return r


def seed_dialer_task(ws):
    """A caller enqueued in ws with the example's attributes, reserved by
    the practice's worker: (task, reservation, to, from, attrs)."""
    to, frm = t.unique_number(), t.unique_number()
    attrs = OrderedDict([("type", "inbound"), ("practice", "Pacific Health"),
                         (TO_ATTR, to), (FROM_ATTR, frm),
                         ("call_sid", t.sid("CA"))])
    out = EMU.seed({"workspace_sid": ws,
                    "tasks": [{"workflow_sid": t.sid("WW"),
                               "attributes": attrs,
                               "assignment_status": "reserved",
                               "task_channel": "voice"}]})
    return out["tasks"][0], t.sid("WR"), to, frm, attrs


def task_in(ws, sid):
    for task in EMU.state()["workspaces"][ws]["tasks"]:
        if task["sid"] == sid:
            return task
    return None


def creates_to(reqs, to):
    return [r for r in reqs if r["method"] == "POST" and
            r["path"] == CALLS and (to,) == tuple(
                v for k, v in t.form_of(r) if k == "To")]


@t.test
def journey_in_call_router():
    ws = router()
    task, res, to, frm, attrs = seed_dialer_task(ws)
    mark = EMU.mark()
    event(ws, "reservation.created", task, attrs, ReservationSid=res)
    event(ws, "reservation.created", task, attrs, ReservationSid=res)
    reqs = EMU.requests(mark)
    creates = creates_to(reqs, to)
    t.eq(len(creates), 1, "one call for the reservation, duplicates none")
    form = t.form_of(creates[0])
    t.eq(t.first(form, "From"), frm, "From")
    t.eq(t.first(form, "MachineDetection"), "Enable", "AMD")
    url = t.first(form, "Url")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    t.eq(q, {"queue": res, "from": frm, "task": task, "workspace": ws},
         "dial-queue query")
    cb = t.first(form, "StatusCallback")
    t.ok(cb.endswith("/status-callback?reservation=%s&task=%s&workspace=%s"
                     % (res, task, ws)), "StatusCallback %s" % cb)
    # the claim went to the task in its own workspace, not the Flex one
    claims = [r for r in reqs if r["method"] == "POST" and
              r["path"] == "/v1/Workspaces/%s/Tasks/%s" % (ws, task)]
    t.eq(len(claims), 1, "one claim write in %s" % ws)
    t.ok(not any(ENV.workspace_sid in r["path"] and task in r["path"]
                 for r in reqs), "nothing addressed the Flex workspace")

    # Twilio requests /dial-queue when the practice answers: bridged
    path = urllib.parse.urlsplit(url)
    r = t.request("POST", path.path, query=path.query, auth=None,
                  form=[("CallSid", t.sid("CA")), ("AnsweredBy", "human")])
    t.eq(r.status, 200, "dial-queue status")
    t.ok(('<Dial><Queue reservationSid="%s"/></Dial>' % res).encode() in
         r.body, "bridged: %r" % r.body)

    # a machine under hangup-on-machine: that workspace's reservation
    if os.environ.get("FLEXHOOKS_AMD_POLICY") == "hangup-on-machine":
        mark2 = EMU.mark()
        r = t.request("POST", path.path, query=path.query, auth=None,
                      form=[("CallSid", t.sid("CA")),
                            ("AnsweredBy", "machine_start")])
        t.ok(b"<Hangup/>" in r.body, "machine: %r" % r.body)
        rejects = [x for x in EMU.requests(mark2) if x["method"] == "POST"
                   and x["path"].endswith("/Reservations/" + res)]
        t.eq([x["path"] for x in rejects],
             ["/v1/Workspaces/%s/Tasks/%s/Reservations/%s" % (ws, task, res)],
             "reject in the task's workspace")

    # the practice hangs up: wrap-up completes the task in Call Router
    EMU.seed({"workspace_sid": ws, "task_status": {task: "wrapping"}})
    mark3 = EMU.mark()
    event(ws, "reservation.wrapup", task, attrs, ReservationSid=res)
    done = [r for r in EMU.requests(mark3) if r["method"] == "POST" and
            r["path"] == "/v1/Workspaces/%s/Tasks/%s" % (ws, task)]
    t.eq(len(done), 1, "one complete")
    t.eq(t.first(t.form_of(done[0]), "AssignmentStatus"), "completed",
         "AssignmentStatus")
    t.eq(task_in(ws, task)["assignment_status"], "completed", "stored")


@t.test
def status_callback_names_the_workspace():
    """A failed call's reject goes to the reservation's own workspace;
    a workspace that is not listed is left alone."""
    if os.environ.get("FLEXHOOKS_OUTBOUND_REJECT_ON_FAILURE") != "true":
        t.skip("FLEXHOOKS_OUTBOUND_REJECT_ON_FAILURE is not true")
    ws = router()
    task, res, _, _, _ = seed_dialer_task(ws)
    for where, want in ((ws, 1), (t.sid("WS"), 0)):
        mark = EMU.mark()
        r = t.request("POST", "/status-callback", auth=None, query=[
            ("reservation", res), ("task", task), ("workspace", where)],
            form=[("CallSid", t.sid("CA")), ("CallStatus", "busy")])
        t.eq(r.status, 200, "status-callback")
        rejects = [x for x in EMU.requests(mark) if x["method"] == "POST"
                   and x["path"].endswith("/Reservations/" + res)]
        t.eq([x["path"] for x in rejects], [
            "/v1/Workspaces/%s/Tasks/%s/Reservations/%s" % (ws, task, res)
        ][:want], "rejects for workspace %s" % where)


@t.test
def unlisted_workspace_changes_nothing():
    router()
    other = t.fresh_workspace(everyone=False)
    task, res, to, _, attrs = seed_dialer_task(other)
    mark = EMU.mark()
    logm = t.log_mark(PROG)
    event(other, "reservation.created", task, attrs, ReservationSid=res)
    event(other, "reservation.wrapup", task, attrs, ReservationSid=res)
    reqs = EMU.requests(mark)
    t.eq([r["path"] for r in reqs if other in r["path"] or
          task in r["path"] or t.mentions(r, to)], [], "requests")
    t.eq(task_in(other, task)["assignment_status"], "reserved", "task")
    _, _, hit = t.wait_log(logm, lambda o: other in (o.get("msg") or ""),
                           prog=PROG)
    t.ok(hit and "is not from this account and workspace" in hit["msg"],
         "logged: %r" % hit)


@t.test
def flex_callbacks_still_work():
    """The same deployment still creates callbacks in the Flex workspace."""
    router()
    n = t.unique_number()
    mark = EMU.mark()
    r = t.request("POST", "/features/callback-and-voicemail/studio/"
                  "create-callback", form=[("numberToCall", n),
                                           ("numberToCallFrom",
                                            t.unique_number())])
    t.eq(r.status, 200, "create-callback (body %r)" % r.body[:300])
    creates = t.task_creates(EMU.requests(mark), n)
    t.eq(len(creates), 1, "one task create")
    t.eq(creates[0]["path"], ENV.tasks_path, "in the Flex workspace")


@t.test
def healthz_lists_the_workspaces():
    ws = router()
    r = t.request("GET", "/healthz", auth=None, signature=None)
    t.eq(r.status, 200, "healthz")
    body = r.json()
    t.ok(ws in body["workspaces"] and ENV.workspace_sid in
         body["workspaces"], "workspaces %r" % body["workspaces"])
    t.eq(body["features"]["outbound_dialer"], True, "dialer")
    t.eq(body["features"]["callbacks"], True, "callbacks")


if __name__ == "__main__":
    t.require_stack()
    t.main()
