/* onnx_proto — values out of ONNX's protobuf messages (see onnx_proto.h). */
#include "formats/onnx_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

const attr_t *pb_attr(const node_t *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0) return n->attribute[i];
    return NULL;
}

int64_t pb_attr_int(const node_t *n, const char *name, int64_t dflt)
{
    const attr_t *a = pb_attr(n, name);
    return a && a->has_i ? a->i : dflt;
}

float pb_attr_float(const node_t *n, const char *name, float dflt)
{
    const attr_t *a = pb_attr(n, name);
    return a && a->has_f ? a->f : dflt;
}

const char *pb_attr_string(const node_t *n, const char *name, char *buf, size_t len, const char *dflt)
{
    const attr_t *a = pb_attr(n, name);
    if (!a || !a->has_s) return dflt;
    size_t k = a->s.len < len - 1 ? a->s.len : len - 1;
    if (k) memcpy(buf, a->s.data, k); /* an empty string's data may be NULL */
    buf[k] = 0;
    return buf;
}

float *pb_attr_floats(long max, const node_t *n, const char *name, size_t *count)
{
    const attr_t *a = pb_attr(n, name);
    char tname[96];
    snprintf(tname, sizeof tname, "%s_as_tensor", name);
    const attr_t *t = pb_attr(n, tname);
    *count = 0;
    if (a && a->n_floats) {
        if ((long)a->n_floats > max) return NULL;
        float *out = malloc(a->n_floats * sizeof *out);
        if (out) memcpy(out, a->floats, a->n_floats * sizeof *out);
        *count = a->n_floats;
        return out;
    }
    if (t && t->t) {
        const tensor_t *tt = t->t;
        size_t k = tt->n_float_data ? tt->n_float_data : tt->n_double_data;
        if ((long)k > max) return NULL;
        float *out = malloc((k ? k : 1) * sizeof *out);
        for (size_t i = 0; out && i < k; i++)
            out[i] = tt->n_float_data ? tt->float_data[i] : (float)tt->double_data[i];
        *count = k;
        return out;
    }
    return NULL;
}

int pb_tree_attrs(const node_t *n, int classifier, long max, pb_trees *t)
{
    const char *pre = classifier ? "class" : "target";
    char name[40];
    t->tree = pb_attr(n, "nodes_treeids");
    t->node = pb_attr(n, "nodes_nodeids");
    t->feature = pb_attr(n, "nodes_featureids");
    t->mode = pb_attr(n, "nodes_modes");
    t->yes = pb_attr(n, "nodes_truenodeids");
    t->no = pb_attr(n, "nodes_falsenodeids");
    t->missing = pb_attr(n, "nodes_missing_value_tracks_true");
    snprintf(name, sizeof name, "%s_treeids", pre);
    t->l_tree = pb_attr(n, name);
    snprintf(name, sizeof name, "%s_nodeids", pre);
    t->l_node = pb_attr(n, name);
    snprintf(name, sizeof name, "%s_ids", pre);
    t->l_id = pb_attr(n, name);
    snprintf(t->weights, sizeof t->weights, "%s_weights", pre);
    size_t nn = t->n_nodes = t->tree ? t->tree->n_ints : 0,
           nl = t->n_leaves = t->l_tree ? t->l_tree->n_ints : 0;
    int ok = nn && (long)nn <= max && t->node && t->node->n_ints == nn && t->feature &&
             t->feature->n_ints == nn && t->mode && t->mode->n_strings == nn && t->yes &&
             t->yes->n_ints == nn && t->no && t->no->n_ints == nn &&
             (!t->missing || t->missing->n_ints == nn || t->missing->n_ints == 0) && t->l_node &&
             t->l_node->n_ints == nl && t->l_id && t->l_id->n_ints == nl;
    return ok ? 0 : -1;
}

const tensor_t *pb_initializer(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i]->name && strcmp(g->initializer[i]->name, pb_str(name)) == 0)
            return g->initializer[i];
    return NULL;
}

