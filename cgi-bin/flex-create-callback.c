/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flex-create-callback - the Flex plugin's create-callback paths (older
 * template plugins' Retry later, the plugin library's create).  The same
 * handler as create-callback, in a process pool of its own: a flood of
 * Flex tokens (each unknown one waits on Twilio IAM) can fill these
 * processes, never the ones answering Twilio's Studio requests.
 */
#include "handlers/callback.h"
#include "lib/fcgi.h"
#include "flex/token.h"

static const struct fh_route routes[] = {
    {"/features/callback-and-voicemail/flex/create-callback",
	FH_AUTH_FLEX_TOKEN, FH_ALLOW_POST | FH_ROUTE_CORS,
	fh_handle_create_callback},
    {"/callback/flex/create-callback", FH_AUTH_FLEX_TOKEN,
	FH_ALLOW_POST | FH_ROUTE_CORS, fh_handle_create_callback},
    {"/features/callbacks/flex/create-callback", FH_AUTH_FLEX_TOKEN,
	FH_ALLOW_POST | FH_ROUTE_CORS, fh_handle_create_callback},
};

int
main(void)
{
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	int		 rc;

	fh_ctx_init(&ctx, "flex-create-callback", &cfg,
	    FH_NEED_REST | FH_NEED_FLEX | FH_NEED_CALLBACK_WF);
	ctx.token_check = fh_token_check;
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_ctx_release(&ctx);
	return rc;
}
