/* SPDX-License-Identifier: Apache-2.0 */
/*
 * claim.h - what every claim marker in a task's attributes is made of.
 *
 * The modules that claim work in Twilio's task state (requeue, the wait
 * experience's follow-ups, the event handler, the voicemail email) write a
 * random claim ID and a time with If-Match, and judge other claims by
 * their age.  This module gives them the ID, once; the time is
 * fh_wall_ms() (clock.h).
 * Nothing here allocates or keeps state.
 */
#ifndef FH_CLAIM_H
#define FH_CLAIM_H

#include <stddef.h>

#include "lib/err.h"

#define FH_CLAIM_LEN 32 /* hex digits of a claim ID */

/* Write FH_CLAIM_LEN hex digits from the system's random source and a NUL
 * into out (outlen bytes, at least FH_CLAIM_LEN + 1).  FH_EINTERNAL when
 * out is too short or the random source fails; out is then unchanged or
 * partly written. */
enum fh_err fh_claim_new(char *out, size_t outlen) FH_MUST_CHECK;

#endif
