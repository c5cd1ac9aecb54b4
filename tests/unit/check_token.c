/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_token.c - the Flex token check (docs/design/platform.md#flex-token).
 *
 * "core" and "limits" run fh_token_parse() over tables of IAM answers and
 * fh_token_check() on requests that must be refused without asking IAM
 * (no REST client: a check that reached IAM would answer FH_EUNAVAIL, not
 * FH_ETOKEN).  "iam" runs fh_token_check() against the scripted loopback
 * server of fh_stub.h, which records every request it reads, so a test can
 * count the IAM calls (cache hits make none) and read what was sent.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem() */
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "lib/codec.h"
#include "lib/fcgi.h"
#include "fh_check.h"
#include "lib/rest.h"
#include "flex/token.h"
#include "fh_stub.h"

#define TEST_SID "AC0123456789abcdef0123456789abcdef"
#define TEST_WK "WK0123456789abcdef0123456789abcdef"
#define IAM_PATH "/v1/Accounts/" TEST_SID "/Tokens/validate"
#define REQ_SEP "\n\036\n" /* between logged requests */
#define MAX_STEPS (FH_TOKEN_CACHE_SIZE + 8)

/* ------------------------------------------------------- fh_token_parse */

struct pcase {
	long	    status;
	const char *body;
	enum fh_err want;
	const char *identity; /* on FH_OK */
	const char *worker;
	const char *roles;
	long long   exp_ms;
};

#define VALID_ANSWER \
	"{\"valid\":true,\"code\":0,\"message\":null," \
	"\"expiration\":\"2018-09-24T23:22:44.240Z\"," \
	"\"realm_user_id\":\"u@example.com\"," \
	"\"identity\":\"u_40example_2Dcom\"," \
	"\"roles\":[\"agent\"],\"worker_sid\":\"" TEST_WK "\"}"

static const struct pcase pcases[] = {
    /* the documented answer */
    {200, VALID_ANSWER, FH_OK, "u_40example_2Dcom", TEST_WK, "agent",
	1537831364240LL},
    {201, "{\"valid\":true}", FH_OK, "", "", "", 0},
    /* valid:false at any status */
    {200,
	"{\"valid\":false,\"code\":20101,\"message\":\"Invalid Access "
	"Token\"}",
	FH_ETOKEN, NULL, NULL, NULL, 0},
    {401, "{\"valid\":false,\"code\":20101,\"message\":\"expired\"}", FH_ETOKEN,
	NULL, NULL, NULL, 0},
    {500, "{\"valid\":false}", FH_ETOKEN, NULL, NULL, NULL, 0},
    /* only a JSON boolean decides */
    {200, "{\"valid\":\"true\"}", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {200, "{\"valid\":1}", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {200, "{\"valid\":null}", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {200, "{\"valid\":[true]}", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    /* a Twilio error body has no "valid" */
    {401,
	"{\"code\":20003,\"message\":\"Authenticate\",\"more_info\":"
	"\"https://www.twilio.com/docs/errors/20003\",\"status\":401}",
	FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {503, "{\"code\":20503,\"status\":503}", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {429, "{\"code\":20429,\"status\":429}", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    /* valid:true is usable only with a 2xx */
    {500, "{\"valid\":true}", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {302, "{\"valid\":true}", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {0, "{\"valid\":true}", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    /* unparsable or not an object */
    {200, "", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {200, "garbage", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {200, "<html>502 Bad Gateway</html>", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {200, "{\"valid\":true", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {200, "{\"valid\":true} x", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {200, "{\"valid\":true}{\"valid\":true}", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {200, "[{\"valid\":true}]", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {200, "true", FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {200,
	"{\"valid\":true,\"x\":"
	"[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
	FH_EUNAVAIL, NULL, NULL, NULL, 0},
    {200, " {\"valid\":true}\r\n", FH_OK, "", "", "", 0},
    /* expiration: absent, unreadable, offsets */
    {200, "{\"valid\":true,\"identity\":\"a\"}", FH_OK, "a", "", "", 0},
    {200, "{\"valid\":true,\"expiration\":\"tomorrow\"}", FH_OK, "", "", "", 0},
    {200, "{\"valid\":true,\"expiration\":1537831364}", FH_OK, "", "", "", 0},
    {200, "{\"valid\":true,\"expiration\":\"2018-09-24T23:22:44Z\"}", FH_OK, "",
	"", "", 1537831364000LL},
    {200,
	"{\"valid\":true,\"expiration\":\"2018-09-25T01:22:44.240+02:00"
	"\"}",
	FH_OK, "", "", "", 1537831364240LL},
    {200, "{\"valid\":true,\"expiration\":\"2018-09-24T23:22:44.2Z\"}", FH_OK,
	"", "", "", 1537831364200LL},
    {200, "{\"valid\":true,\"expiration\":\"2018-02-30T23:22:44Z\"}", FH_OK, "",
	"", "", 0},
    /* roles: strings only, comma-joined; odd elements left out */
    {200,
	"{\"valid\":true,\"roles\":[\"agent\",\"admin\","
	"\"supervisor\"]}",
	FH_OK, "", "", "agent,admin,supervisor", 0},
    {200,
	"{\"valid\":true,\"roles\":[\"agent\",1,null,\"a,b\",\"\","
	"{\"x\":1},\"admin\"]}",
	FH_OK, "", "", "agent,admin", 0},
    {200, "{\"valid\":true,\"roles\":\"agent\"}", FH_OK, "", "", "", 0},
    {200, "{\"valid\":true,\"roles\":[]}", FH_OK, "", "", "", 0},
    /* identity and worker_sid types */
    {200, "{\"valid\":true,\"identity\":42,\"worker_sid\":null}", FH_OK, "", "",
	"", 0},
    {200, "{\"valid\":true,\"identity\":\"a\\u0000b\"}", FH_OK, "a", "", "", 0},
    {200, "{\"valid\":true,\"worker_sid\":\"WKnothex\"}", FH_OK, "", "", "", 0},
    {200,
	"{\"valid\":true,\"worker_sid\":\"WT0123456789abcdef0123456789"
	"abcdef\"}",
	FH_OK, "", "", "", 0},
    {200, "{\"valid\":true,\"identity\":\"\\u00e9t\\u00e9\"}", FH_OK,
	"\xc3\xa9t\xc3\xa9", "", "", 0},
};

START_TEST(test_parse)
{
	const struct pcase  *c = &pcases[_i];
	struct fh_token_info info;
	long long	     exp = -1;
	enum fh_err	     err;

	memset(&info, 'x', sizeof(info));
	err = fh_token_parse(c->status, c->body, strlen(c->body), &info, &exp);
	ck_assert_msg(err == c->want, "case %d: got %s, want %s", _i,
	    fh_err_name(err), fh_err_name(c->want));
	if (c->want != FH_OK) {
		/* nothing of a refused answer is left behind */
		ck_assert_str_eq(info.identity, "");
		ck_assert_str_eq(info.worker_sid, "");
		ck_assert_str_eq(info.roles, "");
		ck_assert_int_eq(exp, 0);
		return;
	}
	ck_assert_str_eq(info.identity, c->identity);
	ck_assert_str_eq(info.worker_sid, c->worker);
	ck_assert_str_eq(info.roles, c->roles);
	ck_assert_msg(exp == c->exp_ms, "case %d: exp %lld, want %lld", _i, exp,
	    c->exp_ms);
}
END_TEST

/* An identity longer than the field: cut, NUL-terminated, and never in
 * the middle of a UTF-8 sequence. */
START_TEST(test_parse_long_identity)
{
	struct fh_token_info info;
	char		     body[2048], id[1024];
	long long	     exp;
	size_t		     n;
	int		     w;

	/* _i 0: ASCII; 1: two-byte characters; 2: one ASCII byte, then
	 * two-byte characters (the cut falls mid-character) */
	n = 0;
	if (_i == 2)
		id[n++] = 'a';
	while (n + 2 < 600) {
		if (_i == 0)
			id[n++] = 'a';
		else {
			id[n++] = '\xc3';
			id[n++] = '\xa9';
		}
	}
	id[n] = '\0';
	w = snprintf(body, sizeof(body),
	    "{\"valid\":true,\"identity\":\"%s\","
	    "\"roles\":[\"agent\"]}",
	    id);
	ck_assert(w > 0 && (size_t)w < sizeof(body));
	ck_assert_int_eq(
	    fh_token_parse(200, body, (size_t)w, &info, &exp), FH_OK);
	n = strlen(info.identity);
	ck_assert_uint_le(n, sizeof(info.identity) - 1);
	ck_assert_uint_ge(n, sizeof(info.identity) - 4);
	ck_assert(memcmp(info.identity, id, n) == 0);
	ck_assert((((unsigned char)id[n]) & 0xc0) != 0x80);
	ck_assert_str_eq(info.roles, "agent");
}
END_TEST

/* Roles that do not fit whole are left out; the ones before stay. */
START_TEST(test_parse_many_roles)
{
	struct fh_token_info info;
	char		     body[4096];
	long long	     exp;
	size_t		     n = 0, i;
	int		     w;

	w = snprintf(body, sizeof(body), "{\"valid\":true,\"roles\":[");
	n = (size_t)w;
	for (i = 0; i < 40; i++) {
		/* 12 bytes each */
		w = snprintf(body + n, sizeof(body) - n,
		    "%s\"role%02zu-xxxxx\"", i > 0 ? "," : "", i);
		ck_assert(w > 0 && (size_t)w < sizeof(body) - n);
		n += (size_t)w;
	}
	w = snprintf(body + n, sizeof(body) - n, ",\"%0300d\",\"ok\"]}", 0);
	ck_assert(w > 0 && (size_t)w < sizeof(body) - n);
	n += (size_t)w;
	ck_assert_int_eq(fh_token_parse(200, body, n, &info, &exp), FH_OK);
	/* 19 roles of 12 bytes and 18 commas = 246; the 20th would need
	 * 259 > 255, and so would "ok" after more: 246 + 3 = 249 fits */
	ck_assert_uint_lt(strlen(info.roles), sizeof(info.roles));
	ck_assert_ptr_nonnull(strstr(info.roles, "role00-xxxxx,role01-xxxxx"));
	ck_assert_ptr_nonnull(strstr(info.roles, "role18-xxxxx,ok"));
	ck_assert_ptr_null(strstr(info.roles, "role19"));
	ck_assert_ptr_null(strstr(info.roles, "000000"));
	ck_assert(info.roles[strlen(info.roles) - 1] != ',');
}
END_TEST

START_TEST(test_parse_null_body)
{
	struct fh_token_info info;
	long long	     exp = 5;

	ck_assert_int_eq(
	    fh_token_parse(200, NULL, 0, &info, &exp), FH_EUNAVAIL);
	ck_assert_int_eq(exp, 0);
}
END_TEST

/* -------------------------------------------- requests and the fixture */

static struct fh_config cfg;
static struct fh_ctx	ctx;
static char		cfg_sid[] = TEST_SID;
static char		cfg_token[] = "auth-token-not-real";
static char		cfg_url[64];
static char		cfg_cors[] = "*";

/* A parsed request: method, URI (with any query), content type and body. */
static void
make_req(struct fh_req *req, const char *method, const char *uri,
    const char *ctype, const char *body, size_t len)
{
	char   m[32], u[1024], ct[128], *envp[4];
	size_t n = 0;

	ck_assert_int_lt(snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method),
	    (int)sizeof(m));
	ck_assert_int_lt(
	    snprintf(u, sizeof(u), "REQUEST_URI=%s", uri), (int)sizeof(u));
	envp[n++] = m;
	envp[n++] = u;
	if (ctype != NULL) {
		ck_assert_int_lt(
		    snprintf(ct, sizeof(ct), "CONTENT_TYPE=%s", ctype),
		    (int)sizeof(ct));
		envp[n++] = ct;
	}
	envp[n] = NULL;
	fh_req_init(req);
	ck_assert_int_eq(fh_req_parse(req, envp, body, len), FH_OK);
}

/* What the last check_req() found (req->auth outlives the request). */
static struct fh_req_auth last;
#define LAST_AUTH fh_auth_result_name(last.result)

/* fh_token_check() on req; its outcome is kept in last. */
static enum fh_err
check_req(struct fh_req *req)
{
	enum fh_err err;

	err = fh_token_check(&ctx, req);
	last = req->auth;
	return err;
}

/* fh_token_check() on a form POST whose body is form. */
static enum fh_err
check_form(const char *form)
{
	struct fh_req req;
	enum fh_err   err;

	make_req(&req, "POST", "/features/callback-and-voicemail/flex/x",
	    "application/x-www-form-urlencoded", form, strlen(form));
	err = check_req(&req);
	fh_req_release(&req);
	return err;
}

static void
setup(void)
{
	memset(&last, 0, sizeof(last));
	memset(&cfg, 0, sizeof(cfg));
	cfg.account_sid = cfg_sid;
	cfg.auth_token = cfg_token;
	cfg.cors_origins = cfg_cors;
	cfg.retry_limit = 2;
	cfg.min_backoff_ms = 1;
	cfg.max_backoff_ms = 5;
	cfg.deadline_ms = 5000;
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	ctx.prog = "check_token";
	fh_log_init(&ctx.log, "check_token", FH_LOG_DEBUG);
	ctx.log.out = tmpfile();
	ck_assert_ptr_nonnull(ctx.log.out);
	ctx.token_check = fh_token_check;
	fh_token_cache_clear();
}

static void
teardown(void)
{
	fh_rest_free(ctx.rest);
	ctx.rest = NULL;
	if (ctx.log.out != NULL)
		fclose(ctx.log.out);
	ctx.log.out = NULL;
	fh_token_cache_clear();
}

/* The whole log so far. */
static const char *
log_text(void)
{
	static char text[65536];
	size_t	    n;

	fflush(ctx.log.out);
	rewind(ctx.log.out);
	n = fread(text, 1, sizeof(text) - 1, ctx.log.out);
	text[n] = '\0';
	fseek(ctx.log.out, 0, SEEK_END);
	return text;
}

/* ------------------------------------------ refused without asking IAM */

struct rcase {
	const char *method, *uri, *ctype, *body;
	const char *auth; /* req->auth.result afterwards */
};

static char long_form[6 + FH_TOKEN_MAX_LEN + 2];

static const struct rcase rcases[] = {
    {"POST", "/f", "application/x-www-form-urlencoded", "", "denied:no-token"},
    {"POST", "/f", "application/x-www-form-urlencoded",
	"Token=", "denied:no-token"},
    {"POST", "/f", "application/x-www-form-urlencoded", "token=abc",
	"denied:no-token"},
    {"POST", "/f", "application/x-www-form-urlencoded",
	"numberToCall=%2B15555550123", "denied:no-token"},
    /* the query string is never read for the token */
    {"POST", "/f?Token=abc", "application/x-www-form-urlencoded", "x=1",
	"denied:no-token"},
    {"POST", "/f?Token=abc", NULL, "", "denied:no-token"},
    {"POST", "/f?Token=abc", "application/json", "{\"x\":\"1\"}",
	"denied:no-token"},
    {"POST", "/f", "application/json", "{\"Token\":\"\"}", "denied:no-token"},
    {"POST", "/f", "application/json", "{\"Token\":null}", "denied:no-token"},
    /* the first Token counts, even when empty */
    {"POST", "/f", "application/x-www-form-urlencoded", "Token=&Token=abc",
	"denied:no-token"},
    /* what no JWT can hold */
    {"POST", "/f", "application/x-www-form-urlencoded", "Token=a+b",
	"denied:bad-token"},
    {"POST", "/f", "application/x-www-form-urlencoded", "Token=a%00b",
	"denied:bad-token"},
    {"POST", "/f", "application/x-www-form-urlencoded", "Token=a%0Ab",
	"denied:bad-token"},
    {"POST", "/f", "application/x-www-form-urlencoded", "Token=%C3%A9",
	"denied:bad-token"},
    {"POST", "/f", "application/json", "{\"Token\":\"a\\\"b c\"}",
	"denied:bad-token"},
    {"POST", "/f", "application/json", "{\"Token\":\"a\\\"b\"}",
	"denied:bad-token"},
    {"POST", "/f", "application/json", "{\"Token\":\"a\\\\b\"}",
	"denied:bad-token"},
    {"POST", "/f", "application/x-www-form-urlencoded", "Token=a%3Cb",
	"denied:bad-token"},
    {"POST", "/f", "application/x-www-form-urlencoded", "Token=a%25b",
	"denied:bad-token"},
    {"POST", "/f", "application/x-www-form-urlencoded", "Token=a%7Eb",
	"denied:bad-token"},
    {"POST", "/f", "application/x-www-form-urlencoded", long_form,
	"denied:bad-token"},
};

START_TEST(test_refused)
{
	const struct rcase *c = &rcases[_i];
	struct fh_req	    req;

	memset(long_form, 'a', sizeof(long_form) - 1);
	memcpy(long_form, "Token=", 6); /* FH_TOKEN_MAX_LEN + 1 bytes */
	long_form[sizeof(long_form) - 1] = '\0';
	ck_assert_uint_eq(strlen(long_form) - 6, FH_TOKEN_MAX_LEN + 1);

	make_req(&req, c->method, c->uri, c->ctype, c->body, strlen(c->body));
	/* no REST client: reaching IAM would give FH_EUNAVAIL */
	ck_assert_int_eq(check_req(&req), FH_ETOKEN);
	ck_assert_str_eq(LAST_AUTH, c->auth);
	ck_assert_str_eq(last.token.identity, "");
	fh_req_release(&req);
}
END_TEST

/* Tokens that pass the local checks go to IAM: with no client, 503. */
START_TEST(test_no_client_unavailable)
{
	static char form[16 + FH_TOKEN_MAX_LEN];

	memset(form, 'b', sizeof(form) - 1);
	memcpy(form, "Token=", 6);
	form[6 + FH_TOKEN_MAX_LEN] = '\0'; /* exactly the maximum */
	ck_assert_int_eq(check_form(form), FH_EUNAVAIL);
	ck_assert_str_eq(LAST_AUTH, "denied:iam-unavailable");
	ck_assert_int_eq(check_form("Token=eyJ.a-b_c.d%3D"), FH_EUNAVAIL);
	ck_assert_int_eq(check_form("Token=ab%2Bc%2Fd"), FH_EUNAVAIL);
	ck_assert_int_eq(check_form("Token=0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz"),
	    FH_EUNAVAIL);
	ck_assert_ptr_null(strstr(log_text(), "eyJ.a-b_c.d="));
}
END_TEST

/* ------------------------------------------------------- the IAM server */

static struct fh_stub_step steps[MAX_STEPS];
static char		   bodies[MAX_STEPS][512];
static size_t		   nsteps;
static struct fh_stub	   srv;

static void
server_start(void)
{
	fh_stub_run(&srv, steps, nsteps);
	fh_stub_point(&srv, &cfg, cfg_url, sizeof(cfg_url));
	ck_assert_int_eq(fh_rest_new(&ctx.rest, &cfg, &ctx.log), FH_OK);
}

/* Everything the server has read so far, REQ_SEP after each request (the
 * server keeps running). */
static const char *
server_seen(void)
{
	return fh_stub_text(&srv, REQ_SEP);
}

static size_t
server_count(void)
{
	return fh_stub_load(&srv);
}

static void
server_stop(void)
{
	fh_stub_stop(&srv);
}

static void
iam_setup(void)
{
	setup();
	memset(steps, 0, sizeof(steps));
	memset(bodies, 0, sizeof(bodies));
	nsteps = 0;
}

static void
iam_teardown(void)
{
	server_stop();
	teardown();
}

/* An ISO 8601 UTC time offset_ms from now, with milliseconds. */
static void
iso_in(long long offset_ms, char *out, size_t outlen)
{
	struct timespec ts;
	struct tm	tm;
	long long	ms;
	time_t		t;
	size_t		n;

	ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &ts), 0);
	ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + offset_ms;
	t = (time_t)(ms / 1000);
	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
	ck_assert_uint_gt(n, 0);
	ck_assert_int_lt(snprintf(out + n, outlen - n, ".%03lldZ", ms % 1000),
	    (int)(outlen - n));
}

/* Script answer i: valid:true for identity, expiring offset_ms from now
 * (no expiration when offset_ms is 0). */
static void
step_valid(size_t i, const char *identity, long long offset_ms)
{
	char exp[64];
	int  w;

	exp[0] = '\0';
	if (offset_ms != 0)
		iso_in(offset_ms, exp, sizeof(exp));
	steps[i].status = 200;
	steps[i].body = bodies[i];
	w = snprintf(bodies[i], sizeof(bodies[i]),
	    "{\"valid\":true,\"code\":0,\"message\":null,%s%s%s"
	    "\"realm_user_id\":\"u@example.com\",\"identity\":\"%s\","
	    "\"roles\":[\"agent\",\"supervisor\"],\"worker_sid\":\"" TEST_WK
	    "\"}",
	    offset_ms != 0 ? "\"expiration\":\"" : "", exp,
	    offset_ms != 0 ? "\"," : "", identity);
	ck_assert(w > 0 && (size_t)w < sizeof(bodies[i]));
	if (i + 1 > nsteps)
		nsteps = i + 1;
}

static void
step_raw(size_t i, int status, const char *body)
{
	steps[i].status = status;
	ck_assert_uint_lt(strlen(body), sizeof(bodies[i]));
	memcpy(bodies[i], body, strlen(body) + 1);
	steps[i].body = bodies[i];
	if (i + 1 > nsteps)
		nsteps = i + 1;
}

/* ------------------------------------------------------------ IAM tests */

START_TEST(test_accept_then_cache)
{
	const char *seen, *log;
	char	    hash[65], prefix[16];

	step_valid(0, "u_40example_2Dcom", 3600 * 1000LL);
	server_start();
	ck_assert_int_eq(check_form("numberToCall=%2B15555550123&"
				    "Token=eyJhbGciOi.JzdWIiOi.sig-nature_1"),
	    FH_OK);
	ck_assert_str_eq(LAST_AUTH, "flex-token");
	ck_assert_str_eq(last.token.identity, "u_40example_2Dcom");
	ck_assert_str_eq(last.token.worker_sid, TEST_WK);
	ck_assert_str_eq(last.token.roles, "agent,supervisor");
	ck_assert_uint_eq(server_count(), 1);

	/* what went to IAM: the path, JSON body, headers */
	seen = server_seen();
	ck_assert_ptr_nonnull(strstr(seen, "POST " IAM_PATH " HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strstr(seen,
	    "\r\nContent-Type: "
	    "application/json\r\n"));
	ck_assert_ptr_nonnull(strstr(seen, "\r\nCache-Control: no-cache\r\n"));
	ck_assert_ptr_nonnull(strstr(seen, "\r\nAuthorization: Basic "));
	ck_assert_ptr_nonnull(strstr(seen,
	    "\r\n\r\n{\"token\":"
	    "\"eyJhbGciOi.JzdWIiOi.sig-nature_1\"}" REQ_SEP));

	/* the same token again: from the cache, IAM not asked */
	memset(&last, 0, sizeof(last));
	ck_assert_int_eq(
	    check_form("Token=eyJhbGciOi.JzdWIiOi.sig-nature_1"), FH_OK);
	ck_assert_str_eq(LAST_AUTH, "flex-token");
	ck_assert_str_eq(last.token.identity, "u_40example_2Dcom");
	ck_assert_str_eq(last.token.roles, "agent,supervisor");
	ck_assert_uint_eq(server_count(), 1);

	/* a token differing in one byte is not a hit (418: unusable) */
	ck_assert_int_eq(
	    check_form("Token=eyJhbGciOi.JzdWIiOi.sig-nature_2"), FH_EUNAVAIL);
	ck_assert_str_eq(last.token.identity, "");
	ck_assert_uint_eq(server_count(), 2);

	/* the log: no token, no hash prefix past 8 hex digits */
	log = log_text();
	ck_assert_ptr_null(strstr(log, "eyJhbGciOi"));
	ck_assert_ptr_null(strstr(log, "sig-nature"));
	fh_sha256_hex("eyJhbGciOi.JzdWIiOi.sig-nature_1", 32, hash);
	memcpy(prefix, hash, 9);
	prefix[9] = '\0';
	ck_assert_ptr_null(strstr(log, prefix));
	prefix[8] = '\0';
	ck_assert_ptr_nonnull(strstr(log, prefix));
	ck_assert_ptr_nonnull(strstr(log, "u_40example_2Dcom"));
}
END_TEST

/* The JSON body is read like a form body. */
START_TEST(test_json_body)
{
	struct fh_req	  req;
	static const char body[] = "{\"Token\":\"abc.def\",\"numberToCall\":"
				   "\"+15555550123\"}";

	step_valid(0, "json", 3600 * 1000LL);
	server_start();
	make_req(&req, "POST", "/f?Token=other", "application/json", body,
	    sizeof(body) - 1);
	ck_assert_int_eq(check_req(&req), FH_OK);
	fh_req_release(&req);
	ck_assert_str_eq(last.token.identity, "json");
	ck_assert_ptr_nonnull(
	    strstr(server_seen(), "\r\n\r\n{\"token\":\"abc.def\"}" REQ_SEP));
	ck_assert_ptr_null(strstr(server_seen(), "other"));
}
END_TEST

/* IAM's rejections are remembered for FH_TOKEN_REJECT_MS, apart from the
 * accepted tokens: the same bad token again costs no IAM call. */
START_TEST(test_invalid_cached)
{
	step_raw(0, 200,
	    "{\"valid\":false,\"code\":20101,\"message\":"
	    "\"Invalid Access Token\"}");
	step_raw(1, 401, "{\"valid\":false,\"message\":\"expired\"}");
	step_valid(2, "later", 3600 * 1000LL);
	server_start();
	ck_assert_int_eq(check_form("Token=tok-a"), FH_ETOKEN);
	ck_assert_str_eq(LAST_AUTH, "denied:invalid-token");
	ck_assert_str_eq(last.token.identity, "");
	ck_assert_int_eq(check_form("Token=tok-a"), FH_ETOKEN);
	ck_assert_str_eq(LAST_AUTH, "denied:invalid-token");
	ck_assert_uint_eq(server_count(), 1); /* remembered */
	ck_assert_int_eq(check_form("Token=tok-b"), FH_ETOKEN);
	ck_assert_uint_eq(server_count(), 2); /* a 401 is not retried */
	/* forgotten (as after FH_TOKEN_REJECT_MS): IAM is asked again */
	fh_token_cache_clear();
	ck_assert_int_eq(check_form("Token=tok-a"), FH_OK);
	ck_assert_str_eq(last.token.identity, "later");
	ck_assert_uint_eq(server_count(), 3);
	ck_assert_ptr_null(strstr(log_text(), "Invalid Access Token"));
}
END_TEST

/* IAM answering 429: one retry at most, then no IAM call for a second
 * (the Retry-After, 1 s when absent): other tokens get 503 at once, a
 * cached one is still accepted. */
START_TEST(test_iam_429_cools_down)
{
	struct timespec ts = {1, 100 * 1000000L};

	step_valid(0, "known", 3600 * 1000LL);
	step_raw(1, 429, "{\"code\":20429,\"status\":429}");
	step_raw(2, 429, "{\"code\":20429,\"status\":429}");
	step_raw(3, 429, "{\"code\":20429,\"status\":429}");
	step_valid(4, "after", 3600 * 1000LL);
	server_start();
	ck_assert_int_eq(check_form("Token=known"), FH_OK);
	ck_assert_int_eq(check_form("Token=t1"), FH_EUNAVAIL);
	ck_assert_str_eq(LAST_AUTH, "denied:iam-unavailable");
	/* retry_limit 2 would make 3 attempts: a 429 is retried once */
	ck_assert_uint_eq(server_count(), 3);
	ck_assert_int_eq(check_form("Token=t2"), FH_EUNAVAIL);
	ck_assert_str_eq(LAST_AUTH, "denied:iam-cooling-down");
	ck_assert_int_eq(check_form("Token=t1"), FH_EUNAVAIL);
	ck_assert_uint_eq(server_count(), 3);
	ck_assert_int_eq(check_form("Token=known"), FH_OK);
	ck_assert_str_eq(last.token.identity, "known");
	ck_assert_uint_eq(server_count(), 3);
	/* a second later IAM is asked again: 429, and the one retry works */
	nanosleep(&ts, NULL);
	ck_assert_int_eq(check_form("Token=t2"), FH_OK);
	ck_assert_str_eq(last.token.identity, "after");
	ck_assert_uint_eq(server_count(), 5);
}
END_TEST

/* Without a future expiration nothing is cached. */
START_TEST(test_no_future_expiration)
{
	step_valid(0, "past", -60 * 1000LL);
	step_valid(1, "past", -60 * 1000LL);
	step_valid(2, "none", 0);
	step_valid(3, "none", 0);
	server_start();
	ck_assert_int_eq(check_form("Token=past"), FH_OK);
	ck_assert_int_eq(check_form("Token=past"), FH_OK);
	ck_assert_uint_eq(server_count(), 2);
	ck_assert_int_eq(check_form("Token=none"), FH_OK);
	ck_assert_str_eq(last.token.identity, "none");
	ck_assert_int_eq(check_form("Token=none"), FH_OK);
	ck_assert_uint_eq(server_count(), 4);
}
END_TEST

/* An entry lives until the token's expiration when that comes first. */
START_TEST(test_cache_until_expiration)
{
	struct timespec ts = {1, 600 * 1000000L};

	step_valid(0, "short", 1500);
	step_valid(1, "short", 3600 * 1000LL);
	server_start();
	ck_assert_int_eq(check_form("Token=short"), FH_OK);
	ck_assert_int_eq(check_form("Token=short"), FH_OK);
	ck_assert_uint_eq(server_count(), 1);
	nanosleep(&ts, NULL);
	ck_assert_int_eq(check_form("Token=short"), FH_OK);
	ck_assert_uint_eq(server_count(), 2);
	fh_token_cache_clear();
	/* the script has ended: 418, no usable answer */
	ck_assert_int_eq(check_form("Token=short"), FH_EUNAVAIL);
	ck_assert_uint_eq(server_count(), 3);
}
END_TEST

/* IAM unreachable, failing or unreadable: 503, nothing cached. */
START_TEST(test_unavailable)
{
	/* 503 and 429 are retried (retry_limit 2: three attempts) */
	step_raw(0, 503, "{\"code\":20503,\"status\":503}");
	step_raw(1, 503, "{\"code\":20503,\"status\":503}");
	step_raw(2, 503, "{\"code\":20503,\"status\":503}");
	/* 401 with Twilio's 20003: our credentials, not the token */
	step_raw(3, 401,
	    "{\"code\":20003,\"message\":\"Authenticate\","
	    "\"status\":401}");
	step_raw(4, 200, "{\"valid\":\"true\"}");
	step_raw(5, 200, "not json");
	steps[6].drop = 1;
	steps[7].drop = 1;
	steps[8].drop = 1;
	nsteps = 9;
	server_start();
	ck_assert_int_eq(check_form("Token=t1"), FH_EUNAVAIL);
	ck_assert_str_eq(LAST_AUTH, "denied:iam-unavailable");
	ck_assert_uint_eq(server_count(), 3);
	ck_assert_int_eq(check_form("Token=t1"), FH_EUNAVAIL);
	ck_assert_uint_eq(server_count(), 4);
	ck_assert_int_eq(check_form("Token=t1"), FH_EUNAVAIL);
	ck_assert_int_eq(check_form("Token=t1"), FH_EUNAVAIL);
	ck_assert_uint_eq(server_count(), 6);
	/* dropped connections: retried (idempotent), then 503 */
	ck_assert_int_eq(check_form("Token=t1"), FH_EUNAVAIL);
	ck_assert_uint_eq(server_count(), 9);
	ck_assert_str_eq(last.token.identity, "");
}
END_TEST

START_TEST(test_refused_connection)
{
	int fd, port;

	/* a port bound but not listening: refused */
	fd = fh_stub_socket(-1, &port);
	ck_assert_int_gt(
	    snprintf(cfg_url, sizeof(cfg_url), "http://127.0.0.1:%d", port), 0);
	cfg.iam_url = cfg_url;
	ck_assert_int_eq(fh_rest_new(&ctx.rest, &cfg, &ctx.log), FH_OK);
	ck_assert_int_eq(check_form("Token=t1"), FH_EUNAVAIL);
	ck_assert_str_eq(LAST_AUTH, "denied:iam-unavailable");
	close(fd);
}
END_TEST

/* A full cache drops the entry that expires first (not the oldest). */
START_TEST(test_eviction)
{
	char   form[64];
	size_t i;

	/* tok100 expires in 2 minutes, every other one in 5 (the cap) */
	for (i = 0; i <= FH_TOKEN_CACHE_SIZE + 1; i++)
		step_valid(i, i == 100 ? "soon" : "other",
		    i == 100 ? 120 * 1000LL : 3600 * 1000LL);
	server_start();
	for (i = 0; i < FH_TOKEN_CACHE_SIZE; i++) {
		ck_assert_int_lt(
		    snprintf(form, sizeof(form), "Token=tok%zu", i),
		    (int)sizeof(form));
		ck_assert_int_eq(check_form(form), FH_OK);
	}
	ck_assert_uint_eq(server_count(), FH_TOKEN_CACHE_SIZE);
	/* all of them are cached */
	ck_assert_int_eq(check_form("Token=tok100"), FH_OK);
	ck_assert_str_eq(last.token.identity, "soon");
	ck_assert_int_eq(check_form("Token=tok0"), FH_OK);
	ck_assert_int_eq(check_form("Token=tok255"), FH_OK);
	ck_assert_uint_eq(server_count(), FH_TOKEN_CACHE_SIZE);
	/* one more: tok100 goes, the oldest (tok0) stays */
	ck_assert_int_eq(check_form("Token=tok-new"), FH_OK);
	ck_assert_uint_eq(server_count(), FH_TOKEN_CACHE_SIZE + 1);
	ck_assert_int_eq(check_form("Token=tok0"), FH_OK);
	ck_assert_int_eq(check_form("Token=tok99"), FH_OK);
	ck_assert_int_eq(check_form("Token=tok101"), FH_OK);
	ck_assert_int_eq(check_form("Token=tok-new"), FH_OK);
	ck_assert_uint_eq(server_count(), FH_TOKEN_CACHE_SIZE + 1);
	ck_assert_int_eq(check_form("Token=tok100"), FH_OK);
	ck_assert_str_eq(last.token.identity, "other");
	ck_assert_uint_eq(server_count(), FH_TOKEN_CACHE_SIZE + 2);
}
END_TEST

/* Through fh_dispatch(): 403 / 503 JSON bodies with the CORS headers, and
 * a handler that sees req->auth.token. */
static enum fh_err
h_who(struct fh_ctx *c, const struct fh_req *req, struct fh_resp *resp)
{
	(void)c;
	fh_resp_empty(resp, 200);
	resp->content_type = "text/plain";
	return fh_buf_addstr(&resp->body, req->auth.token.identity);
}

static const struct fh_route routes[] = {
    {"/features/callback-and-voicemail/flex/x", FH_AUTH_FLEX_TOKEN,
	FH_ALLOW_POST | FH_ROUTE_CORS, h_who},
};

static void
dispatch(const char *form, struct fh_resp *resp)
{
	struct fh_req req;

	make_req(&req, "POST", "/features/callback-and-voicemail/flex/x",
	    "application/x-www-form-urlencoded", form, strlen(form));
	fh_resp_init(resp);
	(void)fh_dispatch(&ctx, routes, FH_NITEMS(routes), &req, resp);
	fh_req_release(&req);
}

static void
assert_cors(const struct fh_resp *resp)
{
	ck_assert_str_eq(
	    fh_resp_get_header(resp, "Access-Control-Allow-Origin"), "*");
	ck_assert_str_eq(
	    fh_resp_get_header(resp, "Access-Control-Allow-Methods"),
	    "POST, OPTIONS");
	ck_assert_str_eq(
	    fh_resp_get_header(resp, "Access-Control-Allow-Headers"),
	    "Content-Type, Authorization");
	ck_assert_str_eq(
	    fh_resp_get_header(resp, "Access-Control-Max-Age"), "600");
}

START_TEST(test_dispatch)
{
	struct fh_resp resp;

	step_valid(0, "agent-1", 3600 * 1000LL);
	step_raw(1, 200, "{\"valid\":false}");
	step_raw(2, 200, "nope");
	server_start();

	dispatch("Token=good", &resp);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), "agent-1");
	assert_cors(&resp);
	fh_resp_release(&resp);

	dispatch("Token=bad", &resp);
	ck_assert_int_eq(resp.status, 403);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "{\"success\":false,"
	    "\"message\":\"invalid or missing Flex token\",\"code\":null,"
	    "\"more_info\":null}");
	assert_cors(&resp);
	fh_resp_release(&resp);

	dispatch("Token=down", &resp);
	ck_assert_int_eq(resp.status, 503);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "{\"success\":false,"
	    "\"message\":\"token check unavailable\",\"code\":null,"
	    "\"more_info\":null}");
	assert_cors(&resp);
	fh_resp_release(&resp);

	dispatch("x=1", &resp);
	ck_assert_int_eq(resp.status, 403);
	assert_cors(&resp);
	fh_resp_release(&resp);
	ck_assert_uint_eq(server_count(), 3);

	/* the cached identity reaches the handler */
	dispatch("Token=good", &resp);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), "agent-1");
	fh_resp_release(&resp);
	ck_assert_uint_eq(server_count(), 3);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("token");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");
	TCase *iam = tcase_create("iam");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_loop_test(core, test_parse, 0, (int)FH_NITEMS(pcases));
	tcase_add_test(core, test_parse_null_body);
	tcase_add_loop_test(limits, test_parse_long_identity, 0, 3);
	tcase_add_test(limits, test_parse_many_roles);
	tcase_add_loop_test(limits, test_refused, 0, (int)FH_NITEMS(rcases));
	tcase_add_test(limits, test_no_client_unavailable);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);

	tcase_add_checked_fixture(iam, iam_setup, iam_teardown);
	tcase_set_timeout(iam, 120); /* valgrind is slow */
	tcase_add_test(iam, test_accept_then_cache);
	tcase_add_test(iam, test_json_body);
	tcase_add_test(iam, test_invalid_cached);
	tcase_add_test(iam, test_iam_429_cools_down);
	tcase_add_test(iam, test_no_future_expiration);
	tcase_add_test(iam, test_cache_until_expiration);
	tcase_add_test(iam, test_unavailable);
	tcase_add_test(iam, test_refused_connection);
	tcase_add_test(iam, test_eviction);
	tcase_add_test(iam, test_dispatch);
	suite_add_tcase(s, iam);
	return s;
}

FH_CHECK_MAIN(suite)
