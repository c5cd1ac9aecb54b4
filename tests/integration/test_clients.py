#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Flex plugins' OWN client code against the local stack.

Each test runs a plugin's unmodified service or panel module from
../shared/clients (relative to the project root; FLEXHOOKS_CLIENTS_DIR
overrides) under Node, bundled by tests/clients/drive.mjs with esbuild and
stubs for @twilio/flex-ui, Paste, the telemetry library and react-redux,
with a fetch that behaves like a browser at https://flex.twilio.com (it
hides an answer without Access-Control-Allow-Origin as "Failed to fetch").
The original tasks are made the way a deployment makes them (a signed
Studio request through nginx), accepted in the emulator, and each test
then checks the emulator's tasks: exactly the tasks expected, nothing lost.

  template current (fbd5594): Retry later on a callback and on a voicemail
      (flex/requeue-callback), voicemail playback (flex/fetch-voicemail),
      Retry later while TaskRouter answers 429 and then recovers;
  template before mid-2024 (1bdf516): Retry later (flex/create-callback
      with attempts, conversation_id, recordingSid and the string
      flexFlowSid=undefined) on a callback and on a voicemail;
  plugin library (b4e6c6f): its panel's reads of a plugin-library task
      (callBackData.RecordingUrl / TranscriptionText) and Retry later on it
      through /callback/flex/create-callback; the create through
      /callback/studio/create-callback read back by its panel, and Retry
      later on that task.  The last two need a stack started with
      FLEXHOOKS_ATTRIBUTE_STYLE=plugin-library (they SKIP otherwise, and
      the template scenarios SKIP on such a stack): `deploy/local.sh test`
      runs this script a second time against one (phase "library style"),
      or by hand:
        FLEXHOOKS_ATTRIBUTE_STYLE=plugin-library \\
        FLEXHOOKS_TESTS=tests/integration/test_clients.py deploy/local.sh test

Run by `deploy/local.sh test` (make check), which installs esbuild, React
and the plugins' libraries into the npm cache (FLEXHOOKS_CLIENT_MODULES);
exits 77 unless FLEXHOOKS_TEST_STACK=1, node, those packages and the
clients' source are there.
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402

ENV = t.ENV
EMU = t.EMU
HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "..", "clients", "drive.mjs")
TOKEN = "tok-clients-" + t.unique_hex(24)
BASE = "http://%s:%d" % (ENV.host, ENV.port)
STUDIO = "/features/callback-and-voicemail/studio/create-callback"
LIB_STUDIO = "/callback/studio/create-callback"
LIB_FLEX = "/callback/flex/create-callback"
F = "/features/callback-and-voicemail/flex/"
STYLE = os.environ.get("FLEXHOOKS_ATTRIBUTE_STYLE") or "template"
FROM = "+18005550100"
OUT = None  # the bundles' directory, made in main


def clients_dir():
    d = os.environ.get("FLEXHOOKS_CLIENTS_DIR") or os.path.join(
        ENV.root, "..", "shared", "clients")
    return os.path.abspath(d)


def require_clients():
    """Exit 77 with the reason unless everything the driver needs is
    there."""
    why = None
    if not shutil.which("node"):
        why = "node is not installed (deploy/local.sh test installs nodejs)"
    elif not os.environ.get("FLEXHOOKS_CLIENT_MODULES"):
        why = ("FLEXHOOKS_CLIENT_MODULES is not set: no npm, or npm could "
               "not install esbuild and React (see deploy/local.sh test's "
               "output)")
    elif not os.path.isdir(os.path.join(clients_dir(),
                                        "flex-project-template@fbd5594")):
        why = "no plugin source in %s" % clients_dir()
    if why:
        print("SKIP: " + why)
        print("0 passed, 0 failed")
        sys.exit(77)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def seed_token():
    EMU.seed({"tokens": {TOKEN: {"status": 200, "body": {
        "valid": True, "code": 0, "message": None,
        "expiration": "2099-01-01T00:00:00.000Z", "identity": "agent",
        "roles": ["agent"], "worker_sid": "WK" + "0" * 30 + "35"}}}})


def service_configuration():
    """What Flex's Manager gives the template: ui_attributes.custom_data
    names the serverless domain (the documented migration setting)."""
    return {
        "ui_attributes": {"custom_data": {
            "serverless_functions_domain": ENV.host,
            "serverless_functions_protocol": "http",
            "serverless_functions_port": str(ENV.port),
            "features": {"callback_and_voicemail": {"enabled": True}},
        }},
        "outbound_call_flows": {"default": {"enabled": True}},
        "taskrouter_offline_activity_sid": "WA" + "0" * 32,
    }


