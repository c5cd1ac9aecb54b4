/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi_floor - the FastCGI floor of the benchmark (bench/run.sh;
 * bench/README.md).
 *
 *	fcgi_floor BODYFILE N
 *
 * A measuring instrument, not a part of flexhooks: N processes (this one
 * and N - 1 forked copies) run libfcgi's accept loop on fd 0, as the
 * programs do under spawn-fcgi, read and drop the request, and answer every
 * request with the bytes of BODYFILE (the document of nginx's static
 * baseline, fetched by bench/run.sh) as text/xml.  No parsing, no
 * signature, no log line: nginx in front of it pays exactly what it pays
 * for a flexhooks route (the same fastcgi_params, a unix-socket connection
 * per request), so its requests/s is the most any FastCGI route of this
 * stack can do on this machine, and the gap between it and nginx's own
 * `return 200` is the cost of the FastCGI hop, which no handler code can
 * remove.  The answer is built once, before the loop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "lib/buf.h"

#define BODY_MAX (64 * 1024)

int
main(int argc, char *argv[])
{
	static char  body[BODY_MAX], head[256], sink[8192];
	FCGX_Request r;
	FILE	    *f;
	long long    n, i;
	size_t	     blen;
	int	     hlen;

	if (argc != 3 ||
	    fh_parse_int(argv[2], strlen(argv[2]), 1, 256, &n) != FH_OK) {
		fprintf(stderr, "usage: fcgi_floor BODYFILE N\n");
		return 2;
	}
	if ((f = fopen(argv[1], "rb")) == NULL) {
		fprintf(stderr, "fcgi_floor: cannot read '%s'\n", argv[1]);
		return 2;
	}
	blen = fread(body, 1, sizeof(body), f);
	fclose(f);
	hlen = snprintf(head, sizeof(head),
	    "Status: 200 OK\r\n"
	    "Content-Type: text/xml; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n\r\n",
	    blen);
	if (blen == 0 || blen == sizeof(body) || hlen < 0 ||
	    (size_t)hlen >= sizeof(head)) {
		fprintf(stderr, "fcgi_floor: '%s' is empty or too large\n",
		    argv[1]);
		return 2;
	}
	for (i = 1; i < n; i++)
		if (fork() == 0)
			break;
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		while (FCGX_GetStr(sink, sizeof(sink), r.in) > 0)
			;
		FCGX_PutStr(head, hlen, r.out);
		FCGX_PutStr(body, (int)blen, r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
