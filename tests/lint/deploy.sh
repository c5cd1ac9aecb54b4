#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Packaging lint: the production nginx site (nginx/make-site.sh) keeps every
# location and security line of the template, nginx accepts it, and the
# local stack lists only the routes a user configures in Twilio.  (The
# program lists: tests/lint/programs.sh.)
top=${FLEXHOOKS_SRCDIR:-$(dirname "$0")/../..}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

tpl=$top/nginx/flexhooks.conf.in
if sh "$top/nginx/make-site.sh" "$tpl" >"$tmp/site.conf"; then
	ok "make-site.sh"
else
	bad "make-site.sh"
fi

# the template without its "# @bench" blocks, which the site leaves out
awk '/^[[:space:]]*# @bench([[:space:]]|$)/ { b = 1; next }
    b && /^[[:space:]]*# @end/ { b = 0; next }
    !b' "$tpl" >"$tmp/tpl"
if grep -q '__bench' "$tmp/site.conf"; then
	bad "the site serves a bench location"
else
	ok "no bench location in the site"
fi

# the same location lines and security directives, in the same order
for re in '^[[:space:]]*location ' 'auth_basic' 'FLEXHOOKS_BASIC_VERIFIED' \
    'fastcgi_pass' 'limit_req ' 'error_page' 'return [0-9]'; do
	grep -v '^[[:space:]]*#' "$tmp/tpl" | grep -E "$re" | sed 's/^[[:space:]]*//; s/@RUN_DIR@/\/run\/flexhooks/; s/@HTPASSWD@/\/etc\/flexhooks\/htpasswd/; s/@[A-Z_]*@//g' >"$tmp/a"
	grep -v '^[[:space:]]*#' "$tmp/site.conf" | grep -E "$re" | sed 's/^[[:space:]]*//; s/\/etc\/nginx//g; s/\/usr\/share\/flexhooks\/assets\///g' |
	    grep -v -e 'acme-challenge' -e '^location / {$' -e 'return 301' >"$tmp/b"
	# the port-80 server adds "location / {"; the template has one too
	grep -E "$re" "$tmp/tpl" | grep -q 'location / {' &&
	    printf 'location / {\n' >>"$tmp/b"
	if [ "$(sort "$tmp/a")" = "$(sort "$tmp/b")" ]; then
		ok "site keeps every '$re' line ($(wc -l <"$tmp/a"))"
	else
		bad "site and template differ in '$re' lines:"
		diff "$tmp/a" "$tmp/b"
	fi
done
if grep -n '@[A-Z_]*@' "$tmp/site.conf"; then
	bad "unreplaced token in the site"
else
	ok "no template token left"
fi

# nginx accepts it (on free loopback ports, with a throw-away certificate)
if command -v nginx >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost \
	    -days 1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
	sed -e 's/^\([[:space:]]*\)listen 443 ssl;/\1listen 127.0.0.1:1 ssl;/' \
	    -e 's/^\([[:space:]]*\)listen 80;/\1listen 127.0.0.1:2;/' \
	    -e '/listen \[::\]/d' \
	    -e "s#/etc/letsencrypt/live/flexhooks.example.com/fullchain.pem#$tmp/cert.pem#" \
	    -e "s#/etc/letsencrypt/live/flexhooks.example.com/privkey.pem#$tmp/key.pem#" \
	    -e "s#/var/log/nginx/#$tmp/#g" "$tmp/site.conf" >"$tmp/test-site.conf"
	mkdir -p "$tmp/tmp"
	cat >"$tmp/nginx.conf" <<CONF
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { }
http {
	client_body_temp_path $tmp/tmp/body;
	fastcgi_temp_path $tmp/tmp/fastcgi;
	proxy_temp_path $tmp/tmp/proxy;
	scgi_temp_path $tmp/tmp/scgi;
	uwsgi_temp_path $tmp/tmp/uwsgi;
	include $tmp/test-site.conf;
}
CONF
	if out=$(nginx -t -p "$tmp/" -c "$tmp/nginx.conf" 2>&1) &&
	    ! printf '%s\n' "$out" | grep -q '\[warn\]'; then
		ok "nginx -t accepts the site (no warning)"
	else
		bad "nginx -t: $out"
	fi
