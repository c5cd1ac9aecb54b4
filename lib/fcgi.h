/*
 * fcgi.h - requests, responses, routes and the serve loop.
 *
 * fh_req_parse() turns a FastCGI parameter block (the "KEY=VALUE" strings of
 * FCGX_Request.envp) and a body already read into a struct fh_req: method,
 * path, query and body pairs, the headers that matter, the raw body.  An
 * optional header that is oversize (or, for the idempotency token, not
 * printable ASCII) counts as absent.  It copies everything, so nothing
 * borrowed from libfcgi survives FCGX_Finish_r().  Hard caps: FH_REQ_MAX_BODY
 * for the body (413), the form caps of form.h for pairs and values (413 for too
 * many or too big, 400 for a malformed escape), FH_REQ_MAX_QUERY for the query
 * string.
 *
 * A handler fills a struct fh_resp: status, up to FH_RESP_MAX_HEADERS
 * headers and a body.  fh_serve() (the only code that touches FCGX streams)
 * reads the request, checks the route's method and security, runs the
 * handler, writes the response and logs the access line.
 */
#ifndef FH_FCGI_H
#define FH_FCGI_H

#include <stddef.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/err.h"
#include "lib/form.h"
#include "lib/log.h"
#include "lib/rest.h"

#define FH_REQ_MAX_BODY (64 * 1024)
#define FH_REQ_MAX_QUERY (16 * 1024)
#define FH_REQ_MAX_PARAM (16 * 1024) /* any other CGI parameter */
#define FH_REQ_MAX_IDEM_TOKEN 256    /* I-Twilio-Idempotency-Token */
#define FH_RESP_MAX_HEADERS 12
#define FH_RESP_MAX_BODY (24 * 1024 * 1024)

enum fh_method {
	FH_M_UNKNOWN = 0,
	FH_M_GET,
	FH_M_POST,
	FH_M_OPTIONS,
	FH_M_HEAD,
	FH_M_PUT,
	FH_M_DELETE,
	FH_M_PATCH,
	FH_M__MAX
};

#define FH_ALLOW_GET (1u << FH_M_GET)
#define FH_ALLOW_POST (1u << FH_M_POST)
#define FH_ALLOW_OPTIONS (1u << FH_M_OPTIONS)
#define FH_ALLOW_HEAD (1u << FH_M_HEAD) /* nginx drops the body */
/* Not a method: a route flag in the same mask.  The body must be
 * application/x-www-form-urlencoded; any other body (JSON, another type,
 * none) cannot be authenticated and answers 400 before the security
 * check (taskrouter-events.md section 2.1). */
#define FH_ROUTE_FORM_ONLY (1u << 16)

enum fh_body_kind { FH_BODY_NONE = 0, FH_BODY_FORM, FH_BODY_JSON };

struct fh_req {
	enum fh_method method;
	char	      *method_str;
	char	      *path;	    /* DOCUMENT_URI or REQUEST_URI up to '?' */
	char	      *request_uri; /* as received, still encoded */
	char	      *query_string;
	char	      *content_type;
	char	      *signature;     /* X-Twilio-Signature */
	char	      *authorization; /* secret: zeroed on release */
	char	      *origin;
	char	      *accept;
	char	      *request_id;
	/* I-Twilio-Idempotency-Token: printable ASCII, at most
	 * FH_REQ_MAX_IDEM_TOKEN bytes; NULL when absent or invalid */
	char *idem_token;
	int   basic_verified; /* nginx's FLEXHOOKS_BASIC_VERIFIED=1 */
	enum fh_body_kind body_kind;
	struct fh_buf	  body;	     /* raw body */
	struct fh_form	  query;     /* decoded query pairs */
	struct fh_form	  form;	     /* decoded form pairs (form bodies) */
	struct fh_form	  params;    /* body pairs, then query pairs */
	enum fh_err	  parse_err; /* first problem found, FH_OK if none */
};

struct fh_dedupe;

struct fh_header {
	char *name;
	char *value;
};

/*
 * Where a streamed answer goes: set by the server (fh_serve() points it at
 * the FastCGI output) before the handler runs, NULL when nothing can be
 * streamed (tests that want buffered answers).  A handler never writes to
 * it directly: fh_resp_stream_begin() and fh_resp_stream_write() do.
 */
struct fh_resp_sink {
	enum fh_err (*write)(void *arg, const char *p, size_t n);
	void *arg;
};

