/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_vmail.c - voicemail by email: what is due, the claim marker, the
 * text, the backoff and the local time.
 *
 * "core" runs fh_vmail_due() and fh_vmail_state() over a table of task
 * attributes at a fixed clock (no marker, sent, a live claim, a stale
 * one, a failed one, ours, another recording's, a transcript to send or
 * already carried), writes markers with fh_vmail_mark() and reads them
 * back, builds the text of both stages, and checks fh_vmail_schedule()
 * leaves a job only when email is configured.  "limits" covers malformed
 * markers and attributes, and the clock and zone edge cases.  The worker
 * itself (fork, REST, SMTP) is tested end to end by
 * tests/integration/test_voicemail_email.py.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/fcgi.h"
#include "fh_check.h"
#include "lib/json.h"
#include "flex/vmail.h"

#define NOW_MS 1796565605000LL /* 2026-12-06T14:00:05Z */
#define FRESH_MS 600000LL
#define REC "RE0123456789abcdef0123456789abcdef"
#define OTHER_REC "REffffffffffffffffffffffffffffffff"
#define OURS "0123456789abcdef0123456789abcdef"

/* The callBackData of a voicemail task, with a transcript or not. */
#define CB(tr) \
	"\"callBackData\":{\"numberToCall\":\"+15555550123\"," \
	"\"recordingSid\":\"" REC "\"" tr ",\"isDeleted\":false}"
#define TR ",\"transcriptText\":\"call me\""
#define MK(stages) \
	"\"" FH_VMAIL_MARKER "\":{\"recordingSid\":\"" REC "\"" stages "}"
#define STAGE(name, claim, at, state, wt) \
	",\"" name "\":{\"claim\":\"" claim "\",\"at\":\"" at \
	"\",\"state\":\"" state "\"," \
	"\"withTranscript\":" wt "}"
#define FRESH "2026-12-06T14:00:00.000Z"
#define OLD "2026-12-06T13:00:00.000Z"

struct due_case {
	const char	   *attrs;
	int		    transcript_on;
	int		    due;
	enum fh_vmail_stage st;
};

static const struct due_case dues[] = {
    /* nothing yet: the first message */
    {"{" CB("") "}", 1, 1, FH_VMAIL_FIRST},
    /* another worker is at it */
    {"{" CB("") "," MK(STAGE("first", "abc", FRESH, "sending", "false")) "}", 1,
	0, 0},
    /* its claim went stale, or it failed: take it */
    {"{" CB("") "," MK(STAGE("first", "abc", OLD, "sending", "false")) "}", 1,
	1, FH_VMAIL_FIRST},
    {"{" CB("") "," MK(STAGE("first", "abc", FRESH, "failed", "false")) "}", 1,
	1, FH_VMAIL_FIRST},
    /* sent, no transcript */
    {"{" CB("") "," MK(STAGE("first", "abc", FRESH, "sent", "false")) "}", 1, 0,
	0},
    /* sent, a transcript came: the second message, when asked for */
    {"{" CB(TR) "," MK(STAGE("first", "abc", FRESH, "sent", "false")) "}", 1, 1,
	FH_VMAIL_TRANSCRIPT},
    {"{" CB(TR) "," MK(STAGE("first", "abc", FRESH, "sent", "false")) "}", 0, 0,
	0},
    /* the first message carried the transcript */
    {"{" CB(TR) "," MK(STAGE("first", "abc", FRESH, "sent", "true")) "}", 1, 0,
	0},
    /* the transcript's message is sent, or on its way */
    {"{" CB(TR) "," MK(STAGE("first", "abc", FRESH, "sent", "false")
	     STAGE("transcript", "def", FRESH, "sent", "true")) "}",
	1, 0, 0},
    {"{" CB(TR) "," MK(STAGE("first", "abc", FRESH, "sent", "false")
	     STAGE("transcript", "def", FRESH, "sending", "true")) "}",
	1, 0, 0},
    /* a marker of another recording counts as none */
    {"{" CB("") ",\"" FH_VMAIL_MARKER "\":{\"recordingSid\":\"" OTHER_REC
		"\"" STAGE("first", "abc", FRESH, "sent", "false") "}}",
	1, 1, FH_VMAIL_FIRST},
};

