/* jsonscan — the scanners of the request fast paths. */
#include "base/jsonscan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* RFC 8259's number grammar, read as jansson reads it: an integer (no fraction or
 * exponent) through strtoll then to double, anything else through strtod. The
 * digits are gathered on the way: a number of at most 15 significant digits and
 * a power of ten within 22 is converted exactly right here (Clinger's fast
 * path: one correctly rounded operation on two exact doubles), the rest by the C library. */
const char *json_scan_number(const char *p, const char *end, double *out)
{
    static const double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    char buf[40];
    const char *q = p;
    int integer = 1, negative = 0, digits = 0, scale = 0, exact = 1;
    unsigned long long mantissa = 0;
    if (q < end && *q == '-') {
        negative = 1;
        q++;
    }
    if (q == end || *q < '0' || *q > '9') return NULL;
    if (*q == '0')
        q++;
    else
        for (; q < end && *q >= '0' && *q <= '9'; q++) {
            mantissa = mantissa * 10 + (unsigned)(*q - '0');
            exact &= ++digits <= 15;
        }
    if (q < end && *q == '.') {
        integer = 0;
        if (++q == end || *q < '0' || *q > '9') return NULL;
        for (; q < end && *q >= '0' && *q <= '9'; q++) {
            if (digits || *q != '0') exact &= ++digits <= 15;
            mantissa = mantissa * 10 + (unsigned)(*q - '0');
            scale--;
        }
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        integer = 0;
        int sign = 1, e = 0;
        if (++q < end && (*q == '+' || *q == '-')) sign = *q++ == '-' ? -1 : 1;
        if (q == end || *q < '0' || *q > '9') return NULL;
        for (; q < end && *q >= '0' && *q <= '9'; q++) e = e < 1000 ? e * 10 + (*q - '0') : e;
        scale += sign * e;
    }
    if (integer && mantissa == 0) negative = 0; /* "-0" is the integer 0, as strtoll reads it */
    if (exact && scale >= -22 && scale <= 22) {
        double v = (double)mantissa; /* exact: at most 15 digits */
        v = scale >= 0 ? v * pow10[scale] : v / pow10[-scale];
        *out = negative ? -v : v;
        return q;
    }
    size_t n = (size_t)(q - p);
    if (n >= sizeof buf || (integer && n > 18)) return NULL; /* no overflow for strtoll to report */
    memcpy(buf, p, n);
    buf[n] = '\0';
    *out = integer ? (double)strtoll(buf, NULL, 10) : strtod(buf, NULL);
    if (!isfinite(*out)) return NULL; /* jansson calls that an overflow */
    return q;
}

const char *json_scan_next(const char *p, const char *end, char close, int *closed)
{
    p = json_skip_ws(p, end);
    if (p == end || (*p != ',' && *p != close)) return NULL;
    *closed = *p == close;
    return p + 1;
}
