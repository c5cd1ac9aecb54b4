/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_form.c - form decoding, encoding, declared fields; bounded buffers.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fh_check.h"
#include "lib/form.h"
#include "lib/valid.h"

struct pcase {
	const char *in;
	enum fh_err want;
	size_t	    npairs;
	const char *name0, *value0;
};

static const struct pcase pcases[] = {
    {"a=1&b=2", FH_OK, 2, "a", "1"},
    {"a=%2B1+555", FH_OK, 1, "a", "+1 555"},
    {"a=%zz", FH_EINPUT, 0, NULL, NULL},
    {"a=%2", FH_EINPUT, 0, NULL, NULL},
    {"a=%", FH_EINPUT, 0, NULL, NULL},
    {"%41%42=x", FH_OK, 1, "AB", "x"},
    {"&&a=1&&", FH_OK, 1, "a", "1"},
    {"flag", FH_OK, 1, "flag", ""},
    {"Empty=", FH_OK, 1, "Empty", ""},
    {"", FH_OK, 0, NULL, NULL},
    {"a=1=2", FH_OK, 1, "a", "1=2"},
};

START_TEST(test_parse)
{
	const struct pcase *c = &pcases[_i];
	struct fh_form	    f;
	enum fh_err	    err;

	fh_form_init(&f);
	err = fh_form_parse(&f, c->in, strlen(c->in));
	ck_assert_int_eq(err, c->want);
	if (err == FH_OK) {
		ck_assert_uint_eq(f.n, c->npairs);
		if (c->npairs > 0) {
			ck_assert_str_eq(f.pairs[0].name, c->name0);
			ck_assert_str_eq(f.pairs[0].value, c->value0);
		}
	}
	fh_form_release(&f);
}
END_TEST

START_TEST(test_repeated_order)
{
	struct fh_form f;
	const char    *in = "Digits=5&x=1&Digits=3";

	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, in, strlen(in)), FH_OK);
	ck_assert_uint_eq(f.n, 3);
	ck_assert_str_eq(f.pairs[2].value, "3");
	ck_assert_str_eq(fh_form_get(&f, "Digits")->value, "5");
	ck_assert_ptr_null(fh_form_get(&f, "digits"));
	fh_form_release(&f);
}
END_TEST

START_TEST(test_nul_kept)
{
	struct fh_form f;

	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, "a=x%00y", 7), FH_OK);
	ck_assert_uint_eq(f.pairs[0].vlen, 3);
	fh_form_release(&f);
}
END_TEST

START_TEST(test_encode)
{
	struct fh_buf b;

	fh_buf_init(&b, 1024);
	ck_assert_int_eq(fh_form_add(&b, "To", "+1 555&x=y"), FH_OK);
	ck_assert_int_eq(
	    fh_form_add(&b, "Attributes", "{\"a\":\"\xc3\xa9\"}"), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b),
	    "To=%2B1%20555%26x%3Dy&Attributes="
	    "%7B%22a%22%3A%22%C3%A9%22%7D");
	fh_buf_release(&b);
}
END_TEST

enum { F_A, F_B, F__MAX };
static const struct fh_field fields[F__MAX] = {
    [F_A] = {"numberToCall", NULL, fh_valid_e164, FH_REQUIRED},
    [F_B] = {"recordingSid", "RecordingSid", fh_valid_sid_re, 0},
};

START_TEST(test_validate)
{
	struct fh_form f;
	struct fh_val  v[F__MAX];
	size_t	       bad = 99;
	int	       missing = -1;
	const char    *in = "RecordingSid=RE0123456789abcdef0123456789abcdef&"
			    "numberToCall=%2B15555550123";

	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, in, strlen(in)), FH_OK);
	ck_assert_int_eq(
	    fh_form_validate(&f, fields, F__MAX, v, &bad, &missing), FH_OK);
	ck_assert_str_eq(v[F_A].str, "+15555550123");
	ck_assert_str_eq(v[F_B].str, "RE0123456789abcdef0123456789abcdef");
	fh_form_release(&f);

	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, "numberToCall=", 13), FH_OK);
	ck_assert_int_eq(
	    fh_form_validate(&f, fields, F__MAX, v, &bad, &missing), FH_EINPUT);
	ck_assert_uint_eq(bad, F_A);
	ck_assert_int_eq(missing, 1);
	fh_form_release(&f);

	fh_form_init(&f);
	in = "numberToCall=%2B15555550123&recordingSid=WT1";
	ck_assert_int_eq(fh_form_parse(&f, in, strlen(in)), FH_OK);
	ck_assert_int_eq(
	    fh_form_validate(&f, fields, F__MAX, v, &bad, &missing), FH_EINPUT);
	ck_assert_uint_eq(bad, F_B);
	ck_assert_int_eq(missing, 0);
	fh_form_release(&f);
}
END_TEST

