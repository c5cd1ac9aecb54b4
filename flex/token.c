/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token.c - Flex token validation with Twilio IAM, and the per-process
 * cache of accepted tokens (docs/design/platform.md#flex-token
 * and #cors).
 *
 * The cache is a fixed table of FH_TOKEN_CACHE_SIZE entries.  An entry
 * holds the hex SHA-256 of a token, what IAM said about the agent and a
 * wall-clock expiry; never the token.  Programs are single-threaded, so
 * the table needs no lock.  Expiry uses the wall clock because IAM's
 * "expiration" is a calendar time.
 *
 * Each unknown token costs a call to IAM, counted against our account, so
 * a client without a valid token must not be able to multiply them: IAM's
 * "valid: false" is remembered for FH_TOKEN_REJECT_MS in a second table
 * (apart, so that a flood of random tokens never evicts an agent's), an
 * IAM 429 is retried at most once, and after a 429 that outlasted the
 * retry this process asks IAM nothing for the Retry-After it sent (1 s
 * when none, FH_TOKEN_COOL_MAX_MS at most): tokens in the cache are still
 * accepted, others get 503 at once.  With IAM answering 429 a process
 * makes at most 2 IAM calls per cool-down.  Other failures (5xx, no
 * connection) follow the REST client's retry policy and leave no
 * cool-down: they say nothing about our rate.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "lib/buf.h"
#include "lib/claim.h"
#include "lib/clock.h"
#include "lib/codec.h"
#include "lib/json.h"
#include "lib/rest.h"
#include "lib/sig.h"
#include "flex/token.h"
#include "lib/valid.h"

#define HASH_LEN 64    /* hex SHA-256 */
#define LOG_HASH_LEN 8 /* hash prefix written to the log */

struct cache_entry {
	char	hash[HASH_LEN + 1]; /* "" when free */
	int64_t expires_ms;	    /* wall clock, ms */
	int64_t mono_until;	    /* monotonic, ms: a clock
				     * stepped back cannot stretch
				     * the 5 minutes */
	struct fh_token_info info;
};

static struct cache_entry cache[FH_TOKEN_CACHE_SIZE];

struct reject_entry {
	char	hash[HASH_LEN + 1]; /* "" when free */
	int64_t mono_until;	    /* monotonic, ms */
};

static struct reject_entry rejected[FH_TOKEN_REJECT_SIZE];
static int64_t		   iam_cool_until; /* monotonic ms: ask IAM after */

void
fh_token_cache_clear(void)
{
	fh_bzero(cache, sizeof(cache));
	fh_bzero(rejected, sizeof(rejected));
	iam_cool_until = 0;
}

/* 1 when IAM rejected hash less than FH_TOKEN_REJECT_MS ago. */
static int
rejected_find(const char *hash, int64_t mono)
{
	size_t i;

	for (i = 0; i < FH_TOKEN_REJECT_SIZE; i++) {
		if (rejected[i].hash[0] == '\0')
			continue;
		if (rejected[i].mono_until <= mono) {
			fh_bzero(&rejected[i], sizeof(rejected[i]));
			continue;
		}
		if (fh_sig_equal(rejected[i].hash, HASH_LEN, hash, HASH_LEN))
			return 1;
	}
	return 0;
}

/* Remember a rejection: in a free or expired slot, else in place of the
 * one that expires first. */
static void
rejected_put(const char *hash, int64_t mono)
{
	struct reject_entry *victim = NULL;
	size_t		     i;

	for (i = 0; i < FH_TOKEN_REJECT_SIZE; i++) {
		if (rejected[i].hash[0] == '\0' ||
		    rejected[i].mono_until <= mono) {
			victim = &rejected[i];
			break;
		}
		if (victim == NULL ||
		    rejected[i].mono_until < victim->mono_until)
			victim = &rejected[i];
	}
	memcpy(victim->hash, hash, HASH_LEN + 1);
	victim->mono_until = mono + FH_TOKEN_REJECT_MS;
}

static void
entry_clear(struct cache_entry *e)
{
	fh_bzero(e, sizeof(*e));
}

/* The live entry for hash, or NULL; expired entries met on the way are
 * freed. */
static struct cache_entry *
cache_find(const char *hash, int64_t now)
{
	struct cache_entry *e;
	size_t		    i;

	for (i = 0; i < FH_TOKEN_CACHE_SIZE; i++) {
		e = &cache[i];
		if (e->hash[0] == '\0')
			continue;
		if (e->expires_ms <= now || e->mono_until <= fh_now_ms()) {
			entry_clear(e);
			continue;
		}
		if (fh_sig_equal(e->hash, HASH_LEN, hash, HASH_LEN))
			return e;
	}
	return NULL;
}

/* Keep an accepted result until expires_ms: in a free (or expired) slot,
 * else in place of the entry that expires first. */
static void
cache_put(const char *hash, const struct fh_token_info *info,
    int64_t expires_ms, int64_t now)
{
	struct cache_entry *e, *victim = NULL;
	size_t		    i;

	for (i = 0; i < FH_TOKEN_CACHE_SIZE; i++) {
		e = &cache[i];
		if (e->hash[0] == '\0' || e->expires_ms <= now ||
		    e->mono_until <= fh_now_ms() ||
		    fh_sig_equal(e->hash, HASH_LEN, hash, HASH_LEN)) {
			victim = e;
			break;
		}
		if (victim == NULL || e->expires_ms < victim->expires_ms)
			victim = e;
	}
	entry_clear(victim);
	memcpy(victim->hash, hash, HASH_LEN + 1);
	victim->expires_ms = expires_ms;
	victim->mono_until = fh_now_ms() + (expires_ms - now);
	victim->info = *info;
}

/* The roles array as "a,b,c": string elements only; a role that holds a
 * comma, or that does not fit whole, is left out (a cut role name could
 * read as another role). */
static void
join_roles(struct json_object *arr, char *dst, size_t dstlen)
{
	struct json_object *v;
	const char	   *s;
	size_t		    i, n, used = 0;

	dst[0] = '\0';
	if (!json_object_is_type(arr, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(arr); i++) {
		v = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(v, json_type_string))
			continue;
		s = json_object_get_string(v);
		n = (size_t)json_object_get_string_len(v);
		if (n == 0 || memchr(s, ',', n) != NULL ||
		    memchr(s, '\0', n) != NULL || !fh_utf8_valid(s, n))
			continue;
		if (used + (used > 0) + n >= dstlen)
			continue;
		if (used > 0)
			dst[used++] = ',';
		memcpy(dst + used, s, n);
		used += n;
		dst[used] = '\0';
	}
}

/* The expiration as ms since the epoch, 0 when absent or unreadable. */
static long long
expiration_ms(struct json_object *root)
{
	struct json_object *v;
	struct fh_val	    val;
	long long	    ms;

	if (!json_object_object_get_ex(root, "expiration", &v) ||
	    !json_object_is_type(v, json_type_string))
		return 0;
	memset(&val, 0, sizeof(val));
	if (fh_valid_datetime(json_object_get_string(v),
		(size_t)json_object_get_string_len(v), &val) != FH_OK ||
	    val.num <= 0)
		return 0;
	/* own is "YYYY-MM-DDTHH:MM:SS.mmmZ": keep the milliseconds */
	if (val.len != 24 ||
	    fh_parse_int(val.own + 20, 3, 0, 999, &ms) != FH_OK)
		ms = 0;
	return val.num * 1000 + ms;
}

enum fh_err
fh_token_parse(long status, const char *body, size_t len,
    struct fh_token_info *info, long long *exp_ms)
{
	struct json_object *root = NULL, *v;
	const char	   *s;
	size_t		    n;
	enum fh_err	    err = FH_EUNAVAIL;

	memset(info, 0, sizeof(*info));
	*exp_ms = 0;
	if (status <= 0 || body == NULL || len == 0 ||
	    fh_json_parse(body, len, &root) != FH_OK ||
	    !json_object_is_type(root, json_type_object))
		goto out; /* no usable answer */
	/* only a JSON boolean decides; "true" as a string is no answer */
	if (!json_object_object_get_ex(root, "valid", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		goto out;
	if (!json_object_get_boolean(v)) {
		err = FH_ETOKEN; /* at any status */
		goto out;
	}
	if (status < 200 || status > 299)
		goto out; /* valid:true on an error status: not usable */

	if (json_object_object_get_ex(root, "identity", &v) &&
	    json_object_is_type(v, json_type_string))
		fh_copy_utf8(info->identity, sizeof(info->identity),
		    json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
	if (json_object_object_get_ex(root, "worker_sid", &v) &&
	    json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		n = (size_t)json_object_get_string_len(v);
		if (fh_is_sid(s, n, "WK") && n < sizeof(info->worker_sid))
			fh_copy_utf8(
			    info->worker_sid, sizeof(info->worker_sid), s, n);
	}
	if (json_object_object_get_ex(root, "roles", &v))
		join_roles(v, info->roles, sizeof(info->roles));
	*exp_ms = expiration_ms(root);
	err = FH_OK;
out:
	json_object_put(root);
	return err;
}

/* A Flex token is a JWT: base64url parts joined by dots ('+', '/' and '='
 * of plain base64 allowed too).  Anything else cannot be valid, so IAM is
 * not asked, and the JSON body never needs an escape. */
static int
token_chars_ok(const char *s, size_t n)
{
	return strspn(s,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		   "0123456789-_.+/=") == n;
}

/* Ask IAM about tok[0..n).  Returns FH_OK, FH_ETOKEN, FH_EUNAVAIL or
 * FH_ENOMEM, with *status the final HTTP status (0 when none came). */
static enum fh_err
ask_iam(struct fh_ctx *ctx, const char *tok, size_t n,
    struct fh_token_info *info, long long *exp_ms, long *status,
    long *retry_after_ms)
{
	struct json_object *obj = NULL, *str = NULL;
	struct fh_rest_req  rq;
	struct fh_rest_resp rr;
	struct fh_buf	    path;
	const char	   *body = NULL;
	enum fh_err	    err;

	*status = 0;
	*retry_after_ms = -1;
	memset(&rr, 0, sizeof(rr));
	fh_buf_init(&rr.body, 1);
	fh_buf_init(&path, 256);
	if (ctx->rest == NULL || ctx->cfg == NULL ||
	    ctx->cfg->account_sid == NULL) {
		fh_log_error(&ctx->log,
		    "cannot check flex token: no REST "
		    "client or ACCOUNT_SID");
		err = FH_EUNAVAIL;
		goto out;
	}
	err = fh_buf_printf(
	    &path, "/v1/Accounts/%s/Tokens/validate", ctx->cfg->account_sid);
	if (err != FH_OK) {
		err = err == FH_ENOMEM ? err : FH_EUNAVAIL;
		goto out;
	}

	/* {"token":"..."}; both json-c copies are zeroed before the put */
	obj = json_object_new_object();
	str = json_object_new_string_len(tok, (int)n);
	if (obj == NULL || str == NULL) {
		err = FH_ENOMEM;
		goto out;
	}
	if (json_object_object_add(obj, "token", json_object_get(str)) != 0) {
		json_object_put(str); /* the reference the add did not take */
		err = FH_ENOMEM;
		goto out;
	}
	body = json_object_to_json_string_ext(
	    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (body == NULL) {
		err = FH_ENOMEM;
		goto out;
	}

	memset(&rq, 0, sizeof(rq));
	rq.base = FH_REST_IAM;
	rq.method = "POST";
	rq.path = fh_buf_cstr(&path);
	rq.body = body;
	rq.body_len = strlen(body);
	rq.content_type = "application/json";
	rq.idempotent = 1;	/* validation changes nothing */
	rq.max_429_retries = 1; /* a flood must not multiply IAM calls */
	fh_rest_resp_release(&rr);
	err = fh_rest_do(ctx->rest, &rq, &rr);
	*status = rr.status;
	if (rr.status == 429 && rr.twerr.retry_after[0] != '\0')
		*retry_after_ms = fh_rest_retry_after_ms(rr.twerr.retry_after);
	if (err == FH_ENOMEM)
		goto out;
	/* the body decides whatever the status (valid:false at any status);
	 * no answer at all is FH_EUNAVAIL */
	err =
	    fh_token_parse(rr.status, rr.body.data, rr.body.len, info, exp_ms);
out:
	if (body != NULL)
		fh_bzero((char *)body, strlen(body));
	if (str != NULL)
		fh_bzero((char *)json_object_get_string(str), n);
	json_object_put(str);
	json_object_put(obj);
	fh_rest_resp_release(&rr);
	fh_buf_release(&path);
	return err;
}

enum fh_err
fh_token_check(struct fh_ctx *ctx, struct fh_req *req)
{
	const struct fh_pair *p;
	struct fh_token_info  info;
	struct cache_entry   *e;
	char		      hash[HASH_LEN + 1];
	long long	      exp_ms = 0;
	int64_t		      now, until, mono;
	long		      status = 0, cool;
	enum fh_err	      err;

	memset(&req->auth.token, 0, sizeof(req->auth.token));
	hash[0] = '\0';
	/* the body only (form or JSON): never the query string */
	p = fh_form_get(&req->form, "Token");
	if (p == NULL || p->vlen == 0) {
		req->auth.result = FH_AUTHR_DENIED_NO_TOKEN;
		return FH_ETOKEN;
	}
	if (p->vlen > FH_TOKEN_MAX_LEN || !token_chars_ok(p->value, p->vlen)) {
		req->auth.result = FH_AUTHR_DENIED_BAD_TOKEN;
		fh_log_info(&ctx->log,
		    "flex token refused without asking IAM: "
		    "%zu bytes, too long or not a JWT",
		    p->vlen);
		return FH_ETOKEN;
	}

	fh_sha256_hex(p->value, p->vlen, hash);
	now = fh_wall_ms();
	e = now > 0 ? cache_find(hash, now) : NULL;
	if (e != NULL) {
		req->auth.token = e->info;
		req->auth.result = FH_AUTHR_FLEX_TOKEN;
		fh_log_debug(&ctx->log,
		    "flex token %.*s accepted from the "
		    "cache for '%s'",
		    LOG_HASH_LEN, hash, e->info.identity);
		err = FH_OK;
		goto out;
	}

	mono = fh_now_ms();
	if (rejected_find(hash, mono)) {
		req->auth.result = FH_AUTHR_DENIED_INVALID_TOKEN;
		fh_log_info(&ctx->log,
		    "flex token %.*s rejected: IAM rejected "
		    "it less than %d s ago",
		    LOG_HASH_LEN, hash, FH_TOKEN_REJECT_MS / 1000);
		err = FH_ETOKEN;
		goto out;
	}
	if (mono < iam_cool_until) {
		req->auth.result = FH_AUTHR_DENIED_IAM_COOLING_DOWN;
		fh_log_warn(&ctx->log,
		    "cannot check flex token %.*s: IAM "
		    "answered 429 lately; asking again in %lld ms",
		    LOG_HASH_LEN, hash, (long long)(iam_cool_until - mono));
		err = FH_EUNAVAIL;
		goto out;
	}

	err = ask_iam(ctx, p->value, p->vlen, &info, &exp_ms, &status, &cool);
	switch (err) {
	case FH_OK:
		req->auth.token = info;
		req->auth.result = FH_AUTHR_FLEX_TOKEN;
		/* cache only a future expiration, 5 minutes at most */
		now = fh_wall_ms();
		until = now + FH_TOKEN_CACHE_MAX_MS;
		if (now > 0 && exp_ms > now) {
			if (exp_ms < until)
				until = exp_ms;
			cache_put(hash, &info, until, now);
		}
		fh_log_info(&ctx->log,
		    "flex token %.*s accepted by IAM for "
		    "'%s' (worker '%s', roles '%s')%s",
		    LOG_HASH_LEN, hash, info.identity, info.worker_sid,
		    info.roles,
		    exp_ms > now ? "" : "; not cached: no future expiration");
		break;
	case FH_ETOKEN:
		rejected_put(hash, fh_now_ms());
		req->auth.result = FH_AUTHR_DENIED_INVALID_TOKEN;
		fh_log_info(&ctx->log, "flex token %.*s rejected by IAM: %ld",
		    LOG_HASH_LEN, hash, status);
		break;
	case FH_ENOMEM:
		req->auth.result = FH_AUTHR_DENIED_NO_MEMORY;
		break;
	default:
		err = FH_EUNAVAIL;
		req->auth.result = FH_AUTHR_DENIED_IAM_UNAVAILABLE;
		if (status != 429) {
			fh_log_warn(&ctx->log,
			    "cannot check flex token %.*s: "
			    "IAM gave no usable answer (%ld)",
			    LOG_HASH_LEN, hash, status);
			break;
		}
		if (cool < FH_TOKEN_COOL_MIN_MS)
			cool = FH_TOKEN_COOL_MIN_MS;
		if (cool > FH_TOKEN_COOL_MAX_MS)
			cool = FH_TOKEN_COOL_MAX_MS;
		iam_cool_until = fh_now_ms() + cool;
		fh_log_warn(&ctx->log,
		    "cannot check flex token %.*s: IAM "
		    "answered 429; not asking it for %ld ms",
		    LOG_HASH_LEN, hash, cool);
		break;
	}
out:
	fh_bzero(&info, sizeof(info));
	fh_bzero(hash, sizeof(hash));
	return err;
}
