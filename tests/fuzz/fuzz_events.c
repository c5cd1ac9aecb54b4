/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_events.c - TaskRouter event parsing: the form body of an event, its
 * fields, the classification, the TaskAttributes JSON, attribute paths,
 * the claim markers read and merged into those attributes, and the
 * handler itself with no REST client (so no request leaves).
 *
 * Input: a form body as TaskRouter posts it.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "handlers/events.h"
#include "lib/fcgi.h"
#include "lib/form.h"
#include "fuzz.h"
#include "lib/json.h"

#define AC "AC0123456789abcdef0123456789abcdef"
#define WS "WS0123456789abcdef0123456789abcdef"
#define WR "WR0123456789abcdef0123456789abcdef"

static void
markers(struct json_object *attrs, const struct fh_tr_event *ev)
{
	struct fh_tr_marker m;
	const char	   *key;

	key = ev->reservation_sid != NULL ? ev->reservation_sid : WR;
	(void)fh_tr_marker_state(attrs, FH_TR_FEAT_REDIRECT, NULL, "c1");
	(void)fh_tr_marker_state(attrs, FH_TR_FEAT_OUTBOUND, key, "c1");
	memset(&m, 0, sizeof(m));
	m.to = "+15551230000";
	m.reservation = key;
	m.event_sid = ev->sid;
	m.claim = "c1";
	m.at = "2026-01-02T03:04:05Z";
	if (fh_tr_marker_add(attrs, FH_TR_FEAT_OUTBOUND, &m) == FH_OK &&
	    fh_tr_marker_state(attrs, FH_TR_FEAT_OUTBOUND, key, "c1") !=
		FH_TR_MARK_OURS)
		abort();
	if (fh_tr_marker_add(attrs, FH_TR_FEAT_REDIRECT, &m) == FH_OK &&
	    fh_tr_marker_state(attrs, FH_TR_FEAT_REDIRECT, NULL, "c1") !=
		FH_TR_MARK_OURS)
		abort();
	(void)fh_json_text(attrs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fh_config    cfg;
	struct fh_ctx	    ctx;
	struct fh_form	    form;
	struct fh_tr_event  ev;
	struct fh_req	    req;
	struct fh_resp	    resp;
	struct json_object *attrs = NULL;
	char		    num[24];
	enum fh_err	    err;
	char		   *envp[] = {(char *)"REQUEST_METHOD=POST",
			  (char *)"REQUEST_URI=/tr-event-callback",
			  (char *)"CONTENT_TYPE=application/x-www-form-urlencoded", NULL};

	memset(&cfg, 0, sizeof(cfg));
	cfg.account_sid = (char *)AC;
	cfg.workspace_sid = (char *)WS;
	cfg.forward_rules = (char *)"WQ0123456789abcdef0123456789abcdef="
				    "+15551230000";
	cfg.outbound_to_attribute = (char *)"practicePhone";
	cfg.outbound_from_attribute = (char *)"location.callerID";
	cfg.public_url = (char *)"https://hooks.example.com";
	cfg.amd_speech_threshold = 1000;

	fh_form_init(&form);
	if (fh_form_parse(&form, (const char *)data, size) == FH_OK) {
		fh_tr_event_parse(&form, &ev);
		(void)fh_tr_action_name(fh_tr_classify(&cfg, &ev));
		if (fh_tr_event_attributes(&ev, &attrs) == FH_OK) {
			(void)fh_tr_e164(
			    fh_tr_attr_get(attrs, cfg.outbound_to_attribute),
			    num, sizeof(num));
			(void)fh_tr_e164(
			    fh_tr_attr_get(attrs, cfg.outbound_from_attribute),
			    num, sizeof(num));
			markers(attrs, &ev);
		}
		json_object_put(attrs);
	}
	fh_form_release(&form);

	/* the whole handler, with no REST client */
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	fh_log_init(&ctx.log, "fuzz", -1);
	fh_req_init(&req);
	fh_resp_init(&resp);
	if (fh_req_parse(&req, envp, (const char *)data, size) == FH_OK) {
		err = fh_handle_tr_event(&ctx, &req, &resp);
		if (err == FH_ENOMEM || resp.status != 204 ||
		    resp.body.len != 0)
			abort();
	}
	fh_resp_release(&resp);
	fh_req_release(&req);
	return 0;
}
