/* guard — test inputs placed flush against a PROT_NONE page, so that a parser
 * reading one byte past the end of its input crashes the test instead of
 * passing by luck (picohttpparser's trick). Also shared test helpers. */
#ifndef TABSERVE_TEST_GUARD_H
#define TABSERVE_TEST_GUARD_H

#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct {
    void *region;
    size_t region_len;
    char *data; /* len bytes, the last one just before the guard page */
} guarded;

static inline guarded guard_copy(const void *src, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = (len + page - 1) / page * page;
    if (body == 0) body = page;
    guarded g;
    g.region_len = body + page;
    g.region = mmap(NULL, g.region_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g.region == MAP_FAILED) abort();
    mprotect((char *)g.region + body, page, PROT_NONE);
    g.data = (char *)g.region + body - len;
    memcpy(g.data, src, len);
    return g;
}

static inline void guard_free(guarded *g) { munmap(g->region, g->region_len); }

/* The Titanic data, or NULL (with a clear message) when ../shared is absent. */
static inline const char *titanic_path(void)
{
    const char *p = getenv("TABSERVE_DATA");
    if (!p) p = "../shared/data/titanic.csv";
    return access(p, R_OK) == 0 ? p : NULL;
}

#endif
