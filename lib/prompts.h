/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prompts.h - the wait experience's spoken texts
 * (docs/design/wait-experience.md#prompts).
 *
 * Each prompt has a key (the name used in the FLEXHOOKS_PROMPTS file) and a
 * built-in English default.  fh_prompts_parse() reads a KEY=VALUE file in
 * the config-file syntax into an array of FH_PROMPT__MAX strings, where
 * NULL means "use the default"; the caller owns the strings it stores and
 * frees them with fh_prompts_release().  fh_prompt_text() never returns
 * NULL.
 */
#ifndef FH_PROMPTS_H
#define FH_PROMPTS_H

#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"

#define FH_PROMPT_MAX_TEXT 1000 /* bytes per prompt */

enum fh_prompt {
	FH_PR_INITIAL_GREETING = 0,
	FH_PR_REPEATING,
	FH_PR_REPEATING_CB_ONLY,
	FH_PR_CB_OR_VM_CHOICE,
	FH_PR_CB_ONLY_CHOICE,
	FH_PR_CB_CHOICE,
	FH_PR_VM_NUMBER_CHOICE,
	FH_PR_CB_OTHER_NUMBER,
	FH_PR_CB_OTHER_CONFIRM1,
	FH_PR_CB_OTHER_CONFIRM2,
	FH_PR_CB_SUBMITTED,
	FH_PR_RECORD_VM,
	FH_PR_VM_NOT_CAPTURED,
	FH_PR_VM_RECORDED,
	FH_PR_UNAVAILABLE,
	FH_PR_AGENT_CONNECTING,
	FH_PR_VM_FAILED_CB,
	FH_PR_FOLLOWUP_FAILED,
	FH_PR_PROCESSING_ERROR,
	FH_PR_INVALID_INPUT,
	/* announcements (FLEXHOOKS_ANNOUNCE); "{n}" stands for the number */
	FH_PR_POSITION_NEXT,
	FH_PR_POSITION,
	FH_PR_WAIT_UNDER_MINUTE,
	FH_PR_WAIT_ONE_MINUTE,
	FH_PR_WAIT_MINUTES,
	FH_PR_WAIT_OVER_MINUTES,
	FH_PR__MAX
};

/* The file key of p ("initialGreeting"), or NULL when out of range. */
const char *fh_prompt_key(enum fh_prompt p);

/* The text of p: over[p] when over (may be NULL) has one, else the
 * built-in default.  Borrowed from over or static. */
const char *fh_prompt_text(char *const *over, enum fh_prompt p);

/* Append the text of p to out with every "{n}" replaced by n (decimal).
 * FH_ETOOBIG, FH_ENOMEM. */
enum fh_err fh_prompt_format(char *const *over, enum fh_prompt p, long long n,
    struct fh_buf *out) FH_MUST_CHECK;

/* Parse a prompts file text[0..len) into over[0..FH_PROMPT__MAX) (which the
 * caller zeroed); each assignment replaces one entry with a heap copy.  An
 * unknown key, a malformed line, an empty or overlong text, or text that
 * is not UTF-8 is FH_EINPUT with its line number in *lineno. */
enum fh_err fh_prompts_parse(
    const char *text, size_t len, char **over, size_t *lineno) FH_MUST_CHECK;

/* Free the strings of over[0..FH_PROMPT__MAX) and set them to NULL. */
void fh_prompts_release(char **over);

#endif
