/* err — formatting into caller-owned error buffers. */
#include "base/err.h"

#include <stdio.h>

int err_set(char *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int err_vset_node(char *err, const char *file, const char *name, const char *op, const char *fmt, va_list ap)
{
    char what[ERR_LEN];
    vsnprintf(what, sizeof what, fmt, ap);
    if (op)
        return err_set(err, "%s: node \"%.80s\" (%.40s): %s", file, name && *name ? name : "(unnamed)", op,
                       what);
    return err_set(err, "%s: %s", file, what);
}
