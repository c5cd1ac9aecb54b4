/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dial-queue - bridges an answered outbound call to the enqueued caller,
 * or hangs up on a machine (docs/design/taskrouter-events.md#dial-queue).
 */
#include "handlers/dial_queue.h"
#include "lib/fcgi.h"

static const struct fh_route routes[] = {
    {"/dial-queue", FH_AUTH_TWILIO_SIG, FH_ALLOW_POST, fh_handle_dial_queue},
};

int
main(void)
{
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	int		 rc;

	fh_ctx_init(&ctx, "dial-queue", &cfg, FH_NEED_SIGNATURE | FH_NEED_REST);
	ctx.deadline_ms = cfg.event_deadline_ms;
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_ctx_release(&ctx);
	return rc;
}
