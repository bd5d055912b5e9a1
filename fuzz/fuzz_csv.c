/* libFuzzer: the CSV reader and the offline predict path. The first byte picks
 * CSV or JSON lines and --skip-bad; the rest is the input file. Predict must
 * finish (rows written) or fail with a message; never crash. A file the reader
 * takes is also read as two ranges split where csv_record_after says (as the
 * trainer's two threads read it): the same rows, field for field, or abort. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv_reader.h"
#include "formats/default_model.h"
#include "data/score.h"
#include "model/encode.h"
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

/* Rows as one running hash of every field's bytes and length, in order. */
typedef struct {
    uint64_t h;
    size_t rows, header_fields;
} row_digest;

static int digest_rows(void *ctx, size_t row, const char *const *f, const size_t *lens, size_t n, char *err)
{
    (void)err;
    row_digest *d = ctx;
    if (row == 0) { /* the header: its width, not a data row */
        d->header_fields = n;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < lens[i]; k++) d->h = (d->h ^ (unsigned char)f[i][k]) * 0x100000001b3ull;
        d->h = (d->h ^ lens[i] ^ 0x100) * 0x100000001b3ull;
    }
    d->h = (d->h ^ 0x200) * 0x100000001b3ull;
    d->rows++;
    return 0;
}

static void check_ranges(char *copy, size_t len)
{
    char err[ERR_LEN];
    row_digest whole = {0xcbf29ce484222325ull, 0, 0}, parts = {0xcbf29ce484222325ull, 0, 0};
    if (csv_read_buffer(copy, len, "fuzz.csv", digest_rows, &whole, err) != 0) return;
    FILE *fp = fmemopen(copy, len ? len : 1, "r");
    if (!fp) return;
    long head = csv_record_after(fp, 0, len), mid = head > 0 ? csv_record_after(fp, len / 2, len) : -1;
    /* as the trainer does: the bytes before the first record end must hold the header alone */
    row_digest header = {0xcbf29ce484222325ull, 0, 0};
    if (mid > head && csv_read_buffer(copy, (size_t)head, "fuzz.csv", digest_rows, &header, err) == 0 &&
        header.rows == 0 && header.header_fields == whole.header_fields) {
        parts.header_fields = whole.header_fields;
        if (csv_read_range(fp, "fuzz.csv", (size_t)head, (size_t)mid, whole.header_fields, digest_rows,
                           &parts, err) != 0 ||
            csv_read_range(fp, "fuzz.csv", (size_t)mid, len, whole.header_fields, digest_rows, &parts, err) !=
                0 ||
            parts.rows != whole.rows || parts.h != whole.h)
            abort(); /* the split changed what the file says */
    }
    fclose(fp);
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
    check_ranges(copy, len);
    FILE *in = fmemopen(copy, len ? len : 1, "r");
    FILE *out = fopen("/dev/null", "w"), *log = fopen("/dev/null", "w");
    score_options o = {mode & 1 ? SCORE_JSONL : SCORE_CSV, (mode >> 1) & 1,
                       (mode >> 2) & 1 ? ENCODE_IGNORE_UNKNOWN : ENCODE_STRICT};
    score_result res;
    if (in && out && log) score_stream(m, in, "fuzz", out, &o, log, &res, err);
    if (in) fclose(in);
    if (out) fclose(out);
    if (log) fclose(log);
    free(copy);
    return 0;
}
