/*
 * callback.h - create-callback (callbacks-and-voicemail.md sections 5.1
 * and 5.2): validate the request, build the task, create it.
 */
#ifndef FH_CALLBACK_H
#define FH_CALLBACK_H

#include "flex/attr.h"
#include "lib/err.h"
#include "lib/fcgi.h"

/* Create a callback (or voicemail) task for the caller in req.  Borrows
 * ctx and req; resp owns what is written to it until fh_resp_release().
 * Answers 200 {"taskSid":"WT...","success":true}, or the JSON error of
 * section 2 (400 naming the first bad field, Twilio's status and code).
 * With ctx->dedupe and req->idem_token, a delivery already answered on
 * this route gets the same SID without a second create, and one still
 * being created in another process is waited for within the deadline,
 * else 409 "request in progress" (FH_EBUSY); see dedupe.h. */
enum fh_err fh_handle_create_callback(struct fh_ctx *ctx,
    const struct fh_req *req, struct fh_resp *resp) FH_MUST_CHECK;

/* Section 6 for in->recording_sid (must be set): when a voicemail task
 * for that recording exists, merge what in adds (recording URL,
 * transcript) into it, put its SID into sid (40 bytes) and set *found.
 * *found stays 0 when there is none, it vanished meanwhile, or the lookup
 * failed: the caller creates the task.  Borrows everything.  Returns a
 * REST client error when the merge failed. */
enum fh_err fh_voicemail_dedupe(struct fh_ctx *ctx, const struct fh_task_in *in,
    char *sid, int *found) FH_MUST_CHECK;

#endif
