# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# deploy/lib/stack.sh: the local stack: users, identity (emulator or real
# Twilio), Basic auth, the programs' configuration file, the emulator, the
# FastCGI programs under spawn-fcgi, and start_stack, which brings them
# and nginx (deploy/lib/nginx.sh) up.  Sourced after common.sh and proc.sh.

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
	hash="{SSHA}$hash"
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

http_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" 2>/dev/null ||
	    true
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
	printf 'Routes (paste into Twilio: Studio, TaskRouter, phone numbers, the Flex plugins):\n'
	while read -r path auth; do
		case $auth in
		basic) printf '  %s\n' "$(with_userinfo "$PUBLIC_URL")$path" ;;
		optional) printf '  %s   (signature, or Basic: %s)\n' \
		    "$PUBLIC_URL$path" "$(with_userinfo "$PUBLIC_URL")$path" ;;
		*) printf '  %s\n' "$PUBLIC_URL$path" ;;
		esac
	done < <(twilio_routes)
	printf '\nAlso served:\n'
	printf '  %s/healthz   (health check of every program)\n' "$PUBLIC_URL"
	printf '  %s/assets/   (static: the hold music)\n' "$PUBLIC_URL"
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

