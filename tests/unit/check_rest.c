/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_rest.c - unit tests of the REST client.
 *
 * "core" and "limits" test the pure parts (backoff, Retry-After, base URLs,
 * error bodies) from tables.  "transfer" runs real requests against the
 * scripted loopback server of fh_stub.h; what it recorded becomes one mark
 * per request, so a test can tell how many attempts reached it and of
 * which method.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem() */
#endif

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "fh_check.h"
#include "fh_stub.h"
#include "lib/rest.h"

#define TEST_SID "AC0123456789abcdef0123456789abcdef"
#define TEST_TOKEN "auth-token-not-real"
#define TEST_KEY "SK0123456789abcdef0123456789abcdef"
#define TEST_SECRET "api-secret-not-real"
/* base64(TEST_SID ":" TEST_TOKEN) and base64(TEST_KEY ":" TEST_SECRET) */
#define AUTH_TOKEN_HDR \
	"Authorization: Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEy" \
	"MzQ1Njc4OWFiY2RlZjphdXRoLXRva2VuLW5vdC1yZWFs"
#define AUTH_KEY_HDR \
	"Authorization: Basic U0swMTIzNDU2Nzg5YWJjZGVmMDEy" \
	"MzQ1Njc4OWFiY2RlZjphcGktc2VjcmV0LW5vdC1yZWFs"

/* ---------------------------------------------------------------- backoff */

struct backoff_cfg {
	long min, max;
};

static const struct backoff_cfg backoff_cfgs[] = {
    {100, 2000},
    {1, 5},
    {0, 0},
    {0, 2000},
    {100, 0},
    {2000, 100},
    {-5, 10},
    {10, -5},
    {1, LONG_MAX},
    {LONG_MAX / 2, LONG_MAX},
    {LONG_MAX, LONG_MAX},
    {3, 4294967295L},
    {1, 4294967296L},
};

static const uint32_t rnds[] = {
    0,
    1,
    2,
    3,
    1000,
    65535,
    65536,
    0x7fffffffU,
    0x80000000U,
    0x80000001U,
    0xdeadbeefU,
    UINT32_MAX - 1,
    UINT32_MAX,
};

/* The cap of the spec, computed another way: in 128 bits, no doubling. */
static long
expected_cap(long min, long max, unsigned n)
{
	__int128 c;

	if (min < 0)
		min = 0;
	if (max < 0)
		max = 0;
	if (n == 0)
		n = 1;
	if (n - 1 >= 64)
		c = min > 0 ? (__int128)max + 1 : 0;
	else
		c = (__int128)min << (n - 1);
	return c > max ? max : (long)c;
}

/* _i is n, 0..40 */
START_TEST(test_backoff_bounds)
{
	size_t i, j;
	long   cap, d, prev;

	for (i = 0; i < FH_NITEMS(backoff_cfgs); i++) {
		cap = expected_cap(
		    backoff_cfgs[i].min, backoff_cfgs[i].max, (unsigned)_i);
		prev = 0;
		for (j = 0; j < FH_NITEMS(rnds); j++) {
			d = fh_rest_backoff(backoff_cfgs[i].min,
			    backoff_cfgs[i].max, (unsigned)_i, rnds[j]);
			ck_assert_msg(d >= 0 && d <= cap,
			    "cfg %zu n %d rnd "
			    "%u: %ld not in [0, %ld]",
			    i, _i, rnds[j], d, cap);
			ck_assert_msg(d >= prev, "not monotonic in rnd");
			prev = d;
		}
		/* the ends of the range are reached when cap fits 32 bits */
		ck_assert_int_eq(fh_rest_backoff(backoff_cfgs[i].min,
				     backoff_cfgs[i].max, (unsigned)_i, 0),
		    0);
		if (cap < (long)UINT32_MAX)
			ck_assert_int_eq(
			    fh_rest_backoff(backoff_cfgs[i].min,
				backoff_cfgs[i].max, (unsigned)_i, UINT32_MAX),
			    cap);
	}
}
END_TEST

struct backoff_case {
	long	 min, max;
	unsigned n;
	uint32_t rnd;
	long	 want;
};

static const struct backoff_case backoff_cases[] = {
    {100, 2000, 1, UINT32_MAX, 100},
    {100, 2000, 2, UINT32_MAX, 200},
    {100, 2000, 3, UINT32_MAX, 400},
    {100, 2000, 5, UINT32_MAX, 1600},
    {100, 2000, 6, UINT32_MAX, 2000},
    {100, 2000, 40, UINT32_MAX, 2000},
    {100, 2000, UINT_MAX, UINT32_MAX, 2000},
    {100, 2000, 1, 0x80000000U, 50},
    {100, 2000, 6, 0x80000000U, 1000},
    {100, 2000, 0, UINT32_MAX, 100},
    {1, 5, 40, UINT32_MAX, 5},
    {0, 2000, UINT_MAX, UINT32_MAX, 0},
};

START_TEST(test_backoff_exact)
{
	const struct backoff_case *c = &backoff_cases[_i];

	ck_assert_int_eq(
	    fh_rest_backoff(c->min, c->max, c->n, c->rnd), c->want);
}
END_TEST

/* ------------------------------------------------------------ Retry-After */

struct ra_case {
	const char *in;
	long	    want;
};

