/* SPDX-License-Identifier: Apache-2.0 */
/*
 * voicemail.c - the fetch-voicemail and delete-voicemail handlers.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "flex/attr.h"
#include "lib/answer.h"
#include "lib/codec.h"
#include "lib/form.h"
#include "lib/json.h"
#include "flex/tasks.h"
#include "lib/valid.h"
#include "handlers/voicemail.h"

/* Bytes base64-encoded per fh_base64() call: a multiple of 3, so the
 * pieces join into the encoding of the whole, and small, so no second
 * copy of the whole text is ever made aside. */
#define B64_STEP (48 * 1024)

/* A transfer that stopped this close to FH_REST_MAX_MEDIA was stopped by
 * the cap: curl hands the body over in pieces of at most 16 KiB. */
#define MEDIA_CAP_SLACK (64 * 1024)

/* Rounds of fetch, edit, conditional update (412: read it again). */
#define DELETE_ROUNDS 3

#define DEFAULT_TYPE "audio/mpeg"

enum vm_field { VM_REC_SID, VM_FORMAT, VM__MAX };

enum dv_field { DV_TASK_SID, DV__MAX };

static enum fh_err valid_format(const char *, size_t, struct fh_val *);

static const struct fh_field vm_fields[VM__MAX] = {
    [VM_REC_SID] = {"recordingSid", "RecordingSid", fh_valid_sid_re,
	FH_REQUIRED},
    [VM_FORMAT] = {"format", NULL, valid_format, 0},
};

static const struct fh_field dv_fields[DV__MAX] = {
    [DV_TASK_SID] = {"taskSid", NULL, fh_valid_sid_wt, FH_REQUIRED},
};

