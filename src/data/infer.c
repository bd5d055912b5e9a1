/* infer — inputs typed by content (infer.h). */
#define _POSIX_C_SOURCE 200809L
#include "data/infer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/numtext.h"
#include "data/csv_reader.h"

typedef struct {
    char *name;
    size_t filled;
    int numeric; /* every value so far a finite number */
    char **seen; /* the values, to tell whether all differ */
    size_t n_seen, cap;
    int counting; /* numbers so far 1 apart from row to row: a row number */
    double last;
} column_stats;

typedef struct {
    column_stats *c;
    size_t n;
    size_t rows;
} infer_ctx;

static int on_row(void *arg, size_t row, const char *const *f, const size_t *lens, size_t n, char *err)
{
    infer_ctx *x = arg;
    if (row == 0) {
        if (!(x->c = calloc(n ? n : 1, sizeof *x->c))) return err_set(err, "out of memory");
        x->n = n;
        for (size_t j = 0; j < n; j++) {
            if (!(x->c[j].name = strndup(f[j], lens[j]))) return err_set(err, "out of memory");
            x->c[j].numeric = x->c[j].counting = 1;
        }
        return 0;
    }
    if (x->rows >= INFER_MAX_ROWS) return 0;
    x->rows++;
    for (size_t j = 0; j < n && j < x->n; j++) {
        column_stats *c = &x->c[j];
        if (!lens[j]) continue;
        c->filled++;
        double v;
        if (c->numeric && parse_finite_double(f[j], lens[j], &v) != 0) c->numeric = c->counting = 0;
        if (c->counting && c->filled > 1 && v != c->last + 1) c->counting = 0;
        if (c->numeric) c->last = v;
        if (c->n_seen == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 64;
            char **s = realloc(c->seen, cap * sizeof *s);
            if (!s) return err_set(err, "out of memory");
            c->seen = s;
            c->cap = cap;
        }
        if (!(c->seen[c->n_seen++] = strndup(f[j], lens[j]))) return err_set(err, "out of memory");
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Whether every value of c is different from every other (an id). */
static int all_different(column_stats *c, size_t rows)
{
    if (c->filled != rows || rows < 20) return 0; /* a short file: no call */
    qsort(c->seen, c->n_seen, sizeof *c->seen, cmp_str);
    for (size_t i = 1; i < c->n_seen; i++)
        if (strcmp(c->seen[i], c->seen[i - 1]) == 0) return 0;
    return 1;
}

static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && strncmp(p, name, n) == 0) return 1;
        p += k + (p[k] == ',');
    }
    return 0;
}

static int append(char **list, size_t *len, const char *text, char *err)
{
    size_t k = strlen(text);
    char *grown = realloc(*list, *len + k + 2);
    if (!grown) return err_set(err, "out of memory");
    *list = grown;
    if (*len) grown[(*len)++] = ',';
    memcpy(grown + *len, text, k + 1);
    *len += k;
    return 0;
}

int infer_inputs(const char *path, const char *label, const char *drop, char **numeric, char **categorical,
                 char **left_out, char *err)
{
    *numeric = *categorical = *left_out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return err_set(err, "%s: %s", path, strerror(errno));
    infer_ctx x = {0};
    int rc = csv_read_stream(fp, path, on_row, &x, err);
    fclose(fp);
    size_t nl = 0, cl = 0, ll = 0;
    int found_label = 0;
    if (rc == 0 && !(*numeric = calloc(1, 1))) rc = err_set(err, "out of memory");
    if (rc == 0 && !(*categorical = calloc(1, 1))) rc = err_set(err, "out of memory");
    if (rc == 0 && !(*left_out = calloc(1, 1))) rc = err_set(err, "out of memory");
    for (size_t j = 0; rc == 0 && j < x.n; j++) {
        column_stats *c = &x.c[j];
        char note[300];
        if (strcmp(c->name, label) == 0) {
            found_label = 1;
            continue;
        }
        if (drop && in_list(drop, c->name)) continue;
        if (strchr(c->name, ','))
            rc =
                err_set(err, "%s: column \"%.64s\" has a comma in its name: give --numeric and --categorical",
                        path, c->name);
        else if (c->filled == 0) {
            snprintf(note, sizeof note, "%s (always empty)", c->name);
            rc = append(left_out, &ll, note, err);
        } else if ((!c->numeric || c->counting) && all_different(c, x.rows)) {
            snprintf(note, sizeof note, "%s (%s: an id)", c->name,
                     c->numeric ? "numbers counting the rows" : "a different value in every row");
            rc = append(left_out, &ll, note, err);
        } else
            rc = c->numeric ? append(numeric, &nl, c->name, err) : append(categorical, &cl, c->name, err);
    }
    if (rc == 0 && !found_label)
        rc = err_set(err, "%s: --label %s is not a column of the header", path, label);
    if (rc == 0 && !nl && !cl) rc = err_set(err, "%s: no input column is left beside the label", path);
    for (size_t j = 0; j < x.n; j++) {
        for (size_t k = 0; k < x.c[j].n_seen; k++) free(x.c[j].seen[k]);
        free(x.c[j].seen);
        free(x.c[j].name);
    }
    free(x.c);
    if (rc != 0) {
        free(*numeric);
        free(*categorical);
        free(*left_out);
        *numeric = *categorical = *left_out = NULL;
    }
    return rc;
}
