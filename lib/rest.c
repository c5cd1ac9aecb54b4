/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rest.c - the Twilio REST client over libcurl.
 *
 * Each base (API, TaskRouter, IAM) has one easy handle, set up once in
 * fh_rest_new() so that its connection stays alive between requests.  It
 * is never curl_easy_reset(), which would make curl copy the secret again
 * for every request; instead, every option that differs between requests
 * is set before each transfer (set_request()), and the pointers it borrows
 * are cleared again after it (clear_request()).
 *
 * The retry policy is docs/design/platform.md#retries-and-deadlines; the
 * deadline is one per webhook.  If no deadline has been set when the first
 * request is made, that request sets one of cfg->deadline_ms, which later
 * requests share: a caller that never sets a deadline still cannot wait for
 * ever.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strptime(), timegm() */
#endif

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "lib/clock.h"
#include "lib/rest.h"
#include "lib/valid.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define DEFAULT_DEADLINE_MS \
	8000		   /* docs/design/platform.md#retries-and-deadlines */
#define MAX_RETRY_LIMIT 20 /* the range config accepts */
#define MAX_REDIRS 3	   /* docs/design/platform.md#twilio-rest-requests */
#define MAX_RETRY_AFTER_S 86400 /* more than a day is not believable */

struct fh_rest {
	const struct fh_config *cfg; /* borrowed */
	struct fh_log	       *log; /* borrowed */
	CURL		       *curl[FH_REST__MAX];
	char		       *base[FH_REST__MAX]; /* no trailing '/' */
	char			errbuf[FH_REST__MAX][CURL_ERROR_SIZE];
	/* the header lists every request of a kind sends alike (no If-Match,
	 * a form body or none), made on first use and kept: [base][form] */
	struct curl_slist *hdrs[FH_REST__MAX][2];
	struct fh_buf	   url; /* the request's URL, its block kept */
	int		   have_auth;
	int		   deadline_set;
	int64_t		   deadline; /* fh_now_ms() value */
	uint64_t	   rng;	     /* when getrandom() fails */
};

/* What one transfer writes into, reached from the curl callbacks. */
struct xfer {
	struct fh_rest_resp	 *resp;
	const struct fh_rest_req *req;
	enum fh_err		  err; /* FH_ETOOBIG, FH_ENOMEM from a write,
					* or the sink's error */
	long		   status;     /* of the response being received */
	unsigned long long streamed;   /* bytes given to req->sink */
	int64_t		   deadline;   /* for the head of a stream */
	int		   late;       /* stopped at that deadline */
};

/* How an attempt ended, for the retry decision. */
enum attempt_class {
	ATTEMPT_FINAL = 0,	  /* success, or nothing to retry */
	ATTEMPT_RETRY_ANY,	  /* 429, or the connection was never made */
	ATTEMPT_RETRY_IDEMPOTENT, /* the request may have reached Twilio */
};

static const char *const products[FH_REST__MAX] = {
    [FH_REST_API] = "api",
    [FH_REST_TASKROUTER] = "taskrouter",
    [FH_REST_IAM] = "iam",
};

static long
default_deadline(const struct fh_config *cfg)
{
	return cfg->deadline_ms > 0 ? (long)cfg->deadline_ms
				    : DEFAULT_DEADLINE_MS;
}

void
fh_rest_set_deadline(struct fh_rest *r, long timeout_ms)
{
	r->deadline = fh_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	r->deadline_set = 1;
}

long
fh_rest_remaining(const struct fh_rest *r)
{
	int64_t left;

	/* before the first request, what that request would get */
	if (!r->deadline_set)
		return default_deadline(r->cfg);
	left = r->deadline - fh_now_ms();
	if (left <= 0)
		return 0;
	return left > LONG_MAX ? LONG_MAX : (long)left;
}

/* Lower-case letters, digits and inner '-': anything else in a region or
 * edge could turn the derived host into another one. */
