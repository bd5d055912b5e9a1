/* csv_reader — RFC 4180 records through libcsv, delivered one row at a time.
 * Quoted fields may hold commas, doubled quotes and newlines; CR, LF and CRLF all
 * end a record; every record must have as many fields as the header. Not a writer:
 * csv_format_field() is the one quoting rule tabserve's outputs need. */
#ifndef TABSERVE_CSV_READER_H
#define TABSERVE_CSV_READER_H

#include <stddef.h>
#include <stdio.h>

#define CSV_MAX_ROW_BYTES (1u << 20) /* a record longer than this is an error */

/* Called once per record: row 0 is the header, data rows count from 1.
 * fields[i] (lens[i] bytes, NUL-terminated) are valid only during the call.
 * Return 0 to go on, -1 to stop the read with err filled. */
typedef int (*csv_row_fn)(void *ctx, size_t row, const char *const *fields, const size_t *lens,
                          size_t nfields, char *err);

/* Reads fp to its end. name is used in messages ("data.csv: row 7: ..."). Returns
 * 0, or -1 with err naming the row or byte offset of a malformed record, a ragged
 * row, or the callback's own message. */
int csv_read_stream(FILE *fp, const char *name, csv_row_fn fn, void *ctx, char *err);
int csv_read_buffer(const char *buf, size_t len, const char *name, csv_row_fn fn, void *ctx, char *err);

/* Reads the records in bytes [begin, end) of fp, a range holding whole
 * records and no header: each must have header_fields fields; rows count
 * from 1 within the range. For reading one file on several threads. */
int csv_read_range(FILE *fp, const char *name, size_t begin, size_t end, size_t header_fields, csv_row_fn fn,
                   void *ctx, char *err);

/* The offset just after the first record end (an LF outside quotes) at or
 * after byte `at` of the size-byte file fp, or -1 when there is none before
 * its last byte. */
long csv_record_after(FILE *fp, size_t at, size_t size);

/* Formats one field into dst (room for 2 * len + 2 bytes), quoted only when it
 * holds a comma, quote, CR or LF. Returns the bytes written (no NUL). */
size_t csv_format_field(char *dst, const char *s, size_t len);

/* The index of the header field equal to name, or -1. */
long csv_find_column(const char *const *fields, size_t n, const char *name);

#endif
