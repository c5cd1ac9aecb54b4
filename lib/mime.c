/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mime.c - e-mail address lists and the MIME message builder.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem() */
#endif

#include <string.h>
#include <time.h>

#include "lib/codec.h"
#include "lib/mime.h"
#include "lib/valid.h"

#define B64_LINE_IN 57 /* bytes per 76-character base64 line */
#define WORD_IN \
	39 /* bytes per encoded word: 52 characters of \
	    * base64, 64 with "=?UTF-8?B?" and "?=", \
	    * so "Subject: " and one word fit in 78 */
#define MAX_LINE 78

static const char *const wdays[7] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* RFC 5322 atext, without the dot. */
static int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

int
fh_mime_addr_valid(const char *s, size_t len)
{
	const char *at;
	size_t	    i, local, label = 0, dots = 0;

	if (len < 3 || len > FH_MIME_MAX_ADDR)
		return 0;
	at = memchr(s, '@', len);
	if (at == NULL || at == s)
		return 0;
	local = (size_t)(at - s);
	if (local > 64 || s[0] == '.' || s[local - 1] == '.')
		return 0;
	for (i = 0; i < local; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
			continue;
		}
		if (!is_atext((unsigned char)s[i]))
			return 0;
	}
	/* the domain: LDH labels of 1..63, no label starts or ends in '-' */
	for (i = local + 1; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			dots++;
			continue;
		}
		if (!is_ldh((unsigned char)s[i]) ||
		    (label == 0 && s[i] == '-') || ++label > 63)
			return 0;
	}
	return label > 0 && s[len - 1] != '-' && dots > 0;
}

enum fh_err
fh_mime_addrs(const char *s, size_t len, struct fh_mime_addr *out, size_t *n)
{
	const char *p = s, *end = s + len, *comma, *a, *b;

	*n = 0;
	if (s == NULL || len == 0)
		return FH_EINPUT;
	for (;;) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (comma == NULL)
			comma = end;
		a = p;
		b = comma;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (*n >= FH_MIME_MAX_RCPT ||
		    !fh_mime_addr_valid(a, (size_t)(b - a)))
			return FH_EINPUT;
		out[*n].s = a;
		out[*n].len = (size_t)(b - a);
		(*n)++;
		if (comma == end)
			return FH_OK;
		p = comma + 1;
	}
}

size_t
fh_mime_b64_size(size_t n)
{
	size_t lines = (n + B64_LINE_IN - 1) / B64_LINE_IN;

	return (n + 2) / 3 * 4 + 2 * lines;
}

/* base64 of p[0..n) in lines of 76 characters, each ended by CRLF. */
static enum fh_err
b64_lines(struct fh_buf *out, const unsigned char *p, size_t n)
{
	size_t	    off, take;
	enum fh_err err = FH_OK;

	for (off = 0; err == FH_OK && off < n; off += take) {
		take = n - off < B64_LINE_IN ? n - off : B64_LINE_IN;
		err = fh_base64(out, p + off, take);
		if (err == FH_OK)
			err = fh_buf_add(out, "\r\n", 2);
	}
	return err;
}

/* The length of the UTF-8 sequence that starts with c (1 for ASCII). */
static size_t
seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	return 4;
}

enum fh_err
fh_mime_header_value(
    struct fh_buf *out, size_t namelen, const char *s, size_t len)
{
	size_t	    i, take, step;
	int	    plain = 1;
	enum fh_err err = FH_OK;

	if (len > FH_MIME_MAX_HEADER || !fh_utf8_valid(s, len) ||
	    fh_has_control(s, len)) /* CR, LF, NUL, TAB... */
		return FH_EINPUT;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] > 0x7e)
			plain = 0;
	/* "=?" in plain text could be read as the start of a word */
	if (plain && namelen + 2 + len <= MAX_LINE &&
	    memmem(s, len, "=?", 2) == NULL)
		return fh_buf_add(out, s, len);
	for (i = 0; err == FH_OK && i < len; i += take) {
		/* whole characters only: a word must decode on its own */
		for (take = 0; i + take < len; take += step) {
			step = seq_len((unsigned char)s[i + take]);
			if (take + step > WORD_IN)
				break;
		}
		if (i > 0)
			err = fh_buf_add(out, "\r\n ", 3);
		if (err == FH_OK)
			err = fh_buf_addstr(out, "=?UTF-8?B?");
		if (err == FH_OK)
			err = fh_base64(out, s + i, take);
		if (err == FH_OK)
			err = fh_buf_add(out, "?=", 2);
	}
	return err;
}

