/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_provision.c - flexhooks-provision's rules and plans
 * (docs/design/taskrouter-events.md#provisioning): equality, URL masking,
 * options, paging, the workflow configurations, and whole runs against an
 * in-memory fake of TaskRouter that counts the POSTs.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fh_check.h"
#include "lib/form.h"
#include "lib/json.h"
#include "tools/provision/provision.h"

#define WS1 "WS00000000000000000000000000000001"
#define WA1 "WA000000000000000000000000000000a1"
#define WQE "WQ000000000000000000000000000000e1"

/* ------------------------------------------------------------ equality */

struct eqcase {
	enum fh_prov_field f;
	const char	  *have;
	const char	  *want;
	int		   eq;
};

static const struct eqcase eqcases[] = {
    {FH_PF_TARGET_WORKERS, "1==1", "1==1", 1},
    {FH_PF_TARGET_WORKERS, " 1==1\t\n", "1==1", 1},
    {FH_PF_TARGET_WORKERS, "1==1", "1==2", 0},
    {FH_PF_TARGET_WORKERS, "1 == 1", "1==1", 0},
    {FH_PF_TARGET_WORKERS, NULL, "1==1", 0},
    {FH_PF_TARGET_WORKERS, "", NULL, 1},
    {FH_PF_CONFIGURATION, "{\"a\":1,\"b\":[1,2]}",
	" { \"b\" : [1,2], \"a\" : 1 } ", 1},
    {FH_PF_CONFIGURATION, "{\"a\":1,\"b\":[1,2]}", "{\"a\":1,\"b\":[2,1]}", 0},
    {FH_PF_CONFIGURATION, "{\"a\":1}", "{\"a\":\"1\"}", 0},
    {FH_PF_CONFIGURATION, "{\"a\":1}", "{\"a\":1,\"c\":null}", 0},
    {FH_PF_CONFIGURATION, "task-routing: yaml", "{\"a\":1}", 0},
    {FH_PF_CONFIGURATION, "not json", "not json", 1},
    {FH_PF_ATTRIBUTES, "{\"practice\":\"Pacific Health\"}",
	"{ \"practice\": \"Pacific Health\" }", 1},
    {FH_PF_ATTRIBUTES, "{}", "{\"practice\":\"Pacific Health\"}", 0},
    {FH_PF_EVENTS_FILTER, "a,b,c", "c,b,a", 1},
    {FH_PF_EVENTS_FILTER, "a, b ,c,", "c,b,a", 1},
    {FH_PF_EVENTS_FILTER, "a,b", "a,b,c", 0},
    {FH_PF_EVENTS_FILTER, "a,b,c,d", "a,b,c", 0},
    {FH_PF_EVENTS_FILTER, NULL, "a", 0},
    {FH_PF_EVENTS_FILTER, "task-queue.entered", "task-queue.entere", 0},
    {FH_PF_EVENT_CALLBACK_URL, "https://u:p@h/x", "https://u:p@h/x", 1},
    {FH_PF_EVENT_CALLBACK_URL, "https://u:p@h/x ", "https://u:p@h/x", 0},
    {FH_PF_EVENT_CALLBACK_URL, "https://U:p@h/x", "https://u:p@h/x", 0},
    {FH_PF_EVENT_CALLBACK_URL, NULL, "", 1},
    {FH_PF_RESERVATION_TIMEOUT, "120", "120", 1},
    {FH_PF_RESERVATION_TIMEOUT, "60", "120", 0},
    {FH_PF_ACTIVITY_SID, WA1, WA1, 1},
    {FH_PF__MAX, "x", "x", 0},
};

START_TEST(test_equal)
{
	const struct eqcase *c = &eqcases[_i];

	ck_assert_msg(fh_prov_equal(c->f, c->have, c->want) == c->eq,
	    "field %d: '%s' vs '%s'", c->f, c->have ? c->have : "(null)",
	    c->want ? c->want : "(null)");
}
END_TEST

/* ------------------------------------------------------------ masking */

struct mcase {
	const char *in;
	const char *out;
};

static const struct mcase mcases[] = {
    {"https://user:pass@hooks.example.com/tr-event-callback",
	"https://user:***@hooks.example.com/tr-event-callback"},
    {"https://user@hooks.example.com/x", "https://user@hooks.example.com/x"},
    {"https://hooks.example.com/x?a=b@c", "https://hooks.example.com/x?a=b@c"},
    {"http://u:p:q@127.0.0.1:8080", "http://u:***@127.0.0.1:8080"},
    {"https://u:p@x@h/y", "https://u:***@h/y"},
    {"https://:p@h/", "https://:***@h/"},
    {"", ""},
    {"u:secret@host", "u:***@host"},
};

START_TEST(test_mask)
{
	char out[256];

	fh_prov_mask_url(mcases[_i].in, out, sizeof(out));
	ck_assert_str_eq(out, mcases[_i].out);
}
END_TEST

START_TEST(test_mask_limits)
{
	char out[16];

	fh_prov_mask_url(NULL, out, sizeof(out));
	ck_assert_str_eq(out, "");
	fh_prov_mask_url("https://user:secret@h/long/path", out, sizeof(out));
	ck_assert_ptr_null(strstr(out, "secret"));
	ck_assert_uint_eq(strlen(out), sizeof(out) - 1);
	fh_prov_mask_url("https://u:p@h", out, 0); /* writes nothing */
}
END_TEST

START_TEST(test_event_url)
{
	struct fh_buf b;

	fh_buf_init(&b, 1024);
	b.secret = 1;
	ck_assert_int_eq(fh_prov_event_url("https://hooks.example.com/pre",
			     "fh.user:p~w-d_1", &b),
	    FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b),
	    "https://fh.user:p~w-d_1@"
	    "hooks.example.com/pre/tr-event-callback");
	fh_buf_reset(&b);
	ck_assert_int_eq(fh_prov_event_url("https://h", NULL, &b), FH_ECONFIG);
	ck_assert_int_eq(fh_prov_event_url(NULL, "u:p", &b), FH_ECONFIG);
	ck_assert_int_eq(
	    fh_prov_event_url("https://h", "nocolon", &b), FH_ECONFIG);
	fh_buf_release(&b);
}
END_TEST

/* ------------------------------------------------------------ options */

#define Q1 "WQ00000000000000000000000000000011"
#define Q2 "WQ00000000000000000000000000000022"
#define Q3 "WQ00000000000000000000000000000033"

struct acase {
	const char *argv[8];
	enum fh_err want;
	unsigned    steps; /* when FH_OK */
	int	    dry, replace, nq;
	const char *config;
};

#define ALL3 \
	(1u << FH_PROV_REDIRECT | 1u << FH_PROV_CALLBACK | 1u << FH_PROV_EVENTS)
