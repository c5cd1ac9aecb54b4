/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_fcgi.c - request parsing, dispatch, responses, and the
 * create-callback handler's validation (no REST call is reached).
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "handlers/callback.h"
#include "lib/dedupe.h"
#include "lib/fcgi.h"
#include "fh_check.h"

static struct fh_config cfg;
static struct fh_ctx	ctx;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	cfg.cors_origins = (char *)"*";
	cfg.callback_workflow_sid =
	    (char *)"WW0123456789abcdef0123456789abcdef";
	cfg.main_timezone = (char *)"UTC";
	ctx.cfg = &cfg;
	ctx.prog = "test";
	fh_log_init(&ctx.log, "test", -1); /* silent */
}

static enum fh_err
h_echo(struct fh_ctx *c, const struct fh_req *req, struct fh_resp *resp)
{
	const char *v = fh_req_param(req, "a");

	(void)c;
	fh_resp_empty(resp, 200);
	resp->content_type = "text/plain";
	return fh_buf_addstr(&resp->body, v != NULL ? v : "-");
}

/* What a streamed answer wrote, head and body together. */
static struct fh_buf sunk;
static int	     sink_fail; /* the next write fails */

static enum fh_err
sink_write(void *arg, const char *p, size_t n)
{
	(void)arg;
	if (sink_fail)
		return FH_EUPSTREAM;
	return fh_buf_add(&sunk, p, n);
}

static const struct fh_resp_sink test_sink = {sink_write, NULL};

/* Streams 3 of 5 bytes, then fails as a cut transfer would. */
static enum fh_err
h_stream(struct fh_ctx *c, const struct fh_req *req, struct fh_resp *resp)
{
	enum fh_err err;

	(void)c;
	(void)req;
	resp->status = 200;
	resp->content_type = "audio/mpeg";
	if ((err = fh_resp_stream_begin(resp, 5)) != FH_OK ||
	    (err = fh_resp_stream_write(resp, "ID3", 3)) != FH_OK)
		return err;
	return FH_EUPSTREAM;
}

static const struct fh_route routes[] = {
    {"/echo", FH_AUTH_PUBLIC, FH_ALLOW_GET | FH_ALLOW_POST, h_echo},
    {"/stream", FH_AUTH_PUBLIC, FH_ALLOW_GET, h_stream},
    {"/deny", FH_AUTH_UNSET, FH_ALLOW_GET, h_echo},
    {"/signed", FH_AUTH_TWILIO_SIG_BASIC, FH_ALLOW_POST, h_echo},
    {"/features/callback-and-voicemail/flex/x", FH_AUTH_FLEX_TOKEN,
	FH_ALLOW_POST | FH_ROUTE_CORS, h_echo},
    /* a plugin library alias: CORS is the route's flag, not its path */
    {"/callback/flex/x", FH_AUTH_FLEX_TOKEN, FH_ALLOW_POST | FH_ROUTE_CORS,
	h_echo},
    {"/callback/studio/x", FH_AUTH_TWILIO_SIG_BASIC, FH_ALLOW_POST, h_echo},
    {"/cb", FH_AUTH_PUBLIC, FH_ALLOW_GET | FH_ALLOW_POST,
	fh_handle_create_callback},
    /* healthz's: load balancers probe with HEAD */
    {"/probe", FH_AUTH_PUBLIC, FH_ALLOW_GET | FH_ALLOW_HEAD, h_echo},
};

struct dcase {
	const char *method, *uri, *ctype, *body;
	int	    status;
	const char *want_body; /* substring, or NULL */
};

