# SPDX-License-Identifier: Apache-2.0
"""fhrequeue - the Flex requeue-callback route for the test scripts
(test_requeue, test_faults, test_followup): a Flex token the emulator's
IAM accepts, callback attributes, seeded tasks, the request and its
success check.
"""

import re
from collections import OrderedDict

import fhtest as t

ENV = t.ENV
EMU = t.EMU
PATH = "/features/callback-and-voicemail/flex/requeue-callback"
SUCCESS_RE = rb'^\{"taskSid":"(WT[0-9a-f]{32})","success":true\}$'
TOKEN = "tok-" + t.unique_hex(24)


def od(*pairs):
    return OrderedDict(pairs)


def seed_token():
    EMU.seed({"tokens": {TOKEN: {"status": 200, "body": {
        "valid": True, "code": 0, "message": None,
        "expiration": "2099-01-01T00:00:00.000Z", "identity": "a",
        "roles": ["agent"],
        "worker_sid": "WK" + "0" * 30 + "34"}}}})


def callback_attrs(n=None, f=None, attempts=0, **extra):
    """Attributes of a callback task as create-callback writes them, plus
    the keys a live task picks up (call_sid, conference)."""
    n = n or t.unique_number()
    f = f or t.unique_number()
    a = od(("from", n), ("name", n), ("taskType", "callback"),
           ("callBackData", od(("numberToCall", n), ("numberToCallFrom", f),
                               ("mainTimeZone", "UTC"),
                               ("utcDateTimeReceived",
                                "2026-11-22T01:45:34.583Z"),
                               ("isDeleted", False),
                               ("attempts", attempts))),
           ("direction", "inbound"), ("conversations", od()),
           ("call_sid", t.sid("CA")),
           ("conference", od(("sid", t.sid("CF")))))
    a.update(extra)
    return a


def seed_task(attrs, workflow=None, timeout=3600, priority=5,
              channel="voice", status="assigned"):
    """Seed one task; returns (sid, workflow SID)."""
    wf = workflow or t.sid("WW")
    out = EMU.seed({"tasks": [{"workflow_sid": wf, "attributes": attrs,
                               "assignment_status": status,
                               "timeout": timeout, "priority": priority,
                               "task_channel": channel}]})
    return out["tasks"][0], wf


def requeue(sid, token=None, extra=(), **kw):
    pairs = [("Token", TOKEN if token is None else token)]
    if sid is not None:
        pairs.append(("taskSid", sid))
    pairs.extend(extra)
    return t.request("POST", PATH, form=pairs, auth=None, signature=None,
                     **kw)


def check_success(resp):
    t.eq(resp.status, 200, "status (body %r)" % resp.body[:300])
    t.json_type(resp)
    t.eq(resp.header("Cache-Control"), "no-store", "Cache-Control")
    m = re.match(SUCCESS_RE, resp.body)
    t.ok(m, "success body %r" % resp.body)
    return m.group(1).decode()
