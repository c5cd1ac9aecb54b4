#!/bin/sh
# Packaging lint: the production nginx site (nginx/make-site.sh) keeps every
# location and security line of the template, nginx accepts it, and
# deploy/systemd/flexhooks.target starts exactly the programs that are built.
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

# flexhooks.target: one socket and one service per built program
progs=$(sed -n '/^pkglibexec_PROGRAMS/,/[^\\]$/p' "$top/Makefile.am" |
    grep -o 'cgi-bin/[a-z-]*' | sed 's|cgi-bin/||' | sort)
target=$top/deploy/systemd/flexhooks.target
for kind in socket service; do
	units=$(grep '^Wants=' "$target" | grep -o "flexhooks@[a-z-]*\.$kind" |
	    sed "s/^flexhooks@//; s/\.$kind\$//" | sort)
	if [ -n "$progs" ] && [ "$progs" = "$units" ]; then
		ok "flexhooks.target wants a $kind per program"
	else
		bad "flexhooks.target ${kind}s differ from pkglibexec_PROGRAMS"
		printf 'programs: %s\nunits: %s\n' "$progs" "$units"
	fi
done
local_progs=$(sed -n '/^PROGRAMS="/,/"$/p' "$top/deploy/local.sh" |
    tr -d '"' | sed 's/^PROGRAMS=//' | tr ' ' '\n' | grep . | sort)
if [ "$progs" = "$local_progs" ]; then
	ok "deploy/local.sh PROGRAMS match"
else
	bad "deploy/local.sh PROGRAMS differ from pkglibexec_PROGRAMS"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
