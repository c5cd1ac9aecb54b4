#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/run.sh: the flexhooks benchmark (bench/README.md; `make bench`).
#
# Starts its own local stack (deploy/local.sh start with FLEXHOOKS_BENCH=1,
# on FLEXHOOKS_PORT, default 58080; the emulator on PORT+1), then measures
# each route with wrk at a fixed concurrency: a warm-up, then BENCH_RUNS
# runs, of which it prints the medians: requests/s, p50, p99, errors
# (status >= 400 and socket errors, summed over the runs), the ratio to
# nginx answering a fixed TwiML body itself (/__bench/baseline), the largest
# resident set (VmRSS) of any process of the route's program during the
# runs, and the instructions per request of the whole in-process request
# path (bench/handler_loop under callgrind).  Routes that call Twilio also
# get an emulator-only row: wrk straight against the emulator with the very
# requests (same paths, same auth) one webhook made, and the ceiling that
# implies (emulator requests/s divided by the calls per webhook).
#
# Per route it also prints the server CPU per request (nginx + the route's
# FastCGI processes: utime+stime from /proc/PID/stat before and after the
# measured runs, divided by the requests), and the system calls per request
# (a separate short run with `strace -c -f` attached to every process of the
# route's program and to nginx's workers; strace slows that run down, so it
# gives counts, not speed).  Perf's syscall tracepoints are not used: they
# are often not available in containers.
#
# The Node reference (issue 20): the template's own functions (BENCH_NODE_REF)
# served warm by twilio-run (--no-fork-process --no-live --no-logs, npm
# packages in a cache outside the tree), their REST calls sent to the same
# emulator by bench/node-preload.js, measured the same way right before the
# flexhooks row of the wait main loop, wait initialize and create-callback;
# the flexhooks row then shows its req/s over Node's ("vs Node").  When Node
# cannot run, the ratio is taken against issue 20's measured Node figures
# and marked so.
#
# BENCH_TWILIO=canned: the Twilio-calling routes measured CPU-bound.  With
# the emulator (the default), wait-init and create-callback are capped by
# the Python emulator (~1,400-2,100 webhooks/s), for flexhooks and Node
# alike.  canned first learns, against the emulator, every Twilio request
# one webhook of each route in BENCH_ROUTES makes (flexhooks, and Node for
# its routes) and the emulator's answer to it (the request sent once more,
# bench/requests.py learn); then it stops the emulator and starts in its
# place (PORT+1, where the programs and Node already send their requests)
# a stand-in: an nginx of its own (one worker, config written to
# BENCH_OUT/standin/nginx.conf) answering each learned request (method,
# path and query, exact) with the learned status and JSON, and anything
# else 404 (logged to BENCH_OUT/standin/miss.log).  Before each row, one
# webhook through flexhooks (and through Node) must answer as expected,
# its answer equal to the one learned with the emulator (SIDs aside), and
# no request may have missed, else the row says FAIL.  The emulator-only
# rows are left out; the third CPU figure is the stand-in's nginx.  The
# stand-in keeps no state: seeding does nothing.
# Everything goes to 127.0.0.1; everything started here is stopped on exit.
#
# Environment (defaults in brackets):
#   FLEXHOOKS_PORT [58080]        nginx; the emulator listens on PORT+1
#   FLEXHOOKS_PROCESSES [4]       FastCGI processes per program
#   BENCH_CONNECTIONS [32]        wrk connections
#   BENCH_THREADS [2]             wrk threads
#   BENCH_DURATION [7]            seconds per measured run
#   BENCH_WARMUP [2]              seconds of warm-up per route
#   BENCH_RUNS [3]                measured runs per route (medians)
#   BENCH_EMULATOR_DURATION [3]   seconds per emulator-only run
#   BENCH_ROUTES [all]            subset of: baseline floor wait-loop
#                                 dial-queue redirect wait-init
#                                 create-callback tr-event
#   BENCH_CALLGRIND [1]           0 skips the instruction counts
#   BENCH_CALLGRIND_N [200]       iterations per pure-TwiML handler
#   BENCH_CALLGRIND_N_REST [20]   iterations per Twilio-calling handler
#   BENCH_OUT [.local/bench]      where the scripts and raw results go
#   BENCH_SYSCALLS [1]            0 skips the strace runs
#   BENCH_SYSCALL_DURATION [2]    seconds of the strace run per route
#   BENCH_NODE [1]                0 skips the Node reference
#   BENCH_NODE_REF [../shared/clients/flex-project-template@fbd5594/serverless-functions]
#                                 the template's serverless-functions folder
#   BENCH_NODE_PORT [PORT+2]      twilio-run's port
#   FLEXHOOKS_CACHE [~/.cache/flexhooks]  the npm packages go to bench-node/
#   BENCH_TWILIO [emulator]       emulator: the Python emulator answers the
#                                 Twilio requests; canned: a stand-in nginx
#                                 with the emulator's learned answers (above)
#   BENCH_HTPASSWD [ssha]         the Basic-auth hash nginx checks on every
#                                 request: ssha (the local stack's and the
#                                 README's) or apr1 (`openssl passwd -apr1`,
#                                 htpasswd(1)'s default), to show its cost
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH=$ROOT/bench
LOCAL_SH=$ROOT/deploy/local.sh
PORT=${FLEXHOOKS_PORT:-58080}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
DURATION=${BENCH_DURATION:-7}
WARMUP=${BENCH_WARMUP:-2}
RUNS=${BENCH_RUNS:-3}
EMU_DURATION=${BENCH_EMULATOR_DURATION:-3}
ROUTES=${BENCH_ROUTES:-baseline floor wait-loop dial-queue redirect wait-init create-callback tr-event}
CALLGRIND=${BENCH_CALLGRIND:-1}
CG_N=${BENCH_CALLGRIND_N:-200}
CG_N_REST=${BENCH_CALLGRIND_N_REST:-20}
OUT=${BENCH_OUT:-$ROOT/.local/bench}
SYSCALLS=${BENCH_SYSCALLS:-1}
SYS_DURATION=${BENCH_SYSCALL_DURATION:-2}
NODE=${BENCH_NODE:-1}
NODE_REF=${BENCH_NODE_REF:-$ROOT/../shared/clients/flex-project-template@fbd5594/serverless-functions}
NODE_PORT=${BENCH_NODE_PORT:-$((PORT + 2))}
TWILIO=${BENCH_TWILIO:-emulator}
NODE_CACHE=${FLEXHOOKS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/flexhooks}/bench-node
# the template's own lock file versions (package-lock.json at fbd5594)
NODE_PACKAGES="twilio-run@5.0.1 twilio@5.8.0 @twilio/runtime-handler@2.0.1
axios@1.16.0 lodash@4.18.1 randomstring@1.3.0 twilio-flex-token-validator@1.5.8"
# issue 20's Node figures (req/s), for the ratio when Node cannot run here
ISSUE_NODE_RPS="wait-loop=3624 wait-init=897 create-callback=1095"
BASE=http://127.0.0.1:$PORT
EMU=http://127.0.0.1:$((PORT + 1))

