#!/usr/bin/env bash
# deploy/local.sh: the flexhooks local stack (README.md §6).
#
#   deploy/local.sh start    install what is missing (as root), build, start the
#                            emulator (unless real Twilio credentials are set),
#                            the FastCGI programs and nginx; print the URLs
#   deploy/local.sh stop     stop everything started here (pid files)
#   deploy/local.sh status   one line per component; exit 0 only if all run
#   deploy/local.sh run      start, follow the logs, stop on Ctrl-C / SIGTERM
#   deploy/local.sh test     start with the emulator, run `make check`, stop;
#                            then each libFuzzer target for FUZZ_SECONDS
#                            (`make fuzz`, clang); with CI=true or
#                            FLEXHOOKS_TEST_SANITIZERS=1 also an ASan+UBSan
#                            run, valgrind on the unit tests and
#                            `make distcheck`
#
# Environment: FLEXHOOKS_PORT (nginx, default 8080; the emulator uses PORT+1),
# FLEXHOOKS_BASIC_AUTH=user:password, FLEXHOOKS_PUBLIC_URL, FLEXHOOKS_EMULATOR=1
# (use the emulator even with real credentials set; it then takes ACCOUNT_SID,
# AUTH_TOKEN, TWILIO_FLEX_WORKSPACE_SID and TWILIO_FLEX_CALLBACK_WORKFLOW_SID as
# its identity), CONFIGURE_FLAGS (e.g. --enable-sanitizers), FLEXHOOKS_CACHE
# (npm cache for Prism and the Debian root of the package test, default
# ~/.cache/flexhooks), FLEXHOOKS_TEST_SANITIZERS
# (1/0: force the extra test phases on/off), FLEXHOOKS_TESTS (a space-separated
# subset of make check's TESTS, e.g. tests/integration/test_wait.py),
# FLEXHOOKS_EMULATOR_LATENCY_MS (the emulator waits this long before every
# Twilio answer; default 0), FLEXHOOKS_EMULATOR_REQUEST_LOG=0 (the emulator
# keeps no request read-back, for load tests; default 1), FUZZ_SECONDS (seconds
# per fuzz target in `test`, default 10; 0 skips the fuzz phase),
# FLEXHOOKS_LOAD_JOURNEYS (journeys of the short load test in `test`,
# default 2000; 0 skips the load phase),
# FLEXHOOKS_BENCH=1 (bench/run.sh: nginx also serves the "# @bench" blocks
# of the template), FLEXHOOKS_NGINX_FLEX_RATE (nginx's limit on the
# Flex-token routes per client address, default 20r/s as in production; the
# bench raises it), FLEXHOOKS_NGINX_KEEPALIVE=1 (FastCGI keep-alive,
# nginx/flexhooks.conf.in "# @keepalive"; off by default, on in `test`),
# FLEXHOOKS_TEST_DEB (1/0: the Debian package phase of
# `test`; root only, on by default with CI=true: builds the .deb, runs
# lintian, installs it, serves a signed request through the system nginx on
# FLEXHOOKS_DEB_HTTPS_PORT (9443; http on FLEXHOOKS_DEB_HTTP_PORT, 9080; the
# emulator on that + 1), purges it; then the same and the units' restart,
# kill and hardening checks under systemd in a debootstrapped Debian 12
# container, systemd-nspawn --boot, its root cached in FLEXHOOKS_CACHE).
# Every other FLEXHOOKS_*,
# TWILIO_*, API_KEY and API_SECRET variable is passed to the programs through
# .local/flexhooks.env.  State lives in .local/ at the project root.
set -euo pipefail

# The FastCGI programs (cgi-bin/NAME).  Only those that are built are started;
# nginx gets locations only for them (nginx/flexhooks.conf.in "# @program").
PROGRAMS="healthz create-callback flex-create-callback requeue-callback fetch-voicemail
wait-experience incoming-call taskrouter-events twiml-redirect-call dial-queue
status-callback location-lookup"

PRISM_VERSIONS="5.16.0 5.14.2"	# pinned; the second is the fallback

# The real-client test (tests/integration/test_clients.py) bundles the Flex
# plugins' own code from ../shared/clients with esbuild and renders the
# plugin library's panel with React; the plugins' own libraries come too.
CLIENT_PACKAGES="esbuild@0.25.9 react@17.0.2 react-dom@17.0.2 luxon@3.5.0
lodash@4.17.21 semver@7.6.3"

# Debian packages: "package" or "package=command" (satisfied when the command
# exists, whichever package provides it: nginx flavours conflict, and node may
# come from NodeSource).
BASE_PACKAGES="autoconf automake pkg-config=pkg-config make gcc libc6-dev
libfcgi-dev libcurl4-openssl-dev libjson-c-dev libssl-dev check
nginx-light=nginx spawn-fcgi python3=python3 curl openssl ca-certificates
valgrind clang libclang-rt-dev procps clang-format=clang-format
shellcheck=shellcheck"
TEST_PACKAGES="nodejs=node npm=npm python3-aiosmtpd"

umask 022
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
shopt -u patsub_replacement 2>/dev/null || true

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
LOCAL=$ROOT/.local
RUN_DIR=$LOCAL/run
LOG_DIR=$LOCAL/log
NGINX_DIR=$LOCAL/nginx
NGINX_CONF=$NGINX_DIR/nginx.conf
ENV_FILE=$LOCAL/flexhooks.env
BASIC_FILE=$LOCAL/basic_auth
STATE_FILE=$RUN_DIR/stack.state
TEMPLATE=$ROOT/nginx/flexhooks.conf.in
EMULATOR=$ROOT/tests/twilio-emulator/emulator.py
NGINX_CONF_DIR=/etc/nginx
SAN_DIR=$LOCAL/build-san

# Fixed fake identity for the emulator when the caller gives none.
FAKE_ACCOUNT_SID=ACf1e8c0de000000000000000000000001
FAKE_WORKSPACE_SID=WSf1e8c0de000000000000000000000001
FAKE_WORKFLOW_SID=WWf1e8c0de000000000000000000000001
# The test stack's second workspace, the dialer's "Call Router"
# (tests/integration/test_dialer_workspaces.py seeds it in the emulator).
FAKE_DIALER_WORKSPACE_SID=WSf1e8c0de000000000000000000000002

# Variables of this script (or of the tests) that are not program settings.
LOCAL_ONLY_VARS="FLEXHOOKS_EMULATOR FLEXHOOKS_EMULATOR_URL FLEXHOOKS_CACHE
FLEXHOOKS_PRISM FLEXHOOKS_ROOT FLEXHOOKS_LOG_DIR FLEXHOOKS_BUILD_DIR
FLEXHOOKS_CONFIG FLEXHOOKS_TEST_STACK FLEXHOOKS_TEST_SANITIZERS
FLEXHOOKS_HEALTH_SOCKETS FLEXHOOKS_TESTS FLEXHOOKS_PROGRAM_PROCESSES
FLEXHOOKS_EMULATOR_LATENCY_MS FLEXHOOKS_EMULATOR_REQUEST_LOG FLEXHOOKS_BENCH
FLEXHOOKS_TEST_DEB FLEXHOOKS_DEB_HTTPS_PORT FLEXHOOKS_DEB_HTTP_PORT
FLEXHOOKS_DEB_SYSTEMD FLEXHOOKS_NGINX_FLEX_RATE FLEXHOOKS_LOAD_JOURNEYS
FLEXHOOKS_CLIENT_MODULES FLEXHOOKS_NGINX_KEEPALIVE"

say() { printf 'local.sh: %s\n' "$*"; }
warn() { printf 'local.sh: warning: %s\n' "$*" >&2; }
die() { printf 'local.sh: error: %s\n' "$*" >&2; exit 1; }
phase() { printf '\n======== %s ========\n' "$*"; }

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "${BASH_SOURCE[0]}"
	exit "${1:-2}"
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# ---------------------------------------------------------------- settings