static int
host_label_ok(const char *s)
{
	size_t n;

	n = strlen(s);
	return n > 0 && n <= 63 && s[0] != '-' && s[n - 1] != '-' &&
	    strspn(s,
		"abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

enum fh_err
fh_rest_derive_url(const char *product, const char *region, const char *edge,
    char *out, size_t outlen)
{
	char   realm[64];
	size_t n;
	int    w;

	if (outlen > 0)
		out[0] = '\0';
	if (product == NULL ||
	    (strcmp(product, "api") != 0 &&
		strcmp(product, "taskrouter") != 0 &&
		strcmp(product, "iam") != 0))
		return FH_ECONFIG;
	/* an empty value is the same as an unset one */
	if (region != NULL && region[0] == '\0')
		region = NULL;
	if (edge != NULL && edge[0] == '\0')
		edge = NULL;
	if ((region != NULL && !host_label_ok(region)) ||
	    (edge != NULL && !host_label_ok(edge)))
		return FH_ECONFIG;

	if (strcmp(product, "iam") == 0) {
		/* IAM has realms, not edges: "au1-x" is realm "au1" */
		if (region == NULL)
			w = snprintf(out, outlen, "https://iam.twilio.com");
		else {
			n = strcspn(region, "-");
			memcpy(realm, region, n);
			realm[n] = '\0';
			w = snprintf(
			    out, outlen, "https://iam.%s.twilio.com", realm);
		}
	} else if (edge != NULL)
		w = snprintf(out, outlen, "https://%s.%s.%s.twilio.com",
		    product, edge, region != NULL ? region : "us1");
	else if (region != NULL)
		w = snprintf(
		    out, outlen, "https://%s.%s.twilio.com", product, region);
	else
		w = snprintf(out, outlen, "https://%s.twilio.com", product);
	if (w < 0 || (size_t)w >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return FH_ETOOBIG;
	}
	lower(out);
	return FH_OK;
}

long
fh_rest_backoff(long min_ms, long max_ms, unsigned n, uint32_t rnd)
{
	long	 cap;
	unsigned i;

	if (min_ms < 0)
		min_ms = 0;
	if (max_ms < 0)
		max_ms = 0;
	/* min * 2^(n-1) by doubling, stopping at max so nothing overflows */
	cap = min_ms;
	for (i = 1; i < n && cap > 0 && cap < max_ms; i++)
		cap = cap > LONG_MAX / 2 ? LONG_MAX : cap * 2;
	if (cap > max_ms)
		cap = max_ms;
	if (cap <= 0)
		return 0;
	/* scale rnd onto [0, cap]: unlike a remainder, no bias to low values */
	if ((unsigned long)cap < UINT32_MAX)
		return (long)(((uint64_t)rnd * ((uint64_t)cap + 1)) >> 32);
	return (long)rnd; /* cap is at least UINT32_MAX: rnd fits */
}

long
fh_rest_retry_after_ms(const char *value)
{
	struct tm   tm;
	long long   secs;
	const char *s, *end;
	char	    date[64];
	size_t	    n;
	time_t	    t, now;

	if (value == NULL)
		return -1;
	s = value;
	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0)
		return -1;

	/* delay-seconds */
	if (s[0] >= '0' && s[0] <= '9') {
		if (fh_parse_int(s, n, 0, MAX_RETRY_AFTER_S, &secs) != FH_OK)
			return -1;
		return (long)secs * 1000;
	}

	/* an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (n >= sizeof(date))
		return -1;
	memcpy(date, s, n);
	date[n] = '\0';
	memset(&tm, 0, sizeof(tm));
	end = strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	now = time(NULL);
	if (t <= now)
		return 0;
	if (t - now > MAX_RETRY_AFTER_S)
		return -1;
	return (long)(t - now) * 1000;
}

static int
get_int(struct json_object *o, const char *key, long long min, long long max,
    int *out)
{
	struct json_object *v;
	int64_t		    i;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	i = json_object_get_int64(v);
	if (i < min || i > max)
		return 0;
	*out = (int)i;
	return 1;
}

static int
get_str(
    struct json_object *o, const char *key, char *dst, size_t dstlen, int whole)
{
	struct json_object *v;
	size_t		    n;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return 0;
	n = (size_t)json_object_get_string_len(v);
	/* a cut URL is a wrong URL: better none */
	if (whole && n >= dstlen)
		return 0;
	fh_copy_utf8(dst, dstlen, json_object_get_string(v), n);
	return 1;
}

/* Clears code, message and more_info; sets status when the body has one;
 * leaves retry_after alone (it comes from a header). */
void
fh_rest_parse_error(const char *body, size_t len, struct fh_twerr *e)
{
	struct json_tokener *tok = NULL;
	struct json_object  *root = NULL, *o, *errs, *first;
	size_t		     end;
	int		     status;

	e->code = 0;
	e->message[0] = '\0';
	e->more_info[0] = '\0';
	if (body == NULL || len == 0 || len > INT_MAX)
		return;
	tok = json_tokener_new_ex(FH_REST_JSON_DEPTH);
	if (tok == NULL)
		return;
	root = json_tokener_parse_ex(tok, body, (int)len);
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success)
		goto out;
	/* one object and nothing after it but whitespace */
	end = json_tokener_get_parse_end(tok);
	while (end < len &&
	    (body[end] == ' ' || body[end] == '\t' || body[end] == '\r' ||
		body[end] == '\n'))
		end++;
	if (end != len || !json_object_is_type(root, json_type_object))
		goto out;

	if (get_int(root, "status", 100, 599, &status))
		e->status = status;
	o = root;
	/* newer APIs: {"errors":[{"code","message","infoUrl"}]} */
	if (json_object_object_get_ex(root, "errors", &errs) &&
	    json_object_is_type(errs, json_type_array) &&
	    json_object_array_length(errs) > 0) {
		first = json_object_array_get_idx(errs, 0);
		if (!json_object_is_type(first, json_type_object))
			goto out;
		o = first;
		get_str(o, "infoUrl", e->more_info, sizeof(e->more_info), 1);
	}
	if (!get_int(o, "code", 1, 999999, &e->code))
		e->code = 0;
	get_str(o, "message", e->message, sizeof(e->message), 0);
	if (e->more_info[0] == '\0')
		get_str(o, "more_info", e->more_info, sizeof(e->more_info), 1);
out:
	json_object_put(root);
	json_tokener_free(tok);
}

