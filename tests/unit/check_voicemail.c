/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_voicemail.c - the parts of fetch-voicemail and delete-voicemail
 * that need no network: the raw-mode decision, the JSON answer, the SIDs a
 * task names, the isDeleted edit, and the field checks of both handlers
 * (which answer before any REST call).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/fcgi.h"
#include "fh_check.h"
#include "lib/json.h"
#include "handlers/voicemail.h"

static struct fh_config cfg;
static struct fh_ctx	ctx;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	cfg.cors_origins = (char *)"*";
	cfg.account_sid = (char *)"AC0123456789abcdef0123456789abcdef";
	cfg.workspace_sid = (char *)"WS0123456789abcdef0123456789abcdef";
	ctx.cfg = &cfg;
	ctx.prog = "test";
	ctx.rest = NULL; /* a handler that reaches REST crashes */
	fh_log_init(&ctx.log, "test", -1); /* silent */
}

/* ------------------------------------------------------------ raw mode */

struct rcase {
	const char *format, *accept;
	int	    raw;
};

static const struct rcase rcases[] = {
    {NULL, NULL, 0},
    {"raw", NULL, 1},
    {"json", NULL, 0},
    {NULL, "audio/mpeg", 1},
    {NULL, "AUDIO/MPEG", 1},
    {NULL, "audio/*", 1},
    {NULL, "text/html, audio/mpeg;q=0.5", 1},
    {NULL, "application/json,audio/*", 1},
    {NULL, " audio/mpeg ", 1},
    {NULL, "audio/mpeg ; q=0.9 ; x=y", 1},
    {"raw", "application/json", 1},
    /* an explicit format wins over the header */
    {"json", "audio/mpeg", 0},
    {NULL, "audio/*;q=0, audio/mpeg", 1},
    {NULL, "audio/mpeg;q=0.001", 1},
};

static const struct rcase rlimits[] = {
    {NULL, "", 0},
    {NULL, ",,,", 0},
    {NULL, "*/*", 0},
    {NULL, "audio/wav", 0},
    {NULL, "audio/mpegx", 0},
    {NULL, "xaudio/mpeg", 0},
    {NULL, "audio/mp", 0},
    {NULL, "audio", 0},
    {NULL, "audio/mpeg;q=0", 0},
    /* parameters measured from the element, not from its trimmed start */
    {NULL, "audio/webm, audio/mpeg;q=0", 0},
    {NULL, "text/html,  audio/mpeg;q=0", 0},
    {NULL, "text/html,   audio/*; q=0.000", 0},
    {NULL, "audio/mpeg; Q=0.000", 0},
    {NULL, "audio/*;q=0", 0},
    {NULL, "application/json", 0},
    {NULL, "audio/mpeg\t;q=0.0,text/plain", 0},
    {"", "audio/mpeg", 0},
    {"RAW", NULL, 0},
};

START_TEST(test_want_raw)
{
	const struct rcase *c = &rcases[_i];

	ck_assert_msg(fh_voicemail_want_raw(c->format, c->accept) == c->raw,
	    "case %d: format %s accept %s", _i, c->format ? c->format : "-",
	    c->accept ? c->accept : "-");
}
END_TEST

START_TEST(test_want_raw_limits)
{
	const struct rcase *c = &rlimits[_i];

	ck_assert_msg(fh_voicemail_want_raw(c->format, c->accept) == c->raw,
	    "limit %d: format %s accept %s", _i, c->format ? c->format : "-",
	    c->accept ? c->accept : "-");
}
END_TEST

/* ------------------------------------------------------------ JSON answer */

/* {"recording":<b64>,"type":<type>} for n bytes of i % 251, checked against
 * a one-shot encoding of the same bytes. */
