#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The demo (deploy/demo.py, `deploy/local.sh demo`) against the test stack.

Runs the demo as a newcomer would see it and checks that it ends well
(exit 0), that it prints each story's webhooks and answers, and that the
tasks it names as created are in the emulator as it says: a callback task
from the wait experience (the caller's original task canceled), a
voicemail task from Studio with its recording, and the next attempt of
the callback from Retry later.  So the demo cannot rot unnoticed.

Run by `deploy/local.sh test` (make check); exits 77 unless
FLEXHOOKS_TEST_STACK=1.
"""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402

ENV = t.ENV
EMU = t.EMU
SRC = os.environ.get("FLEXHOOKS_SRCDIR") or ENV.root
DEMO = os.path.join(SRC, "deploy", "demo.py")
CREATED = re.compile(r"^  created: (WT[0-9a-f]{32}) (callback|voicemail) +"
                     r"by (.*)$", re.M)


def attrs(task):
    a = task.get("attributes")
    return json.loads(a) if isinstance(a, str) else (a or {})


def run_demo():
    p = subprocess.run([sys.executable, DEMO], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace")


@t.test
def demo_names_the_tasks_it_created():
    rc, out = run_demo()
    t.eq(rc, 0, "demo exit status; output:\n" + out)
    for story in ("1. A caller waits in the queue", "2. A Studio flow",
                  "3. The agent's callback goes unanswered"):
        t.ok(story in out, "story %r printed" % story)
    # each webhook and its answer
    for what in ("-> Twilio (the queue's waitUrl): POST "
                 "/features/callback-and-voicemail/studio/wait-experience",
                 "<- flexhooks answers 200 text/xml",
                 "-> Twilio Studio: POST "
                 "/features/callback-and-voicemail/studio/create-callback",
                 "-> the Flex plugin: POST "
                 "/features/callback-and-voicemail/flex/requeue-callback",
                 "<- flexhooks answers 200 application/json",
                 "flexhooks -> Twilio: POST /v1/Workspaces/"):
        t.ok(what in out, "output shows %r" % what)
    created = CREATED.findall(out)
    t.eq([k for _, k, _ in created], ["callback", "voicemail", "callback"],
         "created tasks named")
    (cb, _, _), (vm, _, _), (again, _, _) = created
    t.eq(len({cb, vm, again}), 3, "three different tasks")
    for sid in (cb, vm, again):
        t.ok(EMU.task(sid) is not None, "task %s in the emulator" % sid)
        t.ok(sid in out.split("Tasks flexhooks created:")[0],
             "%s shown in its story's task list" % sid)
    a_cb, a_vm, a_again = (attrs(EMU.task(s)) for s in (cb, vm, again))
    t.eq(a_cb["taskType"], "callback", "story 1: a callback task")
    t.eq(a_vm["taskType"], "voicemail", "story 2: a voicemail task")
    t.match(r"^RE[0-9a-f]{32}$", a_vm["callBackData"]["recordingSid"],
            "story 2: the recording")
    t.eq(a_again["taskType"], "callback", "story 3: a callback task")
    t.eq(a_again["callBackData"]["numberToCall"],
         a_cb["callBackData"]["numberToCall"], "story 3: the same number")
    t.eq(a_again["callBackData"]["attempts"],
         a_cb["callBackData"]["attempts"] + 1, "story 3: the next attempt")
    # the original of story 1: canceled, as the demo printed it
    m = re.search(r"(WT[0-9a-f]{32})  canceled .*reason \"Opted to "
                  r"request a callback\"", out)
    t.ok(m, "story 1 shows the caller's task canceled")
    t.eq(EMU.task(m.group(1))["assignment_status"], "canceled",
         "the caller's task canceled in the emulator")


@t.test
def demo_runs_again():
    """Fresh numbers and SIDs each time: a second run creates new tasks."""
    rc1, out1 = run_demo()
    rc2, out2 = run_demo()
    t.eq((rc1, rc2), (0, 0), "both runs succeed:\n" + out2)
    s1 = set(s for s, _, _ in CREATED.findall(out1))
    s2 = set(s for s, _, _ in CREATED.findall(out2))
    t.eq(len(s1), 3, "three tasks the first time")
    t.eq(s1 & s2, set(), "new tasks the second time")


if __name__ == "__main__":
    t.require_stack()
    t.main()
