# SPDX-License-Identifier: Apache-2.0
"""fhtest - shared helpers for flexhooks' integration and contract tests.

Standard library only (Python 3.7+).  A test script does:

    import fhtest as t
    t.require_stack()

    @t.test
    def happy_path():
        r = t.request("POST", PATH, form=[("numberToCall", n), ...])
        t.eq(r.status, 200, "status")

    t.main()

What is here:

- the environment that `deploy/local.sh test` exports (Env, require_stack);
- sign(): X-Twilio-Signature exactly as docs/design/platform.md#request-signatures says
  (HMAC-SHA1 over the URL plus the sorted name+value pairs, base64), and
  body_sha256() for the bodySHA256 mode of JSON bodies;
- request(): one HTTP request through nginx (http.client), with optional
  Basic auth and a signature computed from what is really sent;
- Emulator: the Twilio emulator's control API (request read-back since a
  mark, state, faults);
- program log helpers (the JSON lines in FLEXHOOKS_LOG_DIR/<prog>.log);
- processes (children(), stop_groups()) and a FastCGI client (fcgi_*())
  for tests that start programs of their own;
- run_provision(): flexhooks-provision against a fresh emulator workspace
  (fresh_workspace()), with its output and the requests it made;
- a tiny runner: @test registers a function; main() runs each, prints
  "ok NAME" / "FAIL NAME: reason" / "skip NAME: reason" and the final line
  "N passed, M failed[, K skipped]", and exits 0 (all passed), 1 (any
  failure) or 77 (everything skipped; automake's SKIP).

Tests in different scripts run concurrently against one emulator, so
nothing here resets it: tests mark the request log before they act, read
back only what came after, and use unique phone numbers to find their own
requests and tasks.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from collections import OrderedDict

SKIP_EXIT = 77

# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------


class Env:
    """The settings exported by `deploy/local.sh test`."""

    def __init__(self, environ=None):
        e = os.environ if environ is None else environ
        self.stack = e.get("FLEXHOOKS_TEST_STACK") == "1"
        self.port = int(e.get("FLEXHOOKS_PORT") or "8080")
        self.host = "127.0.0.1"
        self.public_url = (e.get("FLEXHOOKS_PUBLIC_URL") or
                           "http://127.0.0.1:%d" % self.port).rstrip("/")
        self.basic_auth = e.get("FLEXHOOKS_BASIC_AUTH") or ""
        self.account_sid = e.get("ACCOUNT_SID") or ""
        self.auth_token = e.get("AUTH_TOKEN") or ""
        self.workspace_sid = e.get("TWILIO_FLEX_WORKSPACE_SID") or ""
        self.workflow_sid = e.get("TWILIO_FLEX_CALLBACK_WORKFLOW_SID") or ""
        self.emulator_url = (e.get("FLEXHOOKS_EMULATOR_URL") or
                             "http://127.0.0.1:%d" % (self.port + 1)
                             ).rstrip("/")
        self.root = e.get("FLEXHOOKS_ROOT") or os.path.abspath(
            os.path.join(os.path.dirname(__file__), "..", ".."))
        self.log_dir = e.get("FLEXHOOKS_LOG_DIR") or os.path.join(
            self.root, ".local", "log")
        self.prism = e.get("FLEXHOOKS_PRISM") or ""
        self.main_timezone = e.get("FLEXHOOKS_MAIN_TIMEZONE") or "UTC"
        self.retry_limit = int(e.get("TWILIO_SERVICE_RETRY_LIMIT") or "5")
        self.deadline_ms = int(e.get("FLEXHOOKS_DEADLINE_MS") or "8000")

    @property
    def basic_user(self):
        return self.basic_auth.split(":", 1)[0]

    @property
    def basic_password(self):
        return self.basic_auth.split(":", 1)[1] if ":" in \
            self.basic_auth else ""

    def twilio_basic(self):
        """The Authorization header flexhooks must send to Twilio."""
        raw = ("%s:%s" % (self.account_sid, self.auth_token)).encode()
        return "Basic " + base64.b64encode(raw).decode()

    @property
    def tasks_path(self):
        return "/v1/Workspaces/%s/Tasks" % self.workspace_sid


ENV = Env()


def require_stack(also=()):
    """Exit 77 (SKIP) unless the local stack is up (FLEXHOOKS_TEST_STACK=1)
    and every variable named in also is set."""
    if not ENV.stack:
        print("SKIP: FLEXHOOKS_TEST_STACK is not 1 "
              "(run me through `deploy/local.sh test`)")
        print("0 passed, 0 failed")
        sys.exit(SKIP_EXIT)
    missing = [v for v in ("ACCOUNT_SID", "AUTH_TOKEN",
                           "TWILIO_FLEX_WORKSPACE_SID",
                           "FLEXHOOKS_BASIC_AUTH") + tuple(also)
               if not os.environ.get(v)]
    if missing:
        print("SKIP: not set: %s" % ", ".join(missing))
        print("0 passed, 0 failed")
        sys.exit(SKIP_EXIT)


# --------------------------------------------------------------------------
# Signatures (docs/design/platform.md#request-signatures)
# --------------------------------------------------------------------------


def _b(s):
    if isinstance(s, bytes):
        return s
    return str(s).encode("utf-8", "surrogatepass")


def _utf16_key(b):
    """Sort key: UTF-16 code units (as Twilio's Node library compares);
    bytes that are not UTF-8 compare as bytes, after every text."""
    try:
        return (0, b.decode("utf-8").encode("utf-16-be", "surrogatepass"))
    except UnicodeDecodeError:
        return (1, b)


def _pairs(params):
    if params is None:
        return []
    if isinstance(params, dict):
        params = list(params.items())
    return [(_b(k), _b(v)) for k, v in params]


def signing_string(url, params=None):
    """The bytes that are signed: url, then for each name in sorted order its
    sorted, de-duplicated values as name+value."""
    groups = {}
    for k, v in _pairs(params):
        groups.setdefault(k, set()).add(v)
    out = [_b(url)]
    for k in sorted(groups, key=_utf16_key):
        for v in sorted(groups[k], key=_utf16_key):
            out.append(k + v)
    return b"".join(out)


def sign(url, params=None, token=None):
    """X-Twilio-Signature for url (+ form params, None in URL and bodySHA256
    modes) under token (default AUTH_TOKEN)."""
    key = _b(ENV.auth_token if token is None else token)
    mac = hmac.new(key, signing_string(url, params), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def body_sha256(body):
    """Lower-case hex SHA-256 of the raw body (the bodySHA256 parameter)."""
    return hashlib.sha256(_b(body)).hexdigest()


def decode_form_bytes(body):
    """Decode a form body or query string into [(name bytes, value bytes)]
    leniently ('+' is a space, "%XX" a byte, a bad escape stays as typed),
    skipping empty segments: what a signer sees."""
    body = _b(body)
    out = []
    for seg in body.split(b"&"):
        if not seg:
            continue
        name, _, value = seg.partition(b"=")
        out.append((_pct(name), _pct(value)))
    return out


_HEX = b"0123456789abcdefABCDEF"


def _pct(s):
    s = s.replace(b"+", b" ")
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == 0x25 and i + 2 < len(s) and s[i + 1] in _HEX and \
                s[i + 2] in _HEX:
            out.append(int(s[i + 1:i + 3], 16))
            i += 3
            continue
        out.append(c)
        i += 1
    return bytes(out)


def form_encode(pairs):
    """application/x-www-form-urlencoded body for pairs (list or dict), as
    Twilio and browsers write it (space as '+')."""
    if isinstance(pairs, dict):
        pairs = list(pairs.items())
    return urllib.parse.urlencode([(k, v) for k, v in pairs]).encode()


def form_decode(body):
    """Decode a form body into [(name, value)] str pairs, in order."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return urllib.parse.parse_qsl(body, keep_blank_values=True)


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


class Resp:
    def __init__(self, status, reason, headers, body, elapsed):
        self.status = status
        self.reason = reason
        self.header_list = headers          # [(name, value)] as received
        self.headers = {}
        for k, v in headers:
            self.headers[k.lower()] = v     # last one wins
        self.body = body
        self.elapsed = elapsed

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def header_all(self, name):
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"),
                          object_pairs_hook=OrderedDict)

    def __repr__(self):
        return "<Resp %d %r>" % (self.status, self.body[:200])


