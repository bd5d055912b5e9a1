/* explain — the four methods, and the grouping of columns into inputs. */
#include "explain/explain.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "estimators/blend.h"
#include "estimators/linear.h"
#include "estimators/trees.h"
#include "explain/treeshap.h"

#define CHUNK_ROWS 1024 /* rows scored at once by the interventional method */

const char *explain_method_name(explain_method method)
{
    switch (method) {
    case EXPLAIN_TREES: return "tree_path_dependent";
    case EXPLAIN_LINEAR: return "linear";
    case EXPLAIN_SAMPLED: return "interventional_sampled";
    case EXPLAIN_INTERVENTIONAL: break;
    }
    return "interventional";
}

/* Whether the interventional method enumerates coalitions for m: asked for
 * (tests and benchmarks compare the ways) where it can. */
static int enumeration_forced(const model *m, explain_way way)
{
    return way == EXPLAIN_WAY_ENUMERATE && m->schema.n_inputs <= EXPLAIN_MAX_INPUTS;
}

static int enumerated(const model *m, explain_way way)
{
    const predictor *p = m->predictor;
    if (enumeration_forced(m, way)) return 1;
    if (trees_of(p)) return 0;
    const blend *b = blend_of(p);
    if (!b) return 1;
    for (int i = 0; i < b->n_members; i++)
        if (!trees_of(b->members[i].p)) return 1;
    return 0;
}

static int method_of(const model *m, explain_way way, explain_method *out, char *err)
{
    const tree_ensemble *e = trees_of(m->predictor);
    if (e && treeshap_possible(e)) {
        *out = EXPLAIN_TREES;
        return 0;
    }
    if (linear_is(m->predictor)) {
        *out = EXPLAIN_LINEAR;
        return 0;
    }
    *out = EXPLAIN_INTERVENTIONAL;
    /* exact values past their limits (2^k coalitions; trees' walks over 64
     * inputs), or asked for: estimated by sampling */
    if (way == EXPLAIN_WAY_SAMPLE || (enumerated(m, way) && m->schema.n_inputs > EXPLAIN_MAX_INPUTS) ||
        m->schema.n_inputs > EXPLAIN_MAX_TREE_INPUTS)
        *out = EXPLAIN_SAMPLED;
    if (!m->n_background)
        return err_set(err,
                       "this model has no background sample to measure contributions against (%s); add "
                       "\"background\": [rows of input values] to its schema file, or retrain it with "
                       "tabserve train",
                       e ? "its trees carry no covers" : "it is not a tree ensemble or a linear model");
    return 0;
}

int explain_method_of(const model *m, explain_method *out, char *err)
{
    return method_of(m, EXPLAIN_WAY_FASTEST, out, err);
}

typedef struct trees_cache trees_cache;

/* What explaining needs of a model, made once: the method, the feature
 * column -> input map, and for trees the per-leaf tables. */
struct explainer {
    const model *m;
    explain_method method;
    int *input_of;           /* (n_features,) the input whose feature writes each column */
    treeshap_tables *tables; /* NULL: the recursion (not built, or too large) */
    /* interventional: per member (the predictor itself when not a blend), the
     * trees' background ways (e NULL: enumerated) */
    trees_cache *trees;
    int n_members;
    int pairs;          /* sampled: antithetic pairs a row, a multiple of the background rows */
    double row_seconds; /* one row's explanation, measured when made (explainer_create) */
};

/* column -> the input whose feature writes it */
static void column_inputs(const model *m, int *input_of)
{
    for (size_t f = 0; f < m->features.n; f++)
        for (int c = 0; c < m->features.f[f].width; c++)
            input_of[m->features.f[f].offset + c] = (int)m->features.f[f].input;
}

static int explain_trees(const explainer *ex, const float *x, double *margin, double *base, double *contrib)
{
    const model *m = ex->m;
    const tree_ensemble *e = trees_of(m->predictor);
    const int *input_of = ex->input_of;
    int nf = m->n_features, k = m->predictor->n_outputs;
    size_t ni = m->schema.n_inputs;
    double *phi = malloc((size_t)k * (size_t)(nf + 1) * sizeof *phi);
    if (!phi) return -1;
    if (ex->tables)
        treeshap_row_tables(e, ex->tables, x, phi);
    else
        treeshap_row(e, x, phi);
    for (int o = 0; o < k; o++) {
        const double *row = phi + (size_t)o * (size_t)(nf + 1);
        double *c = contrib + (size_t)o * ni;
        memset(c, 0, ni * sizeof *c);
        base[o] = row[nf];
        margin[o] = row[nf];
        for (int col = 0; col < nf; col++) {
            c[input_of[col]] += row[col];
            margin[o] += row[col];
        }
    }
    free(phi);
    return 0;
}

/* Scores rows (n, nf) into margins (n, k): the predictor, no link. */
static void margins(const model *m, const float *rows, int n, float *scratch, float *y)
{
    memset(y, 0, (size_t)n * (size_t)m->predictor->n_outputs * sizeof *y);
    m->predictor->ops->predict(m->predictor, rows, n, scratch, y);
}

/* Shapley's weight of a coalition of s of k players: s! (k - s - 1)! / k! */
static double coalition_weight(int s, int k)
{
    double w = 1.0 / k;
    for (int i = 1; i <= s; i++) w *= (double)i / (k - i);
    return w;
}

/* Adds weight x (v(none), v(all), Shapley values) of the game value[S * k + o]
 * (2^ni coalitions, k outputs) into base, margin and contributions. */
