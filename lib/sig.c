/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sig.c - X-Twilio-Signature (docs/design/platform.md#request-signatures): the
 * string that is signed, HMAC-SHA1 under the Auth Token, the candidate URLs and
 * the decision for one request.
 *
 * Every buffer that may hold a URL with Basic credentials in it, or a
 * signature we computed, is marked secret or zeroed before it is freed.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "lib/codec.h"
#include "lib/sig.h"

/* A candidate URL: the request URL plus "user:password@" and a port. */
#define CAND_MAX (FH_SIG_MAX_URL + FH_SIG_MAX_AUTH + 16)
/* The string that is signed: a candidate URL plus every form pair. */
#define MSG_MAX \
	(CAND_MAX + FH_FORM_MAX_PAIRS * (FH_FORM_MAX_NAME + FH_FORM_MAX_VALUE))
#define SHA256_HEX FH_SHA256_HEX_LEN
/* pairs sorted by insertion up to this many, by qsort() beyond */
#define SORT_INSERTION_MAX 32

/* Where the parts of a URL start and end, as byte offsets. */
struct url_parts {
	size_t scheme_len; /* bytes before "://" */
	size_t auth;	   /* first byte after "://" */
	size_t host;	   /* first byte after any userinfo */
	size_t port;	   /* the ':' before the port */
	size_t hostend;	   /* first byte after the authority */
	int    has_port;
};

/* Walks a byte string as the UTF-16 code units of its UTF-8 text. */
struct u16_iter {
	const unsigned char *p;
	size_t		     len;
	size_t		     pos;
	unsigned long	     low; /* pending low surrogate */
};

/*
 * Decode the UTF-8 sequence at s[0..n), n >= 1, into *used bytes.  A byte
 * that does not start a well-formed sequence (overlong forms, surrogates and
 * values past U+10FFFF included) is U+FFFD on its own, as a decoder turning
 * the body into a JavaScript string would make it.
 */
static unsigned long
utf8_decode(const unsigned char *s, size_t n, size_t *used)
{
	unsigned long cp;
	unsigned char lo = 0x80, hi = 0xBF;
	size_t	      need, i;

	*used = 1;
	if (s[0] < 0x80)
		return s[0];
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		need = 1;
		cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		need = 2;
		cp = s[0] & 0x0F;
		if (s[0] == 0xE0)
			lo = 0xA0;
		else if (s[0] == 0xED)
			hi = 0x9F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		need = 3;
		cp = s[0] & 0x07;
		if (s[0] == 0xF0)
			lo = 0x90;
		else if (s[0] == 0xF4)
			hi = 0x8F;
	} else
		return 0xFFFD;
	if (n <= need)
		return 0xFFFD;
	for (i = 1; i <= need; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0xFFFD;
		lo = 0x80;
		hi = 0xBF;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	*used = need + 1;
	return cp;
}

/* The next UTF-16 code unit, or -1 at the end. */
static long
u16_next(struct u16_iter *it)
{
	unsigned long cp;
	size_t	      used;

	if (it->low != 0) {
		cp = it->low;
		it->low = 0;
		return (long)cp;
	}
	if (it->pos >= it->len)
		return -1;
	cp = utf8_decode(it->p + it->pos, it->len - it->pos, &used);
	it->pos += used;
	if (cp < 0x10000)
		return (long)cp;
	cp -= 0x10000;
	it->low = 0xDC00 | (cp & 0x3FF);
	return (long)(0xD800 | (cp >> 10));
}

/*
 * Order two strings as Twilio's Node library does: by their UTF-16 code
 * units.  For BMP text that is the byte order of the UTF-8; it differs when
 * a character past U+FFFF (a surrogate pair, 0xD800...) meets one in
 * U+E000..U+FFFF.  Strings that are equal as UTF-16 but not as bytes (only
 * invalid UTF-8 can be) are ordered by their bytes, so the order stays total
 * and only byte-identical strings compare equal.
 */
static int
u16_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	struct u16_iter ia = {(const unsigned char *)a, alen, 0, 0};
	struct u16_iter ib = {(const unsigned char *)b, blen, 0, 0};
	long		ua, ub;
	int		c;

	do {
		ua = u16_next(&ia);
		ub = u16_next(&ib);
		if (ua != ub)
			return ua < ub ? -1 : 1;
	} while (ua >= 0);
	c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/*
 * u16_cmp() without decoding while the strings are ASCII: up to the first
 * byte where they differ, an ASCII prefix decodes to the same code units in
 * both, and when either differing byte is ASCII its code unit is that byte
 * while the other's is 0x80 or more (or the string ended, which sorts
 * first), so the bytes decide.  Any other case is u16_cmp()'s.
 */
static int
order_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;
	size_t		     i, n = alen < blen ? alen : blen;

	for (i = 0; i < n; i++) {
		if (x[i] != y[i]) {
			if (x[i] < 0x80 || y[i] < 0x80)
				return x[i] < y[i] ? -1 : 1;
			return u16_cmp(a, alen, b, blen);
		}
		if (x[i] >= 0x80)
			return u16_cmp(a, alen, b, blen);
	}
	return alen < blen ? -1 : alen > blen;
}