static const struct dcase dcases[] = {
    {"GET", "/echo?a=q", NULL, "", 200, "q"},
    {"POST", "/echo?a=q", "application/x-www-form-urlencoded", "a=b", 200, "b"},
    {"POST", "/echo?a=q",
	"application/x-www-form-urlencoded; "
	"charset=UTF-8",
	"x=1", 200, "q"},
    {"POST", "/echo", "application/json", "{\"a\":12}", 200, "12"},
    {"POST", "/echo", "application/json", "{\"a\":{\"b\":1}}", 400,
	"malformed request"},
    {"POST", "/echo", "text/plain", "a=b", 415,
	"{\"success\":false,\"message\":\"unsupported content type\","
	"\"code\":null,\"more_info\":null}"},
    {"POST", "/echo", "application/x-www-form-urlencoded", "a=%zz", 400, NULL},
    {"GET", "/echo?a=%2", NULL, "", 400, NULL},
    {"GET", "/nope", NULL, "", 404, "not found"},
    {"PUT", "/echo", NULL, "", 405, "method not allowed"},
    {"HEAD", "/probe?a=h", NULL, "", 200, "h"},
    {"HEAD", "/echo?a=h", NULL, "", 405, "method not allowed"},
    {"GET", "/deny", NULL, "", 403, NULL},
    {"POST", "/signed", "application/x-www-form-urlencoded", "a=1", 403,
	"authentication required"},
    /* a GET body is not covered by the signature: never read it */
    {"GET", "/echo?a=q", "application/x-www-form-urlencoded", "a=b", 400,
	"malformed request"},
    {"POST", "/features/callback-and-voicemail/flex/x",
	"application/x-www-form-urlencoded", "Token=x", 403,
	"invalid or missing Flex token"},
    {"OPTIONS", "/features/callback-and-voicemail/flex/x", NULL, "", 204, NULL},
    {"POST", "/callback/flex/x", "application/x-www-form-urlencoded", "Token=x",
	403, "invalid or missing Flex token"},
    {"OPTIONS", "/callback/flex/x", NULL, "", 204, NULL},
    {"GET", "/callback/flex/x", NULL, "", 405, "method not allowed"},
    {"OPTIONS", "/callback/studio/x", NULL, "", 405, "method not allowed"},
    {"POST", "/cb", "application/x-www-form-urlencoded",
	"numberToCallFrom=%2B18005550100", 400,
	"{\"success\":false,\"message\":\"missing numberToCall\","
	"\"code\":null,\"more_info\":null}"},
    {"POST", "/cb", "application/x-www-form-urlencoded",
	"numberToCall=555&numberToCallFrom=%2B18005550100", 400,
	"invalid numberToCall"},
    {"POST", "/cb", "application/x-www-form-urlencoded",
	"numberToCall=%2B15555550123", 400, "missing numberToCallFrom"},
    /* what JavaScript sends for a value it lacks: absent */
    {"POST", "/cb", "application/x-www-form-urlencoded",
	"numberToCall=undefined&numberToCallFrom=%2B18005550100", 400,
	"{\"success\":false,\"message\":\"missing numberToCall\","
	"\"code\":null,\"more_info\":null}"},
    {"POST", "/cb", "application/x-www-form-urlencoded",
	"numberToCall=%2B15555550123&numberToCallFrom=null", 400,
	"missing numberToCallFrom"},
    {"POST", "/cb", "application/json",
	"{\"numberToCall\":\"+15555550123\",\"numberToCallFrom\":"
	"\"undefined\"}",
	400, "missing numberToCallFrom"},
    {"POST", "/cb", "application/json",
	"{\"numberToCall\":\"+15555550123\",\"numberToCallFrom\":null}", 400,
	"missing numberToCallFrom"},
    {"POST", "/cb", "application/x-www-form-urlencoded",
	"numberToCall=%2B15555550123&numberToCallFrom=%2B18005550100&"
	"flexFlowSid=undefined&timeout=abc",
	400, "invalid timeout"},
    {"POST", "/cb", "application/x-www-form-urlencoded",
	"numberToCall=%2B15555550123&numberToCallFrom=%2B18005550100&"
	"flexFlowSid=null&workflowSid=undefined&attempts=x",
	400, "invalid attempts"},
    /* a withheld caller cannot be called back */
    {"POST", "/cb", "application/x-www-form-urlencoded",
	"numberToCall=%2B266696687&numberToCallFrom=%2B18005550100", 400,
	"{\"success\":false,\"message\":\"caller ID withheld\","
	"\"code\":null,\"more_info\":null}"},
    {"GET",
	"/cb?numberToCall=+7378742833&numberToCallFrom=%2B1800555"
	"0100",
	NULL, "", 400, "caller ID withheld"},
    {"POST", "/cb", "application/x-www-form-urlencoded",
	"numberToCall=%2B2562533&numberToCallFrom=%2B18005550100", 400,
	"caller ID withheld"},
    {"POST", "/cb", "application/json", "{\"numberToCall\":\"+86282452253\"}",
	400, "caller ID withheld"},
    {"POST", "/cb", "application/x-www-form-urlencoded",
	"numberToCall=Anonymous&numberToCallFrom=%2B18005550100", 400,
	"caller ID withheld"},
    {"GET",
	"/cb?numberToCall=%2B15555550123&numberToCallFrom="
	"%2B18005550100&timeout=0",
	NULL, "", 400, "invalid timeout"},
    {"POST", "/cb?numberToCall=bad", "application/x-www-form-urlencoded",
	"numberToCall=%2B15555550123&numberToCallFrom=%2B18005550100&"
	"workflowSid=WT0123456789abcdef0123456789abcdef",
	400, "invalid workflowSid"},
    {"POST", "/cb", "application/x-www-form-urlencoded",
	"numberToCall=%2B15555550123&numberToCallFrom=%2B18005550100&"
	"conversation_id=a%00b",
	400, "invalid conversation_id"},
};

static void
run(const struct dcase *c, struct fh_resp *resp, struct fh_req *req)
{
	char   m[32], u[1024], ct[128], *envp[5];
	size_t n = 0;

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", c->method);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", c->uri);
	envp[n++] = m;
	envp[n++] = u;
	if (c->ctype != NULL) {
		snprintf(ct, sizeof(ct), "CONTENT_TYPE=%s", c->ctype);
		envp[n++] = ct;
	}
	envp[n] = NULL;
	fh_req_init(req);
	fh_resp_init(resp);
	if (fh_req_parse(req, envp, c->body, strlen(c->body)) != FH_OK)
		ck_assert_int_ne(req->parse_err, FH_OK);
	(void)fh_dispatch(&ctx, routes, FH_NITEMS(routes), req, resp);
}

