# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# deploy/lib/common.sh: what every flexhooks script shares: the paths under
# .local/, messages, the Debian packages, the build, the program list.
# Sourced (by deploy/local.sh, tests/run.sh, tests/deb/run.sh) after ROOT
# is set to the project root; ME names the script in messages.
# shellcheck disable=SC2034 # the variables are for the scripts that source this

# Debian packages: "package" or "package=command" (satisfied when the command
# exists, whichever package provides it: nginx flavours conflict, and node may
# come from NodeSource).
BASE_PACKAGES="autoconf automake pkg-config=pkg-config make gcc libc6-dev
libfcgi-dev libcurl4-openssl-dev libjson-c-dev libssl-dev check
nginx-light=nginx spawn-fcgi python3=python3 curl openssl ca-certificates
valgrind clang libclang-rt-dev procps clang-format=clang-format
shellcheck=shellcheck"

umask 022
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
shopt -u patsub_replacement 2>/dev/null || true

: "${ROOT:?ROOT must be set before sourcing deploy/lib/common.sh}"
ME=${ME:-local.sh}
LOCAL=$ROOT/.local
RUN_DIR=$LOCAL/run
LOG_DIR=$LOCAL/log
NGINX_DIR=$LOCAL/nginx
NGINX_CONF=$NGINX_DIR/nginx.conf
ENV_FILE=$LOCAL/flexhooks.env
BASIC_FILE=$LOCAL/basic_auth
STATE_FILE=$RUN_DIR/stack.state
TEMPLATE=$ROOT/nginx/flexhooks.conf.in
EMULATOR=$ROOT/tests/twilio-emulator/emulator.py
NGINX_CONF_DIR=/etc/nginx

# Fixed fake identity for the emulator when the caller gives none.
FAKE_ACCOUNT_SID=ACf1e8c0de000000000000000000000001
FAKE_WORKSPACE_SID=WSf1e8c0de000000000000000000000001
FAKE_WORKFLOW_SID=WWf1e8c0de000000000000000000000001
# The test stack's second workspace, the dialer's "Call Router"
# (tests/integration/test_dialer_workspaces.py seeds it in the emulator).
FAKE_DIALER_WORKSPACE_SID=WSf1e8c0de000000000000000000000002

# Variables of this script (or of the tests) that are not program settings.
LOCAL_ONLY_VARS="FLEXHOOKS_EMULATOR FLEXHOOKS_EMULATOR_URL FLEXHOOKS_CACHE
FLEXHOOKS_PRISM FLEXHOOKS_ROOT FLEXHOOKS_LOG_DIR FLEXHOOKS_BUILD_DIR
FLEXHOOKS_CONFIG FLEXHOOKS_TEST_STACK FLEXHOOKS_TEST_SANITIZERS
FLEXHOOKS_HEALTH_SOCKETS FLEXHOOKS_TESTS FLEXHOOKS_PROGRAM_PROCESSES
FLEXHOOKS_EMULATOR_LATENCY_MS FLEXHOOKS_EMULATOR_REQUEST_LOG FLEXHOOKS_BENCH
FLEXHOOKS_TEST_DEB FLEXHOOKS_DEB_HTTPS_PORT FLEXHOOKS_DEB_HTTP_PORT
FLEXHOOKS_DEB_SYSTEMD FLEXHOOKS_NGINX_FLEX_RATE FLEXHOOKS_LOAD_JOURNEYS
FLEXHOOKS_CLIENT_MODULES FLEXHOOKS_NGINX_KEEPALIVE"

# The FastCGI programs (cgi-bin/NAME): Makefile.am's pkglibexec_PROGRAMS is
# the one list (tests/lint/programs.sh checks the units, the nginx template,
# the sample configuration and .gitignore against it).  Only those that
# are built are started; nginx gets locations only for them
# (nginx/flexhooks.conf.in "# @program").
programs_of_makefile() {
	sed -n '/^pkglibexec_PROGRAMS/,/[^\\]$/p' "$ROOT/Makefile.am" |
	    grep -o 'cgi-bin/[a-z0-9-]*' | sed 's|^cgi-bin/||'
}
# healthz first: it answers for the others
PROGRAMS=$({ programs_of_makefile | grep -x healthz; programs_of_makefile | grep -vx healthz; } | tr '\n' ' ')
PROGRAMS=${PROGRAMS% }
[ -n "$PROGRAMS" ] || { printf '%s: error: no pkglibexec_PROGRAMS in %s\n' "$ME" "$ROOT/Makefile.am" >&2; exit 1; }

