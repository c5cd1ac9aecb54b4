/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_valid.c - the field validators.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fh_check.h"
#include "lib/valid.h"

struct vcase {
	fh_validator fn;
	const char  *in;
	size_t	     len; /* 0: strlen(in) */
	enum fh_err  want;
	const char  *norm; /* expected str when FH_OK, or NULL */
};

static const struct vcase cases[] = {
    {fh_valid_e164, "+15555550123", 0, FH_OK, "+15555550123"},
    {fh_valid_e164, "15555550123", 0, FH_EINPUT, NULL},
    {fh_valid_e164, "+0155555501", 0, FH_EINPUT, NULL},
    {fh_valid_e164, "+1234567", 0, FH_EINPUT, NULL},
    {fh_valid_e164, "+12345678", 0, FH_OK, "+12345678"},
    {fh_valid_e164, "+123456789012345", 0, FH_OK, "+123456789012345"},
    {fh_valid_e164, "+1234567890123456", 0, FH_EINPUT, NULL},
    {fh_valid_e164, "+1 (555) 555-0123", 0, FH_OK, "+15555550123"},
    {fh_valid_e164, "+1.555.555.0123", 0, FH_OK, "+15555550123"},
    {fh_valid_e164, " 15555550123", 0, FH_OK, "+15555550123"},
    {fh_valid_e164, "  15555550123", 0, FH_EINPUT, NULL},
    {fh_valid_e164, "+1555555012a", 0, FH_EINPUT, NULL},
    {fh_valid_e164, "+1555\0550123", 12, FH_EINPUT, NULL},
    {fh_valid_e164, "", 0, FH_EINPUT, NULL},
    {fh_valid_e164, "+", 0, FH_EINPUT, NULL},
    {fh_valid_from_number, "sip:agent@example.com", 0, FH_OK,
	"sip:agent@example.com"},
    {fh_valid_from_number, "sip:", 0, FH_EINPUT, NULL},
    {fh_valid_from_number, "sip:a b", 0, FH_EINPUT, NULL},
    {fh_valid_from_number, "sip:<x>", 0, FH_EINPUT, NULL},
    {fh_valid_from_number, "+18005550100", 0, FH_OK, "+18005550100"},
    {fh_valid_sid_ww, "WW0123456789abcdef0123456789abcdef", 0, FH_OK, NULL},
    {fh_valid_sid_ww, "WT0123456789abcdef0123456789abcdef", 0, FH_EINPUT, NULL},
    {fh_valid_sid_ww, "WW0123456789abcdef0123456789abcde", 0, FH_EINPUT, NULL},
    {fh_valid_sid_ww, "WW0123456789abcdef0123456789abcdeg", 0, FH_EINPUT, NULL},
    {fh_valid_sid_qu, "QU0123456789abcdef0123456789abcdef", 0, FH_OK, NULL},
    {fh_valid_sid_qu, "WW0123456789abcdef0123456789abcdef", 0, FH_EINPUT, NULL},
    {fh_valid_sid_wq, "WQ0123456789abcdef0123456789abcdef", 0, FH_OK, NULL},
    {fh_valid_sid_wq, "WW0123456789abcdef0123456789abcdef", 0, FH_EINPUT, NULL},
    {fh_valid_sid_wr, "WR0123456789abcdef0123456789abcdef", 0, FH_OK, NULL},
    {fh_valid_sid_wr, "WW0123456789abcdef0123456789abcdef", 0, FH_EINPUT, NULL},
    {fh_valid_sid_ws, "WS0123456789abcdef0123456789abcdef", 0, FH_OK, NULL},
    {fh_valid_sid_ws, "WW0123456789abcdef0123456789abcdef", 0, FH_EINPUT, NULL},
    {fh_valid_sid_wr,
	"WR0123456789abcdef\0"
	"123456789abcdef",
	34, FH_EINPUT, NULL},
    {fh_valid_any_sid, "FW0123456789ABCDEF0123456789abcdef", 0, FH_OK, NULL},
    {fh_valid_any_sid, "fw0123456789ABCDEF0123456789abcdef", 0, FH_EINPUT,
	NULL},
    {fh_valid_timeout, "1", 0, FH_OK, NULL},
    {fh_valid_timeout, "1209600", 0, FH_OK, NULL},
    {fh_valid_timeout, "0", 0, FH_EINPUT, NULL},
    {fh_valid_timeout, "1209601", 0, FH_EINPUT, NULL},
    {fh_valid_timeout, "-1", 0, FH_EINPUT, NULL},
    {fh_valid_timeout, "+5", 0, FH_EINPUT, NULL},
    {fh_valid_timeout, "1e3", 0, FH_EINPUT, NULL},
    {fh_valid_timeout, "99999999999999999999999", 0, FH_EINPUT, NULL},
    {fh_valid_priority, "2147483647", 0, FH_OK, NULL},
    {fh_valid_priority, "2147483648", 0, FH_EINPUT, NULL},
    {fh_valid_attempts, "1000", 0, FH_OK, NULL},
    {fh_valid_attempts, "1001", 0, FH_EINPUT, NULL},
    {fh_valid_channel, "voice", 0, FH_OK, NULL},
    {fh_valid_channel, "voice channel", 0, FH_EINPUT, NULL},
    {fh_valid_bool, "TRUE", 0, FH_OK, "true"},
    {fh_valid_bool, "0", 0, FH_OK, "false"},
    {fh_valid_bool, "yes", 0, FH_EINPUT, NULL},
    {fh_valid_datetime, "2026-11-22T01:45:34Z", 0, FH_OK,
	"2026-11-22T01:45:34.000Z"},
    {fh_valid_datetime, "2026-11-22T01:45:34.5831Z", 0, FH_OK,
	"2026-11-22T01:45:34.583Z"},
    {fh_valid_datetime, "2026-11-22T01:45:34+02:00", 0, FH_OK,
	"2026-11-21T23:45:34.000Z"},
    {fh_valid_datetime, "2026-11-21T23:45:34.1-01:30", 0, FH_OK,
	"2026-11-22T01:15:34.100Z"},
    {fh_valid_datetime, "2026-02-30T00:00:00Z", 0, FH_EINPUT, NULL},
    {fh_valid_datetime, "2026-11-22 01:45:34Z", 0, FH_EINPUT, NULL},
    {fh_valid_datetime, "2026-11-22T01:45Z", 0, FH_EINPUT, NULL},
    {fh_valid_datetime, "2026-11-22T01:45:34", 0, FH_EINPUT, NULL},
    /* JavaScript's Date.toString(), as the older Flex plugin sends it */
    {fh_valid_datetime,
	"Sun Dec 06 2026 14:00:05 GMT+0100 (Central "
	"European Standard Time)",
	0, FH_OK, "2026-12-06T13:00:05.000Z"},
    {fh_valid_datetime, "Sat Feb 28 2026 23:30:00 GMT-0530", 0, FH_OK,
	"2026-03-01T05:00:00.000Z"},
    {fh_valid_datetime,
	"Sun Dec 06 2026 14:00:05 GMT+0000 "
	"(Coordinated Universal Time)",
	0, FH_OK, "2026-12-06T14:00:05.000Z"},
    {fh_valid_datetime, "Sun Dex 06 2026 14:00:05 GMT+0100", 0, FH_EINPUT,
	NULL},
    {fh_valid_datetime, "Xyz Dec 06 2026 14:00:05 GMT+0100", 0, FH_EINPUT,
	NULL},
    {fh_valid_datetime, "Sun Feb 30 2026 14:00:05 GMT+0100", 0, FH_EINPUT,
	NULL},
    {fh_valid_datetime, "Sun Dec 06 2026 14:00:05 GMT+0100 (a<b>)x", 0,
	FH_EINPUT, NULL},
    {fh_valid_datetime, "Sun Dec 06 2026 14:00:05 GMT+0100 (CET", 0, FH_EINPUT,
	NULL},
    {fh_valid_datetime, "Sun Dec 06 2026 14:00:05 UTC+0100", 0, FH_EINPUT,
	NULL},
    {fh_valid_datetime, "Sun Dec 06 2026 24:00:05 GMT+0100", 0, FH_EINPUT,
	NULL},
    {fh_valid_datetime, "Sun Dec 06 2026 14:00:05 GMT+2500", 0, FH_EINPUT,
	NULL},
    {fh_valid_https_url,
	"https://api.twilio.com/2010-04-01/Accounts/AC1/"
	"Recordings/RE1",
	0, FH_OK, NULL},
    {fh_valid_https_url, "http://example.com/x", 0, FH_EINPUT, NULL},
    {fh_valid_https_url, "https://exa mple.com", 0, FH_EINPUT, NULL},
    {fh_valid_https_url, "https://", 0, FH_EINPUT, NULL},
    {fh_valid_text256, "caf\xc3\xa9", 0, FH_OK, NULL},
    {fh_valid_text256, "bad \xc3\x28", 0, FH_EINPUT, NULL},
    {fh_valid_text256, "overlong \xc0\xaf", 0, FH_EINPUT, NULL},
    {fh_valid_text256, "surrogate \xed\xa0\x80", 0, FH_EINPUT, NULL},
    {fh_valid_text256, "nul\0x", 5, FH_EINPUT, NULL},
};

