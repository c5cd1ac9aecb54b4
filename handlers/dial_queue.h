/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dial_queue.h - /dial-queue (docs/design/taskrouter-events.md#dial-queue): the
 * TwiML that bridges an answered outbound call to the enqueued caller through
 * <Dial><Queue reservationSid="WR..."/></Dial>.
 *
 * Inputs are the query's queue (the reservation, WR, required), from
 * (logged, masked) and task (WT, needed to reject), and the body's CallSid,
 * AnsweredBy and MachineDetectionDuration.  Under FLEXHOOKS_AMD_POLICY=
 * hangup-on-machine a machine or fax answer hangs up, after rejecting the
 * reservation when task is known, so that TaskRouter routes the task
 * again.  The handler borrows everything it reads for one call.
 */
#ifndef FH_DIAL_QUEUE_H
#define FH_DIAL_QUEUE_H

#include "lib/err.h"
#include "lib/fcgi.h"

/* What the handler decided. */
enum fh_dq_decision {
	FH_DQ_BRIDGE = 0,
	FH_DQ_HANGUP, /* machine or fax under hangup-on-machine */
	FH_DQ_ERROR,  /* queue missing or malformed */
	FH_DQ__MAX
};

/* Whether AnsweredBy (may be NULL) is a machine or fax answer. */
int fh_dial_queue_is_machine(const char *answered_by);

/* The decision for a well-formed reservation: bridge, or hangup when
 * hangup_on_machine is set and answered_by is a machine or fax. */
enum fh_dq_decision fh_dial_queue_decide(
    int hangup_on_machine, const char *answered_by);

/* POST /dial-queue?queue=WR...&from=...&task=WT....  Borrows ctx and req;
 * resp owns what is written to it.  Always 200 TwiML: the bridge, a
 * <Hangup/>, or the goodbye document of flex/redirect_rules.h; one log
 * line with the decision.  A failed reject is logged only.  Returns FH_OK, or
 * FH_ENOMEM/FH_EINTERNAL when no document could be written. */
enum fh_err fh_handle_dial_queue(struct fh_ctx *ctx, const struct fh_req *req,
    struct fh_resp *resp) FH_MUST_CHECK;

#endif
