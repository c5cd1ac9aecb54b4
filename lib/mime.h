/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mime.h - e-mail addresses and one shape of MIME message.
 *
 * fh_mime_addrs() reads a comma-separated list of plain addresses
 * ("a@example.com, b@example.org"): no display names, no comments, no
 * quoted local parts.  Each address is at most FH_MIME_MAX_ADDR bytes, a
 * dot-atom local part (RFC 5322 atext and dots, no leading, trailing or
 * double dot) and a domain of LDH labels with at least one dot; the list
 * holds at most FH_MIME_MAX_RCPT of them.  Anything else is FH_EINPUT.
 *
 * fh_mime_build() writes a whole message (headers and body, CRLF line
 * ends, no line over 78 characters) into a bounded fh_buf: Date,
 * Message-ID, From, To, Subject, MIME-Version, then a multipart/mixed body
 * with one text/plain part (UTF-8, base64) and, when given, one
 * attachment (base64 in lines of 76).  Header text that is not printable
 * ASCII is written as RFC 2047 encoded words ("=?UTF-8?B?...?="), each cut
 * on a character boundary; a header value with a CR, LF or NUL, or
 * invalid UTF-8 anywhere, is refused.  Nothing is built by formatting user
 * text into a template: every value goes through an encoder.  Nothing here
 * keeps a pointer after it returns.
 */
#ifndef FH_MIME_H
#define FH_MIME_H

#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"

#define FH_MIME_MAX_ADDR 254	     /* bytes per address (RFC 5321) */
#define FH_MIME_MAX_RCPT 16	     /* addresses per list */
#define FH_MIME_MAX_HEADER 1024	     /* bytes of a header value, raw */
#define FH_MIME_MAX_TEXT (64 * 1024) /* bytes of the text part */

/* One address of a list: a span of the list's text (borrowed from it). */
struct fh_mime_addr {
	const char *s;
	size_t	    len;
};

/* Read the comma-separated list s[0..len) into out (room for
 * FH_MIME_MAX_RCPT), spaces and tabs around each address ignored.  *n
 * gets the count (at least 1 on success).  The spans point into s.
 * FH_EINPUT for an empty list, an empty element, a bad address or too
 * many. */
enum fh_err fh_mime_addrs(const char *s, size_t len, struct fh_mime_addr *out,
    size_t *n) FH_MUST_CHECK;

/* 1 when s[0..len) is one plain address as above. */
int fh_mime_addr_valid(const char *s, size_t len);

/* What fh_mime_build() writes.  Every pointer is borrowed for the call;
 * attach may be NULL (no attachment part). */
struct fh_mime_msg {
	const char *from;     /* one address */
	const char *to;	      /* a list, as fh_mime_addrs() reads */
	const char *subject;  /* UTF-8 */
	const char *text;     /* UTF-8, the text part */
	long long   date;     /* epoch seconds, written in UTC */
	const char *id_left;  /* Message-ID: <id_left@from's domain>;
			       * [A-Za-z0-9.-] only */
	const char *boundary; /* [A-Za-z0-9] only, 1..60 */
	const void *attach;
	size_t	    attach_len;
	const char *attach_name; /* file name: [A-Za-z0-9._-] only */
	const char *attach_type; /* "type/subtype", [a-z0-9.+/-] */
};

/* Append the message m to out (whose maximum bounds the result).
 * FH_EINPUT for a bad address, header value, name or type; FH_ETOOBIG
 * when out's maximum is passed (out then holds a partial message the
 * caller discards); FH_ENOMEM. */
enum fh_err fh_mime_build(
    const struct fh_mime_msg *m, struct fh_buf *out) FH_MUST_CHECK;

/* Append the header value s (UTF-8) to out as it should appear after
 * "Name: ", the name taking namelen columns: as it is when it is
 * printable ASCII and fits, else as encoded words folded with CRLF and a
 * space.  FH_EINPUT for CR, LF, NUL, other control characters or bad
 * UTF-8. */
enum fh_err fh_mime_header_value(struct fh_buf *out, size_t namelen,
    const char *s, size_t len) FH_MUST_CHECK;

/* The size of the base64 body of n bytes in lines of 76 with CRLF. */
size_t fh_mime_b64_size(size_t n);

#endif
