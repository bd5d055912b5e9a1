/* dataset — a CSV file's chosen columns as a text table. */
#define _POSIX_C_SOURCE 200809L
#include "data/dataset.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv_reader.h"
#include "base/err.h"
#include "base/numtext.h"

typedef struct {
    dataset *d;
    const char *const *want;
    size_t *col_of; /* (n_cols,) index of each wanted column in the file */
    size_t cap;
    size_t max_rows; /* 0: all */
    int enough;      /* max_rows read: the reading stopped there */
} load_state;

static int on_row(void *ctx, size_t row, const char *const *fields, const size_t *lens, size_t n, char *err)
{
    load_state *st = ctx;
    dataset *d = st->d;
    if (row == 0) {
        for (size_t c = 0; c < d->n_cols; c++) {
            long k = csv_find_column(fields, n, st->want[c]);
            if (k < 0) {
                char header[256] = "";
                for (size_t i = 0; i < n && strlen(header) < 200; i++)
                    snprintf(header + strlen(header), sizeof header - strlen(header), "%s%s", i ? "," : "",
                             fields[i]);
                return err_set(err, "%s: no column named \"%s\" in the header (%s)", d->path, st->want[c],
                               header);
            }
            st->col_of[c] = (size_t)k;
        }
        return 0;
    }
    if (st->max_rows && d->n_rows == st->max_rows) {
        st->enough = 1;
        return err_set(err, "%s: the first %zu rows are read", d->path, st->max_rows); /* stops the reader */
    }
    if (d->n_rows == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 1024;
        char **nc = realloc(d->cells, ncap * d->n_cols * sizeof *nc);
        if (!nc) return err_set(err, "%s: out of memory", d->path);
        d->cells = nc;
        size_t *nl = realloc(d->lens, ncap * d->n_cols * sizeof *nl);
        if (!nl) return err_set(err, "%s: out of memory", d->path);
        d->lens = nl;
        st->cap = ncap;
    }
    char **row_cells = d->cells + d->n_rows * d->n_cols;
    size_t *row_lens = d->lens + d->n_rows * d->n_cols;
    memset(row_cells, 0, d->n_cols * sizeof *row_cells);
    d->n_rows++; /* counted now so that dataset_free releases a half-copied row */
    for (size_t c = 0; c < d->n_cols; c++) {
        size_t k = st->col_of[c];
        row_lens[c] = lens[k];
        if (lens[k] && !(row_cells[c] = strdup(fields[k]))) return err_set(err, "%s: out of memory", d->path);
    }
    return 0;
}

dataset *dataset_load(const char *path, const char *const *columns, size_t n_columns, char *err)
{
    return dataset_load_head(path, columns, n_columns, 0, err);
}

