/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_twiml.c - the TwiML writer's escaping, as a round trip.
 *
 * The input is a program of writer calls: an op byte, then for open an
 * element byte, for attr an attribute byte and a value, for text a value;
 * a value runs to the next NUL (or the end).  The same calls are recorded
 * as the events an XML parser should report.  When fh_twiml_finish()
 * succeeds, the document must be well-formed XML (checked by the small
 * parser below: declaration, one root, matching tags, unique attributes,
 * only XML characters, only the five entities and character references)
 * and its events, values unescaped and normalised as XML 1.0 says, must
 * equal the recorded ones.  When it fails, some value must hold invalid
 * UTF-8 or a character XML does not allow (FH_EINPUT), or a call must
 * have broken the writer's rules (FH_EINTERNAL).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lib/twiml.h"
#include "lib/valid.h"

#define MAX_EVENTS 256

enum ev_kind { EV_START, EV_ATTR, EV_TEXT, EV_END };

struct ev {
	enum ev_kind kind;
	const char  *name;  /* element or attribute */
	char	    *value; /* attribute value or text (owned) */
};

struct evs {
	struct ev e[MAX_EVENTS];
	size_t	  n;
};

static void
evs_release(struct evs *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->e[i].value);
	v->n = 0;
}

/* Add an event; adjacent texts merge and empty ones vanish, as a parser
 * reports them.  0 when full. */
static int
ev_add(struct evs *v, enum ev_kind kind, const char *name, const char *val,
    size_t len)
{
	struct ev *last = v->n > 0 ? &v->e[v->n - 1] : NULL;
	char	  *p;
	size_t	   have;

	if (kind == EV_TEXT && len == 0)
		return 1;
	if (kind == EV_TEXT && last != NULL && last->kind == EV_TEXT) {
		have = strlen(last->value);
		p = realloc(last->value, have + len + 1);
		if (p == NULL)
			abort();
		memcpy(p + have, val, len);
		p[have + len] = '\0';
		last->value = p;
		return 1;
	}
	if (v->n == MAX_EVENTS)
		return 0;
	v->e[v->n].kind = kind;
	v->e[v->n].name = name;
	v->e[v->n].value = NULL;
	if (val != NULL) {
		p = malloc(len + 1);
		if (p == NULL)
			abort();
		memcpy(p, val, len);
		p[len] = '\0';
		v->e[v->n].value = p;
	}
	v->n++;
	return 1;
}

/* The next UTF-8 code point of s[*i..n), or -1 when malformed. */
static long
next_cp(const unsigned char *s, size_t n, size_t *i)
{
	size_t	      k, len;
	unsigned long cp;

	if (s[*i] < 0x80)
		return s[(*i)++];
	len = (s[*i] & 0xe0) == 0xc0 ? 2
	    : (s[*i] & 0xf0) == 0xe0 ? 3
	    : (s[*i] & 0xf8) == 0xf0 ? 4
				     : 0;
	if (len == 0 || n - *i < len)
		return -1;
	cp = s[*i] & (0x7f >> len);
	for (k = 1; k < len; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[*i + k] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff)
		return -1;
	*i += len;
	return (long)cp;
}

