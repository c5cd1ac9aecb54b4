/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_twiml.c - the escaping TwiML writer.
 */
#include <check.h>
#include <string.h>

#include "fh_check.h"
#include "lib/twiml.h"

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

START_TEST(test_say_escaped)
{
	struct fh_resp	resp;
	struct fh_twiml tw;

	fh_resp_init(&resp);
	fh_twiml_init(&tw, &resp);
	fh_twiml_open(&tw, FH_TW_SAY);
	fh_twiml_attr(&tw, FH_TA_VOICE, "Polly.\"Joanna\"");
	fh_twiml_text(&tw, "<Hangup/> & 'you'");
	fh_twiml_close(&tw);
	fh_twiml_open(&tw, FH_TW_REDIRECT);
	fh_twiml_text(&tw, "https://h/x?a=1&b=2");
	ck_assert_int_eq(fh_twiml_finish(&tw), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    DECL
	    "<Response><Say voice="
	    "\"Polly.&quot;Joanna&quot;\">&lt;Hangup/&gt; &amp; &apos;you&apos;"
	    "</Say><Redirect>https://h/x?a=1&amp;b=2</Redirect></Response>");
	ck_assert_str_eq(resp.content_type, "text/xml; charset=utf-8");
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_nesting)
{
	struct fh_resp	resp;
	struct fh_twiml tw;

	fh_resp_init(&resp);
	fh_twiml_init(&tw, &resp);
	fh_twiml_open(&tw, FH_TW_ENQUEUE);
	fh_twiml_attr(&tw, FH_TA_WORKFLOW_SID, "WW1");
	fh_twiml_open(&tw, FH_TW_TASK);
	fh_twiml_text(&tw, "{\"a\":1}");
	fh_twiml_close(&tw);
	fh_twiml_close(&tw);
	fh_twiml_open(&tw, FH_TW_DIAL);
	fh_twiml_open(&tw, FH_TW_QUEUE);
	fh_twiml_attr(&tw, FH_TA_RESERVATION_SID, "WR1");
	fh_twiml_close(&tw);
	fh_twiml_close(&tw);
	fh_twiml_open(&tw, FH_TW_HANGUP);
	ck_assert_int_eq(fh_twiml_finish(&tw), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    DECL
	    "<Response><Enqueue "
	    "workflowSid=\"WW1\"><Task>{&quot;a&quot;:1}</Task></Enqueue>"
	    "<Dial><Queue reservationSid=\"WR1\"/></Dial><Hangup/></Response>");
	fh_resp_release(&resp);
}
END_TEST

struct bad {
	enum fh_tw_elem parent, child;
};
static const struct bad bad[] = {
    {FH_TW_RESPONSE, FH_TW_TASK},
    {FH_TW_RESPONSE, FH_TW_QUEUE},
    {FH_TW_RESPONSE, FH_TW_NUMBER},
    {FH_TW_GATHER, FH_TW_RECORD},
    {FH_TW_DIAL, FH_TW_SAY},
    {FH_TW_RESPONSE, FH_TW_RESPONSE},
};

START_TEST(test_bad_nesting)
{
	struct fh_resp	resp;
	struct fh_twiml tw;

	fh_resp_init(&resp);
	fh_twiml_init(&tw, &resp);
	if (bad[_i].parent != FH_TW_RESPONSE)
		fh_twiml_open(&tw, bad[_i].parent);
	fh_twiml_open(&tw, bad[_i].child);
	ck_assert_int_ne(fh_twiml_finish(&tw), FH_OK);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_limits)
{
	struct fh_resp	resp;
	struct fh_twiml tw;

	/* attribute after content, control characters, invalid UTF-8 */
	fh_resp_init(&resp);
	fh_twiml_init(&tw, &resp);
	fh_twiml_open(&tw, FH_TW_SAY);
	fh_twiml_text(&tw, "x");
	fh_twiml_attr(&tw, FH_TA_VOICE, "v");
	ck_assert_int_ne(fh_twiml_finish(&tw), FH_OK);
	fh_resp_release(&resp);

	fh_resp_init(&resp);
	fh_twiml_init(&tw, &resp);
	fh_twiml_open(&tw, FH_TW_SAY);
	fh_twiml_text(&tw, "bell\x07");
	ck_assert_int_eq(fh_twiml_finish(&tw), FH_EINPUT);
	fh_resp_release(&resp);

	fh_resp_init(&resp);
	fh_twiml_init(&tw, &resp);
	fh_twiml_open(&tw, FH_TW_SAY);
	fh_twiml_text(&tw, "\xc3\x28");
	ck_assert_int_eq(fh_twiml_finish(&tw), FH_EINPUT);
	fh_resp_release(&resp);

	fh_resp_init(&resp);
	fh_twiml_init(&tw, &resp);
	ck_assert_int_eq(fh_twiml_finish(&tw), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), DECL "<Response></Response>");
	fh_resp_release(&resp);
}
END_TEST

