/* SPDX-License-Identifier: Apache-2.0 */
/*
 * callback.c - the create-callback handler.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "flex/attr.h"
#include "flex/requeue_claim.h"
#include "flex/vmtask.h"
#include "handlers/callback.h"
#include "lib/answer.h"
#include "lib/clock.h"
#include "lib/dedupe.h"
#include "flex/followup.h"
#include "lib/form.h"
#include "lib/json.h"
#include "flex/tasks.h"
#include "lib/valid.h"
#include "flex/vmail.h"

enum cb_field {
	CB_TO_CALL,
	CB_FROM,
	CB_FLOW_SID,
	CB_WORKFLOW,
	CB_TIMEOUT,
	CB_PRIORITY,
	CB_CHANNEL,
	CB_ATTEMPTS,
	CB_CONV_ID,
	CB_RECEIVED,
	CB_REC_SID,
	CB_REC_URL,
	CB_TR_SID,
	CB_TR_TEXT,
	CB_TR_STATUS,
	CB_REC_STATUS,
	CB_IS_DELETED,
	CB_MESSAGE,
	CB__MAX
};

static const struct fh_field cb_fields[CB__MAX] = {
    [CB_TO_CALL] = {"numberToCall", NULL, fh_valid_e164, FH_REQUIRED},
    [CB_FROM] = {"numberToCallFrom", NULL, fh_valid_from_number, FH_REQUIRED},
    [CB_FLOW_SID] = {"flexFlowSid", NULL, fh_valid_any_sid, 0},
    [CB_WORKFLOW] = {"workflowSid", NULL, fh_valid_sid_ww, 0},
    [CB_TIMEOUT] = {"timeout", NULL, fh_valid_timeout, 0},
    [CB_PRIORITY] = {"priority", NULL, fh_valid_priority, 0},
    [CB_CHANNEL] = {"taskChannel", NULL, fh_valid_channel, 0},
    [CB_ATTEMPTS] = {"attempts", NULL, fh_valid_attempts, 0},
    [CB_CONV_ID] = {"conversation_id", NULL, fh_valid_text256, 0},
    [CB_RECEIVED] = {"utcDateTimeReceived", NULL, fh_valid_datetime, 0},
    [CB_REC_SID] = {"recordingSid", "RecordingSid", fh_valid_sid_re, 0},
    [CB_REC_URL] = {"recordingUrl", "RecordingUrl", fh_valid_https_url, 0},
    [CB_TR_SID] = {"transcriptSid", "TranscriptionSid", fh_valid_sid_tr, 0},
    [CB_TR_TEXT] = {"transcriptText", "TranscriptionText", fh_valid_text8k, 0},
    [CB_TR_STATUS] = {"TranscriptionStatus", NULL, fh_valid_any, 0},
    [CB_REC_STATUS] = {"RecordingStatus", NULL, fh_valid_any, 0},
    [CB_IS_DELETED] = {"isDeleted", NULL, fh_valid_bool, 0},
    [CB_MESSAGE] = {"message", NULL, fh_valid_text8k, 0},
};

static const char *
opt(const struct fh_val *v)
{
	return v->str;
}

static enum fh_err
create_callback(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	struct fh_val	      val[CB__MAX];
	const struct fh_pair *p;
	struct fh_task_in     in;
	struct fh_rest_resp   rr;
	struct fh_buf	      form;
	char		      sid[40], masked[32];
	const char	     *kind;
	size_t		      bad = 0;
	int		      missing = 0, rr_used = 0, found = 0;
	int		      requeue, handled = 0;
	enum fh_err	      err;

	fh_buf_init(&form, 64 * 1024);
	memset(&rr, 0, sizeof(rr));
	/* Twilio's stand-in for a withheld number cannot be called back */
	p = fh_form_get(&req->params, cb_fields[CB_TO_CALL].name);
	if (p != NULL && fh_is_withheld_caller(p->value, p->vlen)) {
		fh_log_info(
		    &ctx->log, "rejected request: %s", "caller ID withheld");
		fh_answer_error(resp, FH_EINPUT, "caller ID withheld");
		return FH_EINPUT;
	}
	err = fh_form_validate(
	    &req->params, cb_fields, CB__MAX, val, &bad, &missing);
	if (err != FH_OK)
		return fh_answer_field_error(
		    &ctx->log, resp, cb_fields[bad].name, missing);

	memset(&in, 0, sizeof(in));
	in.number_to_call = opt(&val[CB_TO_CALL]);
	in.number_to_call_from = opt(&val[CB_FROM]);
	in.flex_flow_sid = opt(&val[CB_FLOW_SID]);
	in.workflow_sid = opt(&val[CB_WORKFLOW]);
	in.task_channel = opt(&val[CB_CHANNEL]);
	in.conversation_id = opt(&val[CB_CONV_ID]);
	in.utc_received = opt(&val[CB_RECEIVED]);
	in.has_timeout = val[CB_TIMEOUT].str != NULL;
	in.timeout = val[CB_TIMEOUT].num;
	in.has_priority = val[CB_PRIORITY].str != NULL;
	in.priority = val[CB_PRIORITY].num;
	in.has_attempts = val[CB_ATTEMPTS].str != NULL;
	in.attempts = val[CB_ATTEMPTS].num;
	in.has_is_deleted = val[CB_IS_DELETED].str != NULL;
	in.is_deleted = (int)val[CB_IS_DELETED].num;
	/* a recording Twilio calls absent or failed carries nothing */
	if (val[CB_REC_STATUS].str == NULL ||
	    strcmp(val[CB_REC_STATUS].str, "completed") == 0) {
		in.recording_sid = opt(&val[CB_REC_SID]);
		in.recording_url = opt(&val[CB_REC_URL]);
	}
	if (val[CB_TR_STATUS].str == NULL ||
	    strcmp(val[CB_TR_STATUS].str, "completed") == 0) {
		in.transcript_sid = opt(&val[CB_TR_SID]);
		in.transcript_text = opt(&val[CB_TR_TEXT]);
	}
	in.message = opt(&val[CB_MESSAGE]);
	/* shape, workflow (never a placeholder's), dropped attributes */
	fh_followup_prepare(ctx, &in);

	/* A requeue (the older template plugin's "Retry later": attempts
	 * from 1, conversation_id the task being retried) makes one new task
	 * whatever its recording: claimed on that task when it is a callback
	 * or voicemail task, so that a double click gets the same one. */
	kind = in.recording_sid != NULL ? "voicemail" : "callback";
	requeue = in.has_attempts && in.attempts >= 1;
	if (in.conversation_id != NULL &&
	    fh_is_sid(in.conversation_id, strlen(in.conversation_id), "WT")) {
		err = fh_attr_build(&in, &form);
		if (err != FH_OK) {
			fh_log_error(&ctx->log, "cannot build task: %s",
			    fh_strerror(err));
			goto out;
		}
		err = fh_requeue_create(ctx, in.conversation_id,
		    fh_buf_cstr(&form), form.len, kind, resp, &handled);
		if (handled)
			goto out;
		if (err != FH_OK)
			goto out;
	}

	/* one voicemail task per recording
	 * (docs/design/callbacks-and-voicemail.md#one-task-per-recording), for
	 * the Record widget's own repeated callbacks */
	if (in.recording_sid != NULL && !requeue) {
		err = fh_voicemail_dedupe(ctx, &in, sid, &found, resp);
		if (err != FH_OK)
			goto out;
		if (found) {
			fh_log_set_task(&ctx->log, sid);
			fh_log_info(&ctx->log,
			    "voicemail task '%s' "
			    "already exists for '%s'",
			    sid, in.recording_sid);
			err = fh_answer_task_sid(resp, sid);
			/* a transcript may have come: after the
			 * answer, email what is due */
			if (err == FH_OK)
				fh_vmail_schedule(ctx, sid);
			goto out;
		}
	}

	if (form.len == 0)
		err = fh_attr_build(&in, &form);
	if (err != FH_OK) {
		fh_log_error(
		    &ctx->log, "cannot build task: %s", fh_strerror(err));
		goto out;
	}
	rr_used = 1;
	err = fh_task_create(
	    ctx, fh_buf_cstr(&form), form.len, sid, sizeof(sid), &rr);
	fh_log_mask_phone(in.number_to_call, masked, sizeof(masked));
	if (err != FH_OK) {
		fh_log_error(&ctx->log,
		    "cannot create %s task for '%s': "
		    "status %ld code %d",
		    kind, masked, rr.status, rr.twerr.code);
		fh_resp_rest_error(resp, err, &rr);
		goto out;
	}
	fh_log_set_task(&ctx->log, sid);
	fh_log_info(
	    &ctx->log, "created %s task '%s' for '%s'", kind, sid, masked);

	err = fh_answer_task_sid(resp, sid);
	if (err == FH_OK && in.recording_sid != NULL)
		fh_vmail_schedule(ctx, sid); /* after the answer */
