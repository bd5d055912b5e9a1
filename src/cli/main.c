/* tabserve — a trained tabular model as a web API, in one small program.
 * main only dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "model/model.h"

static const char usage[] =
    "tabserve " TABSERVE_VERSION " — train, evaluate and serve tabular models\n"
    "\n"
    "usage: tabserve COMMAND [ARGS]\n"
    "  train DATA.csv --label COL -o MODEL.json [--model mlp|linear|gbt|blend|auto] [--cv K]\n"
    "                                                       (tabserve train --help)\n"
    "  eval [MODEL] DATA.csv --label COL\n"
    "  predict [MODEL] [--input F] [--output F] [--format csv|jsonl] [--skip-bad]\n"
    "  inspect [MODEL] [--json]\n"
    "  explain [MODEL] --input F.csv|F.jsonl [--output F]   (why: a contribution per input)\n"
    "  serve [MODEL] [-w N] [-b ADDR]... [--timeout S] ...   (tabserve serve --help)\n"
    "  healthcheck [ADDR] [--path /readyz]\n"
    "\n"
    "MODEL defaults to the built-in Titanic model (models/titanic.json).\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "train") == 0) return cmd_train(argc - 2, argv + 2);
    if (strcmp(cmd, "eval") == 0) return cmd_eval(argc - 2, argv + 2);
    if (strcmp(cmd, "predict") == 0) return cmd_predict(argc - 2, argv + 2);
    if (strcmp(cmd, "inspect") == 0) return cmd_inspect(argc - 2, argv + 2);
    if (strcmp(cmd, "explain") == 0) return cmd_explain(argc - 2, argv + 2);
    if (strcmp(cmd, "serve") == 0) return cmd_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "healthcheck") == 0) return cmd_healthcheck(argc - 2, argv + 2);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        puts("tabserve " TABSERVE_VERSION);
        return 0;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    fprintf(stderr, "tabserve: unknown command \"%s\"\n\n%s", cmd, usage);
    return 2;
}
