/*
 * tasks.h - TaskRouter task requests on top of the REST client.
 *
 * Thin wrappers that know the paths and the idempotency of each task
 * request (twilio-platform.md sections 5 and 7).  Results that carry
 * Twilio's error detail leave it in the caller's fh_rest_resp.
 */
#ifndef FH_TASKS_H
#define FH_TASKS_H

#include <json-c/json.h>

#include "err.h"
#include "fcgi.h"
#include "rest.h"

/* Create a task from the form body (fh_attr_build()).  Not idempotent: the
 * client retries it only on 429 or when no connection was made.  On FH_OK
 * the new SID (34 characters + NUL) is in sid.  resp is initialised here
 * and released by the caller. */
enum fh_err	 fh_task_create(struct fh_ctx *ctx, const char *form,
		    size_t form_len, char *sid, size_t sidlen,
		    struct fh_rest_resp *resp) FH_MUST_CHECK;



/* GET one task: *task (the caller puts it) and its ETag into etag
 * (etaglen bytes).  FH_ETASK404 when Twilio answers 404. */
enum fh_err	 fh_task_fetch(struct fh_ctx *ctx, const char *sid,
		    struct json_object **task, char *etag, size_t etaglen,
		    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* GET the first page of the task list with the encoded query; *tasks is
 * the "tasks" array (the caller puts it). */
enum fh_err	 fh_task_list(struct fh_ctx *ctx, const char *query,
		    struct json_object **tasks, struct fh_rest_resp *resp)
		    FH_MUST_CHECK;

/* POST new Attributes (the object's text) with If-Match: etag (which makes
 * the update idempotent).  FH_ETWILIO with resp->status 412 on a stale
 * ETag. */
enum fh_err	 fh_task_update_attrs(struct fh_ctx *ctx, const char *sid,
		    struct json_object *attrs, const char *etag,
		    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* POST ReservationStatus=rejected to the reservation reservation_sid of
 * task task_sid (both validated SIDs, borrowed), retried on 5xx and
 * timeouts (a final status is idempotent).  Returns fh_rest_do()'s result:
 * a 4xx (the reservation is no longer pending) is FH_ETWILIO or
 * FH_ENOTFOUND, which callers log and tolerate.  resp is initialised here
 * and released by the caller. */
enum fh_err	 fh_reservation_reject(struct fh_ctx *ctx, const char *task_sid,
		    const char *reservation_sid, struct fh_rest_resp *resp)
		    FH_MUST_CHECK;

/* DELETE a transcription; a 404 counts as done. */
enum fh_err	 fh_transcription_delete(struct fh_ctx *ctx, const char *sid,
		    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* DELETE a recording (sid: an RE SID, borrowed); a 404 counts as done.
 * resp is initialised here and released by the caller. */
enum fh_err	 fh_recording_delete(struct fh_ctx *ctx, const char *sid,
		    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* Cancel a task: POST AssignmentStatus=canceled, Reason=reason and, when
 * attrs is not NULL, Attributes (the object's text), with If-Match: etag
 * when etag is not empty (which makes it safe to resend).  All arguments
 * are borrowed.  FH_ETASK404 on 404; FH_ETWILIO with resp->status 412 on
 * a stale ETag, or 400 when the task can no longer be canceled.  resp is
 * initialised here and released by the caller. */
enum fh_err	 fh_task_cancel(struct fh_ctx *ctx, const char *sid,
		    const char *reason, struct json_object *attrs,
		    const char *etag, struct fh_rest_resp *resp)
		    FH_MUST_CHECK;

/* End a task: POST AssignmentStatus=status ("canceled" or "completed")
 * and Reason=reason, without If-Match.  Setting a final status is
 * idempotent (twilio-platform.md section 7), so the client retries it on
 * 5xx and timeouts.  All arguments are borrowed.  FH_ETASK404 on 404;
 * FH_ETWILIO with resp->status 400 when the task cannot take that status
 * (already ended, or assigned); resp->resent says an earlier attempt may
 * have landed.  resp is initialised here and released by the caller. */
enum fh_err	 fh_task_finish(struct fh_ctx *ctx, const char *sid,
		    const char *status, const char *reason,
		    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* POST a call create with the form body form[0..len) (Calls.json).  Not
 * idempotent: retried only on 429 or when no connection was made.  On
 * FH_OK the new call's SID (34 characters + NUL) is in sid (sidlen bytes,
 * at least 35).  resp is initialised here and released by the caller. */
enum fh_err	 fh_call_create(struct fh_ctx *ctx, const char *form,
		    size_t len, char *sid, size_t sidlen,
		    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* POST a call update (sid: a CA SID) with the form body form[0..len).
 * Not idempotent (a repeat would restart the call's TwiML).  FH_ETWILIO
 * with resp->twerr.code 21220 when the call has ended. */
enum fh_err	 fh_call_update(struct fh_ctx *ctx, const char *sid,
		    const char *form, size_t len, struct fh_rest_resp *resp)
		    FH_MUST_CHECK;

/* GET a queue (sid: a QU SID) and copy its friendly_name into name
 * (namelen bytes; "" when absent or too long). */
enum fh_err	 fh_queue_fetch(struct fh_ctx *ctx, const char *sid,
		    char *name, size_t namelen, struct fh_rest_resp *resp)
		    FH_MUST_CHECK;

/* GET the first page of a call's recordings (sid: a CA SID); *recs is
 * the "recordings" array (the caller puts it). */
enum fh_err	 fh_call_recordings(struct fh_ctx *ctx, const char *sid,
		    struct json_object **recs, struct fh_rest_resp *resp)
		    FH_MUST_CHECK;

#endif
