#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The house style bans these functions in every C file of the tree
# (docs/STYLE.md "Banned functions"); FastCGI calls belong to lib/fcgi*.c and
# getenv() to lib/config.c.
# shellcheck disable=SC2086 # $cfiles and $lib: word lists of paths
top=${FLEXHOOKS_SRCDIR:-$(dirname "$0")/../..}
cfiles=$(find "$top/lib" "$top/flex" "$top/handlers" "$top/cgi-bin" \
	"$top/tools" "$top/bench" "$top/tests" -name '*.[ch]' -type f | sort)
fail=0
hits=$(grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|gets|atoi|atol|atof|strtok|sscanf)[[:space:]]*\(' \
	$cfiles /dev/null | grep -vE '(snprintf|vsnprintf)[[:space:]]*\(' |
	grep -vE ':[0-9]+:[[:space:]]*(\*|/\*)')
if [ -n "$hits" ]; then
	echo "banned functions:"
	echo "$hits"
	fail=1
fi
lib=$(find "$top/lib" "$top/flex" "$top/handlers" "$top/cgi-bin" "$top/tools" \
	-name '*.[ch]' -type f | sort)
hits=$(grep -nE 'fcgi_stdio\.h|fcgiapp\.h|FCGX_' $lib /dev/null |
	grep -v '^[^:]*/lib/fcgi[a-z_]*\.[ch]:')
if [ -n "$hits" ]; then
	echo "FastCGI used outside lib/fcgi*.c:"
	echo "$hits"
	fail=1
fi
hits=$(grep -nE '\bgetenv[[:space:]]*\(' $lib /dev/null |
	grep -v '^[^:]*/lib/config\.[ch]:')
if [ -n "$hits" ]; then
	echo "getenv() outside lib/config.c:"
	echo "$hits"
	fail=1
fi
if [ "$fail" -ne 0 ]; then
	echo "0 passed, 1 failed"
	exit 1
fi
echo "1 passed, 0 failed"