/* Twilio's messages may quote the numbers of a request ("The 'To' number
 * +15555550123 is not valid"); mask every run of seven or more digits that
 * is not part of a word (a SID) but for its last four. */
static void
mask_digits(char *s)
{
	size_t i, j, n;

	n = strlen(s);
	i = 0;
	while (i < n) {
		if (!isdigit((unsigned char)s[i])) {
			i++;
			continue;
		}
		j = i;
		while (j < n && isdigit((unsigned char)s[j]))
			j++;
		if (j - i >= 7 &&
		    (i == 0 || !isalnum((unsigned char)s[i - 1])) &&
		    (j == n || !isalpha((unsigned char)s[j])))
			memset(s + i, '*', j - i - 4);
		i = j;
	}
}

static uint32_t
rest_random(struct fh_rest *r)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	/* no entropy yet or no syscall: xorshift64, seeded at creation */
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return (uint32_t)(r->rng >> 32);
}

static void
sleep_ms(long ms)
{
	struct timespec ts;
	int64_t		end, left;

	/* a signal (SIGTERM) interrupts nanosleep(): sleep the rest */
	end = fh_now_ms() + ms;
	left = ms;
	while (left > 0) {
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000;
		(void)nanosleep(&ts, NULL);
		left = end - fh_now_ms();
	}
}

/* Keep a header value only when it fits whole and is printable ASCII: an
 * ETag goes back into If-Match, so it must not smuggle in a control byte. */
static void
keep_header(char *dst, size_t dstlen, const char *v, size_t n)
{
	size_t i;

	dst[0] = '\0';
	if (n >= dstlen)
		return;
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static void
reset_headers(struct fh_rest_resp *resp)
{
	resp->etag[0] = '\0';
	resp->content_type[0] = '\0';
	resp->content_length = -1;
	resp->twerr.retry_after[0] = '\0';
}

/* The status code of a status line "HTTP/1.1 200 OK" (p[0..n)), or 0. */
static long
status_code(const char *p, size_t n)
{
	const char *sp;
	long long   v;

	sp = memchr(p, ' ', n);
	if (sp == NULL || (size_t)(sp - p) + 4 > n ||
	    fh_parse_int(sp + 1, 3, 100, 599, &v) != FH_OK)
		return 0;
	return (long)v;
}

/* A Content-Length value: digits only, else -1. */
static long long
length_value(const char *v, size_t n)
{
	long long len = 0;
	size_t	  i;

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		len = len * 10 + (v[i] - '0');
	}
	return len;
}

static size_t
header_cb(char *p, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	const char  *colon, *v;
	size_t	     n, len, name, vlen;

	n = size * nitems;
	/* a status line starts a new response (100 Continue, a redirect):
	 * only the final response's headers count */
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		reset_headers(x->resp);
		x->status = status_code(p, n);
		return n;
	}
	len = n;
	while (len > 0 &&
	    (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' ' ||
		p[len - 1] == '\t'))
		len--;
	colon = memchr(p, ':', len);
	if (colon == NULL)
		return n;
	name = (size_t)(colon - p);
	v = colon + 1;
	vlen = len - name - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	if (name == 4 && strncasecmp(p, "etag", 4) == 0)
		keep_header(x->resp->etag, sizeof(x->resp->etag), v, vlen);
	else if (name == 12 && strncasecmp(p, "content-type", 12) == 0)
		keep_header(x->resp->content_type,
		    sizeof(x->resp->content_type), v, vlen);
	else if (name == 11 && strncasecmp(p, "retry-after", 11) == 0)
		keep_header(x->resp->twerr.retry_after,
		    sizeof(x->resp->twerr.retry_after), v, vlen);
	else if (name == 14 && strncasecmp(p, "content-length", 14) == 0)
		x->resp->content_length = length_value(v, vlen);
	return n;
}

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	enum fh_err  err;
	size_t	     n;

	n = size * nmemb;
	if (x->req->sink != NULL && x->status >= 200 && x->status <= 299) {
		/* the final answer: a 2xx is never followed */
		x->resp->status = x->status;
		err = x->req->sink(x->req->sink_arg, x->resp, p, n);
		if (err != FH_OK) {
			x->err = err;
			return 0;
		}
		x->streamed += n;
		return n;
	}
	err = fh_buf_add(&x->resp->body, p, n);
	if (err != FH_OK) {
		/* returning short makes curl stop with CURLE_WRITE_ERROR */
		x->err = err;
		return 0;
	}
	return n;
}

