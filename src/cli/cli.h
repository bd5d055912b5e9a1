/* cli — the subcommands. Each takes main's argc/argv after the subcommand name
 * and returns the process exit code (0 ok, 1 failure, 2 usage).
 * One file a subcommand (train_cmd.c, eval_cmd.c, predict_cmd.c, explain_cmd.c,
 * inspect_cmd.c; serve_cmds.c: serve, healthcheck); options.c what they parse alike. */
#ifndef TABSERVE_CLI_H
#define TABSERVE_CLI_H

#include "formats/open.h"
#include "model/encode.h"

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_healthcheck(int argc, char **argv);

/* Matches argv[*i] against "--name VALUE" or "--name=VALUE"; on a match sets
 * *value, advances *i past what it used and returns 1. Returns -1 when the
 * value is missing, 0 when the argument is another one. */
int cli_option(int argc, char **argv, int *i, const char *name, const char **value);

/* s as an integer (a real) from lo to hi into *out: 0, or -1 after saying on
 * stderr what was expected of `what`. */
int cli_long(const char *s, long lo, long hi, const char *what, long *out);
int cli_real(const char *s, double lo, double hi, const char *what, double *out);

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
int cli_load_option(int argc, char **argv, int *i, load_options *o);

/* The load options with their defaults, for --help; and whether argv asks for help (-h, --help). */
extern const char cli_load_help[];
int cli_wants_help(int argc, char **argv);

/* --input F and --output F of the commands that read rows and write answers
 * (predict, explain), as cli_option returns. */
int cli_io_option(int argc, char **argv, int *i, const char **input, const char **output);
/* Whether a file's name says JSON lines (.jsonl or .json); else it is CSV. */
int cli_names_jsonl(const char *path);

#endif
