/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attr.h - the task builder
 * (docs/design/callbacks-and-voicemail.md#task-builder).
 *
 * One function builds every follow-up task: studio and flex
 * create-callback, requeue and the wait experience.  It takes an optional
 * original task (as fetched from TaskRouter) and optional overrides, and
 * writes the form body of the task create request: Timeout, Priority,
 * TaskChannel, WorkflowSid, Attributes and, when given, VirtualStartTime,
 * in that order.  Attribute types are fixed: attempts is an integer,
 * isDeleted a boolean, every other callBackData value a string.
 *
 * Two shapes (FLEXHOOKS_ATTRIBUTE_STYLE): the template's, with camelCase
 * media keys (callBackData.recordingSid/recordingUrl/transcriptSid/
 * transcriptText), and the flex-plugin-library-callback-and-voicemail
 * functions', with PascalCase ones (RecordingSid/RecordingUrl/
 * TranscriptionSid/TranscriptionText), name "Callback (+1...)" or
 * "Voicemail (+1...)" and message.  The builder writes the configured
 * shape; every reader (fh_attr_cb_get()) accepts both, so that tasks made
 * before a change of style are still understood.
 */
#ifndef FH_ATTR_H
#define FH_ATTR_H

#include <json-c/json.h>

#include "lib/buf.h"
#include "lib/err.h"

enum fh_attr_style {
	FH_ATTR_STYLE_TEMPLATE = 0,   /* flex-project-template */
	FH_ATTR_STYLE_PLUGIN_LIBRARY, /* the plugin library's functions */
	FH_ATTR_STYLE__MAX
};

/* The callBackData keys whose names differ between the two shapes. */
enum fh_cb_key {
	FH_CB_REC_SID = 0,
	FH_CB_REC_URL,
	FH_CB_TR_SID,
	FH_CB_TR_TEXT,
	FH_CB__MAX
};

/* The attribute naming the original task a wait-experience follow-up was
 * made for, so that a request taking over a claim finds a follow-up the
 * earlier claim made.  Like every "flexhooks_" key it is never copied
 * into a later task. */
#define FH_ATTR_FOLLOWUP_OF "flexhooks_followup_of"

/* Outbound dialer attribute paths a follow-up never carries. */
#define FH_ATTR_MAX_DROP 2

struct fh_task_in {
	/* the original task as TaskRouter returned it (borrowed), or NULL */
	struct json_object *orig;
	/* overrides; NULL or has_* = 0 means not given (all borrowed) */
	const char *number_to_call;
	const char *number_to_call_from;
	const char *flex_flow_sid;
	const char *workflow_sid;
	const char *task_channel;
	const char *conversation_id;
	const char *utc_received; /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
	const char *recording_sid;
	const char *recording_url;
	const char *transcript_sid;
	const char *transcript_text;
	const char *message; /* the plugin library's message */
	/* the task this one follows up, written as FH_ATTR_FOLLOWUP_OF (the
	 * wait experience's, docs/design/wait-experience.md#cancel-and-claim)
	 */
	const char *followup_of;
	long long   virtual_start; /* epoch seconds, 0 = not given */
	long long   timeout;
	long long   priority;
	long long   attempts;
	int	    has_timeout, has_priority, has_attempts;
	int	    has_is_deleted, is_deleted;
	/* configuration */
	const char	  *main_timezone;    /* default mainTimeZone */
	const char	  *default_workflow; /* callback workflow */
	enum fh_attr_style style;	     /* the shape to write */
	/* dotted attribute paths removed from the result (NULL: none) */
	const char *drop_paths[FH_ATTR_MAX_DROP];
	long long   now_ms; /* wall clock in ms, 0 = read it */
};

/* Build the task create form body into out.  FH_ECONFIG when no workflow
 * can be found, FH_EINPUT when the original's attributes are unreadable,
 * FH_ENOMEM. */
enum fh_err fh_attr_build(
    const struct fh_task_in *in, struct fh_buf *out) FH_MUST_CHECK;

/* Build only the attributes object into *out (the caller puts it). */
enum fh_err fh_attr_attributes(
    const struct fh_task_in *in, struct json_object **out) FH_MUST_CHECK;

/* Parse a task's "attributes" JSON string into *out (an object; the
 * caller puts it).  A missing or null attributes value gives an empty
 * object; anything that is not a JSON object text is FH_EINPUT. */
enum fh_err fh_attr_parse_task(
    struct json_object *task, struct json_object **out) FH_MUST_CHECK;

/* The wire name of key k in the shape style ("recordingSid" or
 * "RecordingSid"...); NULL when either is out of range.  Static. */
const char *fh_attr_cb_name(enum fh_attr_style style, enum fh_cb_key k);

/* The value of key k in the callBackData object cb (borrowed; NULL is
 * fine), whichever shape wrote it: a non-empty string under either name
 * (the template's first), else an empty one, else NULL.  Borrowed from
 * cb. */
const char *fh_attr_cb_get(struct json_object *cb, enum fh_cb_key k);

/* The callBackData object of a task's attributes (borrowed), or NULL when
 * attrs is no object or has none. */
struct json_object *fh_attr_cb_data(struct json_object *attrs);

/* The shape of the callBackData object cb: the plugin library's when it
 * holds a PascalCase media key and no camelCase one, the template's when
 * it holds a camelCase one, else def. */
enum fh_attr_style fh_attr_cb_style(
    struct json_object *cb, enum fh_attr_style def);

/* Remove the member at the dotted path ("a.b.c") from attrs, when it is
 * there; objects on the way are left in place. */
void fh_attr_del_path(struct json_object *attrs, const char *path);

/* Format ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (out: 32 bytes) */
void fh_attr_format_ms(long long ms, char *out, size_t outlen);

#endif
