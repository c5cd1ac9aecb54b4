/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi_resp.h - one response: what a handler answers.
 *
 * A handler fills a struct fh_resp: status, up to FH_RESP_MAX_HEADERS
 * headers and a body, or streams a large answer through the sink the
 * serve loop provides.  fh_resp_format() serialises it as a CGI answer.
 */
#ifndef FH_FCGI_RESP_H
#define FH_FCGI_RESP_H

#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"

#define FH_RESP_MAX_HEADERS 12
#define FH_RESP_MAX_BODY (24 * 1024 * 1024)

struct fh_header {
	char *name;
	char *value;
};

/*
 * Where a streamed answer goes: set by the server (the serve loop points it
 * at the FastCGI output) before the handler runs, NULL when nothing can be
 * streamed (tests that want buffered answers).  A handler never writes to
 * it directly: fh_resp_stream_begin() and fh_resp_stream_write() do.
 */
struct fh_resp_sink {
	enum fh_err (*write)(void *arg, const char *p, size_t n);
	void *arg;
};

struct fh_resp {
	int		 status;
	const char	*content_type; /* static string or NULL */
	struct fh_header headers[FH_RESP_MAX_HEADERS];
	size_t		 nheaders;
	struct fh_buf	 body;
	/* streaming (fh_resp_stream_begin()); all zero otherwise */
	const struct fh_resp_sink *sink;     /* borrowed; may be NULL */
	int			   streamed; /* the head went out: the answer is
					      * fixed, and an error can only cut
					      * it short */
	unsigned long long stream_length;    /* its Content-Length */
	unsigned long long stream_sent;	     /* body bytes written so far */
};

void fh_resp_init(struct fh_resp *resp);
void fh_resp_release(struct fh_resp *resp);

/* Add a header (both strings copied). */
enum fh_err fh_resp_header(
    struct fh_resp *resp, const char *name, const char *value) FH_MUST_CHECK;

/* The header's value or NULL. */
const char *fh_resp_get_header(const struct fh_resp *resp, const char *name);

/* Answer with the serialised json-c object obj (borrowed) and status. */
struct json_object;
enum fh_err fh_resp_json(
    struct fh_resp *resp, int status, struct json_object *obj) FH_MUST_CHECK;

/* Answer with the README's JSON error body for err: {"success":false,
 * "message":...,"code":...,"more_info":...}.  message NULL means
 * fh_strerror(err); tw (may be NULL) supplies Twilio's code, more_info and
 * Retry-After.  Any earlier body and headers other than CORS ones are
 * dropped. */
struct fh_twerr;
enum fh_err fh_resp_error(struct fh_resp *resp, enum fh_err err,
    const char *message, const struct fh_twerr *tw);

/* Start a streamed answer of exactly length body bytes: the head (status,
 * content type, headers, Content-Length: length) is written to resp->sink
 * at once, and resp->streamed is set.  Nothing about the answer can change
 * afterwards.  FH_EINTERNAL without a sink, when already streaming or
 * without a status; the sink's error when it fails. */
enum fh_err fh_resp_stream_begin(
    struct fh_resp *resp, unsigned long long length) FH_MUST_CHECK;

/* Write the next body bytes of a streamed answer (p borrowed).
 * FH_EINTERNAL before fh_resp_stream_begin() or past length; the sink's
 * error (the client went away) when it fails. */
enum fh_err fh_resp_stream_write(
    struct fh_resp *resp, const char *p, size_t n) FH_MUST_CHECK;

/* 1 when a streamed answer is short of its length (a transfer cut in the
 * middle): the server then breaks the connection instead of ending the
 * answer, so the client sees a failed transfer, never a short file. */
int fh_resp_stream_short(const struct fh_resp *resp);

/* An empty answer (204 and the like). */
void fh_resp_empty(struct fh_resp *resp, int status);

/* Serialise the response as a FastCGI/CGI answer (Status line, headers,
 * blank line, body) into out.  Used by the serve loop and by tests. */
enum fh_err fh_resp_format(
    const struct fh_resp *resp, struct fh_buf *out) FH_MUST_CHECK;

/* Only the head of that answer (status line, headers, blank line). */
enum fh_err fh_resp_format_head(
    const struct fh_resp *resp, struct fh_buf *out) FH_MUST_CHECK;

#endif
