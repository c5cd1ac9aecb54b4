/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvfile.c - the KEY=VALUE file syntax (kvfile.h).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/kvfile.h"

#define KEYCH "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"

enum fh_err
fh_kv_parse(const char *text, size_t len,
    enum fh_err (*set)(const char *key, const char *value, void *arg),
    void *arg, size_t *lineno)
{
	const char *p = text, *end = text + len, *nl, *eq, *ks, *ke;
	char	   *key = NULL, *val = NULL;
	enum fh_err err = FH_OK;

	*lineno = 0;
	for (; p < end && err == FH_OK; p = nl + 1) {
		(*lineno)++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) > FH_KV_MAX_LINE)
			return FH_ETOOBIG;
		ke = nl;
		if (ke > p && ke[-1] == '\r')
			ke--;
		ks = p;
		while (ks < ke && (*ks == ' ' || *ks == '\t'))
			ks++;
		if (ks == ke || *ks == '#')
			continue;
		if (memchr(ks, '\0', (size_t)(ke - ks)) != NULL)
			return FH_EINPUT;
		eq = memchr(ks, '=', (size_t)(ke - ks));
		if (eq == NULL || eq == ks ||
		    strspn(ks, KEYCH) != (size_t)(eq - ks))
			return FH_EINPUT;
		key = fh_strndup(ks, (size_t)(eq - ks));
		val = fh_strndup(eq + 1, (size_t)(ke - eq - 1));
		if (key == NULL || val == NULL)
			err = FH_ENOMEM;
		else
			err = set(key, val, arg);
		free(key);
		if (val != NULL)
			fh_bzero(val, strlen(val));
		free(val);
		key = val = NULL;
		if (nl == end)
			break;
	}
	return err;
}
