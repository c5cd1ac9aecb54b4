/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - the configuration table, its file (kvfile.h), validation.
 *
 * Only this file reads the environment.  Each setting is one row of vars[]:
 * its name, its kind (which says how it is validated), where it goes in
 * struct fh_config and its default.  Derived defaults (inbound workflow,
 * event deadline, hold music URL, time zone) are filled in after the table.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/form.h"
#include "lib/kvfile.h"
#include "lib/log.h"
#include "lib/mime.h"
#include "lib/valid.h"

enum kind {
	K_SID = 0, /* arg: the prefix */
	K_SECRET,  /* printable, no spaces, at most 256 bytes */
	K_WORD,	   /* arg: the allowed characters */
	K_URL,	   /* https, or http to a loopback host; no final '/' */
	K_INT,
	K_BOOL,
	K_E164,
	K_PATH,
	K_LEVEL,
	K_RULES,	 /* WQ...=+E164,... */
	K_ORIGINS,	 /* '*' or a comma list of origins */
	K_USERPASS,	 /* user:password, URL-unreserved characters only */
	K_AMD_POLICY,	 /* bridge or hangup-on-machine */
	K_REDIRECT_MODE, /* twiml or url */
	K_TEXT,		 /* UTF-8 without control characters, 1..max bytes */
	K_CHOICE,	 /* arg: the words, '|'-separated; stores the index */
	K_SIDS,		 /* arg: the prefix; a comma list of SIDs */
	K_SMTP_URL,	 /* smtp://host[:port] or smtps://host[:port] */
	K_EMAILS,	 /* comma-separated plain addresses (mime.h) */
	K__MAX
};

struct var {
	const char *name;
	enum kind   kind;
	size_t	    off;
	const char *arg;
	long long   min, max;
	const char *def; /* default, or NULL */
};

