/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attr.c - the task builder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flex/attr.h"
#include "lib/clock.h"
#include "lib/form.h"
#include "lib/json.h"

void
fh_attr_format_ms(long long ms, char *out, size_t outlen)
{
	struct tm tm;
	time_t	  t = (time_t)(ms / 1000);
	size_t	  n;

	out[0] = '\0';
	if (gmtime_r(&t, &tm) == NULL)
		return;
	n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0 ||
	    snprintf(out + n, outlen - n, ".%03dZ", (int)(ms % 1000)) < 0)
		out[0] = '\0';
}

struct json_object *
fh_attr_cb_data(struct json_object *attrs)
{
	struct json_object *cb;

	if (!json_object_is_type(attrs, json_type_object) ||
	    !json_object_object_get_ex(attrs, "callBackData", &cb) ||
	    !json_object_is_type(cb, json_type_object))
		return NULL;
	return cb;
}

enum fh_err
fh_attr_parse_task(struct json_object *task, struct json_object **out)
{
	struct json_object *a;
	const char	   *s;
	enum fh_err	    err;

	*out = NULL;
	if (task == NULL ||
	    !json_object_object_get_ex(task, "attributes", &a) || a == NULL) {
		*out = json_object_new_object();
		return *out != NULL ? FH_OK : FH_ENOMEM;
	}
	if (!json_object_is_type(a, json_type_string))
		return FH_EINPUT;
	s = json_object_get_string(a);
	err = fh_json_parse(s, (size_t)json_object_get_string_len(a), out);
	if (err == FH_OK && !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		err = FH_EINPUT;
	}
	return err;
}

/* A legacy digit string ("2") reads as its number; other types: absent. */
static int
read_int(struct json_object *v, long long *out)
{
	const char *s;

	if (v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return *out >= 0 && *out <= 1000000;
	}
	if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		return fh_parse_int(s, strlen(s), 0, 1000000, out) == FH_OK;
	}
	return 0;
}

static int
read_bool(struct json_object *v, int *out)
{
	const char *s;

	if (v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_boolean)) {
		*out = json_object_get_boolean(v);
		return 1;
	}
	if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0) {
			*out = strcasecmp(s, "true") == 0;
			return 1;
		}
	}
	return 0;
}

/* The string value of obj[key], or NULL. */
static const char *
str_at(struct json_object *obj, const char *key)
{
	struct json_object *v = fh_json_member(obj, key);

	return v != NULL && json_object_is_type(v, json_type_string)
	    ? json_object_get_string(v)
	    : NULL;
}

/* Set key to a string when s is not NULL. */
static enum fh_err
set_str(struct json_object *obj, const char *key, const char *s)
{
	if (s == NULL)
		return FH_OK;
	return fh_json_add(obj, key, json_object_new_string(s));
}

/* A copy of orig[key] when it is an object, else a new empty object. */
static enum fh_err
sub_object(struct json_object *orig, const char *key, struct json_object **out)
{
	struct json_object *v = fh_json_member(orig, key);

	if (v != NULL && json_object_is_type(v, json_type_object))
		return fh_json_copy(v, out);
	*out = json_object_new_object();
	return *out != NULL ? FH_OK : FH_ENOMEM;
}

/* Remove every top-level key that starts with "flexhooks_", in passes of
 * up to 64 (deleting invalidates the iterator). */
static void
drop_markers(struct json_object *attrs)
{
	struct json_object_iterator it, end;
	const char		   *drop[64];
	size_t			    n, i;

	do {
		n = 0;
		it = json_object_iter_begin(attrs);
		end = json_object_iter_end(attrs);
		while (!json_object_iter_equal(&it, &end) && n < 64) {
			if (strncmp(json_object_iter_peek_name(&it),
				"flexhooks_", 10) == 0)
				drop[n++] = json_object_iter_peek_name(&it);
			json_object_iter_next(&it);
		}
		for (i = n; i > 0; i--)
			json_object_object_del(attrs, drop[i - 1]);
	} while (n > 0);
}

static const char *const cb_names[FH_ATTR_STYLE__MAX][FH_CB__MAX] = {
    [FH_ATTR_STYLE_TEMPLATE] =
	{
	    [FH_CB_REC_SID] = "recordingSid",
	    [FH_CB_REC_URL] = "recordingUrl",
	    [FH_CB_TR_SID] = "transcriptSid",
	    [FH_CB_TR_TEXT] = "transcriptText",
	},
    [FH_ATTR_STYLE_PLUGIN_LIBRARY] =
	{
	    [FH_CB_REC_SID] = "RecordingSid",
	    [FH_CB_REC_URL] = "RecordingUrl",
	    [FH_CB_TR_SID] = "TranscriptionSid",
	    [FH_CB_TR_TEXT] = "TranscriptionText",
	},
};

