/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_wait.c - the wait experience: the TwiML of every mode, the prompts
 * file and the state parameters.
 *
 * "golden" runs the handler on one request per mode with the default
 * configuration and compares the whole body byte for byte with
 * tests/golden/wait-experience/<case>.xml.  Twilio is a closed port, so
 * every REST call fails at once (retries off) and the modes that need
 * Twilio show their fallback.  Regenerate with tests/golden/gen.sh and
 * review the diff.
 * "limits" covers invalid state parameters, missing credentials, escaping
 * of configured prompts and the prompts file parser.
 * "takeover" runs the handler against the scripted server of fh_stub.h: a
 * claim without task_sid taken over first looks for the follow-up it may
 * have made (docs/design/wait-experience.md#cancel-and-claim); every
 * step names what its request must carry, so a request out of order or
 * one too many fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "flex/wait_url.h"
#include "lib/fcgi.h"
#include "fh_check.h"
#include "fh_golden.h"
#include "lib/prompts.h"
#include "flex/qstats.h"
#include "lib/rest.h"
#include "handlers/wait.h"
#include "fh_stub.h"

#define TASK "WT0123456789abcdef0123456789abcdef"
#define CALL "CA0123456789abcdef0123456789abcdef"
#define TW "CallSid=" CALL "&Caller=%2B14155550100&Called=%2B18005550199"
#define AUTHZ "HTTP_AUTHORIZATION=Basic dXNlcjpwYXNz" /* user:pass */

static struct fh_config cfg;
static struct fh_ctx	ctx;
static struct fh_rest  *rest;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	cfg.account_sid = (char *)"AC0123456789abcdef0123456789abcdef";
	cfg.auth_token = (char *)"auth-token-not-real";
	cfg.workspace_sid = (char *)"WS0123456789abcdef0123456789abcdef";
	cfg.callback_workflow_sid =
	    (char *)"WW0123456789abcdef0123456789abcdef";
	cfg.main_timezone = (char *)"UTC";
	cfg.public_url = (char *)"https://hooks.example.com";
	cfg.hold_music_url = (char *)"https://hooks.example.com/assets/"
				     "hold-music.wav";
	cfg.api_url = cfg.taskrouter_url = cfg.iam_url =
	    (char *)"http://127.0.0.1:1";
	cfg.allow_alternate_number = 1;
	cfg.allow_voicemail = 1;
	cfg.task_lookup_page_size = 50;
	cfg.voicemail_max_length = 120;
	cfg.retry_limit = 0;
	cfg.min_backoff_ms = 1;
	cfg.max_backoff_ms = 2;
	cfg.deadline_ms = 2000;
	ctx.cfg = &cfg;
	ctx.prog = "check_wait";
	fh_log_init(&ctx.log, "check_wait", -1); /* silent */
	ck_assert_int_eq(fh_rest_new(&rest, &cfg, &ctx.log), FH_OK);
	ctx.rest = rest;
}

static void
teardown(void)
{
	fh_rest_free(rest);
	rest = NULL;
}

/* Run the handler on a form body (with Basic credentials when authz). */
static enum fh_err
run(const char *body, int authz, struct fh_resp *resp)
{
	struct fh_req req;
	char	      m[] = "REQUEST_METHOD=POST";
	char	      u[] = "REQUEST_URI=" FH_WAIT_PATH;
	char	      ct[] = "CONTENT_TYPE=application/x-www-form-urlencoded";
	char	      a[] = AUTHZ;
	char	     *envp[5] = {m, u, ct, authz ? a : NULL, NULL};
	enum fh_err   err;

	fh_req_init(&req);
	fh_resp_init(resp);
	ck_assert_int_eq(fh_req_parse(&req, envp, body, strlen(body)), FH_OK);
	fh_rest_set_deadline(rest, 2000);
	err = fh_handle_wait(&ctx, &req, resp);
	fh_req_release(&req);
	return err;
}

/* ------------------------------------------------------------- golden */

struct gcase {
	const char *name;
	const char *body;
};

