/* xgb_json — an XGBoost JSON model in one pass of yajl's streaming parser.
 *
 * A 500-tree model is ~6 MB of JSON, almost all of it ten arrays per tree
 * node; jansson spends ~175 ms allocating a value for each number. Here yajl
 * validates every byte, everything outside those arrays becomes the jansson
 * document xgboost.c reads (small), the arrays the reader needs are kept as
 * their numbers (read as they stream past, into the load's memory beside the
 * document, where an integer in it names them: xgb_json.h), and the
 * statistics it never reads (loss_changes, parents, and base_weights but for
 * vector-leaf trees, whose leaf values are there) are dropped as they stream
 * past. */
#define _GNU_SOURCE /* memmem */
#include "formats/xgb_json.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

#include "base/err.h"
#include "base/jsonscan.h"
#include "base/numtext.h"
#include "base/scratch.h"

#define MAX_DEPTH 64

static const char *const kept[] = {"left_children",    "right_children",   "split_indices",
                                   "split_conditions", "default_left",     "split_type",
                                   "categories",       "categories_nodes", "categories_segments",
                                   "categories_sizes", "sum_hessian"};
/* base_weights is kept only where leaves are vectors (array_part.keep_weights) */
static const char *const dropped[] = {"loss_changes", "base_weights", "parents"};

/* A kept array's numbers, and those of one parsing thread: its memory, the
 * arrays in the order they were kept (a document's index is 2 x that place +
 * the part's number). */
typedef struct {
    const double *v;
    size_t n;
    long bad;             /* 1 + the first element that is not a number or null, 0: none */
    const json_t *marker; /* what stands for it in the document */
    long first_bool;      /* 1 + the first element that is true or false (held as 1 or 0), 0: none */
} kept_array;

typedef struct {
    scratch *mem;
    kept_array *list;
    size_t n, cap;
    int keep_weights; /* base_weights kept too: the trees have vector leaves */
} array_part;

struct xgb_arrays {
    array_part part[2];
};

typedef struct {
    yajl_handle h;
    const char *buf;
    array_part *out; /* where kept arrays go, and its number */
    int part;
    json_t *stack[MAX_DEPTH]; /* open containers */
    int depth;
    char *key; /* the pending member name of the innermost object */
    /* an array being skipped (raw or dropped): its depth and start offset */
    int skip_depth, skip_keep;
    size_t skip_count; /* the array's elements, counted as they pass */
    char *skip_key;
    /* a kept array's elements as numbers, read as yajl passes them (NaN for
     * null); bad: 1 + the first element that is not a number or null, 0 none */
    double *vals;
    size_t vals_cap;
    long bad, first_bool;
    int oom;
} builder;

static int add(builder *b, json_t *v)
{
    if (!v) {
        b->oom = 1;
        return 0;
    }
    if (b->depth == 0) { /* the root */
        b->stack[b->depth++] = v;
        return 1;
    }
    json_t *top = b->stack[b->depth - 1];
    int rc = json_is_array(top) ? json_array_append_new(top, v)
                                : json_object_set_new(top, b->key ? b->key : "", v);
    free(b->key);
    b->key = NULL;
    return rc == 0 ? 1 : (b->oom = 1, 0);
}

/* A kept array's element at its top level: its value (number or null), or
 * the place of the first that is neither. */
static void keep(builder *b, const char *s, size_t n, int kind)
{
    if (b->skip_depth != 1 || !b->skip_keep) return;
    if (b->skip_count == b->vals_cap) {
        size_t cap = b->vals_cap ? 2 * b->vals_cap : 1024;
        double *grown = realloc(b->vals, cap * sizeof *grown);
        if (!grown) {
            b->oom = 1;
            return;
        }
        b->vals = grown;
        b->vals_cap = cap;
    }
    double v = NAN;
    if (kind == 1) { /* a number: an integer (most of these arrays), else exactly as strtod */
        size_t k = s[0] == '-';
        long long whole = 0;
        while (k < n && k < 16 && s[k] >= '0' && s[k] <= '9') whole = whole * 10 + (s[k++] - '0');
        if (k == n && n > (size_t)(s[0] == '-'))
            v = (double)(s[0] == '-' ? -whole : whole);
        else if (json_scan_number(s, s + n, &v) != s + n && parse_finite_double(s, n, &v) != 0)
            kind = 2;
    }
    if (kind == 3 || kind == 4) { /* false, true */
        v = kind - 3;
        if (!b->first_bool) b->first_bool = (long)b->skip_count + 1;
    }
    if (kind == 2 && !b->bad) b->bad = (long)b->skip_count + 1;
    b->vals[b->skip_count] = v;
}

