"""Makes one small ONNX graph per operator the interpreter runs (tests/test_import.py,
OperatorsTest), each answering one float a row so that tabserve and ONNX Runtime can be
compared on it: X float[N, 4] -> the operator (with constants where it takes more inputs)
-> Cast to float where it answers bools -> MatMul by [1, 2, 3, 4] -> Y float[N, 1].
Also writes the rows (OUTDIR/ops.csv): values around 0, ±1, ±3, halves, and missing.

usage: /usr/bin/python3 tests/oracles/make_ops.py OUTDIR
"""
import os
import sys

import numpy as np
from onnx import AttributeProto, TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
W = numpy_helper.from_array(np.array([[1], [2], [3], [4]], dtype=np.float32), "W")
C = numpy_helper.from_array(np.array([0.5, -1.0, 2.0, 0.0], dtype=np.float32), "C")


def graph(name, nodes, inits=(), bool_out=False, opset=17):
    last = nodes[-1].output[0]
    if bool_out:
        nodes = nodes + [helper.make_node("Cast", [last], ["castf"], to=TensorProto.FLOAT)]
        last = "castf"
    nodes = nodes + [helper.make_node("MatMul", [last, "W"], ["Y"])]
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])],
                          initializer=[W, C, *inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("ai.onnx.ml", 3)])
    m.ir_version = 8
    with open(os.path.join(out, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


n = helper.make_node
for op, attrs in [("Abs", {}), ("Neg", {}), ("Exp", {}), ("Floor", {}), ("Ceil", {}), ("Round", {}), ("Sign", {}),
                  ("Erf", {}), ("Softplus", {}), ("Softsign", {}), ("Elu", {"alpha": 0.7}), ("Selu", {}),
                  ("LeakyRelu", {"alpha": 0.1}), ("HardSigmoid", {}), ("Relu", {}), ("Tanh", {}), ("Sigmoid", {})]:
    graph(op.lower(), [n(op, ["X"], ["T"], **attrs)])
graph("log_sqrt", [n("Abs", ["X"], ["A"]), n("Add", ["A", "C"], ["B"]), n("Exp", ["B"], ["E"]),
                   n("Log", ["E"], ["L"]), n("Sqrt", ["E"], ["S"]), n("Reciprocal", ["S"], ["R"]),
                   n("Add", ["L", "R"], ["T"])])
graph("gelu", [n("Gelu", ["X"], ["T"])], opset=20)
graph("gelu_tanh", [n("Gelu", ["X"], ["T"], approximate="tanh")], opset=20)
P = numpy_helper.from_array(np.array([0.5, 2.0, 3.0, 1.0], dtype=np.float32), "P")
graph("pow", [n("Abs", ["X"], ["A"]), n("Pow", ["A", "P"], ["T"])], [P])
graph("max_min", [n("Max", ["X", "C"], ["M"]), n("Min", ["X", "C"], ["N"]), n("Add", ["M", "N"], ["T"])])
graph("sum_mean", [n("Sum", ["X", "C", "X"], ["S"]), n("Mean", ["X", "C"], ["M"]), n("Add", ["S", "M"], ["T"])])
for op in ("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"):
    graph(op.lower(), [n(op, ["X", "C"], ["T"])], bool_out=True)
graph("logic", [n("Greater", ["X", "C"], ["G"]), n("Less", ["X", "C"], ["L"]), n("Not", ["G"], ["NG"]),
                n("Or", ["NG", "L"], ["O"]), n("Xor", ["O", "G"], ["X1"]), n("And", ["X1", "NG"], ["T"])],
      bool_out=True)
lo = numpy_helper.from_array(np.array(-0.5, dtype=np.float32), "lo")
hi = numpy_helper.from_array(np.array(1.5, dtype=np.float32), "hi")
graph("clip", [n("Clip", ["X", "lo", "hi"], ["T"])], [lo, hi])
graph("clip_min_only", [n("Clip", ["X", "lo"], ["T"])], [lo])
bn = [numpy_helper.from_array(np.array(v, dtype=np.float32), k) for k, v in
      (("s", [1.5, 0.5, -1, 2]), ("b", [0.1, 0, 0.2, -0.3]), ("mu", [0.5, -0.5, 0, 1]), ("var", [1, 4, 0.25, 2]))]
# BatchNormalization on [N, C]: the channel is axis 1
graph("batchnorm", [n("BatchNormalization", ["X", "s", "b", "mu", "var"], ["T"], epsilon=1e-3)], bn)
graph("dropout", [n("Dropout", ["X"], ["T"])])
graph("constant", [n("Constant", [], ["K"], value=numpy_helper.from_array(np.array([2, 0.5, -1, 3], dtype=np.float32))),
                   n("Mul", ["X", "K"], ["T"])])
bz = helper.make_node("Binarizer", ["X"], ["T"], domain="ai.onnx.ml", threshold=0.25)
graph("binarizer", [bz])

# shapes, slices, transposes, reductions, layer normalization (tf2onnx and torch.onnx write them)
def ints(name, v):
    return numpy_helper.from_array(np.array(v, dtype=np.int64), name)


graph("shape_gather", [n("Shape", ["X"], ["S"]), n("Gather", ["S", "one"], ["G"]), n("Cast", ["G"], ["F"], to=TensorProto.FLOAT),
                       n("Mul", ["X", "F"], ["T"])], [ints("one", 1)])
graph("shape_start", [n("Shape", ["X"], ["S"], start=-1), n("Cast", ["S"], ["F"], to=TensorProto.FLOAT),
                      n("Sub", ["X", "F"], ["T"])], opset=15)
graph("transpose_3d", [n("Unsqueeze", ["X", "ax2"], ["U"]), n("Transpose", ["U"], ["P"], perm=[0, 2, 1]),
                       n("Transpose", ["P"], ["Q"], perm=[2, 1, 0]), n("Transpose", ["Q"], ["R"]),
                       n("Reshape", ["R", "shp"], ["T"])], [ints("ax2", [2]), ints("shp", [-1, 4])])
graph("slice_reverse", [n("Slice", ["X", "s", "e", "a", "st"], ["T"])],
      [ints("s", [-1]), ints("e", [-5]), ints("a", [1]), ints("st", [-1])])
graph("slice_concat", [n("Slice", ["X", "s0", "e0", "a"], ["L"]), n("Slice", ["X", "s1", "e1", "a"], ["R"]),
                       n("Concat", ["R", "L"], ["T"], axis=1)],
      [ints("s0", [0]), ints("e0", [2]), ints("s1", [2]), ints("e1", [100]), ints("a", [1])])
graph("slice_step2", [n("Slice", ["X", "s", "e", "a", "st"], ["H"]), n("Concat", ["H", "H"], ["T"], axis=1)],
      [ints("s", [0]), ints("e", [4]), ints("a", [1]), ints("st", [2])])
graph("slice_opset9", [n("Slice", ["X"], ["H"], starts=[1], ends=[3], axes=[1]), n("Concat", ["H", "H"], ["T"], axis=1)],
      opset=9)
for op in ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare",
           "ReduceLogSumExp"):
    graph(op.lower(), [n(op, ["X"], ["R"], axes=[1], keepdims=1), n("Mul", ["X", "R"], ["T"])])
graph("reducesum_input", [n("ReduceSum", ["X", "a"], ["R"]), n("Add", ["X", "R"], ["T"])], [ints("a", [1])])
graph("reducemax_18", [n("ReduceMax", ["X", "a"], ["R"], keepdims=1), n("Sub", ["X", "R"], ["T"])], [ints("a", [-1])],
      opset=18)
graph("reducemean_all", [n("ReduceMean", ["X"], ["R"], keepdims=0), n("Add", ["X", "R"], ["T"])])
ln = [numpy_helper.from_array(np.array(v, dtype=np.float32), k) for k, v in (("g", [1.5, 0.5, -1, 2]), ("bb", [0.1, 0, 0.2, -0.3]))]
graph("layernorm", [n("LayerNormalization", ["X", "g", "bb"], ["T"], epsilon=1e-3)], ln)

graph("argmin", [n("ArgMin", ["X"], ["A"], axis=1, keepdims=1), n("Cast", ["A"], ["F"], to=TensorProto.FLOAT),
                 n("Add", ["X", "F"], ["T"])])
graph("logsoftmax", [n("LogSoftmax", ["X"], ["T"], axis=1)])
graph("prelu", [n("PRelu", ["X", "C"], ["T"])])
graph("mish", [n("Mish", ["X"], ["T"])], opset=18)
graph("isnan", [n("Div", ["X", "X"], ["Q"]), n("IsNaN", ["Q"], ["T"])], bool_out=True)  # 0/0 is NaN
graph("expand_size", [n("Size", ["X"], ["S"]), n("Cast", ["S"], ["F"], to=TensorProto.FLOAT),
                      n("Expand", ["F", "shp"], ["E"]), n("Div", ["X", "E"], ["T"])], [ints("shp", [1, 4])])
graph("constant_of_shape", [n("Shape", ["X"], ["S"]),
                            n("ConstantOfShape", ["S"], ["K"], value=numpy_helper.from_array(np.array([0.5], dtype=np.float32))),
                            n("Add", ["X", "K"], ["T"])])

graph("split_swap", [n("Split", ["X", "sp"], ["A", "B"], axis=1), n("Concat", ["B", "A"], ["T"], axis=1)], [ints("sp", [1, 3])])
graph("split_even_11", [n("Split", ["X"], ["A", "B"], axis=1), n("Concat", ["B", "A"], ["T"], axis=1)], opset=11)
graph("topk", [n("TopK", ["X", "k"], ["V", "I"], axis=1), n("Cast", ["I"], ["F"], to=TensorProto.FLOAT),
               n("Concat", ["V", "F"], ["T"], axis=1)], [ints("k", [2])])
graph("topk_smallest", [n("TopK", ["X", "k"], ["V", "I"], axis=1, largest=0), n("Concat", ["V", "V"], ["T"], axis=1)],
      [ints("k", [2])])
graph("gather_elements", [n("ArgMax", ["X"], ["A"], axis=1, keepdims=1), n("Shape", ["X"], ["S"]),
                          n("Expand", ["A", "S"], ["GI"]), n("GatherElements", ["X", "GI"], ["T"], axis=1)])

# support vector machines (scikit-learn's SVR and SVC as skl2onnx writes them): each kernel,
# with and without Platt probabilities, two and three classes, and the linear forms
def svm(name, op, outs, **attrs):
    g = helper.make_graph([helper.make_node(op, ["X"], outs, domain="ai.onnx.ml", **attrs)], name,
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
                          [helper.make_tensor_value_info(o, TensorProto.INT64 if o == "label" else TensorProto.FLOAT,
                                                         [None] if o == "label" else [None, None]) for o in outs])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 1)])
    m.ir_version = 8
    with open(os.path.join(out, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


srng = np.random.default_rng(3)
sv5, sv6 = srng.normal(size=(5, 4)).astype(np.float32), srng.normal(size=(6, 4)).astype(np.float32)
coef6 = srng.normal(size=(2, 6)).astype(np.float32)
for kernel, params in (("RBF", [0.5, 0.0, 3.0]), ("POLY", [0.3, 1.0, 2.0]), ("SIGMOID", [0.2, 0.1, 3.0])):
    svm("svm_reg_" + kernel.lower(), "SVMRegressor", ["Y"], kernel_type=kernel, kernel_params=params,
        support_vectors=sv5.flatten().tolist(), coefficients=[0.5, -1.2, 0.3, 0.8, -0.4], rho=[0.1], n_supports=5)
svm("svm_reg_linear", "SVMRegressor", ["Y"], kernel_type="LINEAR", kernel_params=[0.0, 0.0, 0.0],
    coefficients=[0.5, -1.2, 0.3, 0.7], rho=[0.1])
two = dict(kernel_type="RBF", kernel_params=[0.4, 0.0, 3.0], support_vectors=sv5.flatten().tolist(),
           vectors_per_class=[2, 3], coefficients=[0.7, 0.4, -0.5, -0.3, -0.3], rho=[0.05], classlabels_ints=[0, 1])
svm("svm_cls2_proba", "SVMClassifier", ["label", "Y"], prob_a=[-2.1], prob_b=[0.15], **two)
svm("svm_cls2", "SVMClassifier", ["label", "Y"], **two)
three = dict(support_vectors=sv6.flatten().tolist(), vectors_per_class=[2, 2, 2], coefficients=coef6.flatten().tolist(),
             rho=[0.1, -0.2, 0.05], classlabels_ints=[0, 1, 2])
svm("svm_cls3_proba", "SVMClassifier", ["label", "Y"], kernel_type="RBF", kernel_params=[0.3, 0.0, 3.0],
    prob_a=[-1.5, -2.0, -1.2], prob_b=[0.1, -0.1, 0.2], **three)
svm("svm_cls3", "SVMClassifier", ["label", "Y"], kernel_type="SIGMOID", kernel_params=[0.3, 0.1, 3.0], **three)
svm("svm_cls_linear", "SVMClassifier", ["label", "Y"], kernel_type="LINEAR", kernel_params=[0.0, 0.0, 0.0],
    coefficients=srng.normal(size=12).astype(np.float32).tolist(), rho=[0.3], classlabels_ints=[0, 1, 2])

# TreeEnsemble (ai.onnx.ml 5, what current converters write for every tree model): every
# branch mode, a set membership, missing values sent the true way, a tree that is one leaf,
# each aggregate and post transform
def tree_ensemble(name, n_targets, splits_type, **attrs):
    arr = {k: numpy_helper.from_array(np.array(v, dtype=t), k) for k, v, t in (
        ("nodes_splits", attrs.pop("splits"), splits_type), ("nodes_modes", attrs.pop("modes"), np.uint8),
        ("leaf_weights", attrs.pop("weights"), splits_type))}
    if "members" in attrs:
        arr["membership_values"] = numpy_helper.from_array(np.array(attrs.pop("members"), dtype=splits_type),
                                                           "membership_values")
    # raw targets are served one at a time (target: its column); probabilities as they are
    target = attrs.pop("target", None)
    node = helper.make_node("TreeEnsemble", ["XR"], ["T" if target is not None else "Y"], domain="ai.onnx.ml",
                            n_targets=n_targets, **arr, **attrs)
    pick = [] if target is None else [
        helper.make_node("Constant", [], ["col"], value=numpy_helper.from_array(np.array(target, dtype=np.int64))),
        helper.make_node("Gather", ["T", "col"], ["Y"], axis=1)]
    # rounded first: ONNX Runtime truncates x to an integer before a set membership test (the
    # ONNX specification, its reference and tabserve test x itself), so the rows are integers here
    g = helper.make_graph([helper.make_node("Round", ["X"], ["XR"]), node] + pick, name,
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT,
                                                         [None, n_targets] if target is None else [None])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)])
    m.ir_version = 10
    with open(os.path.join(out, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


# tree 0: node 0 (x0 <= 0) -> node 1 (x1 in {-1, 3}) | node 2 (x2 > -1);
#         node 1 -> leaf 0 | node 3 (x3 == 0); node 3 -> leaf 1 | leaf 2; node 2 -> leaf 3 | node 4
#         node 4 (x0 != 2) -> leaf 4 | leaf 5
# tree 1: node 5 (x3 < 1, missing true) -> leaf 6 | node 6 (x1 >= 0) -> leaf 7 | leaf 8
# tree 2: one leaf (9)
te = dict(nodes_featureids=[0, 1, 2, 3, 0, 3, 1], modes=[0, 6, 3, 4, 5, 1, 2], splits=[0, 0, -1, 0, 2, 1, 0],
          nodes_truenodeids=[1, 0, 3, 1, 4, 6, 7], nodes_trueleafs=[0, 1, 1, 1, 1, 1, 1],
          nodes_falsenodeids=[2, 3, 4, 2, 5, 6, 8], nodes_falseleafs=[0, 0, 0, 1, 1, 0, 1],
          nodes_missing_value_tracks_true=[0, 0, 1, 0, 0, 1, 0], members=[-1, 3, np.nan],
          tree_roots=[0, 5, 7], leaf_targetids=[0, 1, 0, 1, 0, 1, 1, 0, 1, 0],
          weights=[0.5, -1.25, 2.0, 0.75, -0.5, 1.5, 0.25, -2.0, 1.0, 0.125])
# the one-leaf tree: a root whose two ways are leaf 9
te["nodes_featureids"].append(0); te["modes"].append(0); te["splits"].append(0.0)
te["nodes_truenodeids"].append(9); te["nodes_trueleafs"].append(1)
te["nodes_falsenodeids"].append(9); te["nodes_falseleafs"].append(1)
te["nodes_missing_value_tracks_true"].append(0)
# post transforms as the ONNX specification numbers them (1 SOFTMAX, 2 LOGISTIC): ONNX Runtime
# 1.30 reads those two the other way round, so the "post_" graphs are checked against the
# scores of their "_none" twins (test_import.py), the others against ONNX Runtime
for name, extra in (("tree_ensemble_sum", {"target": 1}), ("tree_ensemble_sum_target0", {"target": 0}),
                    ("tree_ensemble_average", {"aggregate_function": 0, "target": 1}),
                    ("tree_ensemble_max", {"aggregate_function": 3, "target": 1}),
                    ("tree_ensemble_min", {"aggregate_function": 2, "target": 0}),
                    ("post_tree_ensemble_logistic", {"post_transform": 2}),
                    ("post_tree_ensemble_softmax", {"post_transform": 1}),
                    ("post_tree_ensemble_softmax_zero", {"post_transform": 3}),
                    ("refused_tree_ensemble_targets", {})):
    tree_ensemble(name, 2, np.float32, **{k: (list(v) if isinstance(v, list) else v) for k, v in te.items()}, **extra)

# CategoryMapper both ways: the rounded value as an int64 to a string, and the string back to
# another int64 (values not listed take the defaults)
cm = [n("Round", ["X"], ["XR2"]), n("Cast", ["XR2"], ["XI"], to=TensorProto.INT64),
      n("CategoryMapper", ["XI"], ["XS"], domain="ai.onnx.ml", cats_int64s=[-3, -1, 0, 1, 3],
        cats_strings=["a", "b", "c", "d", "e"], default_string="z"),
      n("CategoryMapper", ["XS"], ["XJ"], domain="ai.onnx.ml", cats_strings=["e", "d", "c", "z", "a"],
        cats_int64s=[10, 20, 30, 40, 50], default_int64=-7),
      n("Cast", ["XJ"], ["T"], to=TensorProto.FLOAT)]
graph("category_mapper", cm)

# weights kept in float16 and bfloat16 and cast up to float, as mixed-precision exports
# store them (a Cast down is checked bit for bit by ONNX's own node tests)
w16 = numpy_helper.from_array((np.arange(16, dtype=np.float32).reshape(4, 4) / 7 - 1).astype(np.float16), "w16")
b16 = helper.make_tensor("b16", TensorProto.BFLOAT16, [4], [0.1, -0.2, 0.3, 0.0])
graph("float16_weights", [n("Cast", ["w16"], ["w"], to=TensorProto.FLOAT), n("Cast", ["b16"], ["b"], to=TensorProto.FLOAT),
                          n("MatMul", ["X", "w"], ["m"]), n("Add", ["m", "b"], ["a"]), n("Tanh", ["a"], ["T"])],
      [w16, b16])

# refused at load (the model's fault, never blamed on a request): constant Gather indexes past
# the columns they index
for name, idx in (("refused_gather5", [0, 1, 5]), ("refused_gather_big", [0, 2**40])):
    ix = numpy_helper.from_array(np.array(idx, dtype=np.int64), "ix")
    w2 = numpy_helper.from_array(np.ones((len(idx), 1), dtype=np.float32), "w2")
    g = helper.make_graph([n("Gather", ["X", "ix"], ["G"], axis=1), n("MatMul", ["G", "w2"], ["Y"])], name,
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])], initializer=[ix, w2])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    with open(os.path.join(out, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())

rng = np.random.default_rng(7)
values = np.array([-3, -1, -0.5, 0, 0.25, 0.5, 1, 1.5, 2.5, 3], dtype=np.float32)
rows = rng.choice(values, size=(300, 4)) + rng.normal(scale=0.01, size=(300, 4)).astype(np.float32) * (rng.random((300, 4)) < 0.5)
with open(os.path.join(out, "ops.csv"), "w") as f:
    f.write("f0,f1,f2,f3\n")
    for r in rows.astype(np.float32):
        f.write(",".join(repr(float(v)) for v in r) + "\n")

# model-local functions (as exporters built on onnxscript write them): Scaled(x; alpha) =
# Inner(LeakyRelu(x * 2, alpha)), its alpha the caller's attribute (ref_attr_name), its 2 a
# Constant of the body, Inner(x) = Softplus(x) another function; called twice with two alphas,
# so each call's values must be named apart
alpha_ref = AttributeProto()
alpha_ref.name, alpha_ref.ref_attr_name, alpha_ref.type = "alpha", "alpha", AttributeProto.FLOAT
leaky = n("LeakyRelu", ["t"], ["u"])
leaky.attribute.append(alpha_ref)
scaled = helper.make_function("local", "Scaled", ["x"], ["y"],
                              [n("Constant", [], ["two"], value=numpy_helper.from_array(np.array(2, dtype=np.float32))),
                               n("Mul", ["x", "two"], ["t"]), leaky, n("Inner", ["u"], ["y"], domain="local")],
                              [helper.make_opsetid("", 17), helper.make_opsetid("local", 1)], ["alpha"])
inner = helper.make_function("local", "Inner", ["x"], ["y"], [n("Softplus", ["x"], ["y"])],
                             [helper.make_opsetid("", 17)], [])
g = helper.make_graph([n("Scaled", ["X"], ["S1"], domain="local", alpha=0.2),
                       n("Scaled", ["X"], ["S2"], domain="local", alpha=0.05),
                       n("Sub", ["S1", "S2"], ["T"]), n("MatMul", ["T", "W"], ["Y"])], "local_functions",
                      [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])], initializer=[W])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)],
                      functions=[scaled, inner])