static const struct gcase golden[] = {
    {"initialize", TW "&QueueSid=QU0123456789abcdef0123456789abcdef"},
    {"main-wait-loop", "mode=main-wait-loop&enqueuedTaskSid=" TASK "&" TW},
    {"main-wait-loop-skip",
	"mode=main-wait-loop&enqueuedTaskSid=" TASK "&skipGreeting=true&" TW},
    {"main-wait-loop-unknown", "mode=main-wait-loop&lookup=1&" TW},
    {"main-wait-loop-unknown-max",
	"mode=main-wait-loop&lookup=10&"
	"skipGreeting=true&" TW},
    {"handle-initial-choice",
	"mode=handle-initial-choice&"
	"enqueuedTaskSid=" TASK "&Digits=*&" TW},
    {"handle-initial-choice-other",
	"mode=handle-initial-choice&"
	"enqueuedTaskSid=" TASK "&Digits=5&" TW},
    {"handle-initial-choice-unknown",
	"mode=handle-initial-choice&"
	"lookup=3&Digits=*&" TW},
    {"handle-callback-or-voicemail-choice-1",
	"mode=handle-callback-or-voicemail-choice&enqueuedTaskSid=" TASK
	"&Digits=1&" TW},
    {"handle-callback-or-voicemail-choice-2",
	"mode=handle-callback-or-voicemail-choice&enqueuedTaskSid=" TASK
	"&Digits=2&" TW},
    {"handle-callback-or-voicemail-choice-other",
	"mode=handle-callback-or-voicemail-choice&enqueuedTaskSid=" TASK
	"&Digits=9&" TW},
    {"handle-callback-or-voicemail-choice-withheld",
	"mode=handle-callback-or-voicemail-choice&enqueuedTaskSid=" TASK
	"&Digits=2&CallSid=" CALL "&Caller=anonymous&From=anonymous"},
    {"handle-callback-or-voicemail-choice-withheld-1",
	"mode=handle-callback-or-voicemail-choice&enqueuedTaskSid=" TASK
	"&Digits=1&CallSid=" CALL "&Caller=%2B266696687&From=%2B266696687"
	"&Called=%2B18005550199"},
    {"handle-callback-choice-withheld",
	"mode=handle-callback-choice&enqueuedTaskSid=" TASK
	"&Digits=1&CallSid=" CALL "&Caller=%2B7378742833"
	"&Called=%2B18005550199"},
    {"handle-callback-choice-1",
	"mode=handle-callback-choice&"
	"enqueuedTaskSid=" TASK "&Digits=1&" TW},
    {"handle-callback-choice-voicemail-1",
	"mode=handle-callback-choice&"
	"enqueuedTaskSid=" TASK "&followUp=voicemail&Digits=1&" TW},
    {"handle-callback-choice-2",
	"mode=handle-callback-choice&"
	"enqueuedTaskSid=" TASK "&Digits=2&" TW},
    {"handle-callback-choice-other",
	"mode=handle-callback-choice&"
	"enqueuedTaskSid=" TASK "&Digits=3&" TW},
    /* short names: a tar path keeps 99 bytes */
    {"other-number-confirmation-option",
	"mode=handle-callback-for-other-number-confirmation-option&"
	"enqueuedTaskSid=" TASK "&Digits=+4155550199+&" TW},
    {"other-number-confirmation-option-invalid",
	"mode=handle-callback-for-other-number-confirmation-option&"
	"enqueuedTaskSid=" TASK "&followUp=voicemail&Digits=0415&" TW},
    {"handle-callback-for-other-number-confirmation",
	"mode=handle-callback-for-other-number-confirmation&"
	"enqueuedTaskSid=" TASK "&updatedPhoneNumber=%2B4155550199&"
	"Digits=1&" TW},
    {"handle-callback-for-other-number-confirmation-2",
	"mode=handle-callback-for-other-number-confirmation&"
	"enqueuedTaskSid=" TASK "&updatedPhoneNumber=%2B4155550199&"
	"Digits=2&" TW},
    {"submit-callback-failed",
	"mode=submit-callback&enqueuedTaskSid=" TASK "&to=%2B14155550100&" TW},
    {"submit-callback-missing",
	"mode=submit-callback&enqueuedTaskSid=" TASK "&" TW},
    {"start-voicemail-failed",
	"mode=start-voicemail&enqueuedTaskSid=" TASK "&to=%2B14155550100&" TW},
    {"record-voicemail",
	"mode=record-voicemail&enqueuedTaskSid=" TASK
	"&to=%2B14155550100&calledNumber=%2B18005550199&workflowSid="
	"WW0123456789abcdef0123456789abcdef&taskTimeout=3600&"
	"taskPriority=5&taskChannel=voice&virtualStartTime="
	"2026-01-02T03%3A04%3A05Z&" TW},
    {"record-voicemail-try3",
	"mode=record-voicemail&enqueuedTaskSid=" TASK
	"&to=%2B14155550100&try=3&" TW},
    {"voicemail-recorded-none",
	"mode=voicemail-recorded&"
	"enqueuedTaskSid=" TASK "&to=%2B14155550100&" TW},
    {"voicemail-recorded-failed",
	"mode=voicemail-recorded&"
	"enqueuedTaskSid=" TASK "&to=%2B14155550100&RecordingSid="
	"RE0123456789abcdef0123456789abcdef&RecordingUrl=https%3A%2F%2F"
	"api.twilio.com%2Frec&" TW},
    {"unknown-mode", "mode=no-such-mode&enqueuedTaskSid=" TASK "&" TW},
};