/* What a JavaScript client sends for a value it does not have. */
struct jcase {
	const char *in;
	enum fh_err want;
	size_t	    bad; /* when want is FH_EINPUT */
	int	    missing;
	const char *b; /* recordingSid read, or NULL */
};

#define RE_SID "RE0123456789abcdef0123456789abcdef"
static const struct jcase jcases[] = {
    /* optional: absent, the alias is read instead */
    {"numberToCall=%2B15555550123&recordingSid=undefined", FH_OK, 0, 0, NULL},
    {"numberToCall=%2B15555550123&recordingSid=null", FH_OK, 0, 0, NULL},
    {"numberToCall=%2B15555550123&recordingSid=undefined&RecordingSid=" RE_SID,
	FH_OK, 0, 0, RE_SID},
    {"numberToCall=%2B15555550123&recordingSid=&RecordingSid=null", FH_OK, 0, 0,
	NULL},
    /* required: missing, not invalid */
    {"numberToCall=undefined", FH_EINPUT, F_A, 1, NULL},
    {"numberToCall=null&recordingSid=" RE_SID, FH_EINPUT, F_A, 1, NULL},
    /* only the exact lower-case words */
    {"numberToCall=%2B15555550123&recordingSid=Undefined", FH_EINPUT, F_B, 0,
	NULL},
    {"numberToCall=%2B15555550123&recordingSid=NULL", FH_EINPUT, F_B, 0, NULL},
    {"numberToCall=%2B15555550123&recordingSid=undefined%00", FH_EINPUT, F_B, 0,
	NULL},
    {"numberToCall=%2B15555550123&recordingSid=nul", FH_EINPUT, F_B, 0, NULL},
    {"numberToCall=undefine", FH_EINPUT, F_A, 0, NULL},
};

START_TEST(test_js_absent)
{
	const struct jcase *c = &jcases[_i];
	struct fh_form	    f;
	struct fh_val	    v[F__MAX];
	size_t		    bad = 99;
	int		    missing = -1;

	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, c->in, strlen(c->in)), FH_OK);
	ck_assert_int_eq(
	    fh_form_validate(&f, fields, F__MAX, v, &bad, &missing), c->want);
	if (c->want != FH_OK) {
		ck_assert_uint_eq(bad, c->bad);
		ck_assert_int_eq(missing, c->missing);
	} else if (c->b == NULL)
		ck_assert_ptr_null(v[F_B].str);
	else
		ck_assert_str_eq(v[F_B].str, c->b);
	fh_form_release(&f);
}
END_TEST

START_TEST(test_too_many_pairs)
{
	struct fh_buf  b;
	struct fh_form f;
	int	       i;

	fh_buf_init(&b, 1 << 20);
	for (i = 0; i < FH_FORM_MAX_PAIRS + 1; i++)
		ck_assert_int_eq(fh_form_add(&b, "k", "v"), FH_OK);
	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, b.data, b.len), FH_ETOOBIG);
	fh_form_release(&f);
	fh_buf_release(&b);
}
END_TEST

START_TEST(test_value_cap)
{
	struct fh_form f;
	char	      *s;
	size_t	       n = FH_FORM_MAX_VALUE + 3;

	s = malloc(n);
	ck_assert_ptr_nonnull(s);
	memcpy(s, "a=", 2);
	memset(s + 2, 'x', n - 2);
	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, s, n), FH_ETOOBIG);
	fh_form_release(&f);
	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, s, n - 1), FH_OK);
	fh_form_release(&f);
	free(s);
}
END_TEST