START_TEST(test_dispatch)
{
	const struct dcase *c = &dcases[_i];
	struct fh_req	    req;
	struct fh_resp	    resp;

	run(c, &resp, &req);
	ck_assert_msg(
	    resp.status == c->status, "case %d: status %d", _i, resp.status);
	if (c->want_body != NULL)
		ck_assert_msg(
		    strstr(fh_buf_cstr(&resp.body), c->want_body) != NULL,
		    "case %d: body %s", _i, fh_buf_cstr(&resp.body));
	if (c->status == 405)
		ck_assert_str_eq(fh_resp_get_header(&resp, "Allow"),
		    strstr(c->uri, "/flex/") != NULL	     ? "POST, OPTIONS"
			: strstr(c->uri, "/studio/") != NULL ? "POST"
							     : "GET, POST");
	if (strstr(c->uri, "/flex/") != NULL) {
		ck_assert_str_eq(
		    fh_resp_get_header(&resp, "Access-Control-Allow-Origin"),
		    "*");
		ck_assert_str_eq(
		    fh_resp_get_header(&resp, "Access-Control-Allow-Methods"),
		    "POST, OPTIONS");
	} else
		ck_assert_ptr_null(
		    fh_resp_get_header(&resp, "Access-Control-Allow-Origin"));
	fh_resp_release(&resp);
	fh_req_release(&req);
}
END_TEST

/* A program that lacks a feature's setting runs and answers every
 * request of its routes 503 "not configured: <variable>" (a 404 and a 405
 * stay what they are); the CORS preflight of a Flex route still works. */
START_TEST(test_unconfigured)
{
	static const struct dcase cases[] = {
	    {"GET", "/echo?a=q", NULL, "", 503,
		"{\"success\":false,"
		"\"message\":\"not configured: TWILIO_FLEX_WORKSPACE_SID\","
		"\"code\":null,\"more_info\":null}"},
	    {"POST", "/features/callback-and-voicemail/flex/x",
		"application/x-www-form-urlencoded", "Token=x", 503,
		"not configured: TWILIO_FLEX_WORKSPACE_SID"},
	    {"POST", "/signed", "application/x-www-form-urlencoded", "a=1", 503,
		"not configured"},
	    {"OPTIONS", "/features/callback-and-voicemail/flex/x", NULL, "",
		204, NULL},
	    {"GET", "/nope", NULL, "", 404, "not found"},
	    {"PUT", "/echo", NULL, "", 405, NULL},
	};
	struct fh_req  req;
	struct fh_resp resp;
	size_t	       i;

	ctx.unconfigured = "TWILIO_FLEX_WORKSPACE_SID";
	for (i = 0; i < FH_NITEMS(cases); i++) {
		run(&cases[i], &resp, &req);
		ck_assert_msg(resp.status == cases[i].status,
		    "case %zu: "
		    "status %d",
		    i, resp.status);
		if (cases[i].want_body != NULL)
			ck_assert_msg(strstr(fh_buf_cstr(&resp.body),
					  cases[i].want_body) != NULL,
			    "case %zu: body %s", i, fh_buf_cstr(&resp.body));
		fh_resp_release(&resp);
		fh_req_release(&req);
	}
	ctx.unconfigured = NULL;
}
END_TEST

START_TEST(test_cors_list)
{
	struct fh_req  req;
	struct fh_resp resp;
	char	       m[] = "REQUEST_METHOD=OPTIONS";
	char	       u[] = "REQUEST_URI=/features/callback-and-voicemail/"
			     "flex/x";
	char	       o1[] = "HTTP_ORIGIN=https://flex.twilio.com";
	char	       o2[] = "HTTP_ORIGIN=https://evil.example";
	char	      *envp[4] = {m, u, o1, NULL};

	cfg.cors_origins = (char *)"https://a.example,https://flex.twilio.com";
	fh_req_init(&req);
	fh_resp_init(&resp);
	ck_assert_int_eq(fh_req_parse(&req, envp, "", 0), FH_OK);
	fh_dispatch(&ctx, routes, FH_NITEMS(routes), &req, &resp);
	ck_assert_int_eq(resp.status, 204);
	ck_assert_str_eq(
	    fh_resp_get_header(&resp, "Access-Control-Allow-Origin"),
	    "https://flex.twilio.com");
	ck_assert_str_eq(fh_resp_get_header(&resp, "Vary"), "Origin");
	fh_resp_release(&resp);
	fh_req_release(&req);

	envp[2] = o2;
	fh_req_init(&req);
	fh_resp_init(&resp);
	ck_assert_int_eq(fh_req_parse(&req, envp, "", 0), FH_OK);
	fh_dispatch(&ctx, routes, FH_NITEMS(routes), &req, &resp);
	ck_assert_int_eq(resp.status, 403);
	ck_assert_ptr_null(
	    fh_resp_get_header(&resp, "Access-Control-Allow-Origin"));
	fh_resp_release(&resp);
	fh_req_release(&req);
}
END_TEST

