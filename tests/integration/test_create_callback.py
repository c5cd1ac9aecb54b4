#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests of studio create-callback through the real stack.

POST/GET /features/callback-and-voicemail/studio/create-callback through
nginx (Basic auth + X-Twilio-Signature) to the create-callback FastCGI
program, which talks to the Twilio emulator.  Each test asserts the HTTP
answer (status, Content-Type, exact body; docs/design/callbacks-and-voicemail.md
and docs/design/platform.md#answers) and what the emulator received and
stored (task fields and attributes byte for byte, as the task builder writes them).  Voicemail
idempotency (docs/design/callbacks-and-voicemail.md#one-task-per-recording) tests carry the tag "voicemail" (deselect them with
FHTEST_SKIP=voicemail).

Run by `deploy/local.sh test` (make check) as `python3
test_create_callback.py`; exits 77 unless FLEXHOOKS_TEST_STACK=1.  Other
scripts share the emulator, so nothing is reset: every test marks the
emulator's request log first and finds its own requests by unique phone
numbers.
"""

import datetime
import os
import re
import sys
import time
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402

PATH = "/features/callback-and-voicemail/studio/create-callback"
ENV = t.ENV
EMU = t.EMU

TS_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"
SUCCESS_RE = rb'^\{"taskSid":"(WT[0-9a-fA-F]{32})","success":true\}$'
HEX32 = "0123456789abcdef" * 2


def od(*pairs):
    return OrderedDict(pairs)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def post(pairs, **kw):
    return t.request("POST", PATH, form=pairs, **kw)


def get(query, **kw):
    return t.request("GET", PATH, query=query, **kw)


def strict_equal(got, want, where="attributes"):
    """Deep equality that also checks JSON types (true is not 1) and the
    order of object keys."""
    if isinstance(want, dict):
        t.ok(isinstance(got, dict), "%s: got %r, want an object" %
             (where, got))
        t.eq(list(got.keys()), list(want.keys()), "%s keys" % where)
        for k in want:
            strict_equal(got[k], want[k], "%s.%s" % (where, k))
        return
    if isinstance(want, list):
        t.ok(isinstance(got, list), "%s: got %r, want an array" %
             (where, got))
        t.eq(len(got), len(want), "%s length" % where)
        for i, (g, w) in enumerate(zip(got, want)):
            strict_equal(g, w, "%s[%d]" % (where, i))
        return
    t.ok(type(got) is type(want), "%s: got %r (%s), want %r (%s)" % (
        where, got, type(got).__name__, want, type(want).__name__))
    t.eq(got, want, where)


def check_success(resp):
    """200 with exactly {"taskSid":"WT…","success":true}; returns the SID."""
    t.eq(resp.status, 200, "status (body %r)" % resp.body[:300])
    t.json_type(resp)
    t.eq(resp.header("Cache-Control"), "no-store", "Cache-Control")
    m = re.match(SUCCESS_RE, resp.body)
    t.ok(m, "success body %r is not {\"taskSid\":\"WT…\",\"success\":true}"
         % resp.body)
    return m.group(1).decode()


def the_create(reqs, marker):
    """The single task-create request that mentions marker."""
    creates = t.task_creates(reqs, marker)
    t.eq(len(creates), 1, "task-create requests for %s" % marker)
    return creates[0]


def check_create_request(req, timeout="86400", priority="0",
                         channel="voice", workflow=None):
    """Form fields in the order of docs/design/callbacks-and-voicemail.md#task-builder, and the request's headers.
    Returns the raw Attributes string."""
    form = t.form_of(req)
    names = [k for k, _ in form]
    t.eq(names, ["Timeout", "Priority", "TaskChannel", "WorkflowSid",
                 "Attributes"], "task-create form field names and order")
    t.eq(t.first(form, "Timeout"), timeout, "Timeout")
    t.eq(t.first(form, "Priority"), priority, "Priority")
    t.eq(t.first(form, "TaskChannel"), channel, "TaskChannel")
    t.eq(t.first(form, "WorkflowSid"), workflow or ENV.workflow_sid,
         "WorkflowSid")
    check_twilio_headers(req)
    t.eq(t.header_of(req, "If-Match"), None, "If-Match on a create")
    ct = t.header_of(req, "Content-Type") or ""
    t.eq(ct.split(";")[0].strip(), "application/x-www-form-urlencoded",
         "Content-Type to Twilio")
    return t.first(form, "Attributes")


def check_twilio_headers(req):
    t.eq(t.header_of(req, "Authorization"), ENV.twilio_basic(),
         "Authorization to Twilio (Basic ACCOUNT_SID:AUTH_TOKEN)")
    ua = t.header_of(req, "User-Agent") or ""
    t.ok(ua.startswith("flexhooks/"), "User-Agent %r does not start with "
         "flexhooks/" % ua)
    t.eq(t.header_of(req, "Accept"), "application/json", "Accept")


def minimal_attrs(n, f, ts, **cb):
    """The attributes of the task builder's minimal task."""
    cbd = od(("numberToCall", n), ("numberToCallFrom", f))
    for k in ("recordingSid", "recordingUrl", "transcriptSid",
              "transcriptText"):
        if k in cb:
            cbd[k] = cb.pop(k)
    cbd["mainTimeZone"] = ENV.main_timezone
    cbd["utcDateTimeReceived"] = ts
    cbd["isDeleted"] = cb.pop("isDeleted", False)
    cbd["attempts"] = cb.pop("attempts", 0)
    a = od(("from", n), ("name", n))
    if "flow_execution_sid" in cb:
        a["flow_execution_sid"] = cb.pop("flow_execution_sid")
    a["taskType"] = cb.pop("taskType", "callback")
    a["callBackData"] = cbd
    a["direction"] = "inbound"
    a["conversations"] = cb.pop("conversations", od())
    assert not cb, cb
    return a


def check_attrs(raw, want, now_window=None, exact_bytes=True):
    """raw (the Attributes string) equals want: byte for byte (no
    whitespace, same key order and types) when exact_bytes, else as a
    strictly typed, ordered JSON value.  When want's utcDateTimeReceived is
    None, the received one must have the ms format (and be within
    now_window seconds of now when given), and is copied into want."""
    t.ok(raw is not None, "no Attributes field")
    got = t.loads_ordered(raw)
    cbd = got.get("callBackData") or {}
    ts = cbd.get("utcDateTimeReceived")
    if want["callBackData"]["utcDateTimeReceived"] is None:
        t.match(TS_RE, ts, "callBackData.utcDateTimeReceived")
        if now_window is not None:
            when = datetime.datetime.strptime(
                ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc)
            skew = abs((datetime.datetime.now(datetime.timezone.utc) -
                        when).total_seconds())
            t.ok(skew <= now_window, "utcDateTimeReceived %s is %.0f s "
                 "from now" % (ts, skew))
        want["callBackData"]["utcDateTimeReceived"] = ts
    strict_equal(got, want)
    if exact_bytes:
        t.eq(raw, t.dumps_plain(want), "Attributes bytes")
    return got


def check_stored(task_sid, raw_attrs):
    """The emulator stored the task with exactly these attributes."""
    task = EMU.task(task_sid)
    t.ok(task is not None, "emulator has no task %s" % task_sid)
    t.eq(task.get("attributes"), raw_attrs, "stored attributes")
    t.eq(task.get("assignment_status"), "pending", "assignment_status")
    return task


def stored_with(marker):
    """Stored tasks whose attributes mention marker."""
    return [x for x in EMU.tasks() if marker in (x.get("attributes") or "")]


def nothing_created(mark, *markers):
    reqs = EMU.requests(mark)
    for m in markers:
        c = t.task_creates(reqs, m)
        t.eq(len(c), 0, "task-create requests mentioning %s" % m)


def check_error(resp, status, message, code=None, more_info=None):
    t.is_json_error(resp, status, message, code, more_info)
    t.eq(resp.header("Cache-Control"), "no-store", "Cache-Control")


def check_400_any(resp, *echo):
    """400 with a docs/design/platform.md#answers error body.  The spec fixes no text
    for a body that cannot be decoded at all (no field to name), so any
    short fixed message is accepted, as long as it echoes none of the
    input (echo: values that must not appear)."""
    t.eq(resp.status, 400, "status (body %r)" % resp.body[:200])
    t.json_type(resp)
    t.eq(resp.header("Cache-Control"), "no-store", "Cache-Control")
    b = resp.json()
    t.eq(list(b.keys()), ["success", "message", "code", "more_info"],
         "error body keys")
    t.eq(b["success"], False, "success")
    t.eq(b["code"], None, "code")
    t.eq(b["more_info"], None, "more_info")
    t.match(r"^[a-z][A-Za-z_ ]{2,60}$", b["message"], "message")
    for v in echo:
        t.ok(v[1:] not in b["message"], "message echoes the input")


def happy(extra=(), n=None, f=None):
    n = n or t.unique_number()
    f = f or t.unique_number()
    return n, f, [("numberToCall", n), ("numberToCallFrom", f)] + list(extra)


def twilio_more_info(code):
    return "https://www.twilio.com/docs/errors/%d" % code


# --------------------------------------------------------------------------
# signature helper self-test (docs/design/platform.md#request-signatures)
# --------------------------------------------------------------------------

V_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
V_P = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"),
       ("Digits", "1234"), ("From", "+14158675309"), ("To", "+18005551212")]


