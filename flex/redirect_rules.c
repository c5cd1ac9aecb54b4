/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redirect_rules.c - the queue to number rules of the redirect, and the
 * TwiML they answer (redirect_rules.h).
 */
#include <stdio.h>
#include <string.h>

#include "flex/redirect_rules.h"
#include "lib/valid.h"

/* Calls fn for each rule (queue and number spans); stops when it returns
 * non-zero and returns that. */
static int
each_rule(const struct fh_config *cfg,
    int (*fn)(const char *, size_t, const char *, size_t, void *), void *arg)
{
	const char *p, *comma, *eq;
	int	    r;

	if (cfg->forward_queue_sid != NULL && cfg->forward_to_number != NULL) {
		r = fn(cfg->forward_queue_sid, strlen(cfg->forward_queue_sid),
		    cfg->forward_to_number, strlen(cfg->forward_to_number),
		    arg);
		if (r != 0)
			return r;
	}
	for (p = cfg->forward_rules; p != NULL && *p != '\0';) {
		comma = strchr(p, ',');
		if (comma == NULL)
			comma = p + strlen(p);
		eq = memchr(p, '=', (size_t)(comma - p));
		if (eq != NULL) {
			r = fn(p, (size_t)(eq - p), eq + 1,
			    (size_t)(comma - eq - 1), arg);
			if (r != 0)
				return r;
		}
		p = *comma == ',' ? comma + 1 : comma;
	}
	return 0;
}

struct find {
	const char *queue; /* NULL: any */
	size_t	    n;	   /* rules, a repeat of the rule
			    * before not counted: 1 exactly when
			    * one queue is configured */
	char   last[48];   /* queue of the last rule counted */
	char  *number;
	size_t numlen;
	int    found;
};

static int
count_rule(const char *q, size_t ql, const char *num, size_t nl, void *arg)
{
	struct find *f = arg;

	(void)num;
	(void)nl;
	/* the pair and a list entry may repeat one queue (same number) */
	if (f->n > 0 && strlen(f->last) == ql && memcmp(f->last, q, ql) == 0)
		return 0;
	if (ql < sizeof(f->last)) {
		memcpy(f->last, q, ql);
		f->last[ql] = '\0';
	}
	f->n++;
	return 0;
}

static int
match_rule(const char *q, size_t ql, const char *num, size_t nl, void *arg)
{
	struct find *f = arg;

	if (f->queue != NULL &&
	    (strlen(f->queue) != ql || memcmp(f->queue, q, ql) != 0))
		return 0;
	if (nl >= f->numlen)
		return -1;
	memcpy(f->number, num, nl);
	f->number[nl] = '\0';
	f->found = 1;
	return 1;
}

size_t
fh_redirect_nrules(const struct fh_config *cfg)
{
	struct find f;

	memset(&f, 0, sizeof(f));
	(void)each_rule(cfg, count_rule, &f);
	return f.n;
}

enum fh_err
fh_redirect_lookup(
    const struct fh_config *cfg, const char *queue, char *number, size_t numlen)
{
	struct find f;

	if (numlen > 0)
		number[0] = '\0';
	if (queue != NULL && !fh_is_sid(queue, strlen(queue), "WQ"))
		return FH_EINPUT;
	if (queue == NULL && fh_redirect_nrules(cfg) != 1)
		return FH_ENOTFOUND;
	memset(&f, 0, sizeof(f));
	f.queue = queue;
	f.number = number;
	f.numlen = numlen;
	if (each_rule(cfg, match_rule, &f) < 0)
		return FH_EINTERNAL;
	return f.found ? FH_OK : FH_ENOTFOUND;
}

void
fh_redirect_dial(
    struct fh_twiml *tw, const struct fh_config *cfg, const char *number)
{
	char timeout[24];

	fh_twiml_open(tw, FH_TW_DIAL);
	if (cfg->redirect_caller_id != NULL)
		fh_twiml_attr(tw, FH_TA_CALLER_ID, cfg->redirect_caller_id);
	if (cfg->redirect_timeout > 0) {
		if (snprintf(timeout, sizeof(timeout), "%lld",
			cfg->redirect_timeout) >= (int)sizeof(timeout))
			timeout[0] = '\0';
		fh_twiml_attr(tw, FH_TA_TIMEOUT, timeout);
	}
	if (cfg->redirect_action != NULL)
		fh_twiml_attr(tw, FH_TA_ACTION, cfg->redirect_action);
	fh_twiml_text(tw, number);
	fh_twiml_close(tw);
}

void
fh_redirect_goodbye(struct fh_twiml *tw, const struct fh_config *cfg)
{
	fh_twiml_open(tw, FH_TW_SAY);
	if (cfg->say_voice != NULL)
		fh_twiml_attr(tw, FH_TA_VOICE, cfg->say_voice);
	if (cfg->say_language != NULL)
		fh_twiml_attr(tw, FH_TA_LANGUAGE, cfg->say_language);
	fh_twiml_text(tw, FH_REDIRECT_SORRY);
	fh_twiml_close(tw);
	fh_twiml_open(tw, FH_TW_HANGUP);
	fh_twiml_close(tw);
}

enum fh_err
fh_redirect_finish(struct fh_twiml *tw, struct fh_resp *resp)
{
	enum fh_err err;

	err = fh_twiml_finish(tw);
	if (err != FH_OK && fh_resp_error(resp, err, NULL, NULL) != FH_OK)
		fh_resp_empty(resp, 500);
	return err;
}
