#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The program list in one place: Makefile.am's pkglibexec_PROGRAMS names the
# FastCGI programs (cgi-bin/NAME).  deploy/local.sh reads it from there
# (deploy/lib/common.sh); this lint checks every other list against it:
# the sources, deploy/systemd/flexhooks.target (a socket and a service per
# program), the "# @program NAME" blocks of nginx/flexhooks.conf.in (one
# per program, passing only to its upstream fh_NAME and NAME.sock), FLEXHOOKS_HEALTH_SOCKETS of
# deploy/flexhooks.env.sample (every program but healthz) and .gitignore.
top=${FLEXHOOKS_SRCDIR:-$(dirname "$0")/../..}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# same WHAT FILE: FILE (one name a line) holds the programs, no more
same() {
	LC_ALL=C sort -u "$2" >"$2.sorted"
	if [ -s "$tmp/progs" ] && cmp -s "$tmp/progs" "$2.sorted"; then
		ok "$1: the $(wc -l <"$tmp/progs") programs"
	else
		bad "$1 differs from pkglibexec_PROGRAMS (< Makefile.am, > $1):"
		diff "$tmp/progs" "$2.sorted"
	fi
}

sed -n '/^pkglibexec_PROGRAMS/,/[^\\]$/p' "$top/Makefile.am" |
    grep -o 'cgi-bin/[a-z0-9-]*' | sed 's|^cgi-bin/||' | LC_ALL=C sort -u \
    >"$tmp/progs"
if [ -s "$tmp/progs" ]; then
	ok "pkglibexec_PROGRAMS: $(tr '\n' ' ' <"$tmp/progs")"
else
	bad "no pkglibexec_PROGRAMS in Makefile.am"
fi

# the sources
missing=
while read -r p; do
	v=cgi_bin_$(printf '%s' "$p" | tr '-' '_')_SOURCES
	[ -f "$top/cgi-bin/$p.c" ] && grep -q "^$v = cgi-bin/$p.c" "$top/Makefile.am" ||
	    missing="$missing $p"
done <"$tmp/progs"
if [ -z "$missing" ]; then
	ok "cgi-bin/NAME.c and its _SOURCES line for each"
else
	bad "no cgi-bin/NAME.c or _SOURCES line for:$missing"
fi

# deploy/local.sh: the list it starts
if command -v bash >/dev/null 2>&1; then
	ROOT=$top bash -c '. "$ROOT/deploy/lib/common.sh" && printf "%s\n" $PROGRAMS' \
	    >"$tmp/local" 2>&1
	same "deploy/local.sh (deploy/lib/common.sh PROGRAMS)" "$tmp/local"
fi

# flexhooks.target
target=$top/deploy/systemd/flexhooks.target
for kind in socket service; do
	grep '^Wants=' "$target" | grep -o "flexhooks@[a-z0-9-]*\.$kind" |
	    sed "s/^flexhooks@//; s/\.$kind\$//" >"$tmp/target-$kind"
	same "flexhooks.target ${kind}s" "$tmp/target-$kind"
done

# nginx/flexhooks.conf.in: the "# @program NAME" blocks, and the sockets
# each passes to ("# @bench" blocks are the bench's own)
tpl=$top/nginx/flexhooks.conf.in
awk '
/^[[:space:]]*# @program / { prog = $3; print prog > blocks; next }
/^[[:space:]]*# @bench([[:space:]]|$)/ { prog = "-"; next }
/^[[:space:]]*# @end/ { prog = ""; next }
/^[[:space:]]*#/ { next }
/fastcgi_pass|server unix:/ {
	# a location passes to its program'"'"'s upstream, fh_NAME with "_" for
	# "-"; the upstream (or a direct pass) names the socket NAME.sock
	sock = $0
	if (sock ~ /fastcgi_pass fh_/) {
		sub(/.*fastcgi_pass fh_/, "", sock); sub(/;.*/, "", sock)
		gsub(/_/, "-", sock)
	} else {
		sub(/.*@RUN_DIR@\//, "", sock); sub(/\.sock;.*/, "", sock)
	}
	if (prog == "-") next
	if (prog == "" || sock != prog)
		printf "line %d: passes to %s in the block of \"%s\"\n", NR, sock, prog
}' blocks="$tmp/blocks" "$tpl" >"$tmp/stray"
same "nginx/flexhooks.conf.in @program blocks" "$tmp/blocks"
if [ -s "$tmp/stray" ]; then
	bad "nginx/flexhooks.conf.in passes outside its program's block:"
	cat "$tmp/stray"
else
	ok "nginx/flexhooks.conf.in: each block passes only to its program's socket"
fi

# the sample configuration: healthz checks every other program's socket
sed -n 's/^FLEXHOOKS_HEALTH_SOCKETS=//p' "$top/deploy/flexhooks.env.sample" |
    tr ':' '\n' | sed -n 's|^/run/flexhooks/\(.*\)\.sock$|\1|p' >"$tmp/health"
echo healthz >>"$tmp/health"
same "deploy/flexhooks.env.sample FLEXHOOKS_HEALTH_SOCKETS (+ healthz)" "$tmp/health"

# .gitignore (not in the release tarball)
if [ -f "$top/.gitignore" ]; then
	grep -x 'cgi-bin/[a-z0-9-]*' "$top/.gitignore" | sed 's|^cgi-bin/||' \
	    >"$tmp/gitignore"
	same ".gitignore cgi-bin/NAME lines" "$tmp/gitignore"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
