/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token.h - Flex token validation (docs/design/platform.md#flex-token).
 *
 * The token is the Token field of the form or JSON body (never the query
 * string: tokens must not reach access logs).  It is checked with Twilio
 * IAM; accepted results are cached per process, keyed by the hex SHA-256
 * of the token (the token itself is never stored or logged), until the
 * earlier of its expiration and 5 minutes.  The cache has
 * FH_TOKEN_CACHE_SIZE entries; when full, the entry that expires first
 * goes.  So that a client without a valid token cannot multiply IAM calls:
 * IAM's rejections are remembered (by hash) for FH_TOKEN_REJECT_MS in a
 * table of their own, an IAM 429 is retried once at most, and after a
 * 429 the process does not ask IAM again for its Retry-After
 * (FH_TOKEN_COOL_MIN_MS to FH_TOKEN_COOL_MAX_MS), answering 503 for
 * tokens it does not have cached.
 */
#ifndef FH_TOKEN_H
#define FH_TOKEN_H

#include "lib/err.h"
#include "lib/fcgi.h"

#define FH_TOKEN_CACHE_SIZE 256
#define FH_TOKEN_CACHE_MAX_MS (5 * 60 * 1000)
#define FH_TOKEN_MAX_LEN 8192
#define FH_TOKEN_REJECT_SIZE 256
#define FH_TOKEN_REJECT_MS (60 * 1000)
#define FH_TOKEN_COOL_MIN_MS 1000
#define FH_TOKEN_COOL_MAX_MS (30 * 1000)

/* The FH_AUTH_FLEX_TOKEN check, installed as ctx->token_check.  On FH_OK
 * req->auth.token holds the identity, worker SID and roles.  FH_ETOKEN (403)
 * for a missing, empty or invalid token; FH_EUNAVAIL (503) when IAM gives
 * no usable answer; FH_ENOMEM.  Sets req->auth.result.  Borrows ctx and req
 * for the call; nothing of the token is kept but its hash. */
enum fh_err fh_token_check(
    struct fh_ctx *ctx, struct fh_req *req) FH_MUST_CHECK;

/* Parse an IAM answer (status, body) into info; FH_OK for valid:true with
 * a 2xx status, FH_ETOKEN for valid:false, FH_EUNAVAIL otherwise.  *exp_ms
 * is the expiration in ms since the epoch, 0 when absent or unreadable.
 * Exposed for tests and the fuzz target. */
enum fh_err fh_token_parse(long status, const char *body, size_t len,
    struct fh_token_info *info, long long *exp_ms) FH_MUST_CHECK;

/* Forget every cached result (tests). */
void fh_token_cache_clear(void);

#endif
