/* default_model — models/titanic.json, compiled into the binary so every
 * subcommand works with no model argument. */
#ifndef TABSERVE_DEFAULT_MODEL_H
#define TABSERVE_DEFAULT_MODEL_H

#include <stddef.h>

#include "model/model.h"

#define DEFAULT_MODEL_NAME "<built-in models/titanic.json>"

/* Loads the built-in model (formats/open.h's model_open takes paths). */
model *model_load_default(char *err);

#endif
