/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provision.c - flexhooks-provision's plan and its application
 * (docs/design/taskrouter-events.md#provisioning).
 *
 * The plan is an array of objects in the order they must be written: the
 * redirect queues before the redirect workflow, the outbound queue before
 * its workflow and the activity before the worker, the workspace last.  A
 * workflow's configuration names its queues by plan index (ref[]), and is
 * built again with the real SIDs just before it is sent; while a queue is
 * still "<new>", the configuration cannot equal the one Twilio has.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flex/followup.h"
#include "flex/redirect_rules.h"
#include "lib/form.h"
#include "lib/json.h"
#include "tools/provision/provision.h"
#include "lib/valid.h"

#define EVENT_PATH "/tr-event-callback"
#define EVENTS_FILTER \
	"task-queue.entered,reservation.created," \
	"reservation.wrapup"
#define WORKSPACE_NAME "Flex Task Assignment"
#define CALLBACK_NAME "Template Example Callback"
#define OUTBOUND_QUEUE "Pacific Health"
#define OUTBOUND_WF "Call Router Workflow"
#define OUTBOUND_WORKER "Pacific Health Main"
#define OUTBOUND_ATTRS "{\"practice\":\"Pacific Health\"}"
#define OUTBOUND_TIMEOUT "120"
#define REDIRECT_PREFIX "[TR Call Redirection] "
#define MAX_PATH 512

enum cmp { CMP_TRIM = 0, CMP_JSON, CMP_EXACT, CMP_SET };

static const struct pfield {
	const char *wire; /* form name */
	const char *key;  /* JSON key of the answer */
	enum cmp    cmp;
} pfields[FH_PF__MAX] = {
    [FH_PF_TARGET_WORKERS] = {"TargetWorkers", "target_workers", CMP_TRIM},
    [FH_PF_CONFIGURATION] = {"Configuration", "configuration", CMP_JSON},
    [FH_PF_RESERVATION_TIMEOUT] = {"TaskReservationTimeout",
	"task_reservation_timeout", CMP_EXACT},
    [FH_PF_ATTRIBUTES] = {"Attributes", "attributes", CMP_JSON},
    [FH_PF_ACTIVITY_SID] = {"ActivitySid", "activity_sid", CMP_EXACT},
    [FH_PF_EVENT_CALLBACK_URL] = {"EventCallbackUrl", "event_callback_url",
	CMP_EXACT},
    [FH_PF_EVENTS_FILTER] = {"EventsFilter", "events_filter", CMP_SET},
    [FH_PF_AVAILABLE] = {"Available", "available", CMP_EXACT},
};

static const struct kind {
	const char *label;  /* for the plan lines */
	const char *list;   /* path below the workspace */
	const char *key;    /* array key of a list answer */
	const char *prefix; /* SID prefix */
} kinds[FH_PROV_KIND__MAX] = {
    [FH_PROV_WORKSPACE] = {"Workspace", NULL, "workspaces", "WS"},
    [FH_PROV_QUEUE] = {"TaskQueue", "TaskQueues", "task_queues", "WQ"},
    [FH_PROV_WORKFLOW] = {"Workflow", "Workflows", "workflows", "WW"},
    [FH_PROV_WORKER] = {"Worker", "Workers", "workers", "WK"},
    [FH_PROV_ACTIVITY] = {"Activity", "Activities", "activities", "WA"},
};

static const char *const step_names[FH_PROV_STEP__MAX] = {
    [FH_PROV_REDIRECT] = "redirect",
    [FH_PROV_CALLBACK] = "callback",
    [FH_PROV_OUTBOUND] = "outbound",
    [FH_PROV_EVENTS] = "events",
};

static const char *const action_names[FH_PROV_ACTION__MAX] = {
    [FH_PROV_OK] = "ok",
    [FH_PROV_CREATE] = "create",
    [FH_PROV_UPDATE] = "update",
};

/* The three redirect queues, then the placeholder. */
static const struct {
	const char *name;
	const char *target;
} redirect_queues[4] = {
    {REDIRECT_PREFIX "Sales", "1==1"},
    {REDIRECT_PREFIX "Support", "1==1"},
    {REDIRECT_PREFIX "Everyone", "1==1"},
    {REDIRECT_PREFIX "Call Redirection", "1==2"},
};

static const char usage[] =
    "usage: flexhooks-provision [--dry-run | --check] [--config FILE]\n"
    "           [--redirect-queues WQ...,WQ...,WQ...] [--callback-queue "
    "WQ...]\n"
    "           [--outbound-demo] [--replace-event-callback]\n"
    "           [--workspace NAME] [--only "
    "redirect|callback|outbound|events]...\n"
    "\n"
    "Creates or updates the Twilio objects flexhooks needs in the Flex\n"
    "workspace (TWILIO_FLEX_WORKSPACE_SID, else the one named 'Flex Task\n"
    "Assignment'), then prints the settings for the config file on stdout.\n"
    "With --workspace NAME it works in the workspace of that name instead,\n"
    "creating it when there is none (no Flex needed): --outbound-demo\n"
    "--workspace 'Call Router' builds the Outbound Calling Example's.\n"
    "\n"
    "  --dry-run                 only read; print the plan\n"
    "  --check                   only read; print one line per problem that\n"
    "                            would strand or mis-route work (exit 1 when\n"
    "                            there is any, 0 when none)\n"
    "  --config FILE             the KEY=VALUE file (FLEXHOOKS_CONFIG)\n"
    "  --redirect-queues A,B,C   use these Sales, Support and Everyone queues\n"
    "  --callback-queue WQ...    queue of a new callback workflow\n"
    "                            (default: the workspace's 'Everyone')\n"
    "  --outbound-demo           also set up the outbound dialer demo\n"
    "  --replace-event-callback  take over another system's event callback\n"
    "  --workspace NAME          the workspace of that name (created when\n"
    "                            missing); steps: events, and outbound with\n"
    "                            --outbound-demo\n"
    "  --only STEP               only this step (repeatable)\n"
    "  --help                    this text\n"
    "\n"
    "Exit: 0 done, 1 Twilio or network error, 2 usage or configuration\n"
    "error, 3 refused (two objects with one name, a foreign event callback).\n";

const char *
fh_prov_usage(void)
{
	return usage;
}

/* ------------------------------------------------------------ options */

static enum fh_err
opt_err(char *errmsg, size_t errlen, const char *what, const char *arg)
{
	if (errlen > 0 && snprintf(errmsg, errlen, "%s '%s'", what, arg) < 0)
		errmsg[0] = '\0';
	return FH_EINPUT;
}

static int
is_sid(const char *s, size_t n, const char *prefix)
{
	return n == FH_PROV_SID_LEN && fh_is_sid(s, n, prefix);
}

static enum fh_err
set_redirect_queues(
    struct fh_prov_opts *o, const char *v, char *errmsg, size_t errlen)
{
	const char *p = v, *comma;
	size_t	    i, n;

	for (i = 0; i < 3; i++) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (!is_sid(p, n, "WQ") || (i < 2) != (comma != NULL))
			return opt_err(errmsg, errlen,
			    "--redirect-queues needs "
			    "three TaskQueue SIDs (WQ...,WQ...,WQ...), not",
			    v);
		memcpy(o->redirect_queues[i], p, n);
		o->redirect_queues[i][n] = '\0';
		p = comma != NULL ? comma + 1 : p + n;
	}
	o->have_redirect_queues = 1;
	return FH_OK;
}

static enum fh_err
set_only(struct fh_prov_opts *o, const char *v, char *errmsg, size_t errlen)
{
	const char *p = v, *comma;
	size_t	    n;
	int	    s;

	for (;;) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		for (s = 0; s < FH_PROV_STEP__MAX; s++)
			if (strlen(step_names[s]) == n &&
			    memcmp(step_names[s], p, n) == 0)
				break;
		if (s == FH_PROV_STEP__MAX)
			return opt_err(errmsg, errlen,
			    "--only takes redirect, "
			    "callback, outbound or events, not",
			    v);
		o->only |= 1u << s;
		if (comma == NULL)
			return FH_OK;
		p = comma + 1;
	}
}

enum fh_err
fh_prov_parse_args(int argc, char *const argv[], struct fh_prov_opts *o,
    char *errmsg, size_t errlen)
{
	const char *a, *eq, *val;
	size_t	    nlen;
	enum fh_err err;
	int	    i;

	memset(o, 0, sizeof(*o));
	if (errlen > 0)
		errmsg[0] = '\0';
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "-h") == 0)
			a = "--help";
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
			return opt_err(
			    errmsg, errlen, "unexpected argument", a);
		eq = strchr(a, '=');
		nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
