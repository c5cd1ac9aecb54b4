#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/deb/run.sh: the Debian package test (the "deb package" phase of
# tests/run.sh, with CI=true or FLEXHOOKS_TEST_DEB=1; runs on its own too).
# As root only, because it installs and purges flexhooks system-wide and
# uses the system nginx; exits 77 (SKIP) when not root, when a flexhooks
# package is already installed or when the site link exists.
#
#   1. dpkg-buildpackage in a copy of the tree (.local/deb/src), lintian
#   2-7. on this machine: install, configure against the emulator, start
#      the programs as the installed units describe, serve signed requests
#      through the system nginx (https, self-signed), purge, check that
#      nothing is left
#   8. the same inside a booted Debian 12 container (systemd-nspawn --boot,
#      its own root and a private network), so that the units run under a
#      real systemd: the target, kill -9 of a worker and of a supervisor, a
#      restart under a stream of requests, the hardening, the
#      systemd-analyze security scores, purge with the user deletion.  The
#      root comes from debootstrap, cached as a tarball in FLEXHOOKS_CACHE.
#
# Environment: FLEXHOOKS_DEB_HTTPS_PORT (9443) and FLEXHOOKS_DEB_HTTP_PORT
# (9080) for the site on the system nginx, the emulator on HTTP_PORT+1;
# FLEXHOOKS_DEB_SYSTEMD=1 (with systemd as PID 1 here: the units run for
# real on this machine too); FLEXHOOKS_CACHE (default ~/.cache/flexhooks).
# One PASS/FAIL line per check; the details in .local/log/deb-*.log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
ME=deb/run.sh
# shellcheck source=deploy/lib/common.sh
. "$ROOT/deploy/lib/common.sh"
# shellcheck source=deploy/lib/proc.sh
. "$ROOT/deploy/lib/proc.sh"

DEB_PACKAGES="dpkg-dev debhelper lintian fakeroot build-essential"
DEB_CT_PACKAGES="debootstrap systemd-container"
DEB_DIR=$LOCAL/deb
DEB_RUN=$DEB_DIR/run
DEB_UNIT_DIR=/lib/systemd/system
DEB_SITE=/etc/nginx/sites-available/flexhooks
DEB_SITE_LINK=/etc/nginx/sites-enabled/flexhooks
DEB_CONF=/etc/flexhooks/flexhooks.env
DEB_APT_OPTS=(-y -q -o DPkg::Lock::Timeout=600)
# the container: a minbase root with these (and the package's Depends)
DEB_CT_SUITE=bookworm
DEB_CT_INCLUDE="systemd systemd-sysv dbus procps python3 nginx curl openssl adduser"
DEB_CT_DIR=$DEB_DIR/machine	# its root while it runs
DEB_CT_OPT=/opt/flexhooks-test	# in it: the .deb, the emulator, TLS files
# Where the checks run: DEB_EXEC is empty on this machine, an nsenter
# into the container's namespaces there; DEB_TAG marks the PASS/FAIL lines.
DEB_EXEC=()
DEB_TAG=

dx() { "${DEB_EXEC[@]}" "$@"; }

