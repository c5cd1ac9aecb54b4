/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_dial_queue.c - /dial-queue against golden TwiML
 * (tests/golden/dial-queue) and the AnsweredBy policy.
 */
#include <check.h>
#include <string.h>

#include "handlers/dial_queue.h"
#include "fh_check.h"
#include "fh_golden.h"

#define WR1 "WR66666666666666666666666666666666"
#define WT1 "WT0123456789abcdef0123456789abcdef"
#define CA1 "CA0123456789abcdef0123456789abcdef"
#define FORM "application/x-www-form-urlencoded"

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
	ctx.rest = NULL; /* the reject needs the integration tests */
	fh_log_init(&ctx.log, "test", -1); /* silent */
}

struct dcase {
	const char *golden;
	int	    hangup_on_machine;
	const char *uri, *body;
};

static const struct dcase dcases[] = {
    {"bridge.xml", 0,
	"/dial-queue?queue=" WR1 "&from=%2B15005550006"
	"&task=" WT1,
	"CallSid=" CA1},
    {"bridge-human.xml", 1, "/dial-queue?queue=" WR1,
	"CallSid=" CA1 "&AnsweredBy=human&MachineDetectionDuration=1200"},
    {"bridge-unknown.xml", 1, "/dial-queue?queue=" WR1, "AnsweredBy=unknown"},
    {"bridge-machine-policy-bridge.xml", 0, "/dial-queue?queue=" WR1,
	"AnsweredBy=machine_start"},
    {"hangup-machine.xml", 1, "/dial-queue?queue=" WR1,
	"AnsweredBy=machine_end_beep"},
    {"hangup-fax.xml", 1, "/dial-queue?queue=" WR1 "&task=" WT1,
	"AnsweredBy=fax"},
    {"missing-queue.xml", 0, "/dial-queue?from=%2B15005550006", "CallSid=" CA1},
    {"undefined-queue.xml", 0, "/dial-queue?queue=undefined", "CallSid=" CA1},
    {"malformed-queue.xml", 1, "/dial-queue?queue=WR6666",
	"AnsweredBy=machine_start"},
    {"queue-wrong-prefix.xml", 0,
	"/dial-queue?queue=WT0123456789abcdef0123456789abcdef", ""},
    {"queue-in-body.xml", 0, "/dial-queue",
	"queue=" WR1 "&from=junk"
	"&task=nope"},
    /* an attribute value with markup in it cannot pass the SID check */
    {"queue-markup.xml", 0, "/dial-queue?queue=%22%2F%3E%3CPlay%3Ex", ""},
};

START_TEST(test_golden)
{
	const struct dcase *c = &dcases[_i];
	struct fh_req	    req;
	struct fh_resp	    resp;

	cfg.amd_hangup_on_machine = c->hangup_on_machine;
	fh_test_req(&req, "POST", c->uri, FORM, c->body, NULL);
	fh_resp_init(&resp);
	ck_assert_int_eq(fh_handle_dial_queue(&ctx, &req, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, "text/xml; charset=utf-8");
	fh_test_golden("dial-queue", c->golden, resp.body.data, resp.body.len);
	fh_resp_release(&resp);
	fh_req_release(&req);
}
END_TEST

/* { policy hangup-on-machine, AnsweredBy, decision } */
struct pcase {
	int		    hangup;
	const char	   *by;
	enum fh_dq_decision want;
};

static const struct pcase pcases[] = {
    {1, NULL, FH_DQ_BRIDGE},
    {1, "", FH_DQ_BRIDGE},
    {1, "human", FH_DQ_BRIDGE},
    {1, "unknown", FH_DQ_BRIDGE},
    {1, "machine_start", FH_DQ_HANGUP},
    {1, "machine_end_beep", FH_DQ_HANGUP},
    {1, "machine_end_silence", FH_DQ_HANGUP},
    {1, "machine_end_other", FH_DQ_HANGUP},
    {1, "fax", FH_DQ_HANGUP},
    {1, "MACHINE_START", FH_DQ_BRIDGE},
    {1, "machine", FH_DQ_BRIDGE},
    {0, "machine_start", FH_DQ_BRIDGE},
    {0, "fax", FH_DQ_BRIDGE},
};

START_TEST(test_policy)
{
	const struct pcase *c = &pcases[_i];

	ck_assert_int_eq(fh_dial_queue_decide(c->hangup, c->by), c->want);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("dial_queue");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, NULL);
	tcase_add_checked_fixture(limits, setup, NULL);
	tcase_add_loop_test(core, test_golden, 0, FH_NITEMS(dcases));
	tcase_add_loop_test(limits, test_policy, 0, FH_NITEMS(pcases));
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
