/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf.c - bounded growing buffers and small string helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

#define FIRST_BLOCK 256 /* bytes of a buffer's first block, at least */

void
fh_buf_init(struct fh_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
fh_bzero(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void
fh_free_secret(char *s)
{
	if (s != NULL)
		fh_bzero(s, strlen(s));
	free(s);
}

void
fh_buf_release(struct fh_buf *b)
{
	if (b->data != NULL && b->secret)
		fh_bzero(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
fh_buf_reset(struct fh_buf *b)
{
	if (b->data != NULL && b->secret)
		fh_bzero(b->data, b->len);
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static enum fh_err
grow(struct fh_buf *b, size_t extra)
{
	size_t need, ncap;
	char  *p;

	if (extra > b->max || b->len > b->max - extra)
		return FH_ETOOBIG;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return FH_OK;
	/* a first block that holds most of what a request puts in one
	 * buffer (a URL, a header, a short value) without growing again */
	ncap = b->cap < FIRST_BLOCK ? FIRST_BLOCK : b->cap;
	while (ncap < need)
		ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if (b->secret && b->data != NULL) {
		/* never leave a copy of a secret in freed memory */
		p = malloc(ncap);
		if (p == NULL)
			return FH_ENOMEM;
		memcpy(p, b->data, b->len);
		fh_bzero(b->data, b->cap);
		free(b->data);
	} else {
		p = realloc(b->data, ncap);
		if (p == NULL)
			return FH_ENOMEM;
	}
	b->data = p;
	b->cap = ncap;
	return FH_OK;
}

enum fh_err
fh_buf_reserve(struct fh_buf *b, size_t n)
{
	if (n > b->max)
		n = b->max;
	if (b->len > b->max - n)
		n = b->max - b->len;
	return grow(b, n);
}

enum fh_err
fh_buf_add(struct fh_buf *b, const void *p, size_t n)
{
	enum fh_err err;

	/* grow() only when the block lacks room for n and the NUL (cap
	 * never exceeds max + 1, so room also keeps len within max) */
	if (b->data == NULL || n >= b->cap - b->len) {
		err = grow(b, n);
		if (err != FH_OK)
			return err;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return FH_OK;
}

enum fh_err
fh_buf_addstr(struct fh_buf *b, const char *s)
{
	return fh_buf_add(b, s, strlen(s));
}

enum fh_err
fh_buf_addch(struct fh_buf *b, char c)
{
	/* the common case without grow(): room for c and the NUL (cap never
	 * exceeds max + 1, so this also keeps len within max) */
	if (b->data != NULL && b->len + 2 <= b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return FH_OK;
	}
	return fh_buf_add(b, &c, 1);
}

enum fh_err
fh_buf_vprintf(struct fh_buf *b, const char *fmt, va_list ap)
{
	va_list	    cp;
	int	    n;
	enum fh_err err;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return FH_EINTERNAL;
	err = grow(b, (size_t)n);
	if (err != FH_OK)
		return err;
	n = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	if (n < 0)
		return FH_EINTERNAL;
	b->len += (size_t)n;
	return FH_OK;
}

enum fh_err
fh_buf_printf(struct fh_buf *b, const char *fmt, ...)
{
	va_list	    ap;
	enum fh_err err;

	va_start(ap, fmt);
	err = fh_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}

const char *
fh_buf_cstr(const struct fh_buf *b)
{
	return b->data != NULL ? b->data : "";
}

char *
fh_buf_detach(struct fh_buf *b, size_t *len)
{
	char *p;

	if (b->data == NULL) {
		p = calloc(1, 1);
		if (len != NULL)
			*len = 0;
		return p;
	}
	p = b->data;
	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

char *
fh_strndup(const char *s, size_t n)
{
	char *p;

	p = malloc(n + 1);
	if (p == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

enum fh_err
fh_parse_int(
    const char *s, size_t len, long long min, long long max, long long *out)
{
	long long v = 0;
	size_t	  i;

	if (s == NULL || len == 0 || len > 18)
		return FH_EINPUT;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return FH_EINPUT;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return FH_EINPUT;
	*out = v;
	return FH_OK;
}