static void add_shapley(const double *value, int ni, int k, double weight, double *margin, double *base,
                        double *contrib)
{
    size_t coalitions = (size_t)1 << ni;
    for (int o = 0; o < k; o++) {
        base[o] += weight * value[o];
        margin[o] += weight * value[(coalitions - 1) * (size_t)k + (size_t)o];
        for (int i = 0; i < ni; i++) {
            double phi = 0;
            for (size_t s = 0; s < coalitions; s++) {
                if (s >> i & 1) continue;
                int size = __builtin_popcountll(s);
                phi += coalition_weight(size, ni) * (value[(s | (size_t)1 << i) * (size_t)k + (size_t)o] -
                                                     value[s * (size_t)k + (size_t)o]);
            }
            contrib[(size_t)o * (size_t)ni + (size_t)i] += weight * phi;
        }
    }
}

/* The coalition's mask gathered onto the bits of `differ` (pext): the index of
 * S's distinct row among background row b's rows. */
static size_t gather_bits(size_t s, size_t differ)
{
    size_t out = 0;
    for (int j = 0; differ; differ &= differ - 1, j++)
        if (s & (differ & -differ)) out |= (size_t)1 << j;
    return out;
}

/* Interventional Shapley values of one member p (its columns from `offset`)
 * by enumeration: v(S) for every coalition S is the mean over background rows
 * b of the margin of the row taking S's inputs from x and the rest from b. An
 * input where b already equals x (the same Sex, the same class: often)
 * changes nothing, so each b needs only the 2^|D_b| rows of the inputs D_b
 * where it differs; each distinct row is scored once, in batches, and v(S)
 * reads b's row for S & D_b. The same values as scoring all 2^k x background
 * rows. Adds weight x (base, margin, contributions) into the outputs. */
static int enumerate_member(const explainer *ex, const predictor *p, int offset, double weight,
                            const float *x, double *margin, double *base, double *contrib)
{
    const model *m = ex->m;
    const int *input_of = ex->input_of + offset;
    int nf = m->n_features, w = p->n_features, k = p->n_outputs, ni = (int)m->schema.n_inputs,
        nb = m->n_background;
    x += offset;
    size_t coalitions = (size_t)1 << ni;
    size_t *differ = malloc((size_t)nb * sizeof *differ), *first = malloc(((size_t)nb + 1) * sizeof *first);
    double *value = calloc(coalitions * (size_t)k, sizeof *value); /* v(S): the mean margin */
    float *rows = NULL, *y = NULL, *scratch = NULL, *ys = NULL;
    int rc = -1;
    if (!differ || !first || !value) goto out;
    size_t total = 0;
    for (int bi = 0; bi < nb; bi++) {
        const float *bg = m->background + (size_t)bi * (size_t)nf + offset;
        differ[bi] = 0;
        for (int c = 0; c < w; c++)
            if (bg[c] != x[c]) differ[bi] |= (size_t)1 << input_of[c];
        first[bi] = total;
        total += (size_t)1 << __builtin_popcountll(differ[bi]);
    }
    first[nb] = total;
    int chunk = total < CHUNK_ROWS ? (int)total : CHUNK_ROWS;
    rows = malloc((size_t)chunk * (size_t)w * sizeof *rows);
    y = malloc((size_t)chunk * (size_t)k * sizeof *y);
    ys = malloc(total * (size_t)k * sizeof *ys); /* every distinct row's margins */
    scratch = malloc((p->ops->scratch_floats(p, chunk) + 1) * sizeof *scratch);
    if (!rows || !y || !ys || !scratch) goto out;
    /* the distinct rows, chunk by chunk: row j of background row b takes from x
     * the inputs of D_b whose bit is set in j */
    int bi = 0;
    for (size_t start = 0; start < total; start += (size_t)chunk) {
        int n = (int)(total - start < (size_t)chunk ? total - start : (size_t)chunk);
        for (int r = 0; r < n; r++) {
            size_t at = start + (size_t)r;
            while (at >= first[bi + 1]) bi++;
            size_t j = at - first[bi], d = differ[bi], s = 0;
            for (int bit = 0; d; d &= d - 1, bit++) /* j's bits scattered onto D_b (pdep) */
                if (j >> bit & 1) s |= d & -d;
            const float *bg = m->background + (size_t)bi * (size_t)nf + offset;
            float *row = rows + (size_t)r * (size_t)w;
            for (int c = 0; c < w; c++) row[c] = (s >> input_of[c] & 1) ? x[c] : bg[c];
        }
        memset(y, 0, (size_t)n * (size_t)k * sizeof *y);
        p->ops->predict(p, rows, n, scratch, y);
        memcpy(ys + start * (size_t)k, y, (size_t)n * (size_t)k * sizeof *y);
    }
    for (size_t s = 0; s < coalitions; s++)
        for (int b2 = 0; b2 < nb; b2++) {
            const float *yr = ys + (first[b2] + gather_bits(s, differ[b2])) * (size_t)k;
            for (int o = 0; o < k; o++) value[s * (size_t)k + (size_t)o] += yr[o];
        }
    for (size_t i = 0; i < coalitions * (size_t)k; i++) value[i] /= nb;
    add_shapley(value, ni, k, weight, margin, base, contrib);
    rc = 0;
out:
    free(differ);
    free(first);
    free(value);
    free(rows);
    free(y);
    free(ys);
    free(scratch);
    return rc;
}

/* The same values for a tree ensemble, exactly, without scoring a row: for x
 * and one background row b, a leaf is reached by the coalitions S that hold
 * the inputs A where the walk followed x against b and leave out the inputs C
 * where it followed b against x (where x and b go the same way, any S does).
 * The leaf's value v is then a game on A and C alone, whose Shapley values are
 * v (a-1)! c! / (a+c)! for each input of A and -v a! (c-1)! / (a+c)! for each
 * of C (a = |A|, c = |C|). A walk forks only where x and b part on an input
 * not yet in A or C, so it visits a few leaves of each tree, not 2^k rows.
 * Which way each background row goes at every node, and its margin, are made
 * once per explainer (trees_cache); x's ways once per row. */
