/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_requeue.c - flex/requeue-callback: the claim-marker decision and
 * the handler.
 *
 * "core" and "limits" run fh_requeue_marker() over tables of attributes
 * (none, finished, fresh, stale, ours, and malformed markers) at a fixed
 * clock, and the handler's field validation (no REST call is reached).
 * "handler" runs the whole handler against the scripted loopback server of
 * fh_stub.h; every request it read becomes a line (method, path, If-Match,
 * body), so a test can check what reached Twilio, in which order, and that
 * nothing was created when nothing should be.
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
#include <json-c/json.h>

#include "flex/requeue_claim.h"
#include "lib/fcgi.h"
#include "fh_check.h"
#include "lib/json.h"
#include "handlers/requeue.h"
#include "fh_stub.h"

#define NOW_MS 1767225600000LL /* 2026-01-01T00:00:00Z */
#define OLD_SID "WT00000000000000000000000000000001"
#define DONE_SID "WTdddddddddddddddddddddddddddddddd"
#define NEW_SID "WTeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define OUR_CLAIM "c1a1c1a1c1a1c1a1c1a1c1a1c1a1c1a1"
#define WS_SID "WS0123456789abcdef0123456789abcdef"
#define WF_SID "WW0123456789abcdef0123456789abcdef"
#define MK "{\"flexhooks_followup\":"
#define TASK_PATH "/v1/Workspaces/" WS_SID "/Tasks"

/* ----------------------------------------------------------- the marker */

struct mcase {
	const char	 *attrs; /* JSON text, NULL for no object */
	const char	 *claim; /* this request's, or NULL */
	enum fh_rq_marker want;
	const char	 *sid; /* wanted sid, "" when none */
};

static const struct mcase mcore[] = {
    {NULL, NULL, FH_RQ_NONE, ""},
    {"{}", NULL, FH_RQ_NONE, ""},
    {"{\"taskType\":\"callback\",\"callBackData\":{\"attempts\":0}}", OUR_CLAIM,
	FH_RQ_NONE, ""},
    /* finished: answer its task_sid, however old or whoever claimed */
    {MK "{\"type\":\"requeue\",\"claim\":\"aa\",\"at\":"
	"\"2026-01-01T00:00:00Z\",\"task_sid\":\"" DONE_SID "\"}}",
	NULL, FH_RQ_DONE, DONE_SID},
    {MK "{\"claim\":\"aa\",\"at\":\"2020-01-01T00:00:00Z\","
	"\"task_sid\":\"" DONE_SID "\"}}",
	NULL, FH_RQ_DONE, DONE_SID},
    {MK "{\"claim\":\"" OUR_CLAIM "\",\"at\":\"2026-01-01T00:00:00Z\","
	"\"task_sid\":\"" DONE_SID "\"}}",
	OUR_CLAIM, FH_RQ_DONE, DONE_SID},
    /* another request's claim: live below 30 s, stale from 30 s */
    {MK "{\"type\":\"requeue\",\"claim\":\"aa\",\"at\":"
	"\"2026-01-01T00:00:00Z\"}}",
	NULL, FH_RQ_BUSY, ""},
    {MK "{\"claim\":\"aa\",\"at\":\"2025-12-31T23:59:31Z\"}}", NULL, FH_RQ_BUSY,
	""},
    {MK "{\"claim\":\"aa\",\"at\":\"2025-12-31T23:59:30Z\"}}", NULL,
	FH_RQ_STALE, ""},
    {MK "{\"claim\":\"aa\",\"at\":\"2025-12-31T23:00:00Z\"}}", NULL,
	FH_RQ_STALE, ""},
    {MK "{\"claim\":\"aa\",\"at\":\"2026-01-01T00:00:00Z\"}}", OUR_CLAIM,
	FH_RQ_BUSY, ""},
    /* this request's own claim: its write landed */
    {MK "{\"claim\":\"" OUR_CLAIM "\",\"at\":\"2026-01-01T00:00:00Z\"}}",
	OUR_CLAIM, FH_RQ_OURS, ""},
    {MK "{\"claim\":\"" OUR_CLAIM "\",\"at\":\"2020-01-01T00:00:00Z\"}}",
	OUR_CLAIM, FH_RQ_OURS, ""},
    {MK "{\"claim\":\"" OUR_CLAIM "\",\"at\":\"2026-01-01T00:00:00Z\"}}", NULL,
	FH_RQ_BUSY, ""},
    /* a claim its request gave up is claimed over at once */
    {MK "{\"type\":\"requeue\",\"claim\":\"aa\",\"at\":"
	"\"2026-01-01T00:00:00Z\",\"failed\":true}}",
	NULL, FH_RQ_STALE, ""},
    {MK "{\"claim\":\"aa\",\"at\":\"2026-01-01T00:00:00Z\","
	"\"failed\":true}}",
	OUR_CLAIM, FH_RQ_STALE, ""},
    /* but one that finished stays finished */
    {MK "{\"claim\":\"aa\",\"at\":\"2026-01-01T00:00:00Z\","
	"\"failed\":true,\"task_sid\":\"" DONE_SID "\"}}",
	NULL, FH_RQ_DONE, DONE_SID},
};

