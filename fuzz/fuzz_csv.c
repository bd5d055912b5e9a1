/* libFuzzer: the CSV reader and the offline predict path. The first byte picks
 * CSV or JSON lines and --skip-bad; the rest is the input file. Predict must
 * finish (rows written) or fail with a message; never crash. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv_reader.h"
#include "model/default_model.h"
#include "data/score.h"
#include "base/err.h"
#include "base/files.h"
#include "base/numtext.h"

static model *m;

static int count_rows(void *ctx, size_t row, const char *const *f, const size_t *lens, size_t n, char *err)
{
    (void)row;
    (void)err;
    for (size_t i = 0; i < n; i++)
        if (strlen(f[i]) > lens[i]) abort(); /* fields are NUL-terminated at their length */
    ++*(size_t *)ctx;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[ERR_LEN];
    if (!m && !(m = model_load_default(err))) abort();
    if (size == 0) return 0;
    unsigned mode = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    size_t rows = 0;
    if (csv_read_buffer(copy, len, "fuzz.csv", count_rows, &rows, err) != 0 &&
        strncmp(err, "fuzz.csv", 8) != 0)
        abort();
    FILE *in = fmemopen(copy, len ? len : 1, "r");
    FILE *out = fopen("/dev/null", "w"), *log = fopen("/dev/null", "w");
    score_options o = {mode & 1 ? SCORE_JSONL : SCORE_CSV, (mode >> 1) & 1};
    score_result res;
    if (in && out && log) score_stream(m, in, "fuzz", out, &o, log, &res, err);
    if (in) fclose(in);
    if (out) fclose(out);
    if (log) fclose(log);
    free(copy);
    return 0;
}
