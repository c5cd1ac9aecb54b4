#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""deploy/demo.py: flexhooks at work in a minute, against the emulator.

Run by `deploy/local.sh demo` (which starts the stack when none runs, and
stops what it started); runs on its own against any stack that uses the
emulator, given the variables `deploy/local.sh test` exports (FLEXHOOKS_PORT,
FLEXHOOKS_PUBLIC_URL, FLEXHOOKS_BASIC_AUTH, ACCOUNT_SID, AUTH_TOKEN,
TWILIO_FLEX_WORKSPACE_SID, FLEXHOOKS_EMULATOR_URL).

Three stories, each printed as it happens: the webhook Twilio (or a Flex
plugin) sends to flexhooks, what flexhooks answers (TwiML or JSON), the
calls flexhooks makes to the Twilio REST API (the emulator's request log)
and the tasks that result (the emulator's state):

  1. a caller waits in a queue (the wait experience): hold music, "*",
     "1" for a callback, "1" for the same number: the caller's task is
     canceled and a callback task created;
  2. a Studio flow records a voicemail and posts it to create-callback: a
     voicemail task;
  3. an agent calls back the callback of story 1, nobody answers, and the
     agent presses "Retry later" in Flex: requeue-callback creates the next
     attempt.

The last lines name the tasks created ("created: WT... TYPE ..."); the
integration test tests/integration/test_demo.py checks them.  The stories
seed what Twilio would know (the call, the queue, the caller's task, the
agent's Flex token) in the emulator, with fresh numbers and SIDs, so the
demo can run again and beside the tests.  Exit status 0, or 1 when a story
did not end as it should.
"""

import os
import re
import sys
import textwrap
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
import fhtest as t  # noqa: E402

ENV = t.ENV
EMU = t.EMU
WAIT = "/features/callback-and-voicemail/studio/wait-experience"
CREATE = "/features/callback-and-voicemail/studio/create-callback"
REQUEUE = "/features/callback-and-voicemail/flex/requeue-callback"
WIDTH = 100


class DemoError(Exception):
    pass


def out(line=""):
    print(line, flush=True)


def short(text, cut=True):
    """URLs without the public base and its credentials; one line, cut."""
    base = urllib.parse.urlsplit(ENV.public_url)
    for prefix in ("%s://%s@%s" % (base.scheme, ENV.basic_auth, base.netloc),
                   ENV.public_url):
        text = text.replace(prefix, "")
    text = re.sub(r"\s+", " ", text).strip()
    # flexhooks' own URLs: the route and its mode, the state elided
    text = re.sub(r"(/features/[a-z/-]+)\?(mode=[a-z-]+)[^\s\"<>]*",
                  r"\1?\2&...", text)
    if not cut or len(text) <= WIDTH:
        return text
    return text[:WIDTH - 3] + "..."


def wrapped(text, indent="     "):
    lines = textwrap.wrap(short(text, cut=False), WIDTH - len(indent),
                          break_on_hyphens=False, break_long_words=False,
                          subsequent_indent="    ")
    for line in lines:
        out(indent + line)


def verb_text(verb):
    """A TwiML verb as written, unescaped, its nouns inside."""
    attrs = "".join(' %s="%s"' % kv for kv in verb.attrib.items())
    inner = (verb.text or "").strip() + "".join(verb_text(v)
                                                 for v in verb)
    if not inner:
        return "<%s%s/>" % (verb.tag, attrs)
    return "<%s%s>%s</%s>" % (verb.tag, attrs, inner, verb.tag)


def story(n, title, what):
    out()
    out("=" * WIDTH)
    out("%d. %s" % (n, title))
    out("=" * WIDTH)
    for line in what:
        out("   " + line)


def show_webhook(who, method, target, fields):
    out()
    out("-> %s: %s %s" % (who, method, short(target, cut=False)))
    if fields:
        wrapped("  ".join("%s=%s" % kv for kv in fields))


def show_answer(r):
    ctype = (r.header("Content-Type") or "").split(";")[0]
    out("<- flexhooks answers %d %s" % (r.status, ctype))
    if ctype == "text/xml":
        try:
            root = ET.fromstring(r.body)
        except ET.ParseError:
            out("     " + short(r.text))
            return
        for verb in root:
            wrapped(verb_text(verb))
    else:
        wrapped(r.text)


def show_rest_calls(mark):
    """What flexhooks asked Twilio since mark (the emulator's log)."""
    try:
        reqs = EMU.requests(mark)
    except t.EmulatorError:
        return
    for q in reqs:
        path = q.get("path", "")
        if not (path.startswith("/v1/") or path.startswith("/2010-04-01/")):
            continue
        what = path + ("?" + q["query"] if q.get("query") else "")
        form = t.form_of(q)
        keys = [k for k, _ in form]
        if keys:
            what += "  (" + ", ".join(keys) + ")"
        wrapped("flexhooks -> Twilio: %s %s" % (q.get("method"),
                                                urllib.parse.unquote(what)))


attrs_of = t.task_attrs


def describe(task):
    a = attrs_of(task)
    cb = a.get("callBackData") or {}
    parts = [task.get("sid"), "%-9s" % task.get("assignment_status"),
             "%-9s" % (a.get("taskType") or "call")]
    if cb.get("numberToCall"):
        parts.append("to %s" % cb["numberToCall"])
    if "attempts" in cb:
        parts.append("attempt %s" % cb["attempts"])
    if cb.get("recordingSid"):
        parts.append("recording %s" % cb["recordingSid"])
    if task.get("reason"):
        parts.append('reason "%s"' % task["reason"])
    return "  ".join(str(p) for p in parts)


def show_tasks(sids, heading="the tasks now (the emulator's state):"):
    out("   " + heading)
    for sid in sids:
        tk = EMU.task(sid)
        out("     " + (describe(tk) if tk else "%s  (not found)" % sid))


def task_sid_of(r):
    m = re.search(rb'"taskSid":"(WT[0-9a-f]{32})"', r.body)
    if r.status != 200 or not m:
        raise DemoError("expected 200 with a taskSid, got %d %r" %
                        (r.status, r.body[:200]))
    return m.group(1).decode()


def callback_tasks(number):
    out_ = []
    for tk in EMU.tasks():
        a = attrs_of(tk)
        if (a.get("callBackData") or {}).get("numberToCall") == number and \
                a.get("taskType") in ("callback", "voicemail"):
            out_.append(tk["sid"])
    return out_


# --------------------------------------------------------------------------
# 1. the wait experience
# --------------------------------------------------------------------------


class Caller:
    """One call waiting in a TaskRouter queue, as Twilio drives it."""

    def __init__(self):
        self.sid = t.sid("CA")
        self.number = t.unique_number()
        self.called = t.unique_number()
        self.queue = t.sid("QU")

    def params(self, extra=()):
        return [("AccountSid", ENV.account_sid), ("CallSid", self.sid),
                ("From", self.number), ("To", self.called),
                ("Caller", self.number), ("Called", self.called),
                ("CallStatus", "in-progress"), ("Direction", "inbound"),
                ("QueueSid", self.queue), ("QueuePosition", "1")] + \
            list(extra)

    def post(self, url, extra=(), why="Twilio"):
        """POST to a URL flexhooks handed to Twilio (with credentials),
        signed over that URL as Twilio signs it."""
        u = urllib.parse.urlsplit(url)
        base = urllib.parse.urlsplit(ENV.public_url)
        prefix = base.path
        path = u.path[len(prefix):] if u.path.startswith(prefix) else u.path
        signed = "%s://%s@%s%s" % (base.scheme, u.netloc.split("@")[0],
                                   base.netloc, prefix)
        auth = (urllib.parse.unquote(u.username or ""),
                urllib.parse.unquote(u.password or ""))
        show_webhook(why, "POST", url, extra)
        r = t.request("POST", path, query=u.query or None,
                      form=self.params(extra), auth=auth, sign_base=signed)
        show_answer(r)
        return r


def wait_experience():
    c = Caller()
    wf = t.sid("WW")
    seeded = EMU.seed({
        "queues": {c.queue: wf},
        "calls": {c.sid: {"status": "in-progress", "to": c.called,
                          "from": c.number}},
        "tasks": [{"workflow_sid": wf, "assignment_status": "pending",
                   "priority": 0, "timeout": 3600,
                   "attributes": {"call_sid": c.sid, "from": c.number,
                                  "name": c.number}}]})
    original = seeded["tasks"][0]
    story(1, "A caller waits in the queue: hold, '*', a callback",
          ["%s calls; the Studio flow enqueues the call (task %s)" %
           (c.number, original),
           "with flexhooks' wait experience as the queue's waitUrl."])
    mark = EMU.mark()
    show_webhook("Twilio (the queue's waitUrl)", "POST", WAIT,
                 [("CallSid", c.sid), ("From", c.number),
                  ("QueueSid", c.queue)])
    r = t.request("POST", WAIT, form=c.params())
    show_answer(r)
    digits = ["*", "1", "1"]
    what = {"*": "presses * (the menu)", "1": "presses 1"}
    for _ in range(12):
        if r.status != 200:
            raise DemoError("wait experience answered %d" % r.status)
        root = ET.fromstring(r.body)
        nxt = None
        for verb in root:
            if verb.tag == "Hangup":
                break
            if verb.tag == "Gather" and digits:
                d = digits.pop(0)
                out("   (the caller %s)" % what[d])
                nxt = c.post(verb.get("action"), [("Digits", d)],
                             "Twilio (the caller's keys)")
                break
            if verb.tag == "Redirect":
                # back to holding once the caller is done: stop there
                if not digits and "mode=main-wait-loop" in verb.text:
                    break
                nxt = c.post(verb.text, why="Twilio (Redirect)")
                break
        if nxt is None:
            break
        r = nxt
    out()
    show_rest_calls(mark)
    created = callback_tasks(c.number)
    if len(created) != 1:
        raise DemoError("expected one callback task for %s, found %d" %
                        (c.number, len(created)))
    show_tasks([original, created[0]])
    return created[0]


# --------------------------------------------------------------------------
# 2. a Studio voicemail
# --------------------------------------------------------------------------


def studio_voicemail():
    number, line = t.unique_number(), t.unique_number()
    rec = t.sid("RE")
    story(2, "A Studio flow takes a voicemail",
          ["%s leaves a message; the flow's HTTP Request widget posts the "
           "recording" % number,
           "to create-callback (signed, Basic auth in the URL)."])
    fields = [("numberToCall", number), ("numberToCallFrom", line),
              ("recordingSid", rec),
              ("recordingUrl", "https://api.twilio.com/2010-04-01/Accounts/"
               "%s/Recordings/%s" % (ENV.account_sid, rec)),
              ("transcriptText", "Hello, please call me back about my "
               "order.")]
    mark = EMU.mark()
    show_webhook("Twilio Studio", "POST", CREATE, fields)
    r = t.request("POST", CREATE, form=fields)
    show_answer(r)
    sid = task_sid_of(r)
    out()
    show_rest_calls(mark)
    show_tasks([sid])
    return sid


# --------------------------------------------------------------------------
# 3. Retry later
# --------------------------------------------------------------------------


def retry_later(callback_sid):
    token = "demo-token-" + t.unique_hex(16)
    EMU.seed({"tokens": {token: {"status": 200, "body": {
        "valid": True, "code": 0, "message": None,
        "expiration": "2099-01-01T00:00:00.000Z", "identity": "demo-agent",
        "roles": ["agent"], "worker_sid": "WK" + t.unique_hex(32)}}}})
    EMU.seed({"task_status": {callback_sid: "assigned"}})
    story(3, "The agent's callback goes unanswered: Retry later",
          ["an agent accepts the callback task %s of story 1 and calls;" %
           callback_sid,
           "nobody answers, so the agent presses \"Retry later\": the Flex "
           "plugin posts the task",
           "with the agent's Flex token (which flexhooks checks with "
           "Twilio)."])
    mark = EMU.mark()
    fields = [("Token", token[:16] + "..."), ("taskSid", callback_sid)]
    show_webhook("the Flex plugin", "POST", REQUEUE, fields)
    r = t.request("POST", REQUEUE,
                  form=[("Token", token), ("taskSid", callback_sid)],
                  auth=None, signature=None)
    show_answer(r)
    sid = task_sid_of(r)
    out()
    show_rest_calls(mark)
    show_tasks([callback_sid, sid])
    return sid


def main():
    missing = [v for v, have in (("FLEXHOOKS_BASIC_AUTH", ENV.basic_auth),
                                 ("AUTH_TOKEN", ENV.auth_token),
                                 ("TWILIO_FLEX_WORKSPACE_SID",
                                  ENV.workspace_sid)) if not have]
    if missing:
        out("demo.py: not set: %s (run me through `deploy/local.sh demo`)" %
            ", ".join(missing))
        return 2
    out("flexhooks on http://%s:%d, the Twilio emulator on %s" %
        (ENV.host, ENV.port, ENV.emulator_url))
    created = []
    try:
        cb = wait_experience()
        created.append((cb, "callback", "the wait experience (story 1)"))
        vm = studio_voicemail()
        created.append((vm, "voicemail", "Studio (story 2)"))
        again = retry_later(cb)
        created.append((again, "callback", "Retry later (story 3)"))
    except (DemoError, t.EmulatorError, OSError, ET.ParseError) as e:
        out()
        out("demo.py: the demo stopped: %s" % e)
        return 1
    out()
    out("=" * WIDTH)
    out("Tasks flexhooks created:")
    for sid, kind, how in created:
        out("  created: %s %-9s by %s" % (sid, kind, how))
    out("Logs: the programs' JSON lines in %s" % ENV.log_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
