#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# nginx/make-site.sh: write the production nginx site file
# (/etc/nginx/sites-available/flexhooks in the Debian package) from the
# local stack's template, so that both serve the same locations with the
# same security (auth_basic and FLEXHOOKS_BASIC_VERIFIED only where the
# route table says "Basic auth", the JSON error pages, the rate limit).
#
#   nginx/make-site.sh [TEMPLATE] > flexhooks-site.conf
#
# Environment (defaults are the Debian package's paths):
#   FLEXHOOKS_SITE_RUN_DIR     program sockets          /run/flexhooks
#   FLEXHOOKS_SITE_HTPASSWD    htpasswd file            /etc/flexhooks/htpasswd
#   FLEXHOOKS_SITE_ASSETS_DIR  static files, /assets/   /usr/share/flexhooks/assets/
#   FLEXHOOKS_SITE_LOG_DIR     nginx logs               /var/log/nginx
#   FLEXHOOKS_SITE_CONF_DIR    fastcgi_params           /etc/nginx
#   FLEXHOOKS_SITE_NGINX_WORKERS  the system nginx's worker_processes   0
#   FLEXHOOKS_SITE_PROCESSES      every program's FLEXHOOKS_PROCESSES   4
#
# FastCGI keep-alive (the template's "# @keep-conn" and "# @keepalive"):
# each nginx worker keeps at most K = (P - 1) / W idle connections per
# program, so that W x K stays below the P processes of a program and one
# of them always accepts.  The system nginx's worker_processes is not known
# when the package is built ("auto" counts the CPUs), so by default (W = 0)
# the site has no keep-alive: a connection per request, as before.
#
# The site file is included in the http{} block of the system nginx.conf,
# so the template is rearranged: its http-level "map", "limit_req_zone"
# and "log_format" stay at http level (names prefixed fh_/flexhooks), every
# other http-level setting moves into the server blocks (it would change
# other sites otherwise), the temp paths, pid, user and events are dropped
# (the system's apply), and the template's "listen" is replaced by port 443
# with TLS plus a port-80 server that redirects to https except for
# /.well-known/acme-challenge/ (certbot --webroot).  Every program's
# locations are kept; the "# @bench" blocks (bench/run.sh's) are not.
set -eu

template=${1:-$(dirname "$0")/flexhooks.conf.in}
[ -r "$template" ] || {
	printf 'make-site.sh: cannot read %s\n' "$template" >&2
	exit 1
}

exec awk \
    -v run_dir="${FLEXHOOKS_SITE_RUN_DIR:-/run/flexhooks}" \
    -v htpasswd="${FLEXHOOKS_SITE_HTPASSWD:-/etc/flexhooks/htpasswd}" \
    -v assets="${FLEXHOOKS_SITE_ASSETS_DIR:-/usr/share/flexhooks/assets/}" \
    -v log_dir="${FLEXHOOKS_SITE_LOG_DIR:-/var/log/nginx}" \
    -v conf_dir="${FLEXHOOKS_SITE_CONF_DIR:-/etc/nginx}" \
    -v workers="${FLEXHOOKS_SITE_NGINX_WORKERS:-0}" \
    -v procs="${FLEXHOOKS_SITE_PROCESSES:-4}" '