#define IS(name) (nlen == sizeof(name) - 1 && memcmp(a, name, nlen) == 0)
		if (IS("--dry-run") || IS("--outbound-demo") ||
		    IS("--replace-event-callback") || IS("--help") ||
		    IS("--check")) {
			if (eq != NULL)
				return opt_err(errmsg, errlen,
				    "option takes no value:", a);
			if (IS("--dry-run"))
				o->dry_run = 1;
			else if (IS("--outbound-demo"))
				o->outbound_demo = 1;
			else if (IS("--help"))
				o->help = 1;
			else if (IS("--check"))
				o->check = 1;
			else
				o->replace_event_callback = 1;
			continue;
		}
		if (!IS("--config") && !IS("--redirect-queues") &&
		    !IS("--callback-queue") && !IS("--only") &&
		    !IS("--workspace"))
			return opt_err(errmsg, errlen, "unknown option", a);
		if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return opt_err(
			    errmsg, errlen, "missing value after", a);
		if (IS("--config")) {
			if (val[0] == '\0')
				return opt_err(errmsg, errlen,
				    "--config needs a file name, not", val);
			o->config = val;
			err = FH_OK;
		} else if (IS("--workspace")) {
			if (val[0] == '\0' || strlen(val) >= FH_PROV_MAX_NAME ||
			    !fh_utf8_valid(val, strlen(val)) ||
			    fh_has_control(val, strlen(val)))
				return opt_err(errmsg, errlen,
				    "--workspace needs "
				    "a workspace name (1 to 255 bytes of "
				    "text), "
				    "not",
				    val);
			o->workspace = val;
			err = FH_OK;
		} else if (IS("--redirect-queues"))
			err = set_redirect_queues(o, val, errmsg, errlen);
		else if (IS("--callback-queue")) {
			if (!is_sid(val, strlen(val), "WQ"))
				return opt_err(errmsg, errlen,
				    "--callback-queue "
				    "needs a TaskQueue SID (WQ...), not",
				    val);
			memcpy(o->callback_queue, val, FH_PROV_SID_LEN + 1);
			err = FH_OK;
		} else
			err = set_only(o, val, errmsg, errlen);
#undef IS
		if (err != FH_OK)
			return err;
	}
	return FH_OK;
}

unsigned
fh_prov_steps(const struct fh_prov_opts *o)
{
	unsigned s;

	if (o->only != 0)
		return o->only;
	s = 1u << FH_PROV_EVENTS;
	if (o->workspace == NULL)
		s |= 1u << FH_PROV_REDIRECT | 1u << FH_PROV_CALLBACK;
	if (o->outbound_demo)
		s |= 1u << FH_PROV_OUTBOUND;
	return s;
}

int
fh_prov_exit_code(enum fh_err err)
{
	switch (err) {
	case FH_OK:
		return 0;
	case FH_EINPUT:
	case FH_ECONFIG:
		return 2;
	case FH_ECONFLICT:
		return 3;
	default:
		return 1;
	}
}

/* ------------------------------------------------------------ equality */

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

static int
json_equal(const char *a, const char *b)
{
	struct json_object *ja = NULL, *jb = NULL;
	int		    eq = 0;

	if (fh_json_parse(a, strlen(a), &ja) != FH_OK ||
	    fh_json_parse(b, strlen(b), &jb) != FH_OK)
		eq = strcmp(a, b) == 0; /* unreadable: only the same text */
	else
		eq = json_object_equal(ja, jb);
	json_object_put(ja);
	json_object_put(jb);
	return eq;
}

/* Every non-empty, trimmed item of list a is an item of list b. */
static int
subset(const char *a, const char *b)
{
	const char *p = a, *q, *ca, *cb;
	size_t	    na, nb;
	int	    found;

	for (;;) {
		ca = strchr(p, ',');
		na = ca != NULL ? (size_t)(ca - p) : strlen(p);
		trim(&p, &na);
		if (na > 0) {
			found = 0;
			for (q = b; !found;) {
				const char *item = q;

				cb = strchr(q, ',');
				nb = cb != NULL ? (size_t)(cb - q) : strlen(q);
				trim(&item, &nb);
				found = nb == na && memcmp(item, p, na) == 0;
				if (cb == NULL)
					break;
				q = cb + 1;
			}
			if (!found)
				return 0;
		}
		if (ca == NULL)
			return 1;
		p = ca + 1;
	}
}

int
fh_prov_equal(enum fh_prov_field field, const char *have, const char *want)
{
	size_t hn, wn;

	if (have == NULL)
		have = "";
	if (want == NULL)
		want = "";
	if ((unsigned)field >= FH_PF__MAX)
		return 0;
	switch (pfields[field].cmp) {
	case CMP_TRIM:
		hn = strlen(have);
		wn = strlen(want);
		trim(&have, &hn);
		trim(&want, &wn);
		return hn == wn && memcmp(have, want, hn) == 0;
	case CMP_JSON:
		return json_equal(have, want);
	case CMP_SET:
		return subset(have, want) && subset(want, have);
	case CMP_EXACT:
		break;
	}
	return strcmp(have, want) == 0;
}

/* ------------------------------------------------------------ URLs */

void
fh_prov_mask_url(const char *url, char *out, size_t outlen)
{
	const char *auth, *end, *at, *colon;
	int	    w;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (url == NULL)
		return;
	auth = strstr(url, "://");
	auth = auth != NULL ? auth + 3 : url;
	end = auth + strcspn(auth, "/?#");
	/* the last '@' of the authority ends the userinfo */
	at = NULL;
	for (colon = auth; colon < end; colon++)
		if (*colon == '@')
			at = colon;
	colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon == NULL)
		w = snprintf(out, outlen, "%s", url);
	else
		w = snprintf(
		    out, outlen, "%.*s:***%s", (int)(colon - url), url, at);
	if (w < 0)
		out[0] = '\0';
}

/* url without its userinfo, into out; 0 when it does not fit. */
static int
strip_userinfo(const char *url, char *out, size_t outlen)
{
	const char *auth, *end, *at = NULL, *p;
	int	    w;

	auth = strstr(url, "://");
	auth = auth != NULL ? auth + 3 : url;
	end = auth + strcspn(auth, "/?#");
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		w = snprintf(out, outlen, "%s", url);
	else
		w = snprintf(
		    out, outlen, "%.*s%s", (int)(auth - url), url, at + 1);
	return w >= 0 && (size_t)w < outlen;
}

enum fh_err
fh_prov_event_url(
    const char *public_url, const char *basic_auth, struct fh_buf *out)
{
	enum fh_err err;

	/* the configuration's pair: a password is required (config.c) */
	if (public_url == NULL || basic_auth == NULL ||
	    strstr(public_url, "://") == NULL ||
	    strchr(basic_auth, ':') == NULL)
		return FH_ECONFIG;
	err = fh_url_add_userinfo(out, public_url, basic_auth);
	if (err == FH_OK)
		err = fh_buf_addstr(out, EVENT_PATH);
	return err;
}

enum fh_err
fh_prov_next_page(
    const char *base, const char *path, const char *next, struct fh_buf *query)
{
	const char *rest, *q;
	size_t	    bl, pl;

	bl = strlen(base);
	if (strncmp(next, base, bl) == 0 && next[bl] == '/')
		rest = next + bl;
	else if (next[0] == '/')
		rest = next;
	else if (strncmp(next, "https://", 8) == 0 ||
	    strncmp(next, "http://", 7) == 0) {
		/* another host name for the same API: keep only the path */
		rest = strchr(strstr(next, "://") + 3, '/');
		if (rest == NULL)
			return FH_EUPSTREAM;
	} else
		return FH_EUPSTREAM;
	q = strchr(rest, '?');
	pl = q != NULL ? (size_t)(q - rest) : strlen(rest);
	if (pl != strlen(path) || memcmp(rest, path, pl) != 0 ||
	    strchr(rest, '#') != NULL)
		return FH_EUPSTREAM;
	return q != NULL ? fh_buf_addstr(query, q + 1) : FH_OK;
}

/* ------------------------------------------------------------ configs */

static enum fh_err
add_target(struct json_object *targets, const char *queue,
    const char *expression, int timeout)
{
	struct json_object *t;
	enum fh_err	    err;

	t = json_object_new_object();
	if (t == NULL)
		return FH_ENOMEM;
	err = fh_json_add_str(t, "queue", queue);
	if (err == FH_OK && expression != NULL)
		err = fh_json_add_str(t, "expression", expression);
	if (err == FH_OK && timeout > 0)
		err = fh_json_add(t, "timeout", json_object_new_int(timeout));
	if (err == FH_OK && json_object_array_add(targets, t) != 0)
		err = FH_ENOMEM;
	else if (err == FH_OK)
		return FH_OK;
	json_object_put(t);
	return err;
}

/* Append {"filter_friendly_name","expression","targets":[]} to filters and
 * point *targets at its (borrowed) target array. */
static enum fh_err
add_filter(struct json_object *filters, const char *name,
    const char *expression, struct json_object **targets)
{
	struct json_object *f;
	enum fh_err	    err;

	*targets = NULL;
	f = json_object_new_object();
	if (f == NULL)
		return FH_ENOMEM;
	err = fh_json_add_str(f, "filter_friendly_name", name);
	if (err == FH_OK)
		err = fh_json_add_str(f, "expression", expression);
	if (err == FH_OK) {
		*targets = json_object_new_array();
		err = fh_json_add(f, "targets", *targets);
	}
	if (err == FH_OK && json_object_array_add(filters, f) != 0)
		err = FH_ENOMEM;
	else if (err == FH_OK)
		return FH_OK;
	json_object_put(f);
	*targets = NULL;
	return err;
}

