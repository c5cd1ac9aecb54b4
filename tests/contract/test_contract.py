#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Contract test: flexhooks' Twilio requests against Twilio's own OpenAPI.

docs/design/platform.md#contract-tests.  Starts two Prism mocks on loopback, one per
spec file of ../shared/twilio-oai/ (TaskRouter as shipped; the 2010 API as a
patched copy made by patch_oai.py in a temporary directory), drives
flexhooks through nginx (studio create-callback: form, JSON and GET
requests, optional fields, the voicemail flow), reads back from the Twilio
emulator every request flexhooks made for them, and replays each one to the
matching mock (same method, path, query, Content-Type, Authorization,
If-Match and body), asserting a 2xx.  Because Prism drops unknown form
fields before validating, every form request's key set is also compared
with the exact names expected for its operation and with the properties
the operation declares; query names are checked the same way.  IAM and
recording media are in neither spec and are not replayed.

Exits 77 (SKIP) unless FLEXHOOKS_TEST_STACK=1 and FLEXHOOKS_PRISM names the
prism binary.  The mocks are always stopped at the end.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import fhtest as t  # noqa: E402
import patch_oai  # noqa: E402

ENV = t.ENV
EMU = t.EMU
PATH = "/features/callback-and-voicemail/studio/create-callback"
TASKROUTER_SPEC = "twilio_taskrouter_v1.json"
API_SPEC = "twilio_api_v2010.json"
READY_TIMEOUT = 120.0

# Exact field names per operation (docs/design/platform.md#twilio-rest-requests): each
# entry lists the allowed key sets; a request must match one of them
# exactly.  Keys are (method, OAI path template).
TR = "/v1/Workspaces/{WorkspaceSid}"
AC = "/2010-04-01/Accounts/{AccountSid}"
TASK_CREATE = {"Timeout", "Priority", "TaskChannel", "WorkflowSid",
               "Attributes"}
EXPECTED_FORM = {
    ("POST", TR + "/Tasks"): [TASK_CREATE, TASK_CREATE | {
        "VirtualStartTime"}],
    ("POST", TR + "/Tasks/{Sid}"): [{"Attributes"},
                                    {"AssignmentStatus", "Reason"},
                                    {"AssignmentStatus", "Reason",
                                     "Attributes"}],
    ("POST", TR + "/Tasks/{TaskSid}/Reservations/{Sid}"): [
        {"ReservationStatus"}],
    ("POST", AC + "/Calls.json"): [
        {"To", "From", "Url", "Method", "StatusCallback",
         "StatusCallbackMethod", "StatusCallbackEvent", "MachineDetection",
         "MachineDetectionSpeechThreshold"},
        {"To", "From", "Url", "Method", "StatusCallback",
         "StatusCallbackMethod", "StatusCallbackEvent", "MachineDetection"}],
    ("POST", AC + "/Calls/{Sid}.json"): [{"Url", "Method"}, {"Twiml"},
                                         {"Status"},
                                         {"Url", "Method", "StatusCallback",
                                          "StatusCallbackMethod"}],
}
# flexhooks-provision (docs/design/taskrouter-events.md#provisioning)
WS = "/v1/Workspaces/{Sid}"
EXPECTED_FORM.update({
    ("POST", TR + "/TaskQueues"): [{"FriendlyName", "TargetWorkers"}],
    ("POST", TR + "/TaskQueues/{Sid}"): [{"TargetWorkers"}],
    ("POST", TR + "/Workflows"): [
        {"FriendlyName", "Configuration"},
        {"FriendlyName", "Configuration", "TaskReservationTimeout"}],
    ("POST", TR + "/Workflows/{Sid}"): [
        {"Configuration"}, {"TaskReservationTimeout"},
        {"Configuration", "TaskReservationTimeout"}],
    ("POST", TR + "/Workers"): [{"FriendlyName", "Attributes",
                                 "ActivitySid"}],
    ("POST", TR + "/Workers/{Sid}"): [{"Attributes"}, {"ActivitySid"},
                                      {"Attributes", "ActivitySid"}],
    ("POST", WS): [{"EventCallbackUrl", "EventsFilter"},
                   {"EventCallbackUrl"}, {"EventsFilter"}],
    # --workspace NAME: a workspace of its own, with its event callback
    ("POST", "/v1/Workspaces"): [{"FriendlyName", "EventCallbackUrl",
                                  "EventsFilter"}, {"FriendlyName"}],
})
LIST_QUERY = [{"FriendlyName", "PageSize"},
              {"FriendlyName", "PageSize", "Page"}]
