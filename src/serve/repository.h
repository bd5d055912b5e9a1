/* repository — the models one server serves, by name and version:
 *
 *   serve MODEL                  one model, named --model-name (default "model"), version 1
 *                                (MODEL a file, or a directory holding one: KServe's /mnt/models)
 *   serve --model-repository DIR DIR/<name>/<version>/<one model file of any format>
 *                                (and, for a foreign model, its .schema.json beside it);
 *                                DIR/<name>/labels.json: version labels, {"stable": 1}
 *
 * laid out as Triton and TF Serving lay theirs out: versions are positive
 * integers, the highest available one is the default. Of each model the
 * newest `versions_kept` loadable versions are served; a newer version that
 * fails to load is listed with the loader's message and does not displace the
 * ones below it. Built and validated in the master before any fork; workers
 * only read it, so every model's memory is shared copy-on-write.
 *
 * A rescan (repository_load with the previous repository) reuses every
 * version whose file is unchanged (same inode, size and mtime), so a poll that
 * finds one new version loads one file. */
#ifndef TABSERVE_REPOSITORY_H
#define TABSERVE_REPOSITORY_H

#include <stddef.h>

#include "formats/open.h"
#include "model/model.h"

#define REPO_MAX_MODELS 1024
#define REPO_MAX_NAME   128

typedef struct {
    long version;
    model *m;    /* NULL: failed to load */
    char *error; /* the loader's message when m is NULL */
    char *path;  /* the model file, or NULL for the built-in model */
    unsigned long long dev, ino, size, mtime_ns;
    /* made on the first explanation asked of this version (repository_explainer):
     * a worker that only predicts never holds its tables */
    struct explainer *explainer;
    int explainer_made;
    int stats_slot; /* model-labelled metrics, -1: none (serve/stats.h) */
    int fresh;      /* loaded (or refused) by this repository_load, not taken over */
    /* what the server keeps beside this version (serve/docs.c: the documents that
     * describe it, rendered once in the master so workers share them): made by
     * repository_options.describe after every load, freed by .forget */
    void *attached;
} repo_version;

typedef struct {
    char *name;
    size_t name_len;
    repo_version *v; /* newest first */
    int n;
    int default_v; /* index in v of the newest available version, -1: none */
    int unloaded;  /* taken out by explicit model control: listed, no versions */
    /* version labels (TF Serving's /labels/{label}), from <name>/labels.json:
     * {"stable": 1, "canary": 2}; labels_error: the file is there but wrong */
    char **label_names;
    long *label_versions;
    int n_labels;
    char *labels_error;
} repo_model;

typedef struct {
    repo_model *models; /* sorted by name */
    int n;
    int default_model;              /* index in models of the model POST /model serves, -1: none */
    char *dir;                      /* NULL: a single model */
    char *fingerprint;              /* what the last scan saw: a poll compares it to say "changed" */
    void (*forget)(void *attached); /* the options' */
} repository;

typedef struct {
    const char *dir;           /* --model-repository; NULL: one model */
    const char *model_path;    /* serve MODEL (NULL: built-in) */
    const char *schema_path;   /* --schema, for that one model */
    const char *model_name;    /* --model-name */
    const char *default_model; /* --default-model; NULL: the only model, and none when there are several */
    long versions_kept;
    import_limits limits;
    int links_outside; /* --allow-links-outside-repository: model files may be links out of dir */
    /* explicit model control: models of the directory not to load (n_unloaded names) */
    char **unloaded;
    int n_unloaded;
    /* the layer above's part (serve/docs.h: docs_render, docs_forget): after every
     * load, describe attaches what it keeps of each available version (a version's
     * attached is NULL until then; -1 with err fails the load); forget frees one.
     * NULL: nothing attached. */
    int (*describe)(repository *r, char *err);
    void (*forget)(void *attached);
} repository_options;

/* Builds the repository. prev (may be NULL) lends its unchanged versions, which
 * it then no longer owns. Individual versions may fail (listed with their
 * error); the call itself fails (NULL with err) only when nothing can be
 * served: the directory is unreadable, the one model does not load, or
 * --default-model names no model. */
repository *repository_load(const repository_options *o, repository *prev, char *err);
void repository_free(repository *r);

/* What a scan of the directory finds now, as text: compare it with
 * r->fingerprint to learn whether anything changed, without loading. */
char *repository_scan_fingerprint(const repository_options *o);

const repo_model *repository_find(const repository *r, const char *name, size_t len);
/* The version a label names: > 0, or 0 when rm has no such label. */
long repo_model_label(const repo_model *rm, const char *label, size_t len);
/* Version `version` of rm (0: the default), or NULL when rm has no such version. */
const repo_version *repo_model_version(const repo_model *rm, long version);
const repo_model *repository_default(const repository *r);
/* v's explainer (explain/explain.h), made on first use by any thread of this
 * process; NULL: the model cannot be explained. */
const struct explainer *repository_explainer(const repo_version *v);

/* Every model not unloaded has an available version: what /readyz and /v2/health/ready report.
 * Returns 1, or 0 with the first model that has none in *which. */
int repository_ready(const repository *r, const repo_model **which);

/* Largest sizes over the available versions, for buffers shared by all models. */
typedef struct {
    int n_features, n_outputs;
    size_t n_inputs, row_json_max, scratch_floats; /* scratch: model_scratch_floats(m, rows) */
} repo_sizes;
repo_sizes repository_sizes(const repository *r, int rows);

#endif
