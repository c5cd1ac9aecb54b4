/*
 * fcgi.c - requests, responses, dispatch, and the FastCGI accept loop.
 *
 * This is the only file that touches libfcgi.  fh_req_parse(),
 * fh_dispatch() and fh_resp_format() take plain data, so tests and fuzz
 * targets drive them without a socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "lib/dedupe.h"
#include "lib/fcgi.h"
#include "lib/json.h"
#include "lib/sig.h"
#include "lib/valid.h"

static const char *const method_names[FH_M__MAX] = {
    [FH_M_UNKNOWN] = "",
    [FH_M_GET] = "GET",
    [FH_M_POST] = "POST",
    [FH_M_OPTIONS] = "OPTIONS",
    [FH_M_HEAD] = "HEAD",
    [FH_M_PUT] = "PUT",
    [FH_M_DELETE] = "DELETE",
    [FH_M_PATCH] = "PATCH",
};

static const char *const auth_names[FH_AUTH__MAX] = {
    [FH_AUTH_UNSET] = "unset",
    [FH_AUTH_PUBLIC] = "public",
    [FH_AUTH_TWILIO_SIG] = "signature",
    [FH_AUTH_TWILIO_SIG_BASIC] = "signature+basic",
    [FH_AUTH_SIG_OR_BASIC] = "signature",
    [FH_AUTH_FLEX_TOKEN] = "flex-token",
};

const char *
fh_env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

void
fh_req_init(struct fh_req *req)
{
	memset(req, 0, sizeof(*req));
	fh_buf_init(&req->body, FH_REQ_MAX_BODY);
	fh_form_init(&req->query);
	fh_form_init(&req->form);
	fh_form_init(&req->params);
	/* the body and the query string each have the form caps */
	req->params.max_pairs = 2 * FH_FORM_MAX_PAIRS;
	/* a body may carry a Flex token: zero it before it is freed */
	req->body.secret = 1;
}

void
fh_req_release(struct fh_req *req)
{
	free(req->method_str);
	free(req->path);
	free(req->request_uri);
	free(req->query_string);
	free(req->content_type);
	fh_free_secret(req->signature);
	fh_free_secret(req->authorization);
	free(req->origin);
	free(req->accept);
	free(req->request_id);
	free(req->idem_token);
	fh_buf_release(&req->body);
	fh_form_release(&req->query);
	fh_form_release(&req->form);
	fh_form_release(&req->params);
	fh_req_init(req);
}

/* Copy an optional parameter; values over FH_REQ_MAX_PARAM are an error. */
static enum fh_err
copy_param(char *const *envp, const char *name, size_t max, char **out)
{
	const char *v;
	size_t	    n;

	v = fh_env_get(envp, name);
	if (v == NULL)
		return FH_OK;
	n = strlen(v);
	if (n > max) /* an oversize optional header counts as absent */
		return FH_OK;
	*out = fh_strndup(v, n);
	return *out != NULL ? FH_OK : FH_ENOMEM;
}