const char *
fh_attr_cb_name(enum fh_attr_style style, enum fh_cb_key k)
{
	if ((unsigned)style >= FH_ATTR_STYLE__MAX || (unsigned)k >= FH_CB__MAX)
		return NULL;
	return cb_names[style][k];
}

const char *
fh_attr_cb_get(struct json_object *cb, enum fh_cb_key k)
{
	const char *t, *p;

	if ((unsigned)k >= FH_CB__MAX)
		return NULL;
	t = str_at(cb, cb_names[FH_ATTR_STYLE_TEMPLATE][k]);
	p = str_at(cb, cb_names[FH_ATTR_STYLE_PLUGIN_LIBRARY][k]);
	if (t != NULL && t[0] != '\0')
		return t;
	if (p != NULL && p[0] != '\0')
		return p;
	return t != NULL ? t : p;
}

enum fh_attr_style
fh_attr_cb_style(struct json_object *cb, enum fh_attr_style def)
{
	int k, tmpl = 0, plib = 0;

	for (k = 0; k < FH_CB__MAX; k++) {
		tmpl |= fh_json_member(
			    cb, cb_names[FH_ATTR_STYLE_TEMPLATE][k]) != NULL;
		plib |= fh_json_member(cb,
			    cb_names[FH_ATTR_STYLE_PLUGIN_LIBRARY][k]) != NULL;
	}
	if (tmpl)
		return FH_ATTR_STYLE_TEMPLATE;
	return plib ? FH_ATTR_STYLE_PLUGIN_LIBRARY : def;
}

void
fh_attr_del_path(struct json_object *attrs, const char *path)
{
	struct json_object *o = attrs;
	const char	   *dot;
	char		    key[128];
	size_t		    n;

	if (path == NULL)
		return;
	while ((dot = strchr(path, '.')) != NULL) {
		n = (size_t)(dot - path);
		if (n == 0 || n >= sizeof(key))
			return;
		memcpy(key, path, n);
		key[n] = '\0';
		o = fh_json_member(o, key);
		if (o == NULL || !json_object_is_type(o, json_type_object))
			return;
		path = dot + 1;
	}
	if (fh_json_member(o, path) != NULL)
		json_object_object_del(o, path);
}

/* Write the media keys of callBackData cb in the shape style: each value
 * is the override when given, else what cb holds under either name; the
 * other shape's name is removed (a task converted from it keeps its data
 * under the names its new readers expect).  A key that stays keeps its
 * place. */
static enum fh_err
set_media(struct json_object *cb, const struct fh_task_in *in,
    enum fh_attr_style style)
{
	const char	   *over[FH_CB__MAX];
	struct json_object *v;
	const char	   *val;
	char		   *copy = NULL;
	enum fh_attr_style  other;
	enum fh_err	    err = FH_OK;
	int		    k;

	over[FH_CB_REC_SID] = in->recording_sid;
	over[FH_CB_REC_URL] = in->recording_url;
	over[FH_CB_TR_SID] = in->transcript_sid;
	over[FH_CB_TR_TEXT] = in->transcript_text;
	other = style == FH_ATTR_STYLE_TEMPLATE ? FH_ATTR_STYLE_PLUGIN_LIBRARY
						: FH_ATTR_STYLE_TEMPLATE;
	for (k = 0; k < FH_CB__MAX && err == FH_OK; k++) {
		val = over[k] != NULL ? over[k] : fh_attr_cb_get(cb, k);
		free(copy);
		copy = NULL;
		if (val != NULL && (copy = strdup(val)) == NULL)
			return FH_ENOMEM; /* val may live in cb */
		v = fh_json_member(cb, cb_names[other][k]);
		if (v != NULL)
			json_object_object_del(cb, cb_names[other][k]);
		err = set_str(cb, cb_names[style][k], copy);
	}
	free(copy);
	return err;
}

/* The template's attributes 1-3: from, name, flow_execution_sid,
 * taskType. */
static enum fh_err
head_template(struct json_object *attrs, const struct fh_task_in *in,
    const char *to_call, int voicemail)
{
	enum fh_err err;

	if ((err = set_str(attrs, "from", to_call)) != FH_OK ||
	    (err = set_str(attrs, "name", to_call)) != FH_OK ||
	    (err = set_str(attrs, "flow_execution_sid", in->flex_flow_sid)) !=
		FH_OK)
		return err;
	return set_str(attrs, "taskType", voicemail ? "voicemail" : "callback");
}

/* The plugin library's: taskType, name "Callback (+1...)", flow_execution_
 * sid, message (null unless given or already there). */