static void
check_json(size_t n, const char *type, const char *want_body)
{
	struct fh_resp resp;
	struct fh_buf  audio, want;
	unsigned char *enc;
	size_t	       i;
	int	       m;

	fh_resp_init(&resp);
	fh_buf_init(&audio, n);
	fh_buf_init(&want, n * 2 + 256);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(fh_buf_addch(&audio, (char)(i % 251)), FH_OK);
	enc = malloc((n + 2) / 3 * 4 + 1);
	ck_assert_ptr_nonnull(enc);
	m = EVP_EncodeBlock(
	    enc, (const unsigned char *)fh_buf_cstr(&audio), (int)n);
	ck_assert_int_eq(m, (int)((n + 2) / 3 * 4));
	ck_assert_int_eq(fh_buf_printf(&want,
			     "{\"recording\":\"%s\","
			     "\"type\":\"%s\"}",
			     enc, type),
	    FH_OK);

	ck_assert_int_eq(fh_voicemail_json(&resp, &audio, type), FH_OK);
	/* the bytes are gone once encoded */
	ck_assert_ptr_null(audio.data);
	ck_assert_uint_eq(audio.len, 0);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, "application/json");
	ck_assert_str_eq(
	    fh_resp_get_header(&resp, "Cache-Control"), "no-store");
	ck_assert_uint_eq(resp.body.len, want.len);
	ck_assert(memcmp(resp.body.data, want.data, want.len) == 0);
	if (want_body != NULL)
		ck_assert_str_eq(fh_buf_cstr(&resp.body), want_body);
	free(enc);
	fh_buf_release(&want);
	fh_buf_release(&audio);
	fh_resp_release(&resp);
}

START_TEST(test_json_small)
{
	/* "audio/mpeg": no "\/" in the type */
	check_json(3, "audio/mpeg",
	    "{\"recording\":\"AAEC\",\"type\":\"audio/mpeg\"}");
	check_json(1, "audio/mpeg",
	    "{\"recording\":\"AA==\",\"type\":\"audio/mpeg\"}");
	check_json(2, "audio/x-wav",
	    "{\"recording\":\"AAE=\",\"type\":\"audio/x-wav\"}");
	check_json(4, "audio/mpeg", NULL);
}
END_TEST

/* Several encoding steps, a length that is not a multiple of 3, and one
 * that is: the steps must join without padding in the middle. */
START_TEST(test_json_large)
{
	check_json(100000, "audio/mpeg", NULL);
	check_json(3 * 49152 + 3, "audio/mpeg", NULL);
	check_json(2400000 + 1, "audio/mpeg", NULL);
}
END_TEST

START_TEST(test_json_empty)
{
	check_json(
	    0, "audio/mpeg", "{\"recording\":\"\",\"type\":\"audio/mpeg\"}");
}
END_TEST

/* A type with characters JSON must escape is escaped, never copied. */
START_TEST(test_json_type_escaped)
{
	struct fh_resp resp;
	struct fh_buf  audio;

	fh_resp_init(&resp);
	fh_buf_init(&audio, 16);
	ck_assert_int_eq(fh_buf_addstr(&audio, "abc"), FH_OK);
	ck_assert_int_eq(
	    fh_voicemail_json(&resp, &audio, "audio/mpeg; x=\"1\\2\""), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&resp.body),
	    "{\"recording\":\"YWJj\","
	    "\"type\":\"audio/mpeg; x=\\\"1\\\\2\\\"\"}");
	fh_buf_release(&audio);
	fh_resp_release(&resp);
}
END_TEST

/* ------------------------------------------------------------ task SIDs */

#define RE1 "RE0123456789abcdef0123456789abcdef"
#define TR1 "TR0123456789abcdef0123456789abcdef"

struct scase {
	const char *attrs;
	enum fh_err err;
	const char *rec, *tr;
};

static const struct scase scases[] = {
    {"{\"callBackData\":{\"recordingSid\":\"" RE1 "\"}}", FH_OK, RE1, NULL},
    {"{\"callBackData\":{\"recordingSid\":\"" RE1 "\",\"transcriptSid\":"
     "\"" TR1 "\"}}",
	FH_OK, RE1, TR1},
    {"{\"taskType\":\"callback\",\"callBackData\":{\"numberToCall\":"
     "\"+15555550123\"}}",
	FH_ECONFLICT, NULL, NULL},
    /* a transcript SID that is not one is not deleted */
    {"{\"callBackData\":{\"recordingSid\":\"" RE1 "\",\"transcriptSid\":"
     "\"https://x.example/\"}}",
	FH_OK, RE1, NULL},
    {"{\"callBackData\":{\"recordingSid\":\"" RE1 "\",\"transcriptSid\":"
     "\"\"}}",
	FH_OK, RE1, NULL},
};

