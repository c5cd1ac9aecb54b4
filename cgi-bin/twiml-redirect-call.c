/* SPDX-License-Identifier: Apache-2.0 */
/*
 * twiml-redirect-call - the <Dial> that moves a caller to the number of a
 * redirect rule (docs/design/taskrouter-events.md#twiml-redirect-call).
 */
#include "lib/fcgi.h"
#include "handlers/redirect.h"

static const struct fh_route routes[] = {
    {"/twiml-redirect-call", FH_AUTH_TWILIO_SIG, FH_ALLOW_GET | FH_ALLOW_POST,
	fh_handle_twiml_redirect_call},
};

int
main(void)
{
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	int		 rc;

	fh_ctx_init(&ctx, "twiml-redirect-call", &cfg, FH_NEED_SIGNATURE);
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_ctx_release(&ctx);
	return rc;
}