else
	echo "skip: nginx -t (no nginx or openssl)"
fi

# deploy/local.sh start lists under "paste into Twilio" only the routes a
# user configures there: not the internal error locations, the bench's or
# /healthz (deploy/lib/nginx.sh twilio_routes), but every route of a
# program (the program list itself: tests/lint/programs.sh)
if command -v bash >/dev/null 2>&1; then
	ROOT=$top OUT=$tmp bash -c '
	set -e
	. "$ROOT/deploy/lib/common.sh"; . "$ROOT/deploy/lib/proc.sh"
	. "$ROOT/deploy/lib/stack.sh"; . "$ROOT/deploy/lib/nginx.sh"
	NGINX_CONF=$OUT/local.conf BUILT=$PROGRAMS HTPASSWD=/dev/null
	WEB_USER=www-data WEB_GROUP=www-data
	render_nginx_conf
	routes >"$OUT/routes"
	twilio_routes >"$OUT/twilio"' >"$tmp/render.out" 2>&1 ||
	    { bad "render_nginx_conf: $(cat "$tmp/render.out")"; }
	if grep -q '^/__flexhooks/' "$tmp/routes" && grep -q '^/healthz ' "$tmp/routes"; then
		ok "the rendered configuration has internal routes and /healthz"
	else
		bad "no /__flexhooks/ or /healthz route in the rendered configuration"
	fi
	if grep -e '^/__' -e '^/healthz ' "$tmp/twilio"; then
		bad "internal routes or /healthz listed for Twilio (above)"
	else
		ok "no internal route or /healthz listed for Twilio"
	fi
	grep -v -e '^/__' -e '^/healthz ' "$tmp/routes" >"$tmp/public"
	if [ -s "$tmp/twilio" ] && cmp -s "$tmp/public" "$tmp/twilio"; then
		ok "every other route listed for Twilio ($(wc -l <"$tmp/twilio"))"
	else
		bad "routes listed for Twilio differ from the public routes"
		diff "$tmp/public" "$tmp/twilio"
	fi
fi

# The README's Basic-auth set-up, run as written (its paths moved into the
# temporary directory; chown needs root, so install's owner is dropped),
# writes one {SSHA} line that holds the password it wrote into
# FLEXHOOKS_BASIC_AUTH: nginx checks that hash on every request, so an
# apr1 or bcrypt line here would slow every Basic-auth route down.
awk '/^### 3\. Basic-auth credentials/ { s = 1 }
    s && /^```sh$/ { c = 1; next }
    c && /^```$/ { exit }
    c' "$top/README.md" |
    sed -e "s|/etc/flexhooks/|$tmp/|g" -e 's/ -o root -g www-data//' \
    >"$tmp/basic.sh"
if grep -q htpasswd "$tmp/basic.sh" && sh -e "$tmp/basic.sh" 2>"$tmp/basic.err" &&
    python3 - "$tmp/flexhooks.env" "$tmp/htpasswd" <<'PY' >"$tmp/basic.out" 2>&1; then
import base64, hashlib, sys
pair = open(sys.argv[1]).read().split("FLEXHOOKS_BASIC_AUTH=", 1)[1].split()[0]
user, password = pair.split(":", 1)
lines = open(sys.argv[2]).read().splitlines()
assert len(lines) == 1, lines
name, scheme_hash = lines[0].split(":", 1)
assert name == user, (name, user)
assert scheme_hash.startswith("{SSHA}"), scheme_hash[:8]
raw = base64.b64decode(scheme_hash[6:])
digest, salt = raw[:20], raw[20:]
assert salt and hashlib.sha1(password.encode() + salt).digest() == digest
PY
	ok "the README's htpasswd line is {SSHA} of FLEXHOOKS_BASIC_AUTH's password"
else
	bad "the README's Basic-auth set-up: $(cat "$tmp/basic.err" "$tmp/basic.out" 2>/dev/null)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
