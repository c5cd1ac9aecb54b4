/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fh_stub.h - a scripted HTTP server on 127.0.0.1 for the unit tests that
 * drive the REST client (check_rest, check_requeue, check_token,
 * check_status_callback): the one copy of the "tiny forked server".
 *
 * fh_stub_open() binds a loopback port the kernel picks (stub->port);
 * fh_stub_start() forks the server, which answers the i-th request it reads
 * with the i-th step of the script (418 and an empty body past its end) and
 * records every request, before answering it, in a file the test reads at
 * any time with fh_stub_load().  fh_stub_stop() kills the server and frees
 * everything; it is safe on a stub never opened (all zero) or stopped.
 * Each answer is "HTTP/1.1 <status> Scripted" with Content-Type:
 * application/json, Content-Length, Connection: close unless the step
 * keeps the connection, then the step's extra header lines.  Failures are
 * Check assertions.  The server never outlives its test by more than
 * FH_STUB_ALARM_S seconds.
 */
#ifndef FH_STUB_H
#define FH_STUB_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "lib/config.h"

#define FH_STUB_ALARM_S 120

struct fh_stub;

/* A body computed in the server process when the step is reached, from
 * the requests read so far (fh_stub_load() works there too; the current
 * request is the last); heap text or NULL for an empty body. */
typedef char *(*fh_stub_body_fn)(struct fh_stub *stub, void *arg);

struct fh_stub_step {
	int		status;
	const char     *headers;  /* extra lines, each ending "\r\n", or NULL */
	const char     *body;	  /* NULL: empty */
	fh_stub_body_fn body_fn;  /* when set, the body instead of body */
	void	       *arg;	  /* body_fn's */
	int		drop;	  /* read the request, close, no answer */
	int		keep;	  /* leave the connection open */
	int		delay_ms; /* wait before answering */
	const char     *need;	  /* fh_stub_matches(): must be in it */
	const char     *forbid;	  /* fh_stub_matches(): must not be */
};

/* One recorded request. */
struct fh_stub_req {
	const char *text; /* the whole request, NUL-terminated */
	size_t	    len;
	size_t	    hlen;   /* the head, blank line included */
	int	    reused; /* came on a connection an earlier one kept */
};

struct fh_stub {
	int			   port;
	pid_t			   pid; /* the server, once started */
	int			   ls;	/* listening socket until started */
	FILE			  *rec; /* the requests, appended */
	const struct fh_stub_step *steps;
	size_t			   nsteps;
	struct fh_stub_req	  *reqs; /* fh_stub_load()'s */
	size_t			   nreqs;
	char			  *data;   /* what reqs point into */
	char			  *joined; /* fh_stub_text()'s */
};

/* A TCP socket bound to 127.0.0.1 on a port the kernel picks (*port),
 * listening with backlog unless backlog is negative. */
int fh_stub_socket(int backlog, int *port);

/* Bind the server's port (stub->port) and open its record. */
void fh_stub_open(struct fh_stub *stub);

/* Fork the server for the script steps[0..n) (the server has its own
 * copy; fh_stub_matches() reads the array, which must then still be
 * there). */
void fh_stub_start(
    struct fh_stub *stub, const struct fh_stub_step *steps, size_t n);

/* fh_stub_open() then fh_stub_start(). */
void fh_stub_run(
    struct fh_stub *stub, const struct fh_stub_step *steps, size_t n);

/* Write the server's base URL ("http://127.0.0.1:PORT") into url (len
 * bytes, which must outlive cfg's use) and point every base of cfg at
 * it. */
void fh_stub_point(
    const struct fh_stub *stub, struct fh_config *cfg, char *url, size_t len);

/* Read the record again: the number of requests so far, each in
 * stub->reqs (valid until the next load, fh_stub_text() or stop). */
size_t fh_stub_load(struct fh_stub *stub);

/* Every request so far, each followed by sep (valid as above). */
const char *fh_stub_text(struct fh_stub *stub, const char *sep);

/* Whether loaded request i has its step's need and not its forbid. */
int fh_stub_matches(const struct fh_stub *stub, size_t i);

/* Kill the server, free and close everything; the stub is all zero
 * after it. */
void fh_stub_stop(struct fh_stub *stub);

#endif
