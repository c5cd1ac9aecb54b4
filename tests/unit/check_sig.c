/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_sig.c - X-Twilio-Signature: the public test vectors of
 * docs/design/platform.md#request-signatures, the request-level decision of
 * fh_sig_check(), and the helpers (constant-time compare, SHA-256, base64).
 *
 * Where a case needs a signature the spec does not list, it is computed by
 * oracle(): HMAC-SHA1 over a string the test spells out in full, so the
 * module's own string building is never its own reference.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fh_check.h"
#include "lib/codec.h"
#include "lib/sig.h"

#define TOKEN "12345"
#define U "https://mycompany.com/myapp.php?foo=1&bar=2"
#define PUB "https://mycompany.com"
#define URI "/myapp.php?foo=1&bar=2"
#define FORM_CT "application/x-www-form-urlencoded"
#define V1_SIG "RSOYDt4T1cUTdK1PDd93/VVr8B8="
#define V7_SIG "CukzLTc1tT5dXEDIHm/tKBanW10="
#define V13_SHA \
	"0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
#define V13_BODY "{\"property\": \"value\", \"boolean\": true}"
#define V14_SHA \
	"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define EMPTY_SHA \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define BASIC_UP "Basic dXNlcjpwYXNz" /* user:pass */
#define BASIC_U "Basic dXNlcjo="      /* user: */

struct kv {
	const char *name;
	const char *value;
};

static const struct kv P[] = {
    {"CallSid", "CA1234567890ABCDE"},
    {"Caller", "+14158675309"},
    {"Digits", "1234"},
    {"From", "+14158675309"},
    {"To", "+18005551212"},
};

static const struct kv P11[] = {
    {"MessagingBinding.Address", "+1325xxxxxxx"},
    {"MessagingBinding.Address", "+1415xxxxxxx"},
};

static const struct kv P12[] = {
    {"Sid", "CA123"},
    {"SidAccount", "AC123"},
    {"Digits", "5678"},
    {"Digits", "1234"},
    {"Digits", "1234"},
};

/* Build f from kv[0..n). */
static void
build_form(struct fh_form *f, const struct kv *kv, size_t n)
{
	size_t i;

	fh_form_init(f);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(fh_form_push(f, kv[i].name, strlen(kv[i].name),
				     kv[i].value, strlen(kv[i].value)),
		    FH_OK);
}

/* The signature of msg[0..len) under token, computed directly. */
static void
oracle(const char *msg, size_t len, const char *token, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int  mdlen = 0;

	ck_assert_ptr_nonnull(HMAC(EVP_sha1(), token, (int)strlen(token),
	    (const unsigned char *)msg, len, md, &mdlen));
	ck_assert_uint_eq(mdlen, 20);
	ck_assert_int_eq(
	    EVP_EncodeBlock((unsigned char *)out, md, 20), FH_SIG_LEN);
}

/*
 * Section 1.4, through fh_sig_validate().  There is no V10 in the spec.
 */
struct vec {
	const char	*id;
	const char	*url;
	const struct kv *params;
	size_t		 nparams;
	const char	*body; /* bodySHA256 mode when non-NULL */
	const char	*sig;
	enum fh_err	 want;
};

static const struct vec vecs[] = {
    {"V1", U, P, 5, NULL, V1_SIG, FH_OK},
    {"V2", U, P, 5, NULL, "WRONG_SIGNATURE", FH_EAUTH},
    {"V3", "https://mycompany.com:1234/myapp.php?foo=1&bar=2", P, 5, NULL,
	V1_SIG, FH_OK},
    {"V4", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", P, 5, NULL,
	"Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", FH_OK},
    {"V5", U, P, 5, NULL, "kvajT1Ptam85bY51eRf/AJRuM3w=", FH_OK},
    {"V6", "http://mycompany.com/myapp.php?foo=1&bar=2", P, 5, NULL,
	"0ZXoZLH/DfblKGATFgpif+LLRf4=", FH_OK},
    {"V7", "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", P, 5, NULL,
	V7_SIG, FH_OK},
    {"V8", "https://user@mycompany.com/myapp.php?foo=1&bar=2", P, 5, NULL,
	"2YRLlVAflCqxaNicjMpJcSTgzSs=", FH_OK},
    {"V9", "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", P, 5, NULL,
	"ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=", FH_OK},
    {"V11", U, P11, 2, NULL, "83O6e2vORAoJHUNzJjDWN1jz+BA=", FH_OK},
    {"V12", U, P12, 5, NULL, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", FH_OK},
    {"V13", U "&bodySHA256=" V13_SHA, NULL, 0, V13_BODY,
	"a9nBmqA0ju/hNViExpshrM61xv4=", FH_OK},
    {"V14", U "&bodySHA256=" V14_SHA, NULL, 0, "{}",
	"Ldidvp12m26NI7eqEvxnEpkd9Hc=", FH_OK},
};

static enum fh_err
run_vec(const struct vec *v, const char *url, const struct fh_form *f,
    const char *body, const char *token)
{
	return fh_sig_validate(url, v->body != NULL ? NULL : f, body,
	    body != NULL ? strlen(body) : 0, v->sig, token);
}

START_TEST(test_vectors)
{
	const struct vec *v = &vecs[_i];
	struct fh_form	  f;

	build_form(&f, v->params, v->nparams);
	ck_assert_msg(
	    run_vec(v, v->url, &f, v->body, TOKEN) == v->want, "%s", v->id);
	fh_form_release(&f);
}
END_TEST

/*
 * Any change to the body, the token, one parameter or the URL makes a valid
 * vector invalid.  For form vectors the body is the form (a pair is added);
 * for bodySHA256 vectors "one parameter" is a query parameter.
 */
enum mut { MUT_BODY, MUT_TOKEN, MUT_PARAM, MUT_URL, MUT__MAX };

static void
replace_once(char *s, const char *from, const char *to)
{
	char *p;

	ck_assert_uint_eq(strlen(from), strlen(to));
	p = strstr(s, from);
	ck_assert_ptr_nonnull(p);
	memcpy(p, to, strlen(to));
}

START_TEST(test_mutations)
{
	const struct vec *v = &vecs[_i / MUT__MAX];
	enum mut	  m = (enum mut)(_i % MUT__MAX);
	struct fh_form	  f;
	char		 *url, *body, *val;
	const char	 *token = TOKEN;

	if (v->want != FH_OK)
		return; /* only valid vectors mutate */
	build_form(&f, v->params, v->nparams);
	url = strdup(v->url);
	body = v->body != NULL ? strdup(v->body) : NULL;
	ck_assert_ptr_nonnull(url);
	/* unmutated copies still validate */
	ck_assert_int_eq(run_vec(v, url, &f, body, token), FH_OK);
	switch (m) {
	case MUT_BODY:
		if (body != NULL)
			body[strlen(body) - 1] = ' ';
		else
			ck_assert_int_eq(
			    fh_form_push(&f, "Extra", 5, "1", 1), FH_OK);
		break;
	case MUT_TOKEN:
		token = "12346";
		break;
	case MUT_PARAM:
		if (body != NULL)
			replace_once(url, "foo=1", "foo=9");
		else {
			val = f.pairs[0].value;
			val[f.pairs[0].vlen - 1] ^= 1;
		}
		break;
	case MUT_URL:
		replace_once(url, "mycompany", "mycompanz");
		break;
	default:
		ck_abort();
	}
	ck_assert_msg(run_vec(v, url, &f, body, token) == FH_EAUTH,
	    "%s mutation %d", v->id, (int)m);
	free(url);
	free(body);
	fh_form_release(&f);
}
END_TEST

/* The string that is signed: the example of
 * docs/design/platform.md#request-signatures and V12. */
START_TEST(test_signed_string)
{
	struct fh_form f;
	struct fh_buf  b;

	fh_buf_init(&b, 4096);
	build_form(&f, P, FH_NITEMS(P));
	ck_assert_int_eq(fh_sig_message(&b, U, &f), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b),
	    U "CallSidCA1234567890ABCDE"
	      "Caller+14158675309Digits1234From+14158675309To+18005551212");
	fh_form_release(&f);
	fh_buf_release(&b);

	build_form(&f, P12, FH_NITEMS(P12));
	ck_assert_int_eq(fh_sig_message(&b, U, &f), FH_OK);
	ck_assert_str_eq(
	    fh_buf_cstr(&b), U "Digits1234Digits5678SidCA123SidAccountAC123");
	fh_form_release(&f);
	fh_buf_release(&b);

	ck_assert_int_eq(fh_sig_message(&b, U, NULL), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b), U);
	fh_buf_release(&b);
}
END_TEST

