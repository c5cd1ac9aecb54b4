/* SPDX-License-Identifier: Apache-2.0 */
/*
 * requeue.h - flex/requeue-callback
 * (docs/design/callbacks-and-voicemail.md#requeue): the plugin's "Retry later"
 * turns a callback or voicemail task into a new one with attempts + 1, exactly
 * once per task, by the claim of flex/requeue_claim.h.
 */
#ifndef FH_REQUEUE_H
#define FH_REQUEUE_H

#include "lib/err.h"
#include "lib/fcgi.h"

/* Requeue the task named by the taskSid field of req.  Borrows ctx and
 * req; resp owns what is written to it until fh_resp_release().  Answers
 * 200 {"taskSid":"WT<new>","success":true} (also for a repeat, with the
 * SID of the task the first request created), or the JSON error of
 * docs/design/callbacks-and-voicemail.md#requests-and-answers: 400 "missing
 * taskSid" / "invalid taskSid", 404 "task not found" with Twilio's code 20404,
 * 409 "not a callback or voicemail task", 409 "requeue in progress", Twilio's
 * 412 after three rounds of stale ETags, and the REST client's errors (429,
 * 502, 503, 504).  Nothing is created unless the claim succeeded, and a claim
 * is marked failed before a failure is answered. */
enum fh_err fh_handle_requeue_callback(struct fh_ctx *ctx,
    const struct fh_req *req, struct fh_resp *resp) FH_MUST_CHECK;

#endif
