/* scratch — one load's short-lived memory in one region (see scratch.h). */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE, MADV_HUGEPAGE */
#include "base/scratch.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE   ((size_t)2 << 20)
#define FROM_MALLOC 0
#define N_CLASSES   (4 * 64) /* class_of of anything below 2^62 */

/* Under AddressSanitizer every block is malloc's, so that it checks them. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

/* Block sizes: 32, 64 bytes, then four a doubling from 128 (2^k, 1.25, 1.5 and
 * 1.75 x 2^k): a block is at most a quarter larger than asked, where powers of
 * two alone would nearly double protobuf-c's scanning slabs (a power of two
 * each, plus the header). Class 4k + q is (4 + q) << (k - 2) bytes, a multiple
 * of 16. */
static unsigned class_of(size_t m)
{
    unsigned k = 5;
    while (((size_t)1 << (k + 1)) <= m) k++; /* 2^k <= m < 2^(k+1), or m < 32 */
    if (m <= ((size_t)1 << k)) return 4 * k;
    if (k < 7) return 4 * (k + 1);
    size_t step = (size_t)1 << (k - 2), q = (m - ((size_t)1 << k) + step - 1) / step;
    return q == 4 ? 4 * (k + 1) : 4 * k + (unsigned)q;
}

static size_t class_size(unsigned c) { return (size_t)(4 + c % 4) << (c / 4 - 2); }

/* Before every block: its size class (class_size bytes with this header), or
 * FROM_MALLOC; a freed block of the region is linked through it. 16 bytes keep
 * blocks aligned. */
typedef struct header {
    uint64_t size_class;
    struct header *next;
} header;

/* A block of malloc's: on a list, so that scratch_free can free it at once and
 * scratch_destroy whatever is left. */
typedef struct malloc_block {
    struct malloc_block *prev, *next;
    header h;
} malloc_block;

struct scratch {
    char *map; /* what mmap gave, map_len bytes */
    size_t map_len;
    char *top, *end; /* the region not handed out yet */
    size_t used;
    header *freed[N_CLASSES];  /* freed blocks by class, linked through their headers */
    malloc_block *from_malloc; /* blocks past the reserve */
};

/* Whether the kernel gives 2 MB pages to a region that asks (transparent huge
 * pages "always" or "madvise"). Where it never does, a reserve would only cost:
 * 4 KB pages faulted as malloc's are, without the reuse malloc makes of what
 * the load frees (the 500-tree ONNX load took 7% longer so). */
static int offered = 1; /* not told: ask anyway, it is a hint */
static pthread_once_t offered_once = PTHREAD_ONCE_INIT;

static void read_offered(void) /* once a process: a load need not read the setting again */
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) return;
    char line[128] = "";
    offered = !(fgets(line, sizeof line, f) && strstr(line, "[never]"));
    fclose(f);
}

static int huge_pages_offered(void)
{
    pthread_once(&offered_once, read_offered);
    return offered;
}

scratch *scratch_create(size_t reserve)
{
    scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (UNDER_ASAN || reserve == 0 || reserve > SIZE_MAX / 4 || !huge_pages_offered()) return s;
    size_t len = (reserve + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    /* one page more, to start on a 2 MB boundary; without address space, every block from malloc */
    void *map = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) return s;
    s->map = map;
    s->map_len = len + HUGE_PAGE;
    s->top = (char *)(((uintptr_t)map + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    s->end = s->top + len;
#ifdef MADV_HUGEPAGE
    madvise(s->top, len, MADV_HUGEPAGE); /* a hint: where the kernel has no such pages, 4 KB ones */
#endif
    return s;
}

void *scratch_alloc(scratch *s, size_t n)
{
    if (!s) return malloc(n ? n : 1);
    if (n > SIZE_MAX / 4) return NULL;
    unsigned c = class_of(n + sizeof(header));
    header *h = s->freed[c];
    if (h) {
        s->freed[c] = h->next;
    } else if ((size_t)(s->end - s->top) >= class_size(c)) {
        h = (header *)s->top;
        s->top += class_size(c);
        s->used += class_size(c);
    } else {
        malloc_block *m = malloc(sizeof *m + n);
        if (!m) return NULL;
        m->prev = NULL;
        m->next = s->from_malloc;
        if (m->next) m->next->prev = m;
        s->from_malloc = m;
        h = &m->h;
        c = FROM_MALLOC;
    }
    h->size_class = c;
    return h + 1;
}

void scratch_free(scratch *s, void *p)
{
    if (!s) {
        free(p);
        return;
    }
    if (!p) return;
    header *h = (header *)p - 1;
    if (h->size_class == FROM_MALLOC) {
        malloc_block *m = (malloc_block *)((char *)h - offsetof(malloc_block, h));
        if (m->prev)
            m->prev->next = m->next;
        else
            s->from_malloc = m->next;
        if (m->next) m->next->prev = m->prev;
        free(m);
        return;
    }
    h->next = s->freed[h->size_class];
    s->freed[h->size_class] = h;
}

void scratch_destroy(scratch *s)
{
    if (!s) return;
    for (malloc_block *m = s->from_malloc, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    if (s->map) munmap(s->map, s->map_len);
    free(s);
}

int scratch_reserved(const scratch *s) { return s && s->map; }

size_t scratch_used(const scratch *s) { return s ? s->used : 0; }