struct trees_cache {
    const tree_ensemble *e;
    int offset;        /* the member's first column */
    size_t *word_at;   /* (n_trees + 1,) a tree's first word in a direction bitset */
    uint64_t *bg_left; /* (n_background, word_at[n_trees]) bit: the row goes left at the node */
    double *bg_margin; /* (n_background, n_outputs) */
    /* the coalition tables (coalition_tables_make), NULL when not made */
    double *leaf_table; /* (leaves, 2^inputs) */
    size_t stride;      /* a leaf's row: 2^inputs, at least COALITION_LANES */
    int *leaf_of;       /* (nodes of all trees,) a leaf's row in leaf_table; -1 inside */
    size_t *node_at;    /* (n_trees + 1,) a tree's first entry in leaf_of */
    int max_nodes;
    int in_registers; /* one output, <= 5 inputs, AVX-512: v in four registers (chosen once) */
};

static void trees_cache_free(trees_cache *tc)
{
    if (!tc) return;
    free(tc->word_at);
    free(tc->bg_left);
    free(tc->bg_margin);
    free(tc->leaf_table);
    free(tc->leaf_of);
    free(tc->node_at);
}

/* Each node's way for row x, as bits (trees_cache's layout). */
static void ways(const tree_ensemble *e, const size_t *word_at, const float *x, uint64_t *left)
{
    memset(left, 0, word_at[e->n_trees] * sizeof *left);
    for (size_t t = 0; t < e->n_trees; t++) {
        const tree *tr = &e->trees[t];
        uint64_t *bits = left + word_at[t];
        for (int i = 0; i < tr->n_nodes; i++)
            if (tr->feature[i] >= 0 && trees_goes_left(tr, i, x[tr->feature[i]]))
                bits[i / 64] |= (uint64_t)1 << (i % 64);
    }
}

/* A row's margin in double from its ways: base score plus its leaves. */
static void margin_of(const tree_ensemble *e, const size_t *word_at, const uint64_t *left, double *out)
{
    for (int o = 0; o < e->base.n_outputs; o++) out[o] = e->base_score[o];
    for (size_t t = 0; t < e->n_trees; t++) {
        const tree *tr = &e->trees[t];
        const uint64_t *bits = left + word_at[t];
        int node = 0;
        while (tr->feature[node] >= 0)
            node = (bits[node / 64] >> (node % 64) & 1) ? tr->left[node] : tr->right[node];
        out[tr->output] += tr->value[node];
    }
}

/* Few inputs make it faster still. Background row b reaches a leaf under
 * coalition S (S's inputs from x, the rest from b) when S holds every input
 * E_b where b leaves the leaf's path and none of the inputs D_x where x does.
 * So a leaf's game is its value x the share of background rows with E_b
 * inside S, for every S with S & D_x empty: the shares are made once per
 * explainer (a table of 2^k per leaf, when inputs <= EXPLAIN_TABLE_INPUTS and
 * the tables fit EXPLAIN_TABLE_BYTES); a row adds each leaf's table over the
 * coalitions that miss its D_x, in one pass over the nodes, and v's 2^k
 * entries give the Shapley values. */
#define EXPLAIN_TABLE_INPUTS 12
#define EXPLAIN_TABLE_BYTES  ((size_t)64 << 20)
#define COALITION_LANES      32 /* up to five inputs: v in four vectors of eight */

/* For every node of tr, the inputs where `row` leaves the path to it (nodes
 * come after their parents: one pass). */
static void leave_masks(const tree *tr, const float *row, const int *input_of, uint32_t *mask)
{
    /* locals: mask's stores could alias the tree's int arrays, forcing reloads */
    const int n = tr->n_nodes, *feature = tr->feature, *left = tr->left, *right = tr->right,
              *cat_at = tr->cat_at;
    const float *threshold = tr->threshold;
    const unsigned char *default_left = tr->default_left;
    mask[0] = 0;
    for (int i = 0; i < n; i++) {
        int f = feature[i];
        if (f < 0) continue;
        float v = row[f];
        uint32_t to_left = cat_at && cat_at[i] >= 0
                               ? (uint32_t)trees_goes_left(tr, i, v)
                               : (uint32_t)((v < threshold[i]) | ((v != v) & default_left[i]));
        uint32_t bit = (uint32_t)1 << input_of[f], m = mask[i];
        mask[left[i]] = m | (bit & (to_left - 1)); /* without a branch: which way is data */
        mask[right[i]] = m | (bit & -to_left);
    }
}

/* Whether every node but the root has exactly one parent: one path to each
 * leaf, which the tables assume. A file may share a child between two nodes
 * or leave a node unreached (the walks handle both). */
static int one_path_to_each_node(const tree *tr, unsigned char *parents)
{
    memset(parents, 0, (size_t)tr->n_nodes);
    for (int i = 0; i < tr->n_nodes; i++) {
        if (tr->feature[i] < 0) continue;
        if (tr->left[i] == tr->right[i] || parents[tr->left[i]]++ || parents[tr->right[i]]++) return 0;
    }
    for (int i = 1; i < tr->n_nodes; i++)
        if (!parents[i]) return 0;
    return 1;
}

