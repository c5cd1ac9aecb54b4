/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmail.c - voicemail by email: the claim, the message, the worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "flex/attr.h"
#include "lib/claim.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/mime.h"
#include "lib/smtp.h"
#include "flex/tasks.h"
#include "lib/valid.h"
#include "flex/vmail.h"

#define MIB (1024 * 1024)
/* A transfer stopped this close to its cap was stopped by the cap: curl
 * hands the body over in pieces of at most 16 KiB. */
#define MEDIA_CAP_SLACK (64 * 1024)
#define TZ_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
	"0123456789/_+-"

static const char *const stage_names[FH_VMAIL__MAX] = {
    [FH_VMAIL_FIRST] = "first",
    [FH_VMAIL_TRANSCRIPT] = "transcript",
};

static struct json_object *
object_at(struct json_object *o, const char *key)
{
	struct json_object *v = fh_json_member(o, key);

	return v != NULL && json_object_is_type(v, json_type_object) ? v : NULL;
}

/* The marker when it is about rec_sid, else NULL. */
static struct json_object *
marker(struct json_object *attrs, const char *rec_sid)
{
	struct json_object *mk = object_at(attrs, FH_VMAIL_MARKER);
	const char	   *r = fh_json_str(mk, "recordingSid");

	if (mk == NULL || r == NULL || rec_sid == NULL ||
	    strcmp(r, rec_sid) != 0)
		return NULL;
	return mk;
}

enum fh_vmail_state
fh_vmail_state(struct json_object *attrs, enum fh_vmail_stage st,
    const char *rec_sid, const char *claim, long long now_ms,
    long long fresh_ms)
{
	struct json_object *so;
	struct fh_val	    at;
	const char	   *state, *c, *s;
	long long	    age;

	if ((unsigned)st >= FH_VMAIL__MAX)
		return FH_VMAIL_BUSY; /* never claim what cannot be named */
	so = object_at(marker(attrs, rec_sid), stage_names[st]);
	if (so == NULL)
		return FH_VMAIL_NONE;
	state = fh_json_str(so, "state");
	if (state != NULL && strcmp(state, "sent") == 0)
		return FH_VMAIL_SENT;
	c = fh_json_str(so, "claim");
	if (claim != NULL && claim[0] != '\0' && c != NULL &&
	    strcmp(c, claim) == 0)
		return FH_VMAIL_OURS;
	if (state == NULL || strcmp(state, "sending") != 0)
		return FH_VMAIL_STALE; /* "failed", or unreadable */
	s = fh_json_str(so, "at");
	memset(&at, 0, sizeof(at));
	if (s == NULL || fh_valid_datetime(s, strlen(s), &at) != FH_OK)
		return FH_VMAIL_STALE;
	age = now_ms - at.num * 1000;
	if (age < fresh_ms && age > -fresh_ms)
		return FH_VMAIL_BUSY;
	return FH_VMAIL_STALE;
}

enum fh_err
fh_vmail_info(struct json_object *attrs, struct fh_vmail_info *vi)
{
	struct json_object *cb;
	const char	   *s;

	memset(vi, 0, sizeof(*vi));
	cb = object_at(attrs, "callBackData");
	s = fh_attr_cb_get(cb, FH_CB_REC_SID); /* either shape */
	if (cb == NULL || s == NULL || !fh_is_sid(s, strlen(s), "RE"))
		return FH_ECONFLICT;
	vi->rec_sid = s;
	vi->caller = fh_json_str(cb, "numberToCall");
	vi->transcript = fh_attr_cb_get(cb, FH_CB_TR_TEXT);
	vi->deleted = fh_json_true(fh_json_member(cb, "isDeleted"));
	return FH_OK;
}

int
fh_vmail_due(struct json_object *attrs, int transcript_on, long long now_ms,
    long long fresh_ms, enum fh_vmail_stage *st)
{
	struct fh_vmail_info vi;
	struct json_object  *first;
	enum fh_vmail_state  s;

	if (fh_vmail_info(attrs, &vi) != FH_OK || vi.deleted)
		return 0;
	s = fh_vmail_state(
	    attrs, FH_VMAIL_FIRST, vi.rec_sid, NULL, now_ms, fresh_ms);
	if (s == FH_VMAIL_NONE || s == FH_VMAIL_STALE) {
		*st = FH_VMAIL_FIRST;
		return 1;
	}
	/* a live first claim: its worker looks again when it is done */
	if (s != FH_VMAIL_SENT || !transcript_on || vi.transcript == NULL ||
	    vi.transcript[0] == '\0')
		return 0;
	first = object_at(marker(attrs, vi.rec_sid), "first");
	if (fh_json_true(fh_json_member(first, "withTranscript")))
		return 0; /* the first message carried it */
	s = fh_vmail_state(
	    attrs, FH_VMAIL_TRANSCRIPT, vi.rec_sid, NULL, now_ms, fresh_ms);
	if (s == FH_VMAIL_NONE || s == FH_VMAIL_STALE) {
		*st = FH_VMAIL_TRANSCRIPT;
		return 1;
	}
	return 0;
}

