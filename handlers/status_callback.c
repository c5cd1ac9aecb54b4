/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status_callback.c - the /status-callback handler.
 */
#include <string.h>

#include <json-c/json.h>

#include "lib/form.h"
#include "lib/json.h"
#include "lib/rest.h"
#include "handlers/status_callback.h"
#include "flex/tasks.h"
#include "lib/valid.h"

enum sc_field {
	SC_CALL_SID,
	SC_CALL_STATUS,
	SC_SEQUENCE,
	SC_ANSWERED_BY,
	SC_DURATION,
	SC_SIP_CODE,
	SC_TIMESTAMP,
	SC_RESERVATION,
	SC_TASK,
	SC_WORKSPACE,
	SC__MAX
};

static enum fh_err
valid_count(const char *s, size_t len, struct fh_val *out)
{
	long long n;

	if (strlen(s) != len ||
	    fh_parse_int(s, len, 0, 1000000000, &n) != FH_OK)
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	out->num = n;
	return FH_OK;
}

/* Twilio's status words: lower-case letters and '-'. */
static enum fh_err
valid_status(const char *s, size_t len, struct fh_val *out)
{
	if (len == 0 || len > 32 || strlen(s) != len ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz-_") != len)
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	return FH_OK;
}

static const struct fh_field sc_fields[SC__MAX] = {
    [SC_CALL_SID] = {"CallSid", NULL, fh_valid_sid_ca, 0},
    [SC_CALL_STATUS] = {"CallStatus", NULL, valid_status, 0},
    [SC_SEQUENCE] = {"SequenceNumber", NULL, valid_count, 0},
    [SC_ANSWERED_BY] = {"AnsweredBy", NULL, valid_status, 0},
    [SC_DURATION] = {"CallDuration", NULL, valid_count, 0},
    [SC_SIP_CODE] = {"SipResponseCode", NULL, valid_count, 0},
    [SC_TIMESTAMP] = {"Timestamp", NULL, fh_valid_text256, 0},
    [SC_RESERVATION] = {"reservation", NULL, fh_valid_sid_wr, 0},
    [SC_TASK] = {"task", NULL, fh_valid_sid_wt, 0},
    [SC_WORKSPACE] = {"workspace", NULL, fh_valid_sid_ws, 0},
};

/* Fields logged as integers. */
#define SC_NUMERIC(f) \
	((f) == SC_SEQUENCE || (f) == SC_DURATION || (f) == SC_SIP_CODE)

/* The last sequence numbers seen, a ring of FH_STATUS_TRACKED calls. */
static struct {
	char	  sid[35];
	long long seq;
} seen[FH_STATUS_TRACKED];
static size_t seen_next;

void
fh_status_reset(void)
{
	memset(seen, 0, sizeof(seen));
	seen_next = 0;
}

int
fh_status_seen(const char *call_sid, long long seq)
{
	size_t i;

	if (call_sid == NULL || strlen(call_sid) != 34)
		return 0;
	for (i = 0; i < FH_STATUS_TRACKED; i++) {
		if (memcmp(seen[i].sid, call_sid, 34) != 0)
			continue;
		if (seq <= seen[i].seq)
			return 1;
		seen[i].seq = seq;
		return 0;
	}
	memcpy(seen[seen_next].sid, call_sid, 35);
	seen[seen_next].seq = seq;
	seen_next = (seen_next + 1) % FH_STATUS_TRACKED;
	return 0;
}

/* Each field alone: a value that fails its check reads as absent. */
static const char *
field(const struct fh_form *params, enum sc_field f, struct fh_val *v)
{
	size_t bad = 0;
	int    missing = 0;

	memset(v, 0, sizeof(*v));
	if (fh_form_validate(params, &sc_fields[f], 1, v, &bad, &missing) !=
	    FH_OK)
		return NULL;
	return v->str;
}

enum fh_err
fh_status_fields(const struct fh_form *params, struct json_object **out)
{
	struct json_object *o;
	struct fh_val	    v;
	size_t		    i;
	enum fh_err	    err = FH_OK;

	*out = NULL;
	o = json_object_new_object();
	if (o == NULL)
		return FH_ENOMEM;
	for (i = 0; i < SC__MAX && err == FH_OK; i++) {
		if (field(params, (enum sc_field)i, &v) == NULL)
			continue;
		if (SC_NUMERIC(i))
			err = fh_json_add(
			    o, sc_fields[i].name, json_object_new_int64(v.num));
		else
			err = fh_json_add_str(o, sc_fields[i].name, v.str);
	}
	if (err != FH_OK) {
		json_object_put(o);
		return err;
	}
	*out = o;
	return FH_OK;
}

enum fh_err
fh_handle_status_callback(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	struct json_object *line = NULL;
	struct fh_val	    v[SC__MAX];
	const char	   *call, *status, *res, *task, *ws;
	int		    stale = 0;
	enum fh_err	    err;

	call = field(&req->params, SC_CALL_SID, &v[SC_CALL_SID]);
	status = field(&req->params, SC_CALL_STATUS, &v[SC_CALL_STATUS]);
	res = field(&req->params, SC_RESERVATION, &v[SC_RESERVATION]);
	task = field(&req->params, SC_TASK, &v[SC_TASK]);
	fh_log_set_call(&ctx->log, call);
	fh_log_set_task(&ctx->log, task);

	err = fh_status_fields(&req->params, &line);
	if (err == FH_OK && call != NULL &&
	    field(&req->params, SC_SEQUENCE, &v[SC_SEQUENCE]) != NULL) {
		stale = fh_status_seen(call, v[SC_SEQUENCE].num);
		if (stale)
			err = fh_json_add(
			    line, "stale", json_object_new_boolean(1));
	}
	if (err == FH_OK)
		fh_log_info(
		    &ctx->log, "status callback %s", fh_json_text(line));
	else
		fh_log_error(&ctx->log, "cannot log status callback: %s",
		    fh_err_name(err));

	/* final statuses only: nothing supersedes them, so order is moot */
	if (ctx->cfg->outbound_reject_on_failure && status != NULL &&
	    (strcmp(status, "busy") == 0 || strcmp(status, "no-answer") == 0 ||
		strcmp(status, "failed") == 0)) {
		ws = field(&req->params, SC_WORKSPACE, &v[SC_WORKSPACE]);
		if (ws != NULL && !fh_config_workspace_ok(ctx->cfg, ws))
			fh_log_warn(&ctx->log,
			    "call ended %s: workspace '%s' "
			    "is not served here, reservation left alone",
			    status, ws);
		else if (res != NULL && task != NULL && ctx->rest != NULL) {
			ctx->workspace = ws; /* NULL: the default one */
			fh_reservation_reject_logged(ctx, task, res);
			ctx->workspace = NULL;
		} else
			fh_log_info(&ctx->log,
			    "call ended %s: no reservation "
			    "to reject",
			    status);
	}
	json_object_put(line);
	fh_resp_empty(resp, 200);
	return FH_OK;
}