START_TEST(test_compute)
{
	struct fh_form f;
	char	       out[FH_SIG_LEN + 1];

	build_form(&f, P, FH_NITEMS(P));
	ck_assert_int_eq(fh_sig_compute(U, &f, TOKEN, out), FH_OK);
	ck_assert_str_eq(out, V1_SIG);
	ck_assert_int_eq(fh_sig_compute(U, &f, "", out), FH_EINPUT);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(fh_sig_compute(U, &f, NULL, out), FH_EINPUT);
	ck_assert_int_eq(fh_sig_compute(NULL, &f, TOKEN, out), FH_EINPUT);
	fh_form_release(&f);
}
END_TEST

/*
 * Sort order: UTF-16 code units, case-sensitive; values sorted and
 * de-duplicated under each name.  Pairs are pushed in the order given.
 */
struct order_case {
	struct kv   in[3];
	size_t	    n;
	const char *want; /* what follows the URL "u" */
	size_t	    wantlen;
};

#define S(s) s, sizeof(s) - 1
static const struct order_case orders[] = {
    {{{"Caller", "1"}, {"CallSid", "2"}, {"AccountSid", "3"}}, 3,
	S("AccountSid3CallSid2Caller1")},
    /* U+1F600 is D83D DE00 in UTF-16, before U+FF61 (UTF-8 says after) */
    {{{"\xEF\xBD\xA1", "a"}, {"\xF0\x9F\x98\x80", "b"}}, 2,
	S("\xF0\x9F\x98\x80"
	  "b"
	  "\xEF\xBD\xA1"
	  "a")},
    {{{"n", "\xEF\xBD\xA1"}, {"n", "\xF0\x9F\x98\x80"}}, 2,
	S("n\xF0\x9F\x98\x80"
	  "n\xEF\xBD\xA1")},
    /* within the BMP, byte order */
    {{{"\xC3\xA9", "1"}, {"z", "2"}, {"\xE2\x82\xAC", "3"}}, 3,
	S("z2\xC3\xA9"
	  "1\xE2\x82\xAC"
	  "3")},
    {{{"a", "1"}, {"Z", "2"}, {"", "3"}}, 3, S("3Z2a1")},
    {{{"ab", "1"}, {"a", "2"}}, 2, S("a2ab1")},
    {{{"Empty", ""}, {"Empty", ""}, {"E", "x"}}, 3, S("ExEmpty")},
    {{{"d", "x"}, {"d", "x"}, {"e", "x"}}, 3, S("dxex")},
    /* past a common ASCII prefix: the first differing bytes decide when
     * either is ASCII, the code units when both start sequences */
    {{{"n", "aZ\xF0\x9F\x98\x80"}, {"n", "a\xF0\x9F\x98\x80"}, {"n", "a"}}, 3,
	S("na"
	  "naZ\xF0\x9F\x98\x80"
	  "na\xF0\x9F\x98\x80")},
    {{{"n", "x\xEF\xBD\xA1"}, {"n", "x\xF0\x9F\x98\x80"}}, 2,
	S("nx\xF0\x9F\x98\x80"
	  "nx\xEF\xBD\xA1")},
    /* a common non-ASCII prefix: a broken sequence (U+FFFD, then "A")
     * sorts after a whole one (U+00E9), against the byte order */
    {{{"k",
	  "\xC3"
	  "A"},
	 {"k", "\xC3\xA9"}},
	2,
	S("k\xC3\xA9k\xC3"
	  "A")},
    /* invalid UTF-8 still orders totally and never merges */
    {{{"k", "\xFF"}, {"k", "\xFE"}, {"k", "\xEF\xBF\xBD"}}, 3,
	S("k\xEF\xBF\xBDk\xFEk\xFF")},
};

