/* ONNX's own backend node tests (../shared/conformance/onnx-node: one model and
 * its inputs and outputs a case, from github.com/onnx/onnx) run on tabserve's
 * graph interpreter (formats/onnx_graph.h: onnx_graph_node_test). Prints a line
 * per case (pass, differs, refused: and why) and the count by operator; then
 * checks that every case named in the expectation file (one name a line, the
 * cases that pass today) still passes, and exits 1 if one does not.
 *
 * usage: onnx_node_tests CORPUS-DIR EXPECTED-FILE [--write-expected] */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/files.h"
#include "formats/onnx_graph.h"

static Onnx__TensorProto *read_tensor(const char *path)
{
    char *buf, err[ERR_LEN];
    size_t len;
    if (file_read_all(path, &buf, &len, err) != 0) return NULL;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, (const uint8_t *)buf);
    free(buf);
    return t;
}

/* The case's tensors named prefix_0.pb, prefix_1.pb, ... in its first data set. */
static size_t read_tensors(const char *dir, const char *prefix, Onnx__TensorProto **out, size_t cap)
{
    size_t n = 0;
    for (; n < cap; n++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/test_data_set_0/%s_%zu.pb", dir, prefix, n);
        if (!(out[n] = read_tensor(path))) break;
    }
    return n;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: onnx_node_tests CORPUS-DIR EXPECTED-FILE [--write-expected]\n");
        return 2;
    }
    const char *root = argv[1], *expected = argv[2];
    int write = argc > 3 && strcmp(argv[3], "--write-expected") == 0;
    DIR *d = opendir(root);
    if (!d) {
        printf("SKIPPED: ONNX node tests: %s is not there\n", root);
        return 0;
    }
    char **names = NULL;
    size_t n_names = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, "test_", 5) != 0) continue;
        if (n_names == cap && !(names = realloc(names, (cap = cap ? 2 * cap : 1024) * sizeof *names)))
            return 1;
        names[n_names++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n_names, sizeof *names, cmp_names);
    int *passed = calloc(n_names ? n_names : 1, sizeof *passed);
    size_t n_pass = 0, n_differ = 0, n_refused = 0;
    for (size_t k = 0; k < n_names; k++) {
        char dir[4096], path[4200], err[ERR_LEN], *buf;
        size_t len;
        snprintf(dir, sizeof dir, "%s/%s", root, names[k]);
        snprintf(path, sizeof path, "%s/model.onnx", dir);
        Onnx__TensorProto *in[64], *want[64];
        size_t n_in = read_tensors(dir, "input", in, 64), n_want = read_tensors(dir, "output", want, 64);
        int rc = -1;
        if (file_read_all(path, &buf, &len, err) == 0) {
            Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, (const uint8_t *)buf);
            free(buf);
            if (mp) {
                rc = onnx_graph_node_test(mp, (const Onnx__TensorProto *const *)in, n_in,
                                          (const Onnx__TensorProto *const *)want, n_want, err, sizeof err);
                onnx__model_proto__free_unpacked(mp, NULL);
            } else
                snprintf(err, sizeof err, "model.onnx does not parse");
        }
        for (size_t i = 0; i < n_in; i++) onnx__tensor_proto__free_unpacked(in[i], NULL);
        for (size_t i = 0; i < n_want; i++) onnx__tensor_proto__free_unpacked(want[i], NULL);
        passed[k] = rc == 1;
        n_pass += rc == 1;
        n_differ += rc == 0;
        n_refused += rc < 0;
        printf("%-8s %s%s%s\n",
               rc == 1   ? "pass"
               : rc == 0 ? "differs"
                         : "refused",
               names[k], rc == 1 ? "" : ": ", rc == 1 ? "" : err);
    }
    printf("onnx node tests: %zu cases: %zu pass, %zu differ, %zu refused\n", n_names, n_pass, n_differ,
           n_refused);
    int failed = 0;
    if (write) {
        FILE *f = fopen(expected, "w");
        if (!f) return 1;
        fprintf(f, "# the ONNX node test cases tabserve's interpreter passes (tests/onnx_node_tests.c "
                   "--write-expected)\n");
        for (size_t k = 0; k < n_names; k++)
            if (passed[k]) fprintf(f, "%s\n", names[k]);
        fclose(f);
    } else {
        FILE *f = fopen(expected, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n")] = 0;
            if (!*line || *line == '#') continue;
            char *key = line;
            char **hit = bsearch(&key, names, n_names, sizeof *names, cmp_names);
            if (!hit || !passed[hit - names]) {
                printf("FAIL %s passed before and does not now\n", line);
                failed = 1;
            }
        }
        if (f) fclose(f);
    }
    for (size_t k = 0; k < n_names; k++) free(names[k]);
    free(names);
    free(passed);
    return failed;
}
