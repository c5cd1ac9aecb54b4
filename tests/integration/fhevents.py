# SPDX-License-Identifier: Apache-2.0
"""fhevents - TaskRouter events for the test scripts (test_events,
test_followup): one signed event, the empty 204 answer, the stack's
redirect rules and dialer attribute names.
"""

import os

import fhtest as t

ENV = t.ENV
EMU = t.EMU
CB = "/tr-event-callback"
PROG = "taskrouter-events"
TO_ATTR = os.environ.get("FLEXHOOKS_OUTBOUND_TO_ATTRIBUTE") or \
    "practicePhone"
FROM_ATTR = os.environ.get("FLEXHOOKS_OUTBOUND_FROM_ATTRIBUTE") or \
    "callerID"


def rules():
    """The redirect rules of the stack: [(queue, number)]."""
    raw = os.environ.get("FLEXHOOKS_FORWARD_RULES") or ""
    out = [tuple(r.split("=", 1)) for r in raw.split(",") if "=" in r]
    if os.environ.get("FORWARD_CALL_TASK_QUEUE_SID"):
        out.insert(0, (os.environ["FORWARD_CALL_TASK_QUEUE_SID"],
                       os.environ.get("FORWARD_TO_NUMBER", "")))
    return out


def event(etype, task=None, attrs=None, path=CB, **extra):
    """Send one signed, Basic-authenticated event; returns the answer."""
    form = [("EventType", etype), ("AccountSid", ENV.account_sid),
            ("WorkspaceSid", ENV.workspace_sid),
            ("Sid", extra.pop("Sid", t.sid("EV"))),
            ("ResourceType", "task"), ("Timestamp", "1767225600")]
    if task is not None:
        form.append(("TaskSid", task))
    if attrs is not None:
        form.append(("TaskAttributes", attrs if isinstance(attrs, str)
                     else t.dumps_plain(attrs)))
    form.extend(extra.items())
    return t.request("POST", path, form=form, timeout=30.0)


def is_204(r):
    t.eq(r.status, 204, "status (body %r)" % r.body[:200])
    t.eq(r.header("Content-Type"), "application/json", "Content-Type")
    t.eq(r.body, b"", "body")
