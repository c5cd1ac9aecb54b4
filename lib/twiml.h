/* SPDX-License-Identifier: Apache-2.0 */
/*
 * twiml.h - the escaping TwiML writer.
 *
 * Every TwiML document flexhooks answers is written through this module.
 * Element and attribute names come from the tables below, never from
 * strings; every text and attribute value is escaped (& < > " ').  The
 * writer checks nesting against TwiML's rules (a <Task> only inside
 * <Enqueue>, a <Queue> or <Number> only inside <Dial>, <Say>/<Play>/<Pause>
 * inside <Response> or <Gather>), attributes only before content and at
 * most once per element, and a fixed stack depth.  The first error is kept and
 * every later call is a no-op; fh_twiml_finish() closes what is open and
 * returns that error. The writer borrows the response for its life and writes
 * its body.
 */
#ifndef FH_TWIML_H
#define FH_TWIML_H

#include "lib/err.h"
#include "lib/fcgi.h"

#define FH_TWIML_MAX_DEPTH 8

enum fh_tw_elem {
	FH_TW_RESPONSE = 0,
	FH_TW_SAY,
	FH_TW_PLAY,
	FH_TW_GATHER,
	FH_TW_RECORD,
	FH_TW_REDIRECT,
	FH_TW_HANGUP,
	FH_TW_ENQUEUE,
	FH_TW_TASK,
	FH_TW_DIAL,
	FH_TW_QUEUE,
	FH_TW_NUMBER,
	FH_TW_LEAVE,
	FH_TW_PAUSE,
	FH_TW_SAY_AS, /* <say-as> inside <Say> */
	FH_TW__MAX
};

enum fh_tw_attr {
	FH_TA_VOICE = 0,
	FH_TA_LANGUAGE,
	FH_TA_LOOP,
	FH_TA_ACTION,
	FH_TA_METHOD,
	FH_TA_NUM_DIGITS,
	FH_TA_TIMEOUT,
	FH_TA_FINISH_ON_KEY,
	FH_TA_INPUT,
	FH_TA_MAX_LENGTH,
	FH_TA_PLAY_BEEP,
	FH_TA_TRANSCRIBE,
	FH_TA_TRANSCRIBE_CALLBACK,
	FH_TA_RECORDING_STATUS_CALLBACK,
	FH_TA_WORKFLOW_SID,
	FH_TA_WAIT_URL,
	FH_TA_WAIT_URL_METHOD,
	FH_TA_RESERVATION_SID,
	FH_TA_CALLER_ID,
	FH_TA_LENGTH,
	FH_TA_PRIORITY,
	FH_TA_TIMEOUT_TASK, /* <Task timeout> */
	FH_TA_ACTION_ON_EMPTY_RESULT,
	FH_TA_TRIM,
	FH_TA_INTERPRET_AS,
	FH_TA__MAX
};

struct fh_twiml {
	struct fh_resp *resp;
	enum fh_tw_elem stack[FH_TWIML_MAX_DEPTH];
	size_t		depth;
	int		tag_open;  /* "<Name ..." written, '>' not yet */
	unsigned	attrs_set; /* bit per enum fh_tw_attr on that tag */
	enum fh_err	err;
};

/* Start a document in resp: status 200, text/xml; charset=utf-8, the XML
 * declaration and <Response>. */
void fh_twiml_init(struct fh_twiml *tw, struct fh_resp *resp);
void fh_twiml_open(struct fh_twiml *tw, enum fh_tw_elem elem);
void fh_twiml_attr(
    struct fh_twiml *tw, enum fh_tw_attr attr, const char *value);
void fh_twiml_text(struct fh_twiml *tw, const char *text);
void fh_twiml_close(struct fh_twiml *tw);
/* Close everything, return the first error (FH_OK when none). */
enum fh_err fh_twiml_finish(struct fh_twiml *tw) FH_MUST_CHECK;

/* The wire name of an element or attribute (for tests). */
const char *fh_twiml_elem_name(enum fh_tw_elem elem);
const char *fh_twiml_attr_name(enum fh_tw_attr attr);

/* Append s (NUL-terminated, valid UTF-8) escaped for XML text and
 * attribute values to out: & < > " ' as named entities, tab, LF and CR as
 * character references, so that a parser gives back exactly s.  FH_EINPUT
 * for a character XML 1.0 does not allow (other C0 controls, U+FFFE,
 * U+FFFF), with out holding part of s; FH_ENOMEM. */
enum fh_err fh_xml_escape(struct fh_buf *out, const char *s) FH_MUST_CHECK;

#endif