struct fh_resp {
	int		 status;
	const char	*content_type; /* static string or NULL */
	struct fh_header headers[FH_RESP_MAX_HEADERS];
	size_t		 nheaders;
	struct fh_buf	 body;
	/* streaming (fh_resp_stream_begin()); all zero otherwise */
	const struct fh_resp_sink *sink;     /* borrowed; may be NULL */
	int			   streamed; /* the head went out: the answer is
					      * fixed, and an error can only cut
					      * it short */
	unsigned long long stream_length;    /* its Content-Length */
	unsigned long long stream_sent;	     /* body bytes written so far */
};

/* What an accepted Flex token says about the agent (token.h). */
struct fh_token_info {
	char identity[256];
	char worker_sid[40];
	char roles[256]; /* comma-separated */
};

struct fh_ctx;

/* Work a handler leaves for after its answer has been written (and the
 * FastCGI request finished), so that nothing slow delays the answer: fn
 * runs with a copy of arg.  See fh_ctx_after(). */
#define FH_CTX_MAX_AFTER 4
#define FH_CTX_AFTER_ARG 64
struct fh_after {
	void (*fn)(struct fh_ctx *, const char *arg);
	char arg[FH_CTX_AFTER_ARG];
};

/* The per-process context every handler gets.  Borrowed by handlers. */
struct fh_ctx {
	const char	       *prog;
	const struct fh_config *cfg;
	struct fh_rest	       *rest;
	struct fh_log		log;
	const char	       *auth_used;   /* for the access line */
	long			deadline_ms; /* per request */
	/* the Flex token check (token.c); NULL denies flex routes */
	enum fh_err (*token_check)(struct fh_ctx *, const struct fh_req *);
	struct fh_token_info token; /* valid after the check */
	/* a setting of a feature the program needs but lacks
	 * (fh_config_unconfigured()): every route answers 503 "not
	 * configured: <variable>"; NULL when all is set */
	const char *unconfigured;
	/* the workspace of the current request's TaskRouter calls (an event's
	 * own, borrowed for the request); NULL: fh_config_default_workspace()
	 */
	const char *workspace;
	/* the program's table of webhook deliveries (dedupe.h), shared by
	 * its processes; NULL: no deduplication */
	struct fh_dedupe *dedupe;
	struct fh_after	  after[FH_CTX_MAX_AFTER];
	size_t		  nafter; /* jobs of this request */
};

enum fh_auth {
	FH_AUTH_UNSET = 0, /* denies everything */
	FH_AUTH_PUBLIC,
	FH_AUTH_TWILIO_SIG,
	FH_AUTH_TWILIO_SIG_BASIC,
	FH_AUTH_SIG_OR_BASIC,
	FH_AUTH_FLEX_TOKEN,
	FH_AUTH__MAX
};

typedef enum fh_err (*fh_handler)(
    struct fh_ctx *, const struct fh_req *, struct fh_resp *);

struct fh_route {
	const char  *path;
	enum fh_auth auth;
	unsigned     methods; /* FH_ALLOW_* */
	fh_handler   handler;
};

void fh_req_init(struct fh_req *req);
void fh_req_release(struct fh_req *req);

/* Fill req from the NULL-terminated "KEY=VALUE" array envp and the body
 * bytes body[0..len).  Returns the first problem (also kept in
 * req->parse_err): FH_ETOOBIG, FH_EINPUT, FH_EMEDIA or FH_ENOMEM.  The
 * request is usable for logging even on failure. */
enum fh_err fh_req_parse(struct fh_req *req, char *const *envp,
    const char *body, size_t len) FH_MUST_CHECK;

/* Look a parameter up in the merged params (body wins), or NULL. */
const char *fh_req_param(const struct fh_req *req, const char *name);

/* Find the value of name in envp (borrowed from envp), or NULL. */
const char *fh_env_get(char *const *envp, const char *name);

void fh_resp_init(struct fh_resp *resp);
void fh_resp_release(struct fh_resp *resp);

/* Add a header (both strings copied). */
enum fh_err fh_resp_header(
    struct fh_resp *resp, const char *name, const char *value) FH_MUST_CHECK;

/* The header's value or NULL. */
const char *fh_resp_get_header(const struct fh_resp *resp, const char *name);

/* Answer with the serialised json-c object obj (borrowed) and status. */
struct json_object;
enum fh_err fh_resp_json(
    struct fh_resp *resp, int status, struct json_object *obj) FH_MUST_CHECK;

