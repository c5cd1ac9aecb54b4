/* SPDX-License-Identifier: Apache-2.0 */
/*
 * twiml.c - the escaping TwiML writer.
 */
#include <string.h>

#include "lib/twiml.h"
#include "lib/valid.h"

#define TWIML_FIRST_BLOCK 2048 /* bytes reserved for a document */
#define P(e) (1u << (e))

struct elem_row {
	const char *name;
	unsigned    parents; /* elements it may appear in */
};

static const struct elem_row elems[FH_TW__MAX] = {
    [FH_TW_RESPONSE] = {"Response", 0},
    [FH_TW_SAY] = {"Say", P(FH_TW_RESPONSE) | P(FH_TW_GATHER)},
    [FH_TW_PLAY] = {"Play", P(FH_TW_RESPONSE) | P(FH_TW_GATHER)},
    [FH_TW_GATHER] = {"Gather", P(FH_TW_RESPONSE)},
    [FH_TW_RECORD] = {"Record", P(FH_TW_RESPONSE)},
    [FH_TW_REDIRECT] = {"Redirect", P(FH_TW_RESPONSE)},
    [FH_TW_HANGUP] = {"Hangup", P(FH_TW_RESPONSE)},
    [FH_TW_ENQUEUE] = {"Enqueue", P(FH_TW_RESPONSE)},
    [FH_TW_TASK] = {"Task", P(FH_TW_ENQUEUE)},
    [FH_TW_DIAL] = {"Dial", P(FH_TW_RESPONSE)},
    [FH_TW_QUEUE] = {"Queue", P(FH_TW_DIAL)},
    [FH_TW_NUMBER] = {"Number", P(FH_TW_DIAL)},
    [FH_TW_LEAVE] = {"Leave", P(FH_TW_RESPONSE)},
    [FH_TW_PAUSE] = {"Pause", P(FH_TW_RESPONSE) | P(FH_TW_GATHER)},
    [FH_TW_SAY_AS] = {"say-as", P(FH_TW_SAY)},
};

static const char *const attrs[FH_TA__MAX] = {
    [FH_TA_VOICE] = "voice",
    [FH_TA_LANGUAGE] = "language",
    [FH_TA_LOOP] = "loop",
    [FH_TA_ACTION] = "action",
    [FH_TA_METHOD] = "method",
    [FH_TA_NUM_DIGITS] = "numDigits",
    [FH_TA_TIMEOUT] = "timeout",
    [FH_TA_FINISH_ON_KEY] = "finishOnKey",
    [FH_TA_INPUT] = "input",
    [FH_TA_MAX_LENGTH] = "maxLength",
    [FH_TA_PLAY_BEEP] = "playBeep",
    [FH_TA_TRANSCRIBE] = "transcribe",
    [FH_TA_TRANSCRIBE_CALLBACK] = "transcribeCallback",
    [FH_TA_RECORDING_STATUS_CALLBACK] = "recordingStatusCallback",
    [FH_TA_WORKFLOW_SID] = "workflowSid",
    [FH_TA_WAIT_URL] = "waitUrl",
    [FH_TA_WAIT_URL_METHOD] = "waitUrlMethod",
    [FH_TA_RESERVATION_SID] = "reservationSid",
    [FH_TA_CALLER_ID] = "callerId",
    [FH_TA_LENGTH] = "length",
    [FH_TA_PRIORITY] = "priority",
    [FH_TA_TIMEOUT_TASK] = "timeout",
    [FH_TA_ACTION_ON_EMPTY_RESULT] = "actionOnEmptyResult",
    [FH_TA_TRIM] = "trim",
    [FH_TA_INTERPRET_AS] = "interpret-as",
};

_Static_assert(FH_TA__MAX <= 32, "attrs_set has one bit per attribute");

const char *
fh_twiml_elem_name(enum fh_tw_elem elem)
{
	return (unsigned)elem < FH_TW__MAX ? elems[elem].name : NULL;
}

const char *
fh_twiml_attr_name(enum fh_tw_attr attr)
{
	return (unsigned)attr < FH_TA__MAX ? attrs[attr] : NULL;
}

/*
 * Escape for both text and attribute values.  Tab, newline and carriage
 * return become character references: a parser normalises them when they
 * are literal (CR LF to LF in text, each to a space in an attribute), and
 * the value must come back unchanged.  U+FFFE and U+FFFF, valid UTF-8 but
 * not XML characters, are refused like the C0 controls.
 */
/* 1: a byte that stands for itself in text and attribute values (0xEF
 * starts U+FFFE and U+FFFF, so it is looked at). */
static const unsigned char xml_plain[256] = {
    [' '] = 1,
    ['!'] = 1,	       /* not '"' */
    ['#' ... '%'] = 1, /* not '&' or '\'' */
    ['(' ... ';'] = 1,
    ['='] = 1, /* not '<' or '>' */
    ['?' ... 0xee] = 1,
    [0xf0 ... 0xff] = 1,
};