static const struct mcase mlimits[] = {
    {"[]", NULL, FH_RQ_NONE, ""},
    {"{\"flexhooks_other\":{\"claim\":\"aa\"}}", NULL, FH_RQ_NONE, ""},
    {MK "null}", NULL, FH_RQ_STALE, ""},
    {MK "\"x\"}", NULL, FH_RQ_STALE, ""},
    {MK "[]}", NULL, FH_RQ_STALE, ""},
    {MK "{}}", NULL, FH_RQ_STALE, ""},
    {MK "{\"claim\":\"aa\"}}", NULL, FH_RQ_STALE, ""},
    {MK "{\"at\":\"yesterday\"}}", NULL, FH_RQ_STALE, ""},
    {MK "{\"at\":1767225600}}", NULL, FH_RQ_STALE, ""},
    {MK "{\"at\":\"2026-01-01T00:00:00\"}}", NULL, FH_RQ_STALE, ""},
    {MK "{\"at\":\"2026-01-01 00:00:00Z\"}}", NULL, FH_RQ_STALE, ""},
    /* other spellings of a fresh time */
    {MK "{\"at\":\"2025-12-31T23:59:45.500Z\"}}", NULL, FH_RQ_BUSY, ""},
    {MK "{\"at\":\"2026-01-01T02:00:00+02:00\"}}", NULL, FH_RQ_BUSY, ""},
    /* clocks that disagree: up to 30 s ahead is live, beyond is stale */
    {MK "{\"at\":\"2026-01-01T00:00:29Z\"}}", NULL, FH_RQ_BUSY, ""},
    {MK "{\"at\":\"2026-01-01T00:00:30Z\"}}", NULL, FH_RQ_STALE, ""},
    {MK "{\"at\":\"2099-01-01T00:00:00Z\"}}", NULL, FH_RQ_STALE, ""},
    /* a task_sid that is not a WT SID does not finish anything */
    {MK "{\"at\":\"2026-01-01T00:00:00Z\",\"task_sid\":\"WT123\"}}", NULL,
	FH_RQ_BUSY, ""},
    {MK "{\"at\":\"2020-01-01T00:00:00Z\",\"task_sid\":\"\"}}", NULL,
	FH_RQ_STALE, ""},
    {MK "{\"at\":\"2020-01-01T00:00:00Z\",\"task_sid\":"
	"\"CAdddddddddddddddddddddddddddddddd\"}}",
	NULL, FH_RQ_STALE, ""},
    {MK "{\"at\":\"2020-01-01T00:00:00Z\",\"task_sid\":"
	"\"WTdddddddddddddddddddddddddddddddx\"}}",
	NULL, FH_RQ_STALE, ""},
    {MK "{\"at\":\"2020-01-01T00:00:00Z\",\"task_sid\":7}}", NULL, FH_RQ_STALE,
	""},
    /* an empty or non-string claim is never ours */
    {MK "{\"claim\":\"\",\"at\":\"2020-01-01T00:00:00Z\"}}", "", FH_RQ_STALE,
	""},
    {MK "{\"claim\":12,\"at\":\"2020-01-01T00:00:00Z\"}}", "12", FH_RQ_STALE,
	""},
    /* only a JSON true marks a claim failed */
    {MK "{\"claim\":\"aa\",\"at\":\"2026-01-01T00:00:00Z\","
	"\"failed\":false}}",
	NULL, FH_RQ_BUSY, ""},
    {MK "{\"claim\":\"aa\",\"at\":\"2026-01-01T00:00:00Z\","
	"\"failed\":\"true\"}}",
	NULL, FH_RQ_BUSY, ""},
    {MK "{\"claim\":\"aa\",\"at\":\"2026-01-01T00:00:00Z\","
	"\"failed\":1}}",
	NULL, FH_RQ_BUSY, ""},
};

static void
check_marker(const struct mcase *c, int i)
{
	struct json_object *attrs = NULL;
	enum fh_rq_marker   got;
	char		    sid[40];

	if (c->attrs != NULL)
		ck_assert_int_eq(
		    fh_json_parse(c->attrs, strlen(c->attrs), &attrs), FH_OK);
	memset(sid, 'x', sizeof(sid));
	got = fh_requeue_marker(attrs, c->claim, NOW_MS, sid, sizeof(sid));
	ck_assert_msg(got == c->want, "case %d: %s, want %s", i,
	    fh_requeue_marker_name(got), fh_requeue_marker_name(c->want));
	ck_assert_str_eq(sid, c->sid);
	/* a buffer too small for a SID gets nothing, the answer stands */
	ck_assert_int_eq(
	    fh_requeue_marker(attrs, c->claim, NOW_MS, sid, 10), c->want);
	json_object_put(attrs);
}

START_TEST(test_marker_core)
{
	check_marker(&mcore[_i], _i);
}
END_TEST

START_TEST(test_marker_limits)
{
	check_marker(&mlimits[_i], _i);
}
END_TEST

START_TEST(test_marker_names)
{
	int m;

	for (m = 0; m < FH_RQ__MAX; m++)
		ck_assert_str_ne(fh_requeue_marker_name(m), "unknown");
	ck_assert_str_eq(fh_requeue_marker_name(FH_RQ__MAX), "unknown");
	ck_assert_str_eq(fh_requeue_marker_name(-1), "unknown");
}
END_TEST

/* ------------------------------------------------------- the handler */

static struct fh_config cfg;
static struct fh_ctx	ctx;
static char		cfg_url[64];

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	cfg.account_sid = (char *)"AC0123456789abcdef0123456789abcdef";
	cfg.auth_token = (char *)"auth-token-not-real";
	cfg.workspace_sid = (char *)WS_SID;
	cfg.callback_workflow_sid = (char *)WF_SID;
	cfg.main_timezone = (char *)"UTC";
	cfg.cors_origins = (char *)"*";
	cfg.retry_limit = 1;
	cfg.min_backoff_ms = 1;
	cfg.max_backoff_ms = 2;
	cfg.deadline_ms = 5000;
	ctx.cfg = &cfg;
	ctx.prog = "check_requeue";
	fh_log_init(&ctx.log, "check_requeue", -1); /* silent */
}

/* Run the handler on a form body; resp is initialised here. */
static enum fh_err
run_handler(const char *body, struct fh_resp *resp)
{
	struct fh_req req;
	char	      m[] = "REQUEST_METHOD=POST";
	char	      u[] = "REQUEST_URI=/rq";
	char	      ct[] = "CONTENT_TYPE=application/"
			     "x-www-form-urlencoded";
	char	     *envp[4] = {m, u, ct, NULL};
	enum fh_err   err;

	fh_req_init(&req);
	fh_resp_init(resp);
	ck_assert_int_eq(fh_req_parse(&req, envp, body, strlen(body)), FH_OK);
	err = fh_handle_requeue_callback(&ctx, &req, resp);
	fh_req_release(&req);
	return err;
}

struct vcase {
	const char *body;
	const char *want; /* the whole answer */
};