static const struct scase slimits[] = {
    {"{}", FH_ECONFLICT, NULL, NULL},
    {"[]", FH_ECONFLICT, NULL, NULL},
    {"{\"callBackData\":\"x\"}", FH_ECONFLICT, NULL, NULL},
    {"{\"callBackData\":{\"recordingSid\":\"\"}}", FH_ECONFLICT, NULL, NULL},
    {"{\"callBackData\":{\"recordingSid\":7}}", FH_ECONFLICT, NULL, NULL},
    /* never a path segment that is not a SID */
    {"{\"callBackData\":{\"recordingSid\":\"../Calls/CA0123456789abcdef"
     "0123456789abcd\"}}",
	FH_ECONFLICT, NULL, NULL},
    {"{\"callBackData\":{\"recordingSid\":\"" TR1 "\"}}", FH_ECONFLICT, NULL,
	NULL},
    {"{\"callBackData\":{\"recordingSid\":\"" RE1 "0\"}}", FH_ECONFLICT, NULL,
	NULL},
    {"{\"callBackData\":{\"recordingSid\":\"https://api.twilio.com/2010"
     "-04-01/Accounts/AC1/Recordings/" RE1 "\"}}",
	FH_ECONFLICT, NULL, NULL},
};

static void
check_sids(const struct scase *c, int i)
{
	struct json_object *attrs = NULL;
	const char	   *rec = "x", *tr = "x";

	ck_assert_int_eq(
	    fh_json_parse(c->attrs, strlen(c->attrs), &attrs), FH_OK);
	ck_assert_msg(
	    fh_voicemail_task_sids(attrs, &rec, &tr) == c->err, "case %d", i);
	if (c->rec == NULL)
		ck_assert_ptr_null(rec);
	else
		ck_assert_str_eq(rec, c->rec);
	if (c->tr == NULL)
		ck_assert_ptr_null(tr);
	else
		ck_assert_str_eq(tr, c->tr);
	json_object_put(attrs);
}

START_TEST(test_sids)
{
	check_sids(&scases[_i], _i);
}
END_TEST

START_TEST(test_sids_limits)
{
	check_sids(&slimits[_i], _i);
}
END_TEST

/* ------------------------------------------------------------ isDeleted */

struct mcase {
	const char *in;
	enum fh_err err;
	int	    changed;
	const char *out; /* the attributes afterwards */
};

static const struct mcase mcases[] = {
    {"{\"taskType\":\"voicemail\",\"callBackData\":{\"recordingSid\":"
     "\"" RE1 "\",\"transcriptText\":\"call me\",\"isDeleted\":false,"
     "\"attempts\":0},\"direction\":\"inbound\"}",
	FH_OK, 1,
	"{\"taskType\":\"voicemail\",\"callBackData\":{\"recordingSid\":"
	"\"" RE1 "\",\"isDeleted\":true,\"attempts\":0},\"direction\":"
	"\"inbound\"}"},
    /* a missing flag is appended */
    {"{\"callBackData\":{\"recordingSid\":\"" RE1 "\"}}", FH_OK, 1,
	"{\"callBackData\":{\"recordingSid\":\"" RE1 "\",\"isDeleted\":"
	"true}}"},
    /* already deleted: nothing changes, a late text stays (step 5) */
    {"{\"callBackData\":{\"isDeleted\":true,\"transcriptText\":\"t\"}}", FH_OK,
	0, "{\"callBackData\":{\"isDeleted\":true,\"transcriptText\":\"t\"}}"},
    /* legacy strings: "true" reads as true, "false" as false */
    {"{\"callBackData\":{\"isDeleted\":\"true\"}}", FH_OK, 0,
	"{\"callBackData\":{\"isDeleted\":\"true\"}}"},
    {"{\"callBackData\":{\"isDeleted\":\"false\",\"transcriptText\":"
     "\"\"}}",
	FH_OK, 1, "{\"callBackData\":{\"isDeleted\":true}}"},
};

static const struct mcase mlimits[] = {
    {"{}", FH_ECONFLICT, 0, "{}"},
    {"{\"callBackData\":null}", FH_ECONFLICT, 0, "{\"callBackData\":null}"},
    {"{\"callBackData\":[1]}", FH_ECONFLICT, 0, "{\"callBackData\":[1]}"},
    /* any other type is not true */
    {"{\"callBackData\":{\"isDeleted\":1}}", FH_OK, 1,
	"{\"callBackData\":{\"isDeleted\":true}}"},
    {"{\"callBackData\":{\"isDeleted\":null}}", FH_OK, 1,
	"{\"callBackData\":{\"isDeleted\":true}}"},
};

static void
check_mark(const struct mcase *c, int i)
{
	struct json_object *attrs = NULL;
	int		    changed = -1;

	ck_assert_int_eq(fh_json_parse(c->in, strlen(c->in), &attrs), FH_OK);
	ck_assert_msg(
	    fh_voicemail_mark_deleted(attrs, &changed) == c->err, "case %d", i);
	ck_assert_int_eq(changed, c->changed);
	ck_assert_str_eq(fh_json_text(attrs), c->out);
	json_object_put(attrs);
}

