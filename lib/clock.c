/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.c - the monotonic and the wall clock in ms (clock.h).
 */
#include <time.h>

#include "lib/clock.h"

int64_t
fh_now_ms(void)
{
	struct timespec ts;

	/* monotonic: a clock step must not stretch or cut a deadline */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
fh_wall_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
