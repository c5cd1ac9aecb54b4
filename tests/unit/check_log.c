/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_log.c - the JSON log lines: the access line's object is reused
 * from request to request, so nothing of one request may show on the
 * next; keys in a fixed order; levels; escaping; masking.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fh_check.h"
#include "lib/err.h"
#include "lib/log.h"

#define CA "CA0123456789abcdef0123456789abcdef"
#define WT "WT0123456789abcdef0123456789abcdef"

static struct fh_log	   tlog;
static char		   text[16384];
static char		  *lines[16];
static int		   nlines;
static struct json_object *parsed[16];

static void
setup(void)
{
	memset(&tlog, 0, sizeof(tlog));
	fh_log_init(&tlog, "test-prog", FH_LOG_INFO);
	tlog.out = tmpfile();
	ck_assert_ptr_nonnull(tlog.out);
	nlines = 0;
}

static void
teardown(void)
{
	int i;

	for (i = 0; i < nlines; i++)
		json_object_put(parsed[i]);
	nlines = 0;
	fh_log_release(&tlog);
	if (tlog.out != NULL)
		fclose(tlog.out);
	tlog.out = NULL;
}

/* Read what was written, split it into lines and parse each one. */
static void
read_lines(void)
{
	size_t n;
	char  *p, *nl;

	fflush(tlog.out);
	rewind(tlog.out);
	n = fread(text, 1, sizeof(text) - 1, tlog.out);
	text[n] = '\0';
	ck_assert_msg(n > 0 && text[n - 1] == '\n',
	    "output does not end with a newline: '%s'", text);
	for (p = text; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		*nl = '\0';
		ck_assert_int_lt(nlines, 16);
		lines[nlines] = p;
		parsed[nlines] = json_tokener_parse(p);
		ck_assert_msg(parsed[nlines] != NULL &&
			json_object_is_type(parsed[nlines], json_type_object),
		    "line %d is not a JSON object: '%s'", nlines, p);
		nlines++;
	}
}

static const char *
str(int line, const char *key)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(parsed[line], key, &v),
	    "line %d has no '%s': %s", line, key, lines[line]);
	return v != NULL ? json_object_get_string(v) : NULL;
}

static int64_t
num(int line, const char *key)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(parsed[line], key, &v) &&
		json_object_is_type(v, json_type_int),
	    "line %d has no integer '%s': %s", line, key, lines[line]);
	return json_object_get_int64(v);
}

static int
has(int line, const char *key)
{
	return json_object_object_get_ex(parsed[line], key, NULL);
}

/* The keys of a line in order, comma-separated. */
static void
keys(int line, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	json_object_object_foreach(parsed[line], k, v)
	{
		(void)v;
		n += (size_t)snprintf(
		    out + n, outlen - n, "%s%s", n > 0 ? "," : "", k);
		ck_assert_uint_lt(n, outlen);
	}
}

/* A timestamp like 2026-12-06T03:55:01.123Z. */
static void
check_ts(int line)
{
	const char *ts = str(line, "ts");

	ck_assert_ptr_nonnull(ts);
	ck_assert_uint_eq(strlen(ts), 24);
	ck_assert_int_eq(ts[4], '-');
	ck_assert_int_eq(ts[10], 'T');
	ck_assert_int_eq(ts[19], '.');
	ck_assert_int_eq(ts[23], 'Z');
}