static enum fh_err
callback_filters(struct json_object *filters, const char *q)
{
	struct json_object *t;
	enum fh_err	    err;

	err = add_filter(
	    filters, "Retry attempt 1", "callBackData.attempts == 1", &t);
	if (err == FH_OK)
		err = add_target(t, q, "1==0", 600);
	if (err == FH_OK)
		err = add_target(t, q, NULL, 0);
	if (err == FH_OK)
		err = add_filter(filters, "Additional retry attempts",
		    "callBackData.attempts > 1", &t);
	if (err == FH_OK)
		err = add_target(t, q, "1==0", 3600);
	if (err == FH_OK)
		err = add_target(t, q, NULL, 0);
	if (err == FH_OK)
		err =
		    add_filter(filters, "Initial routing attempt", "1==1", &t);
	if (err == FH_OK)
		err = add_target(t, q, NULL, 0);
	return err;
}

enum fh_err
fh_prov_workflow_config(
    enum fh_prov_tmpl tmpl, const char *const queues[], char **out)
{
	struct json_object *root = NULL, *routing, *filters, *t, *def;
	enum fh_err	    err;

	*out = NULL;
	root = json_object_new_object();
	routing = json_object_new_object();
	filters = json_object_new_array();
	if (root == NULL) {
		json_object_put(routing);
		json_object_put(filters);
		return FH_ENOMEM;
	}
	err = fh_json_add(root, "task_routing", routing);
	if (err != FH_OK) {
		json_object_put(filters);
		goto out;
	}
	err = fh_json_add(routing, "filters", filters);
	if (err != FH_OK)
		goto out;
	switch (tmpl) {
	case FH_PROV_TMPL_REDIRECT:
		/* docs/design/taskrouter-events.md#provisioning: 5 + 5 + 10 s,
		 * then the placeholder */
		err = add_filter(filters, "Redirect Call", "1==1", &t);
		if (err == FH_OK)
			err = add_target(t, queues[0], NULL, 5);
		if (err == FH_OK)
			err = add_target(t, queues[1], NULL, 5);
		if (err == FH_OK)
			err = add_target(t, queues[2], NULL, 10);
		if (err == FH_OK)
			err = add_target(t, queues[3], NULL, 0);
		break;
	case FH_PROV_TMPL_CALLBACK:
		err = callback_filters(filters, queues[0]);
		if (err != FH_OK)
			break;
		def = json_object_new_object();
		err = fh_json_add(routing, "default_filter", def);
		if (err == FH_OK)
			err = fh_json_add_str(def, "queue", queues[0]);
		break;
	case FH_PROV_TMPL_OUTBOUND:
		err = add_filter(filters, OUTBOUND_QUEUE,
		    "practice == \"Pacific Health\"", &t);
		if (err == FH_OK)
			err = add_target(t, queues[0], NULL, 0);
		break;
	default:
		err = FH_EINTERNAL;
		break;
	}
	if (err != FH_OK)
		goto out;
	*out = strdup(fh_json_text(root));
	if (*out == NULL)
		err = FH_ENOMEM;
out:
	json_object_put(root);
	return err;
}

/* ------------------------------------------------------------ REST io */

static enum fh_err
rest_send(struct fh_rest *r, const char *method, const char *path,
    const char *query, const struct fh_buf *form, int idempotent,
    struct json_object **out)
{
	struct fh_rest_req  req;
	struct fh_rest_resp resp;
	enum fh_err	    err;

	*out = NULL;
	memset(&req, 0, sizeof(req));
	req.base = FH_REST_TASKROUTER;
	req.method = method;
	req.path = path;
	req.query = query;
	if (form != NULL) {
		req.body = fh_buf_cstr(form);
		req.body_len = form->len;
	}
	req.idempotent = idempotent;
	fh_rest_set_deadline(r, FH_PROV_REQUEST_MS);
	err = fh_rest_do(r, &req, &resp);
	if (err == FH_OK &&
	    (resp.body.len == 0 ||
		fh_json_parse(resp.body.data, resp.body.len, out) != FH_OK ||
		!json_object_is_type(*out, json_type_object))) {
		json_object_put(*out);
		*out = NULL;
		err = FH_EUPSTREAM; /* a 2xx we cannot read */
	}
	fh_rest_resp_release(&resp);
	return err;
}

static enum fh_err
rest_list(void *arg, const char *path, const char *key, const char *fname,
    const char *fvalue, struct json_object **out)
{
	struct fh_rest	   *r = arg;
	struct json_object *all = NULL, *page = NULL, *items, *meta, *v;
	struct fh_buf	    query;
	const char	   *next;
	size_t		    i, n;
	unsigned	    pages;
	enum fh_err	    err;
	char		    size[16];

	*out = NULL;
	fh_buf_init(&query, FH_REST_MAX_URL);
	if (snprintf(size, sizeof(size), "%d", FH_PROV_PAGE_SIZE) < 0)
		return FH_EINTERNAL;
	all = json_object_new_array();
	if (all == NULL)
		return FH_ENOMEM;
	err = fname != NULL ? fh_form_add(&query, fname, fvalue) : FH_OK;
	if (err == FH_OK)
		err = fh_form_add(&query, "PageSize", size);
	for (pages = 0; err == FH_OK; pages++) {
		if (pages == FH_PROV_MAX_PAGES) {
			err = FH_EUPSTREAM; /* a loop in next_page_url */
			break;
		}
		err = rest_send(
		    r, "GET", path, fh_buf_cstr(&query), NULL, 1, &page);
		if (err != FH_OK)
			break;
		if (!json_object_object_get_ex(page, key, &items) ||
		    !json_object_is_type(items, json_type_array)) {
			err = FH_EUPSTREAM;
			break;
		}
		n = json_object_array_length(items);
		for (i = 0; i < n && err == FH_OK; i++) {
			v = json_object_array_get_idx(items, i);
			if (!json_object_is_type(v, json_type_object))
				continue;
			if (json_object_array_add(all, json_object_get(v)) !=
			    0) {
				json_object_put(v);
				err = FH_ENOMEM;
			}
		}
		next = NULL;
		if (json_object_object_get_ex(page, "meta", &meta))
			next = fh_json_str(meta, "next_page_url");
		if (err != FH_OK || next == NULL || next[0] == '\0')
			break;
		fh_buf_reset(&query);
		err = fh_prov_next_page(fh_rest_base_url(r, FH_REST_TASKROUTER),
		    path, next, &query);
		json_object_put(page);
		page = NULL;
	}
	json_object_put(page);
	fh_buf_release(&query);
	if (err != FH_OK) {
		json_object_put(all);
		return err;
	}
	*out = all;
	return FH_OK;
}

static enum fh_err
rest_fetch(void *arg, const char *path, struct json_object **out)
{
	return rest_send(arg, "GET", path, NULL, NULL, 1, out);
}

static enum fh_err
rest_post(void *arg, const char *path, const struct fh_buf *form, int create,
    struct json_object **out)
{
	/* creates go once (a re-run is safe); updates set fixed values */
	return rest_send(arg, "POST", path, NULL, form, !create, out);
}

void
fh_prov_rest_io(struct fh_prov_io *io, struct fh_rest *rest)
{
	io->list = rest_list;
	io->fetch = rest_fetch;
	io->post = rest_post;
	io->arg = rest;
}

/* ------------------------------------------------------------ the plan */

void
fh_prov_init(struct fh_prov *p, const struct fh_config *cfg,
    const struct fh_prov_opts *opts, const struct fh_prov_io *io, FILE *plan,
    FILE *out)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->opts = opts;
	p->io = io;
	p->plan = plan;
	p->out = out;
	p->steps = fh_prov_steps(opts);
	for (i = 0; i < FH_PROV_ROLE__MAX; i++)
		p->role[i] = -1;
}

void
fh_prov_release(struct fh_prov *p)
{
	size_t i, f;

	for (i = 0; i < p->n; i++)
		for (f = 0; f < FH_PF__MAX; f++) {
			fh_free_secret(p->obj[i].want[f]);
			p->obj[i].want[f] = NULL;
		}
	p->n = 0;
}

static void say(struct fh_prov *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(struct fh_prov *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vfprintf(p->plan, fmt, ap);
	va_end(ap);
	(void)fputc('\n', p->plan);
	(void)fflush(p->plan);
}

static int
has(const struct fh_prov *p, enum fh_prov_step s)
{
	return (p->steps & (1u << s)) != 0;
}

static enum fh_err
list_path(
    const struct fh_prov *p, enum fh_prov_kind kind, char *out, size_t outlen)
{
	int w;

	if (kind == FH_PROV_WORKSPACE)
		w = snprintf(out, outlen, "/v1/Workspaces");
	else
		w = snprintf(out, outlen, "/v1/Workspaces/%s/%s", p->ws,
		    kinds[kind].list);
	return w < 0 || (size_t)w >= outlen ? FH_EINTERNAL : FH_OK;
}

static enum fh_err
instance_path(const struct fh_prov *p, enum fh_prov_kind kind, const char *sid,
    char *out, size_t outlen)
{
	char	    list[MAX_PATH];
	enum fh_err err;
	int	    w;

	err = list_path(p, kind, list, sizeof(list));
	if (err != FH_OK)
		return err;
	w = snprintf(out, outlen, "%s/%s", list, sid);
	return w < 0 || (size_t)w >= outlen ? FH_EINTERNAL : FH_OK;
}

static void
copy(char *dst, size_t dstlen, const char *s)
{
	size_t n;

	n = s != NULL ? strlen(s) : 0;
	if (n >= dstlen)
		n = dstlen - 1;
	if (n > 0)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

/* The SID of a listed object, or NULL when it has none of the kind. */
static const char *
sid_of(struct json_object *o, enum fh_prov_kind kind)
{
	const char *sid;

	sid = fh_json_str(o, "sid");
	if (sid == NULL || !is_sid(sid, strlen(sid), kinds[kind].prefix))
		return NULL;
	return sid;
}

/* What Twilio has for field in o, as text: strings as they are, numbers
 * in decimal, null or absent as "". */
static const char *
have_of(struct json_object *o, enum fh_prov_field f, char *num, size_t numlen)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, pfields[f].key, &v) || v == NULL)
		return "";
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	if (json_object_is_type(v, json_type_int)) {
		if (snprintf(num, numlen, "%lld",
			(long long)json_object_get_int64(v)) < 0)
			return "";
		return num;
	}
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static struct fh_prov_obj *
new_obj(struct fh_prov *p, enum fh_prov_kind kind, const char *name,
    enum fh_prov_role role)
{
	struct fh_prov_obj *o;

