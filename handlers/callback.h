/* SPDX-License-Identifier: Apache-2.0 */
/*
 * callback.h - create-callback
 * (docs/design/callbacks-and-voicemail.md#studio-create-callback and
 * #flex-create-callback): validate the request, build the task, create it.
 */
#ifndef FH_CALLBACK_H
#define FH_CALLBACK_H

#include "lib/err.h"
#include "lib/fcgi.h"

/* Create a callback (or voicemail) task for the caller in req.  Borrows
 * ctx and req; resp owns what is written to it until fh_resp_release().
 * Answers 200 {"taskSid":"WT...","success":true}, or the JSON error of
 * docs/design/callbacks-and-voicemail.md#requests-and-answers (400 naming the
 * first bad field, Twilio's status and code). With ctx->dedupe and
 * req->idem_token, a delivery already answered on this route gets the same SID
 * without a second create, and one still being created in another process is
 * waited for within the deadline, else 409 "request in progress" (FH_EBUSY);
 * see dedupe.h. */
enum fh_err fh_handle_create_callback(struct fh_ctx *ctx,
    const struct fh_req *req, struct fh_resp *resp) FH_MUST_CHECK;

#endif