PORT=${FLEXHOOKS_PORT:-8080}
check_port_setting() {
	case $PORT in
	'' | *[!0-9]*) die "FLEXHOOKS_PORT '$PORT' is not a port number" ;;
	esac
	if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65534 ]; then
		die "FLEXHOOKS_PORT '$PORT' is out of range (1-65534)"
	fi
	EMU_PORT=$((PORT + 1))
	EMU_URL=http://127.0.0.1:$EMU_PORT
}

# nginx takes these paths unquoted, and unix socket paths are short.
check_paths() {
	case $ROOT in
	*[!A-Za-z0-9._/+-]*)
		die "project path '$ROOT' has characters nginx.conf cannot take; move the checkout" ;;
	esac
	local longest=$RUN_DIR/twiml-redirect-call.sock
	if [ "${#longest}" -gt 100 ]; then
		die "project path '$ROOT' is too long for unix socket paths (max ~70 characters)"
	fi
}

# ---------------------------------------------------------------- packages

missing_packages() {
	local spec pkg cmd
	for spec in "$@"; do
		pkg=${spec%%=*}
		cmd=
		[ "$pkg" = "$spec" ] || cmd=${spec#*=}
		if [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then
			continue
		fi
		if dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null |
		    grep -q '^ii'; then
			continue
		fi
		printf '%s\n' "$pkg"
	done
}

ensure_packages() {
	local missing
	if ! command -v dpkg-query >/dev/null 2>&1; then
		warn "not a Debian system: cannot check packages; continuing"
		return 0
	fi
	# shellcheck disable=SC2086 # word list
	missing=$(missing_packages $BASE_PACKAGES | tr '\n' ' ')
	missing=${missing% }
	[ -n "$missing" ] || return 0
	if ! is_root; then
		printf 'local.sh: missing Debian packages; as root, run:\n' >&2
		printf '  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y %s\n' \
		    "$missing" >&2
		exit 1
	fi
	say "installing Debian packages: $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086 # word list
	apt-get install -y -q $missing
}

# Packages only some tests need (node/npm for Prism): a failure is a warning.
ensure_optional_packages() {
	local missing
	command -v dpkg-query >/dev/null 2>&1 || return 0
	missing=$(missing_packages "$@" | tr '\n' ' ')
	missing=${missing% }
	[ -n "$missing" ] || return 0
	if ! is_root; then
		warn "missing optional packages ($missing): as root, run apt-get install -y $missing"
		return 0
	fi
	say "installing Debian packages: $missing"
	# shellcheck disable=SC2086 # word list
	if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing; }; then
		warn "cannot install $missing"
	fi
}

# ---------------------------------------------------------------- build

# build_tree DIR FLAGS...: autoreconf/configure as needed, then make.  The
# configure flags used are remembered so that a change reconfigures.
build_tree() {
	local dir=$1 stamp
	shift
	stamp=$LOCAL/configure-flags.$(basename "$dir")
	[ "$dir" = "$ROOT" ] && stamp=$LOCAL/configure-flags
	[ -f "$dir/configure.ac" ] || die "no configure.ac in '$dir': nothing to build yet"
	mkdir -p "$LOCAL"
	if [ ! -x "$dir/configure" ]; then
		say "autoreconf -fi (in $dir)"
		(cd "$dir" && autoreconf -fi) || die "autoreconf failed in '$dir'"
	fi
	if [ ! -f "$dir/Makefile" ] || [ ! -f "$stamp" ] ||
	    [ "$(cat "$stamp")" != "$*" ]; then
		say "./configure${*:+ $*} (in $dir)"
		rm -f "$stamp"
		(cd "$dir" && ./configure "$@") || die "configure failed in '$dir'"
		printf '%s' "$*" >"$stamp"
	fi
	say "make -j2 (in $dir)"
	make -C "$dir" -j2 || die "build failed in '$dir'"
}

configure_flags() {
	local -a flags=()
	if [ -n "${CONFIGURE_FLAGS+set}" ]; then
		read -r -a flags <<<"$CONFIGURE_FLAGS"
	elif [ "${CI:-}" = true ]; then
		flags=(--enable-werror)
	fi
	[ "${#flags[@]}" -eq 0 ] || printf '%s\n' "${flags[@]}"
}

# ---------------------------------------------------------------- processes

# alive PID: the process exists and is not a zombie (an exited daemon stays
# a zombie until init reaps it, which can take a while in containers).
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# pid_running PIDFILE EXPECT: true when the pid in PIDFILE is alive and its
# command line contains EXPECT (so a stale file never names a stranger).
pid_running() {
	local pid
	[ -f "$1" ] || return 1
	pid=$(tr -dc '0-9' <"$1")
	[ -n "$pid" ] && alive "$pid" || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}

pid_of() { tr -dc '0-9' <"$1"; }

expect_of() {
	case $1 in
	nginx) printf '%s' "$NGINX_CONF" ;;
	emulator) printf '%s' "emulator.py" ;;
	deb-*) printf '%s' "/usr/libexec/flexhooks/${1#deb-}" ;;
	*) printf '%s' "cgi-bin/$1" ;;
	esac
}

# close_fds: close every descriptor above 2 (run in a subshell just before
# exec), so that daemons hold no pipe of whoever ran this script.
close_fds() {
	local f fd
	for f in /proc/"$BASHPID"/fd/*; do
		fd=${f##*/}
		if [ "$fd" -gt 2 ] 2>/dev/null; then
			eval "exec $fd>&-" 2>/dev/null || true
		fi
	done
}

# launch LOG CMD...: run CMD as a daemon in its own session, stdin from
# /dev/null, stdout and stderr appended to LOG; its pid goes to LAUNCHED.
launch() {
	local log=$1
	shift
	(
		close_fds
		exec setsid "$@" </dev/null >>"$log" 2>&1
	) &
	LAUNCHED=$!
}

