/*
 * log.c - one JSON object per line on stderr.
 *
 * Lines are json-c objects so that any text (a path, a message) is
 * escaped; each line is written with one fwrite() so lines from several
 * programs sharing a log file do not interleave.  The objects are made
 * once (the access line's per log, the diagnostic lines' per process) and
 * their values set in place, so a line allocates nothing in the common
 * case.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <json-c/json.h>

#include "lib/log.h"
#include "lib/valid.h"

/* The object of the diagnostic lines (one process, one thread): reachable
 * until fh_log_release() frees it. */
static struct json_object *diag;

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
	json_object_put(log->access);
	log->access = NULL;
	json_object_put(diag);
	diag = NULL;
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

/* The time now as "YYYY-MM-DDTHH:MM:SS.mmmZ" into ts (48 bytes); the part
 * up to the seconds is formatted once a second. */
static void
timestamp(struct fh_log *log, char *ts, size_t tslen)
{
	struct timeval tv;
	struct tm      tm;
	time_t	       t;

	gettimeofday(&tv, NULL);
	if ((long long)tv.tv_sec != log->ts_sec) {
		t = tv.tv_sec;
		gmtime_r(&t, &tm);
		if (strftime(log->ts, sizeof(log->ts), "%Y-%m-%dT%H:%M:%S",
			&tm) == 0)
			log->ts[0] = '\0';
		log->ts_sec = (long long)tv.tv_sec;
	}
	if (snprintf(ts, tslen, "%s.%03dZ", log->ts, (int)(tv.tv_usec / 1000)) <
	    0)
		ts[0] = '\0';
}

/* Write o as one line; o stays the caller's. */
static void
line_print(const struct fh_log *log, struct json_object *o)
{
	const char *s;
	FILE	   *f = log->out != NULL ? log->out : stderr;

	s = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s != NULL) {
		/* one write(2) per line, so programs sharing a file do not
		 * interleave */
		char   line[8192];
		size_t n = strlen(s);

		if (n + 1 <= sizeof(line)) {
			memcpy(line, s, n);
			line[n] = '\n';
			fwrite(line, 1, n + 1, f);
		} else {
			fputs(s, f);
			fputc('\n', f);
		}
		fflush(f);
	}
}

/* Set key of o to the string val (NULL: null), in place when it already
 * holds a string.  Returns 0, or -1 when out of memory. */
static int
set_str(struct json_object *o, const char *key, const char *val)
{
	struct json_object *cur = NULL;

	if (val != NULL && json_object_object_get_ex(o, key, &cur) &&
	    json_object_is_type(cur, json_type_string))
		return json_object_set_string(cur, val) ? 0 : -1;
	if (val == NULL) {
		if (json_object_object_get_ex(o, key, &cur) && cur == NULL)
			return 0;
		return json_object_object_add(o, key, NULL);
	}
	if ((cur = json_object_new_string(val)) == NULL)
		return -1;
	return json_object_object_add(o, key, cur);
}

/* Set key of o to the integer val, in place when it already holds one. */
static int
set_int(struct json_object *o, const char *key, int64_t val)
{
	struct json_object *cur = NULL;

	if (json_object_object_get_ex(o, key, &cur) &&
	    json_object_is_type(cur, json_type_int))
		return json_object_set_int64(cur, val) ? 0 : -1;
	if ((cur = json_object_new_int64(val)) == NULL)
		return -1;
	return json_object_object_add(o, key, cur);
}

static void vlog(struct fh_log *, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
vlog(struct fh_log *log, int level, const char *fmt, va_list ap)
{
	struct json_object *o;
	char		    msg[1024], ts[48];
	int		    rc = 0;

	if (level > log->level)
		return;
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		return;
	/* one object for every diagnostic line of the process, its values
	 * set in place, as for the access line */
	if (diag == NULL && (diag = json_object_new_object()) == NULL)
		return;
	o = diag;
	timestamp(log, ts, sizeof(ts));
	rc |= set_str(o, "ts", ts);
	rc |= set_str(o, "level", level_names[level]);
	rc |= set_str(o, "prog", log->prog != NULL ? log->prog : "-");
	rc |= set_str(o, "rid", log->rid);
	rc |= set_str(o, "msg", msg);
	if (rc != 0) {
		json_object_put(diag);
		diag = NULL;
		return;
	}
	line_print(log, o);
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

/*
 * The access line is the same object every time: its keys are made once
 * (in the order of the line) and each request sets their values in place,
 * so a request costs no allocation here but for call_sid and task_sid,
 * which are only on the lines that have them.
 */
void
fh_log_request(struct fh_log *log, const char *method, const char *path,
    int status, long ms, const char *auth, const char *err_name)
{
	struct json_object *o;
	char		    ts[48];
	int		    level, rc = 0;

	level = status >= 500 ? FH_LOG_ERROR
	    : status >= 400   ? FH_LOG_WARN
			      : FH_LOG_INFO;
	if (log->access == NULL &&
	    (log->access = json_object_new_object()) == NULL)
		return;
	o = log->access;
	json_object_object_del(o, "call_sid");
	json_object_object_del(o, "task_sid");
	timestamp(log, ts, sizeof(ts));
	rc |= set_str(o, "ts", ts);
	rc |= set_str(o, "level", level_names[level]);
	rc |= set_str(o, "prog", log->prog != NULL ? log->prog : "-");
	rc |= set_str(o, "rid", log->rid);
	rc |= set_str(o, "method", method != NULL ? method : "-");
	rc |= set_str(o, "path", path != NULL ? path : "-");
	rc |= set_int(o, "status", status);
	rc |= set_int(o, "ms", ms);
	rc |= set_str(o, "auth", auth != NULL ? auth : "none");
	rc |= set_str(o, "err", err_name);
	rc |= set_int(o, "rest", (int64_t)log->rest_attempts);
	if (log->call_sid[0] != '\0')
		rc |= set_str(o, "call_sid", log->call_sid);
	if (log->task_sid[0] != '\0')
		rc |= set_str(o, "task_sid", log->task_sid);
	if (rc != 0) {
		/* a half-updated object: start afresh next time */
		fh_log_release(log);
		return;
	}
	line_print(log, o);
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
