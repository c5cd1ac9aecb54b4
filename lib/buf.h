/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf.h - bounded, growing byte buffers.
 *
 * An fh_buf owns a heap block that grows on demand up to a maximum set at
 * fh_buf_init(); an append that would pass the maximum fails with
 * FH_ETOOBIG and leaves the buffer unchanged.  The contents are always
 * followed by a NUL byte (not counted in len), so data can be read as a C
 * string when it holds no NUL of its own.  data is NULL until the first
 * append; fh_buf_cstr() never returns NULL.  fh_buf_release() frees the
 * block and zeroes it first when the buffer was marked secret.
 */
#ifndef FH_BUF_H
#define FH_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "lib/err.h"

struct fh_buf {
	char  *data;
	size_t len;
	size_t cap;
	size_t max;
	int    secret; /* explicit_bzero() before free */
};

/* Set up an empty buffer that may hold at most max bytes. */
void fh_buf_init(struct fh_buf *b, size_t max);

/* Free the contents; the buffer can be used again (empty, same max). */
void fh_buf_release(struct fh_buf *b);

/* Forget the contents but keep the block. */
void fh_buf_reset(struct fh_buf *b);

/* Make room for n more bytes (at most up to max) in one allocation, so
 * that appending them does not grow the block step by step; the contents
 * do not change.  FH_ENOMEM. */
enum fh_err fh_buf_reserve(struct fh_buf *b, size_t n) FH_MUST_CHECK;

/* Append n bytes of p (p may be NULL when n is 0). */
enum fh_err fh_buf_add(struct fh_buf *b, const void *p, size_t n) FH_MUST_CHECK;

/* Append the C string s. */
enum fh_err fh_buf_addstr(struct fh_buf *b, const char *s) FH_MUST_CHECK;

/* Append one byte. */
enum fh_err fh_buf_addch(struct fh_buf *b, char c) FH_MUST_CHECK;

/* Append printf-formatted text. */
enum fh_err fh_buf_printf(struct fh_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3))) FH_MUST_CHECK;
enum fh_err fh_buf_vprintf(struct fh_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0))) FH_MUST_CHECK;

/* The contents as a C string, borrowed until the next change ("" when
 * empty). */
const char *fh_buf_cstr(const struct fh_buf *b);

/* Hand the block to the caller, who frees it with free(); the buffer is left
 * empty.  Returns NULL only when allocation fails. */
char *fh_buf_detach(struct fh_buf *b, size_t *len);

/* Copy n bytes of s into a new NUL-terminated string, freed by the caller
 * with free(); NULL when out of memory. */
char *fh_strndup(const char *s, size_t n);

/* Parse the whole of s[0..len) as a decimal integer in [min, max]: digits
 * only, no sign, no spaces, no leading '+'.  FH_EINPUT otherwise. */
enum fh_err fh_parse_int(const char *s, size_t len, long long min,
    long long max, long long *out) FH_MUST_CHECK;

/* Zero n bytes at p in a way the compiler keeps. */
void fh_bzero(void *p, size_t n);

/* Zero the C string s, then free it (NULL does nothing). */
void fh_free_secret(char *s);

#endif
