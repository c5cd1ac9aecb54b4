/* SPDX-License-Identifier: Apache-2.0 */
/*
 * valid.c - the field validators.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/valid.h"

/* Every validator starts here: no NUL inside the value. */
static int
has_nul(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int
fh_is_sid(const char *s, size_t len, const char *prefix)
{
	size_t i;

	if (len != 34)
		return 0;
	if (prefix != NULL) {
		if (s[0] != prefix[0] || s[1] != prefix[1])
			return 0;
	} else if (!((s[0] >= 'A' && s[0] <= 'Z') &&
		       (s[1] >= 'A' && s[1] <= 'Z')))
		return 0;
	for (i = 2; i < 34; i++)
		if (!is_hex(s[i]))
			return 0;
	return 1;
}

enum fh_err
fh_valid_e164(const char *s, size_t len, struct fh_val *out)
{
	size_t i, n = 0, digits;

	if (has_nul(s, len) || len == 0 || len > 40)
		return FH_EINPUT;
	i = 0;
	if (s[0] == '+')
		i = 1;
	else if (s[0] == ' ' && len > 1 && is_digit(s[1]))
		i = 1; /* an unencoded '+' in a query decodes to a space */
	else
		return FH_EINPUT;
	out->own[n++] = '+';
	for (; i < len; i++) {
		if (strchr(" -.()", s[i]) != NULL)
			continue;
		if (!is_digit(s[i]) || n >= 16)
			return FH_EINPUT;
		out->own[n++] = s[i];
	}
	out->own[n] = '\0';
	digits = n - 1;
	if (digits < 8 || digits > 15 || out->own[1] == '0')
		return FH_EINPUT;
	out->str = out->own;
	out->len = n;
	return FH_OK;
}

enum fh_err
fh_valid_from_number(const char *s, size_t len, struct fh_val *out)
{
	size_t	      i;
	unsigned char c;

	if (len > 4 && memcmp(s, "sip:", 4) == 0) {
		if (len - 4 > 250 || has_nul(s, len))
			return FH_EINPUT;
		for (i = 4; i < len; i++) {
			c = (unsigned char)s[i];
			if (c <= 0x20 || c == 0x7f || c == '"' || c == '<' ||
			    c == '>')
				return FH_EINPUT;
		}
		if (!fh_utf8_valid(s, len))
			return FH_EINPUT;
		out->str = s;
		out->len = len;
		return FH_OK;
	}
	return fh_valid_e164(s, len, out);
}

static enum fh_err
sid(const char *s, size_t len, const char *prefix, struct fh_val *out)
{
	if (!fh_is_sid(s, len, prefix))
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	return FH_OK;
}

enum fh_err
fh_valid_any_sid(const char *s, size_t len, struct fh_val *out)
{
	return sid(s, len, NULL, out);
}

enum fh_err
fh_valid_sid_ww(const char *s, size_t len, struct fh_val *out)
{
	return sid(s, len, "WW", out);
}

enum fh_err
fh_valid_sid_wt(const char *s, size_t len, struct fh_val *out)
{
	return sid(s, len, "WT", out);
}

enum fh_err
fh_valid_sid_re(const char *s, size_t len, struct fh_val *out)
{
	return sid(s, len, "RE", out);
}

enum fh_err
fh_valid_sid_tr(const char *s, size_t len, struct fh_val *out)
{
	return sid(s, len, "TR", out);
}

enum fh_err
fh_valid_sid_ca(const char *s, size_t len, struct fh_val *out)
{
	return sid(s, len, "CA", out);
}

enum fh_err
fh_valid_sid_qu(const char *s, size_t len, struct fh_val *out)
{
	return sid(s, len, "QU", out);
}

enum fh_err
fh_valid_sid_wq(const char *s, size_t len, struct fh_val *out)
{
	return sid(s, len, "WQ", out);
}

enum fh_err
fh_valid_sid_wr(const char *s, size_t len, struct fh_val *out)
{
	return sid(s, len, "WR", out);
}

enum fh_err
fh_valid_sid_ws(const char *s, size_t len, struct fh_val *out)
{
	return sid(s, len, "WS", out);
}

static enum fh_err
integer(
    const char *s, size_t len, long long min, long long max, struct fh_val *out)
{
	if (fh_parse_int(s, len, min, max, &out->num) != FH_OK)
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	return FH_OK;
}

enum fh_err
fh_valid_timeout(const char *s, size_t len, struct fh_val *out)
{
	return integer(s, len, 1, 1209600, out);
}

enum fh_err
fh_valid_priority(const char *s, size_t len, struct fh_val *out)
{
	return integer(s, len, 0, 2147483647, out);
}

enum fh_err
fh_valid_attempts(const char *s, size_t len, struct fh_val *out)
{
	return integer(s, len, 0, 1000, out);
}

enum fh_err
fh_valid_channel(const char *s, size_t len, struct fh_val *out)
{
	if (len == 0 || len > 64 ||
	    strspn(s,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789_-") != len)
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	return FH_OK;
}

static int
ieq(const char *s, size_t len, const char *word)
{
	size_t i;
	char   c;

	if (strlen(word) != len)
		return 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[i])
			return 0;
	}
	return 1;
}

/* Twilio's stand-ins for a caller ID it cannot give ("anonymous",
 * "restricted", "blocked", "unavailable"), and the words some
 * carriers and SIP trunks send instead. */
static const char *const withheld_numbers[] = {
    "266696687",   /* ANONYMOUS */
    "7378742833",  /* RESTRICTED */
    "2562533",	   /* BLOCKED */
    "86282452253", /* UNAVAILABLE */
};
static const char *const withheld_words[] = {
    "anonymous",
    "restricted",
    "unknown",
    "blocked",
    "private",
};

int
fh_is_withheld_caller(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len == 0 || has_nul(s, len))
		return 0;
	for (i = 0; i < sizeof(withheld_words) / sizeof(withheld_words[0]); i++)
		if (ieq(s, len, withheld_words[i]))
			return 1;
	/* "+266696687", or " 266696687" from an unencoded '+' */
	if (s[0] != '+' && s[0] != ' ')
		return 0;
	s++;
	len--;
	for (i = 0; i < sizeof(withheld_numbers) / sizeof(withheld_numbers[0]);
	     i++)
		if (strlen(withheld_numbers[i]) == len &&
		    memcmp(s, withheld_numbers[i], len) == 0)
			return 1;
	return 0;
}

