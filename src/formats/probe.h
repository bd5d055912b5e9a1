/* probe — one truth per format: the compiled form of an imported model (its
 * feature steps and tabserve's own predictors) is an optimisation of the model
 * as written (for ONNX, the graph run by the interpreter), never a second
 * opinion. At load both score the same probe rows, made from the model itself:
 * every input's split thresholds and their float neighbours, missing values,
 * each category and an unknown one, zero, ones and extremes. Any disagreement
 * beyond 1e-6 (relative above 1) means the compiled form is not used. */
#ifndef TABSERVE_PROBE_H
#define TABSERVE_PROBE_H

#include <stddef.h>

#include "model/model.h"

/* Whether the assembled models `fast` and `reference` answer every probe row
 * alike (the same inputs, the same outputs, the same rows refused). Returns 1,
 * or 0 with `why` saying the first difference (the row's values and both
 * answers), or -1 when memory ran out. */
int probe_agree(const model *fast, const model *reference, char *why, size_t len);

#endif
