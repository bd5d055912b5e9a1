/* encode — raw inputs (a JSON object, or text fields from CSV) to the feature
 * vector the predictor reads: each value validated against the schema
 * (schema.h), then the feature steps (features.h). Wrong types, non-finite
 * numbers, unknown categories and missing required fields are errors that name
 * the field. Allocates nothing. */
#ifndef TABSERVE_ENCODE_H
#define TABSERVE_ENCODE_H

#include <stddef.h>

#include "model/model.h"

struct json_t;

/* A JSON value (NULL: absent) as the schema's raw input value. */
raw_value raw_value_of_json(const struct json_t *j);

/* How a request's members are read. A member that is no input of the model is
 * an error naming it and the closest input (a misspelt field must not be
 * answered as if it were missing), unless ENCODE_IGNORE_UNKNOWN (the server's
 * --ignore-unknown-fields, for clients that send extra members). */
#define ENCODE_STRICT         0u
#define ENCODE_IGNORE_UNKNOWN 1u

/* Encodes one JSON object into x (m->n_features floats). `where` prefixes the JSON
 * path in messages ("$" or "$[3]"). null counts as missing; an object with none of
 * the model's inputs is an error. Numbers must be JSON numbers: "22" (a string) is
 * rejected. Returns 0, or -1 with err and *bad_input (the input's index, or -1
 * when the value is not an object or a member is unknown). */
int encode_json(const model *m, const struct json_t *obj, const char *where, unsigned rules, float *x,
                int *bad_input, char *err);

/* The same for the common request body, read straight from its text: one flat
 * object of the model's inputs (at least one, no other member) with numbers,
 * plain strings or null. Returns 0
 * with x filled, or -1 for anything else (no message: parse it with jansson and
 * call encode_json, which then gives the answer and the error). */
int encode_json_fast(const model *m, const char *text, size_t len, float *x);

/* The feature steps alone, for callers that validated each input's value
 * themselves with schema_value (the tensor protocols, which read a row from
 * several tensors): values (n_inputs,) -> x. Returns 0, or -1 with err and
 * *bad_input when a step overflows a float column. */
int encode_values(const model *m, const double *values, const char *where, float *x, int *bad_input,
                  char *err);

/* Encodes text values, one per model input in model order (NULL or "" = missing),
 * as read from CSV. Returns 0, or -1 with err and *bad_input. */
int encode_text(const model *m, const char *const *values, const size_t *lens, float *x, int *bad_input,
                char *err);

#endif
