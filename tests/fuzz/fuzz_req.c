/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_req.c - the FastCGI request reader: CONTENT_TYPE, QUERY_STRING,
 * REQUEST_URI and the body come from the input (the content type is also
 * sent as I-Twilio-Idempotency-Token, which must come out printable ASCII
 * of at most FH_REQ_MAX_IDEM_TOKEN bytes, or not at all), then the request is
 * dispatched to the create-callback handler's validation (a public route,
 * no REST client: a valid request stops at the missing client).
 */
#include <stdlib.h>
#include <string.h>

#include "handlers/callback.h"
#include "lib/fcgi.h"
#include "fuzz.h"

static enum fh_err
h_validate_only(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	(void)ctx;
	(void)req;
	fh_resp_empty(resp, 204);
	return FH_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fh_route routes[] = {
	    {"/cb", FH_AUTH_PUBLIC, FH_ALLOW_GET | FH_ALLOW_POST,
		h_validate_only},
	};
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	struct fh_req	 req;
	struct fh_resp	 resp;
	struct fh_buf	 out;
	char		*copy, *parts[3], *envp[6], *p;
	char		 ct[300], qs[300], uri[300], idem[300];
	size_t		 i, n = 0;

	/* input: content-type \n query \n body */
	copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	for (i = 0; i < 2; i++) {
		parts[i] = p;
		p = memchr(p, '\n', size - (size_t)(p - copy));
		if (p == NULL) {
			free(copy);
			return 0;
		}
		*p++ = '\0';
	}
	parts[2] = p;
	snprintf(ct, sizeof(ct), "CONTENT_TYPE=%s", parts[0]);
	snprintf(qs, sizeof(qs), "QUERY_STRING=%s", parts[1]);
	snprintf(uri, sizeof(uri), "REQUEST_URI=/cb?%s", parts[1]);
	envp[n++] = (char *)"REQUEST_METHOD=POST";
	envp[n++] = ct;
	envp[n++] = qs;
	envp[n++] = uri;
	snprintf(
	    idem, sizeof(idem), "HTTP_I_TWILIO_IDEMPOTENCY_TOKEN=%s", parts[0]);
	envp[n++] = idem;
	envp[n] = NULL;

	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	cfg.cors_origins = (char *)"*";
	ctx.cfg = &cfg;
	fh_log_init(&ctx.log, "fuzz", -1);
	fh_req_init(&req);
	fh_resp_init(&resp);
	fh_buf_init(&out, 1 << 20);
	if (fh_req_parse(&req, envp, parts[2],
		size - (size_t)(parts[2] - copy)) == FH_OK)
		(void)fh_req_param(&req, "numberToCall");
	if (req.idem_token != NULL) {
		if (req.idem_token[0] == '\0' ||
		    strlen(req.idem_token) > FH_REQ_MAX_IDEM_TOKEN)
			abort();
		for (p = req.idem_token; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 ||
			    (unsigned char)*p > 0x7e)
				abort();
	}
	if (fh_dispatch(&ctx, routes, 1, &req, &resp) == FH_OK &&
	    resp.status != 204)
		abort();
	if (fh_resp_format(&resp, &out) != FH_OK)
		abort();
	fh_buf_release(&out);
	fh_resp_release(&resp);
	fh_req_release(&req);
	free(copy);
	return 0;
}
