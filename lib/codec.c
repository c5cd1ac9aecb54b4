/* SPDX-License-Identifier: Apache-2.0 */
/*
 * codec.c - base64 and the hex SHA-256 (codec.h).
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "lib/codec.h"

#define B64_CHUNK 48	 /* input bytes per EVP_EncodeBlock() call */
#define B64_DEC_CHUNK 96 /* decoded bytes per append */

void
fh_sha256_hex(const void *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	  md[SHA256_DIGEST_LENGTH];
	size_t		  i;

	if (p == NULL) {
		p = "";
		n = 0;
	}
	out[0] = '\0';
	if (SHA256(p, n, md) == NULL)
		return; /* "" never equals a 64-digit value */
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * sizeof(md)] = '\0';
}

enum fh_err
fh_base64(struct fh_buf *out, const void *p, size_t n)
{
	const unsigned char *s = p;
	unsigned char	     enc[B64_CHUNK / 3 * 4 + 1];
	struct fh_buf	     tmp;
	size_t		     take;
	int		     m;
	enum fh_err	     err = FH_OK;

	if (n > SIZE_MAX / 4 * 3 - 3)
		return FH_ETOOBIG;
	/* encode aside, then append once: out is unchanged on failure */
	fh_buf_init(&tmp, (n + 2) / 3 * 4);
	tmp.secret = 1;
	while (err == FH_OK && n > 0) {
		take = n < B64_CHUNK ? n : B64_CHUNK;
		m = EVP_EncodeBlock(enc, s, (int)take);
		if (m < 0)
			err = FH_EINTERNAL;
		else
			err = fh_buf_add(&tmp, enc, (size_t)m);
		s += take;
		n -= take;
	}
	if (err == FH_OK)
		err = fh_buf_add(out, fh_buf_cstr(&tmp), tmp.len);
	fh_bzero(enc, sizeof(enc));
	fh_buf_release(&tmp);
	return err;
}

static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

enum fh_err
fh_base64_decode(struct fh_buf *out, const char *s, size_t len)
{
	unsigned char chunk[B64_DEC_CHUNK];
	unsigned int  acc = 0, bits = 0;
	size_t	      i, pad = 0, o = 0;
	int	      v;
	enum fh_err   err, err2;

	if (len == 0 || len % 4 != 0)
		return FH_EINPUT;
	while (pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	/* the decoded bytes in one block, appended a chunk at a time */
	err = fh_buf_reserve(out, len / 4 * 3);
	for (i = 0; err == FH_OK && i < len - pad; i++) {
		v = b64_val((unsigned char)s[i]);
		if (v < 0) {
			err = FH_EINPUT;
			break;
		}
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			chunk[o++] = (unsigned char)((acc >> bits) & 0xFF);
			acc &= (1u << bits) - 1;
			if (o == sizeof(chunk)) {
				err = fh_buf_add(out, chunk, o);
				o = 0;
			}
		}
	}
	/* what was decoded before a bad character is appended too */
	if (o > 0) {
		err2 = fh_buf_add(out, chunk, o);
		if (err == FH_OK)
			err = err2;
	}
	fh_bzero(chunk, sizeof(chunk));
	fh_bzero(&acc, sizeof(acc));
	return err;
}
