/* tree_walk — walking the padded complete trees of trees.h, many walks at a
 * time. A step is idx = 2*idx + 1 + go_right, the same for every walk, so
 * walks run side by side: in portable C (LANES walks interleaved, enough
 * independent loads to hide their latency) and, where the machine has them,
 * with AVX2 or AVX-512 gathers (8 or 16 walks per instruction, 4 vectors in
 * flight). The kernel is picked once, when the model is prepared.
 *
 * Every kernel adds a row's leaves in tree order, one float addition at a
 * time, as XGBoost does: all give bit-identical results, and a row scored
 * alone equals the same row scored in a batch. */
#include "estimators/tree_walk.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16 /* portable: walks interleaved */

/* One step down from node nd, with v the row's value of its column: right when
 * v >= threshold (a category split: when v's category is in the set), or v is
 * NaN and the node sends NaN right (v >= t is false for NaN). */
static inline unsigned step(complete_node nd, unsigned idx, float v)
{
    unsigned right;
    if (nd.feature & COMPLETE_CATEGORY) {
        uint32_t set;
        memcpy(&set, &nd.threshold, sizeof set);
        right = v >= 0 && v < 32 ? (set >> (unsigned)v) & 1u : 0; /* truncated, as XGBoost does */
    } else {
        right = v >= nd.threshold;
    }
    return 2 * idx + 1 + (right | ((v != v) & (nd.feature >> 31)));
}
#define STEP(nd, idx, v) step(nd, idx, v)
#define COLUMN(nd)       ((nd).feature & COMPLETE_COLUMN)

/* ---- portable ------------------------------------------------------------ */

/* Many rows: each tree walks LANES rows in lockstep. */
static void rows_portable(const complete_trees *c, size_t n_trees, int nf, int k, const float *x, int n,
                          float *y)
{
    for (int r0 = 0; r0 < n; r0 += LANES) {
        int m = n - r0 < LANES ? n - r0 : LANES;
        const float *xb = x + (size_t)r0 * nf;
        for (size_t t = 0; t < n_trees; t++) {
            const complete_node *nodes = c->nodes + t * c->n_inner;
            unsigned idx[LANES] = {0};
            for (int d = 0; d < c->depth; d++)
                for (int l = 0; l < m; l++) {
                    complete_node nd = nodes[idx[l]];
                    float v = xb[(size_t)l * nf + COLUMN(nd)];
                    idx[l] = STEP(nd, idx[l], v);
                }
            const float *leaf = c->leaf + t * (c->n_inner + 1) - c->n_inner;
            for (int l = 0; l < m; l++) y[(size_t)(r0 + l) * k + c->output[t]] += leaf[idx[l]];
        }
    }
}

/* Trees t_begin.. of one row at a time, LANES trees in lockstep. */
static void trees_portable_from(const complete_trees *c, size_t t_begin, size_t n_trees, int nf, int k,
                                const float *x, int n, float *y)
{
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * nf;
        float *yr = y + (size_t)r * k;
        for (size_t t0 = t_begin; t0 < n_trees; t0 += LANES) {
            int m = n_trees - t0 < LANES ? (int)(n_trees - t0) : LANES;
            unsigned idx[LANES] = {0};
            const complete_node *nodes[LANES];
            for (int l = 0; l < m; l++) nodes[l] = c->nodes + (t0 + (size_t)l) * c->n_inner;
            for (int d = 0; d < c->depth; d++)
                for (int l = 0; l < m; l++) {
                    complete_node nd = nodes[l][idx[l]];
                    float v = xr[COLUMN(nd)];
                    idx[l] = STEP(nd, idx[l], v);
                }
            for (int l = 0; l < m; l++)
                yr[c->output[t0 + l]] += c->leaf[(t0 + l) * (c->n_inner + 1) + idx[l] - c->n_inner];
        }
    }
}

static void trees_portable(const complete_trees *c, size_t n_trees, int nf, int k, const float *x, int n,
                           float *y)
{
    trees_portable_from(c, 0, n_trees, nf, k, x, n, y);
}

/* ---- x86: AVX2 and AVX-512 gathers ------------------------------------------ */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(TABSERVE_NO_CLONES)
#include <immintrin.h>
#define TREE_X86 1
#define AVX512   __attribute__((target("avx512f")))
#define AVX2     __attribute__((target("avx2")))
#define U        4 /* vectors in flight: independent gathers overlap */
#define UT       8 /* the same for one row's trees: more chains, more overlap */

/* One step for 16 walks at nodes idx: v from the rows (gathered at row_off +
 * column), then down by the threshold and the NaN direction. */
