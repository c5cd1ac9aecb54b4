#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests of flex/fetch-voicemail and flex/delete-voicemail.

POST through nginx to the fetch-voicemail FastCGI program (Flex token in
the form body, the emulator's IAM answering for a token seeded here), which
talks to the Twilio emulator
(docs/design/callbacks-and-voicemail.md#fetch-voicemail and #delete-voicemail).  Each test asserts the HTTP answer (status, headers, exact body or
the exact audio bytes) and what the emulator received and stored: the one
media URL built from the SID, credentials never sent to the storage host a
redirect names, retries of the idempotent GET, the deletes and the If-Match
update of the task attributes.

Run by `deploy/local.sh test` (make check) as `python3 test_voicemail.py`;
exits 77 unless FLEXHOOKS_TEST_STACK=1.  Other scripts share the emulator,
so nothing is reset: every test marks the request log first and finds its
own requests by the fresh SIDs it seeds.
"""

import base64
import binascii
import hashlib
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402
from fhvoicemail import (  # noqa: E402
    FV, DV, od, token, post, seed_recording, media_path, voicemail_attrs,
    media_state, check_success)

ENV = t.ENV
EMU = t.EMU
MAX_MEDIA = 16 * 1024 * 1024
BIG = 200 * 1024 * 1024  # raw mode streams it (issue 17, defect 6)
RSS_LIMIT_KB = 16 * 1000  # peak RSS of a fetch-voicemail process: 16 MB
SIZE = 2400000          # a 2.5-minute MP3
ERRORS = "https://www.twilio.com/docs/errors/%d"


def fake_media(size):
    """The emulator's fixture bytes: byte i is i % 256."""
    block = bytes(range(256))
    return (block * (size // 256 + 1))[:size]


def rec_path(re_sid):
    return "/2010-04-01/Accounts/%s/Recordings/%s.json" % (ENV.account_sid,
                                                           re_sid)


def tr_path(tr_sid):
    return "/2010-04-01/Accounts/%s/Transcriptions/%s.json" % (
        ENV.account_sid, tr_sid)


def task_path(sid):
    return "%s/%s" % (ENV.tasks_path, sid)


def mentioning(reqs, *markers):
    return [r for r in reqs if any(t.mentions(r, m) for m in markers)]


def check_twilio_auth(req):
    t.eq(t.header_of(req, "Authorization"), ENV.twilio_basic(),
         "Authorization to Twilio")
    ua = t.header_of(req, "User-Agent") or ""
    t.ok(ua.startswith("flexhooks/"), "User-Agent %r" % ua)


def check_json_audio(r, want, ctype="audio/mpeg"):
    """200 {"recording":<base64 of want>,"type":ctype}, exactly."""
    t.eq(r.status, 200, "status (body %r)" % r.body[:200])
    t.json_type(r)
    t.eq(r.header("Cache-Control"), "no-store", "Cache-Control")
    obj = r.json()
    t.eq(list(obj.keys()), ["recording", "type"], "keys")
    t.eq(obj["type"], ctype, "type")
    b64 = obj["recording"]
    t.ok("\n" not in b64 and "\r" not in b64, "line break in base64")
    try:
        got = base64.b64decode(b64, validate=True)
    except binascii.Error as e:
        raise AssertionError("not standard base64: %s" % e)
    t.eq(len(got), len(want), "decoded length")
    t.ok(got == want, "decoded bytes differ from what the emulator served")
    t.eq(r.body, t.dumps_plain(od(("recording", b64), ("type", ctype)))
         .encode(), "body (no whitespace, no escaped '/')")


def check_raw_audio(r, want, ctype="audio/mpeg"):
    t.eq(r.status, 200, "status (body %r)" % r.body[:200])
    t.eq(r.header("Content-Type"), ctype, "Content-Type")
    t.eq(r.header("Content-Length"), str(len(want)), "Content-Length")
    t.eq(r.header("Cache-Control"), "no-store", "Cache-Control")
    t.eq(len(r.body), len(want), "body length")
    t.ok(r.body == want, "raw body differs from what the emulator served")


def check_redirected(mark, re_sid, hops):
    """Since mark, the recording's media fetched with Twilio's credentials
    and followed through hops redirects to the storage host, which never
    sees Authorization."""
    reqs = mentioning(EMU.requests(mark), re_sid)
    t.eq([q["path"] for q in reqs], [media_path(re_sid)] +
         ["/__emulator/media/%s" % re_sid] * hops, "request paths")
    check_twilio_auth(reqs[0])
    for q in reqs[1:]:
        t.eq(t.header_of(q, "Authorization"), None,
             "Authorization sent to the storage host (%s)" %
             t.header_of(q, "Host"))


def one_media_get(mark, re_sid):
    """The single GET flexhooks made for re_sid's media, checked."""
    reqs = mentioning(EMU.requests(mark), re_sid)
    t.eq([(q["method"], q["path"], q["query"]) for q in reqs],
         [("GET", media_path(re_sid), "")], "requests for the recording")
    check_twilio_auth(reqs[0])
    return reqs[0]


# --------------------------------------------------------------------------
# fetch-voicemail: JSON
# --------------------------------------------------------------------------


@t.test
def fetch_json_round_trip():
    """2.4 MB: the base64 decodes to exactly the bytes the emulator served,
    fetched once from the one media URL with the account's credentials."""
    re_sid = seed_recording(SIZE)
    mark = EMU.mark()
    r = post(FV, [("recordingSid", re_sid)])
    check_json_audio(r, fake_media(SIZE))
    one_media_get(mark, re_sid)
    t.eq(EMU.state()["recordings"][re_sid]["fetches"], 1, "fetches")


@t.test
def fetch_json_upstream_type():
    """type is the upstream Content-Type; arbitrary bytes survive."""
    data = os.urandom(4099)
    re_sid = seed_recording(data=data, content_type="audio/x-test")
    r = post(FV, [("recordingSid", re_sid), ("format", "json")])
    check_json_audio(r, data, "audio/x-test")


@t.test
def fetch_alias_and_json_body():
    """Twilio's RecordingSid alias, and a JSON request body."""
    data = b"ID3\x04\x00" + os.urandom(300)
    re_sid = seed_recording(data=data)
    check_json_audio(post(FV, [("RecordingSid", re_sid)]), data)
    r = t.request("POST", FV, json_body={"Token": token(),
                                         "recordingSid": re_sid},
                  auth=None, signature=None, body_sha=False)
    check_json_audio(r, data)


@t.test
def fetch_empty_recording():
    re_sid = seed_recording(data=b"")
    r = post(FV, [("recordingSid", re_sid)])
    t.eq(r.body, b'{"recording":"","type":"audio/mpeg"}', "body")
    check_raw_audio(post(FV, [("recordingSid", re_sid),
                              ("format", "raw")]), b"")


# --------------------------------------------------------------------------
# fetch-voicemail: raw
# --------------------------------------------------------------------------


@t.test
def fetch_raw_format_body():
    re_sid = seed_recording(SIZE)
    mark = EMU.mark()
    r = post(FV, [("recordingSid", re_sid), ("format", "raw")])
    check_raw_audio(r, fake_media(SIZE))
    one_media_get(mark, re_sid)


@t.test
def fetch_raw_format_query():
    data = os.urandom(70001)
    re_sid = seed_recording(data=data)
    r = post(FV, [("recordingSid", re_sid)], query=[("format", "raw")])
    check_raw_audio(r, data)


@t.test
def fetch_raw_accept():
    """Accept listing audio/mpeg or audio/* picks raw mode."""
    re_sid = seed_recording(SIZE)
    want = fake_media(SIZE)
    check_raw_audio(post(FV, [("recordingSid", re_sid)],
                         headers=[("Accept", "audio/mpeg")]), want)
    check_raw_audio(post(FV, [("recordingSid", re_sid)],
                         headers=[("Accept", "text/html, audio/*;q=0.8")]),
                    want)


@t.test
def fetch_accept_stays_json():
    """*/*, audio/mpeg;q=0 and an explicit format=json answer JSON."""
    data = os.urandom(999)
    re_sid = seed_recording(data=data)
    for accept in ("*/*", "audio/mpeg;q=0", "application/json"):
        check_json_audio(post(FV, [("recordingSid", re_sid)],
                              headers=[("Accept", accept)]), data)
    check_json_audio(post(FV, [("recordingSid", re_sid), ("format", "json")],
                          headers=[("Accept", "audio/mpeg")]), data)


@t.test
def fetch_raw_exact_cap():
    """16 MiB exactly is still served."""
    re_sid = seed_recording(MAX_MEDIA)
    check_raw_audio(post(FV, [("recordingSid", re_sid), ("format", "raw")]),
                    fake_media(MAX_MEDIA))


# --------------------------------------------------------------------------
# fetch-voicemail: input and failures
# --------------------------------------------------------------------------


@t.test
def fetch_invalid_sid_fetches_nothing():
    """A URL, another prefix, a short SID: 400, and nothing is fetched."""
    re_sid = t.sid("RE")
    bad = ["https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s" %
           (ENV.account_sid, re_sid),
           "%s/__emulator/media/%s" % (ENV.emulator_url, re_sid),
           "TR" + re_sid[2:], re_sid[:-1], re_sid + "0",
           re_sid + ".mp3", "../" + re_sid]
    mark = EMU.mark()
    for value in bad:
        t.is_json_error(post(FV, [("recordingSid", value)]), 400,
                        "invalid recordingSid")
    t.is_json_error(post(FV, [("RecordingSid", bad[0])]), 400,
                    "invalid recordingSid")
    t.is_json_error(post(FV, [("format", "raw")]), 400,
                    "missing recordingSid")
    t.is_json_error(post(FV, [("recordingSid", re_sid), ("format", "mp3")]),
                    400, "invalid format")
    t.eq(mentioning(EMU.requests(mark), re_sid[2:]), [],
         "requests after a rejected recordingSid")


@t.test
def fetch_unknown_recording():
    re_sid = t.sid("RE")
    mark = EMU.mark()
    t.is_json_error(post(FV, [("recordingSid", re_sid)]), 404,
                    "recording not found", 20404, ERRORS % 20404)
    t.is_json_error(post(FV, [("recordingSid", re_sid), ("format", "raw")]),
                    404, "recording not found", 20404, ERRORS % 20404)
    t.eq(len(mentioning(EMU.requests(mark), re_sid)), 2,
         "one GET per request (a 404 is not retried)")


@t.test
def fetch_redirect_drops_credentials():
    """Followed to the storage host, which never sees Authorization."""
    for hops in (1, 3):
        re_sid = seed_recording(SIZE, redirects=hops)
        mark = EMU.mark()
        check_json_audio(post(FV, [("recordingSid", re_sid)]),
                         fake_media(SIZE))
        check_redirected(mark, re_sid, hops)


@t.test
def fetch_too_many_redirects():
    """More than 3 redirects: 502, no audio."""
    re_sid = seed_recording(64, redirects=4)
    t.is_json_error(post(FV, [("recordingSid", re_sid)]), 502,
                    "Twilio request failed")


@t.test
def fetch_retries_503():
    """The GET is idempotent: 503 twice, then the audio."""
    re_sid = seed_recording(SIZE)
    EMU.fault(method="GET", path=media_path(re_sid), status=503, times=2)
    mark = EMU.mark()
    check_json_audio(post(FV, [("recordingSid", re_sid)]), fake_media(SIZE))
    reqs = mentioning(EMU.requests(mark), re_sid)
    t.eq([(q["method"], q["path"]) for q in reqs],
         [("GET", media_path(re_sid))] * 3, "attempts")


@t.test
def fetch_credentials_rejected():
    """Twilio refusing our credentials is 502, never a token error."""
    for status, code in ((401, 20003), (403, 20403)):
        re_sid = seed_recording(64)
        EMU.fault(method="GET", path=media_path(re_sid), status=status,
                  code=code)
        t.is_json_error(post(FV, [("recordingSid", re_sid)]), 502,
                        "Twilio request failed", code, ERRORS % code)


@t.test
def fetch_too_large():
    """Over 16 MiB: JSON mode is 502 "recording too large"; raw mode,
    the remedy the message names, serves it."""
    re_sid = seed_recording(MAX_MEDIA + 1)
    t.is_json_error(post(FV, [("recordingSid", re_sid)]), 502,
                    "recording too large")
    check_raw_audio(post(FV, [("recordingSid", re_sid), ("format", "raw")]),
                    fake_media(MAX_MEDIA + 1))


# --------------------------------------------------------------------------
# fetch-voicemail: raw mode streams (200 MiB, small processes)
# --------------------------------------------------------------------------


def sanitized(pid):
    """True when pid is an ASan build (the sanitizer phase of
    deploy/local.sh): its shadow memory makes RSS meaningless."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            if b"ASAN_OPTIONS=" in f.read():
                return True
        with open("/proc/%d/maps" % pid) as f:
            return "asan" in f.read()
    except OSError:
        return False


def status_kb(pid, key):
    """A "kB" line of /proc/PID/status (VmRSS, VmHWM), or 0."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssWatch:
    """The largest VmRSS of pids, read every 20 ms while it runs, and their
    VmHWM (peak RSS, reset first where the kernel allows it)."""

    def __init__(self, pids):
        self.pids = pids
        self.peak = 0
        self.samples = 0
        self.reset = 0
        for pid in pids:
            try:
                with open("/proc/%d/clear_refs" % pid, "w") as f:
                    f.write("5")        # resets VmHWM to the current RSS
                self.reset += 1
            except OSError:
                pass
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for pid in self.pids:
                self.peak = max(self.peak, status_kb(pid, "VmRSS"))
            self.samples += 1
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        if self.reset == len(self.pids):
            for pid in self.pids:
                self.peak = max(self.peak, status_kb(pid, "VmHWM"))


def expected_digest(size):
    """SHA-256 of fake_media(size), made in pieces like the emulator."""
    h = hashlib.sha256()
    block = fake_media(256 * 1024)
    left = size
    while left > 0:
        n = min(left, len(block))
        h.update(block if n == len(block) else block[:n])
        left -= n
    return h.hexdigest()


def stream_post(path, pairs):
    """POST the form through nginx and read the answer in pieces: (status,
    headers, length read, SHA-256 hex or None when the transfer ended short
    of Content-Length), never the whole body in memory."""
    body = urllib.parse.urlencode([("Token", token())] + list(pairs))
    conn = http.client.HTTPConnection(ENV.host, ENV.port, timeout=120)
    try:
        conn.request("POST", path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        h = hashlib.sha256()
        n = 0
        try:
            while True:
                piece = r.read(1024 * 1024)
                if not piece:
                    break
                h.update(piece)
                n += len(piece)
        except http.client.IncompleteRead as e:
            n += len(e.partial)
            return r.status, dict((k.lower(), v) for k, v in
                                  r.getheaders()), n, None
        hdrs = dict((k.lower(), v) for k, v in r.getheaders())
        if hdrs.get("content-length") not in (None, str(n)):
            return r.status, hdrs, n, None      # read(amt) ends short
        return r.status, hdrs, n, h.hexdigest()
    finally:
        conn.close()


@t.test(tags=("big",))
def fetch_raw_streams_200mib():
    """200 MiB raw, straight from the API and through a storage redirect:
    every byte (SHA-256), Content-Length exact, each fetch-voicemail
    process under 16 MB peak RSS during the transfer, and the storage host
    never sees Authorization."""
    want = expected_digest(BIG)
    for hops in (0, 1):
        re_sid = seed_recording(BIG, generated=True, redirects=hops)
        pids = t.program_pids("fetch-voicemail")
        mark = EMU.mark()
        t0 = time.monotonic()
        with RssWatch(pids) as w:
            status, hdrs, n, digest = stream_post(
                FV, [("recordingSid", re_sid), ("format", "raw")])
        secs = time.monotonic() - t0
        t.eq(status, 200, "status (%d hops)" % hops)
        t.eq(hdrs.get("content-length"), str(BIG), "Content-Length")
        t.eq(hdrs.get("content-type"), "audio/mpeg", "Content-Type")
        t.eq(hdrs.get("cache-control"), "no-store", "Cache-Control")
        t.eq(n, BIG, "bytes received (%d hops)" % hops)
        t.eq(digest, want, "SHA-256 of the audio (%d hops)" % hops)
        sys.stderr.write("fetch_raw_streams_200mib: %d hops: %d bytes in "
                         "%.2f s, peak RSS %d kB over %d processes (%d "
                         "samples, VmHWM %s)\n" % (
                             hops, n, secs, w.peak, len(pids), w.samples,
                             "read" if w.reset == len(pids) else "not reset"))
        t.ok(w.samples > 3, "RSS sampled during the transfer")
        t.ok(0 < w.peak < RSS_LIMIT_KB or any(sanitized(p) for p in pids),
             "peak RSS of fetch-voicemail %d kB "
             "(limit %d kB, %d processes, VmHWM %s)" % (
                 w.peak, RSS_LIMIT_KB, len(pids),
                 "read" if w.reset == len(pids) else "not resettable"))
        check_redirected(mark, re_sid, hops)


@t.test
def fetch_raw_cut_stream_fails():
    """An upstream cut in the middle of a streamed recording: the client's
    transfer fails at once (short of Content-Length, connection closed),
    never a short file that looks complete; the GET is not repeated once
    bytes went out."""
    size = 8 * 1024 * 1024
    re_sid = seed_recording(size, generated=True, cut_at=3 * 1024 * 1024)
    mark = EMU.mark()
    t0 = time.monotonic()
    try:
        status, hdrs, n, digest = stream_post(
            FV, [("recordingSid", re_sid), ("format", "raw")])
    except (ConnectionError, http.client.HTTPException):
        status, hdrs, n, digest = None, {}, 0, None
    # nginx closes the connection (no keep-alive on this route): the
    # client does not wait out keepalive_timeout for the missing bytes
    t.ok(time.monotonic() - t0 < 5, "the cut took %.1f s to show" %
         (time.monotonic() - t0))
    if status is not None:
        t.eq(status, 200, "status")
        t.eq(hdrs.get("content-length"), str(size), "Content-Length")
        t.ok(n < size and digest is None, "a cut transfer read %d of %d "
             "bytes as complete" % (n, size))
    t.eq(len(mentioning(EMU.requests(mark), re_sid)), 1, "GETs")


@t.test
def fetch_raw_no_length_buffered():
    """No Content-Length from upstream (chunked): raw mode buffers the
    audio (16 MiB cap) to answer an exact Content-Length; over the cap it
    is 502 "recording too large"."""
    re_sid = seed_recording(SIZE, generated=True, chunked=True)
    check_raw_audio(post(FV, [("recordingSid", re_sid), ("format", "raw")]),
                    fake_media(SIZE))
    re_sid = seed_recording(MAX_MEDIA + 1, generated=True, chunked=True)
    t.is_json_error(post(FV, [("recordingSid", re_sid), ("format", "raw")]),
                    502, "recording too large")


@t.test
def fetch_needs_token():
    """No or a wrong Token: 403, nothing fetched; preflight 204."""
    re_sid = seed_recording(64)
    mark = EMU.mark()
    t.is_json_error(post(FV, [("recordingSid", re_sid)], tok=False), 403,
                    "invalid or missing Flex token")
    t.is_json_error(post(FV, [("recordingSid", re_sid),
                              ("Token", "tok-vm-unknown-" + t.unique_hex(8))],
                         tok=False), 403, "invalid or missing Flex token")
    t.eq(mentioning(EMU.requests(mark), re_sid), [], "requests")
    for path in (FV, DV):
        r = t.request("OPTIONS", path, auth=None, signature=None,
                      headers=[("Origin", "https://flex.twilio.com")])
        t.eq(r.status, 204, "preflight %s" % path)
        t.eq(r.header("Access-Control-Allow-Methods"), "POST, OPTIONS",
             "Allow-Methods")
        r = t.request("GET", path, auth=None, signature=None)
        t.eq(r.status, 405, "GET %s" % path)
        t.eq(r.header("Allow"), "POST, OPTIONS", "Allow")


# --------------------------------------------------------------------------
# delete-voicemail
# --------------------------------------------------------------------------


def seed_voicemail(with_transcript=True, deleted=False, attrs=None):
    """A voicemail task with its recording (and transcription); returns
    (task SID, RE, TR or None, the attributes)."""
    n = t.unique_number()
    re_sid = t.sid("RE")
    tr_sid = t.sid("TR") if with_transcript else None
    seed = {"recordings": {re_sid: {"size": 1024}}}
    if tr_sid:
        seed["transcriptions"] = {tr_sid: {"recording_sid": re_sid,
                                           "text": "call me back"}}
    EMU.seed(seed)
    if attrs is None:
        attrs = voicemail_attrs(n, re_sid, tr_sid,
                                "call me back" if tr_sid else None, deleted)
    out = EMU.seed({"tasks": [{"workflow_sid": ENV.workflow_sid,
                               "attributes": attrs,
                               "assignment_status": "assigned"}]})
    return out["tasks"][0], re_sid, tr_sid, attrs


def stored(sid):
    task = EMU.task(sid)
    t.ok(task is not None, "task %s is gone" % sid)
    return t.loads_ordered(task["attributes"]), task["etag"]


def strict_equal(got, want, where="attributes"):
    """Deep equality that also checks JSON types and key order."""
    t.eq(json.dumps(got), json.dumps(want), where)


def deleted_attrs(attrs):
    want = json.loads(json.dumps(attrs), object_pairs_hook=OrderedDict)
    want["callBackData"].pop("transcriptText", None)
    want["callBackData"]["isDeleted"] = True
    return want


@t.test
def delete_voicemail_effects():
    """Transcription and recording deleted, isDeleted true (a JSON
    boolean), transcriptText gone, with If-Match; the requests in order."""
    sid, re_sid, tr_sid, attrs = seed_voicemail()
    _, etag = stored(sid)
    mark = EMU.mark()
    check_success(post(DV, [("taskSid", sid)]), sid)
    t.eq(media_state(re_sid, tr_sid), (True, True), "deleted (RE, TR)")
    got, _ = stored(sid)
    strict_equal(got, deleted_attrs(attrs))
    t.ok(got["callBackData"]["isDeleted"] is True, "isDeleted not true")
    reqs = mentioning(EMU.requests(mark), sid, re_sid, tr_sid)
    t.eq([(q["method"], q["path"]) for q in reqs],
         [("GET", task_path(sid)), ("DELETE", tr_path(tr_sid)),
          ("DELETE", rec_path(re_sid)), ("POST", task_path(sid))],
         "requests")
    for q in reqs:
        check_twilio_auth(q)
    upd = reqs[3]
    t.eq(t.header_of(upd, "If-Match"), etag, "If-Match")
    form = t.form_of(upd)
    t.eq([k for k, _ in form], ["Attributes"], "update fields")
    strict_equal(t.loads_ordered(form[0][1]), deleted_attrs(attrs),
                 "Attributes sent")


@t.test
def delete_repeat_is_harmless():
    """A second request: 200, the deletes answer 404, no update."""
    sid, re_sid, tr_sid, attrs = seed_voicemail()
    check_success(post(DV, [("taskSid", sid)]), sid)
    before, etag = stored(sid)
    mark = EMU.mark()
    check_success(post(DV, [("taskSid", sid)]), sid)
    reqs = mentioning(EMU.requests(mark), sid, re_sid, tr_sid)
    t.eq([(q["method"], q["path"]) for q in reqs],
         [("GET", task_path(sid)), ("DELETE", tr_path(tr_sid)),
          ("DELETE", rec_path(re_sid))], "requests (no update)")
    after, etag2 = stored(sid)
    strict_equal(after, before)
    t.eq(etag2, etag, "task version")


@t.test
def delete_without_transcript():
    sid, re_sid, _, attrs = seed_voicemail(with_transcript=False)
    mark = EMU.mark()
    check_success(post(DV, [("taskSid", sid)]), sid)
    reqs = mentioning(EMU.requests(mark), sid, re_sid)
    t.eq([(q["method"], q["path"]) for q in reqs],
         [("GET", task_path(sid)), ("DELETE", rec_path(re_sid)),
          ("POST", task_path(sid))], "requests")
    t.eq(media_state(re_sid, None), (True, None), "recording deleted")
    strict_equal(stored(sid)[0], deleted_attrs(attrs))


@t.test
def delete_already_marked():
    """isDeleted already true: the media still go, the task is left."""
    sid, re_sid, tr_sid, attrs = seed_voicemail(deleted=True)
    mark = EMU.mark()
    check_success(post(DV, [("taskSid", sid)]), sid)
    t.eq(media_state(re_sid, tr_sid), (True, True), "deleted (RE, TR)")
    reqs = mentioning(EMU.requests(mark), sid)
    t.eq([q["method"] for q in reqs], ["GET"], "task requests")
    strict_equal(stored(sid)[0], attrs)


@t.test
def delete_unknown_task():
    sid = t.sid("WT")
    mark = EMU.mark()
    t.is_json_error(post(DV, [("taskSid", sid)]), 404, "task not found",
                    20404, ERRORS % 20404)
    reqs = mentioning(EMU.requests(mark), sid)
    t.eq([q["method"] for q in reqs], ["GET"], "requests")


@t.test
def delete_callback_task_conflict():
    """No recordingSid (a callback), or one that is not a SID: 409 and
    nothing deleted or changed."""
    n = t.unique_number()
    cb_attrs = od(("from", n), ("name", n), ("taskType", "callback"),
                  ("callBackData", od(("numberToCall", n),
                                      ("isDeleted", False),
                                      ("attempts", 0))))
    re_sid = t.sid("RE")
    EMU.seed({"recordings": {re_sid: {"size": 64}}})
    odd = voicemail_attrs(n, "../Calls/CA" + re_sid[2:])
    for attrs in (cb_attrs, odd):
        sid, _, _, _ = seed_voicemail(attrs=attrs)
        mark = EMU.mark()
        t.is_json_error(post(DV, [("taskSid", sid)]), 409,
                        "not a voicemail task")
        reqs = EMU.requests(mark)
        t.eq([(q["method"], q["path"]) for q in mentioning(reqs, sid)],
             [("GET", task_path(sid))], "task requests")
        t.eq([q for q in mentioning(reqs, re_sid[2:])
              if q["method"] == "DELETE"], [], "deletes")
        strict_equal(stored(sid)[0], attrs)
    t.eq(EMU.state()["recordings"][re_sid]["deleted"], False, "recording")


@t.test
def delete_recording_fails():
    """The recording delete answered 500: an error answer, isDeleted and
    transcriptText unchanged; a repeat then completes."""
    sid, re_sid, tr_sid, attrs = seed_voicemail()
    EMU.fault(method="DELETE", path=rec_path(re_sid), status=500)
    r = post(DV, [("taskSid", sid)])
    t.is_json_error(r, 502, "Twilio request failed", 20500, ERRORS % 20500)
    got, _ = stored(sid)
    strict_equal(got, attrs)
    t.eq(media_state(re_sid, tr_sid), (False, True), "deleted (RE, TR)")
    check_success(post(DV, [("taskSid", sid)]), sid)
    t.eq(media_state(re_sid, tr_sid), (True, True), "deleted (RE, TR)")
    strict_equal(stored(sid)[0], deleted_attrs(attrs))


@t.test
def delete_transcription_fails():
    """The transcription delete answered 503 every time: after the retries
    502 (docs/design/callbacks-and-voicemail.md#requests-and-answers: a 5xx), and the recording is not touched."""
    sid, re_sid, tr_sid, attrs = seed_voicemail()
    EMU.fault(method="DELETE", path=tr_path(tr_sid), status=503, times=0)
    try:
        r = post(DV, [("taskSid", sid)])
    finally:
        EMU.remove_faults(lambda f: f.get("path") == tr_path(tr_sid))
    t.is_json_error(r, 502, "Twilio request failed", 20503, ERRORS % 20503)
    t.eq(media_state(re_sid, tr_sid), (False, False), "deleted (RE, TR)")
    strict_equal(stored(sid)[0], attrs)


@t.test
def delete_update_412_reads_again():
    """A stale ETag: fetch and apply again; the media go only once."""
    sid, re_sid, tr_sid, attrs = seed_voicemail()
    EMU.fault(method="POST", path=task_path(sid), exact=True, status=412)
    mark = EMU.mark()
    check_success(post(DV, [("taskSid", sid)]), sid)
    reqs = mentioning(EMU.requests(mark), sid, re_sid, tr_sid)
    t.eq([(q["method"], q["path"]) for q in reqs],
         [("GET", task_path(sid)), ("DELETE", tr_path(tr_sid)),
          ("DELETE", rec_path(re_sid)), ("POST", task_path(sid)),
          ("GET", task_path(sid)), ("POST", task_path(sid))], "requests")
    strict_equal(stored(sid)[0], deleted_attrs(attrs))


@t.test
def delete_invalid_task_sid():
    mark = EMU.mark()
    bad = "RE" + t.unique_hex(32)
    t.is_json_error(post(DV, [("taskSid", bad)]), 400, "invalid taskSid")
    t.is_json_error(post(DV, []), 400, "missing taskSid")
    t.eq(mentioning(EMU.requests(mark), bad[2:]), [], "requests")


if __name__ == "__main__":
    t.require_stack()
    t.main()
