/* err — the one error convention. Every fallible function in tabserve returns 0
 * (or a pointer) on success and -1 (or NULL) on failure, filling a caller-owned
 * `char err[ERR_LEN]` (which may be NULL) through err_set(). */
#ifndef TABSERVE_ERR_H
#define TABSERVE_ERR_H

#include <stdarg.h>

#define ERR_LEN 512 /* size of every caller-owned error buffer */

/* Formats a message into err (ERR_LEN bytes) unless err is NULL. Returns -1 so
 * callers can write `return err_set(err, ...)`. */
int err_set(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The one shape of an error in a model graph's node: "FILE: node "NAME" (OP):
 * what", or "FILE: what" when op is NULL (no node). Returns -1. */
int err_vset_node(char *err, const char *file, const char *name, const char *op, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

#endif