#define STEP16(idx, thr, feat, v)                                                                            \
    do {                                                                                                     \
        __mmask16 right_ = _mm512_cmp_ps_mask(v, thr, _CMP_GE_OQ);                                           \
        if (cats) { /* category lanes: the set bit of v's category (0..31), else left */                     \
            __mmask16 cat_ = _mm512_test_epi32_mask(feat, cat_flag);                                         \
            __mmask16 ok_ = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GE_OQ) &                         \
                            _mm512_cmp_ps_mask(v, _mm512_set1_ps(32), _CMP_LT_OQ);                           \
            __m512i bits_ = _mm512_srlv_epi32(_mm512_castps_si512(thr), _mm512_cvttps_epi32(v));             \
            __mmask16 in_ = _mm512_test_epi32_mask(bits_, one) & ok_;                                        \
            right_ = (__mmask16)((right_ & ~cat_) | (in_ & cat_));                                           \
        }                                                                                                    \
        right_ |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & _mm512_test_epi32_mask(feat, nan_right);          \
        __m512i down_ = _mm512_add_epi32(_mm512_slli_epi32(idx, 1), one);                                    \
        idx = _mm512_mask_add_epi32(down_, right_, down_, one);                                              \
    } while (0)

/* The same for 8 walks with AVX2 (no mask registers: lanes are -1 or 0). */
#define STEP8(idx, thr, feat, v)                                                                             \
    do {                                                                                                     \
        __m256i right_ = _mm256_castps_si256(_mm256_cmp_ps(v, thr, _CMP_GE_OQ));                             \
        if (cats) { /* category lanes: the set bit of v's category (0..31), else left */                     \
            __m256i cat_ = _mm256_cmpeq_epi32(_mm256_and_si256(feat, cat_flag), cat_flag);                   \
            __m256i ok_ =                                                                                    \
                _mm256_castps_si256(_mm256_and_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GE_OQ),         \
                                                  _mm256_cmp_ps(v, _mm256_set1_ps(32), _CMP_LT_OQ)));        \
            __m256i bits_ = _mm256_srlv_epi32(_mm256_castps_si256(thr), _mm256_cvttps_epi32(v));             \
            __m256i in_ = _mm256_and_si256(_mm256_cmpeq_epi32(_mm256_and_si256(bits_, one), one), ok_);      \
            right_ = _mm256_or_si256(_mm256_andnot_si256(cat_, right_), _mm256_and_si256(cat_, in_));        \
        }                                                                                                    \
        __m256i nan_ = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));                               \
        right_ = _mm256_or_si256(right_, _mm256_and_si256(nan_, _mm256_srai_epi32(feat, 31)));               \
        idx = _mm256_sub_epi32(_mm256_add_epi32(_mm256_slli_epi32(idx, 1), one), right_);                    \
    } while (0)

AVX512 static void trees_avx512(const complete_trees *c, size_t n_trees, int nf, int k, const float *x, int n,
                                float *y);

/* One tree's leaves for 16 rows: into the rows' running sums (one output), or
 * each into its row's output `out` of y (rows k floats apart). */
AVX512 static inline void add_leaves16(__m512 *acc, __m512 leaves, int k, float *y, int out)
{
    if (k == 1) {
        *acc = _mm512_add_ps(*acc, leaves);
        return;
    }
    float v[16];
    _mm512_storeu_ps(v, leaves);
    for (int l = 0; l < 16; l++) y[(size_t)l * k + out] += v[l];
}

/* Many rows, 16 a vector: each tree walks 64 rows (4 vectors) in lockstep. Its
 * top 31 nodes sit in four registers and are looked up by permutes; deeper
 * nodes are gathered. */
