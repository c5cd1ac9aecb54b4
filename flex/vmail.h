/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmail.h - voicemail by email (FLEXHOOKS_VOICEMAIL_EMAIL_TO).
 *
 * When a handler has made or updated a voicemail task it calls
 * fh_vmail_schedule(), which leaves a job for after the answer
 * (fh_ctx_after()): Twilio's answer never waits for mail.  The job forks a
 * worker (detached: the FastCGI process goes back to its accept loop at
 * once) that runs fh_vmail_deliver():
 *
 *  1. read the task (with its ETag) and decide what is due: the first
 *     message of the recording, or (FLEXHOOKS_VOICEMAIL_EMAIL_TRANSCRIPT)
 *     a second one when a transcript arrived after the first was sent;
 *  2. claim it in the task's attributes with If-Match: the marker
 *     FH_VMAIL_MARKER = {"recordingSid":"RE...", "first":{...},
 *     "transcript":{...}}, each stage {"claim","at","state":"sending"|
 *     "sent"|"failed","withTranscript"}.  A 412 reads the task again, so
 *     of any number of workers on any number of hosts one holds the claim;
 *     the others see it and stop.  A "sending" claim older than the retry
 *     window plus FH_VMAIL_GRACE_S, or a "failed" one, may be taken over;
 *  3. fetch the recording as fetch-voicemail does (Twilio's media redirect
 *     followed without our credentials), at most
 *     FLEXHOOKS_VOICEMAIL_EMAIL_MAX_MB; larger, the message says so;
 *  4. build the message (mime.h) and send it (smtp.h), retried with
 *     backoff (fh_vmail_backoff_ms()) for FLEXHOOKS_SMTP_RETRY_S;
 *  5. mark the stage "sent" (or "failed") with If-Match, then look again
 *     for a stage that became due meanwhile.
 *
 * The helpers below hold the decisions and the text, and need no network.
 * Nothing here keeps a pointer after it returns.
 */
#ifndef FH_VMAIL_H
#define FH_VMAIL_H

#include <stddef.h>

#include <json-c/json.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fcgi.h"

#define FH_VMAIL_MARKER "flexhooks_email"
#define FH_VMAIL_CLAIM_LEN 32 /* hex digits */
#define FH_VMAIL_GRACE_S 300  /* a claim lives retry window + this */
#define FH_VMAIL_ROUNDS 5     /* fetch and If-Match write, on 412 */
#define FH_VMAIL_MAX_BACKOFF_MS 60000
#define FH_VMAIL_MEDIA_MS 60000 /* the recording's download */

enum fh_vmail_stage {
	FH_VMAIL_FIRST = 0,  /* the recording */
	FH_VMAIL_TRANSCRIPT, /* its transcript, arrived later */
	FH_VMAIL__MAX
};

enum fh_vmail_state {
	FH_VMAIL_NONE = 0, /* no claim: may be claimed */
	FH_VMAIL_STALE,	   /* failed, or too old: may be claimed */
	FH_VMAIL_BUSY,	   /* another worker's live claim */
	FH_VMAIL_SENT,
	FH_VMAIL_OURS, /* our claim is in place */
	FH_VMAIL_STATE__MAX
};

/* What a message says, from the task (all borrowed). */
struct fh_vmail_info {
	const char *task_sid;
	const char *rec_sid;
	const char *caller;	/* callBackData.numberToCall */
	const char *received;	/* local time text, or NULL */
	const char *transcript; /* NULL or "": none */
	int	    deleted;	/* callBackData.isDeleted */
};

/* Leave the delivery for the voicemail task task_sid (borrowed) for after
 * the answer, when email is configured; does nothing otherwise.  Never
 * fails the request: a job that cannot be left is logged. */
void fh_vmail_schedule(struct fh_ctx *ctx, const char *task_sid);

/* Steps 1 to 5 for task_sid, in this process (the worker's body; tests
 * call it directly).  *sent counts the messages sent.  FH_OK when nothing
 * is left to do; otherwise the error that stopped it (logged). */
enum fh_err fh_vmail_deliver(
    struct fh_ctx *ctx, const char *task_sid, int *sent) FH_MUST_CHECK;

/* The state of stage st in attrs (borrowed) for recording rec_sid: claim
 * (may be NULL) is ours; a "sending" claim is live for fresh_ms after its
 * "at".  A marker for another recording counts as none. */
enum fh_vmail_state fh_vmail_state(struct json_object *attrs,
    enum fh_vmail_stage st, const char *rec_sid, const char *claim,
    long long now_ms, long long fresh_ms);

/* The stage due for the task's attributes attrs (borrowed), into *st: 1
 * when one is due, 0 when nothing is (sent, another worker's, deleted,
 * not a voicemail, no transcript to send).  transcript_on is
 * FLEXHOOKS_VOICEMAIL_EMAIL_TRANSCRIPT. */
int fh_vmail_due(struct json_object *attrs, int transcript_on, long long now_ms,
    long long fresh_ms, enum fh_vmail_stage *st);

/* Write stage st of the marker into attrs (changed in place; a marker for
 * another recording is replaced): claim, at (now_ms), state and
 * withTranscript.  FH_ENOMEM, FH_EINPUT when attrs is not an object. */
enum fh_err fh_vmail_mark(struct json_object *attrs, enum fh_vmail_stage st,
    const char *rec_sid, const char *claim, long long now_ms, const char *state,
    int with_transcript) FH_MUST_CHECK;

/* Read the task's attributes (borrowed) into vi (pointers into attrs; the
 * received time is left NULL).  FH_ECONFLICT when it is not a voicemail
 * task (taskType, callBackData, a valid recordingSid). */
enum fh_err fh_vmail_info(
    struct json_object *attrs, struct fh_vmail_info *vi) FH_MUST_CHECK;

/* The subject ("<prefix> <caller>", and " (transcript)" for that stage)
 * into subject, the text part into text.  attach_note says what became of
 * the recording ("attached, 1234 bytes"...). */
enum fh_err fh_vmail_text(const struct fh_vmail_info *vi,
    enum fh_vmail_stage st, const char *prefix, const char *attach_note,
    struct fh_buf *subject, struct fh_buf *text) FH_MUST_CHECK;

/* The wait before attempt n + 1 (n >= 1): 1 s doubling, at most
 * FH_VMAIL_MAX_BACKOFF_MS. */
long fh_vmail_backoff_ms(unsigned n);

/* "YYYY-MM-DD HH:MM:SS ZONE (tz)" of utc (the attribute's text, any form
 * fh_valid_datetime() reads) in the IANA zone tz, into out.  Sets TZ in
 * this process (the worker's own).  0 when utc is unreadable; a bad tz
 * gives UTC. */
int fh_vmail_local_time(
    const char *utc, const char *tz, char *out, size_t outlen);

#endif
