/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_followup.c - where a follow-up goes: placeholder queues found in
 * a workflow's configuration, and the choices fh_followup_prepare() makes
 * without a REST call (the GET Workflow path is in
 * tests/integration/test_followup.py).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/config.h"
#include "lib/fcgi.h"
#include "fh_check.h"
#include "flex/followup.h"
#include "lib/json.h"

#define WQ1 "WQ0123456789abcdef0123456789abcd01"
#define WQ2 "WQ0123456789abcdef0123456789abcd02"
#define WQX "WQ0123456789abcdef0123456789abcdff"
#define WWCB "WW0123456789abcdef0123456789abcdcb"
#define WWX "WW0123456789abcdef0123456789abcd99"

static struct fh_config cfg;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.workspace_sid = (char *)"WS0123456789abcdef0123456789abcdef";
	cfg.callback_workflow_sid = (char *)WWCB;
	cfg.main_timezone = (char *)"UTC";
	cfg.forward_queue_sid = (char *)WQ1;
	cfg.forward_to_number = (char *)"+6591234567";
	cfg.forward_rules = (char *)WQ2 "=+15551230000";
	cfg.outbound_to_attribute = (char *)"practicePhone";
	cfg.outbound_from_attribute = (char *)"loc.callerID";
}

struct conf_case {
	const char *conf;
	int	    yes;
	const char *queue;
};

static const struct conf_case confs[] = {
    /* flexhooks-provision's redirect workflow: a filter's target */
    {"{\"task_routing\":{\"filters\":[{\"filter_friendly_name\":\"a\","
     "\"expression\":\"1==1\",\"targets\":[{\"queue\":\"" WQX "\","
     "\"timeout\":20},{\"queue\":\"" WQ1 "\"}]}]}}",
	1, WQ1},
    /* the default filter, and a FLEXHOOKS_FORWARD_RULES queue */
    {"{\"task_routing\":{\"filters\":[],\"default_filter\":{\"queue\":"
     "\"" WQ2 "\"}}}",
	1, WQ2},
    /* no placeholder: other queues, a non-SID, a non-string */
    {"{\"task_routing\":{\"filters\":[{\"targets\":[{\"queue\":\"" WQX
     "\"}]}],\"default_filter\":{\"queue\":\"" WQX "\"}}}",
	0, ""},
    {"{\"queue\":\"WQ1\",\"x\":{\"queue\":1},\"y\":[[\"" WQ1 "\"]]}", 0, ""},
    {"{}", 0, ""},
};

START_TEST(test_conf)
{
	struct json_object *conf = NULL;
	char		    queue[40];

	ck_assert_int_eq(
	    fh_json_parse(confs[_i].conf, strlen(confs[_i].conf), &conf),
	    FH_OK);
	ck_assert_int_eq(
	    fh_followup_conf_placeholder(&cfg, conf, queue), confs[_i].yes);
	ck_assert_str_eq(queue, confs[_i].queue);
	json_object_put(conf);
}
END_TEST

struct wf_case {
	const char *workflow;
	enum fh_err err;
	int	    yes;
};

static const struct wf_case wfs[] = {
    {"{\"sid\":\"" WWX "\",\"configuration\":\"{\\\"task_routing\\\":"
     "{\\\"default_filter\\\":{\\\"queue\\\":\\\"" WQ1 "\\\"}}}\"}",
	FH_OK, 1},
    {"{\"configuration\":\"{\\\"task_routing\\\":{}}\"}", FH_OK, 0},
    {"{\"sid\":\"" WWX "\"}", FH_EUPSTREAM, 0},
    {"{\"configuration\":{\"task_routing\":{}}}", FH_EUPSTREAM, 0},
    {"{\"configuration\":\"{\\\"task_routing\\\"\"}", FH_EUPSTREAM, 0},
    {"{\"configuration\":\"[1]\"}", FH_EUPSTREAM, 0},
    {"[]", FH_EUPSTREAM, 0},
};

START_TEST(test_workflow)
{
	struct json_object *w = NULL;
	char		    queue[40];
	int		    yes = -1;

	ck_assert_int_eq(
	    fh_json_parse(wfs[_i].workflow, strlen(wfs[_i].workflow), &w),
	    FH_OK);
	ck_assert_int_eq(fh_followup_workflow_placeholder(&cfg, w, &yes, queue),
	    wfs[_i].err);
	ck_assert_int_eq(yes, wfs[_i].yes);
	json_object_put(w);
}
END_TEST

