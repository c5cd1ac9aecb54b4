/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_status_callback.c - /status-callback: the log line's fields
 * (golden JSON in tests/golden/status-callback), stale detection by
 * SequenceNumber, and the empty 200.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fh_check.h"
#include "fh_golden.h"
#include "lib/json.h"
#include "lib/rest.h"
#include "handlers/status_callback.h"
#include "fh_stub.h"

#define CA1 "CA0123456789abcdef0123456789abcdef"
#define CA2 "CAfedcba9876543210fedcba9876543210"
#define WR1 "WR66666666666666666666666666666666"
#define WT1 "WT0123456789abcdef0123456789abcdef"
#define FORM "application/x-www-form-urlencoded"

static struct fh_config cfg;
static struct fh_ctx	ctx;
static struct fh_stub	srv;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	ctx.prog = "test";
	fh_log_init(&ctx.log, "test", -1); /* silent */
	fh_status_reset();
}

struct fcase {
	const char *golden;
	const char *uri, *body;
};

static const struct fcase fcases[] = {
    {"answered.json", "/status-callback?reservation=" WR1 "&task=" WT1,
	"CallSid=" CA1 "&CallStatus=in-progress&SequenceNumber=0"
	"&CallbackSource=call-progress-events&Timestamp=Mon,+16+Aug+2010"
	"+03:45:01+%2B0000&AnsweredBy=human&To=%2B14158786346"},
    {"completed.json", "/status-callback?reservation=" WR1 "&task=" WT1,
	"CallSid=" CA1 "&CallStatus=completed&SequenceNumber=1"
	"&CallDuration=42&SipResponseCode=200"},
    {"busy-no-query.json", "/status-callback",
	"CallSid=" CA1 "&CallStatus=busy&SequenceNumber=1&SipResponseCode=486"},
    /* fields that fail their checks are left out, never echoed */
    {"invalid-fields.json",
	"/status-callback?reservation=WR1&task="
	"%3Cx%3E",
	"CallSid=CA1&CallStatus=Completed%21&SequenceNumber=-1"
	"&CallDuration=abc&AnsweredBy=%22"},
    {"empty.json", "/status-callback", ""},
};

START_TEST(test_fields)
{
	const struct fcase *c = &fcases[_i];
	struct json_object *o = NULL;
	struct fh_req	    req;
	const char	   *s;

	fh_test_req(&req, "POST", c->uri, FORM, c->body, NULL);
	ck_assert_int_eq(fh_status_fields(&req.params, &o), FH_OK);
	s = fh_json_text(o);
	ck_assert_ptr_nonnull(s);
	fh_test_golden("status-callback", c->golden, s, strlen(s));
	json_object_put(o);
	fh_req_release(&req);
}
END_TEST

/* A sequence of (call, seq, stale?) in arrival order. */
struct scase {
	const char *call;
	long long   seq;
	int	    stale;
};

static const struct scase seq[] = {
    {CA1, 1, 0},
    {CA1, 0, 1},
    {CA1, 1, 1},
    {CA2, 0, 0},
    {CA1, 2, 0},
    {CA2, 0, 1},
    {CA2, 3, 0},
    {NULL, 0, 0},
    {"CA1", 5, 0},
    {"CA1", 4, 0},
};

START_TEST(test_stale)
{
	size_t i;

	for (i = 0; i < FH_NITEMS(seq); i++)
		ck_assert_msg(
		    fh_status_seen(seq[i].call, seq[i].seq) == seq[i].stale,
		    "step %zu", i);
}
END_TEST

/* The ring forgets the oldest call once it is full. */
START_TEST(test_stale_ring)
{
	char   sid[40];
	size_t i;

	ck_assert_int_eq(fh_status_seen(CA1, 5), 0);
	for (i = 0; i < FH_STATUS_TRACKED; i++) {
		snprintf(sid, sizeof(sid), "CA%032zx", i + 1);
		ck_assert_int_eq(fh_status_seen(sid, 0), 0);
	}
	ck_assert_int_eq(fh_status_seen(CA1, 1), 0); /* forgotten */
}
END_TEST

