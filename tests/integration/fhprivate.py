# SPDX-License-Identifier: Apache-2.0
"""fhprivate - private copies of the flexhooks programs, with settings of
their own, beside the shared test stack: one "host", or several behind one
nginx upstream.

Some behaviour only exists under settings the shared stack does not use
(FLEXHOOKS_ANNOUNCE, for one), and scaling out needs more than one host.
Private(settings, programs, processes, hosts) starts, under spawn-fcgi
from FLEXHOOKS_BUILD_DIR, each named program (programs=None: every
program the nginx template lists that is built) once per host, each host
in a directory of its own with the test stack's configuration file plus
the given KEY=VALUE settings (the same Twilio emulator, public URL and
Basic credentials: what a second server gets; drop names prefixes of
the stack's keys to leave out), and a private nginx on a free loopback
port rendered from nginx/flexhooks.conf.in with only those programs'
locations.  With several hosts every fastcgi_pass becomes an upstream of
all hosts' sockets (one nginx worker, so the round robin is exact, and
`fastcgi_next_upstream error timeout`: a request moves to another host
only when it could not be sent); create-callback's requests that carry
I-Twilio-Idempotency-Token go to an upstream hashed on it (README.md
"Several hosts").  Inside `with private:` every fhtest.request() goes to
that nginx (requests are still signed over FLEXHOOKS_PUBLIC_URL, as
Twilio signs them).  Everything it starts runs in its own session and is
killed, and its directory removed, by stop() (the end of the block).

Standard library only; needs spawn-fcgi and nginx (skip() otherwise).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import fhtest as t

ENV = t.ENV
BUILD = os.environ.get("FLEXHOOKS_BUILD_DIR") or ENV.root
TEMPLATE = os.path.join(ENV.root, "nginx", "flexhooks.conf.in")
PASS_RE = re.compile(r"fastcgi_pass fh_([a-z_]+);")


def stack_config():
    """The shared stack's KEY=VALUE lines, without the per-host ones."""
    path = os.path.join(os.path.dirname(ENV.log_dir), "flexhooks.env")
    drop = ("FLEXHOOKS_HEALTH_SOCKETS=", "FLEXHOOKS_PROCESSES=")
    return [ln for ln in t.read_text(path).splitlines() if not ln.startswith(drop)]


