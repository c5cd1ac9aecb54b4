/* SPDX-License-Identifier: Apache-2.0 */
/*
 * events.c - the TaskRouter event handler: no-agent redirect and outbound
 * dialer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <json-c/json.h>

#include "flex/attr.h"
#include "flex/redirect_rules.h"
#include "lib/claim.h"
#include "handlers/events.h"
#include "lib/clock.h"
#include "lib/form.h"
#include "lib/json.h"
#include "lib/rest.h"
#include "flex/tasks.h"
#include "lib/twiml.h"
#include "lib/valid.h"

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define REASON_WRAPUP "Outbound call ended"

enum ev_field {
	EV_TYPE,
	EV_SID,
	EV_ACCOUNT,
	EV_WORKSPACE,
	EV_TASK,
	EV_QUEUE,
	EV_RESERVATION,
	EV_ATTRIBUTES,
	EV_QUEUE_NAME,
	EV_WORKER,
	EV_WORKER_NAME,
	EV_DESCRIPTION,
	EV_TIMESTAMP,
	EV_WORKFLOW,
	EV__MAX
};

static enum fh_err valid_attributes(const char *, size_t, struct fh_val *);

/* Lenient on purpose: each field is judged on its own, and a bad one
 * never turns into an error answer
 * (docs/design/taskrouter-events.md#event-callback). */
static const struct fh_field ev_fields[EV__MAX] = {
    [EV_TYPE] = {"EventType", NULL, fh_valid_text256, 0},
    [EV_SID] = {"Sid", NULL, fh_valid_text256, 0},
    [EV_ACCOUNT] = {"AccountSid", NULL, fh_valid_text256, 0},
    [EV_WORKSPACE] = {"WorkspaceSid", NULL, fh_valid_text256, 0},
    [EV_TASK] = {"TaskSid", NULL, fh_valid_text256, 0},
    [EV_QUEUE] = {"TaskQueueSid", NULL, fh_valid_text256, 0},
    [EV_RESERVATION] = {"ReservationSid", NULL, fh_valid_text256, 0},
    [EV_ATTRIBUTES] = {"TaskAttributes", NULL, valid_attributes, 0},
    [EV_QUEUE_NAME] = {"TaskQueueName", NULL, fh_valid_text256, 0},
    [EV_WORKER] = {"WorkerSid", NULL, fh_valid_text256, 0},
    [EV_WORKER_NAME] = {"WorkerName", NULL, fh_valid_text256, 0},
    [EV_DESCRIPTION] = {"EventDescription", NULL, fh_valid_text256, 0},
    [EV_TIMESTAMP] = {"Timestamp", NULL, fh_valid_text256, 0},
    [EV_WORKFLOW] = {"WorkflowSid", NULL, fh_valid_text256, 0},
};

static const char *const action_names[FH_TR__MAX] = {
    [FH_TR_IGNORE] = "ignore",
    [FH_TR_FOREIGN] = "foreign",
    [FH_TR_OTHER_QUEUE] = "other-queue",
    [FH_TR_REDIRECT] = "redirect",
    [FH_TR_OUTBOUND] = "outbound",
    [FH_TR_WRAPUP] = "wrapup",
};

static const char *const mark_names[FH_TR_MARK__MAX] = {
    [FH_TR_MARK_NONE] = "none",
    [FH_TR_MARK_OURS] = "ours",
    [FH_TR_MARK_OTHER] = "other",
};

/* The task statuses each feature may claim in
 * (docs/design/taskrouter-events.md#event-claims). */
static const char *const allowed_status[FH_TR_FEAT__MAX][3] = {
    [FH_TR_FEAT_REDIRECT] = {"pending", "reserved", NULL},
    [FH_TR_FEAT_OUTBOUND] = {"reserved", NULL, NULL},
};

/* The JSON text of TaskAttributes: valid UTF-8 without NUL, up to the
 * form's value cap (the JSON parser checks the rest). */
static enum fh_err
valid_attributes(const char *s, size_t len, struct fh_val *out)
{
	if (len > FH_TR_MAX_ATTRIBUTES || strlen(s) != len ||
	    !fh_utf8_valid(s, len))
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	return FH_OK;
}

void
fh_tr_event_parse(const struct fh_form *form, struct fh_tr_event *ev)
{
	struct fh_val val[EV__MAX];
	const char   *v[EV__MAX];
	size_t	      i, bad;
	int	      missing;

	memset(ev, 0, sizeof(*ev));
	for (i = 0; i < EV__MAX; i++) {
		v[i] = NULL;
		memset(&val[i], 0, sizeof(val[i]));
		bad = 0;
		missing = 0;
		if (fh_form_validate(form, &ev_fields[i], 1, &val[i], &bad,
			&missing) == FH_OK)
			v[i] = val[i].str;
	}
	ev->type = v[EV_TYPE];
	ev->sid = v[EV_SID];
	ev->account_sid = v[EV_ACCOUNT];
	ev->workspace_sid = v[EV_WORKSPACE];
	ev->task_sid = v[EV_TASK];
	ev->queue_sid = v[EV_QUEUE];
	ev->reservation_sid = v[EV_RESERVATION];
	ev->attributes = v[EV_ATTRIBUTES];
	ev->attributes_len =
	    v[EV_ATTRIBUTES] != NULL ? val[EV_ATTRIBUTES].len : 0;
	ev->queue_name = v[EV_QUEUE_NAME];
	ev->worker_sid = v[EV_WORKER];
	ev->worker_name = v[EV_WORKER_NAME];
	ev->description = v[EV_DESCRIPTION];
	ev->timestamp = v[EV_TIMESTAMP];
	ev->workflow_sid = v[EV_WORKFLOW];
}

int
fh_tr_is_followup(struct json_object *attrs)
{
	static const char *const types[] = {
	    "callback", "voicemail", "callback-outbound"};
	const char *t = fh_json_str(attrs, "taskType");
	size_t	    i;

	for (i = 0; t != NULL && i < FH_NITEMS(types); i++)
		if (strcmp(t, types[i]) == 0)
			return 1;
	return 0;
}

