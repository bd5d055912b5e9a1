/* offline — train, eval, predict and inspect: argument parsing and output only;
 * the work is in src/train/, src/data/ and src/model/. */
#define _POSIX_C_SOURCE 200809L
#include "formats/tabserve.h"
#include "cli/cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/infer.h"
#include "formats/open.h"
#include "formats/default_model.h"
#include "train/evaluate.h"
#include "model/builder.h"
#include "model/model.h"
#include "data/score.h"
#include "train/train.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/progress.h"
#include "explain/explain.h"
#include "model/encode.h"
#include "base/files.h"
#include "base/numtext.h"

int cli_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "tabserve: option %s needs a value\n", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

static int parse_long(const char *s, long lo, long hi, const char *what, long *out);

/* How a model is opened: --schema FILE and the import limits, as `serve` takes them. */
typedef struct {
    const char *schema_path;
    import_limits limits;
    unsigned encode_rules; /* --ignore-unknown-fields: JSON members that are no input are skipped */
} load_options;

#define LOAD_OPTIONS_DEFAULT                                                                                 \
    {                                                                                                        \
        NULL, IMPORT_LIMITS_DEFAULT, ENCODE_STRICT                                                           \
    }

/* 1: argv[*i] was one of the load options (and its value); 0: not one; -1: bad value. */
static int load_option(int argc, char **argv, int *i, load_options *o)
{
    static const struct {
        const char *flag;
        long hi;
        size_t at;
    } limits[] = {{"--max-model-bytes", (long)1e12, offsetof(import_limits, max_file_bytes)},
                  {"--max-trees", 100000, offsetof(import_limits, max_trees)},
                  {"--max-nodes", 1 << 22, offsetof(import_limits, max_nodes)},
                  {"--max-tensor", (long)1e10, offsetof(import_limits, max_tensor)}};
    const char *v;
    if (strcmp(argv[*i], "--onnx-graph") ==
        0) { /* the graph interpreter, to compare with the compiled form */
        o->limits.onnx_graph = 1;
        return 1;
    }
    if (strcmp(argv[*i], "--ignore-unknown-fields") == 0) {
        o->encode_rules |= ENCODE_IGNORE_UNKNOWN;
        return 1;
    }
    int r = cli_option(argc, argv, i, "--schema", &v);
    if (r > 0) o->schema_path = v;
    for (size_t k = 0; r == 0 && k < sizeof limits / sizeof *limits; k++)
        if ((r = cli_option(argc, argv, i, limits[k].flag, &v)) > 0 &&
            parse_long(v, 1, limits[k].hi, limits[k].flag, (long *)((char *)&o->limits + limits[k].at)) != 0)
            r = -1;
    return r;
}