m.ir_version = 8
with open(os.path.join(out, "local_functions.onnx"), "wb") as f:
    f.write(m.SerializeToString())

# a function that calls itself (ONNX forbids it; a file may still hold it): refused
again = helper.make_function("local", "Again", ["x"], ["y"], [n("Again", ["x"], ["y"], domain="local")],
                             [helper.make_opsetid("local", 1)], [])
g = helper.make_graph([n("Again", ["X"], ["T"], domain="local"), n("MatMul", ["T", "W"], ["Y"])],
                      "refused_recursive_function", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])], initializer=[W])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)], functions=[again])
m.ir_version = 8
with open(os.path.join(out, "refused_recursive_function.onnx"), "wb") as f:
    f.write(m.SerializeToString())

# functions that each call the next ten times, eight deep (10^8 nodes from a 2 KB file): refused
fans = [helper.make_function("local", f"Fan{k}", ["x"], ["y"],
                             [n(f"Fan{k + 1}" if k < 7 else "Relu", ["x"], [f"y{j}"], domain="local" if k < 7 else "")
                              for j in range(10)] + [n("Identity", ["y0"], ["y"])],
                             [helper.make_opsetid("", 17), helper.make_opsetid("local", 1)], []) for k in range(8)]
g = helper.make_graph([n("Fan0", ["X"], ["T"], domain="local"), n("MatMul", ["T", "W"], ["Y"])],
                      "refused_function_fan_out", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])], initializer=[W])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)], functions=fans)
