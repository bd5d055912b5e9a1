/* options — what the subcommands parse alike: "--name VALUE", numbers in a range, how a model is opened
 * (cli.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "formats/open.h"
#include "model/encode.h"

int cli_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "tabserve: option %s needs a value\n", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

/* 1: argv[*i] was one of the load options (and its value); 0: not one; -1: bad value. */
int cli_load_option(int argc, char **argv, int *i, load_options *o)
{
    static const struct {
        const char *flag;
        long hi;
        size_t at;
    } limits[] = {{"--max-model-bytes", (long)1e12, offsetof(import_limits, max_file_bytes)},
                  {"--max-trees", 100000, offsetof(import_limits, max_trees)},
                  {"--max-nodes", 1 << 22, offsetof(import_limits, max_nodes)},
                  {"--max-tensor", (long)1e10, offsetof(import_limits, max_tensor)}};
    const char *v;
    if (strcmp(argv[*i], "--onnx-graph") ==
        0) { /* the graph interpreter, to compare with the compiled form */
        o->limits.onnx_graph = 1;
        return 1;
    }
    if (strcmp(argv[*i], "--ignore-unknown-fields") == 0) {
        o->encode_rules |= ENCODE_IGNORE_UNKNOWN;
        return 1;
    }
    int r = cli_option(argc, argv, i, "--schema", &v);
    if (r > 0) o->schema_path = v;
    for (size_t k = 0; r == 0 && k < sizeof limits / sizeof *limits; k++)
        if ((r = cli_option(argc, argv, i, limits[k].flag, &v)) > 0 &&
            cli_long(v, 1, limits[k].hi, limits[k].flag, (long *)((char *)&o->limits + limits[k].at)) != 0)
            r = -1;
    return r;
}

int cli_long(const char *s, long lo, long hi, const char *what, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "tabserve: %s must be an integer from %ld to %ld, got \"%s\"\n", what, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_real(const char *s, double lo, double hi, const char *what, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "tabserve: %s must be a number from %g to %g, got \"%s\"\n", what, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_io_option(int argc, char **argv, int *i, const char **input, const char **output)
{
    int r = cli_option(argc, argv, i, "--input", input);
    return r != 0 ? r : cli_option(argc, argv, i, "--output", output);
}

int cli_names_jsonl(const char *path)
{
    size_t n = strlen(path);
    return (n > 6 && strcmp(path + n - 6, ".jsonl") == 0) || (n > 5 && strcmp(path + n - 5, ".json") == 0);
}

const char cli_load_help[] =
    "loading the model (every command that reads one):\n"
    "  --schema FILE            what a foreign file lacks: names, vocabularies, classes [MODEL's name with\n"
    "                           .schema.json for its extension, when it is there]\n"
    "  --onnx-graph             run an ONNX model on the graph interpreter [compiled where it can be]\n"
    "  --ignore-unknown-fields  skip request members that are no input [refused, naming the closest]\n"
    "  --max-model-bytes N [1073741824]  --max-trees N [100000]  --max-nodes N [4194304]\n"
    "  --max-tensor N [67108864] (elements of one ONNX tensor or attribute)\n";

int cli_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}