static const struct ra_case ra_core[] = {
    {"0", 0},
    {"1", 1000},
    {"120", 120000},
    {"86400", 86400000L},
    {" 5 ", 5000},
    {"\t7", 7000},
    {"007", 7000},
    {"Sun, 06 Nov 1994 08:49:37 GMT", 0}, /* past: now */
    {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
};

static const struct ra_case ra_limits[] = {
    {NULL, -1}, {"", -1}, {"   ", -1}, {"-1", -1}, {"+1", -1}, {"1.5", -1},
    {"1e3", -1}, {"5s", -1}, {"86401", -1}, {"999999999999999999", -1},
    {"99999999999999999999999", -1}, {"abc", -1}, {"0x10", -1}, {"1 2", -1},
    {"Sun, 06 Nov 1994 08:49:37 UTC", -1},
    {"Sunday, 06-Nov-94 08:49:37 GMT", -1}, /* RFC 850 */
    {"Sun Nov  6 08:49:37 1994", -1},	    /* asctime */
    {"Sun, 06 Nov 1994 08:49:37 GMT junk", -1},
    {"Sun, 06 Nov 1994 25:49:37 GMT", -1},
    {"Sun, 06 Foo 1994 08:49:37 GMT", -1},
    {"Fri, 01 Jan 9999 00:00:00 GMT", -1}, /* years ahead */
};

START_TEST(test_retry_after_core)
{
	ck_assert_int_eq(
	    fh_rest_retry_after_ms(ra_core[_i].in), ra_core[_i].want);
}
END_TEST

START_TEST(test_retry_after_limits)
{
	ck_assert_int_eq(
	    fh_rest_retry_after_ms(ra_limits[_i].in), ra_limits[_i].want);
}
END_TEST

/* seconds from now; -1: expect unreadable (over a day ahead) */
static const long ra_ahead[] = {30, 600, 86000};

START_TEST(test_retry_after_date)
{
	char	  s[64];
	struct tm tm;
	time_t	  t;
	long	  ms, want;

	t = time(NULL) + ra_ahead[_i];
	gmtime_r(&t, &tm);
	ck_assert_uint_gt(
	    strftime(s, sizeof(s), "%a, %d %b %Y %H:%M:%S GMT", &tm), 0);
	ms = fh_rest_retry_after_ms(s);
	want = ra_ahead[_i] * 1000;
	/* whole seconds, and the clock may tick between the two calls */
	ck_assert_msg(ms <= want && ms >= want - 2000, "%s: %ld", s, ms);
	t = time(NULL) + 86400 + 600;
	gmtime_r(&t, &tm);
	ck_assert_uint_gt(
	    strftime(s, sizeof(s), "%a, %d %b %Y %H:%M:%S GMT", &tm), 0);
	ck_assert_int_eq(fh_rest_retry_after_ms(s), -1);
}
END_TEST

/* -------------------------------------------------------------- base URLs */

struct url_case {
	const char *product, *region, *edge;
	const char *want; /* NULL when err is not FH_OK */
	enum fh_err err;
};

static const struct url_case url_core[] = {
    {"api", NULL, NULL, "https://api.twilio.com", FH_OK},
    {"taskrouter", NULL, NULL, "https://taskrouter.twilio.com", FH_OK},
    {"iam", NULL, NULL, "https://iam.twilio.com", FH_OK},
    {"api", "", "", "https://api.twilio.com", FH_OK},
    {"api", "au1", NULL, "https://api.au1.twilio.com", FH_OK},
    {"taskrouter", "au1", NULL, "https://taskrouter.au1.twilio.com", FH_OK},
    {"api", "au1", "sydney", "https://api.sydney.au1.twilio.com", FH_OK},
    {"taskrouter", "au1", "sydney", "https://taskrouter.sydney.au1.twilio.com",
	FH_OK},
    {"taskrouter", NULL, "sydney", "https://taskrouter.sydney.us1.twilio.com",
	FH_OK},
    {"api", "", "sydney", "https://api.sydney.us1.twilio.com", FH_OK},
    {"iam", "au1", NULL, "https://iam.au1.twilio.com", FH_OK},
    {"iam", "au1-x", NULL, "https://iam.au1.twilio.com", FH_OK},
    {"iam", "au1", "sydney", "https://iam.au1.twilio.com", FH_OK},
    {"iam", NULL, "sydney", "https://iam.twilio.com", FH_OK},
    {"api", "AU1", "Sydney", "https://api.sydney.au1.twilio.com", FH_OK},
};

static const struct url_case url_limits[] = {
    {"foo", NULL, NULL, NULL, FH_ECONFIG}, {NULL, NULL, NULL, NULL, FH_ECONFIG},
    {"API", NULL, NULL, NULL, FH_ECONFIG},
    {"api", "au1.evil.example", NULL, NULL, FH_ECONFIG},
    {"api", "au1/x", NULL, NULL, FH_ECONFIG},
    {"api", "au1", "syd ney", NULL, FH_ECONFIG},
    {"api", "au1", "-sydney", NULL, FH_ECONFIG},
    {"api", "au1-", NULL, NULL, FH_ECONFIG},
    {"iam", "-x", NULL, NULL, FH_ECONFIG},
    {"api", "a@b", NULL, NULL, FH_ECONFIG},
    {"api",
	"a123456789012345678901234567890123456789012345678901234"
	"567890123",
	NULL, NULL, FH_ECONFIG}, /* 64 */
};

static void
check_url(const struct url_case *c)
{
	char	    out[256];
	enum fh_err err;

	err = fh_rest_derive_url(
	    c->product, c->region, c->edge, out, sizeof(out));
	ck_assert_int_eq(err, c->err);
	if (c->want != NULL)
		ck_assert_str_eq(out, c->want);
	else
		ck_assert_str_eq(out, "");
}

START_TEST(test_url_core)
{
	check_url(&url_core[_i]);
}
END_TEST

START_TEST(test_url_limits)
{
	check_url(&url_limits[_i]);
}
END_TEST

/* "https://api.twilio.com" is 22 bytes: 23 fit, 22 do not */
START_TEST(test_url_outlen)
{
	char out[64];

	ck_assert_int_eq(fh_rest_derive_url("api", NULL, NULL, out, 23), FH_OK);
	ck_assert_str_eq(out, "https://api.twilio.com");
	ck_assert_int_eq(
	    fh_rest_derive_url("api", NULL, NULL, out, 22), FH_ETOOBIG);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(
	    fh_rest_derive_url("api", NULL, NULL, out, 0), FH_ETOOBIG);
}
END_TEST

/* ------------------------------------------------------------ error bodies */

struct twerr_case {
	const char *body;
	size_t	    len; /* 0: strlen(body) */
	int	    code;
	const char *message;
	const char *more_info;
	int	    status; /* from the body; starts at 0 */
};

#define LONG64 \
	"0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef"
#define LONG256 LONG64 LONG64 LONG64 LONG64

static const struct twerr_case twerr_core[] = {
    {"{\"code\":20404,\"message\":\"The requested resource was not "
     "found\",\"more_info\":\"https://www.twilio.com/docs/errors/"
     "20404\",\"status\":404}",
	0, 20404, "The requested resource was not found",
	"https://www.twilio.com/docs/errors/20404", 404},
    {"{\"errors\":[{\"code\":20003,\"message\":\"Authenticate\","
     "\"infoUrl\":\"https://www.twilio.com/docs/errors/20003\"},"
     "{\"code\":1,\"message\":\"second\"}]}",
	0, 20003, "Authenticate", "https://www.twilio.com/docs/errors/20003",
	0},
    {"{\"code\":20001,\"message\":\"Task cannot be canceled\"}\r\n", 0, 20001,
	"Task cannot be canceled", "", 0},
    {"  {\"code\":21220}  ", 0, 21220, "", "", 0},
    {"{\"status\":412}", 0, 0, "", "", 412},
    {"{\"code\":20429,\"message\":\"Too many requests\",\"status\":429,"
     "\"more_info\":\"https://www.twilio.com/docs/errors/20429\","
     "\"extra\":{\"a\":[1,2,{\"b\":null}]}}",
	0, 20429, "Too many requests",
	"https://www.twilio.com/docs/errors/20429", 429},
    /* nested, but within the depth limit */
    {"{\"code\":20404,\"x\":[[[[[[[[[[]]]]]]]]]]}", 0, 20404, "", "", 0},
    {"{\"errors\":[],\"code\":20404}", 0, 20404, "", "", 0},
};

static const struct twerr_case twerr_limits[] = {
    {"", 0, 0, "", "", 0},
    {NULL, 0, 0, "", "", 0},
    {"<html><body><h1>502 Bad Gateway</h1></body></html>", 0, 0, "", "", 0},
    {"{\"code\":20404,\"message\":\"not fou", 0, 0, "", "", 0},
    {"{\"code\":20404}{\"code\":1}", 0, 0, "", "", 0},
    {"{\"code\":20404} x", 0, 0, "", "", 0},
    {"[{\"code\":20404}]", 0, 0, "", "", 0},
    {"\"code\"", 0, 0, "", "", 0},
    {"null", 0, 0, "", "", 0},
    {"{\"code\":\"20404\",\"message\":\"str\"}", 0, 0, "str", "", 0},
    {"{\"code\":-1}", 0, 0, "", "", 0},
    {"{\"code\":99999999999}", 0, 0, "", "", 0},
    {"{\"code\":20404.5}", 0, 0, "", "", 0},
    {"{\"code\":true,\"message\":7,\"more_info\":[]}", 0, 0, "", "", 0},
    {"{\"status\":\"404\"}", 0, 0, "", "", 0},
    {"{\"status\":9999}", 0, 0, "", "", 0},
    {"{\"errors\":[7],\"code\":20404}", 0, 0, "", "", 0},
    {"{\"errors\":{\"code\":1},\"code\":20404}", 0, 20404, "", "", 0},
    /* deeper than FH_REST_JSON_DEPTH */
    {"{\"code\":20404,\"x\":[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]"
     "]]]}",
	0, 0, "", "", 0},
    /* len stops early: truncated */
    {"{\"code\":20404}", 8, 0, "", "", 0},
    /* a NUL inside the given length */
    {"{\"code\":20404}\0junk", 19, 0, "", "", 0},
    {"{\"code\":20404,\"message\":\"a\\u0000b\"}", 0, 20404, "a", "", 0},
    /* message cut to fit; a too long more_info is dropped */
    {"{\"code\":1,\"message\":\"" LONG256 "\",\"more_info\":\"https://" LONG256
     "\"}",
	0, 1,
	LONG64 LONG64 LONG64
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
	"", 0},
    /* cut between characters, not inside one (U+00E9 is 2 bytes) */
    {"{\"code\":1,\"message\":\"" LONG64 LONG64 LONG64
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
     "\xc3\xa9\"}",
	0, 1,
	LONG64 LONG64 LONG64
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd",
	"", 0},
};

static void
check_twerr(const struct twerr_case *c)
{
	struct fh_twerr e;
	size_t		len;

	memset(&e, 0, sizeof(e));
	/* these are not the parser's to change */
	memcpy(e.retry_after, "5", 2);
	/* garbage that must be cleared */
	memcpy(e.message, "old", 4);
	memcpy(e.more_info, "old", 4);
	e.code = 42;
	len = c->len != 0 ? c->len : c->body != NULL ? strlen(c->body) : 0;
	fh_rest_parse_error(c->body, len, &e);
	ck_assert_int_eq(e.code, c->code);
	ck_assert_str_eq(e.message, c->message);
	ck_assert_str_eq(e.more_info, c->more_info);
	ck_assert_int_eq(e.status, c->status);
	ck_assert_str_eq(e.retry_after, "5");
}

START_TEST(test_twerr_core)
{
	check_twerr(&twerr_core[_i]);
}
END_TEST

START_TEST(test_twerr_limits)
{
	check_twerr(&twerr_limits[_i]);
}
END_TEST

/* ------------------------------------------------------ the fake server */

static struct fh_stub	srv;
static struct fh_config cfg;
static struct fh_log	tlog;
static struct fh_rest  *rest;
static char		cfg_sid[] = TEST_SID;
static char		cfg_token[] = TEST_TOKEN;
static char		cfg_key[] = TEST_KEY;
static char		cfg_secret[] = TEST_SECRET;
static char		cfg_url[64];
static const char      *needles[4]; /* in every request, or '?' */

static void
point_at(int port)
{
	ck_assert_int_gt(
	    snprintf(cfg_url, sizeof(cfg_url), "http://127.0.0.1:%d/", port),
	    0);
	cfg.api_url = cfg_url;
	cfg.taskrouter_url = cfg_url;
	cfg.iam_url = cfg_url;
}

/* Serve steps on the opened srv and point every base of a new client at
 * it. */
static void
server_run(const struct fh_stub_step *steps, size_t nsteps)
{
	fh_stub_start(&srv, steps, nsteps);
	point_at(srv.port);
	ck_assert_int_eq(fh_rest_new(&rest, &cfg, &tlog), FH_OK);
}

static void
server_start(const struct fh_stub_step *steps, size_t nsteps)
{
	fh_stub_open(&srv);
	server_run(steps, nsteps);
}

/* Request i's mark: '?' when a needle or its step's need is missing or
 * its forbid is there, else its method's first letter ('G', 'P', 'D'). */
static char
request_mark(size_t i)
{
	const struct fh_stub_req *q = &srv.reqs[i];
	size_t			  k;

	for (k = 0; k < FH_NITEMS(needles) && needles[k] != NULL; k++)
		if (memmem(q->text, q->len, needles[k], strlen(needles[k])) ==
		    NULL)
			return '?';
	return fh_stub_matches(&srv, i) ? q->text[0] : '?';
}

/* Stop the server and return what it saw: one mark per request, '+'
 * before one that came on a kept connection. */
static const char *
server_stop(void)
{
	static char seen[64];
	size_t	    i, n = 0, count;

	count = fh_stub_load(&srv);
	for (i = 0; i < count && n + 2 < sizeof(seen); i++) {
		if (srv.reqs[i].reused)
			seen[n++] = '+';
		seen[n++] = request_mark(i);
	}
	seen[n] = '\0';
	fh_stub_stop(&srv);
	return seen;
}

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.account_sid = cfg_sid;
	cfg.auth_token = cfg_token;
	cfg.retry_limit = 3;
	cfg.min_backoff_ms = 1;
	cfg.max_backoff_ms = 5;
	cfg.deadline_ms = 5000;
	fh_log_init(&tlog, "check_rest", FH_LOG_DEBUG);
	tlog.out = tmpfile();
	ck_assert_ptr_nonnull(tlog.out);
	needles[0] = AUTH_TOKEN_HDR;
	needles[1] = "\r\nUser-Agent: flexhooks/";
	needles[2] = "\r\nAccept: application/json\r\n";
	needles[3] = NULL;
	rest = NULL;
}

