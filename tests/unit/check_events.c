/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_events.c - taskrouter-events: field parsing, classification,
 * attribute paths and E.164, the claim markers (reading, adding, merging
 * the outbound entries), the call update and Calls.json forms byte for
 * byte, URL encoding inside them, the handler's decisions that need no
 * REST client (its log lines read back), and the route table's transport
 * rules through fh_dispatch() (405, 400 for a body that is not a form,
 * 403, 204 with application/json).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "handlers/events.h"
#include "lib/fcgi.h"
#include "fh_check.h"
#include "lib/form.h"
#include "lib/json.h"
#include "lib/sig.h"

#define AC "AC0123456789abcdef0123456789abcdef"
#define WS "WS0123456789abcdef0123456789abcdef"
#define WS2 "WSffffffffffffffffffffffffffffffff"
#define WQ1 "WQ0123456789abcdef0123456789abcd01"
#define WQ2 "WQ0123456789abcdef0123456789abcd02"
#define WQX "WQ0123456789abcdef0123456789abcdff"
#define WT "WT0123456789abcdef0123456789abcdef"
#define WR "WR0123456789abcdef0123456789abcdef"
#define EV "EV0123456789abcdef0123456789abcdef"
#define CA "CA0123456789abcdef0123456789abcdef"
#define FORM "application/x-www-form-urlencoded"
#define TOKEN "12345"
#define PUBLIC "https://hooks.example.com"
#define IDS "AccountSid=" AC "&WorkspaceSid=" WS

static struct fh_config cfg;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.account_sid = (char *)AC;
	cfg.workspace_sid = (char *)WS;
	cfg.auth_token = (char *)TOKEN;
	cfg.public_url = (char *)PUBLIC;
	cfg.forward_queue_sid = (char *)WQ1;
	cfg.forward_to_number = (char *)"+6591234567";
	cfg.forward_rules = (char *)WQ2 "=+15551230000";
	cfg.outbound_to_attribute = (char *)"practicePhone";
	cfg.outbound_from_attribute = (char *)"callerID";
	cfg.amd_speech_threshold = 1000;
	cfg.say_voice = (char *)"Polly.Joanna";
}

static struct json_object *
parse(const char *s)
{
	struct json_object *o = NULL;

	ck_assert_msg(fh_json_parse(s, strlen(s), &o) == FH_OK, "parse %s", s);
	return o;
}

/* --------------------------------------------------------- parsing */

START_TEST(test_parse_fields)
{
	struct fh_form	   f;
	struct fh_tr_event ev;
	static const char  body[] =
	    "EventType=task-queue.entered&Sid=" EV "&" IDS "&TaskSid=" WT
	    "&TaskQueueSid=" WQ1 "&ReservationSid=" WR
	    "&TaskQueueName=Call+Redirection"
	    "&WorkerSid=WK1&WorkerName=w&EventDescription=d&Timestamp=1700"
	    "&TaskAttributes=%7B%22call_sid%22%3A%22" CA "%22%7D"
	    "&Unknown=kept";

	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, body, strlen(body)), FH_OK);
	fh_tr_event_parse(&f, &ev);
	ck_assert_str_eq(ev.type, "task-queue.entered");
	ck_assert_str_eq(ev.sid, EV);
	ck_assert_str_eq(ev.account_sid, AC);
	ck_assert_str_eq(ev.workspace_sid, WS);
	ck_assert_str_eq(ev.task_sid, WT);
	ck_assert_str_eq(ev.queue_sid, WQ1);
	ck_assert_str_eq(ev.reservation_sid, WR);
	ck_assert_str_eq(ev.queue_name, "Call Redirection");
	ck_assert_str_eq(ev.worker_sid, "WK1");
	ck_assert_str_eq(ev.worker_name, "w");
	ck_assert_str_eq(ev.description, "d");
	ck_assert_str_eq(ev.timestamp, "1700");
	ck_assert_str_eq(ev.attributes, "{\"call_sid\":\"" CA "\"}");
	ck_assert_uint_eq(ev.attributes_len, strlen(ev.attributes));
	fh_form_release(&f);
}
END_TEST

/* Fields that do not validate read as absent, one by one. */
START_TEST(test_parse_limits)
{
	struct fh_form	   f;
	struct fh_tr_event ev;
	char		  *big;
	size_t		   n = 300;
	static const char  body[] = "EventType=&Sid=%00x&TaskSid=%FF"
				    "&TaskAttributes=%7B%7D%00";

	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, body, strlen(body)), FH_OK);
	fh_tr_event_parse(&f, &ev);
	ck_assert_ptr_null(ev.type);
	ck_assert_ptr_null(ev.sid);
	ck_assert_ptr_null(ev.task_sid);
	ck_assert_ptr_null(ev.attributes);
	ck_assert_uint_eq(ev.attributes_len, 0);
	fh_form_release(&f);

	/* 256 bytes is the cap of an ordinary field, not of the attributes */
	big = malloc(2 * n + 64);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "EventType=", 10);
	memset(big + 10, 'a', n);
	memcpy(big + 10 + n, "&TaskAttributes=", 16);
	memset(big + 26 + n, 'b', n);
	big[26 + 2 * n] = '\0';
	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, big, strlen(big)), FH_OK);
	fh_tr_event_parse(&f, &ev);
	ck_assert_ptr_null(ev.type);
	ck_assert_ptr_nonnull(ev.attributes);
	ck_assert_uint_eq(ev.attributes_len, n);
	fh_form_release(&f);
	free(big);
}
END_TEST

/* --------------------------------------------------------- dispatch */

struct ccase {
	const char	 *body;
	enum fh_tr_action want;
};