static const struct vcase vcases[] = {
    {"",
	"{\"success\":false,\"message\":\"missing taskSid\","
	"\"code\":null,\"more_info\":null}"},
    {"taskSid=",
	"{\"success\":false,\"message\":\"missing taskSid\","
	"\"code\":null,\"more_info\":null}"},
    {"TaskSid=" OLD_SID,
	"{\"success\":false,\"message\":"
	"\"missing taskSid\",\"code\":null,\"more_info\":null}"},
    {"taskSid=WT123",
	"{\"success\":false,\"message\":"
	"\"invalid taskSid\",\"code\":null,\"more_info\":null}"},
    {"taskSid=WR00000000000000000000000000000001",
	"{\"success\":false,"
	"\"message\":\"invalid taskSid\",\"code\":null,"
	"\"more_info\":null}"},
    {"taskSid=WT000000000000000000000000000000011",
	"{\"success\":false,"
	"\"message\":\"invalid taskSid\",\"code\":null,"
	"\"more_info\":null}"},
    {"taskSid=WT0000000000000000000000000000000g",
	"{\"success\":false,"
	"\"message\":\"invalid taskSid\",\"code\":null,"
	"\"more_info\":null}"},
    {"taskSid=WT0000000000000000000000000000000%00",
	"{\"success\":"
	"false,\"message\":\"invalid taskSid\",\"code\":null,"
	"\"more_info\":null}"},
    {"taskSid=..%2F..%2FWorkspaces",
	"{\"success\":false,\"message\":"
	"\"invalid taskSid\",\"code\":null,\"more_info\":null}"},
};

START_TEST(test_fields)
{
	struct fh_resp resp;

	ctx.rest = NULL; /* no REST call may be reached */
	ck_assert_int_eq(run_handler(vcases[_i].body, &resp), FH_EINPUT);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), vcases[_i].want);
	ck_assert_str_eq(
	    fh_resp_get_header(&resp, "Cache-Control"), "no-store");
	fh_resp_release(&resp);
}
END_TEST

/* The scripted server: a step's ETag, or an answer made from the last
 * task update (echo). */
static struct fh_stub	   srv;
static struct fh_stub_step script[8];
static char		   etags[8][64];
static size_t		   nscript;
static struct fh_rest	  *rest;

/* The task GET answer whose attributes are the Attributes field of the
 * form body post (what the last task update stored); heap, or NULL. */
static char *
echo_body(const char *post, size_t len)
{
	struct json_object *t = NULL;
	struct fh_buf	    raw;
	const char	   *p, *amp, *end = post + len;
	char		   *out = NULL;

	p = memmem(post, len, "Attributes=", 11);
	if (p == NULL)
		return NULL;
	p += 11;
	amp = memchr(p, '&', (size_t)(end - p));
	fh_buf_init(&raw, 65536);
	t = json_object_new_object();
	if (t != NULL &&
	    fh_url_decode(&raw, p,
		amp != NULL ? (size_t)(amp - p) : (size_t)(end - p),
		1) == FH_OK &&
	    fh_json_add_str(t, "sid", OLD_SID) == FH_OK &&
	    fh_json_add_str(t, "workflow_sid", WF_SID) == FH_OK &&
	    fh_json_add(t, "timeout", json_object_new_int(3600)) == FH_OK &&
	    fh_json_add(t, "priority", json_object_new_int(5)) == FH_OK &&
	    fh_json_add_str(t, "task_channel_unique_name", "voice") == FH_OK &&
	    fh_json_add_str(t, "attributes", fh_buf_cstr(&raw)) == FH_OK)
		out = strdup(fh_json_text(t));
	json_object_put(t);
	fh_buf_release(&raw);
	return out;
}

/* In the server: the echo of the last task update before this request. */
static char *
echo_last(struct fh_stub *stub, void *arg)
{
	const struct fh_stub_req *q;
	size_t			  n = fh_stub_load(stub);

	(void)arg;
	while (n-- > 1) {
		q = &stub->reqs[n - 1];
		if (strncmp(q->text, "POST " TASK_PATH "/",
			strlen("POST " TASK_PATH "/")) == 0)
			return echo_body(q->text + q->hlen, q->len - q->hlen);
	}
	return NULL;
}

static void
server_start(void)
{
	fh_stub_run(&srv, script, nscript);
	fh_stub_point(&srv, &cfg, cfg_url, sizeof(cfg_url));
	ck_assert_int_eq(fh_rest_new(&rest, &cfg, &ctx.log), FH_OK);
	ctx.rest = rest;
}

/* Stop the server; the requests it read, one line each (static):
 * "METHOD PATH IF-MATCH BODY\n", "-" for no If-Match. */
static const char *
server_stop(void)
{
	static char		  seen[65536];
	const struct fh_stub_req *q;
	const char		 *im, *sp;
	size_t			  i, n, at = 0;
	int			  w;

	seen[0] = '\0';
	(void)fh_stub_load(&srv);
	for (i = 0; i < srv.nreqs; i++) {
		q = &srv.reqs[i];
		sp = memchr(q->text, ' ', q->hlen);
		sp = sp != NULL
		    ? memchr(sp + 1, ' ', q->hlen - (size_t)(sp + 1 - q->text))
		    : NULL;
		im = memmem(q->text, q->hlen, "\r\nIf-Match: ", 12);
		n = im != NULL ? strcspn(im + 12, "\r") : 1;
		w = snprintf(seen + at, sizeof(seen) - at, "%.*s %.*s %.*s\n",
		    sp != NULL ? (int)(sp - q->text) : 0, q->text, (int)n,
		    im != NULL ? im + 12 : "-", (int)(q->len - q->hlen),
		    q->text + q->hlen);
		if (w < 0 || (size_t)w >= sizeof(seen) - at)
			break;
		at += (size_t)w;
	}
	fh_stub_stop(&srv);
	return seen;
}

static void
handler_setup(void)
{
	setup();
	memset(script, 0, sizeof(script));
	nscript = 0;
	rest = NULL;
}

static void
handler_teardown(void)
{
	size_t i;

	(void)server_stop();
	fh_rest_free(rest);
	rest = NULL;
	for (i = 0; i < FH_NITEMS(script); i++)
		free((char *)script[i].body);
	memset(script, 0, sizeof(script));
}

static void
add_step(int status, const char *etag, char *body)
{
	ck_assert_uint_lt(nscript, FH_NITEMS(script));
	script[nscript].status = status;
	script[nscript].body = body;
	if (etag != NULL) {
		ck_assert_int_lt(
		    snprintf(etags[nscript], sizeof(etags[nscript]),
			"ETag: %s\r\n", etag),
		    (int)sizeof(etags[nscript]));
		script[nscript].headers = etags[nscript];
	}
	nscript++;
}

