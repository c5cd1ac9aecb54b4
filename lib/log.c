/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c - one JSON object per line on stderr.
 *
 * A line is written straight into one per-process block (line[]) by a
 * small writer whose string escaping is json-c's own (JSON_C_TO_STRING_PLAIN
 * | JSON_C_TO_STRING_NOSLASHESCAPE: \b \f \n \r \t \" \\, any other byte
 * below 0x20 as \u00xx, every other byte as it is; check_log compares the
 * two byte for byte), then goes out with one fwrite(), so lines from
 * several programs sharing a log file do not interleave.  Building the
 * access line as a json-c object cost 18k instructions a request (hash
 * look-ups to set each value, the serialiser's printbuf, an snprintf per
 * number), a sixth of the wait loop's whole request path; this writer
 * allocates nothing and formats nothing twice.  Every value has a budget
 * of output bytes (the path 40 KB, a message 8 KB, anything else 1 KB) that
 * together fit line[], so a line is always whole JSON: a value over its
 * budget is cut after the last byte or escape that fits (nginx caps a
 * request line at 8 KB and messages are cut at 1 KB before this, so no
 * real line reaches a budget).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "lib/log.h"
#include "lib/valid.h"

#define LINE_MAX_BYTES (64 * 1024)
#define BUDGET_PATH (40 * 1024)
#define BUDGET_MSG (8 * 1024)
#define BUDGET_SHORT 1024

/* The line being written (one process, one thread).  The budgets above
 * keep every line, keys and numbers included, well inside it. */
static char line[LINE_MAX_BYTES];

static const char *const level_names[FH_LOG__MAX] = {
    [FH_LOG_ERROR] = "error",
    [FH_LOG_WARN] = "warn",
    [FH_LOG_INFO] = "info",
    [FH_LOG_DEBUG] = "debug",
};

void
fh_log_init(struct fh_log *log, const char *prog, int level)
{
	memset(log, 0, sizeof(*log));
	log->prog = prog;
	log->level = level;
	log->out = stderr;
	log->rid[0] = '-';
	log->ts_sec = -1;
}

void
fh_log_release(struct fh_log *log)
{
	/* nothing is owned; forget the cached second */
	log->ts_sec = -1;
}

