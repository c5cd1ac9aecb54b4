#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Follow-up tasks through the real stack (issue 16): where they are
routed, what they never carry, who acts on them, and the two attribute
shapes (FLEXHOOKS_ATTRIBUTE_STYLE).

- The journey: a caller held in the redirect workflow exactly as
  flexhooks-provision creates it (in the stack's workspace, around the
  stack's first FLEXHOOKS_FORWARD_RULES queue) presses `*` and asks for a
  callback; the callback task is created in the callback workflow, never
  in the placeholder's.  The same for a requeue and a Studio request that
  name that workflow, while a workflow without a placeholder is kept.
- A follow-up made from a dialer task (the outbound To and From
  attributes) drops them; a reservation.created for a follow-up that still
  carries them (made before this release) places no call; a follow-up that
  reaches a placeholder is logged as a configuration error and left alone.
- The readers take both shapes on the template-style stack: the
  Record widget's transcription callback merges into a plugin-library
  voicemail task under its own names, delete-voicemail clears it, a
  requeue converts it.
- The writer's plugin-library shape: a private copy of the programs
  (fhprivate.Private: every program, one host) with
  FLEXHOOKS_ATTRIBUTE_STYLE=plugin-library, through its own nginx, against
  the same emulator: a Studio callback and voicemail are written as the
  flex-plugin-library-callback-and-voicemail functions wrote them.

Exits 77 unless FLEXHOOKS_TEST_STACK=1.
"""

import json
import os
import shutil
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402
import fhevents as ev  # noqa: E402
import fhprivate  # noqa: E402
import fhrequeue as rq  # noqa: E402
import fhvoicemail as vm  # noqa: E402
import fhwait as w  # noqa: E402

t.require_stack()

ENV = t.ENV
EMU = t.EMU
STUDIO = "/features/callback-and-voicemail/studio/create-callback"
PREFIX = "[TR Call Redirection] "
CALLS = "/2010-04-01/Accounts/%s/Calls" % ENV.account_sid
_redirect = {}


def od(*pairs):
    return OrderedDict(pairs)


def attrs_of(task):
    a = task.get("attributes")
    return t.loads_ordered(a) if isinstance(a, str) else a


def placeholder():
    rs = ev.rules()
    if not rs:
        t.skip("the stack has no redirect rule")
    return rs[0][0]


def redirect_workflow():
    """flexhooks-provision --only redirect in the stack's workspace, its
    placeholder being the stack's first rule queue (seeded under the name
    the command looks for, so it adopts it): the redirect workflow's SID."""
    if _redirect:
        return _redirect["wf"]
    ph = placeholder()
    st = EMU.state()["workspaces"][ENV.workspace_sid]
    if not any(q["sid"] == ph for q in st["task_queues"]):
        EMU.seed({"task_queues": [{
            "sid": ph, "friendly_name": PREFIX + "Call Redirection",
            "target_workers": "1==2"}]})
    r = t.run_provision(ENV.workspace_sid, "--only", "redirect")
    t.eq(r.rc, 0, "provision (stderr %s)" % r.err[-1500:])
    lines = dict(ln.split("=", 1) for ln in r.out.splitlines()
                 if ln and not ln.startswith("#"))
    t.eq(lines["FORWARD_CALL_TASK_QUEUE_SID"], ph, "placeholder adopted")
    wf = lines["FLEXHOOKS_INBOUND_WORKFLOW_SID"]
    st = EMU.state()["workspaces"][ENV.workspace_sid]
    conf = json.loads([x for x in st["workflows"]
                       if x["sid"] == wf][0]["configuration"])
    t.eq(conf["task_routing"]["filters"][0]["targets"][-1]["queue"], ph,
         "the redirect workflow ends in the placeholder")
    _redirect["wf"] = wf
    return wf


