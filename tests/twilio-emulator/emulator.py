#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Twilio emulator for the flexhooks tests (docs/design/README.md#the-local-stack-and-the-twilio-emulator).

A real HTTP/1.1 server on loopback that serves the Twilio REST API
(/2010-04-01/...), TaskRouter (/v1/Workspaces...) and IAM
(/v1/Accounts/{AC}/Tokens/validate) paths from one base URL, keeps its state
in memory and can inject faults.  Python 3.11, standard library only.

    emulator.py --host 127.0.0.1 --port PORT --account-sid AC... \\
        --auth-token TOKEN --workspace-sid WS... [--api-key SK... \\
        --api-secret SECRET] [--pid-file PATH] [--latency-ms N] \\
        [--deletion-delay-s 300] [--no-request-log]

--no-request-log keeps no request read-back (for load tests, whose log would
grow by every request): /__emulator/requests then answers an empty list with
"next" still counting every request and "disabled": true.

When ready it prints "emulator listening on http://HOST:PORT" on stdout
(--port 0 picks a free port and prints it).  One short line per request goes
to stderr.  SIGTERM/SIGINT stop it cleanly (exit 0, pid file removed).

Control routes (no auth, never logged, never delayed):
    GET    /__emulator/health            200 {"ok":true}
    POST   /__emulator/reset             clear state, faults and request log
    POST   /__emulator/seed              preload state (see Emulator.seed)
    POST   /__emulator/faults            add faults (see Emulator.add_faults)
    GET    /__emulator/faults            list the active faults
    DELETE /__emulator/faults            clear the faults
    GET    /__emulator/requests?since=N  request read-back (seq >= N)
    GET    /__emulator/state             JSON dump of the state
The storage-host stand-in /__emulator/media/{RE} (recording redirects) needs
no auth but IS logged, so tests can check that no Authorization reached it.
"""

import argparse
import base64
import binascii
import calendar
import hashlib
import heapq
import json
import os
import random
import re
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

SID_RE = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")
E164_RE = re.compile(r"^\+[1-9][0-9]{1,14}$")
TASK_STATUSES = ("pending", "reserved", "assigned", "wrapping", "completed", "canceled")
TASK_FINAL = ("completed", "canceled")
CALL_STATUSES = ("queued", "initiated", "ringing", "in-progress", "completed",
                 "busy", "failed", "no-answer", "canceled")
CALL_FINAL = ("completed", "busy", "failed", "no-answer", "canceled")
RES_STATUSES = ("pending", "accepted", "rejected", "timeout", "canceled",
                "rescinded", "wrapping", "completed")
MAX_BODY = 16 * 1024 * 1024
# Twilio error code used for a fault that only names an HTTP status.
STATUS_CODES = {400: 20001, 401: 20003, 403: 20403, 404: 20404, 405: 20004,
                429: 20429, 500: 20500, 502: 20502, 503: 20503, 504: 20504}


# --------------------------------------------------------------------------
# small helpers


def new_sid(prefix):
    """A SID: two letters + 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def is_sid(value, prefix):
    return isinstance(value, str) and SID_RE.match(value) is not None and value[:2] == prefix


def iso8601(ts):
    """TaskRouter date format: 2014-05-14T18:50:02Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def rfc2822(ts):
    """API 2010 date format: Tue, 31 Aug 2010 20:36:28 +0000."""
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(ts))


def parse_iso8601(text):
    """YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00) -> Unix seconds; ValueError otherwise."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]00:?00)", text or "")
    if not m:
        raise ValueError(text)
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))


def dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def fake_media(size):
    """Deterministic fixture bytes: byte i is i % 256."""
    block = bytes(range(256))
    return (block * (size // 256 + 1))[:size]


class GeneratedMedia:
    """The bytes of fake_media(size), made while they are sent: a recording
    of hundreds of MiB is never held in memory."""

    CHUNK = 256 * 1024      # a multiple of 256: every full chunk is the same

    def __init__(self, size, cut_at=None, chunked=False):
        self.size = size
        self.cut_at = cut_at    # announce size, close after cut_at bytes
        self.chunked = chunked  # no Content-Length: chunked encoding

    def __len__(self):
        return self.size

    def chunks(self):
        full = fake_media(self.CHUNK)
        left = self.size if self.cut_at is None else min(self.size, self.cut_at)
        while left > 0:
            n = min(left, self.CHUNK)
            yield full if n == self.CHUNK else full[:n]
            left -= n


class Reply:
    """One HTTP answer: status, body bytes and extra headers."""

    def __init__(self, status, body=b"", ctype="application/json", headers=None):
        self.status = status
        self.body = body
        self.ctype = ctype
        self.headers = dict(headers or {})


def json_reply(status, obj, headers=None):
    return Reply(status, dumps(obj), headers=headers)


def error_reply(status, code, message, headers=None):
    """Twilio-shaped error body."""
    more = "https://www.twilio.com/docs/errors/%d" % code if code else None
    return json_reply(status, {"code": code, "message": message,
                               "more_info": more, "status": status}, headers)


class ApiError(Exception):
    """Raised by handlers; carries the Twilio-shaped error reply."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.reply = error_reply(status, code, message, headers)


def bad(message):
    """400 with TaskRouter's generic code 20001."""
    return ApiError(400, 20001, message)


def not_found(what):
    return ApiError(404, 20404, "The requested resource %s was not found" % what)


class Params:
    """Ordered name/value pairs (a form body or a query string)."""

    def __init__(self, pairs):
        self.pairs = list(pairs)

    def get(self, name, default=None):
        for k, v in self.pairs:
            if k == name:
                return v
        return default

    def getall(self, name):
        return [v for k, v in self.pairs if k == name]

    def has(self, name):
        return any(k == name for k, _ in self.pairs)


def int_param(params, name, default, lo, hi):
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad("Invalid %s: %r is not an integer" % (name, raw)) from None
    if not lo <= value <= hi:
        raise bad("Invalid %s: must be between %d and %d" % (name, lo, hi))
    return value


def parse_json_object(text, name):
    """Attributes / Configuration: JSON object text, else 400 20001."""
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        raise bad("%s must be a valid JSON object" % name) from None
    if not isinstance(value, dict):
        raise bad("%s must be a valid JSON object" % name)
    return value


# --------------------------------------------------------------------------
# EvaluateTaskAttributes: `key == "value"` conditions (dotted keys) joined
# with AND and OR (AND binds tighter, no parentheses); `!=`, numbers,
# true/false/null and single quotes are accepted too.

_COND_RE = re.compile(
    r"""\s*(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s*(?P<op>==|!=|=)\s*"""
    r"""(?P<val>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?\d+(?:\.\d+)?|true|false|null)\s*""",
    re.IGNORECASE)
_AND_RE = re.compile(r"(?:and|&&)\s*", re.IGNORECASE)
_OR_RE = re.compile(r"(?:or|\|\|)\s*", re.IGNORECASE)


def compile_expression(text):
    """-> list of groups (OR), each a list of (path parts, negate,
    literal) conditions (AND); ValueError when unsupported."""
    if re.fullmatch(r"\s*1\s*==\s*1\s*", text):
        return [[]]
    groups, conds, pos = [], [], 0
    while True:
        m = _COND_RE.match(text, pos)
        if not m:
            raise ValueError(text)
        raw = m.group("val")
        if raw.startswith('"'):
            lit = json.loads(raw)
        elif raw.startswith("'"):
            lit = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif raw.lower() in ("true", "false"):
            lit = raw.lower() == "true"
        elif raw.lower() == "null":
            lit = None
        else:
            lit = float(raw) if "." in raw else int(raw)
        conds.append((m.group("key").split("."), m.group("op") == "!=", lit))
        pos = m.end()
        if pos == len(text):
            groups.append(conds)
            return groups
        m = _AND_RE.match(text, pos)
        if not m:
            m = _OR_RE.match(text, pos)
            if not m:
                raise ValueError(text)
            groups.append(conds)
            conds = []
        pos = m.end()


def _same(actual, lit):
    if isinstance(actual, bool) or isinstance(lit, bool):
        return isinstance(actual, bool) and isinstance(lit, bool) and actual == lit
    if isinstance(actual, (int, float)) and isinstance(lit, (int, float)):
        return float(actual) == float(lit)
    return type(actual) is type(lit) and actual == lit


def target_matches(text, attrs):
    """TaskQueue TargetWorkers against worker attributes (the list filter
    EvaluateWorkerAttributes): constant comparisons such as `1==1` and
    `1==2`, else `key == "value"` conditions; anything else matches no
    worker."""
    m = re.fullmatch(r"\s*(-?\d+)\s*(==|!=)\s*(-?\d+)\s*", text)
    if m:
        return (int(m.group(1)) == int(m.group(3))) == (m.group(2) == "==")
    try:
        return expression_matches(compile_expression(text), attrs)
    except ValueError:
        return False


def expression_matches(groups, attrs):
    return any(_group_matches(conds, attrs) for conds in groups)


def _group_matches(conds, attrs):
    for parts, negate, lit in conds:
        cur, found = attrs, True
        for part in parts:
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            else:
                found = False
                break
        equal = found and _same(cur, lit)
        if equal == negate:
            return False
    return True


# --------------------------------------------------------------------------
# Workspace-scoped resources managed generically (provisioning).  Each field:
# (form name, JSON key, type, default, required on create).  Types: "str",
# "url", "json", "bool", "activity", ("int", lo, hi), ("enum", v1, v2...).

FIELD_SPECS = {
    "Workspaces": [
        ("FriendlyName", "friendly_name", "str", None, True),
        ("EventCallbackUrl", "event_callback_url", "url", None, False),
        ("EventsFilter", "events_filter", "str", None, False),
        ("DefaultActivitySid", "default_activity_sid", "activity", None, False),
        ("TimeoutActivitySid", "timeout_activity_sid", "activity", None, False),
        ("MultiTaskEnabled", "multi_task_enabled", "bool", True, False),
        ("PrioritizeQueueOrder", "prioritize_queue_order", ("enum", "FIFO", "LIFO"), "FIFO", False),
    ],
    "TaskQueues": [
        ("FriendlyName", "friendly_name", "str", None, True),
        ("TargetWorkers", "target_workers", "str", "1==1", False),
        ("MaxReservedWorkers", "max_reserved_workers", ("int", 1, 50), 1, False),
        ("TaskOrder", "task_order", ("enum", "FIFO", "LIFO"), "FIFO", False),
        ("ReservationActivitySid", "reservation_activity_sid", "activity", None, False),
        ("AssignmentActivitySid", "assignment_activity_sid", "activity", None, False),
    ],
    "Workflows": [
        ("FriendlyName", "friendly_name", "str", None, True),
        ("Configuration", "configuration", "json", None, True),
        ("TaskReservationTimeout", "task_reservation_timeout", ("int", 1, 86400), 120, False),
        ("AssignmentCallbackUrl", "assignment_callback_url", "url", None, False),
        ("FallbackAssignmentCallbackUrl", "fallback_assignment_callback_url", "url", None, False),
    ],
    "Workers": [
        ("FriendlyName", "friendly_name", "str", None, True),
        ("Attributes", "attributes", "json", "{}", False),
        ("ActivitySid", "activity_sid", "activity", None, False),
    ],
    "Activities": [
        ("FriendlyName", "friendly_name", "str", None, True),
        ("Available", "available", "bool", False, False),
    ],
}
KIND_PREFIX = {"Workspaces": "WS", "TaskQueues": "WQ", "Workflows": "WW",
               "Workers": "WK", "Activities": "WA"}
KIND_KEY = {"Workspaces": "workspaces", "TaskQueues": "task_queues",
            "Workflows": "workflows", "Workers": "workers", "Activities": "activities"}


class Emulator:
    """All state, behind one lock, and the request handlers."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.lock = threading.RLock()
        self.routes = [(re.compile(p), m) for p, m in self.ROUTES]
        self.reset()

    # ------------------------------------------------------------ state

    def reset(self):
        with self.lock:
            self.seq = 0                # creation order of every object
            self.workspaces = {}        # WS -> box (see _new_workspace)
            self.queues = {}            # QU -> {"friendly_name", ...}
            self.tokens = {}            # Flex token -> {"status", "body"}
            self.recordings = {}        # RE -> {"data", "deleted", ...}
            self.transcriptions = {}    # TR -> {"deleted", ...}
            self.calls = {}             # CA -> call record
            self.deletions = []         # heap of (delete_at, WS, WT)
            self.faults = []
            self.fault_id = 0
            self.fault_rngs = {}        # fault id -> random.Random (probability)
            self.log = []               # request read-back
            self.log_count = 0          # requests received (also without a log)
            self._new_workspace(self.cfg.workspace_sid, "Flex Task Assignment")

    def _next_seq(self):
        self.seq += 1
        return self.seq

    def _new_workspace(self, sid, name):
        now = time.time()
        ws = {"sid": sid, "account_sid": self.cfg.account_sid, "friendly_name": name,
              "event_callback_url": None, "events_filter": None,
              "default_activity_sid": None, "timeout_activity_sid": None,
              "multi_task_enabled": True, "prioritize_queue_order": "FIFO",
              "_created": now, "_updated": now, "_seq": self._next_seq()}
        # by_workflow indexes tasks (WW -> {WT: task}): a list filtered by
        # WorkflowSid reads only those, not every task of the run.
        box = {"ws": ws, "tasks": {}, "by_workflow": {}, "reservations": {}, "TaskQueues": {},
               "Workflows": {}, "Workers": {}, "Activities": {}}
        self.workspaces[sid] = box
        for act_name, available in (("Offline", False), ("Available", True)):
            self._create_item("Activities", box, Params([
                ("FriendlyName", act_name), ("Available", "true" if available else "false")]))
        offline = next(a for a in box["Activities"].values() if a["friendly_name"] == "Offline")
        ws["default_activity_sid"] = ws["timeout_activity_sid"] = offline["sid"]
        return box

    def _purge(self):
        """Drop canceled/completed tasks whose deletion delay has passed."""
        now = time.time()
        while self.deletions and self.deletions[0][0] <= now:
            when, ws, sid = heapq.heappop(self.deletions)
            box = self.workspaces.get(ws)
            task = box and box["tasks"].get(sid)
            if task and task["_delete_at"] is not None and task["_delete_at"] <= now:
                self._drop_task(box, task)
                for rsid in [r for r, res in box["reservations"].items() if res["task_sid"] == sid]:
                    del box["reservations"][rsid]

    def _set_task_status(self, box, task, status, reason=None):
        if status == "assigned" and task["assignment_status"] in ("pending", "reserved"):
            task["_accepted_at"] = time.time()      # for CumulativeStatistics
        task["_ended_at"] = time.time() if status in TASK_FINAL else None
        task["assignment_status"] = status
        if status in TASK_FINAL:
            task["reason"] = reason
            when = time.time() + self.cfg.deletion_delay_s
            task["_delete_at"] = when
            heapq.heappush(self.deletions, (when, box["ws"]["sid"], task["sid"]))
            # Open reservations end with the task.
            for res in box["reservations"].values():
                if res["task_sid"] == task["sid"] and res["reservation_status"] in ("pending", "accepted", "wrapping"):
                    res["reservation_status"] = "canceled" if status == "canceled" else "completed"
                    res["_updated"] = time.time()
        else:
            task["_delete_at"] = None

    @staticmethod
    def _drop_task(box, task):
        del box["tasks"][task["sid"]]
        same = box["by_workflow"].get(task["workflow_sid"])
        if same is not None:
            same.pop(task["sid"], None)
            if not same:
                del box["by_workflow"][task["workflow_sid"]]

    def _touch(self, item):
        item["_updated"] = time.time()
        if "_version" in item:
            item["_version"] += 1

    # ------------------------------------------------------------ request log and faults

    def record(self, entry):
        """Append entry (or, with --no-request-log, only count it); -> seq."""
        with self.lock:
            entry["seq"] = self.log_count
            self.log_count += 1
            if self.cfg.request_log:
                self.log.append(entry)
            return entry["seq"]

    def add_faults(self, data):
        """A fault object, a list of them, or {"faults": [...]}.

        Each fault: "path" (prefix, required), "method" (default any),
        optional "exact": true (whole path), "query" (substring the decoded
        query must contain), "query_absent" (substring it must not contain),
        "times" (default 1; null_list_attributes defaults to unlimited;
        null or 0 means unlimited) and one action:
          {"status":429,"retry_after":"1"}  Twilio error body (+ "code", "message")
          {"delay_ms":3000}                 wait, then answer normally
          {"answer_delay_ms":1500}          answer normally (state read now),
                                            but send it only after the wait:
                                            concurrent readers see one state
                                            (may be combined with status/drop)
          {"drop":true}                     close the connection, no response
          {"malformed_json":true}           answer "status" (default 200) with broken JSON
          {"null_list_attributes":true}     task lists show "attributes": null
        Optional "probability" (a number, 0 to 1): a matching request gets
        the fault only with that probability, drawn from the fault's own
        random.Random seeded with "seed" (an integer, default 0), so a run
        with the same requests in the same order draws the same faults.
        A request that is spared is not counted in "times" or "hits" (only
        in "matched", which counts every draw) and goes on to the next
        fault.  E.g. 1% 429s on everything, for good:
          {"path":"/","status":429,"retry_after":"1","times":0,"probability":0.01}
        """
        if isinstance(data, dict) and isinstance(data.get("faults"), list):
            data = data["faults"]
        items = data if isinstance(data, list) else [data]
        parsed = []
        for f in items:
            if not isinstance(f, dict) or not isinstance(f.get("path"), str) or not f["path"].startswith("/"):
                raise ValueError("each fault needs a \"path\" prefix starting with /")
            actions = [k for k in ("status", "delay_ms", "answer_delay_ms", "drop", "malformed_json",
                                   "null_list_attributes") if f.get(k)]
            if not actions:
                raise ValueError("fault has no action: %r" % (f,))
            if "null_list_attributes" in actions and len(actions) > 1:
                raise ValueError("null_list_attributes cannot be combined with other actions")
            if f.get("status") is not None and not (isinstance(f["status"], int) and 100 <= f["status"] <= 599):
                raise ValueError("bad status %r" % (f["status"],))
            prob = f.get("probability")
            if prob is not None and (isinstance(prob, bool) or not isinstance(prob, (int, float))
                                     or not 0 <= prob <= 1):
                raise ValueError("bad probability %r (a number from 0 to 1)" % (prob,))
            seed = f.get("seed", 0)
            if isinstance(seed, bool) or not isinstance(seed, int):
                raise ValueError("bad seed %r (an integer)" % (seed,))
            times = f.get("times", None if f.get("null_list_attributes") else 1)
            if times is not None and (not isinstance(times, int) or times < 0):
                raise ValueError("bad times %r" % (times,))
            fault = dict(f)
            fault["method"] = (f.get("method") or "").upper() or None
            fault["times"] = times or None      # None = unlimited
            fault["modifier"] = bool(f.get("null_list_attributes"))
            parsed.append(fault)
        with self.lock:
            for fault in parsed:
                self.fault_id += 1
                fault["id"] = self.fault_id
                fault["hits"] = 0
                if fault.get("probability") is not None:
                    fault["matched"] = 0
                    self.fault_rngs[fault["id"]] = random.Random(fault.get("seed", 0))
                self.faults.append(fault)
            return list(self.faults)

    def _fault_matches(self, f, method, path, query):
        if f["method"] and f["method"] != method:
            return False
        if not (path == f["path"] if f.get("exact") else path.startswith(f["path"])):
            return False
        if f.get("query") and f["query"] not in query:
            return False
        if f.get("query_absent") and f["query_absent"] in query:
            return False
        return True

    def take_fault(self, method, path, query, modifier=False):
        """Consume and return the first matching fault of the kind asked."""
        with self.lock:
            for f in self.faults:
                if f["modifier"] == modifier and self._fault_matches(f, method, path, query):
                    if f.get("probability") is not None:
                        f["matched"] += 1
                        if self.fault_rngs[f["id"]].random() >= f["probability"]:
                            continue
                    f["hits"] += 1
                    if f["times"] is not None:
                        f["times"] -= 1
                        if f["times"] == 0:
                            self.faults.remove(f)
                    return f
            return None

    # ------------------------------------------------------------ routing

    AC = r"/2010-04-01/Accounts/(?P<ac>[^/]+)"
    WS = r"/v1/Workspaces/(?P<ws>[^/]+)"
    KINDS = r"(?P<kind>TaskQueues|Workflows|Workers|Activities)"
    ROUTES = [
        (AC + r"/Calls\.json", {"POST": "call_create"}),
        (AC + r"/Calls/(?P<sid>[^/]+)\.json", {"GET": "call_fetch", "POST": "call_update"}),
        (AC + r"/Calls/(?P<sid>[^/]+)/Recordings\.json", {"GET": "call_recordings"}),
        (AC + r"/Queues/(?P<sid>[^/]+)\.json", {"GET": "queue_fetch"}),
        (AC + r"/Recordings/(?P<sid>[^/]+)\.(?P<ext>mp3|wav)", {"GET": "recording_media"}),
        (AC + r"/Recordings/(?P<sid>[^/]+)\.json", {"GET": "recording_fetch", "DELETE": "recording_delete"}),
        (AC + r"/Transcriptions/(?P<sid>[^/]+)\.json", {"GET": "transcription_fetch",
                                                         "DELETE": "transcription_delete"}),
        (r"/v1/Accounts/(?P<ac>[^/]+)/Tokens/validate", {"POST": "token_validate"}),
        (r"/v1/Workspaces", {"GET": "workspace_list", "POST": "workspace_create"}),
        (WS, {"GET": "workspace_fetch", "POST": "workspace_update"}),
        (WS + r"/Tasks", {"GET": "task_list", "POST": "task_create"}),
        (WS + r"/Tasks/(?P<sid>[^/]+)", {"GET": "task_fetch", "POST": "task_update",
                                         "DELETE": "task_delete"}),
        (WS + r"/Tasks/(?P<sid>[^/]+)/Reservations", {"GET": "reservation_list"}),
        (WS + r"/Tasks/(?P<sid>[^/]+)/Reservations/(?P<rsid>[^/]+)",
         {"GET": "reservation_fetch", "POST": "reservation_update"}),
        (WS + r"/TaskQueues/(?P<sid>[^/]+)/RealTimeStatistics", {"GET": "queue_realtime_stats"}),
        (WS + r"/TaskQueues/(?P<sid>[^/]+)/CumulativeStatistics", {"GET": "queue_cumulative_stats"}),
        (WS + "/" + KINDS, {"GET": "item_list", "POST": "item_create"}),
        (WS + "/" + KINDS + r"/(?P<sid>[^/]+)", {"GET": "item_fetch", "POST": "item_update"}),
        (r"/__emulator/media/(?P<sid>[^/]+)", {"GET": "media_hop"}),
    ]

    def check_auth(self, header):
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        good = [(self.cfg.account_sid, self.cfg.auth_token)]
        if self.cfg.api_key:
            good.append((self.cfg.api_key, self.cfg.api_secret))
        return any(secrets.compare_digest(user.encode(), u.encode()) and
                   secrets.compare_digest(password.encode(), p.encode()) for u, p in good)

    def dispatch(self, ctx):
        """Route one (non-control) request; returns a Reply."""
        try:
            for regex, methods in self.routes:
                m = regex.fullmatch(ctx.path)
                if not m:
                    continue
                args = m.groupdict()
                if not ctx.path.startswith("/__emulator/") and not self.check_auth(ctx.headers.get("Authorization")):
                    return error_reply(401, 20003, "Authenticate",
                                       {"WWW-Authenticate": 'Basic realm="Twilio API"'})
                name = methods.get(ctx.method)
                if name is None:
                    return error_reply(405, 20004, "Method not allowed",
                                       {"Allow": ", ".join(sorted(methods))})
                if ctx.method == "POST" and ctx.body and name != "token_validate":
                    if ctx.ctype != "application/x-www-form-urlencoded":
                        return error_reply(415, 20001, "Unsupported Media Type: use application/x-www-form-urlencoded")
                with self.lock:
                    self._purge()
                    if "ac" in args and args.pop("ac") != self.cfg.account_sid:
                        raise not_found(ctx.path)
                    if "ws" in args:
                        box = self.workspaces.get(args.pop("ws"))
                        if box is None:
                            raise not_found(ctx.path)
                        args["box"] = box
                    return getattr(self, name)(ctx, **args)
            if not self.check_auth(ctx.headers.get("Authorization")):
                return error_reply(401, 20003, "Authenticate")
            return error_reply(404, 20404, "The requested resource %s was not found" % ctx.path)
        except ApiError as e:
            return e.reply

    # ------------------------------------------------------------ lists

    def list_reply(self, ctx, key, items, render):
        """Twilio list page: PageSize (1-1000, default 50), Page, meta URLs."""
        size = int_param(ctx.query, "PageSize", 50, 1, 1000)
        page = int_param(ctx.query, "Page", 0, 0, 1 << 30)
        chunk = items[page * size:(page + 1) * size]
        keep = [(k, v) for k, v in ctx.query.pairs if k not in ("PageSize", "Page", "PageToken")]
        def url(p):
            return "%s%s?%s" % (ctx.base, ctx.path, urlencode(keep + [("PageSize", size), ("Page", p)]))
        meta = {"page": page, "page_size": size, "first_page_url": url(0),
                "previous_page_url": url(page - 1) if page > 0 else None,
                "next_page_url": url(page + 1) if len(items) > (page + 1) * size else None,
                "url": url(page), "key": key}
        return json_reply(200, {key: [render(i) for i in chunk], "meta": meta})

    # ------------------------------------------------------------ tasks

    def _task(self, box, sid):
        task = box["tasks"].get(sid)
        if task is None:
            raise not_found("/Tasks/%s" % sid)
        return task

    def render_task(self, box, t, base, null_attributes=False):
        now = time.time()
        ws = box["ws"]["sid"]
        out = {k: v for k, v in t.items() if not k.startswith("_")}
        wf = box["Workflows"].get(t["workflow_sid"])
        tq = box["TaskQueues"].get(t["task_queue_sid"] or "")
        url = "%s/v1/Workspaces/%s/Tasks/%s" % (base, ws, t["sid"])
        out.update({
            "attributes": None if null_attributes else t["attributes"],
            "workflow_friendly_name": wf["friendly_name"] if wf else None,
            "task_queue_friendly_name": tq["friendly_name"] if tq else None,
            "date_created": iso8601(t["_created"]), "date_updated": iso8601(t["_updated"]),
            "virtual_start_time": iso8601(t["_vst"]),
            "task_queue_entered_date": iso8601(t["_created"]) if t["task_queue_sid"] else None,
            "age": max(0, int(now - t["_vst"])),
            "url": url,
            "links": {"reservations": url + "/Reservations",
                      "workspace": "%s/v1/Workspaces/%s" % (base, ws),
                      "workflow": "%s/v1/Workspaces/%s/Workflows/%s" % (base, ws, t["workflow_sid"]),
                      "task_queue": ("%s/v1/Workspaces/%s/TaskQueues/%s" % (base, ws, t["task_queue_sid"])
                                     if t["task_queue_sid"] else None)},
        })
        return out

    def task_reply(self, status, box, t, base):
        return json_reply(status, self.render_task(box, t, base), {"ETag": str(t["_version"])})

    def _new_task(self, box, workflow_sid, attributes, **kw):
        """Create a task record (used by the API and by seeding)."""
        now = time.time()
        sid = kw.get("sid") or new_sid("WT")
        queue = kw.get("task_queue_sid")
        wf = box["Workflows"].get(workflow_sid)
        if queue is None and wf:        # route to the workflow's default queue
            try:
                queue = json.loads(wf["configuration"]).get("task_routing", {}).get("default_filter", {}).get("queue")
            except (ValueError, AttributeError):
                queue = None
        channel = kw.get("channel") or "default"
        task = {"sid": sid, "account_sid": self.cfg.account_sid, "workspace_sid": box["ws"]["sid"],
                "workflow_sid": workflow_sid, "task_queue_sid": queue,
                "assignment_status": "pending", "attributes": attributes,
                "priority": kw.get("priority", 0), "timeout": kw.get("timeout", 86400),
                "reason": None, "task_channel_unique_name": channel,
                "task_channel_sid": "TC" + hashlib.md5(channel.encode("utf-8")).hexdigest(),
                "addons": "{}", "routing_target": None, "ignore_capacity": None,
                "_created": kw.get("created", now), "_updated": now,
                "_vst": kw.get("vst") or kw.get("created", now),
                "_seq": self._next_seq(), "_version": 0, "_delete_at": None}
        old = box["tasks"].get(sid)
        if old is not None:             # a seed that reuses a SID replaces the task
            self._drop_task(box, old)
        box["tasks"][sid] = task
        box["by_workflow"].setdefault(workflow_sid, {})[sid] = task
        status = kw.get("status", "pending")
        if status != "pending":
            self._set_task_status(box, task, status, kw.get("reason"))
        return task

    def task_create(self, ctx, box):
        f = ctx.form
        workflow = f.get("WorkflowSid")
        if not workflow:
            raise bad("Missing required parameter WorkflowSid in the post body")
        if not is_sid(workflow, "WW"):
            raise bad("Invalid WorkflowSid %r" % workflow)
        attributes = f.get("Attributes", "{}")
        parse_json_object(attributes, "Attributes")
        timeout = int_param(f, "Timeout", 86400, 1, 1209600)
        priority = int_param(f, "Priority", 0, 0, 2 ** 31 - 1)
        vst = None
        if f.has("VirtualStartTime"):
            try:
                vst = parse_iso8601(f.get("VirtualStartTime"))
            except ValueError:
                raise bad("Invalid VirtualStartTime: use YYYY-MM-DDTHH:MM:SSZ") from None
            if vst > time.time() + 2:
                raise bad("VirtualStartTime cannot be in the future")
        task = self._new_task(box, workflow, attributes, timeout=timeout, priority=priority,
                              channel=f.get("TaskChannel"), vst=vst)
        return self.task_reply(201, box, task, ctx.base)

    def task_fetch(self, ctx, box, sid):
        return self.task_reply(200, box, self._task(box, sid), ctx.base)

    def _check_if_match(self, ctx, task):
        want = ctx.headers.get("If-Match")
        if want is None:
            return
        tags = [t.strip() for t in want.split(",")]
        current = str(task["_version"])
        for tag in tags:
            if tag.startswith("W/"):
                tag = tag[2:]
            if tag == "*" or tag.strip('"') == current:
                return
        raise ApiError(412, None, "Precondition Failed: the If-Match version does not match")

    def task_update(self, ctx, box, sid):
        task = self._task(box, sid)
        f = ctx.form
        self._check_if_match(ctx, task)
        status, attributes, reason = f.get("AssignmentStatus"), f.get("Attributes"), f.get("Reason")
        # Validate everything first, so that a refused update changes nothing.
        if attributes is not None:
            parse_json_object(attributes, "Attributes")
        if status is not None:
            current = task["assignment_status"]
            allowed_from = {"canceled": ("pending", "reserved"),
                            "completed": ("assigned", "wrapping"),
                            "wrapping": ("assigned",)}
            if status not in allowed_from:
                raise bad("Invalid AssignmentStatus %r" % status)
            if current not in allowed_from[status]:
                raise bad("Task %s cannot be moved to %s: it is %s" % (sid, status, current))
            if attributes is not None and status in ("wrapping", "completed"):
                raise bad("Attributes cannot be updated together with AssignmentStatus %s" % status)
        priority = int_param(f, "Priority", None, 0, 2 ** 31 - 1)
        timeout = int_param(f, "Timeout", None, 1, 1209600)
        changed = False
        if attributes is not None:
            task["attributes"] = attributes
            changed = True
        for key, value in (("priority", priority), ("timeout", timeout),
                           ("task_channel_unique_name", f.get("TaskChannel"))):
            if value is not None:
                task[key] = value
                changed = True
        if status is not None:
            self._set_task_status(box, task, status, reason)
            changed = True
        if changed:
            self._touch(task)
        return self.task_reply(200, box, task, ctx.base)

    def task_delete(self, ctx, box, sid):
        task = self._task(box, sid)
        self._check_if_match(ctx, task)
        self._drop_task(box, task)
        return Reply(204)

    def task_list(self, ctx, box):
        q = ctx.query
        statuses = [s for v in q.getall("AssignmentStatus") for s in v.split(",") if s]
        for s in statuses:
            if s not in TASK_STATUSES:
                raise bad("Invalid AssignmentStatus %r" % s)
        conds = None
        if q.get("EvaluateTaskAttributes"):
            try:
                conds = compile_expression(q.get("EvaluateTaskAttributes"))
            except ValueError:
                raise bad("Invalid EvaluateTaskAttributes expression") from None
        sort_keys = []
        for part in (q.get("Ordering") or "DateCreated:asc").split(","):
            field, _, direction = part.partition(":")
            if field not in ("DateCreated", "Priority") or direction not in ("asc", "desc"):
                raise bad("Invalid Ordering %r" % q.get("Ordering"))
            sort_keys.append((field, direction == "desc"))
        filters = {"workflow_sid": q.get("WorkflowSid"), "task_queue_sid": q.get("TaskQueueSid"),
                   "task_channel_unique_name": q.get("TaskChannel")}
        wf_name, tq_name = q.get("WorkflowName"), q.get("TaskQueueName")
        items = []
        if filters["workflow_sid"] is not None:
            candidates = box["by_workflow"].get(filters["workflow_sid"], {}).values()
        else:
            candidates = box["tasks"].values()
        for t in candidates:
            if statuses and t["assignment_status"] not in statuses:
                continue
            if any(v is not None and t[k] != v for k, v in filters.items()):
                continue
            if wf_name is not None and box["Workflows"].get(t["workflow_sid"], {}).get("friendly_name") != wf_name:
                continue
            if tq_name is not None and box["TaskQueues"].get(t["task_queue_sid"] or "", {}).get("friendly_name") != tq_name:
                continue
            if conds is not None and not expression_matches(conds, json.loads(t["attributes"])):
                continue
            items.append(t)
        # Stable sorts, least significant key first; creation sequence breaks ties.
        items.sort(key=lambda t: t["_seq"], reverse=sort_keys[-1][1])
        for field, desc in reversed(sort_keys):
            key = (lambda t: int(t["_created"])) if field == "DateCreated" else (lambda t: t["priority"])
            items.sort(key=key, reverse=desc)
        null_attrs = self.take_fault("GET", ctx.path, ctx.raw_query_decoded, modifier=True) is not None
        return self.list_reply(ctx, "tasks", items,
                               lambda t: self.render_task(box, t, ctx.base, null_attrs))

    # ------------------------------------------------------------ reservations

    def _reservation(self, box, task, rsid, create):
        res = box["reservations"].get(rsid)
        if res is None and create and is_sid(rsid, "WR"):
            # Reservations come from TaskRouter events in the tests; an unseen
            # one is adopted as pending (canceled when its task has ended).
            now = time.time()
            res = {"sid": rsid, "task_sid": task["sid"], "worker_sid": None, "worker_name": None,
                   "reservation_status": "canceled" if task["assignment_status"] in TASK_FINAL else "pending",
                   "_created": now, "_updated": now, "_seq": self._next_seq()}
            box["reservations"][rsid] = res
        if res is None or res["task_sid"] != task["sid"]:
            raise not_found("/Reservations/%s" % rsid)
        return res

    def render_reservation(self, box, r, base):
        ws = box["ws"]["sid"]
        url = "%s/v1/Workspaces/%s/Tasks/%s/Reservations/%s" % (base, ws, r["task_sid"], r["sid"])
        out = {k: v for k, v in r.items() if not k.startswith("_")}
        out.update({"account_sid": self.cfg.account_sid, "workspace_sid": ws,
                    "date_created": iso8601(r["_created"]), "date_updated": iso8601(r["_updated"]),
                    "url": url, "links": {"task": "%s/v1/Workspaces/%s/Tasks/%s" % (base, ws, r["task_sid"])}})
        return out

    def reservation_list(self, ctx, box, sid):
        task = self._task(box, sid)
        items = sorted((r for r in box["reservations"].values() if r["task_sid"] == task["sid"]),
                       key=lambda r: r["_seq"])
        return self.list_reply(ctx, "reservations", items, lambda r: self.render_reservation(box, r, ctx.base))

    def reservation_fetch(self, ctx, box, sid, rsid):
        res = self._reservation(box, self._task(box, sid), rsid, create=False)
        return json_reply(200, self.render_reservation(box, res, ctx.base))

    def reservation_update(self, ctx, box, sid, rsid):
        task = self._task(box, sid)
        res = self._reservation(box, task, rsid, create=True)
        status = ctx.form.get("ReservationStatus")
        if status is not None:
            allowed_from = {"accepted": ("pending",), "rejected": ("pending",), "timeout": ("pending",),
                            "canceled": ("pending",), "wrapping": ("accepted",),
                            "completed": ("accepted", "wrapping")}
            if status not in allowed_from:
                raise bad("Invalid ReservationStatus %r" % status)
            if res["reservation_status"] not in allowed_from[status]:
                raise bad("Reservation %s is %s and cannot become %s" % (rsid, res["reservation_status"], status))
            res["reservation_status"] = status
            res["_updated"] = time.time()
            # The task follows its reservation.
            current = task["assignment_status"]
            if status in ("rejected", "timeout", "canceled") and current == "reserved":
                self._set_task_status(box, task, "pending")
            elif status == "accepted" and current in ("pending", "reserved"):
                self._set_task_status(box, task, "assigned")
            elif status == "wrapping" and current == "assigned":
                self._set_task_status(box, task, "wrapping")
            elif status == "completed" and current in ("assigned", "wrapping"):
                self._set_task_status(box, task, "completed", "reservation completed")
            if task["assignment_status"] != current:
                self._touch(task)
        return json_reply(200, self.render_reservation(box, res, ctx.base))

    # ------------------------------------------------------------ workspaces and provisioning objects

    def _convert(self, ftype, fname, raw, box):
        if ftype == "str":
            return raw
        if ftype == "url":
            if raw == "":
                return None
            if not re.match(r"^https?://[^/\s]+", raw):
                raise bad("Invalid %s: not an absolute http(s) URL" % fname)
            return raw
        if ftype == "json":
            parse_json_object(raw, fname)
            return raw
        if ftype == "bool":
            if raw.lower() not in ("true", "false"):
                raise bad("Invalid %s: must be true or false" % fname)
            return raw.lower() == "true"
        if ftype == "activity":
            if raw not in box["Activities"]:
                raise bad("Invalid %s: no such Activity %r" % (fname, raw))
            return raw
        if ftype[0] == "int":
            return int_param(Params([(fname, raw)]), fname, None, ftype[1], ftype[2])
        if ftype[0] == "enum":
            if raw not in ftype[1:]:
                raise bad("Invalid %s %r" % (fname, raw))
            return raw
        raise AssertionError(ftype)

    def _apply_fields(self, kind, box, item, form, creating, unique=True):
        """Validate the form fields of `kind`, then apply them to item
        (unique=False lets a seed create two objects with one name)."""
        changes = {}
        for fname, key, ftype, default, required in FIELD_SPECS[kind]:
            if not form.has(fname):
                if creating:
                    if required:
                        raise bad("Missing required parameter %s in the post body" % fname)
                    changes[key] = default
                continue
            raw = form.get(fname)
            if required and raw == "":
                raise bad("%s cannot be empty" % fname)
            changes[key] = self._convert(ftype, fname, raw, box)
        if kind == "Workers" and creating and changes.get("activity_sid") is None:
            changes["activity_sid"] = box["ws"]["default_activity_sid"]
        name = changes.get("friendly_name")
        if kind != "Workspaces" and name is not None and unique:
            for other in box[kind].values():
                if other["friendly_name"] == name and other["sid"] != item.get("sid"):
                    raise bad("%s with FriendlyName %r already exists" % (kind[:-1], name))
        item.update(changes)

    def _create_item(self, kind, box, form, sid=None, unique=True):
        now = time.time()
        item = {"sid": sid or new_sid(KIND_PREFIX[kind]), "_created": now, "_updated": now,
                "_seq": self._next_seq()}
        self._apply_fields(kind, box, item, form, creating=True, unique=unique)
        box[kind][item["sid"]] = item
        return item

    def render_item(self, kind, box, item, base):
        ws = box["ws"]
        out = {k: v for k, v in item.items() if not k.startswith("_")}
        out["account_sid"] = self.cfg.account_sid
        if kind == "Workspaces":
            url = "%s/v1/Workspaces/%s" % (base, item["sid"])
            out["links"] = {k: "%s/%s" % (url, name) for name, k in KIND_KEY.items() if name != "Workspaces"}
            out["links"]["tasks"] = url + "/Tasks"
        else:
            out["workspace_sid"] = ws["sid"]
            url = "%s/v1/Workspaces/%s/%s/%s" % (base, ws["sid"], kind, item["sid"])
            out["links"] = {"workspace": "%s/v1/Workspaces/%s" % (base, ws["sid"])}
        # Every *_activity_sid / activity_sid gets its *_name companion.
        for fname, key, ftype, default, required in FIELD_SPECS[kind]:
            if ftype == "activity":
                act = box["Activities"].get(item.get(key) or "")
                out[key[:-4] + "_name"] = act["friendly_name"] if act else None
        if kind == "Workers":
            act = box["Activities"].get(item["activity_sid"] or "")
            out["available"] = bool(act and act["available"])
            out["date_status_changed"] = iso8601(item["_updated"])
        if kind == "Workflows":
            out["document_content_type"] = "application/json"
        out.update({"date_created": iso8601(item["_created"]), "date_updated": iso8601(item["_updated"]),
                    "url": url})
        return out

    def _filter_items(self, kind, items, q):
        name = q.get("FriendlyName")
        available = q.get("Available")
        worker = None
        if kind == "TaskQueues" and q.get("EvaluateWorkerAttributes") is not None:
            worker = parse_json_object(q.get("EvaluateWorkerAttributes"), "EvaluateWorkerAttributes")
        out = []
        for item in items:
            if name is not None and item["friendly_name"] != name:
                continue
            if kind == "Activities" and available is not None and item["available"] != (available.lower() == "true"):
                continue
            if kind == "Workers":
                if q.get("ActivitySid") is not None and item["activity_sid"] != q.get("ActivitySid"):
                    continue
            if kind == "TaskQueues" and worker is not None and \
                    not target_matches(item.get("target_workers") or "1==1", worker):
                continue
            out.append(item)
        return sorted(out, key=lambda i: i["_seq"])

    def workspace_list(self, ctx):
        items = self._filter_items("Workspaces", [b["ws"] for b in self.workspaces.values()], ctx.query)
        return self.list_reply(ctx, "workspaces", items,
                               lambda w: self.render_item("Workspaces", self.workspaces[w["sid"]], w, ctx.base))

    def workspace_create(self, ctx):
        form = ctx.form
        if not form.get("FriendlyName"):
            raise bad("Missing required parameter FriendlyName in the post body")
        # Validate the plain fields before creating anything.
        probe = {}
        plain = Params([(k, v) for k, v in form.pairs if k not in ("DefaultActivitySid", "TimeoutActivitySid")])
        self._apply_fields("Workspaces", None, probe, plain, creating=True)
        box = self._new_workspace(new_sid("WS"), form.get("FriendlyName"))
        box["ws"].update({k: v for k, v in probe.items() if v is not None or k.startswith("event")})
        return json_reply(201, self.render_item("Workspaces", box, box["ws"], ctx.base))

    def workspace_fetch(self, ctx, box):
        return json_reply(200, self.render_item("Workspaces", box, box["ws"], ctx.base))

    def workspace_update(self, ctx, box):
        self._apply_fields("Workspaces", box, box["ws"], ctx.form, creating=False)
        self._touch(box["ws"])
        return json_reply(200, self.render_item("Workspaces", box, box["ws"], ctx.base))

    def item_list(self, ctx, box, kind):
        items = self._filter_items(kind, box[kind].values(), ctx.query)
        return self.list_reply(ctx, KIND_KEY[kind], items, lambda i: self.render_item(kind, box, i, ctx.base))

    def item_create(self, ctx, box, kind):
        item = self._create_item(kind, box, ctx.form)
        return json_reply(201, self.render_item(kind, box, item, ctx.base))

    def _item(self, box, kind, sid):
        item = box[kind].get(sid)
        if item is None:
            raise not_found("/%s/%s" % (kind, sid))
        return item

    def item_fetch(self, ctx, box, kind, sid):
        return json_reply(200, self.render_item(kind, box, self._item(box, kind, sid), ctx.base))

    def item_update(self, ctx, box, kind, sid):
        item = self._item(box, kind, sid)
        self._apply_fields(kind, box, item, ctx.form, creating=False)
        self._touch(item)
        return json_reply(200, self.render_item(kind, box, item, ctx.base))

    # ------------------------------------------------------------ TaskQueue statistics

    def _queue_tasks(self, box, sid):
        return [t for t in box["tasks"].values() if t["task_queue_sid"] == sid]

    def _eligible_workers(self, box, queue):
        target = queue.get("target_workers") or "1==1"
        out = []
        for w in box["Workers"].values():
            try:
                attrs = json.loads(w.get("attributes") or "{}")
            except ValueError:
                attrs = {}
            if target_matches(target, attrs):
                out.append(w)
        return out

    def queue_realtime_stats(self, ctx, box, sid):
        """GET .../TaskQueues/{WQ}/RealTimeStatistics: computed from the
        queue's tasks and the workers its TargetWorkers matches, with the
        fields seeded under queue_statistics[WQ]["realtime"] laid over
        (the shape of Twilio's OpenAPI task_queue_real_time_statistics)."""
        queue = self._item(box, "TaskQueues", sid)
        now = time.time()
        tasks = self._queue_tasks(box, sid)
        by_status = {s: 0 for s in ("pending", "reserved", "assigned", "wrapping")}
        by_prio = {}
        for t in tasks:
            if t["assignment_status"] in by_status:
                by_status[t["assignment_status"]] += 1
            if t["assignment_status"] in ("pending", "reserved"):
                key = str(t["priority"])
                by_prio[key] = by_prio.get(key, 0) + 1
        waiting = sorted((t for t in tasks if t["assignment_status"] == "pending"),
                         key=lambda t: (t["_vst"], t["_seq"]))
        in_queue = sorted((t for t in tasks if t["assignment_status"] == "pending"),
                          key=lambda t: (t["_created"], t["_seq"]))
        workers = self._eligible_workers(box, queue)
        acts = {}
        for w in workers:
            acts[w["activity_sid"]] = acts.get(w["activity_sid"], 0) + 1
        available = [w for w in workers
                     if (box["Activities"].get(w["activity_sid"] or "") or {}).get("available")]
        out = {"account_sid": self.cfg.account_sid,
               "activity_statistics": [
                   {"sid": a["sid"], "friendly_name": a["friendly_name"], "workers": acts.get(a["sid"], 0)}
                   for a in sorted(box["Activities"].values(), key=lambda a: a["_seq"])],
               "longest_task_waiting_age": int(now - waiting[0]["_vst"]) if waiting else 0,
               "longest_task_waiting_sid": waiting[0]["sid"] if waiting else None,
               "longest_relative_task_age_in_queue": int(now - in_queue[0]["_created"]) if in_queue else 0,
               "longest_relative_task_sid_in_queue": in_queue[0]["sid"] if in_queue else None,
               "task_queue_sid": sid,
               "tasks_by_priority": by_prio,
               "tasks_by_status": by_status,
               "total_available_workers": len(available),
               "total_eligible_workers": len(workers),
               "total_tasks": sum(by_status.values()),
               "workspace_sid": box["ws"]["sid"],
               "url": "%s/v1/Workspaces/%s/TaskQueues/%s/RealTimeStatistics" % (ctx.base, box["ws"]["sid"], sid)}
        out.update((queue.get("_statistics") or {}).get("realtime") or {})
        return json_reply(200, out)

    def queue_cumulative_stats(self, ctx, box, sid):
        """GET .../TaskQueues/{WQ}/CumulativeStatistics: counts over the
        window (Minutes, default 15, or StartDate/EndDate) from the
        queue's tasks, with queue_statistics[WQ]["cumulative"] laid over."""
        queue = self._item(box, "TaskQueues", sid)
        q = ctx.query
        now = time.time()
        minutes = int_param(q, "Minutes", 15, 1, 60 * 24 * 30)
        try:
            end = parse_iso8601(q.get("EndDate")) if q.get("EndDate") else now
            start = parse_iso8601(q.get("StartDate")) if q.get("StartDate") else end - minutes * 60
        except ValueError:
            raise bad("Invalid StartDate or EndDate: use YYYY-MM-DDTHH:MM:SSZ") from None
        if start > end:
            raise bad("StartDate must be before EndDate")
        tasks = self._queue_tasks(box, sid)
        accepted = [t for t in tasks if t.get("_accepted_at") and start <= t["_accepted_at"] <= end]
        canceled = [t for t in tasks if t["assignment_status"] == "canceled" and
                    t.get("_ended_at") and start <= t["_ended_at"] <= end]
        completed = [t for t in tasks if t["assignment_status"] == "completed" and
                     t.get("_ended_at") and start <= t["_ended_at"] <= end]

        def durations(items, field):
            vals = [int(t[field] - t["_created"]) for t in items]
            if not vals:
                return {"avg": 0, "min": 0, "max": 0, "total": 0}
            return {"avg": int(round(sum(vals) / len(vals))), "min": min(vals), "max": max(vals),
                    "total": sum(vals)}
        until_accepted = durations(accepted, "_accepted_at")
        out = {"account_sid": self.cfg.account_sid,
               "avg_task_acceptance_time": until_accepted["avg"],
               "start_time": iso8601(start), "end_time": iso8601(end),
               "reservations_created": len(accepted), "reservations_accepted": len(accepted),
               "reservations_rejected": 0, "reservations_timed_out": 0,
               "reservations_canceled": 0, "reservations_rescinded": 0,
               "split_by_wait_time": None,
               "task_queue_sid": sid,
               "wait_duration_until_accepted": until_accepted,
               "wait_duration_until_canceled": durations(canceled, "_ended_at"),
               "wait_duration_in_queue_until_accepted": until_accepted,
               "tasks_canceled": len(canceled), "tasks_completed": len(completed),
               "tasks_deleted": 0,
               "tasks_entered": len([t for t in tasks if start <= t["_created"] <= end]),
               "tasks_moved": 0,
               "workspace_sid": box["ws"]["sid"],
               "url": "%s/v1/Workspaces/%s/TaskQueues/%s/CumulativeStatistics" % (ctx.base, box["ws"]["sid"], sid)}
        out.update((queue.get("_statistics") or {}).get("cumulative") or {})
        return json_reply(200, out)

    # ------------------------------------------------------------ API 2010: queues, calls, recordings

    def queue_fetch(self, ctx, sid):
        queue = self.queues.get(sid)
        if queue is None:
            raise not_found("/Queues/%s.json" % sid)
        return json_reply(200, {
            "sid": sid, "account_sid": self.cfg.account_sid, "friendly_name": queue["friendly_name"],
            "current_size": 0, "max_size": 100, "average_wait_time": 0,
            "date_created": rfc2822(queue["_created"]), "date_updated": rfc2822(queue["_created"]),
            "uri": "/2010-04-01/Accounts/%s/Queues/%s.json" % (self.cfg.account_sid, sid)})

    def _new_call(self, sid, status, to=None, from_=None):
        now = time.time()
        call = {"sid": sid, "status": status, "to": to, "from": from_, "direction": "outbound-api",
                "params": [], "updates": [], "_created": now, "_updated": now}
        self.calls[sid] = call
        return call

    def render_call(self, c):
        ac = self.cfg.account_sid
        uri = "/2010-04-01/Accounts/%s/Calls/%s.json" % (ac, c["sid"])
        return {"sid": c["sid"], "account_sid": ac, "to": c["to"], "to_formatted": c["to"],
                "from": c["from"], "from_formatted": c["from"], "status": c["status"],
                "direction": c["direction"], "api_version": "2010-04-01",
                "date_created": rfc2822(c["_created"]), "date_updated": rfc2822(c["_updated"]),
                "start_time": None, "end_time": None, "duration": None, "price": None,
                "price_unit": "USD", "parent_call_sid": None, "phone_number_sid": None,
                "answered_by": None, "caller_name": None, "forwarded_from": None,
                "group_sid": None, "queue_time": "0", "trunk_sid": None, "annotation": None,
                "uri": uri, "subresource_uris": {"recordings": uri[:-5] + "/Recordings.json",
                                                 "notifications": uri[:-5] + "/Notifications.json"}}

    @staticmethod
    def _check_url(form, name, code):
        value = form.get(name)
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ApiError(400, code, "Invalid %s: %r is not an absolute http(s) URL" % (name, value))

    def call_create(self, ctx):
        f = ctx.form
        to, from_ = f.get("To"), f.get("From")
        if not to:
            raise ApiError(400, 21201, "No 'To' number is specified")
        if not from_:
            raise ApiError(400, 21603, "A 'From' phone number is required")
        if not (E164_RE.match(to) or to.startswith(("client:", "sip:"))):
            raise ApiError(400, 21211, "Invalid 'To' Phone Number: %s" % to)
        if not (E164_RE.match(from_) or from_.startswith("client:")):
            raise ApiError(400, 21212, "Invalid 'From' Phone Number: %s" % from_)
        if not (f.get("Url") or f.get("Twiml") or f.get("ApplicationSid")):
            raise ApiError(400, 21205, "Either Url, Twiml or ApplicationSid is required")
        self._check_url(f, "Url", 21205)
        self._check_url(f, "StatusCallback", 21609)
        for name in ("Method", "StatusCallbackMethod"):
            if f.get(name) is not None and f.get(name) not in ("GET", "POST"):
                raise bad("Invalid %s %r" % (name, f.get(name)))
        for event in f.getall("StatusCallbackEvent"):
            if event not in ("initiated", "ringing", "answered", "completed"):
                raise bad("Invalid StatusCallbackEvent %r" % event)
        if f.get("MachineDetection") is not None and f.get("MachineDetection") not in ("Enable", "DetectMessageEnd"):
            raise bad("Invalid MachineDetection %r" % f.get("MachineDetection"))
        int_param(f, "MachineDetectionSpeechThreshold", None, 1000, 6000)
        call = self._new_call(new_sid("CA"), "queued", to, from_)
        call["params"] = f.pairs
        return json_reply(201, self.render_call(call))

    def _call(self, sid):
        call = self.calls.get(sid)
        if call is None:
            raise not_found("/Calls/%s.json" % sid)
        return call

    def call_fetch(self, ctx, sid):
        return json_reply(200, self.render_call(self._call(sid)))

    def call_update(self, ctx, sid):
        call = self._call(sid)
        f = ctx.form
        if call["status"] in CALL_FINAL:
            raise ApiError(400, 21220, "Call is not in-progress. Cannot redirect.")
        status = f.get("Status")
        if status is not None and status not in ("canceled", "completed"):
            raise bad("Invalid Status %r: use canceled or completed" % status)
        self._check_url(f, "Url", 21205)
        if f.get("Method") is not None and f.get("Method") not in ("GET", "POST"):
            raise bad("Invalid Method %r" % f.get("Method"))
        if status == "completed" or (status == "canceled" and call["status"] in ("queued", "ringing")):
            call["status"] = status
        call["updates"].append(f.pairs)
        call["_updated"] = time.time()
        return json_reply(200, self.render_call(call))

    def _recording(self, sid):
        rec = self.recordings.get(sid)
        if rec is None or rec["deleted"]:
            raise not_found("/Recordings/%s" % sid)
        return rec

    @staticmethod
    def _storage_base(base):
        """The storage-host stand-in: this server under another host name
        (127.0.0.1 <-> localhost), since Twilio's media redirect leaves the
        API host and a client must not send its credentials there."""
        split = urlsplit(base)
        other = "localhost" if split.hostname != "localhost" else "127.0.0.1"
        return "%s://%s%s" % (split.scheme, other, ":%d" % split.port if split.port else "")

    def recording_media(self, ctx, sid, ext):
        rec = self._recording(sid)
        if rec["redirects"] > 0:
            return Reply(302, headers={"Location": "%s/__emulator/media/%s?hop=1" % (
                self._storage_base(ctx.base), sid)})
        rec["fetches"] += 1
        return Reply(200, rec["data"], rec["content_type"] if ext == "mp3" else "audio/x-wav")

    def media_hop(self, ctx, sid):
        """Stand-in storage host behind recording redirects (no auth)."""
        with self.lock:
            rec = self.recordings.get(sid)
            if rec is None or rec["deleted"]:
                return error_reply(404, 20404, "The requested resource was not found")
            hop = int_param(ctx.query, "hop", 1, 1, 1000)
            if hop < rec["redirects"]:
                return Reply(302, headers={"Location": "%s/__emulator/media/%s?hop=%d" % (ctx.base, sid, hop + 1)})
            rec["fetches"] += 1
            return Reply(200, rec["data"], rec["content_type"])

    def recording_fetch(self, ctx, sid):
        rec = self._recording(sid)
        ac = self.cfg.account_sid
        return json_reply(200, {"sid": sid, "account_sid": ac, "call_sid": rec["call_sid"],
                                "status": "completed", "duration": str(rec["duration"]),
                                "channels": 1, "source": "RecordVerb",
                                "date_created": rfc2822(rec["_created"]),
                                "uri": "/2010-04-01/Accounts/%s/Recordings/%s.json" % (ac, sid)})

    def call_recordings(self, ctx, sid):
        """The recordings of one call (first page only), newest first."""
        ac = self.cfg.account_sid
        with self.lock:
            recs = [(r["_created"], rsid, r) for rsid, r in self.recordings.items()
                    if r["call_sid"] == sid and not r["deleted"]]
        recs.sort(key=lambda x: x[0], reverse=True)
        uri = "/2010-04-01/Accounts/%s/Calls/%s/Recordings.json" % (ac, sid)
        return json_reply(200, {"recordings": [
            {"sid": rsid, "account_sid": ac, "call_sid": sid, "status": r.get("status", "completed"),
             "duration": str(r["duration"]), "channels": 1, "source": "RecordVerb",
             "date_created": rfc2822(r["_created"]),
             "uri": "/2010-04-01/Accounts/%s/Recordings/%s.json" % (ac, rsid)} for _, rsid, r in recs],
            "page": 0, "page_size": 50, "start": 0, "end": max(0, len(recs) - 1),
            "first_page_uri": uri + "?PageSize=50&Page=0", "next_page_uri": None,
            "previous_page_uri": None, "uri": uri + "?PageSize=50&Page=0"})

    def recording_delete(self, ctx, sid):
        self._recording(sid)["deleted"] = True
        return Reply(204)

    def _transcription(self, sid):
        tr = self.transcriptions.get(sid)
        if tr is None or tr["deleted"]:
            raise not_found("/Transcriptions/%s" % sid)
        return tr

    def transcription_fetch(self, ctx, sid):
        tr = self._transcription(sid)
        return json_reply(200, {"sid": sid, "account_sid": self.cfg.account_sid, "status": "completed",
                                "recording_sid": tr["recording_sid"], "transcription_text": tr["text"]})

    def transcription_delete(self, ctx, sid):
        self._transcription(sid)["deleted"] = True
        return Reply(204)

    # ------------------------------------------------------------ IAM

    def token_validate(self, ctx):
        try:
            body = json.loads(ctx.body.decode("utf-8"))
            token = body["token"]
            if not isinstance(token, str):
                raise TypeError
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise bad("The request body must be JSON {\"token\": \"...\"}") from None
        answer = self.tokens.get(token)
        if answer is None:
            return json_reply(200, {"valid": False, "code": 20101, "message": "Invalid Access Token"})
        body = answer["body"]
        if isinstance(body, str):       # raw text, e.g. to test unparsable answers
            return Reply(answer["status"], body.encode("utf-8"))
        return json_reply(answer["status"], body)

    # ------------------------------------------------------------ seeding

    def seed(self, data):
        """Preload state.  Every key is optional:

        {"queues": {"QU...": "WW..."},           (or {"QU...": {"friendly_name": ...}})
         "tokens": {"tok": {"status": 200, "body": {...} or "raw text"}},
         "recordings": {"RE...": {"base64": "..."} or {"size": 2400000},
                        optional "content_type", "redirects" (N storage hops),
                        "generated": true (the size's bytes are made while
                        they are sent, never held: hundreds of MiB), then
                        optional "cut_at" (close the connection after that
                        many bytes) and "chunked" (no Content-Length),
                        "call_sid", "duration", "status" (default completed),
                        "transcription_sid"},
         "transcriptions": ["TR...", ...] or {"TR...": {"recording_sid", "text"}},
         "calls": {"CA...": "in-progress"} (or {"status", "to", "from"}; re-seeding
                  an existing call changes its status),
         "workspaces": [{"friendly_name", optional "sid", "event_callback_url", "events_filter"}]
                  (new workspaces, each with Offline and Available activities),
         "workspace_sid": "WS..." (the workspace the keys below go to; default: the configured one),
         "workspace": {"event_callback_url": ..., "events_filter": ...},
         "task_queues" / "workflows" / "workers" / "activities":
                  [{"friendly_name": ..., other snake_case fields, optional "sid",
                    optional "duplicate_name": true (skip the FriendlyName uniqueness check)}],
         "tasks": [{"sid" (optional), "workflow_sid", "attributes": {...} or "text",
                    "assignment_status", "priority", "timeout", "task_channel",
                    "task_queue_sid", "reason", "date_created" (ISO)}],
         "reservations": {"WR...": {"task_sid", "worker_sid", "status"}},
         "task_status": {"WT...": "assigned"} (or {"assignment_status", "attributes", "reason"}),
         "queue_statistics": {"WQ...": {"realtime": {...}, "cumulative": {...}}}
                  (fields laid over the computed TaskQueue statistics; the
                  queue must exist; {} or null drops the overlay)}
        Answers the created SIDs per key.  Bad input raises ValueError.
        """
        if not isinstance(data, dict):
            raise ValueError("seed body must be a JSON object")

        def need_sid(value, prefix, what):
            if not is_sid(value, prefix):
                raise ValueError("%s: %r is not a %s SID (2 letters + 32 lowercase hex)" % (what, value, prefix))

        def mapping(key):
            value = data.get(key, {})
            if not isinstance(value, dict):
                raise ValueError("%s must be an object" % key)
            return value

        out = {}
        now = time.time()
        with self.lock:
            out["workspaces"] = []
            for spec in data.get("workspaces", []):
                if spec.get("sid"):
                    need_sid(spec["sid"], "WS", "workspaces")
                    if spec["sid"] in self.workspaces:
                        raise ValueError("workspaces: %s exists" % spec["sid"])
                new_box = self._new_workspace(spec.get("sid") or new_sid("WS"),
                                              spec.get("friendly_name") or "Seeded Workspace")
                self._apply_fields("Workspaces", new_box, new_box["ws"], self._seed_form("Workspaces", spec),
                                   creating=False)
                out["workspaces"].append(new_box["ws"]["sid"])
            target = data.get("workspace_sid") or self.cfg.workspace_sid
            if target not in self.workspaces:
                raise ValueError("workspace_sid: unknown workspace %r" % target)
            box = self.workspaces[target]
            for sid, spec in mapping("queues").items():
                need_sid(sid, "QU", "queues")
                name = spec.get("friendly_name") if isinstance(spec, dict) else spec
                self.queues[sid] = {"friendly_name": name, "_created": now}
            out["queues"] = list(mapping("queues"))
            for token, spec in mapping("tokens").items():
                if not isinstance(spec, dict) or "body" not in spec:
                    raise ValueError("tokens[%r] needs a body" % token)
                self.tokens[token] = {"status": int(spec.get("status", 200)), "body": spec["body"]}
            for sid, spec in mapping("recordings").items():
                need_sid(sid, "RE", "recordings")
                if "base64" in spec:
                    payload = base64.b64decode(spec["base64"])
                elif spec.get("generated"):
                    cut = spec.get("cut_at")
                    payload = GeneratedMedia(int(spec.get("size", 2048)),
                                             None if cut is None else int(cut),
                                             bool(spec.get("chunked")))
                else:
                    payload = fake_media(int(spec.get("size", 2048)))
                self.recordings[sid] = {"data": payload, "deleted": False, "fetches": 0,
                                        "content_type": spec.get("content_type", "audio/mpeg"),
                                        "redirects": int(spec.get("redirects", 0)),
                                        "call_sid": spec.get("call_sid"), "duration": spec.get("duration", 10),
                                        "status": spec.get("status", "completed"), "_created": now}
                if spec.get("transcription_sid"):
                    need_sid(spec["transcription_sid"], "TR", "recordings.transcription_sid")
                    self.transcriptions[spec["transcription_sid"]] = {"deleted": False, "recording_sid": sid,
                                                                      "text": spec.get("transcription_text")}
            out["recordings"] = list(mapping("recordings"))
            trs = data.get("transcriptions", {})
            trs = {sid: {} for sid in trs} if isinstance(trs, list) else trs
            for sid, spec in trs.items():
                need_sid(sid, "TR", "transcriptions")
                self.transcriptions[sid] = {"deleted": False, "recording_sid": spec.get("recording_sid"),
                                            "text": spec.get("text")}
            for sid, spec in mapping("calls").items():
                need_sid(sid, "CA", "calls")
                spec = spec if isinstance(spec, dict) else {"status": spec}
                if spec.get("status", "in-progress") not in CALL_STATUSES:
                    raise ValueError("calls[%s]: unknown status %r" % (sid, spec.get("status")))
                call = self.calls.get(sid)
                if call is None:
                    call = self._new_call(sid, "in-progress", spec.get("to"), spec.get("from"))
                    call["direction"] = "inbound"
                call["status"] = spec.get("status", "in-progress")
                call["direction"] = spec.get("direction", call["direction"])
                call["_updated"] = now
            out["calls"] = list(mapping("calls"))
            if data.get("workspace"):
                self._apply_fields("Workspaces", box, box["ws"], self._seed_form("Workspaces", data["workspace"]),
                                   creating=False)
            for kind in ("Activities", "TaskQueues", "Workflows", "Workers"):
                key = KIND_KEY[kind]
                if key not in data:
                    continue
                out[key] = []
                for spec in data[key]:
                    if spec.get("sid"):
                        need_sid(spec["sid"], KIND_PREFIX[kind], key)
                    item = self._create_item(kind, box, self._seed_form(kind, spec), spec.get("sid"),
                                             unique=not spec.get("duplicate_name"))
                    out[key].append(item["sid"])
            out["tasks"] = []
            for spec in data.get("tasks", []):
                out["tasks"].append(self._seed_task(box, spec)["sid"])
            for rsid, spec in mapping("reservations").items():
                need_sid(rsid, "WR", "reservations")
                task = box["tasks"].get(spec.get("task_sid"))
                if task is None:
                    raise ValueError("reservations[%s]: unknown task %r" % (rsid, spec.get("task_sid")))
                if spec.get("status", "pending") not in RES_STATUSES:
                    raise ValueError("reservations[%s]: bad status" % rsid)
                box["reservations"][rsid] = {
                    "sid": rsid, "task_sid": task["sid"], "worker_sid": spec.get("worker_sid"),
                    "worker_name": spec.get("worker_name"), "reservation_status": spec.get("status", "pending"),
                    "_created": now, "_updated": now, "_seq": self._next_seq()}
            out["reservations"] = list(mapping("reservations"))
            for sid, spec in mapping("task_status").items():
                task = box["tasks"].get(sid)
                if task is None:
                    raise ValueError("task_status: unknown task %r" % sid)
                spec = spec if isinstance(spec, dict) else {"assignment_status": spec}
                if "attributes" in spec:
                    attrs = spec["attributes"]
                    task["attributes"] = attrs if isinstance(attrs, str) else json.dumps(attrs)
                if "assignment_status" in spec:
                    if spec["assignment_status"] not in TASK_STATUSES:
                        raise ValueError("task_status[%s]: bad status %r" % (sid, spec["assignment_status"]))
                    self._set_task_status(box, task, spec["assignment_status"], spec.get("reason"))
                self._touch(task)
            out["task_status"] = list(mapping("task_status"))
            for sid, spec in mapping("queue_statistics").items():
                queue = box["TaskQueues"].get(sid)
                if queue is None:
                    raise ValueError("queue_statistics: unknown TaskQueue %r" % sid)
                if spec is not None and not isinstance(spec, dict):
                    raise ValueError("queue_statistics[%s] must be an object" % sid)
                queue["_statistics"] = spec or None
            out["queue_statistics"] = list(mapping("queue_statistics"))
        return out

    @staticmethod
    def _seed_form(kind, spec):
        """snake_case seed fields -> the Twilio form pairs of FIELD_SPECS."""
        pairs = []
        for fname, key, ftype, default, required in FIELD_SPECS[kind]:
            if key in spec and spec[key] is not None:
                value = spec[key]
                if isinstance(value, bool):
                    value = "true" if value else "false"
                elif isinstance(value, (dict, list)):
                    value = json.dumps(value)
                pairs.append((fname, str(value)))
        return Params(pairs)

    def _seed_task(self, box, spec):
        if spec.get("sid"):
            if not is_sid(spec["sid"], "WT"):
                raise ValueError("tasks: bad sid %r" % spec["sid"])
        status = spec.get("assignment_status", "pending")
        if status not in TASK_STATUSES:
            raise ValueError("tasks: bad assignment_status %r" % status)
        attrs = spec.get("attributes", {})
        attrs = attrs if isinstance(attrs, str) else json.dumps(attrs)
        kw = {"sid": spec.get("sid"), "status": status, "reason": spec.get("reason"),
              "priority": int(spec.get("priority", 0)), "timeout": int(spec.get("timeout", 86400)),
              "channel": spec.get("task_channel") or spec.get("task_channel_unique_name") or "voice",
              "task_queue_sid": spec.get("task_queue_sid")}
        if spec.get("date_created"):
            kw["created"] = parse_iso8601(spec["date_created"])
        return self._new_task(box, spec.get("workflow_sid") or "WW" + "0" * 32, attrs, **kw)

    # ------------------------------------------------------------ control routes

    def state(self, base):
        with self.lock:
            self._purge()
            dump = {"workspaces": {}, "calls": {}, "recordings": {}, "transcriptions": {},
                    "queues": {k: v["friendly_name"] for k, v in self.queues.items()},
                    "tokens": sorted(self.tokens), "faults": self.faults, "requests": self.log_count}
            for ws, box in self.workspaces.items():
                tasks = []
                for t in sorted(box["tasks"].values(), key=lambda t: t["_seq"]):
                    r = self.render_task(box, t, base)
                    r["attributes_parsed"] = json.loads(t["attributes"])
                    r["etag"] = str(t["_version"])
                    r["deletes_in_s"] = (round(t["_delete_at"] - time.time(), 3)
                                         if t["_delete_at"] is not None else None)
                    tasks.append(r)
                entry = {"workspace": self.render_item("Workspaces", box, box["ws"], base), "tasks": tasks,
                         "reservations": [self.render_reservation(box, r, base) for r in box["reservations"].values()]}
                for kind, key in KIND_KEY.items():
                    if kind != "Workspaces":
                        entry[key] = [self.render_item(kind, box, i, base) for i in box[kind].values()]
                dump["workspaces"][ws] = entry
            dump["tasks"] = dump["workspaces"][self.cfg.workspace_sid]["tasks"]
            for sid, c in self.calls.items():
                dump["calls"][sid] = dict(self.render_call(c), params=c["params"], updates=c["updates"])
            for sid, r in self.recordings.items():
                dump["recordings"][sid] = {"size": len(r["data"]), "deleted": r["deleted"], "fetches": r["fetches"]}
            dump["recordings_deleted"] = [s for s, r in self.recordings.items() if r["deleted"]]
            for sid, t in self.transcriptions.items():
                dump["transcriptions"][sid] = {"deleted": t["deleted"], "recording_sid": t["recording_sid"]}
            dump["transcriptions_deleted"] = [s for s, t in self.transcriptions.items() if t["deleted"]]
            return dump

    def control(self, method, name, query, body, base):
        """The /__emulator/* routes (name is the part after the prefix)."""
        def load():
            try:
                return json.loads(body.decode("utf-8") or "null")
            except (ValueError, UnicodeDecodeError) as e:
                raise ValueError("body is not JSON: %s" % e) from None
        try:
            if name == "health" and method == "GET":
                return json_reply(200, {"ok": True})
            if name == "reset" and method == "POST":
                self.reset()
                return json_reply(200, {"ok": True})
            if name == "seed" and method == "POST":
                return json_reply(200, self.seed(load()))
            if name == "faults":
                if method == "POST":
                    return json_reply(200, {"faults": self.add_faults(load())})
                if method == "DELETE":
                    with self.lock:
                        self.faults = []
                        self.fault_rngs = {}
                    return json_reply(200, {"faults": []})
                if method == "GET":
                    with self.lock:
                        return json_reply(200, {"faults": self.faults})
            if name == "requests" and method == "GET":
                since = int(Params(parse_qsl(query)).get("since", "0"))
                with self.lock:
                    if not self.cfg.request_log:
                        return json_reply(200, {"requests": [], "next": self.log_count, "disabled": True})
                    return json_reply(200, {"requests": self.log[max(since, 0):], "next": len(self.log)})
            if name == "state" and method == "GET":
                return json_reply(200, self.state(base))
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error) as e:
            return json_reply(400, {"error": str(e)})
        except ApiError as e:
            return json_reply(400, {"error": json.loads(e.reply.body)["message"]})
        return json_reply(404, {"error": "unknown control route %s %s" % (method, name)})


# --------------------------------------------------------------------------
# HTTP layer


class Ctx:
    """What a handler sees of one request."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def canonical_header(name):
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


class BodyError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive; every reply has a Content-Length
    server_version = "twilio-emulator/1.0"
    sys_version = ""
    timeout = 300                       # idle keep-alive connections end eventually
    # TCP_NODELAY: the head and the body are two writes; with Nagle the
    # body waits for the client's delayed ACK (40 ms) on a reused connection
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):  # the default access log is replaced by _log
        pass

    def _log(self, path, status, t0, note=""):
        sys.stderr.write("%s %s %s %dms%s\n" % (self.command, path, status,
                                               (time.monotonic() - t0) * 1000, note))

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BodyError(400, "bad chunk size") from None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > MAX_BODY:
                    raise BodyError(413, "body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline(3)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise BodyError(400, "bad Content-Length") from None
        if n < 0 or n > MAX_BODY:
            raise BodyError(413, "body too large")
        data = self.rfile.read(n)
        if len(data) != n:
            raise BodyError(400, "truncated body")
        return data

    def _send(self, reply):
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            gen = reply.body if isinstance(reply.body, GeneratedMedia) else None
            if reply.status not in (204, 304):
                self.send_header("Content-Type", reply.ctype)
                if gen is not None and gen.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if reply.status not in (204, 304) and self.command != "HEAD":
                if gen is not None:
                    for chunk in gen.chunks():
                        if gen.chunked:
                            chunk = b"%x\r\n%s\r\n" % (len(chunk), chunk)
                        self.wfile.write(chunk)
                    if gen.chunked:
                        self.wfile.write(b"0\r\n\r\n")
                    if gen.cut_at is not None and gen.cut_at < gen.size:
                        self.close_connection = True    # cut in the middle
                else:
                    self.wfile.write(reply.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _handle(self):
        t0 = time.monotonic()
        emu = self.server.emulator
        split = urlsplit(self.path)
        path, query = split.path, split.query
        try:
            body = self._read_body()
        except BodyError as e:
            self.close_connection = True
            self._send(Reply(e.status, dumps({"error": str(e)}), headers={"Connection": "close"}))
            self._log(path, e.status, t0)
            return
        base = "http://%s" % (self.headers.get("Host") or "%s:%d" % self.server.server_address[:2])

        # Control routes: no auth, no log, no latency.
        if path.startswith("/__emulator/") and not path.startswith("/__emulator/media/"):
            reply = emu.control(self.command, path[len("/__emulator/"):], query, body, base)
            self._send(reply)
            return

        headers = {}
        for name, value in self.headers.items():
            key = canonical_header(name)
            headers[key] = headers[key] + ", " + value if key in headers else value
        ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = body.decode("latin-1")
        form = parse_qsl(text, keep_blank_values=True) if ctype == "application/x-www-form-urlencoded" else []
        query_pairs = parse_qsl(query, keep_blank_values=True)
        if emu.cfg.request_log:
            emu.record({"method": self.command, "path": path, "query": query,
                        "query_params": [list(p) for p in query_pairs], "headers": headers,
                        "body": text, "form": [list(p) for p in form], "ts": time.time()})
        else:
            emu.record({})
        if emu.cfg.latency_ms:
            time.sleep(emu.cfg.latency_ms / 1000.0)

        fault = emu.take_fault(self.command, path, "&".join("%s=%s" % p for p in query_pairs))
        note = ""
        if fault is not None:
            note = " fault#%d" % fault["id"]
            if fault.get("delay_ms"):
                time.sleep(fault["delay_ms"] / 1000.0)
            if fault.get("drop"):
                # Close the connection after reading the request, with no answer.
                self.close_connection = True
                self._log(path, "dropped", t0, note)
                return
        if fault is not None and fault.get("malformed_json"):
            reply = Reply(fault.get("status") or 200, b'{"sid": "WT', headers={})
        elif fault is not None and fault.get("status"):
            status = fault["status"]
            extra = {"Retry-After": str(fault["retry_after"])} if fault.get("retry_after") is not None else {}
            code = fault.get("code", STATUS_CODES.get(status, 20000 + status))
            reply = error_reply(status, code, fault.get("message") or "Injected fault %d" % status, extra)
        else:
            ctx = Ctx(method=self.command, path=path, raw_query_decoded="&".join("%s=%s" % p for p in query_pairs),
                      query=Params(query_pairs), form=Params(form), body=body, ctype=ctype,
                      headers=headers, base=base)
            try:
                reply = emu.dispatch(ctx)
            except Exception as e:      # a bug here must not kill the connection silently
                sys.stderr.write("internal error: %r\n" % (e,))
                reply = error_reply(500, 20500, "Internal emulator error")
        if fault is not None and fault.get("answer_delay_ms"):
            time.sleep(fault["answer_delay_ms"] / 1000.0)
        self._send(reply)
        self._log(path, reply.status, t0, note)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 1024           # load tests open many connections at once


def main(argv=None):
    ap = argparse.ArgumentParser(description="Twilio emulator for flexhooks tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--account-sid", required=True)
    ap.add_argument("--auth-token", required=True)
    ap.add_argument("--workspace-sid", required=True)
    ap.add_argument("--api-key")
    ap.add_argument("--api-secret")
    ap.add_argument("--pid-file")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--deletion-delay-s", type=float, default=300.0)
    ap.add_argument("--no-request-log", dest="request_log", action="store_false",
                    help="keep no request read-back (load tests)")
    cfg = ap.parse_args(argv)
    if not is_sid(cfg.account_sid, "AC"):
        ap.error("--account-sid must be AC + 32 lowercase hex digits")
    if not is_sid(cfg.workspace_sid, "WS"):
        ap.error("--workspace-sid must be WS + 32 lowercase hex digits")
    if bool(cfg.api_key) != bool(cfg.api_secret):
        ap.error("--api-key and --api-secret go together")

    emulator = Emulator(cfg)
    try:
        server = Server((cfg.host, cfg.port), Handler)
    except OSError as e:
        sys.stderr.write("emulator: cannot listen on %s:%d: %s\n" % (cfg.host, cfg.port, e))
        return 1
    server.emulator = emulator
    if cfg.pid_file:
        with open(cfg.pid_file, "w") as fh:
            fh.write("%d\n" % os.getpid())

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    sys.stdout.write("emulator listening on http://%s:%d\n" % (cfg.host, server.server_address[1]))
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    if cfg.pid_file:
        try:
            os.unlink(cfg.pid_file)
        except OSError:
            pass
    sys.stderr.write("emulator: stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
