/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz.h - the libFuzzer entry point every fuzz_<parser>.c defines.
 * Built with -fsanitize=fuzzer by "make fuzz"; under "make check" a plain
 * main() (replay.c) feeds it every file of the target's seed directory.
 */
#ifndef FH_FUZZ_H
#define FH_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
