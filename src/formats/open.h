/* open — opening a model file of any supported format, told apart by its
 * content, not its name:
 *
 *   tabserve model (JSON, "format": "tabserve-model")   formats/tabserve.c (0.1.0's: tabserve_v1.c)
 *   XGBoost JSON or UBJSON (Booster.save_model)        formats/xgboost.c
 *   LightGBM text model (Booster.save_model)            formats/lightgbm.c
 *   ONNX model (protobuf ModelProto)                    formats/onnx.c
 *
 * Every format becomes the same composition (schema -> feature steps ->
 * predictor -> output), so serving, scoring and errors do not depend on it.
 * What a foreign file lacks (input names, category vocabularies, class labels)
 * comes from a schema file beside it (formats/sidecar.c). */
#ifndef TABSERVE_OPEN_H
#define TABSERVE_OPEN_H

#include "model/model.h"

/* Limits on what a model file may ask for: a hostile file is refused with the
 * limit it crossed, before the memory is taken. */
typedef struct {
    long max_file_bytes; /* --max-model-bytes */
    long max_trees;      /* --max-trees */
    long max_nodes;      /* --max-nodes, per tree */
    long max_tensor;     /* --max-tensor, elements of one ONNX tensor or attribute */
    long onnx_graph;     /* --onnx-graph: run ONNX graphs as written, even those that compile */
} import_limits;

#define IMPORT_LIMITS_DEFAULT                                                                                \
    {                                                                                                        \
        (long)1 << 30, 100000, 1 << 22, (long)1 << 26, 0                                                     \
    }

/* Opens `path` (NULL or "default": the built-in model). schema_path names the
 * schema file for a foreign model; NULL looks for one beside it (m.json ->
 * m.schema.json, m.onnx -> m.schema.json). limits NULL: the defaults. On
 * failure returns NULL with err naming the file, where and what was wrong. */
model *model_open(const char *path, const char *schema_path, const import_limits *limits, char *err);

/* The same from bytes in memory (the fuzzers); name is shown in messages. */
model *model_open_buffer(const char *buf, size_t len, const char *name, const import_limits *limits,
                         char *err);

#endif
