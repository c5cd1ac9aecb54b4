/* SPDX-License-Identifier: Apache-2.0 */
/*
 * followup.h - where a callback or voicemail follow-up task goes, and what
 * it must not carry.
 *
 * Every follow-up (studio and flex create-callback, requeue, the wait
 * experience) passes through fh_followup_prepare() before the task
 * builder.  It fills the builder's configuration (attribute shape, time
 * zone, callback workflow, the outbound dialer's To and From paths to
 * drop) and chooses the workflow:
 *
 * - FLEXHOOKS_FOLLOWUP_WORKFLOW=callback: always the callback workflow;
 * - otherwise the workflow the request or the original task names, unless
 *   that workflow routes to a redirect placeholder queue
 *   (FORWARD_CALL_TASK_QUEUE_SID or a FLEXHOOKS_FORWARD_RULES queue): a
 *   follow-up there would wait, callerless, for its timeout.  Such a
 *   follow-up goes to the callback workflow.
 *
 * Whether a workflow routes to a placeholder is read from its
 * configuration (GET Workflow) and kept per process for
 * FH_FOLLOWUP_CACHE_MS, in a table of FH_FOLLOWUP_CACHE entries.  When it
 * cannot be read, the callback workflow is the safe answer (not cached).
 * No placeholder configured means no request at all.
 *
 * Nothing here allocates beyond one request's answer; every string is
 * borrowed from the configuration, the request or the original task.
 */
#ifndef FH_FOLLOWUP_H
#define FH_FOLLOWUP_H

#include <json-c/json.h>

#include "flex/attr.h"
#include "lib/config.h"
#include "lib/err.h"
#include "lib/fcgi.h"

#define FH_FOLLOWUP_CACHE 32
#define FH_FOLLOWUP_CACHE_MS (10 * 60 * 1000)

/* Prepare in (whose overrides and orig are already set) for a follow-up:
 * the style, time zone, callback workflow and drop paths from ctx's
 * configuration, and in->workflow_sid as described above (left NULL when
 * nothing names one and no callback workflow is configured: the builder
 * then answers FH_ECONFIG).  Borrows ctx and in's strings; logs each
 * workflow it moves a follow-up away from. */
void fh_followup_prepare(struct fh_ctx *ctx, struct fh_task_in *in);

/* Whether the workflow configuration conf (the parsed "configuration"
 * document, borrowed) sends tasks to a placeholder queue of cfg: 1 and
 * that queue's SID in queue (35 bytes), else 0.  Every "queue" value of
 * the document counts, filters' targets and the default filter alike. */
int fh_followup_conf_placeholder(
    const struct fh_config *cfg, struct json_object *conf, char *queue);

/* The same for a workflow as GET Workflow answers it (borrowed): its
 * "configuration" string parsed.  FH_EUPSTREAM when it has none or it is
 * not a JSON object. */
enum fh_err fh_followup_workflow_placeholder(const struct fh_config *cfg,
    struct json_object *workflow, int *yes, char *queue) FH_MUST_CHECK;

/* Whether the workflow wf (a WW SID, borrowed) routes to a placeholder,
 * from the cache or one GET Workflow: FH_OK with *yes (and the queue in
 * queue, 35 bytes), or the REST error (logged).  A workflow the workspace
 * does not have (404) routes nowhere: FH_OK with *yes = 0, not cached
 * (the task create answers for it). */
enum fh_err fh_followup_routes_to_placeholder(
    struct fh_ctx *ctx, const char *wf, int *yes, char *queue) FH_MUST_CHECK;

/* Forget every cached answer (tests). */
void fh_followup_cache_reset(void);

#endif