AVX512 static void rows_avx512(const complete_trees *c, size_t n_trees, int nf, int k, const float *x, int n,
                               float *y)
{
    const __m512i one = _mm512_set1_epi32(1), column = _mm512_set1_epi32((int)COMPLETE_COLUMN);
    const __m512i cat_flag = _mm512_set1_epi32((int)COMPLETE_CATEGORY);
    const int cats = c->has_categories;
    const __m512i nan_right = _mm512_set1_epi32((int)COMPLETE_NAN_RIGHT),
                  inner = _mm512_set1_epi32((int)c->n_inner);
    const __m512i lane = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(nf));
    __m512i row_off[U];
    for (int u = 0; u < U; u++) row_off[u] = _mm512_add_epi32(lane, _mm512_set1_epi32(16 * u * nf));
    int top = c->depth < COMPLETE_TOP ? c->depth : COMPLETE_TOP;
    int full = n / (16 * U) * (16 * U);
    /* up to 64 columns, the block's values by column too: the top four levels
     * (1, 2, 4 and 8 nodes) read them by plain and masked loads, not gathers
     * (50 trees of depth 4: 102 -> 63 ns a row on AMD EPYC, whose gathers are slow) */
    const int by_column = nf <= 64;
    float xt[64 * 16 * U] __attribute__((aligned(64)));
    for (int r0 = 0; r0 < full; r0 += 16 * U) {
        const float *xb = x + (size_t)r0 * nf;
        if (by_column)
            for (int r = 0; r < 16 * U; r++)
                for (int f = 0; f < nf; f++) xt[f * 16 * U + r] = xb[(size_t)r * nf + f];
        /* one output: the sums stay in registers over all trees (same order
         * of additions as one at a time) */
        __m512 acc[U];
        if (k == 1)
            for (int u = 0; u < U; u++) acc[u] = _mm512_loadu_ps(y + r0 + 16 * u);
        for (size_t t = 0; t < n_trees; t++) {
            const complete_node *nodes = c->nodes + t * c->n_inner;
            __m512 thr_lo = _mm512_loadu_ps(c->top_threshold + t * 32);
            __m512 thr_hi = _mm512_loadu_ps(c->top_threshold + t * 32 + 16);
            __m512i feat_lo = _mm512_loadu_si512(c->top_feature + t * 32);
            __m512i feat_hi = _mm512_loadu_si512(c->top_feature + t * 32 + 16);
            __m512i idx[U];
            for (int u = 0; u < U; u++) idx[u] = _mm512_setzero_si512();
            for (int d = 0; d < top; d++)
                for (int u = 0; u < U; u++) {
                    __m512 thr = _mm512_permutex2var_ps(thr_lo, idx[u], thr_hi);
                    __m512i feat = _mm512_permutex2var_epi32(feat_lo, idx[u], feat_hi);
                    __m512 v;
                    if (by_column && d <= 3) {
                        const float *col = xt + 16 * u;
                        const uint32_t *tf = c->top_feature + t * 32;
                        int lo = (1 << d) - 1; /* the level's first node */
                        v = _mm512_load_ps(col + (tf[lo] & COMPLETE_COLUMN) * 16 * U);
                        for (int j = lo + 1; j < lo + (1 << d); j++)
                            v = _mm512_mask_load_ps(v, _mm512_cmpeq_epi32_mask(idx[u], _mm512_set1_epi32(j)),
                                                    col + (tf[j] & COMPLETE_COLUMN) * 16 * U);
                    } else {
                        v = _mm512_i32gather_ps(_mm512_add_epi32(row_off[u], _mm512_and_si512(feat, column)),
                                                xb, 4);
                    }
                    STEP16(idx[u], thr, feat, v);
                }
            for (int d = top; d < c->depth; d++)
                for (int u = 0; u < U; u++) {
                    __m512 thr = _mm512_i32gather_ps(idx[u], &nodes->threshold, 8);
                    __m512i feat = _mm512_i32gather_epi32(idx[u], &nodes->feature, 8);
                    __m512 v = _mm512_i32gather_ps(
                        _mm512_add_epi32(row_off[u], _mm512_and_si512(feat, column)), xb, 4);
                    STEP16(idx[u], thr, feat, v);
                }
            const float *leaf = c->leaf + t * (c->n_inner + 1);
            for (int u = 0; u < U; u++)
                add_leaves16(&acc[u], _mm512_i32gather_ps(_mm512_sub_epi32(idx[u], inner), leaf, 4), k,
                             y + (size_t)(r0 + 16 * u) * k, c->output[t]);
        }
        if (k == 1)
            for (int u = 0; u < U; u++) _mm512_storeu_ps(y + r0 + 16 * u, acc[u]);
    }
    /* the rows left over (fewer than 64): each walks its trees side by side */
    trees_avx512(c, n_trees, nf, k, x + (size_t)full * nf, n - full, y + (size_t)full * k);
}

/* One row, up to 64 trees (4 vectors of 16) in lockstep; lanes past the last
 * tree walk the last tree again and are not added. */
