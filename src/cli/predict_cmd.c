/* predict_cmd — `tabserve predict`: a CSV scored, one prediction column added. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/files.h"
#include "base/numtext.h"
#include "data/dataset.h"
#include "data/score.h"
#include "formats/default_model.h"
#include "formats/open.h"
#include "model/encode.h"
#include "model/model.h"

/* ---- predict ------------------------------------------------------------ */

static const char predict_usage[] =
    "usage: tabserve predict [MODEL] [options]\n"
    "  MODEL             a model file [the built-in model]\n"
    "  --input F         rows to score [stdin]\n"
    "  --output F        where the answers go, written whole or not at all [stdout]\n"
    "  --format csv|jsonl  what --input holds [from its name: .jsonl or .json are JSON lines, else CSV]\n"
    "  --skip-bad        report a bad row on stderr and go on [stop at the first]\n";

int cmd_predict(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(predict_usage, stdout);
        fputs(cli_load_help, stdout);
        return 0;
    }
    const char *model_path = NULL, *input = "-", *output = "-", *format = NULL, *v = NULL;
    load_options lo = LOAD_OPTIONS_DEFAULT;
    score_options o = {SCORE_CSV, 0, ENCODE_IGNORE_UNKNOWN};
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = cli_io_option(argc, argv, &i, &input, &output)) > 0)
            continue;
        else if (r == 0 && (r = cli_option(argc, argv, &i, "--format", &v)) > 0)
            format = v;
        else if (r == 0 && (r = cli_load_option(argc, argv, &i, &lo)) > 0)
            continue;
        else if (r == 0 && strcmp(argv[i], "--skip-bad") == 0)
            o.skip_bad = 1;
        else if (r == 0 && argv[i][0] != '-' && !model_path)
            model_path = argv[i];
        else if (r == 0) {
            fprintf(stderr, "usage: tabserve predict [MODEL] [--input F] [--output F] "
                            "[--format csv|jsonl] [--skip-bad] [--schema F] [--max-trees N ...]\n");
            return 2;
        }
        if (r < 0) return 2;
    }
    if (!format) format = cli_names_jsonl(input) ? "jsonl" : "csv";
    /* predict carries the other columns and members of a row (ids) to its output:
     * they are not errors here; a row with none of the inputs still is */
    o.encode_rules = ENCODE_IGNORE_UNKNOWN;
    if (strcmp(format, "jsonl") == 0)
        o.format = SCORE_JSONL;
    else if (strcmp(format, "csv") != 0) {
        fprintf(stderr, "tabserve predict: --format must be csv or jsonl, got \"%s\"\n", format);
        return 2;
    }
    char err[ERR_LEN];
    model *m = model_open(model_path, lo.schema_path, &lo.limits, err);
    if (!m) {
        fprintf(stderr, "tabserve predict: %s\n", err);
        return 1;
    }
    FILE *in = strcmp(input, "-") == 0 ? stdin : fopen(input, "rb");
    if (!in) {
        fprintf(stderr, "tabserve predict: %s: %s\n", input, strerror(errno));
        model_free(m);
        return 1;
    }
    atomic_file af;
    score_result res;
    int rc = atomic_open(&af, output, err);
    if (rc == 0) {
        static char outbuf[1 << 16];
        setvbuf(af.fp, outbuf, _IOFBF, sizeof outbuf);
        rc = score_stream(m, in, strcmp(input, "-") == 0 ? "<stdin>" : input, af.fp, &o, stderr, &res, err);
        if (rc == 0)
            rc = atomic_commit(&af, err);
        else
            atomic_abort(&af);
    }
    if (in != stdin) fclose(in);
    model_free(m);
    if (rc != 0) {
        fprintf(stderr, "tabserve predict: %s\n", err);
        return 1;
    }
    if (res.rows_skipped)
        fprintf(stderr, "tabserve predict: %ld rows written, %ld skipped\n", res.rows_written,
                res.rows_skipped);
    return 0;
}
