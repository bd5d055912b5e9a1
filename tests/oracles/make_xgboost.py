#!/usr/bin/python3
"""Makes the XGBoost fixtures of tests/test_import.py in OUTDIR (nothing is committed):
for each objective, a model trained by Debian's python3-xgboost 1.7.4 on synthetic data,
saved with Booster.save_model("NAME.json"), a test CSV, and XGBoost's own predictions of it.

The test rows are chosen to catch wrong split rules: besides random rows they hold missing
values (empty cells), rows with every value missing, and rows whose values are exactly
the models' split thresholds (where x < t and x <= t disagree).

usage: make_xgboost.py OUTDIR [--big | --seeds]
  --big    the 50x4 and 500x8 models of `make bench`
  --seeds  the small models committed as fuzz seeds (fuzz/corpus/model/xgb-*)
"""
import json
import os
import shutil
import sys

import numpy as np
import xgboost as xgb

N_FEATURES = 6


def data(rng, n):
    x = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    x[:, 2] = np.round(x[:, 2] * 2)  # repeated values: thresholds land on data values
    x[rng.random(x.shape) < 0.1] = np.nan
    return x


def thresholds(booster):
    out = {}
    gb = json.loads(booster.save_raw("json").decode())["learner"]["gradient_booster"]
    for tree in gb.get("gbtree", gb)["model"]["trees"]:
        for f, c, left in zip(tree["split_indices"], tree["split_conditions"], tree["left_children"]):
            if left >= 0 and c == c:
                out.setdefault(f, set()).add(np.float32(c))
    return out