static int
pair_cmp(const void *va, const void *vb)
{
	const struct fh_pair *a = *(const struct fh_pair *const *)va;
	const struct fh_pair *b = *(const struct fh_pair *const *)vb;
	int		      c;

	c = order_cmp(a->name, a->nlen, b->name, b->nlen);
	if (c != 0)
		return c;
	return order_cmp(a->value, a->vlen, b->value, b->vlen);
}

static int
pair_same(const struct fh_pair *a, const struct fh_pair *b)
{
	return a->nlen == b->nlen && a->vlen == b->vlen &&
	    memcmp(a->name, b->name, a->nlen) == 0 &&
	    memcmp(a->value, b->value, a->vlen) == 0;
}

/*
 * The pairs part of the string that is signed: name + value of every pair
 * of params, sorted by (name, value), which groups the names and sorts each
 * group; duplicates end up adjacent and are written once.  Written into
 * out (reset first), a per-process buffer kept from request to request
 * (form bodies are not secret): a request sorts its pairs once, whatever
 * number of candidate URLs and tokens it then tries.
 */
static enum fh_err
pairs_string(struct fh_buf *out, const struct fh_form *params)
{
	static const struct fh_pair *sorted[FH_FORM_MAX_PAIRS];
	const struct fh_pair	    *prev = NULL;
	size_t			     i, n;
	enum fh_err		     err = FH_OK;

	fh_buf_reset(out);
	n = params != NULL ? params->n : 0;
	if (n == 0)
		return FH_OK;
	if (n > FH_FORM_MAX_PAIRS)
		return FH_ETOOBIG;
	/* insertion: a webhook has a dozen or two pairs, often nearly in
	 * order already; qsort() beyond that */
	for (i = 0; i < n; i++) {
		const struct fh_pair *p = &params->pairs[i];
		size_t		      j = i;

		if (n > SORT_INSERTION_MAX) {
			sorted[i] = p;
			continue;
		}
		while (j > 0 && pair_cmp(&sorted[j - 1], &p) > 0) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = p;
	}
	if (n > SORT_INSERTION_MAX)
		qsort(sorted, n, sizeof(*sorted), pair_cmp);
	for (i = 0; err == FH_OK && i < n; i++) {
		if (prev != NULL && pair_same(prev, sorted[i]))
			continue; /* duplicates are adjacent */
		err = fh_buf_add(out, sorted[i]->name, sorted[i]->nlen);
		if (err == FH_OK)
			err =
			    fh_buf_add(out, sorted[i]->value, sorted[i]->vlen);
		prev = sorted[i];
	}
	return err;
}

/* The process's buffer for pairs_string(); its block is kept. */
static struct fh_buf *
pairs_buf(void)
{
	static struct fh_buf b;

	if (b.max == 0)
		fh_buf_init(&b, MSG_MAX);
	return &b;
}

enum fh_err
fh_sig_message(
    struct fh_buf *out, const char *url, const struct fh_form *params)
{
	struct fh_buf *pairs = pairs_buf();
	enum fh_err    err;

	if (url == NULL)
		return FH_EINPUT;
	err = fh_buf_addstr(out, url);
	if (err == FH_OK)
		err = pairs_string(pairs, params);
	if (err == FH_OK)
		err = fh_buf_add(out, pairs->data, pairs->len);
	fh_buf_reset(pairs);
	return err;
}

