/* progress — the line for long runs (progress.h). */
#define _POSIX_C_SOURCE 200809L
#include "base/progress.h"

#include <unistd.h>

#include "base/clock.h"

void progress_init(progress *p, FILE *out)
{
    p->out = out;
    p->tty = out && isatty(fileno(out));
    p->start = p->last = clock_seconds();
    p->shown = 0;
}

void progress_step(progress *p, const char *what, long done, long total)
{
    if (!p || !p->out) return;
    double now = clock_seconds();
    if (now - p->last < 1.0 && !(p->shown && total && done == total)) return; /* once a second */
    p->last = now;
    double elapsed = now - p->start;
    if (total)
        fprintf(p->out, "%s%s %ld of %ld, %.1f s, %.1f a second%s", p->tty ? "\r" : "", what, done, total,
                elapsed, elapsed > 0 ? done / elapsed : 0.0, p->tty ? "   " : "\n");
    else
        fprintf(p->out, "%s%s %ld, %.1f s%s", p->tty ? "\r" : "", what, done, elapsed, p->tty ? "   " : "\n");
    fflush(p->out);
    p->shown = p->tty;
}

void progress_end(progress *p)
{
    if (p && p->out && p->shown) fputc('\n', p->out);
    if (p) p->shown = 0;
}