/* fh_followup_prepare() where no GET is needed, or none can be made (no
 * REST client: the callback workflow is the safe answer). */
struct prep_case {
	int	    followup_callback, rules;
	const char *orig_wf, *override;
	const char *want;
	const char *log; /* substring of the log, or NULL */
};

static const struct prep_case preps[] = {
    /* no placeholder configured: the original's workflow, no GET */
    {0, 0, WWX, NULL, WWX, NULL},
    {0, 0, NULL, WWX, WWX, NULL},
    /* FLEXHOOKS_FOLLOWUP_WORKFLOW=callback */
    {1, 0, WWX, NULL, WWCB, NULL},
    {1, 1, NULL, WWX, WWCB, NULL},
    /* nothing names one: the callback workflow */
    {0, 1, NULL, NULL, WWCB, NULL},
    /* it is the callback workflow: nothing to check */
    {0, 1, WWCB, NULL, WWCB, NULL},
    /* the request's override wins over the original's */
    {0, 0, WWCB, WWX, WWX, NULL},
    /* cannot tell: never risk the placeholder */
    {0, 1, WWX, NULL, WWCB,
	"cannot tell whether '" WWX "' routes to "
	"a placeholder queue"},
};

START_TEST(test_prepare)
{
	const struct prep_case *c = &preps[_i];
	struct fh_ctx		ctx;
	struct fh_task_in	in;
	struct json_object     *orig = NULL;
	char			text[256], log[2048];
	FILE		       *f;
	size_t			n;

	if (c->followup_callback)
		cfg.followup_workflow = 1;
	if (!c->rules) {
		cfg.forward_queue_sid = cfg.forward_to_number = NULL;
		cfg.forward_rules = NULL;
	}
	cfg.attribute_style = FH_ATTR_STYLE_PLUGIN_LIBRARY;
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	fh_log_init(&ctx.log, "test", FH_LOG_DEBUG);
	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	ctx.log.out = f;
	memset(&in, 0, sizeof(in));
	if (c->orig_wf != NULL) {
		snprintf(text, sizeof(text), "{\"workflow_sid\":\"%s\"}",
		    c->orig_wf);
		ck_assert_int_eq(
		    fh_json_parse(text, strlen(text), &orig), FH_OK);
		in.orig = orig;
	}
	in.workflow_sid = c->override;
	fh_followup_prepare(&ctx, &in);
	ck_assert_str_eq(in.workflow_sid, c->want);
	ck_assert_str_eq(in.default_workflow, WWCB);
	ck_assert_int_eq(in.style, FH_ATTR_STYLE_PLUGIN_LIBRARY);
	ck_assert_str_eq(in.main_timezone, "UTC");
	ck_assert_str_eq(in.drop_paths[0], "practicePhone");
	ck_assert_str_eq(in.drop_paths[1], "loc.callerID");
	rewind(f);
	n = fread(log, 1, sizeof(log) - 1, f);
	log[n] = '\0';
	fclose(f);
	if (c->log != NULL)
		ck_assert_msg(
		    strstr(log, c->log) != NULL, "no '%s' in %s", c->log, log);
	json_object_put(orig);
}
END_TEST

/* Without a REST client nothing is cached, and a bad SID is refused. */
START_TEST(test_limits)
{
	struct fh_ctx ctx;
	char	      queue[40];
	int	      yes = 1;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	fh_log_init(&ctx.log, "test", FH_LOG_ERROR);
	fh_followup_cache_reset();
	ck_assert_int_eq(
	    fh_followup_routes_to_placeholder(&ctx, "WW1", &yes, queue),
	    FH_EINPUT);
	ck_assert_int_eq(yes, 0);
	ck_assert_int_eq(
	    fh_followup_routes_to_placeholder(&ctx, WWX, &yes, queue),
	    FH_ECONFIG);
	ck_assert_int_eq(
	    fh_followup_routes_to_placeholder(&ctx, WWX, &yes, queue),
	    FH_ECONFIG);
	ck_assert_str_eq(queue, "");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("followup");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, NULL);
	tcase_add_checked_fixture(limits, setup, NULL);
	tcase_add_loop_test(core, test_conf, 0, FH_NITEMS(confs));
	tcase_add_loop_test(core, test_workflow, 0, FH_NITEMS(wfs));
	tcase_add_loop_test(core, test_prepare, 0, FH_NITEMS(preps));
	tcase_add_test(limits, test_limits);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