START_TEST(test_golden)
{
	const struct gcase *c = &golden[_i];
	struct fh_resp	    resp;
	char		    name[128];

	ck_assert_int_eq(run(c->body, 1, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, "text/xml; charset=utf-8");
	ck_assert_int_lt(
	    snprintf(name, sizeof(name), "%s.xml", c->name), (int)sizeof(name));
	fh_test_golden("wait-experience", name, resp.body.data, resp.body.len);
	fh_resp_release(&resp);
}
END_TEST

/* ------------------------------------------------------------- limits */

struct lcase {
	const char *body;
	int	    authz;
	const char *want;  /* a substring of the body */
	const char * not ; /* must not appear, or NULL */
};

static const struct lcase limits[] = {
    /* an invalid task SID counts as absent: no menu, a new lookup */
    {"mode=main-wait-loop&enqueuedTaskSid=WT123&" TW, 1,
	"lookup=1&amp;skipGreeting=true", "WT123"},
    /* an out-of-range lookup counts as absent */
    {"mode=main-wait-loop&lookup=11&" TW, 1, "lookup=1&amp;", NULL},
    /* no credentials at all: the fallback without any URL */
    {"mode=handle-initial-choice&enqueuedTaskSid=" TASK "&Digits=*&" TW, 0,
	"<Say voice=\"Polly.Joanna\">Sorry, we were unable to perform "
	"this operation. Please remain on the line.</Say></Response>",
	"Redirect"},
    /* 16 digits, too long */
    {"mode=handle-callback-for-other-number-confirmation-option&"
     "enqueuedTaskSid=" TASK "&Digits=4155550199012345&" TW,
	1, "You have entered an invalid selection.", "say-as"},
    /* 8 digits are enough */
    {"mode=handle-callback-for-other-number-confirmation-option&"
     "enqueuedTaskSid=" TASK "&Digits=41555501&" TW,
	1, "updatedPhoneNumber=%2B41555501", NULL},
    /* an invalid number awaiting confirmation goes back to entry */
    {"mode=handle-callback-for-other-number-confirmation&"
     "enqueuedTaskSid=" TASK "&updatedPhoneNumber=12&Digits=1&" TW,
	1, "confirmation-option", "submit-callback"},
    /* a mode that is not a plain name counts as absent: initialize */
    {"mode=main-wait-loop%26x%3D1&enqueuedTaskSid=" TASK "&" TW, 1,
	"mode=main-wait-loop&amp;lookup=1</Redirect></Response>", NULL},
};

START_TEST(test_limits)
{
	const struct lcase *c = &limits[_i];
	struct fh_resp	    resp;

	ck_assert_int_eq(run(c->body, c->authz, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_msg(strstr(fh_buf_cstr(&resp.body), c->want) != NULL,
	    "case %d: %s", _i, fh_buf_cstr(&resp.body));
	if (c->not != NULL)
		ck_assert_msg(strstr(fh_buf_cstr(&resp.body), c->not ) == NULL,
		    "case %d: %s", _i, fh_buf_cstr(&resp.body));
	fh_resp_release(&resp);
}
END_TEST

/* The callbacks Twilio ignores the body of: 204, nothing. */
static const char *const no_content[] = {
    "mode=submit-voicemail&enqueuedTaskSid=" TASK "&to=%2B14155550100&"
    "TranscriptionStatus=failed&" TW,
    "mode=submit-voicemail&enqueuedTaskSid=" TASK "&to=%2B14155550100&"
    "RecordingSid=RE0123456789abcdef0123456789abcdef&"
    "TranscriptionStatus=completed&TranscriptionText=hi&" TW,
    "mode=voicemail-call-ended&enqueuedTaskSid=" TASK "&to=%2B14155550100&"
    "CallStatus=completed&" TW,
    "mode=voicemail-call-ended&CallStatus=in-progress&" TW,
};

START_TEST(test_no_content)
{
	struct fh_resp resp;

	ck_assert_int_eq(run(no_content[_i], 1, &resp), FH_OK);
	ck_assert_int_eq(resp.status, 204);
	ck_assert_uint_eq(resp.body.len, 0);
	fh_resp_release(&resp);
}
END_TEST

/* A configured prompt is escaped; voice, language and options apply. */
START_TEST(test_config)
{
	struct fh_resp resp;
	char	       txt[] = "Hold <b>on</b> & \"wait\"";

	cfg.prompts[FH_PR_REPEATING_CB_ONLY] = txt;
	cfg.say_voice = (char *)"alice";
	cfg.say_language = (char *)"en-GB";
	cfg.allow_voicemail = 0;
	ck_assert_int_eq(run("mode=main-wait-loop&enqueuedTaskSid=" TASK
			     "&skipGreeting=true&" TW,
			     1, &resp),
	    FH_OK);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&resp.body),
	    "<Say voice=\"alice\" language=\"en-GB\">Hold &lt;b&gt;on&lt;/b&gt;"
	    " &amp; &quot;wait&quot;</Say>"));
	fh_resp_release(&resp);
	cfg.prompts[FH_PR_REPEATING_CB_ONLY] = NULL;

	/* voicemail off: 2 holds on; alternate number off: straight submit */
	ck_assert_int_eq(run("mode=handle-callback-or-voicemail-choice&"
			     "enqueuedTaskSid=" TASK "&Digits=2&" TW,
			     1, &resp),
	    FH_OK);
	ck_assert_ptr_null(strstr(fh_buf_cstr(&resp.body), "Gather"));
	fh_resp_release(&resp);
	cfg.allow_alternate_number = 0;
	ck_assert_int_eq(run("mode=handle-callback-or-voicemail-choice&"
			     "enqueuedTaskSid=" TASK "&Digits=1&" TW,
			     1, &resp),
	    FH_OK);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&resp.body),
	    "<Redirect>https://user:pass@hooks.example.com" FH_WAIT_PATH
	    "?mode=submit-callback&amp;enqueuedTaskSid=" TASK
	    "&amp;to=%2B14155550100</Redirect>"));
	fh_resp_release(&resp);
	/* withheld caller, alternate number off: unavailable */
	ck_assert_int_eq(run("mode=handle-callback-or-voicemail-choice&"
			     "enqueuedTaskSid=" TASK "&Digits=1&CallSid=" CALL
			     "&From=client%3Aalice",
			     1, &resp),
	    FH_OK);
	ck_assert_ptr_nonnull(strstr(
	    fh_buf_cstr(&resp.body), "The option to request a callback"));
	fh_resp_release(&resp);
	/* FLEXHOOKS_BASIC_AUTH when the request has no credentials */
	cfg.basic_auth = (char *)"twilio:s3cr%t";
	ck_assert_int_eq(run("mode=handle-initial-choice&enqueuedTaskSid=" TASK
			     "&Digits=*&" TW,
			     0, &resp),
	    FH_OK);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&resp.body),
	    "https://twilio:s3cr%25t@hooks.example.com"));
	fh_resp_release(&resp);
}
END_TEST