/* The handler: 200, empty body, one line with the fields and "stale". */
START_TEST(test_handler_log)
{
	struct fh_req  req;
	struct fh_resp resp;
	FILE	      *f;
	char	       buf[4096];
	size_t	       n;

	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	fh_log_init(&ctx.log, "test", FH_LOG_INFO);
	ctx.log.out = f;
	cfg.outbound_reject_on_failure = 1; /* no task: nothing called */
	fh_test_req(&req, "POST", "/status-callback", FORM,
	    "CallSid=" CA1 "&CallStatus=no-answer&SequenceNumber=3", NULL);
	fh_resp_init(&resp);
	ck_assert_int_eq(fh_handle_status_callback(&ctx, &req, &resp), FH_OK);
	ck_assert_int_eq(fh_handle_status_callback(&ctx, &req, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_uint_eq(resp.body.len, 0);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	/* the message is JSON text inside the line's JSON: escaped quotes */
	ck_assert_ptr_nonnull(strstr(buf,
	    "status callback {\\\"CallSid\\\":"
	    "\\\"" CA1 "\\\",\\\"CallStatus\\\":\\\"no-answer\\\","
	    "\\\"SequenceNumber\\\":3}\""));
	ck_assert_ptr_nonnull(strstr(buf,
	    "\\\"SequenceNumber\\\":3,"
	    "\\\"stale\\\":true}"));
	ck_assert_ptr_nonnull(strstr(buf, "no reservation to reject"));
	fh_resp_release(&resp);
	fh_req_release(&req);
}
END_TEST

/*
 * With FLEXHOOKS_OUTBOUND_REJECT_ON_FAILURE a final busy/no-answer/failed
 * rejects the reservation: the scripted loopback server of fh_stub.h
 * answers 200 and records the request it read.
 */
static const char *const final_statuses[] = {
    "busy", "no-answer", "failed", "failed"};

/* The last case names another workspace of FLEXHOOKS_EVENT_WORKSPACES:
 * the reject goes there. */
#define WS_FLEX "WS0123456789abcdef0123456789abcdef"
#define WS_DIAL "WSdddddddddddddddddddddddddddddddd"

START_TEST(test_reject_on_failure)
{
	static const struct fh_stub_step ok = {.status = 200, .body = "{}"};
	struct fh_req			 req;
	struct fh_resp			 resp;
	char				 url[64], body[256];
	const char			*got;

	fh_stub_stop(&srv); /* one a failed case left running */
	fh_stub_run(&srv, &ok, 1);
	fh_stub_point(&srv, &cfg, url, sizeof(url));
	cfg.account_sid = (char *)"AC0123456789abcdef0123456789abcdef";
	cfg.auth_token = (char *)"token";
	cfg.workspace_sid = (char *)WS_FLEX;
	cfg.event_workspaces = (char *)WS_DIAL;
	cfg.retry_limit = 0;
	cfg.deadline_ms = 5000;
	cfg.outbound_reject_on_failure = 1;
	ck_assert_int_eq(fh_rest_new(&ctx.rest, &cfg, &ctx.log), FH_OK);
	fh_rest_set_deadline(ctx.rest, 5000);
	snprintf(body, sizeof(body),
	    "CallSid=" CA1 "&CallStatus=%s"
	    "&SequenceNumber=1",
	    final_statuses[_i]);
	fh_test_req(&req, "POST",
	    _i == 3 ? "/status-callback?reservation=" WR1 "&task=" WT1
		      "&workspace=" WS_DIAL
		    : "/status-callback?"
		      "reservation=" WR1 "&task=" WT1,
	    FORM, body, NULL);
	fh_resp_init(&resp);
	ck_assert_int_eq(fh_handle_status_callback(&ctx, &req, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_uint_eq(resp.body.len, 0);
	ck_assert_uint_eq(fh_stub_load(&srv), 1);
	got = srv.reqs[0].text;
	snprintf(body, sizeof(body),
	    "POST /v1/Workspaces/%s/Tasks/" WT1 "/Reservations/" WR1
	    " HTTP/1.1\r\n",
	    _i == 3 ? WS_DIAL : WS_FLEX);
	ck_assert_msg(strncmp(got, body, strlen(body)) == 0,
	    "request: "
	    "%.200s",
	    got);
	ck_assert_ptr_nonnull(strstr(got,
	    "\r\n\r\nReservationStatus="
	    "rejected"));
	fh_resp_release(&resp);
	fh_req_release(&req);
	fh_rest_free(ctx.rest);
	ctx.rest = NULL;
	fh_stub_stop(&srv);
}
END_TEST

/* Other statuses, or a final one without both SIDs, call nothing (the
 * REST client is NULL: a call would crash). */
struct ncase {
	const char *uri, *status;
};

static const struct ncase ncases[] = {
    {"/status-callback?reservation=" WR1 "&task=" WT1, "completed"},
    {"/status-callback?reservation=" WR1 "&task=" WT1, "in-progress"},
    {"/status-callback?reservation=" WR1 "&task=" WT1, "canceled"},
    {"/status-callback?reservation=" WR1, "busy"},
    {"/status-callback?task=" WT1, "failed"},
    {"/status-callback?reservation=" WT1 "&task=" WT1, "no-answer"},
    /* a workspace flexhooks does not serve is left alone */
    {"/status-callback?reservation=" WR1 "&task=" WT1 "&workspace="
     "WSeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
	"busy"},
};

START_TEST(test_no_reject)
{
	struct fh_req  req;
	struct fh_resp resp;
	char	       body[128];

	cfg.outbound_reject_on_failure = 1;
	snprintf(body, sizeof(body), "CallSid=" CA1 "&CallStatus=%s",
	    ncases[_i].status);
	fh_test_req(&req, "POST", ncases[_i].uri, FORM, body, NULL);
	fh_resp_init(&resp);
	ck_assert_int_eq(fh_handle_status_callback(&ctx, &req, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	fh_resp_release(&resp);
	fh_req_release(&req);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("status_callback");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, NULL);
	tcase_add_checked_fixture(limits, setup, NULL);
	tcase_add_loop_test(core, test_fields, 0, FH_NITEMS(fcases));
	tcase_add_test(core, test_stale);
	tcase_add_test(core, test_handler_log);
	tcase_add_loop_test(
	    core, test_reject_on_failure, 0, FH_NITEMS(final_statuses));
	tcase_add_loop_test(limits, test_no_reject, 0, FH_NITEMS(ncases));
	tcase_add_test(limits, test_stale_ring);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
