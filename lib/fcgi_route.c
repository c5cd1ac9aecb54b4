/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi_route.c - the route table: find the route, CORS, the method and
 * body-kind checks, the security check, the handler, the error answer.
 */
#include <stdio.h>
#include <string.h>

#include "lib/fcgi.h"
#include "lib/sig.h"

/*
 * CORS for the flex routes (docs/design/platform.md#cors).  Returns 1 when the
 * request's origin may be answered, and adds the headers to resp.
 */
static int
cors(const struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	const char *list = ctx->cfg->cors_origins, *p, *comma;
	size_t	    n, olen;
	int	    ok = 0;
	enum fh_err err;

	if (list == NULL || strcmp(list, "*") == 0) {
		err = fh_resp_header(resp, "Access-Control-Allow-Origin", "*");
		ok = 1;
	} else {
		olen = req->origin != NULL ? strlen(req->origin) : 0;
		for (p = list; olen > 0 && *p != '\0'; p = comma + 1) {
			comma = strchr(p, ',');
			n = comma != NULL ? (size_t)(comma - p) : strlen(p);
			if (n == olen && memcmp(p, req->origin, n) == 0) {
				ok = 1;
				break;
			}
			if (comma == NULL)
				break;
		}
		if (!ok)
			return 0;
		err = fh_resp_header(
		    resp, "Access-Control-Allow-Origin", req->origin);
		if (err == FH_OK)
			err = fh_resp_header(resp, "Vary", "Origin");
	}
	if (err == FH_OK)
		err = fh_resp_header(
		    resp, "Access-Control-Allow-Methods", "POST, OPTIONS");
	if (err == FH_OK)
		err = fh_resp_header(resp, "Access-Control-Allow-Headers",
		    "Content-Type, Authorization");
	if (err == FH_OK)
		err = fh_resp_header(resp, "Access-Control-Max-Age", "600");
	return err == FH_OK;
}

/* The security check of a route; records its outcome in req->auth. */
static enum fh_err
check_auth(struct fh_ctx *ctx, const struct fh_route *rt, struct fh_req *req)
{
	struct fh_sig_input	in;
	const struct fh_config *cfg = ctx->cfg;
	enum fh_auth_result    *res = &req->auth.result;

	memset(&in, 0, sizeof(in));
	in.public_url = cfg->public_url;
	in.request_uri = req->request_uri;
	in.method = req->method_str;
	in.content_type = req->content_type;
	in.body_form = &req->form;
	in.body = fh_buf_cstr(&req->body);
	in.body_len = req->body.len;
	in.authorization = req->authorization;
	in.basic_auth = cfg->basic_auth;
	in.signature = req->signature;
	in.token = cfg->auth_token;
	in.token2 = cfg->auth_token2;

	switch (rt->auth) {
	case FH_AUTH_PUBLIC:
		*res = FH_AUTHR_PUBLIC;
		return FH_OK;
	case FH_AUTH_TWILIO_SIG_BASIC:
		if (!req->basic_verified) {
			*res = FH_AUTHR_DENIED_NO_BASIC_MARKER;
			return FH_EAUTH;
		}
		/* FALLTHROUGH */
	case FH_AUTH_TWILIO_SIG:
		if (cfg->auth_token == NULL || cfg->public_url == NULL ||
		    req->request_uri == NULL || req->signature == NULL ||
		    fh_sig_check(&in) != FH_OK) {
			*res = req->signature == NULL
			    ? FH_AUTHR_DENIED_NO_SIGNATURE
			    : FH_AUTHR_DENIED_BAD_SIGNATURE;
			return FH_EAUTH;
		}
		*res = rt->auth == FH_AUTH_TWILIO_SIG
		    ? FH_AUTHR_SIGNATURE
		    : FH_AUTHR_SIGNATURE_BASIC;
		return FH_OK;
	case FH_AUTH_SIG_OR_BASIC:
		if (req->signature != NULL) {
			if (cfg->auth_token == NULL ||
			    cfg->public_url == NULL ||
			    req->request_uri == NULL ||
			    fh_sig_check(&in) != FH_OK) {
				*res = FH_AUTHR_DENIED_BAD_SIGNATURE;
				return FH_EAUTH;
			}
			*res = FH_AUTHR_SIGNATURE;
			return FH_OK;
		}
		if (!req->basic_verified) {
			*res = FH_AUTHR_DENIED_NO_BASIC_MARKER;
			return FH_EAUTH;
		}
		*res = FH_AUTHR_BASIC;
		return FH_OK;
	case FH_AUTH_FLEX_TOKEN:
		if (ctx->token_check == NULL) {
			*res = FH_AUTHR_DENIED_NO_TOKEN_CHECK;
			return FH_ETOKEN;
		}
		return ctx->token_check(ctx, req);
	case FH_AUTH_UNSET:
	case FH_AUTH__MAX:
		break;
	}
	*res = FH_AUTHR_DENIED_UNSET;
	return FH_EAUTH;
}

