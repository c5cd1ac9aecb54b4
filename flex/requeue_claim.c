/* SPDX-License-Identifier: Apache-2.0 */
/*
 * requeue_claim.c - the claim of a requeue and the follow-up it creates
 * (requeue_claim.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "flex/attr.h"
#include "flex/requeue_claim.h"
#include "flex/tasks.h"
#include "lib/answer.h"
#include "lib/claim.h"
#include "lib/clock.h"
#include "lib/form.h"
#include "lib/json.h"
#include "lib/valid.h"

static const char *const marker_names[FH_RQ__MAX] = {
    [FH_RQ_NONE] = "none",
    [FH_RQ_STALE] = "stale",
    [FH_RQ_BUSY] = "busy",
    [FH_RQ_DONE] = "done",
    [FH_RQ_OURS] = "ours",
};

const char *
fh_requeue_marker_name(enum fh_rq_marker m)
{
	if ((unsigned)m >= FH_RQ__MAX || marker_names[m] == NULL)
		return "unknown";
	return marker_names[m];
}

enum fh_rq_marker
fh_requeue_marker(struct json_object *attrs, const char *claim,
    long long now_ms, char *sid, size_t sidlen)
{
	struct json_object *mk, *f;
	struct fh_val	    at;
	const char	   *s;
	long long	    age;

	if (sid != NULL && sidlen > 0)
		sid[0] = '\0';
	if (attrs == NULL || !json_object_is_type(attrs, json_type_object) ||
	    !json_object_object_get_ex(attrs, FH_REQUEUE_MARKER, &mk))
		return FH_RQ_NONE;
	if (!json_object_is_type(mk, json_type_object))
		return FH_RQ_STALE;

	/* a finished requeue wins over everything else */
	s = fh_json_str(mk, "task_sid");
	if (s != NULL && fh_is_sid(s, strlen(s), "WT")) {
		if (sid != NULL && sidlen >= 35)
			memcpy(sid, s, 35);
		return FH_RQ_DONE;
	}
	/* a request that failed gave its claim up */
	if (json_object_object_get_ex(mk, "failed", &f) &&
	    json_object_is_type(f, json_type_boolean) &&
	    json_object_get_boolean(f))
		return FH_RQ_STALE;
	s = fh_json_str(mk, "claim");
	if (claim != NULL && claim[0] != '\0' && s != NULL &&
	    strcmp(s, claim) == 0)
		return FH_RQ_OURS;

	/* someone else's claim: live for 30 s, then stale */
	s = fh_json_str(mk, "at");
	memset(&at, 0, sizeof(at));
	if (s == NULL || fh_valid_datetime(s, strlen(s), &at) != FH_OK)
		return FH_RQ_STALE;
	age = now_ms - at.num * 1000;
	if (age < FH_REQUEUE_FRESH_MS && age > -FH_REQUEUE_FRESH_MS)
		return FH_RQ_BUSY;
	return FH_RQ_STALE;
}

/*
 * Fetch the original task into rq (replacing what an earlier round read)
 * and check that it is a callback or voicemail task (steps 1 and 2).  On
 * failure resp holds the answer: 404 with Twilio's code, 409, or the REST
 * error.
 */
