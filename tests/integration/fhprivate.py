"""fhprivate - a private copy of some flexhooks programs, with settings of
its own, beside the shared test stack.

Some behaviour only exists under settings the shared stack does not use
(FLEXHOOKS_ANNOUNCE, for one).  Private(settings, programs) starts, under
spawn-fcgi from FLEXHOOKS_BUILD_DIR, each named program with the test
stack's configuration file plus the given KEY=VALUE lines (the same Twilio
emulator, public URL and Basic credentials), and a private nginx on a free
loopback port rendered from nginx/flexhooks.conf.in with only those
programs' locations.  Inside `with private:` every fhtest.request() goes
to that nginx (requests are still signed over FLEXHOOKS_PUBLIC_URL, as
Twilio signs them).  Everything it starts runs in its own session and is
killed, and its directory removed, when the block ends.

Standard library only; needs spawn-fcgi and nginx (skip() otherwise).
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import fhtest as t

ENV = t.ENV
BUILD = os.environ.get("FLEXHOOKS_BUILD_DIR") or ENV.root
TEMPLATE = os.path.join(ENV.root, "nginx", "flexhooks.conf.in")


def stack_config():
    """The shared stack's KEY=VALUE lines, without the per-host ones."""
    path = os.path.join(os.path.dirname(ENV.log_dir), "flexhooks.env")
    drop = ("FLEXHOOKS_HEALTH_SOCKETS=", "FLEXHOOKS_PROCESSES=")
    return [ln for ln in t.read_text(path).splitlines() if not ln.startswith(drop)]


class Private:
    def __init__(self, settings, programs=("wait-experience",), processes=2):
        self.settings = dict(settings)
        self.programs = list(programs)
        self.processes = processes
        self.tmp = None
        self.port = None
        self.procs = {}
        self._saved_port = None

    def log(self, prog):
        return os.path.join(self.tmp, prog + ".log")

    def sock(self, prog):
        return os.path.join(self.tmp, prog + ".sock")

    def _launch(self, name, argv, log):
        with open(log, "ab") as out:
            self.procs[name] = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True)

    def _render(self, htpasswd):
        out, keep = [], True
        user = "user root root;" if os.geteuid() == 0 else ""
        for line in t.read_text(TEMPLATE).splitlines():
            m = re.match(r"^\s*# @program ([a-z-]+)", line)
            if m:
                keep = m.group(1) in self.programs
                continue
            if re.match(r"^\s*# @bench(\s|$)", line):
                keep = False
                continue
            if re.match(r"^\s*# @end", line):
                keep = True
                continue
            if not keep or re.match(r"^\s*#", line):
                continue
            for k, v in (("USER", user),
                         ("PID_FILE", self.tmp + "/nginx.pid"),
                         ("ERROR_LOG", self.tmp + "/nginx-error.log"),
                         ("ACCESS_LOG", self.tmp + "/nginx-access.log"),
                         ("TEMP_DIR", self.tmp + "/temp"),
                         ("PORT", str(self.port)),
                         ("RUN_DIR", self.tmp),
                         ("HTPASSWD", htpasswd),
                         ("ASSETS_DIR", ENV.root + "/assets/"),
                         ("NGINX_CONF_DIR", "/etc/nginx"),
                         ("FLEX_RATE", "20r/s")):
                line = line.replace("@%s@" % k, v)
            out.append(line)
        conf = "\n".join(out) + "\n"
        t.ok(not re.search(r"@[A-Z_]+@", conf), "unreplaced token")
        return conf

    def start(self):
        for tool in ("spawn-fcgi", "nginx"):
            if shutil.which(tool) is None:
                t.skip("%s is not installed" % tool)
        for p in self.programs:
            if not os.access(os.path.join(BUILD, "cgi-bin", p), os.X_OK):
                t.skip("cgi-bin/%s is not built" % p)
        base = stack_config()
        htpasswd = next((ln.split("=", 1)[1] for ln in base
                         if ln.startswith("FLEXHOOKS_HTPASSWD=")), None)
        if not htpasswd:
            t.skip("the test stack's configuration names no htpasswd file")
        self.tmp = tempfile.mkdtemp(prefix="fhpriv", dir="/tmp")
        os.mkdir(os.path.join(self.tmp, "temp"))
        conf = os.path.join(self.tmp, "flexhooks.env")
        keys = set(self.settings)
        lines = [ln for ln in base if ln.split("=", 1)[0] not in keys]
        lines += ["%s=%s" % kv for kv in self.settings.items()]
        lines.append("FLEXHOOKS_PROCESSES=%d" % self.processes)
        with open(conf, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write("\n".join(lines) + "\n")
        env = ["PATH=/usr/bin:/bin", "FLEXHOOKS_CONFIG=" + conf]
        env += ["%s=%s" % (k, os.environ[k]) for k in
                ("ASAN_OPTIONS", "UBSAN_OPTIONS") if k in os.environ]
        for p in self.programs:
            self._launch(p, ["spawn-fcgi", "-n", "-s", self.sock(p), "-M",
                             "0600", "--", "/usr/bin/env", "-i"] + env +
                         [os.path.join(BUILD, "cgi-bin", p)], self.log(p))
        self.port = t.free_port()
        path = os.path.join(self.tmp, "nginx.conf")
        with open(path, "w") as f:
            f.write(self._render(htpasswd))
        argv = ["nginx", "-p", self.tmp + "/", "-c", path,
                "-e", os.path.join(self.tmp, "nginx-error.log")]
        chk = subprocess.run(argv + ["-t", "-q"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        t.eq(chk.returncode, 0, "nginx -t: %s" % chk.stdout.decode())
        end = time.monotonic() + 10
        while not all(os.path.exists(self.sock(p)) for p in self.programs):
            dead = [n for n, g in self.procs.items() if g.poll() is not None]
            t.ok(not dead, "programs exited at start: %s (%s)" % (
                dead, [t.read_text(self.log(n))[-500:] for n in dead]))
            t.ok(time.monotonic() < end, "sockets not there after 10 s")
            time.sleep(0.05)
        self._launch("nginx", argv + ["-g", "daemon off;"],
                     os.path.join(self.tmp, "nginx-stderr.log"))
        end = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    break
            except OSError:
                pass
            t.ok(time.monotonic() < end, "private nginx not up after 10 s")
            time.sleep(0.05)

    def stop(self):
        t.stop_groups(self.procs)
        self.procs = {}
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def sanitizer_reports(self):
        out = []
        for p in self.programs:
            try:
                text = t.read_text(self.log(p))
            except OSError:
                continue
            if "Sanitizer" in text or "runtime error:" in text:
                out.append(p)
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
