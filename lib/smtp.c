/* SPDX-License-Identifier: Apache-2.0 */
/*
 * smtp.c - one SMTP transaction through libcurl.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "lib/buf.h"
#include "lib/smtp.h"

/* The message as libcurl reads it. */
struct src {
	const char *p;
	size_t	    left;
};

static size_t
read_cb(char *out, size_t size, size_t nmemb, void *arg)
{
	struct src *s = arg;
	size_t	    n = size * nmemb;

	if (n > s->left)
		n = s->left;
	memcpy(out, s->p, n);
	s->p += n;
	s->left -= n;
	return n;
}

/* "<addr>" into out (FH_MIME_MAX_ADDR + 3 bytes). */
static enum fh_err
bracket(const char *a, size_t len, char *out, size_t outlen)
{
	int w;

	if (len > FH_MIME_MAX_ADDR)
		return FH_EINPUT;
	w = snprintf(out, outlen, "<%.*s>", (int)len, a);
	return w < 0 || (size_t)w >= outlen ? FH_EINPUT : FH_OK;
}

enum fh_err
fh_smtp_send(const struct fh_config *cfg, struct fh_log *log, const char *from,
    const struct fh_mime_addr *rcpt, size_t n, const char *msg, size_t len)
{
	CURL		  *c = NULL;
	struct curl_slist *to = NULL, *t;
	struct src	   src;
	char		   errbuf[CURL_ERROR_SIZE];
	char		   addr[FH_MIME_MAX_ADDR + 3];
	size_t		   i;
	long		   code = 0;
	int		   smtps;
	CURLcode	   cc;
	enum fh_err	   err;

	if (cfg->smtp_url == NULL)
		return FH_ECONFIG;
	smtps = strncmp(cfg->smtp_url, "smtps://", 8) == 0;
	c = curl_easy_init();
	if (c == NULL)
		return FH_ENOMEM;
	for (i = 0; i < n; i++) {
		err = bracket(rcpt[i].s, rcpt[i].len, addr, sizeof(addr));
		if (err != FH_OK)
			goto out;
		t = curl_slist_append(to, addr);
		if (t == NULL) {
			err = FH_ENOMEM;
			goto out;
		}
		to = t;
	}
	err = bracket(from, strlen(from), addr, sizeof(addr));
	if (err != FH_OK)
		goto out;
	src.p = msg;
	src.left = len;
	errbuf[0] = '\0';
	cc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	/* smtp:// must upgrade with STARTTLS or fail: never in clear */
	if (cc == CURLE_OK && !smtps)
		cc = curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (cc == CURLE_OK && cfg->smtp_ca_file != NULL)
		cc = curl_easy_setopt(c, CURLOPT_CAINFO, cfg->smtp_ca_file);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (cc == CURLE_OK && cfg->smtp_user != NULL)
		cc = curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
	if (cc == CURLE_OK && cfg->smtp_user != NULL)
		cc = curl_easy_setopt(c, CURLOPT_PASSWORD,
		    cfg->smtp_password != NULL ? cfg->smtp_password : "");
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_MAIL_FROM, addr);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_MAIL_RCPT, to);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(
		    c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_READDATA, &src);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(
		    c, CURLOPT_CONNECTTIMEOUT_MS, (long)FH_SMTP_CONNECT_MS);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(
		    c, CURLOPT_TIMEOUT_MS, (long)FH_SMTP_TIMEOUT_MS);
	if (cc != CURLE_OK) {
		fh_log_error(
		    log, "cannot set up SMTP: %s", curl_easy_strerror(cc));
		err = cc == CURLE_OUT_OF_MEMORY ? FH_ENOMEM : FH_EINTERNAL;
		goto out;
	}
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK) {
		err = FH_OK;
		goto out;
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	/* the error buffer names the server and its answer, never the
	 * password */
	fh_log_warn(log, "cannot send mail through '%s': %s (SMTP %ld)",
	    cfg->smtp_url, errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc),
	    code);
	err = cc == CURLE_OPERATION_TIMEDOUT ? FH_ETIMEOUT : FH_EUPSTREAM;
out:
	curl_slist_free_all(to);
	curl_easy_cleanup(c);
	return err;
}
