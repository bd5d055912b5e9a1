/* probe: the compiled form of an imported model is checked against the model
 * as written over rows made from the model itself. Two one-tree models that
 * differ only where a probe must look (exactly at a threshold, at a missing
 * value, for one category) are told apart; identical ones agree. */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "formats/probe.h"
#include "model/model.h"
#include "formats/tabserve.h"

/* x (a number) and c (a or b) -> one tree: x < THRESHOLD goes left (1), else
 * right (2); a missing x goes DEFAULT_LEFT; right of that, c splits again. */
static model *one_tree(const char *threshold, int default_left, const char *leaf_b)
{
    char text[2048], err[ERR_LEN];
    snprintf(
        text, sizeof text,
        "{\"format\": \"tabserve-model\", \"format_version\": 2, \"inputs\": ["
        "{\"name\": \"x\", \"type\": \"number\", \"missing\": \"allowed\"},"
        "{\"name\": \"c\", \"type\": \"string\", \"missing\": \"required\", \"vocabulary\": [\"a\", \"b\"]}],"
        "\"features\": [{\"input\": \"x\", \"steps\": [{\"op\": \"passthrough\"}]},"
        "{\"input\": \"c\", \"steps\": [{\"op\": \"category_index\"}]}],"
        "\"predictor\": {\"kind\": \"trees\", \"n_features\": 2, \"base_score\": [0], \"trees\": ["
        "{\"feature\": [0, -1, 1, -1, -1], \"threshold\": [%s, 0, 0.5, 0, 0], \"left\": [1, 0, 3, 0, 0],"
        " \"right\": [2, 0, 4, 0, 0], \"default_left\": [%d, 0, 0, 0, 0], \"value\": [0, 1, 0, 2, %s]}]},"
        "\"output\": {\"name\": \"predict\", \"task\": \"regression\", \"link\": \"identity\", \"label\": "
        "\"y\"}}",
        threshold, default_left, leaf_b);
    model *m = model_load_buffer(text, strlen(text), "probe.json", err);
    if (!m) fail_msg("%s", err);
    return m;
}

typedef struct {
    const char *name;
    const char *threshold;
    int default_left;
    const char *leaf_b;
    int agree;
    const char *why; /* in the message when they do not */
} probe_case;

static void test_probe_tells_models_apart_where_they_differ(void **state)
{
    (void)state;
    static const probe_case cases[] = {
        {"identical", "0.5", 1, "3", 1, ""},
        {"threshold one float above", "0.50000006", 1, "3", 0, "x=0.5"},
        {"missing goes the other way", "0.5", 0, "3", 0, "x=(missing)"},
        {"one category's leaf", "0.5", 1, "3.5", 0, "c=b"},
        {"within the tolerance", "0.5", 1, "3.0000001", 1, ""},
    };
    model *ref = one_tree("0.5", 1, "3");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const probe_case *pc = &cases[i];
        model *fast = one_tree(pc->threshold, pc->default_left, pc->leaf_b);
        char why[512] = "";
        int got = probe_agree(fast, ref, why, sizeof why);
        if (got != pc->agree || !strstr(why, pc->why))
            fail_msg("%s: probe_agree %d (want %d): %s", pc->name, got, pc->agree, why);
        model_free(fast);
    }
    model_free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_tells_models_apart_where_they_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
