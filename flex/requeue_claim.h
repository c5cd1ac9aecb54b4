/* SPDX-License-Identifier: Apache-2.0 */
/*
 * requeue_claim.h - a callback or voicemail task turned into a new one with
 * attempts + 1, exactly once per task: flex/requeue-callback (the Flex
 * plugin's "Retry later") and create-callback when its request is a
 * requeue (the older template plugin's),
 * docs/design/callbacks-and-voicemail.md#requeue.
 *
 * The guarantee lives in the task itself, not in this process: before it
 * creates anything the handler claims the original task by writing the
 * marker "flexhooks_followup":{"type":"requeue","claim":"<32 hex>","at":
 * "<UTC>"} into its attributes with If-Match, and afterwards adds the new
 * task's SID to the marker as "task_sid".  A second request (a double
 * click, another host) reads the marker and answers the same SID, or 409
 * while the first is still working.  A request that fails after its claim
 * (Twilio's 429 or 5xx after the retries, the deadline) adds "failed":true
 * to its marker before it answers, so that a retry claims over it at once;
 * a claim left by a process that died is claimed over once 30 s old.
 * fh_requeue_marker() is that decision, kept apart from the REST calls so
 * that it can be tested on its own.
 *
 *
 * A request runs fh_requeue_claim(), then either answers the SID of an
 * earlier requeue or builds the new task and runs
 * fh_requeue_create_claimed(); fh_requeue_release() gives the claim up
 * when it fails in between.  fh_requeue_create() is the whole of it for
 * create-callback.
 */
#ifndef FH_REQUEUE_CLAIM_H
#define FH_REQUEUE_CLAIM_H

#include <stddef.h>

#include <json-c/json.h>

#include "lib/err.h"
#include "lib/fcgi.h"

#define FH_REQUEUE_MARKER "flexhooks_followup"
#define FH_REQUEUE_FRESH_MS 30000 /* a claim younger than this is live */
#define FH_REQUEUE_ROUNDS 3	  /* fetch-and-claim rounds on 412 */
#define FH_REQUEUE_CLAIM_LEN 32	  /* hex digits of a claim */
#define FH_REQUEUE_RELEASE_MS \
	3000 /* the least time left to mark a \
	      * failed request's claim */

/* What the marker of a task's attributes says. */
enum fh_rq_marker {
	FH_RQ_NONE = 0, /* no marker: claim the task */
	FH_RQ_STALE,	/* a claim without task_sid marked "failed":true,
			 * or at least 30 s old (or unreadable, or more
			 * than 30 s in the future): it is claimed over */
	FH_RQ_BUSY,	/* another request's claim without task_sid, less
			 * than 30 s old: 409 requeue in progress */
	FH_RQ_DONE,	/* a task_sid: the requeue already happened */
	FH_RQ_OURS,	/* this request's own claim: an earlier write that
			 * seemed to fail did land */
	FH_RQ__MAX
};

/* Read the flexhooks_followup marker of attrs (a task's parsed attributes,
 * borrowed; NULL reads as no marker).  claim is this request's claim (NULL
 * or "" when it has written none yet); now_ms is the wall clock in ms since
 * the epoch.  A marker whose task_sid is a well-formed WT SID is FH_RQ_DONE
 * whatever else it holds, and the SID is copied into sid (sidlen bytes, at
 * least 35; sid is "" for every other result).  A marker that is not an
 * object, or whose "at" is missing or is not an ISO 8601 date-time, is
 * FH_RQ_STALE.  Never fails. */
enum fh_rq_marker fh_requeue_marker(struct json_object *attrs,
    const char *claim, long long now_ms, char *sid, size_t sidlen);

/* The symbolic name of a marker state, for logs and tests ("none"); never
 * NULL. */
const char *fh_requeue_marker_name(enum fh_rq_marker m);

/* The state of one requeue across its fetch-and-claim rounds. */
struct fh_requeue {
	const char	   *sid;   /* the original (borrowed) */
	struct json_object *task;  /* as last fetched */
	struct json_object *attrs; /* its attributes; the marker
				    * once claimed */
	char etag[128];		   /* of the last read or write */
	char claim[FH_REQUEUE_CLAIM_LEN + 1];
	char done[40];	      /* task_sid of a finished one */
	int  lenient;	      /* create-callback: a missing
			       * task or another type is no
			       * error */
	int skip;	      /* lenient, and the task is no
			       * callback or voicemail */
	long long open_since; /* epoch s: when the oldest claim taken over
			       * whose create may have landed was made
			       * (0: none); carried in our marker as
			       * "open_since" */
};

/*
 * Steps 1 to 4: fetch rq->sid, read the marker, and claim the task with
 * If-Match, at most FH_REQUEUE_ROUNDS rounds.  rq is zeroed by the caller
 * but for sid and lenient; the caller puts rq->task and rq->attrs when
 * done.  On FH_OK either the claim is ours (rq->attrs carries it, rq->etag
 * is the task's version after it), or rq->done holds the SID of an earlier
 * requeue, or (lenient) rq->skip says the task is missing or no callback
 * or voicemail task.  Otherwise resp holds the answer: 404 with Twilio's
 * code, 409 "not a callback or voicemail task", 409 "requeue in
 * progress", or the REST error.
 */
enum fh_err fh_requeue_claim(struct fh_ctx *ctx, struct fh_requeue *rq,
    struct fh_resp *resp) FH_MUST_CHECK;

/* The request failed after its claim: mark the claim "failed" (best
 * effort, logged) so that a retry claims over it at once instead of
 * answering 409 until it is stale.  The REST deadline may have passed, so
 * the release gets FH_REQUEUE_RELEASE_MS of its own. */
void fh_requeue_release(struct fh_ctx *ctx, struct fh_requeue *rq);

/* Create the follow-up of the claimed rq from the POST body form[0..len)
 * (built by fh_attr_build()), record its SID in the marker and answer 200
 * with it; on failure release the claim and answer the REST error.  When
 * the create's answer was lost, a task it made is found and answered
 * instead, and a claim whose outcome cannot be told is kept (it goes stale
 * in 30 s).  kind ("callback" or "voicemail") is for the log. */
enum fh_err fh_requeue_create_claimed(struct fh_ctx *ctx, struct fh_requeue *rq,
    const char *form, size_t len, const char *kind,
    struct fh_resp *resp) FH_MUST_CHECK;

/* create-callback as a requeue of the task orig_sid (borrowed, like ctx,
 * form and kind): when orig_sid names a callback or voicemail task, claim
 * it as flex/requeue-callback does, create the task whose
 * POST body is form[0..len) (built by fh_attr_build()) exactly once, and
 * answer resp: 200 with the new SID (also for a repeat, with the SID the
 * first request created), 409 "requeue in progress", or the REST error
 * after marking the claim failed.  *handled is 1 then.  When orig_sid is
 * not found, or names another kind of task, *handled is 0, resp and the
 * task are untouched and the caller creates the task itself.  kind
 * ("callback" or "voicemail") is for the log. */
enum fh_err fh_requeue_create(struct fh_ctx *ctx, const char *orig_sid,
    const char *form, size_t len, const char *kind, struct fh_resp *resp,
    int *handled) FH_MUST_CHECK;

#endif
