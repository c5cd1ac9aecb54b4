#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Smoke test of the local stack (deploy/local.sh test): nginx answers, the
# catch-all 404 and the 413 are JSON, Basic-auth routes challenge, and the
# access log keeps no query string.  Skips (77) unless FLEXHOOKS_TEST_STACK=1.
# POSIX sh: make check runs it with $(SHELL).
set -u

if [ "${FLEXHOOKS_TEST_STACK:-}" != 1 ]; then
	echo "SKIP: FLEXHOOKS_TEST_STACK is not 1 (run deploy/local.sh test)"
	exit 77
fi

base=http://127.0.0.1:${FLEXHOOKS_PORT:-8080}
basic_route=/features/callback-and-voicemail/studio/create-callback
passed=0
failed=0
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

ok() {
	passed=$((passed + 1))
	echo "ok - $1"
}

not_ok() {
	failed=$((failed + 1))
	echo "not ok - $1"
}

# expect NAME WANT GOT
expect() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1 (want '$2', got '$3')"
	fi
}

# fetch NAME CURL-ARGS...: response to $tmp/NAME.body and $tmp/NAME.headers;
# prints the status (000 when there is no answer).
fetch() {
	f_out=$tmp/$1
	shift
	curl -s --max-time 10 -o "$f_out.body" -D "$f_out.headers" \
	    -w '%{http_code}' "$@" 2>/dev/null || true
}

# header NAME FIELD: value of the last FIELD header of response NAME.
header() {
	grep -i "^$2:" "$tmp/$1.headers" 2>/dev/null | tail -n 1 |
	    cut -d: -f2- | sed 's/^ *//' | tr -d '\r'
}

body() {
	cat "$tmp/$1.body" 2>/dev/null
}

# 1. /healthz
expect "GET /healthz is 200" 200 "$(fetch health "$base/healthz")"

# 2. an unknown route: 404 with the fixed JSON body
expect "unknown route is 404" 404 "$(fetch unknown "$base/no/such/route")"
expect "404 body is the JSON error" \
    '{"success":false,"message":"not found","code":null,"more_info":null}' \
    "$(body unknown)"
expect "404 is application/json" application/json \
    "$(header unknown Content-Type)"

# 3. a Basic-auth route without credentials: nginx's challenge
expect "Basic route without credentials is 401" 401 \
    "$(fetch nocreds -X POST -d 'a=b' "$base$basic_route")"
expect "401 carries the Basic challenge" 'Basic realm="flexhooks"' \
    "$(header nocreds WWW-Authenticate)"

# 4. ... and with wrong ones
expect "Basic route with wrong credentials is 401" 401 \
    "$(fetch badcreds -X POST -d 'a=b' -u 'flexhooks:wrong-password' \
    "$base$basic_route")"

# 5. a body over nginx's 128k limit: 413 with the JSON error body
head -c 200000 /dev/zero | tr '\0' 'a' >"$tmp/big"
if [ -n "${FLEXHOOKS_BASIC_AUTH:-}" ]; then
	code=$(fetch big -u "$FLEXHOOKS_BASIC_AUTH" \
	    -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data-binary @"$tmp/big" "$base$basic_route")
else
	code=$(fetch big -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data-binary @"$tmp/big" "$base$basic_route")
fi
expect "200 kB body is 413" 413 "$code"
expect "413 body is the JSON error" \
    '{"success":false,"message":"request body too large","code":null,"more_info":null}' \
    "$(body big)"
expect "413 is application/json" application/json "$(header big Content-Type)"

# 6. nginx does not advertise its version
expect "Server header has no version" nginx "$(header health Server)"

# 7. the access log never records query strings
log=${FLEXHOOKS_LOG_DIR:-}/nginx-access.log
if [ -n "${FLEXHOOKS_LOG_DIR:-}" ] && [ -f "$log" ]; then
	marker=smoke$$query
	fetch query "$base/healthz?token=$marker" >/dev/null
	sleep 1
	if grep -q "$marker" "$log"; then
		not_ok "access log omits the query string"
	else
		ok "access log omits the query string"
	fi
	if grep -q '"path":"/healthz"' "$log"; then
		ok "access log records the path"
	else
		not_ok "access log records the path"
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