#define S(f) offsetof(struct fh_config, f)
#define WORDCH "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
static const struct var vars[] = {
    {"ACCOUNT_SID", K_SID, S(account_sid), "AC", 0, 0, NULL},
    {"AUTH_TOKEN", K_SECRET, S(auth_token), NULL, 0, 0, NULL},
    {"FLEXHOOKS_AUTH_TOKEN_SECONDARY", K_SECRET, S(auth_token2), NULL, 0, 0,
	NULL},
    {"API_KEY", K_SID, S(api_key), "SK", 0, 0, NULL},
    {"API_SECRET", K_SECRET, S(api_secret), NULL, 0, 0, NULL},
    {"TWILIO_FLEX_WORKSPACE_SID", K_SID, S(workspace_sid), "WS", 0, 0, NULL},
    {"TWILIO_FLEX_CALLBACK_WORKFLOW_SID", K_SID, S(callback_workflow_sid), "WW",
	0, 0, NULL},
    {"FLEXHOOKS_INBOUND_GREETING", K_TEXT, S(inbound_greeting), NULL, 1,
	FH_PROMPT_MAX_TEXT, NULL},
    {"FLEXHOOKS_INBOUND_WORKFLOW_SID", K_SID, S(inbound_workflow_sid), "WW", 0,
	0, NULL},
    {"FLEXHOOKS_INBOUND_ADD_LOCATION", K_BOOL, S(inbound_add_location), NULL, 0,
	0, "false"},
    {"FLEXHOOKS_MAIN_TIMEZONE", K_WORD, S(main_timezone), WORDCH "/_+-", 1, 64,
	NULL},
    {"TWILIO_REGION", K_WORD, S(region), WORDCH "-", 1, 32, NULL},
    {"TWILIO_EDGE", K_WORD, S(edge), WORDCH "-", 1, 32, NULL},
    {"TWILIO_SERVICE_RETRY_LIMIT", K_INT, S(retry_limit), NULL, 0, 20, "5"},
    {"TWILIO_SERVICE_MIN_BACKOFF", K_INT, S(min_backoff_ms), NULL, 0, 60000,
	"100"},
    {"TWILIO_SERVICE_MAX_BACKOFF", K_INT, S(max_backoff_ms), NULL, 0, 60000,
	"2000"},
    {"FLEXHOOKS_DEADLINE_MS", K_INT, S(deadline_ms), NULL, 1000, 12000, "8000"},
    {"FLEXHOOKS_EVENT_DEADLINE_MS", K_INT, S(event_deadline_ms), NULL, 1000,
	12000, NULL},
    {"FLEXHOOKS_PUBLIC_URL", K_URL, S(public_url), NULL, 0, 0, NULL},
    {"FLEXHOOKS_TWILIO_API_URL", K_URL, S(api_url), NULL, 0, 0, NULL},
    {"FLEXHOOKS_TASKROUTER_URL", K_URL, S(taskrouter_url), NULL, 0, 0, NULL},
    {"FLEXHOOKS_IAM_URL", K_URL, S(iam_url), NULL, 0, 0, NULL},
    {"FLEXHOOKS_SAY_VOICE", K_WORD, S(say_voice), WORDCH "._-", 1, 64,
	"Polly.Joanna"},
    {"FLEXHOOKS_SAY_LANGUAGE", K_WORD, S(say_language), WORDCH "-", 2, 16,
	NULL},
    {"FLEXHOOKS_HOLD_MUSIC_URL", K_URL, S(hold_music_url), NULL, 0, 0, NULL},
    {"FLEXHOOKS_PROMPTS", K_PATH, S(prompts_file), NULL, 0, 0, NULL},
    {"FLEXHOOKS_TASK_LOOKUP_PAGE_SIZE", K_INT, S(task_lookup_page_size), NULL,
	1, 1000, "50"},
    {"FLEXHOOKS_ALLOW_ALTERNATE_NUMBER", K_BOOL, S(allow_alternate_number),
	NULL, 0, 0, "true"},
    {"FLEXHOOKS_ALLOW_VOICEMAIL", K_BOOL, S(allow_voicemail), NULL, 0, 0,
	"true"},
    {"FLEXHOOKS_VOICEMAIL_MAX_LENGTH", K_INT, S(voicemail_max_length), NULL, 2,
	3600, "120"},
    {"FLEXHOOKS_ANNOUNCE", K_WORD, S(announce), "abcdefghijklmnopqrstuvwxyz,",
	1, 64, NULL},
    {"FLEXHOOKS_ANNOUNCE_EVERY_S", K_INT, S(announce_every_s), NULL, 10, 3600,
	"120"},
    {"FLEXHOOKS_OFFER_CALLBACK_AFTER_S", K_INT, S(offer_after_s), NULL, 0,
	86400, "0"},
    {"FLEXHOOKS_OFFER_CALLBACK_POSITION", K_INT, S(offer_position), NULL, 0,
	100000, "0"},
    {"FLEXHOOKS_QUEUE_STATS_CACHE_S", K_INT, S(queue_stats_cache_s), NULL, 1,
	600, "30"},
    {"FORWARD_CALL_TASK_QUEUE_SID", K_SID, S(forward_queue_sid), "WQ", 0, 0,
	NULL},
    {"FORWARD_TO_NUMBER", K_E164, S(forward_to_number), NULL, 0, 0, NULL},
    {"FLEXHOOKS_FORWARD_RULES", K_RULES, S(forward_rules), NULL, 0, 0, NULL},
    {"FLEXHOOKS_ATTRIBUTE_STYLE", K_CHOICE, S(attribute_style),
	"template|plugin-library", 0, 0, "template"},
    {"FLEXHOOKS_FOLLOWUP_WORKFLOW", K_CHOICE, S(followup_workflow),
	"original|callback", 0, 0, "original"},
    {"FLEXHOOKS_OUTBOUND_TO_ATTRIBUTE", K_WORD, S(outbound_to_attribute),
	WORDCH "_.", 1, 64, "practicePhone"},
    {"FLEXHOOKS_OUTBOUND_FROM_ATTRIBUTE", K_WORD, S(outbound_from_attribute),
	WORDCH "_.", 1, 64, "callerID"},
    {"FLEXHOOKS_AMD_SPEECH_THRESHOLD", K_INT, S(amd_speech_threshold), NULL,
	1000, 6000, "1000"},
    {"FLEXHOOKS_REDIRECT_CALLER_ID", K_E164, S(redirect_caller_id), NULL, 0, 0,
	NULL},
    {"FLEXHOOKS_REDIRECT_TIMEOUT", K_INT, S(redirect_timeout), NULL, 5, 600,
	NULL},
    {"FLEXHOOKS_REDIRECT_ACTION", K_URL, S(redirect_action), NULL, 0, 0, NULL},
    {"FLEXHOOKS_REDIRECT_MODE", K_REDIRECT_MODE, S(redirect_mode_url), NULL, 0,
	0, "twiml"},
    {"FLEXHOOKS_AMD_POLICY", K_AMD_POLICY, S(amd_hangup_on_machine), NULL, 0, 0,
	"bridge"},
    {"FLEXHOOKS_OUTBOUND_REJECT_ON_FAILURE", K_BOOL,
	S(outbound_reject_on_failure), NULL, 0, 0, "false"},
    {"FLEXHOOKS_LOCATIONS", K_PATH, S(locations_file), NULL, 0, 0, NULL},
    {"FLEXHOOKS_CORS_ORIGINS", K_ORIGINS, S(cors_origins), NULL, 0, 0, "*"},
    {"FLEXHOOKS_HTPASSWD", K_PATH, S(htpasswd), NULL, 0, 0, NULL},
    {"FLEXHOOKS_BASIC_AUTH", K_USERPASS, S(basic_auth), NULL, 0, 0, NULL},
    {"FLEXHOOKS_PORT", K_INT, S(port), NULL, 1, 65535, "8080"},
    {"FLEXHOOKS_PROCESSES", K_INT, S(processes), NULL, 1, 256, "4"},
    {"FLEXHOOKS_LOG_LEVEL", K_LEVEL, S(log_level), NULL, 0, 0, "info"},
    {"FLEXHOOKS_HEALTH_SOCKETS", K_PATH, S(health_sockets), NULL, 0, 0, NULL},
    {"FLEXHOOKS_EVENT_WORKSPACES", K_SIDS, S(event_workspaces), "WS", 0,
	FH_CONFIG_MAX_WORKSPACES, NULL},
    {"FLEXHOOKS_VOICEMAIL_EMAIL_TO", K_EMAILS, S(vm_email_to), NULL,
	FH_MIME_MAX_RCPT, 0, NULL},
    {"FLEXHOOKS_VOICEMAIL_EMAIL_FROM", K_EMAILS, S(vm_email_from), NULL, 1, 0,
	NULL},
    {"FLEXHOOKS_VOICEMAIL_EMAIL_SUBJECT", K_TEXT, S(vm_email_subject), NULL, 1,
	200, "New voicemail from"},
    {"FLEXHOOKS_VOICEMAIL_EMAIL_MAX_MB", K_INT, S(vm_email_max_mb), NULL, 0, 15,
	"10"},
    {"FLEXHOOKS_VOICEMAIL_EMAIL_TRANSCRIPT", K_BOOL, S(vm_email_transcript),
	NULL, 0, 0, "false"},
    {"FLEXHOOKS_SMTP_URL", K_SMTP_URL, S(smtp_url), NULL, 0, 0, NULL},
    {"FLEXHOOKS_SMTP_USER", K_WORD, S(smtp_user), WORDCH "@._+=-", 1, 256,
	NULL},
    {"FLEXHOOKS_SMTP_PASSWORD", K_SECRET, S(smtp_password), NULL, 0, 0, NULL},
    {"FLEXHOOKS_SMTP_CA_FILE", K_PATH, S(smtp_ca_file), NULL, 0, 0, NULL},
    {"FLEXHOOKS_SMTP_RETRY_S", K_INT, S(smtp_retry_s), NULL, 0, 86400, "900"},
};
#undef S