# deb_check NAME CMD...: run CMD quietly; one PASS/FAIL line per check.
deb_check() {
	local name=$1 w=$((58 - ${#DEB_TAG}))
	shift
	printf '== deb%s: %s\n' "$DEB_TAG" "$name" >>"$LOG_DIR/deb-checks.log"
	if "$@" >>"$LOG_DIR/deb-checks.log" 2>&1; then
		printf '  deb%s: %-*s PASS\n' "$DEB_TAG" "$w" "$name"
	else
		printf '  deb%s: %-*s FAIL\n' "$DEB_TAG" "$w" "$name"
		DEB_FAILS=$((DEB_FAILS + 1))
	fi
}
deb_say() { printf '  deb%s: %s\n' "$DEB_TAG" "$*"; }

deb_installed() {
	# shellcheck disable=SC2016 # a dpkg-query format
	dx dpkg-query -W -f='${db:Status-Abbrev}' flexhooks 2>/dev/null |
	    grep -q '^[ih]i'
}
deb_known() {	# installed, or removed with its configuration left
	# shellcheck disable=SC2016 # a dpkg-query format
	dx dpkg-query -W -f='${db:Status-Abbrev}' flexhooks 2>/dev/null |
	    grep -q '^.[ic]'
}
systemd_running() { [ -d /run/systemd/system ]; }	# on this machine
sys_nginx_pid() {
	local pid
	[ -s /run/nginx.pid ] || return 1
	pid=$(tr -dc '0-9' </run/nginx.pid)
	[ -n "$pid" ] && alive "$pid" && printf '%s' "$pid"
}
mode_is() { [ "$(dx stat -c '%a %U:%G' "$1" 2>/dev/null)" = "$2" ]; }
absent() {
	# shellcheck disable=SC2016 # expanded by that sh
	dx sh -c 'for f; do [ ! -e "$f" ] && [ ! -L "$f" ] || exit 1; done' \
	    absent "$@"
}
no_unit_files() { ! dx sh -c "ls -d $DEB_UNIT_DIR/flexhooks*" 2>/dev/null; }
deb_port_open() { dx bash -c ": </dev/tcp/127.0.0.1/$1" 2>/dev/null; }

not() { ! "$@"; }
deb_apt() {
	dx env DEBIAN_FRONTEND=noninteractive apt-get "$1" "${DEB_APT_OPTS[@]}" \
	    "${@:2}" >>"$LOG_DIR/deb-apt.log" 2>&1
}
deb_reinstall_keeps() {
	deb_apt install --reinstall "$1" &&
	    dx grep -q '^# changed by the test' "$DEB_CONF" &&
	    mode_is "$DEB_CONF" "640 root:flexhooks"
}
deb_all_active() {
	local p
	for p in $DEB_PROGS; do
		dx systemctl is-active --quiet "flexhooks@$p.socket" \
		    "flexhooks@$p.service" || return 1
	done
}
# every service active and never restarted by systemd (a program that
# dies at once is "active" for a moment)
deb_all_stable() {
	local p n
	deb_all_active || return 1
	for p in $DEB_PROGS; do
		n=$(dx systemctl show -p NRestarts --value "flexhooks@$p.service")
		[ "$n" = 0 ] || { echo "flexhooks@$p.service: NRestarts=$n"; return 1; }
	done
}
deb_sockets_ok() {
	local p
	[ -n "$DEB_PROGS" ] || return 1
	for p in $DEB_PROGS; do
		mode_is "/run/flexhooks/$p.sock" "660 flexhooks:www-data" ||
		    return 1
	done
}
deb_target_progs() {
	dx grep -o 'flexhooks@[a-z-]*\.socket' "$DEB_UNIT_DIR/flexhooks.target" |
	    sed 's/^flexhooks@//; s/\.socket$//'
}

# The programs as systemd would run them, when systemd is not PID 1 (a
# container): ExecStart, User, Group and Environment of the installed
# flexhooks@.service, the socket's path, owner, group and mode from
# flexhooks@.socket, and the program list from flexhooks.target.
# spawn-fcgi binds the socket and execs the program with it as fd 0,
# which is what StandardInput=socket with Accept=no gives it.
deb_unit_value() {	# FILE KEY: the last KEY= value
	sed -n "s/^$2=//p" "$1" | tail -n 1
}
deb_spawn_like_systemd() {
	local svc=$DEB_UNIT_DIR/flexhooks@.service sock=$DEB_UNIT_DIR/flexhooks@.socket
	local p listen exe i
	local -a envs
	read -r -a envs <<<"$(sed -n 's/^Environment=//p' "$svc" | tr '\n' ' ')"
	mkdir -p "$DEB_RUN"
	for p in $DEB_PROGS; do
		listen=$(deb_unit_value "$sock" ListenStream)
		listen=${listen//%i/$p}
		exe=$(deb_unit_value "$svc" ExecStart)
		exe=${exe//%i/$p}
		mkdir -p "$(dirname "$listen")"
		chmod "$(deb_unit_value "$sock" DirectoryMode)" "$(dirname "$listen")"
		rm -f "$listen"
		launch "$LOG_DIR/deb-$p.log" spawn-fcgi -n -s "$listen" \
		    -u "$(deb_unit_value "$svc" User)" \
		    -g "$(deb_unit_value "$svc" Group)" \
		    -U "$(deb_unit_value "$sock" SocketUser)" \
		    -G "$(deb_unit_value "$sock" SocketGroup)" \
		    -M "$(deb_unit_value "$sock" SocketMode)" \
		    -- /usr/bin/env -i PATH=/usr/bin:/bin "${envs[@]}" "$exe"
		printf '%s\n' "$LAUNCHED" >"$DEB_RUN/deb-$p.pid"
	done
	for p in $DEB_PROGS; do
		for ((i = 0; i < 50; i++)); do
			[ -S "/run/flexhooks/$p.sock" ] && break
			sleep 0.1
		done
	done
}

deb_stop_programs() {
	local f
	local -a names=()
	if [ "${DEB_SYSTEMD:-0}" -eq 1 ]; then
		dx systemctl stop flexhooks.target 'flexhooks@*.socket' \
		    'flexhooks@*.service' 2>/dev/null || true
		return 0
	fi
	for f in "$DEB_RUN"/deb-*.pid; do
		[ -f "$f" ] && names+=("$(basename "$f" .pid)")
	done
	[ "${#names[@]}" -eq 0 ] || QUIET=1 RUN_DIR=$DEB_RUN signal_stop "${names[@]}"
}

deb_nginx_reload() {
	if [ "${DEB_CT:-0}" -eq 1 ]; then
		dx systemctl reload-or-restart nginx
	elif systemd_running; then
		systemctl reload nginx
	else
		nginx -s reload
	fi
	sleep 0.5
}

# Undo whatever is left on this machine (also after a failed check):
# programs, emulator, the site link, the package, the nginx we started.
deb_cleanup() {
	deb_stop_programs
	[ ! -f "$DEB_RUN/emulator.pid" ] ||
	    QUIET=1 RUN_DIR=$DEB_RUN signal_stop emulator
	if [ -L "$DEB_SITE_LINK" ] && [ "${DEB_LINKED:-0}" -eq 1 ]; then
		rm -f "$DEB_SITE_LINK"
		if [ -n "$(sys_nginx_pid)" ]; then
			deb_nginx_reload 2>/dev/null || true
		fi
	fi
	if [ "${DEB_INSTALLED_HERE:-0}" -eq 1 ] && deb_known; then
		DEBIAN_FRONTEND=noninteractive apt-get purge "${DEB_APT_OPTS[@]}" \
		    flexhooks >>"$LOG_DIR/deb-apt.log" 2>&1 || true
	fi
	if [ "${DEB_NGINX_STARTED:-0}" -eq 1 ] && [ -n "$(sys_nginx_pid)" ]; then
		if systemd_running; then
			systemctl stop nginx || true
		else
			nginx -s quit 2>/dev/null || true
		fi
	fi
	rm -rf "$DEB_DIR/tls"
}

# deb_request METHOD URL [BASIC]: signed like Twilio (form body from
# DEB_FORM, "k=v&..."), over https without certificate checks; prints
# "STATUS BODY".  With DEB_STREAM_SECONDS=N, sends it again and again from
# 4 threads for N seconds and prints "COUNT requests: STATUS=COUNT ..."
# (a refused or reset connection counts under its exception's name).
deb_request() {
	dx python3 - "$@" <<'PY'
import base64, collections, hashlib, hmac, os, ssl, sys, threading, time
import urllib.error, urllib.parse, urllib.request
method, url = sys.argv[1], sys.argv[2]
basic = sys.argv[3] if len(sys.argv) > 3 else ""
params = urllib.parse.parse_qsl(os.environ.get("DEB_FORM", ""))
token = os.environ["DEB_AUTH_TOKEN"]
msg = url + "".join(k + v for k, v in sorted(params))
sig = base64.b64encode(hmac.new(token.encode(), msg.encode(), hashlib.sha1).digest()).decode()
headers = {"X-Twilio-Signature": sig,
           "Content-Type": "application/x-www-form-urlencoded"}
if basic:
    headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
body = urllib.parse.urlencode(params).encode()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def once():
    req = urllib.request.Request(url, body, headers, method=method)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=15) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
seconds = float(os.environ.get("DEB_STREAM_SECONDS") or 0)
if not seconds:
    print(*once())
    sys.exit(0)
counts, lock = collections.Counter(), threading.Lock()
end = time.monotonic() + seconds
def loop():
    while time.monotonic() < end:
        try:
            code = once()[0]
        except Exception as e:
            code = type(e).__name__
        with lock:
            counts[str(code)] += 1
threads = [threading.Thread(target=loop) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(sum(counts.values()), "requests:",
      " ".join("%s=%d" % kv for kv in sorted(counts.items())))
PY
}

# deb_configure PUB EMU_URL TOKEN BASIC: the configuration file (the sample
# plus the test settings against the emulator) and the htpasswd file.
# shellcheck disable=SC2016 # $1 is expanded by the sh -c
deb_configure() {
	local pub=$1 emu_url=$2 token=$3 basic=$4
	{
		dx grep -v '^FLEXHOOKS_PROCESSES=' /usr/share/flexhooks/flexhooks.env.sample
		printf 'ACCOUNT_SID=%s\nAUTH_TOKEN=%s\n' "$FAKE_ACCOUNT_SID" "$token"
		printf 'TWILIO_FLEX_WORKSPACE_SID=%s\n' "$FAKE_WORKSPACE_SID"
		printf 'TWILIO_FLEX_CALLBACK_WORKFLOW_SID=%s\n' "$FAKE_WORKFLOW_SID"
		printf 'FLEXHOOKS_PUBLIC_URL=%s\nFLEXHOOKS_BASIC_AUTH=%s\n' "$pub" "$basic"
		printf 'FLEXHOOKS_TWILIO_API_URL=%s\n' "$emu_url"
		printf 'FLEXHOOKS_TASKROUTER_URL=%s\nFLEXHOOKS_IAM_URL=%s\n' "$emu_url" "$emu_url"
		printf 'FLEXHOOKS_PROCESSES=2\n'
	} | dx sh -c 'cat >"$1.new" && chown root:flexhooks "$1.new" &&
	    chmod 0640 "$1.new" && mv -f "$1.new" "$1"' conf "$DEB_CONF"
	htpasswd_line "$basic" |
	    dx sh -c 'cat >/etc/flexhooks/htpasswd &&
	    chown root:www-data /etc/flexhooks/htpasswd &&
	    chmod 0640 /etc/flexhooks/htpasswd'
}

# deb_site_for_test TLS_DIR HTTPS_PORT HTTP_PORT: the installed site on the
# test ports (loopback) with a self-signed certificate made in TLS_DIR.
deb_site_for_test() {
	local tls=$1 https_port=$2 http_port=$3
	dx sh -c "umask 077 && mkdir -p '$tls' &&
	    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	    -keyout '$tls/key.pem' -out '$tls/cert.pem' 2>/dev/null"
	dx sed -i -e "s/^\([[:space:]]*\)listen 443 ssl;/\1listen 127.0.0.1:$https_port ssl;/" \
	    -e "s/^\([[:space:]]*\)listen 80;/\1listen 127.0.0.1:$http_port;/" \
	    -e '/^[[:space:]]*listen \[::\]/d' \
	    -e "s#/etc/letsencrypt/live/flexhooks.example.com/fullchain.pem#$tls/cert.pem#" \
	    -e "s#/etc/letsencrypt/live/flexhooks.example.com/privkey.pem#$tls/key.pem#" \
	    "$DEB_SITE"
	dx ln -s ../sites-available/flexhooks "$DEB_SITE_LINK"
}

DEB_CB=/features/callback-and-voicemail/studio/create-callback
DEB_CB_FORM="numberToCall=+15555550123&numberToCallFrom=+18005550100"

# deb_signed_ok: a signed Studio create-callback with Basic auth through
# nginx answers 200 with the new task's SID.
deb_signed_ok() {
	local out
	out=$(DEB_FORM=$DEB_CB_FORM deb_request POST "$DEB_PUB$DEB_CB" "$DEB_BASIC")
	printf '%s\n' "$out"
	grep -q '^200 .*"taskSid":"WT' <<<"$out"
}

# ---- checks that need systemd (in the container)

deb_prop() { dx systemctl show -p "$2" --value "$1"; }	# UNIT PROPERTY
deb_kids() { dx pgrep -P "$1" | sort | tr '\n' ' '; }	# children of PID
DEB_KILL_UNIT=flexhooks@create-callback.service

# kill -9 of one worker: its supervisor (same MainPID, no systemd restart)
# starts another; requests succeed again.
deb_kill_worker() {
	local u=$DEB_KILL_UNIT main n0 kid kids i
	main=$(deb_prop "$u" MainPID)
	n0=$(deb_prop "$u" NRestarts)
	kids=$(deb_kids "$main")
	kid=${kids%% *}
	echo "MainPID $main, workers $kids: kill -9 $kid"
	[ "$main" -gt 0 ] && [ -n "$kid" ] || return 1
	dx kill -9 "$kid"
	for ((i = 0; i < 50; i++)); do
		kids=$(deb_kids "$main")
		[ "$(wc -w <<<"$kids")" -eq 2 ] && ! grep -qw "$kid" <<<"$kids" &&
		    break
		sleep 0.1
	done
	echo "workers now $kids, MainPID $(deb_prop "$u" MainPID), NRestarts $(deb_prop "$u" NRestarts)"
	[ "$(wc -w <<<"$kids")" -eq 2 ] && ! grep -qw "$kid" <<<"$kids" &&
	    [ "$(deb_prop "$u" MainPID)" = "$main" ] &&
	    [ "$(deb_prop "$u" NRestarts)" = "$n0" ] && deb_signed_ok
}

# kill -9 of the supervisor: systemd stops what is left of the unit (its
# workers), starts it again after RestartSec; requests succeed again.
deb_kill_supervisor() {
	local u=$DEB_KILL_UNIT main n0 now kids k i
	main=$(deb_prop "$u" MainPID)
	n0=$(deb_prop "$u" NRestarts)
	kids=$(deb_kids "$main")
	echo "MainPID $main (workers $kids): kill -9 $main"
	[ "$main" -gt 0 ] || return 1
	dx kill -9 "$main"
	for ((i = 0; i < 150; i++)); do
		now=$(deb_prop "$u" MainPID)
		[ "$now" != 0 ] && [ "$now" != "$main" ] &&
		    dx systemctl is-active --quiet "$u" && break
		sleep 0.1
	done
	echo "MainPID now $now, NRestarts $n0 -> $(deb_prop "$u" NRestarts)"
	[ "$now" != 0 ] && [ "$now" != "$main" ] || return 1
	[ "$(deb_prop "$u" NRestarts)" -eq $((n0 + 1)) ] || return 1
	for k in $kids; do
		if dx kill -0 "$k" 2>/dev/null; then
			echo "the old worker $k still runs"
			return 1
		fi
	done
	deb_signed_ok
}

# deb_restarts_under_load CMD...: run CMD (which restarts the programs)
# while 4 clients send signed requests for 8 s: every program gets a new
# MainPID and every request is a 200 (systemd keeps the listening sockets;
# nothing is refused, no 502).
deb_restarts_under_load() {
	local before after out pid
	before=$(deb_main_pids)
	DEB_STREAM_SECONDS=8 DEB_FORM=$DEB_CB_FORM \
	    deb_request POST "$DEB_PUB$DEB_CB" "$DEB_BASIC" >"$DEB_DIR/stream.out" &
	pid=$!
	sleep 2
	"$@" || { wait "$pid"; return 1; }
	wait "$pid" || return 1
	after=$(deb_main_pids)
	out=$(cat "$DEB_DIR/stream.out")
	echo "MainPIDs before: $(tr '\n' ' ' <<<"$before"); after: $(tr '\n' ' ' <<<"$after")"
	echo "$out"
	DEB_STREAM_RESULT=$out
	[ -n "$after" ] && ! grep -qx 0 <<<"$after" || return 1
	[ -z "$(comm -12 <(sort <<<"$before") <(sort <<<"$after"))" ] || return 1
	[[ $out =~ ^[0-9]+\ requests:\ 200=[0-9]+$ ]] && [ "${out%% *}" -ge 20 ]
}

# systemctl reload (ExecReload: SIGHUP; location-lookup and incoming-call
# read their locations file again): nothing restarts, requests succeed.
deb_reload_ok() {
	local before after p
	before=$(deb_main_pids)
	dx systemctl reload 'flexhooks@*.service' || return 1
	sleep 0.5
	after=$(deb_main_pids)
	[ "$before" = "$after" ] && deb_all_active && deb_signed_ok
}

deb_main_pids() {
	local p
	for p in $DEB_PROGS; do deb_prop "flexhooks@$p.service" MainPID; done
}

# The hardening is in effect and refused nothing: the unit's options as
# systemd applied them, and no denial, seccomp kill or core dump in the
# journal of any flexhooks unit (the signed request above proved the
# REST call to the emulator and the configuration file read).
deb_hardening_ok() {
	local u=$DEB_KILL_UNIT
	deb_all_active || return 1
	[ "$(deb_prop "$u" ProtectSystem)" = strict ] &&
	    [ "$(deb_prop "$u" NoNewPrivileges)" = yes ] &&
	    [ "$(deb_prop "$u" PrivateDevices)" = yes ] &&
	    [ -n "$(deb_prop "$u" SystemCallFilter)" ] || return 1
	! dx journalctl --no-pager -o cat -u 'flexhooks@*' |
	    grep -Ei 'denied|not permitted|bad system call|SIGSYS|core dump|read-only file system|cannot (open|read)'
}

# systemd-analyze security: one line per unit, "NAME SCORE LEVEL"
deb_security_scores() {
	local p
	for p in $DEB_PROGS; do
		dx systemd-analyze security --no-pager "flexhooks@$p.service" 2>&1 |
		    sed -n 's/.*Overall exposure level for \([^:]*\): \([0-9.]*\) \([A-Z]*\).*/\1 \2 \3/p'
	done
}

deb_systemd_checks() {
	local line
	deb_check "kill -9 of a worker: the supervisor starts another" deb_kill_worker
	deb_check "kill -9 of a supervisor: systemd restarts the unit" deb_kill_supervisor
	DEB_STREAM_RESULT=
	deb_check "restart 'flexhooks@*.service' under requests: none refused" \
	    deb_restarts_under_load dx systemctl restart 'flexhooks@*.service'
	deb_say "    (${DEB_STREAM_RESULT:-no result})"
	# an upgrade: postinst restarts the programs
	DEB_STREAM_RESULT=
	deb_check "reinstall under requests: programs restarted, none refused" \
	    deb_restarts_under_load deb_apt install --reinstall "$DEB_PKG"
	deb_say "    (${DEB_STREAM_RESULT:-no result})"
	deb_check "systemctl reload (SIGHUP): every unit still serves" deb_reload_ok
	deb_check "hardening in effect, nothing denied in the journal" deb_hardening_ok
	DEB_SCORES=$(deb_security_scores)
	deb_check "systemd-analyze security: a score for every unit" \
	    test "$(wc -l <<<"$DEB_SCORES")" -eq "$(wc -w <<<"$DEB_PROGS")"
	while read -r line; do
		[ -z "$line" ] || deb_say "    systemd-analyze security $line"
	done <<<"$DEB_SCORES"
}

# The container's files, but for logs, caches, package state and the test's
# own: purge must bring the list back to what it was before the install.
deb_files() {
	dx find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run \
	    -o -path /tmp -o -path /var/tmp -o -path /var/log -o -path /var/cache \
	    -o -path /var/lib/apt -o -path /var/lib/dpkg -o -path "$DEB_CT_OPT" \
	    -o -path /var/lib/systemd/random-seed -o -path /var/lib/systemd/timers \
	    -o -path /var/lib/systemd/catalog -o -path /root \) -prune -o -print |
	    sort
}
deb_files_as_before() {
	deb_files >"$DEB_DIR/files-after"
	diff "$DEB_DIR/files-before" "$DEB_DIR/files-after"
}

# ---- one install-serve-purge run, here (DEB_CT=0) or in the container

# deb_exercise DEB EMULATOR TLS_DIR HTTPS_PORT HTTP_PORT: install the
# package, configure it against the emulator, start the programs (units
# under systemd, else as the units describe), serve requests through
# nginx, purge and check that nothing is left.
deb_exercise() {
	local deb=$1 emulator=$2 tls=$3 https_port=$4 http_port=$5
	local emu_port emu_url token out p user_existed=0
	emu_port=$((http_port + 1))
	emu_url=http://127.0.0.1:$emu_port
	DEB_PUB=https://127.0.0.1:$https_port
	DEB_PKG=$deb

	# 2. install
	dx getent passwd flexhooks >/dev/null && user_existed=1
	[ "$DEB_CT" -eq 0 ] || deb_files >"$DEB_DIR/files-before"
	DEB_INSTALLED_HERE=1
	deb_check "apt-get install ./$(basename "$deb")" deb_apt install \
	    --no-install-recommends "$deb"
	deb_installed || { tail -n 30 "$LOG_DIR/deb-apt.log" >&2; return 1; }
	deb_check "system user and group flexhooks" dx sh -c \
	    'getent passwd flexhooks && getent group flexhooks'
	deb_check "$DEB_CONF from the sample, 0640 root:flexhooks" mode_is "$DEB_CONF" "640 root:flexhooks"
	deb_check "programs in /usr/libexec/flexhooks, provision in /usr/sbin" dx sh -c \
	    "test -x /usr/libexec/flexhooks/create-callback && test -x /usr/sbin/flexhooks-provision"
	deb_check "units and hold music installed" dx test -f "$DEB_UNIT_DIR/flexhooks@.socket" \
	    -a -f "$DEB_UNIT_DIR/flexhooks@.service" -a -f "$DEB_UNIT_DIR/flexhooks.target" \
	    -a -f /usr/share/flexhooks/assets/hold-music.wav
	if dx sh -c 'command -v systemd-analyze' >/dev/null 2>&1; then
		deb_check "systemd-analyze verify (target, socket, service)" \
		    dx systemd-analyze verify "$DEB_UNIT_DIR/flexhooks.target" \
		    "$DEB_UNIT_DIR/flexhooks@healthz.socket" \
		    "$DEB_UNIT_DIR/flexhooks@healthz.service"
	fi
	deb_check "nginx site in sites-available, not enabled" dx sh -c \
	    "test -f '$DEB_SITE' && test ! -e '$DEB_SITE_LINK'"
	dx sh -c "printf '# changed by the test\n' >>'$DEB_CONF'"
	deb_check "reinstall keeps a changed configuration" deb_reinstall_keeps "$deb"

	# 3. configure against the emulator: the sample plus test settings
	token=$(openssl rand -hex 16)
	DEB_BASIC=flexhooks:$(openssl rand -hex 12)
	deb_configure "$DEB_PUB" "$emu_url" "$token" "$DEB_BASIC"
	local -a emu=(python3 "$emulator" --host 127.0.0.1 --port "$emu_port"
	    --account-sid "$FAKE_ACCOUNT_SID" --auth-token "$token"
	    --workspace-sid "$FAKE_WORKSPACE_SID")
	if [ "$DEB_CT" -eq 1 ]; then
		dx systemd-run --quiet --unit=flexhooks-test-emulator "${emu[@]}"
	else
		mkdir -p "$DEB_RUN"
		launch "$LOG_DIR/deb-emulator.log" "${emu[@]}" \
		    --pid-file "$DEB_RUN/emulator.pid"
	fi
	for ((p = 0; p < 100; p++)); do
		[ "$(dx curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		    "$emu_url/__emulator/health" 2>/dev/null)" = 200 ] && break
		sleep 0.1
	done
	if [ "$DEB_CT" -eq 0 ] && [ ! -s "$DEB_RUN/emulator.pid" ]; then
		printf '%s\n' "$LAUNCHED" >"$DEB_RUN/emulator.pid"
	fi

	# 4. start the programs
	DEB_PROGS=$(deb_target_progs)
	if [ "$DEB_SYSTEMD" -eq 1 ]; then
		deb_check "systemctl start flexhooks.target" dx systemctl start flexhooks.target
		sleep 3
		deb_check "the target started every flexhooks@ socket and service" deb_all_stable
	else
		deb_spawn_like_systemd
	fi
	deb_check "sockets /run/flexhooks/*.sock flexhooks:www-data 0660" deb_sockets_ok
	deb_check "programs run as flexhooks" dx sh -c \
	    "u=\$(ps -o user= -p \"\$(pgrep -f '^/usr/libexec/flexhooks/' | tr '\n' ',' | sed 's/,\$//')\" | sort -u); test \"\$u\" = flexhooks"

	# 5. the site on the system nginx: test ports, self-signed certificate
	deb_site_for_test "$tls" "$https_port" "$http_port"
	DEB_LINKED=1
	deb_check "nginx -t with the site enabled" dx nginx -t -q
	if [ "$DEB_CT" -eq 1 ]; then
		deb_check "reload the container's nginx" deb_nginx_reload
	elif [ -n "$(sys_nginx_pid)" ]; then
		deb_check "reload the running system nginx" deb_nginx_reload
	else
		DEB_NGINX_STARTED=1
		if systemd_running; then
			deb_check "start the system nginx" systemctl start nginx
		else
			deb_check "start the system nginx" sh -c 'nginx </dev/null >/dev/null 2>&1'
		fi
	fi
	for ((p = 0; p < 50; p++)); do
		deb_port_open "$https_port" && break
		sleep 0.1
	done

	# 6. requests through the system nginx
	export DEB_AUTH_TOKEN=$token
	deb_check "GET /healthz over https: 200 (every socket answers)" dx sh -c \
	    "test \"\$(curl -sk -o /dev/null -w '%{http_code}' --max-time 10 $DEB_PUB/healthz)\" = 200"
	deb_check "http: 301 to https, except /.well-known/acme-challenge/" dx sh -c \
	    "curl -s -D - -o /dev/null http://127.0.0.1:$http_port/healthz | grep -qi '^location: https://' &&
	     test \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$http_port/.well-known/acme-challenge/none)\" = 404"
	deb_check "hold music: GET /assets/hold-music.wav 200 audio/wav" dx sh -c \
	    "curl -sk -o /dev/null -w '%{http_code} %{content_type}' $DEB_PUB/assets/hold-music.wav | grep -q '^200 audio/wav'"
	out=$(DEB_FORM=$DEB_CB_FORM deb_request POST "$DEB_PUB$DEB_CB")
	deb_check "studio create-callback without Basic auth: 401" test "${out%% *}" = 401
	out=$(deb_signed_ok) || true
	printf '    %s\n' "$out"
	deb_check "signed studio create-callback + Basic: 200 with taskSid" \
	    grep -q '^200 .*"taskSid":"WT' <<<"$out"
	deb_check "the emulator got the task create" dx sh -c \
	    "curl -s '$emu_url/__emulator/requests' | python3 -c 'import json, sys; sys.exit(not any(r[\"method\"] == \"POST\" and r[\"path\"] == \"/v1/Workspaces/$FAKE_WORKSPACE_SID/Tasks\" for r in json.load(sys.stdin)[\"requests\"]))'"
	[ "$DEB_SYSTEMD" -eq 0 ] || deb_systemd_checks

	# 7. purge (under systemd with the units running: prerm stops them,
	# postrm deletes the user), check that nothing is left
	if [ "$DEB_SYSTEMD" -eq 0 ]; then
		deb_stop_programs
		QUIET=1 RUN_DIR=$DEB_RUN signal_stop emulator
		deb_check "apt-get purge -y flexhooks" deb_apt purge flexhooks
	else
		dx systemctl stop flexhooks-test-emulator || true
		deb_check "apt-get purge -y flexhooks (units running)" deb_apt purge flexhooks
	fi
	deb_check "package gone (dpkg)" not deb_known
	deb_check "site link removed by postrm, site file gone" absent "$DEB_SITE_LINK" "$DEB_SITE"
	deb_check "nginx still passes nginx -t" dx nginx -t -q
	deb_check "files gone (/etc/flexhooks, /usr/libexec/flexhooks, provision)" \
	    absent /etc/flexhooks /usr/libexec/flexhooks /usr/sbin/flexhooks-provision \
	    /usr/share/flexhooks /var/lib/flexhooks
	deb_check "unit files gone" no_unit_files
	deb_check "sockets gone (/run/flexhooks), no program running" dx sh -c \
	    "test ! -e /run/flexhooks && ! pgrep -f '^/usr/libexec/flexhooks/'"
	if [ "$DEB_SYSTEMD" -eq 1 ]; then
		deb_check "no flexhooks unit loaded" dx sh -c \
		    "! systemctl list-units --all --plain --no-legend 'flexhooks*' | grep -q ."
	fi
	if [ "$user_existed" -eq 1 ]; then
		deb_check "user flexhooks (made before, e.g. by local.sh) kept" \
		    dx getent passwd flexhooks
	else
		deb_check "user and group flexhooks removed" dx sh -c \
		    '! getent passwd flexhooks && ! getent group flexhooks'
	fi
	if [ "$DEB_CT" -eq 1 ]; then
		deb_check "no file left of the user (find / -nouser -o -nogroup)" dx sh -c \
		    "test -z \"\$(find / -xdev \\( -nouser -o -nogroup \\) -print -quit)\""
		deb_check "nginx still active (postrm reloaded it)" \
		    dx systemctl is-active --quiet nginx
		deb_check "every file as before the install (but logs, caches)" \
		    deb_files_as_before
	fi
	DEB_LINKED=0 DEB_INSTALLED_HERE=0
}

# ---- the container

# The Debian mirror of this machine's APT sources (deb.debian.org if none).
deb_ct_mirror() {
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	    /etc/apt/sources.list.d/*.sources 2>/dev/null | sed 's/#.*//' |
	    grep -oE 'https?://[^ ]*/debian/?( |$)' | head -n 1 | tr -d ' ')
	printf '%s' "${m:-http://deb.debian.org/debian}"
}

# deb_ct_root DEB: DEB_CT_TAR, the cached root for this package's
# dependencies; debootstrap makes it when it is absent.
deb_ct_root() {
	local deb=$1 mirror deps include key cache tmp
	mirror=$(deb_ct_mirror)
	deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' |
	    sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g')
	# shellcheck disable=SC2086 # word lists
	include=$(printf '%s\n' $DEB_CT_INCLUDE $deps | grep . | sort -u |
	    tr '\n' ',' | sed 's/,$//')
	key=$(printf '%s %s %s\n' "$DEB_CT_SUITE" "$mirror" "$include" |
	    sha256sum | cut -c 1-12)
	cache=${FLEXHOOKS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/flexhooks}
	DEB_CT_TAR=$cache/deb-root-$DEB_CT_SUITE-$key.tar
	[ -s "$DEB_CT_TAR" ] && return 0
	say "debootstrap $DEB_CT_SUITE from $mirror into $DEB_CT_TAR (log: $LOG_DIR/deb-debootstrap.log)"
	tmp=$DEB_DIR/debootstrap
	rm -rf --one-file-system "$tmp"
	debootstrap --variant=minbase --include="$include" "$DEB_CT_SUITE" \
	    "$tmp" "$mirror" >"$LOG_DIR/deb-debootstrap.log" 2>&1 || return 1
	rm -f "$tmp"/var/cache/apt/archives/*.deb
	mkdir -p "$cache"
	tar -C "$tmp" --numeric-owner -cf "$DEB_CT_TAR.$$" . &&
	    mv -f "$DEB_CT_TAR.$$" "$DEB_CT_TAR"
	rm -rf --one-file-system "$tmp"
	# roots for other dependencies (and partial ones) older than an hour
	find "$cache" -maxdepth 1 -name "deb-root-$DEB_CT_SUITE-*.tar*" \
	    ! -name "${DEB_CT_TAR##*/}" -mmin +60 -delete 2>/dev/null || true
}

# deb_ct_boot: unpack the root, boot it (systemd-nspawn --boot, private
# network, not registered with systemd-machined), wait for
# systemd to finish starting; DEB_EXEC then runs commands in it.  On
# failure DEB_CT_WHY says why.
deb_ct_boot() {
	local p i end leader='' state=''
	rm -rf --one-file-system "$DEB_CT_DIR"
	mkdir -p "$DEB_CT_DIR"
	tar -C "$DEB_CT_DIR" --numeric-owner -xpf "$DEB_CT_TAR"
	DEB_CT_NAME=flexhooks-deb-$$
	: >"$LOG_DIR/deb-nspawn.log"
	# Without systemd as PID 1 here there is no bus to ask for a scope
	# ("Failed to open system bus"): the container stays in our cgroup
	# (--keep-unit).  With it, nspawn gets a scope of its own.
	local -a unit=()
	systemd_running || unit=(--keep-unit)
	(
		close_fds
		exec systemd-nspawn --quiet --boot --directory="$DEB_CT_DIR" \
		    --machine="$DEB_CT_NAME" --register=no "${unit[@]}" \
		    --private-network --console=pipe \
		    </dev/null >>"$LOG_DIR/deb-nspawn.log" 2>&1
	) &
	DEB_CT_PID=$!
	# the container's PID 1: a descendant of nspawn that is pid 1 in its
	# own namespace
	for ((i = 0; i < 100; i++)); do
		for p in $(pgrep -P "$DEB_CT_PID") $(pgrep -P "$(pgrep -P "$DEB_CT_PID" | head -n 1)" 2>/dev/null); do
			if [ "$(awk '/^NSpid:/ { print $NF }' "/proc/$p/status" 2>/dev/null)" = 1 ]; then
				leader=$p
				break 2
			fi
		done
		alive "$DEB_CT_PID" || break
		sleep 0.1
	done
	if [ -z "$leader" ]; then
		DEB_CT_WHY="systemd-nspawn --boot did not start an init: $(tail -n 3 "$LOG_DIR/deb-nspawn.log" | tr '\n' ' ')"
		return 1
	fi
	DEB_CT_LEADER=$leader
	DEB_EXEC=(nsenter -t "$leader" -a -- env
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	    LC_ALL=C SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 HOME=/root)
	end=$((SECONDS + 90))
	while [ "$SECONDS" -lt "$end" ]; do
		state=$(dx timeout $((end - SECONDS)) systemctl is-system-running \
		    --wait 2>&1) && break
		[ "$state" != degraded ] || break
		alive "$DEB_CT_PID" || break
		sleep 0.5
	done
	case $state in
	running) return 0 ;;
	degraded)
		deb_say "systemd in the container is degraded: $(dx systemctl --failed --no-legend --plain | tr '\n' ' ')"
		return 0 ;;
	esac
	DEB_CT_WHY="systemd in the container did not come up ($state): $(tail -n 3 "$LOG_DIR/deb-nspawn.log" | tr '\n' ' ')"
	return 1
}

