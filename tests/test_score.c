/* score: CSV and JSON-lines round trips, pass-through columns, bad rows. */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "formats/default_model.h"
#include "data/score.h"
#include "model/encode.h"
#include "base/err.h"
#include "base/files.h"
#include "base/numtext.h"

static model *m;
static int setup(void **state)
{
    (void)state;
    char err[ERR_LEN];
    return (m = model_load_default(err)) ? 0 : -1;
}
static int teardown(void **state)
{
    (void)state;
    model_free(m);
    return 0;
}

/* Runs score_stream over text; returns rc, output in *out (caller frees). */
static int run(const char *text, score_format fmt, int skip_bad, char **out, char **log, score_result *res,
               char *err)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    size_t olen, llen;
    FILE *o = open_memstream(out, &olen), *l = open_memstream(log, &llen);
    score_options opt = {fmt, skip_bad, ENCODE_IGNORE_UNKNOWN}; /* as predict runs it: ids pass through */
    int rc = score_stream(m, in, "in.csv", o, &opt, l, res, err);
    fclose(in);
    fclose(o);
    fclose(l);
    return rc;
}

static double predict_of(const char *line)
{
    const char *comma = strrchr(line, ',');
    return strtod(comma + 1, NULL);
}

static void test_csv_round_trip(void **state)
{
    (void)state;
    char *out, *log, err[ERR_LEN];
    score_result res;
    const char *in = "Name,Sex,Pclass,Fare,Age,Embarked\n"
                     "\"Braund, Mr. Owen Harris\",male,3,7.25,22,S\n"
                     "\"Cumings, Mrs. \"\"Flo\"\"\",female,1,71.2833,38,C\r\n"
                     "Nobody,female,1,71.2833,,\n";
    assert_int_equal(run(in, SCORE_CSV, 0, &out, &log, &res, err), 0);
    assert_int_equal(res.rows_written, 3);
    char *line2 = strchr(out, '\n') + 1, *line3 = strchr(line2, '\n') + 1;
#define STARTS_WITH(s, prefix) assert_int_equal(strncmp(s, prefix, strlen(prefix)), 0)
    STARTS_WITH(out, "Name,Sex,Pclass,Fare,Age,Embarked,predict\n");
    STARTS_WITH(line2, "\"Braund, Mr. Owen Harris\",male,3,7.25,22,S,0.");
    STARTS_WITH(line3, "\"Cumings, Mrs. \"\"Flo\"\"\",female,1,71.2833,38,C,0.");
    *strchr(line2, '\n') = 0;
    *strchr(line3, '\n') = 0;
    double p_male3 = predict_of(line2), p_female1 = predict_of(line3);
    assert_true(p_male3 > 0 && p_male3 < 0.3);
    assert_true(p_female1 > 0.8 && p_female1 < 1);
    free(out);
    free(log);
}

static void test_same_numbers_as_jsonl(void **state)
{
    (void)state;
    char *out1, *out2, *log, err[ERR_LEN];
    score_result res;
    assert_int_equal(
        run("Age,Fare,Embarked,Sex,Pclass\n22,7.25,S,male,3\n", SCORE_CSV, 0, &out1, &log, &res, err), 0);
    free(log);
    assert_int_equal(run("{\"Age\": 22, \"Fare\": 7.25, \"Embarked\": \"S\", \"Sex\": \"male\", \"Pclass\": "
                         "3, \"id\": \"x\"}\n\n",
                         SCORE_JSONL, 0, &out2, &log, &res, err),
                     0);
    assert_int_equal(res.rows_written, 1);
    const char *p = strstr(out2, "\"predict\":");
    assert_non_null(p);
    assert_non_null(strstr(out2, "\"id\":\"x\""));
    *strchr(strchr(out1, '\n') + 1, '\n') = 0;
    assert_float_equal(strtod(p + 10, NULL), predict_of(strchr(out1, '\n') + 1), 1e-9);
    free(out1);
    free(out2);
    free(log);
}

static void test_bad_rows(void **state)
{
    (void)state;
    char *out, *log, err[ERR_LEN];
    score_result res;
    const char *in = "Age,Fare,Embarked,Sex,Pclass\n22,7.25,S,male,3\n22,7.25,S,robot,3\n1,2,S,female,1\n";
    assert_int_equal(run(in, SCORE_CSV, 0, &out, &log, &res, err), -1);
    assert_non_null(strstr(err, "in.csv: row 2: column Sex: unknown category \"robot\""));
    free(out);
    free(log);
    assert_int_equal(run(in, SCORE_CSV, 1, &out, &log, &res, err), 0);
    assert_int_equal(res.rows_written, 2);
    assert_int_equal(res.rows_skipped, 1);
    assert_non_null(strstr(log, "row 2: column Sex"));
    assert_null(strstr(out, "robot"));
    free(out);
    free(log);
    assert_int_equal(run("Age,Fare,Sex\n1,2,male\n", SCORE_CSV, 0, &out, &log, &res, err), -1);
    assert_non_null(strstr(err, "no column named \"Embarked\""));
    free(out);
    free(log);
    assert_int_equal(run("{\"Age\": 1}\n{oops\n", SCORE_JSONL, 0, &out, &log, &res, err), -1);
    assert_non_null(strstr(err, "line 1: $.Fare: missing required field"));
    free(out);
    free(log);
    assert_int_equal(run("{\"Age\": 1, \"Fare\": 30, \"Sex\": \"male\", \"Pclass\": 1}\n{oops\n", SCORE_JSONL,
                         0, &out, &log, &res, err),
                     -1);
    assert_non_null(strstr(err, "line 2: invalid JSON at byte"));
    free(out);
    free(log);
}

