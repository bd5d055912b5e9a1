/* serve_cmds — `tabserve serve` (options, then the master) and `tabserve
 * healthcheck` (which address to ask, then one GET). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "cli/cli.h"
#include "serve/config.h"
#include "serve/healthcheck.h"
#include "serve/master.h"

int cmd_serve(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            config_usage(stdout);
            return 0;
        }
    serve_config cfg;
    char err[ERR_LEN];
    if (config_parse(&cfg, argc, argv, err) != 0) {
        fprintf(stderr, "tabserve serve: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    int rc = master_run(&cfg);
    config_free(&cfg);
    return rc;
}

int cmd_healthcheck(int argc, char **argv)
{
    const char *addr = NULL, *path = "/readyz", *v = NULL;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = cli_option(argc, argv, &i, "--bind", &v)) > 0 ||
            (r == 0 && (r = cli_option(argc, argv, &i, "-b", &v)) > 0))
            addr = v;
        else if (r == 0 && (r = cli_option(argc, argv, &i, "--path", &v)) > 0)
            path = v;
        else if (r == 0 && argv[i][0] != '-' && !addr)
            addr = argv[i];
        else {
            fprintf(stderr,
                    "usage: tabserve healthcheck [ADDR] [--path /readyz]   (ADDR: as --bind; default: "
                    "the first of TABSERVE_BIND, else 127.0.0.1:$PORT, else 127.0.0.1:8000)\n");
            return 2;
        }
    }
    char fallback[64], first[256];
    if (!addr) {
        const char *env = getenv("TABSERVE_BIND"), *port = getenv("PORT");
        if (env && *env) {
            snprintf(first, sizeof first, "%.*s", (int)strcspn(env, ", "), env);
            addr = first;
        } else {
            snprintf(fallback, sizeof fallback, "127.0.0.1:%.20s", port && *port ? port : "8000");
            addr = fallback;
        }
    }
    char err[ERR_LEN];
    int status;
    if (healthcheck_get(addr, path, 3000, &status, err) != 0) {
        fprintf(stderr, "tabserve healthcheck: not ready: %s\n", err);
        return 1;
    }
    if (status == 200) {
        printf("ready: %s%s answered 200\n", addr, path);
        return 0;
    }
    fprintf(stderr, "tabserve healthcheck: not ready: %s%s answered %d\n", addr, path, status);
    return 1;
}
