/* sidecar — the schema file beside a foreign model: what the API needs that
 * the file does not say, given once without editing the file.
 *
 *   {
 *     "inputs": [                         one entry per model input, in order
 *       {"name": "Age"},                  renames f0
 *       {"name": "Embarked",              and makes it categorical: the
 *        "vocab": ["C", "Q", "S"],        model sees the category's index
 *        "unknown": "reject"}             (or "missing", the default)
 *     ],
 *     "output": {"label": "Survived",     what is predicted
 *                "classes": ["died", "lived"],  class labels, in output order
 *                "positive": "lived"}     binary: the class whose probability
 *   }                                     is reported (default: the last) */
#ifndef TABSERVE_SIDECAR_H
#define TABSERVE_SIDECAR_H

#include "model/builder.h"

/* The schema file's path for a model path: m.json -> m.schema.json. */
void sidecar_path_for(const char *model_path, char *out, size_t len);

/* Applies the schema file at path to an imported model before it is
 * assembled. Returns 0 or -1 with err naming the file and JSON path. */
int sidecar_apply(model_builder *mb, const char *path, char *err);

#endif