START_TEST(test_body_cap)
{
	struct fh_req req;
	static char   big[FH_REQ_MAX_BODY + 1];
	char	      m[] = "REQUEST_METHOD=POST", u[] = "REQUEST_URI=/echo";
	char	      ct[] = "CONTENT_TYPE=application/x-www-form-urlencoded";
	char	     *envp[4] = {m, u, ct, NULL};

	memset(big, 'a', sizeof(big));
	fh_req_init(&req);
	ck_assert_int_eq(
	    fh_req_parse(&req, envp, big, sizeof(big)), FH_ETOOBIG);
	ck_assert_str_eq(req.path, "/echo");
	fh_req_release(&req);
	fh_req_init(&req);
	/* within the body cap, a 64 KiB name passes the name cap: that is
	 * malformed input (400), not a body too large (413) */
	ck_assert_int_eq(
	    fh_req_parse(&req, envp, big, sizeof(big) - 1), FH_EINPUT);
	fh_req_release(&req);
}
END_TEST

/* Found by tests/integration/test_bad_input.py: a small body with more
 * pairs than FH_FORM_MAX_PAIRS was answered 413 "request body too large". */
START_TEST(test_too_many_pairs)
{
	struct fh_req req;
	struct fh_buf b, q;
	char	      post[] = "REQUEST_METHOD=POST";
	char	      get[] = "REQUEST_METHOD=GET";
	char	      u[] = "REQUEST_URI=/echo";
	char	      ct[] = "CONTENT_TYPE=application/x-www-form-urlencoded";
	char	     *envp[5] = {post, u, ct, NULL, NULL};
	int	      i, n = FH_FORM_MAX_PAIRS + _i;
	enum fh_err   want = _i == 0 ? FH_OK : FH_EINPUT;

	fh_buf_init(&b, FH_REQ_MAX_BODY);
	fh_buf_init(&q, FH_REQ_MAX_QUERY);
	ck_assert_int_eq(fh_buf_addstr(&q, "QUERY_STRING="), FH_OK);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(
		    fh_buf_printf(&b, "%sp%d=v", i ? "&" : "", i), FH_OK);
		ck_assert_int_eq(
		    fh_buf_printf(&q, "%sp%d=v", i ? "&" : "", i), FH_OK);
	}
	fh_req_init(&req);
	ck_assert_int_eq(
	    fh_req_parse(&req, envp, fh_buf_cstr(&b), b.len), want);
	fh_req_release(&req);
	/* the same pairs in the query string of a GET */
	envp[0] = get;
	envp[3] = (char *)fh_buf_cstr(&q);
	fh_req_init(&req);
	ck_assert_int_eq(fh_req_parse(&req, envp, "", 0), want);
	fh_req_release(&req);
	fh_buf_release(&b);
	fh_buf_release(&q);
}
END_TEST

/* I-Twilio-Idempotency-Token: printable ASCII up to 256 bytes, or
 * ignored (absent). */
struct tcase_idem {
	const char *env;  /* the whole "KEY=VALUE" */
	const char *want; /* req.idem_token, or NULL */
};

static char long_token[32 + FH_REQ_MAX_IDEM_TOKEN + 2];

static const struct tcase_idem idem_cases[] = {
    {"HTTP_I_TWILIO_IDEMPOTENCY_TOKEN=AC01-4f9e2c1d-aa", "AC01-4f9e2c1d-aa"},
    {"HTTP_I_TWILIO_IDEMPOTENCY_TOKEN=a b~!", "a b~!"},
    {"HTTP_I_TWILIO_IDEMPOTENCY_TOKEN=", NULL},
    {"HTTP_I_TWILIO_IDEMPOTENCY_TOKEN=ab\tc", NULL},
    {"HTTP_I_TWILIO_IDEMPOTENCY_TOKEN=ab\x7f", NULL},
    {"HTTP_I_TWILIO_IDEMPOTENCY_TOKEN=caf\xc3\xa9", NULL},
    {"HTTP_X_OTHER=1", NULL}, {NULL, NULL}, /* 256 bytes: kept */
    {NULL, NULL},			    /* 257 bytes: ignored */
};

START_TEST(test_idem_token)
{
	struct fh_req req;
	char	      m[] = "REQUEST_METHOD=GET", u[] = "REQUEST_URI=/echo";
	char	     *envp[4] = {m, u, NULL, NULL};
	const char   *want = idem_cases[_i].want;
	size_t	      n;

	if (idem_cases[_i].env != NULL)
		envp[2] = (char *)idem_cases[_i].env;
	else {
		n = FH_REQ_MAX_IDEM_TOKEN + (_i == 8);
		snprintf(long_token, sizeof(long_token),
		    "HTTP_I_TWILIO_IDEMPOTENCY_TOKEN=");
		memset(long_token + strlen(long_token), 'k', n);
		envp[2] = long_token;
		want = _i == 7 ? strchr(long_token, '=') + 1 : NULL;
	}
	fh_req_init(&req);
	ck_assert_int_eq(fh_req_parse(&req, envp, "", 0), FH_OK);
	if (want == NULL)
		ck_assert_ptr_null(req.idem_token);
	else
		ck_assert_str_eq(req.idem_token, want);
	fh_req_release(&req);
}
END_TEST

