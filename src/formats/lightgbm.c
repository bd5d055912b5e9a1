/* lightgbm — LightGBM text models (lightgbm.h). The file is lines of
 * key=value: a header, then a block a tree ("Tree=N" ...), then "end of
 * trees", parameters, and pandas_categorical. Values are read from the
 * buffer in place; each list is parsed once into numbers. */
#define _GNU_SOURCE /* memmem */
#include "formats/lightgbm.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "estimators/trees.h"

#define MAX_KEYS 64

typedef struct {
    const char *key, *val;
    size_t key_len, val_len, line;
} entry;

typedef struct {
    entry e[MAX_KEYS];
    int n;
    size_t line; /* where the block starts */
} block;

typedef struct {
    const char *p, *end, *name;
    size_t line;
    char *err;
} text;

static int fail(text *t, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(text *t, size_t line, const char *fmt, ...)
{
    char what[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(t->err, "%s: line %zu: %s", t->name, line, what);
}

/* The next line (without its end), or 0 at the end of the text. */
static int next_line(text *t, const char **s, size_t *len)
{
    if (t->p >= t->end) return 0;
    const char *nl = memchr(t->p, '\n', (size_t)(t->end - t->p));
    *s = t->p;
    *len = (size_t)((nl ? nl : t->end) - t->p);
    if (*len && (*s)[*len - 1] == '\r') (*len)--;
    t->p = nl ? nl + 1 : t->end;
    t->line++;
    return 1;
}

static const entry *find(const block *b, const char *key)
{
    size_t n = strlen(key);
    for (int i = 0; i < b->n; i++)
        if (b->e[i].key_len == n && memcmp(b->e[i].key, key, n) == 0) return &b->e[i];
    return NULL;
}

/* One key=value line into b (a line without '=' is not one: 0). */
static int add_entry(text *t, block *b, const char *s, size_t len)
{
    const char *eq = memchr(s, '=', len);
    if (!eq) return 0;
    if (b->n == MAX_KEYS) return fail(t, t->line, "more than %d keys in one block", MAX_KEYS);
    b->e[b->n++] = (entry){s, eq + 1, (size_t)(eq - s), len - (size_t)(eq - s) - 1, t->line};
    return 0;
}

static int starts(const char *s, size_t len, const char *w)
{
    size_t n = strlen(w);
    return len >= n && memcmp(s, w, n) == 0;
}

/* A list of n numbers (space-separated) of key in b into out. */
static int numbers(text *t, const block *b, const char *key, size_t n, double *out)
{
    const entry *e = find(b, key);
    if (!e) return fail(t, b->line, "the tree has no %s", key);
    char *copy = strndup(e->val, e->val_len);
    if (!copy) return err_set(t->err, "out of memory");
    char *p = copy, *end;
    size_t k = 0;
    for (; k < n; k++) {
        while (*p == ' ') p++;
        if (!*p) break;
        out[k] = strtod(p, &end);
        if (end == p || (*end && *end != ' ')) {
            free(copy);
            return fail(t, e->line, "%s: item %zu is not a number", key, k);
        }
        p = end;
    }
    while (*p == ' ') p++;
    int extra = *p != 0;
    free(copy);
    if (k != n || extra) return fail(t, e->line, "%s: expected %zu numbers", key, n);
    return 0;
}

static int integer(text *t, const block *b, const char *key, long lo, long hi, long *out)
{
    const entry *e = find(b, key);
    if (!e) return fail(t, b->line, "no %s", key);
    char buf[32];
    if (e->val_len == 0 || e->val_len >= sizeof buf) return fail(t, e->line, "%s: not an integer", key);
    memcpy(buf, e->val, e->val_len);
    buf[e->val_len] = 0;
    char *end;
    long v = strtol(buf, &end, 10);
    if (*end || v < lo || v > hi)
        return fail(t, e->line, "%s: %s is not an integer from %ld to %ld", key, buf, lo, hi);
    *out = v;
    return 0;
}

/* The objective: the link, the task and how many outputs; the sigmoid's scale. */
typedef struct {
    output_task task;
    output_link link;
    int n_classes; /* multiclass: the classes; else 1 */
    double scale;  /* leaves multiplied by it (binary sigmoid:S) */
} objective;

static int word_is(const char *s, size_t len, const char *w)
{
    return len == strlen(w) && memcmp(s, w, len) == 0;
}

/* "name k:v k:v" -> the parameter named key's value text, or NULL */
static const char *param(const entry *e, const char *key, char *buf, size_t cap)
{
    size_t n = strlen(key);
    for (const char *p = e->val; p < e->val + e->val_len;) {
        const char *sp = memchr(p, ' ', (size_t)(e->val + e->val_len - p));
        size_t len = (size_t)((sp ? sp : e->val + e->val_len) - p);
        if (len > n + 1 && memcmp(p, key, n) == 0 && p[n] == ':' && len - n - 1 < cap) {
            memcpy(buf, p + n + 1, len - n - 1);
            buf[len - n - 1] = 0;
            return buf;
        }
        p += len + 1;
    }
    return NULL;
}

static int read_objective(text *t, const block *h, objective *o)
{
    const entry *e = find(h, "objective");
    if (!e) return fail(t, h->line, "the header has no objective");
    size_t wl = 0; /* the first word; the value is not NUL-terminated */
    while (wl < e->val_len && e->val[wl] != ' ' && e->val[wl] != '\n') wl++;
    const char *w = e->val;
    char buf[32];
    *o = (objective){TASK_REGRESSION, LINK_IDENTITY, 1, 1.0};
    if (word_is(w, wl, "binary")) {
        o->task = TASK_BINARY;
        o->link = LINK_SIGMOID;
        if (param(e, "sigmoid", buf, sizeof buf)) o->scale = strtod(buf, NULL);
        if (!(o->scale > 0) || !isfinite(o->scale))
            return fail(t, e->line, "binary: sigmoid:%s is not positive", buf);
    } else if (word_is(w, wl, "cross_entropy") || word_is(w, wl, "xentropy")) {
        o->link = LINK_SIGMOID;
    } else if (word_is(w, wl, "multiclass") || word_is(w, wl, "multiclassova")) {
        o->task = TASK_MULTICLASS;
        o->link = word_is(w, wl, "multiclass") ? LINK_SOFTMAX : LINK_SIGMOID;
        o->n_classes = param(e, "num_class", buf, sizeof buf) ? atoi(buf) : 0;
        if (o->link == LINK_SIGMOID && param(e, "sigmoid", buf, sizeof buf)) o->scale = strtod(buf, NULL);
        if (o->n_classes < 2 || o->n_classes > OUTPUT_MAX_CLASSES || !(o->scale > 0))
            return fail(t, e->line, "%.*s: num_class must be 2 to %d", (int)wl, w, OUTPUT_MAX_CLASSES);
    } else if (word_is(w, wl, "poisson") || word_is(w, wl, "gamma") || word_is(w, wl, "tweedie")) {
        o->link = LINK_EXP;
    } else if (word_is(w, wl, "regression") || word_is(w, wl, "regression_l2") || word_is(w, wl, "l2") ||
               word_is(w, wl, "regression_l1") || word_is(w, wl, "l1") || word_is(w, wl, "huber") ||
               word_is(w, wl, "fair") || word_is(w, wl, "quantile") || word_is(w, wl, "mape") ||
               word_is(w, wl, "lambdarank") || word_is(w, wl, "rank_xendcg")) {
        if (memmem(e->val, e->val_len, "sqrt", 4))
            return fail(t, e->line, "a regression trained with reg_sqrt (its output squared) is not read");
    } else
        return fail(t, e->line,
                    "objective \"%.*s\" is not one tabserve reads (binary, cross_entropy, multiclass, "
                    "multiclassova, regression, regression_l1, huber, fair, quantile, mape, poisson, gamma, "
                    "tweedie, lambdarank, rank_xendcg)",
                    (int)(wl < 40 ? wl : 40), w);
    return 0;
}

/* A double threshold as tabserve's float comparison: x <= t holds for a float
 * x exactly when x < the float just above the largest float <= t. */
static float below_threshold(double t)
{
    float f = (float)t;
    if ((double)f > t) f = nextafterf(f, -INFINITY);
    return nextafterf(f, INFINITY);
}

#define DT_CATEGORICAL  1
#define DT_DEFAULT_LEFT 2
#define MISSING_OF(dt)  (((dt) >> 2) & 3) /* 0 none, 1 zero, 2 NaN */

/* A number of the file as a long, or -1 when it is none (NaN, or past 2^53:
 * converting those is undefined); every caller refuses a negative one. */
static long as_long(double v) { return v >= -9e15 && v <= 9e15 ? (long)v : -1; }

static int read_tree(text *t, const block *b, long index, int n_features, double scale, int average,
                     long n_iter, const import_limits *lim, tree *tr)
{
    long leaves;
    if (integer(t, b, "num_leaves", 1, lim->max_nodes, &leaves) != 0) return -1;
    const entry *lin = find(b, "is_linear");
    if (lin && !(lin->val_len == 1 && lin->val[0] == '0'))
        return fail(t, lin->line,
                    "tree %ld is a linear tree (linear_tree=true), which tabserve does not read", index);
    size_t n_in = (size_t)leaves - 1, n_nodes = n_in + (size_t)leaves;
    double *leaf = malloc((size_t)leaves * sizeof *leaf);
    double *feat = malloc((n_in + 1) * sizeof *feat), *thr = malloc((n_in + 1) * sizeof *thr);
    double *dt = malloc((n_in + 1) * sizeof *dt), *lc = malloc((n_in + 1) * sizeof *lc),
           *rc = malloc((n_in + 1) * sizeof *rc);
    double *bounds = NULL, *words = NULL;
    int rc_ = -1;
    if (!leaf || !feat || !thr || !dt || !lc || !rc) {
        err_set(t->err, "out of memory");
        goto out;
    }
    if (numbers(t, b, "leaf_value", (size_t)leaves, leaf) != 0) goto out;
    if (n_in &&
        (numbers(t, b, "split_feature", n_in, feat) != 0 || numbers(t, b, "threshold", n_in, thr) != 0 ||
         numbers(t, b, "decision_type", n_in, dt) != 0 || numbers(t, b, "left_child", n_in, lc) != 0 ||
         numbers(t, b, "right_child", n_in, rc) != 0))
        goto out;
    long n_cat = 0, n_words = 0;
    if (find(b, "num_cat") && integer(t, b, "num_cat", 0, (long)n_in, &n_cat) != 0) goto out;
    if (n_cat) {
        const entry *ct = find(b, "cat_threshold");
        if (!(bounds = malloc((size_t)(n_cat + 1) * sizeof *bounds)) ||
            numbers(t, b, "cat_boundaries", (size_t)n_cat + 1, bounds) != 0)
            goto out;
        n_words = as_long(bounds[n_cat]);
        if (!ct || n_words < 0 || n_words > (1 << 20) ||
            !(words = malloc((size_t)(n_words + 1) * sizeof *words)) ||
            numbers(t, b, "cat_threshold", (size_t)n_words, words) != 0) {
            if (!*t->err) fail(t, b->line, "tree %ld: cat_threshold does not match cat_boundaries", index);
            goto out;
        }
    }
    if (trees_alloc_tree(tr, (int)n_nodes) != 0) {
        err_set(t->err, "out of memory");
        goto out;
    }
    /* internal nodes 0..L-2, then the leaves: a child always after its parent */
    double mult = scale / (average ? (double)n_iter : 1.0);
    for (long k = 0; k < leaves; k++) {
        double v = leaf[k] * mult;
        if (!isfinite(v)) {
            fail(t, b->line, "tree %ld: leaf %ld is not a finite number", index, k);
            goto out;
        }
        tr->value[n_in + (size_t)k] = (float)v;
    }
    for (size_t i = 0; i < n_in; i++) {
        int d = dt[i] >= 0 && dt[i] <= 15 ? (int)dt[i] : -1, child[2];
        double sides[2] = {lc[i], rc[i]};
        if (feat[i] < 0 || feat[i] >= n_features || feat[i] != floor(feat[i]) || dt[i] != floor(dt[i]) ||
            d < 0 || d > 15) {
            fail(t, b->line, "tree %ld node %zu: split_feature or decision_type out of range", index, i);
            goto out;
        }
        for (int s = 0; s < 2; s++) {
            double c = sides[s];
            if (c != floor(c) || c >= (double)n_in || c < -(double)leaves) {
                fail(t, b->line, "tree %ld node %zu: a child that does not exist", index, i);
                goto out;
            }
            child[s] = c >= 0 ? (int)c : (int)n_in + (int)(-c - 1); /* ~leaf */
        }
        tr->feature[i] = (int)feat[i];
        if (d & DT_CATEGORICAL) { /* codes in the set go left; tabserve sends its set right: swap */
            long idx = as_long(thr[i]);
            if (thr[i] != floor(thr[i]) || idx < 0 || idx >= n_cat) {
                fail(t, b->line, "tree %ld node %zu: categorical threshold %g is not a set of the tree",
                     index, i, thr[i]);
                goto out;
            }
            long from = as_long(bounds[idx]), to = as_long(bounds[idx + 1]);
            if (from < 0 || to < from || to > n_words) {
                fail(t, b->line, "tree %ld node %zu: cat_boundaries out of order", index, i);
                goto out;
            }
            int *cats = malloc((size_t)(to - from) * 32 * sizeof *cats + sizeof *cats), n = 0;
            if (!cats) {
                err_set(t->err, "out of memory");
                goto out;
            }
            for (long w = from; w < to; w++) {
                /* a word of the bitset: a 32-bit unsigned integer, converted only once known to be one */
                if (!(words[w] >= 0 && words[w] < 4294967296.0 && words[w] == floor(words[w]))) {
                    free(cats);
                    fail(t, b->line, "tree %ld node %zu: cat_threshold word %g is not a 32-bit bitset", index,
                         i, words[w]);
                    goto out;
                }
                for (int bit = 0; bit < 32; bit++)
                    if (((unsigned long)words[w] >> bit) & 1) cats[n++] = (int)((w - from) * 32 + bit);
            }
            int bad = trees_set_categories(tr, (int)i, cats, n);
            free(cats);
            if (bad) {
                err_set(t->err, "out of memory");
                goto out;
            }
            tr->left[i] = child[1];
            tr->right[i] = child[0];
            tr->default_left[i] = 1; /* NaN: LightGBM's right, tabserve's left */
            tr->threshold[i] = 0;
            continue;
        }
        int missing = MISSING_OF(d), default_left = (d & DT_DEFAULT_LEFT) != 0, zero_left = 0.0 <= thr[i];
        if (missing == 1 && default_left != zero_left) {
            fail(t, b->line,
                 "tree %ld node %zu: zero as missing sends 0 the other way than its threshold %g does; "
                 "tabserve does not read such splits (retrain without zero_as_missing)",
                 index, i, thr[i]);
            goto out;
        }
        tr->left[i] = child[0];
        tr->right[i] = child[1];
        tr->threshold[i] = below_threshold(thr[i]);
        /* NaN: NaN missing type -> the default way; none -> as 0; zero -> the default way (= 0's way) */
        tr->default_left[i] = (unsigned char)(missing == 0 ? zero_left : default_left);
    }
    rc_ = 0;
out:
    free(leaf);
    free(feat);
    free(thr);
    free(dt);
    free(lc);
    free(rc);
    free(bounds);
    free(words);
    return rc_;
}

/* The inputs: the feature names, and for the categorical features named in
 * pandas_categorical, their category names (code i is the i-th). */
static int read_inputs(text *t, const block *h, model_builder *mb, int n_features, json_t *pandas)
{
    schema *s = model_builder_inputs(mb);
    const entry *names = find(h, "feature_names"), *infos = find(h, "feature_infos");
    s->n_inputs = (size_t)n_features;
    if (!(s->inputs = calloc((size_t)n_features, sizeof *s->inputs))) return err_set(t->err, "out of memory");
    const char *p = names ? names->val : NULL, *pe = names ? names->val + names->val_len : NULL;
    const char *q = infos ? infos->val : NULL, *qe = infos ? infos->val + infos->val_len : NULL;
    size_t cat_seen = 0;
    for (int j = 0; j < n_features; j++) {
        schema_input *in = &s->inputs[j];
        char name[READ_MAX_NAME + 1];
        size_t len = 0;
        if (p && p < pe) {
            const char *sp = memchr(p, ' ', (size_t)(pe - p));
            len = (size_t)((sp ? sp : pe) - p);
            if (len == 0 || len > READ_MAX_NAME)
                return fail(t, names->line, "feature_names: name %d is empty or longer than %d bytes", j,
                            READ_MAX_NAME);
            json_t *utf8 = json_stringn(p, len); /* names go into JSON documents and URLs' answers */
            json_decref(utf8);
            if (!utf8) return fail(t, names->line, "feature_names: name %d is not UTF-8 text", j);
            memcpy(name, p, len);
            p += len + 1;
        } else
            len = (size_t)snprintf(name, sizeof name, "Column_%d", j);
        name[len] = 0;
        /* a categorical feature's infos list its codes ("-1:3:0:6"), a numeric one a range ("[0:100]") */
        int categorical = 0;
        if (q && q < qe) {
            const char *sp = memchr(q, ' ', (size_t)(qe - q));
            size_t ql = (size_t)((sp ? sp : qe) - q);
            categorical = ql && q[0] != '[' && !(ql == 4 && memcmp(q, "none", 4) == 0);
            q += ql + 1;
        }
        if (!(in->name = strdup(name))) return err_set(t->err, "out of memory");
        in->type = TYPE_NUMBER;
        in->unknown = UNKNOWN_MISSING;
        feature_step step = {STEP_PASSTHROUGH, 0, 0};
        json_t *vocab = categorical && json_is_array(pandas) ? json_array_get(pandas, cat_seen) : NULL;
        if (categorical) cat_seen++;
        if (json_is_array(vocab) && json_array_size(vocab) > 0 &&
            json_array_size(vocab) <= SCHEMA_MAX_VOCAB) {
            size_t k = json_array_size(vocab);
            int ints = json_is_integer(json_array_get(vocab, 0));
            in->vocab = calloc(k, sizeof *in->vocab);
            in->vocab_int = ints ? calloc(k, sizeof *in->vocab_int) : NULL;
            if (!in->vocab || (ints && !in->vocab_int)) return err_set(t->err, "out of memory");
            in->n_vocab = k;
            in->type = ints ? TYPE_INTEGER : TYPE_STRING;
            for (size_t c = 0; c < k; c++) {
                json_t *v = json_array_get(vocab, c);
                char text_v[64];
                if (ints && json_is_integer(v)) {
                    in->vocab_int[c] = json_integer_value(v);
                    snprintf(text_v, sizeof text_v, "%lld", (long long)json_integer_value(v));
                } else if (!ints && json_is_string(v))
                    snprintf(text_v, sizeof text_v, "%s", json_string_value(v));
                else
                    return err_set(t->err,
                                   "%s: pandas_categorical: feature %s: category %zu is not like the others",
                                   t->name, name, c);
                if (!(in->vocab[c] = strdup(text_v))) return err_set(t->err, "out of memory");
            }
            step.op = STEP_CATEGORY_INDEX;
        }
        if (features_add(model_builder_features(mb), (size_t)j, &step, 1) != 0)
            return err_set(t->err, "out of memory");
    }
    for (int a = 0; a < n_features; a++)
        for (int b = 0; b < a; b++)
            if (strcmp(s->inputs[a].name, s->inputs[b].name) == 0)
                return fail(t, names ? names->line : 1, "feature_names: \"%.64s\" appears twice",
                            s->inputs[a].name);
    return 0;
}

int lightgbm_is(const char *buf, size_t len)
{
    return (len >= 5 && memcmp(buf, "tree\n", 5) == 0) || (len >= 6 && memcmp(buf, "tree\r\n", 6) == 0);
}

model_builder *lightgbm_import(const char *buf, size_t len, const char *name, const import_limits *lim,
                               char *err)
{
    text t = {buf, buf + len, name, 0, err};
    const char *s;
    size_t sl;
    *err = 0;
    if (!next_line(&t, &s, &sl) || !word_is(s, sl, "tree"))
        return fail(&t, 1, "not a LightGBM model (its first line is not \"tree\")"), NULL;
    block *h = calloc(1, sizeof *h), *b = calloc(1, sizeof *b);
    model_builder *mb = model_builder_new();
    json_t *pandas = NULL;
    tree_ensemble *e = NULL;
    if (!h || !b || !mb) {
        err_set(err, "out of memory");
        goto fail;
    }
    /* the header: key=value lines (and "average_output" alone: rf) up to the first tree */
    int average = 0;
    const char *trees_at = NULL;
    size_t trees_line = 0;
    while (next_line(&t, &s, &sl)) {
        if (starts(s, sl, "Tree=")) {
            trees_at = s;
            trees_line = t.line;
            break;
        }
        if (word_is(s, sl, "average_output")) average = 1;
        if (add_entry(&t, h, s, sl) != 0) goto fail;
    }
    h->line = 2;
    objective o = {TASK_REGRESSION, LINK_IDENTITY, 1, 1.0};
    long n_features, per_iter;
    if (read_objective(&t, h, &o) != 0 ||
        integer(&t, h, "max_feature_idx", 0, SCHEMA_MAX_INPUTS - 1, &n_features) != 0 ||
        integer(&t, h, "num_tree_per_iteration", 1, OUTPUT_MAX_CLASSES, &per_iter) != 0)
        goto fail;
    n_features++;
    if (per_iter != o.n_classes) {
        fail(&t, h->line, "num_tree_per_iteration %ld for %d classes", per_iter, o.n_classes);
        goto fail;
    }
    /* the tree blocks: counted first (the ensemble is sized once) */
    long n_trees = 0;
    for (const char *p = trees_at; p && p < t.end;) {
        if ((size_t)(t.end - p) >= 5 && memcmp(p, "Tree=", 5) == 0) n_trees++;
        if ((size_t)(t.end - p) >= 12 && memcmp(p, "end of trees", 12) == 0) break;
        const char *nl = memchr(p, '\n', (size_t)(t.end - p));
        p = nl ? nl + 1 : t.end;
    }
    if (!trees_at) trees_at = t.end;
    if (n_trees == 0 || n_trees > lim->max_trees || n_trees % per_iter) {
        fail(&t, trees_line ? trees_line : t.line,
             "%ld trees: expected 1 to %ld, a multiple of %ld (--max-trees)", n_trees, lim->max_trees,
             per_iter);
        goto fail;
    }
    /* pandas_categorical, after the trees: the category names of categorical features */
    const char *pc = memmem(trees_at, (size_t)(t.end - trees_at), "\npandas_categorical:", 20);
    if (pc) {
        pc += 20;
        const char *nl = memchr(pc, '\n', (size_t)(t.end - pc));
        json_error_t je;
        pandas = json_loadb(pc, (size_t)((nl ? nl : t.end) - pc), JSON_DECODE_ANY, &je);
        if (!pandas) {
            err_set(err, "%s: pandas_categorical: not JSON (%s)", name, je.text);
            goto fail;
        }
    }
    if (!(e = trees_create((int)n_features, o.n_classes, (size_t)n_trees, NULL))) {
        err_set(err, "out of memory");
        goto fail;
    }
    model_builder_set_predictor(mb, &e->base);
    for (int k = 0; k < o.n_classes; k++) e->base_score[k] = 0;
    long n_iter = n_trees / per_iter;
    /* each tree: its key=value lines after "Tree=i", up to the next tree or "end of trees" */
    for (long i = 0; i < n_trees; i++) {
        b->n = 0;
        b->line = t.line;
        while (next_line(&t, &s, &sl) && !starts(s, sl, "Tree=") && !starts(s, sl, "end of trees"))
            if (add_entry(&t, b, s, sl) != 0) goto fail;
        if (read_tree(&t, b, i, (int)n_features, o.scale, average, n_iter, lim, &e->trees[i]) != 0) goto fail;
        e->trees[i].output = (int)(i % per_iter);
    }
    /* rf answers the mean of its leaves as the probability itself (no link): a leaf
     * outside [0, 1] would be served as a "probability" past 1 — a model's lie, refused */
    for (long i = 0; average && o.task != TASK_REGRESSION && i < n_trees; i++) {
        const tree *tr = &e->trees[i];
        for (int k = 0; k < tr->n_nodes; k++) {
            double p = (double)tr->value[k] * (double)n_iter / o.scale;
            if (tr->feature[k] < 0 && !(p >= -1e-6 && p <= 1 + 1e-6)) {
                fail(&t, trees_line,
                     "tree %ld: leaf value %g is not a probability, as a random forest's (rf) "
                     "classifier leaves are",
                     i, p);
                goto fail;
            }
        }
    }
    output_spec *out = model_builder_output(mb);
    out->task = o.task;
    /* rf: the trees' leaves are already the answer (their mean), as LightGBM's predict gives it */
    out->link = average ? LINK_IDENTITY : o.link;
    if (!(out->label = strdup("label"))) {
        err_set(err, "out of memory");
        goto fail;
    }
    if (o.task == TASK_MULTICLASS) {
        out->n_classes = (size_t)o.n_classes;
        if (!(out->classes = calloc((size_t)o.n_classes, sizeof *out->classes))) goto oom;
        for (int k = 0; k < o.n_classes; k++) {
            char num[16];
            snprintf(num, sizeof num, "%d", k);
            if (!(out->classes[k] = strdup(num))) goto oom;
        }
    }
    if (read_inputs(&t, h, mb, (int)n_features, pandas) != 0) goto fail;
    const entry *obj = find(h, "objective"), *ver = find(h, "version");
    /* header text goes into JSON: it must be UTF-8 (jansson refuses other bytes) */
    json_t *objv = json_stringn(obj->val, obj->val_len),
           *verv = json_stringn(ver ? ver->val : "", ver ? ver->val_len : 0);
    if (!objv || !verv) {
        json_decref(objv);
        json_decref(verv);
        err_set(err, "%s: the %s line is not UTF-8 text", name, !objv ? "objective" : "version");
        goto fail;
    }
    json_t *meta = json_pack("{s:{s:s,s:o,s:o,s:s}}", "source", "format", "lightgbm", "objective", objv,
                             "version", verv, "file", name);
    if (!meta || model_builder_set_metadata(mb, meta) != 0) goto oom;
    if (average) json_object_set_new(json_object_get(meta, "source"), "average_output", json_true());
    json_decref(pandas);
    free(h);
    free(b);
    return mb; /* assembled by model_open, after the schema file (if any) */
oom:
    err_set(err, "out of memory");
fail:
    json_decref(pandas);
    free(h);
    free(b);
    model_builder_free(mb);
    return NULL;
}
