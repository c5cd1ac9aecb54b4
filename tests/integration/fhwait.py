# SPDX-License-Identifier: Apache-2.0
"""fhwait - driving the wait experience as Twilio does, for the test
scripts (test_wait, test_faults, test_followup, test_scale_out,
test_wait_stats, test_voicemail_email): Call, one caller in a TaskRouter
queue whose TwiML it walks (Gathers answered, Redirects followed, what it
heard kept), the default prompts (P), and seeding and reading back its
tasks in the emulator.
"""

import urllib.parse
import xml.etree.ElementTree as ET

import fhtest as t

ENV = t.ENV
EMU = t.EMU
PATH = "/features/callback-and-voicemail/studio/wait-experience"
P = {   # the default prompts (docs/design/wait-experience.md#prompts)
    "greeting": "Please wait while we direct your call to the next "
                "available representative.",
    "unavailable": "The option to request a callback or leave a voicemail "
                   "is not available at this time. Please continue to "
                   "hold.",
    "submitted": "Thank you. A callback has been requested. You will "
                 "receive a call shortly. Goodbye.",
    "agent": "A representative is about to take your call. Please "
             "continue to hold.",
    "invalid": "You have entered an invalid selection. Please try again.",
    "record": "Please leave a message at the tone. When you are finished "
              "recording, you may hang up, or press the star key.",
    "recorded": "Your voicemail has been successfully recorded... Goodbye",
}
PROLOGUE = b'<?xml version="1.0" encoding="UTF-8"?><Response>'


class Call:
    """One caller waiting in a TaskRouter queue."""

    def __init__(self, caller=None, queue=True):
        self.sid = t.sid("CA")
        self.caller = caller or t.unique_number()
        self.called = t.unique_number()
        self.queue_sid = t.sid("QU") if queue else None
        self.wf = t.sid("WW")   # the queue's workflow: a lookup of its own
        self.heard = []         # ("say", text), ("play", url), ...
        self.docs = []          # every TwiML body received

    def params(self, extra=()):
        p = [("AccountSid", ENV.account_sid), ("CallSid", self.sid),
             ("Caller", self.caller), ("From", self.caller),
             ("Called", self.called), ("To", self.called),
             ("CallStatus", "in-progress"), ("Direction", "inbound")]
        if self.queue_sid:
            p += [("QueueSid", self.queue_sid), ("QueuePosition", "1")]
        names = set(k for k, _ in extra)
        return [kv for kv in p if kv[0] not in names] + list(extra)

    def post(self, url, extra=()):
        """POST to an absolute URL given to Twilio (with userinfo), signed
        over that URL; answers the Resp."""
        u = urllib.parse.urlsplit(url)
        base = urllib.parse.urlsplit(ENV.public_url)
        t.eq(u.hostname, base.hostname, "URL host")
        t.ok(u.username is not None, "URL carries credentials: " + url)
        user = urllib.parse.unquote(u.username)
        pw = urllib.parse.unquote(u.password or "")
        t.eq("%s:%s" % (user, pw), ENV.basic_auth, "URL credentials")
        prefix = urllib.parse.urlsplit(ENV.public_url).path
        t.ok(u.path.startswith(prefix), "URL path")
        target = u.path[len(prefix):] + ("?" + u.query if u.query else "")
        signed_base = "%s://%s@%s%s" % (base.scheme, u.netloc.split("@")[0],
                                        base.netloc, prefix)
        r = t.request("POST", target.split("?")[0],
                      query=u.query or None, form=self.params(extra),
                      auth=(user, pw), sign_base=signed_base)
        return r

    def start(self):
        """The waitUrl as configured: no query string."""
        r = t.request("POST", PATH, form=self.params())
        return r

    def walk(self, r, digits=(), max_docs=12, stop_on_gather=False):
        """Walk TwiML from response r: answer Gathers from digits (a list
        consumed in order; None = no input), follow Redirects.  Stops at
        <Hangup/>, <Record>, <Pause> at the end of a document, when no
        digits are left at a Gather and stop_on_gather, or after max_docs
        documents.  Returns the last verb seen ("hangup", "record",
        "pause", "gather", "end")."""
        digits = list(digits)
        for _ in range(max_docs):
            t.eq(r.status, 200, "status of a TwiML answer")
            t.eq(r.header("Content-Type"), "text/xml; charset=utf-8",
                 "content type")
            t.ok(r.body.startswith(PROLOGUE), "prologue: %r" % r.body[:80])
            self.docs.append(r.body)
            root = ET.fromstring(r.body)
            nxt = None
            for verb in root:
                if verb.tag == "Say":
                    self.heard.append(("say", "".join(verb.itertext())))
                elif verb.tag == "Play":
                    self.heard.append(("play", verb.text))
                elif verb.tag == "Pause":
                    self.heard.append(("pause", verb.get("length")))
                elif verb.tag == "Hangup":
                    self.heard.append(("hangup", None))
                    return "hangup"
                elif verb.tag == "Record":
                    self.heard.append(("record", verb.get("action")))
                    self.record = verb
                    return "record"
                elif verb.tag == "Gather":
                    for sub in verb:
                        self.heard.append((sub.tag.lower(),
                                           "".join(sub.itertext())))
                    if not digits:
                        if stop_on_gather:
                            self.gather = verb
                            return "gather"
                        continue
                    d = digits.pop(0)
                    if d is None:
                        continue        # timeout: fall through
                    self.heard.append(("press", d))
                    nxt = self.post(verb.get("action"), [("Digits", d)])
                    break
                elif verb.tag == "Redirect":
                    self.heard.append(("redirect", verb.text))
                    if stop_on_gather and not digits and \
                            "mode=main-wait-loop" in verb.text and \
                            "skipGreeting=true" in verb.text:
                        self.loop_url = verb.text
                        return "loop"
                    nxt = self.post(verb.text)
                    break
            if nxt is None:
                return "pause" if self.heard and \
                    self.heard[-1][0] == "pause" else "end"
            r = nxt
        return "max"

    def said(self, text):
        return ("say", text) in self.heard