/* A streamed transfer: the deadline holds until its body starts. */
static int
progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	struct xfer *x = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (x->streamed == 0 && fh_now_ms() >= x->deadline) {
		x->late = 1;
		return 1; /* CURLE_ABORTED_BY_CALLBACK */
	}
	return 0;
}

static enum fh_err
setup_handle(
    struct fh_rest *r, enum fh_rest_base b, const char *user, const char *pass)
{
	CURL	*c;
	CURLcode cc;
	int	 https;

	c = curl_easy_init();
	if (c == NULL)
		return FH_ENOMEM;
	r->curl[b] = c;
	https = strncasecmp(r->base[b], "https://", 8) == 0;
	/* FastCGI programs are single-threaded; no SIGALRM for timeouts */
	cc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf[b]);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* a redirect must not downgrade: plain http only when the base
	 * itself is http, which config allows for loopback alone */
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR,
		    https ? "https" : "http,https");
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)MAX_REDIRS);
	/* never send the credentials to the host a redirect names */
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
	/* settings come from fh_config only, not from http_proxy & co */
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(
		    c, CURLOPT_USERAGENT, "flexhooks/" PACKAGE_VERSION);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
	if (cc == CURLE_OK && user != NULL) {
		cc =
		    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		if (cc == CURLE_OK)
			cc = curl_easy_setopt(c, CURLOPT_USERNAME, user);
		if (cc == CURLE_OK)
			cc = curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
	}
	if (cc == CURLE_OUT_OF_MEMORY)
		return FH_ENOMEM;
	if (cc != CURLE_OK) {
		fh_log_error(r->log, "cannot set up curl for '%s': %s",
		    products[b], curl_easy_strerror(cc));
		return FH_EINTERNAL;
	}
	return FH_OK;
}

static int
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

enum fh_err
fh_rest_new(
    struct fh_rest **out, const struct fh_config *cfg, struct fh_log *log)
{
	static int	  curl_ready;
	const char *const over[FH_REST__MAX] = {
	    [FH_REST_API] = cfg->api_url,
	    [FH_REST_TASKROUTER] = cfg->taskrouter_url,
	    [FH_REST_IAM] = cfg->iam_url,
	};
	struct fh_rest *r = NULL;
	const char     *user = NULL, *pass = NULL;
	char		url[256];
	enum fh_err	err;
	size_t		n;
	CURLcode	cc;
	int		b;

	*out = NULL;
	/* once per process: FastCGI programs are single-threaded */
	if (!curl_ready) {
		cc = curl_global_init(CURL_GLOBAL_DEFAULT);
		if (cc != CURLE_OK) {
			fh_log_error(log, "cannot initialise curl: %s",
			    curl_easy_strerror(cc));
			return FH_EINTERNAL;
		}
		curl_ready = 1;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return FH_ENOMEM;
	r->cfg = cfg;
	r->log = log;
	fh_buf_init(&r->url, FH_REST_MAX_URL);
	if (getrandom(&r->rng, sizeof(r->rng), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(r->rng))
		r->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	r->rng |= 1; /* xorshift never leaves zero */

	/* an API key replaces the Auth Token for REST, never half of it */
	if (nonempty(cfg->api_key) && nonempty(cfg->api_secret)) {
		user = cfg->api_key;
		pass = cfg->api_secret;
	} else if (nonempty(cfg->account_sid) && nonempty(cfg->auth_token)) {
		user = cfg->account_sid;
		pass = cfg->auth_token;
	}
	r->have_auth = user != NULL;

	for (b = 0; b < FH_REST__MAX; b++) {
		if (nonempty(over[b])) {
			/* config checked the URL; a trailing '/' would
			 * double the one every path starts with */
			n = strlen(over[b]);
			while (n > 0 && over[b][n - 1] == '/')
				n--;
			r->base[b] = fh_strndup(over[b], n);
		} else {
			err = fh_rest_derive_url(products[b], cfg->region,
			    cfg->edge, url, sizeof(url));
			if (err != FH_OK) {
				fh_log_error(log,
				    "cannot derive the %s URL "
				    "from TWILIO_REGION and TWILIO_EDGE",
				    products[b]);
				err = FH_ECONFIG;
				goto fail;
			}
			r->base[b] = fh_strndup(url, strlen(url));
		}
		if (r->base[b] == NULL) {
			err = FH_ENOMEM;
			goto fail;
		}
		err = setup_handle(r, (enum fh_rest_base)b, user, pass);
		if (err != FH_OK)
			goto fail;
	}
	*out = r;
	return FH_OK;
fail:
	fh_rest_free(r);
	return err;
}

void
fh_rest_free(struct fh_rest *r)
{
	int b;

	if (r == NULL)
		return;
	for (b = 0; b < FH_REST__MAX; b++) {
		if (r->curl[b] != NULL)
			curl_easy_cleanup(r->curl[b]);
		free(r->base[b]);
		curl_slist_free_all(r->hdrs[b][0]);
		curl_slist_free_all(r->hdrs[b][1]);
	}
	fh_buf_release(&r->url);
	free(r);
}

const char *
fh_rest_base_url(const struct fh_rest *r, enum fh_rest_base base)
{
	if ((unsigned)base >= FH_REST__MAX)
		return NULL;
	return r->base[base];
}

void
fh_rest_resp_release(struct fh_rest_resp *resp)
{
	fh_buf_release(&resp->body);
}

static void
resp_init(struct fh_rest_resp *resp, const struct fh_rest_req *req)
{
	memset(resp, 0, sizeof(*resp));
	resp->content_length = -1;
	fh_buf_init(&resp->body,
	    req != NULL && req->max_response > 0 ? req->max_response
						 : FH_REST_MAX_RESPONSE);
}

/* Bytes that may go into a URL as they are: the caller encoded them. */
static int
url_part_ok(const char *s, int allow_qmark)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    *s == '#' || (*s == '?' && !allow_qmark))
			return 0;
	return 1;
}

