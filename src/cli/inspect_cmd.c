/* inspect_cmd — `tabserve inspect`: what a model file holds, without its parameters. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "formats/default_model.h"
#include "formats/open.h"
#include "formats/tabserve.h"
#include "model/encode.h"
#include "model/model.h"

/* ---- inspect ------------------------------------------------------------ */

static const char inspect_usage[] = "usage: tabserve inspect [MODEL] [options]\n"
                                    "  MODEL   a model file [the built-in model]\n"
                                    "  --json  the description as JSON [text]\n";

int cmd_inspect(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(inspect_usage, stdout);
        fputs(cli_load_help, stdout);
        return 0;
    }
    int as_json = 0;
    const char *path = NULL;
    load_options lo = LOAD_OPTIONS_DEFAULT;
    for (int i = 0; i < argc; i++) {
        int r = cli_load_option(argc, argv, &i, &lo);
        if (r < 0) return 2;
        if (r > 0)
            continue;
        else if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "usage: tabserve inspect [MODEL] [--json] [--schema F] [--max-trees N ...]\n");
            return 2;
        }
    }
    char err[ERR_LEN];
    model *m = model_open(path, lo.schema_path, &lo.limits, err);
    if (!m) {
        fprintf(stderr, "tabserve inspect: %s\n", err);
        return 1;
    }
    if (as_json) {
        json_t *d = model_describe(m);
        json_dumpf(d, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        putchar('\n');
        json_decref(d);
        model_free(m);
        return 0;
    }
    printf("model    %s\nhash     %s\n", path ? path : DEFAULT_MODEL_NAME, m->hash);
    const schema *sc = &m->schema;
    printf("inputs   %zu\n", sc->n_inputs);
    for (size_t i = 0; i < sc->n_inputs; i++) {
        const schema_input *in = &sc->inputs[i];
        printf("  %-10s %s%s", in->name, in->n_vocab ? "categorical " : "", value_type_name(in->type));
        if (in->n_vocab) {
            printf(" {");
            for (size_t k = 0; k < in->n_vocab; k++) printf("%s%s", k ? ", " : "", in->vocab[k]);
            printf("}, unknown -> %s", in->unknown == UNKNOWN_REJECT  ? "error"
                                       : in->unknown == UNKNOWN_ZEROS ? "zeros"
                                                                      : "missing");
        }
        printf(", %s\n", in->required ? "required" : "may be missing");
    }
    printf("features %zu steps, %d columns\n", m->features.n, m->n_features);
    for (size_t i = 0; i < m->features.n; i++) {
        const feature *f = &m->features.f[i];
        char steps[512];
        feature_describe(f, sc, steps, sizeof steps);
        printf("  %-10s %s -> column%s %d%s", sc->inputs[f->input].name, steps, f->width > 1 ? "s" : "",
               f->offset, f->width > 1 ? ".." : "");
        if (f->width > 1) printf("%d", f->offset + f->width - 1);
        putchar('\n');
    }
    char desc[512];
    m->predictor->ops->describe(m->predictor, desc, sizeof desc);
    printf("estimator %s\n", desc);
    char meaning[512];
    output_meaning(&m->output, meaning, sizeof meaning);
    printf("output   predict: %s (%s, link %s)\n", meaning, output_task_name(m->output.task),
           output_link_name(m->output.link));
    char *meta = json_dumps(m->metadata, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    printf("metadata %s\n", meta ? meta : "{}");
    free(meta);
    model_free(m);
    return 0;
}