static const struct due_case due_limits[] = {
    /* not a voicemail task, or deleted */
    {"{}", 1, 0, 0},
    {"{\"callBackData\":{\"numberToCall\":\"+15555550123\"}}", 1, 0, 0},
    {"{\"callBackData\":{\"recordingSid\":\"RE123\"}}", 1, 0, 0},
    {"{\"callBackData\":\"x\"}", 1, 0, 0},
    {"{\"callBackData\":{\"recordingSid\":\"" REC "\",\"isDeleted\":"
     "true}}",
	1, 0, 0},
    {"{\"callBackData\":{\"recordingSid\":\"" REC "\",\"isDeleted\":"
     "\"true\"}}",
	1, 0, 0},
    /* the plugin library's names */
    {"{\"callBackData\":{\"RecordingSid\":\"" REC "\"}}", 1, 1, FH_VMAIL_FIRST},
    /* malformed markers: claimable, never a crash */
    {"{" CB("") ",\"" FH_VMAIL_MARKER "\":\"sent\"}", 1, 1, FH_VMAIL_FIRST},
    {"{" CB("") "," MK(",\"first\":[]") "}", 1, 1, FH_VMAIL_FIRST},
    {"{" CB("") "," MK(",\"first\":{\"state\":\"sending\"}") "}", 1, 1,
	FH_VMAIL_FIRST},
    {"{" CB("") "," MK(",\"first\":{\"state\":\"sending\",\"at\":"
		       "\"yesterday\"}") "}",
	1, 1, FH_VMAIL_FIRST},
    {"{" CB("") "," MK(",\"first\":{\"state\":7}") "}", 1, 1, FH_VMAIL_FIRST},
    /* a claim from the future (a skewed clock) is live only so far */
    {"{" CB("") "," MK(STAGE(
	 "first", "abc", "2026-12-06T14:05:00.000Z", "sending", "false")) "}",
	1, 0, 0},
    {"{" CB("") "," MK(STAGE(
	 "first", "abc", "2026-12-06T15:00:00.000Z", "sending", "false")) "}",
	1, 1, FH_VMAIL_FIRST},
};

static struct json_object *
parse(const char *s)
{
	struct json_object *o = NULL;

	ck_assert_int_eq(fh_json_parse(s, strlen(s), &o), FH_OK);
	return o;
}

static void
run_due(const struct due_case *c)
{
	struct json_object *a = parse(c->attrs);
	enum fh_vmail_stage st = FH_VMAIL__MAX;

	ck_assert_int_eq(
	    fh_vmail_due(a, c->transcript_on, NOW_MS, FRESH_MS, &st), c->due);
	if (c->due)
		ck_assert_int_eq(st, c->st);
	json_object_put(a);
}

START_TEST(test_due)
{
	run_due(&dues[_i]);
}
END_TEST

START_TEST(test_due_limits)
{
	run_due(&due_limits[_i]);
}
END_TEST

START_TEST(test_state_ours)
{
	struct json_object *a = parse("{" CB("") "," MK(
	    STAGE("first", OURS, FRESH, "sending", "false")) "}");

	ck_assert_int_eq(
	    fh_vmail_state(a, FH_VMAIL_FIRST, REC, OURS, NOW_MS, FRESH_MS),
	    FH_VMAIL_OURS);
	ck_assert_int_eq(
	    fh_vmail_state(a, FH_VMAIL_FIRST, REC, "x", NOW_MS, FRESH_MS),
	    FH_VMAIL_BUSY);
	ck_assert_int_eq(fh_vmail_state(a, FH_VMAIL_FIRST, REC, NULL,
			     NOW_MS + FRESH_MS, FRESH_MS),
	    FH_VMAIL_STALE);
	ck_assert_int_eq(
	    fh_vmail_state(a, FH_VMAIL_TRANSCRIPT, REC, OURS, NOW_MS, FRESH_MS),
	    FH_VMAIL_NONE);
	ck_assert_int_eq(fh_vmail_state(a, FH_VMAIL_FIRST, OTHER_REC, OURS,
			     NOW_MS, FRESH_MS),
	    FH_VMAIL_NONE);
	ck_assert_int_eq(
	    fh_vmail_state(a, FH_VMAIL__MAX, REC, OURS, NOW_MS, FRESH_MS),
	    FH_VMAIL_BUSY);
	json_object_put(a);
}
END_TEST