def test_rows(rng, booster, n=2000):
    x = data(rng, n)
    x[:20] = np.nan  # all missing
    cuts = thresholds(booster)
    for i in range(20, n // 2):  # about half the rows: values exactly at a split threshold
        for f, values in cuts.items():
            if rng.random() < 0.7:
                x[i, f] = rng.choice(sorted(values))
    return x


def write_csv(path, names, x, extra=None):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(",".join(names + ([extra[0]] if extra else [])) + "\n")
        for i, row in enumerate(x):
            cells = ["" if v != v else repr(float(v)) for v in row]
            if extra:
                cells.append(str(extra[1][i]))
            f.write(",".join(cells) + "\n")
    os.replace(tmp, path)


def save(out, name, booster, x, expected, names=None, feature_types=None, contribs=None):
    names = names or [f"f{j}" for j in range(x.shape[1])]
    booster.save_model(os.path.join(out, name + ".json"))
    write_csv(os.path.join(out, name + ".csv"), names, x)
    expected = np.asarray(expected, dtype=np.float64).reshape(len(x), -1)
    np.savetxt(os.path.join(out, name + ".expected"), expected, fmt="%.9g", delimiter=",")
    if contribs is not None:  # XGBoost's own SHAP values: a column per feature, then the bias
        np.savetxt(os.path.join(out, name + ".contribs"), contribs, fmt="%.9g", delimiter=",")


def objectives(out):
    rng = np.random.default_rng(12)
    x = data(rng, 4000)
    z = np.nan_to_num(x[:, 0]) - 0.5 * np.nan_to_num(x[:, 1]) + 0.3 * np.nan_to_num(x[:, 2]) + 0.2 * rng.normal(size=len(x))
    labels = {
        "binary_logistic": ("binary:logistic", (z > 0).astype(int), {}),
        "binary_logitraw": ("binary:logitraw", (z > 0).astype(int), {}),
        "reg_squarederror": ("reg:squarederror", z, {}),
        "reg_logistic": ("reg:logistic", 1 / (1 + np.exp(-z)), {}),
        "count_poisson": ("count:poisson", rng.poisson(np.exp(np.clip(z, -3, 2))), {}),
        "multi_softprob": ("multi:softprob", np.digitize(z, [-0.5, 0.5]), {"num_class": 3}),
        "multi_softmax": ("multi:softmax", np.digitize(z, [-0.5, 0.5]), {"num_class": 3}),
    }
    for name, (objective, y, extra) in labels.items():
        params = {"objective": objective, "max_depth": 4, "eta": 0.3, "base_score": 0.4 if "reg_logistic" in name else 0.5, **extra}
        if objective == "count:poisson":
            params["base_score"] = 1.5
        b = xgb.train(params, xgb.DMatrix(x, label=y), 20)
        t = test_rows(rng, b)
        d = xgb.DMatrix(t)
        if objective == "multi:softmax":
            # tabserve answers the class probabilities; XGBoost's class is their argmax
            expected = np.column_stack([b.predict(d), b.predict(d, output_margin=True)])
        else:
            expected = b.predict(d)
        contribs = b.predict(d, pred_contribs=True) if name in ("binary_logistic", "reg_squarederror") else None
        save(out, name, b, t, expected, contribs=contribs)

    # named features, a categorical one, and dart
    xc = x.copy()
    xc[:, 3] = rng.integers(0, 8, size=len(xc))
    xc[rng.random(len(xc)) < 0.1, 3] = np.nan
    yc = (np.isin(xc[:, 3], [1, 4, 6]) ^ (z > 0.8)).astype(int)
    names = ["age", "fare", "deck", "port", "e", "f"]
    types = ["q", "q", "q", "c", "q", "q"]
    dc = xgb.DMatrix(xc, label=yc, feature_names=names, feature_types=types, enable_categorical=True)
    b = xgb.train({"objective": "binary:logistic", "max_depth": 4, "tree_method": "hist", "max_cat_to_onehot": 1}, dc, 20)
    t = test_rows(rng, b)
    t[20:, 3] = rng.integers(0, 10, size=len(t) - 20)  # 8 and 9: categories never seen
    t[rng.random(len(t)) < 0.1, 3] = np.nan
    dt = xgb.DMatrix(t, feature_names=names, feature_types=types, enable_categorical=True)
    save(out, "categorical", b, t, b.predict(dt), names=names, contribs=b.predict(dt, pred_contribs=True))

    b = xgb.train({"objective": "binary:logistic", "booster": "dart", "max_depth": 3, "rate_drop": 0.3}, xgb.DMatrix(x, label=(z > 0).astype(int)), 10)
    t = test_rows(rng, b)
    save(out, "dart", b, t, b.predict(xgb.DMatrix(t)))

    # every other objective whose prediction is a link on the margin, and the linear booster
    more = {
        "reg_gamma": ({"objective": "reg:gamma"}, np.exp(z)),
        "reg_tweedie": ({"objective": "reg:tweedie", "tweedie_variance_power": 1.4}, rng.poisson(np.exp(np.clip(z, -3, 2)))),
        "binary_hinge": ({"objective": "binary:hinge"}, (z > 0).astype(int)),
        "reg_absoluteerror": ({"objective": "reg:absoluteerror"}, z),
        "reg_pseudohubererror": ({"objective": "reg:pseudohubererror"}, z),
        "reg_squaredlogerror": ({"objective": "reg:squaredlogerror"}, np.exp(z)),
        "survival_cox": ({"objective": "survival:cox"}, np.where(z > 0, 1, -1) * (1 + np.abs(z))),
        "gblinear": ({"objective": "binary:logistic", "booster": "gblinear"}, (z > 0).astype(int)),
        "gblinear_multi": ({"objective": "multi:softprob", "num_class": 3, "booster": "gblinear"}, np.digitize(z, [-0.5, 0.5])),
    }
    for name, (params, y) in more.items():
        d = xgb.DMatrix(x, label=y)
        b = xgb.train({"max_depth": 3, "eta": 0.3, **params}, d, 10)
        t = test_rows(rng, b) if params.get("booster") != "gblinear" else np.asarray(x[:2000])
        save(out, name, b, t, b.predict(xgb.DMatrix(t)))
    d = xgb.DMatrix(x, label=np.digitize(z, [-1, 0, 1]))
    d.set_group([100] * 40)
    b = xgb.train({"objective": "rank:pairwise", "max_depth": 3}, d, 10)
    t = test_rows(rng, b)
    save(out, "rank_pairwise", b, t, b.predict(xgb.DMatrix(t)))
    d = xgb.DMatrix(x)
    d.set_float_info("label_lower_bound", np.exp(z))
    d.set_float_info("label_upper_bound", np.where(z > 1, np.inf, np.exp(z)))
    b = xgb.train({"objective": "survival:aft", "max_depth": 3, "aft_loss_distribution": "normal"}, d, 10)
    t = test_rows(rng, b)
    save(out, "survival_aft", b, t, b.predict(xgb.DMatrix(t)))

    # several targets (num_target 3, one tree a target and round: multi_strategy
    # one_output_per_tree, the default): a regression of each
    ym = np.stack([z, np.nan_to_num(x[:, 1]) * 2 - 1, np.nan_to_num(x[:, 2]) ** 2], axis=1)
    b = xgb.train({"objective": "reg:squarederror", "max_depth": 3, "tree_method": "hist"},
                  xgb.DMatrix(x, label=ym), 10)
    t = test_rows(rng, b)
    save(out, "multi_target", b, t, b.predict(xgb.DMatrix(t)))

    vector_leaves(out, rng, x, z)

    # the fields only XGBoost 3.1 and later write, made by hand from 1.7.4 files (the
    # predictions stay XGBoost's own): base_score as an array in a string (one value per
    # class for multi-class), and DART saved as "gbtree" with its weight_drop beside
    for src, dst, base in (("binary_logistic", "v31_binary", lambda v: "[%s]" % v),
                           ("multi_softprob", "v31_multi", lambda v: "[%s,%s,%s]" % (v, v, v))):
        with open(os.path.join(out, src + ".json")) as f:
            j = json.load(f)
        p = j["learner"]["learner_model_param"]
        p["base_score"] = base(p["base_score"])
        j["version"] = [3, 1, 0]
        with open(os.path.join(out, dst + ".json"), "w") as f:
            json.dump(j, f)
        for ext in (".csv", ".expected"):
            shutil.copy(os.path.join(out, src + ext), os.path.join(out, dst + ext))
    # the form XGBoost 1.0 to 1.2 wrote (its JSON writer's field list, by hand from the 1.7.4
    # file): default_left as true/false, leaf_child_counts, and none of the fields later
    # versions added (split_type and categories in 1.3, feature names and types, the
    # intercept's boost_from_average, num_target)
    with open(os.path.join(out, "binary_logistic.json")) as f:
        j = json.load(f)
    learner = j["learner"]
    for k in ("feature_names", "feature_types"):
        learner.pop(k, None)
    for k in ("boost_from_average", "num_target"):
        learner["learner_model_param"].pop(k, None)
    for t in learner["gradient_booster"]["model"]["trees"]:
        t["default_left"] = [bool(v) for v in t["default_left"]]
        t["leaf_child_counts"] = [0] * len(t["default_left"])
        for k in ("split_type", "categories", "categories_nodes", "categories_segments", "categories_sizes"):
            t.pop(k, None)
    j["version"] = [1, 0, 0]
    with open(os.path.join(out, "v10_binary.json"), "w") as f:
        json.dump(j, f)
    for ext in (".csv", ".expected"):
        shutil.copy(os.path.join(out, "binary_logistic" + ext), os.path.join(out, "v10_binary" + ext))
    with open(os.path.join(out, "dart.json")) as f:
        j = json.load(f)
    g = j["learner"]["gradient_booster"]
    j["learner"]["gradient_booster"] = {"name": "gbtree", "model": g["gbtree"]["model"], "weight_drop": g["weight_drop"]}
    j["version"] = [3, 1, 0]
    with open(os.path.join(out, "v31_dart.json"), "w") as f:
        json.dump(j, f)
    for ext in (".csv", ".expected"):
        shutil.copy(os.path.join(out, "dart" + ext), os.path.join(out, "v31_dart" + ext))

    # categories stored in the model (3.1's "cats"): port's codes 0..7 named as a data
    # frame's categories would be, in an order that is not sorted; the rows keep to known
    # categories (an unknown name is missing here, an unseen code is not in 1.7.4)
    names_port = ["s", "c", "q", "x", "b", "a", "zz", "m"]
    with open(os.path.join(out, "categorical.json")) as f:
        j = json.load(f)
    utf = [n.encode() for n in names_port]
    offsets = [0]
    for n in utf:
        offsets.append(offsets[-1] + len(n))
    empty = {"offsets": [0], "values": []}
    j["learner"]["gradient_booster"]["model"]["cats"] = {
        "feature_segments": [0, 0, 0, 0, 8, 8, 8],
        "sorted_idx": sorted(range(8), key=lambda i: names_port[i]),
        "enc": [empty, empty, empty, {"offsets": offsets, "values": [c for n in utf for c in n]}, empty, empty]}
    j["version"] = [3, 1, 0]
    with open(os.path.join(out, "v31_categorical.json"), "w") as f:
        json.dump(j, f)
    rows = np.loadtxt(os.path.join(out, "categorical.csv"), delimiter=",", skiprows=1, dtype=str)
    want = np.loadtxt(os.path.join(out, "categorical.expected"), delimiter=",", ndmin=1)
    keep = [i for i, r in enumerate(rows) if r[3] == "" or float(r[3]) < 8]
    with open(os.path.join(out, "v31_categorical.csv"), "w") as f:
        f.write("age,fare,deck,port,e,f\n")
        for i in keep:
            cells = list(rows[i])
            cells[3] = "" if cells[3] == "" else names_port[int(float(cells[3]))]
            f.write(",".join(cells) + "\n")
    np.savetxt(os.path.join(out, "v31_categorical.expected"), want[keep], fmt="%.9g", delimiter=",")

    # UBJSON, as save_model writes it by default from 2.1 on: the same model in both forms
    b = xgb.train({"objective": "binary:logistic", "max_depth": 4}, xgb.DMatrix(x, label=(z > 0).astype(int)), 20)
    t = test_rows(rng, b)
    save(out, "ubj_binary", b, t, b.predict(xgb.DMatrix(t)))
    b.save_model(os.path.join(out, "ubj_binary.ubj"))
    # refused: an objective no XGBoost writes
    with open(os.path.join(out, "binary_logistic.json")) as f:
        j = json.load(f)
    j["learner"]["objective"]["name"] = "reg:unheardof"
    with open(os.path.join(out, "unknown_objective.json"), "w") as f:
        json.dump(j, f)


def vector_trees(j, k):
    """The trees of model j (one tree a target and round, k targets that split alike) merged
    into trees of k-value leaves: (XGBoost 2.0 to 3.1's layout, the later one)."""
    model = j["learner"]["gradient_booster"]["model"]
    trees = model["trees"]
    assert model["tree_info"] == list(range(k)) * (len(trees) // k)
    old, new = [], []
    for i in range(0, len(trees), k):
        group = trees[i:i + k]
        left = group[0]["left_children"]
        for g in group[1:]:
            for key in ("left_children", "right_children", "split_indices", "default_left"):
                assert g[key] == group[0][key], key
            assert all(a == c for a, c, l in zip(g["split_conditions"], group[0]["split_conditions"], left) if l >= 0)
        n = len(left)
        leaves = [v for v in range(n) if left[v] < 0]
        value = lambda node: [g["split_conditions"][node] for g in group]  # a leaf's value of each target
        common = {key: group[0][key] for key in ("left_children", "parents", "split_indices", "default_left",
                                                 "split_type", "categories", "categories_nodes",
                                                 "categories_segments", "categories_sizes")}
        param = dict(group[0]["tree_param"], size_leaf_vector=str(k))
        rows = [value(v) if left[v] < 0 else [g["base_weights"][v] for g in group] for v in range(n)]
        old.append(dict(common, id=len(old), tree_param=param, right_children=group[0]["right_children"],
                        base_weights=[w for r in rows for w in r],
                        split_conditions=[c if l >= 0 else 0.0 for c, l in zip(group[0]["split_conditions"], left)]))
        place = {v: q for q, v in enumerate(leaves)}
        new.append(dict(common, id=len(new), tree_param=param,
                        right_children=[place[v] if left[v] < 0 else r for v, r in enumerate(group[0]["right_children"])],
                        base_weights=[g["base_weights"][v] for v in range(n) for g in group],
                        leaf_weights=[w for v in leaves for w in value(v)],
                        loss_changes=group[0]["loss_changes"], sum_hessian=group[0]["sum_hessian"],
                        split_conditions=[c if l >= 0 else float("nan") for c, l in zip(group[0]["split_conditions"], left)]))
    return old, new


def vector_model(j, trees, version, base, objective=None, k=None):
    """Model j with these vector-leaf trees, as that version writes it; with objective, a
    multi-class model of k classes instead of k targets."""
    v = json.loads(json.dumps(j))
    m = v["learner"]["gradient_booster"]["model"]
    m["trees"] = trees
    m["tree_info"] = [0] * len(trees)
    m["iteration_indptr"] = list(range(len(trees) + 1))
    m["gbtree_model_param"]["num_trees"] = str(len(trees))
    p = v["learner"]["learner_model_param"]
    p["base_score"] = base
    if objective:
        v["learner"]["objective"] = objective
        p["num_class"], p["num_target"] = str(k), "1"
    v["version"] = version
    return v


def vector_leaves(out, rng, x, z):
    """Vector-leaf trees (multi_strategy "multi_output_tree": size_leaf_vector 3, a leaf
    holding a value per output), which XGBoost 2.0 and later write and 1.7.4 cannot. Made
    from a model 1.7.4 trains as one tree a target, on the targets z, -z and 2z from a zero
    base score: each target's gradients are then the first's times -1 or 2 exactly, so its
    trees split alike (asserted) and only their leaf values differ. Each round's three trees
    are merged by hand into one tree of three-value leaves, in the layout of XGBoost 2.0 to
    3.1 (a leaf's values in base_weights, a row a node) and in the later one (leaf_weights, a
    row a leaf, the leaf's row in its right_children entry); the predictions stay XGBoost's
    own of the unmerged model. A softprob twin reads the same trees as class margins: its
    expected values are the softmax of XGBoost's predictions."""
    y = np.stack([z, -z, 2 * z], axis=1)
    b = xgb.train({"objective": "reg:squarederror", "max_depth": 3, "tree_method": "hist", "base_score": 0},
                  xgb.DMatrix(x, label=y), 8)
    t = test_rows(rng, b)
    margins = b.predict(xgb.DMatrix(t))
    j = json.loads(b.save_raw("json").decode())
    old, new = vector_trees(j, 3)
    with open(os.path.join(out, "multi_softprob.json")) as f:
        softprob = json.load(f)["learner"]["objective"]
    e = np.exp(margins - margins.max(axis=1, keepdims=True))
    for name, trees, version, base in (("vector_v20", old, [2, 0, 3], "0E0"),
                                       ("vector_v32", new, [3, 2, 0], "[0E0,0E0,0E0]")):
        for kind, objective, expected in (("", None, margins), ("_softprob", softprob, e / e.sum(axis=1, keepdims=True))):
            with open(os.path.join(out, name + kind + ".json"), "w") as f:
                json.dump(vector_model(j, trees, version, base, objective, 3), f)  # NaN as XGBoost writes it
            write_csv(os.path.join(out, name + kind + ".csv"), [f"f{q}" for q in range(t.shape[1])], t)
            np.savetxt(os.path.join(out, name + kind + ".expected"), np.asarray(expected, dtype=np.float64),
                       fmt="%.9g", delimiter=",")


def big(out):
    """The bench models: 50 trees of depth 4 and 500 of depth 8, binary, 20 features."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(20000, 20)).astype(np.float32)
    z = x[:, :5].sum(axis=1) + np.sin(x[:, 5] * 3) + x[:, 6] * x[:, 7]
    y = (z + rng.normal(size=len(x)) > 0).astype(int)
    d = xgb.DMatrix(x, label=y)
    for trees, depth in ((50, 4), (500, 8)):
        b = xgb.train({"objective": "binary:logistic", "max_depth": depth, "eta": 0.1, "nthread": 2}, d, trees)
        name = f"xgb_{trees}x{depth}"
        b.save_model(os.path.join(out, name + ".json"))
    write_csv(os.path.join(out, "bench_rows.csv"), [f"f{j}" for j in range(20)], x)


def seeds(out):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 3)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    y = (np.nan_to_num(x[:, 0]) > 0).astype(int)
    b = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(x, label=y), 2)
    b.save_model(os.path.join(out, "xgb-binary.json"))
    b.save_model(os.path.join(out, "xgb-binary.ubj"))  # UBJSON: the ubjson reader's seed
    j = json.loads(b.save_raw("json").decode())  # default_left as XGBoost 1.0 to 1.5 wrote it
    for t in j["learner"]["gradient_booster"]["model"]["trees"]:
        t["default_left"] = [bool(v) for v in t["default_left"]]
    j["version"] = [1, 0, 0]
    with open(os.path.join(out, "xgb-v10.json"), "w") as f:
        json.dump(j, f)
    b = xgb.train({"objective": "binary:logistic", "booster": "gblinear"}, xgb.DMatrix(x, label=y), 2)
    b.save_model(os.path.join(out, "xgb-gblinear.ubj"))
    xc = x.copy()
    xc[:, 1] = rng.integers(0, 5, size=300)
    d = xgb.DMatrix(xc, label=rng.integers(0, 3, size=300), feature_types=["q", "c", "q"], enable_categorical=True)
    b = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2, "tree_method": "hist",
                   "max_cat_to_onehot": 1}, d, 2)
    b.save_model(os.path.join(out, "xgb-categorical.json"))
    # the same with its categories stored in the model, as 3.1 writes them ("cats")
    j = json.loads(b.save_raw("json").decode())
    j["learner"]["gradient_booster"]["model"]["cats"] = {
        "feature_segments": [0, 0, 5, 5], "sorted_idx": [1, 0, 2, 4, 3],
        "enc": [{"offsets": [0], "values": []}, {"offsets": [0, 1, 2, 4, 5, 7], "values": list(b"bacdeef")},
                {"offsets": [0], "values": []}]}
    with open(os.path.join(out, "xgb-cats.json"), "w") as f:
        json.dump(j, f)
    # vector leaves, in both layouts (vector_leaves says how they are made)
    yv = np.nan_to_num(x[:, 0])
    b = xgb.train({"objective": "reg:squarederror", "max_depth": 2, "base_score": 0},
                  xgb.DMatrix(x, label=np.stack([yv, -yv], axis=1)), 2)
    j = json.loads(b.save_raw("json").decode())
    old, new = vector_trees(j, 2)
    for name, trees, version, base in (("xgb-vector-leaves.json", old, [2, 0, 3], "0E0"),
                                       ("xgb-vector-leaf-weights.json", new, [3, 2, 0], "[0E0,0E0]")):
        with open(os.path.join(out, name), "w") as f:
            json.dump(vector_model(j, trees, version, base), f)
    # two targets, one tree a target and round
    b = xgb.train({"objective": "reg:squarederror", "max_depth": 2, "tree_method": "hist"},
                  xgb.DMatrix(x, label=np.stack([np.nan_to_num(x[:, 0]), np.nan_to_num(x[:, 1])], axis=1)), 2)
    b.save_model(os.path.join(out, "xgb-multi-target.json"))


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    if "--big" in sys.argv:
        big(out)
    elif "--seeds" in sys.argv:
        seeds(out)
    else:
        objectives(out)
