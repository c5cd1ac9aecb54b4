/* SPDX-License-Identifier: Apache-2.0 */
/*
 * smtp.h - sending one message through an SMTP server, with libcurl.
 *
 * The server is FLEXHOOKS_SMTP_URL: smtp://host[:port] with STARTTLS
 * required (CURLUSESSL_ALL: no plain-text fallback, ever), or
 * smtps://host[:port] (TLS from the first byte).  The certificate is
 * checked against the system's CAs, or FLEXHOOKS_SMTP_CA_FILE's.  AUTH
 * uses FLEXHOOKS_SMTP_USER and FLEXHOOKS_SMTP_PASSWORD when the user is
 * set; the password goes to libcurl and nowhere else (never to the log).
 * One attempt per call, bounded by FH_SMTP_TIMEOUT_MS: retrying is the
 * caller's business.
 */
#ifndef FH_SMTP_H
#define FH_SMTP_H

#include <stddef.h>

#include "lib/config.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/mime.h"

#define FH_SMTP_CONNECT_MS 10000
#define FH_SMTP_TIMEOUT_MS 120000 /* the whole transaction */

/* Send the message msg[0..len) (CRLF line ends, as fh_mime_build() writes
 * it) from the envelope sender from to the n addresses rcpt, through
 * cfg's server.  Borrows everything.  FH_OK when the server accepted it
 * (250 after DATA); FH_EUPSTREAM when it could not be sent (no
 * connection, TLS or AUTH refused, a 4xx or 5xx answer; the detail is
 * logged), FH_ETIMEOUT, FH_ECONFIG without a server, FH_ENOMEM. */
enum fh_err fh_smtp_send(const struct fh_config *cfg, struct fh_log *log,
    const char *from, const struct fh_mime_addr *rcpt, size_t n,
    const char *msg, size_t len) FH_MUST_CHECK;

#endif
