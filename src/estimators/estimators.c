/* estimators — from $.predictor.kind to the estimator's reader (estimators.h). */
#include "estimators/estimators.h"

#include <jansson.h>

static const struct {
    const char *kind;
    predictor *(*read)(reader *r, json_t *obj, const char *path);
} kinds[] = {{"mlp", mlp_read},
             {"linear", linear_read},
             {"trees", trees_read},
             {"blend", blend_read},
             {"normalize", normalize_read}};

predictor *estimators_read(reader *r, json_t *obj, const char *path)
{
    static const char *const names[] = {"mlp", "linear", "trees", "blend", "normalize"};
    int k = read_enum(r, obj, path, "kind", names, (int)(sizeof names / sizeof *names), NULL);
    return k < 0 ? NULL : kinds[k].read(r, obj, path);
}
