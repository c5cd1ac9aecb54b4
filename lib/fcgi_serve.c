/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi_serve.c - a program's context, its FastCGI accept loop, signals, the
 * supervisor of FLEXHOOKS_PROCESSES children, and the jobs a handler
 * leaves for after its answer.
 *
 * The only file that touches libfcgi.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <fcgiapp.h>

#include "lib/dedupe.h"
#include "lib/fcgi.h"

void
fh_ctx_init(
    struct fh_ctx *ctx, const char *prog, struct fh_config *cfg, unsigned need)
{
	char	    msg[256];
	enum fh_err err;

	memset(ctx, 0, sizeof(*ctx));
	ctx->prog = prog;
	ctx->cfg = cfg;
	fh_log_init(&ctx->log, prog, FH_LOG_INFO);
	err = fh_config_load(cfg, NULL, msg, sizeof(msg));
	if (err == FH_OK)
		err = fh_config_require(
		    cfg, need & ~FH_NEED_FEATURES, msg, sizeof(msg));
	if (err != FH_OK) {
		fh_log_error(&ctx->log, "cannot start: %s", msg);
		exit(1);
	}
	ctx->log.level = cfg->log_level;
	ctx->unconfigured = fh_config_unconfigured(cfg, need);
	if (ctx->unconfigured != NULL)
		fh_log_warn(&ctx->log,
		    "not configured: %s (every request "
		    "answers 503)",
		    ctx->unconfigured);
	ctx->deadline_ms = cfg->deadline_ms;
	if (need & FH_NEED_REST) {
		err = fh_rest_new(&ctx->rest, cfg, &ctx->log);
		if (err != FH_OK) {
			fh_log_error(&ctx->log, "cannot start: %s",
			    "REST client set-up failed");
			exit(1);
		}
	}
}

void
fh_ctx_release(struct fh_ctx *ctx)
{
	fh_rest_free(ctx->rest);
	ctx->rest = NULL;
	fh_dedupe_free(ctx->dedupe);
	ctx->dedupe = NULL;
	fh_config_release((struct fh_config *)ctx->cfg);
	fh_log_release(&ctx->log);
}

enum fh_err
fh_ctx_after(struct fh_ctx *ctx, void (*fn)(struct fh_ctx *, const char *),
    const char		   *arg)
{
	size_t i, n = strlen(arg);

	for (i = 0; i < ctx->nafter; i++)
		if (ctx->after[i].fn == fn &&
		    strcmp(ctx->after[i].arg, arg) == 0)
			return FH_OK;
	if (ctx->nafter >= FH_CTX_MAX_AFTER || n >= FH_CTX_AFTER_ARG)
		return FH_ETOOBIG;
	ctx->after[ctx->nafter].fn = fn;
	memcpy(ctx->after[ctx->nafter].arg, arg, n + 1);
	ctx->nafter++;
	return FH_OK;
}

void
fh_ctx_run_after(struct fh_ctx *ctx)
{
	struct fh_after jobs[FH_CTX_MAX_AFTER];
	size_t		i, n = ctx->nafter;

	/* a job may leave another one: that one waits for the next call */
	memcpy(jobs, ctx->after, n * sizeof(jobs[0]));
	ctx->nafter = 0;
	for (i = 0; i < n; i++)
		jobs[i].fn(ctx, jobs[i].arg);
}

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
on_signal_child(int sig)
{
	(void)sig;
}

/* Read the body: CONTENT_LENGTH is checked against the cap before any byte
 * is read, so an oversized upload costs nothing. */
static enum fh_err
read_body(FCGX_Request *r, struct fh_buf *body)
{
	const char *cl;
	long long   want = -1;
	char	    chunk[8192];
	int	    n;
	enum fh_err err = FH_OK;

	cl = FCGX_GetParam("CONTENT_LENGTH", r->envp);
	if (cl != NULL && cl[0] != '\0') {
		if (fh_parse_int(cl, strlen(cl), 0, 1LL << 40, &want) != FH_OK)
			return FH_EINPUT;
		if (want > FH_REQ_MAX_BODY)
			return FH_ETOOBIG;
	}
	while (err == FH_OK && (want < 0 || (long long)body->len < want)) {
		n = FCGX_GetStr(chunk, sizeof(chunk), r->in);
		if (n <= 0)
			break;
		err = fh_buf_add(body, chunk, (size_t)n);
	}
	fh_bzero(chunk, sizeof(chunk)); /* it may have held a Flex token */
	return err;
}

