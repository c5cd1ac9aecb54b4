#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
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
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest as t  # noqa: E402
from fhtest import children  # noqa: E402

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


def three(pids, gone=None):
    """pids when they are three and gone is not among them, else None
    (one reading of /proc, so the checks agree)."""
    return pids if len(pids) == 3 and gone not in pids else None


def fcgi_get(sock_path, path):
    """One FastCGI GET; returns the whole stdout stream."""
    return t.fcgi_request(sock_path, t.fcgi_params("GET", path), timeout=5)


def fcgi_get_interrupted(sock_path, path, pid):
    """A FastCGI GET whose parameters arrive in two parts, with a SIGTERM
    to pid between them (the process has accepted the connection and is
    reading it, as when systemd stops a unit under load); returns the
    whole stdout stream."""
    msg = t.fcgi_begin(t.fcgi_params("GET", path)) + t.fcgi_stdin(b"")
    s = t.fcgi_connect(sock_path, 5)
    try:
        s.sendall(msg[:34])     # BEGIN_REQUEST and 10 bytes of PARAMS
        time.sleep(0.3)
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.3)
        try:
            s.sendall(msg[34:])
        except OSError:
            pass
        return t.fcgi_read(s)
    finally:
        s.close()


def wait_rc(p, timeout):
    """p's exit status within timeout seconds, else None (and p killed)."""
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return None


def unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def start(tmp, processes):
    sock = os.path.join(tmp, "healthz.sock")
    return t.spawn_fcgi(PROG, sock, tmp, processes), sock


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
        kids = t.wait_for(lambda: three(children(p.pid)), 15) or []
        check("three processes started", len(kids) == 3, repr(kids))
        t.wait_for(lambda: os.path.exists(sock), 5)
        answers = [fcgi_get(sock, "/healthz") for _ in range(9)]
        check("every request answered",
              all(a.startswith(b"Status: ") for a in answers),
              repr(answers[:2]))

        os.kill(kids[0], signal.SIGKILL)
        again = t.wait_for(lambda: three(children(p.pid), kids[0]), 15) or []
        check("a killed process is replaced", len(again) == 3 and
              kids[0] not in again, repr(again))
        check("the socket still serves",
              fcgi_get(sock, "/healthz").startswith(b"Status: "))

        os.kill(p.pid, signal.SIGHUP)
        time.sleep(0.5)
        check("SIGHUP stops nothing", children(p.pid) == again and
              p.poll() is None, repr(children(p.pid)))

        os.kill(p.pid, signal.SIGTERM)
        rc = wait_rc(p, 8)
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
        t.wait_for(lambda: os.path.exists(sock), 5)
        check("one process serves",
              fcgi_get(sock, "/healthz").startswith(b"Status: "))
        out = fcgi_get_interrupted(sock, "/healthz", p.pid)
        check("SIGTERM during a request: it is answered",
              out.startswith(b"Status: 200"), repr(out[:80]))
        rc = wait_rc(p, 3)
        check("then the process ends with status 0", rc == 0, repr(rc))

        # an idle process stops at once (it waits for connections with
        # SIGTERM unblocked), and so does a supervisor's
        for n in (1, 3):
            unlink(sock)
            p, sock = start(tmp, n)
            t.wait_for(lambda: os.path.exists(sock), 5)
            if n > 1:
                t.wait_for(lambda: three(children(p.pid)), 15)
            fcgi_get(sock, "/healthz")
            t0 = time.monotonic()
            os.kill(p.pid, signal.SIGTERM)
            rc = wait_rc(p, 8)
            took = time.monotonic() - t0
            check("FLEXHOOKS_PROCESSES=%d idle: SIGTERM stops it within 1 s"
                  % n, rc == 0 and took < 1, "rc %r in %.2f s" % (rc, took))

        for bad in ("0", "257", "four"):
            p, _ = start(tmp, bad)
            rc = wait_rc(p, 5)
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
