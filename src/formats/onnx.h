/* onnx — reads an ONNX model (a protobuf ModelProto, parsed with protobuf-c
 * from the onnx.proto that Debian's libonnx-dev ships) into a tabserve model:
 * the graph's common shapes become feature steps and tabserve's own
 * predictors, anything else of the supported operators runs as a graph
 * (onnx.c lists them). */
#ifndef TABSERVE_ONNX_H
#define TABSERVE_ONNX_H

#include <stddef.h>

#include "formats/open.h"
#include "model/builder.h"

/* Whether buf parses as an ONNX ModelProto with a graph. */
int onnx_is(const char *buf, size_t len);

/* The model's parts, to finish (model/builder.h); NULL with err naming the node and what was wrong.
 * When the graph compiles onto tabserve's own steps and predictors and
 * `reference` is not NULL, *reference is the same graph as the interpreter
 * runs it (or NULL, with the reason in the model's metadata): the caller
 * finishes both and keeps the compiled one only if they agree (probe.h). */
model_builder *onnx_import(const char *buf, size_t len, const char *name, const import_limits *lim,
                           model_builder **reference, char *err);

#endif
