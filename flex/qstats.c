/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qstats.c - a TaskQueue's line and statistics, cached per process.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* timegm() */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/form.h"
#include "lib/json.h"
#include "lib/log.h"
#include "flex/qstats.h"
#include "lib/rest.h"
#include "flex/tasks.h"
#include "lib/valid.h"

/* ------------------------------------------------------------ readers */

/* A count: a JSON integer, or a string of digits (tasks_by_status values
 * come either way), 0..2^40.  0 when absent or not one. */
static int
count(struct json_object *o, const char *key, long long *out)
{
	struct json_object *v;
	const char	   *s;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		*out = (long long)json_object_get_int64(v);
		return *out >= 0 && *out <= (1LL << 40);
	}
	if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);

		if (!(d >= 0 && d <= (double)(1LL << 40)))
			return 0;
		*out = (long long)(d + 0.5);
		return 1;
	}
	if (!json_object_is_type(v, json_type_string))
		return 0;
	s = json_object_get_string(v);
	return fh_parse_int(s, strlen(s), 0, 1LL << 40, out) == FH_OK;
}

static enum fh_err
parse_object(const char *body, size_t len, struct json_object **o)
{
	*o = NULL;
	if (fh_json_parse(body, len, o) != FH_OK ||
	    !json_object_is_type(*o, json_type_object)) {
		json_object_put(*o);
		*o = NULL;
		return FH_EUPSTREAM;
	}
	return FH_OK;
}

enum fh_err
fh_qstats_parse_realtime(const char *body, size_t len, struct fh_qstats *st)
{
	struct json_object *o = NULL, *by;
	enum fh_err	    err;

	st->have_rt = 0;
	if ((err = parse_object(body, len, &o)) != FH_OK)
		return err;
	st->eligible = st->available = st->pending = st->longest_age = 0;
	err = FH_EUPSTREAM;
	/* the worker counts are what the estimate needs: required */
	if (!count(o, "total_eligible_workers", &st->eligible) ||
	    !count(o, "total_available_workers", &st->available))
		goto out;
	if (json_object_object_get_ex(o, "tasks_by_status", &by))
		(void)count(by, "pending", &st->pending);
	(void)count(o, "longest_task_waiting_age", &st->longest_age);
	st->have_rt = 1;
	err = FH_OK;
out:
	json_object_put(o);
	return err;
}

/* "2026-01-02T03:04:05Z" (fractions and a +00:00 offset allowed) into
 * seconds since the epoch; 0 when not that. */
static int
iso_time(struct json_object *o, const char *key, long long *out)
{
	const char	   *s = fh_json_str(o, key);
	struct tm	    tm;
	long long	    f[6];
	static const size_t at[6] = {0, 5, 8, 11, 14, 17};
	static const size_t wid[6] = {4, 2, 2, 2, 2, 2};
	size_t		    i;

	if (s == NULL || strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return 0;
	for (i = 0; i < 6; i++)
		if (fh_parse_int(s + at[i], wid[i], 0, 9999, &f[i]) != FH_OK)
			return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)f[0] - 1900;
	tm.tm_mon = (int)f[1] - 1;
	tm.tm_mday = (int)f[2];
	tm.tm_hour = (int)f[3];
	tm.tm_min = (int)f[4];
	tm.tm_sec = (int)f[5];
	*out = (long long)timegm(&tm);
	return *out > 0;
}

enum fh_err
fh_qstats_parse_cumulative(
    const char *body, size_t len, long long minutes, struct fh_qstats *st)
{
	struct json_object *o = NULL, *w;
	long long	    start, end;
	enum fh_err	    err;

	st->have_cum = 0;
	if ((err = parse_object(body, len, &o)) != FH_OK)
		return err;
	st->accepted = st->avg_wait_s = 0;
	if (!count(o, "reservations_accepted", &st->accepted)) {
		json_object_put(o);
		return FH_EUPSTREAM;
	}
	if (json_object_object_get_ex(o, "wait_duration_until_accepted", &w))
		(void)count(w, "avg", &st->avg_wait_s);
	st->window_s = minutes * 60;
	if (iso_time(o, "start_time", &start) &&
	    iso_time(o, "end_time", &end) && end > start &&
	    end - start <= 7 * 24 * 3600)
		st->window_s = end - start;
	st->have_cum = 1;
	json_object_put(o);
	return FH_OK;
}