static const struct acase acases[] = {
    {{NULL}, FH_OK, ALL3, 0, 0, 0, NULL},
    {{"--dry-run", "--config", "/x.env", NULL}, FH_OK, ALL3, 1, 0, 0, "/x.env"},
    {{"--config=/y.env", NULL}, FH_OK, ALL3, 0, 0, 0, "/y.env"},
    {{"--check", "--config", "/z.env", NULL}, FH_OK, ALL3, 0, 0, 0, "/z.env"},
    {{"--outbound-demo", NULL}, FH_OK, ALL3 | 1u << FH_PROV_OUTBOUND, 0, 0, 0,
	NULL},
    {{"--only", "events", "--only=redirect", NULL}, FH_OK,
	1u << FH_PROV_EVENTS | 1u << FH_PROV_REDIRECT, 0, 0, 0, NULL},
    {{"--only", "outbound", NULL}, FH_OK, 1u << FH_PROV_OUTBOUND, 0, 0, 0,
	NULL},
    {{"--outbound-demo", "--only", "callback", NULL}, FH_OK,
	1u << FH_PROV_CALLBACK, 0, 0, 0, NULL},
    {{"--replace-event-callback", "--redirect-queues", Q1 "," Q2 "," Q3, NULL},
	FH_OK, ALL3, 0, 1, 3, NULL},
    {{"--callback-queue", Q1, NULL}, FH_OK, ALL3, 0, 0, 0, NULL},
    {{"--only", "everything", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"--only", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"--redirect-queues", Q1 "," Q2, NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"--redirect-queues", Q1 "," Q2 "," Q3 ",", NULL}, FH_EINPUT, 0, 0, 0, 0,
	NULL},
    {{"--redirect-queues", Q1 "," Q2 "," Q3 "," Q1, NULL}, FH_EINPUT, 0, 0, 0,
	0, NULL},
    {{"--redirect-queues",
	 Q1 "," Q2 ",WW0000000000000000000000000000"
	    "0033",
	 NULL},
	FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"--callback-queue", "WQ123", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"--dry-run=yes", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"--check=1", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"--frobnicate", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"stray", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"--", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"--config", "", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"--config", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    /* --workspace NAME: the dialer's own workspace, no Flex steps */
    {{"--workspace", "Call Router", NULL}, FH_OK, 1u << FH_PROV_EVENTS, 0, 0, 0,
	NULL},
    {{"--outbound-demo", "--workspace=Call Router", NULL}, FH_OK,
	1u << FH_PROV_EVENTS | 1u << FH_PROV_OUTBOUND, 0, 0, 0, NULL},
    {{"--workspace", "Call Router", "--only", "outbound", NULL}, FH_OK,
	1u << FH_PROV_OUTBOUND, 0, 0, 0, NULL},
    {{"--workspace=", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"--workspace", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"--workspace", "a\tb", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
    {{"--workspace", "\xff", NULL}, FH_EINPUT, 0, 0, 0, 0, NULL},
};

START_TEST(test_args)
{
	const struct acase *c = &acases[_i];
	struct fh_prov_opts o;
	char		   *argv[10];
	char		    msg[256];
	int		    argc;

	argv[0] = (char *)"flexhooks-provision";
	for (argc = 1; c->argv[argc - 1] != NULL; argc++)
		argv[argc] = (char *)c->argv[argc - 1];
	argv[argc] = NULL;
	ck_assert_int_eq(
	    fh_prov_parse_args(argc, argv, &o, msg, sizeof(msg)), c->want);
	if (c->want != FH_OK) {
		ck_assert_msg(msg[0] != '\0', "an error names the problem");
		return;
	}
	ck_assert_uint_eq(fh_prov_steps(&o), c->steps);
	ck_assert_int_eq(o.dry_run, c->dry);
	ck_assert_int_eq(
	    o.check, c->argv[0] != NULL && strcmp(c->argv[0], "--check") == 0);
	ck_assert_int_eq(o.replace_event_callback, c->replace);
	ck_assert_int_eq(o.have_redirect_queues, c->nq == 3);
	if (c->nq == 3) {
		ck_assert_str_eq(o.redirect_queues[0], Q1);
		ck_assert_str_eq(o.redirect_queues[2], Q3);
	}
	if (c->config != NULL)
		ck_assert_str_eq(o.config, c->config);
	else
		ck_assert_ptr_null(o.config);
}
END_TEST

START_TEST(test_help_and_codes)
{
	struct fh_prov_opts o;
	char		   *argv[] = {(char *)"p", (char *)"-h", NULL};
	char		    msg[64];

	ck_assert_int_eq(
	    fh_prov_parse_args(2, argv, &o, msg, sizeof(msg)), FH_OK);
	ck_assert_int_eq(o.help, 1);
	ck_assert_ptr_nonnull(strstr(fh_prov_usage(), "--only"));
	ck_assert_int_eq(fh_prov_exit_code(FH_OK), 0);
	ck_assert_int_eq(fh_prov_exit_code(FH_EUPSTREAM), 1);
	ck_assert_int_eq(fh_prov_exit_code(FH_ETWILIO), 1);
	ck_assert_int_eq(fh_prov_exit_code(FH_ENOTFOUND), 1);
	ck_assert_int_eq(fh_prov_exit_code(FH_EINPUT), 2);
	ck_assert_int_eq(fh_prov_exit_code(FH_ECONFIG), 2);
	ck_assert_int_eq(fh_prov_exit_code(FH_ECONFLICT), 3);
}
END_TEST

/* ------------------------------------------------------------ paging */

struct pcase {
	const char *next;
	enum fh_err want;
	const char *query;
};

#define LIST "/v1/Workspaces/" WS1 "/TaskQueues"
static const struct pcase pcases[] = {
    {"http://127.0.0.1:9/" LIST "?PageSize=50&Page=1", FH_EUPSTREAM, NULL},
    {"http://127.0.0.1:9" LIST "?PageSize=50&Page=1", FH_OK,
	"PageSize=50&Page=1"},
    {"https://taskrouter.twilio.com" LIST "?PageToken=PT1&Page=2", FH_OK,
	"PageToken=PT1&Page=2"},
    {LIST "?Page=3", FH_OK, "Page=3"},
    {LIST, FH_OK, ""},
    {"https://evil.example" LIST "x?Page=1", FH_EUPSTREAM, NULL},
    {"https://evil.example/v1/Workspaces?Page=1", FH_EUPSTREAM, NULL},
    {"https://taskrouter.twilio.com", FH_EUPSTREAM, NULL},
    {"ftp://h" LIST, FH_EUPSTREAM, NULL},
    {LIST "?Page=1#frag", FH_EUPSTREAM, NULL},
    {"", FH_EUPSTREAM, NULL},
};

START_TEST(test_next_page)
{
	struct fh_buf q;

	fh_buf_init(&q, 4096);
	ck_assert_int_eq(
	    fh_prov_next_page("http://127.0.0.1:9", LIST, pcases[_i].next, &q),
	    pcases[_i].want);
	if (pcases[_i].want == FH_OK)
		ck_assert_str_eq(fh_buf_cstr(&q), pcases[_i].query);
	fh_buf_release(&q);
}
END_TEST

/* ------------------------------------------------------------ configs */

START_TEST(test_workflow_config)
{
	const char *const q[4] = {"WQa", "WQb", "WQc", "WQd"};
	char		 *text = NULL;

	ck_assert_int_eq(
	    fh_prov_workflow_config(FH_PROV_TMPL_REDIRECT, q, &text), FH_OK);
	ck_assert_str_eq(text,
	    "{\"task_routing\":{\"filters\":[{"
	    "\"filter_friendly_name\":\"Redirect Call\",\"expression\":"
	    "\"1==1\",\"targets\":[{\"queue\":\"WQa\",\"timeout\":5},"
	    "{\"queue\":\"WQb\",\"timeout\":5},{\"queue\":\"WQc\","
	    "\"timeout\":10},{\"queue\":\"WQd\"}]}]}}");
	free(text);
	ck_assert_int_eq(
	    fh_prov_workflow_config(FH_PROV_TMPL_OUTBOUND, q, &text), FH_OK);
	ck_assert_str_eq(text,
	    "{\"task_routing\":{\"filters\":[{"
	    "\"filter_friendly_name\":\"Pacific Health\",\"expression\":"
	    "\"practice == \\\"Pacific Health\\\"\",\"targets\":[{\"queue\":"
	    "\"WQa\"}]}]}}");
	free(text);
	ck_assert_int_eq(
	    fh_prov_workflow_config(FH_PROV_TMPL_CALLBACK, q, &text), FH_OK);
	ck_assert_str_eq(text,
	    "{\"task_routing\":{\"filters\":["
	    "{\"filter_friendly_name\":\"Retry attempt 1\",\"expression\":"
	    "\"callBackData.attempts == 1\",\"targets\":[{\"queue\":\"WQa\","
	    "\"expression\":\"1==0\",\"timeout\":600},{\"queue\":\"WQa\"}]},"
	    "{\"filter_friendly_name\":\"Additional retry attempts\","
	    "\"expression\":\"callBackData.attempts > 1\",\"targets\":["
	    "{\"queue\":\"WQa\",\"expression\":\"1==0\",\"timeout\":3600},"
	    "{\"queue\":\"WQa\"}]},{\"filter_friendly_name\":"
	    "\"Initial routing attempt\",\"expression\":\"1==1\",\"targets\":"
	    "[{\"queue\":\"WQa\"}]}],\"default_filter\":{\"queue\":\"WQa\"}}}");
	free(text);
	ck_assert_int_eq(
	    fh_prov_workflow_config(FH_PROV_TMPL_NONE, q, &text), FH_EINTERNAL);
	ck_assert_ptr_null(text);
}
END_TEST

/* ------------------------------------------------------------ the fake */

/* TaskRouter in memory: store maps a list path to its array of objects. */
struct fake {
	struct json_object *store;
	unsigned	    posts;
	unsigned	    seq;
	char		    last_form[4096];
	char		    last_path[256];
};

static struct json_object *
fake_arr(struct fake *fk, const char *path)
{
	struct json_object *arr;

	if (json_object_object_get_ex(fk->store, path, &arr))
		return arr;
	arr = json_object_new_array();
	json_object_object_add(fk->store, path, arr);
	return arr;
}

static enum fh_err
fake_list(void *arg, const char *path, const char *key, const char *fname,
    const char *fvalue, struct json_object **out)
{
	struct fake	   *fk = arg;
	struct json_object *arr = fake_arr(fk, path), *v;
	const char	   *s;
	size_t		    i;

	(void)key;
	*out = json_object_new_array();
	for (i = 0; i < json_object_array_length(arr); i++) {
		v = json_object_array_get_idx(arr, i);
		if (fname != NULL && strcmp(fname, "FriendlyName") == 0 &&
		    strcmp(fh_json_str(v, "friendly_name"), fvalue) != 0)
			continue;
		if (fname != NULL &&
		    strcmp(fname, "EvaluateWorkerAttributes") == 0) {
			s = fh_json_str(v, "target_workers");
			if (strcmp(s, "1==1") != 0 &&
			    strstr(s, "practice") == NULL)
				continue;
		}
		json_object_array_add(*out, json_object_get(v));
	}
	return FH_OK;
}

static struct json_object *
fake_find(struct fake *fk, const char *path)
{
	struct json_object *arr, *v;
	const char	   *slash = strrchr(path, '/');
	char		    list[256];
	size_t		    i;

	snprintf(list, sizeof(list), "%.*s", (int)(slash - path), path);
	arr = fake_arr(fk, list);
	for (i = 0; i < json_object_array_length(arr); i++) {
		v = json_object_array_get_idx(arr, i);
		if (strcmp(fh_json_str(v, "sid"), slash + 1) == 0)
			return v;
	}
	return NULL;
}

static enum fh_err
fake_fetch(void *arg, const char *path, struct json_object **out)
{
	struct json_object *v = fake_find(arg, path);

	*out = v != NULL ? json_object_get(v) : NULL;
	return v != NULL ? FH_OK : FH_ENOTFOUND;
}

static const char *const wire_keys[][2] = {
    {"FriendlyName", "friendly_name"},
    {"TargetWorkers", "target_workers"},
    {"Configuration", "configuration"},
    {"Attributes", "attributes"},
    {"ActivitySid", "activity_sid"},
    {"EventCallbackUrl", "event_callback_url"},
    {"EventsFilter", "events_filter"},
    {"Available", "available"},
};

/* What Twilio puts into a workspace it creates: Offline and Available. */
static void
fake_new_workspace(struct fake *fk, const char *ws)
{
	static const char *const names[] = {"Offline", "Available"};
	struct json_object	*o;
	char			 path[256], sid[40];
	size_t			 i;

	snprintf(path, sizeof(path), "/v1/Workspaces/%s/Activities", ws);
	for (i = 0; i < FH_NITEMS(names); i++) {
		o = json_object_new_object();
		snprintf(sid, sizeof(sid), "WA%032x", ++fk->seq);
		json_object_object_add(o, "sid", json_object_new_string(sid));
		json_object_object_add(
		    o, "friendly_name", json_object_new_string(names[i]));
		json_object_array_add(fake_arr(fk, path), o);
	}
}

static enum fh_err
fake_post(void *arg, const char *path, const struct fh_buf *form, int create,
    struct json_object **out)
{
	struct fake	   *fk = arg;
	struct json_object *obj;
	struct fh_form	    f;
	const char	   *kind, *prefix;
	char		    sid[40];
	size_t		    i, k;

	fk->posts++;
	snprintf(fk->last_form, sizeof(fk->last_form), "%s", fh_buf_cstr(form));
	snprintf(fk->last_path, sizeof(fk->last_path), "%s", path);
	if (create) {
		kind = strrchr(path, '/') + 1;
		prefix = strcmp(kind, "TaskQueues") == 0 ? "WQ"
		    : strcmp(kind, "Workflows") == 0	 ? "WW"
		    : strcmp(kind, "Workspaces") == 0	 ? "WS"
		    : strcmp(kind, "Activities") == 0	 ? "WA"
							 : "WK";
		/* new workspaces apart from the fixed WS1 */
		snprintf(sid, sizeof(sid), "%s%032x", prefix,
		    ++fk->seq + (strcmp(prefix, "WS") == 0 ? 0xe000u : 0u));
		obj = json_object_new_object();
		json_object_object_add(obj, "sid", json_object_new_string(sid));
		json_object_object_add(
		    obj, "task_reservation_timeout", json_object_new_int(120));
		json_object_array_add(fake_arr(fk, path), obj);
		if (strcmp(kind, "Workspaces") == 0)
			fake_new_workspace(fk, sid);
	} else {
		obj = fake_find(fk, path);
		if (obj == NULL)
			return FH_ENOTFOUND;
	}
	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, form->data, form->len), FH_OK);
	for (i = 0; i < f.n; i++) {
		if (strcmp(f.pairs[i].name, "TaskReservationTimeout") == 0) {
			long long n = 0;

			ck_assert_int_eq(fh_parse_int(f.pairs[i].value,
					     f.pairs[i].vlen, 1, 86400, &n),
			    FH_OK);
			json_object_object_add(obj, "task_reservation_timeout",
			    json_object_new_int((int)n));
		}
		for (k = 0; k < FH_NITEMS(wire_keys); k++)
			if (strcmp(f.pairs[i].name, wire_keys[k][0]) == 0)
				json_object_object_add(obj, wire_keys[k][1],
				    json_object_new_string(f.pairs[i].value));
	}
	fh_form_release(&f);
	*out = json_object_get(obj);
	return FH_OK;
}

static void
fake_add(struct fake *fk, const char *list, const char *sid, const char *name,
    const char *key, const char *value)
{
	struct json_object *o = json_object_new_object();
	char		    path[256];

	snprintf(path, sizeof(path), "/v1/Workspaces%s%s",
	    list[0] != '\0' ? "/" WS1 "/" : "", list);
	json_object_object_add(o, "sid", json_object_new_string(sid));
	json_object_object_add(
	    o, "friendly_name", json_object_new_string(name));
	if (key != NULL)
		json_object_object_add(o, key, json_object_new_string(value));
	json_object_array_add(fake_arr(fk, path), o);
}

static struct json_object *
fake_get(struct fake *fk, const char *list, const char *name)
{
	struct json_object *arr, *v;
	char		    path[256];
	size_t		    i;

	snprintf(path, sizeof(path), "/v1/Workspaces/" WS1 "/%s", list);
	arr = fake_arr(fk, path);
	for (i = 0; i < json_object_array_length(arr); i++) {
		v = json_object_array_get_idx(arr, i);
		if (strcmp(fh_json_str(v, "friendly_name"), name) == 0)
			return v;
	}
	return NULL;
}

/* A Flex workspace as Twilio makes it: Available, Everyone. */
static void
fake_init(struct fake *fk)
{
	memset(fk, 0, sizeof(*fk));
	fk->store = json_object_new_object();
	fake_add(fk, "", WS1, "Flex Task Assignment", NULL, NULL);
	fake_add(fk, "Activities", WA1, "Available", NULL, NULL);
	fake_add(fk, "Activities", "WA000000000000000000000000000000a2",
	    "Offline", NULL, NULL);
	fake_add(fk, "TaskQueues", WQE, "Everyone", "target_workers", "1==1");
}

static char ac[] = "AC00000000000000000000000000000001";
static char token[] = "token";
static char ws[] = WS1;
static char pub[] = "https://hooks.example.com";
static char basic[] = "fhuser:Sup3rSecretPw";

struct run {
	struct fake	    fk;
	struct fh_config    cfg;
	struct fh_prov_opts opts;
	struct fh_prov_io   io;
	char		   *plan;
	char		   *out;
	enum fh_err	    err;
};

static void
run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	fake_init(&r->fk);
	r->cfg.account_sid = ac;
	r->cfg.auth_token = token;
	r->cfg.workspace_sid = ws;
	r->cfg.public_url = pub;
	r->cfg.basic_auth = basic;
	r->io.list = fake_list;
	r->io.fetch = fake_fetch;
	r->io.post = fake_post;
	r->io.arg = &r->fk;
}

