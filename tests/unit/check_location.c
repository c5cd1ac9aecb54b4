/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_location.c - the locations file (parse, validate, reload) and
 * /location-lookup against golden JSON (tests/golden/location-lookup),
 * with tests/fixtures/locations.json.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fh_check.h"
#include "fh_golden.h"
#include "flex/locations.h"
#include "lib/json.h"
#include "handlers/location.h"

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "tests/fixtures"
#endif
#define FIXTURE FIXTURE_DIR "/locations.json"
#define FORM "application/x-www-form-urlencoded"

static struct fh_config cfg;
static struct fh_ctx	ctx;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	cfg.locations_file = (char *)FIXTURE;
	ctx.cfg = &cfg;
	ctx.prog = "test";
	fh_log_init(&ctx.log, "test", -1); /* silent */
}

static void
teardown(void)
{
	fh_location_release();
}

struct hcase {
	const char *golden;
	int	    status;
	const char *method, *uri, *ctype, *body;
};

static const struct hcase hcases[] = {
    {"called.json", 200, "POST", "/location-lookup", FORM,
	"Called=%2B14155550100&To=%2B19999999999"},
    {"location-wins.json", 200, "POST",
	"/location-lookup?location="
	"pacific-health",
	FORM, "Called=%2B14155550100"},
    {"to-trimmed.json", 200, "GET",
	"/location-lookup?To=+%2B14155550100"
	"%09",
	NULL, NULL},
    {"json-body.json", 200, "POST", "/location-lookup", "application/json",
	"{\"location\":\"pacific-health\"}"},
    {"escaped.json", 200, "GET", "/location-lookup?Called=%2B14155550199", NULL,
	NULL},
    {"blank-location-falls-back.json", 200, "GET",
	"/location-lookup?location=%20&Called=pacific-health", NULL, NULL},
    {"unknown.json", 404, "GET", "/location-lookup?Called=%2B1415555", NULL,
	NULL},
    {"unknown-case.json", 404, "GET",
	"/location-lookup?location="
	"Pacific-Health",
	NULL, NULL},
    {"missing-key.json", 400, "POST", "/location-lookup", FORM,
	"From=%2B14155550100"},
    {"blank-key.json", 400, "GET", "/location-lookup?location=+&To=", NULL,
	NULL},
};

START_TEST(test_golden)
{
	const struct hcase *c = &hcases[_i];
	struct fh_req	    req;
	struct fh_resp	    resp;
	enum fh_err	    err;

	fh_test_req(&req, c->method, c->uri, c->ctype, c->body, NULL);
	fh_resp_init(&resp);
	err = fh_handle_location_lookup(&ctx, &req, &resp);
	ck_assert_int_eq(err == FH_OK, c->status == 200);
	ck_assert_int_eq(resp.status, c->status);
	ck_assert_str_eq(resp.content_type, "application/json");
	fh_test_golden(
	    "location-lookup", c->golden, resp.body.data, resp.body.len);
	fh_resp_release(&resp);
	fh_req_release(&req);
}
END_TEST

#ifndef EXAMPLE_LOCATIONS
#define EXAMPLE_LOCATIONS "deploy/locations.example.json"
#endif

/* The example the package ships (deploy/local.sh run uses it) loads and
 * answers for its line and its name. */
START_TEST(test_example_file)
{
	struct fh_req  req;
	struct fh_resp resp;
	const char    *uris[] = {"/location-lookup?Called=%2B14155550100",
	       "/location-lookup?location=pacific-health"};
	size_t	       i;

	cfg.locations_file = (char *)EXAMPLE_LOCATIONS;
	for (i = 0; i < FH_NITEMS(uris); i++) {
		fh_test_req(&req, "GET", uris[i], NULL, NULL, NULL);
		fh_resp_init(&resp);
		ck_assert_int_eq(
		    fh_handle_location_lookup(&ctx, &req, &resp), FH_OK);
		ck_assert_int_eq(resp.status, 200);
		ck_assert_str_eq(fh_buf_cstr(&resp.body),
		    "{\"location\":"
		    "\"Pacific Health\",\"locationId\":\"12345\","
		    "\"locationPhone\":\"+14155550123\"}");
		fh_resp_release(&resp);
		fh_req_release(&req);
	}
}
END_TEST

/* Unset, missing and invalid files answer 503 with the fixed body. */
static const char *const unavailable[] = {
    NULL,
    FIXTURE_DIR "/no-such-file.json",
    FIXTURE_DIR,
};

START_TEST(test_unavailable)
{
	struct fh_req  req;
	struct fh_resp resp;

	cfg.locations_file = (char *)unavailable[_i];
	fh_test_req(&req, "GET", "/location-lookup?Called=%2B14155550100", NULL,
	    NULL, NULL);
	fh_resp_init(&resp);
	ck_assert_int_eq(
	    fh_handle_location_lookup(&ctx, &req, &resp), FH_EUNAVAIL);
	ck_assert_int_eq(resp.status, 503);
	fh_test_golden("location-lookup", "unavailable.json", resp.body.data,
	    resp.body.len);
	fh_resp_release(&resp);
	fh_req_release(&req);
}
END_TEST

/* File texts: { text, valid? } */
struct pcase {
	const char *text;
	enum fh_err want;
};

