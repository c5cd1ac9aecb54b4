/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_qstats.c - a TaskQueue's line and statistics: the readers of
 * Twilio's three answers, the caller's position, the estimate, how it is
 * said, the per-process cache, and the settings (FLEXHOOKS_ANNOUNCE and
 * the offer thresholds) that turn it on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib/config.h"
#include "lib/fcgi.h"
#include "fh_check.h"
#include "lib/prompts.h"
#include "flex/qstats.h"
#include "lib/rest.h"

#define WQ "WQ0123456789abcdef0123456789abcdef"
#define T(n) "WT0123456789abcdef0123456789abcde" n

/* ------------------------------------------------------------ readers */

struct rcase {
	const char *body;
	enum fh_err want;
	long long   eligible, available, pending, age;
};

static const struct rcase rt[] = {
    {"{\"total_eligible_workers\":4,\"total_available_workers\":2,"
     "\"tasks_by_status\":{\"pending\":7,\"reserved\":1},"
     "\"longest_task_waiting_age\":300}",
	FH_OK, 4, 2, 7, 300},
    /* the counts of tasks_by_status may be strings (Twilio's example) */
    {"{\"total_eligible_workers\":1,\"total_available_workers\":0,"
     "\"tasks_by_status\":{\"pending\":\"12\"}}",
	FH_OK, 1, 0, 12, 0},
    {"{\"total_eligible_workers\":1,\"total_available_workers\":0,"
     "\"tasks_by_status\":null}",
	FH_OK, 1, 0, 0, 0},
    {"{\"total_available_workers\":2}", FH_EUPSTREAM, 0, 0, 0, 0},
    {"{\"total_eligible_workers\":-1,\"total_available_workers\":2}",
	FH_EUPSTREAM, 0, 0, 0, 0},
    {"{\"total_eligible_workers\":\"x\",\"total_available_workers\":2}",
	FH_EUPSTREAM, 0, 0, 0, 0},
    {"[]", FH_EUPSTREAM, 0, 0, 0, 0},
    {"", FH_EUPSTREAM, 0, 0, 0, 0},
    {"{\"total_eligible_workers\":1", FH_EUPSTREAM, 0, 0, 0, 0},
    {"{\"total_eligible_workers\":1e300,\"total_available_workers\":1}",
	FH_EUPSTREAM, 0, 0, 0, 0},
};

START_TEST(test_realtime)
{
	const struct rcase *c = &rt[_i];
	struct fh_qstats    st;

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(
	    fh_qstats_parse_realtime(c->body, strlen(c->body), &st), c->want);
	ck_assert_int_eq(st.have_rt, c->want == FH_OK);
	if (c->want == FH_OK) {
		ck_assert_int_eq(st.eligible, c->eligible);
		ck_assert_int_eq(st.available, c->available);
		ck_assert_int_eq(st.pending, c->pending);
		ck_assert_int_eq(st.longest_age, c->age);
	}
}
END_TEST

struct ccase {
	const char *body;
	enum fh_err want;
	long long   window, accepted, avg;
};

static const struct ccase cum[] = {
    {"{\"reservations_accepted\":12,\"start_time\":\"2026-01-02T03:00:00Z\","
     "\"end_time\":\"2026-01-02T03:30:00Z\","
     "\"wait_duration_until_accepted\":{\"avg\":95,\"min\":1}}",
	FH_OK, 1800, 12, 95},
    /* no usable times: the minutes asked for */
    {"{\"reservations_accepted\":0,\"start_time\":\"yesterday\"}", FH_OK, 1800,
	0, 0},
    {"{\"reservations_accepted\":3,\"start_time\":\"2026-01-02T04:00:00Z\","
     "\"end_time\":\"2026-01-02T03:30:00Z\"}",
	FH_OK, 1800, 3, 0},
    {"{\"reservations_accepted\":3,\"start_time\":\"2026-01-02T03:00:00.5Z\","
     "\"end_time\":\"2026-01-02T03:10:00+00:00\"}",
	FH_OK, 600, 3, 0},
    {"{\"tasks_entered\":3}", FH_EUPSTREAM, 0, 0, 0},
    {"{\"reservations_accepted\":true}", FH_EUPSTREAM, 0, 0, 0},
    {"null", FH_EUPSTREAM, 0, 0, 0},
};