enum fh_err
fh_valid_bool(const char *s, size_t len, struct fh_val *out)
{
	if (ieq(s, len, "true") || (len == 1 && s[0] == '1'))
		out->num = 1;
	else if (ieq(s, len, "false") || (len == 1 && s[0] == '0'))
		out->num = 0;
	else
		return FH_EINPUT;
	out->str = out->num ? "true" : "false";
	out->len = strlen(out->str);
	return FH_OK;
}

/* Read exactly n digits at s into *v. */
static int
digits(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

/* The parts of a date and time, before they are checked and normalised. */
struct when {
	int y, mo, d, h, mi, sec, ms, oh, om, sign;
};

/* ISO 8601: "YYYY-MM-DDTHH:MM:SS[.fff]" and "Z" or "+hh:mm". */
static int
parse_iso(const char *s, size_t len, struct when *w)
{
	size_t i, start, k = 0;

	if (len < 20 || len > 40 || !digits(s, 4, &w->y) || s[4] != '-' ||
	    !digits(s + 5, 2, &w->mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &w->d) || s[10] != 'T' ||
	    !digits(s + 11, 2, &w->h) || s[13] != ':' ||
	    !digits(s + 14, 2, &w->mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &w->sec))
		return 0;
	i = 19;
	if (s[i] == '.') {
		/* keep milliseconds, ignore finer digits */
		start = ++i;
		while (i < len && is_digit(s[i])) {
			if (k < 3)
				w->ms = w->ms * 10 + (s[i] - '0');
			k++;
			i++;
		}
		if (i == start || k > 9)
			return 0;
		for (; k < 3; k++)
			w->ms *= 10;
	}
	if (i == len - 1 && s[i] == 'Z') {
		w->sign = 1;
		return 1;
	}
	if (len - i == 6 && (s[i] == '+' || s[i] == '-') &&
	    digits(s + i + 1, 2, &w->oh) && s[i + 3] == ':' &&
	    digits(s + i + 4, 2, &w->om)) {
		w->sign = s[i] == '-' ? -1 : 1;
		return 1;
	}
	return 0;
}

/*
 * What JavaScript's Date.prototype.toString() writes, which the older Flex
 * template plugin sends as utcDateTimeReceived when a task has none:
 * "Sun Dec 06 2026 14:00:00 GMT+0100 (Central European Standard Time)".
 * The weekday is not checked against the date; the zone name in
 * parentheses (printable ASCII) is ignored.
 */
static int
parse_js_date(const char *s, size_t len, struct when *w)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const char days[] = "SunMonTueWedThuFriSat";
	size_t		  i;

	if (len < 33 || len > 120 || s[3] != ' ' || s[7] != ' ' ||
	    s[10] != ' ' || s[15] != ' ' || s[18] != ':' || s[21] != ':' ||
	    s[24] != ' ' || memcmp(s + 25, "GMT", 3) != 0 ||
	    (s[28] != '+' && s[28] != '-'))
		return 0;
	for (i = 0; i < 7; i++)
		if (memcmp(s, days + 3 * i, 3) == 0)
			break;
	if (i == 7)
		return 0;
	for (i = 0; i < 12; i++)
		if (memcmp(s + 4, months + 3 * i, 3) == 0)
			break;
	if (i == 12)
		return 0;
	w->mo = (int)i + 1;
	if (!digits(s + 8, 2, &w->d) || !digits(s + 11, 4, &w->y) ||
	    !digits(s + 16, 2, &w->h) || !digits(s + 19, 2, &w->mi) ||
	    !digits(s + 22, 2, &w->sec) || !digits(s + 29, 2, &w->oh) ||
	    !digits(s + 31, 2, &w->om))
		return 0;
	w->sign = s[28] == '-' ? -1 : 1;
	if (len == 33)
		return 1;
	if (len < 36 || s[33] != ' ' || s[34] != '(' || s[len - 1] != ')')
		return 0;
	for (i = 35; i < len - 1; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '(' || s[i] == ')')
			return 0;
	return 1;
}