static int coalition_tables_make(const model *m, const int *input_of, trees_cache *tc, explain_way way)
{
    const tree_ensemble *e = tc->e;
    int ni = (int)m->schema.n_inputs, nb = m->n_background;
    size_t coalitions = (size_t)1 << ni, leaves = 0;
    if (ni > EXPLAIN_TABLE_INPUTS || way == EXPLAIN_WAY_WALK) return 0;
    tc->stride = coalitions < COALITION_LANES ? COALITION_LANES : coalitions;
    if (!(tc->node_at = malloc((e->n_trees + 1) * sizeof *tc->node_at))) return -1;
    tc->node_at[0] = 0;
    for (size_t t = 0; t < e->n_trees; t++) {
        const tree *tr = &e->trees[t];
        tc->node_at[t + 1] = tc->node_at[t] + (size_t)tr->n_nodes;
        if (tr->n_nodes > tc->max_nodes) tc->max_nodes = tr->n_nodes;
        for (int i = 0; i < tr->n_nodes; i++) leaves += tr->feature[i] < 0;
    }
    unsigned char *parents = malloc((size_t)tc->max_nodes + 1);
    if (!parents) return -1;
    int trees_are_trees = 1;
    for (size_t t = 0; t < e->n_trees && trees_are_trees; t++)
        trees_are_trees = one_path_to_each_node(&e->trees[t], parents);
    free(parents);
    if (!trees_are_trees || leaves > EXPLAIN_TABLE_BYTES / sizeof(double) / tc->stride) { /* walk instead */
        free(tc->node_at);
        tc->node_at = NULL;
        return 0;
    }
    tc->leaf_of = malloc((tc->node_at[e->n_trees] + 1) * sizeof *tc->leaf_of);
    tc->leaf_table = calloc(leaves * tc->stride + 1, sizeof *tc->leaf_table);
    uint32_t *mask = malloc(((size_t)tc->max_nodes + 1) * sizeof *mask);
    if (!tc->leaf_of || !tc->leaf_table || !mask) return free(mask), -1;
    int next = 0;
    for (size_t j = 0; j < tc->node_at[e->n_trees]; j++) tc->leaf_of[j] = -1;
    for (size_t t = 0; t < e->n_trees; t++)
        for (int i = 0; i < e->trees[t].n_nodes; i++)
            if (e->trees[t].feature[i] < 0) tc->leaf_of[tc->node_at[t] + (size_t)i] = next++;
    /* count each leaf's background rows by E_b, then sum over the subsets of S */
    for (int b = 0; b < nb; b++) {
        const float *bg = m->background + (size_t)b * (size_t)m->n_features + tc->offset;
        for (size_t t = 0; t < e->n_trees; t++) {
            const tree *tr = &e->trees[t];
            leave_masks(tr, bg, input_of, mask);
            for (int i = 0; i < tr->n_nodes; i++)
                if (tr->feature[i] < 0)
                    tc->leaf_table[(size_t)tc->leaf_of[tc->node_at[t] + (size_t)i] * tc->stride + mask[i]] +=
                        1;
        }
    }
    free(mask);
    for (size_t t = 0; t < e->n_trees; t++) {
        const tree *tr = &e->trees[t];
        for (int i = 0; i < tr->n_nodes; i++) {
            if (tr->feature[i] >= 0) continue;
            double *row = tc->leaf_table + (size_t)tc->leaf_of[tc->node_at[t] + (size_t)i] * tc->stride;
            for (int bit = 0; bit < ni; bit++)
                for (size_t s = 0; s < coalitions; s++)
                    if (s >> bit & 1) row[s] += row[s ^ (size_t)1 << bit];
            for (size_t s = 0; s < coalitions; s++) row[s] = tr->value[i] * (row[s] / nb);
        }
    }
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    tc->in_registers = e->base.n_outputs == 1 && tc->stride == COALITION_LANES &&
                       __builtin_cpu_supports("avx512f") && way != EXPLAIN_WAY_PORTABLE;
#endif
    return 0;
}

/* The coalition tables where they fit, else the background's ways for the walks. */
static int trees_cache_make(const model *m, const int *input_of, const tree_ensemble *e, int offset,
                            trees_cache *tc, explain_way way)
{
    size_t nb = (size_t)m->n_background;
    memset(tc, 0, sizeof *tc);
    tc->e = e;
    tc->offset = offset;
    if (coalition_tables_make(m, input_of + offset, tc, way) != 0) return -1;
    if (tc->leaf_table) return 0;
    if (!(tc->word_at = malloc((e->n_trees + 1) * sizeof *tc->word_at))) return -1;
    tc->word_at[0] = 0;
    for (size_t t = 0; t < e->n_trees; t++)
        tc->word_at[t + 1] = tc->word_at[t] + ((size_t)e->trees[t].n_nodes + 63) / 64;
    size_t words = tc->word_at[e->n_trees];
    tc->bg_left = malloc((nb * words + 1) * sizeof *tc->bg_left);
    tc->bg_margin = malloc((nb * (size_t)e->base.n_outputs + 1) * sizeof *tc->bg_margin);
    if (!tc->bg_left || !tc->bg_margin) return -1;
    for (size_t b = 0; b < nb; b++) {
        ways(e, tc->word_at, m->background + b * (size_t)m->n_features + offset, tc->bg_left + b * words);
        margin_of(e, tc->word_at, tc->bg_left + b * words, tc->bg_margin + b * (size_t)e->base.n_outputs);
    }
    return 0;
}

typedef struct {
    const tree *tr;
    const uint64_t *x_left, *b_left; /* the tree's direction bits */
    const int *input_of;             /* the member's columns -> inputs */
    double *phi;                     /* (inputs,) of the tree's output */
    const double *fact;              /* n! */
} leaf_game;

