/* SPDX-License-Identifier: Apache-2.0 */
/*
 * location-lookup - the locations file entry for a number or name, for a
 * Studio HTTP Request widget
 * (docs/design/taskrouter-events.md#location-lookup).
 */
#include "flex/locations.h"
#include "lib/fcgi.h"
#include "handlers/location.h"

static const struct fh_route routes[] = {
    {"/location-lookup", FH_AUTH_SIG_OR_BASIC, FH_ALLOW_GET | FH_ALLOW_POST,
	fh_handle_location_lookup},
};

int
main(void)
{
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	int		 rc;

	fh_ctx_init(&ctx, "location-lookup", &cfg, FH_NEED_SIGNATURE);
	fh_location_install_sighup();
	/* load now, so that a bad file shows in the log at start-up */
	if (fh_location_refresh(cfg.locations_file, &ctx.log) != FH_OK)
		fh_log_warn(&ctx.log,
		    "no locations loaded: lookups answer "
		    "503");
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_location_release();
	fh_ctx_release(&ctx);
	return rc;
}
