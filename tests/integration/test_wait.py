#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests of the wait experience through the real stack.

A small Twilio-like call driver plays whole calls against nginx, the
wait-experience FastCGI program and the Twilio emulator
(docs/design/wait-experience.md): it requests the waitUrl, walks the TwiML it gets
back, follows every <Redirect>, answers <Gather> with scripted digits
(None: no input, so Twilio falls through), and signs every request as
Twilio does (the URL with the credentials it was given, form mode).  The
tests assert on what the caller heard and on the emulator's tasks and
request log: the lookup, the cancel (If-Match, Reason, abandoned
"Follow-Up", the claim marker), the follow-up task and the marker's
task_sid.

Run by `deploy/local.sh test` (make check); exits 77 unless
FLEXHOOKS_TEST_STACK=1.  Other scripts share the emulator, so nothing is
reset: each test seeds its own call, queue and task and marks the request
log first.
"""

import json
import os
import signal
import threading
import time
import sys
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402
from fhwait import (  # noqa: E402
    P, PROLOGUE, Call, seed_task, attrs_of, callback_tasks, to_voicemail,
    record)

ENV = t.ENV
EMU = t.EMU


# --------------------------------------------------------------------------
# the call driver
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# seeding and reading back
# --------------------------------------------------------------------------


def check_canceled(orig_sid, reason, reqs, kind="callback"):
    tk = EMU.task(orig_sid)
    t.ok(tk is not None, "canceled task still there")
    t.eq(tk["assignment_status"], "canceled", "original task canceled")
    t.eq(tk.get("reason"), reason, "cancel reason")
    a = attrs_of(tk)
    t.eq(a["conversations"]["abandoned"], "Follow-Up", "abandoned")
    t.eq(a["conversations"]["conversation_id"], "keep-me",
         "other conversations keys kept")
    mk = a["flexhooks_followup"]
    t.eq(mk["type"], kind, "marker type")
    t.match(r"^[0-9a-f]{32}$", mk["claim"], "marker claim")
    t.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", mk["at"], "marker at")
    cancels = [r for r in reqs if r["method"] == "POST" and
               r["path"].endswith("/Tasks/" + orig_sid) and
               t.first(t.form_of(r), "AssignmentStatus") == "canceled"]
    t.eq(len(cancels), 1, "one cancel request")
    t.ok(t.header_of(cancels[0], "If-Match"), "cancel carries If-Match")
    t.eq([k for k, _ in t.form_of(cancels[0])],
         ["AssignmentStatus", "Reason", "Attributes"], "cancel fields")
    return mk


# --------------------------------------------------------------------------
# journeys
# --------------------------------------------------------------------------


@t.test
def hold_then_agent_answers():
    """Lookup through the queue's workflow; the hold loop offers the menu;
    the caller keeps holding (Gather times out) and nothing is canceled."""
    call = Call()
    wt = seed_task(call)
    m = EMU.mark()
    end = call.walk(call.start(), [None, None], stop_on_gather=True)
    t.eq(end, "loop", "back to the hold loop")
    reqs = EMU.requests(m)
    qf = [r for r in reqs if r["path"].endswith(
        "/Queues/%s.json" % call.queue_sid)]
    t.eq(len(qf), 1, "one queue fetch")
    lists = [r for r in reqs if r["method"] == "GET" and
             r["path"] == ENV.tasks_path]
    t.eq(len(lists), 1, "one task list")
    q = urllib.parse.parse_qsl(lists[0]["query"])
    t.eq(q, [("AssignmentStatus", "pending"),
             ("AssignmentStatus", "reserved"),
             ("WorkflowSid", call.wf),
             ("Ordering", "DateCreated:desc"), ("PageSize", "50")],
         "lookup query")
    t.ok(call.said(P["greeting"]), "greeting")
    t.ok(("play", ENV.public_url + "/assets/hold-music.wav") in call.heard,
         "hold music")
    t.ok(("enqueuedTaskSid=" + wt) in call.loop_url, "task in LOOP")
    t.ok("skipGreeting=true" in call.loop_url, "skipGreeting in LOOP")
    # the agent answers: TaskRouter bridges the call, no more wait requests
    EMU.seed({"task_status": {wt: "assigned"}})
    t.eq(EMU.task(wt)["assignment_status"], "assigned", "no cancel")
    t.eq(callback_tasks(call.caller), [], "no callback task")


@t.test
def callback_same_number():
    call = Call()
    wt = seed_task(call)
    m = EMU.mark()
    end = call.walk(call.start(), ["*", "1", "1"])
    t.eq(end, "hangup", "call ends")
    t.ok(call.said(P["submitted"]), "callbackSubmitted said")
    reqs = EMU.requests(m)
    mk = check_canceled(wt, "Opted to request a callback", reqs)
    cbs = callback_tasks(call.caller)
    t.eq(len(cbs), 1, "one callback task")
    cb = cbs[0]
    t.eq(mk.get("task_sid"), cb["sid"], "marker task_sid")
    a = attrs_of(cb)
    t.eq(a["callBackData"]["numberToCallFrom"], call.called,
         "numberToCallFrom = Called")
    t.eq(a["conversations"]["conversation_id"], "keep-me",
         "conversation kept")
    t.ok("abandoned" not in a["conversations"], "abandoned not copied")
    t.ok("flexhooks_followup" not in a, "marker not copied")
    t.eq(cb["workflow_sid"], call.wf, "workflow kept")
    t.eq(cb["priority"], 7, "priority kept")
    t.eq(cb["timeout"], 3600, "timeout kept")
    creates = t.task_creates(reqs, call.caller)
    t.eq(len(creates), 1, "one create request")
    t.eq(t.first(t.form_of(creates[0]), "VirtualStartTime"),
         "2026-01-02T03:04:05Z", "VirtualStartTime = date_created")


@t.test
def callback_other_number():
    call = Call()
    wt = seed_task(call)
    other = t.unique_number()
    digits = other[1:]
    end = call.walk(call.start(), ["*", "1", "2", "0123", digits, "1"])
    t.eq(end, "hangup", "call ends")
    t.ok(call.said(P["invalid"]), "invalid entry refused first")
    t.ok(("say", "You entered " + digits) in call.heard,
         "number read back")
    t.ok(call.said(P["submitted"]), "callbackSubmitted said")
    t.eq(len(callback_tasks(other)), 1, "callback to the other number")
    t.eq(callback_tasks(call.caller), [], "none to the caller's number")
    t.eq(EMU.task(wt)["assignment_status"], "canceled", "canceled")


@t.test
def lookup_fails_then_succeeds():
    call = Call(queue=False)
    m = EMU.mark()
    end = call.walk(call.start(), [], stop_on_gather=True, max_docs=3)
    t.eq(end, "loop", "hold loop without a task")
    t.ok(call.said(P["unavailable"]), "menu unavailable")
    t.ok("lookup=2" in call.loop_url, "lookup counted: " + call.loop_url)
    reqs = EMU.requests(m)
    lists = [r for r in reqs if r["path"] == ENV.tasks_path]
    t.eq(len(lists), 2, "one lookup per document")
    t.ok(all("WorkflowSid" not in r["query"] for r in lists),
         "no QueueSid: no WorkflowSid filter")
    # created now: the lookup without a workflow reads one page, newest
    # first
    wt = seed_task(call, created=None)
    call.heard = []
    end = call.walk(call.post(call.loop_url), [None], stop_on_gather=True)
    t.eq(end, "loop", "back to the loop")
    t.ok(("enqueuedTaskSid=" + wt) in call.loop_url, "task found later")
    t.ok(any(k == "say" and "star key" in v for k, v in call.heard),
         "menu offered now")
    t.ok(not call.said(P["greeting"]), "no greeting after the first loop")


@t.test
def agent_accepts_during_menu():
    call = Call()
    wt = seed_task(call)
    end = call.walk(call.start(), ["*", "1"], stop_on_gather=True)
    t.eq(end, "gather", "at the callback choice")
    EMU.seed({"task_status": {wt: "assigned"}})
    m = EMU.mark()
    r = call.post(call.gather.get("action"), [("Digits", "1")])
    end = call.walk(r, [], stop_on_gather=True)
    t.eq(end, "loop", "back to holding")
    t.ok(call.said(P["agent"]), "agentConnecting said")
    t.eq(EMU.task(wt)["assignment_status"], "assigned", "not canceled")
    t.eq(callback_tasks(call.caller), [], "no callback task")
    t.eq(t.task_creates(EMU.requests(m), call.caller), [], "no create")


@t.test
def same_webhook_twice():
    call = Call()
    wt = seed_task(call)
    end = call.walk(call.start(), ["*", "1"], stop_on_gather=True)
    t.eq(end, "gather", "at the callback choice")
    r = call.post(call.gather.get("action"), [("Digits", "1")])
    root = ET.fromstring(r.body)
    submit = root.find("Redirect").text
    t.ok("mode=submit-callback" in submit, "SUBMIT")
    r1 = call.post(submit)
    r2 = call.post(submit)
    for r in (r1, r2):
        t.eq(r.status, 200, "status")
        t.ok(b"Thank you. A callback has been requested." in r.body,
             "callbackSubmitted both times")
    t.eq(len(callback_tasks(call.caller)), 1, "one callback task only")
    # the caller presses keys twice: a second submit from the menu
    r3 = call.post(submit)
    t.ok(b"<Hangup/>" in r3.body, "hang up again")
    t.eq(len(callback_tasks(call.caller)), 1, "still one")
    t.eq(EMU.task(wt)["assignment_status"], "canceled", "canceled once")


@t.test
def voicemail_leaves_queue():
    call = Call()
    wt = seed_task(call)
    m = EMU.mark()
    end = call.walk(call.start(), ["*", "2", "1"])
    t.eq(end, "pause", "wait document kept busy")
    t.ok(("pause", "10") in call.heard, "Pause 10")
    reqs = EMU.requests(m)
    check_canceled(wt, "Opted to leave a voicemail", reqs, "voicemail")
    ups = [r for r in reqs if r["method"] == "POST" and
           r["path"].endswith("/Calls/%s.json" % call.sid)]
    t.eq(len(ups), 1, "one call update")
    f = t.form_of(ups[0])
    t.eq([k for k, _ in f], ["Url", "Method", "StatusCallback",
                             "StatusCallbackMethod"], "update fields")
    url = t.first(f, "Url")
    q = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)
    t.eq(q, [("mode", "record-voicemail"), ("enqueuedTaskSid", wt),
             ("to", call.caller), ("calledNumber", call.called),
             ("workflowSid", call.wf), ("taskTimeout", "3600"),
             ("taskPriority", "7"), ("taskChannel", "voice"),
             ("virtualStartTime", "2026-01-02T03:04:05Z")], "Url state")
    t.ok("mode=voicemail-call-ended" in t.first(f, "StatusCallback"),
         "StatusCallback")
    # Twilio now requests the Url: the caller hears the record prompt
    call.heard = []
    end = call.walk(call.post(url), [])
    t.eq(end, "record", "Record")
    t.ok(call.said(P["record"]), "record prompt")
    t.eq(call.record.get("maxLength"), "120", "maxLength")
    t.eq(callback_tasks(call.caller), [], "no callback task yet")


@t.test
def voicemail_caller_gone():
    """The call update is refused with 21220: a callback task instead."""
    call = Call()
    wt = seed_task(call)
    end = call.walk(call.start(), ["*", "2"], stop_on_gather=True)
    t.eq(end, "gather", "at the voicemail number choice")
    EMU.seed({"calls": {call.sid: "completed"}})
    r = call.post(call.gather.get("action"), [("Digits", "1")])
    sub = ET.fromstring(r.body).find("Redirect").text
    t.ok("mode=start-voicemail" in sub, "start-voicemail")
    r = call.post(sub)
    t.eq(r.body, PROLOGUE + b"<Hangup/></Response>", "just hang up")
    t.eq(len(callback_tasks(call.caller)), 1, "callback task created")
    t.eq(EMU.task(wt)["assignment_status"], "canceled", "canceled")


@t.test
def cancel_stale_etag():
    """The cancel meets 412 once: fetch again, cancel again, one task."""
    call = Call()
    wt = seed_task(call)
    end = call.walk(call.start(), ["*", "1"], stop_on_gather=True)
    t.eq(end, "gather", "at the callback choice")
    EMU.fault(method="POST", path=ENV.tasks_path + "/" + wt, exact=True,
              status=412, times=1)
    m = EMU.mark()
    end = call.walk(call.post(call.gather.get("action"),
                              [("Digits", "1")]), [])
    t.eq(end, "hangup", "call ends")
    t.ok(call.said(P["submitted"]), "callbackSubmitted")
    reqs = EMU.requests(m)
    cancels = [r for r in reqs if r["method"] == "POST" and
               r["path"].endswith("/Tasks/" + wt) and
               t.first(t.form_of(r), "AssignmentStatus") == "canceled"]
    t.eq(len(cancels), 2, "cancel sent twice")
    t.ok(all(t.header_of(r, "If-Match") for r in cancels), "If-Match")
    fetches = [r for r in reqs if r["method"] == "GET" and
               r["path"].endswith("/Tasks/" + wt)]
    t.eq(len(fetches), 2, "fetched again after 412")
    t.eq(len(callback_tasks(call.caller)), 1, "one callback task")


@t.test
def lookup_null_attributes():
    """The list shows null attributes: one EvaluateTaskAttributes query."""
    call = Call()
    wf = t.sid("WW")
    wt = seed_task(call, wf=wf)
    EMU.fault(method="GET", path=ENV.tasks_path, exact=True, query=wf,
              query_absent="EvaluateTaskAttributes",
              null_list_attributes=True, times=1)
    m = EMU.mark()
    r = call.start()
    t.ok(("enqueuedTaskSid=" + wt).encode() in r.body, "task found")
    lists = [r for r in EMU.requests(m) if r["method"] == "GET" and
             r["path"] == ENV.tasks_path]
    t.eq(len(lists), 2, "list, then the fallback")
    q = urllib.parse.parse_qsl(lists[1]["query"])
    t.eq(q, [("AssignmentStatus", "pending"),
             ("AssignmentStatus", "reserved"),
             ("EvaluateTaskAttributes", 'call_sid == "%s"' % call.sid)],
         "fallback query")


@t.test
def hold_music_asset():
    """The default hold music: our own 30-second WAV, served without
    credentials (Twilio fetches <Play> URLs without them)."""
    r = t.request("GET", "/assets/hold-music.wav", auth=None, signature=None)
    t.eq(r.status, 200, "status")
    t.ok(r.header("Content-Type") in ("audio/wav", "audio/x-wav"),
         "content type %r" % r.header("Content-Type"))
    import io
    import wave
    with wave.open(io.BytesIO(r.body)) as w:
        t.eq(w.getnchannels(), 1, "mono")
        t.eq(w.getframerate(), 8000, "8 kHz")
        t.eq(w.getnframes(), 30 * 8000, "30 seconds")
    call = Call()
    seed_task(call)
    call.walk(call.start(), [None], stop_on_gather=True)
    t.ok(("play", ENV.public_url + "/assets/hold-music.wav") in call.heard,
         "the TwiML plays it")


@t.test
def incoming_call_then_wait():
    """/incoming-call enqueues with the wait experience as waitUrl; the
    enqueued call then holds with the menu (TaskRouter's part, creating
    the task, is played by seeding it)."""
    call = Call()
    r = t.request("POST", "/incoming-call", form=call.params())
    t.eq(r.status, 200, "status")
    t.eq(r.header("Content-Type"), "text/xml; charset=utf-8", "type")
    root = ET.fromstring(r.body)
    enq = root.find("Enqueue")
    t.ok(enq is not None, "Enqueue: %r" % r.body)
    t.eq(enq.get("workflowSid"), ENV.workflow_sid, "workflow")
    t.eq(enq.get("waitUrlMethod"), "POST", "waitUrlMethod")
    attrs = json.loads(enq.find("Task").text)
    t.eq(attrs, {"type": "inbound", "name": call.caller,
                 "conversations": {"hang_up_by": "Customer"}},
         "task attributes")
    wait_url = enq.get("waitUrl")
    t.ok("?" not in wait_url, "no query string")
    call.wf = ENV.workflow_sid
    seed_task(call, created=None)
    end = call.walk(call.post(wait_url), [None], stop_on_gather=True)
    t.eq(end, "loop", "holding")
    t.ok(any(k == "say" and "star key" in v for k, v in call.heard),
         "menu offered")
    # unsigned or without credentials: refused before any TwiML
    r = t.request("POST", "/incoming-call", form=call.params(),
                  signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    t.eq(r.status, 403, "bad signature")
    r = t.request("POST", "/incoming-call", form=call.params(), auth=None)
    t.eq(r.status, 401, "no Basic credentials")


def voicemail_tasks(rec_sid):
    out = []
    for tk in EMU.tasks():
        a = attrs_of(tk) or {}
        cb = a.get("callBackData") or {}
        if a.get("taskType") == "voicemail" and \
                cb.get("recordingSid") == rec_sid:
            out.append(tk)
    return out


@t.test
def voicemail_with_transcription():
    call = Call()
    wt = seed_task(call)
    url, status_cb = to_voicemail(call)
    rec_sid = t.sid("RE")
    r, rec_url, extra = record(call, url, rec_sid)
    t.eq(r.body, PROLOGUE + b'<Say voice="Polly.Joanna">' +
         P["recorded"].encode() + b"</Say><Hangup/></Response>",
         "voicemailRecorded")
    vms = voicemail_tasks(rec_sid)
    t.eq(len(vms), 1, "one voicemail task")
    vm = vms[0]
    a = attrs_of(vm)
    cb = a["callBackData"]
    t.eq(cb["numberToCall"], call.caller, "numberToCall")
    t.eq(cb["numberToCallFrom"], call.called, "numberToCallFrom")
    t.eq(cb["recordingUrl"], rec_url, "recordingUrl")
    t.ok("transcriptText" not in cb or not cb["transcriptText"],
         "no transcript yet")
    t.eq(a["conversations"]["conversation_id"], "keep-me", "conversation")
    t.eq(vm["priority"], 7, "priority kept")
    t.eq(attrs_of(EMU.task(wt))["flexhooks_followup"].get("task_sid"),
         vm["sid"], "marker task_sid")
    # the same Record action again: nothing new
    r2 = call.post(call.record.get("action"), extra)
    t.eq(r2.status, 200, "repeat answered")
    t.eq(len(voicemail_tasks(rec_sid)), 1, "still one voicemail task")
    # the transcription arrives: added to that task
    tr_sid = t.sid("TR")
    tcb = call.record.get("transcribeCallback")
    r = call.post(tcb, [("RecordingSid", rec_sid), ("RecordingUrl",
                                                     rec_url),
                        ("TranscriptionSid", tr_sid),
                        ("TranscriptionText", "please call me back"),
                        ("TranscriptionStatus", "completed")])
    t.eq(r.status, 204, "transcribeCallback answered 204")
    vms = voicemail_tasks(rec_sid)
    t.eq(len(vms), 1, "one voicemail task after the transcript")
    cb = attrs_of(vms[0])["callBackData"]
    t.eq(cb.get("transcriptText"), "please call me back", "transcript")
    t.eq(cb.get("transcriptSid"), tr_sid, "transcriptSid")
    # the call ends: the recording exists, so no callback task
    r = call.post(status_cb, [("CallStatus", "completed")])
    t.eq(r.status, 204, "status callback answered 204")
    t.eq(callback_tasks(call.caller), [], "no callback task")


@t.test
def voicemail_without_transcription():
    call = Call()
    seed_task(call)
    url, status_cb = to_voicemail(call)
    rec_sid = t.sid("RE")
    r, rec_url, _ = record(call, url, rec_sid)
    t.ok(P["recorded"].encode() in r.body, "voicemailRecorded")
    r = call.post(call.record.get("transcribeCallback"),
                  [("RecordingSid", rec_sid), ("RecordingUrl", rec_url),
                   ("TranscriptionSid", t.sid("TR")),
                   ("TranscriptionStatus", "failed")])
    t.eq(r.status, 204, "failed transcription answered 204")
    vms = voicemail_tasks(rec_sid)
    t.eq(len(vms), 1, "the voicemail task exists without a transcript")
    t.ok(not attrs_of(vms[0])["callBackData"].get("transcriptText"),
         "no transcript")
    t.eq(call.post(status_cb, [("CallStatus", "completed")]).status, 204,
         "call end")
    t.eq(callback_tasks(call.caller), [], "no callback task")


@t.test
def transcription_before_recording_action():
    """The transcribeCallback may come first: it creates the task, the
    Record action then finds it."""
    call = Call()
    seed_task(call)
    url, _ = to_voicemail(call)
    call.heard = []
    t.eq(call.walk(call.post(url), []), "record", "Record")
    rec_sid = t.sid("RE")
    rec_url = "https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s" \
        % (ENV.account_sid, rec_sid)
    r = call.post(call.record.get("transcribeCallback"),
                  [("RecordingSid", rec_sid), ("RecordingUrl", rec_url),
                   ("TranscriptionSid", t.sid("TR")),
                   ("TranscriptionText", "early"),
                   ("TranscriptionStatus", "completed")])
    t.eq(r.status, 204, "204")
    r = call.post(call.record.get("action"), [("RecordingSid", rec_sid),
                                              ("RecordingUrl", rec_url)])
    t.ok(P["recorded"].encode() in r.body, "voicemailRecorded")
    vms = voicemail_tasks(rec_sid)
    t.eq(len(vms), 1, "one voicemail task")
    t.eq(attrs_of(vms[0])["callBackData"].get("transcriptText"), "early",
         "transcript kept")


@t.test
def hangup_before_recording():
    call = Call()
    wt = seed_task(call)
    url, status_cb = to_voicemail(call)
    call.heard = []
    t.eq(call.walk(call.post(url), []), "record", "Record")
    # the caller hangs up before the beep: no recording
    r = call.post(status_cb, [("CallStatus", "completed")])
    t.eq(r.status, 204, "status callback answered 204")
    cbs = callback_tasks(call.caller)
    t.eq(len(cbs), 1, "a callback task instead")
    a = attrs_of(cbs[0])
    t.eq(a["callBackData"]["numberToCallFrom"], call.called,
         "numberToCallFrom")
    t.eq(attrs_of(EMU.task(wt))["flexhooks_followup"].get("task_sid"),
         cbs[0]["sid"], "marker task_sid")
    # Twilio repeats the status callback: nothing new
    t.eq(call.post(status_cb, [("CallStatus", "completed")]).status, 204,
         "repeat")
    t.eq(len(callback_tasks(call.caller)), 1, "still one callback task")


@t.test
def nothing_recorded_three_times():
    call = Call()
    seed_task(call)
    url, _ = to_voicemail(call)
    call.heard = []
    end = call.walk(call.post(url), [])
    t.eq(end, "record", "try 1")
    # Twilio falls through the Record when nothing was recorded
    seen = []
    r = call.post(url)
    for _ in range(4):
        root = ET.fromstring(r.body)
        red = root.find("Redirect")
        if red is None:
            break
        seen.append(red.text)
        r = call.post(red.text)
    t.ok("try=2" in seen[0], "try 2")
    t.ok("try=3" in seen[1], "try 3")
    t.ok("mode=voicemail-recorded" in seen[2], "then voicemail-recorded")
    t.eq(r.body, PROLOGUE + b'<Say voice="Polly.Joanna">' +
         P["submitted"].encode() + b"</Say><Hangup/></Response>",
         "callbackSubmitted, the call ends")


# --------------------------------------------------------------------------
# withheld callers and claims that outlive a failure (issue 16)
# --------------------------------------------------------------------------


@t.test
def withheld_callers_get_no_same_number():
    """Twilio's stand-ins for a withheld number look like E.164: none of
    them is offered a callback to "the same number"."""
    same = "To request a callback to the same number"
    for caller in ("+266696687", "+7378742833", "+2562533",
                   "+86282452253", "anonymous", "Restricted"):
        for digit in ("1", "2"):
            call = Call(caller=caller)
            seed_task(call)
            end = call.walk(call.start(), ["*", digit], stop_on_gather=True)
            t.eq(end, "gather", "%s %s: a Gather" % (caller, digit))
            t.ok("mode=handle-callback-for-other-number-confirmation-option"
                 in call.gather.get("action"), "%s %s: number entry, got %s"
                 % (caller, digit, call.gather.get("action")))
            t.ok(not any(same in x for _, x in call.heard if x),
                 "%s %s: same-number choice offered" % (caller, digit))
            t.ok(not any(b"submit-callback" in d or b"start-voicemail" in d
                         for d in call.docs), "%s: submitted" % caller)
    # and a real number still gets it
    call = Call()
    seed_task(call)
    call.walk(call.start(), ["*", "1"], stop_on_gather=True)
    t.ok(any(same in x for _, x in call.heard if x), "same-number choice")


def submit_url(call):
    """The submit-callback URL the menu gives a caller who presses * 1 1
    (nothing is canceled yet)."""
    end = call.walk(call.start(), ["*", "1"], stop_on_gather=True)
    t.eq(end, "gather", "at the callback choice")
    r = call.post(call.gather.get("action"), [("Digits", "1")])
    url = ET.fromstring(r.body).find("Redirect").text
    t.ok("mode=submit-callback" in url, "SUBMIT")
    return url


FAILED = ("Sorry, we were unable to complete your request. Please call "
          "again later. Goodbye.")


@t.test
def submit_429_then_repeat_creates_one():
    """The create meets 429 until the retries run out: the caller hears
    followUpFailed (not "submitted"), the claim is marked failed, and a
    repeat of the request (Twilio's retry) creates the callback once."""
    call = Call()
    wt = seed_task(call)
    url = submit_url(call)
    limit = ENV.retry_limit + 1
    EMU.fault(method="POST", path=ENV.tasks_path, exact=True, status=429,
              retry_after="1", times=limit)
    try:
        r1 = call.post(url)
    finally:
        left = EMU.remove_faults(lambda f: f.get("path") == ENV.tasks_path
                                 and f.get("status") == 429)
    t.eq(left, 0, "the 429 fault was used up")
    t.eq(r1.status, 200, "status")
    t.ok(FAILED.encode() in r1.body, "followUpFailed: %r" % r1.body)
    t.ok(b"A callback has been requested" not in r1.body, "no submitted")
    t.eq(callback_tasks(call.caller), [], "no callback task yet")
    tk = EMU.task(wt)
    t.eq(tk["assignment_status"], "canceled", "canceled")
    mk = attrs_of(tk)["flexhooks_followup"]
    t.eq(mk.get("failed"), True, "claim marked failed")
    t.ok("task_sid" not in mk, "no task_sid")
    # the repeat does the work
    r2 = call.post(url)
    t.ok(P["submitted"].encode() in r2.body, "submitted: %r" % r2.body)
    cbs = callback_tasks(call.caller)
    t.eq(len(cbs), 1, "one callback task")
    mk2 = attrs_of(EMU.task(wt))["flexhooks_followup"]
    t.eq(mk2.get("task_sid"), cbs[0]["sid"], "marker task_sid")
    t.ok("failed" not in mk2, "the new claim is not failed")
    t.ok(mk2["claim"] != mk["claim"], "a new claim")
    # a third time: a repeat, nothing more
    r3 = call.post(url)
    t.ok(P["submitted"].encode() in r3.body, "submitted again")
    t.eq(len(callback_tasks(call.caller)), 1, "still one")


def with_marker(wt, call, **mk):
    a = {"call_sid": call.sid, "from": call.caller, "name": call.caller,
         "conversations": {"conversation_id": "keep-me",
                           "abandoned": "Follow-Up"},
         "flexhooks_followup": dict(mk)}
    EMU.seed({"task_status": {wt: {"assignment_status": "canceled",
                                   "reason": "Opted to request a callback",
                                   "attributes": a}}})


def utc_ago(seconds):
    import datetime
    d = datetime.datetime.now(datetime.timezone.utc) - \
        datetime.timedelta(seconds=seconds)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


@t.test
def foreign_claim_without_task_never_says_submitted():
    """Another request's fresh claim without its task: come back shortly
    (Pause, Redirect), never "submitted"; once stale, take it over."""
    call = Call()
    wt = seed_task(call)
    url = submit_url(call)
    with_marker(wt, call, type="callback", claim="a" * 32, at=utc_ago(0))
    m = EMU.mark()
    r = call.post(url)
    t.eq(r.status, 200, "status")
    root = ET.fromstring(r.body)
    t.eq([v.tag for v in root], ["Pause", "Redirect"], "Pause, Redirect")
    t.eq(root.find("Pause").get("length"), "2", "pause length")
    t.ok("mode=submit-callback" in root.find("Redirect").text, "back to "
         "submit-callback")
    t.eq(t.task_creates(EMU.requests(m), call.caller), [], "no create")
    # the claim went stale (its process died): the next request does it
    with_marker(wt, call, type="callback", claim="a" * 32,
                at=utc_ago(120))
    r = call.post(url)
    t.ok(P["submitted"].encode() in r.body, "submitted: %r" % r.body)
    cbs = callback_tasks(call.caller)
    t.eq(len(cbs), 1, "one callback task")
    mk = attrs_of(EMU.task(wt))["flexhooks_followup"]
    t.eq(mk.get("task_sid"), cbs[0]["sid"], "marker task_sid")
    # and a finished marker is a repeat
    r = call.post(url)
    t.ok(P["submitted"].encode() in r.body, "repeat")
    t.eq(len(callback_tasks(call.caller)), 1, "still one")


def worker_pids(prog):
    """The live worker processes of the stack's prog."""
    return t.program_pids(prog)[1:]


def during_create(call, url, fault, act, paths=()):
    """POST url (submit-callback) while the emulator holds the create
    under fault, and call act() once the create has arrived; the faults on
    the tasks path and on paths are removed afterwards.  -> (the answer,
    the emulator's mark from before the POST)."""
    EMU.fault(method="POST", path=ENV.tasks_path, exact=True, times=1,
              **fault)
    m = EMU.mark()
    box = []
    th = threading.Thread(target=lambda: box.append(call.post(url)))
    th.start()
    try:
        end = time.monotonic() + 10
        while not t.task_creates(EMU.requests(m), call.caller):
            t.ok(time.monotonic() < end, "the create never arrived")
            time.sleep(0.05)
        act()
        th.join(30)
    finally:
        EMU.remove_faults(lambda f: f.get("path") in (ENV.tasks_path,) +
                          tuple(paths))
    return box[0], m


def kill_during_create(call, url, fault):
    """POST url (submit-callback) and kill -9 the wait-experience workers
    while the emulator holds the create under fault: -> the answer nginx
    gave for the lost request."""
    before = worker_pids("wait-experience")
    t.ok(before, "wait-experience workers")

    def kill():
        for pid in worker_pids("wait-experience"):
            os.kill(pid, signal.SIGKILL)
    r, _ = during_create(call, url, fault, kill)
    end = time.monotonic() + 15
    while not [p for p in worker_pids("wait-experience") if p not in before]:
        t.ok(time.monotonic() < end, "no new worker")
        time.sleep(0.1)
    t.eq(r.status, 200, "nginx's TwiML for a lost upstream")
    t.ok(b"Please continue to hold" in r.body, "holding: %r" % r.body)
    return r


def claim_ages(wt, seconds):
    """The claim on wt, as if made seconds ago (the same claim)."""
    a = attrs_of(EMU.task(wt))
    a["flexhooks_followup"]["at"] = utc_ago(seconds)
    EMU.seed({"task_status": {wt: {"assignment_status": "canceled",
                                   "attributes": a}}})


@t.test
def worker_killed_between_cancel_and_create():
    """The process dies after the cancel landed and before the create
    (kill -9 while the create is held, then dropped, by the emulator): the
    caller keeps holding (nginx's TwiML), the original is canceled with a
    claim and no task; a repeat never says "submitted" while the claim is
    fresh, and once it is stale the next request creates the callback,
    once."""
    call = Call()
    wt = seed_task(call)
    url = submit_url(call)
    r = kill_during_create(call, url, {"delay_ms": 4000, "drop": True})
    t.ok(b"A callback has been requested" not in r.body, "no submitted")
    time.sleep(1.0)     # the held create is dropped, never applied
    t.eq(callback_tasks(call.caller), [], "no callback task")
    tk = EMU.task(wt)
    t.eq(tk["assignment_status"], "canceled", "the cancel landed")
    mk = attrs_of(tk)["flexhooks_followup"]
    t.ok("task_sid" not in mk and not mk.get("failed"),
         "a claim without its task: %r" % mk)
    # a repeat while the claim is fresh: come back shortly, never
    # "submitted", nothing created
    m = EMU.mark()
    r = call.post(url)
    t.ok(b"A callback has been requested" not in r.body, "fresh claim: "
         "%r" % r.body)
    t.eq(t.task_creates(EMU.requests(m), call.caller), [], "no create")
    # two minutes later: the next request finishes the work, once
    claim_ages(wt, 120)
    r = call.post(url)
    t.ok(P["submitted"].encode() in r.body, "stale claim finished: %r" %
         r.body)
    t.eq(len(callback_tasks(call.caller)), 1, "one callback task")
    r = call.post(url)
    t.ok(P["submitted"].encode() in r.body, "repeat")
    t.eq(len(callback_tasks(call.caller)), 1, "still one")



# --------------------------------------------------------------------------
# a claim taken over after its follow-up was made
# (docs/design/wait-experience.md#cancel-and-claim)
# --------------------------------------------------------------------------

PROCESSING = b"Sorry, we were unable to perform this operation."


def followup_lookups(reqs, wt):
    """The task lists among reqs that look for a follow-up of wt."""
    return [r for r in reqs if r["method"] == "GET" and
            r["path"] == ENV.tasks_path and
            "flexhooks_followup_of == \"%s\"" % wt in
            (t.first(r.get("query_params") or [], "EvaluateTaskAttributes")
             or "")]


def adopted_on_takeover(call, wt, url):
    """The claim on wt holds no task_sid although its callback exists:
    once stale, the next request adopts that callback (one lookup, no
    create) and writes its SID into the marker."""
    cbs = callback_tasks(call.caller)
    t.eq(len(cbs), 1, "the callback was made")
    mk = attrs_of(EMU.task(wt))["flexhooks_followup"]
    t.ok("task_sid" not in mk, "a claim without its task: %r" % mk)
    claim_ages(wt, 120)
    m = EMU.mark()
    r = call.post(url)
    t.ok(P["submitted"].encode() in r.body, "submitted: %r" % r.body)
    reqs = EMU.requests(m)
    t.eq(len(t.task_creates(reqs, call.caller)), 0, "no second create")
    t.eq([x["sid"] for x in callback_tasks(call.caller)], [cbs[0]["sid"]],
         "still the one callback task")
    t.eq(len(followup_lookups(reqs, wt)), 1, "one follow-up lookup")
    t.eq(attrs_of(cbs[0]).get("flexhooks_followup_of"), wt,
         "the callback names its original")
    t.eq(attrs_of(EMU.task(wt))["flexhooks_followup"].get("task_sid"),
         cbs[0]["sid"], "the marker now holds its task_sid")
    # and from now on a plain repeat, without a lookup
    m = EMU.mark()
    r = call.post(url)
    t.ok(P["submitted"].encode() in r.body, "repeat")
    t.eq(followup_lookups(EMU.requests(m), wt), [], "no lookup")
    t.eq(len(callback_tasks(call.caller)), 1, "still one")


@t.test
def marker_write_lost_then_stale_takeover_adopts():
    """The create lands but the marker write (step 7) meets 5xx until the
    retries run out: the caller hears "submitted", the claim keeps no
    task_sid; once stale, a repeat adopts the callback instead of making a
    second one."""
    call = Call()
    wt = seed_task(call)
    url = submit_url(call)
    wt_path = ENV.tasks_path + "/" + wt
    # hold the create's answer so that the marker fault comes after the
    # cancel and before the marker write
    r, m = during_create(
        call, url, {"answer_delay_ms": 1500},
        lambda: EMU.fault(method="POST", path=wt_path, exact=True,
                          status=500, times=0),
        (wt_path,))
    t.ok(P["submitted"].encode() in r.body, "submitted: %r" % r.body)
    t.ok([r for r in EMU.requests(m) if r["method"] == "POST" and
          r["path"] == wt_path and "task_sid" in (r.get("body") or "")],
         "the marker write was tried")
    adopted_on_takeover(call, wt, url)


@t.test
def worker_killed_after_create():
    """The process dies after the create landed and before the marker
    write (kill -9 while the emulator holds the create's answer): once
    the claim is stale, a repeat adopts the callback."""
    call = Call()
    wt = seed_task(call)
    url = submit_url(call)
    kill_during_create(call, url, {"answer_delay_ms": 4000})
    time.sleep(0.5)
    adopted_on_takeover(call, wt, url)


@t.test
def takeover_lookup_fails_keeps_claim():
    """A stale claim whose follow-up cannot be looked for (the list
    fails) is not taken over: processingError, no create, the claim
    unchanged; the next request, with the list back, does the work."""
    call = Call()
    wt = seed_task(call)
    url = submit_url(call)
    with_marker(wt, call, type="callback", claim="b" * 32, at=utc_ago(120))
    EMU.fault(method="GET", path=ENV.tasks_path, exact=True, status=500,
              query="EvaluateTaskAttributes", times=0)
    m = EMU.mark()
    try:
        r = call.post(url)
    finally:
        EMU.remove_faults(lambda f: f.get("path") == ENV.tasks_path and
                          f.get("status") == 500)
    t.ok(PROCESSING in r.body, "processingError: %r" % r.body)
    t.ok(P["submitted"].encode() not in r.body, "no submitted")
    reqs = EMU.requests(m)
    t.ok(followup_lookups(reqs, wt), "looked for the follow-up")
    t.eq(t.task_creates(reqs, call.caller), [], "no create")
    mk = attrs_of(EMU.task(wt))["flexhooks_followup"]
    t.eq(mk.get("claim"), "b" * 32, "the claim is kept")
    r = call.post(url)
    t.ok(P["submitted"].encode() in r.body, "then submitted: %r" % r.body)
    cbs = callback_tasks(call.caller)
    t.eq(len(cbs), 1, "one callback task")
    t.eq(attrs_of(EMU.task(wt))["flexhooks_followup"].get("task_sid"),
         cbs[0]["sid"], "marker task_sid")


@t.test
def call_ended_repeat_after_lost_marker_write():
    """voicemail-call-ended makes the callback of a caller who hung up
    before recording, but its marker write fails: a repeat of the status
    callback finds that callback instead of making another."""
    call = Call()
    wt = seed_task(call)
    url, status_cb = to_voicemail(call)
    call.heard = []
    t.eq(call.walk(call.post(url), []), "record", "Record")
    wt_path = ENV.tasks_path + "/" + wt
    EMU.fault(method="POST", path=wt_path, exact=True, status=500, times=0)
    try:
        r = call.post(status_cb, [("CallStatus", "completed")])
    finally:
        EMU.remove_faults(lambda f: f.get("path") == wt_path)
    t.eq(r.status, 204, "204")
    cbs = callback_tasks(call.caller)
    t.eq(len(cbs), 1, "a callback task")
    t.ok("task_sid" not in attrs_of(EMU.task(wt))["flexhooks_followup"],
         "the marker write was lost")
    m = EMU.mark()
    t.eq(call.post(status_cb, [("CallStatus", "completed")]).status, 204,
         "repeat")
    t.eq(len(t.task_creates(EMU.requests(m), call.caller)), 0, "no create")
    t.eq([x["sid"] for x in callback_tasks(call.caller)], [cbs[0]["sid"]],
         "still the one callback task")
    t.eq(attrs_of(EMU.task(wt))["flexhooks_followup"].get("task_sid"),
         cbs[0]["sid"], "the marker now holds its task_sid")


if __name__ == "__main__":
    t.require_stack()
    t.main()