enum fh_err
fh_vmail_mark(struct json_object *attrs, enum fh_vmail_stage st,
    const char *rec_sid, const char *claim, long long now_ms, const char *state,
    int with_transcript)
{
	struct json_object *mk, *so;
	char		    at[40];
	enum fh_err	    err;

	if (!json_object_is_type(attrs, json_type_object) ||
	    (unsigned)st >= FH_VMAIL__MAX)
		return FH_EINPUT;
	mk = marker(attrs, rec_sid);
	if (mk == NULL) {
		/* none, or another recording's: this one starts afresh */
		mk = json_object_new_object();
		err = fh_json_add(attrs, FH_VMAIL_MARKER, mk);
		if (err == FH_OK)
			err = fh_json_add_str(mk, "recordingSid", rec_sid);
		if (err != FH_OK)
			return err;
	}
	so = json_object_new_object();
	err = fh_json_add(mk, stage_names[st], so);
	if (err != FH_OK)
		return err;
	fh_attr_format_ms(now_ms, at, sizeof(at));
	if ((err = fh_json_add_str(so, "claim", claim)) != FH_OK ||
	    (err = fh_json_add_str(so, "at", at)) != FH_OK ||
	    (err = fh_json_add_str(so, "state", state)) != FH_OK)
		return err;
	return fh_json_add(
	    so, "withTranscript", json_object_new_boolean(with_transcript));
}

enum fh_err
fh_vmail_text(const struct fh_vmail_info *vi, enum fh_vmail_stage st,
    const char *prefix, const char *attach_note, struct fh_buf *subject,
    struct fh_buf *text)
{
	const char *caller = vi->caller != NULL ? vi->caller : "unknown";
	int has_tr = vi->transcript != NULL && vi->transcript[0] != '\0';
	enum fh_err err;

	err = fh_buf_printf(subject, "%s %s%s", prefix, caller,
	    st == FH_VMAIL_TRANSCRIPT ? " (transcript)" : "");
	if (err == FH_OK)
		err = fh_buf_printf(text, "%s %s\r\n\r\n",
		    st == FH_VMAIL_TRANSCRIPT ? "The transcript of a voicemail "
						"from"
					      : "A new voicemail from",
		    caller);
	if (err == FH_OK)
		err = fh_buf_printf(text,
		    "Caller: %s\r\nReceived: %s\r\n"
		    "Task: %s\r\nRecording: %s (%s)\r\n\r\n",
		    caller, vi->received != NULL ? vi->received : "unknown",
		    vi->task_sid != NULL ? vi->task_sid : "unknown",
		    vi->rec_sid, attach_note);
	if (err == FH_OK && has_tr)
		err = fh_buf_printf(
		    text, "Transcript:\r\n%s\r\n", vi->transcript);
	if (err == FH_OK && !has_tr)
		err = fh_buf_addstr(text, "Transcript: none yet.\r\n");
	return err;
}

long
fh_vmail_backoff_ms(unsigned n)
{
	long d = 1000;

	while (n > 1 && d < FH_VMAIL_MAX_BACKOFF_MS) {
		d *= 2;
		n--;
	}
	return d < FH_VMAIL_MAX_BACKOFF_MS ? d : FH_VMAIL_MAX_BACKOFF_MS;
}

/* An IANA zone name: [A-Za-z0-9/_+-], not a path, no "..". */
static int
zone_ok(const char *tz)
{
	size_t n;

	if (tz == NULL)
		return 0;
	n = strlen(tz);
	return n > 0 && n <= 64 && tz[0] != '/' && strspn(tz, TZ_CHARS) == n &&
	    strstr(tz, "..") == NULL;
}

