/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locations.c - the locations store (locations.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "flex/locations.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/valid.h"

#define WS " \t\r\n"

/* The answer keys, in answer order; the first three are required. */
static const char *const entry_keys[] = {
    "location",
    "locationId",
    "locationPhone",
    "queueName",
    "queueSid",
};
#define NREQUIRED 3

static struct {
	char		   *path;
	struct json_object *data;
	dev_t		    dev;
	ino_t		    ino;
	off_t		    size;
	struct timespec	    mtime;
	long long	    checked_ms; /* monotonic, 0 = never */
	int		    seen;	/* dev..mtime are valid */
} store;

static volatile sig_atomic_t reload_requested;

void
fh_location_reload_request(void)
{
	reload_requested = 1;
}

static void
on_hup(int sig)
{
	(void)sig;
	fh_location_reload_request();
}

void
fh_location_install_sighup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
}

void
fh_location_release(void)
{
	json_object_put(store.data);
	free(store.path);
	memset(&store, 0, sizeof(store));
}

/* The string value of entry key number i, or NULL when it is not one:
 * a JSON string without NUL, valid UTF-8; location and locationId not
 * empty; locationPhone E.164 as written, or empty. */
static const char *
entry_value(size_t i, struct json_object *v)
{
	struct fh_val fv;
	const char   *s;
	size_t	      n;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	n = strlen(s);
	if (n != (size_t)json_object_get_string_len(v) ||
	    !fh_utf8_valid(s, n) || (i < 2 && n == 0))
		return NULL;
	if (i == 2 && n > 0 &&
	    (fh_valid_e164(s, n, &fv) != FH_OK || fv.len != n ||
		strcmp(fv.str, s) != 0))
		return NULL;
	return s;
}

/* Check one entry and build its answer object into *out. */
static enum fh_err
parse_entry(const char *key, struct json_object *e, struct fh_log *log,
    struct json_object **out)
{
	struct json_object *o, *v;
	const char	   *s;
	size_t		    i;
	int		    known;
	enum fh_err	    err = FH_OK;

	*out = NULL;
	if (!json_object_is_type(e, json_type_object)) {
		fh_log_error(log, "invalid locations entry '%s': %s", key,
		    "not an object");
		return FH_EINPUT;
	}
	json_object_object_foreach(e, k, val)
	{
		(void)val;
		known = 0;
		for (i = 0; i < FH_NITEMS(entry_keys); i++)
			if (strcmp(k, entry_keys[i]) == 0)
				known = 1;
		if (!known)
			fh_log_warn(log,
			    "locations entry '%s': key '%s' "
			    "ignored",
			    key, k);
	}
	o = json_object_new_object();
	if (o == NULL)
		return FH_ENOMEM;
	for (i = 0; i < FH_NITEMS(entry_keys) && err == FH_OK; i++) {
		if (!json_object_object_get_ex(e, entry_keys[i], &v)) {
			if (i < NREQUIRED) {
				fh_log_error(log,
				    "invalid locations entry "
				    "'%s': missing '%s'",
				    key, entry_keys[i]);
				err = FH_EINPUT;
			}
			continue;
		}
		s = entry_value(i, v);
		if (s == NULL) {
			fh_log_error(log,
			    "invalid locations entry '%s': "
			    "invalid '%s'",
			    key, entry_keys[i]);
			err = FH_EINPUT;
			continue;
		}
		err = fh_json_add_str(o, entry_keys[i], s);
	}
	if (err != FH_OK) {
		json_object_put(o);
		return err;
	}
	*out = o;
	return FH_OK;
}