/* The rest of a body the request did not read (one refused before
 * reading: too large, malformed, a GET with a body): on a kept connection
 * libfcgi would read it as the start of the next request and drop the
 * connection; on another, closing it unread would reset nginx's end.  Read
 * to its end first (nginx caps it, client_max_body_size); nothing to read
 * (no system call) when the request was read whole. */
static void
drain_input(FCGX_Request *r)
{
	char chunk[8192];

	while (FCGX_GetStr(chunk, sizeof(chunk), r->in) > 0)
		;
	fh_bzero(chunk, sizeof(chunk)); /* it may have held a Flex token */
}

/*
 * Accepting and closing connections ourselves, not in libfcgi: libfcgi's
 * accept() waits up to 2 s for each new connection to become readable
 * (a poll per request: first_bytes() keeps that bound, so a silent peer
 * cannot hold a process) and its close is a lingering one (shutdown, a
 * poll, a read of nginx's end, then close: three more system calls per
 * request), which exists to keep a TCP peer from being reset by data it
 * sent and nobody read.  Here the peer is nginx on a unix socket, and the
 * request's input has been read to its end first (drain_input()), so a
 * plain close() loses nothing.  A connection handed over in
 * FCGX_Request.ipcFd is read by FCGX_Accept_r() as it reads a kept one.
 */

/* A new connection from the listening socket (non-blocking): its fd; -1
 * when there is none (another process took it); -2 on a lasting error. */
static int
accept_connection(struct fh_ctx *ctx)
{
	int fd;

	fd = accept4(0, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		return fd;
	switch (errno) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
		return -1;
	default:
		fh_log_error(&ctx->log, "cannot accept: %s", strerror(errno));
		return -2;
	}
}

/* End the request: its FCGI_END_REQUEST goes out; the connection stays
 * open when nginx asked to keep it (FCGI_KEEP_CONN) and nothing failed,
 * else it is closed. */
static void
finish(FCGX_Request *r)
{
	int keep = r->keepConnection;

	drain_input(r);
	r->keepConnection = 1; /* not libfcgi's lingering close */
	FCGX_Finish_r(r);      /* closes it itself after an error */
	if (!keep && r->ipcFd >= 0) {
		close(r->ipcFd);
		r->ipcFd = -1;
	}
}

/*
 * Waiting for the next request.
 *
 * Without a kept connection, the process waits for a connection on the
 * listening socket (fd 0), which it shares with the other processes of
 * the program: through an epoll set with EPOLLEXCLUSIVE, so that one
 * connection wakes one waiting process, not all of them (the others would
 * only lose the race for it: an accept() failing with EAGAIN and another
 * wait each).  The socket is non-blocking, so a process that loses the
 * race all the same gets EAGAIN and waits again.
 *
 * nginx's "fastcgi_keep_conn on" asks (FCGI_KEEP_CONN) to keep the
 * connection for its next requests; libfcgi then leaves it open after
 * FCGX_Finish_r(), and its FCGX_Accept_r() reads the next request from it
 * instead of accepting.  The process waits on that connection alone: an
 * idle kept connection pins its process, which is why nginx may keep at
 * most K idle connections per worker with W x K below the program's
 * processes (nginx/flexhooks.conf.in "keepalive"), so that some process
 * always accepts.  When nginx closes it, FCGX_Accept_r() reads the end,
 * closes it and accepts again.
 *
 * Either wait has SIGTERM and SIGINT deliverable, which they are nowhere
 * else: a request in progress is never interrupted (a read or write failing
 * with EINTR dropped it, and nginx answered 502 whenever systemd stopped or
 * restarted a unit under load); it is finished, and the loop ends after it.
 *
 * Stopping with a kept connection: nginx may be writing its next request on
 * it at this very moment, and a POST it sent on a connection that then
 * closes is answered 502 (nginx passes no POST on again).  So the process
 * keeps serving the connection until nginx closes it (nginx closes an idle
 * kept connection after the upstream's keepalive_timeout, shorter than
 * FH_STOP_GRACE_MS) or FH_STOP_GRACE_MS have passed, and only then closes
 * it.
 *
 * 1: a request (or a connection) is waiting; 0: stop.
 */
#define FH_STOP_GRACE_MS 3000

static int listen_epoll = -1; /* per process: created after the fork */
/* the connection of the request whose after-jobs run, -1 none */
static int serve_conn = -1;