AVX512 static void trees_avx512(const complete_trees *c, size_t n_trees, int nf, int k, const float *x, int n,
                                float *y)
{
    const __m512i one = _mm512_set1_epi32(1), column = _mm512_set1_epi32((int)COMPLETE_COLUMN);
    const __m512i cat_flag = _mm512_set1_epi32((int)COMPLETE_CATEGORY);
    const int cats = c->has_categories;
    const __m512i nan_right = _mm512_set1_epi32((int)COMPLETE_NAN_RIGHT);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i last = _mm512_set1_epi32((int)n_trees - 1);
    int top = c->depth < COMPLETE_TOP ? c->depth : COMPLETE_TOP;
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * nf;
        float *yr = y + (size_t)r * k, sum = yr[0];
        for (size_t t0 = 0; t0 < n_trees; t0 += 16 * UT) {
            int vecs = (int)((n_trees - t0 + 15) / 16);
            if (vecs > UT) vecs = UT;
            __m512i tree[UT], base[UT], rel[UT];
            for (int u = 0; u < vecs; u++) {
                tree[u] =
                    _mm512_min_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32((int)(t0 + 16 * u))), last);
                base[u] = _mm512_mullo_epi32(tree[u], _mm512_set1_epi32((int)c->n_inner));
                rel[u] = _mm512_setzero_si512();
            }
            /* the top levels from the compact columns (two cache lines a tree) */
            for (int d = 0; d < top; d++)
                for (int u = 0; u < vecs; u++) {
                    __m512i at = _mm512_add_epi32(_mm512_slli_epi32(tree[u], 5), rel[u]);
                    __m512 thr = _mm512_i32gather_ps(at, c->top_threshold, 4);
                    __m512i feat = _mm512_i32gather_epi32(at, c->top_feature, 4);
                    __m512 v = _mm512_i32gather_ps(_mm512_and_si512(feat, column), xr, 4);
                    STEP16(rel[u], thr, feat, v);
                }
            for (int d = top; d < c->depth; d++)
                for (int u = 0; u < vecs; u++) {
                    __m512i at = _mm512_add_epi32(base[u], rel[u]);
                    __m512 thr = _mm512_i32gather_ps(at, &c->nodes->threshold, 8);
                    __m512i feat = _mm512_i32gather_epi32(at, &c->nodes->feature, 8);
                    __m512 v = _mm512_i32gather_ps(_mm512_and_si512(feat, column), xr, 4);
                    STEP16(rel[u], thr, feat, v);
                }
            for (int u = 0; u < vecs; u++) {
                __m512i at =
                    _mm512_add_epi32(_mm512_mullo_epi32(tree[u], _mm512_set1_epi32((int)c->n_inner + 1)),
                                     _mm512_sub_epi32(rel[u], _mm512_set1_epi32((int)c->n_inner)));
                float v[16];
                _mm512_storeu_ps(v, _mm512_i32gather_ps(at, c->leaf, 4));
                size_t m = n_trees - (t0 + 16 * (size_t)u);
                if (k == 1) /* in a register: one add after another, in tree order */
                    for (size_t l = 0; l < 16 && l < m; l++) sum += v[l];
                else
                    for (size_t l = 0; l < 16 && l < m; l++) yr[c->output[t0 + 16 * u + l]] += v[l];
            }
        }
        if (k == 1) yr[0] = sum;
    }
    (void)nf;
    _mm256_zeroupper();
}

/* A row's values as ranks among each feature's cuts (trees.h): how many cuts
 * are <= the value, -1 for NaN. All (at most 32) features at once, sixteen a
 * vector, each lane a branch-free binary search: one gather a step, as many
 * steps as log2 of the most cuts; the two vectors' steps interleave. */
AVX512 static void ranks_of(const complete_trees *c, const float *x, int32_t *rank)
{
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i one = _mm512_set1_epi32(1), zero = _mm512_setzero_si512();
    __mmask16 live[2];
    __m512i first[2], n[2], at[2];
    __m512 v[2];
    for (int h = 0; h < 2; h++) {
        live[h] = _mm512_cmplt_epi32_mask(lane, _mm512_set1_epi32(c->n_features - 16 * h));
        first[h] = _mm512_maskz_loadu_epi32(live[h], c->cut_start + 16 * h);
        n[h] = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(live[h], c->cut_start + 16 * h + 1), first[h]);
        at[h] = first[h];
        v[h] = _mm512_maskz_loadu_ps(live[h], x + 16 * h);
    }
    /* the last cut <= v, if any, is at[0 ..< n): halve n until one is left */
    for (;;) {
        __mmask16 go[2] = {_mm512_cmpgt_epi32_mask(n[0], one), _mm512_cmpgt_epi32_mask(n[1], one)};
        if (!(go[0] | go[1])) break;
        for (int h = 0; h < 2; h++) {
            __m512i half = _mm512_srli_epi32(n[h], 1);
            __m512 cut = _mm512_mask_i32gather_ps(v[h], go[h], _mm512_add_epi32(at[h], half), c->cut, 4);
            at[h] = _mm512_mask_add_epi32(at[h], _mm512_mask_cmp_ps_mask(go[h], cut, v[h], _CMP_LE_OQ), at[h],
                                          half);
            n[h] = _mm512_mask_sub_epi32(n[h], go[h], n[h], half);
        }
    }
    for (int h = 0; h < 2; h++) {
        __mmask16 some = _mm512_cmpgt_epi32_mask(n[h], zero);
        __m512 cut = _mm512_mask_i32gather_ps(v[h], some, at[h], c->cut, 4);
        __m512i r = _mm512_sub_epi32(at[h], first[h]);
        r = _mm512_mask_add_epi32(r, _mm512_mask_cmp_ps_mask(some, cut, v[h], _CMP_LE_OQ), r, one);
        r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(v[h], v[h], _CMP_UNORD_Q), _mm512_set1_epi32(-1));
        _mm512_mask_storeu_epi32(rank + 16 * h, live[h], r);
    }
    /* a column split on category sets: its category, truncated as XGBoost does;
     * 16 (in no set) when negative or above 15 */
    for (uint32_t cats = c->category_features; cats; cats &= cats - 1) {
        int f = __builtin_ctz(cats);
        rank[f] = x[f] != x[f] ? -1 : x[f] >= 0 && x[f] < 16 ? (int32_t)x[f] : 16;
    }
}

