#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every source file carries "SPDX-License-Identifier: Apache-2.0" in its
# first three lines (LICENSE; debian/copyright): C, shell, Python,
# JavaScript, the build files, the nginx template, the systemd units and
# the Debian maintainer scripts.  Data (goldens, fixtures, seeds) is not
# source.
top=${FLEXHOOKS_SRCDIR:-$(dirname "$0")/../..}
files=$(
	find "$top/lib" "$top/flex" "$top/handlers" "$top/cgi-bin" \
	    "$top/tools" "$top/bench" "$top/tests" "$top/deploy" "$top/nginx" \
	    -type f \( -name '*.[ch]' -o -name '*.sh' -o -name '*.py' \
	    -o -name '*.js' -o -name '*.mjs' -o -name '*.conf.in' \
	    -o -name '*.socket' -o -name '*.service' -o -name '*.target' \) \
	    -not -path '*/node_modules/*' -not -path '*/tests/fuzz/bin/*' \
	    -not -path '*/.deps/*'
	for f in Makefile.am configure.ac .ci/run deploy/local.sh \
	    debian/rules debian/postinst debian/prerm debian/postrm; do
		[ ! -f "$top/$f" ] || echo "$top/$f"
	done
)
n=0
bad=0
for f in $files; do
	n=$((n + 1))
	if ! head -n 3 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0'; then
		echo "no SPDX line: ${f#"$top"/}"
		bad=$((bad + 1))
	fi
done
if [ "$bad" -ne 0 ]; then
	echo "$((n - bad)) passed, $bad failed"
	exit 1
fi
echo "$n passed, 0 failed"