long pb_tensor_count(long max, const tensor_t *t)
{
    long k = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || (t->dims[i] > 0 && k > max / t->dims[i])) return -1;
        k *= (long)t->dims[i];
    }
    return k > max ? -1 : k;
}

float *pb_tensor_floats(long max, const tensor_t *t, size_t *count)
{
    long n = pb_tensor_count(max, t);
    if (n < 0) return NULL;
    size_t k = (size_t)n;
    float *out = malloc((k ? k : 1) * sizeof *out);
    if (!out) return NULL;
    /* (an empty tensor's data pointer may be NULL: no memcpy from it, even of 0 bytes) */
    if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && t->n_float_data == k) {
        if (k) memcpy(out, t->float_data, k * sizeof *out);
    } else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && t->has_raw_data &&
               t->raw_data.len == k * 4) {
        if (k) memcpy(out, t->raw_data.data, k * 4); /* little-endian, as this machine */
    } else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE && t->n_double_data == k) {
        for (size_t i = 0; i < k; i++) out[i] = (float)t->double_data[i];
    } else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE && t->has_raw_data &&
               t->raw_data.len == k * 8) {
        for (size_t i = 0; i < k; i++) {
            double d;
            memcpy(&d, t->raw_data.data + 8 * i, 8);
            out[i] = (float)d;
        }
    } else {
        free(out);
        return NULL;
    }
    *count = k;
    return out;
}

int64_t *pb_tensor_ints(const tensor_t *t, size_t *count)
{
    size_t k = t->n_int64_data ? t->n_int64_data : (t->has_raw_data ? t->raw_data.len / 8 : 0);
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || k > (1u << 24)) return NULL;
    int64_t *out = malloc((k ? k : 1) * sizeof *out);
    if (!out) return NULL;
    if (t->n_int64_data)
        memcpy(out, t->int64_data, k * sizeof *out);
    else if (k) /* an empty raw_data may be NULL */
        memcpy(out, t->raw_data.data, k * 8);
    *count = k;
    return out;
}

int64_t *pb_tensor_indexes(const tensor_t *t, size_t *count)
{
    if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) return pb_tensor_ints(t, count);
    /* the narrower integers: int32_data holds int8 to int32 and uint8, uint16; uint64_data
     * uint32 and uint64; raw_data each at its own width, little-endian */
    int width, is_signed = 1, wide = 0;
    switch (t->data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: width = 1; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: width = 1, is_signed = 0; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: width = 2; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: width = 2, is_signed = 0; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: width = 4; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: width = 4, is_signed = 0, wide = 1; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: width = 8, is_signed = 0, wide = 1; break;
    default: return NULL;
    }
    size_t listed = wide ? t->n_uint64_data : t->n_int32_data;
    size_t k = listed ? listed : (t->has_raw_data ? t->raw_data.len / (size_t)width : 0);
    if (k > (1u << 24)) return NULL;
    int64_t *out = malloc((k ? k : 1) * sizeof *out);
    for (size_t i = 0; out && i < k; i++) {
        if (listed) {
            out[i] = wide ? (int64_t)t->uint64_data[i] : (int64_t)t->int32_data[i];
            continue;
        }
        uint64_t v = 0;
        for (int b = 0; b < width; b++)
            v |= (uint64_t)t->raw_data.data[(size_t)width * i + (size_t)b] << (8 * b);
        if (is_signed && width < 8 && (v >> (8 * width - 1)) & 1) v |= ~(uint64_t)0 << (8 * width); /* sign */
        out[i] = (int64_t)v;
    }
    *count = k;
    return out;
}

