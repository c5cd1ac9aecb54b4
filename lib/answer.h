/* SPDX-License-Identifier: Apache-2.0 */
/*
 * answer.h - the JSON answers every route gives the same way: an error
 * with its fixed or named message, the 400 naming a field, the error of a
 * failed REST call with Twilio's detail passed through, and the 200
 * {"taskSid":...,"success":true} of the routes that create a task.
 *
 * Each writes resp (owned by the caller until fh_resp_release()) and, when
 * even the JSON error cannot be written, falls back to an empty 500.
 * Nothing is kept after the call.
 */
#ifndef FH_ANSWER_H
#define FH_ANSWER_H

#include <stddef.h>

#include "lib/err.h"
#include "lib/fcgi.h"
#include "lib/log.h"
#include "lib/rest.h"

/* Answer err with message (NULL: the error's fixed text; see err.h).
 * Returns err. */
enum fh_err fh_answer_error(
    struct fh_resp *resp, enum fh_err err, const char *message);

/* 400 "missing <name>" or "invalid <name>" (missing non-zero: the first),
 * logged to log as "rejected request: ...".  Returns FH_EINPUT. */
enum fh_err fh_answer_field_error(
    struct fh_log *log, struct fh_resp *resp, const char *name, int missing);

/* Answer resp with the JSON error for a failed REST call (rr may be NULL),
 * passing Twilio's code, more_info and Retry-After through when Twilio
 * answered.  Returns err. */
enum fh_err fh_resp_rest_error(
    struct fh_resp *resp, enum fh_err err, const struct fh_rest_resp *rr);

/* Answer 200 {"taskSid":sid,"success":true} with Cache-Control: no-store.
 * FH_ENOMEM (resp untouched then) or fh_resp_json()'s error. */
enum fh_err fh_answer_task_sid(
    struct fh_resp *resp, const char *sid) FH_MUST_CHECK;

#endif