/* One run of the program's core; the fake keeps its state between runs. */
static enum fh_err
run_once(struct run *r)
{
	struct fh_prov p;
	FILE	      *plan, *out;
	size_t	       pn, on;

	free(r->plan);
	free(r->out);
	r->plan = r->out = NULL;
	plan = open_memstream(&r->plan, &pn);
	out = open_memstream(&r->out, &on);
	ck_assert_ptr_nonnull(plan);
	ck_assert_ptr_nonnull(out);
	r->fk.posts = 0;
	fh_prov_init(&p, &r->cfg, &r->opts, &r->io, plan, out);
	r->err = fh_prov_run(&p);
	fh_prov_release(&p);
	fclose(plan);
	fclose(out);
	/* the webhook password never reaches the output */
	ck_assert_ptr_null(strstr(r->plan, "Sup3rSecretPw"));
	ck_assert_ptr_null(strstr(r->out, "Sup3rSecretPw"));
	return r->err;
}

static void
run_release(struct run *r)
{
	free(r->plan);
	free(r->out);
	json_object_put(r->fk.store);
}

/* Every plan line starts with one of the given words. */
static int
lines_start(const char *text, const char *w1, const char *w2)
{
	const char *p = text, *nl;

	for (; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (strncmp(p, w1, strlen(w1)) != 0 &&
		    (w2 == NULL || strncmp(p, w2, strlen(w2)) != 0))
			return 0;
		if (*nl == '\0')
			break;
	}
	return 1;
}