START_TEST(test_validator)
{
	const struct vcase *c = &cases[_i];
	struct fh_val	    v;
	size_t		    len = c->len != 0 ? c->len : strlen(c->in);

	memset(&v, 0, sizeof(v));
	ck_assert_msg(
	    c->fn(c->in, len, &v) == c->want, "case %d '%s'", _i, c->in);
	if (c->want == FH_OK) {
		ck_assert_ptr_nonnull(v.str);
		if (c->norm != NULL)
			ck_assert_str_eq(v.str, c->norm);
	}
}
END_TEST

START_TEST(test_text_limits)
{
	char	     *big;
	struct fh_val v;

	big = malloc(8193);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 8193);
	ck_assert_int_eq(fh_valid_text8k(big, 8192, &v), FH_OK);
	ck_assert_int_eq(fh_valid_text8k(big, 8193, &v), FH_EINPUT);
	ck_assert_int_eq(fh_valid_text256(big, 256, &v), FH_OK);
	ck_assert_int_eq(fh_valid_text256(big, 257, &v), FH_EINPUT);
	free(big);
}
END_TEST

struct wcase {
	const char *in;
	size_t	    len; /* 0: strlen(in) */
	int	    want;
};

static const struct wcase wcases[] = {
    {"+266696687", 0, 1},
    {" 266696687", 0, 1},
    {"+7378742833", 0, 1},
    {"+2562533", 0, 1},
    {"+86282452253", 0, 1},
    {"anonymous", 0, 1},
    {"Anonymous", 0, 1},
    {"RESTRICTED", 0, 1},
    {"unknown", 0, 1},
    {"blocked", 0, 1},
    {"Private", 0, 1},
    {"266696687", 0, 0}, /* no '+': not what Twilio sends */
    {"+2666966870", 0, 0},
    {"+26669668", 0, 0},
    {"+15555550123", 0, 0},
    {"+", 0, 0},
    {"", 0, 0},
    {"anonymous ", 0, 0},
    {"anonymou", 0, 0},
    {"anonymous\0", 10, 0},
    {"+266696687\0", 11, 0},
    {"client:anonymous", 0, 0},
    {"sip:anonymous@example.com", 0, 0},
};

