/* SPDX-License-Identifier: Apache-2.0 */
/*
 * answer.c - the JSON answers shared by the routes (answer.h).
 */
#include <stdio.h>

#include <json-c/json.h>

#include "lib/answer.h"
#include "lib/json.h"

enum fh_err
fh_answer_error(struct fh_resp *resp, enum fh_err err, const char *message)
{
	if (fh_resp_error(resp, err, message, NULL) != FH_OK)
		fh_resp_empty(resp, 500);
	return err;
}

enum fh_err
fh_answer_field_error(
    struct fh_log *log, struct fh_resp *resp, const char *name, int missing)
{
	char msg[96];

	if (snprintf(msg, sizeof(msg), "%s %s", missing ? "missing" : "invalid",
		name) < 0)
		msg[0] = '\0';
	fh_log_info(log, "rejected request: %s", msg);
	return fh_answer_error(resp, FH_EINPUT, msg);
}

enum fh_err
fh_resp_rest_error(
    struct fh_resp *resp, enum fh_err err, const struct fh_rest_resp *rr)
{
	const struct fh_twerr *tw = NULL;

	if (rr != NULL && rr->status != 0)
		tw = &rr->twerr;
	if (fh_resp_error(resp, err, NULL, tw) != FH_OK)
		fh_resp_empty(resp, 500);
	return err;
}

enum fh_err
fh_answer_task_sid(struct fh_resp *resp, const char *sid)
{
	struct json_object *ok;
	enum fh_err	    err;

	ok = json_object_new_object();
	if (ok == NULL)
		return FH_ENOMEM;
	if ((err = fh_json_add_str(ok, "taskSid", sid)) == FH_OK &&
	    (err = fh_json_add(ok, "success", json_object_new_boolean(1))) ==
		FH_OK &&
	    (err = fh_resp_json(resp, 200, ok)) == FH_OK)
		err = fh_resp_header(resp, "Cache-Control", "no-store");
	json_object_put(ok);
	return err;
}