int
fh_vmail_local_time(const char *utc, const char *tz, char *out, size_t outlen)
{
	struct fh_val v;
	struct tm     tm;
	time_t	      t;
	size_t	      n;
	int	      w;

	memset(&v, 0, sizeof(v));
	if (outlen > 0)
		out[0] = '\0';
	if (utc == NULL || fh_valid_datetime(utc, strlen(utc), &v) != FH_OK)
		return 0;
	if (!zone_ok(tz))
		tz = "UTC";
	/* the worker's own process: nothing else reads TZ there */
	if (setenv("TZ", tz, 1) != 0)
		return 0;
	tzset();
	t = (time_t)v.num;
	if (localtime_r(&t, &tm) == NULL)
		return 0;
	n = strftime(out, outlen, "%Y-%m-%d %H:%M:%S %Z", &tm);
	if (n == 0)
		return 0;
	w = snprintf(out + n, outlen - n, " (%s)", tz);
	return w >= 0 && (size_t)w < outlen - n;
}

/* --------------------------------------------------------------- worker */

/* One delivery: the task, the claim, the stage. */
struct job {
	struct fh_ctx	   *ctx;
	const char	   *sid;
	char		    claim[FH_VMAIL_CLAIM_LEN + 1];
	enum fh_vmail_stage st;
	int		    with_transcript;
	long long	    fresh_ms;
	struct json_object *attrs; /* as claimed */
};

/* Fetch the task; *attrs and etag.  FH_ETASK404 passes through. */
static enum fh_err
read_task(struct job *j, struct json_object **attrs, char *etag, size_t etaglen)
{
	struct fh_rest_resp rr;
	struct json_object *task = NULL;
	enum fh_err	    err;

	*attrs = NULL;
	memset(&rr, 0, sizeof(rr)); /* a bad path returns before its init */
	fh_rest_set_deadline(j->ctx->rest, j->ctx->deadline_ms);
	err = fh_task_fetch(j->ctx, j->sid, &task, etag, etaglen, &rr);
	if (err != FH_OK && err != FH_ETASK404)
		fh_log_error(&j->ctx->log,
		    "cannot fetch voicemail task '%s' "
		    "for email: status %ld code %d",
		    j->sid, rr.status, rr.twerr.code);
	if (err == FH_OK)
		err = fh_attr_parse_task(task, attrs);
	fh_rest_resp_release(&rr);
	json_object_put(task);
	return err;
}

/* Write attrs with If-Match etag; *stale set on 412. */
static enum fh_err
write_task(
    struct job *j, struct json_object *attrs, const char *etag, int *stale)
{
	struct fh_rest_resp rr;
	enum fh_err	    err;

	*stale = 0;
	memset(&rr, 0, sizeof(rr));
	if (etag[0] == '\0') {
		/* never an unconditional write: it is the claim */
		fh_log_error(&j->ctx->log,
		    "cannot claim task '%s' for email: "
		    "no ETag",
		    j->sid);
		return FH_EUPSTREAM;
	}
	fh_rest_set_deadline(j->ctx->rest, j->ctx->deadline_ms);
	err = fh_task_update_attrs(j->ctx, j->sid, attrs, etag, &rr);
	if (err == FH_ETWILIO && rr.status == 412)
		*stale = 1;
	else if (err != FH_OK)
		fh_log_error(&j->ctx->log,
		    "cannot update task '%s' for email: "
		    "status %ld code %d",
		    j->sid, rr.status, rr.twerr.code);
	fh_rest_resp_release(&rr);
	return err;
}

/*
 * Steps 1-2 and 5 alike: read the task, let edit() change its attributes,
 * write them with If-Match; a 412 reads again, at most FH_VMAIL_ROUNDS
 * rounds (then FH_ECONFLICT).  edit() sets *write to 0 to stop without
 * writing (FH_OK).  A vanished task is FH_ETASK404.  After a write,
 * *written (may be NULL) takes the attributes.  what names the write in
 * the 412 log lines (NULL: none).
 */
