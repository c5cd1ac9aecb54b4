/* SPDX-License-Identifier: Apache-2.0 */
/*
 * incoming.c - /incoming-call: enqueue the caller with the wait experience.
 */
#include <string.h>

#include <json-c/json.h>

#include "flex/locations.h"
#include "flex/wait_url.h"
#include "lib/form.h"
#include "handlers/incoming.h"
#include "lib/json.h"
#include "lib/twiml.h"
#include "lib/valid.h"

#define REFUSAL "We are sorry, this call cannot be connected. Goodbye."

enum in_field { IN_FROM, IN_CALLER, IN_CALL_SID, IN_CALLED, IN__MAX };

static const struct fh_field in_fields[IN__MAX] = {
    [IN_FROM] = {"From", NULL, fh_valid_text256, 0},
    [IN_CALLER] = {"Caller", NULL, fh_valid_text256, 0},
    [IN_CALL_SID] = {"CallSid", NULL, fh_valid_sid_ca, 0},
    [IN_CALLED] = {"Called", NULL, fh_valid_text256, 0},
};

static void
say(struct fh_twiml *tw, const struct fh_config *cfg, const char *text)
{
	fh_twiml_open(tw, FH_TW_SAY);
	fh_twiml_attr(tw, FH_TA_VOICE,
	    cfg->say_voice != NULL ? cfg->say_voice : "Polly.Joanna");
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
	struct json_object *a, *conv;
	enum fh_err	    err;

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

/* Set the string value at a dotted path of a ("a.b" is a["a"]["b"]),
 * making the objects on the way.  A key on the way that holds something
 * other than an object is an error (FH_EINPUT). */
static enum fh_err
set_path(struct json_object *a, const char *path, const char *value)
{
	struct json_object *o = a, *next;
	const char	   *dot;
	char		    key[64];
	size_t		    n;
	enum fh_err	    err;

	while ((dot = strchr(path, '.')) != NULL) {
		n = (size_t)(dot - path);
		if (n == 0 || n >= sizeof(key))
			return FH_EINPUT;
		memcpy(key, path, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(o, key, &next)) {
			if ((next = json_object_new_object()) == NULL)
				return FH_ENOMEM;
			if ((err = fh_json_add(o, key, next)) != FH_OK)
				return err;
		} else if (!json_object_is_type(next, json_type_object))
			return FH_EINPUT;
		o = next;
		path = dot + 1;
	}
	if (*path == '\0')
		return FH_EINPUT;
	return fh_json_add_str(o, path, value);
}

/* FLEXHOOKS_INBOUND_ADD_LOCATION: the locations entry of the called line
 * adds practice, the outbound To attribute (its locationPhone, when not
 * empty) and the From attribute (the called number).  Without an entry
 * the call is still enqueued, with a warning. */
static enum fh_err
add_location(struct fh_ctx *ctx, const char *called, struct json_object *a)
{
	const struct fh_config *cfg = ctx->cfg;
	struct json_object     *entry, *v;
	const char	       *phone;
	enum fh_err		err;

	if (called == NULL) {
		fh_log_warn(&ctx->log, "no location added: no Called");
		return FH_OK;
	}
	if (fh_location_refresh(cfg->locations_file, &ctx->log) != FH_OK) {
		fh_log_warn(&ctx->log, "no location added: %s",
		    "no locations loaded (FLEXHOOKS_LOCATIONS)");
		return FH_OK;
	}
	if ((entry = fh_location_get(called)) == NULL) {
		fh_log_warn(&ctx->log, "no location added: %s",
		    "called number not in FLEXHOOKS_LOCATIONS");
		return FH_OK;
	}
	if (json_object_object_get_ex(entry, "location", &v) &&
	    (err = fh_json_add_str(a, "practice", json_object_get_string(v))) !=
		FH_OK)
		return err;
	if (json_object_object_get_ex(entry, "locationPhone", &v) &&
	    (phone = json_object_get_string(v)) != NULL && *phone != '\0' &&
	    (err = set_path(a, cfg->outbound_to_attribute, phone)) != FH_OK)
		goto bad;
	if ((err = set_path(a, cfg->outbound_from_attribute, called)) != FH_OK)
		goto bad;
	return FH_OK;
bad:
	if (err == FH_EINPUT)
		fh_log_warn(&ctx->log, "no location added: %s",
		    "outbound attribute path clashes with another attribute");
	return err == FH_EINPUT ? FH_OK : err;
}

/* Validate each field on its own: an invalid one counts as absent. */
static void
read_fields(struct fh_ctx *ctx, const struct fh_req *req, struct fh_val *val)
{
	size_t i, bad;
	int    missing;

	for (i = 0; i < IN__MAX; i++) {
		memset(&val[i], 0, sizeof(val[i]));
		if (fh_form_validate(&req->params, &in_fields[i], 1, &val[i],
			&bad, &missing) != FH_OK) {
			memset(&val[i], 0, sizeof(val[i]));
			fh_log_warn(&ctx->log,
			    "invalid parameter '%s' "
			    "ignored",
			    in_fields[i].name);
		}
	}
}

enum fh_err
fh_handle_incoming_call(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	const struct fh_config *cfg = ctx->cfg;
	struct fh_val		val[IN__MAX];
	struct fh_twiml		tw;
	struct fh_buf		wait;
	struct json_object     *attrs = NULL;
	const char	       *from, *text;
	enum fh_err		err;

	fh_buf_init(&wait, 8 * 1024);
	wait.secret = 1;
	read_fields(ctx, req, val);
	if (val[IN_CALL_SID].str != NULL)
		fh_log_set_call(&ctx->log, val[IN_CALL_SID].str);
	from = val[IN_FROM].str != NULL	 ? val[IN_FROM].str
	    : val[IN_CALLER].str != NULL ? val[IN_CALLER].str
					 : "";

	fh_twiml_init(&tw, resp);
	if (cfg->inbound_workflow_sid == NULL) {
		fh_log_error(&ctx->log, "cannot enqueue call: %s",
		    "no FLEXHOOKS_INBOUND_WORKFLOW_SID or "
		    "TWILIO_FLEX_CALLBACK_WORKFLOW_SID");
		goto refuse;
	}
	/* without Flex there is no wait experience (it answers 503): the
	 * caller hears Twilio's default hold music */
	if (cfg->workspace_sid != NULL &&
	    fh_wait_base_url(ctx, req, &wait) != FH_OK)
		goto refuse;
	if ((err = task_attributes(from, &attrs)) != FH_OK)
		goto out;
	if (cfg->inbound_add_location &&
	    (err = add_location(ctx, val[IN_CALLED].str, attrs)) != FH_OK)
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
	if (cfg->workspace_sid != NULL) {
		fh_twiml_attr(&tw, FH_TA_WAIT_URL, fh_buf_cstr(&wait));
		fh_twiml_attr(&tw, FH_TA_WAIT_URL_METHOD, "POST");
	}
	fh_twiml_open(&tw, FH_TW_TASK);
	fh_twiml_text(&tw, text);
	err = fh_twiml_finish(&tw);
	if (err == FH_OK)
		goto out;
	/* e.g. a From that is not UTF-8: refuse rather than fail */
	fh_log_error(
	    &ctx->log, "cannot answer incoming call: %s", fh_err_name(err));
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