START_TEST(test_access_lines_do_not_carry_over)
{
	char k[512];

	fh_log_begin(&tlog, "0123abcd");
	fh_log_set_call(&tlog, CA);
	fh_log_set_task(&tlog, WT);
	tlog.rest_attempts = 3;
	fh_log_request(
	    &tlog, "POST", "/dial-queue", 502, 1234, "signature", "FH_EREST");

	fh_log_begin(&tlog, NULL);
	fh_log_request(
	    &tlog, "GET", "/twiml-redirect-call", 200, 2, NULL, NULL);

	fh_log_begin(&tlog, "ffff");
	fh_log_set_task(&tlog, WT);
	fh_log_request(&tlog, NULL, NULL, 404, 0, "basic", "FH_ENOTFOUND");
	read_lines();
	ck_assert_int_eq(nlines, 3);

	check_ts(0);
	ck_assert_str_eq(str(0, "level"), "error");
	ck_assert_str_eq(str(0, "prog"), "test-prog");
	ck_assert_str_eq(str(0, "rid"), "0123abcd");
	ck_assert_str_eq(str(0, "method"), "POST");
	ck_assert_str_eq(str(0, "path"), "/dial-queue");
	ck_assert_int_eq(num(0, "status"), 502);
	ck_assert_int_eq(num(0, "ms"), 1234);
	ck_assert_str_eq(str(0, "auth"), "signature");
	ck_assert_str_eq(str(0, "err"), "FH_EREST");
	ck_assert_int_eq(num(0, "rest"), 3);
	ck_assert_str_eq(str(0, "call_sid"), CA);
	ck_assert_str_eq(str(0, "task_sid"), WT);
	keys(0, k, sizeof(k));
	ck_assert_str_eq(k,
	    "ts,level,prog,rid,method,path,status,ms,auth,"
	    "err,rest,call_sid,task_sid");

	/* the second request set none of the first one's extras */
	check_ts(1);
	ck_assert_str_eq(str(1, "level"), "info");
	ck_assert_str_eq(str(1, "rid"), "-");
	ck_assert_str_eq(str(1, "path"), "/twiml-redirect-call");
	ck_assert_int_eq(num(1, "status"), 200);
	ck_assert_int_eq(num(1, "ms"), 2);
	ck_assert_str_eq(str(1, "auth"), "none");
	ck_assert_ptr_null(str(1, "err"));
	ck_assert_int_eq(num(1, "rest"), 0);
	ck_assert(!has(1, "call_sid"));
	ck_assert(!has(1, "task_sid"));
	keys(1, k, sizeof(k));
	ck_assert_str_eq(k,
	    "ts,level,prog,rid,method,path,status,ms,auth,"
	    "err,rest");

	ck_assert_str_eq(str(2, "level"), "warn");
	ck_assert_str_eq(str(2, "method"), "-");
	ck_assert_str_eq(str(2, "path"), "-");
	ck_assert_str_eq(str(2, "err"), "FH_ENOTFOUND");
	ck_assert(!has(2, "call_sid"));
	ck_assert_str_eq(str(2, "task_sid"), WT);
	keys(2, k, sizeof(k));
	ck_assert_str_eq(k,
	    "ts,level,prog,rid,method,path,status,ms,auth,"
	    "err,rest,task_sid");
}
END_TEST

START_TEST(test_bad_ids_are_not_logged)
{
	fh_log_begin(&tlog, "abc\"}{");
	fh_log_set_call(&tlog, "CAnot-a-sid");
	fh_log_set_task(&tlog, CA); /* a CallSid is not a TaskSid */
	fh_log_request(&tlog, "GET", "/x", 200, 1, NULL, NULL);
	read_lines();
	ck_assert_int_eq(nlines, 1);
	ck_assert_str_eq(str(0, "rid"), "-");
	ck_assert(!has(0, "call_sid"));
	ck_assert(!has(0, "task_sid"));
}
END_TEST

