/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redirect_rules.h - the rules that move a caller from a placeholder
 * TaskQueue to an outside number
 * (docs/design/taskrouter-events.md#twiml-redirect-call), shared by
 * /twiml-redirect-call, the no-agent redirect of the event handler,
 * /dial-queue, the follow-up workflow check and the provisioning command.
 *
 * The rule table is the FORWARD_CALL_TASK_QUEUE_SID/FORWARD_TO_NUMBER pair
 * plus every FLEXHOOKS_FORWARD_RULES entry, all validated when the
 * configuration was loaded (one number per queue).  Nothing here allocates
 * beyond the response body; every string is borrowed from the
 * configuration or the request for the duration of one call.
 *
 * fh_redirect_dial() is the whole <Dial> element, shared with the
 * no-agent redirect's inline Twiml, so that both produce the same document.
 */
#ifndef FH_REDIRECT_RULES_H
#define FH_REDIRECT_RULES_H

#include <stddef.h>

#include "lib/config.h"
#include "lib/err.h"
#include "lib/fcgi.h"
#include "lib/twiml.h"

#define FH_REDIRECT_SORRY \
	"We are sorry, this call cannot be connected. Goodbye."

/* The number of configured rules (0 disables the redirect). */
size_t fh_redirect_nrules(const struct fh_config *cfg);

/* Find the number for queue (a WQ SID, borrowed) into number (numlen
 * bytes, at least 17).  queue NULL selects the single rule when exactly
 * one is configured.  Returns FH_OK, FH_EINPUT for a malformed queue,
 * FH_ENOTFOUND for an unknown queue, no rules, or several rules and no
 * queue. */
enum fh_err fh_redirect_lookup(const struct fh_config *cfg, const char *queue,
    char *number, size_t numlen) FH_MUST_CHECK;

/* Write <Dial callerId timeout action>number</Dial> into tw, with the
 * attributes configured (FLEXHOOKS_REDIRECT_*) in that order.  Errors stay
 * in tw for fh_twiml_finish(). */
void fh_redirect_dial(
    struct fh_twiml *tw, const struct fh_config *cfg, const char *number);

/* Write <Say voice language>FH_REDIRECT_SORRY</Say><Hangup/> into tw: the
 * error TwiML of the Twilio-facing routes of docs/design/taskrouter-events.md.
 */
void fh_redirect_goodbye(struct fh_twiml *tw, const struct fh_config *cfg);

/* Finish tw (fh_twiml_finish()); when the document failed, replace it
 * with the JSON error answer, so that no partial TwiML goes out.  Returns
 * the writer's first error. */
enum fh_err fh_redirect_finish(
    struct fh_twiml *tw, struct fh_resp *resp) FH_MUST_CHECK;

#endif
