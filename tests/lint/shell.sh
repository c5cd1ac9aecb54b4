#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The shellcheck lint: shellcheck over every shell script of the tree
# (.shellcheckrc holds the settings): the stack and its libraries
# (deploy/), the test runners and lints (tests/, every *.sh),
# nginx/make-site.sh, bench/run.sh, .ci/run and the Debian maintainer
# scripts (postinst, prerm, postrm).  .ci/ and debian/ are not in the
# release tarball: there they are left out.  One line per script; a
# finding fails the script.
top=${FLEXHOOKS_SRCDIR:-$(dirname "$0")/../..}
if ! command -v shellcheck >/dev/null 2>&1; then
	echo "shellcheck is not installed (deploy/local.sh test installs it)"
	echo "0 passed, 1 failed"
	exit 1
fi
cd "$top" || exit 1
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
pass=0 fail=0
files=$(find deploy tests nginx bench -name '*.sh' -type f | LC_ALL=C sort)
for f in .ci/run debian/postinst debian/prerm debian/postrm; do
	[ ! -f "$f" ] || files="$files $f"
done
for f in $files; do
	# -x: follow ". file" (deploy/lib/*.sh), paths from the top
	if shellcheck -x "$f" >"$tmp" 2>&1; then
		pass=$((pass + 1))
		echo "ok: $f"
	else
		fail=$((fail + 1))
		echo "FAIL: $f"
		cat "$tmp"
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