EXPECTED_QUERY = {
    ("GET", WS): [set()],
    ("GET", "/v1/Workspaces"): LIST_QUERY,
    ("GET", TR + "/TaskQueues"): LIST_QUERY + [
        {"EvaluateWorkerAttributes", "PageSize"},
        {"EvaluateWorkerAttributes", "PageSize", "Page"}],
    ("GET", TR + "/Workflows"): LIST_QUERY + [{"PageSize"},
                                              {"PageSize", "Page"}],
    ("GET", TR + "/Workers"): LIST_QUERY,
    ("GET", TR + "/Activities"): LIST_QUERY,
    ("GET", TR + "/Tasks"): [
        {"EvaluateTaskAttributes", "Ordering", "PageSize"},
        {"AssignmentStatus", "WorkflowSid", "Ordering", "PageSize"},
        {"AssignmentStatus", "Ordering", "PageSize"},
        {"AssignmentStatus", "EvaluateTaskAttributes"},
        {"TaskQueueSid", "AssignmentStatus", "Ordering", "PageSize"}],
    ("GET", TR + "/Tasks/{Sid}"): [set()],
    ("GET", TR + "/TaskQueues/{TaskQueueSid}/RealTimeStatistics"): [set()],
    ("GET", TR + "/TaskQueues/{TaskQueueSid}/CumulativeStatistics"): [
        {"Minutes"}],
    ("DELETE", AC + "/Transcriptions/{Sid}.json"): [set()],
    ("DELETE", AC + "/Recordings/{Sid}.json"): [set()],
    ("GET", AC + "/Queues/{Sid}.json"): [set()],
    ("GET", AC + "/Calls/{CallSid}/Recordings.json"): [set()],
}


# --------------------------------------------------------------------------
# Prism
# --------------------------------------------------------------------------


class Mock:
    """One `prism mock` process serving one spec file."""

    def __init__(self, name, spec, workdir):
        self.name = name
        self.spec_path = spec
        self.port = t.free_port()
        self.log_path = os.path.join(workdir, "prism-%s.log" % name)
        self.proc = None
        with open(spec, encoding="utf-8") as f:
            self.doc = json.load(f)
        self.ops = operations(self.doc)

    def start(self):
        prism = ENV.prism
        cmd = [prism] if os.access(prism, os.X_OK) else ["node", prism]
        cmd += ["mock", "-h", "127.0.0.1", "-p", str(self.port), "-v",
                "warn", self.spec_path]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def ready(self):
        try:
            t.http_raw("GET", "127.0.0.1", self.port, "/", timeout=2.0)
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)
        self.log.close()

    def log_tail(self, n=2000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-n:]
        except OSError:
            return ""


def operations(doc):
    """[(regex, template, method, op)] for every operation of doc, the most
    literal templates first."""
    out = []
    for tmpl, item in doc.get("paths", {}).items():
        rx = "^" + "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", tmpl)) + "$"
        lit = len(re.sub(r"\{[^}]+\}", "", tmpl))
        for method, op in item.items():
            if method.upper() in ("GET", "POST", "DELETE", "PUT", "PATCH") \
                    and isinstance(op, dict):
                out.append((lit, re.compile(rx), tmpl, method.upper(), op))
    out.sort(key=lambda x: -x[0])
    return [(rx, tmpl, m, op) for _, rx, tmpl, m, op in out]


def find_op(mock, method, path):
    for rx, tmpl, m, op in mock.ops:
        if m == method and rx.match(path):
            return tmpl, op
    return None, None


def query_params(doc, op):
    names = set()
    for p in op.get("parameters", []):
        p = patch_oai.resolve(doc, p)
        if isinstance(p, dict) and p.get("in") == "query":
            names.add(p.get("name"))
    return names


# --------------------------------------------------------------------------
# driving flexhooks
# --------------------------------------------------------------------------

MARKERS = []      # strings that identify this script's Twilio requests
DRIVE_MARK = {}


def remember(*values):
    MARKERS.extend(v for v in values if v)


def success_sid(r):
    t.eq(r.status, 200, "status (body %r)" % r.body[:300])
    m = re.match(rb'^\{"taskSid":"(WT[0-9a-fA-F]{32})","success":true\}$',
                 r.body)
    t.ok(m, "body %r" % r.body)
    return m.group(1).decode()


@t.test
def drive_create_form():
    n, f = t.unique_number(), t.unique_number()
    remember(n, f)
    remember(success_sid(t.request("POST", PATH, form=[
        ("numberToCall", n), ("numberToCallFrom", f)])))