static enum fh_err
allow_header(struct fh_resp *resp, unsigned methods)
{
	char   allow[64];
	size_t i, n = 0;
	int    w;

	allow[0] = '\0';
	for (i = 1; i < FH_M__MAX; i++) {
		if (!(methods & (1u << i)))
			continue;
		w = snprintf(allow + n, sizeof(allow) - n, "%s%s",
		    n > 0 ? ", " : "", fh_method_name((enum fh_method)i));
		if (w < 0 || (size_t)w >= sizeof(allow) - n)
			return FH_EINTERNAL;
		n += (size_t)w;
	}
	return fh_resp_header(resp, "Allow", allow);
}

enum fh_err
fh_dispatch(struct fh_ctx *ctx, const struct fh_route *routes, size_t nroutes,
    struct fh_req *req, struct fh_resp *resp)
{
	const struct fh_route *rt = NULL;
	size_t		       i;
	int		       cross;
	enum fh_err	       err;

	/* nothing of an earlier request (a token's identity) survives */
	memset(&req->auth, 0, sizeof(req->auth));
	for (i = 0; i < nroutes && rt == NULL; i++)
		if (strcmp(routes[i].path, req->path) == 0)
			rt = &routes[i];
	if (rt == NULL) {
		err = FH_ENOTFOUND;
		goto fail;
	}
	/* a route called from the browser (every Flex-token route, whatever
	 * its path: /features/callback-and-voicemail/flex/..., the plugin
	 * library's /callback/flex/..., the older /features/callbacks/...) */
	cross = (rt->flags & FH_ROUTE_CORS) != 0;
	if (cross && !cors(ctx, req, resp)) {
		req->auth.result = FH_AUTHR_DENIED_ORIGIN;
		err = FH_EAUTH;
		if (fh_resp_error(resp, err, "origin not allowed", NULL) !=
		    FH_OK)
			fh_resp_empty(resp, 500);
		return err;
	}
	if (cross && req->method == FH_M_OPTIONS) {
		req->auth.result = FH_AUTHR_PUBLIC;
		fh_resp_empty(resp, 204);
		return FH_OK;
	}
	if (req->method == FH_M_UNKNOWN ||
	    !(rt->flags & FH_ALLOW_MASK & (1u << req->method))) {
		err = FH_EMETHOD;
		if (fh_resp_error(resp, err, NULL, NULL) != FH_OK ||
		    allow_header(resp,
			(rt->flags & FH_ALLOW_MASK) |
			    (cross ? FH_ALLOW_OPTIONS : 0)) != FH_OK)
			fh_resp_empty(resp, 500);
		return err;
	}
	/* a form-only route: a body of another kind cannot be signed as a
	 * form, so it is a 400 (a too large body is still 413) */
	if ((rt->flags & FH_ROUTE_FORM_ONLY) && req->parse_err != FH_ETOOBIG &&
	    req->parse_err != FH_ENOMEM &&
	    (req->parse_err == FH_EMEDIA || req->body_kind != FH_BODY_FORM)) {
		err = FH_EINPUT;
		if (fh_resp_error(resp, err, "body is not a form", NULL) !=
		    FH_OK)
			fh_resp_empty(resp, 500);
		return err;
	}
	/* framing problems first: they need no secret to detect */
	if (req->parse_err == FH_ETOOBIG || req->parse_err == FH_EMEDIA ||
	    req->parse_err == FH_ENOMEM) {
		err = req->parse_err;
		goto fail;
	}
	if (req->parse_err != FH_OK) {
		err = req->parse_err;
		if (fh_resp_error(resp, err, "malformed request", NULL) !=
		    FH_OK)
			fh_resp_empty(resp, 500);
		return err;
	}
	if (ctx->unconfigured != NULL) {
		char msg[96];

		(void)snprintf(
		    msg, sizeof(msg), "not configured: %s", ctx->unconfigured);
		err = FH_EUNAVAIL;
		if (fh_resp_error(resp, err, msg, NULL) != FH_OK)
			fh_resp_empty(resp, 500);
		return err;
	}
	err = check_auth(ctx, rt, req);
	if (err == FH_EAUTH &&
	    req->auth.result != FH_AUTHR_DENIED_BAD_SIGNATURE &&
	    req->auth.result != FH_AUTHR_DENIED_NO_SIGNATURE) {
		/* the Basic-auth marker is missing, or the route is unset */
		if (fh_resp_error(resp, err, "authentication required", NULL) !=
		    FH_OK)
			fh_resp_empty(resp, 500);
		return err;
	}
	if (err != FH_OK)
		goto fail;
	resp->status = 0;
	err = rt->handler(ctx, req, resp);
	if (resp->streamed)
		return err; /* sent: an error only cut it short */
	if (resp->status != 0)
		return err; /* an answer, or the handler's own error body */
	if (err == FH_OK)
		err = FH_EINTERNAL; /* a handler that answered nothing */
fail:
	if (fh_resp_error(resp, err, NULL, NULL) != FH_OK)
		fh_resp_empty(resp, 500);
	return err;
}