enum fh_err
fh_location_parse(
    const char *text, size_t len, struct fh_log *log, struct json_object **out)
{
	struct json_object *top = NULL, *map = NULL, *entry;
	struct fh_log	    quiet;
	enum fh_err	    err;

	*out = NULL;
	if (log == NULL) {
		fh_log_init(&quiet, "location", -1);
		log = &quiet;
	}
	if (len > FH_LOCATIONS_MAX_FILE) {
		fh_log_error(log, "invalid locations file: %s", "too big");
		return FH_EINPUT;
	}
	err = fh_json_parse(text, len, &top);
	if (err != FH_OK) {
		fh_log_error(log, "invalid locations file: %s", "not JSON");
		goto out;
	}
	if (!json_object_is_type(top, json_type_object)) {
		fh_log_error(
		    log, "invalid locations file: %s", "not a JSON object");
		err = FH_EINPUT;
		goto out;
	}
	map = json_object_new_object();
	if (map == NULL) {
		err = FH_ENOMEM;
		goto out;
	}
	json_object_object_foreach(top, key, e)
	{
		if (key[0] == '\0' || strlen(key) > FH_LOCATION_MAX_KEY) {
			fh_log_error(log, "invalid locations file: %s",
			    "empty or overlong key");
			err = FH_EINPUT;
			goto out;
		}
		if ((err = parse_entry(key, e, log, &entry)) != FH_OK)
			goto out;
		if ((err = fh_json_add(map, key, entry)) != FH_OK)
			goto out;
	}
	*out = map;
	map = NULL;
out:
	json_object_put(top);
	json_object_put(map);
	return err;
}

/* Read the whole file at fd into out (capped). */
static enum fh_err
read_all(int fd, struct fh_buf *out)
{
	char	    chunk[8192];
	ssize_t	    n;
	enum fh_err err = FH_OK;

	while (err == FH_OK && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return FH_ECONFIG;
		}
		err = fh_buf_add(out, chunk, (size_t)n);
	}
	return err;
}

/* Load the file; on success replace the store's data and identity. */
static void
load(const char *path, struct fh_log *log)
{
	struct json_object *map = NULL;
	struct fh_buf	    text;
	struct stat	    st;
	enum fh_err	    err;
	int		    fd;

	fh_buf_init(&text, FH_LOCATIONS_MAX_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fh_log_error(log, "cannot open locations file '%s': %s", path,
		    strerror(errno));
		store.seen = 0;
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fh_log_error(log, "cannot read locations file '%s': %s", path,
		    "not a regular file");
		goto out;
	}
	/* remember this version even if it fails: no reload loop on it */
	store.dev = st.st_dev;
	store.ino = st.st_ino;
	store.size = st.st_size;
	store.mtime = st.st_mtim;
	store.seen = 1;
	err = read_all(fd, &text);
	if (err == FH_OK)
		err =
		    fh_location_parse(fh_buf_cstr(&text), text.len, log, &map);
	else
		fh_log_error(log, "cannot read locations file '%s': %s", path,
		    err == FH_ETOOBIG ? "too big" : "read error");
	if (err != FH_OK) {
		if (store.data != NULL)
			fh_log_warn(log,
			    "locations file '%s' unchanged: the "
			    "last good version stays in use",
			    path);
		goto out;
	}
	json_object_put(store.data);
	store.data = map;
	fh_log_info(log, "locations file '%s' loaded: %d entries", path,
	    json_object_object_length(map));
out:
	if (fd >= 0)
		close(fd);
	fh_buf_release(&text);
}

enum fh_err
fh_location_refresh(const char *path, struct fh_log *log)
{
	struct stat   st;
	struct fh_log quiet;
	long long     now = fh_now_ms();
	int	      force = reload_requested;

	if (log == NULL) {
		fh_log_init(&quiet, "location", -1);
		log = &quiet;
	}
	if (path == NULL) {
		fh_location_release();
		return FH_EUNAVAIL;
	}
	if (store.path == NULL || strcmp(store.path, path) != 0) {
		fh_location_release();
		store.path = strdup(path);
		if (store.path == NULL)
			return FH_ENOMEM;
		force = 1;
	}
	if (!force && store.checked_ms != 0 &&
	    now - store.checked_ms < FH_LOCATIONS_CHECK_MS)
		return store.data != NULL ? FH_OK : FH_EUNAVAIL;
	store.checked_ms = now != 0 ? now : 1;
	reload_requested = 0;
	if (!force && store.seen && stat(path, &st) == 0 &&
	    st.st_dev == store.dev && st.st_ino == store.ino &&
	    st.st_size == store.size &&
	    st.st_mtim.tv_sec == store.mtime.tv_sec &&
	    st.st_mtim.tv_nsec == store.mtime.tv_nsec)
		return store.data != NULL ? FH_OK : FH_EUNAVAIL;
	load(path, log);
	return store.data != NULL ? FH_OK : FH_EUNAVAIL;
}

struct json_object *
fh_location_get(const char *key)
{
	struct json_object *e;

	if (store.data == NULL || key == NULL ||
	    !json_object_object_get_ex(store.data, key, &e))
		return NULL;
	return e;
}
