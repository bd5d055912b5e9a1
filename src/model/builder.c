/* builder — a model put together part by part (model/builder.h). */
#include "model/builder.h"

#include <jansson.h>
#include <stdlib.h>

#include "base/err.h"

struct model_builder {
    model *m; /* the model under construction; handed out by finish */
};

model_builder *model_builder_new(void)
{
    model_builder *b = calloc(1, sizeof *b);
    if (!b || !(b->m = calloc(1, sizeof *b->m)) || !(b->m->metadata = json_object())) {
        model_builder_free(b);
        return NULL;
    }
    return b;
}

model_builder *model_builder_from(model *m)
{
    model_builder *b = calloc(1, sizeof *b);
    if (!b) {
        model_free(m);
        return NULL;
    }
    free(m->background); /* derived: encoded again when finished */
    m->background = NULL;
    m->n_background = 0;
    b->m = m;
    return b;
}

void model_builder_free(model_builder *b)
{
    if (!b) return;
    model_free(b->m);
    free(b);
}

schema *model_builder_inputs(model_builder *b) { return &b->m->schema; }
feature_steps *model_builder_features(model_builder *b) { return &b->m->features; }
output_spec *model_builder_output(model_builder *b) { return &b->m->output; }
json_t *model_builder_metadata(model_builder *b) { return b->m->metadata; }
predictor *model_builder_predictor(const model_builder *b) { return b->m->predictor; }
const model *model_builder_view(const model_builder *b) { return b->m; }

void model_builder_set_predictor(model_builder *b, predictor *p)
{
    if (b->m->predictor != p) predictor_free(b->m->predictor);
    b->m->predictor = p;
}

predictor *model_builder_take_predictor(model_builder *b)
{
    predictor *p = b->m->predictor;
    b->m->predictor = NULL;
    return p;
}

int model_builder_set_metadata(model_builder *b, json_t *meta)
{
    if (!meta && !(meta = json_object())) return -1;
    json_decref(b->m->metadata);
    b->m->metadata = meta;
    return 0;
}

const model *model_builder_columns(model_builder *b, char *err)
{
    model *m = b->m;
    if (features_validate(&m->features, &m->schema, err) != 0) return NULL;
    if (schema_index(&m->schema) != 0) return err_set(err, "out of memory"), NULL;
    features_layout(&m->features, &m->schema);
    m->n_features = m->features.n_columns;
    m->n_outputs = output_width(&m->output);
    return m;
}

static model *finish(model_builder *b, int large, char *err)
{
    model *m = b->m;
    b->m = NULL;
    model_builder_free(b);
    if ((large ? model_assemble_large(m, err) : model_assemble(m, err)) != 0) {
        model_free(m);
        return NULL;
    }
    return m;
}

model *model_builder_finish(model_builder *b, char *err) { return finish(b, 0, err); }
model *model_builder_finish_large(model_builder *b, char *err) { return finish(b, 1, err); }