enum fh_err
fh_valid_datetime(const char *s, size_t len, struct fh_val *out)
{
	struct tm	 tm;
	struct when	 w;
	int		 y, mo, d, h, mi, sec, ms, oh, om, sign, mdays;
	size_t		 i;
	time_t		 t;
	static const int dim[] = {
	    31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	memset(&w, 0, sizeof(w));
	if (has_nul(s, len) || len == 0)
		return FH_EINPUT;
	if (is_digit(s[0]) ? !parse_iso(s, len, &w)
			   : !parse_js_date(s, len, &w))
		return FH_EINPUT;
	y = w.y, mo = w.mo, d = w.d, h = w.h, mi = w.mi, sec = w.sec;
	ms = w.ms, oh = w.oh, om = w.om, sign = w.sign;
	if (oh > 23 || om > 59)
		return FH_EINPUT;
	if (y < 1970 || y > 9998 || mo < 1 || mo > 12 || d < 1 || h > 23 ||
	    mi > 59 || sec > 60)
		return FH_EINPUT;
	mdays = dim[mo - 1];
	if (mo == 2 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		mdays = 28;
	if (d > mdays)
		return FH_EINPUT;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return FH_EINPUT;
	t -= sign * (oh * 3600 + om * 60);
	if (gmtime_r(&t, &tm) == NULL)
		return FH_EINPUT;
	if (strftime(out->own, sizeof(out->own), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return FH_EINPUT;
	i = strlen(out->own);
	if (snprintf(out->own + i, sizeof(out->own) - i, ".%03dZ", ms) != 5)
		return FH_EINPUT;
	out->num = (long long)t;
	out->str = out->own;
	out->len = strlen(out->own);
	return FH_OK;
}

enum fh_err
fh_valid_https_url(const char *s, size_t len, struct fh_val *out)
{
	size_t i;

	if (len <= 8 || len > 1024 || memcmp(s, "https://", 8) != 0)
		return FH_EINPUT;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f || s[i] == '"' || s[i] == '<' ||
		    s[i] == '>' || s[i] == '\\')
			return FH_EINPUT;
	if (s[8] == '/' || s[8] == '@' || s[8] == ':')
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	return FH_OK;
}

int
fh_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t		     i = 0, n, k;
	unsigned	     cp, min;
	uint64_t	     w;

	while (i < len) {
		/* ASCII eight bytes at a time: most text is nothing else */
		if (len - i >= 8) {
			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static enum fh_err
text(const char *s, size_t len, size_t max, struct fh_val *out)
{
	if (len > max || has_nul(s, len) || !fh_utf8_valid(s, len))
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	return FH_OK;
}

enum fh_err
fh_valid_text256(const char *s, size_t len, struct fh_val *out)
{
	return text(s, len, 256, out);
}

enum fh_err
fh_valid_text8k(const char *s, size_t len, struct fh_val *out)
{
	return text(s, len, 8192, out);
}

enum fh_err
fh_valid_any(const char *s, size_t len, struct fh_val *out)
{
	return text(s, len, FH_FIELD_MAX_DEFAULT, out);
}

int
fh_has_control(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

void
fh_copy_utf8(char *dst, size_t dstlen, const char *s, size_t n)
{
	const char *nul;

	if (dstlen == 0)
		return;
	nul = memchr(s, '\0', n);
	if (nul != NULL)
		n = (size_t)(nul - s);
	if (n >= dstlen) {
		n = dstlen - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

const char *
fh_word_or_dash(const char *s)
{
	if (s == NULL || s[0] == '\0' || strlen(s) > 64 ||
	    strspn(s,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789_-.") != strlen(s))
		return "-";
	return s;
}
