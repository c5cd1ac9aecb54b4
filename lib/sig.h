/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sig.h - X-Twilio-Signature validation
 * (docs/design/platform.md#request-signatures).
 *
 * fh_sig_check() decides one request: it builds the candidate URLs
 * (FLEXHOOKS_PUBLIC_URL + REQUEST_URI, with and without the Basic-auth
 * userinfo, with and without the port), picks the mode (bodySHA256 in the
 * query, form POST, GET), and compares every candidate under both tokens
 * with the header in constant time.  It returns FH_OK or FH_EAUTH and never
 * logs: the caller logs the denial.  Nothing here keeps a pointer after it
 * returns; every argument is borrowed for the call.
 */
#ifndef FH_SIG_H
#define FH_SIG_H

#include <stddef.h>

#include "lib/err.h"
#include "lib/form.h"

#define FH_SIG_LEN 28		   /* base64 of a 20-byte HMAC-SHA1 */
#define FH_SIG_MAX_URL (16 * 1024) /* public URL + request URI */
#define FH_SIG_MAX_AUTH 1024	   /* Authorization header bytes read */

struct fh_sig_input {
	const char	     *public_url;   /* FLEXHOOKS_PUBLIC_URL */
	const char	     *request_uri;  /* REQUEST_URI as received */
	const char	     *method;	    /* "GET", "POST", ... */
	const char	     *content_type; /* may be NULL */
	const struct fh_form *body_form;    /* decoded body pairs */
	const char	     *body;	    /* raw body bytes */
	size_t		      body_len;
	const char	     *authorization; /* header or NULL */
	const char	     *basic_auth;    /* FLEXHOOKS_BASIC_AUTH or NULL */
	const char	     *signature;     /* header or NULL */
	const char	     *token;	     /* AUTH_TOKEN */
	const char	     *token2;	     /* secondary token or NULL */
};

/* Decide whether the request in in carries a valid signature.  The URL
 * with userinfo (Twilio signs the URL it was given, credentials included)
 * is a candidate only when the request's Basic credentials equal
 * in->basic_auth, compared in constant time: credentials the client
 * chose would let it turn a signature made for one route into one for
 * another (scheme + "user:pass@host" + URI can spell another URL). */
enum fh_err fh_sig_check(const struct fh_sig_input *in) FH_MUST_CHECK;

/* Validate signature for one URL as given (the test vectors' "URL given to
 * the validator"): tries the port candidates of that URL; params are the
 * form pairs (NULL in URL and body modes); body is used in bodySHA256 mode
 * (detected from the URL's query).  FH_OK or FH_EAUTH. */
enum fh_err fh_sig_validate(const char *url, const struct fh_form *params,
    const char *body, size_t body_len, const char *signature,
    const char *token) FH_MUST_CHECK;

/* Append to out the string that is signed: url, then name + value for every
 * pair of params (NULL: none) with the names sorted in UTF-16 code-unit
 * order and, under each name, the values sorted and de-duplicated.  Borrows
 * url and params.  On failure out may hold part of the string. */
enum fh_err fh_sig_message(struct fh_buf *out, const char *url,
    const struct fh_form *params) FH_MUST_CHECK;

/* Compute the signature of url + sorted params under token into out
 * (FH_SIG_LEN + 1 bytes, NUL-terminated). */
enum fh_err fh_sig_compute(const char *url, const struct fh_form *params,
    const char *token, char *out) FH_MUST_CHECK;

/* 1 when a[0..alen) equals b[0..blen), in time that depends only on the
 * lengths; 0 otherwise. */
int fh_sig_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Decode an "Authorization: Basic <b64>" header (authz, borrowed; may be
 * NULL) into cred as "user:password".  cred holds a secret: mark it secret
 * before the call and release it with fh_buf_release().  FH_EINPUT when
 * the header is absent, another scheme, not base64, has no ':', an empty
 * user, or a NUL byte. */
enum fh_err fh_sig_basic_creds(
    const char *authz, struct fh_buf *cred) FH_MUST_CHECK;

#endif
