/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wait-experience - the hold loop of a queued caller, with the callback
 * and voicemail menu (docs/design/wait-experience.md).
 */
#include "flex/wait_url.h"
#include "lib/fcgi.h"
#include "handlers/wait.h"

/* The template's older Hold Music URL is an alias; the TwiML it answers
 * links back to FH_WAIT_PATH, which has the same security. */
static const struct fh_route routes[] = {
    {FH_WAIT_PATH, FH_AUTH_TWILIO_SIG_BASIC, FH_ALLOW_GET | FH_ALLOW_POST,
	fh_handle_wait},
    {"/features/callback-and-voicemail/studio/wait-url/wait-experience",
	FH_AUTH_TWILIO_SIG_BASIC, FH_ALLOW_GET | FH_ALLOW_POST, fh_handle_wait},
};

int
main(void)
{
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	int		 rc;

	fh_ctx_init(&ctx, "wait-experience", &cfg,
	    FH_NEED_REST | FH_NEED_SIGNATURE | FH_NEED_FLEX);
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_ctx_release(&ctx);
	return rc;
}