def _basic_header(auth):
    if auth is True:
        auth = ENV.basic_auth
    if isinstance(auth, tuple):
        auth = "%s:%s" % auth
    return "Basic " + base64.b64encode(_b(auth)).decode("ascii")


def http_raw(method, host, port, target, headers=(), body=None,
             timeout=30.0):
    """Send one request and return a Resp.  headers is a list of pairs sent
    as given (plus Host and, with a body, Content-Length).  A server that
    answers and closes before the whole body is sent (nginx's 413) still
    gives its answer."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        have_len = False
        for k, v in headers:
            conn.putheader(k, v)
            have_len = have_len or k.lower() == "content-length"
        if body is not None and not have_len:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body:
            try:
                for i in range(0, len(body), 16384):
                    conn.send(body[i:i + 16384])
            except (BrokenPipeError, ConnectionResetError):
                pass
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, r.reason, r.getheaders(), data,
                    time.monotonic() - t0)
    finally:
        conn.close()


def url_for(path, query=None):
    """path plus '?' and query (a raw string, or pairs to encode)."""
    if query is None or query == "" or query == []:
        return path
    if not isinstance(query, str):
        if isinstance(query, dict):
            query = list(query.items())
        query = urllib.parse.urlencode(query)
    return path + "?" + query


def request(method, path, query=None, form=None, json_body=None, body=None,
            content_type=None, headers=(), auth=True, signature=True,
            sign_base=None, token=None, body_sha=True, timeout=30.0):
    """One request through nginx to FLEXHOOKS_PORT.

    query: None, a raw query string (sent as typed) or pairs to encode.
    form: pairs or a dict, sent as a form body (Content-Type form).
    json_body: an object (serialised without whitespace) or a str sent as
    is, with Content-Type application/json; bodySHA256 is added to the query
    unless body_sha is False.  body: raw bytes with content_type.
    auth: True (FLEXHOOKS_BASIC_AUTH), a "user:pass" str or (user, pass)
    tuple, or None/False for no Authorization header.
    signature: True computes it from what is really sent (form mode for a
    form POST, else URL mode, bodySHA256 in the query forcing URL mode);
    a str is sent as is; None/False sends no header.  sign_base replaces
    FLEXHOOKS_PUBLIC_URL in the signed URL (userinfo or port variants);
    token replaces AUTH_TOKEN."""
    hdrs = []
    if form is not None:
        body = form_encode(form)
        if content_type is None:
            content_type = "application/x-www-form-urlencoded"
    elif json_body is not None:
        if isinstance(json_body, (str, bytes)):
            body = _b(json_body)
        else:
            body = json.dumps(json_body, separators=(",", ":")).encode()
        if content_type is None:
            content_type = "application/json"
        if body_sha:
            q = url_for("", query)[1:] if query else ""
            extra = "bodySHA256=" + body_sha256(body)
            query = q + "&" + extra if q else extra
    elif body is not None:
        body = _b(body)
    target = url_for(path, query)
    if content_type is not None:
        hdrs.append(("Content-Type", content_type))
    if auth:
        hdrs.append(("Authorization", _basic_header(auth)))
    if signature is True:
        url = (sign_base or ENV.public_url) + target
        ctype = (content_type or "").split(";")[0].strip().lower()
        qs = urllib.parse.urlsplit(target).query
        body_mode = any(k == "bodySHA256" for k, _ in
                        urllib.parse.parse_qsl(qs, keep_blank_values=True))
        if (method == "POST" and not body_mode and
                ctype == "application/x-www-form-urlencoded"):
            params = decode_form_bytes(body or b"")
        else:
            params = None
        hdrs.append(("X-Twilio-Signature", sign(url, params, token)))
    elif signature:
        hdrs.append(("X-Twilio-Signature", signature))
    hdrs.extend(headers)
    if body is None and method in ("POST", "PUT"):
        body = b""
    return http_raw(method, ENV.host, ENV.port, target, hdrs, body,
                    timeout)


# --------------------------------------------------------------------------
# The Twilio emulator
# --------------------------------------------------------------------------


class EmulatorError(Exception):
    pass


class Emulator:
    """Client of the emulator's control routes (docs/design/README.md#the-local-stack-and-the-twilio-emulator).
    Never resets: other scripts share the emulator."""

    def __init__(self, base=None):
        u = urllib.parse.urlsplit(base or ENV.emulator_url)
        self.host = u.hostname
        self.port = u.port or 80

    def _call(self, method, target, obj=None, ok=(200, 201, 204)):
        body = None
        hdrs = []
        if obj is not None:
            body = json.dumps(obj).encode()
            hdrs.append(("Content-Type", "application/json"))
        r = http_raw(method, self.host, self.port, target, hdrs, body, 30.0)
        if r.status not in ok:
            raise EmulatorError("emulator %s %s: %d %s" % (
                method, target, r.status, r.text[:300]))
        if r.body:
            try:
                return json.loads(r.body.decode("utf-8"),
                                  object_pairs_hook=OrderedDict)
            except ValueError:
                return r.text
        return None

    def requests(self, since=0):
        """Every request received since the mark: a list of dicts with seq,
        method, path, query, headers, body and form ([[name, value], ...])."""
        out = []
        nxt = since
        for _ in range(1000):
            d = self._call("GET", "/__emulator/requests?since=%d" % nxt)
            reqs = d.get("requests", [])
            out.extend(reqs)
            new = d.get("next", nxt)
            if not reqs or new == nxt:
                break
            nxt = new
        return out

    def mark(self):
        """The current end of the request log: pass it to requests()."""
        d = self._call("GET", "/__emulator/requests?since=%d" % (1 << 62))
        if isinstance(d, dict) and isinstance(d.get("next"), int) and \
                d["next"] < (1 << 62):
            return d["next"]
        # an emulator that echoes since: walk the log from the start
        d = self._call("GET", "/__emulator/requests?since=0")
        reqs = d.get("requests", [])
        return d.get("next", (reqs[-1]["seq"] + 1) if reqs else 0)

    def state(self):
        return self._call("GET", "/__emulator/state")

    def tasks(self):
        """Stored tasks: a list of task dicts (Twilio's JSON shape)."""
        st = self.state() or {}
        tasks = st.get("tasks", [])
        if isinstance(tasks, dict):
            tasks = list(tasks.values())
        return tasks

    def task(self, sid):
        for t in self.tasks():
            if t.get("sid") == sid:
                return t
        return None

    def fault(self, **fault):
        """Queue one fault (method, path prefix, status, retry_after, code,
        times, delay_ms, drop, ...)."""
        return self._call("POST", "/__emulator/faults", fault)

    def clear_faults(self):
        """Clear EVERY fault (other scripts' too): prefer remove_faults()."""
        return self._call("DELETE", "/__emulator/faults")

    def faults(self):
        return (self._call("GET", "/__emulator/faults") or {}).get(
            "faults", [])

    def remove_faults(self, pred):
        """Remove the active faults for which pred(fault) is true, keeping
        the others (the emulator can only clear all, so the rest are added
        back with their remaining counts).  Returns how many went."""
        cur = self.faults()
        gone = [f for f in cur if pred(f)]
        if not gone:
            return 0
        self.clear_faults()
        keep = []
        for f in cur:
            if pred(f):
                continue
            f = {k: v for k, v in f.items()
                 if k not in ("id", "hits", "modifier")}
            if f.get("times") is None:
                f["times"] = 0          # unlimited
            keep.append(f)
        if keep:
            self._call("POST", "/__emulator/faults", {"faults": keep})
        return len(gone)

    def seed(self, obj):
        return self._call("POST", "/__emulator/seed", obj)


EMU = Emulator()


class fault:
    """with fault(path=..., status=..., ...): one emulator fault (times 1
    unless given), labelled with a tag of its own and removed when the
    block ends; when the block ended normally, used (the default) and a
    number of times given, a fault not used up fails the test: flexhooks
    made fewer attempts than the test expects."""

    def __init__(self, used=True, **kw):
        kw.setdefault("times", 1)
        self.kw = kw
        self.used = used
        self.tag = "fh-fault-" + unique_hex(8)

    def __enter__(self):
        self.kw["tag"] = self.tag
        EMU.fault(**self.kw)
        return self

    def __exit__(self, *exc):
        left = EMU.remove_faults(lambda f: f.get("tag") == self.tag)
        if left and self.used and self.kw.get("times") and \
                exc[0] is None:
            raise AssertionError("fault %r not used up: flexhooks made "
                                 "fewer attempts than expected" % (self.kw,))
        return False


def header_of(req, name):
    """A header of an emulator read-back request, case-insensitively
    (None when absent)."""
    h = req.get("headers") or {}
    if isinstance(h, list):
        h = {k: v for k, v in h}
    for k, v in h.items():
        if k.lower() == name.lower():
            return v
    return None


def form_of(req):
    """The decoded form pairs of an emulator read-back request."""
    f = req.get("form")
    if f is None:
        return form_decode(req.get("body") or "")
    return [tuple(p) for p in f]


def first(pairs, name, default=None):
    for k, v in pairs:
        if k == name:
            return v
    return default


def is_task_create(req):
    return req.get("method") == "POST" and \
        req.get("path") == ENV.tasks_path


def task_creates(reqs, marker):
    """The task-create requests among reqs whose form mentions marker (a
    unique phone number, SID ...)."""
    out = []
    for r in reqs:
        if not is_task_create(r):
            continue
        if any(marker in v for _, v in form_of(r)):
            out.append(r)
    return out


def mentions(req, marker):
    """True when an emulator read-back request carries marker anywhere
    (path, query, body, decoded form)."""
    if marker in (req.get("path") or "") or \
            marker in urllib.parse.unquote_plus(req.get("query") or ""):
        return True
    if marker in (req.get("body") or ""):
        return True
    return any(marker in v for _, v in form_of(req))


# --------------------------------------------------------------------------
# Program logs
# --------------------------------------------------------------------------


def log_path(prog="create-callback"):
    return os.path.join(ENV.log_dir, prog + ".log")


def log_mark(prog="create-callback"):
    """The current size of the program's log: pass it to log_since()."""
    try:
        return os.path.getsize(log_path(prog))
    except OSError:
        return 0


def log_since(mark, prog="create-callback"):
    """(raw text, [parsed JSON objects]) of the lines written since mark.
    Lines that are not JSON objects are kept in the raw text only."""
    try:
        with open(log_path(prog), "rb") as f:
            f.seek(mark)
            raw = f.read().decode("utf-8", "replace")
    except OSError:
        return "", []
    objs = []
    for line in raw.splitlines():
        try:
            o = json.loads(line, object_pairs_hook=OrderedDict)
        except ValueError:
            continue
        if isinstance(o, dict):
            objs.append(o)
    return raw, objs


def last_log_lines(n=1, prog="create-callback"):
    """The last n JSON lines of the program's log."""
    _, objs = log_since(0, prog)
    return objs[-n:]


def access_lines(objs, path=None):
    """The access lines (those with a status) among objs, optionally only
    for one path."""
    return [o for o in objs if "status" in o and "rid" in o and
            (path is None or o.get("path") == path)]


def wait_log(mark, pred, prog="create-callback", timeout=3.0):
    """Poll the log until a line since mark satisfies pred; returns
    (raw, objs, the matching line or None).  Programs write their access
    line just after answering, so a short wait may be needed."""
    end = time.monotonic() + timeout
    while True:
        raw, objs = log_since(mark, prog)
        hit = [o for o in objs if pred(o)]
        if hit or time.monotonic() > end:
            return raw, objs, (hit[-1] if hit else None)
        time.sleep(0.05)


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------

_rng = random.SystemRandom()
_used = set()


def children(ppid):
    """Live PIDs whose parent is ppid (from /proc), sorted."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces; a zombie (a
        # child not reaped yet) does not count
        rest = stat[stat.rfind(")") + 2:].split()
        if len(rest) > 1 and int(rest[1]) == ppid and rest[0] != "Z":
            out.append(int(d))
    return sorted(out)


def spawn_fcgi(prog, sock, tmp, processes):
    """prog (a built program's path) under spawn-fcgi on the unix socket
    sock (mode 0600), with a configuration file in tmp that says
    FLEXHOOKS_PROCESSES=processes and its output in tmp/<prog>.log; only
    the sanitizers' settings pass through from the environment.  The
    Popen of spawn-fcgi (it execs the program: the supervisor)."""
    conf = os.path.join(tmp, "flexhooks.env")
    with open(conf, "w") as f:
        f.write("FLEXHOOKS_PROCESSES=%s\n" % processes)
    os.chmod(conf, 0o600)
    env = {"PATH": "/usr/bin:/bin", "FLEXHOOKS_CONFIG": conf}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    name = os.path.basename(prog)
    with open(os.path.join(tmp, name + ".log"), "ab") as log:
        return subprocess.Popen(["spawn-fcgi", "-n", "-s", sock, "-M", "0600",
                                 "--", os.path.abspath(prog)],
                                stdout=log, stderr=log, env=env)


def wait_for(pred, timeout):
    """pred()'s first true value within timeout seconds (polled every
    50 ms), else its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


def program_pids(name):
    """The PIDs of the stack's program name: the one deploy/local.sh wrote
    in its pid file (the supervisor when FLEXHOOKS_PROCESSES > 1), then
    that one's children (the workers)."""
    pidfile = os.path.join(os.path.dirname(ENV.log_dir), "run",
                           name + ".pid")
    with open(pidfile) as f:
        top = int("".join(c for c in f.read() if c.isdigit()))
    return [top] + children(top)


def read_text(path):
    """A file's text (undecodable bytes replaced)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def _ephemeral_low():
    """The first port of the kernel's ephemeral range (what it gives
    outgoing connections and bind() to port 0)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A loopback TCP port nothing is bound to right now, below the
    kernel's ephemeral range: a port from that range (bind() to port 0)
    may be given to some outgoing connection as its source port before
    the caller binds it ("Address already in use").  Picked at random from
    20000 up, leaving out the test stacks' own (FLEXHOOKS_PORT and the
    next ones, any *080-*089)."""
    top = max(_ephemeral_low(), 20001)
    for _ in range(1000):
        port = _rng.randrange(20000, top)
        if 0 <= port - ENV.port < 10 or 80 <= port % 1000 < 90:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below %d" % top)


def kill_group(g, sig):
    """Signal the process group that the Popen g leads (started with
    start_new_session=True); gone already is fine."""
    try:
        os.killpg(g.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_groups(groups):
    """Stop every process group in groups (name -> Popen): "nginx" first,
    so that nothing new reaches a stopping program, with SIGQUIT, the
    others with SIGTERM; 5 s for all, then SIGKILL for the stragglers of
    each group."""
    order = ["nginx"] + [n for n in groups if n != "nginx"]
    for name in order:
        g = groups.get(name)
        if g is not None:
            kill_group(g, signal.SIGQUIT if name == "nginx"
                       else signal.SIGTERM)
    end = time.monotonic() + 5
    for name in order:
        g = groups.get(name)
        if g is None:
            continue
        try:
            g.wait(max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        kill_group(g, signal.SIGKILL)
        try:
            g.wait(2)
        except subprocess.TimeoutExpired:
            pass


def concurrently(fns):
    """Run each function in its own thread at once; returns their results
    in order (an exception is returned, not raised)."""
    out = [None] * len(fns)

    def run(i):
        try:
            out[i] = fns[i]()
        except Exception as e:  # noqa: BLE001 - the caller checks
            out[i] = e
    th = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for x in th:
        x.start()
    for x in th:
        x.join(60)
    return out


# --------------------------------------------------------------------------
# FastCGI: talking to a program's socket without nginx
# --------------------------------------------------------------------------


def fcgi_record(rtype, content, req_id=1):
    """FastCGI records (version 1, no padding) of content: one, or several
    when it is longer than a record holds (65535 bytes)."""
    out = b""
    while True:
        part, content = content[:65535], content[65535:]
        out += struct.pack(">BBHHBB", 1, rtype, req_id, len(part), 0, 0)
        out += part
        if not content:
            return out


def fcgi_nv(name, value):
    """One FastCGI name-value pair (str or bytes)."""
    def ln(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    name, value = _b(name), _b(value)
    return ln(len(name)) + ln(len(value)) + name + value


def fcgi_params(method, uri, body_len=0, extra=()):
    """The parameters nginx passes for a request (DOCUMENT_URI and
    SCRIPT_NAME the path), plus the (name, value) pairs of extra."""
    path, _, query = uri.partition("?")
    return [("REQUEST_METHOD", method), ("REQUEST_URI", uri),
            ("DOCUMENT_URI", path), ("SCRIPT_NAME", path),
            ("QUERY_STRING", query), ("CONTENT_LENGTH", str(body_len)),
            ("SERVER_PROTOCOL", "HTTP/1.1")] + list(extra)


FCGI_KEEP_CONN = 1


def fcgi_begin(params, req_id=1, keep=False):
    """BEGIN_REQUEST (responder; FCGI_KEEP_CONN when keep) and the whole
    PARAMS stream."""
    flags = FCGI_KEEP_CONN if keep else 0
    return (fcgi_record(1, struct.pack(">HB5x", 1, flags), req_id) +
            fcgi_record(4, b"".join(fcgi_nv(k, v) for k, v in params),
                        req_id) +
            fcgi_record(4, b"", req_id))


def fcgi_stdin(body, req_id=1):
    """The STDIN stream: body in records of at most 60000 bytes, then the
    empty one."""
    return b"".join(fcgi_record(5, body[i:i + 60000], req_id)
                    for i in range(0, len(body), 60000)) + \
        fcgi_record(5, b"", req_id)


def fcgi_answer(s):
    """Read records from s up to FCGI_END_REQUEST, leaving the connection
    open: (the STDOUT stream's bytes, ended), ended False when the
    connection closed first."""
    data, out = b"", b""
    while True:
        while len(data) >= 8:
            _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", data[:8])
            if len(data) < 8 + clen + plen:
                break
            if rtype == 6:
                out += data[8:8 + clen]
            data = data[8 + clen + plen:]
            if rtype == 3:
                return out, True
        chunk = s.recv(65536)
        if not chunk:
            return out, False
        data += chunk


def fcgi_read(s):
    """Read the socket s to its end; the STDOUT stream's bytes (an error
    while reading ends it: what came so far)."""
    data = out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    while len(data) >= 8:
        _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", data[:8])
        if rtype == 6:
            out += data[8:8 + clen]
        data = data[8 + clen + plen:]
    return out


def fcgi_connect(sock_path, timeout=30):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    return s


def fcgi_request(sock_path, params, body=b"", timeout=30):
    """One request on a program's socket; the STDOUT stream."""
    s = fcgi_connect(sock_path, timeout)
    try:
        s.sendall(fcgi_begin(params) + fcgi_stdin(body))
        return fcgi_read(s)
    finally:
        s.close()