void
fh_serve_detach(void)
{
	sigset_t none;

	if (serve_conn >= 0) {
		close(serve_conn);
		serve_conn = -1;
	}
	if (listen_epoll >= 0) {
		close(listen_epoll);
		listen_epoll = -1;
	}
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int
wait_listen(const sigset_t *waitmask)
{
	struct epoll_event ev;
	struct pollfd	   pfd = {0, POLLIN, 0};

	if (listen_epoll == -1) {
		listen_epoll = epoll_create1(EPOLL_CLOEXEC);
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		if (listen_epoll < 0)
			listen_epoll = -2; /* not available: ppoll() */
		else if (epoll_ctl(listen_epoll, EPOLL_CTL_ADD, 0, &ev) != 0) {
			close(listen_epoll);
			listen_epoll = -2;
		}
	}
	if (listen_epoll >= 0)
		return epoll_pwait(listen_epoll, &ev, 1, -1, waitmask);
	return ppoll(&pfd, 1, NULL, waitmask);
}

static int
wait_request(struct fh_ctx *ctx, int kept, const sigset_t *waitmask)
{
	static int64_t stop_by;
	struct pollfd  pfd = {kept, POLLIN, 0};
	int64_t	       left;
	int	       rc;

	while (!stopping) {
		rc = kept >= 0 ? ppoll(&pfd, 1, NULL, waitmask)
			       : wait_listen(waitmask);
		if (rc >= 0)
			return 1;
		if (errno != EINTR) {
			fh_log_error(&ctx->log,
			    "cannot wait for connections: "
			    "%s",
			    strerror(errno));
			return 0;
		}
	}
	if (kept < 0)
		return 0;
	if (stop_by == 0)
		stop_by = fh_now_ms() + FH_STOP_GRACE_MS;
	/* SIGTERM and SIGINT stay blocked; another signal (SIGHUP) only
	 * interrupts the wait, which goes on for the time left */
	for (;;) {
		left = stop_by - fh_now_ms();
		if (left <= 0)
			return 0;
		rc = poll(&pfd, 1, (int)left);
		if (rc >= 0 || errno != EINTR)
			return rc > 0;
	}
}

/* nginx writes its request as soon as it has connected: a new connection
 * that stays silent for FH_FIRST_BYTE_MS (libfcgi's own accept allowed 2 s)
 * is closed, so that no peer can hold a process by connecting and sending
 * nothing.  1 when fd has something to read. */
#define FH_FIRST_BYTE_MS 2000

static int
first_bytes(int fd)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	int64_t	      end = fh_now_ms() + FH_FIRST_BYTE_MS, left;
	int	      rc;

	for (;;) {
		left = end - fh_now_ms();
		rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (rc >= 0 || errno != EINTR)
			return rc > 0;
	}
}

/* A streamed answer's bytes go to the FastCGI output as they come; libfcgi
 * sends a record whenever its buffer fills. */
static enum fh_err
fcgx_write(void *arg, const char *p, size_t n)
{
	FCGX_Stream *out = arg;
	int	     w;

	while (n > 0) {
		w = n > 65536 ? 65536 : (int)n;
		if (FCGX_PutStr(p, w, out) != w)
			return FH_EUPSTREAM; /* nginx went away */
		p += w;
		n -= (size_t)w;
	}
	return FH_OK;
}