	if (p->n == FH_PROV_MAX_OBJ)
		return NULL;
	o = &p->obj[p->n];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	copy(o->name, sizeof(o->name), name);
	o->ref[0] = o->ref[1] = o->ref[2] = o->ref[3] = -1;
	if (role != FH_PROV_ROLE__MAX)
		p->role[role] = (int)p->n;
	p->n++;
	return o;
}

static enum fh_err
want(struct fh_prov_obj *o, enum fh_prov_field f, const char *value)
{
	fh_free_secret(o->want[f]);
	o->want[f] = strdup(value);
	return o->want[f] != NULL ? FH_OK : FH_ENOMEM;
}

/* The SID (or "<new>") of plan object i. */
static const char *
sid_or_new(const struct fh_prov *p, int i)
{
	if (i < 0 || p->obj[i].sid[0] == '\0')
		return FH_PROV_NEW;
	return p->obj[i].sid;
}

static enum fh_err
build_config(struct fh_prov *p, struct fh_prov_obj *o)
{
	const char *q[4];
	char	   *text = NULL;
	size_t	    i;
	enum fh_err err;

	for (i = 0; i < 4; i++)
		q[i] = sid_or_new(p, o->ref[i]);
	err = fh_prov_workflow_config(o->tmpl, q, &text);
	if (err == FH_OK) {
		free(o->want[FH_PF_CONFIGURATION]);
		o->want[FH_PF_CONFIGURATION] = text;
	}
	return err;
}

static void
print_obj(struct fh_prov *p, const struct fh_prov_obj *o, const char *verb)
{
	char   fields[256];
	size_t len = 0;
	int    f, w;

	fields[0] = '\0';
	for (f = 0; f < FH_PF__MAX && o->action == FH_PROV_UPDATE; f++) {
		if (!(o->diff & (1u << f)))
			continue;
		w = snprintf(fields + len, sizeof(fields) - len, "%s%s",
		    len > 0 ? "," : "", pfields[f].wire);
		if (w < 0 || (size_t)w >= sizeof(fields) - len)
			break;
		len += (size_t)w;
	}
	say(p, "%s%s%s %s '%s' %s%s%s%s", verb, len > 0 ? " " : "", fields,
	    kinds[o->kind].label, o->name,
	    o->sid[0] != '\0' ? o->sid : FH_PROV_NEW,
	    o->note != NULL ? " (" : "", o->note != NULL ? o->note : "",
	    o->note != NULL ? ")" : "");
}

/* Name every object of a clash (arr) and refuse; what says what they
 * share. */
static enum fh_err
clash(struct fh_prov *p, const char *what, struct json_object *arr)
{
	char	    sids[512];
	size_t	    i, n, len = 0;
	const char *sid;
	int	    w;

	sids[0] = '\0';
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		sid = fh_json_str(json_object_array_get_idx(arr, i), "sid");
		w = snprintf(sids + len, sizeof(sids) - len, "%s%s",
		    len > 0 ? " and " : "", sid != NULL ? sid : "?");
		if (w < 0 || (size_t)w >= sizeof(sids) - len)
			break;
		len += (size_t)w;
	}
	say(p,
	    "error: %zu %s: %s; rename or delete all but one, then run "
	    "again",
	    n, what, sids);
	return FH_ECONFLICT;
}

/* ASCII case-insensitive "callback" anywhere in s. */
static int
names_callback(const char *s)
{
	static const char word[] = "callback";
	size_t		  i, n = strlen(s);

	for (i = 0; i + sizeof(word) - 1 <= n; i++)
		if (strncasecmp(s + i, word, sizeof(word) - 1) == 0)
			return 1;
	return 0;
}

/* Predicates of pick() on a friendly name. */
static int
name_is(const char *fn, const char *name)
{
	return strcmp(fn, name) == 0;
}

static int
name_has_callback(const char *fn, const char *unused)
{
	(void)unused;
	return names_callback(fn);
}

/* *out: a new array of the objects of arr (references) that have a SID of
 * kind and a friendly name match() accepts (with arg). */
static enum fh_err
pick(struct json_object *arr, enum fh_prov_kind		  kind,
    int (*match)(const char *, const char *), const char *arg,
    struct json_object **out)
{
	struct json_object *v;
	const char	   *fn;
	size_t		    i, n;

	if ((*out = json_object_new_array()) == NULL)
		return FH_ENOMEM;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		fn = fh_json_str(v, "friendly_name");
		if (fn == NULL || !match(fn, arg) || sid_of(v, kind) == NULL)
			continue;
		if (json_object_array_add(*out, json_object_get(v)) != 0) {
			json_object_put(v);
			return FH_ENOMEM;
		}
	}
	return FH_OK;
}

/* Look objects of kind up by FriendlyName (exactly name): *found is the one
 * found (a new reference) or NULL; two or more are a clash. */
static enum fh_err
lookup(struct fh_prov *p, enum fh_prov_kind kind, const char *name,
    struct json_object **found)
{
	struct json_object *arr = NULL, *same = NULL;
	char		    path[MAX_PATH], what[FH_PROV_MAX_NAME + 64];
	size_t		    n;
	enum fh_err	    err;

	*found = NULL;
	if (kind != FH_PROV_WORKSPACE && p->ws[0] == '\0')
		return FH_OK; /* a workspace still to be created is empty */
	err = list_path(p, kind, path, sizeof(path));
	if (err == FH_OK)
		err = p->io->list(p->io->arg, path, kinds[kind].key,
		    "FriendlyName", name, &arr);
	if (err != FH_OK) {
		say(p, "error: cannot look up %s '%s': %s", kinds[kind].label,
		    name, fh_strerror(err));
		goto out;
	}
	/* the filter is Twilio's; the exact match is ours */
	if ((err = pick(arr, kind, name_is, name, &same)) != FH_OK)
		goto out;
	n = json_object_array_length(same);
	if (n > 1) {
		if (snprintf(what, sizeof(what), "%ss are named '%s'",
			kinds[kind].label, name) < 0)
			what[0] = '\0';
		err = clash(p, what, same);
		goto out;
	}
	if (n == 1)
		*found = json_object_get(json_object_array_get_idx(same, 0));
out:
	json_object_put(same);
	json_object_put(arr);
	return err;
}

/* Decide o's action from what Twilio has (found, or NULL). */
static void
decide(struct fh_prov_obj *o, struct json_object *found)
{
	char num[32];
	int  f;

	o->diff = 0;
	if (found == NULL) {
		o->action = FH_PROV_CREATE;
		o->sid[0] = '\0';
		return;
	}
	copy(o->sid, sizeof(o->sid), fh_json_str(found, "sid"));
	for (f = 0; f < FH_PF__MAX; f++)
		if (o->want[f] != NULL &&
		    !fh_prov_equal((enum fh_prov_field)f,
			have_of(found, (enum fh_prov_field)f, num, sizeof(num)),
			o->want[f]))
			o->diff |= 1u << f;
	o->action = o->diff != 0 ? FH_PROV_UPDATE : FH_PROV_OK;
}

/* Look o up by name, decide and print its plan line. */
static enum fh_err
plan_obj(struct fh_prov *p, struct fh_prov_obj *o)
{
	struct json_object *found = NULL;
	enum fh_err	    err;

	if (o->tmpl != FH_PROV_TMPL_NONE) {
		err = build_config(p, o);
		if (err != FH_OK)
			return err;
	}
	err = lookup(p, o->kind, o->name, &found);
	if (err != FH_OK)
		return err;
	decide(o, found);
	json_object_put(found);
	print_obj(p, o, action_names[o->action]);
	return FH_OK;
}

/* Fetch an object the configuration or an option names by SID: it must
 * exist (FH_ECONFIG otherwise); it is used as it is. */
static enum fh_err
plan_given(struct fh_prov *p, enum fh_prov_kind kind, const char *sid,
    const char *what, const char *note, enum fh_prov_role role,
    struct fh_prov_obj **out)
{
	struct json_object *obj = NULL;
	struct fh_prov_obj *o;
	char		    path[MAX_PATH];
	enum fh_err	    err;

