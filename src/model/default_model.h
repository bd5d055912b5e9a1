/* default_model — models/titanic.json, compiled into the binary so every
 * subcommand works with no model argument. */
#ifndef TABSERVE_DEFAULT_MODEL_H
#define TABSERVE_DEFAULT_MODEL_H

#include <stddef.h>

#include "model/model.h"

#define DEFAULT_MODEL_NAME "<built-in models/titanic.json>"

/* Loads `path`, or the built-in model when path is NULL or "default". */
model *model_load_or_default(const char *path, char *err);

#endif
