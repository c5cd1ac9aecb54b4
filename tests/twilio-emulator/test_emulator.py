#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Self-test of the Twilio emulator (standard library only).

Starts emulator.py as a subprocess on a free port and exercises it over real
HTTP.  Exits 0 when every test passes; the last line is "N passed, M failed".
"""

import base64
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from urllib.parse import quote, urlencode

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import fhtest  # noqa: E402  (free_port)

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "emulator.py")
AC = "AC" + "0123456789abcdef" * 2
WS = "WS" + "fedcba9876543210" * 2
WW = "WW" + "11112222333344445555666677778888"
WW2 = "WW" + "99990000aaaabbbbccccddddeeeeffff"
TOKEN = "secret-auth-token"
SK, SK_SECRET = "SK" + "ab" * 16, "key-secret"
SID = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class Emu:
    """A running emulator process plus a small HTTP client for it."""

    def __init__(self, *extra):
        self.port = fhtest.free_port()
        self.pid_file = tempfile.mktemp(prefix="emu-pid-")
        self.proc = subprocess.Popen(
            [sys.executable, EMULATOR, "--host", "127.0.0.1", "--port", str(self.port),
             "--account-sid", AC, "--auth-token", TOKEN, "--workspace-sid", WS,
             "--pid-file", self.pid_file] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "emulator listening on http://127.0.0.1:%d" % self.port:
            self.proc.kill()
            raise RuntimeError("emulator did not start: %r" % line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(10)
        return self.proc.returncode

    def request(self, method, path, form=None, body=None, headers=None, auth=(AC, TOKEN),
                conn=None, timeout=10):
        """-> (status, headers dict (lower-case names), parsed JSON or raw bytes)."""
        hdrs = dict(headers or {})
        if auth:
            hdrs["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode()
        if form is not None:
            body = urlencode(form)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            rh = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            if own:
                conn.close()
        if rh.get("content-type", "").startswith("application/json") and raw:
            try:
                return resp.status, rh, json.loads(raw)
            except ValueError:
                pass
        return resp.status, rh, raw

    def control(self, method, name, data=None):
        status, _, body = self.request(method, "/__emulator/" + name, body=data, auth=None)
        return status, body


EMU = None      # the shared emulator of most tests (deletion delay 1 s)


def tasks_path(suffix=""):
    return "/v1/Workspaces/%s/Tasks%s" % (WS, suffix)


def create_task(attrs=None, workflow=WW, **extra):
    form = [("WorkflowSid", workflow), ("Attributes", json.dumps(attrs or {}))]
    form += list(extra.items())
    status, headers, body = EMU.request("POST", tasks_path(), form=form)
    assert status == 201, (status, body)
    return body["sid"], headers["etag"], body


class Base(unittest.TestCase):
    def setUp(self):
        status, _ = EMU.control("POST", "reset")
        self.assertEqual(status, 200)

    def assertTwilioError(self, status, body, want_status, want_code):
        self.assertEqual(status, want_status, body)
        self.assertEqual(body["code"], want_code, body)
        self.assertEqual(body["status"], want_status)
        self.assertEqual(body["more_info"], "https://www.twilio.com/docs/errors/%d" % want_code)
        self.assertTrue(body["message"])


class TestAuth(Base):
    def test_missing_and_wrong_credentials(self):
        for auth in (None, (AC, "wrong"), ("AC" + "0" * 32, TOKEN)):
            status, _, body = EMU.request("GET", tasks_path(), auth=auth)
            self.assertEqual(body, {"code": 20003, "message": "Authenticate",
                                    "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})
            self.assertEqual(status, 401)
        status, _, body = EMU.request("GET", tasks_path())
        self.assertEqual(status, 200)

    def test_api_key(self):
        status, _, _ = EMU.request("GET", tasks_path(), auth=(SK, SK_SECRET))
        self.assertEqual(status, 200)
        status, _, _ = EMU.request("GET", tasks_path(), auth=(SK, TOKEN))
        self.assertEqual(status, 401)

    def test_other_account_or_workspace_is_404(self):
        status, _, body = EMU.request("GET", "/2010-04-01/Accounts/%s/Queues/QU%s.json" % ("AC" + "1" * 32, "2" * 32))
        self.assertTwilioError(status, body, 404, 20404)
        status, _, body = EMU.request("GET", "/v1/Workspaces/WS%s/Tasks" % ("3" * 32))
        self.assertTwilioError(status, body, 404, 20404)
        status, _, body = EMU.request("GET", "/v1/Nothing")
        self.assertTwilioError(status, body, 404, 20404)


class TestTasks(Base):
    def test_create_validation(self):
        status, _, body = EMU.request("POST", tasks_path(), form=[("Attributes", "{}")])
        self.assertTwilioError(status, body, 400, 20001)
        for bad in ("not json", "[1,2]", '"str"'):
            status, _, body = EMU.request("POST", tasks_path(), form=[("WorkflowSid", WW), ("Attributes", bad)])
            self.assertTwilioError(status, body, 400, 20001)
        status, _, body = EMU.request("POST", tasks_path(), form=[("WorkflowSid", WW), ("Timeout", "x")])
        self.assertTwilioError(status, body, 400, 20001)
        state = EMU.control("GET", "state")[1]
        self.assertEqual(state["tasks"], [])

    def test_create_fetch(self):
        sid, etag, body = create_task({"taskType": "callback"}, Timeout="600", Priority="7", TaskChannel="voice",
                                      VirtualStartTime=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60)))
        self.assertRegex(sid, SID)
        self.assertTrue(sid.startswith("WT"))
        self.assertEqual(body["assignment_status"], "pending")
        self.assertEqual(json.loads(body["attributes"]), {"taskType": "callback"})
        self.assertEqual((body["timeout"], body["priority"], body["task_channel_unique_name"]), (600, 7, "voice"))
        self.assertEqual((body["workflow_sid"], body["workspace_sid"], body["account_sid"]), (WW, WS, AC))
        self.assertRegex(body["date_created"], DATE)
        self.assertGreaterEqual(body["age"], 59)
        for key in ("task_queue_sid", "reason", "date_updated", "url"):
            self.assertIn(key, body)
        status, headers, fetched = EMU.request("GET", tasks_path("/" + sid))
        self.assertEqual(status, 200)
        self.assertEqual(headers["etag"], etag)
        self.assertEqual(fetched["sid"], sid)
        status, _, body = EMU.request("GET", tasks_path("/WT" + "0" * 32))
        self.assertTwilioError(status, body, 404, 20404)

    def test_list_filters(self):
        a, _, _ = create_task({"call_sid": "CA1", "callBackData": {"recordingSid": "RE1"}})
        b, _, _ = create_task({"call_sid": "CA2", "callBackData": {"recordingSid": "RE2"}})
        c, _, _ = create_task({"call_sid": "CA3"}, workflow=WW2)
        d, _, _ = create_task({"call_sid": "CA4"})
        EMU.control("POST", "seed", {"task_status": {b: "reserved", d: "assigned"}})

        def listing(query):
            status, _, body = EMU.request("GET", tasks_path("?" + query))
            self.assertEqual(status, 200, body)
            self.assertEqual(body["meta"]["key"], "tasks")
            return [t["sid"] for t in body["tasks"]], body

        self.assertEqual(listing("")[0], [a, b, c, d])
        self.assertEqual(listing("Ordering=DateCreated:desc")[0], [d, c, b, a])
        self.assertEqual(listing("Ordering=DateCreated:asc")[0], [a, b, c, d])
        self.assertEqual(listing("AssignmentStatus=pending&AssignmentStatus=reserved&Ordering=DateCreated:desc")[0],
                         [c, b, a])
        self.assertEqual(listing("AssignmentStatus=pending&WorkflowSid=" + WW)[0], [a])
        expr = quote('callBackData.recordingSid == "RE2"')
        self.assertEqual(listing("EvaluateTaskAttributes=" + expr)[0], [b])
        self.assertEqual(listing("EvaluateTaskAttributes=" + quote('call_sid == "CA4"'))[0], [d])
        self.assertEqual(listing("EvaluateTaskAttributes=" + quote('nope.deeper == "x"'))[0], [])
        # OR (flexhooks' voicemail lookup over both attribute shapes); AND binds tighter
        expr = quote('callBackData.recordingSid == "RE2" OR call_sid == "CA4"')
        self.assertEqual(listing("EvaluateTaskAttributes=" + expr)[0], [b, d])
        expr = quote('call_sid == "CA3" and call_sid == "CA4" || call_sid == "CA1"')
        self.assertEqual(listing("EvaluateTaskAttributes=" + expr)[0], [a])
        status, _, body = EMU.request("GET", tasks_path("?EvaluateTaskAttributes=" + quote('a == 1 OR')))
        self.assertTwilioError(status, body, 400, 20001)
        sids, body = listing("PageSize=2&Ordering=DateCreated:desc")
        self.assertEqual(sids, [d, c])
        meta = body["meta"]
        self.assertEqual((meta["page"], meta["page_size"], meta["previous_page_url"]), (0, 2, None))
        self.assertIsNotNone(meta["next_page_url"])
        nxt = meta["next_page_url"].split(str(EMU.port), 1)[1]
        self.assertEqual(listing(nxt.split("?", 1)[1])[0], [b, a])
        status, _, body = EMU.request("GET", tasks_path("?PageSize=0"))
        self.assertTwilioError(status, body, 400, 20001)
        status, _, body = EMU.request("GET", tasks_path("?EvaluateTaskAttributes=" + quote("garbage(")))
        self.assertTwilioError(status, body, 400, 20001)

    def test_workflow_list_after_delete_and_purge(self):
        # WorkflowSid lists read an index: deleted and purged tasks leave it
        a, _, _ = create_task({"n": 1})
        b, _, _ = create_task({"n": 2})
        c, _, _ = create_task({"n": 3}, workflow=WW2)

        def listing(wf):
            status, _, body = EMU.request("GET", tasks_path("?Ordering=DateCreated:asc&WorkflowSid=" + wf))
            self.assertEqual(status, 200, body)
            return [t["sid"] for t in body["tasks"]]

        self.assertEqual(listing(WW), [a, b])
        self.assertEqual(EMU.request("DELETE", tasks_path("/" + a))[0], 204)
        self.assertEqual(listing(WW), [b])
        code, _, body = EMU.request("POST", tasks_path("/" + b), form=[("AssignmentStatus", "canceled")])
        self.assertEqual(code, 200, body)
        self.assertEqual(listing(WW), [b])      # canceled, not yet deleted
        time.sleep(1.2)                         # the shared emulator's deletion delay is 1 s
        self.assertEqual(listing(WW), [])
        self.assertEqual(listing(WW2), [c])
        self.assertEqual(listing("WW" + "0" * 32), [])

    def test_update_if_match(self):
        sid, etag, _ = create_task({"n": 1})
        status, headers, body = EMU.request("POST", tasks_path("/" + sid), form=[("Attributes", '{"n":2}')],
                                            headers={"If-Match": etag})
        self.assertEqual(status, 200, body)
        self.assertNotEqual(headers["etag"], etag)
        self.assertEqual(json.loads(body["attributes"]), {"n": 2})
        status, _, body = EMU.request("POST", tasks_path("/" + sid), form=[("Attributes", '{"n":3}')],
                                      headers={"If-Match": etag})
        self.assertEqual(status, 412)
        _, _, body = EMU.request("GET", tasks_path("/" + sid))
        self.assertEqual(json.loads(body["attributes"]), {"n": 2})
        status, _, body = EMU.request("POST", tasks_path("/" + sid), form=[("Attributes", "oops")])
        self.assertTwilioError(status, body, 400, 20001)

    def test_state_rules_20001(self):
        pending, _, _ = create_task()
        assigned, _, _ = create_task()
        wrapping, _, _ = create_task()
        EMU.control("POST", "seed", {"task_status": {assigned: "assigned", wrapping: "wrapping"}})
        for sid, status in ((assigned, "canceled"), (wrapping, "canceled"), (pending, "completed")):
            code, _, body = EMU.request("POST", tasks_path("/" + sid),
                                        form=[("AssignmentStatus", status), ("Reason", "r")])
            self.assertTwilioError(code, body, 400, 20001)
        code, _, body = EMU.request("POST", tasks_path("/" + pending),
                                    form=[("AssignmentStatus", "canceled"), ("Reason", "gone")])
        self.assertEqual((code, body["assignment_status"], body["reason"]), (200, "canceled", "gone"))
        code, _, body = EMU.request("POST", tasks_path("/" + pending),
                                    form=[("AssignmentStatus", "canceled"), ("Reason", "again")])
        self.assertTwilioError(code, body, 400, 20001)
        code, _, body = EMU.request("POST", tasks_path("/" + assigned),
                                    form=[("AssignmentStatus", "completed"), ("Reason", "done")])
        self.assertEqual((code, body["assignment_status"]), (200, "completed"))
        # Deletion delay is 1 s in this emulator.
        time.sleep(1.3)
        for sid in (pending, assigned):
            code, _, body = EMU.request("GET", tasks_path("/" + sid))
            self.assertTwilioError(code, body, 404, 20404)
        self.assertEqual(EMU.request("GET", tasks_path("/" + wrapping))[0], 200)

    def test_reservation_reject(self):
        sid, _, _ = create_task()
        rsid = "WR" + "4" * 32
        EMU.control("POST", "seed", {"task_status": {sid: "reserved"}})
        path = tasks_path("/%s/Reservations/%s" % (sid, rsid))
        code, _, body = EMU.request("POST", path, form=[("ReservationStatus", "rejected")])
        self.assertEqual((code, body["reservation_status"]), (200, "rejected"))
        self.assertEqual(EMU.request("GET", tasks_path("/" + sid))[2]["assignment_status"], "pending")
        code, _, body = EMU.request("POST", path, form=[("ReservationStatus", "rejected")])
        self.assertTwilioError(code, body, 400, 20001)
        code, _, body = EMU.request("POST", tasks_path("/WT%s/Reservations/%s" % ("5" * 32, rsid)),
                                    form=[("ReservationStatus", "rejected")])
        self.assertTwilioError(code, body, 404, 20404)


class TestApi(Base):
    def api(self, suffix):
        return "/2010-04-01/Accounts/%s/%s" % (AC, suffix)

    def test_queue_calls_recordings_tokens(self):
        qu, ca_live, ca_done = "QU" + "6" * 32, "CA" + "7" * 32, "CA" + "8" * 32
        re1, re2, tr = "RE" + "9" * 32, "RE" + "a" * 32, "TR" + "b" * 32
        status, out = EMU.control("POST", "seed", {
            "queues": {qu: WW}, "calls": {ca_live: "in-progress", ca_done: "completed"},
            "recordings": {re1: {"base64": base64.b64encode(b"ID3abc").decode()}, re2: {"size": 1000}},
            "transcriptions": [tr],
            "tokens": {"good": {"status": 200, "body": {"valid": True, "worker_sid": "WK1"}},
                       "down": {"status": 401, "body": {"code": 20003, "message": "Authenticate"}}}})
        self.assertEqual(status, 200, out)
        code, _, body = EMU.request("GET", self.api("Queues/%s.json" % qu))
        self.assertEqual((code, body["friendly_name"]), (200, WW))
        # calls
        code, _, body = EMU.request("POST", self.api("Calls.json"), form=[("To", "+15005550006")])
        self.assertEqual(code, 400)
        code, _, body = EMU.request("POST", self.api("Calls.json"),
                                    form=[("To", "+15005550006"), ("From", "+15005550001")])
        self.assertEqual((code, body["code"]), (400, 21205))
        code, _, body = EMU.request("POST", self.api("Calls.json"), form=[
            ("To", "+15005550006"), ("From", "+15005550001"), ("Url", "https://x.example/dial-queue?a=%2B1"),
            ("StatusCallbackEvent", "answered"), ("StatusCallbackEvent", "completed")])
        self.assertEqual((code, body["status"]), (201, "queued"))
        self.assertRegex(body["sid"], SID)
        code, _, body = EMU.request("POST", self.api("Calls/%s.json" % ca_live), form=[("Twiml", "<Response/>")])
        self.assertEqual(code, 200)
        code, _, body = EMU.request("POST", self.api("Calls/%s.json" % ca_done), form=[("Twiml", "<Response/>")])
        self.assertTwilioError(code, body, 400, 21220)
        code, _, body = EMU.request("POST", self.api("Calls/CA%s.json" % ("c" * 32)), form=[("Status", "completed")])
        self.assertTwilioError(code, body, 404, 20404)
        # recordings
        code, headers, body = EMU.request("GET", self.api("Recordings/%s.mp3" % re1))
        self.assertEqual((code, headers["content-type"], body), (200, "audio/mpeg", b"ID3abc"))
        code, _, body = EMU.request("GET", self.api("Recordings/%s.mp3" % re2))
        self.assertEqual(body, bytes(i % 256 for i in range(1000)))
        self.assertEqual(EMU.request("DELETE", self.api("Recordings/%s.json" % re1))[0], 204)
        code, _, body = EMU.request("DELETE", self.api("Recordings/%s.json" % re1))
        self.assertTwilioError(code, body, 404, 20404)
        code, _, body = EMU.request("GET", self.api("Recordings/%s.mp3" % re1))
        self.assertTwilioError(code, body, 404, 20404)
        self.assertEqual(EMU.request("DELETE", self.api("Transcriptions/%s.json" % tr))[0], 204)
        self.assertEqual(EMU.request("DELETE", self.api("Transcriptions/%s.json" % tr))[0], 404)
        # IAM
        path = "/v1/Accounts/%s/Tokens/validate" % AC
        code, _, body = EMU.request("POST", path, body={"token": "good"})
        self.assertEqual((code, body["valid"]), (200, True))
        code, _, body = EMU.request("POST", path, body={"token": "down"})
        self.assertEqual((code, body["code"]), (401, 20003))
        code, _, body = EMU.request("POST", path, body={"token": "unknown"})
        self.assertEqual((code, body["valid"]), (200, False))
        self.assertEqual(EMU.request("POST", path, body={"token": "good"}, auth=(AC, "x"))[0], 401)
        _, state = EMU.control("GET", "state")
        self.assertEqual(state["recordings_deleted"], [re1])
        self.assertEqual(state["calls"][ca_live]["updates"], [[["Twiml", "<Response/>"]]])

    def test_generated_recordings(self):
        """Generated media: the fixture bytes made while sent, with a
        Content-Length, chunked without one, or cut after N bytes."""
        size = 1024 * 1024 + 3
        want = bytes(i % 256 for i in range(size))
        full, chunked, cut = ("RE" + c * 32 for c in "cde")
        status, out = EMU.control("POST", "seed", {"recordings": {
            full: {"size": size, "generated": True},
            chunked: {"size": size, "generated": True, "chunked": True},
            cut: {"size": size, "generated": True, "cut_at": 1000}}})
        self.assertEqual(status, 200, out)
        code, headers, body = EMU.request("GET", self.api("Recordings/%s.mp3" % full))
        self.assertEqual((code, headers["content-length"], body == want), (200, str(size), True))
        code, headers, body = EMU.request("GET", self.api("Recordings/%s.mp3" % chunked))
        self.assertEqual((code, headers.get("content-length"), headers["transfer-encoding"]),
                         (200, None, "chunked"))
        self.assertTrue(body == want)
        with self.assertRaises(http.client.IncompleteRead) as e:
            EMU.request("GET", self.api("Recordings/%s.mp3" % cut))
        self.assertEqual(e.exception.partial, want[:1000])
        _, state = EMU.control("GET", "state")
        self.assertEqual(state["recordings"][full]["size"], size)

    def test_provisioning_resources(self):
        code, _, body = EMU.request("GET", "/v1/Workspaces?FriendlyName=" + quote("Flex Task Assignment"))
        self.assertEqual([w["sid"] for w in body["workspaces"]], [WS])
        code, _, body = EMU.request("POST", "/v1/Workspaces/" + WS, form=[
            ("EventCallbackUrl", "https://u:p@hooks.example/tr-event-callback"),
            ("EventsFilter", "task-queue.entered,reservation.created")])
        self.assertEqual((code, body["events_filter"]), (200, "task-queue.entered,reservation.created"))
        self.assertEqual(EMU.request("GET", "/v1/Workspaces/" + WS)[2]["event_callback_url"],
                         "https://u:p@hooks.example/tr-event-callback")
        code, _, body = EMU.request("GET", "/v1/Workspaces/%s/Activities?FriendlyName=Available" % WS)
        self.assertEqual([a["friendly_name"] for a in body["activities"]], ["Available"])
        available = body["activities"][0]["sid"]
        base = "/v1/Workspaces/%s/" % WS
        code, _, q = EMU.request("POST", base + "TaskQueues", form=[("FriendlyName", "No agents"),
                                                                   ("TargetWorkers", "1==2")])
        self.assertEqual((code, q["target_workers"]), (201, "1==2"))
        self.assertEqual(EMU.request("POST", base + "TaskQueues", form=[("FriendlyName", "No agents")])[0], 400)
        code, _, body = EMU.request("POST", base + "TaskQueues/" + q["sid"], form=[("TargetWorkers", "1==1")])
        self.assertEqual((code, body["target_workers"]), (200, "1==1"))
        code, _, body = EMU.request("POST", base + "Workflows", form=[("FriendlyName", "cb"),
                                                                     ("Configuration", "nope")])
        self.assertEqual(code, 400)
        config = json.dumps({"task_routing": {"filters": [], "default_filter": {"queue": q["sid"]}}})
        code, _, wf = EMU.request("POST", base + "Workflows", form=[("FriendlyName", "cb"), ("Configuration", config)])
        self.assertEqual((code, wf["task_reservation_timeout"]), (201, 120))
        _, _, task = create_task(workflow=wf["sid"])
        self.assertEqual(task["task_queue_sid"], q["sid"])
        code, _, wk = EMU.request("POST", base + "Workers", form=[("FriendlyName", "w1"), ("ActivitySid", available)])
        self.assertEqual((code, wk["activity_name"], wk["available"]), (201, "Available", True))
        for i in range(5):
            EMU.request("POST", base + "Workers", form=[("FriendlyName", "x%d" % i)])
        code, _, page = EMU.request("GET", base + "Workers?PageSize=4")
        self.assertEqual(len(page["workers"]), 4)
        nxt = page["meta"]["next_page_url"].split(str(EMU.port), 1)[1]
        code, _, page2 = EMU.request("GET", nxt)
        self.assertEqual((len(page2["workers"]), page2["meta"]["next_page_url"]), (2, None))
        code, _, ws2 = EMU.request("POST", "/v1/Workspaces", form=[("FriendlyName", "Other")])
        self.assertEqual(code, 201)
        self.assertEqual(len(EMU.request("GET", "/v1/Workspaces/%s/Activities" % ws2["sid"])[2]["activities"]), 2)

    def test_seeded_workspace_duplicates_and_evaluate_worker_attributes(self):
        status, out = EMU.control("POST", "seed", {"workspaces": [{"friendly_name": "Fresh"}]})
        self.assertEqual(status, 200, out)
        ws = out["workspaces"][0]
        self.assertTrue(re.fullmatch(r"WS[0-9a-f]{32}", ws))
        status, out = EMU.control("POST", "seed", {"workspace_sid": ws, "task_queues": [
            {"friendly_name": "Twin", "target_workers": "1==1"},
            {"friendly_name": "Twin", "target_workers": "1==2", "duplicate_name": True},
            {"friendly_name": "Pacific", "target_workers": 'practice=="Pacific Health"'},
            {"friendly_name": "Odd", "target_workers": "skills HAS 'x'"}]})
        self.assertEqual((status, len(out["task_queues"])), (200, 4), out)
        status, _ = EMU.control("POST", "seed", {"workspace_sid": ws, "task_queues": [
            {"friendly_name": "Twin"}]})
        self.assertEqual(status, 400)
        self.assertEqual(EMU.control("POST", "seed", {"workspace_sid": "WS" + "0" * 32})[0], 400)
        base = "/v1/Workspaces/%s/TaskQueues" % ws
        _, _, body = EMU.request("GET", base + "?FriendlyName=Twin")
        self.assertEqual(len(body["task_queues"]), 2)
        q = quote(json.dumps({"practice": "Pacific Health"}))
        _, _, body = EMU.request("GET", base + "?EvaluateWorkerAttributes=" + q)
        self.assertEqual(sorted(x["friendly_name"] for x in body["task_queues"]), ["Pacific", "Twin"])
        code, _, body = EMU.request("GET", base + "?EvaluateWorkerAttributes=" + quote("[1]"))
        self.assertEqual(code, 400)
        _, state = EMU.control("GET", "state")
        self.assertEqual(len(state["workspaces"][ws]["task_queues"]), 4)
        self.assertEqual(len(state["workspaces"][WS]["task_queues"]), 0)


OAI = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "twilio-oai",
                                    "twilio_taskrouter_v1.json"))


class TestQueueStatistics(Base):
    """RealTimeStatistics and CumulativeStatistics: computed from the state,
    with seeded overlays, in the shapes of Twilio's OpenAPI."""

    def schema(self, name):
        if not os.path.isfile(OAI):
            self.skipTest("no %s" % OAI)
        with open(OAI, encoding="utf-8") as f:
            doc = json.load(f)
        return doc["components"]["schemas"]["taskrouter.v1.workspace.task_queue." + name]

    def assertShape(self, body, schema):
        props = schema["properties"]
        self.assertEqual(set(body), set(props), "keys as the OpenAPI schema")
        for k, v in body.items():
            p = props[k]
            if v is None:
                self.assertTrue(p.get("nullable"), k)
            elif p.get("type") == "integer":
                self.assertIsInstance(v, int, k)
            elif p.get("type") == "string":
                self.assertIsInstance(v, str, k)
                if p.get("pattern"):
                    self.assertRegex(v, p["pattern"], k)
                if p.get("format") == "date-time":
                    self.assertRegex(v, DATE, k)

    def test_statistics(self):
        status, out = EMU.control("POST", "seed", {
            "task_queues": [{"friendly_name": "Stats", "target_workers": "1==1"}],
            "workers": [{"friendly_name": "w1"}, {"friendly_name": "w2"}]})
        self.assertEqual(status, 200, out)
        wq = out["task_queues"][0]
        _, st = EMU.control("GET", "state")
        avail = [a["sid"] for a in st["workspaces"][WS]["activities"] if a["available"]][0]
        EMU.control("POST", "seed", {"workers": [{"friendly_name": "w3", "activity_sid": avail}]})
        status, out = EMU.control("POST", "seed", {"tasks": [
            {"task_queue_sid": wq, "priority": 5, "date_created": "2026-01-02T03:04:05Z"},
            {"task_queue_sid": wq, "priority": 0},
            {"task_queue_sid": wq, "assignment_status": "reserved"},
            {"task_queue_sid": wq, "assignment_status": "assigned"}]})
        self.assertEqual(status, 200, out)
        base = "/v1/Workspaces/%s/TaskQueues/%s/" % (WS, wq)
        status, _, rt = EMU.request("GET", base + "RealTimeStatistics")
        self.assertEqual(status, 200, rt)
        self.assertShape(rt, self.schema("task_queue_real_time_statistics"))
        self.assertEqual(rt["tasks_by_status"], {"pending": 2, "reserved": 1, "assigned": 1,
                                                 "wrapping": 0})
        self.assertEqual(rt["tasks_by_priority"], {"5": 1, "0": 2})
        self.assertEqual(rt["longest_task_waiting_sid"], out["tasks"][0])
        self.assertGreater(rt["longest_task_waiting_age"], 1000)
        self.assertEqual((rt["total_eligible_workers"], rt["total_available_workers"]), (3, 1))
        status, _, cum = EMU.request("GET", base + "CumulativeStatistics?Minutes=30")
        self.assertEqual(status, 200, cum)
        self.assertShape(cum, self.schema("task_queue_cumulative_statistics"))
        self.assertEqual(cum["reservations_accepted"], 1)
        self.assertEqual(cum["tasks_entered"], 3)     # one was created in 2026-01
        # overlays, then dropping them
        EMU.control("POST", "seed", {"queue_statistics": {wq: {
            "realtime": {"total_eligible_workers": 9},
            "cumulative": {"reservations_accepted": 42}}}})
        self.assertEqual(EMU.request("GET", base + "RealTimeStatistics")[2]["total_eligible_workers"], 9)
        self.assertEqual(EMU.request("GET", base + "CumulativeStatistics")[2]["reservations_accepted"], 42)
        EMU.control("POST", "seed", {"queue_statistics": {wq: None}})
        self.assertEqual(EMU.request("GET", base + "RealTimeStatistics")[2]["total_eligible_workers"], 3)
        # errors
        self.assertEqual(EMU.request("GET", base + "CumulativeStatistics?Minutes=x")[0], 400)
        other = "/v1/Workspaces/%s/TaskQueues/WQ%s/RealTimeStatistics" % (WS, "0" * 32)
        self.assertEqual(EMU.request("GET", other)[0], 404)
        self.assertEqual(EMU.request("GET", base + "RealTimeStatistics", auth=None)[0], 401)
        self.assertEqual(EMU.control("POST", "seed", {"queue_statistics": {
            "WQ" + "0" * 32: {}}})[0], 400)


