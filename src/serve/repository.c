/* repository — scanning DIR/<name>/<version>/, loading each version, and the
 * lookups the request path makes. */
#define _GNU_SOURCE
#include "serve/repository.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"
#include "formats/default_model.h"
#include "explain/explain.h"
#include "serve/log.h"

/* ---- scanning: what is on disk, without loading anything ---- */

typedef struct {
    long version;
    char *file; /* the model file's path; NULL when the directory holds none, or several */
    char *problem;
    struct stat st;
} found_version;

typedef struct {
    char *name;
    found_version *v; /* newest first */
    int n;
    struct stat labels_st; /* <name>/labels.json; st_ino 0: none */
} found_model;

static int is_model_name(const char *s)
{
    if (!*s || *s == '.' || strlen(s) >= REPO_MAX_NAME) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* "1", "42": a positive integer with no sign, no leading zero; else 0 */
static long version_of(const char *s)
{
    if (*s < '1' || *s > '9' || strlen(s) > 15) return 0;
    long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        v = v * 10 + (*s - '0');
    }
    return v;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

static int by_version_desc(const void *a, const void *b)
{
    long x = ((const found_version *)a)->version, y = ((const found_version *)b)->version;
    return (x < y) - (x > y);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const found_model *)a)->name, ((const found_model *)b)->name);
}

/* The one model file of a version directory: every regular, non-hidden file
 * that is not a schema file is a candidate; none or several is a problem. */
/* Whether path, links resolved, lies inside root (a resolved directory). */
static int inside(const char *root, const char *path)
{
    char *real = realpath(path, NULL);
    size_t n = strlen(root);
    int in = real && strncmp(real, root, n) == 0 && real[n] == '/';
    free(real);
    return in;
}

static void find_model_file(const char *vdir, const char *root, found_version *fv)
{
    DIR *d = opendir(vdir);
    if (!d) {
        if (asprintf(&fv->problem, "%s: cannot read the directory: %s", vdir, strerror(errno)) < 0)
            fv->problem = NULL;
        return;
    }
    struct dirent *e;
    int count = 0;
    char first[2][256] = {"", ""};
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || ends_with(e->d_name, ".schema.json")) continue;
        char *p;
        if (asprintf(&p, "%s/%s", vdir, e->d_name) < 0) continue;
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            /* a link out of the repository (to /etc/passwd, /proc/self/environ): never read */
            if (root && !inside(root, p)) {
                free(fv->problem);
                if (asprintf(&fv->problem,
                             "%s is a link out of the model repository: refused (serve "
                             "--allow-links-outside-repository allows it)",
                             e->d_name) < 0)
                    fv->problem = NULL;
                free(p);
                count = -1;
                break;
            }
            if (count < 2) snprintf(first[count], sizeof first[count], "%s", e->d_name);
            if (count++ == 0) {
                fv->file = p;
                fv->st = st;
                continue;
            }
        }
        free(p);
    }
    closedir(d);
    if (count == 1) return;
    free(fv->file);
    fv->file = NULL;
    if (count < 0) return; /* the problem is said */
    int n = count == 0 ? asprintf(&fv->problem, "%s: no model file in the version directory", vdir)
                       : asprintf(&fv->problem,
                                  "%s: %d model files (%s, %s%s); a version directory holds exactly one",
                                  vdir, count, first[0], first[1], count > 2 ? ", ..." : "");
    if (n < 0) fv->problem = NULL;
}

static void found_free(found_model *fm, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < fm[i].n; k++) {
            free(fm[i].v[k].file);
            free(fm[i].v[k].problem);
        }
        free(fm[i].v);
        free(fm[i].name);
    }
    free(fm);
}