port_in_use() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# signal_stop NAME...: send each running component its stop signal (QUIT for
# nginx: finish the requests in flight), wait up to 6 s, then KILL; remove its
# pid file.  Stale pid files are just removed.
signal_stop() {
	local name f pid i any
	local -a pids=()
	for name in "$@"; do
		f=$RUN_DIR/$name.pid
		[ -f "$f" ] || continue
		if pid_running "$f" "$(expect_of "$name")"; then
			pid=$(pid_of "$f")
			[ -n "$QUIET" ] || say "stopping $name (pid $pid)"
			if [ "$name" = nginx ]; then
				kill -QUIT "$pid" 2>/dev/null || true
			else
				kill -TERM "$pid" 2>/dev/null || true
			fi
			pids+=("$pid")
		fi
	done
	for ((i = 0; i < 60 && ${#pids[@]} > 0; i++)); do
		any=0
		for pid in "${pids[@]}"; do
			if alive "$pid"; then
				any=1
			fi
		done
		[ "$any" -eq 1 ] || break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do
		if alive "$pid"; then
			warn "pid $pid did not stop in time: killing it"
			# nginx workers are the master's children
			pkill -KILL -P "$pid" 2>/dev/null || true
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	for name in "$@"; do
		rm -f "$RUN_DIR/$name.pid"
	done
}

# stop_all [quiet]: nginx first, so no new request reaches a stopping
# program; then the programs and the emulator.
stop_all() {
	local f
	local -a rest=()
	QUIET=${1:-}
	[ -d "$RUN_DIR" ] || return 0
	signal_stop nginx
	for f in "$RUN_DIR"/*.pid; do
		if [ -f "$f" ]; then
			rest+=("$(basename "$f" .pid)")
		fi
	done
	[ "${#rest[@]}" -eq 0 ] || signal_stop "${rest[@]}"
	rm -f "$RUN_DIR"/*.sock "$STATE_FILE"
}

any_running() {
	local f
	for f in "$RUN_DIR"/*.pid; do
		[ -f "$f" ] || continue
		pid_running "$f" "$(expect_of "$(basename "$f" .pid)")" && return 0
	done
	return 1
}

# ---------------------------------------------------------------- users

# As root: nginx workers run as www-data (or nobody) and the programs as the
# system user "flexhooks"; sockets are owned by flexhooks with the workers'
# group, mode 0660.  If those users cannot reach the checkout (e.g. under a
# 0700 /root), everything runs as root instead, with a warning.
as_user() {
	local u=$1
	shift
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups \
	    -- "$@"
}

setup_users() {
	local build_dir=$1
	if ! is_root; then
		PROG_USER=$(id -un)
		PROG_GROUP=$(id -gn)
		WEB_USER=$PROG_USER
		WEB_GROUP=$PROG_GROUP
		return 0
	fi
	WEB_USER=www-data
	id -u "$WEB_USER" >/dev/null 2>&1 || WEB_USER=nobody
	WEB_GROUP=$(id -gn "$WEB_USER")
	PROG_USER=flexhooks
	if ! id -u "$PROG_USER" >/dev/null 2>&1; then
		useradd --system --user-group --no-create-home \
		    --home-dir /nonexistent --shell /usr/sbin/nologin \
		    "$PROG_USER" 2>/dev/null || PROG_USER=nobody
	fi
	PROG_GROUP=$(id -gn "$PROG_USER")
	if ! as_user "$WEB_USER" test -x "$LOCAL" ||
	    ! as_user "$PROG_USER" test -x "$build_dir/cgi-bin/healthz" ||
	    ! as_user "$PROG_USER" test -x "$LOCAL"; then
		warn "'$ROOT' is not reachable by $WEB_USER/$PROG_USER:" \
		    "running nginx workers and the programs as root"
		PROG_USER=root PROG_GROUP=root WEB_USER=root WEB_GROUP=root
	fi
}

# ---------------------------------------------------------------- config

# Decide emulator or real Twilio and fill the identity variables.
setup_identity() {
	USE_EMULATOR=1
	if [ "${FLEXHOOKS_EMULATOR:-}" != 1 ] && [ -n "${ACCOUNT_SID:-}" ] &&
	    { [ -n "${AUTH_TOKEN:-}" ] ||
	    { [ -n "${API_KEY:-}" ] && [ -n "${API_SECRET:-}" ]; }; }; then
		USE_EMULATOR=0
	fi
	EMU_API_KEY=
	if [ "$USE_EMULATOR" -eq 1 ]; then
		if [ -n "${API_KEY:-}" ] && [ -n "${API_SECRET:-}" ]; then
			EMU_API_KEY=$API_KEY
		fi
		ACCOUNT_SID=${ACCOUNT_SID:-$FAKE_ACCOUNT_SID}
		AUTH_TOKEN=${AUTH_TOKEN:-$(openssl rand -hex 16)}
		# set but empty (TWILIO_FLEX_WORKSPACE_SID=): a stack
		# without Flex, whose dialer serves the emulator's workspace
		TWILIO_FLEX_WORKSPACE_SID=${TWILIO_FLEX_WORKSPACE_SID-$FAKE_WORKSPACE_SID}
		TWILIO_FLEX_CALLBACK_WORKFLOW_SID=${TWILIO_FLEX_CALLBACK_WORKFLOW_SID-$FAKE_WORKFLOW_SID}
		EMU_WORKSPACE_SID=${TWILIO_FLEX_WORKSPACE_SID:-$FAKE_WORKSPACE_SID}
		if [ -z "$TWILIO_FLEX_WORKSPACE_SID" ] &&
		    [ -z "${FLEXHOOKS_EVENT_WORKSPACES:-}" ]; then
			export FLEXHOOKS_EVENT_WORKSPACES=$EMU_WORKSPACE_SID
		fi
	else
		[ -n "${AUTH_TOKEN:-}" ] ||
		    warn "AUTH_TOKEN is not set: programs serving signature routes will refuse to start"
		[ -n "${TWILIO_FLEX_WORKSPACE_SID:-}" ] ||
		    [ -n "${FLEXHOOKS_EVENT_WORKSPACES:-}" ] ||
		    warn "neither TWILIO_FLEX_WORKSPACE_SID nor FLEXHOOKS_EVENT_WORKSPACES is set"
	fi
	PUBLIC_URL=${FLEXHOOKS_PUBLIC_URL:-http://127.0.0.1:$PORT}
	PUBLIC_URL=${PUBLIC_URL%/}
	if [ "$USE_EMULATOR" -eq 0 ]; then
		case $PUBLIC_URL in
		https://*) ;;
		*) warn "FLEXHOOKS_PUBLIC_URL '$PUBLIC_URL' is not https: Twilio cannot call it" ;;
		esac
	fi
}

# FLEXHOOKS_BASIC_AUTH, else the pair saved by an earlier start, else a new
# random one.  Only URL-unreserved characters: they go into URLs as is.
setup_basic_auth() {
	local pass
	if [ -n "${FLEXHOOKS_BASIC_AUTH:-}" ]; then
		BASIC_AUTH=$FLEXHOOKS_BASIC_AUTH
	elif [ -s "$BASIC_FILE" ]; then
		BASIC_AUTH=$(head -n 1 "$BASIC_FILE")
	else
		pass=$(openssl rand -base64 64 | LC_ALL=C tr -dc 'A-Za-z0-9')
		BASIC_AUTH=flexhooks:${pass:0:24}
		(umask 077 && printf '%s\n' "$BASIC_AUTH" >"$BASIC_FILE")
	fi
	if ! [[ $BASIC_AUTH =~ ^[A-Za-z0-9._~-]+:[A-Za-z0-9._~-]+$ ]]; then
		die "FLEXHOOKS_BASIC_AUTH must be user:password made of A-Z a-z 0-9 - . _ ~"
	fi
	if [ -n "${FLEXHOOKS_HTPASSWD:-}" ]; then
		HTPASSWD=$FLEXHOOKS_HTPASSWD
		[ -r "$HTPASSWD" ] || die "FLEXHOOKS_HTPASSWD '$HTPASSWD' is not readable"
		return 0
	fi
	HTPASSWD=$NGINX_DIR/htpasswd
	# Salted SHA-1 ({SSHA}, which nginx reads), not apr1: nginx checks
	# the password on every request, and apr1's 1000 MD5 rounds cost
	# about 150 us of a worker each time (bench/run.sh measured the
	# Basic-auth routes 5x slower).  A slow hash buys nothing here: the
	# same password sits in plain text in the programs' configuration
	# (FLEXHOOKS_BASIC_AUTH, for the URLs handed to Twilio).
	local hash salt
	salt=$(openssl rand -hex 8)
	hash=$({
		printf '%s' "${BASIC_AUTH#*:}$salt" | openssl dgst -sha1 -binary
		printf '%s' "$salt"
	} | openssl base64 -A)
	hash={SSHA}$hash
	(umask 077 && printf '%s:%s\n' "${BASIC_AUTH%%:*}" "$hash" >"$HTPASSWD")
	if is_root; then
		chown "root:$WEB_GROUP" "$HTPASSWD"
		chmod 0640 "$HTPASSWD"
	fi
}

# env_line KEY VALUE: one KEY=VALUE line (values are taken literally); an
# empty value is left out, so that the program applies its default or names
# the missing key.
env_line() {
	case $2 in
	'') ;;
	*$'\n'*) warn "$1 contains a newline: not passed to the programs" ;;
	*) printf '%s=%s\n' "$1" "$2" ;;
	esac
}

write_env_file() {
	local health=$1 name
	local -a written=()
	{
		printf '# generated by deploy/local.sh; rewritten on every start\n'
		env_line ACCOUNT_SID "${ACCOUNT_SID:-}"
		written+=(ACCOUNT_SID)
		if [ -n "${AUTH_TOKEN:-}" ]; then
			env_line AUTH_TOKEN "$AUTH_TOKEN"
		fi
		written+=(AUTH_TOKEN)
		env_line TWILIO_FLEX_WORKSPACE_SID "${TWILIO_FLEX_WORKSPACE_SID:-}"
		env_line TWILIO_FLEX_CALLBACK_WORKFLOW_SID "${TWILIO_FLEX_CALLBACK_WORKFLOW_SID:-}"
		env_line FLEXHOOKS_PUBLIC_URL "$PUBLIC_URL"
		env_line FLEXHOOKS_BASIC_AUTH "$BASIC_AUTH"
		env_line FLEXHOOKS_HTPASSWD "$HTPASSWD"
		env_line FLEXHOOKS_HEALTH_SOCKETS "$health"
		env_line FLEXHOOKS_LOG_LEVEL "${FLEXHOOKS_LOG_LEVEL:-info}"
		env_line FLEXHOOKS_PORT "$PORT"
		written+=(TWILIO_FLEX_WORKSPACE_SID TWILIO_FLEX_CALLBACK_WORKFLOW_SID
		    FLEXHOOKS_PUBLIC_URL FLEXHOOKS_BASIC_AUTH FLEXHOOKS_HTPASSWD
		    FLEXHOOKS_HEALTH_SOCKETS FLEXHOOKS_LOG_LEVEL FLEXHOOKS_PORT)
		if [ "$USE_EMULATOR" -eq 1 ]; then
			env_line FLEXHOOKS_TWILIO_API_URL "$EMU_URL"
			env_line FLEXHOOKS_TASKROUTER_URL "$EMU_URL"
			env_line FLEXHOOKS_IAM_URL "$EMU_URL"
			# an API key only when the emulator knows it too; no
			# region or edge
			if [ -z "$EMU_API_KEY" ]; then
				written+=(API_KEY API_SECRET)
			fi
			written+=(FLEXHOOKS_TWILIO_API_URL FLEXHOOKS_TASKROUTER_URL
			    FLEXHOOKS_IAM_URL TWILIO_REGION TWILIO_EDGE)
		fi
		# shellcheck disable=SC2206 # word list
		written+=($LOCAL_ONLY_VARS)
		while IFS= read -r name; do
			case " ${written[*]} " in *" $name "*) continue ;; esac
			case $name in
			FLEXHOOKS_* | TWILIO_* | API_KEY | API_SECRET)
				env_line "$name" "${!name}" ;;
			esac
		done < <(compgen -e | LC_ALL=C sort)
	} >"$ENV_FILE.new"
	chmod 0600 "$ENV_FILE.new"
	if is_root; then
		chown "$PROG_USER:$PROG_GROUP" "$ENV_FILE.new"
	fi
	mv -f "$ENV_FILE.new" "$ENV_FILE"
}

# ---------------------------------------------------------------- components

rotate_logs() {
	local f
	mkdir -p "$LOG_DIR/previous"
	for f in "$LOG_DIR"/*.log; do
		[ -f "$f" ] || continue
		mv -f "$f" "$LOG_DIR/previous/"
	done
}

start_emulator() {
	local log=$LOG_DIR/emulator.log i
	local latency=${FLEXHOOKS_EMULATOR_LATENCY_MS:-0}
	local -a key_args=() opt_args=()
	if [ -n "$EMU_API_KEY" ]; then
		key_args=(--api-key "$EMU_API_KEY" --api-secret "$API_SECRET")
	fi
	case $latency in
	'' | *[!0-9]*) die "FLEXHOOKS_EMULATOR_LATENCY_MS '$latency' is not a number of milliseconds" ;;
	esac
	opt_args+=(--latency-ms "$latency")
	case ${FLEXHOOKS_EMULATOR_REQUEST_LOG:-1} in
	1) ;;
	0) opt_args+=(--no-request-log) ;;
	*) die "FLEXHOOKS_EMULATOR_REQUEST_LOG must be 1 or 0" ;;
	esac
	[ -f "$EMULATOR" ] || die "'$EMULATOR' not found"
	if port_in_use "$EMU_PORT"; then
		die "port $EMU_PORT (emulator) is in use; pick another FLEXHOOKS_PORT"
	fi
	if [ "$latency" -gt 0 ]; then
		say "starting the Twilio emulator on $EMU_URL ($latency ms latency)"
	else
		say "starting the Twilio emulator on $EMU_URL"
	fi
	launch "$log" python3 "$EMULATOR" --host 127.0.0.1 --port "$EMU_PORT" \
	    --account-sid "$ACCOUNT_SID" --auth-token "$AUTH_TOKEN" \
	    --workspace-sid "$EMU_WORKSPACE_SID" "${key_args[@]}" \
	    "${opt_args[@]}" --pid-file "$RUN_DIR/emulator.pid"
	local bg=$LAUNCHED
	for ((i = 0; i < 100; i++)); do
		if grep -q 'emulator listening on' "$log" 2>/dev/null &&
		    [ "$(http_code "$EMU_URL/__emulator/health")" = 200 ]; then
			[ -s "$RUN_DIR/emulator.pid" ] ||
			    printf '%s\n' "$bg" >"$RUN_DIR/emulator.pid"
			return 0
		fi
		alive "$bg" || break
		sleep 0.1
	done
	fail_stack "the emulator did not become ready"
}

# spawn_programs BUILD_DIR SANITIZE
spawn_programs() {
	local build=$1 san=$2 p sock i
	local -a env_args=(PATH=/usr/bin:/bin "FLEXHOOKS_CONFIG=$ENV_FILE")
	local -a owner_args=()
	if [ "$san" -eq 1 ]; then
		env_args+=("ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}"
		    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
	fi
	if is_root && [ "$PROG_USER" != root ]; then
		owner_args+=(-u "$PROG_USER" -g "$PROG_GROUP")
		owner_args+=(-U "$PROG_USER" -G "$WEB_GROUP" -M 0660)
	elif is_root; then
		owner_args+=(-M 0600)	# spawn-fcgi refuses -U root
	else
		owner_args+=(-M 0600)
	fi
	# spawn-fcgi -n binds the socket and execs the program in place (the
	# forking mode would send the program's stderr to /dev/null).
	# FLEXHOOKS_PROGRAM_PROCESSES="name=N ...": FLEXHOOKS_PROCESSES for one
	# program (the environment wins over the config file).
	local rule
	local -a penv
	for p in $BUILT; do
		sock=$RUN_DIR/$p.sock
		rm -f "$sock"
		penv=("${env_args[@]}")
		for rule in ${FLEXHOOKS_PROGRAM_PROCESSES:-}; do
			[ "${rule%%=*}" = "$p" ] &&
			    penv+=("FLEXHOOKS_PROCESSES=${rule#*=}")
		done
		launch "$LOG_DIR/$p.log" spawn-fcgi -n -s "$sock" \
		    "${owner_args[@]}" -- /usr/bin/env -i "${penv[@]}" \
		    "$build/cgi-bin/$p"
		printf '%s\n' "$LAUNCHED" >"$RUN_DIR/$p.pid"
	done
	for p in $BUILT; do
		for ((i = 0; i < 50; i++)); do
			[ -S "$RUN_DIR/$p.sock" ] && break
			pid_running "$RUN_DIR/$p.pid" "spawn-fcgi" ||
			    pid_running "$RUN_DIR/$p.pid" "cgi-bin/$p" || break
			sleep 0.1
		done
		[ -S "$RUN_DIR/$p.sock" ] ||
		    fail_stack "cannot spawn $p (see $LOG_DIR/$p.log)"
	done
}

# keepalive_of NAME WORKERS: the idle FastCGI connections each nginx
# worker may keep to program NAME, (P - 1) / W with P its processes (its
# FLEXHOOKS_PROGRAM_PROCESSES rule, else FLEXHOOKS_PROCESSES, else the
# programs' default, 4): W x K < P leaves a process accepting
# (nginx/flexhooks.conf.in "# @keepalive").  0 unless
# FLEXHOOKS_NGINX_KEEPALIVE=1: a connection per request.
keepalive_of() {
	local p=${FLEXHOOKS_PROCESSES:-4} rule
	[ "${FLEXHOOKS_NGINX_KEEPALIVE:-0}" = 1 ] || p=1
	for rule in ${FLEXHOOKS_PROGRAM_PROCESSES:-}; do
		[ "${rule%%=*}" = "$1" ] && p=${rule#*=}
	done
	[[ $p =~ ^[1-9][0-9]*$ ]] || p=1
	printf "%s" "$(((p - 1) / $2))"
}

# Write NGINX_CONF from the template: keep the "# @program NAME" blocks of
# built programs only, turn the keep-alive markers into directives (or
# nothing) and substitute the @TOKENS@.
render_nginx_conf() {
	local line keep=1 prog user_line= rate=${FLEXHOOKS_NGINX_FLEX_RATE:-20r/s}
	local workers k kept=0
	[[ $rate =~ ^[1-9][0-9]{0,6}r/[sm]$ ]] ||
	    die "FLEXHOOKS_NGINX_FLEX_RATE '$rate' is not a rate like 20r/s"
	is_root && user_line="user $WEB_USER $WEB_GROUP;"
	[ -f "$TEMPLATE" ] || die "'$TEMPLATE' not found"
	workers=$(sed -n 's/^worker_processes \([0-9][0-9]*\);$/\1/p' "$TEMPLATE")
	[ -n "$workers" ] || die "no worker_processes N; in '$TEMPLATE'"
	for prog in $BUILT; do
		[ "$(keepalive_of "$prog" "$workers")" -eq 0 ] || kept=1
	done
	{
		printf '# generated from nginx/flexhooks.conf.in by deploy/local.sh\n'
		printf '# programs: %s\n' "$BUILT"
		while IFS= read -r line || [ -n "$line" ]; do
			if [[ $line =~ ^[[:space:]]*#\ @program\ ([a-z-]+) ]]; then
				prog=${BASH_REMATCH[1]}
				case " $BUILT " in
				*" $prog "*) keep=1 ;;
				*) keep=0 ;;
				esac
				continue
			fi
			# "# @bench" blocks: only for bench/run.sh
			if [[ $line =~ ^[[:space:]]*#\ @bench([[:space:]]|$) ]]; then
				keep=0
				[ "${FLEXHOOKS_BENCH:-}" != 1 ] || keep=1
				continue
			fi
			if [[ $line =~ ^[[:space:]]*#\ @end ]]; then
				keep=1
				continue
			fi
			[ "$keep" -eq 1 ] || continue
			if [[ $line =~ ^([[:space:]]*)#\ @keep-conn$ ]]; then
				[ "$kept" -eq 1 ] &&
				    printf '%sfastcgi_keep_conn on;\n' "${BASH_REMATCH[1]}"
				continue
			fi
			if [[ $line =~ ^([[:space:]]*)#\ @keepalive$ ]]; then
				k=$(keepalive_of "$prog" "$workers")
				[ "$k" -eq 0 ] ||
				    printf '%skeepalive %s;\n' "${BASH_REMATCH[1]}" "$k"
				continue
			fi
			[[ $line =~ ^[[:space:]]*# ]] && continue
			line=${line//@USER@/$user_line}
			line=${line//@PID_FILE@/$RUN_DIR/nginx.pid}
			line=${line//@ERROR_LOG@/$LOG_DIR/nginx-error.log}
			line=${line//@ACCESS_LOG@/$LOG_DIR/nginx-access.log}
			line=${line//@TEMP_DIR@/$NGINX_DIR/tmp}
			line=${line//@PORT@/$PORT}
			line=${line//@RUN_DIR@/$RUN_DIR}
			line=${line//@HTPASSWD@/$HTPASSWD}
			line=${line//@ASSETS_DIR@/$ROOT/assets/}
			line=${line//@NGINX_CONF_DIR@/$NGINX_CONF_DIR}
			line=${line//@FLEX_RATE@/$rate}
			printf '%s\n' "$line"
		done <"$TEMPLATE"
	} >"$NGINX_CONF"
	if grep -n '@[A-Z_]*@' "$NGINX_CONF" >&2; then
		die "unreplaced token in $NGINX_CONF"
	fi
}

start_nginx() {
	local out
	if port_in_use "$PORT"; then
		fail_stack "port $PORT is in use; stop what listens there or set FLEXHOOKS_PORT"
	fi
	if ! out=$(nginx -t -q -p "$NGINX_DIR/" -c "$NGINX_CONF" 2>&1); then
		printf '%s\n' "$out" >&2
		fail_stack "nginx rejects $NGINX_CONF"
	fi
	say "starting nginx on 127.0.0.1:$PORT"
	(
		close_fds
		exec nginx -p "$NGINX_DIR/" -c "$NGINX_CONF" </dev/null
	) || fail_stack "nginx did not start (see $LOG_DIR/nginx-error.log)"
}

http_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" 2>/dev/null ||
	    true
}

# Routes of the generated config: "PATH basic|optional|no" per line.
routes() {
	awk '
	/^[ \t]*location = \/__bench\// { next }	# bench/run.sh only
	/^[ \t]*location = \// { path = $3; auth = "no"; inloc = 1; next }
	inloc && /auth_basic "flexhooks"/ { auth = "basic" }
	inloc && /auth_basic \$fh_lookup_realm/ { auth = "optional" }
	inloc && /^[ \t]*}/ { print path, auth; inloc = 0 }
	' "$NGINX_CONF"
}

# Wait (10 s at most) for /healthz to answer 200, then check that every route
# reaches its program (no 502 or 504 from nginx).
wait_ready() {
	local i code path auth base=http://127.0.0.1:$PORT
	for ((i = 0; i < 50; i++)); do
		code=$(http_code "$base/healthz")
		[ "$code" = 200 ] && break
		sleep 0.2
	done
	[ "$code" = 200 ] || fail_stack "/healthz answers $code, not 200"
	while read -r path auth; do
		if [ "$auth" = no ]; then
			code=$(http_code "$base$path")
		else
			code=$(http_code -u "$BASIC_AUTH" "$base$path")
		fi
		case $code in
		000 | 502 | 504) fail_stack "$path answers $code" ;;
		esac
	done < <(routes)
}

# fail_stack MESSAGE: show the recent logs, stop what was started, exit 1.
fail_stack() {
	local f
	printf 'local.sh: error: %s\n' "$1" >&2
	for f in "$LOG_DIR"/*.log; do
		[ -s "$f" ] || continue
		printf -- '--- %s (last lines)\n' "$f" >&2
		tail -n 8 "$f" >&2
	done
	stop_all quiet
	exit 1
}

with_userinfo() {
	local url=$1
	case $url in
	*://*) printf '%s://%s@%s' "${url%%://*}" "$BASIC_AUTH" "${url#*://}" ;;
	*) printf '%s' "$url" ;;
	esac
}

print_summary() {
	local path auth
	printf '\nflexhooks is running on http://127.0.0.1:%s (public URL %s)\n\n' \
	    "$PORT" "$PUBLIC_URL"
	printf 'Routes (paste into Twilio):\n'
	while read -r path auth; do
		case $auth in
		basic) printf '  %s\n' "$(with_userinfo "$PUBLIC_URL")$path" ;;
		optional) printf '  %s   (signature, or Basic: %s)\n' \
		    "$PUBLIC_URL$path" "$(with_userinfo "$PUBLIC_URL")$path" ;;
		*) printf '  %s\n' "$PUBLIC_URL$path" ;;
		esac
	done < <(routes)
	printf '  %s/assets/   (static)\n' "$PUBLIC_URL"
	printf '\nDemo credentials:\n'
	printf '  Basic auth          %s\n' "$BASIC_AUTH"
	if [ "$USE_EMULATOR" -eq 1 ]; then
		printf '  Twilio emulator     %s\n' "$EMU_URL"
		printf '  ACCOUNT_SID         %s\n' "$ACCOUNT_SID"
		printf '  AUTH_TOKEN          %s   (signs X-Twilio-Signature)\n' "$AUTH_TOKEN"
		printf '  workspace SID       %s\n' "${TWILIO_FLEX_WORKSPACE_SID:-(no Flex)}"
		printf '  callback workflow   %s\n' "${TWILIO_FLEX_CALLBACK_WORKFLOW_SID:-(none)}"
	else
		printf '  Twilio              real account %s\n' "$ACCOUNT_SID"
	fi
	[ -z "${FLEXHOOKS_EVENT_WORKSPACES:-}" ] ||
	    printf '  dialer workspaces   %s\n' "$FLEXHOOKS_EVENT_WORKSPACES"
	[ -z "${FLEXHOOKS_LOCATIONS:-}" ] ||
	    printf '  locations file      %s\n' "$FLEXHOOKS_LOCATIONS"
	[ -z "$NOT_BUILT" ] ||
	    printf '\nNot built (their routes answer 404): %s\n' "$NOT_BUILT"
	printf '\nLogs: %s/   Stop: deploy/local.sh stop\n' "$LOG_DIR"
}

# start_stack BUILD_DIR SANITIZE: the whole start sequence after the build.
start_stack() {
	local build=$1 san=$2 p health=
	check_paths
	if any_running; then
		say "stopping the running stack first"
	fi
	stop_all quiet
	BUILT='' NOT_BUILT=''
	for p in $PROGRAMS; do
		if [ -x "$build/cgi-bin/$p" ]; then
			BUILT="$BUILT $p"
			[ "$p" = healthz ] || health="$health:$RUN_DIR/$p.sock"
		else
			NOT_BUILT="$NOT_BUILT $p"
		fi
	done
	BUILT=${BUILT# } NOT_BUILT=${NOT_BUILT# } health=${health#:}
	case " $BUILT " in
	*" healthz "*) ;;
	*) die "'$build/cgi-bin/healthz' is not built" ;;
	esac
	mkdir -p "$LOCAL" "$RUN_DIR" "$LOG_DIR" "$NGINX_DIR/tmp"
	chmod 0755 "$LOCAL" "$LOG_DIR" "$NGINX_DIR" "$NGINX_DIR/tmp"
	setup_users "$build"
	if is_root; then
		chown "$PROG_USER:$WEB_GROUP" "$RUN_DIR"
		chmod 0750 "$RUN_DIR"
	else
		chmod 0700 "$RUN_DIR"
	fi
	setup_identity
	setup_basic_auth
	write_env_file "$health"
	rotate_logs
	printf 'MODE=%s\nPORT=%s\nBUILD=%s\nPROGRAMS=%s\n' \
	    "$([ "$USE_EMULATOR" -eq 1 ] && echo emulator || echo twilio)" \
	    "$PORT" "$build" "$BUILT" >"$STATE_FILE"
	if port_in_use "$PORT"; then
		die "port $PORT is in use; stop what listens there or set FLEXHOOKS_PORT"
	fi
	if [ "$USE_EMULATOR" -eq 1 ]; then
		start_emulator
	else
		say "using real Twilio (account $ACCOUNT_SID); no emulator"
	fi
	say "spawning: $BUILT"
	spawn_programs "$build" "$san"
	render_nginx_conf
	start_nginx
	wait_ready
}

# ---------------------------------------------------------------- commands

cmd_start() {
	local -a flags
	check_port_setting
	# /location-lookup answers from the example the package ships until
	# FLEXHOOKS_LOCATIONS names the operator's own file
	export FLEXHOOKS_LOCATIONS=${FLEXHOOKS_LOCATIONS:-$ROOT/deploy/locations.example.json}
	ensure_packages
	mapfile -t flags < <(configure_flags)
	build_tree "$ROOT" "${flags[@]}"
	start_stack "$ROOT" 0
	print_summary
}

cmd_stop() {
	stop_all
	say "stopped"
}

cmd_status() {
	local mode=emulator port=${FLEXHOOKS_PORT:-8080} progs=$PROGRAMS
	local ok=0 p key value
	if [ -f "$STATE_FILE" ]; then
		while IFS='=' read -r key value; do
			case $key in
			MODE) mode=$value ;;
			PORT) port=$value ;;
			PROGRAMS) progs=$value ;;
			esac
		done <"$STATE_FILE"
	else
		ok=1
	fi
	status_line() {	# NAME WHERE
		local f=$RUN_DIR/$1.pid
		if pid_running "$f" "$(expect_of "$1")"; then
			printf '%-20s running  pid %-8s %s\n' "$1" "$(pid_of "$f")" "$2"
		else
			printf '%-20s stopped  %-12s %s\n' "$1" - "$2"
			ok=1
		fi
	}
	status_line nginx "http://127.0.0.1:$port"
	if [ "$mode" = emulator ]; then
		status_line emulator "http://127.0.0.1:$((port + 1))"
	else
		printf '%-20s not used (real Twilio)\n' emulator
	fi
	for p in $progs; do
		status_line "$p" "$RUN_DIR/$p.sock"
	done
	return "$ok"
}

cmd_run() {
	local tail_pid
	cmd_start
	printf '\nFollowing the logs; Ctrl-C stops the stack.\n\n'
	tail -n 0 -F "$LOG_DIR"/*.log &
	tail_pid=$!
	# shellcheck disable=SC2064 # expand tail_pid now
	trap "kill $tail_pid 2>/dev/null; printf '\n'; stop_all; exit 0" INT TERM
	wait "$tail_pid" || true
	stop_all
}

# ---------------------------------------------------------------- test

# Install Prism into the cache (outside the tree) and export FLEXHOOKS_PRISM;
# without node/npm, or when npm fails, export nothing: contract tests SKIP.
# The version of the Prism installed in DIR: empty, not a failure, when
# there is none (set -e and pipefail would end the script on a new machine).
prism_version() {
	local f=$1/node_modules/@stoplight/prism-cli/package.json
	[ -f "$f" ] || return 0
	sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$f" | head -n 1
}

setup_prism() {
	local dir v have
	unset FLEXHOOKS_PRISM
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		say "node/npm not found: the contract tests will SKIP"
		return 0
	fi
	dir=${FLEXHOOKS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/flexhooks}/prism
	for v in $PRISM_VERSIONS; do
		have=$(prism_version "$dir")
		if [ "$have" != "$v" ]; then
			say "installing @stoplight/prism-cli@$v into $dir"
			mkdir -p "$dir"
			if ! npm install --prefix "$dir" --no-audit --no-fund \
			    --loglevel=error "@stoplight/prism-cli@$v" >&2; then
				warn "npm install of prism-cli@$v failed"
				continue
			fi
		fi
		if "$dir/node_modules/.bin/prism" --version >/dev/null 2>&1; then
			export FLEXHOOKS_PRISM=$dir/node_modules/.bin/prism
			say "Prism $v: $FLEXHOOKS_PRISM"
			return 0
		fi
		warn "prism-cli@$v does not run"
	done
	say "no working Prism: the contract tests will SKIP"
}

# Install the real-client test's npm packages into the cache (outside the
# tree) and export FLEXHOOKS_CLIENT_MODULES (their node_modules); without
# node/npm, or when npm fails, export nothing: that test SKIPs.
setup_clients() {
	local dir want have
	unset FLEXHOOKS_CLIENT_MODULES
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		say "node/npm not found: the real-client test will SKIP"
		return 0
	fi
	dir=${FLEXHOOKS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/flexhooks}/clients
	want=$(printf '%s ' $CLIENT_PACKAGES)
	have=$(cat "$dir/installed" 2>/dev/null || true)
	if [ "$have" != "$want" ]; then
		say "installing $want into $dir"
		mkdir -p "$dir"
		rm -f "$dir/installed"
		# shellcheck disable=SC2086 # word list
		if ! npm install --prefix "$dir" --no-audit --no-fund \
		    --loglevel=error $CLIENT_PACKAGES >&2; then
			warn "npm install of the real-client test's packages failed"
			say "the real-client test will SKIP"
			return 0
		fi
		printf '%s' "$want" >"$dir/installed"
	fi
	if ! (cd "$dir" && node -e 'require("esbuild").transformSync("1")') \
	    >/dev/null 2>&1; then
		warn "esbuild does not run"
		say "the real-client test will SKIP"
		return 0
	fi
	export FLEXHOOKS_CLIENT_MODULES=$dir/node_modules
	say "real-client test packages: $FLEXHOOKS_CLIENT_MODULES"
}

export_test_env() {
	export FLEXHOOKS_TEST_STACK=1 FLEXHOOKS_PORT=$PORT
	export FLEXHOOKS_PUBLIC_URL=$PUBLIC_URL FLEXHOOKS_BASIC_AUTH=$BASIC_AUTH
	export ACCOUNT_SID AUTH_TOKEN TWILIO_FLEX_WORKSPACE_SID
	export TWILIO_FLEX_CALLBACK_WORKFLOW_SID
	export FLEXHOOKS_EMULATOR_URL=$EMU_URL FLEXHOOKS_ROOT=$ROOT
	export FLEXHOOKS_LOG_DIR=$LOG_DIR FLEXHOOKS_BUILD_DIR=$1
}

# make check against a stack whose programs come from BUILD_DIR.
check_against_stack() {
	local build=$1 san=$2 rc=0
	start_stack "$build" "$san"
	say "stack up on 127.0.0.1:$PORT (programs from $build)"
	(
		export_test_env "$build"
		cd "$build"
		if [ -n "${FLEXHOOKS_TESTS:-}" ]; then
			make check VERBOSE=1 TESTS="$FLEXHOOKS_TESTS"
		else
			make check VERBOSE=1
		fi
	) || rc=$?
	stop_all quiet
	return "$rc"
}

# Copy the source (tracked and untracked, not ignored) to SAN_DIR, so that a
# second configure there does not clash with the in-tree build.
copy_source() {
	mkdir -p "$SAN_DIR"
	if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
		    tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
		    tar -xpf - -C "$SAN_DIR"
	else
		(cd "$ROOT" && make dist >/dev/null) || return 1
		local tgz
		for tgz in "$ROOT"/flexhooks-*.tar.gz; do
			tar -xzf "$tgz" -C "$SAN_DIR" --strip-components=1
			return 0
		done
		return 1
	fi
}

# LeakSanitizer cannot run where ptrace is forbidden (some containers).
lsan_works() {
	local tmp rc=0
	tmp=$(mktemp -d)
	printf 'int main(void) { return 0; }\n' >"$tmp/t.c"
	if cc -fsanitize=address -o "$tmp/t" "$tmp/t.c" 2>/dev/null; then
		ASAN_OPTIONS=detect_leaks=1 "$tmp/t" >/dev/null 2>&1 || rc=1
	fi
	rm -rf "$tmp"
	return "$rc"
}

phase_sanitizers() {
	local -a flags
	local rc=0
	local -a hits=()
	mapfile -t flags < <(configure_flags)
	if lsan_works; then
		export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
	else
		warn "LeakSanitizer does not work here (ptrace restricted): leak checks off; valgrind still checks the unit tests"
		export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
	fi
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	copy_source || die "cannot copy the source tree to '$SAN_DIR'"
	build_tree "$SAN_DIR" --enable-sanitizers "${flags[@]}"
	run_phase check_against_stack "$SAN_DIR" 1
	rc=$PHASE_RC
	mapfile -t hits < <(grep -l -E \
	    'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOG_DIR"/*.log \
	    2>/dev/null || true)
	if [ "${#hits[@]}" -gt 0 ]; then
		warn "sanitizer reports in the program logs: ${hits[*]}"
		grep -h -A 20 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		    "${hits[@]}" | head -n 80 >&2 || true
		rc=1
	fi
	return "$rc"
}

phase_valgrind() {
	local t rc=0 n=0
	if make -C "$ROOT" -n check-valgrind >/dev/null 2>&1; then
		make -C "$ROOT" check-valgrind VERBOSE=1 || rc=$?
		return "$rc"
	fi
	(cd "$ROOT" && make check TESTS= >/dev/null) || return 1	# build them
	for t in "$ROOT"/tests/unit/check_*; do
		if [ ! -f "$t" ] || [ ! -x "$t" ]; then
			continue
		fi
		case $t in *.c | *.o | *.log | *.trs) continue ;; esac
		n=$((n + 1))
		say "valgrind ${t#"$ROOT"/}"
		if ! (cd "$ROOT" && CK_FORK=no valgrind -q --error-exitcode=1 \
		    --leak-check=full --errors-for-leak-kinds=definite \
		    "$t" >/dev/null); then
			warn "valgrind: ${t#"$ROOT"/} failed"
			rc=1
		fi
	done
	[ "$n" -gt 0 ] || { warn "no unit test binaries found"; return 1; }
	return "$rc"
}

phase_distcheck() {
	local -a flags
	mapfile -t flags < <(configure_flags)
	(
		unset FLEXHOOKS_TEST_STACK FLEXHOOKS_PRISM FLEXHOOKS_EMULATOR_URL
		cd "$ROOT"
		make -j2 distcheck DISTCHECK_CONFIGURE_FLAGS="${flags[*]}"
	)
}

# ---------------------------------------------------------------- Debian package

# The package test (phase "Debian package"): as root only, because it
# installs and purges flexhooks system-wide and uses the system nginx.
# Ports: FLEXHOOKS_DEB_HTTPS_PORT (9443) and FLEXHOOKS_DEB_HTTP_PORT (9080)
# for the site on the system nginx, the emulator on HTTP_PORT+1.
#
# Then the same install-serve-purge run again inside a booted Debian 12
# container (systemd-nspawn --boot, its own root and a private network), so
# that the units run under a real systemd: the target, kill -9 of a worker
# and of a supervisor, a restart under a stream of requests, the hardening,
# the systemd-analyze security scores, purge with the user deletion.  The
# root comes from debootstrap, cached as a tarball in FLEXHOOKS_CACHE.
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
	dx dpkg-query -W -f='${db:Status-Abbrev}' flexhooks 2>/dev/null |
	    grep -q '^[ih]i'
}
deb_known() {	# installed, or removed with its configuration left
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
	printf '%s:%s\n' "${basic%%:*}" \
	    "$(printf '%s\n' "${basic#*:}" | openssl passwd -apr1 -stdin)" |
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

# run_phase FUNC ARGS...: run it in a subshell with errexit on (a failure
# there, even an exit, ends only that phase); its status goes to PHASE_RC.
run_phase() {
	set +e
	(
		set -e
		"$@"
	)
	PHASE_RC=$?
	set -e
}

# What the route tests of tests/integration/test_tr_routes.py expect in
# the test stack (and one process per program, below) (each can be overridden from the environment): the
# locations fixture, two redirect rules (so that a request without queue is
# ambiguous) and the hangup-on-machine policy of /dial-queue.
TEST_FORWARD_RULES="WQaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1=+6591234567,\
WQaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2=+15551230000"

export_test_settings() {
	export FLEXHOOKS_LOCATIONS=${FLEXHOOKS_LOCATIONS:-$ROOT/tests/fixtures/locations.json}
	export FLEXHOOKS_FORWARD_RULES=${FLEXHOOKS_FORWARD_RULES:-$TEST_FORWARD_RULES}
	export FLEXHOOKS_AMD_POLICY=${FLEXHOOKS_AMD_POLICY:-hangup-on-machine}
	# the dialer in a workspace of its own beside the Flex one
	export FLEXHOOKS_EVENT_WORKSPACES=${FLEXHOOKS_EVENT_WORKSPACES:-$FAKE_DIALER_WORKSPACE_SID}
	# One process per program: some tests count per-process cache hits
	# (one IAM call for a repeated Flex token, status-callback's stale
	# flag).  tests/integration/test_processes.py covers the supervisor,
	# tests/load and bench/ run several.
	export FLEXHOOKS_PROCESSES=${FLEXHOOKS_PROCESSES:-1}
	# ... but several where copies of one request must race for real
	# (test_events.py: claims with If-Match across processes;
	# test_create_callback.py: copies of one Twilio delivery, deduplicated
	# in the table the processes share), and a supervisor with workers to
	# kill (test_wait.py: a worker dies between the cancel and the create)
	export FLEXHOOKS_PROGRAM_PROCESSES=${FLEXHOOKS_PROGRAM_PROCESSES:-taskrouter-events=4 create-callback=4 wait-experience=2}
	# FastCGI keep-alive where those counts allow it (K = (P - 1) / W):
	# every test runs through kept connections (test_keepalive.py)
	export FLEXHOOKS_NGINX_KEEPALIVE=${FLEXHOOKS_NGINX_KEEPALIVE:-1}
}

# Build every libFuzzer target with clang and run each for FUZZ_SECONDS
# from its seeds; a crash, sanitizer report, leak or timeout fails.
phase_fuzz() {
	local t0 t1
	t0=$(date +%s)
	make -C "$ROOT" fuzz FUZZ_SECONDS="$FUZZ_SECS"
	t1=$(date +%s)
	say "fuzz phase: $((t1 - t0)) s (build included)"
}

# The short load test (README.md "Load test"): tests/load/run.sh on its own
# stack with the full run's faults (50 ms Twilio latency, 1% 429s) and
# FLEXHOOKS_LOAD_JOURNEYS journeys (default 2000) at 100/s.  It fails on
# any lost or duplicated task and on any webhook that flexhooks itself
# answered 429.
phase_load() {
	local t0 t1
	t0=$(date +%s)
	LOAD_TIMEOUT=${LOAD_TIMEOUT:-900} "$ROOT/tests/load/run.sh" \
	    --journeys "$LOAD_JOURNEYS" --rate 100 --latency-ms 50 --p429 0.01
	t1=$(date +%s)
	say "load phase: $((t1 - t0)) s ($LOAD_JOURNEYS journeys)"
}

# tests/integration/test_clients.py against a stack started with
# FLEXHOOKS_ATTRIBUTE_STYLE=plugin-library: its plugin-library scenarios
# (create, panel, Retry later through the plugin library's paths) need
# tasks written in that shape, and SKIP on the default stack.
phase_library_style() {
	FLEXHOOKS_ATTRIBUTE_STYLE=plugin-library \
	    FLEXHOOKS_TESTS=tests/integration/test_clients.py \
	    check_against_stack "$ROOT" 0
}

cmd_test() {
	local -a flags
	local extra=0 rc=0 r nphases=1 n=1 fuzz=1 deb=0 load=1 names=() results=()
	export FLEXHOOKS_EMULATOR=1
	export_test_settings
	check_port_setting
	case ${FLEXHOOKS_TEST_SANITIZERS:-} in
	1) extra=1 ;;
	0) extra=0 ;;
	*) if [ "${CI:-}" = true ]; then extra=1; fi ;;
	esac
	FUZZ_SECS=${FUZZ_SECONDS:-10}
	case $FUZZ_SECS in
	'' | *[!0-9]*) die "FUZZ_SECONDS '$FUZZ_SECS' is not a number" ;;
	esac
	[ "$FUZZ_SECS" -gt 0 ] || fuzz=0
	LOAD_JOURNEYS=${FLEXHOOKS_LOAD_JOURNEYS:-2000}
	case $LOAD_JOURNEYS in
	'' | *[!0-9]*) die "FLEXHOOKS_LOAD_JOURNEYS '$LOAD_JOURNEYS' is not a number" ;;
	esac
	[ "$LOAD_JOURNEYS" -gt 0 ] || load=0
	[ "$extra" -eq 0 ] || nphases=4
	nphases=$((nphases + fuzz + load))
	if [ -z "${FLEXHOOKS_TESTS:-}" ] &&
	    [ "${FLEXHOOKS_ATTRIBUTE_STYLE:-template}" = template ]; then
		nphases=$((nphases + 1))
	fi
	# The package phase installs and purges flexhooks system-wide: only
	# as root, in CI or when asked (FLEXHOOKS_TEST_DEB=1; 0 turns it off).
	case ${FLEXHOOKS_TEST_DEB:-} in
	1) deb=1 ;;
	0) deb=0 ;;
	*) if [ "${CI:-}" = true ]; then deb=1; fi ;;
	esac
	if [ "$deb" -eq 1 ] && ! is_root; then
		say "the Debian package phase needs root: it will SKIP"
	fi
	nphases=$((nphases + deb))
	ensure_packages
	# shellcheck disable=SC2086 # word list
	ensure_optional_packages $TEST_PACKAGES
	mapfile -t flags < <(configure_flags)
	build_tree "$ROOT" "${flags[@]}"
	setup_prism
	setup_clients
	trap 'stop_all quiet' EXIT
	trap 'exit 130' INT	# so that the EXIT trap runs
	trap 'exit 143' TERM

	phase "phase $n/$nphases: make check against the local stack (emulator)"
	run_phase check_against_stack "$ROOT" 0
	names+=("make check") results+=("$PHASE_RC")
	# the plugin library's own client code needs tasks in its shape: the
	# same script against a stack that writes them
	if [ -z "${FLEXHOOKS_TESTS:-}" ] &&
	    [ "${FLEXHOOKS_ATTRIBUTE_STYLE:-template}" = template ]; then
		n=$((n + 1))
		phase "phase $n/$nphases: the plugins' client code, FLEXHOOKS_ATTRIBUTE_STYLE=plugin-library"
		run_phase phase_library_style
		names+=("library style") results+=("$PHASE_RC")
	fi
	if [ "$load" -eq 1 ]; then
		n=$((n + 1))
		phase "phase $n/$nphases: load test, $LOAD_JOURNEYS journeys at 100/s (50 ms Twilio latency, 1% 429s)"
		run_phase phase_load
		names+=("load test") results+=("$PHASE_RC")
	fi
	if [ "$fuzz" -eq 1 ]; then
		n=$((n + 1))
		phase "phase $n/$nphases: libFuzzer, $FUZZ_SECS s per target"
		run_phase phase_fuzz
		names+=("fuzz") results+=("$PHASE_RC")
	fi
	if [ "$extra" -eq 1 ]; then
		n=$((n + 1))
		phase "phase $n/$nphases: ASan+UBSan build, make check against its stack"
		run_phase phase_sanitizers
		names+=("ASan+UBSan") results+=("$PHASE_RC")

		n=$((n + 1))
		phase "phase $n/$nphases: unit tests under valgrind"
		run_phase phase_valgrind
		names+=("valgrind") results+=("$PHASE_RC")

		n=$((n + 1))
		phase "phase $n/$nphases: make distcheck"
		run_phase phase_distcheck
		names+=("distcheck") results+=("$PHASE_RC")
	fi
	if [ "$deb" -eq 1 ]; then
		n=$((n + 1))
		phase "phase $n/$nphases: Debian package: build, lintian, install, serve through the system nginx, purge"
		run_phase phase_deb
		names+=("deb package") results+=("$PHASE_RC")
	fi

	phase "summary"
	for r in "${!names[@]}"; do
		if [ "${results[$r]}" -eq 0 ]; then
			printf '  %-12s PASS\n' "${names[$r]}"
		elif [ "${results[$r]}" -eq 77 ]; then
			printf '  %-12s SKIP (see the phase output)\n' "${names[$r]}"
		else
			printf '  %-12s FAIL (%s)\n' "${names[$r]}" "${results[$r]}"
			rc=1
		fi
	done
	[ -n "${FLEXHOOKS_PRISM:-}" ] ||
	    printf '  (contract tests skipped: no node/npm or Prism)\n'
	if [ "$rc" -ne 0 ] && [ "${results[0]}" -ne 0 ]; then
		rc=${results[0]}
	fi
	exit "$rc"
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
run) cmd_run ;;
test) cmd_test ;;
-h | --help | help) usage 0 ;;
*) usage 2 >&2 ;;
esac
