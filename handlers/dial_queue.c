/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dial_queue.c - the /dial-queue handler.
 */
#include <string.h>

#include "flex/redirect_rules.h"
#include "handlers/dial_queue.h"
#include "lib/form.h"
#include "lib/rest.h"
#include "flex/tasks.h"
#include "lib/twiml.h"
#include "lib/valid.h"

enum dq_field {
	DQ_QUEUE,
	DQ_FROM,
	DQ_TASK,
	DQ_CALL_SID,
	DQ_ANSWERED_BY,
	DQ_MD_DURATION,
	DQ_WORKSPACE,
	DQ__MAX
};

/* Lenient on purpose: each field is judged on its own below, and a bad
 * one never turns into a 400 (Twilio only executes TwiML). */
static const struct fh_field dq_fields[DQ__MAX] = {
    [DQ_QUEUE] = {"queue", NULL, fh_valid_text256, 0},
    [DQ_FROM] = {"from", NULL, fh_valid_text256, 0},
    [DQ_TASK] = {"task", NULL, fh_valid_text256, 0},
    [DQ_CALL_SID] = {"CallSid", NULL, fh_valid_text256, 0},
    [DQ_ANSWERED_BY] = {"AnsweredBy", NULL, fh_valid_text256, 0},
    [DQ_MD_DURATION] = {"MachineDetectionDuration", NULL, fh_valid_text256, 0},
    [DQ_WORKSPACE] = {"workspace", NULL, fh_valid_text256, 0},
};

static const char *const decision_names[FH_DQ__MAX] = {
    [FH_DQ_BRIDGE] = "bridge",
    [FH_DQ_HANGUP] = "hangup",
    [FH_DQ_ERROR] = "error",
};

static const char *const machines[] = {
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
};

int
fh_dial_queue_is_machine(const char *answered_by)
{
	size_t i;

	if (answered_by == NULL)
		return 0;
	for (i = 0; i < FH_NITEMS(machines); i++)
		if (strcmp(answered_by, machines[i]) == 0)
			return 1;
	return 0;
}

enum fh_dq_decision
fh_dial_queue_decide(int hangup_on_machine, const char *answered_by)
{
	if (hangup_on_machine && fh_dial_queue_is_machine(answered_by))
		return FH_DQ_HANGUP;
	return FH_DQ_BRIDGE;
}

/* Each field alone: a value that fails its own check reads as absent. */
static const char *
field(const struct fh_form *params, enum dq_field f, struct fh_val *v)
{
	size_t bad = 0;
	int    missing = 0;

	memset(v, 0, sizeof(*v));
	if (fh_form_validate(params, &dq_fields[f], 1, v, &bad, &missing) !=
	    FH_OK)
		return NULL;
	return v->str;
}

enum fh_err
fh_handle_dial_queue(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	struct fh_val	    val[DQ__MAX];
	struct fh_twiml	    tw;
	const char	   *queue, *from, *task, *call, *by, *md, *ws;
	enum fh_dq_decision d;
	char		    masked[24];

	queue = field(&req->params, DQ_QUEUE, &val[DQ_QUEUE]);
	from = field(&req->params, DQ_FROM, &val[DQ_FROM]);
	task = field(&req->params, DQ_TASK, &val[DQ_TASK]);
	call = field(&req->params, DQ_CALL_SID, &val[DQ_CALL_SID]);
	by = field(&req->params, DQ_ANSWERED_BY, &val[DQ_ANSWERED_BY]);
	md = field(&req->params, DQ_MD_DURATION, &val[DQ_MD_DURATION]);
	ws = field(&req->params, DQ_WORKSPACE, &val[DQ_WORKSPACE]);
	if (call != NULL && !fh_is_sid(call, strlen(call), "CA"))
		call = NULL;
	if (task != NULL && !fh_is_sid(task, strlen(task), "WT")) {
		fh_log_warn(&ctx->log, "invalid task ignored");
		task = NULL;
	}
	fh_log_set_call(&ctx->log, call);
	fh_log_set_task(&ctx->log, task);
	masked[0] = '\0';
	if (from != NULL) {
		struct fh_val e;

		if (fh_valid_e164(from, strlen(from), &e) == FH_OK &&
		    e.len == strlen(from))
			fh_log_mask_phone(from, masked, sizeof(masked));
		else
			fh_log_info(&ctx->log, "invalid from ignored");
	}

	fh_twiml_init(&tw, resp);
	if (queue == NULL || !fh_is_sid(queue, strlen(queue), "WR")) {
		d = FH_DQ_ERROR;
		fh_log_error(&ctx->log, "cannot bridge call '%s': %s",
		    call != NULL ? call : "-",
		    queue == NULL ? "missing queue" : "malformed queue");
		queue = NULL;
		fh_redirect_goodbye(&tw, ctx->cfg);
	} else {
		d = fh_dial_queue_decide(ctx->cfg->amd_hangup_on_machine, by);
		if (d == FH_DQ_HANGUP) {
			if (ws != NULL && !fh_config_workspace_ok(ctx->cfg, ws))
				fh_log_warn(&ctx->log,
				    "workspace '%s' is not "
				    "served here: reservation left alone",
				    fh_word_or_dash(ws));
			else if (task != NULL && ctx->rest != NULL) {
				ctx->workspace = ws; /* NULL: the default */
				fh_reservation_reject_logged(ctx, task, queue);
				ctx->workspace = NULL;
			}
			fh_twiml_open(&tw, FH_TW_HANGUP);
			fh_twiml_close(&tw);
		} else {
			fh_twiml_open(&tw, FH_TW_DIAL);
			fh_twiml_open(&tw, FH_TW_QUEUE);
			fh_twiml_attr(&tw, FH_TA_RESERVATION_SID, queue);
			fh_twiml_close(&tw);
			fh_twiml_close(&tw);
		}
	}
	fh_log_info(&ctx->log,
	    "dial-queue call '%s' queue '%s' task '%s' "
	    "from '%s' AnsweredBy '%s' MachineDetectionDuration '%s' "
	    "decision %s",
	    call != NULL ? call : "-", queue != NULL ? queue : "-",
	    task != NULL ? task : "-", masked[0] != '\0' ? masked : "-",
	    fh_word_or_dash(by), fh_word_or_dash(md), decision_names[d]);
	return fh_redirect_finish(&tw, resp);
}