START_TEST(test_run_empty_then_again)
{
	struct run	    r;
	struct json_object *o;

	run_init(&r);
	r.opts.outbound_demo = 1;
	ck_assert_int_eq(run_once(&r), FH_OK);
	/* 4 queues, 3 workflows, the demo queue and worker, the workspace */
	ck_assert_uint_eq(r.fk.posts, 10);
	ck_assert_ptr_nonnull(strstr(
	    r.plan, "create TaskQueue '[TR Call Redirection] Sales' <new>"));
	ck_assert_ptr_nonnull(
	    strstr(r.plan, "update EventCallbackUrl,EventsFilter Workspace"));
	ck_assert_ptr_nonnull(strstr(r.plan, "fhuser:***@hooks.example.com"));
	ck_assert_ptr_nonnull(strstr(r.plan,
	    "warning: worker 'Pacific Health "
	    "Main' also matches TaskQueue 'Everyone' " WQE));
	o = fake_get(&r.fk, "TaskQueues",
	    "[TR Call Redirection] Call "
	    "Redirection");
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(fh_json_str(o, "target_workers"), "1==2");
	ck_assert_ptr_nonnull(strstr(r.out, "FORWARD_CALL_TASK_QUEUE_SID="));
	ck_assert_ptr_nonnull(strstr(r.out, fh_json_str(o, "sid")));
	ck_assert_ptr_nonnull(
	    strstr(r.out, "TWILIO_FLEX_WORKSPACE_SID=" WS1 "\n"));
	ck_assert_ptr_nonnull(strstr(r.out,
	    "# outbound demo workflow "
	    "(enqueue dialer callers here): WW"));
	ck_assert_ptr_nonnull(strstr(r.out, "FORWARD_TO_NUMBER"));
	o = fake_get(&r.fk, "Workflows", "Template Example Callback");
	ck_assert_ptr_nonnull(o);
	ck_assert_ptr_nonnull(strstr(fh_json_str(o, "configuration"), WQE));
	o = fake_get(&r.fk, "Workers", "Pacific Health Main");
	ck_assert_str_eq(fh_json_str(o, "activity_sid"), WA1);
	ck_assert_str_eq(
	    fh_json_str(o, "attributes"), "{\"practice\":\"Pacific Health\"}");
	o = fake_get(&r.fk, "Workflows", "Call Router Workflow");
	ck_assert_ptr_nonnull(strstr(r.fk.last_form,
	    "EventsFilter="
	    "task-queue.entered%2Creservation.created%2Creservation.wrapup"));

	/* the second run: only "ok" lines, no POST */
	r.opts.outbound_demo = 0;
	ck_assert_int_eq(run_once(&r), FH_OK);
	ck_assert_uint_eq(r.fk.posts, 0);
	ck_assert_msg(lines_start(r.plan, "ok ", NULL), "plan:\n%s", r.plan);
	ck_assert_ptr_nonnull(strstr(r.plan, "(adopted)"));
	run_release(&r);
}
END_TEST

