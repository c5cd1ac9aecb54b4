/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_attr.c - the task builder, against golden form bodies.
 */
#include <check.h>
#include <string.h>

#include "flex/attr.h"
#include "fh_check.h"
#include "lib/form.h"
#include "lib/json.h"

#define WW "WW0123456789abcdef0123456789abcdef"

/* Decode the Attributes field of a built form body. */
static char *
attributes_of(const struct fh_buf *b, struct fh_form *f)
{
	const struct fh_pair *p;

	fh_form_init(f);
	ck_assert_int_eq(fh_form_parse(f, b->data, b->len), FH_OK);
	p = fh_form_get(f, "Attributes");
	ck_assert_ptr_nonnull(p);
	return p->value;
}

START_TEST(test_minimal)
{
	struct fh_task_in in;
	struct fh_buf	  b;
	struct fh_form	  f;

	memset(&in, 0, sizeof(in));
	in.number_to_call = "+15555550123";
	in.number_to_call_from = "+18005550100";
	in.main_timezone = "UTC";
	in.default_workflow = WW;
	in.now_ms = 1795311949954LL; /* 2026-11-22T01:45:49.954Z */
	fh_buf_init(&b, 65536);
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_OK);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&b),
	    "Timeout=86400&Priority=0"
	    "&TaskChannel=voice&WorkflowSid=" WW "&Attributes="));
	ck_assert_str_eq(attributes_of(&b, &f),
	    "{\"from\":\"+15555550123\","
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

/* Build the follow-up of the task (JSON text) into b with in as a requeue
 * makes it; returns the parsed task, which the caller puts. */
static struct json_object *
build_from(const char *task, struct fh_task_in *in, struct fh_buf *b)
{
	struct json_object *orig = NULL;

	ck_assert_int_eq(fh_json_parse(task, strlen(task), &orig), FH_OK);
	memset(in, 0, sizeof(*in));
	in->orig = orig;
	in->default_workflow = WW;
	in->now_ms = 1795311949954LL;
	fh_buf_init(b, 65536);
	ck_assert_int_eq(fh_attr_build(in, b), FH_OK);
	return orig;
}

START_TEST(test_requeue_original)
{
	struct fh_task_in   in;
	struct fh_buf	    b;
	struct fh_form	    f;
	struct json_object *orig;
	const char	   *task =
	    "{\"sid\":\"WT0123456789abcdef0123456789"
	    "abcdef\",\"workflow_sid\":\"WWffffffffffffffffffffffffffffffff\","
	    "\"timeout\":3600,\"priority\":5,\"task_channel_unique_name\":"
	    "\"voice\",\"attributes\":\"{\\\"call_sid\\\":\\\"CA1\\\","
	    "\\\"taskType\\\":\\\"callback\\\",\\\"name\\\":\\\"+"
	    "15555550123\\\","
	    "\\\"flexhooks_followup\\\":{},\\\"callBackData\\\":{"
	    "\\\"numberToCall\\\":\\\"+15555550123\\\",\\\"attempts\\\":"
	    "\\\"2\\\","
	    "\\\"isDeleted\\\":\\\"false\\\",\\\"mainTimeZone\\\":\\\"Europe/"
	    "Paris"
	    "\\\"},\\\"conversations\\\":{\\\"abandoned\\\":\\\"Follow-Up\\\"}}"
	    "\"}";

	orig = build_from(task, &in, &b);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&b),
	    "Timeout=3600&Priority=5"
	    "&TaskChannel=voice&WorkflowSid="
	    "WWffffffffffffffffffffffffffffffff"));
	ck_assert_str_eq(attributes_of(&b, &f),
	    "{\"taskType\":\"callback\","
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

/* A wait-experience follow-up names its original last; a task that was
 * itself a follow-up passes its name on to nothing (a requeue). */
START_TEST(test_followup_of)
{
	struct fh_task_in   in;
	struct fh_buf	    b;
	struct fh_form	    f;
	struct json_object *orig = NULL;
	const char	   *a;
	const char	   *last = ",\"flexhooks_followup_of\":"
				   "\"WT0123456789abcdef0123456789abcdef\"}";
	const char	   *task =
	    "{\"sid\":\"WT0123456789abcdef0123456789abcdef\",\"attributes\":"
	    "\"{\\\"taskType\\\":\\\"callback\\\",\\\"flexhooks_followup_"
	    "of\\\":"
	    "\\\"WTaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\\"}\"}";

	orig = build_from(task, &in, &b);
	a = attributes_of(&b, &f);
	ck_assert_ptr_null(strstr(a, "flexhooks_"));
	fh_form_release(&f);
	fh_buf_reset(&b);
	in.followup_of = "WT0123456789abcdef0123456789abcdef";
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_OK);
	a = attributes_of(&b, &f);
	ck_assert_ptr_null(strstr(a, "WTaaaa"));
	ck_assert_uint_gt(strlen(a), strlen(last));
	ck_assert_str_eq(a + strlen(a) - strlen(last), last);
	fh_form_release(&f);
	fh_buf_release(&b);
	json_object_put(orig);
}
END_TEST

