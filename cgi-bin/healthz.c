/* SPDX-License-Identifier: Apache-2.0 */
/*
 * healthz - GET /healthz for the local stack and load balancers (which
 * often probe with HEAD: nginx sends the head of the same answer).
 */
#include "lib/fcgi.h"
#include "handlers/health.h"

static const struct fh_route routes[] = {
    {"/healthz", FH_AUTH_PUBLIC, FH_ALLOW_GET | FH_ALLOW_HEAD,
	fh_handle_healthz},
};

int
main(void)
{
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	int		 rc;

	fh_ctx_init(&ctx, "healthz", &cfg, 0);
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_ctx_release(&ctx);
	return rc;
}
