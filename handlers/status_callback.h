/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status_callback.h - /status-callback
 * (docs/design/taskrouter-events.md#status-callback): the outbound call's
 * answered and completed callbacks.
 *
 * Each callback gives one structured log line (the fields below, absent
 * ones left out, the SequenceNumber so that readers can order them) and an
 * empty 200.  Callbacks may arrive late or out of order: a small table
 * kept in this process remembers the highest SequenceNumber seen for the
 * last FH_STATUS_TRACKED calls, and a callback that is not above it is
 * flagged "stale" in its line.  The table is only a hint for readers (it
 * is per process and forgets), never a reason to act differently.  With
 * FLEXHOOKS_OUTBOUND_REJECT_ON_FAILURE=true a final busy, no-answer or
 * failed status rejects the reservation named in the query (reservation,
 * task), which nothing can supersede; a repeat only repeats a tolerated
 * reject.
 */
#ifndef FH_STATUS_CALLBACK_H
#define FH_STATUS_CALLBACK_H

#include <json-c/json.h>

#include "lib/err.h"
#include "lib/fcgi.h"

#define FH_STATUS_TRACKED 256 /* calls whose last sequence is kept */

/* Build the log object of one callback from params (borrowed): CallSid,
 * CallStatus, SequenceNumber (an integer), AnsweredBy, CallDuration,
 * SipResponseCode, Timestamp, reservation, task; fields that are absent or
 * fail their check are left out.  *out is the caller's (json_object_put).
 * Returns FH_OK or FH_ENOMEM. */
enum fh_err fh_status_fields(
    const struct fh_form *params, struct json_object **out) FH_MUST_CHECK;

/* Remember seq for call_sid and say whether it is stale (not above the
 * highest seen for that call in this process).  Returns 1 when stale. */
int fh_status_seen(const char *call_sid, long long seq);

/* Forget every call (tests). */
void fh_status_reset(void);

/* POST /status-callback?reservation=WR...&task=WT....  Borrows ctx and
 * req; resp owns what is written to it.  Always 200 with an empty body;
 * returns FH_OK. */
enum fh_err fh_handle_status_callback(struct fh_ctx *ctx,
    const struct fh_req *req, struct fh_resp *resp) FH_MUST_CHECK;

#endif