/* 1 when s is not empty and all printable ASCII (space to '~'). */
static int
printable(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* The media type of a Content-Type value, lower-cased, without
 * parameters, into out. */
static void
media_type(const char *ct, char *out, size_t outlen)
{
	size_t i = 0;

	while (ct != NULL && *ct == ' ')
		ct++;
	for (; ct != NULL && ct[i] != '\0' && ct[i] != ';' && ct[i] != ' ' &&
	     i + 1 < outlen;
	     i++)
		out[i] =
		    (char)((ct[i] >= 'A' && ct[i] <= 'Z') ? ct[i] - 'A' + 'a'
							  : ct[i]);
	out[i] = '\0';
}

/* A flat JSON object becomes body pairs: strings as they are, numbers and
 * booleans as their JSON text; null is skipped; anything else is 400. */
static enum fh_err
json_pairs(struct fh_form *f, const char *body, size_t len)
{
	struct json_object *obj = NULL;
	const char	   *s;
	enum fh_err	    err;

	err = fh_json_parse(body, len, &obj);
	if (err != FH_OK)
		goto out;
	if (!json_object_is_type(obj, json_type_object)) {
		err = FH_EINPUT;
		goto out;
	}
	json_object_object_foreach(obj, key, val)
	{
		if (val == NULL)
			continue;
		switch (json_object_get_type(val)) {
		case json_type_string:
			s = json_object_get_string(val);
			err = fh_form_push(f, key, strlen(key), s,
			    (size_t)json_object_get_string_len(val));
			break;
		case json_type_int:
		case json_type_double:
		case json_type_boolean:
			s = json_object_to_json_string_ext(
			    val, JSON_C_TO_STRING_PLAIN);
			err = s == NULL
			    ? FH_ENOMEM
			    : fh_form_push(f, key, strlen(key), s, strlen(s));
			break;
		default:
			err = FH_EINPUT;
			break;
		}
		if (err != FH_OK)
			goto out;
	}
out:
	json_object_put(obj);
	return err;
}

static enum fh_err
merge(struct fh_form *dst, const struct fh_form *src)
{
	size_t	    i;
	enum fh_err err = FH_OK;

	for (i = 0; err == FH_OK && i < src->n; i++)
		err = fh_form_push(dst, src->pairs[i].name, src->pairs[i].nlen,
		    src->pairs[i].value, src->pairs[i].vlen);
	return err;
}

/* The body's size was checked before parsing: a form that passes a pair,
 * name or value cap inside it is malformed input (400), not a body too
 * large (413). */
static enum fh_err
form_err(enum fh_err err)
{
	return err == FH_ETOOBIG ? FH_EINPUT : err;
}

static enum fh_err
parse(struct fh_req *req, char *const *envp, const char *body, size_t len)
{
	const char *m, *uri, *q;
	char	    mt[64];
	size_t	    i;
	enum fh_err err;

	m = fh_env_get(envp, "REQUEST_METHOD");
	for (i = 1; m != NULL && i < FH_M__MAX; i++)
		if (strcmp(m, method_names[i]) == 0)
			req->method = (enum fh_method)i;
	m = fh_env_get(envp, "REQUEST_URI");
	if ((m != NULL && strlen(m) > FH_REQ_MAX_QUERY + 4096) ||
	    ((m = fh_env_get(envp, "QUERY_STRING")) != NULL &&
		strlen(m) > FH_REQ_MAX_QUERY))
		return FH_ETOOBIG;
	if ((err = copy_param(envp, "REQUEST_METHOD", 16, &req->method_str)) ||
	    (err = copy_param(envp, "REQUEST_URI", FH_REQ_MAX_QUERY + 4096,
		 &req->request_uri)) ||
	    (err = copy_param(
		 envp, "QUERY_STRING", FH_REQ_MAX_QUERY, &req->query_string)) ||
	    (err = copy_param(envp, "CONTENT_TYPE", 256, &req->content_type)) ||
	    (err = copy_param(
		 envp, "HTTP_X_TWILIO_SIGNATURE", 256, &req->signature)) ||
	    (err = copy_param(
		 envp, "HTTP_AUTHORIZATION", 1024, &req->authorization)) ||
	    (err = copy_param(envp, "HTTP_ORIGIN", 1024, &req->origin)) ||
	    (err = copy_param(envp, "HTTP_ACCEPT", 1024, &req->accept)) ||
	    (err = copy_param(
		 envp, "FLEXHOOKS_REQUEST_ID", 64, &req->request_id)))
		return err;
	if ((err = copy_param(envp, "HTTP_I_TWILIO_IDEMPOTENCY_TOKEN",
		 FH_REQ_MAX_IDEM_TOKEN, &req->idem_token)) != FH_OK)
		return err;
	if (req->idem_token != NULL && !printable(req->idem_token)) {
		free(req->idem_token); /* ignored: no deduplication */
		req->idem_token = NULL;
	}
	m = fh_env_get(envp, "FLEXHOOKS_BASIC_VERIFIED");
	req->basic_verified = m != NULL && strcmp(m, "1") == 0;

	/* route on nginx's normalised path; fall back to the raw URI */
	uri = fh_env_get(envp, "DOCUMENT_URI");
	if (uri == NULL)
		uri = req->request_uri != NULL ? req->request_uri : "/";
	q = strchr(uri, '?');
	req->path =
	    fh_strndup(uri, q != NULL ? (size_t)(q - uri) : strlen(uri));
	if (req->path == NULL)
		return FH_ENOMEM;
	if (req->query_string == NULL && req->request_uri != NULL &&
	    (q = strchr(req->request_uri, '?')) != NULL) {
		req->query_string = strdup(q + 1);
		if (req->query_string == NULL)
			return FH_ENOMEM;
	}

	if (len > FH_REQ_MAX_BODY)
		return FH_ETOOBIG;
	/* only a POST body is covered by the signature (URL mode for GET) */
	if (len > 0 && req->method != FH_M_POST)
		return FH_EINPUT;
	if ((err = fh_buf_add(&req->body, body, len)) != FH_OK)
		return err;
	if (req->query_string != NULL &&
	    (err = fh_form_parse(&req->query, req->query_string,
		 strlen(req->query_string))) != FH_OK)
		return form_err(err);

	media_type(req->content_type, mt, sizeof(mt));
	if (strcmp(mt, "application/x-www-form-urlencoded") == 0) {
		req->body_kind = FH_BODY_FORM;
		err = fh_form_parse(&req->form, body, len);
	} else if (strcmp(mt, "application/json") == 0 && len > 0) {
		req->body_kind = FH_BODY_JSON;
		err = json_pairs(&req->form, body, len);
	} else if (len > 0)
		err = FH_EMEDIA;
	if (err != FH_OK)
		return form_err(err);
	/* body first, so that the body wins in fh_form_get() */
	if ((err = merge(&req->params, &req->form)) != FH_OK)
		return err;
	return merge(&req->params, &req->query);
}

enum fh_err
fh_req_parse(
    struct fh_req *req, char *const *envp, const char *body, size_t len)
{
	req->parse_err = parse(req, envp, body, len);
	if (req->path == NULL)
		req->path = strdup("/");
	return req->parse_err;
}

const char *
fh_req_param(const struct fh_req *req, const char *name)
{
	const struct fh_pair *p;

	p = fh_form_get(&req->params, name);
	return p != NULL ? p->value : NULL;
}

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
	 * failed Twilio request (README section 4) */
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

/*
 * CORS for the flex routes (README.md section 3).  Returns 1 when the
 * request's origin may be answered, and adds the headers to resp.
 */
static int
cors(const struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	const char *list = ctx->cfg->cors_origins, *p, *comma;
	size_t	    n, olen;
	int	    ok = 0;
	enum fh_err err;

	if (list == NULL || strcmp(list, "*") == 0) {
		err = fh_resp_header(resp, "Access-Control-Allow-Origin", "*");
		ok = 1;
	} else {
		olen = req->origin != NULL ? strlen(req->origin) : 0;
		for (p = list; olen > 0 && *p != '\0'; p = comma + 1) {
			comma = strchr(p, ',');
			n = comma != NULL ? (size_t)(comma - p) : strlen(p);
			if (n == olen && memcmp(p, req->origin, n) == 0) {
				ok = 1;
				break;
			}
			if (comma == NULL)
				break;
		}
		if (!ok)
			return 0;
		err = fh_resp_header(
		    resp, "Access-Control-Allow-Origin", req->origin);
		if (err == FH_OK)
			err = fh_resp_header(resp, "Vary", "Origin");
	}
	if (err == FH_OK)
		err = fh_resp_header(
		    resp, "Access-Control-Allow-Methods", "POST, OPTIONS");
	if (err == FH_OK)
		err = fh_resp_header(resp, "Access-Control-Allow-Headers",
		    "Content-Type, Authorization");
	if (err == FH_OK)
		err = fh_resp_header(resp, "Access-Control-Max-Age", "600");
	return err == FH_OK;
}

/* The security check of a route; sets ctx->auth_used for the log. */
static enum fh_err
check_auth(
    struct fh_ctx *ctx, const struct fh_route *rt, const struct fh_req *req)
{
	struct fh_sig_input	in;
	const struct fh_config *cfg = ctx->cfg;

	memset(&in, 0, sizeof(in));
	in.public_url = cfg->public_url;
	in.request_uri = req->request_uri;
	in.method = req->method_str;
	in.content_type = req->content_type;
	in.body_form = &req->form;
	in.body = fh_buf_cstr(&req->body);
	in.body_len = req->body.len;
	in.authorization = req->authorization;
	in.basic_auth = cfg->basic_auth;
	in.signature = req->signature;
	in.token = cfg->auth_token;
	in.token2 = cfg->auth_token2;

	switch (rt->auth) {
	case FH_AUTH_PUBLIC:
		ctx->auth_used = "public";
		return FH_OK;
	case FH_AUTH_TWILIO_SIG_BASIC:
		if (!req->basic_verified) {
			ctx->auth_used = "denied:no-basic-marker";
			return FH_EAUTH;
		}
		/* FALLTHROUGH */
	case FH_AUTH_TWILIO_SIG:
		if (cfg->auth_token == NULL || cfg->public_url == NULL ||
		    req->request_uri == NULL || req->signature == NULL ||
		    fh_sig_check(&in) != FH_OK) {
			ctx->auth_used = req->signature == NULL
			    ? "denied:no-signature"
			    : "denied:bad-signature";
			return FH_EAUTH;
		}
		ctx->auth_used = auth_names[rt->auth];
		return FH_OK;
	case FH_AUTH_SIG_OR_BASIC:
		if (req->signature != NULL) {
			if (cfg->auth_token == NULL ||
			    cfg->public_url == NULL ||
			    req->request_uri == NULL ||
			    fh_sig_check(&in) != FH_OK) {
				ctx->auth_used = "denied:bad-signature";
				return FH_EAUTH;
			}
			ctx->auth_used = "signature";
			return FH_OK;
		}
		if (!req->basic_verified) {
			ctx->auth_used = "denied:no-basic-marker";
			return FH_EAUTH;
		}
		ctx->auth_used = "basic";
		return FH_OK;
	case FH_AUTH_FLEX_TOKEN:
		if (ctx->token_check == NULL) {
			ctx->auth_used = "denied:no-token-check";
			return FH_ETOKEN;
		}
		return ctx->token_check(ctx, req);
	case FH_AUTH_UNSET:
	case FH_AUTH__MAX:
		break;
	}
	ctx->auth_used = "denied:unset";
	return FH_EAUTH;
}

static enum fh_err
allow_header(struct fh_resp *resp, unsigned methods)
{
	char   allow[64];
	size_t i, n = 0;
	int    w;

	allow[0] = '\0';
	for (i = 1; i < FH_M__MAX; i++) {
		if (!(methods & (1u << i)))
			continue;
		w = snprintf(allow + n, sizeof(allow) - n, "%s%s",
		    n > 0 ? ", " : "", method_names[i]);
		if (w < 0 || (size_t)w >= sizeof(allow) - n)
			return FH_EINTERNAL;
		n += (size_t)w;
	}
	return fh_resp_header(resp, "Allow", allow);
}

enum fh_err
fh_dispatch(struct fh_ctx *ctx, const struct fh_route *routes, size_t nroutes,
    const struct fh_req *req, struct fh_resp *resp)
{
	const struct fh_route *rt = NULL;
	size_t		       i;
	int		       flex;
	enum fh_err	       err;

	ctx->auth_used = "none";
	for (i = 0; i < nroutes; i++)
		if (strcmp(routes[i].path, req->path) == 0)
			rt = &routes[i];
	if (rt == NULL) {
		err = FH_ENOTFOUND;
		goto fail;
	}
	/* every Flex-token route is called from the browser, whatever its
	 * path (/features/callback-and-voicemail/flex/..., the plugin
	 * library's /callback/flex/..., the older /features/callbacks/...) */
	flex = rt->auth == FH_AUTH_FLEX_TOKEN;
	if (flex && !cors(ctx, req, resp)) {
		ctx->auth_used = "denied:origin";
		err = FH_EAUTH;
		if (fh_resp_error(resp, err, "origin not allowed", NULL) !=
		    FH_OK)
			fh_resp_empty(resp, 500);
		return err;
	}
	if (flex && req->method == FH_M_OPTIONS) {
		ctx->auth_used = "public";
		fh_resp_empty(resp, 204);
		return FH_OK;
	}
	if (req->method == FH_M_UNKNOWN ||
	    !(rt->methods & (1u << req->method))) {
		err = FH_EMETHOD;
		if (fh_resp_error(resp, err, NULL, NULL) != FH_OK ||
		    allow_header(resp,
			rt->methods | (flex ? FH_ALLOW_OPTIONS : 0)) != FH_OK)
			fh_resp_empty(resp, 500);
		return err;
	}
	/* a form-only route: a body of another kind cannot be signed as a
	 * form, so it is a 400 (a too large body is still 413) */
	if ((rt->methods & FH_ROUTE_FORM_ONLY) &&
	    req->parse_err != FH_ETOOBIG && req->parse_err != FH_ENOMEM &&
	    (req->parse_err == FH_EMEDIA || req->body_kind != FH_BODY_FORM)) {
		err = FH_EINPUT;
		if (fh_resp_error(resp, err, "body is not a form", NULL) !=
		    FH_OK)
			fh_resp_empty(resp, 500);
		return err;
	}
	/* framing problems first: they need no secret to detect */
	if (req->parse_err == FH_ETOOBIG || req->parse_err == FH_EMEDIA ||
	    req->parse_err == FH_ENOMEM) {
		err = req->parse_err;
		goto fail;
	}
	if (req->parse_err != FH_OK) {
		err = req->parse_err;
		if (fh_resp_error(resp, err, "malformed request", NULL) !=
		    FH_OK)
			fh_resp_empty(resp, 500);
		return err;
	}
	if (ctx->unconfigured != NULL) {
		char msg[96];

		(void)snprintf(
		    msg, sizeof(msg), "not configured: %s", ctx->unconfigured);
		err = FH_EUNAVAIL;
		if (fh_resp_error(resp, err, msg, NULL) != FH_OK)
			fh_resp_empty(resp, 500);
		return err;
	}
	err = check_auth(ctx, rt, req);
	if (err == FH_EAUTH &&
	    strcmp(ctx->auth_used, "denied:bad-signature") != 0 &&
	    strcmp(ctx->auth_used, "denied:no-signature") != 0) {
		/* the Basic-auth marker is missing, or the route is unset */
		if (fh_resp_error(resp, err, "authentication required", NULL) !=
		    FH_OK)
			fh_resp_empty(resp, 500);
		return err;
	}
	if (err != FH_OK)
		goto fail;
	resp->status = 0;
	err = rt->handler(ctx, req, resp);
	if (resp->streamed)
		return err; /* sent: an error only cut it short */
	if (resp->status != 0)
		return err; /* an answer, or the handler's own error body */
	if (err == FH_OK)
		err = FH_EINTERNAL; /* a handler that answered nothing */
fail:
	if (fh_resp_error(resp, err, NULL, NULL) != FH_OK)
		fh_resp_empty(resp, 500);
	return err;
}

void
fh_ctx_init(
    struct fh_ctx *ctx, const char *prog, struct fh_config *cfg, unsigned need)
{
	char	    msg[256];
	enum fh_err err;

	memset(ctx, 0, sizeof(*ctx));
	ctx->prog = prog;
	ctx->cfg = cfg;
	fh_log_init(&ctx->log, prog, FH_LOG_INFO);
	err = fh_config_load(cfg, NULL, msg, sizeof(msg));
	if (err == FH_OK)
		err = fh_config_require(
		    cfg, need & ~FH_NEED_FEATURES, msg, sizeof(msg));
	if (err != FH_OK) {
		fh_log_error(&ctx->log, "cannot start: %s", msg);
		exit(1);
	}
	ctx->log.level = cfg->log_level;
	ctx->unconfigured = fh_config_unconfigured(cfg, need);
	if (ctx->unconfigured != NULL)
		fh_log_warn(&ctx->log,
		    "not configured: %s (every request "
		    "answers 503)",
		    ctx->unconfigured);
	ctx->deadline_ms = cfg->deadline_ms;
	if (need & FH_NEED_REST) {
		err = fh_rest_new(&ctx->rest, cfg, &ctx->log);
		if (err != FH_OK) {
			fh_log_error(&ctx->log, "cannot start: %s",
			    "REST client set-up failed");
			exit(1);
		}
	}
}

void
fh_ctx_release(struct fh_ctx *ctx)
{
	fh_rest_free(ctx->rest);
	ctx->rest = NULL;
	fh_dedupe_free(ctx->dedupe);
	ctx->dedupe = NULL;
	fh_config_release((struct fh_config *)ctx->cfg);
	fh_log_release(&ctx->log);
}

enum fh_err
fh_ctx_after(struct fh_ctx *ctx, void (*fn)(struct fh_ctx *, const char *),
    const char		   *arg)
{
	size_t i, n = strlen(arg);

	for (i = 0; i < ctx->nafter; i++)
		if (ctx->after[i].fn == fn &&
		    strcmp(ctx->after[i].arg, arg) == 0)
			return FH_OK;
	if (ctx->nafter >= FH_CTX_MAX_AFTER || n >= FH_CTX_AFTER_ARG)
		return FH_ETOOBIG;
	ctx->after[ctx->nafter].fn = fn;
	memcpy(ctx->after[ctx->nafter].arg, arg, n + 1);
	ctx->nafter++;
	return FH_OK;
}

void
fh_ctx_run_after(struct fh_ctx *ctx)
{
	struct fh_after jobs[FH_CTX_MAX_AFTER];
	size_t		i, n = ctx->nafter;

	/* a job may leave another one: that one waits for the next call */
	memcpy(jobs, ctx->after, n * sizeof(jobs[0]));
	ctx->nafter = 0;
	for (i = 0; i < n; i++)
		jobs[i].fn(ctx, jobs[i].arg);
}

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
on_signal_child(int sig)
{
	(void)sig;
}

/* Read the body: CONTENT_LENGTH is checked against the cap before any byte
 * is read, so an oversized upload costs nothing. */
static enum fh_err
read_body(FCGX_Request *r, struct fh_buf *body)
{
	const char *cl;
	long long   want = -1;
	char	    chunk[8192];
	int	    n;
	enum fh_err err = FH_OK;

	cl = FCGX_GetParam("CONTENT_LENGTH", r->envp);
	if (cl != NULL && cl[0] != '\0') {
		if (fh_parse_int(cl, strlen(cl), 0, 1LL << 40, &want) != FH_OK)
			return FH_EINPUT;
		if (want > FH_REQ_MAX_BODY)
			return FH_ETOOBIG;
	}
	while (err == FH_OK && (want < 0 || (long long)body->len < want)) {
		n = FCGX_GetStr(chunk, sizeof(chunk), r->in);
		if (n <= 0)
			break;
		err = fh_buf_add(body, chunk, (size_t)n);
	}
	fh_bzero(chunk, sizeof(chunk)); /* it may have held a Flex token */
	return err;
}

/*
 * Wait for a connection on the listening socket (fd 0) with SIGTERM and
 * SIGINT deliverable, which they are nowhere else: a request in progress
 * is never interrupted (a read or write failing with EINTR dropped it,
 * and nginx answered 502 whenever systemd stopped or restarted a unit
 * under load); it is finished, and the loop ends after it.  The socket is
 * non-blocking: a process that loses the race for a connection to
 * another one gets EAGAIN, not a blocked accept(), and waits again.
 * 1: accept; 0: stop.
 */
static int
wait_connection(struct fh_ctx *ctx, const sigset_t *waitmask)
{
	struct pollfd pfd = {0, POLLIN, 0};

	while (!stopping) {
		if (ppoll(&pfd, 1, NULL, waitmask) >= 0)
			return 1;
		if (errno != EINTR) {
			fh_log_error(&ctx->log,
			    "cannot wait for connections: "
			    "%s",
			    strerror(errno));
			return 0;
		}
	}
	return 0;
}

/* A streamed answer's bytes go to the FastCGI output as they come; libfcgi
 * sends a record whenever its buffer fills. */
static enum fh_err
fcgx_write(void *arg, const char *p, size_t n)
{
	FCGX_Stream *out = arg;
	int	     w;

	while (n > 0) {
		w = n > 65536 ? 65536 : (int)n;
		if (FCGX_PutStr(p, w, out) != w)
			return FH_EUPSTREAM; /* nginx went away */
		p += w;
		n -= (size_t)w;
	}
	return FH_OK;
}

static int
serve(struct fh_ctx *ctx, const struct fh_route *routes, size_t nroutes)
{
	FCGX_Request	    r;
	struct sigaction    sa;
	struct fh_req	    req;
	struct fh_resp	    resp;
	struct fh_buf	    body, out;
	struct fh_resp_sink sink;
	enum fh_err	    err;
	sigset_t	    term, old, waitmask;
	int64_t		    t0;
	int		    rc, fl;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, &old);
	waitmask = old;
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	if ((fl = fcntl(0, F_GETFL)) < 0 ||
	    fcntl(0, F_SETFL, fl | O_NONBLOCK) < 0) {
		fh_log_error(&ctx->log, "no listening socket on fd 0: %s",
		    strerror(errno));
		return 1;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0) {
		fh_log_error(&ctx->log, "cannot initialise libfcgi");
		return 1;
	}
	fh_log_info(&ctx->log, "%s started", ctx->prog);
	while (wait_connection(ctx, &waitmask)) {
		if ((rc = FCGX_Accept_r(&r)) < 0) {
			if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR)
				continue;
			fh_log_error(&ctx->log, "cannot accept: %s",
			    rc > -4096 ? strerror(-rc) : "libfcgi error");
			break;
		}
		t0 = fh_now_ms();
		fh_log_begin(
		    &ctx->log, FCGX_GetParam("FLEXHOOKS_REQUEST_ID", r.envp));
		if (ctx->rest != NULL)
			fh_rest_set_deadline(ctx->rest, ctx->deadline_ms);
		ctx->nafter = 0;
		fh_req_init(&req);
		fh_resp_init(&resp);
		fh_buf_init(&body, FH_REQ_MAX_BODY);
		body.secret = 1;
		fh_buf_init(&out, 64 * 1024); /* the head only */
		err = read_body(&r, &body);
		if (err == FH_OK)
			err = fh_req_parse(
			    &req, r.envp, fh_buf_cstr(&body), body.len);
		else {
			/* keep method and path for routing and the log */
			if (fh_req_parse(&req, r.envp, NULL, 0) != FH_OK)
				fh_log_debug(&ctx->log,
				    "request parameters "
				    "unreadable");
			req.parse_err = err;
		}
		fh_log_set_call(&ctx->log, fh_req_param(&req, "CallSid"));
		sink.write = fcgx_write;
		sink.arg = r.out;
		resp.sink = &sink;
		err = fh_dispatch(ctx, routes, nroutes, &req, &resp);
		/* the head, then the body from where it is: no second copy of
		 * a large answer (a recording) */
		if (resp.streamed) {
			/* sent already; one cut short must not end cleanly,
			 * or nginx would pass a short file on as complete */
			if (fh_resp_stream_short(&resp)) {
				fh_log_error(&ctx->log,
				    "streamed answer cut "
				    "after %llu of %llu bytes",
				    resp.stream_sent, resp.stream_length);
				(void)shutdown(r.ipcFd, SHUT_RDWR);
			}
		} else if (fh_resp_format_head(&resp, &out) == FH_OK) {
			FCGX_PutStr(out.data, (int)out.len, r.out);
			if (resp.status != 204 && resp.body.len > 0)
				FCGX_PutStr(
				    resp.body.data, (int)resp.body.len, r.out);
		} else
			FCGX_PutS("Status: 500 Internal Server Error\r\n"
				  "Content-Length: 0\r\n\r\n",
			    r.out);
		fh_log_request(&ctx->log, req.method_str, req.path, resp.status,
		    (long)(fh_now_ms() - t0), ctx->auth_used,
		    err == FH_OK ? NULL : fh_err_name(err));
		fh_buf_release(&out);
		fh_buf_release(&body);
		fh_resp_release(&resp);
		fh_req_release(&req);
		FCGX_Finish_r(&r);
		/* the answer is out: now the work that must not delay it */
		fh_ctx_run_after(ctx);
	}
	fh_log_begin(&ctx->log, NULL);
	fh_log_info(&ctx->log, "%s stopping", ctx->prog);
	FCGX_Free(&r, 1);
	return 0;
}

