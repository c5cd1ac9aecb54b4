/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_mime.c - address lists, header encoding and the message builder.
 *
 * "core" reads good address lists, encodes header values (plain ASCII as
 * it is, UTF-8 as encoded words cut on character boundaries) and builds
 * whole messages, checked line by line: CRLF only, no line over 78, the
 * headers in order, the base64 of the text and of the attachment decoding
 * to the bytes given.  "limits" feeds bad addresses and lists, control
 * characters and bad UTF-8 in headers, bad names, types and boundaries,
 * and a buffer too small for the message.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem() */
#endif

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "lib/buf.h"
#include "fh_check.h"
#include "lib/mime.h"

struct addr_case {
	const char *in;
	enum fh_err want;
	size_t	    n;
};

static const struct addr_case addrs_good[] = {
    {"a@example.com", FH_OK, 1},
    {"ops@example.com, boss@example.org", FH_OK, 2},
    {" a.b+c@mail.example.co.uk ,\tx_y@e-x.io ", FH_OK, 2},
    {"o'neil@example.com", FH_OK, 1},
    {"1@2.3", FH_OK, 1},
};

static const struct addr_case addrs_bad[] = {
    {"", FH_EINPUT, 0},
    {" ", FH_EINPUT, 0},
    {"a@example.com,", FH_EINPUT, 0},
    {",a@example.com", FH_EINPUT, 0},
    {"a@@example.com", FH_EINPUT, 0},
    {"@example.com", FH_EINPUT, 0},
    {"a@", FH_EINPUT, 0},
    {"a@localhost", FH_EINPUT, 0},
    {"a@-x.com", FH_EINPUT, 0},
    {"a@x-.com", FH_EINPUT, 0},
    {"a@x..com", FH_EINPUT, 0},
    {"a@x.com.", FH_EINPUT, 0},
    {".a@x.com", FH_EINPUT, 0},
    {"a.@x.com", FH_EINPUT, 0},
    {"a..b@x.com", FH_EINPUT, 0},
    {"A <a@x.com>", FH_EINPUT, 0},
    {"\"a b\"@x.com", FH_EINPUT, 0},
    {"a@x.com\r\nBcc: b@y.com", FH_EINPUT, 0},
    {"a b@x.com", FH_EINPUT, 0},
    {"a@x_y.com", FH_EINPUT, 0},
    {"é@x.com", FH_EINPUT, 0},
    {"a@[127.0.0.1]", FH_EINPUT, 0},
    /* seventeen addresses: one too many */
    {"a@x.co,a@x.co,a@x.co,a@x.co,a@x.co,a@x.co,a@x.co,a@x.co,a@x.co,"
     "a@x.co,a@x.co,a@x.co,a@x.co,a@x.co,a@x.co,a@x.co,a@x.co",
	FH_EINPUT, 0},
};

static void
run_addrs(const struct addr_case *c)
{
	struct fh_mime_addr a[FH_MIME_MAX_RCPT];
	size_t		    n = 99;

	ck_assert_int_eq(fh_mime_addrs(c->in, strlen(c->in), a, &n), c->want);
	if (c->want == FH_OK)
		ck_assert_uint_eq(n, c->n);
}

START_TEST(test_addrs_good)
{
	run_addrs(&addrs_good[_i]);
}
END_TEST

START_TEST(test_addrs_bad)
{
	run_addrs(&addrs_bad[_i]);
}
END_TEST