/* With the table and the token, a delivery already answered gets its SID
 * again and no create is tried (ctx has no REST client: a create would
 * fail); another token, or none, goes on to create. */
START_TEST(test_create_dedupe)
{
	struct fh_req	     req;
	struct fh_resp	     resp;
	unsigned char	     key[FH_DEDUPE_KEY_LEN];
	char		     sid[FH_DEDUPE_SID_MAX];
	enum fh_dedupe_state st;
	char		     m[] = "REQUEST_METHOD=POST";
	char		     u[] = "REQUEST_URI=/cb";
	char		     ct[] = "CONTENT_TYPE=application/"
				    "x-www-form-urlencoded";
	char		     tok[] = "HTTP_I_TWILIO_IDEMPOTENCY_TOKEN=t-1";
	char		     tok2[] = "HTTP_I_TWILIO_IDEMPOTENCY_TOKEN=t-2";
	char		    *envp[5] = {m, u, ct, tok, NULL};
	const char	    *body = "numberToCall=%2B15551230000&"
				    "numberToCallFrom=%2B15551239999";

	ck_assert_int_eq(fh_dedupe_new(&ctx.dedupe, 16, 0), FH_OK);
	ck_assert_int_eq(fh_dedupe_key("/cb", "t-1", key), FH_OK);
	ck_assert_int_eq(fh_dedupe_begin(ctx.dedupe, key, fh_now_ms(), &st, sid,
			     sizeof(sid)),
	    FH_OK);
	ck_assert_int_eq(fh_dedupe_done(ctx.dedupe, key,
			     "WT0123456789abcdef0123456789abcdef", fh_now_ms()),
	    FH_OK);
	fh_req_init(&req);
	fh_resp_init(&resp);
	ck_assert_int_eq(fh_req_parse(&req, envp, body, strlen(body)), FH_OK);
	ck_assert_int_eq(
	    fh_dispatch(&ctx, routes, FH_NITEMS(routes), &req, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "{\"taskSid\":"
	    "\"WT0123456789abcdef0123456789abcdef\",\"success\":true}");
	fh_resp_release(&resp);
	fh_req_release(&req);
	/* another token, then none: the create is tried (and fails) */
	envp[3] = _i == 0 ? tok2 : NULL;
	fh_req_init(&req);
	fh_resp_init(&resp);
	ck_assert_int_eq(fh_req_parse(&req, envp, body, strlen(body)), FH_OK);
	(void)fh_dispatch(&ctx, routes, FH_NITEMS(routes), &req, &resp);
	ck_assert_int_ne(resp.status, 200);
	fh_resp_release(&resp);
	fh_req_release(&req);
	/* the failed create left no entry behind */
	ck_assert_int_eq(fh_dedupe_count(ctx.dedupe, fh_now_ms()), 1);
	fh_dedupe_free(ctx.dedupe);
	ctx.dedupe = NULL;
}
END_TEST

/* A delivery another process is creating: waited for, then its SID
 * (_i 0), or 409 when it does not finish within the deadline (_i 1). */
START_TEST(test_create_dedupe_busy)
{
	struct fh_req	     req;
	struct fh_resp	     resp;
	unsigned char	     key[FH_DEDUPE_KEY_LEN];
	char		     sid[FH_DEDUPE_SID_MAX], c;
	enum fh_dedupe_state st;
	char		     m[] = "REQUEST_METHOD=POST";
	char		     u[] = "REQUEST_URI=/cb";
	char		     ct[] = "CONTENT_TYPE=application/"
				    "x-www-form-urlencoded";
	char		     tok[] = "HTTP_I_TWILIO_IDEMPOTENCY_TOKEN=t-3";
	char		    *envp[5] = {m, u, ct, tok, NULL};
	const char	    *body = "numberToCall=%2B15551230000&"
				    "numberToCallFrom=%2B15551239999";
	int64_t		     t0;
	int		     up[2], stat;
	pid_t		     pid;

	ctx.deadline_ms = 300;
	ck_assert_int_eq(fh_dedupe_new(&ctx.dedupe, 16, 0), FH_OK);
	ck_assert_int_eq(fh_dedupe_key("/cb", "t-3", key), FH_OK);
	ck_assert_int_eq(pipe(up), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* the other process: creating for 100 ms, or for ever */
		if (fh_dedupe_begin(ctx.dedupe, key, fh_now_ms(), &st, sid,
			sizeof(sid)) != FH_OK ||
		    st != FH_DEDUPE_NEW || write(up[1], "x", 1) != 1)
			_exit(1);
		usleep(_i == 0 ? 100 * 1000 : 1500 * 1000);
		if (_i == 0 &&
		    fh_dedupe_done(ctx.dedupe, key,
			"WTfedcba9876543210fedcba9876543210",
			fh_now_ms()) != FH_OK)
			_exit(2);
		_exit(0);
	}
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	fh_req_init(&req);
	fh_resp_init(&resp);
	ck_assert_int_eq(fh_req_parse(&req, envp, body, strlen(body)), FH_OK);
	t0 = fh_now_ms();
	(void)fh_dispatch(&ctx, routes, FH_NITEMS(routes), &req, &resp);
	if (_i == 0) {
		ck_assert_int_eq(resp.status, 200);
		ck_assert_str_eq(fh_buf_cstr(&resp.body),
		    "{\"taskSid\":"
		    "\"WTfedcba9876543210fedcba9876543210\",\"success\":"
		    "true}");
	} else {
		ck_assert_int_eq(resp.status, 409);
		ck_assert_ptr_nonnull(
		    strstr(fh_buf_cstr(&resp.body), "request in progress"));
		ck_assert_int_ge(fh_now_ms() - t0, 290);
		ck_assert_int_lt(fh_now_ms() - t0, 1200);
	}
	fh_resp_release(&resp);
	fh_req_release(&req);
	ck_assert_int_eq(waitpid(pid, &stat, 0), pid);
	ck_assert(WIFEXITED(stat) && WEXITSTATUS(stat) == 0);
	close(up[0]);
	close(up[1]);
	fh_dedupe_free(ctx.dedupe);
	ctx.dedupe = NULL;
}
END_TEST

START_TEST(test_format)
{
	struct fh_resp	resp;
	struct fh_buf	out;
	struct fh_twerr tw;

	memset(&tw, 0, sizeof(tw));
	tw.status = 429;
	tw.code = 20429;
	snprintf(tw.more_info, sizeof(tw.more_info),
	    "https://www.twilio.com/docs/errors/20429");
	snprintf(tw.retry_after, sizeof(tw.retry_after), "1");
	fh_resp_init(&resp);
	fh_buf_init(&out, 4096);
	ck_assert_int_eq(fh_resp_error(&resp, FH_ERATELIMIT, NULL, &tw), FH_OK);
	ck_assert_int_eq(fh_resp_format(&resp, &out), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&out),
	    "Status: 429 Too Many Requests\r\n"
	    "Content-Type: application/json\r\nCache-Control: no-store\r\n"
	    "Retry-After: 1\r\nContent-Length: 115\r\n\r\n"
	    "{\"success\":false,\"message\":\"Twilio rate "
	    "limit\",\"code\":20429,"
	    "\"more_info\":\"https://www.twilio.com/docs/errors/20429\"}");
	ck_assert_int_eq(
	    fh_resp_header(&resp, "X", "a\r\nSet-Cookie: x"), FH_EINTERNAL);
	fh_buf_release(&out);
	fh_resp_release(&resp);
}
END_TEST

