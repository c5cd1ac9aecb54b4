/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fh_golden.h - handler tests: build a request, compare an answer's body
 * with a golden file.
 *
 * Golden files live in GOLDEN_DIR/<program>/<case>.<ext> and are compared
 * byte for byte.  With FLEXHOOKS_GOLDEN_UPDATE=1 in the environment the
 * test writes the file instead of comparing (tests/golden/gen.sh does
 * that); the diff is then reviewed, never edited by hand.
 */
#ifndef FH_GOLDEN_H
#define FH_GOLDEN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/fcgi.h"

#ifndef GOLDEN_DIR
#define GOLDEN_DIR "tests/golden"
#endif

/* Parse a request: method, URI (path and query), content type (may be
 * NULL) and body (may be NULL); extra is one more "KEY=VALUE" (or NULL). */
static inline void
fh_test_req(struct fh_req *req, const char *method, const char *uri,
    const char *ctype, const char *body, const char *extra)
{
	char   m[64], u[2048], ct[256], x[256];
	char  *envp[5];
	size_t n = 0;

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", uri);
	envp[n++] = m;
	envp[n++] = u;
	if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "CONTENT_TYPE=%s", ctype);
		envp[n++] = ct;
	}
	if (extra != NULL) {
		snprintf(x, sizeof(x), "%s", extra);
		envp[n++] = x;
	}
	envp[n] = NULL;
	fh_req_init(req);
	ck_assert_int_eq(
	    fh_req_parse(req, envp, body, body != NULL ? strlen(body) : 0),
	    FH_OK);
}

/* Compare (or, when updating, write) got[0..len) with the golden file. */
static inline void
fh_test_golden(const char *prog, const char *name, const char *got, size_t len)
{
	char	    path[512], *want;
	const char *upd = getenv("FLEXHOOKS_GOLDEN_UPDATE");
	FILE	   *f;
	long	    n;

	snprintf(path, sizeof(path), "%s/%s/%s", GOLDEN_DIR, prog, name);
	if (upd != NULL && strcmp(upd, "1") == 0) {
		f = fopen(path, "wb");
		ck_assert_msg(f != NULL, "cannot write %s", path);
		ck_assert_uint_eq(fwrite(got, 1, len, f), len);
		ck_assert_int_eq(fclose(f), 0);
		return;
	}
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL,
	    "missing golden file %s (run "
	    "tests/golden/gen.sh)",
	    path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	want = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(want);
	ck_assert_uint_eq(fread(want, 1, (size_t)n, f), (size_t)n);
	want[n] = '\0';
	fclose(f);
	ck_assert_msg((size_t)n == len && memcmp(want, got, len) == 0,
	    "%s differs:\n got: %.*s\nwant: %s", path, (int)len, got, want);
	free(want);
}

#endif