int
fh_log_level_parse(const char *s)
{
	int i;

	for (i = 0; i < FH_LOG__MAX; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void
fh_log_begin(struct fh_log *log, const char *rid)
{
	size_t n;

	log->call_sid[0] = log->task_sid[0] = '\0';
	log->rest_attempts = 0;
	n = rid != NULL ? strlen(rid) : 0;
	/* nginx's $request_id is 32 hex digits; accept only tame values */
	if (n == 0 || n >= sizeof(log->rid) ||
	    strspn(rid, "0123456789abcdefABCDEF-_.") != n) {
		log->rid[0] = '-';
		log->rid[1] = '\0';
		return;
	}
	memcpy(log->rid, rid, n + 1);
}

static void
set_sid(char *dst, size_t dstlen, const char *sid, const char *prefix)
{
	if (sid == NULL || !fh_is_sid(sid, strlen(sid), prefix) || dstlen < 35)
		return;
	memcpy(dst, sid, 35);
}

void
fh_log_set_call(struct fh_log *log, const char *sid)
{
	set_sid(log->call_sid, sizeof(log->call_sid), sid, "CA");
}

void
fh_log_set_task(struct fh_log *log, const char *sid)
{
	set_sid(log->task_sid, sizeof(log->task_sid), sid, "WT");
}

/* Append the literal s at p; returns the end. */
static char *
put_raw(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, lit) put_raw((p), (lit), sizeof(lit) - 1)

/* Append s as the inside of a JSON string, escaped as json-c escapes it
 * (see the top of the file), writing at most budget bytes. */
static char *
put_escaped(char *p, const char *s, size_t budget)
{
	static const char    hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	char		    *end = p + budget;
	char		     e;

	for (; *u != '\0'; u++) {
		if (*u >= 0x20 && *u != '"' && *u != '\\') {
			if (p == end)
				break;
			*p++ = (char)*u;
			continue;
		}
		switch (*u) {
		case '\b':
			e = 'b';
			break;
		case '\n':
			e = 'n';
			break;
		case '\r':
			e = 'r';
			break;
		case '\t':
			e = 't';
			break;
		case '\f':
			e = 'f';
			break;
		case '"':
			e = '"';
			break;
		case '\\':
			e = '\\';
			break;
		default:
			e = 0;
			break;
		}
		if (e != 0) {
			if (end - p < 2)
				break;
			*p++ = '\\';
			*p++ = e;
			continue;
		}
		if (end - p < 6)
			break;
		p = PUT_LIT(p, "\\u00");
		*p++ = hex[*u >> 4];
		*p++ = hex[*u & 0xf];
	}
	return p;
}

/* Append ,"key":"value" (key a tame literal); NULL is written as null. */
static char *
put_str(char *p, const char *key, const char *val, size_t budget)
{
	*p++ = ',';
	*p++ = '"';
	p = put_raw(p, key, strlen(key));
	*p++ = '"';
	*p++ = ':';
	if (val == NULL)
		return PUT_LIT(p, "null");
	*p++ = '"';
	p = put_escaped(p, val, budget);
	*p++ = '"';
	return p;
}

/* Append ,"key":n in decimal, as json-c writes an int64. */
static char *
put_int(char *p, const char *key, int64_t n)
{
	char	 digits[24];
	size_t	 i = sizeof(digits);
	uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;

	do {
		digits[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (n < 0)
		digits[--i] = '-';
	*p++ = ',';
	*p++ = '"';
	p = put_raw(p, key, strlen(key));
	*p++ = '"';
	*p++ = ':';
	return put_raw(p, digits + i, sizeof(digits) - i);
}

/* Open the line: {"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ","level":..,"prog":..,
 * "rid":..; the part of the time up to the seconds is formatted once a
 * second. */
static char *
put_head(struct fh_log *log, char *p, int level)
{
	struct timeval tv;
	struct tm      tm;
	time_t	       t;
	int	       ms;

	gettimeofday(&tv, NULL);
	if ((long long)tv.tv_sec != log->ts_sec) {
		t = tv.tv_sec;
		gmtime_r(&t, &tm);
		if (strftime(log->ts, sizeof(log->ts), "%Y-%m-%dT%H:%M:%S",
			&tm) == 0)
			log->ts[0] = '\0';
		log->ts_sec = (long long)tv.tv_sec;
	}
	ms = (int)(tv.tv_usec / 1000);
	p = PUT_LIT(p, "{\"ts\":\"");
	p = put_raw(p, log->ts, strlen(log->ts));
	*p++ = '.';
	*p++ = (char)('0' + ms / 100);
	*p++ = (char)('0' + ms / 10 % 10);
	*p++ = (char)('0' + ms % 10);
	p = PUT_LIT(p, "Z\"");
	p = put_str(p, "level", level_names[level], BUDGET_SHORT);
	p = put_str(
	    p, "prog", log->prog != NULL ? log->prog : "-", BUDGET_SHORT);
	return put_str(p, "rid", log->rid, BUDGET_SHORT);
}

/* Close the line at p and write it with one fwrite(). */
static void
line_print(const struct fh_log *log, char *p)
{
	FILE *f = log->out != NULL ? log->out : stderr;

	*p++ = '}';
	*p++ = '\n';
	fwrite(line, 1, (size_t)(p - line), f);
	fflush(f);
}

static void vlog(struct fh_log *, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
vlog(struct fh_log *log, int level, const char *fmt, va_list ap)
{
	char  msg[1024];
	char *p;

	if (level > log->level)
		return;
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		return;
	p = put_head(log, line, level);
	p = put_str(p, "msg", msg, BUDGET_MSG);
	line_print(log, p);
}

#define FH_LOG_FN(name, level) \
	void name(struct fh_log *log, const char *fmt, ...) \
	{ \
		va_list ap; \
\
		va_start(ap, fmt); \
		vlog(log, level, fmt, ap); \
		va_end(ap); \
	}

FH_LOG_FN(fh_log_error, FH_LOG_ERROR)
FH_LOG_FN(fh_log_warn, FH_LOG_WARN)
FH_LOG_FN(fh_log_info, FH_LOG_INFO)
FH_LOG_FN(fh_log_debug, FH_LOG_DEBUG)

/* The access line: its keys in a fixed order, call_sid and task_sid only
 * when the request had them. */
void
fh_log_request(struct fh_log *log, const char *method, const char *path,
    int status, long ms, const char *auth, const char *err_name)
{
	char *p;
	int   level;

	level = status >= 500 ? FH_LOG_ERROR
	    : status >= 400   ? FH_LOG_WARN
			      : FH_LOG_INFO;
	p = put_head(log, line, level);
	p = put_str(p, "method", method != NULL ? method : "-", BUDGET_SHORT);
	p = put_str(p, "path", path != NULL ? path : "-", BUDGET_PATH);
	p = put_int(p, "status", status);
	p = put_int(p, "ms", ms);
	p = put_str(p, "auth", auth != NULL ? auth : "none", BUDGET_SHORT);
	p = put_str(p, "err", err_name, BUDGET_SHORT);
	p = put_int(p, "rest", (int64_t)log->rest_attempts);
	if (log->call_sid[0] != '\0')
		p = put_str(p, "call_sid", log->call_sid, BUDGET_SHORT);
	if (log->task_sid[0] != '\0')
		p = put_str(p, "task_sid", log->task_sid, BUDGET_SHORT);
	line_print(log, p);
}

void
fh_log_mask_phone(const char *num, char *out, size_t outlen)
{
	size_t len, n, i;

	if (outlen == 0)
		return;
	len = n = num != NULL ? strlen(num) : 0;
	if (n >= outlen)
		n = outlen - 1;
	/* a copy cut short still ends with the number's own last four */
	for (i = 0; i < n; i++)
		out[i] = i + 4 < n ? '*' : num[len - n + i];
	out[n] = '\0';
}
