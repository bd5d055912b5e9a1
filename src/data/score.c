/* score — CSV and JSON-lines scoring in batches through model_predict. */
#define _POSIX_C_SOURCE 200809L
#include "data/score.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "data/csv_reader.h"
#include "model/encode.h"

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
    model_batch batch;
    char *value; /* one row's predict value(s), output_row_max bytes */
    char *text;  /* rows' pass-through text, back to back */
    size_t text_used, text_cap;
    size_t text_end[BATCH_ROWS];
    long source[BATCH_ROWS]; /* each pending row's CSV row or JSON line, for messages */
} scorer;

static int bad_row(scorer *s, const char *where, const char *why, char *err);

static int flush_batch(scorer *s, char *err)
{
    if (s->n == 0) return 0;
    model_batch_run(&s->batch, s->n);
    const output_spec *os = &s->m->output;
    size_t start = 0;
    int csv = s->o->format == SCORE_CSV;
    for (int i = 0; i < s->n; i++) {
        const float *y = s->batch.y + (size_t)i * s->m->n_outputs;
        char where[48], why[ERR_LEN];
        int bad_input;
        if (model_check_output(s->m, model_batch_row(&s->batch, i), y, csv ? NULL : "$", &bad_input, why) !=
            0) {
            snprintf(where, sizeof where, csv ? "row %ld" : "line %ld", s->source[i]);
            start = s->text_end[i];
            if (bad_row(s, where, why, err) != 0) return -1;
            continue;
        }
        fwrite(s->text + start, 1, s->text_end[i] - start, s->out);
        if (s->o->format == SCORE_CSV) {
            putc(',', s->out);
            fwrite(s->value, 1, output_csv_row(os, y, s->value), s->out);
            putc('\n', s->out);
        } else {
            fputs("\"predict\":", s->out);
            fwrite(s->value, 1, output_row_json(os, y, s->value), s->out);
            fputs("}\n", s->out);
        }
        start = s->text_end[i];
        s->res->rows_written++;
    }
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

static int on_csv_row(void *ctx, size_t row, const char *const *fields, const size_t *lens, size_t n,
                      char *err)
{
    scorer *s = ctx;
    const model *m = s->m;
    const schema *sc = &m->schema;
    size_t worst = n + 1;
    for (size_t k = 0; k < n; k++) worst += 2 * lens[k] + 2;
    if (reserve_text(s, worst + 80 * (size_t)m->n_outputs + 64, err) != 0) return -1;
    if (row == 0) {
        for (size_t i = 0; i < sc->n_inputs; i++) {
            long k = csv_find_column(fields, n, sc->inputs[i].name);
            if (k < 0)
                return err_set(err,
                               "%s: header: no column named \"%s\" (the model's inputs are read by name)",
                               s->name, sc->inputs[i].name);
            s->col_of[i] = (size_t)k;
        }
        /* the header goes out through the text buffer, as a row with no values */
        char *t = s->text + s->text_used;
        size_t used = 0;
        for (size_t k = 0; k < n; k++) {
            if (k) t[used++] = ',';
            used += csv_format_field(t + used, fields[k], lens[k]);
        }
        if (n) t[used++] = ',';
        used += output_csv_header(&m->output, t + used, s->text_cap - s->text_used - used - 1);
        t[used++] = '\n';
        fwrite(t, 1, used, s->out);
        return 0;
    }
    const char *values[sc->n_inputs];
    size_t vlens[sc->n_inputs];
    for (size_t i = 0; i < sc->n_inputs; i++) {
        values[i] = fields[s->col_of[i]];
        vlens[i] = lens[s->col_of[i]];
    }
    int bad_input;
    char why[ERR_LEN], where[32];
    if (encode_text(m, values, vlens, model_batch_row(&s->batch, s->n), &bad_input, why) != 0) {
        snprintf(where, sizeof where, "row %zu", row);
        return bad_row(s, where, why, err);
    }
    for (size_t k = 0; k < n; k++) {
        if (k) s->text[s->text_used++] = ',';
        s->text_used += csv_format_field(s->text + s->text_used, fields[k], lens[k]);
    }
    s->source[s->n] = (long)row;
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
        if (encode_json(m, obj, "$", s->o->encode_rules, model_batch_row(&s->batch, s->n), &bad_input, why) !=
            0) {
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
        s->source[s->n] = lineno;
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
    s.col_of = calloc(m->schema.n_inputs, sizeof *s.col_of);
    s.value = malloc(output_row_max(&m->output));
    int rc;
    if (!s.col_of || !s.value || model_batch_init(&s.batch, m, BATCH_ROWS, err) != 0)
        rc = err_set(err, "out of memory");
    else if (o->format == SCORE_CSV)
        rc = csv_read_stream(in, in_name, on_csv_row, &s, err);
    else
        rc = score_jsonl(&s, in, err);
    if (rc == 0) rc = flush_batch(&s, err);
    free(s.col_of);
    free(s.value);
    model_batch_free(&s.batch);
    free(s.text);
    return rc;
}

int score_encode_row(const model *m, const dataset *d, size_t r, size_t first_col, float *x, char *err)
{
    size_t n = m->schema.n_inputs;
    const char *values[n];
    size_t lens[n];
    for (size_t i = 0; i < n; i++) {
        values[i] = dataset_cell(d, r, first_col + i);
        lens[i] = d->lens[r * d->n_cols + first_col + i];
    }
    int bad_input;
    char why[ERR_LEN];
    if (encode_text(m, values, lens, x, &bad_input, why) != 0)
        return err_set(err, "%s: row %zu: %s", d->path, r + 1, why);
    return 0;
}

long score_dataset(const model *m, const dataset *d, size_t first_col, const unsigned char *use,
                   unsigned char want, float *y, char *err)
{
    model_batch b;
    if (model_batch_init(&b, m, BATCH_ROWS, err) != 0) return -1;
    long done = 0;
    int pending = 0;
    size_t rows[BATCH_ROWS];
    for (size_t r = 0; r <= d->n_rows; r++) {
        if (pending == BATCH_ROWS || (r == d->n_rows && pending > 0)) {
            model_batch_run(&b, pending);
            for (int i = 0; i < pending; i++) {
                char why[ERR_LEN];
                int bad_input;
                if (model_check_output(m, model_batch_row(&b, i), b.y + (size_t)i * m->n_outputs, NULL,
                                       &bad_input, why) != 0) {
                    model_batch_free(&b);
                    return err_set(err, "%s: row %zu: %s", d->path, rows[i] + 1, why);
                }
            }
            memcpy(y + (size_t)done * m->n_outputs, b.y, (size_t)pending * m->n_outputs * sizeof *y);
            done += pending;
            pending = 0;
        }
        if (r == d->n_rows) break;
        if (use && use[r] != want) continue;
        if (score_encode_row(m, d, r, first_col, model_batch_row(&b, pending), err) != 0) {
            model_batch_free(&b);
            return -1;
        }
        rows[pending++] = r;
    }
    model_batch_free(&b);
    return done;
}