START_TEST(test_order)
{
	const struct order_case *c = &orders[_i];
	struct fh_form		 f;
	struct fh_buf		 b;

	fh_buf_init(&b, 4096);
	build_form(&f, c->in, c->n);
	ck_assert_int_eq(fh_sig_message(&b, "u", &f), FH_OK);
	ck_assert_uint_eq(b.len, c->wantlen + 1);
	ck_assert_msg(memcmp(fh_buf_cstr(&b) + 1, c->want, c->wantlen) == 0,
	    "case %d: %s", _i, fh_buf_cstr(&b));
	fh_form_release(&f);
	fh_buf_release(&b);
}
END_TEST

START_TEST(test_order_nul)
{
	struct fh_form f;
	struct fh_buf  b;

	/* a value decoded from %00 holds a NUL; "a" sorts before "a\0b" */
	fh_buf_init(&b, 64);
	fh_form_init(&f);
	ck_assert_int_eq(fh_form_push(&f, "n", 1, "a\0b", 3), FH_OK);
	ck_assert_int_eq(fh_form_push(&f, "n", 1, "a", 1), FH_OK);
	ck_assert_int_eq(fh_sig_message(&b, "u", &f), FH_OK);
	ck_assert_uint_eq(b.len, 7);
	ck_assert_int_eq(memcmp(fh_buf_cstr(&b), "unana\0b", 7), 0);
	fh_form_release(&f);
	fh_buf_release(&b);
}
END_TEST

/*
 * V7-V9 through the full request path, and what must break them.
 */
enum req_mut {
	RQ_NONE,
	RQ_TOKEN,
	RQ_PARAM,
	RQ_NOAUTH,
	RQ_BADAUTH,
	RQ_NOTOURS,
	RQ_NOCONFIG,
	RQ__MAX
};

static const struct {
	const char *id;
	const char *authz;
	const char *sig;
	const char *ours; /* FLEXHOOKS_BASIC_AUTH */
} v789[] = {
    {"V7", BASIC_UP, V7_SIG, "user:pass"},
    {"V8", BASIC_U, "2YRLlVAflCqxaNicjMpJcSTgzSs=", "user:"},
    {"V9", BASIC_UP, "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=", "user:pass"},
};

START_TEST(test_check_v789)
{
	struct fh_sig_input in;
	struct fh_form	    f;
	enum req_mut	    m = (enum req_mut)(_i % RQ__MAX);

	build_form(&f, P, FH_NITEMS(P));
	memset(&in, 0, sizeof(in));
	in.public_url = PUB;
	in.request_uri = URI;
	in.method = "POST";
	in.content_type = FORM_CT;
	in.body_form = &f;
	in.authorization = v789[_i / RQ__MAX].authz;
	in.basic_auth = v789[_i / RQ__MAX].ours;
	in.signature = v789[_i / RQ__MAX].sig;
	in.token = TOKEN;
	switch (m) {
	case RQ_NONE:
		break;
	case RQ_TOKEN:
		in.token = "12346";
		break;
	case RQ_PARAM:
		f.pairs[2].value[0] = '9'; /* Digits=9234 */
		break;
	case RQ_NOAUTH:
		in.authorization = NULL;
		break;
	case RQ_BADAUTH:
		/* user:pass2 */
		in.authorization = "Basic dXNlcjpwYXNzMg==";
		in.basic_auth = "user:pass2";
		break;
	case RQ_NOTOURS:
		/* the client's credentials, not ours: no userinfo URL */
		in.basic_auth = "user:pass2";
		break;
	case RQ_NOCONFIG:
		in.basic_auth = NULL;
		break;
	default:
		ck_abort();
	}
	ck_assert_msg(fh_sig_check(&in) == (m == RQ_NONE ? FH_OK : FH_EAUTH),
	    "%s mutation %d", v789[_i / RQ__MAX].id, (int)m);
	fh_form_release(&f);
}
END_TEST

/*
 * Modes of fh_sig_check().  With signed set, the signature is the oracle's
 * over that exact string under TOKEN; otherwise sig is used as it is.
 */
struct check_case {
	const char *name;
	const char *pub;
	const char *uri;
	const char *method;
	const char *ct;
	int	    form; /* body_form = P */
	const char *body;
	const char *authz;
	const char *sig;
	const char *signed_str;
	const char *token;
	const char *token2;
	enum fh_err want;
};