/* Inside a kept or dropped array: an element at its top level is counted. */
static int in_skip(builder *b)
{
    if (b->skip_depth == 1) b->skip_count++;
    return b->skip_depth > 0;
}

static int on_null(void *ctx)
{
    builder *b = ctx;
    keep(b, NULL, 0, 0);
    return in_skip(b) ? 1 : add(b, json_null());
}

static int on_bool(void *ctx, int v)
{
    builder *b = ctx;
    keep(b, NULL, 0, v ? 4 : 3);
    return in_skip(b) ? 1 : add(b, json_boolean(v));
}

static int on_number(void *ctx, const char *s, size_t n)
{
    builder *b = ctx;
    keep(b, s, n, 1);
    if (in_skip(b)) return 1;
    double v;
    int integer = 1;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || s[i] == 'e' || s[i] == 'E') integer = 0;
    if (integer && n < 19) {
        long long k = 0;
        size_t i = s[0] == '-';
        for (; i < n; i++) k = k * 10 + (s[i] - '0');
        return add(b, json_integer(s[0] == '-' ? -k : k));
    }
    if (parse_finite_double(s, n, &v) != 0) { /* 1e999: no float holds it */
        b->oom = 2;
        return 0;
    }
    return add(b, json_real(v));
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
    builder *b = ctx;
    keep(b, NULL, 0, 2);
    return in_skip(b) ? 1 : add(b, json_stringn((const char *)s, n));
}

static int on_key(void *ctx, const unsigned char *s, size_t n)
{
    builder *b = ctx;
    if (b->skip_depth > 0) return 1; /* a key is not an element */
    free(b->key);
    b->key = strndup((const char *)s, n);
    return b->key ? 1 : (b->oom = 1, 0);
}

/* A new object or array: into its parent (which then holds the only
 * reference), and onto the stack of open containers. */
static int open_container(builder *b, json_t *c)
{
    if (!c) {
        b->oom = 1;
        return 0;
    }
    if (b->depth >= MAX_DEPTH) {
        json_decref(c);
        b->oom = 3;
        return 0;
    }
    if (b->depth == 0) { /* the root: the stack owns it */
        b->stack[b->depth++] = c;
        return 1;
    }
    if (!add(b, c)) return 0; /* add takes the reference */
    b->stack[b->depth++] = c;
    return 1;
}

static int on_start_map(void *ctx)
{
    builder *b = ctx;
    keep(b, NULL, 0, 2);
    if (in_skip(b)) {
        b->skip_depth++;
        return 1;
    }
    return open_container(b, json_object());
}

static int on_start_array(void *ctx)
{
    builder *b = ctx;
    keep(b, NULL, 0, 2);
    if (in_skip(b)) {
        b->skip_depth++;
        return 1;
    }
    for (size_t i = 0; b->key && i <= sizeof kept / sizeof *kept; i++)
        if (i < sizeof kept / sizeof *kept ? strcmp(b->key, kept[i]) == 0
                                           : b->out->keep_weights && strcmp(b->key, "base_weights") == 0) {
            b->skip_depth = 1;
            b->skip_keep = 1;
            b->skip_count = 0;
            b->bad = 0;
            b->first_bool = 0;
            return 1;
        }
    for (size_t i = 0; b->key && i < sizeof dropped / sizeof *dropped; i++)
        if (strcmp(b->key, dropped[i]) == 0) {
            b->skip_depth = 1;
            b->skip_keep = 0;
            return 1;
        }
    return open_container(b, json_array());
}

