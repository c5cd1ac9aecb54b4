/* SPDX-License-Identifier: Apache-2.0 */
/*
 * form.h - application/x-www-form-urlencoded decoding and encoding, and the
 * declared field tables that every handler reads its input through.
 *
 * An fh_form is an ordered list of decoded name/value pairs.  Repeated names
 * are kept, in the order received (the signature check needs all of them);
 * fh_form_get() returns the first.  Each name and value is a copy with a
 * terminating NUL, kept in blocks the form owns (a few per form, not one
 * per pair); the length is kept too, because a value decoded from %00 holds
 * a NUL of its own (validators reject it).  The form frees its pairs and
 * blocks, zeroed first, in fh_form_release().
 *
 * Decoding is strict: '+' is a space, "%XX" needs two hex digits, and a bad
 * escape fails the whole parse with FH_EINPUT.  The caps below hold for every
 * form: a parse that passes one fails with FH_ETOOBIG (pair count, field
 * size) and leaves the form partly filled (release it).  Per-field limits
 * (8 KiB unless a field says otherwise) belong to the validators, so that
 * an overlong field is a 400 that names it.
 */
#ifndef FH_FORM_H
#define FH_FORM_H

#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"

#define FH_FORM_MAX_PAIRS 200	      /* pairs per form */
#define FH_FORM_MAX_VALUE (64 * 1024) /* bytes per decoded value */
#define FH_FIELD_MAX_DEFAULT \
	(8 * 1024)	     /* per field, unless its \
			      * validator says otherwise */
#define FH_FORM_MAX_NAME 256 /* bytes per decoded name */

struct fh_form_block;

/* name and value point into one of the form's blocks ("name\0value\0"),
 * borrowed until fh_form_release(). */
struct fh_pair {
	char  *name;
	size_t nlen;
	char  *value;
	size_t vlen;
};

struct fh_form {
	struct fh_pair	     *pairs;
	size_t		      n;
	size_t		      cap;
	size_t		      max_pairs; /* 0: FH_FORM_MAX_PAIRS */
	struct fh_form_block *blocks;	 /* the names and values, newest
					  * first (owned) */
};

void fh_form_init(struct fh_form *f);
void fh_form_release(struct fh_form *f);

/* Decode s[0..len) (a query string or a form body, without '?') and append
 * its pairs to f.  Empty segments ("a=1&&b=2") are skipped; a segment
 * without '=' is a name with an empty value. */
enum fh_err fh_form_parse(
    struct fh_form *f, const char *s, size_t len) FH_MUST_CHECK;

/* Append one pair, copying name and value. */
enum fh_err fh_form_push(struct fh_form *f, const char *name, size_t nlen,
    const char *value, size_t vlen) FH_MUST_CHECK;

/* The first pair called name, or NULL.  Borrowed until f changes. */
const struct fh_pair *fh_form_get(const struct fh_form *f, const char *name);

/* Percent-decode s[0..len) into out (which is reset first). */
enum fh_err fh_url_decode(struct fh_buf *out, const char *s, size_t len,
    int plus_is_space) FH_MUST_CHECK;

/* Append s[0..len) to out with every byte outside A-Z a-z 0-9 - . _ ~
 * written as %XX (upper-case hex). */
enum fh_err fh_url_encode(
    struct fh_buf *out, const char *s, size_t len) FH_MUST_CHECK;

/* Append url with the userinfo of cred ("user", "user:" or "user:password")
 * after its "scheme://", both parts encoded as fh_url_encode() does:
 * "user@" when the password is missing or empty.  FH_EINPUT when url has no
 * "://". */
enum fh_err fh_url_add_userinfo(
    struct fh_buf *out, const char *url, const char *cred) FH_MUST_CHECK;

/* Append "name=value" (both encoded) to a form body under construction,
 * with a '&' first when out is not empty. */
enum fh_err fh_form_add(
    struct fh_buf *out, const char *name, const char *value) FH_MUST_CHECK;

/*
 * Declared fields.  A handler describes what it accepts in a static table
 * indexed by its own enum; fh_form_validate() looks each name up (then its
 * alias), runs the validator on the value, and stops at the first failure
 * in table order.  An empty value counts as absent, and so do the exact
 * (lower-case) values "undefined" and "null": that is what a JavaScript
 * client sends for a property it does not have (String(undefined)), so an
 * optional field is then left out and a required one is "missing".
 */
struct fh_val {
	const char *str; /* the accepted value, NULL when absent */
	size_t	    len;
	long long   num;     /* integers and booleans */
	char	    own[48]; /* normalised copies (numbers, dates) */
};

typedef enum fh_err (*fh_validator)(
    const char *s, size_t len, struct fh_val *out);

#define FH_REQUIRED 0x1

struct fh_field {
	const char  *name;
	const char  *alias; /* Twilio's PascalCase name, or NULL */
	fh_validator valid;
	unsigned     flags;
};

/* Validate the fields of table[0..n) found in f into val[0..n).  On failure
 * *bad is the index of the failing field and *missing says whether it was
 * absent; the result is FH_EINPUT.  val entries borrow f's strings (or their
 * own buffer) until f is released. */
enum fh_err fh_form_validate(const struct fh_form *f,
    const struct fh_field *table, size_t n, struct fh_val *val, size_t *bad,
    int *missing) FH_MUST_CHECK;

#endif