/* Lists DIR's models and their versions, newest first. Returns the count, or -1 with err. */
static int scan(const char *dir, int links_outside, found_model **out, char *err)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return err_set(err, "--model-repository %s: %s", dir, strerror(errno));
    char *root = links_outside ? NULL : realpath(dir, NULL);
    found_model *fm = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < REPO_MAX_MODELS) {
        if (e->d_name[0] == '.') continue;
        char *mdir;
        if (asprintf(&mdir, "%s/%s", dir, e->d_name) < 0) continue;
        struct stat st;
        DIR *md = stat(mdir, &st) == 0 && S_ISDIR(st.st_mode) ? opendir(mdir) : NULL;
        if (!md) {
            free(mdir);
            continue; /* a file beside the models (a README): not a model */
        }
        if (!is_model_name(e->d_name)) {
            log_msg(LOG_WARNING, "%s: not a model name (letters, digits, '_', '-', '.'; up to %d): skipped",
                    mdir, REPO_MAX_NAME - 1);
            closedir(md);
            free(mdir);
            continue;
        }
        found_model *grown = realloc(fm, (size_t)(n + 1) * sizeof *fm);
        if (!grown) {
            closedir(md);
            free(mdir);
            break;
        }
        fm = grown;
        found_model *m = &fm[n++];
        memset(m, 0, sizeof *m);
        m->name = strdup(e->d_name);
        char *labels;
        if (asprintf(&labels, "%s/labels.json", mdir) >= 0) {
            if (stat(labels, &m->labels_st) != 0) memset(&m->labels_st, 0, sizeof m->labels_st);
            free(labels);
        }
        struct dirent *ve;
        while ((ve = readdir(md))) {
            long version = version_of(ve->d_name);
            if (!version) continue; /* TF Serving and Triton skip what is not a version too */
            char *vdir;
            if (asprintf(&vdir, "%s/%s", mdir, ve->d_name) < 0) continue;
            if (stat(vdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
                free(vdir);
                continue;
            }
            found_version *gv = realloc(m->v, (size_t)(m->n + 1) * sizeof *m->v);
            if (!gv) {
                free(vdir);
                break;
            }
            m->v = gv;
            found_version *fv = &m->v[m->n++];
            memset(fv, 0, sizeof *fv);
            fv->version = version;
            find_model_file(vdir, root, fv);
            free(vdir);
        }
        closedir(md);
        free(mdir);
        if (m->n) qsort(m->v, (size_t)m->n, sizeof *m->v, by_version_desc);
    }
    closedir(d);
    free(root);
    if (n) qsort(fm, (size_t)n, sizeof *fm, by_name);
    *out = fm;
    return n;
}

static char *fingerprint_of(const found_model *fm, int n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    for (int i = 0; i < n; i++) {
        const struct stat *l = &fm[i].labels_st;
        if (l->st_ino)
            fprintf(f, "%s/labels.json %llu %lld %lld.%09ld\n", fm[i].name, (unsigned long long)l->st_ino,
                    (long long)l->st_size, (long long)l->st_mtim.tv_sec, l->st_mtim.tv_nsec);
        for (int k = 0; k < fm[i].n; k++) {
            const found_version *v = &fm[i].v[k];
            fprintf(f, "%s/%ld %s %llu %llu %lld %lld.%09ld\n", fm[i].name, v->version,
                    v->file ? v->file : "-", (unsigned long long)v->st.st_dev,
                    (unsigned long long)v->st.st_ino, (long long)v->st.st_size,
                    (long long)v->st.st_mtim.tv_sec, v->st.st_mtim.tv_nsec);
        }
    }
    fclose(f);
    return text;
}

char *repository_scan_fingerprint(const repository_options *o)
{
    if (!o->dir) return NULL;
    found_model *fm;
    int n = scan(o->dir, o->links_outside, &fm, NULL);
    if (n < 0) return strdup("unreadable");
    char *f = fingerprint_of(fm, n);
    found_free(fm, n);
    return f;
}

/* ---- loading ---- */

static void version_clear(const repository *r, repo_version *v)
{
    explainer_free(v->explainer);
    model_free(v->m);
    free(v->error);
    free(v->path);
    if (v->attached && r->forget) r->forget(v->attached);
    memset(v, 0, sizeof *v);
}

void repository_free(repository *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        for (int k = 0; k < r->models[i].n; k++) version_clear(r, &r->models[i].v[k]);
        free(r->models[i].v);
        free(r->models[i].name);
        for (int k = 0; k < r->models[i].n_labels; k++) free(r->models[i].label_names[k]);
        free(r->models[i].label_names);
        free(r->models[i].label_versions);
        free(r->models[i].labels_error);
    }
    free(r->models);
    free(r->dir);
    free(r->fingerprint);
    free(r);
}

/* prev's loaded copy of this version (NULL: none), matching the file's
 * identity too when `same_file`. */
static repo_version *previous(repository *prev, const char *name, const found_version *fv, int same_file)
{
    if (!prev || !fv->file) return NULL;
    repo_model *pm = (repo_model *)repository_find(prev, name, strlen(name));
    for (int k = 0; pm && k < pm->n; k++) {
        repo_version *pv = &pm->v[k];
        if (pv->version != fv->version || !pv->path || (!same_file && !pv->m)) continue;
        if (same_file &&
            (strcmp(pv->path, fv->file) != 0 || pv->ino != (unsigned long long)fv->st.st_ino ||
             pv->dev != (unsigned long long)fv->st.st_dev || pv->size != (unsigned long long)fv->st.st_size ||
             pv->mtime_ns != (unsigned long long)fv->st.st_mtim.tv_sec * 1000000000ull +
                                 (unsigned long long)fv->st.st_mtim.tv_nsec))
            continue;
        return pv;
    }
    return NULL;
}

