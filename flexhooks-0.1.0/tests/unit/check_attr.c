/*
 * check_attr.c - the task builder, against golden form bodies.
 */
#include <check.h>
#include <string.h>

#include "attr.h"
#include "fh_check.h"
#include "form.h"
#include "json.h"

#define WW "WW0123456789abcdef0123456789abcdef"

/* Decode the Attributes field of a built form body. */
static char *
attributes_of(const struct fh_buf *b, struct fh_form *f)
{
	const struct fh_pair	*p;

	fh_form_init(f);
	ck_assert_int_eq(fh_form_parse(f, b->data, b->len), FH_OK);
	p = fh_form_get(f, "Attributes");
	ck_assert_ptr_nonnull(p);
	return p->value;
}

START_TEST(test_minimal)
{
	struct fh_task_in	 in;
	struct fh_buf		 b;
	struct fh_form		 f;

	memset(&in, 0, sizeof(in));
	in.number_to_call = "+15555550123";
	in.number_to_call_from = "+18005550100";
	in.main_timezone = "UTC";
	in.default_workflow = WW;
	in.now_ms = 1795311949954LL;	/* 2026-11-22T01:45:49.954Z */
	fh_buf_init(&b, 65536);
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_OK);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&b), "Timeout=86400&Priority=0"
	    "&TaskChannel=voice&WorkflowSid=" WW "&Attributes="));
	ck_assert_str_eq(attributes_of(&b, &f), "{\"from\":\"+15555550123\","
	    "\"name\":\"+15555550123\",\"taskType\":\"callback\","
	    "\"callBackData\":{\"numberToCall\":\"+15555550123\","
	    "\"numberToCallFrom\":\"+18005550100\",\"mainTimeZone\":\"UTC\","
	    "\"utcDateTimeReceived\":\"2026-11-22T01:45:49.954Z\","
	    "\"isDeleted\":false,\"attempts\":0},\"direction\":\"inbound\","
	    "\"conversations\":{}}");
	fh_form_release(&f);
	fh_buf_release(&b);
}
END_TEST

START_TEST(test_requeue_original)
{
	struct fh_task_in	 in;
	struct fh_buf		 b;
	struct fh_form		 f;
	struct json_object	*orig = NULL;
	const char		*task = "{\"sid\":\"WT0123456789abcdef0123456789"
	    "abcdef\",\"workflow_sid\":\"WWffffffffffffffffffffffffffffffff\","
	    "\"timeout\":3600,\"priority\":5,\"task_channel_unique_name\":"
	    "\"voice\",\"attributes\":\"{\\\"call_sid\\\":\\\"CA1\\\","
	    "\\\"taskType\\\":\\\"callback\\\",\\\"name\\\":\\\"+15555550123\\\","
	    "\\\"flexhooks_followup\\\":{},\\\"callBackData\\\":{"
	    "\\\"numberToCall\\\":\\\"+15555550123\\\",\\\"attempts\\\":\\\"2\\\","
	    "\\\"isDeleted\\\":\\\"false\\\",\\\"mainTimeZone\\\":\\\"Europe/Paris"
	    "\\\"},\\\"conversations\\\":{\\\"abandoned\\\":\\\"Follow-Up\\\"}}\"}";

	ck_assert_int_eq(fh_json_parse(task, strlen(task), &orig), FH_OK);
	memset(&in, 0, sizeof(in));
	in.orig = orig;
	in.default_workflow = WW;
	in.now_ms = 1795311949954LL;
	fh_buf_init(&b, 65536);
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_OK);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&b), "Timeout=3600&Priority=5"
	    "&TaskChannel=voice&WorkflowSid=WWffffffffffffffffffffffffffffffff"));
	ck_assert_str_eq(attributes_of(&b, &f), "{\"taskType\":\"callback\","
	    "\"name\":\"+15555550123\",\"callBackData\":{\"numberToCall\":"
	    "\"+15555550123\",\"attempts\":3,\"isDeleted\":false,"
	    "\"mainTimeZone\":\"Europe/Paris\",\"utcDateTimeReceived\":"
	    "\"2026-11-22T01:45:49.954Z\"},\"conversations\":{"
	    "\"conversation_id\":\"WT0123456789abcdef0123456789abcdef\"},"
	    "\"from\":\"+15555550123\",\"direction\":\"inbound\"}");
	fh_form_release(&f);
	fh_buf_release(&b);
	json_object_put(orig);
}
END_TEST

START_TEST(test_voicemail_and_overrides)
{
	struct fh_task_in	 in;
	struct fh_buf		 b;
	struct fh_form		 f;
	const char		*a;

	memset(&in, 0, sizeof(in));
	in.number_to_call = "+15555550123";
	in.number_to_call_from = "sip:a@b";
	in.recording_sid = "RE0123456789abcdef0123456789abcdef";
	in.transcript_text = "call me <back> & \"soon\"";
	in.has_attempts = 1;
	in.attempts = 4;
	in.has_is_deleted = 1;
	in.is_deleted = 1;
	in.has_timeout = 1;
	in.timeout = 1;
	in.has_priority = 1;
	in.priority = 0;
	in.task_channel = "chat";
	in.virtual_start = 1795311949;
	in.default_workflow = WW;
	fh_buf_init(&b, 65536);
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_OK);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&b),
	    "Timeout=1&Priority=0&TaskChannel=chat&"));
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&b),
	    "&VirtualStartTime=2026-11-22T01%3A45%3A49Z"));
	a = attributes_of(&b, &f);
	ck_assert_ptr_nonnull(strstr(a, "\"taskType\":\"voicemail\""));
	ck_assert_ptr_nonnull(strstr(a, "\"isDeleted\":true,\"attempts\":4"));
	ck_assert_ptr_nonnull(strstr(a,
	    "\"transcriptText\":\"call me <back> & \\\"soon\\\"\""));
	fh_form_release(&f);
	fh_buf_release(&b);
}
END_TEST

START_TEST(test_limits)
{
	struct fh_task_in	 in;
	struct fh_buf		 b;
	struct json_object	*orig = NULL;

	memset(&in, 0, sizeof(in));
	fh_buf_init(&b, 65536);
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_ECONFIG);
	ck_assert_int_eq(fh_json_parse("{\"attributes\":\"[1]\"}", 20, &orig),
	    FH_OK);
	in.orig = orig;
	in.default_workflow = WW;
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_EINPUT);
	json_object_put(orig);
	ck_assert_int_eq(fh_json_parse("{\"attributes\":null}", 19, &orig),
	    FH_OK);
	in.orig = orig;
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_OK);
	json_object_put(orig);
	fh_buf_release(&b);
}
END_TEST

static Suite *
suite(void)
{
	Suite	*s = suite_create("attr");
	TCase	*core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_test(core, test_minimal);
	tcase_add_test(core, test_requeue_original);
	tcase_add_test(core, test_voicemail_and_overrides);
	tcase_add_test(limits, test_limits);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