static enum fh_err
head_plugin(struct json_object *attrs, const struct fh_task_in *in,
    const char *to_call, int voicemail)
{
	char	    name[96];
	enum fh_err err;

	if ((err = set_str(attrs, "taskType",
		 voicemail ? "voicemail" : "callback")) != FH_OK)
		return err;
	if (to_call != NULL) {
		if (snprintf(name, sizeof(name), "%s (%s)",
			voicemail ? "Voicemail" : "Callback",
			to_call) >= (int)sizeof(name))
			return FH_EINPUT;
		if ((err = set_str(attrs, "name", name)) != FH_OK)
			return err;
	}
	if ((err = set_str(attrs, "flow_execution_sid", in->flex_flow_sid)) !=
	    FH_OK)
		return err;
	if (in->message != NULL)
		return set_str(attrs, "message", in->message);
	/* JSON null, as the functions wrote "message || null" */
	if (!json_object_object_get_ex(attrs, "message", NULL) &&
	    json_object_object_add(attrs, "message", NULL) != 0)
		return FH_ENOMEM;
	return FH_OK;
}

enum fh_err
fh_attr_attributes(const struct fh_task_in *in, struct json_object **out)
{
	struct json_object *attrs = NULL, *orig_attrs = NULL;
	struct json_object *cb = NULL, *conv = NULL, *ocb;
	const char	   *to_call, *tz, *received, *conv_id, *rec;
	char		    nowbuf[40];
	long long	    attempts = 0;
	int		    deleted = 0, plib, i;
	enum fh_err	    err;

	*out = NULL;
	plib = in->style == FH_ATTR_STYLE_PLUGIN_LIBRARY;
	if (in->orig != NULL) {
		err = fh_attr_parse_task(in->orig, &orig_attrs);
		if (err != FH_OK)
			goto out;
		err = fh_json_copy(orig_attrs, &attrs);
	} else {
		attrs = json_object_new_object();
		err = attrs != NULL ? FH_OK : FH_ENOMEM;
	}
	if (err != FH_OK)
		goto out;
	ocb = fh_json_member(orig_attrs, "callBackData");
	if (ocb != NULL && !json_object_is_type(ocb, json_type_object))
		ocb = NULL;

	/* derived values, first that applies */
	to_call = in->number_to_call != NULL ? in->number_to_call
					     : str_at(ocb, "numberToCall");
	if (in->has_attempts)
		attempts = in->attempts;
	else if (read_int(fh_json_member(ocb, "attempts"), &attempts))
		attempts++;
	else
		attempts = 0;
	rec = in->recording_sid != NULL ? in->recording_sid
					: fh_attr_cb_get(ocb, FH_CB_REC_SID);
	if (rec != NULL && rec[0] == '\0')
		rec = NULL;
	tz = str_at(ocb, "mainTimeZone");
	if (tz == NULL)
		tz = in->main_timezone != NULL ? in->main_timezone : "UTC";
	received = in->utc_received != NULL
	    ? in->utc_received
	    : str_at(ocb, "utcDateTimeReceived");
	if (received == NULL) {
		fh_attr_format_ms(in->now_ms != 0 ? in->now_ms : fh_wall_ms(),
		    nowbuf, sizeof(nowbuf));
		received = nowbuf;
	}
	if (in->has_is_deleted)
		deleted = in->is_deleted;
	else if (!read_bool(fh_json_member(ocb, "isDeleted"), &deleted))
		deleted = 0;

	/* 1-3: the head of the task, in the order its shape has it */
	err = plib ? head_plugin(attrs, in, to_call, rec != NULL)
		   : head_template(attrs, in, to_call, rec != NULL);
	if (err != FH_OK)
		goto out;

	/* 4: callBackData */
	if ((err = sub_object(orig_attrs, "callBackData", &cb)) != FH_OK)
		goto out;
	if ((err = set_str(cb, "numberToCall", to_call)) != FH_OK ||
	    (err = set_str(cb, "numberToCallFrom", in->number_to_call_from)) !=
		FH_OK)
		goto out;
	if (plib &&
	    ((err = fh_json_add(
		  cb, "attempts", json_object_new_int64(attempts))) != FH_OK ||
		(err = set_str(cb, "mainTimeZone", tz)) != FH_OK ||
		(err = set_str(cb, "utcDateTimeReceived", received)) != FH_OK))
		goto out;
	if ((err = set_media(cb, in, in->style)) != FH_OK)
		goto out;
	if (!plib &&
	    ((err = set_str(cb, "mainTimeZone", tz)) != FH_OK ||
		(err = set_str(cb, "utcDateTimeReceived", received)) != FH_OK))
		goto out;
	if ((err = fh_json_add(
		 cb, "isDeleted", json_object_new_boolean(deleted))) != FH_OK)
		goto out;
	if (!plib &&
	    (err = fh_json_add(
		 cb, "attempts", json_object_new_int64(attempts))) != FH_OK)
		goto out;
	err = fh_json_add(attrs, "callBackData", cb);
	cb = NULL;
	if (err != FH_OK)
		goto out;

	/* 5-6: direction, conversations */
	if ((err = set_str(attrs, "direction", "inbound")) != FH_OK)
		goto out;
	if ((err = sub_object(orig_attrs, "conversations", &conv)) != FH_OK)
		goto out;
	conv_id = in->conversation_id;
	if (conv_id == NULL)
		conv_id = str_at(conv, "conversation_id");
	if (conv_id == NULL && in->orig != NULL)
		conv_id = fh_json_str(in->orig, "sid");
	if (conv_id != NULL &&
	    (err = set_str(conv, "conversation_id", conv_id)) != FH_OK)
		goto out;
	json_object_object_del(conv, "abandoned");
	json_object_object_del(conv, "hang_up_by");
	err = fh_json_add(attrs, "conversations", conv);
	conv = NULL;
	if (err != FH_OK)
		goto out;

	/* never copied: live-call keys, the outbound dialer's To and From
	 * (no caller waits for a follow-up) and this project's markers */
	json_object_object_del(attrs, "call_sid");
	json_object_object_del(attrs, "reservation_attributes");
	json_object_object_del(attrs, "conference");
	for (i = 0; i < FH_ATTR_MAX_DROP; i++)
		fh_attr_del_path(attrs, in->drop_paths[i]);
	drop_markers(attrs);
	if (in->followup_of != NULL &&
	    (err = set_str(attrs, FH_ATTR_FOLLOWUP_OF, in->followup_of)) !=
		FH_OK)
		goto out;
	*out = attrs;
	attrs = NULL;
out:
	json_object_put(cb);
	json_object_put(conv);
	json_object_put(attrs);
	json_object_put(orig_attrs);
	return err;
}

