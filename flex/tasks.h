/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tasks.h - TaskRouter task requests on top of the REST client.
 *
 * Thin wrappers that know the paths and the idempotency of each task
 * request (docs/design/platform.md#twilio-rest-requests and
 * #retries-and-deadlines).  Results that carry Twilio's error detail leave it
 * in the caller's fh_rest_resp.
 *
 * The readers of Twilio's answers (fh_task_parse() and the rest of the
 * second group) need no network: the requests call them on the body, and
 * tests/fuzz/fuzz_twilio.c calls them on anything.  They borrow the body
 * and keep no pointer into it.
 */
#ifndef FH_TASKS_H
#define FH_TASKS_H

#include <json-c/json.h>

#include "lib/err.h"
#include "lib/fcgi.h"
#include "lib/rest.h"

/* The workspace of ctx's TaskRouter requests: ctx->workspace (an event's
 * own) when set, else fh_config_default_workspace(); NULL when there is
 * none (the requests then fail with FH_ECONFIG). */
const char *fh_ctx_workspace(const struct fh_ctx *ctx);

/* Create a task from the form body (fh_attr_build()).  Not idempotent: the
 * client retries it only on 429 or when no connection was made.  On FH_OK
 * the new SID (34 characters + NUL) is in sid.  resp is initialised here
 * and released by the caller. */