static int
is_loopback_host(const char *h, size_t n)
{
	return (n == 9 && memcmp(h, "localhost", 9) == 0) ||
	    (n >= 4 && memcmp(h, "127.", 4) == 0 &&
		strspn(h, "0123456789.") >= n) ||
	    (n == 5 && memcmp(h, "[::1]", 5) == 0);
}

/* https://host[:port][/prefix], or http:// for loopback hosts only, so
 * that credentials never cross a network in clear text. */
static int
valid_url(const char *s)
{
	const char *host, *end;
	size_t	    len = strlen(s), hl;

	if (len > 1024 || len == 0 || s[len - 1] == '/')
		return 0;
	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else
		return 0;
	end = host + strcspn(host, ":/?#");
	hl = (size_t)(end - host);
	if (hl == 0 && host[0] == '[')
		return 0;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (end == NULL)
			return 0;
		end++;
		hl = (size_t)(end - host);
	}
	if (hl == 0 || strchr(host, '@') != NULL ||
	    strpbrk(s, " \t\r\n\"<>\\?#") != NULL)
		return 0;
	if (s[4] == ':' && !is_loopback_host(host, hl))
		return 0; /* plain http */
	return 1;
}

static int
valid_rules(const char *s)
{
	struct fh_val v;
	const char   *p = s, *comma, *eq;

	while (*p != '\0') {
		comma = strchr(p, ',');
		if (comma == NULL)
			comma = p + strlen(p);
		eq = memchr(p, '=', (size_t)(comma - p));
		if (eq == NULL || !fh_is_sid(p, (size_t)(eq - p), "WQ") ||
		    fh_valid_e164(eq + 1, (size_t)(comma - eq - 1), &v) !=
			FH_OK ||
		    v.len != (size_t)(comma - eq - 1))
			return 0;
		p = *comma == ',' ? comma + 1 : comma;
	}
	return 1;
}

/* The next rule of a FLEXHOOKS_FORWARD_RULES list at *p ("WQ...=+E164"),
 * already validated: queue and number spans; advances *p. */
static void
next_rule(
    const char **p, const char **q, size_t *qlen, const char **n, size_t *nlen)
{
	const char *comma, *eq;

	comma = strchr(*p, ',');
	if (comma == NULL)
		comma = *p + strlen(*p);
	eq = memchr(*p, '=', (size_t)(comma - *p));
	*q = *p;
	*qlen = (size_t)(eq - *p);
	*n = eq + 1;
	*nlen = (size_t)(comma - eq - 1);
	*p = *comma == ',' ? comma + 1 : comma;
}

/* No queue is mapped to two different numbers, across the rule list and
 * the FORWARD_CALL_TASK_QUEUE_SID/FORWARD_TO_NUMBER pair. */