static int on_end(void *ctx)
{
    builder *b = ctx;
    if (b->skip_depth > 0) {
        if (--b->skip_depth > 0) return 1;
        if (!b->skip_keep) {
            free(b->key);
            b->key = NULL;
            return 1;
        }
        /* kept as its numbers, read as they streamed past, in the load's memory
         * beside the document, which names it by index: no second pass over the text */
        array_part *o = b->out;
        size_t bytes = b->skip_count * sizeof *b->vals;
        double *copy = scratch_alloc(o->mem, bytes ? bytes : 1);
        if (o->n == o->cap) {
            size_t cap = o->cap ? 2 * o->cap : 256;
            kept_array *grown = realloc(o->list, cap * sizeof *grown);
            if (grown) o->list = grown, o->cap = cap;
        }
        if (!copy || o->n == o->cap) {
            b->oom = 1;
            return 0;
        }
        if (bytes) memcpy(copy, b->vals, bytes);
        /* in the document, an integer: its place here, which names it only if
         * this very value is the one recorded there (a file's integer is not) */
        json_t *marker = json_integer((json_int_t)(2 * o->n + (size_t)b->part));
        if (!marker) {
            b->oom = 1;
            return 0;
        }
        o->list[o->n++] = (kept_array){copy, b->skip_count, b->bad, marker, b->first_bool};
        return add(b, marker);
    }
    if (b->depth > 1) b->depth--; /* the root stays, to be returned */
    return 1;
}

static const yajl_callbacks callbacks = {on_null,      on_bool, NULL,   NULL,           on_number, on_string,
                                         on_start_map, on_key,  on_end, on_start_array, on_end};

/* A builder over buf with its yajl handle, keeping arrays in out (part
 * `part`); 0, or -1 when memory runs out. */
static int builder_start(builder *b, const char *buf, array_part *out, int part)
{
    memset(b, 0, sizeof *b);
    b->buf = buf;
    b->out = out;
    b->part = part;
    if (!(b->h = yajl_alloc(&callbacks, NULL, b))) return -1;
    yajl_config(b->h, yajl_dont_validate_strings, 0); /* names are UTF-8 checked: they reach JSON answers */
    return 0;
}

/* Frees what the builder holds besides the document. */
static void builder_end(builder *b)
{
    free(b->key);
    free(b->vals);
    if (b->h) yajl_free(b->h);
}

static json_t *load_serial(const char *buf, size_t len, const char *name, char *err, xgb_arrays *a)
{
    builder b;
    if (builder_start(&b, buf, &a->part[0], 0) != 0) {
        err_set(err, "%s: out of memory", name);
        return NULL;
    }
    yajl_status st = yajl_parse(b.h, (const unsigned char *)buf, len);
    if (st == yajl_status_ok) st = yajl_complete_parse(b.h);
    json_t *root = b.depth > 0 ? b.stack[0] : NULL;
    if (st != yajl_status_ok || b.oom || !root) {
        if (b.oom == 3)
            err_set(err, "%s: nested deeper than %d levels", name, MAX_DEPTH);
        else if (b.oom == 2)
            err_set(err, "%s: byte %zu: a number no float holds", name, yajl_get_bytes_consumed(b.h));
        else if (b.oom)
            err_set(err, "%s: out of memory", name);
        else {
            unsigned char *msg = yajl_get_error(b.h, 0, (const unsigned char *)buf, len);
            err_set(err, "%s: byte %zu: invalid JSON: %s", name, yajl_get_bytes_consumed(b.h),
                    msg ? (const char *)msg : "?");
            if (msg) yajl_free_error(b.h, msg);
        }
        json_decref(root);
        root = NULL;
    }
    builder_end(&b);
    return root;
}

/* ---- two threads for large models ------------------------------------------------- */

/* A 500-tree model spends ~60 ms in one thread, nearly all of it in the trees.
 * Above PARALLEL_MIN bytes the trees array is cut in two at a tree boundary:
 * this thread parses the document up to the cut, a second thread parses the
 * trees after it, one yajl value at a time, up to the "]" that closes the
 * array; then this thread appends them and parses the rest of the document.
 * The cut is a "},{" before a tree's first key ("base_weights", as XGBoost
 * writes it), and is used only when this thread's parse, at the cut, stands
 * inside learner.gradient_booster.model.trees; anything unexpected (another
 * layout, an error anywhere) parses the whole file again in one thread, so
 * the document and every message are exactly the one-thread ones. */
#define PARALLEL_MIN (1u << 20)
#define TREE_CUT     "},{\"base_weights\":"

