/*
 * attr.h - the task builder (callbacks-and-voicemail.md section 4).
 *
 * One function builds every follow-up task: studio and flex
 * create-callback, requeue and the wait experience.  It takes an optional
 * original task (as fetched from TaskRouter) and optional overrides, and
 * writes the form body of the task create request: Timeout, Priority,
 * TaskChannel, WorkflowSid, Attributes and, when given, VirtualStartTime,
 * in that order.  Attribute types are fixed: attempts is an integer,
 * isDeleted a boolean, every other callBackData value a string.
 */
#ifndef FH_ATTR_H
#define FH_ATTR_H

#include <json-c/json.h>

#include "buf.h"
#include "err.h"

struct fh_task_in {
	/* the original task as TaskRouter returned it (borrowed), or NULL */
	struct json_object	*orig;
	/* overrides; NULL or has_* = 0 means not given (all borrowed) */
	const char	*number_to_call;
	const char	*number_to_call_from;
	const char	*flex_flow_sid;
	const char	*workflow_sid;
	const char	*task_channel;
	const char	*conversation_id;
	const char	*utc_received;	/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
	const char	*recording_sid;
	const char	*recording_url;
	const char	*transcript_sid;
	const char	*transcript_text;
	long long	 virtual_start;	/* epoch seconds, 0 = not given */
	long long	 timeout;
	long long	 priority;
	long long	 attempts;
	int		 has_timeout, has_priority, has_attempts;
	int		 has_is_deleted, is_deleted;
	/* configuration */
	const char	*main_timezone;		/* default mainTimeZone */
	const char	*default_workflow;	/* callback workflow */
	long long	 now_ms;	/* wall clock in ms, 0 = read it */
};

/* Build the task create form body into out.  FH_ECONFIG when no workflow
 * can be found, FH_EINPUT when the original's attributes are unreadable,
 * FH_ENOMEM. */
enum fh_err	 fh_attr_build(const struct fh_task_in *in, struct fh_buf *out)
		    FH_MUST_CHECK;

/* Build only the attributes object into *out (the caller puts it). */
enum fh_err	 fh_attr_attributes(const struct fh_task_in *in,
		    struct json_object **out) FH_MUST_CHECK;

/* Parse a task's "attributes" JSON string into *out (an object; the
 * caller puts it).  A missing or null attributes value gives an empty
 * object; anything that is not a JSON object text is FH_EINPUT. */
enum fh_err	 fh_attr_parse_task(struct json_object *task,
		    struct json_object **out) FH_MUST_CHECK;

/* Format ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (out: 32 bytes) */
void		 fh_attr_format_ms(long long ms, char *out, size_t outlen);

#endif
