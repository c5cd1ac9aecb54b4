/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_config.c - configuration loading and validation.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/config.h"
#include "fh_check.h"
#include "lib/log.h"

/* A fake environment: NULL-terminated KEY, VALUE pairs. */
static const char *const *fake_env;

static const char *
fake_getenv(const char *name)
{
	const char *const *p;

	for (p = fake_env; p != NULL && p[0] != NULL; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

#define BASE "FLEXHOOKS_CONFIG", "/dev/null"

START_TEST(test_defaults)
{
	static const char *const env[] = {"FLEXHOOKS_CONFIG", "/dev/null", "TZ",
	    "America/Chicago", "ACCOUNT_SID",
	    "AC0123456789abcdef0123456789abcdef", "FLEXHOOKS_PUBLIC_URL",
	    "https://hooks.example.com", NULL};
	struct fh_config	 cfg;
	char			 msg[128];

	fake_env = env;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_OK);
	ck_assert_int_eq(cfg.retry_limit, 5);
	ck_assert_int_eq(cfg.min_backoff_ms, 100);
	ck_assert_int_eq(cfg.max_backoff_ms, 2000);
	ck_assert_int_eq(cfg.deadline_ms, 8000);
	ck_assert_int_eq(cfg.event_deadline_ms, 8000);
	ck_assert_int_eq(cfg.task_lookup_page_size, 50);
	ck_assert_int_eq(cfg.allow_voicemail, 1);
	ck_assert_int_eq(cfg.amd_speech_threshold, 1000);
	ck_assert_int_eq(cfg.redirect_mode_url, 0);
	ck_assert_str_eq(cfg.outbound_to_attribute, "practicePhone");
	ck_assert_str_eq(cfg.outbound_from_attribute, "callerID");
	ck_assert_str_eq(cfg.say_voice, "Polly.Joanna");
	ck_assert_str_eq(cfg.cors_origins, "*");
	ck_assert_str_eq(cfg.main_timezone, "America/Chicago");
	ck_assert_str_eq(cfg.hold_music_url,
	    "https://hooks.example.com/assets/hold-music.wav");
	ck_assert_int_eq(cfg.log_level, FH_LOG_INFO);
	/* email is off */
	ck_assert_ptr_null(cfg.vm_email_to);
	ck_assert_ptr_null(cfg.smtp_url);
	ck_assert_int_eq(cfg.vm_email_max_mb, 10);
	ck_assert_int_eq(cfg.vm_email_transcript, 0);
	ck_assert_int_eq(cfg.smtp_retry_s, 900);
	ck_assert_str_eq(cfg.vm_email_subject, "New voicemail from");
	fh_config_release(&cfg);
}
END_TEST

/* Voicemail by email: on with a sender and a server, refused without. */
START_TEST(test_email)
{
	static const char *const on[] = {BASE, "FLEXHOOKS_VOICEMAIL_EMAIL_TO",
	    "ops@example.com, b@example.org", "FLEXHOOKS_VOICEMAIL_EMAIL_FROM",
	    "vm@example.com", "FLEXHOOKS_SMTP_URL",
	    "smtp://smtp.sendgrid.net:587", "FLEXHOOKS_SMTP_USER", "apikey",
	    "FLEXHOOKS_SMTP_PASSWORD", "SG.secret-key_1",
	    "FLEXHOOKS_SMTP_CA_FILE", "/etc/ssl/certs/ca-certificates.crt",
	    NULL};
	static const char *const smtps[] = {BASE,
	    "FLEXHOOKS_VOICEMAIL_EMAIL_TO", "ops@example.com",
	    "FLEXHOOKS_VOICEMAIL_EMAIL_FROM", "vm@example.com",
	    "FLEXHOOKS_SMTP_URL",
	    "smtps://smtp.gmail.com:465/hooks.example.com", NULL};
	static const char *const no_from[] = {BASE,
	    "FLEXHOOKS_VOICEMAIL_EMAIL_TO", "ops@example.com",
	    "FLEXHOOKS_SMTP_URL", "smtp://smtp.example.com", NULL};
	static const char *const no_url[] = {BASE,
	    "FLEXHOOKS_VOICEMAIL_EMAIL_TO", "ops@example.com",
	    "FLEXHOOKS_VOICEMAIL_EMAIL_FROM", "vm@example.com", NULL};
	struct fh_config	 cfg;
	char			 msg[128];

	fake_env = on;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_OK);
	ck_assert_str_eq(cfg.vm_email_to, "ops@example.com, b@example.org");
	ck_assert_str_eq(cfg.smtp_password, "SG.secret-key_1");
	fh_config_release(&cfg);
	fake_env = smtps;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_OK);
	fh_config_release(&cfg);
	fake_env = no_from;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_ECONFIG);
	ck_assert_str_eq(msg,
	    "missing required setting "
	    "'FLEXHOOKS_VOICEMAIL_EMAIL_FROM'");
	fake_env = no_url;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_ECONFIG);
	ck_assert_str_eq(msg, "missing required setting 'FLEXHOOKS_SMTP_URL'");
}
END_TEST

