/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redirect.c - the /twiml-redirect-call handler.
 */
#include <string.h>

#include "flex/redirect_rules.h"
#include "lib/form.h"
#include "handlers/redirect.h"
#include "lib/valid.h"

enum rd_field { RD_QUEUE, RD_CALL_SID, RD__MAX };

/* Lenient on purpose: a bad queue answers the goodbye TwiML, not 400. */
static const struct fh_field rd_fields[RD__MAX] = {
    [RD_QUEUE] = {"queue", NULL, fh_valid_text256, 0},
    [RD_CALL_SID] = {"CallSid", NULL, fh_valid_text256, 0},
};

enum fh_err
fh_handle_twiml_redirect_call(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	struct fh_val	val[RD__MAX];
	struct fh_twiml tw;
	const char     *queue = NULL, *call = NULL, *why;
	char		number[24], masked[24];
	size_t		bad = 0;
	int		missing = 0;
	enum fh_err	err;

	/* one bad field (not UTF-8, overlong) is a bad queue or no CallSid */
	memset(val, 0, sizeof(val));
	if (fh_form_validate(&req->params, rd_fields, RD__MAX, val, &bad,
		&missing) == FH_OK) {
		queue = val[RD_QUEUE].str;
		call = val[RD_CALL_SID].str;
	} else if (bad == RD_QUEUE)
		queue = "(invalid)";
	if (call != NULL && !fh_is_sid(call, strlen(call), "CA"))
		call = NULL;
	fh_log_set_call(&ctx->log, call);

	err = fh_redirect_lookup(ctx->cfg, queue, number, sizeof(number));
	fh_twiml_init(&tw, resp);
	if (err == FH_OK) {
		fh_log_mask_phone(number, masked, sizeof(masked));
		fh_log_info(&ctx->log, "redirect call '%s' to '%s'",
		    call != NULL ? call : "-", masked);
		fh_redirect_dial(&tw, ctx->cfg, number);
	} else {
		if (err == FH_EINPUT)
			why = "malformed queue";
		else if (queue != NULL)
			why = "unknown queue";
		else if (fh_redirect_nrules(ctx->cfg) == 0)
			why = "no redirect rules";
		else
			why = "several rules and no queue";
		fh_log_error(&ctx->log, "cannot redirect call '%s': %s",
		    call != NULL ? call : "-", why);
		fh_redirect_goodbye(&tw, ctx->cfg);
	}
	return fh_redirect_finish(&tw, resp);
}