static int
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

enum fh_tr_action
fh_tr_classify(const struct fh_config *cfg, const struct fh_tr_event *ev)
{
	char number[24];

	if (!same(ev->account_sid, cfg->account_sid) ||
	    !fh_config_workspace_ok(cfg, ev->workspace_sid))
		return FH_TR_FOREIGN;
	if (ev->type == NULL)
		return FH_TR_IGNORE;
	if (strcmp(ev->type, "task-queue.entered") == 0) {
		if (ev->queue_sid == NULL ||
		    fh_redirect_lookup(
			cfg, ev->queue_sid, number, sizeof(number)) != FH_OK)
			return FH_TR_OTHER_QUEUE;
		return FH_TR_REDIRECT;
	}
	if (strcmp(ev->type, "reservation.created") == 0)
		return FH_TR_OUTBOUND;
	if (strcmp(ev->type, "reservation.wrapup") == 0)
		return FH_TR_WRAPUP;
	return FH_TR_IGNORE;
}

const char *
fh_tr_action_name(enum fh_tr_action a)
{
	if ((unsigned)a >= FH_TR__MAX || action_names[a] == NULL)
		return "unknown";
	return action_names[a];
}

const char *
fh_tr_mark_name(enum fh_tr_mark m)
{
	if ((unsigned)m >= FH_TR_MARK__MAX || mark_names[m] == NULL)
		return "unknown";
	return mark_names[m];
}

enum fh_err
fh_tr_event_attributes(const struct fh_tr_event *ev, struct json_object **out)
{
	enum fh_err err;

	*out = NULL;
	if (ev->attributes == NULL)
		return FH_EINPUT;
	err = fh_json_parse(ev->attributes, ev->attributes_len, out);
	if (err == FH_OK && !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		err = FH_EINPUT;
	}
	return err;
}

struct json_object *
fh_tr_attr_get(struct json_object *attrs, const char *path)
{
	struct json_object *cur = attrs, *next;
	const char	   *p, *dot;
	char		    key[FH_TR_MAX_PATH + 1];
	size_t		    n, len;

	len = path != NULL ? strlen(path) : 0;
	if (len == 0 || len > FH_TR_MAX_PATH)
		return NULL;
	for (p = path;; p = dot + 1) {
		if (cur == NULL || !json_object_is_type(cur, json_type_object))
			return NULL;
		dot = memchr(p, '.', len - (size_t)(p - path));
		n = dot != NULL ? (size_t)(dot - p) : len - (size_t)(p - path);
		if (n == 0)
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(cur, key, &next))
			return NULL;
		if (dot == NULL)
			return next;
		cur = next;
	}
}

int
fh_tr_e164(struct json_object *v, char *out, size_t outlen)
{
	const char *s;
	size_t	    n;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return 0;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	/* whitespace only: strchr() would also match the NUL */
	while (n > 0 && s[0] != '\0' && strchr(" \t\r\n", s[0]) != NULL) {
		s++;
		n--;
	}
	while (n > 0 && s[n - 1] != '\0' && strchr(" \t\r\n", s[n - 1]) != NULL)
		n--;
	if (n < 3 || n > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' ||
	    strspn(s + 1, "0123456789") < n - 1 || n >= outlen)
		return 0;
	memcpy(out, s, n);
	out[n] = '\0';
	return 1;
}

/* One marker entry: ours when its claim is this one, anything else is
 * someone else's. */
static enum fh_tr_mark
entry_state(struct json_object *entry, const char *claim)
{
	const char *s;

	s = fh_json_str(entry, "claim");
	if (s != NULL && claim != NULL && claim[0] != '\0' &&
	    strcmp(s, claim) == 0)
		return FH_TR_MARK_OURS;
	return FH_TR_MARK_OTHER;
}

enum fh_tr_mark
fh_tr_marker_state(struct json_object *attrs, enum fh_tr_feature f,
    const char *key, const char *claim)
{
	struct json_object *mk;

	if (attrs == NULL || !json_object_is_type(attrs, json_type_object))
		return FH_TR_MARK_NONE;
	if (f == FH_TR_FEAT_REDIRECT) {
		if (!json_object_object_get_ex(
			attrs, FH_TR_REDIRECT_MARKER, &mk))
			return FH_TR_MARK_NONE;
		return entry_state(mk, claim);
	}
	/* outbound: a marker that is not an object holds no reservation */
	mk = fh_json_member(attrs, FH_TR_OUTBOUND_MARKER);
	if (key == NULL || mk == NULL ||
	    !json_object_is_type(mk, json_type_object) ||
	    !json_object_object_get_ex(mk, key, &mk))
		return FH_TR_MARK_NONE;
	return entry_state(mk, claim);
}

/* {"to"?,"event_sid","claim","at"} into *out (the caller puts it). */
static enum fh_err
new_entry(const struct fh_tr_marker *m, int with_to, struct json_object **out)
{
	struct json_object *e;
	enum fh_err	    err = FH_OK;

	*out = NULL;
	e = json_object_new_object();
	if (e == NULL)
		return FH_ENOMEM;
	if (with_to)
		err = fh_json_add_str(e, "to", m->to);
	if (err == FH_OK)
		err = fh_json_add_str(e, "event_sid", m->event_sid);
	if (err == FH_OK)
		err = fh_json_add_str(e, "claim", m->claim);
	if (err == FH_OK)
		err = fh_json_add_str(e, "at", m->at);
	if (err != FH_OK) {
		json_object_put(e);
		return err;
	}
	*out = e;
	return FH_OK;
}

/* An entry of the outbound marker kept for the merge. */
struct kept {
	const char	   *key;
	const char	   *at;	 /* "" when unreadable */
	size_t		    pos; /* insertion order: ties */
	struct json_object *val;
};