START_TEST(test_run_dry)
{
	struct run r;

	run_init(&r);
	r.opts.dry_run = 1;
	r.opts.outbound_demo = 1;
	ck_assert_int_eq(run_once(&r), FH_OK);
	ck_assert_uint_eq(r.fk.posts, 0);
	ck_assert_ptr_nonnull(strstr(r.plan,
	    "create Workflow '[TR Call Redirection] Call Redirection "
	    "Workflow' <new>"));
	ck_assert_ptr_nonnull(strstr(r.plan,
	    "create Worker 'Pacific Health "
	    "Main' <new>"));
	ck_assert_ptr_nonnull(strstr(r.out,
	    "# FORWARD_CALL_TASK_QUEUE_SID="
	    "<new>\n"));
	ck_assert_ptr_null(fake_get(&r.fk, "Workflows",
	    "Call Router "
	    "Workflow"));
	run_release(&r);
}
END_TEST

START_TEST(test_run_update_only_diff)
{
	struct run	    r;
	struct json_object *o;

	run_init(&r);
	ck_assert_int_eq(run_once(&r), FH_OK);
	o = fake_get(&r.fk, "TaskQueues", "[TR Call Redirection] Support");
	json_object_object_add(
	    o, "target_workers", json_object_new_string("skills HAS \"x\""));
	o = fake_get(&r.fk, "TaskQueues", "[TR Call Redirection] Sales");
	json_object_object_add(o, "target_workers",
	    json_object_new_string("  1==1 ")); /* equal once trimmed */
	ck_assert_int_eq(run_once(&r), FH_OK);
	ck_assert_uint_eq(r.fk.posts, 1);
	ck_assert_str_eq(r.fk.last_form, "TargetWorkers=1%3D%3D1");
	ck_assert_ptr_nonnull(strstr(r.plan,
	    "update TargetWorkers TaskQueue "
	    "'[TR Call Redirection] Support' WQ"));
	ck_assert_ptr_nonnull(strstr(r.plan, "updated TargetWorkers"));

	/* a reordered configuration is the same JSON value */
	o = fake_get(&r.fk, "Workflows",
	    "[TR Call Redirection] Call "
	    "Redirection Workflow");
	{
		struct json_object *cfg = NULL;
		const char	   *text = fh_json_str(o, "configuration");

		ck_assert_int_eq(
		    fh_json_parse(text, strlen(text), &cfg), FH_OK);
		json_object_object_add(o, "configuration",
		    json_object_new_string(json_object_to_json_string_ext(
			cfg, JSON_C_TO_STRING_PRETTY)));
		json_object_put(cfg);
	}
	ck_assert_int_eq(run_once(&r), FH_OK);
	ck_assert_uint_eq(r.fk.posts, 0);
	run_release(&r);
}
END_TEST

/* The object named name in the list kind of workspace w, or NULL. */
static struct json_object *
fake_get_in(struct fake *fk, const char *w, const char *kind, const char *name)
{
	struct json_object *arr, *v;
	char		    path[256];
	size_t		    i;

	if (kind[0] == '\0')
		snprintf(path, sizeof(path), "/v1/Workspaces");
	else
		snprintf(path, sizeof(path), "/v1/Workspaces/%s/%s", w, kind);
	arr = fake_arr(fk, path);
	for (i = 0; i < json_object_array_length(arr); i++) {
		v = json_object_array_get_idx(arr, i);
		if (strcmp(fh_json_str(v, "friendly_name"), name) == 0)
			return v;
	}
	return NULL;
}

/* --outbound-demo --workspace 'Call Router' on an account without Flex
 * settings: the workspace is created with its event callback, then the
 * example's queue, workflow and worker in it (the Available activity is
 * the one Twilio made with the workspace); a second run sends no POST;
 * the Flex workspace is not touched. */