# Halt the container (SIGTERM to nspawn: a clean poweroff), remove its root;
# its journal goes to deb-nspawn-journal.log first.
deb_ct_stop() {
	local i
	if [ -n "${DEB_CT_PID:-}" ]; then
		if alive "$DEB_CT_PID"; then
			dx journalctl --no-pager -b -o short-monotonic \
			    >"$LOG_DIR/deb-nspawn-journal.log" 2>&1 || true
			kill -TERM "$DEB_CT_PID" 2>/dev/null || true
			for ((i = 0; i < 200; i++)); do
				alive "$DEB_CT_PID" || break
				sleep 0.1
			done
		fi
		if alive "$DEB_CT_PID"; then
			warn "the container did not halt in 20 s: killed"
			[ -z "${DEB_CT_LEADER:-}" ] || kill -KILL "$DEB_CT_LEADER" 2>/dev/null || true
			kill -KILL "$DEB_CT_PID" 2>/dev/null || true
			sleep 0.5
		fi
	fi
	DEB_CT_PID='' DEB_CT_LEADER='' DEB_EXEC=()
	rm -rf --one-file-system "$DEB_CT_DIR"
	# nspawn leaves its propagation directory when /run is not a tmpfs
	[ -z "${DEB_CT_NAME:-}" ] ||
	    rm -rf --one-file-system "/run/systemd/nspawn/propagate/$DEB_CT_NAME"
}