START_TEST(test_mark)
{
	struct json_object *a = parse("{" CB(TR) ",\"other\":1}");
	struct json_object *mk, *so, *v;
	enum fh_vmail_stage st;

	ck_assert_int_eq(
	    fh_vmail_mark(a, FH_VMAIL_FIRST, REC, OURS, NOW_MS, "sending", 1),
	    FH_OK);
	ck_assert_int_eq(
	    fh_vmail_state(a, FH_VMAIL_FIRST, REC, OURS, NOW_MS, FRESH_MS),
	    FH_VMAIL_OURS);
	ck_assert_int_eq(fh_vmail_due(a, 1, NOW_MS, FRESH_MS, &st), 0);
	ck_assert(json_object_object_get_ex(a, FH_VMAIL_MARKER, &mk));
	ck_assert_str_eq(fh_json_str(mk, "recordingSid"), REC);
	ck_assert(json_object_object_get_ex(mk, "first", &so));
	ck_assert_str_eq(fh_json_str(so, "claim"), OURS);
	ck_assert_str_eq(fh_json_str(so, "at"), "2026-12-06T14:00:05.000Z");
	ck_assert_str_eq(fh_json_str(so, "state"), "sending");
	ck_assert(json_object_object_get_ex(so, "withTranscript", &v));
	ck_assert(json_object_get_boolean(v));
	/* sent, and the rest of the attributes untouched */
	ck_assert_int_eq(
	    fh_vmail_mark(a, FH_VMAIL_FIRST, REC, OURS, NOW_MS, "sent", 1),
	    FH_OK);
	ck_assert_int_eq(
	    fh_vmail_state(a, FH_VMAIL_FIRST, REC, OURS, NOW_MS, FRESH_MS),
	    FH_VMAIL_SENT);
	ck_assert(json_object_object_get_ex(a, "other", &v));
	ck_assert(json_object_object_get_ex(a, "callBackData", &v));
	/* another recording replaces the marker */
	ck_assert_int_eq(fh_vmail_mark(a, FH_VMAIL_FIRST, OTHER_REC, OURS,
			     NOW_MS, "sending", 0),
	    FH_OK);
	ck_assert(json_object_object_get_ex(a, FH_VMAIL_MARKER, &mk));
	ck_assert_str_eq(fh_json_str(mk, "recordingSid"), OTHER_REC);
	json_object_put(a);
}
END_TEST

START_TEST(test_mark_limits)
{
	struct json_object *a = parse("[1]");

	ck_assert_int_eq(
	    fh_vmail_mark(a, FH_VMAIL_FIRST, REC, OURS, NOW_MS, "sending", 0),
	    FH_EINPUT);
	json_object_put(a);
	a = parse("{}");
	ck_assert_int_eq(
	    fh_vmail_mark(a, FH_VMAIL__MAX, REC, OURS, NOW_MS, "sending", 0),
	    FH_EINPUT);
	json_object_put(a);
}
END_TEST

START_TEST(test_text)
{
	struct json_object  *a = parse("{" CB(TR) "}");
	struct fh_vmail_info vi;
	struct fh_buf	     subj, text;

	fh_buf_init(&subj, 1024);
	fh_buf_init(&text, 4096);
	ck_assert_int_eq(fh_vmail_info(a, &vi), FH_OK);
	vi.task_sid = "WT0123456789abcdef0123456789abcdef";
	vi.received = "2026-12-06 15:00:05 CET (Europe/Paris)";
	ck_assert_int_eq(fh_vmail_text(&vi, FH_VMAIL_FIRST,
			     "New voicemail "
			     "from",
			     "attached", &subj, &text),
	    FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&subj),
	    "New voicemail from "
	    "+15555550123");
	ck_assert_str_eq(fh_buf_cstr(&text),
	    "A new voicemail from "
	    "+15555550123\r\n\r\nCaller: +15555550123\r\nReceived: 2026-12-06 "
	    "15:00:05 CET (Europe/Paris)\r\nTask: WT0123456789abcdef01234567"
	    "89abcdef\r\nRecording: " REC " (attached)\r\n\r\nTranscript:\r\n"
	    "call me\r\n");
	fh_buf_reset(&subj);
	fh_buf_reset(&text);
	vi.transcript = NULL;
	vi.caller = NULL;
	vi.received = NULL;
	ck_assert_int_eq(fh_vmail_text(&vi, FH_VMAIL_TRANSCRIPT, "VM",
			     "not attached", &subj, &text),
	    FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&subj), "VM unknown (transcript)");
	ck_assert_ptr_nonnull(
	    strstr(fh_buf_cstr(&text), "Received: unknown\r\n"));
	ck_assert_ptr_nonnull(
	    strstr(fh_buf_cstr(&text), "Transcript: none yet.\r\n"));
	fh_buf_release(&subj);
	fh_buf_release(&text);
	json_object_put(a);
}
END_TEST

START_TEST(test_backoff)
{
	ck_assert_int_eq(fh_vmail_backoff_ms(0), 1000);
	ck_assert_int_eq(fh_vmail_backoff_ms(1), 1000);
	ck_assert_int_eq(fh_vmail_backoff_ms(2), 2000);
	ck_assert_int_eq(fh_vmail_backoff_ms(3), 4000);
	ck_assert_int_eq(fh_vmail_backoff_ms(6), 32000);
	ck_assert_int_eq(fh_vmail_backoff_ms(7), FH_VMAIL_MAX_BACKOFF_MS);
	ck_assert_int_eq(
	    fh_vmail_backoff_ms(4000000000u), FH_VMAIL_MAX_BACKOFF_MS);
}
END_TEST

