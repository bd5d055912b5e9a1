/* cli — the subcommands. Each takes main's argc/argv after the subcommand name
 * and returns the process exit code (0 ok, 1 failure, 2 usage).
 * offline.c: train, eval, predict, inspect, explain; serve_cmds.c: serve, healthcheck. */
#ifndef TABSERVE_CLI_H
#define TABSERVE_CLI_H

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

#endif
