/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locations.h - the locations file: the entry for a number or a location
 * name, read by /location-lookup and /incoming-call.
 *
 * FLEXHOOKS_LOCATIONS names a JSON file (at most FH_LOCATIONS_MAX_FILE
 * bytes) whose top-level object maps keys to entries.  An entry needs the
 * strings location and locationId, a locationPhone that is E.164 or "",
 * and may have the strings queueName and queueSid; other keys are ignored
 * with a warning; one invalid entry makes the whole file invalid.
 *
 * The data lives in one store per process, owned by this module.  Before a
 * lookup fh_location_refresh() compares the file's inode, size and mtime
 * (at most once a second, or at once after fh_location_reload_request(),
 * which is safe in a signal handler) and reloads when they changed.  A
 * version that fails keeps the last good data in use; with none, the route
 * answers 503.
 */
#ifndef FH_LOCATIONS_H
#define FH_LOCATIONS_H

#include <stddef.h>

#include <json-c/json.h>

#include "lib/err.h"
#include "lib/log.h"

#define FH_LOCATIONS_MAX_FILE (1024 * 1024)
#define FH_LOCATIONS_CHECK_MS 1000 /* between two stat() calls */
#define FH_LOCATION_MAX_KEY 256

/* Parse and validate the text of a locations file into *out: an object
 * from key to the entry in answer order (location, locationId,
 * locationPhone, then queueName and queueSid when present), which the
 * caller puts.  Warnings (ignored keys) and the reason of a failure go to
 * log (may be NULL).  Returns FH_OK, FH_EINPUT (invalid) or FH_ENOMEM. */
enum fh_err fh_location_parse(const char *text, size_t len, struct fh_log *log,
    struct json_object **out) FH_MUST_CHECK;

/* Bring the store up to date with the file at path (borrowed; NULL drops
 * the store).  Returns FH_OK when data is loaded (possibly an older good
 * version), FH_EUNAVAIL when none is. */
enum fh_err fh_location_refresh(
    const char *path, struct fh_log *log) FH_MUST_CHECK;

/* The stored entry for key, borrowed until the next refresh, or NULL. */
struct json_object *fh_location_get(const char *key);

/* Force a reload at the next refresh (async-signal-safe: SIGHUP). */
void fh_location_reload_request(void);

/* Install the SIGHUP handler that calls fh_location_reload_request(). */
void fh_location_install_sighup(void);

/* Drop the store (tests, and the end of the program). */
void fh_location_release(void);

#endif
