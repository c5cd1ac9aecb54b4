#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/run.sh: every test of flexhooks, phase by phase (docs/design/README.md#the-local-stack-and-the-twilio-emulator);
# `deploy/local.sh test` and .ci/run hand over to it.
#
#   1. make check against the local stack (the emulator, deploy/lib/stack.sh)
#   2. the plugins' client code against a stack with
#      FLEXHOOKS_ATTRIBUTE_STYLE=plugin-library (only for the full set)
#   3. the short load test (tests/load/run.sh)
#   4. each libFuzzer target for FUZZ_SECONDS (`make fuzz`, clang)
#   with CI=true or FLEXHOOKS_TEST_SANITIZERS=1 also:
#   5. an ASan+UBSan build in .local/build-san, make check against its stack
#   6. the unit tests under valgrind
#   7. make distcheck
#   with CI=true (as root) or FLEXHOOKS_TEST_DEB=1:
#   8. the Debian package (tests/deb/run.sh)
#   then a summary, one PASS/FAIL/SKIP line per phase; the exit status is
#   make check's when it failed, else 1 when any phase failed.
#
# Environment: FLEXHOOKS_TESTS (a space-separated subset of make check's
# TESTS, e.g. tests/integration/test_wait.py; then only phases 1, 3-8),
# FLEXHOOKS_PORT (the stack's nginx, default 8080; the emulator on PORT+1),
# FLEXHOOKS_TEST_SANITIZERS (1/0: force phases 5-7 on/off), FUZZ_SECONDS
# (seconds per fuzz target, default 10; 0 skips the phase),
# FLEXHOOKS_LOAD_JOURNEYS (journeys of the load test, default 2000; 0
# skips it), FLEXHOOKS_TEST_DEB (1/0; see tests/deb/run.sh for its ports),
# FLEXHOOKS_CACHE (npm cache for Prism and the real-client test's packages,
# and the package test's Debian root; default ~/.cache/flexhooks),
# CONFIGURE_FLAGS (default --enable-werror with CI=true), and every
# variable of the stack (deploy/local.sh --help).  The stack's test settings
# (locations fixture, forward rules, processes per program) can each be
# overridden from the environment: see export_test_settings below.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
ME=run.sh
# shellcheck source=deploy/lib/common.sh
. "$ROOT/deploy/lib/common.sh"
# shellcheck source=deploy/lib/proc.sh
. "$ROOT/deploy/lib/proc.sh"
# shellcheck source=deploy/lib/stack.sh
. "$ROOT/deploy/lib/stack.sh"
# shellcheck source=deploy/lib/nginx.sh
. "$ROOT/deploy/lib/nginx.sh"

usage() {
	sed -n '3,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "${BASH_SOURCE[0]}"
	exit "${1:-2}"
}

PRISM_VERSIONS="5.16.0 5.14.2"	# pinned; the second is the fallback

# The real-client test (tests/integration/test_clients.py) bundles the Flex
# plugins' own code from ../shared/clients with esbuild and renders the
# plugin library's panel with React; the plugins' own libraries come too.
CLIENT_PACKAGES="esbuild@0.25.9 react@17.0.2 react-dom@17.0.2 luxon@3.5.0
lodash@4.17.21 semver@7.6.3"

# Packages only some tests need (a failure to install them is a warning).
TEST_PACKAGES="nodejs=node npm=npm python3-aiosmtpd"

SAN_DIR=$LOCAL/build-san

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
	# shellcheck disable=SC2086 # word list
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
		run_phase "$ROOT/tests/deb/run.sh"
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
'') cmd_test ;;
-h | --help | help) usage 0 ;;
*) usage 2 >&2 ;;
esac