	*out = NULL;
	err = instance_path(p, kind, sid, path, sizeof(path));
	if (err == FH_OK)
		err = p->io->fetch(p->io->arg, path, &obj);
	if (err == FH_ENOTFOUND) {
		say(p, "error: %s names %s %s, which is not in workspace %s",
		    what, kinds[kind].label, sid, p->ws);
		err = FH_ECONFIG;
		goto out;
	}
	if (err != FH_OK) {
		say(p, "error: cannot fetch %s %s: %s", kinds[kind].label, sid,
		    fh_strerror(err));
		goto out;
	}
	o = new_obj(p, kind, fh_json_str(obj, "friendly_name"), role);
	if (o == NULL) {
		err = FH_EINTERNAL;
		goto out;
	}
	copy(o->sid, sizeof(o->sid), sid);
	o->note = note;
	o->action = FH_PROV_OK;
	print_obj(p, o, "ok");
	*out = o;
out:
	json_object_put(obj);
	return err;
}

/* --workspace NAME: the one workspace of that name, adopted, or a new
 * one planned first (everything else goes into it). */
static enum fh_err
named_workspace(struct fh_prov *p)
{
	struct json_object *found = NULL;
	struct fh_prov_obj *o;
	enum fh_err	    err;

	copy(p->ws_name, sizeof(p->ws_name), p->opts->workspace);
	err = lookup(p, FH_PROV_WORKSPACE, p->opts->workspace, &found);
	if (err != FH_OK)
		return err;
	if (found != NULL) {
		copy(p->ws, sizeof(p->ws), fh_json_str(found, "sid"));
		json_object_put(found);
		return FH_OK;
	}
	o = new_obj(
	    p, FH_PROV_WORKSPACE, p->opts->workspace, FH_PROV_R_WORKSPACE);
	if (o == NULL)
		return FH_EINTERNAL;
	o->action = FH_PROV_CREATE;
	print_obj(p, o, "create");
	return FH_OK;
}

static enum fh_err
find_workspace(struct fh_prov *p)
{
	struct json_object *obj = NULL, *arr = NULL, *v;
	const char	   *sid;
	char		    path[MAX_PATH];
	size_t		    i, n, hits = 0;
	enum fh_err	    err;
	int		    w;

	if (p->opts->workspace != NULL)
		return named_workspace(p);
	if (p->cfg->workspace_sid != NULL) {
		copy(p->ws, sizeof(p->ws), p->cfg->workspace_sid);
		w = snprintf(path, sizeof(path), "/v1/Workspaces/%s", p->ws);
		if (w < 0 || (size_t)w >= sizeof(path))
			return FH_EINTERNAL;
		err = p->io->fetch(p->io->arg, path, &obj);
		if (err == FH_ENOTFOUND) {
			say(p,
			    "error: TWILIO_FLEX_WORKSPACE_SID names %s, "
			    "which does not exist",
			    p->ws);
			err = FH_ECONFIG;
		} else if (err != FH_OK)
			say(p, "error: cannot fetch workspace %s: %s", p->ws,
			    fh_strerror(err));
		else
			copy(p->ws_name, sizeof(p->ws_name),
			    fh_json_str(obj, "friendly_name"));
		json_object_put(obj);
		return err;
	}
	err = p->io->list(p->io->arg, "/v1/Workspaces", "workspaces",
	    "FriendlyName", WORKSPACE_NAME, &arr);
	if (err != FH_OK) {
		say(p, "error: cannot list the workspaces: %s",
		    fh_strerror(err));
		goto out;
	}
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		sid = sid_of(v, FH_PROV_WORKSPACE);
		if (sid == NULL || fh_json_str(v, "friendly_name") == NULL ||
		    strcmp(fh_json_str(v, "friendly_name"), WORKSPACE_NAME) !=
			0)
			continue;
		if (hits++ == 0)
			copy(p->ws, sizeof(p->ws), sid);
	}
	if (hits != 1) {
		say(p,
		    "error: %s workspace is named '%s': set "
		    "TWILIO_FLEX_WORKSPACE_SID",
		    hits == 0 ? "no"
			      : "more than "
				"one",
		    WORKSPACE_NAME);
		err = FH_ECONFIG;
		goto out;
	}
	copy(p->ws_name, sizeof(p->ws_name), WORKSPACE_NAME);
out:
	json_object_put(arr);
	return err;
}

static enum fh_err
plan_redirect(struct fh_prov *p)
{
	struct fh_prov_obj *o, *wf;
	int		    idx[4];
	size_t		    i;
	enum fh_err	    err;

	for (i = 0; i < 4; i++) {
		if (i < 3 && p->opts->have_redirect_queues) {
			err = plan_given(p, FH_PROV_QUEUE,
			    p->opts->redirect_queues[i], "--redirect-queues",
			    "given", FH_PROV_ROLE__MAX, &o);
			if (err != FH_OK)
				return err;
		} else {
			o = new_obj(p, FH_PROV_QUEUE, redirect_queues[i].name,
			    i == 3 ? FH_PROV_R_PLACEHOLDER : FH_PROV_ROLE__MAX);
			if (o == NULL)
				return FH_EINTERNAL;
			err = want(
			    o, FH_PF_TARGET_WORKERS, redirect_queues[i].target);
			if (err == FH_OK)
				err = plan_obj(p, o);
			if (err != FH_OK)
				return err;
		}
		idx[i] = (int)(o - p->obj);
	}
	wf = new_obj(p, FH_PROV_WORKFLOW,
	    REDIRECT_PREFIX "Call Redirection Workflow", FH_PROV_R_REDIRECT_WF);
	if (wf == NULL)
		return FH_EINTERNAL;
	wf->tmpl = FH_PROV_TMPL_REDIRECT;
	memcpy(wf->ref, idx, sizeof(idx));
	return plan_obj(p, wf);
}

static enum fh_err
plan_callback_queue(struct fh_prov *p, int *idx)
{
	struct json_object *found = NULL;
	struct fh_prov_obj *o;
	enum fh_err	    err;

	if (p->opts->callback_queue[0] != '\0') {
		err = plan_given(p, FH_PROV_QUEUE, p->opts->callback_queue,
		    "--callback-queue", "given", FH_PROV_ROLE__MAX, &o);
		if (err == FH_OK)
			*idx = (int)(o - p->obj);
		return err;
	}
	err = lookup(p, FH_PROV_QUEUE, "Everyone", &found);
	if (err != FH_OK)
		return err;
	if (found == NULL) {
		say(p,
		    "error: no TaskQueue is named 'Everyone' for the new "
		    "callback workflow: give one with --callback-queue WQ...");
		return FH_ECONFIG;
	}
	o = new_obj(p, FH_PROV_QUEUE, "Everyone", FH_PROV_ROLE__MAX);
	if (o == NULL) {
		json_object_put(found);
		return FH_EINTERNAL;
	}
	copy(o->sid, sizeof(o->sid), fh_json_str(found, "sid"));
	o->note = "callback queue";
	json_object_put(found);
	print_obj(p, o, "ok");
	*idx = (int)(o - p->obj);
	return FH_OK;
}

static enum fh_err
plan_callback(struct fh_prov *p)
{
	struct json_object *arr = NULL, *same = NULL, *v;
	struct fh_prov_obj *o;
	char		    path[MAX_PATH];
	size_t		    n;
	enum fh_err	    err;
	int		    q;

	if (p->cfg->callback_workflow_sid != NULL)
		return plan_given(p, FH_PROV_WORKFLOW,
		    p->cfg->callback_workflow_sid,
		    "TWILIO_FLEX_CALLBACK_WORKFLOW_SID", "adopted",
		    FH_PROV_R_CALLBACK_WF, &o);

	/* every workflow: the name filter is exact, the rule is not */
	err = list_path(p, FH_PROV_WORKFLOW, path, sizeof(path));
	if (err == FH_OK)
		err = p->io->list(
		    p->io->arg, path, "workflows", NULL, NULL, &arr);
	if (err != FH_OK) {
		say(p, "error: cannot list the workflows: %s",
		    fh_strerror(err));
		goto out;
	}
	if ((err = pick(arr, FH_PROV_WORKFLOW, name_has_callback, NULL,
		 &same)) != FH_OK)
		goto out;
	n = json_object_array_length(same);
	if (n > 1) {
		err =
		    clash(p, "Workflows have 'callback' in their names", same);
		say(p,
		    "hint: set TWILIO_FLEX_CALLBACK_WORKFLOW_SID to the one "
		    "to use");
		goto out;
	}
	if (n == 1) {
		v = json_object_array_get_idx(same, 0);
		o = new_obj(p, FH_PROV_WORKFLOW,
		    fh_json_str(v, "friendly_name"), FH_PROV_R_CALLBACK_WF);
		if (o == NULL) {
			err = FH_EINTERNAL;
			goto out;
		}
		copy(o->sid, sizeof(o->sid), fh_json_str(v, "sid"));
		o->note = "adopted";
		print_obj(p, o, "ok");
		goto out;
	}
	err = plan_callback_queue(p, &q);
	if (err != FH_OK)
		goto out;
	o = new_obj(p, FH_PROV_WORKFLOW, CALLBACK_NAME, FH_PROV_R_CALLBACK_WF);
	if (o == NULL) {
		err = FH_EINTERNAL;
		goto out;
	}
	o->tmpl = FH_PROV_TMPL_CALLBACK;
	o->ref[0] = q;
	err = build_config(p, o);
	if (err != FH_OK)
		goto out;
	o->action = FH_PROV_CREATE;
	print_obj(p, o, "create");
out:
	json_object_put(same);
	json_object_put(arr);
	return err;
}