def drive(client, action, **kw):
    """Run one plugin action under Node; returns the driver's result."""
    sc = {"client": client, "action": action, "outDir": OUT,
          "token": TOKEN, "serviceConfiguration": service_configuration(),
          "buildDomain": BASE,
          "state": {"flex": {"worker": {"activity": {"sid": "WA1"}}},
                    "callbackandvoicemail": {
                        "isCompletingCallbackAction": {},
                        "isRequeueingCallbackAction": {}}}}
    sc.update(kw)
    scf = os.path.join(OUT, "scenario.json")
    outf = os.path.join(OUT, "result.json")
    with open(scf, "w") as f:
        json.dump(sc, f)
    if os.path.exists(outf):
        os.unlink(outf)
    env = dict(os.environ)
    env["FLEXHOOKS_CLIENTS_DIR"] = clients_dir()
    env.pop("FLEX_APP_SERVERLESS_FUNCTONS_DOMAIN", None)
    p = subprocess.run(["node", DRIVER, scf, outf], env=env,
                       capture_output=True, text=True, timeout=180)
    if p.returncode != 0 or not os.path.exists(outf):
        raise AssertionError("drive.mjs %s %s: exit %d: %s" % (
            client, action, p.returncode, (p.stderr or p.stdout)[-2000:]))
    with open(outf) as f:
        return json.load(f)


attrs_of = t.task_attrs


def tasks_for(number):
    """The emulator's tasks for this caller."""
    return [x for x in EMU.tasks()
            if (attrs_of(x).get("callBackData") or {}).get("numberToCall")
            == number]


def studio_create(path, pairs):
    """Make a task the way a deployment does: Studio's signed HTTP
    Request widget with Basic credentials in the URL."""
    r = t.request("POST", path, form=pairs)
    t.eq(r.status, 200, "%s: status (body %r)" % (path, r.body[:300]))
    sid = r.json()["taskSid"]
    # an agent accepts it
    EMU.seed({"task_status": {sid: "assigned"}})
    task = EMU.task(sid)
    t.ok(task is not None, "task %s is not in the emulator" % sid)
    return task


def new_callback(path=STUDIO, **extra):
    n = t.unique_number()
    pairs = [("numberToCall", n), ("numberToCallFrom", FROM)]
    pairs += list(extra.items())
    return n, studio_create(path, pairs)


def seed_recording(data):
    sid = t.sid("RE")
    EMU.seed({"recordings": {sid: {"base64":
                                   base64.b64encode(data).decode()}}})
    return sid


def new_voicemail(path=STUDIO, pascal=False, **extra):
    """A voicemail task with a real recording in the emulator (the
    Record widget's transcription callback, in the template's field names
    or the plugin library's)."""
    re_sid = seed_recording(b"ID3" + os.urandom(509))
    url = "https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s" % (
        ENV.account_sid, re_sid)
    tr = t.sid("TR")
    if pascal:
        f = {"RecordingSid": re_sid, "RecordingUrl": url,
             "TranscriptionSid": tr, "TranscriptionText": "call me back"}
    else:
        f = {"recordingSid": re_sid, "recordingUrl": url,
             "transcriptSid": tr, "transcriptText": "call me back"}
    f.update(extra)
    n, task = new_callback(path, **f)
    return n, task, re_sid, url


def fetches_to(res, path):
    return [f for f in res["fetches"]
            if urllib.parse.urlsplit(f["url"]).path == path]


def no_hidden(res):
    """Nothing the plugin fetched was hidden by CORS."""
    hidden = [(f["url"], f.get("status"), f["hidden"])
              for f in res["fetches"] if f.get("hidden")]
    t.ok(not hidden, "answers hidden from the browser (Failed to fetch): "
         "%r" % hidden)


def wrapped_up(res, task_sid):
    t.eq([(a["name"], a.get("task")) for a in res["actions"]],
         [("WrapupTask", task_sid)],
         "Flex actions (plugin threw %r, logs %r, last answer %r)" % (
             res.get("threw"), res["logs"][-3:],
             [(f.get("status"), f.get("answer")) for f in
              res["fetches"]][-1:]))