static enum fh_err
fetch(struct fh_ctx *ctx, struct fh_requeue *rq, struct fh_resp *resp)
{
	struct fh_rest_resp rr;
	const char	   *type;
	enum fh_err	    err;

	json_object_put(rq->task);
	json_object_put(rq->attrs);
	rq->task = rq->attrs = NULL;
	memset(&rr, 0, sizeof(rr));
	err = fh_task_fetch(
	    ctx, rq->sid, &rq->task, rq->etag, sizeof(rq->etag), &rr);
	if (err == FH_ETASK404 && rq->lenient) {
		fh_log_info(
		    &ctx->log, "task '%s' not found: no claim", rq->sid);
		rq->skip = 1;
		err = FH_OK;
		goto out;
	}
	if (err != FH_OK) {
		if (err == FH_ETASK404)
			fh_log_info(&ctx->log, "cannot requeue task '%s': %s",
			    rq->sid, "not found");
		else
			fh_log_error(&ctx->log,
			    "cannot fetch task '%s': %s "
			    "(status %ld code %d)",
			    rq->sid, fh_err_name(err), rr.status,
			    rr.twerr.code);
		fh_resp_rest_error(resp, err, &rr);
		goto out;
	}
	if (fh_attr_parse_task(rq->task, &rq->attrs) != FH_OK && rq->lenient) {
		fh_log_info(&ctx->log,
		    "task '%s' has no readable "
		    "attributes: no claim",
		    rq->sid);
		rq->skip = 1;
		goto out;
	}
	if (rq->attrs == NULL) {
		fh_log_info(&ctx->log, "cannot requeue task '%s': %s", rq->sid,
		    "attributes are not a JSON object");
		err = fh_answer_error(resp, FH_ECONFLICT, NULL);
		goto out;
	}
	type = fh_json_str(rq->attrs, "taskType");
	if ((type == NULL ||
		(strcmp(type, "callback") != 0 &&
		    strcmp(type, "voicemail") != 0)) &&
	    rq->lenient) {
		fh_log_info(&ctx->log,
		    "task '%s' is no callback or voicemail "
		    "task: no claim",
		    rq->sid);
		rq->skip = 1;
	} else if (type == NULL ||
	    (strcmp(type, "callback") != 0 && strcmp(type, "voicemail") != 0)) {
		fh_log_info(&ctx->log, "cannot requeue task '%s': %s", rq->sid,
		    "not a callback or voicemail task");
		err = fh_answer_error(resp, FH_ECONFLICT, NULL);
	}
out:
	fh_rest_resp_release(&rr);
	return err;
}

/*
 * A claim taken over without a task_sid may have made its task before its
 * request died: the time since which such a task would have been created,
 * epoch s ("open_since" when an earlier takeover carried one, else "at");
 * 0 when the marker gave its claim up ("failed": nothing was created) or
 * holds no readable time.
 */
static long long
marker_open_since(struct json_object *attrs)
{
	struct json_object *mk, *f;
	struct fh_val	    v;
	const char	   *s;

	if (!json_object_object_get_ex(attrs, FH_REQUEUE_MARKER, &mk) ||
	    !json_object_is_type(mk, json_type_object) ||
	    (json_object_object_get_ex(mk, "failed", &f) &&
		json_object_is_type(f, json_type_boolean) &&
		json_object_get_boolean(f)))
		return 0;
	s = fh_json_str(mk, "open_since");
	if (s == NULL)
		s = fh_json_str(mk, "at");
	memset(&v, 0, sizeof(v));
	if (s == NULL || fh_valid_datetime(s, strlen(s), &v) != FH_OK ||
	    v.num <= 0)
		return 0;
	return v.num;
}

static enum fh_err
add_time(struct json_object *mk, const char *key, long long epoch_s)
{
	char	  at[32];
	time_t	  t = (time_t)epoch_s;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return FH_EINTERNAL;
	return fh_json_add_str(mk, key, at);
}

/* Add the marker {"type":"requeue","claim":...,"at":...} to rq->attrs,
 * replacing any stale one in place. */
static enum fh_err
add_marker(struct fh_requeue *rq, long long now_ms)
{
	struct json_object *mk;
	enum fh_err	    err;

	mk = json_object_new_object();
	if (mk == NULL)
		return FH_ENOMEM;
	if ((err = fh_json_add_str(mk, "type", "requeue")) != FH_OK ||
	    (err = fh_json_add_str(mk, "claim", rq->claim)) != FH_OK ||
	    (err = add_time(mk, "at", now_ms / 1000)) != FH_OK ||
	    (rq->open_since > 0 &&
		(err = add_time(mk, "open_since", rq->open_since)) != FH_OK)) {
		json_object_put(mk);
		return err;
	}
	return fh_json_add(rq->attrs, FH_REQUEUE_MARKER, mk);
}

/*
 * Steps 1 to 4: fetch, read the marker, and claim the task with If-Match,
 * at most FH_REQUEUE_ROUNDS rounds.  On FH_OK either the claim is ours
 * (rq->attrs carries it, rq->etag is the task's version after it) or
 * rq->done holds the SID of an earlier requeue.  Otherwise resp holds the
 * answer.
 */
enum fh_err
fh_requeue_claim(
    struct fh_ctx *ctx, struct fh_requeue *rq, struct fh_resp *resp)
{
	struct fh_rest_resp rr;
	enum fh_rq_marker   m;
	long long	    now;
	int		    round;
	enum fh_err	    err = FH_OK;

