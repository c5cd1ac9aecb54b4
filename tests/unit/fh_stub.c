/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fh_stub.c - the scripted loopback HTTP server of fh_stub.h.
 *
 * The record is a temporary file opened for appending: per request a
 * struct rec_head then the request's bytes, written in one call before the
 * answer, so a client that has its answer finds its request recorded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem() */
#endif

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <stdio.h>

#include "fh_stub.h"
#include "lib/buf.h"

#define REQ_MAX (65536 + 8192) /* a 64 KiB body and its head */

struct rec_head {
	uint64_t len, hlen;
	uint32_t reused;
	uint32_t pad;
};

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read one request into buf: the head up to the blank line, then
 * Content-Length bytes.  Its length, 0 at EOF, -1 on error. */
static ssize_t
read_request(int fd, char *buf, size_t size, size_t *hlen)
{
	const char *end, *cl;
	long long   clen = 0;
	size_t	    have = 0;
	ssize_t	    r;

	for (;;) {
		end = have > 0 ? memmem(buf, have, "\r\n\r\n", 4) : NULL;
		if (end != NULL)
			break;
		if (have == size)
			return -1;
		r = read(fd, buf + have, size - have);
		if (r <= 0)
			return r;
		have += (size_t)r;
	}
	*hlen = (size_t)(end - buf) + 4;
	cl = memmem(buf, *hlen, "\r\nContent-Length: ", 18);
	if (cl != NULL &&
	    fh_parse_int(cl + 18, strcspn(cl + 18, "\r"), 0, 65536, &clen) !=
		FH_OK)
		return -1;
	while (have < *hlen + (size_t)clen) {
		if (have == size)
			return -1;
		r = read(fd, buf + have, size - have);
		if (r <= 0)
			return -1;
		have += (size_t)r;
	}
	return (ssize_t)have;
}

static void
record(int fd, const char *req, size_t len, size_t hlen, int reused)
{
	struct rec_head h;
	struct iovec	iov[2];
	ssize_t		w;

	memset(&h, 0, sizeof(h));
	h.len = len;
	h.hlen = hlen;
	h.reused = reused != 0;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)(uintptr_t)req;
	iov[1].iov_len = len;
	w = writev(fd, iov, 2);
	if (w < 0 || (size_t)w != sizeof(h) + len)
		_exit(1);
}

static void
answer(struct fh_stub *stub, int fd, const struct fh_stub_step *s)
{
	char	    head[1024];
	char	   *made = NULL;
	const char *body;
	int	    n;

	if (s->body_fn != NULL)
		made = s->body_fn(stub, s->arg);
	body = made != NULL ? made : s->body != NULL ? s->body : "";
	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d Scripted\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "%s%s\r\n",
	    s->status, strlen(body), s->keep ? "" : "Connection: close\r\n",
	    s->headers != NULL ? s->headers : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		_exit(2);
	(void)(write_all(fd, head, (size_t)n) == 0 &&
	    write_all(fd, body, strlen(body)) == 0);
	free(made);
}

/* The server process: the script, then 418 to anything more. */
static void
serve(struct fh_stub *stub)
{
	static char			 buf[REQ_MAX];
	static const struct fh_stub_step teapot = {.status = 418};
	const struct fh_stub_step	*s;
	struct timespec			 ts;
	ssize_t				 len;
	size_t				 i, hlen = 0;
	int conn = -1, reused, rfd = fileno(stub->rec);

	signal(SIGPIPE, SIG_IGN);
	alarm(FH_STUB_ALARM_S); /* never outlive a crashed test */
	for (i = 0;;) {
		s = i < stub->nsteps ? &stub->steps[i] : &teapot;
		reused = conn >= 0;
		if (conn < 0)
			conn = accept(stub->ls, NULL, NULL);
		if (conn < 0)
			_exit(1);
		len = read_request(conn, buf, sizeof(buf), &hlen);
		if (len <= 0) {
			/* the client closed a kept connection: next one */
			close(conn);
			conn = -1;
			continue;
		}
		record(rfd, buf, (size_t)len, hlen, reused);
		i++;
		if (s->delay_ms > 0) {
			ts.tv_sec = s->delay_ms / 1000;
			ts.tv_nsec = (long)(s->delay_ms % 1000) * 1000000;
			nanosleep(&ts, NULL);
		}
		if (!s->drop)
			answer(stub, conn, s);
		if (s->drop || !s->keep) {
			close(conn);
			conn = -1;
		}
	}
}

