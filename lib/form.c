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

enum fh_err
fh_url_decode(struct fh_buf *out, const char *s, size_t len, int plus_is_space)
{
	size_t	    i, run;
	int	    hi, lo;
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
			if (len - i < 3)
				return FH_EINPUT;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return FH_EINPUT;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_is_space)
			c = ' ';
		err = fh_buf_addch(out, c);
	}
	return err;
}

enum fh_err
fh_form_parse(struct fh_form *f, const char *s, size_t len)
{
	struct fh_buf name, value;
	const char   *seg, *end, *amp, *eq;
	enum fh_err   err = FH_OK;

	fh_buf_init(&name, FH_FORM_MAX_NAME);
	fh_buf_init(&value, FH_FORM_MAX_VALUE);
	value.secret = 1; /* a value may be a Flex token */
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
		err = fh_url_decode(&name, seg, (size_t)(eq - seg), 1);
		if (err == FH_OK)
			err = fh_url_decode(&value, eq == amp ? eq : eq + 1,
			    eq == amp ? 0 : (size_t)(amp - eq - 1), 1);
		if (err == FH_OK)
			err = fh_form_push(f, fh_buf_cstr(&name), name.len,
			    fh_buf_cstr(&value), value.len);
	}
	fh_buf_release(&name);
	fh_buf_release(&value);
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
