/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmtask.c - one voicemail task per recording (vmtask.h).
 */
#include <string.h>

#include <json-c/json.h>

#include "flex/attr.h"
#include "flex/tasks.h"
#include "flex/vmtask.h"
#include "lib/answer.h"
#include "lib/form.h"
#include "lib/json.h"
#include "lib/valid.h"

/* Set key k of cb (under its name in style st) to val when val is given
 * and cb lacks it under both names (or has ""). */
static enum fh_err
fill(struct json_object *cb, enum fh_attr_style st, enum fh_cb_key k,
    const char *val, int *changed)
{
	const char *have;

	if (val == NULL)
		return FH_OK;
	have = fh_attr_cb_get(cb, k);
	if (have != NULL && have[0] != '\0')
		return FH_OK;
	*changed = 1;
	return fh_json_add(
	    cb, fh_attr_cb_name(st, k), json_object_new_string(val));
}

/* The SID of the newest voicemail task for in->recording_sid, found with
 * one EvaluateTaskAttributes list that matches either attribute shape
 * (attr.h); "" when none or when the lookup failed (a duplicate is better
 * than a lost voicemail). */
static int
is_voicemail_of(
    struct json_object *t, struct json_object *attrs, const void *arg)
{
	const char *rec = arg, *ts, *rs;

	(void)t;
	ts = fh_json_str(attrs, "taskType");
	rs = fh_attr_cb_get(fh_attr_cb_data(attrs), FH_CB_REC_SID);
	return ts != NULL && rs != NULL && strcmp(ts, "voicemail") == 0 &&
	    strcmp(rs, rec) == 0;
}

static void
find_voicemail(struct fh_ctx *ctx, const struct fh_task_in *in, char *sid)
{
	struct fh_buf expr;

	sid[0] = '\0';
	fh_buf_init(&expr, 256);
	if (fh_buf_printf(&expr,
		"callBackData.%s == \"%s\" OR "
		"callBackData.%s == \"%s\"",
		fh_attr_cb_name(FH_ATTR_STYLE_TEMPLATE, FH_CB_REC_SID),
		in->recording_sid,
		fh_attr_cb_name(FH_ATTR_STYLE_PLUGIN_LIBRARY, FH_CB_REC_SID),
		in->recording_sid) != FH_OK ||
	    fh_task_find(ctx, fh_buf_cstr(&expr), 0, is_voicemail_of,
		in->recording_sid, sid) < 0)
		fh_log_warn(&ctx->log,
		    "cannot look up voicemail task for '%s'; creating one",
		    in->recording_sid);
	fh_buf_release(&expr);
}

/*
 * Merge what this request adds (recording URL, transcript) into the
 * existing voicemail task sid
 * (docs/design/callbacks-and-voicemail.md#one-task-per-recording), with
 * If-Match and at most 3 rounds on 412.  *gone is set when the task
 * vanished meanwhile (the caller creates a new one).  On failure resp
 * holds the answer.
 */
static enum fh_err
merge_voicemail(struct fh_ctx *ctx, const struct fh_task_in *in,
    const char *sid, int *gone, struct fh_resp *resp)
{
	struct fh_rest_resp rr;
	struct json_object *task = NULL, *attrs = NULL, *cb;
	enum fh_attr_style  st;
	char		    etag[128];
	int		    round, changed, deleted;
	enum fh_err	    err = FH_OK;

	memset(&rr, 0, sizeof(rr));
	*gone = 0;
	for (round = 0; round < 3; round++) {
		json_object_put(task);
		json_object_put(attrs);
		task = attrs = NULL;
		err = fh_task_fetch(ctx, sid, &task, etag, sizeof(etag), &rr);
		if (err == FH_ETASK404) {
			*gone = 1;
			err = FH_OK;
		}
		if (err != FH_OK || *gone)
			break;
		fh_rest_resp_release(&rr);
		err = fh_attr_parse_task(task, &attrs);
		if (err != FH_OK || (cb = fh_attr_cb_data(attrs)) == NULL) {
			fh_log_error(&ctx->log,
			    "cannot read voicemail task "
			    "'%s': %s",
			    sid, "bad attributes");
			err = FH_EUPSTREAM;
			goto out;
		}
		deleted = fh_json_true(json_object_object_get(cb, "isDeleted"));
		if (deleted) {
			/* the agent deleted it: drop the late transcript */
			if (in->transcript_sid != NULL) {
				if (fh_transcription_delete(
					ctx, in->transcript_sid, &rr) != FH_OK)
					fh_log_warn(&ctx->log,
					    "cannot delete "
					    "transcription '%s': status %ld",
					    in->transcript_sid, rr.status);
				fh_rest_resp_release(&rr);
			}
			goto out;
		}
		/* in the names of the task's own shape: its readers' */
		changed = 0;
		st = fh_attr_cb_style(cb, in->style);
		if ((err = fill(cb, st, FH_CB_REC_URL, in->recording_url,
			 &changed)) != FH_OK ||
		    (err = fill(cb, st, FH_CB_TR_SID, in->transcript_sid,
			 &changed)) != FH_OK ||
		    (err = fill(cb, st, FH_CB_TR_TEXT, in->transcript_text,
			 &changed)) != FH_OK)
			goto out;
		if (!changed)
			goto out;
		err = fh_task_update_attrs(ctx, sid, attrs, etag, &rr);
		if (err == FH_ETWILIO && rr.status == 412) {
			fh_rest_resp_release(&rr);
			continue; /* changed meanwhile: read it again */
		}
		if (err == FH_ETASK404) {
			*gone = 1;
			err = FH_OK;
		}
		break;
	}
	if (err != FH_OK) {
		fh_log_error(&ctx->log,
		    "cannot update voicemail task '%s': "
		    "status %ld code %d",
		    sid, rr.status, rr.twerr.code);
		fh_resp_rest_error(resp, err, &rr);
	}
	fh_rest_resp_release(&rr);
out:
	json_object_put(task);
	json_object_put(attrs);
	return err;
}

enum fh_err
fh_voicemail_dedupe(struct fh_ctx *ctx, const struct fh_task_in *in, char *sid,
    int *found, struct fh_resp *resp)
{
	struct fh_resp scratch;
	int	       gone = 0;
	enum fh_err    err;

	*found = 0;
	if (in->recording_sid == NULL)
		return FH_OK;
	find_voicemail(ctx, in, sid);
	if (sid[0] == '\0')
		return FH_OK;
	fh_resp_init(&scratch);
	err = merge_voicemail(
	    ctx, in, sid, &gone, resp != NULL ? resp : &scratch);
	fh_resp_release(&scratch);
	if (err == FH_OK && !gone)
		*found = 1;
	return err;
}
