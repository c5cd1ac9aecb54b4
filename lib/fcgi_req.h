/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi_req.h - one request: what nginx sent, parsed and copied.
 *
 * fh_req_parse() turns a FastCGI parameter block (the "KEY=VALUE" strings of
 * FCGX_Request.envp) and a body already read into a struct fh_req: method,
 * path, query and body pairs, the headers that matter, the raw body.  An
 * optional header that is oversize (or, for the idempotency token, not
 * printable ASCII) counts as absent.  It copies everything, so nothing
 * borrowed from libfcgi survives FCGX_Finish_r().  Hard caps: FH_REQ_MAX_BODY
 * for the body (413), the form caps of form.h for pairs and values (413 for too
 * many or too big, 400 for a malformed escape), FH_REQ_MAX_QUERY for the query
 * string.
 *
 * The request also carries what the route's security check found out about
 * it (struct fh_req_auth): fh_dispatch() resets it before the check, so
 * nothing of one request (a Flex token's identity) reaches the next.
 */
#ifndef FH_FCGI_REQ_H
#define FH_FCGI_REQ_H

#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/form.h"

#define FH_REQ_MAX_BODY (64 * 1024)
#define FH_REQ_MAX_QUERY (16 * 1024)
#define FH_REQ_MAX_PARAM (16 * 1024) /* any other CGI parameter */
#define FH_REQ_MAX_IDEM_TOKEN 256    /* I-Twilio-Idempotency-Token */

enum fh_method {
	FH_M_UNKNOWN = 0,
	FH_M_GET,
	FH_M_POST,
	FH_M_OPTIONS,
	FH_M_HEAD,
	FH_M_PUT,
	FH_M_DELETE,
	FH_M_PATCH,
	FH_M__MAX
};

enum fh_body_kind { FH_BODY_NONE = 0, FH_BODY_FORM, FH_BODY_JSON };

/* The outcome of a route's security check, named in the access line by
 * fh_auth_result_name().  Every value from FH_AUTHR_DENIED_ORIGIN on is a
 * refusal. */
enum fh_auth_result {
	FH_AUTHR_NONE = 0, /* no check ran (404, 405, a framing error) */
	FH_AUTHR_PUBLIC,
	FH_AUTHR_SIGNATURE,
	FH_AUTHR_SIGNATURE_BASIC,
	FH_AUTHR_BASIC,
	FH_AUTHR_FLEX_TOKEN,
	FH_AUTHR_DENIED_ORIGIN, /* first refusal */
	FH_AUTHR_DENIED_UNSET,
	FH_AUTHR_DENIED_NO_BASIC_MARKER,
	FH_AUTHR_DENIED_NO_SIGNATURE,
	FH_AUTHR_DENIED_BAD_SIGNATURE,
	FH_AUTHR_DENIED_NO_TOKEN_CHECK,
	FH_AUTHR_DENIED_NO_TOKEN,
	FH_AUTHR_DENIED_BAD_TOKEN,
	FH_AUTHR_DENIED_INVALID_TOKEN,
	FH_AUTHR_DENIED_IAM_COOLING_DOWN,
	FH_AUTHR_DENIED_IAM_UNAVAILABLE,
	FH_AUTHR_DENIED_NO_MEMORY,
	FH_AUTHR__MAX
};

/* What an accepted Flex token says about the agent (flex/token.h). */
struct fh_token_info {
	char identity[256];
	char worker_sid[40];
	char roles[256]; /* comma-separated */
};

/* What the security check found out about this request. */
struct fh_req_auth {
	enum fh_auth_result  result;
	struct fh_token_info token; /* FH_AUTHR_FLEX_TOKEN only; else zero */
};

struct fh_req {
	enum fh_method method;
	char	      *method_str;
	char	      *path;	    /* DOCUMENT_URI or REQUEST_URI up to '?' */
	char	      *request_uri; /* as received, still encoded */
	char	      *query_string;
	char	      *content_type;
	char	      *signature;     /* X-Twilio-Signature */
	char	      *authorization; /* secret: zeroed on release */
	char	      *origin;
	char	      *accept;
	char	      *request_id;
	/* I-Twilio-Idempotency-Token: printable ASCII, at most
	 * FH_REQ_MAX_IDEM_TOKEN bytes; NULL when absent or invalid */
	char *idem_token;
	int   basic_verified; /* nginx's FLEXHOOKS_BASIC_VERIFIED=1 */
	enum fh_body_kind  body_kind;
	struct fh_buf	   body;      /* raw body */
	struct fh_form	   query;     /* decoded query pairs */
	struct fh_form	   form;      /* decoded form pairs (form bodies) */
	struct fh_form	   params;    /* body pairs, then query pairs */
	enum fh_err	   parse_err; /* first problem found, FH_OK if none */
	struct fh_req_auth auth;      /* set by fh_dispatch() */
};

void fh_req_init(struct fh_req *req);
void fh_req_release(struct fh_req *req);

/* Fill req from the NULL-terminated "KEY=VALUE" array envp and the body
 * bytes body[0..len).  Returns the first problem (also kept in
 * req->parse_err): FH_ETOOBIG, FH_EINPUT, FH_EMEDIA or FH_ENOMEM.  The
 * request is usable for logging even on failure. */
enum fh_err fh_req_parse(struct fh_req *req, char *const *envp,
    const char *body, size_t len) FH_MUST_CHECK;

/* Look a parameter up in the merged params (body wins), or NULL. */
const char *fh_req_param(const struct fh_req *req, const char *name);

/* Find the value of name in envp (borrowed from envp), or NULL. */
const char *fh_env_get(char *const *envp, const char *name);

/* "GET", "POST"...; "" for FH_M_UNKNOWN or a value out of range. */
const char *fh_method_name(enum fh_method m);

/* The access line's word for an auth result ("signature",
 * "denied:bad-signature"...); "none" out of range. */
const char *fh_auth_result_name(enum fh_auth_result r);

/* 1 for a refusal. */
int fh_auth_denied(enum fh_auth_result r);

#endif