START_TEST(test_cumulative)
{
	const struct ccase *c = &cum[_i];
	struct fh_qstats    st;

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(
	    fh_qstats_parse_cumulative(c->body, strlen(c->body), 30, &st),
	    c->want);
	ck_assert_int_eq(st.have_cum, c->want == FH_OK);
	if (c->want == FH_OK) {
		ck_assert_int_eq(st.window_s, c->window);
		ck_assert_int_eq(st.accepted, c->accepted);
		ck_assert_int_eq(st.avg_wait_s, c->avg);
	}
}
END_TEST

/* Four listed tasks: 1 (prio 5), then 2, 3 and 4 (prio 0) by start time;
 * one without a WT sid is skipped. */
static const char line[] =
    "{\"tasks\":["
    "{\"sid\":\"" T(
	"3") "\",\"priority\":0,"
	     "\"virtual_start_time\":\"2026-01-02T03:00:02Z\"},"
	     "{\"sid\":\"" T(
		 "1") "\",\"priority\":5,"
		      "\"virtual_start_time\":\"2026-01-02T03:00:09Z\"},"
		      "{\"sid\":\"XX\",\"priority\":9},"
		      "{\"sid\":\"" T(
			  "2") "\",\"priority\":0,"
			       "\"date_created\":\"2026-01-02T03:00:01Z\"},"
			       "{\"sid\":\"" T(
				   "4") "\",\"priority\":\"0\","
					"\"virtual_start_time\":\"2026-01-"
					"02T03:00:02Z\"}],\"meta\":{}}";

START_TEST(test_position)
{
	struct fh_qstats st;

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(fh_qstats_position(&st, T("1"), 0, NULL), 0);
	ck_assert_int_eq(
	    fh_qstats_parse_tasks(line, strlen(line), 50, &st), FH_OK);
	ck_assert_uint_eq(st.ntasks, 4);
	ck_assert_int_eq(st.full, 0);
	ck_assert_int_eq(fh_qstats_position(&st, T("1"), 0, NULL), 1);
	ck_assert_int_eq(fh_qstats_position(&st, T("2"), 0, NULL), 2);
	ck_assert_int_eq(fh_qstats_position(&st, T("3"), 0, NULL), 3);
	ck_assert_int_eq(fh_qstats_position(&st, T("4"), 0, NULL), 4);
	/* not listed: unknown, unless its priority and start are given */
	ck_assert_int_eq(fh_qstats_position(&st, T("9"), 0, NULL), 0);
	ck_assert_int_eq(
	    fh_qstats_position(&st, T("9"), 0, "2026-01-02T03:00:05Z"), 5);
	ck_assert_int_eq(
	    fh_qstats_position(&st, T("9"), 0, "2026-01-02T03:00:00Z"), 2);
	ck_assert_int_eq(
	    fh_qstats_position(&st, T("9"), 7, "2026-01-02T03:00:05Z"), 1);
	/* a full page: behind everyone listed means unknown */
	ck_assert_int_eq(
	    fh_qstats_parse_tasks(line, strlen(line), 5, &st), FH_OK);
	ck_assert_int_eq(st.full, 1);
	ck_assert_int_eq(
	    fh_qstats_position(&st, T("9"), 0, "2026-01-02T03:00:05Z"), 0);
	ck_assert_int_eq(fh_qstats_position(&st, T("4"), 0, NULL), 4);
	ck_assert_int_eq(
	    fh_qstats_parse_tasks("{\"tasks\":{}}", 12, 5, &st), FH_EUPSTREAM);
	ck_assert_uint_eq(st.ntasks, 4); /* unchanged */
	ck_assert_int_eq(
	    fh_qstats_parse_tasks("{\"tasks\":[]}", 12, 5, &st), FH_OK);
	ck_assert_uint_eq(st.ntasks, 0);
	fh_qstats_release(&st);
}
END_TEST

