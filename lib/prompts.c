/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prompts.c - the wait experience's spoken texts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/kvfile.h"
#include "lib/prompts.h"
#include "lib/valid.h"

struct prompt_row {
	const char *key;
	const char *text;
};

static const struct prompt_row prompts[FH_PR__MAX] = {
    [FH_PR_INITIAL_GREETING] = {"initialGreeting",
	"Please wait while we direct your call to the next available "
	"representative."},
    [FH_PR_REPEATING] = {"repeatingPrompt",
	"To request a callback, or to leave a voicemail, press the star "
	"key at anytime... Otherwise, please continue to hold."},
    [FH_PR_REPEATING_CB_ONLY] = {"repeatingPromptCallbackOnly",
	"To request a callback, press the star key at anytime... "
	"Otherwise, please continue to hold."},
    [FH_PR_CB_OR_VM_CHOICE] = {"callbackOrVoicemailChoice",
	"To request a callback when a representative becomes available, "
	"press 1. To leave a voicemail for the next available "
	"representative, press 2. To continue holding, press any other "
	"key, or remain on the line."},
    [FH_PR_CB_ONLY_CHOICE] = {"callbackOnlyChoice",
	"To request a callback when a representative becomes available, "
	"press 1. To continue holding, press any other key, or remain on "
	"the line."},
    [FH_PR_CB_CHOICE] = {"callbackChoice",
	"To request a callback to the same number you have called from, "
	"press 1. To request a callback to a different number, press 2. "
	"To continue holding, press any other key, or remain on the "
	"line."},
    [FH_PR_VM_NUMBER_CHOICE] = {"voicemailNumberChoice",
	"To leave a voicemail and be called back at the number you are "
	"calling from, press 1. To be called back at a different number, "
	"press 2. To continue holding, press any other key, or remain on "
	"the line."},
    [FH_PR_CB_OTHER_NUMBER] = {"callbackForOtherNumber",
	"Please enter the phone number, starting with the country code. "
	"When you are finished, press the # sign."},
    [FH_PR_CB_OTHER_CONFIRM1] = {"callbackForOtherNumberConfirm1",
	"You entered"},
    [FH_PR_CB_OTHER_CONFIRM2] = {"callbackForOtherNumberConfirm2",
	"To confirm, press 1. To re-enter, press 2."},
    [FH_PR_CB_SUBMITTED] = {"callbackSubmitted",
	"Thank you. A callback has been requested. You will receive a "
	"call shortly. Goodbye."},
    [FH_PR_RECORD_VM] = {"recordVoicemailPrompt",
	"Please leave a message at the tone. When you are finished "
	"recording, you may hang up, or press the star key."},
    [FH_PR_VM_NOT_CAPTURED] = {"voicemailNotCaptured",
	"Sorry. We weren't able to capture your message."},
    [FH_PR_VM_RECORDED] = {"voicemailRecorded",
	"Your voicemail has been successfully recorded... Goodbye"},
    [FH_PR_UNAVAILABLE] = {"callbackAndVoicemailUnavailable",
	"The option to request a callback or leave a voicemail is not "
	"available at this time. Please continue to hold."},
    [FH_PR_AGENT_CONNECTING] = {"agentConnecting",
	"A representative is about to take your call. Please continue to "
	"hold."},
    [FH_PR_VM_FAILED_CB] = {"voicemailFailedCallback",
	"Sorry, we were unable to take your message. A callback has been "
	"requested instead. Goodbye."},
    [FH_PR_FOLLOWUP_FAILED] = {"followUpFailed",
	"Sorry, we were unable to complete your request. Please call "
	"again later. Goodbye."},
    [FH_PR_PROCESSING_ERROR] = {"processingError",
	"Sorry, we were unable to perform this operation. Please remain "
	"on the line."},
    [FH_PR_INVALID_INPUT] = {"invalidInput",
	"You have entered an invalid selection. Please try again."},
    [FH_PR_POSITION_NEXT] = {"queuePositionNext", "You are next in line."},
    [FH_PR_POSITION] = {"queuePosition", "You are number {n} in line."},
    [FH_PR_WAIT_UNDER_MINUTE] = {"waitLessThanMinute",
	"Your estimated wait time is less than a minute."},
    [FH_PR_WAIT_ONE_MINUTE] = {"waitAboutOneMinute",
	"Your estimated wait time is about 1 minute."},
    [FH_PR_WAIT_MINUTES] = {"waitAboutMinutes",
	"Your estimated wait time is about {n} minutes."},
    [FH_PR_WAIT_OVER_MINUTES] = {"waitMoreThanMinutes",
	"Your estimated wait time is more than {n} minutes."},
};

const char *
fh_prompt_key(enum fh_prompt p)
{
	return (unsigned)p < FH_PR__MAX ? prompts[p].key : NULL;
}

const char *
fh_prompt_text(char *const *over, enum fh_prompt p)
{
	if ((unsigned)p >= FH_PR__MAX)
		return "";
	if (over != NULL && over[p] != NULL)
		return over[p];
	return prompts[p].text;
}

enum fh_err
fh_prompt_format(
    char *const *over, enum fh_prompt p, long long n, struct fh_buf *out)
{
	const char *s = fh_prompt_text(over, p), *ph;
	char	    num[24];
	enum fh_err err = FH_OK;

	if (snprintf(num, sizeof(num), "%lld", n) >= (int)sizeof(num))
		return FH_EINTERNAL;
	while (err == FH_OK && (ph = strstr(s, "{n}")) != NULL) {
		err = fh_buf_add(out, s, (size_t)(ph - s));
		if (err == FH_OK)
			err = fh_buf_addstr(out, num);
		s = ph + 3;
	}
	if (err == FH_OK)
		err = fh_buf_addstr(out, s);
	return err;
}

struct parse_arg {
	char **over;
};

static enum fh_err
set_prompt(const char *key, const char *value, void *arg)
{
	struct parse_arg *pa = arg;
	size_t		  i, n = strlen(value);
	char		 *copy;

	for (i = 0; i < FH_PR__MAX; i++)
		if (strcmp(prompts[i].key, key) == 0)
			break;
	if (i == FH_PR__MAX || n == 0 || n > FH_PROMPT_MAX_TEXT ||
	    !fh_utf8_valid(value, n))
		return FH_EINPUT;
	copy = fh_strndup(value, n);
	if (copy == NULL)
		return FH_ENOMEM;
	free(pa->over[i]);
	pa->over[i] = copy;
	return FH_OK;
}

enum fh_err
fh_prompts_parse(const char *text, size_t len, char **over, size_t *lineno)
{
	struct parse_arg pa;
	enum fh_err	 err;

	pa.over = over;
	err = fh_kv_parse(text, len, set_prompt, &pa, lineno);
	if (err != FH_OK) {
		fh_prompts_release(over);
		return err == FH_ENOMEM ? err : FH_EINPUT;
	}
	return FH_OK;
}

void
fh_prompts_release(char **over)
{
	size_t i;

	for (i = 0; i < FH_PR__MAX; i++) {
		free(over[i]);
		over[i] = NULL;
	}
}