static void play_leaves(const leaf_game *g, int node, uint64_t from_x, uint64_t from_b, int a, int c)
{
    const tree *tr = g->tr;
    while (tr->feature[node] >= 0) {
        int to_x = (g->x_left[node / 64] >> (node % 64) & 1) ? tr->left[node] : tr->right[node];
        int to_b = (g->b_left[node / 64] >> (node % 64) & 1) ? tr->left[node] : tr->right[node];
        uint64_t bit = (uint64_t)1 << g->input_of[tr->feature[node]];
        if (to_x == to_b || (from_x & bit)) {
            node = to_x;
        } else if (from_b & bit) {
            node = to_b;
        } else { /* both ways: x's with the input in A, b's with it in C */
            play_leaves(g, to_x, from_x | bit, from_b, a + 1, c);
            from_b |= bit;
            c++;
            node = to_b;
        }
    }
    if (a + c == 0) return; /* every coalition reaches it */
    double v = tr->value[node];
    double gain = a ? v * g->fact[a - 1] * g->fact[c] / g->fact[a + c] : 0,
           loss = c ? v * g->fact[a] * g->fact[c - 1] / g->fact[a + c] : 0;
    for (uint64_t s = from_x; s; s &= s - 1) g->phi[__builtin_ctzll(s)] += gain;
    for (uint64_t s = from_b; s; s &= s - 1) g->phi[__builtin_ctzll(s)] -= loss;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define EXPLAIN_X86
/* One output, at most five inputs: v(S) stays in four registers of eight
 * doubles across every leaf; a leaf adds its table under the lanes S with
 * S & D_x empty (a mask per D_x, made once). */
__attribute__((target("avx512f"))) static void leaves_into_registers(const trees_cache *tc, const float *x,
                                                                     const int *input_of, uint32_t *mask,
                                                                     double *value)
{
    const tree_ensemble *e = tc->e;
    __mmask8 lanes[COALITION_LANES][4];
    for (unsigned d = 0; d < COALITION_LANES; d++)
        for (unsigned q = 0; q < 4; q++) {
            unsigned bits = 0;
            for (unsigned j = 0; j < 8; j++) bits |= ((8 * q + j) & d) ? 0u : 1u << j;
            lanes[d][q] = (__mmask8)bits;
        }
    __m512d v0 = _mm512_setzero_pd(), v1 = v0, v2 = v0, v3 = v0;
    for (size_t t = 0; t < e->n_trees; t++) {
        const tree *tr = &e->trees[t];
        const int *leaf_of = tc->leaf_of + tc->node_at[t];
        leave_masks(tr, x, input_of, mask);
        for (int i = 0; i < tr->n_nodes; i++) {
            if (tr->feature[i] >= 0) continue;
            const double *row = tc->leaf_table + (size_t)leaf_of[i] * COALITION_LANES;
            const __mmask8 *m = lanes[mask[i]];
            v0 = _mm512_mask_add_pd(v0, m[0], v0, _mm512_loadu_pd(row));
            v1 = _mm512_mask_add_pd(v1, m[1], v1, _mm512_loadu_pd(row + 8));
            v2 = _mm512_mask_add_pd(v2, m[2], v2, _mm512_loadu_pd(row + 16));
            v3 = _mm512_mask_add_pd(v3, m[3], v3, _mm512_loadu_pd(row + 24));
        }
    }
    _mm512_storeu_pd(value, v0);
    _mm512_storeu_pd(value + 8, v1);
    _mm512_storeu_pd(value + 16, v2);
    _mm512_storeu_pd(value + 24, v3);
    _mm256_zeroupper();
}
#endif

static int trees_member_tables(const explainer *ex, const trees_cache *tc, double weight, const float *x,
                               double *margin, double *base, double *contrib)
{
    const tree_ensemble *e = tc->e;
    const int *input_of = ex->input_of + tc->offset;
    int k = e->base.n_outputs, ni = (int)ex->m->schema.n_inputs;
    size_t coalitions = (size_t)1 << ni, all = coalitions - 1;
    double *value = calloc(tc->stride * (size_t)k, sizeof *value);
    uint32_t *mask = malloc(((size_t)tc->max_nodes + 1) * sizeof *mask);
    if (!value || !mask) return free(value), free(mask), -1;
    x += tc->offset;
#ifdef EXPLAIN_X86
    if (tc->in_registers)
        leaves_into_registers(tc, x, input_of, mask, value);
    else
#endif
        for (size_t t = 0; t < e->n_trees; t++) {
            const tree *tr = &e->trees[t];
            double *v = value + tr->output;
            leave_masks(tr, x, input_of, mask);
            for (int i = 0; i < tr->n_nodes; i++) {
                if (tr->feature[i] >= 0) continue;
                const double *row =
                    tc->leaf_table + (size_t)tc->leaf_of[tc->node_at[t] + (size_t)i] * tc->stride;
                size_t keep = all & ~(size_t)mask[i];
                for (size_t s = keep;; s = (s - 1) & keep) { /* the coalitions that miss D_x */
                    v[s * (size_t)k] += row[s];
                    if (!s) break;
                }
            }
        }
    for (int o = 0; o < k; o++)
        for (size_t s = 0; s < coalitions; s++) value[s * (size_t)k + (size_t)o] += e->base_score[o];
    add_shapley(value, ni, k, weight, margin, base, contrib);
    free(value);
    free(mask);
    return 0;
}

static int trees_member(const explainer *ex, const trees_cache *tc, double weight, const float *x,
                        double *margin, double *base, double *contrib)
{
    if (tc->leaf_table) return trees_member_tables(ex, tc, weight, x, margin, base, contrib);
    const model *m = ex->m;
    const tree_ensemble *e = tc->e;
    int k = e->base.n_outputs, ni = (int)m->schema.n_inputs, nb = m->n_background;
    size_t words = tc->word_at[e->n_trees];
    double fact[65], *phi = calloc((size_t)k * (size_t)ni, sizeof *phi), *y = malloc((size_t)k * sizeof *y);
    uint64_t *x_left = malloc((words + 1) * sizeof *x_left);
    int rc = -1;
    if (!phi || !y || !x_left) goto out;
    fact[0] = 1;
    for (int i = 1; i <= 64; i++) fact[i] = fact[i - 1] * i;
    ways(e, tc->word_at, x + tc->offset, x_left);
    margin_of(e, tc->word_at, x_left, y);
    for (int o = 0; o < k; o++) margin[o] += weight * y[o];
    for (int b = 0; b < nb; b++) {
        for (int o = 0; o < k; o++) base[o] += weight * tc->bg_margin[(size_t)b * (size_t)k + (size_t)o] / nb;
        for (size_t t = 0; t < e->n_trees; t++) {
            leaf_game g = {&e->trees[t],
                           x_left + tc->word_at[t],
                           tc->bg_left + (size_t)b * words + tc->word_at[t],
                           ex->input_of + tc->offset,
                           phi + (size_t)e->trees[t].output * (size_t)ni,
                           fact};
            play_leaves(&g, 0, 0, 0, 0, 0);
        }
    }
    for (size_t i = 0; i < (size_t)k * (size_t)ni; i++) contrib[i] += weight * phi[i] / nb;
    rc = 0;
out:
    free(phi);
    free(y);
    free(x_left);
    return rc;
}

/* Shapley values are linear in the game: a blend's are its members' by weight,
 * each member explained on its own columns by its own fastest exact way:
 * trees by their leaves (trees_cache), any other by enumeration.
 * EXPLAIN_WAY_ENUMERATE enumerates every member. */
static int explain_interventional(const explainer *ex, const float *x, double *margin, double *base,
                                  double *contrib)
{
    const model *m = ex->m;
    const predictor *p = m->predictor;
    const blend *b = blend_of(p);
    int k = p->n_outputs, is_blend = b != NULL;
    memset(margin, 0, (size_t)k * sizeof *margin);
    memset(base, 0, (size_t)k * sizeof *base);
    memset(contrib, 0, (size_t)k * m->schema.n_inputs * sizeof *contrib);
    for (int i = 0; i < (is_blend ? b->n_members : 1); i++) {
        const predictor *mp = is_blend ? b->members[i].p : p;
        int offset = is_blend ? b->members[i].offset : 0;
        double weight = is_blend ? b->members[i].weight : 1.0;
        int rc = ex->trees[i].e ? trees_member(ex, &ex->trees[i], weight, x, margin, base, contrib)
                                : enumerate_member(ex, mp, offset, weight, x, margin, base, contrib);
        if (rc != 0) return -1;
    }
    return 0;
}

/* ---- sampled: antithetic permutations ----------------------------------------- */

static uint64_t split_mix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Interventional Shapley values estimated by ex->pairs antithetic pairs:
 * pair t takes background row t mod n_background (each row equally often, so
 * the mean of the margins at the start is the base exactly and base + the
 * contributions = margin) and a random order of the inputs; from the
 * background row, the inputs are set to x's values one by one in that order,
 * and again in the reverse order; each input's sample is the mean of its two
 * marginal contributions. The estimate is the mean over pairs, its standard
 * error the pairs' standard deviation / sqrt(pairs). The orders come from a
 * fixed seed: a row's values are the same every time. */
static int explain_sampled(const explainer *ex, const float *x, double *margin, double *base, double *contrib,
                           double *se)
{
    const model *m = ex->m;
    const predictor *p = m->predictor;
    int nf = m->n_features, k = p->n_outputs, ni = (int)m->schema.n_inputs, nb = m->n_background;
    int per = ni + 1, n = 2 * per; /* rows a pair: forwards and backwards, each from b to x */
    size_t kn = (size_t)k * (size_t)ni;
    float *rows = malloc((size_t)n * (size_t)nf * sizeof *rows),
          *y = malloc((size_t)n * (size_t)k * sizeof *y);
    float *scratch = malloc((p->ops->scratch_floats(p, n) + 1) * sizeof *scratch);
    int *order = malloc((size_t)ni * sizeof *order);
    double *sum = calloc(kn, sizeof *sum), *sum2 = calloc(kn, sizeof *sum2), *one = malloc(kn * sizeof *one);
    int rc = -1;
    if (!rows || !y || !scratch || !order || !sum || !sum2 || !one) goto out;
    memset(margin, 0, (size_t)k * sizeof *margin);
    memset(base, 0, (size_t)k * sizeof *base);
    uint64_t rng = 0x7ab5e7e0ull; /* fixed: the same row, the same orders */
    for (int t = 0; t < ex->pairs; t++) {
        const float *bg = m->background + (size_t)(t % nb) * (size_t)nf;
        for (int i = 0; i < ni; i++) order[i] = i;
        for (int i = ni - 1; i > 0; i--) { /* Fisher-Yates */
            int j = (int)(split_mix(&rng) % (uint64_t)(i + 1)), tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        for (int dir = 0; dir < 2; dir++) {
            float *r0 = rows + (size_t)dir * (size_t)per * (size_t)nf;
            memcpy(r0, bg, (size_t)nf * sizeof *r0);
            for (int j = 1; j < per; j++) { /* row j: the first j inputs of the order (reversed: the last) */
                int input = order[dir ? ni - j : j - 1];
                float *r = r0 + (size_t)j * (size_t)nf;
                memcpy(r, r - nf, (size_t)nf * sizeof *r);
                for (int c = 0; c < nf; c++)
                    if (ex->input_of[c] == input) r[c] = x[c];
            }
        }
        margins(m, rows, n, scratch, y);
        memset(one, 0, kn * sizeof *one);
        for (int dir = 0; dir < 2; dir++)
            for (int j = 1; j < per; j++) {
                int input = order[dir ? ni - j : j - 1];
                const float *now = y + ((size_t)dir * (size_t)per + (size_t)j) * (size_t)k, *before = now - k;
                for (int o = 0; o < k; o++)
                    one[(size_t)o * (size_t)ni + (size_t)input] += 0.5 * ((double)now[o] - before[o]);
            }
        for (size_t q = 0; q < kn; q++) sum[q] += one[q], sum2[q] += one[q] * one[q];
        for (int o = 0; o < k; o++) {
            base[o] += y[o] / (double)ex->pairs;
            margin[o] += y[(size_t)ni * (size_t)k + (size_t)o] / (double)ex->pairs;
        }
    }
    for (size_t q = 0; q < kn; q++) {
        double mean = sum[q] / ex->pairs,
               var = ex->pairs > 1 ? (sum2[q] - sum[q] * mean) / (ex->pairs - 1) : 0;
        contrib[q] = mean;
        if (se) se[q] = var > 0 ? sqrt(var / ex->pairs) : 0;
    }
    rc = 0;
out:
    free(rows);
    free(y);
    free(scratch);
    free(order);
    free(sum);
    free(sum2);
    free(one);
    return rc;
}

/* How many pairs a sampled row draws: as many as EXPLAIN_SAMPLE_SECONDS holds
 * at the time one pair takes here, in whole rounds of the background rows,
 * rounded down to a power of two of rounds (workers that time a little
 * differently still agree), at least one round, at most EXPLAIN_MAX_PAIRS. */
static int choose_pairs(explainer *ex, const float *x)
{
    int nb = ex->m->n_background;
    ex->pairs = nb;
    double margin[OUTPUT_MAX_CLASSES], base[OUTPUT_MAX_CLASSES];
    size_t kn = (size_t)ex->m->predictor->n_outputs * ex->m->schema.n_inputs;
    double *contrib = malloc((kn + 1) * sizeof *contrib);
    if (!contrib) return -1;
    double t0 = clock_seconds();
    int rc = explain_sampled(ex, x, margin, base, contrib, NULL);
    double round = clock_seconds() - t0; /* one round: nb pairs */
    free(contrib);
    if (rc != 0) return -1;
    int rounds = 1;
    while (rounds * 2 * nb <= EXPLAIN_MAX_PAIRS && round * rounds * 2 <= EXPLAIN_SAMPLE_SECONDS) rounds *= 2;
    ex->pairs = rounds * nb;
    return 0;
}

/* Additive in the columns: input i's contribution is the margin with i's
 * columns at the row's values, the rest at the centre, less the centre's. */
static int explain_linear(const explainer *ex, const float *x, double *margin, double *base, double *contrib)
{
    const model *m = ex->m;
    const int *input_of = ex->input_of;
    int nf = m->n_features, k = m->predictor->n_outputs, ni = (int)m->schema.n_inputs;
    int n = ni + 2; /* the centre, each input moved, the row */
    float *rows = calloc((size_t)n * (size_t)nf, sizeof *rows),
          *y = malloc((size_t)n * (size_t)k * sizeof *y);
    float *scratch = malloc((m->predictor->ops->scratch_floats(m->predictor, n) + 1) * sizeof *scratch);
    int rc = -1;
    if (!rows || !y || !scratch) goto out;
    for (int c = 0; c < nf; c++) { /* the centre: the background's mean (0 without one) */
        double mean = 0;
        for (int b = 0; b < m->n_background; b++) mean += m->background[(size_t)b * (size_t)nf + (size_t)c];
        rows[c] = m->n_background ? (float)(mean / m->n_background) : 0.0f;
    }
    for (int r = 1; r < n; r++)
        for (int c = 0; c < nf; c++)
            rows[(size_t)r * (size_t)nf + (size_t)c] = (r == n - 1 || input_of[c] == r - 1) ? x[c] : rows[c];
    margins(m, rows, n, scratch, y);
    for (int o = 0; o < k; o++) {
        base[o] = y[o];
        margin[o] = y[(size_t)(n - 1) * (size_t)k + (size_t)o];
        for (int i = 0; i < ni; i++)
            contrib[(size_t)o * (size_t)ni + (size_t)i] =
                (double)y[(size_t)(i + 1) * (size_t)k + (size_t)o] - y[o];
    }
    rc = 0;
out:
    free(rows);
    free(y);
    free(scratch);
    return rc;
}

/* tables: build the trees' per-leaf tables (worth it for many rows) */
void explainer_free(explainer *ex);
static explainer *make(const model *m, int tables, explain_way way, int pairs, char *err)
{
    explain_method method;
    if (method_of(m, way, &method, err) != 0) return NULL;
    explainer *ex = calloc(1, sizeof *ex);
    if (!ex || !(ex->input_of = malloc((size_t)m->n_features * sizeof *ex->input_of))) {
        free(ex);
        return err_set(err, "out of memory"), NULL;
    }
    ex->m = m;
    ex->method = method;
    column_inputs(m, ex->input_of);
    if (method == EXPLAIN_TREES && tables) ex->tables = treeshap_tables_build(trees_of(m->predictor));
    if (method == EXPLAIN_SAMPLED) {
        float *x0 = malloc(((size_t)m->n_features + 1) * sizeof *x0);
        int rc = x0 ? 0 : -1;
        if (x0) memcpy(x0, m->background, (size_t)m->n_features * sizeof *x0);
        if (x0 && pairs > 0)
            ex->pairs = ((pairs + m->n_background - 1) / m->n_background) * m->n_background;
        else if (x0)
            rc = choose_pairs(ex, x0);
        free(x0);
        if (rc != 0) {
            explainer_free(ex);
            return err_set(err, "out of memory"), NULL;
        }
    }
    if (method == EXPLAIN_INTERVENTIONAL) { /* the trees among the members: their background ways */
        const predictor *p = m->predictor;
        const blend *b = blend_of(p);
        ex->n_members = b ? b->n_members : 1;
        if (!(ex->trees = calloc((size_t)ex->n_members, sizeof *ex->trees))) {
            explainer_free(ex);
            return err_set(err, "out of memory"), NULL;
        }
        for (int i = 0; i < ex->n_members; i++) {
            const predictor *mp = b ? b->members[i].p : p;
            if (!trees_of(mp) || enumeration_forced(m, way)) continue;
            if (trees_cache_make(m, ex->input_of, trees_of(mp), b ? b->members[i].offset : 0, &ex->trees[i],
                                 way) != 0) {
                explainer_free(ex);
                return err_set(err, "out of memory"), NULL;
            }
        }
    }
    return ex;
}

/* What one row costs, measured on a row of the model's own (its first
 * background row, else all missing): the fastest of a few, or one when a row
 * is slow (an exact explanation over many coalitions). */
static double measure_row(explainer *ex)
{
    const model *m = ex->m;
    int k = m->predictor->n_outputs;
    size_t nf = (size_t)m->n_features, ni = m->schema.n_inputs;
    float *x = malloc((nf ? nf : 1) * sizeof *x);
    double *margin = malloc((size_t)k * sizeof *margin), *base = malloc((size_t)k * sizeof *base),
           *contrib = malloc(((size_t)k * ni + 1) * sizeof *contrib);
    double best = 0;
    char err[ERR_LEN];
    if (x && margin && base && contrib) {
        for (size_t j = 0; j < nf; j++) x[j] = m->n_background ? m->background[j] : NAN;
        for (int rep = 0; rep < 5; rep++) {
            double t0 = clock_seconds();
            if (explainer_row(ex, x, margin, base, contrib, err) != 0) break;
            double t = clock_seconds() - t0;
            if (!rep || t < best) best = t;
            if (best > 0.005) break; /* slow enough to be its own measure */
        }
    }
    free(x);
    free(margin);
    free(base);
    free(contrib);
    return best;
}

explainer *explainer_create(const model *m, char *err)
{
    return explainer_create_way(m, EXPLAIN_WAY_FASTEST, 0, err);
}

explainer *explainer_create_way(const model *m, explain_way way, int pairs, char *err)
{
    explainer *ex = make(m, 1, way, pairs, err);
    if (ex) ex->row_seconds = measure_row(ex);
    return ex;
}

int explainer_samples(const explainer *ex) { return ex->method == EXPLAIN_SAMPLED ? ex->pairs : 0; }

double explainer_row_seconds(const explainer *ex) { return ex->row_seconds; }

void explainer_free(explainer *ex)
{
    if (!ex) return;
    treeshap_tables_free(ex->tables);
    for (int i = 0; ex->trees && i < ex->n_members; i++) trees_cache_free(&ex->trees[i]);
    free(ex->trees);
    free(ex->input_of);
    free(ex);
}

explain_method explainer_method(const explainer *ex) { return ex->method; }

int explainer_row(const explainer *ex, const float *x, double *margin, double *base, double *contrib,
                  char *err)
{
    return explainer_row_se(ex, x, margin, base, contrib, NULL, err);
}

int explainer_row_se(const explainer *ex, const float *x, double *margin, double *base, double *contrib,
                     double *se, char *err)
{
    if (se && ex->method != EXPLAIN_SAMPLED)
        memset(se, 0, (size_t)ex->m->predictor->n_outputs * ex->m->schema.n_inputs * sizeof *se);
    int rc = ex->method == EXPLAIN_TREES     ? explain_trees(ex, x, margin, base, contrib)
             : ex->method == EXPLAIN_LINEAR  ? explain_linear(ex, x, margin, base, contrib)
             : ex->method == EXPLAIN_SAMPLED ? explain_sampled(ex, x, margin, base, contrib, se)
                                             : explain_interventional(ex, x, margin, base, contrib);
    return rc == 0 ? 0 : err_set(err, "out of memory explaining a row");
}

int explain_row(const model *m, const float *x, double *margin, double *base, double *contrib, char *err)
{
    return explain_row_way(m, EXPLAIN_WAY_FASTEST, x, margin, base, contrib, err);
}

int explain_row_way(const model *m, explain_way way, const float *x, double *margin, double *base,
                    double *contrib, char *err)
{
    explainer *ex = make(m, 0, way, 0, err); /* one row: the recursion, no tables */
    int rc = ex ? explainer_row(ex, x, margin, base, contrib, err) : -1;
    explainer_free(ex);
    return rc;
}

size_t explain_json_max(const model *m)
{
    size_t names = 0;
    for (size_t i = 0; i < m->schema.n_inputs; i++) names += m->schema.inputs[i].name_len + 40;
    size_t classes = 64;
    for (size_t c = 0; c < m->output.n_classes; c++) classes += strlen(m->output.classes[c]) + 8;
    explain_method method;
    char err[ERR_LEN];
    int sampled =
        explain_method_of(m, &method, err) == 0 && method == EXPLAIN_SAMPLED; /* and standard errors */
    return output_row_max(&m->output) +
           (size_t)m->predictor->n_outputs * ((sampled ? 2 : 1) * names + classes + 128) +
           (sampled ? 320 : 256);
}

static char *put_number(char *p, double v)
{
    return p + sprintf(p, "%.12g", v); /* base + contributions = margin, to far below 1e-5 */
}

/* {"a": v, ...} or, per class, {"class": {...}} */
static char *per_output(const model *m, char *p, const double *v, size_t stride, int inputs)
{
    int k = m->predictor->n_outputs;
    if (k > 1) *p++ = '{';
    for (int o = 0; o < k; o++) {
        if (k > 1) p += sprintf(p, "%s\"%s\": ", o ? ", " : "", m->output.classes[o]);
        const double *row = v + (size_t)o * stride;
        if (!inputs) {
            p = put_number(p, row[0]);
            continue;
        }
        *p++ = '{';
        for (size_t i = 0; i < m->schema.n_inputs; i++) {
            p += sprintf(p, "%s\"%s\": ", i ? ", " : "", m->schema.inputs[i].name);
            p = put_number(p, row[i]);
        }
        *p++ = '}';
    }
    if (k > 1) *p++ = '}';
    return p;
}

size_t explain_json(const model *m, explain_method method, const float *y, const double *margin,
                    const double *base, const double *contrib, const double *se, int samples, char *buf)
{
    char *p = buf;
    p += sprintf(p, "{\"predict\": ");
    p += output_row_json(&m->output, y, p);
    p += sprintf(p, ", \"base\": ");
    p = per_output(m, p, base, 1, 0);
    p += sprintf(p, ", \"margin\": ");
    p = per_output(m, p, margin, 1, 0);
    p += sprintf(p, ", \"contributions\": ");
    p = per_output(m, p, contrib, m->schema.n_inputs, 1);
    if (se && samples > 0) {
        p += sprintf(p, ", \"standard_errors\": ");
        p = per_output(m, p, se, m->schema.n_inputs, 1);
        p += sprintf(p, ", \"samples\": %d", samples);
    }
    p += sprintf(p, ", \"method\": \"%s\"}", explain_method_name(method));
    return (size_t)(p - buf);
}