static enum fh_err
update_task(struct job *j,
    enum fh_err (*edit)(
	struct job *, struct json_object *, const void *, int *),
    const void *arg, const char *what, struct json_object **written)
{
	struct json_object *attrs = NULL;
	char		    etag[128];
	int		    round, stale, write;
	enum fh_err	    err = FH_OK;

	for (round = 0; round < FH_VMAIL_ROUNDS; round++) {
		json_object_put(attrs);
		err = read_task(j, &attrs, etag, sizeof(etag));
		if (err != FH_OK)
			goto out;
		write = 1;
		if ((err = edit(j, attrs, arg, &write)) != FH_OK || !write)
			goto out;
		err = write_task(j, attrs, etag, &stale);
		if (err == FH_OK && written != NULL) {
			*written = attrs;
			attrs = NULL;
		}
		if (err == FH_OK || !stale)
			goto out;
		if (what != NULL)
			fh_log_info(&j->ctx->log,
			    "task '%s' changed meanwhile: %s read "
			    "again (412, round %d)",
			    j->sid, what, round + 1);
	}
	if (what != NULL)
		fh_log_error(&j->ctx->log,
		    "cannot claim task '%s' for email: %s", j->sid,
		    "412 on every round");
	err = FH_ECONFLICT;
out:
	json_object_put(attrs);
	return err;
}

/* Steps 1 and 2 on attrs: when an email is due, our claim ("sending"). */
static enum fh_err
claim_edit(
    struct job *j, struct json_object *attrs, const void *arg, int *write)
{
	struct fh_vmail_info vi;
	enum fh_err	     err;

	(void)arg;
	if (!fh_vmail_due(attrs, j->ctx->cfg->vm_email_transcript, fh_wall_ms(),
		j->fresh_ms, &j->st)) {
		*write = 0; /* sent, someone else's, or nothing */
		return FH_OK;
	}
	if ((err = fh_vmail_info(attrs, &vi)) != FH_OK ||
	    (err = fh_claim_new(j->claim, sizeof(j->claim))) != FH_OK)
		return err;
	j->with_transcript = vi.transcript != NULL && vi.transcript[0] != '\0';
	return fh_vmail_mark(attrs, j->st, vi.rec_sid, j->claim, fh_wall_ms(),
	    "sending", j->with_transcript);
}

/* Steps 1 and 2: *due is 0 when nothing is due (or the task is gone). */
static enum fh_err
claim(struct job *j, int *due)
{
	enum fh_err err;

	*due = 0;
	err = update_task(j, claim_edit, NULL, "email claim", &j->attrs);
	if (err == FH_ETASK404) {
		fh_log_info(&j->ctx->log, "task '%s' gone: no email", j->sid);
		err = FH_OK;
	}
	if (err == FH_OK && j->attrs != NULL)
		*due = 1;
	return err;
}

/* Step 5 on attrs: our stage becomes the state arg, while the claim is
 * still ours. */
static enum fh_err
finish_edit(
    struct job *j, struct json_object *attrs, const void *arg, int *write)
{
	const char	    *state = arg;
	struct fh_vmail_info vi;

	if (fh_vmail_info(attrs, &vi) != FH_OK ||
	    fh_vmail_state(attrs, j->st, vi.rec_sid, j->claim, fh_wall_ms(),
		j->fresh_ms) != FH_VMAIL_OURS) {
		fh_log_warn(&j->ctx->log,
		    "email claim on task '%s' "
		    "lost before it was marked %s",
		    j->sid, state);
		*write = 0;
		return FH_OK;
	}
	return fh_vmail_mark(attrs, j->st, vi.rec_sid, j->claim, fh_wall_ms(),
	    state, j->with_transcript);
}

/* Step 5: our stage becomes state ("sent" or "failed"). */
static enum fh_err
finish(struct job *j, const char *state)
{
	enum fh_err err;

	err = update_task(j, finish_edit, state, NULL, NULL);
	return err == FH_ETASK404 ? FH_OK : err;
}

/* Step 3: the recording into rr->body when it fits; the note says what
 * became of it.  *attach is set when the body is the recording. */
