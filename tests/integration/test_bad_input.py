#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile input to every route, through nginx and the real programs.

One table per kind of attack, each row a request to one route and what
must come back: the status, the exact docs/design/platform.md#answers error body where
the spec fixes the message, and for TwiML routes a well-formed document in
which the injected markup is only text.  After every row the emulator's
request log must show nothing sent to Twilio: no request at all for rows a
route refuses before its handler (only the Flex routes' IAM token check),
and no create, update or delete for TwiML routes, whose answer is a TwiML
fallback that may have looked something up.

Covered: oversized bodies (413) and fields (400), too many pairs, invalid
UTF-8, NUL bytes, XML/TwiML injection, JSON injection into task attributes,
CR/LF in values that reach headers or URLs, SSRF shapes where a SID is
expected, path traversal and odd URIs, unknown routes (404), wrong methods
(405 with Allow), forged and replayed signatures and tokens (403), nginx's
own errors (400/414 as JSON), and the rate limits: none on the Twilio-facing
Basic-auth routes (one address sending fast is never answered 429), a
per-address one on the Flex-token routes (429 after a burst; other
addresses are served, and the same address once the burst has drained).

/tr-event-callback (taskrouter-events) rows run only when that program is
built: when nginx answers its fallback 404 they are skipped.

Run by `deploy/local.sh test` (make check); exits 77 unless
FLEXHOOKS_TEST_STACK=1.
"""

import http.client
import json
import os
import socket
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402

ENV = t.ENV
EMU = t.EMU

F = "/features/callback-and-voicemail/"
HEX = "0123456789abcdef" * 2
CA = "CA" + HEX
WT = "WT" + HEX
RE = "RE" + HEX
QU = "QU" + HEX
WR = "WR" + HEX
WQ1 = "WQ" + "a" * 31 + "1"

# route name -> (path, auth, methods of its Allow header, answer kind)
#   auth: "sig+basic", "sig", "sig|basic", "token", "public"
#   kind: "json", "twiml", "empty" (status-callback), "health"
ROUTES = {
    "studio-create": (F + "studio/create-callback", "sig+basic",
                      "GET, POST", "json"),
    "flex-create": (F + "flex/create-callback", "token",
                    "POST, OPTIONS", "json"),
    "requeue": (F + "flex/requeue-callback", "token", "POST, OPTIONS",
                "json"),
    "fetch-vm": (F + "flex/fetch-voicemail", "token", "POST, OPTIONS",
                 "json"),
    "delete-vm": (F + "flex/delete-voicemail", "token", "POST, OPTIONS",
                  "json"),
    "wait": (F + "studio/wait-experience", "sig+basic", "GET, POST",
             "twiml"),
    "incoming": ("/incoming-call", "sig+basic", "GET, POST", "twiml"),
    "redirect": ("/twiml-redirect-call", "sig", "GET, POST", "twiml"),
    "dial-queue": ("/dial-queue", "sig", "POST", "twiml"),
    "status": ("/status-callback", "sig", "POST", "empty"),
    "location": ("/location-lookup", "sig|basic", "GET, POST", "json"),
    "healthz": ("/healthz", "public", "GET, HEAD", "health"),
    # taskrouter-events: skipped while nginx answers its fallback 404
    "tr-event": ("/tr-event-callback", "sig+basic", "POST", "tr"),
}

COUNT = {}          # route -> rows run

# nginx limits the Flex-token routes per client address (429 after a
# burst of 100): this script's rows, hundreds of hostile requests sent as
# fast as the stack answers, come from loopback addresses 127.0.0.2-121 in
# turn, and the floods from 127.0.0.130-249, so that none counts against
# the other scripts (127.0.0.1) nor against each other.
SRC = "127.0.0.%d" % (2 + int(t.unique_hex(2), 16) % 120)
_next_src = [0]


class _FromSrc(http.client.HTTPConnection):
    def __init__(self, *a, **kw):
        _next_src[0] += 1
        kw.setdefault("source_address",
                      ("127.0.0.%d" % (2 + _next_src[0] % 120), 0))
        super().__init__(*a, **kw)


def use_own_address():
    try:
        socket.create_connection((ENV.host, ENV.port), timeout=5,
                                 source_address=(SRC, 0)).close()
    except OSError:
        return      # no such loopback address here: stay on 127.0.0.1
    http.client.HTTPConnection = _FromSrc
_token = []
_tr_built = []


def token():
    """One valid Flex token for all rows (seeded once; cached by the
    programs after the first check)."""
    if not _token:
        tok = "eyJ%s.eyJ%s.%s" % (t.unique_hex(16), t.unique_hex(24),
                                  t.unique_hex(20))
        EMU.seed({"tokens": {tok: {"status": 200, "body": {
            "valid": True, "code": 0, "message": None,
            "expiration": "2099-01-01T00:00:00.000Z",
            "realm_user_id": "u@example.com", "identity": "u",
            "roles": ["agent"], "worker_sid": "WK" + HEX}}}})
        _token.append(tok)
    return _token[0]


def tr_built():
    if not _tr_built:
        r = t.request("POST", "/tr-event-callback", form=[])
        _tr_built.append(not (r.status == 404 and r.body ==
                              t.error_body("not found")))
    return _tr_built[0]


def base_fields(route):
    """Valid-looking fields of a normal request, so that one hostile
    field is what the route has to deal with."""
    n = t.unique_number()
    return {
        "studio-create": [("numberToCall", n),
                          ("numberToCallFrom", "+15555550100")],
        "flex-create": [("numberToCall", n),
                        ("numberToCallFrom", "+15555550100")],
        "requeue": [("taskSid", WT)],
        "fetch-vm": [("recordingSid", RE)],
        "delete-vm": [("taskSid", WT)],
        "wait": [("CallSid", CA), ("From", n), ("Caller", n),
                 ("To", "+15555550100"), ("Called", "+15555550100"),
                 ("CallStatus", "in-progress")],
        "incoming": [("CallSid", CA), ("From", n), ("Caller", n),
                     ("To", "+15555550100"), ("Called", "+15555550100"),
                     ("CallStatus", "ringing")],
        "redirect": [("CallSid", CA)],
        "dial-queue": [("CallSid", CA), ("AnsweredBy", "human")],
        "status": [("CallSid", CA), ("CallStatus", "completed"),
                   ("SequenceNumber", "0")],
        "location": [("Called", "+15555550100")],
        "healthz": [],
        "tr-event": [("EventType", "task.created")],
    }[route]


def send(route, pairs=None, method="POST", query=None, replace=True,
         **kw):
    """A request to route, authenticated as its callers do.  pairs replace
    the base fields of the same name (or are added)."""
    path, auth, _, _ = ROUTES[route]
    form = list(base_fields(route))
    for k, v in pairs or []:
        if replace:
            form = [(a, b) for a, b in form if a != k]
        form.append((k, v))
    if auth == "token":
        form = [("Token", token())] + form
    kw.setdefault("auth", auth in ("sig+basic",) or None)
    kw.setdefault("signature", auth in ("sig+basic", "sig", "sig|basic")
                  or None)
    if method == "GET":
        q = urllib.parse.urlencode(form) if form else None
        if query:
            q = (q + "&" + query) if q else query
        return t.request("GET", path, query=q, **kw)
    if "body" in kw or "json_body" in kw:
        return t.request(method, path, query=query, **kw)
    return t.request(method, path, query=query, form=form, **kw)


# --------------------------------------------------------------- checks

def iam_path():
    return "/v1/Accounts/%s/Tokens/validate" % ENV.account_sid


def twilio_since(mark):
    return [r for r in EMU.requests(mark) if r.get("path") != iam_path()]


def nothing_sent(mark, what):
    """Nothing but IAM token checks reached the emulator since mark."""
    reqs = twilio_since(mark)
    t.ok(not reqs, "%s: requests sent to Twilio: %s" % (
        what, ["%s %s" % (r.get("method"), r.get("path")) for r in reqs]))


def no_writes(mark, what):
    """No create, update or delete since mark, and no request to a path
    a client could have steered (.., another host, a URL)."""
    for r in twilio_since(mark):
        p = (r.get("path") or "") + "?" + (r.get("query") or "")
        t.ok(r.get("method") == "GET", "%s: %s %s sent to Twilio" % (
            what, r.get("method"), r.get("path")))
        for bad in ("..", "%2e", "169.254", "Pwned", "\r", "\n"):
            t.ok(bad not in urllib.parse.unquote(p),
                 "%s: client-steered request %r" % (what, p))


def well_formed(resp, what):
    """200 TwiML that parses, with no injected element or attribute;
    every URL in it free of raw CR/LF/space.  Returns the root."""
    t.eq(resp.status, 200, "%s: status (body %r)" % (what, resp.body[:200]))
    t.eq(resp.header("Content-Type"), "text/xml; charset=utf-8",
         what + ": Content-Type")
    try:
        root = ET.fromstring(resp.body)
    except ET.ParseError as e:
        raise AssertionError("%s: TwiML not well-formed (%s): %r" % (
            what, e, resp.body[:300]))
    t.eq(root.tag, "Response", what + ": root")
    for el in root.iter():
        t.ok(el.tag.lower() not in ("pwned", "x"), "%s: injected <%s>" %
             (what, el.tag))
        for k, v in el.attrib.items():
            t.ok(k.lower() not in ("pwned", "a"), "%s: injected %s=" %
                 (what, k))
            if k in ("action", "waitUrl", "transcribeCallback",
                     "recordingStatusCallback"):
                url_clean(v, what)
        if el.tag in ("Redirect", "Play") and el.text:
            url_clean(el.text, what)
    return root


def url_clean(u, what):
    for c in ("\r", "\n", " ", "<", ">", '"'):
        t.ok(c not in u, "%s: raw %r in URL %r" % (what, c, u))


def no_header_injection(resp, what):
    for k in resp.headers:
        t.ok(k.lower() not in ("x-injected", "set-cookie"),
             "%s: injected header %s" % (what, k))


def check_answer(route, resp, want, what):
    """want: an int status, or (status, message) for the exact error body,
    or "twiml", or "fallback" (the route's own rule: TwiML routes answer
    TwiML, status-callback 200 empty, location 400/404 JSON)."""
    kind = ROUTES[route][3]
    no_header_injection(resp, what)
    if want == "fallback":
        if kind == "twiml":
            want = "twiml"
        elif kind == "empty":
            t.eq(resp.status, 200, what + ": status")
            t.eq(resp.body, b"", what + ": body")
            return
        elif kind == "tr":
            t.eq(resp.status, 204, what + ": status")
            return
        else:
            t.ok(resp.status in (400, 404), "%s: status %d (body %r)" % (
                what, resp.status, resp.body[:200]))
            t.json_type(resp)
            j = json.loads(resp.body)
            t.eq(list(j.keys()), ["success", "message", "code",
                                  "more_info"], what + ": error keys")
            return
    if want == "twiml":
        well_formed(resp, what)
        return
    if isinstance(want, tuple):
        t.is_json_error(resp, want[0], want[1])
        return
    t.eq(resp.status, want, "%s: status (body %r)" % (what, resp.body[:200]))
    if resp.status >= 400:
        t.json_type(resp)
        j = json.loads(resp.body)
        t.eq(list(j.keys()), ["success", "message", "code", "more_info"],
             what + ": error keys")


def row(route, what, want, strict=True, **kw):
    """Send one hostile request and check it; strict: nothing at all may
    reach Twilio (else: no writes)."""
    if route == "tr-event" and not tr_built():
        return
    mark = EMU.mark()
    resp = send(route, **kw)
    label = "%s %s" % (route, what)
    check_answer(route, resp, want, label)
    if strict:
        nothing_sent(mark, label)
    else:
        no_writes(mark, label)
    COUNT[route] = COUNT.get(route, 0) + 1
    return resp


def invalid(field):
    return (400, "invalid " + field)


# Per route: the field whose failure the spec names, and the answer.
FIELD_ROUTES = [
    ("studio-create", "numberToCall"),
    ("flex-create", "numberToCall"),
    ("requeue", "taskSid"),
    ("fetch-vm", "recordingSid"),
    ("delete-vm", "taskSid"),
]
# TwiML and callback routes: (route, fields that reach TwiML or a URL).
TWIML_ROUTES = [
    ("wait", ["From", "Caller", "To", "Called", "Digits", "QueueSid",
              "RecordingUrl", "TranscriptionText", "CallStatus"]),
    ("incoming", ["From", "Caller", "To", "Called", "CallerName"]),
    ("redirect", ["queue", "QueueSid", "From", "To"]),
    ("dial-queue", ["queue", "reservationSid", "from", "task",
                    "AnsweredBy"]),
    ("status", ["reservation", "task", "CallStatus", "CallDuration"]),
    ("location", ["location", "Called", "To"]),
    ("tr-event", ["TaskAttributes", "TaskSid", "ReservationSid"]),
]

INJECT_XML = ['x"/><Pwned/><Say a="', "</Say><Pwned>1</Pwned><Say>",
              "]]><!-- <Pwned/> -->", "&amp;&lt;Pwned/&gt;&#0;",
              "' pwned='1"]


# --------------------------------------------------------------- tables

@t.test
def oversized_body_413():
    big = b"numberToCall=" + b"1" * (64 * 1024)
    for route in ROUTES:
        if route in ("healthz",):
            continue
        for size, label in ((64 * 1024 + 1, "64 KiB + 1"),
                            (300 * 1024, "300 KiB (nginx)")):
            body = (big + b"1" * size)[:size]
            row(route, "body " + label,
                (413, "request body too large"), body=body,
                content_type="application/x-www-form-urlencoded")


@t.test
def oversized_fields_400():
    for route, field in FIELD_ROUTES:
        for n in (9 * 1024, 60 * 1024):
            row(route, "%s of %d bytes" % (field, n), invalid(field),
                pairs=[(field, "+1" + "5" * n)])
    row("studio-create", "conversation_id over 256 bytes",
        invalid("conversation_id"), pairs=[("conversation_id", "c" * 257)])
    row("studio-create", "transcriptText over 8192 bytes",
        invalid("transcriptText"),
        pairs=[("recordingSid", RE), ("transcriptText", "t" * 8193)])
    row("studio-create", "201 pairs", (400, "malformed request"),
        pairs=[("p%d" % i, "v") for i in range(201)], replace=False)
    row("wait", "201 pairs in the query", (400, "malformed request"),
        query="&".join("p%d=v" % i for i in range(201)))
    for route, fields in TWIML_ROUTES:
        for f in fields[:2]:
            row(route, "%s of 20 KiB" % f, "fallback", strict=False,
                pairs=[(f, "A" * 20000)])


@t.test
def invalid_utf8_and_nul_400():
    bad = [("invalid UTF-8", b"\xff\xfe"), ("overlong", b"\xc0\xaf"),
           ("NUL", b"a\x00b"), ("lone surrogate", b"\xed\xa0\x80"),
           ("cut sequence", b"\xe2\x82")]
    for route, field in FIELD_ROUTES:
        for what, v in bad:
            row(route, "%s in %s" % (what, field), invalid(field),
                pairs=[(field, b"+1555555" + v)])
    for what, v in bad:
        row("studio-create", what + " in conversation_id",
            invalid("conversation_id"), pairs=[("conversation_id", v)])
        row("flex-create", what + " in numberToCallFrom",
            invalid("numberToCallFrom"), pairs=[("numberToCallFrom", v)])
        for route, fields in TWIML_ROUTES:
            row(route, "%s in %s" % (what, fields[0]), "fallback",
                strict=False, pairs=[(fields[0], v)])
    # a JSON body with a NUL escape and one with raw invalid UTF-8
    row("flex-create", "JSON \\u0000", invalid("numberToCall"),
        json_body={"Token": token(), "numberToCall": "+1555\u0000",
                   "numberToCallFrom": "+15555550100"}, body_sha=False,
        auth=None, signature=None)
    row("flex-create", "JSON raw invalid UTF-8", 400,
        json_body=b'{"Token":"' + token().encode() +
        b'","numberToCall":"+1555\xff"}', body_sha=False,
        auth=None, signature=None)


@t.test
def xml_injection_escaped():
    for route, fields in TWIML_ROUTES:
        for f in fields:
            for v in INJECT_XML:
                row(route, "XML in %s" % f, "fallback", strict=False,
                    pairs=[(f, v)])
            row(route, "XML in query %s" % f, "fallback", strict=False,
                query=urllib.parse.urlencode([(f, INJECT_XML[0])]))
    for route, field in FIELD_ROUTES:
        row(route, "XML in " + field, invalid(field),
            pairs=[(field, INJECT_XML[0])])
    # wait-experience states whose fields are echoed into TwiML URLs
    for mode in ("main-wait-loop", "handle-initial-choice",
                 "other-number-confirmation-option", "record-voicemail"):
        for f in ("enqueuedTaskSid", "to", "calledNumber",
                  "updatedPhoneNumber", "workflowSid", "taskChannel",
                  "try", "Digits"):
            row("wait", "%s %s injected" % (mode, f), "fallback",
                strict=False, query=urllib.parse.urlencode(
                    [("mode", mode), (f, INJECT_XML[0] + "\r\nX: y")]))


def created_task_attrs(mark, marker):
    creates = t.task_creates(EMU.requests(mark), marker)
    t.eq(len(creates), 1, "task creates for %s" % marker)
    return json.loads(t.first(t.form_of(creates[0]), "Attributes"))


@t.test
def json_injection_stays_a_string():
    inj = ['x","taskType":"voicemail","y":"', '{"taskType":"voicemail"}',
           'x\\",\\"taskType\\":\\"voicemail', "\u2028</script>"]
    for route in ("studio-create", "flex-create"):
        for v in inj:
            n = t.unique_number()
            mark = EMU.mark()
            resp = send(route, pairs=[
                ("numberToCall", n), ("conversation_id", v),
                ("recordingSid", RE[:-4] + t.unique_hex(4)),
                ("transcriptSid", "TR" + HEX), ("transcriptText", v)])
            t.eq(resp.status, 200, "%s: status (%r)" % (route,
                                                        resp.body[:200]))
            a = created_task_attrs(mark, n)
            t.eq(a.get("taskType"), "voicemail", "taskType")
            t.eq(a["conversations"]["conversation_id"], v,
                 "conversation_id kept as a string")
            t.eq(a["callBackData"]["transcriptText"], v,
                 "transcriptText kept as a string")
            t.eq(sorted(k for k in a if k == "y"), [], "injected key")
            COUNT[route] = COUNT.get(route, 0) + 1
    # incoming-call: From goes into <Task> JSON inside TwiML
    for v in inj:
        mark = EMU.mark()
        resp = send("incoming", pairs=[("From", v), ("Caller", v)])
        root = well_formed(resp, "incoming JSON in From")
        task = root.find("./Enqueue/Task")
        t.ok(task is not None, "incoming: <Task>")
        a = json.loads(task.text)
        t.ok(isinstance(a, dict), "Task is an object")
        t.ok("y" not in a and a.get("taskType") in (None,),
             "incoming: injected key in %r" % a)
        for k, val in a.items():
            if isinstance(val, str) and ('taskType' in val):
                t.eq(val, v, "injected text kept whole in %s" % k)
        no_writes(mark, "incoming JSON")
        COUNT["incoming"] = COUNT.get("incoming", 0) + 1


@t.test
def crlf_in_headers_and_urls():
    crlf = ["\r\nX-Injected: 1", "\nSet-Cookie: a=b", "\r"]
    for v in crlf:
        row("fetch-vm", "CRLF in recordingSid", invalid("recordingSid"),
            pairs=[("recordingSid", RE + v)])
        row("fetch-vm", "CRLF in format", invalid("format"),
            pairs=[("format", "raw" + v)])
        row("studio-create", "CRLF in recordingUrl", invalid("recordingUrl"),
            pairs=[("recordingSid", RE),
                   ("recordingUrl", "https://api.twilio.com/x" + v)])
        row("requeue", "CRLF in taskSid", invalid("taskSid"),
            pairs=[("taskSid", WT + v)])
        row("delete-vm", "CRLF in taskSid", invalid("taskSid"),
            pairs=[("taskSid", WT + v)])
        row("studio-create", "CRLF in workflowSid", invalid("workflowSid"),
            pairs=[("workflowSid", "WW" + HEX + v)])
        row("studio-create", "CRLF in taskChannel", invalid("taskChannel"),
            pairs=[("taskChannel", "voice" + v)])
        for route, fields in TWIML_ROUTES:
            for f in fields:
                row(route, "CRLF in %s" % f, "fallback", strict=False,
                    pairs=[(f, "+15555550123" + v)])
    # an Origin with CRLF is never echoed
    resp = send("fetch-vm", method="OPTIONS", body=b"",
                headers=[("Origin", "https://a.example")],
                auth=None, signature=None)
    no_header_injection(resp, "OPTIONS")


@t.test
def ssrf_shapes_refused():
    shapes = ["../../x", "../../../2010-04-01/Accounts", RE + "/../../x",
              "http://169.254.169.254/latest/meta-data/",
              "https://evil.example/" + RE, RE + "?x=1", RE + "#x",
              RE + ".mp3", "re" + HEX, RE + "0", RE[:-1] + "g",
              "%2e%2e%2f%2e%2e%2fx", "//evil.example/" + RE, "RE" + HEX[:31]]
    for v in shapes:
        row("fetch-vm", "SSRF recordingSid %r" % v, invalid("recordingSid"),
            pairs=[("recordingSid", v)])
        row("fetch-vm", "SSRF RecordingSid %r" % v, invalid("recordingSid"),
            pairs=[("recordingSid", ""), ("RecordingSid", v)])
        row("requeue", "SSRF taskSid %r" % v, invalid("taskSid"),
            pairs=[("taskSid", v.replace("RE", "WT"))])
        row("delete-vm", "SSRF taskSid %r" % v, invalid("taskSid"),
            pairs=[("taskSid", v.replace("RE", "WT"))])
        row("studio-create", "SSRF recordingSid %r" % v,
            invalid("recordingSid"), pairs=[("recordingSid", v)])
        for route, f in (("wait", "QueueSid"), ("wait", "RecordingSid"),
                         ("redirect", "queue"), ("dial-queue", "task"),
                         ("dial-queue", "reservationSid"),
                         ("status", "task")):
            row(route, "SSRF %s %r" % (f, v), "fallback", strict=False,
                pairs=[(f, v.replace("RE", f[:2].upper()))])
    for u in ("http://169.254.169.254/latest", "file:///etc/passwd",
              "gopher://127.0.0.1:6379/", "//169.254.169.254/x",
              "http://127.0.0.1:%d/__emulator/reset" % (ENV.port + 1)):
        row("studio-create", "SSRF recordingUrl %r" % u,
            invalid("recordingUrl"),
            pairs=[("recordingSid", RE), ("recordingUrl", u)])
    # an https URL is only stored (docs/design/callbacks-and-voicemail.md#studio-create-callback), never
    # fetched: the task is created and nothing but TaskRouter is asked
    n = t.unique_number()
    mark = EMU.mark()
    rec = "RE" + t.unique_hex(32)
    r = send("studio-create", pairs=[
        ("numberToCall", n), ("recordingSid", rec),
        ("recordingUrl", "https://169.254.169.254/latest/meta-data/")])
    t.eq(r.status, 200, "https recordingUrl stored (%r)" % r.body[:100])
    for q in EMU.requests(mark):
        t.ok(q.get("path", "").startswith("/v1/"),
             "only TaskRouter asked: %s" % q.get("path"))
    a = created_task_attrs(mark, n)
    t.eq(a["callBackData"]["recordingUrl"],
         "https://169.254.169.254/latest/meta-data/", "stored as given")
    COUNT["studio-create"] += 1


@t.test
def path_traversal_and_odd_uris():
    """nginx normalises dot segments, %2e and double slashes before
    choosing a location: the normalised route answers, with its own
    authentication; nothing outside the routes and /assets/ is served."""
    nf = (404, "not found")
    cases = [
        ("/features/../healthz", 200), ("/features/%2e%2e/healthz", 200),
        ("//healthz", 200), ("/./healthz", 200),
        # above the root: nginx refuses the URI itself
        ("/assets/../../../../etc/passwd", (400, "bad request")),
        ("/assets/%2e%2e/%2e%2e/etc/passwd", (400, "bad request")),
        ("/assets/..%2f..%2fnginx/flexhooks.conf.in", (400, "bad request")),
        ("/assets/../deploy/local.sh", nf),
        ("/healthz/../features/callback-and-voicemail/studio/"
         "create-callback", (401, "authentication required")),
        (F + "studio//create-callback", (401, "authentication required")),
        (F + "studio/./create-callback", (401, "authentication required")),
        (F + "flex/%2e%2e/studio/create-callback",
         (401, "authentication required")),
        ("/healthz%00", (400, "bad request")), ("/healthz%2f", nf),
        ("/HEALTHZ", nf), ("/healthz%0d%0aX-Injected:1", nf),
        ("/index.html", nf), ("/x.js", nf), ("/assets/x.xml", nf),
        ("/healthz.json", nf), ("/cgi-bin/healthz", nf),
        ("/__flexhooks/400", nf), ("/.local/flexhooks.env", nf),
        ("/.git/config", nf),
    ]
    for target, want in cases:
        mark = EMU.mark()
        r = t.http_raw("GET", ENV.host, ENV.port, target)
        no_header_injection(r, target)
        if isinstance(want, tuple):
            t.is_json_error(r, want[0], want[1])
            t.eq(r.header("Cache-Control"), "no-store", target)
        else:
            t.eq(r.status, want, "%s: status (%r)" % (target, r.body[:100]))
        nothing_sent(mark, target)
        COUNT["healthz"] = COUNT.get("healthz", 0) + 1


@t.test
def unknown_routes_404():
    for p in ("/", "/nope", F + "studio/nope", F + "flex/nope",
              F + "studio/create-callbackx", "/features", "/index.html",
              "/status-callback/x", "/dial-queue.php", "/assets"):
        for m in ("GET", "POST"):
            mark = EMU.mark()
            r = t.request(m, p, auth=None, signature=None,
                          body=b"" if m == "POST" else None)
            t.is_json_error(r, 404, "not found")
            nothing_sent(mark, p)


@t.test
def wrong_methods_405():
    for route, (path, auth, allow, kind) in ROUTES.items():
        if route == "tr-event" and not tr_built():
            continue
        allowed = [m.strip() for m in allow.split(",")]
        for m in ("PUT", "DELETE", "PATCH", "GET", "POST", "HEAD",
                  "TRACE"):
            if m in allowed or (m == "HEAD" and "GET" in allowed):
                continue
            mark = EMU.mark()
            r = t.request(m, path, body=b"" if m != "GET" else None,
                          auth=auth in ("sig+basic", "sig|basic") or None,
                          signature=None if m == "TRACE" else True)
            if m == "TRACE":
                # nginx refuses TRACE itself
                t.ok(r.status in (405, 501), "TRACE: %d" % r.status)
            elif m == "HEAD":
                t.eq(r.status, 405, "%s %s" % (m, path))
                t.eq(r.header("Allow"), allow, "%s %s Allow" % (m, path))
            else:
                t.is_json_error(r, 405, "method not allowed")
                t.eq(r.header("Allow"), allow, "%s %s Allow" % (m, path))
            nothing_sent(mark, "%s %s" % (m, path))
            COUNT[route] = COUNT.get(route, 0) + 1


@t.test
def forged_signatures_403():
    for route, (path, auth, _, _) in ROUTES.items():
        if auth not in ("sig+basic", "sig", "sig|basic"):
            continue
        form = base_fields(route)
        url = ENV.public_url + path
        good = t.sign(url, form)
        other = ENV.public_url + ("/status-callback" if route != "status"
                                  else "/dial-queue")
        cases = [
            ("signature of another URL", t.sign(other, form), form),
            ("signature of other params", good,
             form + [("Extra", "1")]),
            ("stale body", good,
             [(k, v + "0" if k == "CallSid" or k == "numberToCall" else v)
              for k, v in form] + [("x", "y")]),
            ("other token", t.sign(url, form, token="0" * 32), form),
            ("empty", "", form),
            ("truncated", good[:-2], form),
            ("URL with a query added", t.sign(url + "?a=1", form), form),
        ]
        for what, sig, sent in cases:
            if route == "tr-event" and not tr_built():
                continue
            mark = EMU.mark()
            r = t.request("POST", path, form=sent, signature=sig or None,
                          headers=[("X-Twilio-Signature", "")]
                          if sig == "" else (),
                          auth=auth == "sig+basic" or None)
            if auth == "sig|basic" and sig == "":
                # an empty header counts as none: Basic is asked for
                t.eq(r.status, 401, "%s %s" % (route, what))
            else:
                t.is_json_error(r, 403, "invalid signature")
            nothing_sent(mark, "%s %s" % (route, what))
            COUNT[route] = COUNT.get(route, 0) + 1
        # a JSON body whose bodySHA256 does not match
        if route in ("studio-create", "location"):
            mark = EMU.mark()
            body = json.dumps(dict(form)).encode()
            q = "bodySHA256=" + t.body_sha256(body + b" ")
            r = t.request("POST", path, query=q, body=body,
                          content_type="application/json",
                          auth=auth == "sig+basic" or None,
                          signature=t.sign(url + "?" + q))
            t.is_json_error(r, 403, "invalid signature")
            nothing_sent(mark, route + " stale bodySHA256")
            COUNT[route] = COUNT.get(route, 0) + 1
    # Flex routes: forged tokens
    for route in ("flex-create", "requeue", "fetch-vm", "delete-vm"):
        for tok in ("", "x" * 5000, token() + "x", "eyJ.\r\nX-Injected:1.x",
                    token().upper()):
            mark = EMU.mark()
            form = [("Token", tok)] + base_fields(route)
            r = t.request("POST", ROUTES[route][0], form=form, auth=None,
                          signature=None)
            t.ok(r.status in (403, 400), "%s token %r: %d" % (
                route, tok[:20], r.status))
            if r.status == 403:
                t.is_json_error(r, 403, "invalid or missing Flex token")
            t.ok(not twilio_since(mark), "%s: sent to Twilio" % route)
            COUNT[route] = COUNT.get(route, 0) + 1
        # the token in the query string is never read
        mark = EMU.mark()
        r = t.request("POST", ROUTES[route][0],
                      query=[("Token", token())], form=base_fields(route),
                      auth=None, signature=None)
        t.is_json_error(r, 403, "invalid or missing Flex token")
        nothing_sent(mark, route + " token in query")


@t.test
def nginx_errors_are_json():
    r = t.request("GET", "/healthz", query="a=" + "b" * 20000, auth=None,
                  signature=None)
    t.is_json_error(r, 414, "request URI too long")
    r = t.http_raw("GET", ENV.host, ENV.port, "/healthz",
                   [("X-Big", "a" * 20000)])
    t.is_json_error(r, 400, "bad request")
    for raw in (b"GARBAGE\r\n\r\n",
                b"GET /he\x01althz HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: -1\r\n\r\n",
                b"POST " + F.encode() + b"flex/create-callback HTTP/1.1\r\n"
                b"Host: x\r\nContent-Length: 5\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"):
        data = raw_exchange(raw)
        head, _, body = data.partition(b"\r\n\r\n")
        t.ok(head.startswith(b"HTTP/1.1 400 "), "raw %r: %r" % (raw[:30],
                                                              head[:40]))
        t.eq(body, t.error_body("bad request"), "raw %r body" % raw[:30])
    # the other statuses nginx answers itself: JSON too
    for raw, status, message in (
            (b"TRACE /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405,
             "method not allowed"),
            (b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: gzip\r\n\r\n", 501, "not implemented"),
            (b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505,
             "HTTP version not supported")):
        r = raw_exchange(raw)
        head, _, body = r.partition(b"\r\n\r\n")
        t.ok(head.startswith(b"HTTP/1.1 %d " % status), "raw %r: %r" % (
            raw[:30], head[:40]))
        t.ok(b"\r\nContent-Type: application/json\r\n" in head + b"\r\n",
             "raw %r: %r" % (raw[:30], head))
        t.eq(body, t.error_body(message), "raw %r body" % raw[:30])
    # load balancers probe with HEAD
    r = raw_exchange(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\n\r\n")
    head, _, body = r.partition(b"\r\n\r\n")
    t.ok(head.startswith(b"HTTP/1.1 200 "), "HEAD /healthz: %r" % head[:40])
    t.eq(body, b"", "HEAD /healthz body")


def raw_exchange(raw):
    """Send raw bytes, read until the server closes: the whole answer."""
    s = socket.create_connection((ENV.host, ENV.port), timeout=5)
    try:
        s.sendall(raw)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return data


# ------------------------------------------------- signatures across routes

@t.test
def signature_not_moved_to_another_route():
    # Twilio signed a GET of /location-lookup whose query happens to end in
    # "@HOST/dial-queue".  An attacker who saw it sends POST /dial-queue (and
    # /status-callback) with no parameters and Basic credentials of its own
    # choosing, "HOST-part:rest-of-the-signed-URL", so that the userinfo
    # candidate scheme + creds + "@" + HOST + URI spells exactly the string
    # Twilio signed.  Only FLEXHOOKS_BASIC_AUTH may make a userinfo
    # candidate: both must be 403, and nothing reaches Twilio.
    u = urllib.parse.urlsplit(ENV.public_url)
    if u.username is not None or u.path not in ("", "/"):
        t.skip("public URL %s has userinfo or a path" % ENV.public_url)
    for route in ("/dial-queue", "/status-callback"):
        signed = "%s://%s/location-lookup?to=@%s%s" % (
            u.scheme, u.netloc, u.netloc, route)
        sig = t.sign(signed, None)
        creds = signed[len(u.scheme) + 3:-len("@" + u.netloc + route)]
        user, _, pw = creds.partition(":")
        t.eq("%s://%s:%s@%s%s" % (u.scheme, user, pw, u.netloc, route),
             signed, "the forged candidate spells the signed string")
        mark = EMU.mark()
        r = t.request("POST", route, form=[], signature=sig,
                      auth=(user, pw))
        t.is_json_error(r, 403, "invalid signature")
        nothing_sent(mark, "forged %s" % route)
        # the same request, signed for that route with our credentials as
        # Twilio would, passes the check (so the 403 above is the forgery's)
        good = t.request("POST", route, form=[], sign_base="%s://%s@%s" % (
            u.scheme, ENV.basic_auth, u.netloc))
        t.ok(good.status != 403, "%s signed with our credentials: %d %r" % (
            route, good.status, good.body[:120]))


# ------------------------------------------------------ rate limits

def from_addr(src, method, path, auth, headers=None):
    """One request from source address src (127.0.0.x): nginx's limits are
    per client address, so a flood does not starve the other tests."""
    conn = http.client.HTTPConnection(ENV.host, ENV.port, timeout=10,
                                      source_address=(src, 0))
    try:
        hdrs = dict(headers or {})
        if auth:
            hdrs["Authorization"] = t._basic_header(auth)
        conn.request(method, path, headers=hdrs)
        r = conn.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        conn.close()


def flood_addr():
    """A loopback address of its own for each flood, or skip."""
    src = "127.0.0.%d" % (130 + int(t.unique_hex(2), 16) % 120)
    try:
        from_addr(src, "GET", "/healthz", None)
    except OSError as e:
        t.skip("cannot send from %s: %s" % (src, e))
    return src


@t.test
def basic_auth_routes_never_throttled():
    # Twilio sends webhooks from a shared pool of addresses: nginx must not
    # answer 429 on a Twilio-facing route however fast one address sends
    # (issue: the old per-address limit, 100r/s burst 400, lost 6,555 of
    # 10,000 load-test journeys).  1,500 requests from one address, right
    # and wrong credentials mixed, as fast as nginx answers them: the right
    # ones reach the program (403: no signature), the wrong ones get 401,
    # none 429.
    src = flood_addr()
    path = F + "studio/create-callback?numberToCall=x"
    wrong = (ENV.basic_user, "wrong-" + t.unique_hex(8))
    seen = {}
    t0 = time.monotonic()
    for n in range(1500):
        right = n % 3 != 0
        st, body, _ = from_addr(src, "GET", path,
                                ENV.basic_auth if right else wrong)
        seen[(right, st)] = seen.get((right, st), 0) + 1
        t.ok(st != 429, "request %d (%s credentials) throttled: %r" % (
            n, "right" if right else "wrong", body[:80]))
    dt = time.monotonic() - t0
    t.eq(sorted(seen), [(False, 401), (True, 403)],
         "statuses (right credentials?, status): %r" % seen)
    print("  1500 requests from one address in %.1f s (%.0f/s): %r" % (
        dt, 1500 / dt, seen))


@t.test
def flex_token_routes_limited_per_address():
    # Each unknown Flex token costs one IAM call: one address gets bursts
    # of 100 and 20 a second, then JSON 429s with Retry-After; other
    # addresses are served.
    src = flood_addr()
    path = F + "flex/requeue-callback"
    hdrs = {"Origin": "https://flex.twilio.com"}
    n, first_429 = 0, None
    for n in range(1, 400):
        st, body, h = from_addr(src, "OPTIONS", path, None, hdrs)
        if st == 429:
            first_429 = n
            t.eq(body, t.error_body("too many requests"), "429 body")
            t.eq(h.get("Retry-After"), "1", "Retry-After")
            break
    t.ok(first_429 is not None, "no 429 after %d requests" % n)
    t.ok(first_429 > 90, "limited after only %d requests: the burst "
         "must leave room for a contact center's agents" % first_429)
    r = t.request("OPTIONS", path, headers=list(hdrs.items()))
    t.ok(r.status != 429, "another address throttled too: %d" % r.status)
    time.sleep(1.5)     # 20 a second: the bucket has room again
    st, _, _ = from_addr(src, "OPTIONS", path, None, hdrs)
    t.ok(st != 429, "still throttled after the window: %d" % st)
    print("  429 after %d requests" % first_429)


# ------------------------------------------------------------ secrets in logs

@t.test
def no_number_or_token_in_logs():
    # nginx writes the whole request line, query string included, into its
    # error log on a 413, a limit_req or an upstream error.  Provoke the
    # first two with a number and a token in the query string, then no log
    # but the emulator's (it stands for Twilio) may hold any number or
    # token this script sent: the programs mask numbers, and nginx's error
    # log records "crit" and worse only.
    num, tok = t.unique_number(), token()
    q = [("numberToCall", num), ("Token", tok)]
    r = t.request("POST", F + "studio/create-callback", query=q,
                  body=b"x" * (256 * 1024),
                  content_type="application/x-www-form-urlencoded",
                  signature=None)
    t.eq(r.status, 413, "oversized body")
    src = flood_addr()
    for _ in range(130):
        st, _, _ = from_addr(src, "POST", F + "flex/requeue-callback?" +
                             urllib.parse.urlencode(q), None)
        if st == 429:
            break
    t.eq(st, 429, "flood on a Flex-token route")
    time.sleep(0.5)     # the programs write their line after answering
    numbers = set(t._used)
    tokens = set(_token) | {tok}
    needles = set()
    for n in numbers:
        needles.update((n, urllib.parse.quote(n, safe=""), n[1:]))
    needles.update(tokens)
    needles.update(x.split(".")[0] for x in tokens)
    logdir = os.environ.get("FLEXHOOKS_LOG_DIR")
    if not logdir or not os.path.isdir(logdir):
        t.skip("no FLEXHOOKS_LOG_DIR")
    found = []
    for name in sorted(os.listdir(logdir)):
        path = os.path.join(logdir, name)
        if name.startswith("emulator") or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        for needle in needles:
            if needle and needle in text:
                found.append("%s: %s" % (name, needle[:24]))
    t.eq(found, [], "numbers or tokens written to logs (of %d numbers, "
         "%d tokens sent)" % (len(numbers), len(tokens)))


@t.test
def summary():
    for route in ROUTES:
        print("  %-14s %d rows" % (route, COUNT.get(route, 0)))


if __name__ == "__main__":
    t.require_stack()
    use_own_address()
    t.main()
