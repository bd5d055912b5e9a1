/* onnx — placeholder while the reader is written (replaced in this change series). */
#include "import/onnx.h"

#include "base/err.h"

int onnx_is(const char *buf, size_t len)
{
    (void)buf;
    (void)len;
    return 0;
}

model *onnx_import(const char *buf, size_t len, const char *name, const import_limits *lim, char *err)
{
    (void)buf;
    (void)len;
    (void)lim;
    err_set(err, "%s: ONNX is not read yet", name);
    return NULL;
}