/* Printable ASCII: a header value must not end the header early. */
static int
header_value_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* The path for the log: never the query, which can hold phone numbers. */
static int
path_len(const char *path)
{
	size_t n;

	n = strcspn(path, "?");
	return n > 256 ? 256 : (int)n;
}

static enum fh_err
check_req(const struct fh_rest *r, const struct fh_rest_req *req)
{
	if ((unsigned)req->base >= FH_REST__MAX || req->method == NULL ||
	    req->path == NULL || req->path[0] != '/' ||
	    !url_part_ok(req->path, 0) ||
	    (req->query != NULL && !url_part_ok(req->query, 1)) ||
	    (req->body == NULL && req->body_len > 0) ||
	    (req->content_type != NULL &&
		!header_value_ok(req->content_type)) ||
	    (req->if_match != NULL && !header_value_ok(req->if_match)) ||
	    (strcmp(req->method, "GET") != 0 &&
		strcmp(req->method, "POST") != 0 &&
		strcmp(req->method, "DELETE") != 0)) {
		fh_log_error(r->log, "cannot send '%.*s': invalid request",
		    req->path != NULL ? path_len(req->path) : 1,
		    req->path != NULL ? req->path : "-");
		return FH_EINTERNAL;
	}
	return FH_OK;
}

static enum fh_err
add_header(struct curl_slist **list, const char *name, const char *value)
{
	struct fh_buf	   line;
	struct curl_slist *l;
	enum fh_err	   err;

	fh_buf_init(&line, 1024);
	err = fh_buf_printf(&line, "%s: %s", name, value);
	if (err != FH_OK)
		goto out;
	l = curl_slist_append(*list, fh_buf_cstr(&line));
	if (l == NULL) {
		err = FH_ENOMEM;
		goto out;
	}
	*list = l;
out:
	fh_buf_release(&line);
	return err;
}

static enum fh_err
build_headers(const struct fh_rest_req *req, struct curl_slist **out)
{
	struct curl_slist *l;
	enum fh_err	   err;

	err = add_header(out, "Accept", "application/json");
	if (err == FH_OK && req->body != NULL &&
	    strcmp(req->method, "POST") == 0)
		err = add_header(out, "Content-Type",
		    req->content_type != NULL
			? req->content_type
			: "application/x-www-form-urlencoded");
	if (err == FH_OK && req->if_match != NULL)
		err = add_header(out, "If-Match", req->if_match);
	/* docs/design/platform.md#flex-token: IAM answers must not be cached */
	if (err == FH_OK && req->base == FH_REST_IAM)
		err = add_header(out, "Cache-Control", "no-cache");
	if (err != FH_OK)
		return err;
	/* no "Expect: 100-continue" round trip before a large body */
	l = curl_slist_append(*out, "Expect:");
	if (l == NULL)
		return FH_ENOMEM;
	*out = l;
	return FH_OK;
}

/* The headers of req: the kept list of its kind when it has one (made on
 * first use), else a list of its own, which *own then holds for the caller
 * to free. */
static enum fh_err
request_headers(struct fh_rest *r, const struct fh_rest_req *req,
    struct curl_slist **own, struct curl_slist **out)
{
	struct curl_slist **kept;
	int		    form;
	enum fh_err	    err;