START_TEST(test_mark)
{
	check_mark(&mcases[_i], _i);
}
END_TEST

START_TEST(test_mark_limits)
{
	check_mark(&mlimits[_i], _i);
}
END_TEST

/* ------------------------------------------------------------ fields */

static const struct fh_route routes[] = {
    {"/fetch", FH_AUTH_PUBLIC, FH_ALLOW_POST, fh_handle_fetch_voicemail},
    {"/delete", FH_AUTH_PUBLIC, FH_ALLOW_POST, fh_handle_delete_voicemail},
};

struct fcase {
	const char *uri, *ctype, *body, *message;
};

#define ERR(m) \
	"{\"success\":false,\"message\":\"" m "\",\"code\":null," \
	"\"more_info\":null}"

static const struct fcase fcases[] = {
    {"/fetch", "application/x-www-form-urlencoded", "Token=x",
	ERR("missing recordingSid")},
    {"/fetch", "application/x-www-form-urlencoded", "recordingSid=RE0123",
	ERR("invalid recordingSid")},
    {"/fetch", "application/x-www-form-urlencoded", "recordingSid=" TR1,
	ERR("invalid recordingSid")},
    /* a URL is never fetched: it is not a SID */
    {"/fetch", "application/x-www-form-urlencoded",
	"recordingSid=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2F"
	"Accounts%2FAC0123456789abcdef0123456789abcdef%2FRecordings%2F" RE1,
	ERR("invalid recordingSid")},
    {"/fetch", "application/x-www-form-urlencoded", "RecordingSid=" RE1 "x",
	ERR("invalid recordingSid")},
    {"/fetch", "application/json", "{\"recordingSid\":\"" RE1 "\\u0000\"}",
	ERR("invalid recordingSid")},
    {"/fetch", "application/x-www-form-urlencoded",
	"recordingSid=" RE1 "&format=xml", ERR("invalid format")},
    {"/fetch?format=JSON", "application/x-www-form-urlencoded",
	"recordingSid=" RE1, ERR("invalid format")},
    {"/delete", "application/x-www-form-urlencoded", "Token=x",
	ERR("missing taskSid")},
    {"/delete", "application/x-www-form-urlencoded", "taskSid=" RE1,
	ERR("invalid taskSid")},
    {"/delete", "application/json", "{\"taskSid\":12}", ERR("invalid taskSid")},
};

START_TEST(test_fields)
{
	const struct fcase *c = &fcases[_i];
	struct fh_req	    req;
	struct fh_resp	    resp;
	char		    m[] = "REQUEST_METHOD=POST", u[256], ct[128];
	char		   *envp[4] = {m, u, ct, NULL};

	snprintf(u, sizeof(u), "REQUEST_URI=%s", c->uri);
	snprintf(ct, sizeof(ct), "CONTENT_TYPE=%s", c->ctype);
	fh_req_init(&req);
	fh_resp_init(&resp);
	ck_assert_int_eq(
	    fh_req_parse(&req, envp, c->body, strlen(c->body)), FH_OK);
	ck_assert_int_eq(
	    fh_dispatch(&ctx, routes, FH_NITEMS(routes), &req, &resp),
	    FH_EINPUT);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_str_eq(fh_buf_cstr(&resp.body), c->message);
	fh_resp_release(&resp);
	fh_req_release(&req);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("voicemail");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, NULL);
	tcase_add_checked_fixture(limits, setup, NULL);
	tcase_set_timeout(core, 30);
	tcase_add_loop_test(core, test_want_raw, 0, FH_NITEMS(rcases));
	tcase_add_test(core, test_json_small);
	tcase_add_test(core, test_json_large);
	tcase_add_test(core, test_json_type_escaped);
	tcase_add_loop_test(core, test_sids, 0, FH_NITEMS(scases));
	tcase_add_loop_test(core, test_mark, 0, FH_NITEMS(mcases));
	tcase_add_loop_test(
	    limits, test_want_raw_limits, 0, FH_NITEMS(rlimits));
	tcase_add_test(limits, test_json_empty);
	tcase_add_loop_test(limits, test_sids_limits, 0, FH_NITEMS(slimits));
	tcase_add_loop_test(limits, test_mark_limits, 0, FH_NITEMS(mlimits));
	tcase_add_loop_test(limits, test_fields, 0, FH_NITEMS(fcases));
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
