/*
 * callback.h - create-callback (callbacks-and-voicemail.md sections 5.1
 * and 5.2): validate the request, build the task, create it.
 */
#ifndef FH_CALLBACK_H
#define FH_CALLBACK_H

#include "err.h"
#include "fcgi.h"

/* Create a callback (or voicemail) task for the caller in req.  Borrows
 * ctx and req; resp owns what is written to it until fh_resp_release().
 * Answers 200 {"taskSid":"WT...","success":true}, or the JSON error of
 * section 2 (400 naming the first bad field, Twilio's status and code). */
enum fh_err	fh_handle_create_callback(struct fh_ctx *ctx,
		    const struct fh_req *req, struct fh_resp *resp)
		    FH_MUST_CHECK;

/* Answer resp with the JSON error for a failed REST call, passing
 * Twilio's code, more_info and Retry-After through. */
enum fh_err	fh_resp_rest_error(struct fh_resp *resp, enum fh_err err,
		    const struct fh_rest_resp *rr);

#endif