	*own = *out = NULL;
	form = req->body != NULL && strcmp(req->method, "POST") == 0;
	if (req->if_match != NULL ||
	    (form && req->content_type != NULL &&
		strcmp(req->content_type,
		    "application/x-www-form-urlencoded") != 0)) {
		err = build_headers(req, own);
		*out = *own;
		return err;
	}
	kept = &r->hdrs[req->base][form];
	if (*kept == NULL) {
		err = build_headers(req, kept);
		if (err != FH_OK) {
			curl_slist_free_all(*kept);
			*kept = NULL;
			return err;
		}
	}
	*out = *kept;
	return FH_OK;
}

static enum fh_err
set_request(CURL *c, const struct fh_rest_req *req, const char *url,
    struct curl_slist *hdrs, struct xfer *x)
{
	CURLcode cc;

	cc = curl_easy_setopt(c, CURLOPT_URL, url);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	/* a stream: no byte for FH_REST_STALL_S ends it; progress_cb keeps
	 * the deadline for its head */
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(
		    c, CURLOPT_LOW_SPEED_LIMIT, req->sink != NULL ? 1L : 0L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
		    req->sink != NULL ? (long)FH_REST_STALL_S : 0L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(
		    c, CURLOPT_NOPROGRESS, req->sink != NULL ? 0L : 1L);
	/*
	 * On a reused connection that dies before any byte of an answer,
	 * curl silently sends the request again on a new one, and there is
	 * no option to stop it.  The server may have read and carried out
	 * the request before the connection died (a proxy that closed it
	 * after forwarding, a kept connection timed out as the request
	 * arrived): a create would then run twice.  On a fresh connection
	 * curl never resends, and fh_rest_do()'s own retry leaves a create
	 * that may have been sent alone.  So a create (not idempotent) gets
	 * a connection of its own
	 * (docs/design/platform.md#retries-and-deadlines); every other request,
	 * GETs and If-Match updates, reuses the kept one, and the create's
	 * connection is kept for the requests after it.  The price, measured on
	 * create-callback against the emulator (bench/, issue 20): 18 more
	 * system calls and about 100 us more CPU per create here, over twice
	 * the emulator's CPU, and against Twilio a TCP and TLS handshake (two
	 * round trips more).
	 */
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(
		    c, CURLOPT_FRESH_CONNECT, req->idempotent ? 0L : 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(
		    c, CURLOPT_FOLLOWLOCATION, req->follow_redirects ? 1L : 0L);
	/* the handle remembers the last request's method: set it each time */
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	if (cc == CURLE_OK && strcmp(req->method, "POST") == 0) {
		/* the size first: a zero-byte POST needs it explicitly */
		cc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body != NULL ? req->body_len : 0));
		if (cc == CURLE_OK)
			cc = curl_easy_setopt(c, CURLOPT_POSTFIELDS,
			    req->body != NULL ? req->body : "");
	} else if (cc == CURLE_OK) {
		cc = curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		if (cc == CURLE_OK && strcmp(req->method, "DELETE") == 0)
			cc = curl_easy_setopt(
			    c, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	return cc == CURLE_OK		? FH_OK
	    : cc == CURLE_OUT_OF_MEMORY ? FH_ENOMEM
					: FH_EINTERNAL;
}

/* Drop what the handle borrowed from this request (headers, body, resp),
 * so nothing can reach freed memory before the next set_request(). */
static void
clear_request(CURL *c)
{
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	(void)curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
	(void)curl_easy_setopt(c, CURLOPT_HEADERDATA, NULL);
	(void)curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
	(void)curl_easy_setopt(c, CURLOPT_XFERINFODATA, NULL);
	(void)curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 0L);
	(void)curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 0L);
	(void)curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
}

/* docs/design/platform.md#retries-and-deadlines for an answer that came. */
static enum fh_err
classify_status(long status, enum attempt_class *cls)
{
	*cls = ATTEMPT_FINAL;
	if (status >= 200 && status <= 299)
		return FH_OK;
	switch (status) {
	case 429:
		/* Twilio did not process it: any request may go again */
		*cls = ATTEMPT_RETRY_ANY;
		return FH_ERATELIMIT;
	case 502:
	case 503:
	case 504:
		/* it may have been processed */
		*cls = ATTEMPT_RETRY_IDEMPOTENT;
		return FH_EUPSTREAM;
	case 404:
		return FH_ENOTFOUND;
	case 401:
	case 403:
		return FH_EUPSTREAM; /* our credentials: not the client's */
	default:
		break;
	}
	if (status >= 400 && status <= 499)
		return FH_ETWILIO;
	return FH_EUPSTREAM; /* 5xx, or a 1xx/3xx that ended a transfer */
}