def one_follow_up(number, orig, kind):
    """Exactly the original (left alone) and one new task of kind, which
    carries the caller's data and attempts = 1."""
    got = tasks_for(number)
    t.eq(len(got), 2, "tasks for %s: want the original and ONE follow-up, "
         "got %r" % (number, [(x["sid"], attrs_of(x).get("taskType"),
                              x.get("assignment_status")) for x in got]))
    t.ok(orig["sid"] in [x["sid"] for x in got], "the original is gone")
    new = [x for x in got if x["sid"] != orig["sid"]][0]
    a = attrs_of(new)
    t.eq(a.get("taskType"), kind, "follow-up taskType")
    cb = a.get("callBackData") or {}
    t.eq(cb.get("numberToCallFrom"), FROM, "follow-up numberToCallFrom")
    t.eq(cb.get("attempts"), 1, "follow-up attempts")
    t.ok(new.get("assignment_status") in ("pending", "reserved"),
         "follow-up status %r" % new.get("assignment_status"))
    return new


def recording_of(task):
    cb = attrs_of(task).get("callBackData") or {}
    return cb.get("recordingSid") or cb.get("RecordingSid")


# --------------------------------------------------------------------------
# a. template, current (fbd5594)
# --------------------------------------------------------------------------

def need_template_style():
    """The template plugins read tasks in the template's shape: a stack
    that writes the plugin library's serves that plugin, not these."""
    if STYLE != "template":
        t.skip("the template plugins read template-shaped tasks (this "
               "stack writes %s ones)" % STYLE)


@t.test
def template_retry_later_callback():
    need_template_style()
    n, orig = new_callback()
    res = drive("template-fbd5594", "requeue", task=orig)
    no_hidden(res)
    sent = fetches_to(res, F + "requeue-callback")
    t.eq(len(sent), 1, "requests to requeue-callback")
    t.eq(sent[0]["status"], 200, "answer %r" % sent[0].get("answer"))
    wrapped_up(res, orig["sid"])
    new = one_follow_up(n, orig, "callback")
    t.ok(new["sid"] in sent[0]["answer"], "the answer names the new task")


@t.test
def template_retry_later_voicemail():
    need_template_style()
    n, orig, re_sid, _ = new_voicemail()
    res = drive("template-fbd5594", "requeue", task=orig)
    no_hidden(res)
    wrapped_up(res, orig["sid"])
    new = one_follow_up(n, orig, "voicemail")
    t.eq(recording_of(new), re_sid, "the follow-up keeps the recording")


@t.test
def template_voicemail_playback():
    need_template_style()
    data = b"ID3" + os.urandom(2045)
    re_sid = seed_recording(data)
    mark = EMU.mark()
    res = drive("template-fbd5594", "fetchVoicemail", recordingSid=re_sid)
    no_hidden(res)
    t.eq(res.get("threw"), None, "fetchVoicemail threw")
    got = res["returned"]
    t.eq(got["type"], "audio/mpeg", "recording type")
    t.eq(got["bytes"], len(data), "recording length")
    t.eq(got["sha256"], hashlib.sha256(data).hexdigest(), "recording bytes")
    creates = [r for r in EMU.requests(mark)
               if r.get("method") == "POST" and
               r.get("path", "").startswith(ENV.tasks_path)]
    t.eq(creates, [], "task writes during playback")


# --------------------------------------------------------------------------
# d. Retry later while TaskRouter answers 429, then recovers
# --------------------------------------------------------------------------

@t.test
def template_retry_later_through_429():
    need_template_style()
    n, orig = new_callback()
    # every attempt flexhooks makes for the plugin's first request gets
    # 429 (TWILIO_SERVICE_RETRY_LIMIT retries after the first), so the
    # plugin sees 429 and retries (ApiService: up to 10 times, ~100 ms
    # apart); TaskRouter has recovered by then
    times = ENV.retry_limit + 1
    EMU.fault(method="POST", path=ENV.tasks_path, exact=True, status=429,
              retry_after="0", times=times)
    try:
        res = drive("template-fbd5594", "requeue", task=orig)
    finally:
        EMU.remove_faults(lambda f: f.get("path") == ENV.tasks_path and
                          f.get("status") == 429 and f.get("exact"))
    no_hidden(res)
    statuses = [f.get("status") for f in
                fetches_to(res, F + "requeue-callback")]
    t.eq(statuses[:1], [429], "the first answer (TaskRouter busy)")
    t.eq(statuses[-1:], [200], "the plugin's retries end in 200 "
         "(answers %r)" % [(f.get("status"), f.get("answer")) for f in
                           fetches_to(res, F + "requeue-callback")])
    wrapped_up(res, orig["sid"])
    one_follow_up(n, orig, "callback")


