# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# deploy/lib/proc.sh: daemons with pid files in RUN_DIR: start one in its
# own session (launch), tell whether it runs (pid_running), stop them in
# order (signal_stop, stop_all).  Sourced after deploy/lib/common.sh.
# shellcheck disable=SC2034 # LAUNCHED is for the caller

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
			[ -n "${QUIET:-}" ] || say "stopping $name (pid $pid)"
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

