/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_json.c - strict JSON parsing and building helpers.
 */
#include <check.h>
#include <string.h>

#include "fh_check.h"
#include "lib/json.h"

struct jcase {
	const char *in;
	enum fh_err want;
};

static const struct jcase jcases[] = {
    {"{\"a\":1}", FH_OK},
    {" {\"a\":[1,2,{\"b\":null}]} \n", FH_OK},
    {"123", FH_OK},
    {"{\"a\":1} x", FH_EINPUT},
    {"{\"a\":1}{}", FH_EINPUT},
    {"{\"a\":", FH_EINPUT},
    {"[1,]", FH_EINPUT},
    {"", FH_EINPUT},
    {"{\"a\":\"\xc3\x28\"}", FH_EINPUT},
    {"[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]", FH_EINPUT},
    {"[[[[[[[[[[[[[[1]]]]]]]]]]]]]]", FH_OK},
};

START_TEST(test_parse)
{
	struct json_object *o = NULL;

	ck_assert_int_eq(
	    fh_json_parse(jcases[_i].in, strlen(jcases[_i].in), &o),
	    jcases[_i].want);
	if (jcases[_i].want == FH_OK)
		ck_assert_ptr_nonnull(o);
	else
		ck_assert_ptr_null(o);
	json_object_put(o);
}
END_TEST

START_TEST(test_nul_inside)
{
	struct json_object *o = NULL;

	ck_assert_int_eq(fh_json_parse("{\"a\":1}\0", 8, &o), FH_EINPUT);
	ck_assert_ptr_null(o);
}
END_TEST

START_TEST(test_build)
{
	struct json_object *o = json_object_new_object();

	ck_assert_int_eq(fh_json_add_str(o, "taskSid", "WT1"), FH_OK);
	ck_assert_int_eq(
	    fh_json_add(o, "success", json_object_new_boolean(1)), FH_OK);
	ck_assert_int_eq(fh_json_add_str(o, "code", NULL), FH_OK);
	ck_assert_int_eq(fh_json_add(o, "x", NULL), FH_ENOMEM);
	ck_assert_str_eq(fh_json_text(o),
	    "{\"taskSid\":\"WT1\",\"success\":true,\"code\":null}");
	ck_assert_str_eq(fh_json_str(o, "taskSid"), "WT1");
	ck_assert_ptr_null(fh_json_str(o, "success"));
	ck_assert_ptr_null(fh_json_str(o, "nope"));
	ck_assert_ptr_null(fh_json_str(NULL, "taskSid"));
	ck_assert(json_object_is_type(
	    fh_json_member(o, "success"), json_type_boolean));
	ck_assert_ptr_null(fh_json_member(o, "nope"));
	ck_assert_ptr_null(fh_json_member(NULL, "taskSid"));
	ck_assert_ptr_null(
	    fh_json_member(json_object_object_get(o, "taskSid"), "taskSid"));
	json_object_put(o);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("json");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_loop_test(
	    core, test_parse, 0, (int)(sizeof(jcases) / sizeof(jcases[0])));
	tcase_add_test(core, test_build);
	tcase_add_test(limits, test_nul_inside);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
