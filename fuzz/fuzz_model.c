/* libFuzzer: the model-file loader. Any bytes: a model or a clear error, never
 * a crash; and a model that loads can be described and run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/model.h"
#include "base/err.h"
#include "base/files.h"
#include "base/numtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[ERR_LEN] = "";
    model *m = model_load_buffer((const char *)data, size, "fuzz.json", err);
    if (!m) {
        if (strncmp(err, "fuzz.json", 9) != 0) abort(); /* messages name the file */
        return 0;
    }
    json_decref(model_describe(m));
    float *x = calloc((size_t)m->n_features, sizeof *x), *y = malloc((size_t)m->n_outputs * sizeof *y);
    float *scratch = malloc((model_scratch_floats(m, 1) + 1) * sizeof *scratch);
    model_predict(m, x, 1, scratch, y);
    /* a binary classifier's sigmoid gives a probability (or NaN from inf - inf in
     * finite but huge weights); every output is a number of its kind */
    if (m->output.task == TASK_BINARY && !(y[0] >= 0 && y[0] <= 1) && y[0] == y[0]) abort();
    free(x);
    free(y);
    free(scratch);
    model_free(m);
    return 0;
}