static int
kept_cmp(const void *a, const void *b)
{
	const struct kept *x = a, *y = b;
	int		   c;

	c = strcmp(x->at, y->at);
	if (c != 0)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The outbound marker with the FH_TR_OUTBOUND_KEEP - 1 newest entries of
 * old (other than key) and then entry (stolen) into *out. */
static enum fh_err
merge_outbound(struct json_object *old, const char *key,
    struct json_object *entry, struct json_object **out)
{
	struct json_object *mk = NULL;
	struct kept	   *k = NULL;
	size_t		    n = 0, i, first;
	struct fh_val	    at;
	const char	   *s;
	enum fh_err	    err = FH_OK;

	*out = NULL;
	mk = json_object_new_object();
	if (mk == NULL) {
		json_object_put(entry);
		return FH_ENOMEM;
	}
	if (old != NULL && json_object_is_type(old, json_type_object) &&
	    json_object_object_length(old) > 0) {
		k = calloc((size_t)json_object_object_length(old), sizeof(*k));
		if (k == NULL) {
			err = FH_ENOMEM;
			goto out;
		}
		json_object_object_foreach(old, name, val)
		{
			/* a null entry is no claim: dropped */
			if (strcmp(name, key) == 0 || val == NULL)
				continue;
			s = fh_json_str(val, "at");
			memset(&at, 0, sizeof(at));
			k[n].key = name;
			k[n].at = s != NULL &&
				fh_valid_datetime(s, strlen(s), &at) == FH_OK
			    ? s
			    : "";
			k[n].pos = n;
			k[n].val = val;
			n++;
		}
		qsort(k, n, sizeof(*k), kept_cmp);
	}
	first = n > FH_TR_OUTBOUND_KEEP - 1 ? n - (FH_TR_OUTBOUND_KEEP - 1) : 0;
	for (i = first; i < n && err == FH_OK; i++)
		err = fh_json_add(mk, k[i].key, json_object_get(k[i].val));
	if (err == FH_OK) {
		err = fh_json_add(mk, key, entry);
		entry = NULL;
	}
out:
	json_object_put(entry);
	free(k);
	if (err != FH_OK) {
		json_object_put(mk);
		return err;
	}
	*out = mk;
	return FH_OK;
}

enum fh_err
fh_tr_marker_add(struct json_object *attrs, enum fh_tr_feature f,
    const struct fh_tr_marker *m)
{
	struct json_object *entry = NULL, *mk = NULL;
	enum fh_err	    err;

	if (attrs == NULL || !json_object_is_type(attrs, json_type_object) ||
	    (f == FH_TR_FEAT_REDIRECT && m->to == NULL) ||
	    (f == FH_TR_FEAT_OUTBOUND && m->reservation == NULL) ||
	    m->claim == NULL || m->at == NULL)
		return FH_EINPUT;
	err = new_entry(m, f == FH_TR_FEAT_REDIRECT, &entry);
	if (err != FH_OK)
		return err;
	if (f == FH_TR_FEAT_REDIRECT)
		return fh_json_add(attrs, FH_TR_REDIRECT_MARKER, entry);
	err = merge_outbound(fh_json_member(attrs, FH_TR_OUTBOUND_MARKER),
	    m->reservation, entry, &mk);
	if (err != FH_OK)
		return err;
	return fh_json_add(attrs, FH_TR_OUTBOUND_MARKER, mk);
}

enum fh_err
fh_tr_new_claim(char *out, size_t outlen)
{
	return fh_claim_new(out, outlen);
}

/* <Response><Dial ...>number</Dial></Response>: the twiml-redirect-call
 * document, written by the TwiML writer, without the XML declaration. */
static enum fh_err
redirect_twiml(
    const struct fh_config *cfg, const char *number, struct fh_buf *out)
{
	struct fh_resp	doc;
	struct fh_twiml tw;
	size_t		dl = strlen(XML_DECL);
	enum fh_err	err;

	fh_resp_init(&doc);
	fh_twiml_init(&tw, &doc);
	fh_redirect_dial(&tw, cfg, number);
	err = fh_twiml_finish(&tw);
	if (err == FH_OK &&
	    (doc.body.len < dl || memcmp(doc.body.data, XML_DECL, dl) != 0))
		err = FH_EINTERNAL;
	if (err == FH_OK)
		err = fh_buf_add(out, doc.body.data + dl, doc.body.len - dl);
	fh_resp_release(&doc);
	return err;
}

/* Append <public><path>?name=value[&name=value...] to url, each value
 * URL-encoded; names and values alternate in kv, NULL-terminated. */
static enum fh_err
public_url(const struct fh_config *cfg, const char *path, const char *const *kv,
    struct fh_buf *url)
{
	enum fh_err err;
	size_t	    i;

	if (cfg->public_url == NULL)
		return FH_ECONFIG;
	err = fh_buf_addstr(url, cfg->public_url);
	if (err == FH_OK)
		err = fh_buf_addstr(url, path);
	for (i = 0; err == FH_OK && kv[i] != NULL && kv[i + 1] != NULL;
	     i += 2) {
		err = fh_buf_printf(url, "%c%s=", i == 0 ? '?' : '&', kv[i]);
		if (err == FH_OK)
			err = fh_url_encode(url, kv[i + 1], strlen(kv[i + 1]));
	}
	return err;
}

enum fh_err
fh_tr_redirect_form(const struct fh_config *cfg, const char *queue,
    const char *number, struct fh_buf *out)
{
	struct fh_buf	  v;
	const char *const q[] = {"queue", queue, NULL};
	enum fh_err	  err;

	fh_buf_init(&v, 16 * 1024);
	if (cfg->redirect_mode_url) {
		err = public_url(cfg, "/twiml-redirect-call", q, &v);
		if (err == FH_OK)
			err = fh_form_add(out, "Url", fh_buf_cstr(&v));
		if (err == FH_OK)
			err = fh_form_add(out, "Method", "GET");
	} else {
		err = redirect_twiml(cfg, number, &v);
		if (err == FH_OK)
			err = fh_form_add(out, "Twiml", fh_buf_cstr(&v));
	}
	fh_buf_release(&v);
	return err;
}

enum fh_err
fh_tr_outbound_form(const struct fh_config *cfg, const char *to,
    const char *from, const char *reservation, const char *task,
    const char *workspace, struct fh_buf *out)
{
	struct fh_buf url, cb;
	const char   *dq[] = {
	      "queue", reservation, "from", from, "task", task, NULL, NULL, NULL};
	const char *sc[] = {
	    "reservation", reservation, "task", task, NULL, NULL, NULL};
	char	    thr[24];
	enum fh_err err;

	/* the workspace only when it is not the one a request without it
	 * goes to: the default workspace's URLs stay as
	 * docs/design/taskrouter-events.md#outbound-dialer shows */
	if (workspace != NULL &&
	    !same(workspace, fh_config_default_workspace(cfg))) {
		dq[6] = sc[4] = "workspace";
		dq[7] = sc[5] = workspace;
	}

	fh_buf_init(&url, 4096);
	fh_buf_init(&cb, 4096);
	err = public_url(cfg, "/dial-queue", dq, &url);
	if (err == FH_OK)
		err = public_url(cfg, "/status-callback", sc, &cb);
	if (err == FH_OK)
		err = fh_form_add(out, "To", to);
	if (err == FH_OK)
		err = fh_form_add(out, "From", from);
	if (err == FH_OK)
		err = fh_form_add(out, "Url", fh_buf_cstr(&url));
	if (err == FH_OK)
		err = fh_form_add(out, "Method", "POST");
	if (err == FH_OK)
		err = fh_form_add(out, "StatusCallback", fh_buf_cstr(&cb));
	if (err == FH_OK)
		err = fh_form_add(out, "StatusCallbackMethod", "POST");
	if (err == FH_OK)
		err = fh_form_add(out, "StatusCallbackEvent", "answered");
	if (err == FH_OK)
		err = fh_form_add(out, "StatusCallbackEvent", "completed");
	if (err == FH_OK)
		err = fh_form_add(out, "MachineDetection", "Enable");
	if (err == FH_OK && cfg->amd_speech_threshold > 0) {
		if (snprintf(thr, sizeof(thr), "%lld",
			cfg->amd_speech_threshold) >= (int)sizeof(thr))
			err = FH_EINTERNAL;
		else
			err = fh_form_add(
			    out, "MachineDetectionSpeechThreshold", thr);
	}
	fh_buf_release(&url);
	fh_buf_release(&cb);
	return err;
}

/* ------------------------------------------------------------ logging */

/* A SID for the log when s is one with prefix, else "-". */
static const char *
sid_or_dash(const char *s, const char *prefix)
{
	return s != NULL && fh_is_sid(s, strlen(s), prefix) ? s : "-";
}

/* Section 2.1: one error line naming the event and the task. */
static void
bad_attributes(struct fh_ctx *ctx, const struct fh_tr_event *ev)
{
	fh_log_error(&ctx->log,
	    "cannot handle event '%s': %s TaskAttributes "
	    "(EventType '%s' TaskSid '%s')",
	    sid_or_dash(ev->sid, "EV"),
	    ev->attributes == NULL ? "missing" : "malformed",
	    fh_word_or_dash(ev->type), sid_or_dash(ev->task_sid, "WT"));
}

/* "YYYY-MM-DDTHH:MM:SSZ" of the wall clock into out (24 bytes). */
static enum fh_err
utc_now(char *out, size_t outlen)
{
	struct tm tm;
	time_t	  t = time(NULL);

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return FH_EINTERNAL;
	return FH_OK;
}

/* ------------------------------------------------------------ claim */

enum claim_result {
	CL_CLAIMED = 0,
	CL_DUPLICATE,
	CL_GONE,   /* the task is not found */
	CL_STATUS, /* the task's status does not allow the work */
	CL_FAILED,
	CL_DEADLINE,
};

/* The claim of one handling. */
struct claim {
	enum fh_tr_feature  feat;
	const char	   *task; /* WT, borrowed */
	struct fh_tr_marker mk;
	char		    claim[FH_TR_CLAIM_LEN + 1];
	char		    at[24];
	char		    status[16]; /* assignment_status read */
	int		    code;	/* Twilio code of a failure */
	enum fh_err	    err;	/* the error of a failure */
};

static int
status_allowed(enum fh_tr_feature f, const char *status)
{
	size_t i;

	for (i = 0; status != NULL && allowed_status[f][i] != NULL; i++)
		if (strcmp(status, allowed_status[f][i]) == 0)
			return 1;
	return 0;
}

/* Read the task into *task, *attrs and etag (one round's step 1). */
static enum claim_result
read_task(struct fh_ctx *ctx, struct claim *c, struct json_object **task,
    struct json_object **attrs, char *etag, size_t etaglen)
{
	struct fh_rest_resp rr;
	const char	   *s;
	enum fh_err	    err;
	enum claim_result   res = CL_FAILED;

	json_object_put(*task);
	json_object_put(*attrs);
	*task = *attrs = NULL;
	memset(&rr, 0, sizeof(rr));
	err = fh_task_fetch(ctx, c->task, task, etag, etaglen, &rr);
	c->err = err;
	c->code = rr.twerr.code;
	if (err == FH_ETASK404) {
		fh_log_info(
		    &ctx->log, "cannot claim task '%s': not found", c->task);
		res = CL_GONE;
		goto out;
	}
	if (err == FH_ETIMEOUT) {
		res = CL_DEADLINE;
		goto out;
	}
	if (err != FH_OK) {
		fh_log_error(&ctx->log,
		    "cannot fetch task '%s': %s (status "
		    "%ld code %d)",
		    c->task, fh_err_name(err), rr.status, rr.twerr.code);
		goto out;
	}
	if (fh_attr_parse_task(*task, attrs) != FH_OK) {
		c->err = FH_EUPSTREAM;
		fh_log_error(&ctx->log, "cannot claim task '%s': %s", c->task,
		    "its attributes are not a JSON object");
		goto out;
	}
	s = fh_json_str(*task, "assignment_status");
	if (snprintf(c->status, sizeof(c->status), "%s",
		s != NULL && strlen(s) < sizeof(c->status) ? s : "-") < 0)
		c->status[0] = '\0';
	res = CL_CLAIMED; /* read: the caller decides */
out:
	fh_rest_resp_release(&rr);
	return res;
}

/*
 * Section 2.3: at most FH_TR_ROUNDS rounds of read, decide, write with
 * If-Match.  A 412 (someone else wrote the task) and a 5xx or network
 * failure that outlived the client's retries both go to the next round,
 * whose read shows whether an earlier write of ours landed.
 */
static enum claim_result
claim_work(struct fh_ctx *ctx, struct claim *c)
{
	struct fh_rest_resp rr;
	struct json_object *task = NULL, *attrs = NULL;
	enum fh_tr_mark	    m;
	enum claim_result   res = CL_FAILED;
	const char	   *key;
	char		    etag[128];
	int		    round;
	long		    last = 0;
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	key = c->feat == FH_TR_FEAT_OUTBOUND ? c->mk.reservation : NULL;
	for (round = 0; round < FH_TR_ROUNDS; round++) {
		res = read_task(ctx, c, &task, &attrs, etag, sizeof(etag));
		if (res != CL_CLAIMED)
			goto out;
		m = fh_tr_marker_state(attrs, c->feat, key, c->claim);
		fh_log_debug(&ctx->log,
		    "task '%s' round %d marker %s status "
		    "%s",
		    c->task, round + 1, fh_tr_mark_name(m), c->status);
		if (m == FH_TR_MARK_OURS)
			goto out; /* an earlier write did land */
		if (m == FH_TR_MARK_OTHER) {
			res = CL_DUPLICATE;
			goto out;
		}
		if (!status_allowed(c->feat, c->status)) {
			res = CL_STATUS;
			goto out;
		}
		if (etag[0] == '\0') {
			/* without it the claim could not be conditional */
			fh_log_error(&ctx->log, "cannot claim task '%s': %s",
			    c->task, "no ETag in Twilio's answer");
			c->err = FH_EUPSTREAM;
			res = CL_FAILED;
			goto out;
		}
		err = fh_tr_marker_add(attrs, c->feat, &c->mk);
		if (err == FH_OK)
			err = fh_task_update_attrs(
			    ctx, c->task, attrs, etag, &rr);
		c->err = err;
		c->code = rr.twerr.code;
		if (err == FH_OK) {
			res = CL_CLAIMED;
			goto out;
		}
		if (err == FH_ETIMEOUT) {
			res = CL_DEADLINE;
			goto out;
		}
		if ((err == FH_ETWILIO && rr.status == 412) ||
		    (err == FH_EUPSTREAM &&
			(rr.status == 0 || rr.status >= 500))) {
			fh_log_info(&ctx->log,
			    "task '%s' claim not written "
			    "(status %ld, round %d): reading it again",
			    c->task, rr.status, round + 1);
			last = rr.status;
			fh_rest_resp_release(&rr);
			continue;
		}
		fh_log_error(&ctx->log,
		    "cannot claim task '%s': %s (status "
		    "%ld code %d)",
		    c->task, fh_err_name(err), rr.status, rr.twerr.code);
		res = CL_FAILED;
		goto out;
	}
	/* the last write may have landed although it failed for us (a 5xx
	 * after applying it, or a retry that met our own change as a 412):
	 * one more read tells, or the work would be lost for good */
	res = read_task(ctx, c, &task, &attrs, etag, sizeof(etag));
	if (res != CL_CLAIMED)
		goto out;
	if (fh_tr_marker_state(attrs, c->feat, key, c->claim) ==
	    FH_TR_MARK_OURS)
		goto out;
	fh_log_error(&ctx->log,
	    "cannot claim task '%s': claim not written "
	    "in %d rounds (last status %ld)",
	    c->task, FH_TR_ROUNDS, last);
	if (c->err == FH_OK)
		c->err = FH_EUPSTREAM;
	res = CL_FAILED;
out:
	fh_rest_resp_release(&rr);
	json_object_put(task);
	json_object_put(attrs);
	return res;
}

/* Set up c for feature f on task: a new claim and the time. */
static enum fh_err
claim_init(struct claim *c, enum fh_tr_feature f, const char *task,
    const struct fh_tr_event *ev)
{
	enum fh_err err;

	memset(c, 0, sizeof(*c));
	c->feat = f;
	c->task = task;
	err = fh_tr_new_claim(c->claim, sizeof(c->claim));
	if (err == FH_OK)
		err = utc_now(c->at, sizeof(c->at));
	c->mk.claim = c->claim;
	c->mk.at = c->at;
	c->mk.event_sid =
	    ev->sid != NULL && fh_is_sid(ev->sid, strlen(ev->sid), "EV")
	    ? ev->sid
	    : NULL;
	return err;
}

/* After a 400 to a final-status update: whether the task has ended
 * (canceled or completed), which makes the update done. */
static int
task_ended(struct fh_ctx *ctx, const char *sid)
{
	struct fh_rest_resp rr;
	struct json_object *task = NULL;
	const char	   *s;
	char		    etag[128];
	int		    ended = 0;
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	err = fh_task_fetch(ctx, sid, &task, etag, sizeof(etag), &rr);
	if (err == FH_ETASK404)
		ended = 1; /* deleted after it ended */
	else if (err == FH_OK) {
		s = fh_json_str(task, "assignment_status");
		ended = s != NULL &&
		    (strcmp(s, "canceled") == 0 || strcmp(s, "completed") == 0);
	}
	fh_rest_resp_release(&rr);
	json_object_put(task);
	return ended;
}

/* End the task with status and reason; a word for the summary. */
static const char *
finish_task(struct fh_ctx *ctx, const char *sid, const char *status,
    const char *reason, enum fh_err *errp)
{
	struct fh_rest_resp rr;
	const char	   *what;
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	err = fh_task_finish(ctx, sid, status, reason, &rr);
	*errp = FH_OK;
	if (err == FH_OK)
		what = status;
	else if (err == FH_ETASK404)
		what = "gone";
	else if (err == FH_ETWILIO && rr.status == 400 && task_ended(ctx, sid))
		what = "ended";
	else if (err == FH_ETIMEOUT) {
		what = "deadline";
		*errp = err;
	} else {
		what = "failed";
		*errp = err;
		fh_log_error(&ctx->log,
		    "cannot end task '%s' as %s: %s "
		    "(status %ld code %d)",
		    sid, status, fh_err_name(err), rr.status, rr.twerr.code);
	}
	fh_rest_resp_release(&rr);
	return what;
}

/* ------------------------------------------------------------ redirect */

static const char *
claim_result_word(enum claim_result r)
{
	switch (r) {
	case CL_DUPLICATE:
		return "duplicate";
	case CL_DEADLINE:
		return "deadline";
	default:
		return "failed";
	}
}

/* A callback or voicemail follow-up entered a placeholder queue: its
 * workflow routes there, which is a configuration error (the follow-up
 * waits for its timeout).  One error line naming the workflow, read from
 * the task when the event does not carry it. */
static void
misrouted_followup(
    struct fh_ctx *ctx, const struct fh_tr_event *ev, struct json_object *attrs)
{
	struct fh_rest_resp rr;
	struct json_object *task = NULL;
	const char	   *wf = ev->workflow_sid;
	char		    etag[128];

	memset(&rr, 0, sizeof(rr));
	if ((wf == NULL || !fh_is_sid(wf, strlen(wf), "WW")) &&
	    ctx->rest != NULL &&
	    fh_task_fetch(ctx, ev->task_sid, &task, etag, sizeof(etag), &rr) ==
		FH_OK)
		wf = fh_json_str(task, "workflow_sid");
	fh_log_error(&ctx->log,
	    "configuration error: %s task '%s' entered "
	    "placeholder queue '%s' through workflow '%s'; follow-ups belong "
	    "in TWILIO_FLEX_CALLBACK_WORKFLOW_SID (left alone, not canceled)",
	    fh_json_str(attrs, "taskType"), ev->task_sid, ev->queue_sid,
	    wf != NULL && fh_is_sid(wf, strlen(wf), "WW") ? wf : "-");
	fh_rest_resp_release(&rr);
	json_object_put(task);
}

/* Section 3.2. */
static enum fh_err
redirect(struct fh_ctx *ctx, const struct fh_tr_event *ev)
{
	struct json_object *attrs = NULL;
	struct fh_rest_resp rr;
	struct fh_buf	    form;
	struct claim	    c;
	enum claim_result   cr;
	const char	   *call = NULL, *result = "failed", *why = "-";
	const char	   *cancel = "-";
	char		    number[24], masked[24], reason[128];
	int64_t		    t0 = fh_now_ms();
	int		    code = 0, gone = 0;
	enum fh_err	    err, cerr;

	memset(&rr, 0, sizeof(rr));
	fh_buf_init(&form, 64 * 1024);
	masked[0] = '\0';
	err =
	    fh_redirect_lookup(ctx->cfg, ev->queue_sid, number, sizeof(number));
	if (err != FH_OK)
		goto out; /* classify found it: cannot happen */
	fh_log_mask_phone(number, masked, sizeof(masked));
	if (ev->task_sid == NULL ||
	    !fh_is_sid(ev->task_sid, strlen(ev->task_sid), "WT")) {
		fh_log_warn(&ctx->log,
		    "redirect skipped: invalid TaskSid "
		    "(event '%s')",
		    sid_or_dash(ev->sid, "EV"));
		err = FH_EINPUT;
		goto out;
	}
	err = fh_tr_event_attributes(ev, &attrs);
	if (err != FH_OK) {
		bad_attributes(ctx, ev);
		goto out;
	}
	if (fh_tr_is_followup(attrs)) {
		misrouted_followup(ctx, ev, attrs);
		goto out; /* never canceled: an agent can still take it */
	}
	call = fh_json_str(attrs, "call_sid");
	if (call == NULL || !fh_is_sid(call, strlen(call), "CA")) {
		fh_log_info(&ctx->log,
		    "redirect skipped: no call_sid (task "
		    "'%s')",
		    ev->task_sid);
		call = NULL;
		goto out;
	}
	fh_log_set_call(&ctx->log, call);
	if (ctx->rest == NULL) {
		err = FH_ECONFIG;
		goto out;
	}

	/* step 3: one redirect per task */
	err = claim_init(&c, FH_TR_FEAT_REDIRECT, ev->task_sid, ev);
	c.mk.to = number;
	if (err != FH_OK) {
		fh_log_error(
		    &ctx->log, "cannot make a claim: %s", "no random bytes");
		goto summary;
	}
	cr = claim_work(ctx, &c);
	if (cr != CL_CLAIMED) {
		result = claim_result_word(cr);
		why = cr == CL_GONE	 ? "task not found"
		    : cr == CL_STATUS	 ? c.status
		    : cr == CL_DUPLICATE ? "claimed before"
					 : "claim";
		err = cr == CL_DUPLICATE || cr == CL_GONE || cr == CL_STATUS
		    ? FH_OK
		    : c.err;
		code = c.code;
		goto summary;
	}

	/* step 4: move the call; never retried but on 429 */
	err = fh_tr_redirect_form(ctx->cfg, ev->queue_sid, number, &form);
	if (err == FH_OK)
		err = fh_call_update(
		    ctx, call, fh_buf_cstr(&form), form.len, &rr);
	code = rr.twerr.code;
	if (err == FH_OK)
		result = "moved";
	else if ((err == FH_ETWILIO && rr.status == 400 && code == 21220) ||
	    err == FH_ENOTFOUND) {
		result = "caller-gone";
		gone = 1;
		err = FH_OK;
	} else {
		result = err == FH_ETIMEOUT ? "deadline" : "failed";
		fh_log_error(&ctx->log,
		    "redirect failed: call '%s' task '%s' "
		    "(%s, status %ld code %d)",
		    call, ev->task_sid, fh_err_name(err), rr.status, code);
		goto summary;
	}

	/* step 5: the cancel must win, so no If-Match */
	if (snprintf(reason, sizeof(reason), "%s%s (no agents available)",
		gone ? "Caller left before redirect to " : "Redirected to ",
		number) >= (int)sizeof(reason)) {
		err = FH_EINTERNAL;
		goto summary;
	}
	cancel = finish_task(ctx, ev->task_sid, "canceled", reason, &cerr);
	if (cerr != FH_OK)
		err = cerr;
summary:
	fh_log_info(&ctx->log,
	    "redirect task '%s' call '%s' queue '%s' to "
	    "'%s': result %s (%s), cancel %s, code %d, %ld ms",
	    ev->task_sid, call != NULL ? call : "-", ev->queue_sid, masked,
	    result, why, cancel, code, (long)(fh_now_ms() - t0));
out:
	fh_rest_resp_release(&rr);
	fh_buf_release(&form);
	json_object_put(attrs);
	return err;
}

/* ------------------------------------------------------------ dialer */

/* The dialer's To and From (sections 5.1 steps 1 and 2).  Returns 1 for
 * a dialer task with valid numbers and SIDs, 0 to stop (logged). */
static int
dialer_numbers(struct fh_ctx *ctx, const struct fh_tr_event *ev,
    struct json_object *attrs, char *to, char *from, size_t len)
{
	const struct fh_config *cfg = ctx->cfg;
	const char	       *task = sid_or_dash(ev->task_sid, "WT");

	if (fh_tr_attr_get(attrs, cfg->outbound_to_attribute) == NULL) {
		fh_log_debug(&ctx->log, "event ignored: task '%s' has no %s",
		    task, cfg->outbound_to_attribute);
		return 0;
	}
	if (fh_tr_is_followup(attrs)) {
		/* only a live call waiting in a queue is dialed for */
		fh_log_info(&ctx->log,
		    "outbound skipped: task '%s' is a %s "
		    "follow-up, no caller waits",
		    task, fh_json_str(attrs, "taskType"));
		return 0;
	}
	if (!fh_tr_e164(
		fh_tr_attr_get(attrs, cfg->outbound_to_attribute), to, len)) {
		fh_log_warn(&ctx->log, "outbound skipped: invalid %s '%s'",
		    cfg->outbound_to_attribute, task);
		return 0;
	}
	if (!fh_tr_e164(fh_tr_attr_get(attrs, cfg->outbound_from_attribute),
		from, len)) {
		fh_log_warn(&ctx->log, "outbound skipped: invalid %s '%s'",
		    cfg->outbound_from_attribute, task);
		return 0;
	}
	if (ev->task_sid == NULL ||
	    !fh_is_sid(ev->task_sid, strlen(ev->task_sid), "WT")) {
		fh_log_warn(&ctx->log,
		    "outbound skipped: invalid TaskSid "
		    "(event '%s')",
		    sid_or_dash(ev->sid, "EV"));
		return 0;
	}
	if (ev->reservation_sid == NULL ||
	    !fh_is_sid(
		ev->reservation_sid, strlen(ev->reservation_sid), "WR")) {
		fh_log_warn(&ctx->log,
		    "outbound skipped: invalid "
		    "ReservationSid '%s'",
		    task);
		return 0;
	}
	return 1;
}

/* Section 5.1. */
static enum fh_err
outbound(struct fh_ctx *ctx, const struct fh_tr_event *ev)
{
	struct json_object *attrs = NULL;
	struct fh_rest_resp rr;
	struct fh_buf	    form;
	struct claim	    c;
	enum claim_result   cr;
	char		    to[24], from[24], masked[24], call[40];
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	fh_buf_init(&form, 16 * 1024);
	err = fh_tr_event_attributes(ev, &attrs);
	if (err != FH_OK) {
		bad_attributes(ctx, ev);
		goto out;
	}
	if (!dialer_numbers(ctx, ev, attrs, to, from, sizeof(to)))
		goto out;
	fh_log_mask_phone(to, masked, sizeof(masked));
	if (ctx->rest == NULL) {
		err = FH_ECONFIG;
		goto out;
	}

	/* step 3: one call per reservation */
	err = claim_init(&c, FH_TR_FEAT_OUTBOUND, ev->task_sid, ev);
	c.mk.reservation = ev->reservation_sid;
	if (err != FH_OK) {
		fh_log_error(
		    &ctx->log, "cannot make a claim: %s", "no random bytes");
		goto out;
	}
	cr = claim_work(ctx, &c);
	if (cr != CL_CLAIMED) {
		fh_log_info(&ctx->log,
		    "outbound reservation '%s' task '%s': "
		    "result %s (status %s, code %d)",
		    ev->reservation_sid, ev->task_sid,
		    cr == CL_GONE ? "task not found" : claim_result_word(cr),
		    c.status, c.code);
		err = cr == CL_DUPLICATE || cr == CL_GONE || cr == CL_STATUS
		    ? FH_OK
		    : c.err;
		goto out;
	}

	/* steps 4 and 5: the call, never retried but on 429 */
	err = fh_tr_outbound_form(ctx->cfg, to, from, ev->reservation_sid,
	    ev->task_sid, ev->workspace_sid, &form);
	if (err == FH_OK)
		err = fh_call_create(
		    ctx, fh_buf_cstr(&form), form.len, call, sizeof(call), &rr);
	if (err == FH_OK) {
		fh_log_set_call(&ctx->log, call);
		fh_log_info(&ctx->log,
		    "outbound call placed: call '%s' "
		    "reservation '%s' task '%s' to '%s'",
		    call, ev->reservation_sid, ev->task_sid, masked);
		goto out;
	}
	fh_log_error(&ctx->log,
	    "cannot place outbound call: reservation "
	    "'%s' task '%s' to '%s' (%s, status %ld code %d)",
	    ev->reservation_sid, ev->task_sid, masked, fh_err_name(err),
	    rr.status, rr.twerr.code);
	/* a 4xx placed nothing: the task may go to the next line now; a
	 * 5xx or a timeout may have placed it, and the marker stays */
	/* (not after 429, which is retried, nor 401/403: the reject would
	 * fail the same way with our credentials) */
	if (rr.status >= 400 && rr.status <= 499 && rr.status != 429 &&
	    rr.status != 401 && rr.status != 403 &&
	    ctx->cfg->outbound_reject_on_failure)
		fh_reservation_reject_logged(
		    ctx, ev->task_sid, ev->reservation_sid);
out:
	fh_rest_resp_release(&rr);
	fh_buf_release(&form);
	json_object_put(attrs);
	return err;
}

/* Section 5.3: complete a dialer task at wrap-up. */
static enum fh_err
wrapup(struct fh_ctx *ctx, const struct fh_tr_event *ev)
{
	struct json_object *attrs = NULL;
	const char	   *what;
	enum fh_err	    err;

	err = fh_tr_event_attributes(ev, &attrs);
	if (err != FH_OK) {
		bad_attributes(ctx, ev);
		goto out;
	}
	if (fh_tr_attr_get(attrs, ctx->cfg->outbound_to_attribute) == NULL) {
		fh_log_debug(&ctx->log, "event ignored: task '%s' has no %s",
		    sid_or_dash(ev->task_sid, "WT"),
		    ctx->cfg->outbound_to_attribute);
		goto out;
	}
	if (fh_tr_is_followup(attrs)) {
		/* an agent's wrap-up of a follow-up is the agent's */
		fh_log_debug(&ctx->log,
		    "event ignored: task '%s' is a %s "
		    "follow-up",
		    sid_or_dash(ev->task_sid, "WT"),
		    fh_json_str(attrs, "taskType"));
		goto out;
	}
	if (ev->task_sid == NULL ||
	    !fh_is_sid(ev->task_sid, strlen(ev->task_sid), "WT")) {
		fh_log_warn(&ctx->log,
		    "wrap-up skipped: invalid TaskSid "
		    "(event '%s')",
		    sid_or_dash(ev->sid, "EV"));
		err = FH_EINPUT;
		goto out;
	}
	if (ctx->rest == NULL) {
		err = FH_ECONFIG;
		goto out;
	}
	what = finish_task(ctx, ev->task_sid, "completed", REASON_WRAPUP, &err);
	fh_log_info(&ctx->log, "wrap-up task '%s' reservation '%s': %s",
	    ev->task_sid, sid_or_dash(ev->reservation_sid, "WR"), what);
out:
	json_object_put(attrs);
	return err;
}

/* ------------------------------------------------------------ handler */

enum fh_err
fh_handle_tr_event(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	struct fh_tr_event ev;
	enum fh_tr_action  a;
	enum fh_err	   err = FH_OK;

	/* the answer is fixed before any work: 204, JSON, no body */
	fh_resp_empty(resp, 204);
	resp->content_type = "application/json";

	fh_tr_event_parse(&req->form, &ev);
	fh_log_set_task(&ctx->log, ev.task_sid);
	fh_log_debug(&ctx->log,
	    "event '%s' EventType '%s' task '%s' queue "
	    "'%s' ('%s') reservation '%s' worker '%s' ('%s') Timestamp '%s': "
	    "%s",
	    sid_or_dash(ev.sid, "EV"), fh_word_or_dash(ev.type),
	    sid_or_dash(ev.task_sid, "WT"), sid_or_dash(ev.queue_sid, "WQ"),
	    ev.queue_name != NULL ? ev.queue_name : "-",
	    sid_or_dash(ev.reservation_sid, "WR"),
	    sid_or_dash(ev.worker_sid, "WK"),
	    ev.worker_name != NULL ? ev.worker_name : "-",
	    fh_word_or_dash(ev.timestamp),
	    ev.description != NULL ? ev.description : "-");
	a = fh_tr_classify(ctx->cfg, &ev);
	/* every REST call of the event goes to its own workspace, one that
	 * classification found listed */
	if (a != FH_TR_FOREIGN)
		ctx->workspace = ev.workspace_sid;
	switch (a) {
	case FH_TR_FOREIGN:
		fh_log_warn(&ctx->log,
		    "event ignored: '%s' (EventType '%s') "
		    "is not from this account and workspace (WorkspaceSid "
		    "'%s' is neither TWILIO_FLEX_WORKSPACE_SID nor in "
		    "FLEXHOOKS_EVENT_WORKSPACES)",
		    sid_or_dash(ev.sid, "EV"), fh_word_or_dash(ev.type),
		    sid_or_dash(ev.workspace_sid, "WS"));
		break;
	case FH_TR_OTHER_QUEUE:
		fh_log_debug(&ctx->log,
		    "event ignored: '%s' queue '%s' is "
		    "not a placeholder",
		    sid_or_dash(ev.sid, "EV"), sid_or_dash(ev.queue_sid, "WQ"));
		break;
	case FH_TR_REDIRECT:
		err = redirect(ctx, &ev);
		break;
	case FH_TR_OUTBOUND:
		err = outbound(ctx, &ev);
		break;
	case FH_TR_WRAPUP:
		err = wrapup(ctx, &ev);
		break;
	case FH_TR_IGNORE:
	case FH_TR__MAX:
		fh_log_info(&ctx->log, "event ignored: EventType '%s' Sid '%s'",
		    fh_word_or_dash(ev.type), sid_or_dash(ev.sid, "EV"));
		break;
	}
	ctx->workspace = NULL; /* borrowed from this request's form */
	return err;
}