class Private:
    def __init__(self, settings=(), programs=("wait-experience",),
                 processes=2, hosts=("a",), drop=(), prefix="fhpriv"):
        self.settings = dict(settings)
        self.wanted = None if programs is None else list(programs)
        self.programs = list(programs or ())
        self.processes = processes
        self.hosts = tuple(hosts)
        self.drop = tuple(drop)
        self.tmp = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        self.port = None
        self.conf = ""
        self.procs = {}         # name -> Popen (each leads its session)
        self._saved_port = None

    @property
    def balanced(self):
        return len(self.hosts) > 1

    def dir(self, host=None):
        return os.path.join(self.tmp, host or self.hosts[0])

    def sock(self, prog, host=None):
        return os.path.join(self.dir(host), prog + ".sock")

    def log(self, prog, host=None):
        return os.path.join(self.dir(host), prog + ".log")

    def _launch(self, name, argv, log):
        with open(log, "ab") as out:
            self.procs[name] = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True)

    def config(self, host):
        """The KEY=VALUE lines of a host."""
        keys = set(self.settings)
        lines = [ln for ln in stack_config()
                 if ln.split("=", 1)[0] not in keys and
                 not (self.drop and ln.startswith(self.drop))]
        lines += ["%s=%s" % kv for kv in self.settings.items()]
        if "healthz" in self.programs:
            lines.append("FLEXHOOKS_HEALTH_SOCKETS=" + ":".join(
                self.sock(p, host) for p in self.programs if p != "healthz"))
        lines.append("FLEXHOOKS_PROCESSES=%d" % self.processes)
        return lines

    def _render(self, htpasswd):
        out, keep, in_upstream = [], True, False
        user = "user root root;" if os.geteuid() == 0 else ""
        for line in t.read_text(TEMPLATE).splitlines():
            m = re.match(r"^\s*# @program ([a-z-]+)", line)
            if m:
                keep = m.group(1) in self.programs
                continue
            if re.match(r"^\s*# @bench(\s|$)", line):
                keep = False    # bench/run.sh's locations only
                continue
            if re.match(r"^\s*# @end", line):
                keep = True
                continue
            if not keep or re.match(r"^\s*#", line):
                continue
            if self.balanced:
                # the template's upstream of one socket per program: a
                # balanced farm has its own, of every host's sockets
                if re.match(r"^\s*upstream fh_", line):
                    in_upstream = True
                if in_upstream:
                    in_upstream = not re.match(r"^\s*}", line)
                    continue
                line = PASS_RE.sub(_pass_to, line)
            for k, v in (("USER", user),
                         ("PID_FILE", self.tmp + "/nginx.pid"),
                         ("ERROR_LOG", self.tmp + "/nginx-error.log"),
                         ("ACCESS_LOG", self.tmp + "/nginx-access.log"),
                         ("TEMP_DIR", self.tmp + "/temp"),
                         ("PORT", str(self.port)),
                         ("RUN_DIR", self.dir()),
                         ("HTPASSWD", htpasswd),
                         ("ASSETS_DIR", ENV.root + "/assets/"),
                         ("NGINX_CONF_DIR", "/etc/nginx"),
                         ("FLEX_RATE", "20r/s")):
                line = line.replace("@%s@" % k, v)
            if self.balanced:
                line = re.sub(r"^(\s*worker_processes) \d+;", r"\1 1;", line)
                # tests read nginx's upstream diagnostics ("prematurely
                # closed"), which production leaves out (request lines)
                line = re.sub(r"^(error_log \S+) crit;", r"\1 error;", line)
            out.append(line)
            if self.balanced and line.strip() == "http {":
                out += self._upstreams()
        conf = "\n".join(out) + "\n"
        t.ok(not re.search(r"@[A-Z_]+@", conf), "unreplaced token")
        if self.balanced:
            t.ok("fastcgi_pass fh_" in conf and
                 "fastcgi_pass unix:" not in conf,
                 "every fastcgi_pass goes to an upstream of every host")
        return conf

    def _upstreams(self):
        lines = [
            "\t# Move a request to the other host only when it could",
            "\t# not be sent (no non_idempotent: a POST that reached",
            "\t# a program is never sent twice).",
            "\tfastcgi_next_upstream error timeout;",
            "\tfastcgi_next_upstream_tries 2;"]
        for p in self.programs:
            lines.append("\tupstream fh_%s {" % p.replace("-", "_"))
            for host in self.hosts:
                lines.append("\t\tserver unix:%s max_fails=1 "
                             "fail_timeout=10s;" % self.sock(p, host))
            lines.append("\t}")
        if "create-callback" in self.programs:
            # README.md "Several hosts": Twilio's copies of one delivery
            # (one I-Twilio-Idempotency-Token) go to one host, whose
            # create-callback processes share the table of deliveries;
            # requests without the header keep the round robin
            lines += [
                "\tupstream fh_create_callback_by_token {",
                "\t\thash $http_i_twilio_idempotency_token consistent;"]
            for host in self.hosts:
                lines.append("\t\tserver unix:%s max_fails=1 "
                             "fail_timeout=10s;" %
                             self.sock("create-callback", host))
            lines += [
                "\t}",
                "\tmap $http_i_twilio_idempotency_token "
                "$fh_create_callback_pass {",
                "\t\t\"\" fh_create_callback;",
                "\t\tdefault fh_create_callback_by_token;",
                "\t}"]
        return lines

    def start(self):
        for tool in ("spawn-fcgi", "nginx"):
            if shutil.which(tool) is None:
                t.skip("%s is not installed" % tool)
        if self.wanted is None:
            # a program's upstream and its locations: two blocks, one name
            names = list(dict.fromkeys(re.findall(
                r"^\s*# @program ([a-z-]+)\s*$", t.read_text(TEMPLATE),
                re.M)))
            self.programs = [p for p in names if os.access(
                os.path.join(BUILD, "cgi-bin", p), os.X_OK)]
            t.ok("healthz" in self.programs, "healthz is built")
        for p in self.programs:
            if not os.access(os.path.join(BUILD, "cgi-bin", p), os.X_OK):
                t.skip("cgi-bin/%s is not built" % p)
        htpasswd = next((ln.split("=", 1)[1] for ln in stack_config()
                         if ln.startswith("FLEXHOOKS_HTPASSWD=")), None)
        if not htpasswd:
            t.skip("the test stack's configuration names no htpasswd file")
        os.mkdir(os.path.join(self.tmp, "temp"))
        for host in self.hosts:
            os.mkdir(self.dir(host), 0o700)
            conf = os.path.join(self.dir(host), "flexhooks.env")
            with open(conf, "w") as f:
                os.fchmod(f.fileno(), 0o600)
                f.write("\n".join(self.config(host)) + "\n")
            env = ["PATH=/usr/bin:/bin", "FLEXHOOKS_CONFIG=" + conf]
            env += ["%s=%s" % (k, os.environ[k]) for k in
                    ("ASAN_OPTIONS", "UBSAN_OPTIONS") if k in os.environ]
            for p in self.programs:
                self._launch("%s/%s" % (host, p), [
                    "spawn-fcgi", "-n", "-s", self.sock(p, host), "-M",
                    "0600", "--", "/usr/bin/env", "-i"] + env +
                    [os.path.join(BUILD, "cgi-bin", p)], self.log(p, host))
        self.port = t.free_port()
        self.conf = self._render(htpasswd)
        path = os.path.join(self.tmp, "nginx.conf")
        with open(path, "w") as f:
            f.write(self.conf)
        argv = ["nginx", "-p", self.tmp + "/", "-c", path,
                "-e", os.path.join(self.tmp, "nginx-error.log")]
        chk = subprocess.run(argv + ["-t", "-q"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        t.eq(chk.returncode, 0, "nginx -t: %s" % chk.stdout.decode())
        end = time.monotonic() + 10
        while not all(os.path.exists(self.sock(p, h)) for h in self.hosts
                      for p in self.programs):
            dead = [n for n, g in self.procs.items() if g.poll() is not None]
            t.ok(not dead, "programs exited at start: %s (%s)" % (
                dead, [t.read_text(self.log(*reversed(n.split("/"))))[-500:]
                       for n in dead]))
            t.ok(time.monotonic() < end, "sockets not there after 10 s")
            time.sleep(0.05)
        self._launch("nginx", argv + ["-g", "daemon off;"],
                     os.path.join(self.tmp, "nginx-stderr.log"))
        end = time.monotonic() + 10
        while True:
            try:
                if "healthz" not in self.programs:
                    with socket.create_connection(("127.0.0.1", self.port),
                                                  1):
                        break
                elif self.get("/healthz").status == 200:
                    break
            except OSError:
                pass
            t.ok(time.monotonic() < end, "private nginx not up after 10 s")
            time.sleep(0.05)

    # ---- requests and logs

    def get(self, path):
        return t.http_raw("GET", "127.0.0.1", self.port, path, timeout=10)

    def access(self, host, prog, path=None):
        """The program's access lines on one host (path: only those)."""
        old = ENV.log_dir
        ENV.log_dir = self.dir(host)
        try:
            _, objs = t.log_since(0, prog)
        finally:
            ENV.log_dir = old
        return t.access_lines(objs, path)

    def marks(self, prog):
        return {h: len(self.access(h, prog)) for h in self.hosts}

    def counts(self, prog, since, pred=lambda o: True):
        """{host: access lines added since the counts `since` (a dict from
        an earlier marks()) that satisfy pred}."""
        return {h: len([o for o in self.access(h, prog)[since[h]:]
                        if pred(o)]) for h in self.hosts}

    def wait_lines(self, prog, since, n, pred=lambda o: True):
        """Poll until n access lines (every host) satisfy pred; programs
        write theirs just after answering."""
        end = time.monotonic() + 5
        while True:
            c = self.counts(prog, since, pred)
            if sum(c.values()) >= n or time.monotonic() > end:
                return c
            time.sleep(0.05)

    def nginx_errors(self):
        try:
            return t.read_text(os.path.join(self.tmp, "nginx-error.log"))
        except OSError:
            return ""

    # ---- stop

    def kill_host(self, host, sig=signal.SIGKILL):
        """Kill every process of a host (supervisors and their children:
        each program leads its own session, so its process group)."""
        mine = [g for n, g in self.procs.items()
                if n.startswith(host + "/")]
        for g in mine:
            t.kill_group(g, sig)
        for g in mine:
            try:
                g.wait(5)
            except subprocess.TimeoutExpired:
                t.kill_group(g, signal.SIGKILL)

    def stop(self):
        """Everything this started, then its directory."""
        t.stop_groups(self.procs)
        self.procs = {}
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def sanitizer_reports(self):
        out = []
        for host in self.hosts:
            for p in self.programs:
                try:
                    text = t.read_text(self.log(p, host))
                except OSError:
                    continue
                if "Sanitizer" in text or "runtime error:" in text:
                    out.append("%s/%s" % (host, p))
        return out

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        self._saved_port = ENV.port
        ENV.port = self.port
        return self

    def __exit__(self, *exc):
        ENV.port = self._saved_port
        reports = self.sanitizer_reports()
        self.stop()
        if exc[0] is None:
            t.eq(reports, [], "sanitizer reports of the private programs")
        return False


def _pass_to(m):
    """The template's fastcgi_pass of a program, to the upstream of every
    host (create-callback's: by token when there is one)."""
    if m.group(1) == "create_callback":
        return "fastcgi_pass $fh_create_callback_pass;"
    return "fastcgi_pass fh_%s;" % m.group(1)