static int parse_long(const char *s, long lo, long hi, const char *what, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "tabserve: %s must be an integer from %ld to %ld, got \"%s\"\n", what, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- train -------------------------------------------------------------- */

static const char train_usage[] =
    "usage: tabserve train DATA.csv --label COL -o MODEL.json [--numeric A,B --categorical C,D]\n"
    "                      [--drop A,B] (without --numeric and --categorical: every other column,\n"
    "                      [--quiet] (no progress line while training)\n"
    "                      [--positive CLASS] (a label of any two values: the class whose probability\n"
    "                      is served; default the second in order)\n"
    "                      typed by its content; a column of ids is left out and said so)\n"
    "                      [--hidden 16,8 | --hidden \"\"] [--ensemble N] [--epochs N] [--seed N]\n"
    "                      [--cv K [--fold-by COL]] (folds by row index mod K without --fold-by)\n"
    "                      [--lr X] [--l2 X] [--batch N] [--patience N]\n"
    "                      [--activation relu|tanh] [--no-auto-features]\n"
    "                      [--model mlp|linear|gbt|blend|auto] gbt: [--trees N] [--bag N] [--max-depth D] "
    "[--learning-rate X]\n"
    "                      [--min-child-weight X] [--l2 X] [--subsample X] [--colsample X]\n"
    "                      [--early-stopping R] [--bins N] [--threads N] [--objective binary|regression]\n"
    "                      [--split-gain hessian|count] [--tree-l2 X (blend, auto)]\n"
    "                      blend: [--blend-weight W (the MLP's share of the logit mean)]; --model blend's\n"
    "                      defaults are the default model's: --blend-weight 0.3 --ensemble 4 --trees 128\n"
    "                      --max-depth 5 --learning-rate 0.08 --min-child-weight 5 --tree-l2 0.1\n"
    "                      --colsample 0.6 --subsample 0.8 --split-gain count --early-stopping 0\n";

/* A number in [lo, hi] (for the real-valued options). */
static int parse_real(const char *s, double lo, double hi, const char *what, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "tabserve: %s must be a number from %g to %g, got \"%s\"\n", what, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* The --model given, read before the other flags: a kind's own defaults come
 * first, then every flag overrides them wherever it stands. */
static const char *model_kind_given(int argc, char **argv)
{
    const char *kind = "mlp";
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--model=", 8) == 0) kind = argv[i] + 8;
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) kind = argv[++i];
    }
    return kind;
}

static int model_flag_given(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "--model=", 8) == 0 || strcmp(argv[i], "--model") == 0) return 1;
    return 0;
}

/* A label of integers with at most this many distinct values is classes
 * (wine's 0, 1, 2); with more, or other numbers, a regression target. */
#define MULTICLASS_MAX_INTEGERS 20