static int
serve(struct fh_ctx *ctx, const struct fh_route *routes, size_t nroutes)
{
	FCGX_Request	    r;
	struct sigaction    sa;
	struct fh_req	    req;
	struct fh_resp	    resp;
	struct fh_buf	    body, out;
	struct fh_resp_sink sink;
	enum fh_err	    err;
	sigset_t	    term, old, waitmask;
	int64_t		    t0;
	int		    rc, fl, fresh;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, &old);
	waitmask = old;
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	if ((fl = fcntl(0, F_GETFL)) < 0 ||
	    fcntl(0, F_SETFL, fl | O_NONBLOCK) < 0) {
		fh_log_error(&ctx->log, "no listening socket on fd 0: %s",
		    strerror(errno));
		return 1;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0) {
		fh_log_error(&ctx->log, "cannot initialise libfcgi");
		return 1;
	}
	fh_log_info(&ctx->log, "%s started", ctx->prog);
	while (wait_request(ctx, r.ipcFd, &waitmask)) {
		fresh = r.ipcFd < 0;
		if (fresh && (r.ipcFd = accept_connection(ctx)) == -1)
			continue; /* another process took it */
		if (r.ipcFd < -1)
			break;
		if (fresh && !first_bytes(r.ipcFd)) {
			fh_log_warn(&ctx->log,
			    "a connection sent nothing for %d ms: closed",
			    FH_FIRST_BYTE_MS);
			close(r.ipcFd);
			r.ipcFd = -1;
			continue;
		}
		/* FCGX_Accept_r() first finishes the previous request, and
		 * would close the connection unless it is to be kept */
		r.keepConnection = 1;
		if ((rc = FCGX_Accept_r(&r)) < 0) {
			if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR)
				continue;
			fh_log_error(&ctx->log, "cannot accept: %s",
			    rc > -4096 ? strerror(-rc) : "libfcgi error");
			break;
		}
		t0 = fh_now_ms();
		fh_log_begin(
		    &ctx->log, FCGX_GetParam("FLEXHOOKS_REQUEST_ID", r.envp));
		if (ctx->rest != NULL)
			fh_rest_set_deadline(ctx->rest, ctx->deadline_ms);
		ctx->nafter = 0;
		fh_req_init(&req);
		fh_resp_init(&resp);
		fh_buf_init(&body, FH_REQ_MAX_BODY);
		body.secret = 1;
		fh_buf_init(&out, 64 * 1024); /* the head only */
		err = read_body(&r, &body);
		if (err == FH_OK)
			err = fh_req_parse(
			    &req, r.envp, fh_buf_cstr(&body), body.len);
		else {
			/* keep method and path for routing and the log */
			if (fh_req_parse(&req, r.envp, NULL, 0) != FH_OK)
				fh_log_debug(&ctx->log,
				    "request parameters "
				    "unreadable");
			req.parse_err = err;
		}
		fh_log_set_call(&ctx->log, fh_req_param(&req, "CallSid"));
		sink.write = fcgx_write;
		sink.arg = r.out;
		resp.sink = &sink;
		err = fh_dispatch(ctx, routes, nroutes, &req, &resp);
		/* the head, then the body from where it is: no second copy of
		 * a large answer (a recording) */
		if (resp.streamed) {
			/* sent already; one cut short must not end cleanly,
			 * or nginx would pass a short file on as complete */
			if (fh_resp_stream_short(&resp)) {
				fh_log_error(&ctx->log,
				    "streamed answer cut "
				    "after %llu of %llu bytes",
				    resp.stream_sent, resp.stream_length);
				(void)shutdown(r.ipcFd, SHUT_RDWR);
			}
		} else if (fh_resp_format_head(&resp, &out) == FH_OK) {
			FCGX_PutStr(out.data, (int)out.len, r.out);
			if (resp.status != 204 && resp.body.len > 0)
				FCGX_PutStr(
				    resp.body.data, (int)resp.body.len, r.out);
		} else
			FCGX_PutS("Status: 500 Internal Server Error\r\n"
				  "Content-Length: 0\r\n\r\n",
			    r.out);
		fh_log_request(&ctx->log, req.method_str, req.path, resp.status,
		    (long)(fh_now_ms() - t0),
		    fh_auth_result_name(req.auth.result),
		    err == FH_OK ? NULL : fh_err_name(err));
		fh_buf_release(&out);
		fh_buf_release(&body);
		fh_resp_release(&resp);
		fh_req_release(&req);
		finish(&r);
		/* the answer is out: now the work that must not delay it */
		serve_conn = r.ipcFd;
		fh_ctx_run_after(ctx);
		serve_conn = -1;
	}
	fh_log_begin(&ctx->log, NULL);
	fh_log_info(&ctx->log, "%s stopping", ctx->prog);
	/* a kept connection is closed at once: FCGX_Free()'s lingering close
	 * would wait up to 2 s for nginx to close its end first */
	if (r.ipcFd >= 0) {
		close(r.ipcFd);
		r.ipcFd = -1;
	}
	FCGX_Free(&r, 0);
	if (listen_epoll >= 0)
		close(listen_epoll);
	return 0;
}

/*
 * FLEXHOOKS_PROCESSES > 1: this process supervises that many children,
 * which share the listening socket (fd 0) and each run the accept loop.
 * A child that dies is started again, after a delay that doubles (100 ms
 * up to 5 s) while children die within a second of their start.  SIGHUP
 * is passed on to the children; SIGTERM/SIGINT stop them (SIGKILL after
 * 5 s) and end the supervisor.  Signals are taken synchronously with
 * sigtimedwait(), so none is lost between two checks.
 */
#define SUP_MIN_DELAY_MS 100
#define SUP_MAX_DELAY_MS 5000
#define SUP_STABLE_MS 1000
#define SUP_KILL_AFTER_MS 5000

