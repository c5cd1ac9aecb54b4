/*
 * incoming-call - enqueue a caller into TaskRouter with the wait
 * experience, without Studio (taskrouter-events.md section 9).
 */
#include "fcgi.h"
#include "incoming.h"

static const struct fh_route routes[] = {
	{ "/incoming-call", FH_AUTH_TWILIO_SIG_BASIC,
	    FH_ALLOW_GET | FH_ALLOW_POST, fh_handle_incoming_call },
};

int
main(void)
{
	struct fh_config	 cfg;
	struct fh_ctx		 ctx;
	int			 rc;

	fh_ctx_init(&ctx, "incoming-call", &cfg, FH_NEED_SIGNATURE);
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_ctx_release(&ctx);
	return rc;
}
