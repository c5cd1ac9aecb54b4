/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tasks.c - TaskRouter task requests.
 */
#include <stdio.h>
#include <string.h>

#include "flex/attr.h"
#include "lib/form.h"
#include "lib/json.h"
#include "flex/tasks.h"
#include "lib/valid.h"

const char *
fh_ctx_workspace(const struct fh_ctx *ctx)
{
	if (ctx->workspace != NULL)
		return ctx->workspace;
	return fh_config_default_workspace(ctx->cfg);
}

enum fh_err
fh_task_create(struct fh_ctx *ctx, const char *form, size_t form_len, char *sid,
    size_t sidlen, struct fh_rest_resp *resp)
{
	struct fh_rest_req rq;
	char		   path[128];
	enum fh_err	   err;

	memset(&rq, 0, sizeof(rq));
	if (fh_ctx_workspace(ctx) == NULL ||
	    snprintf(path, sizeof(path), "/v1/Workspaces/%s/Tasks",
		fh_ctx_workspace(ctx)) >= (int)sizeof(path))
		return FH_ECONFIG;
	rq.base = FH_REST_TASKROUTER;
	rq.method = "POST";
	rq.path = path;
	rq.body = form;
	rq.body_len = form_len;
	rq.idempotent = 0;
	err = fh_rest_do(ctx->rest, &rq, resp);
	if (err == FH_ENOTFOUND)
		err = FH_EUPSTREAM; /* our workspace, not the client's SID */
	if (err != FH_OK)
		return err;
	err = fh_task_parse_sid(
	    fh_buf_cstr(&resp->body), resp->body.len, sid, sidlen);
	if (err != FH_OK)
		fh_log_error(&ctx->log, "cannot read task create answer: %s",
		    "invalid JSON or no task sid");
	return err;
}

enum fh_err
fh_task_parse_sid(const char *body, size_t len, char *sid, size_t sidlen)
{
	struct json_object *task = NULL;
	const char	   *s;
	enum fh_err	    err = FH_EUPSTREAM;

	if (sidlen > 0)
		sid[0] = '\0';
	if (fh_json_parse(body, len, &task) != FH_OK)
		goto out;
	s = fh_json_str(task, "sid");
	if (s == NULL || !fh_is_sid(s, strlen(s), "WT") || sidlen < 35)
		goto out;
	memcpy(sid, s, 35);
	err = FH_OK;
out:
	json_object_put(task);
	return err;
}

enum fh_err
fh_task_parse(const char *body, size_t len, struct json_object **task)
{
	*task = NULL;
	if (fh_json_parse(body, len, task) != FH_OK ||
	    !json_object_is_type(*task, json_type_object)) {
		json_object_put(*task);
		*task = NULL;
		return FH_EUPSTREAM;
	}
	return FH_OK;
}