/*
 * FLEXHOOKS_PROCESSES > 1: this process supervises that many children,
 * which share the listening socket (fd 0) and each run the accept loop.
 * A child that dies is started again, after a delay that doubles (100 ms
 * up to 5 s) while children die within a second of their start.  SIGHUP
 * is passed on to the children; SIGTERM/SIGINT stop them (SIGKILL after
 * 5 s) and end the supervisor.  Signals are taken synchronously with
 * sigtimedwait(), so none is lost between two checks.
 */
#define SUP_MIN_DELAY_MS 100
#define SUP_MAX_DELAY_MS 5000
#define SUP_STABLE_MS 1000
#define SUP_KILL_AFTER_MS 5000

struct child {
	pid_t	pid;	 /* 0: not running */
	int64_t started; /* ms */
	int64_t due;	 /* ms: start again at (when pid == 0) */
};

/* fork(); in the child, restore the signal set-up of the program. */
static pid_t
start_child(const sigset_t *old)
{
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, old, NULL);
	}
	return pid;
}

static void
stop_children(struct fh_ctx *ctx, struct child *kids, size_t n)
{
	int64_t until = fh_now_ms() + SUP_KILL_AFTER_MS;
	size_t	i, left;
	pid_t	pid;
	int	st;

	for (i = 0; i < n; i++)
		if (kids[i].pid > 0)
			kill(kids[i].pid, SIGTERM);
	for (;;) {
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			for (i = 0; i < n; i++)
				if (kids[i].pid == pid)
					kids[i].pid = 0;
		for (left = 0, i = 0; i < n; i++)
			left += kids[i].pid > 0;
		if (left == 0)
			return;
		if (fh_now_ms() >= until) {
			fh_log_warn(&ctx->log,
			    "%zu children did not stop: "
			    "killed",
			    left);
			for (i = 0; i < n; i++)
				if (kids[i].pid > 0)
					kill(kids[i].pid, SIGKILL);
			until = fh_now_ms() + SUP_KILL_AFTER_MS;
		}
		usleep(20 * 1000);
	}
}

