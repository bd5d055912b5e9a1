/* onnx — recognising an ONNX file, so that it is refused with a message that
 * says what it is. Reading the graph (protobuf-c on Debian's onnx.proto,
 * operators mapped onto feature steps and predictors) is the next part of
 * the import issue; docs/DESIGN.md ("Importing models") has the plan. */
#include "import/onnx.h"

#include <string.h>

#include "base/err.h"

/* A serialised ModelProto starts with field 1 (ir_version, a varint): byte
 * 0x08, then a small version number; "onnx" or an operator domain follows in
 * the first bytes of every exporter's output. */
int onnx_is(const char *buf, size_t len)
{
    if (len < 16 || (unsigned char)buf[0] != 0x08 || (unsigned char)buf[1] > 20) return 0;
    size_t probe = len < 256 ? len : 256;
    for (size_t i = 2; i + 4 <= probe; i++)
        if (memcmp(buf + i, "onnx", 4) == 0 || memcmp(buf + i, "ai.o", 4) == 0 ||
            memcmp(buf + i, "skl2", 4) == 0 || memcmp(buf + i, "tf2o", 4) == 0)
            return 1;
    return 0;
}

model *onnx_import(const char *buf, size_t len, const char *name, const import_limits *lim, char *err)
{
    (void)buf;
    (void)len;
    (void)lim;
    err_set(err,
            "%s: this is an ONNX model, which tabserve %s cannot serve yet; serve an XGBoost JSON model "
            "(Booster.save_model(\"model.json\")) or a model trained by `tabserve train`",
            name, TABSERVE_VERSION);
    return NULL;
}