/* An integer label value: "3", "-1" (a class id, when there are few) */
static int is_integer_label(const char *s)
{
    if (*s == '-') s++;
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

int cmd_train(int argc, char **argv)
{
    const char *data = NULL, *label = NULL, *numeric = "", *categorical = "", *out = NULL, *drop = NULL;
    const char *positive = NULL;
    int quiet = 0;
    const char *hidden = NULL, *fold_by = NULL, *v = NULL, *kind = model_kind_given(argc, argv), *l2 = NULL;
    long cv = 0, lv;
    train_options o;
    if (strcmp(kind, "blend") == 0)
        train_options_blend_default(&o);
    else
        train_options_default(&o);
    int rc = 2;
    for (int i = 0; i < argc; i++) {
        int r;
#define OPT(name) ((r = cli_option(argc, argv, &i, name, &v)) != 0)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(train_usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        if (OPT("--label"))
            label = v;
        else if (OPT("--drop"))
            drop = v;
        else if (OPT("--positive"))
            positive = v;
        else if (OPT("--numeric"))
            numeric = v;
        else if (OPT("--categorical"))
            categorical = v;
        else if (OPT("-o") || (r = cli_option(argc, argv, &i, "--output", &v)) != 0)
            out = v;
        else if (OPT("--hidden"))
            hidden = v;
        else if (OPT("--fold-by"))
            fold_by = v;
        else if (OPT("--cv")) {
            if (r > 0 && parse_long(v, 2, 100, "--cv", &cv)) return 2;
        } else if (OPT("--epochs")) {
            if (r > 0 && parse_long(v, 1, 100000, "--epochs", &lv)) return 2;
            o.epochs = (int)lv;
        } else if (OPT("--seed")) {
            if (r > 0 && parse_long(v, 0, 2147483647, "--seed", &lv)) return 2;
            o.seed = (unsigned long long)lv;
        } else if (OPT("--batch")) {
            if (r > 0 && parse_long(v, 1, 65536, "--batch", &lv)) return 2;
            o.batch = (int)lv;
        } else if (OPT("--ensemble")) {
            if (r > 0 && parse_long(v, 1, 64, "--ensemble", &lv)) return 2;
            o.ensemble = (int)lv;
        } else if (OPT("--patience")) {
            if (r > 0 && parse_long(v, 1, 100000, "--patience", &lv)) return 2;
            o.patience = (int)lv;
        } else if (OPT("--lr")) {
            if (r > 0) o.lr = strtod(v, NULL);
        } else if (OPT("--l2")) {
            if (r > 0) l2 = v; /* the MLP's weight decay, or the trees' lambda */
        } else if (OPT("--model")) {
            ; /* read first, by model_kind_given */
        } else if (OPT("--trees")) {
            if (r > 0 && parse_long(v, 1, 100000, "--trees", &lv)) return 2;
            o.gbt.trees = (int)lv;
        } else if (OPT("--bag")) {
            if (r > 0 && parse_long(v, 1, GBT_MAX_BAG, "--bag", &lv)) return 2;
            o.gbt.bag = (int)lv;
        } else if (OPT("--max-depth")) {
            if (r > 0 && parse_long(v, 1, 16, "--max-depth", &lv)) return 2;
            o.gbt.max_depth = (int)lv;
        } else if (OPT("--learning-rate")) {
            if (r > 0 && parse_real(v, 1e-6, 1, "--learning-rate", &o.gbt.learning_rate)) return 2;
        } else if (OPT("--min-child-weight")) {
            if (r > 0 && parse_real(v, 0, 1e9, "--min-child-weight", &o.gbt.min_child_weight)) return 2;
        } else if (OPT("--subsample")) {
            if (r > 0 && parse_real(v, 1e-3, 1, "--subsample", &o.gbt.subsample)) return 2;
        } else if (OPT("--colsample")) {
            if (r > 0 && parse_real(v, 1e-3, 1, "--colsample", &o.gbt.colsample)) return 2;
        } else if (OPT("--early-stopping")) {
            if (r > 0 && parse_long(v, 0, 100000, "--early-stopping", &lv)) return 2;
            o.gbt.early_stopping = (int)lv;
        } else if (OPT("--bins")) {
            if (r > 0 && parse_long(v, 3, 256, "--bins", &lv)) return 2;
            o.gbt.max_bins = (int)lv;
        } else if (OPT("--threads")) {
            if (r > 0 && parse_long(v, 1, 64, "--threads", &lv)) return 2;
            o.gbt.threads = (int)lv;
        } else if (OPT("--blend-weight")) {
            if (r > 0 && parse_real(v, 0, 1, "--blend-weight", &o.blend_mlp)) return 2;
        } else if (OPT("--tree-l2")) { /* the trees' lambda under --model blend or auto */
            if (r > 0 && parse_real(v, 0, 1e6, "--tree-l2", &o.gbt.l2)) return 2;
        } else if (OPT("--split-gain")) {
            if (r > 0 && strcmp(v, "hessian") == 0)
                o.gbt.count_split = 0;
            else if (r > 0 && strcmp(v, "count") == 0)
                o.gbt.count_split = 1;
            else if (r > 0) {
                fprintf(stderr, "tabserve train: --split-gain must be hessian or count\n");
                return 2;
            }
        } else if (OPT("--objective")) {
            if (r > 0 && strcmp(v, "binary") == 0)
                o.gbt.objective = GBT_BINARY;
            else if (r > 0 && strcmp(v, "regression") == 0)
                o.gbt.objective = GBT_REGRESSION;
            else if (r > 0) {
                fprintf(stderr, "tabserve train: --objective must be binary or regression\n");
                return 2;
            }
        } else if (OPT("--activation")) {
            if (r > 0 && strcmp(v, "relu") == 0)
                o.hidden_act = ACT_RELU;
            else if (r > 0 && strcmp(v, "tanh") == 0)
                o.hidden_act = ACT_TANH;
            else if (r > 0) {
                fprintf(stderr, "tabserve train: --activation must be relu or tanh\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--no-auto-features") == 0)
            o.auto_features = 0;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "tabserve train: unknown option %s\n%s", argv[i], train_usage);
            return 2;
        } else if (!data)
            data = argv[i];
        else {
            fprintf(stderr, "tabserve train: unexpected argument %s\n%s", argv[i], train_usage);
            return 2;
        }
        if (r < 0) return 2;
#undef OPT
    }
    if (!data || !label || !out) {
        fprintf(stderr, "tabserve train: %s is missing\n%s",
                !data    ? "DATA.csv (the training data)"
                : !label ? "--label COL (the column to predict)"
                         : "-o MODEL.json (where to write the model)",
                train_usage);
        return 2;
    }
    char *inferred_num = NULL, *inferred_cat = NULL;
    if (!*numeric && !*categorical) { /* every other column, typed by its content */
        char left_out_err[ERR_LEN], *left_out;
        if (infer_inputs(data, label, drop, &inferred_num, &inferred_cat, &left_out, left_out_err) != 0) {
            fprintf(stderr, "tabserve train: %s\n", left_out_err);
            return 1;
        }
        numeric = inferred_num;
        categorical = inferred_cat;
        fprintf(stderr, "tabserve train: inputs from %s: numeric %s; categorical %s%s%s\n", data,
                *numeric ? numeric : "(none)", *categorical ? categorical : "(none)",
                *left_out ? "; left out: " : "", left_out);
        free(left_out);
    }
    int automatic = strcmp(kind, "auto") == 0;
    if (strcmp(kind, "gbt") == 0)
        o.kind = TRAIN_GBT;
    else if (strcmp(kind, "blend") == 0)
        o.kind = TRAIN_BLEND;
    else if (automatic) {
        if (!cv) cv = 5; /* it chooses by cross-validation: 5 folds unless --cv says */
    } else if (strcmp(kind, "linear") == 0)
        hidden = ""; /* logistic regression: the MLP path with no hidden layer */
    else if (strcmp(kind, "mlp") != 0) {
        fprintf(stderr, "tabserve train: --model must be mlp, linear, gbt, blend or auto, got \"%s\"\n",
                kind);
        return 2;
    }
    if (l2 && parse_real(l2, 0, 1e6, "--l2", o.kind == TRAIN_GBT ? &o.gbt.l2 : &o.l2)) return 2;
    if (!(o.lr > 0 && o.lr < 10) || !(o.l2 >= 0 && o.l2 < 100)) {
        fprintf(stderr, "tabserve train: --lr must be in (0, 10) and --l2 in [0, 100)\n");
        return 2;
    }
    if (hidden) {
        char **h = split_list(hidden, NULL);
        o.n_hidden = 0;
        for (size_t k = 0; h && h[k]; k++) {
            if (o.n_hidden == TRAIN_MAX_HIDDEN || parse_long(h[k], 1, 4096, "a --hidden width", &lv)) {
                free_list(h);
                return 2;
            }
            o.hidden[o.n_hidden++] = (int)lv;
        }
        free_list(h);
    }

    progress bar;
    progress_init(&bar, quiet ? NULL : stderr);
    o.progress = o.gbt.progress = &bar;
    char err[ERR_LEN];
    size_t nn = 0, nc = 0;
    char **num = split_list(numeric, &nn), **cat = split_list(categorical, &nc);
    const char **cols = calloc(nn + nc + 3, sizeof *cols);
    dataset *d = NULL;
    float *y = NULL;
    model *m = NULL;
    json_t *cvj = NULL;
    char *neg_class = NULL, *pos_class = NULL; /* a label of two values other than 0/1 */
    char **classes = NULL;                     /* a label of three or more classes */
    int n_classes = 0, multi_auto = 0;
    rc = 1;
    if (!num || !cat || !cols) goto done;
    size_t ncols = 0;
    cols[ncols++] = label;
    for (size_t k = 0; k < nn; k++) cols[ncols++] = num[k];
    for (size_t k = 0; k < nc; k++) cols[ncols++] = cat[k];
    if (fold_by) cols[ncols++] = fold_by;
    o.n_numeric = nn;
    o.n_categorical = nc;
    /* a binary label of any two values: its classes kept, the positive one reported */
    int regression = o.kind == TRAIN_GBT && o.gbt.objective == GBT_REGRESSION;
    if (!regression) {
        dataset *labels = dataset_load(data, &label, 1, err);
        int bad = !labels || dataset_binary_classes(labels, 0, positive, &neg_class, &pos_class, err) != 0;
        /* more than two values: classes when they are text, or a few integers;
         * otherwise numbers, and the task is regression (trees train it) */
        int numbers = bad && labels && dataset_column_numeric(labels, 0);
        if (bad && labels && !positive) {
            char lerr[ERR_LEN];
            int k = dataset_classes(labels, 0, numbers ? MULTICLASS_MAX_INTEGERS : GBT_MAX_CLASSES, &classes,
                                    lerr);
            int integers = k > 0;
            for (int c = 0; numbers && c < k; c++)
                if (!is_integer_label(classes[c])) integers = 0;
            if (k >= 3 && (!numbers || integers)) {
                n_classes = k;
                numbers = 0;
                bad = 0;
            } else {
                free_list(classes);
                classes = NULL;
                if (!numbers && k < 0) err_set(err, "%s", lerr);
            }
        }
        dataset_free(labels);
        if (n_classes) {
            int linear = o.kind == TRAIN_MLP && o.n_hidden == 0 && model_flag_given(argc, argv);
            if (o.kind != TRAIN_GBT && !linear && !automatic && model_flag_given(argc, argv)) {
                err_set(err,
                        "label %s has %d classes: a multiclass model, which trains with --model gbt, linear "
                        "(or auto)",
                        label, n_classes);
                goto fail;
            }
            /* without --model, or with auto: trees or the linear model, by cross-validation */
            multi_auto = automatic || !model_flag_given(argc, argv);
            fprintf(stderr, "tabserve train: label %s: %d classes (%s, %s, %s%s): %s\n", label, n_classes,
                    classes[0], classes[1], classes[2], n_classes > 3 ? ", ..." : "",
                    multi_auto ? "gradient-boosted trees or a linear model, by cross-validation"
                    : linear   ? "a linear model (softmax)"
                               : "gradient-boosted trees");
            if (!linear) o.kind = TRAIN_GBT;
            o.gbt.objective = GBT_MULTICLASS;
            o.gbt.n_classes = o.n_classes = n_classes;
            o.classes = classes;
            automatic = 0;
            if (multi_auto && !cv) cv = 5;
        } else if (numbers && (o.kind == TRAIN_GBT || automatic) && !positive) {
            fprintf(stderr, "tabserve train: label %s holds numbers: a regression (gradient-boosted trees)\n",
                    label);
            o.kind = TRAIN_GBT;
            o.gbt.objective = GBT_REGRESSION;
            regression = 1;
            automatic = 0;
            bad = 0;
        } else if (numbers)
            err_set(err, "label %s holds numbers: a regression, which trains with --model gbt (or auto)",
                    label);
        if (bad) goto fail;
    }
    if (regression && cv) {
        fprintf(stderr, "tabserve train: --cv measures classifiers; a regression is fitted without it\n");
        cv = 0;
    }
    if (pos_class) {
        fprintf(stderr,
                "tabserve train: label %s: \"%s\" is the positive class (1), \"%s\" the other (0)%s\n", label,
                pos_class, neg_class, positive ? "" : "; --positive chooses");
    }
    if (o.kind == TRAIN_GBT && !cv && !pos_class &&
        !n_classes) { /* straight into floats: large data fits in memory */
        double t0 = clock_seconds();
        if (!(m = train_gbt_csv(data, label, cols + 1, nn, nc, &o, err))) goto fail;
        double fit = clock_seconds() - t0;
        if (model_save(m, out, err) != 0) goto fail;
        fprintf(stderr, "tabserve train: %lld rows, %d features, read and fit in %.3fs, wrote %s (%s)\n",
                (long long)json_integer_value(json_object_get(m->metadata, "training_rows")), m->n_features,
                fit, out, m->hash);
        rc = 0;
        goto done;
    }
    if (!(d = dataset_load(data, cols, ncols, err))) goto fail;
    if (d->n_rows < 2) {
        err_set(err, "%s: need at least 2 data rows, got %zu", data, d->n_rows);
        goto fail;
    }
    if (!(y = malloc(d->n_rows * sizeof *y)) ||
        (regression  ? dataset_labels(d, 0, 0, y, err)
         : n_classes ? dataset_class_labels(d, 0, classes, n_classes, y, err)
                     : dataset_binary_labels(d, 0, pos_class, y, err)) != 0)
        goto fail;
    if (cv && regression) {
        err_set(err,
                "--cv measures binary models (accuracy, log-loss, AUC); drop it for --objective regression");
        goto fail;
    }
    size_t fold_col = fold_by ? ncols - 1 : TRAIN_FOLD_BY_ROW; /* without --fold-by: row index mod K */
    double t0 = clock_seconds();
    if (multi_auto) { /* classes: the trees and the linear model on the same folds, the lower log-loss */
        train_options cand[2] = {o, o};
        cand[0].kind = TRAIN_GBT;
        cand[1].kind = TRAIN_MLP;
        cand[1].n_hidden = 0;
        metrics mean[2];
        json_t *cvs[2] = {NULL, NULL};
        for (int k = 0; k < 2; k++) {
            printf("auto: %s\n", k ? "linear (softmax)" : "gbt");
            if (!(cvs[k] = train_cross_validate(d, y, fold_col, cv, &cand[k], stdout, &mean[k], err))) {
                json_decref(cvs[0]);
                goto fail;
            }
        }
        int pick = mean[1].logloss < mean[0].logloss;
        printf("auto: chose %s (cv logloss %.4f against %.4f)\n", pick ? "linear" : "gbt", mean[pick].logloss,
               mean[1 - pick].logloss);
        o = cand[pick];
        cvj = cvs[pick];
        json_decref(cvs[1 - pick]);
        t0 = clock_seconds();
        if (!(m = train_fit(d, y, NULL, &o, err))) goto fail;
    } else if (automatic) {
        if (!(m = train_auto(d, y, fold_col, cv, &o, stdout, err))) goto fail;
    } else {
        if (cv && !(cvj = train_cross_validate(d, y, fold_col, cv, &o, stdout, NULL, err))) goto fail;
        t0 = clock_seconds();
        if (!(m = train_fit(d, y, NULL, &o, err))) goto fail;
    }
    double fit = clock_seconds() - t0;
    if (cvj) json_object_set(m->metadata, "cross_validation", cvj);
    if (pos_class) { /* the answer is the probability of this class: the output changes, its hash with it */
        model_builder *mb = model_builder_from(m);
        output_spec *o_spec = mb ? model_builder_output(mb) : NULL;
        m = NULL;
        if (o_spec) free(o_spec->positive);
        if (!o_spec || !(o_spec->positive = strdup(pos_class)) ||
            json_object_set_new(model_builder_metadata(mb), "classes",
                                json_pack("[s,s]", neg_class, pos_class)) != 0) {
            model_builder_free(mb);
            err_set(err, "out of memory");
            goto fail;
        }
        if (!(m = model_builder_finish(mb, err))) goto fail;
    }
    if (train_background(m, d, o.seed, err) != 0) goto fail;
    if (model_save(m, out, err) != 0) goto fail;
    fprintf(stderr, "tabserve train: %zu rows, %d features, fit in %.3fs, wrote %s (%s)\n", d->n_rows,
            m->n_features, fit, out, m->hash);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "tabserve train: %s\n", err);
