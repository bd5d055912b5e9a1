/* xgb_json — reading an XGBoost JSON model fast (xgb_json.c says how): a
 * jansson document in which the per-node arrays of the trees are kept as their
 * numbers, read as they streamed past, into memory beside the document
 * (xgb_arrays), read with xgb_count and xgb_numbers. */
#ifndef TABSERVE_XGB_JSON_H
#define TABSERVE_XGB_JSON_H

#include <stddef.h>

struct json_t;

/* Where a document's node arrays lie: memory of the load (base/scratch.h, a
 * block per parsing thread), freed by xgb_arrays_free once the document has
 * been read. In the document a kept array is an integer, its place here, and
 * is taken for one only when that very value is the one recorded there: an
 * integer the file holds never is. */
typedef struct xgb_arrays xgb_arrays;
void xgb_arrays_free(xgb_arrays *a);

/* The document, or NULL with err naming the file and byte offset (the byte
 * after the one that broke the syntax, as yajl counts); *arrays its arrays
 * (NULL with the document). A document over 1 MB is read by two threads when
 * it can be (xgb_json.c says how); the result and every message are the
 * one-thread ones. */
struct json_t *xgb_json_load(const char *buf, size_t len, const char *name, char *err, xgb_arrays **arrays);
/* The same, saying in *threads how many read it (for tests). */
struct json_t *xgb_json_load_threads(const char *buf, size_t len, const char *name, char *err, int *threads,
                                     xgb_arrays **arrays);

/* Whether v stands for a kept array of a. */
int xgb_is_kept(const xgb_arrays *a, const struct json_t *v);

/* How many elements the array v (kept, or a jansson array) has; -1 when v is
 * neither. */
long xgb_count(const xgb_arrays *a, const struct json_t *v);

/* The array's first n elements as doubles (null: NaN), a kept one read from
 * a (NULL: the document did not come from xgb_json_load); with bools, true and
 * false too, as 1 and 0 (XGBoost 1.0 to 1.5 wrote default_left so). Returns 0,
 * or 1 + the index of the first element that is none of these. */
int xgb_numbers(const xgb_arrays *a, const struct json_t *v, double *out, size_t n, int bools);

#endif
