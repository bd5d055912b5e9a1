/* features — applying, checking and reading feature steps. */
#define _POSIX_C_SOURCE 200809L
#include "model/features.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/jsonx.h"

static const char *const op_names[] = {
    "impute",         "log1p",       "standardize", "one_hot", "missing_indicator",
    "category_index", "passthrough", "scale"};
#define N_OPS 8

static int is_terminal(step_op op)
{
    return op == STEP_ONE_HOT || op == STEP_MISSING_INDICATOR || op == STEP_CATEGORY_INDEX ||
           op == STEP_PASSTHROUGH;
}

int features_add(feature_steps *fs, size_t input, const feature_step *steps, int n_steps)
{
    feature *nf = realloc(fs->f, (fs->n + 1) * sizeof *nf);
    if (!nf) return -1;
    fs->f = nf;
    feature *f = &fs->f[fs->n++];
    memset(f, 0, sizeof *f);
    f->input = input;
    f->n_steps = n_steps;
    memcpy(f->steps, steps, (size_t)n_steps * sizeof *steps);
    return 0;
}

int features_validate(const feature_steps *fs, const schema *s, char *err)
{
    size_t columns = 0;
    if (fs->n == 0) return err_set(err, "$.features: expected at least one feature");
    for (size_t i = 0; i < fs->n; i++) {
        const feature *f = &fs->f[i];
        if (f->input >= s->n_inputs)
            return err_set(err, "$.features[%zu]: input %zu does not exist", i, f->input);
        const schema_input *in = &s->inputs[f->input];
        columns += 1;
        for (int k = 0; k < f->n_steps; k++) {
            const feature_step *st = &f->steps[k];
            if (is_terminal(st->op) && k + 1 != f->n_steps)
                return err_set(
                    err, "$.features[%zu].steps[%d]: %s writes the columns, so it must be the last step", i,
                    k, op_names[st->op]);
            if ((st->op == STEP_ONE_HOT || st->op == STEP_CATEGORY_INDEX) && !in->n_vocab)
                return err_set(
                    err,
                    "$.features[%zu].steps[%d]: %s needs a categorical input, and \"%s\" has no vocabulary",
                    i, k, op_names[st->op], in->name);
            if (in->n_vocab && (st->op == STEP_LOG1P || st->op == STEP_STANDARDIZE || st->op == STEP_SCALE))
                return err_set(err, "$.features[%zu].steps[%d]: %s of the categorical input \"%s\"", i, k,
                               op_names[st->op], in->name);
            if (st->op == STEP_SCALE && !(isfinite((float)st->a) && isfinite((float)st->b)))
                return err_set(err, "$.features[%zu].steps[%d]: offset and scale must be finite floats", i,
                               k);
            if (st->op == STEP_STANDARDIZE && !(st->b > 0 && isfinite(st->b) && isfinite(st->a)))
                return err_set(err, "$.features[%zu].steps[%d]: std must be positive and mean finite", i, k);
            if (st->op == STEP_IMPUTE && in->n_vocab && !(st->a >= 0 && st->a < (double)in->n_vocab))
                return err_set(
                    err, "$.features[%zu].steps[%d]: the imputed category is not in the vocabulary", i, k);
            if (st->op == STEP_ONE_HOT) columns += in->n_vocab - 1;
        }
        if (columns > FEATURES_MAX_COLUMNS)
            return err_set(err, "$.features: more than %d columns", FEATURES_MAX_COLUMNS);
    }
    return 0;
}

void features_layout(feature_steps *fs, const schema *s)
{
    int offset = 0;
    for (size_t i = 0; i < fs->n; i++) {
        feature *f = &fs->f[i];
        int terminal = f->n_steps > 0 && is_terminal(f->steps[f->n_steps - 1].op);
        f->n_scalar = f->n_steps - terminal;
        f->write = terminal ? f->steps[f->n_steps - 1].op : STEP_PASSTHROUGH;
        f->width = f->write == STEP_ONE_HOT ? (int)s->inputs[f->input].n_vocab : 1;
        f->offset = offset;
        offset += f->width;
    }
    fs->n_columns = offset;
}

int features_apply(const feature_steps *fs, const double *values, float *x)
{
    int overflow = -1;
    for (size_t i = 0; i < fs->n; i++) {
        const feature *f = &fs->f[i];
        double v = values[f->input];
        for (int k = 0; k < f->n_scalar; k++) {
            const feature_step *st = &f->steps[k];
            if (st->op == STEP_IMPUTE)
                v = isnan(v) ? st->a : v;
            else if (st->op == STEP_LOG1P)
                v = log1p(v > 0 ? v : 0);
            else if (st->op == STEP_SCALE) /* float arithmetic, as the ONNX runtime */
                v = (float)((float)v - (float)st->a) * (float)st->b;
            else /* STEP_STANDARDIZE */
                v = (v - st->a) / st->b;
        }
        float *out = x + f->offset;
        if (f->write == STEP_ONE_HOT) {
            for (int j = 0; j < f->width; j++) out[j] = 0;
            /* NaN (missing) and -1 (unknown, "zeros") set nothing */
            if (v >= 0 && v < f->width) out[(int)v] = 1.0f;
        } else if (f->write == STEP_MISSING_INDICATOR) {
            out[0] = isnan(v) ? 1.0f : 0.0f;
        } else { /* passthrough, category_index, or a transformed value */
            out[0] = (float)v;
            /* a finite input pushed past float range (-1e300 standardised) */
            if (isinf(out[0]) && (fs->finite_columns || isfinite(values[f->input])) && overflow < 0)
                overflow = (int)i;
        }
    }
    return overflow;
}

/* ---- JSON form ------------------------------------------------------------ */

