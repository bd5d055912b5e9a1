/* scratch — one load's short-lived memory in one region (see scratch.h). */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE, MADV_HUGEPAGE */
#include "base/scratch.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE   ((size_t)2 << 20)
#define MIN_CLASS   5 /* 32-byte blocks: a header and 16 bytes */
#define N_CLASSES   48
#define FROM_MALLOC 0

/* Before every block: its size class (block size 1 << class), or FROM_MALLOC
 * and the link of the list scratch_destroy frees. 16 bytes keep blocks aligned. */
typedef struct header {
    uint64_t size_class;
    struct header *next;
} header;

struct scratch {
    char *map; /* what mmap gave, map_len bytes */
    size_t map_len;
    char *top, *end; /* the region not handed out yet */
    size_t used;
    header *freed[N_CLASSES]; /* freed blocks by class, linked through their headers */
    header *from_malloc;      /* blocks past the reserve */
};

scratch *scratch_create(size_t reserve)
{
    scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
#if !defined(__SANITIZE_ADDRESS__) /* under AddressSanitizer every block is malloc's, which it checks */
    if (reserve == 0 || reserve > SIZE_MAX / 4) return s;
    size_t len = (reserve + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *map =
        mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
             0);                     /* + room to start on a 2 MB boundary */
    if (map == MAP_FAILED) return s; /* no address space: every block from malloc */
    s->map = map;
    s->map_len = len + HUGE_PAGE;
    s->top = (char *)(((uintptr_t)map + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    s->end = s->top + len;
#ifdef MADV_HUGEPAGE
    madvise(s->top, len, MADV_HUGEPAGE); /* a hint: where the kernel has no such pages, 4 KB ones */
#endif
#else
    (void)reserve;
#endif
    return s;
}

void *scratch_alloc(scratch *s, size_t n)
{
    if (!s) return malloc(n ? n : 1);
    if (n > SIZE_MAX / 4) return NULL;
    unsigned c = MIN_CLASS;
    while (((size_t)1 << c) < n + sizeof(header)) c++;
    header *h = s->freed[c];
    if (h) {
        s->freed[c] = h->next;
    } else if ((size_t)(s->end - s->top) >= ((size_t)1 << c)) {
        h = (header *)s->top;
        s->top += (size_t)1 << c;
        s->used += (size_t)1 << c;
    } else {
        if (!(h = malloc(n + sizeof(header)))) return NULL;
        c = FROM_MALLOC;
        h->next = s->from_malloc;
        s->from_malloc = h;
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
    if (h->size_class == FROM_MALLOC) return; /* on the list scratch_destroy frees */
    h->next = s->freed[h->size_class];
    s->freed[h->size_class] = h;
}

void scratch_destroy(scratch *s)
{
    if (!s) return;
    for (header *h = s->from_malloc, *next; h; h = next) {
        next = h->next;
        free(h);
    }
    if (s->map) munmap(s->map, s->map_len);
    free(s);
}

size_t scratch_used(const scratch *s) { return s ? s->used : 0; }