static const struct check_case checks[] = {
    {"form POST", PUB, URI, "POST", FORM_CT, 1, NULL, NULL, V1_SIG, NULL, TOKEN,
	NULL, FH_OK},
    {"missing header", PUB, URI, "POST", FORM_CT, 1, NULL, NULL, NULL, NULL,
	TOKEN, NULL, FH_EAUTH},
    {"empty header", PUB, URI, "POST", FORM_CT, 1, NULL, NULL, "", NULL, TOKEN,
	NULL, FH_EAUTH},
    {"JSON POST without bodySHA256", PUB, URI, "POST", "application/json", 0,
	"{}", NULL, NULL, U, TOKEN, NULL, FH_EAUTH},
    {"JSON POST V13", PUB, URI "&bodySHA256=" V13_SHA, "POST",
	"application/json", 0, V13_BODY, NULL,
	"a9nBmqA0ju/hNViExpshrM61xv4=", NULL, TOKEN, NULL, FH_OK},
    {"JSON POST V14", PUB, URI "&bodySHA256=" V14_SHA, "POST",
	"application/json", 0, "{}", NULL, "Ldidvp12m26NI7eqEvxnEpkd9Hc=", NULL,
	TOKEN, NULL, FH_OK},
    {"V14, other body", PUB, URI "&bodySHA256=" V14_SHA, "POST",
	"application/json", 0, "{ }", NULL,
	"Ldidvp12m26NI7eqEvxnEpkd9Hc=", NULL, TOKEN, NULL, FH_EAUTH},
    {"V14, form params ignored", PUB, URI "&bodySHA256=" V14_SHA, "POST",
	FORM_CT, 1, "{}", NULL, "Ldidvp12m26NI7eqEvxnEpkd9Hc=", NULL, TOKEN,
	NULL, FH_OK},
    {"GET URL mode", PUB, URI, "GET", NULL, 0, NULL, NULL, NULL, U, TOKEN, NULL,
	FH_OK},
    {"GET ignores a body form", PUB, URI, "GET", NULL, 1, NULL, NULL, NULL, U,
	TOKEN, NULL, FH_OK},
    {"GET signed with params", PUB, URI, "GET", NULL, 1, NULL, NULL, V1_SIG,
	NULL, TOKEN, NULL, FH_EAUTH},
    {"GET :443 candidate", PUB, URI, "GET", NULL, 0, NULL, NULL, NULL,
	"https://mycompany.com:443" URI, TOKEN, NULL, FH_OK},
    {"HEAD URL mode", PUB, URI, "HEAD", NULL, 0, NULL, NULL, NULL, U, TOKEN,
	NULL, FH_OK},
    {"GET percent-encoding kept", PUB, "/d?from=%2B15005550006&q=a+b", "GET",
	NULL, 0, NULL, NULL, NULL, PUB "/d?from=%2B15005550006&q=a+b", TOKEN,
	NULL, FH_OK},
    {"GET decoded is not signed", PUB, "/d?from=%2B15005550006", "GET", NULL, 0,
	NULL, NULL, NULL, PUB "/d?from=+15005550006", TOKEN, NULL, FH_EAUTH},
    {"charset parameter", PUB, URI, "POST", FORM_CT "; charset=UTF-8", 1, NULL,
	NULL, V1_SIG, NULL, TOKEN, NULL, FH_OK},
    {"media type case", PUB, URI, "POST",
	"Application/X-WWW-Form-URLEncoded;charset=utf-8", 1, NULL, NULL,
	V1_SIG, NULL, TOKEN, NULL, FH_OK},
    {"media type prefix only", PUB, URI, "POST", FORM_CT "x", 1, NULL, NULL,
	V1_SIG, NULL, TOKEN, NULL, FH_EAUTH},
    {"no content type", PUB, URI, "POST", NULL, 1, NULL, NULL, V1_SIG, NULL,
	TOKEN, NULL, FH_EAUTH},
    {"text/plain POST", PUB, URI, "POST", "text/plain", 1, NULL, NULL, NULL, U,
	TOKEN, NULL, FH_EAUTH},
    {"PUT", PUB, URI, "PUT", FORM_CT, 1, NULL, NULL, V1_SIG, NULL, TOKEN, NULL,
	FH_EAUTH},
    {"lower-case post", PUB, URI, "post", FORM_CT, 1, NULL, NULL, V1_SIG, NULL,
	TOKEN, NULL, FH_EAUTH},
    {"secondary token", PUB, URI, "POST", FORM_CT, 1, NULL, NULL, V1_SIG, NULL,
	"rotated-away", TOKEN, FH_OK},
    {"primary token, secondary set", PUB, URI, "POST", FORM_CT, 1, NULL, NULL,
	V1_SIG, NULL, TOKEN, "other", FH_OK},
    {"empty secondary token", PUB, URI, "POST", FORM_CT, 1, NULL, NULL, V1_SIG,
	NULL, "rotated-away", "", FH_EAUTH},
    {"empty primary token", PUB, URI, "POST", FORM_CT, 1, NULL, NULL, V1_SIG,
	NULL, "", TOKEN, FH_EAUTH},
    {"no token", PUB, URI, "POST", FORM_CT, 1, NULL, NULL, V1_SIG, NULL, NULL,
	TOKEN, FH_EAUTH},
    {"wrong Basic creds", PUB, URI, "POST", FORM_CT, 1, NULL,
	"Basic dXNlcjpwYXNzMg==", V7_SIG, NULL, TOKEN, NULL, FH_EAUTH},
    {"other user", PUB, URI, "POST", FORM_CT, 1, NULL,
	"Basic dXNlcjI6cGFzcw==", V7_SIG, NULL, TOKEN, NULL, FH_EAUTH},
    {"Basic creds, plain URL signed", PUB, URI, "POST", FORM_CT, 1, NULL,
	BASIC_UP, V1_SIG, NULL, TOKEN, NULL, FH_OK},
    {"basic scheme lower case", PUB, URI, "POST", FORM_CT, 1, NULL,
	"basic  dXNlcjpwYXNz ", V7_SIG, NULL, TOKEN, NULL, FH_OK},
    {"V7 secondary token", PUB, URI, "POST", FORM_CT, 1, NULL, BASIC_UP, V7_SIG,
	NULL, "x", TOKEN, FH_OK},
    {"V3 public URL with port", "https://mycompany.com:1234", URI, "POST",
	FORM_CT, 1, NULL, NULL, V1_SIG, NULL, TOKEN, NULL, FH_OK},
    {"path prefix", "https://h.example/prefix", "/x?y=1", "GET", NULL, 0, NULL,
	NULL, NULL, "https://h.example/prefix/x?y=1", TOKEN, NULL, FH_OK},
    {"no public URL", NULL, URI, "POST", FORM_CT, 1, NULL, NULL, V1_SIG, NULL,
	TOKEN, NULL, FH_EAUTH},
    {"no request URI", PUB, NULL, "GET", NULL, 0, NULL, NULL, NULL, PUB, TOKEN,
	NULL, FH_EAUTH},
    {"no method", PUB, URI, NULL, FORM_CT, 1, NULL, NULL, V1_SIG, NULL, TOKEN,
	NULL, FH_EAUTH},
};

