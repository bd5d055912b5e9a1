/* libFuzzer, differential: the request fast path (encode_json_fast) against the
 * path of record (jansson + encode_json). Whatever the fast path takes, jansson
 * must take too and encode to the same bits; anything else is a finding. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/default_model.h"
#include "model/encode.h"
#include "base/err.h"
#include "base/files.h"
#include "base/numtext.h"

static model *m;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!m) {
        char err[ERR_LEN];
        if (!(m = model_load_default(err))) abort(); /* lives for the whole run */
    }
    char *text = malloc(size ? size : 1); /* exact size, so over-reads are caught */
    memcpy(text, data, size);
    float fast[64], slow[64];
    if (m->n_features <= 64 && encode_json_fast(m, text, size, fast) == 0) {
        json_error_t jerr;
        json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
        char err[ERR_LEN];
        int bad;
        if (!root || encode_json(m, root, "$", ENCODE_STRICT, slow, &bad, err) != 0) abort();
        if (memcmp(fast, slow, m->n_features * sizeof(float)) != 0) abort();
        json_decref(root);
    }
    free(text);
    return 0;
}
