/* libFuzzer: the model-file loader. Any bytes: a model or a clear error, never
 * a crash; and a model that loads can be described and run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model.h"
#include "nn.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[ERR_LEN] = "";
    model *m = model_load_buffer((const char *)data, size, "fuzz.json", err);
    if (!m) {
        if (strncmp(err, "fuzz.json", 9) != 0) abort(); /* messages name the file */
        return 0;
    }
    json_decref(model_describe(m));
    float *x = calloc((size_t)m->n_features, sizeof *x), p;
    float *scratch = malloc(nn_scratch_floats(m, 1) * sizeof *scratch);
    nn_forward(m, x, 1, scratch, &p);
    if (!(p >= 0 && p <= 1)) abort(); /* finite weights and a sigmoid: a probability */
    free(x);
    free(scratch);
    model_free(m);
    return 0;
}
