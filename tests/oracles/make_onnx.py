#!/usr/bin/python3
"""Makes the ONNX fixtures of tests/test_import.py in OUTDIR (nothing is committed).

scikit-learn 1.2 (Debian's python3-sklearn) fits pipelines on synthetic passenger data;
each fitted model is written as an ONNX graph with Debian's python3-onnx, node for node
the way skl2onnx writes them (skl2onnx itself is not packaged): one input per column
([N, 1] floats or strings), Concat -> Imputer -> Scaler for the numbers, OneHotEncoder ->
Flatten for the strings, Concat, then the estimator (LinearClassifier, TreeEnsemble*,
MatMul/Add/Relu chains) and ZipMap. A "Keras" network takes one [N, F] tensor and runs
Gemm/MatMul + Add + Tanh/Relu + Sigmoid, as tf2onnx and PyTorch export dense networks.

For each NAME it writes NAME.onnx, NAME.twin.onnx (the same graph without ZipMap, whose
probabilities ONNX Runtime can hand to node), NAME.csv (test rows: missing numbers, unseen
categories, values exactly at tree thresholds) and NAME.sklearn (scikit-learn's own
predict_proba or predict of those rows).

usage: make_onnx.py OUTDIR [--big | --seeds]   (--seeds: the small graphs committed as fuzz seeds,
fuzz/corpus/model/onnx-*.onnx)
       make_onnx.py OUTDIR [--big]   (--big: the tree and MLP models of `make bench`; run
make_xgboost.py OUTDIR --big first: the trees are its models, converted)
"""
import os
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

warnings.filterwarnings("ignore")  # convergence chatter: the fixtures need fitted models, not good ones

NUM = ["Age", "Fare", "Pclass"]
CAT = ["Sex", "Embarked"]
OPSETS = [helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)]


def passengers(rng, n):
    age = rng.normal(30, 12, n).clip(0.5, 80).round(1)
    fare = np.exp(rng.normal(3, 1, n)).round(2)
    pclass = rng.integers(1, 4, n).astype(float)
    sex = rng.choice(["male", "female"], n)
    emb = rng.choice(["C", "Q", "S"], n, p=[0.2, 0.1, 0.7])
    z = -0.03 * (age - 30) + 0.01 * fare - 0.8 * (pclass - 2) + 1.5 * (sex == "female") + 0.3 * (emb == "C")
    y = (z + rng.normal(0, 1, n) > 0.3).astype(int)
    y3 = np.digitize(z + rng.normal(0, 0.5, n), [-0.5, 0.8])
    age[rng.random(n) < 0.15] = np.nan
    fare[rng.random(n) < 0.05] = np.nan
    cols = {"Age": age, "Fare": fare, "Pclass": pclass, "Sex": sex, "Embarked": emb}
    return cols, y, y3


def frame(cols):
    """An object array, columns in NUM + CAT order (no pandas on Debian's minimal set)."""
    n = len(cols["Age"])
    out = np.empty((n, len(NUM) + len(CAT)), dtype=object)
    for j, c in enumerate(NUM + CAT):
        out[:, j] = cols[c]
    return out


def f32_down(t):
    """The largest float32 <= t: float32(x) <= t exactly when float32(x) <= this."""
    f = np.float32(t)
    return float(np.nextafter(f, np.float32(-np.inf)) if f > t else f)


def inputs_graph(numeric_only=False):
    nodes, inputs = [], []
    for c in NUM:
        inputs.append(helper.make_tensor_value_info(c, TensorProto.FLOAT, [None, 1]))
    if not numeric_only:
        for c in CAT:
            inputs.append(helper.make_tensor_value_info(c, TensorProto.STRING, [None, 1]))
    nodes.append(helper.make_node("Concat", NUM, ["num"], axis=1, name="ConcatNumbers"))
    return nodes, inputs


def preprocess(nodes, ct, scale=True):
    """Imputer (+ Scaler) on the numbers, OneHotEncoder on the strings, joined."""
    num = ct.named_transformers_["num"]
    imp = num.named_steps["impute"]
    nodes.append(helper.make_node("Imputer", ["num"], ["num_imputed"], domain="ai.onnx.ml", name="Imputer",
                                  imputed_value_floats=[float(v) for v in imp.statistics_],
                                  replaced_value_float=float("nan")))
    last = "num_imputed"
    if scale:
        sc = num.named_steps["scale"]
        nodes.append(helper.make_node("Scaler", [last], ["num_scaled"], domain="ai.onnx.ml", name="Scaler",
                                      offset=[float(v) for v in sc.mean_], scale=[float(1 / v) for v in sc.scale_]))
        last = "num_scaled"
    parts = [last]
    enc = ct.named_transformers_["cat"]
    for c, cats in zip(CAT, enc.categories_):
        nodes.append(helper.make_node("OneHotEncoder", [c], [c + "_onehot"], domain="ai.onnx.ml",
                                      name="OneHot_" + c, cats_strings=[str(v) for v in cats], zeros=1))
        nodes.append(helper.make_node("Flatten", [c + "_onehot"], [c + "_flat"], axis=1, name="Flatten_" + c))
        parts.append(c + "_flat")
    nodes.append(helper.make_node("Concat", parts, ["features"], axis=1, name="ConcatFeatures"))
    return "features"


def classifier_outputs(nodes, classes, zipmap):
    outs = [helper.make_tensor_value_info("label", TensorProto.INT64, [None])]
    if zipmap:
        nodes.append(helper.make_node("ZipMap", ["probabilities"], ["output_probability"], domain="ai.onnx.ml",
                                      name="ZipMap", classlabels_int64s=[int(c) for c in classes]))
        t = onnx.TypeProto()  # seq(map(int64, float)), built by hand: onnx 1.12 has no helper for maps
        t.sequence_type.elem_type.map_type.key_type = TensorProto.INT64
        t.sequence_type.elem_type.map_type.value_type.tensor_type.elem_type = TensorProto.FLOAT
        outs.append(helper.make_value_info("output_probability", t))
    else:
        outs.append(helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, len(classes)]))
    return outs


def without_post_transform(make, name):
    """make's graph with its LinearClassifier's post_transform NONE: decision scores."""
    def made(zipmap):
        graph = make(zipmap)
        for node in graph.node:
            if node.op_type == "LinearClassifier":
                for a in node.attribute:
                    if a.name == "post_transform":
                        a.s = b"NONE"
        graph.name = name
        return graph
    return made


def save(out, name, make, rows, expected):
    for twin in (False, True):
        graph = make(not twin)
        model = helper.make_model(graph, opset_imports=OPSETS, producer_name="tabserve-tests",
                                  producer_version="1")
        model.ir_version = 8
        onnx.checker.check_model(model)
        path = os.path.join(out, name + (".twin.onnx" if twin else ".onnx"))
        onnx.save(model, path + ".tmp")
        os.replace(path + ".tmp", path)
    write_rows(os.path.join(out, name + ".csv"), rows)
    np.savetxt(os.path.join(out, name + ".sklearn"), np.asarray(expected, dtype=np.float64).reshape(len(expected), -1),
               fmt="%.9g", delimiter=",")