struct pcase {
	const char *text;
	enum fh_err want;
	size_t	    line;
};

static const struct pcase pcases[] = {
    {"", FH_OK, 0},
    {"# comment\ninitialGreeting=Hello\n", FH_OK, 0},
    {"initialGreeting=Hello\nnoSuchKey=x\n", FH_EINPUT, 2},
    {"initialGreeting\n", FH_EINPUT, 1},
    {"invalidInput=\n", FH_EINPUT, 1},
    {"invalidInput=\xff\xfe\n", FH_EINPUT, 1},
};

START_TEST(test_prompts)
{
	const struct pcase *c = &pcases[_i];
	char		   *over[FH_PR__MAX];
	size_t		    line = 0;

	memset(over, 0, sizeof(over));
	ck_assert_int_eq(
	    fh_prompts_parse(c->text, strlen(c->text), over, &line), c->want);
	if (c->want != FH_OK)
		ck_assert_uint_eq(line, c->line);
	if (_i == 1) {
		ck_assert_str_eq(
		    fh_prompt_text(over, FH_PR_INITIAL_GREETING), "Hello");
		ck_assert_str_eq(fh_prompt_text(over, FH_PR_INVALID_INPUT),
		    "You have entered an invalid selection. Please try "
		    "again.");
	}
	fh_prompts_release(over);
}
END_TEST

/* Every prompt has a key and a default; an overlong text is refused. */
START_TEST(test_prompt_table)
{
	char  *over[FH_PR__MAX], text[1100];
	size_t i, line;

	for (i = 0; i < FH_PR__MAX; i++) {
		ck_assert_ptr_nonnull(fh_prompt_key((enum fh_prompt)i));
		ck_assert_ptr_nonnull(fh_prompt_text(NULL, (enum fh_prompt)i));
		ck_assert_ptr_null(
		    strstr(fh_prompt_text(NULL, (enum fh_prompt)i), "  "));
	}
	ck_assert_ptr_null(fh_prompt_key(FH_PR__MAX));
	memset(over, 0, sizeof(over));
	memcpy(text, "invalidInput=", 13);
	memset(text + 13, 'a', 1001);
	text[1014] = '\0';
	ck_assert_int_eq(
	    fh_prompts_parse(text, strlen(text), over, &line), FH_EINPUT);
	text[1013] = '\0'; /* exactly 1000 bytes */
	ck_assert_int_eq(
	    fh_prompts_parse(text, strlen(text), over, &line), FH_OK);
	ck_assert_uint_eq(
	    strlen(fh_prompt_text(over, FH_PR_INVALID_INPUT)), 1000);
	fh_prompts_release(over);
}
END_TEST

/* FLEXHOOKS_PROMPTS through fh_config_load(): loaded, or start-up fails
 * naming the line. */
static char prompts_path[64];

static const char *
prompts_getenv(const char *name)
{
	if (strcmp(name, "FLEXHOOKS_PROMPTS") == 0)
		return prompts_path;
	if (strcmp(name, "FLEXHOOKS_CONFIG") == 0)
		return "/dev/null";
	return NULL;
}