static enum fh_err
plan_outbound(struct fh_prov *p)
{
	struct json_object *found = NULL;
	struct fh_prov_obj *q, *wf, *act, *wk;
	enum fh_err	    err;

	q = new_obj(p, FH_PROV_QUEUE, OUTBOUND_QUEUE, FH_PROV_R_OUTBOUND_QUEUE);
	if (q == NULL)
		return FH_EINTERNAL;
	err = want(q, FH_PF_TARGET_WORKERS, "practice==\"Pacific Health\"");
	if (err == FH_OK)
		err = plan_obj(p, q);
	if (err != FH_OK)
		return err;
	wf = new_obj(p, FH_PROV_WORKFLOW, OUTBOUND_WF, FH_PROV_R_OUTBOUND_WF);
	if (wf == NULL)
		return FH_EINTERNAL;
	wf->tmpl = FH_PROV_TMPL_OUTBOUND;
	wf->ref[0] = (int)(q - p->obj);
	err = want(wf, FH_PF_RESERVATION_TIMEOUT, OUTBOUND_TIMEOUT);
	if (err == FH_OK)
		err = plan_obj(p, wf);
	if (err != FH_OK)
		return err;

	err = lookup(p, FH_PROV_ACTIVITY, "Available", &found);
	if (err != FH_OK)
		return err;
	if (found == NULL && p->ws[0] != '\0' && p->opts->workspace == NULL) {
		/* Flex makes it: its absence is someone's doing */
		say(p,
		    "error: workspace %s has no Activity named 'Available' "
		    "for the demo worker",
		    p->ws);
		return FH_ECONFIG;
	}
	act = new_obj(p, FH_PROV_ACTIVITY, "Available", FH_PROV_ROLE__MAX);
	if (act == NULL) {
		json_object_put(found);
		return FH_EINTERNAL;
	}
	if (found != NULL) {
		copy(act->sid, sizeof(act->sid), fh_json_str(found, "sid"));
		json_object_put(found);
		print_obj(p, act, "ok");
	} else {
		/* a new workspace comes with one (apply looks again) */
		err = want(act, FH_PF_AVAILABLE, "true");
		if (err != FH_OK)
			return err;
		act->action = FH_PROV_CREATE;
		print_obj(p, act, "create");
	}

	wk = new_obj(p, FH_PROV_WORKER, OUTBOUND_WORKER, FH_PROV_R_WORKER);
	if (wk == NULL)
		return FH_EINTERNAL;
	wk->ref[0] = (int)(act - p->obj);
	err = want(wk, FH_PF_ATTRIBUTES, OUTBOUND_ATTRS);
	if (err == FH_OK)
		err = want(wk, FH_PF_ACTIVITY_SID, sid_or_new(p, wk->ref[0]));
	if (err == FH_OK)
		err = plan_obj(p, wk);
	return err;
}

static enum fh_err
plan_events(struct fh_prov *p)
{
	struct json_object *ws = NULL;
	struct fh_prov_obj *o;
	struct fh_buf	    url;
	const char	   *have;
	char		    path[MAX_PATH], a[2048], b[2048], shown[2048];
	enum fh_err	    err;
	int		    w;

	fh_buf_init(&url, 2048);
	url.secret = 1;
	if (p->ws[0] == '\0') /* planned by named_workspace() */
		o = &p->obj[p->role[FH_PROV_R_WORKSPACE]];
	else
		o = new_obj(
		    p, FH_PROV_WORKSPACE, p->ws_name, FH_PROV_R_WORKSPACE);
	if (o == NULL)
		return FH_EINTERNAL;
	copy(o->sid, sizeof(o->sid), p->ws);
	err = fh_prov_event_url(p->cfg->public_url, p->cfg->basic_auth, &url);
	if (err == FH_OK)
		err = want(o, FH_PF_EVENT_CALLBACK_URL, fh_buf_cstr(&url));
	if (err == FH_OK)
		err = want(o, FH_PF_EVENTS_FILTER, EVENTS_FILTER);
	if (err != FH_OK)
		goto out;
	if (o->action == FH_PROV_CREATE) {
		/* created with them: its plan line is printed already */
		o->diff =
		    1u << FH_PF_EVENT_CALLBACK_URL | 1u << FH_PF_EVENTS_FILTER;
		goto show;
	}
	/* read again: the lookup and the decision use one answer */
	w = snprintf(path, sizeof(path), "/v1/Workspaces/%s", p->ws);
	if (w < 0 || (size_t)w >= sizeof(path)) {
		err = FH_EINTERNAL;
		goto out;
	}
	err = p->io->fetch(p->io->arg, path, &ws);
	if (err != FH_OK) {
		say(p, "error: cannot fetch workspace %s: %s", p->ws,
		    fh_strerror(err));
		goto out;
	}
	decide(o, ws);
	have = fh_json_str(ws, "event_callback_url");
	/* a different URL is another system's, unless it is ours with other
	 * credentials (a rotated password) */
	if ((o->diff & (1u << FH_PF_EVENT_CALLBACK_URL)) && have != NULL &&
	    have[0] != '\0' &&
	    (!strip_userinfo(have, a, sizeof(a)) ||
		!strip_userinfo(
		    o->want[FH_PF_EVENT_CALLBACK_URL], b, sizeof(b)) ||
		strcmp(a, b) != 0)) {
		fh_prov_mask_url(have, shown, sizeof(shown));
		if (!p->opts->replace_event_callback) {
			say(p,
			    "error: workspace %s already sends its events to "
			    "'%s'; flexhooks would take them from that system "
			    "(--replace-event-callback to replace it)",
			    p->ws, shown);
			err = FH_ECONFLICT;
			goto out;
		}
		say(p, "warning: replacing the event callback '%s'", shown);
	}
	print_obj(p, o, action_names[o->action]);
show:
	if (o->diff & (1u << FH_PF_EVENT_CALLBACK_URL)) {
		fh_prov_mask_url(
		    o->want[FH_PF_EVENT_CALLBACK_URL], shown, sizeof(shown));
		say(p, "  EventCallbackUrl=%s", shown);
	}
	if (o->diff & (1u << FH_PF_EVENTS_FILTER))
		say(p, "  EventsFilter=%s", EVENTS_FILTER);
out:
	json_object_put(ws);
	fh_buf_release(&url);
	return err;
}

enum fh_err
fh_prov_plan(struct fh_prov *p)
{
	const struct fh_config *cfg = p->cfg;
	enum fh_err		err = FH_OK;

	if (cfg->account_sid == NULL ||
	    (cfg->auth_token == NULL &&
		(cfg->api_key == NULL || cfg->api_secret == NULL))) {
		say(p,
		    "error: missing ACCOUNT_SID and AUTH_TOKEN (or API_KEY "
		    "and API_SECRET)");
		return FH_ECONFIG;
	}
	if (has(p, FH_PROV_EVENTS) &&
	    (cfg->public_url == NULL || cfg->basic_auth == NULL)) {
		say(p,
		    "error: the event callback needs FLEXHOOKS_PUBLIC_URL "
		    "and FLEXHOOKS_BASIC_AUTH");
		return FH_ECONFIG;
	}
	err = find_workspace(p);
	if (err != FH_OK)
		return err;
	if (p->opts->dry_run)
		say(p, "dry run: the plan for workspace %s '%s'",
		    p->ws[0] != '\0' ? p->ws : FH_PROV_NEW, p->ws_name);
	/* in the order the objects must be written */
	if (has(p, FH_PROV_REDIRECT))
		err = plan_redirect(p);
	if (err == FH_OK && has(p, FH_PROV_CALLBACK))
		err = plan_callback(p);
	if (err == FH_OK && has(p, FH_PROV_OUTBOUND))
		err = plan_outbound(p);
	if (err == FH_OK && has(p, FH_PROV_EVENTS))
		err = plan_events(p);
	return err;
}

/* ------------------------------------------------------------ applying */

static enum fh_err
apply_obj(struct fh_prov *p, struct fh_prov_obj *o)
{
	struct json_object *ans = NULL;
	struct fh_buf	    form;
	const char	   *sid;
	char		    path[MAX_PATH];
	enum fh_err	    err = FH_OK;
	int		    f;

	fh_buf_init(&form, 64 * 1024);
	form.secret = 1; /* EventCallbackUrl carries the password */
	if (o->kind == FH_PROV_ACTIVITY && o->action == FH_PROV_CREATE) {
		/* a workspace made in this run came with its activities */
		err = lookup(p, o->kind, o->name, &ans);
		if (err != FH_OK || ans != NULL) {
			if (ans != NULL) {
				copy(o->sid, sizeof(o->sid),
				    fh_json_str(ans, "sid"));
				print_obj(p, o, "found");
			}
			goto out;
		}
	}
	if (o->kind == FH_PROV_WORKER && o->ref[0] >= 0) {
		/* its activity has its SID now */
		err = want(o, FH_PF_ACTIVITY_SID, sid_or_new(p, o->ref[0]));
		if (err != FH_OK)
			goto out;
	}
	if (o->tmpl != FH_PROV_TMPL_NONE) {
		/* the queues it targets have their SIDs now */
		err = build_config(p, o);
		if (err != FH_OK)
			goto out;
	}
	if (o->action == FH_PROV_CREATE) {
		err = list_path(p, o->kind, path, sizeof(path));
		if (err == FH_OK)
			err = fh_form_add(&form, "FriendlyName", o->name);
	} else
		err = instance_path(p, o->kind, o->sid, path, sizeof(path));
	for (f = 0; f < FH_PF__MAX && err == FH_OK; f++)
		if (o->want[f] != NULL &&
		    (o->action == FH_PROV_CREATE || (o->diff & (1u << f))))
			err = fh_form_add(&form, pfields[f].wire, o->want[f]);
	if (err != FH_OK)
		goto out;
	p->posts++;
	err = p->io->post(
	    p->io->arg, path, &form, o->action == FH_PROV_CREATE, &ans);
	if (err != FH_OK) {
		say(p, "error: cannot %s %s '%s': %s", action_names[o->action],
		    kinds[o->kind].label, o->name, fh_strerror(err));
		goto out;
	}
	if (o->action == FH_PROV_CREATE) {
		sid = sid_of(ans, o->kind);
		if (sid == NULL) {
			say(p,
			    "error: the answer to creating %s '%s' has no "
			    "SID",
			    kinds[o->kind].label, o->name);
			err = FH_EUPSTREAM;
			goto out;
		}
		copy(o->sid, sizeof(o->sid), sid);
		if (o->kind == FH_PROV_WORKSPACE) /* the rest goes in it */
			copy(p->ws, sizeof(p->ws), sid);
	}
	print_obj(p, o, o->action == FH_PROV_CREATE ? "created" : "updated");
out:
	json_object_put(ans);
	fh_buf_release(&form);
	return err;
}

