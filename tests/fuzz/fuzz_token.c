/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_token.c - IAM answers to a Flex token check: the same bytes parsed
 * as the body of a 200, a 401 and a 500.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "flex/token.h"

static const long statuses[] = {200, 401, 500};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fh_token_info info;
	long long	     exp;
	enum fh_err	     err;
	size_t		     i;

	for (i = 0; i < FH_NITEMS(statuses); i++) {
		err = fh_token_parse(
		    statuses[i], (const char *)data, size, &info, &exp);
		/* only a 2xx accepts; every field ends inside its buffer */
		if (err == FH_OK && statuses[i] != 200)
			abort();
		if (err != FH_OK && err != FH_ETOKEN && err != FH_EUNAVAIL)
			abort();
		if (memchr(info.identity, '\0', sizeof(info.identity)) ==
			NULL ||
		    memchr(info.worker_sid, '\0', sizeof(info.worker_sid)) ==
			NULL ||
		    memchr(info.roles, '\0', sizeof(info.roles)) == NULL)
			abort();
		if (err != FH_OK && (info.identity[0] != '\0' || exp != 0))
			abort();
	}
	return 0;
}
