/* util — the one error convention and the one way to write an output file.
 * Every fallible function in tabserve returns 0 on success and -1 on failure,
 * filling a caller-owned `char err[ERR_LEN]` (which may be NULL) through err_set(). */
#ifndef TABSERVE_UTIL_H
#define TABSERVE_UTIL_H

#include <stddef.h>
#include <stdio.h>

#define ERR_LEN 512 /* size of every caller-owned error buffer */

/* Formats a message into err (ERR_LEN bytes) unless err is NULL. Returns -1 so
 * callers can write `return err_set(err, ...)`. */
int err_set(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An output file written to a temporary name beside its target and renamed into
 * place by atomic_commit(): readers see the old file or the whole new one, never
 * a half-written one. path "-" means stdout (no temporary, nothing to rename). */
typedef struct {
    FILE *fp;
    char *path;     /* final name, NULL for stdout */
    char *tmp_path; /* temporary name, NULL for stdout */
} atomic_file;

int atomic_open(atomic_file *af, const char *path, char *err);
/* Flushes, fsyncs and renames. Closes the file either way. */
int atomic_commit(atomic_file *af, char *err);
/* Closes and removes the temporary file; safe to call after commit or on a zeroed af. */
void atomic_abort(atomic_file *af);

/* Reads a whole file into a NUL-terminated malloc'd buffer. */
int file_read_all(const char *path, char **out, size_t *len, char *err);

/* Parses a whole decimal number (strtod syntax, no trailing bytes) into *out;
 * rejects empty strings, NaN and infinities. Returns 0 or -1 (no message). */
int parse_finite_double(const char *s, size_t len, double *out);

/* Writes p as printf's "%.9g" does (9 significant digits: a float read back
 * exactly) into buf (at least 32 bytes, NUL-terminated); returns the length.
 * Probabilities in [1e-4, 1) take an integer path ~10x cheaper than printf,
 * which answers for everything else. */
int format_probability(char *buf, float p);

/* Seconds on the monotonic clock, for measuring durations. */
double clock_seconds(void);

#endif