static int
rules_consistent(const struct fh_config *cfg)
{
	const char *p, *r, *q, *n, *q2, *n2;
	size_t	    ql, nl, ql2, nl2;

	if (cfg->forward_rules == NULL)
		return 1;
	for (p = cfg->forward_rules; *p != '\0';) {
		next_rule(&p, &q, &ql, &n, &nl);
		if (cfg->forward_queue_sid != NULL &&
		    strlen(cfg->forward_queue_sid) == ql &&
		    memcmp(cfg->forward_queue_sid, q, ql) == 0 &&
		    (strlen(cfg->forward_to_number) != nl ||
			memcmp(cfg->forward_to_number, n, nl) != 0))
			return 0;
		for (r = p; *r != '\0';) {
			next_rule(&r, &q2, &ql2, &n2, &nl2);
			if (ql == ql2 && memcmp(q, q2, ql) == 0 &&
			    (nl != nl2 || memcmp(n, n2, nl) != 0))
				return 0;
		}
	}
	return 1;
}

static int
valid_origins(const char *s)
{
	const char *p = s, *comma;
	size_t	    n;

	if (strcmp(s, "*") == 0)
		return 1;
	while (*p != '\0') {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n < 8 || memchr(p + 8, '/', n - 8) != NULL ||
		    (strncmp(p, "https://", 8) != 0 &&
			strncmp(p, "http://", 7) != 0))
			return 0;
		if (strcspn(p, " \t\"<>") < n)
			return 0;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 1;
}

/* A comma list of 1..max SIDs with the prefix, each once, no spaces. */
static int
valid_sids(const char *s, const char *prefix, size_t max)
{
	const char *p = s, *comma, *q;
	size_t	    n, count = 0;

	for (;;) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (!fh_is_sid(p, n, prefix) || ++count > max)
			return 0;
		for (q = s; q < p; q += 35) /* the earlier ones, 34 + ',' */
			if (memcmp(q, p, n) == 0)
				return 0;
		if (comma == NULL)
			return 1;
		p = comma + 1;
	}
}

/* smtp://host[:port] or smtps://host[:port], an optional "/name" after
 * it (the EHLO name); no user, password, query or space in the URL: the
 * credentials have settings of their own. */
static int
valid_smtp_url(const char *s)
{
	const char *host;
	size_t	    len = strlen(s), hl;

	if (len > 1024)
		return 0;
	if (strncmp(s, "smtp://", 7) == 0)
		host = s + 7;
	else if (strncmp(s, "smtps://", 8) == 0)
		host = s + 8;
	else
		return 0;
	hl = strcspn(host, ":/");
	if (hl == 0 || strspn(host, WORDCH ".-") < hl)
		return 0;
	if (host[hl] == ':' &&
	    (host[hl + 1] == '\0' ||
		strspn(host + hl + 1, "0123456789") !=
		    strcspn(host + hl + 1, "/")))
		return 0;
	return strpbrk(s, " \t\r\n\"<>\\?#@") == NULL;
}

/* The index of val among the '|'-separated words of list, or -1. */
static int
choice(const char *list, const char *val)
{
	const char *p = list, *bar;
	size_t	    n, len = strlen(val);
	int	    i;

	for (i = 0;; i++) {
		bar = strchr(p, '|');
		n = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (n == len && memcmp(p, val, n) == 0)
			return i;
		if (bar == NULL)
			return -1;
		p = bar + 1;
	}
}

