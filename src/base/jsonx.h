/* jsonx — the one way tabserve names a JSON value's type in messages, and
 * makes client text fit to quote in a JSON string. */
#ifndef TABSERVE_JSONX_H
#define TABSERVE_JSONX_H

struct json_t;

/* "an object", "an array", "a string", "an integer" (no fraction or exponent),
 * "a number", "a boolean", "null"; "nothing" for NULL (an absent member). */
const char *json_type_name(const struct json_t *v);

/* Makes s valid UTF-8 in place for a JSON string: each byte that does not
 * begin a whole, shortest-form sequence (a stray continuation byte, a
 * character cut short by truncation, an overlong form, a surrogate) becomes
 * '?'. jansson refuses invalid UTF-8, which would lose the whole message. */
void utf8_scrub(char *s);

#endif