/* One transfer.  Returns the error the request ends with if it is not
 * retried, sets *cls and writes a description for the log into what. */
static enum fh_err
attempt(struct fh_rest *r, CURL *c, char *errbuf, long left, struct xfer *x,
    enum attempt_class *cls, char *what, size_t whatlen)
{
	curl_off_t pre = 0;
	long	   status = 0, connect_ms;
	CURLcode   cc;

	*cls = ATTEMPT_FINAL;
	/* the attempt may take all the time left, connecting at most 2 s;
	 * a stream's body more (progress_cb holds the deadline until then) */
	connect_ms = left < FH_REST_CONNECT_MS ? left : FH_REST_CONNECT_MS;
	x->deadline = fh_now_ms() + left;
	cc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    x->req->sink != NULL && left < FH_REST_STREAM_MS
		? (long)FH_REST_STREAM_MS
		: left);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	if (cc != CURLE_OK) {
		if (snprintf(what, whatlen, "%s", curl_easy_strerror(cc)) < 0)
			what[0] = '\0';
		return FH_EINTERNAL;
	}
	errbuf[0] = '\0';
	r->log->rest_attempts++;
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK) {
		(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		x->resp->status = status;
		if (snprintf(what, whatlen, "HTTP %ld", status) < 0)
			what[0] = '\0';
		return classify_status(status, cls);
	}

	/* no complete answer: report no status */
	x->resp->status = 0;
	if (x->err != FH_OK) {
		if (snprintf(what, whatlen, "%s",
			x->err == FH_ETOOBIG	   ? "response too large"
			    : x->req->sink != NULL ? "stream stopped"
						   : "out of memory") < 0)
			what[0] = '\0';
		return x->err == FH_ETOOBIG ? FH_EUPSTREAM : x->err;
	}
	if (x->late) {
		if (snprintf(what, whatlen, "no answer before the deadline") <
		    0)
			what[0] = '\0';
		return FH_ETIMEOUT;
	}
	if (x->streamed > 0) {
		/* cut in the middle of the body: never retried */
		if (snprintf(what, whatlen, "stream cut after %llu bytes: %s",
			x->streamed,
			errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc)) <
		    0)
			what[0] = '\0';
		return FH_EUPSTREAM;
	}
	if (snprintf(what, whatlen, "%s",
		errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc)) < 0)
		what[0] = '\0';
	if (fh_rest_remaining(r) <= 0)
		return FH_ETIMEOUT;
	/* pretransfer is set just before the request is sent: while it is
	 * zero, no byte of the request has left, on a new or reused
	 * connection alike */
	if (curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pre) != CURLE_OK)
		pre = 1;
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
		*cls = ATTEMPT_RETRY_ANY;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		/* Only the 2 s connect cap can end an attempt before the
		 * deadline; anything else was the deadline, whatever a
		 * millisecond of clock difference says. */
		if (pre != 0 || connect_ms >= left)
			return FH_ETIMEOUT;
		*cls = ATTEMPT_RETRY_ANY;
		break;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		*cls = pre == 0 ? ATTEMPT_RETRY_ANY : ATTEMPT_RETRY_IDEMPOTENT;
		break;
	default:
		break;
	}
	return FH_EUPSTREAM;
}

/* Log why the request failed, once, at the end. */
static void
log_result(struct fh_rest *r, const struct fh_rest_req *req,
    struct fh_rest_resp *resp, const char *what)
{
	const char *msg;
	int	    pl;

	pl = path_len(req->path);
	if (resp->status == 0) {
		fh_log_error(r->log, "cannot %s '%.*s': %s", req->method, pl,
		    req->path, what);
		return;
	}
	/* Twilio's own words go to the log only, numbers masked */
	mask_digits(resp->twerr.message);
	msg = resp->twerr.message[0] != '\0' ? resp->twerr.message : "-";
	/* IAM answers 401 for an invalid Flex token: not our credentials */
	if ((resp->status == 401 || resp->status == 403) &&
	    req->base != FH_REST_IAM)
		fh_log_error(r->log,
		    "cannot %s '%.*s': %ld, credentials "
		    "rejected (twilio code %d: %s); check ACCOUNT_SID, "
		    "AUTH_TOKEN, API_KEY and API_SECRET",
		    req->method, pl, req->path, resp->status, resp->twerr.code,
		    msg);
	else
		fh_log_warn(r->log,
		    "cannot %s '%.*s': %ld, twilio code %d: "
		    "%s",
		    req->method, pl, req->path, resp->status, resp->twerr.code,
		    msg);
}

enum fh_err
fh_rest_do(
    struct fh_rest *r, const struct fh_rest_req *req, struct fh_rest_resp *resp)
{
	struct curl_slist *own = NULL, *hdrs;
	struct fh_buf	  *url = &r->url;
	struct xfer	   x;
	unsigned	   n429 = 0;
	enum attempt_class cls;
	enum fh_err	   err;
	CURL		  *c = NULL;
	char		   what[CURL_ERROR_SIZE + 32];
	unsigned	   n, limit;
	long		   left, delay;

