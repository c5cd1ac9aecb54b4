/* SPDX-License-Identifier: Apache-2.0 */
/*
 * requeue.c - the flex/requeue-callback handler.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "flex/attr.h"
#include "flex/requeue_claim.h"
#include "lib/answer.h"
#include "flex/followup.h"
#include "lib/form.h"
#include "lib/json.h"
#include "handlers/requeue.h"
#include "flex/tasks.h"
#include "lib/valid.h"

enum rq_field { RQ_TASK_SID, RQ__MAX };

static const struct fh_field rq_fields[RQ__MAX] = {
    [RQ_TASK_SID] = {"taskSid", NULL, fh_valid_sid_wt, FH_REQUIRED},
};

enum fh_err
fh_handle_requeue_callback(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	struct fh_val	  val[RQ__MAX];
	struct fh_task_in in;
	struct fh_buf	  form;
	struct fh_requeue rq;
	const char	 *type;
	size_t		  bad = 0;
	int		  missing = 0;
	enum fh_err	  err;

	fh_buf_init(&form, 256 * 1024);
	memset(&rq, 0, sizeof(rq));
	err = fh_form_validate(
	    &req->params, rq_fields, RQ__MAX, val, &bad, &missing);
	if (err != FH_OK)
		return fh_answer_field_error(
		    &ctx->log, resp, rq_fields[bad].name, missing);
	rq.sid = val[RQ_TASK_SID].str;
	fh_log_set_task(&ctx->log, rq.sid);

	/* steps 1-4: one claim per task, or the answer of an earlier one */
	err = fh_requeue_claim(ctx, &rq, resp);
	if (err != FH_OK)
		goto out;
	if (rq.done[0] != '\0') {
		err = fh_answer_task_sid(resp, rq.done);
		goto out;
	}

	/* step 5: the same routing, attempts + 1, no VirtualStartTime */
	memset(&in, 0, sizeof(in));
	in.orig = rq.task;
	fh_followup_prepare(ctx, &in);
	err = fh_attr_build(&in, &form);
	if (err != FH_OK) {
		fh_log_error(&ctx->log, "cannot build task from '%s': %s",
		    rq.sid, fh_strerror(err));
		fh_requeue_release(ctx, &rq);
		fh_answer_error(resp, err, NULL);
		goto out;
	}
	/* steps 6 and 7, or the claim released */
	type = fh_json_str(rq.attrs, "taskType");
	err = fh_requeue_create_claimed(ctx, &rq, fh_buf_cstr(&form), form.len,
	    type != NULL ? type : "callback", resp);
out:
	fh_buf_release(&form);
	json_object_put(rq.task);
	json_object_put(rq.attrs);
	return err;
}
