/* SPDX-License-Identifier: Apache-2.0 */
/*
 * health.c - the /healthz handler.
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "handlers/health.h"
#include "lib/json.h"

/* The features /healthz reports, and what each needs beyond the
 * credentials every program checks at start-up. */
static const struct feature {
	const char *name;
	unsigned    need; /* FH_NEED_* of config.h */
	int	    what; /* W_* below: one more setting */
} features[] = {
    {"callbacks", FH_NEED_FLEX | FH_NEED_CALLBACK_WF, 0},
    {"flex_plugin", FH_NEED_FLEX, 0},
    {"wait_experience", FH_NEED_FLEX, 0},
    {"outbound_dialer", FH_NEED_WORKSPACE, 0},
    {"no_agent_redirect", FH_NEED_WORKSPACE, 1},
    {"location_lookup", 0, 2},
    {"incoming_call", 0, 3},
};

/* The variable feature f lacks under cfg, or NULL when it is set up. */
static const char *
feature_missing(const struct fh_config *cfg, const struct feature *f)
{
	const char *v;

	v = fh_config_unconfigured(cfg, f->need);
	if (v != NULL)
		return v;
	switch (f->what) {
	case 1:
		if (cfg->forward_queue_sid == NULL &&
		    cfg->forward_rules == NULL)
			return "FLEXHOOKS_FORWARD_RULES";
		break;
	case 2:
		if (cfg->locations_file == NULL)
			return "FLEXHOOKS_LOCATIONS";
		break;
	case 3:
		if (cfg->inbound_workflow_sid == NULL)
			return "FLEXHOOKS_INBOUND_WORKFLOW_SID";
		break;
	default:
		break;
	}
	return NULL;
}

/* "features": {name: true|false}, "not_configured": {name: variable} and
 * "workspaces": [WS...] (the ones whose events are served) into o. */
static enum fh_err
add_features(const struct fh_config *cfg, struct json_object *o)
{
	struct json_object *feat, *nc, *ws;
	const char	   *v, *p;
	size_t		    i, n;
	int		    flex;
	enum fh_err	    err;

	feat = json_object_new_object();
	nc = json_object_new_object();
	ws = json_object_new_array();
	err = feat != NULL && nc != NULL && ws != NULL ? FH_OK : FH_ENOMEM;
	for (i = 0; i < FH_NITEMS(features) && err == FH_OK; i++) {
		v = feature_missing(cfg, &features[i]);
		err = fh_json_add(
		    feat, features[i].name, json_object_new_boolean(v == NULL));
		if (err == FH_OK && v != NULL)
			err = fh_json_add_str(nc, features[i].name, v);
	}
	if (err == FH_OK && cfg->workspace_sid != NULL &&
	    json_object_array_add(
		ws, json_object_new_string(cfg->workspace_sid)) != 0)
		err = FH_ENOMEM;
	p = cfg->event_workspaces != NULL ? cfg->event_workspaces : "";
	for (; err == FH_OK && *p != '\0'; p += n) {
		n = strcspn(p, ",");
		flex = cfg->workspace_sid != NULL &&
		    n == strlen(cfg->workspace_sid) &&
		    memcmp(p, cfg->workspace_sid, n) == 0;
		if (!flex &&
		    json_object_array_add(
			ws, json_object_new_string_len(p, (int)n)) != 0)
			err = FH_ENOMEM;
		if (p[n] == ',')
			n++;
	}
	if (err == FH_OK) {
		err = fh_json_add(o, "features", feat);
		feat = NULL;
	}
	if (err == FH_OK) {
		err = fh_json_add(o, "not_configured", nc);
		nc = NULL;
	}
	if (err == FH_OK) {
		err = fh_json_add(o, "workspaces", ws);
		ws = NULL;
	}
	json_object_put(feat);
	json_object_put(nc);
	json_object_put(ws);
	return err;
}

/* 1 when a unix socket at path[0..len) accepts a connection. */
static int
probe(const char *path, size_t len)
{
	struct sockaddr_un sa;
	int		   fd, ok;

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
fh_handle_healthz(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	struct json_object *o = NULL, *down = NULL;
	const char	   *p, *colon, *base;
	size_t		    n;
	enum fh_err	    err;

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
				json_object_new_string_len(
				    base, (int)(p + n - base))) != 0) {
				err = FH_ENOMEM;
				goto out;
			}
		}
		p += n;
		if (*p == ':')
			p++;
	}
	err = fh_json_add(o, "ok",
	    json_object_new_boolean(json_object_array_length(down) == 0));
	if (err != FH_OK)
		goto out;
	n = json_object_array_length(down);
	err = fh_json_add(o, "down", down);
	down = NULL;
	if (err == FH_OK)
		err = add_features(ctx->cfg, o);
	if (err == FH_OK)
		err = fh_resp_json(resp, n == 0 ? 200 : 503, o);
	if (err == FH_OK)
		err = fh_resp_header(resp, "Cache-Control", "no-store");
out:
	json_object_put(down);
	json_object_put(o);
	return err;
}