	memset(&rr, 0, sizeof(rr));
	for (round = 0; round < FH_REQUEUE_ROUNDS; round++) {
		if ((err = fetch(ctx, rq, resp)) != FH_OK || rq->skip)
			return err;
		now = fh_wall_ms();
		m = fh_requeue_marker(
		    rq->attrs, rq->claim, now, rq->done, sizeof(rq->done));
		fh_log_debug(&ctx->log, "task '%s' round %d marker %s", rq->sid,
		    round + 1, fh_requeue_marker_name(m));
		switch (m) {
		case FH_RQ_DONE:
			fh_log_info(&ctx->log,
			    "task '%s' already requeued as "
			    "'%s'",
			    rq->sid, rq->done);
			return FH_OK;
		case FH_RQ_OURS:
			/* a write that seemed to fail did land */
			return FH_OK;
		case FH_RQ_BUSY:
			fh_log_info(&ctx->log, "cannot requeue task '%s': %s",
			    rq->sid, "another request holds a fresh claim");
			return fh_answer_error(resp, FH_EBUSY, NULL);
		case FH_RQ_STALE:
			/* its create may have landed: looked for before
			 * ours (fh_requeue_create_claimed) */
			rq->open_since = marker_open_since(rq->attrs);
			fh_log_info(&ctx->log,
			    "task '%s': stale claim "
			    "taken over",
			    rq->sid);
			break;
		case FH_RQ_NONE:
		case FH_RQ__MAX:
			break;
		}
		if (rq->etag[0] == '\0') {
			/* without it the claim could not be conditional */
			fh_log_error(&ctx->log, "cannot claim task '%s': %s",
			    rq->sid, "no ETag in Twilio's answer");
			return fh_answer_error(resp, FH_EUPSTREAM, NULL);
		}
		if (rq->claim[0] == '\0' &&
		    (err = fh_claim_new(rq->claim, sizeof(rq->claim))) !=
			FH_OK) {
			fh_log_error(&ctx->log, "cannot make a claim: %s",
			    "no random bytes");
			return fh_answer_error(resp, err, NULL);
		}
		if ((err = add_marker(rq, now)) != FH_OK)
			return fh_answer_error(resp, err, NULL);
		err = fh_task_update_attrs(
		    ctx, rq->sid, rq->attrs, rq->etag, &rr);
		if (err == FH_OK) {
			if (snprintf(
				rq->etag, sizeof(rq->etag), "%s", rr.etag) < 0)
				rq->etag[0] = '\0';
			fh_rest_resp_release(&rr);
			return FH_OK;
		}
		if (err == FH_ETWILIO && rr.status == 412) {
			/* someone else wrote the task: read it again */
			fh_log_info(&ctx->log,
			    "task '%s' changed during the "
			    "claim (412, round %d)",
			    rq->sid, round + 1);
			if (round + 1 < FH_REQUEUE_ROUNDS)
				fh_rest_resp_release(&rr);
			continue;
		}
		break;
	}
	fh_log_error(&ctx->log,
	    "cannot claim task '%s': %s (status %ld "
	    "code %d)",
	    rq->sid, fh_err_name(err), rr.status, rr.twerr.code);
	fh_resp_rest_error(resp, err, &rr);
	fh_rest_resp_release(&rr);
	return err;
}

/*
 * Best effort: set key to val (stolen) in our marker with If-Match, one
 * retry on 412 (after a fresh read, and only while the marker is still
 * ours).  Failures are logged only.  Step 6 records the new task's SID
 * this way; a failed request marks its claim "failed".
 */
static void
mark(struct fh_ctx *ctx, struct fh_requeue *rq, const char *key,
    struct json_object *val)
{
	struct fh_rest_resp rr;
	struct json_object *task = NULL, *attrs = NULL, *mk;
	const char	   *why = NULL;
	char		    etag[128];
	int		    round;
	enum fh_err	    err = FH_OK;

