/*
 * requeue.c - the flex/requeue-callback handler.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>

#include <json-c/json.h>

#include "attr.h"
#include "callback.h"
#include "followup.h"
#include "form.h"
#include "json.h"
#include "requeue.h"
#include "tasks.h"
#include "valid.h"

enum rq_field {
	RQ_TASK_SID,
	RQ__MAX
};

static const struct fh_field rq_fields[RQ__MAX] = {
	[RQ_TASK_SID] =	{ "taskSid", NULL, fh_valid_sid_wt, FH_REQUIRED },
};

static const char *const marker_names[FH_RQ__MAX] = {
	[FH_RQ_NONE] =	"none",
	[FH_RQ_STALE] =	"stale",
	[FH_RQ_BUSY] =	"busy",
	[FH_RQ_DONE] =	"done",
	[FH_RQ_OURS] =	"ours",
};

/* The state of one requeue across its fetch-and-claim rounds. */
struct rq {
	const char		*sid;		/* the original (borrowed) */
	struct json_object	*task;		/* as last fetched */
	struct json_object	*attrs;		/* its attributes; the marker
						 * once claimed */
	char			 etag[128];	/* of the last read or write */
	char			 claim[FH_REQUEUE_CLAIM_LEN + 1];
	char			 done[40];	/* task_sid of a finished one */
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
	struct json_object	*mk;
	struct fh_val		 at;
	const char		*s;
	long long		 age;

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

/* The wall clock in ms since the epoch. */
static long long
wall_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 32 hex digits from the system's random source into out (33 bytes). */
static enum fh_err
new_claim(char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 raw[FH_REQUEUE_CLAIM_LEN / 2];
	size_t			 i;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return FH_EINTERNAL;
	for (i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[FH_REQUEUE_CLAIM_LEN] = '\0';
	return FH_OK;
}

/* 400 naming the field: "missing taskSid" / "invalid taskSid". */
static enum fh_err
field_error(struct fh_ctx *ctx, struct fh_resp *resp, size_t bad,
    int missing)
{
	char	 msg[96];

	snprintf(msg, sizeof(msg), "%s %s", missing ? "missing" : "invalid",
	    rq_fields[bad].name);
	fh_log_info(&ctx->log, "rejected request: %s", msg);
	if (fh_resp_error(resp, FH_EINPUT, msg, NULL) != FH_OK)
		fh_resp_empty(resp, 500);
	return FH_EINPUT;
}

/* Answer err with its fixed body (no Twilio detail). */
static enum fh_err
answer_error(struct fh_resp *resp, enum fh_err err)
{
	if (fh_resp_error(resp, err, NULL, NULL) != FH_OK)
		fh_resp_empty(resp, 500);
	return err;
}

/* Answer 200 {"taskSid":sid,"success":true}. */
static enum fh_err
answer_sid(struct fh_resp *resp, const char *sid)
{
	struct json_object	*ok;
	enum fh_err		 err;

	ok = json_object_new_object();
	if (ok == NULL)
		return FH_ENOMEM;
	if ((err = fh_json_add_str(ok, "taskSid", sid)) == FH_OK &&
	    (err = fh_json_add(ok, "success",
	    json_object_new_boolean(1))) == FH_OK &&
	    (err = fh_resp_json(resp, 200, ok)) == FH_OK)
		err = fh_resp_header(resp, "Cache-Control", "no-store");
	json_object_put(ok);
	return err;
}

/*
 * Fetch the original task into rq (replacing what an earlier round read)
 * and check that it is a callback or voicemail task (steps 1 and 2).  On
 * failure resp holds the answer: 404 with Twilio's code, 409, or the REST
 * error.
 */
static enum fh_err
fetch(struct fh_ctx *ctx, struct rq *rq, struct fh_resp *resp)
{
	struct fh_rest_resp	 rr;
	const char		*type;
	enum fh_err		 err;

	json_object_put(rq->task);
	json_object_put(rq->attrs);
	rq->task = rq->attrs = NULL;
	memset(&rr, 0, sizeof(rr));
	err = fh_task_fetch(ctx, rq->sid, &rq->task, rq->etag,
	    sizeof(rq->etag), &rr);
	if (err != FH_OK) {
		if (err == FH_ETASK404)
			fh_log_info(&ctx->log, "cannot requeue task '%s': %s",
			    rq->sid, "not found");
		else
			fh_log_error(&ctx->log, "cannot fetch task '%s': %s "
			    "(status %ld code %d)", rq->sid, fh_err_name(err),
			    rr.status, rr.twerr.code);
		fh_resp_rest_error(resp, err, &rr);
		goto out;
	}
	if (fh_attr_parse_task(rq->task, &rq->attrs) != FH_OK) {
		fh_log_info(&ctx->log, "cannot requeue task '%s': %s",
		    rq->sid, "attributes are not a JSON object");
		err = answer_error(resp, FH_ECONFLICT);
		goto out;
	}
	type = fh_json_str(rq->attrs, "taskType");
	if (type == NULL || (strcmp(type, "callback") != 0 &&
	    strcmp(type, "voicemail") != 0)) {
		fh_log_info(&ctx->log, "cannot requeue task '%s': %s",
		    rq->sid, "not a callback or voicemail task");
		err = answer_error(resp, FH_ECONFLICT);
	}
out:
	fh_rest_resp_release(&rr);
	return err;
}

/* Add the marker {"type":"requeue","claim":...,"at":...} to rq->attrs,
 * replacing any stale one in place. */
static enum fh_err
add_marker(struct rq *rq, long long now_ms)
{
	struct json_object	*mk;
	char			 at[32];
	time_t			 t = (time_t)(now_ms / 1000);
	struct tm		 tm;
	enum fh_err		 err;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return FH_EINTERNAL;
	mk = json_object_new_object();
	if (mk == NULL)
		return FH_ENOMEM;
	if ((err = fh_json_add_str(mk, "type", "requeue")) != FH_OK ||
	    (err = fh_json_add_str(mk, "claim", rq->claim)) != FH_OK ||
	    (err = fh_json_add_str(mk, "at", at)) != FH_OK) {
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
static enum fh_err
claim(struct fh_ctx *ctx, struct rq *rq, struct fh_resp *resp)
{
	struct fh_rest_resp	 rr;
	enum fh_rq_marker	 m;
	long long		 now;
	int			 round;
	enum fh_err		 err = FH_OK;

	memset(&rr, 0, sizeof(rr));
	for (round = 0; round < FH_REQUEUE_ROUNDS; round++) {
		if ((err = fetch(ctx, rq, resp)) != FH_OK)
			return err;
		now = wall_ms();
		m = fh_requeue_marker(rq->attrs, rq->claim, now, rq->done,
		    sizeof(rq->done));
		fh_log_debug(&ctx->log, "task '%s' round %d marker %s",
		    rq->sid, round + 1, fh_requeue_marker_name(m));
		switch (m) {
		case FH_RQ_DONE:
			fh_log_info(&ctx->log, "task '%s' already requeued as "
			    "'%s'", rq->sid, rq->done);
			return FH_OK;
		case FH_RQ_OURS:
			/* a write that seemed to fail did land */
			return FH_OK;
		case FH_RQ_BUSY:
			fh_log_info(&ctx->log, "cannot requeue task '%s': %s",
			    rq->sid, "another request holds a fresh claim");
			return answer_error(resp, FH_EBUSY);
		case FH_RQ_STALE:
			fh_log_info(&ctx->log, "task '%s': stale claim "
			    "ignored", rq->sid);
			break;
		case FH_RQ_NONE:
		case FH_RQ__MAX:
			break;
		}
		if (rq->etag[0] == '\0') {
			/* without it the claim could not be conditional */
			fh_log_error(&ctx->log, "cannot claim task '%s': %s",
			    rq->sid, "no ETag in Twilio's answer");
			return answer_error(resp, FH_EUPSTREAM);
		}
		if (rq->claim[0] == '\0' &&
		    (err = new_claim(rq->claim)) != FH_OK) {
			fh_log_error(&ctx->log, "cannot make a claim: %s",
			    "no random bytes");
			return answer_error(resp, err);
		}
		if ((err = add_marker(rq, now)) != FH_OK)
			return answer_error(resp, err);
		err = fh_task_update_attrs(ctx, rq->sid, rq->attrs, rq->etag,
		    &rr);
		if (err == FH_OK) {
			if (snprintf(rq->etag, sizeof(rq->etag), "%s",
			    rr.etag) < 0)
				rq->etag[0] = '\0';
			fh_rest_resp_release(&rr);
			return FH_OK;
		}
		if (err == FH_ETWILIO && rr.status == 412) {
			/* someone else wrote the task: read it again */
			fh_log_info(&ctx->log, "task '%s' changed during the "
			    "claim (412, round %d)", rq->sid, round + 1);
			if (round + 1 < FH_REQUEUE_ROUNDS)
				fh_rest_resp_release(&rr);
			continue;
		}
		break;
	}
	fh_log_error(&ctx->log, "cannot claim task '%s': %s (status %ld "
	    "code %d)", rq->sid, fh_err_name(err), rr.status, rr.twerr.code);
	fh_resp_rest_error(resp, err, &rr);
	fh_rest_resp_release(&rr);
	return err;
}

/*
 * Step 6, best effort: add task_sid to our marker with If-Match, one retry
 * on 412 (after a fresh read, and only while the marker is still ours).
 * Failures are logged only: the new task exists either way.
 */
static void
record_sid(struct fh_ctx *ctx, struct rq *rq, const char *new_sid)
{
	struct fh_rest_resp	 rr;
	struct json_object	*task = NULL, *attrs = NULL, *mk;
	const char		*why = NULL;
	char			 etag[128];
	int			 round;
	enum fh_err		 err = FH_OK;

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
			err = fh_task_fetch(ctx, rq->sid, &task, etag,
			    sizeof(etag), &rr);
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
		err = fh_json_add_str(mk, "task_sid", new_sid);
		if (err == FH_OK)
			err = fh_task_update_attrs(ctx, rq->sid, attrs, etag,
			    &rr);
		if (err != FH_ETWILIO || rr.status != 412)
			break;
		fh_rest_resp_release(&rr);
	}
	if (why != NULL)
		fh_log_warn(&ctx->log, "cannot record '%s' on task '%s': %s",
		    new_sid, rq->sid, why);
	else if (err != FH_OK)
		fh_log_warn(&ctx->log, "cannot record '%s' on task '%s': %s "
		    "(status %ld code %d)", new_sid, rq->sid,
		    fh_err_name(err), rr.status, rr.twerr.code);
	fh_rest_resp_release(&rr);
	json_object_put(task);
	json_object_put(attrs);
}

enum fh_err
fh_handle_requeue_callback(struct fh_ctx *ctx, const struct fh_req *req,
    struct fh_resp *resp)
{
	struct fh_val		 val[RQ__MAX];
	struct fh_task_in	 in;
	struct fh_rest_resp	 rr;
	struct fh_buf		 form;
	struct rq		 rq;
	char			 sid[40];
	size_t			 bad = 0;
	int			 missing = 0;
	enum fh_err		 err;

	fh_buf_init(&form, 256 * 1024);
	memset(&rr, 0, sizeof(rr));
	memset(&rq, 0, sizeof(rq));
	err = fh_form_validate(&req->params, rq_fields, RQ__MAX, val, &bad,
	    &missing);
	if (err != FH_OK)
		return field_error(ctx, resp, bad, missing);
	rq.sid = val[RQ_TASK_SID].str;
	fh_log_set_task(&ctx->log, rq.sid);

	/* steps 1-4: one claim per task, or the answer of an earlier one */
	err = claim(ctx, &rq, resp);
	if (err != FH_OK)
		goto out;
	if (rq.done[0] != '\0') {
		err = answer_sid(resp, rq.done);
		goto out;
	}

	/* step 5: the same routing, attempts + 1, no VirtualStartTime */
	memset(&in, 0, sizeof(in));
	in.orig = rq.task;
	fh_followup_prepare(ctx, &in);
	err = fh_attr_build(&in, &form);
	if (err != FH_OK) {
		fh_log_error(&ctx->log, "cannot build task from '%s': %s",
		    rq.sid, fh_strerror(err));
		answer_error(resp, err);
		goto out;
	}
	err = fh_task_create(ctx, fh_buf_cstr(&form), form.len, sid,
	    sizeof(sid), &rr);
	if (err != FH_OK) {
		fh_log_error(&ctx->log, "cannot create requeued task for "
		    "'%s': status %ld code %d", rq.sid, rr.status,
		    rr.twerr.code);
		fh_resp_rest_error(resp, err, &rr);
		goto out;
	}
	fh_log_info(&ctx->log, "requeued task '%s' as '%s'", rq.sid, sid);

	/* step 6: remember the result on the original, best effort */
	record_sid(ctx, &rq, sid);
	err = answer_sid(resp, sid);
out:
	fh_rest_resp_release(&rr);
	fh_buf_release(&form);
	json_object_put(rq.task);
	json_object_put(rq.attrs);
	return err;
}