#define E(x) "{\"k\":{" x "}}"
static const struct pcase pcases[] = {
    {"{}", FH_OK},
    {E("\"location\":\"a\",\"locationId\":\"1\",\"locationPhone\":\"\""),
	FH_OK},
    {E("\"location\":\"a\",\"locationId\":\"1\",\"locationPhone\":"
       "\"+14158786346\",\"queueName\":\"q\",\"queueSid\":\"QU1\","
       "\"x\":[1,2]"),
	FH_OK},
    {"", FH_EINPUT},
    {"[]", FH_EINPUT},
    {"{\"k\":1}", FH_EINPUT},
    {"{} x", FH_EINPUT},
    {"{\"k\":{}}", FH_EINPUT},
    {E("\"location\":\"a\",\"locationId\":\"1\""), FH_EINPUT},
    {E("\"location\":\"a\",\"locationId\":1,\"locationPhone\":\"\""),
	FH_EINPUT},
    {E("\"location\":\"\",\"locationId\":\"1\",\"locationPhone\":\"\""),
	FH_EINPUT},
    {E("\"location\":\"a\",\"locationId\":\"1\",\"locationPhone\":"
       "\"4158786346\""),
	FH_EINPUT},
    {E("\"location\":\"a\",\"locationId\":\"1\",\"locationPhone\":"
       "\"+1 415 878 6346\""),
	FH_EINPUT},
    {E("\"location\":\"a\",\"locationId\":\"1\",\"locationPhone\":\"\","
       "\"queueSid\":null"),
	FH_EINPUT},
    {E("\"location\":\"a\\u0000b\",\"locationId\":\"1\","
       "\"locationPhone\":\"\""),
	FH_EINPUT},
    {"{\"\":{\"location\":\"a\",\"locationId\":\"1\",\"locationPhone\":"
     "\"\"}}",
	FH_EINPUT},
};

START_TEST(test_parse)
{
	const struct pcase *c = &pcases[_i];
	struct json_object *o = NULL;

	ck_assert_int_eq(
	    fh_location_parse(c->text, strlen(c->text), NULL, &o), c->want);
	ck_assert_int_eq(o != NULL, c->want == FH_OK);
	json_object_put(o);
}
END_TEST

/* The answer order is fixed whatever the file's order; unknown keys go. */
START_TEST(test_parse_order)
{
	struct json_object *o = NULL, *e;
	const char	   *t =
	    "{\"k\":{\"queueSid\":\"QU1\",\"x\":1,"
	    "\"locationPhone\":\"\",\"locationId\":\"1\",\"location\":\"a\"}}";

	ck_assert_int_eq(fh_location_parse(t, strlen(t), NULL, &o), FH_OK);
	ck_assert(json_object_object_get_ex(o, "k", &e));
	ck_assert_str_eq(fh_json_text(e),
	    "{\"location\":\"a\",\"locationId\":"
	    "\"1\",\"locationPhone\":\"\",\"queueSid\":\"QU1\"}");
	json_object_put(o);
}
END_TEST

START_TEST(test_parse_too_big)
{
	struct json_object *o = NULL;
	size_t		    n = FH_LOCATIONS_MAX_FILE + 1;
	char		   *big = malloc(n + 1);

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	ck_assert_int_eq(fh_location_parse(big, n, NULL, &o), FH_EINPUT);
	ck_assert_ptr_null(o);
	free(big);
}
END_TEST

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* Reload on SIGHUP's request; a bad version keeps the last good data. */
START_TEST(test_reload)
{
	char	    path[] = "/tmp/fh_locations_XXXXXX";
	int	    fd = mkstemp(path);
	const char *v1 = "{\"a\":{\"location\":\"one\","
			 "\"locationId\":\"1\",\"locationPhone\":\"\"}}";
	const char *v2 = "{\"b\":{\"location\":\"two\","
			 "\"locationId\":\"2\",\"locationPhone\":\"\"}}";

	ck_assert_int_ge(fd, 0);
	close(fd);
	write_file(path, v1);
	ck_assert_int_eq(fh_location_refresh(path, NULL), FH_OK);
	ck_assert_ptr_nonnull(fh_location_get("a"));
	write_file(path, v2);
	fh_location_reload_request();
	ck_assert_int_eq(fh_location_refresh(path, NULL), FH_OK);
	ck_assert_ptr_null(fh_location_get("a"));
	ck_assert_ptr_nonnull(fh_location_get("b"));
	write_file(path, "{broken");
	fh_location_reload_request();
	ck_assert_int_eq(fh_location_refresh(path, NULL), FH_OK);
	ck_assert_ptr_nonnull(fh_location_get("b"));
	/* within the second, no stat and no reload */
	write_file(path, v1);
	ck_assert_int_eq(fh_location_refresh(path, NULL), FH_OK);
	ck_assert_ptr_nonnull(fh_location_get("b"));
	unlink(path);
	ck_assert_int_eq(fh_location_refresh(NULL, NULL), FH_EUNAVAIL);
	ck_assert_ptr_null(fh_location_get("b"));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("location");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_loop_test(core, test_golden, 0, FH_NITEMS(hcases));
	tcase_add_test(core, test_parse_order);
	tcase_add_test(core, test_reload);
	tcase_add_test(core, test_example_file);
	tcase_add_loop_test(
	    limits, test_unavailable, 0, FH_NITEMS(unavailable));
	tcase_add_loop_test(limits, test_parse, 0, FH_NITEMS(pcases));
	tcase_add_test(limits, test_parse_too_big);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