	memset(&rr, 0, sizeof(rr));
	attrs = json_object_get(rq->attrs);
	if (snprintf(etag, sizeof(etag), "%s", rq->etag) < 0)
		etag[0] = '\0';
	for (round = 0; round < 2; round++) {
		if (round > 0 || etag[0] == '\0') {
			/* a fresh read: after a 412, or when the claim's
			 * answer had no ETag */
			json_object_put(task);
			json_object_put(attrs);
			task = attrs = NULL;
			err = fh_task_fetch(
			    ctx, rq->sid, &task, etag, sizeof(etag), &rr);
			if (err == FH_OK)
				err = fh_attr_parse_task(task, &attrs);
			if (err != FH_OK)
				break;
			fh_rest_resp_release(&rr);
		}
		if (etag[0] == '\0') {
			why = "no ETag";
			break;
		}
		if (!json_object_object_get_ex(attrs, FH_REQUEUE_MARKER, &mk) ||
		    fh_json_str(mk, "claim") == NULL ||
		    strcmp(fh_json_str(mk, "claim"), rq->claim) != 0) {
			why = "claim replaced";
			break;
		}
		err = fh_json_add(mk, key, json_object_get(val));
		if (err == FH_OK)
			err = fh_task_update_attrs(
			    ctx, rq->sid, attrs, etag, &rr);
		if (err != FH_ETWILIO || rr.status != 412)
			break;
		fh_rest_resp_release(&rr);
	}
	if (why != NULL)
		fh_log_warn(&ctx->log, "cannot record '%s' on task '%s': %s",
		    key, rq->sid, why);
	else if (err != FH_OK)
		fh_log_warn(&ctx->log,
		    "cannot record '%s' on task '%s': %s "
		    "(status %ld code %d)",
		    key, rq->sid, fh_err_name(err), rr.status, rr.twerr.code);
	fh_rest_resp_release(&rr);
	json_object_put(task);
	json_object_put(attrs);
	json_object_put(val);
}

/* Step 6: the new task's SID into our marker. */
static void
record_sid(struct fh_ctx *ctx, struct fh_requeue *rq, const char *new_sid)
{
	mark(ctx, rq, "task_sid", json_object_new_string(new_sid));
}

/*
 * The request failed after its claim: mark the claim "failed" so that a
 * retry claims over it at once instead of answering 409 until it is
 * stale.  The REST deadline may have passed (that can be the failure), so
 * the release gets FH_REQUEUE_RELEASE_MS of its own.
 */
void
fh_requeue_release(struct fh_ctx *ctx, struct fh_requeue *rq)
{
	if (fh_rest_remaining(ctx->rest) < FH_REQUEUE_RELEASE_MS)
		fh_rest_set_deadline(ctx->rest, FH_REQUEUE_RELEASE_MS);
	mark(ctx, rq, "failed", json_object_new_boolean(1));
	fh_log_info(&ctx->log, "released the claim on task '%s'", rq->sid);
}

/* The conversations.conversation_id of the Attributes in the create body
 * form[0..len), into out (outlen bytes); 0 when there is none usable in a
 * TaskRouter expression. */
static int
form_conversation(const char *form, size_t len, char *out, size_t outlen)
{
	struct fh_form	      f;
	const struct fh_pair *p;
	struct json_object   *a = NULL, *conv;
	const char	     *s = NULL;
	int		      ok = 0;

	fh_form_init(&f);
	if (fh_form_parse(&f, form, len) != FH_OK ||
	    (p = fh_form_get(&f, "Attributes")) == NULL ||
	    fh_json_parse(p->value, p->vlen, &a) != FH_OK)
		goto out;
	if (json_object_object_get_ex(a, "conversations", &conv))
		s = fh_json_str(conv, "conversation_id");
	if (s != NULL && s[0] != '\0' && strpbrk(s, "\"\\") == NULL &&
	    snprintf(out, outlen, "%s", s) > 0 && strlen(s) < outlen)
		ok = 1;
out:
	json_object_put(a);
	fh_form_release(&f);
	return ok;
}

/*
 * The create's answer was lost (the deadline, a dropped connection): it may
 * have made the task.  Look for a task of the same conversation created
 * since our claim: 1 with its SID in sid (40 bytes), 0 when there is none,
 * -1 when it cannot be told.
 */
