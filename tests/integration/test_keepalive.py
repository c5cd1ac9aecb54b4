#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""FastCGI keep-alive without starvation (nginx/flexhooks.conf.in
"# @keepalive", lib/fcgi_serve.c).

nginx keeps idle connections to a program (`fastcgi_keep_conn on`,
`keepalive K` in its upstream), and a libfcgi process that holds one waits
on it for its next request instead of accepting: each idle kept connection
pins a process.  With W nginx workers keeping at most K each, at most W x K
processes are pinned; the stack sizes K = (P - 1) / W so that one of the P
processes of a program always accepts.

Part 1 (no stack: cgi-bin/healthz under spawn-fcgi on a private socket,
spoken to in FastCGI directly) checks the program side: two requests on one
kept connection; a request whose body the program never read (413 before
reading) followed by another on the same connection; the peer closing a
kept connection (the process accepts again); a SIGTERM while a kept
connection is idle (a request sent on it within the grace is still
answered, and the process stops once the peer closes it); and the hazard
the sizing avoids: with one process, an idle kept connection keeps a new
connection waiting until it closes, while with two the other process
answers at once.

Part 2 (the stack: nginx, the emulator, taskrouter-events with P = 4
processes and nginx's W = 2 workers, so K = 1) checks the rendered nginx
configuration, then sends slow events (the emulator delays their task
fetch by SLOW seconds), as many as the program has processes, while idle
kept connections exist, together with a burst of quick events: no request
waits longer than a slow request's own time (plus MARGIN) before a process
takes it (a quick one's whole time; a slow one's time less its own SLOW),
every answer is a 204, and nginx kept connections open (the program's
socket has established connections between requests).  A slow request can
wait: the W x K processes pinned by idle kept connections serve only the
worker that keeps them, so a request arriving on another worker while the
other processes are busy waits for one of them, at most one slow request's
time, as it would without keep-alive once every process is busy.

Run from the build directory (make check does).  Part 1 skips without
spawn-fcgi, part 2 unless FLEXHOOKS_TEST_STACK=1 and the stack keeps
connections (FLEXHOOKS_NGINX_KEEPALIVE=1, as `deploy/local.sh test` sets
it); exits 77 when both skip.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import fhtest as fh

PROG = os.path.join("cgi-bin", "healthz")
FAILED = []
PASSED = [0]
SLOW = 2.0      # seconds the emulator holds a slow event's task fetch
MARGIN = 1.5    # seconds on top of that for scheduling on a busy machine


def check(name, cond, detail=""):
    if cond:
        PASSED[0] += 1
        print("ok - %s" % name)
    else:
        FAILED.append(name)
        print("not ok - %s %s" % (name, detail))


# ------------------------------------------------------------------ FastCGI

def request_bytes(path, req_id=1, keep=True, method="GET", body=b"",
                  length=None):
    """One request on a kept (keep) or closing connection; length, when
    given, is the CONTENT_LENGTH announced instead of the body's."""
    params = fh.fcgi_params(
        method, path, len(body) if length is None else length,
        extra=(("CONTENT_TYPE", "application/x-www-form-urlencoded"),))
    return fh.fcgi_begin(params, req_id, keep) + fh.fcgi_stdin(body, req_id)


def connect(sock_path, timeout=5.0):
    return fh.fcgi_connect(sock_path, timeout)


read_answer = fh.fcgi_answer


def status_of(out):
    m = re.match(rb"Status: (\d+)", out)
    return int(m.group(1)) if m else None


def closed_by_peer(s, timeout=1.0):
    """True when the peer closes s (EOF) within timeout."""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


# ------------------------------------------------------------ part 1: program

def start(tmp, processes):
    sock = os.path.join(tmp, "healthz-%s.sock" % processes)
    if os.path.exists(sock):
        os.unlink(sock)
    p = fh.spawn_fcgi(PROG, sock, tmp, processes)
    fh.wait_for(lambda: os.path.exists(sock), 5)
    if processes > 1:
        fh.wait_for(lambda: len(fh.children(p.pid)) == processes, 10)
    return p, sock


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def program_side(tmp):
    p, sock = start(tmp, 1)
    try:
        # two requests, one connection
        s = connect(sock)
        s.sendall(request_bytes("/healthz", 1))
        a, ended = read_answer(s)
        check("kept connection: first request answered",
              ended and status_of(a) is not None, repr(a[:80]))
        check("kept connection: still open after the answer",
              not closed_by_peer(s, 0.3))
        s.settimeout(5)
        s.sendall(request_bytes("/healthz", 2))
        b, ended = read_answer(s)
        check("kept connection: second request answered",
              ended and status_of(b) == status_of(a), repr(b[:80]))

        # a body the program refuses before reading it, then the next
        # request on the same connection
        body = b"a=" + b"x" * 70000
        s.sendall(request_bytes("/healthz", 3, method="POST", body=body))
        c, ended = read_answer(s)
        check("unread body: answered", ended and status_of(c) in (405, 413),
              repr(c[:80]))
        s.sendall(request_bytes("/healthz", 4))
        d, ended = read_answer(s)
        check("unread body: the next request on the connection answered",
              ended and status_of(d) == status_of(a), repr(d[:80]))

        # the hazard the sizing avoids: one process, pinned by the idle
        # kept connection s, leaves a new connection waiting
        t = connect(sock)
        t.sendall(request_bytes("/healthz", 1, keep=False))
        t.settimeout(0.5)
        try:
            waited = t.recv(1) == b""
        except socket.timeout:
            waited = True
        check("one process, idle kept connection: a new connection waits",
              waited)
        # the peer closes the kept connection: the process accepts again
        s.close()
        t.settimeout(5)
        e, ended = read_answer(t)
        check("peer closed the kept connection: the waiting one answered",
              ended and status_of(e) == status_of(a), repr(e[:80]))
        t.close()

        # a peer that connects and sends nothing cannot hold the process:
        # closed after 2 s, and the next connection is served
        q = connect(sock)
        t0 = time.monotonic()
        gone = closed_by_peer(q, 5.0)
        took = time.monotonic() - t0
        check("silent new connection: closed by the program in 1.5-4 s",
              gone and 1.5 < took < 4.0, "closed %r after %.2fs" % (gone, took))
        q.close()
        u = connect(sock)
        u.sendall(request_bytes("/healthz", 1, keep=False))
        g, ended = read_answer(u)
        check("silent new connection: the next one answered",
              ended and status_of(g) == status_of(a), repr(g[:80]))
        u.close()

        # SIGTERM while a kept connection is idle: a request sent on it in
        # the grace is answered; the process stops when the peer closes
        s = connect(sock)
        s.sendall(request_bytes("/healthz", 1))
        read_answer(s)
        p.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        check("SIGTERM, idle kept connection: the process waits for it",
              p.poll() is None)
        s.sendall(request_bytes("/healthz", 2))
        f, ended = read_answer(s)
        check("SIGTERM: a request on the kept connection still answered",
              ended and status_of(f) == status_of(a), repr(f[:80]))
        t0 = time.monotonic()
        s.close()
        try:
            rc = p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rc = None
        check("SIGTERM: stops within 1 s of the peer closing (status 0)",
              rc == 0 and time.monotonic() - t0 < 1.0,
              "rc %r after %.2fs" % (rc, time.monotonic() - t0))

        # SIGTERM, and the peer never closes: closed after the grace
        p, sock = start(tmp, 1)
        s = connect(sock)
        s.sendall(request_bytes("/healthz", 1))
        read_answer(s)
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=8)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - t0
        check("SIGTERM, peer silent: stops after the grace (2.5-5 s)",
              rc == 0 and 2.5 < took < 5.0, "rc %r after %.2fs" % (rc, took))
        s.close()
    finally:
        stop(p)

    # two processes: one pinned by an idle kept connection, the other
    # answers a new connection at once
    p, sock = start(tmp, 2)
    try:
        s = connect(sock)
        s.sendall(request_bytes("/healthz", 1))
        a, _ = read_answer(s)
        t0 = time.monotonic()
        t = connect(sock)
        t.sendall(request_bytes("/healthz", 1, keep=False))
        b, ended = read_answer(t)
        took = time.monotonic() - t0
        check("two processes, one pinned: a new connection answered at once",
              ended and status_of(b) == status_of(a) and took < 0.5,
              "%.2fs" % took)
        t.close()
        s.close()
    finally:
        stop(p)


