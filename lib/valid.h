/* SPDX-License-Identifier: Apache-2.0 */
/*
 * valid.h - typed validators for declared fields (form.h).
 *
 * Every validator has the shape fh_validator: it reads s[0..len), rejects
 * anything it does not recognise (embedded NUL bytes included) with
 * FH_EINPUT, and on success fills out: str/len point either into s
 * (borrowed, like s) or into out->own for normalised values, and num holds
 * integers and booleans.  Rules are those of
 * docs/design/callbacks-and-voicemail.md#fields.
 */
#ifndef FH_VALID_H
#define FH_VALID_H

#include <stddef.h>

#include "lib/err.h"
#include "lib/form.h"

/* +, then 8 to 15 digits, the first not 0, after removing spaces - . ( );
 * a leading space before a digit reads as '+'. */
enum fh_err fh_valid_e164(const char *s, size_t len, struct fh_val *out);
/* An E.164 number or sip: + 1..250 characters without whitespace,
 * controls, '"', '<', '>'. */
enum fh_err fh_valid_from_number(const char *s, size_t len, struct fh_val *out);
/* Two letters and 32 hex digits, any prefix. */
enum fh_err fh_valid_any_sid(const char *s, size_t len, struct fh_val *out);
enum fh_err fh_valid_sid_ww(const char *s, size_t len, struct fh_val *out);
enum fh_err fh_valid_sid_wt(const char *s, size_t len, struct fh_val *out);
enum fh_err fh_valid_sid_re(const char *s, size_t len, struct fh_val *out);
enum fh_err fh_valid_sid_tr(const char *s, size_t len, struct fh_val *out);
enum fh_err fh_valid_sid_ca(const char *s, size_t len, struct fh_val *out);
enum fh_err fh_valid_sid_qu(const char *s, size_t len, struct fh_val *out);
enum fh_err fh_valid_sid_wq(const char *s, size_t len, struct fh_val *out);
enum fh_err fh_valid_sid_wr(const char *s, size_t len, struct fh_val *out);
enum fh_err fh_valid_sid_ws(const char *s, size_t len, struct fh_val *out);
/* 1..1209600 */
enum fh_err fh_valid_timeout(const char *s, size_t len, struct fh_val *out);
/* 0..2147483647 */
enum fh_err fh_valid_priority(const char *s, size_t len, struct fh_val *out);
/* 0..1000 */
enum fh_err fh_valid_attempts(const char *s, size_t len, struct fh_val *out);
/* 1..64 of [A-Za-z0-9_-], or a TC SID */
enum fh_err fh_valid_channel(const char *s, size_t len, struct fh_val *out);
/* true/false (any case), 1/0 */
enum fh_err fh_valid_bool(const char *s, size_t len, struct fh_val *out);
/* ISO 8601 with seconds and Z or +-hh:mm, optional fraction, or what
 * JavaScript's Date.toString() writes ("Sun Dec 06 2026 14:00:00 GMT+0100
 * (Central European Standard Time)", the older Flex plugin's); normalised to
 * UTC "YYYY-MM-DDTHH:MM:SS.mmmZ" in own, seconds since the epoch in num. */
enum fh_err fh_valid_datetime(const char *s, size_t len, struct fh_val *out);
/* https:// URL, at most 1024 bytes, printable ASCII without spaces. */
enum fh_err fh_valid_https_url(const char *s, size_t len, struct fh_val *out);
/* Valid UTF-8 without NUL, at most 256 / 8192 bytes. */
enum fh_err fh_valid_text256(const char *s, size_t len, struct fh_val *out);
enum fh_err fh_valid_text8k(const char *s, size_t len, struct fh_val *out);
/* Any valid UTF-8 text without NUL, at most FH_FIELD_MAX_DEFAULT bytes. */
enum fh_err fh_valid_any(const char *s, size_t len, struct fh_val *out);

/* Helpers shared with other modules. */
int fh_is_sid(const char *s, size_t len, const char *prefix);
int fh_utf8_valid(const char *s, size_t len);
/* 1 when s[0..len) is one of the caller IDs Twilio sends for a withheld
 * number: "+266696687" (anonymous), "+7378742833" (restricted),
 * "+2562533" (blocked), "+86282452253" (unavailable), each with '+' or
 * the space an unencoded '+' decodes to, or one of the words anonymous,
 * restricted, unknown, blocked, private in any case.  Such a caller cannot
 * be called back on that number.  NULL reads as 0. */
int fh_is_withheld_caller(const char *s, size_t len);

/* s when it is a word safe to print in a log line (1 to 64 letters,
 * digits, '_', '-' or '.': an EventType, a status, a timestamp), else "-".
 * Never NULL; borrowed from s or static. */
const char *fh_word_or_dash(const char *s);

/* Copy at most n bytes of s into dst (dstlen bytes, always terminated when
 * dstlen > 0), stopping at a NUL in s and, when the text does not fit,
 * cutting at a UTF-8 character boundary, so a log field or a token's
 * identity never ends in half a sequence. */
void fh_copy_utf8(char *dst, size_t dstlen, const char *s, size_t n);

/* 1 when s[0..len) holds a C0 control character (NUL, TAB, CR, LF...) or
 * DEL: text that must stay on one line of a log, a header or a config. */
int fh_has_control(const char *s, size_t len);

#endif
