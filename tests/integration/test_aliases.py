#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The paths of the other plugin and template versions, through the stack.

Each alias (README.md "Migrating from Twilio Functions") has the security
of its main route: Twilio signature + Basic auth for the Studio ones,
the Flex token for the Flex ones, the same clear JSON errors for unknown
methods, and it does the main route's work.  Every answer on a Flex-token
path carries Access-Control-Allow-Origin exactly once, nginx's own errors
included (404 under the Flex prefixes, 405 for TRACE, 413); the other
paths' answers carry none.  (The 429, 502 and 504 pages share the
mechanism, the map $fh_cors_origin in nginx/flexhooks.conf.in; they need a
rate limit, a stopped program or a hung one, which this shared stack cannot
stage.)

Run by `deploy/local.sh test` (make check); exits 77 unless
FLEXHOOKS_TEST_STACK=1.
"""

import os
import sys
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402

ENV = t.ENV
EMU = t.EMU
TOKEN = "tok-aliases-" + t.unique_hex(24)
FROM = "+18005550100"
MAIN_WAIT = "/features/callback-and-voicemail/studio/wait-experience"

STUDIO_CREATE = [
    "/callback/studio/create-callback",
    "/features/callbacks/studio/create-callback",
    "/features/callbacks/studio/voicemail-transcription-callback",
]
FLEX_CREATE = [
    "/callback/flex/create-callback",
    "/features/callbacks/flex/create-callback",
]
WAIT = "/features/callback-and-voicemail/studio/wait-url/wait-experience"


def seed_token():
    EMU.seed({"tokens": {TOKEN: {"status": 200, "body": {
        "valid": True, "code": 0, "message": None,
        "expiration": "2099-01-01T00:00:00.000Z", "identity": "agent",
        "roles": ["agent"], "worker_sid": "WK" + "0" * 30 + "36"}}}})


attrs_of = t.task_attrs


def tasks_for(number):
    return [x for x in EMU.tasks()
            if (attrs_of(x).get("callBackData") or {}).get("numberToCall")
            == number]


def cors_once(r, what):
    got = r.header_all("Access-Control-Allow-Origin")
    t.eq(got, ["*"], "%s: Access-Control-Allow-Origin" % what)


def no_cors(r, what):
    t.eq(r.header_all("Access-Control-Allow-Origin"), [],
         "%s: Access-Control-Allow-Origin" % what)


def created(r, number, what, kind="callback"):
    t.eq(r.status, 200, "%s: status (body %r)" % (what, r.body[:300]))
    sid = r.json()["taskSid"]
    got = tasks_for(number)
    t.eq([x["sid"] for x in got], [sid], "%s: tasks made" % what)
    t.eq(attrs_of(got[0]).get("taskType"), kind, "%s: taskType" % what)


ORIGIN = [("Origin", "https://flex.twilio.com")]


# --------------------------------------------------------------------------
# Studio aliases: Twilio signature + Basic auth
# --------------------------------------------------------------------------

@t.test
def studio_aliases_need_basic_and_signature():
    for path in STUDIO_CREATE + [WAIT]:
        n = t.unique_number()
        form = [("numberToCall", n), ("numberToCallFrom", FROM)]
        mark = EMU.mark()
        r = t.request("POST", path, form=form, auth=None)
        t.is_json_error(r, 401, "authentication required")
        no_cors(r, path)
        r = t.request("POST", path, form=form, signature=None)
        t.is_json_error(r, 403, "invalid signature")
        r = t.request("POST", path, form=form,
                      signature=t.sign(ENV.public_url + path, form,
                                       token="0" * 32))
        t.is_json_error(r, 403, "invalid signature")
        no_cors(r, path)
        # a signature made for the main route does not open the alias
        main = "/features/callback-and-voicemail/studio/create-callback"
        r = t.request("POST", path, form=form,
                      signature=t.sign(ENV.public_url + main, form))
        t.is_json_error(r, 403, "invalid signature")
        t.eq([q for q in EMU.requests(mark)
              if q.get("path", "").startswith("/v1/")], [],
             "%s: requests to Twilio" % path)
        t.eq(tasks_for(n), [], "%s: tasks made" % path)


@t.test
def studio_aliases_create():
    for path in STUDIO_CREATE:
        n = t.unique_number()
        r = t.request("POST", path, form=[("numberToCall", n),
                                          ("numberToCallFrom", FROM)])
        created(r, n, path)
        no_cors(r, path)
        # GET with the values in the query string, as Studio may send
        n = t.unique_number()
        r = t.request("GET", path, query=[("numberToCall", n),
                                          ("numberToCallFrom", FROM)])
        created(r, n, "GET " + path)


@t.test
def transcription_callback_alias_makes_a_voicemail():
    """The Record widget's transcription callback: the numbers in the
    URL's query (set in the flow), Twilio's fields in the signed body."""
    n = t.unique_number()
    re_sid, tr_sid = t.sid("RE"), t.sid("TR")
    path = "/features/callbacks/studio/voicemail-transcription-callback"
    q = [("numberToCall", n), ("numberToCallFrom", FROM)]
    body = [("AccountSid", ENV.account_sid), ("CallSid", t.sid("CA")),
            ("RecordingSid", re_sid),
            ("RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/"
             "%s/Recordings/%s" % (ENV.account_sid, re_sid)),
            ("TranscriptionSid", tr_sid), ("TranscriptionStatus",
                                           "completed"),
            ("TranscriptionText", "please call me")]
    r = t.request("POST", path, query=q, form=body)
    created(r, n, path, kind="voicemail")
    cb = attrs_of(tasks_for(n)[0]).get("callBackData") or {}
    t.eq(cb.get("recordingSid") or cb.get("RecordingSid"), re_sid,
         "recording")
    t.eq(cb.get("transcriptText") or cb.get("TranscriptionText"),
         "please call me", "transcript")


@t.test
def studio_alias_methods():
    for path in STUDIO_CREATE + [WAIT]:
        for m in ("PUT", "DELETE", "OPTIONS"):
            r = t.request(m, path, body=b"")
            t.is_json_error(r, 405, "method not allowed")
            t.eq(r.header("Allow"), "GET, POST", "%s %s: Allow" % (m, path))
        r = t.request("TRACE", path, auth=None, signature=None)
        t.is_json_error(r, 405, "method not allowed")
        no_cors(r, "TRACE " + path)


@t.test
def wait_alias_serves_the_hold_loop():
    caller = t.unique_number()
    params = [("AccountSid", ENV.account_sid), ("CallSid", t.sid("CA")),
              ("Caller", caller), ("From", caller),
              ("Called", "+15555550100"), ("To", "+15555550100"),
              ("CallStatus", "in-progress"), ("Direction", "inbound")]
    r = t.request("POST", WAIT, form=params)
    t.eq(r.status, 200, "status (body %r)" % r.body[:300])
    t.eq(r.header("Content-Type"), "text/xml; charset=utf-8", "type")
    root = ET.fromstring(r.body)
    t.eq(root.tag, "Response", "TwiML")
    urls = [el.get("action") for el in root.iter("Gather")] + \
        [el.text for el in root.iter("Redirect")]
    t.ok(urls, "no URL to go on with: %r" % r.body[:300])
    for u in urls:
        t.eq(urllib.parse.urlsplit(u).path, urllib.parse.urlsplit(
            ENV.public_url).path + MAIN_WAIT, "next URL %r" % u)


# --------------------------------------------------------------------------
# Flex aliases: Flex token, CORS on every answer
# --------------------------------------------------------------------------

@t.test
def flex_aliases_need_a_token():
    for path in FLEX_CREATE:
        n = t.unique_number()
        form = [("numberToCall", n), ("numberToCallFrom", FROM)]
        for tok in (None, "", "eyJx.eyJy.z"):
            pairs = ([] if tok is None else [("Token", tok)]) + form
            r = t.request("POST", path, form=pairs, auth=None,
                          signature=None, headers=ORIGIN)
            t.is_json_error(r, 403, "invalid or missing Flex token")
            cors_once(r, path)
        # Basic credentials and a signature are no substitute
        r = t.request("POST", path, form=form, headers=ORIGIN)
        t.is_json_error(r, 403, "invalid or missing Flex token")
        t.eq(tasks_for(n), [], "%s: tasks made" % path)


@t.test
def flex_aliases_create():
    for path in FLEX_CREATE:
        n = t.unique_number()
        r = t.request("POST", path, form=[
            ("Token", TOKEN), ("numberToCall", n),
            ("numberToCallFrom", FROM)], auth=None, signature=None,
            headers=ORIGIN)
        created(r, n, path)
        cors_once(r, path)


@t.test
def flex_alias_methods():
    for path in FLEX_CREATE:
        r = t.request("OPTIONS", path, auth=None, signature=None,
                      headers=ORIGIN + [
                          ("Access-Control-Request-Method", "POST")])
        t.eq(r.status, 204, "%s preflight" % path)
        cors_once(r, path + " preflight")
        t.eq(r.header("Access-Control-Allow-Methods"), "POST, OPTIONS",
             "%s preflight methods" % path)
        for m in ("GET", "PUT", "DELETE", "PATCH"):
            r = t.request(m, path, auth=None, signature=None,
                          body=None if m == "GET" else b"",
                          headers=ORIGIN)
            t.is_json_error(r, 405, "method not allowed")
            t.eq(r.header("Allow"), "POST, OPTIONS", "%s %s" % (m, path))
            cors_once(r, "%s %s" % (m, path))
        # nginx refuses TRACE itself: JSON, readable by the browser
        r = t.request("TRACE", path, auth=None, signature=None,
                      headers=ORIGIN)
        t.is_json_error(r, 405, "method not allowed")
        cors_once(r, "TRACE " + path)


@t.test
def nginx_errors_on_flex_paths_carry_cors():
    paths = FLEX_CREATE + [
        "/features/callback-and-voicemail/flex/create-callback",
        "/features/callback-and-voicemail/flex/requeue-callback",
        "/features/callback-and-voicemail/flex/fetch-voicemail",
        "/features/callback-and-voicemail/flex/delete-voicemail"]
    for path in paths:
        # nginx's 413, before the program sees anything
        r = t.request("POST", path, body=b"x" * 200000, auth=None,
                      signature=None, headers=ORIGIN,
                      content_type="application/x-www-form-urlencoded")
        t.is_json_error(r, 413, "request body too large")
        cors_once(r, "413 " + path)
    # a path the plugin got wrong, under each Flex prefix: a readable 404
    for path in ("/callback/flex/create-callbak",
                 "/features/callbacks/flex/requeue-callback",
                 "/features/callback-and-voicemail/flex/nope",
                 "//callback/flex/x"):
        for m in ("POST", "OPTIONS"):
            r = t.request(m, path, auth=None, signature=None, body=b"",
                          headers=ORIGIN)
            t.is_json_error(r, 404, "not found")
            cors_once(r, "%s %s" % (m, path))
    # other paths' errors carry none
    for path in ("/nope", "/callback/studio/nope", "/callbackx/flex/x",
                 "/x/callback/flex/create-callback"):
        r = t.request("POST", path, auth=None, signature=None, body=b"",
                      headers=ORIGIN)
        t.is_json_error(r, 404, "not found")
        no_cors(r, path)
    r = t.request("POST", "/callback/studio/create-callback",
                  body=b"x" * 200000, headers=ORIGIN,
                  content_type="application/x-www-form-urlencoded")
    t.is_json_error(r, 413, "request body too large")
    no_cors(r, "413 studio alias")


if __name__ == "__main__":
    t.require_stack()
    seed_token()
    t.main()