START_TEST(test_voicemail_and_overrides)
{
	struct fh_task_in in;
	struct fh_buf	  b;
	struct fh_form	  f;
	const char	 *a;

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
	ck_assert_ptr_nonnull(
	    strstr(fh_buf_cstr(&b), "Timeout=1&Priority=0&TaskChannel=chat&"));
	ck_assert_ptr_nonnull(strstr(
	    fh_buf_cstr(&b), "&VirtualStartTime=2026-11-22T01%3A45%3A49Z"));
	a = attributes_of(&b, &f);
	ck_assert_ptr_nonnull(strstr(a, "\"taskType\":\"voicemail\""));
	ck_assert_ptr_nonnull(strstr(a, "\"isDeleted\":true,\"attempts\":4"));
	ck_assert_ptr_nonnull(
	    strstr(a, "\"transcriptText\":\"call me <back> & \\\"soon\\\"\""));
	fh_form_release(&f);
	fh_buf_release(&b);
}
END_TEST

START_TEST(test_plugin_library_callback)
{
	struct fh_task_in in;
	struct fh_buf	  b;
	struct fh_form	  f;

	memset(&in, 0, sizeof(in));
	in.style = FH_ATTR_STYLE_PLUGIN_LIBRARY;
	in.number_to_call = "+15555550123";
	in.number_to_call_from = "+18005550100";
	in.flex_flow_sid = "FW0123456789abcdef0123456789abcdef";
	in.main_timezone = "UTC";
	in.default_workflow = WW;
	in.now_ms = 1795311949954LL;
	fh_buf_init(&b, 65536);
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_OK);
	/* the functions' order; message null; no media keys */
	ck_assert_str_eq(attributes_of(&b, &f),
	    "{\"taskType\":\"callback\","
	    "\"name\":\"Callback (+15555550123)\",\"flow_execution_sid\":"
	    "\"FW0123456789abcdef0123456789abcdef\",\"message\":null,"
	    "\"callBackData\":{\"numberToCall\":\"+15555550123\","
	    "\"numberToCallFrom\":\"+18005550100\",\"attempts\":0,"
	    "\"mainTimeZone\":\"UTC\",\"utcDateTimeReceived\":"
	    "\"2026-11-22T01:45:49.954Z\",\"isDeleted\":false},"
	    "\"direction\":\"inbound\",\"conversations\":{}}");
	fh_form_release(&f);
	fh_buf_release(&b);
}
END_TEST

