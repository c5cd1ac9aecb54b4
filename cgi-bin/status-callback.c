/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status-callback - logs the outbound call's status callbacks and, when
 * configured, rejects the reservation of a failed call
 * (docs/design/taskrouter-events.md#status-callback).
 */
#include "lib/fcgi.h"
#include "handlers/status_callback.h"

static const struct fh_route routes[] = {
    {"/status-callback", FH_AUTH_TWILIO_SIG, FH_ALLOW_POST,
	fh_handle_status_callback},
};

int
main(void)
{
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	int		 rc;

	fh_ctx_init(
	    &ctx, "status-callback", &cfg, FH_NEED_SIGNATURE | FH_NEED_REST);
	ctx.deadline_ms = cfg.event_deadline_ms;
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_ctx_release(&ctx);
	return rc;
}