say() { printf 'bench: [%3ss] %s\n' "$SECONDS" "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

case $PORT in '' | *[!0-9]*) die "FLEXHOOKS_PORT '$PORT' is not a port" ;; esac
case $NODE_PORT in '' | *[!0-9]*) die "BENCH_NODE_PORT '$NODE_PORT' is not a port" ;; esac
case $TWILIO in
emulator | canned) ;;
*) die "BENCH_TWILIO '$TWILIO' is neither emulator nor canned" ;;
esac

# ------------------------------------------------------------- the stack

# A clean, fake identity: never real Twilio, never a public URL.
unset ACCOUNT_SID AUTH_TOKEN API_KEY API_SECRET TWILIO_REGION TWILIO_EDGE \
    FLEXHOOKS_PUBLIC_URL FLEXHOOKS_TWILIO_API_URL FLEXHOOKS_TASKROUTER_URL \
    FLEXHOOKS_IAM_URL FLEXHOOKS_CONFIG FLEXHOOKS_HTPASSWD
export FLEXHOOKS_PORT=$PORT FLEXHOOKS_BENCH=1 FLEXHOOKS_EMULATOR=1
# all of wrk's requests come from 127.0.0.1: nginx's Flex-token limit per
# client address (20r/s, burst 100) would answer nearly all of them 429
# (the limit_req check itself still runs, as in production)
export FLEXHOOKS_NGINX_FLEX_RATE=1000000r/s
# 4 per program on 2 cores: the pure-TwiML routes need one per core; the
# Twilio-calling ones wait on Twilio and gain from more; 8 gained nothing
# more and costs twice the memory (bench/README.md)
export FLEXHOOKS_PROCESSES=${FLEXHOOKS_PROCESSES:-4}
export FLEXHOOKS_BASIC_AUTH=${FLEXHOOKS_BASIC_AUTH:-bench:$(openssl rand -hex 12)}
case ${BENCH_HTPASSWD:-ssha} in
ssha) ;; # the local stack writes its own ({SSHA})
apr1)
	mkdir -p "$OUT"
	printf '%s:%s\n' "${FLEXHOOKS_BASIC_AUTH%%:*}" \
	    "$(printf '%s\n' "${FLEXHOOKS_BASIC_AUTH#*:}" | openssl passwd -apr1 -stdin)" \
	    >"$OUT/htpasswd.apr1"
	chmod 0644 "$OUT/htpasswd.apr1" # nginx's workers may run as www-data
	export FLEXHOOKS_HTPASSWD=$OUT/htpasswd.apr1
	;;
*) die "BENCH_HTPASSWD '$BENCH_HTPASSWD' is neither ssha nor apr1" ;;
esac
# the redirect rules of the test stack (tests/integration/test_tr_routes.py)
export FLEXHOOKS_FORWARD_RULES=${FLEXHOOKS_FORWARD_RULES:-WQaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1=+6591234567,WQaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2=+15551230000}

if ! command -v wrk >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		die "wrk is missing; as root, run: apt-get update && apt-get install -y wrk"
	fi
	say "installing wrk"
	DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >&2
fi
if [ "$CALLGRIND" = 1 ] && ! command -v valgrind >/dev/null 2>&1; then
	say "valgrind not found: no instruction counts"
	CALLGRIND=0