typedef struct {
    const char *buf;
    size_t len, start; /* the first tree after the cut starts at buf[start] */
    json_t *trees;     /* the trees parsed */
    size_t end;        /* where the "]" closing the trees array is */
    int ok;
    array_part *out; /* where their kept arrays go (part 1) */
} tail_trees;

static size_t skip_space(const char *buf, size_t len, size_t p)
{
    while (p < len && (buf[p] == ' ' || buf[p] == '\t' || buf[p] == '\n' || buf[p] == '\r')) p++;
    return p;
}

static void *parse_tail_trees(void *arg)
{
    tail_trees *t = arg;
    size_t p = t->start;
    t->ok = 0;
    if (!(t->trees = json_array())) return NULL;
    for (;;) {
        builder b;
        if (builder_start(&b, t->buf, t->out, 1) != 0) return NULL;
        yajl_config(b.h, yajl_allow_trailing_garbage, 1); /* stop at the end of this tree */
        yajl_status st = yajl_parse(b.h, (const unsigned char *)t->buf + p, t->len - p);
        size_t used = yajl_get_bytes_consumed(b.h);
        json_t *tree = b.depth > 0 ? b.stack[0] : NULL;
        int good =
            st == yajl_status_ok && !b.oom && json_is_object(tree) && b.depth == 1 && b.skip_depth == 0;
        builder_end(&b);
        if (!good || json_array_append_new(t->trees, tree) != 0) {
            if (!good) json_decref(tree);
            return NULL;
        }
        p = skip_space(t->buf, t->len, p + used);
        if (p < t->len && t->buf[p] == ',') {
            p = skip_space(t->buf, t->len, p + 1);
            continue;
        }
        if (p < t->len && t->buf[p] == ']') {
            t->end = p;
            t->ok = 1;
        }
        return NULL;
    }
}

/* Whether the trees have vector leaves (multi_strategy "multi_output_tree"):
 * the first tree's size_leaf_vector above 1 (the first after "trees": the
 * model's parameters before it hold one too, 0 in XGBoost 1.x). XGBoost writes
 * it near the end of each tree, so this reads little of a file. */
static int has_vector_leaves(const char *buf, size_t len)
{
    const char *trees = memmem(buf, len, "\"trees\"", 7);
    if (!trees) return 0;
    size_t from = (size_t)(trees - buf);
    const char *key = memmem(trees, len - from, "\"size_leaf_vector\"", 18);
    if (!key) return 0;
    size_t p = skip_space(buf, len, (size_t)(key - buf) + 18);
    if (p < len && buf[p] == ':') p = skip_space(buf, len, p + 1);
    if (p < len && buf[p] == '"') p++;
    long v = 0;
    while (p < len && buf[p] >= '0' && buf[p] <= '9' && v < 100000) v = v * 10 + (buf[p++] - '0');
    return v > 1;
}

/* The document parsed in two threads, or NULL when it must be parsed in one. */
static json_t *load_parallel(const char *buf, size_t len, xgb_arrays *a)
{
    const char *key = memmem(buf, len, "\"trees\":[", 9);
    if (!key) return NULL;
    size_t from = (size_t)(key - buf) + 9, mid = from + (len - from) / 2;
    const char *cut = memmem(buf + mid, len - mid, TREE_CUT, sizeof TREE_CUT - 1);
    if (!cut) return NULL;
    size_t head_end = (size_t)(cut - buf) + 1; /* through the "}" of the last tree before the cut */
    tail_trees tail = {buf, len, head_end + 1, NULL, 0, 0, &a->part[1]}; /* the "{" after the "," */
    pthread_t th;
    if (pthread_create(&th, NULL, parse_tail_trees, &tail) != 0) return NULL;
    builder b;
    json_t *root = NULL;
    int good = builder_start(&b, buf, &a->part[0], 0) == 0 &&
               yajl_parse(b.h, (const unsigned char *)buf, head_end) == yajl_status_ok && !b.oom;
    pthread_join(th, NULL);
    root = b.depth > 0 ? b.stack[0] : NULL;
    /* the cut must stand inside learner.gradient_booster.model.trees, between two trees */
    json_t *model =
        json_object_get(json_object_get(json_object_get(root, "learner"), "gradient_booster"), "model");
    json_t *trees = json_object_get(model, "trees");
    good = good && tail.ok && b.depth == 5 && b.skip_depth == 0 && !b.key && json_is_array(trees) &&
           b.stack[4] == trees && json_array_size(trees) > 0;
    for (size_t i = 0; good && i < json_array_size(tail.trees); i++)
        good = json_array_append(trees, json_array_get(tail.trees, i)) == 0;
    if (good) {
        good = yajl_parse(b.h, (const unsigned char *)buf + tail.end, len - tail.end) == yajl_status_ok &&
               yajl_complete_parse(b.h) == yajl_status_ok && !b.oom;
    }
    json_decref(tail.trees);
    builder_end(&b);
    if (!good) {
        json_decref(root);
        return NULL;
    }
    return root;
}

