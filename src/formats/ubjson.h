/* ubjson — Universal Binary JSON (ubjson.org, draft 12), as XGBoost's
 * save_model writes it (the default from XGBoost 2.1; "m.ubj"), read into
 * the jansson document its JSON twin parses to, so that one reader
 * (xgboost.c) serves both. Every value type is read: null, no-op, true,
 * false, the integers (int8, uint8, int16, int32, int64), float32, float64,
 * high-precision numbers, char, string, and arrays and objects with or
 * without a count and a value type ("[$d#L..." float arrays). A float32
 * becomes the double of the same value; a NaN or an infinity becomes null
 * (as in tabserve's reading of XGBoost's JSON, where bare NaN is read null).
 *
 * Hostile input: counts are checked against the bytes left before anything
 * is allocated, nesting is bounded, strings must be UTF-8, and every error
 * names the byte offset and what was expected there. */
#ifndef TABSERVE_UBJSON_H
#define TABSERVE_UBJSON_H

#include <stddef.h>

struct json_t;

#define UBJSON_MAX_DEPTH 64

/* Whether buf starts as a UBJSON object does ('{' and then a key's length
 * marker, or a count or type marker) — never the start of a JSON text. */
int ubjson_is(const char *buf, size_t len);

/* The document in buf (one value, nothing after it), as a new jansson
 * reference; NULL with err: "byte N: what" (name prefixed by the caller). */
struct json_t *ubjson_load(const char *buf, size_t len, char *err);

#endif
