/* config — one table describes every serve option: flag, environment name,
 * type, bounds and where it goes, so flags and variables cannot drift apart. */
#define _POSIX_C_SOURCE 200809L
#include "serve/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"

typedef enum {
    OPT_INT,
    OPT_LONG,
    OPT_SECONDS,
    OPT_STRING,
    OPT_BIND,
    OPT_LEVEL,
    OPT_SWITCH,
    OPT_CONTROL
} opt_type;

typedef struct {
    const char *flag, *short_flag, *env;
    opt_type type;
    size_t offset;
    double lo, hi;
    const char *help;
} option;

#define F(field) offsetof(serve_config, field)
static const option options[] = {
    {"--model-repository", NULL, "TABSERVE_MODEL_REPOSITORY", OPT_STRING, F(model_repository), 0, 0,
     "serve DIR/<name>/<version>/<model file> (instead of MODEL), watching for new versions"},
    {"--model-name", NULL, "TABSERVE_MODEL_NAME", OPT_STRING, F(model_name), 0, 0,
     "the name MODEL is served as in /v2/models/{name} and /v1/models/{name} (default model)"},
    {"--default-model", NULL, "TABSERVE_DEFAULT_MODEL", OPT_STRING, F(default_model), 0, 0,
     "the repository model POST /model and GET /model serve (default: the only one, else the first by name)"},
    {"--allow-links-outside-repository", NULL, "TABSERVE_ALLOW_LINKS_OUTSIDE_REPOSITORY", OPT_SWITCH,
     F(links_outside_repository), 0, 0,
     "read model files that are links out of --model-repository (default: refused, so that no file of the "
     "server's reaches a client)"},
    {"--repository-poll", NULL, "TABSERVE_REPOSITORY_POLL", OPT_SECONDS, F(repository_poll), 0, 86400,
     "seconds between scans of the repository for new, changed and removed versions; 0 = on SIGHUP only "
     "(default 2)"},
    {"--model-control-mode", NULL, "TABSERVE_MODEL_CONTROL_MODE", OPT_CONTROL, F(model_control_explicit), 0,
     0,
     "poll: follow the repository directory (default); explicit: as poll, and models are also loaded and "
     "unloaded through POST /v2/repository/models/NAME/load|unload (off otherwise: 403)"},
    {"--versions-kept", NULL, "TABSERVE_VERSIONS_KEPT", OPT_LONG, F(versions_kept), 1, 1000,
     "versions of each model served, newest loadable first (default 1)"},
    {"--workers", "-w", "TABSERVE_WORKERS", OPT_INT, F(workers), 1, 64, "worker processes (default 1)"},
    {"--bind", "-b", "TABSERVE_BIND", OPT_BIND, 0, 0, 0,
     "HOST:PORT, :PORT, [IPv6]:PORT or unix:PATH; repeatable (default 127.0.0.1:8000)"},
    {"--grpc-bind", NULL, "TABSERVE_GRPC_BIND", OPT_STRING, F(grpc_bind), 0, 0,
     "HOST:PORT, :PORT, [IPv6]:PORT or unix:PATH for gRPC (KServe V2's inference service and gRPC health "
     "checking, cleartext HTTP/2; Triton's convention is :8001) (default: no gRPC)"},
    {"--grpc-max-message-bytes", NULL, "TABSERVE_GRPC_MAX_MESSAGE_BYTES", OPT_LONG, F(grpc_max_message), 1024,
     1 << 30, "largest gRPC request message in bytes; RESOURCE_EXHAUSTED above (default 4194304)"},
    {"--grpc-max-streams", NULL, "TABSERVE_GRPC_MAX_STREAMS", OPT_LONG, F(grpc_max_streams), 1, 10000,
     "gRPC calls open at once on one connection (default 100)"},
    {"--grpc-idle-timeout", NULL, "TABSERVE_GRPC_IDLE_TIMEOUT", OPT_SECONDS, F(grpc_idle_timeout), 0, 86400,
     "seconds a gRPC connection without calls is kept before GOAWAY; 0 = always (default 300)"},
    {"--timeout", "-t", "TABSERVE_TIMEOUT", OPT_SECONDS, F(timeout), 0, 86400,
     "kill a worker silent or stuck in a request this long; 0 = never (default 30)"},
    {"--graceful-timeout", NULL, "TABSERVE_GRACEFUL_TIMEOUT", OPT_SECONDS, F(graceful_timeout), 0, 86400,
     "seconds to finish in-flight requests on TERM/HUP/recycle (default 30)"},
    {"--keep-alive", NULL, "TABSERVE_KEEP_ALIVE", OPT_SECONDS, F(keep_alive), 1, 86400,
     "seconds an idle keep-alive connection is kept (default 2)"},
    {"--header-timeout", NULL, "TABSERVE_HEADER_TIMEOUT", OPT_SECONDS, F(header_timeout), 0, 86400,
     "seconds to receive a request's line and headers; 0 = no limit (default 10)"},
    {"--body-timeout", NULL, "TABSERVE_BODY_TIMEOUT", OPT_SECONDS, F(body_timeout), 0, 86400,
     "seconds to receive a request's body; 0 = no limit (default 30)"},
    {"--max-requests", NULL, "TABSERVE_MAX_REQUESTS", OPT_LONG, F(max_requests), 0, 1e15,
     "recycle a worker after this many requests; 0 = never (default 0)"},
    {"--max-requests-jitter", NULL, "TABSERVE_MAX_REQUESTS_JITTER", OPT_LONG, F(max_requests_jitter), 0, 1e15,
     "add 0..N to --max-requests per worker (default 0)"},
    {"--access-logfile", NULL, "TABSERVE_ACCESS_LOGFILE", OPT_STRING, F(access_logfile), 0, 0,
     "access log file, '-' = stdout (default: none)"},
    {"--error-logfile", NULL, "TABSERVE_ERROR_LOGFILE", OPT_STRING, F(error_logfile), 0, 0,
     "error log file, '-' = stderr (default '-')"},
    {"--log-level", NULL, "TABSERVE_LOG_LEVEL", OPT_LEVEL, F(log_level), 0, 0,
     "debug, info, warning, error or critical (default info)"},
    {"--limit-request-body", NULL, "TABSERVE_LIMIT_REQUEST_BODY", OPT_LONG, F(limit_request_body), 0, 1 << 30,
     "largest request body in bytes; 413 above (default 1048576)"},
    {"--limit-request-line", NULL, "TABSERVE_LIMIT_REQUEST_LINE", OPT_LONG, F(limit_request_line), 16, 65536,
     "longest request target in bytes; 414 above (default 4094)"},
    {"--limit-request-fields", NULL, "TABSERVE_LIMIT_REQUEST_FIELDS", OPT_LONG, F(limit_request_fields), 1,
     32768, "most header fields; 431 above (default 100)"},
    {"--limit-request-field_size", NULL, "TABSERVE_LIMIT_REQUEST_FIELD_SIZE", OPT_LONG,
     F(limit_request_field_size), 16, 65536, "longest header field in bytes; 431 above (default 8190)"},
    {"--limit-request-headers", NULL, "TABSERVE_LIMIT_REQUEST_HEADERS", OPT_LONG, F(limit_request_headers),
     1024, 1 << 20, "request line + all headers, in bytes; 431 above (default 8192)"},
    {"--worker-connections", NULL, "TABSERVE_WORKER_CONNECTIONS", OPT_LONG, F(worker_connections), 1, 1000000,
     "open connections per worker (default 1000)"},
    {"--max-batch", NULL, "TABSERVE_MAX_BATCH", OPT_LONG, F(max_batch), 1, 100000,
     "rows in one POST /model array; 413 above (default 1024)"},
    {"--explain-budget", NULL, "TABSERVE_EXPLAIN_BUDGET", OPT_SECONDS, F(explain_budget), 0, 86400,
     "seconds of explaining one request may take, from the model's measured cost a row; more rows get 413 "
     "saying how many fit (default: a third of --timeout, 10 s without one)"},
    {"--ignore-unknown-fields", NULL, "TABSERVE_IGNORE_UNKNOWN_FIELDS", OPT_SWITCH, F(ignore_unknown_fields),
     0, 0,
     "skip request members that are no input of the model (default: a 400 naming the member and the closest "
     "input)"},
    {"--schema", NULL, "TABSERVE_SCHEMA", OPT_STRING, F(schema_path), 0, 0,
     "schema file for an XGBoost or ONNX model (default: MODEL's name with .schema.json, if present)"},
    {"--max-model-bytes", NULL, "TABSERVE_MAX_MODEL_BYTES", OPT_LONG, F(limits.max_file_bytes), 1, 1e12,
     "largest model file accepted (default 1 GiB)"},
    {"--max-trees", NULL, "TABSERVE_MAX_TREES", OPT_LONG, F(limits.max_trees), 1, 100000,
     "most trees in an imported ensemble (default 100000)"},
    {"--max-nodes", NULL, "TABSERVE_MAX_NODES", OPT_LONG, F(limits.max_nodes), 1, 1 << 22,
     "most nodes in one imported tree (default 4194304)"},
    {"--max-tensor", NULL, "TABSERVE_MAX_TENSOR", OPT_LONG, F(limits.max_tensor), 1, 1e10,
     "most elements in one ONNX tensor or attribute (default 67108864)"},
};
#undef F

