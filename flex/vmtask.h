/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmtask.h - one voicemail task per recording
 * (docs/design/callbacks-and-voicemail.md#one-task-per-recording), shared by
 * create-callback and the wait experience.
 *
 * The Record widget calls back more than once for one recording (the
 * recording, then the transcript).  The first call creates the voicemail
 * task; each later one finds it with one EvaluateTaskAttributes list (both
 * attribute shapes, attr.h) and merges what it adds (recording URL,
 * transcript) into it with If-Match, at most 3 rounds on 412.  A task the
 * agent deleted (isDeleted) takes nothing more, and a late transcript of
 * it is deleted at Twilio.  A lookup that fails finds nothing: a duplicate
 * is better than a lost voicemail.
 */
#ifndef FH_VMTASK_H
#define FH_VMTASK_H

#include "flex/attr.h"
#include "lib/err.h"
#include "lib/fcgi.h"

/* For in->recording_sid (NULL: nothing to do): when a voicemail task for
 * that recording exists, merge what in adds into it, put its SID into sid
 * (40 bytes) and set *found.  *found stays 0 when there is none, it
 * vanished meanwhile, or the lookup failed: the caller creates the task.
 * Borrows everything.  Returns a REST client error when the merge failed;
 * resp (may be NULL) then holds the JSON error answer. */
enum fh_err fh_voicemail_dedupe(struct fh_ctx *ctx, const struct fh_task_in *in,
    char *sid, int *found, struct fh_resp *resp) FH_MUST_CHECK;

#endif