static void test_many_rows_cross_batches(void **state)
{
    (void)state;
    size_t n = 2500;
    char *in = malloc(64 * n), *out, *log, err[ERR_LEN];
    size_t used = (size_t)sprintf(in, "Age,Fare,Embarked,Sex,Pclass\n");
    for (size_t i = 0; i < n; i++)
        used += (size_t)sprintf(in + used, "%zu,%zu,S,%s,%zu\n", i % 80, i % 100, i % 2 ? "male" : "female",
                                1 + i % 3);
    score_result res;
    assert_int_equal(run(in, SCORE_CSV, 0, &out, &log, &res, err), 0);
    assert_int_equal(res.rows_written, (long)n);
    size_t lines = 0;
    for (char *c = out; *c; c++) lines += *c == '\n';
    assert_int_equal(lines, n + 1);
    /* the rows around each batch boundary (1024 rows) keep their own answers:
     * each is the same passenger scored alone, to the last bit (a row alone and
     * a row in a batch sum in one order) */
    const size_t around[] = {0, 1022, 1023, 1024, 1025, 2047, 2048, 2049, 2499};
    char *line = out;
    double got[2500];
    for (size_t r = 0; r <= n; r++) {
        char *end = strchr(line, '\n');
        *end = 0;
        if (r) got[r - 1] = predict_of(line);
        line = end + 1;
    }
    for (size_t k = 0; k < sizeof around / sizeof *around; k++) {
        size_t i = around[k];
        char one[128], *o1, *l1;
        snprintf(one, sizeof one, "Age,Fare,Embarked,Sex,Pclass\n%zu,%zu,S,%s,%zu\n", i % 80, i % 100,
                 i % 2 ? "male" : "female", 1 + i % 3);
        score_result r1;
        assert_int_equal(run(one, SCORE_CSV, 0, &o1, &l1, &r1, err), 0);
        *strrchr(o1, '\n') = 0;
        assert_float_equal(got[i], predict_of(o1), 0);
        if (i > 0) assert_true(fabs(got[i] - got[i - 1]) > 1e-3); /* neighbours differ: a shift would show */
        free(o1);
        free(l1);
    }
    free(in);
    free(out);
    free(log);
}

/* format_float must print what printf("%.9g") prints, for every float */
static void check_format(float p)
{
    char mine[32], want[32];
    int n = format_float(mine, p);
    snprintf(want, sizeof want, "%.9g", p);
    if (strcmp(mine, want) != 0) fprintf(stderr, "%a: \"%s\", printf \"%s\"\n", p, mine, want);
    assert_string_equal(mine, want);
    assert_int_equal(n, (int)strlen(want));
}

static float step_float(float p, int32_t ulps)
{
    int32_t bits;
    memcpy(&bits, &p, sizeof bits);
    bits += ulps;
    memcpy(&p, &bits, sizeof p);
    return p;
}

static void test_format_float_is_printf(void **state)
{
    (void)state;
    /* around each decade boundary, 0, 1 and outside the fast range */
    const float edges[] = {1e-5f, 1e-4f, 1e-3f, 1e-2f, 1e-1f, 1.0f, 0.0f, 0.5f, 0.0999999940f, 0.999999940f};
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++)
        for (int32_t u = -2000; u <= 2000; u++)
            if (edges[i] != 0.0f || u >= 0) check_format(step_float(edges[i], u));
    /* every exact tie at the tenth digit: p = c / 2^(s+1), c odd, s = 8 - floor(log10 p) */
    for (int s = 9; s <= 12; s++)
        for (uint32_t c = 1; c < (1u << (s + 1)); c += 2) check_format((float)c / (float)(1u << (s + 1)));
    /* and a spread over the whole range */
    uint32_t r = 12345;
    for (int i = 0; i < 200000; i++) {
        r = r * 1664525u + 1013904223u;
        uint32_t bits = 0x38d1b717u + r % (0x3f800000u - 0x38d1b717u); /* 1e-4f .. 1.0f */
        float p;
        memcpy(&p, &bits, sizeof p);
        check_format(p);
    }
    check_format(-0.0f);
    check_format(2.5f);
    check_format(0.0f / 0.0f);
}

/* format_unsigned must print what printf("%llu") prints */
static void test_format_unsigned_is_printf(void **state)
{
    (void)state;
    const unsigned long long edges[] = {
        0, 1, 9, 10, 99, 100, 200, 404, 65535, 4294967295ull, 4294967296ull, 18446744073709551615ull};
    char mine[24], theirs[24];
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        size_t n = format_unsigned(mine, edges[i]);
        mine[n] = 0;
        snprintf(theirs, sizeof theirs, "%llu", edges[i]);
        assert_string_equal(mine, theirs);
    }
    unsigned long long v = 1;
    for (int i = 0; i < 100000; i++, v = v * 6364136223846793005ull + 1442695040888963407ull) {
        unsigned long long x = v >> (i % 64);
        size_t n = format_unsigned(mine, x);
        mine[n] = 0;
        snprintf(theirs, sizeof theirs, "%llu", x);
        assert_string_equal(mine, theirs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_unsigned_is_printf), cmocka_unit_test(test_csv_round_trip),
        cmocka_unit_test(test_same_numbers_as_jsonl),     cmocka_unit_test(test_bad_rows),
        cmocka_unit_test(test_many_rows_cross_batches),   cmocka_unit_test(test_format_float_is_printf),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
