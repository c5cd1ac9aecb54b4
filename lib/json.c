/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json.c - strict parsing and small building helpers over json-c.
 */
#include <string.h>
#include <strings.h>

#include "lib/json.h"
#include "lib/valid.h"

enum fh_err
fh_json_parse(const char *s, size_t len, struct json_object **out)
{
	struct json_tokener    *tok;
	struct json_object     *obj = NULL;
	enum json_tokener_error jerr;
	size_t			used;
	enum fh_err		err = FH_EINPUT;

	*out = NULL;
	if (len > (size_t)0x7fffffff || memchr(s, '\0', len) != NULL ||
	    !fh_utf8_valid(s, len))
		return FH_EINPUT;
	tok = json_tokener_new_ex(FH_JSON_MAX_DEPTH);
	if (tok == NULL)
		return FH_ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, s, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		/* a bare number needs an end marker; anything else is cut */
		json_object_put(obj);
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		used = len;
	} else
		used = json_tokener_get_parse_end(tok);
	if (jerr != json_tokener_success || obj == NULL)
		goto out;
	while (used < len && strchr(" \t\r\n", s[used]) != NULL)
		used++;
	if (used != len)
		goto out;
	*out = obj;
	obj = NULL;
	err = FH_OK;
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return err;
}

enum fh_err
fh_json_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (val == NULL)
		return FH_ENOMEM;
	if (json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return FH_ENOMEM;
	}
	return FH_OK;
}

enum fh_err
fh_json_add_str(struct json_object *obj, const char *key, const char *s)
{
	if (s == NULL)
		return json_object_object_add(obj, key, NULL) == 0 ? FH_OK
								   : FH_ENOMEM;
	return fh_json_add(obj, key, json_object_new_string(s));
}

const char *
fh_json_text(struct json_object *obj)
{
	return json_object_to_json_string_ext(
	    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

struct json_object *
fh_json_member(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

const char *
fh_json_str(struct json_object *obj, const char *key)
{
	struct json_object *v = fh_json_member(obj, key);

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
fh_json_true(struct json_object *v)
{
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	return json_object_is_type(v, json_type_string) &&
	    strcasecmp(json_object_get_string(v), "true") == 0;
}

enum fh_err
fh_json_copy(struct json_object *src, struct json_object **out)
{
	*out = NULL;
	if (json_object_deep_copy(src, out, NULL) != 0) {
		json_object_put(*out);
		*out = NULL;
		return FH_ENOMEM;
	}
	return FH_OK;
}