enum fh_err
fh_qstats_parse_tasks(
    const char *body, size_t len, size_t page, struct fh_qstats *st)
{
	struct json_object *items = NULL, *t;
	struct fh_qtask	   *out = NULL, *q;
	const char	   *sid, *vst;
	size_t		    i, n = 0, total;
	long long	    prio;
	enum fh_err	    err;

	if ((err = fh_page_parse(body, len, "tasks", &items)) != FH_OK)
		return err;
	total = json_object_array_length(items);
	if (total > 0) {
		out = calloc(total, sizeof(*out));
		if (out == NULL) {
			json_object_put(items);
			return FH_ENOMEM;
		}
	}
	for (i = 0; i < total; i++) {
		t = json_object_array_get_idx(items, i);
		sid = fh_json_str(t, "sid");
		if (sid == NULL || !fh_is_sid(sid, strlen(sid), "WT"))
			continue;
		prio = 0;
		(void)count(t, "priority", &prio);
		vst = fh_json_str(t, "virtual_start_time");
		if (vst == NULL)
			vst = fh_json_str(t, "date_created");
		q = &out[n++];
		memcpy(q->sid, sid, 35);
		q->priority = prio;
		if (vst != NULL && strlen(vst) < sizeof(q->vst))
			memcpy(q->vst, vst, strlen(vst) + 1);
	}
	json_object_put(items);
	free(st->tasks);
	st->tasks = out;
	st->ntasks = n;
	st->full = page > 0 && total >= page;
	st->have_list = 1;
	return FH_OK;
}