START_TEST(test_prompts_file)
{
	struct fh_config c;
	char		 msg[128];
	FILE		*f;
	int		 fd;

	memcpy(prompts_path, "/tmp/check_wait_XXXXXX", 23);
	fd = mkstemp(prompts_path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs("# ours\ninitialGreeting=Hi & welcome\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(
	    fh_config_load(&c, prompts_getenv, msg, sizeof(msg)), FH_OK);
	ck_assert_str_eq(
	    fh_prompt_text(c.prompts, FH_PR_INITIAL_GREETING), "Hi & welcome");
	fh_config_release(&c);

	f = fopen(prompts_path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("initialGreeting=Hi\n\nrepeatingPromp=typo\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(
	    fh_config_load(&c, prompts_getenv, msg, sizeof(msg)), FH_ECONFIG);
	ck_assert_str_eq(msg, "invalid prompts file line 3");
	ck_assert_int_eq(unlink(prompts_path), 0);
	ck_assert_int_eq(
	    fh_config_load(&c, prompts_getenv, msg, sizeof(msg)), FH_ECONFIG);
}
END_TEST

/* Every withheld caller ID, on 1 (callback) and 2 (voicemail): the
 * number-entry Gather, never the same-number choice or a submit. */
static const char *const withheld[] = {
    "%2B266696687",
    "%2B7378742833",
    "%2B2562533",
    "%2B86282452253",
    "+266696687",
    "anonymous",
    "Restricted",
    "UNKNOWN",
    "blocked",
    "private",
};

START_TEST(test_withheld)
{
	struct fh_resp resp;
	char	       body[512];
	const char    *out;
	int	       digit;

	for (digit = 1; digit <= 2; digit++) {
		ck_assert_int_lt(
		    snprintf(body, sizeof(body),
			"mode=handle-callback-or-voicemail-choice&"
			"enqueuedTaskSid=" TASK "&Digits=%d&CallSid=" CALL
			"&Caller=%s&From=%s"
			"&Called=%%2B18005550199",
			digit, withheld[_i], withheld[_i]),
		    (int)sizeof(body));
		ck_assert_int_eq(run(body, 1, &resp), FH_OK);
		out = fh_buf_cstr(&resp.body);
		ck_assert_msg(strstr(out,
				  "mode=handle-callback-for-other-"
				  "number-confirmation-option") != NULL,
		    "%s: %s", withheld[_i], out);
		ck_assert_ptr_null(strstr(out, "mode=handle-callback-choice"));
		ck_assert_ptr_null(strstr(out, "to=%2B"));
		fh_resp_release(&resp);
	}
	/* and 1 at the same-number choice never submits that number */
	ck_assert_int_lt(
	    snprintf(body, sizeof(body),
		"mode=handle-callback-choice&enqueuedTaskSid=" TASK "&Digits=1"
		"&CallSid=" CALL "&Caller=%s&Called=%%2B18005550199",
		withheld[_i]),
	    (int)sizeof(body));
	ck_assert_int_eq(run(body, 1, &resp), FH_OK);
	ck_assert_ptr_null(strstr(fh_buf_cstr(&resp.body), "submit-callback"));
	fh_resp_release(&resp);
}
END_TEST

/* ------------------------------------------------------------ announcements */

#define WQ "WQ0123456789abcdef0123456789abcdef"
#define LOOP_Q \
	"mode=main-wait-loop&enqueuedTaskSid=" TASK "&skipGreeting=true&" \
	"taskQueueSid=" WQ "&" TW

/* The cached figures of WQ: TASK third in line of four; with stats (1),
 * 12 tasks accepted in 30 minutes (one every 150 s); 2: nothing read. */
static void
put_queue(int with_stats, const char *first)
{
	struct fh_qstats st;
	char		 body[1024];

	memset(&st, 0, sizeof(st));
	memcpy(st.queue, WQ, 35);
	ck_assert_int_lt(
	    snprintf(body, sizeof(body),
		"{\"tasks\":["
		"{\"sid\":\"%s\",\"priority\":1,\"virtual_start_time\":"
		"\"2026-01-02T03:00:00Z\"},"
		"{\"sid\":\"WT00000000000000000000000000000002\",\"priority\":"
		"0,"
		"\"virtual_start_time\":\"2026-01-02T03:00:01Z\"},"
		"{\"sid\":\"" TASK "\",\"priority\":0,\"virtual_start_time\":"
		"\"2026-01-02T03:00:02Z\"},"
		"{\"sid\":\"WT00000000000000000000000000000004\",\"priority\":"
		"0,"
		"\"virtual_start_time\":\"2026-01-02T03:00:03Z\"}]}",
		first),
	    (int)sizeof(body));
	if (with_stats == 2) { /* nothing could be read */
		fh_qstats_cache_put(&st);
		return;
	}
	ck_assert_int_eq(
	    fh_qstats_parse_tasks(body, strlen(body), 1000, &st), FH_OK);
	if (with_stats) {
		st.have_rt = st.have_cum = 1;
		st.eligible = 2;
		st.accepted = 12;
		st.window_s = 1800;
	}
	fh_qstats_cache_put(&st);
}

struct acase {
	int	    position, wait;
	long long   after_s, at_pos;
	int	    stats;
	const char *extra;   /* more of the request */
	const char *want[4]; /* substrings */
	const char * not [3];
};

static const struct acase acases[] = {
    /* both announced, then the menu; the hold state in both URLs */
    {1, 1, 0, 0, 1, "",
	{"<Say voice=\"Polly.Joanna\">You are number 3 "
	 "in line.</Say><Say voice=\"Polly.Joanna\">Your estimated wait "
	 "time is about 8 minutes.</Say><Gather",
	    "mode=handle-initial-choice&amp;enqueuedTaskSid=" TASK
	    "&amp;taskQueueSid=" WQ "&amp;announcedAt=",
	    "mode=main-wait-loop&amp;enqueuedTaskSid=" TASK "&amp;skipGreeting="
	    "true&amp;taskQueueSid=" WQ "&amp;announcedAt=",
	    NULL},
	{"offered=", NULL, NULL}},
    /* only the wait; announced recently: nothing, the time kept */
    {0, 1, 0, 0, 1, "", {"about 8 minutes", NULL, NULL, NULL},
	{"You are number", NULL, NULL}},
    {1, 1, 0, 0, 1,
	"&announcedAt=", {"<Gather", "&amp;announcedAt=", NULL, NULL},
	{"You are number", "estimated wait", NULL}},
    /* no statistics: the position only; no estimate, nothing about it */
    {1, 1, 0, 0, 0, "",
	{"You are number 3 in line.</Say><Gather", NULL, NULL, NULL},
	{"estimated", NULL, NULL}},
    {0, 1, 0, 0, 0, "", {"<Gather", NULL, NULL, NULL},
	{"estimated", "announcedAt", NULL}},
    /* an offer past 10 minutes: not yet (8), hold music only */
    {0, 0, 600, 0, 1, "",
	{"<Response><Play>https://hooks.example.com/"
	 "assets/hold-music.wav</Play><Redirect>",
	    NULL, NULL, NULL},
	{"<Gather", "star key", "offered"}},
    /* past 5 minutes: offered, and it stays */
    {0, 0, 300, 0, 1, "",
	{"<Gather", "&amp;offered=true</Redirect>", "&amp;offered=true\">",
	    NULL},
	{"You are", NULL, NULL}},
    {0, 0, 3000, 0, 1, "&offered=true", {"<Gather", "offered=true", NULL, NULL},
	{NULL, NULL, NULL}},
    /* from position 3: offered; from 4: not */
    {0, 0, 0, 3, 0, "", {"<Gather", "offered=true", NULL, NULL},
	{NULL, NULL, NULL}},
    {0, 0, 0, 4, 0, "", {"<Play>", NULL, NULL, NULL}, {"<Gather", NULL, NULL}},
    /* nothing could be read: today's loop, and no task fetch */
    {1, 1, 300, 2, 2, "", {"<Gather", "star key", NULL, NULL},
	{"You are", "estimated", "offered"}},
    /* wait threshold but no statistics: offered as without one */
    {0, 0, 300, 0, 0, "", {"<Gather", NULL, NULL, NULL},
	{"offered", NULL, NULL}},
};

START_TEST(test_announce)
{
	const struct acase *c = &acases[_i];
	struct fh_resp	    resp;
	char		    body[1024], extra[64];
	const char	   *out;
	long		    before;
	size_t		    i;

	cfg.announce_position = c->position;
	cfg.announce_wait = c->wait;
	cfg.announce_every_s = 120;
	cfg.offer_after_s = c->after_s;
	cfg.offer_position = c->at_pos;
	cfg.queue_stats_cache_s = 30;
	fh_qstats_cache_clear();
	put_queue(c->stats, "WT00000000000000000000000000000001");
	/* "&announcedAt=": a minute ago */
	ck_assert_int_lt(snprintf(extra, sizeof(extra), "%s%lld", c->extra,
			     (long long)time(NULL) - 60),
	    (int)sizeof(extra));
	if (strcmp(c->extra, "&announcedAt=") != 0)
		ck_assert_int_lt(snprintf(extra, sizeof(extra), "%s", c->extra),
		    (int)sizeof(extra));
	ck_assert_int_lt(snprintf(body, sizeof(body), "%s%s", LOOP_Q, extra),
	    (int)sizeof(body));
	before = ctx.log.rest_attempts;
	ck_assert_int_eq(run(body, 1, &resp), FH_OK);
	out = fh_buf_cstr(&resp.body);
	for (i = 0; i < 4 && c->want[i] != NULL; i++)
		ck_assert_msg(strstr(out, c->want[i]) != NULL,
		    "case %d: %s "
		    "not in %s",
		    _i, c->want[i], out);
	for (i = 0; i < 3 && c->not [i] != NULL; i++)
		ck_assert_msg(strstr(out, c->not [i]) == NULL,
		    "case %d: %s "
		    "in %s",
		    _i, c->not [i], out);
	/* all from the cache: no request */
	ck_assert_int_eq(ctx.log.rest_attempts - before, 0);
	fh_resp_release(&resp);
	fh_qstats_cache_clear();
}
END_TEST

/* Next in line; the state read back through the menu and its LOOP; and
 * none of it without the settings, whatever the URL carries. */
START_TEST(test_announce_state)
{
	struct fh_resp resp;

	cfg.announce_position = 1;
	cfg.announce_every_s = 120;
	fh_qstats_cache_clear();
	put_queue(0, "WT00000000000000000000000000000009");
	ck_assert_int_eq(run("mode=main-wait-loop&enqueuedTaskSid=" TASK
			     "&taskQueueSid=" WQ "&" TW,
			     1, &resp),
	    FH_OK);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&resp.body),
	    "representative.</Say><Say voice=\"Polly.Joanna\">You are number "
	    "3 in line.</Say>"));
	fh_resp_release(&resp);
	ck_assert_int_eq(
	    run("mode=handle-initial-choice&enqueuedTaskSid=" TASK
		"&taskQueueSid=" WQ "&announcedAt=1765000000&offered=true&"
		"Digits=5&" TW,
		1, &resp),
	    FH_OK);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&resp.body),
	    "skipGreeting=true&amp;taskQueueSid=" WQ "&amp;announcedAt="
	    "1765000000</Redirect>"));
	fh_resp_release(&resp);
	/* off: the state is neither used nor written */
	cfg.announce_position = 0;
	ck_assert_int_eq(
	    run("mode=main-wait-loop&enqueuedTaskSid=" TASK "&taskQueueSid=" WQ
		"&announcedAt=1765000000&offered=true&" TW,
		1, &resp),
	    FH_OK);
	ck_assert_ptr_null(strstr(fh_buf_cstr(&resp.body), "taskQueueSid"));
	ck_assert_ptr_null(strstr(fh_buf_cstr(&resp.body), "You are"));
	fh_resp_release(&resp);
	/* on, an invalid queue: counts as absent, and the fetch of the task
	 * (Twilio closed) fails: the loop as without announcements */
	cfg.announce_position = 1;
	ck_assert_int_eq(run("mode=main-wait-loop&enqueuedTaskSid=" TASK
			     "&taskQueueSid=WQ12&skipGreeting=true&" TW,
			     1, &resp),
	    FH_OK);
	ck_assert_ptr_nonnull(strstr(fh_buf_cstr(&resp.body), "<Gather"));
	ck_assert_ptr_null(strstr(fh_buf_cstr(&resp.body), "You are"));
	ck_assert_ptr_null(strstr(fh_buf_cstr(&resp.body), "taskQueueSid"));
	fh_resp_release(&resp);
	fh_qstats_cache_clear();
}
END_TEST