done:
    progress_end(&bar);
    free(neg_class);
    free(pos_class);
    free_list(classes);
    free(inferred_num);
    free(inferred_cat);
    json_decref(cvj);
    model_free(m);
    free(y);
    dataset_free(d);
    free(cols);
    free_list(num);
    free_list(cat);
    return rc;
}

/* ---- eval --------------------------------------------------------------- */

/* The one line eval prints, by the model's task; labels are column 0 of d. */
static int eval_report(const model *m, const dataset *d, const float *p, char *err)
{
    size_t n = d->n_rows;
    if (m->output.task == TASK_BINARY) {
        float *y = malloc((n + 1) * sizeof *y);
        metrics mt;
        if (!y || dataset_labels(d, 0, 1, y, err) != 0 || metrics_compute(p, y, n, &mt) != 0) {
            if (!y) err_set(err, "out of memory");
            free(y);
            return -1;
        }
        printf("accuracy=%.4f logloss=%.4f auc=%.4f rows=%zu\n", mt.accuracy, mt.logloss, mt.auc, mt.rows);
        free(y);
        return 0;
    }
    double *target = malloc((n + 1) * sizeof *target);
    int *cls = malloc((n + 1) * sizeof *cls);
    int rc = target && cls ? 0 : err_set(err, "out of memory");
    for (size_t r = 0; rc == 0 && r < n; r++) {
        const char *s = dataset_cell(d, r, 0);
        if (m->output.task == TASK_REGRESSION) {
            if (!s || parse_finite_double(s, strlen(s), &target[r]) != 0)
                rc = err_set(err, "%s: row %zu: column %s: the target must be a finite number, got \"%.40s\"",
                             d->path, r + 1, d->names[0], s ? s : "");
            continue;
        }
        cls[r] = -1;
        for (size_t j = 0; s && j < m->output.n_classes; j++)
            if (strcmp(s, m->output.classes[j]) == 0) cls[r] = (int)j;
        if (cls[r] < 0)
            rc = err_set(err, "%s: row %zu: column %s: \"%.40s\" is not one of the model's classes", d->path,
                         r + 1, d->names[0], s ? s : "");
    }
    if (rc == 0 && m->output.task == TASK_REGRESSION) {
        regression_metrics rm;
        metrics_regression(p, target, n, &rm);
        printf("rmse=%.6g mae=%.6g r2=%.4f rows=%zu\n", rm.rmse, rm.mae, rm.r2, rm.rows);
    } else if (rc == 0) {
        double acc, loss;
        metrics_multiclass(p, m->n_outputs, cls, n, &acc, &loss);
        printf("accuracy=%.4f logloss=%.4f rows=%zu\n", acc, loss, n);
    }
    free(target);
    free(cls);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL}, *label = NULL, *v = NULL;
    load_options lo = LOAD_OPTIONS_DEFAULT;
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        int r = cli_option(argc, argv, &i, "--label", &v), was_label = r > 0;
        if (r == 0) r = load_option(argc, argv, &i, &lo);
        if (r < 0) return 2;
        if (r > 0 && was_label)
            label = v;
        else if (r > 0)
            continue;
        else if (argv[i][0] == '-' || npos == 2) {
            fprintf(stderr,
                    "usage: tabserve eval [MODEL] DATA.csv --label COL [--schema F] [--max-trees N ...]\n");
            return 2;
        } else
            pos[npos++] = argv[i];
    }
    if (npos == 0) {
        fprintf(stderr,
                "usage: tabserve eval [MODEL] DATA.csv --label COL [--schema F] [--max-trees N ...]\n");
        return 2;
    }
    const char *model_path = npos == 2 ? pos[0] : NULL, *data = pos[npos - 1];
    char err[ERR_LEN];
    int rc = 1;
    model *m = model_open(model_path, lo.schema_path, &lo.limits, err);
    dataset *d = NULL;
    float *p = NULL;
    const char **cols = NULL;
    if (!m) goto fail;
    if (!label) label = m->output.label;
    size_t n_in = m->schema.n_inputs;
    if (!(cols = calloc(n_in + 1, sizeof *cols))) goto fail;
    cols[0] = label;
    for (size_t i = 0; i < n_in; i++) cols[i + 1] = m->schema.inputs[i].name;
    if (!(d = dataset_load(data, cols, n_in + 1, err))) goto fail;
    if (!(p = malloc((d->n_rows + 1) * (size_t)m->n_outputs * sizeof *p))) goto fail;
    if (score_dataset(m, d, 1, NULL, 0, p, err) < 0) goto fail;
    if (eval_report(m, d, p, err) != 0) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "tabserve eval: %s\n", err);