# deb_container DEB HTTPS_PORT HTTP_PORT: the package under a real systemd.
# Returns 77 (with DEB_CT_WHY) when no container can be booted here.
deb_container() {
	local deb=$1 https_port=$2 http_port=$3 missing t0
	t0=$(date +%s)
	DEB_CT_WHY=
	if ! command -v debootstrap >/dev/null || ! command -v systemd-nspawn >/dev/null; then
		# shellcheck disable=SC2086 # word list
		missing=$(missing_packages $DEB_CT_PACKAGES | tr '\n' ' ')
		say "installing Debian packages: $missing"
		# shellcheck disable=SC2086 # word list
		DEBIAN_FRONTEND=noninteractive apt-get install "${DEB_APT_OPTS[@]}" \
		    --no-install-recommends $missing >>"$LOG_DIR/deb-apt.log" 2>&1 ||
		    { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
		    DEBIAN_FRONTEND=noninteractive apt-get install "${DEB_APT_OPTS[@]}" \
		    --no-install-recommends $missing; } >>"$LOG_DIR/deb-apt.log" 2>&1 ||
		    { DEB_CT_WHY="cannot install $missing"; return 1; }
	fi
	if ! deb_ct_root "$deb"; then
		DEB_CT_WHY="debootstrap failed: $(tail -n 2 "$LOG_DIR/deb-debootstrap.log" | tr '\n' ' ')"
		return 1
	fi
	trap deb_ct_stop EXIT
	if ! deb_ct_boot; then
		deb_ct_stop
		trap - EXIT
		return 77
	fi
	say "container $DEB_CT_NAME booted in $(($(date +%s) - t0)) s (root: $DEB_CT_TAR)"
	mkdir -p "$DEB_CT_DIR$DEB_CT_OPT"
	cp "$deb" "$EMULATOR" "$DEB_CT_DIR$DEB_CT_OPT/"
	DEB_TAG="(nspawn)" DEB_CT=1 DEB_SYSTEMD=1
	deb_exercise "$DEB_CT_OPT/$(basename "$deb")" \
	    "$DEB_CT_OPT/$(basename "$EMULATOR")" "$DEB_CT_OPT/tls" \
	    "$https_port" "$http_port"
	DEB_TAG='' DEB_CT=0
	deb_ct_stop
	trap - EXIT
	say "systemd container: $(($(date +%s) - t0)) s"
}