/* ----------------------------------------------------------- takeover */

#define NEW "WTeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define OTHER "WT11111111111111111111111111111111"
#define TASKS "/v1/Workspaces/WS0123456789abcdef0123456789abcdef/Tasks"
#define STALE \
	"\\\"flexhooks_followup\\\":{\\\"type\\\":\\\"callback\\\"," \
	"\\\"claim\\\":\\\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\\"," \
	"\\\"at\\\":\\\"2020-01-01T00:00:00Z\\\"}"
#define VM_CLAIM \
	"\\\"flexhooks_followup\\\":{\\\"type\\\":\\\"voicemail\\\"," \
	"\\\"claim\\\":\\\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\\"," \
	"\\\"at\\\":\\\"2020-01-01T00:00:00Z\\\"}"
/* the canceled task, its attributes holding marker (escaped JSON) */
#define CANCELED(marker) \
	"{\"sid\":\"" TASK "\",\"assignment_status\":\"canceled\"," \
	"\"workflow_sid\":\"WW0123456789abcdef0123456789abcdef\"," \
	"\"date_created\":\"2026-01-02T03:04:05Z\",\"priority\":7," \
	"\"attributes\":\"{\\\"call_sid\\\":\\\"" CALL "\\\"," marker "}\"}"
#define LIST(sid, of) \
	"{\"tasks\":[{\"sid\":\"" sid "\",\"attributes\":" \
	"\"{\\\"taskType\\\":\\\"callback\\\",\\\"flexhooks_followup_of\\\":" \
	"\\\"" of "\\\"}\"}],\"meta\":{}}"
