/* SPDX-License-Identifier: Apache-2.0 */
/*
 * taskrouter-events - the workspace event callback: no-agent redirect and
 * outbound dialer (docs/design/taskrouter-events.md#event-callback).  A
 * workspace has one EventCallbackUrl, so one program serves both paths.
 */
#include "handlers/events.h"
#include "lib/fcgi.h"

static const struct fh_route routes[] = {
    {"/tr-event-callback", FH_AUTH_TWILIO_SIG_BASIC,
	FH_ALLOW_POST | FH_ROUTE_FORM_ONLY, fh_handle_tr_event},
    {"/tr-event-handler", FH_AUTH_TWILIO_SIG_BASIC,
	FH_ALLOW_POST | FH_ROUTE_FORM_ONLY, fh_handle_tr_event},
};

int
main(void)
{
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	int		 rc;

	fh_ctx_init(&ctx, "taskrouter-events", &cfg,
	    FH_NEED_SIGNATURE | FH_NEED_REST | FH_NEED_WORKSPACE);
	ctx.deadline_ms = cfg.event_deadline_ms;
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_ctx_release(&ctx);
	return rc;
}