START_TEST(test_addrs_spans)
{
	struct fh_mime_addr a[FH_MIME_MAX_RCPT];
	const char	   *s = " a@x.com ,b@y.org";
	size_t		    n;

	ck_assert_int_eq(fh_mime_addrs(s, strlen(s), a, &n), FH_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(a[0].len, 7);
	ck_assert(memcmp(a[0].s, "a@x.com", 7) == 0);
	ck_assert_uint_eq(a[1].len, 7);
	ck_assert(memcmp(a[1].s, "b@y.org", 7) == 0);
}
END_TEST

START_TEST(test_addr_lengths)
{
	char s[300];

	/* a 64-character local part is fine, 65 is not */
	memset(s, 'a', 64);
	memcpy(s + 64, "@x.com", 7);
	ck_assert(fh_mime_addr_valid(s, strlen(s)));
	memset(s, 'a', 65);
	memcpy(s + 65, "@x.com", 7);
	ck_assert(!fh_mime_addr_valid(s, strlen(s)));
	/* a 64-character label is not */
	memcpy(s, "a@", 2);
	memset(s + 2, 'b', 64);
	memcpy(s + 66, ".com", 5);
	ck_assert(!fh_mime_addr_valid(s, strlen(s)));
}
END_TEST

struct hv_case {
	const char *in;
	enum fh_err want;
	const char *out; /* NULL: not checked */
};

static const struct hv_case hv[] = {
    {"Voicemail from +15555550123", FH_OK, "Voicemail from +15555550123"},
    {"é", FH_OK, "=?UTF-8?B?w6k=?="},
    {"a=?b", FH_OK, "=?UTF-8?B?YT0/Yg==?="},
    {"", FH_OK, ""},
    {"a\r\nBcc: x@y.com", FH_EINPUT, NULL},
    {"a\nb", FH_EINPUT, NULL},
    {"tab\there", FH_EINPUT, NULL},
    {"\xc3", FH_EINPUT, NULL}, /* cut UTF-8 */
    {"\xff\xfe", FH_EINPUT, NULL},
    {"del\x7f", FH_EINPUT, NULL},
};

START_TEST(test_header_value)
{
	struct fh_buf b;

	fh_buf_init(&b, 4096);
	ck_assert_int_eq(
	    fh_mime_header_value(&b, 7, hv[_i].in, strlen(hv[_i].in)),
	    hv[_i].want);
	if (hv[_i].out != NULL)
		ck_assert_str_eq(fh_buf_cstr(&b), hv[_i].out);
	fh_buf_release(&b);
}
END_TEST

/* Decode standard base64 (no line breaks) into out; returns the length. */
static size_t
b64dec(const char *s, size_t n, unsigned char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
				 "nopqrstuvwxyz0123456789+/";
	unsigned	  acc = 0, bits = 0;
	size_t		  i, o = 0;
	const char	 *p;

	for (i = 0; i < n && s[i] != '='; i++) {
		p = strchr(al, s[i]);
		ck_assert_ptr_nonnull(p);
		acc = (acc << 6) | (unsigned)(p - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o;
}

/* The decoded text of every encoded word of a header value, joined. */
static void
decode_words(const char *v, char *out)
{
	const char *p = v, *e;
	size_t	    o = 0;

	while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
		p += 10;
		e = strstr(p, "?=");
		ck_assert_ptr_nonnull(e);
		/* each word alone decodes to whole characters */
		o += b64dec(p, (size_t)(e - p), (unsigned char *)out + o);
		p = e + 2;
	}
	out[o] = '\0';
}

START_TEST(test_header_long_utf8)
{
	struct fh_buf b;
	char	      in[600], dec[700], *line;
	const char   *p;
	size_t	      i;

	/* 100 two-byte characters and a three-byte one: many words */
	in[0] = '\0';
	for (i = 0; i < 100; i++)
		memcpy(in + 2 * i, "\xc3\xa9", 3);
	memcpy(in + 200, "\xe2\x82\xac", 4);
	fh_buf_init(&b, 4096);
	ck_assert_int_eq(fh_mime_header_value(&b, 7, in, strlen(in)), FH_OK);
	decode_words(fh_buf_cstr(&b), dec);
	ck_assert_str_eq(dec, in);
	/* folded: no line over 78 with "Subject: " in front of the first */
	p = fh_buf_cstr(&b);
	for (i = 9; (line = strstr(p, "\r\n")) != NULL; i = 0) {
		ck_assert_uint_le(i + (size_t)(line - p), 78);
		ck_assert_int_eq(line[2], ' ');
		p = line + 2;
	}
	ck_assert_uint_le(strlen(p), 78);
	fh_buf_release(&b);
}
END_TEST

START_TEST(test_header_long_ascii)
{
	struct fh_buf b;
	char	      in[200], dec[300];

	/* plain but too long for one line: encoded words, folded */
	memset(in, 'x', 150);
	in[150] = '\0';
	fh_buf_init(&b, 4096);
	ck_assert_int_eq(fh_mime_header_value(&b, 7, in, 150), FH_OK);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&b), "\r\n "));
	decode_words(fh_buf_cstr(&b), dec);
	ck_assert_str_eq(dec, in);
	fh_buf_release(&b);
}
END_TEST

static void
msg_init(struct fh_mime_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->from = "voicemail@flexhooks.example.com";
	m->to = "ops@example.com, boss@example.org";
	m->subject = "Message vocal re\xc3\xa7u de +15555550123";
	m->text = "Caller: +15555550123\r\nTranscript:\r\nRappelez-moi "
		  "s'il vous pla\xc3\xaet\r\n";
	m->date = 1796565605; /* 2026-12-06T14:00:05Z */
	m->id_left = "0123456789abcdef0123456789abcdef";
	m->boundary = "fh0123456789abcdef";
}