/* A streamed answer: the head at once with the announced length, then
 * exactly that many bytes; nothing before a sink and a status, nothing
 * past the length, no second start. */
START_TEST(test_stream)
{
	struct fh_resp resp;

	fh_buf_init(&sunk, 4096);
	sink_fail = 0;
	fh_resp_init(&resp);
	resp.status = 200;
	ck_assert_int_eq(fh_resp_stream_begin(&resp, 5), FH_EINTERNAL);
	ck_assert_int_eq(fh_resp_stream_write(&resp, "a", 1), FH_EINTERNAL);
	resp.sink = &test_sink;
	resp.status = 0;
	ck_assert_int_eq(fh_resp_stream_begin(&resp, 5), FH_EINTERNAL);
	resp.status = 200;
	ck_assert_int_eq(
	    fh_resp_header(&resp, "Content-Type", "audio/mpeg"), FH_OK);
	ck_assert_int_eq(fh_buf_addstr(&resp.body, "dropped"), FH_OK);
	ck_assert_int_eq(fh_resp_stream_begin(&resp, 5), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&sunk),
	    "Status: 200 OK\r\n"
	    "Content-Type: audio/mpeg\r\nContent-Length: 5\r\n\r\n");
	ck_assert_int_eq(fh_resp_stream_begin(&resp, 5), FH_EINTERNAL);
	ck_assert_int_eq(fh_resp_stream_write(&resp, "ab", 2), FH_OK);
	ck_assert_int_eq(fh_resp_stream_short(&resp), 1);
	ck_assert_int_eq(fh_resp_stream_write(&resp, "cdef", 4), FH_EINTERNAL);
	sink_fail = 1;
	ck_assert_int_eq(fh_resp_stream_write(&resp, "c", 1), FH_EUPSTREAM);
	sink_fail = 0;
	ck_assert_int_eq(fh_resp_stream_write(&resp, "cde", 3), FH_OK);
	ck_assert_int_eq(fh_resp_stream_short(&resp), 0);
	ck_assert_int_eq(fh_resp_stream_write(&resp, "", 0), FH_OK);
	ck_assert_int_eq(fh_resp_stream_write(&resp, "f", 1), FH_EINTERNAL);
	ck_assert_str_eq(fh_buf_cstr(&sunk) + sunk.len - 5, "abcde");
	fh_resp_release(&resp);
	ck_assert_int_eq(resp.streamed, 0);
	fh_buf_release(&sunk);
}
END_TEST

