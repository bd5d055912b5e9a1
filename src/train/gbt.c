/* gbt — histogram gradient boosting (the method in gbt.h). */
#define _POSIX_C_SOURCE 200809L
#include "train/gbt.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/progress.h"
#include "train/rng.h"

#define MISSING_BIN 255
#define HIST_BINS   256
#define MAX_DEPTH   16
#define CUT_SAMPLE  (1u << 22) /* rows that decide a column's cuts (about: evenly spaced) */

void gbt_options_default(gbt_options *o)
{
    memset(o, 0, sizeof *o);
    o->objective = GBT_BINARY;
    o->trees = 300;
    o->max_depth = 3;
    o->learning_rate = 0.05;
    o->min_child_weight = 1;
    o->l2 = 1;
    o->subsample = 0.8;
    o->colsample = 1;
    o->early_stopping = 30;
    o->val_fraction = 0.2;
    o->max_bins = 256;
    o->threads = 0;
    o->seed = 1;
    o->bag = 1;
}

/* The sigmoid in floats (expf): a margin needs no more, and this runs once per
 * row and tree. */
static inline void grad_at(gbt_objective obj, double f, double y, double *g, double *h)
{
    if (obj == GBT_REGRESSION) {
        *g = f - y;
        *h = 1;
        return;
    }
    float e = expf(-fabsf((float)f)), p = f >= 0 ? 1 / (1 + e) : e / (1 + e);
    *g = (double)p - y;
    double ph = (double)p * (1 - (double)p);
    *h = ph > 1e-16 ? ph : 1e-16;
}

void gbt_grad(gbt_objective obj, double f, double y, double *g, double *h) { grad_at(obj, f, y, g, h); }

/* ---- bins ----------------------------------------------------------------------------- */

typedef struct {
    size_t n;
    int nf;
    uint8_t *bin; /* (n, nf) */
    float **cut;  /* per column: cuts (numeric) */
    int *n_bins;  /* per column: regular bins (numeric: cuts + 1; categorical: categories) */
    const int *is_category;
} binned;

/* Sorts n floats (no NaN) ascending: LSD radix on their order-preserving bits,
 * 11 bits a pass, linear in n where qsort took most of the binning time. */
/* A float's bits as an unsigned key in the floats' order (-0 as +0). */
static uint32_t key_of(float a)
{
    uint32_t u;
    if (a == 0) a = 0; /* -0 and +0 are one value */
    memcpy(&u, &a, sizeof u);
    return u >> 31 ? ~u : u | 0x80000000u;
}

static float float_of(uint32_t k)
{
    uint32_t u = k >> 31 ? k & 0x7fffffffu : ~k;
    float a;
    memcpy(&a, &u, sizeof a);
    return a;
}

/* Sorts n keys ascending: LSD radix, 11 bits a pass (three passes end in tmp,
 * copied back), linear in n where qsort took most of the binning time. */
static int sort_keys(uint32_t *keys, size_t n)
{
    uint32_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    size_t *count = malloc(2049 * sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return -1;
    }
    uint32_t *from = keys, *to = tmp;
    for (int shift = 0; shift < 32; shift += 11) {
        memset(count, 0, 2049 * sizeof *count);
        for (size_t i = 0; i < n; i++) count[((from[i] >> shift) & 2047) + 1]++;
        for (int d = 0; d < 2048; d++) count[d + 1] += count[d];
        for (size_t i = 0; i < n; i++) to[count[(from[i] >> shift) & 2047]++] = from[i];
        uint32_t *s = from;
        from = to;
        to = s;
    }
    if (from != keys) memcpy(keys, from, n * sizeof *keys);
    free(tmp);
    free(count);
    return 0;
}

/* Cuts for column j from its values on the given rows: between every two
 * distinct values when there are at most max_cuts + 1 of them, else at the
 * quantiles of the rows (with repeats), so each bin holds about as many rows.
 * Memory: 8 bytes a value (the keys and the sort's buffer). */
static int make_cuts(binned *b, const float *x, const size_t *rows, size_t n_rows, int j, int max_cuts)
{
    uint32_t *v = malloc((n_rows ? n_rows : 1) * sizeof *v);
    float *cut = malloc(((size_t)max_cuts + 1) * sizeof *cut);
    if (!v || !cut) {
        free(v);
        free(cut);
        return -1;
    }
    size_t k = 0, u = 0;
    /* at most CUT_SAMPLE rows, evenly spaced, decide the cuts */
    size_t stride = n_rows > CUT_SAMPLE ? n_rows / CUT_SAMPLE : 1;
    for (size_t i = 0; i < n_rows; i += stride) {
        float a = x[(rows ? rows[i] : i) * (size_t)b->nf + (size_t)j];
        if (a == a) v[k++] = key_of(a);
    }
    if (sort_keys(v, k) != 0) {
        free(v);
        free(cut);
        return -1;
    }
    for (size_t i = 0; i < k; i++) u += i == 0 || v[i] != v[i - 1];
    int n_cut = 0;
    if (u <= (size_t)max_cuts + 1) {
        for (size_t i = 1; i < k; i++)
            if (v[i] != v[i - 1]) cut[n_cut++] = float_of(v[i]);
    } else {
        uint32_t last = v[0];
        for (int q = 1; q <= max_cuts; q++) {
            uint32_t c = v[(size_t)((double)q / (max_cuts + 1) * (double)k)];
            if (c > last) {
                cut[n_cut++] = float_of(c);
                last = c;
            }
        }
    }
    free(v);
    b->cut[j] = cut;
    b->n_bins[j] = n_cut + 1;
    return 0;
}