/* The base64 lines after the part header that ends at the first blank
 * line after start, decoded into out; returns the length. */
static size_t
part_bytes(const char *start, unsigned char *out)
{
	const char *p, *nl;
	size_t	    o = 0;

	p = strstr(start, "\r\n\r\n");
	ck_assert_ptr_nonnull(p);
	for (p += 4; *p != '-' && *p != '\0'; p = nl + 2) {
		nl = strstr(p, "\r\n");
		ck_assert_ptr_nonnull(nl);
		ck_assert_uint_le((size_t)(nl - p), 76);
		o += b64dec(p, (size_t)(nl - p), out + o);
	}
	return o;
}

START_TEST(test_build)
{
	struct fh_mime_msg m;
	struct fh_buf	   b;
	unsigned char	   audio[1000], back[2000];
	const char	  *s, *p, *nl, *part;
	const char	  *head =
	    "Date: Sun, 06 Dec 2026 14:00:05 "
	    "+0000\r\nMessage-ID: <0123456789abcdef0123456789abcdef@flexhooks."
	    "example.com>\r\nFrom: voicemail@flexhooks.example.com\r\n"
	    "To: ops@example.com,\r\n boss@example.org\r\n"
	    "Subject: =?UTF-8?B?";
	size_t i, n;

	for (i = 0; i < sizeof(audio); i++)
		audio[i] = (unsigned char)(i * 7 + 3);
	msg_init(&m);
	m.attach = audio;
	m.attach_len = sizeof(audio);
	m.attach_name = "RE0123456789abcdef0123456789abcdef.mp3";
	m.attach_type = "audio/mpeg";
	fh_buf_init(&b, 1 << 20);
	ck_assert_int_eq(fh_mime_build(&m, &b), FH_OK);
	s = fh_buf_cstr(&b);
	/* CRLF only, lines of 78 at most, 7-bit */
	for (p = s; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		ck_assert(nl > s && nl[-1] == '\r');
		ck_assert_uint_le((size_t)(nl - p) - 1, 78);
	}
	for (i = 0; i < b.len; i++)
		ck_assert_uint_lt((unsigned char)s[i], 0x80);
	/* the head, in order */
	ck_assert(strncmp(s, head, strlen(head)) == 0);
	ck_assert_ptr_nonnull(strstr(s,
	    "\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed;\r\n boundary=\"fh0123456789abcdef\""
	    "\r\n\r\n--fh0123456789abcdef\r\n"));
	/* the text part decodes to the text */
	part = strstr(s, "Content-Type: text/plain; charset=UTF-8\r\n");
	ck_assert_ptr_nonnull(part);
	n = part_bytes(part, back);
	ck_assert_uint_eq(n, strlen(m.text));
	ck_assert(memcmp(back, m.text, n) == 0);
	/* the attachment decodes to the bytes */
	part = strstr(s,
	    "Content-Type: audio/mpeg;\r\n name=\"RE0123456789"
	    "abcdef0123456789abcdef.mp3\"\r\nContent-Transfer-Encoding: "
	    "base64\r\nContent-Disposition: attachment;\r\n filename=\"RE"
	    "0123456789abcdef0123456789abcdef.mp3\"\r\n");
	ck_assert_ptr_nonnull(part);
	n = part_bytes(part, back);
	ck_assert_uint_eq(n, sizeof(audio));
	ck_assert(memcmp(back, audio, n) == 0);
	/* and the end */
	ck_assert_uint_ge(b.len, 24);
	ck_assert_str_eq(s + b.len - 24, "--fh0123456789abcdef--\r\n");
	fh_buf_release(&b);
}
END_TEST

START_TEST(test_build_no_attachment)
{
	struct fh_mime_msg m;
	struct fh_buf	   b;

	msg_init(&m);
	fh_buf_init(&b, 1 << 20);
	ck_assert_int_eq(fh_mime_build(&m, &b), FH_OK);
	ck_assert_ptr_null(strstr(fh_buf_cstr(&b), "Content-Disposition"));
	ck_assert_uint_eq(b.len -
		(size_t)(strstr(fh_buf_cstr(&b), "--fh0123456789abcdef--\r\n") -
		    fh_buf_cstr(&b)),
	    24);
	fh_buf_release(&b);
}
END_TEST

