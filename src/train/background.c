/* background — a few training rows kept in the model, for explanations. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "train/rng.h"
#include "train/train.h"

/* One cell as the JSON a client would send: a number, a category's text (or
 * integer), or null when missing. */
static json_t *value_of(const schema_input *in, const char *text, size_t len, char *err, int *bad)
{
    double v;
    *bad = schema_text_value(in, text, text ? len : 0, &v, err) != 0;
    if (*bad) return NULL;
    if (isnan(v)) return json_null();
    if (!in->n_vocab) return v == floor(v) && fabs(v) < 9e15 ? json_integer((json_int_t)v) : json_real(v);
    if (v < 0) return json_null(); /* an unknown category let through: as missing */
    size_t k = (size_t)v;
    return in->type == TYPE_INTEGER ? json_integer((json_int_t)in->vocab_int[k]) : json_string(in->vocab[k]);
}

int train_background(model *m, const dataset *d, unsigned long long seed, char *err)
{
    const schema *s = &m->schema;
    size_t cols[s->n_inputs];
    for (size_t i = 0; i < s->n_inputs; i++) {
        size_t c = 0;
        while (c < d->n_cols && strcmp(d->names[c], s->inputs[i].name) != 0) c++;
        if (c == d->n_cols)
            return err_set(err, "background: input %s is not a column of the data", s->inputs[i].name);
        cols[i] = c;
    }
    size_t n = d->n_rows < TRAIN_BACKGROUND_ROWS ? d->n_rows : TRAIN_BACKGROUND_ROWS;
    size_t *order = malloc((d->n_rows ? d->n_rows : 1) * sizeof *order);
    json_t *rows = json_array();
    if (!order || !rows) {
        free(order);
        json_decref(rows);
        return err_set(err, "out of memory choosing the background rows");
    }
    for (size_t r = 0; r < d->n_rows; r++) order[r] = r;
    uint64_t state = seed ^ 0x6261636b67726f75ull; /* its own stream: the model's weights do not move */
    rng_shuffle(order, d->n_rows, &state);
    /* in file order, so the file reads as the data does */
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && order[b - 1] > order[b]; b--) {
            size_t t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++) {
        size_t r = order[k];
        json_t *row = json_object();
        for (size_t i = 0; i < s->n_inputs && rc == 0; i++) {
            int bad;
            const char *text = d->cells[r * d->n_cols + cols[i]];
            json_t *v = value_of(&s->inputs[i], text, text ? d->lens[r * d->n_cols + cols[i]] : 0, err, &bad);
            if (bad)
                rc = -1;
            else
                json_object_set_new(row, s->inputs[i].name, v);
        }
        json_array_append_new(rows, row);
    }
    free(order);
    if (rc != 0) {
        json_decref(rows);
        return -1;
    }
    json_object_set_new(m->metadata, "background", rows);
    return model_encode_background(m, err);
}
