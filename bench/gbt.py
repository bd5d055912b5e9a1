#!/usr/bin/python3
"""Gradient-boosted trees: tabserve's trainer against XGBoost 1.7.4 (Debian's python3-xgboost),
same data, same hyper-parameters, same run.

1. Titanic (if ../shared/data/titanic.csv is there): 5-fold CV by PassengerId mod 5 on Age, Fare,
   Sex, Embarked, Pclass with XGBoost's hyper-parameters of the issue's table (300 trees, depth 3,
   eta 0.03, subsample 0.8, colsample 0.8, min child weight 2): log-loss, accuracy, AUC of both.
2. Synthetic: ROWS (1,000,000) x 20 numeric columns, 5% missing (scikit-learn make_classification),
   100 trees, depth 6, eta 0.1, 256 bins, 1 and 2 threads: wall time, peak RSS, log-loss on
   200,000 held-out rows.

usage: bench/gbt.py BIN [DATA.csv]      (ROWS=... to change the synthetic size)
"""
import csv
import math
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import xgboost as xgb

BIN = os.path.abspath(sys.argv[1])
DATA = sys.argv[2] if len(sys.argv) > 2 else "../shared/data/titanic.csv"


def logloss(y, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def auc(y, p):
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    # average ranks of ties
    sp = p[order]
    i = 0
    while i < len(sp):
        j = i
        while j + 1 < len(sp) and sp[j + 1] == sp[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j + 2) / 2
        i = j + 1
    pos = y == 1
    return float((ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum()))


def titanic():
    if not os.path.exists(DATA):
        print(f"SKIPPED: {DATA} is absent: the Titanic comparison was not run")
        return
    rows = list(csv.DictReader(open(DATA)))
    num = lambda s: float(s) if s != "" else np.nan
    X = np.array([[num(r["Age"]), num(r["Fare"]), {"male": 0, "female": 1}[r["Sex"]],
                   {"C": 0, "Q": 1, "S": 2}.get(r["Embarked"], np.nan), float(r["Pclass"])] for r in rows], dtype=np.float32)
    y = np.array([float(r["Survived"]) for r in rows])
    fold = np.array([int(r["PassengerId"]) % 5 for r in rows])
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.03, "subsample": 0.8,
              "colsample_bytree": 0.8, "min_child_weight": 2, "nthread": 2, "seed": 1}
    figs = []
    for k in range(5):
        tr, te = fold != k, fold == k
        d = xgb.DMatrix(X[tr], label=y[tr], feature_types=["q", "q", "c", "c", "q"], enable_categorical=True)
        b = xgb.train(params, d, 300)
        p = b.predict(xgb.DMatrix(X[te], feature_types=["q", "q", "c", "c", "q"], enable_categorical=True))
        figs.append((logloss(y[te], p), float(np.mean((p > 0.5) == y[te])), auc(y[te], p)))
    xl, xa, xu = np.mean(figs, axis=0)
    out = subprocess.run([BIN, "train", DATA, "--label", "Survived", "--numeric", "Age,Fare", "--categorical",
                          "Sex,Embarked,Pclass", "--model", "gbt", "--trees", "300", "--max-depth", "3",
                          "--learning-rate", "0.03", "--subsample", "0.8", "--colsample", "0.8",
                          "--min-child-weight", "2", "--early-stopping", "0", "--cv", "5", "--fold-by", "PassengerId",
                          "-o", os.devnull], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    t = dict(kv.split("=") for kv in out.split()[1:])
    print("Titanic, 5 folds by PassengerId mod 5, XGBoost's hyper-parameters (300 trees, depth 3, eta 0.03,")
    print("subsample 0.8, colsample 0.8, min child weight 2):")
    print(f"  {'':22} {'log-loss':>9} {'accuracy':>9} {'AUC':>7}")
    print(f"  {'XGBoost 1.7.4':22} {xl:9.4f} {xa:9.4f} {xu:7.4f}")
    print(f"  {'tabserve --model gbt':22} {float(t['logloss']):9.4f} {float(t['accuracy']):9.4f} {float(t['auc']):7.4f}")
    print(f"  log-loss difference {float(t['logloss']) - xl:+.4f} (target: within 0.005)")


def synthetic():
    from sklearn.datasets import make_classification
    n = int(os.environ.get("ROWS", "1000000"))
    X, y = make_classification(n_samples=n + 200000, n_features=20, n_informative=12, n_redundant=4, random_state=0)
    X = X.astype(np.float32)
    X[np.random.default_rng(0).random(X.shape) < 0.05] = np.nan
    tmp = tempfile.mkdtemp(prefix="tabserve-gbt-")
    names = [f"f{j}" for j in range(20)]
    for part, lo, hi in (("train", 0, n), ("test", n, n + 200000)):
        with open(os.path.join(tmp, part + ".csv"), "w") as f:
            f.write("y," + ",".join(names) + "\n")
            for i in range(lo, hi):
                f.write(f"{y[i]}," + ",".join("" if v != v else "%.7g" % v for v in X[i]) + "\n")
    raw_mb = n * 20 * 4 / 1e6
    rounds = int(os.environ.get("ROUNDS", "3"))
    print(f"\nSynthetic: {n} rows x 20 columns, 5% missing; 100 trees, depth 6, eta 0.1, 256 bins; held-out 200000 rows")
    print(f"  medians of {rounds} alternating rounds (ROUNDS=...); MB are 10^6 bytes")
    print(f"  {'':28} {'wall s':>8} {'peak RSS MB':>12} {'held-out log-loss':>18}  ratio")
    np.save(os.path.join(tmp, "X.npy"), X)
    np.save(os.path.join(tmp, "y.npy"), y)

    def run_xgboost(threads):
        # in a child process, for its own peak RSS
        code = ("import numpy as np, xgboost as xgb, time, resource, sys\n"
                f"X=np.load('{tmp}/X.npy'); y=np.load('{tmp}/y.npy'); n={n}\n"
                "t=time.time(); d=xgb.DMatrix(X[:n], label=y[:n], nthread=%d)\n" % threads +
                "b=xgb.train({'objective':'binary:logistic','tree_method':'hist','max_depth':6,'eta':0.1,'max_bin':256,"
                "'nthread':%d}, d, 100)\n" % threads +
                "w=time.time()-t; p=b.predict(xgb.DMatrix(X[n:], nthread=%d))\n" % threads +
                "np.save('%s/xgb_p.npy', p)\n" % tmp +
                "print(w, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6)\n")
        w, rss = map(float, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                          check=True).stdout.split())
        return w, rss, logloss(y[n:], np.load(os.path.join(tmp, "xgb_p.npy")))

    def run_tabserve(threads):
        t0 = time.time()
        rss_file = os.path.join(tmp, "rss")
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file, BIN, "train", os.path.join(tmp, "train.csv"), "--label", "y", "--numeric", ",".join(names),
                        "--model", "gbt", "--trees", "100", "--max-depth", "6", "--learning-rate", "0.1",
                        "--subsample", "1", "--colsample", "1", "--min-child-weight", "1", "--early-stopping", "0",
                        "--bins", "256", "--threads", str(threads), "-o", os.path.join(tmp, "m.json")],
                       check=True, capture_output=True)
        tw = time.time() - t0
        trss = float(open(rss_file).read().split()[-1]) * 1024 / 1e6  # kB (KiB) -> MB, as raw_mb
        subprocess.run([BIN, "predict", os.path.join(tmp, "m.json"), "--input", os.path.join(tmp, "test.csv"),
                        "--output", os.path.join(tmp, "p.csv")], check=True)
        p = np.array([float(r["predict"]) for r in csv.DictReader(open(os.path.join(tmp, "p.csv")))])
        return tw, trss, logloss(y[n:], p)

    for threads in (1, 2):
        xs, ts = [], []
        for _ in range(rounds):  # alternating: drift in the machine's load hits both alike
            xs.append(run_xgboost(threads))
            ts.append(run_tabserve(threads))
        xw, tw = float(np.median([r[0] for r in xs])), float(np.median([r[0] for r in ts]))
        label = "%d thread%s" % (threads, "s" if threads > 1 else "")
        print(f"  {'XGBoost hist, ' + label:28} {xw:8.2f} {max(r[1] for r in xs):12.0f} {xs[-1][2]:18.5f}")
        print(f"  {'tabserve, ' + label:28} {tw:8.2f} {max(r[1] for r in ts):12.0f} {ts[-1][2]:18.5f}  {tw / xw:.2f}"
              "  (wall includes reading the CSV; rounds: " + ", ".join(f"{r[0]:.1f}" for r in ts) + " against " +
              ", ".join(f"{r[0]:.1f}" for r in xs) + ")")
    print(f"  raw float data: {raw_mb:.0f} MB (target: tabserve's peak RSS <= 1.5x = {1.5 * raw_mb:.0f} MB);"
          " targets: tabserve wall <= XGBoost's, log-loss within 0.002")
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    titanic()
    synthetic()
