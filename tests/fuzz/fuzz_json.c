/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_json.c - upstream JSON: the strict parser, Twilio error bodies, and
 * task attributes through the task builder (as a fetched original task).
 */
#include <stdlib.h>
#include <string.h>

#include "flex/attr.h"
#include "fuzz.h"
#include "lib/json.h"
#include "lib/rest.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o = NULL, *task = NULL;
	struct fh_twerr	    e;
	struct fh_task_in   in;
	struct fh_buf	    b;

	memset(&e, 0, sizeof(e));
	fh_rest_parse_error((const char *)data, size, &e);
	if (fh_json_parse((const char *)data, size, &o) == FH_OK)
		(void)fh_json_text(o);
	json_object_put(o);

	/* the same bytes as a task's attributes string */
	task = json_object_new_object();
	if (task == NULL)
		return 0;
	json_object_object_add(task, "attributes",
	    json_object_new_string_len((const char *)data, (int)size));
	memset(&in, 0, sizeof(in));
	in.orig = task;
	in.default_workflow = "WW0123456789abcdef0123456789abcdef";
	in.now_ms = 1;
	fh_buf_init(&b, 1 << 22);
	if (fh_attr_build(&in, &b) == FH_OK && b.len == 0)
		abort();
	fh_buf_release(&b);
	json_object_put(task);
	return 0;
}