START_TEST(test_run_named_workspace)
{
	struct run	    r;
	struct json_object *w, *o, *act;
	const char	   *wsid;
	char		    line[128];

	run_init(&r);
	r.cfg.workspace_sid = NULL;
	r.opts.outbound_demo = 1;
	r.opts.workspace = "Call Router";
	ck_assert_msg(run_once(&r) == FH_OK, "plan:\n%s", r.plan);
	/* the workspace, the queue, the workflow, the worker */
	ck_assert_uint_eq(r.fk.posts, 4);
	ck_assert_ptr_nonnull(strstr(r.plan,
	    "create Workspace 'Call Router' "
	    "<new>"));
	ck_assert_ptr_nonnull(strstr(r.plan,
	    "create Activity 'Available' "
	    "<new>"));
	ck_assert_ptr_nonnull(strstr(r.plan, "found Activity 'Available' WA"));
	w = fake_get_in(&r.fk, NULL, "", "Call Router");
	ck_assert_ptr_nonnull(w);
	wsid = fh_json_str(w, "sid");
	ck_assert_str_eq(fh_json_str(w, "events_filter"),
	    "task-queue.entered,"
	    "reservation.created,reservation.wrapup");
	ck_assert_str_eq(fh_json_str(w, "event_callback_url"),
	    "https://fhuser:Sup3rSecretPw@hooks.example.com/tr-event-callback");
	o = fake_get_in(&r.fk, wsid, "TaskQueues", "Pacific Health");
	ck_assert_ptr_nonnull(o);
	o = fake_get_in(&r.fk, wsid, "Workflows", "Call Router Workflow");
	ck_assert_ptr_nonnull(o);
	snprintf(line, sizeof(line), "\nFLEXHOOKS_INBOUND_WORKFLOW_SID=%s\n",
	    fh_json_str(o, "sid"));
	ck_assert_msg(strstr(r.out, line) != NULL, "out:\n%s", r.out);
	act = fake_get_in(&r.fk, wsid, "Activities", "Available");
	o = fake_get_in(&r.fk, wsid, "Workers", "Pacific Health Main");
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(
	    fh_json_str(o, "activity_sid"), fh_json_str(act, "sid"));
	snprintf(line, sizeof(line), "FLEXHOOKS_EVENT_WORKSPACES=%s\n", wsid);
	ck_assert_msg(
	    strncmp(r.out, line, strlen(line)) == 0, "out:\n%s", r.out);
	ck_assert_ptr_null(strstr(r.out, "TWILIO_FLEX_WORKSPACE_SID"));
	/* the Flex workspace got nothing */
	ck_assert_ptr_null(fake_get(&r.fk, "TaskQueues", "Pacific Health"));
	ck_assert_ptr_null(fake_get(&r.fk, "Workflows",
	    "[TR Call "
	    "Redirection] Call Redirection Workflow"));

	/* again: adopted by name, nothing sent */
	ck_assert_int_eq(run_once(&r), FH_OK);
	ck_assert_uint_eq(r.fk.posts, 0);
	ck_assert_msg(lines_start(r.plan, "ok ", NULL), "plan:\n%s", r.plan);
	ck_assert_ptr_nonnull(strstr(r.out, wsid));

	/* listed with the ones configured already */
	r.cfg.event_workspaces = (char *)WS1;
	ck_assert_int_eq(run_once(&r), FH_OK);
	snprintf(line, sizeof(line), "FLEXHOOKS_EVENT_WORKSPACES=" WS1 ",%s\n",
	    wsid);
	ck_assert_msg(strstr(r.out, line) != NULL, "out:\n%s", r.out);
	run_release(&r);
}
END_TEST

START_TEST(test_run_named_workspace_dry_and_clash)
{
	struct run r;

	run_init(&r);
	r.opts.outbound_demo = 1;
	r.opts.dry_run = 1;
	r.opts.workspace = "Call Router";
	ck_assert_int_eq(run_once(&r), FH_OK);
	ck_assert_uint_eq(r.fk.posts, 0);
	ck_assert_ptr_nonnull(strstr(r.plan,
	    "dry run: the plan for workspace "
	    "<new> 'Call Router'"));
	ck_assert_ptr_nonnull(strstr(r.plan,
	    "create Worker 'Pacific Health "
	    "Main' <new>"));
	ck_assert_ptr_nonnull(strstr(r.plan,
	    "  EventCallbackUrl=https://"
	    "fhuser:***@hooks.example.com/tr-event-callback"));
	ck_assert_ptr_nonnull(strstr(r.out,
	    "# FLEXHOOKS_EVENT_WORKSPACES="
	    "<new>\n"));
	ck_assert_ptr_null(fake_get_in(&r.fk, NULL, "", "Call Router"));

	/* two of that name: refused */
	r.opts.dry_run = 0;
	fake_add(&r.fk, "", "WS000000000000000000000000000000c1", "Call Router",
	    NULL, NULL);
	fake_add(&r.fk, "", "WS000000000000000000000000000000c2", "Call Router",
	    NULL, NULL);
	ck_assert_int_eq(run_once(&r), FH_ECONFLICT);
	ck_assert_uint_eq(r.fk.posts, 0);
	ck_assert_ptr_nonnull(
	    strstr(r.plan, "WS000000000000000000000000000000c2"));
	run_release(&r);
}
END_TEST

START_TEST(test_run_clash)
{
	struct run r;

	run_init(&r);
	fake_add(&r.fk, "TaskQueues", "WQ000000000000000000000000000000c1",
	    "[TR Call Redirection] Sales", "target_workers", "1==1");
	fake_add(&r.fk, "TaskQueues", "WQ000000000000000000000000000000c2",
	    "[TR Call Redirection] Sales", "target_workers", "1==1");
	ck_assert_int_eq(run_once(&r), FH_ECONFLICT);
	ck_assert_int_eq(fh_prov_exit_code(r.err), 3);
	ck_assert_uint_eq(r.fk.posts, 0);
	ck_assert_ptr_nonnull(
	    strstr(r.plan, "WQ000000000000000000000000000000c1"));
	ck_assert_ptr_nonnull(
	    strstr(r.plan, "WQ000000000000000000000000000000c2"));
	ck_assert_str_eq(r.out, "");
	run_release(&r);
}
END_TEST

START_TEST(test_run_foreign_callback)
{
	struct run	    r;
	struct json_object *w;

	run_init(&r);
	w = json_object_array_get_idx(fake_arr(&r.fk, "/v1/Workspaces"), 0);
	json_object_object_add(w, "event_callback_url",
	    json_object_new_string(
		"https://other:TheirPw@other.example.com/events"));
	ck_assert_int_eq(run_once(&r), FH_ECONFLICT);
	ck_assert_uint_eq(r.fk.posts, 0); /* refused before any change */
	ck_assert_ptr_nonnull(strstr(r.plan, "other:***@other.example.com"));
	ck_assert_ptr_null(strstr(r.plan, "TheirPw"));
	r.opts.replace_event_callback = 1;
	ck_assert_int_eq(run_once(&r), FH_OK);
	ck_assert_str_eq(fh_json_str(w, "event_callback_url"),
	    "https://fhuser:"
	    "Sup3rSecretPw@hooks.example.com/tr-event-callback");
	/* ours with another password is not foreign */
	json_object_object_add(w, "event_callback_url",
	    json_object_new_string(
		"https://fhuser:OldPw@hooks.example.com/tr-event-callback"));
	r.opts.replace_event_callback = 0;
	r.opts.only = 1u << FH_PROV_EVENTS;
	ck_assert_int_eq(run_once(&r), FH_OK);
	ck_assert_uint_eq(r.fk.posts, 1);
	ck_assert_ptr_nonnull(strstr(r.plan,
	    "update EventCallbackUrl "
	    "Workspace"));
	run_release(&r);
}
END_TEST

