/* progress — a line on stderr while something long runs (trees grown, epochs,
 * folds), at most once a second, with the rate and the time so far: a live
 * line rewritten in place on a terminal, plain lines otherwise; nothing at all
 * for a NULL or silent progress (--quiet). State passed in, one per run. */
#ifndef TABSERVE_PROGRESS_H
#define TABSERVE_PROGRESS_H

#include <stdio.h>

typedef struct progress_s {
    FILE *out; /* NULL: silent */
    int tty;
    double start, last;
    int shown; /* a live line is on the terminal */
} progress;

void progress_init(progress *p, FILE *out);
/* what (a plural noun: "trees"), done of total (0: unknown); p may be NULL. */
void progress_step(progress *p, const char *what, long done, long total);
/* Ends a live line (a newline after it). */
void progress_end(progress *p);

#endif
