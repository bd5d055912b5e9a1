/* numtext — strtod with whole-string and finiteness checks; exact %.9g. */
#define _POSIX_C_SOURCE 200809L
#include "base/numtext.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decimal text of at most 15 significant digits and a power of ten within
 * +-22 (what CSV cells hold), converted exactly: one correctly rounded multiply
 * or divide of two exact doubles (Clinger's fast path), the value strtod gives.
 * Returns -1 for anything else: strtod decides. */
static int parse_fast(const char *s, size_t len, double *out)
{
    static const double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = s, *end = s + len;
    int negative = 0, digits = 0, any = 0, scale = 0;
    uint64_t m = 0;
    if (p < end && (*p == '-' || *p == '+')) negative = *p++ == '-';
    for (; p < end && *p >= '0' && *p <= '9'; p++, any = 1) {
        if (digits || *p != '0') digits++;
        m = m * 10 + (uint64_t)(*p - '0');
    }
    if (p < end && *p == '.')
        for (p++; p < end && *p >= '0' && *p <= '9'; p++, any = 1) {
            if (digits || *p != '0') digits++;
            m = m * 10 + (uint64_t)(*p - '0');
            scale--;
        }
    if (!any || digits > 15) return -1;
    if (p < end && (*p == 'e' || *p == 'E')) {
        int sign = 1, e = 0, edigits = 0;
        if (++p < end && (*p == '+' || *p == '-')) sign = *p++ == '-' ? -1 : 1;
        for (; p < end && *p >= '0' && *p <= '9'; p++, edigits++) e = e < 1000 ? e * 10 + (*p - '0') : e;
        if (!edigits) return -1;
        scale += sign * e;
    }
    if (p != end || scale > 22 || scale < -22) return -1;
    double v = (double)m;
    v = scale >= 0 ? v * pow10[scale] : v / pow10[-scale];
    *out = negative ? -v : v;
    return 0;
}

int parse_finite_double(const char *s, size_t len, double *out)
{
    if (parse_fast(s, len, out) == 0) return 0;
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

int format_float(char *buf, float p)
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

size_t format_unsigned(char *buf, unsigned long long v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    return n;
}