static void
teardown(void)
{
	(void)server_stop();
	fh_rest_free(rest);
	rest = NULL;
	if (tlog.out != NULL)
		fclose(tlog.out);
	tlog.out = NULL;
}

/* The whole log so far, for checks on what it must and must not say. */
static const char *
log_text(void)
{
	static char text[16384];
	size_t	    n;

	fflush(tlog.out);
	rewind(tlog.out);
	n = fread(text, 1, sizeof(text) - 1, tlog.out);
	text[n] = '\0';
	return text;
}

static long
elapsed_since(int64_t t0)
{
	return (long)(fh_now_ms() - t0);
}

static const struct fh_rest_req get_task = {
    .base = FH_REST_TASKROUTER,
    .method = "GET",
    .path = "/v1/Workspaces/WS0123456789abcdef0123456789abcdef/Tasks/"
	    "WT0123456789abcdef0123456789abcdef",
    .idempotent = 1,
};

static const struct fh_rest_req create_task = {
    .base = FH_REST_TASKROUTER,
    .method = "POST",
    .path = "/v1/Workspaces/WS0123456789abcdef0123456789abcdef/Tasks",
    .body = "WorkflowSid=WW0123456789abcdef0123456789abcdef",
    .body_len = 46,
    .idempotent = 0,
};