@t.test
def drive_create_all_options():
    n, f = t.unique_number(), t.unique_number()
    remember(n, f)
    remember(success_sid(t.request("POST", PATH, form=[
        ("numberToCall", n), ("numberToCallFrom", f),
        ("workflowSid", t.sid("WW")), ("timeout", "1209600"),
        ("priority", "2147483647"), ("taskChannel", "voice"),
        ("attempts", "2"), ("isDeleted", "false"),
        ("conversation_id", t.sid("WT")),
        ("utcDateTimeReceived", "2026-01-02T03:04:05.678+01:00"),
        ("flexFlowSid", t.sid("FW"))])))


@t.test
def drive_create_json_and_get():
    n, f = t.unique_number(), t.unique_number()
    remember(n, f)
    remember(success_sid(t.request("POST", PATH, json_body={
        "numberToCall": n, "numberToCallFrom": f, "attempts": 1})))
    n2 = t.unique_number()
    remember(n2)
    remember(success_sid(t.request("GET", PATH, query=[
        ("numberToCall", n2), ("numberToCallFrom", f)])))


@t.test(tags=("voicemail",))
def drive_voicemail_flow():
    """Recording callback, then the transcription callback (lookup, fetch,
    If-Match update), then a deleted voicemail's transcription delete."""
    n, f = t.unique_number(), t.unique_number()
    re_sid, tr_sid = t.sid("RE"), t.sid("TR")
    remember(n, f, re_sid, tr_sid)
    url = "https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s" % (
        ENV.account_sid, re_sid)
    sid = success_sid(t.request("POST", PATH, form=[
        ("numberToCall", n), ("numberToCallFrom", f),
        ("RecordingSid", re_sid), ("RecordingUrl", url),
        ("RecordingStatus", "completed")]))
    remember(sid)
    remember(success_sid(t.request("POST", PATH, form=[
        ("numberToCall", n), ("numberToCallFrom", f),
        ("RecordingSid", re_sid), ("TranscriptionSid", tr_sid),
        ("TranscriptionText", "call me"),
        ("TranscriptionStatus", "completed")])))
    n2, re2, tr2 = t.unique_number(), t.sid("RE"), t.sid("TR")
    remember(n2, re2, tr2)
    remember(success_sid(t.request("POST", PATH, form=[
        ("numberToCall", n2), ("numberToCallFrom", f),
        ("recordingSid", re2), ("isDeleted", "true")])))
    remember(success_sid(t.request("POST", PATH, form=[
        ("numberToCall", n2), ("numberToCallFrom", f),
        ("recordingSid", re2), ("transcriptSid", tr2),
        ("transcriptText", "gone")])))


FLEX = "/features/callback-and-voicemail/flex/"


def flex_token():
    """A token the emulator's IAM accepts."""
    tok = "contract-" + t.unique_hex(16)
    EMU.seed({"tokens": {tok: {"status": 200, "body": {
        "valid": True, "code": 0, "message": None,
        "expiration": "2099-01-01T00:00:00.000Z", "identity": "contract",
        "roles": ["agent"], "worker_sid": t.sid("WK")}}}})
    return tok


def seed_task(attributes):
    out = EMU.seed({"tasks": [{"workflow_sid": ENV.workflow_sid,
                               "attributes": attributes,
                               "assignment_status": "assigned",
                               "timeout": 3600, "priority": 1,
                               "task_channel": "voice"}]})
    sid = out["tasks"][0]
    remember(sid)
    return sid


@t.test
def drive_requeue():
    """Task fetch, the If-Match claim, the create, the marker update."""
    n = t.unique_number()
    remember(n)
    sid = seed_task({"taskType": "callback", "name": n, "from": n,
                     "callBackData": {"numberToCall": n,
                                      "numberToCallFrom": n,
                                      "attempts": 0}})
    remember(success_sid(t.request("POST", FLEX + "requeue-callback",
                                   form=[("Token", flex_token()),
                                         ("taskSid", sid)],
                                   auth=None, signature=None)))


WAIT = "/features/callback-and-voicemail/studio/wait-experience"


def wait_post(mode, call, state=(), extra=()):
    """One signed wait-experience request as Twilio sends it."""
    q = ([("mode", mode)] if mode else []) + list(state)
    form = [("CallSid", call["sid"]), ("Caller", call["from"]),
            ("From", call["from"]), ("Called", call["to"]),
            ("To", call["to"])] + list(extra)
    return t.request("POST", WAIT, query=q or None, form=form)