/* One row of a large ensemble, on the packed layout (trees.h): 128 trees (8
 * vectors of 16) in lockstep, each step one gather (the node's word) and
 * one permute (the row's rank of the node's column, all 32 in two
 * registers). A walk reads one cache line per block of levels. The leaves
 * are added one after another in tree order (as every kernel does), and that
 * chain of additions is slow: a group's leaves are added while the next
 * group walks, a slice after each level, so the two overlap. */
AVX512 static void one_avx512(const complete_trees *c, size_t n_trees, int nf, int k, const float *x, int n,
                              float *y)
{
    const __m512i one = _mm512_set1_epi32(1), zero = _mm512_setzero_si512();
    const __m512i nan_bit = _mm512_set1_epi32(1 << 15), cat_bit = _mm512_set1_epi32((int)PACKED_CATEGORY);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i last = _mm512_set1_epi32((int)n_trees - 1);
    const int cats = c->category_features != 0;
    const int rows = c->n_block_rows, bottom = c->block_levels[rows - 1];
    const int *words = (const int *)c->packed, *top = (const int *)c->packed_top;
    for (int r = 0; r < n; r++) {
        int32_t rank[32] = {0};
        ranks_of(c, x + (size_t)r * nf, rank);
        const __m512i rank_lo = _mm512_loadu_si512(rank), rank_hi = _mm512_loadu_si512(rank + 16);
        float *yr = y + (size_t)r * k, sum = yr[0];
        float pending[16 * UT]; /* the last group's leaves, to add */
        size_t n_pending = 0, added = 0;
        for (size_t t0 = 0; t0 < n_trees; t0 += 16 * UT) {
            int vecs = (int)((n_trees - t0 + 15) / 16);
            if (vecs > UT) vecs = UT;
            /* per walk: its tree's first word, the block it is in (within its
             * block-row), that block's first word, the node within the block */
            __m512i tree_at[UT], block[UT], line[UT], rel[UT];
            for (int u = 0; u < vecs; u++) {
                __m512i tree =
                    _mm512_min_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32((int)(t0 + 16 * u))), last);
                tree_at[u] = _mm512_mullo_epi32(tree, _mm512_set1_epi32((int)c->packed_stride));
                block[u] = zero;
                line[u] =
                    c->top_words ? _mm512_mullo_epi32(tree, _mm512_set1_epi32(c->top_words)) : tree_at[u];
                rel[u] = zero;
            }
            int levels_left = c->depth;
            for (int j = 0; j < rows; j++) {
                const int *from = j == 0 && c->top_words ? top : words;
                for (int d = 0; d < c->block_levels[j]; d++) {
                    for (int u = 0; u < vecs; u++) {
                        __m512i word = _mm512_i32gather_epi32(_mm512_add_epi32(line[u], rel[u]), from, 4);
                        __m512i rv = _mm512_permutex2var_epi32(rank_lo, word, rank_hi); /* low 5 bits */
                        __m512i kv = _mm512_srli_epi32(word, 16);
                        __mmask16 nan = _mm512_cmplt_epi32_mask(rv, zero);
                        __mmask16 right = _mm512_cmpgt_epi32_mask(rv, kv);
                        if (cats) { /* a set: the bit of the row's category (none for -1 or 16) */
                            __mmask16 cat = _mm512_test_epi32_mask(word, cat_bit);
                            __mmask16 in = _mm512_test_epi32_mask(_mm512_srlv_epi32(kv, rv), one);
                            right = (__mmask16)((right & ~cat) | (in & cat));
                        }
                        right |= _mm512_test_epi32_mask(word, nan_bit) & nan;
                        __m512i down = _mm512_add_epi32(_mm512_slli_epi32(rel[u], 1), one);
                        rel[u] = _mm512_mask_add_epi32(down, right, down, one);
                    }
                    if (k == 1) { /* this level's share of the pending additions */
                        size_t share = (n_pending - added + (size_t)(levels_left - 1)) / (size_t)levels_left;
                        for (size_t l = 0; l < share; l++) sum += pending[added++];
                    }
                    levels_left--;
                }
                if (j + 1 == rows) break;
                /* into the block below: one per node of the block's last level */
                const __m512i firsts = _mm512_set1_epi32((1 << c->block_levels[j]) - 1);
                for (int u = 0; u < vecs; u++) {
                    block[u] = _mm512_add_epi32(_mm512_slli_epi32(block[u], c->block_levels[j]),
                                                _mm512_sub_epi32(rel[u], firsts));
                    line[u] = _mm512_add_epi32(
                        tree_at[u],
                        _mm512_slli_epi32(
                            _mm512_add_epi32(block[u], _mm512_set1_epi32(c->block_first[j + 1])), 4));
                    rel[u] = zero;
                }
            }
            /* the leaves: floats from word 8 of the last block */
            while (added < n_pending) sum += pending[added++]; /* depth 0 */
            n_pending = added = 0;
            const __m512i leaf0 = _mm512_set1_epi32(8 - ((1 << bottom) - 1));
            for (int u = 0; u < vecs; u++) {
                __m512i at = _mm512_add_epi32(_mm512_add_epi32(line[u], leaf0), rel[u]);
                __m512 leaves = _mm512_i32gather_ps(at, words, 4);
                size_t m = n_trees - (t0 + 16 * (size_t)u);
                if (k == 1) {
                    _mm512_storeu_ps(pending + 16 * u, leaves);
                    n_pending += m < 16 ? m : 16;
                    continue;
                }
                float v[16];
                _mm512_storeu_ps(v, leaves);
                for (size_t l = 0; l < 16 && l < m; l++) yr[c->output[t0 + 16 * u + l]] += v[l];
            }
        }
        while (added < n_pending) sum += pending[added++];
        if (k == 1) yr[0] = sum;
    }
    _mm256_zeroupper();
}

