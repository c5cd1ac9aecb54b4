/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.c - the table behind fh_strerror(), fh_err_name(), fh_err_status().
 */
#include "lib/err.h"

struct err_row {
	int	    status;
	const char *name;
	const char *text;
};

static const struct err_row rows[FH_ERR__MAX] = {
    [FH_OK] = {200, "OK", "ok"},
    [FH_EINPUT] = {400, "EINPUT", "invalid or missing field"},
    [FH_EAUTH] = {403, "EAUTH", "invalid signature"},
    [FH_ETOKEN] = {403, "ETOKEN", "invalid or missing Flex token"},
    [FH_ENOTFOUND] = {404, "ENOTFOUND", "not found"},
    [FH_ETASK404] = {404, "ETASK404", "task not found"},
    [FH_EREC404] = {404, "EREC404", "recording not found"},
    [FH_EMETHOD] = {405, "EMETHOD", "method not allowed"},
    [FH_ECONFLICT] = {409, "ECONFLICT", "not a callback or voicemail task"},
    [FH_EBUSY] = {409, "EBUSY", "requeue in progress"},
    [FH_ETOOBIG] = {413, "ETOOBIG", "request body too large"},
    [FH_EMEDIA] = {415, "EMEDIA", "unsupported content type"},
    [FH_ETWILIO] = {400, "ETWILIO", "Twilio rejected the request"},
    [FH_ERATELIMIT] = {429, "ERATELIMIT", "Twilio rate limit"},
    [FH_ENOMEM] = {500, "ENOMEM", "out of memory"},
    [FH_ECONFIG] = {500, "ECONFIG", "server configuration incomplete"},
    [FH_EINTERNAL] = {500, "EINTERNAL", "internal error"},
    [FH_EUPSTREAM] = {502, "EUPSTREAM", "Twilio request failed"},
    [FH_EUNAVAIL] = {503, "EUNAVAIL", "token check unavailable"},
    [FH_ETIMEOUT] = {504, "ETIMEOUT", "deadline exceeded"},
};

static const struct err_row *
row(enum fh_err err)
{
	if ((unsigned)err >= FH_ERR__MAX || rows[err].text == NULL)
		return &rows[FH_EINTERNAL];
	return &rows[err];
}

const char *
fh_strerror(enum fh_err err)
{
	return row(err)->text;
}

const char *
fh_err_name(enum fh_err err)
{
	return row(err)->name;
}

int
fh_err_status(enum fh_err err)
{
	return row(err)->status;
}