/* A heap copy of s. */
static char *
dup_text(const char *s)
{
	char *p = strdup(s);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* The task GET answer for attributes attrs (an object, stolen). */
static char *
task_body(struct json_object *attrs)
{
	struct json_object *t = json_object_new_object();
	char		   *s;

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(fh_json_add_str(t, "sid", OLD_SID), FH_OK);
	ck_assert_int_eq(fh_json_add_str(t, "workflow_sid", WF_SID), FH_OK);
	ck_assert_int_eq(
	    fh_json_add(t, "timeout", json_object_new_int(3600)), FH_OK);
	ck_assert_int_eq(
	    fh_json_add(t, "priority", json_object_new_int(5)), FH_OK);
	ck_assert_int_eq(
	    fh_json_add_str(t, "task_channel_unique_name", "voice"), FH_OK);
	ck_assert_int_eq(
	    fh_json_add_str(t, "assignment_status", "assigned"), FH_OK);
	ck_assert_int_eq(
	    fh_json_add_str(t, "attributes", fh_json_text(attrs)), FH_OK);
	s = dup_text(fh_json_text(t));
	json_object_put(t);
	json_object_put(attrs);
	return s;
}

/* Parsed attributes from literal JSON text. */
static struct json_object *
attrs_of(const char *text)
{
	struct json_object *o = NULL;

	ck_assert_int_eq(fh_json_parse(text, strlen(text), &o), FH_OK);
	return o;
}

#define CB_ATTRS \
	"{\"taskType\":\"callback\",\"name\":" \
	"\"+15555550123\"," \
	"\"call_sid\":\"CA00000000000000000000000000000001\"," \
	"\"callBackData\":{\"numberToCall\":\"+15555550123\"," \
	"\"attempts\":0}}"

/* A callback task whose marker was claimed by someone else at at. */
static char *
claimed_body(const char *at)
{
	struct json_object *a = attrs_of(CB_ATTRS), *mk;

	mk = json_object_new_object();
	ck_assert_ptr_nonnull(mk);
	ck_assert_int_eq(fh_json_add_str(mk, "type", "requeue"), FH_OK);
	ck_assert_int_eq(fh_json_add_str(mk, "claim", OUR_CLAIM), FH_OK);
	ck_assert_int_eq(fh_json_add_str(mk, "at", at), FH_OK);
	ck_assert_int_eq(fh_json_add(a, FH_REQUEUE_MARKER, mk), FH_OK);
	return task_body(a);
}

#define TW_404 \
	"{\"code\":20404,\"message\":\"The requested resource was " \
	"not found\",\"more_info\":\"https://www.twilio.com/docs/" \
	"errors/20404\",\"status\":404}"
#define TW_429 \
	"{\"code\":20429,\"message\":\"Too Many Requests\"," \
	"\"more_info\":null,\"status\":429}"
#define TW_412 \
	"{\"code\":null,\"message\":\"Precondition Failed\"," \
	"\"more_info\":null,\"status\":412}"
#define OK_NEW "{\"taskSid\":\"" NEW_SID "\",\"success\":true}"
#define GET_OLD "GET " TASK_PATH "/" OLD_SID " - \n"

/* Lines of seen that start with prefix. */
static int
count_lines(const char *seen, const char *prefix)
{
	const char *p = seen;
	int	    n = 0;

	while (*p != '\0') {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return n;
}

START_TEST(test_not_found)
{
	struct fh_resp resp;

	add_step(404, NULL, dup_text(TW_404));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_ETASK404);
	ck_assert_int_eq(resp.status, 404);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "{\"success\":false,"
	    "\"message\":\"task not found\",\"code\":20404,\"more_info\":"
	    "\"https://www.twilio.com/docs/errors/20404\"}");
	ck_assert_str_eq(server_stop(), GET_OLD);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_not_callback)
{
	struct fh_resp resp;

	add_step(200, "\"7\"", task_body(attrs_of("{\"taskType\":\"chat\"}")));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_ECONFLICT);
	ck_assert_int_eq(resp.status, 409);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "{\"success\":false,"
	    "\"message\":\"not a callback or voicemail task\",\"code\":null,"
	    "\"more_info\":null}");
	ck_assert_str_eq(server_stop(), GET_OLD);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_no_task_type)
{
	struct fh_resp resp;

	add_step(200, "\"7\"",
	    task_body(attrs_of("{\"callBackData\":"
			       "{\"attempts\":1}}")));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_ECONFLICT);
	ck_assert_int_eq(resp.status, 409);
	ck_assert_str_eq(server_stop(), GET_OLD);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_repeat)
{
	struct fh_resp resp;

	add_step(200, "\"9\"",
	    task_body(attrs_of(
		"{\"taskType\":\"voicemail\","
		"\"flexhooks_followup\":{\"type\":\"requeue\",\"claim\":\"aa\","
		"\"at\":\"2020-01-01T00:00:00Z\",\"task_sid\":\"" DONE_SID
		"\"}}")));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "{\"taskSid\":\"" DONE_SID "\",\"success\":true}");
	ck_assert_str_eq(server_stop(), GET_OLD);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_busy)
{
	struct fh_resp resp;
	char	       at[32];
	time_t	       now = time(NULL);
	struct tm      tm;

	ck_assert_ptr_nonnull(gmtime_r(&now, &tm));
	ck_assert_uint_gt(
	    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm), 0);
	add_step(200, "\"4\"", claimed_body(at));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_EBUSY);
	ck_assert_int_eq(resp.status, 409);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "{\"success\":false,"
	    "\"message\":\"requeue in progress\",\"code\":null,"
	    "\"more_info\":null}");
	ck_assert_str_eq(server_stop(), GET_OLD);
	fh_resp_release(&resp);
}
END_TEST

/* Check the claim line: If-Match etag, only Attributes, with a marker. */
static void
check_claim(const char *line, const char *etag)
{
	char want[256];

	snprintf(want, sizeof(want),
	    "POST " TASK_PATH "/" OLD_SID " %s "
	    "Attributes=",
	    etag);
	ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "claim %s", line);
	ck_assert_ptr_null(strchr(line + strlen(want), '&'));
	ck_assert_ptr_nonnull(strstr(line,
	    "%22flexhooks_followup%22%3A%7B"
	    "%22type%22%3A%22requeue%22%2C%22claim%22%3A%22"));
}