static int
find_created(struct fh_ctx *ctx, struct fh_requeue *rq, const char *form,
    size_t len, char *sid)
{
	struct json_object *mk;
	struct fh_val	    at;
	long long	    since = rq->open_since; /* a claim taken over */
	char		    conv[260];
	const char	   *s;
	int		    res = -1;

	memset(&at, 0, sizeof(at));
	if (since <= 0 &&
	    json_object_object_get_ex(rq->attrs, FH_REQUEUE_MARKER, &mk) &&
	    (s = fh_json_str(mk, "at")) != NULL &&
	    fh_valid_datetime(s, strlen(s), &at) == FH_OK)
		since = at.num; /* our own claim's */
	if (since > 0 && form_conversation(form, len, conv, sizeof(conv)))
		res = fh_task_find_created(ctx, conv, since, rq->sid, sid);
	if (res < 0)
		fh_log_warn(&ctx->log,
		    "cannot tell whether a task was created "
		    "for '%s'",
		    rq->sid);
	return res;
}

/* Create the follow-up of the claimed rq from form and answer it; on
 * failure release the claim and answer the REST error.  When the create's
 * answer was lost, a task it made is found and answered instead, and a
 * claim whose outcome cannot be told is kept (it goes stale in 30 s). */
enum fh_err
fh_requeue_create_claimed(struct fh_ctx *ctx, struct fh_requeue *rq,
    const char *form, size_t len, const char *kind, struct fh_resp *resp)
{
	struct fh_rest_resp rr;
	char		    sid[40];
	int		    found;
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	if (rq->open_since > 0) {
		/* a claim taken over: its request may have died after its
		 * create landed */
		found = find_created(ctx, rq, form, len, sid);
		if (found == 1) {
			fh_log_warn(&ctx->log,
			    "the claim taken over on '%s' had made task "
			    "'%s'",
			    rq->sid, sid);
			goto made;
		}
		if (found < 0) {
			/* our claim keeps open_since: a retry looks again
			 * once it is stale */
			err = fh_answer_error(resp, FH_EUPSTREAM, NULL);
			goto out;
		}
	}
	err = fh_task_create(ctx, form, len, sid, sizeof(sid), &rr);
	if (err != FH_OK) {
		fh_log_error(&ctx->log,
		    "cannot create %s task for '%s': "
		    "status %ld code %d",
		    kind, rq->sid, rr.status, rr.twerr.code);
		found = 0;
		if (rr.status == 0 &&
		    (err == FH_ETIMEOUT || err == FH_EUPSTREAM)) {
			/* sent, perhaps, but no answer: look first */
			if (fh_rest_remaining(ctx->rest) <
			    FH_REQUEUE_RELEASE_MS)
				fh_rest_set_deadline(
				    ctx->rest, FH_REQUEUE_RELEASE_MS);
			found = find_created(ctx, rq, form, len, sid);
		}
		if (found == 1) {
			fh_log_warn(&ctx->log,
			    "the lost create made task "
			    "'%s'",
			    sid);
			err = FH_OK;
		} else {
			if (found == 0)
				fh_requeue_release(ctx, rq);
			fh_resp_rest_error(resp, err, &rr);
			goto out;
		}
	}
made:
	/* the access line names the task the route is about: requeue's
	 * original, create-callback's new one */
	if (rq->lenient)
		fh_log_set_task(&ctx->log, sid);
	fh_log_info(&ctx->log, "requeued task '%s' as %s task '%s'", rq->sid,
	    kind, sid);
	record_sid(ctx, rq, sid);
	err = fh_answer_task_sid(resp, sid);
out:
	fh_rest_resp_release(&rr);
	return err;
}

enum fh_err
fh_requeue_create(struct fh_ctx *ctx, const char *orig_sid, const char *form,
    size_t len, const char *kind, struct fh_resp *resp, int *handled)
{
	struct fh_requeue rq;
	enum fh_err	  err;

	*handled = 0;
	memset(&rq, 0, sizeof(rq));
	rq.sid = orig_sid;
	rq.lenient = 1;
	err = fh_requeue_claim(ctx, &rq, resp);
	if (err == FH_OK && rq.skip)
		goto out;
	*handled = 1;
	if (err != FH_OK)
		goto out;
	if (rq.done[0] != '\0')
		err = fh_answer_task_sid(resp, rq.done);
	else
		err =
		    fh_requeue_create_claimed(ctx, &rq, form, len, kind, resp);
out:
	json_object_put(rq.task);
	json_object_put(rq.attrs);
	return err;
}
