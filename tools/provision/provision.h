/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provision.h - flexhooks-provision: the Twilio objects flexhooks needs
 * (docs/design/taskrouter-events.md#provisioning), planned first and then
 * applied.
 *
 * A run has two phases.  fh_prov_plan() makes only GET requests: it finds
 * the workspace, looks every object up by FriendlyName (following
 * meta.next_page_url), decides for each one "create", "update <fields>" or
 * "ok", and prints that plan, one line per object, to the plan stream.  Every
 * refusal (two objects with one name, a foreign EventCallbackUrl) and every
 * configuration error is found in this phase, before anything changes.
 * fh_prov_apply() then sends the POSTs (none in a dry run), in plan order,
 * so that a workflow is written after the queues it targets exist; it
 * prints one progress line per change and the outbound demo's warnings.
 * fh_prov_print_config() writes the KEY=VALUE lines for the config file to
 * the output stream.
 *
 * Twilio is reached only through a struct fh_prov_io, so that the whole
 * run can be tested against an in-memory fake; fh_prov_rest_io() makes one
 * over the REST client.  Nothing here reads the environment or files.
 *
 * Errors: FH_EINPUT (usage), FH_ECONFIG (a missing setting, a configured SID
 * that does not exist, no queue for the callback workflow), FH_ECONFLICT
 * (refused: a name clash or a foreign event callback), and the REST
 * client's errors.  fh_prov_exit_code() maps them to the exit codes 0/1/2/3.
 * Messages go to the plan stream; the webhook password in the event
 * callback URL is always printed as "***".
 */
#ifndef FH_PROVISION_H
#define FH_PROVISION_H

#include <stdio.h>

#include <json-c/json.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/err.h"
#include "lib/rest.h"

#define FH_PROV_SID_LEN 34    /* two letters + 32 hex digits */
#define FH_PROV_MAX_NAME 256  /* bytes of a FriendlyName we keep */
#define FH_PROV_MAX_OBJ 16    /* objects in one plan */
#define FH_PROV_PAGE_SIZE 50  /* PageSize of every list request */
#define FH_PROV_MAX_PAGES 200 /* pages followed per list */
#define FH_PROV_REQUEST_MS \
	60000		    /* docs/design/platform.md#retries-and-deadlines */
#define FH_PROV_NEW "<new>" /* SID of an object not created yet */

enum fh_prov_step {
	FH_PROV_REDIRECT = 0,
	FH_PROV_CALLBACK,
	FH_PROV_OUTBOUND,
	FH_PROV_EVENTS,
	FH_PROV_STEP__MAX
};

enum fh_prov_kind {
	FH_PROV_WORKSPACE = 0,
	FH_PROV_QUEUE,
	FH_PROV_WORKFLOW,
	FH_PROV_WORKER,
	FH_PROV_ACTIVITY,
	FH_PROV_KIND__MAX
};

enum fh_prov_action {
	FH_PROV_OK = 0, /* exists and equal, or used as it is */
	FH_PROV_CREATE,
	FH_PROV_UPDATE,
	FH_PROV_ACTION__MAX
};

/* The settings flexhooks-provision manages, with their equality rules. */
enum fh_prov_field {
	FH_PF_TARGET_WORKERS = 0,  /* trimmed strings */
	FH_PF_CONFIGURATION,	   /* JSON values */
	FH_PF_RESERVATION_TIMEOUT, /* exact (decimal text) */
	FH_PF_ATTRIBUTES,	   /* JSON values */
	FH_PF_ACTIVITY_SID,	   /* exact */
	FH_PF_EVENT_CALLBACK_URL,  /* exact */
	FH_PF_EVENTS_FILTER,	   /* sets of comma-separated names */
	FH_PF_AVAILABLE,	   /* an Activity's: exact ("true") */
	FH_PF__MAX
};

/* Workflow configurations flexhooks writes. */
enum fh_prov_tmpl {
	FH_PROV_TMPL_NONE = 0,
	FH_PROV_TMPL_REDIRECT, /* 4 queues: Sales, Support, Everyone,
				* placeholder
				* (docs/design/taskrouter-events.md#provisioning)
				*/
	FH_PROV_TMPL_CALLBACK, /* 1 queue: the template's filters */
	FH_PROV_TMPL_OUTBOUND, /* 1 queue: Pacific Health */
	FH_PROV_TMPL__MAX
};

struct fh_prov_opts {
	int	    dry_run;
	int	    outbound_demo;
	int	    replace_event_callback;
	int	    help;
	int	    check;     /* --check: report, change nothing */
	const char *config;    /* --config FILE, borrowed from argv */
	const char *workspace; /* --workspace NAME, borrowed; NULL:
				* the Flex workspace */
	int	 have_redirect_queues;
	char	 redirect_queues[3][FH_PROV_SID_LEN + 1];
	char	 callback_queue[FH_PROV_SID_LEN + 1]; /* "" unset */
	unsigned only; /* 1 << step per --only; 0: none */
};

/*
 * How the plan reaches Twilio.  Every function returns FH_OK or an error
 * (FH_ENOTFOUND when the object does not exist), and gives the caller a
 * new reference in *out (json_object_put()).
 *  - list: every object of the list at path (e.g.
 *    "/v1/Workspaces/WS.../TaskQueues") under the answer's key
 *    ("task_queues"), filtered by fname=fvalue when fname is not NULL
 *    ("FriendlyName", "EvaluateWorkerAttributes"), over all pages; *out is
 *    an array.
 *  - fetch: the object at path.
 *  - post: POST the form body to path; create says it is a create (not
 *    retried after it may have reached Twilio).  *out is the answer.
 */
struct fh_prov_io {
	enum fh_err (*list)(void *arg, const char *path, const char *key,
	    const char *fname, const char *fvalue, struct json_object **out);
	enum fh_err (*fetch)(
	    void *arg, const char *path, struct json_object **out);
	enum fh_err (*post)(void *arg, const char *path,
	    const struct fh_buf *form, int create, struct json_object **out);
	void *arg;
};

/* One object of the plan.  want[] holds the desired settings (owned, NULL
 * for the settings not managed); diff has bit (1 << field) for each field an
 * update sends. */
struct fh_prov_obj {
	enum fh_prov_kind   kind;
	enum fh_prov_action action;
	char		    name[FH_PROV_MAX_NAME];
	char		    sid[FH_PROV_SID_LEN + 1]; /* "" if new */
	const char	   *note; /* "given", "adopted" or NULL */
	char		   *want[FH_PF__MAX];
	unsigned	    diff;
	enum fh_prov_tmpl   tmpl;   /* workflows: the config */
	int		    ref[4]; /* its queues (plan indexes) */
};

/* Indexes into fh_prov.obj of the objects the config lines name. */
enum fh_prov_role {
	FH_PROV_R_PLACEHOLDER = 0,
	FH_PROV_R_REDIRECT_WF,
	FH_PROV_R_CALLBACK_WF,
	FH_PROV_R_OUTBOUND_QUEUE,
	FH_PROV_R_OUTBOUND_WF,
	FH_PROV_R_WORKER,
	FH_PROV_R_WORKSPACE,
	FH_PROV_ROLE__MAX
};

struct fh_prov {
	const struct fh_config	  *cfg;	  /* borrowed */
	const struct fh_prov_opts *opts;  /* borrowed */
	const struct fh_prov_io	  *io;	  /* borrowed */
	FILE			  *plan;  /* stderr in the program */
	FILE			  *out;	  /* stdout in the program */
	unsigned		   steps; /* 1 << enum fh_prov_step */
	char			   ws[FH_PROV_SID_LEN + 1]; /* ""
							     * while it is to be created */
	char		   ws_name[FH_PROV_MAX_NAME];
	struct fh_prov_obj obj[FH_PROV_MAX_OBJ];
	size_t		   n;
	int		   role[FH_PROV_ROLE__MAX]; /* -1 */
	unsigned	   posts;		    /* POSTs sent */
	unsigned	   problems;		    /* --check's findings */
};

/* Parse argv[1..argc) into o (which it clears first); argv is borrowed for
 * o's life.  FH_EINPUT with a message in errmsg for an unknown option, a
 * missing or invalid value, or a stray argument. */
enum fh_err fh_prov_parse_args(int argc, char *const argv[],
    struct fh_prov_opts *o, char *errmsg, size_t errlen) FH_MUST_CHECK;

/* The usage text (static). */
const char *fh_prov_usage(void);

/* The steps o selects, as 1 << enum fh_prov_step: the --only ones, else
 * redirect, callback and events (only events with --workspace: the other
 * two are Flex's), plus outbound with --outbound-demo. */
unsigned fh_prov_steps(const struct fh_prov_opts *o);

/* 1 when have (what Twilio has; NULL reads as "") equals want under
 * field's rule, else 0. */
int fh_prov_equal(enum fh_prov_field field, const char *have, const char *want);

/* Copy url into out (outlen bytes, always terminated, cut if too long)
 * with the password of any userinfo replaced by "***". */
void fh_prov_mask_url(const char *url, char *out, size_t outlen);

/* <public-auth>/tr-event-callback: public_url with basic_auth ("user:pass",
 * each part percent-encoded) as userinfo.  Appends to out, which holds a
 * secret: the caller marks it secret.  FH_ECONFIG when either is NULL. */
enum fh_err fh_prov_event_url(const char *public_url, const char *basic_auth,
    struct fh_buf *out) FH_MUST_CHECK;

/* The request for meta.next_page_url next of the list at path, on the base
 * URL base: its query goes to query (appended).  Only the same list is
 * followed, and only on our own base (another host's URL keeps just its
 * path), so credentials never go elsewhere.  FH_EUPSTREAM otherwise. */
enum fh_err fh_prov_next_page(const char *base, const char *path,
    const char *next, struct fh_buf *query) FH_MUST_CHECK;

/* The JSON text of workflow configuration tmpl over the queue SIDs
 * (4 for the redirect, 1 otherwise); *out is freed by the caller with
 * free(). */
enum fh_err fh_prov_workflow_config(enum fh_prov_tmpl tmpl,
    const char *const queues[], char **out) FH_MUST_CHECK;

/* An io over the REST client (TaskRouter base; 60 s per request).  rest is
 * borrowed for io's life. */
void fh_prov_rest_io(struct fh_prov_io *io, struct fh_rest *rest);

/* Set up p for one run; every pointer is borrowed for p's life. */
void fh_prov_init(struct fh_prov *p, const struct fh_config *cfg,
    const struct fh_prov_opts *opts, const struct fh_prov_io *io, FILE *plan,
    FILE *out);

/* Phase 1: GETs only; fills p->obj and prints the plan. */
enum fh_err fh_prov_plan(struct fh_prov *p) FH_MUST_CHECK;

/* Phase 2: the POSTs of the plan (none in a dry run), then the outbound
 * demo's queue check. */
enum fh_err fh_prov_apply(struct fh_prov *p) FH_MUST_CHECK;

/* The config lines (and the FORWARD_TO_NUMBER reminder) to p->out. */
void fh_prov_print_config(struct fh_prov *p);

/* Plan, apply, print the config lines. */
enum fh_err fh_prov_run(struct fh_prov *p) FH_MUST_CHECK;

/* --check: read the configuration and the workspace (GETs only) and
 * print to p->out one line per problem that would strand or mis-route
 * work: a callback workflow that routes to a redirect placeholder queue, an
 * inbound or callback workflow that routes to a queue no worker matches
 * and no rule redirects from, a missing workflow or queue, an event
 * callback URL that is not flexhooks' or an events filter without the
 * events it acts on.  p->problems counts them (a Twilio error on the way
 * counts as one).  FH_OK unless the check cannot start (FH_ECONFIG: no
 * credentials or no workspace). */
enum fh_err fh_prov_check(struct fh_prov *p) FH_MUST_CHECK;

/* Free what p owns (the wanted settings, zeroed first). */
void fh_prov_release(struct fh_prov *p);

/* 0 for FH_OK, 2 for usage and configuration errors, 3 for a refusal
 * (FH_ECONFLICT), 1 for everything else. */
int fh_prov_exit_code(enum fh_err err);

#endif