phase_deb() {
	local https_port=${FLEXHOOKS_DEB_HTTPS_PORT:-9443}
	local http_port=${FLEXHOOKS_DEB_HTTP_PORT:-9080}
	local deb missing p t0 t1 rc
	DEB_FAILS=0 DEB_SYSTEMD=0 DEB_CT=0 DEB_LINKED=0 DEB_INSTALLED_HERE=0
	DEB_NGINX_STARTED=0 DEB_EXEC=() DEB_TAG=
	t0=$(date +%s)
	if ! is_root; then
		say "SKIP: the Debian package test needs root (it installs and purges flexhooks system-wide)"
		return 77
	fi
	if deb_known; then
		say "SKIP: a flexhooks package is already on this system; the test would purge it"
		return 77
	fi
	if [ -e "$DEB_SITE_LINK" ] || [ -L "$DEB_SITE_LINK" ]; then
		say "SKIP: $DEB_SITE_LINK exists; not touching the system nginx"
		return 77
	fi
	for p in "$https_port" "$http_port" "$((http_port + 1))"; do
		if port_in_use "$p"; then
			warn "port $p is in use: set FLEXHOOKS_DEB_HTTP_PORT/FLEXHOOKS_DEB_HTTPS_PORT"
			return 1
		fi
	done
	: >"$LOG_DIR/deb-checks.log"
	: >"$LOG_DIR/deb-apt.log"
	trap deb_cleanup EXIT
	# On this machine the units run for real only when asked
	# (FLEXHOOKS_DEB_SYSTEMD=1 with systemd as PID 1); the container below
	# runs them under its own systemd in any case.
	if systemd_running && [ "${FLEXHOOKS_DEB_SYSTEMD:-0}" = 1 ]; then
		DEB_SYSTEMD=1
		say "systemd is PID 1: the units run for real"
	else
		say "programs started as the installed units describe (spawn-fcgi," \
		    "socket on fd 0; PID 1: $(ps -p 1 -o comm= 2>/dev/null || echo '?'));" \
		    "then under systemd in a container"
	fi

	# build tools (as local.sh installs its own packages)
	# shellcheck disable=SC2086 # word list
	missing=$(missing_packages $DEB_PACKAGES | tr '\n' ' ')
	if [ -n "${missing// /}" ]; then
		say "installing Debian packages: $missing"
		# shellcheck disable=SC2086 # word list
		DEBIAN_FRONTEND=noninteractive apt-get install "${DEB_APT_OPTS[@]}" \
		    --no-install-recommends $missing >>"$LOG_DIR/deb-apt.log" 2>&1 ||
		    { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
		    DEBIAN_FRONTEND=noninteractive apt-get install "${DEB_APT_OPTS[@]}" \
		    --no-install-recommends $missing; } >>"$LOG_DIR/deb-apt.log" 2>&1
	fi

	# 1. build in a copy of the tree (dh_autoreconf must not touch it)
	rm -rf "$DEB_DIR/src"
	mkdir -p "$DEB_DIR/src/flexhooks"
	(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
	    tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
	    tar -xpf - -C "$DEB_DIR/src/flexhooks"
	say "dpkg-buildpackage -us -uc -b (log: $LOG_DIR/deb-build.log)"
	deb_check "dpkg-buildpackage -us -uc -b" sh -c \
	    "cd '$DEB_DIR/src/flexhooks' && DEB_BUILD_OPTIONS=parallel=2 dpkg-buildpackage -us -uc -b >'$LOG_DIR/deb-build.log' 2>&1"
	deb=$(compgen -G "$DEB_DIR/src/flexhooks_*_$(dpkg --print-architecture).deb" | head -n 1) ||
	    { tail -n 30 "$LOG_DIR/deb-build.log" >&2; return 1; }
	lintian --pedantic --tag-display-limit 0 "$DEB_DIR"/src/flexhooks_*.changes \
	    >"$LOG_DIR/deb-lintian.log" 2>&1 || true
	deb_check "lintian: no errors ($(grep -c '^E:' "$LOG_DIR/deb-lintian.log") E, $(grep -c '^W:' "$LOG_DIR/deb-lintian.log") W)" \
	    sh -c "! grep '^E:' '$LOG_DIR/deb-lintian.log'"
	grep -E '^[EW]:' "$LOG_DIR/deb-lintian.log" | sed 's/^/    lintian /' || true

	# 2-7. on this machine
	deb_exercise "$deb" "$EMULATOR" "$DEB_DIR/tls" "$https_port" "$http_port"
	deb_cleanup
	trap - EXIT
	deb_check "system nginx as before ($([ "$DEB_NGINX_STARTED" -eq 1 ] && echo stopped again || echo still running))" \
	    sh -c "test $DEB_NGINX_STARTED -eq 0 || test ! -s /run/nginx.pid || ! kill -0 \$(cat /run/nginx.pid)"
	t1=$(date +%s)
	say "on this machine: $((t1 - t0)) s"

	# 8. again in a container booted with systemd (same ports: its own
	# network)
	rc=0
	deb_container "$deb" "$https_port" "$http_port" || rc=$?
	if [ "$rc" -eq 77 ]; then
		printf '  deb(nspawn): %-50s SKIP\n' "the units under systemd in a container"
		say "SKIP (systemd container): $DEB_CT_WHY"
	elif [ "$rc" -ne 0 ]; then
		printf '  deb(nspawn): %-50s FAIL\n' "the systemd container"
		say "the systemd container: $DEB_CT_WHY"
		DEB_FAILS=$((DEB_FAILS + 1))
	fi
	say "Debian package phase: $(($(date +%s) - t0)) s, $DEB_FAILS failed check(s)"
	[ "$DEB_FAILS" -eq 0 ]
}

case ${1:-} in
'')
	mkdir -p "$LOG_DIR"
	phase_deb
	;;
-h | --help | help)
	sed -n '3,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "${BASH_SOURCE[0]}"
	;;
*)
	sed -n '3,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "${BASH_SOURCE[0]}" >&2
	exit 2
	;;
esac
