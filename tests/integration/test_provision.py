#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests of flexhooks-provision against the Twilio emulator
(docs/design/taskrouter-events.md#provisioning).

The built program runs with a clean environment and a --config file that
points its REST client at the emulator (FLEXHOOKS_TASKROUTER_URL) and at a
workspace of its own, seeded fresh for each test, so that the scripts
sharing the emulator are not disturbed.  nginx is not needed.  Each test
reads back the requests the program made for its workspace, and the
emulator's state.

Exits 77 unless FLEXHOOKS_TEST_STACK=1.
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
binary = t.provision_binary
event_url = t.provision_event_url
fresh_workspace = t.fresh_workspace
run = t.run_provision
PREFIX = "[TR Call Redirection] "
FILTER = "task-queue.entered,reservation.created,reservation.wrapup"
def space(ws):
    return EMU.state()["workspaces"][ws]


def by_name(items, name):
    found = [i for i in items if i["friendly_name"] == name]
    t.eq(len(found), 1, "objects named %r" % name)
    return found[0]


def twilio_post(path, form):
    body = t.form_encode(form)
    return t.http_raw("POST", EMU.host, EMU.port, path, [
        ("Authorization", ENV.twilio_basic()),
        ("Content-Type", "application/x-www-form-urlencoded")], body)


def expect_rc(r, rc):
    t.eq(r.rc, rc, "exit status (stderr: %s)" % r.err[-2000:])


# --------------------------------------------------------------------------
@t.test
def first_run_creates_everything_second_only_ok():
    ws = fresh_workspace()
    r = run(ws, "--outbound-demo")
    expect_rc(r, 0)
    st = space(ws)
    queues = {q["friendly_name"]: q for q in st["task_queues"]}
    for name in ("Sales", "Support", "Everyone"):
        t.eq(queues[PREFIX + name]["target_workers"], "1==1", name)
    ph = queues[PREFIX + "Call Redirection"]
    t.eq(ph["target_workers"], "1==2", "placeholder")
    t.eq(queues["Pacific Health"]["target_workers"],
         'practice=="Pacific Health"', "demo queue")
    wfs = {w["friendly_name"]: w for w in st["workflows"]}
    redirect = wfs[PREFIX + "Call Redirection Workflow"]
    t.eq(json.loads(redirect["configuration"]), {"task_routing": {
        "filters": [{"filter_friendly_name": "Redirect Call",
                     "expression": "1==1", "targets": [
                         {"queue": queues[PREFIX + "Sales"]["sid"],
                          "timeout": 5},
                         {"queue": queues[PREFIX + "Support"]["sid"],
                          "timeout": 5},
                         {"queue": queues[PREFIX + "Everyone"]["sid"],
                          "timeout": 10},
                         {"queue": ph["sid"]}]}]}}, "redirect workflow")
    everyone = queues["Everyone"]["sid"]
    cb = wfs["Template Example Callback"]
    conf = json.loads(cb["configuration"])["task_routing"]
    t.eq([f["filter_friendly_name"] for f in conf["filters"]],
         ["Retry attempt 1", "Additional retry attempts",
          "Initial routing attempt"], "callback filters")
    t.eq(conf["filters"][0]["targets"], [
        {"queue": everyone, "expression": "1==0", "timeout": 600},
        {"queue": everyone}], "retry 1 targets")
    t.eq(conf["filters"][1]["expression"], "callBackData.attempts > 1",
         "retry expression")
    t.eq(conf["default_filter"], {"queue": everyone}, "default filter")
    demo = wfs["Call Router Workflow"]
    t.eq(demo["task_reservation_timeout"], 120, "TaskReservationTimeout")
    t.eq(json.loads(demo["configuration"])["task_routing"]["filters"][0][
        "targets"], [{"queue": queues["Pacific Health"]["sid"]}], "demo")
    worker = by_name(st["workers"], "Pacific Health Main")
    t.eq(json.loads(worker["attributes"]), {"practice": "Pacific Health"},
         "worker attributes")
    t.eq((worker["activity_name"], worker["available"]),
         ("Available", True), "worker activity")
    t.eq(st["workspace"]["event_callback_url"], event_url(), "callback")
    t.eq(st["workspace"]["events_filter"], FILTER, "EventsFilter")
    # stdout: the lines for the config file, in order
    t.eq(r.out.splitlines(), [
        "TWILIO_FLEX_WORKSPACE_SID=" + ws,
        "FORWARD_CALL_TASK_QUEUE_SID=" + ph["sid"],
        "FLEXHOOKS_INBOUND_WORKFLOW_SID=" + redirect["sid"],
        "TWILIO_FLEX_CALLBACK_WORKFLOW_SID=" + cb["sid"],
        "# outbound demo workflow (enqueue dialer callers here): " +
        demo["sid"],
        "# reminder: FORWARD_TO_NUMBER is not set; add FORWARD_TO_NUMBER="
        "+E164, the number the placeholder queue's callers are sent to"],
        "stdout")
    t.eq(len(r.posts), 10, "POSTs of the first run")
    t.ok(all("/v1/Workspaces/%s" % ws in p["path"] for p in r.posts),
         "every POST went to the workspace")
    t.ok("create TaskQueue '%sSales' <new>" % PREFIX in r.err, r.err)
    t.ok(re.search(r"(?m)^created Worker 'Pacific Health Main' WK[0-9a-f]"
                   r"{32}$", r.err), r.err)

    # the same command again: nothing to do
    again = run(ws, "--outbound-demo")
    expect_rc(again, 0)
    t.eq(again.posts, [], "POSTs of the second run")
    t.ok(all(ln.startswith(("ok ", "warning: ")) for ln in again.lines()),
         again.err)
    t.eq(again.out, r.out, "the same config lines")
    quiet = run(ws, config={"FORWARD_TO_NUMBER": "+15551230000",
                            "FORWARD_CALL_TASK_QUEUE_SID": ph["sid"]})
    expect_rc(quiet, 0)
    t.eq(quiet.posts, [], "POSTs of a run without the demo")
    t.ok(quiet.lines() and all(ln.startswith("ok ")
                               for ln in quiet.lines()),
         "only ok lines:\n" + quiet.err)
    t.ok("FORWARD_TO_NUMBER" not in quiet.out, "no reminder when set")


@t.test
def dry_run_sends_no_post():
    ws = fresh_workspace()
    r = run(ws, "--dry-run", "--outbound-demo")
    expect_rc(r, 0)
    t.eq(r.posts, [], "POSTs")
    t.ok(r.reqs and all(q["method"] == "GET" for q in r.reqs), "only GETs")
    for line in ("create TaskQueue '%sSales' <new>" % PREFIX,
                 "create TaskQueue '%sCall Redirection' <new>" % PREFIX,
                 "create Workflow '%sCall Redirection Workflow' <new>" %
                 PREFIX,
                 "create Workflow 'Template Example Callback' <new>",
                 "create Worker 'Pacific Health Main' <new>",
                 "update EventCallbackUrl,EventsFilter Workspace "):
        t.ok(line in r.err, "plan line %r:\n%s" % (line, r.err))
    t.ok("%s:***@" % ENV.basic_user in r.err, "masked callback URL")
    st = space(ws)
    t.eq([q["friendly_name"] for q in st["task_queues"]], ["Everyone"],
         "nothing created")
    t.eq(st["workspace"]["event_callback_url"], None, "callback untouched")
    t.ok("# FORWARD_CALL_TASK_QUEUE_SID=<new>" in r.out.splitlines(), r.out)


@t.test
def changed_target_workers_updates_that_field_only():
    ws = fresh_workspace()
    expect_rc(run(ws), 0)
    sales = by_name(space(ws)["task_queues"], PREFIX + "Sales")
    path = "/v1/Workspaces/%s/TaskQueues/%s" % (ws, sales["sid"])
    t.eq(twilio_post(path, [("TargetWorkers", "skills HAS 'x'")]).status,
         200, "queue changed behind our back")
    r = run(ws)
    expect_rc(r, 0)
    t.eq([(p["path"], t.form_of(p)) for p in r.posts],
         [(path, [("TargetWorkers", "1==1")])], "one update, one field")
    t.ok("update TargetWorkers TaskQueue '%sSales' %s" % (
        PREFIX, sales["sid"]) in r.err, r.err)
    t.eq(by_name(space(ws)["task_queues"], PREFIX + "Sales")[
        "target_workers"], "1==1", "restored")


@t.test
def name_clash_exits_3_naming_both():
    ws = fresh_workspace()
    out = EMU.seed({"workspace_sid": ws, "task_queues": [
        {"friendly_name": PREFIX + "Support", "target_workers": "1==1"},
        {"friendly_name": PREFIX + "Support", "target_workers": "1==1",
         "duplicate_name": True}]})
    a, b = out["task_queues"]
    r = run(ws)
    expect_rc(r, 3)
    t.ok(a in r.err and b in r.err, "both SIDs named:\n" + r.err)
    t.eq(r.posts, [], "nothing changed")
    t.eq(r.out, "", "no config lines")


@t.test
def foreign_event_callback_refused_then_replaced():
    other = "https://other.example.com/events"
    ws = fresh_workspace(event_callback_url=other,
                         events_filter="task.created")
    r = run(ws)
    expect_rc(r, 3)
    t.ok(other in r.err, "names the other URL:\n" + r.err)
    t.ok("--replace-event-callback" in r.err, "says how to go on")
    t.eq(r.posts, [], "refused before any change")
    t.eq(space(ws)["workspace"]["event_callback_url"], other, "kept")
    r = run(ws, "--replace-event-callback")
    expect_rc(r, 0)
    st = space(ws)["workspace"]
    t.eq((st["event_callback_url"], st["events_filter"]),
         (event_url(), FILTER), "replaced")
    wsp = [p for p in r.posts if p["path"] == "/v1/Workspaces/" + ws]
    t.eq(len(wsp), 1, "one workspace update")
    t.eq(sorted(k for k, _ in t.form_of(wsp[0])),
         ["EventCallbackUrl", "EventsFilter"], "its fields")


@t.test
def named_workspace_without_flex():
    """--outbound-demo --workspace NAME with no Flex settings: the
    workspace is created with its event callback, then the example's queue,
    workflow and worker in it (Available: the activity the new workspace
    came with); a dry run before sends no POST, a second run neither."""
    name = "Call Router " + t.unique_hex(8)
    drop = ("TWILIO_FLEX_WORKSPACE_SID",)
    mark = EMU.mark()
    r = run("-", "--outbound-demo", "--workspace", name, "--dry-run",
            drop=drop)
    expect_rc(r, 0)
    t.ok("create Workspace '%s' <new>" % name in r.err, r.err)
    t.ok("# FLEXHOOKS_EVENT_WORKSPACES=<new>" in r.out, r.out)
    t.eq([x for x in EMU.requests(mark) if x["method"] == "POST" and
          (t.mentions(x, name) or x["path"] == "/v1/Workspaces")], [],
         "dry run POSTs")

    r = run("-", "--outbound-demo", "--workspace", name, drop=drop)
    expect_rc(r, 0)
    made = [w for w, box in EMU.state()["workspaces"].items()
            if box["workspace"]["friendly_name"] == name]
    t.eq(len(made), 1, "one workspace named %r" % name)
    ws = made[0]
    st = space(ws)
    t.eq(st["workspace"]["event_callback_url"], event_url(), "callback")
    t.eq(st["workspace"]["events_filter"], FILTER, "EventsFilter")
    queue = by_name(st["task_queues"], "Pacific Health")
    t.eq(queue["target_workers"], 'practice=="Pacific Health"', "queue")
    wf = by_name(st["workflows"], "Call Router Workflow")
    worker = by_name(st["workers"], "Pacific Health Main")
    avail = by_name(st["activities"], "Available")
    t.eq(worker["activity_sid"], avail["sid"], "worker available")
    t.eq(len([a for a in st["activities"]
              if a["friendly_name"] == "Available"]), 1, "one Available")
    t.ok(r.out.startswith("FLEXHOOKS_EVENT_WORKSPACES=%s\n" % ws), r.out)
    t.ok("FLEXHOOKS_INBOUND_WORKFLOW_SID=%s\n" % wf["sid"] in r.out, r.out)
    t.ok("TWILIO_FLEX_WORKSPACE_SID" not in r.out, r.out)
    posts = [x for x in EMU.requests(mark) if x["method"] == "POST" and
             (x["path"] == "/v1/Workspaces" or ws in x["path"])]
    t.eq(sorted(x["path"].replace(ws, "WS") for x in posts), sorted([
        "/v1/Workspaces", "/v1/Workspaces/WS/TaskQueues",
        "/v1/Workspaces/WS/Workflows", "/v1/Workspaces/WS/Workers"]),
        "the creates")

    r = run(ws, "--outbound-demo", "--workspace", name, drop=drop)
    expect_rc(r, 0)
    t.eq(r.posts, [], "second run POSTs")
    t.ok(all(ln.startswith("ok ") for ln in r.lines()), r.err)


@t.test
def outbound_demo_warns_about_other_queues():
    ws = fresh_workspace()
    everyone = by_name(space(ws)["task_queues"], "Everyone")["sid"]
    r = run(ws, "--outbound-demo", "--only", "outbound")
    expect_rc(r, 0)
    warn = [ln for ln in r.lines() if ln.startswith("warning: ")]
    t.eq(len(warn), 1, "one warning:\n" + r.err)
    t.ok("'Everyone' %s" % everyone in warn[0], warn[0])
    evals = [q for q in r.reqs if "EvaluateWorkerAttributes" in
             (q.get("query") or "")]
    t.eq(len(evals), 1, "one EvaluateWorkerAttributes list")
    t.eq(dict(t.form_decode(evals[0]["query"]))["EvaluateWorkerAttributes"],
         '{"practice":"Pacific Health"}', "the worker's attributes")
    t.eq(r.out.splitlines()[0], "TWILIO_FLEX_WORKSPACE_SID=" + ws, "ws")
    t.ok(r.out.splitlines()[1].startswith(
        "# outbound demo workflow (enqueue dialer callers here): WW"), r.out)


@t.test
def callback_workflow_found_across_pages():
    ws = fresh_workspace()
    EMU.seed({"workspace_sid": ws, "workflows": [
        {"friendly_name": "filler %d" % i, "configuration": {}}
        for i in range(55)]})
    mine = EMU.seed({"workspace_sid": ws, "workflows": [
        {"friendly_name": "Our callBack flow", "configuration": {}}]})[
        "workflows"][0]
    r = run(ws, "--only", "callback")
    expect_rc(r, 0)
    t.eq(r.out.splitlines(), ["TWILIO_FLEX_WORKSPACE_SID=" + ws,
                              "TWILIO_FLEX_CALLBACK_WORKFLOW_SID=" + mine],
         "adopted")
    pages = [dict(t.form_decode(q["query"] or "")).get("Page") for q in
             r.reqs if q["path"].endswith("/Workflows")]
    t.eq(pages, [None, "1"], "followed meta.next_page_url")
    t.eq(r.posts, [], "adopted as it is")
    EMU.seed({"workspace_sid": ws, "workflows": [
        {"friendly_name": "Second Callback", "configuration": {}}]})
    r = run(ws, "--only", "callback")
    expect_rc(r, 3)
    t.ok(mine in r.err, r.err)


@t.test
def usage_and_configuration_errors():
    ws = fresh_workspace()
    expect_rc(run(ws, "--only", "nothing"), 2)
    expect_rc(run(ws, "--redirect-queues", "WQ1,WQ2"), 2)
    r = run(ws, drop=("FLEXHOOKS_BASIC_AUTH",))
    expect_rc(r, 2)
    t.ok("FLEXHOOKS_BASIC_AUTH" in r.err, r.err)
    t.eq(r.reqs, [], "no request")
    expect_rc(run("WS" + t.unique_hex(32)), 2)
    r = run(ws, "--callback-queue", "WQ" + t.unique_hex(32), "--only",
            "callback")
    expect_rc(r, 2)
    r = run(ws, "--redirect-queues", ",".join(
        ["WQ" + t.unique_hex(32)] * 3), "--only", "redirect")
    expect_rc(r, 2)
    t.eq(r.posts, [], "nothing created")
    help_run = subprocess.run([binary(), "--help"], stdout=subprocess.PIPE,
                              timeout=30)
    t.eq(help_run.returncode, 0, "--help")
    t.ok(b"--replace-event-callback" in help_run.stdout, "usage text")


@t.test
def twilio_errors_exit_1_and_retries():
    ws = fresh_workspace()
    base = "/v1/Workspaces/%s/TaskQueues" % ws
    # a 503 on a look-up is retried; a 400 on a create is not
    EMU.fault(method="GET", path=base, status=503, times=1)
    EMU.fault(method="POST", path=base, exact=True, status=400, code=20001,
              times=1)
    r = run(ws, "--only", "redirect")
    expect_rc(r, 1)
    t.ok("cannot create TaskQueue" in r.err, r.err)
    gets = [q for q in r.reqs if q["method"] == "GET" and q["path"] == base]
    t.ok(len(gets) >= 2, "the look-up was retried")
    t.eq(len(r.posts), 1, "a failed create is not repeated")
    EMU.remove_faults(lambda f: f.get("path") == base)
    r = run(ws, "--only", "redirect")
    expect_rc(r, 0)
    t.eq(len(r.posts), 5, "a re-run finishes the job")



@t.test
def check_reads_only_and_names_each_problem():
    """--check: GETs only; 0 on the workspace flexhooks-provision left,
    configured with the lines it printed; 1 with one line per problem
    when the callback workflow is the redirect one, a rule's queue is
    missing, and the event callback went elsewhere."""
    ws = fresh_workspace()
    r = run(ws)
    expect_rc(r, 0)
    lines = dict(ln.split("=", 1) for ln in r.out.splitlines()
                 if ln and not ln.startswith("#"))
    conf = {"FORWARD_CALL_TASK_QUEUE_SID":
            lines["FORWARD_CALL_TASK_QUEUE_SID"],
            "FORWARD_TO_NUMBER": "+6591234567",
            "FLEXHOOKS_INBOUND_WORKFLOW_SID":
            lines["FLEXHOOKS_INBOUND_WORKFLOW_SID"],
            "TWILIO_FLEX_CALLBACK_WORKFLOW_SID":
            lines["TWILIO_FLEX_CALLBACK_WORKFLOW_SID"]}
    c = run(ws, "--check", config=conf)
    expect_rc(c, 0)
    t.eq(c.out, "", "no problem line")
    t.eq(c.posts, [], "no POST")
    t.ok("0 problems found" in c.err, "summary: " + c.err)

    # the mistakes of issue 16: callbacks sent to the redirect workflow
    bad = dict(conf)
    bad["TWILIO_FLEX_CALLBACK_WORKFLOW_SID"] = \
        lines["FLEXHOOKS_INBOUND_WORKFLOW_SID"]
    bad["FLEXHOOKS_FORWARD_RULES"] = "WQ%s=+15551230000" % ("0" * 32)
    EMU.seed({"workspace_sid": ws, "workspace": {
        "event_callback_url": "https://elsewhere.example.com/events",
        "events_filter": "task-queue.entered"}})
    c = run(ws, "--check", config=bad)
    expect_rc(c, 1)
    t.eq(c.posts, [], "no POST")
    probs = c.out.splitlines()
    t.ok(all(ln.startswith("problem: ") for ln in probs), c.out)
    want = [
        "callback workflow %s (TWILIO_FLEX_CALLBACK_WORKFLOW_SID) routes "
        "to redirect placeholder queue %s" % (
            lines["FLEXHOOKS_INBOUND_WORKFLOW_SID"],
            lines["FORWARD_CALL_TASK_QUEUE_SID"]),
        "redirect placeholder queue WQ%s" % ("0" * 32),
        "sends its events to 'https://elsewhere.example.com/events'",
        "events filter lacks reservation.created,reservation.wrapup"]
    for w in want:
        t.ok(any(w in ln for ln in probs), "no %r in:\n%s" % (w, c.out))
    t.eq(len(probs), len(want), "one line per problem:\n" + c.out)


if __name__ == "__main__":
    t.require_stack()
    if not os.access(binary(), os.X_OK):
        print("FAIL build: %s is not built" % binary())
        print("0 passed, 1 failed")
        sys.exit(1)
    t.main()