/* The demo worker is always available: warn about every other queue it
 * matches, whose tasks it would be offered and never answer. */
static enum fh_err
check_worker_queues(struct fh_prov *p)
{
	struct json_object *arr = NULL, *v;
	const char	   *fn, *sid;
	char		    path[MAX_PATH];
	size_t		    i, n;
	enum fh_err	    err;

	if (p->ws[0] == '\0')
		return FH_OK; /* a dry run's new workspace */
	err = list_path(p, FH_PROV_QUEUE, path, sizeof(path));
	if (err == FH_OK)
		err = p->io->list(p->io->arg, path, "task_queues",
		    "EvaluateWorkerAttributes", OUTBOUND_ATTRS, &arr);
	if (err != FH_OK) {
		say(p,
		    "error: cannot list the queues the demo worker "
		    "matches: %s",
		    fh_strerror(err));
		return err;
	}
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		fn = fh_json_str(v, "friendly_name");
		sid = fh_json_str(v, "sid");
		if (fn != NULL && strcmp(fn, OUTBOUND_QUEUE) == 0)
			continue;
		say(p,
		    "warning: worker '%s' also matches TaskQueue '%s' %s: "
		    "it is always available and would be offered that "
		    "queue's tasks, which it never answers",
		    OUTBOUND_WORKER, fn != NULL ? fn : "?",
		    sid != NULL ? sid : "?");
	}
	json_object_put(arr);
	return FH_OK;
}

enum fh_err
fh_prov_apply(struct fh_prov *p)
{
	size_t	    i;
	enum fh_err err;

	for (i = 0; i < p->n && !p->opts->dry_run; i++) {
		if (p->obj[i].action == FH_PROV_OK)
			continue;
		err = apply_obj(p, &p->obj[i]);
		if (err != FH_OK)
			return err;
	}
	if (has(p, FH_PROV_OUTBOUND))
		return check_worker_queues(p);
	return FH_OK;
}

static void
config_line(struct fh_prov *p, const char *key, enum fh_prov_role role)
{
	const char *sid;

	if (p->role[role] < 0)
		return;
	sid = sid_or_new(p, p->role[role]);
	/* a dry run cannot know what it did not create */
	(void)fprintf(p->out, "%s%s=%s\n",
	    strcmp(sid, FH_PROV_NEW) == 0 ? "# " : "", key, sid);
}

/* --workspace: FLEXHOOKS_EVENT_WORKSPACES with the workspace added to
 * the configured list (the Flex workspace is always served), and the
 * outbound workflow as /incoming-call's when nothing else is. */
static void
print_named(struct fh_prov *p)
{
	const struct fh_config *cfg = p->cfg;
	const char	       *ws = p->ws[0] != '\0' ? p->ws : FH_PROV_NEW;
	int			listed;

	listed = fh_config_workspace_ok(cfg, ws);
	if (cfg->event_workspaces != NULL)
		(void)fprintf(p->out, "%sFLEXHOOKS_EVENT_WORKSPACES=%s%s%s\n",
		    p->ws[0] == '\0' ? "# " : "", cfg->event_workspaces,
		    listed ? "" : ",", listed ? "" : ws);
	else if (cfg->workspace_sid == NULL ||
	    strcmp(cfg->workspace_sid, ws) != 0)
		(void)fprintf(p->out, "%sFLEXHOOKS_EVENT_WORKSPACES=%s\n",
		    p->ws[0] == '\0' ? "# " : "", ws);
	if (p->role[FH_PROV_R_OUTBOUND_WF] < 0)
		return;
	(void)fprintf(p->out,
	    "# outbound demo workflow (enqueue dialer "
	    "callers here): %s\n",
	    sid_or_new(p, p->role[FH_PROV_R_OUTBOUND_WF]));
	/* /incoming-call's, unless Flex or the operator has one */
	(void)fprintf(p->out, "%sFLEXHOOKS_INBOUND_WORKFLOW_SID=%s\n",
	    cfg->inbound_workflow_sid != NULL || p->ws[0] == '\0' ? "# " : "",
	    sid_or_new(p, p->role[FH_PROV_R_OUTBOUND_WF]));
}

void
fh_prov_print_config(struct fh_prov *p)
{
	if (p->opts->workspace != NULL) {
		print_named(p);
		(void)fflush(p->out);
		return;
	}
	(void)fprintf(p->out, "TWILIO_FLEX_WORKSPACE_SID=%s\n", p->ws);
	config_line(p, "FORWARD_CALL_TASK_QUEUE_SID", FH_PROV_R_PLACEHOLDER);
	config_line(p, "FLEXHOOKS_INBOUND_WORKFLOW_SID", FH_PROV_R_REDIRECT_WF);
	config_line(
	    p, "TWILIO_FLEX_CALLBACK_WORKFLOW_SID", FH_PROV_R_CALLBACK_WF);
	if (p->role[FH_PROV_R_OUTBOUND_WF] >= 0)
		(void)fprintf(p->out,
		    "# outbound demo workflow (enqueue "
		    "dialer callers here): %s\n",
		    sid_or_new(p, p->role[FH_PROV_R_OUTBOUND_WF]));
	if (p->role[FH_PROV_R_PLACEHOLDER] >= 0 &&
	    p->cfg->forward_to_number == NULL)
		(void)fprintf(p->out,
		    "# reminder: FORWARD_TO_NUMBER is not "
		    "set; add FORWARD_TO_NUMBER=+E164, the number the "
		    "placeholder queue's callers are sent to\n");
	(void)fflush(p->out);
}

enum fh_err
fh_prov_run(struct fh_prov *p)
{
	enum fh_err err;

	err = fh_prov_plan(p);
	if (err == FH_OK)
		err = fh_prov_apply(p);
	if (err != FH_OK)
		return err;
	if (p->opts->dry_run)
		say(p, "dry run: nothing was changed");
	fh_prov_print_config(p);
	return FH_OK;
}

/* ------------------------------------------------------------ --check */

/* One problem: a line on the output stream, counted. */
static void problem(struct fh_prov *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct fh_prov *p, const char *fmt, ...)
{
	va_list ap;

	p->problems++;
	(void)fputs("problem: ", p->out);
	va_start(ap, fmt);
	(void)vfprintf(p->out, fmt, ap);
	va_end(ap);
	(void)fputc('\n', p->out);
	(void)fflush(p->out);
}

/* GET one object of kind; FH_ENOTFOUND and other errors are the caller's
 * to report. */
static enum fh_err
fetch_obj(struct fh_prov *p, enum fh_prov_kind kind, const char *sid,
    struct json_object **out)
{
	char	    path[MAX_PATH];
	enum fh_err err;

	*out = NULL;
	err = instance_path(p, kind, sid, path, sizeof(path));
	if (err != FH_OK)
		return err;
	return p->io->fetch(p->io->arg, path, out);
}

/* TargetWorkers that no worker can match ("1==2", spaces aside). */
static int
matches_nobody(const char *tw)
{
	char   buf[16];
	size_t n = 0;

	for (; tw != NULL && *tw != '\0'; tw++) {
		if (isspace((unsigned char)*tw))
			continue;
		if (n + 1 >= sizeof(buf))
			return 0;
		buf[n++] = *tw;
	}
	buf[n] = '\0';
	return n > 0 && strcmp(buf, "1==2") == 0;
}

/* Collect the distinct "queue" SIDs of a workflow configuration (at most
 * max) into qs. */