struct tz_case {
	const char *utc;
	const char *tz;
	int	    ok;
	const char *out;
};

static const struct tz_case tzs[] = {
    {"2026-12-06T14:00:05.000Z", "Europe/Paris", 1,
	"2026-12-06 15:00:05 CET (Europe/Paris)"},
    {"2026-07-06T14:00:05.000Z", "America/Chicago", 1,
	"2026-07-06 09:00:05 CDT (America/Chicago)"},
    {"2026-12-06T14:00:05.000Z", "UTC", 1, "2026-12-06 14:00:05 UTC (UTC)"},
    /* a zone that is a path, or not a zone: UTC */
    {"2026-12-06T14:00:05.000Z", "/etc/passwd", 1,
	"2026-12-06 14:00:05 UTC (UTC)"},
    {"2026-12-06T14:00:05.000Z", "../../etc/x", 1,
	"2026-12-06 14:00:05 UTC (UTC)"},
    {"2026-12-06T14:00:05.000Z", NULL, 1, "2026-12-06 14:00:05 UTC (UTC)"},
    {"not a date", "UTC", 0, ""},
    {NULL, "UTC", 0, ""},
};

START_TEST(test_local_time)
{
	char out[128];

	ck_assert_int_eq(
	    fh_vmail_local_time(tzs[_i].utc, tzs[_i].tz, out, sizeof(out)),
	    tzs[_i].ok);
	ck_assert_str_eq(out, tzs[_i].out);
}
END_TEST

static void
job_probe(struct fh_ctx *ctx, const char *arg)
{
	(void)ctx;
	(void)arg;
}

START_TEST(test_schedule)
{
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	char		 to[] = "ops@example.com";
	size_t		 i;

	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	fh_log_init(&ctx.log, "check_vmail", FH_LOG_ERROR);
	/* off: nothing left */
	fh_vmail_schedule(&ctx, "WT0123456789abcdef0123456789abcdef");
	ck_assert_uint_eq(ctx.nafter, 0);
	/* on: one job per task, however often */
	cfg.vm_email_to = to;
	fh_vmail_schedule(&ctx, "WT0123456789abcdef0123456789abcdef");
	fh_vmail_schedule(&ctx, "WT0123456789abcdef0123456789abcdef");
	ck_assert_uint_eq(ctx.nafter, 1);
	ck_assert_str_eq(
	    ctx.after[0].arg, "WT0123456789abcdef0123456789abcdef");
	/* never for what is not a task SID */
	fh_vmail_schedule(&ctx, "WT123");
	fh_vmail_schedule(&ctx, NULL);
	ck_assert_uint_eq(ctx.nafter, 1);
	/* the table is bounded */
	ctx.nafter = 0;
	for (i = 0; i < FH_CTX_MAX_AFTER; i++)
		ck_assert_int_eq(fh_ctx_after(&ctx, job_probe,
				     i == 0	  ? "a"
					 : i == 1 ? "b"
					 : i == 2 ? "c"
						  : "d"),
		    FH_OK);
	ck_assert_int_eq(fh_ctx_after(&ctx, job_probe, "e"), FH_ETOOBIG);
	ctx.nafter = 0;
	fh_log_release(&ctx.log);
}
END_TEST

static Suite *
vmail_suite(void)
{
	Suite *s = suite_create("vmail");
	TCase *tc_core, *tc_limits;

	tc_core = tcase_create("core");
	tcase_add_loop_test(tc_core, test_due, 0, FH_NITEMS(dues));
	tcase_add_test(tc_core, test_state_ours);
	tcase_add_test(tc_core, test_mark);
	tcase_add_test(tc_core, test_text);
	tcase_add_test(tc_core, test_backoff);
	tcase_add_loop_test(tc_core, test_local_time, 0, 3);
	tcase_add_test(tc_core, test_schedule);
	suite_add_tcase(s, tc_core);

	tc_limits = tcase_create("limits");
	tcase_add_loop_test(
	    tc_limits, test_due_limits, 0, FH_NITEMS(due_limits));
	tcase_add_test(tc_limits, test_mark_limits);
	tcase_add_loop_test(tc_limits, test_local_time, 3, FH_NITEMS(tzs));
	suite_add_tcase(s, tc_limits);
	return s;
}

FH_CHECK_MAIN(vmail_suite)