static enum fh_err
run_check(const struct check_case *c)
{
	struct fh_sig_input in;
	struct fh_form	    f;
	char		    sig[FH_SIG_LEN + 1];
	enum fh_err	    err;

	build_form(&f, P, FH_NITEMS(P));
	memset(&in, 0, sizeof(in));
	in.public_url = c->pub;
	in.request_uri = c->uri;
	in.method = c->method;
	in.content_type = c->ct;
	in.body_form = c->form ? &f : NULL;
	in.body = c->body;
	in.body_len = c->body != NULL ? strlen(c->body) : 0;
	in.authorization = c->authz;
	in.basic_auth = "user:pass";
	in.signature = c->sig;
	if (c->signed_str != NULL) {
		oracle(c->signed_str, strlen(c->signed_str), TOKEN, sig);
		in.signature = sig;
	}
	in.token = c->token;
	in.token2 = c->token2;
	err = fh_sig_check(&in);
	fh_form_release(&f);
	return err;
}

START_TEST(test_check_modes)
{
	ck_assert_msg(
	    run_check(&checks[_i]) == checks[_i].want, "%s", checks[_i].name);
}
END_TEST

START_TEST(test_check_null)
{
	ck_assert_int_eq(fh_sig_check(NULL), FH_EAUTH);
}
END_TEST

/* fh_sig_equal(): length first, then every byte. */
static const struct {
	const char *a;
	size_t	    alen;
	const char *b;
	size_t	    blen;
	int	    want;
} equals[] = {
    {"abc", 3, "abc", 3, 1},
    {"abc", 3, "abd", 3, 0},
    {"abc", 3, "bbc", 3, 0},
    {"abc", 3, "abcd", 4, 0},
    {"abcd", 4, "abc", 3, 0},
    {"abc", 3, "ab", 3, 0}, /* "ab\0" */
    {"", 0, "", 0, 1},
    {NULL, 0, NULL, 0, 1},
    {"a", 1, "", 0, 0},
    {"a", 1, NULL, 1, 0},
    {V1_SIG, FH_SIG_LEN, V1_SIG, FH_SIG_LEN, 1},
    {V1_SIG, FH_SIG_LEN, "rSOYDt4T1cUTdK1PDd93/VVr8B8=", FH_SIG_LEN, 0},
    {V1_SIG, FH_SIG_LEN, V1_SIG "=", FH_SIG_LEN + 1, 0},
};

START_TEST(test_equal)
{
	ck_assert_int_eq(fh_sig_equal(equals[_i].a, equals[_i].alen,
			     equals[_i].b, equals[_i].blen),
	    equals[_i].want);
}
END_TEST

static const struct {
	const char *in;
	const char *want;
} sha256s[] = {
    {"", EMPTY_SHA},
    {"abc",
	"ba7816bf8f01cfea414140de5dae2223"
	"b00361a396177a9cb410ff61f20015ad"},
    {V13_BODY, V13_SHA},
    {"{}", V14_SHA},
};

START_TEST(test_sha256)
{
	char out[65];

	fh_sha256_hex(sha256s[_i].in, strlen(sha256s[_i].in), out);
	ck_assert_str_eq(out, sha256s[_i].want);
}
END_TEST

START_TEST(test_sha256_null)
{
	char out[65];

	fh_sha256_hex(NULL, 0, out);
	ck_assert_str_eq(out, EMPTY_SHA);
}
END_TEST

/* RFC 4648 section 10, and more than one EVP_EncodeBlock() chunk. */
static const struct {
	const char *in;
	const char *want;
} b64s[] = {
    {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    {"user:pass", "dXNlcjpwYXNz"},
    {NULL,
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss"
	"LS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltc"
	"XV5fYGFiYw=="}, /* bytes 0..99 */
};

START_TEST(test_base64)
{
	struct fh_buf b;
	unsigned char bytes[100];
	size_t	      i;
	enum fh_err   err;

	fh_buf_init(&b, 1024);
	ck_assert_int_eq(fh_buf_addstr(&b, ">"), FH_OK);
	if (b64s[_i].in != NULL)
		err = fh_base64(&b, b64s[_i].in, strlen(b64s[_i].in));
	else {
		for (i = 0; i < sizeof(bytes); i++)
			bytes[i] = (unsigned char)i;
		err = fh_base64(&b, bytes, sizeof(bytes));
	}
	ck_assert_int_eq(err, FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b) + 1, b64s[_i].want);
	ck_assert_int_eq(fh_buf_cstr(&b)[0], '>'); /* appended */
	fh_buf_release(&b);
}
END_TEST

/* fh_base64_decode() appends in chunks: every length up to a few chunks
 * decodes back to its bytes after what the buffer held, and a bad
 * character still leaves the bytes decoded before it. */
START_TEST(test_base64_round_trip)
{
	unsigned char bytes[400];
	struct fh_buf enc, dec;
	size_t	      n, i;

	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 7 + 3);
	for (n = 1; n <= sizeof(bytes); n += n < 200 ? 1 : 13) {
		fh_buf_init(&enc, 4096);
		fh_buf_init(&dec, 4096);
		ck_assert_int_eq(fh_base64(&enc, bytes, n), FH_OK);
		ck_assert_int_eq(fh_buf_addch(&dec, '>'), FH_OK);
		ck_assert_int_eq(
		    fh_base64_decode(&dec, enc.data, enc.len), FH_OK);
		ck_assert_uint_eq(dec.len, n + 1);
		ck_assert_int_eq(dec.data[0], '>');
		ck_assert_int_eq(memcmp(dec.data + 1, bytes, n), 0);
		if (enc.len >= 8) {
			/* a bad character in the second group of four */
			enc.data[4] = '*';
			fh_buf_reset(&dec);
			ck_assert_int_eq(
			    fh_base64_decode(&dec, enc.data, enc.len),
			    FH_EINPUT);
			ck_assert_uint_eq(dec.len, 3);
			ck_assert_int_eq(memcmp(dec.data, bytes, 3), 0);
		}
		fh_buf_release(&enc);
		fh_buf_release(&dec);
	}
}
END_TEST

