/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - flexhooks settings, loaded once at start-up.
 *
 * fh_config_load() reads every variable of the spec's configuration table
 * from the environment, then from the KEY=VALUE file named by
 * FLEXHOOKS_CONFIG (default /etc/flexhooks/flexhooks.env; a missing default
 * file is fine, a missing named file is not).  The environment wins.  Every
 * value is validated; the first bad one fails the load with a message that
 * names the key (never the value: it may be a secret).  A weak
 * FLEXHOOKS_BASIC_AUTH password (shorter than FH_CONFIG_MIN_PASSWORD, under
 * FH_CONFIG_MIN_PASSWORD_BITS, fewer than 8 different characters) fails
 * the load too: nothing else stops a password guesser.  Strings in the
 * struct are owned by it and freed by fh_config_release(), which zeroes the
 * secrets first.  A NULL string means unset.
 */
#ifndef FH_CONFIG_H
#define FH_CONFIG_H

#include <stddef.h>

#include "lib/err.h"
#include "lib/prompts.h"

#define FH_CONFIG_MAX_FILE (256 * 1024)
/* FLEXHOOKS_BASIC_AUTH's password: the load fails below these */
#define FH_CONFIG_MIN_PASSWORD 16      /* characters */
#define FH_CONFIG_MIN_PASSWORD_BITS 80 /* length x log2(alphabet) */
#define FH_CONFIG_MAX_WORKSPACES 16    /* FLEXHOOKS_EVENT_WORKSPACES */

struct fh_config {
	char	 *account_sid;
	char	 *auth_token;  /* secret */
	char	 *auth_token2; /* secret: FLEXHOOKS_AUTH_TOKEN_SECONDARY */
	char	 *api_key;
	char	 *api_secret; /* secret */
	char	 *workspace_sid;
	char	 *callback_workflow_sid;
	char	 *inbound_workflow_sid; /* defaults to callback_workflow_sid */
	char	 *inbound_greeting;	/* /incoming-call <Say>, NULL: none */
	int	  inbound_add_location; /* location attributes on the task */
	char	 *main_timezone;	/* defaults to $TZ if IANA, else UTC */
	char	 *region;
	char	 *edge;
	long long retry_limit;	     /* 0..20, default 5 */
	long long min_backoff_ms;    /* default 100 */
	long long max_backoff_ms;    /* default 2000 */
	long long deadline_ms;	     /* 1000..12000, default 8000 */
	long long event_deadline_ms; /* default deadline_ms */
	char	 *public_url;	     /* no trailing '/' */
	char	 *api_url;	     /* base URLs, derived unless overridden */
	char	 *taskrouter_url;
	char	 *iam_url;
	char	 *say_voice; /* default Polly.Joanna */
	char	 *say_language;
	char	 *hold_music_url;
	char	 *prompts_file;
	char	 *prompts[FH_PR__MAX];	 /* FLEXHOOKS_PROMPTS texts; NULL =
					  * the built-in default */
	long long task_lookup_page_size; /* 1..1000, default 50 */
	int	  allow_alternate_number;
	int	  allow_voicemail;
	long long voicemail_max_length; /* 2..3600, default 120 */
	char	 *announce;		/* FLEXHOOKS_ANNOUNCE as given */
	int	  announce_position;	/* "position" in FLEXHOOKS_ANNOUNCE */
	int	  announce_wait;	/* "wait" in FLEXHOOKS_ANNOUNCE */
	long long announce_every_s;	/* 10..3600, default 120 */
	long long offer_after_s;	/* offer "*" past this estimate; 0 =
					 * no threshold */
	long long offer_position;	/* ... or from this position; 0 = no
					 * threshold */
	long long queue_stats_cache_s;	/* 1..600, default 30 */
	char	 *forward_queue_sid;
	char	 *forward_to_number;
	char	 *forward_rules;
	int	  attribute_style; /* FLEXHOOKS_ATTRIBUTE_STYLE: enum
				    * fh_attr_style (0 template, 1
				    * plugin-library) */
	int followup_workflow;	   /* FLEXHOOKS_FOLLOWUP_WORKFLOW: 0
				    * original, 1 callback */
	char	 *outbound_to_attribute;
	char	 *outbound_from_attribute;
	long long amd_speech_threshold; /* 0 = not sent */
	char	 *redirect_caller_id;	/* <Dial callerId>, E.164 */
	long long redirect_timeout;	/* <Dial timeout>, 5..600; 0 = unset */
	char	 *redirect_action;	/* <Dial action>, absolute https URL */
	int	  redirect_mode_url;	/* FLEXHOOKS_REDIRECT_MODE: 0 twiml
					 * (inline Twiml), 1 url (Url and
					 * Method=GET) */
	int amd_hangup_on_machine;	/* FLEXHOOKS_AMD_POLICY: 0 bridge,
					 * 1 hangup-on-machine */
	int	  outbound_reject_on_failure;
	char	 *locations_file;
	char	 *cors_origins; /* default "*" */
	char	 *htpasswd;
	char	 *basic_auth; /* secret: user:password */
	long long port;
	long long processes;	    /* FastCGI processes per program, 1..256 */
	int	  log_level;	    /* enum fh_log_level */
	char	 *health_sockets;   /* healthz: colon-separated sockets */
	char	 *event_workspaces; /* FLEXHOOKS_EVENT_WORKSPACES: WS SIDs,
				     * comma-separated, each once */
	char event_workspace1[35];  /* the first of them, "" if none */
	/* voicemail by email (vmail.h); off while vm_email_to is NULL */
	char	 *vm_email_to;	       /* comma-separated addresses */
	char	 *vm_email_from;       /* one address */
	char	 *vm_email_subject;    /* UTF-8, before the caller's number */
	long long vm_email_max_mb;     /* attachment cap, 0..15, default 10 */
	int	  vm_email_transcript; /* a second message with the text */
	char	 *smtp_url;	       /* smtp://host[:port] or smtps:// */
	char	 *smtp_user;
	char	 *smtp_password; /* secret */
	char	 *smtp_ca_file;	 /* CA bundle for the server's cert */
	long long smtp_retry_s;	 /* retry window, default 900 */
};

