/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_redirect.c - /twiml-redirect-call and the redirect rules, against
 * golden TwiML (tests/golden/twiml-redirect-call).
 */
#include <check.h>
#include <string.h>

#include "fh_check.h"
#include "fh_golden.h"
#include "flex/redirect_rules.h"
#include "handlers/redirect.h"
#include "lib/twiml.h"

#define WQ1 "WQ11111111111111111111111111111111"
#define WQ2 "WQ22222222222222222222222222222222"
#define WQ3 "WQ33333333333333333333333333333333"
#define CA1 "CA0123456789abcdef0123456789abcdef"

static struct fh_config cfg;
static struct fh_ctx	ctx;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	cfg.say_voice = (char *)"Polly.Joanna";
	ctx.cfg = &cfg;
	ctx.prog = "test";
	fh_log_init(&ctx.log, "test", -1); /* silent */
}

/* One configuration and request, and the golden answer it must give. */
struct rcase {
	const char *golden;
	const char *pair_queue, *pair_number, *rules;
	const char *caller_id, *action, *language;
	long long   timeout;
	const char *method, *uri, *body;
};

#define POSTF "POST"
static const struct rcase rcases[] = {
    {"single-rule-no-queue.xml", WQ1, "+6591234567", NULL, NULL, NULL, NULL, 0,
	"GET", "/twiml-redirect-call", NULL},
    {"rule-by-queue.xml", WQ1, "+6591234567",
	WQ2 "=+442071230000," WQ3 "=+15551230000", NULL, NULL, NULL, 0, "GET",
	"/twiml-redirect-call?queue=" WQ3, NULL},
    {"options.xml", NULL, NULL, WQ2 "=+6591234567", "+15005550006",
	"https://x.example/done", NULL, 20, POSTF,
	"/twiml-redirect-call?queue=" WQ2, "CallSid=" CA1},
    /* escaping: a value the loader would refuse still goes through the
     * writer escaped */
    {"options-escaped.xml", NULL, NULL, WQ2 "=+6591234567", NULL,
	"https://x.example/done?a=1&b=\"<'>\"", NULL, 600, "GET",
	"/twiml-redirect-call?queue=" WQ2, NULL},
    {"unknown-queue.xml", WQ1, "+6591234567", NULL, NULL, NULL, NULL, 0, "GET",
	"/twiml-redirect-call?queue=" WQ2, NULL},
    {"malformed-queue.xml", WQ1, "+6591234567", NULL, NULL, NULL, NULL, 0,
	"GET", "/twiml-redirect-call?queue=WQ123", NULL},
    {"several-rules-no-queue.xml", WQ1, "+6591234567", WQ2 "=+442071230000",
	NULL, NULL, NULL, 0, POSTF, "/twiml-redirect-call", "CallSid=" CA1},
    {"no-rules.xml", NULL, NULL, NULL, NULL, NULL, "en-GB", 0, "GET",
	"/twiml-redirect-call?queue=" WQ1, NULL},
    /* the pair and the list may name one queue with one number */
    {"pair-repeated-in-rules.xml", WQ1, "+6591234567", WQ1 "=+6591234567", NULL,
	NULL, NULL, 0, "GET", "/twiml-redirect-call", NULL},
};

