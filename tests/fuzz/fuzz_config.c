/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_config.c - the KEY=VALUE configuration file parser.
 */
#include <string.h>

#include "lib/kvfile.h"
#include "fuzz.h"

static enum fh_err
count(const char *key, const char *value, void *arg)
{
	size_t *n = arg;

	if (strlen(key) == 0)
		return FH_EINTERNAL;
	(void)value;
	(*n)++;
	return FH_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0, line;

	if (fh_kv_parse((const char *)data, size, count, &n, &line) != FH_OK)
		n = 0;
	return 0;
}
