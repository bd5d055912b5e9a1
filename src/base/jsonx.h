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

/* What a bare Infinity token of a request is read as: jansson holds no
 * infinity, and the largest double is the one finite number that stands for
 * it without loss (it is beyond float range, where every model computes). */
#define JSON_INFINITY_TEXT "1.7976931348623157e308"

/* A JSON number's value, the stand-in above read back as an infinity. */
double json_number_read(const struct json_t *v);

#endif
