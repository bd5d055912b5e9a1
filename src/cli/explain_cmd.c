/* explain_cmd — `tabserve explain`: one line of Shapley values per CSV row. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/files.h"
#include "base/numtext.h"
#include "data/dataset.h"
#include "data/score.h"
#include "explain/explain.h"
#include "formats/default_model.h"
#include "formats/open.h"
#include "model/encode.h"
#include "model/model.h"

/* ---- explain ------------------------------------------------------------ */

/* One row's explanation as a JSON line: {"row": N, "predict": ..., "base": ...}. */
static int explain_line(const explainer *ex, const model *m, const float *x, long row, FILE *out, char *buf,
                        char *err)
{
    float y[m->n_outputs > 0 ? m->n_outputs : 1];
    float scratch[model_scratch_floats(m, 1) + 1];
    int k = m->predictor->n_outputs, bad;
    double margin[k], base[k], contrib[(size_t)k * m->schema.n_inputs], se[(size_t)k * m->schema.n_inputs];
    model_predict(m, x, 1, scratch, y);
    if (model_check_output(m, x, y, NULL, &bad, err) != 0) return -1;
    if (explainer_row_se(ex, x, margin, base, contrib, se, err) != 0) return -1;
    size_t n =
        explain_json(m, explainer_method(ex), y, margin, base, contrib, se, explainer_samples(ex), buf);
    fprintf(out, "{\"row\": %ld, ", row);
    fwrite(buf + 1, 1, n - 1, out);
    putc('\n', out);
    return 0;
}

static const char explain_usage[] =
    "usage: tabserve explain [MODEL] --input F [options]\n"
    "  MODEL       a model file [the built-in model]\n"
    "  --input F   rows to explain (required): CSV with a header, or JSON lines (.jsonl, .json)\n"
    "  --output F  a JSON line a row: prediction, base, margin, a contribution per input [stdout]\n";

int cmd_explain(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(explain_usage, stdout);
        fputs(cli_load_help, stdout);
        return 0;
    }
    const char *model_path = NULL, *input = NULL, *output = "-";
    load_options lo = LOAD_OPTIONS_DEFAULT;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = cli_io_option(argc, argv, &i, &input, &output)) > 0)
            continue;
        else if (r == 0 && (r = cli_load_option(argc, argv, &i, &lo)) > 0)
            continue;
        else if (r == 0 && argv[i][0] != '-' && !model_path)
            model_path = argv[i];
        else if (r == 0) {
            fprintf(stderr,
                    "usage: tabserve explain [MODEL] --input F.csv|F.jsonl [--output F] [--schema F]\n");
            return 2;
        }
        if (r < 0) return 2;
    }
    if (!input) {
        fprintf(stderr, "tabserve explain: --input is required (CSV with a header, or JSON lines)\n");
        return 2;
    }
    char err[ERR_LEN];
    model *m = model_open(model_path, lo.schema_path, &lo.limits, err);
    explainer *ex = m ? explainer_create(m, err) : NULL;
    if (!ex) {
        fprintf(stderr, "tabserve explain: %s\n", err);
        model_free(m);
        return 1;
    }
    int jsonl = cli_names_jsonl(input);
    float *x = malloc((size_t)m->n_features * sizeof *x);
    char *buf = malloc(explain_json_max(m));
    dataset *d = NULL;
    FILE *in = NULL;
    atomic_file af = {0};
    int rc = !x || !buf ? err_set(err, "out of memory") : atomic_open(&af, output, err);
    if (rc == 0 && !jsonl) { /* CSV: the model's inputs by name */
        const char *names[m->schema.n_inputs];
        for (size_t i = 0; i < m->schema.n_inputs; i++) names[i] = m->schema.inputs[i].name;
        if (!(d = dataset_load(input, names, m->schema.n_inputs, err))) rc = -1;
        for (size_t r = 0; rc == 0 && d && r < d->n_rows; r++) {
            char why[ERR_LEN];
            if (score_encode_row(m, d, r, 0, x, err) != 0)
                rc = -1; /* the message names the row and column */
            else if (explain_line(ex, m, x, (long)r + 1, af.fp, buf, why) != 0)
                rc = err_set(err, "%s: row %zu: %s", input, r + 1, why);
        }
    } else if (rc == 0) { /* JSON lines: one object of input values a line */
        char *line = NULL;
        size_t cap = 0;
        long no = 0;
        if (!(in = strcmp(input, "-") == 0 ? stdin : fopen(input, "rb")))
            rc = err_set(err, "%s: %s", input, strerror(errno));
        while (rc == 0 && getline(&line, &cap, in) > 0) {
            no++;
            json_error_t je;
            int bad;
            json_t *obj = json_loads(line, JSON_REJECT_DUPLICATES, &je);
            if (!obj)
                rc = err_set(err, "%s: line %ld: malformed JSON at column %d: %s", input, no, je.column,
                             je.text);
            else if (encode_json(m, obj, "$", lo.encode_rules, x, &bad, err) != 0 ||
                     explain_line(ex, m, x, no, af.fp, buf, err) != 0)
                rc = -1;
            if (rc != 0 && obj) {
                char why[ERR_LEN];
                snprintf(why, sizeof why, "%s", err);
                err_set(err, "%s: line %ld: %s", input, no, why);
            }
            json_decref(obj);
        }
        free(line);
    }
    if (rc == 0) rc = atomic_commit(&af, err);
    if (rc != 0) atomic_abort(&af);
    if (in && in != stdin) fclose(in);
    dataset_free(d);
    free(x);
    free(buf);
    explainer_free(ex);
    model_free(m);
    if (rc != 0) fprintf(stderr, "tabserve explain: %s\n", err);
    return rc == 0 ? 0 : 1;
}