START_TEST(test_base64_cap)
{
	struct fh_buf b;

	/* "foobar" needs 8 bytes; out stays as it was */
	fh_buf_init(&b, 10);
	ck_assert_int_eq(fh_buf_addstr(&b, "abc"), FH_OK);
	ck_assert_int_eq(fh_base64(&b, "foobar", 6), FH_ETOOBIG);
	ck_assert_str_eq(fh_buf_cstr(&b), "abc");
	ck_assert_int_eq(fh_base64(&b, "foo", 3), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b), "abcZm9v");
	fh_buf_release(&b);
}
END_TEST

/*
 * Limits.
 */

/* A URL of len bytes: U's host, then a long path of 'a'. */
static char *
long_url(size_t len)
{
	char *s;

	s = malloc(len + 1);
	ck_assert_ptr_nonnull(s);
	memset(s, 'a', len);
	memcpy(s, "https://mycompany.com/", 22);
	s[len] = '\0';
	return s;
}

START_TEST(test_huge_url)
{
	struct fh_sig_input in;
	char		   *url, sig[FH_SIG_LEN + 1];
	size_t		    len;

	/* fh_sig_validate: fine at the request cap, refused far past it */
	len = FH_SIG_MAX_URL;
	url = long_url(len);
	oracle(url, len, TOKEN, sig);
	ck_assert_int_eq(
	    fh_sig_validate(url, NULL, NULL, 0, sig, TOKEN), FH_OK);
	free(url);
	len = FH_SIG_MAX_URL + FH_SIG_MAX_AUTH + 1024;
	url = long_url(len);
	oracle(url, len, TOKEN, sig);
	ck_assert_int_eq(
	    fh_sig_validate(url, NULL, NULL, 0, sig, TOKEN), FH_EAUTH);
	free(url);
	len = 1024 * 1024;
	url = long_url(len);
	oracle(url, len, TOKEN, sig);
	ck_assert_int_eq(
	    fh_sig_validate(url, NULL, NULL, 0, sig, TOKEN), FH_EAUTH);

	/* fh_sig_check: public URL + request URI up to FH_SIG_MAX_URL */
	memset(&in, 0, sizeof(in));
	in.public_url = "https://mycompany.com";
	in.method = "GET";
	in.signature = sig;
	in.token = TOKEN;
	url[FH_SIG_MAX_URL] = '\0';
	oracle(url, FH_SIG_MAX_URL, TOKEN, sig);
	in.request_uri = url + 21;
	ck_assert_int_eq(fh_sig_check(&in), FH_OK);
	url[FH_SIG_MAX_URL] = 'a';
	url[FH_SIG_MAX_URL + 1] = '\0';
	oracle(url, FH_SIG_MAX_URL + 1, TOKEN, sig);
	ck_assert_int_eq(fh_sig_check(&in), FH_EAUTH);
	free(url);
}
END_TEST

START_TEST(test_empty_params)
{
	struct fh_form f;
	char	       sig[FH_SIG_LEN + 1], out[FH_SIG_LEN + 1];

	fh_form_init(&f);
	oracle(U, strlen(U), TOKEN, sig);
	ck_assert_int_eq(fh_sig_validate(U, &f, NULL, 0, sig, TOKEN), FH_OK);
	ck_assert_int_eq(fh_sig_validate(U, NULL, NULL, 0, sig, TOKEN), FH_OK);
	ck_assert_int_eq(fh_sig_compute(U, &f, TOKEN, out), FH_OK);
	ck_assert_str_eq(out, sig);
	/* an empty URL is still a string that can be signed */
	oracle("", 0, TOKEN, sig);
	ck_assert_int_eq(fh_sig_validate("", &f, NULL, 0, sig, TOKEN), FH_OK);
	/* an empty name with an empty value contributes nothing */
	ck_assert_int_eq(fh_form_push(&f, "", 0, "", 0), FH_OK);
	oracle(U, strlen(U), TOKEN, sig);
	ck_assert_int_eq(fh_sig_validate(U, &f, NULL, 0, sig, TOKEN), FH_OK);
	fh_form_release(&f);
}
END_TEST

START_TEST(test_many_params)
{
	struct fh_form f;
	struct fh_buf  want;
	char	       name[8], value[FH_FIELD_MAX_DEFAULT];
	char	       sig[FH_SIG_LEN + 1];
	int	       i;

	/* 200 pairs (the form cap) of the largest value, pushed backwards */
	fh_form_init(&f);
	fh_buf_init(&want, 4 * 1024 * 1024);
	memset(value, 'v', sizeof(value));
	ck_assert_int_eq(fh_buf_addstr(&want, U), FH_OK);
	for (i = 0; i < FH_FORM_MAX_PAIRS; i++) {
		name[0] = 'p';
		name[1] = (char)('0' + i / 100);
		name[2] = (char)('0' + i / 10 % 10);
		name[3] = (char)('0' + i % 10);
		ck_assert_int_eq(fh_buf_add(&want, name, 4), FH_OK);
		ck_assert_int_eq(
		    fh_buf_add(&want, value, sizeof(value)), FH_OK);
	}
	for (i = FH_FORM_MAX_PAIRS - 1; i >= 0; i--) {
		name[0] = 'p';
		name[1] = (char)('0' + i / 100);
		name[2] = (char)('0' + i / 10 % 10);
		name[3] = (char)('0' + i % 10);
		ck_assert_int_eq(
		    fh_form_push(&f, name, 4, value, sizeof(value)), FH_OK);
	}
	ck_assert_int_eq(fh_form_push(&f, "x", 1, "", 0), FH_ETOOBIG);
	oracle(fh_buf_cstr(&want), want.len, TOKEN, sig);
	ck_assert_int_eq(fh_sig_validate(U, &f, NULL, 0, sig, TOKEN), FH_OK);
	f.pairs[FH_FORM_MAX_PAIRS - 1].value[0] = 'w';
	ck_assert_int_eq(fh_sig_validate(U, &f, NULL, 0, sig, TOKEN), FH_EAUTH);
	fh_form_release(&f);
	fh_buf_release(&want);

	/* 200 copies of one pair sign as one */
	fh_form_init(&f);
	for (i = 0; i < FH_FORM_MAX_PAIRS; i++)
		ck_assert_int_eq(
		    fh_form_push(&f, "Digits", 6, "1234", 4), FH_OK);
	oracle(U "Digits1234", strlen(U "Digits1234"), TOKEN, sig);
	ck_assert_int_eq(fh_sig_validate(U, &f, NULL, 0, sig, TOKEN), FH_OK);
	fh_form_release(&f);
}
END_TEST

