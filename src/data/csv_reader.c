/* csv_reader — a pull-free adapter from libcsv's push callbacks to whole rows. */
#include "data/csv_reader.h"

#include <csv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

typedef struct {
    const char *name;
    csv_row_fn fn;
    void *ctx;
    char *err;
    /* the row being assembled: field bytes back to back, each NUL-terminated */
    char *bytes;
    size_t bytes_used, bytes_cap;
    size_t *offsets, *lens;
    const char **fields;
    size_t nfields, fields_cap;
    size_t header_fields;
    size_t row; /* number of the row being assembled */
    int failed; /* set once; later callbacks are ignored */
} reader_state;

static void on_field(void *data, size_t len, void *st_)
{
    reader_state *st = st_;
    if (st->failed) return;
    if (st->bytes_used + len + 1 > CSV_MAX_ROW_BYTES) {
        st->failed = err_set(st->err, "%s: row %zu: record longer than %u bytes", st->name, st->row,
                             CSV_MAX_ROW_BYTES);
        return;
    }
    if (st->bytes_used + len + 1 > st->bytes_cap) {
        size_t ncap = st->bytes_cap ? st->bytes_cap : 4096;
        while (ncap < st->bytes_used + len + 1) ncap *= 2;
        char *nb = realloc(st->bytes, ncap);
        if (!nb) goto oom;
        st->bytes = nb;
        st->bytes_cap = ncap;
    }
    if (st->nfields == st->fields_cap) {
        size_t ncap = st->fields_cap ? st->fields_cap * 2 : 32;
        size_t *no = realloc(st->offsets, ncap * sizeof *no);
        if (!no) goto oom;
        st->offsets = no;
        size_t *nl = realloc(st->lens, ncap * sizeof *nl);
        if (!nl) goto oom;
        st->lens = nl;
        const char **nf = realloc(st->fields, ncap * sizeof *nf);
        if (!nf) goto oom;
        st->fields = nf;
        st->fields_cap = ncap;
    }
    if (len) memcpy(st->bytes + st->bytes_used, data, len);
    st->bytes[st->bytes_used + len] = '\0';
    st->offsets[st->nfields] = st->bytes_used;
    st->lens[st->nfields] = len;
    st->nfields++;
    st->bytes_used += len + 1;
    return;
oom:
    st->failed = err_set(st->err, "%s: row %zu: out of memory", st->name, st->row);
}

static void on_row_end(int terminator, void *st_)
{
    (void)terminator;
    reader_state *st = st_;
    if (st->failed) return;
    if (st->row == 0) {
        st->header_fields = st->nfields;
    } else if (st->nfields != st->header_fields) {
        st->failed = err_set(st->err, "%s: row %zu: %zu fields, but the header has %zu", st->name, st->row,
                             st->nfields, st->header_fields);
        return;
    }
    for (size_t i = 0; i < st->nfields; i++) st->fields[i] = st->bytes + st->offsets[i];
    if (st->fn(st->ctx, st->row, st->fields, st->lens, st->nfields, st->err) != 0) {
        st->failed = 1;
        return;
    }
    st->row++;
    st->nfields = 0;
    st->bytes_used = 0;
}

static void state_free(reader_state *st)
{
    free(st->bytes);
    free(st->offsets);
    free(st->lens);
    free(st->fields);
}

/* Feeds one chunk; `consumed` is the stream offset of chunk[0], for messages. */
static int feed(struct csv_parser *p, reader_state *st, const char *chunk, size_t len, size_t consumed)
{
    size_t done = csv_parse(p, chunk, len, on_field, on_row_end, st);
    if (st->failed) return -1;
    if (done != len)
        return err_set(st->err, "%s: row %zu: malformed CSV near byte %zu: %s", st->name, st->row,
                       consumed + done, csv_strerror(csv_error(p)));
    return 0;
}

static int finish(struct csv_parser *p, reader_state *st, size_t consumed)
{
    if (csv_fini(p, on_field, on_row_end, st) != 0 && !st->failed)
        return err_set(st->err, "%s: row %zu: unterminated quoted field at end of input (byte %zu)", st->name,
                       st->row, consumed);
    if (st->failed) return -1;
    if (st->row == 0) return err_set(st->err, "%s: empty input, expected a header row", st->name);
    return 0;
}

