/* SPDX-License-Identifier: Apache-2.0 */
/*
 * form.c - strict form decoding, encoding and declared field validation.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/form.h"

void
fh_form_init(struct fh_form *f)
{
	memset(f, 0, sizeof(*f));
}

/* Names and values are copied into blocks of at least BLOCK_MIN bytes (a
 * webhook's whole body usually fits one), so a form of 13 pairs costs one
 * allocation instead of 13. */
#define BLOCK_MIN 2048

struct fh_form_block {
	struct fh_form_block *next;
	size_t		      used;
	size_t		      size;
	char		      data[];
};

void
fh_form_release(struct fh_form *f)
{
	struct fh_form_block *b, *next;

	for (b = f->blocks; b != NULL; b = next) {
		next = b->next;
		/* values may be secrets (a Flex token) */
		fh_bzero(b->data, b->used);
		free(b);
	}
	free(f->pairs);
	memset(f, 0, sizeof(*f));
}

/* n bytes of room in f's newest block, or a new block; NULL when out of
 * memory. */
static char *
room(struct fh_form *f, size_t n)
{
	struct fh_form_block *b = f->blocks;
	size_t		      size;
	char		     *p;

	if (b == NULL || b->size - b->used < n) {
		size = n > BLOCK_MIN ? n : BLOCK_MIN;
		b = malloc(sizeof(*b) + size);
		if (b == NULL)
			return NULL;
		b->used = 0;
		b->size = size;
		b->next = f->blocks;
		f->blocks = b;
	}
	p = b->data + b->used;
	b->used += n;
	return p;
}

/* Give back the last n bytes taken from the newest block by room(), zeroed
 * (they may hold part of a secret). */
static void
unroom(struct fh_form *f, size_t n)
{
	struct fh_form_block *b = f->blocks;

	b->used -= n;
	fh_bzero(b->data + b->used, n);
}

enum fh_err
fh_form_push(struct fh_form *f, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	struct fh_pair *np, *p;
	size_t		ncap;

	if (f->n >= (f->max_pairs != 0 ? f->max_pairs : FH_FORM_MAX_PAIRS) ||
	    nlen > FH_FORM_MAX_NAME || vlen > FH_FORM_MAX_VALUE)
		return FH_ETOOBIG;
	if (f->n == f->cap) {
		ncap = f->cap == 0 ? 16 : f->cap * 2;
		np = realloc(f->pairs, ncap * sizeof(*np));
		if (np == NULL)
			return FH_ENOMEM;
		f->pairs = np;
		f->cap = ncap;
	}
	/* "name\0value\0" (the caps keep the sum far from overflowing) */
	p = &f->pairs[f->n];
	p->name = room(f, nlen + vlen + 2);
	if (p->name == NULL)
		return FH_ENOMEM;
	if (nlen > 0)
		memcpy(p->name, name, nlen);
	p->name[nlen] = '\0';
	p->value = p->name + nlen + 1;
	if (vlen > 0)
		memcpy(p->value, value, vlen);
	p->value[vlen] = '\0';
	p->nlen = nlen;
	p->vlen = vlen;
	f->n++;
	return FH_OK;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte the escape "%XY" at s[i] stands for; -1 when it is cut short or
 * not hexadecimal. */
static int
unescape(const char *s, size_t len, size_t i)
{
	int hi, lo;

	if (len - i < 3)
		return -1;
	hi = hexval(s[i + 1]);
	lo = hexval(s[i + 2]);
	if (hi < 0 || lo < 0)
		return -1;
	return hi * 16 + lo;
}

enum fh_err
fh_url_decode(struct fh_buf *out, const char *s, size_t len, int plus_is_space)
{
	size_t	    i, run;
	int	    b;
	char	    c;
	enum fh_err err;

	fh_buf_reset(out);
	err = fh_buf_add(out, NULL, 0); /* make data non-NULL */
	for (i = 0; err == FH_OK && i < len; i++) {
		/* a run of bytes that stand for themselves, in one piece */
		run = i;
		while (
		    i < len && s[i] != '%' && (s[i] != '+' || !plus_is_space))
			i++;
		if (i > run)
			err = fh_buf_add(out, s + run, i - run);
		if (err != FH_OK || i == len)
			break;
		c = s[i];
		if (c == '%') {
			if ((b = unescape(s, len, i)) < 0)
				return FH_EINPUT;
			c = (char)b;
			i += 2;
		} else if (c == '+' && plus_is_space)
			c = ' ';
		err = fh_buf_addch(out, c);
	}
	return err;
}

/* Percent-decode s[0..len) into dst ('+' is a space), at most max bytes;
 * *n is the decoded length.  Fails as fh_url_decode() into a buffer of that
 * maximum would: FH_EINPUT at a bad escape, FH_ETOOBIG at the byte past
 * max, whichever comes first. */
static enum fh_err
decode_into(char *dst, const char *s, size_t len, size_t max, size_t *n)
{
	size_t i, o = 0;
	int    b;
	char   c;

	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '%') {
			if ((b = unescape(s, len, i)) < 0)
				return FH_EINPUT;
			c = (char)b;
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (o == max)
			return FH_ETOOBIG;
		dst[o++] = c;
	}
	*n = o;
	return FH_OK;
}

/*
 * Each pair is decoded straight into the form's newest block: decoding
 * never makes a name or value longer, so the encoded lengths are room
 * enough, and what is not used goes back to the block.
 */