/* ------------------------------------------------------------ estimate */

struct ecase {
	int	  rt, cum;
	long long eligible, accepted, window, pos;
	int	  want;
	long long secs;
};

static const struct ecase est[] = {
    /* 12 accepted in 30 minutes: one every 150 s */
    {1, 1, 3, 12, 1800, 1, 1, 150},
    {1, 1, 3, 12, 1800, 4, 1, 600},
    {1, 1, 3, 3, 1800, 1, 1, 600},
    /* too few accepted, nobody eligible, a part missing: nothing */
    {1, 1, 3, 2, 1800, 1, 0, 0},
    {1, 1, 0, 12, 1800, 1, 0, 0},
    {0, 1, 3, 12, 1800, 1, 0, 0},
    {1, 0, 3, 12, 1800, 1, 0, 0},
    {1, 1, 3, 12, 1800, 0, 0, 0},
    {1, 1, 3, 12, 0, 1, 0, 0},
};

START_TEST(test_estimate)
{
	const struct ecase *c = &est[_i];
	struct fh_qstats    st;
	long long	    secs = -1;

	memset(&st, 0, sizeof(st));
	st.have_rt = c->rt;
	st.have_cum = c->cum;
	st.eligible = c->eligible;
	st.accepted = c->accepted;
	st.window_s = c->window;
	ck_assert_int_eq(fh_qstats_estimate(&st, c->pos, &secs), c->want);
	ck_assert_int_eq(secs, c->secs);
	ck_assert_int_eq(fh_qstats_estimate(NULL, c->pos, &secs), 0);
}
END_TEST

struct phcase {
	long long      secs;
	enum fh_prompt want;
	long long      n;
};

static const struct phcase phrases[] = {
    {0, FH_PR_WAIT_UNDER_MINUTE, 0},
    {59, FH_PR_WAIT_UNDER_MINUTE, 0},
    {60, FH_PR_WAIT_ONE_MINUTE, 0},
    {89, FH_PR_WAIT_ONE_MINUTE, 0},
    {90, FH_PR_WAIT_MINUTES, 2},
    {240, FH_PR_WAIT_MINUTES, 4},
    {569, FH_PR_WAIT_MINUTES, 9},
    {570, FH_PR_WAIT_MINUTES, 10},
    {12 * 60, FH_PR_WAIT_MINUTES, 10},
    {13 * 60, FH_PR_WAIT_MINUTES, 15},
    {30 * 60 + 29, FH_PR_WAIT_MINUTES, 30},
    {30 * 60 + 30, FH_PR_WAIT_OVER_MINUTES, 30},
    {1LL << 40, FH_PR_WAIT_OVER_MINUTES, 30},
};

START_TEST(test_phrase)
{
	const struct phcase *c = &phrases[_i];
	long long	     n = -1;

	ck_assert_int_eq(fh_qstats_phrase(c->secs, &n), c->want);
	ck_assert_int_eq(n, c->n);
}
END_TEST

/* The texts with "{n}" filled in; a configured text may use it anywhere. */
START_TEST(test_format)
{
	struct fh_buf b;
	char	     *over[FH_PR__MAX];
	char	      mine[] = "Sie sind Nummer {n}. {n}!";

	memset(over, 0, sizeof(over));
	fh_buf_init(&b, 4096);
	ck_assert_int_eq(fh_prompt_format(over, FH_PR_POSITION, 3, &b), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b), "You are number 3 in line.");
	fh_buf_reset(&b);
	ck_assert_int_eq(
	    fh_prompt_format(over, FH_PR_WAIT_MINUTES, 15, &b), FH_OK);
	ck_assert_str_eq(
	    fh_buf_cstr(&b), "Your estimated wait time is about 15 minutes.");
	fh_buf_reset(&b);
	over[FH_PR_POSITION] = mine;
	ck_assert_int_eq(fh_prompt_format(over, FH_PR_POSITION, 12, &b), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b), "Sie sind Nummer 12. 12!");
	fh_buf_release(&b);
	fh_buf_init(&b, 8);
	ck_assert_int_eq(
	    fh_prompt_format(over, FH_PR_POSITION, 12, &b), FH_ETOOBIG);
	fh_buf_release(&b);
}
END_TEST

