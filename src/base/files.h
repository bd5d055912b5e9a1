/* files — the one way to write an output file, and whole-file reads. */
#ifndef TABSERVE_FILES_H
#define TABSERVE_FILES_H

#include <stddef.h>
#include <stdio.h>

/* An output file written to a temporary name beside its target and renamed into
 * place by atomic_commit(): readers see the old file or the whole new one, never
 * a half-written one. path "-" means stdout (no temporary, nothing to rename);
 * so does a target that exists and is not a regular file (/dev/null, a pipe):
 * it is written in place, never replaced. */
typedef struct {
    FILE *fp;
    char *path;     /* final name, NULL for stdout */
    char *tmp_path; /* temporary name, NULL for stdout or a target written in place */
    int in_place;   /* fp is the target itself (a device or a pipe): closed at commit */
} atomic_file;

int atomic_open(atomic_file *af, const char *path, char *err);
/* Flushes, fsyncs and renames. Closes the file either way. */
int atomic_commit(atomic_file *af, char *err);
/* Closes and removes the temporary file; safe to call after commit or on a zeroed af. */
void atomic_abort(atomic_file *af);

/* n bytes for a large buffer, freed with free(): from 1 MB on, aligned to and
 * rounded up to 2 MB pages and the kernel asked to back it with such pages
 * where it has them (MADV_HUGEPAGE): one fault, and one page to zero, per 2 MB
 * rather than 512 faults (at most 1 MB more memory where the rounding does
 * not fill a page). Below that, malloc's, backed in one call where it spans
 * 16 pages or more (MADV_POPULATE_WRITE): such a buffer is written next. */
void *memory_large(size_t n);

/* Reads a whole file into a NUL-terminated malloc'd buffer (memory_large). */
int file_read_all(const char *path, char **out, size_t *len, char *err);

#endif