@t.test
def fhtest_sign_vectors():
    t.eq(t.sign(V_URL, V_P, "12345"), "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "V1")
    t.eq(t.sign("https://mycompany.com:443/myapp.php?foo=1&bar=2", V_P,
                "12345"), "kvajT1Ptam85bY51eRf/AJRuM3w=", "V5")
    t.eq(t.sign("https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
                V_P, "12345"), "CukzLTc1tT5dXEDIHm/tKBanW10=", "V7")
    t.eq(t.sign(V_URL, [("Sid", "CA123"), ("SidAccount", "AC123"),
                        ("Digits", "5678"), ("Digits", "1234"),
                        ("Digits", "1234")], "12345"),
         "IK+Dwps556ElfBT0I3Rgjkr1wJU=", "V12")
    body = '{"property": "value", "boolean": true}'
    t.eq(t.sign(V_URL + "&bodySHA256=" + t.body_sha256(body), None,
                "12345"), "a9nBmqA0ju/hNViExpshrM61xv4=", "V13")


# --------------------------------------------------------------------------
# happy paths
# --------------------------------------------------------------------------


@t.test
def happy_form_post():
    mark = EMU.mark()
    n, f, pairs = happy()
    r = post(pairs)
    sid = check_success(r)
    reqs = EMU.requests(mark)
    req = the_create(reqs, n)
    raw = check_create_request(req)
    check_attrs(raw, minimal_attrs(n, f, None), now_window=120)
    check_stored(sid, raw)
    mine = [x for x in reqs if t.mentions(x, n) or t.mentions(x, sid)]
    t.eq(len(mine), 1, "Twilio requests for this callback (only the "
         "create; no lookup without a recordingSid)")
    t.eq(len(stored_with(n)), 1, "tasks stored for %s" % n)


@t.test
def happy_json_post_bodysha256():
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    r = t.request("POST", PATH, json_body=od(
        ("numberToCall", n), ("numberToCallFrom", f), ("attempts", 2),
        ("isDeleted", False), ("priority", 5), ("timeout", 600)))
    sid = check_success(r)
    req = the_create(EMU.requests(mark), n)
    raw = check_create_request(req, timeout="600", priority="5")
    check_attrs(raw, minimal_attrs(n, f, None, attempts=2), now_window=120)
    check_stored(sid, raw)


@t.test
def happy_json_charset_and_bool_true():
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    r = t.request("POST", PATH, json_body=od(
        ("numberToCall", n), ("numberToCallFrom", f), ("isDeleted", True)),
        content_type="application/json; charset=utf-8")
    check_success(r)
    raw = check_create_request(the_create(EMU.requests(mark), n))
    check_attrs(raw, minimal_attrs(n, f, None, isDeleted=True))


@t.test
def happy_form_charset_param():
    mark = EMU.mark()
    n, f, pairs = happy()
    r = post(pairs, content_type="application/x-www-form-urlencoded; "
             "charset=UTF-8")
    check_success(r)
    the_create(EMU.requests(mark), n)


@t.test
def happy_get_query_url_mode():
    mark = EMU.mark()
    n, f, pairs = happy()
    r = get(pairs)
    sid = check_success(r)
    raw = check_create_request(the_create(EMU.requests(mark), n))
    check_attrs(raw, minimal_attrs(n, f, None), now_window=120)
    check_stored(sid, raw)


@t.test
def query_and_body_merge_body_wins():
    mark = EMU.mark()
    nq, nb, f = t.unique_number(), t.unique_number(), t.unique_number()
    r = post([("numberToCall", nb), ("numberToCallFrom", f)],
             query=[("numberToCall", nq), ("timeout", "600")])
    check_success(r)
    reqs = EMU.requests(mark)
    raw = check_create_request(the_create(reqs, nb), timeout="600")
    check_attrs(raw, minimal_attrs(nb, f, None))
    t.eq(len(t.task_creates(reqs, nq)), 0, "creates with the query's "
         "numberToCall")


@t.test
def repeated_name_first_wins():
    mark = EMU.mark()
    n1, n2, f = t.unique_number(), t.unique_number(), t.unique_number()
    r = post([("numberToCall", n1), ("numberToCall", n2),
              ("numberToCallFrom", f), ("timeout", "700"),
              ("timeout", "800")])
    check_success(r)
    reqs = EMU.requests(mark)
    raw = check_create_request(the_create(reqs, n1), timeout="700")
    check_attrs(raw, minimal_attrs(n1, f, None))
    t.eq(len(t.task_creates(reqs, n2)), 0, "creates with the second value")


@t.test
def empty_values_are_absent_unknown_ignored():
    mark = EMU.mark()
    n, f, pairs = happy([("workflowSid", ""), ("timeout", ""),
                         ("priority", ""), ("attempts", ""),
                         ("isDeleted", ""), ("conversation_id", ""),
                         ("flexFlowSid", ""), ("utcDateTimeReceived", ""),
                         ("message", "retired field"), ("foo", "bar"),
                         ("NumberToCall", "not a number")])
    r = post(pairs)
    check_success(r)
    raw = check_create_request(the_create(EMU.requests(mark), n))
    check_attrs(raw, minimal_attrs(n, f, None))


@t.test
def names_are_case_sensitive():
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    r = post([("NumberToCall", n), ("numberToCallFrom", f)])
    check_error(r, 400, "missing numberToCall")
    nothing_created(mark, n, f)


@t.test
def optional_fields_all_given():
    mark = EMU.mark()
    wf = t.sid("WW")
    fw = t.sid("FW")
    conv = "conv-" + t.unique_hex(8)
    n, f, pairs = happy([
        ("workflowSid", wf), ("timeout", "600"), ("priority", "7"),
        ("taskChannel", "chat"), ("attempts", "3"), ("isDeleted", "true"),
        ("conversation_id", conv),
        ("utcDateTimeReceived", "2026-11-22T03:45:34.5+02:00"),
        ("flexFlowSid", fw)])
    r = post(pairs)
    sid = check_success(r)
    raw = check_create_request(the_create(EMU.requests(mark), n),
                               timeout="600", priority="7", channel="chat",
                               workflow=wf)
    want = minimal_attrs(n, f, "2026-11-22T01:45:34.500Z", attempts=3,
                         isDeleted=True, flow_execution_sid=fw,
                         conversations=od(("conversation_id", conv)))
    check_attrs(raw, want)
    check_stored(sid, raw)


@t.test
def optional_fields_upper_bounds():
    mark = EMU.mark()
    tc = t.sid("TC")
    fn = t.sid("FN")
    conv = "c" * 256
    n, f, pairs = happy([
        ("timeout", "1209600"), ("priority", "2147483647"),
        ("taskChannel", tc), ("attempts", "1000"), ("isDeleted", "1"),
        ("flexFlowSid", fn), ("conversation_id", conv),
        ("utcDateTimeReceived", "2026-01-02T03:04:05Z")])
    r = post(pairs)
    check_success(r)
    raw = check_create_request(the_create(EMU.requests(mark), n),
                               timeout="1209600", priority="2147483647",
                               channel=tc)
    check_attrs(raw, minimal_attrs(
        n, f, "2026-01-02T03:04:05.000Z", attempts=1000, isDeleted=True,
        flow_execution_sid=fn,
        conversations=od(("conversation_id", conv))))


@t.test
def optional_fields_lower_bounds():
    """A given 0 counts as given (docs/design/callbacks-and-voicemail.md#task-builder); timeout 1 is the minimum."""
    mark = EMU.mark()
    n, f, pairs = happy([
        ("timeout", "1"), ("priority", "0"), ("attempts", "0"),
        ("isDeleted", "FALSE"), ("taskChannel", "my_chan-1"),
        ("utcDateTimeReceived", "2026-01-02T03:04:05.123-05:30")])
    r = post(pairs)
    check_success(r)
    raw = check_create_request(the_create(EMU.requests(mark), n),
                               timeout="1", priority="0",
                               channel="my_chan-1")
    check_attrs(raw, minimal_attrs(n, f, "2026-01-02T08:34:05.123Z"))


@t.test
def boolean_spellings():
    for given, want in (("True", True), ("0", False), ("false", False),
                        ("TRUE", True)):
        mark = EMU.mark()
        n, f, pairs = happy([("isDeleted", given)])
        check_success(post(pairs))
        raw = check_create_request(the_create(EMU.requests(mark), n))
        got = t.loads_ordered(raw)
        t.ok(got["callBackData"]["isDeleted"] is want,
             "isDeleted=%r stored as %r" % (given,
                                             got["callBackData"]["isDeleted"]))


# --------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------


def pretty(n):
    """+1 (NXX) NXX-XXXX for a +1 number."""
    d = n[2:]
    return "+1 (%s) %s-%s" % (d[:3], d[3:6], d[6:])


@t.test
def e164_normalisation():
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    fd = f[2:]
    r = post([("numberToCall", pretty(n)),
              ("numberToCallFrom", "+1.%s.%s.%s" % (fd[:3], fd[3:6],
                                                    fd[6:]))])
    check_success(r)
    raw = check_create_request(the_create(EMU.requests(mark), n))
    check_attrs(raw, minimal_attrs(n, f, None))


@t.test
def unencoded_plus_in_query():
    """An unencoded '+' in a query string decodes to a space; a value that
    starts with a space and a digit is read as starting with '+'."""
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    r = get("numberToCall=%s&numberToCallFrom=%s" % (n, f))
    check_success(r)
    raw = check_create_request(the_create(EMU.requests(mark), n))
    check_attrs(raw, minimal_attrs(n, f, None))


@t.test
def e164_length_limits():
    mark = EMU.mark()
    n8 = "+4" + t.unique_hex(7).translate(str.maketrans("abcdef", "123456"))
    n15 = "+4" + str(t._rng.randint(10 ** 13, 10 ** 14 - 1))
    f = t.unique_number()
    for n in (n8, n15):
        check_success(post([("numberToCall", n), ("numberToCallFrom", f)]))
    reqs = EMU.requests(mark)
    for n in (n8, n15):
        raw = check_create_request(the_create(reqs, '"numberToCall":"%s"'
                                              % n))
        check_attrs(raw, minimal_attrs(n, f, None))


@t.test
def sip_from_number():
    mark = EMU.mark()
    n = t.unique_number()
    f = "sip:agent-%s@example.com;transport=tls" % t.unique_hex(8)
    r = post([("numberToCall", n), ("numberToCallFrom", f)])
    check_success(r)
    raw = check_create_request(the_create(EMU.requests(mark), n))
    check_attrs(raw, minimal_attrs(n, f, None), exact_bytes=False)


# --------------------------------------------------------------------------
# bad inputs: the right status and message, and nothing created
# --------------------------------------------------------------------------

BAD = [
    # (name, fields built from n and f, expected message)
    ("missing_numberToCall", lambda n, f: [("numberToCallFrom", f)],
     "missing numberToCall"),
    ("missing_numberToCallFrom", lambda n, f: [("numberToCall", n)],
     "missing numberToCallFrom"),
    ("missing_both_first_in_order", lambda n, f: [("foo", f)],
     "missing numberToCall"),
    ("empty_numberToCall", lambda n, f: [("numberToCall", ""),
                                         ("numberToCallFrom", f)],
     "missing numberToCall"),
    ("invalid_then_missing_order", lambda n, f: [
        ("numberToCall", "12345"), ("foo", f)], "invalid numberToCall"),
    ("e164_without_plus", lambda n, f: [("numberToCall", n[1:]),
                                        ("numberToCallFrom", f)],
     "invalid numberToCall"),
    ("e164_leading_zero", lambda n, f: [("numberToCall", "+0" + n[2:]),
                                        ("numberToCallFrom", f)],
     "invalid numberToCall"),
    ("e164_too_short", lambda n, f: [("numberToCall", "+1234567"),
                                     ("numberToCallFrom", f)],
     "invalid numberToCall"),
    ("e164_too_long", lambda n, f: [("numberToCall", "+1234567890123456"),
                                    ("numberToCallFrom", f)],
     "invalid numberToCall"),
    ("e164_letters", lambda n, f: [("numberToCall", "+1555CALLNOW"),
                                   ("numberToCallFrom", f)],
     "invalid numberToCall"),
    ("e164_double_plus", lambda n, f: [("numberToCall", "++" + n[1:]),
                                       ("numberToCallFrom", f)],
     "invalid numberToCall"),
    ("numberToCall_sip_refused", lambda n, f: [
        ("numberToCall", "sip:bob@example.com"), ("numberToCallFrom", f)],
     "invalid numberToCall"),
    ("e164_nul_byte", lambda n, f: [("numberToCall", n + "\x00"),
                                    ("numberToCallFrom", f)],
     "invalid numberToCall"),
    ("from_client_refused", lambda n, f: [("numberToCall", n),
                                          ("numberToCallFrom", "client:bob")],
     "invalid numberToCallFrom"),
    ("from_bare_digits", lambda n, f: [("numberToCall", n),
                                       ("numberToCallFrom", f[1:])],
     "invalid numberToCallFrom"),
    ("from_sip_empty", lambda n, f: [("numberToCall", n),
                                     ("numberToCallFrom", "sip:")],
     "invalid numberToCallFrom"),
    ("from_sip_space", lambda n, f: [("numberToCall", n),
                                     ("numberToCallFrom", "sip:a b@c.com")],
     "invalid numberToCallFrom"),
    ("from_sip_angle", lambda n, f: [("numberToCall", n),
                                     ("numberToCallFrom", "sip:<a@c.com>")],
     "invalid numberToCallFrom"),
    ("from_sip_quote", lambda n, f: [("numberToCall", n),
                                     ("numberToCallFrom", 'sip:"a"@c.com')],
     "invalid numberToCallFrom"),
    ("from_sip_too_long", lambda n, f: [("numberToCall", n),
                                        ("numberToCallFrom",
                                         "sip:" + "a" * 251)],
     "invalid numberToCallFrom"),
    ("flexFlowSid_short", lambda n, f: happy([("flexFlowSid", "FW123")],
                                             n, f)[2],
     "invalid flexFlowSid"),
    ("workflowSid_wrong_prefix", lambda n, f: happy(
        [("workflowSid", "WS" + HEX32)], n, f)[2], "invalid workflowSid"),
    ("workflowSid_short", lambda n, f: happy(
        [("workflowSid", "WW" + HEX32[:31])], n, f)[2],
     "invalid workflowSid"),
    ("workflowSid_not_hex", lambda n, f: happy(
        [("workflowSid", "WW" + "g" * 32)], n, f)[2], "invalid workflowSid"),
    ("timeout_zero", lambda n, f: happy([("timeout", "0")], n, f)[2],
     "invalid timeout"),
    ("timeout_over_two_weeks", lambda n, f: happy(
        [("timeout", "1209601")], n, f)[2], "invalid timeout"),
    ("timeout_negative", lambda n, f: happy([("timeout", "-1")], n, f)[2],
     "invalid timeout"),
    ("timeout_exponent", lambda n, f: happy([("timeout", "1e3")], n, f)[2],
     "invalid timeout"),
    ("timeout_plus_sign", lambda n, f: happy([("timeout", "+60")], n, f)[2],
     "invalid timeout"),
    ("timeout_fraction", lambda n, f: happy([("timeout", "60.5")], n, f)[2],
     "invalid timeout"),
    ("timeout_huge", lambda n, f: happy(
        [("timeout", "99999999999999999999999")], n, f)[2],
     "invalid timeout"),
    ("timeout_before_priority", lambda n, f: happy(
        [("priority", "-1"), ("timeout", "0")], n, f)[2], "invalid timeout"),
    ("priority_negative", lambda n, f: happy([("priority", "-1")], n, f)[2],
     "invalid priority"),
    ("priority_over_int32", lambda n, f: happy(
        [("priority", "2147483648")], n, f)[2], "invalid priority"),
    ("taskChannel_space", lambda n, f: happy(
        [("taskChannel", "bad channel")], n, f)[2], "invalid taskChannel"),
    ("taskChannel_too_long", lambda n, f: happy(
        [("taskChannel", "c" * 65)], n, f)[2], "invalid taskChannel"),
    ("attempts_over", lambda n, f: happy([("attempts", "1001")], n, f)[2],
     "invalid attempts"),
    ("attempts_text", lambda n, f: happy([("attempts", "two")], n, f)[2],
     "invalid attempts"),
    ("conversation_id_too_long", lambda n, f: happy(
        [("conversation_id", "c" * 257)], n, f)[2],
     "invalid conversation_id"),
    ("conversation_id_nul", lambda n, f: happy(
        [("conversation_id", "ab\x00cd")], n, f)[2],
     "invalid conversation_id"),
    ("conversation_id_bad_utf8", lambda n, f: happy(
        [("conversation_id", b"ab\xff\xfecd")], n, f)[2],
     "invalid conversation_id"),
    ("date_no_offset", lambda n, f: happy(
        [("utcDateTimeReceived", "2026-01-02T03:04:05")], n, f)[2],
     "invalid utcDateTimeReceived"),
    ("date_no_seconds", lambda n, f: happy(
        [("utcDateTimeReceived", "2026-01-02T03:04Z")], n, f)[2],
     "invalid utcDateTimeReceived"),
    ("date_bad_month", lambda n, f: happy(
        [("utcDateTimeReceived", "2026-13-02T03:04:05Z")], n, f)[2],
     "invalid utcDateTimeReceived"),
    ("date_words", lambda n, f: happy(
        [("utcDateTimeReceived", "yesterday")], n, f)[2],
     "invalid utcDateTimeReceived"),
    ("isDeleted_yes", lambda n, f: happy([("isDeleted", "yes")], n, f)[2],
     "invalid isDeleted"),
    ("isDeleted_two", lambda n, f: happy([("isDeleted", "2")], n, f)[2],
     "invalid isDeleted"),
]


def _bad_case(name, build, message):
    def case():
        mark = EMU.mark()
        n, f = t.unique_number(), t.unique_number()
        r = post(build(n, f))
        check_error(r, 400, message)
        nothing_created(mark, n, f)
    case.__name__ = "bad_" + name
    return case


for _name, _build, _msg in BAD:
    t.test(_bad_case(_name, _build, _msg))


@t.test
def bad_json_wrong_value_type():
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    r = t.request("POST", PATH, json_body=od(
        ("numberToCall", n), ("numberToCallFrom", f), ("attempts", "x"),
        ("timeout", 1.5)))
    check_error(r, 400, "invalid timeout")
    nothing_created(mark, n, f)


@t.test
def bad_json_not_flat():
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    r = t.request("POST", PATH, json_body='{"numberToCall":{"n":"%s"},'
                  '"numberToCallFrom":"%s"}' % (n, f))
    check_400_any(r)
    nothing_created(mark, n, f)


@t.test
def bad_json_not_an_object():
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    r = t.request("POST", PATH, json_body='["%s","%s"]' % (n, f))
    check_400_any(r)
    nothing_created(mark, n, f)


@t.test
def bad_json_syntax():
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    r = t.request("POST", PATH, json_body='{"numberToCall":"%s",'
                  '"numberToCallFrom":"%s"' % (n, f))
    check_400_any(r)
    nothing_created(mark, n, f)


# --- malformed percent-encoding and NUL bytes -----------------------------


def _malformed(name, method, raw):
    def case():
        mark = EMU.mark()
        n, f = t.unique_number(), t.unique_number()
        text = raw.replace("N", n.replace("+", "%2B")).replace(
            "F", f.replace("+", "%2B"))
        if method == "GET":
            r = t.request("GET", PATH, query=text)
        else:
            r = t.request("POST", PATH, body=text.encode(),
                          content_type="application/x-www-form-urlencoded")
        check_400_any(r, n, f)
        nothing_created(mark, n, f)
    case.__name__ = "malformed_" + name
    return case


for _n, _m, _raw in [
        ("body_pct_zz", "POST", "numberToCall=%zzN&numberToCallFrom=F"),
        ("body_trailing_pct", "POST", "numberToCall=N&numberToCallFrom=F%"),
        ("body_short_escape", "POST", "numberToCall=N&numberToCallFrom=F%4"),
        ("body_unknown_field", "POST",
         "numberToCall=N&numberToCallFrom=F&x=%g1"),
        ("query_pct_zz", "GET", "numberToCall=%zzN&numberToCallFrom=F"),
        ("query_trailing_pct", "GET", "numberToCall=N&numberToCallFrom=F%"),
        ("query_nul", "GET", "numberToCall=N%00&numberToCallFrom=F"),
        ("body_nul", "POST", "numberToCall=N%00&numberToCallFrom=F"),
]:
    t.test(_malformed(_n, _m, _raw))


# --- sizes and content types ----------------------------------------------


def padded_form(n, f, total):
    """A form body of exactly total bytes: the two numbers and pad fields
    of at most 8000 bytes each (under the per-value cap)."""
    head = t.form_encode([("numberToCall", n), ("numberToCallFrom", f)])
    parts = [head]
    size = len(head)
    i = 0
    while size < total:
        prefix = b"&pad%d=" % i
        room = total - size - len(prefix)
        if room <= 0:
            # too close to the end for another field: lengthen the last
            parts[-1] += b"p" * (total - size)
            size = total
            break
        chunk = min(room, 8000)
        parts.append(prefix + b"p" * chunk)
        size += len(prefix) + chunk
        i += 1
    body = b"".join(parts)
    assert len(body) == total, (len(body), total)
    return body


@t.test
def body_of_exactly_64k_accepted():
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    body = padded_form(n, f, 64 * 1024)
    r = t.request("POST", PATH, body=body,
                  content_type="application/x-www-form-urlencoded")
    check_success(r)
    the_create(EMU.requests(mark), n)


@t.test
def body_over_64k_is_413_from_program():
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    body = padded_form(n, f, 64 * 1024 + 1)
    r = t.request("POST", PATH, body=body,
                  content_type="application/x-www-form-urlencoded")
    check_error(r, 413, "request body too large")
    body = padded_form(n, f, 100 * 1024)
    r = t.request("POST", PATH, body=body,
                  content_type="application/x-www-form-urlencoded")
    check_error(r, 413, "request body too large")
    nothing_created(mark, n, f)


@t.test
def body_over_128k_is_413_from_nginx():
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    body = padded_form(n, f, 200 * 1024)
    r = t.request("POST", PATH, body=body,
                  content_type="application/x-www-form-urlencoded")
    t.eq(r.status, 413, "status")
    nothing_created(mark, n, f)


@t.test
def unsupported_content_type_415():
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    for ctype, body in (
            ("text/plain", "numberToCall=%s&numberToCallFrom=%s" % (n, f)),
            ("application/xml", "<n>%s</n><f>%s</f>" % (n, f))):
        # Twilio signs a non-form body in bodySHA256 mode; sign it so that
        # only the content type is wrong.
        b = body.encode()
        q = "bodySHA256=" + t.body_sha256(b)
        r = t.request("POST", PATH, query=q, body=b, content_type=ctype)
        check_error(r, 415, "unsupported content type")
    nothing_created(mark, n, f)


# --------------------------------------------------------------------------
# security
# --------------------------------------------------------------------------

INVALID_SIG = ("invalid signature", None, None)


@t.test
def signature_wrong_403():
    mark = EMU.mark()
    n, f, pairs = happy()
    r = post(pairs, signature="RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    check_error(r, 403, *INVALID_SIG)
    r = post(pairs, signature="WRONG_SIGNATURE")
    check_error(r, 403, *INVALID_SIG)
    nothing_created(mark, n, f)


@t.test
def signature_missing_403():
    mark = EMU.mark()
    n, f, pairs = happy()
    r = post(pairs, signature=None)
    check_error(r, 403, *INVALID_SIG)
    r = get(pairs, signature=None)
    check_error(r, 403, *INVALID_SIG)
    nothing_created(mark, n, f)


@t.test
def signature_other_token_403():
    mark = EMU.mark()
    n, f, pairs = happy()
    r = post(pairs, token=ENV.auth_token + "x")
    check_error(r, 403, *INVALID_SIG)
    nothing_created(mark, n, f)


@t.test
def signature_over_other_params_403():
    mark = EMU.mark()
    n, f, pairs = happy()
    n2 = t.unique_number()
    good = t.sign(ENV.public_url + PATH, pairs)
    r = post([("numberToCall", n2), ("numberToCallFrom", f)],
             signature=good)
    check_error(r, 403, *INVALID_SIG)
    # the query is part of the signed URL: a changed query fails too
    sig = t.sign(ENV.public_url + t.url_for(PATH, pairs))
    r = get([("numberToCall", n2), ("numberToCallFrom", f)], signature=sig)
    check_error(r, 403, *INVALID_SIG)
    nothing_created(mark, n, f, n2)


@t.test
def signature_query_not_appended_in_form_mode():
    """Form mode signs the URL (with its query) plus the BODY pairs only."""
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    q = [("timeout", "600")]
    body = [("numberToCall", n), ("numberToCallFrom", f)]
    wrong = t.sign(ENV.public_url + t.url_for(PATH, q), body + q)
    r = post(body, query=q, signature=wrong)
    check_error(r, 403, *INVALID_SIG)
    nothing_created(mark, n, f)


@t.test
def signature_with_userinfo_accepted():
    """Twilio signs https://user:pass@host/... when the configured URL
    carries the Basic credentials (docs/design/platform.md#request-signatures)."""
    mark = EMU.mark()
    n, f, pairs = happy()
    scheme, rest = ENV.public_url.split("://", 1)
    base = "%s://%s@%s" % (scheme, ENV.basic_auth, rest)
    r = post(pairs, sign_base=base)
    check_success(r)
    the_create(EMU.requests(mark), n)


@t.test
def signature_port_variants_accepted():
    scheme, rest = ENV.public_url.split("://", 1)
    hostport, _, prefix = rest.partition("/")
    host, _, port = hostport.partition(":")
    default = "443" if scheme == "https" else "80"
    if port:
        base = "%s://%s%s" % (scheme, host, "/" + prefix if prefix else "")
    else:
        base = "%s://%s:%s%s" % (scheme, host, default,
                                 "/" + prefix if prefix else "")
    mark = EMU.mark()
    n, f, pairs = happy()
    check_success(post(pairs, sign_base=base))
    the_create(EMU.requests(mark), n)


@t.test
def json_without_bodysha256_403():
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    r = t.request("POST", PATH, json_body=od(("numberToCall", n),
                                             ("numberToCallFrom", f)),
                  body_sha=False)
    check_error(r, 403, *INVALID_SIG)
    nothing_created(mark, n, f)


@t.test
def json_with_wrong_bodysha256_403():
    """The URL signature is valid but bodySHA256 is not the body's hash."""
    mark = EMU.mark()
    n, f = t.unique_number(), t.unique_number()
    body = t.dumps_plain(od(("numberToCall", n), ("numberToCallFrom", f)))
    other = t.body_sha256(body + " ")
    r = t.request("POST", PATH, query="bodySHA256=" + other,
                  body=body.encode(), content_type="application/json")
    check_error(r, 403, *INVALID_SIG)
    nothing_created(mark, n, f)


def check_401(r):
    t.eq(r.status, 401, "status (body %r)" % r.body[:200])
    t.eq(r.header("WWW-Authenticate"), 'Basic realm="flexhooks"',
         "WWW-Authenticate")


@t.test
def basic_auth_missing_401():
    mark = EMU.mark()
    n, f, pairs = happy()
    check_401(post(pairs, auth=None))
    check_401(get(pairs, auth=None))
    nothing_created(mark, n, f)


@t.test
def basic_auth_wrong_401():
    mark = EMU.mark()
    n, f, pairs = happy()
    check_401(post(pairs, auth=(ENV.basic_user, ENV.basic_password + "x")))
    check_401(post(pairs, auth=(ENV.basic_user + "x", ENV.basic_password)))
    check_401(post(pairs, auth=ENV.basic_user))
    nothing_created(mark, n, f)


@t.test
def other_methods_405():
    mark = EMU.mark()
    n, f, pairs = happy()
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        body = t.form_encode(pairs) if method in ("PUT", "PATCH") else None
        r = t.request(method, PATH, query=pairs if body is None else None,
                      body=body, content_type=(
                          "application/x-www-form-urlencoded"
                          if body else None))
        check_error(r, 405, "method not allowed")
        allow = {m.strip().upper() for m in
                 (r.header("Allow") or "").split(",") if m.strip()}
        t.ok({"GET", "POST"} <= allow and not allow & {"PUT", "DELETE",
                                                      "PATCH"},
             "%s: Allow %r does not list GET, POST (only)" % (
                 method, r.header("Allow")))
    nothing_created(mark, n, f)


# --------------------------------------------------------------------------
# Twilio faults (emulator fault injection on the task-create path)
# --------------------------------------------------------------------------


def fault_create(number, **kw):
    """A fault (fhtest.fault) on the task-create path (exactly), labelled
    with this test's phone number as the body it is about."""
    kw.setdefault("method", "POST")
    kw.setdefault("path", ENV.tasks_path)
    kw.setdefault("exact", True)
    kw["body_contains"] = number.replace("+", "%2B")
    return t.fault(**kw)


def attempts_for(mark, n):
    return t.task_creates(EMU.requests(mark), n)


@t.test
def twilio_429_once_is_retried():
    mark = EMU.mark()
    lm = t.log_mark()
    n, f, pairs = happy()
    with fault_create(n, status=429, retry_after="1", times=1):
        r = post(pairs)
    sid = check_success(r)
    tries = attempts_for(mark, n)
    t.eq(len(tries), 2, "create attempts (429 then success)")
    t.eq(tries[0]["body"], tries[1]["body"], "retried body")
    t.ok(r.elapsed >= 0.9, "answered after %.2f s: Retry-After: 1 not "
         "honoured" % r.elapsed)
    t.ok(r.elapsed < ENV.deadline_ms / 1000.0 + 0.5,
         "answered after %.2f s" % r.elapsed)
    t.eq(len(stored_with(n)), 1, "tasks stored")
    check_stored(sid, t.first(t.form_of(tries[1]), "Attributes"))
    _, _, line = t.wait_log(lm, lambda o: o.get("task_sid") == sid)
    t.ok(line is not None, "no access line with task_sid %s" % sid)
    t.eq(line.get("rest"), 2, "access line rest")


@t.test
def twilio_503_create_not_retried_502():
    mark = EMU.mark()
    n, f, pairs = happy()
    with fault_create(n, status=503, times=1):
        r = post(pairs)
    # Twilio's code from the emulator's Twilio-shaped 503 body (20503)
    check_error(r, 502, "Twilio request failed", 20503,
                twilio_more_info(20503))
    t.eq(len(attempts_for(mark, n)), 1, "create attempts (not idempotent)")
    t.eq(len(stored_with(n)), 0, "tasks stored")


@t.test
def twilio_429_forever_429_with_retry_after():
    mark = EMU.mark()
    lm = t.log_mark()
    n, f, pairs = happy()
    limit = ENV.retry_limit + 1
    with fault_create(n, status=429, retry_after="1", times=limit):
        r = post(pairs)
    check_error(r, 429, "Twilio rate limit", 20429, twilio_more_info(20429))
    t.eq(r.header("Retry-After"), "1", "Retry-After copied")
    tries = attempts_for(mark, n)
    t.ok(1 < len(tries) <= limit, "create attempts %d, want 2..%d" %
         (len(tries), limit))
    t.eq(len(tries), limit, "create attempts (retry limit + 1; the 8 s "
         "deadline leaves room for five 1 s waits)")
    t.ok(r.elapsed < 9.0, "answered after %.2f s" % r.elapsed)
    t.eq(len(stored_with(n)), 0, "tasks stored")
    _, objs, line = t.wait_log(lm, lambda o: o.get("status") == 429 and
                               o.get("path") == PATH)
    t.ok(line is not None, "no access line with status 429")
    t.eq(line.get("rest"), len(tries), "access line rest")


@t.test
def twilio_drop_create_not_retried_502():
    # warm up: the program's connection to Twilio is then a reused
    # keep-alive one, as it is in production
    check_success(post(happy()[2]))
    mark = EMU.mark()
    n, f, pairs = happy()
    with fault_create(n, drop=True, times=1):
        r = post(pairs)
    tries = attempts_for(mark, n)
    t.ok(len(tries) == 1, "the create reached Twilio %d times (answer %d): "
         "after a connection dropped once the request was read, it was "
         "sent again (the first one may have created a task)" % (
             len(tries), r.status))
    check_error(r, 502, "Twilio request failed")


@t.test
def twilio_400_20001_rejected():
    mark = EMU.mark()
    n, f, pairs = happy()
    with fault_create(n, status=400, code=20001, times=1):
        r = post(pairs)
    check_error(r, 400, "Twilio rejected the request", 20001,
                twilio_more_info(20001))
    t.eq(len(attempts_for(mark, n)), 1, "create attempts")


@t.test
def twilio_401_is_502_with_code():
    mark = EMU.mark()
    n, f, pairs = happy()
    with fault_create(n, status=401, code=20003, times=1):
        r = post(pairs)
    check_error(r, 502, "Twilio request failed", 20003,
                twilio_more_info(20003))
    t.eq(len(attempts_for(mark, n)), 1, "create attempts")


@t.test
def twilio_slower_than_deadline_504():
    mark = EMU.mark()
    n, f, pairs = happy()
    with fault_create(n, delay_ms=ENV.deadline_ms + 2000, times=1):
        r = post(pairs)
    check_error(r, 504, "deadline exceeded")
    t.ok(r.elapsed < ENV.deadline_ms / 1000.0 + 1.0,
         "answered after %.2f s (deadline %d ms)" % (r.elapsed,
                                                     ENV.deadline_ms))
    t.eq(len(attempts_for(mark, n)), 1, "create attempts")


# --------------------------------------------------------------------------
# the access log
# --------------------------------------------------------------------------


@t.test
def access_log_line():
    lm = t.log_mark()
    mark = EMU.mark()
    n, f, pairs = happy()
    sig = t.sign(ENV.public_url + t.url_for(PATH, pairs))
    r = get(pairs, signature=sig)
    sid = check_success(r)
    the_create(EMU.requests(mark), n)
    raw, objs, line = t.wait_log(lm, lambda o: o.get("task_sid") == sid)
    t.ok(line is not None, "no access line with task_sid %s in %s" % (
        sid, t.log_path()))
    t.match(r"^[0-9a-f]{32}$", line.get("rid"), "rid (nginx $request_id)")
    t.eq(line.get("status"), 200, "status")
    t.eq(line.get("method"), "GET", "method")
    t.eq(line.get("path"), PATH, "path (no query string)")
    t.eq(line.get("rest"), 1, "rest")
    t.eq(line.get("prog"), "create-callback", "prog")
    t.eq(line.get("auth"), "signature+basic", "auth")
    t.eq(line.get("err"), None, "err")
    t.ok(isinstance(line.get("ms"), int), "ms %r" % line.get("ms"))
    t.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", line.get("ts"),
            "ts")
    check_no_secrets(raw, sig, n, f)
    others = [o for o in objs if sid in t.dumps_plain(o) and
              o.get("rid") != line["rid"]]
    t.eq(others, [], "lines about this task with another rid")
    mine = t.access_lines([o for o in objs if o.get("rid") == line["rid"]])
    t.eq(len(mine), 1, "access lines of this request")


def check_no_secrets(raw, sig, *numbers):
    t.ok(ENV.auth_token not in raw, "log contains AUTH_TOKEN")
    t.ok(sig not in raw, "log contains the signature")
    t.ok(ENV.twilio_basic()[6:] not in raw,
         "log contains the Twilio Authorization header")
    t.ok(ENV.basic_password not in raw, "log contains the Basic password")
    for num in numbers:
        t.ok(num[1:-4] not in raw, "log contains more than the last 4 "
             "digits of %s" % num)


@t.test
def access_log_denied_line():
    lm = t.log_mark()
    n, f, pairs = happy()
    r = post(pairs, signature="WRONG_SIGNATURE_WRONG_SIGNATU")
    check_error(r, 403, *INVALID_SIG)
    raw, objs, line = t.wait_log(lm, lambda o: o.get("status") == 403 and
                                 o.get("path") == PATH)
    t.ok(line is not None, "no access line with status 403")
    t.ok(line.get("err") is not None, "err is null on a denial")
    t.ok(line.get("auth") not in ("signature", "signature+basic"),
         "auth %r on a denial" % line.get("auth"))
    t.eq(line.get("rest"), 0, "rest")
    check_no_secrets(raw, "WRONG_SIGNATURE_WRONG_SIGNATU", n, f)


# --------------------------------------------------------------------------
# voicemail (docs/design/callbacks-and-voicemail.md#one-task-per-recording) - tag "voicemail"
# --------------------------------------------------------------------------


def rec_url(re_sid):
    return "https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s" % (
        ENV.account_sid, re_sid)


def lookups_for(reqs, re_sid):
    out = []
    for r in reqs:
        if r.get("method") != "GET" or r.get("path") != ENV.tasks_path:
            continue
        q = t.form_decode(r.get("query") or "")
        if re_sid in (t.first(q, "EvaluateTaskAttributes") or ""):
            out.append((r, q))
    return out


def check_lookup(reqs, re_sid):
    found = lookups_for(reqs, re_sid)
    t.ok(found, "no voicemail lookup (GET Tasks?EvaluateTaskAttributes=…) "
         "for %s" % re_sid)
    r, q = found[0]
    # both attribute shapes (FLEXHOOKS_ATTRIBUTE_STYLE), whichever wrote
    # the task
    t.eq(t.first(q, "EvaluateTaskAttributes"),
         'callBackData.recordingSid == "%s" OR '
         'callBackData.RecordingSid == "%s"' % (re_sid, re_sid),
         "EvaluateTaskAttributes")
    t.eq(t.first(q, "Ordering"), "DateCreated:desc", "Ordering")
    t.eq(t.first(q, "PageSize"), "20", "PageSize")
    check_twilio_headers(r)
    return found


def task_updates(reqs, task_sid):
    p = "%s/%s" % (ENV.tasks_path, task_sid)
    return [r for r in reqs if r.get("method") == "POST" and
            r.get("path") == p]


def make_voicemail(extra=(), camel=True):
    """Create a voicemail task; returns (n, f, RE, TR, sid, attrs)."""
    mark = EMU.mark()
    re_sid, tr_sid = t.sid("RE"), t.sid("TR")
    txt = "Please call me back about order %s." % t.unique_hex(6)
    if camel:
        fields = [("recordingSid", re_sid), ("recordingUrl", rec_url(re_sid)),
                  ("transcriptSid", tr_sid), ("transcriptText", txt)]
    else:
        fields = [("RecordingSid", re_sid), ("RecordingUrl", rec_url(re_sid)),
                  ("TranscriptionSid", tr_sid),
                  ("TranscriptionText", txt),
                  ("TranscriptionStatus", "completed")]
    n, f, pairs = happy(fields + list(extra))
    r = post(pairs)
    sid = check_success(r)
    reqs = EMU.requests(mark)
    raw = check_create_request(the_create(reqs, n))
    check_attrs(raw, minimal_attrs(
        n, f, None, taskType="voicemail", recordingSid=re_sid,
        recordingUrl=rec_url(re_sid), transcriptSid=tr_sid,
        transcriptText=txt), now_window=120, exact_bytes=False)
    check_stored(sid, raw)
    check_lookup(reqs, re_sid)
    return n, f, re_sid, tr_sid, txt, sid, raw


@t.test(tags=("voicemail",))
def voicemail_create_camel_case():
    make_voicemail()


@t.test(tags=("voicemail",))
def voicemail_create_twilio_aliases():
    make_voicemail(camel=False)


@t.test(tags=("voicemail",))
def voicemail_camel_case_wins_over_alias():
    mark = EMU.mark()
    re1, re2 = t.sid("RE"), t.sid("RE")
    n, f, pairs = happy([("RecordingSid", re2), ("recordingSid", re1)])
    check_success(post(pairs))
    reqs = EMU.requests(mark)
    raw = check_create_request(the_create(reqs, n))
    check_attrs(raw, minimal_attrs(n, f, None, taskType="voicemail",
                                   recordingSid=re1), exact_bytes=False)
    check_lookup(reqs, re1)


@t.test(tags=("voicemail",))
def voicemail_second_callback_adds_transcript():
    """Recording callback first, transcription callback second: one task,
    the transcript merged with If-Match."""
    mark = EMU.mark()
    re_sid, tr_sid = t.sid("RE"), t.sid("TR")
    n, f, pairs = happy([("RecordingSid", re_sid),
                         ("RecordingUrl", rec_url(re_sid)),
                         ("RecordingStatus", "completed")])
    sid = check_success(post(pairs))
    raw1 = check_create_request(the_create(EMU.requests(mark), n))
    check_attrs(raw1, minimal_attrs(n, f, None, taskType="voicemail",
                                    recordingSid=re_sid,
                                    recordingUrl=rec_url(re_sid)),
                exact_bytes=False)
    mark2 = EMU.mark()
    txt = "transcript %s" % t.unique_hex(6)
    r = get([("numberToCall", n), ("numberToCallFrom", f),
             ("RecordingSid", re_sid), ("TranscriptionSid", tr_sid),
             ("TranscriptionText", txt), ("TranscriptionStatus",
                                          "completed")])
    t.eq(check_success(r), sid, "taskSid of the second callback")
    reqs = EMU.requests(mark2)
    check_lookup(reqs, re_sid)
    t.eq(len(t.task_creates(reqs, n)), 0, "creates on the second callback")
    ups = task_updates(reqs, sid)
    t.eq(len(ups), 1, "task updates")
    t.ok(t.header_of(ups[0], "If-Match"), "update without If-Match")
    form = t.form_of(ups[0])
    t.eq([k for k, _ in form], ["Attributes"], "update fields")
    got = t.loads_ordered(t.first(form, "Attributes"))
    cbd = got["callBackData"]
    t.eq(cbd.get("transcriptSid"), tr_sid, "merged transcriptSid")
    t.eq(cbd.get("transcriptText"), txt, "merged transcriptText")
    t.eq(cbd.get("recordingSid"), re_sid, "recordingSid kept")
    t.eq(cbd.get("recordingUrl"), rec_url(re_sid), "recordingUrl kept")
    t.eq(got.get("taskType"), "voicemail", "taskType")
    t.eq(len(stored_with(re_sid)), 1, "tasks stored for the recording")
    t.eq(EMU.task(sid).get("attributes"), t.first(form, "Attributes"),
         "stored attributes after the merge")


@t.test(tags=("voicemail",))
def voicemail_repeat_changes_nothing():
    n, f, re_sid, tr_sid, txt, sid, raw = make_voicemail()
    mark = EMU.mark()
    r = post([("numberToCall", n), ("numberToCallFrom", f),
              ("recordingSid", re_sid), ("transcriptSid", tr_sid),
              ("transcriptText", txt)])
    t.eq(check_success(r), sid, "taskSid of the repeat")
    reqs = EMU.requests(mark)
    t.eq(len(t.task_creates(reqs, n)), 0, "creates on the repeat")
    t.eq(len(task_updates(reqs, sid)), 0, "updates when nothing is new")


@t.test(tags=("voicemail",))
def voicemail_failed_transcription_ignored():
    mark = EMU.mark()
    re_sid, tr_sid = t.sid("RE"), t.sid("TR")
    n, f, pairs = happy([("RecordingSid", re_sid),
                         ("TranscriptionSid", tr_sid),
                         ("TranscriptionText", "garbage"),
                         ("TranscriptionStatus", "failed")])
    check_success(post(pairs))
    raw = check_create_request(the_create(EMU.requests(mark), n))
    check_attrs(raw, minimal_attrs(n, f, None, taskType="voicemail",
                                   recordingSid=re_sid), exact_bytes=False)


@t.test(tags=("voicemail",))
def voicemail_absent_recording_is_a_callback():
    mark = EMU.mark()
    re_sid = t.sid("RE")
    n, f, pairs = happy([("RecordingSid", re_sid),
                         ("RecordingUrl", rec_url(re_sid)),
                         ("RecordingStatus", "absent")])
    check_success(post(pairs))
    reqs = EMU.requests(mark)
    t.eq(lookups_for(reqs, re_sid), [], "lookup for an ignored recording")
    raw = check_create_request(the_create(reqs, n))
    check_attrs(raw, minimal_attrs(n, f, None))


@t.test(tags=("voicemail",))
def voicemail_deleted_match_deletes_transcription():
    mark = EMU.mark()
    re_sid, tr_sid = t.sid("RE"), t.sid("TR")
    n, f, pairs = happy([("recordingSid", re_sid), ("isDeleted", "true")])
    sid = check_success(post(pairs))
    raw = check_create_request(the_create(EMU.requests(mark), n))
    check_attrs(raw, minimal_attrs(n, f, None, taskType="voicemail",
                                   recordingSid=re_sid, isDeleted=True),
                exact_bytes=False)
    mark2 = EMU.mark()
    r = post([("numberToCall", n), ("numberToCallFrom", f),
              ("RecordingSid", re_sid), ("TranscriptionSid", tr_sid),
              ("TranscriptionText", "secret words"),
              ("TranscriptionStatus", "completed")])
    t.eq(check_success(r), sid, "taskSid")
    reqs = EMU.requests(mark2)
    t.eq(len(t.task_creates(reqs, n)), 0, "creates")
    t.eq(len(task_updates(reqs, sid)), 0, "updates of a deleted voicemail")
    dels = [x for x in reqs if x.get("method") == "DELETE" and
            x.get("path") == "/2010-04-01/Accounts/%s/Transcriptions/%s.json"
            % (ENV.account_sid, tr_sid)]
    t.eq(len(dels), 1, "transcription deletes")
    check_twilio_headers(dels[0])
    t.ok("secret words" not in (EMU.task(sid).get("attributes") or ""),
         "transcript stored on a deleted voicemail")


@t.test(tags=("voicemail",))
def voicemail_lookup_failure_still_creates():
    mark = EMU.mark()
    re_sid = t.sid("RE")
    n, f, pairs = happy([("recordingSid", re_sid)])
    tag = "lookup-" + re_sid
    EMU.fault(method="GET", path=ENV.tasks_path, exact=True, status=500,
              times=1, query=re_sid, body_contains=tag)
    try:
        check_success(post(pairs))
    finally:
        left = EMU.remove_faults(lambda x: x.get("body_contains") == tag)
    reqs = EMU.requests(mark)
    raw = check_create_request(the_create(reqs, n))
    check_attrs(raw, minimal_attrs(n, f, None, taskType="voicemail",
                                   recordingSid=re_sid), exact_bytes=False)
    t.ok(lookups_for(reqs, re_sid), "no voicemail lookup was attempted")
    t.eq(left, 0, "unused lookup faults")


@t.test(tags=("voicemail",))
def voicemail_transcript_of_8192_bytes_accepted():
    """Text fields take up to their stated size (transcriptText 8192
    bytes, docs/design/callbacks-and-voicemail.md#fields), multi-byte UTF-8 included."""
    mark = EMU.mark()
    re_sid = t.sid("RE")
    txt = ("\u00e9" * 4096)               # 8192 bytes of UTF-8
    n, f, pairs = happy([("recordingSid", re_sid),
                         ("transcriptText", txt)])
    check_success(post(pairs))
    raw = check_create_request(the_create(EMU.requests(mark), n))
    check_attrs(raw, minimal_attrs(n, f, None, taskType="voicemail",
                                   recordingSid=re_sid, transcriptText=txt),
                exact_bytes=False)


VOICEMAIL_BAD = [
    ("recordingSid_prefix", [("recordingSid", "RX" + HEX32)],
     "invalid recordingSid"),
    ("RecordingSid_short", [("RecordingSid", "RE123")],
     "invalid recordingSid"),
    ("recordingUrl_http", [("recordingUrl", "http://api.twilio.com/x")],
     "invalid recordingUrl"),
    ("recordingUrl_too_long", [("recordingUrl", "https://" + "a" * 1017)],
     "invalid recordingUrl"),
    ("recordingUrl_relative", [("recordingUrl", "/relative")],
     "invalid recordingUrl"),
    ("transcriptSid_prefix", [("transcriptSid", "TX" + HEX32)],
     "invalid transcriptSid"),
    ("transcriptText_too_long", [("transcriptText", "x" * 8193)],
     "invalid transcriptText"),
    ("TranscriptionText_nul", [("TranscriptionText", "a\x00b")],
     "invalid transcriptText"),
]


def _vm_bad_case(name, fields, message):
    def case():
        mark = EMU.mark()
        extra = list(fields)
        if fields[0][0] not in ("recordingSid", "RecordingSid"):
            extra.insert(0, ("recordingSid", t.sid("RE")))
        n, f, pairs = happy(extra)
        r = post(pairs)
        check_error(r, 400, message)
        nothing_created(mark, n, f)
    case.__name__ = "voicemail_bad_" + name
    return case


for _n, _fields, _msg in VOICEMAIL_BAD:
    t.test(_vm_bad_case(_n, _fields, _msg), tags=("voicemail",))


# --------------------------------------------------------------------------
# issue 16: JavaScript's "undefined", withheld callers
# --------------------------------------------------------------------------


def no_task_writes(mark):
    return [r for r in EMU.requests(mark)
            if r.get("method") == "POST" and
            (r.get("path") or "").startswith(ENV.tasks_path)]


@t.test
def js_undefined_optional_is_absent():
    n, f, pairs = happy([("flexFlowSid", "undefined"),
                         ("workflowSid", "null"), ("timeout", "undefined"),
                         ("recordingSid", "undefined"),
                         ("isDeleted", "false"), ("attempts", "0")])
    mark = EMU.mark()
    sid = check_success(post(pairs))
    raw = check_create_request(the_create(EMU.requests(mark), n))
    check_attrs(raw, minimal_attrs(n, f, None), now_window=120)
    check_stored(sid, raw)


@t.test
def js_undefined_required_creates_nothing():
    f = t.unique_number()
    for pairs, msg in (
            ([("numberToCall", "undefined"), ("numberToCallFrom", f)],
             "missing numberToCall"),
            ([("numberToCall", "null"), ("numberToCallFrom", f)],
             "missing numberToCall"),
            ([("numberToCall", t.unique_number()),
              ("numberToCallFrom", "undefined")],
             "missing numberToCallFrom")):
        mark = EMU.mark()
        check_error(post(pairs), 400, msg)
        t.eq(no_task_writes(mark), [], "task writes for %r" % (pairs,))


@t.test
def withheld_caller_400():
    f = t.unique_number()
    for n in ("+266696687", "+7378742833", "+2562533", "+86282452253",
              "anonymous", "Restricted", "UNKNOWN", "blocked", "private"):
        mark = EMU.mark()
        check_error(post([("numberToCall", n), ("numberToCallFrom", f)]),
                    400, "caller ID withheld")
        t.eq(no_task_writes(mark), [], "task writes for %s" % n)
        t.eq(stored_with(f), [], "tasks stored")
    # a Studio query string, with an unencoded '+'
    mark = EMU.mark()
    check_error(get("numberToCall=+266696687&numberToCallFrom=%s" %
                    f.replace("+", "%2B")), 400, "caller ID withheld")
    t.eq(no_task_writes(mark), [], "task writes")


# --------------------------------------------------------------------------
# Twilio's retries: I-Twilio-Idempotency-Token (docs/SECURITY.md)
# --------------------------------------------------------------------------

IDEM = "I-Twilio-Idempotency-Token"


def idem_token():
    # the shape Twilio sends: the account, a dash, a unique id
    return "%s-%s" % (ENV.account_sid, t.unique_hex(32))


def post_token(pairs, token, path=PATH):
    return t.request("POST", path, form=pairs, headers=[(IDEM, token)])


@t.test
def idempotency_replays_create_once():
    mark = EMU.mark()
    lm = t.log_mark()
    n, f, pairs = happy()
    tok = idem_token()
    sids = [check_success(post_token(pairs, tok)) for _ in range(5)]
    t.eq(sids, [sids[0]] * 5, "task SIDs of 5 replays with one token")
    the_create(EMU.requests(mark), n)
    t.eq(len(stored_with(n)), 1, "tasks stored")
    raw, objs, line = t.wait_log(
        lm, lambda o: "already answered" in (o.get("msg") or ""))
    t.ok(line is not None, "no log line about a replayed delivery")
    t.ok(tok not in raw, "the log holds the idempotency token")


@t.test
def idempotency_get_replays_create_once():
    # Studio's GET mode, its query string signed
    mark = EMU.mark()
    n, f, pairs = happy()
    tok = idem_token()
    sids = [check_success(t.request("GET", PATH, query=pairs,
                                    headers=[(IDEM, tok)]))
            for _ in range(3)]
    t.eq(sids, [sids[0]] * 3, "task SIDs of 3 GET replays")
    the_create(EMU.requests(mark), n)


@t.test
def idempotency_concurrent_copies_create_once():
    # the create is slow, so that the copies arrive while it runs (with
    # create-callback=4 they are in other processes, and wait for it)
    import threading
    mark = EMU.mark()
    n, f, pairs = happy()
    tok = idem_token()
    out = [None] * 5

    def one(i):
        out[i] = post_token(pairs, tok)

    with fault_create(n, delay_ms=600, times=1):
        ths = [threading.Thread(target=one, args=(i,)) for i in range(5)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
    sids = [check_success(r) for r in out]
    t.eq(sids, [sids[0]] * 5, "task SIDs of 5 concurrent copies")
    the_create(EMU.requests(mark), n)
    t.eq(len(stored_with(n)), 1, "tasks stored")


@t.test
def idempotency_other_tokens_other_tasks():
    mark = EMU.mark()
    n, f, pairs = happy()
    a = check_success(post_token(pairs, idem_token()))
    b = check_success(post_token(pairs, idem_token()))
    c = check_success(post(pairs))     # no header: today's behaviour
    d = check_success(post(pairs))
    t.eq(len({a, b, c, d}), 4, "distinct task SIDs %r" % ([a, b, c, d],))
    t.eq(len(t.task_creates(EMU.requests(mark), n)), 4, "task creates")
    # a token over 256 bytes, or not printable ASCII, is ignored
    mark = EMU.mark()
    tok = "k" * 257
    e = check_success(post_token(pairs, tok))
    g = check_success(post_token(pairs, tok))
    t.ok(e != g, "an oversize token deduplicated")
    t.eq(len(t.task_creates(EMU.requests(mark), n)), 2, "task creates")


@t.test
def idempotency_same_token_other_route():
    # the key is the route and the token: an alias is another delivery
    mark = EMU.mark()
    n, f, pairs = happy()
    tok = idem_token()
    a = check_success(post_token(pairs, tok))
    b = check_success(post_token(pairs, tok,
                                 "/callback/studio/create-callback"))
    c = check_success(post_token(pairs, tok,
                                 "/callback/studio/create-callback"))
    t.ok(a != b, "one task for two routes")
    t.eq(b, c, "the alias's replay")
    t.eq(len(t.task_creates(EMU.requests(mark), n)), 2, "task creates")


@t.test
def idempotency_failed_create_is_retried():
    mark = EMU.mark()
    n, f, pairs = happy()
    tok = idem_token()
    with fault_create(n, status=400, code=20001, times=1):
        r = post_token(pairs, tok)
    check_error(r, 400, "Twilio rejected the request", 20001,
                twilio_more_info(20001))
    sid = check_success(post_token(pairs, tok))
    t.eq(check_success(post_token(pairs, tok)), sid, "the retry's replay")
    t.eq(len(attempts_for(mark, n)), 2, "create attempts (400, then one)")
    t.eq(len(stored_with(n)), 1, "tasks stored")


if __name__ == "__main__":
    t.require_stack()
    t.main()
