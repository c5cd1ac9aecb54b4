#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/load/run.sh: bounded load test of flexhooks (README.md "Load test").
#
#   tests/load/run.sh [--journeys N] [--rate R] [--latency-ms MS] [--p429 P]
#                     [--processes N] [load.py options...]
#
# Starts its own stack with deploy/local.sh start (emulator only, fake
# credentials, FLEXHOOKS_PORT default 48080, emulator on PORT+1, every
# Twilio answer delayed by --latency-ms, FLEXHOOKS_PROCESSES=--processes,
# no emulator request log), plays the journeys with tests/load/load.py,
# prints its report and stops the stack, also on failure or Ctrl-C.  Every
# request goes to 127.0.0.1.  Not part of `make check`.
#
# Defaults: 10000 journeys at 100/s, half wait-experience journeys (hold,
# "*", callback to the same number) and half studio create-callback; 50 ms
# latency; 1% of the Twilio requests answered 429 (Retry-After: 1);
# 32 processes per program.  load.py --help lists the other options.
# Exit status: load.py's (1 when a task was lost or duplicated or a webhook
# was answered 429 by flexhooks), or 1 when
# the stack did not start.  LOAD_TIMEOUT (seconds, default 3600) bounds the
# whole driver run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
LATENCY=50
PROCESSES=32
JOURNEYS=10000
RATE=100
declare -a PASS=()

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "${BASH_SOURCE[0]}"
	exit "${1:-2}"
}

need_value() { [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }; }

while [ $# -gt 0 ]; do
	case $1 in
	--latency-ms) need_value "$@"; LATENCY=$2; shift 2 ;;
	--processes) need_value "$@"; PROCESSES=$2; shift 2 ;;
	--journeys) need_value "$@"; JOURNEYS=$2; shift 2 ;;
	--rate) need_value "$@"; RATE=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) PASS+=("$1"); shift ;;
	esac
done
case $LATENCY in '' | *[!0-9]*) echo "run.sh: bad --latency-ms '$LATENCY'" >&2; exit 2 ;; esac
case $PROCESSES in '' | *[!0-9]*) echo "run.sh: bad --processes '$PROCESSES'" >&2; exit 2 ;; esac

# Only the emulator, with the fake identity local.sh makes up: no real
# credentials from the caller's environment reach this stack.
unset ACCOUNT_SID AUTH_TOKEN API_KEY API_SECRET TWILIO_FLEX_WORKSPACE_SID \
    TWILIO_FLEX_CALLBACK_WORKFLOW_SID FLEXHOOKS_PUBLIC_URL FLEXHOOKS_HTPASSWD
# --processes is for every program: no per-program count from the caller's
# environment (deploy/local.sh test's stack runs wait-experience with 2)
unset FLEXHOOKS_PROGRAM_PROCESSES
export FLEXHOOKS_EMULATOR=1
export FLEXHOOKS_PORT=${FLEXHOOKS_PORT:-48080}
export FLEXHOOKS_PROCESSES=$PROCESSES
export FLEXHOOKS_EMULATOR_LATENCY_MS=$LATENCY
export FLEXHOOKS_EMULATOR_REQUEST_LOG=${FLEXHOOKS_EMULATOR_REQUEST_LOG:-0}

LOCAL_SH=$ROOT/deploy/local.sh
START_LOG=$ROOT/.local/load-start.log
mkdir -p "$ROOT/.local"

stop_stack() { "$LOCAL_SH" stop >/dev/null 2>&1 || true; }
trap stop_stack EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "run.sh: starting the stack on 127.0.0.1:$FLEXHOOKS_PORT" \
    "($PROCESSES processes per program, ${LATENCY} ms Twilio latency)"
# The ports lie in Linux's ephemeral range: an outgoing connection (ours or
# anyone's) can hold one for a while, so a failed bind is tried again.
for attempt in 1 2 3 4 5 6 7 8 9 10 11 12; do
	if "$LOCAL_SH" start >"$START_LOG" 2>&1; then
		break
	fi
	if [ "$attempt" -lt 12 ] &&
	    grep -q -e 'Address already in use' -e 'is in use' "$START_LOG"; then
		echo "run.sh: port busy (an outgoing connection?); trying again in 5 s" >&2
		sleep 5
		continue
	fi
	tail -n 30 "$START_LOG" >&2
	echo "run.sh: the stack did not start (see $START_LOG)" >&2
	exit 1
done

rc=0
timeout --kill-after=30 "${LOAD_TIMEOUT:-3600}" \
    python3 "$ROOT/tests/load/load.py" --root "$ROOT" \
    --port "$FLEXHOOKS_PORT" --journeys "$JOURNEYS" --rate "$RATE" \
    --latency-ms "$LATENCY" --processes "$PROCESSES" \
    ${PASS[@]+"${PASS[@]}"} || rc=$?
echo "run.sh: stopping the stack"
exit "$rc"
