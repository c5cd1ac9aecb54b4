/*
 * log.c - one JSON object per line on stderr.
 *
 * Lines are built with json-c so that any text (a path, a message) is
 * escaped; the buffer is written with one fputs() so lines from several
 * programs sharing a log file do not interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <json-c/json.h>

#include "log.h"
#include "valid.h"

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
}

int
fh_log_level_parse(const char *s)
{
	int	 i;

	for (i = 0; i < FH_LOG__MAX; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void
fh_log_begin(struct fh_log *log, const char *rid)
{
	size_t	 n;

	log->call_sid[0] = log->task_sid[0] = '\0';
	log->rest_attempts = 0;
	n = rid != NULL ? strlen(rid) : 0;
	/* nginx's $request_id is 32 hex digits; accept only tame values */
	if (n == 0 || n >= sizeof(log->rid) || strspn(rid,
	    "0123456789abcdefABCDEF-_.") != n) {
		log->rid[0] = '-';
		log->rid[1] = '\0';
		return;
	}
	memcpy(log->rid, rid, n + 1);
}

static void
set_sid(char *dst, size_t dstlen, const char *sid, const char *prefix)
{
	if (sid == NULL || !fh_is_sid(sid, strlen(sid), prefix) ||
	    dstlen < 35)
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

static void
add_str(struct json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key,
	    val != NULL ? json_object_new_string(val) : NULL);
}

/* Start a line with ts, level, prog and rid. */
static struct json_object *
line_new(const struct fh_log *log, int level)
{
	struct json_object	*o;
	struct timeval		 tv;
	struct tm		 tm;
	char			 ts[48];
	size_t			 n;
	time_t			 t;

	o = json_object_new_object();
	if (o == NULL)
		return NULL;
	gettimeofday(&tv, NULL);
	t = tv.tv_sec;
	gmtime_r(&t, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (snprintf(ts + n, sizeof(ts) - n, ".%03dZ",
	    (int)(tv.tv_usec / 1000)) < 0)
		ts[n] = '\0';
	add_str(o, "ts", ts);
	add_str(o, "level", level_names[level]);
	add_str(o, "prog", log->prog != NULL ? log->prog : "-");
	add_str(o, "rid", log->rid);
	return o;
}

static void
line_write(const struct fh_log *log, struct json_object *o)
{
	const char	*s;
	FILE		*f = log->out != NULL ? log->out : stderr;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s != NULL) {
		/* one write(2) per line, so programs sharing a file do not
		 * interleave */
		char	 line[8192];
		size_t	 n = strlen(s);

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
	json_object_put(o);
}

static void vlog(struct fh_log *, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
vlog(struct fh_log *log, int level, const char *fmt, va_list ap)
{
	struct json_object	*o;
	char			 msg[1024];

	if (level > log->level)
		return;
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		return;
	o = line_new(log, level);
	if (o == NULL)
		return;
	add_str(o, "msg", msg);
	line_write(log, o);
}

#define FH_LOG_FN(name, level)					\
void								\
name(struct fh_log *log, const char *fmt, ...)			\
{								\
	va_list	 ap;						\
								\
	va_start(ap, fmt);					\
	vlog(log, level, fmt, ap);				\
	va_end(ap);						\
}

FH_LOG_FN(fh_log_error, FH_LOG_ERROR)
FH_LOG_FN(fh_log_warn, FH_LOG_WARN)
FH_LOG_FN(fh_log_info, FH_LOG_INFO)
FH_LOG_FN(fh_log_debug, FH_LOG_DEBUG)

void
fh_log_request(struct fh_log *log, const char *method, const char *path,
    int status, long ms, const char *auth, const char *err_name)
{
	struct json_object	*o;
	int			 level;

	level = status >= 500 ? FH_LOG_ERROR :
	    status >= 400 ? FH_LOG_WARN : FH_LOG_INFO;
	o = line_new(log, level);
	if (o == NULL)
		return;
	add_str(o, "method", method != NULL ? method : "-");
	add_str(o, "path", path != NULL ? path : "-");
	json_object_object_add(o, "status", json_object_new_int(status));
	json_object_object_add(o, "ms", json_object_new_int64(ms));
	add_str(o, "auth", auth != NULL ? auth : "none");
	add_str(o, "err", err_name);
	json_object_object_add(o, "rest",
	    json_object_new_int((int)log->rest_attempts));
	if (log->call_sid[0] != '\0')
		add_str(o, "call_sid", log->call_sid);
	if (log->task_sid[0] != '\0')
		add_str(o, "task_sid", log->task_sid);
	line_write(log, o);
}

void
fh_log_mask_phone(const char *num, char *out, size_t outlen)
{
	size_t	 n, i;

	if (outlen == 0)
		return;
	n = num != NULL ? strlen(num) : 0;
	if (n >= outlen)
		n = outlen - 1;
	for (i = 0; i < n; i++)
		out[i] = i + 4 < n ? '*' : num[i];
	out[n] = '\0';
}