def plain_workflow():
    """A workflow of the workspace that routes to an ordinary queue."""
    q = EMU.seed({"task_queues": [{"friendly_name": "followup plain " +
                                   t.unique_hex(8),
                                   "target_workers": "1==1"}]})
    queue = q["task_queues"][0]
    out = EMU.seed({"workflows": [{
        "friendly_name": "followup plain " + t.unique_hex(8),
        "configuration": {"task_routing": {"filters": [],
                                           "default_filter": {
                                               "queue": queue}}}}]})
    return out["workflows"][0]


def workflow_gets(reqs, wf):
    return [r for r in reqs if r["method"] == "GET" and
            r["path"].endswith("/Workflows/" + wf)]


# --------------------------------------------------------------------------
# routing
# --------------------------------------------------------------------------


@t.test
def journey_held_in_redirect_workflow_asks_for_callback():
    """* then 1 (callback) then 1 (this number) while held in the
    provisioned redirect workflow: the callback task is made in the
    callback workflow and never enters the placeholder."""
    wf = redirect_workflow()
    call = w.Call()
    call.wf = wf
    wt = w.seed_task(call)
    lm = t.log_mark("wait-experience")
    m = EMU.mark()
    end = call.walk(call.start(), ["*", "1", "1"])
    t.eq(end, "hangup", "call ends")
    t.ok(call.said(w.P["submitted"]), "callback submitted said")
    t.eq(EMU.task(wt)["assignment_status"], "canceled", "live task "
         "canceled")
    cbs = w.callback_tasks(call.caller)
    t.eq(len(cbs), 1, "one callback task")
    cb = cbs[0]
    t.eq(cb["workflow_sid"], ENV.workflow_sid, "the callback workflow")
    t.ok(cb["task_queue_sid"] != placeholder(), "not in the placeholder")
    creates = t.task_creates(EMU.requests(m), call.caller)
    t.eq(len(creates), 1, "one create")
    t.eq(t.first(t.form_of(creates[0]), "WorkflowSid"), ENV.workflow_sid,
         "WorkflowSid sent")
    _, _, line = t.wait_log(lm, lambda o: "follow-up goes to the callback "
                            "workflow" in (o.get("msg") or ""),
                            prog="wait-experience")
    t.ok(line is not None, "the move is logged")
    t.ok(wf in line.get("msg", ""), "the log names the workflow")


@t.test
def requeue_and_studio_leave_the_redirect_workflow():
    """A requeue of a task in the redirect workflow, and a Studio request
    naming it, go to the callback workflow; the answer is cached (no
    second GET Workflow in this process); an ordinary workflow is kept."""
    wf = redirect_workflow()
    rq.seed_token()
    orig = rq.callback_attrs(attempts=0)
    sid, _ = rq.seed_task(orig, workflow=wf)
    new = rq.check_success(rq.requeue(sid))
    t.eq(EMU.task(new)["workflow_sid"], ENV.workflow_sid, "requeue moved")
    # twice in the same process: the second is answered from the cache
    sid2, _ = rq.seed_task(rq.callback_attrs(attempts=1), workflow=wf)
    m = EMU.mark()
    new2 = rq.check_success(rq.requeue(sid2))
    t.eq(EMU.task(new2)["workflow_sid"], ENV.workflow_sid, "moved again")
    t.eq(workflow_gets(EMU.requests(m), wf), [], "cached answer")

    n = t.unique_number()
    r = t.request("POST", STUDIO, form=[
        ("numberToCall", n), ("numberToCallFrom", "+18005550100"),
        ("workflowSid", wf)])
    t.eq(r.status, 200, "studio (body %r)" % r.body[:200])
    t.eq(EMU.task(r.json()["taskSid"])["workflow_sid"], ENV.workflow_sid,
         "studio request moved")

    plain = plain_workflow()
    sid3, _ = rq.seed_task(rq.callback_attrs(attempts=0), workflow=plain)
    m = EMU.mark()
    new3 = rq.check_success(rq.requeue(sid3))
    t.eq(EMU.task(new3)["workflow_sid"], plain, "ordinary workflow kept")
    t.eq(len(workflow_gets(EMU.requests(m), plain)), 1, "one GET Workflow")


