/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redirect.h - /twiml-redirect-call
 * (docs/design/taskrouter-events.md#twiml-redirect-call): the <Dial> that moves
 * a caller from a placeholder TaskQueue to an outside number, by the rule table
 * of flex/redirect_rules.h.
 */
#ifndef FH_REDIRECT_H
#define FH_REDIRECT_H

#include "lib/err.h"
#include "lib/fcgi.h"

/* GET or POST /twiml-redirect-call[?queue=WQ...].  Borrows ctx and req;
 * resp owns what is written to it.  Always answers 200 TwiML: the <Dial>
 * of the rule, or the goodbye document (logged with CallSid).  Returns
 * FH_OK, or FH_ENOMEM/FH_EINTERNAL when no document could be written. */
enum fh_err fh_handle_twiml_redirect_call(struct fh_ctx *ctx,
    const struct fh_req *req, struct fh_resp *resp) FH_MUST_CHECK;

#endif
