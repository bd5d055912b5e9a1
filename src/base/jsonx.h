/* jsonx — the one way tabserve names a JSON value's type in messages. */
#ifndef TABSERVE_JSONX_H
#define TABSERVE_JSONX_H

struct json_t;

/* "an object", "an array", "a string", "an integer" (no fraction or exponent),
 * "a number", "a boolean", "null". */
const char *json_type_name(const struct json_t *v);

#endif
