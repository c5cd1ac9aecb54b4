/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_mime.c - address lists, header values and whole messages.
 * Invariants: every address fh_mime_addrs() returns is valid on its own
 * and holds no comma, space or control character; an encoded header value
 * is printable ASCII whose only line breaks are CRLF followed by a space;
 * a message built from the input (as subject and text) is 7-bit, CRLF
 * only, with lines of at most 78 characters.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lib/mime.h"

static void
check_7bit_lines(const char *s, size_t len, int folds_only)
{
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80 || s[i] == '\0')
			abort();
		if (s[i] == '\r') {
			if (i + 1 >= len || s[i + 1] != '\n')
				abort();
			if (folds_only && (i + 2 >= len || s[i + 2] != ' '))
				abort();
			col = 0;
			i++;
			continue;
		}
		if (s[i] == '\n' || ++col > 78)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fh_mime_addr a[FH_MIME_MAX_RCPT];
	struct fh_mime_msg  m;
	struct fh_buf	    b;
	const char	   *s = (const char *)data;
	char		   *text;
	size_t		    n, i;

	if (fh_mime_addrs(s, size, a, &n) == FH_OK) {
		if (n == 0 || n > FH_MIME_MAX_RCPT)
			abort();
		for (i = 0; i < n; i++)
			if (!fh_mime_addr_valid(a[i].s, a[i].len) ||
			    memchr(a[i].s, ',', a[i].len) != NULL ||
			    memchr(a[i].s, ' ', a[i].len) != NULL)
				abort();
	}
	fh_buf_init(&b, 1 << 20);
	if (fh_mime_header_value(&b, 7, s, size) == FH_OK)
		check_7bit_lines(b.data != NULL ? b.data : "", b.len, 1);
	fh_buf_release(&b);

	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&m, 0, sizeof(m));
	m.from = "vm@example.com";
	m.to = "ops@example.com";
	m.subject = text;
	m.text = text;
	m.date = 1796565605;
	m.id_left = "abc";
	m.boundary = "fhabc";
	m.attach = data;
	m.attach_len = size;
	m.attach_name = "a.mp3";
	m.attach_type = "audio/mpeg";
	fh_buf_init(&b, 1 << 22);
	if (fh_mime_build(&m, &b) == FH_OK)
		check_7bit_lines(b.data, b.len, 0);
	fh_buf_release(&b);
	free(text);
	return 0;
}