/* The lines of seen as an array (at most 15; static storage). */
static const char **
lines_of(const char *seen, size_t *n)
{
	static char	   copy[65536];
	static const char *v[16];
	char		  *p, *nl;

	snprintf(copy, sizeof(copy), "%s", seen);
	*n = 0;
	for (p = copy; *p != '\0' && *n < 15; p = nl + 1) {
		v[(*n)++] = p;
		nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
	}
	v[*n] = NULL;
	return v;
}

/* The Attributes of a reported request line, parsed (the caller puts
 * it). */
static struct json_object *
attrs_in(const char *line)
{
	struct json_object *o = NULL;
	struct fh_buf	    raw;
	const char	   *p = strstr(line, "Attributes=");

	ck_assert_ptr_nonnull(p);
	p += strlen("Attributes=");
	fh_buf_init(&raw, 65536);
	ck_assert_int_eq(fh_url_decode(&raw, p, strcspn(p, "&"), 1), FH_OK);
	ck_assert_int_eq(fh_json_parse(fh_buf_cstr(&raw), raw.len, &o), FH_OK);
	fh_buf_release(&raw);
	return o;
}

START_TEST(test_happy)
{
	struct fh_resp	    resp;
	struct json_object *a, *cb, *mk1, *mk2;
	const char	  **l;
	size_t		    n;

	add_step(200, "\"1\"", task_body(attrs_of(CB_ATTRS)));
	add_step(200, "\"2\"", dup_text("{}")); /* the claim */
	add_step(201, "\"0\"", dup_text("{\"sid\":\"" NEW_SID "\"}"));
	add_step(200, "\"3\"", dup_text("{}")); /* task_sid recorded */
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), OK_NEW);
	ck_assert_str_eq(
	    fh_resp_get_header(&resp, "Cache-Control"), "no-store");
	l = lines_of(server_stop(), &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(l[0], "GET " TASK_PATH "/" OLD_SID " - ");
	check_claim(l[1], "\"1\"");
	/* the create: routing kept, attempts 0 + 1, no marker, no call */
	ck_assert_msg(
	    strncmp(l[2],
		"POST " TASK_PATH " - Timeout=3600&"
		"Priority=5&TaskChannel=voice&WorkflowSid=" WF_SID
		"&Attributes=",
		strlen("POST " TASK_PATH " - Timeout=3600&"
		       "Priority=5&TaskChannel=voice&WorkflowSid=" WF_SID
		       "&Attributes=")) == 0,
	    "create %s", l[2]);
	a = attrs_in(l[2]);
	cb = json_object_object_get(a, "callBackData");
	ck_assert(json_object_is_type(
	    json_object_object_get(cb, "attempts"), json_type_int));
	ck_assert_int_eq(
	    json_object_get_int(json_object_object_get(cb, "attempts")), 1);
	ck_assert_str_eq(fh_json_str(json_object_object_get(a, "conversations"),
			     "conversation_id"),
	    OLD_SID);
	ck_assert_str_eq(fh_json_str(a, "taskType"), "callback");
	ck_assert(!json_object_object_get_ex(a, FH_REQUEUE_MARKER, NULL));
	ck_assert(!json_object_object_get_ex(a, "call_sid", NULL));
	json_object_put(a);
	ck_assert_ptr_null(strstr(l[2], "flexhooks_"));
	ck_assert_ptr_null(strstr(l[2], "call_sid"));
	ck_assert_ptr_null(strstr(l[2], "VirtualStartTime"));
	/* the record: same claim plus task_sid, after the claim's ETag */
	check_claim(l[3], "\"2\"");
	a = attrs_in(l[1]);
	cb = attrs_in(l[3]);
	mk1 = json_object_object_get(a, FH_REQUEUE_MARKER);
	mk2 = json_object_object_get(cb, FH_REQUEUE_MARKER);
	ck_assert_uint_eq(strlen(fh_json_str(mk1, "claim")), 32);
	ck_assert_uint_eq(
	    strspn(fh_json_str(mk1, "claim"), "0123456789abcdef"), 32);
	ck_assert_str_eq(fh_json_str(mk1, "claim"), fh_json_str(mk2, "claim"));
	ck_assert_str_eq(fh_json_str(mk1, "at"), fh_json_str(mk2, "at"));
	ck_assert_uint_eq(strlen(fh_json_str(mk1, "at")), 20);
	ck_assert_ptr_null(fh_json_str(mk1, "task_sid"));
	ck_assert_str_eq(fh_json_str(mk2, "task_sid"), NEW_SID);
	ck_assert_str_eq(fh_json_str(mk2, "type"), "requeue");
	/* the fetched attributes are kept as they were */
	ck_assert_str_eq(
	    fh_json_str(a, "call_sid"), "CA00000000000000000000000000000001");
	json_object_put(a);
	json_object_put(cb);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_stale_claimed_over)
{
	struct fh_resp resp;
	const char   **l;
	size_t	       n;

	add_step(200, "\"1\"", claimed_body("2020-01-01T00:00:00Z"));
	add_step(200, "\"2\"", dup_text("{}"));
	add_step(200, NULL, dup_text("{\"tasks\":[]}"));
	add_step(201, NULL, dup_text("{\"sid\":\"" NEW_SID "\"}"));
	add_step(200, "\"3\"", dup_text("{}"));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), OK_NEW);
	l = lines_of(server_stop(), &n);
	ck_assert_uint_eq(n, 5);
	check_claim(l[1], "\"1\"");
	/* a new claim, not the stale one, and a new time; the stale
	 * claim's time kept as the one to look from */
	ck_assert_ptr_null(strstr(l[1], OUR_CLAIM));
	ck_assert_ptr_null(strstr(l[1], "%22at%22%3A%222020-01-01"));
	ck_assert_ptr_nonnull(
	    strstr(l[1], "%22open_since%22%3A%222020-01-01T00%3A00%3A00Z"));
	/* before the create: did the stale claim make its task? */
	ck_assert_ptr_nonnull(strstr(l[2], "EvaluateTaskAttributes"));
	ck_assert_ptr_nonnull(strstr(l[3], "POST " TASK_PATH " "));
	fh_resp_release(&resp);
}
END_TEST