struct bad {
	const char *key, *value;
};
static const struct bad bad[] = {
    {"ACCOUNT_SID", "AC123"},
    {"TWILIO_FLEX_WORKSPACE_SID", "WW0123456789abcdef0123456789abcdef"},
    /* FLEXHOOKS_EVENT_WORKSPACES: WS SIDs, comma-separated, each once */
    {"FLEXHOOKS_EVENT_WORKSPACES", "WW0123456789abcdef0123456789abcdef"},
    {"FLEXHOOKS_EVENT_WORKSPACES", "WS0123456789abcdef0123456789abcdef,"},
    {"FLEXHOOKS_EVENT_WORKSPACES", ",WS0123456789abcdef0123456789abcdef"},
    {"FLEXHOOKS_EVENT_WORKSPACES",
	"WS0123456789abcdef0123456789abcdef, "
	"WSffffffffffffffffffffffffffffffff"},
    {"FLEXHOOKS_EVENT_WORKSPACES",
	"WS0123456789abcdef0123456789abcdef,"
	"WS0123456789abcdef0123456789abcdef"},
    {"FLEXHOOKS_EVENT_WORKSPACES", "WS0123456789abcdef0123456789abcde"},
    {"FLEXHOOKS_EVENT_WORKSPACES", "Call Router"},
    {"FLEXHOOKS_DEADLINE_MS", "999"},
    {"FLEXHOOKS_DEADLINE_MS", "12001"},
    {"FLEXHOOKS_DEADLINE_MS", "8000ms"},
    {"FLEXHOOKS_PUBLIC_URL", "http://hooks.example.com"},
    {"FLEXHOOKS_PUBLIC_URL", "https://hooks.example.com/"},
    {"FLEXHOOKS_TWILIO_API_URL", "ftp://x"},
    {"FLEXHOOKS_ALLOW_VOICEMAIL", "maybe"},
    {"FORWARD_TO_NUMBER", "5555550123"},
    {"FLEXHOOKS_FORWARD_RULES", "WQ0123456789abcdef0123456789abcdef"},
    {"FLEXHOOKS_BASIC_AUTH", "user"},
    {"FLEXHOOKS_BASIC_AUTH", "us er:pw"},
    {"FLEXHOOKS_LOG_LEVEL", "loud"},
    {"FLEXHOOKS_AMD_SPEECH_THRESHOLD", "999"},
    {"FLEXHOOKS_CORS_ORIGINS", "flex.twilio.com"},
    {"FLEXHOOKS_REDIRECT_MODE", "URL"},
    {"FLEXHOOKS_REDIRECT_MODE", "redirect"},
    {"FLEXHOOKS_EVENT_DEADLINE_MS", "12001"},
    {"FLEXHOOKS_OUTBOUND_TO_ATTRIBUTE", "practice Phone"},
    {"FLEXHOOKS_OUTBOUND_TO_ATTRIBUTE", ".practicePhone"},
    {"FLEXHOOKS_OUTBOUND_TO_ATTRIBUTE", "a..b"},
    {"FLEXHOOKS_OUTBOUND_FROM_ATTRIBUTE", "callerID."},
    {"AUTH_TOKEN", "has space"},
    {"FLEXHOOKS_ATTRIBUTE_STYLE", "Template"},
    {"FLEXHOOKS_ATTRIBUTE_STYLE", "plugin_library"},
    {"FLEXHOOKS_ATTRIBUTE_STYLE", "template "},
    {"FLEXHOOKS_FOLLOWUP_WORKFLOW", "both"},
    {"FLEXHOOKS_FOLLOWUP_WORKFLOW", "callbacks"},
    {"FLEXHOOKS_VOICEMAIL_EMAIL_TO", "ops@example.com; boss@example.org"},
    {"FLEXHOOKS_VOICEMAIL_EMAIL_TO", "Ops <ops@example.com>"},
    {"FLEXHOOKS_VOICEMAIL_EMAIL_TO", "ops@example.com,"},
    {"FLEXHOOKS_VOICEMAIL_EMAIL_FROM", "a@example.com,b@example.com"},
    {"FLEXHOOKS_VOICEMAIL_EMAIL_FROM", "voicemail"},
    {"FLEXHOOKS_VOICEMAIL_EMAIL_SUBJECT", "a\tb"},
    {"FLEXHOOKS_VOICEMAIL_EMAIL_MAX_MB", "16"},
    {"FLEXHOOKS_VOICEMAIL_EMAIL_TRANSCRIPT", "sometimes"},
    {"FLEXHOOKS_SMTP_URL", "http://smtp.example.com"},
    {"FLEXHOOKS_SMTP_URL", "smtp://user:pw@smtp.example.com"},
    {"FLEXHOOKS_SMTP_URL", "smtp://smtp.example.com:25x"},
    {"FLEXHOOKS_SMTP_URL", "smtp://smtp.example.com:"},
    {"FLEXHOOKS_SMTP_URL", "smtp://"},
    {"FLEXHOOKS_SMTP_URL", "smtps://smtp example.com"},
    {"FLEXHOOKS_SMTP_USER", "a b"},
    {"FLEXHOOKS_SMTP_PASSWORD", "pass word"},
    {"FLEXHOOKS_SMTP_RETRY_S", "86401"},
};