START_TEST(test_run_callback_rules)
{
	struct run  r;
	static char missing[] = "WW00000000000000000000000000000bad";
	static char given[] = "WW00000000000000000000000000000c0d";

	run_init(&r);
	r.opts.only = 1u << FH_PROV_CALLBACK;
	fake_add(&r.fk, "Workflows", "WW000000000000000000000000000000d1",
	    "Assign to Anyone", "configuration", "{}");
	fake_add(&r.fk, "Workflows", "WW000000000000000000000000000000d2",
	    "My CALLBACKS", "configuration", "{}");
	ck_assert_int_eq(run_once(&r), FH_OK);
	ck_assert_uint_eq(r.fk.posts, 0);
	ck_assert_ptr_nonnull(strstr(r.out,
	    "TWILIO_FLEX_CALLBACK_WORKFLOW_SID="
	    "WW000000000000000000000000000000d2\n"));
	fake_add(&r.fk, "Workflows", "WW000000000000000000000000000000d3",
	    "Voicemail and callback", "configuration", "{}");
	ck_assert_int_eq(run_once(&r), FH_ECONFLICT);
	ck_assert_ptr_nonnull(strstr(r.plan, "d2 and WW"));
	/* the configured SID wins, and must exist */
	r.cfg.callback_workflow_sid = missing;
	ck_assert_int_eq(run_once(&r), FH_ECONFIG);
	fake_add(&r.fk, "Workflows", given, "Anything", "configuration", "{}");
	r.cfg.callback_workflow_sid = given;
	ck_assert_int_eq(run_once(&r), FH_OK);
	ck_assert_ptr_nonnull(strstr(r.plan, "ok Workflow 'Anything' "));
	run_release(&r);
}
END_TEST

START_TEST(test_run_callback_queue)
{
	struct run r;

	run_init(&r);
	r.opts.only = 1u << FH_PROV_CALLBACK;
	/* no Everyone queue and no --callback-queue: exit 2 */
	json_object_array_del_idx(
	    fake_arr(&r.fk, "/v1/Workspaces/" WS1 "/TaskQueues"), 0, 1);
	ck_assert_int_eq(run_once(&r), FH_ECONFIG);
	ck_assert_int_eq(fh_prov_exit_code(r.err), 2);
	memcpy(r.opts.callback_queue, "WQ000000000000000000000000000000f1",
	    FH_PROV_SID_LEN + 1);
	ck_assert_int_eq(run_once(&r), FH_ECONFIG); /* not in workspace */
	fake_add(&r.fk, "TaskQueues", "WQ000000000000000000000000000000f1",
	    "Mine", "target_workers", "1==1");
	ck_assert_int_eq(run_once(&r), FH_OK);
	ck_assert_uint_eq(r.fk.posts, 1);
	ck_assert_ptr_nonnull(strstr(
	    fh_json_str(
		fake_get(&r.fk, "Workflows", "Template Example Callback"),
		"configuration"),
	    "WQ000000000000000000000000000000f1"));
	run_release(&r);
}
END_TEST

START_TEST(test_run_given_redirect_queues)
{
	struct run r;

	run_init(&r);
	r.opts.only = 1u << FH_PROV_REDIRECT;
	r.opts.have_redirect_queues = 1;
	memcpy(r.opts.redirect_queues[0], WQE, FH_PROV_SID_LEN + 1);
	memcpy(r.opts.redirect_queues[1], WQE, FH_PROV_SID_LEN + 1);
	memcpy(r.opts.redirect_queues[2], "WQ000000000000000000000000000000f9",
	    FH_PROV_SID_LEN + 1);
	ck_assert_int_eq(run_once(&r), FH_ECONFIG);
	ck_assert_uint_eq(r.fk.posts, 0);
	memcpy(r.opts.redirect_queues[2], WQE, FH_PROV_SID_LEN + 1);
	ck_assert_int_eq(run_once(&r), FH_OK);
	ck_assert_uint_eq(r.fk.posts, 2); /* placeholder, workflow */
	ck_assert_ptr_null(fake_get(&r.fk, "TaskQueues",
	    "[TR Call "
	    "Redirection] Sales"));
	ck_assert_ptr_nonnull(
	    strstr(r.plan, "ok TaskQueue 'Everyone' " WQE " (given)"));
	run_release(&r);
}
END_TEST

START_TEST(test_run_workspace_discovery)
{
	struct run r;

	run_init(&r);
	r.cfg.workspace_sid = NULL;
	r.opts.only = 1u << FH_PROV_EVENTS;
	r.opts.dry_run = 1;
	ck_assert_int_eq(run_once(&r), FH_OK);
	ck_assert_ptr_nonnull(strstr(r.out, "TWILIO_FLEX_WORKSPACE_SID=" WS1));
	fake_add(&r.fk, "", "WS00000000000000000000000000000002",
	    "Flex Task Assignment", NULL, NULL);
	ck_assert_int_eq(run_once(&r), FH_ECONFIG);
	r.cfg.workspace_sid = ws;
	ws[33] = '9'; /* a workspace that does not exist */
	ck_assert_int_eq(run_once(&r), FH_ECONFIG);
	ws[33] = '1';
	run_release(&r);
}
END_TEST

START_TEST(test_run_config_missing)
{
	struct run r;

	run_init(&r);
	r.cfg.basic_auth = NULL;
	ck_assert_int_eq(run_once(&r), FH_ECONFIG);
	r.opts.only = 1u << FH_PROV_REDIRECT; /* events not asked for */
	ck_assert_int_eq(run_once(&r), FH_OK);
	r.cfg.auth_token = NULL;
	ck_assert_int_eq(run_once(&r), FH_ECONFIG);
	run_release(&r);
}
END_TEST

/* --check: one run of fh_prov_check(); no POST ever. */
static enum fh_err
check_once(struct run *r, unsigned *problems)
{
	struct fh_prov p;
	FILE	      *plan, *out;
	size_t	       pn, on;

	free(r->plan);
	free(r->out);
	r->plan = r->out = NULL;
	plan = open_memstream(&r->plan, &pn);
	out = open_memstream(&r->out, &on);
	ck_assert_ptr_nonnull(plan);
	ck_assert_ptr_nonnull(out);
	r->fk.posts = 0;
	r->opts.check = 1;
	fh_prov_init(&p, &r->cfg, &r->opts, &r->io, plan, out);
	r->err = fh_prov_check(&p);
	*problems = p.problems;
	fh_prov_release(&p);
	fclose(plan);
	fclose(out);
	ck_assert_uint_eq(r->fk.posts, 0);
	ck_assert_ptr_null(strstr(r->out, "Sup3rSecretPw"));
	ck_assert_msg(*r->out == '\0' || lines_start(r->out, "problem: ", NULL),
	    "out:\n%s", r->out);
	return r->err;
}

/* Remove the object sid from the fake's list. */
static void
fake_del(struct fake *fk, const char *list, const char *sid)
{
	struct json_object *arr;
	char		    path[256];
	size_t		    i;

	snprintf(path, sizeof(path), "/v1/Workspaces/" WS1 "/%s", list);
	arr = fake_arr(fk, path);
	for (i = 0; i < json_object_array_length(arr); i++)
		if (strcmp(
			fh_json_str(json_object_array_get_idx(arr, i), "sid"),
			sid) == 0) {
			json_object_array_del_idx(arr, i, 1);
			return;
		}
}

