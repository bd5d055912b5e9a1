/* hash — FNV-1a 64 over a model's content, fed field by field by each part
 * (schema, feature steps, predictor, output), so that two models hash alike
 * exactly when they compute alike. Not cryptographic: it names a model. */
#ifndef TABSERVE_HASH_H
#define TABSERVE_HASH_H

#include <stdint.h>
#include <string.h>

typedef struct {
    uint64_t h;
} fnv;

#define FNV_INIT                                                                                             \
    {                                                                                                        \
        14695981039346656037ull                                                                              \
    }

static inline void fnv_bytes(fnv *f, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        f->h ^= b[i];
        f->h *= 1099511628211ull;
    }
}
static inline void fnv_str(fnv *f, const char *s) { fnv_bytes(f, s, strlen(s) + 1); }
static inline void fnv_i64(fnv *f, int64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)v >> (8 * i));
    fnv_bytes(f, b, 8);
}
static inline void fnv_f64(fnv *f, double d)
{
    int64_t bits;
    memcpy(&bits, &d, 8);
    fnv_i64(f, bits);
}
static inline void fnv_f32(fnv *f, float x)
{
    int32_t bits;
    memcpy(&bits, &x, 4);
    fnv_i64(f, bits);
}
static inline void fnv_floats(fnv *f, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) fnv_f32(f, x[i]);
}

#endif
