/* SPDX-License-Identifier: Apache-2.0 */
/*
 * followup.c - the workflow and the attributes of a follow-up task.
 */
#include <stdio.h>
#include <string.h>

#include "flex/followup.h"
#include "flex/redirect_rules.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/rest.h"
#include "flex/tasks.h"
#include "lib/valid.h"

struct entry {
	char	wf[40];	   /* "" = free */
	char	queue[40]; /* the placeholder, when yes */
	int	yes;
	int64_t at; /* fh_now_ms() when read */
};

static struct entry cache[FH_FOLLOWUP_CACHE];

void
fh_followup_cache_reset(void)
{
	memset(cache, 0, sizeof(cache));
}

/* Depth-first over conf: the first "queue" string that is a placeholder. */
static int
walk(const struct fh_config *cfg, struct json_object *o, int depth, char *queue)
{
	struct json_object_iterator it, end;
	struct json_object	   *v;
	const char		   *s;
	char			    number[24];
	size_t			    i;

	if (o == NULL || depth > FH_JSON_MAX_DEPTH)
		return 0;
	if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++)
			if (walk(cfg, json_object_array_get_idx(o, i),
				depth + 1, queue))
				return 1;
		return 0;
	}
	if (!json_object_is_type(o, json_type_object))
		return 0;
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		v = json_object_iter_peek_value(&it);
		if (strcmp(json_object_iter_peek_name(&it), "queue") == 0 &&
		    json_object_is_type(v, json_type_string)) {
			s = json_object_get_string(v);
			if (fh_is_sid(s, strlen(s), "WQ") &&
			    fh_redirect_lookup(
				cfg, s, number, sizeof(number)) == FH_OK) {
				memcpy(queue, s, 35);
				return 1;
			}
			continue;
		}
		if (walk(cfg, v, depth + 1, queue))
			return 1;
	}
	return 0;
}

int
fh_followup_conf_placeholder(
    const struct fh_config *cfg, struct json_object *conf, char *queue)
{
	queue[0] = '\0';
	return walk(cfg, conf, 0, queue);
}

enum fh_err
fh_followup_workflow_placeholder(const struct fh_config *cfg,
    struct json_object *workflow, int *yes, char *queue)
{
	struct json_object *conf = NULL, *c;
	enum fh_err	    err;

	*yes = 0;
	queue[0] = '\0';
	if (!json_object_is_type(workflow, json_type_object) ||
	    !json_object_object_get_ex(workflow, "configuration", &c) ||
	    !json_object_is_type(c, json_type_string))
		return FH_EUPSTREAM;
	err = fh_json_parse(json_object_get_string(c),
	    (size_t)json_object_get_string_len(c), &conf);
	if (err != FH_OK || !json_object_is_type(conf, json_type_object)) {
		json_object_put(conf);
		return FH_EUPSTREAM;
	}
	*yes = fh_followup_conf_placeholder(cfg, conf, queue);
	json_object_put(conf);
	return FH_OK;
}

/* The cached entry for wf that is still fresh, or NULL. */
static struct entry *
cached(const char *wf, int64_t now)
{
	size_t i;

	for (i = 0; i < FH_FOLLOWUP_CACHE; i++)
		if (cache[i].wf[0] != '\0' && strcmp(cache[i].wf, wf) == 0 &&
		    now - cache[i].at < FH_FOLLOWUP_CACHE_MS)
			return &cache[i];
	return NULL;
}

/* Remember an answer in a free, stale or the oldest slot. */
static void
remember(const char *wf, int yes, const char *queue, int64_t now)
{
	struct entry *e = &cache[0];
	size_t	      i;

	for (i = 0; i < FH_FOLLOWUP_CACHE; i++) {
		if (cache[i].wf[0] == '\0' || strcmp(cache[i].wf, wf) == 0) {
			e = &cache[i];
			break;
		}
		if (cache[i].at < e->at)
			e = &cache[i];
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->wf, wf, 35);
	memcpy(e->queue, queue, strlen(queue) + 1);
	e->yes = yes;
	e->at = now;
}