START_TEST(test_diagnostic_lines)
{
	char k[256];

	fh_log_begin(&tlog, "beef");
	fh_log_warn(&tlog, "cannot POST '%s': %d \"quoted\" \\ </x>\n",
	    "/v1/Tasks", 429);
	fh_log_debug(&tlog, "not written at info");
	fh_log_info(&tlog, "second");
	fh_log_request(&tlog, "GET", "/x", 200, 1, NULL, NULL);
	fh_log_error(&tlog, "after the access line");
	read_lines();
	ck_assert_int_eq(nlines, 4);

	check_ts(0);
	ck_assert_str_eq(str(0, "level"), "warn");
	ck_assert_str_eq(str(0, "rid"), "beef");
	ck_assert_str_eq(
	    str(0, "msg"), "cannot POST '/v1/Tasks': 429 \"quoted\" \\ </x>\n");
	keys(0, k, sizeof(k));
	ck_assert_str_eq(k, "ts,level,prog,rid,msg");
	/* '/' is not escaped, so paths read as they are */
	ck_assert_ptr_nonnull(strstr(lines[0], "'/v1/Tasks'"));

	ck_assert_str_eq(str(1, "level"), "info");
	ck_assert_str_eq(str(1, "msg"), "second");
	ck_assert(!has(1, "method"));

	ck_assert(!has(2, "msg"));
	ck_assert_str_eq(str(3, "level"), "error");
	ck_assert_str_eq(str(3, "msg"), "after the access line");
	ck_assert(!has(3, "status"));
}
END_TEST

START_TEST(test_release_then_use_again)
{
	fh_log_begin(&tlog, "01");
	fh_log_info(&tlog, "one");
	fh_log_request(&tlog, "GET", "/a", 200, 1, NULL, NULL);
	fh_log_release(&tlog);
	fh_log_begin(&tlog, "02");
	fh_log_info(&tlog, "two");
	fh_log_request(&tlog, "GET", "/b", 201, 1, NULL, NULL);
	read_lines();
	ck_assert_int_eq(nlines, 4);
	ck_assert_str_eq(str(2, "msg"), "two");
	ck_assert_str_eq(str(3, "path"), "/b");
	ck_assert_int_eq(num(3, "status"), 201);
}
END_TEST

START_TEST(test_long_message_is_one_line)
{
	char big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fh_log_info(&tlog, "%s", big);
	read_lines();
	ck_assert_int_eq(nlines, 1);
	/* cut at the message buffer, still valid JSON */
	ck_assert_uint_eq(strlen(str(0, "msg")), 1023);
}
END_TEST

START_TEST(test_levels)
{
	ck_assert_int_eq(fh_log_level_parse("error"), FH_LOG_ERROR);
	ck_assert_int_eq(fh_log_level_parse("warn"), FH_LOG_WARN);
	ck_assert_int_eq(fh_log_level_parse("info"), FH_LOG_INFO);
	ck_assert_int_eq(fh_log_level_parse("debug"), FH_LOG_DEBUG);
	ck_assert_int_eq(fh_log_level_parse("INFO"), -1);
	ck_assert_int_eq(fh_log_level_parse(""), -1);

	tlog.level = FH_LOG_ERROR;
	fh_log_warn(&tlog, "dropped");
	fh_log_request(&tlog, "GET", "/ok", 200, 1, NULL, NULL);
	fh_log_request(&tlog, "GET", "/bad", 500, 1, NULL, "FH_EINTERNAL");
	fh_log_error(&tlog, "kept");
	read_lines();
	/* the level filters diagnostic lines only: every request has its
	 * access line (README, Logs) */
	ck_assert_int_eq(nlines, 3);
	ck_assert_str_eq(str(0, "path"), "/ok");
	ck_assert_str_eq(str(0, "level"), "info");
	ck_assert_str_eq(str(1, "path"), "/bad");
	ck_assert_str_eq(str(2, "msg"), "kept");
}
END_TEST

START_TEST(test_mask_phone)
{
	char out[32], small[8];

	fh_log_mask_phone("+15551234567", out, sizeof(out));
	ck_assert_str_eq(out, "********4567");
	fh_log_mask_phone("123", out, sizeof(out));
	ck_assert_str_eq(out, "123");
	fh_log_mask_phone(NULL, out, sizeof(out));
	ck_assert_str_eq(out, "");
	/* cut short: still the number's own last four digits */
	fh_log_mask_phone("+15551234567", small, sizeof(small));
	ck_assert_str_eq(small, "***4567");
}
END_TEST

