/*
 * create-callback - create callback and voicemail tasks
 * (callbacks-and-voicemail.md sections 5.1 and 5.2).
 */
#include "callback.h"
#include "fcgi.h"
#include "token.h"

static const struct fh_route routes[] = {
	{ "/features/callback-and-voicemail/studio/create-callback",
	    FH_AUTH_TWILIO_SIG_BASIC, FH_ALLOW_GET | FH_ALLOW_POST,
	    fh_handle_create_callback },
	{ "/features/callback-and-voicemail/flex/create-callback",
	    FH_AUTH_FLEX_TOKEN, FH_ALLOW_POST, fh_handle_create_callback },
};

int
main(void)
{
	struct fh_config	 cfg;
	struct fh_ctx		 ctx;
	int			 rc;

	fh_ctx_init(&ctx, "create-callback", &cfg, FH_NEED_REST |
	    FH_NEED_SIGNATURE | FH_NEED_FLEX | FH_NEED_CALLBACK_WF);
	ctx.token_check = fh_token_check;
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_ctx_release(&ctx);
	return rc;
}