static const struct ccase ccases[] = {
    {"EventType=task-queue.entered&" IDS "&TaskQueueSid=" WQ1, FH_TR_REDIRECT},
    {"EventType=task-queue.entered&" IDS "&TaskQueueSid=" WQ2, FH_TR_REDIRECT},
    {"EventType=task-queue.entered&" IDS "&TaskQueueSid=" WQX,
	FH_TR_OTHER_QUEUE},
    {"EventType=task-queue.entered&" IDS, FH_TR_OTHER_QUEUE},
    {"EventType=task-queue.entered&" IDS "&TaskQueueSid=WQ123",
	FH_TR_OTHER_QUEUE},
    /* the placeholder's task.created must not redirect again */
    {"EventType=task.created&" IDS "&TaskQueueSid=" WQ1, FH_TR_IGNORE},
    {"EventType=task.updated&" IDS "&TaskQueueSid=" WQ1, FH_TR_IGNORE},
    {"EventType=reservation.created&" IDS, FH_TR_OUTBOUND},
    {"EventType=reservation.wrapup&" IDS, FH_TR_WRAPUP},
    {"EventType=reservation.accepted&" IDS, FH_TR_IGNORE},
    {"EventType=RESERVATION.CREATED&" IDS, FH_TR_IGNORE},
    {IDS "&TaskQueueSid=" WQ1, FH_TR_IGNORE},
    {"EventType=&" IDS, FH_TR_IGNORE},
    /* only this account's and workspace's events */
    {"EventType=task-queue.entered&AccountSid=" AC "&WorkspaceSid=" WS2
     "&TaskQueueSid=" WQ1,
	FH_TR_FOREIGN},
    {"EventType=reservation.created&WorkspaceSid=" WS, FH_TR_FOREIGN},
    {"EventType=reservation.created&AccountSid=" AC, FH_TR_FOREIGN},
    {"EventType=reservation.created&AccountSid=ACffffffffffffffffffffff"
     "ffffffffff&WorkspaceSid=" WS,
	FH_TR_FOREIGN},
};

START_TEST(test_classify)
{
	const struct ccase *c = &ccases[_i];
	struct fh_form	    f;
	struct fh_tr_event  ev;
	enum fh_tr_action   got;

	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, c->body, strlen(c->body)), FH_OK);
	fh_tr_event_parse(&f, &ev);
	got = fh_tr_classify(&cfg, &ev);
	ck_assert_msg(got == c->want, "case %d: %s, want %s", _i,
	    fh_tr_action_name(got), fh_tr_action_name(c->want));
	fh_form_release(&f);
}
END_TEST

/* FLEXHOOKS_EVENT_WORKSPACES: the listed workspaces' events are handled
 * too, with or without the Flex workspace; others are foreign. */
#define WS3 "WSeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
START_TEST(test_classify_workspaces)
{
	struct fh_tr_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = "reservation.created";
	ev.account_sid = AC;
	ev.workspace_sid = WS2;
	ck_assert_int_eq(fh_tr_classify(&cfg, &ev), FH_TR_FOREIGN);
	cfg.event_workspaces = (char *)WS2;
	ck_assert_int_eq(fh_tr_classify(&cfg, &ev), FH_TR_OUTBOUND);
	ev.workspace_sid = WS; /* the Flex one is always included */
	ck_assert_int_eq(fh_tr_classify(&cfg, &ev), FH_TR_OUTBOUND);
	ev.workspace_sid = WS3;
	ck_assert_int_eq(fh_tr_classify(&cfg, &ev), FH_TR_FOREIGN);
	/* without Flex */
	cfg.workspace_sid = NULL;
	cfg.event_workspaces = (char *)WS3 "," WS2;
	ck_assert_int_eq(fh_tr_classify(&cfg, &ev), FH_TR_OUTBOUND);
	ev.workspace_sid = WS2;
	ev.type = "reservation.wrapup";
	ck_assert_int_eq(fh_tr_classify(&cfg, &ev), FH_TR_WRAPUP);
	ev.workspace_sid = WS;
	ck_assert_int_eq(fh_tr_classify(&cfg, &ev), FH_TR_FOREIGN);
	ev.workspace_sid = NULL;
	ck_assert_int_eq(fh_tr_classify(&cfg, &ev), FH_TR_FOREIGN);
}
END_TEST

/* Another workspace's dialer: /dial-queue and /status-callback are told
 * which one; the default workspace's URLs stay as
 * docs/design/taskrouter-events.md#outbound-dialer shows. */
START_TEST(test_outbound_form_workspace)
{
	struct fh_buf  b;
	struct fh_form f;

	cfg.event_workspaces = (char *)WS2;
	fh_buf_init(&b, 1 << 16);
	ck_assert_int_eq(fh_tr_outbound_form(&cfg, "+14158786346",
			     "+15005550006", WR, WT, WS2, &b),
	    FH_OK);
	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, b.data, b.len), FH_OK);
	ck_assert_str_eq(fh_form_get(&f, "Url")->value,
	    PUBLIC "/dial-queue?queue=" WR "&from=%2B15005550006&task=" WT
		   "&workspace=" WS2);
	ck_assert_str_eq(fh_form_get(&f, "StatusCallback")->value,
	    PUBLIC "/status-callback?reservation=" WR "&task=" WT
		   "&workspace=" WS2);
	fh_form_release(&f);
	fh_buf_release(&b);

	fh_buf_init(&b, 1 << 16);
	ck_assert_int_eq(fh_tr_outbound_form(&cfg, "+14158786346",
			     "+15005550006", WR, WT, WS, &b),
	    FH_OK);
	ck_assert_ptr_null(strstr(fh_buf_cstr(&b), "workspace"));
	fh_buf_release(&b);

	/* without Flex the first listed workspace is the default (the
	 * loader keeps it apart) */
	cfg.workspace_sid = NULL;
	memcpy(cfg.event_workspace1, WS2, sizeof(WS2));
	fh_buf_init(&b, 1 << 16);
	ck_assert_int_eq(fh_tr_outbound_form(&cfg, "+14158786346",
			     "+15005550006", WR, WT, WS2, &b),
	    FH_OK);
	ck_assert_ptr_null(strstr(fh_buf_cstr(&b), "workspace"));
	fh_buf_release(&b);
}
END_TEST

START_TEST(test_no_rules)
{
	struct fh_tr_event ev;

	cfg.forward_queue_sid = cfg.forward_to_number = NULL;
	cfg.forward_rules = NULL;
	memset(&ev, 0, sizeof(ev));
	ev.type = "task-queue.entered";
	ev.account_sid = AC;
	ev.workspace_sid = WS;
	ev.queue_sid = WQ1;
	ck_assert_int_eq(fh_tr_classify(&cfg, &ev), FH_TR_OTHER_QUEUE);
	ck_assert_str_eq(fh_tr_action_name(FH_TR__MAX), "unknown");
	ck_assert_str_eq(fh_tr_action_name(FH_TR_WRAPUP), "wrapup");
}
END_TEST

/* --------------------------------------------------------- attributes */

struct acase {
	const char *attrs; /* TaskAttributes, NULL = absent */
	enum fh_err want;
};