def write_rows(path, cols, names=None):
    names = names or list(cols)
    n = len(cols[names[0]])
    with open(path + ".tmp", "w") as f:
        f.write(",".join(names) + "\n")
        for i in range(n):
            cells = []
            for c in names:
                v = cols[c][i]
                cells.append("" if isinstance(v, float) and v != v else (repr(float(v)) if not isinstance(v, str) else v))
            f.write(",".join(cells) + "\n")
    os.replace(path + ".tmp", path)


def tree_nodes(estimators, tree_weight, n_classes=None):
    """TreeEnsemble attributes from fitted sklearn trees (BRANCH_LEQ, as skl2onnx)."""
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                         "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true")}
    leaves = {"treeids": [], "nodeids": [], "ids": [], "weights": []}
    for t, est in enumerate(estimators):
        tr = est.tree_
        for i in range(tr.node_count):
            leaf = tr.children_left[i] < 0
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(i)
            a["nodes_featureids"].append(0 if leaf else int(tr.feature[i]))
            a["nodes_values"].append(0.0 if leaf else f32_down(tr.threshold[i]))
            a["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
            a["nodes_truenodeids"].append(0 if leaf else int(tr.children_left[i]))
            a["nodes_falsenodeids"].append(0 if leaf else int(tr.children_right[i]))
            a["nodes_missing_value_tracks_true"].append(0)
            if leaf:
                for cls, w in tree_weight(tr, i):
                    leaves["treeids"].append(t)
                    leaves["nodeids"].append(i)
                    leaves["ids"].append(cls)
                    leaves["weights"].append(float(w))
    return a, leaves


def thresholds_of(estimators):
    out = {}
    for est in estimators:
        tr = est.tree_
        for i in range(tr.node_count):
            if tr.children_left[i] >= 0:
                out.setdefault(int(tr.feature[i]), set()).add(f32_down(tr.threshold[i]))
    return out


def plant_thresholds(rng, test, estimators):
    """Half the test rows: numbers exactly at a split threshold (the numeric features come first)."""
    cuts = thresholds_of(estimators)
    n = len(test["Age"])
    for i in range(n // 2):
        for f, values in cuts.items():
            if f < len(NUM) and rng.random() < 0.6:
                test[NUM[f]][i] = float(np.float32(rng.choice(sorted(values))))


def all_fixtures(out):
    rng = np.random.default_rng(5)
    train, y, y3 = passengers(rng, 3000)
    test, _, _ = passengers(rng, 2000)
    test["Embarked"][::37] = "X"  # a port never seen: one-hot zeros
    for c in NUM:
        test[c][:10] = np.nan  # every number missing
    X, Xt = frame(train), frame(test)

    def ct(scale=True):
        steps = [("impute", SimpleImputer(strategy="median"))] + ([("scale", StandardScaler())] if scale else [])
        return ColumnTransformer([("num", Pipeline(steps), [0, 1, 2]),
                                  ("cat", OneHotEncoder(handle_unknown="ignore"), [3, 4])])

    # logistic regression, binary (LOGISTIC over two rows, as skl2onnx)
    lr = Pipeline([("ct", ct()), ("m", LogisticRegression(max_iter=1000))]).fit(X, y)

    def make_lr(zipmap):
        nodes, inputs = inputs_graph()
        x = preprocess(nodes, lr.named_steps["ct"])
        w, b = lr.named_steps["m"].coef_[0], lr.named_steps["m"].intercept_[0]
        nodes.append(helper.make_node("LinearClassifier", [x], ["label", "probabilities"], domain="ai.onnx.ml",
                                      name="LinearClassifier", coefficients=[float(v) for v in np.concatenate([-w, w])],
                                      intercepts=[float(-b), float(b)], classlabels_ints=[0, 1],
                                      post_transform="LOGISTIC", multi_class=0))
        return helper.make_graph(nodes, "logreg", inputs, classifier_outputs(nodes, [0, 1], zipmap))
    save(out, "logreg", make_lr, test, lr.predict_proba(Xt)[:, 1])

    # the same without a post transform, as skl2onnx writes a LinearSVC or a classifier's
    # decision_function: the "probabilities" are decision scores (w.x + b for class 1)
    save(out, "logreg_scores", without_post_transform(make_lr, "logreg_scores"), test, lr.decision_function(Xt))

    # a Normalizer between the column transformer and the logistic regression:
    # L2 and L1 on scaled columns (signs mixed), MAX on unscaled ones (all >= 0, where
    # scikit-learn's max |x| and the operator's max x agree)
    from sklearn.preprocessing import Normalizer
    for norm, scale in (("l2", True), ("l1", True), ("max", False)):
        nlr = Pipeline([("ct", ct(scale)), ("norm", Normalizer(norm)), ("m", LogisticRegression(max_iter=1000))]).fit(X, y)

        def make_nlr(zipmap, nlr=nlr, norm=norm, scale=scale):
            nodes, inputs = inputs_graph()
            x = preprocess(nodes, nlr.named_steps["ct"], scale)
            nodes.append(helper.make_node("Normalizer", [x], ["normalized"], domain="ai.onnx.ml", name="Normalizer",
                                          norm=norm.upper()))
            w, b = nlr.named_steps["m"].coef_[0], nlr.named_steps["m"].intercept_[0]
            nodes.append(helper.make_node("LinearClassifier", ["normalized"], ["label", "probabilities"],
                                          domain="ai.onnx.ml", name="LinearClassifier",
                                          coefficients=[float(v) for v in np.concatenate([-w, w])],
                                          intercepts=[float(-b), float(b)], classlabels_ints=[0, 1],
                                          post_transform="LOGISTIC", multi_class=0))
            return helper.make_graph(nodes, "norm" + norm, inputs, classifier_outputs(nodes, [0, 1], zipmap))
        save(out, "norm" + norm, make_nlr, test, nlr.predict_proba(Xt)[:, 1])

    # multinomial logistic regression, three classes (SOFTMAX)
    lr3 = Pipeline([("ct", ct()), ("m", LogisticRegression(max_iter=1000))]).fit(X, y3)

    def make_lr3(zipmap):
        nodes, inputs = inputs_graph()
        x = preprocess(nodes, lr3.named_steps["ct"])
        m = lr3.named_steps["m"]
        nodes.append(helper.make_node("LinearClassifier", [x], ["label", "probabilities"], domain="ai.onnx.ml",
                                      name="LinearClassifier", coefficients=[float(v) for v in m.coef_.ravel()],
                                      intercepts=[float(v) for v in m.intercept_], classlabels_ints=[0, 1, 2],
                                      post_transform="SOFTMAX", multi_class=1))
        return helper.make_graph(nodes, "logreg3", inputs, classifier_outputs(nodes, [0, 1, 2], zipmap))
    save(out, "logreg3", make_lr3, test, lr3.predict_proba(Xt))

    # the same without a post transform: each class's decision score (w_c.x + b_c)
    save(out, "logreg3_scores", without_post_transform(make_lr3, "logreg3_scores"), test, lr3.decision_function(Xt))

    # MLP classifier: MatMul + Add + Relu, then MatMul + Add + Sigmoid
    mlp = Pipeline([("ct", ct()), ("m", MLPClassifier((16, 8), max_iter=600, random_state=0))]).fit(X, y)

    def make_mlp(zipmap):
        del zipmap
        nodes, inputs = inputs_graph()
        x = preprocess(nodes, mlp.named_steps["ct"])
        m = mlp.named_steps["m"]
        inits = []
        for i, (w, b) in enumerate(zip(m.coefs_, m.intercepts_)):
            inits += [helper.make_tensor(f"W{i}", TensorProto.FLOAT, w.shape, w.astype(np.float32).ravel()),
                      helper.make_tensor(f"B{i}", TensorProto.FLOAT, b.shape, b.astype(np.float32))]
            nodes.append(helper.make_node("MatMul", [x, f"W{i}"], [f"mm{i}"], name=f"MatMul{i}"))
            nodes.append(helper.make_node("Add", [f"mm{i}", f"B{i}"], [f"z{i}"], name=f"Add{i}"))
            last = i == len(m.coefs_) - 1
            nodes.append(helper.make_node("Sigmoid" if last else "Relu", [f"z{i}"], [f"a{i}"], name=f"Act{i}"))
            x = f"a{i}"
        outs = [helper.make_tensor_value_info(x, TensorProto.FLOAT, [None, 1])]
        return helper.make_graph(nodes, "mlp", inputs, outs, initializer=inits)
    save(out, "mlp", make_mlp, test, mlp.predict_proba(Xt)[:, 1])

    # random forest: TreeEnsembleClassifier, both classes' leaf probabilities, NONE
    rf = Pipeline([("ct", ct(scale=False)), ("m", RandomForestClassifier(40, max_depth=6, random_state=0))]).fit(X, y)
    rf_trees = rf.named_steps["m"].estimators_
    rf_test = {k: v.copy() for k, v in test.items()}
    plant_thresholds(rng, rf_test, rf_trees)

    def rf_weight(tr, i):
        v = tr.value[i][0]
        return [(c, v[c] / v.sum() / len(rf_trees)) for c in range(2)]

    def make_rf(zipmap):
        nodes, inputs = inputs_graph()
        x = preprocess(nodes, rf.named_steps["ct"], scale=False)
        a, leaves = tree_nodes(rf_trees, rf_weight)
        nodes.append(helper.make_node("TreeEnsembleClassifier", [x], ["label", "probabilities"], domain="ai.onnx.ml",
                                      name="TreeEnsembleClassifier", classlabels_int64s=[0, 1],
                                      post_transform="NONE", **a,
                                      **{"class_" + k: v for k, v in leaves.items()}))
        return helper.make_graph(nodes, "forest", inputs, classifier_outputs(nodes, [0, 1], zipmap))
    save(out, "forest", make_rf, rf_test, rf.predict_proba(frame(rf_test))[:, 1])

    # gradient boosting: TreeEnsembleRegressor of the raw score, then Sigmoid
    gb = Pipeline([("ct", ct(scale=False)), ("m", GradientBoostingClassifier(n_estimators=60, max_depth=3,
                                                                            random_state=0))]).fit(X, y)
    gbm = gb.named_steps["m"]
    gb_trees = [e[0] for e in gbm.estimators_]
    gb_test = {k: v.copy() for k, v in test.items()}
    plant_thresholds(rng, gb_test, gb_trees)
    init = float(gbm._raw_predict_init(gb.named_steps["ct"].transform(X[:1]))[0][0])

    def make_gb(zipmap):
        del zipmap
        nodes, inputs = inputs_graph()
        x = preprocess(nodes, gb.named_steps["ct"], scale=False)
        a, leaves = tree_nodes(gb_trees, lambda tr, i: [(0, gbm.learning_rate * tr.value[i][0][0])])
        nodes.append(helper.make_node("TreeEnsembleRegressor", [x], ["score"], domain="ai.onnx.ml",
                                      name="TreeEnsembleRegressor", n_targets=1, base_values=[init],
                                      post_transform="NONE", aggregate_function="SUM", **a,
                                      **{"target_" + k: v for k, v in leaves.items()}))
        nodes.append(helper.make_node("Sigmoid", ["score"], ["probability"], name="Sigmoid"))
        outs = [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [None, 1])]
        return helper.make_graph(nodes, "boosting", inputs, outs)
    save(out, "boosting", make_gb, gb_test, gb.predict_proba(frame(gb_test))[:, 1])

    # ridge regression: LinearRegressor
    fare_target = np.nan_to_num(train["Fare"], nan=30.0)
    del fare_target

    # a "Keras" network on one [N, F] tensor: Gemm + Tanh, MatMul + Add + Sigmoid
    rs = np.random.default_rng(9)
    xk = rs.normal(size=(3000, 10)).astype(np.float32)
    yk = (xk[:, 0] + xk[:, 1] * xk[:, 2] > 0).astype(int)
    km = MLPClassifier((32,), activation="tanh", max_iter=500, random_state=0).fit(xk, yk)
    xt = rs.normal(size=(2000, 10)).astype(np.float32)

    def make_keras(zipmap):
        del zipmap
        (w0, w1), (b0, b1) = km.coefs_, km.intercepts_
        inits = [helper.make_tensor("W0T", TensorProto.FLOAT, w0.T.shape, w0.T.astype(np.float32).ravel()),
                 helper.make_tensor("B0", TensorProto.FLOAT, b0.shape, b0.astype(np.float32)),
                 helper.make_tensor("W1", TensorProto.FLOAT, w1.shape, w1.astype(np.float32).ravel()),
                 helper.make_tensor("B1", TensorProto.FLOAT, b1.shape, b1.astype(np.float32))]
        nodes = [helper.make_node("Gemm", ["input_1", "W0T", "B0"], ["h"], transB=1, name="dense/Gemm"),
                 helper.make_node("Tanh", ["h"], ["a"], name="dense/Tanh"),
                 helper.make_node("MatMul", ["a", "W1"], ["m"], name="dense_1/MatMul"),
                 helper.make_node("Add", ["m", "B1"], ["z"], name="dense_1/BiasAdd"),
                 helper.make_node("Sigmoid", ["z"], ["dense_1"], name="dense_1/Sigmoid")]
        inputs = [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [None, 10])]
        outs = [helper.make_tensor_value_info("dense_1", TensorProto.FLOAT, [None, 1])]
        return helper.make_graph(nodes, "keras", inputs, outs, initializer=inits)
    save(out, "keras", make_keras, {f"f{j}": xt[:, j].astype(float) for j in range(10)}, km.predict_proba(xt)[:, 1])

    # LabelEncoder (strings -> codes) before trees, and a Sub/Div normalisation before a network
    from sklearn.preprocessing import OrdinalEncoder
    enc = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    codes = enc.fit_transform(X[:, 3:5].astype(str))
    imp = SimpleImputer(strategy="median").fit(X[:, 0:3].astype(float))
    xo = np.column_stack([imp.transform(X[:, 0:3].astype(float)), codes])
    gbo = GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0).fit(xo, y)
    le_test = {k: v.copy() for k, v in test.items()}
    xo_t = np.column_stack([imp.transform(frame(le_test)[:, 0:3].astype(float)),
                            enc.transform(frame(le_test)[:, 3:5].astype(str))])
    le_init = float(gbo._raw_predict_init(xo[:1])[0][0])

    def make_le(zipmap):
        del zipmap
        nodes, inputs = inputs_graph()
        nodes.append(helper.make_node("Imputer", ["num"], ["num_imputed"], domain="ai.onnx.ml", name="Imputer",
                                      imputed_value_floats=[float(v) for v in imp.statistics_],
                                      replaced_value_float=float("nan")))
        parts = ["num_imputed"]
        for c, cats in zip(CAT, enc.categories_):
            nodes.append(helper.make_node("LabelEncoder", [c], [c + "_code"], domain="ai.onnx.ml", name="Label_" + c,
                                          keys_strings=[str(v) for v in cats], values_int64s=list(range(len(cats))),
                                          default_int64=-1))
            nodes.append(helper.make_node("Cast", [c + "_code"], [c + "_f"], to=TensorProto.FLOAT, name="Cast_" + c))
            parts.append(c + "_f")
        nodes.append(helper.make_node("Concat", parts, ["features"], axis=1, name="ConcatFeatures"))
        a, leaves = tree_nodes([e[0] for e in gbo.estimators_], lambda tr, i: [(0, gbo.learning_rate * tr.value[i][0][0])])
        nodes.append(helper.make_node("TreeEnsembleRegressor", ["features"], ["score"], domain="ai.onnx.ml",
                                      name="TreeEnsembleRegressor", n_targets=1, base_values=[le_init], **a,
                                      **{"target_" + k: v for k, v in leaves.items()}))
        nodes.append(helper.make_node("Sigmoid", ["score"], ["probability"], name="Sigmoid"))
        return helper.make_graph(nodes, "labelenc", inputs,
                                 [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [None, 1])])
    save(out, "labelenc", make_le, le_test, gbo.predict_proba(xo_t)[:, 1])

    mu, sd = xk.mean(axis=0), xk.std(axis=0)
    kn = MLPClassifier((16,), activation="tanh", max_iter=500, random_state=1).fit((xk - mu) / sd, yk)

    def make_norm(zipmap):
        del zipmap
        (w0, w1), (b0, b1) = kn.coefs_, kn.intercepts_
        inits = [helper.make_tensor("MU", TensorProto.FLOAT, [10], mu.astype(np.float32)),
                 helper.make_tensor("SD", TensorProto.FLOAT, [10], sd.astype(np.float32)),
                 helper.make_tensor("W0", TensorProto.FLOAT, w0.shape, w0.astype(np.float32).ravel()),
                 helper.make_tensor("B0", TensorProto.FLOAT, b0.shape, b0.astype(np.float32)),
                 helper.make_tensor("W1", TensorProto.FLOAT, w1.shape, w1.astype(np.float32).ravel()),
                 helper.make_tensor("B1", TensorProto.FLOAT, b1.shape, b1.astype(np.float32))]
        nodes = [helper.make_node("Sub", ["input_1", "MU"], ["c"], name="normalization/sub"),
                 helper.make_node("Div", ["c", "SD"], ["z0"], name="normalization/truediv"),
                 helper.make_node("Gemm", ["z0", "W0", "B0"], ["h"], name="dense/Gemm"),
                 helper.make_node("Tanh", ["h"], ["a"], name="dense/Tanh"),
                 helper.make_node("MatMul", ["a", "W1"], ["m"], name="dense_1/MatMul"),
                 helper.make_node("Add", ["m", "B1"], ["z"], name="dense_1/BiasAdd"),
                 helper.make_node("Sigmoid", ["z"], ["dense_1"], name="dense_1/Sigmoid")]
        inputs = [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [None, 10])]
        outs = [helper.make_tensor_value_info("dense_1", TensorProto.FLOAT, [None, 1])]
        return helper.make_graph(nodes, "kerasnorm", inputs, outs, initializer=inits)
    save(out, "kerasnorm", make_norm, {f"f{j}": xt[:, j].astype(float) for j in range(10)},
         kn.predict_proba((xt - mu) / sd)[:, 1])

    # Gather (columns by constant int32 indexes, some negative) and Where (a constant
    # condition: the last two features replaced by constants) before the Keras network:
    # the client sends 12 columns in another order, two of them unused
    order = [3, 11, 0, 7, 5, 10, 1, 9, 2, 8, 4, 6]  # client column k holds feature order[k] (10, 11: unused)
    pick = [order.index(j) for j in range(10)]
    pick = [p - 12 if j % 3 == 0 else p for j, p in enumerate(pick)]  # negative indexes count from the end
    fill = np.array([0.25, -0.5], dtype=np.float32)
    xg = np.column_stack([xt, rs.normal(size=(len(xt), 2)).astype(np.float32)])
    xg = xg[:, order]  # client column k = feature order[k]
    xs = xt.copy()
    xs[:, 8:] = fill

    def make_select(zipmap):
        del zipmap
        (w0, w1), (b0, b1) = km.coefs_, km.intercepts_
        inits = [helper.make_tensor("IDX", TensorProto.INT32, [10], pick),
                 helper.make_tensor("KEEP", TensorProto.BOOL, [10], [True] * 8 + [False] * 2),
                 helper.make_tensor("FILL", TensorProto.FLOAT, [10], [0.0] * 8 + [float(v) for v in fill]),
                 helper.make_tensor("W0T", TensorProto.FLOAT, w0.T.shape, w0.T.astype(np.float32).ravel()),
                 helper.make_tensor("B0", TensorProto.FLOAT, b0.shape, b0.astype(np.float32)),
                 helper.make_tensor("W1", TensorProto.FLOAT, w1.shape, w1.astype(np.float32).ravel()),
                 helper.make_tensor("B1", TensorProto.FLOAT, b1.shape, b1.astype(np.float32))]
        nodes = [helper.make_node("Gather", ["input_1", "IDX"], ["g"], axis=1, name="select/Gather"),
                 helper.make_node("Where", ["KEEP", "g", "FILL"], ["w"], name="mask/Where"),
                 helper.make_node("Gemm", ["w", "W0T", "B0"], ["h"], transB=1, name="dense/Gemm"),
                 helper.make_node("Tanh", ["h"], ["a"], name="dense/Tanh"),
                 helper.make_node("MatMul", ["a", "W1"], ["m"], name="dense_1/MatMul"),
                 helper.make_node("Add", ["m", "B1"], ["z"], name="dense_1/BiasAdd"),
                 helper.make_node("Sigmoid", ["z"], ["dense_1"], name="dense_1/Sigmoid")]
        inputs = [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [None, 12])]
        outs = [helper.make_tensor_value_info("dense_1", TensorProto.FLOAT, [None, 1])]
        return helper.make_graph(nodes, "kerasselect", inputs, outs, initializer=inits)
    save(out, "kerasselect", make_select, {f"f{j}": xg[:, j].astype(float) for j in range(12)},
         km.predict_proba(xs)[:, 1])

    # a Keras network with an Embedding, as tf2onnx writes it: the category index arrives as a
    # float, is cast to int64, looks its row up in a table (Gather), is flattened and joined to
    # three numeric inputs before the dense layers; the expected values are the same network
    # computed here with numpy (float64)
    V, D = 7, 4
    emb_table = rs.normal(size=(V, D)).astype(np.float32)
    ew0 = rs.normal(size=(3 + D, 16)).astype(np.float32) * 0.5
    eb0 = rs.normal(size=16).astype(np.float32) * 0.1
    ew1 = rs.normal(size=(16, 1)).astype(np.float32) * 0.5
    eb1 = np.array([0.2], dtype=np.float32)
    n_e = 2000
    e_num = rs.normal(size=(n_e, 3)).astype(np.float32)
    e_cat = rs.integers(0, V, size=n_e)
    e_x = np.column_stack([e_num.astype(np.float64), emb_table[e_cat].astype(np.float64)])
    e_h = np.maximum(e_x @ ew0.astype(np.float64) + eb0, 0)
    e_p = 1 / (1 + np.exp(-(e_h @ ew1.astype(np.float64) + eb1)))[:, 0]

    def make_embed(zipmap):
        del zipmap
        inits = [helper.make_tensor("E", TensorProto.FLOAT, [V, D], emb_table.ravel()),
                 helper.make_tensor("W0", TensorProto.FLOAT, ew0.shape, ew0.ravel()),
                 helper.make_tensor("B0", TensorProto.FLOAT, [16], eb0),
                 helper.make_tensor("W1", TensorProto.FLOAT, ew1.shape, ew1.ravel()),
                 helper.make_tensor("B1", TensorProto.FLOAT, [1], eb1)]
        nodes = [helper.make_node("Cast", ["cat"], ["cat_i"], to=TensorProto.INT64, name="embedding/Cast"),
                 helper.make_node("Gather", ["E", "cat_i"], ["looked"], axis=0, name="embedding/embedding_lookup"),
                 helper.make_node("Flatten", ["looked"], ["flat"], axis=1, name="flatten/Reshape"),
                 helper.make_node("Concat", ["a", "b", "c", "flat"], ["x"], axis=1, name="concatenate/concat"),
                 helper.make_node("MatMul", ["x", "W0"], ["m0"], name="dense/MatMul"),
                 helper.make_node("Add", ["m0", "B0"], ["z0"], name="dense/BiasAdd"),
                 helper.make_node("Relu", ["z0"], ["h"], name="dense/Relu"),
                 helper.make_node("MatMul", ["h", "W1"], ["m1"], name="dense_1/MatMul"),
                 helper.make_node("Add", ["m1", "B1"], ["z1"], name="dense_1/BiasAdd"),
                 helper.make_node("Sigmoid", ["z1"], ["dense_1"], name="dense_1/Sigmoid")]
        inputs = [helper.make_tensor_value_info(k, TensorProto.FLOAT, [None, 1]) for k in ("a", "b", "c", "cat")]
        outs = [helper.make_tensor_value_info("dense_1", TensorProto.FLOAT, [None, 1])]
        return helper.make_graph(nodes, "kerasembed", inputs, outs, initializer=inits)
    save(out, "kerasembed", make_embed, {"a": e_num[:, 0].astype(float), "b": e_num[:, 1].astype(float),
                                         "c": e_num[:, 2].astype(float), "cat": e_cat.astype(int)}, e_p)

    # the same lookup before a linear model (LinearClassifier): the table folds into its coefficients
    lw = rs.normal(size=3 + D).astype(np.float32)
    lb = np.float32(-0.3)
    l_p = 1 / (1 + np.exp(-(e_x @ lw.astype(np.float64) + lb)))

    def make_embed_lr(zipmap):
        nodes = [helper.make_node("Cast", ["cat"], ["cat_i"], to=TensorProto.INT64, name="Cast"),
                 helper.make_node("Gather", ["E", "cat_i"], ["looked"], axis=0, name="lookup"),
                 helper.make_node("Flatten", ["looked"], ["flat"], axis=1, name="Flatten"),
                 helper.make_node("Concat", ["a", "b", "c", "flat"], ["x"], axis=1, name="Concat"),
                 helper.make_node("LinearClassifier", ["x"], ["label", "probabilities"], domain="ai.onnx.ml",
                                  name="LinearClassifier", coefficients=[float(v) for v in np.concatenate([-lw, lw])],
                                  intercepts=[float(-lb), float(lb)], classlabels_ints=[0, 1],
                                  post_transform="LOGISTIC", multi_class=0)]
        inputs = [helper.make_tensor_value_info(k, TensorProto.FLOAT, [None, 1]) for k in ("a", "b", "c", "cat")]
        return helper.make_graph(nodes, "embedlr", inputs, classifier_outputs(nodes, [0, 1], zipmap),
                                 initializer=[helper.make_tensor("E", TensorProto.FLOAT, [V, D], emb_table.ravel())])
    save(out, "embedlr", make_embed_lr, {"a": e_num[:, 0].astype(float), "b": e_num[:, 1].astype(float),
                                         "c": e_num[:, 2].astype(float), "cat": e_cat.astype(int)}, l_p)

    general(out, test, frame(test), make_lr, lr, make_rf, rf, rf_test, gb, gbm, gb_trees, init)

    # refused at load by the interpreter's dry runs: a shape, a type, no answer per row
    def refused(name, nodes, inits=()):
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [None, 3])],
                              [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, [None, 1])],
                              initializer=list(inits))
        model = helper.make_model(g, opset_imports=OPSETS)
        model.ir_version = 8
        onnx.save(model, os.path.join(out, name + ".onnx"))
    refused("badshape", [helper.make_node("MatMul", ["input_1", "W"], ["y"], name="dense")],
            [helper.make_tensor("W", TensorProto.FLOAT, [2, 1], [1.0, 2.0])])
    refused("badtype", [helper.make_node("Add", ["input_1", "K"], ["y"], name="add")],
            [helper.make_tensor("K", TensorProto.INT64, [1], [1])])
    refused("noanswer", [helper.make_node("Cast", ["input_1"], ["code"], to=TensorProto.INT64, name="cast"),
                         helper.make_node("ArgMax", ["code"], ["y"], axis=1, name="best")])

    # refused: Gather along the rows
    rows = helper.make_graph([helper.make_node("Gather", ["input_1", "I"], ["y"], axis=0, name="rows")], "rows",
                             [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [None, 4])],
                             [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])],
                             initializer=[helper.make_tensor("I", TensorProto.INT64, [1], [0])])
    model = helper.make_model(rows, opset_imports=OPSETS)
    model.ir_version = 8
    onnx.save(model, os.path.join(out, "gather_rows.onnx"))

    # refused: an operator outside the list (Normalizer here is out of place: LpNormalization)
    bad = helper.make_graph([helper.make_node("LpNormalization", ["input_1"], ["y"], name="norm")], "bad",
                            [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [None, 4])],
                            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])])
    model = helper.make_model(bad, opset_imports=OPSETS)
    model.ir_version = 8
    onnx.save(model, os.path.join(out, "unsupported.onnx"))



