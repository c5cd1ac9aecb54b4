/*
 * tasks.h - TaskRouter task requests on top of the REST client.
 *
 * Thin wrappers that know the paths and the idempotency of each task
 * request (twilio-platform.md sections 5 and 7).  Results that carry
 * Twilio's error detail leave it in the caller's fh_rest_resp.
 */
#ifndef FH_TASKS_H
#define FH_TASKS_H

#include <json-c/json.h>

#include "err.h"
#include "fcgi.h"
#include "rest.h"

/* Create a task from the form body (fh_attr_build()).  Not idempotent: the
 * client retries it only on 429 or when no connection was made.  On FH_OK
 * the new SID (34 characters + NUL) is in sid.  resp is initialised here
 * and released by the caller. */
enum fh_err	 fh_task_create(struct fh_ctx *ctx, const char *form,
		    size_t form_len, char *sid, size_t sidlen,
		    struct fh_rest_resp *resp) FH_MUST_CHECK;

#endif