/* Load the configuration into cfg (which the caller provides).  On failure
 * the message naming the bad key is written to errmsg (a buffer of errlen
 * bytes) and cfg is released.  getenv_fn lets tests supply an environment:
 * NULL means getenv(). */
enum fh_err fh_config_load(struct fh_config *cfg,
    const char *(*getenv_fn)(const char *name), char *errmsg,
    size_t errlen) FH_MUST_CHECK;

/* Free everything cfg owns, zeroing secrets. */
void fh_config_release(struct fh_config *cfg);

/* Check that the settings a program needs are present: the signature key
 * when it serves a signature route, the REST credentials, the Flex
 * workspace, a workspace to serve, the callback workflow for
 * create-callback.  Message in errmsg. */
#define FH_NEED_SIGNATURE 0x1
#define FH_NEED_CALLBACK_WF 0x2 /* TWILIO_FLEX_CALLBACK_WORKFLOW_SID */
#define FH_NEED_REST 0x4	/* ACCOUNT_SID and a secret */
#define FH_NEED_FLEX 0x8	/* TWILIO_FLEX_WORKSPACE_SID */
#define FH_NEED_WORKSPACE \
	0x10 /* the Flex workspace or \
	      * FLEXHOOKS_EVENT_WORKSPACES */
/* The needs a program can start without: it answers 503 "not configured:
 * <variable>" instead (fh_config_unconfigured()). */
#define FH_NEED_FEATURES \
	(FH_NEED_CALLBACK_WF | FH_NEED_FLEX | FH_NEED_WORKSPACE)
enum fh_err fh_config_require(const struct fh_config *cfg, unsigned need,
    char *errmsg, size_t errlen) FH_MUST_CHECK;

/* The first variable of the FH_NEED_FEATURES needs in need that cfg
 * lacks ("TWILIO_FLEX_WORKSPACE_SID"), or NULL when none is missing.
 * Static string. */
const char *fh_config_unconfigured(const struct fh_config *cfg, unsigned need);

/* 1 when ws is a workspace whose events and REST calls flexhooks serves:
 * TWILIO_FLEX_WORKSPACE_SID or one of FLEXHOOKS_EVENT_WORKSPACES.  NULL
 * is 0. */
int fh_config_workspace_ok(const struct fh_config *cfg, const char *ws);

/* The workspace of a request that names none: the Flex workspace, else
 * the first of FLEXHOOKS_EVENT_WORKSPACES, else NULL.  Borrowed from
 * cfg. */
const char *fh_config_default_workspace(const struct fh_config *cfg);

#endif
