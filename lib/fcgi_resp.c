/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi_resp.c - building a response, its JSON error answer, its CGI head,
 * and the streamed answer through the serve loop's sink.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "lib/fcgi_resp.h"
#include "lib/json.h"
#include "lib/rest.h"

void
fh_resp_init(struct fh_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	fh_buf_init(&resp->body, FH_RESP_MAX_BODY);
}

void
fh_resp_release(struct fh_resp *resp)
{
	size_t i;

	for (i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	fh_buf_release(&resp->body);
	fh_resp_init(resp);
}

enum fh_err
fh_resp_header(struct fh_resp *resp, const char *name, const char *value)
{
	struct fh_header *h;

	/* header injection: never a CR or LF in a name or value */
	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		return FH_EINTERNAL;
	if (resp->nheaders >= FH_RESP_MAX_HEADERS)
		return FH_EINTERNAL;
	h = &resp->headers[resp->nheaders];
	h->name = strdup(name);
	h->value = strdup(value);
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		return FH_ENOMEM;
	}
	resp->nheaders++;
	return FH_OK;
}

const char *
fh_resp_get_header(const struct fh_resp *resp, const char *name)
{
	size_t i;

	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

enum fh_err
fh_resp_json(struct fh_resp *resp, int status, struct json_object *obj)
{
	const char *s;

	s = fh_json_text(obj);
	if (s == NULL)
		return FH_ENOMEM;
	fh_buf_reset(&resp->body);
	resp->status = status;
	resp->content_type = "application/json";
	return fh_buf_addstr(&resp->body, s);
}

/* Drop every header except the CORS ones (added before the error). */
static void
drop_headers(struct fh_resp *resp)
{
	size_t i, j = 0;

	for (i = 0; i < resp->nheaders; i++) {
		if (strncasecmp(resp->headers[i].name, "Access-Control-", 15) ==
			0 ||
		    strcasecmp(resp->headers[i].name, "Vary") == 0) {
			resp->headers[j++] = resp->headers[i];
			continue;
		}
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	resp->nheaders = j;
}

enum fh_err
fh_resp_error(struct fh_resp *resp, enum fh_err err, const char *message,
    const struct fh_twerr *tw)
{
	struct json_object *o;
	enum fh_err	    e;
	int		    status;

	drop_headers(resp);
	/* only 400, 409 and 412 pass through; any other Twilio 4xx is a
	 * failed Twilio request (docs/design/platform.md#answers) */
	if (err == FH_ETWILIO &&
	    (tw == NULL ||
		!(tw->status == 400 || tw->status == 409 ||
		    tw->status == 412))) {
		err = FH_EUPSTREAM;
		message = NULL;
	}
	status = fh_err_status(err);
	if (err == FH_ETWILIO)
		status = tw->status;
	o = json_object_new_object();
	if (o == NULL)
		return FH_ENOMEM;
	e = fh_json_add(o, "success", json_object_new_boolean(0));
	if (e == FH_OK)
		e = fh_json_add_str(
		    o, "message", message != NULL ? message : fh_strerror(err));
	if (e == FH_OK)
		e = tw != NULL && tw->code != 0
		    ? fh_json_add(o, "code", json_object_new_int(tw->code))
		    : fh_json_add_str(o, "code", NULL);
	if (e == FH_OK)
		e = fh_json_add_str(o, "more_info",
		    tw != NULL && tw->more_info[0] != '\0' ? tw->more_info
							   : NULL);
	if (e == FH_OK)
		e = fh_resp_json(resp, status, o);
	if (e == FH_OK)
		e = fh_resp_header(resp, "Cache-Control", "no-store");
	if (e == FH_OK && tw != NULL && tw->retry_after[0] != '\0' &&
	    (status == 429 || status == 503))
		e = fh_resp_header(resp, "Retry-After", tw->retry_after);
	json_object_put(o);
	return e;
}

void
fh_resp_empty(struct fh_resp *resp, int status)
{
	fh_buf_reset(&resp->body);
	resp->status = status;
	resp->content_type = NULL;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Unknown";
	}
}

enum fh_err
fh_resp_format(const struct fh_resp *resp, struct fh_buf *out)
{
	enum fh_err err;

	err = fh_resp_format_head(resp, out);
	if (err == FH_OK && resp->status != 204)
		err = fh_buf_add(out, resp->body.data, resp->body.len);
	return err;
}

enum fh_err
fh_resp_format_head(const struct fh_resp *resp, struct fh_buf *out)
{
	size_t		   i;
	enum fh_err	   err;
	unsigned long long len;

	err = fh_buf_printf(
	    out, "Status: %d %s\r\n", resp->status, reason(resp->status));
	if (err == FH_OK && resp->content_type != NULL)
		err = fh_buf_printf(
		    out, "Content-Type: %s\r\n", resp->content_type);
	for (i = 0; err == FH_OK && i < resp->nheaders; i++)
		err = fh_buf_printf(out, "%s: %s\r\n", resp->headers[i].name,
		    resp->headers[i].value);
	len = resp->streamed ? resp->stream_length
			     : (unsigned long long)resp->body.len;
	if (err == FH_OK && resp->status != 204 && resp->status != 304)
		err = fh_buf_printf(out, "Content-Length: %llu\r\n", len);
	if (err == FH_OK)
		err = fh_buf_addstr(out, "\r\n");
	return err;
}

enum fh_err
fh_resp_stream_begin(struct fh_resp *resp, unsigned long long length)
{
	struct fh_buf head;
	enum fh_err   err;

	if (resp->sink == NULL || resp->streamed || resp->status < 200 ||
	    resp->status == 204 || resp->status == 304)
		return FH_EINTERNAL;
	fh_buf_init(&head, 64 * 1024);
	fh_buf_release(&resp->body); /* the body comes from elsewhere */
	resp->streamed = 1;
	resp->stream_length = length;
	resp->stream_sent = 0;
	err = fh_resp_format_head(resp, &head);
	if (err == FH_OK)
		err = resp->sink->write(resp->sink->arg, head.data, head.len);
	fh_buf_release(&head);
	return err;
}

enum fh_err
fh_resp_stream_write(struct fh_resp *resp, const char *p, size_t n)
{
	enum fh_err err;

	if (!resp->streamed || n > resp->stream_length - resp->stream_sent)
		return FH_EINTERNAL;
	if (n == 0)
		return FH_OK;
	err = resp->sink->write(resp->sink->arg, p, n);
	if (err == FH_OK)
		resp->stream_sent += n;
	return err;
}

int
fh_resp_stream_short(const struct fh_resp *resp)
{
	return resp->streamed && resp->stream_sent < resp->stream_length;
}
