/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_twilio.c - Twilio's REST answers, read as every shape flexhooks
 * expects: an error body (both shapes), a task create answer, a fetched
 * task (and then its attributes through requeue, voicemail and the task
 * builder in both attribute shapes), a fetched workflow (does it route to
 * a redirect placeholder), a task list page (the wait experience's pending-task
 * match, the voicemail lookup), a recordings list, a queue, and a TaskQueue's
 * statistics and line (the position and the estimated wait).
 *
 * Beyond "no crash, no leak" (the sanitizers), it checks what the callers
 * rely on: strings end inside their buffers, a SID that comes out has the
 * right shape, and a failed parse leaves nothing behind.
 */
#include <stdlib.h>
#include <string.h>

#include "flex/attr.h"
#include "flex/requeue_claim.h"
#include "lib/config.h"
#include "flex/followup.h"
#include "fuzz.h"
#include "lib/json.h"
#include "flex/qstats.h"
#include "handlers/requeue.h"
#include "lib/rest.h"
#include "flex/tasks.h"
#include "lib/valid.h"
#include "handlers/voicemail.h"

#define CALL_SID "CA0123456789abcdef0123456789abcdef"
#define CLAIM "c0ffee"

static void
check_str(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

static void
check_sid(const char *s, const char *prefix)
{
	if (!fh_is_sid(s, strlen(s), prefix))
		abort();
}

static void
error_body(const char *body, size_t len)
{
	struct fh_twerr e;

	memset(&e, 0, sizeof(e));
	e.status = 418;
	fh_rest_parse_error(body, len, &e);
	check_str(e.message, sizeof(e.message));
	check_str(e.more_info, sizeof(e.more_info));
	if (e.code < 0 || e.code > 999999)
		abort();
	if (e.status != 418 && (e.status < 100 || e.status > 599))
		abort();
}

/* The body as a TaskQueue's statistics and as its line of pending tasks:
 * whatever came out, the position and the estimate stay in range. */
static void
queue_figures(const char *body, size_t len)
{
	struct fh_qstats st;
	long long	 pos, secs, n;
	size_t		 i;

	memset(&st, 0, sizeof(st));
	if (fh_qstats_parse_realtime(body, len, &st) != FH_OK && st.have_rt)
		abort();
	if (fh_qstats_parse_cumulative(body, len, 30, &st) != FH_OK &&
	    st.have_cum)
		abort();
	if (fh_qstats_parse_tasks(body, len, 5, &st) == FH_OK) {
		for (i = 0; i < st.ntasks; i++) {
			check_sid(st.tasks[i].sid, "WT");
			check_str(st.tasks[i].vst, sizeof(st.tasks[i].vst));
		}
	} else if (st.tasks != NULL || st.ntasks != 0)
		abort();
	if (st.have_rt && (st.eligible < 0 || st.pending < 0))
		abort();
	pos = fh_qstats_position(&st, "WT0123456789abcdef0123456789abcdef", 3,
	    "2026-01-02T03:04:05Z");
	if (pos < 0 || pos > (long long)st.ntasks + 1)
		abort();
	if (fh_qstats_estimate(&st, pos, &secs)) {
		if (secs < 0)
			abort();
		(void)fh_qstats_phrase(secs, &n);
		if (n < 0 || n > FH_QSTATS_MAX_MINUTES)
			abort();
	}
	fh_qstats_release(&st);
}

/* The attributes of one task, as requeue and delete-voicemail read them. */
static void
attributes(struct json_object *task)
{
	struct json_object *attrs = NULL;
	struct fh_task_in   in;
	struct fh_buf	    form;
	const char	   *rec, *tr;
	char		    sid[40];
	enum fh_rq_marker   m;
	int		    changed, style;

	if (fh_attr_parse_task(task, &attrs) != FH_OK) {
		if (attrs != NULL)
			abort();
		return;
	}
	m = fh_requeue_marker(attrs, CLAIM, 1700000000000LL, sid, sizeof(sid));
	if ((unsigned)m >= FH_RQ__MAX)
		abort();
	if (m == FH_RQ_DONE)
		check_sid(sid, "WT");
	if (fh_voicemail_task_sids(attrs, &rec, &tr) == FH_OK) {
		check_sid(rec, "RE");
		if (tr != NULL)
			check_sid(tr, "TR");
		if (fh_voicemail_mark_deleted(attrs, &changed) != FH_OK ||
		    fh_voicemail_task_sids(attrs, &rec, &tr) != FH_OK ||
		    fh_json_text(attrs) == NULL)
			abort();
	}
	json_object_put(attrs);

	/* the task as the original of a follow-up, in both shapes */
	for (style = 0; style < FH_ATTR_STYLE__MAX; style++) {
		memset(&in, 0, sizeof(in));
		in.orig = task;
		in.default_workflow = "WW0123456789abcdef0123456789abcdef";
		in.now_ms = 1;
		in.style = (enum fh_attr_style)style;
		in.drop_paths[0] = "practicePhone";
		in.drop_paths[1] = "a.b.callerID";
		fh_buf_init(&form, 1 << 22);
		if (fh_attr_build(&in, &form) == FH_OK && form.len == 0)
			abort();
		fh_buf_release(&form);
	}
}

/* The body as a fetched workflow: its configuration's queues. */
static void
workflow(struct json_object *wf)
{
	static char	 rules[] = "WQ0123456789abcdef0123456789abcd01="
				   "+15551230000";
	struct fh_config cfg;
	char		 queue[40];
	int		 yes = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.forward_rules = rules;
	if (fh_followup_workflow_placeholder(&cfg, wf, &yes, queue) == FH_OK &&
	    yes)
		check_sid(queue, "WQ");
}

static void
one_task(const char *body, size_t len)
{
	struct json_object *task = NULL;
	struct fh_val	    v;
	const char	   *s;

	if (fh_task_parse(body, len, &task) != FH_OK) {
		if (task != NULL)
			abort();
		return;
	}
	if (!json_object_is_type(task, json_type_object))
		abort();
	s = fh_json_str(task, "date_created");
	memset(&v, 0, sizeof(v));
	if (s != NULL)
		(void)fh_valid_datetime(s, strlen(s), &v);
	attributes(task);
	workflow(task);
	json_object_put(task);
}

static void
pages(const char *body, size_t len)
{
	struct json_object *items = NULL;
	char		    sid[40];
	size_t		    i, n;
	int		    unreadable = 0;

	if (fh_page_parse(body, len, "tasks", &items) == FH_OK) {
		if (!json_object_is_type(items, json_type_array))
			abort();
		if (fh_tasks_find_call(items, CALL_SID, sid, &unreadable))
			check_sid(sid, "WT");
		/* the voicemail lookup reads each task's attributes */
		n = json_object_array_length(items);
		for (i = 0; i < n && i < 16; i++)
			attributes(json_object_array_get_idx(items, i));
	} else if (items != NULL)
		abort();
	json_object_put(items);
	items = NULL;
	if (fh_page_parse(body, len, "recordings", &items) == FH_OK)
		(void)fh_recordings_live(items);
	else if (items != NULL)
		abort();
	json_object_put(items);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	char	    sid[40], small[8], name[64];

	error_body(body, size);

	if (fh_task_parse_sid(body, size, sid, sizeof(sid)) == FH_OK)
		check_sid(sid, "WT");
	else if (sid[0] != '\0')
		abort();
	/* too small a buffer never takes a SID */
	if (fh_task_parse_sid(body, size, small, sizeof(small)) == FH_OK)
		abort();

	one_task(body, size);
	pages(body, size);
	queue_figures(body, size);

	if (fh_queue_parse_name(body, size, name, sizeof(name)) == FH_OK)
		check_str(name, sizeof(name));
	else if (name[0] != '\0')
		abort();
	return 0;
}
