/* SPDX-License-Identifier: Apache-2.0 */
/*
 * incoming-call - enqueue a caller into TaskRouter with the wait
 * experience, without Studio (docs/design/wait-experience.md#incoming-call).
 */
#include "flex/locations.h"
#include "lib/fcgi.h"
#include "handlers/incoming.h"

static const struct fh_route routes[] = {
    {"/incoming-call", FH_AUTH_TWILIO_SIG_BASIC, FH_ALLOW_GET | FH_ALLOW_POST,
	fh_handle_incoming_call},
};

int
main(void)
{
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	int		 rc;

	fh_ctx_init(&ctx, "incoming-call", &cfg, FH_NEED_SIGNATURE);
	if (cfg.inbound_add_location) {
		fh_location_install_sighup();
		if (fh_location_refresh(cfg.locations_file, &ctx.log) != FH_OK)
			fh_log_warn(&ctx.log,
			    "FLEXHOOKS_INBOUND_ADD_LOCATION "
			    "is on but no locations are loaded");
	}
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_location_release();
	fh_ctx_release(&ctx);
	return rc;
}