/* "json" or "raw", exactly. */
static enum fh_err
valid_format(const char *s, size_t len, struct fh_val *out)
{
	if ((len == 4 && memcmp(s, "json", 4) == 0) ||
	    (len == 3 && memcmp(s, "raw", 3) == 0)) {
		out->str = s;
		out->len = len;
		return FH_OK;
	}
	return FH_EINPUT;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim spaces and tabs around s[0..*n); returns the new start. */
static const char *
trim(const char *s, size_t *n)
{
	while (*n > 0 && is_space(s[0])) {
		s++;
		(*n)--;
	}
	while (*n > 0 && is_space(s[*n - 1]))
		(*n)--;
	return s;
}

/* 1 when the parameter p[0..n) is q with a zero weight ("q=0", "q=0.000"),
 * which RFC 9110 reads as "not acceptable". */
static int
is_q_zero(const char *p, size_t n)
{
	size_t i;

	p = trim(p, &n);
	if (n < 3 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' || p[2] != '0')
		return 0;
	if (n == 3)
		return 1;
	if (p[3] != '.' || n > 7)
		return 0;
	for (i = 4; i < n; i++)
		if (p[i] != '0')
			return 0;
	return 1;
}

/* 1 when the Accept element e[0..n) is audio/mpeg or every audio type with a
 * weight above zero. */
static int
audio_range(const char *e, size_t n)
{
	const char *semi, *p, *end = e + n, *t;
	size_t	    tn, pn;

	semi = memchr(e, ';', n);
	tn = semi != NULL ? (size_t)(semi - e) : n;
	t = trim(e, &tn);
	if (!((tn == 10 && strncasecmp(t, "audio/mpeg", 10) == 0) ||
		(tn == 7 && strncasecmp(t, "audio/*", 7) == 0)))
		return 0;
	while (semi != NULL) {
		p = semi + 1;
		pn = (size_t)(end - p); /* measured from the element's end */
		semi = memchr(p, ';', pn);
		if (is_q_zero(p, semi != NULL ? (size_t)(semi - p) : pn))
			return 0;
	}
	return 1;
}

int
fh_voicemail_want_raw(const char *format, const char *accept)
{
	const char *p, *comma;
	size_t	    n;

	if (format != NULL)
		return strcmp(format, "raw") == 0;
	for (p = accept; p != NULL && *p != '\0'; p = comma + 1) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (audio_range(p, n))
			return 1;
		if (comma == NULL)
			break;
	}
	return 0;
}

/* Standard base64 of data[0..len) into out (reset first), in steps. */
static enum fh_err
encode(struct fh_buf *out, const char *data, size_t len)
{
	size_t	    off, take;
	enum fh_err err = FH_OK;

	/* sized exactly: the last growth stops at the length of the text */
	fh_buf_release(out);
	fh_buf_init(out, (len + 2) / 3 * 4);
	for (off = 0; err == FH_OK && off < len; off += take) {
		take = len - off < B64_STEP ? len - off : B64_STEP;
		err = fh_base64(out, data + off, take);
	}
	return err;
}

enum fh_err
fh_voicemail_json(struct fh_resp *resp, struct fh_buf *audio, const char *type)
{
	struct fh_buf	    b64;
	struct json_object *obj = NULL, *rec;
	const char	   *text;
	size_t		    tlen;
	enum fh_err	    err;

	fh_buf_init(&b64, 0);
	err = encode(&b64, audio->data, audio->len);
	fh_buf_release(audio); /* encoded: the bytes go at once */
	if (err != FH_OK)
		goto out;
	if (b64.len > (size_t)0x7fffffff) {
		err = FH_ETOOBIG;
		goto out;
	}
	obj = json_object_new_object();
	rec = json_object_new_string_len(fh_buf_cstr(&b64), (int)b64.len);
	fh_buf_release(&b64); /* the tree has its own copy now */
	if (obj == NULL || rec == NULL) {
		json_object_put(rec);
		err = FH_ENOMEM;
		goto out;
	}
	if ((err = fh_json_add(obj, "recording", rec)) != FH_OK ||
	    (err = fh_json_add_str(obj, "type", type)) != FH_OK)
		goto out;
	text = fh_json_text(obj);
	if (text == NULL) {
		err = FH_ENOMEM;
		goto out;
	}
	tlen = strlen(text);
	/*
	 * The text lives in obj's own print buffer until obj is freed or
	 * serialised again; dropping the member frees the tree's copy of the
	 * audio before the answer takes one more.
	 */
	json_object_object_del(obj, "recording");
	fh_buf_reset(&resp->body);
	err = fh_buf_add(&resp->body, text, tlen);
	if (err != FH_OK)
		goto out;
	json_object_put(obj); /* and the print buffer with it */
	obj = NULL;
	resp->status = 200;
	resp->content_type = "application/json";
	err = fh_resp_header(resp, "Cache-Control", "no-store");
out:
	if (err != FH_OK) {
		fh_buf_release(&resp->body);
		resp->status = 0;
	}
	json_object_put(obj);
	fh_buf_release(&b64);
	return err;
}

/* The upstream Content-Type, or audio/mpeg (what .mp3 asks for) when
 * none came. */
static void
media_type(const struct fh_rest_resp *rr, char *out, size_t outlen)
{
	if (snprintf(out, outlen, "%s",
		rr->content_type[0] != '\0' ? rr->content_type : DEFAULT_TYPE) <
	    0)
		out[0] = '\0';
}

/* The head of a raw answer: 200, the upstream type, no-store. */
static enum fh_err
raw_head(struct fh_resp *resp, const struct fh_rest_resp *rr)
{
	char	    type[sizeof(rr->content_type)];
	enum fh_err err;

	media_type(rr, type, sizeof(type));
	resp->content_type = NULL; /* a header below: it is not static */
	err = fh_resp_header(resp, "Content-Type", type);
	if (err == FH_OK)
		err = fh_resp_header(resp, "Cache-Control", "no-store");
	if (err == FH_OK)
		resp->status = 200;
	return err;
}

/*
 * The REST client's sink in raw mode: each piece of the audio, as it
 * arrives.  With the upstream Content-Length the answer starts at the first
 * piece and every piece goes straight on (nothing of the audio is kept);
 * without one, or when resp cannot stream (no sink), the audio is buffered
 * in resp->body, at most FH_REST_MAX_MEDIA bytes.
 */
struct raw_out {
	struct fh_resp *resp;
	int		too_big;  /* buffered, and past the cap */
	int		mismatch; /* more bytes than announced */
};

static enum fh_err
raw_sink(void *arg, const struct fh_rest_resp *head, const char *p, size_t n)
{
	struct raw_out *o = arg;
	struct fh_resp *resp = o->resp;
	enum fh_err	err;

	if (head->content_length < 0 || resp->sink == NULL) {
		if (resp->body.len + n > FH_REST_MAX_MEDIA) {
			o->too_big = 1;
			return FH_ETOOBIG;
		}
		return fh_buf_add(&resp->body, p, n);
	}
	if (!resp->streamed) {
		err = raw_head(resp, head);
		if (err == FH_OK)
			err = fh_resp_stream_begin(
			    resp, (unsigned long long)head->content_length);
		if (err != FH_OK)
			return err;
	}
	if (n > resp->stream_length - resp->stream_sent) {
		o->mismatch = 1;
		return FH_EUPSTREAM;
	}
	return fh_resp_stream_write(resp, p, n);
}

/* Raw mode: stream the recording at path
 * (docs/design/callbacks-and-voicemail.md#fetch-voicemail).  On failure resp
 * holds the error answer, unless the answer had already started. */
static enum fh_err
fetch_raw(struct fh_ctx *ctx, const char *sid, struct fh_rest_req *rq,
    struct fh_rest_resp *rr, struct fh_resp *resp)
{
	struct raw_out o;
	enum fh_err    err;

	memset(&o, 0, sizeof(o));
	o.resp = resp;
	fh_buf_reset(&resp->body);
	rq->sink = raw_sink;
	rq->sink_arg = &o;
	err = fh_rest_do(ctx->rest, rq, rr);
	if (resp->streamed) {
		if (err == FH_OK && fh_resp_stream_short(resp))
			err = FH_EUPSTREAM; /* fewer bytes than announced */
		if (err != FH_OK)
			fh_log_error(&ctx->log,
			    "recording '%s' cut after %llu "
			    "of %llu bytes%s",
			    sid, resp->stream_sent, resp->stream_length,
			    o.mismatch ? " (more than announced)" : "");
		else
			fh_log_info(&ctx->log,
			    "fetched recording '%s': %llu "
			    "bytes raw, streamed",
			    sid, resp->stream_sent);
		return err;
	}
	if (err == FH_OK) {
		/* no length came (or no byte): answered from the buffer */
		err = raw_head(resp, rr);
		if (err == FH_OK) {
			fh_log_info(&ctx->log,
			    "fetched recording '%s': %zu "
			    "bytes raw",
			    sid, resp->body.len);
			return FH_OK;
		}
	}
	fh_buf_release(&resp->body);
	resp->status = 0;
	if (err == FH_ENOTFOUND)
		err = FH_EREC404;
	if (err == FH_EREC404)
		fh_log_info(&ctx->log, "no recording '%s'", sid);
	else
		fh_log_error(&ctx->log,
		    "cannot fetch recording '%s': status "
		    "%ld code %d",
		    sid, rr->status, rr->twerr.code);
	if (o.too_big) {
		err = FH_EUPSTREAM;
		fh_answer_error(resp, err, "recording too large");
	} else if (err == FH_ENOMEM || err == FH_EINTERNAL) {
		fh_answer_error(resp, err, NULL);
	} else
		fh_resp_rest_error(resp, err, rr);
	return err;
}

enum fh_err
fh_handle_fetch_voicemail(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	struct fh_val	    val[VM__MAX];
	struct fh_rest_req  rq;
	struct fh_rest_resp rr;
	const char	   *sid;
	char		    path[160], type[sizeof(rr.content_type)];
	size_t		    bad = 0, size;
	int		    missing = 0, raw;
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	err = fh_form_validate(
	    &req->params, vm_fields, VM__MAX, val, &bad, &missing);
	if (err != FH_OK)
		return fh_answer_field_error(
		    &ctx->log, resp, vm_fields[bad].name, missing);
	sid = val[VM_REC_SID].str;
	raw = fh_voicemail_want_raw(val[VM_FORMAT].str, req->accept);

	/* only this URL, built here: never one a client named */
	err = fh_recording_get_req(
	    ctx->cfg, sid, FH_REST_MAX_MEDIA, path, sizeof(path), &rq);
	if (err != FH_OK)
		goto out;
	if (raw) {
		err = fetch_raw(ctx, sid, &rq, &rr, resp);
		goto out;
	}
	err = fh_rest_do(ctx->rest, &rq, &rr);
	if (err != FH_OK) {
		if (err == FH_ENOTFOUND)
			err = FH_EREC404;
		if (err == FH_EREC404)
			fh_log_info(&ctx->log, "no recording '%s'", sid);
		else
			fh_log_error(&ctx->log,
			    "cannot fetch recording '%s': "
			    "status %ld code %d",
			    sid, rr.status, rr.twerr.code);
		if (err == FH_EUPSTREAM && rr.status == 0 &&
		    rr.body.len + MEDIA_CAP_SLACK > FH_REST_MAX_MEDIA) {
			fh_answer_error(resp, err, "recording too large");
		} else
			fh_resp_rest_error(resp, err, &rr);
		goto out;
	}
	media_type(&rr, type, sizeof(type));
	size = rr.body.len;
	err = fh_voicemail_json(resp, &rr.body, type);
	if (err != FH_OK) {
		fh_log_error(&ctx->log, "cannot answer recording '%s': %s", sid,
		    fh_err_name(err));
		if (err == FH_ETOOBIG) {
			/* the answer's cap, not the client's body */
			err = FH_EUPSTREAM;
			fh_answer_error(resp, err, "recording too large");
		}
		goto out;
	}
	fh_log_info(
	    &ctx->log, "fetched recording '%s': %zu bytes as JSON", sid, size);
out:
	fh_rest_resp_release(&rr);
	return err;
}

enum fh_err
fh_voicemail_task_sids(
    struct json_object *attrs, const char **rec, const char **tr)
{
	struct json_object *cb;
	const char	   *s;

	*rec = *tr = NULL;
	cb = fh_attr_cb_data(attrs);
	if (cb == NULL)
		return FH_ECONFLICT;
	/* the SID goes into a DELETE path: only a well-formed one will do */
	s = fh_attr_cb_get(cb, FH_CB_REC_SID); /* either shape */
	if (s == NULL || !fh_is_sid(s, strlen(s), "RE"))
		return FH_ECONFLICT;
	*rec = s;
	s = fh_attr_cb_get(cb, FH_CB_TR_SID);
	if (s != NULL && fh_is_sid(s, strlen(s), "TR"))
		*tr = s;
	return FH_OK;
}

enum fh_err
fh_voicemail_mark_deleted(struct json_object *attrs, int *changed)
{
	struct json_object *cb, *v = NULL;

	*changed = 0;
	cb = fh_attr_cb_data(attrs);
	if (cb == NULL)
		return FH_ECONFLICT;
	if (json_object_object_get_ex(cb, "isDeleted", &v) && fh_json_true(v))
		return FH_OK;
	/* the text is part of what is deleted */
	json_object_object_del(
	    cb, fh_attr_cb_name(FH_ATTR_STYLE_TEMPLATE, FH_CB_TR_TEXT));
	json_object_object_del(
	    cb, fh_attr_cb_name(FH_ATTR_STYLE_PLUGIN_LIBRARY, FH_CB_TR_TEXT));
	/* an existing key keeps its place and takes the new value */
	if (fh_json_add(cb, "isDeleted", json_object_new_boolean(1)) != FH_OK)
		return FH_ENOMEM;
	*changed = 1;
	return FH_OK;
}

/*
 * Delete what the task names (steps 3 and 4), once per SID: after a 412 the
 * task is read again, and a transcript merged in meanwhile
 * (docs/design/callbacks-and-voicemail.md#one-task-per-recording) is deleted
 * too.  done_rec/done_tr remember what is gone (40 bytes each). On failure resp
 * holds the answer.
 */
static enum fh_err
delete_media(struct fh_ctx *ctx, const char *rec, const char *tr,
    char *done_rec, char *done_tr, struct fh_resp *resp)
{
	struct fh_rest_resp rr;
	enum fh_err	    err = FH_OK;

	memset(&rr, 0, sizeof(rr));
	if (tr != NULL && strcmp(tr, done_tr) != 0) {
		err = fh_transcription_delete(ctx, tr, &rr);
		if (err != FH_OK) {
			fh_log_error(&ctx->log,
			    "cannot delete transcription "
			    "'%s': status %ld code %d",
			    tr, rr.status, rr.twerr.code);
			goto out;
		}
		memcpy(done_tr, tr, 35);
		fh_rest_resp_release(&rr);
	}
	if (strcmp(rec, done_rec) != 0) {
		err = fh_recording_delete(ctx, rec, &rr);
		if (err != FH_OK) {
			fh_log_error(&ctx->log,
			    "cannot delete recording "
			    "'%s': status %ld code %d",
			    rec, rr.status, rr.twerr.code);
			goto out;
		}
		memcpy(done_rec, rec, 35);
	}
out:
	if (err != FH_OK)
		fh_resp_rest_error(resp, err, &rr);
	fh_rest_resp_release(&rr);
	return err;
}

enum fh_err
fh_handle_delete_voicemail(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	struct fh_val	    val[DV__MAX];
	struct fh_rest_resp rr;
	struct json_object *task = NULL, *attrs = NULL;
	const char	   *sid, *rec, *tr;
	char		    etag[128], done_rec[40] = "", done_tr[40] = "";
	size_t		    bad = 0;
	int		    missing = 0, round, changed = 0;
	enum fh_err	    err;

	memset(&rr, 0, sizeof(rr));
	err = fh_form_validate(
	    &req->params, dv_fields, DV__MAX, val, &bad, &missing);
	if (err != FH_OK)
		return fh_answer_field_error(
		    &ctx->log, resp, dv_fields[bad].name, missing);
	sid = val[DV_TASK_SID].str;
	fh_log_set_task(&ctx->log, sid);

	for (round = 1;; round++) {
		json_object_put(task);
		json_object_put(attrs);
		task = attrs = NULL;
		fh_rest_resp_release(&rr);
		err = fh_task_fetch(ctx, sid, &task, etag, sizeof(etag), &rr);
		if (err == FH_ETASK404)
			fh_log_info(&ctx->log, "no task '%s'", sid);
		else if (err != FH_OK)
			fh_log_error(&ctx->log,
			    "cannot fetch task '%s': "
			    "status %ld code %d",
			    sid, rr.status, rr.twerr.code);
		if (err != FH_OK) {
			fh_resp_rest_error(resp, err, &rr);
			goto out;
		}
		fh_rest_resp_release(&rr);
		err = fh_attr_parse_task(task, &attrs);
		if (err != FH_OK ||
		    fh_voicemail_task_sids(attrs, &rec, &tr) != FH_OK) {
			fh_log_info(&ctx->log,
			    "task '%s' is not a voicemail "
			    "task",
			    sid);
			err = FH_ECONFLICT;
			fh_answer_error(resp, err, "not a voicemail task");
			goto out;
		}
		/* any failure here leaves isDeleted alone: a repeat works */
		err = delete_media(ctx, rec, tr, done_rec, done_tr, resp);
		if (err != FH_OK)
			goto out;
		err = fh_voicemail_mark_deleted(attrs, &changed);
		if (err != FH_OK || !changed)
			break;
		if (etag[0] == '\0') {
			/* never an unconditional write: it could drop a
			 * transcript merged at the same moment
			 * (docs/design/callbacks-and-voicemail.md#one-task-per-recording)
			 */
			fh_log_error(&ctx->log,
			    "cannot mark task '%s' deleted: "
			    "no ETag",
			    sid);
			err = FH_EUPSTREAM;
			fh_resp_rest_error(resp, err, NULL);
			goto out;
		}
		err = fh_task_update_attrs(ctx, sid, attrs, etag, &rr);
		if (err == FH_ETWILIO && rr.status == 412 &&
		    round < DELETE_ROUNDS)
			continue; /* changed meanwhile: read it again */
		if (err != FH_OK) {
			fh_log_error(&ctx->log,
			    "cannot mark task '%s' deleted: "
			    "status %ld code %d",
			    sid, rr.status, rr.twerr.code);
			fh_resp_rest_error(resp, err, &rr);
			goto out;
		}
		break;
	}
	if (err == FH_OK) {
		fh_log_info(&ctx->log, "deleted voicemail '%s' of task '%s'%s",
		    done_rec, sid, changed ? "" : " (already marked)");
		err = fh_answer_task_sid(resp, sid);
	}
out:
	fh_rest_resp_release(&rr);
	json_object_put(task);
	json_object_put(attrs);
	return err;
}