START_TEST(test_withheld)
{
	const struct wcase *c = &wcases[_i];
	size_t		    len = c->len != 0 ? c->len : strlen(c->in);

	ck_assert_msg(fh_is_withheld_caller(c->in, len) == c->want,
	    "case %d '%s'", _i, c->in);
	ck_assert_int_eq(fh_is_withheld_caller(NULL, 0), 0);
}
END_TEST

/* fh_word_or_dash(): what the event and dial-queue log lines print */
START_TEST(test_word_or_dash)
{
	char	    long_word[66];
	const char *w = "reservation.accepted";

	memset(long_word, 'a', 64);
	long_word[64] = '\0';
	ck_assert_ptr_eq(fh_word_or_dash(w), w);
	ck_assert_str_eq(fh_word_or_dash("2026-12-06T16:40Z"), "-");
	ck_assert_str_eq(fh_word_or_dash("task-queue_1.x"), "task-queue_1.x");
	ck_assert_str_eq(fh_word_or_dash(long_word), long_word);
	long_word[64] = 'a';
	long_word[65] = '\0';
	ck_assert_str_eq(fh_word_or_dash(long_word), "-");
	ck_assert_str_eq(fh_word_or_dash("a b"), "-");
	ck_assert_str_eq(fh_word_or_dash("a\nb"), "-");
	ck_assert_str_eq(fh_word_or_dash(""), "-");
	ck_assert_str_eq(fh_word_or_dash(NULL), "-");
}
END_TEST