static const char *const bad_sigs[] = {
    "",
    "RSOYDt4T1cUTdK1PDd93/VVr8B8", /* 27 */
    V1_SIG "=",			   /* 29 */
    V1_SIG "\n",
    (" " V1_SIG),
    "RSOYDt4T1cUTdK1PDd93/VVr8B8=RSOYDt4T1cUTdK1PDd93/VVr8B8=",
    "RSOYDt4T1cUTdK1PDd93/VVr8B9=", /* right length, wrong */
    "rsoydt4t1cutdk1pdd93/vvr8b8=",
};

START_TEST(test_bad_sig)
{
	struct fh_form	    f;
	struct fh_sig_input in;

	build_form(&f, P, FH_NITEMS(P));
	ck_assert_int_eq(
	    fh_sig_validate(U, &f, NULL, 0, bad_sigs[_i], TOKEN), FH_EAUTH);
	memset(&in, 0, sizeof(in));
	in.public_url = PUB;
	in.request_uri = URI;
	in.method = "POST";
	in.content_type = FORM_CT;
	in.body_form = &f;
	in.signature = bad_sigs[_i];
	in.token = TOKEN;
	ck_assert_int_eq(fh_sig_check(&in), FH_EAUTH);
	fh_form_release(&f);
}
END_TEST

START_TEST(test_validate_null)
{
	struct fh_form f;

	build_form(&f, P, FH_NITEMS(P));
	ck_assert_int_eq(
	    fh_sig_validate(NULL, &f, NULL, 0, V1_SIG, TOKEN), FH_EAUTH);
	ck_assert_int_eq(
	    fh_sig_validate(U, &f, NULL, 0, NULL, TOKEN), FH_EAUTH);
	ck_assert_int_eq(
	    fh_sig_validate(U, &f, NULL, 0, V1_SIG, NULL), FH_EAUTH);
	ck_assert_int_eq(fh_sig_validate(U, &f, NULL, 0, V1_SIG, ""), FH_EAUTH);
	fh_form_release(&f);
}
END_TEST

/*
 * A garbage Authorization header adds no candidate: a request signed over
 * the plain URL still passes, one signed with userinfo does not.
 */
static const char *const bad_authz[] = {
    "",
    "Basic",
    "Basic ",
    "Basic !!!!",
    "Basic dXNlcg==",	   /* "user": no colon */
    "Basic OnBhc3M=",	   /* ":pass": no user */
    "Basic dXNlcjpwYXNz=", /* not a multiple of 4 */
    "Basic dXNlcjpwYXN",   /* unpadded */
    "Basic dXNl=cjpwYXNz", /* '=' inside */
    "Basic dXNlcjpw YXNz", /* space inside */
    "Basic ====",
    "Basic dXNlcgA6cGFzcw==", /* "user\0:pass" */
    "BasicdXNlcjpwYXNz",
    "Bearer dXNlcjpwYXNz",
    "Digest username=\"user\"",
    "\xff\xfe\xfd",
};

START_TEST(test_bad_authz)
{
	struct fh_form	    f;
	struct fh_sig_input in;

	build_form(&f, P, FH_NITEMS(P));
	memset(&in, 0, sizeof(in));
	in.public_url = PUB;
	in.request_uri = URI;
	in.method = "POST";
	in.content_type = FORM_CT;
	in.body_form = &f;
	in.authorization = bad_authz[_i];
	in.token = TOKEN;
	in.signature = V1_SIG;
	ck_assert_int_eq(fh_sig_check(&in), FH_OK);
	in.signature = V7_SIG;
	ck_assert_int_eq(fh_sig_check(&in), FH_EAUTH);
	fh_form_release(&f);
}
END_TEST

START_TEST(test_long_authz)
{
	struct fh_form	    f;
	struct fh_sig_input in;
	char		   *h;
	size_t		    len = 64 * 1024;

	/* over FH_SIG_MAX_AUTH: ignored, never decoded */
	h = malloc(len + 1);
	ck_assert_ptr_nonnull(h);
	memcpy(h, "Basic ", 6);
	memset(h + 6, 'A', len - 6);
	memcpy(h + 6, "dXNlcjpwYXNz", 12);
	h[len] = '\0';
	build_form(&f, P, FH_NITEMS(P));
	memset(&in, 0, sizeof(in));
	in.public_url = PUB;
	in.request_uri = URI;
	in.method = "POST";
	in.content_type = FORM_CT;
	in.body_form = &f;
	in.authorization = h;
	in.token = TOKEN;
	in.signature = V1_SIG;
	ck_assert_int_eq(fh_sig_check(&in), FH_OK);
	in.signature = V7_SIG;
	ck_assert_int_eq(fh_sig_check(&in), FH_EAUTH);
	fh_form_release(&f);
	free(h);
}
END_TEST

/*
 * bodySHA256 edge cases through fh_sig_validate(): the URL is signed by the
 * oracle, so only the hash check or the mode decides.
 */
