/* SPDX-License-Identifier: Apache-2.0 */
/*
 * incoming.h - /incoming-call (docs/design/wait-experience.md#incoming-call):
 * the Voice URL of a TwiML App or phone number that puts the caller into
 * TaskRouter with the wait experience, without a Studio flow.
 *
 * The answer is TwiML: an optional greeting, then <Enqueue workflowSid
 * waitUrl waitUrlMethod="POST"> with the task attributes as <Task> text.
 * The waitUrl carries Basic credentials (flex/wait_url.h), so the body
 * holds a secret and is never logged.  No REST call is made.
 */
#ifndef FH_INCOMING_H
#define FH_INCOMING_H

#include "lib/err.h"
#include "lib/fcgi.h"

/* Answer one incoming call.  Borrows ctx and req; resp owns what is
 * written to it until fh_resp_release().  FH_OK whenever TwiML was
 * written (also the spoken refusal when no workflow or no credentials
 * are configured); FH_ENOMEM or FH_EINTERNAL otherwise. */
enum fh_err fh_handle_incoming_call(struct fh_ctx *ctx,
    const struct fh_req *req, struct fh_resp *resp) FH_MUST_CHECK;

#endif
