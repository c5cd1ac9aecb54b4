#!/bin/sh
# The house style bans these functions in C code (STYLE.md section 5).
top=${FLEXHOOKS_SRCDIR:-$(dirname "$0")/../..}
hits=$(grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|gets|atoi|atol|atof|strtok|sscanf)[[:space:]]*\(' \
	"$top"/common/*.c "$top"/common/*.h "$top"/cgi-bin/*.c 2>/dev/null |
	grep -vE '(snprintf|vsnprintf)[[:space:]]*\(' | grep -vE ':[[:space:]]*(\*|/\*)')
if [ -n "$hits" ]; then
	echo "banned functions:"
	echo "$hits"
	echo "0 passed, 1 failed"
	exit 1
fi
if grep -nE 'fcgi_stdio\.h|FCGX_' "$top"/common/*.c | grep -v '^[^:]*fcgi\.c:' >/dev/null; then
	echo "FCGX used outside common/fcgi.c"
	echo "0 passed, 1 failed"
	exit 1
fi
if grep -nE '\bgetenv[[:space:]]*\(' "$top"/common/*.c | grep -v '^[^:]*config\.c:' >/dev/null; then
	echo "getenv() outside common/config.c"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "1 passed, 0 failed"
