/* train_cmd — `tabserve train`: the data read and typed, the model kind chosen, cross-validation, the model
 * written; the work is in src/train/ and src/data/. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/files.h"
#include "base/numtext.h"
#include "base/progress.h"
#include "data/dataset.h"
#include "data/infer.h"
#include "data/score.h"
#include "formats/default_model.h"
#include "formats/open.h"
#include "formats/tabserve.h"
#include "model/builder.h"
#include "model/encode.h"
#include "model/model.h"
#include "train/evaluate.h"
#include "train/train.h"

/* ---- train -------------------------------------------------------------- */

static const char train_usage[] =
    "usage: tabserve train DATA.csv --label COL -o MODEL.json [options]\n"
    "\n"
    "The inputs are every other column, typed by content (numbers, categories; a column of ids\n"
    "is left out and said so). The task follows the label: two values of any kind, a binary\n"
    "model; three or more categories (or up to 20 integers, each on 5 rows on average),\n"
    "classes; other numbers, a regression. Every --model trains every task. Defaults in\n"
    "brackets.\n"
    "\n"
    "data\n"
    "  --label COL             the column to predict (required)\n"
    "  -o, --output FILE       where the model is written (required)\n"
    "  --numeric A,B           numeric inputs [typed by content]\n"
    "  --categorical C,D       categorical inputs [typed by content]\n"
    "  --drop A,B              columns left out [none]\n"
    "  --positive CLASS        a binary label's class whose probability is served [the second in order]\n"
    "  --objective binary|classes|regression  the task, whatever the label holds [from the label]\n"
    "model\n"
    "  --model mlp|linear|gbt|blend|auto  [mlp]; auto: each cross-validated, the best kept\n"
    "  --seed N                [1]\n"
    "measured (the figure is printed and kept in the model's metadata)\n"
    "  --held-out F            share of the rows held out, seeded [0.2]; 0: no figure\n"
    "  --cv K                  K-fold cross-validation instead [none; auto: 5]\n"
    "  --fold-by COL           fold = COL mod K [row index mod K]\n"
    "  --quiet                 no progress on stderr\n"
    "mlp (the ensemble) and linear\n"
    "  --hidden 16,8           hidden layer widths; \"\" is the linear model [16,8]\n"
    "  --ensemble N [8]  --epochs N [200]  --patience N [20]  --batch N [32]\n"
    "  --lr X [0.003]  --l2 X [0.003]  --activation relu|tanh [relu]  --no-auto-features\n"
    "gbt\n"
    "  --trees N [300]  --max-depth D [3]  --learning-rate X [0.05]  --min-child-weight X [1]\n"
    "  --l2 X [1]  --subsample X [0.8]  --colsample X [1]  --early-stopping R [30]  --bins N [256]\n"
    "  --bag N [1]  --threads N [all cores]  --split-gain hessian|count [hessian]\n"
    "blend (an MLP ensemble and trees, the mean of their margins) and auto\n"
    "  --blend-weight W        the MLP's share [blend: 0.3]  --tree-l2 X  the trees' l2\n"
    "  --model blend's defaults are the default model's: --blend-weight 0.3 --ensemble 4 --trees 128\n"
    "  --max-depth 5 --learning-rate 0.08 --min-child-weight 5 --tree-l2 0.1 --colsample 0.6\n"
    "  --subsample 0.8 --split-gain count --early-stopping 0\n";

/* A number in [lo, hi] (for the real-valued options). */

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

/* A label of integers with at most this many distinct values, each on
 * MULTICLASS_MIN_ROWS rows on average, is classes (wine's 0, 1, 2); with more
 * values or fewer rows (a small regression table of whole numbers), or other
 * numbers, a regression target. --objective classes decides it the other way. */
#define MULTICLASS_MAX_INTEGERS 20
#define MULTICLASS_MIN_ROWS     5

/* --model gbt without --cv reads files above this straight into columns (and so
 * with --held-out 0). */
#define STREAM_GBT_BYTES (256L << 20)
/* A model trained straight from the file keeps background rows chosen among its first rows. */
#define BACKGROUND_FROM_ROWS 10000