static int
supervise(
    struct fh_ctx *ctx, const struct fh_route *routes, size_t nroutes, size_t n)
{
	struct child   *kids;
	sigset_t	set, old;
	siginfo_t	info;
	struct timespec tick = {0, 100 * 1000 * 1000};
	int64_t		now, delay = SUP_MIN_DELAY_MS;
	size_t		i;
	pid_t		pid;
	int		sig, st;

	if ((kids = calloc(n, sizeof(*kids))) == NULL) {
		fh_log_error(
		    &ctx->log, "cannot supervise: %s", fh_err_name(FH_ENOMEM));
		return 1;
	}
	/* a handler (not SIG_IGN), so that SIGCHLD is kept pending */
	signal(SIGCHLD, on_signal_child);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	fh_log_info(&ctx->log, "%s supervising %zu processes", ctx->prog, n);
	for (;;) {
		now = fh_now_ms();
		for (i = 0; i < n; i++) {
			if (kids[i].pid != 0 || now < kids[i].due)
				continue;
			pid = start_child(&old);
			if (pid == 0) {
				/* the child: serve, then return to main()
				 * like a single process, which cleans up */
				free(kids);
				return serve(ctx, routes, nroutes);
			}
			if (pid < 0) {
				fh_log_error(&ctx->log, "cannot fork: %s",
				    strerror(errno));
				kids[i].due = now + SUP_MAX_DELAY_MS;
				continue;
			}
			kids[i].pid = pid;
			kids[i].started = now;
		}
		sig = sigtimedwait(&set, &info, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			for (i = 0; i < n; i++)
				if (kids[i].pid > 0)
					kill(kids[i].pid, SIGHUP);
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			now = fh_now_ms();
			for (i = 0; i < n; i++) {
				if (kids[i].pid != pid)
					continue;
				if (WIFSIGNALED(st))
					fh_log_error(&ctx->log,
					    "process %ld "
					    "killed by signal %d",
					    (long)pid, WTERMSIG(st));
				else
					fh_log_error(&ctx->log,
					    "process %ld "
					    "exited with status %d",
					    (long)pid, WEXITSTATUS(st));
				if (now - kids[i].started < SUP_STABLE_MS)
					delay = delay * 2 > SUP_MAX_DELAY_MS
					    ? SUP_MAX_DELAY_MS
					    : delay * 2;
				else
					delay = SUP_MIN_DELAY_MS;
				kids[i].pid = 0;
				kids[i].due = now + delay;
			}
		}
	}
	fh_log_info(&ctx->log, "%s stopping %zu processes", ctx->prog, n);
	stop_children(ctx, kids, n);
	free(kids);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

int
fh_main_loop(struct fh_ctx *ctx, const struct fh_route *routes, size_t nroutes)
{
	struct sigaction cur;

	/* SIGHUP reloads where a program asks for it (locations), and is
	 * harmless everywhere else */
	if (sigaction(SIGHUP, NULL, &cur) == 0 && cur.sa_handler == SIG_DFL)
		signal(SIGHUP, SIG_IGN);
	if (ctx->cfg->processes > 1)
		return supervise(
		    ctx, routes, nroutes, (size_t)ctx->cfg->processes);
	return serve(ctx, routes, nroutes);
}
