/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rest.h - the Twilio REST client over libcurl.
 *
 * One struct fh_rest per process.  It keeps one curl easy handle per base
 * (API, TaskRouter, IAM) and reuses them, so connections to Twilio stay
 * alive between requests.  It authenticates every request with Basic auth
 * (API_KEY:API_SECRET when both are set, else ACCOUNT_SID:AUTH_TOKEN), sends
 * Accept: application/json and User-Agent: flexhooks/<version>, and applies
 * the retry policy of docs/design/platform.md#retries-and-deadlines (429
 * always, honouring Retry-After; 502/503/504 and timeouts after the request was
 * sent only when the request is idempotent; connection never made: always;
 * exponential backoff with full jitter) under one overall deadline set per
 * webhook with fh_rest_set_deadline().
 *
 * Results come back in a struct fh_rest_resp that the caller provides and
 * releases with fh_rest_resp_release().  Twilio's error bodies are parsed
 * into resp->twerr.  The client borrows cfg and log for its whole life.
 */
#ifndef FH_REST_H
#define FH_REST_H

#include <stdint.h>

#include "lib/buf.h"
#include "lib/clock.h" /* deadlines are fh_now_ms() */
#include "lib/config.h"
#include "lib/err.h"
#include "lib/log.h"

#define FH_REST_MAX_RESPONSE (1024 * 1024) /* JSON answers */
#define FH_REST_MAX_MEDIA (16 * 1024 * 1024)
#define FH_REST_STREAM_MS (15 * 60 * 1000) /* a streamed body, at most */
#define FH_REST_STALL_S 30 /* a streamed body that stops this long */
#define FH_REST_CONNECT_MS 2000
#define FH_REST_MAX_URL 8192  /* base + path + query */
#define FH_REST_JSON_DEPTH 16 /* nesting of a Twilio error body */

enum fh_rest_base {
	FH_REST_API = 0,    /* https://api.twilio.com */
	FH_REST_TASKROUTER, /* https://taskrouter.twilio.com */
	FH_REST_IAM,	    /* https://iam.twilio.com */
	FH_REST__MAX
};

/* Twilio's error answer.  code is 0 and the strings empty when the body had
 * none (a 412, an HTML page from a proxy). */
struct fh_twerr {
	int  status;	   /* HTTP status, 0 when none came */
	int  code;	   /* Twilio error code or 0 */
	char message[256]; /* for the log only */
	char more_info[256];
	char retry_after[32]; /* Retry-After header as received */
};

struct fh_rest_resp {
	long		status;	   /* final HTTP status, 0 if none */
	struct fh_buf	body;	   /* raw body, capped */
	char		etag[128]; /* ETag header, "" when none */
	char		content_type[128];
	long long	content_length; /* Content-Length, -1 when none */
	struct fh_twerr twerr;		/* filled when status is not 2xx */
	int		resent;		/* an earlier attempt may have reached
					 * Twilio (retried after 502/503/504 or
					 * a failure after sending): a 404, or a
					 * 400 with 20001, may mean it landed */
};

/* One request.  path starts with '/' and is appended to the base URL;
 * query (may be NULL) is an already encoded query string without '?';
 * body (may be NULL) is sent with content_type (form when NULL and body is
 * set); if_match (may be NULL) adds If-Match.  idempotent follows the table
 * of docs/design/platform.md#retries-and-deadlines. */