enum fh_err
fh_followup_routes_to_placeholder(
    struct fh_ctx *ctx, const char *wf, int *yes, char *queue)
{
	struct fh_rest_resp rr;
	struct json_object *w = NULL;
	struct entry	   *e;
	char		    path[160];
	int64_t		    now = fh_now_ms();
	enum fh_err	    err;

	*yes = 0;
	queue[0] = '\0';
	if (!fh_is_sid(wf, strlen(wf), "WW"))
		return FH_EINPUT;
	if ((e = cached(wf, now)) != NULL) {
		*yes = e->yes;
		memcpy(queue, e->queue, strlen(e->queue) + 1);
		return FH_OK;
	}
	if (ctx->rest == NULL)
		return FH_ECONFIG;
	memset(&rr, 0, sizeof(rr));
	if (snprintf(path, sizeof(path), "/v1/Workspaces/%s/Workflows/%s",
		ctx->cfg->workspace_sid, wf) >= (int)sizeof(path))
		return FH_ECONFIG;
	err = fh_twilio_get(ctx, FH_REST_TASKROUTER, path, NULL, &rr);
	if (err == FH_OK) {
		err = fh_task_parse(fh_buf_cstr(&rr.body), rr.body.len, &w);
		if (err == FH_OK)
			err = fh_followup_workflow_placeholder(
			    ctx->cfg, w, yes, queue);
	}
	if (err == FH_ENOTFOUND) {
		/* not in this workspace: it routes nowhere, and the task
		 * create answers for it; not cached (it may be made) */
		fh_log_info(&ctx->log, "no workflow '%s' in the workspace", wf);
		err = FH_OK;
	} else if (err != FH_OK)
		fh_log_warn(&ctx->log,
		    "cannot read workflow '%s': %s "
		    "(status %ld code %d)",
		    wf, fh_err_name(err), rr.status, rr.twerr.code);
	else
		remember(wf, *yes, queue, now);
	json_object_put(w);
	fh_rest_resp_release(&rr);
	return err;
}

void
fh_followup_prepare(struct fh_ctx *ctx, struct fh_task_in *in)
{
	const struct fh_config *cfg = ctx->cfg;
	const char	       *wf, *cb = cfg->callback_workflow_sid;
	char			queue[40];
	int			yes = 0;
	enum fh_err		err;

	in->style = (enum fh_attr_style)cfg->attribute_style;
	in->main_timezone = cfg->main_timezone;
	in->default_workflow = cb;
	in->drop_paths[0] = cfg->outbound_to_attribute;
	in->drop_paths[1] = cfg->outbound_from_attribute;

	wf = in->workflow_sid != NULL ? in->workflow_sid
				      : fh_json_str(in->orig, "workflow_sid");
	if (wf == NULL || cb == NULL || strcmp(wf, cb) == 0) {
		in->workflow_sid = wf != NULL ? wf : cb;
		return;
	}
	if (cfg->followup_workflow == 1) {
		in->workflow_sid = cb; /* FLEXHOOKS_FOLLOWUP_WORKFLOW */
		return;
	}
	in->workflow_sid = wf;
	if (fh_redirect_nrules(cfg) == 0)
		return; /* no placeholder anywhere */
	err = fh_followup_routes_to_placeholder(ctx, wf, &yes, queue);
	if (err != FH_OK) {
		fh_log_warn(&ctx->log,
		    "follow-up goes to the callback "
		    "workflow '%s': cannot tell whether '%s' routes to a "
		    "placeholder queue",
		    cb, wf);
		in->workflow_sid = cb;
	} else if (yes) {
		fh_log_info(&ctx->log,
		    "follow-up goes to the callback "
		    "workflow '%s': workflow '%s' routes to placeholder queue "
		    "'%s'",
		    cb, wf, queue);
		in->workflow_sid = cb;
	}
}
