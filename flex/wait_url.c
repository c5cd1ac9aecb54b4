/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wait_url.c - the wait experience's absolute URL (wait_url.h).
 */
#include <string.h>

#include "flex/wait_url.h"
#include "lib/buf.h"
#include "lib/form.h"
#include "lib/log.h"
#include "lib/sig.h"

enum fh_err
fh_wait_base_url(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_buf *out)
{
	const struct fh_config *cfg = ctx->cfg;
	struct fh_buf		cred;
	const char	       *pub = cfg->public_url;
	enum fh_err		err;

	if (pub == NULL)
		return FH_ECONFIG;
	fh_buf_init(&cred, 1024);
	cred.secret = 1;
	if (strstr(pub, "://") == NULL) {
		err = FH_ECONFIG;
		goto out;
	}
	if (fh_sig_basic_creds(req->authorization, &cred) != FH_OK) {
		fh_buf_release(&cred);
		if (cfg->basic_auth != NULL)
			err = fh_buf_addstr(&cred, cfg->basic_auth);
		else
			err = FH_ECONFIG;
		if (err != FH_OK) {
			fh_log_error(&ctx->log, "cannot build wait URL: %s",
			    "no Basic credentials for Twilio");
			goto out;
		}
	}
	err = fh_url_add_userinfo(out, pub, fh_buf_cstr(&cred));
	if (err == FH_OK)
		err = fh_buf_addstr(out, FH_WAIT_PATH);
out:
	fh_buf_release(&cred);
	return err;
}