/* The line json-c writes for the same values (the house's serialiser,
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE): the log's own
 * writer must give it byte for byte.  ts is taken from the line itself. */
static void
check_same_as_json_c(int line, const char *const *kv, size_t nkv)
{
	struct json_object *o;
	const char	   *want;
	size_t		    i;

	o = json_object_new_object();
	ck_assert_ptr_nonnull(o);
	json_object_object_add(
	    o, "ts", json_object_new_string(str(line, "ts")));
	for (i = 0; i + 1 < nkv; i += 2) {
		const char *k = kv[i], *v = kv[i + 1];

		if (v == NULL)
			json_object_object_add(o, k, NULL);
		else if (v[0] == '#') {
			char	 *end;
			long long n = strtoll(v + 1, &end, 10);

			ck_assert_int_eq(*end, '\0');
			json_object_object_add(o, k, json_object_new_int64(n));
		} else
			json_object_object_add(o, k, json_object_new_string(v));
	}
	want = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	ck_assert_str_eq(lines[line], want);
	json_object_put(o);
}

START_TEST(test_access_line_is_json_c_s)
{
	char all[256], path[300];
	int  i;

	/* every byte but NUL, in a path and in an error name */
	for (i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	snprintf(path, sizeof(path), "/a/b?c=\"d\"&e=%s", all);
	fh_log_begin(&tlog, "0123abcd");
	fh_log_set_call(&tlog, CA);
	fh_log_set_task(&tlog, WT);
	tlog.rest_attempts = 4294967295u;
	fh_log_request(&tlog, "POST", path, 503, -12, "basic", all);
	fh_log_begin(&tlog, NULL);
	fh_log_request(
	    &tlog, NULL, NULL, 200, 9223372036854775807L, NULL, NULL);
	read_lines();
	ck_assert_int_eq(nlines, 2);
	{
		const char *kv[] = {"level", "error", "prog", "test-prog",
		    "rid", "0123abcd", "method", "POST", "path", path, "status",
		    "#503", "ms", "#-12", "auth", "basic", "err", all, "rest",
		    "#4294967295", "call_sid", CA, "task_sid", WT};

		check_same_as_json_c(0, kv, FH_NITEMS(kv));
	}
	{
		const char *kv[] = {"level", "info", "prog", "test-prog", "rid",
		    "-", "method", "-", "path", "-", "status", "#200", "ms",
		    "#9223372036854775807", "auth", "none", "err", NULL, "rest",
		    "#0"};

		check_same_as_json_c(1, kv, FH_NITEMS(kv));
	}
}
END_TEST

START_TEST(test_diagnostic_line_is_json_c_s)
{
	char all[256];
	int  i;

	for (i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	fh_log_begin(&tlog, "beef");
	fh_log_warn(&tlog, "%s", all);
	tlog.prog = NULL;
	fh_log_error(&tlog, "</x> \\ \"q\" %d", 7);
	read_lines();
	ck_assert_int_eq(nlines, 2);
	{
		const char *kv[] = {"level", "warn", "prog", "test-prog", "rid",
		    "beef", "msg", all};

		check_same_as_json_c(0, kv, FH_NITEMS(kv));
	}
	{
		const char *kv[] = {"level", "error", "prog", "-", "rid",
		    "beef", "msg", "</x> \\ \"q\" 7"};

		check_same_as_json_c(1, kv, FH_NITEMS(kv));
	}
}
END_TEST

/* The values are json-c objects set in place line after line: a long
 * value, then an empty one, then a short one, and err from a name to null
 * and back, each line still exactly what json-c writes for it. */
START_TEST(test_reused_values_are_json_c_s)
{
	char long_path[600];

	memset(long_path, 'p', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	fh_log_begin(&tlog, "aa");
	fh_log_set_call(&tlog, CA);
	fh_log_request(&tlog, "POST", long_path, 200, 5, "basic", "FH_EAUTH");
	fh_log_begin(&tlog, "bb");
	fh_log_request(&tlog, "", "", 403, 0, "", NULL);
	fh_log_begin(&tlog, "cc");
	fh_log_set_task(&tlog, WT);
	fh_log_request(&tlog, "GET", "/x\t\"", 201, 7, "none", "");
	fh_log_info(&tlog, "%s", "");
	read_lines();
	ck_assert_int_eq(nlines, 4);
	{
		const char *kv[] = {"level", "info", "prog", "test-prog", "rid",
		    "aa", "method", "POST", "path", long_path, "status", "#200",
		    "ms", "#5", "auth", "basic", "err", "FH_EAUTH", "rest",
		    "#0", "call_sid", CA};

		check_same_as_json_c(0, kv, FH_NITEMS(kv));
	}
	{
		const char *kv[] = {"level", "warn", "prog", "test-prog", "rid",
		    "bb", "method", "", "path", "", "status", "#403", "ms",
		    "#0", "auth", "", "err", NULL, "rest", "#0"};

		check_same_as_json_c(1, kv, FH_NITEMS(kv));
	}
	{
		const char *kv[] = {"level", "info", "prog", "test-prog", "rid",
		    "cc", "method", "GET", "path", "/x\t\"", "status", "#201",
		    "ms", "#7", "auth", "none", "err", "", "rest", "#0",
		    "task_sid", WT};

		check_same_as_json_c(2, kv, FH_NITEMS(kv));
	}
	{
		const char *kv[] = {"level", "info", "prog", "test-prog", "rid",
		    "cc", "msg", ""};

		check_same_as_json_c(3, kv, FH_NITEMS(kv));
	}
}
END_TEST

/* A path past its budget (here 50 KB of quotes, 100 KB escaped) is cut
 * after a whole escape: the line stays one valid JSON object. */
START_TEST(test_overlong_value_stays_json)
{
	static char path[50 * 1024 + 1];
	static char big[80 * 1024];
	const char *got;
	size_t	    n;

	memset(path, '"', sizeof(path) - 1);
	fh_log_request(&tlog, "GET", path, 200, 1, NULL, NULL);
	fflush(tlog.out);
	rewind(tlog.out);
	n = fread(big, 1, sizeof(big) - 1, tlog.out);
	big[n] = '\0';
	ck_assert_uint_gt(n, 40 * 1024);
	ck_assert_uint_lt(n, 41 * 1024);
	ck_assert_int_eq(big[n - 1], '\n');
	ck_assert_ptr_eq(strchr(big, '\n'), big + n - 1);
	big[n - 1] = '\0';
	parsed[0] = json_tokener_parse(big);
	ck_assert_ptr_nonnull(parsed[0]);
	lines[0] = big;
	nlines = 1;
	got = str(0, "path");
	ck_assert_uint_eq(strlen(got), 20 * 1024);
	ck_assert_int_eq(num(0, "status"), 200);
	ck_assert_int_eq(num(0, "rest"), 0);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("lines");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_access_lines_do_not_carry_over);
	tcase_add_test(tc, test_bad_ids_are_not_logged);
	tcase_add_test(tc, test_diagnostic_lines);
	tcase_add_test(tc, test_release_then_use_again);
	tcase_add_test(tc, test_long_message_is_one_line);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_mask_phone);
	suite_add_tcase(s, tc);

	tc = tcase_create("same as json-c");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_access_line_is_json_c_s);
	tcase_add_test(tc, test_diagnostic_line_is_json_c_s);
	tcase_add_test(tc, test_reused_values_are_json_c_s);
	tcase_add_test(tc, test_overlong_value_stays_json);
	suite_add_tcase(s, tc);
	return s;
}

FH_CHECK_MAIN(log_suite)