# --------------------------------------------------------------------------
# b. template before mid-2024 (1bdf516)
# --------------------------------------------------------------------------

def old_template_request(res):
    sent = fetches_to(res, F + "create-callback")
    t.ok(sent, "no request to flex/create-callback: %r" % res["fetches"])
    form = dict(urllib.parse.parse_qsl(sent[0]["body"]))
    t.eq(form.get("flexFlowSid"), "undefined",
         "the plugin sends the string 'undefined' (no flow_execution_sid)")
    t.eq(form.get("attempts"), "1", "attempts sent")
    return sent, form


@t.test
def old_template_retry_later_callback():
    need_template_style()
    n, orig = new_callback()
    t.ok("flow_execution_sid" not in attrs_of(orig),
         "the original has no flow_execution_sid")
    res = drive("template-1bdf516", "requeue", task=orig)
    no_hidden(res)
    sent, form = old_template_request(res)
    t.eq(form.get("conversation_id"), orig["sid"], "conversation_id sent")
    t.eq(sent[-1]["status"], 200, "answer %r" % sent[-1].get("answer"))
    wrapped_up(res, orig["sid"])
    one_follow_up(n, orig, "callback")


@t.test
def old_template_retry_later_voicemail():
    need_template_style()
    n, orig, re_sid, _ = new_voicemail()
    res = drive("template-1bdf516", "requeue", task=orig)
    no_hidden(res)
    sent, form = old_template_request(res)
    t.eq(form.get("recordingSid"), re_sid, "recordingSid sent")
    t.eq(sent[-1]["status"], 200, "answer %r" % sent[-1].get("answer"))
    t.ok(orig["sid"] not in (sent[-1].get("answer") or ""),
         "answered with the ORIGINAL task's SID: nothing new was made "
         "(%r)" % sent[-1].get("answer"))
    wrapped_up(res, orig["sid"])
    new = one_follow_up(n, orig, "voicemail")
    t.eq(recording_of(new), re_sid, "the follow-up keeps the recording")


# --------------------------------------------------------------------------
# c. plugin library (b4e6c6f)
# --------------------------------------------------------------------------

def library_attrs(number, re_sid, url):
    """A task as the plugin library's own studio function wrote it
    (functions/callback/studio/create-callback.protected.js)."""
    return {
        "taskType": "voicemail", "name": "Voicemail (%s)" % number,
        "flow_execution_sid": t.sid("FN"), "message": None,
        "callBackData": {
            "numberToCall": number, "numberToCallFrom": FROM,
            "attempts": 0, "mainTimeZone": "UTC",
            "utcDateTimeReceived": "2026-11-22T01:45:34.583Z",
            "RecordingSid": re_sid, "RecordingUrl": url,
            "TranscriptionSid": t.sid("TR"),
            "TranscriptionText": "please call me back", "isDeleted": False},
        "direction": "inbound", "conversations": {},
    }


def seed_library_task(number):
    re_sid = seed_recording(b"ID3" + os.urandom(253))
    url = "https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s" % (
        ENV.account_sid, re_sid)
    out = EMU.seed({"tasks": [{
        "workflow_sid": ENV.workflow_sid,
        "attributes": library_attrs(number, re_sid, url),
        "assignment_status": "assigned", "timeout": 86400, "priority": 0,
        "task_channel": "voice"}]})
    return EMU.task(out["tasks"][0]), re_sid, url


def panel_shows(res, url, text):
    t.eq(res.get("threw"), None, "the panel threw")
    html = res.get("html") or ""
    t.ok('src="%s"' % url.replace("&", "&amp;") in html,
         "the panel plays no recording (want <audio src=%r>): %s" % (
             url, html[:600]))
    t.ok(text in html, "the panel shows no transcript %r: %s" % (
        text, html[:600]))


@t.test
def library_create_through_its_flex_path():
    """CallbackService.createCallback posts /callback/flex/create-callback
    (the plugin's serverless domain, a full URL, is set at build time)."""
    n = t.unique_number()
    res = drive("plugin-library", "createCallback",
                request={"numberToCall": n, "numberToCallFrom": FROM,
                         "flexFlowSid": t.sid("FN")})
    no_hidden(res)
    t.eq(res.get("threw"), None, "the plugin threw")
    got = res.get("returned") or {}
    t.eq(got.get("success"), True, "success")
    tasks = tasks_for(n)
    t.eq([x["sid"] for x in tasks], [got.get("taskSid")], "tasks made")
    t.eq(attrs_of(tasks[0]).get("taskType"), "callback", "taskType")