def wait_call(status="pending"):
    """A queued call with its pending task, all with fresh SIDs."""
    call = {"sid": t.sid("CA"), "from": t.unique_number(),
            "to": t.unique_number(), "qu": t.sid("QU"), "ww": t.sid("WW")}
    out = EMU.seed({"queues": {call["qu"]: call["ww"]},
                    "calls": {call["sid"]: "in-progress"},
                    "tasks": [{"workflow_sid": call["ww"],
                               "attributes": {"call_sid": call["sid"]},
                               "assignment_status": status,
                               "timeout": 3600, "priority": 1,
                               "date_created": "2026-01-02T03:04:05Z"}]})
    call["wt"] = out["tasks"][0]
    remember(call["sid"], call["from"], call["to"], call["qu"], call["ww"],
             call["wt"])
    return call


@t.test(tags=("wait",))
def drive_wait_experience():
    """The lookup (queue fetch, task list), submit-callback (fetch, cancel
    with If-Match, create, marker), start-voicemail (call update), the
    voicemail task and the call-ended callback (recordings list)."""
    c = wait_call()
    r = wait_post(None, c, extra=[("QueueSid", c["qu"])])
    t.ok(c["wt"].encode() in r.body, "lookup found the task")
    r = wait_post("submit-callback", c, [("enqueuedTaskSid", c["wt"]),
                                         ("to", c["from"])])
    t.ok(b"<Hangup/>" in r.body, "callback submitted")
    v = wait_call()
    r = wait_post("start-voicemail", v, [("enqueuedTaskSid", v["wt"]),
                                         ("to", v["from"])])
    t.ok(b'<Pause length="10"/>' in r.body, "call moved to voicemail")
    re_sid = t.sid("RE")
    remember(re_sid)
    vs = [("enqueuedTaskSid", v["wt"]), ("to", v["from"]),
          ("calledNumber", v["to"])]
    r = wait_post("voicemail-recorded", v, vs, [
        ("RecordingSid", re_sid), ("RecordingUrl",
                                   "https://api.twilio.com/2010-04-01/"
                                   "Accounts/%s/Recordings/%s" % (
                                       ENV.account_sid, re_sid))])
    t.ok(b"successfully recorded" in r.body, "voicemail task")
    h = wait_call()
    wait_post("start-voicemail", h, [("enqueuedTaskSid", h["wt"]),
                                     ("to", h["from"])])
    r = wait_post("voicemail-call-ended", h,
                  [("enqueuedTaskSid", h["wt"]), ("to", h["from"])],
                  [("CallStatus", "completed")])
    t.eq(r.status, 204, "call ended")


@t.test(tags=("wait",))
def drive_wait_announcements():
    """Position and estimated wait (a private wait-experience with
    FLEXHOOKS_ANNOUNCE=position,wait): the task fetch (no queue in the URL
    yet), the queue's pending tasks, RealTimeStatistics and
    CumulativeStatistics."""
    import fhprivate
    wq = EMU.seed({"task_queues": [{"friendly_name": "contract-" +
                                    t.unique_hex(8)}]})["task_queues"][0]
    EMU.seed({"queue_statistics": {wq: {
        "cumulative": {"reservations_accepted": 12},
        "realtime": {"total_eligible_workers": 1}}}})
    c = wait_call()
    EMU.seed({"tasks": [{"sid": c["wt"], "workflow_sid": c["ww"],
                         "task_queue_sid": wq,
                         "attributes": {"call_sid": c["sid"]},
                         "timeout": 3600, "priority": 1,
                         "date_created": "2026-01-02T03:04:05Z"}]})
    remember(wq)
    with fhprivate.Private({"FLEXHOOKS_ANNOUNCE": "position,wait"},
                           processes=1):
        r = wait_post("main-wait-loop", c, [("enqueuedTaskSid", c["wt"])])
    t.ok(b"You are next in line." in r.body, "position: %r" % r.body)
    t.ok(b"estimated wait time is about 3 minutes" in r.body,
         "wait: %r" % r.body)


@t.test
def drive_delete_voicemail():
    """Task fetch, transcription and recording deletes, If-Match update."""
    n, re_sid, tr_sid = t.unique_number(), t.sid("RE"), t.sid("TR")
    remember(n, re_sid, tr_sid)
    EMU.seed({"recordings": {re_sid: {"size": 64}},
              "transcriptions": {tr_sid: {"recording_sid": re_sid,
                                          "text": "x"}}})
    sid = seed_task({"taskType": "voicemail", "name": n, "from": n,
                     "callBackData": {"numberToCall": n,
                                      "recordingSid": re_sid,
                                      "transcriptSid": tr_sid,
                                      "transcriptText": "x",
                                      "isDeleted": False, "attempts": 0}})
    r = t.request("POST", FLEX + "delete-voicemail",
                  form=[("Token", flex_token()), ("taskSid", sid)],
                  auth=None, signature=None)
    t.eq(success_sid(r), sid, "delete-voicemail answers the task SID")


