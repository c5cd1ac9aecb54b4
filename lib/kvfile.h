/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvfile.h - the KEY=VALUE file syntax shared by the configuration file
 * (FLEXHOOKS_CONFIG) and the prompts file (FLEXHOOKS_PROMPTS).
 *
 * One assignment a line: KEY=VALUE, the key made of letters, digits and
 * '_' after optional blanks, the value everything after the first '=' up
 * to the end of the line (a final CR dropped; no quoting, no escapes).
 * Empty lines and lines starting with '#' are skipped.  Nothing here
 * reads files or keeps state; the callers own what they keep.
 */
#ifndef FH_KVFILE_H
#define FH_KVFILE_H

#include <stddef.h>

#include "lib/err.h"

#define FH_KV_MAX_LINE 4096 /* bytes per line of the file */

/* Parse text[0..len): call set(key, value, arg) for each assignment (both
 * strings are freed, the value zeroed, when set returns; set copies what
 * it keeps) and stop at the first error it returns.  A line without '=',
 * with an invalid key or a NUL is FH_EINPUT, one longer than
 * FH_KV_MAX_LINE FH_ETOOBIG (line number in *lineno); FH_ENOMEM. */
enum fh_err fh_kv_parse(const char *text, size_t len,
    enum fh_err (*set)(const char *key, const char *value, void *arg),
    void *arg, size_t *lineno) FH_MUST_CHECK;

#endif
