/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - structured logging: one JSON object per line on stderr.
 *
 * Each request ends with exactly one access line (fh_log_request()) carrying
 * ts, level, prog, rid, method, path, status, ms, auth, err, rest and, when
 * known, call_sid and task_sid.  Diagnostic lines (fh_log_error() and
 * friends) carry the same rid.  Nothing here ever receives a secret: callers
 * mask phone numbers with fh_log_mask_phone() and never pass tokens,
 * signatures or Authorization headers.
 */
#ifndef FH_LOG_H
#define FH_LOG_H

#include <stdio.h>

enum fh_log_level {
	FH_LOG_ERROR = 0,
	FH_LOG_WARN,
	FH_LOG_INFO,
	FH_LOG_DEBUG,
	FH_LOG__MAX
};

struct fh_log {
	const char *prog;    /* borrowed, static */
	int	    level;   /* lines above it are dropped */
	FILE	   *out;     /* stderr unless a test sets it */
	char	    rid[64]; /* request id of the current request */
	/* what the access line reports, reset by fh_log_begin() */
	char	 call_sid[40];
	char	 task_sid[40];
	unsigned rest_attempts;
	/* the timestamp's whole-second part, kept while the second lasts */
	long long ts_sec;
	char	  ts[24];
};

void fh_log_init(struct fh_log *log, const char *prog, int level);

/* Release the log and the process's line objects (json-c objects made
 * once and reused by every line of every log, see log.c); the log can be
 * used again and the objects are made again by its next line. */
void fh_log_release(struct fh_log *log);

/* Start a request: set its id (NULL or invalid gives "-") and clear the
 * per-request fields. */
void fh_log_begin(struct fh_log *log, const char *rid);

/* Remember a CallSid / TaskSid for the access line (ignored unless it is a
 * well-formed SID). */
void fh_log_set_call(struct fh_log *log, const char *sid);
void fh_log_set_task(struct fh_log *log, const char *sid);

void fh_log_error(struct fh_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fh_log_warn(struct fh_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fh_log_info(struct fh_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fh_log_debug(struct fh_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The access line.  err_name may be NULL (written as null). */
void fh_log_request(struct fh_log *log, const char *method, const char *path,
    int status, long ms, const char *auth, const char *err_name);

/* Write a masked copy of a phone number into out (all but the last four
 * characters replaced by '*'); out has outlen bytes. */
void fh_log_mask_phone(const char *num, char *out, size_t outlen);

/* Parse "error", "warn", "info", "debug"; -1 when unknown. */
int fh_log_level_parse(const char *s);

#endif