@t.test
def drive_dial_queue_reject():
    """A machine answer under hangup-on-machine rejects the reservation
    (docs/design/taskrouter-events.md#outbound-dialer and #dial-queue)."""
    if os.environ.get("FLEXHOOKS_AMD_POLICY") != "hangup-on-machine":
        t.skip("FLEXHOOKS_AMD_POLICY is not hangup-on-machine")
    out = EMU.seed({"tasks": [{"workflow_sid": ENV.workflow_sid,
                               "attributes": {"practicePhone":
                                              t.unique_number()},
                               "assignment_status": "reserved",
                               "timeout": 3600, "priority": 1,
                               "task_channel": "voice"}]})
    task, res = out["tasks"][0], t.sid("WR")
    remember(task, res)
    r = t.request("POST", "/dial-queue", auth=None,
                  query=[("queue", res), ("task", task)],
                  form=[("CallSid", t.sid("CA")),
                        ("AnsweredBy", "machine_start")])
    t.eq(r.status, 200, "dial-queue status")
    t.ok(b"<Hangup/>" in r.body, "dial-queue hangs up: %r" % r.body)


# taskrouter-events: the no-agent redirect (claim read and write, call
# update, cancel) and the outbound dialer (claim, Calls.json, wrap-up
# complete; reject when FLEXHOOKS_OUTBOUND_REJECT_ON_FAILURE=true)
EVENTS = "/tr-event-callback"
SYNTHESIZED = []  # requests built here, not read back (see below)


def tr_event(etype, task, attrs, **extra):
    form = [("EventType", etype), ("AccountSid", ENV.account_sid),
            ("WorkspaceSid", ENV.workspace_sid), ("Sid", t.sid("EV")),
            ("TaskSid", task), ("TaskAttributes", t.dumps_plain(attrs))]
    form.extend(extra.items())
    r = t.request("POST", EVENTS, form=form)
    t.eq(r.status, 204, "event status (body %r)" % r.body[:200])


def redirect_rule():
    raw = os.environ.get("FLEXHOOKS_FORWARD_RULES") or ""
    rules = [x.split("=", 1) for x in raw.split(",") if "=" in x]
    if not rules:
        t.skip("no redirect rules in the stack")
    return rules[0]


@t.test(tags=("events",))
def drive_events_redirect():
    """Claim (fetch, If-Match write), call update (Twiml), cancel; and the
    caller-gone case (21220, then the cancel)."""
    queue, number = redirect_rule()
    for call_status in ("in-progress", "completed"):
        call = t.sid("CA")
        attrs = {"call_sid": call, "from": t.unique_number()}
        out = EMU.seed({"calls": {call: call_status},
                        "tasks": [{"workflow_sid": ENV.workflow_sid,
                                   "attributes": attrs,
                                   "assignment_status": "pending",
                                   "timeout": 3600, "priority": 1,
                                   "task_channel": "voice"}]})
        task = out["tasks"][0]
        remember(task, call)
        tr_event("task-queue.entered", task, attrs, TaskQueueSid=queue)
    # mode url (FLEXHOOKS_REDIRECT_MODE=url) is not the stack's mode: its
    # call update, as check_events asserts it byte for byte, is replayed
    # as built here
    body = "Url=%s&Method=GET" % urllib.parse.quote(
        "%s/twiml-redirect-call?queue=%s" % (ENV.public_url, queue), safe="")
    SYNTHESIZED.append({
        "method": "POST", "seq": 0,
        "path": "/2010-04-01/Accounts/%s/Calls/%s.json" % (
            ENV.account_sid, t.sid("CA")),
        "query": "", "body": body,
        "form": [["Url", "%s/twiml-redirect-call?queue=%s" % (
            ENV.public_url, queue)], ["Method", "GET"]],
        "headers": {"Content-Type": "application/x-www-form-urlencoded",
                    "Authorization": ENV.twilio_basic(),
                    "Accept": "application/json"}})
    t.ok(number, "rule number")


@t.test(tags=("events",))
def drive_events_outbound():
    """Claim by reservation, Calls.json create, wrap-up complete."""
    to, frm = t.unique_number(), t.unique_number()
    remember(to, frm)
    attrs = {"practicePhone": to, "callerID": frm}
    out = EMU.seed({"tasks": [{"workflow_sid": ENV.workflow_sid,
                               "attributes": attrs,
                               "assignment_status": "reserved",
                               "timeout": 3600, "priority": 1,
                               "task_channel": "voice"}]})
    task, res = out["tasks"][0], t.sid("WR")
    remember(task, res)
    tr_event("reservation.created", task, attrs, ReservationSid=res)
    EMU.seed({"task_status": {task: "wrapping"}})
    tr_event("reservation.wrapup", task, attrs, ReservationSid=res)