/* A handler that fails after its answer started: the answer stands (no
 * JSON error replaces it) and is short, so the server breaks it. */
START_TEST(test_stream_dispatch)
{
	struct fh_req  req;
	struct fh_resp resp;
	char	       m[] = "REQUEST_METHOD=GET", u[] = "REQUEST_URI=/stream";
	char	      *envp[] = {m, u, NULL};

	fh_buf_init(&sunk, 4096);
	sink_fail = 0;
	fh_req_init(&req);
	fh_resp_init(&resp);
	resp.sink = &test_sink;
	ck_assert_int_eq(fh_req_parse(&req, envp, "", 0), FH_OK);
	ck_assert_int_eq(
	    fh_dispatch(&ctx, routes, FH_NITEMS(routes), &req, &resp),
	    FH_EUPSTREAM);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_int_eq(resp.streamed, 1);
	ck_assert_int_eq(fh_resp_stream_short(&resp), 1);
	ck_assert_uint_eq(resp.body.len, 0);
	ck_assert_ptr_null(strstr(fh_buf_cstr(&sunk), "success"));
	ck_assert_str_eq(fh_buf_cstr(&sunk),
	    "Status: 200 OK\r\n"
	    "Content-Type: audio/mpeg\r\nContent-Length: 5\r\n\r\nID3");
	fh_resp_release(&resp);
	fh_req_release(&req);
	fh_buf_release(&sunk);
}
END_TEST

/* The post-response jobs: run in order with copies of their arguments,
 * once each, then forgotten; a job left while they run waits. */
static char ran[256];

static void
after_probe(struct fh_ctx *c, const char *arg)
{
	size_t n = strlen(ran);

	if (snprintf(ran + n, sizeof(ran) - n, "%s;", arg) < 0)
		ran[0] = '\0';
	if (strcmp(arg, "again") == 0)
		ck_assert_int_eq(fh_ctx_after(c, after_probe, "later"), FH_OK);
}

START_TEST(test_after)
{
	struct fh_ctx actx;
	char	      arg[8] = "one";
	char	      big[FH_CTX_AFTER_ARG + 1];

	memset(&actx, 0, sizeof(actx));
	ran[0] = '\0';
	ck_assert_int_eq(fh_ctx_after(&actx, after_probe, arg), FH_OK);
	arg[0] = 'X'; /* copied: the caller's buffer may change */
	ck_assert_int_eq(fh_ctx_after(&actx, after_probe, "two"), FH_OK);
	ck_assert_int_eq(fh_ctx_after(&actx, after_probe, "two"), FH_OK);
	ck_assert_int_eq(fh_ctx_after(&actx, after_probe, "again"), FH_OK);
	ck_assert_uint_eq(actx.nafter, 3);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(fh_ctx_after(&actx, after_probe, big), FH_ETOOBIG);
	fh_ctx_run_after(&actx);
	ck_assert_str_eq(ran, "one;two;again;");
	ck_assert_uint_eq(actx.nafter, 1);
	fh_ctx_run_after(&actx);
	ck_assert_str_eq(ran, "one;two;again;later;");
	ck_assert_uint_eq(actx.nafter, 0);
	fh_ctx_run_after(&actx);
	ck_assert_str_eq(ran, "one;two;again;later;");
}
END_TEST

/* The per-request auth state: a Flex token's identity reaches the handler
 * of its own request only.  The fake check accepts "Token=alice". */
static enum fh_err
fake_token_check(struct fh_ctx *c, struct fh_req *req)
{
	const char *t = fh_req_param(req, "Token");

	(void)c;
	if (t == NULL || strcmp(t, "alice") != 0) {
		req->auth.result = FH_AUTHR_DENIED_INVALID_TOKEN;
		return FH_ETOKEN;
	}
	req->auth.result = FH_AUTHR_FLEX_TOKEN;
	snprintf(req->auth.token.identity, sizeof(req->auth.token.identity),
	    "%s", t);
	return FH_OK;
}

static enum fh_err
h_who(struct fh_ctx *c, const struct fh_req *req, struct fh_resp *resp)
{
	(void)c;
	fh_resp_empty(resp, 200);
	resp->content_type = "text/plain";
	return fh_buf_addstr(&resp->body,
	    req->auth.token.identity[0] != '\0' ? req->auth.token.identity
						: "-");
}

