/* csv_reader: RFC 4180 edge cases, ragged rows, errors, guard pages. */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "data/csv_reader.h"
#include "base/err.h"
#include "base/files.h"
#include "base/numtext.h"

typedef struct {
    size_t rows;
    char cells[16][8][64];
    size_t lens[16][8];
    size_t nfields[16];
} table;

static int collect(void *ctx, size_t row, const char *const *fields, const size_t *lens, size_t n, char *err)
{
    (void)err;
    table *t = ctx;
    assert_true(row == t->rows);
    t->nfields[row] = n;
    for (size_t i = 0; i < n && i < 8; i++) {
        memcpy(t->cells[row][i], fields[i], lens[i] + 1);
        t->lens[row][i] = lens[i];
    }
    t->rows++;
    return 0;
}

static int read_guarded(const char *text, table *t, char *err)
{
    memset(t, 0, sizeof *t);
    guarded g = guard_copy(text, strlen(text));
    int rc = csv_read_buffer(g.data, strlen(text), "t.csv", collect, t, err);
    guard_free(&g);
    return rc;
}

static void test_quotes_commas_newlines(void **state)
{
    (void)state;
    table t;
    char err[ERR_LEN];
    const char *text = "Name,Age\n\"Braund, Mr. Owen \"\"Harris\"\"\",22\n\"two\nlines\",3\n";
    assert_int_equal(read_guarded(text, &t, err), 0);
    assert_int_equal(t.rows, 3);
    assert_string_equal(t.cells[1][0], "Braund, Mr. Owen \"Harris\"");
    assert_string_equal(t.cells[1][1], "22");
    assert_string_equal(t.cells[2][0], "two\nlines");
}

static void test_crlf_and_no_final_newline(void **state)
{
    (void)state;
    table t;
    char err[ERR_LEN];
    assert_int_equal(read_guarded("a,b\r\n1,2\r\n3,4", &t, err), 0);
    assert_int_equal(t.rows, 3);
    assert_string_equal(t.cells[2][1], "4");
    assert_int_equal(t.lens[1][1], 1);
}

static void test_empty_fields(void **state)
{
    (void)state;
    table t;
    char err[ERR_LEN];
    assert_int_equal(read_guarded("a,b,c\n,,\n\"\",x,\n", &t, err), 0);
    assert_int_equal(t.rows, 3);
    assert_int_equal(t.nfields[1], 3);
    assert_int_equal(t.lens[1][0], 0);
    assert_int_equal(t.lens[2][0], 0);
    assert_string_equal(t.cells[2][1], "x");
    assert_int_equal(t.lens[2][2], 0);
}

static void test_ragged_row_names_row(void **state)
{
    (void)state;
    table t;
    char err[ERR_LEN];
    assert_int_equal(read_guarded("a,b,c\n1,2,3\n4,5\n", &t, err), -1);
    assert_non_null(strstr(err, "t.csv: row 2: 2 fields, but the header has 3"));
}

static void test_unterminated_quote(void **state)
{
    (void)state;
    table t;
    char err[ERR_LEN];
    assert_int_equal(read_guarded("a,b\n1,\"open\n", &t, err), -1);
    assert_non_null(strstr(err, "row 1"));
    assert_non_null(strstr(err, "unterminated"));
}

static void test_stray_quote_gives_byte_offset(void **state)
{
    (void)state;
    table t;
    char err[ERR_LEN];
    assert_int_equal(read_guarded("a,b\n\"x\"y,2\n", &t, err), -1);
    assert_non_null(strstr(err, "malformed CSV near byte"));
}

static void test_empty_input(void **state)
{
    (void)state;
    table t;
    char err[ERR_LEN];
    assert_int_equal(read_guarded("", &t, err), -1);
    assert_non_null(strstr(err, "empty input"));
}

static void test_write_field_quotes_only_when_needed(void **state)
{
    (void)state;
    char buf[64];
    size_t n = csv_format_field(buf, "plain", 5);
    buf[n++] = '|';
    n += csv_format_field(buf + n, "a,\"b\"", 5);
    buf[n++] = '|';
    n += csv_format_field(buf + n, "x\ny", 3);
    buf[n] = 0;
    assert_string_equal(buf, "plain|\"a,\"\"b\"\"\"|\"x\ny\"");
    const char *header[] = {"a", "Age", "b"};
    assert_int_equal(csv_find_column(header, 3, "Age"), 1);
    assert_int_equal(csv_find_column(header, 3, "age"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quotes_commas_newlines),
        cmocka_unit_test(test_crlf_and_no_final_newline),
        cmocka_unit_test(test_empty_fields),
        cmocka_unit_test(test_ragged_row_names_row),
        cmocka_unit_test(test_unterminated_quote),
        cmocka_unit_test(test_stray_quote_gives_byte_offset),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_write_field_quotes_only_when_needed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