/* An integer field of the original task, when present. */
static int
orig_int(struct json_object *task, const char *key, long long *out)
{
	struct json_object *v = fh_json_member(task, key);

	if (v == NULL || !json_object_is_type(v, json_type_int))
		return 0;
	*out = json_object_get_int64(v);
	return 1;
}

enum fh_err
fh_attr_build(const struct fh_task_in *in, struct fh_buf *out)
{
	struct json_object *attrs = NULL;
	const char	   *wf, *chan;
	long long	    timeout = 86400, priority = 0;
	char		    num[24], vst[32];
	struct tm	    tm;
	time_t		    t;
	enum fh_err	    err;

	wf = in->workflow_sid != NULL ? in->workflow_sid
				      : fh_json_str(in->orig, "workflow_sid");
	if (wf == NULL)
		wf = in->default_workflow;
	if (wf == NULL)
		return FH_ECONFIG;
	chan = in->task_channel != NULL
	    ? in->task_channel
	    : fh_json_str(in->orig, "task_channel_unique_name");
	if (chan == NULL)
		chan = "voice";
	if (in->has_timeout)
		timeout = in->timeout;
	else if (!orig_int(in->orig, "timeout", &timeout))
		timeout = 86400;
	if (in->has_priority)
		priority = in->priority;
	else if (!orig_int(in->orig, "priority", &priority))
		priority = 0;

	err = fh_attr_attributes(in, &attrs);
	if (err != FH_OK)
		goto out;
	snprintf(num, sizeof(num), "%lld", timeout);
	if ((err = fh_form_add(out, "Timeout", num)) != FH_OK)
		goto out;
	snprintf(num, sizeof(num), "%lld", priority);
	if ((err = fh_form_add(out, "Priority", num)) != FH_OK ||
	    (err = fh_form_add(out, "TaskChannel", chan)) != FH_OK ||
	    (err = fh_form_add(out, "WorkflowSid", wf)) != FH_OK)
		goto out;
	if (fh_json_text(attrs) == NULL) {
		err = FH_ENOMEM;
		goto out;
	}
	if ((err = fh_form_add(out, "Attributes", fh_json_text(attrs))) !=
	    FH_OK)
		goto out;
	if (in->virtual_start > 0) {
		t = (time_t)in->virtual_start;
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(vst, sizeof(vst), "%Y-%m-%dT%H:%M:%SZ", &tm) ==
			0) {
			err = FH_EINPUT;
			goto out;
		}
		err = fh_form_add(out, "VirtualStartTime", vst);
	}
out:
	json_object_put(attrs);
	return err;
}