/* What --model fits, said for the task (0 two classes, 1 classes, 2 a regression). */
static const char *kind_text(const char *kind, int task)
{
    static const char *const linear[] = {"a linear model (logistic regression)", "a linear model (softmax)",
                                         "a linear model (ridge)"};
    return strcmp(kind, "gbt") == 0     ? "gradient-boosted trees"
           : strcmp(kind, "blend") == 0 ? "a blend of an MLP ensemble and gradient-boosted trees"
           : strcmp(kind, "auto") == 0
               ? "the best of the MLP ensemble, trees, their blend and a linear model, "
                 "by cross-validation"
           : strcmp(kind, "linear") == 0 ? linear[task]
                                         : "an MLP ensemble";
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

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
    int quiet = 0, force_classes = 0;
    const char *hidden = NULL, *fold_by = NULL, *v = NULL, *kind = model_kind_given(argc, argv), *l2 = NULL;
    long cv = 0, lv;
    double held_out = 0.2; /* the share of the rows held out for the figure printed without --cv */
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
        else if (OPT("--held-out")) {
            if (r > 0 && cli_real(v, 0, 0.5, "--held-out", &held_out)) return 2;
        } else if (OPT("--cv")) {
            if (r > 0 && cli_long(v, 2, 100, "--cv", &cv)) return 2;
        } else if (OPT("--epochs")) {
            if (r > 0 && cli_long(v, 1, 100000, "--epochs", &lv)) return 2;
            o.epochs = (int)lv;
        } else if (OPT("--seed")) {
            if (r > 0 && cli_long(v, 0, 2147483647, "--seed", &lv)) return 2;
            o.seed = (unsigned long long)lv;
        } else if (OPT("--batch")) {
            if (r > 0 && cli_long(v, 1, 65536, "--batch", &lv)) return 2;
            o.batch = (int)lv;
        } else if (OPT("--ensemble")) {
            if (r > 0 && cli_long(v, 1, 64, "--ensemble", &lv)) return 2;
            o.ensemble = (int)lv;
        } else if (OPT("--patience")) {
            if (r > 0 && cli_long(v, 1, 100000, "--patience", &lv)) return 2;
            o.patience = (int)lv;
        } else if (OPT("--lr")) {
            if (r > 0) o.lr = strtod(v, NULL);
        } else if (OPT("--l2")) {
            if (r > 0) l2 = v; /* the MLP's weight decay, or the trees' lambda */
        } else if (OPT("--model")) {
            ; /* read first, by model_kind_given */
        } else if (OPT("--trees")) {
            if (r > 0 && cli_long(v, 1, 100000, "--trees", &lv)) return 2;
            o.gbt.trees = (int)lv;
        } else if (OPT("--bag")) {
            if (r > 0 && cli_long(v, 1, GBT_MAX_BAG, "--bag", &lv)) return 2;
            o.gbt.bag = (int)lv;
        } else if (OPT("--max-depth")) {
            if (r > 0 && cli_long(v, 1, 16, "--max-depth", &lv)) return 2;
            o.gbt.max_depth = (int)lv;
        } else if (OPT("--learning-rate")) {
            if (r > 0 && cli_real(v, 1e-6, 1, "--learning-rate", &o.gbt.learning_rate)) return 2;
        } else if (OPT("--min-child-weight")) {
            if (r > 0 && cli_real(v, 0, 1e9, "--min-child-weight", &o.gbt.min_child_weight)) return 2;
        } else if (OPT("--subsample")) {
            if (r > 0 && cli_real(v, 1e-3, 1, "--subsample", &o.gbt.subsample)) return 2;
        } else if (OPT("--colsample")) {
            if (r > 0 && cli_real(v, 1e-3, 1, "--colsample", &o.gbt.colsample)) return 2;
        } else if (OPT("--early-stopping")) {
            if (r > 0 && cli_long(v, 0, 100000, "--early-stopping", &lv)) return 2;
            o.gbt.early_stopping = (int)lv;
        } else if (OPT("--bins")) {
            if (r > 0 && cli_long(v, 3, 256, "--bins", &lv)) return 2;
            o.gbt.max_bins = (int)lv;
        } else if (OPT("--threads")) {
            if (r > 0 && cli_long(v, 1, 64, "--threads", &lv)) return 2;
            o.gbt.threads = (int)lv;
        } else if (OPT("--blend-weight")) {
            if (r > 0 && cli_real(v, 0, 1, "--blend-weight", &o.blend_mlp)) return 2;
        } else if (OPT("--tree-l2")) { /* the trees' lambda under --model blend or auto */
            if (r > 0 && cli_real(v, 0, 1e6, "--tree-l2", &o.gbt.l2)) return 2;
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
            else if (r > 0 && strcmp(v, "classes") == 0)
                force_classes = 1;
            else if (r > 0) {
                fprintf(stderr,
                        "tabserve train: --objective must be binary, classes or regression, got \"%s\"\n", v);
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
    if (l2 && cli_real(l2, 0, 1e6, "--l2", o.kind == TRAIN_GBT ? &o.gbt.l2 : &o.l2)) return 2;
    if (!(o.lr > 0 && o.lr < 10) || !(o.l2 >= 0 && o.l2 < 100)) {
        fprintf(stderr, "tabserve train: --lr must be in (0, 10) and --l2 in [0, 100)\n");
        return 2;
    }
    if (hidden) {
        char **h = split_list(hidden, NULL);
        o.n_hidden = 0;
        for (size_t k = 0; h && h[k]; k++) {
            if (o.n_hidden == TRAIN_MAX_HIDDEN || cli_long(h[k], 1, 4096, "a --hidden width", &lv)) {
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
    int n_classes = 0;
    rc = 1;
    if (!num || !cat || !cols) goto done;
    size_t ncols = 0;
    cols[ncols++] = label;
    for (size_t k = 0; k < nn; k++) cols[ncols++] = num[k];
    for (size_t k = 0; k < nc; k++) cols[ncols++] = cat[k];
    if (fold_by) cols[ncols++] = fold_by;
    o.n_numeric = nn;
    o.n_categorical = nc;
    /* the task follows the label: two values of any kind, a binary model (the
     * classes kept, the positive one reported); three or more categories (or a
     * few integers), classes; other numbers, a regression (--objective
     * regression says so whatever the label holds) */
    int regression = o.gbt.objective == GBT_REGRESSION;
    if (!regression) {
        dataset *labels = dataset_load(data, &label, 1, err);
        int bad = !labels || dataset_binary_classes(labels, 0, positive, &neg_class, &pos_class, err) != 0;
        int numbers = bad && labels && dataset_column_numeric(labels, 0);
        if (bad && labels && !positive) {
            char lerr[ERR_LEN];
            int k = dataset_classes(labels, 0,
                                    numbers && !force_classes ? MULTICLASS_MAX_INTEGERS : GBT_MAX_CLASSES,
                                    &classes, lerr);
            int integers = k > 0;
            for (int c = 0; numbers && c < k; c++)
                if (!is_integer_label(classes[c])) integers = 0;
            int as_classes =
                !numbers || force_classes || (integers && labels->n_rows >= (size_t)k * MULTICLASS_MIN_ROWS);
            if (k >= 3 && as_classes) {
                n_classes = k;
                numbers = 0;
                bad = 0;
            } else {
                free_list(classes);
                classes = NULL;
                if (!numbers && k < 0) err_set(err, "%s", lerr);
                if (force_classes) { /* never a regression when classes were asked for */
                    if (k < 0)
                        err_set(err, "--objective classes: %s", lerr);
                    else
                        err_set(err, "--objective classes: label %s has %d value%s; classes take two or more",
                                label, k, k == 1 ? "" : "s");
                    numbers = 0;
                }
            }
        }
        dataset_free(labels);
        if (n_classes) {
            fprintf(stderr, "tabserve train: label %s: %d classes (%s, %s, %s%s): %s\n", label, n_classes,
                    classes[0], classes[1], classes[2], n_classes > 3 ? ", ..." : "", kind_text(kind, 1));
            o.gbt.objective = GBT_MULTICLASS;
            o.gbt.n_classes = o.n_classes = n_classes;
            o.classes = classes;
        } else if (numbers && !positive) {
            fprintf(stderr, "tabserve train: label %s holds numbers: a regression, %s\n", label,
                    kind_text(kind, 2));
            o.gbt.objective = GBT_REGRESSION;
            regression = 1;
            bad = 0;
        }
        if (bad) goto fail;
    }
    if (pos_class) {
        fprintf(stderr,
                "tabserve train: label %s: \"%s\" is the positive class (1), \"%s\" the other (0)%s\n", label,
                pos_class, neg_class, positive ? "" : "; --positive chooses");
    }
    /* --model gbt on data too large to hold twice: the file straight into float
     * columns (train_gbt_csv); no held-out figure (--cv K measures) */
    if (o.kind == TRAIN_GBT && !cv && !pos_class && !n_classes &&
        (held_out == 0 || file_size(data) > STREAM_GBT_BYTES)) {
        double t0 = clock_seconds();
        if (!(m = train_gbt_csv(data, label, cols + 1, nn, nc, &o, err))) goto fail;
        double fit = clock_seconds() - t0;
        /* its background rows (explanations, the page's first row): a seeded choice among the
         * file's first rows, which are read again for it */
        if (!(d = dataset_load_head(data, cols, ncols, BACKGROUND_FROM_ROWS, err)) ||
            train_background(m, d, o.seed, err) != 0)
            goto fail;
        if (model_save(m, out, err) != 0) goto fail;
        fprintf(stderr,
                "tabserve train: %lld rows, %d features, read and fit in %.3fs (no held-out figure%s), "
                "wrote %s (%s)\n",
                (long long)json_integer_value(json_object_get(m->metadata, "training_rows")), m->n_features,
                fit, held_out == 0 ? "" : ": a file over 256 MB is read straight; --cv K measures", out,
                m->hash);
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
    size_t fold_col = fold_by ? ncols - 1 : TRAIN_FOLD_BY_ROW; /* without --fold-by: row index mod K */
    const char *measured = "cross_validation";
    if (automatic) { /* each candidate cross-validated on the same folds; the best fitted on all rows */
        if (!(m = train_auto(d, y, fold_col, cv, &o, stdout, err))) goto fail;
    } else if (cv) {
        if (!(cvj = train_cross_validate(d, y, fold_col, cv, &o, stdout, NULL, err))) goto fail;
    } else if (held_out > 0) { /* the figure printed by default: a seeded fifth of the rows held out */
        measured = "held_out";
        if (!(cvj = train_held_out(d, y, held_out, &o, stdout, err))) goto fail;
    }
    double t0 = clock_seconds();
    if (!m && !(m = train_fit(d, y, NULL, &o, err))) goto fail;
    double fit = clock_seconds() - t0;
    if (cvj) json_object_set(m->metadata, measured, cvj);
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