def fcgi_parse(out):
    """A STDOUT stream as (status, {lower-case header: value}, body)."""
    head, _, body = out.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(headers.get("status", "200").split()[0]), headers, body


def task_attrs(task):
    """A task's attributes as a dict: the emulator keeps them as a JSON
    string; a missing or unreadable value is {}."""
    a = task.get("attributes")
    if isinstance(a, str):
        try:
            return json.loads(a)
        except ValueError:
            return {}
    return a or {}


def unique_number(country="1"):
    """A fresh E.164 number (+1NXXNXXXXXX) unlikely to be used by any other
    test, so requests and tasks can be found by it."""
    while True:
        digits = str(_rng.randint(2, 9)) + "%02d" % _rng.randint(0, 99) + \
            str(_rng.randint(2, 9)) + "%06d" % _rng.randint(0, 999999)
        n = "+" + country + digits
        if n not in _used:
            _used.add(n)
            return n


def unique_hex(n=32):
    return "".join(_rng.choice("0123456789abcdef") for _ in range(n))


def sid(prefix):
    return prefix + unique_hex(32)


def dumps_plain(obj):
    """JSON without whitespace, non-ASCII kept (json-c's PLAIN form)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def loads_ordered(s):
    return json.loads(s, object_pairs_hook=OrderedDict)


def error_body(message, code=None, more_info=None):
    """The exact docs/design/platform.md#answers error body."""
    return dumps_plain(OrderedDict([("success", False),
                                    ("message", message),
                                    ("code", code),
                                    ("more_info", more_info)])).encode()


