/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wait_url.h - the absolute URL of the wait experience, shared by the wait
 * experience itself (its <Redirect> and action URLs) and /incoming-call
 * (the waitUrl of its <Enqueue>).
 *
 * The URL carries the Basic credentials Twilio must send back, so whatever
 * holds it holds a secret and is never logged.
 */
#ifndef FH_WAIT_URL_H
#define FH_WAIT_URL_H

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fcgi.h"

#define FH_WAIT_PATH "/features/callback-and-voicemail/studio/wait-experience"

/* Append {W} to out: FLEXHOOKS_PUBLIC_URL with "user:password@" (each
 * percent-encoded) after the scheme, taken from req's Basic credentials,
 * else FLEXHOOKS_BASIC_AUTH, then FH_WAIT_PATH
 * (docs/design/platform.md#urls-handed-to-twilio). out receives a secret: mark
 * it secret.  FH_ECONFIG (logged) when there are no credentials or no public
 * URL; FH_ETOOBIG, FH_ENOMEM. */
enum fh_err fh_wait_base_url(struct fh_ctx *ctx, const struct fh_req *req,
    struct fh_buf *out) FH_MUST_CHECK;

#endif
