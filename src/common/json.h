/* Thin helpers over yajl: parse a document, and emit one with less ceremony. */
#pragma once
#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "err.h"

/* Read a whole file (malloc'd, NUL-terminated). */
int json_read_file(const char *path, char **text, size_t *len, struct hull_err *err);
int json_read_fileat(int dirfd, const char *path, char **text, size_t *len, struct hull_err *err);

/* Parse text; the error names what is wrong and where. Free with yajl_tree_free. */
yajl_val json_parse(const char *text, struct hull_err *err);

/* Member of an object, or NULL; of a repeated key, the last (as Go reads it). */
yajl_val json_get(yajl_val obj, const char *key);

/* Emitting. A NULL string is written as null. */
yajl_gen json_gen_new(int pretty);
void json_str(yajl_gen g, const char *s);
void json_key_str(yajl_gen g, const char *key, const char *value);
void json_key_int(yajl_gen g, const char *key, long long value);
void json_key_bool(yajl_gen g, const char *key, int value);
void json_key(yajl_gen g, const char *key);
/* The text emitted so far, malloc'd; frees g. */
char *json_gen_finish(yajl_gen g);