#define HU       8 /* rows_heap_avx512: vectors of rows a block (4: 1.86 us a row; 8: 1.68; 16: 1.65) */
#define HR       (16 * HU)
#define HR_SHIFT 7 /* log2(HR) */

/* A heap word for walks at nodes h of one level: the tree's words are w[0..15]
 * (heap order, trees.h), the level's nodes in one pair of registers above the
 * top five levels, or in two or four pairs chosen by h's bits 5 and 6. */
AVX512 static inline __m512i heap_word(const __m512i *w, int level, __m512i h)
{
    if (level <= 4) return _mm512_permutex2var_epi32(w[0], h, w[1]);
    if (level == 5) return _mm512_permutex2var_epi32(w[2], h, w[3]);
    __mmask16 b5 = _mm512_test_epi32_mask(h, _mm512_set1_epi32(32));
    if (level == 6)
        return _mm512_mask_mov_epi32(_mm512_permutex2var_epi32(w[4], h, w[5]), b5,
                                     _mm512_permutex2var_epi32(w[6], h, w[7]));
    __mmask16 b6 = _mm512_test_epi32_mask(h, _mm512_set1_epi32(64));
    __m512i lo = _mm512_mask_mov_epi32(_mm512_permutex2var_epi32(w[8], h, w[9]), b5,
                                       _mm512_permutex2var_epi32(w[10], h, w[11]));
    __m512i hi = _mm512_mask_mov_epi32(_mm512_permutex2var_epi32(w[12], h, w[13]), b5,
                                       _mm512_permutex2var_epi32(w[14], h, w[15]));
    return _mm512_mask_mov_epi32(lo, b6, hi);
}

/* One block of rows_heap_avx512: 16 * nu rows (nu a constant where it is
 * inlined, so the walks stay in registers), their ranks in rank[f * HR + row];
 * adds their leaves to y. */
