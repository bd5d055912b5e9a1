"""Imported models against their own runtimes.

XGBoost: every objective tabserve serves, trained here by Debian's python3-xgboost
(tests/oracles/make_xgboost.py), predicted by `tabserve predict` and `tabserve serve`, compared
with XGBoost's own predictions. ONNX: scikit-learn pipelines written as ONNX graphs
(tests/oracles/make_onnx.py), compared with ONNX Runtime 1.30 (npm onnxruntime-node, driven by
tests/oracles/ort_predict.js) and with scikit-learn's predict_proba. Rows include missing
values, all-missing rows, unseen categories and values exactly at split thresholds.
Needs /usr/bin/python3 with xgboost, sklearn, onnx and numpy, and node with onnxruntime-node
(make test installs them on Debian).

usage: BIN=build/tabserve python3 tests/test_import.py
"""
import json
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.abspath(os.environ.get("BIN", "build/tabserve"))
ORACLE_PY = "/usr/bin/python3"
TOLERANCE = 1e-5


def oracle_missing(modules="xgboost, numpy", what="python3-xgboost (Debian) is not installed"):
    try:
        subprocess.run([ORACLE_PY, "-c", "import " + modules], check=True, capture_output=True)
        return None
    except (OSError, subprocess.CalledProcessError):
        return what


ROOT = os.path.dirname(HERE)


def ort_missing():
    why = oracle_missing("sklearn, onnx, numpy", "python3-sklearn and python3-onnx (Debian) are not installed")
    if why:
        return why
    if not shutil.which("node") or not os.path.isdir(os.path.join(ROOT, "node_modules", "onnxruntime-node")):
        return "node with onnxruntime-node (npm ci) is not installed"
    return None


def read_csv_numbers(path, last):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            cells = line.rstrip("\n").split(",")
            rows.append([float(c) for c in cells[-last:]])
    return rows


def read_expected(path):
    with open(path) as f:
        return [[float(c) for c in line.split(",")] for line in f if line.strip()]


def softmax(z):
    import math
    top = max(z)
    e = [math.exp(v - top) for v in z]
    return [v / sum(e) for v in e]