static const struct {
	const char *url;
	const char *body; /* NULL: no body */
	size_t	    body_len;
	enum fh_err want;
} bodies[] = {
    {U "&bodySHA256=" V14_SHA, "{}", 2, FH_OK},
    {U "&bodySHA256="
       "44136FA355B3678A1146AD16F7E8649E94FB4FC21FE77E8310C060F61CAAFF8A",
	"{}", 2, FH_OK},
    {U "&bodySHA256=" EMPTY_SHA, NULL, 0, FH_OK},
    {U "&bodySHA256=" EMPTY_SHA, "", 0, FH_OK},
    {U "&bodySHA256=" V14_SHA, NULL, 0, FH_EAUTH},
    {U "&bodySHA256=" V14_SHA, "{}", 1, FH_EAUTH},
    {U "&bodySHA256=" V14_SHA "0", "{}", 2, FH_EAUTH},
    {U "&bodySHA256="
       "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8",
	"{}", 2, FH_EAUTH},
    {U "&bodySHA256="
       "g4136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
	"{}", 2, FH_EAUTH},
    {U "&bodySHA256=", "", 0, FH_EAUTH},
    {U "&bodySHA256", "", 0, FH_EAUTH},
    /* the first one counts */
    {U "&bodySHA256=" V14_SHA "&bodySHA256=" EMPTY_SHA, "{}", 2, FH_OK},
    {U "&bodySHA256=" EMPTY_SHA "&bodySHA256=" V14_SHA, "{}", 2, FH_EAUTH},
    /* not the parameter: URL mode */
    {U "&xbodySHA256=" V14_SHA, "{}", 2, FH_OK},
    {U "&bodysha256=" V14_SHA, "{}", 2, FH_OK},
    {U "#bodySHA256=" EMPTY_SHA, "{}", 2, FH_OK},
    {"https://mycompany.com/bodySHA256=" EMPTY_SHA, "{}", 2, FH_OK},
};

START_TEST(test_body_sha)
{
	char sig[FH_SIG_LEN + 1];

	oracle(bodies[_i].url, strlen(bodies[_i].url), TOKEN, sig);
	ck_assert_msg(fh_sig_validate(bodies[_i].url, NULL, bodies[_i].body,
			  bodies[_i].body_len, sig, TOKEN) == bodies[_i].want,
	    "case %d", _i);
}
END_TEST

/*
 * Port candidates: given the URL on the left, a signature over the URL on
 * the right passes or fails.
 */
static const struct {
	const char *given;
	const char *signed_url;
	enum fh_err want;
} ports[] = {
    {"https://h/x", "https://h/x", FH_OK},
    {"https://h/x", "https://h:443/x", FH_OK},
    {"https://h/x", "https://h:80/x", FH_EAUTH},
    {"http://h/x", "http://h:80/x", FH_OK},
    {"HTTPS://h/x", "HTTPS://h:443/x", FH_OK},
    {"https://h:8443/x", "https://h/x", FH_OK},
    {"https://h:8443/x", "https://h:443/x", FH_EAUTH},
    {"https://h", "https://h:443", FH_OK},
    {"https://h?a=b:c", "https://h:443?a=b:c", FH_OK},
    {"https://h:1/x:2", "https://h/x:2", FH_OK},
    {"https://u:p@h/x", "https://u:p@h:443/x", FH_OK},
    {"https://u:p@h/x", "https://u:p:443@h/x", FH_EAUTH},
    {"https://u:p@h:9/x", "https://u:p@h/x", FH_OK},
    {"https://u:p@h:9/x", "https://u@h:9/x", FH_EAUTH},
    {"https://[::1]/x", "https://[::1]:443/x", FH_OK},
    {"https://[::1]:8443/x", "https://[::1]/x", FH_OK},
    {"https://[::1/x", "https://[::1/x", FH_OK},
    {"ftp://h/x", "ftp://h:80/x", FH_EAUTH},
    {"ftp://h:21/x", "ftp://h/x", FH_OK},
    {"h:443/x", "h/x", FH_EAUTH},
    {"://h:443/x", "://h/x", FH_EAUTH},
    {"https://h:/x", "https://h/x", FH_OK},
};

START_TEST(test_ports)
{
	char sig[FH_SIG_LEN + 1];

	oracle(ports[_i].signed_url, strlen(ports[_i].signed_url), TOKEN, sig);
	ck_assert_msg(fh_sig_validate(ports[_i].given, NULL, NULL, 0, sig,
			  TOKEN) == ports[_i].want,
	    "%s signed as %s", ports[_i].given, ports[_i].signed_url);
}
END_TEST

static Suite *
sig_suite(void)
{
	Suite *s;
	TCase *core, *limits;

	s = suite_create("sig");
	core = tcase_create("core");
	tcase_add_loop_test(core, test_vectors, 0, FH_NITEMS(vecs));
	tcase_add_loop_test(
	    core, test_mutations, 0, FH_NITEMS(vecs) * MUT__MAX);
	tcase_add_test(core, test_signed_string);
	tcase_add_test(core, test_compute);
	tcase_add_loop_test(core, test_order, 0, FH_NITEMS(orders));
	tcase_add_test(core, test_order_nul);
	tcase_add_loop_test(
	    core, test_check_v789, 0, FH_NITEMS(v789) * RQ__MAX);
	tcase_add_loop_test(core, test_check_modes, 0, FH_NITEMS(checks));
	tcase_add_loop_test(core, test_equal, 0, FH_NITEMS(equals));
	tcase_add_loop_test(core, test_sha256, 0, FH_NITEMS(sha256s));
	tcase_add_loop_test(core, test_base64, 0, FH_NITEMS(b64s));
	tcase_add_loop_test(core, test_ports, 0, FH_NITEMS(ports));
	tcase_add_loop_test(core, test_body_sha, 0, FH_NITEMS(bodies));
	suite_add_tcase(s, core);

	limits = tcase_create("limits");
	tcase_set_timeout(limits, 30);
	tcase_add_test(limits, test_huge_url);
	tcase_add_test(limits, test_empty_params);
	tcase_add_test(limits, test_many_params);
	tcase_add_loop_test(limits, test_bad_sig, 0, FH_NITEMS(bad_sigs));
	tcase_add_loop_test(limits, test_bad_authz, 0, FH_NITEMS(bad_authz));
	tcase_add_test(limits, test_long_authz);
	tcase_add_test(limits, test_validate_null);
	tcase_add_test(limits, test_check_null);
	tcase_add_test(limits, test_sha256_null);
	tcase_add_test(limits, test_base64_cap);
	tcase_add_test(limits, test_base64_round_trip);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(sig_suite)