/* ------------------------------------------------------- transfer tests */

START_TEST(test_get_ok)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 200,
		.headers = "ETag: \"abc123\"\r\n",
		.body = "{\"sid\":\"WT0123456789abcdef0123456789abcdef\"}"},
	};
	struct fh_rest_resp resp;

	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.etag, "\"abc123\"");
	ck_assert_str_eq(resp.content_type, "application/json");
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "{\"sid\":\"WT0123456789abcdef0123456789abcdef\"}");
	ck_assert_int_eq(resp.twerr.status, 0);
	ck_assert_int_eq(resp.resent, 0);
	ck_assert_uint_eq(tlog.rest_attempts, 1);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "G");
}
END_TEST

/* API key credentials replace the token; the query goes on the URL. */
START_TEST(test_api_key)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 200, .body = "{}"},
	};
	struct fh_rest_req  req = get_task;
	struct fh_rest_resp resp;

	cfg.api_key = cfg_key;
	cfg.api_secret = cfg_secret;
	needles[0] = AUTH_KEY_HDR;
	needles[3] = "/Tasks?PageSize=50&Ordering=DateCreated%3Adesc HTTP/1.1";
	req.path = "/v1/Workspaces/WS0123456789abcdef0123456789abcdef/Tasks";
	req.query = "PageSize=50&Ordering=DateCreated%3Adesc";
	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &req, &resp), FH_OK);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "G");
}
END_TEST

/* 429 is retried even for a create, after Retry-After, not the backoff. */
START_TEST(test_post_429_retry_after)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 429,
		.headers = "Retry-After: 1\r\n",
		.body = "{\"code\":20429,\"message\":\"Too Many "
			"Requests\"}"},
	    {.status = 201, .body = "{\"sid\":\"WT1\"}"},
	};
	struct fh_rest_resp resp;
	int64_t		    t0;

	needles[3] = "\r\n\r\nWorkflowSid=WW0123456789abcdef0123456789abcdef";
	server_start(steps, FH_NITEMS(steps));
	t0 = fh_now_ms();
	ck_assert_int_eq(fh_rest_do(rest, &create_task, &resp), FH_OK);
	ck_assert_int_ge(elapsed_since(t0), 950);
	ck_assert_int_eq(resp.status, 201);
	ck_assert_str_eq(resp.twerr.retry_after, "");
	ck_assert_int_eq(resp.resent, 0);
	ck_assert_uint_eq(tlog.rest_attempts, 2);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "PP");
	ck_assert_ptr_nonnull(strstr(log_text(),
	    "(attempt 1): HTTP 429; "
	    "retrying in 1000 ms"));
}
END_TEST

/* A create is not repeated after a 503: Twilio may have made it. */
START_TEST(test_post_503_not_retried)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 503, .body = "{\"code\":20500,\"message\":\"x\"}"},
	    {.status = 201, .body = "{}"},
	};
	struct fh_rest_resp resp;

	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &create_task, &resp), FH_EUPSTREAM);
	ck_assert_int_eq(resp.status, 503);
	ck_assert_int_eq(resp.twerr.status, 503);
	ck_assert_int_eq(resp.twerr.code, 20500);
	ck_assert_uint_eq(tlog.rest_attempts, 1);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "P");
}
END_TEST

START_TEST(test_get_503_retried)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 503, .body = "<html>busy</html>"},
	    {.status = 502},
	    {.status = 200, .body = "{}"},
	};
	struct fh_rest_resp resp;

	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_int_eq(resp.resent, 1);
	ck_assert_uint_eq(tlog.rest_attempts, 3);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "GGG");
}
END_TEST

/* retry_limit 2: three attempts, then the last answer's error. */
START_TEST(test_retry_limit)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 504},
	    {.status = 504},
	    {.status = 503},
	    {.status = 200, .body = "{}"},
	};
	struct fh_rest_resp resp;

	cfg.retry_limit = 2;
	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), FH_EUPSTREAM);
	ck_assert_int_eq(resp.status, 503);
	ck_assert_uint_eq(tlog.rest_attempts, 3);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "GGG");
}
END_TEST

START_TEST(test_429_limit)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 429, .headers = "Retry-After: 0\r\n"},
	    {.status = 429,
		.headers = "retry-after:0 \r\n",
		.body = "{\"code\":20429,\"message\":\"Too Many Requests\","
			"\"more_info\":\"https://www.twilio.com/docs/errors/"
			"20429\","
			"\"status\":429}"},
	    {.status = 200, .body = "{}"},
	};
	struct fh_rest_resp resp;

	cfg.retry_limit = 1;
	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &create_task, &resp), FH_ERATELIMIT);
	ck_assert_int_eq(resp.status, 429);
	ck_assert_int_eq(resp.twerr.code, 20429);
	ck_assert_str_eq(resp.twerr.retry_after, "0");
	ck_assert_str_eq(
	    resp.twerr.more_info, "https://www.twilio.com/docs/errors/20429");
	ck_assert_uint_eq(tlog.rest_attempts, 2);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "PP");
}
END_TEST