enum fh_err
fh_form_parse(struct fh_form *f, const char *s, size_t len)
{
	const char     *seg, *end, *amp, *eq, *v;
	struct fh_pair *np, *p;
	size_t		ncap, elen, vlen_enc, nlen, vlen;
	char	       *dst;
	enum fh_err	err = FH_OK;

	end = s + len;
	for (seg = s; err == FH_OK && seg < end; seg = amp + 1) {
		amp = memchr(seg, '&', (size_t)(end - seg));
		if (amp == NULL)
			amp = end;
		if (amp == seg)
			continue;
		eq = memchr(seg, '=', (size_t)(amp - seg));
		if (eq == NULL)
			eq = amp;
		v = eq == amp ? eq : eq + 1;
		vlen_enc = (size_t)(amp - v);
		elen = (size_t)(eq - seg) + vlen_enc + 2;
		dst = room(f, elen);
		if (dst == NULL)
			return FH_ENOMEM;
		err = decode_into(
		    dst, seg, (size_t)(eq - seg), FH_FORM_MAX_NAME, &nlen);
		if (err == FH_OK) {
			dst[nlen] = '\0';
			err = decode_into(dst + nlen + 1, v, vlen_enc,
			    FH_FORM_MAX_VALUE, &vlen);
		}
		if (err == FH_OK &&
		    f->n >=
			(f->max_pairs != 0 ? f->max_pairs : FH_FORM_MAX_PAIRS))
			err = FH_ETOOBIG;
		if (err == FH_OK && f->n == f->cap) {
			ncap = f->cap == 0 ? 16 : f->cap * 2;
			np = realloc(f->pairs, ncap * sizeof(*np));
			if (np == NULL)
				err = FH_ENOMEM;
			else {
				f->pairs = np;
				f->cap = ncap;
			}
		}
		if (err != FH_OK) {
			unroom(f, elen);
			break;
		}
		dst[nlen + 1 + vlen] = '\0';
		unroom(f, elen - (nlen + vlen + 2));
		p = &f->pairs[f->n++];
		p->name = dst;
		p->nlen = nlen;
		p->value = dst + nlen + 1;
		p->vlen = vlen;
	}
	return err;
}

const struct fh_pair *
fh_form_get(const struct fh_form *f, const char *name)
{
	size_t i, n;

	n = strlen(name);
	for (i = 0; i < f->n; i++)
		if (f->pairs[i].nlen == n &&
		    memcmp(f->pairs[i].name, name, n) == 0)
			return &f->pairs[i];
	return NULL;
}

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

enum fh_err
fh_url_encode(struct fh_buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char	  c;
	char		  esc[3];
	size_t		  i, run;
	enum fh_err	  err = FH_OK;

	for (i = 0; err == FH_OK && i < len; i++) {
		/* a run of unreserved bytes, in one piece */
		for (run = i; i < len && unreserved((unsigned char)s[i]); i++)
			;
		if (i > run)
			err = fh_buf_add(out, s + run, i - run);
		if (err != FH_OK || i == len)
			break;
		c = (unsigned char)s[i];
		esc[0] = '%';
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 15];
		err = fh_buf_add(out, esc, 3);
	}
	return err;
}

enum fh_err
fh_url_add_userinfo(struct fh_buf *out, const char *url, const char *cred)
{
	const char *sep = strstr(url, "://"), *colon = strchr(cred, ':');
	enum fh_err err;

	if (sep == NULL)
		return FH_EINPUT;
	sep += 3;
	err = fh_buf_add(out, url, (size_t)(sep - url));
	if (err == FH_OK)
		err = fh_url_encode(out, cred,
		    colon != NULL ? (size_t)(colon - cred) : strlen(cred));
	if (err == FH_OK && colon != NULL && colon[1] != '\0' &&
	    (err = fh_buf_addch(out, ':')) == FH_OK)
		err = fh_url_encode(out, colon + 1, strlen(colon + 1));
	if (err == FH_OK)
		err = fh_buf_addch(out, '@');
	if (err == FH_OK)
		err = fh_buf_addstr(out, sep);
	return err;
}

enum fh_err
fh_form_add(struct fh_buf *out, const char *name, const char *value)
{
	enum fh_err err = FH_OK;

	if (out->len > 0)
		err = fh_buf_addch(out, '&');
	if (err == FH_OK)
		err = fh_url_encode(out, name, strlen(name));
	if (err == FH_OK)
		err = fh_buf_addch(out, '=');
	if (err == FH_OK)
		err = fh_url_encode(out, value, strlen(value));
	return err;
}

/* Empty, or the text a JavaScript client sends for a value it does not
 * have: String(undefined) and String(null). */
static int
absent(const struct fh_pair *p)
{
	return p == NULL || p->vlen == 0 ||
	    (p->vlen == 9 && memcmp(p->value, "undefined", 9) == 0) ||
	    (p->vlen == 4 && memcmp(p->value, "null", 4) == 0);
}

enum fh_err
fh_form_validate(const struct fh_form *f, const struct fh_field *table,
    size_t n, struct fh_val *val, size_t *bad, int *missing)
{
	const struct fh_pair *p;
	size_t		      i;

	for (i = 0; i < n; i++) {
		memset(&val[i], 0, sizeof(val[i]));
		p = fh_form_get(f, table[i].name);
		if (absent(p) && table[i].alias != NULL)
			p = fh_form_get(f, table[i].alias);
		if (absent(p)) {
			if (table[i].flags & FH_REQUIRED) {
				*bad = i;
				*missing = 1;
				return FH_EINPUT;
			}
			continue;
		}
		if (table[i].valid(p->value, p->vlen, &val[i]) != FH_OK) {
			memset(&val[i], 0, sizeof(val[i]));
			*bad = i;
			*missing = 0;
			return FH_EINPUT;
		}
		if (val[i].str == NULL) {
			val[i].str = p->value;
			val[i].len = p->vlen;
		}
	}
	return FH_OK;
}