/* Before it creates, a request that took over a stale claim looks for the
 * task that claim's request may have made before it died (the same
 * conversation, created since that claim). */
static const struct stale_case {
	int	    list_status;
	const char *list_body;
	int	    outcome; /* 0 created, 1 adopted, -1 nothing (502) */
} stale_cases[] = {
    /* its task: answered and recorded, none created */
    {200,
	"{\"tasks\":[{\"sid\":\"" NEW_SID "\","
	"\"date_created\":\"2020-01-01T00:00:04Z\"}]}",
	1},
    /* a task of the conversation from before the claim is not its task */
    {200,
	"{\"tasks\":[{\"sid\":\"" DONE_SID "\","
	"\"date_created\":\"2019-12-31T23:59:59Z\"}]}",
	0},
    /* cannot tell: nothing created, the claim kept (no "failed"), so a
     * retry looks again once it is stale */
    {400,
	"{\"code\":20001,\"message\":\"x\",\"more_info\":null,"
	"\"status\":400}",
	-1},
};

START_TEST(test_stale_claim_lookup)
{
	const struct stale_case *c = &stale_cases[_i];
	struct fh_resp		 resp;
	const char	       **l;
	size_t			 n;

	add_step(200, "\"1\"", claimed_body("2020-01-01T00:00:00Z"));
	add_step(200, "\"2\"", dup_text("{}"));
	add_step(c->list_status, NULL, dup_text(c->list_body));
	if (c->outcome == 0)
		add_step(201, NULL, dup_text("{\"sid\":\"" NEW_SID "\"}"));
	if (c->outcome >= 0)
		add_step(200, "\"3\"", dup_text("{}"));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp),
	    c->outcome < 0 ? FH_EUPSTREAM : FH_OK);
	l = lines_of(server_stop(), &n);
	ck_assert_ptr_nonnull(strstr(l[2], "EvaluateTaskAttributes"));
	if (c->outcome < 0) {
		ck_assert_int_eq(resp.status, 502);
		ck_assert_uint_eq(n, 3);
	} else {
		ck_assert_str_eq(fh_buf_cstr(&resp.body), OK_NEW);
		ck_assert_uint_eq(n, c->outcome == 0 ? 5 : 4);
		ck_assert_int_eq(strstr(l[3], "POST " TASK_PATH " ") != NULL,
		    c->outcome == 0);
		ck_assert_ptr_nonnull(
		    strstr(l[n - 1], "%22task_sid%22%3A%22" NEW_SID));
	}
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_412_refetch)
{
	struct fh_resp resp;
	const char   **l;
	size_t	       n;

	add_step(200, "\"1\"", task_body(attrs_of(CB_ATTRS)));
	add_step(412, NULL, dup_text(TW_412));
	add_step(200, "\"5\"", task_body(attrs_of(CB_ATTRS)));
	add_step(200, "\"6\"", dup_text("{}"));
	add_step(201, NULL, dup_text("{\"sid\":\"" NEW_SID "\"}"));
	add_step(200, "\"7\"", dup_text("{}"));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), OK_NEW);
	l = lines_of(server_stop(), &n);
	ck_assert_uint_eq(n, 6);
	check_claim(l[1], "\"1\"");
	ck_assert_str_eq(l[2], "GET " TASK_PATH "/" OLD_SID " - ");
	check_claim(l[3], "\"5\"");
	check_claim(l[5], "\"6\"");
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_412_three_rounds)
{
	struct fh_resp resp;
	const char    *seen;
	int	       i;

	for (i = 0; i < FH_REQUEUE_ROUNDS; i++) {
		add_step(200, "\"1\"", task_body(attrs_of(CB_ATTRS)));
		add_step(412, NULL, dup_text(TW_412));
	}
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_ETWILIO);
	ck_assert_int_eq(resp.status, 412);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "{\"success\":false,"
	    "\"message\":\"Twilio rejected the request\",\"code\":null,"
	    "\"more_info\":null}");
	seen = server_stop();
	ck_assert_int_eq(count_lines(seen, "GET "), 3);
	ck_assert_int_eq(count_lines(seen, "POST " TASK_PATH "/" OLD_SID), 3);
	ck_assert_int_eq(count_lines(seen, "POST " TASK_PATH " "), 0);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_record_fails)
{
	struct fh_resp resp;
	size_t	       n;

	/* the task_sid write meets 412 and the fresh read has no claim of
	 * ours: logged, and the answer is still the new task */
	add_step(200, "\"1\"", task_body(attrs_of(CB_ATTRS)));
	add_step(200, "\"2\"", dup_text("{}"));
	add_step(201, NULL, dup_text("{\"sid\":\"" NEW_SID "\"}"));
	add_step(412, NULL, dup_text(TW_412));
	add_step(200, "\"8\"", task_body(attrs_of(CB_ATTRS)));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), OK_NEW);
	(void)lines_of(server_stop(), &n);
	ck_assert_uint_eq(n, 5);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_create_fails)
{
	struct fh_resp	    resp;
	struct json_object *a, *b, *mk1, *mk2;
	const char	   *seen, **l;
	size_t		    n;

	add_step(200, "\"1\"", task_body(attrs_of(CB_ATTRS)));
	add_step(200, "\"2\"", dup_text("{}"));
	add_step(400, NULL,
	    dup_text(
		"{\"code\":20001,\"message\":\"bad\","
		"\"more_info\":\"https://www.twilio.com/docs/errors/20001\","
		"\"status\":400}"));
	add_step(200, "\"3\"", dup_text("{}")); /* the release */
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_ETWILIO);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "{\"success\":false,"
	    "\"message\":\"Twilio rejected the request\",\"code\":20001,"
	    "\"more_info\":\"https://www.twilio.com/docs/errors/20001\"}");
	seen = server_stop();
	ck_assert_int_eq(count_lines(seen, "POST " TASK_PATH " "), 1);
	/* the claim, and its release: "failed" added after the claim's
	 * ETag, the same claim kept */
	ck_assert_int_eq(count_lines(seen, "POST "), 3);
	l = lines_of(seen, &n);
	ck_assert_uint_eq(n, 4);
	check_claim(l[3], "\"2\"");
	a = attrs_in(l[1]);
	b = attrs_in(l[3]);
	mk1 = json_object_object_get(a, FH_REQUEUE_MARKER);
	mk2 = json_object_object_get(b, FH_REQUEUE_MARKER);
	ck_assert_str_eq(fh_json_str(mk1, "claim"), fh_json_str(mk2, "claim"));
	ck_assert(!json_object_object_get_ex(mk1, "failed", NULL));
	ck_assert(
	    json_object_get_boolean(json_object_object_get(mk2, "failed")));
	ck_assert_ptr_null(fh_json_str(mk2, "task_sid"));
	json_object_put(a);
	json_object_put(b);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_create_429_released)
{
	struct fh_resp resp;
	const char   **l;
	size_t	       n;

	/* Twilio's 429 outlasts the retries: 429 to the client, the claim
	 * marked failed first, and the next request claims over it */
	add_step(200, "\"1\"", task_body(attrs_of(CB_ATTRS)));
	add_step(200, "\"2\"", dup_text("{}"));
	add_step(429, NULL, dup_text(TW_429));
	add_step(429, NULL, dup_text(TW_429));
	add_step(200, "\"3\"", dup_text("{}"));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_ERATELIMIT);
	ck_assert_int_eq(resp.status, 429);
	l = lines_of(server_stop(), &n);
	ck_assert_uint_eq(n, 5);
	check_claim(l[4], "\"2\"");
	ck_assert_ptr_nonnull(strstr(l[4], "%22failed%22%3Atrue"));
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_failed_claimed_over)
{
	struct fh_resp resp;
	const char   **l;
	size_t	       n;

	/* a claim marked failed is taken over at once, however fresh */
	add_step(200, "\"3\"",
	    task_body(attrs_of(
		"{\"taskType\":"
		"\"callback\",\"flexhooks_followup\":{\"type\":\"requeue\","
		"\"claim\":\"aa\",\"at\":\"2099-01-01T00:00:00Z\","
		"\"failed\":true}}")));
	add_step(200, "\"4\"", dup_text("{}"));
	add_step(201, NULL, dup_text("{\"sid\":\"" NEW_SID "\"}"));
	add_step(200, "\"5\"", dup_text("{}"));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), OK_NEW);
	l = lines_of(server_stop(), &n);
	ck_assert_uint_eq(n, 4);
	check_claim(l[1], "\"3\"");
	ck_assert_ptr_null(strstr(l[1], "failed"));
	ck_assert_ptr_nonnull(strstr(l[3], "%22task_sid%22%3A%22" NEW_SID));
	fh_resp_release(&resp);
}
END_TEST

