#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Voicemail by email (flex/vmail.c) against a real SMTP server.

The shared test stack runs with email off (the default), so this test
starts what it needs beside it:

- a real SMTP server (tests/integration/smtpd.py: Debian's aiosmtpd) on
  127.0.0.1, STARTTLS required, AUTH required (only over TLS), with a
  self-signed certificate made now, which flexhooks trusts through
  FLEXHOOKS_SMTP_CA_FILE;
- two flexhooks "hosts" (fhprivate.Private: every program under
  spawn-fcgi, two processes each, behind one nginx), with the stack's
  configuration plus the email settings.

It reads back what the server received: headers (From, To, the RFC 2047
Subject, Message-ID, Date), the text (caller, time in mainTimeZone, task
SID, transcript), the attachment (the emulator's recording bytes, fetched
through Twilio's media redirect), one message per recording under
repeated and concurrent callbacks on both hosts, the server down and then
up, the transcript's second message, a recording over the size cap.
Exits 77 unless FLEXHOOKS_TEST_STACK=1, or without spawn-fcgi, nginx,
openssl or aiosmtpd.
"""

import base64
import email
import email.policy
import email.utils
import os
import shutil
import signal
import sys
import time
import urllib.request
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402

t.require_stack()
import fhprivate  # noqa: E402
import fhwait as w  # noqa: E402
import smtpd  # noqa: E402

warnings.simplefilter("ignore")     # aiosmtpd's deprecation notices
ENV = t.ENV
EMU = t.EMU
STUDIO = "/features/callback-and-voicemail/studio/create-callback"
TO = ("ops@example.com", "boss@example.org")
FROM = "voicemail@flexhooks.example.com"
SUBJECT = "Message vocal reçu de"       # not ASCII: RFC 2047 on the wire
SMTP_USER = "flexhooks@example.com"
SMTP_PASSWORD = t.unique_hex(24)
ZONE = "Europe/Paris"
MARKER = "flexhooks_email"
HOSTS = ("a", "b")


def mail_settings():
    """Email on, to the private SMTP server (SMTP must be up)."""
    return {
        "FLEXHOOKS_MAIN_TIMEZONE": ZONE,
        "FLEXHOOKS_VOICEMAIL_EMAIL_TO": "%s, %s" % TO,
        "FLEXHOOKS_VOICEMAIL_EMAIL_FROM": FROM,
        "FLEXHOOKS_VOICEMAIL_EMAIL_SUBJECT": SUBJECT,
        "FLEXHOOKS_VOICEMAIL_EMAIL_MAX_MB": "1",
        "FLEXHOOKS_VOICEMAIL_EMAIL_TRANSCRIPT": "true",
        "FLEXHOOKS_SMTP_URL": SMTP.url,
        "FLEXHOOKS_SMTP_USER": SMTP_USER,
        "FLEXHOOKS_SMTP_PASSWORD": SMTP_PASSWORD,
        "FLEXHOOKS_SMTP_CA_FILE": SMTP.cert,
        "FLEXHOOKS_SMTP_RETRY_S": "60"}


FARM = None
SMTP = None
TESTS = []


def test(fn):
    TESTS.append((fn.__name__, fn, ()))
    return fn


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def seed_recording(data, redirects=1):
    re_sid = t.sid("RE")
    EMU.seed({"recordings": {re_sid: {
        "base64": base64.b64encode(data).decode(), "redirects": redirects}}})
    return re_sid


def recording_callback(num, re_sid, **extra):
    url = "https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s" % (
        ENV.account_sid, re_sid)
    form = [("numberToCall", num), ("numberToCallFrom", t.unique_number()),
            ("RecordingSid", re_sid), ("RecordingUrl", url),
            ("RecordingStatus", "completed")]
    form += list(extra.items())
    return t.request("POST", STUDIO, form=form)


def transcript_callback(num, re_sid, text):
    return t.request("POST", STUDIO, form=[
        ("numberToCall", num), ("numberToCallFrom", t.unique_number()),
        ("RecordingSid", re_sid), ("TranscriptionSid", t.sid("TR")),
        ("TranscriptionText", text), ("TranscriptionStatus", "completed")])


def parse(msg):
    return email.message_from_bytes(msg["data"], policy=email.policy.default)


def mails_for(re_sid):
    """The messages received whose text names the recording."""
    out = []
    for m in SMTP.received():
        p = parse(m)
        body = p.get_body(preferencelist=("plain",))
        if body is not None and re_sid in body.get_content():
            out.append((m, p))
    return out


def wait_mails(re_sid, n, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = mails_for(re_sid)
        if len(got) >= n:
            return got
        time.sleep(0.1)
    return mails_for(re_sid)


def marker(task_sid):
    return w.attrs_of(EMU.task(task_sid)).get(MARKER)


def attachment_of(p):
    atts = list(p.iter_attachments())
    return atts[0] if atts else None


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------


@test
def off_by_default_in_the_shared_stack():
    """The shared stack has no FLEXHOOKS_VOICEMAIL_EMAIL_TO: its voicemail
    tasks get no email marker (nothing is claimed, nothing is sent)."""
    port, ENV.port = ENV.port, STACK_PORT
    try:
        re_sid = seed_recording(b"off by default")
        r = recording_callback(t.unique_number(), re_sid)
        t.eq(r.status, 200, "status (body %r)" % r.body[:200])
        task = r.json()["taskSid"]
    finally:
        ENV.port = port
    time.sleep(1.5)
    t.eq(marker(task), None, "email marker on the shared stack's task")
    t.eq(mails_for(re_sid), [], "messages")


@test
def one_message_with_the_recording():
    audio = os.urandom(30000) + "é".encode()
    re_sid = seed_recording(audio)
    num = t.unique_number()
    r = recording_callback(num, re_sid,
                           utcDateTimeReceived="2026-12-06T14:00:05.000Z")
    t.eq(r.status, 200, "status (body %r)" % r.body[:200])
    task = r.json()["taskSid"]
    got = wait_mails(re_sid, 1)
    t.eq(len(got), 1, "messages for the recording")
    m, p = got[0]
    # the envelope and the session
    t.eq(m["tls"], True, "STARTTLS before the message")
    t.eq(m["user"], SMTP_USER, "AUTH user")
    t.eq(m["mail_from"], FROM, "MAIL FROM")
    t.eq(sorted(m["rcpt_tos"]), sorted(TO), "RCPT TO")
    # the headers
    raw = m["data"].decode("ascii")     # 7-bit on the wire
    t.ok("=?UTF-8?B?" in raw.split("\r\n\r\n", 1)[0],
         "Subject as RFC 2047 encoded words")
    t.eq(str(p["Subject"]), "%s %s" % (SUBJECT, num), "Subject")
    t.eq(str(p["From"]), FROM, "From")
    t.eq(sorted(a.addr_spec for a in p["To"].addresses), sorted(TO), "To")
    t.match(r"^<[0-9a-f]{32}@flexhooks\.example\.com>$", str(p["Message-ID"]),
            "Message-ID")
    sent = email.utils.parsedate_to_datetime(str(p["Date"]))
    t.ok(abs(sent.timestamp() - time.time()) < 120, "Date is now: %s" %
         p["Date"])
    t.eq([ln for ln in raw.split("\r\n") if len(ln) > 78], [], "lines > 78")
    # the text
    text = p.get_body(preferencelist=("plain",)).get_content()
    for want in ("Caller: " + num, "Task: " + task,
                 "Received: 2026-12-06 15:00:05 CET (Europe/Paris)",
                 "Recording: %s (attached as %s.mp3, %d bytes)" % (
                     re_sid, re_sid, len(audio)),
                 "Transcript: none yet."):
        t.ok(want in text, "%r in the text %r" % (want, text))
    # the attachment: the emulator's bytes, through the media redirect
    att = attachment_of(p)
    t.ok(att is not None, "an attachment")
    t.eq(att.get_content_type(), "audio/mpeg", "attachment type")
    t.eq(att.get_filename(), re_sid + ".mp3", "attachment name")
    t.eq(att.get_content(), audio, "attachment bytes")
    # the marker
    mk = marker(task)
    t.eq((mk["recordingSid"], mk["first"]["state"]), (re_sid, "sent"),
         "marker %r" % (mk,))
    t.ok(SMTP_PASSWORD not in "".join(
        t.read_text(FARM.log(p_, h)) for h in HOSTS
        for p_ in ("create-callback",)), "the SMTP password in a log")


@test
def repeated_and_concurrent_callbacks_one_message():
    """Four copies of the recording callback at once over both hosts for
    a voicemail task nobody has emailed yet, the task's writes held so
    that every worker reads it before any claim lands (only If-Match then
    separates them), then two more copies: one message."""
    re_sid = seed_recording(b"concurrent " * 100)
    num = t.unique_number()
    url = "https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s" % (
        ENV.account_sid, re_sid)
    task = EMU.seed({"tasks": [{
        "workflow_sid": ENV.workflow_sid, "assignment_status": "pending",
        "task_channel": "voice", "attributes": {
            "taskType": "voicemail", "callBackData": {
                "numberToCall": num, "numberToCallFrom": t.unique_number(),
                "recordingSid": re_sid, "recordingUrl": url,
                "mainTimeZone": ZONE,
                "utcDateTimeReceived": "2026-12-06T14:00:05.000Z",
                "isDeleted": False, "attempts": 0}}}]})["tasks"][0]
    since = {h: len(t.read_text(FARM.log("create-callback", h)))
             for h in HOSTS}
    path = "%s/%s" % (ENV.tasks_path, task)
    EMU.fault(method="POST", path=path, exact=True, delay_ms=1500, times=4)
    answers = t.concurrently([lambda: recording_callback(num, re_sid)] * 4)
    for r in answers:
        t.ok(isinstance(r, t.Resp), "request failed: %r" % (r,))
        t.eq(r.status, 200, "status (body %r)" % r.body[:200])
        t.eq(r.json()["taskSid"], task, "the seeded task")
    got = wait_mails(re_sid, 1)
    t.eq(len(got), 1, "messages after the burst")
    time.sleep(4)       # every held claim has landed or lost by now
    t.eq(len(mails_for(re_sid)), 1, "messages after the burst settled")
    logs = "".join(t.read_text(FARM.log("create-callback", h))[since[h]:]
                   for h in HOSTS)
    lost = logs.count("task '%s' changed meanwhile: email claim" % task)
    print("# claims that lost the If-Match race: %d" % lost)
    t.ok(lost >= 1, "no claim lost the If-Match race")
    for _ in range(2):
        t.eq(recording_callback(num, re_sid).status, 200, "repeat")
    time.sleep(2)
    t.eq(len(mails_for(re_sid)), 1, "messages for one recording")
    t.eq(marker(task)["first"]["state"], "sent", "marker")


@test
def server_down_then_up():
    """The server is down when the voicemail comes: Twilio's answer does
    not wait, the worker retries with backoff, and the message arrives
    once the server is back."""
    re_sid = seed_recording(b"down then up")
    SMTP.stop()
    try:
        t0 = time.monotonic()
        r = recording_callback(t.unique_number(), re_sid)
        took = time.monotonic() - t0
        t.eq(r.status, 200, "status")
        t.ok(took < 2.0, "answer took %.2f s" % took)
        task = r.json()["taskSid"]
        time.sleep(3.5)
        t.eq(mails_for(re_sid), [], "messages while down")
        t.eq(marker(task)["first"]["state"], "sending", "claimed, waiting")
    finally:
        SMTP.start()
    got = wait_mails(re_sid, 1, timeout=40)
    t.eq(len(got), 1, "messages once up")
    t.eq(marker(task)["first"]["state"], "sent", "marker")


@test
def slow_server_does_not_delay_the_answer():
    """A server that takes its time (the emulator's media too) delays
    nothing: the answer is written before any of it starts."""
    re_sid = seed_recording(b"slow")
    EMU.fault(path="/2010-04-01/Accounts/%s/Recordings/%s.mp3" % (
        ENV.account_sid, re_sid), exact=True, delay_ms=3000, times=1)
    t0 = time.monotonic()
    r = recording_callback(t.unique_number(), re_sid)
    took = time.monotonic() - t0
    t.eq(r.status, 200, "status")
    t.ok(took < 2.0, "answer took %.2f s" % took)
    t.eq(len(wait_mails(re_sid, 1)), 1, "messages")


@test
def transcript_later_is_a_second_message():
    re_sid = seed_recording(b"with a transcript later")
    num = t.unique_number()
    r = recording_callback(num, re_sid)
    task = r.json()["taskSid"]
    t.eq(len(wait_mails(re_sid, 1)), 1, "first message")
    words = "Rappelez-moi demain, s'il vous plaît"
    for _ in range(2):      # Twilio may call twice
        t.eq(transcript_callback(num, re_sid, words).status, 200, "status")
    got = wait_mails(re_sid, 2)
    time.sleep(2)
    got = mails_for(re_sid)
    t.eq(len(got), 2, "messages: the recording, then its transcript")
    subjects = sorted(str(p["Subject"]) for _, p in got)
    t.eq(subjects, ["%s %s" % (SUBJECT, num),
                    "%s %s (transcript)" % (SUBJECT, num)], "subjects")
    second = [p for _, p in got if "(transcript)" in str(p["Subject"])][0]
    text = second.get_body(preferencelist=("plain",)).get_content()
    t.ok("Transcript:\r\n%s" % words in text or
         "Transcript:\n%s" % words in text, "the transcript in %r" % text)
    mk = marker(task)
    t.eq((mk["first"]["state"], mk["transcript"]["state"]), ("sent", "sent"),
         "marker %r" % (mk,))


@test
def recording_over_the_cap_is_not_attached():
    re_sid = t.sid("RE")
    EMU.seed({"recordings": {re_sid: {"size": 1536 * 1024}}})
    r = recording_callback(t.unique_number(), re_sid)
    t.eq(r.status, 200, "status")
    got = wait_mails(re_sid, 1)
    t.eq(len(got), 1, "messages")
    _, p = got[0]
    t.eq(attachment_of(p), None, "attachment")
    text = p.get_body(preferencelist=("plain",)).get_content()
    t.ok("not attached: larger than 1 MB" in text, "the note in %r" % text)


@test
def wait_experience_voicemail():
    """The wait experience's voicemail (* 2 1, Record, the transcript
    callback): the recording's message, then the transcript's."""
    call = w.Call()
    w.seed_task(call)
    url, _ = w.to_voicemail(call)
    rec_sid = t.sid("RE")
    r, rec_url, _ = w.record(call, url, rec_sid)
    t.eq(r.status, 200, "Record action answered")
    got = wait_mails(rec_sid, 1)
    t.eq(len(got), 1, "the recording's message")
    _, p = got[0]
    t.eq(str(p["Subject"]), "%s %s" % (SUBJECT, call.caller), "Subject")
    # the bytes Twilio (the emulator) serves for that recording
    req = urllib.request.Request(
        "%s/2010-04-01/Accounts/%s/Recordings/%s.mp3" % (
            ENV.emulator_url, ENV.account_sid, rec_sid),
        headers={"Authorization": ENV.twilio_basic()})
    with urllib.request.urlopen(req, timeout=10) as resp:
        audio = resp.read()
    t.ok(len(audio) > 0, "the emulator's recording")
    t.eq(attachment_of(p).get_content(), audio, "attachment bytes")
    r = call.post(call.record.get("transcribeCallback"), [
        ("RecordingSid", rec_sid), ("RecordingUrl", rec_url),
        ("TranscriptionSid", t.sid("TR")),
        ("TranscriptionText", "please call me back"),
        ("TranscriptionStatus", "completed")])
    t.eq(r.status, 204, "transcribeCallback answered 204")
    got = wait_mails(rec_sid, 2)
    t.eq(len(got), 2, "the transcript's message")
    text = [q for _, q in got if "(transcript)" in str(q["Subject"])][0] \
        .get_body(preferencelist=("plain",)).get_content()
    t.ok("please call me back" in text, "the transcript in %r" % text)


STACK_PORT = ENV.port


def main():
    global FARM, SMTP
    for tool in ("spawn-fcgi", "nginx", "openssl"):
        if shutil.which(tool) is None:
            print("SKIP: %s not installed" % tool)
            sys.exit(t.SKIP_EXIT)
    if not smtpd.available():
        print("SKIP: python3-aiosmtpd not installed")
        sys.exit(t.SKIP_EXIT)

    def stop(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    FARM = fhprivate.Private(
        programs=None, hosts=HOSTS, prefix="fhscale",
        drop=("FLEXHOOKS_VOICEMAIL_EMAIL", "FLEXHOOKS_SMTP_"))
    SMTP = smtpd.Server(FARM.tmp, SMTP_USER, SMTP_PASSWORD)
    FARM.settings.update(mail_settings())
    passed = failed = skipped = 0
    try:
        SMTP.start()
        try:
            FARM.start()
        except AssertionError as e:
            print("FAIL start: %s" % e)
            raise SystemExit(1)
        ENV.port = FARM.port
        passed, failed, skipped = t.run(TESTS)
        reports = FARM.sanitizer_reports()
        if reports:
            print("FAIL sanitizer reports in: %s" % ", ".join(reports))
            failed += 1
        if failed:
            for h in HOSTS:
                for p in ("create-callback",):
                    lines = t.read_text(FARM.log(p, h)).splitlines()
                    print("# %s/%s log tail:" % (h, p))
                    for ln in lines[-25:]:
                        print("#   " + ln[:300])
    finally:
        SMTP.stop()
        FARM.stop()
    t.finish(passed, failed, skipped)


if __name__ == "__main__":
    main()
