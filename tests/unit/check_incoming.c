/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_incoming.c - /incoming-call: the TwiML of each case, compared byte
 * for byte with tests/golden/incoming-call/<case>.xml.  Regenerate with
 * tests/golden/gen.sh and review the diff.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "flex/locations.h"
#include "lib/fcgi.h"
#include "fh_check.h"
#include "fh_golden.h"
#include "handlers/incoming.h"

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "tests/fixtures"
#endif

#define WF "WW0123456789abcdef0123456789abcdef"
#define CALL "CallSid=CA0123456789abcdef0123456789abcdef"
#define WS "WS0123456789abcdef0123456789abcdef"

static struct fh_config cfg;
static struct fh_ctx	ctx;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	cfg.public_url = (char *)"https://hooks.example.com";
	cfg.inbound_workflow_sid = (char *)WF;
	cfg.workspace_sid = (char *)WS;
	ctx.cfg = &cfg;
	ctx.prog = "check_incoming";
	fh_log_init(&ctx.log, "check_incoming", -1); /* silent */
}

static enum fh_err
run(const char *body, int authz, struct fh_resp *resp)
{
	struct fh_req req;
	char	      m[] = "REQUEST_METHOD=POST";
	char	      u[] = "REQUEST_URI=/incoming-call";
	char	      ct[] = "CONTENT_TYPE=application/x-www-form-urlencoded";
	char	      a[] = "HTTP_AUTHORIZATION=Basic dXNlcjpwYXNz";
	char	     *envp[5] = {m, u, ct, authz ? a : NULL, NULL};
	enum fh_err   err;

	fh_req_init(&req);
	fh_resp_init(resp);
	ck_assert_int_eq(fh_req_parse(&req, envp, body, strlen(body)), FH_OK);
	err = fh_handle_incoming_call(&ctx, &req, resp);
	fh_req_release(&req);
	return err;
}

struct gcase {
	const char *name;
	const char *body;
	const char *greeting;
	int	    no_workflow;
	int	    authz;
	int	    no_flex; /* no TWILIO_FLEX_WORKSPACE_SID */
};

static const struct gcase golden[] = {
    {"default", CALL "&From=%2B15551234567&Caller=%2B15551234567", NULL, 0, 1,
	0},
    {"greeting", CALL "&From=%2B15551234567", "Thank you for calling.", 0, 1,
	0},
    /* the caller ID is text: escaped in JSON, then in XML */
    {"withheld", CALL "&From=%22Anon%22+%3Cx%3E", NULL, 0, 1, 0},
    {"no-workflow", CALL "&From=%2B15551234567", NULL, 1, 1, 0},
    {"no-credentials", CALL "&From=%2B15551234567", NULL, 0, 0, 0},
    /* without Flex: no wait experience, Twilio's hold music */
    {"no-flex", CALL "&From=%2B15551234567", NULL, 0, 1, 1},
};

START_TEST(test_golden)
{
	const struct gcase *c = &golden[_i];
	struct fh_resp	    resp;
	char		    name[128];

	cfg.inbound_greeting = (char *)c->greeting;
	if (c->no_workflow)
		cfg.inbound_workflow_sid = NULL;
	if (c->no_flex)
		cfg.workspace_sid = NULL;
	ck_assert_int_eq(run(c->body, c->authz, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, "text/xml; charset=utf-8");
	ck_assert_int_lt(
	    snprintf(name, sizeof(name), "%s.xml", c->name), (int)sizeof(name));
	fh_test_golden("incoming-call", name, resp.body.data, resp.body.len);
	fh_resp_release(&resp);
}
END_TEST

/* A control character in From reaches the document only JSON-escaped;
 * a From that is not UTF-8 is not used at all. */
START_TEST(test_bad_from)
{
	struct fh_resp resp;

	ck_assert_int_eq(run(CALL "&From=%01", 1, &resp), FH_OK);
	ck_assert_ptr_nonnull(strstr(
	    fh_buf_cstr(&resp.body), "&quot;name&quot;:&quot;\\u0001&quot;"));
	ck_assert_ptr_null(memchr(resp.body.data, 0x01, resp.body.len));
	fh_resp_release(&resp);
	ck_assert_int_eq(
	    run(CALL "&From=%FF&Caller=%2B15551234567", 1, &resp), FH_OK);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&resp.body),
	    "&quot;name&quot;:&quot;+15551234567&quot;"));
	fh_resp_release(&resp);
}
END_TEST

/* FLEXHOOKS_INBOUND_ADD_LOCATION: the entry of the called line adds
 * practice and the outbound To and From attributes (dotted paths make
 * nested objects); without an entry, or with a clashing path, the call is
 * still enqueued with the plain attributes. */
struct lcase {
	const char *called; /* form-encoded */
	const char *to_attr, *from_attr;
	const char *file; /* under FIXTURE_DIR, NULL: unset */
	const char *want; /* the <Task> text, XML-escaped */
};

#define PLAIN \
	"{&quot;type&quot;:&quot;inbound&quot;,&quot;name&quot;:" \
	"&quot;+15551234567&quot;,&quot;conversations&quot;:{&quot;" \
	"hang_up_by&quot;:&quot;Customer&quot;}"

