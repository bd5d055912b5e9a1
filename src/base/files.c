/* files — atomic output files, whole-file reads. */
#define _GNU_SOURCE /* madvise's MADV_POPULATE_WRITE and MADV_HUGEPAGE */
#include "base/files.h"

#include "base/err.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int atomic_open(atomic_file *af, const char *path, char *err)
{
    memset(af, 0, sizeof *af);
    if (strcmp(path, "-") == 0) {
        af->fp = stdout;
        return 0;
    }
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        /* a device or a pipe: renaming a file over it would replace /dev/null itself */
        if (!(af->path = strdup(path)) || !(af->fp = fopen(path, "w"))) goto fail;
        af->in_place = 1;
        return 0;
    }
    size_t n = strlen(path);
    af->path = strdup(path);
    af->tmp_path = malloc(n + sizeof ".tmp.XXXXXX");
    if (!af->path || !af->tmp_path) goto fail;
    memcpy(af->tmp_path, path, n);
    memcpy(af->tmp_path + n, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        err_set(err, "%s: cannot create temporary file: %s", path, strerror(errno));
        free(af->tmp_path);
        af->tmp_path = NULL;
        goto fail_quiet;
    }
    /* mkstemp makes 0600; an output file gets the usual 0666 & ~umask */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    af->fp = fdopen(fd, "w");
    if (!af->fp) {
        close(fd);
        goto fail;
    }
    return 0;
fail:
    err_set(err, "%s: %s", path, strerror(errno ? errno : ENOMEM));
fail_quiet:
    atomic_abort(af);
    return -1;
}

int atomic_commit(atomic_file *af, char *err)
{
    if (af->in_place) {
        int failed = fflush(af->fp) != 0 || ferror(af->fp), saved = errno;
        if (fclose(af->fp) != 0 && !failed) failed = 1, saved = errno;
        af->fp = NULL;
        if (failed) err_set(err, "%s: write failed: %s", af->path, strerror(saved));
        atomic_abort(af);
        return failed ? -1 : 0;
    }
    if (!af->tmp_path) { /* stdout */
        if (fflush(af->fp) != 0) return err_set(err, "stdout: %s", strerror(errno));
        return 0;
    }
    int failed = fflush(af->fp) != 0 || ferror(af->fp) || fsync(fileno(af->fp)) != 0;
    int saved = errno;
    if (fclose(af->fp) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    af->fp = NULL;
    if (!failed && rename(af->tmp_path, af->path) != 0) {
        failed = 1;
        saved = errno;
    }
    if (failed) {
        err_set(err, "%s: write failed: %s", af->path, strerror(saved));
        atomic_abort(af);
        return -1;
    }
    free(af->tmp_path);
    free(af->path);
    af->tmp_path = af->path = NULL;
    return 0;
}

void atomic_abort(atomic_file *af)
{
    if (af->fp && af->fp != stdout) fclose(af->fp);
    if (af->tmp_path) unlink(af->tmp_path);
    free(af->tmp_path);
    free(af->path);
    memset(af, 0, sizeof *af);
}

/* Asks the kernel to back [p, p + len) with memory now, in one call, rather
 * than a page fault at each first touch (on a virtual machine a fault can cost
 * 10 us: 6,000 of them were most of loading a 6 MB model). A hint: nothing
 * happens below 16 pages or where the kernel lacks it (Linux < 5.14). */
static void memory_populate(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || len < 16 * (size_t)page) return;
    uintptr_t from = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t to = ((uintptr_t)p + len) & ~((uintptr_t)page - 1);
    if (to > from) madvise((void *)from, to - from, MADV_POPULATE_WRITE); /* older kernels: EINVAL, no harm */
#else
    (void)p;
    (void)len;
#endif
}

#define HUGE_PAGE ((size_t)2 << 20)

void *memory_large(size_t n)
{
    if (n < HUGE_PAGE / 2 || n > SIZE_MAX - HUGE_PAGE) {
        void *p = malloc(n ? n : 1);
        if (p) memory_populate(p, n); /* below 2 MB pages: one call, not a fault a page */
        return p;
    }
    size_t len = (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *p;
    if (posix_memalign(&p, HUGE_PAGE, len) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, len, MADV_HUGEPAGE); /* a hint: EINVAL where the kernel has no such pages */
#endif
    return p;
}

int file_read_all(const char *path, char **out, size_t *len, char *err)
{
    char *buf = NULL;
    size_t cap = 0, used = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return err_set(err, "%s: %s", path, strerror(errno));
    struct stat st; /* a regular file: its size at once (a pipe grows the buffer as it reads) */
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        st.st_size < ((off_t)1 << 40)) {
        cap = (size_t)st.st_size + 65536; /* room to see the end without growing */
        if (!(buf = memory_large(cap + 1))) {
            err_set(err, "%s: out of memory", path);
            goto fail;
        }
        memory_populate(buf, (size_t)st.st_size);
    }
    for (;;) {
        if (cap - used < 65536) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                err_set(err, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + used, 1, cap - used, fp);
        used += got;
        if (got == 0) break;
    }
    if (ferror(fp)) {
        err_set(err, "%s: read error: %s", path, strerror(errno));
        goto fail;
    }
    fclose(fp);
    buf[used] = '\0';
    *out = buf;
    if (len) *len = used;
    return 0;
fail:
    fclose(fp);
    free(buf);
    return -1;
}
