# SPDX-License-Identifier: Apache-2.0
"""fhvoicemail - the Flex voicemail routes (fetch-voicemail,
delete-voicemail) for the test scripts (test_voicemail, test_faults,
test_followup): a Flex token, token-carrying requests, seeded recordings,
voicemail attributes and the state of the media in the emulator.
"""

import base64
from collections import OrderedDict

import fhtest as t

ENV = t.ENV
EMU = t.EMU
FLEX = "/features/callback-and-voicemail/flex/"
FV = FLEX + "fetch-voicemail"
DV = FLEX + "delete-voicemail"
_token = []


def od(*pairs):
    return OrderedDict(pairs)


def token():
    """A Flex token the emulator's IAM accepts (seeded once)."""
    if not _token:
        tok = "tok-vm-" + t.unique_hex(16)
        EMU.seed({"tokens": {tok: {"status": 200, "body": {
            "valid": True, "code": 0, "message": None,
            "expiration": "2099-01-01T00:00:00.000Z", "identity": "a",
            "roles": ["agent"], "worker_sid": t.sid("WK")}}}})
        _token.append(tok)
    return _token[0]


def post(path, pairs, query=None, headers=(), tok=True):
    form = ([("Token", token())] if tok else []) + list(pairs)
    return t.request("POST", path, query=query, form=form, auth=None,
                     signature=None, headers=headers)


def seed_recording(size=None, data=None, **extra):
    sid = t.sid("RE")
    spec = dict(extra)
    if data is not None:
        spec["base64"] = base64.b64encode(data).decode()
    else:
        spec["size"] = size
    EMU.seed({"recordings": {sid: spec}})
    return sid


def media_path(re_sid):
    return "/2010-04-01/Accounts/%s/Recordings/%s.mp3" % (ENV.account_sid,
                                                          re_sid)


def voicemail_attrs(n, re_sid, tr_sid=None, text=None, deleted=False):
    cb = od(("numberToCall", n), ("numberToCallFrom", "+18005550100"),
            ("recordingSid", re_sid),
            ("recordingUrl", "https://api.twilio.com/2010-04-01/Accounts/"
             "%s/Recordings/%s" % (ENV.account_sid, re_sid)))
    if tr_sid is not None:
        cb["transcriptSid"] = tr_sid
    if text is not None:
        cb["transcriptText"] = text
    cb["mainTimeZone"] = "UTC"
    cb["utcDateTimeReceived"] = "2026-11-22T01:45:49.954Z"
    cb["isDeleted"] = deleted
    cb["attempts"] = 0
    return od(("from", n), ("name", n), ("taskType", "voicemail"),
              ("callBackData", cb), ("direction", "inbound"),
              ("conversations", od()))


def media_state(re_sid, tr_sid):
    st = EMU.state()
    rec = st["recordings"][re_sid]["deleted"]
    tr = st["transcriptions"][tr_sid]["deleted"] if tr_sid else None
    return rec, tr


def check_success(r, sid):
    t.eq(r.status, 200, "status (body %r)" % r.body[:300])
    t.json_type(r)
    t.eq(r.header("Cache-Control"), "no-store", "Cache-Control")
    t.eq(r.body, ('{"taskSid":"%s","success":true}' % sid).encode(),
         "body")
