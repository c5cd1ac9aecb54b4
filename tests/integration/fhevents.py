# SPDX-License-Identifier: Apache-2.0
"""fhevents - TaskRouter events for the test scripts (test_events,
test_followup): one signed event, the empty 204 answer, the stack's
redirect rules and dialer attribute names.
"""

import os
from collections import OrderedDict

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


def placeholder(i=0):
    """The stack's redirect rule i (a placeholder queue and its number);
    skips the test when there is none."""
    rs = rules()
    if len(rs) <= i:
        t.skip("the stack has no redirect rule %d" % i)
    return rs[i]


def task_path(sid):
    return "%s/%s" % (ENV.tasks_path, sid)

def seed_redirect(status="pending", call_status="in-progress", extra=None,
                  queue=None):
    """A voice task waiting in the placeholder with its call: (task, call,
    attributes)."""
    call = t.sid("CA")
    attrs = OrderedDict([("call_sid", call), ("from", t.unique_number()),
                         ("to", t.unique_number()), ("direction", "inbound"),
                         ("conversations", OrderedDict([("hang_up_by",
                                                         "Customer")])),
                         ("priority", 3), ("vip", False), ("tags", [1, "a"]),
                         ("nothing", None), ("ratio", 0.5)])
    if extra:
        attrs.update(extra)
    out = EMU.seed({"calls": {call: call_status},
                    "tasks": [{"workflow_sid": t.sid("WW"),
                               "attributes": attrs,
                               "assignment_status": status,
                               "task_queue_sid": queue or placeholder()[0],
                               "task_channel": "voice"}]})
    return out["tasks"][0], call, attrs

def drop_faults(path):
    EMU.remove_faults(lambda f: f.get("path") == path)

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