void
fh_qstats_release(struct fh_qstats *st)
{
	free(st->tasks);
	memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------------------ the line */

/* Is a ahead of (priority, vst, sid)?  Higher priority first, then the
 * earlier virtual start time (ISO 8601 UTC sorts as text; an unknown one
 * goes last), then the SID, so that every task has one place. */
static int
ahead(
    const struct fh_qtask *a, long long prio, const char *vst, const char *sid)
{
	int c;

	if (a->priority != prio)
		return a->priority > prio;
	if (a->vst[0] == '\0' || vst[0] == '\0')
		c = (a->vst[0] == '\0') - (vst[0] == '\0');
	else
		c = strcmp(a->vst, vst);
	if (c != 0)
		return c < 0;
	return strcmp(a->sid, sid) < 0;
}

long long
fh_qstats_position(const struct fh_qstats *st, const char *sid,
    long long priority, const char *vst)
{
	const struct fh_qtask *me = NULL;
	size_t		       i, n = 0;

	if (st == NULL || !st->have_list || sid == NULL)
		return 0;
	for (i = 0; i < st->ntasks && me == NULL; i++)
		if (strcmp(st->tasks[i].sid, sid) == 0)
			me = &st->tasks[i];
	if (me != NULL) {
		priority = me->priority;
		vst = me->vst;
	} else if (vst == NULL)
		return 0;
	for (i = 0; i < st->ntasks; i++)
		if (&st->tasks[i] != me &&
		    ahead(&st->tasks[i], priority, vst, sid))
			n++;
	/* a full page where everyone listed is ahead: more may be */
	if (me == NULL && st->full && n == st->ntasks)
		return 0;
	return (long long)n + 1;
}

int
fh_qstats_estimate(const struct fh_qstats *st, long long pos, long long *secs)
{
	*secs = 0;
	if (st == NULL || !st->have_rt || !st->have_cum || pos < 1 ||
	    st->eligible == 0 || st->accepted < FH_QSTATS_MIN_ACCEPTED ||
	    st->window_s <= 0)
		return 0;
	if (pos > (1LL << 20))
		pos = 1LL << 20;
	*secs = pos * st->window_s / st->accepted;
	return 1;
}

enum fh_prompt
fh_qstats_phrase(long long secs, long long *n)
{
	long long m;

	*n = 0;
	if (secs < 60)
		return FH_PR_WAIT_UNDER_MINUTE;
	m = (secs + 30) / 60;
	if (m > FH_QSTATS_MAX_MINUTES) {
		*n = FH_QSTATS_MAX_MINUTES;
		return FH_PR_WAIT_OVER_MINUTES;
	}
	if (m <= 1)
		return FH_PR_WAIT_ONE_MINUTE;
	*n = m < 10 ? m : (m + 2) / 5 * 5;
	return FH_PR_WAIT_MINUTES;
}

/* ------------------------------------------------------------ the cache */

struct entry {
	struct fh_qstats st; /* st.queue[0] == '\0': free */
	int64_t		 at; /* fh_now_ms() when read */
};

static struct entry cache[FH_QSTATS_CACHE];

void
fh_qstats_cache_clear(void)
{
	size_t i;

	for (i = 0; i < FH_QSTATS_CACHE; i++)
		fh_qstats_release(&cache[i].st);
	memset(cache, 0, sizeof(cache));
}

/* The slot of queue, else a free one, else the oldest. */
static struct entry *
slot(const char *queue)
{
	struct entry *e = &cache[0];
	size_t	      i;

	for (i = 0; i < FH_QSTATS_CACHE; i++)
		if (strcmp(cache[i].st.queue, queue) == 0)
			return &cache[i];
	for (i = 0; i < FH_QSTATS_CACHE; i++) {
		if (cache[i].st.queue[0] == '\0')
			return &cache[i];
		if (cache[i].at < e->at)
			e = &cache[i];
	}
	return e;
}

void
fh_qstats_cache_put(struct fh_qstats *st)
{
	struct entry *e = slot(st->queue);

	fh_qstats_release(&e->st);
	e->st = *st;
	e->at = fh_now_ms();
	memset(st, 0, sizeof(*st));
}

/* GET path?query from TaskRouter into rr (which the caller releases). */
static enum fh_err
get(struct fh_ctx *ctx, const char *path, const char *query,
    struct fh_rest_resp *rr)
{
	struct fh_rest_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.base = FH_REST_TASKROUTER;
	rq.method = "GET";
	rq.path = path;
	rq.query = query;
	rq.idempotent = 1;
	rq.max_response = FH_QSTATS_MAX_RESPONSE;
	rq.max_429_retries = 1; /* rate-limited: do not insist */
	return fh_rest_do(ctx->rest, &rq, rr);
}

/* Read the three documents of st->queue into st; each failure is logged
 * and leaves its part missing. */
static void
refresh(struct fh_ctx *ctx, struct fh_qstats *st)
{
	struct fh_rest_resp rr;
	struct fh_buf	    q;
	char		    path[160], num[24];
	const char	   *ws = ctx->cfg->workspace_sid;
	enum fh_err	    err;
	int		    w;

	memset(&rr, 0, sizeof(rr));
	fh_buf_init(&q, 512);
	if (ws == NULL)
		goto out;
	if (fh_rest_remaining(ctx->rest) > FH_QSTATS_DEADLINE_MS)
		fh_rest_set_deadline(ctx->rest, FH_QSTATS_DEADLINE_MS);

	/* the line: the queue's pending tasks, in TaskRouter's order */
	w = snprintf(path, sizeof(path), "/v1/Workspaces/%s/Tasks", ws);
	if (w < 0 || (size_t)w >= sizeof(path) ||
	    snprintf(num, sizeof(num), "%d", FH_QSTATS_PAGE) >=
		(int)sizeof(num) ||
	    fh_form_add(&q, "TaskQueueSid", st->queue) != FH_OK ||
	    fh_form_add(&q, "AssignmentStatus", "pending") != FH_OK ||
	    fh_form_add(&q, "Ordering", "Priority:desc,DateCreated:asc") !=
		FH_OK ||
	    fh_form_add(&q, "PageSize", num) != FH_OK)
		goto out;
	err = get(ctx, path, fh_buf_cstr(&q), &rr);
	if (err == FH_OK)
		err = fh_qstats_parse_tasks(
		    fh_buf_cstr(&rr.body), rr.body.len, FH_QSTATS_PAGE, st);
	if (err != FH_OK)
		fh_log_warn(&ctx->log,
		    "cannot read the tasks of queue '%s': "
		    "%s (status %ld)",
		    st->queue, fh_err_name(err), rr.status);
	fh_rest_resp_release(&rr);

	w = snprintf(path, sizeof(path),
	    "/v1/Workspaces/%s/TaskQueues/%s/"
	    "RealTimeStatistics",
	    ws, st->queue);
	if (w < 0 || (size_t)w >= sizeof(path))
		goto out;
	err = get(ctx, path, NULL, &rr);
	if (err == FH_OK)
		err = fh_qstats_parse_realtime(
		    fh_buf_cstr(&rr.body), rr.body.len, st);
	if (err != FH_OK)
		fh_log_warn(&ctx->log,
		    "cannot read the real-time statistics "
		    "of queue '%s': %s (status %ld)",
		    st->queue, fh_err_name(err), rr.status);
	fh_rest_resp_release(&rr);

	w = snprintf(path, sizeof(path),
	    "/v1/Workspaces/%s/TaskQueues/%s/"
	    "CumulativeStatistics",
	    ws, st->queue);
	if (w < 0 || (size_t)w >= sizeof(path) ||
	    snprintf(num, sizeof(num), "%d", FH_QSTATS_WINDOW_MIN) >=
		(int)sizeof(num))
		goto out;
	fh_buf_reset(&q);
	if (fh_form_add(&q, "Minutes", num) != FH_OK)
		goto out;
	err = get(ctx, path, fh_buf_cstr(&q), &rr);
	if (err == FH_OK)
		err = fh_qstats_parse_cumulative(fh_buf_cstr(&rr.body),
		    rr.body.len, FH_QSTATS_WINDOW_MIN, st);
	if (err != FH_OK)
		fh_log_warn(&ctx->log,
		    "cannot read the cumulative statistics "
		    "of queue '%s': %s (status %ld)",
		    st->queue, fh_err_name(err), rr.status);
out:
	fh_rest_resp_release(&rr);
	fh_buf_release(&q);
}

const struct fh_qstats *
fh_qstats_get(struct fh_ctx *ctx, const char *queue)
{
	struct entry *e;
	int64_t	      now = fh_now_ms(), ttl;

	if (queue == NULL || !fh_is_sid(queue, strlen(queue), "WQ"))
		return NULL;
	ttl = (ctx->cfg->queue_stats_cache_s > 0 ? ctx->cfg->queue_stats_cache_s
						 : 30) *
	    1000;
	e = slot(queue);
	if (strcmp(e->st.queue, queue) == 0 && now - e->at < ttl)
		return &e->st;
	fh_qstats_release(&e->st);
	memcpy(e->st.queue, queue, 35);
	e->at = now;
	refresh(ctx, &e->st);
	return &e->st;
}
