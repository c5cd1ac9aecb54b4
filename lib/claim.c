/* SPDX-License-Identifier: Apache-2.0 */
/*
 * claim.c - claim IDs for claim markers (claim.h).
 */
#include <sys/random.h>

#include "lib/claim.h"

enum fh_err
fh_claim_new(char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	  raw[FH_CLAIM_LEN / 2];
	size_t		  i;

	if (out == NULL || outlen < FH_CLAIM_LEN + 1)
		return FH_EINTERNAL;
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return FH_EINTERNAL;
	for (i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[FH_CLAIM_LEN] = '\0';
	return FH_OK;
}