START_TEST(test_bad_value)
{
	const char	*env[] = {BASE, bad[_i].key, bad[_i].value, NULL};
	struct fh_config cfg;
	char		 msg[128];

	fake_env = env;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_ECONFIG);
	ck_assert_ptr_nonnull(strstr(msg, bad[_i].key));
	/* the value itself never appears: it may be a secret */
	ck_assert_ptr_null(strstr(msg, bad[_i].value));
}
END_TEST

/* FLEXHOOKS_ATTRIBUTE_STYLE and FLEXHOOKS_FOLLOWUP_WORKFLOW: the words,
 * their defaults, and a refusal that lists the words. */
START_TEST(test_choices)
{
	const char *env[] = {BASE, "FLEXHOOKS_ATTRIBUTE_STYLE",
	    "plugin-library", "FLEXHOOKS_FOLLOWUP_WORKFLOW", "callback", NULL};
	const char *dflt[] = {BASE, "FLEXHOOKS_ATTRIBUTE_STYLE", "", NULL};
	const char *bad_env[] = {
	    BASE, "FLEXHOOKS_ATTRIBUTE_STYLE", "library", NULL};
	struct fh_config cfg;
	char		 msg[128];

	fake_env = env;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_OK);
	ck_assert_int_eq(cfg.attribute_style, 1);
	ck_assert_int_eq(cfg.followup_workflow, 1);
	fh_config_release(&cfg);
	fake_env = dflt;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_OK);
	ck_assert_int_eq(cfg.attribute_style, 0);
	ck_assert_int_eq(cfg.followup_workflow, 0);
	fh_config_release(&cfg);
	fake_env = bad_env;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_ECONFIG);
	ck_assert_str_eq(msg,
	    "invalid value for 'FLEXHOOKS_ATTRIBUTE_STYLE' "
	    "(one of: template|plugin-library)");
}
END_TEST

START_TEST(test_file_and_env)
{
	char	    path[] = "/tmp/fhcfgXXXXXX", msg[128];
	const char *env[] = {
	    "FLEXHOOKS_CONFIG", path, "FLEXHOOKS_SAY_VOICE", "alice", NULL};
	struct fh_config cfg;
	FILE		*f;
	int		 fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs("# comment\n\nFLEXHOOKS_SAY_VOICE=man\r\n"
	      "AUTH_TOKEN=abc=def\nFLEXHOOKS_DEADLINE_MS=3000\n"
	      "FLEXHOOKS_FORWARD_RULES=WQ0123456789abcdef0123456789abcdef="
	      "+15555550123,WQ0123456789abcdef0123456789abcdee=+15555550124\n"
	      "FLEXHOOKS_AMD_SPEECH_THRESHOLD=\n",
	    f);
	fclose(f);
	fake_env = env;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_OK);
	ck_assert_str_eq(cfg.say_voice, "alice");    /* env wins */
	ck_assert_str_eq(cfg.auth_token, "abc=def"); /* after first = */
	ck_assert_int_eq(cfg.deadline_ms, 3000);
	ck_assert_int_eq(cfg.amd_speech_threshold, 0); /* empty: not sent */
	fh_config_release(&cfg);

	f = fopen(path, "w");
	fputs("NOT A LINE\n", f);
	fclose(f);
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_ECONFIG);
	ck_assert_ptr_nonnull(strstr(msg, "line 1"));

	/* the file holds secrets: group may read it, other users may not */
	f = fopen(path, "w");
	fputs("AUTH_TOKEN=abc\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_OK);
	fh_config_release(&cfg);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_ECONFIG);
	ck_assert_ptr_nonnull(strstr(msg, "other users"));
	ck_assert_ptr_null(strstr(msg, "abc"));
	ck_assert_int_eq(chmod(path, 0602), 0);
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_ECONFIG);
	unlink(path);
	/* a named file that does not exist is an error */
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_ECONFIG);
}
END_TEST

