/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_answer.c - the JSON answers shared by the routes (lib/answer.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fh_check.h"
#include "lib/answer.h"

/* The value of header name in resp, or NULL. */
static const char *
header(const struct fh_resp *resp, const char *name)
{
	size_t i;

	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

START_TEST(test_task_sid)
{
	struct fh_resp resp;

	fh_resp_init(&resp);
	ck_assert_int_eq(
	    fh_answer_task_sid(&resp, "WT0123456789abcdef0123456789abcdef"),
	    FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "{\"taskSid\":\"WT0123456789abcdef0123456789abcdef\","
	    "\"success\":true}");
	ck_assert_str_eq(header(&resp, "Cache-Control"), "no-store");
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_field_error)
{
	struct fh_resp resp;
	struct fh_log  log;
	char	      *text = NULL;
	size_t	       len = 0;
	FILE	      *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	fh_log_init(&log, "test", FH_LOG_INFO);
	log.out = f;
	fh_resp_init(&resp);
	ck_assert_int_eq(
	    fh_answer_field_error(&log, &resp, "taskSid", 1), FH_EINPUT);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_ptr_nonnull(
	    strstr(fh_buf_cstr(&resp.body), "\"message\":\"missing taskSid\""));
	fh_resp_release(&resp);
	fh_resp_init(&resp);
	ck_assert_int_eq(
	    fh_answer_field_error(&log, &resp, "recordingSid", 0), FH_EINPUT);
	ck_assert_ptr_nonnull(strstr(
	    fh_buf_cstr(&resp.body), "\"message\":\"invalid recordingSid\""));
	fh_resp_release(&resp);
	fh_log_release(&log);
	fclose(f);
	ck_assert_ptr_nonnull(
	    strstr(text, "rejected request: missing taskSid"));
	ck_assert_ptr_nonnull(
	    strstr(text, "rejected request: invalid recordingSid"));
	free(text);
}
END_TEST

START_TEST(test_error)
{
	struct fh_resp resp;

	fh_resp_init(&resp);
	ck_assert_int_eq(
	    fh_answer_error(&resp, FH_ENOTFOUND, "unknown location"),
	    FH_ENOTFOUND);
	ck_assert_int_eq(resp.status, 404);
	ck_assert_ptr_nonnull(strstr(
	    fh_buf_cstr(&resp.body), "\"message\":\"unknown location\""));
	fh_resp_release(&resp);
	fh_resp_init(&resp);
	ck_assert_int_eq(fh_answer_error(&resp, FH_EBUSY, NULL), FH_EBUSY);
	ck_assert_int_eq(resp.status, 409);
	fh_resp_release(&resp);
}
END_TEST

START_TEST(test_rest_error)
{
	struct fh_resp	    resp;
	struct fh_rest_resp rr;

	/* Twilio answered: its code and more_info pass through */
	memset(&rr, 0, sizeof(rr));
	rr.status = 404;
	rr.twerr.status = 404;
	rr.twerr.code = 20404;
	snprintf(rr.twerr.more_info, sizeof(rr.twerr.more_info), "%s",
	    "https://www.twilio.com/docs/errors/20404");
	fh_resp_init(&resp);
	ck_assert_int_eq(
	    fh_resp_rest_error(&resp, FH_ETASK404, &rr), FH_ETASK404);
	ck_assert_int_eq(resp.status, 404);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&resp.body), "20404"));
	fh_resp_release(&resp);
	/* no answer from Twilio: nothing of rr is used */
	rr.status = 0;
	fh_resp_init(&resp);
	ck_assert_int_eq(
	    fh_resp_rest_error(&resp, FH_ETIMEOUT, &rr), FH_ETIMEOUT);
	ck_assert_ptr_null(strstr(fh_buf_cstr(&resp.body), "20404"));
	fh_resp_release(&resp);
	fh_resp_init(&resp);
	ck_assert_int_eq(
	    fh_resp_rest_error(&resp, FH_EUPSTREAM, NULL), FH_EUPSTREAM);
	ck_assert_int_eq(resp.status, 502);
	fh_resp_release(&resp);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("answer");
	TCase *core = tcase_create("core");

	tcase_add_test(core, test_task_sid);
	tcase_add_test(core, test_field_error);
	tcase_add_test(core, test_error);
	tcase_add_test(core, test_rest_error);
	suite_add_tcase(s, core);
	return s;
}

FH_CHECK_MAIN(suite)