static void
fetch_media(struct job *j, const char *rec, struct fh_rest_resp *rr,
    int *attach, char *note, size_t notelen)
{
	const struct fh_config *cfg = j->ctx->cfg;
	struct fh_rest_req	rq;
	char			path[160];
	size_t			limit = (size_t)cfg->vm_email_max_mb * MIB;
	int			w;
	enum fh_err		err;

	*attach = 0;
	memset(rr, 0, sizeof(*rr));
	if (limit == 0) {
		w = snprintf(note, notelen,
		    "not attached: attachments are "
		    "off");
		goto out;
	}
	if (fh_recording_get_req(cfg, rec, limit, path, sizeof(path), &rq) !=
	    FH_OK) {
		w = snprintf(note, notelen, "not attached: no recording path");
		goto out;
	}
	fh_rest_set_deadline(j->ctx->rest, FH_VMAIL_MEDIA_MS);
	err = fh_rest_do(j->ctx->rest, &rq, rr);
	if (err == FH_OK) {
		*attach = 1;
		w = snprintf(note, notelen, "attached as %s.mp3, %zu bytes",
		    rec, rr->body.len);
	} else if (err == FH_EUPSTREAM && rr->status == 0 &&
	    rr->body.len + MEDIA_CAP_SLACK > limit) {
		fh_log_info(&j->ctx->log,
		    "recording '%s' over %lld MB: not "
		    "attached",
		    rec, cfg->vm_email_max_mb);
		w = snprintf(note, notelen, "not attached: larger than %lld MB",
		    cfg->vm_email_max_mb);
	} else {
		fh_log_error(&j->ctx->log,
		    "cannot fetch recording '%s' for "
		    "email: status %ld code %d",
		    rec, rr->status, rr->twerr.code);
		w = snprintf(note, notelen,
		    "not attached: it could not be "
		    "fetched");
	}
out:
	if (w < 0)
		note[0] = '\0';
	if (!*attach)
		fh_rest_resp_release(rr);
}

/* Step 4: build and send, retried with backoff within the window. */
static enum fh_err
compose_and_send(struct job *j)
{
	const struct fh_config *cfg = j->ctx->cfg;
	struct fh_mime_addr	to[FH_MIME_MAX_RCPT], from;
	struct fh_vmail_info	vi;
	struct fh_rest_resp	rr;
	struct fh_mime_msg	m;
	struct fh_buf		subject, text, msg;
	struct json_object     *cb;
	const char	       *tz;
	char			when[128], note[160], name[48], sender[256];
	char			boundary[48];
	size_t			nto, nfrom;
	int64_t			end;
	unsigned		n;
	long			delay;
	int			attach = 0, w;
	enum fh_err		err;

	memset(&rr, 0, sizeof(rr));
	fh_buf_init(&subject, FH_MIME_MAX_HEADER);
	fh_buf_init(&text, FH_MIME_MAX_TEXT);
	fh_buf_init(&msg, 0);
	if ((err = fh_vmail_info(j->attrs, &vi)) != FH_OK)
		goto out;
	vi.task_sid = j->sid;
	cb = object_at(j->attrs, "callBackData");
	tz = fh_json_str(cb, "mainTimeZone");
	if (tz == NULL)
		tz = cfg->main_timezone;
	if (fh_vmail_local_time(
		fh_json_str(cb, "utcDateTimeReceived"), tz, when, sizeof(when)))
		vi.received = when;
	fetch_media(j, vi.rec_sid, &rr, &attach, note, sizeof(note));
	err = fh_vmail_text(
	    &vi, j->st, cfg->vm_email_subject, note, &subject, &text);
	if (err != FH_OK)
		goto out;

	/* addresses were checked at start-up */
	if ((err = fh_mime_addrs(cfg->vm_email_to, strlen(cfg->vm_email_to), to,
		 &nto)) != FH_OK ||
	    (err = fh_mime_addrs(cfg->vm_email_from, strlen(cfg->vm_email_from),
		 &from, &nfrom)) != FH_OK)
		goto out;
	w = snprintf(sender, sizeof(sender), "%.*s", (int)from.len, from.s);
	if (w < 0 || (size_t)w >= sizeof(sender) ||
	    snprintf(name, sizeof(name), "%s.mp3", vi.rec_sid) < 0 ||
	    snprintf(boundary, sizeof(boundary), "fh%s", j->claim) < 0) {
		err = FH_EINTERNAL;
		goto out;
	}
	memset(&m, 0, sizeof(m));
	m.from = sender;
	m.to = cfg->vm_email_to;
	m.subject = fh_buf_cstr(&subject);
	m.text = fh_buf_cstr(&text);
	m.date = fh_wall_ms() / 1000;
	m.id_left = j->claim;
	m.boundary = boundary;
	if (attach) {
		m.attach = rr.body.data != NULL ? rr.body.data : "";
		m.attach_len = rr.body.len;
		m.attach_name = name;
		m.attach_type = "audio/mpeg";
	}
	fh_buf_release(&msg);
	fh_buf_init(&msg,
	    64 * 1024 + 2 * fh_mime_b64_size(text.len) +
		fh_mime_b64_size(m.attach_len));
	err = fh_mime_build(&m, &msg);
	fh_rest_resp_release(&rr); /* encoded: the bytes can go */
	if (err != FH_OK) {
		fh_log_error(&j->ctx->log,
		    "cannot build email for task '%s': "
		    "%s",
		    j->sid, fh_err_name(err));
		goto out;
	}

	end = fh_now_ms() + cfg->smtp_retry_s * 1000;
	for (n = 1;; n++) {
		err = fh_smtp_send(
		    cfg, &j->ctx->log, sender, to, nto, msg.data, msg.len);
		if (err == FH_OK || err == FH_ENOMEM || err == FH_ECONFIG)
			break;
		delay = fh_vmail_backoff_ms(n);
		if (fh_now_ms() + delay > end) {
			fh_log_error(&j->ctx->log,
			    "cannot email voicemail "
			    "task '%s' after %u attempts: giving up",
			    j->sid, n);
			break;
		}
		fh_log_warn(&j->ctx->log,
		    "cannot email voicemail task '%s' "
		    "(attempt %u): retrying in %ld ms",
		    j->sid, n, delay);
		usleep((useconds_t)delay * 1000);
	}
	if (err == FH_OK)
		fh_log_info(&j->ctx->log,
		    "emailed voicemail task '%s' (%s, "
		    "%zu bytes, %zu recipients)",
		    j->sid, stage_names[j->st], msg.len, nto);
out:
	fh_rest_resp_release(&rr);
	fh_buf_release(&subject);
	fh_buf_release(&text);
	fh_buf_release(&msg);
	return err;
}

