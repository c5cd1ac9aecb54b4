#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every C file of the tree is laid out as .clang-format says (docs/STYLE.md
# "Layout").  Fix with `make format`.  The layout is that of Debian 12's
# clang-format (14); another version may place a few lines differently.
top=${FLEXHOOKS_SRCDIR:-$(dirname "$0")/../..}
if ! command -v clang-format >/dev/null 2>&1; then
	echo "clang-format is not installed (deploy/local.sh test installs it)"
	echo "0 passed, 1 failed"
	exit 1
fi
bad=0
for f in $(find "$top/lib" "$top/flex" "$top/handlers" "$top/cgi-bin" \
	"$top/tools" "$top/bench" "$top/tests/unit" "$top/tests/fuzz" \
	-name '*.[ch]' -type f | sort); do
	if ! clang-format --style=file:"$top/.clang-format" "$f" |
		cmp -s "$f" -; then
		echo "not formatted: ${f#"$top"/}"
		bad=$((bad + 1))
	fi
done
if [ "$bad" -ne 0 ]; then
	echo "$bad files differ from clang-format; run make format"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "1 passed, 0 failed"