class TestFaultsAndLog(Base):
    def test_429_then_normal_and_no_state_change(self):
        status, body = EMU.control("POST", "faults", {"method": "POST", "path": tasks_path(),
                                                      "status": 429, "retry_after": "1", "times": 2})
        self.assertEqual(status, 200, body)
        for _ in range(2):
            code, headers, body = EMU.request("POST", tasks_path(), form=[("WorkflowSid", WW)])
            self.assertTwilioError(code, body, 429, 20429)
            self.assertEqual(headers["retry-after"], "1")
        self.assertEqual(len(EMU.control("GET", "state")[1]["tasks"]), 0)
        code, _, _ = EMU.request("POST", tasks_path(), form=[("WorkflowSid", WW)])
        self.assertEqual(code, 201)
        _, log = EMU.control("GET", "requests")
        self.assertEqual(len(log["requests"]), 3)

    def test_probability_faults(self):
        fault = {"method": "GET", "path": tasks_path(), "status": 429, "retry_after": "1",
                 "times": 0, "probability": 0.3, "seed": 7}

        def play(n=200):
            return [EMU.request("GET", tasks_path())[0] for _ in range(n)]

        self.assertEqual(EMU.control("POST", "faults", fault)[0], 200)
        first = play()
        self.assertEqual(set(first), {200, 429})
        hit = first.count(429)
        self.assertTrue(30 <= hit <= 90, hit)
        _, body = EMU.control("GET", "faults")
        self.assertEqual((body["faults"][0]["hits"], body["faults"][0]["matched"]), (hit, 200))
        self.assertEqual(EMU.request("POST", tasks_path(), form=[("WorkflowSid", WW)])[0], 201)  # GET only
        # the same seed draws the same faults; a spared request goes on to the next fault
        EMU.control("POST", "reset")
        EMU.control("POST", "faults", [fault, {"path": tasks_path(), "status": 503, "times": 0}])
        self.assertEqual(play(), [429 if c == 429 else 503 for c in first])
        EMU.control("POST", "reset")
        EMU.control("POST", "faults", dict(fault, probability=0))
        self.assertEqual(set(play(20)), {200})
        EMU.control("POST", "faults", dict(fault, probability=1, times=2))
        self.assertEqual(play(4), [429, 429, 200, 200])
        for bad_fault in (dict(fault, probability=1.5), dict(fault, probability="0.5"),
                          dict(fault, probability=True), dict(fault, seed="x")):
            self.assertEqual(EMU.control("POST", "faults", bad_fault)[0], 400, bad_fault)

    def test_503_method_filter_and_clear(self):
        EMU.control("POST", "faults", [{"method": "GET", "path": "/v1/", "status": 503, "times": 5}])
        self.assertEqual(EMU.request("POST", tasks_path(), form=[("WorkflowSid", WW)])[0], 201)
        code, headers, body = EMU.request("GET", tasks_path())
        self.assertTwilioError(code, body, 503, 20503)
        self.assertNotIn("retry-after", headers)
        EMU.control("DELETE", "faults")
        self.assertEqual(EMU.request("GET", tasks_path())[0], 200)

    def test_drop(self):
        EMU.control("POST", "faults", {"path": tasks_path(), "drop": True})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine)):
            EMU.request("POST", tasks_path(), form=[("WorkflowSid", WW)])
        self.assertEqual(len(EMU.control("GET", "state")[1]["tasks"]), 0)
        self.assertEqual(EMU.request("POST", tasks_path(), form=[("WorkflowSid", WW)])[0], 201)
        self.assertEqual(len(EMU.control("GET", "requests")[1]["requests"]), 2)

    def test_delay(self):
        EMU.control("POST", "faults", {"path": tasks_path(), "delay_ms": 600})
        t0 = time.monotonic()
        self.assertEqual(EMU.request("GET", tasks_path())[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.55)
        t0 = time.monotonic()
        self.assertEqual(EMU.request("GET", tasks_path())[0], 200)
        self.assertLess(time.monotonic() - t0, 0.4)

    def test_answer_delay_reads_state_first(self):
        """answer_delay_ms: the answer is computed on arrival and sent late,
        so a write made meanwhile is not in it."""
        sid = create_task({"a": 1})[0]
        path = tasks_path("/" + sid)
        EMU.control("POST", "faults", {"path": path, "exact": True, "method": "GET",
                                       "answer_delay_ms": 700})
        out = {}
        th = threading.Thread(target=lambda: out.update(r=EMU.request("GET", path)))
        t0 = time.monotonic()
        th.start()
        time.sleep(0.3)
        self.assertEqual(EMU.request("POST", path, form=[("Attributes", '{"a": 2}')])[0], 200)
        th.join(5)
        self.assertGreaterEqual(time.monotonic() - t0, 0.65)
        self.assertEqual(json.loads(out["r"][2]["attributes"]), {"a": 1})
        self.assertEqual(json.loads(EMU.request("GET", path)[2]["attributes"]), {"a": 2})

    def test_null_list_attributes_and_malformed(self):
        create_task({"a": 1})
        EMU.control("POST", "faults", {"path": tasks_path(), "null_list_attributes": True,
                                       "query_absent": "EvaluateTaskAttributes"})
        for _ in range(2):
            self.assertIsNone(EMU.request("GET", tasks_path())[2]["tasks"][0]["attributes"])
        body = EMU.request("GET", tasks_path("?EvaluateTaskAttributes=" + quote("a == 1")))[2]
        self.assertEqual(body["tasks"][0]["attributes"], '{"a": 1}')
        EMU.control("POST", "faults", {"path": tasks_path(), "malformed_json": True})
        code, _, raw = EMU.request("GET", tasks_path())
        self.assertEqual(code, 200)
        self.assertRaises(ValueError, json.loads, raw)

    def test_request_readback(self):
        sid, etag, _ = create_task({"x": "é+&"}, TaskChannel="voice")
        EMU.request("POST", tasks_path("/" + sid), form=[("Attributes", "{}")],
                    headers={"If-Match": etag, "User-Agent": "flexhooks/test", "Accept": "application/json"})
        status, log = EMU.control("GET", "requests")
        self.assertEqual((status, log["next"]), (200, 2))
        first, second = log["requests"]
        self.assertEqual((first["seq"], first["method"], first["path"]), (0, "POST", tasks_path()))
        self.assertEqual(first["form"], [["WorkflowSid", WW], ["Attributes", '{"x": "\\u00e9+&"}'],
                                         ["TaskChannel", "voice"]])
        self.assertTrue(first["headers"]["Authorization"].startswith("Basic "))
        self.assertEqual(first["headers"]["Content-Type"], "application/x-www-form-urlencoded")
        self.assertEqual(second["headers"]["If-Match"], etag)
        self.assertEqual(second["headers"]["User-Agent"], "flexhooks/test")
        self.assertEqual(second["headers"]["Accept"], "application/json")
        self.assertIn("Attributes=%7B%7D", second["body"])
        EMU.request("GET", tasks_path("?PageSize=5&AssignmentStatus=pending&AssignmentStatus=reserved"))
        _, log = EMU.control("GET", "requests?since=2")
        self.assertEqual([r["seq"] for r in log["requests"]], [2])
        self.assertEqual(log["requests"][0]["query"], "PageSize=5&AssignmentStatus=pending&AssignmentStatus=reserved")
        self.assertEqual(log["next"], 3)

    def test_reset(self):
        create_task()
        EMU.control("POST", "faults", {"path": "/", "status": 500, "times": 10})
        self.assertEqual(EMU.control("POST", "reset")[0], 200)
        _, state = EMU.control("GET", "state")
        self.assertEqual((state["tasks"], state["faults"], state["requests"]), ([], [], 0))
        self.assertEqual(EMU.request("GET", tasks_path())[0], 200)

    def test_bad_control_input(self):
        self.assertEqual(EMU.control("POST", "faults", {"status": 429})[0], 400)
        self.assertEqual(EMU.control("POST", "seed", {"calls": {"CA123": "completed"}})[0], 400)
        self.assertEqual(EMU.control("GET", "health")[0], 200)


class TestConcurrency(Base):
    def test_50_concurrent_clients(self):
        errors, sids = [], []
        lock = threading.Lock()
        start = threading.Barrier(50)

        def worker(i):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", EMU.port, timeout=20)
                start.wait()
                code, _, body = EMU.request("POST", tasks_path(), form=[("WorkflowSid", WW),
                                                                      ("Attributes", json.dumps({"i": i}))], conn=conn)
                assert code == 201, (code, body)
                # same keep-alive connection for the follow-ups
                for _ in range(3):
                    code, _, got = EMU.request("GET", tasks_path("/" + body["sid"]), conn=conn)
                    assert code == 200 and json.loads(got["attributes"]) == {"i": i}, got
                conn.close()
                with lock:
                    sids.append(body["sid"])
            except Exception as e:         # collected and reported by the main thread
                with lock:
                    errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(len(set(sids)), 50)
        body = EMU.request("GET", tasks_path("?PageSize=1000"))[2]
        self.assertEqual(len(body["tasks"]), 50)
        self.assertEqual(EMU.control("GET", "requests")[1]["next"], 201)  # 50 x 4 + the list


class TestProcess(unittest.TestCase):
    def test_latency_and_sigterm(self):
        emu = Emu("--latency-ms", "300")
        try:
            t0 = time.monotonic()
            self.assertEqual(emu.request("GET", tasks_path())[0], 200)
            self.assertGreaterEqual(time.monotonic() - t0, 0.28)
            t0 = time.monotonic()
            self.assertEqual(emu.control("GET", "health")[0], 200)
            self.assertLess(time.monotonic() - t0, 0.25)
            self.assertTrue(os.path.exists(emu.pid_file))
        finally:
            rc = emu.stop()
        self.assertEqual(rc, 0)
        self.assertFalse(os.path.exists(emu.pid_file))

    def test_no_request_log(self):
        emu = Emu("--no-request-log")
        try:
            for _ in range(3):
                self.assertEqual(emu.request("GET", tasks_path())[0], 200)
            status, body = emu.control("GET", "requests?since=0")
            self.assertEqual((status, body), (200, {"requests": [], "next": 3, "disabled": True}))
            self.assertEqual(emu.control("GET", "state")[1]["requests"], 3)
        finally:
            self.assertEqual(emu.stop(), 0)


def main():
    global EMU
    EMU = Emu("--deletion-delay-s", "1", "--api-key", SK, "--api-secret", SK_SECRET)
    try:
        suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
        result = unittest.TextTestRunner(verbosity=2).run(suite)
    finally:
        rc = EMU.stop()
    failed = len(result.failures) + len(result.errors) + (1 if rc != 0 else 0)
    passed = result.testsRun - len(result.failures) - len(result.errors) - len(result.skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
