/* score — CSV and JSON-lines scoring with batched forward passes. */
#define _POSIX_C_SOURCE 200809L
#include "score.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "csv_reader.h"
#include "encode.h"
#include "nn.h"
#include "util.h"

#define BATCH_ROWS 1024

typedef struct {
    const model *m;
    const score_options *o;
    const char *name;
    FILE *out, *log;
    score_result *res;
    size_t *col_of; /* (n_inputs,) header position of each model input */
    /* the pending batch: encoded rows, and each row's output text without predict */
    int n;
    float *x; /* (BATCH_ROWS, n_features) */
    float *p; /* (BATCH_ROWS,) */
    float *scratch;
    char *text; /* rows' pass-through text, back to back */
    size_t text_used, text_cap;
    size_t text_end[BATCH_ROWS];
} scorer;

static int flush_batch(scorer *s, char *err)
{
    if (s->n == 0) return 0;
    nn_forward(s->m, s->x, s->n, s->scratch, s->p);
    size_t start = 0;
    for (int i = 0; i < s->n; i++) {
        fwrite(s->text + start, 1, s->text_end[i] - start, s->out);
        char num[32];
        int len = format_probability(num, s->p[i]);
        if (s->o->format == SCORE_CSV) {
            putc(',', s->out);
        } else {
            fputs("\"predict\":", s->out);
        }
        fwrite(num, 1, (size_t)len, s->out);
        fputs(s->o->format == SCORE_CSV ? "\n" : "}\n", s->out);
        start = s->text_end[i];
    }
    s->res->rows_written += s->n;
    s->n = 0;
    s->text_used = 0;
    if (ferror(s->out)) return err_set(err, "write error on the output");
    return 0;
}

static int reserve_text(scorer *s, size_t more, char *err)
{
    if (s->text_used + more <= s->text_cap) return 0;
    size_t ncap = s->text_cap ? s->text_cap : 1 << 16;
    while (ncap < s->text_used + more) ncap *= 2;
    char *nt = realloc(s->text, ncap);
    if (!nt) return err_set(err, "out of memory");
    s->text = nt;
    s->text_cap = ncap;
    return 0;
}

/* a row that failed to encode: fatal, or reported and skipped */
static int bad_row(scorer *s, const char *where, const char *why, char *err)
{
    if (!s->o->skip_bad) return err_set(err, "%s: %s: %s", s->name, where, why);
    fprintf(s->log, "tabserve predict: %s: %s: %s (skipped)\n", s->name, where, why);
    s->res->rows_skipped++;
    return 0;
}

/* Appends a CSV field to the row text, quoted when needed. */
static void append_csv_field(scorer *s, const char *f, size_t len)
{
    int quote = 0;
    for (size_t i = 0; i < len && !quote; i++)
        quote = f[i] == ',' || f[i] == '"' || f[i] == '\r' || f[i] == '\n';
    char *t = s->text + s->text_used;
    if (!quote) {
        memcpy(t, f, len);
        s->text_used += len;
        return;
    }
    size_t k = 0;
    t[k++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (f[i] == '"') t[k++] = '"';
        t[k++] = f[i];
    }
    t[k++] = '"';
    s->text_used += k;
}