@t.test(tags=("events",))
def drive_events_reject():
    """A 4xx to Calls.json rejects the reservation, when configured."""
    if os.environ.get("FLEXHOOKS_OUTBOUND_REJECT_ON_FAILURE") != "true":
        t.skip("FLEXHOOKS_OUTBOUND_REJECT_ON_FAILURE is not true")
    to, frm = t.unique_number(), t.unique_number()
    remember(to, frm)
    attrs = {"practicePhone": to, "callerID": frm}
    out = EMU.seed({"tasks": [{"workflow_sid": ENV.workflow_sid,
                               "attributes": attrs,
                               "assignment_status": "reserved"}]})
    task, res = out["tasks"][0], t.sid("WR")
    remember(task, res)
    calls = "/2010-04-01/Accounts/%s/Calls.json" % ENV.account_sid
    EMU.fault(method="POST", path=calls, exact=True, status=400,
              code=21211, times=1)
    tr_event("reservation.created", task, attrs, ReservationSid=res)
@t.test(tags=("provision",))
def drive_provision():
    """flexhooks-provision on a fresh workspace: every look-up (FriendlyName,
    all workflows over two pages, EvaluateWorkerAttributes), every create,
    then updates of a queue, a workflow, the worker and the workspace."""
    if not os.access(t.provision_binary(), os.X_OK):
        t.skip("flexhooks-provision is not built")
    ws = t.fresh_workspace(event_callback_url="https://x.example.com/old")
    remember(ws)
    EMU.seed({"workspace_sid": ws, "workflows": [
        {"friendly_name": "filler %d" % i, "configuration": {}}
        for i in range(55)]})
    r = t.run_provision(ws, "--outbound-demo", "--replace-event-callback")
    t.eq(r.rc, 0, "first run: %s" % r.err[-1500:])
    st = EMU.state()["workspaces"][ws]
    queue = [q for q in st["task_queues"]
             if q["friendly_name"] == "[TR Call Redirection] Sales"][0]
    wf = [w for w in st["workflows"]
          if w["friendly_name"] == "Call Router Workflow"][0]
    worker = st["workers"][0]
    offline = [a for a in st["activities"]
               if a["friendly_name"] == "Offline"][0]
    base = "/v1/Workspaces/%s/" % ws
    for path, form in (
            ("TaskQueues/" + queue["sid"], [("TargetWorkers", "1==2")]),
            ("Workflows/" + wf["sid"], [("TaskReservationTimeout", "30")]),
            ("Workers/" + worker["sid"], [("ActivitySid", offline["sid"]),
                                          ("Attributes", "{}")])):
        body = t.form_encode(form)
        resp = t.http_raw("POST", EMU.host, EMU.port, base + path, [
            ("Authorization", ENV.twilio_basic()),
            ("Content-Type", "application/x-www-form-urlencoded")], body)
        t.eq(resp.status, 200, "changing %s" % path)
    r = t.run_provision(ws, "--outbound-demo", config={
        "FLEXHOOKS_BASIC_AUTH": "other:Q7d2Lm9xW4pZ8kR3"})
    t.eq(r.rc, 0, "second run: %s" % r.err[-1500:])
    t.eq(len(r.posts), 4, "four updates")


@t.test(tags=("provision",))
def drive_provision_named_workspace():
    """--outbound-demo --workspace NAME without Flex settings: the
    workspace create (FriendlyName, EventCallbackUrl, EventsFilter), then
    the example's objects in it."""
    if not os.access(t.provision_binary(), os.X_OK):
        t.skip("flexhooks-provision is not built")
    name = "Call Router " + t.unique_hex(8)
    remember(name)
    r = t.run_provision("-", "--outbound-demo", "--workspace", name,
                        drop=("TWILIO_FLEX_WORKSPACE_SID",))
    t.eq(r.rc, 0, "run: %s" % r.err[-1500:])
    ws = [w for w, box in EMU.state()["workspaces"].items()
          if box["workspace"]["friendly_name"] == name]
    t.eq(len(ws), 1, "the workspace")
    remember(ws[0])


# --------------------------------------------------------------------------
# replay
# --------------------------------------------------------------------------


