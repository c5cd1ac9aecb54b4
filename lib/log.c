/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c - one JSON object per line on stderr.
 *
 * Lines are json-c objects, serialised with JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE, and each goes out with one fwrite(), so
 * lines from several programs sharing a log file do not interleave.  The
 * objects are made once per process and reused: every value (ts, level,
 * path, status, ...) is one json-c object made on first use and set in
 * place line after line, and the access line has one object per set of
 * optional keys (err null or not, call_sid, task_sid), each holding those
 * shared values, so a line costs no hash look-up and, once the values have
 * been as long once, no allocation; json-c's serialiser reuses the
 * object's print buffer.  Every value has a budget of output bytes (the
 * path 40 KB, a message 8 KB, anything else 1 KB) that together fit line[],
 * so a line is always whole: a value over its budget is cut after the last
 * byte or escape that fits (nginx caps a request line at 8 KB and messages
 * are cut at 1 KB before this, so no real line reaches a budget).
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

#define LINE_MAX_BYTES (64 * 1024)
#define BUDGET_PATH (40 * 1024)
#define BUDGET_MSG (8 * 1024)
#define BUDGET_SHORT 1024

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

static void objects_free(void);

void
fh_log_release(struct fh_log *log)
{
	/* the line objects are the process's: made again on the next line */
	objects_free();
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

/* The members the lines share, each made once and set in place. */
enum member {
	M_TS,
	M_LEVEL,
	M_PROG,
	M_RID,
	M_METHOD,
	M_PATH,
	M_STATUS,
	M_MS,
	M_AUTH,
	M_ERR,
	M_REST,
	M_CALL,
	M_TASK,
	M_MSG,
	M__MAX
};

/* The access line's objects, one per set of optional keys (ACC_* bits),
 * each made the first time a line needs it. */
#define ACC_ERR_NULL 1u
#define ACC_CALL 2u
#define ACC_TASK 4u
#define ACC__MAX 8u

/* One process, one thread: made on first use, freed by fh_log_release(). */
static struct json_object *member[M__MAX];
static struct json_object *access_obj[ACC__MAX];
static struct json_object *diag_obj;

static const char *const member_keys[M__MAX] = {
    [M_TS] = "ts",
    [M_LEVEL] = "level",
    [M_PROG] = "prog",
    [M_RID] = "rid",
    [M_METHOD] = "method",
    [M_PATH] = "path",
    [M_STATUS] = "status",
    [M_MS] = "ms",
    [M_AUTH] = "auth",
    [M_ERR] = "err",
    [M_REST] = "rest",
    [M_CALL] = "call_sid",
    [M_TASK] = "task_sid",
    [M_MSG] = "msg",
};

/* The line with its newline, for one fwrite(); the budgets keep every
 * line inside it. */
static char line[LINE_MAX_BYTES];

static void
objects_free(void)
{
	size_t i;

	for (i = 0; i < ACC__MAX; i++) {
		json_object_put(access_obj[i]);
		access_obj[i] = NULL;
	}
	json_object_put(diag_obj);
	diag_obj = NULL;
	for (i = 0; i < M__MAX; i++) {
		json_object_put(member[i]);
		member[i] = NULL;
	}
}

/* Make the shared members: strings start empty, numbers at 0. */
static int
members_make(void)
{
	size_t i;

	if (member[0] != NULL)
		return 0;
	for (i = 0; i < M__MAX; i++) {
		member[i] = i == M_STATUS || i == M_MS || i == M_REST
		    ? json_object_new_int64(0)
		    : json_object_new_string("");
		if (member[i] == NULL) {
			objects_free();
			return -1;
		}
	}
	return 0;
}

/* Add the shared member m to o under its key; 0, or -1. */
static int
add_member(struct json_object *o, enum member m)
{
	if (json_object_object_add_ex(o, member_keys[m],
		json_object_get(member[m]),
		JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT) !=
	    0) {
		json_object_put(member[m]);
		return -1;
	}
	return 0;
}

/* An object holding the members of list (M__MAX ends it), in order; with
 * err_null, "err" is null.  NULL when out of memory. */
static struct json_object *
object_make(const enum member *list, int err_null)
{
	struct json_object *o;
	size_t		    i;
	int		    rc = 0;

	o = json_object_new_object();
	if (o == NULL)
		return NULL;
	for (i = 0; rc == 0 && list[i] != M__MAX; i++) {
		if (list[i] == M_ERR && err_null)
			rc = json_object_object_add_ex(o, member_keys[M_ERR],
			    NULL,
			    JSON_C_OBJECT_ADD_KEY_IS_NEW |
				JSON_C_OBJECT_KEY_IS_CONSTANT);
		else
			rc = add_member(o, list[i]);
	}
	if (rc != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The access line's object for the optional keys in bits. */
static struct json_object *
access_get(unsigned bits)
{
	enum member list[M__MAX + 1];
	size_t	    n = 0;
	int	    m;

	if (access_obj[bits] != NULL)
		return access_obj[bits];
	for (m = M_TS; m <= M_REST; m++)
		list[n++] = (enum member)m;
	if (bits & ACC_CALL)
		list[n++] = M_CALL;
	if (bits & ACC_TASK)
		list[n++] = M_TASK;
	list[n] = M__MAX;
	access_obj[bits] = object_make(list, (bits & ACC_ERR_NULL) != 0);
	return access_obj[bits];
}

static struct json_object *
diag_get(void)
{
	static const enum member list[] = {
	    M_TS, M_LEVEL, M_PROG, M_RID, M_MSG, M__MAX};

	if (diag_obj == NULL)
		diag_obj = object_make(list, 0);
	return diag_obj;
}

/* How many bytes of s[0..len) fit in budget bytes once escaped as json-c
 * escapes them: \b \f \n \r \t \" \\ take two, any other byte below 0x20
 * six (\u00xx), every other byte one.  A value is cut after the last whole
 * byte or escape that fits. */
static size_t
fit(const char *s, size_t len, size_t budget)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t		     i, used = 0, w;

	if (len <= budget / 6)
		return len; /* fits whatever it holds */
	for (i = 0; i < len; i++) {
		switch (u[i]) {
		case '\b':
		case '\f':
		case '\n':
		case '\r':
		case '\t':
		case '"':
		case '\\':
			w = 2;
			break;
		default:
			w = u[i] < 0x20 ? 6 : 1;
			break;
		}
		if (w > budget - used)
			break;
		used += w;
	}
	return i;
}

/* Make the string member m "".  json-c 0.16 loses the separate block of
 * a string that has been longer than at its making when it is set to ""
 * (the block leaks), so a member that is not already "" is replaced by a
 * new empty string in every object that holds it. */
static int
set_empty(enum member m)
{
	struct json_object *fresh, *o, *v;
	size_t		    i;

	if (json_object_get_string_len(member[m]) == 0)
		return 0; /* "" since its making or its last replacement */
	fresh = json_object_new_string("");
	if (fresh == NULL)
		return -1;
	for (i = 0; i <= ACC__MAX; i++) {
		o = i < ACC__MAX ? access_obj[i] : diag_obj;
		if (o == NULL ||
		    !json_object_object_get_ex(o, member_keys[m], &v) ||
		    v != member[m])
			continue;
		/* replaces the value in place (same key, same order) and puts
		 * the object's reference to the old one */
		if (json_object_object_add(
			o, member_keys[m], json_object_get(fresh)) != 0) {
			/* not reached (no new key); start afresh */
			json_object_put(fresh);
			objects_free();
			return -1;
		}
	}
	json_object_put(member[m]);
	member[m] = fresh;
	return 0;
}

/* Set the string member m to s (cut to its budget); 0, or -1. */
static int
set_str(enum member m, const char *s, size_t budget)
{
	size_t n = fit(s, strlen(s), budget);

	if (n == 0)
		return set_empty(m);
	return json_object_set_string_len(member[m], s, (int)n) == 1 ? 0 : -1;
}

/* Set the members every line has: ts ("YYYY-MM-DDTHH:MM:SS.mmmZ", the
 * part up to the seconds formatted once a second), level, prog, rid. */
static int
set_head(struct fh_log *log, int level)
{
	struct timeval tv;
	struct tm      tm;
	time_t	       t;
	char	       ts[sizeof(log->ts) + 8];
	size_t	       n;
	int	       ms, rc = 0;

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
	n = strlen(log->ts);
	memcpy(ts, log->ts, n);
	ts[n++] = '.';
	ts[n++] = (char)('0' + ms / 100);
	ts[n++] = (char)('0' + ms / 10 % 10);
	ts[n++] = (char)('0' + ms % 10);
	ts[n++] = 'Z';
	rc |=
	    json_object_set_string_len(member[M_TS], ts, (int)n) == 1 ? 0 : -1;
	rc |= set_str(M_LEVEL, level_names[level], BUDGET_SHORT);
	rc |=
	    set_str(M_PROG, log->prog != NULL ? log->prog : "-", BUDGET_SHORT);
	rc |= set_str(M_RID, log->rid, BUDGET_SHORT);
	return rc;
}

/* Write o as one line with one fwrite(). */
static void
line_print(const struct fh_log *log, struct json_object *o)
{
	FILE	   *f = log->out != NULL ? log->out : stderr;
	const char *s;
	size_t	    n = 0;

	s = json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (s == NULL)
		return;
	if (n + 1 <= sizeof(line)) {
		memcpy(line, s, n);
		line[n] = '\n';
		fwrite(line, 1, n + 1, f);
	} else {
		/* not reached: the budgets keep a line inside line[] */
		fwrite(s, 1, n, f);
		fputc('\n', f);
	}
	fflush(f);
}

static void vlog(struct fh_log *, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
vlog(struct fh_log *log, int level, const char *fmt, va_list ap)
{
	struct json_object *o;
	char		    msg[1024];

	if (level > log->level)
		return;
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		return;
	if (members_make() != 0 || (o = diag_get()) == NULL)
		return;
	if (set_head(log, level) != 0 || set_str(M_MSG, msg, BUDGET_MSG) != 0)
		return;
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

/* The access line: its keys in a fixed order, call_sid and task_sid only
 * when the request had them. */
void
fh_log_request(struct fh_log *log, const char *method, const char *path,
    int status, long ms, const char *auth, const char *err_name)
{
	struct json_object *o;
	unsigned	    bits = 0;
	int		    level, rc = 0;

	level = status >= 500 ? FH_LOG_ERROR
	    : status >= 400   ? FH_LOG_WARN
			      : FH_LOG_INFO;
	if (err_name == NULL)
		bits |= ACC_ERR_NULL;
	if (log->call_sid[0] != '\0')
		bits |= ACC_CALL;
	if (log->task_sid[0] != '\0')
		bits |= ACC_TASK;
	if (members_make() != 0 || (o = access_get(bits)) == NULL)
		return;
	rc |= set_head(log, level);
	rc |= set_str(M_METHOD, method != NULL ? method : "-", BUDGET_SHORT);
	rc |= set_str(M_PATH, path != NULL ? path : "-", BUDGET_PATH);
	rc |= json_object_set_int64(member[M_STATUS], status) == 1 ? 0 : -1;
	rc |= json_object_set_int64(member[M_MS], ms) == 1 ? 0 : -1;
	rc |= set_str(M_AUTH, auth != NULL ? auth : "none", BUDGET_SHORT);
	if (err_name != NULL)
		rc |= set_str(M_ERR, err_name, BUDGET_SHORT);
	rc |= json_object_set_int64(
		  member[M_REST], (int64_t)log->rest_attempts) == 1
	    ? 0
	    : -1;
	if (bits & ACC_CALL)
		rc |= set_str(M_CALL, log->call_sid, BUDGET_SHORT);
	if (bits & ACC_TASK)
		rc |= set_str(M_TASK, log->task_sid, BUDGET_SHORT);
	if (rc != 0)
		return;
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