/* ------------------------------------------------------------ the cache */

/* With Twilio a closed port, the first get reads (and fails): the queue is
 * remembered without figures, and the next get inside the period makes no
 * request.  A put replaces the entry. */
START_TEST(test_cache)
{
	struct fh_config	cfg;
	struct fh_ctx		ctx;
	struct fh_rest	       *rest;
	struct fh_qstats	st;
	const struct fh_qstats *got;
	long			before;

	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	cfg.account_sid = (char *)"AC0123456789abcdef0123456789abcdef";
	cfg.auth_token = (char *)"auth-token-not-real";
	cfg.workspace_sid = (char *)"WS0123456789abcdef0123456789abcdef";
	cfg.api_url = cfg.taskrouter_url = cfg.iam_url =
	    (char *)"http://127.0.0.1:1";
	cfg.deadline_ms = 2000;
	cfg.min_backoff_ms = 1;
	cfg.max_backoff_ms = 2;
	cfg.queue_stats_cache_s = 30;
	ctx.cfg = &cfg;
	fh_log_init(&ctx.log, "check_qstats", -1);
	ck_assert_int_eq(fh_rest_new(&rest, &cfg, &ctx.log), FH_OK);
	ctx.rest = rest;
	fh_qstats_cache_clear();

	ck_assert_ptr_null(fh_qstats_get(&ctx, "WQ123"));
	ck_assert_ptr_null(fh_qstats_get(&ctx, NULL));
	before = ctx.log.rest_attempts;
	got = fh_qstats_get(&ctx, WQ);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(ctx.log.rest_attempts - before, 3);
	ck_assert_int_eq(got->have_rt || got->have_cum || got->have_list, 0);
	before = ctx.log.rest_attempts;
	ck_assert_ptr_eq(fh_qstats_get(&ctx, WQ), got);
	ck_assert_int_eq(ctx.log.rest_attempts - before, 0);

	memset(&st, 0, sizeof(st));
	memcpy(st.queue, WQ, 35);
	st.have_rt = 1;
	st.eligible = 2;
	fh_qstats_cache_put(&st);
	ck_assert_int_eq(st.have_rt, 0);
	got = fh_qstats_get(&ctx, WQ);
	ck_assert_int_eq(got->have_rt, 1);
	ck_assert_int_eq(got->eligible, 2);
	ck_assert_int_eq(ctx.log.rest_attempts - before, 0);

	/* a period of one second: read again after it */
	cfg.queue_stats_cache_s = 1;
	sleep(1);
	got = fh_qstats_get(&ctx, WQ);
	ck_assert_int_eq(got->have_rt, 0);
	ck_assert_int_eq(ctx.log.rest_attempts - before, 3);
	fh_qstats_cache_clear();
	fh_rest_free(rest);
}
END_TEST

/* ------------------------------------------------------------ settings */

static const char *const *fake_env;

