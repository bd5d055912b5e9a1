/* score — offline batch scoring: CSV or JSON lines in, the same records out with
 * a `predict` column or member (predict_<class> columns for multiclass models);
 * and scoring a dataset's rows for eval and cross-validation. Rows are encoded
 * into a batch and pushed through model_predict together, so the cost per row
 * is parsing, not arithmetic. */
#ifndef TABSERVE_SCORE_H
#define TABSERVE_SCORE_H

#include <stdio.h>

#include "data/dataset.h"
#include "model/model.h"

typedef enum { SCORE_CSV, SCORE_JSONL } score_format;

typedef struct {
    score_format format;
    int skip_bad;          /* report a bad row on `log` and go on, instead of failing */
    unsigned encode_rules; /* JSON lines: ENCODE_STRICT or ENCODE_IGNORE_UNKNOWN (model/encode.h) */
} score_options;

typedef struct {
    long rows_written;
    long rows_skipped;
} score_result;

/* Scores every record of `in` into `out`. CSV input needs a header naming every
 * model input (any order, other columns are passed through). Returns 0, or -1
 * with err naming the row (data rows count from 1) or line and the column. */
int score_stream(const model *m, FILE *in, const char *in_name, FILE *out, const score_options *o, FILE *log,
                 score_result *res, char *err);

/* Encodes row r of d (inputs in columns first_col.., in the model's input
 * order) into x (n_features,). Returns 0, or -1 with err naming row and column. */
int score_encode_row(const model *m, const dataset *d, size_t r, size_t first_col, float *x, char *err);

/* Scores rows of d (inputs in columns first_col.., in the model's input order)
 * where use[r] == want (every row when use is NULL) into y (rows, n_outputs),
 * in row order. Returns the number of rows scored, or -1 with err naming the
 * row and column. */
long score_dataset(const model *m, const dataset *d, size_t first_col, const unsigned char *use,
                   unsigned char want, float *y, char *err);

#endif