void config_usage(FILE *fp)
{
    fprintf(fp, "usage: tabserve serve [MODEL | --model-repository DIR] [options]\n"
                "       (MODEL or TABSERVE_MODEL; default: built-in)\n");
    for (size_t i = 0; i < sizeof options / sizeof *options; i++)
        fprintf(fp, "  %s%s%-26s %s\n     env %s\n", options[i].short_flag ? options[i].short_flag : "  ",
                options[i].short_flag ? ", " : "  ", options[i].flag, options[i].help, options[i].env);
}

static int add_bind(serve_config *c, const char *b, char *err)
{
    if (c->n_binds == CONFIG_MAX_BINDS) return err_set(err, "at most %d --bind addresses", CONFIG_MAX_BINDS);
    c->binds[c->n_binds++] = b;
    return 0;
}

static int set_option(serve_config *c, const option *o, const char *v, const char *from, int from_env,
                      char *err)
{
    void *field = (char *)c + o->offset;
    char *end;
    errno = 0;
    switch (o->type) {
    case OPT_STRING: *(const char **)field = v; return 0;
    case OPT_SWITCH: /* a flag takes no value; its variable 1/true/yes or 0/false/no */
        if (!from_env || !strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"))
            *(int *)field = 1;
        else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no"))
            *(int *)field = 0;
        else
            return err_set(err, "%s: \"%s\" must be 1, true, yes, 0, false or no", from, v);
        return 0;
    case OPT_BIND:
        if (!from_env) return add_bind(c, v, err);
        for (const char *s = v; *s;) { /* the variable may hold several, comma or space separated */
            size_t n = strcspn(s, ", ");
            if (n) {
                int k = c->n_binds;
                if (k == CONFIG_MAX_BINDS || !(c->owned[k] = strndup(s, n)))
                    return err_set(err, "%s: too many addresses", from);
                if (add_bind(c, c->owned[k], err) != 0) return -1;
            }
            s += n + (s[n] != 0);
        }
        return 0;
    case OPT_LEVEL: {
        static const char *const levels[] = {"debug", "info", "warning", "error", "critical"};
        for (int i = 0; i < 5; i++)
            if (strcasecmp(v, levels[i]) == 0) {
                *(int *)field = i;
                return 0;
            }
        return err_set(err, "%s: \"%s\" is not one of debug, info, warning, error, critical", from, v);
    }
    case OPT_CONTROL:
        if (strcmp(v, "poll") != 0 && strcmp(v, "explicit") != 0)
            return err_set(err, "%s: \"%s\" is not one of poll, explicit", from, v);
        *(int *)field = strcmp(v, "explicit") == 0;
        return 0;
    default: {
        double d = strtod(v, &end);
        if (!*v || *end || errno || d < o->lo || d > o->hi || (o->type != OPT_SECONDS && d != (long)d))
            return err_set(err, "%s: \"%s\" must be %s from %g to %g", from, v,
                           o->type == OPT_SECONDS ? "a number of seconds" : "an integer", o->lo, o->hi);
        if (o->type == OPT_INT)
            *(int *)field = (int)d;
        else if (o->type == OPT_LONG)
            *(long *)field = (long)d;
        else
            *(double *)field = d;
        return 0;
    }
    }
}

int config_parse(serve_config *c, int argc, char **argv, char *err)
{
    memset(c, 0, sizeof *c);
    c->workers = 1;
    c->timeout = 30;
    c->graceful_timeout = 30;
    c->keep_alive = 2;
    c->header_timeout = 10;
    c->body_timeout = 30;
    c->error_logfile = "-";
    c->log_level = LOG_INFO;
    c->limit_request_body = 1 << 20;
    c->limit_request_line = 4094;
    c->limit_request_fields = 100;
    c->limit_request_field_size = 8190;
    c->limit_request_headers = 8192;
    c->worker_connections = 1000;
    c->max_batch = 1024;
    c->grpc_max_message = 4 << 20;
    c->grpc_max_streams = 100;
    c->grpc_idle_timeout = 300;
    c->model_path = getenv("TABSERVE_MODEL");
    /* the tests' hook (a request that stalls on purpose), never in a served configuration's flags */
    c->test_hooks = getenv("TABSERVE_TEST_HOOKS") && strcmp(getenv("TABSERVE_TEST_HOOKS"), "1") == 0;
    c->repository_poll = 2;
    c->explain_budget = -1; /* derived below */
    c->versions_kept = 1;
    c->limits = (import_limits)IMPORT_LIMITS_DEFAULT;

    for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
        const char *v = getenv(options[i].env);
        if (v && *v && set_option(c, &options[i], v, options[i].env, 1, err) != 0) return -1;
    }
    int flag_binds = 0, model_arg = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        const option *o = NULL;
        for (size_t k = 0; k < sizeof options / sizeof *options && !o; k++) {
            size_t n = strlen(options[k].flag);
            if (strncmp(a, options[k].flag, n) == 0 && (a[n] == '=' || a[n] == 0)) {
                o = &options[k];
                v = a[n] == '=' ? a + n + 1 : NULL;
            } else if (options[k].short_flag && strncmp(a, options[k].short_flag, 2) == 0) {
                o = &options[k];
                v = a[2] ? a + 2 : NULL; /* -w4 as well as -w 4 */
            }
        }
        if (!o) {
            if (a[0] == '-') return err_set(err, "unknown option %s (see tabserve serve --help)", a);
            if (model_arg++) return err_set(err, "unexpected argument %s: only one MODEL", a);
            c->model_path = a;
            continue;
        }
        if (o->type == OPT_SWITCH && v) return err_set(err, "option %s takes no value", o->flag);
        if (!v && o->type != OPT_SWITCH) {
            if (i + 1 >= argc) return err_set(err, "option %s needs a value", a);
            v = argv[++i];
        }
        if (o->type == OPT_BIND && !flag_binds++) c->n_binds = 0; /* flags replace TABSERVE_BIND */
        if (set_option(c, o, v, o->flag, 0, err) != 0) return -1;
    }
    if (c->n_binds == 0) {
        /* gunicorn: 127.0.0.1:8000, or 0.0.0.0:$PORT when PORT is set */
        static char port_bind[64];
        const char *port = getenv("PORT");
        if (port && *port) {
            snprintf(port_bind, sizeof port_bind, "0.0.0.0:%.20s", port);
            c->binds[c->n_binds++] = port_bind;
        } else {
            c->binds[c->n_binds++] = "127.0.0.1:8000";
        }
    }
    if (c->explain_budget < 0) c->explain_budget = c->timeout > 0 ? c->timeout / 3 : 10;
    if (c->timeout > 0 && c->explain_budget > c->timeout * 0.8) c->explain_budget = c->timeout * 0.8;
    if (c->access_logfile && !*c->access_logfile) c->access_logfile = NULL;
    if (c->model_repository && !*c->model_repository) c->model_repository = NULL;
    if (c->model_repository) {
        if (model_arg) return err_set(err, "give MODEL or --model-repository, not both");
        if (c->schema_path)
            return err_set(
                err,
                "--schema is for one MODEL; in a repository, put MODEL.schema.json beside the model file");
        c->model_path = NULL; /* TABSERVE_MODEL (an image's default) gives way to the repository */
    }
    return 0;
}

void config_free(serve_config *c)
{
    for (int i = 0; i < CONFIG_MAX_BINDS; i++) free(c->owned[i]);
}