/* A Retry-After beyond the deadline ends the request at once. */
START_TEST(test_retry_after_past_deadline)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 429, .headers = "Retry-After: 5\r\n"},
	    {.status = 200, .body = "{}"},
	};
	struct fh_rest_resp resp;
	int64_t		    t0;

	server_start(steps, FH_NITEMS(steps));
	fh_rest_set_deadline(rest, 1000);
	t0 = fh_now_ms();
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), FH_ERATELIMIT);
	ck_assert_int_lt(elapsed_since(t0), 900);
	ck_assert_int_eq(resp.status, 429);
	ck_assert_str_eq(resp.twerr.retry_after, "5");
	ck_assert_uint_eq(tlog.rest_attempts, 1);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "G");
	ck_assert_ptr_nonnull(strstr(log_text(), "no time left to retry"));
}
END_TEST

/* Connection refused: the request never left, so even a create goes
 * again, until the retry limit. */
START_TEST(test_refused_post)
{
	struct fh_rest_resp resp;
	int		    fd, port;

	fd = fh_stub_socket(-1, &port); /* bound, not listening */
	point_at(port);
	cfg.retry_limit = 2;
	ck_assert_int_eq(fh_rest_new(&rest, &cfg, &tlog), FH_OK);
	ck_assert_int_eq(fh_rest_do(rest, &create_task, &resp), FH_EUPSTREAM);
	ck_assert_int_eq(resp.status, 0);
	ck_assert_int_eq(resp.resent, 0);
	ck_assert_uint_eq(tlog.rest_attempts, 3);
	fh_rest_resp_release(&resp);
	close(fd);
	ck_assert_ptr_nonnull(strstr(log_text(),
	    "cannot POST '/v1/Workspaces"
	    "/WS0123456789abcdef0123456789abcdef/Tasks': "));
}
END_TEST

/* A connect timeout (a full accept queue) is retried for a create too. */
START_TEST(test_connect_timeout_post)
{
	struct sockaddr_in  a;
	struct fh_rest_resp resp;
	int		    ls, port, i, c[4];
	int64_t		    t0;

	ls = fh_stub_socket(0, &port);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	for (i = 0; i < 4; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ge(c[i], 0);
		fcntl(c[i], F_SETFL, O_NONBLOCK);
		(void)connect(c[i], (struct sockaddr *)&a, sizeof(a));
	}
	point_at(port);
	ck_assert_int_eq(fh_rest_new(&rest, &cfg, &tlog), FH_OK);
	/* 2 s to connect, then a retry with 0.4 s left */
	fh_rest_set_deadline(rest, 2400);
	t0 = fh_now_ms();
	ck_assert_int_eq(fh_rest_do(rest, &create_task, &resp), FH_ETIMEOUT);
	ck_assert_int_lt(elapsed_since(t0), 3000);
	ck_assert_uint_eq(tlog.rest_attempts, 2);
	fh_rest_resp_release(&resp);
	for (i = 0; i < 4; i++)
		close(c[i]);
	close(ls);
}
END_TEST

/* A dropped connection after the request: GET again, never a create. */
START_TEST(test_drop_get)
{
	static const struct fh_stub_step steps[] = {
	    {.drop = 1},
	    {.status = 200, .body = "{}"},
	};
	struct fh_rest_resp resp;

	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), FH_OK);
	ck_assert_int_eq(resp.resent, 1);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "GG");
}
END_TEST

START_TEST(test_drop_post)
{
	static const struct fh_stub_step steps[] = {
	    {.drop = 1},
	    {.status = 201, .body = "{}"},
	};
	struct fh_rest_resp resp;

	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &create_task, &resp), FH_EUPSTREAM);
	ck_assert_int_eq(resp.status, 0);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "P");
}
END_TEST

/* The deadline passes during the attempt: FH_ETIMEOUT, nothing more. */
START_TEST(test_deadline)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 200, .body = "{}", .delay_ms = 3000},
	    {.status = 200, .body = "{}"},
	};
	struct fh_rest_resp resp;
	int64_t		    t0;

	server_start(steps, FH_NITEMS(steps));
	fh_rest_set_deadline(rest, 300);
	t0 = fh_now_ms();
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), FH_ETIMEOUT);
	ck_assert_int_lt(elapsed_since(t0), 1500);
	ck_assert_uint_eq(tlog.rest_attempts, 1);
	fh_rest_resp_release(&resp);
	/* the deadline stays passed until the next webhook sets one (curl's
	 * clock may stop a millisecond short of ours) */
	usleep(5 * 1000);
	ck_assert_int_eq(fh_rest_remaining(rest), 0);
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), FH_ETIMEOUT);
	ck_assert_uint_eq(tlog.rest_attempts, 1);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "G");
}
END_TEST

/* Without fh_rest_set_deadline(), the first request sets cfg's. */
START_TEST(test_default_deadline)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 200, .body = "{}"},
	};
	struct fh_rest_resp resp;
	long		    left;

	cfg.deadline_ms = 4000;
	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_remaining(rest), 4000);
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), FH_OK);
	/* it runs on: the deadline is now fixed, not per request */
	usleep(20 * 1000);
	left = fh_rest_remaining(rest);
	ck_assert_int_gt(left, 3000);
	ck_assert_int_le(left, 3980);
	fh_rest_resp_release(&resp);
	(void)server_stop();
}
END_TEST

/* One handle per base keeps its connection between requests. */
START_TEST(test_keepalive)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 200, .body = "{}", .keep = 1},
	    {.status = 200, .body = "{}", .keep = 1},
	};
	struct fh_rest_resp resp;

	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), FH_OK);
	fh_rest_resp_release(&resp);
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), FH_OK);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "G+G");
}
END_TEST

/* The handle forgets the last method: POST, then DELETE with If-Match. */
START_TEST(test_method_switch)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 201, .body = "{}", .keep = 1, .need = "POST /v1/"},
	    {.status = 204, .keep = 1, .need = "\r\nIf-Match: W/\"abc\"\r\n"},
	    {.status = 200, .body = "{}", .keep = 1, .need = "GET /v1/"},
	};
	struct fh_rest_resp resp;
	struct fh_rest_req  del = get_task;

	del.method = "DELETE";
	del.if_match = "W/\"abc\"";
	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &create_task, &resp), FH_OK);
	fh_rest_resp_release(&resp);
	ck_assert_int_eq(fh_rest_do(rest, &del, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 204);
	fh_rest_resp_release(&resp);
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), FH_OK);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "P+D+G");
}
END_TEST