/* Answer with the README's JSON error body for err: {"success":false,
 * "message":...,"code":...,"more_info":...}.  message NULL means
 * fh_strerror(err); tw (may be NULL) supplies Twilio's code, more_info and
 * Retry-After.  Any earlier body and headers other than CORS ones are
 * dropped. */
struct fh_twerr;
enum fh_err fh_resp_error(struct fh_resp *resp, enum fh_err err,
    const char *message, const struct fh_twerr *tw);

/* Start a streamed answer of exactly length body bytes: the head (status,
 * content type, headers, Content-Length: length) is written to resp->sink
 * at once, and resp->streamed is set.  Nothing about the answer can change
 * afterwards.  FH_EINTERNAL without a sink, when already streaming or
 * without a status; the sink's error when it fails. */
enum fh_err fh_resp_stream_begin(
    struct fh_resp *resp, unsigned long long length) FH_MUST_CHECK;

/* Write the next body bytes of a streamed answer (p borrowed).
 * FH_EINTERNAL before fh_resp_stream_begin() or past length; the sink's
 * error (the client went away) when it fails. */
enum fh_err fh_resp_stream_write(
    struct fh_resp *resp, const char *p, size_t n) FH_MUST_CHECK;

/* 1 when a streamed answer is short of its length (a transfer cut in the
 * middle): the server then breaks the connection instead of ending the
 * answer, so the client sees a failed transfer, never a short file. */
int fh_resp_stream_short(const struct fh_resp *resp);

/* An empty answer (204 and the like). */
void fh_resp_empty(struct fh_resp *resp, int status);

/* Serialise the response as a FastCGI/CGI answer (Status line, headers,
 * blank line, body) into out.  Used by fh_serve() and by tests. */
enum fh_err fh_resp_format(
    const struct fh_resp *resp, struct fh_buf *out) FH_MUST_CHECK;

/* Only the head of that answer (status line, headers, blank line). */
enum fh_err fh_resp_format_head(
    const struct fh_resp *resp, struct fh_buf *out) FH_MUST_CHECK;

/* Route one parsed request: find the route (404), check the method (405
 * with Allow; the Flex-token routes get the CORS headers and OPTIONS
 * answers their preflight), check
 * security (403/503), run the handler, and turn a handler error into the
 * JSON error answer (not when the handler streamed its answer: that one
 * stands).  Returns the error that decided the answer. */
enum fh_err fh_dispatch(struct fh_ctx *ctx, const struct fh_route *routes,
    size_t nroutes, const struct fh_req *req, struct fh_resp *resp);

/* Set up a program's context: load the configuration (exits the process
 * with status 1 and a log line naming the bad key on failure), check the
 * settings it needs (need: FH_NEED_*; a missing FH_NEED_FEATURES one only
 * sets ctx->unconfigured), create the REST client. */
void fh_ctx_init(
    struct fh_ctx *ctx, const char *prog, struct fh_config *cfg, unsigned need);

/* Free what fh_ctx_init() set up, and ctx->dedupe (fh_dedupe_free()). */
void fh_ctx_release(struct fh_ctx *ctx);

/* Leave fn(ctx, arg) for after this request's answer: the serve loop runs
 * it once the response has been written and the FastCGI request finished
 * (tests call fh_ctx_run_after()).  arg is copied (at most
 * FH_CTX_AFTER_ARG - 1 bytes); the same fn and arg twice count once.
 * FH_ETOOBIG when FH_CTX_MAX_AFTER jobs are already waiting or arg is
 * too long. */
enum fh_err fh_ctx_after(struct fh_ctx *ctx,
    void (*fn)(struct fh_ctx *, const char *), const char *arg) FH_MUST_CHECK;

/* Run the jobs left by fh_ctx_after(), in order, and forget them. */
void fh_ctx_run_after(struct fh_ctx *ctx);

/* The accept loop of a FastCGI program: runs until SIGTERM/SIGINT.  With
 * FLEXHOOKS_PROCESSES > 1 the calling process supervises that many
 * children running the loop on the same socket (restarted when they die,
 * SIGHUP passed on); the function returns in each of them too when it
 * stops, so the caller's clean-up runs in every process. */
int fh_main_loop(
    struct fh_ctx *ctx, const struct fh_route *routes, size_t nroutes);

#endif
