/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_sig.c - libFuzzer target for the signature input (lib/sig.c).
 *
 * The input is split at its first seven '\n' into public URL, request URI,
 * method, content type, Authorization header, X-Twilio-Signature and the
 * secondary token; the rest is the body, which is also decoded as a form.
 * fh_sig_check() sees the whole request; fh_sig_validate(),
 * fh_sig_compute() and fh_sig_message() see the joined URL.  Nothing may
 * crash, leak or read out of bounds, whatever the verdict.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/codec.h"
#include "lib/sig.h"

#define NFIELDS 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fh_sig_input in;
	struct fh_form	    form;
	struct fh_buf	    url, msg;
	char		   *field[NFIELDS] = {NULL};
	char		    sig[FH_SIG_LEN + 1], hex[65];
	const char	   *p = (const char *)data, *nl, *body;
	size_t		    left = size, i, body_len;
	enum fh_err	    err;

	fh_form_init(&form);
	fh_buf_init(&url, FH_SIG_MAX_URL);
	fh_buf_init(&msg, 64 * 1024);
	for (i = 0; i < NFIELDS; i++) {
		nl = memchr(p, '\n', left);
		if (nl == NULL)
			nl = p + left;
		field[i] = fh_strndup(p, (size_t)(nl - p));
		if (field[i] == NULL)
			goto out;
		left -= (size_t)(nl - p);
		p = nl;
		if (left > 0) {
			p++;
			left--;
		}
	}
	body = p;
	body_len = left;
	/* a body that is not a valid form still goes in, partly decoded */
	err = fh_form_parse(&form, body, body_len);
	(void)err;

	memset(&in, 0, sizeof(in));
	in.public_url = field[0];
	in.request_uri = field[1];
	in.method = field[2];
	in.content_type = field[3][0] != '\0' ? field[3] : NULL;
	in.body_form = &form;
	in.body = body;
	in.body_len = body_len;
	in.authorization = field[4][0] != '\0' ? field[4] : NULL;
	in.basic_auth = "user:pass";
	in.signature = field[5];
	in.token = "12345";
	in.token2 = field[6];
	err = fh_sig_check(&in);
	(void)err;

	if (fh_buf_addstr(&url, field[0]) != FH_OK ||
	    fh_buf_addstr(&url, field[1]) != FH_OK)
		goto out;
	err = fh_sig_validate(
	    fh_buf_cstr(&url), &form, body, body_len, field[5], "12345");
	(void)err;
	err = fh_sig_validate(
	    fh_buf_cstr(&url), NULL, body, body_len, field[5], field[6]);
	(void)err;
	err = fh_sig_compute(fh_buf_cstr(&url), &form, "12345", sig);
	if (err == FH_OK && strlen(sig) != FH_SIG_LEN)
		abort();
	err = fh_sig_message(&msg, fh_buf_cstr(&url), &form);
	(void)err;
	fh_sha256_hex(body, body_len, hex);
	if (strlen(hex) != 64)
		abort();
out:
	for (i = 0; i < NFIELDS; i++)
		free(field[i]);
	fh_form_release(&form);
	fh_buf_release(&url);
	fh_buf_release(&msg);
	return 0;
}