/* Takes pv (of prev) over into out (its model, explainer, error); what the server
 * attached is made again, for siblings may differ. */
static void take_over(const repository *prev, repo_version *pv, repo_version *out)
{
    *out = *pv;
    out->fresh = 0; /* counted when first loaded */
    out->attached = NULL;
    if (pv->attached && prev->forget) prev->forget(pv->attached);
    memset(pv, 0, sizeof *pv);
    pv->version = -1; /* taken */
}

/* The same file as before (inode, size, mtime): take prev's loaded version over. */
static int reuse(repository *prev, const char *name, const found_version *fv, repo_version *out)
{
    repo_version *pv = previous(prev, name, fv, 1);
    if (pv) take_over(prev, pv, out);
    return pv != NULL;
}

/* A load error as clients see it: what was wrong, with paths relative to the
 * repository (model/version/file), never the server's own. The error log keeps
 * the whole message. */
static char *public_message(const char *err, const char *dir)
{
    char *out = malloc(strlen(err) + 1);
    if (!out) return NULL;
    size_t n = strlen(dir), o = 0;
    for (const char *p = err; *p;) {
        if (n && strncmp(p, dir, n) == 0 && p[n] == '/') /* dir/model/version/file: model/version/file */
            p += n + 1;
        else
            out[o++] = *p++;
    }
    out[o] = 0;
    return out;
}

static void load_version(const repository_options *o, const char *name, const found_version *fv,
                         repository *prev, repo_version *out)
{
    memset(out, 0, sizeof *out);
    out->stats_slot = -1;
    if (reuse(prev, name, fv, out)) return;
    out->version = fv->version;
    out->fresh = 1;
    if (!fv->file) {
        out->error = public_message(fv->problem ? fv->problem : "no model file", o->dir);
        return;
    }
    out->path = strdup(fv->file);
    out->dev = (unsigned long long)fv->st.st_dev;
    out->ino = (unsigned long long)fv->st.st_ino;
    out->size = (unsigned long long)fv->st.st_size;
    out->mtime_ns = (unsigned long long)fv->st.st_mtim.tv_sec * 1000000000ull +
                    (unsigned long long)fv->st.st_mtim.tv_nsec;
    char err[ERR_LEN];
    repo_version *pv;
    if (!(out->m = model_open(fv->file, NULL, &o->limits, err)) && (pv = previous(prev, name, fv, 0))) {
        /* a served version's file changed and the new bytes do not load (a rewrite
         * in place, still being written, or a bad one): the loaded copy keeps
         * serving, under the new file's identity, so that this file is tried again
         * only when it changes again */
        log_msg(LOG_WARNING,
                "model %s version %ld: its file changed and the new one is refused (%s); serving "
                "the copy loaded before (%s)",
                name, fv->version, err, pv->m->hash);
        char *path = out->path;
        unsigned long long dev = out->dev, ino = out->ino, size = out->size, mtime = out->mtime_ns;
        take_over(prev, pv, out);
        free(out->path);
        out->path = path;
        out->dev = dev, out->ino = ino, out->size = size, out->mtime_ns = mtime;
    } else if (!out->m) {
        out->error = public_message(err, o->dir);
        log_msg(LOG_ERROR, "model %s version %ld refused: %s", name, fv->version, err);
    } else {
        log_msg(LOG_INFO, "model %s version %ld loaded: %s", name, fv->version, out->m->hash);
    }
}

/* <dir>/<name>/labels.json into rm: an object of labels, each a version
 * number. A file that is not that leaves no labels and says why (logged, and
 * answered to a request by label). */
