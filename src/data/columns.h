/* columns — a CSV file's chosen columns read straight into floats, for training
 * on data too large to hold as text (dataset.h keeps every cell as a string):
 * numbers parsed as they stream past, categories interned to codes in order of
 * first appearance, one label column apart. Memory: 4 bytes a cell. */
#ifndef TABSERVE_COLUMNS_H
#define TABSERVE_COLUMNS_H

#include <stddef.h>

typedef struct {
    size_t n_rows, n_cols;
    float *x;     /* (n_rows, n_cols): a number, a category's code, or NaN when empty */
    float *label; /* (n_rows,) */
    int *is_cat;  /* (n_cols,) */
    char ***cats; /* (n_cols,) for a categorical column, its categories by code */
    size_t *n_cats;
    int *all_integer; /* (n_cols,) every category of the column is integer text */
    const char *path;
} columns;

/* Reads label_name and names[0..n) (is_cat[i]: categorical) from the CSV file
 * at path. The label must be a number on every row (0 or 1 when binary).
 * With threads > 1, a large file of numeric columns is read by two threads
 * (the same result). Returns NULL with err naming the file, row and column. */
columns *columns_load(const char *path, const char *label_name, int binary, const char *const *names,
                      const int *is_cat, size_t n, int threads, char *err);

void columns_free(columns *c);

#endif