enum fh_err
fh_vmail_deliver(struct fh_ctx *ctx, const char *task_sid, int *sent)
{
	struct job  j;
	int	    pass, due;
	enum fh_err err = FH_OK, ferr;

	*sent = 0;
	memset(&j, 0, sizeof(j));
	j.ctx = ctx;
	j.sid = task_sid;
	j.fresh_ms = (ctx->cfg->smtp_retry_s + FH_VMAIL_GRACE_S) * 1000;
	/* each pass sends one stage; a transcript merged while the first
	 * message was on its way is found by the next pass */
	for (pass = 0; pass < FH_VMAIL__MAX; pass++) {
		json_object_put(j.attrs);
		j.attrs = NULL;
		err = claim(&j, &due);
		if (err != FH_OK || !due)
			break;
		err = compose_and_send(&j);
		ferr = finish(&j, err == FH_OK ? "sent" : "failed");
		if (ferr != FH_OK)
			fh_log_error(&ctx->log,
			    "cannot mark email of task '%s' "
			    "%s: %s",
			    task_sid, err == FH_OK ? "sent" : "failed",
			    fh_err_name(ferr));
		if (err != FH_OK)
			break;
		(*sent)++;
	}
	json_object_put(j.attrs);
	return err;
}

/* The job left by fh_vmail_schedule(): a detached worker (fork twice, so
 * that init reaps it), which gets a REST client of its own (the
 * parent's connections stay the parent's) and the null device on the
 * FastCGI socket's descriptor. */
static void
job(struct fh_ctx *ctx, const char *task_sid)
{
	struct fh_rest *rest = NULL;
	pid_t		pid;
	int		fd, sent = 0, st;

	pid = fork();
	if (pid < 0) {
		fh_log_error(&ctx->log,
		    "cannot email voicemail task '%s': "
		    "fork: %s",
		    task_sid, strerror(errno));
		return;
	}
	if (pid > 0) {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		return;
	}
	if (fork() != 0)
		_exit(0);
	fh_serve_detach();
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		(void)dup2(fd, 0);
		if (fd != 0)
			close(fd);
	}
	if (fh_rest_new(&rest, ctx->cfg, &ctx->log) != FH_OK) {
		fh_log_error(&ctx->log, "cannot email voicemail task '%s': %s",
		    task_sid, "REST client set-up failed");
		_exit(1);
	}
	ctx->rest = rest; /* this process's copy of ctx */
	st = fh_vmail_deliver(ctx, task_sid, &sent) == FH_OK ? 0 : 1;
	fh_rest_free(rest);
	_exit(st);
}

void
fh_vmail_schedule(struct fh_ctx *ctx, const char *task_sid)
{
	if (ctx->cfg == NULL || ctx->cfg->vm_email_to == NULL ||
	    task_sid == NULL || !fh_is_sid(task_sid, strlen(task_sid), "WT"))
		return;
	if (fh_ctx_after(ctx, job, task_sid) != FH_OK)
		fh_log_error(&ctx->log, "cannot email voicemail task '%s': %s",
		    task_sid, "too many jobs");
}
