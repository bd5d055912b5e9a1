"""`make bench-quality`: `tabserve train DATA.csv --label target --model auto --cv 5` on
scikit-learn's bundled data sets, beside scikit-learn 1.2's best default on the same folds
(row index mod 5): GradientBoosting, HistGradientBoosting and StandardScaler + LogisticRegression
(Ridge for a regression). The bars: accuracy no lower than 0.01 below the anchor, log-loss no
more than 0.02 above, R^2 no lower than 0.02 below. Printed, never asserted.

The data sets are written as ordinary CSV files (the label named target: class names where
scikit-learn has them) into a temporary folder; nothing is downloaded.

usage: /usr/bin/python3 bench/quality.py BIN
"""
import os
import re
import subprocess
import sys
import tempfile
import warnings

import numpy as np
from sklearn import datasets
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                              HistGradientBoostingClassifier, HistGradientBoostingRegressor)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, log_loss, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

BIN = sys.argv[1]
K = 5


def write_csv(path, x, columns, target, names=None):
    with open(path, "w") as f:
        f.write(",".join(columns + ["target"]) + "\n")
        for row, t in zip(x, target):
            f.write(",".join(repr(float(v)) for v in row) + "," + (str(names[t]) if names is not None else repr(t)) + "\n")


def anchors(x, y, task):
    folds = np.arange(len(y)) % K
    models = ({"gradient boosting": GradientBoostingRegressor(), "hist gradient boosting": HistGradientBoostingRegressor(),
               "scaler + ridge": make_pipeline(StandardScaler(), Ridge())} if task == "regression" else
              {"gradient boosting": GradientBoostingClassifier(), "hist gradient boosting": HistGradientBoostingClassifier(),
               "scaler + logistic": make_pipeline(StandardScaler(), LogisticRegression())})
    out = {}
    for name, model in models.items():
        scores = []
        for f in range(K):
            model.fit(x[folds != f], y[folds != f])
            if task == "regression":
                scores.append([r2_score(y[folds == f], model.predict(x[folds == f]))])
            else:
                p = model.predict_proba(x[folds == f])
                scores.append([accuracy_score(y[folds == f], p.argmax(axis=1)),
                               log_loss(y[folds == f], p, labels=np.unique(y))])
        out[name] = np.mean(scores, axis=0)
    return out


def tabserve(csv, model):
    p = subprocess.run([BIN, "train", csv, "--label", "target", "--model", "auto", "--cv", str(K), "-o", model,
                        "--quiet"], capture_output=True, text=True, check=True)
    chosen = re.search(r"^chosen: (\S+)$", p.stdout, re.M).group(1)
    line = re.search(r"^candidate %s +cv (.*)$" % chosen, p.stdout, re.M).group(1)
    nested = re.search(r"^nested cv (.*?)( \(|$)", p.stdout, re.M).group(1)
    figures = lambda s: {k: float(v) for k, v in re.findall(r"(\w+)=([-0-9.e]+)", s)}
    return chosen, figures(line), figures(nested)


def main():
    warnings.filterwarnings("ignore")
    sets = (("iris", datasets.load_iris(), "classes"), ("wine", datasets.load_wine(), "classes"),
            ("breast cancer", datasets.load_breast_cancer(), "classes"),
            ("diabetes", datasets.load_diabetes(), "regression"))
    print("%-14s %-9s %9s %9s %9s  %s" % ("data", "figure", "tabserve", "nested", "sklearn", "bar"))
    with tempfile.TemporaryDirectory() as d:
        for name, bunch, task in sets:
            csv = os.path.join(d, name.replace(" ", "_") + ".csv")
            names = bunch.get("target_names") if name != "wine" and task == "classes" else None
            target = bunch.target.tolist() if task == "classes" else [float(v) for v in bunch.target]
            write_csv(csv, bunch.data, list(bunch.feature_names), target, names)
            chosen, got, nested = tabserve(csv, csv + ".json")
            ref = anchors(bunch.data, bunch.target, task)
            rows = (("r2", 0, max, -0.02),) if task == "regression" else (("accuracy", 0, max, -0.01),
                                                                            ("logloss", 1, min, 0.02))
            for figure, col, best, slack in rows:
                anchor = best(v[col] for v in ref.values())
                ok = got[figure] >= anchor + slack if slack < 0 else got[figure] <= anchor + slack
                print("%-14s %-9s %9.4f %9.4f %9.4f  %s (%s, anchor %s %+.2f)" % (
                    name, figure, got[figure], nested[figure], anchor, "met" if ok else "MISSED", chosen,
                    "best default", slack))


if __name__ == "__main__":
    main()
