/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi.h - what a program and its handlers use: requests, responses,
 * routes, the per-process context and the serve loop.
 *
 * The FastCGI layer is split by job:
 *   lib/fcgi_req.c    parsing a request (fcgi_req.h)
 *   lib/fcgi_resp.c   building and formatting a response (fcgi_resp.h)
 *   lib/fcgi_route.c  the route table: CORS, method, security, dispatch
 *                     (fcgi_route.h)
 *   lib/fcgi_serve.c  the context, the accept loop, signals, the
 *                     supervisor of FLEXHOOKS_PROCESSES children, and the
 *                     jobs run after an answer (declared here)
 * Only fcgi_serve.c touches libfcgi: the rest takes plain data, so tests and
 * fuzz targets drive it without a socket.
 *
 * struct fh_ctx is per process: nothing in it belongs to one request but
 * the jobs left for after the answer (fh_ctx_after()), which the serve
 * loop runs and forgets.  What a request is (and what its security check
 * found) lives in struct fh_req.
 */
#ifndef FH_FCGI_H
#define FH_FCGI_H

#include <stddef.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/err.h"
#include "lib/fcgi_req.h"
#include "lib/fcgi_resp.h"
#include "lib/fcgi_route.h"
#include "lib/form.h"
#include "lib/log.h"
#include "lib/rest.h"

struct fh_dedupe;
struct fh_ctx;

/* Work a handler leaves for after its answer has been written (and the
 * FastCGI request finished), so that nothing slow delays the answer: fn
 * runs with a copy of arg.  See fh_ctx_after(). */
#define FH_CTX_MAX_AFTER 4
#define FH_CTX_AFTER_ARG 64
struct fh_after {
	void (*fn)(struct fh_ctx *, const char *arg);
	char arg[FH_CTX_AFTER_ARG];
};

/* The per-process context every handler gets.  Borrowed by handlers. */
struct fh_ctx {
	const char	       *prog;
	const struct fh_config *cfg;
	struct fh_rest	       *rest;
	struct fh_log		log;
	long			deadline_ms; /* per request */
	/* the Flex token check (flex/token.c); NULL denies flex routes.  It
	 * sets req->auth: the result, and the token's identity when it
	 * accepts */
	enum fh_err (*token_check)(struct fh_ctx *, struct fh_req *);
	/* a setting of a feature the program needs but lacks
	 * (fh_config_unconfigured()): every route answers 503 "not
	 * configured: <variable>"; NULL when all is set */
	const char *unconfigured;
	/* the workspace of the current request's TaskRouter calls (an event's
	 * own, borrowed for the request); NULL: fh_config_default_workspace()
	 */
	const char *workspace;
	/* the program's table of webhook deliveries (dedupe.h), shared by
	 * its processes; NULL: no deduplication */
	struct fh_dedupe *dedupe;
	struct fh_after	  after[FH_CTX_MAX_AFTER];
	size_t		  nafter; /* jobs of this request */
};

/* Set up a program's context: load the configuration (exits the process
 * with status 1 and a log line naming the bad key on failure), check the
 * settings it needs (need: FH_NEED_*; a missing FH_NEED_FEATURES one only
 * sets ctx->unconfigured), create the REST client. */
void fh_ctx_init(
    struct fh_ctx *ctx, const char *prog, struct fh_config *cfg, unsigned need);

/* Free what fh_ctx_init() set up, and ctx->dedupe (fh_dedupe_free()). */
void fh_ctx_release(struct fh_ctx *ctx);

/* Leave fn(ctx, arg) for after this request's answer: the serve loop runs
 * it once the response has been written and the FastCGI request finished
 * (tests call fh_ctx_run_after()).  arg is copied (at most
 * FH_CTX_AFTER_ARG - 1 bytes); the same fn and arg twice count once.
 * FH_ETOOBIG when FH_CTX_MAX_AFTER jobs are already waiting or arg is
 * too long. */
enum fh_err fh_ctx_after(struct fh_ctx *ctx,
    void (*fn)(struct fh_ctx *, const char *), const char *arg) FH_MUST_CHECK;

/* Run the jobs left by fh_ctx_after(), in order, and forget them. */
void fh_ctx_run_after(struct fh_ctx *ctx);

/* In a process an after-job forked: let go of what belongs to the serve
 * loop: close the FastCGI connection it may keep for nginx's next request
 * (else nginx would not see it close while the child lives) and its
 * epoll descriptor, and restore the default handling of SIGTERM, SIGINT
 * and SIGHUP with no signal blocked (the loop blocks them). */
void fh_serve_detach(void);

/* The accept loop of a FastCGI program: runs until SIGTERM/SIGINT.  With
 * FLEXHOOKS_PROCESSES > 1 the calling process supervises that many
 * children running the loop on the same socket (restarted when they die,
 * SIGHUP passed on); the function returns in each of them too when it
 * stops, so the caller's clean-up runs in every process. */
int fh_main_loop(
    struct fh_ctx *ctx, const struct fh_route *routes, size_t nroutes);

#endif