def renamed(graph, prefix, keep):
    """The nodes and initializers of graph with every value name but the graph inputs (keep)
    prefixed, so that two models' graphs can share one."""
    def name(v):
        return v if v in keep or not v else prefix + v
    nodes = []
    for n in graph.node:
        m = onnx.NodeProto()
        m.CopyFrom(n)
        m.name = prefix + n.name
        m.input[:] = [name(v) for v in n.input]
        m.output[:] = [name(v) for v in n.output]
        nodes.append(m)
    inits = []
    for t in graph.initializer:
        u = onnx.TensorProto()
        u.CopyFrom(t)
        u.name = name(t.name)
        inits.append(u)
    return nodes, inits


def general(out, test, Xt, make_lr, lr, make_rf, rf, rf_test, gb, gbm, gb_trees, init):
    """Graphs the compiler does not follow, which tabserve runs as written (import/onnx_graph.c).

    blend    three classifiers on the same inputs, their probabilities averaged (Add, Div):
             logistic regression, a random forest, and gradient boosting written as skl2onnx
             writes a binary GradientBoostingClassifier (TreeEnsembleClassifier, every weight
             for class id 0, LOGISTIC, one base value)
    arith    arithmetic between computed columns: Mul, Div, a Where whose condition is
             computed from the data, Softmax and ArgMax in the middle, Gemm (transB)
    strings  LabelEncoder strings -> strings -> OneHotEncoder, strings -> integers -> Cast,
             an Imputer, then a TreeEnsembleRegressor with BRANCH_EQ, BRANCH_NEQ and
             BRANCH_GTE nodes, AVERAGE, a base value, Sigmoid
    Expected values: scikit-learn's predict_proba (blend) or the same arithmetic in numpy."""
    keep = {"Age", "Fare", "Pclass", "Sex", "Embarked"}
    rows = {k: v.copy() for k, v in rf_test.items()}

    def make_blend(zipmap):
        del zipmap
        _, inputs = inputs_graph()
        n1, i1 = renamed(make_lr(False), "lr_", keep)
        n2, i2 = renamed(make_rf(False), "rf_", keep)
        nodes = n1 + n2
        nodes += inputs_graph()[0]
        nodes[-1].output[:] = ["gb_num"]
        nodes[-1].name = "gb_ConcatNumbers"
        gnodes = []
        x = preprocess(gnodes, gb.named_steps["ct"], scale=False)
        g_nodes, _ = renamed(helper.make_graph(gnodes, "g", [], []), "gb_", keep)
        nodes += g_nodes
        a, leaves = tree_nodes(gb_trees, lambda tr, i: [(0, gbm.learning_rate * tr.value[i][0][0])])
        nodes.append(helper.make_node("TreeEnsembleClassifier", ["gb_" + x], ["gb_label", "gb_probabilities"],
                                      domain="ai.onnx.ml", name="gb_TreeEnsembleClassifier",
                                      classlabels_int64s=[0, 1], post_transform="LOGISTIC", base_values=[init],
                                      **a, **{"class_" + k: v for k, v in leaves.items()}))
        nodes += [helper.make_node("Add", ["lr_probabilities", "rf_probabilities"], ["two"], name="AddTwo"),
                  helper.make_node("Add", ["two", "gb_probabilities"], ["three"], name="AddThree"),
                  helper.make_node("Div", ["three", "THREE"], ["probabilities"], name="Mean")]
        inits = i1 + i2 + [helper.make_tensor("THREE", TensorProto.FLOAT, [], [3.0])]
        outs = [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])]
        return helper.make_graph(nodes, "blend", inputs, outs, initializer=inits)
    X = frame(rows)
    want = (lr.predict_proba(X)[:, 1] + rf.predict_proba(X)[:, 1] + gb.predict_proba(X)[:, 1]) / 3
    save(out, "blend", make_blend, rows, want)

    rs = np.random.default_rng(11)
    xa = rs.normal(0, 2, size=(2000, 4)).astype(np.float32)
    wa = np.array([[0.7, -1.1, 0.4, 0.25]], dtype=np.float32)
    ca = np.array([-0.2], dtype=np.float32)

    def make_arith(zipmap):
        del zipmap
        inits = [helper.make_tensor(f"C{j}", TensorProto.INT64, [1], [j]) for j in range(4)]
        inits += [helper.make_tensor("ONE", TensorProto.FLOAT, [], [1.0]),
                  helper.make_tensor("W", TensorProto.FLOAT, [1, 4], wa.ravel()),
                  helper.make_tensor("C", TensorProto.FLOAT, [1], ca)]
        nodes = [helper.make_node("Gather", ["input_1", f"C{j}"], [f"g{j}"], axis=1, name=f"column{j}")
                 for j in range(4)]
        nodes += [helper.make_node("Mul", ["g0", "g1"], ["prod"], name="product"),
                  helper.make_node("Mul", ["g3", "g3"], ["sq"], name="square"),
                  helper.make_node("Add", ["sq", "ONE"], ["den"], name="denominator"),
                  helper.make_node("Div", ["g2", "den"], ["ratio"], name="ratio"),
                  helper.make_node("Cast", ["g3"], ["g3i"], to=TensorProto.INT64, name="truncate"),
                  helper.make_node("Cast", ["g3i"], ["cond"], to=TensorProto.BOOL, name="nonzero"),
                  helper.make_node("Where", ["cond", "prod", "ratio"], ["w"], name="choose"),
                  helper.make_node("Concat", ["w", "g0", "ratio"], ["h"], axis=1, name="join"),
                  helper.make_node("Softmax", ["h"], ["s"], axis=1, name="softmax"),
                  helper.make_node("ArgMax", ["s"], ["am"], axis=1, keepdims=1, name="argmax"),
                  helper.make_node("Cast", ["am"], ["amf"], to=TensorProto.FLOAT, name="argmax_float"),
                  helper.make_node("Concat", ["s", "amf"], ["z_in"], axis=1, name="join2"),
                  helper.make_node("Gemm", ["z_in", "W", "C"], ["z"], transB=1, name="dense"),
                  helper.make_node("Sigmoid", ["z"], ["score"], name="sigmoid")]
        inputs = [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [None, 4])]
        outs = [helper.make_tensor_value_info("score", TensorProto.FLOAT, [None, 1])]
        return helper.make_graph(nodes, "arith", inputs, outs, initializer=inits)
    g0, g1, g2, g3 = (xa[:, j:j + 1].astype(np.float64) for j in range(4))
    ratio = g2 / (g3 * g3 + 1)
    w = np.where(np.trunc(g3) != 0, g0 * g1, ratio)
    h = np.hstack([w, g0, ratio])
    e = np.exp(h - h.max(axis=1, keepdims=True))
    sm = e / e.sum(axis=1, keepdims=True)
    z = np.hstack([sm, sm.argmax(axis=1)[:, None].astype(np.float64)]) @ wa.T.astype(np.float64) + ca
    save(out, "arith", make_arith, {f"f{j}": xa[:, j].astype(float) for j in range(4)}, 1 / (1 + np.exp(-z[:, 0])))

    # strings through encoders into a hand-written tree ensemble
    # columns of x: port_c, port_qs, other, sex code, age (imputed 30)
    trees = [  # (mode, feature, value, true, false, missing_tracks_true) per node; leaves: weight
        [("BRANCH_EQ", 3, 1.0, 1, 2, 0), 0.8, ("BRANCH_GTE", 4, 18.0, 3, 4, 1), -0.6, 0.3],
        [("BRANCH_NEQ", 0, 1.0, 1, 2, 0), ("BRANCH_LEQ", 4, 40.0, 3, 4, 0), 0.5, 0.2, -0.4],
    ]

    def make_strings(zipmap):
        del zipmap
        a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                             "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true")}
        lv = {"target_treeids": [], "target_nodeids": [], "target_ids": [], "target_weights": []}
        for t, tree in enumerate(trees):
            for i, nd in enumerate(tree):
                leaf = not isinstance(nd, tuple)
                mode, f, v, tn, fn, miss = ("LEAF", 0, 0.0, 0, 0, 0) if leaf else nd
                for key, val in zip(a, (t, i, f, v, mode, tn, fn, miss)):
                    a[key].append(val)
                if leaf:
                    for key, val in zip(lv, (t, i, 0, nd)):
                        lv[key].append(val)
        nodes = [helper.make_node("LabelEncoder", ["Embarked"], ["port"], domain="ai.onnx.ml", name="ports",
                                  keys_strings=["C", "Q", "S"], values_strings=["port_c", "port_qs", "port_qs"],
                                  default_string="other"),
                 helper.make_node("OneHotEncoder", ["port"], ["port_oh"], domain="ai.onnx.ml", name="port_onehot",
                                  cats_strings=["port_c", "port_qs", "other"], zeros=1),
                 helper.make_node("Flatten", ["port_oh"], ["port_flat"], axis=1, name="port_flat"),
                 helper.make_node("LabelEncoder", ["Sex"], ["sex_code"], domain="ai.onnx.ml", name="sex_code",
                                  keys_strings=["female", "male"], values_int64s=[1, 0], default_int64=-1),
                 helper.make_node("Cast", ["sex_code"], ["sex_f"], to=TensorProto.FLOAT, name="sex_float"),
                 helper.make_node("Imputer", ["Age"], ["age"], domain="ai.onnx.ml", name="age_impute",
                                  imputed_value_floats=[30.0], replaced_value_float=float("nan")),
                 helper.make_node("Concat", ["port_flat", "sex_f", "age"], ["x"], axis=1, name="join"),
                 helper.make_node("TreeEnsembleRegressor", ["x"], ["score"], domain="ai.onnx.ml", name="trees",
                                  n_targets=1, base_values=[0.1], aggregate_function="AVERAGE",
                                  post_transform="NONE", **a, **lv),
                 helper.make_node("Sigmoid", ["score"], ["p"], name="sigmoid")]
        inputs = [helper.make_tensor_value_info("Sex", TensorProto.STRING, [None, 1]),
                  helper.make_tensor_value_info("Embarked", TensorProto.STRING, [None, 1]),
                  helper.make_tensor_value_info("Age", TensorProto.FLOAT, [None, 1])]
        outs = [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, 1])]
        return helper.make_graph(nodes, "strings", inputs, outs)

    srows = {"Sex": test["Sex"].astype(object), "Embarked": test["Embarked"].copy(), "Age": test["Age"].copy()}
    srows["Sex"][::41] = "unknown"  # a category no encoder knows: default code -1
    srows["Age"][::7] = 18.0  # exactly at the BRANCH_GTE threshold
    srows["Age"][3::11] = 40.0  # exactly at the BRANCH_LEQ threshold

    def tree_value(tree, x, age_nan):
        i = 0
        while isinstance(tree[i], tuple):
            mode, f, v, tn, fn, miss = tree[i]
            xv = x[f]
            if age_nan and f == 4:
                go = bool(miss)  # NaN: every comparison false, unless missing values track true
            else:
                go = {"BRANCH_EQ": xv == v, "BRANCH_NEQ": xv != v, "BRANCH_GTE": xv >= v, "BRANCH_LEQ": xv <= v}[mode]
            i = tn if go else fn
        return tree[i]

    want = []
    for sx, em, age in zip(srows["Sex"], srows["Embarked"], srows["Age"]):
        port = {"C": "port_c", "Q": "port_qs", "S": "port_qs"}.get(em, "other")
        oh = [float(port == c) for c in ("port_c", "port_qs", "other")]
        code = {"female": 1.0, "male": 0.0}.get(sx, -1.0)
        nan = age != age
        x = oh + [code, 30.0 if nan else float(np.float32(age))]
        score = sum(tree_value(t, x, False) for t in trees) / len(trees) + 0.1
        want.append(1 / (1 + np.exp(-score)))
    save(out, "strings", make_strings, srows, want)

