/* triton — the extensions Triton adds to the Open Inference Protocol, which
 * its clients (tritonclient.http) call:
 *
 *   GET  /v2/models/{m}[/versions/{v}]/config   model configuration, in the
 *        JSON form of Triton's ModelConfig (inputs, output, max_batch_size)
 *   GET  /v2/models[/{m}[/versions/{v}]]/stats  inference statistics, as
 *        Triton's ModelStatistics: counts and nanoseconds of inference requests
 *        that succeeded and failed, summed over all workers
 *   POST /v2/repository/index                   every model and version with
 *        its state (READY, UNAVAILABLE with the loader's reason, UNLOADED)
 *   POST /v2/repository/models/{m}/load|unload  explicit model control, when
 *        the operator turned it on (--model-control explicit); else 403
 *
 * The load and unload requests are carried out by whoever owns the repository
 * (the master, see worker.c): the api only hands them over. */
#ifndef TABSERVE_TRITON_H
#define TABSERVE_TRITON_H

#include "serve/exchange.h"
#include "serve/repository.h"
#include "serve/stats.h"

void triton_config(exchange *x, const repo_model *rm, const repo_version *v);

/* rm NULL: every model; v NULL: every version of rm */
void triton_stats(exchange *x, const repository *r, const stats_shared *s, const repo_model *rm,
                  const repo_version *v);

void triton_index(exchange *x, const repository *r);

/* Does the load or unload: returns 0, or an HTTP status with err. */
typedef int (*model_control_fn)(void *ctx, const char *name, int load, char *err);

void triton_control(exchange *x, const char *name, size_t name_len, int load, model_control_fn fn, void *ctx);

#endif
