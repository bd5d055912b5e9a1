/* libFuzzer: the model-file loaders, through the entry that tells formats
 * apart (tabserve JSON, XGBoost JSON, UBJSON and ONNX refused). Any bytes: a
 * model or a clear error, never a crash; and a model that loads can be
 * described and run, on a row of zeros and a row of missing values, and
 * explained when it has few inputs. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "explain/explain.h"
#include "formats/open.h"
#include "model/model.h"
#include "base/err.h"
#include "base/files.h"
#include "base/numtext.h"
#include "formats/tabserve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[ERR_LEN] = "";
    import_limits lim = IMPORT_LIMITS_DEFAULT;
    lim.max_nodes = 4096; /* small limits: the fuzzer explores shapes, not sizes */
    lim.max_trees = 256;
    model *m = model_open_buffer((const char *)data, size, "fuzz.json", &lim, err);
    if (!m) {
        if (strncmp(err, "fuzz.json", 9) != 0) abort(); /* messages name the file */
        return 0;
    }
    json_decref(model_describe(m));
    float *x = calloc((size_t)m->n_features, sizeof *x), *y = malloc((size_t)m->n_outputs * sizeof *y);
    float *scratch = malloc((model_scratch_floats(m, 1) + 1) * sizeof *scratch);
    model_predict(m, x, 1, scratch, y);
    for (int j = 0; j < m->n_features; j++) x[j] = NAN; /* every input missing: trees take defaults */
    model_predict(m, x, 1, scratch, y);
    /* a binary classifier's sigmoid gives a probability (or NaN from inf - inf in
     * finite but huge weights); every output is a number of its kind */
    if (m->output.task == TASK_BINARY && !(y[0] >= 0 && y[0] <= 1) && y[0] == y[0]) abort();
    /* a model with a few inputs and a background is explained (the coalition tables
     * and the walks read the trees' structure): any answer or a clear error */
    if (m->schema.n_inputs <= 6 && m->n_background <= 32) {
        explainer *ex = explainer_create(m, err);
        int k = m->predictor->n_outputs;
        double *margin = malloc((size_t)k * sizeof *margin), *base = malloc((size_t)k * sizeof *base),
               *contrib = malloc((size_t)k * (m->schema.n_inputs + 1) * sizeof *contrib);
        if (ex && explainer_row(ex, x, margin, base, contrib, err) != 0 && !err[0]) abort();
        free(margin);
        free(base);
        free(contrib);
        explainer_free(ex);
    }
    free(x);
    free(y);
    free(scratch);
    model_free(m);
    return 0;
}
