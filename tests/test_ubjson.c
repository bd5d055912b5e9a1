/* ubjson: UBJSON documents, written here byte by byte from the draft-12
 * specification, read into the JSON they stand for; and damaged ones refused
 * with the byte offset and what was expected there. */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "base/err.h"
#include "formats/ubjson.h"

typedef struct {
    const char *name;
    const char *bytes;
    size_t len;
    const char *want; /* the compact JSON, or NULL when refused */
    const char *error;
} ubjson_case;

#define B(s) s, sizeof s - 1

static void test_ubjson_documents(void **state)
{
    (void)state;
    static const ubjson_case cases[] = {
        {"object of each scalar",
         B("{i\x01"
           "aZi\x01"
           "bTi\x01"
           "cFi\x01"
           "di\xfei\x01"
           "eU\xfei\x01"
           "fI\x01\x00i\x01"
           "gl\x00\x01\x00\x00}"),
         "{\"a\":null,\"b\":true,\"c\":false,\"d\":-2,\"e\":254,\"f\":256,\"g\":65536}", NULL},
        {"int64 and floats",
         B("[L\x00\x00\x00\x01\x00\x00\x00\x00"
           "d\x3f\xc0\x00\x00"
           "D\x40\x09\x21\xfb\x54\x44\x2d\x18]"),
         "[4294967296,1.5,3.1415926535897931]", NULL},
        {"strings, char, high precision, no-op",
         B("[Si\x03"
           "abcCxNHi\x04"
           "2.50]"),
         "[\"abc\",\"x\",2.5]", NULL},
        {"typed and counted float array (XGBoost's)", B("[$d#i\x02\x3f\x80\x00\x00\x40\x00\x00\x00"),
         "[1.0,2.0]", NULL},
        {"counted array of markers", B("[#i\x02i\x01U\x02"), "[1,2]", NULL},
        {"counted object, key with a long length", B("{#i\x01L\x00\x00\x00\x00\x00\x00\x00\x01kSi\x01v"),
         "{\"k\":\"v\"}", NULL},
        {"NaN read as null", B("[d\x7f\xc0\x00\x00]"), "[null]", NULL},
        {"truncated string",
         B("{i\x01"
           "aSi\x09"
           "abc"),
         NULL, "byte 7: the data ends inside a string"},
        {"count larger than the data", B("[$d#l\x7f\x00\x00\x00"), NULL, "a count larger than the data left"},
        {"negative length", B("{i\xff"), NULL, "byte 3: a negative length"},
        {"unknown marker", B("[X]"), NULL, "byte 1: an unknown type marker"},
        {"no end", B("[i\x01"), NULL, "the data ends inside an array"},
        {"key twice",
         B("{i\x01"
           "aZi\x01"
           "aZ}"),
         NULL, "byte 7: a key given twice"},
        {"not UTF-8", B("[Si\x01\xff]"), NULL, "a string that is not UTF-8"},
        {"trailing bytes", B("[]]"), NULL, "byte 2: more data after the document"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ubjson_case *c = &cases[i];
        char err[ERR_LEN] = "";
        guarded g = guard_copy(c->bytes, c->len); /* reads past the end are caught */
        json_t *v = ubjson_load(g.data, c->len, err);
        char *got = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
        if (c->want ? !got || strcmp(got, c->want) != 0 : v || !strstr(err, c->error))
            fail_msg("%s: got %s (%s)", c->name, got ? got : "nothing", err);
        free(got);
        json_decref(v);
        guard_free(&g);
    }
    static const char depth[] = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[";
    char err[ERR_LEN];
    assert_null(ubjson_load(depth, sizeof depth - 1, err));
    assert_non_null(strstr(err, "nested deeper than 64"));
    assert_true(ubjson_is("{L\0", 3));
    assert_false(ubjson_is("{\"learner\"", 10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_ubjson_documents)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