say() { printf '%s: %s\n' "$ME" "$*"; }
warn() { printf '%s: warning: %s\n' "$ME" "$*" >&2; }
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }
phase() { printf '\n======== %s ========\n' "$*"; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# htpasswd_line USER:PASSWORD: the htpasswd line nginx checks the pair
# against, salted SHA-1 ({SSHA}), not apr1 or bcrypt: nginx hashes the
# password on every request, and apr1's 1000 MD5 rounds cost a worker
# about 185 us each time (bench/README.md: the hold loop fell from 18,227
# to 6,642 req/s).  A slow hash buys nothing here: the same password sits
# in plain text in the programs' configuration (FLEXHOOKS_BASIC_AUTH, for
# the URLs handed to Twilio).  The README's production set-up writes the
# same line.
htpasswd_line() {
	local salt
	salt=$(openssl rand -hex 8)
	printf '%s:{SSHA}%s\n' "${1%%:*}" "$({
		printf '%s' "${1#*:}$salt" | openssl dgst -sha1 -binary
		printf '%s' "$salt"
	} | openssl base64 -A)"
}

# ---------------------------------------------------------------- settings

PORT=${FLEXHOOKS_PORT:-8080}
check_port_setting() {
	case $PORT in
	'' | *[!0-9]*) die "FLEXHOOKS_PORT '$PORT' is not a port number" ;;
	esac
	if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65534 ]; then
		die "FLEXHOOKS_PORT '$PORT' is out of range (1-65534)"
	fi
	EMU_PORT=$((PORT + 1))
	EMU_URL=http://127.0.0.1:$EMU_PORT
}

# nginx takes these paths unquoted, and unix socket paths are short.
check_paths() {
	case $ROOT in
	*[!A-Za-z0-9._/+-]*)
		die "project path '$ROOT' has characters nginx.conf cannot take; move the checkout" ;;
	esac
	local longest=$RUN_DIR/twiml-redirect-call.sock
	if [ "${#longest}" -gt 100 ]; then
		die "project path '$ROOT' is too long for unix socket paths (max ~70 characters)"
	fi
}

# ---------------------------------------------------------------- packages

missing_packages() {
	local spec pkg cmd
	for spec in "$@"; do
		pkg=${spec%%=*}
		cmd=
		[ "$pkg" = "$spec" ] || cmd=${spec#*=}
		if [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then
			continue
		fi
		if dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null |
		    grep -q '^ii'; then
			continue
		fi
		printf '%s\n' "$pkg"
	done
}

ensure_packages() {
	local missing
	if ! command -v dpkg-query >/dev/null 2>&1; then
		warn "not a Debian system: cannot check packages; continuing"
		return 0
	fi
	# shellcheck disable=SC2086 # word list
	missing=$(missing_packages $BASE_PACKAGES | tr '\n' ' ')
	missing=${missing% }
	[ -n "$missing" ] || return 0
	if ! is_root; then
		printf 'local.sh: missing Debian packages; as root, run:\n' >&2
		printf '  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y %s\n' \
		    "$missing" >&2
		exit 1
	fi
	say "installing Debian packages: $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086 # word list
	apt-get install -y -q $missing
}

# Packages only some tests need (node/npm for Prism): a failure is a warning.
ensure_optional_packages() {
	local missing
	command -v dpkg-query >/dev/null 2>&1 || return 0
	missing=$(missing_packages "$@" | tr '\n' ' ')
	missing=${missing% }
	[ -n "$missing" ] || return 0
	if ! is_root; then
		warn "missing optional packages ($missing): as root, run apt-get install -y $missing"
		return 0
	fi
	say "installing Debian packages: $missing"
	# shellcheck disable=SC2086 # word list
	if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing; }; then
		warn "cannot install $missing"
	fi
}

# ---------------------------------------------------------------- build

# build_tree DIR FLAGS...: autoreconf/configure as needed, then make.  The
# configure flags used are remembered so that a change reconfigures.
build_tree() {
	local dir=$1 stamp
	shift
	stamp=$LOCAL/configure-flags.$(basename "$dir")
	[ "$dir" = "$ROOT" ] && stamp=$LOCAL/configure-flags
	[ -f "$dir/configure.ac" ] || die "no configure.ac in '$dir': nothing to build yet"
	mkdir -p "$LOCAL"
	if [ ! -x "$dir/configure" ]; then
		say "autoreconf -fi (in $dir)"
		(cd "$dir" && autoreconf -fi) || die "autoreconf failed in '$dir'"
	fi
	if [ ! -f "$dir/Makefile" ] || [ ! -f "$stamp" ] ||
	    [ "$(cat "$stamp")" != "$*" ]; then
		say "./configure${*:+ $*} (in $dir)"
		rm -f "$stamp"
		(cd "$dir" && ./configure "$@") || die "configure failed in '$dir'"
		printf '%s' "$*" >"$stamp"
	fi
	say "make -j2 (in $dir)"
	make -C "$dir" -j2 || die "build failed in '$dir'"
}

configure_flags() {
	local -a flags=()
	if [ -n "${CONFIGURE_FLAGS+set}" ]; then
		read -r -a flags <<<"$CONFIGURE_FLAGS"
	elif [ "${CI:-}" = true ]; then
		flags=(--enable-werror)
	fi
	[ "${#flags[@]}" -eq 0 ] || printf '%s\n' "${flags[@]}"
}