static const struct acase acases[] = {
    {"{}", FH_OK},
    {" {\"a\":1} ", FH_OK},
    {NULL, FH_EINPUT},
    {"", FH_EINPUT},
    {"[]", FH_EINPUT},
    {"\"x\"", FH_EINPUT},
    {"null", FH_EINPUT},
    {"{", FH_EINPUT},
    {"{}x", FH_EINPUT},
    {"{\"a\":1,}", FH_EINPUT},
    {"{\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}", FH_EINPUT},
};

START_TEST(test_attributes)
{
	const struct acase *c = &acases[_i];
	struct fh_tr_event  ev;
	struct json_object *o = NULL;

	memset(&ev, 0, sizeof(ev));
	ev.attributes = c->attrs;
	ev.attributes_len = c->attrs != NULL ? strlen(c->attrs) : 0;
	ck_assert_int_eq(fh_tr_event_attributes(&ev, &o), c->want);
	if (c->want == FH_OK)
		ck_assert(json_object_is_type(o, json_type_object));
	else
		ck_assert_ptr_null(o);
	json_object_put(o);
}
END_TEST

struct pcase {
	const char *attrs, *path, *want; /* want: JSON text or NULL */
};

static const struct pcase pcases[] = {
    {"{\"practicePhone\":\"+1\"}", "practicePhone", "\"+1\""},
    {"{\"a\":{\"b\":{\"c\":5}}}", "a.b.c", "5"},
    {"{\"a\":{\"b\":{\"c\":5}}}", "a.b", "{\"c\":5}"},
    {"{\"a\":{\"b\":null}}", "a.b", NULL},
    {"{\"a.b\":1}", "a.b", NULL},
    {"{\"a\":[1]}", "a.0", NULL},
    {"{\"a\":\"x\"}", "a.b", NULL},
    {"{\"a\":{}}", "a.", NULL},
    {"{\"a\":{}}", ".a", NULL},
    {"{\"a\":{}}", "", NULL},
    {"{}", "practicePhone", NULL},
    {"{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aa\":1}",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaa",
	NULL},
};

START_TEST(test_attr_get)
{
	const struct pcase *c = &pcases[_i];
	struct json_object *o, *v;

	o = parse(c->attrs);
	v = fh_tr_attr_get(o, c->path);
	if (c->want == NULL)
		ck_assert_msg(
		    v == NULL, "case %d: found %s", _i, fh_json_text(v));
	else {
		ck_assert_ptr_nonnull(v);
		ck_assert_str_eq(fh_json_text(v), c->want);
	}
	json_object_put(o);
	ck_assert_ptr_null(fh_tr_attr_get(NULL, "a"));
}
END_TEST

struct ecase {
	const char *json, *want; /* want NULL: not E.164 */
};

static const struct ecase ecases[] = {
    {"\"+14158786346\"", "+14158786346"},
    {"\" +14158786346\\t\"", "+14158786346"},
    {"\"+12\"", "+12"},
    {"\"+123456789012345\"", "+123456789012345"},
    {"\"+1234567890123456\"", NULL},
    {"\"+1\"", NULL},
    {"\"+0123456\"", NULL},
    {"\"14158786346\"", NULL},
    {"\"+1 415 878 6346\"", NULL},
    {"\"+1-415-878-6346\"", NULL},
    {"\"+1(415)8786346\"", NULL},
    {"\"\"", NULL},
    {"\"   \"", NULL},
    {"14158786346", NULL},
    {"false", NULL},
    {"[\"+14158786346\"]", NULL},
    {"\"sip:a@b\"", NULL},
    {"\"client:x\"", NULL},
    /* NUL is not whitespace: never trimmed, never dialled */
    {"\"\\u0000+14158786346\"", NULL},
    {"\"+14158786346\\u0000\"", NULL},
    {"\"\\u0000+14158786346\\u0000\"", NULL},
};

START_TEST(test_e164)
{
	const struct ecase *c = &ecases[_i];
	struct json_object *o;
	char		    out[24];

	o = parse(c->json);
	if (c->want == NULL)
		ck_assert_msg(!fh_tr_e164(o, out, sizeof(out)), "case %d", _i);
	else {
		ck_assert_msg(fh_tr_e164(o, out, sizeof(out)), "case %d", _i);
		ck_assert_str_eq(out, c->want);
	}
	json_object_put(o);
	ck_assert(!fh_tr_e164(NULL, out, sizeof(out)));
}
END_TEST

/* --------------------------------------------------------- markers */

#define OURS "c1a1c1a1c1a1c1a1c1a1c1a1c1a1c1a1"
#define RM "{\"flexhooks_redirect\":"
#define OM "{\"flexhooks_outbound\":"

struct mcase {
	const char	  *attrs;
	enum fh_tr_feature f;
	const char	  *key, *claim;
	enum fh_tr_mark	   want;
};

static const struct mcase mcases[] = {
    {"{}", FH_TR_FEAT_REDIRECT, NULL, OURS, FH_TR_MARK_NONE},
    {"{\"call_sid\":\"" CA "\"}", FH_TR_FEAT_REDIRECT, NULL, OURS,
	FH_TR_MARK_NONE},
    {RM "{\"to\":\"+1\",\"claim\":\"" OURS "\"}}", FH_TR_FEAT_REDIRECT, NULL,
	OURS, FH_TR_MARK_OURS},
    {RM "{\"claim\":\"other\"}}", FH_TR_FEAT_REDIRECT, NULL, OURS,
	FH_TR_MARK_OTHER},
    {RM "{\"claim\":\"" OURS "\"}}", FH_TR_FEAT_REDIRECT, NULL, "",
	FH_TR_MARK_OTHER},
    {RM "{\"claim\":\"" OURS "\"}}", FH_TR_FEAT_REDIRECT, NULL, NULL,
	FH_TR_MARK_OTHER},
    /* unreadable markers never let the work happen twice */
    {RM "null}", FH_TR_FEAT_REDIRECT, NULL, OURS, FH_TR_MARK_OTHER},
    {RM "\"x\"}", FH_TR_FEAT_REDIRECT, NULL, OURS, FH_TR_MARK_OTHER},
    {RM "{}}", FH_TR_FEAT_REDIRECT, NULL, OURS, FH_TR_MARK_OTHER},
    {RM "{\"claim\":5}}", FH_TR_FEAT_REDIRECT, NULL, OURS, FH_TR_MARK_OTHER},
    /* the outbound marker is keyed by reservation */
    {"{}", FH_TR_FEAT_OUTBOUND, WR, OURS, FH_TR_MARK_NONE},
    {OM "{\"WRx\":{\"claim\":\"other\"}}}", FH_TR_FEAT_OUTBOUND, WR, OURS,
	FH_TR_MARK_NONE},
    {OM "{\"" WR "\":{\"claim\":\"other\"}}}", FH_TR_FEAT_OUTBOUND, WR, OURS,
	FH_TR_MARK_OTHER},
    {OM "{\"" WR "\":{\"claim\":\"" OURS "\"}}}", FH_TR_FEAT_OUTBOUND, WR, OURS,
	FH_TR_MARK_OURS},
    {OM "{\"" WR "\":[]}}", FH_TR_FEAT_OUTBOUND, WR, OURS, FH_TR_MARK_OTHER},
    {OM "[]}", FH_TR_FEAT_OUTBOUND, WR, OURS, FH_TR_MARK_NONE},
    {OM "null}", FH_TR_FEAT_OUTBOUND, WR, OURS, FH_TR_MARK_NONE},
    /* the two features do not see each other's markers */
    {RM "{\"claim\":\"other\"}}", FH_TR_FEAT_OUTBOUND, WR, OURS,
	FH_TR_MARK_NONE},
    {OM "{\"" WR "\":{\"claim\":\"other\"}}}", FH_TR_FEAT_REDIRECT, NULL, OURS,
	FH_TR_MARK_NONE},
    {"[]", FH_TR_FEAT_REDIRECT, NULL, OURS, FH_TR_MARK_NONE},
};

