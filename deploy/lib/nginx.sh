# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# deploy/lib/nginx.sh: nginx of the local stack: the configuration rendered
# from nginx/flexhooks.conf.in, its start, and the routes it serves.
# Sourced after common.sh and proc.sh (fail_stack is in stack.sh).

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
	local line keep=1 prog user_line='' rate=${FLEXHOOKS_NGINX_FLEX_RATE:-20r/s}
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

# The routes a user configures in Twilio (console, Studio, the Flex
# plugins): not nginx's internal error locations (/__flexhooks/...), nor the
# bench's, nor /healthz.
twilio_routes() {
	routes | awk '$1 !~ /^\/__/ && $1 != "/healthz"'
}
