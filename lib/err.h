/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.h - the one error enum of flexhooks.
 *
 * Every fallible function returns an enum fh_err.  FH_OK is zero.  The table
 * behind fh_strerror() and fh_err_status() maps each error to the HTTP status
 * a client sees and to the fixed, short English text of the JSON error body;
 * nothing else in the project decides a status.  Upstream detail (curl errors,
 * Twilio messages, URLs) never goes into these texts: it is logged where the
 * error arises.
 */
#ifndef FH_ERR_H
#define FH_ERR_H

#include <stddef.h>

#define FH_MUST_CHECK __attribute__((warn_unused_result))
#define FH_NITEMS(a) (sizeof(a) / sizeof((a)[0]))

enum fh_err {
	FH_OK = 0,
	FH_EINPUT,     /* 400 missing or invalid field */
	FH_EAUTH,      /* 403 signature, marker or origin */
	FH_ETOKEN,     /* 403 Flex token */
	FH_ENOTFOUND,  /* 404 unknown route */
	FH_ETASK404,   /* 404 Twilio: the task named is unknown */
	FH_EREC404,    /* 404 Twilio: the recording named is unknown */
	FH_EMETHOD,    /* 405 */
	FH_ECONFLICT,  /* 409 not a callback or voicemail task */
	FH_EBUSY,      /* 409 requeue in progress */
	FH_ETOOBIG,    /* 413 body over the cap */
	FH_EMEDIA,     /* 415 content type */
	FH_ETWILIO,    /* 400/409/412 Twilio rejected the request */
	FH_ERATELIMIT, /* 429 Twilio still answered 429 */
	FH_ENOMEM,     /* 500 */
	FH_ECONFIG,    /* 500 required configuration missing */
	FH_EINTERNAL,  /* 500 */
	FH_EUPSTREAM,  /* 502 Twilio failed (5xx, 401/403, network) */
	FH_EUNAVAIL,   /* 503 IAM cannot check a Flex token */
	FH_ETIMEOUT,   /* 504 the overall deadline passed */
	FH_ERR__MAX
};

/* The fixed message for err; never NULL (FH_ERR__MAX and out-of-range
 * values give "internal error"). */
const char *fh_strerror(enum fh_err err);

/* The short symbolic name written in logs ("EINPUT"); never NULL. */
const char *fh_err_name(enum fh_err err);

/* The HTTP status that err answers with. */
int fh_err_status(enum fh_err err);

#endif