static int read_step(reader *r, const schema_input *in, feature_step *st, json_t *obj, const char *path)
{
    if (!json_is_object(obj)) return read_fail(r, path, "expected an object, got %s", json_type_name(obj));
    int op = read_enum(r, obj, path, "op", op_names, N_OPS, NULL);
    if (op < 0) return -1;
    st->op = (step_op)op;
    if (st->op == STEP_STANDARDIZE)
        return read_finite(r, obj, path, "mean", &st->a) || read_finite(r, obj, path, "std", &st->b) ? -1 : 0;
    if (st->op == STEP_SCALE)
        return read_finite(r, obj, path, "offset", &st->a) || read_finite(r, obj, path, "scale", &st->b) ? -1
                                                                                                         : 0;
    if (st->op != STEP_IMPUTE) return 0;
    if (!in->n_vocab) return read_finite(r, obj, path, "value", &st->a);
    int idx = schema_category_of_json(in, json_object_get(obj, "value"));
    if (idx < 0) return read_fail(r, path, "member \"value\" must be one of the vocabulary's values");
    st->a = idx;
    return 0;
}

int features_read(feature_steps *fs, const schema *s, reader *r, json_t *arr, const char *path)
{
    char sub[96], step_path[128];
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *obj = json_array_get(arr, i);
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        if (!json_is_object(obj)) return read_fail(r, sub, "expected an object, got %s", json_type_name(obj));
        const char *name = read_string(r, obj, sub, "input");
        if (!name) return -1;
        int input = schema_find(s, name, strlen(name));
        if (input < 0) return read_fail(r, sub, "input \"%.64s\" is not among $.inputs", name);
        json_t *steps = read_member(r, obj, sub, "steps", JSON_ARRAY, "an array");
        if (!steps) return -1;
        size_t n = json_array_size(steps);
        if (n == 0 || n > FEATURE_MAX_STEPS)
            return read_fail(r, sub, "expected 1 to %d steps", FEATURE_MAX_STEPS);
        feature_step st[FEATURE_MAX_STEPS] = {{0}};
        for (size_t k = 0; k < n; k++) {
            snprintf(step_path, sizeof step_path, "%s.steps[%zu]", sub, k);
            if (read_step(r, &s->inputs[input], &st[k], json_array_get(steps, k), step_path) != 0) return -1;
        }
        if (features_add(fs, (size_t)input, st, (int)n) != 0) return read_fail(r, sub, "out of memory");
    }
    return 0;
}

json_t *features_to_json(const feature_steps *fs, const schema *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < fs->n; i++) {
        const feature *f = &fs->f[i];
        const schema_input *in = &s->inputs[f->input];
        json_t *o = json_object(), *steps = json_array();
        json_object_set_new(o, "input", json_string(in->name));
        for (int k = 0; k < f->n_steps; k++) {
            const feature_step *st = &f->steps[k];
            json_t *so = json_object();
            json_object_set_new(so, "op", json_string(op_names[st->op]));
            if (st->op == STEP_IMPUTE && in->n_vocab)
                json_object_set_new(so, "value",
                                    in->vocab_int ? json_integer(in->vocab_int[(size_t)st->a])
                                                  : json_string(in->vocab[(size_t)st->a]));
            else if (st->op == STEP_IMPUTE)
                json_object_set_new(so, "value", json_real(st->a));
            if (st->op == STEP_STANDARDIZE) {
                json_object_set_new(so, "mean", json_real(st->a));
                json_object_set_new(so, "std", json_real(st->b));
            }
            if (st->op == STEP_SCALE) {
                json_object_set_new(so, "offset", json_real(st->a));
                json_object_set_new(so, "scale", json_real(st->b));
            }
            json_array_append_new(steps, so);
        }
        json_object_set_new(o, "steps", steps);
        json_array_append_new(arr, o);
    }
    return arr;
}

void features_hash(const feature_steps *fs, fnv *f)
{
    fnv_i64(f, (int64_t)fs->n);
    for (size_t i = 0; i < fs->n; i++) {
        fnv_i64(f, (int64_t)fs->f[i].input);
        fnv_i64(f, fs->f[i].n_steps);
        for (int k = 0; k < fs->f[i].n_steps; k++) {
            fnv_i64(f, fs->f[i].steps[k].op);
            fnv_f64(f, fs->f[i].steps[k].a);
            fnv_f64(f, fs->f[i].steps[k].b);
        }
    }
}

void features_clear(feature_steps *fs)
{
    free(fs->f);
    memset(fs, 0, sizeof *fs);
}

void feature_describe(const feature *f, const schema *s, char *buf, size_t len)
{
    const schema_input *in = &s->inputs[f->input];
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < f->n_steps && used + 1 < len; k++) {
        const feature_step *st = &f->steps[k];
        int n;
        const char *sep = k ? " -> " : "";
        if (st->op == STEP_IMPUTE && in->n_vocab)
            n = snprintf(buf + used, len - used, "%simpute(%s)", sep, in->vocab[(size_t)st->a]);
        else if (st->op == STEP_IMPUTE)
            n = snprintf(buf + used, len - used, "%simpute(%g)", sep, st->a);
        else if (st->op == STEP_STANDARDIZE)
            n = snprintf(buf + used, len - used, "%sstandardize(mean %.4g, std %.4g)", sep, st->a, st->b);
        else if (st->op == STEP_SCALE)
            n = snprintf(buf + used, len - used, "%sscale(offset %.4g, scale %.4g)", sep, st->a, st->b);
        else
            n = snprintf(buf + used, len - used, "%s%s", sep, op_names[st->op]);
        if (n < 0) break;
        used += (size_t)n;
    }
}