@t.test
def dialer_followup_drops_to_from_and_is_never_dialed():
    """A callback asked for from a dialer task (practicePhone, callerID):
    the follow-up has neither; a reservation.created for a follow-up that
    still has them (made before) places no call."""
    call = w.Call()
    practice, caller_id = t.unique_number(), t.unique_number()
    attrs = od(("call_sid", call.sid), ("from", call.caller),
               ("name", call.caller), ("practice", "Pacific Health"),
               (ev.TO_ATTR, practice), (ev.FROM_ATTR, caller_id),
               ("conversations", od(("conversation_id", "keep-me"))))
    out = EMU.seed({"queues": {call.queue_sid: call.wf},
                    "calls": {call.sid: {"status": "in-progress",
                                         "to": call.called,
                                         "from": call.caller}},
                    "tasks": [{"workflow_sid": call.wf, "attributes": attrs,
                               "assignment_status": "pending"}]})
    wt = out["tasks"][0]
    end = call.walk(call.start(), ["*", "1", "1"])
    t.eq(end, "hangup", "call ends")
    cbs = w.callback_tasks(call.caller)
    t.eq(len(cbs), 1, "one callback task")
    a = attrs_of(cbs[0])
    t.ok(ev.TO_ATTR not in a and ev.FROM_ATTR not in a,
         "the dialer's To/From dropped: %r" % a)
    t.eq(a.get("practice"), "Pacific Health", "other attributes kept")
    t.ok("call_sid" not in a, "call_sid dropped")
    t.ok(wt != cbs[0]["sid"], "a new task")

    # the dialer: no call for any follow-up type, To/From or not
    for kind in ("callback", "voicemail", "callback-outbound"):
        stale = dict(a)
        stale["taskType"] = kind
        stale[ev.TO_ATTR] = practice
        stale[ev.FROM_ATTR] = caller_id
        lm = t.log_mark(ev.PROG)
        m = EMU.mark()
        ev.is_204(ev.event("reservation.created", task=cbs[0]["sid"],
                           attrs=stale, ReservationSid=t.sid("WR")))
        reqs = EMU.requests(m)
        t.eq([r for r in reqs if r["path"].startswith(CALLS)], [],
             "no call placed for a %s task" % kind)
        t.eq([r for r in reqs if r["method"] == "POST"], [],
             "nothing written for a %s task" % kind)
        _, _, line = t.wait_log(lm, lambda o: "is a %s follow-up" % kind
                                in (o.get("msg") or ""), prog=ev.PROG)
        t.ok(line is not None, "the skip is logged (%s)" % kind)


@t.test
def followup_in_placeholder_is_a_configuration_error():
    """task-queue.entered into a placeholder for a callback task: an
    error line naming the workflow; the task is neither moved nor
    canceled."""
    wf = redirect_workflow()
    a = od(("taskType", "callback"), ("name", t.unique_number()),
           ("callBackData", od(("numberToCall", t.unique_number()))))
    out = EMU.seed({"tasks": [{"workflow_sid": wf, "attributes": a,
                               "assignment_status": "pending",
                               "task_queue_sid": placeholder()}]})
    task = out["tasks"][0]
    lm = t.log_mark(ev.PROG)
    m = EMU.mark()
    ev.is_204(ev.event("task-queue.entered", task=task, attrs=a,
                       TaskQueueSid=placeholder()))
    reqs = EMU.requests(m)
    t.eq([r for r in reqs if r["method"] == "POST"], [], "nothing written")
    t.eq(EMU.task(task)["assignment_status"], "pending", "not canceled")
    _, _, line = t.wait_log(lm, lambda o: o.get("level") == "error" and
                            "configuration error" in (o.get("msg") or ""),
                            prog=ev.PROG)
    t.ok(line is not None, "an error line")
    t.ok(wf in line["msg"] and task in line["msg"], "names the workflow "
         "and the task: %r" % line["msg"])