static int on_csv_row(void *ctx, size_t row, const char *const *fields, const size_t *lens, size_t n,
                      char *err)
{
    scorer *s = ctx;
    const model *m = s->m;
    if (row == 0) {
        for (size_t i = 0; i < m->n_inputs; i++) {
            size_t k = 0;
            while (k < n && strcmp(fields[k], m->inputs[i].name) != 0) k++;
            if (k == n)
                return err_set(err,
                               "%s: header: no column named \"%s\" (the model's inputs are read by name)",
                               s->name, m->inputs[i].name);
            s->col_of[i] = k;
        }
        for (size_t k = 0; k < n; k++) {
            fputs(k ? "," : "", s->out);
            csv_write_field(s->out, fields[k], lens[k]);
        }
        fputs(n ? ",predict\n" : "predict\n", s->out);
        return 0;
    }
    const char *values[m->n_inputs];
    size_t vlens[m->n_inputs];
    for (size_t i = 0; i < m->n_inputs; i++) {
        values[i] = fields[s->col_of[i]];
        vlens[i] = lens[s->col_of[i]];
    }
    int bad_input;
    char why[ERR_LEN], where[32];
    if (encode_text(m, values, vlens, s->x + (size_t)s->n * m->n_features, &bad_input, why) != 0) {
        snprintf(where, sizeof where, "row %zu", row);
        return bad_row(s, where, why, err);
    }
    size_t worst = n + 1;
    for (size_t k = 0; k < n; k++) worst += 2 * lens[k] + 2;
    if (reserve_text(s, worst, err) != 0) return -1;
    for (size_t k = 0; k < n; k++) {
        if (k) s->text[s->text_used++] = ',';
        append_csv_field(s, fields[k], lens[k]);
    }
    s->text_end[s->n++] = s->text_used;
    return s->n == BATCH_ROWS ? flush_batch(s, err) : 0;
}

static int score_jsonl(scorer *s, FILE *in, char *err)
{
    const model *m = s->m;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        if (len == 0) continue;
        char where[48], why[ERR_LEN];
        snprintf(where, sizeof where, "line %ld", lineno);
        json_error_t jerr;
        json_t *obj = json_loadb(line, (size_t)len, 0, &jerr);
        if (!obj) {
            snprintf(why, sizeof why, "invalid JSON at byte %d: %s", jerr.position, jerr.text);
            rc = bad_row(s, where, why, err);
            continue;
        }
        int bad_input;
        if (encode_json(m, obj, "$", s->x + (size_t)s->n * m->n_features, &bad_input, why) != 0) {
            json_decref(obj);
            rc = bad_row(s, where, why, err);
            continue;
        }
        json_object_del(obj, "predict");
        char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(obj);
        if (!text || reserve_text(s, strlen(text) + 1, err) != 0) {
            free(text);
            rc = err_set(err, "out of memory");
            break;
        }
        /* the object's closing brace is replaced by ,"predict":p} at flush */
        size_t tl = strlen(text) - 1;
        memcpy(s->text + s->text_used, text, tl);
        s->text_used += tl;
        if (tl > 1) s->text[s->text_used++] = ',';
        free(text);
        s->text_end[s->n++] = s->text_used;
        if (s->n == BATCH_ROWS) rc = flush_batch(s, err);
    }
    free(line);
    if (rc == 0 && ferror(in)) rc = err_set(err, "%s: read error", s->name);
    return rc;
}

int score_stream(const model *m, FILE *in, const char *in_name, FILE *out, const score_options *o, FILE *log,
                 score_result *res, char *err)
{
    scorer s = {.m = m, .o = o, .name = in_name, .out = out, .log = log, .res = res};
    memset(res, 0, sizeof *res);
    s.col_of = calloc(m->n_inputs, sizeof *s.col_of);
    s.x = malloc((size_t)BATCH_ROWS * m->n_features * sizeof *s.x);
    s.p = malloc(BATCH_ROWS * sizeof *s.p);
    s.scratch = malloc(nn_scratch_floats(m, BATCH_ROWS) * sizeof *s.scratch);
    int rc;
    if (!s.col_of || !s.x || !s.p || !s.scratch)
        rc = err_set(err, "out of memory");
    else if (o->format == SCORE_CSV)
        rc = csv_read_stream(in, in_name, on_csv_row, &s, err);
    else
        rc = score_jsonl(&s, in, err);
    if (rc == 0) rc = flush_batch(&s, err);
    free(s.col_of);
    free(s.x);
    free(s.p);
    free(s.scratch);
    free(s.text);
    return rc;
}