AVX512 static inline __attribute__((always_inline)) void
heap_block(const complete_trees *c, size_t n_trees, int k, const int32_t *rank, float *y, const int nu)
{
    const __m512i one = _mm512_set1_epi32(1), zero = _mm512_setzero_si512();
    const __m512i nan_bit = _mm512_set1_epi32(1 << 15), cat_bit = _mm512_set1_epi32((int)PACKED_CATEGORY);
    const __m512i column = _mm512_set1_epi32(31);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const int cats = c->category_features != 0, depth = c->depth;
    const int n_regs = depth <= 5 ? 2 : 1 << (depth - 4); /* registers holding the words of the levels */
    const __m512i first_leaf = _mm512_set1_epi32(1 << depth);
    __m512 acc[HU];
    for (int u = 0; u < nu; u++) acc[u] = k == 1 ? _mm512_loadu_ps(y + 16 * u) : _mm512_setzero_ps();
    for (size_t t = 0; t < n_trees; t++) {
        const uint32_t *hw = c->heap + t * 256;
        __m512i w[16];
        for (int i = 0; i < n_regs; i++) w[i] = _mm512_load_si512(hw + 16 * i);
        __m512i h[HU];
        for (int u = 0; u < nu; u++) h[u] = one;
        for (int d = 0; d < depth; d++)
            for (int u = 0; u < nu; u++) {
                const int32_t *rk = rank + 16 * u;
                __m512i word, rv;
                if (d <= 3) { /* 1, 2, 4 or 8 nodes: their columns' ranks by (masked) loads */
                    int lo = 1 << d;
                    word = d == 0 ? _mm512_set1_epi32((int)hw[1]) : heap_word(w, d, h[u]);
                    rv = _mm512_load_si512(rk + (hw[lo] & 31) * HR);
                    for (int j = lo + 1; j < 2 * lo; j++)
                        rv = _mm512_mask_load_epi32(rv, _mm512_cmpeq_epi32_mask(h[u], _mm512_set1_epi32(j)),
                                                    rk + (hw[j] & 31) * HR);
                } else {
                    word = heap_word(w, d, h[u]);
                    __m512i at = _mm512_add_epi32(_mm512_slli_epi32(_mm512_and_si512(word, column), HR_SHIFT),
                                                  _mm512_add_epi32(lane, _mm512_set1_epi32(16 * u)));
                    rv = _mm512_i32gather_epi32(at, rank, 4);
                }
                __m512i kv = _mm512_srli_epi32(word, 16);
                __mmask16 right = _mm512_cmpgt_epi32_mask(rv, kv);
                if (cats) { /* a set: the bit of the row's category (none for -1 or 16) */
                    __mmask16 cat = _mm512_test_epi32_mask(word, cat_bit);
                    __mmask16 in = _mm512_test_epi32_mask(_mm512_srlv_epi32(kv, rv), one);
                    right = (__mmask16)((right & ~cat) | (in & cat));
                }
                right |= _mm512_test_epi32_mask(word, nan_bit) & _mm512_cmplt_epi32_mask(rv, zero);
                __m512i twice = _mm512_add_epi32(h[u], h[u]);
                h[u] = _mm512_mask_add_epi32(twice, right, twice, one);
            }
        const float *leaf = c->leaf + t * (c->n_inner + 1);
        for (int u = 0; u < nu; u++)
            add_leaves16(&acc[u], _mm512_i32gather_ps(_mm512_sub_epi32(h[u], first_leaf), leaf, 4), k,
                         y + (size_t)(16 * u) * k, c->output[t]);
    }
    if (k == 1)
        for (int u = 0; u < nu; u++) _mm512_storeu_ps(y + 16 * u, acc[u]);
}

/* Many rows of a large ensemble of trees at most 8 deep, on the heap words
 * (trees.h). A block's ranks first, by column (rank[f * HR + row]); then
 * each tree's words go into 16 registers and 128 rows walk it in lockstep. A
 * node's word is found by permutes; a row's rank of the node's column is a
 * plain load at the root, where every walk is at the same node, and masked
 * loads of the level's few columns on the next three levels; below, a
 * gather. Per 16 rows and tree of depth 8 that is 5 gathers where the float
 * layout (rows_avx512) needs 11: on machines whose gathers are slow (on this
 * project's AMD EPYC one costs about 20 cycles, a permute one), the most of
 * the time (500 trees: 3.6 -> 1.7 us a row). Blocks of 128 rows, then one of
 * 64; fewer rows than that take the one-row kernel (a block pays for loading
 * each tree's words: with 8 rows it took 7.5 us a row, one_avx512 2.7). */
AVX512 static void rows_heap_avx512(const complete_trees *c, size_t n_trees, int nf, int k, const float *x,
                                    int n, float *y)
{
    int32_t rank[32 * HR] __attribute__((aligned(64)));
    int r0 = 0;
    while (n - r0 >= 64) {
        int nu = n - r0 >= HR ? HU : 4;
        for (int r = 0; r < 16 * nu; r++) {
            int32_t row[32] = {0};
            ranks_of(c, x + (size_t)(r0 + r) * nf, row);
            for (int f = 0; f < nf; f++) rank[f * HR + r] = row[f];
        }
        if (nu == HU)
            heap_block(c, n_trees, k, rank, y + (size_t)r0 * k, HU);
        else
            heap_block(c, n_trees, k, rank, y + (size_t)r0 * k, 4);
        r0 += 16 * nu;
    }
    _mm256_zeroupper();
    if (r0 < n) one_avx512(c, n_trees, nf, k, x + (size_t)r0 * nf, n - r0, y + (size_t)r0 * k);
}

/* The same with 8 walks a vector. */
AVX2 static void trees_avx2(const complete_trees *c, size_t n_trees, int nf, int k, const float *x, int n,
                            float *y);