# --------------------------------------------------------------------------
# both shapes, read by the template-style stack
# --------------------------------------------------------------------------


def plugin_voicemail(n, re_sid, tr_sid=None, text=None):
    """A voicemail task as the plugin library's functions wrote it."""
    cb = od(("numberToCall", n), ("numberToCallFrom", "+18005550100"),
            ("attempts", 0), ("mainTimeZone", "UTC"),
            ("utcDateTimeReceived", "2026-11-22T01:45:49.954Z"),
            ("RecordingSid", re_sid),
            ("RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/"
             "%s/Recordings/%s" % (ENV.account_sid, re_sid)))
    if tr_sid:
        cb["TranscriptionSid"] = tr_sid
    if text:
        cb["TranscriptionText"] = text
    cb["isDeleted"] = False
    return od(("taskType", "voicemail"), ("name", "Voicemail (%s)" % n),
              ("flow_execution_sid", t.sid("FW")), ("message", None),
              ("callBackData", cb), ("direction", "inbound"),
              ("conversations", od(("conversation_id", t.sid("WT")))))


@t.test
def plugin_library_voicemail_read_by_template_stack():
    """The Record widget's transcription callback finds a plugin-library
    voicemail task (one lookup over both shapes) and adds the transcript
    under that task's names; delete-voicemail clears it; a requeue writes
    the stack's (template) names with the same values."""
    n = t.unique_number()
    re_sid, tr_sid = t.sid("RE"), t.sid("TR")
    EMU.seed({"recordings": {re_sid: {"size": 1024}},
              "transcriptions": {tr_sid: {"recording_sid": re_sid,
                                          "text": "call me back"}}})
    orig = plugin_voicemail(n, re_sid)
    sid = EMU.seed({"tasks": [{"workflow_sid": ENV.workflow_sid,
                               "attributes": orig,
                               "assignment_status": "pending"}]})["tasks"][0]
    m = EMU.mark()
    r = t.request("POST", STUDIO, form=[
        ("numberToCall", n), ("numberToCallFrom", "+18005550100"),
        ("RecordingSid", re_sid), ("RecordingStatus", "completed"),
        ("TranscriptionSid", tr_sid), ("TranscriptionText", "call me back"),
        ("TranscriptionStatus", "completed")])
    t.eq(r.status, 200, "status (body %r)" % r.body[:200])
    t.eq(r.json()["taskSid"], sid, "the existing task")
    t.eq(t.task_creates(EMU.requests(m), n), [], "nothing created")
    cb = attrs_of(EMU.task(sid))["callBackData"]
    t.eq(cb.get("TranscriptionText"), "call me back", "merged, PascalCase")
    t.eq(cb.get("TranscriptionSid"), tr_sid, "TranscriptionSid")
    t.ok("transcriptText" not in cb and "recordingUrl" not in cb,
         "no template names added: %r" % cb)

    # a requeue (template stack): the same values under template names
    rq.seed_token()
    EMU.seed({"task_status": {sid: "assigned"}})
    new = rq.check_success(rq.requeue(sid))
    a = attrs_of(EMU.task(new))
    t.eq(a["taskType"], "voicemail", "still a voicemail")
    ncb = a["callBackData"]
    t.eq((ncb.get("recordingSid"), ncb.get("recordingUrl"),
          ncb.get("transcriptSid"), ncb.get("transcriptText")),
         (re_sid, cb["RecordingUrl"], tr_sid, "call me back"),
         "template names")
    t.ok(not any(k in ncb for k in ("RecordingSid", "RecordingUrl",
                                    "TranscriptionSid",
                                    "TranscriptionText")),
         "plugin names moved: %r" % ncb)

    # delete-voicemail on the plugin-library task
    r = vm.post(vm.DV, [("taskSid", sid)])
    vm.check_success(r, sid)
    t.eq(vm.media_state(re_sid, tr_sid), (True, True), "deleted (RE, TR)")
    cb = attrs_of(EMU.task(sid))["callBackData"]
    t.ok(cb["isDeleted"] is True, "isDeleted")
    t.ok("TranscriptionText" not in cb, "the text is gone: %r" % cb)