START_TEST(test_buf_cap)
{
	struct fh_buf b;
	long long     v;

	fh_buf_init(&b, 4);
	ck_assert_int_eq(fh_buf_addstr(&b, "abcd"), FH_OK);
	ck_assert_int_eq(fh_buf_addch(&b, 'e'), FH_ETOOBIG);
	ck_assert_str_eq(fh_buf_cstr(&b), "abcd");
	ck_assert_int_eq(fh_buf_printf(&b, "%d", 1), FH_ETOOBIG);
	fh_buf_release(&b);
	ck_assert_int_eq(fh_parse_int("123", 3, 0, 200, &v), FH_OK);
	ck_assert_int_eq(v, 123);
	ck_assert_int_eq(fh_parse_int("123", 3, 0, 100, &v), FH_EINPUT);
	ck_assert_int_eq(
	    fh_parse_int("9999999999999999999", 19, 0, 1000, &v), FH_EINPUT);
	ck_assert_int_eq(fh_parse_int("", 0, 0, 1, &v), FH_EINPUT);
}
END_TEST

/* Names and values share blocks: pairs of every size, across many blocks
 * and one larger than a block, all read back whole and in order. */
START_TEST(test_blocks)
{
	static char    big[FH_FORM_MAX_VALUE];
	struct fh_form f;
	char	       name[32], val[1200];
	size_t	       i, vlen;

	fh_form_init(&f);
	memset(big, 'b', sizeof(big));
	for (i = 0; i < FH_FORM_MAX_PAIRS; i++) {
		vlen = (i * 37) % sizeof(val);
		memset(val, 'a' + (int)(i % 26), vlen);
		ck_assert_int_gt(snprintf(name, sizeof(name), "n%zu", i), 0);
		if (i == 100)
			ck_assert_int_eq(fh_form_push(&f, name, strlen(name),
					     big, sizeof(big)),
			    FH_OK);
		else
			ck_assert_int_eq(
			    fh_form_push(&f, name, strlen(name), val, vlen),
			    FH_OK);
	}
	ck_assert_uint_eq(f.n, FH_FORM_MAX_PAIRS);
	for (i = 0; i < FH_FORM_MAX_PAIRS; i++) {
		const struct fh_pair *p = &f.pairs[i];

		ck_assert_int_gt(snprintf(name, sizeof(name), "n%zu", i), 0);
		ck_assert_str_eq(p->name, name);
		ck_assert_uint_eq(p->nlen, strlen(name));
		vlen = i == 100 ? sizeof(big) : (i * 37) % sizeof(val);
		ck_assert_uint_eq(p->vlen, vlen);
		ck_assert_int_eq(p->value[vlen], '\0');
		if (vlen > 0) {
			ck_assert_int_eq(
			    p->value[0], i == 100 ? 'b' : 'a' + (int)(i % 26));
			ck_assert_int_eq(p->value[vlen - 1], p->value[0]);
		}
	}
	ck_assert_ptr_eq(fh_form_get(&f, "n100"), &f.pairs[100]);
	fh_form_release(&f);
	ck_assert_ptr_null(f.blocks);
	ck_assert_uint_eq(f.n, 0);
}
END_TEST

/* What fh_form_parse() did before it decoded into its blocks: each name
 * and value through fh_url_decode() into a buffer capped as the form caps
 * them, then fh_form_push(). */
