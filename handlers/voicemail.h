/* SPDX-License-Identifier: Apache-2.0 */
/*
 * voicemail.h - fetch-voicemail and delete-voicemail
 * (docs/design/callbacks-and-voicemail.md#fetch-voicemail and
 * #delete-voicemail).
 *
 * fetch-voicemail answers with the audio of one recording, named by its
 * RE SID only: the server builds the media URL itself
 * (GET {API}/2010-04-01/Accounts/{AC}/Recordings/{RE}.mp3) and never fetches
 * a URL a client supplied; redirects to Twilio's storage host are followed
 * without our credentials (rest.h).  JSON mode buffers at most
 * FH_REST_MAX_MEDIA bytes and wraps them in
 * {"recording":"<base64>","type":"<Content-Type>"}.  Raw mode streams the
 * bytes themselves, of any size, through resp's sink (fcgi.h: the handler
 * never touches the FastCGI stream) with the upstream Content-Length; only
 * without one are they buffered (FH_REST_MAX_MEDIA) to learn the length.
 * A stream cut upstream stays short of its Content-Length (the server then
 * breaks the connection).
 *
 * delete-voicemail takes the recording and transcription to delete from the
 * task, never from the client, deletes them (a 404 counts as done) and then
 * sets callBackData.isDeleted to true and drops callBackData.transcriptText,
 * with If-Match.  Repeating it is harmless.
 *
 * The pure helpers below hold the decisions that need no network, so the
 * unit tests reach them directly.  Nothing here keeps a pointer after it
 * returns.
 */
#ifndef FH_VOICEMAIL_H
#define FH_VOICEMAIL_H

#include <stddef.h>

#include <json-c/json.h>

#include "lib/err.h"
#include "lib/fcgi.h"

/* Answer the audio of the recording in req's recordingSid (alias
 * RecordingSid) as JSON, or raw when fh_voicemail_want_raw() says so.
 * Borrows ctx and req; resp owns what is written to it until
 * fh_resp_release().  Errors: 400 (field), 404 "recording not found" with
 * Twilio's code, 502 "recording too large" over FH_REST_MAX_MEDIA (JSON
 * mode, or raw without an upstream length), 502 when Twilio refuses our
 * credentials, and the other answers of
 * docs/design/callbacks-and-voicemail.md#requests-and-answers.  After a raw
 * answer started (resp->streamed), an error only means it was cut short. */
enum fh_err fh_handle_fetch_voicemail(struct fh_ctx *ctx,
    const struct fh_req *req, struct fh_resp *resp) FH_MUST_CHECK;

/* Delete the recording and transcription of the voicemail task in req's
 * taskSid and mark it deleted.  Borrows ctx and req; resp owns what is
 * written to it.  Answers 200 {"taskSid":"WT...","success":true}, 404
 * "task not found", 409 "not a voicemail task", or the answers of
 * docs/design/callbacks-and-voicemail.md#requests-and-answers for a failed
 * Twilio request (isDeleted is then unchanged). */
enum fh_err fh_handle_delete_voicemail(struct fh_ctx *ctx,
    const struct fh_req *req, struct fh_resp *resp) FH_MUST_CHECK;

/* 1 when the answer should be the raw audio: format is "raw", or format
 * is absent (NULL) and accept lists audio/mpeg or every audio type (any
 * case, with parameters; a q=0 entry does not count).  An explicit format
 * "json" wins over the Accept header.  Both arguments are borrowed and may
 * be NULL. */
int fh_voicemail_want_raw(const char *format, const char *accept);

/* Write the JSON answer of
 * docs/design/callbacks-and-voicemail.md#fetch-voicemail into resp: 200
 * {"recording":"<standard base64 of the audio, no line breaks>",
 * "type":"<type>"} with Cache-Control: no-store.  audio's contents are
 * released as soon as they are encoded, whatever the result (the buffer is
 * left empty and usable); type is borrowed.  At most about twice the
 * encoded size is held at once.  FH_ENOMEM, or FH_ETOOBIG when the text
 * passes the response cap; resp is left without an answer on failure. */
enum fh_err fh_voicemail_json(
    struct fh_resp *resp, struct fh_buf *audio, const char *type) FH_MUST_CHECK;

/* Find the SIDs a voicemail task names in its parsed attributes (borrowed):
 * *rec is callBackData.recordingSid (an RE SID), *tr callBackData.
 * transcriptSid when it is a TR SID, else NULL.  Both point into attrs.
 * FH_ECONFLICT when attrs has no callBackData object or no valid
 * recordingSid (not a voicemail task). */
enum fh_err fh_voicemail_task_sids(
    struct json_object *attrs, const char **rec, const char **tr) FH_MUST_CHECK;

/* Mark the parsed attributes attrs (borrowed, changed in place) deleted:
 * callBackData.isDeleted becomes the JSON boolean true and
 * callBackData.transcriptText goes.  When isDeleted already reads true
 * (true or the legacy string "true"), nothing changes and *changed is 0;
 * otherwise *changed is 1.  FH_ECONFLICT without a callBackData object,
 * FH_ENOMEM. */
enum fh_err fh_voicemail_mark_deleted(
    struct json_object *attrs, int *changed) FH_MUST_CHECK;

#endif