START_TEST(test_plugin_library_voicemail)
{
	struct fh_task_in in;
	struct fh_buf	  b;
	struct fh_form	  f;

	memset(&in, 0, sizeof(in));
	in.style = FH_ATTR_STYLE_PLUGIN_LIBRARY;
	in.number_to_call = "+15555550123";
	in.number_to_call_from = "+18005550100";
	in.recording_sid = "RE0123456789abcdef0123456789abcdef";
	in.recording_url = "https://api.twilio.com/r/RE1";
	in.transcript_sid = "TR0123456789abcdef0123456789abcdef";
	in.transcript_text = "call me";
	in.message = "hello";
	in.conversation_id = "WT0123456789abcdef0123456789abcdef";
	in.has_attempts = 1;
	in.attempts = 2;
	in.main_timezone = "UTC";
	in.default_workflow = WW;
	in.now_ms = 1795311949954LL;
	fh_buf_init(&b, 65536);
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_OK);
	ck_assert_str_eq(attributes_of(&b, &f),
	    "{\"taskType\":\"voicemail\","
	    "\"name\":\"Voicemail (+15555550123)\",\"message\":\"hello\","
	    "\"callBackData\":{\"numberToCall\":\"+15555550123\","
	    "\"numberToCallFrom\":\"+18005550100\",\"attempts\":2,"
	    "\"mainTimeZone\":\"UTC\",\"utcDateTimeReceived\":"
	    "\"2026-11-22T01:45:49.954Z\",\"RecordingSid\":"
	    "\"RE0123456789abcdef0123456789abcdef\",\"RecordingUrl\":"
	    "\"https://api.twilio.com/r/RE1\",\"TranscriptionSid\":"
	    "\"TR0123456789abcdef0123456789abcdef\",\"TranscriptionText\":"
	    "\"call me\",\"isDeleted\":false},\"direction\":\"inbound\","
	    "\"conversations\":{\"conversation_id\":"
	    "\"WT0123456789abcdef0123456789abcdef\"}}");
	fh_form_release(&f);
	fh_buf_release(&b);
}
END_TEST

/* A voicemail task of one shape requeued with the other style: the media
 * keys move to the style's names, nothing is lost, taskType stays. */
struct conv_case {
	enum fh_attr_style style;
	const char	  *orig_cb; /* callBackData of the original */
	const char	  *want_in, *want_out[3];
};
static const struct conv_case conv[] = {
    {FH_ATTR_STYLE_PLUGIN_LIBRARY,
	"{\\\"recordingSid\\\":\\\"RE1\\\",\\\"recordingUrl\\\":"
	"\\\"https://x/RE1\\\",\\\"transcriptText\\\":\\\"hi\\\"}",
	"\"RecordingSid\":\"RE1\",\"RecordingUrl\":\"https://x/RE1\","
	"\"TranscriptionText\":\"hi\"",
	{"recordingSid", "recordingUrl", "transcriptText"}},
    {FH_ATTR_STYLE_TEMPLATE,
	"{\\\"RecordingSid\\\":\\\"RE1\\\",\\\"RecordingUrl\\\":"
	"\\\"https://x/RE1\\\",\\\"TranscriptionText\\\":\\\"hi\\\"}",
	"\"recordingSid\":\"RE1\",\"recordingUrl\":\"https://x/RE1\","
	"\"transcriptText\":\"hi\"",
	{"RecordingSid", "RecordingUrl", "TranscriptionText"}},
};

START_TEST(test_convert_shape)
{
	struct fh_task_in   in;
	struct fh_buf	    b, t;
	struct fh_form	    f;
	struct json_object *orig = NULL;
	const char	   *a;
	size_t		    i;

	fh_buf_init(&t, 4096);
	ck_assert_int_eq(
	    fh_buf_printf(&t,
		"{\"sid\":\"WT0123456789abcdef"
		"0123456789abcdef\",\"workflow_sid\":\"%s\",\"attributes\":"
		"\"{\\\"taskType\\\":\\\"voicemail\\\",\\\"practicePhone\\\":"
		"\\\"+15555550199\\\",\\\"loc\\\":{\\\"callerID\\\":"
		"\\\"+18005550100\\\",\\\"keep\\\":1},\\\"callBackData\\\":%s}"
		"\"}",
		WW, conv[_i].orig_cb),
	    FH_OK);
	ck_assert_int_eq(fh_json_parse(t.data, t.len, &orig), FH_OK);
	memset(&in, 0, sizeof(in));
	in.orig = orig;
	in.style = conv[_i].style;
	in.default_workflow = WW;
	in.drop_paths[0] = "practicePhone";
	in.drop_paths[1] = "loc.callerID";
	in.now_ms = 1795311949954LL;
	fh_buf_init(&b, 65536);
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_OK);
	a = attributes_of(&b, &f);
	ck_assert_ptr_nonnull(strstr(a, conv[_i].want_in));
	ck_assert_ptr_nonnull(strstr(a, "\"taskType\":\"voicemail\""));
	for (i = 0; i < 3; i++)
		ck_assert_msg(strstr(a, conv[_i].want_out[i]) == NULL,
		    "%s left in %s", conv[_i].want_out[i], a);
	/* the outbound dialer's To and From are never copied */
	ck_assert_ptr_null(strstr(a, "practicePhone"));
	ck_assert_ptr_null(strstr(a, "callerID"));
	ck_assert_ptr_nonnull(strstr(a, "\"loc\":{\"keep\":1}"));
	fh_form_release(&f);
	fh_buf_release(&b);
	fh_buf_release(&t);
	json_object_put(orig);
}
END_TEST