def seed_task(call, status="pending", created="2026-01-02T03:04:05Z",
              wf=None):
    wf = wf or call.wf
    attrs = {"call_sid": call.sid, "from": call.caller, "name": call.caller,
             "conversations": {"conversation_id": "keep-me"}}
    task = {"workflow_sid": wf, "attributes": attrs,
            "assignment_status": status, "priority": 7, "timeout": 3600}
    if created:
        task["date_created"] = created
    out = EMU.seed({"queues": {call.queue_sid: wf} if call.queue_sid
                    else {},
                    "calls": {call.sid: {"status": "in-progress",
                                         "to": call.called,
                                         "from": call.caller}},
                    "tasks": [task]})
    return out["tasks"][0]


attrs_of = t.task_attrs


def callback_tasks(number):
    out = []
    for tk in EMU.tasks():
        a = attrs_of(tk) or {}
        cb = a.get("callBackData") or {}
        if a.get("taskType") == "callback" and \
                cb.get("numberToCall") == number:
            out.append(tk)
    return out


def to_voicemail(call):
    """* 2 1: the call leaves the queue; answers the call update's Url and
    StatusCallback."""
    m = EMU.mark()
    end = call.walk(call.start(), ["*", "2", "1"])
    t.eq(end, "pause", "wait document kept busy")
    ups = [r for r in EMU.requests(m) if r["method"] == "POST" and
           r["path"].endswith("/Calls/%s.json" % call.sid)]
    t.eq(len(ups), 1, "one call update")
    f = t.form_of(ups[0])
    return t.first(f, "Url"), t.first(f, "StatusCallback")


def record(call, url, rec_sid):
    """Twilio plays the Url and records: the Record action's answer."""
    call.heard = []
    t.eq(call.walk(call.post(url), []), "record", "Record")
    EMU.seed({"recordings": {rec_sid: {"call_sid": call.sid,
                                       "duration": 12}}})
    rec_url = "https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s" \
        % (ENV.account_sid, rec_sid)
    extra = [("RecordingSid", rec_sid), ("RecordingUrl", rec_url),
             ("RecordingDuration", "12"), ("Digits", "hangup")]
    return call.post(call.record.get("action"), extra), rec_url, extra