int
fh_stub_socket(int backlog, int *port)
{
	struct sockaddr_in a;
	socklen_t	   alen = sizeof(a);
	int		   fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (backlog >= 0)
		ck_assert_int_eq(listen(fd, backlog), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

void
fh_stub_open(struct fh_stub *stub)
{
	memset(stub, 0, sizeof(*stub));
	stub->pid = -1;
	stub->rec = tmpfile();
	ck_assert_ptr_nonnull(stub->rec);
	ck_assert_int_eq(fcntl(fileno(stub->rec), F_SETFL, O_APPEND), 0);
	stub->ls = fh_stub_socket(64, &stub->port);
}

void
fh_stub_start(struct fh_stub *stub, const struct fh_stub_step *steps, size_t n)
{
	ck_assert_ptr_nonnull(stub->rec);
	ck_assert_int_ge(stub->ls, 0);
	stub->steps = steps;
	stub->nsteps = n;
	stub->pid = fork();
	ck_assert_int_ge(stub->pid, 0);
	if (stub->pid == 0) {
		serve(stub);
		_exit(0);
	}
	close(stub->ls);
	stub->ls = -1;
}

void
fh_stub_run(struct fh_stub *stub, const struct fh_stub_step *steps, size_t n)
{
	fh_stub_open(stub);
	fh_stub_start(stub, steps, n);
}

void
fh_stub_point(
    const struct fh_stub *stub, struct fh_config *cfg, char *url, size_t len)
{
	int n;

	n = snprintf(url, len, "http://127.0.0.1:%d", stub->port);
	ck_assert(n > 0 && (size_t)n < len);
	cfg->api_url = cfg->taskrouter_url = cfg->iam_url = url;
}

size_t
fh_stub_load(struct fh_stub *stub)
{
	struct rec_head h;
	struct stat	st;
	size_t		size, off, n, cap = 0;
	ssize_t		r;

	free(stub->data);
	free(stub->reqs);
	stub->data = NULL;
	stub->reqs = NULL;
	stub->nreqs = 0;
	if (stub->rec == NULL)
		return 0;
	ck_assert_int_eq(fstat(fileno(stub->rec), &st), 0);
	size = (size_t)st.st_size;
	stub->data = malloc(size + 1);
	ck_assert_ptr_nonnull(stub->data);
	for (off = 0; off < size; off += (size_t)r) {
		r = pread(fileno(stub->rec), stub->data + off, size - off,
		    (off_t)off);
		ck_assert_int_gt(r, 0);
	}
	/* the heads first: each request's NUL overwrites the next head */
	for (off = 0, n = 0; off + sizeof(h) <= size; n++) {
		memcpy(&h, stub->data + off, sizeof(h));
		if (h.len > size - off - sizeof(h))
			break; /* cut short by a kill */
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			stub->reqs =
			    realloc(stub->reqs, cap * sizeof(*stub->reqs));
			ck_assert_ptr_nonnull(stub->reqs);
		}
		stub->reqs[n].text = stub->data + off + sizeof(h);
		stub->reqs[n].len = (size_t)h.len;
		stub->reqs[n].hlen = (size_t)h.hlen;
		stub->reqs[n].reused = h.reused != 0;
		off += sizeof(h) + (size_t)h.len;
	}
	stub->nreqs = n;
	for (n = 0; n < stub->nreqs; n++)
		((char *)stub->reqs[n].text)[stub->reqs[n].len] = '\0';
	return stub->nreqs;
}

const char *
fh_stub_text(struct fh_stub *stub, const char *sep)
{
	size_t i, len = 0, at = 0;

	(void)fh_stub_load(stub);
	for (i = 0; i < stub->nreqs; i++)
		len += stub->reqs[i].len + strlen(sep);
	free(stub->joined);
	stub->joined = malloc(len + 1);
	ck_assert_ptr_nonnull(stub->joined);
	for (i = 0; i < stub->nreqs; i++) {
		memcpy(
		    stub->joined + at, stub->reqs[i].text, stub->reqs[i].len);
		at += stub->reqs[i].len;
		memcpy(stub->joined + at, sep, strlen(sep));
		at += strlen(sep);
	}
	stub->joined[at] = '\0';
	return stub->joined;
}

int
fh_stub_matches(const struct fh_stub *stub, size_t i)
{
	const struct fh_stub_step *s;
	const struct fh_stub_req  *q;

	ck_assert_uint_lt(i, stub->nreqs);
	if (i >= stub->nsteps)
		return 1;
	s = &stub->steps[i];
	q = &stub->reqs[i];
	if (s->need != NULL &&
	    memmem(q->text, q->len, s->need, strlen(s->need)) == NULL)
		return 0;
	if (s->forbid != NULL &&
	    memmem(q->text, q->len, s->forbid, strlen(s->forbid)) != NULL)
		return 0;
	return 1;
}

void
fh_stub_stop(struct fh_stub *stub)
{
	if (stub->pid > 0) {
		kill(stub->pid, SIGKILL);
		waitpid(stub->pid, NULL, 0);
	}
	if (stub->rec != NULL) {
		if (stub->ls >= 0)
			close(stub->ls);
		fclose(stub->rec);
	}
	free(stub->data);
	free(stub->reqs);
	free(stub->joined);
	memset(stub, 0, sizeof(*stub));
}
