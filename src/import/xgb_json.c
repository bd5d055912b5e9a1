/* xgb_json — an XGBoost JSON model in one pass of yajl's streaming parser.
 *
 * A 500-tree model is ~6 MB of JSON, almost all of it ten arrays per tree
 * node; jansson spends ~175 ms allocating a value for each number. Here yajl
 * validates every byte, everything outside those arrays becomes the jansson
 * document xgboost.c reads (small), the arrays the reader needs are kept as
 * their text (one string each, read into C arrays by xgb_numbers), and the
 * statistics it never reads (loss_changes, base_weights, parents)
 * are dropped as they stream past. */
#define _POSIX_C_SOURCE 200809L
#include "import/xgb_json.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "base/err.h"
#include "base/jsonscan.h"
#include "base/numtext.h"

#define MAX_DEPTH 64

static const char *const kept[] = {"left_children",    "right_children",   "split_indices",
                                   "split_conditions", "default_left",     "split_type",
                                   "categories",       "categories_nodes", "categories_segments",
                                   "categories_sizes", "sum_hessian"};
static const char *const dropped[] = {"loss_changes", "base_weights", "parents"};

typedef struct {
    yajl_handle h;
    const char *buf;
    json_t *stack[MAX_DEPTH]; /* open containers */
    int depth;
    char *key; /* the pending member name of the innermost object */
    /* an array being skipped (raw or dropped): its depth and start offset */
    int skip_depth, skip_keep;
    size_t skip_start, skip_count; /* the array's elements, counted as they pass */
    char *skip_key;
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

/* Inside a kept or dropped array: an element at its top level is counted. */
static int in_skip(builder *b)
{
    if (b->skip_depth == 1) b->skip_count++;
    return b->skip_depth > 0;
}

static int on_null(void *ctx)
{
    builder *b = ctx;
    return in_skip(b) ? 1 : add(b, json_null());
}

static int on_bool(void *ctx, int v)
{
    builder *b = ctx;
    return in_skip(b) ? 1 : add(b, json_boolean(v));
}

static int on_number(void *ctx, const char *s, size_t n)
{
    builder *b = ctx;
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
    if (in_skip(b)) {
        b->skip_depth++;
        return 1;
    }
    return open_container(b, json_object());
}

static int on_start_array(void *ctx)
{
    builder *b = ctx;
    if (in_skip(b)) {
        b->skip_depth++;
        return 1;
    }
    for (size_t i = 0; b->key && i < sizeof kept / sizeof *kept; i++)
        if (strcmp(b->key, kept[i]) == 0) {
            b->skip_depth = 1;
            b->skip_keep = 1;
            b->skip_count = 0;
            b->skip_start = yajl_get_bytes_consumed(b->h) - 1; /* the '[' */
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
        size_t end = yajl_get_bytes_consumed(b->h);
        /* kept as where its text is in the buffer, tagged so that xgb_numbers knows
         * it: no copy of megabytes of numbers (nor jansson's UTF-8 check of them) */
        json_t *raw = json_pack("{s:I,s:I,s:I}", XGB_RAW_KEY, (json_int_t)(intptr_t)(b->buf + b->skip_start),
                                XGB_LEN_KEY, (json_int_t)(end - b->skip_start), XGB_COUNT_KEY,
                                (json_int_t)b->skip_count);
        return add(b, raw);
    }
    if (b->depth > 1) b->depth--; /* the root stays, to be returned */
    return 1;
}

json_t *xgb_json_load(const char *buf, size_t len, const char *name, char *err)
{
    static const yajl_callbacks cb = {on_null,      on_bool, NULL,   NULL,           on_number, on_string,
                                      on_start_map, on_key,  on_end, on_start_array, on_end};
    builder b;
    memset(&b, 0, sizeof b);
    b.buf = buf;
    b.h = yajl_alloc(&cb, NULL, &b);
    if (!b.h) {
        err_set(err, "%s: out of memory", name);
        return NULL;
    }
    yajl_config(b.h, yajl_dont_validate_strings, 0); /* names are UTF-8 checked: they reach JSON answers */
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
    free(b.key);
    yajl_free(b.h);
    return root;
}

int xgb_is_raw(const json_t *v) { return json_is_object(v) && json_object_get(v, XGB_RAW_KEY); }

long xgb_count(const json_t *v)
{
    if (json_is_array(v)) return (long)json_array_size(v);
    json_t *n = json_object_get(v, XGB_COUNT_KEY);
    return json_is_integer(n) && json_object_get(v, XGB_RAW_KEY) ? (long)json_integer_value(n) : -1;
}

int xgb_numbers(const json_t *v, double *out, size_t n)
{
    if (json_is_array(v)) {
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(v, i);
            if (json_is_null(e))
                out[i] = NAN;
            else if (json_is_number(e))
                out[i] = json_number_value(e);
            else
                return (int)i + 1;
        }
        return 0;
    }
    json_t *at = json_object_get(v, XGB_RAW_KEY), *length = json_object_get(v, XGB_LEN_KEY);
    if (!json_is_integer(at) || !json_is_integer(length)) return 1;
    const char *p = (const char *)(intptr_t)json_integer_value(at), *end = p + json_integer_value(length);
    while (p < end && *p != '[') p++;
    if (p == end) return 1;
    p++;
    for (size_t i = 0; i < n; i++) {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
        const char *q = p;
        while (q < end && *q != ',' && *q != ']' && *q != ' ' && *q != '\n' && *q != '\r' && *q != '\t') q++;
        size_t len = (size_t)(q - p), k = *p == '-';
        long long whole = 0;
        while (k < len && k < 16 && p[k] >= '0' && p[k] <= '9') whole = whole * 10 + (p[k++] - '0');
        if (k == len && len > (size_t)(*p == '-')) /* an integer: most of these arrays */
            out[i] = (double)(*p == '-' ? -whole : whole);
        else if (len == 4 && memcmp(p, "null", 4) == 0)
            out[i] = NAN;
        else if (json_scan_number(p, q, &out[i]) != q && parse_finite_double(p, len, &out[i]) != 0)
            return (int)i + 1; /* a string, true, an object ...: not a number */
        p = q;
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
        if (p < end && *p == ',') p++;
    }
    return 0;
}
