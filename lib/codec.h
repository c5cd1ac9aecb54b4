/* SPDX-License-Identifier: Apache-2.0 */
/*
 * codec.h - the encodings and the digest shared by the signature check,
 * the Flex token cache and the voicemail email: standard base64 both ways
 * and the lower-case hex SHA-256.  Nothing here keeps state; the buffers
 * are the caller's.
 */
#ifndef FH_CODEC_H
#define FH_CODEC_H

#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"

#define FH_SHA256_HEX_LEN 64 /* digits of fh_sha256_hex() */

/* Lower-case hex SHA-256 of p[0..n) (p NULL: the empty string) into out
 * (FH_SHA256_HEX_LEN + 1 bytes); "" when the digest fails. */
void fh_sha256_hex(const void *p, size_t n, char *out);

/* Standard base64 (with padding) of p[0..n) appended to out; out is
 * unchanged on failure.  FH_ETOOBIG, FH_ENOMEM, FH_EINTERNAL. */
enum fh_err fh_base64(
    struct fh_buf *out, const void *p, size_t n) FH_MUST_CHECK;

/* Decode padded standard base64 s[0..len) and append the bytes to out;
 * FH_EINPUT when s is not exactly that (out may then hold part of it),
 * FH_ENOMEM. */
enum fh_err fh_base64_decode(
    struct fh_buf *out, const char *s, size_t len) FH_MUST_CHECK;

#endif
