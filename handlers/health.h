/* SPDX-License-Identifier: Apache-2.0 */
/*
 * health.h - GET /healthz: 200 when every program's socket accepts a
 * connection, 503 naming the ones that do not.
 */
#ifndef FH_HEALTH_H
#define FH_HEALTH_H

#include "lib/err.h"
#include "lib/fcgi.h"

/* Probe each socket of the colon-separated list ctx->cfg->health_sockets
 * and answer {"ok":true|false,"down":[<socket file names>],"features":
 * {<feature>:true|false,...},"not_configured":{<feature>:<variable>,...},
 * "workspaces":[<WS SIDs whose events are served>]}.  The features:
 * callbacks, flex_plugin, wait_experience, outbound_dialer,
 * no_agent_redirect, location_lookup, incoming_call. */
enum fh_err fh_handle_healthz(struct fh_ctx *ctx, const struct fh_req *req,
    struct fh_resp *resp) FH_MUST_CHECK;

#endif