static void load_labels(const char *dir, repo_model *rm)
{
    char *path, why[ERR_LEN] = "";
    if (asprintf(&path, "%s/%s/labels.json", dir, rm->name) < 0) return;
    struct stat st;
    if (stat(path, &st) != 0) {
        free(path);
        return;
    }
    json_error_t jerr;
    json_t *root = st.st_size <= 65536 ? json_load_file(path, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (st.st_size > 65536)
        snprintf(why, sizeof why, "over 64 KiB");
    else if (!root)
        snprintf(why, sizeof why, "malformed JSON at line %d: %.120s", jerr.line, jerr.text);
    else if (!json_is_object(root))
        snprintf(why, sizeof why, "expected an object {\"label\": version}");
    const char *key;
    json_t *value;
    size_t n = root && !*why ? json_object_size(root) : 0;
    if (n) {
        rm->label_names = calloc(n, sizeof *rm->label_names);
        rm->label_versions = calloc(n, sizeof *rm->label_versions);
    }
    if (root && !*why) json_object_foreach(root, key, value)
        {
            if (!is_model_name(key) || !json_is_integer(value) || json_integer_value(value) < 1) {
                snprintf(why, sizeof why,
                         "label \"%.64s\": a label is a name (letters, digits, '_', '-', '.') "
                         "and its value a version number",
                         key);
                break;
            }
            if (!rm->label_names || !rm->label_versions) break;
            rm->label_names[rm->n_labels] = strdup(key);
            rm->label_versions[rm->n_labels++] = (long)json_integer_value(value);
        }
    json_decref(root);
    if (*why) {
        for (int i = 0; i < rm->n_labels; i++) free(rm->label_names[i]);
        rm->n_labels = 0;
        rm->labels_error = strdup(why);
        log_msg(LOG_ERROR, "%s: %s: no labels for model %s", path, why, rm->name);
    }
    free(path);
}

long repo_model_label(const repo_model *rm, const char *label, size_t len)
{
    for (int i = 0; i < rm->n_labels; i++)
        if (strlen(rm->label_names[i]) == len && memcmp(rm->label_names[i], label, len) == 0)
            return rm->label_versions[i];
    return 0;
}

/* One model's versions: newest first, loading until versions_kept are
 * available; failed versions above them are kept in the list, to be reported. */
static int load_model(const repository_options *o, const found_model *fm, repository *prev, repo_model *rm)
{
    memset(rm, 0, sizeof *rm);
    rm->default_v = -1;
    if (!(rm->name = strdup(fm->name)) || !(rm->v = calloc((size_t)fm->n + 1, sizeof *rm->v))) return -1;
    rm->name_len = strlen(rm->name);
    if (fm->labels_st.st_ino) load_labels(o->dir, rm);
    for (int i = 0; i < o->n_unloaded; i++)
        if (strcmp(o->unloaded[i], rm->name) == 0) {
            rm->unloaded = 1;
            return 0;
        }
    long available = 0;
    for (int k = 0; k < fm->n && available < o->versions_kept; k++) {
        repo_version *v = &rm->v[rm->n++];
        load_version(o, fm->name, &fm->v[k], prev, v);
        if (v->m && available++ == 0) rm->default_v = rm->n - 1;
    }
    return 0;
}

static int set_default(repository *r, const repository_options *o, char *err)
{
    /* with several models and no --default-model, POST /model has no model: a
     * request meant for one must not be answered by another (the first by name) */
    r->default_model = r->n == 1 ? 0 : -1;
    if (!o->default_model) return 0;
    const repo_model *rm = repository_find(r, o->default_model, strlen(o->default_model));
    if (!rm) return err_set(err, "--default-model %s: no such model in the repository", o->default_model);
    r->default_model = (int)(rm - r->models);
    return 0;
}

static repository *load_one(const repository_options *o, char *err)
{
    repository *r = calloc(1, sizeof *r);
    if (!r || !(r->models = calloc(1, sizeof *r->models))) goto oom;
    r->forget = o->forget;
    repo_model *rm = &r->models[0];
    r->n = 1;
    if (!(rm->name = strdup(o->model_name ? o->model_name : "model")) || !(rm->v = calloc(1, sizeof *rm->v)))
        goto oom;
    rm->name_len = strlen(rm->name);
    rm->n = 1;
    rm->default_v = 0;
    rm->v[0].version = 1;
    rm->v[0].stats_slot = -1;
    rm->v[0].fresh = 1;
    /* MODEL may be a directory holding one model file (KServe's /mnt/models) */
    found_version fv = {0};
    struct stat st;
    const char *path = o->model_path;
    if (path && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        find_model_file(path, NULL, &fv); /* the operator named this directory: its links are theirs */
        if (!fv.file) {
            err_set(err, "%s", fv.problem ? fv.problem : "no model file");
            free(fv.problem);
            goto fail;
        }
        path = fv.file;
    }
    rm->v[0].m = model_open(path, o->schema_path, &o->limits, err);
    if (rm->v[0].m && path && strcmp(path, "default") != 0) rm->v[0].path = strdup(path);
    free(fv.file);
    free(fv.problem);
    if (!rm->v[0].m) goto fail;
    r->default_model = 0;
    if (o->describe && o->describe(r, err) != 0) goto fail;
    return r;
oom:
    err_set(err, "out of memory loading the model");
fail:
    repository_free(r);
    return NULL;
}

repository *repository_load(const repository_options *o, repository *prev, char *err)
{
    /* one rule for names in both modes: they go into URLs, JSON, logs and metric labels */
    if (o->model_name && !is_model_name(o->model_name))
        return err_set(
                   err,
                   "--model-name: \"%.64s\" is not a model name (letters, digits, '_', '-', '.'; up to %d)",
                   o->model_name, REPO_MAX_NAME - 1),
               NULL;
    if (!o->dir) return load_one(o, err);
    found_model *fm;
    int n = scan(o->dir, o->links_outside, &fm, err);
    if (n < 0) return NULL;
    if (o->default_model) { /* checked before loading: a refused load must leave prev whole */
        int found = 0;
        for (int i = 0; i < n; i++) found |= strcmp(fm[i].name, o->default_model) == 0;
        if (!found) {
            found_free(fm, n);
            return err_set(err, "--default-model %s: no such model in %s", o->default_model, o->dir), NULL;
        }
    }
    repository *r = calloc(1, sizeof *r);
    if (!r || !(r->models = calloc((size_t)n + 1, sizeof *r->models)) || !(r->dir = strdup(o->dir)) ||
        !(r->fingerprint = fingerprint_of(fm, n))) {
        err_set(err, "out of memory loading the repository");
        goto fail;
    }
    r->forget = o->forget;
    for (int i = 0; i < n; i++, r->n++)
        if (load_model(o, &fm[i], prev, &r->models[i]) != 0) {
            err_set(err, "out of memory loading the repository");
            goto fail;
        }
    if (n == 0) log_msg(LOG_WARNING, "--model-repository %s holds no model directory", o->dir);
    if (set_default(r, o, err) != 0 || (o->describe && o->describe(r, err) != 0)) goto fail;
    found_free(fm, n);
    return r;
fail:
    found_free(fm, n);
    repository_free(r);
    return NULL;
}

/* ---- lookups (the request path: no allocation) ---- */

const repo_model *repository_find(const repository *r, const char *name, size_t len)
{
    int lo = 0, hi = r->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const repo_model *rm = &r->models[mid];
        size_t k = rm->name_len < len ? rm->name_len : len;
        int c = memcmp(rm->name, name, k);
        if (c == 0) c = (rm->name_len > len) - (rm->name_len < len);
        if (c == 0) return rm;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

const repo_version *repo_model_version(const repo_model *rm, long version)
{
    if (version == 0) return rm->default_v >= 0 ? &rm->v[rm->default_v] : NULL;
    for (int k = 0; k < rm->n; k++)
        if (rm->v[k].version == version) return &rm->v[k];
    return NULL;
}

/* One lock for every version's first explainer: taken once per explanation,
 * uncontended but for the first (an explanation costs tens of microseconds). */
static pthread_mutex_t explainer_lock = PTHREAD_MUTEX_INITIALIZER;

const struct explainer *repository_explainer(const repo_version *v)
{
    repo_version *cache = (repo_version *)v; /* the explainer is a cache of v's model */
    pthread_mutex_lock(&explainer_lock);
    if (!cache->explainer_made && cache->m) {
        cache->explainer = explainer_create(cache->m, NULL);
        cache->explainer_made = 1;
    }
    const struct explainer *ex = cache->explainer;
    pthread_mutex_unlock(&explainer_lock);
    return ex;
}

const repo_model *repository_default(const repository *r)
{
    return r->default_model >= 0 ? &r->models[r->default_model] : NULL;
}

int repository_ready(const repository *r, const repo_model **which)
{
    for (int i = 0; i < r->n; i++)
        if (r->models[i].default_v < 0 && !r->models[i].unloaded) {
            if (which) *which = &r->models[i];
            return 0;
        }
    return 1;
}

repo_sizes repository_sizes(const repository *r, int rows)
{
    repo_sizes s = {1, 1, 1, 64, 1};
    for (int i = 0; i < r->n; i++)
        for (int k = 0; k < r->models[i].n; k++) {
            const model *m = r->models[i].v[k].m;
            if (!m) continue;
            if (m->n_features > s.n_features) s.n_features = m->n_features;
            if (m->n_outputs > s.n_outputs) s.n_outputs = m->n_outputs;
            if (m->schema.n_inputs > s.n_inputs) s.n_inputs = m->schema.n_inputs;
            size_t row = output_row_max(&m->output);
            if (row > s.row_json_max) s.row_json_max = row;
            size_t sc = model_scratch_floats(m, rows);
            if (sc > s.scratch_floats) s.scratch_floats = sc;
        }
    return s;
}