static const char *
fake_getenv(const char *name)
{
	const char *const *p;

	for (p = fake_env; p != NULL && p[0] != NULL; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

struct scase {
	const char *key, *value;
	enum fh_err want;
	int	    pos, wait;
};

static const struct scase settings[] = {
    {"FLEXHOOKS_ANNOUNCE", "", FH_OK, 0, 0},
    {"FLEXHOOKS_ANNOUNCE", "position,wait", FH_OK, 1, 1},
    {"FLEXHOOKS_ANNOUNCE", "wait,position", FH_OK, 1, 1},
    {"FLEXHOOKS_ANNOUNCE", "wait", FH_OK, 0, 1},
    {"FLEXHOOKS_ANNOUNCE", "position", FH_OK, 1, 0},
    {"FLEXHOOKS_ANNOUNCE", "wait,wait", FH_ECONFIG, 0, 0},
    {"FLEXHOOKS_ANNOUNCE", "position,", FH_ECONFIG, 0, 0},
    {"FLEXHOOKS_ANNOUNCE", ",wait", FH_ECONFIG, 0, 0},
    {"FLEXHOOKS_ANNOUNCE", "queue", FH_ECONFIG, 0, 0},
    {"FLEXHOOKS_ANNOUNCE", "Wait", FH_ECONFIG, 0, 0},
    {"FLEXHOOKS_ANNOUNCE", "position wait", FH_ECONFIG, 0, 0},
    {"FLEXHOOKS_ANNOUNCE_EVERY_S", "9", FH_ECONFIG, 0, 0},
    {"FLEXHOOKS_ANNOUNCE_EVERY_S", "3601", FH_ECONFIG, 0, 0},
    {"FLEXHOOKS_OFFER_CALLBACK_AFTER_S", "-1", FH_ECONFIG, 0, 0},
    {"FLEXHOOKS_OFFER_CALLBACK_AFTER_S", "5m", FH_ECONFIG, 0, 0},
    {"FLEXHOOKS_OFFER_CALLBACK_POSITION", "100001", FH_ECONFIG, 0, 0},
    {"FLEXHOOKS_QUEUE_STATS_CACHE_S", "0", FH_ECONFIG, 0, 0},
    {"FLEXHOOKS_QUEUE_STATS_CACHE_S", "601", FH_ECONFIG, 0, 0},
};

START_TEST(test_settings)
{
	const struct scase *c = &settings[_i];
	const char	   *env[] = {
		    "FLEXHOOKS_CONFIG", "/dev/null", c->key, c->value, NULL};
	struct fh_config cfg;
	char		 msg[160];

	fake_env = env;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), c->want);
	if (c->want != FH_OK) {
		ck_assert_ptr_nonnull(strstr(msg, c->key));
		return;
	}
	ck_assert_int_eq(cfg.announce_position, c->pos);
	ck_assert_int_eq(cfg.announce_wait, c->wait);
	/* the defaults: every 120 s, no thresholds, a 30 s cache */
	ck_assert_int_eq(cfg.announce_every_s, 120);
	ck_assert_int_eq(cfg.offer_after_s, 0);
	ck_assert_int_eq(cfg.offer_position, 0);
	ck_assert_int_eq(cfg.queue_stats_cache_s, 30);
	fh_config_release(&cfg);
}
END_TEST

static Suite *
qstats_suite(void)
{
	Suite *s = suite_create("qstats");
	TCase *tc_core = tcase_create("core");
	TCase *tc_limits = tcase_create("limits");

	tcase_set_timeout(tc_core, 30);
	tcase_add_loop_test(tc_core, test_estimate, 0, FH_NITEMS(est));
	tcase_add_loop_test(tc_core, test_phrase, 0, FH_NITEMS(phrases));
	tcase_add_test(tc_core, test_position);
	tcase_add_test(tc_core, test_format);
	tcase_add_test(tc_core, test_cache);
	tcase_add_loop_test(tc_limits, test_realtime, 0, FH_NITEMS(rt));
	tcase_add_loop_test(tc_limits, test_cumulative, 0, FH_NITEMS(cum));
	tcase_add_loop_test(tc_limits, test_settings, 0, FH_NITEMS(settings));
	suite_add_tcase(s, tc_core);
	suite_add_tcase(s, tc_limits);
	return s;
}

FH_CHECK_MAIN(qstats_suite)