START_TEST(test_too_large)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 200, .body = "{\"sid\":\"WT0123456789abcdef\"}"},
	};
	struct fh_rest_resp resp;
	struct fh_rest_req  req = get_task;

	req.max_response = 16;
	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &req, &resp), FH_EUPSTREAM);
	ck_assert_uint_le(resp.body.len, 16);
	ck_assert_uint_eq(tlog.rest_attempts, 1);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "G");
	ck_assert_ptr_nonnull(strstr(log_text(), "response too large"));
}
END_TEST

/* Twilio's message reaches the log with numbers masked; no secret does. */
START_TEST(test_log_hygiene)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 401,
		.body = "{\"code\":20003,\"message\":\"The 'To'"
			" number +15555550123 is not valid\",\"status\":401}"},
	};
	struct fh_rest_resp resp;
	const char	   *text;

	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &create_task, &resp), FH_EUPSTREAM);
	ck_assert_int_eq(resp.twerr.code, 20003);
	fh_rest_resp_release(&resp);
	text = log_text();
	ck_assert_ptr_nonnull(strstr(text, "credentials rejected"));
	ck_assert_ptr_nonnull(strstr(text, "+*******0123 is not valid"));
	ck_assert_ptr_null(strstr(text, "5555550123"));
	ck_assert_ptr_null(strstr(text, TEST_TOKEN));
	ck_assert_ptr_null(strstr(text, "Basic"));
	ck_assert_ptr_null(strstr(text, "WorkflowSid"));
	ck_assert_str_eq(server_stop(), "P");
}
END_TEST

struct status_case {
	int	    status;
	const char *body;
	enum fh_err err;
	int	    code;
	const char *seen;
};

static const struct status_case status_cases[] = {
    {200, "{}", FH_OK, 0, "G"},
    {204, NULL, FH_OK, 0, "G"},
    {404, "{\"code\":20404,\"message\":\"not found\",\"status\":404}",
	FH_ENOTFOUND, 20404, "G"},
    {400, "{\"code\":20001,\"message\":\"state\"}", FH_ETWILIO, 20001, "G"},
    {409, NULL, FH_ETWILIO, 0, "G"},
    {412, NULL, FH_ETWILIO, 0, "G"},
    {401, "{\"code\":20003}", FH_EUPSTREAM, 20003, "G"},
    {403, "<html>no</html>", FH_EUPSTREAM, 0, "G"},
    {500, "{\"code\":20500}", FH_EUPSTREAM, 20500, "G"},
    {501, NULL, FH_EUPSTREAM, 0, "G"},
    {302, NULL, FH_EUPSTREAM, 0, "G"},
};

START_TEST(test_status_map)
{
	const struct status_case *c = &status_cases[_i];
	struct fh_stub_step	  steps[2];
	struct fh_rest_resp	  resp;

	memset(steps, 0, sizeof(steps));
	steps[0].status = c->status;
	steps[0].body = c->body;
	steps[0].headers =
	    c->status == 302 ? "Location: https://example.com/x\r\n" : NULL;
	steps[1].status = 200;
	steps[1].body = "{}";
	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), c->err);
	ck_assert_int_eq(resp.status, c->status);
	ck_assert_int_eq(resp.twerr.code, c->code);
	ck_assert_int_eq(resp.twerr.status, c->err == FH_OK ? 0 : c->status);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), c->seen);
}
END_TEST

/* A redirect is followed only when asked, and never to plain http from
 * https; here the base is http (loopback), so the hop stays on it. */
START_TEST(test_redirect)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 302, .headers = "Location: /storage/RE1.mp3\r\n"},
	    {.status = 200,
		.headers = "Content-Type: audio/mpeg\r\n",
		.body = "ID3"},
	};
	struct fh_rest_resp resp;
	struct fh_rest_req  req = get_task;

	req.follow_redirects = 1;
	req.base = FH_REST_API;
	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &req, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), "ID3");
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "GG");
}
END_TEST

/* ----------------------------------------------------- streamed bodies */

struct sunk {
	char	    data[256];
	size_t	    len;
	unsigned    calls;
	long	    status;
	long long   length;
	enum fh_err fail; /* returned from the first call */
};

static enum fh_err
test_sink(void *arg, const struct fh_rest_resp *head, const char *p, size_t n)
{
	struct sunk *s = arg;

	s->calls++;
	s->status = head->status;
	s->length = head->content_length;
	if (s->fail != FH_OK)
		return s->fail;
	ck_assert_uint_le(s->len + n, sizeof(s->data) - 1);
	memcpy(s->data + s->len, p, n);
	s->len += n;
	s->data[s->len] = '\0';
	return FH_OK;
}

/* The 2xx body goes to the sink, with the head known; nothing is
 * buffered; an error body before it is not streamed, and is retried. */
START_TEST(test_stream_ok)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 503, .body = "<html>busy</html>"},
	    {.status = 200, .body = "ID3 audio"},
	};
	struct fh_rest_resp resp;
	struct fh_rest_req  req = get_task;
	struct sunk	    s;

	memset(&s, 0, sizeof(s));
	req.sink = test_sink;
	req.sink_arg = &s;
	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &req, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_int_eq(resp.content_length, 9);
	ck_assert_uint_eq(resp.body.len, 0);
	ck_assert_str_eq(s.data, "ID3 audio");
	ck_assert_int_eq(s.status, 200);
	ck_assert_int_eq(s.length, 9);
	ck_assert_uint_eq(tlog.rest_attempts, 2);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "GG");
}
END_TEST

/* An error answer is buffered and parsed, never streamed. */
START_TEST(test_stream_error_body)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 404,
		.body = "{\"code\":20404,\"message\":\"not found\","
			"\"more_info\":\"https://www.twilio.com/docs/errors/"
			"20404\","
			"\"status\":404}"},
	};
	struct fh_rest_resp resp;
	struct fh_rest_req  req = get_task;
	struct sunk	    s;

	memset(&s, 0, sizeof(s));
	req.sink = test_sink;
	req.sink_arg = &s;
	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &req, &resp), FH_ENOTFOUND);
	ck_assert_uint_eq(s.calls, 0);
	ck_assert_int_eq(resp.twerr.code, 20404);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "G");
}
END_TEST