START_TEST(test_marker_state)
{
	const struct mcase *c = &mcases[_i];
	struct json_object *o;
	enum fh_tr_mark	    got;

	o = parse(c->attrs);
	got = fh_tr_marker_state(o, c->f, c->key, c->claim);
	ck_assert_msg(got == c->want, "case %d: %s, want %s", _i,
	    fh_tr_mark_name(got), fh_tr_mark_name(c->want));
	json_object_put(o);
	ck_assert_int_eq(
	    fh_tr_marker_state(NULL, c->f, c->key, c->claim), FH_TR_MARK_NONE);
}
END_TEST

/* Every other key keeps its value and JSON type; the marker is added. */
START_TEST(test_marker_add_redirect)
{
	struct json_object *o;
	struct fh_tr_marker m;
	static const char   in[] =
	    "{\"call_sid\":\"" CA "\",\"n\":1,"
	    "\"f\":1.5,\"b\":false,\"z\":null,\"a\":[1,\"2\",{}],"
	    "\"o\":{\"attempts\":2,\"x\":\"\\u00e9\"},"
	    "\"flexhooks_redirect\":{\"claim\":\"old\"}}";

	o = parse(in);
	memset(&m, 0, sizeof(m));
	m.to = "+6591234567";
	m.event_sid = EV;
	m.claim = OURS;
	m.at = "2025-01-02T03:04:05Z";
	ck_assert_int_eq(fh_tr_marker_add(o, FH_TR_FEAT_REDIRECT, &m), FH_OK);
	ck_assert_str_eq(fh_json_text(o),
	    "{\"call_sid\":\"" CA "\",\"n\":1,"
	    "\"f\":1.5,\"b\":false,\"z\":null,\"a\":[1,\"2\",{}],"
	    "\"o\":{\"attempts\":2,\"x\":\"\xc3\xa9\"},"
	    "\"flexhooks_redirect\":{\"to\":\"+6591234567\",\"event_sid\":\"" EV
	    "\",\"claim\":\"" OURS "\",\"at\":\"2025-01-02T03:04:05Z\"}}");
	ck_assert_int_eq(fh_tr_marker_state(o, FH_TR_FEAT_REDIRECT, NULL, OURS),
	    FH_TR_MARK_OURS);
	json_object_put(o);

	/* no Sid: event_sid is null */
	o = parse("{}");
	m.event_sid = NULL;
	ck_assert_int_eq(fh_tr_marker_add(o, FH_TR_FEAT_REDIRECT, &m), FH_OK);
	ck_assert_str_eq(fh_json_text(o),
	    "{\"flexhooks_redirect\":{\"to\":"
	    "\"+6591234567\",\"event_sid\":null,\"claim\":\"" OURS "\","
	    "\"at\":\"2025-01-02T03:04:05Z\"}}");
	json_object_put(o);
}
END_TEST

START_TEST(test_marker_add_limits)
{
	struct json_object *o;
	struct fh_tr_marker m;

	memset(&m, 0, sizeof(m));
	m.claim = OURS;
	m.at = "2025-01-02T03:04:05Z";
	o = parse("[]");
	m.to = "+1555";
	ck_assert_int_eq(
	    fh_tr_marker_add(o, FH_TR_FEAT_REDIRECT, &m), FH_EINPUT);
	json_object_put(o);
	o = parse("{}");
	m.to = NULL;
	ck_assert_int_eq(
	    fh_tr_marker_add(o, FH_TR_FEAT_REDIRECT, &m), FH_EINPUT);
	ck_assert_int_eq(
	    fh_tr_marker_add(o, FH_TR_FEAT_OUTBOUND, &m), FH_EINPUT);
	ck_assert_int_eq(
	    fh_tr_marker_add(NULL, FH_TR_FEAT_OUTBOUND, &m), FH_EINPUT);
	ck_assert_str_eq(fh_json_text(o), "{}");
	json_object_put(o);
}
END_TEST

