/*
 * incoming.c - /incoming-call: enqueue the caller with the wait experience.
 */
#include <string.h>

#include <json-c/json.h>

#include "form.h"
#include "incoming.h"
#include "json.h"
#include "twiml.h"
#include "valid.h"
#include "wait.h"

#define REFUSAL	"We are sorry, this call cannot be connected. Goodbye."

enum in_field {
	IN_FROM,
	IN_CALLER,
	IN_CALL_SID,
	IN__MAX
};

static const struct fh_field in_fields[IN__MAX] = {
	[IN_FROM] =	{ "From", NULL, fh_valid_text256, 0 },
	[IN_CALLER] =	{ "Caller", NULL, fh_valid_text256, 0 },
	[IN_CALL_SID] =	{ "CallSid", NULL, fh_valid_sid_ca, 0 },
};

static void
say(struct fh_twiml *tw, const struct fh_config *cfg, const char *text)
{
	fh_twiml_open(tw, FH_TW_SAY);
	fh_twiml_attr(tw, FH_TA_VOICE, cfg->say_voice != NULL ?
	    cfg->say_voice : "Polly.Joanna");
	if (cfg->say_language != NULL)
		fh_twiml_attr(tw, FH_TA_LANGUAGE, cfg->say_language);
	fh_twiml_text(tw, text);
	fh_twiml_close(tw);
}

/* {"type":"inbound","name":<from>,"conversations":{"hang_up_by":
 * "Customer"}} into *out (the caller puts it). */
static enum fh_err
task_attributes(const char *from, struct json_object **out)
{
	struct json_object	*a, *conv;
	enum fh_err		 err;

	*out = NULL;
	a = json_object_new_object();
	if (a == NULL)
		return FH_ENOMEM;
	conv = json_object_new_object();
	if ((err = fh_json_add_str(a, "type", "inbound")) != FH_OK ||
	    (err = fh_json_add_str(a, "name", from)) != FH_OK ||
	    (err = fh_json_add(a, "conversations", conv)) != FH_OK) {
		json_object_put(a);
		return err;
	}
	err = fh_json_add_str(conv, "hang_up_by", "Customer");
	if (err != FH_OK) {
		json_object_put(a);
		return err;
	}
	*out = a;
	return FH_OK;
}

/* Validate each field on its own: an invalid one counts as absent. */
static void
read_fields(struct fh_ctx *ctx, const struct fh_req *req,
    struct fh_val *val)
{
	size_t	 i, bad;
	int	 missing;

	for (i = 0; i < IN__MAX; i++) {
		memset(&val[i], 0, sizeof(val[i]));
		if (fh_form_validate(&req->params, &in_fields[i], 1, &val[i],
		    &bad, &missing) != FH_OK) {
			memset(&val[i], 0, sizeof(val[i]));
			fh_log_warn(&ctx->log, "invalid parameter '%s' "
			    "ignored", in_fields[i].name);
		}
	}
}

enum fh_err
fh_handle_incoming_call(struct fh_ctx *ctx, const struct fh_req *req,
    struct fh_resp *resp)
{
	const struct fh_config	*cfg = ctx->cfg;
	struct fh_val		 val[IN__MAX];
	struct fh_twiml		 tw;
	struct fh_buf		 wait;
	struct json_object	*attrs = NULL;
	const char		*from, *text;
	enum fh_err		 err;

	fh_buf_init(&wait, 8 * 1024);
	wait.secret = 1;
	read_fields(ctx, req, val);
	if (val[IN_CALL_SID].str != NULL)
		fh_log_set_call(&ctx->log, val[IN_CALL_SID].str);
	from = val[IN_FROM].str != NULL ? val[IN_FROM].str :
	    val[IN_CALLER].str != NULL ? val[IN_CALLER].str : "";

	fh_twiml_init(&tw, resp);
	if (cfg->inbound_workflow_sid == NULL) {
		fh_log_error(&ctx->log, "cannot enqueue call: %s",
		    "no FLEXHOOKS_INBOUND_WORKFLOW_SID or "
		    "TWILIO_FLEX_CALLBACK_WORKFLOW_SID");
		goto refuse;
	}
	if (fh_wait_base_url(ctx, req, &wait) != FH_OK)
		goto refuse;
	if ((err = task_attributes(from, &attrs)) != FH_OK)
		goto out;
	text = fh_json_text(attrs);
	if (text == NULL) {
		err = FH_ENOMEM;
		goto out;
	}
	if (cfg->inbound_greeting != NULL)
		say(&tw, cfg, cfg->inbound_greeting);
	fh_twiml_open(&tw, FH_TW_ENQUEUE);
	fh_twiml_attr(&tw, FH_TA_WORKFLOW_SID, cfg->inbound_workflow_sid);
	fh_twiml_attr(&tw, FH_TA_WAIT_URL, fh_buf_cstr(&wait));
	fh_twiml_attr(&tw, FH_TA_WAIT_URL_METHOD, "POST");
	fh_twiml_open(&tw, FH_TW_TASK);
	fh_twiml_text(&tw, text);
	err = fh_twiml_finish(&tw);
	if (err == FH_OK)
		goto out;
	/* e.g. a From that is not UTF-8: refuse rather than fail */
	fh_log_error(&ctx->log, "cannot answer incoming call: %s",
	    fh_err_name(err));
	fh_twiml_init(&tw, resp);
refuse:
	say(&tw, cfg, REFUSAL);
	fh_twiml_open(&tw, FH_TW_HANGUP);
	err = fh_twiml_finish(&tw);
out:
	json_object_put(attrs);
	fh_buf_release(&wait);
	return err;
}