START_TEST(test_require)
{
	static const char *const env[] = {BASE, "ACCOUNT_SID",
	    "AC0123456789abcdef0123456789abcdef", "AUTH_TOKEN", "tok",
	    "TWILIO_FLEX_WORKSPACE_SID", "WS0123456789abcdef0123456789abcdef",
	    NULL};
	struct fh_config	 cfg;
	char			 msg[128];

	fake_env = env;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_OK);
	ck_assert_int_eq(
	    fh_config_require(&cfg, FH_NEED_REST, msg, sizeof(msg)), FH_OK);
	ck_assert_int_eq(
	    fh_config_require(&cfg, FH_NEED_CALLBACK_WF, msg, sizeof(msg)),
	    FH_ECONFIG);
	ck_assert_ptr_nonnull(strstr(msg, "TWILIO_FLEX_CALLBACK_WORKFLOW_SID"));
	ck_assert_int_eq(
	    fh_config_require(&cfg, FH_NEED_SIGNATURE, msg, sizeof(msg)),
	    FH_ECONFIG);
	ck_assert_ptr_nonnull(strstr(msg, "FLEXHOOKS_PUBLIC_URL"));
	fh_config_release(&cfg);
}
END_TEST

/*
 * FLEXHOOKS_BASIC_AUTH's password strength: nginx does not rate-limit the
 * Twilio-facing routes, so a guessable password must not start.
 */
struct pw {
	const char *userpass;
	int	    ok;
};
static const struct pw pws[] = {
    /* what local.sh, bench and the deb phase generate */
    {"flexhooks:0f3a9c1d7e5b2a8046c1d9e7f3b5a2c8", 1}, /* rand -hex 16 */
    {"flexhooks:Qm7ZxR2pLk9WvT4nBc8YdE1s", 1},	       /* 24 alphanumerics */
    {"bench:5d1c9a7f3e2b8d4c6a0f9e1b", 1},	       /* rand -hex 12 */
    {"u:a1b2c3d4e5f6g7h8", 1}, /* 16 chars, 36-letter pool: 80 bits */
    {"u:Aa0-Bb1.Cc2_Dd3~", 1},
    /* weak */
    {"other:Passw0rd", 0},		       /* short */
    {"flexhooks:change-me", 0},		       /* the old sample's */
    {"u:abcdefghijklmnop", 0},		       /* 16 lower: 64 bits */
    {"u:a1b2c3d4e5f6g7h", 0},		       /* 15 characters */
    {"u:aaaaaaaabbbbbbbb1111111122222222", 0}, /* 4 different */
    {"u:1234567890123456789012", 0},	       /* digits: 3 x 22 = 66 bits */
};

START_TEST(test_password_strength)
{
	const char *env[] = {
	    BASE, "FLEXHOOKS_BASIC_AUTH", pws[_i].userpass, NULL};
	const char	*pw = strchr(pws[_i].userpass, ':') + 1;
	struct fh_config cfg;
	char		 msg[256];
	enum fh_err	 err;

	fake_env = env;
	err = fh_config_load(&cfg, fake_getenv, msg, sizeof(msg));
	if (pws[_i].ok) {
		ck_assert_msg(
		    err == FH_OK, "'%s' refused: %s", pws[_i].userpass, msg);
		ck_assert_str_eq(cfg.basic_auth, pws[_i].userpass);
		fh_config_release(&cfg);
		return;
	}
	ck_assert_int_eq(err, FH_ECONFIG);
	ck_assert_ptr_nonnull(strstr(msg,
	    "weak password in "
	    "'FLEXHOOKS_BASIC_AUTH'"));
	ck_assert_ptr_nonnull(strstr(msg, "openssl rand -hex 16"));
	/* the password itself never appears in the message */
	ck_assert_ptr_null(strstr(msg, pw));
}
END_TEST

