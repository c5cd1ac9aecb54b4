/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fetch-voicemail - play and delete voicemails for the Flex plugin
 * (docs/design/callbacks-and-voicemail.md#fetch-voicemail and
 * #delete-voicemail).
 */
#include <malloc.h>

#include "lib/fcgi.h"
#include "flex/token.h"
#include "handlers/voicemail.h"

/* Buffers of this size and more get mappings of their own. */
#define MMAP_THRESHOLD (256 * 1024)

static const struct fh_route routes[] = {
    {"/features/callback-and-voicemail/flex/fetch-voicemail",
	FH_AUTH_FLEX_TOKEN, FH_ALLOW_POST | FH_ROUTE_CORS,
	fh_handle_fetch_voicemail},
    {"/features/callback-and-voicemail/flex/delete-voicemail",
	FH_AUTH_FLEX_TOKEN, FH_ALLOW_POST | FH_ROUTE_CORS,
	fh_handle_delete_voicemail},
};

int
main(void)
{
	struct fh_config cfg;
	struct fh_ctx	 ctx;
	int		 rc;

	/*
	 * A recording passes through a few buffers of megabytes, one after
	 * the other.  A fixed threshold keeps each in its own mapping, so a
	 * freed one leaves the process at once; glibc's moving threshold
	 * would put the next ones on the heap and keep them resident.
	 */
#ifdef M_MMAP_THRESHOLD
	(void)mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
#endif
	fh_ctx_init(&ctx, "fetch-voicemail", &cfg, FH_NEED_REST | FH_NEED_FLEX);
	ctx.token_check = fh_token_check;
	rc = fh_main_loop(&ctx, routes, FH_NITEMS(routes));
	fh_ctx_release(&ctx);
	return rc;
}