def mine(req):
    ua = t.header_of(req, "User-Agent") or ""
    return ua.startswith("flexhooks/") and any(t.mentions(req, m)
                                               for m in MARKERS)


def body_bytes(req):
    body = req.get("body") or ""
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:
        return body.encode("latin-1")


def pick_mock(path, mocks):
    if path.startswith("/v1/Workspaces"):
        return mocks["taskrouter"]
    if path.startswith("/2010-04-01/"):
        if re.search(r"/Recordings/[^/]+\.(mp3|wav)$", path):
            return None           # recording media: in neither spec
        return mocks["api"]
    return None                   # IAM and anything else


INT_FIELDS = {"Timeout": (1, 1209600), "Priority": (0, 2147483647),
              "PageSize": (1, 1000), "Page": (0, 1 << 30),
              "TaskReservationTimeout": (1, 86400), "Minutes": (1, 43200),
              "MachineDetectionSpeechThreshold": (1000, 6000)}
SID_FIELDS = {"WorkflowSid": "WW", "ActivitySid": "WA", "TaskQueueSid": "WQ"}
ENUMS = {"AssignmentStatus": ("canceled", "completed"),
         "ReservationStatus": ("rejected",), "Status": ("completed",),
         "Method": ("GET", "POST"), "StatusCallbackMethod": ("POST",),
         "StatusCallbackEvent": ("answered", "completed"),
         "MachineDetection": ("Enable", "DetectMessageEnd")}


QUERY_ENUMS = {"AssignmentStatus": ("pending", "reserved", "assigned",
                                   "wrapping", "completed", "canceled")}


def check_values(pairs, where, enums=None):
    """The decoded values have the shapes of docs/design/platform.md#twilio-rest-requests
    (enums: the allowed values, ENUMS for form bodies)."""
    enums = ENUMS if enums is None else dict(ENUMS, **enums)
    for k, v in pairs:
        if k in INT_FIELDS:
            lo, hi = INT_FIELDS[k]
            t.ok(re.match(r"^(0|[1-9][0-9]*)$", v) and lo <= int(v) <= hi,
                 "%s: %s=%r is not an integer in %d..%d" % (where, k, v,
                                                             lo, hi))
        elif k in SID_FIELDS:
            t.match(r"^%s[0-9a-fA-F]{32}$" % SID_FIELDS[k], v,
                    "%s: %s" % (where, k))
        elif k in enums:
            t.ok(v in enums[k], "%s: %s=%r not in %s" % (where, k, v,
                                                           enums[k]))
        elif k == "EventsFilter":
            t.ok(set(v.split(",")) <= {"task-queue.entered",
                                       "reservation.created",
                                       "reservation.wrapup"},
                 "%s: EventsFilter=%r" % (where, v))
        elif k == "EventCallbackUrl":
            t.match(r"^https?://[^:@/]+:[^@/]+@[^/]+/tr-event-callback$", v,
                    "%s: EventCallbackUrl" % where)
        elif k in ("Attributes", "Configuration",
                   "EvaluateWorkerAttributes"):
            try:
                obj = json.loads(v)
            except ValueError:
                obj = None
            t.ok(isinstance(obj, dict), "%s: %s is not a JSON object" % (
                where, k))
        elif k == "TaskChannel":
            t.match(r"^([A-Za-z0-9_-]{1,64}|TC[0-9a-fA-F]{32})$", v,
                    "%s: TaskChannel" % where)
        elif k == "VirtualStartTime":
            t.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", v,
                    "%s: VirtualStartTime" % where)


def check_keys(kind, keys, expected, declared, where):
    if expected is not None:
        t.ok(any(keys == e for e in expected),
             "%s %s keys %s: expected exactly one of %s" % (
                 where, kind, sorted(keys),
                 " or ".join(str(sorted(e)) for e in expected)))
    undeclared = keys - declared
    t.ok(not undeclared, "%s %s keys not declared by the operation: %s" %
         (where, kind, sorted(undeclared)))