static uint8_t bin_of(const binned *b, int j, float a)
{
    if (a != a) return MISSING_BIN;
    if (b->is_category[j]) return a >= 0 && a < b->n_bins[j] ? (uint8_t)a : MISSING_BIN;
    const float *c = b->cut[j];
    int lo = 0, hi = b->n_bins[j] - 1; /* how many cuts are <= a */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (c[mid] <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint8_t)lo;
}

/* The binning's work for run_parallel (below): thread t cuts columns t, t + T,
 * ... and bins rows [n t / T, n (t + 1) / T). */
typedef struct {
    binned *b;
    const float *x;
    size_t n;
    int max_cuts;
    int failed[64];
} bin_work;

static void cut_part(void *ctx, int t, int T)
{
    bin_work *w = ctx;
    for (int j = t; j < w->b->nf; j += T)
        if (!w->b->is_category[j] && make_cuts(w->b, w->x, NULL, w->n, j, w->max_cuts) != 0) w->failed[t] = 1;
}

static void bin_part(void *ctx, int t, int T)
{
    bin_work *w = ctx;
    size_t nf = (size_t)w->b->nf, lo = w->n * (size_t)t / (size_t)T, hi = w->n * (size_t)(t + 1) / (size_t)T;
    for (size_t r = lo; r < hi; r++)
        for (size_t j = 0; j < nf; j++) w->b->bin[r * nf + j] = bin_of(w->b, (int)j, w->x[r * nf + j]);
}

/* ---- trees under construction ----------------------------------------------------------- */

typedef struct {
    int feature; /* -1: leaf */
    int bin;     /* numeric: bins <= bin go left */
    int missing_left;
    int left, right;
    double value;
    uint8_t right_set[HIST_BINS]; /* categorical: 1 for categories that go right */
    uint8_t left_of[HIST_BINS];   /* by bin, the missing bin included: 1 goes left */
    size_t begin, end;            /* rows of this node in the sample order */
    double G, H;
} gnode;

typedef struct {
    int n;
    gnode *node;
} gtree;

typedef struct {
    double g, h;
} gh;

/* ---- threads -------------------------------------------------------------------------------- */

/* Runs fn(ctx, t, T) for t = 0..T-1, t = 0 on this thread. Work is split so
 * that every sum still runs in one fixed order: the result does not depend on
 * T. */
typedef void (*par_fn)(void *ctx, int t, int T);

typedef struct {
    par_fn fn;
    void *ctx;
    int t, T;
} par_job;

static void *par_thread(void *arg)
{
    par_job *j = arg;
    j->fn(j->ctx, j->t, j->T);
    return NULL;
}

