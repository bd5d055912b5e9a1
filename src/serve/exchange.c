/* exchange — replies and errors in the cluster protocols' shape. */
#include "serve/exchange.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/jsonx.h"
#include "explain/explain.h"

void exchange_reply(exchange *x, int status, const char *content_type, const char *body, size_t len)
{
    x->res->status = status;
    x->res->content_type = content_type;
    x->res->body = body;
    x->res->body_len = len;
}

void exchange_error(exchange *x, int status, const char *fmt, ...)
{
    char msg[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    utf8_scrub(msg);
    json_t *root = json_pack("{s:s}", "error", msg);
    size_t n = root ? json_dumpb(root, x->out, x->out_cap - 1, JSON_COMPACT) : 0;
    json_decref(root);
    if (n == 0 || n >= x->out_cap - 1)
        n = (size_t)snprintf(x->out, x->out_cap, "{\"error\":\"status %d\"}", status);
    x->out[n++] = '\n';
    x->res->predictions = 0;
    exchange_reply(x, status, "application/json", x->out, n);
}

int exchange_is_json_type(const char *ct)
{
    if (!ct) return 1;
    while (*ct == ' ') ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The body with NaN written as null and an Infinity as JSON_INFINITY_TEXT, or
 * NULL when it has no bare token (read it as it is); NULL with *bad set when
 * out of memory. */
static char *json_tokens(const char *in, size_t len, size_t *out_len, int *bad, char *err)
{
    *bad = 0;
    char *out = NULL;
    size_t o = 0;
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        const char *token = NULL, *as = NULL;
        if (in_string) {
            if (c == '\\' && i + 1 < len) {
                if (out) out[o++] = c;
                c = in[++i];
            } else if (c == '"') {
                in_string = 0;
            }
        } else if (c == '"') {
            in_string = 1;
        } else if (c == 'N') {
            token = "NaN", as = "null";
        } else if (c == 'I') {
            token = "Infinity", as = JSON_INFINITY_TEXT;
        }
        size_t n = token ? strlen(token) : 0;
        if (token && len - i >= n && memcmp(in + i, token, n) == 0) {
            if (!out) { /* each token grows at most 22 / 8 times */
                if (!(out = malloc(len * 3 + 2))) return err_set(err, "out of memory"), *bad = 1, NULL;
                memcpy(out, in, i);
                o = i;
            }
            memcpy(out + o, as, strlen(as));
            o += strlen(as);
            i += n - 1;
            continue;
        }
        if (out) out[o++] = c;
    }
    *out_len = o;
    return out;
}

json_t *exchange_parse(exchange *x, const char *body, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root) return root;
    /* only when plain JSON fails: the bare tokens TF Serving takes and Triton's
     * client writes for a NaN in FP32/FP64 data */
    char err[ERR_LEN];
    size_t text_len = 0;
    int bad;
    char *text = json_tokens(body, len, &text_len, &bad, err);
    if (bad) {
        exchange_error(x, 400, "%s", err);
        return NULL;
    }
    if (text) {
        json_error_t again;
        root = json_loadb(text, text_len, JSON_REJECT_DUPLICATES, &again);
        free(text);
        if (root) return root;
    }
    exchange_error(x, 400, "malformed JSON at byte %d (line %d, column %d): %s", jerr.position, jerr.line,
                   jerr.column, jerr.text);
    return NULL;
}

int exchange_explain(exchange *x, const explainer *ex, int n, int as_list, char *err)
{
    const model *m = x->batch->m;
    if (!ex) { /* not explainable: the reason */
        explain_method method;
        if (explain_method_of(m, &method, err) == 0) err_set(err, "out of memory preparing explanations");
        return 501;
    }
    /* the cost is known before the work starts: a request over the budget is
     * refused with what to send instead, never left to the worker's timeout */
    size_t per_row = explain_json_max(m) + 4, fit = x->out_cap > 64 ? (x->out_cap - 64) / per_row : 0;
    double row_s = explainer_row_seconds(ex);
    if (x->explain_budget > 0 && (double)n * row_s > x->explain_budget) {
        /* what to send instead fits the answer too, so that it is then answered */
        double most = x->explain_budget / (row_s > 0 ? row_s : 1e-9);
        return err_set(
                   err,
                   "explaining %d rows takes about %.1f s (%.3g s a row, measured on this model), over the "
                   "budget of %g s a request (--explain-budget): send at most %zu rows a request",
                   n, (double)n * row_s, row_s, x->explain_budget, most < (double)fit ? (size_t)most : fit),
               413;
    }
    if ((size_t)n > fit)
        return err_set(err, "explanations of %d rows do not fit one answer: send at most %zu rows", n, fit),
               413;
    int k = m->predictor->n_outputs;
    size_t ni = m->schema.n_inputs;
    double margin[k], base[k], *contrib = malloc((size_t)k * ni * sizeof *contrib),
                               *se = malloc((size_t)k * ni * sizeof *se);
    if (!contrib || !se) {
        free(contrib);
        free(se);
        return err_set(err, "out of memory"), 500;
    }
    char *o = x->out;
    if (as_list) o += sprintf(o, "{\"explanations\": [");
    for (int r = 0; r < n; r++) {
        if (explainer_row_se(ex, model_batch_row(x->batch, r), margin, base, contrib, se, err) != 0) {
            free(contrib);
            free(se);
            return 500;
        }
        if (r) o += sprintf(o, ", ");
        o += explain_json(m, explainer_method(ex), x->batch->y + (size_t)r * (size_t)m->n_outputs, margin,
                          base, contrib, se, explainer_samples(ex), o);
    }
    free(contrib);
    free(se);
    if (as_list) o += sprintf(o, "]}");
    *o++ = '\n';
    x->res->predictions = n;
    exchange_reply(x, 200, "application/json", x->out, (size_t)(o - x->out));
    return 0;
}

int exchange_score(exchange *x, int n, const char *where_fmt)
{
    model_batch *b = x->batch;
    const model *m = b->m;
    model_batch_run(b, n);
    for (int i = 0; i < n; i++) {
        const float *y = b->y + (size_t)i * (size_t)m->n_outputs;
        if (model_output_finite(m, y)) continue;
        char where[64], err[ERR_LEN];
        int bad;
        snprintf(where, sizeof where, where_fmt, i);
        model_check_output(m, model_batch_row(b, i), y, where, &bad, err);
        exchange_error(x, 400, "%s", err);
        return -1;
    }
    return 0;
}