done:
    free(cols);
    free(p);
    dataset_free(d);
    model_free(m);
    return rc;
}

/* ---- predict ------------------------------------------------------------ */

int cmd_predict(int argc, char **argv)
{
    const char *model_path = NULL, *input = "-", *output = "-", *format = NULL, *v = NULL;
    load_options lo = LOAD_OPTIONS_DEFAULT;
    score_options o = {SCORE_CSV, 0, ENCODE_IGNORE_UNKNOWN};
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = cli_option(argc, argv, &i, "--input", &v)) > 0)
            input = v;
        else if (r == 0 && (r = cli_option(argc, argv, &i, "--output", &v)) > 0)
            output = v;
        else if (r == 0 && (r = cli_option(argc, argv, &i, "--format", &v)) > 0)
            format = v;
        else if (r == 0 && (r = load_option(argc, argv, &i, &lo)) > 0)
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
    if (!format) {
        size_t n = strlen(input);
        format = n > 6 && (strcmp(input + n - 6, ".jsonl") == 0 || strcmp(input + n - 5, ".json") == 0)
                     ? "jsonl"
                     : "csv";
    }
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

/* ---- explain ------------------------------------------------------------ */

/* One row's explanation as a JSON line: {"row": N, "predict": ..., "base": ...}. */
static int explain_line(const explainer *ex, const model *m, const float *x, long row, FILE *out, char *buf,
                        char *err)
{
    float y[m->n_outputs > 0 ? m->n_outputs : 1];
    float scratch[model_scratch_floats(m, 1) + 1];
    int k = m->predictor->n_outputs, bad;
    double margin[k], base[k], contrib[(size_t)k * m->schema.n_inputs];
    model_predict(m, x, 1, scratch, y);
    if (model_check_output(m, x, y, NULL, &bad, err) != 0) return -1;
    if (explainer_row(ex, x, margin, base, contrib, err) != 0) return -1;
    size_t n = explain_json(m, explainer_method(ex), y, margin, base, contrib, buf);
    fprintf(out, "{\"row\": %ld, ", row);
    fwrite(buf + 1, 1, n - 1, out);
    putc('\n', out);
    return 0;
}

int cmd_explain(int argc, char **argv)
{
    const char *model_path = NULL, *input = NULL, *output = "-", *v = NULL;
    load_options lo = LOAD_OPTIONS_DEFAULT;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = cli_option(argc, argv, &i, "--input", &v)) > 0)
            input = v;
        else if (r == 0 && (r = cli_option(argc, argv, &i, "--output", &v)) > 0)
            output = v;
        else if (r == 0 && (r = load_option(argc, argv, &i, &lo)) > 0)
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
    size_t n = strlen(input);
    int jsonl =
        (n > 6 && strcmp(input + n - 6, ".jsonl") == 0) || (n > 5 && strcmp(input + n - 5, ".json") == 0);
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

/* ---- inspect ------------------------------------------------------------ */

int cmd_inspect(int argc, char **argv)
{
    int as_json = 0;
    const char *path = NULL;
    load_options lo = LOAD_OPTIONS_DEFAULT;
    for (int i = 0; i < argc; i++) {
        int r = load_option(argc, argv, &i, &lo);
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
