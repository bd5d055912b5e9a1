/* numtext — numbers to and from text, exactly: what CSV cells, responses and
 * scored files need. */
#ifndef TABSERVE_NUMTEXT_H
#define TABSERVE_NUMTEXT_H

#include <stddef.h>

/* Parses a whole decimal number (strtod syntax, no trailing bytes) into *out;
 * rejects empty strings, NaN and infinities. Returns 0 or -1 (no message). */
int parse_finite_double(const char *s, size_t len, double *out);

/* Writes v as printf's "%.9g" does (9 significant digits: a float read back
 * exactly) into buf (at least 32 bytes, NUL-terminated); returns the length.
 * Values in [1e-4, 1) (probabilities) take an integer path ~10x cheaper than
 * printf, which answers for everything else. */
int format_float(char *buf, float v);

/* Writes v in decimal, as printf's "%llu" (buf: at least 21 bytes, not
 * NUL-terminated); returns the length. For the hot paths that build answers. */
size_t format_unsigned(char *buf, unsigned long long v);

#endif
