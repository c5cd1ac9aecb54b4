/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_locations.c - the locations file of /location-lookup: parse and
 * validate, then look every key of an accepted file up in its answer.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "flex/locations.h"
#include "fuzz.h"
#include "lib/json.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *map = NULL;

	if (fh_location_parse((const char *)data, size, NULL, &map) != FH_OK) {
		if (map != NULL)
			abort(); /* a failure leaves nothing behind */
		return 0;
	}
	json_object_object_foreach(map, key, e)
	{
		/* every answer has the three required keys, as strings */
		if (key[0] == '\0' || fh_json_str(e, "location") == NULL ||
		    fh_json_str(e, "locationId") == NULL ||
		    fh_json_str(e, "locationPhone") == NULL ||
		    fh_json_text(e) == NULL)
			abort();
	}
	json_object_put(map);
	return 0;
}
