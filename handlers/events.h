/* SPDX-License-Identifier: Apache-2.0 */
/*
 * events.h - taskrouter-events (docs/design/taskrouter-events.md):
 * the workspace event callback behind /tr-event-callback and
 * /tr-event-handler, which drives the no-agent redirect and the outbound
 * dialer.
 *
 * Every authenticated event is answered 204 with Content-Type
 * application/json and no body, whatever happens; the outcome goes to the
 * log only.  The REST work an event causes is done before the answer,
 * under the one deadline the program sets (FLEXHOOKS_EVENT_DEADLINE_MS).
 *
 * What always holds: nothing with an outside effect (moving a call,
 * placing a call) happens before the work is claimed in the task itself.
 * The claim is a marker written into the task's attributes with If-Match:
 * "flexhooks_redirect" (keyed by the task) or an entry of
 * "flexhooks_outbound" (keyed by the reservation, the newest
 * FH_TR_OUTBOUND_KEEP kept).  Every other attribute keeps its value and
 * JSON type, because the attributes are a json-c tree from fetch to write.
 *
 * The pure parts (field parsing, classification, attribute paths, marker
 * reading and merging, the request forms) are exposed for tests and the
 * fuzz target; they allocate nothing the caller does not free as stated.
 * struct fh_tr_event borrows every string from the form it was parsed
 * from, until that form is released.
 */
#ifndef FH_EVENTS_H
#define FH_EVENTS_H

#include <stddef.h>

#include <json-c/json.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/err.h"
#include "lib/fcgi.h"
#include "lib/form.h"

#define FH_TR_REDIRECT_MARKER "flexhooks_redirect"
#define FH_TR_OUTBOUND_MARKER "flexhooks_outbound"
#define FH_TR_OUTBOUND_KEEP 10 /* reservations kept in the marker */
#define FH_TR_ROUNDS 3	       /* fetch-and-claim rounds */
#define FH_TR_CLAIM_LEN 32     /* hex digits of a claim */
#define FH_TR_MAX_ATTRIBUTES FH_FORM_MAX_VALUE /* TaskAttributes bytes */
#define FH_TR_MAX_PATH 64 /* bytes of a dotted attribute path */

/* The fields of one event, each NULL when absent, empty or not valid
 * UTF-8 text without NUL (256 bytes at most; TaskAttributes up to
 * FH_TR_MAX_ATTRIBUTES).  SIDs are not checked here: callers check each
 * one with fh_is_sid() where it is used. */
struct fh_tr_event {
	const char *type; /* EventType */
	const char *sid;  /* Sid (EV...) */
	const char *account_sid;
	const char *workspace_sid;
	const char *task_sid;
	const char *queue_sid; /* TaskQueueSid */
	const char *reservation_sid;
	const char *attributes; /* TaskAttributes, JSON text */
	size_t	    attributes_len;
	const char *queue_name; /* TaskQueueName, logged */
	const char *worker_sid;
	const char *worker_name;
	const char *description; /* EventDescription */
	const char *timestamp;
	const char *workflow_sid; /* WorkflowSid, logged */
};

/* 1 when attrs (borrowed) belong to a callback or voicemail follow-up:
 * taskType "callback", "voicemail" or "callback-outbound".  No caller
 * waits in a queue for such a task: the dialer never calls for it and the
 * no-agent redirect never cancels it. */
int fh_tr_is_followup(struct json_object *attrs);

/* What an event asks for (docs/design/taskrouter-events.md#event-callback). */
enum fh_tr_action {
	FH_TR_IGNORE = 0,  /* EventType unknown or absent */
	FH_TR_FOREIGN,	   /* AccountSid or WorkspaceSid not ours */
	FH_TR_OTHER_QUEUE, /* task-queue.entered, queue not in the rules */
	FH_TR_REDIRECT,	   /* task-queue.entered into a placeholder */
	FH_TR_OUTBOUND,	   /* reservation.created */
	FH_TR_WRAPUP,	   /* reservation.wrapup */
	FH_TR__MAX
};

/* The two features that claim work in a task. */
enum fh_tr_feature {
	FH_TR_FEAT_REDIRECT = 0,
	FH_TR_FEAT_OUTBOUND,
	FH_TR_FEAT__MAX
};

/* What a task's marker says about one piece of work. */
enum fh_tr_mark {
	FH_TR_MARK_NONE = 0, /* no marker for this key: claim it */
	FH_TR_MARK_OURS,     /* this handling's claim: an earlier write
			      * that seemed to fail did land */
	FH_TR_MARK_OTHER,    /* someone else's (or an unreadable one):
			      * duplicate */
	FH_TR_MARK__MAX
};

/* A marker to write.  Strings are borrowed for the call.  to is the
 * redirect's number; reservation (a WR SID) keys the outbound entry;
 * event_sid may be NULL (written as null); at is "YYYY-MM-DDTHH:MM:SSZ". */
struct fh_tr_marker {
	const char *to;
	const char *reservation;
	const char *event_sid;
	const char *claim;
	const char *at;
};

/* Read the fields of form (the event's decoded body) into ev.  Never
 * fails: a field that does not validate reads as absent. */