def big(out):
    """The bench models: the XGBoost bench models (make_xgboost.py --big, in the same OUTDIR)
    as ONNX tree ensembles, and a 20 -> 128 -> 128 -> 1 MLP."""
    rng = np.random.default_rng(7)
    for size in ("50x4", "500x8"):
        xgb_to_onnx(os.path.join(out, f"xgb_{size}.json"), os.path.join(out, f"trees_{size}.onnx"))
    mlp_big(rng, out)


def xgb_to_onnx(src_path, out_path):
    """An XGBoost binary:logistic model as TreeEnsembleRegressor (BRANCH_LT, missing values
    as default_left) + Sigmoid, as onnxmltools converts one."""
    import json
    src = json.load(open(src_path))
    trees = src["learner"]["gradient_booster"]["model"]["trees"]
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                         "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true")}
    lv = {"target_treeids": [], "target_nodeids": [], "target_ids": [], "target_weights": []}
    for t, tr in enumerate(trees):
        for i, (l, r) in enumerate(zip(tr["left_children"], tr["right_children"])):
            leaf = l < 0
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(i)
            a["nodes_featureids"].append(0 if leaf else tr["split_indices"][i])
            a["nodes_values"].append(0.0 if leaf else tr["split_conditions"][i])
            a["nodes_modes"].append("LEAF" if leaf else "BRANCH_LT")
            a["nodes_truenodeids"].append(0 if leaf else l)
            a["nodes_falsenodeids"].append(0 if leaf else r)
            a["nodes_missing_value_tracks_true"].append(0 if leaf else tr["default_left"][i])
            if leaf:
                lv["target_treeids"].append(t)
                lv["target_nodeids"].append(i)
                lv["target_ids"].append(0)
                lv["target_weights"].append(tr["split_conditions"][i])
    nodes = [helper.make_node("TreeEnsembleRegressor", ["input"], ["score"], domain="ai.onnx.ml", name="trees",
                              n_targets=1, base_values=[0.0], **a, **lv),
             helper.make_node("Sigmoid", ["score"], ["probability"], name="link")]
    g = helper.make_graph(nodes, "trees500", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 20])],
                          [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [None, 1])])
    m = helper.make_model(g, opset_imports=OPSETS)
    m.ir_version = 8
    onnx.save(m, out_path)


