/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fh_check.h - the main() every Check program shares.
 */
#ifndef FH_CHECK_H
#define FH_CHECK_H

#include <check.h>
#include <stdlib.h>

#define FH_CHECK_MAIN(suite_fn) \
	int main(void) \
	{ \
		SRunner *sr = srunner_create(suite_fn()); \
		int	 failed; \
\
		srunner_run_all(sr, CK_NORMAL); \
		failed = srunner_ntests_failed(sr); \
		srunner_free(sr); \
		return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE; \
	}

#endif