static const struct fh_route who_routes[] = {
    {"/flex/who", FH_AUTH_FLEX_TOKEN, FH_ALLOW_POST | FH_ROUTE_CORS, h_who},
    {"/who", FH_AUTH_PUBLIC, FH_ALLOW_GET | FH_ALLOW_POST, h_who},
};

static void
who(struct fh_req *req, struct fh_resp *resp, const char *path,
    const char *form)
{
	char u[64], *envp[4];
	char m[] = "REQUEST_METHOD=POST";
	char ct[] = "CONTENT_TYPE=application/x-www-form-urlencoded";

	snprintf(u, sizeof(u), "REQUEST_URI=%s", path);
	envp[0] = m;
	envp[1] = u;
	envp[2] = ct;
	envp[3] = NULL;
	fh_req_init(req);
	fh_resp_init(resp);
	ck_assert_int_eq(fh_req_parse(req, envp, form, strlen(form)), FH_OK);
	(void)fh_dispatch(&ctx, who_routes, FH_NITEMS(who_routes), req, resp);
}

START_TEST(test_token_per_request)
{
	struct fh_req  req;
	struct fh_resp resp;

	ctx.token_check = fake_token_check;
	who(&req, &resp, "/flex/who", "Token=alice");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), "alice");
	ck_assert_str_eq(fh_auth_result_name(req.auth.result), "flex-token");
	fh_resp_release(&resp);

	/* the same request struct routed again (a serve loop that reused
	 * it): the dispatcher starts from nothing */
	free(req.path);
	req.path = strdup("/who");
	ck_assert_ptr_nonnull(req.path);
	fh_resp_init(&resp);
	ck_assert_int_eq(
	    fh_dispatch(&ctx, who_routes, FH_NITEMS(who_routes), &req, &resp),
	    FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), "-");
	ck_assert_int_eq(req.auth.result, FH_AUTHR_PUBLIC);
	fh_resp_release(&resp);
	fh_req_release(&req);

	/* the next request on a public route does not see alice */
	who(&req, &resp, "/who", "a=1");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), "-");
	fh_resp_release(&resp);
	fh_req_release(&req);

	/* nor does a refused one on the Flex route */
	who(&req, &resp, "/flex/who", "Token=mallory");
	ck_assert_int_eq(resp.status, 403);
	ck_assert_str_eq(req.auth.token.identity, "");
	ck_assert_str_eq(
	    fh_auth_result_name(req.auth.result), "denied:invalid-token");
	ck_assert(fh_auth_denied(req.auth.result));
	fh_resp_release(&resp);
	fh_req_release(&req);
	ctx.token_check = NULL;
}
END_TEST

/* Every auth result has its own access-line word; refusals say so. */
START_TEST(test_auth_result_names)
{
	int i, j;

	for (i = 0; i < FH_AUTHR__MAX; i++) {
		const char *n = fh_auth_result_name((enum fh_auth_result)i);

		ck_assert_ptr_nonnull(n);
		ck_assert_int_eq(fh_auth_denied((enum fh_auth_result)i),
		    strncmp(n, "denied:", 7) == 0);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(
			    n, fh_auth_result_name((enum fh_auth_result)j));
	}
	ck_assert_str_eq(fh_auth_result_name(FH_AUTHR__MAX), "none");
	ck_assert(!fh_auth_denied(FH_AUTHR__MAX));
}
END_TEST

/* fh_serve_detach(): a process an after-job forks (the voicemail email's
 * worker) takes no blocked signal from the serve loop, which blocks
 * SIGTERM and SIGINT while it handles a request */
START_TEST(test_serve_detach_unblocks)
{
	sigset_t term, cur;
	pid_t	 pid;
	int	 st = -1;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &term, NULL), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fh_serve_detach();
		if (sigprocmask(SIG_SETMASK, NULL, &cur) != 0)
			_exit(2);
		_exit(sigismember(&cur, SIGTERM) || sigismember(&cur, SIGINT));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(sigprocmask(SIG_UNBLOCK, &term, NULL), 0);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("fcgi");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, NULL);
	tcase_add_checked_fixture(limits, setup, NULL);
	tcase_add_loop_test(
	    core, test_dispatch, 0, (int)(sizeof(dcases) / sizeof(dcases[0])));
	tcase_add_test(core, test_cors_list);
	tcase_add_test(core, test_unconfigured);
	tcase_add_test(core, test_format);
	tcase_add_test(core, test_stream);
	tcase_add_test(core, test_stream_dispatch);
	tcase_add_loop_test(core, test_create_dedupe, 0, 2);
	tcase_add_loop_test(core, test_create_dedupe_busy, 0, 2);
	tcase_add_loop_test(limits, test_idem_token, 0, FH_NITEMS(idem_cases));
	tcase_add_test(core, test_after);
	tcase_add_test(core, test_token_per_request);
	tcase_add_test(core, test_auth_result_names);
	tcase_add_test(core, test_serve_detach_unblocks);
	tcase_add_test(limits, test_body_cap);
	tcase_add_loop_test(limits, test_too_many_pairs, 0, 2);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
