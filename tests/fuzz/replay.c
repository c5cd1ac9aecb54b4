/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay.c - run a fuzz target over its seed directory (make check).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#ifndef SEED_DIR
#error "SEED_DIR must name the seed directory"
#endif

int
main(void)
{
	DIR	      *d;
	struct dirent *e;
	FILE	      *f;
	char	       path[4096];
	static uint8_t data[1 << 20];
	size_t	       n, count = 0;

	d = opendir(SEED_DIR);
	if (d == NULL) {
		fprintf(stderr, "cannot open seed directory '%s'\n", SEED_DIR);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", SEED_DIR,
			e->d_name) >= (int)sizeof(path))
			continue;
		f = fopen(path, "rb");
		if (f == NULL)
			continue;
		n = fread(data, 1, sizeof(data), f);
		fclose(f);
		LLVMFuzzerTestOneInput(data, n);
		count++;
	}
	closedir(d);
	printf("replayed %zu seeds from %s\n", count, SEED_DIR);
	printf("%zu passed, 0 failed\n", count);
	return count > 0 ? 0 : 1;
}
