/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dedupe.h - remember which webhook deliveries already created a task.
 *
 * Twilio sends I-Twilio-Idempotency-Token with each webhook request, the
 * same token on each of its retries of one delivery.  A struct fh_dedupe
 * is a fixed table of FH_DEDUPE_SLOTS entries in one shared anonymous
 * mapping that a program creates before it forks its worker processes
 * (fh_main_loop()), so that every process of the program on this host
 * sees the same entries.  An entry is {key, state, task SID, time}: the
 * key is SHA-256 of the route path, a NUL and the token (fh_dedupe_key());
 * the token itself is never stored.  A pending entry says that a process
 * (its pid is kept) is creating the task; a done entry holds the SID that
 * the delivery was answered with.
 *
 * What always holds: every read and write of the table happens under one
 * process-shared robust mutex, so a process that dies holding it (killed
 * mid-request) never blocks the others: the next locker takes the mutex
 * over (EOWNERDEAD) and carries on.  An entry lives FH_DEDUPE_TTL_MS after
 * it was last written; a pending entry whose process is gone, or that is
 * older than FH_DEDUPE_PENDING_MS, is abandoned and the next request for
 * its key takes it over.  When every slot is live, a new key replaces the
 * oldest entry.  Each host has its own table: nginx's upstream for the
 * create routes hashes on the token so that Twilio's retries reach the
 * same host (README.md "Scaling out").
 *
 * Ownership: fh_dedupe_new() maps the table and the caller unmaps it with
 * fh_dedupe_free() (in every process that inherited it; the last unmap
 * frees it).  Keys and SIDs are copied in and out; nothing is borrowed
 * past a call.
 */
#ifndef FH_DEDUPE_H
#define FH_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define FH_DEDUPE_SLOTS 4096
#define FH_DEDUPE_TTL_MS (3600 * 1000LL)   /* Twilio retries within it */
#define FH_DEDUPE_PENDING_MS (60 * 1000LL) /* > the longest deadline */
#define FH_DEDUPE_KEY_LEN 32		   /* SHA-256 */
#define FH_DEDUPE_SID_LEN 34		   /* WT + 32 hex digits... */
#define FH_DEDUPE_SID_MAX 40		   /* ...with room to spare */

enum fh_dedupe_state {
	FH_DEDUPE_NEW = 0, /* the caller now owns a pending entry */
	FH_DEDUPE_DONE,	   /* the delivery's SID is in sid */
	FH_DEDUPE_BUSY,	   /* another process is creating it */
	FH_DEDUPE__MAX
};

struct fh_dedupe;

/* Map a table of nslots entries (0: FH_DEDUPE_SLOTS) with a TTL of
 * ttl_ms (0: FH_DEDUPE_TTL_MS) and initialise its mutex.  *out is owned
 * by the caller, freed with fh_dedupe_free().  Returns FH_OK, or
 * FH_ENOMEM when the mapping or the mutex set-up fails. */
enum fh_err fh_dedupe_new(
    struct fh_dedupe **out, size_t nslots, int64_t ttl_ms) FH_MUST_CHECK;

/* Unmap d in this process (NULL does nothing). */
void fh_dedupe_free(struct fh_dedupe *d);

/* The key of a delivery: SHA-256 of route, a NUL byte and token (both
 * borrowed for the call) into key.  Returns FH_OK or FH_EINTERNAL when
 * OpenSSL fails. */
enum fh_err fh_dedupe_key(const char *route, const char *token,
    unsigned char key[FH_DEDUPE_KEY_LEN]) FH_MUST_CHECK;

/* Look key up at time now_ms (fh_now_ms()): a done entry sets *state to
 * FH_DEDUPE_DONE and copies its SID into sid (sidlen bytes, at least
 * FH_DEDUPE_SID_MAX); a live pending entry of another process sets
 * FH_DEDUPE_BUSY; otherwise the caller's pending entry is written and
 * *state is FH_DEDUPE_NEW, and the caller must end it with
 * fh_dedupe_done() or fh_dedupe_abort().  Returns FH_OK, FH_EINPUT when
 * sidlen is too small, or FH_EINTERNAL when the mutex cannot be taken (the
 * caller goes on without the table). */
enum fh_err fh_dedupe_begin(struct fh_dedupe *d,
    const unsigned char key[FH_DEDUPE_KEY_LEN], int64_t now_ms,
    enum fh_dedupe_state *state, char *sid, size_t sidlen) FH_MUST_CHECK;

/* Mark the caller's entry for key done with sid (copied) at now_ms.
 * Written even if the entry was evicted meanwhile.  Returns FH_OK,
 * FH_EINPUT for a sid longer than FH_DEDUPE_SID_MAX - 1, or FH_EINTERNAL
 * when the mutex cannot be taken. */
enum fh_err fh_dedupe_done(struct fh_dedupe *d,
    const unsigned char key[FH_DEDUPE_KEY_LEN], const char *sid,
    int64_t now_ms) FH_MUST_CHECK;

/* Remove the caller's pending entry for key (a failed create: Twilio's
 * retry does the work again).  A done entry, or another process's, is
 * left alone. */
void fh_dedupe_abort(
    struct fh_dedupe *d, const unsigned char key[FH_DEDUPE_KEY_LEN]);

/* Take d's mutex and return holding it (tests: a process that then dies
 * holding it).  Returns FH_OK or FH_EINTERNAL. */
enum fh_err fh_dedupe_hold(struct fh_dedupe *d) FH_MUST_CHECK;

/* The number of live entries at now_ms (tests). */
size_t fh_dedupe_count(struct fh_dedupe *d, int64_t now_ms);

#endif