# --------------------------------------------------------------------------
# flexhooks-provision (docs/design/taskrouter-events.md#provisioning)
# --------------------------------------------------------------------------

# the sanitizers' settings of an ASan build pass through, nothing else
PROVISION_ENV = ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")


def provision_binary():
    """The built program: FLEXHOOKS_BUILD_DIR/tools/provision/flexhooks-provision."""
    build = os.environ.get("FLEXHOOKS_BUILD_DIR") or ENV.root
    return os.path.join(build, "tools", "provision", "flexhooks-provision")


def provision_event_url():
    """The EventCallbackUrl provisioning must set: <public-auth> +
    /tr-event-callback."""
    u = urllib.parse.urlsplit(ENV.public_url)
    return "%s://%s@%s%s/tr-event-callback" % (u.scheme, ENV.basic_auth,
                                               u.netloc, u.path)


def fresh_workspace(everyone=True, **ws):
    """A new workspace in the emulator (Offline and Available activities,
    and Flex's 'Everyone' queue unless everyone is False); ws adds seed
    fields (event_callback_url, events_filter)."""
    spec = {"friendly_name": "provision test " + unique_hex(8)}
    spec.update(ws)
    sid = EMU.seed({"workspaces": [spec]})["workspaces"][0]
    if everyone:
        EMU.seed({"workspace_sid": sid, "task_queues": [
            {"friendly_name": "Everyone", "target_workers": "1==1"}]})
    return sid