static void run_parallel(int T, par_fn fn, void *ctx)
{
    if (T > 64) T = 64;
    if (T <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_t tid[64];
    par_job jobs[64];
    int started[64] = {0};
    for (int t = 1; t < T; t++) {
        jobs[t] = (par_job){fn, ctx, t, T};
        started[t] = pthread_create(&tid[t], NULL, par_thread, &jobs[t]) == 0;
    }
    fn(ctx, 0, T);
    for (int t = 1; t < T; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            fn(ctx, t, T); /* no thread: the same share, here */
    }
}

/* ---- histograms: each thread a range of columns, over every node given --------------------------- */

typedef struct {
    const binned *b;
    const gh *grad;
    const size_t *rows;
    int count_split; /* the hessian column holds row counts */
    int n_nodes;
    const size_t *begin, *end; /* per node: its rows */
    gh *const *hist;           /* per node: (nf, HIST_BINS) */
} hist_work;

#define HIST_AHEAD 16 /* rows */

static void hist_part(void *ctx, int t, int T)
{
    const hist_work *w = ctx;
    int nf = w->b->nf, f0 = nf * t / T, f1 = nf * (t + 1) / T;
    for (int q = 0; q < w->n_nodes; q++) {
        gh *hist = w->hist[q];
        for (int f = f0; f < f1; f++) memset(hist + (size_t)f * HIST_BINS, 0, HIST_BINS * sizeof(gh));
        for (size_t i = w->begin[q]; i < w->end[q]; i++) {
            size_t r = w->rows[i];
            if (i + HIST_AHEAD < w->end[q]) { /* a node's rows are scattered: fetch ahead, as XGBoost does */
                size_t ra = w->rows[i + HIST_AHEAD];
                __builtin_prefetch(w->b->bin + ra * (size_t)nf + f0);
                __builtin_prefetch(&w->grad[ra]);
            }
            const uint8_t *br = w->b->bin + r * (size_t)nf;
            gh v = w->grad[r];
            if (w->count_split) v.h = 1;
            for (int f = f0; f < f1; f++) {
                gh *cell = hist + (size_t)f * HIST_BINS + br[f];
                cell->g += v.g;
                cell->h += v.h;
            }
        }
    }
}

/* Histograms of n_nodes nodes at once (one thread start for the whole level). */
static void build_hists(const binned *b, const gh *grad, const size_t *rows, int count_split, int n_nodes,
                        const size_t *begin, const size_t *end, gh *const *hist, int threads)
{
    size_t cells = 0;
    for (int q = 0; q < n_nodes; q++) cells += (end[q] - begin[q]) * (size_t)b->nf;
    hist_work w = {b, grad, rows, count_split, n_nodes, begin, end, hist};
    int T = threads < b->nf ? threads : b->nf;
    run_parallel(cells < 200000 ? 1 : T, hist_part, &w);
}

/* ---- split finding ----------------------------------------------------------------------- */

static double score(double G, double H, double l2) { return G * G / (H + l2); }

typedef struct {
    double gain;
    int feature, bin, missing_left;
    int categorical;
    double GL, HL; /* the left child's sums */
    uint8_t right_set[HIST_BINS];
} split;

typedef struct {
    double ratio;
    int bin;
} cat_order;

static int cmp_cat(const void *a, const void *b)
{
    const cat_order *x = a, *y = b;
    if (x->ratio != y->ratio) return x->ratio < y->ratio ? -1 : 1;
    return x->bin - y->bin;
}

/* Every split that sends the first k+1 bins of order[] left (order NULL: bins
 * in their own order), with the node's missing rows right and then left.
 * Updates *best's gain, sums and missing side on an improvement and returns
 * the k of the last one, or -1 when none beat it. */
static int best_prefix(const gh *hf, const int *order, int m, double G, double H, double parent,
                       const gbt_options *o, split *best)
{
    double Gm = hf[MISSING_BIN].g, Hm = hf[MISSING_BIN].h;
    double GL = 0, HL = 0;
    int found = -1;
    for (int k = 0; k < m - 1; k++) {
        int bin = order ? order[k] : k;
        GL += hf[bin].g;
        HL += hf[bin].h;
        for (int ml = 0; ml < 2; ml++) {
            double gl = GL + (ml ? Gm : 0), hl = HL + (ml ? Hm : 0);
            double gr = G - gl, hr = H - hl;
            if (hl < o->min_child_weight || hr < o->min_child_weight) continue;
            double gain = score(gl, hl, o->l2) + score(gr, hr, o->l2) - parent;
            if (gain > best->gain + 1e-12) {
                best->gain = gain;
                best->missing_left = ml;
                best->GL = gl;
                best->HL = hl;
                found = k;
            }
        }
    }
    return found;
}

/* The best split of a node with sums (G, H) and histogram hist, over the
 * columns in use[]; gain 0 when none is worth it. */
static split best_split(const binned *b, const gh *hist, double G, double H, const uint8_t *use,
                        const gbt_options *o)
{
    split best;
    memset(&best, 0, sizeof best);
    best.feature = -1;
    double parent = score(G, H, o->l2);
    for (int f = 0; f < b->nf; f++) {
        if (!use[f]) continue;
        const gh *hf = hist + (size_t)f * HIST_BINS;
        int nb = b->n_bins[f];
        if (!b->is_category[f]) {
            int k = best_prefix(hf, NULL, nb, G, H, parent, o, &best);
            if (k >= 0) {
                best.feature = f;
                best.bin = k;
                best.categorical = 0;
            }
            continue;
        }
        /* categories present in the node, ordered by G/H; prefixes go left */
        cat_order ord[HIST_BINS];
        int m = 0;
        for (int k = 0; k < nb && k < MISSING_BIN; k++)
            if (hf[k].h > 0) ord[m++] = (cat_order){hf[k].g / (hf[k].h + o->l2), k};
        if (m < 2) continue;
        qsort(ord, (size_t)m, sizeof *ord, cmp_cat);
        int bins[HIST_BINS];
        for (int q = 0; q < m; q++) bins[q] = ord[q].bin;
        int k = best_prefix(hf, bins, m, G, H, parent, o, &best);
        if (k >= 0) {
            best.feature = f;
            best.categorical = 1;
            memset(best.right_set, 0, sizeof best.right_set);
            for (int q = k + 1; q < m; q++) best.right_set[bins[q]] = 1;
        }
    }
    return best;
}

/* The node's rule as a table over bins, so routing a row is one load. */
static void fill_left_of(const binned *b, gnode *nd)
{
    for (int v = 0; v < HIST_BINS; v++)
        nd->left_of[v] = (uint8_t)(b->is_category[nd->feature] ? !nd->right_set[v] : v <= nd->bin);
    nd->left_of[MISSING_BIN] = (uint8_t)nd->missing_left;
}

static inline int goes_left(const binned *b, const gnode *nd, size_t r)
{
    return nd->left_of[b->bin[r * (size_t)b->nf + (size_t)nd->feature]];
}

/* ---- one tree ---------------------------------------------------------------------------------- */

/* Partitions of the nodes of a level, each in its own row range (tmp's same
 * range is its scratch): thread t takes nodes t, t + T, ... */
typedef struct {
    const binned *b;
    gtree *tree;
    size_t *rows, *tmp;
    const int *nodes;
    int n_nodes;
    size_t *n_left; /* per node */
} part_work;

static void part_part(void *ctx, int t, int T)
{
    part_work *w = ctx;
    for (int q = t; q < w->n_nodes; q += T) {
        const gnode *nd = &w->tree->node[w->nodes[q]];
        size_t nl = 0, nr = 0, *tmp = w->tmp + nd->begin;
        const uint8_t *col = w->b->bin + (size_t)nd->feature;
        /* stable and branch-free: a row is written both ways, one count moves */
        for (size_t k = nd->begin; k < nd->end; k++) {
            size_t r = w->rows[k];
            if (k + HIST_AHEAD < nd->end)
                __builtin_prefetch(col + w->rows[k + HIST_AHEAD] * (size_t)w->b->nf);
            int left = nd->left_of[col[r * (size_t)w->b->nf]];
            w->rows[nd->begin + nl] = r;
            tmp[nr] = r;
            nl += (size_t)left;
            nr += (size_t)!left;
        }
        memcpy(w->rows + nd->begin + nl, tmp, nr * sizeof *w->rows);
        w->n_left[q] = nl;
    }
}

/* The root's sums, block by block (SUM_BLOCK rows, in row order within each). */
#define SUM_BLOCK 65536

typedef struct {
    const gh *grad;
    const size_t *rows;
    size_t n_rows;
    int count_split;
    gh *part; /* (n_blocks,) */
    size_t n_blocks;
} sum_work;

static void sum_part(void *ctx, int t, int T)
{
    sum_work *w = ctx;
    for (size_t k = (size_t)t; k < w->n_blocks; k += (size_t)T) {
        size_t hi = (k + 1) * SUM_BLOCK < w->n_rows ? (k + 1) * SUM_BLOCK : w->n_rows;
        double G = 0, H = 0;
        for (size_t i = k * SUM_BLOCK; i < hi; i++) {
            G += w->grad[w->rows[i]].g;
            H += w->count_split ? 1 : w->grad[w->rows[i]].h;
        }
        w->part[k] = (gh){G, H};
    }
}

/* Each leaf's value and cover from its own rows. */
typedef struct {
    gtree *tree;
    const gh *grad;
    const size_t *rows;
    const gbt_options *o;
} leafsum_work;

static void leafsum_part(void *ctx, int t, int T)
{
    leafsum_work *w = ctx;
    int k = 0;
    for (int i = 0; i < w->tree->n; i++) {
        gnode *nd = &w->tree->node[i];
        if (nd->feature >= 0 || k++ % T != t) continue;
        double G = 0, H = 0;
        for (size_t r = nd->begin; r < nd->end; r++) {
            G += w->grad[w->rows[r]].g;
            H += w->grad[w->rows[r]].h;
        }
        nd->value = -G / (H + w->o->l2) * w->o->learning_rate;
        nd->H = H; /* the exact sum: TreeSHAP's cover */
    }
}

static int grow_tree(gtree *t, const binned *b, const gh *grad, size_t *rows, size_t n_rows, size_t *tmp,
                     const uint8_t *use, const gbt_options *o, gh *hists, int threads)
{
    int cap = (1 << (o->max_depth + 1)) - 1;
    t->node = calloc((size_t)cap, sizeof *t->node);
    int *split_nodes = malloc((size_t)cap * sizeof *split_nodes);
    size_t *n_left = malloc((size_t)cap * sizeof *n_left), *hb = malloc((size_t)cap * sizeof *hb),
           *he = malloc((size_t)cap * sizeof *he);
    gh **hp = malloc((size_t)cap * sizeof *hp);
    int *small = malloc((size_t)cap * sizeof *small), *large = malloc((size_t)cap * sizeof *large),
        *parent = malloc((size_t)cap * sizeof *parent);
    double *GL = malloc((size_t)cap * sizeof *GL), *HL = malloc((size_t)cap * sizeof *HL);
    int rc = -1;
    if (!t->node || !split_nodes || !n_left || !hb || !he || !hp || !small || !large || !parent || !GL || !HL)
        goto out;
    t->n = 1;
    gnode *root = &t->node[0];
    root->feature = -1;
    root->begin = 0;
    root->end = n_rows;
    { /* sums over blocks of SUM_BLOCK rows, added in block order: the same for any thread count */
        size_t n_blocks = (n_rows + SUM_BLOCK - 1) / SUM_BLOCK;
        gh *part = malloc((n_blocks ? n_blocks : 1) * sizeof *part);
        if (!part) goto out;
        sum_work sw = {grad, rows, n_rows, o->count_split, part, n_blocks};
        run_parallel(n_rows < 100000 ? 1 : threads, sum_part, &sw);
        for (size_t k = 0; k < n_blocks; k++) {
            root->G += part[k].g;
            root->H += part[k].h;
        }
        free(part);
    }
    size_t hsize = (size_t)b->nf * HIST_BINS;
    /* hists: one histogram per node of the tree (node i at hists + i * hsize) */
    hb[0] = 0;
    he[0] = n_rows;
    hp[0] = hists;
    build_hists(b, grad, rows, o->count_split, 1, hb, he, hp, threads);
    int level_begin = 0, level_end = 1;
    for (int depth = 0; depth < o->max_depth; depth++) {
        int n_split = 0;
        for (int i = level_begin; i < level_end; i++) {
            gnode *nd = &t->node[i];
            if (nd->end - nd->begin < 2) continue;
            split s = best_split(b, hists + (size_t)i * hsize, nd->G, nd->H, use, o);
            if (s.feature < 0) continue;
            nd->feature = s.feature;
            nd->bin = s.bin;
            nd->missing_left = s.missing_left;
            memcpy(nd->right_set, s.right_set, sizeof nd->right_set);
            fill_left_of(b, nd);
            split_nodes[n_split] = i;
            GL[n_split] = s.GL; /* the left child's sums, from the histogram */
            HL[n_split] = s.HL;
            n_split++;
        }
        if (n_split == 0) break;
        part_work pw = {b, t, rows, tmp, split_nodes, n_split, n_left};
        size_t level_rows = 0;
        for (int q = 0; q < n_split; q++)
            level_rows += t->node[split_nodes[q]].end - t->node[split_nodes[q]].begin;
        run_parallel(level_rows < 100000 ? 1 : threads, part_part, &pw);
        int n_small = 0;
        for (int q = 0; q < n_split; q++) {
            int i = split_nodes[q];
            size_t nl = n_left[q];
            int L = t->n++, R = t->n++;
            gnode *nd = &t->node[i], *l = &t->node[L], *r = &t->node[R];
            nd->left = L;
            nd->right = R;
            l->feature = r->feature = -1;
            l->begin = nd->begin;
            l->end = nd->begin + nl;
            r->begin = l->end;
            r->end = nd->end;
            l->G = GL[q]; /* the histogram's sums: no pass over the rows */
            l->H = HL[q];
            r->G = nd->G - l->G;
            r->H = nd->H - l->H;
            if (depth + 1 < o->max_depth) { /* the smaller child's histogram built, the other by difference */
                int sm = nl <= nd->end - nd->begin - nl ? L : R;
                small[n_small] = sm;
                large[n_small] = sm == L ? R : L;
                parent[n_small] = i;
                hb[n_small] = t->node[sm].begin;
                he[n_small] = t->node[sm].end;
                hp[n_small] = hists + (size_t)sm * hsize;
                n_small++;
            }
        }
        if (n_small) {
            build_hists(b, grad, rows, o->count_split, n_small, hb, he, hp, threads);
            for (int q = 0; q < n_small; q++) {
                const gh *ph = hists + (size_t)parent[q] * hsize, *sh = hists + (size_t)small[q] * hsize;
                gh *lh = hists + (size_t)large[q] * hsize;
                for (size_t c = 0; c < hsize; c++) {
                    lh[c].g = ph[c].g - sh[c].g;
                    lh[c].h = ph[c].h - sh[c].h;
                }
            }
        }
        level_begin = level_end;
        level_end = t->n;
    }
    /* the leaves' own sums, from their rows (with count splits the node's H is a
     * row count; and a subtraction-free sum is exact): thread t takes leaves t, t + T, ... */
    leafsum_work lw = {t, grad, rows, o};
    run_parallel(n_rows < 100000 ? 1 : threads, leafsum_part, &lw);
    rc = 0;
out:
    free(split_nodes);
    free(n_left);
    free(hb);
    free(he);
    free(hp);
    free(small);
    free(large);
    free(parent);
    free(GL);
    free(HL);
    return rc;
}

static double tree_value(const gtree *t, const binned *b, size_t r)
{
    int i = 0;
    while (t->node[i].feature >= 0) i = goes_left(b, &t->node[i], r) ? t->node[i].left : t->node[i].right;
    return t->node[i].value;
}

/* Gradients of the fitting rows, and margins of the rows outside the sample,
 * in row chunks across threads (each row's figure is its own: no sums). */
typedef struct {
    gbt_objective obj;
    const size_t *fit;
    size_t n_fit;
    const double *margin;
    const float *y;
    gh *grad;
} grad_work;

static void grad_part(void *ctx, int t, int T)
{
    const grad_work *w = ctx;
    for (size_t i = w->n_fit * (size_t)t / (size_t)T; i < w->n_fit * (size_t)(t + 1) / (size_t)T; i++) {
        size_t r = w->fit[i];
        grad_at(w->obj, w->margin[r], w->y[r], &w->grad[r].g, &w->grad[r].h);
    }
}

typedef struct {
    const gtree *tree;
    const binned *b;
    const uint8_t *in_sample;
    double *margin;
    size_t n;
} walk_work;

static double tree_value(const gtree *t, const binned *b, size_t r);

static void walk_part(void *ctx, int t, int T)
{
    const walk_work *w = ctx;
    for (size_t r = w->n * (size_t)t / (size_t)T; r < w->n * (size_t)(t + 1) / (size_t)T; r++)
        if (!w->in_sample[r]) w->margin[r] += (float)tree_value(w->tree, w->b, r);
}

typedef struct {
    const gtree *tree;
    const size_t *rows;
    double *margin;
    uint8_t *in_sample; /* NULL: every row is in the sample */
} leaf_work;

static void leaf_part(void *ctx, int t, int T)
{
    const leaf_work *w = ctx;
    for (int i = 0, leaf = 0; i < w->tree->n; i++) {
        const gnode *nd = &w->tree->node[i];
        if (nd->feature >= 0 || leaf++ % T != t) continue;
        float v = (float)nd->value;
        for (size_t k = nd->begin; k < nd->end; k++) {
            w->margin[w->rows[k]] += v;
            if (w->in_sample) w->in_sample[w->rows[k]] = 1;
        }
    }
}

/* ---- the ensemble ----------------------------------------------------------------------------- */

static double loss(gbt_objective obj, double f, double y)
{
    if (obj == GBT_REGRESSION) return (f - y) * (f - y);
    /* log(1 + e^f) - y f, stable */
    double l = f > 0 ? f + log1p(exp(-f)) : log1p(exp(f));
    return l - y * f;
}

/* -log softmax(row r's K margins)[y], stable */
static double softmax_loss(const double *margin, size_t n, int K, size_t r, int y)
{
    double top = margin[r], sum = 0;
    for (int c = 1; c < K; c++)
        if (margin[(size_t)c * n + r] > top) top = margin[(size_t)c * n + r];
    for (int c = 0; c < K; c++) sum += exp(margin[(size_t)c * n + r] - top);
    return top + log(sum) - margin[(size_t)y * n + r];
}

static int to_predictor_tree(tree *out, const gtree *t, const binned *b, float value_scale)
{
    if (trees_alloc_tree(out, t->n) != 0 || !(out->cover = malloc((size_t)t->n * sizeof *out->cover)))
        return -1;
    for (int i = 0; i < t->n; i++) {
        const gnode *nd = &t->node[i];
        out->cover[i] = (float)nd->H;
        if (nd->feature < 0) {
            out->value[i] = (float)nd->value * value_scale;
            continue;
        }
        out->feature[i] = nd->feature;
        out->left[i] = nd->left;
        out->right[i] = nd->right;
        out->default_left[i] = (unsigned char)nd->missing_left;
        if (b->is_category[nd->feature]) {
            int set[HIST_BINS], k = 0;
            for (int c = 0; c < HIST_BINS; c++)
                if (nd->right_set[c]) set[k++] = c;
            out->threshold[i] = 0;
            if (trees_set_categories(out, i, set, k) != 0) return -1;
        } else {
            out->threshold[i] = b->cut[nd->feature][nd->bin]; /* bin <= b  <=>  x < cut[b] */
        }
    }
    return 0;
}

static tree_ensemble *fit(const float *x, float *owned_x, const float *y, size_t n, int nf,
                          const int *is_category, const int *n_categories, const gbt_options *o, float scale,
                          int *rounds, char *err);
static tree_ensemble *fit_bag(const float *x, float *owned_x, const float *y, size_t n, int nf,
                              const int *is_category, const int *n_categories, const gbt_options *o,
                              int *rounds, char *err);

tree_ensemble *gbt_fit(const float *x, const float *y, size_t n, int nf, const int *is_category,
                       const int *n_categories, const gbt_options *o, int *rounds, char *err)
{
    return fit_bag(x, NULL, y, n, nf, is_category, n_categories, o, rounds, err);
}

tree_ensemble *gbt_fit_owned(float *x, const float *y, size_t n, int nf, const int *is_category,
                             const int *n_categories, const gbt_options *o, int *rounds, char *err)
{
    return fit_bag(x, x, y, n, nf, is_category, n_categories, o, rounds, err);
}

/* A bag of o->bag boosted ensembles, each from its own seed (its own row and
 * column draws, its own held-out rows), averaged: their trees concatenated
 * with every leaf scaled by 1/bag, and the mean of their base scores. It
 * averages away the sampling noise of one ensemble, and stays one tree
 * ensemble for the predictor. */
static tree_ensemble *fit_bag(const float *x, float *owned_x, const float *y, size_t n, int nf,
                              const int *is_category, const int *n_categories, const gbt_options *o,
                              int *rounds, char *err)
{
    if (o->bag <= 1) return fit(x, owned_x, y, n, nf, is_category, n_categories, o, 1.0f, rounds, err);
    if (o->bag > GBT_MAX_BAG) {
        err_set(err, "gbt: a bag holds 1 to %d ensembles", GBT_MAX_BAG);
        free(owned_x);
        return NULL;
    }
    tree_ensemble *bag = NULL;
    double base[GBT_MAX_CLASSES] = {0};
    *rounds = 0;
    for (int k = 0; k < o->bag; k++) {
        gbt_options one = *o;
        one.bag = 1;
        one.seed = o->seed + GBT_BAG_SEED_STEP * (unsigned long long)k;
        int r = 0; /* the last member frees an owned x */
        tree_ensemble *e = fit(x, k == o->bag - 1 ? owned_x : NULL, y, n, nf, is_category, n_categories, &one,
                               (float)(1.0 / o->bag), &r, err);
        if (!e) {
            if (k < o->bag - 1) free(owned_x);
            if (bag) predictor_free(&bag->base);
            return NULL;
        }
        for (int c = 0; c < e->base.n_outputs && c < GBT_MAX_CLASSES; c++) base[c] += e->base_score[c];
        size_t had = bag ? bag->n_trees : 0;
        tree *grown = bag ? realloc(bag->trees, (had + e->n_trees) * sizeof *grown) : NULL;
        if (bag && !grown) {
            err_set(err, "out of memory");
            if (k < o->bag - 1) free(owned_x);
            predictor_free(&bag->base);
            predictor_free(&e->base);
            return NULL;
        }
        if (!bag) {
            bag = e;
        } else { /* the member's trees move over */
            bag->trees = grown;
            memcpy(bag->trees + had, e->trees, e->n_trees * sizeof *e->trees);
            bag->n_trees = had + e->n_trees;
            e->n_trees = 0;
            predictor_free(&e->base);
        }
        *rounds += r;
    }
    for (int c = 0; c < bag->base.n_outputs && c < GBT_MAX_CLASSES; c++)
        bag->base_score[c] = (float)(base[c] / o->bag);
    return bag;
}

/* owned_x: x is the caller's to free once binned (NULL: keep it) */
static tree_ensemble *fit(const float *x, float *owned_x, const float *y, size_t n, int nf,
                          const int *is_category, const int *n_categories, const gbt_options *o, float scale,
                          int *rounds, char *err)
{
    uint64_t rng = o->seed ^ 0x6762745f73656564ull;
    binned b = {n, nf, NULL, NULL, NULL, is_category};
    size_t *order = NULL, *rows = NULL, *tmp = NULL;
    gh *grad = NULL, *hists = NULL;
    double *margin = NULL;
    gtree *trees = NULL;
    uint8_t *use = NULL;
    tree_ensemble *e = NULL;
    int built = 0, best_round = 0;
    int multiclass = o->objective == GBT_MULTICLASS, K = multiclass ? o->n_classes : 1;
    double *prob = NULL;
    size_t *sample = NULL;
    if (o->max_depth < 1 || o->max_depth > MAX_DEPTH || o->max_bins < 3 || o->max_bins > 256 ||
        o->trees < 1 || (multiclass && (K < 3 || K > GBT_MAX_CLASSES))) {
        err_set(err, "gbt: max depth must be 1 to %d, bins 3 to 256, trees at least 1, classes 3 to %d",
                MAX_DEPTH, GBT_MAX_CLASSES);
        free(owned_x);
        return NULL;
    }
    int threads = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;
    /* the bins first, from every row: with an owned x the floats are freed
     * before the boosting buffers are taken, so the two never coexist */
    b.bin = malloc(n * (size_t)nf);
    b.cut = calloc((size_t)nf, sizeof *b.cut);
    b.n_bins = calloc((size_t)nf, sizeof *b.n_bins);
    size_t hsize = (size_t)nf * HIST_BINS;
    if (!b.bin || !b.cut || !b.n_bins) {
        err_set(err, "out of memory for %zu rows of boosting", n);
        goto done;
    }
    for (int j = 0; j < nf; j++) {
        if (is_category[j] && n_categories[j] > MISSING_BIN) {
            err_set(err, "gbt: column %d has %d categories; at most %d are supported", j, n_categories[j],
                    MISSING_BIN);
            goto done;
        }
        if (is_category[j]) b.n_bins[j] = n_categories[j];
    }
    { /* cuts by column, then bins by rows, on all threads: each result is the one-thread one */
        int T = n < 100000 ? 1 : threads > 64 ? 64 : threads;
        bin_work bw = {&b, x, n, o->max_bins - 2, {0}};
        run_parallel(T, cut_part, &bw);
        for (int t = 0; t < T; t++)
            if (bw.failed[t]) {
                err_set(err, "out of memory");
                goto done;
            }
        run_parallel(T, bin_part, &bw);
    }
    if (owned_x) { /* the floats are done with: the bins stand for them */
        free(owned_x);
        x = owned_x = NULL;
    }
    /* held-out rows for early stopping: the last val_fraction of a shuffle */
    if (!(order = malloc((n ? n : 1) * sizeof *order))) {
        err_set(err, "out of memory for %zu rows of boosting", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) order[i] = i;
    rng_shuffle(order, n, &rng);
    size_t n_val = o->early_stopping > 0 ? (size_t)((double)n * o->val_fraction) : 0;
    if (n_val >= n) n_val = 0;
    size_t n_fit = n - n_val;
    const size_t *fit = order, *val = order + n_fit;
    { /* the fitting rows in row order: histograms read memory in order, and a
       * full sample is just this list */
        uint8_t *mark = calloc(n ? n : 1, 1);
        if (!mark) {
            err_set(err, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n_fit; i++) mark[order[i]] = 1;
        size_t k = 0;
        for (size_t r = 0; r < n; r++)
            if (mark[r]) order[k++] = r;
        free(mark);
    }
    rows = malloc((n ? n : 1) * sizeof *rows);
    tmp = malloc((n ? n : 1) * sizeof *tmp);
    grad = malloc((n ? n : 1) * sizeof *grad);
    margin = malloc((n ? n : 1) * (size_t)K * sizeof *margin); /* class c's at margin + c * n */
    trees = calloc((size_t)o->trees * (size_t)K, sizeof *trees);
    use = malloc((size_t)nf);
    hists = malloc(((size_t)1 << (o->max_depth + 1)) * hsize * sizeof *hists);
    if (multiclass) {
        prob = malloc((n ? n : 1) * (size_t)K * sizeof *prob);
        sample = malloc((n ? n : 1) * sizeof *sample);
    }
    if (!rows || !tmp || !grad || !margin || !trees || !use || !hists || (multiclass && (!prob || !sample))) {
        err_set(err, "out of memory for %zu rows of boosting", n);
        goto done;
    }
    /* the starting margin: the fitting rows' mean, through the link (for
     * classes, the log of each class's share) */
    double base[GBT_MAX_CLASSES];
    if (multiclass) {
        double count[GBT_MAX_CLASSES] = {0};
        for (size_t i = 0; i < n_fit; i++) count[(int)y[fit[i]]] += 1;
        for (int c = 0; c < K; c++) {
            double share = n_fit ? count[c] / (double)n_fit : 1.0 / K;
            base[c] = (float)log(share < 1e-6 ? 1e-6 : share);
        }
    } else {
        double mean = 0;
        for (size_t i = 0; i < n_fit; i++) mean += y[fit[i]];
        mean = n_fit ? mean / (double)n_fit : 0;
        base[0] = mean;
        if (o->objective == GBT_BINARY) {
            double p = mean < 1e-6 ? 1e-6 : mean > 1 - 1e-6 ? 1 - 1e-6 : mean;
            base[0] = log(p / (1 - p));
        }
        base[0] = (float)base[0]; /* the served model starts from this float */
    }
    for (int c = 0; c < K; c++)
        for (size_t r = 0; r < n; r++) margin[(size_t)c * n + r] = base[c];
    double best_loss = INFINITY;
    int since_best = 0;
    size_t n_sample = (size_t)((double)n_fit * (o->subsample > 0 && o->subsample < 1 ? o->subsample : 1));
    if (n_sample < 1) n_sample = n_fit;
    for (int t = 0; t < o->trees; t++) {
        progress_step(o->progress, "trees", t + 1, o->trees);
        if (multiclass) { /* this round's class probabilities, before any of its trees */
            for (size_t r = 0; r < n; r++) {
                double top = margin[r], sum = 0;
                for (int c = 1; c < K; c++)
                    if (margin[(size_t)c * n + r] > top) top = margin[(size_t)c * n + r];
                for (int c = 0; c < K; c++)
                    sum += prob[r * (size_t)K + (size_t)c] = exp(margin[(size_t)c * n + r] - top);
                for (int c = 0; c < K; c++) prob[r * (size_t)K + (size_t)c] /= sum;
            }
        } else {
            grad_work gw = {o->objective, fit, n_fit, margin, y, grad};
            run_parallel(n_fit < 100000 ? 1 : threads, grad_part, &gw);
        }
        /* rows: a draw without replacement (all when subsample is 1), kept in row order */
        memcpy(rows, fit, n_fit * sizeof *rows);
        if (n_sample < n_fit) {
            for (size_t i = 0; i < n_sample; i++) { /* partial Fisher-Yates */
                size_t j = i + (size_t)(rng_next(&rng) % (n_fit - i));
                size_t s = rows[i];
                rows[i] = rows[j];
                rows[j] = s;
            }
        }
        /* sort the drawn rows: histograms then read the rows in memory order */
        memset(use, 0, (size_t)nf);
        if (n_sample < n_fit) {
            for (size_t i = 0; i < n_sample; i++) tmp[i] = rows[i];
            /* counting sort by row index through a bitmap */
            uint8_t *mark = calloc(n, 1);
            if (!mark) {
                err_set(err, "out of memory");
                goto done;
            }
            for (size_t i = 0; i < n_sample; i++) mark[tmp[i]] = 1;
            size_t k = 0;
            for (size_t r = 0; r < n; r++)
                if (mark[r]) rows[k++] = r;
            free(mark);
        }
        /* columns: a draw of colsample of them (at least one) */
        int n_use = (int)ceil(o->colsample * nf);
        if (n_use < 1) n_use = 1;
        if (n_use >= nf) {
            memset(use, 1, (size_t)nf);
        } else {
            int pick[4096];
            for (int j = 0; j < nf && j < 4096; j++) pick[j] = j;
            for (int j = 0; j < n_use; j++) {
                int q = j + (int)(rng_next(&rng) % (uint64_t)(nf - j));
                int s = pick[j];
                pick[j] = pick[q];
                pick[q] = s;
                use[pick[j]] = 1;
            }
        }
        if (multiclass) memcpy(sample, rows, n_sample * sizeof *sample);
        for (int c = 0; c < K; c++) {
            gtree *tr = &trees[(size_t)t * (size_t)K + (size_t)c];
            double *mc = margin + (size_t)c * n;
            if (multiclass) { /* softmax's gradient for class c; the rows again in row order */
                memcpy(rows, sample, n_sample * sizeof *rows);
                for (size_t i = 0; i < n_fit; i++) {
                    size_t r = fit[i];
                    double p = prob[r * (size_t)K + (size_t)c];
                    grad[r].g = p - ((int)y[r] == c);
                    grad[r].h = p * (1 - p) > 1e-16 ? p * (1 - p) : 1e-16;
                }
            }
            if (grow_tree(tr, &b, grad, rows, n_sample, tmp, use, o, hists, threads) != 0) {
                err_set(err, "out of memory");
                goto done;
            }
            built = t * K + c + 1;
            /* the sampled rows sit in their leaves' ranges (threads take leaves in
             * turn: each row is updated once); the others (held out, or not drawn)
             * walk the tree */
            int all = n_sample == n;
            uint8_t *in_sample = all ? NULL : (uint8_t *)tmp; /* tmp is free again: n bytes of it */
            if (!all) memset(in_sample, 0, n);
            leaf_work lw = {tr, rows, mc, in_sample};
            run_parallel(n_sample < 100000 ? 1 : threads, leaf_part, &lw);
            if (!all) {
                walk_work ww = {tr, &b, in_sample, mc, n};
                run_parallel(n < 100000 ? 1 : threads, walk_part, &ww);
            }
        }
        if (n_val) {
            double l = 0;
            for (size_t i = 0; i < n_val; i++)
                l += multiclass ? softmax_loss(margin, n, K, val[i], (int)y[val[i]])
                                : loss(o->objective, margin[val[i]], y[val[i]]);
            l /= (double)n_val;
            if (l < best_loss - 1e-12) {
                best_loss = l;
                best_round = t + 1;
                since_best = 0;
            } else if (++since_best >= o->early_stopping) {
                break;
            }
        } else {
            best_round = t + 1;
        }
    }
    e = trees_create(nf, K, (size_t)best_round * (size_t)K, NULL);
    if (!e) {
        err_set(err, "out of memory");
        goto done;
    }
    for (int c = 0; c < K; c++) e->base_score[c] = (float)base[c];
    for (int t = 0; t < best_round * K; t++) {
        if (to_predictor_tree(&e->trees[t], &trees[t], &b, scale) != 0) {
            err_set(err, "out of memory");
            predictor_free(&e->base);
            e = NULL;
            goto done;
        }
        e->trees[t].output = t % K;
    }
    *rounds = best_round;
done:
    for (int t = 0; trees && t < built; t++) free(trees[t].node);
    free(prob);
    free(sample);
    for (int j = 0; b.cut && j < nf; j++) free(b.cut[j]);
    free(b.cut);
    free(b.n_bins);
    free(b.bin);
    free(order);
    free(rows);
    free(tmp);
    free(grad);
    free(margin);
    free(trees);
    free(use);
    free(hists);
    free(owned_x); /* when the fit stopped before binning */
    return e;
}