/* White space a parser would normalise goes out as references. */
START_TEST(test_whitespace_escaped)
{
	struct fh_resp	resp;
	struct fh_twiml tw;

	fh_resp_init(&resp);
	fh_twiml_init(&tw, &resp);
	fh_twiml_open(&tw, FH_TW_SAY);
	fh_twiml_attr(&tw, FH_TA_LANGUAGE, "a\tb\nc\r");
	fh_twiml_text(&tw, "1\r\n2\r3\n");
	ck_assert_int_eq(fh_twiml_finish(&tw), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    DECL "<Response><Say "
		 "language=\"a&#9;b&#10;c&#13;\">1&#13;&#10;2&#13;3&#10;</Say>"
		 "</Response>");
	fh_resp_release(&resp);
}
END_TEST

/* Found by fuzz_twiml: each of these used to give ill-formed XML. */
struct illformed {
	const char *what;
	enum fh_err want;
};
static const struct illformed illformed[] = {
    {"U+FFFE", FH_EINPUT},
    {"U+FFFF", FH_EINPUT},
    {"repeated attribute", FH_EINTERNAL},
    {"same name, other enum", FH_EINTERNAL},
    {"text after </Response>", FH_EINTERNAL},
};

START_TEST(test_illformed)
{
	struct fh_resp	resp;
	struct fh_twiml tw;

	fh_resp_init(&resp);
	fh_twiml_init(&tw, &resp);
	switch (_i) {
	case 0:
	case 1:
		fh_twiml_open(&tw, FH_TW_SAY);
		fh_twiml_text(&tw, _i == 0 ? "x\xef\xbf\xbe" : "\xef\xbf\xbf");
		break;
	case 2:
		fh_twiml_open(&tw, FH_TW_SAY);
		fh_twiml_attr(&tw, FH_TA_VOICE, "a");
		fh_twiml_attr(&tw, FH_TA_VOICE, "b");
		break;
	case 3:
		fh_twiml_open(&tw, FH_TW_ENQUEUE);
		fh_twiml_open(&tw, FH_TW_TASK);
		fh_twiml_attr(&tw, FH_TA_TIMEOUT, "1");
		fh_twiml_attr(&tw, FH_TA_TIMEOUT_TASK, "2");
		break;
	default:
		fh_twiml_close(&tw);
		fh_twiml_text(&tw, "late");
		break;
	}
	ck_assert_msg(fh_twiml_finish(&tw) == illformed[_i].want, "%s",
	    illformed[_i].what);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_names)
{
	int i;

	for (i = 0; i < FH_TW__MAX; i++)
		ck_assert_ptr_nonnull(fh_twiml_elem_name(i));
	for (i = 0; i < FH_TA__MAX; i++)
		ck_assert_ptr_nonnull(fh_twiml_attr_name(i));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("twiml");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_test(core, test_say_escaped);
	tcase_add_test(core, test_nesting);
	tcase_add_test(core, test_names);
	tcase_add_test(core, test_whitespace_escaped);
	tcase_add_loop_test(
	    limits, test_bad_nesting, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(limits, test_limits);
	tcase_add_loop_test(
	    limits, test_illformed, 0, (int)FH_NITEMS(illformed));
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