m.ir_version = 8
with open(os.path.join(out, "refused_function_fan_out.onnx"), "wb") as f:
    f.write(m.SerializeToString())

# a string input whose LabelEncoder knows 10^5 strings: more categories than a schema holds, refused
# (reading them once took n^2 comparisons: 38 s for twice as many)
keys = [f"k{i}" for i in range(100000)]
g = helper.make_graph([n("LabelEncoder", ["S"], ["F"], domain="ai.onnx.ml", keys_strings=keys,
                         values_floats=[float(i) for i in range(len(keys))], default_float=-1.0),
                       n("MatMul", ["F", "one"], ["Y"])], "refused_many_categories",
                      [helper.make_tensor_value_info("S", TensorProto.STRING, [None, 1])],
                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])],
                      initializer=[numpy_helper.from_array(np.ones((1, 1), dtype=np.float32), "one")])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 2)])
m.ir_version = 8
with open(os.path.join(out, "refused_many_categories.onnx"), "wb") as f:
    f.write(m.SerializeToString())

# a torch.onnx export without dynamic axes: every input fixes a batch of 1 ([1, 4]) and a
# Reshape to [1, -1] is baked in (it would merge a batch's rows); its runtime takes one row a
# run (ORT_ONE_ROW in ort_predict.js), as tabserve then runs it. LayerNormalization keeps it
# on the interpreter.
ln = [numpy_helper.from_array(np.array([1.5, 0.5, -1, 2], dtype=np.float32), "ln_s"),
      numpy_helper.from_array(np.array([0.1, 0, 0.2, -0.3], dtype=np.float32), "ln_b"),
      numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape1"), W]
g = helper.make_graph([n("Reshape", ["X", "shape1"], ["R"]),
                       n("LayerNormalization", ["R", "ln_s", "ln_b"], ["L"], epsilon=1e-5),
                       n("MatMul", ["L", "W"], ["Y"])], "one_row_reshape",
                      [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])],
                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 1])], initializer=ln)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