# -------------------------------------------------------------- part 2: stack

def stack_side():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fhtest as t  # noqa: E402
    import fhevents as ev  # noqa: E402

    prog = "taskrouter-events"
    conf = t.read_text(os.path.join(t.ENV.root, ".local", "nginx",
                                    "nginx.conf"))
    m = re.search(r"upstream fh_taskrouter_events \{([^}]*)\}", conf)
    check("nginx: taskrouter-events keeps 1 connection per worker "
          "(P = 4, W = 2)", m is not None and
          re.search(r"^\s*keepalive 1;$", m.group(1), re.M) is not None,
          m.group(1) if m else "no upstream")
    m = re.search(r"upstream fh_healthz \{([^}]*)\}", conf)
    check("nginx: healthz (P = 1) keeps none", m is not None and
          "keepalive " not in m.group(1), m.group(1) if m else "no upstream")
    check("nginx: fastcgi_keep_conn on",
          re.search(r"^\s*fastcgi_keep_conn on;$", conf, re.M) is not None)
    check("nginx: worker_processes 2",
          re.search(r"^worker_processes 2;$", conf, re.M) is not None)

    sock = os.path.join(t.ENV.root, ".local", "run", prog + ".sock")
    queue = ev.placeholder()[0]
    results = []
    lock = threading.Lock()

    def quick(i):
        t0 = time.monotonic()
        r = ev.event("task.updated", t.sid("WT"), {"i": i})
        with lock:
            results.append(("quick", r.status, time.monotonic() - t0))

    def slow(task, attrs):
        t0 = time.monotonic()
        r = ev.event("task-queue.entered", task, attrs, TaskQueueSid=queue)
        with lock:
            results.append(("slow", r.status, time.monotonic() - t0))

    def run(fns):
        threads = [threading.Thread(target=f) for f in fns]
        for th in threads:
            th.start()
            time.sleep(0.005)
        for th in threads:
            th.join(60)

    def established():
        out = subprocess.run(["ss", "-xH", "state", "established"],
                             capture_output=True, text=True).stdout
        return sum(1 for line in out.splitlines() if sock in line)

    # idle kept connections: a few rounds of quick events
    for _ in range(5):
        run([lambda i=i: quick(i) for i in range(6)])
    time.sleep(0.3)
    kept = established() if shutil.which("ss") else None
    check("idle kept connections to the program exist", kept is None or
          kept >= 1, "%r established" % kept)

    # slow requests on every process, idle kept connections, a burst
    seeded = [ev.seed_redirect() for _ in range(4)]
    for task, _, _ in seeded:
        t.EMU.fault(method="GET", path=ev.task_path(task), exact=True,
                    delay_ms=int(SLOW * 1000), times=1)
    try:
        del results[:]
        fns = [lambda task=task, attrs=attrs: slow(task, attrs)
               for task, _, attrs in seeded]
        fns += [lambda i=i: quick(i) for i in range(40)]
        t0 = time.monotonic()
        run(fns)
        total = time.monotonic() - t0
    finally:
        for task, _, _ in seeded:
            ev.drop_faults(ev.task_path(task))
    slows = [r for r in results if r[0] == "slow"]
    quicks = [r for r in results if r[0] == "quick"]
    check("every request answered 204", len(results) == 44 and
          all(r[1] == 204 for r in results),
          repr(sorted(set((r[0], r[1]) for r in results))))
    check("the slow requests were slow (>= %.1f s)" % (SLOW * 0.9),
          len(slows) == 4 and all(r[2] >= SLOW * 0.9 for r in slows),
          repr([round(r[2], 2) for r in slows]))
    # what a request waited before a process took it: its time less its
    # own work (SLOW for a slow one, about nothing for a quick one)
    waits = [r[2] - (SLOW if r[0] == "slow" else 0) for r in results]
    worst = max(waits or [0])
    check("no request waited longer than a slow one's time + %.1f s "
          "(worst %.2f s)" % (MARGIN, worst), worst <= SLOW + MARGIN,
          "slow: %r, quick: %r" % (
              sorted(round(r[2], 2) for r in slows),
              sorted(round(r[2], 2) for r in quicks)[-5:]))
    print("# %d requests in %.2f s; slow %s s; quick p50 %.3f s, max "
          "%.3f s" % (len(results), total,
                      sorted(round(r[2], 2) for r in slows),
        sorted(r[2] for r in quicks)[len(quicks) // 2] if quicks else 0,
        max([r[2] for r in quicks] or [0])))


def main():
    ran = False
    if shutil.which("spawn-fcgi") and os.access(PROG, os.X_OK):
        ran = True
        tmp = tempfile.mkdtemp(prefix="fhkeep")
        try:
            program_side(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("# part 1 skipped: spawn-fcgi or %s missing" % PROG)
    if os.environ.get("FLEXHOOKS_TEST_STACK") != "1":
        print("# part 2 skipped: no stack (FLEXHOOKS_TEST_STACK=1)")
    elif os.environ.get("FLEXHOOKS_NGINX_KEEPALIVE") != "1":
        print("# part 2 skipped: the stack runs without keep-alive "
              "(FLEXHOOKS_NGINX_KEEPALIVE=1)")
    else:
        ran = True
        stack_side()
    if not ran:
        print("SKIP: nothing to run")
        return 77
    print("%d passed, %d failed" % (PASSED[0], len(FAILED)))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