START_TEST(test_b64_size)
{
	ck_assert_uint_eq(fh_mime_b64_size(0), 0);
	ck_assert_uint_eq(fh_mime_b64_size(1), 6);
	ck_assert_uint_eq(fh_mime_b64_size(57), 78);
	ck_assert_uint_eq(fh_mime_b64_size(58), 84);
}
END_TEST

/* One field of the message made bad at a time. */
enum bad_field {
	BAD_FROM,
	BAD_FROM_NAME,
	BAD_TO,
	BAD_TO_EMPTY,
	BAD_SUBJECT_CRLF,
	BAD_SUBJECT_UTF8,
	BAD_TEXT_UTF8,
	BAD_ID,
	BAD_BOUNDARY,
	BAD_BOUNDARY_LONG,
	BAD_NAME,
	BAD_NAME_QUOTE,
	BAD_TYPE,
	BAD_TYPE_CRLF,
	BAD__MAX
};

START_TEST(test_build_bad)
{
	struct fh_mime_msg m;
	struct fh_buf	   b;
	static const char  audio[] = "abc";

	msg_init(&m);
	m.attach = audio;
	m.attach_len = 3;
	m.attach_name = "a.mp3";
	m.attach_type = "audio/mpeg";
	switch ((enum bad_field)_i) {
	case BAD_FROM:
		m.from = "not an address";
		break;
	case BAD_FROM_NAME:
		m.from = "V <v@x.com>";
		break;
	case BAD_TO:
		m.to = "a@x.com, b";
		break;
	case BAD_TO_EMPTY:
		m.to = "";
		break;
	case BAD_SUBJECT_CRLF:
		m.subject = "x\r\nBcc: e@vil.com";
		break;
	case BAD_SUBJECT_UTF8:
		m.subject = "\xc3(";
		break;
	case BAD_TEXT_UTF8:
		m.text = "\xed\xa0\x80";
		break;
	case BAD_ID:
		m.id_left = "a@b";
		break;
	case BAD_BOUNDARY:
		m.boundary = "a\"b";
		break;
	case BAD_BOUNDARY_LONG:
		m.boundary = "0123456789012345678901234567890123456789012345"
			     "678901234567890";
		break;
	case BAD_NAME:
		m.attach_name = "a b.mp3";
		break;
	case BAD_NAME_QUOTE:
		m.attach_name = "a\".mp3";
		break;
	case BAD_TYPE:
		m.attach_type = "audiompeg";
		break;
	case BAD_TYPE_CRLF:
		m.attach_type = "audio/mpeg\r\nX: y";
		break;
	case BAD__MAX:
		break;
	}
	fh_buf_init(&b, 1 << 20);
	ck_assert_int_eq(fh_mime_build(&m, &b), FH_EINPUT);
	fh_buf_release(&b);
}
END_TEST

START_TEST(test_build_too_big)
{
	struct fh_mime_msg m;
	struct fh_buf	   b;
	static char	   audio[4096];

	msg_init(&m);
	m.attach = audio;
	m.attach_len = sizeof(audio);
	m.attach_name = "a.mp3";
	m.attach_type = "audio/mpeg";
	fh_buf_init(&b, 2048);
	ck_assert_int_eq(fh_mime_build(&m, &b), FH_ETOOBIG);
	fh_buf_release(&b);
}
END_TEST

static Suite *
mime_suite(void)
{
	Suite *s = suite_create("mime");
	TCase *tc_core, *tc_limits;

	tc_core = tcase_create("core");
	tcase_add_loop_test(tc_core, test_addrs_good, 0, FH_NITEMS(addrs_good));
	tcase_add_test(tc_core, test_addrs_spans);
	tcase_add_loop_test(tc_core, test_header_value, 0, 4);
	tcase_add_test(tc_core, test_header_long_utf8);
	tcase_add_test(tc_core, test_header_long_ascii);
	tcase_add_test(tc_core, test_build);
	tcase_add_test(tc_core, test_build_no_attachment);
	tcase_add_test(tc_core, test_b64_size);
	suite_add_tcase(s, tc_core);

	tc_limits = tcase_create("limits");
	tcase_add_loop_test(tc_limits, test_addrs_bad, 0, FH_NITEMS(addrs_bad));
	tcase_add_test(tc_limits, test_addr_lengths);
	tcase_add_loop_test(tc_limits, test_header_value, 4, FH_NITEMS(hv));
	tcase_add_loop_test(tc_limits, test_build_bad, 0, BAD__MAX);
	tcase_add_test(tc_limits, test_build_too_big);
	suite_add_tcase(s, tc_limits);
	return s;
}

FH_CHECK_MAIN(mime_suite)
