/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.h - the two clocks of the tree, in ms.
 *
 * fh_now_ms() is monotonic: deadlines, retry delays, cache ages, anything
 * measured between two points of one process (a clock step must not
 * stretch or cut them).  fh_wall_ms() is the calendar: the times written
 * into claim markers and compared with those Twilio and other hosts write.
 * Nothing here allocates or keeps state.
 */
#ifndef FH_CLOCK_H
#define FH_CLOCK_H

#include <stdint.h>

/* Monotonic clock in ms; 0 when it cannot be read. */
int64_t fh_now_ms(void);

/* The wall clock in ms since the epoch, for comparing with the calendar
 * times that claims and Twilio carry; 0 when the clock cannot be read. */
long long fh_wall_ms(void);

#endif