def run(*args, check=True):
    p = subprocess.run([BIN, *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"tabserve {' '.join(args)} failed: {p.stderr}")
    return p


def check_spec(test, port, body, answer):
    """GET /openapi.yaml describes this model: the example request and a real answer
    validate against its Input and Prediction schemas (python3-yaml, python3-jsonschema)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.yaml", timeout=5).read().decode()
    test.assertIn("generated for the model being served", text)
    # the document speaks of this model: only the built-in one talks about passengers
    test.assertNotIn("passenger", text.lower())
    test.assertNotIn("surviv", text.lower())
    try:
        import jsonschema
        import yaml
    except ImportError:
        print("SKIPPED: the generated OpenAPI schemas are not validated: python3-yaml or python3-jsonschema missing")
        return text
    spec = yaml.safe_load(text)
    schemas = spec["components"]["schemas"]
    example = spec["paths"]["/model"]["post"]["requestBody"]["content"]["application/json"]["examples"]["row"]["value"]
    jsonschema.validate(example, schemas["Input"])
    for row in body if isinstance(body, list) else [body]:
        jsonschema.validate(row, schemas["Input"])
    jsonschema.validate(answer, schemas["Prediction"])
    test.assertEqual(sorted(schemas["Input"]["properties"]), sorted(body) if isinstance(body, dict) else sorted(body[0]))
    return text


@unittest.skipIf(oracle_missing(), oracle_missing())
class XGBoostTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tabserve-xgb-")
        subprocess.run([ORACLE_PY, os.path.join(HERE, "oracles", "make_xgboost.py"), cls.dir], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def predict(self, name, width):
        out = self.path(name + ".out")
        run("predict", self.path(name + ".json"), "--input", self.path(name + ".csv"), "--output", out)
        return read_csv_numbers(out, width)

    def assertClose(self, got, want, what):
        self.assertEqual(len(got), len(want), what)
        worst = max(abs(g - w) for gr, wr in zip(got, want) for g, w in zip(gr, wr))
        self.assertLessEqual(worst, TOLERANCE, f"{what}: largest difference {worst}")

    def test_objectives_match_xgboost(self):
        for name in ("binary_logistic", "binary_logitraw", "reg_squarederror", "reg_logistic",
                     "count_poisson", "categorical", "dart", "reg_gamma", "reg_tweedie", "binary_hinge",
                     "reg_absoluteerror", "reg_pseudohubererror", "reg_squaredlogerror", "survival_cox",
                     "survival_aft", "rank_pairwise", "gblinear",
                     # what only XGBoost 3.1 and later write (made from 1.7.4 files by make_xgboost.py)
                     "v31_binary", "v31_dart", "v31_categorical"):
            with self.subTest(name):
                want = read_expected(self.path(name + ".expected"))
                self.assertEqual(len(want), 1648 if name == "v31_categorical" else 2000)
                self.assertClose(self.predict(name, 1), want, name)

    def test_explanations_match_xgboost_pred_contribs(self):
        """Path-dependent TreeSHAP against XGBoost's own pred_contribs, on rows with
        missing values and (categorical) unseen categories: within 1e-5."""
        for name in ("binary_logistic", "reg_squarederror", "categorical"):
            with self.subTest(name):
                want = read_expected(self.path(name + ".contribs"))
                out = self.path(name + ".explained")
                run("explain", self.path(name + ".json"), "--input", self.path(name + ".csv"), "--output", out)
                with open(out) as f:
                    got = [json.loads(line) for line in f]
                self.assertEqual(len(got), len(want))
                worst = 0.0
                for g, w in zip(got, want):
                    self.assertEqual(g["method"], "tree_path_dependent")
                    values = list(g["contributions"].values())
                    worst = max([worst, abs(g["base"] - w[-1])] + [abs(a - b) for a, b in zip(values, w[:-1])])
                    self.assertLess(abs(g["base"] + sum(values) - g["margin"]), 1e-5)
                self.assertLessEqual(worst, 1e-5, f"{name}: largest difference from pred_contribs {worst}")

    def test_multiclass_matches_xgboost(self):
        want = read_expected(self.path("multi_softprob.expected"))
        self.assertClose(self.predict("multi_softprob", 3), want, "multi:softprob")
        # multi:softmax: tabserve answers the probabilities; XGBoost's class is their argmax
        got = self.predict("multi_softmax", 3)
        for i, (g, w) in enumerate(zip(got, read_expected(self.path("multi_softmax.expected")))):
            cls, margins = w[0], w[1:]
            self.assertEqual(g.index(max(g)), int(cls), f"row {i}")
            self.assertLessEqual(max(abs(a - b) for a, b in zip(g, softmax(margins))), TOLERANCE, f"row {i}")

    def test_inspect_shows_what_was_found(self):
        out = run("inspect", self.path("categorical.json")).stdout
        for words in ("age ", "port ", "integer, may be missing", "trees 20 (max depth", "categorical splits",
                      '"format": "xgboost"', '"objective": "binary:logistic"', "probability that label is 1"):
            self.assertIn(words, out)
        out = run("inspect", self.path("binary_logistic.json")).stdout
        self.assertIn("f0 ", out)  # no names in the file: XGBoost's f0, f1, ...
        self.assertIn("f5 ", out)

    def test_several_targets_match_xgboost(self):
        """num_target 3 (multi_strategy one_output_per_tree): a regression of each target,
        answered by name, against XGBoost's own predictions."""
        self.assertClose(self.predict("multi_target", 3), read_expected(self.path("multi_target.expected")),
                         "multi-target")
        out = run("inspect", self.path("multi_target.json")).stdout
        self.assertIn("predicted value of each target of label", out)
        p = subprocess.run([BIN, "predict", self.path("multi_target.json"), "--format", "jsonl"],
                           input='{"f0": 0.5}\n', capture_output=True, text=True, check=True)
        self.assertEqual(sorted(json.loads(p.stdout)["predict"]), ["target_0", "target_1", "target_2"])
        # served: by name on the seed's route, a [N, 3] tensor in KServe V2, and TF Serving's
        # :regress (one number a row) refused, saying what to ask instead
        server, port = serve(self.path("multi_target.json"))
        try:
            one = post(port, {"f0": 0.5})["predict"]
            req = urllib.request.Request(f"http://127.0.0.1:{port}/v2/models/model/infer", data=json.dumps(
                {"inputs": [{"name": "f0", "shape": [2], "datatype": "FP32", "data": [0.5, 0.5]}]}).encode(),
                headers={"Content-Type": "application/json"})
            out = json.load(urllib.request.urlopen(req, timeout=10))["outputs"][0]
            self.assertEqual(out["shape"], [2, 3])
            self.assertEqual(out["data"][:3], [one["target_0"], one["target_1"], one["target_2"]])
            req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models/model:regress",
                                         data=b'{"examples": [{"f0": 0.5}]}')
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req, timeout=10)
            self.assertEqual(e.exception.code, 400)
            self.assertIn(b"answers 3 targets a row: ask it with :predict", e.exception.read())
        finally:
            server.terminate()
            server.wait()

    def test_vector_leaves_match_xgboost(self):
        """Vector-leaf trees (multi_strategy multi_output_tree, a value an output in each leaf)
        in XGBoost 2.0 to 3.1's layout (base_weights) and the later one (leaf_weights), as three
        targets and as three classes: made by make_xgboost.py from trees 1.7.4 grew to split
        alike, against its own predictions of them."""
        for name in ("vector_v20", "vector_v32", "vector_v20_softprob", "vector_v32_softprob"):
            with self.subTest(name):
                self.assertClose(self.predict(name, 3), read_expected(self.path(name + ".expected")), name)
        def refused(name, change, message):
            with open(self.path(name + ".json")) as f:
                j = json.load(f)
            change(j["learner"]["gradient_booster"]["model"]["trees"][0])
            bad = self.path("bad_vector.json")
            with open(bad, "w") as f:
                json.dump(j, f)
            p = run("inspect", bad, check=False)
            self.assertEqual(p.returncode, 1, name)
            self.assertIn(message, p.stderr)
        refused("vector_v32", lambda t: t["tree_param"].update(size_leaf_vector="2"),
                "trees: [0]: size_leaf_vector is not 0, 1 or 3 (the model's outputs)")
        with open(self.path("vector_v32.json")) as f:
            t0 = json.load(f)["learner"]["gradient_booster"]["model"]["trees"][0]
        leaf, n = t0["left_children"].index(-1), len(t0["left_children"])
        rows = len(t0["leaf_weights"]) // 3
        refused("vector_v32", lambda t: t["right_children"].__setitem__(leaf, n - 1),
                f"trees[0]: leaf {leaf} names leaf_weights row {n - 1} of {rows}")
        refused("vector_v20", lambda t: t["base_weights"].pop(),
                f"trees[0].base_weights: has {3 * n - 1} values: expected the nodes x 3")

    def test_the_form_xgboost_1_0_wrote(self):
        """default_left as true/false and no fields of later versions (XGBoost 1.0 to 1.2)."""
        with open(self.path("v10_binary.json")) as f:
            self.assertIn('"default_left": [true, false', f.read())
        self.assertClose(self.predict("v10_binary", 1), read_expected(self.path("v10_binary.expected")), "v10")
        bad = self.path("v10_bad.json")
        with open(self.path("v10_binary.json")) as f, open(bad, "w") as g:
            g.write(re.sub(r'"split_indices": \[\d+', '"split_indices": [true', f.read(), count=1))
        p = run("inspect", bad, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("split_indices: [0]: expected a number", p.stderr)

    def test_multiclass_forms_match_xgboost(self):
        """Per-class base scores as XGBoost 3.1 writes them, and the linear booster's classes."""
        for name in ("v31_multi", "gblinear_multi"):
            with self.subTest(name):
                self.assertClose(self.predict(name, 3), read_expected(self.path(name + ".expected")), name)

    def test_ubjson_is_its_json_twin(self):
        """save_model's default form from XGBoost 2.1 on, told apart by its content: the same
        predictions as XGBoost's, and the same model (hash) as its JSON twin."""
        out = self.path("ubj.out")
        run("predict", self.path("ubj_binary.ubj"), "--input", self.path("ubj_binary.csv"), "--output", out)
        self.assertClose(read_csv_numbers(out, 1), read_expected(self.path("ubj_binary.expected")), "UBJSON")
        shutil.copy(self.path("ubj_binary.ubj"), self.path("ubj_named_json.json"))  # the name does not decide
        hashes = {json.loads(run("inspect", self.path(n), "--json").stdout)["hash"]
                  for n in ("ubj_binary.ubj", "ubj_named_json.json", "ubj_binary.json")}
        self.assertEqual(len(hashes), 1, hashes)
        with open(self.path("ubj_binary.ubj"), "rb") as f:
            data = f.read()
        with open(self.path("cut.ubj"), "wb") as f:
            f.write(data[: len(data) // 2])
        p = run("inspect", self.path("cut.ubj"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"cut.ubj: UBJSON: byte \d+: the data ends inside")

    def test_refused_with_what_to_do(self):
        p = run("inspect", self.path("unknown_objective.json"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('$.learner.objective.name: objective "reg:unheardof" is not one tabserve knows', p.stderr)
        self.assertIn("binary:logistic", p.stderr)
        self.assertIn("export the model to ONNX", p.stderr)
        p = run("inspect", self.path("binary_logistic.json"), "--max-trees", "5", check=False)
        self.assertIn("$.learner.gradient_booster.model.trees: 20 trees; at most 5 are accepted (--max-trees)",
                      p.stderr)
        p = run("inspect", self.path("binary_logistic.json"), "--max-model-bytes", "1000", check=False)
        self.assertIn("over the limit of 1000 (--max-model-bytes)", p.stderr)

    def test_damaged_files_name_the_place(self):
        with open(self.path("binary_logistic.json")) as f:
            j = json.load(f)
        tree = j["learner"]["gradient_booster"]["model"]["trees"][3]
        tree["left_children"][0] = 99999
        bad = self.path("damaged.json")
        with open(bad, "w") as f:
            json.dump(j, f)
        p = run("inspect", bad, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("$.learner.gradient_booster.model.trees[3].left_children: [0]: 99999 is outside", p.stderr)
        # structures that are no tree: refused at load, the model's fault (never a request's)
        for what, change, words in (
                ("shared children", lambda t: t["right_children"].__setitem__(0, t["left_children"][0]),
                 "trees[3]: node 0 has the same node as both children"),
                ("a node reached twice", lambda t: t["right_children"].__setitem__(1, t["right_children"][0]),
                 "trees[3]: node 1 has a child that another node has too"),
                ("a cycle", lambda t: t["left_children"].__setitem__(1, 0),
                 "trees[3]: node 1 has a child that is not a later node of the tree")):
            with self.subTest(what):
                with open(self.path("binary_logistic.json")) as f:
                    j = json.load(f)
                change(j["learner"]["gradient_booster"]["model"]["trees"][3])
                with open(bad, "w") as f:
                    json.dump(j, f)
                p = run("inspect", bad, check=False)
                self.assertEqual(p.returncode, 1)
                self.assertIn(words, p.stderr)

    def test_schema_file_names_inputs_and_categories(self):
        shutil.copy(self.path("categorical.json"), self.path("cat2.json"))
        schema = {"inputs": [{"name": "Age"}, {}, {}, {"name": "Port", "vocab": list("abcdefgh"), "unknown": "reject"},
                             {}, {}],
                  "output": {"label": "Survived", "classes": ["no", "yes"]}}
        with open(self.path("cat2.schema.json"), "w") as f:  # found beside the model by its name
            json.dump(schema, f)
        out = run("inspect", self.path("cat2.json")).stdout
        self.assertIn("Port       categorical string {a, b, c, d, e, f, g, h}, unknown -> error", out)
        self.assertIn("probability that Survived is yes", out)
        # code 3 is "d": the same prediction by name as by code
        rows = '{"age": 0.5, "fare": 1, "deck": 0, "port": 3, "e": 0, "f": 0}\n'
        p1 = subprocess.run([BIN, "predict", self.path("categorical.json"), "--format", "jsonl"], input=rows,
                            capture_output=True, text=True, check=True)
        p2 = subprocess.run([BIN, "predict", self.path("cat2.json"), "--format", "jsonl"],
                            input=rows.replace('"port": 3', '"Port": "d"').replace("age", "Age"),
                            capture_output=True, text=True, check=True)
        self.assertEqual(json.loads(p1.stdout)["predict"], json.loads(p2.stdout)["predict"])
        p = subprocess.run([BIN, "predict", self.path("cat2.json"), "--format", "jsonl"],
                           input='{"Port": "z"}\n', capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn('Port: unknown category "z"', p.stderr)

    def test_categories_stored_in_the_model(self):
        """3.1's "cats": integer categories as well as strings, a request naming one gets the
        code's prediction, and a damaged list is refused with its JSON path."""
        with open(self.path("v31_categorical.json")) as f:
            j = json.load(f)
        cats = j["learner"]["gradient_booster"]["model"]["cats"]
        cats["enc"][3] = {"type": 7, "values": [70, 10, 30, -5, 20, 60, 50, 40]}
        with open(self.path("cats_int.json"), "w") as f:
            json.dump(j, f)
        out = run("inspect", self.path("cats_int.json")).stdout
        self.assertIn("port       categorical integer {70, 10, 30, -5, 20, 60, 50, 40}, unknown -> error", out)
        p = subprocess.run([BIN, "predict", self.path("v31_categorical.json"), "--format", "jsonl"],
                           input='{"age": 0.5, "port": "q2"}\n', capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)  # a name the model never saw: refused, not sent the missing way
        self.assertIn('port: unknown category "q2"', p.stderr)
        by_code = subprocess.run([BIN, "predict", self.path("categorical.json"), "--format", "jsonl"],
                                 input='{"age": 0.5, "port": 3}\n', capture_output=True, text=True, check=True)
        for model, port in (("cats_int.json", "-5"), ("v31_categorical.json", '"x"')):
            with self.subTest(model):
                p = subprocess.run([BIN, "predict", self.path(model), "--format", "jsonl"],
                                   input='{"age": 0.5, "port": %s}\n' % port, capture_output=True, text=True,
                                   check=True)
                self.assertEqual(json.loads(p.stdout)["predict"], json.loads(by_code.stdout)["predict"])
        for change, words in (
                (lambda c: c.update(feature_segments=[0, 8]),
                 "$.learner.gradient_booster.model.cats: feature_segments has 2 entries for 6 features"),
                (lambda c: c["enc"][3].update(offsets=[0, 1, 2]),
                 "$.learner.gradient_booster.model.cats.enc[3]: offsets has 3 entries for 8 categories"),
                (lambda c: c["enc"][3].update(values=[115] * 9),
                 "cats.enc[3]: [1]: duplicate value"),
                (lambda c: c.update(enc=[]),
                 "enc must be an array of 6 entries (one per feature), got an array of 0")):
            with self.subTest(words):
                with open(self.path("v31_categorical.json")) as f:
                    j = json.load(f)
                change(j["learner"]["gradient_booster"]["model"]["cats"])
                with open(self.path("cats_bad.json"), "w") as f:
                    json.dump(j, f)
                p = run("inspect", self.path("cats_bad.json"), check=False)
                self.assertEqual(p.returncode, 1)
                self.assertIn(words, p.stderr)

    def test_served_over_http(self):
        server, port = serve(self.path("binary_logistic.json"))
        try:
            with open(self.path("binary_logistic.csv")) as f:
                names = f.readline().strip().split(",")
                # a missing value as null: an all-missing row is then still a row of this model's inputs
                rows = [dict((n, float(v) if v else None) for n, v in zip(names, line.strip().split(","))) for line in f]
            want = read_expected(self.path("binary_logistic.expected"))
            req = urllib.request.Request(f"http://127.0.0.1:{port}/model", data=json.dumps(rows[:500]).encode(),
                                         headers={"Content-Type": "application/json"})
            got = json.load(urllib.request.urlopen(req, timeout=10))["predict"]
            self.assertClose([[g] for g in got], want[:500], "POST /model batch")
            req = urllib.request.Request(f"http://127.0.0.1:{port}/model", data=json.dumps(rows[700]).encode(),
                                         headers={"Content-Type": "application/json"})
            one = json.load(urllib.request.urlopen(req, timeout=10))["predict"]
            self.assertLessEqual(abs(one - want[700][0]), TOLERANCE)
            meta = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/model", timeout=5))
            self.assertEqual([i["name"] for i in meta["inputs"]], [f"f{j}" for j in range(6)])
            full = {f"f{j}": 0.5 for j in range(6)}
            req = urllib.request.Request(f"http://127.0.0.1:{port}/model", data=json.dumps(full).encode(),
                                         headers={"Content-Type": "application/json"})
            check_spec(self, port, full, json.load(urllib.request.urlopen(req, timeout=10)))
        finally:
            server.terminate()
            server.wait(10)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(model_path):
    """`tabserve serve MODEL` on a free port, once it answers /healthz: (process, port)."""
    port = free_port()
    server = subprocess.Popen([BIN, "serve", model_path, "-b", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    return server, port


def post(port, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/model", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=10))


# name, the twin's output ONNX Runtime reports, its width (binary: the last column)
ONNX_MODELS = [("logreg", "probabilities", 1), ("logreg_scores", "probabilities", 1), ("logreg3", "probabilities", 3), ("logreg3_scores", "probabilities", 3), ("mlp", "a2", 1),
               ("forest", "probabilities", 1), ("boosting", "probability", 1), ("keras", "dense_1", 1),
               ("labelenc", "probability", 1), ("kerasnorm", "dense_1", 1), ("kerasselect", "dense_1", 1),
               ("norml2", "probabilities", 1), ("norml1", "probabilities", 1), ("normmax", "probabilities", 1),
               ("kerasembed", "dense_1", 1), ("embedlr", "probabilities", 1),
               # graphs the compiler does not follow, run as written (make_onnx.py: general)
               ("blend", "probabilities", 1), ("arith", "score", 1), ("strings", "p", 1)]
GRAPHS = ("blend", "arith", "strings")


@unittest.skipIf(ort_missing(), ort_missing())
class OnnxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tabserve-onnx-")
        subprocess.run([ORACLE_PY, os.path.join(HERE, "oracles", "make_onnx.py"), cls.dir], check=True)
        for name, output, _ in ONNX_MODELS:
            subprocess.run(["node", os.path.join(HERE, "oracles", "ort_predict.js"), cls.path(name + ".twin.onnx"),
                            cls.path(name + ".csv"), output, cls.path(name + ".ort")], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def path(cls, name):
        return os.path.join(cls.dir, name)

    def assertClose(self, got, want, what):
        self.assertEqual(len(got), len(want), what)
        worst = max(abs(g - w) for gr, wr in zip(got, want) for g, w in zip(gr, wr))
        self.assertLessEqual(worst, TOLERANCE, f"{what}: largest difference {worst}")

    def predict(self, model, rows, width):
        out = self.path(os.path.basename(model) + ".out")
        run("predict", model, "--input", rows, "--output", out)
        return read_csv_numbers(out, width)

    def test_explanations_of_an_onnx_graph_need_a_background(self):
        """An ONNX MLP has no exact tree or linear form: explained by interventional
        Shapley values against background rows given in its schema file; without
        them, refused saying what to add."""
        model = self.path("mlp.onnx")
        rows = self.path("mlp.csv")
        refused = run("explain", model, "--input", rows, check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("no background sample", refused.stderr)
        with open(rows) as f:
            header = f.readline().strip().split(",")
            sample = [dict(zip(header, line.strip().split(","))) for line, _ in zip(f, range(8))]
        background = [{k: (None if v == "" else (float(v) if k in ("Age", "Fare", "Pclass") else v))
                       for k, v in r.items()} for r in sample]
        schema = self.path("mlp.background.schema.json")
        with open(schema, "w") as f:
            json.dump({"background": background}, f)
        out = self.path("mlp.explained")
        run("explain", model, "--schema", schema, "--input", rows, "--output", out)
        with open(out) as f:
            got = [json.loads(line) for line in f][:50]
        want = self.predict(model, rows, 1)[:50]
        for g, w in zip(got, want):
            self.assertEqual(g["method"], "interventional")
            self.assertEqual(sorted(g["contributions"]), ["Age", "Embarked", "Fare", "Pclass", "Sex"])
            self.assertLess(abs(g["base"] + sum(g["contributions"].values()) - g["margin"]), 1e-5)
            self.assertLess(abs(1 / (1 + math.exp(-g["margin"])) - w[0]), 1e-5)

    def test_pipelines_match_onnx_runtime_and_sklearn(self):
        for name, _, width in ONNX_MODELS:
            with self.subTest(name):
                got = self.predict(self.path(name + ".onnx"), self.path(name + ".csv"), width)
                self.assertEqual(len(got), 2000)
                ort = [r[-width:] for r in read_expected(self.path(name + ".ort"))]
                self.assertClose(got, ort, name + " against ONNX Runtime")
                self.assertClose(got, read_expected(self.path(name + ".sklearn")), name + " against scikit-learn")
                # the compiled form agreed with the interpreter at load (probe.h): it is the one that runs
                if name not in GRAPHS:
                    info = run("inspect", self.path(name + ".onnx")).stdout
                    self.assertIn('"runs_as": "compiled"', info, name)
                    self.assertNotIn("compiled_disagreed", info, name)

    def test_every_pipeline_also_runs_as_a_graph(self):
        """--onnx-graph runs a model on the interpreter even when it compiles: the same
        predictions as ONNX Runtime, for every fixture (so each operator's interpreter is
        checked on the pipelines the compiler also serves)."""
        for name, _, width in ONNX_MODELS:
            with self.subTest(name):
                out = self.path(name + ".graph.out")
                run("predict", self.path(name + ".onnx"), "--input", self.path(name + ".csv"), "--output", out,
                    "--onnx-graph")
                got = read_csv_numbers(out, width)
                ort = [r[-width:] for r in read_expected(self.path(name + ".ort"))]
                self.assertClose(got, ort, name + " on the interpreter against ONNX Runtime")
                self.assertIn('"runs_as": "graph"', run("inspect", self.path(name + ".onnx"), "--onnx-graph").stdout)

    def test_graphs_outside_the_compiled_shapes_run_as_written(self):
        for name in GRAPHS:
            out = run("inspect", self.path(name + ".onnx")).stdout
            self.assertIn('"runs_as": "graph"', out, name)
        out = run("inspect", self.path("strings.onnx")).stdout
        for words in ("Sex        categorical string {female, male}, unknown -> zeros, required",
                      "Embarked   categorical string {C, Q, S}, unknown -> zeros, required",
                      "Age        number, may be missing", "Embarked   category_index -> column 1",
                      "estimator onnx graph of 9 nodes (LabelEncoder, OneHotEncoder, Flatten, Cast, Imputer, "
                      "Concat, TreeEnsembleRegressor, Sigmoid) -> p[:, 0]",
                      "probability that label is 1 (binary, link identity)"):
            self.assertIn(words, out)
        self.assertIn('"runs_as": "compiled"', run("inspect", self.path("logreg.onnx")).stdout)
        # served like any model: one object, a batch, an unknown category as the runtime sees it
        want = read_expected(self.path("strings.ort"))
        with open(self.path("strings.csv")) as f:
            names = f.readline().strip().split(",")
            rows = [dict((n, (float(v) if n == "Age" else v)) for n, v in zip(names, line.strip().split(","))
                         if v != "") for line in f]
        server, port = serve(self.path("strings.onnx"))
        try:
            got = post(port, rows[:200])["predict"]
            self.assertClose([[g] for g in got], [w[-1:] for w in want[:200]], "POST /model batch")
            self.assertLessEqual(abs(post(port, rows[41])["predict"] - want[41][-1]), TOLERANCE)
            self.assertEqual(rows[41]["Sex"], "unknown")
        finally:
            server.terminate()
            server.wait(10)

    def test_graph_errors_name_the_node(self):
        """Shapes and types are checked at load by two dry runs: the message names the node."""
        for name, words in (("badshape", 'node "dense" (MatMul): inner dimensions 3 and 2 differ'),
                            ("badtype", 'node "add" (Add): inputs of types float and int64; it takes two floats '
                                        'or two integers'),
                            ("noanswer", 'no graph output is a float tensor of one row per input row ([N] or '
                                         '[N, k]): "y" is int64 of 2 dimensions, 2 long for 2 rows')):
            p = run("inspect", self.path(name + ".onnx"), check=False)
            self.assertEqual(p.returncode, 1, name)
            self.assertIn(words, p.stderr)

    def test_embedding_index_outside_the_table_is_refused(self):
        """A Keras Embedding's index must be a row of its table: ONNX Runtime fails the
        batch; tabserve refuses the row and names the input and the accepted values."""
        rows = self.path("badcat.csv")
        with open(rows, "w") as f:
            f.write("a,b,c,cat\n0.1,0.2,0.3,7\n0.1,0.2,0.3,2.5\n0.1,0.2,0.3,6\n")
        p = run("predict", self.path("kerasembed.onnx"), "--input", rows, "--output", self.path("badcat.out"),
                "--skip-bad", check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("row 1: column cat: unknown category 7; accepted values: 0, 1, 2, 3, 4, 5, 6", p.stderr)
        self.assertIn("row 2: column cat: expected an integer", p.stderr)
        self.assertIn("1 rows written, 2 skipped", p.stderr)

    def test_decision_scores_are_served_as_scores(self):
        """A classifier without a post transform answers decision scores (w.x + b, checked
        against ONNX Runtime and scikit-learn's decision_function above): served as the
        score it is, on both paths, never as a probability (TF Serving's classify would
        answer 1 - score for the other class); three classes' scores keep their classes."""
        for args in ((), ("--onnx-graph",)):
            info = run("inspect", self.path("logreg_scores.onnx"), *args).stdout
            self.assertIn("output   predict: predicted score of class 1 (regression, link identity)", info, args)
            info = run("inspect", self.path("logreg3_scores.onnx"), *args).stdout
            self.assertIn("output   predict: score of each class of label (multiclass, link identity)", info, args)
        got = self.predict(self.path("logreg_scores.onnx"), self.path("logreg_scores.csv"), 1)
        self.assertLess(min(g[0] for g in got), 0)
        self.assertGreater(max(g[0] for g in got), 1)

    def test_zipmap_graph_equals_its_twin(self):
        for name in ("logreg", "forest"):
            a = self.predict(self.path(name + ".onnx"), self.path(name + ".csv"), 1)
            b = self.predict(self.path(name + ".twin.onnx"), self.path(name + ".csv"), 1)
            self.assertEqual(a, b)

    def test_inspect_shows_the_compiled_model(self):
        out = run("inspect", self.path("logreg.onnx")).stdout
        for words in ("Sex        categorical string {female, male}, unknown -> zeros",
                      "Age        impute(30.3) -> scale(offset", "Embarked   one_hot -> columns 5..7",
                      "estimator linear 8 -> 1", "probability that label is 1 (binary, link sigmoid)",
                      '"format": "onnx"', '"producer": "tabserve-tests"'):
            self.assertIn(words, out)
        out = run("inspect", self.path("keras.onnx")).stdout
        self.assertIn("f9 ", out)  # one [N, 10] tensor: inputs f0..f9
        self.assertIn("estimator mlp 10 -> 32 tanh -> 1 linear", out)
        out = run("inspect", self.path("forest.onnx")).stdout
        self.assertIn("trees 40 (max depth 6", out)

    def test_refused_with_node_and_operator(self):
        p = run("inspect", self.path("forest.onnx"), "--max-nodes", "10", check=False)
        self.assertIn('node "TreeEnsembleClassifier" (TreeEnsembleClassifier): tree 0 has', p.stderr)
        self.assertIn("at most 10 are accepted (--max-nodes)", p.stderr)
        p = run("inspect", self.path("unsupported.onnx"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('node "norm" (LpNormalization): operator LpNormalization is not supported; supported '
                      'operators: Imputer, Scaler', p.stderr)
        p = run("inspect", self.path("gather_rows.onnx"), check=False)
        self.assertEqual(p.returncode, 1)
        # Gather along the rows runs (as ONNX Runtime runs it), but its answer has one row
        # whatever the batch: no output is a prediction per input row
        self.assertIn('no graph output is a float tensor of one row per input row ([N] or [N, k]): "y" is float '
                      'of 2 dimensions, 1 long for 2 rows', p.stderr)
        with open(self.path("forest.onnx"), "rb") as f:
            data = f.read()
        for cut in (len(data) // 2, len(data) - 3):
            with open(self.path("cut.onnx"), "wb") as f:
                f.write(data[:cut])
            p = run("inspect", self.path("cut.onnx"), check=False)
            self.assertEqual(p.returncode, 1)
            self.assertTrue("not a valid ONNX model" in p.stderr or "not a tabserve model" in p.stderr, p.stderr)
        # graphs inside attributes inside nodes inside graphs, 40 messages deep: refused
        # before protobuf-c (which recurses without a limit) unpacks it
        def field(number, payload):
            n, size = len(payload), b""
            while True:
                size += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
                n >>= 7
                if not n:
                    break
            return bytes([number << 3 | 2]) + size + payload
        graph = b""
        for _ in range(14):  # GraphProto.node(1) -> NodeProto.attribute(5) -> AttributeProto.g(6)
            graph = field(1, field(5, field(6, graph)))
        deep = b"\x08\x08" + field(7, graph)
        with open(self.path("deep.onnx"), "wb") as f:
            f.write(deep)
        p = run("inspect", self.path("deep.onnx"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("messages nested deeper than 32 levels", p.stderr)

    def test_schema_file_renames_and_names_classes(self):
        shutil.copy(self.path("keras.onnx"), self.path("net.onnx"))
        with open(self.path("net.schema.json"), "w") as f:
            json.dump({"inputs": [{"name": f"x{j}"} for j in range(10)],
                       "output": {"label": "churn", "classes": ["stays", "leaves"], "positive": "stays"}}, f)
        out = run("inspect", self.path("net.onnx")).stdout
        self.assertIn("x9 ", out)
        self.assertIn("probability that churn is stays", out)
        row = {f"x{j}": 0.1 * j for j in range(10)}
        p = subprocess.run([BIN, "predict", self.path("net.onnx"), "--format", "jsonl"], input=json.dumps(row) + "\n",
                           capture_output=True, text=True, check=True)
        q = subprocess.run([BIN, "predict", self.path("keras.onnx"), "--format", "jsonl"],
                           input=json.dumps({f"f{j}": 0.1 * j for j in range(10)}) + "\n",
                           capture_output=True, text=True, check=True)
        self.assertAlmostEqual(json.loads(p.stdout)["predict"], 1 - json.loads(q.stdout)["predict"], places=6)

    def test_hup_reloads_a_model_of_another_format(self):
        # the file behind the server's path changes format: XGBoost JSON -> ONNX -> damaged
        path = self.path("live-model")
        shutil.copy(os.path.join(ROOT, "fuzz", "corpus", "model", "xgb-binary.json"), path)
        port = free_port()
        server = subprocess.Popen([BIN, "serve", path, "-b", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)

        def source():
            return json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/model", timeout=5))["metadata"]["source"]

        def wait_for(fmt):
            for _ in range(100):
                try:
                    if source()["format"] == fmt:
                        return True
                except OSError:
                    pass
                time.sleep(0.05)
            return False
        try:
            self.assertTrue(wait_for("xgboost"))
            shutil.copy(self.path("keras.onnx"), path + ".tmp")
            os.replace(path + ".tmp", path)
            server.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for("onnx"))
            row = {f"f{j}": 0.1 * j for j in range(10)}
            want = json.loads(subprocess.run([BIN, "predict", self.path("keras.onnx"), "--format", "jsonl"],
                                             input=json.dumps(row) + "\n", capture_output=True, text=True,
                                             check=True).stdout)["predict"]
            self.assertEqual(post(port, row)["predict"], want)
            with open(path + ".tmp", "wb") as f:
                f.write(b"\x08\x08\x3a\x05garbage")
            os.replace(path + ".tmp", path)
            server.send_signal(signal.SIGHUP)

            def refusals():
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
                return float(re.search(r"^tabserve_model_reload_failures_total (\S+)$", text, re.M)[1])

            for _ in range(400):  # the reload's outcome, as the server counts it
                if refusals() == 1:
                    break
                time.sleep(0.05)
            self.assertEqual(refusals(), 1)
            self.assertEqual(source()["format"], "onnx")  # refused: the ONNX model keeps serving
            self.assertEqual(post(port, row)["predict"], want)
        finally:
            server.terminate()
            server.wait(10)

    def test_served_over_http_with_its_own_schema(self):
        server, port = serve(self.path("logreg.onnx"))
        try:
            with open(self.path("logreg.csv")) as f:
                names = f.readline().strip().split(",")
                rows = [dict((n, (float(v) if n not in ("Sex", "Embarked") else v)) for n, v in
                             zip(names, line.strip().split(",")) if v != "") for line in f]
            want = read_expected(self.path("logreg.ort"))
            got = post(port, rows[:300])["predict"]
            self.assertClose([[g] for g in got], [w[-1:] for w in want[:300]], "POST /model batch")
            self.assertLessEqual(abs(post(port, rows[11])["predict"] - want[11][-1]), TOLERANCE)
            meta = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/model", timeout=5))
            self.assertEqual([i["name"] for i in meta["inputs"]], ["Age", "Fare", "Pclass", "Sex", "Embarked"])
            full = {"Age": 30.0, "Fare": 10.5, "Pclass": 2.0, "Sex": "female", "Embarked": "Q"}
            spec = check_spec(self, port, [full], post(port, [full]))
            self.assertIn('"Sex":\n          type: string', spec)
            # an unseen category encodes as zeros (OneHotEncoder zeros=1), as in the runtime
            self.assertIsInstance(post(port, dict(rows[11], Sex="robot"))["predict"], float)
            req = urllib.request.Request(f"http://127.0.0.1:{port}/model", data=json.dumps(dict(rows[11], Age="old")).encode(),
                                         headers={"Content-Type": "application/json"})
            with self.assertRaises(urllib.error.HTTPError) as ctx:
                urllib.request.urlopen(req, timeout=10)
            self.assertEqual(ctx.exception.code, 400)
            self.assertIn("$.Age: expected a number", json.load(ctx.exception)["error"]["message"])
        finally:
            server.terminate()
            server.wait(10)


CONFORMANCE = os.path.join(ROOT, "..", "shared", "conformance")
EXPORTERS = os.path.join(CONFORMANCE, "onnx-exporters")
# exporter file -> the ONNX Runtime output columns tabserve's answer is compared with
EXPORTER_FILES = {
    "mf_dtree": ["probabilities_1"],  # skl2onnx binary tree: every leaf weight on class id 0
    "skl_treecl": ["proba_0_0", "proba_0_1", "proba_0_2"],  # input [None, None], width from the trees
    "cbml_logreg": ["probabilities_%d" % k for k in range(6)],  # ai.onnx opset 21 pipeline
    "churn_ann": ["output_0_0"],  # tf2onnx Keras MLP
}


def read_named_csv(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
        return header, [line.rstrip("\n").split(",") for line in f if line.strip()]


@unittest.skipIf(not os.path.isdir(EXPORTERS), "../shared/conformance/onnx-exporters is not here")
class ExporterFilesTest(unittest.TestCase):
    """Four ONNX files published by others (../shared/conformance/onnx-exporters, with
    ONNX Runtime 1.30's outputs made there): both of tabserve's paths — the compiled
    form and the graph interpreter (--onnx-graph) — agree with ONNX Runtime to 1e-5
    (absolute, or relative above 1)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tabserve-exporters-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def scored(self, name, *flags):
        header, rows = read_named_csv(os.path.join(EXPORTERS, "cases", name + ".inputs.csv"))
        rows_path = os.path.join(self.dir, name + ".csv")
        with open(rows_path, "w") as f:  # the corpus writes NaN for a missing value; tabserve's CSV an empty cell
            f.write(",".join(header) + "\n")
            for r in rows:
                f.write(",".join("" if c == "NaN" else c for c in r) + "\n")
        out = os.path.join(self.dir, name + ".out")
        run("predict", os.path.join(EXPORTERS, "models", name + ".onnx"), "--input", rows_path, "--output", out,
            *flags)
        return read_csv_numbers(out, len(EXPORTER_FILES[name]))

    def test_both_paths_agree_with_onnx_runtime(self):
        for name, columns in EXPORTER_FILES.items():
            header, rows = read_named_csv(os.path.join(EXPORTERS, "cases", name + ".outputs.csv"))
            want = [[float(r[header.index(c)]) for c in columns] for r in rows]
            for flags in ((), ("--onnx-graph",)):
                with self.subTest(name, path=flags or "compiled"):
                    got = self.scored(name, *flags)
                    self.assertEqual(len(got), 200)
                    for i, (g, w) in enumerate(zip(got, want)):
                        for gv, wv in zip(g, w):
                            self.assertLessEqual(abs(gv - wv), 1e-5 * max(1.0, abs(wv)), f"{name} row {i}: {g} vs {w}")

    def test_binary_tree_classifier_is_not_a_constant(self):
        """The skl2onnx binary DecisionTreeClassifier answers both classes (it once answered 0 for every row)."""
        got = {round(v[0], 6) for v in self.scored("mf_dtree")}
        self.assertEqual(got, {0.0, 1.0})
        self.assertIn('"runs_as": "compiled"', run("inspect", os.path.join(EXPORTERS, "models", "mf_dtree.onnx")).stdout)


XGB_CONFORMANCE = os.path.join(CONFORMANCE, "xgboost", "titanic77_autogluon")


@unittest.skipIf(not os.path.isdir(XGB_CONFORMANCE), "../shared/conformance/xgboost is not here")
class XGBoostConformanceTest(unittest.TestCase):
    """A UBJSON model XGBoost 2.1.4 wrote (via AutoGluon) and its JSON re-save by XGBoost
    1.7.4, with XGBoost's predictions (../shared/conformance/xgboost): both files agree
    with them to 1e-6, every one of the 330 trees used (as Booster.predict does)."""

    def test_ubjson_and_json_agree_with_xgboost(self):
        tmp = tempfile.mkdtemp(prefix="tabserve-xgbconf-")
        try:
            header, rows = read_named_csv(os.path.join(XGB_CONFORMANCE, "titanic77_autogluon.inputs.csv"))
            rows_path = os.path.join(tmp, "rows.csv")
            with open(rows_path, "w") as f:
                f.write(",".join(header) + "\n")
                for r in rows:
                    f.write(",".join("" if c == "NaN" else c for c in r) + "\n")
            oh, orows = read_named_csv(os.path.join(XGB_CONFORMANCE, "titanic77_autogluon.outputs.csv"))
            want = [float(r[oh.index("prob")]) for r in orows]
            for name in ("titanic77_autogluon.ubj", "titanic77_autogluon.resaved.json"):
                out = os.path.join(tmp, name + ".out")
                run("predict", os.path.join(XGB_CONFORMANCE, name), "--input", rows_path, "--output", out)
                got = [r[0] for r in read_csv_numbers(out, 1)]
                self.assertEqual(len(got), 200)
                worst = max(abs(g - w) for g, w in zip(got, want))
                self.assertLessEqual(worst, 1e-6, f"{name}: largest difference {worst}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


LGB_CONFORMANCE = os.path.join(CONFORMANCE, "lightgbm", "leaves")


def lgb_walk(model_text, row):
    """An independent reference walker for LightGBM text models (plain Python, from the
    format as LightGBM defines it): raw score per output. Numeric splits: x <= threshold
    goes left; missing type None sends NaN as 0, Zero sends 0 and NaN the default way, NaN
    sends NaN the default way. Categorical: codes in the bitset go left, NaN and
    negatives right."""
    lines = model_text.splitlines()
    head, trees, cur = {}, [], None
    for line in lines:
        if line.startswith("Tree="):
            cur = {}
            trees.append(cur)
        elif line.startswith("end of trees"):
            break
        elif "=" in line:
            k, v = line.split("=", 1)
            (cur if cur is not None else head)[k] = v
    k = int(head["num_tree_per_iteration"])
    out = [0.0] * k
    for t, tr in enumerate(trees):
        leaves = [float(v) for v in tr["leaf_value"].split()]
        node = 0
        if int(tr["num_leaves"]) > 1:
            feat = [int(v) for v in tr["split_feature"].split()]
            thr = [float(v) for v in tr["threshold"].split()]
            dt = [int(v) for v in tr["decision_type"].split()]
            lc = [int(v) for v in tr["left_child"].split()]
            rc = [int(v) for v in tr["right_child"].split()]
            bounds = [int(v) for v in tr.get("cat_boundaries", "0").split()]
            words = [int(v) for v in tr.get("cat_threshold", "").split()]
            while node >= 0:
                x, d = row[feat[node]], dt[node]
                missing, default_left = (d >> 2) & 3, bool(d & 2)
                if d & 1:
                    if x != x or int(x) < 0:
                        go_left = False
                    else:
                        c, i = int(x), int(thr[node])
                        w = bounds[i] + c // 32
                        go_left = w < bounds[i + 1] and bool(words[w] >> (c % 32) & 1)
                else:
                    if x != x and missing != 2:
                        x = 0.0
                    if (missing == 1 and abs(x) <= 1e-35) or (missing == 2 and x != x):
                        go_left = default_left
                    else:
                        go_left = x <= thr[node]
                node = lc[node] if go_left else rc[node]
            node = ~node
        out[t % k] += leaves[node]
    return out


@unittest.skipIf(not os.path.isdir(LGB_CONFORMANCE), "../shared/conformance/lightgbm is not here")
class LightGBMTest(unittest.TestCase):
    """LightGBM text models (../shared/conformance/lightgbm: written and predicted by
    LightGBM itself) against LightGBM's predictions, and hand-made models with every
    numeric missing type against the reference walker above."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tabserve-lgb-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def predict(self, model, rows, k):
        names = [i["name"] for i in json.loads(run("inspect", model, "--json").stdout)["inputs"]]
        path = os.path.join(self.dir, "rows.csv")
        with open(path, "w") as f:
            f.write(",".join(names) + "\n")
            for r in rows:
                f.write(",".join("" if v != v else repr(v) for v in r) + "\n")
        out = os.path.join(self.dir, "out.csv")
        run("predict", model, "--input", path, "--output", out)
        return read_csv_numbers(out, k)

    def rows(self, name, sep="\t", skip=0):
        with open(os.path.join(LGB_CONFORMANCE, name)) as f:
            return [[float(x) for x in line.split(sep)][skip:] for line in f if line.strip()]

    def assertAgree(self, got, want, what, tolerance=1e-6, allowed=0):
        bad = [i for i, (g, w) in enumerate(zip(got, want))
               if any(abs(a - b) > tolerance * max(1.0, abs(b)) for a, b in zip(g, w))]
        self.assertEqual(len(got), len(want), what)
        self.assertLessEqual(len(bad), allowed, f"{what}: rows {bad[:5]} differ, e.g. {got[bad[0]] if bad else ''}")

    def test_models_agree_with_lightgbm(self):
        lg = LGB_CONFORMANCE
        softmax_of = lambda z: softmax(z)  # noqa: E731
        cases = [("lg_dart_breast_cancer.model", self.rows("breast_cancer_test.tsv"),
                  self.rows("lg_dart_breast_cancer_true_predictions.txt", None), 1, 0),
                 ("lg_kddcup99.model", self.rows("kddcup99_test.tsv"),
                  [softmax_of(z) for z in self.rows("lg_kddcup99_true_predictions.txt", None)], 13, 0),
                 # 32-bit float inputs against LightGBM's doubles: one row of 500 has a value
                 # (0.94) whose float lies on the other side of a threshold (0.93999999999999995)
                 ("lgmulticlass.model", self.rows("multiclass_test.tsv", "\t", 1),
                  self.rows("lgmulticlass_true_predictions.txt", None), 5, 1)]
        for m in ("poisson_Frequency", "gamma_AvgClaimAmount", "tweedie_PurePremium"):
            cases.append((f"genlin_fmtp_{m}.model", self.rows(f"genlin_fmtp_{m}_features.tsv"),
                          self.rows(f"genlin_fmtp_{m}_true_predictions.txt", None), 1, 0))
        iris = []
        with open(os.path.join(lg, "iris_test.libsvm")) as f:
            for line in f:
                r = [float("nan")] * 4
                for p in line.split()[1:]:
                    i, v = p.split(":")
                    r[int(i)] = float(v)
                iris.append(r)
        cases.append(("lg_rf_iris.model", iris, self.rows("lg_rf_iris_true_predictions.txt", None), 1, 0))
        for name, rows, want, k, allowed in cases:
            with self.subTest(name):
                got = self.predict(os.path.join(lg, name), rows, k)
                self.assertAgree(got, [w[:k] for w in want], name, 1e-5, allowed)
                with open(os.path.join(lg, name)) as f:  # and the reference walker agrees too
                    text = f.read()
                if "average_output" not in text:
                    link = (lambda z: softmax(z)) if k > 1 else (
                        (lambda z: [1 / (1 + math.exp(-z[0]))]) if "binary" in text.split("objective=")[1].split("\n")[0]
                        else (lambda z: [math.exp(z[0])]))
                    walked = [link(lgb_walk(text, r)) for r in rows]
                    self.assertAgree(got, walked, name + " against the reference walker", 1e-5, allowed)

    def test_hand_made_expectations(self):
        """leaves' hard-coded expectations for model_simple.txt (a categorical split and NaN inputs)."""
        model = os.path.join(LGB_CONFORMANCE, "model_simple.txt")
        with open(os.path.join(LGB_CONFORMANCE, "hardcoded_expectations.tsv")) as f:
            next(f)
            cases = [line.rstrip("\n").split("\t") for line in f if line.startswith("model_simple.txt")]
        cases = [c for c in cases if c[2] == "all"]
        rows = [[float(v) for v in c[1].split(",")] for c in cases]
        got = self.predict(model, rows, 1)
        want = [[1 / (1 + math.exp(-float(c[4])))] if c[3] == "raw" else [float(c[4])] for c in cases]
        self.assertGreater(len(cases), 3)
        self.assertAgree(got, want, "model_simple", 1e-6)

    def test_pandas_categories_are_names(self):
        """A categorical feature named in pandas_categorical takes its category names (code i is
        the i-th); a name the model does not know is missing, as pandas would code it NaN."""
        with open(os.path.join(ROOT, "fuzz", "corpus", "model", "lgb-handmade.txt")) as f:  # written by hand
            text = f.read()
        model = os.path.join(self.dir, "cats.txt")
        with open(model, "w") as f:
            f.write(text)
        path = os.path.join(self.dir, "cats.csv")
        with open(path, "w") as f:
            f.write("a,b,colour\n0.1,0,red\n0.5,1,blue\n,2,green\n1,0,purple\n")
        out = os.path.join(self.dir, "cats.out")
        run("predict", model, "--input", path, "--output", out)
        codes = {"blue": 0.0, "green": 1.0, "red": 2.0, "purple": float("nan")}
        rows = [[0.1, 0, codes["red"]], [0.5, 1, codes["blue"]], [float("nan"), 2, codes["green"]], [1, 0, codes["purple"]]]
        want = [[1 / (1 + math.exp(-lgb_walk(text, r)[0]))] for r in rows]
        self.assertAgree(read_csv_numbers(out, 1), want, "pandas categories", 1e-6)

    def test_text_that_is_not_utf8_is_refused_by_line(self):
        # header text goes into the model's JSON documents: other bytes are the file's fault
        head = ("tree\nversion=v3\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=0\n"
                "objective={obj}\nfeature_names={name}\nfeature_infos=[0:1]\ntree_sizes=10\n\nTree=0\n"
                "num_leaves=1\nleaf_value=0.5\nshrinkage=1\n\n\nend of trees\n")
        for obj, name, want in ((b"regression", b"a\xff", "line 8: feature_names: name 0 is not UTF-8 text"),
                                (b"regression sig\x91:1", b"a", "the objective line is not UTF-8 text")):
            path = os.path.join(self.dir, "bad.txt")
            with open(path, "wb") as f:
                f.write(head.encode().replace(b"{obj}", obj).replace(b"{name}", name))
            r = run("inspect", path, check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(want, r.stderr)

    def test_random_forest_leaves_must_be_probabilities(self):
        """rf (average_output) answers the mean of its leaves as the probability itself: a
        classifier leaf outside [0, 1] (a fuzzed file found one) is refused, not served as 1.7."""
        def rf(leaf):
            return ("tree\nversion=v3\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=0\n"
                    "objective=binary sigmoid:1\naverage_output\nfeature_names=a\nfeature_infos=[-5:5]\n\n"
                    "Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nthreshold=0.5\ndecision_type=2\n"
                    f"left_child=-1\nright_child=-2\nleaf_value=0.25 {leaf}\nshrinkage=1\n\n"
                    "end of trees\n\npandas_categorical:null\n")
        model = os.path.join(self.dir, "rf.txt")
        with open(model, "w") as f:
            f.write(rf(0.75))
        self.assertEqual(self.predict(model, [[0.0], [1.0]], 1), [[0.25], [0.75]])
        with open(model, "w") as f:
            f.write(rf(1.7))
        p = run("inspect", model, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("tree 0: leaf value 1.7 is not a probability", p.stderr)

    def test_every_numeric_missing_type(self):
        """Hand-made from the model-text format: one tree a decision type (None, Zero, NaN, each
        default way), on values at, around and away from the threshold, 0 and NaN; against the
        reference walker."""
        trees = []
        # zero as missing (4, 6) where 0 goes the default way by its threshold too; the other case is refused below
        for i, (dt, t, t2) in enumerate(((0, 0.25, -1.5), (2, -0.25, -1.5), (4, -0.25, -1.5), (6, 0.25, 1.5),
                                         (8, 0.25, -1.5), (10, -0.25, -1.5))):
            trees.append(f"Tree={i}\nnum_leaves=3\nnum_cat=0\nsplit_feature=0 1\nthreshold={t} {t2}\n"
                         f"decision_type={dt} {dt}\nleft_child=-1 -2\nright_child=1 -3\n"
                         f"leaf_value={i + 1} {10 * (i + 1)} {100 * (i + 1)}\nshrinkage=1\n\n")
        text = ("tree\nversion=v3\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=1\n"
                "objective=regression\nfeature_names=a b\nfeature_infos=[-5:5] [-5:5]\n\n" + "".join(trees) +
                "end of trees\n\npandas_categorical:null\n")
        model = os.path.join(self.dir, "missing.txt")
        with open(model, "w") as f:
            f.write(text)
        values = [float("nan"), 0.0, 0.25, -0.25, 0.2500001, -1.5, -1.4999999, 3.0, -3.0]
        rows = [[a, b] for a in values for b in values]
        got = self.predict(model, rows, 1)
        self.assertAgree(got, [lgb_walk(text, r) for r in rows], "missing types", 1e-9)
        with open(model, "w") as f:
            f.write(text.replace("threshold=-0.25 -1.5\ndecision_type=4 4", "threshold=0.25 -1.5\ndecision_type=4 4"))
        p = run("inspect", model, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("tree 2 node 0: zero as missing sends 0 the other way than its threshold 0.25 does", p.stderr)


@unittest.skipIf(ort_missing(), ort_missing())
class OperatorsTest(unittest.TestCase):
    """One small graph per operator the interpreter runs (tests/oracles/make_ops.py), each
    answering one float a row, against ONNX Runtime on 300 rows around 0, ±1, ±3 and halves."""

    def test_each_operator_agrees_with_onnx_runtime(self):
        d = tempfile.mkdtemp(prefix="tabserve-ops-")
        try:
            subprocess.run([ORACLE_PY, os.path.join(HERE, "oracles", "make_ops.py"), d], check=True)
            names = sorted(f[:-5] for f in os.listdir(d)
                           if f.endswith(".onnx") and not f.startswith(("refused_", "post_", "numpy_")))
            self.assertGreaterEqual(len(names), 35)
            refused = {  # each refused at load, naming why
                "refused_tree_ensemble_targets": "(TreeEnsemble): the answer has 2 columns, the targets of a regressor",
                "refused_recursive_function": "(Again): calls functions more than 8 deep (a function that calls itself?)",
                "refused_function_fan_out": "the graph and its functions hold more than 131072 nodes and calls",
                "refused_many_categories": 'input "S": more than 4096 categories',
                "refused_gather5": "(Gather): its constant index 5 is outside the 4 entries of axis 1",
                "refused_gather_big": f"(Gather): its constant index {2**40} is outside the 4 entries of axis 1",
            }
            for name, message in refused.items():
                p = run("inspect", os.path.join(d, name + ".onnx"), check=False)
                self.assertEqual(p.returncode, 1, name)
                self.assertIn(message, p.stderr)
            for name in names:
                with self.subTest(name):
                    model = os.path.join(d, name + ".onnx")
                    # a graph that fixes a batch of 1: its runtime takes one row a run
                    env = dict(os.environ, ORT_ONE_ROW="1" if name.startswith("one_row") else "0")
                    subprocess.run(["node", os.path.join(HERE, "oracles", "ort_predict.js"), model,
                                    os.path.join(d, "ops.csv"), "Y", model + ".ort"], check=True, capture_output=True,
                                   env=env)
                    out = model + ".out"
                    run("predict", model, "--input", os.path.join(d, "ops.csv"), "--output", out)
                    got = read_csv_numbers(out, 1)
                    want = [r[-1:] for r in read_expected(model + ".ort")]
                    self.assertEqual(len(got), 300)
                    worst = max(abs(g[0] - w[0]) / max(1.0, abs(w[0])) for g, w in zip(got, want))
                    self.assertLessEqual(worst, 1e-5, f"{name}: largest difference {worst}")
            self.check_tree_ensemble_post_transforms(d)
            self.check_half_precision_network(d)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def check_half_precision_network(self, d):
        """A float16 network (input, weights and answer): each answer the float16 value numpy
        computes as ONNX Runtime's CPU provider does (make_ops.py writes them)."""
        out = os.path.join(d, "numpy_half_network.out")
        run("predict", os.path.join(d, "numpy_half_network.onnx"), "--input", os.path.join(d, "ops.csv"),
            "--output", out)
        as_float32 = lambda v: struct.unpack("<f", struct.pack("<f", v))[0]  # the CSV's 9 digits: float32's
        got = [as_float32(r[0]) for r in read_csv_numbers(out, 1)]
        with open(os.path.join(d, "numpy_half_network.expected")) as f:
            want = [float(line) for line in f]
        self.assertEqual(len(got), 300)
        self.assertGreaterEqual(len(set(want)), 50)
        self.assertEqual(got, want)

    def check_tree_ensemble_post_transforms(self, d):
        """TreeEnsemble's post_transform as the ONNX specification numbers it (1 SOFTMAX,
        2 LOGISTIC, 3 SOFTMAX_ZERO), computed here from the two scores of the same ensemble
        without one (whose answer is checked against ONNX Runtime above)."""
        def scores(name):
            out = os.path.join(d, name + ".scores")
            run("predict", os.path.join(d, name + ".onnx"), "--input", os.path.join(d, "ops.csv"), "--output", out)
            return [r[0] for r in read_csv_numbers(out, 1)]
        raw = scores("tree_ensemble_sum")
        self.assertGreaterEqual(len(set(raw)), 5)
        def softmax_zero(a, b):  # a score of exactly 0 keeps probability 0
            e = [0.0 if v == 0 else math.exp(v) for v in (a, b)]
            return e[1] / sum(e) if sum(e) else 0.0
        checks = {"post_tree_ensemble_logistic": lambda a, b: 1 / (1 + math.exp(-b)),
                  "post_tree_ensemble_softmax": lambda a, b: math.exp(b) / (math.exp(a) + math.exp(b)),
                  "post_tree_ensemble_softmax_zero": softmax_zero}
        # the two scores, each checked against ONNX Runtime above
        both = list(zip(scores("tree_ensemble_sum_target0"), raw))
        for name, f in checks.items():
            with self.subTest(name):
                got = scores(name)
                self.assertEqual(len(got), 300)
                for g, (a, b) in zip(got, both):
                    self.assertAlmostEqual(g, f(a, b), delta=1e-6)


if __name__ == "__main__":
    unittest.main(verbosity=2)