/* FLEXHOOKS_EVENT_WORKSPACES and the needs a program can start without. */
#define WSA "WS0123456789abcdef0123456789abcdef"
#define WSB "WSffffffffffffffffffffffffffffffff"
#define WSC "WSeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
START_TEST(test_event_workspaces)
{
	static const char *const flex[] = {BASE, "ACCOUNT_SID",
	    "AC0123456789abcdef0123456789abcdef", "AUTH_TOKEN", "tok",
	    "TWILIO_FLEX_WORKSPACE_SID", WSA, "FLEXHOOKS_EVENT_WORKSPACES",
	    WSB "," WSA, NULL};
	static const char *const noflex[] = {BASE, "ACCOUNT_SID",
	    "AC0123456789abcdef0123456789abcdef", "AUTH_TOKEN", "tok",
	    "FLEXHOOKS_EVENT_WORKSPACES", WSB "," WSC, NULL};
	static const char *const none[] = {BASE, "ACCOUNT_SID",
	    "AC0123456789abcdef0123456789abcdef", "AUTH_TOKEN", "tok", NULL};
	struct fh_config	 cfg;
	char			 msg[128];

	fake_env = flex;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_OK);
	ck_assert_str_eq(cfg.event_workspaces, WSB "," WSA);
	ck_assert_int_eq(fh_config_workspace_ok(&cfg, WSA), 1);
	ck_assert_int_eq(fh_config_workspace_ok(&cfg, WSB), 1);
	ck_assert_int_eq(fh_config_workspace_ok(&cfg, WSC), 0);
	ck_assert_int_eq(fh_config_workspace_ok(&cfg, NULL), 0);
	ck_assert_int_eq(fh_config_workspace_ok(&cfg, WSB "," WSA), 0);
	ck_assert_int_eq(fh_config_workspace_ok(&cfg, "WSffff"), 0);
	/* the Flex workspace is the default one */
	ck_assert_str_eq(fh_config_default_workspace(&cfg), WSA);
	ck_assert_ptr_null(
	    fh_config_unconfigured(&cfg, FH_NEED_FLEX | FH_NEED_WORKSPACE));
	ck_assert_str_eq(
	    fh_config_unconfigured(&cfg, FH_NEED_FLEX | FH_NEED_CALLBACK_WF),
	    "TWILIO_FLEX_CALLBACK_WORKFLOW_SID");
	fh_config_release(&cfg);

	/* without Flex: the dialer's workspaces only */
	fake_env = noflex;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_OK);
	ck_assert_int_eq(fh_config_workspace_ok(&cfg, WSC), 1);
	ck_assert_int_eq(fh_config_workspace_ok(&cfg, WSA), 0);
	ck_assert_str_eq(fh_config_default_workspace(&cfg), WSB);
	ck_assert_str_eq(
	    fh_config_unconfigured(&cfg, FH_NEED_REST | FH_NEED_FLEX),
	    "TWILIO_FLEX_WORKSPACE_SID");
	ck_assert_ptr_null(fh_config_unconfigured(
	    &cfg, FH_NEED_REST | FH_NEED_WORKSPACE | FH_NEED_SIGNATURE));
	/* the credentials are no feature: still required */
	ck_assert_int_eq(
	    fh_config_require(&cfg, FH_NEED_REST, msg, sizeof(msg)), FH_OK);
	ck_assert_int_eq(fh_config_require(&cfg, FH_NEED_REST | FH_NEED_FLEX,
			     msg, sizeof(msg)),
	    FH_ECONFIG);
	ck_assert_ptr_nonnull(strstr(msg, "TWILIO_FLEX_WORKSPACE_SID"));
	fh_config_release(&cfg);

	/* no workspace at all */
	fake_env = none;
	ck_assert_int_eq(
	    fh_config_load(&cfg, fake_getenv, msg, sizeof(msg)), FH_OK);
	ck_assert_ptr_null(fh_config_default_workspace(&cfg));
	ck_assert_int_eq(fh_config_workspace_ok(&cfg, WSA), 0);
	ck_assert_str_eq(fh_config_unconfigured(&cfg, FH_NEED_WORKSPACE),
	    "FLEXHOOKS_EVENT_WORKSPACES");
	fh_config_release(&cfg);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("config");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_test(core, test_defaults);
	tcase_add_test(core, test_choices);
	tcase_add_test(core, test_file_and_env);
	tcase_add_test(core, test_require);
	tcase_add_test(core, test_event_workspaces);
	tcase_add_test(core, test_email);
	tcase_add_loop_test(limits, test_password_strength, 0,
	    (int)(sizeof(pws) / sizeof(pws[0])));
	tcase_add_loop_test(
	    limits, test_bad_value, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

FH_CHECK_MAIN(suite)