def mlp_big(rng, out):
    widths = [20, 128, 128, 1]
    inits, nodes, x = [], [], "input"
    for i in range(3):
        w = (rng.normal(size=(widths[i], widths[i + 1])) / np.sqrt(widths[i])).astype(np.float32)
        b = (rng.normal(size=widths[i + 1]) * 0.1).astype(np.float32)
        inits += [helper.make_tensor(f"W{i}", TensorProto.FLOAT, w.shape, w.ravel()),
                  helper.make_tensor(f"B{i}", TensorProto.FLOAT, b.shape, b)]
        nodes += [helper.make_node("MatMul", [x, f"W{i}"], [f"m{i}"]), helper.make_node("Add", [f"m{i}", f"B{i}"], [f"z{i}"]),
                  helper.make_node("Sigmoid" if i == 2 else "Relu", [f"z{i}"], [f"a{i}"])]
        x = f"a{i}"
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 20])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [None, 1])], initializer=inits)
    m = helper.make_model(g, opset_imports=OPSETS)
    m.ir_version = 8
    onnx.save(m, os.path.join(out, "mlp_20x128x128.onnx"))


def seeds(out):
    """Small graphs for fuzz_model: every compiler path in a few hundred bytes."""
    def save_seed(name, nodes, inputs, outputs, inits=()):
        m = helper.make_model(helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits)),
                              opset_imports=OPSETS, producer_name="tabserve-seeds")
        m.ir_version = 8
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(out, f"onnx-{name}.onnx"))
    f = lambda n, w: helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, w])
    s = lambda n: helper.make_tensor_value_info(n, TensorProto.STRING, [None, 1])
    save_seed("pipeline", [
        helper.make_node("Concat", ["a", "b"], ["ab"], axis=1),
        helper.make_node("Imputer", ["ab"], ["ai"], domain="ai.onnx.ml", imputed_value_floats=[1.0, 2.0],
                         replaced_value_float=float("nan")),
        helper.make_node("Scaler", ["ai"], ["as"], domain="ai.onnx.ml", offset=[0.5, 1.0], scale=[2.0, 0.5]),
        helper.make_node("OneHotEncoder", ["c"], ["co"], domain="ai.onnx.ml", cats_strings=["x", "y"], zeros=1),
        helper.make_node("Flatten", ["co"], ["cf"], axis=1),
        helper.make_node("Concat", ["as", "cf"], ["X"], axis=1),
        helper.make_node("LinearClassifier", ["X"], ["label", "probabilities"], domain="ai.onnx.ml",
                         coefficients=[-1.0, 0.5, 0.25, -0.25, 1.0, -0.5, -0.25, 0.25], intercepts=[0.1, -0.1],
                         classlabels_ints=[0, 1], post_transform="LOGISTIC")],
        [f("a", 1), f("b", 1), s("c")], [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])])
    save_seed("trees", [helper.make_node(
        "TreeEnsembleRegressor", ["x"], ["y"], domain="ai.onnx.ml", n_targets=1, base_values=[0.5],
        nodes_treeids=[0, 0, 0, 1, 1, 1], nodes_nodeids=[0, 1, 2, 0, 1, 2], nodes_featureids=[0, 0, 0, 1, 0, 0],
        nodes_values=[0.5, 0, 0, -1.0, 0, 0], nodes_modes=["BRANCH_LEQ", "LEAF", "LEAF", "BRANCH_GT", "LEAF", "LEAF"],
        nodes_truenodeids=[1, 0, 0, 1, 0, 0], nodes_falsenodeids=[2, 0, 0, 2, 0, 0],
        nodes_missing_value_tracks_true=[1, 0, 0, 0, 0, 0], target_treeids=[0, 0, 1, 1], target_nodeids=[1, 2, 1, 2],
        target_ids=[0, 0, 0, 0], target_weights=[0.25, -0.25, 1.0, -1.0])],
        [f("x", 2)], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])])
    w0 = np.arange(6, dtype=np.float32).reshape(3, 2) / 10
    save_seed("dense", [helper.make_node("Gemm", ["x", "W", "B"], ["h"], transB=1),
                        helper.make_node("Relu", ["h"], ["r"]),
                        helper.make_node("MatMul", ["r", "V"], ["z"]),
                        helper.make_node("Softmax", ["z"], ["p"], axis=1)],
              [f("x", 2)], [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, 3])],
              [helper.make_tensor("W", TensorProto.FLOAT, [3, 2], w0.ravel()),
               helper.make_tensor("B", TensorProto.FLOAT, [3], [0.1, -0.1, 0.0]),
               helper.make_tensor("V", TensorProto.FLOAT, [3, 3], (np.eye(3, dtype=np.float32) - 0.2).ravel())])
    save_seed("select", [helper.make_node("Gather", ["x", "I"], ["g"], axis=1),
                         helper.make_node("Where", ["K", "g", "F"], ["w"]),
                         helper.make_node("Normalizer", ["w"], ["n"], domain="ai.onnx.ml", norm="L2"),
                         helper.make_node("LinearRegressor", ["n"], ["y"], domain="ai.onnx.ml",
                                          coefficients=[0.5, -1.0, 0.25], intercepts=[0.1])],
              [f("x", 3)], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
              [helper.make_tensor("I", TensorProto.INT32, [3], [2, 0, -2]),
               helper.make_tensor("K", TensorProto.BOOL, [3], [True, False, True]),
               helper.make_tensor("F", TensorProto.FLOAT, [3], [0.0, 0.5, 0.0])])
    save_seed("embed", [helper.make_node("Cast", ["c"], ["ci"], to=TensorProto.INT64),
                        helper.make_node("Gather", ["E", "ci"], ["e"], axis=0),
                        helper.make_node("Flatten", ["e"], ["ef"], axis=1),
                        helper.make_node("Concat", ["x", "ef"], ["X"], axis=1),
                        helper.make_node("Gemm", ["X", "W", "B"], ["z"], transB=1),
                        helper.make_node("Sigmoid", ["z"], ["p"])],
              [f("x", 1), f("c", 1)], [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, 1])],
              [helper.make_tensor("E", TensorProto.FLOAT, [3, 2], [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]),
               helper.make_tensor("W", TensorProto.FLOAT, [1, 3], [0.7, -0.8, 0.9]),
               helper.make_tensor("B", TensorProto.FLOAT, [1], [0.05])])
    # a graph only the interpreter runs (onnx_graph.c): arithmetic between computed values,
    # a condition from the data, strings through a LabelEncoder, Unsqueeze/Squeeze/Reshape
    save_seed("graph", [helper.make_node("Mul", ["x", "x"], ["xx"]),
                        helper.make_node("Div", ["xx", "D"], ["q"]),
                        helper.make_node("Cast", ["x"], ["xb"], to=TensorProto.BOOL),
                        helper.make_node("Where", ["xb", "q", "x"], ["w"]),
                        helper.make_node("LabelEncoder", ["c"], ["cl"], domain="ai.onnx.ml", keys_strings=["a", "b"],
                                         values_floats=[1.5, -2.0], default_float=0.0),
                        helper.make_node("Unsqueeze", ["cl", "AX"], ["cu"]),
                        helper.make_node("Squeeze", ["cu", "AX"], ["cs"]),
                        helper.make_node("Reshape", ["cs", "SH"], ["cr"]),
                        helper.make_node("Concat", ["w", "cr"], ["h"], axis=1),
                        helper.make_node("Softmax", ["h"], ["s"], axis=-1),
                        helper.make_node("ArgMax", ["s"], ["am"], axis=1),
                        helper.make_node("CastLike", ["am", "s"], ["amf"]),
                        helper.make_node("Sub", ["s", "amf"], ["p"])],
              [f("x", 1), s("c")], [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, 2])],
              [helper.make_tensor("D", TensorProto.FLOAT, [1], [4.0]),
               helper.make_tensor("AX", TensorProto.INT64, [1], [2]),
               helper.make_tensor("SH", TensorProto.INT64, [2], [-1, 1])])


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    if "--big" in sys.argv:
        big(out)
    elif "--seeds" in sys.argv:
        seeds(out)
    else:
        all_fixtures(out)