static enum fh_err
parse_reference(struct fh_form *f, const char *s, size_t len)
{
	struct fh_buf name, value;
	const char   *seg, *end = s + len, *amp, *eq;
	enum fh_err   err = FH_OK;

	fh_buf_init(&name, FH_FORM_MAX_NAME);
	fh_buf_init(&value, FH_FORM_MAX_VALUE);
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

/* "N<n>" is n copies of 'n', "V<n>" n copies of 'v' */
static const char *const parse_cases[] = {
    "a=1&b=2",
    "a=1&b=%zz",
    "a=%4",
    "a%2=1",
    "%41%42=%43+d",
    "+=+&++",
    "a&&b=&=c&",
    "%00=%00",
    "a=1&a=2&a=",
    "=",
    "&&&",
    "N256=x",
    "N257=x",
    "N257%zz=x",
    "N256%zz=x",
    "N256%41=x",
    "a=V65536",
    "a=V65537",
    "a=V65536%",
    "a=V65536%4",
    "a=V65535%41",
    "a=V65535%41&b=V65536",
    "N300&a=%zz",
    "a=%zz&N300",
};

static size_t
expand(const char *c, char *out, size_t outlen)
{
	size_t n = 0, k;
	long   rep;
	char  *endp;

	while (*c != '\0') {
		if ((*c == 'N' || *c == 'V') && c[1] >= '0' && c[1] <= '9') {
			rep = strtol(c + 1, &endp, 10);
			ck_assert_uint_lt(n + (size_t)rep, outlen);
			for (k = 0; k < (size_t)rep; k++)
				out[n++] = *c == 'N' ? 'n' : 'v';
			c = endp;
			continue;
		}
		ck_assert_uint_lt(n, outlen);
		out[n++] = *c++;
	}
	return n;
}

START_TEST(test_parse_same_as_decode)
{
	static char    in[3 * FH_FORM_MAX_VALUE];
	struct fh_form got, want;
	size_t	       n, i;

	n = expand(parse_cases[_i], in, sizeof(in));
	fh_form_init(&got);
	fh_form_init(&want);
	ck_assert_int_eq(
	    fh_form_parse(&got, in, n), parse_reference(&want, in, n));
	ck_assert_uint_eq(got.n, want.n);
	for (i = 0; i < got.n; i++) {
		ck_assert_uint_eq(got.pairs[i].nlen, want.pairs[i].nlen);
		ck_assert_uint_eq(got.pairs[i].vlen, want.pairs[i].vlen);
		ck_assert(memcmp(got.pairs[i].name, want.pairs[i].name,
			      want.pairs[i].nlen + 1) == 0);
		ck_assert(memcmp(got.pairs[i].value, want.pairs[i].value,
			      want.pairs[i].vlen + 1) == 0);
	}
	fh_form_release(&got);
	fh_form_release(&want);
}
END_TEST

/* Past the pair cap: the same error and pairs as before. */
START_TEST(test_parse_pair_cap)
{
	static char    in[FH_FORM_MAX_PAIRS * 8];
	struct fh_form got, want;
	size_t	       n = 0, i;

	for (i = 0; i <= FH_FORM_MAX_PAIRS; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "p%zu=1&", i);
	fh_form_init(&got);
	fh_form_init(&want);
	ck_assert_int_eq(fh_form_parse(&got, in, n), FH_ETOOBIG);
	ck_assert_int_eq(parse_reference(&want, in, n), FH_ETOOBIG);
	ck_assert_uint_eq(got.n, FH_FORM_MAX_PAIRS);
	ck_assert_uint_eq(want.n, FH_FORM_MAX_PAIRS);
	fh_form_release(&got);
	fh_form_release(&want);
}
END_TEST

/* The userinfo put into a URL: encoded, "user@" without a password. */
START_TEST(test_userinfo)
{
	struct fh_buf b;

	fh_buf_init(&b, 1024);
	ck_assert_int_eq(
	    fh_url_add_userinfo(&b, "https://h.example/x?y", "u s:p@w"), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b), "https://u%20s:p%40w@h.example/x?y");
	fh_buf_reset(&b);
	ck_assert_int_eq(fh_url_add_userinfo(&b, "http://h", "user:"), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b), "http://user@h");
	fh_buf_reset(&b);
	ck_assert_int_eq(fh_url_add_userinfo(&b, "http://h", "user"), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b), "http://user@h");
	fh_buf_reset(&b);
	ck_assert_int_eq(fh_url_add_userinfo(&b, "h/x", "u:p"), FH_EINPUT);
	fh_buf_release(&b);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("form");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");
	TCase *tc_blocks;

	tcase_add_loop_test(
	    core, test_parse, 0, (int)(sizeof(pcases) / sizeof(pcases[0])));
	tcase_add_test(core, test_repeated_order);
	tcase_add_test(core, test_encode);
	tcase_add_test(core, test_userinfo);
	tcase_add_test(core, test_validate);
	tcase_add_loop_test(limits, test_js_absent, 0,
	    (int)(sizeof(jcases) / sizeof(jcases[0])));
	tcase_add_test(limits, test_nul_kept);
	tcase_add_test(limits, test_too_many_pairs);
	tcase_add_test(limits, test_value_cap);
	tcase_add_test(limits, test_buf_cap);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	tc_blocks = tcase_create("blocks");
	tcase_add_test(tc_blocks, test_blocks);
	tcase_add_loop_test(tc_blocks, test_parse_same_as_decode, 0,
	    (int)FH_NITEMS(parse_cases));
	tcase_add_test(tc_blocks, test_parse_pair_cap);
	suite_add_tcase(s, tc_blocks);
	return s;
}

FH_CHECK_MAIN(suite)