/* The outbound marker keeps the newest 10 reservations by "at". */
START_TEST(test_marker_merge_outbound)
{
	struct json_object *o, *mk;
	struct fh_tr_marker m;
	struct fh_buf	    b;
	char		    key[40], at[32];
	int		    i;

	/* twelve older entries, written newest first, one unreadable */
	fh_buf_init(&b, 1 << 16);
	ck_assert_int_eq(fh_buf_addstr(&b,
			     "{\"practicePhone\":\"+1415\","
			     "\"flexhooks_outbound\":{"),
	    FH_OK);
	for (i = 12; i >= 1; i--)
		ck_assert_int_eq(fh_buf_printf(&b,
				     "\"WR%032d\":{\"event_sid\":"
				     "null,\"claim\":\"c%d\",\"at\":\"2025-01-"
				     "01T00:00:%02dZ\"},",
				     i, i, i),
		    FH_OK);
	ck_assert_int_eq(fh_buf_addstr(&b,
			     "\"WRjunk\":7,\"" WR "\":{\"claim\""
			     ":\"mine-before\"}},\"tail\":true}"),
	    FH_OK);
	o = parse(fh_buf_cstr(&b));
	memset(&m, 0, sizeof(m));
	m.reservation = WR;
	m.event_sid = EV;
	m.claim = OURS;
	m.at = "2025-01-02T03:04:05Z";
	ck_assert_int_eq(fh_tr_marker_add(o, FH_TR_FEAT_OUTBOUND, &m), FH_OK);
	ck_assert(json_object_object_get_ex(o, FH_TR_OUTBOUND_MARKER, &mk));
	ck_assert_int_eq(json_object_object_length(mk), FH_TR_OUTBOUND_KEEP);
	/* the 9 newest others (4..12) and ours; 1-3 and junk dropped */
	for (i = 1; i <= 12; i++) {
		snprintf(key, sizeof(key), "WR%032d", i);
		ck_assert_msg(
		    json_object_object_get_ex(mk, key, NULL) == (i >= 4),
		    "entry %d", i);
	}
	ck_assert(!json_object_object_get_ex(mk, "WRjunk", NULL));
	ck_assert_int_eq(fh_tr_marker_state(o, FH_TR_FEAT_OUTBOUND, WR, OURS),
	    FH_TR_MARK_OURS);
	snprintf(key, sizeof(key), "WR%032d", 4);
	snprintf(at, sizeof(at), "\"at\":\"2025-01-01T00:00:04Z\"");
	ck_assert_ptr_nonnull(strstr(fh_json_text(mk), at));
	/* the other keys are where they were, with their types */
	ck_assert_str_eq(fh_json_str(o, "practicePhone"), "+1415");
	ck_assert_ptr_nonnull(strstr(fh_json_text(o), "\"tail\":true"));
	ck_assert_ptr_nonnull(strstr(fh_json_text(mk),
	    "\"" WR "\":{"
	    "\"event_sid\":\"" EV "\",\"claim\":\"" OURS "\",\"at\":"
	    "\"2025-01-02T03:04:05Z\"}}"));
	json_object_put(o);
	fh_buf_release(&b);

	/* a null entry (no claim) is dropped, not an error */
	o = parse("{\"flexhooks_outbound\":{\"WRx\":null,\"WRy\":{\"claim\":"
		  "\"c\",\"at\":\"2025-01-01T00:00:00Z\"}}}");
	ck_assert_int_eq(fh_tr_marker_add(o, FH_TR_FEAT_OUTBOUND, &m), FH_OK);
	ck_assert(json_object_object_get_ex(o, FH_TR_OUTBOUND_MARKER, &mk));
	ck_assert(!json_object_object_get_ex(mk, "WRx", NULL));
	ck_assert(json_object_object_get_ex(mk, "WRy", NULL));
	ck_assert_int_eq(fh_tr_marker_state(o, FH_TR_FEAT_OUTBOUND, WR, OURS),
	    FH_TR_MARK_OURS);
	json_object_put(o);

	/* a marker that is not an object is replaced; a first entry */
	o = parse("{\"flexhooks_outbound\":\"x\"}");
	ck_assert_int_eq(fh_tr_marker_add(o, FH_TR_FEAT_OUTBOUND, &m), FH_OK);
	ck_assert_str_eq(fh_json_text(o),
	    "{\"flexhooks_outbound\":{\"" WR "\":{\"event_sid\":\"" EV
	    "\",\"claim\":\"" OURS "\",\"at\":"
	    "\"2025-01-02T03:04:05Z\"}}}");
	json_object_put(o);
}
END_TEST

START_TEST(test_new_claim)
{
	char a[FH_TR_CLAIM_LEN + 1], b[FH_TR_CLAIM_LEN + 1];

	ck_assert_int_eq(fh_tr_new_claim(a, sizeof(a)), FH_OK);
	ck_assert_int_eq(fh_tr_new_claim(b, sizeof(b)), FH_OK);
	ck_assert_uint_eq(strlen(a), FH_TR_CLAIM_LEN);
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), FH_TR_CLAIM_LEN);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(fh_tr_new_claim(a, FH_TR_CLAIM_LEN), FH_EINTERNAL);
}
END_TEST

/* --------------------------------------------------------- forms */

/* Section 5.1's example, with real SIDs: byte for byte. */
START_TEST(test_outbound_form)
{
	struct fh_buf b;

	fh_buf_init(&b, 1 << 16);
	ck_assert_int_eq(fh_tr_outbound_form(&cfg, "+14158786346",
			     "+15005550006", WR, WT, NULL, &b),
	    FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b),
	    "To=%2B14158786346&From=%2B15005550006"
	    "&Url=https%3A%2F%2Fhooks.example.com%2Fdial-queue%3Fqueue%3D" WR
	    "%26from%3D%252B15005550006%26task%3D" WT
	    "&Method=POST&StatusCallback=https%3A%2F%2Fhooks.example.com%2F"
	    "status-callback%3Freservation%3D" WR "%26task%3D" WT
	    "&StatusCallbackMethod=POST&StatusCallbackEvent=answered"
	    "&StatusCallbackEvent=completed&MachineDetection=Enable"
	    "&MachineDetectionSpeechThreshold=1000");
	fh_buf_release(&b);

	/* empty threshold: the field is left out */
	cfg.amd_speech_threshold = 0;
	cfg.public_url = (char *)"https://h.example.com:8443/prefix";
	fh_buf_init(&b, 1 << 16);
	ck_assert_int_eq(fh_tr_outbound_form(&cfg, "+442071230000",
			     "+15005550006", WR, WT, NULL, &b),
	    FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b),
	    "To=%2B442071230000&From=%2B15005550006"
	    "&Url=https%3A%2F%2Fh.example.com%3A8443%2Fprefix%2Fdial-queue%3F"
	    "queue%3D" WR "%26from%3D%252B15005550006%26task%3D" WT
	    "&Method=POST&StatusCallback=https%3A%2F%2Fh.example.com%3A8443%2F"
	    "prefix%2Fstatus-callback%3Freservation%3D" WR "%26task%3D" WT
	    "&StatusCallbackMethod=POST&StatusCallbackEvent=answered"
	    "&StatusCallbackEvent=completed&MachineDetection=Enable");
	fh_buf_release(&b);

	/* no public URL: nothing to send */
	cfg.public_url = NULL;
	fh_buf_init(&b, 1 << 16);
	ck_assert_int_eq(
	    fh_tr_outbound_form(&cfg, "+1555", "+1555", WR, WT, NULL, &b),
	    FH_ECONFIG);
	fh_buf_release(&b);
}
END_TEST

/* The values inside Url are encoded once there and once more as a form
 * value: a decoder sees exactly what went in. */