out:
	if (rr_used)
		fh_rest_resp_release(&rr);
	fh_buf_release(&form);
	return err;
}

/* The task SID of a 200 answer of create_callback() into sid (size
 * FH_DEDUPE_SID_MAX), or "" when resp is anything else. */
static void
answered_sid(const struct fh_resp *resp, char *sid)
{
	struct json_object *obj = NULL;
	const char	   *s;

	sid[0] = '\0';
	if (resp->status != 200 ||
	    fh_json_parse(resp->body.data, resp->body.len, &obj) != FH_OK)
		goto out;
	s = fh_json_str(obj, "taskSid");
	if (s != NULL && fh_is_sid(s, strlen(s), "WT"))
		memcpy(sid, s, FH_DEDUPE_SID_LEN + 1);
out:
	json_object_put(obj);
}

#define DEDUPE_POLL_US (20 * 1000)

/*
 * With a table of deliveries (create-callback's processes share one) and
 * Twilio's I-Twilio-Idempotency-Token, a delivery creates its task once:
 * a retry or a replay with the same token on the same route is answered
 * with the first answer's SID; one that arrives while another process is
 * still creating waits for it (within the request's deadline), then
 * answers its SID, or 409.  A create that fails leaves no entry, so that
 * Twilio's retry does the work.  Without the table or the header, every
 * request creates (docs/SECURITY.md).
 */
