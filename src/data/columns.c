/* columns — streaming a CSV file into float columns (format in columns.h). */
#define _DEFAULT_SOURCE /* madvise */
#include "data/columns.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/numtext.h"
#include "data/csv_reader.h"

#define MAX_CATEGORIES 65536

/* One categorical column's interning table: open addressing over codes. */
typedef struct {
    uint32_t *slot; /* (cap,) code + 1, 0 = empty */
    size_t cap;
} intern;

static uint64_t hash_text(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

typedef struct {
    columns *c;
    const char *label_name;
    int binary;
    const char *const *names;
    long label_at, *at; /* positions in the file's header */
    intern *tables;
    size_t cap_rows;
    size_t header_fields; /* fields in the header row */
} load;

static int is_integer(const char *s)
{
    if (*s == '-' || *s == '+') s++;
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

/* The code of category s in column j, added when new; -1 when memory runs out
 * or the column has too many categories. */
static long code_of(load *L, size_t j, const char *s, size_t n)
{
    columns *c = L->c;
    intern *t = &L->tables[j];
    if (2 * (c->n_cats[j] + 1) > t->cap) { /* grow: rehash every code */
        size_t cap = t->cap ? t->cap * 2 : 64;
        uint32_t *slot = calloc(cap, sizeof *slot);
        if (!slot) return -1;
        for (size_t k = 0; k < c->n_cats[j]; k++) {
            const char *e = c->cats[j][k];
            size_t i = hash_text(e, strlen(e)) & (cap - 1);
            while (slot[i]) i = (i + 1) & (cap - 1);
            slot[i] = (uint32_t)k + 1;
        }
        free(t->slot);
        t->slot = slot;
        t->cap = cap;
    }
    size_t i = hash_text(s, n) & (t->cap - 1);
    for (; t->slot[i]; i = (i + 1) & (t->cap - 1)) {
        const char *e = c->cats[j][t->slot[i] - 1];
        if (strlen(e) == n && memcmp(e, s, n) == 0) return (long)t->slot[i] - 1;
    }
    if (c->n_cats[j] >= MAX_CATEGORIES) return -1;
    char **grown = realloc(c->cats[j], (c->n_cats[j] + 1) * sizeof *grown);
    if (!grown) return -1;
    c->cats[j] = grown;
    if (!(grown[c->n_cats[j]] = strndup(s, n))) return -1;
    if (!is_integer(grown[c->n_cats[j]])) c->all_integer[j] = 0;
    t->slot[i] = (uint32_t)c->n_cats[j] + 1;
    return (long)c->n_cats[j]++;
}

static int on_row(void *ctx, size_t row, const char *const *f, const size_t *lens, size_t n, char *err)
{
    load *L = ctx;
    columns *c = L->c;
    if (row == 0) {
        L->header_fields = n;
        if ((L->label_at = csv_find_column(f, n, L->label_name)) < 0)
            return err_set(err, "%s: no column named \"%s\" in the header", c->path, L->label_name);
        for (size_t j = 0; j < c->n_cols; j++)
            if ((L->at[j] = csv_find_column(f, n, L->names[j])) < 0)
                return err_set(err, "%s: no column named \"%s\" in the header", c->path, L->names[j]);
        return 0;
    }
    if (c->n_rows == L->cap_rows) { /* large blocks grow by mremap: no copy, no doubled peak */
        size_t cap = L->cap_rows ? L->cap_rows * 2 : 4096;
        float *x = realloc(c->x, cap * c->n_cols * sizeof *x),
              *y = x ? realloc(c->label, cap * sizeof *y) : NULL;
        if (x) c->x = x;
        if (!x || !y) return err_set(err, "%s: out of memory at row %zu", c->path, row);
        c->label = y;
        L->cap_rows = cap;
    }
    double v;
    const char *ls = f[L->label_at];
    if (!lens[L->label_at] || parse_finite_double(ls, lens[L->label_at], &v) != 0 ||
        (L->binary && v != 0 && v != 1))
        return err_set(err, "%s: row %zu: column %s: label must be %s, got \"%.40s\"", c->path, row,
                       L->label_name, L->binary ? "0 or 1" : "a number", ls);
    c->label[c->n_rows] = (float)v;
    float *xr = c->x + c->n_rows * c->n_cols;
    for (size_t j = 0; j < c->n_cols; j++) {
        const char *s = f[L->at[j]];
        size_t len = lens[L->at[j]];
        if (!len) {
            xr[j] = NAN;
        } else if (c->is_cat[j]) {
            long code = code_of(L, j, s, len);
            if (code < 0)
                return err_set(err, "%s: row %zu: column %s: more than %d categories, or out of memory",
                               c->path, row, L->names[j], MAX_CATEGORIES);
            xr[j] = (float)code;
        } else if (parse_finite_double(s, len, &v) != 0 || !isfinite((float)v)) {
            return err_set(err, "%s: row %zu: column %s: \"%.40s\" is not a finite number", c->path, row,
                           L->names[j], s);
        } else {
            xr[j] = (float)v;
        }
    }
    c->n_rows++;
    return 0;
}

/* An empty result of n columns, or NULL when memory runs out. */
static columns *columns_new(const char *path, const int *is_cat, size_t n)
{
    columns *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->path = path;
    c->n_cols = n;
    c->is_cat = calloc(n + 1, sizeof *c->is_cat);
    c->cats = calloc(n + 1, sizeof *c->cats);
    c->n_cats = calloc(n + 1, sizeof *c->n_cats);
    c->all_integer = calloc(n + 1, sizeof *c->all_integer);
    if (!c->is_cat || !c->cats || !c->n_cats || !c->all_integer) {
        columns_free(c);
        return NULL;
    }
    for (size_t j = 0; j < n; j++) {
        c->is_cat[j] = is_cat[j];
        c->all_integer[j] = 1;
    }
    return c;
}

static columns *load_serial(const char *path, const char *label_name, int binary, const char *const *names,
                            const int *is_cat, size_t n, char *err)
{
    columns *c = columns_new(path, is_cat, n);
    load L = {c, label_name, binary, names, -1, calloc(n + 1, sizeof(long)), calloc(n + 1, sizeof(intern)),
              0, 0};
    FILE *fp = NULL;
    if (!c || !L.at || !L.tables) goto oom;
    if (!(fp = fopen(path, "rb"))) {
        err_set(err, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (csv_read_stream(fp, path, on_row, &L, err) != 0) goto fail;
    fclose(fp);
    for (size_t j = 0; j < n; j++) free(L.tables[j].slot);
    free(L.tables);
    free(L.at);
    return c;
oom:
    err_set(err, "%s: out of memory", path);
fail:
    if (fp) fclose(fp);
    for (size_t j = 0; L.tables && j < n; j++) free(L.tables[j].slot);
    free(L.tables);
    free(L.at);
    columns_free(c);
    return NULL;
}

/* ---- two threads for large numeric files ---------------------------------------- */

/* A file over PARALLEL_MIN bytes whose chosen columns are all numbers is read
 * by two threads: the header first, then the rows before and after a record
 * end near the middle (csv_record_after knows quotes), each into its own
 * matrix; the second matrix is then appended to the first, its pages given
 * back as they are copied, so memory peaks near one matrix, as one thread's
 * would. Categories are read by one thread (their codes are their order of
 * first appearance in the file). Any error reads the file again on one
 * thread, for the message naming the file's own row. */
#define PARALLEL_MIN (16u << 20)

typedef struct {
    load L;
    columns c;
    FILE *fp;
    size_t begin, end;
    int rc;
    char err[ERR_LEN];
} half;

static void *read_half(void *arg)
{
    half *h = arg;
    h->rc = csv_read_range(h->fp, h->c.path, h->begin, h->end, h->L.header_fields, on_row, &h->L, h->err);
    return NULL;
}

/* dst := src (n bytes), src's whole pages returned to the system behind the copy */
static void copy_releasing(char *dst, char *src, size_t n)
{
    const size_t step = 1 << 20, page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t released = ((uintptr_t)src + page - 1) & ~(uintptr_t)(page - 1);
    for (size_t done = 0; done < n; done += step) {
        size_t k = n - done < step ? n - done : step;
        memcpy(dst + done, src + done, k);
        uintptr_t upto = ((uintptr_t)src + done + k) & ~(uintptr_t)(page - 1);
        if (upto > released) {
            madvise((void *)released, upto - released, MADV_DONTNEED);
            released = upto;
        }
    }
}

static int load_halves(half *h, const char *path, const char *label_name, int binary,
                       const char *const *names, const int *is_cat, size_t n, size_t size)
{
    char head[1 << 16], err[ERR_LEN];
    long header_end = csv_record_after(h[0].fp, 0, size);
    long mid = header_end > 0 ? csv_record_after(h[0].fp, size / 2, size) : -1;
    if (header_end <= 0 || mid <= header_end || (size_t)header_end > sizeof head) return -1;
    if (fseek(h[0].fp, 0, SEEK_SET) != 0 || fread(head, 1, (size_t)header_end, h[0].fp) != (size_t)header_end)
        return -1;
    for (int k = 0; k < 2; k++) {
        h[k].L = (load){&h[k].c, label_name, binary, names, -1, calloc(n + 1, sizeof(long)), NULL, 0, 0};
        h[k].c.path = path;
        h[k].c.n_cols = n;
        h[k].c.is_cat = (int *)is_cat;
        if (!h[k].L.at) return -1;
    }
    /* the header: where the label and the columns are */
    if (csv_read_buffer(head, (size_t)header_end, path, on_row, &h[0].L, err) != 0) return -1;
    h[1].L.label_at = h[0].L.label_at;
    h[1].L.header_fields = h[0].L.header_fields;
    memcpy(h[1].L.at, h[0].L.at, n * sizeof(long));
    h[0].begin = (size_t)header_end;
    h[0].end = h[1].begin = (size_t)mid;
    h[1].end = size;
    pthread_t th;
    if (pthread_create(&th, NULL, read_half, &h[1]) != 0) return -1;
    read_half(&h[0]);
    pthread_join(th, NULL);
    return h[0].rc == 0 && h[1].rc == 0 ? 0 : -1;
}

static columns *load_parallel(const char *path, const char *label_name, int binary, const char *const *names,
                              const int *is_cat, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (is_cat[j]) return NULL;
    struct stat st;
    if (stat(path, &st) != 0 || (size_t)st.st_size < PARALLEL_MIN) return NULL;
    half h[2];
    memset(h, 0, sizeof h);
    columns *c = NULL;
    if (!(h[0].fp = fopen(path, "rb")) || !(h[1].fp = fopen(path, "rb"))) goto out;
    if (load_halves(h, path, label_name, binary, names, is_cat, n, (size_t)st.st_size) != 0) goto out;
    size_t rows = h[0].c.n_rows + h[1].c.n_rows;
    if (!(c = columns_new(path, is_cat, n))) goto out;
    float *x = realloc(h[0].c.x, (rows ? rows : 1) * n * sizeof *x), /* grows in place: no copy */
        *y = realloc(h[0].c.label, (rows ? rows : 1) * sizeof *y);
    if (x) h[0].c.x = x;
    if (y) h[0].c.label = y;
    if (!x || !y) {
        columns_free(c);
        c = NULL;
        goto out;
    }
    copy_releasing((char *)(x + h[0].c.n_rows * n), (char *)h[1].c.x, h[1].c.n_rows * n * sizeof *x);
    memcpy(y + h[0].c.n_rows, h[1].c.label, h[1].c.n_rows * sizeof *y);
    c->x = x;
    c->label = y;
    c->n_rows = rows;
    h[0].c.x = NULL;
    h[0].c.label = NULL;
out:
    for (int k = 0; k < 2; k++) {
        if (h[k].fp) fclose(h[k].fp);
        free(h[k].L.at);
        free(h[k].c.x);
        free(h[k].c.label);
    }
    return c;
}

columns *columns_load(const char *path, const char *label_name, int binary, const char *const *names,
                      const int *is_cat, size_t n, int threads, char *err)
{
    if (threads > 1) {
        columns *c = load_parallel(path, label_name, binary, names, is_cat, n);
        if (c) return c;
    }
    return load_serial(path, label_name, binary, names, is_cat, n, err);
}

void columns_free(columns *c)
{
    if (!c) return;
    for (size_t j = 0; c->cats && j < c->n_cols; j++) {
        for (size_t k = 0; k < c->n_cats[j]; k++) free(c->cats[j][k]);
        free(c->cats[j]);
    }
    free(c->cats);
    free(c->n_cats);
    free(c->is_cat);
    free(c->all_integer);
    free(c->x);
    free(c->label);
    free(c);
}