fi
if [ "$SYSCALLS" = 1 ] && ! command -v strace >/dev/null 2>&1; then
	say "strace not found: no system call counts"
	SYSCALLS=0
fi

SAMPLER=
FLOOR_PID=
NODE_PID=
STANDIN_PID=
STRACES=()
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$SAMPLER" ]; then
		kill -TERM "$SAMPLER" 2>/dev/null || true
		wait "$SAMPLER" 2>/dev/null || true
	fi
	if [ "${#STRACES[@]}" -gt 0 ]; then
		kill -INT "${STRACES[@]}" 2>/dev/null || true
		wait "${STRACES[@]}" 2>/dev/null || true
	fi
	if [ -n "$NODE_PID" ]; then
		# twilio-run leads its own process group (setsid)
		kill -TERM -- "-$NODE_PID" 2>/dev/null || true
		rm -f "$ROOT/.local/run/bench-node.pid"
	fi
	if [ -n "$FLOOR_PID" ]; then
		# its forked copies are in its session (setsid)
		pkill -TERM -s "$FLOOR_PID" 2>/dev/null || true
		rm -f "$ROOT/.local/run/bench-floor.sock" \
		    "$ROOT/.local/run/bench-floor.pid"
	fi
	if [ -n "$STANDIN_PID" ]; then
		kill -TERM "$STANDIN_PID" 2>/dev/null || true
	fi
	FLEXHOOKS_PORT=$PORT "$LOCAL_SH" stop >/dev/null 2>&1 || true
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OUT"
rm -f "$OUT"/*.lua "$OUT"/*.req "$OUT"/*.info "$OUT"/*.out "$OUT"/*.rss \
    "$OUT"/cg.*
say "starting the stack on $BASE (FLEXHOOKS_PROCESSES=$FLEXHOOKS_PROCESSES)"
# 58080 is inside Linux's ephemeral port range: a client socket of some
# other test can hold it for a moment, and nginx's bind() then fails.
for try in 1 2 3; do
	if "$LOCAL_SH" start >"$OUT/start.log" 2>&1; then
		break
	fi
	if [ "$try" -eq 3 ] || ! grep -q 'Address already in use' \
	    "$OUT/start.log"; then
		tail -n 30 "$OUT/start.log" >&2
		die "deploy/local.sh start failed"
	fi
	say "port $PORT busy for a moment; starting again"
	sleep 2
done
make -C "$ROOT" -s bench/handler_loop bench/fcgi_floor >"$OUT/make.log" 2>&1 ||
    { cat "$OUT/make.log" >&2; die "cannot build bench/handler_loop and bench/fcgi_floor"; }

# The FastCGI floor: the baseline's own document, answered by a program that
# does nothing else, with as many processes as each program has.
RUN_DIR=$ROOT/.local/run
curl -sf -o "$OUT/baseline.xml" "$BASE/__bench/baseline" ||
    die "cannot fetch $BASE/__bench/baseline"
rm -f "$RUN_DIR/bench-floor.sock"
(
	exec setsid spawn-fcgi -n -s "$RUN_DIR/bench-floor.sock" -M 0666 -- \
	    "$ROOT/bench/fcgi_floor" "$OUT/baseline.xml" "$FLEXHOOKS_PROCESSES" \
	    </dev/null >"$OUT/floor.log" 2>&1
) &
FLOOR_PID=$!
printf '%s\n' "$FLOOR_PID" >"$RUN_DIR/bench-floor.pid"
for _ in $(seq 50); do
	[ -S "$RUN_DIR/bench-floor.sock" ] && break
	sleep 0.1
done
[ -S "$RUN_DIR/bench-floor.sock" ] || die "bench/fcgi_floor did not start (see $OUT/floor.log)"

# The identity local.sh wrote for the programs, for signing.
ENV_FILE=$ROOT/.local/flexhooks.env
envval() { sed -n "s/^$1=//p" "$ENV_FILE" | head -n 1; }
export ACCOUNT_SID AUTH_TOKEN TWILIO_FLEX_WORKSPACE_SID \
    TWILIO_FLEX_CALLBACK_WORKFLOW_SID FLEXHOOKS_PUBLIC_URL
ACCOUNT_SID=$(envval ACCOUNT_SID)
AUTH_TOKEN=$(envval AUTH_TOKEN)
TWILIO_FLEX_WORKSPACE_SID=$(envval TWILIO_FLEX_WORKSPACE_SID)
TWILIO_FLEX_CALLBACK_WORKFLOW_SID=$(envval TWILIO_FLEX_CALLBACK_WORKFLOW_SID)
FLEXHOOKS_PUBLIC_URL=$(envval FLEXHOOKS_PUBLIC_URL)
export FLEXHOOKS_EMULATOR_URL=$EMU
case $FLEXHOOKS_PUBLIC_URL in
http://127.0.0.1:*) ;;
*) die "public URL '$FLEXHOOKS_PUBLIC_URL' is not on 127.0.0.1" ;;
esac

REQ=(python3 "$BENCH/requests.py")
"${REQ[@]}" write "$OUT"

# ------------------------------------------------------------- the Node reference

# Start twilio-run on NODE_PORT, serving the template's functions warm;
# sets NODE_PID, or NODE_WHY (why not) and returns 1.
NODE_WHY=
node_start() {
	local want have i
	if [ "$NODE" != 1 ]; then
		NODE_WHY="BENCH_NODE=$NODE"
		return 1
	fi
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		NODE_WHY="node or npm not found"
		return 1
	fi
	if [ ! -f "$NODE_REF/package.json" ] || [ ! -d "$NODE_REF/src/functions" ]; then
		NODE_WHY="no template at BENCH_NODE_REF ($NODE_REF)"
		return 1
	fi
	# shellcheck disable=SC2086 # word list
	want=$(printf '%s ' $NODE_PACKAGES)
	have=$(cat "$NODE_CACHE/installed" 2>/dev/null || true)
	if [ "$have" != "$want" ]; then
		say "installing $want into $NODE_CACHE"
		mkdir -p "$NODE_CACHE"
		rm -f "$NODE_CACHE/installed"
		# shellcheck disable=SC2086 # word list
		if ! npm install --prefix "$NODE_CACHE" --no-audit --no-fund \
		    --loglevel=error $NODE_PACKAGES >"$OUT/node-npm.log" 2>&1; then
			NODE_WHY="npm install failed (see $OUT/node-npm.log)"
			return 1
		fi
		printf '%s' "$want" >"$NODE_CACHE/installed"
	fi
	# the template's settings (.env.example) and the stack's identity
	{
		printf 'ACCOUNT_SID=%s\nAUTH_TOKEN=%s\n' "$ACCOUNT_SID" "$AUTH_TOKEN"
		printf 'TWILIO_FLEX_WORKSPACE_SID=%s\n' "$TWILIO_FLEX_WORKSPACE_SID"
		printf 'TWILIO_FLEX_CALLBACK_WORKFLOW_SID=%s\n' \
		    "$TWILIO_FLEX_CALLBACK_WORKFLOW_SID"
		printf 'TWILIO_SERVICE_RETRY_LIMIT=5\nTWILIO_SERVICE_MIN_BACKOFF=100\n'
		printf 'TWILIO_SERVICE_MAX_BACKOFF=300\nTWILIO_SERVERLESS_API_CONCURRENCY=10\n'
	} >"$OUT/node.env"
	(
		cd "$NODE_REF" || exit 1
		BENCH_NODE_EMULATOR=$EMU NODE_PATH=$NODE_CACHE/node_modules \
		    exec setsid node --require "$BENCH/node-preload.js" \
		    "$NODE_CACHE/node_modules/twilio-run/bin/twilio-run.js" start \
		    --no-fork-process --no-live --no-logs --port "$NODE_PORT" \
		    --env "$OUT/node.env" </dev/null >"$OUT/node.log" 2>&1
	) &
	NODE_PID=$!
	printf '%s\n' "$NODE_PID" >"$RUN_DIR/bench-node.pid"
	for i in $(seq 300); do
		if curl -sf -o /dev/null -X POST \
		    "http://127.0.0.1:$NODE_PORT/features/callback-and-voicemail/studio/wait-experience?mode=main-wait-loop&skipGreeting=true"; then
			say "Node reference: twilio-run on port $NODE_PORT (pid $NODE_PID), up after $((i / 10)) s"
			return 0
		fi
		kill -0 "$NODE_PID" 2>/dev/null || break
		sleep 0.1
	done
	NODE_WHY="twilio-run did not start (see $OUT/node.log)"
	return 1
}

NODE_UP=0
if node_start; then
	NODE_UP=1
else
	say "no Node reference: $NODE_WHY; ratios against issue 20's Node figures"
fi

# ------------------------------------------------------------- the canned Twilio

STANDIN=$OUT/standin
STANDIN_PIDFILE=
TWILIO_SAYS="the Python emulator (tests/twilio-emulator)"
THIRD=emulator

# node_route NAME: whether the Node reference has route NAME
node_route() {
	case $1 in wait-loop | wait-init | create-callback) return 0 ;; esac
	return 1
}

# canned_start: learn each route's Twilio requests and answers from the
# emulator, then put the stand-in in the emulator's place.
canned_start() {
	local name n emu_pid i
	rm -rf "$STANDIN"
	mkdir -p "$STANDIN"
	for name in $ROUTES; do
		[ -f "$OUT/$name.info" ] || die "unknown route '$name'"
		if n=$("${REQ[@]}" learn "$name" "$STANDIN" flexhooks \
		    2>>"$STANDIN/learn.log"); then
			printf '%s\n' "$n" >"$STANDIN/$name.calls"
			say "$name: learned its $n Twilio requests from the emulator"
		else
			say "$name: cannot learn its Twilio requests (see $STANDIN/learn.log)"
		fi
		if [ "$NODE_UP" = 1 ] && node_route "$name"; then
			if n=$("${REQ[@]}" learn "$name" "$STANDIN" node \
			    "$NODE_PORT" 2>>"$STANDIN/learn.log"); then
				say "$name (Node): learned its $n Twilio requests from the emulator"
			else
				say "$name (Node): cannot learn its Twilio requests (see $STANDIN/learn.log)"
			fi
		fi
	done
	[ -f "$STANDIN/canned.json" ] || printf '{}\n' >"$STANDIN/canned.json"
	"${REQ[@]}" standin "$STANDIN" "$((PORT + 1))"
	nginx -t -q -p "$STANDIN" -c "$STANDIN/nginx.conf" \
	    -e "$STANDIN/error.log" >"$STANDIN/nginx-t.log" 2>&1 ||
	    { cat "$STANDIN/nginx-t.log" >&2; die "the stand-in's nginx.conf is not valid"; }
	# the emulator gives its port up to the stand-in (the programs and
	# Node keep their URL)
	emu_pid=$(cat "$RUN_DIR/emulator.pid" 2>/dev/null) ||
	    die "no emulator pid file ($RUN_DIR/emulator.pid)"
	kill -TERM "$emu_pid" || die "cannot stop the emulator (pid $emu_pid)"
	for i in $(seq 50); do
		kill -0 "$emu_pid" 2>/dev/null || break
		sleep 0.1
	done
	! kill -0 "$emu_pid" 2>/dev/null || die "the emulator (pid $emu_pid) did not stop"
	: >"$STANDIN/miss.log"
	nginx -p "$STANDIN" -c "$STANDIN/nginx.conf" -e "$STANDIN/error.log" ||
	    die "the stand-in did not start (see $STANDIN/error.log)"
	for i in $(seq 50); do
		[ -s "$STANDIN/nginx.pid" ] && break
		sleep 0.1
	done
	STANDIN_PID=$(cat "$STANDIN/nginx.pid" 2>/dev/null) ||
	    die "the stand-in wrote no pid file (see $STANDIN/error.log)"
	STANDIN_PIDFILE=$STANDIN/nginx.pid
	export BENCH_STANDIN=$STANDIN
	TWILIO_SAYS="a canned stand-in (nginx, 1 worker) with the emulator's answers to $(
	    python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' \
	    "$STANDIN/canned.json") learned requests (BENCH_TWILIO=canned)"
	THIRD=stand-in
	say "Twilio: $TWILIO_SAYS, on $EMU (pid $STANDIN_PID)"
}

[ "$TWILIO" != canned ] || canned_start

# ------------------------------------------------------------- measuring

load1() { cut -d ' ' -f 1 /proc/loadavg; }

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# wrk_runs URL LUA DURATION TAG [KINDS]: warm-up, then RUNS runs; sets
# M_RPS M_P50 M_P99 M_ERR (medians; the errors of KINDS summed).
wrk_runs() {
	local url=$1 lua=$2 dur=$3 tag=$4 kinds=${5:-}
	local i line
	local -a rps=() p50=() p99=()
	M_ERR=0 M_N=0
	wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" -s "$lua" "$url" \
	    >"$OUT/$tag.warmup.out" 2>&1 || true
	CPU0=$("${REQ[@]}" cpu "$ROOT/.local/run" "$CPU_PROG" ${STANDIN_PIDFILE:+"$STANDIN_PIDFILE"})
	for ((i = 1; i <= RUNS; i++)); do
		wrk -t"$THREADS" -c"$CONNS" -d"${dur}s" -s "$lua" "$url" \
		    >"$OUT/$tag.run$i.out" 2>&1 || true
		read -r -a line <<<"$("${REQ[@]}" wrkout "$OUT/$tag.run$i.out" ${kinds:+"$kinds"})"
		rps+=("${line[0]}") p50+=("${line[1]}") p99+=("${line[2]}")
		M_N=$((M_N + line[4]))
		if [ "${line[3]}" -lt 0 ]; then
			M_ERR=fail
		elif [ "$M_ERR" != fail ]; then
			M_ERR=$((M_ERR + line[3]))
		fi
	done
	CPU1=$("${REQ[@]}" cpu "$ROOT/.local/run" "$CPU_PROG" ${STANDIN_PIDFILE:+"$STANDIN_PIDFILE"})
	M_RPS=$(median "${rps[@]}")
	M_P50=$(median "${p50[@]}")
	M_P99=$(median "${p99[@]}")
}

# The largest VmRSS (MB) of PROG's worker processes, and of its
# supervisor, while wrk ran.
rss_start() {
	SAMPLER=
	[ -f "$ROOT/.local/run/$1.pid" ] || return 0
	"${REQ[@]}" rss "$ROOT/.local/run/$1.pid" "$OUT/$2.rss" &
	SAMPLER=$!
}
rss_stop() {
	RSS=-
	[ -n "$SAMPLER" ] || return 0
	kill -TERM "$SAMPLER" 2>/dev/null || true
	wait "$SAMPLER" 2>/dev/null || true
	SAMPLER=
	# "largest worker/supervisor"; one process serves alone when
	# FLEXHOOKS_PROCESSES=1 and then counts as the worker
	RSS=$(awk -v n="$FLEXHOOKS_PROCESSES" '
	    n == 1 || $3 == "child" { if ($2 > w) w = $2; next }
	    { if ($2 > s) s = $2 }
	    END {
		printf "%s/%s", w ? sprintf("%.1f", w / 1024) : "-",
		    s ? sprintf("%.1f", s / 1024) : "-"
	    }' "$OUT/$1.rss" 2>/dev/null || echo -)
}

# Instructions per request of the in-process request path.
irs() {
	local name=$1 n=$2 f=$OUT/cg.$1.out tot
	IR=-
	[ "$CALLGRIND" = 1 ] && [ -f "$OUT/$name.req" ] || return 0
	if ! FLEXHOOKS_CONFIG=$ENV_FILE valgrind --tool=callgrind \
	    --toggle-collect=serve_one --callgrind-out-file="$f" \
	    "$ROOT/bench/handler_loop" "$OUT/$name.req" "$n" \
	    >"$OUT/cg.$name.stdout" 2>"$OUT/cg.$name.stderr"; then
		say "$name: handler_loop did not answer as expected (see $OUT/cg.$name.*)"
		IR=fail
		return 0
	fi
	tot=$(awk '/^(summary|totals):/ { print $2; exit }' "$f")
	[ -n "$tot" ] && IR=$((tot / n))
}

# Server CPU microseconds per request over the measured runs: the
# program's processes and nginx together (SRV), and "prog/nginx/emulator"
# (printed).
cpu_per_req() {
	local a b
	read -r -a a <<<"$CPU0"
	read -r -a b <<<"$CPU1"
	SRV=$(awk -v n="$M_N" -v hz="${b[3]}" \
	    -v t=$((b[0] - a[0] + b[1] - a[1])) 'BEGIN {
		if (n <= 0) { print "-"; exit }
		printf "%.0f", t * 1e6 / hz / n
	}')
	SPLIT=$(cpu_split)
}
cpu_split() {
	local a b
	read -r -a a <<<"$CPU0"
	read -r -a b <<<"$CPU1"
	awk -v n="$M_N" -v hz="${b[3]}" -v p=$((b[0] - a[0])) \
	    -v g=$((b[1] - a[1])) -v e=$((b[2] - a[2])) 'BEGIN {
		if (n <= 0) { print "-"; exit }
		f = 1e6 / hz / n
		printf "%.0f/%.0f/%.0f", p * f, g * f, e * f
	}'
}

# times A B: "A/Bx", or - without both
times() {
	if [ -n "$2" ] && [ "$1" != - ] && [ "$2" != - ]; then
		awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'
	else
		echo -
	fi
}

# pids PROG: the processes of PROG (its pid file's process and children)
pids() {
	local top
	top=$(cat "$ROOT/.local/run/$1.pid" 2>/dev/null) || return 0
	printf '%s\n' "$top"
	pgrep -P "$top" || true
}

# syscalls URL LUA TAG PROG: a short run with strace -c -f on every process
# of PROG and on nginx's workers; sets SYS to "prog/nginx" system calls per
# request (for Node, PROG is the whole server and nginx is not in the way).
syscalls() {
	local url=$1 lua=$2 tag=$3 prog=$4 p n=0 a b
	local -a args=() nargs=() line
	SYS=-
	[ "$SYSCALLS" = 1 ] || return 0
	for p in $(pids "$prog"); do args+=(-p "$p"); done
	for p in $(pgrep -P "$(cat "$ROOT/.local/run/nginx.pid")"); do
		nargs+=(-p "$p")
	done
	[ "${#args[@]}" -gt 0 ] || return 0
	STRACES=()
	strace -c -f -o "$OUT/$tag.strace" "${args[@]}" 2>/dev/null &
	STRACES+=($!)
	if [ "$prog" != bench-node ] && [ "${#nargs[@]}" -gt 0 ]; then
		strace -c -f -o "$OUT/$tag.nginx.strace" "${nargs[@]}" \
		    2>/dev/null &
		STRACES+=($!)
	else
		rm -f "$OUT/$tag.nginx.strace"
	fi
	sleep 0.5	# attached
	wrk -t"$THREADS" -c"$CONNS" -d"${SYS_DURATION}s" -s "$lua" "$url" \
	    >"$OUT/$tag.sys.out" 2>&1 || true
	kill -INT "${STRACES[@]}" 2>/dev/null || true
	wait "${STRACES[@]}" 2>/dev/null || true
	STRACES=()
	read -r -a line <<<"$("${REQ[@]}" wrkout "$OUT/$tag.sys.out")"
	n=${line[4]}
	[ "$n" -gt 0 ] || return 0
	a=$(awk '$NF == "total" { print $4 }' "$OUT/$tag.strace" 2>/dev/null)
	b=$(awk '$NF == "total" { print $4 }' "$OUT/$tag.nginx.strace" 2>/dev/null || true)
	SYS=$(awk -v a="${a:-0}" -v b="${b:-}" -v n="$n" 'BEGIN {
		printf "%.1f", a / n
		if (b != "") printf "/%.1f", b / n
	}')
}

ROWS=()
BASE_RPS=
FLOOR_RPS=
FMT='| %-38s | %8s | %6s | %6s | %6s | %7s | %7s | %8s | %9s | %7s | %6s | %11s | %9s | %4s |'
# label rps p50 p99 errors vs-nginx vs-floor vs-node rss ir srv cpu sys load
# shellcheck disable=SC2059 # the one format
row_text() { printf "$FMT" "$@"; }
row() { ROWS+=("$(row_text "$@")"); }
ratio() {	# RPS [OF]: RPS as a share of OF (default: the baseline)
	local of=${2-$BASE_RPS}
	if [ -n "$of" ] && [ "$1" != - ]; then
		awk -v a="$1" -v b="$of" 'BEGIN { printf "%.0f%%", 100 * a / b }'
	else
		echo -
	fi
}

# node_row NAME: measure the Node reference for route NAME the same way
# (sets NODE_RPS; appends its row to NODE_ROWS, printed under flexhooks')
node_row() {
	local name=$1 label=$2 ld status
	NODE_RPS=
	ld=$(load1)
	"${REQ[@]}" seed "$name"
	if ! status=$("${REQ[@]}" preflight "$name" "$NODE_PORT" 2>"$OUT/$name-node.preflight"); then
		say "$name: Node answered ${status:-nothing}: $(cat "$OUT/$name-node.preflight")"
		NODE_ROWS+=("$(row_text "  Node reference: FAIL $status" - - - - - - - - - - - - "$ld")")
		return 0
	fi
	"${REQ[@]}" seed "$name"
	say "$name (Node): load average $ld; ${WARMUP}s warm-up, $RUNS x ${DURATION}s at $CONNS connections"
	CPU_PROG=bench-node
	rss_start bench-node "$name-node"
	wrk_runs "http://127.0.0.1:$NODE_PORT/" "$OUT/$name.lua" "$DURATION" "$name-node"
	rss_stop "$name-node"
	# one process serves: its VmRSS
	RSS=$(awk '{ if ($2 > m) m = $2 } END { if (m) printf "%.1f", m / 1024; else print "-" }' \
	    "$OUT/$name-node.rss" 2>/dev/null || echo -)
	[ "$M_ERR" = 0 ] || say "warning: $name (Node): $M_ERR errors in the measured runs (see $OUT/$name-node.run*.out)"
	cpu_per_req
	"${REQ[@]}" seed "$name"
	syscalls "http://127.0.0.1:$NODE_PORT/" "$OUT/$name.lua" "$name-node" bench-node
	NODE_RPS=$M_RPS
	NODE_ROWS+=("$(row_text "  Node reference (twilio-run)" "$M_RPS" "$M_P50" "$M_P99" \
	    "$M_ERR" "$(ratio "$M_RPS")" "$(ratio "$M_RPS" "$FLOOR_RPS")" 1.0x \
	    "$RSS" - "$SRV" "$SPLIT" "$SYS" "$ld")")
}

ISSUE_RATIO=0
for name in $ROUTES; do
	[ -f "$OUT/$name.info" ] || die "unknown route '$name'"
	IFS=$'\t' read -r _ prog want label <"$OUT/$name.info"
	calls=0
	NODE_ROWS=()
	REF_RPS=
	REF_MARK=
	if node_route "$name"; then
		if [ "$NODE_UP" = 1 ]; then
			node_row "$name" "$label"
			REF_RPS=$NODE_RPS
		else
			REF_RPS=$(printf '%s\n' "$ISSUE_NODE_RPS" | tr ' ' '\n' | sed -n "s/^$name=//p")
			REF_MARK='*'
			ISSUE_RATIO=1
		fi
	fi
	ld=$(load1)
	"${REQ[@]}" seed "$name"
	if ! status=$("${REQ[@]}" preflight "$name" 2>"$OUT/$name.preflight"); then
		if [ "$status" = 404 ]; then
			say "$name: 404 (program not built): n/a"
			row "$label" n/a n/a n/a n/a n/a n/a n/a n/a n/a n/a n/a n/a "$ld"
		else
			say "$name: answered ${status:-nothing}, not $want: $(cat "$OUT/$name.preflight")"
			row "$label" "FAIL $status" - - - - - - - - - - - "$ld"
		fi
		continue
	fi
	# the Twilio requests of that one webhook (the emulator was just
	# reset): the emulator-only script
	if [ "$TWILIO" = canned ]; then
		calls=$(cat "$STANDIN/$name.calls" 2>/dev/null || echo 0)
	else
		calls=$("${REQ[@]}" capture "$name" "$OUT")
	fi
	[ "$calls" -eq 0 ] || "${REQ[@]}" seed "$name"
	say "$name: load average $ld; ${WARMUP}s warm-up, $RUNS x ${DURATION}s at $CONNS connections"
	CPU_PROG=$prog
	[ "$prog" = - ] || rss_start "$prog" "$name"
	# (the script sets method, path, headers and body)
	wrk_runs "$BASE/" "$OUT/$name.lua" "$DURATION" "$name"
	rss_stop "$name"
	cpu_per_req
	if [ "$M_ERR" != 0 ]; then
		# e.g. 429s from nginx: the row would measure the error page
		say "warning: $name: $M_ERR errors in the measured runs (see $OUT/$name.run*.out); its req/s is not the route's"
	fi
	[ "$name" != baseline ] || BASE_RPS=$M_RPS
	[ "$name" != floor ] || FLOOR_RPS=$M_RPS
	R_RPS=$M_RPS R_P50=$M_P50 R_P99=$M_P99 R_ERR=$M_ERR R_RSS=$RSS
	R_SRV=$SRV R_SPLIT=$SPLIT
	SYS=-
	if [ "$prog" != - ]; then
		"${REQ[@]}" seed "$name"
		syscalls "$BASE/" "$OUT/$name.lua" "$name" "$prog"
	fi
	case $name in
	baseline | floor | tr-event)	# not in bench/handler_loop's table
		IR=- ;;
	*)
		n=$CG_N
		[ "$calls" -eq 0 ] || n=$CG_N_REST
		"${REQ[@]}" seed "$name"
		irs "$name" "$n"
		;;
	esac
	if [ "$name" = baseline ]; then
		# nginx alone: its CPU is the whole server
		R_SRV=$(awk -v s="$R_SPLIT" 'BEGIN { split(s, a, "/"); print a[2] }')
	fi
	row "$label" "$R_RPS" "$R_P50" "$R_P99" "$R_ERR" "$(ratio "$R_RPS")" \
	    "$(if [ "$name" = baseline ]; then echo -; else ratio "$R_RPS" "$FLOOR_RPS"; fi)" \
	    "$(t=$(times "$R_RPS" "$REF_RPS"); [ "$t" = - ] || t=$t$REF_MARK; echo "$t")" \
	    "$R_RSS" "$IR" "$R_SRV" "$R_SPLIT" "$SYS" "$ld"
	[ "${#NODE_ROWS[@]}" -eq 0 ] || ROWS+=("${NODE_ROWS[@]}")
	if [ "$calls" -gt 0 ] && [ "$TWILIO" = emulator ]; then
		ld=$(load1)
		"${REQ[@]}" seed "$name"
		say "$name: emulator only ($calls Twilio calls per webhook), load average $ld"
		# the emulator closes the create connections (as flexhooks
		# asks): wrk counts each as a read error, so only status,
		# connect and timeout errors count here
		CPU_PROG=-
		wrk_runs "$EMU/" "$OUT/$name-emulator.lua" "$EMU_DURATION" \
		    "$name-emulator" "connect status timeout"
		cpu_per_req
		row "  emulator alone ($calls calls/webhook)" "$M_RPS" "$M_P50" \
		    "$M_P99" "$M_ERR" - - - - - - "$SPLIT" - "$ld"
		row "  = emulator ceiling (req/s / $calls)" \
		    "$(awk -v a="$M_RPS" -v c="$calls" 'BEGIN { printf "%.1f", a / c }')" \
		    - - - - - - - - - - - "$ld"
	fi
done

# ------------------------------------------------------------- the table

{
	printf '\nflexhooks benchmark: %s connections, %s wrk threads, %s x %ss runs (medians), %s FastCGI processes per program, %s CPUs, %s\nTwilio: %s\n\n' \
	    "$CONNS" "$THREADS" "$RUNS" "$DURATION" "$FLEXHOOKS_PROCESSES" \
	    "$(nproc)" "$(date -u +%Y-%m-%dT%H:%MZ)" "$TWILIO_SAYS"
	row_text route req/s 'p50 ms' 'p99 ms' errors 'vs nginx' 'vs floor' \
	    'vs Node' 'RSS MB' 'Ir/req' 'server' 'CPU us/req' 'sys/req' load
	printf '\n|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' \
	    "$(printf -- '-%.0s' {1..40})" ---------: -------: -------: \
	    -------: --------: --------: ---------: ----------: --------: \
	    -------: ------------: ----------: -----:
	printf '%s\n' "${ROWS[@]}"
	cat <<EOF

errors: status >= 400 plus socket errors, summed over the runs (emulator
rows: no read errors, see above).  vs nginx: req/s as a share of nginx's
own "return 200" of the same document; vs floor: as a share of the FastCGI
floor (bench/fcgi_floor answering that document through the same nginx and
fastcgi_params, doing nothing else: the most a FastCGI route can do here).  RSS MB: the largest VmRSS of the route's
worker processes / of its supervisor during the runs (the supervisor's is
mostly shared library pages touched at start-up; a forked worker counts
only the pages it touches itself).  Ir/req: instructions per request of
parse + auth + handler + head + access line, in-process (bench/handler_loop
under callgrind, after one warm-up request; for the Twilio-calling routes
this includes curl and the JSON parsing, not the emulator).  server: CPU
microseconds per request of the server (the program's processes and nginx;
Node: the twilio-run process; baseline: nginx) over the measured runs;
CPU us/req splits it into program / nginx / $THIRD.  sys/req: system
calls per request of the program's processes / of nginx's workers, from a
separate ${SYS_DURATION} s run under strace -c -f (Node: its process, all
threads).  vs Node: req/s over the Node reference's (the template's own
functions under twilio-run against the same Twilio, measured just
before; its row is under the route's).  load: 1-minute load average before
the route.  Total time $SECONDS s.
EOF
	if [ "$TWILIO" = canned ]; then
		cat <<EOF

Twilio (BENCH_TWILIO=canned): the emulator's answers to the very requests
one webhook of each route made (flexhooks' and Node's), learned before the
runs, served by a stand-in nginx of its own in the emulator's place; its
CPU is the third CPU us/req figure (not in "server").  A request it did not
learn answers 404 (a status error); such misses over the whole bench: $(wc -l <"$STANDIN/miss.log").
EOF
	fi
	if [ "$ISSUE_RATIO" = 1 ]; then
		printf '\n*: Node did not run here (%s): the ratio is to the Node req/s\nmeasured in issue 20 (%s), not to a run on this machine.\n' \
		    "$NODE_WHY" "$ISSUE_NODE_RPS"
	fi
} | tee "$OUT/table.md"