function subst(s) {
	gsub(/@RUN_DIR@/, run_dir, s)
	gsub(/@HTPASSWD@/, htpasswd, s)
	gsub(/@ASSETS_DIR@/, assets, s)
	gsub(/@NGINX_CONF_DIR@/, conf_dir, s)
	gsub(/@FLEX_RATE@/, "20r/s", s)
	gsub(/@ACCESS_LOG@/, log_dir "/flexhooks-access.log", s)
	gsub(/@ERROR_LOG@/, log_dir "/flexhooks-error.log", s)
	if (keepalive > 0)
		sub(/# @keepalive$/, "keepalive " keepalive ";", s)
	return s
}
# Comments and blank lines wait in pend[] and go with the next directive.
function flush(dest,   i) {
	for (i = 0; i < np; i++) {
		if (dest == "g")
			glob[ng++] = pend[i]
		else
			http[nh++] = pend[i]
	}
	np = 0
}
# state: 0 before http{}, 1 http level, 2 inside server{}, 3 after it
BEGIN {
	state = 0; ng = 0; nh = 0; ns = 0; np = 0; blk = ""
	keepalive = workers + 0 > 0 ? int((procs - 1) / workers) : 0
}
{
	line = $0
	if (state == 0) {
		if (line ~ /^http[ \t]*\{/)
			state = 1
		next
	}
	if (state == 1) {
		if (blk != "") {	# continuation of a global directive
			glob[ng++] = subst(line)
			if ((blk == "map" && line ~ /^\t}/) ||
			    (blk == "stmt" && line ~ /;[ \t]*$/))
				blk = ""
			next
		}
		if (line ~ /^\tserver[ \t]*\{/) {
			np = 0
			state = 2
			next
		}
		if (line ~ /^\t# @keep-conn$/ && keepalive > 0) {
			flush("h")
			http[nh++] = "\tfastcgi_keep_conn on;"
			next
		}
		if (line ~ /^[ \t]*#/ || line ~ /^[ \t]*$/) {
			pend[np++] = subst(line)
			next
		}
		if (line ~ /^\t(map|upstream)[ \t]/) {
			flush("g")
			glob[ng++] = subst(line)
			blk = "map"
			next
		}
		if (line ~ /^\t(log_format|limit_req_zone)[ \t]/) {
			flush("g")
			glob[ng++] = subst(line)
			if (line !~ /;[ \t]*$/)
				blk = "stmt"
			next
		}
		# every other http setting moves into the servers; temp paths
		# belong to the system nginx
		if (line ~ /_temp_path[ \t]/) {
			np = 0
			next
		}
		flush("h")
		http[nh++] = subst(line)
		next
	}
	if (state == 2) {
		# the "# @bench" blocks exist for bench/run.sh only
		if (line ~ /^[ \t]*# @bench([ \t]|$)/) {
			inbench = 1
			next
		}
		if (inbench) {
			if (line ~ /^[ \t]*# @end/)
				inbench = 0
			next
		}
		if (line ~ /^\t}/) {
			state = 3
			next
		}
		if (line ~ /^\t\t(listen|server_name)[ \t]/)
			next
		srv[ns++] = subst(line)
		next
	}
}
END {
	if (state != 3) {
		print "make-site.sh: no http { server { ... } } in the template" > "/dev/stderr"
		exit 1
	}
	print "# flexhooks: nginx site for the Debian package (TLS on port 443)."
	print "#"
	print "# GENERATED by nginx/make-site.sh from nginx/flexhooks.conf.in at build"
	print "# time: change the template, not this file (the locations, their"
	print "# security and the JSON error pages are the local stack'"'"'s, unchanged)."
	print "#"
	print "# Installed as /etc/nginx/sites-available/flexhooks and NOT enabled."
	print "# To enable it:"
	print "#   1. replace every flexhooks.example.com below by your host name"
	print "#      (server_name and the certificate paths): the lines marked CHANGE;"
	print "#   2. get a certificate, e.g. with certbot --webroot -w /var/www/html"
	print "#      (the port-80 server serves /.well-known/acme-challenge/ from there);"
	print "#   3. create the htpasswd file " htpasswd " (group www-data, 0640)"
	print "#      with a {SSHA} hash, not apr1 or bcrypt: nginx hashes the password"
	print "#      on every request (README, Basic-auth credentials);"
	print "#   4. ln -s ../sites-available/flexhooks /etc/nginx/sites-enabled/flexhooks"
	print "#      && nginx -t && systemctl reload nginx"
	print "# The programs listen on " run_dir "/PROGRAM.sock (systemd:"
	print "# systemctl start flexhooks.target)."
	print ""
	print "# ---- http-level definitions (names are flexhooks-specific)"
	for (i = 0; i < ng; i++)
		print substr(glob[i], 2)
	print ""
	print "# ---- port 80: ACME http-01 challenges, everything else to https"
	print "server {"
	print "\tlisten 80;\t\t\t\t# CHANGE if needed"
	print "\tlisten [::]:80;"
	print "\tserver_name flexhooks.example.com;\t# CHANGE"
	print "\tserver_tokens off;"
	print "\taccess_log " log_dir "/flexhooks-access.log flexhooks;"
	print ""
	print "\tlocation ^~ /.well-known/acme-challenge/ {"
	print "\t\troot /var/www/html;\t\t# certbot --webroot -w /var/www/html"
	print "\t\tdefault_type text/plain;"
	print "\t}"
	print "\tlocation / {"
	print "\t\treturn 301 https://$host$request_uri;"
	print "\t}"
	print "}"
	print ""
	print "# ---- port 443: the flexhooks routes"
	print "server {"
	print "\tlisten 443 ssl;\t\t\t\t# CHANGE if needed"
	print "\tlisten [::]:443 ssl;"
	print "\tserver_name flexhooks.example.com;\t# CHANGE"
	print ""
	print "\t# CHANGE: your certificate (certbot: /etc/letsencrypt/live/HOST/)"
	print "\tssl_certificate /etc/letsencrypt/live/flexhooks.example.com/fullchain.pem;"
	print "\tssl_certificate_key /etc/letsencrypt/live/flexhooks.example.com/privkey.pem;"
	print "\tssl_protocols TLSv1.2 TLSv1.3;"
	print "\tssl_prefer_server_ciphers off;"
	print "\tssl_session_cache shared:fh_ssl:1m;"
	print "\tssl_session_timeout 1d;"
	print "\tssl_session_tickets off;"
	print "\tadd_header Strict-Transport-Security \"max-age=31536000\" always;"
	print "\terror_log " log_dir "/flexhooks-error.log crit;	# no request lines: see the template"
	print ""
	print "\t# ---- the template'"'"'s http-level settings, for this server only"
	for (i = 0; i < nh; i++)
		print http[i]
	print ""
	print "\t# ---- the template'"'"'s server block"
	for (i = 0; i < ns; i++)
		print substr(srv[i], 2)
	print "}"
}
' "$template"
