/* clock — the monotonic clock, in the three resolutions tabserve uses. */
#ifndef TABSERVE_CLOCK_H
#define TABSERVE_CLOCK_H

#include <stdint.h>

/* Seconds, for measuring durations (training, benchmarks). */
double clock_seconds(void);
/* Nanoseconds, for request latencies. */
uint64_t clock_ns(void);
/* Milliseconds on the coarse clock (one tick, a few ms): plenty for timeouts
 * counted in seconds, and a fraction of the fine clock's cost per call. */
int64_t clock_coarse_ms(void);

#endif