/* XML 1.0's Char production. */
static int
xml_char(long c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
	    (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/* 1 when s (NUL-terminated) is something the writer must accept. */
static int
acceptable(const char *s)
{
	size_t i = 0, n = strlen(s);
	long   c;

	while (i < n) {
		c = next_cp((const unsigned char *)s, n, &i);
		if (c < 0 || !xml_char(c))
			return 0;
	}
	return 1;
}

/* Append code point c as UTF-8. */
static size_t
put_cp(char *out, unsigned long c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * The parser.  The document has had its line ends normalised (CR LF and
 * a lone CR to LF) before it gets here.
 */
struct px {
	const char *s;
	size_t	    n, i;
	struct evs *out;
};

#define FAIL() abort()

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* A name at the cursor, which must match one of the writer's tables
 * (returned: it outlives the document). */
static const char *
xml_name(struct px *p, int attr)
{
	size_t	    start = p->i, len;
	const char *cand;
	int	    k, max = attr ? FH_TA__MAX : FH_TW__MAX;

	while (p->i < p->n && is_name_char(p->s[p->i]))
		p->i++;
	len = p->i - start;
	if (len == 0)
		FAIL();
	for (k = 0; k < max; k++) {
		cand = attr ? fh_twiml_attr_name(k) : fh_twiml_elem_name(k);
		if (strlen(cand) == len && memcmp(cand, p->s + start, len) == 0)
			return cand;
	}
	FAIL();
	return NULL;
}

/* The value of hex digit h, or abort. */
static unsigned long
hexval(char h)
{
	if (h >= '0' && h <= '9')
		return (unsigned long)(h - '0');
	if (h >= 'a' && h <= 'f')
		return (unsigned long)(h - 'a' + 10);
	if (h >= 'A' && h <= 'F')
		return (unsigned long)(h - 'A' + 10);
	FAIL();
	return 0;
}

/* Character data up to delim ('<' for text, '"' for an attribute),
 * unescaped, into buf (the document's size: unescaping never grows);
 * its length.  In an attribute, literal
 * white space becomes a space (XML 1.0 section 3.3.3). */
static size_t
chars(struct px *p, char delim, char *buf)
{
	size_t	      len = 0, j, k;
	unsigned long c;
	char	     *end;

	while (p->i < p->n && p->s[p->i] != delim) {
		if (p->s[p->i] == '<' || (delim == '"' && p->s[p->i] == '>'))
			FAIL(); /* '>' is legal in text; the writer escapes it
				 */
		if (p->s[p->i] != '&') {
			if (delim == '"' &&
			    (p->s[p->i] == '\t' || p->s[p->i] == '\n'))
				buf[len++] = ' ';
			else
				buf[len++] = p->s[p->i];
			p->i++;
			continue;
		}
		end = memchr(p->s + p->i, ';', p->n - p->i);
		if (end == NULL)
			FAIL();
		j = (size_t)(end - (p->s + p->i));
		if (j == 4 && memcmp(p->s + p->i, "&amp", 4) == 0)
			buf[len++] = '&';
		else if (j == 3 && memcmp(p->s + p->i, "&lt", 3) == 0)
			buf[len++] = '<';
		else if (j == 3 && memcmp(p->s + p->i, "&gt", 3) == 0)
			buf[len++] = '>';
		else if (j == 5 && memcmp(p->s + p->i, "&quot", 5) == 0)
			buf[len++] = '"';
		else if (j == 5 && memcmp(p->s + p->i, "&apos", 5) == 0)
			buf[len++] = '\'';
		else if (j >= 3 && p->s[p->i + 1] == '#') {
			c = 0;
			if (p->s[p->i + 2] == 'x') {
				if (j == 3 || j > 9)
					FAIL();
				for (k = p->i + 3; k < p->i + j; k++)
					c = c * 16 + hexval(p->s[k]);
			} else {
				if (j > 9)
					FAIL();
				for (k = p->i + 2; k < p->i + j; k++) {
					if (p->s[k] < '0' || p->s[k] > '9')
						FAIL();
					c = c * 10 +
					    (unsigned long)(p->s[k] - '0');
				}
			}
			if (!xml_char((long)c))
				FAIL();
			len += put_cp(buf + len, c);
		} else
			FAIL();
		p->i += j + 1;
	}
	if (delim == '"' && p->i == p->n)
		FAIL();
	buf[len] = '\0';
	return len;
}

static void
element(struct px *p, int depth)
{
	const char *el, *an, *seen[FH_TA__MAX];
	size_t	    nseen = 0, k, len;
	char	   *buf;

	if (depth > FH_TWIML_MAX_DEPTH || p->i >= p->n || p->s[p->i] != '<')
		FAIL();
	p->i++;
	el = xml_name(p, 0);
	if (!ev_add(p->out, EV_START, el, NULL, 0))
		FAIL();
	buf = malloc(p->n + 1);
	if (buf == NULL)
		abort();
	for (;;) {
		if (p->i >= p->n)
			FAIL();
		if (p->s[p->i] != ' ')
			break;
		p->i++;
		an = xml_name(p, 1);
		for (k = 0; k < nseen; k++)
			if (seen[k] == an)
				FAIL(); /* a repeated attribute */
		if (nseen == FH_TA__MAX)
			FAIL();
		seen[nseen++] = an;
		if (p->n - p->i < 2 || p->s[p->i] != '=' ||
		    p->s[p->i + 1] != '"')
			FAIL();
		p->i += 2;
		len = chars(p, '"', buf);
		p->i++; /* the closing quote */
		if (!ev_add(p->out, EV_ATTR, an, buf, len))
			FAIL();
	}
	if (p->n - p->i >= 2 && memcmp(p->s + p->i, "/>", 2) == 0) {
		p->i += 2;
		goto end;
	}
	if (p->s[p->i] != '>')
		FAIL();
	p->i++;
	for (;;) {
		len = chars(p, '<', buf);
		if (!ev_add(p->out, EV_TEXT, NULL, buf, len))
			FAIL();
		if (p->i >= p->n)
			FAIL();
		if (p->n - p->i >= 2 && p->s[p->i + 1] == '/')
			break;
		element(p, depth + 1);
	}
	p->i += 2;
	if (xml_name(p, 0) != el || p->i >= p->n || p->s[p->i] != '>')
		FAIL();
	p->i++;
end:
	free(buf);
	if (!ev_add(p->out, EV_END, el, NULL, 0))
		FAIL();
}

/* Names compare by text: two attributes share "timeout". */
static int
same_name(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/* Check body[0..n) and put its events into out. */
static void
parse(const char *body, size_t n, struct evs *out)
{
	struct px p;
	char	 *norm;
	size_t	  i = 0, m = 0;
	long	  c;

	/* only XML characters, in UTF-8; then line ends normalised */
	while (i < n) {
		c = next_cp((const unsigned char *)body, n, &i);
		if (c < 0 || !xml_char(c))
			FAIL();
	}
	norm = malloc(n + 1);
	if (norm == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (body[i] == '\r') {
			norm[m++] = '\n';
			if (i + 1 < n && body[i + 1] == '\n')
				i++;
		} else
			norm[m++] = body[i];
	}
	if (m < sizeof(decl) - 1 || memcmp(norm, decl, sizeof(decl) - 1) != 0)
		FAIL();
	p.s = norm;
	p.n = m;
	p.i = sizeof(decl) - 1;
	p.out = out;
	element(&p, 1);
	if (p.i != p.n)
		FAIL(); /* one root, nothing after it */
	if (out->n == 0 || out->e[0].name != fh_twiml_elem_name(FH_TW_RESPONSE))
		FAIL();
	free(norm);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fh_resp	resp;
	struct fh_twiml tw;
	struct evs     *want, *got;
	const char     *stack[64], *nm;
	char	       *val;
	size_t		i = 0, depth = 1, vlen, k;
	enum fh_err	err;
	int		bad_value = 0, op, ops = 0;

	want = calloc(1, sizeof(*want));
	got = calloc(1, sizeof(*got));
	val = malloc(size + 1);
	if (want == NULL || got == NULL || val == NULL)
		abort();
	fh_resp_init(&resp);
	fh_twiml_init(&tw, &resp);
	stack[0] = fh_twiml_elem_name(FH_TW_RESPONSE);
	(void)ev_add(want, EV_START, stack[0], NULL, 0);
	while (i < size && ops++ < 64) {
		op = data[i++] % 4;
		switch (op) {
		case 0: /* open */
			if (i >= size)
				break;
			k = data[i++] % FH_TW__MAX;
			fh_twiml_open(&tw, (enum fh_tw_elem)k);
			if (depth < FH_NITEMS(stack)) {
				stack[depth++] = fh_twiml_elem_name(k);
				(void)ev_add(
				    want, EV_START, stack[depth - 1], NULL, 0);
			}
			break;
		case 1: /* attr */
		case 2: /* text */
			k = op == 1 && i < size ? data[i++] % FH_TA__MAX : 0;
			vlen = 0;
			while (i < size && data[i] != 0)
				val[vlen++] = (char)data[i++];
			i++; /* the NUL */
			val[vlen] = '\0';
			if (!acceptable(val))
				bad_value = 1;
			nm = op == 1 ? fh_twiml_attr_name(k) : NULL;
			if (op == 1)
				fh_twiml_attr(&tw, (enum fh_tw_attr)k, val);
			else
				fh_twiml_text(&tw, val);
			(void)ev_add(
			    want, op == 1 ? EV_ATTR : EV_TEXT, nm, val, vlen);
			break;
		default: /* close */
			fh_twiml_close(&tw);
			if (depth > 0) {
				depth--;
				(void)ev_add(
				    want, EV_END, stack[depth], NULL, 0);
			}
			break;
		}
	}
	err = fh_twiml_finish(&tw);
	while (depth > 0)
		(void)ev_add(want, EV_END, stack[--depth], NULL, 0);

	if (err == FH_OK) {
		/* every value was acceptable, and comes back unchanged */
		if (bad_value)
			FAIL();
		parse(fh_buf_cstr(&resp.body), resp.body.len, got);
		if (want->n != MAX_EVENTS) {
			if (got->n != want->n)
				FAIL();
			for (k = 0; k < want->n; k++) {
				if (got->e[k].kind != want->e[k].kind ||
				    !same_name(
					got->e[k].name, want->e[k].name) ||
				    (want->e[k].value == NULL) !=
					(got->e[k].value == NULL) ||
				    (want->e[k].value != NULL &&
					strcmp(want->e[k].value,
					    got->e[k].value) != 0))
					FAIL();
			}
		}
	} else if (err != FH_EINTERNAL && !(err == FH_EINPUT && bad_value))
		FAIL();
	evs_release(want);
	evs_release(got);
	free(want);
	free(got);
	free(val);
	fh_resp_release(&resp);
	return 0;
}