	fh_buf_reset(url);
	resp_init(resp, req);
	what[0] = '\0';
	err = check_req(r, req);
	if (err != FH_OK)
		goto out;
	if (!r->have_auth) {
		fh_log_error(r->log,
		    "cannot %s '%.*s': no REST credentials "
		    "(ACCOUNT_SID and AUTH_TOKEN, or API_KEY and API_SECRET)",
		    req->method, path_len(req->path), req->path);
		err = FH_ECONFIG;
		goto out;
	}
	if (!r->deadline_set)
		fh_rest_set_deadline(r, default_deadline(r->cfg));

	/* the URL and the headers stay the same for every attempt */
	err = fh_buf_addstr(url, r->base[req->base]);
	if (err == FH_OK)
		err = fh_buf_addstr(url, req->path);
	if (err == FH_OK && req->query != NULL && req->query[0] != '\0')
		err = fh_buf_addch(url, '?');
	if (err == FH_OK && req->query != NULL && req->query[0] != '\0')
		err = fh_buf_addstr(url, req->query);
	if (err != FH_OK) {
		fh_log_error(r->log, "cannot %s '%.*s': URL too long",
		    req->method, path_len(req->path), req->path);
		err = err == FH_ETOOBIG ? FH_EINTERNAL : err;
		goto out;
	}
	err = request_headers(r, req, &own, &hdrs);
	if (err != FH_OK)
		goto out;
	c = r->curl[req->base];
	memset(&x, 0, sizeof(x));
	x.resp = resp;
	x.req = req;
	err = set_request(c, req, fh_buf_cstr(url), hdrs, &x);
	if (err != FH_OK)
		goto out;

	limit = r->cfg->retry_limit < 0 ? 0
	    : r->cfg->retry_limit > MAX_RETRY_LIMIT
	    ? MAX_RETRY_LIMIT
	    : (unsigned)r->cfg->retry_limit;
	for (n = 1;; n++) {
		/* no attempt starts that cannot end in time */
		left = fh_rest_remaining(r);
		if (left <= 0) {
			if (snprintf(what, sizeof(what),
				"deadline passed "
				"before attempt %u",
				n) < 0)
				what[0] = '\0';
			resp->status = 0;
			err = FH_ETIMEOUT;
			break;
		}
		fh_buf_reset(&resp->body);
		reset_headers(resp);
		x.err = FH_OK;
		x.status = 0;
		x.streamed = 0;
		x.late = 0;
		err = attempt(r, c, r->errbuf[req->base], left, &x, &cls, what,
		    sizeof(what));
		if (cls == ATTEMPT_FINAL || n > limit || x.streamed > 0 ||
		    (cls == ATTEMPT_RETRY_IDEMPOTENT && !req->idempotent))
			break;
		if (resp->status == 429 && req->max_429_retries > 0 &&
		    ++n429 > req->max_429_retries)
			break;

		/* Retry-After replaces the backoff, for 429 only */
		delay = -1;
		if (resp->status == 429 && resp->twerr.retry_after[0] != '\0')
			delay = fh_rest_retry_after_ms(resp->twerr.retry_after);
		if (delay < 0)
			delay = fh_rest_backoff((long)r->cfg->min_backoff_ms,
			    (long)r->cfg->max_backoff_ms, n, rest_random(r));
		/* a wait that leaves no time for the attempt is no use:
		 * end now with this attempt's error */
		left = fh_rest_remaining(r);
		if (delay >= left) {
			fh_log_warn(r->log,
			    "cannot %s '%.*s' (attempt %u): "
			    "%s; no time left to retry in %ld ms",
			    req->method, path_len(req->path), req->path, n,
			    what, delay);
			break;
		}
		if (cls == ATTEMPT_RETRY_IDEMPOTENT)
			resp->resent = 1;
		fh_log_warn(r->log,
		    "cannot %s '%.*s' (attempt %u): %s; "
		    "retrying in %ld ms",
		    req->method, path_len(req->path), req->path, n, what,
		    delay);
		sleep_ms(delay);
	}

	if (resp->status != 0 && (resp->status < 200 || resp->status > 299)) {
		fh_rest_parse_error(
		    resp->body.data, resp->body.len, &resp->twerr);
		resp->twerr.status = (int)resp->status; /* authoritative */
	}
	if (err != FH_OK)
		log_result(r, req, resp, what);
out:
	if (c != NULL)
		clear_request(c);
	curl_slist_free_all(own);
	/* the URL is no secret and its block serves the next request */
	fh_buf_reset(url);
	return err;
}