uint32_t *pb_tensor_bits(const tensor_t *t, int bits, size_t count)
{
    size_t packed = (count * (size_t)bits + 7) / 8;
    uint32_t mask = (1u << bits) - 1; /* bits: 2 to 16 */
    uint32_t *out = malloc((count ? count : 1) * sizeof *out);
    if (!out) return NULL;
    if (t->n_int32_data == count && (bits >= 8 || count != packed)) {
        for (size_t i = 0; i < count; i++) out[i] = (uint32_t)t->int32_data[i] & mask;
        return out;
    }
    const uint8_t *bytes = t->has_raw_data && t->raw_data.len == packed ? t->raw_data.data : NULL;
    if (!bytes && t->n_int32_data != packed) {
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        size_t bit = i * (size_t)bits;
        uint32_t v = 0;
        for (int b = 0; b < (bits + 7) / 8; b++) {
            size_t at = bit / 8 + (size_t)b;
            uint32_t byte = bytes ? bytes[at] : (uint32_t)t->int32_data[at] & 0xff;
            v |= byte << (8 * b);
        }
        out[i] = bits < 8 ? (v >> (bit % 8)) & mask : v & mask;
    }
    return out;
}

uint8_t *pb_tensor_bools(const tensor_t *t, size_t *count)
{
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__BOOL) return NULL;
    size_t k = t->n_int32_data ? t->n_int32_data : (t->has_raw_data ? t->raw_data.len : 0);
    if (k > (1u << 24)) return NULL;
    uint8_t *out = malloc(k ? k : 1);
    for (size_t i = 0; out && i < k; i++)
        out[i] = t->n_int32_data ? t->int32_data[i] != 0 : t->raw_data.data[i] != 0;
    *count = k;
    return out;
}

/* The columns one consumer of `input` needs: a tree ensemble's largest feature
 * id + 1, a MatMul's or Gemm's weight rows, a linear model's coefficients per
 * class; 0 when this node does not say. */
static int64_t width_needed_by(const Onnx__GraphProto *g, const node_t *n, const char *input)
{
    const char *op = pb_str(n->op_type);
    if (n->n_input < 1 || strcmp(pb_str(n->input[0]), input) != 0) return 0;
    if (strcmp(op, "TreeEnsembleClassifier") == 0 || strcmp(op, "TreeEnsembleRegressor") == 0) {
        const attr_t *f = pb_attr(n, "nodes_featureids");
        int64_t most = -1;
        for (size_t i = 0; f && i < f->n_ints; i++)
            if (f->ints[i] > most) most = f->ints[i];
        return most + 1;
    }
    if (strcmp(op, "LinearClassifier") == 0 || strcmp(op, "LinearRegressor") == 0) {
        const attr_t *w = pb_attr(n, "coefficients");
        const attr_t *k = pb_attr(n, strcmp(op, "LinearRegressor") == 0 ? "targets" : "classlabels_ints");
        if (!k && strcmp(op, "LinearClassifier") == 0) k = pb_attr(n, "classlabels_strings");
        size_t classes = !k                                                      ? 1
                         : k->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT ? (size_t)k->i
                         : k->n_ints                                             ? k->n_ints
                                                                                 : k->n_strings;
        /* two classes written as one row of coefficients (binary) */
        if (w && classes == 2 && w->n_floats % 2 != 0) classes = 1;
        return w && classes && w->n_floats % classes == 0 ? (int64_t)(w->n_floats / classes) : 0;
    }
    if ((strcmp(op, "MatMul") == 0 || strcmp(op, "Gemm") == 0) && n->n_input >= 2) {
        const tensor_t *b = pb_initializer(g, pb_str(n->input[1]));
        if (!b || b->n_dims != 2) return 0;
        int trans_b = strcmp(op, "Gemm") == 0 && pb_attr_int(n, "transB", 0);
        return b->dims[trans_b ? 1 : 0];
    }
    return 0;
}

int64_t pb_input_width(const Onnx__GraphProto *g, const char *input)
{
    int64_t width = 0;
    for (size_t i = 0; i < g->n_node; i++) {
        int64_t w = width_needed_by(g, g->node[i], input);
        if (w < 0) return -1;
        /* trees need at least their largest feature; a weight matrix says exactly */
        const char *op = pb_str(g->node[i]->op_type);
        int exact = strcmp(op, "MatMul") == 0 || strcmp(op, "Gemm") == 0 || strncmp(op, "Linear", 6) == 0;
        if (w > 0 && exact && width > 0 && w != width) return -1;
        if (w > width) width = w;
    }
    return width;
}
