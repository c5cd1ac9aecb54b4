/* SPDX-License-Identifier: Apache-2.0 */
/*
 * requeue-callback - the plugin's "Retry later": a new callback or
 * voicemail task from an existing one
 * (docs/design/callbacks-and-voicemail.md#requeue).
 */
#include "lib/fcgi.h"
#include "handlers/requeue.h"
#include "flex/token.h"

static const struct fh_route routes[] = {
    {"/features/callback-and-voicemail/flex/requeue-callback",
	FH_AUTH_FLEX_TOKEN, FH_ALLOW_POST | FH_ROUTE_CORS,
	fh_handle_requeue_callback},
};

int
main(void)
{
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	int		 rc;

	fh_ctx_init(
	    &ctx, "requeue-callback", &cfg, FH_NEED_REST | FH_NEED_FLEX);
	ctx.token_check = fh_token_check;
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_ctx_release(&ctx);
	return rc;
}
