/* builder — the one way a model is made, by every format reader and by the
 * trainer: fill the parts (inputs, feature steps, predictor, output, metadata),
 * then finish, which validates them against each other, lays out the columns,
 * prepares the predictor and hashes (model.h's load steps, in order). What
 * leaves the builder is a whole model; outside model/ nobody assigns its fields.
 *
 * The parts are filled through their own modules (schema.h, features.h,
 * output.h) on the pointers the builder hands out; the predictor and the
 * metadata are handed over whole. */
#ifndef TABSERVE_BUILDER_H
#define TABSERVE_BUILDER_H

#include "model/model.h"

typedef struct model_builder model_builder;

/* An empty model under construction, its metadata an empty object. NULL: out of memory. */
model_builder *model_builder_new(void);
/* A finished model taken apart again, to be changed and finished anew (the
 * trainer's blend of two fitted models; a class renamed). Takes m; NULL: out
 * of memory (m freed). */
model_builder *model_builder_from(model *m);
/* Frees b and every part it holds (NULL: nothing). */
void model_builder_free(model_builder *b);

schema *model_builder_inputs(model_builder *b);
feature_steps *model_builder_features(model_builder *b);
output_spec *model_builder_output(model_builder *b);
struct json_t *model_builder_metadata(model_builder *b);
predictor *model_builder_predictor(const model_builder *b);

/* Hands over p (NULL allowed), freeing the one held before. */
void model_builder_set_predictor(model_builder *b, predictor *p);
/* Hands over the predictor held (NULL: none) and keeps none: a part moved into another model. */
predictor *model_builder_take_predictor(model_builder *b);
/* Hands over meta (NULL: an empty object), freeing the one held before. 0, or -1: out of memory. */
int model_builder_set_metadata(model_builder *b, struct json_t *meta);

/* The columns laid out before a predictor exists (the trainer encodes its rows
 * through them; a reader checks a predictor's width against them): the feature
 * steps validated against the inputs, then laid out. The view stays valid until
 * the builder is finished or freed. NULL with err. */
const model *model_builder_columns(model_builder *b, char *err);
/* A read-only view of the model under construction (nothing laid out yet unless
 * model_builder_columns ran). */
const model *model_builder_view(const model_builder *b);

/* The whole model, assembled (model_assemble); large: the hash beside the
 * preparation (model_assemble_large). Takes b in every case. NULL with err. */
model *model_builder_finish(model_builder *b, char *err);
model *model_builder_finish_large(model_builder *b, char *err);

#endif
