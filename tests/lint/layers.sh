#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The layers of the tree (docs/STYLE.md "Layout"): every quoted include
# names its folder, and a folder includes only the folders below it:
#   lib/              lib/
#   flex/             lib/ flex/
#   handlers/X.[ch]   lib/ flex/ and its own header handlers/X.h
#                     (no handler includes another handler's header)
#   tools/            lib/ flex/ tools/
#   cgi-bin/          anything but tools/
# Each C file is one check; every offending include is listed.
top=${FLEXHOOKS_SRCDIR:-$(dirname "$0")/../..}
files=$(cd "$top" && find lib flex handlers tools cgi-bin -name '*.[ch]' \
	-type f | sort)
pass=0
fail=0
for f in $files; do
	dir=${f%%/*}
	base=${f##*/}
	base=${base%.*}
	case $dir in
	lib) allowed='lib/' ;;
	flex) allowed='lib/ flex/' ;;
	handlers) allowed="lib/ flex/ handlers/$base.h" ;;
	tools) allowed='lib/ flex/ tools/' ;;
	cgi-bin) allowed='lib/ flex/ handlers/ cgi-bin/' ;;
	*) allowed='' ;;
	esac
	bad=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' \
		"$top/$f" | while IFS= read -r inc; do
		ok=0
		for a in $allowed; do
			case $a in
			*/) case $inc in "$a"*) ok=1 ;; esac ;;
			*) [ "$inc" = "$a" ] && ok=1 ;;
			esac
		done
		if [ "$ok" -eq 0 ]; then
			case $inc in
			*/*) echo "$f: includes \"$inc\" (allowed: $allowed)" ;;
			*) echo "$f: includes \"$inc\", which names no folder" ;;
			esac
		fi
	done)
	if [ -n "$bad" ]; then
		echo "$bad"
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