enum fh_err fh_task_create(struct fh_ctx *ctx, const char *form,
    size_t form_len, char *sid, size_t sidlen,
    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* GET one task: *task (the caller puts it) and its ETag into etag
 * (etaglen bytes).  FH_ETASK404 when Twilio answers 404. */
enum fh_err fh_task_fetch(struct fh_ctx *ctx, const char *sid,
    struct json_object **task, char *etag, size_t etaglen,
    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* GET the first page of the task list with the encoded query; *tasks is
 * the "tasks" array (the caller puts it). */
enum fh_err fh_task_list(struct fh_ctx *ctx, const char *query,
    struct json_object **tasks, struct fh_rest_resp *resp) FH_MUST_CHECK;

/* Decides whether one listed task is the one looked for: t is the task as
 * listed (its "sid" a WT SID), attrs its parsed attributes (a task whose
 * attributes cannot be read is skipped), arg the caller's.  Nonzero: this
 * one. */
typedef int (*fh_task_match)(
    struct json_object *t, struct json_object *attrs, const void *arg);

/* Look for a task with one EvaluateTaskAttributes list (expr, a TaskRouter
 * expression; first page of 20, newest first unless oldest_first): the first
 * listed task with a WT SID that match accepts.  Returns 1 with its SID in
 * sid (40 bytes), 0 when there is none, -1 when it cannot be told (the list
 * failed after the client's retries: logged with why).  TaskRouter
 * rate-limits these lists to about 3 a second, so they belong on the paths
 * that follow a failure, never on the normal one. */
int fh_task_find(struct fh_ctx *ctx, const char *expr, int oldest_first,
    fh_task_match match, const void *arg, char *sid);

/* A follow-up whose create got no answer, or whose process died before it
 * wrote the new SID down, may exist: look for a task other than exclude
 * whose conversations.conversation_id is conv and which was created at or
 * after since (seconds since the epoch), newest first, first page of 20.
 * Returns 1 with its SID in sid (40 bytes), 0 when there is none, -1 when
 * it cannot be told (conv unusable in an expression, a REST failure).
 * Borrows every argument. */
int fh_task_find_created(struct fh_ctx *ctx, const char *conv, long long since,
    const char *exclude, char *sid);

/* POST new Attributes (the object's text) with If-Match: etag (which makes
 * the update idempotent).  FH_ETWILIO with resp->status 412 on a stale
 * ETag. */
enum fh_err fh_task_update_attrs(struct fh_ctx *ctx, const char *sid,
    struct json_object *attrs, const char *etag,
    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* An idempotent GET of path (with query, may be NULL; both borrowed)
 * under base, with the client's defaults: fh_rest_do()'s result in
 * resp, which the caller releases. */
enum fh_err fh_twilio_get(struct fh_ctx *ctx, enum fh_rest_base base,
    const char *path, const char *query,
    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* The GET of recording rec's MP3 (an RE SID, borrowed) into rq, its path
 * written to path (pathlen bytes, 160 is plenty): idempotent, following
 * Twilio's redirect to the media host (without our credentials), the
 * answer capped at max bytes.  Only this URL, built here: never one a
 * client named.  FH_EINTERNAL when the path does not fit. */
enum fh_err fh_recording_get_req(const struct fh_config *cfg, const char *rec,
    size_t max, char *path, size_t pathlen,
    struct fh_rest_req *rq) FH_MUST_CHECK;

/* POST ReservationStatus=rejected to the reservation reservation_sid of
 * task task_sid (both validated SIDs, borrowed), retried on 5xx and
 * timeouts (a final status is idempotent).  Returns fh_rest_do()'s result:
 * a 4xx (the reservation is no longer pending) is FH_ETWILIO or
 * FH_ENOTFOUND, which callers log and tolerate.  resp is initialised here
 * and released by the caller. */
enum fh_err fh_reservation_reject(struct fh_ctx *ctx, const char *task_sid,
    const char *reservation_sid, struct fh_rest_resp *resp) FH_MUST_CHECK;

/* fh_reservation_reject() under the request's deadline, its outcome
 * logged only: "rejected", a 4xx as no longer pending (info), anything
 * else as an error.  For the routes that reject a reservation on the way
 * (the dialer, /dial-queue, the status callback). */
void fh_reservation_reject_logged(
    struct fh_ctx *ctx, const char *task_sid, const char *reservation_sid);

/* DELETE a transcription; a 404 counts as done. */
enum fh_err fh_transcription_delete(struct fh_ctx *ctx, const char *sid,
    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* DELETE a recording (sid: an RE SID, borrowed); a 404 counts as done.
 * resp is initialised here and released by the caller. */
enum fh_err fh_recording_delete(struct fh_ctx *ctx, const char *sid,
    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* Cancel a task: POST AssignmentStatus=canceled, Reason=reason and, when
 * attrs is not NULL, Attributes (the object's text), with If-Match: etag
 * when etag is not empty (which makes it safe to resend).  All arguments
 * are borrowed.  FH_ETASK404 on 404; FH_ETWILIO with resp->status 412 on
 * a stale ETag, or 400 when the task can no longer be canceled.  resp is
 * initialised here and released by the caller. */
enum fh_err fh_task_cancel(struct fh_ctx *ctx, const char *sid,
    const char *reason, struct json_object *attrs, const char *etag,
    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* End a task: POST AssignmentStatus=status ("canceled" or "completed")
 * and Reason=reason, without If-Match.  Setting a final status is
 * idempotent (docs/design/platform.md#retries-and-deadlines), so the client
 * retries it on 5xx and timeouts.  All arguments are borrowed.  FH_ETASK404 on
 * 404; FH_ETWILIO with resp->status 400 when the task cannot take that status
 * (already ended, or assigned); resp->resent says an earlier attempt may
 * have landed.  resp is initialised here and released by the caller. */
enum fh_err fh_task_finish(struct fh_ctx *ctx, const char *sid,
    const char *status, const char *reason,
    struct fh_rest_resp *resp) FH_MUST_CHECK;

/* POST a call create with the form body form[0..len) (Calls.json).  Not
 * idempotent: retried only on 429 or when no connection was made.  On
 * FH_OK the new call's SID (34 characters + NUL) is in sid (sidlen bytes,
 * at least 35).  resp is initialised here and released by the caller. */
enum fh_err fh_call_create(struct fh_ctx *ctx, const char *form, size_t len,
    char *sid, size_t sidlen, struct fh_rest_resp *resp) FH_MUST_CHECK;

/* POST a call update (sid: a CA SID) with the form body form[0..len).
 * Not idempotent (a repeat would restart the call's TwiML).  FH_ETWILIO
 * with resp->twerr.code 21220 when the call has ended. */
enum fh_err fh_call_update(struct fh_ctx *ctx, const char *sid,
    const char *form, size_t len, struct fh_rest_resp *resp) FH_MUST_CHECK;

/* GET a queue (sid: a QU SID) and copy its friendly_name into name
 * (namelen bytes; "" when absent or too long). */
enum fh_err fh_queue_fetch(struct fh_ctx *ctx, const char *sid, char *name,
    size_t namelen, struct fh_rest_resp *resp) FH_MUST_CHECK;

/* GET the first page of a call's recordings (sid: a CA SID); *recs is
 * the "recordings" array (the caller puts it). */
enum fh_err fh_call_recordings(struct fh_ctx *ctx, const char *sid,
    struct json_object **recs, struct fh_rest_resp *resp) FH_MUST_CHECK;

/* The answer to a task create, body[0..len): the task's "sid", which must
 * be a WT SID, into sid (sidlen bytes, at least 35; "" on failure).
 * FH_EUPSTREAM for anything else. */
enum fh_err fh_task_parse_sid(
    const char *body, size_t len, char *sid, size_t sidlen) FH_MUST_CHECK;

/* A task as fetched: *task is the JSON object (the caller puts it), NULL
 * with FH_EUPSTREAM when body is not one. */
enum fh_err fh_task_parse(
    const char *body, size_t len, struct json_object **task) FH_MUST_CHECK;

/* The first page of a list ({"tasks":[...],"meta":{...}}): *items is the
 * array under key (the caller puts it), NULL with FH_EUPSTREAM when the
 * body is not JSON or key is not an array.  Only the first page is read:
 * meta (paging) is left alone. */
enum fh_err fh_page_parse(const char *body, size_t len, const char *key,
    struct json_object **items) FH_MUST_CHECK;

/* A queue as fetched: its friendly_name into name (namelen bytes; "" when
 * absent, not a string or too long).  FH_EUPSTREAM when body is not
 * JSON. */
enum fh_err fh_queue_parse_name(
    const char *body, size_t len, char *name, size_t namelen) FH_MUST_CHECK;

/* The first task of the array tasks (borrowed) whose attributes, a JSON
 * string, hold call_sid == call_sid, and whose own sid is a WT SID: that
 * SID into sid (35 bytes) and 1; else 0.  *unreadable is set when some
 * task's attributes were missing, null or not a JSON object. */
int fh_tasks_find_call(struct json_object *tasks, const char *call_sid,
    char *sid, int *unreadable);

/* 1 when the recordings array recs (borrowed) has one being made or made
 * (status in-progress, paused, processing or completed). */
int fh_recordings_live(struct json_object *recs);

#endif