void fh_tr_event_parse(const struct fh_form *form, struct fh_tr_event *ev);

/* Decide what ev asks for under cfg: the account and workspace first
 * (TWILIO_FLEX_WORKSPACE_SID or one of FLEXHOOKS_EVENT_WORKSPACES, else
 * FH_TR_FOREIGN), then EventType, then (for task-queue.entered) the
 * redirect rules.  The outbound actions still depend on the task
 * attributes. */
enum fh_tr_action fh_tr_classify(
    const struct fh_config *cfg, const struct fh_tr_event *ev);

/* The symbolic name of an action ("redirect"); never NULL. */
const char *fh_tr_action_name(enum fh_tr_action a);

/* Parse ev's TaskAttributes into *out (a JSON object the caller puts).
 * FH_EINPUT when they are missing, not JSON, too deep, or not an
 * object. */
enum fh_err fh_tr_event_attributes(
    const struct fh_tr_event *ev, struct json_object **out) FH_MUST_CHECK;

/* The value at a dotted path ("a.b" is key b of object a) in attrs, or
 * NULL when any step is missing or not an object.  Borrowed from attrs. */
struct json_object *fh_tr_attr_get(struct json_object *attrs, const char *path);

/* Whether v is a JSON string that, after trimming surrounding
 * whitespace, is E.164 (^\+[1-9][0-9]{1,14}$).  The trimmed number is
 * copied into out (outlen bytes, at least 17) when it is. */
int fh_tr_e164(struct json_object *v, char *out, size_t outlen);

/* What attrs (a task's parsed attributes, borrowed; NULL reads as no
 * marker) says about the work of feature f: for the outbound feature the
 * entry of reservation key, for the redirect the one marker (key
 * ignored).  claim is this handling's claim.  A marker entry that is not
 * an object with a string claim is someone else's: an unreadable marker
 * never lets the work happen twice.  Never fails. */
enum fh_tr_mark fh_tr_marker_state(struct json_object *attrs,
    enum fh_tr_feature f, const char *key, const char *claim);

/* The symbolic name of a marker state ("none"); never NULL. */
const char *fh_tr_mark_name(enum fh_tr_mark m);

/* Add m to attrs (a JSON object, changed in place): the redirect marker
 * {"to","event_sid","claim","at"} replaces any earlier one; the outbound
 * entry {"event_sid","claim","at"} goes under m->reservation in
 * "flexhooks_outbound", which keeps the FH_TR_OUTBOUND_KEEP newest
 * entries by "at" (one without a readable "at" counts as the oldest; a
 * marker that is not an object is replaced).  No other key of attrs
 * changes.  FH_EINPUT when attrs is not an object or m lacks its key,
 * FH_ENOMEM. */
enum fh_err fh_tr_marker_add(struct json_object *attrs, enum fh_tr_feature f,
    const struct fh_tr_marker *m) FH_MUST_CHECK;

/* Write 32 lower-case hex digits from the system's random source and a
 * NUL into out (outlen bytes, at least 33). */
enum fh_err fh_tr_new_claim(char *out, size_t outlen) FH_MUST_CHECK;

/* The call update form of the redirect
 * (docs/design/taskrouter-events.md#no-agent-redirect, step 3) into out: with
 * cfg->redirect_mode_url unset, Twiml=<Response><Dial ...>number
 * </Dial></Response> (the twiml-redirect-call document without the XML
 * declaration, written by the TwiML writer); with it set,
 * Url=<public>/twiml-redirect- call?queue=<queue> and Method=GET.  queue and
 * number are validated by the caller. */
enum fh_err fh_tr_redirect_form(const struct fh_config *cfg, const char *queue,
    const char *number, struct fh_buf *out) FH_MUST_CHECK;

/* The Calls.json form of the outbound dialer
 * (docs/design/taskrouter-events.md#outbound-dialer) into out, in this order:
 * To, From, Url (<public>/dial-queue?queue=WR&from=<from,
 * URL-encoded>&task=WT), Method=POST, StatusCallback (<public>/status-
 * callback?reservation=WR&task=WT), StatusCallbackMethod=POST,
 * (both URLs end with &workspace=WS when workspace, the event's, is not
 * NULL and not fh_config_default_workspace(): /dial-queue and
 * /status-callback then address that workspace's reservation),
 * StatusCallbackEvent=answered, StatusCallbackEvent=completed,
 * MachineDetection=Enable and MachineDetectionSpeechThreshold (left out
 * when cfg->amd_speech_threshold is 0).  Arguments are validated by the
 * caller and borrowed. */
enum fh_err fh_tr_outbound_form(const struct fh_config *cfg, const char *to,
    const char *from, const char *reservation, const char *task,
    const char *workspace, struct fh_buf *out) FH_MUST_CHECK;

/* POST /tr-event-callback or /tr-event-handler.  Borrows ctx and req;
 * resp owns what is written to it.  Always answers 204 with Content-Type
 * application/json and no body.  Returns FH_OK, or the error that ended
 * the work (logged; only the access line shows it). */
enum fh_err fh_handle_tr_event(struct fh_ctx *ctx, const struct fh_req *req,
    struct fh_resp *resp) FH_MUST_CHECK;

#endif
