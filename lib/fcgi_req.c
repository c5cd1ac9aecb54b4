/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi_req.c - parsing one request from its FastCGI parameters and body.
 *
 * Plain data in, plain data out: no libfcgi here (the serve loop reads the
 * parameters and the body), so tests and fuzz targets call it directly.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/fcgi_req.h"
#include "lib/json.h"

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

static const char *const auth_result_names[FH_AUTHR__MAX] = {
    [FH_AUTHR_NONE] = "none",
    [FH_AUTHR_PUBLIC] = "public",
    [FH_AUTHR_SIGNATURE] = "signature",
    [FH_AUTHR_SIGNATURE_BASIC] = "signature+basic",
    [FH_AUTHR_BASIC] = "basic",
    [FH_AUTHR_FLEX_TOKEN] = "flex-token",
    [FH_AUTHR_DENIED_ORIGIN] = "denied:origin",
    [FH_AUTHR_DENIED_UNSET] = "denied:unset",
    [FH_AUTHR_DENIED_NO_BASIC_MARKER] = "denied:no-basic-marker",
    [FH_AUTHR_DENIED_NO_SIGNATURE] = "denied:no-signature",
    [FH_AUTHR_DENIED_BAD_SIGNATURE] = "denied:bad-signature",
    [FH_AUTHR_DENIED_NO_TOKEN_CHECK] = "denied:no-token-check",
    [FH_AUTHR_DENIED_NO_TOKEN] = "denied:no-token",
    [FH_AUTHR_DENIED_BAD_TOKEN] = "denied:bad-token",
    [FH_AUTHR_DENIED_INVALID_TOKEN] = "denied:invalid-token",
    [FH_AUTHR_DENIED_IAM_COOLING_DOWN] = "denied:iam-cooling-down",
    [FH_AUTHR_DENIED_IAM_UNAVAILABLE] = "denied:iam-unavailable",
    [FH_AUTHR_DENIED_NO_MEMORY] = "denied:no-memory",
};

const char *
fh_method_name(enum fh_method m)
{
	return (unsigned)m < FH_M__MAX ? method_names[m] : "";
}

const char *
fh_auth_result_name(enum fh_auth_result r)
{
	return (unsigned)r < FH_AUTHR__MAX ? auth_result_names[r] : "none";
}

int
fh_auth_denied(enum fh_auth_result r)
{
	return r >= FH_AUTHR_DENIED_ORIGIN && r < FH_AUTHR__MAX;
}

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