START_TEST(test_golden)
{
	const struct rcase *c = &rcases[_i];
	struct fh_req	    req;
	struct fh_resp	    resp;

	cfg.forward_queue_sid = (char *)c->pair_queue;
	cfg.forward_to_number = (char *)c->pair_number;
	cfg.forward_rules = (char *)c->rules;
	cfg.redirect_caller_id = (char *)c->caller_id;
	cfg.redirect_action = (char *)c->action;
	cfg.redirect_timeout = c->timeout;
	cfg.say_language = (char *)c->language;
	fh_test_req(&req, c->method, c->uri,
	    c->body != NULL ? "application/x-www-form-urlencoded" : NULL,
	    c->body, NULL);
	fh_resp_init(&resp);
	ck_assert_int_eq(
	    fh_handle_twiml_redirect_call(&ctx, &req, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, "text/xml; charset=utf-8");
	fh_test_golden(
	    "twiml-redirect-call", c->golden, resp.body.data, resp.body.len);
	fh_resp_release(&resp);
	fh_req_release(&req);
}
END_TEST

/* Lookup results: { pair queue, rules, queue asked, want, number }. */
struct lcase {
	const char *pair_queue, *rules, *queue;
	enum fh_err want;
	const char *number;
};

static const struct lcase lcases[] = {
    {WQ1, NULL, NULL, FH_OK, "+6591234567"},
    {WQ1, NULL, WQ1, FH_OK, "+6591234567"},
    {NULL, WQ2 "=+442071230000", NULL, FH_OK, "+442071230000"},
    {WQ1, WQ2 "=+442071230000", WQ2, FH_OK, "+442071230000"},
    {WQ1, WQ2 "=+442071230000", NULL, FH_ENOTFOUND, ""},
    {NULL, NULL, NULL, FH_ENOTFOUND, ""},
    {NULL, NULL, WQ1, FH_ENOTFOUND, ""},
    {WQ1, NULL, "", FH_EINPUT, ""},
    {WQ1, NULL, "wq11111111111111111111111111111111", FH_EINPUT, ""},
    {WQ1, NULL, WQ1 "0", FH_EINPUT, ""},
    {WQ1, NULL, "WT11111111111111111111111111111111", FH_EINPUT, ""},
    {NULL, WQ2 "=+442071230000," WQ3 "=+15551230000", WQ3, FH_OK,
	"+15551230000"},
};

START_TEST(test_lookup)
{
	const struct lcase *c = &lcases[_i];
	char		    num[24];

	cfg.forward_queue_sid = (char *)c->pair_queue;
	cfg.forward_to_number =
	    c->pair_queue != NULL ? (char *)"+6591234567" : NULL;
	cfg.forward_rules = (char *)c->rules;
	ck_assert_int_eq(
	    fh_redirect_lookup(&cfg, c->queue, num, sizeof(num)), c->want);
	ck_assert_str_eq(num, c->number);
}
END_TEST

START_TEST(test_lookup_small_buffer)
{
	char num[8];

	cfg.forward_queue_sid = (char *)WQ1;
	cfg.forward_to_number = (char *)"+6591234567";
	ck_assert_int_eq(
	    fh_redirect_lookup(&cfg, NULL, num, sizeof(num)), FH_EINTERNAL);
}
END_TEST

/* The shared <Dial> writer alone: what the inline Twiml of the no-agent
 * redirect embeds. */
START_TEST(test_dial_writer)
{
	struct fh_resp	resp;
	struct fh_twiml tw;

	fh_resp_init(&resp);
	cfg.redirect_timeout = 5;
	fh_twiml_init(&tw, &resp);
	fh_redirect_dial(&tw, &cfg, "+15551230000");
	ck_assert_int_eq(fh_twiml_finish(&tw), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "<?xml version=\"1.0\" "
	    "encoding=\"UTF-8\"?><Response><Dial timeout=\"5\">+15551230000"
	    "</Dial></Response>");
	fh_resp_release(&resp);
}
END_TEST

/* The settings of this route and dial-queue, loaded from a fake
 * environment: { variable, value, second variable, value, loads? }. */
struct ccase {
	const char *k1, *v1, *k2, *v2;
	enum fh_err want;
	const char *named; /* the key the message names; NULL: k1 */
};

static const struct ccase ccases[] = {
    {"FLEXHOOKS_REDIRECT_CALLER_ID", "+15005550006", NULL, NULL, FH_OK, NULL},
    {"FLEXHOOKS_REDIRECT_CALLER_ID", "15005550006", NULL, NULL, FH_ECONFIG,
	NULL},
    {"FLEXHOOKS_REDIRECT_TIMEOUT", "5", NULL, NULL, FH_OK, NULL},
    {"FLEXHOOKS_REDIRECT_TIMEOUT", "600", NULL, NULL, FH_OK, NULL},
    {"FLEXHOOKS_REDIRECT_TIMEOUT", "4", NULL, NULL, FH_ECONFIG, NULL},
    {"FLEXHOOKS_REDIRECT_TIMEOUT", "601", NULL, NULL, FH_ECONFIG, NULL},
    {"FLEXHOOKS_REDIRECT_ACTION", "https://x.example/done", NULL, NULL, FH_OK,
	NULL},
    {"FLEXHOOKS_REDIRECT_ACTION", "http://x.example/done", NULL, NULL,
	FH_ECONFIG, NULL},
    {"FLEXHOOKS_AMD_POLICY", "bridge", NULL, NULL, FH_OK, NULL},
    {"FLEXHOOKS_AMD_POLICY", "hangup-on-machine", NULL, NULL, FH_OK, NULL},
    {"FLEXHOOKS_AMD_POLICY", "hangup", NULL, NULL, FH_ECONFIG, NULL},
    {"FLEXHOOKS_OUTBOUND_REJECT_ON_FAILURE", "true", NULL, NULL, FH_OK, NULL},
    {"FLEXHOOKS_OUTBOUND_REJECT_ON_FAILURE", "maybe", NULL, NULL, FH_ECONFIG,
	NULL},
    {"FORWARD_CALL_TASK_QUEUE_SID", WQ1, "FORWARD_TO_NUMBER", "+6591234567",
	FH_OK, NULL},
    {"FORWARD_CALL_TASK_QUEUE_SID", WQ1, NULL, NULL, FH_ECONFIG,
	"FORWARD_TO_NUMBER"},
    {"FORWARD_TO_NUMBER", "+6591234567", NULL, NULL, FH_ECONFIG,
	"FORWARD_CALL_TASK_QUEUE_SID"},
    {"FLEXHOOKS_FORWARD_RULES", WQ1 "=+6591234567," WQ2 "=+6591234567", NULL,
	NULL, FH_OK, NULL},
    {"FLEXHOOKS_FORWARD_RULES", WQ1 "=+6591234567," WQ1 "=+6591234567", NULL,
	NULL, FH_OK, NULL},
    {"FLEXHOOKS_FORWARD_RULES", WQ1 "=+6591234567," WQ1 "=+6591234568", NULL,
	NULL, FH_ECONFIG, NULL},
    {"FLEXHOOKS_FORWARD_RULES",
	WQ2 "=+1555123000," WQ3 "=+442071230000," WQ2 "=+15551230001", NULL,
	NULL, FH_ECONFIG, NULL},
};

static const char *const *cenv;

static const char *
fake_getenv(const char *name)
{
	const char *const *p;

	for (p = cenv; p[0] != NULL; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

START_TEST(test_config)
{
	const struct ccase *c = &ccases[_i];
	const char	*env[] = {"FLEXHOOKS_CONFIG", "/dev/null", c->k1, c->v1,
		 c->k2 != NULL ? c->k2 : "X", c->v2, NULL};
	struct fh_config lc;
	char		 msg[128];

	cenv = env;
	ck_assert_int_eq(
	    fh_config_load(&lc, fake_getenv, msg, sizeof(msg)), c->want);
	if (c->want != FH_OK) {
		ck_assert_msg(
		    strstr(msg, c->named != NULL ? c->named : c->k1) != NULL,
		    "message '%s'", msg);
		return;
	}
	fh_config_release(&lc);
}
END_TEST

/* Defaults and parsed values of the new settings. */
START_TEST(test_config_values)
{
	const char	*env[] = {"FLEXHOOKS_CONFIG", "/dev/null",
		 "FLEXHOOKS_AMD_POLICY", "hangup-on-machine",
		 "FLEXHOOKS_REDIRECT_TIMEOUT", "20", NULL};
	const char	*none[] = {"FLEXHOOKS_CONFIG", "/dev/null", NULL};
	struct fh_config lc;
	char		 msg[128];

	cenv = env;
	ck_assert_int_eq(
	    fh_config_load(&lc, fake_getenv, msg, sizeof(msg)), FH_OK);
	ck_assert_int_eq(lc.amd_hangup_on_machine, 1);
	ck_assert_int_eq(lc.redirect_timeout, 20);
	fh_config_release(&lc);
	cenv = none;
	ck_assert_int_eq(
	    fh_config_load(&lc, fake_getenv, msg, sizeof(msg)), FH_OK);
	ck_assert_int_eq(lc.amd_hangup_on_machine, 0);
	ck_assert_int_eq(lc.outbound_reject_on_failure, 0);
	ck_assert_int_eq(lc.redirect_timeout, 0);
	ck_assert_ptr_null(lc.redirect_caller_id);
	ck_assert_ptr_null(lc.redirect_action);
	fh_config_release(&lc);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("redirect");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, NULL);
	tcase_add_checked_fixture(limits, setup, NULL);
	tcase_add_loop_test(core, test_golden, 0, FH_NITEMS(rcases));
	tcase_add_test(core, test_dial_writer);
	tcase_add_loop_test(limits, test_lookup, 0, FH_NITEMS(lcases));
	tcase_add_test(limits, test_lookup_small_buffer);
	tcase_add_loop_test(limits, test_config, 0, FH_NITEMS(ccases));
	tcase_add_test(core, test_config_values);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