START_TEST(test_url_encoding)
{
	struct fh_buf	      b;
	struct fh_form	      f;
	const struct fh_pair *url;

	fh_buf_init(&b, 1 << 16);
	ck_assert_int_eq(fh_tr_outbound_form(&cfg, "+14158786346", "+1 &=?%/#",
			     WR, WT, NULL, &b),
	    FH_OK);
	fh_form_init(&f);
	ck_assert_int_eq(fh_form_parse(&f, b.data, b.len), FH_OK);
	ck_assert_str_eq(fh_form_get(&f, "From")->value, "+1 &=?%/#");
	url = fh_form_get(&f, "Url");
	ck_assert_str_eq(url->value,
	    PUBLIC "/dial-queue?queue=" WR
		   "&from=%2B1%20%26%3D%3F%25%2F%23&task=" WT);
	fh_form_release(&f);
	fh_buf_release(&b);

	fh_buf_init(&b, 256);
	ck_assert_int_eq(fh_url_encode(&b, "+15005550006", 12), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b), "%2B15005550006");
	fh_buf_release(&b);
}
END_TEST

START_TEST(test_redirect_form)
{
	struct fh_buf b;

	/* mode twiml: the twiml-redirect-call document without the declaration
	 */
	fh_buf_init(&b, 1 << 16);
	ck_assert_int_eq(
	    fh_tr_redirect_form(&cfg, WQ1, "+6591234567", &b), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b),
	    "Twiml=%3CResponse%3E%3CDial%3E"
	    "%2B6591234567%3C%2FDial%3E%3C%2FResponse%3E");
	fh_buf_release(&b);

	/* with the <Dial> attributes, in order, escaped by the writer */
	cfg.redirect_caller_id = (char *)"+15005550006";
	cfg.redirect_timeout = 20;
	cfg.redirect_action = (char *)"https://x.example/done?a=1&b=2";
	fh_buf_init(&b, 1 << 16);
	ck_assert_int_eq(
	    fh_tr_redirect_form(&cfg, WQ1, "+6591234567", &b), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b),
	    "Twiml=%3CResponse%3E%3CDial%20"
	    "callerId%3D%22%2B15005550006%22%20timeout%3D%2220%22%20action%3D"
	    "%22https%3A%2F%2Fx.example%2Fdone%3Fa%3D1%26amp%3Bb%3D2%22%3E"
	    "%2B6591234567%3C%2FDial%3E%3C%2FResponse%3E");
	fh_buf_release(&b);

	/* mode url: the reference request */
	cfg.redirect_mode_url = 1;
	fh_buf_init(&b, 1 << 16);
	ck_assert_int_eq(
	    fh_tr_redirect_form(&cfg, WQ2, "+15551230000", &b), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&b),
	    "Url=https%3A%2F%2Fhooks.example."
	    "com%2Ftwiml-redirect-call%3Fqueue%3D" WQ2 "&Method=GET");
	fh_buf_release(&b);
}
END_TEST

/* --------------------------------------------------------- handler */

/* One request through fh_dispatch() and the events route table. */
struct hreq {
	const char *method, *path, *ctype, *body;
	int	    basic, sign;
};

static const struct fh_route routes[] = {
    {"/tr-event-callback", FH_AUTH_TWILIO_SIG_BASIC,
	FH_ALLOW_POST | FH_ROUTE_FORM_ONLY, fh_handle_tr_event},
    {"/tr-event-handler", FH_AUTH_TWILIO_SIG_BASIC,
	FH_ALLOW_POST | FH_ROUTE_FORM_ONLY, fh_handle_tr_event},
};

/* Run h; the log goes to a temporary file read back into log (caller
 * frees).  Returns the handler's error. */
static enum fh_err
run(const struct hreq *h, struct fh_resp *resp, char **log)
{
	struct fh_ctx  ctx;
	struct fh_req  req;
	struct fh_form params;
	char	       m[64], u[256], ct[256], sig[FH_SIG_LEN + 1];
	char	       sh[64], url[512], *envp[7];
	size_t	       n = 0, len;
	long	       sz;
	FILE	      *f;
	enum fh_err    err;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	ctx.prog = "test";
	fh_log_init(&ctx.log, "test", FH_LOG_DEBUG);
	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	ctx.log.out = f;
	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", h->method);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", h->path);
	envp[n++] = m;
	envp[n++] = u;
	if (h->ctype != NULL) {
		snprintf(ct, sizeof(ct), "CONTENT_TYPE=%s", h->ctype);
		envp[n++] = ct;
	}
	if (h->basic)
		envp[n++] = (char *)"FLEXHOOKS_BASIC_VERIFIED=1";
	if (h->sign) {
		fh_form_init(&params);
		ck_assert_int_eq(
		    fh_form_parse(&params, h->body, strlen(h->body)), FH_OK);
		snprintf(url, sizeof(url), "%s%s", PUBLIC, h->path);
		ck_assert_int_eq(
		    fh_sig_compute(url, &params, TOKEN, sig), FH_OK);
		fh_form_release(&params);
		snprintf(sh, sizeof(sh), "HTTP_X_TWILIO_SIGNATURE=%s", sig);
		envp[n++] = sh;
	}
	envp[n] = NULL;
	fh_req_init(&req);
	fh_resp_init(resp);
	/* a parse error is kept in req for fh_dispatch() to answer */
	err = fh_req_parse(&req, envp, h->body, strlen(h->body));
	ck_assert_int_eq(err, req.parse_err);
	err = fh_dispatch(&ctx, routes, FH_NITEMS(routes), &req, resp);
	fh_req_release(&req);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	ck_assert_int_ge(sz, 0);
	rewind(f);
	*log = calloc(1, (size_t)sz + 1);
	ck_assert_ptr_nonnull(*log);
	len = fread(*log, 1, (size_t)sz, f);
	ck_assert_uint_eq(len, (size_t)sz);
	fclose(f);
	return err;
}

struct tcase {
	struct hreq h;
	int	    status;
	enum fh_err err;
	const char *log;   /* a substring of the log, or NULL */
	const char *nolog; /* must not appear, or NULL */
};

#define RCB "/tr-event-callback"
#define ATTR_DIALER \
	"&TaskAttributes=%7B%22practicePhone%22%3A%22%2B14158786346%22%2C" \
	"%22callerID%22%3A%22%2B15005550006%22%7D"

/* a follow-up of taskType t that still has the dialer's To and From */
#define ATTR_FOLLOWUP(t) \
	"&TaskAttributes=%7B%22taskType%22%3A%22" t "%22%2C%22practicePhone" \
	"%22%3A%22%2B14158786346%22%2C%22callerID%22%3A%22%2B15005550006" \
	"%22%2C%22call_sid%22%3A%22" CA "%22%7D"
