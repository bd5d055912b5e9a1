/* infer — a CSV file's inputs typed by their content, for `tabserve train
 * DATA.csv --label COL` with no column lists: every column but the label and
 * the dropped ones is an input; a column whose every value is a finite number
 * is numeric, any other categorical; a column whose values are all different
 * (an id: names, ticket numbers, row numbers) is left out and said so. The
 * first INFER_MAX_ROWS rows decide. */
#ifndef TABSERVE_INFER_H
#define TABSERVE_INFER_H

#include <stdio.h>

#define INFER_MAX_ROWS 200000

/* Comma-separated lists (malloc'd, "" when empty) of the numeric and the
 * categorical inputs, and what was left out and why (for the user); drop is a
 * comma-separated list of columns to leave out (may be NULL). Returns 0, or -1
 * with err (the label missing from the header, no input left, a column name
 * with a comma, which the lists cannot hold). */
int infer_inputs(const char *path, const char *label, const char *drop, char **numeric, char **categorical,
                 char **left_out, char *err);

#endif