m.ir_version = 8
with open(os.path.join(out, "one_row_reshape.onnx"), "wb") as f:
    f.write(m.SerializeToString())

# a half-precision network end to end (input, weights and answer in float16), its answers
# computed here as ONNX Runtime's CPU provider computes one: the rows rounded to float16, the
# operators in float, the answer rounded to float16 (ort_predict.js feeds only float32)
wh = numpy_helper.from_array(np.array([[1], [-2], [0.5], [4]], dtype=np.float16), "wh")
g = helper.make_graph([n("MatMul", ["X", "wh"], ["m"]), n("Relu", ["m"], ["Y"])], "numpy_half_network",
                      [helper.make_tensor_value_info("X", TensorProto.FLOAT16, [None, 4])],
                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT16, [None, 1])], initializer=[wh])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
m.ir_version = 8
with open(os.path.join(out, "numpy_half_network.onnx"), "wb") as f:
    f.write(m.SerializeToString())
half = rows.astype(np.float32).astype(np.float16).astype(np.float32)
answer = np.maximum(half @ np.array([1, -2, 0.5, 4], dtype=np.float32), 0).astype(np.float16)
with open(os.path.join(out, "numpy_half_network.expected"), "w") as f:
    f.write("".join(repr(float(v)) + "\n" for v in answer))