dataset *dataset_load_head(const char *path, const char *const *columns, size_t n_columns, size_t max_rows,
                           char *err)
{
    dataset *d = calloc(1, sizeof *d);
    load_state st = {d, columns, calloc(n_columns ? n_columns : 1, sizeof(size_t)), 0, max_rows, 0};
    FILE *fp = NULL;
    if (!d || !st.col_of) goto oom;
    d->path = path;
    d->n_cols = n_columns;
    if (!(d->names = calloc(n_columns + 1, sizeof *d->names))) goto oom;
    for (size_t c = 0; c < n_columns; c++)
        if (!(d->names[c] = strdup(columns[c]))) goto oom;
    if (!(fp = fopen(path, "rb"))) {
        err_set(err, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (csv_read_stream(fp, path, on_row, &st, err) != 0 && !st.enough) goto fail;
    fclose(fp);
    free(st.col_of);
    return d;
oom:
    err_set(err, "%s: out of memory", path);
fail:
    if (fp) fclose(fp);
    free(st.col_of);
    dataset_free(d);
    return NULL;
}

void dataset_free(dataset *d)
{
    if (!d) return;
    for (size_t i = 0; d->cells && i < d->n_rows * d->n_cols; i++) free(d->cells[i]);
    free(d->cells);
    free(d->lens);
    free_list(d->names);
    free(d);
}

int dataset_labels(const dataset *d, size_t col, int binary, float *y, char *err)
{
    for (size_t r = 0; r < d->n_rows; r++) {
        const char *s = dataset_cell(d, r, col);
        double v;
        if (!s || parse_finite_double(s, strlen(s), &v) != 0 || (binary && v != 0 && v != 1) ||
            !isfinite((float)v))
            return err_set(err, "%s: row %zu: column %s: label must be %s, got \"%.40s\"", d->path, r + 1,
                           d->names[col], binary ? "0 or 1" : "a number", s ? s : "");
        y[r] = (float)v;
    }
    return 0;
}

char **split_list(const char *s, size_t *n)
{
    size_t count = 0, cap = 8;
    char **list = calloc(cap + 1, sizeof *list);
    if (!list) return NULL;
    while (s && *s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len) {
            if (count == cap) {
                char **nl = realloc(list, (2 * cap + 1) * sizeof *nl);
                if (!nl) goto fail;
                list = nl;
                cap *= 2;
            }
            if (!(list[count] = strndup(s, len))) goto fail;
            list[++count] = NULL;
        }
        s = end ? end + 1 : s + len;
    }
    list[count] = NULL;
    if (n) *n = count;
    return list;
fail:
    free_list(list);
    return NULL;
}

void free_list(char **list)
{
    for (size_t i = 0; list && list[i]; i++) free(list[i]);
    free(list);
}

static int cmp_class(const char *a, const char *b)
{
    double x, y;
    if (parse_finite_double(a, strlen(a), &x) == 0 && parse_finite_double(b, strlen(b), &y) == 0)
        return (x > y) - (x < y);
    return strcmp(a, b);
}

int dataset_binary_classes(const dataset *d, size_t col, const char *positive, char **neg, char **pos,
                           char *err)
{
    *neg = *pos = NULL;
    const char *seen[3] = {NULL, NULL, NULL};
    int n = 0;
    for (size_t r = 0; r < d->n_rows; r++) {
        const char *s = dataset_cell(d, r, col);
        if (!s)
            return err_set(err, "%s: row %zu: column %s: the label is missing", d->path, r + 1,
                           d->names[col]);
        int k = 0;
        while (k < n && strcmp(seen[k], s) != 0) k++;
        if (k == n) {
            if (n == 2) {
                seen[2] = s;
                return err_set(
                    err,
                    "%s: column %s has more than two classes (\"%.30s\", \"%.30s\", \"%.30s\", ...): "
                    "tabserve trains binary classifiers and regressions (--objective regression with "
                    "--model gbt); more classes are not trained yet",
                    d->path, d->names[col], seen[0], seen[1], seen[2]);
            }
            seen[n++] = s;
        }
    }
    if (n < 2)
        return err_set(err, "%s: column %s has one class only: nothing to learn", d->path, d->names[col]);
    int lo = cmp_class(seen[0], seen[1]) < 0 ? 0 : 1;
    const char *a = seen[lo], *b = seen[1 - lo];
    if (!positive && strcmp(a, "0") == 0 && strcmp(b, "1") == 0) return 0; /* already 0/1 */
    if (positive && strcmp(positive, a) == 0) { /* the first is asked to be the positive one */
        const char *t = a;
        a = b;
        b = t;
    } else if (positive && strcmp(positive, b) != 0)
        return err_set(err, "--positive %.40s: column %s's classes are \"%.40s\" and \"%.40s\"", positive,
                       d->names[col], a, b);
    if (!(*neg = strdup(a)) || !(*pos = strdup(b))) {
        free(*neg);
        *neg = NULL;
        return err_set(err, "out of memory");
    }
    return 0;
}

int dataset_binary_labels(const dataset *d, size_t col, const char *pos, float *y, char *err)
{
    if (!pos) return dataset_labels(d, col, 1, y, err);
    for (size_t r = 0; r < d->n_rows; r++) y[r] = strcmp(dataset_cell(d, r, col), pos) == 0 ? 1.0f : 0.0f;
    return 0;
}

int dataset_column_numeric(const dataset *d, size_t col)
{
    for (size_t r = 0; r < d->n_rows; r++) {
        const char *s = dataset_cell(d, r, col);
        double v;
        if (!s || parse_finite_double(s, strlen(s), &v) != 0) return 0;
    }
    return 1;
}

static int cmp_class_ptr(const void *a, const void *b)
{
    return cmp_class(*(const char *const *)a, *(const char *const *)b);
}

int dataset_classes(const dataset *d, size_t col, int max, char ***out, char *err)
{
    *out = NULL;
    const char **seen = calloc((size_t)max + 1, sizeof *seen);
    if (!seen) return err_set(err, "out of memory");
    int n = 0;
    for (size_t r = 0; r < d->n_rows; r++) {
        const char *s = dataset_cell(d, r, col);
        if (!s) {
            free(seen);
            return err_set(err, "%s: row %zu: column %s: the label is missing", d->path, r + 1,
                           d->names[col]);
        }
        int k = 0;
        while (k < n && strcmp(seen[k], s) != 0) k++;
        if (k < n) continue;
        if (n == max) {
            free(seen);
            return err_set(err, "%s: column %s has more than %d classes", d->path, d->names[col], max);
        }
        seen[n++] = s;
    }
    qsort(seen, (size_t)n, sizeof *seen, cmp_class_ptr); /* numbers by value, text by bytes */
    char **names = calloc((size_t)n + 1, sizeof *names);
    for (int k = 0; names && k < n; k++)
        if (!(names[k] = strdup(seen[k]))) {
            for (int j = 0; j < k; j++) free(names[j]);
            free(names);
            names = NULL;
        }
    free(seen);
    if (!names) return err_set(err, "out of memory");
    *out = names;
    return n;
}

int dataset_class_labels(const dataset *d, size_t col, char *const *classes, int n, float *y, char *err)
{
    for (size_t r = 0; r < d->n_rows; r++) {
        const char *s = dataset_cell(d, r, col);
        int k = 0;
        while (s && k < n && strcmp(classes[k], s) != 0) k++;
        if (!s || k == n)
            return err_set(err, "%s: row %zu: column %s: \"%.40s\" is not one of the label's classes",
                           d->path, r + 1, d->names[col], s ? s : "");
        y[r] = (float)k;
    }
    return 0;
}