struct fh_rest_req {
	enum fh_rest_base base;
	const char	 *method; /* "GET", "POST", "DELETE" */
	const char	 *path;
	const char	 *query;
	const char	 *body;
	size_t		  body_len;
	const char	 *content_type;
	const char	 *if_match;
	int		  idempotent;
	size_t		  max_response;	    /* 0 = FH_REST_MAX_RESPONSE */
	int		  follow_redirects; /* media: at most 3, https
					     * only, no credentials to another
					     * host */
	unsigned max_429_retries;	    /* 0: TWILIO_SERVICE_RETRY_LIMIT
					     * applies to 429s too; N: at most N
					     * retries after a 429 */
	/*
	 * A streamed answer (media): when sink is set, the body of the final
	 * 2xx answer goes to sink piece by piece, in order, instead of into
	 * resp->body (error answers are still buffered and parsed).  The
	 * first call comes after that answer's headers, so head->status,
	 * content_type and content_length are known.  A return other than
	 * FH_OK stops the transfer, and fh_rest_do() returns that error.
	 * Once one piece went to the sink the request is never retried.
	 * The deadline then bounds only the wait for the answer's head; the
	 * body may take FH_REST_STREAM_MS, and ends (FH_EUPSTREAM) when no
	 * byte came for FH_REST_STALL_S.
	 */
	enum fh_err (*sink)(void *arg, const struct fh_rest_resp *head,
	    const char *p, size_t n);
	void *sink_arg;
};

struct fh_rest;

/* Create a client.  cfg and log are borrowed for the client's life.
 * Returns FH_ECONFIG when a base URL cannot be derived, FH_ENOMEM. */
enum fh_err fh_rest_new(struct fh_rest **out, const struct fh_config *cfg,
    struct fh_log *log) FH_MUST_CHECK;

/* Free the client and its handles (NULL does nothing). */
void fh_rest_free(struct fh_rest *r);

/* Set the overall deadline of the current webhook: timeout_ms from now.
 * When none has been set since fh_rest_new(), the first fh_rest_do() sets
 * one of cfg->deadline_ms, which the requests after it share. */
void fh_rest_set_deadline(struct fh_rest *r, long timeout_ms);

/* Milliseconds left before the deadline (0 when passed; cfg->deadline_ms
 * while none is set). */
long fh_rest_remaining(const struct fh_rest *r);

/* Send req with retries.  resp is initialised by this call and must be
 * released by the caller with fh_rest_resp_release() whatever the result.
 * Returns FH_OK for a 2xx answer, and otherwise:
 * FH_ERATELIMIT (429 after the retries), FH_ETWILIO (400, 409, 412 and other
 * 4xx; resp->status says which), FH_ENOTFOUND (404), FH_EUPSTREAM (5xx,
 * 401/403, network failure, response over the cap), FH_ETIMEOUT (deadline),
 * FH_ECONFIG (no credentials), FH_EINTERNAL (req is malformed), FH_ENOMEM.
 * Each attempt is counted in log->rest_attempts, and each retry is logged
 * on one line. */
enum fh_err fh_rest_do(struct fh_rest *r, const struct fh_rest_req *req,
    struct fh_rest_resp *resp) FH_MUST_CHECK;

void fh_rest_resp_release(struct fh_rest_resp *resp);

/* The base URL in use for base (borrowed for the client's life). */
const char *fh_rest_base_url(const struct fh_rest *r, enum fh_rest_base base);

/* Parse a Twilio error body (either shape of
 * docs/design/platform.md#twilio-errors) into e; fields that are absent stay
 * empty.  Never fails. */
void fh_rest_parse_error(const char *body, size_t len, struct fh_twerr *e);

/* Derive a base URL from region and edge as
 * docs/design/platform.md#twilio-rest-requests says
 * ("https://taskrouter.sydney.au1.twilio.com").  product is "api", "taskrouter"
 * or "iam".  Writes into out (outlen bytes). */
enum fh_err fh_rest_derive_url(const char *product, const char *region,
    const char *edge, char *out, size_t outlen) FH_MUST_CHECK;

/* The delay before retry n (1, 2, ...): uniform in [0, min(max, min*2^(n-1))]
 * ms.  rnd is a random 32-bit value (tests pass fixed ones). */
long fh_rest_backoff(long min_ms, long max_ms, unsigned n, uint32_t rnd);

/* Parse a Retry-After value (seconds, or an HTTP date) into ms from now;
 * -1 when unreadable. */
long fh_rest_retry_after_ms(const char *value);

#endif