#define WW "WW0123456789abcdef0123456789abcdef"

static const struct tcase tcases[] = {
    /* transport (docs/design/taskrouter-events.md#event-callback) */
    {{"GET", RCB, NULL, "", 1, 0}, 405, FH_EMETHOD, NULL, NULL},
    {{"PUT", RCB, FORM, "EventType=x", 1, 1}, 405, FH_EMETHOD, NULL, NULL},
    {{"POST", RCB, "application/json", "{\"EventType\":\"x\"}", 1, 0}, 400,
	FH_EINPUT, NULL, NULL},
    {{"POST", RCB, "text/plain", "EventType=x", 1, 0}, 400, FH_EINPUT, NULL,
	NULL},
    {{"POST", RCB, NULL, "", 1, 0}, 400, FH_EINPUT, NULL, NULL},
    {{"POST", RCB, FORM, "EventType=%zz", 1, 0}, 400, FH_EINPUT, NULL, NULL},
    {{"POST", RCB, FORM, "EventType=x&" IDS, 1, 0}, 403, FH_EAUTH, NULL, NULL},
    {{"POST", RCB, FORM, "EventType=x&" IDS, 0, 1}, 403, FH_EAUTH, NULL, NULL},
    {{"POST", "/tr-event", FORM, "EventType=x&" IDS, 1, 1}, 404, FH_ENOTFOUND,
	NULL, NULL},
    /* ignored events: 204, one line, nothing called */
    {{"POST", RCB, FORM,
	 "EventType=task.created&Sid=" EV "&" IDS "&TaskQueueSid=" WQ1
	 "&TaskSid=" WT,
	 1, 1},
	204, FH_OK, "event ignored: EventType 'task.created' Sid '" EV "'",
	NULL},
    {{"POST", "/tr-event-handler", FORM, IDS, 1, 1}, 204, FH_OK,
	"event ignored: EventType '-'", NULL},
    {{"POST", RCB, FORM, "", 1, 1}, 204, FH_OK,
	"is not from this account and workspace", NULL},
    {{"POST", RCB, FORM,
	 "EventType=task-queue.entered&" IDS "&TaskQueueSid=" WQX
	 "&TaskAttributes=%7B",
	 1, 1},
	204, FH_OK, "is not a placeholder", "TaskAttributes"},
    /* attributes (docs/design/taskrouter-events.md#event-callback): one error
       line, nothing called */
    {{"POST", RCB, FORM,
	 "EventType=task-queue.entered&Sid=" EV "&" IDS "&TaskQueueSid=" WQ1
	 "&TaskSid=" WT "&TaskAttributes=%7Bx",
	 1, 1},
	204, FH_EINPUT,
	"cannot handle event '" EV "': malformed "
	"TaskAttributes (EventType 'task-queue.entered' TaskSid '" WT "')",
	NULL},
    {{"POST", RCB, FORM,
	 "EventType=reservation.created&" IDS "&TaskSid=" WT
	 "&ReservationSid=" WR,
	 1, 1},
	204, FH_EINPUT, "missing TaskAttributes", NULL},
    {{"POST", RCB, FORM,
	 "EventType=reservation.wrapup&" IDS "&TaskSid=" WT
	 "&TaskAttributes=%5B%5D",
	 1, 1},
	204, FH_EINPUT, "malformed TaskAttributes", NULL},
    /* redirect without a call: skipped before any REST call */
    {{"POST", RCB, FORM,
	 "EventType=task-queue.entered&" IDS "&TaskQueueSid=" WQ1 "&TaskSid=" WT
	 "&TaskAttributes=%7B%7D",
	 1, 1},
	204, FH_OK, "redirect skipped: no call_sid (task '" WT "')", NULL},
    {{"POST", RCB, FORM,
	 "EventType=task-queue.entered&" IDS "&TaskQueueSid=" WQ1
	 "&TaskAttributes=%7B%7D",
	 1, 1},
	204, FH_EINPUT, "redirect skipped: invalid TaskSid", NULL},
    /* a valid redirect reaches for the REST client (none here) */
    {{"POST", RCB, FORM,
	 "EventType=task-queue.entered&" IDS "&TaskQueueSid=" WQ1 "&TaskSid=" WT
	 "&TaskAttributes=%7B%22"
	 "call_sid%22%3A%22" CA "%22%7D",
	 1, 1},
	204, FH_ECONFIG, NULL, "skipped"},
    /* dialer: ordinary Flex tasks are ignored at debug level */
    {{"POST", RCB, FORM,
	 "EventType=reservation.created&" IDS "&TaskSid=" WT
	 "&ReservationSid=" WR "&TaskAttributes=%7B%22"
	 "call_sid%22%3A%22" CA "%22%7D",
	 1, 1},
	204, FH_OK, "has no practicePhone", NULL},
    {{"POST", RCB, FORM,
	 "EventType=reservation.created&" IDS "&TaskSid=" WT
	 "&ReservationSid=" WR "&TaskAttributes=%7B%22"
	 "practicePhone%22%3A%2214158786346%22%2C%22callerID%22%3A%22%2B1"
	 "5005550006%22%7D",
	 1, 1},
	204, FH_OK, "outbound skipped: invalid practicePhone '" WT "'", NULL},
    {{"POST", RCB, FORM,
	 "EventType=reservation.created&" IDS "&TaskSid=" WT
	 "&ReservationSid=" WR "&TaskAttributes=%7B%22"
	 "practicePhone%22%3A%22%2B14158786346%22%7D",
	 1, 1},
	204, FH_OK, "outbound skipped: invalid callerID '" WT "'", NULL},
    {{"POST", RCB, FORM,
	 "EventType=reservation.created&" IDS "&TaskSid=" WT
	 "&ReservationSid=WR1" ATTR_DIALER,
	 1, 1},
	204, FH_OK, "outbound skipped: invalid ReservationSid '" WT "'", NULL},
    {{"POST", RCB, FORM,
	 "EventType=reservation.created&" IDS "&TaskSid=" WR
	 "&ReservationSid=" WR ATTR_DIALER,
	 1, 1},
	204, FH_OK, "outbound skipped: invalid TaskSid", NULL},
    {{"POST", RCB, FORM,
	 "EventType=reservation.created&" IDS "&TaskSid=" WT
	 "&ReservationSid=" WR ATTR_DIALER,
	 1, 1},
	204, FH_ECONFIG, NULL, "skipped"},
    /* wrap-up: only dialer tasks */
    {{"POST", RCB, FORM,
	 "EventType=reservation.wrapup&" IDS "&TaskSid=" WT
	 "&TaskAttributes=%7B%22type%22%3A%22inbound%22%7D",
	 1, 1},
	204, FH_OK, "has no practicePhone", NULL},
    {{"POST", RCB, FORM,
	 "EventType=reservation.wrapup&" IDS "&TaskSid=" WT ATTR_DIALER, 1, 1},
	204, FH_ECONFIG, NULL, NULL},
    /* follow-ups: the dialer never calls for them, even when they still
     * carry the To and From (made before they were dropped) */
    {{"POST", RCB, FORM,
	 "EventType=reservation.created&" IDS "&TaskSid=" WT
	 "&ReservationSid=" WR ATTR_FOLLOWUP("callback"),
	 1, 1},
	204, FH_OK,
	"outbound skipped: task '" WT "' is a callback "
	"follow-up",
	NULL},
    {{"POST", RCB, FORM,
	 "EventType=reservation.created&" IDS "&TaskSid=" WT
	 "&ReservationSid=" WR ATTR_FOLLOWUP("voicemail"),
	 1, 1},
	204, FH_OK, "is a voicemail follow-up", NULL},
    {{"POST", RCB, FORM,
	 "EventType=reservation.created&" IDS "&TaskSid=" WT
	 "&ReservationSid=" WR ATTR_FOLLOWUP("callback-outbound"),
	 1, 1},
	204, FH_OK, "is a callback-outbound follow-up", NULL},
    {{"POST", RCB, FORM,
	 "EventType=reservation.wrapup&" IDS
	 "&TaskSid=" WT ATTR_FOLLOWUP("callback"),
	 1, 1},
	204, FH_OK, "is a callback follow-up", NULL},
    /* a follow-up in a placeholder: a configuration error naming the
     * workflow, never a redirect or a cancel */
    {{"POST", RCB, FORM,
	 "EventType=task-queue.entered&" IDS "&TaskQueueSid=" WQ1 "&TaskSid=" WT
	 "&WorkflowSid=" WW ATTR_FOLLOWUP("callback"),
	 1, 1},
	204, FH_OK,
	"configuration error: callback task '" WT "' entered placeholder "
	"queue '" WQ1 "' through workflow '" WW "'",
	"redirect"},
    {{"POST", RCB, FORM,
	 "EventType=task-queue.entered&" IDS "&TaskQueueSid=" WQ2 "&TaskSid=" WT
	 "&TaskAttributes=%7B%22taskType%22%3A%22voicemail%22%7D",
	 1, 1},
	204, FH_OK,
	"configuration error: voicemail task '" WT "' entered "
	"placeholder queue '" WQ2 "' through workflow '-'",
	"redirect"},
};