enum fh_err
fh_handle_create_callback(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	unsigned char	     key[FH_DEDUPE_KEY_LEN];
	char		     sid[FH_DEDUPE_SID_MAX];
	enum fh_dedupe_state st = FH_DEDUPE_NEW;
	int64_t		     until;
	enum fh_err	     err;

	if (ctx->dedupe == NULL || req->idem_token == NULL)
		return create_callback(ctx, req, resp);
	if (fh_dedupe_key(req->path, req->idem_token, key) != FH_OK) {
		fh_log_warn(&ctx->log, "cannot hash idempotency token: %s",
		    "creating without deduplication");
		return create_callback(ctx, req, resp);
	}
	until = fh_now_ms() +
	    (ctx->rest != NULL ? fh_rest_remaining(ctx->rest)
			       : ctx->deadline_ms);
	for (;;) {
		err = fh_dedupe_begin(
		    ctx->dedupe, key, fh_now_ms(), &st, sid, sizeof(sid));
		if (err != FH_OK) {
			fh_log_warn(&ctx->log,
			    "cannot read delivery table: "
			    "%s",
			    "creating without deduplication");
			return create_callback(ctx, req, resp);
		}
		if (st != FH_DEDUPE_BUSY || fh_now_ms() >= until)
			break;
		usleep(DEDUPE_POLL_US); /* another process is creating */
	}
	if (st == FH_DEDUPE_BUSY) {
		fh_log_warn(&ctx->log, "rejected request: %s",
		    "delivery "
		    "still in progress in another process");
		fh_answer_error(resp, FH_EBUSY, "request in progress");
		return FH_EBUSY;
	}
	if (st == FH_DEDUPE_DONE) {
		fh_log_set_task(&ctx->log, sid);
		fh_log_info(&ctx->log,
		    "delivery already answered with task "
		    "'%s': not creating again",
		    sid);
		err = fh_answer_task_sid(resp, sid);
		if (err != FH_OK)
			fh_resp_empty(resp, 500);
		return err;
	}
	err = create_callback(ctx, req, resp);
	answered_sid(resp, sid);
	if (err != FH_OK || sid[0] == '\0') {
		fh_dedupe_abort(ctx->dedupe, key);
		return err;
	}
	if (fh_dedupe_done(ctx->dedupe, key, sid, fh_now_ms()) != FH_OK) {
		fh_log_warn(
		    &ctx->log, "cannot record delivery of task '%s'", sid);
		fh_dedupe_abort(ctx->dedupe, key);
	}
	return err;
}