enum fh_err
fh_xml_escape(struct fh_buf *out, const char *s)
{
	const unsigned char *p, *run;
	const char	    *rep;
	enum fh_err	     err = FH_OK;

	/* runs of bytes that need no escape are appended in one piece */
	for (p = run = (const unsigned char *)s; err == FH_OK; p++) {
		while (xml_plain[*p])
			p++;
		if (*p == '\0')
			break;
		switch (*p) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		case '\t':
			rep = "&#9;";
			break;
		case '\n':
			rep = "&#10;";
			break;
		case '\r':
			rep = "&#13;";
			break;
		default:
			/* XML 1.0 forbids the other C0 controls, and
			 * U+FFFE and U+FFFF */
			if (*p < 0x20 ||
			    (p[0] == 0xef && p[1] == 0xbf &&
				(p[2] == 0xbe || p[2] == 0xbf))) {
				err = fh_buf_add(
				    out, (const char *)run, (size_t)(p - run));
				return err != FH_OK ? err : FH_EINPUT;
			}
			continue;
		}
		err = fh_buf_add(out, (const char *)run, (size_t)(p - run));
		if (err == FH_OK)
			err = fh_buf_addstr(out, rep);
		run = p + 1;
	}
	if (err == FH_OK)
		err = fh_buf_add(out, (const char *)run, (size_t)(p - run));
	return err;
}

static void
put(struct fh_twiml *tw, const char *s)
{
	if (tw->err == FH_OK)
		tw->err = fh_buf_addstr(&tw->resp->body, s);
}

/* End a start tag whose '>' is still pending, before content. */
static void
end_tag(struct fh_twiml *tw)
{
	if (tw->tag_open) {
		put(tw, ">");
		tw->tag_open = 0;
	}
}

void
fh_twiml_init(struct fh_twiml *tw, struct fh_resp *resp)
{
	memset(tw, 0, sizeof(*tw));
	tw->resp = resp;
	fh_buf_reset(&resp->body);
	/* one block for a whole document of the usual size (the wait loop's
	 * is about 1.5 KB), not six doublings from the first */
	if (fh_buf_reserve(&resp->body, TWIML_FIRST_BLOCK) != FH_OK)
		tw->err = FH_ENOMEM;
	resp->status = 200;
	resp->content_type = "text/xml; charset=utf-8";
	put(tw, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response");
	tw->stack[0] = FH_TW_RESPONSE;
	tw->depth = 1;
	tw->tag_open = 1;
}

void
fh_twiml_open(struct fh_twiml *tw, enum fh_tw_elem elem)
{
	if (tw->err != FH_OK)
		return;
	if ((unsigned)elem >= FH_TW__MAX || tw->depth == 0 ||
	    tw->depth >= FH_TWIML_MAX_DEPTH ||
	    !(elems[elem].parents & P(tw->stack[tw->depth - 1]))) {
		tw->err = FH_EINTERNAL;
		return;
	}
	end_tag(tw);
	put(tw, "<");
	put(tw, elems[elem].name);
	tw->stack[tw->depth++] = elem;
	tw->tag_open = 1;
	tw->attrs_set = 0;
}

void
fh_twiml_attr(struct fh_twiml *tw, enum fh_tw_attr attr, const char *value)
{
	unsigned i;

	if (tw->err != FH_OK)
		return;
	if ((unsigned)attr >= FH_TA__MAX || !tw->tag_open || value == NULL ||
	    !fh_utf8_valid(value, strlen(value))) {
		tw->err = value == NULL || (unsigned)attr >= FH_TA__MAX ||
			!tw->tag_open
		    ? FH_EINTERNAL
		    : FH_EINPUT;
		return;
	}
	/* a repeated attribute (two enum values share "timeout") would make
	 * the document ill-formed */
	for (i = 0; i < FH_TA__MAX; i++)
		if ((tw->attrs_set & (1u << i)) &&
		    strcmp(attrs[i], attrs[attr]) == 0) {
			tw->err = FH_EINTERNAL;
			return;
		}
	tw->attrs_set |= 1u << attr;
	put(tw, " ");
	put(tw, attrs[attr]);
	put(tw, "=\"");
	if (tw->err == FH_OK)
		tw->err = fh_xml_escape(&tw->resp->body, value);
	put(tw, "\"");
}

void
fh_twiml_text(struct fh_twiml *tw, const char *text)
{
	if (tw->err != FH_OK)
		return;
	if (text == NULL || tw->depth == 0) {
		tw->err = FH_EINTERNAL; /* no element left to hold it */
		return;
	}
	if (!fh_utf8_valid(text, strlen(text))) {
		tw->err = FH_EINPUT;
		return;
	}
	end_tag(tw);
	if (tw->err == FH_OK)
		tw->err = fh_xml_escape(&tw->resp->body, text);
}

void
fh_twiml_close(struct fh_twiml *tw)
{
	enum fh_tw_elem elem;

	if (tw->err != FH_OK)
		return;
	if (tw->depth == 0) {
		tw->err = FH_EINTERNAL;
		return;
	}
	elem = tw->stack[--tw->depth];
	if (tw->tag_open && elem == FH_TW_RESPONSE)
		end_tag(tw); /* an empty document is <Response></Response> */
	if (tw->tag_open) {
		put(tw, "/>");
		tw->tag_open = 0;
		return;
	}
	put(tw, "</");
	put(tw, elems[elem].name);
	put(tw, ">");
}

enum fh_err
fh_twiml_finish(struct fh_twiml *tw)
{
	while (tw->err == FH_OK && tw->depth > 0)
		fh_twiml_close(tw);
	return tw->err;
}