#define GET_TASK "GET " TASKS "/" TASK " "
#define LOOKUP "EvaluateTaskAttributes=flexhooks_followup_of"
#define ETAG "ETag: \"e1\"\r\n"
#define SUBMIT \
	"mode=submit-callback&enqueuedTaskSid=" TASK "&to=%2B14155550100&" TW
#define SUBMITTED "A callback has been requested."

struct tcase {
	const char		  *name;
	const char		  *body;   /* the request */
	const struct fh_stub_step *steps;  /* what Twilio answers */
	size_t			   nsteps; /* every one must be used */
	const char		  *want;   /* in the answer ("" for 204) */
};

/* A stale callback claim whose callback exists: adopted, no create. */
static const struct fh_stub_step t_adopt[] = {
    {.status = 200, .headers = ETAG, .body = CANCELED(STALE), .need = GET_TASK},
    {.status = 200, .body = LIST(NEW, TASK), .need = LOOKUP},
    {.status = 200,
	.body = CANCELED(STALE),
	.need = "POST " TASKS "/" TASK " ",
	.forbid = "AssignmentStatus"},
};

/* The lookup fails: nothing is taken over, nothing created. */
static const struct fh_stub_step t_unknown[] = {
    {.status = 200, .headers = ETAG, .body = CANCELED(STALE), .need = GET_TASK},
    {.status = 503, .body = "{\"code\":20503,\"status\":503}", .need = LOOKUP},
};

/* Nothing found (a task of another original does not count): claimed
 * over, created with the name of its original, marked. */
static const struct fh_stub_step t_none[] = {
    {.status = 200, .headers = ETAG, .body = CANCELED(STALE), .need = GET_TASK},
    {.status = 200, .body = LIST(OTHER, OTHER), .need = LOOKUP},
    {.status = 200,
	.headers = "ETag: \"e2\"\r\n",
	.body = CANCELED(STALE),
	.need = "POST " TASKS "/" TASK " ",
	.forbid = "AssignmentStatus"},
    {.status = 201,
	.body = "{\"sid\":\"" NEW "\"}",
	.need = "%22flexhooks_followup_of%22%3A%22" TASK "%22"},
    {.status = 200, .body = CANCELED(STALE), .need = NEW},
};

/* In the server: the canceled task with a callback claim made now. */
static char *
fresh_claim(struct fh_stub *stub, void *arg)
{
	char	  at[32], *out;
	time_t	  now = time(NULL);
	struct tm tm;
	size_t	  len = 1024;

	(void)stub;
	(void)arg;
	out = malloc(len);
	if (out == NULL || gmtime_r(&now, &tm) == NULL ||
	    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 ||
	    snprintf(out, len,
		CANCELED("\\\"flexhooks_followup\\\":{\\\"type\\\":"
			 "\\\"callback\\\",\\\"claim\\\":\\\"aa\\\","
			 "\\\"at\\\":\\\"%s\\\"}"),
		at) >= (int)len) {
		free(out);
		return NULL;
	}
	return out;
}