# --------------------------------------------------------------------------
# the plugin-library writer: a private copy of the programs
# --------------------------------------------------------------------------


def plugin_library_stack():
    """Every program, once, whose configuration adds
    FLEXHOOKS_ATTRIBUTE_STYLE=plugin-library; None when it cannot run."""
    for tool in ("spawn-fcgi", "nginx"):
        if shutil.which(tool) is None:
            return None
    return fhprivate.Private(
        {"FLEXHOOKS_ATTRIBUTE_STYLE": "plugin-library"}, programs=None)


@t.test
def plugin_library_style_writes_the_functions_shape():
    farm = plugin_library_stack()
    if farm is None:
        t.skip("spawn-fcgi or nginx missing")
    port = ENV.port
    try:
        farm.start()
        ENV.port = farm.port
        n = t.unique_number()
        r = t.request("POST", STUDIO, form=[
            ("numberToCall", n), ("numberToCallFrom", "+18005550100"),
            ("flexFlowSid", "FW" + "1" * 32), ("message", "hi")])
        t.eq(r.status, 200, "callback (body %r)" % r.body[:200])
        a = attrs_of(EMU.task(r.json()["taskSid"]))
        t.eq(list(a.keys()), ["taskType", "name", "flow_execution_sid",
                              "message", "callBackData", "direction",
                              "conversations"], "keys in the functions' "
             "order")
        t.eq((a["taskType"], a["name"], a["message"]),
             ("callback", "Callback (%s)" % n, "hi"), "head")
        t.eq(list(a["callBackData"].keys()),
             ["numberToCall", "numberToCallFrom", "attempts", "mainTimeZone",
              "utcDateTimeReceived", "isDeleted"], "callBackData keys")

        re_sid = t.sid("RE")
        url = "https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s" \
            % (ENV.account_sid, re_sid)
        r = t.request("POST", STUDIO, form=[
            ("numberToCall", n), ("numberToCallFrom", "+18005550100"),
            ("flexFlowSid", "FW" + "2" * 32), ("RecordingSid", re_sid),
            ("RecordingUrl", url), ("RecordingStatus", "completed")])
        t.eq(r.status, 200, "voicemail (body %r)" % r.body[:200])
        a = attrs_of(EMU.task(r.json()["taskSid"]))
        t.eq((a["taskType"], a["name"], a["message"]),
             ("voicemail", "Voicemail (%s)" % n, None), "head")
        cb = a["callBackData"]
        t.eq((cb.get("RecordingSid"), cb.get("RecordingUrl")),
             (re_sid, url), "PascalCase media keys (the panel's)")
        t.ok("recordingSid" not in cb and "recordingUrl" not in cb,
             "no template names: %r" % cb)

        # a template task in flight, requeued by this stack: converted
        rq.seed_token()
        tre = t.sid("RE")
        orig = vm.voicemail_attrs(t.unique_number(), tre, t.sid("TR"), "yo")
        sid = EMU.seed({"tasks": [{"workflow_sid": ENV.workflow_sid,
                                   "attributes": orig,
                                   "assignment_status": "assigned"}]}
                       )["tasks"][0]
        new = rq.check_success(rq.requeue(sid))
        ncb = attrs_of(EMU.task(new))["callBackData"]
        t.eq((ncb.get("RecordingSid"), ncb.get("TranscriptionText")),
             (tre, "yo"), "converted to PascalCase")
        t.ok("recordingSid" not in ncb and "transcriptText" not in ncb,
             "template names moved: %r" % ncb)
        t.eq(farm.sanitizer_reports(), [], "sanitizer reports")
    finally:
        ENV.port = port
        farm.stop()


if __name__ == "__main__":
    t.main()
