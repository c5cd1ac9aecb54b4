/* SPDX-License-Identifier: Apache-2.0 */
/*
 * location.c - the /location-lookup handler.
 */
#include <string.h>

#include <json-c/json.h>

#include "flex/locations.h"
#include "lib/answer.h"
#include "lib/form.h"
#include "lib/json.h"
#include "handlers/location.h"
#include "lib/valid.h"

#define WS " \t\r\n"

enum lk_field { LK_LOCATION, LK_CALLED, LK_TO, LK__MAX };

static const struct fh_field lk_fields[LK__MAX] = {
    [LK_LOCATION] = {"location", NULL, fh_valid_text256, 0},
    [LK_CALLED] = {"Called", NULL, fh_valid_text256, 0},
    [LK_TO] = {"To", NULL, fh_valid_text256, 0},
};

enum fh_err
fh_handle_location_lookup(
    struct fh_ctx *ctx, const struct fh_req *req, struct fh_resp *resp)
{
	struct fh_val	    val[LK__MAX];
	struct json_object *e;
	const char	   *s = NULL;
	char		    key[FH_LOCATION_MAX_KEY + 1], masked[24];
	size_t		    i, b, n;
	int		    missing;
	enum fh_err	    err;

	/* the first of location, Called, To that is present and not blank */
	for (i = 0; i < LK__MAX; i++) {
		memset(&val[i], 0, sizeof(val[i]));
		b = 0;
		missing = 0;
		if (fh_form_validate(&req->params, &lk_fields[i], 1, &val[i],
			&b, &missing) != FH_OK &&
		    !missing)
			return fh_answer_error(resp, FH_EINPUT,
			    "invalid location,"
			    " Called or To");
		s = val[i].str;
		if (s == NULL)
			continue;
		s += strspn(s, WS);
		n = strlen(s);
		while (n > 0 && strchr(WS, s[n - 1]) != NULL)
			n--;
		if (n > 0)
			break;
		s = NULL;
	}
	if (s == NULL)
		return fh_answer_error(
		    resp, FH_EINPUT, "missing location, Called or To");
	if (n > FH_LOCATION_MAX_KEY)
		return fh_answer_error(resp, FH_ENOTFOUND, "unknown location");
	memcpy(key, s, n);
	key[n] = '\0';

	if (fh_location_refresh(ctx->cfg->locations_file, &ctx->log) != FH_OK)
		return fh_answer_error(
		    resp, FH_EUNAVAIL, "location lookup unavailable");
	fh_log_mask_phone(key, masked, sizeof(masked));
	e = fh_location_get(key);
	if (e == NULL) {
		fh_log_info(&ctx->log, "unknown location '%s'",
		    key[0] == '+' ? masked : key);
		return fh_answer_error(resp, FH_ENOTFOUND, "unknown location");
	}
	err = fh_resp_json(resp, 200, e);
	if (err == FH_OK)
		err = fh_resp_header(resp, "Cache-Control", "no-store");
	if (err != FH_OK)
		return fh_answer_error(resp, err, NULL);
	return FH_OK;
}
