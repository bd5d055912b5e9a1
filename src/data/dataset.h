/* dataset — selected columns of a CSV file held as text, for training and eval.
 * Cells stay text so that one encoder (encode_text) serves training,
 * eval and predict alike. Small-data tool: everything is in memory. */
#ifndef TABSERVE_DATASET_H
#define TABSERVE_DATASET_H

#include <stddef.h>

typedef struct {
    size_t n_rows, n_cols;
    char **names; /* (n_cols,) column names as asked */
    char **cells; /* (n_rows, n_cols) NUL-terminated text; NULL when the field was empty */
    size_t *lens; /* (n_rows, n_cols) */
    const char *path;
} dataset;

/* Reads the named columns of a CSV file with a header. A column missing from the
 * header is an error naming it and listing the header. Returns NULL with err. */
dataset *dataset_load(const char *path, const char *const *columns, size_t n_columns, char *err);
/* The same, the file's first max_rows rows only (0: all). */
dataset *dataset_load_head(const char *path, const char *const *columns, size_t n_columns, size_t max_rows,
                           char *err);
void dataset_free(dataset *d);

static inline const char *dataset_cell(const dataset *d, size_t row, size_t col)
{
    return d->cells[row * d->n_cols + col];
}

/* Parses column `col` of every row as a 0/1 label into y (n_rows,). */
int dataset_labels(const dataset *d, size_t col, int binary, float *y, char *err);

/* Splits a comma-separated list ("Age,Fare") into a NULL-terminated malloc'd array. */
char **split_list(const char *s, size_t *n);
void free_list(char **list);

/* A binary label's two classes, whatever their text ("malignant"/"benign",
 * "yes"/"no", 0/1): *neg and *pos (malloc'd; numbers in numeric order, text
 * in byte order; `positive`, when given, names the one reported). Both NULL
 * when the column is already 0/1. Returns 0, or -1 with err: a missing label,
 * one class only, or more than two (naming a few). */
int dataset_binary_classes(const dataset *d, size_t col, const char *positive, char **neg, char **pos,
                           char *err);

/* Whether every cell of column col is a finite number. */
int dataset_column_numeric(const dataset *d, size_t col);

/* The distinct values of column col, sorted (numbers by value, text by
 * bytes), into *out (malloc'd strings, NULL-terminated): their count, or -1
 * with err when a label is missing or there are more than max. */
int dataset_classes(const dataset *d, size_t col, int max, char ***out, char *err);
/* y[r] = the index of row r's value of column col among classes (n). */
int dataset_class_labels(const dataset *d, size_t col, char *const *classes, int n, float *y, char *err);

/* Labels of column col as 0/1: 1 where the text is pos (pos NULL: the 0/1 text). */
int dataset_binary_labels(const dataset *d, size_t col, const char *pos, float *y, char *err);

#endif
