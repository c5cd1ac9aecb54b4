/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wait.c - the wait experience (docs/design/wait-experience.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "flex/attr.h"
#include "flex/vmtask.h"
#include "flex/wait_url.h"
#include "lib/claim.h"
#include "flex/followup.h"
#include "lib/form.h"
#include "lib/json.h"
#include "lib/prompts.h"
#include "flex/qstats.h"
#include "flex/tasks.h"
#include "lib/twiml.h"
#include "lib/valid.h"
#include "flex/vmail.h"
#include "handlers/wait.h"

#define CLAIM_LEN 32
#define URL_MAX (8 * 1024)

/* ------------------------------------------------------------ the fields */

static enum fh_err
valid_lookup(const char *s, size_t len, struct fh_val *out)
{
	if (fh_parse_int(s, len, 1, FH_WAIT_MAX_LOOKUPS, &out->num) != FH_OK)
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	return FH_OK;
}

static enum fh_err
valid_try(const char *s, size_t len, struct fh_val *out)
{
	if (fh_parse_int(s, len, 1, 3, &out->num) != FH_OK)
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	return FH_OK;
}

static enum fh_err
valid_followup(const char *s, size_t len, struct fh_val *out)
{
	if (len != 9 || memcmp(s, "voicemail", 9) != 0)
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	return FH_OK;
}

static enum fh_err
valid_mode(const char *s, size_t len, struct fh_val *out)
{
	if (len == 0 || len > 64 || strlen(s) != len ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz-") != len)
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	return FH_OK;
}

/* announcedAt: seconds since the epoch */
static enum fh_err
valid_epoch(const char *s, size_t len, struct fh_val *out)
{
	if (fh_parse_int(s, len, 1, 1LL << 40, &out->num) != FH_OK)
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	return FH_OK;
}

/* Digits: the keys Twilio sends (at most 64), or "hangup" (a Record
 * action). */
static enum fh_err
valid_digits(const char *s, size_t len, struct fh_val *out)
{
	if (len > 64 || strlen(s) != len ||
	    (strspn(s, "0123456789*# ") != len && strcmp(s, "hangup") != 0))
		return FH_EINPUT;
	out->str = s;
	out->len = len;
	return FH_OK;
}

enum w_field {
	W_MODE,
	/* state parameters, in URL order */
	W_TASK,
	W_LOOKUP,
	W_FOLLOWUP,
	W_UPDATED,
	W_TO,
	W_CALLED_NUM,
	W_WORKFLOW,
	W_TTIMEOUT,
	W_TPRIO,
	W_TCHAN,
	W_VSTART,
	W_TRY,
	W_SKIP,
	W_TQUEUE, /* the hold state
		     (docs/design/wait-experience.md#queue-statistics) */
	W_ANNOUNCED,
	W_OFFERED,
	/* Twilio's parameters */
	W_CALL_SID,
	W_QUEUE_SID,
	W_DIGITS,
	W_CALLER,
	W_FROM,
	W_CALLED,
	W_TO_TW,
	W_REC_SID,
	W_REC_URL,
	W_TR_SID,
	W_TR_TEXT,
	W_TR_STATUS,
	W_CALL_STATUS,
	W__MAX
};

static const struct fh_field w_fields[W__MAX] = {
    [W_MODE] = {"mode", NULL, valid_mode, 0},
    [W_TASK] = {"enqueuedTaskSid", NULL, fh_valid_sid_wt, 0},
    [W_LOOKUP] = {"lookup", NULL, valid_lookup, 0},
    [W_FOLLOWUP] = {"followUp", NULL, valid_followup, 0},
    [W_UPDATED] = {"updatedPhoneNumber", NULL, fh_valid_e164, 0},
    [W_TO] = {"to", NULL, fh_valid_e164, 0},
    [W_CALLED_NUM] = {"calledNumber", NULL, fh_valid_from_number, 0},
    [W_WORKFLOW] = {"workflowSid", NULL, fh_valid_sid_ww, 0},
    [W_TTIMEOUT] = {"taskTimeout", NULL, fh_valid_timeout, 0},
    [W_TPRIO] = {"taskPriority", NULL, fh_valid_priority, 0},
    [W_TCHAN] = {"taskChannel", NULL, fh_valid_channel, 0},
    [W_VSTART] = {"virtualStartTime", NULL, fh_valid_datetime, 0},
    [W_TRY] = {"try", NULL, valid_try, 0},
    [W_SKIP] = {"skipGreeting", NULL, fh_valid_bool, 0},
    [W_TQUEUE] = {"taskQueueSid", NULL, fh_valid_sid_wq, 0},
    [W_ANNOUNCED] = {"announcedAt", NULL, valid_epoch, 0},
    [W_OFFERED] = {"offered", NULL, fh_valid_bool, 0},
    [W_CALL_SID] = {"CallSid", NULL, fh_valid_sid_ca, 0},
    [W_QUEUE_SID] = {"QueueSid", NULL, fh_valid_sid_qu, 0},
    [W_DIGITS] = {"Digits", NULL, valid_digits, 0},
    [W_CALLER] = {"Caller", NULL, fh_valid_text256, 0},
    [W_FROM] = {"From", NULL, fh_valid_text256, 0},
    [W_CALLED] = {"Called", NULL, fh_valid_text256, 0},
    [W_TO_TW] = {"To", NULL, fh_valid_text256, 0},
    [W_REC_SID] = {"RecordingSid", NULL, fh_valid_sid_re, 0},
    [W_REC_URL] = {"RecordingUrl", NULL, fh_valid_https_url, 0},
    [W_TR_SID] = {"TranscriptionSid", NULL, fh_valid_sid_tr, 0},
    [W_TR_TEXT] = {"TranscriptionText", NULL, fh_valid_text8k, 0},
    [W_TR_STATUS] = {"TranscriptionStatus", NULL, fh_valid_text256, 0},
    [W_CALL_STATUS] = {"CallStatus", NULL, fh_valid_text256, 0},
};

/* ------------------------------------------------------------ the state */

/* What one generated URL carries (only set fields are written). */
struct wst {
	const char *task;
	long long   lookup; /* 0: not written */
	int	    voicemail;
	const char *updated;
	const char *to;
	const char *called;
	const char *workflow;
	const char *timeout;
	const char *priority;
	const char *channel;
	const char *vstart; /* YYYY-MM-DDTHH:MM:SSZ */
	long long   try_n;  /* 0: not written */
	int	    skip;
};

/* One request being answered. */
struct wx {
	struct fh_ctx	    *ctx;
	const struct fh_req *req;
	struct fh_twiml	     tw;
	struct fh_val	     val[W__MAX];
	struct fh_buf	     base;   /* {W}, with credentials: secret */
	struct fh_buf	     url;    /* the URL being written: secret */
	const char	    *caller; /* E.164 or NULL (withheld) */
	const char	    *called; /* E.164, sip: or NULL */
	char		     caller_own[48];
	char		     called_own[300];
	int		     hangup_fallback; /* the call left the queue */
	int		     create_unsure;   /* the last create got no
					       * answer: it may have made
					       * the task */
	/* the hold state, carried by the hold and menu URLs while
	 * announcements or offer thresholds are configured */
	const char *hq; /* the task's TaskQueue */
	char	    hq_own[40];
	long long   announced; /* last announcement, epoch s */
	int	    offered;   /* the offer has started */
};

/* Announcements or offer thresholds configured: the hold state is kept. */
static int
hold_state_on(const struct fh_config *cfg)
{
	return cfg->announce_position || cfg->announce_wait ||
	    cfg->offer_after_s > 0 || cfg->offer_position > 0;
}

/* The modes whose URLs carry the hold state: the loop and its menus. */
static int
hold_mode(const char *mode)
{
	return strcmp(mode, "main-wait-loop") == 0 ||
	    strncmp(mode, "handle-", 7) == 0;
}

static const char *
param(const struct wx *w, enum w_field f)
{
	return w->val[f].str;
}

/* Validate each field on its own: an invalid one counts as absent. */
static void
read_fields(struct wx *w)
{
	size_t i, bad;
	int    missing;

	for (i = 0; i < W__MAX; i++) {
		memset(&w->val[i], 0, sizeof(w->val[i]));
		if (fh_form_validate(&w->req->params, &w_fields[i], 1,
			&w->val[i], &bad, &missing) != FH_OK) {
			memset(&w->val[i], 0, sizeof(w->val[i]));
			fh_log_warn(&w->ctx->log,
			    "invalid parameter '%s' "
			    "ignored",
			    w_fields[i].name);
		}
	}
}

/* The E.164 form of s into own (48 bytes), or NULL. */
static const char *
as_e164(const char *s, char *own, size_t ownlen)
{
	struct fh_val v;

	memset(&v, 0, sizeof(v));
	if (s == NULL || fh_valid_e164(s, strlen(s), &v) != FH_OK ||
	    v.len + 1 > ownlen)
		return NULL;
	memcpy(own, v.str, v.len);
	own[v.len] = '\0';
	return own;
}

/* Caller (else From) when E.164 and not withheld; Called (else To) when
 * E.164 or sip:. */
static void
read_numbers(struct wx *w)
{
	const char   *s;
	struct fh_val v;

	s = param(w, W_CALLER) != NULL ? param(w, W_CALLER) : param(w, W_FROM);
	/* Twilio's stand-ins for a withheld number look like E.164 */
	w->caller = s == NULL || fh_is_withheld_caller(s, strlen(s))
	    ? NULL
	    : as_e164(s, w->caller_own, sizeof(w->caller_own));
	s = param(w, W_CALLED) != NULL ? param(w, W_CALLED) : param(w, W_TO_TW);
	w->called = NULL;
	memset(&v, 0, sizeof(v));
	if (s != NULL && fh_valid_from_number(s, strlen(s), &v) == FH_OK &&
	    v.len < sizeof(w->called_own)) {
		memcpy(w->called_own, v.str, v.len);
		w->called_own[v.len] = '\0';
		w->called = w->called_own;
	}
}

/* ------------------------------------------------------------- the URLs */

/* Append s percent-encoded (every byte but A-Z a-z 0-9 - . _ ~). */
static enum fh_err
enc(struct fh_buf *b, const char *s)
{
	return fh_url_encode(b, s, strlen(s));
}

static enum fh_err
qadd(struct fh_buf *b, const char *name, const char *value)
{
	enum fh_err err;

	if (value == NULL)
		return FH_OK;
	if ((err = fh_buf_addch(b, '&')) != FH_OK ||
	    (err = fh_buf_addstr(b, name)) != FH_OK ||
	    (err = fh_buf_addch(b, '=')) != FH_OK)
		return err;
	return enc(b, value);
}

static enum fh_err
qadd_int(struct fh_buf *b, const char *name, long long v)
{
	char num[24];

	if (v <= 0)
		return FH_OK;
	if (snprintf(num, sizeof(num), "%lld", v) >= (int)sizeof(num))
		return FH_EINTERNAL;
	return qadd(b, name, num);
}

/* {W}?mode=M and the set state parameters, in the spec's order, into b. */
static enum fh_err
build_url(const struct wx *w, struct fh_buf *b, const char *mode,
    const struct wst *st)
{
	enum fh_err err;

	if (w->base.len == 0)
		return FH_ECONFIG;
	if ((err = fh_buf_add(b, w->base.data, w->base.len)) != FH_OK ||
	    (err = fh_buf_addstr(b, "?mode=")) != FH_OK ||
	    (err = enc(b, mode)) != FH_OK ||
	    (err = qadd(b, "enqueuedTaskSid", st->task)) != FH_OK ||
	    (err = qadd_int(b, "lookup", st->lookup)) != FH_OK ||
	    (err = qadd(b, "followUp", st->voicemail ? "voicemail" : NULL)) !=
		FH_OK ||
	    (err = qadd(b, "updatedPhoneNumber", st->updated)) != FH_OK ||
	    (err = qadd(b, "to", st->to)) != FH_OK ||
	    (err = qadd(b, "calledNumber", st->called)) != FH_OK ||
	    (err = qadd(b, "workflowSid", st->workflow)) != FH_OK ||
	    (err = qadd(b, "taskTimeout", st->timeout)) != FH_OK ||
	    (err = qadd(b, "taskPriority", st->priority)) != FH_OK ||
	    (err = qadd(b, "taskChannel", st->channel)) != FH_OK ||
	    (err = qadd(b, "virtualStartTime", st->vstart)) != FH_OK ||
	    (err = qadd_int(b, "try", st->try_n)) != FH_OK ||
	    (err = qadd(b, "skipGreeting", st->skip ? "true" : NULL)) != FH_OK)
		return err;
	if (!hold_mode(mode) || !hold_state_on(w->ctx->cfg))
		return FH_OK;
	if ((err = qadd(b, "taskQueueSid", w->hq)) != FH_OK ||
	    (err = qadd_int(b, "announcedAt", w->announced)) != FH_OK)
		return err;
	return qadd(b, "offered", w->offered ? "true" : NULL);
}

/* The URL in w->url, or NULL (which makes the writer fail). */
static const char *
url(struct wx *w, const char *mode, const struct wst *st)
{
	fh_buf_reset(&w->url);
	if (build_url(w, &w->url, mode, st) != FH_OK)
		return NULL;
	return fh_buf_cstr(&w->url);
}

/* ------------------------------------------------------------ the TwiML */

static void
say_text(struct wx *w, const char *text)
{
	const struct fh_config *cfg = w->ctx->cfg;

	fh_twiml_open(&w->tw, FH_TW_SAY);
	fh_twiml_attr(&w->tw, FH_TA_VOICE,
	    cfg->say_voice != NULL ? cfg->say_voice : "Polly.Joanna");
	if (cfg->say_language != NULL)
		fh_twiml_attr(&w->tw, FH_TA_LANGUAGE, cfg->say_language);
	fh_twiml_text(&w->tw, text);
	fh_twiml_close(&w->tw);
}

static void
say(struct wx *w, enum fh_prompt p)
{
	say_text(w, fh_prompt_text(w->ctx->cfg->prompts, p));
}

/* Say p with its "{n}" replaced by n; nothing when it cannot be built. */
static void
say_n(struct wx *w, enum fh_prompt p, long long n)
{
	struct fh_buf b;

	fh_buf_init(&b, 4 * FH_PROMPT_MAX_TEXT);
	if (fh_prompt_format(w->ctx->cfg->prompts, p, n, &b) == FH_OK)
		say_text(w, fh_buf_cstr(&b));
	fh_buf_release(&b);
}

static void
redirect(struct wx *w, const char *mode, const struct wst *st)
{
	fh_twiml_open(&w->tw, FH_TW_REDIRECT);
	fh_twiml_text(&w->tw, url(w, mode, st));
	fh_twiml_close(&w->tw);
}

/* <Gather input="dtmf" timeout [numDigits] [finishOnKey] action>, left
 * open for its prompt. */
static void
gather(struct wx *w, const char *timeout, const char *num_digits,
    const char *finish, const char *mode, const struct wst *st)
{
	fh_twiml_open(&w->tw, FH_TW_GATHER);
	fh_twiml_attr(&w->tw, FH_TA_INPUT, "dtmf");
	fh_twiml_attr(&w->tw, FH_TA_TIMEOUT, timeout);
	if (num_digits != NULL)
		fh_twiml_attr(&w->tw, FH_TA_NUM_DIGITS, num_digits);
	if (finish != NULL)
		fh_twiml_attr(&w->tw, FH_TA_FINISH_ON_KEY, finish);
	fh_twiml_attr(&w->tw, FH_TA_ACTION, url(w, mode, st));
}

static void
play_hold(struct wx *w)
{
	fh_twiml_open(&w->tw, FH_TW_PLAY);
	fh_twiml_text(&w->tw, w->ctx->cfg->hold_music_url);
	fh_twiml_close(&w->tw);
}

/* LOOP: back to the hold loop, without the greeting. */
static void
loop(struct wx *w, const char *task)
{
	struct wst st;

	memset(&st, 0, sizeof(st));
	st.task = task;
	if (task == NULL)
		st.lookup =
		    w->val[W_LOOKUP].str != NULL ? w->val[W_LOOKUP].num : 0;
	st.skip = 1;
	redirect(w, "main-wait-loop", &st);
}

/* ENTRY: the number-entry Gather, then LOOP. */
static void
entry(struct wx *w, const char *task, int voicemail)
{
	struct wst st;

	memset(&st, 0, sizeof(st));
	st.task = task;
	st.voicemail = voicemail;
	gather(w, "10", "15", "#",
	    "handle-callback-for-other-number-confirmation-option", &st);
	say(w, FH_PR_CB_OTHER_NUMBER);
	fh_twiml_close(&w->tw);
	loop(w, task);
}

/* SUBMIT(n): on to submit-callback or start-voicemail. */
static void
submit(struct wx *w, const char *task, int voicemail, const char *n)
{
	struct wst st;

	memset(&st, 0, sizeof(st));
	st.task = task;
	st.to = n;
	redirect(w, voicemail ? "start-voicemail" : "submit-callback", &st);
}

static void
hangup(struct wx *w)
{
	fh_twiml_open(&w->tw, FH_TW_HANGUP);
	fh_twiml_close(&w->tw);
}

/* Say p, then LOOP. */
static void
say_loop(struct wx *w, enum fh_prompt p, const char *task)
{
	say(w, p);
	loop(w, task);
}

/* Say p, then hang up. */
static void
say_hangup(struct wx *w, enum fh_prompt p)
{
	say(w, p);
	hangup(w);
}

/* ------------------------------------------------- the pending-task lookup */

/* The task_queue_sid of the task sid in the array tasks into queue (40
 * bytes; "" when not there or not a WQ SID). */
static void
queue_of(struct json_object *tasks, const char *sid, char *queue)
{
	struct json_object *t;
	const char	   *s;
	size_t		    i;

	queue[0] = '\0';
	for (i = 0; i < json_object_array_length(tasks); i++) {
		t = json_object_array_get_idx(tasks, i);
		s = fh_json_str(t, "sid");
		if (s == NULL || strcmp(s, sid) != 0)
			continue;
		s = fh_json_str(t, "task_queue_sid");
		if (s != NULL && fh_is_sid(s, strlen(s), "WQ"))
			memcpy(queue, s, 35);
		return;
	}
}

/* One list request with query q; 1 when the caller's task was found (its
 * queue in queue, 40 bytes). */
static int
list_and_match(
    struct wx *w, const char *q, char *sid, char *queue, int *unreadable)
{
	struct fh_rest_resp rr;
	struct json_object *tasks = NULL;
	enum fh_err	    err;
	int		    found = 0;

	memset(&rr, 0, sizeof(rr));
	err = fh_task_list(w->ctx, q, &tasks, &rr);
	if (err != FH_OK)
		fh_log_warn(&w->ctx->log,
		    "cannot list pending tasks: %s "
		    "(status %ld code %d)",
		    fh_err_name(err), rr.status, rr.twerr.code);
	else
		found = fh_tasks_find_call(
		    tasks, param(w, W_CALL_SID), sid, unreadable);
	if (found)
		queue_of(tasks, sid, queue);
	json_object_put(tasks);
	fh_rest_resp_release(&rr);
	return found;
}

/* Section 4.1: the caller's pending task into sid (35 bytes) and its
 * TaskQueue into queue (40 bytes, "" when unknown); 0 when not found (a
 * failed request counts as not found). */
static int
lookup(struct wx *w, char *sid, char *queue)
{
	struct fh_rest_resp rr;
	struct fh_buf	    q, expr;
	char		    name[128], size[24];
	const char	   *wf = NULL;
	int		    found = 0, unreadable = 0;
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	sid[0] = queue[0] = '\0';
	if (param(w, W_CALL_SID) == NULL)
		return 0;
	fh_buf_init(&q, 2048);
	fh_buf_init(&expr, 256);
	if (param(w, W_QUEUE_SID) != NULL) {
		err = fh_queue_fetch(
		    w->ctx, param(w, W_QUEUE_SID), name, sizeof(name), &rr);
		if (err != FH_OK)
			fh_log_warn(&w->ctx->log,
			    "cannot fetch queue '%s': "
			    "%s (status %ld)",
			    param(w, W_QUEUE_SID), fh_err_name(err), rr.status);
		else if (fh_is_sid(name, strlen(name), "WW"))
			wf = name;
		fh_rest_resp_release(&rr);
	}
	if (snprintf(size, sizeof(size), "%lld",
		w->ctx->cfg->task_lookup_page_size > 0
		    ? w->ctx->cfg->task_lookup_page_size
		    : 50) >= (int)sizeof(size))
		goto out;
	if (fh_form_add(&q, "AssignmentStatus", "pending") != FH_OK ||
	    fh_form_add(&q, "AssignmentStatus", "reserved") != FH_OK ||
	    (wf != NULL && fh_form_add(&q, "WorkflowSid", wf) != FH_OK) ||
	    fh_form_add(&q, "Ordering", "DateCreated:desc") != FH_OK ||
	    fh_form_add(&q, "PageSize", size) != FH_OK)
		goto out;
	found = list_and_match(w, fh_buf_cstr(&q), sid, queue, &unreadable);
	if (found || !unreadable)
		goto out;
	fh_buf_reset(&q);
	if (fh_buf_printf(&expr, "call_sid == \"%s\"", param(w, W_CALL_SID)) !=
		FH_OK ||
	    fh_form_add(&q, "AssignmentStatus", "pending") != FH_OK ||
	    fh_form_add(&q, "AssignmentStatus", "reserved") != FH_OK ||
	    fh_form_add(&q, "EvaluateTaskAttributes", fh_buf_cstr(&expr)) !=
		FH_OK)
		goto out;
	found = list_and_match(w, fh_buf_cstr(&q), sid, queue, &unreadable);
out:
	fh_buf_release(&expr);
	fh_buf_release(&q);
	if (found)
		fh_log_set_task(&w->ctx->log, sid);
	return found;
}

/* ------------------------------------------------------- the hold loop */

/* The lookup found the task in queue: the hold state follows it. */
static void
set_queue(struct wx *w, const char *queue)
{
	if (queue[0] == '\0' || !hold_state_on(w->ctx->cfg))
		return;
	memcpy(w->hq_own, queue, 35);
	w->hq = w->hq_own;
}

static void
mode_initialize(struct wx *w)
{
	struct wst st;
	char	   sid[40], queue[40];

	memset(&st, 0, sizeof(st));
	if (lookup(w, sid, queue)) {
		st.task = sid;
		set_queue(w, queue);
	} else
		st.lookup = 1;
	redirect(w, "main-wait-loop", &st);
}

/* What the hold loop knows of the caller's place. */
struct place {
	long long pos; /* 0: unknown */
	long long secs;
	int	  est; /* secs is an estimate */
};

/* The caller's position and estimated wait (README.md): the queue's
 * figures come from the per-process cache; the task itself is fetched
 * only when the cached line does not list it (new since the last read,
 * moved to another queue, or no queue known yet).  Every failure leaves
 * the place unknown. */
static void
find_place(struct wx *w, const char *task, struct place *pl)
{
	const struct fh_qstats *st = NULL;
	struct fh_rest_resp	rr;
	struct json_object     *t = NULL, *v;
	const char	       *s, *vst;
	long long		prio = 0;
	char			etag[128];
	enum fh_err		err;

	memset(pl, 0, sizeof(*pl));
	memset(&rr, 0, sizeof(rr));
	if (w->hq != NULL)
		st = fh_qstats_get(w->ctx, w->hq);
	pl->pos = fh_qstats_position(st, task, 0, NULL);
	/* without the queue's list the task alone gives no position: no
	 * fetch (an outage must not add a request per caller per loop) */
	if (pl->pos == 0 && (st == NULL || st->have_list)) {
		err = fh_task_fetch(w->ctx, task, &t, etag, sizeof(etag), &rr);
		if (err != FH_OK) {
			fh_log_warn(&w->ctx->log,
			    "cannot fetch task '%s' for "
			    "its place in line: %s (status %ld)",
			    task, fh_err_name(err), rr.status);
			goto out;
		}
		s = fh_json_str(t, "assignment_status");
		if (s == NULL || strcmp(s, "pending") != 0)
			goto out; /* reserved: an agent is being offered */
		s = fh_json_str(t, "task_queue_sid");
		if (s == NULL || !fh_is_sid(s, strlen(s), "WQ"))
			goto out;
		if (w->hq == NULL || strcmp(w->hq, s) != 0) {
			memcpy(w->hq_own, s, 35);
			w->hq = w->hq_own;
			st = fh_qstats_get(w->ctx, w->hq);
		}
		if (json_object_object_get_ex(t, "priority", &v) &&
		    json_object_is_type(v, json_type_int))
			prio = (long long)json_object_get_int64(v);
		vst = fh_json_str(t, "virtual_start_time");
		if (vst == NULL)
			vst = fh_json_str(t, "date_created");
		if (vst == NULL || strlen(vst) >= 24)
			goto out;
		pl->pos = fh_qstats_position(st, task, prio, vst);
	}
	if (pl->pos > 0)
		pl->est = fh_qstats_estimate(st, pl->pos, &pl->secs);
out:
	json_object_put(t);
	fh_rest_resp_release(&rr);
}

/* Say the announcements due (FLEXHOOKS_ANNOUNCE) and decide whether "*" is
 * offered (FLEXHOOKS_OFFER_CALLBACK_*); 1 when it is.  Without the hold
 * state configured: no request, nothing said, always offered. */
static int
announce_and_offer(struct wx *w, const char *task)
{
	const struct fh_config *cfg = w->ctx->cfg;
	struct place		pl;
	enum fh_prompt		p;
	long long		now = (long long)time(NULL), n;
	int			due, thresholds, known = 0, pass = 0, said = 0;

	if (!hold_state_on(cfg))
		return 1;
	thresholds = cfg->offer_after_s > 0 || cfg->offer_position > 0;
	due = (cfg->announce_position || cfg->announce_wait) &&
	    (w->announced == 0 || now - w->announced >= cfg->announce_every_s ||
		w->announced > now + 300);
	if (!due && (!thresholds || w->offered))
		return 1;
	find_place(w, task, &pl);
	if (due) {
		if (cfg->announce_position && pl.pos > 0) {
			if (pl.pos == 1)
				say(w, FH_PR_POSITION_NEXT);
			else
				say_n(w, FH_PR_POSITION, pl.pos);
			said = 1;
		}
		if (cfg->announce_wait && pl.est) {
			p = fh_qstats_phrase(pl.secs, &n);
			say_n(w, p, n);
			said = 1;
		}
		if (said)
			w->announced = now;
	}
	if (!thresholds || w->offered)
		return 1;
	if (cfg->offer_after_s > 0 && pl.est) {
		known = 1;
		pass |= pl.secs >= cfg->offer_after_s;
	}
	if (cfg->offer_position > 0 && pl.pos > 0) {
		known = 1;
		pass |= pl.pos >= cfg->offer_position;
	}
	if (pass)
		w->offered = 1; /* once started, the offer stays */
	return pass || !known;	/* nothing known: as without thresholds */
}

static void
mode_main_wait_loop(struct wx *w)
{
	const struct fh_config *cfg = w->ctx->cfg;
	struct wst		st;
	const char	       *task = param(w, W_TASK);
	long long n = w->val[W_LOOKUP].str != NULL ? w->val[W_LOOKUP].num : 0;
	char	  sid[40], queue[40];

	if (task == NULL && n < FH_WAIT_MAX_LOOKUPS) {
		if (lookup(w, sid, queue)) {
			task = sid;
			set_queue(w, queue);
		} else
			n++;
	}
	if (!(w->val[W_SKIP].str != NULL && w->val[W_SKIP].num))
		say(w, FH_PR_INITIAL_GREETING);
	memset(&st, 0, sizeof(st));
	st.task = task;
	if (task != NULL && !announce_and_offer(w, task))
		play_hold(w); /* no offer yet: hold music only */
	else if (task != NULL) {
		gather(w, "2", NULL, NULL, "handle-initial-choice", &st);
		say(w,
		    cfg->allow_voicemail ? FH_PR_REPEATING
					 : FH_PR_REPEATING_CB_ONLY);
		play_hold(w);
		fh_twiml_close(&w->tw);
	} else {
		say(w, FH_PR_UNAVAILABLE);
		play_hold(w);
		st.lookup = n;
	}
	st.skip = 1;
	redirect(w, "main-wait-loop", &st);
}

static int
digits_are(const struct wx *w, const char *want)
{
	return param(w, W_DIGITS) != NULL &&
	    strcmp(param(w, W_DIGITS), want) == 0;
}

static void
mode_initial_choice(struct wx *w)
{
	struct wst  st;
	const char *task = param(w, W_TASK);

	if (digits_are(w, "*") && task != NULL) {
		memset(&st, 0, sizeof(st));
		st.task = task;
		gather(w, "2", NULL, NULL,
		    "handle-callback-or-voicemail-choice", &st);
		say(w,
		    w->ctx->cfg->allow_voicemail ? FH_PR_CB_OR_VM_CHOICE
						 : FH_PR_CB_ONLY_CHOICE);
		fh_twiml_close(&w->tw);
	}
	loop(w, task);
}

static void
mode_cb_or_vm_choice(struct wx *w)
{
	const struct fh_config *cfg = w->ctx->cfg;
	struct wst		st;
	const char	       *task = param(w, W_TASK);
	int			vm;

	if (task == NULL ||
	    !(digits_are(w, "1") ||
		(digits_are(w, "2") && cfg->allow_voicemail))) {
		loop(w, task);
		return;
	}
	vm = digits_are(w, "2");
	if (w->caller == NULL) {
		/* withheld caller: no same-number path */
		if (cfg->allow_alternate_number)
			entry(w, task, vm);
		else
			say_loop(w, FH_PR_UNAVAILABLE, task);
		return;
	}
	if (!cfg->allow_alternate_number) {
		submit(w, task, vm, w->caller);
		return;
	}
	memset(&st, 0, sizeof(st));
	st.task = task;
	st.voicemail = vm;
	gather(w, "5", "1", NULL, "handle-callback-choice", &st);
	say(w, vm ? FH_PR_VM_NUMBER_CHOICE : FH_PR_CB_CHOICE);
	fh_twiml_close(&w->tw);
	loop(w, task);
}

static void
mode_callback_choice(struct wx *w)
{
	const char *task = param(w, W_TASK);
	int	    vm = param(w, W_FOLLOWUP) != NULL;

	if (task != NULL && digits_are(w, "1") && w->caller != NULL)
		submit(w, task, vm, w->caller);
	else if (task != NULL && (digits_are(w, "2") || digits_are(w, "1")) &&
	    w->ctx->cfg->allow_alternate_number)
		entry(w, task, vm);
	else
		loop(w, task);
}

static void
mode_other_number_option(struct wx *w)
{
	const char *task = param(w, W_TASK), *d = param(w, W_DIGITS);
	int	    vm = param(w, W_FOLLOWUP) != NULL;
	struct wst  st;
	char	    digits[20], number[20];
	size_t	    len;

	if (task == NULL) {
		loop(w, task);
		return;
	}
	if (d == NULL)
		d = "";
	d += strspn(d, " ");
	len = strlen(d);
	while (len > 0 && d[len - 1] == ' ')
		len--;
	if (len < 8 || len > 15 || d[0] == '0' ||
	    strspn(d, "0123456789") < len) {
		say(w, FH_PR_INVALID_INPUT);
		entry(w, task, vm);
		return;
	}
	memcpy(digits, d, len);
	digits[len] = '\0';
	number[0] = '+';
	memcpy(number + 1, digits, len + 1);

	fh_twiml_open(&w->tw, FH_TW_SAY);
	fh_twiml_attr(&w->tw, FH_TA_VOICE,
	    w->ctx->cfg->say_voice != NULL ? w->ctx->cfg->say_voice
					   : "Polly.Joanna");
	if (w->ctx->cfg->say_language != NULL)
		fh_twiml_attr(
		    &w->tw, FH_TA_LANGUAGE, w->ctx->cfg->say_language);
	fh_twiml_text(&w->tw,
	    fh_prompt_text(w->ctx->cfg->prompts, FH_PR_CB_OTHER_CONFIRM1));
	fh_twiml_text(&w->tw, " ");
	fh_twiml_open(&w->tw, FH_TW_SAY_AS);
	fh_twiml_attr(&w->tw, FH_TA_INTERPRET_AS, "telephone");
	fh_twiml_text(&w->tw, digits);
	fh_twiml_close(&w->tw);
	fh_twiml_close(&w->tw);

	memset(&st, 0, sizeof(st));
	st.task = task;
	st.voicemail = vm;
	st.updated = number;
	gather(w, "15", "1", "#",
	    "handle-callback-for-other-number-confirmation", &st);
	say(w, FH_PR_CB_OTHER_CONFIRM2);
	fh_twiml_close(&w->tw);
	loop(w, task);
}

static void
mode_other_number_confirm(struct wx *w)
{
	const char *task = param(w, W_TASK);
	int	    vm = param(w, W_FOLLOWUP) != NULL;

	if (task == NULL)
		loop(w, task);
	else if (digits_are(w, "1") && param(w, W_UPDATED) != NULL)
		submit(w, task, vm, param(w, W_UPDATED));
	else
		entry(w, task, vm);
}

/* --------------------------------------------------- cancel-and-claim */

enum claim_res {
	CL_OURS,   /* canceled by us: create the follow-up now */
	CL_REPEAT, /* an earlier request did it: answer success */
	CL_BUSY,   /* another request's fresh claim, no follow-up yet */
	CL_AGENT,  /* an agent has the call */
	CL_ERROR   /* processingError */
};

/* What judge() makes of a task. */
enum judged {
	JG_CANCEL,   /* no marker: cancel and claim it */
	JG_OURS,     /* our own claim: the write landed */
	JG_TAKEOVER, /* canceled, but its claim failed or went stale:
		      * claim it again (no cancel) and do the work */
	JG_OTHER     /* *res says */
};

/* The claim state of one follow-up across its rounds. */
struct claim {
	const char	   *sid;
	const char	   *type; /* "callback" | "voicemail" */
	const char	   *reason;
	char		    claim[CLAIM_LEN + 1];
	struct json_object *task;      /* last fetched (owned) */
	struct json_object *attrs;     /* as sent with the cancel */
	char		    etag[128]; /* of the cancel answer */
	int		    adopted;   /* CL_REPEAT: the follow-up of a
					* claim taken over, found */
};

static void
claim_release(struct claim *c)
{
	json_object_put(c->task);
	json_object_put(c->attrs);
	c->task = c->attrs = NULL;
}

/* The attributes to send with the cancel: attrs with
 * conversations.abandoned = "Follow-Up" and our marker. */
static enum fh_err
cancel_attrs(
    const struct claim *c, struct json_object *attrs, struct json_object **out)
{
	struct json_object *a = NULL, *conv, *mk = NULL;
	char		    at[32];
	time_t		    now = time(NULL);
	struct tm	    tm;
	enum fh_err	    err;

	*out = NULL;
	if ((err = fh_json_copy(attrs, &a)) != FH_OK)
		return err;
	if (!json_object_object_get_ex(a, "conversations", &conv) ||
	    !json_object_is_type(conv, json_type_object)) {
		conv = json_object_new_object();
		if ((err = fh_json_add(a, "conversations", conv)) != FH_OK)
			goto out;
	}
	if ((err = fh_json_add_str(conv, "abandoned", "Follow-Up")) != FH_OK)
		goto out;
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		err = FH_EINTERNAL;
		goto out;
	}
	mk = json_object_new_object();
	if (mk == NULL) {
		err = FH_ENOMEM;
		goto out;
	}
	if ((err = fh_json_add_str(mk, "type", c->type)) != FH_OK ||
	    (err = fh_json_add_str(mk, "claim", c->claim)) != FH_OK ||
	    (err = fh_json_add_str(mk, "at", at)) != FH_OK)
		goto out;
	err = fh_json_add(a, "flexhooks_followup", mk);
	mk = NULL;
	if (err != FH_OK)
		goto out;
	*out = a;
	a = NULL;
out:
	json_object_put(mk);
	json_object_put(a);
	return err;
}

/* Seconds since the marker's "at", or -1 when it has none readable. */
static long long
marker_age(struct json_object *mk)
{
	struct fh_val v;
	const char   *at = fh_json_str(mk, "at");

	memset(&v, 0, sizeof(v));
	if (at == NULL || fh_valid_datetime(at, strlen(at), &v) != FH_OK)
		return -1;
	return (long long)time(NULL) - v.num;
}

/*
 * Another request's marker mk: its follow-up exists (a task_sid: a repeat),
 * its claim failed or went stale (take it over), or it is still at work.
 * A voicemail claim stays live while the caller records (the call has left
 * the queue, and the task_sid comes with the recording), so only a failed
 * one is taken over.
 */
static enum judged
judge_marker(
    struct wx *w, struct claim *c, struct json_object *mk, enum claim_res *res)
{
	struct json_object *f;
	const char	   *ts, *type;
	long long	    age;

	ts = fh_json_str(mk, "task_sid");
	if (ts != NULL && fh_is_sid(ts, strlen(ts), "WT")) {
		fh_log_info(&w->ctx->log,
		    "task '%s' already followed up as "
		    "'%s': repeat",
		    c->sid, ts);
		*res = CL_REPEAT;
		return JG_OTHER;
	}
	if (json_object_object_get_ex(mk, "failed", &f) &&
	    json_object_is_type(f, json_type_boolean) &&
	    json_object_get_boolean(f)) {
		fh_log_info(&w->ctx->log,
		    "task '%s': failed claim taken "
		    "over",
		    c->sid);
		return JG_TAKEOVER;
	}
	type = fh_json_str(mk, "type");
	if (type == NULL || strcmp(type, "callback") != 0) {
		fh_log_info(&w->ctx->log,
		    "task '%s' already has a follow-up "
		    "claim: repeat",
		    c->sid);
		*res = CL_REPEAT;
		return JG_OTHER;
	}
	age = marker_age(mk);
	if (age < 0 || age * 1000 >= FH_WAIT_CLAIM_FRESH_MS ||
	    age * 1000 <= -FH_WAIT_CLAIM_FRESH_MS) {
		fh_log_info(
		    &w->ctx->log, "task '%s': stale claim taken over", c->sid);
		return JG_TAKEOVER;
	}
	fh_log_info(&w->ctx->log,
	    "task '%s': another request holds a fresh "
	    "claim",
	    c->sid);
	*res = CL_BUSY;
	return JG_OTHER;
}

/* Steps 2 to 4 on a fetched task. */
static enum judged
judge(struct wx *w, struct claim *c, struct json_object *attrs,
    enum claim_res *res)
{
	struct json_object *mk;
	const char	   *cs, *st, *cl;

	*res = CL_ERROR;
	cs = fh_json_str(attrs, "call_sid");
	if (cs == NULL || param(w, W_CALL_SID) == NULL ||
	    strcmp(cs, param(w, W_CALL_SID)) != 0) {
		fh_log_warn(
		    &w->ctx->log, "task '%s' is not this call's", c->sid);
		return JG_OTHER;
	}
	if (json_object_object_get_ex(attrs, "flexhooks_followup", &mk) &&
	    json_object_is_type(mk, json_type_object)) {
		cl = fh_json_str(mk, "claim");
		if (cl != NULL && strcmp(cl, c->claim) == 0)
			return JG_OURS;
		return judge_marker(w, c, mk, res);
	}
	st = fh_json_str(c->task, "assignment_status");
	if (st == NULL)
		return JG_OTHER;
	if (strcmp(st, "assigned") == 0 || strcmp(st, "wrapping") == 0 ||
	    strcmp(st, "completed") == 0) {
		*res = CL_AGENT;
		return JG_OTHER;
	}
	if (strcmp(st, "pending") == 0 || strcmp(st, "reserved") == 0)
		return JG_CANCEL;
	fh_log_warn(&w->ctx->log, "task '%s' is '%s'", c->sid, st);
	return JG_OTHER;
}

static int
is_followup_of(
    struct json_object *t, struct json_object *attrs, const void *arg)
{
	const char *orig = arg, *s = fh_json_str(attrs, FH_ATTR_FOLLOWUP_OF);

	return s != NULL && strcmp(s, orig) == 0 &&
	    strcmp(fh_json_str(t, "sid"), orig) != 0;
}

/*
 * The follow-up an earlier request made for the original task orig: every
 * follow-up of the wait experience names its original in
 * FH_ATTR_FOLLOWUP_OF.  1 with the oldest one's SID in sid (40 bytes), 0
 * when there is none, -1 when it cannot be told.  One
 * EvaluateTaskAttributes list, which TaskRouter rate-limits (about 3 a
 * second; the client retries a 429): only a request that takes over a
 * claim without its task_sid asks, never the normal path.
 */
static int
find_followup(struct wx *w, const char *orig, char *sid)
{
	struct fh_buf expr;
	int	      res = -1;

	sid[0] = '\0';
	fh_buf_init(&expr, 256);
	if (orig != NULL && fh_is_sid(orig, strlen(orig), "WT") &&
	    fh_buf_printf(&expr, "%s == \"%s\"", FH_ATTR_FOLLOWUP_OF, orig) ==
		FH_OK)
		res = fh_task_find(
		    w->ctx, fh_buf_cstr(&expr), 1, is_followup_of, orig, sid);
	fh_buf_release(&expr);
	return res;
}

static void mark_key(struct wx *w, const char *sid, struct json_object *attrs0,
    const char *etag0, const char *key, struct json_object *val);

/*
 * A claim without task_sid is about to be taken over: its request may have
 * created the follow-up and died (or lost the marker write) before it
 * wrote the SID down.  Look for that follow-up first: found, it is
 * adopted (its SID goes into the marker on attrs, the task as read with
 * etag) and the answer is the repeat's; not found, the takeover goes on;
 * when it cannot be told, nothing is taken over (CL_ERROR: a later
 * request looks again).  JG_OTHER with *res unless the takeover goes on.
 */
static enum judged
before_takeover(struct wx *w, struct claim *c, struct json_object *attrs,
    const char *etag, enum claim_res *res)
{
	char sid[40];

	switch (find_followup(w, c->sid, sid)) {
	case 0:
		return JG_TAKEOVER;
	case 1:
		fh_log_info(&w->ctx->log,
		    "task '%s': follow-up '%s' of the claim taken over "
		    "adopted",
		    c->sid, sid);
		mark_key(w, c->sid, attrs, etag, "task_sid",
		    json_object_new_string(sid));
		c->adopted = 1;
		*res = CL_REPEAT;
		return JG_OTHER;
	default:
		fh_log_warn(&w->ctx->log,
		    "task '%s': claim kept, its follow-up cannot be told",
		    c->sid);
		*res = CL_ERROR;
		return JG_OTHER;
	}
}

/* Section 4.2, steps 1 to 6. */
static enum claim_res
cancel_and_claim(struct wx *w, struct claim *c)
{
	struct fh_rest_resp rr;
	struct json_object *attrs = NULL, *send = NULL;
	char		    etag[128];
	int		    round, last = 0, looked = 0;
	enum claim_res	    res = CL_ERROR;
	enum judged	    jg;
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	if (fh_claim_new(c->claim, sizeof(c->claim)) != FH_OK)
		return CL_ERROR;
	for (round = 0; round < FH_WAIT_CLAIM_ROUNDS + 1; round++) {
		json_object_put(c->task);
		json_object_put(attrs);
		json_object_put(send);
		c->task = attrs = send = NULL;
		err = fh_task_fetch(
		    w->ctx, c->sid, &c->task, etag, sizeof(etag), &rr);
		fh_rest_resp_release(&rr);
		if (err != FH_OK) {
			fh_log_warn(&w->ctx->log, "cannot fetch task '%s': %s",
			    c->sid, fh_err_name(err));
			res = CL_ERROR;
			break;
		}
		if (fh_attr_parse_task(c->task, &attrs) != FH_OK) {
			fh_log_warn(&w->ctx->log, "cannot read task '%s': %s",
			    c->sid, "bad attributes");
			res = CL_ERROR;
			break;
		}
		jg = judge(w, c, attrs, &res);
		if (jg == JG_OURS) {
			res = CL_OURS;
			break;
		}
		if (jg == JG_OTHER)
			break;
		if (last || round == FH_WAIT_CLAIM_ROUNDS) {
			res = CL_ERROR; /* still claimable, yet refused */
			break;
		}
		if (jg == JG_TAKEOVER && !looked) {
			looked = 1;
			if (before_takeover(w, c, attrs, etag, &res) ==
			    JG_OTHER)
				break;
		}
		if (cancel_attrs(c, attrs, &send) != FH_OK) {
			res = CL_ERROR;
			break;
		}
		/* a task canceled before only needs the new claim */
		if (jg == JG_TAKEOVER)
			err = fh_task_update_attrs(
			    w->ctx, c->sid, send, etag, &rr);
		else
			err = fh_task_cancel(
			    w->ctx, c->sid, c->reason, send, etag, &rr);
		if (err == FH_OK) {
			if (snprintf(c->etag, sizeof(c->etag), "%s", rr.etag) <
			    0)
				c->etag[0] = '\0';
			c->attrs = send;
			send = NULL;
			fh_rest_resp_release(&rr);
			res = CL_OURS;
			break;
		}
		fh_log_info(&w->ctx->log,
		    "cannot cancel task '%s': %s "
		    "(status %ld code %d)",
		    c->sid, fh_err_name(err), rr.status, rr.twerr.code);
		/* 412, timeout or 5xx: look again; another 4xx: once more */
		if (err == FH_ETWILIO && rr.status != 412)
			last = 1;
		else if (err == FH_ETASK404) {
			fh_rest_resp_release(&rr);
			res = CL_ERROR;
			break;
		}
		fh_rest_resp_release(&rr);
	}
	json_object_put(attrs);
	json_object_put(send);
	return res;
}

/* Set key to val (stolen) in the marker on the canceled task sid (best
 * effort; one retry on 412).  attrs0 and etag0 are those of the cancel
 * when known (borrowed), else NULL: the task is fetched first. */
static void
mark_key(struct wx *w, const char *sid, struct json_object *attrs0,
    const char *etag0, const char *key, struct json_object *val)
{
	struct fh_rest_resp rr;
	struct json_object *task = NULL, *attrs, *mk;
	char		    etag[128];
	int		    round;
	enum fh_err	    err = FH_OK;

	memset(&rr, 0, sizeof(rr));
	attrs = attrs0 != NULL ? json_object_get(attrs0) : NULL;
	if (snprintf(etag, sizeof(etag), "%s", etag0 != NULL ? etag0 : "") < 0)
		etag[0] = '\0';
	for (round = 0; round < 2; round++) {
		if (attrs == NULL) {
			json_object_put(task);
			task = NULL;
			err = fh_task_fetch(
			    w->ctx, sid, &task, etag, sizeof(etag), &rr);
			fh_rest_resp_release(&rr);
			if (err == FH_OK)
				err = fh_attr_parse_task(task, &attrs);
			if (err != FH_OK)
				break;
		}
		if (!json_object_object_get_ex(
			attrs, "flexhooks_followup", &mk) ||
		    !json_object_is_type(mk, json_type_object)) {
			err = FH_EINPUT;
			break;
		}
		if ((err = fh_json_add(mk, key, json_object_get(val))) != FH_OK)
			break;
		err = fh_task_update_attrs(w->ctx, sid, attrs, etag, &rr);
		fh_rest_resp_release(&rr);
		if (!(err == FH_ETWILIO && rr.status == 412))
			break;
		json_object_put(attrs);
		attrs = NULL;
	}
	if (err != FH_OK)
		fh_log_warn(&w->ctx->log,
		    "cannot mark task '%s' with '%s': "
		    "%s",
		    sid, key, fh_err_name(err));
	json_object_put(attrs);
	json_object_put(task);
	json_object_put(val);
}

/* Step 7: add "task_sid" to the marker on the canceled task sid. */
static void
mark_task_sid(struct wx *w, const char *sid, struct json_object *attrs0,
    const char *etag0, const char *new_sid)
{
	mark_key(
	    w, sid, attrs0, etag0, "task_sid", json_object_new_string(new_sid));
}

static void
mark_done(struct wx *w, struct claim *c, const char *new_sid)
{
	mark_task_sid(w, c->sid, c->attrs, c->etag, new_sid);
}

/* The follow-up could not be made: mark our claim "failed" so that a
 * repeat of this request does the work instead of answering success.  The
 * deadline may be what failed, so this write gets a little time of its
 * own.  A create that got no answer at all may have made the task: that
 * claim is kept, and a repeat takes it over only once it is stale. */
static void
mark_failed(struct wx *w, struct claim *c)
{
	if (w->create_unsure) {
		/* a repeat could make a second task: let the claim go
		 * stale instead */
		fh_log_warn(&w->ctx->log,
		    "claim on task '%s' kept: the "
		    "create got no answer",
		    c->sid);
		return;
	}
	if (fh_rest_remaining(w->ctx->rest) < FH_WAIT_RELEASE_MS)
		fh_rest_set_deadline(w->ctx->rest, FH_WAIT_RELEASE_MS);
	mark_key(
	    w, c->sid, c->attrs, c->etag, "failed", json_object_new_boolean(1));
}

/* Another request is at work on this follow-up: answer nothing yet, come
 * back in a moment (its claim goes stale after FH_WAIT_CLAIM_FRESH_MS). */
static void
busy(struct wx *w, const char *task, int voicemail, const char *to)
{
	fh_twiml_open(&w->tw, FH_TW_PAUSE);
	fh_twiml_attr(&w->tw, FH_TA_LENGTH, "2");
	fh_twiml_close(&w->tw);
	submit(w, task, voicemail, to);
}

/* ----------------------------------------------- creating the follow-up */

/* Epoch seconds of a task's date_created, or 0. */
static long long
date_created(struct json_object *task)
{
	struct fh_val v;
	const char   *s = fh_json_str(task, "date_created");

	memset(&v, 0, sizeof(v));
	if (s == NULL || fh_valid_datetime(s, strlen(s), &v) != FH_OK)
		return 0;
	return v.num;
}

/* What a follow-up task carries besides its number (NULL: nothing). */
struct followup {
	const char *from;    /* numberToCallFrom */
	const char *rec_sid; /* a voicemail when set */
	const char *rec_url;
	const char *tr_sid;
	const char *tr_text;
};

/*
 * Create a callback or voicemail task for number to, from the canceled
 * task orig when not NULL, else from the routing state of the request
 * (docs/design/wait-experience.md#voicemail).  A voicemail goes through the
 * idempotency rule of
 * docs/design/callbacks-and-voicemail.md#one-task-per-recording first (*existed
 * is set when the task was already there).  The SID goes into sid (40 bytes).
 */
static enum fh_err
create_followup(struct wx *w, struct json_object *orig, const char *to,
    const struct followup *fu, char *sid, int *existed)
{
	struct fh_task_in   in;
	struct fh_rest_resp rr;
	struct fh_buf	    form;
	char		    masked[32];
	const char *kind = fu->rec_sid != NULL ? "voicemail" : "callback";
	enum fh_err err;

	*existed = 0;
	fh_buf_init(&form, 64 * 1024);
	memset(&in, 0, sizeof(in));
	memset(&rr, 0, sizeof(rr));
	in.orig = orig;
	in.number_to_call = to;
	in.number_to_call_from = fu->from;
	in.recording_sid = fu->rec_sid;
	in.recording_url = fu->rec_url;
	in.transcript_sid = fu->tr_sid;
	in.transcript_text = fu->tr_text;
	in.followup_of = param(w, W_TASK);
	if (orig != NULL)
		in.virtual_start = date_created(orig);
	else {
		in.workflow_sid = param(w, W_WORKFLOW);
		in.task_channel = param(w, W_TCHAN);
		in.conversation_id = param(w, W_TASK);
		in.has_timeout = param(w, W_TTIMEOUT) != NULL;
		in.timeout = w->val[W_TTIMEOUT].num;
		in.has_priority = param(w, W_TPRIO) != NULL;
		in.priority = w->val[W_TPRIO].num;
		in.virtual_start =
		    param(w, W_VSTART) != NULL ? w->val[W_VSTART].num : 0;
	}
	/* shape, workflow (never a placeholder's), dropped attributes */
	fh_followup_prepare(w->ctx, &in);
	fh_log_mask_phone(to, masked, sizeof(masked));
	if (in.recording_sid != NULL) {
		err = fh_voicemail_dedupe(w->ctx, &in, sid, existed, NULL);
		if (err != FH_OK || *existed) {
			if (err != FH_OK)
				fh_log_error(&w->ctx->log,
				    "cannot update "
				    "voicemail task for '%s': %s",
				    in.recording_sid, fh_err_name(err));
			goto out;
		}
	}
	err = fh_attr_build(&in, &form);
	if (err == FH_OK)
		err = fh_task_create(
		    w->ctx, fh_buf_cstr(&form), form.len, sid, 40, &rr);
	w->create_unsure = err != FH_OK && rr.status == 0 &&
	    (err == FH_ETIMEOUT || err == FH_EUPSTREAM);
	if (err != FH_OK)
		fh_log_error(&w->ctx->log,
		    "cannot create %s task for '%s' "
		    "after canceling '%s'%s%s: %s (status %ld code %d)",
		    kind, masked, param(w, W_TASK),
		    in.recording_sid != NULL ? " with recording " : "",
		    in.recording_sid != NULL ? in.recording_sid : "",
		    fh_err_name(err), rr.status, rr.twerr.code);
	else
		fh_log_info(&w->ctx->log, "created %s task '%s' for '%s'", kind,
		    sid, masked);
out:
	if (err == FH_OK)
		fh_log_set_task(&w->ctx->log, sid);
	if (err == FH_OK && in.recording_sid != NULL)
		fh_vmail_schedule(w->ctx, sid); /* after the answer */
	fh_rest_resp_release(&rr);
	fh_buf_release(&form);
	return err;
}

/* A callback task for number to, numberToCallFrom = this call's Called. */
static enum fh_err
create_callback(
    struct wx *w, struct json_object *orig, const char *to, char *sid)
{
	struct followup fu;
	int		existed;

	memset(&fu, 0, sizeof(fu));
	fu.from = w->called != NULL ? w->called : param(w, W_CALLED_NUM);
	return create_followup(w, orig, to, &fu, sid, &existed);
}

static void
mode_submit_callback(struct wx *w)
{
	struct claim c;
	const char  *task = param(w, W_TASK), *to = param(w, W_TO);
	char	     sid[40];

	if (task == NULL || to == NULL) {
		say_loop(w, FH_PR_PROCESSING_ERROR, task);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.sid = task;
	c.type = "callback";
	c.reason = "Opted to request a callback";
	switch (cancel_and_claim(w, &c)) {
	case CL_REPEAT:
		say_hangup(w, FH_PR_CB_SUBMITTED);
		break;
	case CL_BUSY:
		busy(w, task, 0, to);
		break;
	case CL_AGENT:
		say_loop(w, FH_PR_AGENT_CONNECTING, task);
		break;
	case CL_ERROR:
		say_loop(w, FH_PR_PROCESSING_ERROR, task);
		break;
	case CL_OURS:
		if (create_callback(w, c.task, to, sid) != FH_OK) {
			mark_failed(w, &c);
			say_hangup(w, FH_PR_FOLLOWUP_FAILED);
			break;
		}
		mark_done(w, &c, sid);
		say_hangup(w, FH_PR_CB_SUBMITTED);
		break;
	}
	claim_release(&c);
}

/* ----------------------------------------------------- the voicemail path */

/* The {VS} state of the canceled task into st (strings in own). */
struct vs_own {
	char timeout[24];
	char priority[24];
	char vstart[32];
	char workflow[40];
	char channel[72];
};

static void
vs_from_task(
    struct wx *w, struct json_object *task, struct wst *st, struct vs_own *own)
{
	struct json_object *v;
	const char	   *s;
	long long	    t;
	time_t		    tt;
	struct tm	    tm;

	memset(st, 0, sizeof(*st));
	memset(own, 0, sizeof(*own));
	st->task = param(w, W_TASK);
	st->to = param(w, W_TO);
	st->called = w->called;
	s = fh_json_str(task, "workflow_sid");
	if (s != NULL && fh_is_sid(s, strlen(s), "WW")) {
		memcpy(own->workflow, s, 35);
		st->workflow = own->workflow;
	}
	if (json_object_object_get_ex(task, "timeout", &v) &&
	    json_object_is_type(v, json_type_int) &&
	    snprintf(own->timeout, sizeof(own->timeout), "%lld",
		(long long)json_object_get_int64(v)) > 0)
		st->timeout = own->timeout;
	if (json_object_object_get_ex(task, "priority", &v) &&
	    json_object_is_type(v, json_type_int) &&
	    snprintf(own->priority, sizeof(own->priority), "%lld",
		(long long)json_object_get_int64(v)) > 0)
		st->priority = own->priority;
	s = fh_json_str(task, "task_channel_unique_name");
	if (s != NULL && strlen(s) < sizeof(own->channel) && strlen(s) > 0 &&
	    strspn(s,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789_-") == strlen(s)) {
		memcpy(own->channel, s, strlen(s) + 1);
		st->channel = own->channel;
	}
	t = date_created(task);
	tt = (time_t)t;
	if (t > 0 && gmtime_r(&tt, &tm) != NULL &&
	    strftime(own->vstart, sizeof(own->vstart), "%Y-%m-%dT%H:%M:%SZ",
		&tm) > 0)
		st->vstart = own->vstart;
}

/* The {VS} state as read back from this request into st. */
static void
vs_from_request(struct wx *w, struct wst *st, struct vs_own *own)
{
	time_t	  tt;
	struct tm tm;

	memset(st, 0, sizeof(*st));
	memset(own, 0, sizeof(*own));
	st->task = param(w, W_TASK);
	st->to = param(w, W_TO);
	st->called = param(w, W_CALLED_NUM);
	st->workflow = param(w, W_WORKFLOW);
	st->timeout = param(w, W_TTIMEOUT);
	st->priority = param(w, W_TPRIO);
	st->channel = param(w, W_TCHAN);
	tt = (time_t)w->val[W_VSTART].num;
	if (param(w, W_VSTART) != NULL && gmtime_r(&tt, &tm) != NULL &&
	    strftime(own->vstart, sizeof(own->vstart), "%Y-%m-%dT%H:%M:%SZ",
		&tm) > 0)
		st->vstart = own->vstart;
}

/* POST the call update that moves the caller out of the queue. */
static enum fh_err
leave_queue(struct wx *w, const struct wst *vs, struct fh_rest_resp *rr)
{
	struct fh_buf form, u;
	enum fh_err   err;

	fh_buf_init(&form, 64 * 1024);
	fh_buf_init(&u, URL_MAX);
	form.secret = u.secret = 1;
	memset(rr, 0, sizeof(*rr));
	err = build_url(w, &u, "record-voicemail", vs);
	if (err == FH_OK)
		err = fh_form_add(&form, "Url", fh_buf_cstr(&u));
	if (err == FH_OK)
		err = fh_form_add(&form, "Method", "POST");
	fh_buf_reset(&u);
	if (err == FH_OK)
		err = build_url(w, &u, "voicemail-call-ended", vs);
	if (err == FH_OK)
		err = fh_form_add(&form, "StatusCallback", fh_buf_cstr(&u));
	if (err == FH_OK)
		err = fh_form_add(&form, "StatusCallbackMethod", "POST");
	if (err == FH_OK)
		err = fh_call_update(w->ctx, param(w, W_CALL_SID),
		    fh_buf_cstr(&form), form.len, rr);
	fh_buf_release(&u);
	fh_buf_release(&form);
	return err;
}

static void
mode_start_voicemail(struct wx *w)
{
	struct claim	    c;
	struct fh_rest_resp rr;
	struct wst	    vs;
	struct vs_own	    own;
	const char	   *task = param(w, W_TASK), *to = param(w, W_TO);
	char		    sid[40];
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	if (task == NULL || to == NULL || param(w, W_CALL_SID) == NULL) {
		say_loop(w, FH_PR_PROCESSING_ERROR, task);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.sid = task;
	c.type = "voicemail";
	c.reason = "Opted to leave a voicemail";
	switch (cancel_and_claim(w, &c)) {
	case CL_REPEAT:
		if (c.adopted) {
			/* a callback made before: the call stays put */
			say_hangup(w, FH_PR_CB_SUBMITTED);
			break;
		}
		fh_twiml_open(&w->tw, FH_TW_PAUSE);
		fh_twiml_attr(&w->tw, FH_TA_LENGTH, "10");
		fh_twiml_close(&w->tw);
		break;
	case CL_BUSY:
		busy(w, task, 1, to);
		break;
	case CL_AGENT:
		say_loop(w, FH_PR_AGENT_CONNECTING, task);
		break;
	case CL_ERROR:
		say_loop(w, FH_PR_PROCESSING_ERROR, task);
		break;
	case CL_OURS:
		vs_from_task(w, c.task, &vs, &own);
		err = leave_queue(w, &vs, &rr);
		if (err == FH_OK) {
			fh_rest_resp_release(&rr);
			fh_twiml_open(&w->tw, FH_TW_PAUSE);
			fh_twiml_attr(&w->tw, FH_TA_LENGTH, "10");
			fh_twiml_close(&w->tw);
			break;
		}
		fh_log_warn(&w->ctx->log,
		    "cannot move call to voicemail: %s "
		    "(status %ld code %d)",
		    fh_err_name(err), rr.status, rr.twerr.code);
		if (create_callback(w, c.task, to, sid) == FH_OK) {
			mark_done(w, &c, sid);
			if (err == FH_ETWILIO && rr.twerr.code == 21220)
				hangup(w);
			else
				say_hangup(w, FH_PR_VM_FAILED_CB);
		} else {
			mark_failed(w, &c);
			say_hangup(w, FH_PR_FOLLOWUP_FAILED);
		}
		fh_rest_resp_release(&rr);
		break;
	}
	claim_release(&c);
}

static void
mode_record_voicemail(struct wx *w)
{
	struct wst    vs;
	struct vs_own own;
	char	      maxlen[24];
	long long     t = param(w, W_TRY) != NULL ? w->val[W_TRY].num : 1;

	w->hangup_fallback = 1;
	if (param(w, W_TASK) == NULL || param(w, W_TO) == NULL) {
		say_hangup(w, FH_PR_FOLLOWUP_FAILED);
		return;
	}
	vs_from_request(w, &vs, &own);
	if (snprintf(maxlen, sizeof(maxlen), "%lld",
		w->ctx->cfg->voicemail_max_length > 0
		    ? w->ctx->cfg->voicemail_max_length
		    : 120) >= (int)sizeof(maxlen))
		maxlen[0] = '\0';
	say(w, FH_PR_RECORD_VM);
	fh_twiml_open(&w->tw, FH_TW_RECORD);
	fh_twiml_attr(&w->tw, FH_TA_ACTION, url(w, "voicemail-recorded", &vs));
	fh_twiml_attr(&w->tw, FH_TA_TIMEOUT, "10");
	fh_twiml_attr(&w->tw, FH_TA_MAX_LENGTH, maxlen);
	fh_twiml_attr(&w->tw, FH_TA_FINISH_ON_KEY, "*");
	fh_twiml_attr(&w->tw, FH_TA_PLAY_BEEP, "true");
	fh_twiml_attr(&w->tw, FH_TA_TRANSCRIBE, "true");
	fh_twiml_attr(
	    &w->tw, FH_TA_TRANSCRIBE_CALLBACK, url(w, "submit-voicemail", &vs));
	fh_twiml_close(&w->tw);
	say(w, FH_PR_VM_NOT_CAPTURED);
	if (t < 3) {
		vs.try_n = t + 1;
		redirect(w, "record-voicemail", &vs);
	} else
		redirect(w, "voicemail-recorded", &vs);
}

/* The canceled task (*task, the caller puts it; NULL when it is gone or
 * cannot be read) and its marker's task_sid into done (40 bytes, "" when
 * none). */
static void
canceled_task(struct wx *w, struct json_object **task, char *done)
{
	struct fh_rest_resp rr;
	struct json_object *attrs = NULL, *mk;
	const char	   *ts;
	char		    etag[128];
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	done[0] = '\0';
	err = fh_task_fetch(
	    w->ctx, param(w, W_TASK), task, etag, sizeof(etag), &rr);
	fh_rest_resp_release(&rr);
	if (err != FH_OK) {
		if (err != FH_ETASK404)
			fh_log_warn(&w->ctx->log, "cannot fetch task '%s': %s",
			    param(w, W_TASK), fh_err_name(err));
		*task = NULL;
		return;
	}
	if (fh_attr_parse_task(*task, &attrs) != FH_OK) {
		json_object_put(*task);
		*task = NULL;
		return;
	}
	ts = json_object_object_get_ex(attrs, "flexhooks_followup", &mk)
	    ? fh_json_str(mk, "task_sid")
	    : NULL;
	if (ts != NULL && fh_is_sid(ts, strlen(ts), "WT"))
		memcpy(done, ts, 35);
	json_object_put(attrs);
}

/*
 * Create (or, for a repeat, find and complete) the voicemail task of this
 * request's recording (modes k and l): from the canceled task while it
 * can be fetched, else from {VS}.  FH_OK when the task exists afterwards.
 */
static enum fh_err
voicemail_task(struct wx *w, int with_transcript)
{
	struct followup	    fu;
	struct json_object *orig = NULL;
	char		    sid[40], done[40];
	int		    existed = 0;
	enum fh_err	    err;

	memset(&fu, 0, sizeof(fu));
	fu.from = param(w, W_CALLED_NUM);
	fu.rec_sid = param(w, W_REC_SID);
	fu.rec_url = param(w, W_REC_URL);
	if (with_transcript) {
		fu.tr_sid = param(w, W_TR_SID);
		fu.tr_text = param(w, W_TR_TEXT);
	}
	canceled_task(w, &orig, done);
	err = create_followup(w, orig, param(w, W_TO), &fu, sid, &existed);
	if (err == FH_OK && !existed && orig != NULL)
		mark_task_sid(w, param(w, W_TASK), NULL, NULL, sid);
	json_object_put(orig);
	return err;
}

static void
mode_voicemail_recorded(struct wx *w)
{
	w->hangup_fallback = 1;
	if (param(w, W_TASK) == NULL || param(w, W_TO) == NULL) {
		say_hangup(w, FH_PR_FOLLOWUP_FAILED);
		return;
	}
	if (param(w, W_REC_SID) == NULL) {
		/* nothing recorded: voicemail-call-ended creates a callback */
		say_hangup(w, FH_PR_CB_SUBMITTED);
		return;
	}
	if (voicemail_task(w, 0) != FH_OK)
		say_hangup(w, FH_PR_FOLLOWUP_FAILED);
	else
		say_hangup(w, FH_PR_VM_RECORDED);
}

/* The transcribeCallback: answered with 204. */
static void
mode_submit_voicemail(struct wx *w)
{
	const char *st = param(w, W_TR_STATUS);

	if (st == NULL || strcmp(st, "completed") != 0) {
		fh_log_info(&w->ctx->log,
		    "transcription of '%s' not "
		    "completed: '%s'",
		    param(w, W_REC_SID) != NULL ? param(w, W_REC_SID) : "",
		    st != NULL ? st : "");
		return;
	}
	if (param(w, W_TASK) == NULL || param(w, W_TO) == NULL ||
	    param(w, W_REC_SID) == NULL) {
		fh_log_warn(&w->ctx->log, "cannot store transcription: %s",
		    "missing state");
		return;
	}
	if (voicemail_task(w, 1) != FH_OK)
		fh_log_error(&w->ctx->log,
		    "cannot store transcription '%s' "
		    "of '%s'",
		    param(w, W_TR_SID) != NULL ? param(w, W_TR_SID) : "",
		    param(w, W_REC_SID));
}

/* The call's StatusCallback after it left the queue: answered with 204. */
static void
mode_voicemail_call_ended(struct wx *w)
{
	static const char *const final[] = {
	    "completed", "busy", "failed", "no-answer", "canceled"};
	struct fh_rest_resp rr;
	struct json_object *recs = NULL, *orig = NULL;
	const char	   *cs = param(w, W_CALL_STATUS);
	char		    sid[40], done[40];
	size_t		    i;
	int		    found;
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	for (i = 0; cs != NULL && i < FH_NITEMS(final); i++)
		if (strcmp(cs, final[i]) == 0)
			break;
	if (cs == NULL || i == FH_NITEMS(final) || param(w, W_TASK) == NULL ||
	    param(w, W_TO) == NULL || param(w, W_CALL_SID) == NULL)
		return;
	err = fh_call_recordings(w->ctx, param(w, W_CALL_SID), &recs, &rr);
	fh_rest_resp_release(&rr);
	if (err != FH_OK)
		fh_log_warn(&w->ctx->log, "cannot list recordings of '%s': %s",
		    param(w, W_CALL_SID), fh_err_name(err));
	else if (fh_recordings_live(recs))
		goto out; /* voicemail-recorded owns the voicemail */
	canceled_task(w, &orig, done);
	if (done[0] != '\0')
		goto out; /* a follow-up exists already */
	/* an earlier delivery, or a request whose marker write was lost, may
	 * have made it: without an answer a callback is made anyway (Twilio
	 * sends this callback once: a duplicate is better than none) */
	found = find_followup(w, param(w, W_TASK), sid);
	if (found > 0) {
		fh_log_info(&w->ctx->log,
		    "task '%s' already followed up as '%s'", param(w, W_TASK),
		    sid);
		if (orig != NULL)
			mark_task_sid(w, param(w, W_TASK), NULL, NULL, sid);
		goto out;
	}
	if (create_callback(w, orig, param(w, W_TO), sid) == FH_OK &&
	    orig != NULL)
		mark_task_sid(w, param(w, W_TASK), NULL, NULL, sid);
out:
	json_object_put(orig);
	json_object_put(recs);
}

/* ------------------------------------------------------------ the handler */

struct mode_row {
	const char *name;
	void (*run)(struct wx *);
	int no_content; /* answered with 204, not TwiML */
};

static const struct mode_row modes[] = {
    {"initialize", mode_initialize, 0},
    {"main-wait-loop", mode_main_wait_loop, 0},
    {"handle-initial-choice", mode_initial_choice, 0},
    {"handle-callback-or-voicemail-choice", mode_cb_or_vm_choice, 0},
    {"handle-callback-choice", mode_callback_choice, 0},
    {"handle-callback-for-other-number-confirmation-option",
	mode_other_number_option, 0},
    {"handle-callback-for-other-number-confirmation", mode_other_number_confirm,
	0},
    {"submit-callback", mode_submit_callback, 0},
    {"start-voicemail", mode_start_voicemail, 0},
    {"record-voicemail", mode_record_voicemail, 0},
    {"voicemail-recorded", mode_voicemail_recorded, 0},
    {"submit-voicemail", mode_submit_voicemail, 1},
    {"voicemail-call-ended", mode_voicemail_call_ended, 1},
};

enum fh_err
fh_handle_wait(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	struct wx   w;
	const char *mode;
	size_t	    i;
	enum fh_err err;

	memset(&w, 0, sizeof(w));
	w.ctx = ctx;
	w.req = req;
	fh_buf_init(&w.base, URL_MAX);
	fh_buf_init(&w.url, URL_MAX);
	w.base.secret = w.url.secret = 1;
	read_fields(&w);
	read_numbers(&w);
	if (hold_state_on(ctx->cfg)) {
		w.hq = param(&w, W_TQUEUE);
		w.announced =
		    w.val[W_ANNOUNCED].str != NULL ? w.val[W_ANNOUNCED].num : 0;
		w.offered = (ctx->cfg->offer_after_s > 0 ||
				ctx->cfg->offer_position > 0) &&
		    w.val[W_OFFERED].str != NULL && w.val[W_OFFERED].num;
	}
	if (param(&w, W_CALL_SID) != NULL)
		fh_log_set_call(&ctx->log, param(&w, W_CALL_SID));
	if (param(&w, W_TASK) != NULL)
		fh_log_set_task(&ctx->log, param(&w, W_TASK));
	if (fh_wait_base_url(ctx, req, &w.base) != FH_OK)
		fh_buf_release(&w.base); /* every URL will fail */

	mode = param(&w, W_MODE) != NULL ? param(&w, W_MODE) : "initialize";
	fh_twiml_init(&w.tw, resp);
	for (i = 0; i < FH_NITEMS(modes); i++)
		if (strcmp(modes[i].name, mode) == 0)
			break;
	if (i < FH_NITEMS(modes) && modes[i].no_content) {
		modes[i].run(&w);
		fh_resp_empty(resp, 204);
		err = FH_OK;
		goto out;
	}
	if (i < FH_NITEMS(modes))
		modes[i].run(&w);
	else {
		fh_log_warn(&ctx->log, "unknown wait mode '%s'", mode);
		say_loop(&w, FH_PR_PROCESSING_ERROR, param(&w, W_TASK));
	}
	err = fh_twiml_finish(&w.tw);
	if (err != FH_OK) {
		/* the fallback, without any URL */
		fh_log_error(&ctx->log, "cannot answer wait mode '%s': %s",
		    mode, fh_err_name(err));
		fh_twiml_init(&w.tw, resp);
		if (w.hangup_fallback)
			say_hangup(&w, FH_PR_FOLLOWUP_FAILED);
		else
			say(&w, FH_PR_PROCESSING_ERROR);
		err = fh_twiml_finish(&w.tw);
	}
out:
	fh_buf_release(&w.url);
	fh_buf_release(&w.base);
	return err;
}