@t.test
def library_panel_reads_its_task():
    n = t.unique_number()
    task, _, url = seed_library_task(n)
    res = drive("plugin-library", "panel", task=task)
    panel_shows(res, url, "please call me back")


@t.test
def library_retry_later_on_its_task():
    n = t.unique_number()
    orig, re_sid, _ = seed_library_task(n)
    res = drive("plugin-library", "requeue", task=orig)
    no_hidden(res)
    sent = fetches_to(res, LIB_FLEX)
    t.eq(len(sent), 1, "requests to %s: %r" % (LIB_FLEX, res["fetches"]))
    form = dict(urllib.parse.parse_qsl(sent[0]["body"]))
    t.eq(form.get("RecordingSid"), re_sid, "RecordingSid sent")
    t.eq(sent[0]["status"], 200, "answer %r" % sent[0].get("answer"))
    wrapped_up(res, orig["sid"])
    new = one_follow_up(n, orig, "voicemail")
    t.eq(recording_of(new), re_sid, "the follow-up keeps the recording")


def need_library_style():
    if STYLE != "plugin-library":
        t.skip("needs a stack started with FLEXHOOKS_ATTRIBUTE_STYLE="
               "plugin-library (this one: %s)" % STYLE)


@t.test
def library_create_then_panel():
    need_library_style()
    n, task, _, url = new_voicemail(LIB_STUDIO, pascal=True,
                                    flexFlowSid=t.sid("FN"))
    res = drive("plugin-library", "panel", task=task)
    panel_shows(res, url, "call me back")
    t.eq(attrs_of(task).get("name"), "Voicemail (%s)" % n, "task name")


@t.test
def library_create_then_retry_later():
    need_library_style()
    n, orig, re_sid, _ = new_voicemail(LIB_STUDIO, pascal=True,
                                       flexFlowSid=t.sid("FN"))
    res = drive("plugin-library", "requeue", task=orig)
    no_hidden(res)
    sent = fetches_to(res, LIB_FLEX)
    t.eq(len(sent), 1, "requests to %s" % LIB_FLEX)
    t.eq(sent[0]["status"], 200, "answer %r" % sent[0].get("answer"))
    wrapped_up(res, orig["sid"])
    new = one_follow_up(n, orig, "voicemail")
    t.eq(recording_of(new), re_sid, "the follow-up keeps the recording")


# --------------------------------------------------------------------------
# the browser's view of nginx's own errors on the plugins' paths
# --------------------------------------------------------------------------

@t.test
def library_unknown_path_is_readable():
    """A plugin built with a wrong domain path sees nginx's 404, not
    "Failed to fetch" (its answer carries Access-Control-Allow-Origin)."""
    n = t.unique_number()
    res = drive("plugin-library", "createCallback",
                buildDomain=BASE + "/callback/flex/old",
                request={"numberToCall": n, "numberToCallFrom": FROM,
                         "flexFlowSid": t.sid("FN")})
    sent = res["fetches"]
    t.eq([f.get("status") for f in sent], [404], "answers")
    no_hidden(res)
    t.eq((res.get("threw") or {}).get("message"), "not found",
         "what the plugin caught")
    t.eq(tasks_for(n), [], "tasks made")


@t.test
def library_too_large_is_readable():
    """nginx's 413 reaches the plugin as a 413 with its JSON body."""
    n = t.unique_number()
    res = drive("plugin-library", "createCallback",
                request={"numberToCall": n, "numberToCallFrom": FROM,
                         "flexFlowSid": t.sid("FN"),
                         "TranscriptionText": "x" * 200000})
    t.eq([f.get("status") for f in res["fetches"]], [413], "answers")
    no_hidden(res)
    t.eq((res.get("threw") or {}).get("message"), "request body too large",
         "what the plugin caught")
    t.eq(tasks_for(n), [], "tasks made")


if __name__ == "__main__":
    t.require_stack()
    require_clients()
    seed_token()
    OUT = tempfile.mkdtemp(prefix="fh-clients-")
    try:
        t.main()
    finally:
        shutil.rmtree(OUT, ignore_errors=True)
