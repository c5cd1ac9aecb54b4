/*
 * attr.c - the task builder.
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "attr.h"
#include "form.h"
#include "json.h"

void
fh_attr_format_ms(long long ms, char *out, size_t outlen)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);
	size_t		 n;

	out[0] = '\0';
	if (gmtime_r(&t, &tm) == NULL)
		return;
	n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0 || snprintf(out + n, outlen - n, ".%03dZ",
	    (int)(ms % 1000)) < 0)
		out[0] = '\0';
}

static long long
now_ms(void)
{
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

enum fh_err
fh_attr_parse_task(struct json_object *task, struct json_object **out)
{
	struct json_object	*a;
	const char		*s;
	enum fh_err		 err;

	*out = NULL;
	if (task == NULL || !json_object_object_get_ex(task, "attributes",
	    &a) || a == NULL) {
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

/* The member key of obj when obj is an object, else NULL. */
static struct json_object *
member(struct json_object *obj, const char *key)
{
	struct json_object	*v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* A legacy digit string ("2") reads as its number; other types: absent. */
static int
read_int(struct json_object *v, long long *out)
{
	const char	*s;

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
	const char	*s;

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
	struct json_object	*v = member(obj, key);

	return v != NULL && json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
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
	struct json_object	*v = member(orig, key);

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
	struct json_object_iterator	 it, end;
	const char			*drop[64];
	size_t				 n, i;

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

enum fh_err
fh_attr_attributes(const struct fh_task_in *in, struct json_object **out)
{
	struct json_object	*attrs = NULL, *orig_attrs = NULL;
	struct json_object	*cb = NULL, *conv = NULL, *ocb;
	const char		*to_call, *tz, *received, *conv_id, *rec;
	char			 nowbuf[40];
	long long		 attempts = 0;
	int			 deleted = 0;
	enum fh_err		 err;

	*out = NULL;
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
	ocb = member(orig_attrs, "callBackData");
	if (ocb != NULL && !json_object_is_type(ocb, json_type_object))
		ocb = NULL;

	/* derived values, first that applies */
	to_call = in->number_to_call != NULL ? in->number_to_call :
	    str_at(ocb, "numberToCall");
	if (in->has_attempts)
		attempts = in->attempts;
	else if (read_int(member(ocb, "attempts"), &attempts))
		attempts++;
	else
		attempts = 0;
	rec = in->recording_sid != NULL ? in->recording_sid :
	    str_at(ocb, "recordingSid");
	tz = str_at(ocb, "mainTimeZone");
	if (tz == NULL)
		tz = in->main_timezone != NULL ? in->main_timezone : "UTC";
	received = in->utc_received != NULL ? in->utc_received :
	    str_at(ocb, "utcDateTimeReceived");
	if (received == NULL) {
		fh_attr_format_ms(in->now_ms != 0 ? in->now_ms : now_ms(),
		    nowbuf, sizeof(nowbuf));
		received = nowbuf;
	}
	if (in->has_is_deleted)
		deleted = in->is_deleted;
	else if (!read_bool(member(ocb, "isDeleted"), &deleted))
		deleted = 0;

	/* 1-3: from, name, flow_execution_sid, taskType */
	if ((err = set_str(attrs, "from", to_call)) != FH_OK ||
	    (err = set_str(attrs, "name", to_call)) != FH_OK ||
	    (err = set_str(attrs, "flow_execution_sid",
	    in->flex_flow_sid)) != FH_OK ||
	    (err = set_str(attrs, "taskType",
	    rec != NULL ? "voicemail" : "callback")) != FH_OK)
		goto out;

	/* 4: callBackData */
	if ((err = sub_object(orig_attrs, "callBackData", &cb)) != FH_OK)
		goto out;
	if ((err = set_str(cb, "numberToCall", to_call)) != FH_OK ||
	    (err = set_str(cb, "numberToCallFrom",
	    in->number_to_call_from)) != FH_OK ||
	    (err = set_str(cb, "recordingSid", in->recording_sid)) != FH_OK ||
	    (err = set_str(cb, "recordingUrl", in->recording_url)) != FH_OK ||
	    (err = set_str(cb, "transcriptSid", in->transcript_sid)) != FH_OK ||
	    (err = set_str(cb, "transcriptText",
	    in->transcript_text)) != FH_OK ||
	    (err = set_str(cb, "mainTimeZone", tz)) != FH_OK ||
	    (err = set_str(cb, "utcDateTimeReceived", received)) != FH_OK ||
	    (err = fh_json_add(cb, "isDeleted",
	    json_object_new_boolean(deleted))) != FH_OK ||
	    (err = fh_json_add(cb, "attempts",
	    json_object_new_int64(attempts))) != FH_OK)
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

	/* never copied: live-call keys and this project's claim markers */
	json_object_object_del(attrs, "call_sid");
	json_object_object_del(attrs, "reservation_attributes");
	json_object_object_del(attrs, "conference");
	drop_markers(attrs);
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
	struct json_object	*v = member(task, key);

	if (v == NULL || !json_object_is_type(v, json_type_int))
		return 0;
	*out = json_object_get_int64(v);
	return 1;
}

enum fh_err
fh_attr_build(const struct fh_task_in *in, struct fh_buf *out)
{
	struct json_object	*attrs = NULL;
	const char		*wf, *chan;
	long long		 timeout = 86400, priority = 0;
	char			 num[24], vst[32];
	struct tm		 tm;
	time_t			 t;
	enum fh_err		 err;

	wf = in->workflow_sid != NULL ? in->workflow_sid :
	    fh_json_str(in->orig, "workflow_sid");
	if (wf == NULL)
		wf = in->default_workflow;
	if (wf == NULL)
		return FH_ECONFIG;
	chan = in->task_channel != NULL ? in->task_channel :
	    fh_json_str(in->orig, "task_channel_unique_name");
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
		    strftime(vst, sizeof(vst), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
			err = FH_EINPUT;
			goto out;
		}
		err = fh_form_add(out, "VirtualStartTime", vst);
	}
out:
	json_object_put(attrs);
	return err;
}