def replay_case(req, mocks):
    def case():
        method, path = req["method"], req["path"]
        where = "%s %s" % (method, path)
        mock = pick_mock(path, mocks)
        if mock is None:
            t.skip("%s is in neither spec" % where)
        tmpl, op = find_op(mock, method, path)
        t.ok(op is not None, "%s matches no operation of %s" % (
            where, os.path.basename(mock.spec_path)))
        where = "%s %s" % (method, tmpl)
        # field names: Prism does not check them
        ctype = (t.header_of(req, "Content-Type") or "").split(";")[0]
        if method == "POST":
            t.eq(ctype.strip().lower(), "application/x-www-form-urlencoded",
                 "%s Content-Type" % where)
            keys = {k for k, _ in t.form_of(req)}
            declared = set(patch_oai.form_properties(mock.doc, op))
            check_keys("form", keys, EXPECTED_FORM.get((method, tmpl)),
                       declared, where)
            check_values(t.form_of(req), where)
        qpairs = t.form_decode(req.get("query") or "")
        check_keys("query", {k for k, _ in qpairs},
                   EXPECTED_QUERY.get((method, tmpl)),
                   query_params(mock.doc, op), where)
        check_values(qpairs, where, QUERY_ENUMS)
        # the replay itself
        hdrs = []
        for name in ("Content-Type", "Authorization", "If-Match", "Accept"):
            v = t.header_of(req, name)
            if v is not None:
                hdrs.append((name, v))
        target = path + ("?" + req["query"] if req.get("query") else "")
        body = body_bytes(req) if method in ("POST", "PUT") else None
        r = t.http_raw(method, "127.0.0.1", mock.port, target, hdrs, body,
                       timeout=30.0)
        t.ok(200 <= r.status < 300, "%s: Prism answered %d: %s" % (
            where, r.status, r.text[:600]))
    case.__name__ = "replay_%d_%s_%s" % (
        req.get("seq", 0), req["method"],
        re.sub(r"[^A-Za-z0-9]+", "_", re.sub(
            r"[A-Z]{2}[0-9a-f]{32}", "SID", req["path"])).strip("_"))
    return case


def main():
    if not ENV.stack:
        print("SKIP: FLEXHOOKS_TEST_STACK is not 1 "
              "(run me through `deploy/local.sh test`)")
        print("0 passed, 0 failed")
        sys.exit(t.SKIP_EXIT)
    if not ENV.prism:
        print("SKIP: FLEXHOOKS_PRISM is not set (no node/npm or Prism)")
        print("0 passed, 0 failed")
        sys.exit(t.SKIP_EXIT)
    t.require_stack()
    oai = os.path.normpath(os.path.join(ENV.root, "..", "shared",
                                        "twilio-oai"))
    work = tempfile.mkdtemp(prefix="flexhooks-contract-")
    mocks = {}
    try:
        for name in (TASKROUTER_SPEC, API_SPEC):
            if not os.path.isfile(os.path.join(oai, name)):
                print("FAIL oai_files: %s is missing (Twilio's OpenAPI files "
                      "belong in ../shared/twilio-oai/ beside the project)"
                      % os.path.join(oai, name))
                t.finish(0, 1)
        api = os.path.join(work, "api.json")
        with open(os.path.join(oai, API_SPEC), encoding="utf-8") as f:
            doc = json.load(f)
        n = patch_oai.patch(doc)
        with open(api, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        print("# patched %d array form properties into %s" % (n, api))
        mocks["taskrouter"] = Mock("taskrouter",
                                   os.path.join(oai, TASKROUTER_SPEC), work)
        mocks["api"] = Mock("api", api, work)
        for m in mocks.values():
            m.start()
        passed = failed = skipped = 0

        # drive flexhooks while Prism starts
        mark = EMU.mark()
        p, f_, s = t.run()
        passed, failed, skipped = passed + p, failed + f_, skipped + s

        end = time.monotonic() + READY_TIMEOUT
        pending = list(mocks.values())
        while pending and time.monotonic() < end:
            pending = [m for m in pending if not m.ready()]
            if any(m.proc.poll() is not None for m in pending):
                break             # a mock died: no point waiting
            if pending:
                time.sleep(0.5)
        if pending:
            for m in pending:
                print("FAIL prism_%s_ready: not answering on port %d "
                      "(exit status %s); log: %s" % (
                          m.name, m.port, m.proc.poll(), m.log_tail()))
            t.finish(passed, failed + len(pending), skipped)
        print("ok prism_ready (taskrouter :%d, api :%d)" % (
            mocks["taskrouter"].port, mocks["api"].port))
        passed += 1

        reqs = [r for r in EMU.requests(mark) if mine(r)] + SYNTHESIZED
        cases = [(c.__name__, c, ()) for c in
                 (replay_case(r, mocks) for r in reqs)]

        def saw_task_create():
            t.ok(any(r["method"] == "POST" and r["path"] == ENV.tasks_path
                     for r in reqs), "no task create among the %d requests "
                 "read back" % len(reqs))
        cases.insert(0, ("requests_read_back", saw_task_create, ()))
        p, f_, s = t.run(cases)
        passed, failed, skipped = passed + p, failed + f_, skipped + s
        t.finish(passed, failed, skipped)
    finally:
        for m in mocks.values():
            m.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
