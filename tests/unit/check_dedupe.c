/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_dedupe.c - the shared table of webhook deliveries: new, done,
 * busy (another process creating), abort, expiry, eviction of the oldest,
 * an abandoned pending entry, and a process that died holding the mutex.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "lib/dedupe.h"
#include "fh_check.h"

#define SID_A "WT0123456789abcdef0123456789abcdef"
#define SID_B "WTfedcba9876543210fedcba9876543210"
#define ROUTE "/features/callback-and-voicemail/studio/create-callback"

static struct fh_dedupe *d;

static void
setup(void)
{
	ck_assert_int_eq(fh_dedupe_new(&d, 8, 1000), FH_OK);
}

static void
teardown(void)
{
	fh_dedupe_free(d);
	d = NULL;
}

static void
key_of(const char *token, unsigned char *key)
{
	ck_assert_int_eq(fh_dedupe_key(ROUTE, token, key), FH_OK);
}

static enum fh_dedupe_state
begin(const unsigned char *key, int64_t now, char *sid)
{
	enum fh_dedupe_state st = FH_DEDUPE__MAX;

	ck_assert_int_eq(
	    fh_dedupe_begin(d, key, now, &st, sid, FH_DEDUPE_SID_MAX), FH_OK);
	return st;
}

START_TEST(test_new_done)
{
	unsigned char k[FH_DEDUPE_KEY_LEN];
	char	      sid[FH_DEDUPE_SID_MAX];

	key_of("ACx-1", k);
	ck_assert_int_eq(begin(k, 100, sid), FH_DEDUPE_NEW);
	ck_assert_int_eq(fh_dedupe_count(d, 100), 1);
	ck_assert_int_eq(fh_dedupe_done(d, k, SID_A, 110), FH_OK);
	ck_assert_int_eq(begin(k, 200, sid), FH_DEDUPE_DONE);
	ck_assert_str_eq(sid, SID_A);
	ck_assert_int_eq(begin(k, 300, sid), FH_DEDUPE_DONE);
	ck_assert_str_eq(sid, SID_A);
	ck_assert_int_eq(fh_dedupe_count(d, 300), 1);
}
END_TEST

START_TEST(test_keys)
{
	unsigned char a[FH_DEDUPE_KEY_LEN], b[FH_DEDUPE_KEY_LEN];
	unsigned char c[FH_DEDUPE_KEY_LEN];
	char	      sid[FH_DEDUPE_SID_MAX];

	/* the route and the token both count, and never run together */
	ck_assert_int_eq(fh_dedupe_key("/a", "bc", a), FH_OK);
	ck_assert_int_eq(fh_dedupe_key("/ab", "c", b), FH_OK);
	ck_assert_int_eq(fh_dedupe_key("/a", "bd", c), FH_OK);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	ck_assert(memcmp(a, c, sizeof(a)) != 0);
	ck_assert_int_eq(fh_dedupe_key("/a", "bc", b), FH_OK);
	ck_assert(memcmp(a, b, sizeof(a)) == 0);
	/* different tokens: different deliveries */
	ck_assert_int_eq(begin(a, 10, sid), FH_DEDUPE_NEW);
	ck_assert_int_eq(fh_dedupe_done(d, a, SID_A, 10), FH_OK);
	ck_assert_int_eq(begin(c, 20, sid), FH_DEDUPE_NEW);
	ck_assert_int_eq(fh_dedupe_done(d, c, SID_B, 20), FH_OK);
	ck_assert_int_eq(begin(a, 30, sid), FH_DEDUPE_DONE);
	ck_assert_str_eq(sid, SID_A);
	ck_assert_int_eq(begin(c, 30, sid), FH_DEDUPE_DONE);
	ck_assert_str_eq(sid, SID_B);
}
END_TEST

START_TEST(test_abort)
{
	unsigned char k[FH_DEDUPE_KEY_LEN];
	char	      sid[FH_DEDUPE_SID_MAX];

	key_of("ACx-2", k);
	ck_assert_int_eq(begin(k, 100, sid), FH_DEDUPE_NEW);
	fh_dedupe_abort(d, k);
	ck_assert_int_eq(fh_dedupe_count(d, 100), 0);
	/* the retry does the work again */
	ck_assert_int_eq(begin(k, 200, sid), FH_DEDUPE_NEW);
	ck_assert_int_eq(fh_dedupe_done(d, k, SID_B, 210), FH_OK);
	/* abort never drops a done entry */
	fh_dedupe_abort(d, k);
	ck_assert_int_eq(begin(k, 300, sid), FH_DEDUPE_DONE);
	ck_assert_str_eq(sid, SID_B);
}
END_TEST