static const struct lcase lcases[] = {
    {"%2B14155550100", "practicePhone", "callerID", "locations.json",
	PLAIN ",&quot;practice&quot;:&quot;Pacific Health&quot;,"
	      "&quot;practicePhone&quot;:&quot;+14158786346&quot;,"
	      "&quot;callerID&quot;:&quot;+14155550100&quot;}"},
    /* a number that is not in the file */
    {"%2B14155550101", "practicePhone", "callerID", "locations.json",
	PLAIN "}"},
    /* empty locationPhone: no To attribute; markup escaped twice */
    {"%2B14155550199", "practicePhone", "callerID", "locations.json",
	PLAIN ",&quot;practice&quot;:&quot;Bay &lt;Clinic&gt; &amp; "
	      "\\&quot;Co\\&quot;&quot;,&quot;callerID&quot;:&quot;"
	      "+14155550199&quot;}"},
    {"%2B14155550100", "outbound.to", "outbound.from", "locations.json",
	PLAIN ",&quot;practice&quot;:&quot;Pacific Health&quot;,"
	      "&quot;outbound&quot;:{&quot;to&quot;:&quot;+14158786346&quot;,"
	      "&quot;from&quot;:&quot;+14155550100&quot;}}"},
    /* "type" is a string: the path cannot go through it */
    {"%2B14155550100", "type.to", "callerID", "locations.json",
	PLAIN ",&quot;practice&quot;:&quot;Pacific Health&quot;}"},
    {"%2B14155550100", "practicePhone", "callerID", NULL, PLAIN "}"},
    {"%2B14155550100", "practicePhone", "callerID", "missing.json", PLAIN "}"},
    {NULL, "practicePhone", "callerID", "locations.json", PLAIN "}"},
};

START_TEST(test_add_location)
{
	const struct lcase *c = &lcases[_i];
	struct fh_resp	    resp;
	char		    body[256], file[512], want[1024];
	const char	   *doc, *task, *end;

	ck_assert_int_lt(snprintf(file, sizeof(file), "%s/%s", FIXTURE_DIR,
			     c->file != NULL ? c->file : ""),
	    (int)sizeof(file));
	cfg.inbound_add_location = 1;
	cfg.locations_file = c->file != NULL ? file : NULL;
	cfg.outbound_to_attribute = (char *)c->to_attr;
	cfg.outbound_from_attribute = (char *)c->from_attr;
	ck_assert_int_lt(snprintf(body, sizeof(body),
			     "%s&From=%%2B15551234567"
			     "%s%s",
			     CALL, c->called != NULL ? "&Called=" : "",
			     c->called != NULL ? c->called : ""),
	    (int)sizeof(body));
	ck_assert_int_eq(run(body, 1, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	doc = fh_buf_cstr(&resp.body);
	task = strstr(doc, "<Task>");
	end = strstr(doc, "</Task>");
	ck_assert_ptr_nonnull(task);
	ck_assert_ptr_nonnull(end);
	task += strlen("<Task>");
	ck_assert_int_lt(
	    snprintf(want, sizeof(want), "%s", c->want), (int)sizeof(want));
	ck_assert_msg((size_t)(end - task) == strlen(want) &&
		memcmp(task, want, strlen(want)) == 0,
	    "case %d:\n got: %.*s\n"
	    "want: %s",
	    _i, (int)(end - task), task, want);
	fh_resp_release(&resp);
	fh_location_release();
}
END_TEST

/* FLEXHOOKS_INBOUND_GREETING: text, no control characters, 1000 bytes. */
static const char *greeting_env;

static const char *
greeting_getenv(const char *name)
{
	if (strcmp(name, "FLEXHOOKS_INBOUND_GREETING") == 0)
		return greeting_env;
	if (strcmp(name, "FLEXHOOKS_CONFIG") == 0)
		return "/dev/null";
	return NULL;
}

struct gtcase {
	const char *value;
	enum fh_err want;
};

static char long_greeting[1002];

static const struct gtcase gtcases[] = {
    {"Thank you for calling <Example & Co>.", FH_OK},
    {"Caf\xc3\xa9", FH_OK},
    {"bad\x01", FH_ECONFIG},
    {"line\nbreak", FH_ECONFIG},
    {"\xff", FH_ECONFIG},
    {long_greeting, FH_ECONFIG},
};

START_TEST(test_greeting_config)
{
	struct fh_config c;
	char		 msg[128];

	memset(long_greeting, 'a', 1001);
	long_greeting[1001] = '\0';
	greeting_env = gtcases[_i].value;
	ck_assert_int_eq(fh_config_load(&c, greeting_getenv, msg, sizeof(msg)),
	    gtcases[_i].want);
	if (gtcases[_i].want == FH_OK) {
		ck_assert_str_eq(c.inbound_greeting, gtcases[_i].value);
		fh_config_release(&c);
	} else
		ck_assert_str_eq(
		    msg, "invalid value for 'FLEXHOOKS_INBOUND_GREETING'");
}
END_TEST

static Suite *
incoming_suite(void)
{
	Suite *s = suite_create("incoming");
	TCase *tc_core = tcase_create("core");
	TCase *tc_limits = tcase_create("limits");

	tcase_add_checked_fixture(tc_core, setup, NULL);
	tcase_add_checked_fixture(tc_limits, setup, NULL);
	tcase_add_loop_test(tc_core, test_golden, 0, FH_NITEMS(golden));
	tcase_add_test(tc_limits, test_bad_from);
	tcase_add_loop_test(tc_core, test_add_location, 0, FH_NITEMS(lcases));
	tcase_add_loop_test(
	    tc_limits, test_greeting_config, 0, FH_NITEMS(gtcases));
	suite_add_tcase(s, tc_core);
	suite_add_tcase(s, tc_limits);
	return s;
}

FH_CHECK_MAIN(incoming_suite)