AVX2 static void rows_avx2(const complete_trees *c, size_t n_trees, int nf, int k, const float *x, int n,
                           float *y)
{
    const __m256i one = _mm256_set1_epi32(1), column = _mm256_set1_epi32((int)COMPLETE_COLUMN);
    const __m256i cat_flag = _mm256_set1_epi32((int)COMPLETE_CATEGORY);
    const int cats = c->has_categories;
    const __m256i inner = _mm256_set1_epi32((int)c->n_inner);
    const __m256i lane = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(nf));
    __m256i row_off[U];
    for (int u = 0; u < U; u++) row_off[u] = _mm256_add_epi32(lane, _mm256_set1_epi32(8 * u * nf));
    int full = n / (8 * U) * (8 * U);
    for (int r0 = 0; r0 < full; r0 += 8 * U) {
        const float *xb = x + (size_t)r0 * nf;
        for (size_t t = 0; t < n_trees; t++) {
            const complete_node *nodes = c->nodes + t * c->n_inner;
            __m256i idx[U];
            for (int u = 0; u < U; u++) idx[u] = _mm256_setzero_si256();
            for (int d = 0; d < c->depth; d++)
                for (int u = 0; u < U; u++) {
                    __m256 thr = _mm256_i32gather_ps(&nodes->threshold, idx[u], 8);
                    __m256i feat = _mm256_i32gather_epi32((const int *)&nodes->feature, idx[u], 8);
                    __m256 v = _mm256_i32gather_ps(
                        xb, _mm256_add_epi32(row_off[u], _mm256_and_si256(feat, column)), 4);
                    STEP8(idx[u], thr, feat, v);
                }
            const float *leaf = c->leaf + t * (c->n_inner + 1);
            int out = c->output[t];
            for (int u = 0; u < U; u++) {
                float v[8];
                _mm256_storeu_ps(v, _mm256_i32gather_ps(leaf, _mm256_sub_epi32(idx[u], inner), 4));
                for (int l = 0; l < 8; l++) y[(size_t)(r0 + 8 * u + l) * k + out] += v[l];
            }
        }
    }
    /* the rows left over (fewer than 32): each walks its trees side by side */
    trees_avx2(c, n_trees, nf, k, x + (size_t)full * nf, n - full, y + (size_t)full * k);
}

AVX2 static void trees_avx2(const complete_trees *c, size_t n_trees, int nf, int k, const float *x, int n,
                            float *y)
{
    const __m256i one = _mm256_set1_epi32(1), column = _mm256_set1_epi32((int)COMPLETE_COLUMN);
    const __m256i cat_flag = _mm256_set1_epi32((int)COMPLETE_CATEGORY);
    const int cats = c->has_categories;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    size_t full = n_trees / (8 * U) * (8 * U);
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * nf;
        float *yr = y + (size_t)r * k;
        for (size_t t0 = 0; t0 < full; t0 += 8 * U) {
            __m256i tree[U], base[U], rel[U];
            for (int u = 0; u < U; u++) {
                tree[u] = _mm256_add_epi32(lane, _mm256_set1_epi32((int)(t0 + 8 * u)));
                base[u] = _mm256_mullo_epi32(tree[u], _mm256_set1_epi32((int)c->n_inner));
                rel[u] = _mm256_setzero_si256();
            }
            for (int d = 0; d < c->depth; d++)
                for (int u = 0; u < U; u++) {
                    __m256i at = _mm256_add_epi32(base[u], rel[u]);
                    __m256 thr = _mm256_i32gather_ps(&c->nodes->threshold, at, 8);
                    __m256i feat = _mm256_i32gather_epi32((const int *)&c->nodes->feature, at, 8);
                    __m256 v = _mm256_i32gather_ps(xr, _mm256_and_si256(feat, column), 4);
                    STEP8(rel[u], thr, feat, v);
                }
            for (int u = 0; u < U; u++) {
                __m256i at =
                    _mm256_add_epi32(_mm256_mullo_epi32(tree[u], _mm256_set1_epi32((int)c->n_inner + 1)),
                                     _mm256_sub_epi32(rel[u], _mm256_set1_epi32((int)c->n_inner)));
                float v[8];
                _mm256_storeu_ps(v, _mm256_i32gather_ps(c->leaf, at, 4));
                for (int l = 0; l < 8; l++) yr[c->output[t0 + 8 * u + l]] += v[l];
            }
        }
    }
    _mm256_zeroupper();
    trees_portable_from(c, full, n_trees, nf, k, x, n, y);
}
#endif

tree_walkers tree_walkers_pick(const complete_trees *c, size_t n_trees, tree_isa cap)
{
    int portable_only = cap == TREE_ISA_PORTABLE, no_avx512 = cap == TREE_ISA_AVX2;
#ifdef TREE_X86
    __builtin_cpu_init();
    if (!portable_only && !no_avx512 && __builtin_cpu_supports("avx512f")) {
        int ranks = c && c->packed && tree_walk_on_ranks(n_trees, c->depth);
        return (tree_walkers){ranks && c->heap ? rows_heap_avx512 : rows_avx512, trees_avx512,
                              ranks ? one_avx512 : NULL, "avx512"};
    }
    if (!portable_only && __builtin_cpu_supports("avx2"))
        return (tree_walkers){rows_avx2, trees_avx2, NULL, "avx2"};
#else
    (void)portable_only;
    (void)no_avx512;
#endif
    (void)c;
    (void)n_trees;
    return (tree_walkers){rows_portable, trees_portable, NULL, "portable"};
}
