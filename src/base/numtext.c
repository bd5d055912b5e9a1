/* numtext — strtod with whole-string and finiteness checks; exact %.9g. */
#define _POSIX_C_SOURCE 200809L
#include "base/numtext.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