START_TEST(test_handler)
{
	const struct tcase *c = &tcases[_i];
	struct fh_resp	    resp;
	enum fh_err	    err;
	char		   *log = NULL;

	err = run(&c->h, &resp, &log);
	ck_assert_msg(resp.status == c->status,
	    "case %d: status %d, want "
	    "%d",
	    _i, resp.status, c->status);
	ck_assert_msg(err == c->err, "case %d: %s, want %s", _i,
	    fh_err_name(err), fh_err_name(c->err));
	if (c->status == 204) {
		ck_assert_str_eq(resp.content_type, "application/json");
		ck_assert_uint_eq(resp.body.len, 0);
	}
	if (c->status == 405)
		ck_assert_str_eq(fh_resp_get_header(&resp, "Allow"), "POST");
	if (c->log != NULL)
		ck_assert_msg(strstr(log, c->log) != NULL,
		    "case %d: no '%s' "
		    "in the log:\n%s",
		    _i, c->log, log);
	if (c->nolog != NULL)
		ck_assert_msg(strstr(log, c->nolog) == NULL,
		    "case %d: '%s' in "
		    "the log:\n%s",
		    _i, c->nolog, log);
	/* no phone number goes to the log in full */
	ck_assert_ptr_null(strstr(log, "4158786346"));
	free(log);
	fh_resp_release(&resp);
}
END_TEST

/* The 204 goes out with Content-Type and without Content-Length. */
START_TEST(test_204_format)
{
	static const struct hreq h = {
	    "POST", RCB, FORM, "EventType=x&" IDS, 1, 1};
	struct fh_resp resp;
	struct fh_buf  out;
	char	      *log = NULL;

	ck_assert_int_eq(run(&h, &resp, &log), FH_OK);
	fh_buf_init(&out, 4096);
	ck_assert_int_eq(fh_resp_format(&resp, &out), FH_OK);
	ck_assert_str_eq(fh_buf_cstr(&out),
	    "Status: 204 No Content\r\n"
	    "Content-Type: application/json\r\n\r\n");
	fh_buf_release(&out);
	fh_resp_release(&resp);
	free(log);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("events");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");
	TCase *handler = tcase_create("handler");

	tcase_add_checked_fixture(core, setup, NULL);
	tcase_add_checked_fixture(limits, setup, NULL);
	tcase_add_checked_fixture(handler, setup, NULL);
	tcase_add_test(core, test_parse_fields);
	tcase_add_loop_test(core, test_classify, 0, FH_NITEMS(ccases));
	tcase_add_loop_test(core, test_attr_get, 0, FH_NITEMS(pcases));
	tcase_add_loop_test(core, test_marker_state, 0, FH_NITEMS(mcases));
	tcase_add_test(core, test_marker_add_redirect);
	tcase_add_test(core, test_marker_merge_outbound);
	tcase_add_test(core, test_new_claim);
	tcase_add_test(core, test_outbound_form);
	tcase_add_test(core, test_classify_workspaces);
	tcase_add_test(core, test_outbound_form_workspace);
	tcase_add_test(core, test_url_encoding);
	tcase_add_test(core, test_redirect_form);
	tcase_add_test(limits, test_parse_limits);
	tcase_add_test(limits, test_no_rules);
	tcase_add_loop_test(limits, test_attributes, 0, FH_NITEMS(acases));
	tcase_add_loop_test(limits, test_e164, 0, FH_NITEMS(ecases));
	tcase_add_test(limits, test_marker_add_limits);
	tcase_add_loop_test(handler, test_handler, 0, FH_NITEMS(tcases));
	tcase_add_test(handler, test_204_format);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, handler);
	return s;
}

FH_CHECK_MAIN(suite)