static size_t
conf_queues(struct json_object *o, int depth, char (*qs)[FH_PROV_SID_LEN + 1],
    size_t n, size_t max)
{
	struct json_object_iterator it, end;
	struct json_object	   *v;
	const char		   *s;
	size_t			    i;

	if (o == NULL || depth > FH_JSON_MAX_DEPTH)
		return n;
	if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++)
			n = conf_queues(json_object_array_get_idx(o, i),
			    depth + 1, qs, n, max);
		return n;
	}
	if (!json_object_is_type(o, json_type_object))
		return n;
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		v = json_object_iter_peek_value(&it);
		if (strcmp(json_object_iter_peek_name(&it), "queue") != 0 ||
		    !json_object_is_type(v, json_type_string)) {
			n = conf_queues(v, depth + 1, qs, n, max);
			continue;
		}
		s = json_object_get_string(v);
		if (!is_sid(s, strlen(s), "WQ"))
			continue;
		for (i = 0; i < n && strcmp(qs[i], s) != 0; i++)
			;
		if (i == n && n < max)
			copy(qs[n++], sizeof(qs[0]), s);
	}
	return n;
}

/* One workflow (what names it: the setting) and every queue it targets. */
static void
check_workflow(
    struct fh_prov *p, const char *setting, const char *sid, int is_callback)
{
	struct json_object *wf = NULL, *conf = NULL, *q = NULL, *c;
	char		    qs[FH_PROV_MAX_OBJ][FH_PROV_SID_LEN + 1];
	char		    number[24], place[40];
	size_t		    i, n;
	int		    yes = 0;
	enum fh_err	    err;

	err = fetch_obj(p, FH_PROV_WORKFLOW, sid, &wf);
	if (err == FH_ENOTFOUND) {
		problem(p,
		    "%s names workflow %s, which does not exist in "
		    "workspace %s",
		    setting, sid, p->ws);
		goto out;
	}
	if (err != FH_OK) {
		problem(p, "cannot read workflow %s (%s): %s", sid, setting,
		    fh_strerror(err));
		goto out;
	}
	if (fh_followup_workflow_placeholder(p->cfg, wf, &yes, place) !=
		FH_OK ||
	    !json_object_object_get_ex(wf, "configuration", &c) ||
	    fh_json_parse(json_object_get_string(c),
		(size_t)json_object_get_string_len(c), &conf) != FH_OK) {
		problem(p, "workflow %s (%s) has no readable configuration",
		    sid, setting);
		goto out;
	}
	if (yes && is_callback)
		problem(p,
		    "callback workflow %s (%s) routes to redirect "
		    "placeholder queue %s: a callback or voicemail there is "
		    "never redirected and waits until its timeout",
		    sid, setting, place);
	n = conf_queues(conf, 0, qs, 0, FH_NITEMS(qs));
	for (i = 0; i < n; i++) {
		json_object_put(q);
		q = NULL;
		err = fetch_obj(p, FH_PROV_QUEUE, qs[i], &q);
		if (err == FH_ENOTFOUND) {
			problem(p,
			    "workflow %s (%s) targets queue %s, which "
			    "does not exist",
			    sid, setting, qs[i]);
			continue;
		}
		if (err != FH_OK) {
			problem(p, "cannot read queue %s of workflow %s: %s",
			    qs[i], sid, fh_strerror(err));
			continue;
		}
		if (matches_nobody(fh_json_str(q, "target_workers")) &&
		    fh_redirect_lookup(p->cfg, qs[i], number, sizeof(number)) !=
			FH_OK)
			problem(p,
			    "workflow %s (%s) targets queue %s, which no "
			    "worker matches (TargetWorkers %s) and no "
			    "FORWARD_CALL_TASK_QUEUE_SID or FLEXHOOKS_FORWARD_"
			    "RULES entry redirects from: its tasks wait until "
			    "their timeout",
			    sid, setting, qs[i],
			    fh_json_str(q, "target_workers"));
	}
out:
	json_object_put(q);
	json_object_put(conf);
	json_object_put(wf);
}

/* Every placeholder queue of the redirect rules exists. */
static void
check_placeholders(struct fh_prov *p)
{
	struct json_object *q = NULL;
	const char	   *r = p->cfg->forward_rules, *comma;
	char		    sid[FH_PROV_SID_LEN + 1];
	enum fh_err	    err;
	int		    first = 1;

	for (;;) {
		if (first && p->cfg->forward_queue_sid != NULL)
			copy(sid, sizeof(sid), p->cfg->forward_queue_sid);
		else if (r != NULL && *r != '\0') {
			/* "WQ...=+E164,...", validated at load */
			copy(sid, sizeof(sid), r);
			comma = strchr(r, ',');
			r = comma != NULL ? comma + 1 : r + strlen(r);
		} else
			break;
		first = 0;
		json_object_put(q);
		q = NULL;
		err = fetch_obj(p, FH_PROV_QUEUE, sid, &q);
		if (err == FH_ENOTFOUND)
			problem(p,
			    "redirect placeholder queue %s (FORWARD_"
			    "CALL_TASK_QUEUE_SID or FLEXHOOKS_FORWARD_RULES) "
			    "does not exist",
			    sid);
		else if (err != FH_OK)
			problem(p, "cannot read queue %s: %s", sid,
			    fh_strerror(err));
	}
	json_object_put(q);
}

/* The workspace sends flexhooks the events it acts on: to one of the
 * paths of taskrouter-events (the password aside), with a filter that is
 * empty (every event) or lists them. */
static void
check_events(struct fh_prov *p)
{
	static const char *const paths[] = {EVENT_PATH, "/tr-event-handler"};
	struct json_object	*ws = NULL;
	const char		*url, *filter, *ev, *comma;
	char			 have[2048], want[2048], shown[2048];
	char			 name[64], missing[128], path[MAX_PATH];
	size_t			 i, n;
	enum fh_err		 err;
	int			 w, ours = 0;

	w = snprintf(path, sizeof(path), "/v1/Workspaces/%s", p->ws);
	if (w < 0 || (size_t)w >= sizeof(path))
		return;
	err = p->io->fetch(p->io->arg, path, &ws);
	if (err != FH_OK) {
		problem(
		    p, "cannot read workspace %s: %s", p->ws, fh_strerror(err));
		return;
	}
	url = fh_json_str(ws, "event_callback_url");
	if (url == NULL || url[0] == '\0')
		problem(p,
		    "workspace %s has no event callback URL: the "
		    "no-agent redirect and the outbound dialer never run "
		    "(flexhooks-provision --only events)",
		    p->ws);
	else if (p->cfg->public_url == NULL)
		problem(p,
		    "FLEXHOOKS_PUBLIC_URL is not set: the event "
		    "callback URL cannot be checked");
	else {
		for (i = 0; i < FH_NITEMS(paths) && !ours; i++) {
			w = snprintf(want, sizeof(want), "%s%s",
			    p->cfg->public_url, paths[i]);
			ours = w >= 0 && (size_t)w < sizeof(want) &&
			    strip_userinfo(url, have, sizeof(have)) &&
			    strcmp(have, want) == 0;
		}
		fh_prov_mask_url(url, shown, sizeof(shown));
		if (!ours)
			problem(p,
			    "workspace %s sends its events to '%s', not "
			    "to %s%s: the no-agent redirect and the outbound "
			    "dialer never run",
			    p->ws, shown, p->cfg->public_url, EVENT_PATH);
	}
	filter = fh_json_str(ws, "events_filter");
	missing[0] = '\0';
	for (ev = EVENTS_FILTER;
	     filter != NULL && filter[0] != '\0' && *ev != '\0';
	     ev = *comma != '\0' ? comma + 1 : comma) {
		comma = strchr(ev, ',');
		if (comma == NULL)
			comma = ev + strlen(ev);
		n = (size_t)(comma - ev);
		if (n >= sizeof(name))
			continue;
		memcpy(name, ev, n);
		name[n] = '\0';
		if (!subset(name, filter) &&
		    snprintf(missing + strlen(missing),
			sizeof(missing) - strlen(missing), "%s%s",
			missing[0] != '\0' ? "," : "", name) < 0)
			missing[0] = '\0';
	}
	if (missing[0] != '\0')
		problem(p,
		    "workspace %s's events filter lacks %s: flexhooks "
		    "never hears of them",
		    p->ws, missing);
	json_object_put(ws);
}

enum fh_err
fh_prov_check(struct fh_prov *p)
{
	const struct fh_config *cfg = p->cfg;
	enum fh_err		err;

	p->problems = 0;
	if (cfg->account_sid == NULL ||
	    (cfg->auth_token == NULL &&
		(cfg->api_key == NULL || cfg->api_secret == NULL))) {
		say(p,
		    "error: missing ACCOUNT_SID and AUTH_TOKEN (or API_KEY "
		    "and API_SECRET)");
		return FH_ECONFIG;
	}
	err = find_workspace(p);
	if (err != FH_OK)
		return err;
	say(p, "checking workspace %s '%s'", p->ws, p->ws_name);
	if (cfg->callback_workflow_sid == NULL)
		problem(p,
		    "TWILIO_FLEX_CALLBACK_WORKFLOW_SID is not set: no "
		    "callback or voicemail task can be made");
	else
		check_workflow(p, "TWILIO_FLEX_CALLBACK_WORKFLOW_SID",
		    cfg->callback_workflow_sid, 1);
	if (cfg->inbound_workflow_sid != NULL &&
	    (cfg->callback_workflow_sid == NULL ||
		strcmp(cfg->inbound_workflow_sid, cfg->callback_workflow_sid) !=
		    0))
		check_workflow(p, "FLEXHOOKS_INBOUND_WORKFLOW_SID",
		    cfg->inbound_workflow_sid, 0);
	check_placeholders(p);
	check_events(p);
	say(p, "%u problem%s found", p->problems, p->problems == 1 ? "" : "s");
	return FH_OK;
}
