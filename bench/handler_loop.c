/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handler_loop - one request, served in-process N times, for callgrind
 * (bench/run.sh; bench/README.md).
 *
 *	handler_loop REQFILE N
 *
 * REQFILE (written by bench/requests.py) holds one line each for the
 * method, the request URI, the content type, X-Twilio-Signature, the
 * Authorization header, nginx's Basic-verified marker (0/1) and the
 * expected status, then the raw body.  Each iteration does what fh_serve()
 * does for one request, less the FastCGI I/O: copy the body, fh_req_parse(),
 * fh_dispatch() (route, method, signature, handler), format the head, write
 * the access line (to stderr) and release everything.  One warm-up
 * request, then N counted ones: serve_one() is the function to give
 * callgrind's --toggle-collect, so that start-up is not counted.  The
 * configuration comes from FLEXHOOKS_CONFIG, as for the programs; routes
 * whose handler calls Twilio reach whatever REST base URLs it names
 * (bench/run.sh: the stack's emulator).  Prints the status of the warm-up
 * answer and exits 1 when it is not the expected one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flex/wait_url.h"
#include "handlers/callback.h"
#include "handlers/dial_queue.h"
#include "lib/fcgi.h"
#include "handlers/redirect.h"
#include "handlers/wait.h"

#define REQ_MAX (FH_REQ_MAX_BODY + 8192)
#define NLINES 7

static const struct fh_route routes[] = {
    {FH_WAIT_PATH, FH_AUTH_TWILIO_SIG_BASIC, FH_ALLOW_GET | FH_ALLOW_POST,
	fh_handle_wait},
    {"/dial-queue", FH_AUTH_TWILIO_SIG, FH_ALLOW_POST, fh_handle_dial_queue},
    {"/twiml-redirect-call", FH_AUTH_TWILIO_SIG, FH_ALLOW_GET | FH_ALLOW_POST,
	fh_handle_twiml_redirect_call},
    {"/features/callback-and-voicemail/studio/create-callback",
	FH_AUTH_TWILIO_SIG_BASIC, FH_ALLOW_GET | FH_ALLOW_POST,
	fh_handle_create_callback},
};

struct bench_req {
	char  *envp[12];
	char   store[NLINES + 4][2048];
	char  *body;
	size_t body_len;
	int    want;
};

static char file[REQ_MAX];

/* "KEY=value" into slot i of r->store; appended to r->envp at *n. */
static int
env_add(struct bench_req *r, size_t *n, const char *key, const char *val)
{
	int w;

	if (val[0] == '\0')
		return 0;
	w = snprintf(r->store[*n], sizeof(r->store[*n]), "%s=%s", key, val);
	if (w < 0 || (size_t)w >= sizeof(r->store[*n]))
		return -1;
	r->envp[*n] = r->store[*n];
	(*n)++;
	return 0;
}

static int
load(const char *path, struct bench_req *r)
{
	FILE	 *f;
	char	 *line[NLINES], *p, *nl, uri[2048], *q;
	size_t	  len, i, n = 0;
	long long want;

	memset(r, 0, sizeof(*r));
	f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	len = fread(file, 1, sizeof(file) - 1, f);
	fclose(f);
	file[len] = '\0';
	for (p = file, i = 0; i < NLINES; i++) {
		nl = memchr(p, '\n', len - (size_t)(p - file));
		if (nl == NULL)
			return -1;
		*nl = '\0';
		line[i] = p;
		p = nl + 1;
	}
	r->body = p;
	r->body_len = len - (size_t)(p - file);
	if (fh_parse_int(line[6], strlen(line[6]), 100, 599, &want) != FH_OK)
		return -1;
	r->want = (int)want;
	if (snprintf(uri, sizeof(uri), "%s", line[1]) >= (int)sizeof(uri))
		return -1;
	q = strchr(uri, '?');
	if (env_add(r, &n, "REQUEST_METHOD", line[0]) != 0 ||
	    env_add(r, &n, "REQUEST_URI", line[1]) != 0 ||
	    env_add(r, &n, "QUERY_STRING", q != NULL ? q + 1 : "") != 0)
		return -1;
	if (q != NULL)
		*q = '\0';
	if (env_add(r, &n, "DOCUMENT_URI", uri) != 0 ||
	    env_add(r, &n, "CONTENT_TYPE", line[2]) != 0 ||
	    env_add(r, &n, "HTTP_X_TWILIO_SIGNATURE", line[3]) != 0 ||
	    env_add(r, &n, "HTTP_AUTHORIZATION", line[4]) != 0 ||
	    env_add(r, &n, "FLEXHOOKS_REQUEST_ID",
		"0123456789abcdef0123456789abcdef") != 0)
		return -1;
	if (strcmp(line[5], "1") == 0 &&
	    env_add(r, &n, "FLEXHOOKS_BASIC_VERIFIED", "1") != 0)
		return -1;
	r->envp[n] = NULL;
	return 0;
}

/* One request, as fh_serve() handles it; returns the status. */
static int
serve(struct fh_ctx *ctx, const struct bench_req *r)
{
	struct fh_req  req;
	struct fh_resp resp;
	struct fh_buf  body, out;
	enum fh_err    err;
	int64_t	       t0;
	int	       status;

	t0 = fh_now_ms();
	fh_log_begin(&ctx->log, fh_env_get(r->envp, "FLEXHOOKS_REQUEST_ID"));
	fh_rest_set_deadline(ctx->rest, ctx->deadline_ms);
	fh_req_init(&req);
	fh_resp_init(&resp);
	fh_buf_init(&body, FH_REQ_MAX_BODY);
	body.secret = 1;
	fh_buf_init(&out, 64 * 1024);
	err = fh_buf_add(&body, r->body, r->body_len);
	if (err == FH_OK &&
	    fh_req_parse(&req, r->envp, fh_buf_cstr(&body), body.len) != FH_OK)
		fh_log_debug(&ctx->log, "request unreadable");
	fh_log_set_call(&ctx->log, fh_req_param(&req, "CallSid"));
	err = fh_dispatch(ctx, routes, FH_NITEMS(routes), &req, &resp);
	if (fh_resp_format_head(&resp, &out) != FH_OK)
		resp.status = 500;
	fh_log_request(&ctx->log, req.method_str, req.path, resp.status,
	    (long)(fh_now_ms() - t0), fh_auth_result_name(req.auth.result),
	    err == FH_OK ? NULL : fh_err_name(err));
	status = resp.status;
	fh_buf_release(&out);
	fh_buf_release(&body);
	fh_resp_release(&resp);
	fh_req_release(&req);
	return status;
}

/* What callgrind counts (--toggle-collect=serve_one): the warm-up call in
 * main() goes to serve() directly, so one-time set-up (the HMAC algorithm
 * fetch, the first REST connection) is not counted. */
int serve_one(struct fh_ctx *, const struct bench_req *)
    __attribute__((noinline));

int
serve_one(struct fh_ctx *ctx, const struct bench_req *r)
{
	return serve(ctx, r);
}

int
main(int argc, char *argv[])
{
	static struct bench_req r;
	struct fh_config	cfg;
	struct fh_ctx		ctx;
	long long		n, i;
	int			status;

	if (argc != 3 ||
	    fh_parse_int(argv[2], strlen(argv[2]), 1, 100000000, &n) != FH_OK) {
		fprintf(stderr, "usage: handler_loop REQFILE N\n");
		return 2;
	}
	if (load(argv[1], &r) != 0) {
		fprintf(stderr, "handler_loop: cannot read '%s'\n", argv[1]);
		return 2;
	}
	fh_ctx_init(&ctx, "handler_loop", &cfg, FH_NEED_REST);
	status = serve(&ctx, &r);
	for (i = 0; i < n; i++)
		(void)serve_one(&ctx, &r);
	fh_ctx_release(&ctx);
	printf("%d\n", status);
	return status == r.want ? 0 : 1;
}
