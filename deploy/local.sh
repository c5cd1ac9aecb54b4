#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deploy/local.sh: the flexhooks local stack (docs/design/README.md#the-local-stack-and-the-twilio-emulator).
#
#   deploy/local.sh start    install what is missing (as root), build, start
#                            the emulator (unless real Twilio credentials are
#                            set), the FastCGI programs and nginx; print the
#                            URLs to paste into Twilio
#   deploy/local.sh stop     stop everything started here (pid files)
#   deploy/local.sh status   one line per component; exit 0 only if all run
#   deploy/local.sh run      start, follow the logs, stop on Ctrl-C / SIGTERM
#   deploy/local.sh demo     against the emulator: one caller through the
#                            wait experience (hold, "*", callback), one Studio
#                            voicemail and one "Retry later", printing each
#                            webhook, the answer and the tasks that result
#                            (deploy/demo.py); uses the running stack, or
#                            starts one and stops it afterwards
#   deploy/local.sh test     every test, phase by phase: hands over to
#                            tests/run.sh (its --help lists the phases and
#                            their variables; .ci/run calls this)
#
# The scripts: deploy/lib/common.sh (paths, messages, packages, build, the
# program list from Makefile.am), deploy/lib/proc.sh (daemons and pid
# files), deploy/lib/stack.sh (users, identity, configuration, emulator,
# programs), deploy/lib/nginx.sh (nginx.conf from nginx/flexhooks.conf.in),
# tests/run.sh (the test phases), tests/deb/run.sh (the Debian package).
#
# Environment: FLEXHOOKS_PORT (nginx, default 8080; the emulator uses PORT+1),
# FLEXHOOKS_BASIC_AUTH=user:password, FLEXHOOKS_PUBLIC_URL, FLEXHOOKS_EMULATOR=1
# (use the emulator even with real credentials set; it then takes ACCOUNT_SID,
# AUTH_TOKEN, TWILIO_FLEX_WORKSPACE_SID and TWILIO_FLEX_CALLBACK_WORKFLOW_SID as
# its identity), CONFIGURE_FLAGS (e.g. --enable-sanitizers),
# FLEXHOOKS_EMULATOR_LATENCY_MS (the emulator waits this long before every
# Twilio answer; default 0), FLEXHOOKS_EMULATOR_REQUEST_LOG=0 (the emulator
# keeps no request read-back, for load tests; default 1),
# FLEXHOOKS_PROGRAM_PROCESSES="name=N ..." (FLEXHOOKS_PROCESSES for one
# program), FLEXHOOKS_BENCH=1 (bench/run.sh: nginx also serves the "# @bench"
# blocks of the template), FLEXHOOKS_NGINX_FLEX_RATE (nginx's limit on the
# Flex-token routes per client address, default 20r/s as in production; the
# bench raises it), FLEXHOOKS_NGINX_KEEPALIVE=1 (FastCGI keep-alive,
# nginx/flexhooks.conf.in "# @keepalive"; off by default, on in `test`).
# `test` reads more: FLEXHOOKS_TESTS,
# FLEXHOOKS_TEST_SANITIZERS, FLEXHOOKS_TEST_DEB, FUZZ_SECONDS,
# FLEXHOOKS_LOAD_JOURNEYS, FLEXHOOKS_CACHE, CI=true (tests/run.sh --help).
# Every other FLEXHOOKS_*, TWILIO_*, API_KEY and API_SECRET variable is
# passed to the programs through .local/flexhooks.env.  State lives in
# .local/ at the project root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
ME=local.sh

usage() {
	sed -n '3,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "${BASH_SOURCE[0]}"
	exit "${1:-2}"
}

# the test runner loads the libraries itself
if [ "${1:-}" = test ]; then
	exec "$ROOT/tests/run.sh"
fi

# shellcheck source=deploy/lib/common.sh
. "$ROOT/deploy/lib/common.sh"
# shellcheck source=deploy/lib/proc.sh
. "$ROOT/deploy/lib/proc.sh"
# shellcheck source=deploy/lib/stack.sh
. "$ROOT/deploy/lib/stack.sh"
# shellcheck source=deploy/lib/nginx.sh
. "$ROOT/deploy/lib/nginx.sh"

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


# The identity of the running stack, from the configuration it was given.
load_running_identity() {
	local key value
	while IFS='=' read -r key value; do
		case $key in
		ACCOUNT_SID | AUTH_TOKEN | TWILIO_FLEX_WORKSPACE_SID | \
		    TWILIO_FLEX_CALLBACK_WORKFLOW_SID | FLEXHOOKS_PUBLIC_URL | \
		    FLEXHOOKS_BASIC_AUTH)
			export "$key=$value" ;;
		esac
	done <"$ENV_FILE"
}

# deploy/demo.py against the running stack when it uses the emulator, else
# against one started here (the emulator, fake identity) and stopped after.
cmd_demo() {
	local started=0 rc=0 key value mode='' port=''
	local -a flags
	check_port_setting
	if [ -f "$STATE_FILE" ] && any_running; then
		while IFS='=' read -r key value; do
			case $key in
			MODE) mode=$value ;;
			PORT) port=$value ;;
			esac
		done <"$STATE_FILE"
		[ "$mode" = emulator ] ||
		    die "the running stack talks to real Twilio; the demo needs the emulator (deploy/local.sh stop first)"
		PORT=$port
		check_port_setting
		load_running_identity
		say "using the running stack on 127.0.0.1:$PORT"
	else
		# only the emulator, with the fake identity: no real credentials
		# from the caller's environment reach this stack
		unset ACCOUNT_SID AUTH_TOKEN API_KEY API_SECRET \
		    TWILIO_FLEX_WORKSPACE_SID TWILIO_FLEX_CALLBACK_WORKFLOW_SID \
		    FLEXHOOKS_PUBLIC_URL FLEXHOOKS_HTPASSWD
		export FLEXHOOKS_EMULATOR=1
		export FLEXHOOKS_LOCATIONS=${FLEXHOOKS_LOCATIONS:-$ROOT/deploy/locations.example.json}
		ensure_packages
		mapfile -t flags < <(configure_flags)
		build_tree "$ROOT" "${flags[@]}"
		trap 'stop_all quiet' EXIT
		trap 'exit 130' INT	# so that the EXIT trap runs
		trap 'exit 143' TERM
		start_stack "$ROOT" 0
		started=1
		export ACCOUNT_SID AUTH_TOKEN TWILIO_FLEX_WORKSPACE_SID
		export TWILIO_FLEX_CALLBACK_WORKFLOW_SID
		export FLEXHOOKS_PUBLIC_URL=$PUBLIC_URL FLEXHOOKS_BASIC_AUTH=$BASIC_AUTH
	fi
	FLEXHOOKS_PORT=$PORT FLEXHOOKS_EMULATOR_URL=$EMU_URL \
	    python3 "$ROOT/deploy/demo.py" || rc=$?
	if [ "$started" -eq 1 ]; then
		stop_all quiet
		trap - EXIT
		say "stopped the stack the demo started"
	fi
	return "$rc"
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
run) cmd_run ;;
demo) cmd_demo ;;
-h | --help | help) usage 0 ;;
*) usage 2 >&2 ;;
esac