/* Only characters of set, 1..max of them. */
static int
only(const char *s, const char *set, size_t max)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	return n > 0 && n <= max && strspn(s, set) == n;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* "Date: " and the RFC 5322 date of t in UTC. */
static enum fh_err
date_header(struct fh_buf *out, long long t)
{
	struct tm tm;
	time_t	  tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return FH_EINPUT;
	return fh_buf_printf(out,
	    "Date: %s, %02d %s %04d %02d:%02d:%02d "
	    "+0000\r\n",
	    wdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "To: " and the list, one address a line after the first. */
static enum fh_err
to_header(struct fh_buf *out, const char *to)
{
	struct fh_mime_addr a[FH_MIME_MAX_RCPT];
	size_t		    n, i;
	enum fh_err	    err;

	err = fh_mime_addrs(to, strlen(to), a, &n);
	if (err == FH_OK)
		err = fh_buf_addstr(out, "To: ");
	for (i = 0; err == FH_OK && i < n; i++) {
		if (i > 0)
			err = fh_buf_add(out, ",\r\n ", 4);
		if (err == FH_OK)
			err = fh_buf_add(out, a[i].s, a[i].len);
	}
	if (err == FH_OK)
		err = fh_buf_add(out, "\r\n", 2);
	return err;
}

enum fh_err
fh_mime_build(const struct fh_mime_msg *m, struct fh_buf *out)
{
	const char *at;
	size_t	    tlen;
	enum fh_err err;

	if (m->from == NULL || m->to == NULL || m->subject == NULL ||
	    m->text == NULL || !fh_mime_addr_valid(m->from, strlen(m->from)) ||
	    !only(m->id_left, ALNUM ".-", 128) || !only(m->boundary, ALNUM, 60))
		return FH_EINPUT;
	if (m->attach != NULL &&
	    (!only(m->attach_name, ALNUM "._-", 64) ||
		!only(m->attach_type,
		    "abcdefghijklmnopqrstuvwxyz0123456789.+/-", 64) ||
		strchr(m->attach_type, '/') == NULL))
		return FH_EINPUT;
	tlen = strlen(m->text);
	if (tlen > FH_MIME_MAX_TEXT || !fh_utf8_valid(m->text, tlen))
		return FH_EINPUT;
	at = strchr(m->from, '@');

	/* the head */
	err = date_header(out, m->date);
	if (err == FH_OK)
		err = fh_buf_printf(
		    out, "Message-ID: <%s@%s>\r\n", m->id_left, at + 1);
	if (err == FH_OK)
		err = fh_buf_printf(out, "From: %s\r\n", m->from);
	if (err == FH_OK)
		err = to_header(out, m->to);
	if (err == FH_OK)
		err = fh_buf_addstr(out, "Subject: ");
	if (err == FH_OK)
		err = fh_mime_header_value(
		    out, 7, m->subject, strlen(m->subject));
	if (err == FH_OK)
		err = fh_buf_printf(out,
		    "\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: multipart/mixed;\r\n "
		    "boundary=\"%s\"\r\n\r\n",
		    m->boundary);

	/* the text */
	if (err == FH_OK)
		err = fh_buf_printf(out,
		    "--%s\r\n"
		    "Content-Type: text/plain; charset=UTF-8\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n",
		    m->boundary);
	if (err == FH_OK)
		err = b64_lines(out, (const unsigned char *)m->text, tlen);

	/* the attachment */
	if (err == FH_OK && m->attach != NULL)
		err = fh_buf_printf(out,
		    "--%s\r\n"
		    "Content-Type: %s;\r\n name=\"%s\"\r\n"
		    "Content-Transfer-Encoding: base64\r\n"
		    "Content-Disposition: attachment;\r\n "
		    "filename=\"%s\"\r\n\r\n",
		    m->boundary, m->attach_type, m->attach_name,
		    m->attach_name);
	if (err == FH_OK && m->attach != NULL)
		err = b64_lines(out, m->attach, m->attach_len);
	if (err == FH_OK)
		err = fh_buf_printf(out, "--%s--\r\n", m->boundary);
	return err;
}