class ProvisionRun:
    """One run: exit status, stdout, stderr, and the emulator requests
    that name its workspace."""

    def __init__(self, rc, out, err, reqs):
        self.rc, self.out, self.err, self.reqs = rc, out, err, reqs

    @property
    def posts(self):
        return [r for r in self.reqs if r["method"] == "POST"]

    def lines(self):
        return [ln for ln in self.err.splitlines() if ln.strip()]


def run_provision(ws, *args, config=None, drop=()):
    """Run flexhooks-provision for workspace ws with a clean environment
    and a --config file pointing it at the emulator; config adds or
    replaces lines of that file, drop leaves keys out.  Asserts that no
    output holds the webhook password or a sanitizer report."""
    cfg = {"ACCOUNT_SID": ENV.account_sid, "AUTH_TOKEN": ENV.auth_token,
           "TWILIO_FLEX_WORKSPACE_SID": ws,
           "FLEXHOOKS_TASKROUTER_URL": ENV.emulator_url,
           "FLEXHOOKS_TWILIO_API_URL": ENV.emulator_url,
           "FLEXHOOKS_IAM_URL": ENV.emulator_url,
           "FLEXHOOKS_PUBLIC_URL": ENV.public_url,
           "FLEXHOOKS_BASIC_AUTH": ENV.basic_auth}
    cfg.update(config or {})
    env = {k: os.environ[k] for k in PROVISION_ENV if k in os.environ}
    with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as f:
        for k, v in cfg.items():
            if k not in drop and v is not None:
                f.write("%s=%s\n" % (k, v))
        path = f.name
    mark = EMU.mark()
    try:
        p = subprocess.run([provision_binary(), "--config", path] +
                           list(args), env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
    finally:
        os.unlink(path)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    # only what this run sent for its workspace (other scripts run too)
    reqs = [r for r in EMU.requests(mark)
            if ws in r["path"] or ws in (r.get("query") or "")]
    for text in (out, err):
        ok(ENV.basic_password not in text,
           "the webhook password was printed:\n" + text)
        ok("Sanitizer" not in text and "runtime error" not in text,
           "sanitizer report:\n" + text)
    return ProvisionRun(p.returncode, out, err, reqs)


# --------------------------------------------------------------------------
# Assertions
# --------------------------------------------------------------------------


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what or "value",
                                                      got, want))