struct child {
	pid_t	pid;	 /* 0: not running */
	int64_t started; /* ms */
	int64_t due;	 /* ms: start again at (when pid == 0) */
};

/* fork(); in the child, restore the signal set-up of the program. */
static pid_t
start_child(const sigset_t *old)
{
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, old, NULL);
	}
	return pid;
}

static void
stop_children(struct fh_ctx *ctx, struct child *kids, size_t n)
{
	int64_t until = fh_now_ms() + SUP_KILL_AFTER_MS;
	size_t	i, left;
	pid_t	pid;
	int	st;

	for (i = 0; i < n; i++)
		if (kids[i].pid > 0)
			kill(kids[i].pid, SIGTERM);
	for (;;) {
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			for (i = 0; i < n; i++)
				if (kids[i].pid == pid)
					kids[i].pid = 0;
		for (left = 0, i = 0; i < n; i++)
			left += kids[i].pid > 0;
		if (left == 0)
			return;
		if (fh_now_ms() >= until) {
			fh_log_warn(&ctx->log,
			    "%zu children did not stop: "
			    "killed",
			    left);
			for (i = 0; i < n; i++)
				if (kids[i].pid > 0)
					kill(kids[i].pid, SIGKILL);
			until = fh_now_ms() + SUP_KILL_AFTER_MS;
		}
		usleep(20 * 1000);
	}
}

static int
supervise(
    struct fh_ctx *ctx, const struct fh_route *routes, size_t nroutes, size_t n)
{
	struct child   *kids;
	sigset_t	set, old;
	siginfo_t	info;
	struct timespec tick = {0, 100 * 1000 * 1000};
	int64_t		now, delay = SUP_MIN_DELAY_MS;
	size_t		i;
	pid_t		pid;
	int		sig, st;

	if ((kids = calloc(n, sizeof(*kids))) == NULL) {
		fh_log_error(
		    &ctx->log, "cannot supervise: %s", fh_err_name(FH_ENOMEM));
		return 1;
	}
	/* a handler (not SIG_IGN), so that SIGCHLD is kept pending */
	signal(SIGCHLD, on_signal_child);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	fh_log_info(&ctx->log, "%s supervising %zu processes", ctx->prog, n);
	for (;;) {
		now = fh_now_ms();
		for (i = 0; i < n; i++) {
			if (kids[i].pid != 0 || now < kids[i].due)
				continue;
			pid = start_child(&old);
			if (pid == 0) {
				/* the child: serve, then return to main()
				 * like a single process, which cleans up */
				free(kids);
				return serve(ctx, routes, nroutes);
			}
			if (pid < 0) {
				fh_log_error(&ctx->log, "cannot fork: %s",
				    strerror(errno));
				kids[i].due = now + SUP_MAX_DELAY_MS;
				continue;
			}
			kids[i].pid = pid;
			kids[i].started = now;
		}
		sig = sigtimedwait(&set, &info, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			for (i = 0; i < n; i++)
				if (kids[i].pid > 0)
					kill(kids[i].pid, SIGHUP);
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			now = fh_now_ms();
			for (i = 0; i < n; i++) {
				if (kids[i].pid != pid)
					continue;
				if (WIFSIGNALED(st))
					fh_log_error(&ctx->log,
					    "process %ld "
					    "killed by signal %d",
					    (long)pid, WTERMSIG(st));
				else
					fh_log_error(&ctx->log,
					    "process %ld "
					    "exited with status %d",
					    (long)pid, WEXITSTATUS(st));
				if (now - kids[i].started < SUP_STABLE_MS)
					delay = delay * 2 > SUP_MAX_DELAY_MS
					    ? SUP_MAX_DELAY_MS
					    : delay * 2;
				else
					delay = SUP_MIN_DELAY_MS;
				kids[i].pid = 0;
				kids[i].due = now + delay;
			}
		}
	}
	fh_log_info(&ctx->log, "%s stopping %zu processes", ctx->prog, n);
	stop_children(ctx, kids, n);
	free(kids);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

int
fh_main_loop(struct fh_ctx *ctx, const struct fh_route *routes, size_t nroutes)
{
	struct sigaction cur;

	/* SIGHUP reloads where a program asks for it (locations), and is
	 * harmless everywhere else */
	if (sigaction(SIGHUP, NULL, &cur) == 0 && cur.sa_handler == SIG_DFL)
		signal(SIGHUP, SIG_IGN);
	if (ctx->cfg->processes > 1)
		return supervise(
		    ctx, routes, nroutes, (size_t)ctx->cfg->processes);
	return serve(ctx, routes, nroutes);
}
