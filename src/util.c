/* util — error buffers, atomic output files, whole-file reads. */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int err_set(char *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int atomic_open(atomic_file *af, const char *path, char *err)
{
    memset(af, 0, sizeof *af);
    if (strcmp(path, "-") == 0) {
        af->fp = stdout;
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

int file_read_all(const char *path, char **out, size_t *len, char *err)
{
    char *buf = NULL;
    size_t cap = 0, used = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return err_set(err, "%s: %s", path, strerror(errno));
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

int parse_finite_double(const char *s, size_t len, double *out)
{
    char tmp[64];
    if (len == 0 || len >= sizeof tmp) return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end != tmp + len || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

double clock_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int format_probability(char *buf, float p)
{
    /* Outside [1e-4, 1) (and for NaN) printf decides. 1e-4 as a double lies above
     * the true 1e-4 by less than the gap between floats, so the test is exact. */
    if (!((double)p >= 1e-4 && p < 1.0f)) return snprintf(buf, 32, "%.9g", p);
    /* p is normal here: p = m / 2^k exactly, m < 2^24, 24 <= k <= 37 */
    uint32_t bits;
    memcpy(&bits, &p, sizeof bits);
    uint64_t m = (bits & 0x7fffffu) | 0x800000u;
    int k = 150 - (int)(bits >> 23 & 0xffu);
    /* nine digits q = p * 10^(8 - e) rounded half to even, e = floor(log10 p) in
     * -4..-1, so 10^(8 - e) <= 10^12 and m * 10^12 < 2^64: no overflow */
    int e = -1;
    uint64_t q, scaled;
    for (;;) {
        uint64_t pow10 = 1;
        for (int i = 0; i < 8 - e; i++) pow10 *= 10;
        scaled = m * pow10;
        q = scaled >> k;
        if (q >= 100000000u || e == -4) break;
        e--;
    }
    uint64_t rem = scaled & ((UINT64_C(1) << k) - 1), half = UINT64_C(1) << (k - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    if (q == 1000000000u) { /* rounded up to the next power of ten */
        q = 100000000u;
        e++;
    }
    if (e == 0) { /* 0.9999999997 -> "1", as %g */
        memcpy(buf, "1", 2);
        return 1;
    }
    /* %g with exponent e in -4..-1: fixed notation, trailing zeros dropped */
    char digits[9];
    for (int i = 8; i >= 0; i--, q /= 10) digits[i] = (char)('0' + q % 10);
    int n_digits = 9;
    while (digits[n_digits - 1] == '0') n_digits--;
    int len = 0;
    buf[len++] = '0';
    buf[len++] = '.';
    for (int i = 0; i < -e - 1; i++) buf[len++] = '0';
    memcpy(buf + len, digits, (size_t)n_digits);
    len += n_digits;
    buf[len] = '\0';
    return len;
}
