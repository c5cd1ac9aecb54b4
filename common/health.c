/*
 * health.c - the /healthz handler.
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "health.h"
#include "json.h"

/* 1 when a unix socket at path[0..len) accepts a connection. */
static int
probe(const char *path, size_t len)
{
	struct sockaddr_un	 sa;
	int			 fd, ok;

	if (len == 0 || len >= sizeof(sa.sun_path))
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	/* non-blocking: a stuck program's full backlog is EAGAIN, not a hang */
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

enum fh_err
fh_handle_healthz(struct fh_ctx *ctx, const struct fh_req *req,
    struct fh_resp *resp)
{
	struct json_object	*o = NULL, *down = NULL;
	const char		*p, *colon, *base;
	size_t			 n;
	enum fh_err		 err;

	(void)req;
	o = json_object_new_object();
	down = json_object_new_array();
	if (o == NULL || down == NULL) {
		err = FH_ENOMEM;
		goto out;
	}
	p = ctx->cfg->health_sockets != NULL ? ctx->cfg->health_sockets : "";
	while (*p != '\0') {
		colon = strchr(p, ':');
		n = colon != NULL ? (size_t)(colon - p) : strlen(p);
		if (n > 0 && !probe(p, n)) {
			/* only the file name: paths stay private */
			base = memrchr(p, '/', n);
			base = base != NULL ? base + 1 : p;
			if (json_object_array_add(down,
			    json_object_new_string_len(base,
			    (int)(p + n - base))) != 0) {
				err = FH_ENOMEM;
				goto out;
			}
		}
		p += n;
		if (*p == ':')
			p++;
	}
	err = fh_json_add(o, "ok", json_object_new_boolean(
	    json_object_array_length(down) == 0));
	if (err != FH_OK)
		goto out;
	n = json_object_array_length(down);
	err = fh_json_add(o, "down", down);
	down = NULL;
	if (err == FH_OK)
		err = fh_resp_json(resp, n == 0 ? 200 : 503, o);
	if (err == FH_OK)
		err = fh_resp_header(resp, "Cache-Control", "no-store");
out:
	json_object_put(down);
	json_object_put(o);
	return err;
}
