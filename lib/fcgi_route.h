/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi_route.h - the route table and fh_dispatch().
 *
 * A program lists its routes: an exact path, the security the route
 * requires (enum fh_auth), its flags (the methods it allows, FH_ALLOW_*,
 * and FH_ROUTE_* properties) and its handler.  fh_dispatch() finds the
 * route, answers CORS and the method check, checks the security, records
 * the outcome in req->auth, runs the handler and turns its error into the
 * JSON error answer.
 */
#ifndef FH_FCGI_ROUTE_H
#define FH_FCGI_ROUTE_H

#include <stddef.h>

#include "lib/err.h"
#include "lib/fcgi_req.h"
#include "lib/fcgi_resp.h"

#define FH_ALLOW_GET (1u << FH_M_GET)
#define FH_ALLOW_POST (1u << FH_M_POST)
#define FH_ALLOW_OPTIONS (1u << FH_M_OPTIONS)
#define FH_ALLOW_HEAD (1u << FH_M_HEAD) /* nginx drops the body */
#define FH_ALLOW_MASK ((1u << FH_M__MAX) - 1)
/* Route flags, in the same mask as the methods.  FORM_ONLY: the body must
 * be application/x-www-form-urlencoded; any other body (JSON, another type,
 * none) cannot be authenticated and answers 400 before the security
 * check (docs/design/taskrouter-events.md#event-callback).  CORS: the route is
 * called from a browser (the Flex plugin): every answer gets the CORS headers
 * of an allowed origin, another origin is refused with 403 before anything
 * else, and OPTIONS answers the preflight. */
#define FH_ROUTE_FORM_ONLY (1u << 16)
#define FH_ROUTE_CORS (1u << 17)

/* The security a route requires. */
enum fh_auth {
	FH_AUTH_UNSET = 0, /* denies everything */
	FH_AUTH_PUBLIC,
	FH_AUTH_TWILIO_SIG,
	FH_AUTH_TWILIO_SIG_BASIC,
	FH_AUTH_SIG_OR_BASIC,
	FH_AUTH_FLEX_TOKEN,
	FH_AUTH__MAX
};

struct fh_ctx;

typedef enum fh_err (*fh_handler)(
    struct fh_ctx *, const struct fh_req *, struct fh_resp *);

struct fh_route {
	const char  *path; /* matched exactly */
	enum fh_auth auth;
	unsigned     flags; /* FH_ALLOW_* | FH_ROUTE_* */
	fh_handler   handler;
};

/* Route one parsed request: find the route (404), answer CORS (a
 * FH_ROUTE_CORS route: 403 for an origin not allowed, 204 for the
 * preflight), check the method (405 with Allow), the body kind of a
 * FH_ROUTE_FORM_ONLY route (400), and security (403/503), run the handler,
 * and turn a handler error into the JSON error answer (not when the
 * handler streamed its answer: that one stands).  req->auth is reset,
 * then holds the check's outcome (and a Flex token's identity).  Returns
 * the error that decided the answer. */
enum fh_err fh_dispatch(struct fh_ctx *ctx, const struct fh_route *routes,
    size_t nroutes, struct fh_req *req, struct fh_resp *resp);

#endif
