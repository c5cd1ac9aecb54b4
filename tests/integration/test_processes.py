#!/usr/bin/env python3
"""FLEXHOOKS_PROCESSES: one FastCGI program supervising several processes
on one socket (lib/fcgi_serve.c supervise()).

Needs no stack: the test starts cgi-bin/healthz under spawn-fcgi on a
private socket, talks FastCGI to it itself, and checks that the children
all serve, that a killed child is replaced, that SIGHUP is harmless, that
SIGTERM stops every process (at once when idle, after the request in
progress otherwise), and that a bad value is refused at start-up.
Run from the build directory (make check does); skips (77) without
spawn-fcgi.
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

PROG = os.path.join("cgi-bin", "healthz")
FAILED = []
PASSED = [0]


def check(name, cond, detail=""):
    if cond:
        PASSED[0] += 1
        print("ok - %s" % name)
    else:
        FAILED.append(name)
        print("not ok - %s %s" % (name, detail))


def children(ppid):
    """Live PIDs whose parent is ppid (from /proc)."""
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


def three(pids, gone=None):
    """pids when they are three and gone is not among them, else None
    (one reading of /proc, so the checks agree)."""
    return pids if len(pids) == 3 and gone not in pids else None


def wait_for(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


def record(rtype, req_id, content):
    return struct.pack(">BBHHBB", 1, rtype, req_id, len(content), 0, 0) + \
        content


def nv(name, value):
    def ln(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return ln(len(name)) + ln(len(value)) + name + value


def fcgi_get(sock_path, path):
    """One FastCGI GET; returns the whole stdout stream."""
    params = b"".join(nv(k.encode(), v.encode()) for k, v in (
        ("REQUEST_METHOD", "GET"), ("REQUEST_URI", path),
        ("SCRIPT_NAME", path), ("QUERY_STRING", ""),
        ("CONTENT_LENGTH", "0"), ("SERVER_PROTOCOL", "HTTP/1.1")))
    msg = record(1, 1, struct.pack(">HB5x", 1, 0))   # BEGIN, responder
    msg += record(4, 1, params) + record(4, 1, b"")
    msg += record(5, 1, b"")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock_path)
    s.sendall(msg)
    data = b""
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    while len(data) >= 8:
        _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", data[:8])
        if rtype == 6:
            out += data[8:8 + clen]
        data = data[8 + clen + plen:]
    return out


def fcgi_get_interrupted(sock_path, path, pid):
    """A FastCGI GET whose parameters arrive in two parts, with a SIGTERM
    to pid between them (the process has accepted the connection and is
    reading it, as when systemd stops a unit under load); returns the
    whole stdout stream."""
    params = b"".join(nv(k.encode(), v.encode()) for k, v in (
        ("REQUEST_METHOD", "GET"), ("REQUEST_URI", path),
        ("SCRIPT_NAME", path), ("QUERY_STRING", ""),
        ("CONTENT_LENGTH", "0"), ("SERVER_PROTOCOL", "HTTP/1.1")))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock_path)
    s.sendall(record(1, 1, struct.pack(">HB5x", 1, 0)) +
              record(4, 1, params[:10]))
    time.sleep(0.3)
    os.kill(pid, signal.SIGTERM)
    time.sleep(0.3)
    out = data = b""
    try:
        s.sendall(record(4, 1, params[10:]) + record(4, 1, b"") +
                  record(5, 1, b""))
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    s.close()
    while len(data) >= 8:
        _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", data[:8])
        if rtype == 6:
            out += data[8:8 + clen]
        data = data[8 + clen + plen:]
    return out


def unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def start(tmp, processes):
    conf = os.path.join(tmp, "flexhooks.env")
    with open(conf, "w") as f:
        f.write("FLEXHOOKS_PROCESSES=%s\n" % processes)
    os.chmod(conf, 0o600)
    sock = os.path.join(tmp, "healthz.sock")
    log = open(os.path.join(tmp, "healthz.log"), "ab")
    env = {"PATH": "/usr/bin:/bin", "FLEXHOOKS_CONFIG": conf}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    p = subprocess.Popen(["spawn-fcgi", "-n", "-s", sock, "-M", "0600",
                          "--", os.path.abspath(PROG)],
                         stdout=log, stderr=log, env=env)
    return p, sock


def main():
    if shutil.which("spawn-fcgi") is None:
        print("SKIP: spawn-fcgi not installed")
        return 77
    if not os.access(PROG, os.X_OK):
        print("SKIP: %s not built (run from the build directory)" % PROG)
        return 77
    tmp = tempfile.mkdtemp(prefix="fhproc")
    try:
        p, sock = start(tmp, 3)
        kids = wait_for(lambda: three(children(p.pid)), 15) or []
        check("three processes started", len(kids) == 3, repr(kids))
        wait_for(lambda: os.path.exists(sock), 5)
        answers = [fcgi_get(sock, "/healthz") for _ in range(9)]
        check("every request answered",
              all(a.startswith(b"Status: ") for a in answers),
              repr(answers[:2]))

        os.kill(kids[0], signal.SIGKILL)
        again = wait_for(lambda: three(children(p.pid), kids[0]), 15) or []
        check("a killed process is replaced", len(again) == 3 and
              kids[0] not in again, repr(again))
        check("the socket still serves",
              fcgi_get(sock, "/healthz").startswith(b"Status: "))

        os.kill(p.pid, signal.SIGHUP)
        time.sleep(0.5)
        check("SIGHUP stops nothing", children(p.pid) == again and
              p.poll() is None, repr(children(p.pid)))

        os.kill(p.pid, signal.SIGTERM)
        try:
            rc = p.wait(timeout=8)
        except subprocess.TimeoutExpired:
            rc = None
            p.kill()
        check("SIGTERM ends the supervisor with status 0", rc == 0,
              repr(rc))
        check("and every process",
              not any(os.path.exists("/proc/%d" % k) and
                      open("/proc/%d/stat" % k).read().split()[2] != "Z"
                      for k in again), repr(again))

        # SIGTERM while a request is being read: the request is answered,
        # then the process ends (before: read() failed with EINTR and the
        # connection closed unanswered, nginx's 502 on every restart)
        unlink(os.path.join(tmp, "healthz.sock"))
        p, sock = start(tmp, 1)
        wait_for(lambda: os.path.exists(sock), 5)
        check("one process serves",
              fcgi_get(sock, "/healthz").startswith(b"Status: "))
        out = fcgi_get_interrupted(sock, "/healthz", p.pid)
        check("SIGTERM during a request: it is answered",
              out.startswith(b"Status: 200"), repr(out[:80]))
        try:
            rc = p.wait(timeout=3)
        except subprocess.TimeoutExpired:
            rc = None
            p.kill()
        check("then the process ends with status 0", rc == 0, repr(rc))

        # an idle process stops at once (it waits for connections with
        # SIGTERM unblocked), and so does a supervisor's
        for n in (1, 3):
            unlink(sock)
            p, sock = start(tmp, n)
            wait_for(lambda: os.path.exists(sock), 5)
            if n > 1:
                wait_for(lambda: three(children(p.pid)), 15)
            fcgi_get(sock, "/healthz")
            t0 = time.monotonic()
            os.kill(p.pid, signal.SIGTERM)
            try:
                rc = p.wait(timeout=8)
            except subprocess.TimeoutExpired:
                rc = None
                p.kill()
            took = time.monotonic() - t0
            check("FLEXHOOKS_PROCESSES=%d idle: SIGTERM stops it within 1 s"
                  % n, rc == 0 and took < 1, "rc %r in %.2f s" % (rc, took))

        for bad in ("0", "257", "four"):
            p, _ = start(tmp, bad)
            try:
                rc = p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = None
            check("FLEXHOOKS_PROCESSES=%s refused" % bad, rc == 1, repr(rc))
        with open(os.path.join(tmp, "healthz.log"), "rb") as f:
            log = f.read()
        check("the refusal names the variable",
              b"FLEXHOOKS_PROCESSES" in log)
        check("a replaced process is logged",
              b"killed by signal 9" in log)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (PASSED[0], len(FAILED)))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