START_TEST(test_cb_readers)
{
	struct json_object *cb = NULL;

	ck_assert_str_eq(fh_attr_cb_name(FH_ATTR_STYLE_TEMPLATE, FH_CB_TR_TEXT),
	    "transcriptText");
	ck_assert_str_eq(
	    fh_attr_cb_name(FH_ATTR_STYLE_PLUGIN_LIBRARY, FH_CB_TR_SID),
	    "TranscriptionSid");
	ck_assert_ptr_null(fh_attr_cb_name(FH_ATTR_STYLE__MAX, FH_CB_REC_SID));
	ck_assert_ptr_null(fh_attr_cb_name(FH_ATTR_STYLE_TEMPLATE, FH_CB__MAX));
	ck_assert_ptr_null(fh_attr_cb_get(NULL, FH_CB_REC_SID));
	ck_assert_int_eq(fh_attr_cb_style(NULL, FH_ATTR_STYLE_PLUGIN_LIBRARY),
	    FH_ATTR_STYLE_PLUGIN_LIBRARY);
	/* the template's non-empty value first, then the other's */
	ck_assert_int_eq(
	    fh_json_parse("{\"recordingSid\":\"\","
			  "\"RecordingSid\":\"RE2\",\"RecordingUrl\":1}",
		57, &cb),
	    FH_OK);
	ck_assert_str_eq(fh_attr_cb_get(cb, FH_CB_REC_SID), "RE2");
	ck_assert_ptr_null(fh_attr_cb_get(cb, FH_CB_REC_URL));
	ck_assert_int_eq(fh_attr_cb_style(cb, FH_ATTR_STYLE_PLUGIN_LIBRARY),
	    FH_ATTR_STYLE_TEMPLATE);
	json_object_object_del(cb, "recordingSid");
	ck_assert_int_eq(fh_attr_cb_style(cb, FH_ATTR_STYLE_TEMPLATE),
	    FH_ATTR_STYLE_PLUGIN_LIBRARY);
	/* paths: absent, through a non-object, empty parts: no change */
	fh_attr_del_path(cb, "nope");
	fh_attr_del_path(cb, "RecordingSid.x");
	fh_attr_del_path(cb, ".RecordingSid");
	fh_attr_del_path(cb, NULL);
	ck_assert_str_eq(fh_attr_cb_get(cb, FH_CB_REC_SID), "RE2");
	fh_attr_del_path(cb, "RecordingSid");
	ck_assert_ptr_null(fh_attr_cb_get(cb, FH_CB_REC_SID));
	json_object_put(cb);
}
END_TEST

START_TEST(test_limits)
{
	struct fh_task_in   in;
	struct fh_buf	    b;
	struct json_object *orig = NULL;

	memset(&in, 0, sizeof(in));
	fh_buf_init(&b, 65536);
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_ECONFIG);
	ck_assert_int_eq(
	    fh_json_parse("{\"attributes\":\"[1]\"}", 20, &orig), FH_OK);
	in.orig = orig;
	in.default_workflow = WW;
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_EINPUT);
	json_object_put(orig);
	ck_assert_int_eq(
	    fh_json_parse("{\"attributes\":null}", 19, &orig), FH_OK);
	in.orig = orig;
	ck_assert_int_eq(fh_attr_build(&in, &b), FH_OK);
	json_object_put(orig);
	fh_buf_release(&b);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("attr");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_test(core, test_minimal);
	tcase_add_test(core, test_requeue_original);
	tcase_add_test(core, test_followup_of);
	tcase_add_test(core, test_voicemail_and_overrides);
	tcase_add_test(core, test_plugin_library_callback);
	tcase_add_test(core, test_plugin_library_voicemail);
	tcase_add_loop_test(core, test_convert_shape, 0, FH_NITEMS(conv));
	tcase_add_test(limits, test_limits);
	tcase_add_test(limits, test_cb_readers);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