static int start(struct csv_parser *p, reader_state *st, const char *name, csv_row_fn fn, void *ctx,
                 char *err)
{
    memset(st, 0, sizeof *st);
    st->name = name;
    st->fn = fn;
    st->ctx = ctx;
    st->err = err;
    if (csv_init(p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return err_set(err, "%s: cannot initialise the CSV parser", name);
    return 0;
}

/* Feeds the parser fp's bytes up to offset `to` (SIZE_MAX: to its end), from
 * where fp stands, at stream offset *consumed. Returns 0 or -1 with err set. */
static int feed_file(struct csv_parser *p, reader_state *st, FILE *fp, size_t to, size_t *consumed)
{
    char chunk[1 << 16];
    size_t got;
    while (*consumed < to &&
           (got = fread(chunk, 1, to - *consumed < sizeof chunk ? to - *consumed : sizeof chunk, fp)) > 0) {
        if (feed(p, st, chunk, got, *consumed) != 0) return -1;
        *consumed += got;
    }
    return ferror(fp) ? err_set(st->err, "%s: read error", st->name) : 0;
}

int csv_read_stream(FILE *fp, const char *name, csv_row_fn fn, void *ctx, char *err)
{
    struct csv_parser p;
    reader_state st;
    if (start(&p, &st, name, fn, ctx, err) != 0) return -1;
    size_t consumed = 0;
    int rc = feed_file(&p, &st, fp, SIZE_MAX, &consumed);
    if (rc == 0) rc = finish(&p, &st, consumed);
    csv_free(&p);
    state_free(&st);
    return rc;
}

int csv_read_range(FILE *fp, const char *name, size_t begin, size_t end, size_t header_fields, csv_row_fn fn,
                   void *ctx, char *err)
{
    struct csv_parser p;
    reader_state st;
    if (start(&p, &st, name, fn, ctx, err) != 0) return -1;
    st.header_fields = header_fields;
    st.row = 1; /* no header here: every record is a data row */
    size_t consumed = begin;
    int rc = fseek(fp, (long)begin, SEEK_SET) == 0 ? 0 : err_set(err, "%s: cannot seek", name);
    if (rc == 0) rc = feed_file(&p, &st, fp, end, &consumed);
    if (rc == 0 && csv_fini(&p, on_field, on_row_end, &st) != 0 && !st.failed)
        rc = err_set(err, "%s: unterminated quoted field at byte %zu", name, consumed);
    if (rc == 0 && st.failed) rc = -1;
    csv_free(&p);
    state_free(&st);
    return rc;
}

long csv_record_after(FILE *fp, size_t at, size_t size)
{
    /* quotes from the start say whether `at` is inside a quoted field: in a
     * strict CSV a quote only opens or closes one ("" inside toggles twice) */
    char chunk[1 << 16];
    int quoted = 0;
    size_t pos = 0, got;
    if (fseek(fp, 0, SEEK_SET) != 0) return -1;
    while (pos < size && (got = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        size_t i = 0;
        while (i < got) {
            if (pos + i < at) { /* before `at` only the quotes count */
                size_t stop = at - pos < got ? at - pos : got;
                const char *q = memchr(chunk + i, '"', stop - i);
                if (!q) {
                    i = stop;
                    continue;
                }
                quoted = !quoted;
                i = (size_t)(q - chunk) + 1;
                continue;
            }
            if (chunk[i] == '"')
                quoted = !quoted;
            else if (chunk[i] == '\n' && !quoted)
                return pos + i + 1 < size ? (long)(pos + i + 1) : -1;
            i++;
        }
        pos += got;
    }
    return -1;
}

int csv_read_buffer(const char *buf, size_t len, const char *name, csv_row_fn fn, void *ctx, char *err)
{
    struct csv_parser p;
    reader_state st;
    if (start(&p, &st, name, fn, ctx, err) != 0) return -1;
    int rc = feed(&p, &st, buf, len, 0);
    if (rc == 0) rc = finish(&p, &st, len);
    csv_free(&p);
    state_free(&st);
    return rc;
}

size_t csv_format_field(char *dst, const char *s, size_t len)
{
    int needs_quotes = 0;
    for (size_t i = 0; i < len && !needs_quotes; i++)
        needs_quotes = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!needs_quotes) {
        memcpy(dst, s, len);
        return len;
    }
    size_t k = 0;
    dst[k++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"') dst[k++] = '"';
        dst[k++] = s[i];
    }
    dst[k++] = '"';
    return k;
}

long csv_find_column(const char *const *fields, size_t n, const char *name)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(fields[k], name) == 0) return (long)k;
    return -1;
}