/*
 * HMAC-SHA1 keyed with a token.  OpenSSL 3's one-shot HMAC() fetches the
 * algorithm and hashes the key on every call; here the algorithm is
 * fetched once per process and each token's keyed context is kept and
 * re-initialised for each signature (EVP_MAC_init() without a key starts
 * again from the hashed key), so a signature costs the hash of the message
 * and no allocation of ours.  A process signs with at most two tokens
 * (AUTH_TOKEN and the secondary one); a third token takes the oldest slot,
 * whose key copy is zeroed.  The slots live until the process ends.
 */
#define MAC_SLOTS 2

struct mac_slot {
	char	    *key;
	size_t	     len;
	EVP_MAC_CTX *ctx;
};

static EVP_MAC	      *mac_alg;
static struct mac_slot mac_slots[MAC_SLOTS];
static size_t	       mac_next;

static void
mac_slot_clear(struct mac_slot *s)
{
	EVP_MAC_CTX_free(s->ctx);
	if (s->key != NULL)
		fh_bzero(s->key, s->len);
	free(s->key);
	memset(s, 0, sizeof(*s));
}

/* The kept context keyed with token[0..len), ready for a new message;
 * borrowed until the next call.  NULL when OpenSSL or malloc fails. */
static EVP_MAC_CTX *
mac_get(const char *token, size_t len)
{
	OSSL_PARAM	 params[2];
	struct mac_slot *s;
	size_t		 i;

	for (i = 0; i < MAC_SLOTS; i++) {
		s = &mac_slots[i];
		if (s->ctx != NULL &&
		    fh_sig_equal(s->key, s->len, token, len)) {
			if (EVP_MAC_init(s->ctx, NULL, 0, NULL) != 1) {
				mac_slot_clear(s);
				return NULL;
			}
			return s->ctx;
		}
	}
	if (mac_alg == NULL)
		mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac_alg == NULL)
		return NULL;
	s = &mac_slots[mac_next];
	mac_next = (mac_next + 1) % MAC_SLOTS;
	mac_slot_clear(s);
	s->ctx = EVP_MAC_CTX_new(mac_alg);
	s->key = malloc(len);
	if (s->ctx == NULL || s->key == NULL) {
		mac_slot_clear(s);
		return NULL;
	}
	memcpy(s->key, token, len);
	s->len = len;
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(s->ctx, (const unsigned char *)token, len, params) !=
	    1) {
		mac_slot_clear(s);
		return NULL;
	}
	return s->ctx;
}

/* The signature of url + pairs[0..plen) (pairs_string()'s) under token
 * into out (FH_SIG_LEN + 1 bytes). */
static enum fh_err
sig_compute(const char *url, const char *pairs, size_t plen, const char *token,
    char *out)
{
	EVP_MAC_CTX  *mac;
	unsigned char md[EVP_MAX_MD_SIZE];
	char	      b64[64];
	size_t	      mdlen = 0, tlen, ulen;
	enum fh_err   err;

	out[0] = '\0';
	if (token == NULL || token[0] == '\0')
		return FH_EINPUT; /* an empty key signs for anyone */
	tlen = strlen(token);
	if (tlen > INT_MAX || url == NULL)
		return FH_EINPUT;
	/* the cap of the message fh_sig_message() would build */
	ulen = strlen(url);
	if (ulen > MSG_MAX || plen > MSG_MAX - ulen)
		return FH_ETOOBIG;
	mac = mac_get(token, tlen);
	if (mac == NULL)
		return FH_EINTERNAL;
	if (EVP_MAC_update(mac, (const unsigned char *)url, ulen) != 1 ||
	    (plen > 0 &&
		EVP_MAC_update(mac, (const unsigned char *)pairs, plen) != 1) ||
	    EVP_MAC_final(mac, md, &mdlen, sizeof(md)) != 1 || mdlen != 20) {
		err = FH_EINTERNAL;
		goto out;
	}
	/* 20 bytes: one block, 28 characters and a NUL */
	if (EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen) !=
	    FH_SIG_LEN) {
		err = FH_EINTERNAL;
		goto out;
	}
	memcpy(out, b64, FH_SIG_LEN + 1);
	err = FH_OK;
out:
	fh_bzero(md, sizeof(md));
	fh_bzero(b64, sizeof(b64));
	return err;
}

enum fh_err
fh_sig_compute(
    const char *url, const struct fh_form *params, const char *token, char *out)
{
	struct fh_buf *pairs = pairs_buf();
	enum fh_err    err;

	out[0] = '\0';
	if (token == NULL || token[0] == '\0' || url == NULL)
		return FH_EINPUT;
	err = pairs_string(pairs, params);
	if (err == FH_OK)
		err = sig_compute(url, pairs->data, pairs->len, token, out);
	fh_buf_reset(pairs);
	return err;
}