#define FORM "Timeout=60&Attributes=%7B%7D"

/* fh_requeue_create() with the scripted server: its result, *handled. */
static enum fh_err
run_create(struct fh_resp *resp, int *handled)
{
	enum fh_err err;

	fh_resp_init(resp);
	*handled = -1;
	err = fh_requeue_create(
	    &ctx, OLD_SID, FORM, strlen(FORM), "voicemail", resp, handled);
	return err;
}

START_TEST(test_requeue_create_not_found)
{
	struct fh_resp resp;
	int	       handled;

	/* no such task: the caller creates it, nothing answered here */
	add_step(404, NULL, dup_text(TW_404));
	server_start();
	ck_assert_int_eq(run_create(&resp, &handled), FH_OK);
	ck_assert_int_eq(handled, 0);
	ck_assert_int_eq(resp.status, 0);
	ck_assert_str_eq(server_stop(), GET_OLD);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_requeue_create_other_type)
{
	struct fh_resp resp;
	int	       handled;

	add_step(200, "\"7\"", task_body(attrs_of("{\"taskType\":\"chat\"}")));
	server_start();
	ck_assert_int_eq(run_create(&resp, &handled), FH_OK);
	ck_assert_int_eq(handled, 0);
	ck_assert_int_eq(resp.status, 0);
	ck_assert_str_eq(server_stop(), GET_OLD);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_requeue_create_claimed)
{
	struct fh_resp resp;
	const char   **l;
	size_t	       n;
	int	       handled;

	add_step(200, "\"1\"", task_body(attrs_of(CB_ATTRS)));
	add_step(200, "\"2\"", dup_text("{}"));
	add_step(201, NULL, dup_text("{\"sid\":\"" NEW_SID "\"}"));
	add_step(200, "\"3\"", dup_text("{}"));
	server_start();
	ck_assert_int_eq(run_create(&resp, &handled), FH_OK);
	ck_assert_int_eq(handled, 1);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), OK_NEW);
	l = lines_of(server_stop(), &n);
	ck_assert_uint_eq(n, 4);
	check_claim(l[1], "\"1\"");
	/* the caller's form, as given */
	ck_assert_str_eq(l[2], "POST " TASK_PATH " - " FORM);
	ck_assert_ptr_nonnull(strstr(l[3], "%22task_sid%22%3A%22" NEW_SID));
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_requeue_create_repeat)
{
	struct fh_resp resp;
	int	       handled;

	add_step(200, "\"9\"",
	    task_body(attrs_of(
		"{\"taskType\":\"voicemail\","
		"\"flexhooks_followup\":{\"type\":\"requeue\",\"claim\":\"aa\","
		"\"at\":\"2020-01-01T00:00:00Z\",\"task_sid\":\"" DONE_SID
		"\"}}")));
	server_start();
	ck_assert_int_eq(run_create(&resp, &handled), FH_OK);
	ck_assert_int_eq(handled, 1);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "{\"taskSid\":\"" DONE_SID "\",\"success\":true}");
	ck_assert_str_eq(server_stop(), GET_OLD);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_requeue_create_fails)
{
	struct fh_resp resp;
	const char   **l;
	size_t	       n;
	int	       handled;

	add_step(200, "\"1\"", task_body(attrs_of(CB_ATTRS)));
	add_step(200, "\"2\"", dup_text("{}"));
	add_step(503, NULL,
	    dup_text("{\"code\":20503,\"message\":\"x\","
		     "\"more_info\":null,\"status\":503}"));
	add_step(200, "\"3\"", dup_text("{}"));
	server_start();
	ck_assert_int_eq(run_create(&resp, &handled), FH_EUPSTREAM);
	ck_assert_int_eq(handled, 1);
	ck_assert_int_eq(resp.status, 502);
	l = lines_of(server_stop(), &n);
	ck_assert_uint_eq(n, 4);
	check_claim(l[3], "\"2\"");
	ck_assert_ptr_nonnull(strstr(l[3], "%22failed%22%3Atrue"));
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_no_etag)
{
	struct fh_resp resp;

	add_step(200, NULL, task_body(attrs_of(CB_ATTRS)));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_EUPSTREAM);
	ck_assert_int_eq(resp.status, 502);
	ck_assert_str_eq(server_stop(), GET_OLD);
	fh_resp_release(&resp);
}
END_TEST

