/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wait.h - the wait experience (docs/design/wait-experience.md): the hold loop
 * a queued caller hears, the "*" menu, the pending-task lookup and the
 * cancel-then-create of a callback or voicemail follow-up.
 *
 * One handler serves every mode.  It always answers TwiML with status 200
 * once the request is authenticated (Twilio failures take the mode's
 * spoken fallback); absolute URLs start from FLEXHOOKS_PUBLIC_URL and carry
 * the Basic credentials of the request being answered (else
 * FLEXHOOKS_BASIC_AUTH), so the response body holds a secret and is never
 * logged.
 */
#ifndef FH_WAIT_H
#define FH_WAIT_H

#include "lib/err.h"
#include "lib/fcgi.h"

#define FH_WAIT_MAX_LOOKUPS 10
#define FH_WAIT_CLAIM_ROUNDS 3
#define FH_WAIT_CLAIM_FRESH_MS \
	30000 /* a callback claim younger than \
	       * this, without its task_sid, is \
	       * another request at work */
#define FH_WAIT_RELEASE_MS \
	3000 /* the least time left to mark a \
	      * failed follow-up's claim */

/* Answer one wait-experience request (mode from the merged params).
 * Borrows ctx and req; resp owns what is written to it until
 * fh_resp_release().  Returns FH_OK whenever a TwiML answer was written,
 * FH_ENOMEM or FH_EINTERNAL when not even the fallback could be. */
enum fh_err fh_handle_wait(struct fh_ctx *ctx, const struct fh_req *req,
    struct fh_resp *resp) FH_MUST_CHECK;

#endif
