/* score — offline batch scoring: CSV or JSON lines in, the same records out with
 * a `predict` column or member. Rows are encoded into a batch and pushed through
 * the network together, so the cost per row is parsing, not arithmetic. */
#ifndef TABSERVE_SCORE_H
#define TABSERVE_SCORE_H

#include <stdio.h>

#include "model.h"

typedef enum { SCORE_CSV, SCORE_JSONL } score_format;

typedef struct {
    score_format format;
    int skip_bad; /* report a bad row on `log` and go on, instead of failing */
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

#endif