/* fh_copy_utf8(): cut at a character boundary, at a NUL, never past dst */
START_TEST(test_copy_utf8)
{
	char dst[6];

	fh_copy_utf8(dst, sizeof(dst), "abc", 3);
	ck_assert_str_eq(dst, "abc");
	fh_copy_utf8(dst, sizeof(dst), "abcdefgh", 8);
	ck_assert_str_eq(dst, "abcde");
	/* "abcd" then U+00E9 (2 bytes): only "abcd" fits whole */
	fh_copy_utf8(dst, sizeof(dst), "abcd\xc3\xa9", 6);
	ck_assert_str_eq(dst, "abcd");
	/* U+20AC (3 bytes) after "ab": fits in 5 bytes */
	fh_copy_utf8(dst, sizeof(dst), "ab\xe2\x82\xac", 5);
	ck_assert_str_eq(dst, "ab\xe2\x82\xac");
	fh_copy_utf8(dst, sizeof(dst), "ab\0cd", 5);
	ck_assert_str_eq(dst, "ab");
	dst[0] = 'x';
	fh_copy_utf8(dst, 0, "abc", 3);
	ck_assert_int_eq(dst[0], 'x');
	fh_copy_utf8(dst, 1, "abc", 3);
	ck_assert_str_eq(dst, "");
}
END_TEST

/* fh_has_control(): C0 controls and DEL, over the whole length */
START_TEST(test_has_control)
{
	ck_assert_int_eq(fh_has_control("plain text \xc3\xa9", 13), 0);
	ck_assert_int_eq(fh_has_control("a\tb", 3), 1);
	ck_assert_int_eq(fh_has_control("a\r\nb", 4), 1);
	ck_assert_int_eq(fh_has_control("ab\x7f", 3), 1);
	ck_assert_int_eq(fh_has_control("ab\0c", 4), 1);
	ck_assert_int_eq(fh_has_control("ab\0c", 2), 0);
	ck_assert_int_eq(fh_has_control("", 0), 0);
}
END_TEST

/* fh_utf8_valid() skips ASCII eight bytes at a time: a bad or good
 * sequence at every position of a longer text, across the words and at
 * the end, is still seen. */
START_TEST(test_utf8_every_position)
{
	unsigned char t[24];
	size_t	      pos;

	for (pos = 0; pos < sizeof(t); pos++) {
		memset(t, 'a', sizeof(t));
		ck_assert(fh_utf8_valid((const char *)t, sizeof(t)));
		t[pos] = 0xFF;
		ck_assert_msg(!fh_utf8_valid((const char *)t, sizeof(t)),
		    "0xFF at %zu", pos);
		t[pos] = 0x80; /* a lone continuation byte */
		ck_assert_msg(!fh_utf8_valid((const char *)t, sizeof(t)),
		    "0x80 at %zu", pos);
		t[pos] = 0xC3; /* a lead byte: whole with its follower */
		if (pos + 1 < sizeof(t)) {
			t[pos + 1] = 0xA9;
			ck_assert_msg(fh_utf8_valid((const char *)t, sizeof(t)),
			    "U+00E9 at %zu", pos);
			/* cut by the length, not by a NUL */
			ck_assert_msg(!fh_utf8_valid((const char *)t, pos + 1),
			    "U+00E9 cut at %zu", pos);
		} else
			ck_assert_msg(
			    !fh_utf8_valid((const char *)t, sizeof(t)),
			    "lead byte last at %zu", pos);
		if (pos + 2 < sizeof(t)) {
			t[pos] = 0xED; /* U+D800, a surrogate */
			t[pos + 1] = 0xA0;
			t[pos + 2] = 0x80;
			ck_assert_msg(
			    !fh_utf8_valid((const char *)t, sizeof(t)),
			    "surrogate at %zu", pos);
		}
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("valid");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_loop_test(
	    core, test_validator, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(limits, test_text_limits);
	tcase_add_test(limits, test_utf8_every_position);
	tcase_add_loop_test(
	    core, test_withheld, 0, (int)(sizeof(wcases) / sizeof(wcases[0])));
	tcase_add_test(core, test_word_or_dash);
	tcase_add_test(core, test_copy_utf8);
	tcase_add_test(core, test_has_control);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
