/*
 * tasks.c - TaskRouter task requests.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "tasks.h"
#include "valid.h"

enum fh_err
fh_task_create(struct fh_ctx *ctx, const char *form, size_t form_len,
    char *sid, size_t sidlen, struct fh_rest_resp *resp)
{
	struct fh_rest_req	 rq;
	struct json_object	*task = NULL;
	const char		*s;
	char			 path[128];
	enum fh_err		 err;

	memset(&rq, 0, sizeof(rq));
	if (snprintf(path, sizeof(path), "/v1/Workspaces/%s/Tasks",
	    ctx->cfg->workspace_sid) >= (int)sizeof(path))
		return FH_ECONFIG;
	rq.base = FH_REST_TASKROUTER;
	rq.method = "POST";
	rq.path = path;
	rq.body = form;
	rq.body_len = form_len;
	rq.idempotent = 0;
	err = fh_rest_do(ctx->rest, &rq, resp);
	if (err == FH_ENOTFOUND)
		err = FH_EUPSTREAM;	/* our workspace, not the client's SID */
	if (err != FH_OK)
		return err;
	err = fh_json_parse(fh_buf_cstr(&resp->body), resp->body.len, &task);
	if (err != FH_OK) {
		fh_log_error(&ctx->log, "cannot read task create answer: %s",
		    "invalid JSON");
		return FH_EUPSTREAM;
	}
	s = fh_json_str(task, "sid");
	if (s == NULL || !fh_is_sid(s, strlen(s), "WT") || sidlen < 35) {
		fh_log_error(&ctx->log, "cannot read task create answer: %s",
		    "no task sid");
		err = FH_EUPSTREAM;
	} else
		memcpy(sid, s, 35);
	json_object_put(task);
	return err;
}