void xgb_arrays_free(xgb_arrays *a)
{
    if (!a) return;
    for (int k = 0; k < 2; k++) {
        scratch_destroy(a->part[k].mem);
        free(a->part[k].list);
    }
    free(a);
}

/* Room for the numbers: 8 bytes each, and a number takes 2 bytes of text or more. */
static xgb_arrays *arrays_new(const char *buf, size_t len)
{
    xgb_arrays *a = calloc(1, sizeof *a);
    int vector_leaves = a ? has_vector_leaves(buf, len) : 0;
    for (int k = 0; a && k < 2; k++) {
        a->part[k].keep_weights = vector_leaves;
        if (!(a->part[k].mem = scratch_create(len < SIZE_MAX / 8 ? 4 * len + (1 << 20) : 0))) {
            xgb_arrays_free(a);
            return NULL;
        }
    }
    return a;
}

json_t *xgb_json_load_threads(const char *buf, size_t len, const char *name, char *err, int *threads,
                              xgb_arrays **arrays)
{
    *threads = 2;
    xgb_arrays *a = arrays_new(buf, len);
    json_t *root = NULL;
    if (a && len >= PARALLEL_MIN && sysconf(_SC_NPROCESSORS_ONLN) > 1) {
        root = load_parallel(buf, len, a);
        if (!root) { /* once more in one thread, from empty */
            xgb_arrays_free(a);
            a = arrays_new(buf, len);
        }
    }
    if (!root) {
        *threads = 1;
        root = a ? load_serial(buf, len, name, err, a) : (err_set(err, "%s: out of memory", name), NULL);
    }
    if (!root) {
        xgb_arrays_free(a);
        a = NULL;
    }
    *arrays = a;
    return root;
}

json_t *xgb_json_load(const char *buf, size_t len, const char *name, char *err, xgb_arrays **arrays)
{
    int threads;
    return xgb_json_load_threads(buf, len, name, err, &threads, arrays);
}

/* The kept array v stands for, or NULL. */
static const kept_array *kept_of(const xgb_arrays *a, const json_t *v)
{
    if (!a || !json_is_integer(v) || json_integer_value(v) < 0) return NULL;
    const array_part *part = &a->part[json_integer_value(v) & 1];
    size_t k = (size_t)(json_integer_value(v) >> 1);
    return k < part->n && part->list[k].marker == v ? &part->list[k] : NULL;
}

int xgb_is_kept(const xgb_arrays *a, const json_t *v) { return kept_of(a, v) != NULL; }

long xgb_count(const xgb_arrays *a, const json_t *v)
{
    if (json_is_array(v)) return (long)json_array_size(v);
    const kept_array *kept = kept_of(a, v);
    return kept ? (long)kept->n : -1;
}

int xgb_numbers(const xgb_arrays *a, const json_t *v, double *out, size_t n, int bools)
{
    if (json_is_array(v)) {
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(v, i);
            if (json_is_null(e))
                out[i] = NAN;
            else if (json_is_number(e))
                out[i] = json_number_value(e);
            else if (bools && json_is_boolean(e))
                out[i] = json_is_true(e);
            else
                return (int)i + 1;
        }
        return 0;
    }
    const kept_array *kept = kept_of(a, v);
    if (!kept) return 1;
    if (kept->bad > 0 && (size_t)kept->bad <= n) return (int)kept->bad;
    if (!bools && kept->first_bool > 0 && (size_t)kept->first_bool <= n) return (int)kept->first_bool;
    if (kept->n < n) return (int)kept->n + 1;
    if (n) memcpy(out, kept->v, n * sizeof *out);
    return 0;
}
