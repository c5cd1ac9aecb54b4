/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create-callback - create callback and voicemail tasks for Twilio
 * (Studio, the Record widget's callbacks).  The Flex plugin's paths are
 * flex-create-callback's: a pool of processes of their own, so that
 * browsers (or anyone) sending Flex tokens can never keep these busy.
 * Its processes share one table of Twilio's deliveries (dedupe.h), so that
 * a retry with the same I-Twilio-Idempotency-Token creates nothing new.
 */
#include "handlers/callback.h"
#include "lib/dedupe.h"
#include "lib/fcgi.h"

/*
 * The paths of every template and plugin version (README.md "Migrating
 * from Twilio Functions"): the plugin library's /callback/..., the
 * template's older /features/callbacks/... (its Record widget's
 * transcription callback sends the same fields as the studio route).
 */
static const struct fh_route routes[] = {
    {"/features/callback-and-voicemail/studio/create-callback",
	FH_AUTH_TWILIO_SIG_BASIC, FH_ALLOW_GET | FH_ALLOW_POST,
	fh_handle_create_callback},
    {"/callback/studio/create-callback", FH_AUTH_TWILIO_SIG_BASIC,
	FH_ALLOW_GET | FH_ALLOW_POST, fh_handle_create_callback},
    {"/features/callbacks/studio/create-callback", FH_AUTH_TWILIO_SIG_BASIC,
	FH_ALLOW_GET | FH_ALLOW_POST, fh_handle_create_callback},
    {"/features/callbacks/studio/voicemail-transcription-callback",
	FH_AUTH_TWILIO_SIG_BASIC, FH_ALLOW_GET | FH_ALLOW_POST,
	fh_handle_create_callback},
};

int
main(void)
{
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	int		 rc;

	fh_ctx_init(&ctx, "create-callback", &cfg,
	    FH_NEED_REST | FH_NEED_SIGNATURE | FH_NEED_FLEX |
		FH_NEED_CALLBACK_WF);
	/* before fh_main_loop() forks: every process shares the table */
	if (fh_dedupe_new(&ctx.dedupe, 0, 0) != FH_OK)
		fh_log_warn(&ctx.log, "cannot map delivery table: %s",
		    "Twilio's retries may create tasks twice");
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_ctx_release(&ctx);
	return rc;
}