def ok(cond, what):
    if not cond:
        raise AssertionError(what)


def match(pattern, s, what=""):
    if s is None or not re.search(pattern, s):
        raise AssertionError("%s: %r does not match %r" % (
            what or "value", s, pattern))


def json_type(resp):
    ct = resp.header("Content-Type")
    eq(ct, "application/json", "Content-Type")


def is_json_error(resp, status, message, code=None, more_info=None):
    """resp is status with exactly the docs/design/platform.md#answers error body."""
    eq(resp.status, status, "status (body %r)" % resp.body[:200])
    json_type(resp)
    eq(resp.body, error_body(message, code, more_info), "error body")


# --------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------


class Skip(Exception):
    pass


def skip(reason):
    raise Skip(reason)


_TESTS = []


def test(fn=None, tags=()):
    """Register fn as a test (usable as @test or @test(tags=(...)))."""
    def reg(f):
        _TESTS.append((f.__name__, f, tuple(tags)))
        return f
    if fn is not None:
        return reg(fn)
    return reg


def _selected(name, tags):
    only = [s for s in os.environ.get("FHTEST_ONLY", "").split(",") if s]
    deny = [s for s in os.environ.get("FHTEST_SKIP", "").split(",") if s]
    argv = [a for a in sys.argv[1:] if not a.startswith("-")]
    keys = (name,) + tags
    if argv and not any(a == name or a in tags for a in argv):
        return False
    if only and not any(s in k for s in only for k in keys):
        return False
    if deny and any(s in k for s in deny for k in keys):
        return False
    return True


def run(tests=None):
    """Run tests (default: every registered one, in order); print one line
    each.  Returns (passed, failed, skipped)."""
    passed = failed = skipped = 0
    for name, fn, tags in (_TESTS if tests is None else tests):
        if not _selected(name, tags):
            skipped += 1
            print("skip %s: not selected" % name)
            continue
        t0 = time.monotonic()
        try:
            fn()
        except Skip as e:
            skipped += 1
            print("skip %s: %s" % (name, e))
        except AssertionError as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
        except Exception as e:  # noqa: BLE001 - report, keep going
            failed += 1
            tb = traceback.format_exception_only(type(e), e)[-1].strip()
            print("FAIL %s: exception %s" % (name, tb))
            traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print("ok %s (%.2fs)" % (name, time.monotonic() - t0))
        sys.stdout.flush()
    return passed, failed, skipped


def finish(passed, failed, skipped=0):
    """Print "N passed, M failed[, K skipped]" and exit 1 on any failure,
    77 when everything was skipped, else 0."""
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    sys.stdout.flush()
    if failed:
        sys.exit(1)
    if passed == 0 and skipped:
        sys.exit(SKIP_EXIT)
    sys.exit(0)


def main():
    """Run every registered test and exit (see finish())."""
    finish(*run())
