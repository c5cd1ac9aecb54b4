/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qstats.h - what a TaskQueue looks like to a caller holding in it: the
 * pending tasks in line, TaskRouter's real-time and cumulative statistics,
 * the caller's position and an estimated wait
 * (docs/design/wait-experience.md#queue-statistics).
 *
 * The statistics endpoints are rate-limited, so each process keeps what it
 * read per queue for FLEXHOOKS_QUEUE_STATS_CACHE_S seconds (default 30) in
 * a table of FH_QSTATS_CACHE queues: whatever the number of callers, a
 * process asks at most once per queue per period for each of the three
 * documents (the queue's pending tasks, RealTimeStatistics,
 * CumulativeStatistics).  A failed read is remembered for the period too
 * (that part is then missing), so an outage cannot multiply requests
 * either.  Processes are single-threaded: the table has no lock.
 *
 * The readers (fh_qstats_parse_*) need no network and keep no pointer into
 * the body; tests/fuzz/fuzz_twilio.c runs them on anything.  A struct
 * fh_qstats owns its task array, freed by fh_qstats_release().
 */
#ifndef FH_QSTATS_H
#define FH_QSTATS_H

#include <stddef.h>

#include "lib/err.h"
#include "lib/fcgi.h"
#include "lib/prompts.h"

#define FH_QSTATS_CACHE 16	/* queues per process */
#define FH_QSTATS_WINDOW_MIN 30 /* CumulativeStatistics Minutes */
#define FH_QSTATS_MIN_ACCEPTED \
	3		    /* fewer accepted tasks in the \
			     * window: no estimate */
#define FH_QSTATS_PAGE 1000 /* pending tasks read per queue */
#define FH_QSTATS_MAX_RESPONSE (4 * 1024 * 1024)
#define FH_QSTATS_DEADLINE_MS 3000 /* the most a refresh may take */
#define FH_QSTATS_MAX_MINUTES 30   /* "more than 30 minutes" */

/* One pending task of the queue: what its place in line depends on. */
struct fh_qtask {
	char	  sid[35];
	long long priority;
	char	  vst[24]; /* virtual_start_time, ISO 8601 UTC */
};

struct fh_qstats {
	char queue[35];
	/* RealTimeStatistics */
	int	  have_rt;
	long long eligible;    /* total_eligible_workers */
	long long available;   /* total_available_workers */
	long long pending;     /* tasks_by_status.pending */
	long long longest_age; /* longest_task_waiting_age, s */
	/* CumulativeStatistics over the last FH_QSTATS_WINDOW_MIN minutes */
	int	  have_cum;
	long long window_s;   /* end_time - start_time, else the
			       * minutes asked for */
	long long accepted;   /* reservations_accepted */
	long long avg_wait_s; /* wait_duration_until_accepted.avg */
	/* the queue's pending tasks, first page */
	int		 have_list;
	struct fh_qtask *tasks;
	size_t		 ntasks;
	int		 full; /* the page was full: more may wait */
};

/* Read a RealTimeStatistics answer into st (other fields untouched).
 * FH_EUPSTREAM when body is not a JSON object or a count is negative. */
enum fh_err fh_qstats_parse_realtime(
    const char *body, size_t len, struct fh_qstats *st) FH_MUST_CHECK;

/* Read a CumulativeStatistics answer asked for the last minutes minutes
 * into st.  FH_EUPSTREAM as above. */
enum fh_err fh_qstats_parse_cumulative(const char *body, size_t len,
    long long minutes, struct fh_qstats *st) FH_MUST_CHECK;

/* Read a task list page (asked with PageSize=page) into st->tasks,
 * replacing what was there; tasks without a WT sid are skipped.
 * FH_EUPSTREAM, FH_ENOMEM (st unchanged then). */
enum fh_err fh_qstats_parse_tasks(const char *body, size_t len, size_t page,
    struct fh_qstats *st) FH_MUST_CHECK;

/* Free st's tasks and zero it. */
void fh_qstats_release(struct fh_qstats *st);

/* The position (1: next) of the task sid in st's list: 1 plus the tasks
 * ahead of it (higher priority, or the same and an earlier virtual start
 * time, then the smaller SID).  When sid is not listed and vst is not
 * NULL, the place a task of that priority and vst would take.  Returns 0
 * when there is no list, sid is not listed (vst NULL), or the page was
 * full and every listed task is ahead (more may be). */
long long fh_qstats_position(const struct fh_qstats *st, const char *sid,
    long long priority, const char *vst);

/* The estimated wait in seconds of the task at position pos, into *secs:
 * pos x window / accepted, the pace at which agents took this queue's
 * tasks over the window.  Returns 0 (no estimate) without both statistics,
 * with no eligible worker, or with fewer than FH_QSTATS_MIN_ACCEPTED
 * accepted tasks in the window. */
int fh_qstats_estimate(
    const struct fh_qstats *st, long long pos, long long *secs);

/* How a person would say secs: the prompt, and in *n the number for its
 * "{n}" (minutes: 2-9, then 10-30 by fives; FH_QSTATS_MAX_MINUTES for
 * "more than"). */
enum fh_prompt fh_qstats_phrase(long long secs, long long *n);

/* The figures of queue (a WQ SID) for this process: from the table when
 * read less than cfg->queue_stats_cache_s ago, else read now (three GETs
 * under a deadline of at most FH_QSTATS_DEADLINE_MS; failures logged at
 * warn, the part missing).  Borrowed: valid until the next call.  NULL
 * only when queue is not a WQ SID. */
const struct fh_qstats *fh_qstats_get(struct fh_ctx *ctx, const char *queue);

/* Tests: put st in the table as read now (the table takes st's tasks; st
 * is zeroed), or forget everything. */
void fh_qstats_cache_put(struct fh_qstats *st);
void fh_qstats_cache_clear(void);

#endif