/* A fresh claim is no takeover: no lookup, the 2 s pause. */
static const struct fh_stub_step t_fresh[] = {
    {.status = 200, .headers = ETAG, .body_fn = fresh_claim, .need = GET_TASK},
};

/* voicemail-call-ended without a recording nor task_sid: the callback
 * an earlier delivery made is found and written down, none created. */
static const struct fh_stub_step t_ended[] = {
    {.status = 200,
	.body = "{\"recordings\":[]}",
	.need = "/Calls/" CALL "/Recordings.json"},
    {.status = 200,
	.headers = ETAG,
	.body = CANCELED(VM_CLAIM),
	.need = GET_TASK},
    {.status = 200, .body = LIST(NEW, TASK), .need = LOOKUP},
    {.status = 200,
	.headers = ETAG,
	.body = CANCELED(VM_CLAIM),
	.need = GET_TASK},
    {.status = 200, .body = CANCELED(VM_CLAIM), .need = NEW},
};

static const struct tcase tcases[] = {
    {"adopt", SUBMIT, t_adopt, FH_NITEMS(t_adopt), SUBMITTED},
    /* start-voicemail over the same claim: the callback, no call move */
    {"adopt-vm",
	"mode=start-voicemail&enqueuedTaskSid=" TASK "&to=%2B14155550100&" TW,
	t_adopt, FH_NITEMS(t_adopt), SUBMITTED},
    {"unknown", SUBMIT, t_unknown, FH_NITEMS(t_unknown),
	"unable to perform this operation"},
    {"none", SUBMIT, t_none, FH_NITEMS(t_none), SUBMITTED},
    {"fresh", SUBMIT, t_fresh, FH_NITEMS(t_fresh), "<Pause length=\"2\"/>"},
    {"ended",
	"mode=voicemail-call-ended&enqueuedTaskSid=" TASK
	"&to=%2B14155550100&CallStatus=completed&" TW,
	t_ended, FH_NITEMS(t_ended), ""},
};

START_TEST(test_takeover)
{
	const struct tcase *tc = &tcases[_i];
	struct fh_stub	    srv;
	struct fh_resp	    resp;
	char		    url[64];
	size_t		    i, n;

	memset(&srv, 0, sizeof(srv));
	fh_rest_free(rest);
	fh_stub_run(&srv, tc->steps, tc->nsteps);
	fh_stub_point(&srv, &cfg, url, sizeof(url));
	ck_assert_int_eq(fh_rest_new(&rest, &cfg, &ctx.log), FH_OK);
	ctx.rest = rest;
	ck_assert_int_eq(run(tc->body, 1, &resp), FH_OK);
	n = fh_stub_load(&srv);
	ck_assert_msg(n == tc->nsteps, "%s: %zu requests, want %zu:\n%s",
	    tc->name, n, tc->nsteps, fh_stub_text(&srv, "\n----\n"));
	for (i = 0; i < n; i++)
		ck_assert_msg(fh_stub_matches(&srv, i),
		    "%s: request %zu:\n%.*s", tc->name, i, (int)srv.reqs[i].len,
		    srv.reqs[i].text);
	if (tc->want[0] == '\0')
		ck_assert_int_eq(resp.status, 204);
	else
		ck_assert_msg(strstr(fh_buf_cstr(&resp.body), tc->want) != NULL,
		    "%s: %s", tc->name, fh_buf_cstr(&resp.body));
	fh_resp_release(&resp);
	fh_stub_stop(&srv);
}
END_TEST

static Suite *
wait_suite(void)
{
	Suite *s = suite_create("wait");
	TCase *tc_core = tcase_create("core");
	TCase *tc_limits = tcase_create("limits");
	TCase *tc_takeover = tcase_create("takeover");

	tcase_add_checked_fixture(tc_core, setup, teardown);
	tcase_add_checked_fixture(tc_limits, setup, teardown);
	tcase_set_timeout(tc_core, 30);
	tcase_add_loop_test(tc_core, test_golden, 0, FH_NITEMS(golden));
	tcase_add_test(tc_core, test_config);
	tcase_add_loop_test(tc_core, test_withheld, 0, FH_NITEMS(withheld));
	tcase_add_loop_test(tc_core, test_no_content, 0, FH_NITEMS(no_content));
	tcase_add_loop_test(tc_core, test_announce, 0, FH_NITEMS(acases));
	tcase_add_test(tc_core, test_announce_state);
	tcase_add_loop_test(tc_limits, test_limits, 0, FH_NITEMS(limits));
	tcase_add_loop_test(tc_limits, test_prompts, 0, FH_NITEMS(pcases));
	tcase_add_test(tc_limits, test_prompt_table);
	tcase_add_test(tc_limits, test_prompts_file);
	suite_add_tcase(s, tc_core);
	tcase_add_checked_fixture(tc_takeover, setup, teardown);
	tcase_set_timeout(tc_takeover, 30);
	tcase_add_loop_test(tc_takeover, test_takeover, 0, FH_NITEMS(tcases));
	suite_add_tcase(s, tc_limits);
	suite_add_tcase(s, tc_takeover);
	return s;
}

FH_CHECK_MAIN(wait_suite)