enum fh_err
fh_page_parse(
    const char *body, size_t len, const char *key, struct json_object **items)
{
	struct json_object *page = NULL, *arr;

	*items = NULL;
	if (fh_json_parse(body, len, &page) != FH_OK ||
	    !json_object_object_get_ex(page, key, &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(page);
		return FH_EUPSTREAM;
	}
	*items = json_object_get(arr);
	json_object_put(page);
	return FH_OK;
}

enum fh_err
fh_queue_parse_name(const char *body, size_t len, char *name, size_t namelen)
{
	struct json_object *q = NULL;
	const char	   *fn;

	if (namelen > 0)
		name[0] = '\0';
	if (fh_json_parse(body, len, &q) != FH_OK)
		return FH_EUPSTREAM;
	fn = fh_json_str(q, "friendly_name");
	if (fn != NULL && strlen(fn) < namelen)
		memcpy(name, fn, strlen(fn) + 1);
	json_object_put(q);
	return FH_OK;
}

int
fh_tasks_find_call(
    struct json_object *tasks, const char *call_sid, char *sid, int *unreadable)
{
	struct json_object *t, *a, *attrs;
	const char	   *cs, *ts;
	size_t		    i;
	int		    found = 0;

	if (!json_object_is_type(tasks, json_type_array))
		return 0;
	for (i = 0; !found && i < json_object_array_length(tasks); i++) {
		t = json_object_array_get_idx(tasks, i);
		if (!json_object_object_get_ex(t, "attributes", &a) ||
		    !json_object_is_type(a, json_type_string)) {
			*unreadable = 1;
			continue;
		}
		attrs = NULL;
		if (fh_json_parse(json_object_get_string(a),
			(size_t)json_object_get_string_len(a),
			&attrs) != FH_OK ||
		    !json_object_is_type(attrs, json_type_object)) {
			*unreadable = 1;
			json_object_put(attrs);
			continue;
		}
		cs = fh_json_str(attrs, "call_sid");
		ts = fh_json_str(t, "sid");
		if (cs != NULL && strcmp(cs, call_sid) == 0 && ts != NULL &&
		    fh_is_sid(ts, strlen(ts), "WT")) {
			memcpy(sid, ts, 35);
			found = 1;
		}
		json_object_put(attrs);
	}
	return found;
}

int
fh_recordings_live(struct json_object *recs)
{
	static const char *const live[] = {
	    "in-progress", "paused", "processing", "completed"};
	const char *st;
	size_t	    i, j;

	if (!json_object_is_type(recs, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(recs); i++) {
		st = fh_json_str(json_object_array_get_idx(recs, i), "status");
		for (j = 0; st != NULL && j < FH_NITEMS(live); j++)
			if (strcmp(st, live[j]) == 0)
				return 1;
	}
	return 0;
}

/* Fill path with the workspace's task path, plus "/sid" when sid is set. */
static enum fh_err
task_path(const struct fh_ctx *ctx, const char *sid, char *path, size_t n)
{
	const char *ws = fh_ctx_workspace(ctx);
	int	    w;

	if (ws == NULL)
		return FH_ECONFIG;
	w = sid != NULL
	    ? snprintf(path, n, "/v1/Workspaces/%s/Tasks/%s", ws, sid)
	    : snprintf(path, n, "/v1/Workspaces/%s/Tasks", ws);
	return w > 0 && (size_t)w < n ? FH_OK : FH_ECONFIG;
}

enum fh_err
fh_twilio_get(struct fh_ctx *ctx, enum fh_rest_base base, const char *path,
    const char *query, struct fh_rest_resp *resp)
{
	struct fh_rest_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.base = base;
	rq.method = "GET";
	rq.path = path;
	rq.query = query;
	rq.idempotent = 1;
	return fh_rest_do(ctx->rest, &rq, resp);
}

enum fh_err
fh_task_fetch(struct fh_ctx *ctx, const char *sid, struct json_object **task,
    char *etag, size_t etaglen, struct fh_rest_resp *resp)
{
	char	    path[128];
	enum fh_err err;

	*task = NULL;
	if ((err = task_path(ctx, sid, path, sizeof(path))) != FH_OK)
		return err;
	err = fh_twilio_get(ctx, FH_REST_TASKROUTER, path, NULL, resp);
	if (err == FH_ENOTFOUND)
		return FH_ETASK404;
	if (err != FH_OK)
		return err;
	if (fh_task_parse(fh_buf_cstr(&resp->body), resp->body.len, task) !=
	    FH_OK) {
		fh_log_error(&ctx->log, "cannot read task '%s': %s", sid,
		    "invalid JSON");
		return FH_EUPSTREAM;
	}
	if (snprintf(etag, etaglen, "%s", resp->etag) < 0)
		etag[0] = '\0';
	return FH_OK;
}

enum fh_err
fh_task_list(struct fh_ctx *ctx, const char *query, struct json_object **tasks,
    struct fh_rest_resp *resp)
{
	char	    path[128];
	enum fh_err err;

	*tasks = NULL;
	if ((err = task_path(ctx, NULL, path, sizeof(path))) != FH_OK)
		return err;
	err = fh_twilio_get(ctx, FH_REST_TASKROUTER, path, query, resp);
	if (err != FH_OK)
		return err;
	err = fh_page_parse(
	    fh_buf_cstr(&resp->body), resp->body.len, "tasks", tasks);
	if (err != FH_OK)
		fh_log_error(
		    &ctx->log, "cannot read task list: %s", "invalid JSON");
	return err;
}

/* POST form to the task's instance URL (path): conditional with If-Match
 * when etag is not empty, which also makes it safe to retry; idempotent
 * says so for an unconditional one.  404 answers FH_ETASK404. */
static enum fh_err
task_post(struct fh_ctx *ctx, const char *path, struct fh_buf *form,
    const char *etag, int idempotent, struct fh_rest_resp *resp)
{
	struct fh_rest_req rq;
	enum fh_err	   err;

	memset(&rq, 0, sizeof(rq));
	rq.base = FH_REST_TASKROUTER;
	rq.method = "POST";
	rq.path = path;
	rq.body = fh_buf_cstr(form);
	rq.body_len = form->len;
	rq.if_match = etag != NULL && etag[0] != '\0' ? etag : NULL;
	rq.idempotent = idempotent || rq.if_match != NULL;
	err = fh_rest_do(ctx->rest, &rq, resp);
	return err == FH_ENOTFOUND ? FH_ETASK404 : err;
}

enum fh_err
fh_task_update_attrs(struct fh_ctx *ctx, const char *sid,
    struct json_object *attrs, const char *etag, struct fh_rest_resp *resp)
{
	struct fh_buf form;
	char	      path[128];
	enum fh_err   err;

	fh_buf_init(&form, 256 * 1024);
	if ((err = task_path(ctx, sid, path, sizeof(path))) != FH_OK)
		goto out;
	if (fh_json_text(attrs) == NULL) {
		err = FH_ENOMEM;
		goto out;
	}
	if ((err = fh_form_add(&form, "Attributes", fh_json_text(attrs))) !=
	    FH_OK)
		goto out;
	err = task_post(ctx, path, &form, etag, 0, resp);
out:
	fh_buf_release(&form);
	return err;
}

enum fh_err
fh_task_cancel(struct fh_ctx *ctx, const char *sid, const char *reason,
    struct json_object *attrs, const char *etag, struct fh_rest_resp *resp)
{
	struct fh_buf form;
	char	      path[128];
	enum fh_err   err;

	fh_buf_init(&form, 256 * 1024);
	if ((err = task_path(ctx, sid, path, sizeof(path))) != FH_OK)
		goto out;
	if ((err = fh_form_add(&form, "AssignmentStatus", "canceled")) !=
		FH_OK ||
	    (err = fh_form_add(&form, "Reason", reason)) != FH_OK)
		goto out;
	if (attrs != NULL) {
		if (fh_json_text(attrs) == NULL) {
			err = FH_ENOMEM;
			goto out;
		}
		err = fh_form_add(&form, "Attributes", fh_json_text(attrs));
		if (err != FH_OK)
			goto out;
	}
	err = task_post(ctx, path, &form, etag, 0, resp);
out:
	fh_buf_release(&form);
	return err;
}

enum fh_err
fh_task_finish(struct fh_ctx *ctx, const char *sid, const char *status,
    const char *reason, struct fh_rest_resp *resp)
{
	struct fh_buf form;
	char	      path[128];
	enum fh_err   err;

	fh_buf_init(&form, 4096);
	err = task_path(ctx, sid, path, sizeof(path));
	if (err == FH_OK)
		err = fh_form_add(&form, "AssignmentStatus", status);
	if (err == FH_OK)
		err = fh_form_add(&form, "Reason", reason);
	if (err != FH_OK)
		goto out;
	/* a final status: a repeat changes nothing */
	err = task_post(ctx, path, &form, NULL, 1, resp);
out:
	fh_buf_release(&form);
	return err;
}

enum fh_err
fh_call_create(struct fh_ctx *ctx, const char *form, size_t len, char *sid,
    size_t sidlen, struct fh_rest_resp *resp)
{
	struct fh_rest_req  rq;
	struct json_object *call = NULL;
	const char	   *s;
	char		    path[160];
	int		    w;
	enum fh_err	    err;

	memset(&rq, 0, sizeof(rq));
	if (sidlen > 0)
		sid[0] = '\0';
	w = snprintf(path, sizeof(path), "/2010-04-01/Accounts/%s/Calls.json",
	    ctx->cfg->account_sid);
	if (w < 0 || (size_t)w >= sizeof(path))
		return FH_EINTERNAL;
	rq.base = FH_REST_API;
	rq.method = "POST";
	rq.path = path;
	rq.body = form;
	rq.body_len = len;
	rq.idempotent = 0;
	err = fh_rest_do(ctx->rest, &rq, resp);
	if (err != FH_OK)
		return err;
	if (fh_json_parse(fh_buf_cstr(&resp->body), resp->body.len, &call) !=
	    FH_OK) {
		fh_log_error(&ctx->log, "cannot read call create answer: %s",
		    "invalid JSON");
		return FH_EUPSTREAM;
	}
	s = fh_json_str(call, "sid");
	if (s == NULL || !fh_is_sid(s, strlen(s), "CA") || sidlen < 35) {
		fh_log_error(&ctx->log, "cannot read call create answer: %s",
		    "no call sid");
		err = FH_EUPSTREAM;
	} else
		memcpy(sid, s, 35);
	json_object_put(call);
	return err;
}

enum fh_err
fh_call_update(struct fh_ctx *ctx, const char *sid, const char *form,
    size_t len, struct fh_rest_resp *resp)
{
	struct fh_rest_req rq;
	char		   path[160];
	int		   w;

	memset(&rq, 0, sizeof(rq));
	w = snprintf(path, sizeof(path),
	    "/2010-04-01/Accounts/%s/Calls/%s.json", ctx->cfg->account_sid,
	    sid);
	if (w < 0 || (size_t)w >= sizeof(path))
		return FH_EINTERNAL;
	rq.base = FH_REST_API;
	rq.method = "POST";
	rq.path = path;
	rq.body = form;
	rq.body_len = len;
	rq.idempotent = 0;
	return fh_rest_do(ctx->rest, &rq, resp);
}

enum fh_err
fh_queue_fetch(struct fh_ctx *ctx, const char *sid, char *name, size_t namelen,
    struct fh_rest_resp *resp)
{
	char	    path[160];
	int	    w;
	enum fh_err err;

	name[0] = '\0';
	w = snprintf(path, sizeof(path),
	    "/2010-04-01/Accounts/%s/Queues/%s.json", ctx->cfg->account_sid,
	    sid);
	if (w < 0 || (size_t)w >= sizeof(path))
		return FH_EINTERNAL;
	err = fh_twilio_get(ctx, FH_REST_API, path, NULL, resp);
	if (err != FH_OK)
		return err;
	err = fh_queue_parse_name(
	    fh_buf_cstr(&resp->body), resp->body.len, name, namelen);
	if (err != FH_OK)
		fh_log_error(&ctx->log, "cannot read queue '%s': %s", sid,
		    "invalid JSON");
	return err;
}

enum fh_err
fh_call_recordings(struct fh_ctx *ctx, const char *sid,
    struct json_object **recs, struct fh_rest_resp *resp)
{
	char	    path[192];
	int	    w;
	enum fh_err err;

	*recs = NULL;
	w = snprintf(path, sizeof(path),
	    "/2010-04-01/Accounts/%s/Calls/%s/Recordings.json",
	    ctx->cfg->account_sid, sid);
	if (w < 0 || (size_t)w >= sizeof(path))
		return FH_EINTERNAL;
	err = fh_twilio_get(ctx, FH_REST_API, path, NULL, resp);
	if (err != FH_OK)
		return err;
	err = fh_page_parse(
	    fh_buf_cstr(&resp->body), resp->body.len, "recordings", recs);
	if (err != FH_OK)
		fh_log_error(&ctx->log, "cannot read recordings of '%s': %s",
		    sid, "invalid JSON");
	return err;
}

/* DELETE an API resource ("Transcriptions" or "Recordings") by SID; a 404
 * counts as done (an earlier attempt or request deleted it). */
static enum fh_err
api_delete(struct fh_ctx *ctx, const char *kind, const char *sid,
    struct fh_rest_resp *resp)
{
	struct fh_rest_req rq;
	char		   path[160];
	int		   w;
	enum fh_err	   err;

	memset(&rq, 0, sizeof(rq));
	w = snprintf(path, sizeof(path), "/2010-04-01/Accounts/%s/%s/%s.json",
	    ctx->cfg->account_sid, kind, sid);
	if (w < 0 || (size_t)w >= sizeof(path))
		return FH_EINTERNAL;
	rq.base = FH_REST_API;
	rq.method = "DELETE";
	rq.path = path;
	rq.idempotent = 1;
	err = fh_rest_do(ctx->rest, &rq, resp);
	return err == FH_ENOTFOUND ? FH_OK : err;
}

enum fh_err
fh_transcription_delete(
    struct fh_ctx *ctx, const char *sid, struct fh_rest_resp *resp)
{
	return api_delete(ctx, "Transcriptions", sid, resp);
}

enum fh_err
fh_recording_delete(
    struct fh_ctx *ctx, const char *sid, struct fh_rest_resp *resp)
{
	return api_delete(ctx, "Recordings", sid, resp);
}

enum fh_err
fh_recording_get_req(const struct fh_config *cfg, const char *rec, size_t max,
    char *path, size_t pathlen, struct fh_rest_req *rq)
{
	int w;

	memset(rq, 0, sizeof(*rq));
	w = snprintf(path, pathlen, "/2010-04-01/Accounts/%s/Recordings/%s.mp3",
	    cfg->account_sid, rec);
	if (w < 0 || (size_t)w >= pathlen)
		return FH_EINTERNAL;
	rq->base = FH_REST_API;
	rq->method = "GET";
	rq->path = path;
	rq->idempotent = 1;
	rq->max_response = max;
	rq->follow_redirects = 1; /* without our credentials */
	return FH_OK;
}

enum fh_err
fh_reservation_reject(struct fh_ctx *ctx, const char *task_sid,
    const char *reservation_sid, struct fh_rest_resp *resp)
{
	struct fh_rest_req rq;
	struct fh_buf	   form;
	char		   path[160];
	int		   w;
	enum fh_err	   err;

	memset(&rq, 0, sizeof(rq));
	fh_buf_init(&form, 256);
	if (fh_ctx_workspace(ctx) == NULL) {
		err = FH_ECONFIG; /* no workspace configured */
		goto out;
	}
	w = snprintf(path, sizeof(path),
	    "/v1/Workspaces/%s/Tasks/%s/"
	    "Reservations/%s",
	    fh_ctx_workspace(ctx), task_sid, reservation_sid);
	if (w < 0 || (size_t)w >= sizeof(path)) {
		err = FH_EINTERNAL;
		goto out;
	}
	if ((err = fh_form_add(&form, "ReservationStatus", "rejected")) !=
	    FH_OK)
		goto out;
	rq.base = FH_REST_TASKROUTER;
	rq.method = "POST";
	rq.path = path;
	rq.body = fh_buf_cstr(&form);
	rq.body_len = form.len;
	rq.idempotent = 1; /* a final status: a repeat changes nothing */
	err = fh_rest_do(ctx->rest, &rq, resp);
out:
	fh_buf_release(&form);
	return err;
}

int
fh_task_find(struct fh_ctx *ctx, const char *expr, int oldest_first,
    fh_task_match match, const void *arg, char *sid)
{
	struct fh_rest_resp rr;
	struct fh_buf	    q;
	struct json_object *tasks = NULL, *attrs = NULL, *t;
	const char	   *s;
	size_t		    i;
	int		    res = -1;
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	sid[0] = '\0';
	fh_buf_init(&q, 1024);
	if ((err = fh_form_add(&q, "EvaluateTaskAttributes", expr)) != FH_OK ||
	    (err = fh_form_add(&q, "Ordering",
		 oldest_first ? "DateCreated:asc" : "DateCreated:desc")) !=
		FH_OK ||
	    (err = fh_form_add(&q, "PageSize", "20")) != FH_OK ||
	    (err = fh_task_list(ctx, fh_buf_cstr(&q), &tasks, &rr)) != FH_OK) {
		fh_log_warn(&ctx->log,
		    "cannot list the tasks where %s: %s (status %ld code %d)",
		    expr, fh_err_name(err), rr.status, rr.twerr.code);
		goto out;
	}
	res = 0;
	for (i = 0; i < json_object_array_length(tasks); i++) {
		t = json_object_array_get_idx(tasks, i);
		json_object_put(attrs);
		attrs = NULL;
		if (fh_attr_parse_task(t, &attrs) != FH_OK) {
			attrs = NULL; /* it cannot be the one looked for */
			continue;
		}
		s = fh_json_str(t, "sid");
		if (s == NULL || !fh_is_sid(s, strlen(s), "WT") ||
		    !match(t, attrs, arg))
			continue;
		memcpy(sid, s, 35);
		res = 1;
		break;
	}
out:
	json_object_put(attrs);
	json_object_put(tasks);
	fh_rest_resp_release(&rr);
	fh_buf_release(&q);
	return res;
}

struct created {
	long long   since;
	const char *exclude;
};

static int
created_since(struct json_object *t, struct json_object *attrs, const void *arg)
{
	const struct created *c = arg;
	struct fh_val	      created;
	const char	     *s = fh_json_str(t, "date_created");

	(void)attrs;
	memset(&created, 0, sizeof(created));
	return s != NULL &&
	    fh_valid_datetime(s, strlen(s), &created) == FH_OK &&
	    created.num >= c->since &&
	    (c->exclude == NULL ||
		strcmp(fh_json_str(t, "sid"), c->exclude) != 0);
}

int
fh_task_find_created(struct fh_ctx *ctx, const char *conv, long long since,
    const char *exclude, char *sid)
{
	struct created c = {since, exclude};
	struct fh_buf  expr;
	int	       res = -1;

	sid[0] = '\0';
	fh_buf_init(&expr, 512);
	if (conv != NULL && conv[0] != '\0' && strlen(conv) <= 256 &&
	    strpbrk(conv, "\"\\") == NULL &&
	    fh_buf_printf(&expr, "conversations.conversation_id == \"%s\"",
		conv) == FH_OK)
		res = fh_task_find(
		    ctx, fh_buf_cstr(&expr), 0, created_since, &c, sid);
	fh_buf_release(&expr);
	return res;
}

void
fh_reservation_reject_logged(
    struct fh_ctx *ctx, const char *task_sid, const char *reservation_sid)
{
	struct fh_rest_resp rr;
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	err = fh_reservation_reject(ctx, task_sid, reservation_sid, &rr);
	if (err == FH_OK)
		fh_log_info(
		    &ctx->log, "reservation '%s' rejected", reservation_sid);
	else if (err == FH_ETWILIO || err == FH_ENOTFOUND)
		fh_log_info(&ctx->log,
		    "cannot reject reservation '%s': "
		    "status %ld code %d (no longer pending)",
		    reservation_sid, rr.status, rr.twerr.code);
	else
		fh_log_error(&ctx->log,
		    "cannot reject reservation '%s': %s "
		    "(status %ld code %d)",
		    reservation_sid, fh_err_name(err), rr.status,
		    rr.twerr.code);
	fh_rest_resp_release(&rr);
}