/* The sink's error stops the transfer, is returned, and is not retried
 * (a client that went away). */
START_TEST(test_stream_sink_fails)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 200, .body = "ID3 audio"},
	    {.status = 200, .body = "ID3 audio"},
	};
	struct fh_rest_resp resp;
	struct fh_rest_req  req = get_task;
	struct sunk	    s;

	memset(&s, 0, sizeof(s));
	s.fail = FH_ENOMEM;
	req.sink = test_sink;
	req.sink_arg = &s;
	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &req, &resp), FH_ENOMEM);
	ck_assert_uint_eq(s.calls, 1);
	ck_assert_uint_eq(tlog.rest_attempts, 1);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "G");
}
END_TEST

/* A stream may run past the deadline, but its head may not: no answer
 * before the deadline is FH_ETIMEOUT at the deadline. */
START_TEST(test_stream_head_deadline)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 200, .body = "ID3", .delay_ms = 3000},
	};
	struct fh_rest_resp resp;
	struct fh_rest_req  req = get_task;
	struct sunk	    s;
	int64_t		    t0;

	memset(&s, 0, sizeof(s));
	req.sink = test_sink;
	req.sink_arg = &s;
	server_start(steps, FH_NITEMS(steps));
	fh_rest_set_deadline(rest, 300);
	t0 = fh_now_ms();
	ck_assert_int_eq(fh_rest_do(rest, &req, &resp), FH_ETIMEOUT);
	ck_assert_int_lt(elapsed_since(t0), 1800);
	ck_assert_uint_eq(s.calls, 0);
	ck_assert_uint_eq(tlog.rest_attempts, 1);
	fh_rest_resp_release(&resp);
	(void)server_stop();
}
END_TEST

/* Another host ("localhost" is not "127.0.0.1") gets no credentials. */
START_TEST(test_redirect_other_host)
{
	static char		   loc[128];
	static struct fh_stub_step steps[2];
	struct fh_rest_resp	   resp;
	struct fh_rest_req	   req = get_task;

	fh_stub_open(&srv);
	ck_assert_int_gt(snprintf(loc, sizeof(loc),
			     "Location: "
			     "http://localhost:%d/storage/RE1.mp3\r\n",
			     srv.port),
	    0);
	memset(steps, 0, sizeof(steps));
	steps[0].status = 302;
	steps[0].headers = loc;
	steps[0].need = AUTH_TOKEN_HDR;
	steps[1].status = 200;
	steps[1].body = "ID3";
	steps[1].need = "GET /storage/RE1.mp3 ";
	steps[1].forbid = "Authorization:";
	needles[0] = NULL;
	req.follow_redirects = 1;
	server_run(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &req, &resp), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), "ID3");
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "GG");
}
END_TEST

/* IAM: a JSON body, and an answer nobody may cache. */
START_TEST(test_iam_json)
{
	static const struct fh_stub_step steps[] = {
	    {.status = 200,
		.body = "{\"valid\":true}",
		.need = "\r\nCache-Control: no-cache\r\n",
		.forbid = "\r\nExpect:"},
	};
	struct fh_rest_resp	 resp;
	static const char	 body[] = "{\"token\":\"not-a-real-token\"}";
	const struct fh_rest_req req = {
	    .base = FH_REST_IAM,
	    .method = "POST",
	    .path = "/v1/Accounts/" TEST_SID "/Tokens/validate",
	    .body = body,
	    .body_len = sizeof(body) - 1,
	    .content_type = "application/json",
	    .idempotent = 1,
	};

	needles[3] = "\r\nContent-Type: application/json\r\n";
	server_start(steps, FH_NITEMS(steps));
	ck_assert_int_eq(fh_rest_do(rest, &req, &resp), FH_OK);
	fh_rest_resp_release(&resp);
	ck_assert_str_eq(server_stop(), "P");
	ck_assert_ptr_null(strstr(log_text(), "not-a-real-token"));
}
END_TEST

/* --------------------------------------------------- client set-up, limits */

START_TEST(test_new_bases)
{
	static char region[] = "au1";
	static char edge[] = "sydney";
	static char over[] = "http://127.0.0.1:4010/prefix//";

	cfg.region = region;
	cfg.edge = edge;
	cfg.taskrouter_url = over;
	ck_assert_int_eq(fh_rest_new(&rest, &cfg, &tlog), FH_OK);
	ck_assert_str_eq(fh_rest_base_url(rest, FH_REST_API),
	    "https://api.sydney.au1.twilio.com");
	ck_assert_str_eq(fh_rest_base_url(rest, FH_REST_TASKROUTER),
	    "http://127.0.0.1:4010/prefix");
	ck_assert_str_eq(
	    fh_rest_base_url(rest, FH_REST_IAM), "https://iam.au1.twilio.com");
	ck_assert_ptr_null(fh_rest_base_url(rest, FH_REST__MAX));
}
END_TEST

START_TEST(test_new_bad_region)
{
	static char region[] = "au1.evil.example";

	cfg.region = region;
	ck_assert_int_eq(fh_rest_new(&rest, &cfg, &tlog), FH_ECONFIG);
	ck_assert_ptr_null(rest);
}
END_TEST

START_TEST(test_free_null)
{
	fh_rest_free(NULL);
}
END_TEST

struct bad_req {
	const char *method, *path, *query, *if_match;
	enum fh_err err;
};

static const struct bad_req bad_reqs[] = {
    {"PUT", "/v1/x", NULL, NULL, FH_EINTERNAL},
    {"get", "/v1/x", NULL, NULL, FH_EINTERNAL},
    {NULL, "/v1/x", NULL, NULL, FH_EINTERNAL},
    {"GET", NULL, NULL, NULL, FH_EINTERNAL},
    {"GET", "v1/x", NULL, NULL, FH_EINTERNAL},
    {"GET", "", NULL, NULL, FH_EINTERNAL},
    {"GET", "/v1/x y", NULL, NULL, FH_EINTERNAL},
    {"GET", "/v1/x?a=b", NULL, NULL, FH_EINTERNAL},
    {"GET", "/v1/x#f", NULL, NULL, FH_EINTERNAL},
    {"GET", "/v1/x\r\nHost: evil", NULL, NULL, FH_EINTERNAL},
    {"GET", "/v1/x", "a=b c", NULL, FH_EINTERNAL},
    {"GET", "/v1/x", "a=\xff", NULL, FH_EINTERNAL},
    {"GET", "/v1/x", NULL, "\"e\"\r\nX-Evil: 1", FH_EINTERNAL},
};