static void
add_echo(const char *etag)
{
	add_step(200, etag, NULL);
	script[nscript - 1].body_fn = echo_last;
}

START_TEST(test_claim_landed)
{
	struct fh_resp resp;
	const char   **l;
	size_t	       n;

	/* the claim's answer is lost (503, resent: 412), but a fresh read
	 * shows this request's own claim: it landed, go on */
	add_step(200, "\"1\"", task_body(attrs_of(CB_ATTRS)));
	add_step(503, NULL,
	    dup_text("{\"code\":20503,\"message\":\"x\","
		     "\"more_info\":null,\"status\":503}"));
	add_step(412, NULL, dup_text(TW_412));
	add_echo("\"2\"");
	add_step(201, NULL, dup_text("{\"sid\":\"" NEW_SID "\"}"));
	add_step(200, "\"3\"", dup_text("{}"));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), OK_NEW);
	l = lines_of(server_stop(), &n);
	ck_assert_uint_eq(n, 6);
	check_claim(l[1], "\"1\"");
	ck_assert_str_eq(l[1], l[2]); /* the same conditional write, resent */
	ck_assert_str_eq(l[3], "GET " TASK_PATH "/" OLD_SID " - ");
	check_claim(l[5], "\"2\"");
	ck_assert_ptr_nonnull(strstr(l[5], "%22task_sid%22%3A%22" NEW_SID));
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_record_412_retry)
{
	struct fh_resp resp;
	const char   **l;
	size_t	       n;

	/* the task_sid write meets 412; the fresh read still has our claim,
	 * so it is written once more with the new ETag */
	add_step(200, "\"1\"", task_body(attrs_of(CB_ATTRS)));
	add_step(200, "\"2\"", dup_text("{}"));
	add_step(201, NULL, dup_text("{\"sid\":\"" NEW_SID "\"}"));
	add_step(412, NULL, dup_text(TW_412));
	add_echo("\"5\"");
	add_step(200, "\"6\"", dup_text("{}"));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), OK_NEW);
	l = lines_of(server_stop(), &n);
	ck_assert_uint_eq(n, 6);
	check_claim(l[3], "\"2\"");
	check_claim(l[5], "\"5\"");
	ck_assert_ptr_nonnull(strstr(l[5], "%22task_sid%22%3A%22" NEW_SID));
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_record_no_etag)
{
	struct fh_resp resp;
	size_t	       n;
	const char   **l;

	/* the claim's answer has no ETag: the record reads the task first
	 * rather than writing without If-Match */
	add_step(200, "\"1\"", task_body(attrs_of(CB_ATTRS)));
	add_step(200, NULL, dup_text("{}"));
	add_step(201, NULL, dup_text("{\"sid\":\"" NEW_SID "\"}"));
	add_echo("\"4\"");
	add_step(200, "\"5\"", dup_text("{}"));
	server_start();
	ck_assert_int_eq(run_handler("taskSid=" OLD_SID, &resp), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), OK_NEW);
	l = lines_of(server_stop(), &n);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(l[3], "GET " TASK_PATH "/" OLD_SID " - ");
	check_claim(l[4], "\"4\"");
	fh_resp_release(&resp);
}
END_TEST

static Suite *
requeue_suite(void)
{
	Suite *s = suite_create("requeue");
	TCase *tc_core, *tc_limits, *tc_handler;

	tc_core = tcase_create("core");
	tcase_add_loop_test(tc_core, test_marker_core, 0, FH_NITEMS(mcore));
	tcase_add_test(tc_core, test_marker_names);
	suite_add_tcase(s, tc_core);

	tc_limits = tcase_create("limits");
	tcase_add_checked_fixture(tc_limits, setup, NULL);
	tcase_add_loop_test(
	    tc_limits, test_marker_limits, 0, FH_NITEMS(mlimits));
	tcase_add_loop_test(tc_limits, test_fields, 0, FH_NITEMS(vcases));
	suite_add_tcase(s, tc_limits);

	tc_handler = tcase_create("handler");
	tcase_add_checked_fixture(tc_handler, handler_setup, handler_teardown);
	tcase_set_timeout(tc_handler, 30); /* valgrind is slow */
	tcase_add_test(tc_handler, test_not_found);
	tcase_add_test(tc_handler, test_not_callback);
	tcase_add_test(tc_handler, test_no_task_type);
	tcase_add_test(tc_handler, test_repeat);
	tcase_add_test(tc_handler, test_busy);
	tcase_add_test(tc_handler, test_happy);
	tcase_add_test(tc_handler, test_stale_claimed_over);
	tcase_add_loop_test(
	    tc_handler, test_stale_claim_lookup, 0, FH_NITEMS(stale_cases));
	tcase_add_test(tc_handler, test_412_refetch);
	tcase_add_test(tc_handler, test_412_three_rounds);
	tcase_add_test(tc_handler, test_record_fails);
	tcase_add_test(tc_handler, test_create_fails);
	tcase_add_test(tc_handler, test_create_429_released);
	tcase_add_test(tc_handler, test_failed_claimed_over);
	tcase_add_test(tc_handler, test_requeue_create_not_found);
	tcase_add_test(tc_handler, test_requeue_create_other_type);
	tcase_add_test(tc_handler, test_requeue_create_claimed);
	tcase_add_test(tc_handler, test_requeue_create_repeat);
	tcase_add_test(tc_handler, test_requeue_create_fails);
	tcase_add_test(tc_handler, test_no_etag);
	tcase_add_test(tc_handler, test_claim_landed);
	tcase_add_test(tc_handler, test_record_412_retry);
	tcase_add_test(tc_handler, test_record_no_etag);
	suite_add_tcase(s, tc_handler);
	return s;
}

FH_CHECK_MAIN(requeue_suite)