int
fh_sig_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return 0;
	if (alen == 0)
		return 1;
	if (a == NULL || b == NULL)
		return 0;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

/*
 * Split url into scheme, authority, host and port.  Returns 0 when url has
 * no "scheme://" prefix.  The port is whatever follows the last ':' of the
 * host (after "]" for an IPv6 literal); it is not checked for digits.
 */
static int
url_split(const char *url, struct url_parts *up)
{
	static const char scheme_chars[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.";
	const char *sep, *close;
	size_t	    i;

	memset(up, 0, sizeof(*up));
	sep = strstr(url, "://");
	if (sep == NULL || sep == url)
		return 0;
	up->scheme_len = (size_t)(sep - url);
	for (i = 0; i < up->scheme_len; i++)
		if (strchr(scheme_chars, url[i]) == NULL)
			return 0;
	up->auth = up->scheme_len + 3;
	up->hostend = up->auth + strcspn(url + up->auth, "/?#");
	up->host = up->auth;
	for (i = up->auth; i < up->hostend; i++)
		if (url[i] == '@')
			up->host = i + 1;
	up->port = up->hostend;
	if (url[up->host] == '[') {
		close = memchr(url + up->host, ']', up->hostend - up->host);
		if (close != NULL && close + 1 < url + up->hostend &&
		    close[1] == ':') {
			up->has_port = 1;
			up->port = (size_t)(close + 1 - url);
		}
		return 1;
	}
	for (i = up->host; i < up->hostend; i++)
		if (url[i] == ':') {
			up->has_port = 1;
			up->port = i;
		}
	return 1;
}

/* The value of the first bodySHA256 query parameter of url, raw. */
static int
find_body_sha(const char *url, const char **val, size_t *vlen)
{
	static const char name[] = "bodySHA256";
	const char	 *q, *end, *seg, *amp, *eq;

	q = strchr(url, '?');
	if (q == NULL)
		return 0;
	q++;
	end = q + strcspn(q, "#");
	for (seg = q; seg < end; seg = amp + 1) {
		amp = memchr(seg, '&', (size_t)(end - seg));
		if (amp == NULL)
			amp = end;
		eq = memchr(seg, '=', (size_t)(amp - seg));
		if (eq == NULL)
			eq = amp;
		if ((size_t)(eq - seg) != sizeof(name) - 1 ||
		    memcmp(seg, name, sizeof(name) - 1) != 0)
			continue;
		*val = eq == amp ? amp : eq + 1;
		*vlen = eq == amp ? 0 : (size_t)(amp - eq - 1);
		return 1;
	}
	return 0;
}

/* 1 when hash (hex, either case) is the SHA-256 of body[0..len). */
static int
body_hash_ok(const char *body, size_t len, const char *hash, size_t hlen)
{
	char   mine[SHA256_HEX + 1], theirs[SHA256_HEX];
	size_t i;
	int    ok;

	if (hlen != SHA256_HEX || (body == NULL && len > 0))
		return 0;
	for (i = 0; i < SHA256_HEX; i++)
		theirs[i] = hash[i] >= 'A' && hash[i] <= 'F'
		    ? (char)(hash[i] - 'A' + 'a')
		    : hash[i];
	fh_sha256_hex(body, len, mine);
	ok = fh_sig_equal(mine, strlen(mine), theirs, sizeof(theirs));
	fh_bzero(mine, sizeof(mine));
	return ok;
}

/* 1 when signature is the signature of url + pairs[0..plen) under
 * token. */
static int
sig_matches(const char *url, const char *pairs, size_t plen,
    const char *signature, size_t siglen, const char *token)
{
	char mine[FH_SIG_LEN + 1];
	int  ok;

	if (sig_compute(url, pairs, plen, token, mine) != FH_OK)
		return 0;
	ok = fh_sig_equal(mine, FH_SIG_LEN, signature, siglen);
	fh_bzero(mine, sizeof(mine));
	return ok;
}

/* A per-process buffer for a URL that may hold Basic credentials: secret,
 * reset (zeroed) after each use, its block kept. */
static struct fh_buf *
secret_buf(struct fh_buf *b)
{
	if (b->max == 0) {
		fh_buf_init(b, CAND_MAX);
		b->secret = 1;
	}
	fh_buf_reset(b);
	return b;
}

/* fh_sig_validate() with the pairs already written by pairs_string()
 * (pairs NULL: it failed, and only the body mode can match). */
static enum fh_err
validate(const char *url, const char *pairs, size_t plen, const char *body,
    size_t body_len, const char *signature, const char *token)
{
	static struct fh_buf kept;
	struct fh_buf	    *alt = secret_buf(&kept);
	struct url_parts     up;
	const char	    *hash, *port;
	size_t		     hlen, siglen, len;
	enum fh_err	     err = FH_EAUTH;

	if (url == NULL || signature == NULL || token == NULL ||
	    token[0] == '\0')
		goto out;
	len = strnlen(url, CAND_MAX + 1);
	siglen = strnlen(signature, FH_SIG_LEN + 1);
	if (len > CAND_MAX || siglen != FH_SIG_LEN)
		goto out;
	/* body mode: the hash must match, and the URL alone is signed */
	if (find_body_sha(url, &hash, &hlen)) {
		if (!body_hash_ok(body, body_len, hash, hlen))
			goto out;
		pairs = "";
		plen = 0;
	}
	if (pairs == NULL)
		goto out;
	if (sig_matches(url, pairs, plen, signature, siglen, token)) {
		err = FH_OK;
		goto out;
	}
	/* the port candidate: removed when present, else the default */
	if (!url_split(url, &up))
		goto out;
	if (up.has_port) {
		if (fh_buf_add(alt, url, up.port) != FH_OK ||
		    fh_buf_addstr(alt, url + up.hostend) != FH_OK)
			goto out;
	} else {
		if (up.scheme_len == 5 && strncasecmp(url, "https", 5) == 0)
			port = ":443";
		else if (up.scheme_len == 4 && strncasecmp(url, "http", 4) == 0)
			port = ":80";
		else
			goto out;
		if (fh_buf_add(alt, url, up.hostend) != FH_OK ||
		    fh_buf_addstr(alt, port) != FH_OK ||
		    fh_buf_addstr(alt, url + up.hostend) != FH_OK)
			goto out;
	}
	if (sig_matches(
		fh_buf_cstr(alt), pairs, plen, signature, siglen, token))
		err = FH_OK;
out:
	fh_buf_reset(alt);
	return err;
}

enum fh_err
fh_sig_validate(const char *url, const struct fh_form *params, const char *body,
    size_t body_len, const char *signature, const char *token)
{
	struct fh_buf *pairs = pairs_buf();
	enum fh_err    err;

	if (pairs_string(pairs, params) == FH_OK)
		err = validate(url, fh_buf_cstr(pairs), pairs->len, body,
		    body_len, signature, token);
	else
		err = validate(url, NULL, 0, body, body_len, signature, token);
	fh_buf_reset(pairs);
	return err;
}

/* 1 when content type ct is application/x-www-form-urlencoded, with any
 * parameters (charset) ignored and the media type in any case. */
static int
is_form_type(const char *ct)
{
	static const char form[] = "application/x-www-form-urlencoded";

	if (ct == NULL)
		return 0;
	ct += strspn(ct, " \t");
	if (strncasecmp(ct, form, sizeof(form) - 1) != 0)
		return 0;
	ct += sizeof(form) - 1;
	ct += strspn(ct, " \t");
	return *ct == '\0' || *ct == ';';
}

/*
 * Decode an "Authorization: Basic <b64>" header into cred as "user:password".
 * FH_EINPUT when the header is absent, another scheme, not base64, has no
 * ':', an empty user, or a NUL byte.
 */
enum fh_err
fh_sig_basic_creds(const char *authz, struct fh_buf *cred)
{
	const char *tok;
	size_t	    len, tlen;
	enum fh_err err;

	if (authz == NULL)
		return FH_EINPUT;
	len = strnlen(authz, FH_SIG_MAX_AUTH + 1);
	if (len > FH_SIG_MAX_AUTH || len < 6 ||
	    strncasecmp(authz, "Basic", 5) != 0 ||
	    (authz[5] != ' ' && authz[5] != '\t'))
		return FH_EINPUT;
	tok = authz + 5 + strspn(authz + 5, " \t");
	tlen = len - (size_t)(tok - authz);
	while (tlen > 0 && (tok[tlen - 1] == ' ' || tok[tlen - 1] == '\t'))
		tlen--;
	err = fh_base64_decode(cred, tok, tlen);
	if (err != FH_OK)
		return err;
	if (cred->len == 0 || memchr(cred->data, '\0', cred->len) != NULL ||
	    cred->data[0] == ':' || memchr(cred->data, ':', cred->len) == NULL)
		return FH_EINPUT;
	return FH_OK;
}

/* out = url with "user:password@" (or "user@") after "scheme://". */
static enum fh_err
add_userinfo(struct fh_buf *out, const char *url, const struct fh_buf *cred)
{
	struct url_parts up;
	const char	*c;
	size_t		 n;
	enum fh_err	 err;

	if (!url_split(url, &up))
		return FH_EINPUT;
	c = fh_buf_cstr(cred);
	n = cred->len;
	if (c[n - 1] == ':')
		n--; /* empty password: "user@" */
	err = fh_buf_add(out, url, up.auth);
	if (err == FH_OK)
		err = fh_buf_add(out, c, n);
	if (err == FH_OK)
		err = fh_buf_addch(out, '@');
	if (err == FH_OK)
		err = fh_buf_addstr(out, url + up.auth);
	return err;
}

enum fh_err
fh_sig_check(const struct fh_sig_input *in)
{
	/* per process, their blocks kept; reset (the secret ones zeroed)
	 * before this returns */
	static struct fh_buf  url, cred_kept, withcred_kept;
	struct fh_buf	     *cred = secret_buf(&cred_kept);
	struct fh_buf	     *withcred = secret_buf(&withcred_kept);
	struct fh_buf	     *pairs = pairs_buf();
	const struct fh_form *params = NULL;
	const char	     *cands[2], *tokens[2], *hash, *pstr;
	size_t		      ncand = 0, ntok = 0, i, j, hlen;
	enum fh_err	      err = FH_EAUTH;

	if (url.max == 0)
		fh_buf_init(&url, FH_SIG_MAX_URL);
	fh_buf_reset(&url);
	fh_buf_reset(pairs);
	if (in == NULL || in->public_url == NULL || in->request_uri == NULL ||
	    in->method == NULL || in->signature == NULL || in->token == NULL ||
	    in->token[0] == '\0')
		goto out;
	/* the URL as nginx received it: never decoded or re-encoded */
	if (fh_buf_addstr(&url, in->public_url) != FH_OK ||
	    fh_buf_addstr(&url, in->request_uri) != FH_OK)
		goto out;
	if (find_body_sha(fh_buf_cstr(&url), &hash, &hlen))
		params = NULL;
	else if (strcmp(in->method, "POST") == 0 &&
	    is_form_type(in->content_type))
		params = in->body_form;
	else if (strcmp(in->method, "GET") == 0 ||
	    strcmp(in->method, "HEAD") == 0)
		params = NULL;
	else
		goto out; /* e.g. a JSON POST without bodySHA256 */
	/* the pairs are sorted once for every candidate and token */
	pstr = pairs_string(pairs, params) == FH_OK ? fh_buf_cstr(pairs) : NULL;
	/* with our Basic credentials, Twilio had them from the configured URL
	 * and signed that URL: try it first (the order never changes the
	 * answer, only how many HMACs a valid request costs).  Only ours:
	 * with credentials of the client's choosing, "user:pass@" could
	 * splice a URL that Twilio signed for another route. */
	if (in->basic_auth != NULL &&
	    fh_sig_basic_creds(in->authorization, cred) == FH_OK &&
	    fh_sig_equal(cred->data, cred->len, in->basic_auth,
		strlen(in->basic_auth)) &&
	    add_userinfo(withcred, fh_buf_cstr(&url), cred) == FH_OK)
		cands[ncand++] = fh_buf_cstr(withcred);
	cands[ncand++] = fh_buf_cstr(&url);
	tokens[ntok++] = in->token;
	if (in->token2 != NULL && in->token2[0] != '\0')
		tokens[ntok++] = in->token2;
	for (j = 0; j < ntok; j++)
		for (i = 0; i < ncand; i++)
			if (validate(cands[i], pstr, pairs->len, in->body,
				in->body_len, in->signature,
				tokens[j]) == FH_OK) {
				err = FH_OK;
				goto out;
			}
out:
	fh_buf_reset(&url);
	fh_buf_reset(cred);
	fh_buf_reset(withcred);
	fh_buf_reset(pairs);
	return err;
}