/* Refused before any attempt: nothing is sent, nothing counted. */
START_TEST(test_bad_req)
{
	const struct bad_req *c = &bad_reqs[_i];
	struct fh_rest_req    req = get_task;
	struct fh_rest_resp   resp;

	point_at(9); /* discard: never reached */
	ck_assert_int_eq(fh_rest_new(&rest, &cfg, &tlog), FH_OK);
	req.method = c->method;
	req.path = c->path;
	req.query = c->query;
	req.if_match = c->if_match;
	ck_assert_int_eq(fh_rest_do(rest, &req, &resp), c->err);
	ck_assert_uint_eq(tlog.rest_attempts, 0);
	ck_assert_uint_eq(resp.body.len, 0);
	fh_rest_resp_release(&resp);
}
END_TEST

START_TEST(test_long_url)
{
	static char	    query[FH_REST_MAX_URL];
	struct fh_rest_req  req = get_task;
	struct fh_rest_resp resp;

	memset(query, 'a', sizeof(query) - 1);
	query[sizeof(query) - 1] = '\0';
	point_at(9);
	ck_assert_int_eq(fh_rest_new(&rest, &cfg, &tlog), FH_OK);
	req.query = query;
	ck_assert_int_eq(fh_rest_do(rest, &req, &resp), FH_EINTERNAL);
	ck_assert_uint_eq(tlog.rest_attempts, 0);
	fh_rest_resp_release(&resp);
}
END_TEST

START_TEST(test_no_credentials)
{
	struct fh_rest_resp resp;

	cfg.auth_token = NULL;
	cfg.api_key = cfg_key; /* half a key is no key */
	point_at(9);
	ck_assert_int_eq(fh_rest_new(&rest, &cfg, &tlog), FH_OK);
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), FH_ECONFIG);
	ck_assert_uint_eq(tlog.rest_attempts, 0);
	fh_rest_resp_release(&resp);
}
END_TEST

/* An already passed deadline sends nothing. */
START_TEST(test_deadline_zero)
{
	struct fh_rest_resp resp;

	point_at(9);
	ck_assert_int_eq(fh_rest_new(&rest, &cfg, &tlog), FH_OK);
	fh_rest_set_deadline(rest, 0);
	ck_assert_int_eq(fh_rest_remaining(rest), 0);
	ck_assert_int_eq(fh_rest_do(rest, &get_task, &resp), FH_ETIMEOUT);
	ck_assert_uint_eq(tlog.rest_attempts, 0);
	fh_rest_resp_release(&resp);
}
END_TEST

static Suite *
rest_suite(void)
{
	Suite *s;
	TCase *tc_core, *tc_limits, *tc_transfer;

	s = suite_create("rest");

	tc_core = tcase_create("core");
	tcase_add_checked_fixture(tc_core, setup, teardown);
	tcase_add_loop_test(
	    tc_core, test_backoff_exact, 0, FH_NITEMS(backoff_cases));
	tcase_add_loop_test(
	    tc_core, test_retry_after_core, 0, FH_NITEMS(ra_core));
	tcase_add_loop_test(
	    tc_core, test_retry_after_date, 0, FH_NITEMS(ra_ahead));
	tcase_add_loop_test(tc_core, test_url_core, 0, FH_NITEMS(url_core));
	tcase_add_loop_test(tc_core, test_twerr_core, 0, FH_NITEMS(twerr_core));
	tcase_add_test(tc_core, test_new_bases);
	suite_add_tcase(s, tc_core);

	tc_limits = tcase_create("limits");
	tcase_add_checked_fixture(tc_limits, setup, teardown);
	tcase_add_loop_test(tc_limits, test_backoff_bounds, 0, 41);
	tcase_add_loop_test(
	    tc_limits, test_retry_after_limits, 0, FH_NITEMS(ra_limits));
	tcase_add_loop_test(
	    tc_limits, test_url_limits, 0, FH_NITEMS(url_limits));
	tcase_add_test(tc_limits, test_url_outlen);
	tcase_add_loop_test(
	    tc_limits, test_twerr_limits, 0, FH_NITEMS(twerr_limits));
	tcase_add_test(tc_limits, test_new_bad_region);
	tcase_add_test(tc_limits, test_free_null);
	tcase_add_loop_test(tc_limits, test_bad_req, 0, FH_NITEMS(bad_reqs));
	tcase_add_test(tc_limits, test_long_url);
	tcase_add_test(tc_limits, test_no_credentials);
	tcase_add_test(tc_limits, test_deadline_zero);
	suite_add_tcase(s, tc_limits);

	tc_transfer = tcase_create("transfer");
	tcase_add_checked_fixture(tc_transfer, setup, teardown);
	tcase_set_timeout(tc_transfer, 30); /* valgrind is slow */
	tcase_add_test(tc_transfer, test_get_ok);
	tcase_add_test(tc_transfer, test_api_key);
	tcase_add_test(tc_transfer, test_post_429_retry_after);
	tcase_add_test(tc_transfer, test_post_503_not_retried);
	tcase_add_test(tc_transfer, test_get_503_retried);
	tcase_add_test(tc_transfer, test_retry_limit);
	tcase_add_test(tc_transfer, test_429_limit);
	tcase_add_test(tc_transfer, test_retry_after_past_deadline);
	tcase_add_test(tc_transfer, test_refused_post);
	tcase_add_test(tc_transfer, test_connect_timeout_post);
	tcase_add_test(tc_transfer, test_drop_get);
	tcase_add_test(tc_transfer, test_drop_post);
	tcase_add_test(tc_transfer, test_deadline);
	tcase_add_test(tc_transfer, test_default_deadline);
	tcase_add_test(tc_transfer, test_keepalive);
	tcase_add_test(tc_transfer, test_method_switch);
	tcase_add_test(tc_transfer, test_too_large);
	tcase_add_test(tc_transfer, test_log_hygiene);
	tcase_add_loop_test(
	    tc_transfer, test_status_map, 0, FH_NITEMS(status_cases));
	tcase_add_test(tc_transfer, test_redirect);
	tcase_add_test(tc_transfer, test_stream_ok);
	tcase_add_test(tc_transfer, test_stream_error_body);
	tcase_add_test(tc_transfer, test_stream_sink_fails);
	tcase_add_test(tc_transfer, test_stream_head_deadline);
	tcase_add_test(tc_transfer, test_redirect_other_host);
	tcase_add_test(tc_transfer, test_iam_json);
	suite_add_tcase(s, tc_transfer);
	return s;
}

FH_CHECK_MAIN(rest_suite)