START_TEST(test_busy)
{
	unsigned char k[FH_DEDUPE_KEY_LEN];
	char	      sid[FH_DEDUPE_SID_MAX], c;
	int	      up[2], down[2], st;
	pid_t	      pid;

	key_of("ACx-3", k);
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		enum fh_dedupe_state cst;

		if (fh_dedupe_begin(d, k, 100, &cst, sid, sizeof(sid)) !=
			FH_OK ||
		    cst != FH_DEDUPE_NEW)
			_exit(2);
		if (write(up[1], "x", 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(3);
		_exit(fh_dedupe_done(d, k, SID_A, 150) == FH_OK ? 0 : 4);
	}
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	/* the other process is creating: busy, and this one waits */
	ck_assert_int_eq(begin(k, 120, sid), FH_DEDUPE_BUSY);
	ck_assert_int_eq(begin(k, 130, sid), FH_DEDUPE_BUSY);
	ck_assert_int_eq(write(down[1], "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(begin(k, 160, sid), FH_DEDUPE_DONE);
	ck_assert_str_eq(sid, SID_A);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}
END_TEST

START_TEST(test_abandoned)
{
	unsigned char k[FH_DEDUPE_KEY_LEN];
	char	      sid[FH_DEDUPE_SID_MAX];
	int	      st;
	pid_t	      pid;

	/* a process that died in the middle of its create */
	key_of("ACx-4", k);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		enum fh_dedupe_state cst;

		_exit(fh_dedupe_begin(d, k, 100, &cst, sid, sizeof(sid)) ==
				FH_OK &&
			    cst == FH_DEDUPE_NEW
			? 0
			: 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(begin(k, 110, sid), FH_DEDUPE_NEW);
}
END_TEST

START_TEST(test_expiry)
{
	unsigned char k[FH_DEDUPE_KEY_LEN];
	char	      sid[FH_DEDUPE_SID_MAX];

	/* the table of setup() keeps entries 1000 ms */
	key_of("ACx-5", k);
	ck_assert_int_eq(begin(k, 100, sid), FH_DEDUPE_NEW);
	ck_assert_int_eq(fh_dedupe_done(d, k, SID_A, 100), FH_OK);
	ck_assert_int_eq(begin(k, 1099, sid), FH_DEDUPE_DONE);
	ck_assert_int_eq(fh_dedupe_count(d, 1099), 1);
	ck_assert_int_eq(fh_dedupe_count(d, 1100), 0);
	ck_assert_int_eq(begin(k, 1100, sid), FH_DEDUPE_NEW);
	ck_assert_str_eq(sid, "");
}
END_TEST

START_TEST(test_eviction)
{
	unsigned char k[9][FH_DEDUPE_KEY_LEN];
	char	      sid[FH_DEDUPE_SID_MAX], tok[16];
	int	      i;

	/* 8 slots: the ninth key replaces the oldest (the first) */
	for (i = 0; i < 9; i++) {
		snprintf(tok, sizeof(tok), "tok-%d", i);
		key_of(tok, k[i]);
		ck_assert_int_eq(begin(k[i], 100 + i, sid), FH_DEDUPE_NEW);
		ck_assert_int_eq(
		    fh_dedupe_done(d, k[i], SID_A, 100 + i), FH_OK);
	}
	ck_assert_int_eq(fh_dedupe_count(d, 200), 8);
	for (i = 1; i < 9; i++)
		ck_assert_int_eq(begin(k[i], 200, sid), FH_DEDUPE_DONE);
	ck_assert_int_eq(begin(k[0], 200, sid), FH_DEDUPE_NEW);
}
END_TEST

START_TEST(test_owner_died)
{
	unsigned char k[FH_DEDUPE_KEY_LEN];
	char	      sid[FH_DEDUPE_SID_MAX];
	int	      st;
	pid_t	      pid;

	key_of("ACx-6", k);
	ck_assert_int_eq(begin(k, 100, sid), FH_DEDUPE_NEW);
	ck_assert_int_eq(fh_dedupe_done(d, k, SID_B, 100), FH_OK);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fh_dedupe_hold(d) == FH_OK ? 0 : 1); /* holding */
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the dead owner's mutex is taken over, the entries are kept */
	ck_assert_int_eq(begin(k, 200, sid), FH_DEDUPE_DONE);
	ck_assert_str_eq(sid, SID_B);
	ck_assert_int_eq(begin(k, 210, sid), FH_DEDUPE_DONE);
}
END_TEST

START_TEST(test_limits)
{
	unsigned char	     k[FH_DEDUPE_KEY_LEN];
	char		     sid[FH_DEDUPE_SID_MAX], small[8];
	char		     big[FH_DEDUPE_SID_MAX + 1];
	enum fh_dedupe_state st;
	struct fh_dedupe    *def = NULL;

	key_of("", k); /* an empty token still hashes */
	ck_assert_int_eq(
	    fh_dedupe_begin(d, k, 1, &st, small, sizeof(small)), FH_EINPUT);
	ck_assert_int_eq(fh_dedupe_count(d, 1), 0);
	memset(big, 'W', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(fh_dedupe_done(d, k, big, 1), FH_EINPUT);
	ck_assert_int_eq(begin(k, 1, sid), FH_DEDUPE_NEW);
	/* the defaults: FH_DEDUPE_SLOTS entries for an hour */
	ck_assert_int_eq(fh_dedupe_new(&def, 0, 0), FH_OK);
	ck_assert_int_eq(
	    fh_dedupe_begin(def, k, 0, &st, sid, sizeof(sid)), FH_OK);
	ck_assert_int_eq(fh_dedupe_done(def, k, SID_A, 0), FH_OK);
	ck_assert_int_eq(fh_dedupe_count(def, FH_DEDUPE_TTL_MS - 1), 1);
	ck_assert_int_eq(fh_dedupe_count(def, FH_DEDUPE_TTL_MS), 0);
	fh_dedupe_free(def);
	fh_dedupe_free(NULL);
}
END_TEST

static Suite *
dedupe_suite(void)
{
	Suite *s = suite_create("dedupe");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(core, test_new_done);
	tcase_add_test(core, test_keys);
	tcase_add_test(core, test_abort);
	tcase_add_test(core, test_busy);
	tcase_add_test(core, test_abandoned);
	tcase_add_test(core, test_expiry);
	tcase_add_test(core, test_eviction);
	tcase_add_test(core, test_owner_died);
	tcase_add_test(limits, test_limits);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(dedupe_suite)
