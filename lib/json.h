/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json.h - small helpers over json-c.
 *
 * All JSON that flexhooks writes is a json-c tree serialised plain; all JSON
 * it reads goes through fh_json_parse(), which takes the length, limits the
 * depth and rejects trailing bytes.  Ownership follows json-c: a parsed
 * object belongs to the caller (json_object_put()); fh_json_add() steals
 * the value it is given.
 */
#ifndef FH_JSON_H
#define FH_JSON_H

#include <stddef.h>

#include <json-c/json.h>

#include "lib/err.h"

#define FH_JSON_MAX_DEPTH 16

/* Parse exactly s[0..len) (whitespace around the value allowed) into *out,
 * which the caller frees with json_object_put().  FH_EINPUT on a syntax
 * error, trailing bytes, too deep nesting, or invalid UTF-8. */
enum fh_err fh_json_parse(
    const char *s, size_t len, struct json_object **out) FH_MUST_CHECK;

/* Add val under key to obj, stealing val; FH_ENOMEM when val is NULL (a
 * failed json_object_new_*()). */
enum fh_err fh_json_add(struct json_object *obj, const char *key,
    struct json_object *val) FH_MUST_CHECK;

/* Add a string copy of s (NULL s adds JSON null). */
enum fh_err fh_json_add_str(
    struct json_object *obj, const char *key, const char *s) FH_MUST_CHECK;

/* The plain serialisation of obj, borrowed until obj changes or is freed. */
const char *fh_json_text(struct json_object *obj);

/* The member key of obj when obj is an object that has it, else NULL.
 * Borrowed from obj. */
struct json_object *fh_json_member(struct json_object *obj, const char *key);

/* The string at key if obj is an object and the value a string, else
 * NULL.  Borrowed from obj. */
const char *fh_json_str(struct json_object *obj, const char *key);

/* 1 when v is a JSON true or the string "true" in any case (JavaScript
 * clients and older task attributes write booleans as strings), else 0;
 * NULL is 0. */
int fh_json_true(struct json_object *v);

/* Deep copy of src into *out (caller puts it). */
enum fh_err fh_json_copy(
    struct json_object *src, struct json_object **out) FH_MUST_CHECK;

#endif