static enum fh_err
apply(struct fh_config *cfg, const struct var *v, const char *val)
{
	char	    **sp = (char **)((char *)cfg + v->off);
	long long    *ip = (long long *)((char *)cfg + v->off);
	int	     *bp = (int *)((char *)cfg + v->off);
	struct fh_val fv;
	size_t	      len = strlen(val);
	long long     n;
	int	      lvl;

	switch (v->kind) {
	case K_INT:
		if (fh_parse_int(val, len, v->min, v->max, &n) != FH_OK)
			return FH_EINPUT;
		*ip = n;
		return FH_OK;
	case K_BOOL:
		if (fh_valid_bool(val, len, &fv) != FH_OK)
			return FH_EINPUT;
		*bp = (int)fv.num;
		return FH_OK;
	case K_AMD_POLICY:
		if (strcmp(val, "bridge") != 0 &&
		    strcmp(val, "hangup-on-machine") != 0)
			return FH_EINPUT;
		*bp = strcmp(val, "hangup-on-machine") == 0;
		return FH_OK;
	case K_REDIRECT_MODE:
		if (strcmp(val, "twiml") != 0 && strcmp(val, "url") != 0)
			return FH_EINPUT;
		*bp = strcmp(val, "url") == 0;
		return FH_OK;
	case K_CHOICE:
		lvl = choice(v->arg, val);
		if (lvl < 0)
			return FH_EINPUT;
		*bp = lvl;
		return FH_OK;
	case K_LEVEL:
		lvl = fh_log_level_parse(val);
		if (lvl < 0)
			return FH_EINPUT;
		*bp = lvl;
		return FH_OK;
	case K_SID:
		if (!fh_is_sid(val, len, v->arg))
			return FH_EINPUT;
		break;
	case K_SECRET:
		if (len > 256 ||
		    strspn(val,
			"!#$%&'()*+,-./0123456789:;=?@"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`"
			"abcdefghijklmnopqrstuvwxyz"
			"{|}~") != len)
			return FH_EINPUT;
		break;
	case K_WORD:
		if (len < (size_t)v->min || len > (size_t)v->max ||
		    strspn(val, v->arg) != len)
			return FH_EINPUT;
		break;
	case K_URL:
		if (!valid_url(val))
			return FH_EINPUT;
		break;
	case K_E164:
		if (fh_valid_e164(val, len, &fv) != FH_OK || fv.len != len)
			return FH_EINPUT;
		break;
	case K_PATH:
		if (len > 4096 || strpbrk(val, "\r\n") != NULL)
			return FH_EINPUT;
		break;
	case K_RULES:
		if (!valid_rules(val))
			return FH_EINPUT;
		break;
	case K_ORIGINS:
		if (!valid_origins(val))
			return FH_EINPUT;
		break;
	case K_USERPASS:
		if (len > 256 || strchr(val, ':') == NULL || val[0] == ':' ||
		    strspn(val, WORDCH "-._~:") != len ||
		    strchr(strchr(val, ':') + 1, ':') != NULL)
			return FH_EINPUT;
		break;
	case K_SIDS:
		if (!valid_sids(val, v->arg, (size_t)v->max))
			return FH_EINPUT;
		break;
	case K_TEXT:
		if (len < (size_t)v->min || len > (size_t)v->max ||
		    !fh_utf8_valid(val, len) || fh_has_control(val, len))
			return FH_EINPUT;
		break;
	case K_SMTP_URL:
		if (!valid_smtp_url(val))
			return FH_EINPUT;
		break;
	case K_EMAILS: {
		struct fh_mime_addr a[FH_MIME_MAX_RCPT];
		size_t		    na;

		/* min: how many addresses the setting takes at most */
		if (fh_mime_addrs(val, len, a, &na) != FH_OK ||
		    na > (size_t)v->min)
			return FH_EINPUT;
		break;
	}
	case K__MAX:
		return FH_EINTERNAL;
	}
	free(*sp);
	*sp = strdup(val);
	return *sp != NULL ? FH_OK : FH_ENOMEM;
}

static enum fh_err
file_set(const char *key, const char *value, void *arg)
{
	struct fh_form *f = arg;

	return fh_form_push(f, key, strlen(key), value, strlen(value));
}

/* Read a file into out.  With private set, a regular file that other
 * users can read or write is refused (*exposed set): it holds secrets. */
static enum fh_err
read_file(const char *path, int must_exist, int private, int *exposed,
    struct fh_buf *out)
{
	char	    chunk[4096];
	struct stat st;
	ssize_t	    n;
	int	    fd;
	enum fh_err err = FH_OK;

	if (exposed != NULL)
		*exposed = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return (errno == ENOENT && !must_exist) ? FH_OK : FH_ECONFIG;
	if (private && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
		if (exposed != NULL)
			*exposed = 1;
		close(fd);
		return FH_ECONFIG;
	}
	while (err == FH_OK && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = FH_ECONFIG;
			break;
		}
		err = fh_buf_add(out, chunk, (size_t)n);
	}
	close(fd);
	fh_bzero(chunk, sizeof(chunk));
	return err;
}

/* An attribute path: names joined by dots, none empty ("a.b", not ".a",
 * "a..b" or "a."), which would never match an attribute. */
static int
dotted_path(const char *p)
{
	if (p == NULL)
		return 1;
	return p[0] != '.' && p[0] != '\0' && p[strlen(p) - 1] != '.' &&
	    strstr(p, "..") == NULL;
}

/* An IANA zone name such as America/Chicago (not a POSIX TZ rule). */
static int
iana_zone(const char *tz)
{
	size_t n;

	if (tz == NULL)
		return 0;
	if (tz[0] == ':')
		tz++;
	n = strlen(tz);
	return n > 0 && n <= 64 && (tz[0] >= 'A' && tz[0] <= 'Z') &&
	    strspn(tz, WORDCH "/_+-") == n && strchr(tz, '/') != NULL;
}

/* FLEXHOOKS_ANNOUNCE: "position" and "wait", comma-separated, each at
 * most once; sets the two flags.  0 when another word is there. */
static int
announce_list(struct fh_config *cfg)
{
	const char *p = cfg->announce, *comma;
	size_t	    n;

	cfg->announce_position = cfg->announce_wait = 0;
	if (p == NULL)
		return 1;
	for (;;) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n == 8 && memcmp(p, "position", 8) == 0 &&
		    !cfg->announce_position)
			cfg->announce_position = 1;
		else if (n == 4 && memcmp(p, "wait", 4) == 0 &&
		    !cfg->announce_wait)
			cfg->announce_wait = 1;
		else
			return 0;
		if (comma == NULL)
			return 1;
		p = comma + 1;
	}
}

static void set_err(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * How many bits of guessing the password of a user:password pair is worth:
 * length x log2(alphabet), the alphabet being the union of the character
 * classes the password uses (26 lower, 26 upper, 10 digits, the 4 of
 * "-._~"), with log2 rounded down, so the estimate errs low.  It is what a
 * random string of that shape would be worth; a word with digits tacked on
 * is worth far less, which is why weak_password() also asks for length and
 * variety.  *len gets the password's length, *distinct its number of
 * different characters.
 */
static unsigned
password_bits(const char *userpass, size_t *len, size_t *distinct)
{
	const unsigned char *pw;
	unsigned char	     seen[256] = {0};
	unsigned	     pool, cls = 0, l2 = 0;
	size_t		     i;

	pw = (const unsigned char *)strchr(userpass, ':');
	pw = pw != NULL ? pw + 1 : (const unsigned char *)userpass;
	*len = strlen((const char *)pw);
	*distinct = 0;
	for (i = 0; i < *len; i++) {
		if (seen[pw[i]] == 0)
			(*distinct)++;
		seen[pw[i]] = 1;
		if (pw[i] >= 'a' && pw[i] <= 'z')
			cls |= 1;
		else if (pw[i] >= 'A' && pw[i] <= 'Z')
			cls |= 2;
		else if (pw[i] >= '0' && pw[i] <= '9')
			cls |= 4;
		else
			cls |= 8;
	}
	pool = ((cls & 1) ? 26 : 0) + ((cls & 2) ? 26 : 0) +
	    ((cls & 4) ? 10 : 0) + ((cls & 8) ? 4 : 0);
	for (; pool >= 2; pool /= 2)
		l2++;
	return (unsigned)(l2 * *len);
}

/*
 * FLEXHOOKS_BASIC_AUTH guards the Twilio-facing routes, which nginx does
 * not rate-limit (a limit keyed by client address throttles Twilio's own
 * webhooks, which come from a shared pool of addresses).  The defence
 * against guessing is therefore the password itself: at least
 * FH_CONFIG_MIN_PASSWORD characters, FH_CONFIG_MIN_PASSWORD_BITS bits by
 * password_bits() and 8 different characters.  'openssl rand -hex 16'
 * gives 32 characters worth 160 bits by this estimate (128 in truth): at
 * a million guesses a second, longer than the age of the universe.
 */
static int
weak_password(const char *userpass, size_t *len, unsigned *bits)
{
	size_t distinct;

	*bits = password_bits(userpass, len, &distinct);
	return *len < FH_CONFIG_MIN_PASSWORD ||
	    *bits < FH_CONFIG_MIN_PASSWORD_BITS || distinct < 8;
}

static void
set_err(char *errmsg, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	if (vsnprintf(errmsg, errlen, fmt, ap) < 0)
		errmsg[0] = '\0';
	va_end(ap);
}

enum fh_err
fh_config_load(struct fh_config *cfg, const char *(*getenv_fn)(const char *),
    char *errmsg, size_t errlen)
{
	struct fh_form	      file;
	struct fh_buf	      text;
	const struct fh_pair *p;
	const char	     *path, *val, *tz;
	size_t		      i, lineno, pwlen;
	unsigned	      pwbits;
	int		      exposed = 0;
	enum fh_err	      err = FH_OK;
	char		      hold[1100];

	memset(cfg, 0, sizeof(*cfg));
	fh_form_init(&file);
	fh_buf_init(&text, FH_CONFIG_MAX_FILE);
	text.secret = 1;
	if (getenv_fn == NULL)
		getenv_fn = (const char *(*)(const char *))getenv;
	if (errlen > 0)
		errmsg[0] = '\0';

	/* the file first, so that the environment can win below */
	path = getenv_fn("FLEXHOOKS_CONFIG");
	err = read_file(path != NULL && path[0] != '\0'
		? path
		: "/etc/flexhooks/flexhooks.env",
	    path != NULL && path[0] != '\0', 1, &exposed, &text);
	if (err != FH_OK && exposed) {
		set_err(errmsg, errlen,
		    "configuration file '%s' is readable "
		    "or writable by other users (it holds secrets: chmod 0640)",
		    path != NULL && path[0] != '\0'
			? path
			: "/etc/flexhooks/flexhooks.env");
		goto out;
	}
	if (err != FH_OK) {
		set_err(errmsg, errlen, "cannot read configuration file '%s'",
		    path != NULL ? path : "");
		goto out;
	}
	err =
	    fh_kv_parse(fh_buf_cstr(&text), text.len, file_set, &file, &lineno);
	if (err != FH_OK) {
		set_err(errmsg, errlen, "invalid configuration file line %zu",
		    lineno);
		err = FH_ECONFIG;
		goto out;
	}

	for (i = 0; i < FH_NITEMS(vars); i++) {
		val = getenv_fn(vars[i].name);
		if (val == NULL ||
		    (val[0] == '\0' &&
			vars[i].off !=
			    offsetof(struct fh_config, amd_speech_threshold))) {
			p = fh_form_get(&file, vars[i].name);
			val = p != NULL ? p->value : NULL;
		}
		if (val != NULL && val[0] == '\0' &&
		    vars[i].off ==
			offsetof(struct fh_config, amd_speech_threshold)) {
			cfg->amd_speech_threshold = 0; /* empty: not sent */
			continue;
		}
		if (val == NULL || val[0] == '\0')
			val = vars[i].def;
		if (val == NULL)
			continue;
		err = apply(cfg, &vars[i], val);
		if (err != FH_OK && vars[i].kind == K_CHOICE) {
			/* the words are no secret: name them */
			set_err(errmsg, errlen,
			    "invalid value for '%s' (one "
			    "of: %s)",
			    vars[i].name, vars[i].arg);
			err = FH_ECONFIG;
			goto out;
		}
		if (err != FH_OK) {
			set_err(errmsg, errlen, "invalid value for '%s'",
			    vars[i].name);
			err = FH_ECONFIG;
			goto out;
		}
	}

	if (cfg->basic_auth != NULL &&
	    weak_password(cfg->basic_auth, &pwlen, &pwbits)) {
		set_err(errmsg, errlen,
		    "weak password in 'FLEXHOOKS_BASIC_AUTH'"
		    " (%zu characters, about %u bits; want %d characters, %d "
		    "bits, 8 different): make one with 'openssl rand -hex 16'",
		    pwlen, pwbits, FH_CONFIG_MIN_PASSWORD,
		    FH_CONFIG_MIN_PASSWORD_BITS);
		err = FH_ECONFIG;
		goto out;
	}

	if (!announce_list(cfg)) {
		set_err(errmsg, errlen,
		    "invalid value for '%s' (a comma list "
		    "of: position, wait)",
		    "FLEXHOOKS_ANNOUNCE");
		err = FH_ECONFIG;
		goto out;
	}

	/* derived defaults */
	if (cfg->event_deadline_ms == 0)
		cfg->event_deadline_ms = cfg->deadline_ms;
	if (cfg->min_backoff_ms > cfg->max_backoff_ms) {
		set_err(errmsg, errlen, "invalid value for '%s'",
		    "TWILIO_SERVICE_MIN_BACKOFF");
		err = FH_ECONFIG;
		goto out;
	}
	if ((cfg->forward_queue_sid == NULL) !=
	    (cfg->forward_to_number == NULL)) {
		/* both or neither: name the one that is missing */
		set_err(errmsg, errlen, "invalid value for '%s'",
		    cfg->forward_queue_sid == NULL
			? "FORWARD_CALL_TASK_QUEUE_SID"
			: "FORWARD_TO_NUMBER");
		err = FH_ECONFIG;
		goto out;
	}
	if (!rules_consistent(cfg)) {
		set_err(errmsg, errlen, "invalid value for '%s'",
		    "FLEXHOOKS_FORWARD_RULES");
		err = FH_ECONFIG;
		goto out;
	}
	if (!dotted_path(cfg->outbound_to_attribute) ||
	    !dotted_path(cfg->outbound_from_attribute)) {
		set_err(errmsg, errlen, "invalid value for '%s'",
		    !dotted_path(cfg->outbound_to_attribute)
			? "FLEXHOOKS_OUTBOUND_TO_ATTRIBUTE"
			: "FLEXHOOKS_OUTBOUND_FROM_ATTRIBUTE");
		err = FH_ECONFIG;
		goto out;
	}
	if (cfg->event_workspaces != NULL) {
		memcpy(cfg->event_workspace1, cfg->event_workspaces, 34);
		cfg->event_workspace1[34] = '\0';
	}
	if (cfg->inbound_workflow_sid == NULL &&
	    cfg->callback_workflow_sid != NULL) {
		cfg->inbound_workflow_sid = strdup(cfg->callback_workflow_sid);
		if (cfg->inbound_workflow_sid == NULL) {
			err = FH_ENOMEM;
			goto out;
		}
	}
	if (cfg->main_timezone == NULL) {
		tz = getenv_fn("TZ");
		if (!iana_zone(tz))
			tz = "UTC";
		else if (tz[0] == ':')
			tz++;
		cfg->main_timezone = strdup(tz);
		if (cfg->main_timezone == NULL) {
			err = FH_ENOMEM;
			goto out;
		}
	}
	if (cfg->hold_music_url == NULL && cfg->public_url != NULL) {
		if (snprintf(hold, sizeof(hold), "%s/assets/hold-music.wav",
			cfg->public_url) >= (int)sizeof(hold)) {
			set_err(errmsg, errlen, "invalid value for '%s'",
			    "FLEXHOOKS_PUBLIC_URL");
			err = FH_ECONFIG;
			goto out;
		}
		cfg->hold_music_url = strdup(hold);
		if (cfg->hold_music_url == NULL) {
			err = FH_ENOMEM;
			goto out;
		}
	}
	if (cfg->vm_email_to != NULL &&
	    (cfg->vm_email_from == NULL || cfg->smtp_url == NULL)) {
		/* email is on: it needs a sender and a server */
		set_err(errmsg, errlen, "missing required setting '%s'",
		    cfg->vm_email_from == NULL
			? "FLEXHOOKS_VOICEMAIL_EMAIL_FROM"
			: "FLEXHOOKS_SMTP_URL");
		err = FH_ECONFIG;
		goto out;
	}
	if (cfg->prompts_file != NULL) {
		fh_buf_reset(&text);
		err = read_file(cfg->prompts_file, 1, 0, NULL, &text);
		if (err != FH_OK) {
			set_err(errmsg, errlen, "cannot read prompts file '%s'",
			    cfg->prompts_file);
			goto out;
		}
		err = fh_prompts_parse(
		    fh_buf_cstr(&text), text.len, cfg->prompts, &lineno);
		if (err != FH_OK) {
			set_err(errmsg, errlen, "invalid prompts file line %zu",
			    lineno);
			err = FH_ECONFIG;
			goto out;
		}
	}
out:
	for (i = 0; i < file.n; i++)
		fh_bzero(file.pairs[i].value, file.pairs[i].vlen);
	fh_form_release(&file);
	fh_buf_release(&text);
	if (err != FH_OK)
		fh_config_release(cfg);
	return err;
}

enum fh_err
fh_config_require(
    const struct fh_config *cfg, unsigned need, char *errmsg, size_t errlen)
{
	const char *missing = NULL;

	if ((need & FH_NEED_REST) && cfg->account_sid == NULL)
		missing = "ACCOUNT_SID";
	else if ((need & FH_NEED_REST) && cfg->auth_token == NULL &&
	    (cfg->api_key == NULL || cfg->api_secret == NULL))
		missing = "AUTH_TOKEN";
	else if ((need & FH_NEED_SIGNATURE) && cfg->auth_token == NULL)
		missing = "AUTH_TOKEN";
	else if ((need & FH_NEED_SIGNATURE) && cfg->public_url == NULL)
		missing = "FLEXHOOKS_PUBLIC_URL";
	else
		missing = fh_config_unconfigured(cfg, need);
	if (missing == NULL)
		return FH_OK;
	set_err(errmsg, errlen, "missing required setting '%s'", missing);
	return FH_ECONFIG;
}

const char *
fh_config_unconfigured(const struct fh_config *cfg, unsigned need)
{
	if ((need & FH_NEED_FLEX) && cfg->workspace_sid == NULL)
		return "TWILIO_FLEX_WORKSPACE_SID";
	if ((need & FH_NEED_WORKSPACE) && cfg->workspace_sid == NULL &&
	    cfg->event_workspaces == NULL)
		return "FLEXHOOKS_EVENT_WORKSPACES";
	if ((need & FH_NEED_CALLBACK_WF) && cfg->callback_workflow_sid == NULL)
		return "TWILIO_FLEX_CALLBACK_WORKFLOW_SID";
	return NULL;
}

int
fh_config_workspace_ok(const struct fh_config *cfg, const char *ws)
{
	const char *p;
	size_t	    n;

	if (ws == NULL || strlen(ws) != 34)
		return 0;
	if (cfg->workspace_sid != NULL && strcmp(cfg->workspace_sid, ws) == 0)
		return 1;
	/* validated at load: 34-character SIDs joined by ',' */
	for (p = cfg->event_workspaces; p != NULL && *p != '\0'; p += n) {
		n = strcspn(p, ",");
		if (n == 34 && memcmp(p, ws, 34) == 0)
			return 1;
		if (p[n] == ',')
			n++;
	}
	return 0;
}

const char *
fh_config_default_workspace(const struct fh_config *cfg)
{
	if (cfg->workspace_sid != NULL)
		return cfg->workspace_sid;
	if (cfg->event_workspace1[0] == '\0')
		return NULL;
	return cfg->event_workspace1;
}

void
fh_config_release(struct fh_config *cfg)
{
	size_t i;
	char **sp;

	for (i = 0; i < FH_NITEMS(vars); i++) {
		switch (vars[i].kind) {
		case K_INT:
		case K_BOOL:
		case K_LEVEL:
		case K_AMD_POLICY:
		case K_REDIRECT_MODE:
		case K_CHOICE:
			continue;
		default:
			break;
		}
		sp = (char **)((char *)cfg + vars[i].off);
		if (vars[i].kind == K_SECRET || vars[i].kind == K_USERPASS)
			fh_free_secret(*sp);
		else
			free(*sp);
		*sp = NULL;
	}
	fh_prompts_release(cfg->prompts);
	memset(cfg, 0, sizeof(*cfg));
}
