/*
 * callback.c - the create-callback handler.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "attr.h"
#include "callback.h"
#include "json.h"
#include "tasks.h"
#include "valid.h"

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
	CB__MAX
};

static const struct fh_field cb_fields[CB__MAX] = {
	[CB_TO_CALL] =	{ "numberToCall", NULL, fh_valid_e164, FH_REQUIRED },
	[CB_FROM] =	{ "numberToCallFrom", NULL, fh_valid_from_number,
			    FH_REQUIRED },
	[CB_FLOW_SID] =	{ "flexFlowSid", NULL, fh_valid_any_sid, 0 },
	[CB_WORKFLOW] =	{ "workflowSid", NULL, fh_valid_sid_ww, 0 },
	[CB_TIMEOUT] =	{ "timeout", NULL, fh_valid_timeout, 0 },
	[CB_PRIORITY] =	{ "priority", NULL, fh_valid_priority, 0 },
	[CB_CHANNEL] =	{ "taskChannel", NULL, fh_valid_channel, 0 },
	[CB_ATTEMPTS] =	{ "attempts", NULL, fh_valid_attempts, 0 },
	[CB_CONV_ID] =	{ "conversation_id", NULL, fh_valid_text256, 0 },
	[CB_RECEIVED] =	{ "utcDateTimeReceived", NULL, fh_valid_datetime, 0 },
	[CB_REC_SID] =	{ "recordingSid", "RecordingSid", fh_valid_sid_re, 0 },
	[CB_REC_URL] =	{ "recordingUrl", "RecordingUrl", fh_valid_https_url,
			    0 },
	[CB_TR_SID] =	{ "transcriptSid", "TranscriptionSid", fh_valid_sid_tr,
			    0 },
	[CB_TR_TEXT] =	{ "transcriptText", "TranscriptionText",
			    fh_valid_text8k, 0 },
	[CB_TR_STATUS] = { "TranscriptionStatus", NULL, fh_valid_any, 0 },
	[CB_REC_STATUS] = { "RecordingStatus", NULL, fh_valid_any, 0 },
	[CB_IS_DELETED] = { "isDeleted", NULL, fh_valid_bool, 0 },
};

enum fh_err
fh_resp_rest_error(struct fh_resp *resp, enum fh_err err,
    const struct fh_rest_resp *rr)
{
	const struct fh_twerr	*tw = NULL;

	if (rr != NULL && rr->status != 0)
		tw = &rr->twerr;
	if (fh_resp_error(resp, err, NULL, tw) != FH_OK)
		fh_resp_empty(resp, 500);
	return err;
}

/* 400 naming the field: "missing numberToCall" / "invalid numberToCall". */
static enum fh_err
field_error(struct fh_ctx *ctx, struct fh_resp *resp, size_t bad,
    int missing)
{
	char	 msg[96];

	snprintf(msg, sizeof(msg), "%s %s", missing ? "missing" : "invalid",
	    cb_fields[bad].name);
	fh_log_info(&ctx->log, "rejected request: %s", msg);
	if (fh_resp_error(resp, FH_EINPUT, msg, NULL) != FH_OK)
		fh_resp_empty(resp, 500);
	return FH_EINPUT;
}

static const char *
opt(const struct fh_val *v)
{
	return v->str;
}

enum fh_err
fh_handle_create_callback(struct fh_ctx *ctx, const struct fh_req *req,
    struct fh_resp *resp)
{
	struct fh_val		 val[CB__MAX];
	struct fh_task_in	 in;
	struct fh_rest_resp	 rr;
	struct fh_buf		 form;
	struct json_object	*ok = NULL;
	char			 sid[40], masked[32];
	size_t			 bad = 0;
	int			 missing = 0, rr_used = 0;
	enum fh_err		 err;

	fh_buf_init(&form, 64 * 1024);
	memset(&rr, 0, sizeof(rr));
	err = fh_form_validate(&req->params, cb_fields, CB__MAX, val, &bad,
	    &missing);
	if (err != FH_OK)
		return field_error(ctx, resp, bad, missing);

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
	in.main_timezone = ctx->cfg->main_timezone;
	in.default_workflow = ctx->cfg->callback_workflow_sid;

	err = fh_attr_build(&in, &form);
	if (err != FH_OK) {
		fh_log_error(&ctx->log, "cannot build task: %s",
		    fh_strerror(err));
		goto out;
	}
	rr_used = 1;
	err = fh_task_create(ctx, fh_buf_cstr(&form), form.len, sid,
	    sizeof(sid), &rr);
	fh_log_mask_phone(in.number_to_call, masked, sizeof(masked));
	if (err != FH_OK) {
		fh_log_error(&ctx->log, "cannot create %s task for '%s': "
		    "status %ld code %d", in.recording_sid != NULL ?
		    "voicemail" : "callback", masked, rr.status,
		    rr.twerr.code);
		fh_resp_rest_error(resp, err, &rr);
		goto out;
	}
	fh_log_set_task(&ctx->log, sid);
	fh_log_info(&ctx->log, "created %s task '%s' for '%s'",
	    in.recording_sid != NULL ? "voicemail" : "callback", sid, masked);

	ok = json_object_new_object();
	if (ok == NULL) {
		err = FH_ENOMEM;
		goto out;
	}
	if ((err = fh_json_add_str(ok, "taskSid", sid)) != FH_OK ||
	    (err = fh_json_add(ok, "success",
	    json_object_new_boolean(1))) != FH_OK ||
	    (err = fh_resp_json(resp, 200, ok)) != FH_OK)
		goto out;
	err = fh_resp_header(resp, "Cache-Control", "no-store");
out:
	json_object_put(ok);
	if (rr_used)
		fh_rest_resp_release(&rr);
	fh_buf_release(&form);
	return err;
}