START_TEST(test_check)
{
	struct run	    r;
	struct json_object *ph, *rwf, *cwf, *w;
	char		    phs[40], rws[40], cws[40], rules[80];
	char		    fwd[] = "+6591234567";
	unsigned	    n;

	/* a workspace as flexhooks-provision leaves it, configured as its
	 * config lines say */
	run_init(&r);
	ck_assert_int_eq(run_once(&r), FH_OK);
	ph = fake_get(&r.fk, "TaskQueues",
	    "[TR Call Redirection] Call "
	    "Redirection");
	rwf = fake_get(&r.fk, "Workflows",
	    "[TR Call Redirection] Call "
	    "Redirection Workflow");
	cwf = fake_get(&r.fk, "Workflows", "Template Example Callback");
	snprintf(phs, sizeof(phs), "%s", fh_json_str(ph, "sid"));
	snprintf(rws, sizeof(rws), "%s", fh_json_str(rwf, "sid"));
	snprintf(cws, sizeof(cws), "%s", fh_json_str(cwf, "sid"));
	r.cfg.forward_queue_sid = phs;
	r.cfg.forward_to_number = fwd;
	r.cfg.inbound_workflow_sid = rws;
	r.cfg.callback_workflow_sid = cws;
	ck_assert_int_eq(check_once(&r, &n), FH_OK);
	ck_assert_msg(n == 0, "out:\n%s", r.out);
	ck_assert_str_eq(r.out, "");
	ck_assert_ptr_nonnull(strstr(r.plan, "0 problems found"));

	/* the callback workflow is the redirect one: callbacks strand */
	r.cfg.callback_workflow_sid = rws;
	ck_assert_int_eq(check_once(&r, &n), FH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(r.out, "problem: callback workflow "));
	ck_assert_ptr_nonnull(strstr(r.out,
	    "routes to redirect placeholder "
	    "queue "));
	ck_assert_ptr_nonnull(strstr(r.out, phs));
	r.cfg.callback_workflow_sid = cws;

	/* no rule for the placeholder: inbound callers would wait there */
	r.cfg.forward_queue_sid = r.cfg.forward_to_number = NULL;
	ck_assert_int_eq(check_once(&r, &n), FH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(r.out,
	    "which no worker matches "
	    "(TargetWorkers 1==2)"));
	/* ... the rule may be FLEXHOOKS_FORWARD_RULES' */
	snprintf(rules, sizeof(rules), "%s=+15551230000", phs);
	r.cfg.forward_rules = rules;
	ck_assert_int_eq(check_once(&r, &n), FH_OK);
	ck_assert_msg(n == 0, "out:\n%s", r.out);

	/* a rule's queue that does not exist; a workflow's missing queue */
	r.cfg.forward_queue_sid = (char *)Q3;
	r.cfg.forward_to_number = fwd;
	fake_del(&r.fk, "TaskQueues", WQE);
	ck_assert_int_eq(check_once(&r, &n), FH_OK);
	ck_assert_ptr_nonnull(strstr(r.out,
	    "redirect placeholder queue " Q3
	    " (FORWARD_CALL_TASK_QUEUE_SID or FLEXHOOKS_FORWARD_RULES) does "
	    "not exist"));
	ck_assert_ptr_nonnull(strstr(r.out,
	    "targets queue " WQE ", which "
	    "does not exist"));
	ck_assert_msg(n == 2, "out:\n%s", r.out);
	fake_add(
	    &r.fk, "TaskQueues", WQE, "Everyone", "target_workers", "1==1");
	r.cfg.forward_queue_sid = phs;

	/* a missing workflow; the event callback elsewhere, a short filter */
	r.cfg.inbound_workflow_sid =
	    (char *)"WW00000000000000000000000000000099";
	w = json_object_array_get_idx(fake_arr(&r.fk, "/v1/Workspaces"), 0);
	json_object_object_add(w, "event_callback_url",
	    json_object_new_string(
		"https://u:Sup3rSecretPw@other.example.com/events"));
	json_object_object_add(w, "events_filter",
	    json_object_new_string("task-queue.entered, reservation.accepted"));
	ck_assert_int_eq(check_once(&r, &n), FH_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_nonnull(strstr(r.out,
	    "FLEXHOOKS_INBOUND_WORKFLOW_SID "
	    "names workflow WW00000000000000000000000000000099, which does "
	    "not exist"));
	ck_assert_ptr_nonnull(strstr(r.out,
	    "sends its events to "
	    "'https://u:***@other.example.com/events', not to "
	    "https://hooks.example.com/tr-event-callback"));
	ck_assert_ptr_nonnull(strstr(r.out,
	    "events filter lacks "
	    "reservation.created,reservation.wrapup"));

	/* the other path, other credentials, an empty filter: fine; no URL
	 * at all is a problem */
	r.cfg.inbound_workflow_sid = rws;
	json_object_object_add(w, "event_callback_url",
	    json_object_new_string(
		"https://a:b@hooks.example.com/tr-event-handler"));
	json_object_object_add(w, "events_filter", json_object_new_string(""));
	ck_assert_int_eq(check_once(&r, &n), FH_OK);
	ck_assert_msg(n == 0, "out:\n%s", r.out);
	json_object_object_add(w, "event_callback_url", NULL);
	ck_assert_int_eq(check_once(&r, &n), FH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(r.out, "has no event callback URL"));

	/* no callback workflow at all; no credentials: cannot start */
	r.cfg.callback_workflow_sid = NULL;
	ck_assert_int_eq(check_once(&r, &n), FH_OK);
	ck_assert_ptr_nonnull(strstr(r.out,
	    "TWILIO_FLEX_CALLBACK_WORKFLOW_SID "
	    "is not set"));
	r.cfg.auth_token = NULL;
	ck_assert_int_eq(check_once(&r, &n), FH_ECONFIG);
	run_release(&r);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("provision");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_loop_test(core, test_equal, 0, (int)FH_NITEMS(eqcases));
	tcase_add_loop_test(core, test_mask, 0, (int)FH_NITEMS(mcases));
	tcase_add_test(core, test_event_url);
	tcase_add_loop_test(core, test_args, 0, (int)FH_NITEMS(acases));
	tcase_add_test(core, test_help_and_codes);
	tcase_add_loop_test(core, test_next_page, 0, (int)FH_NITEMS(pcases));
	tcase_add_test(core, test_workflow_config);
	tcase_add_test(core, test_run_empty_then_again);
	tcase_add_test(core, test_run_dry);
	tcase_add_test(core, test_run_update_only_diff);
	tcase_add_test(core, test_run_named_workspace);
	tcase_add_test(limits, test_run_named_workspace_dry_and_clash);
	tcase_add_test(limits, test_mask_limits);
	tcase_add_test(limits, test_run_clash);
	tcase_add_test(limits, test_run_foreign_callback);
	tcase_add_test(limits, test_run_callback_rules);
	tcase_add_test(limits, test_run_callback_queue);
	tcase_add_test(limits, test_run_given_redirect_queues);
	tcase_add_test(limits, test_run_workspace_discovery);
	tcase_add_test(limits, test_run_config_missing);
	tcase_add_test(core, test_check);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
