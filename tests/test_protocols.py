#!/usr/bin/env python3
"""The cluster protocols and the model repository, end to end on the real binary:
the Open Inference Protocol (KServe V2, JSON and binary tensors) and TF Serving
REST, every answer -- errors included -- validated against the JSON Schemas in
tests/schemas/ (written from the two specifications), predictions compared with
POST /model's; then the repository: versions, --versions-kept, hot swap under
load with no failed request, a broken version refused while the old one serves,
removal, SIGHUP, and memory per worker with 1 and 20 models.

Needs python3-jsonschema (Debian); the models are the built-in one and a GBT
trained here on a synthetic all-numeric set (the script below makes it)."""
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from serving import BIN, Server, free_port  # noqa: F401

try:
    import jsonschema
except ImportError:
    print("SKIPPED: protocol tests: python3-jsonschema is not installed (apt-get install python3-jsonschema)")
    sys.exit(0)

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = {"Age": 22, "Fare": 7.25, "Embarked": "S", "Sex": "male", "Pclass": 3}
FIRST_CLASS = {"Fare": 71.2833, "Embarked": "C", "Sex": "female", "Pclass": 1}  # Age missing


def load_schemas(name):
    with open(os.path.join(HERE, "schemas", name)) as f:
        doc = json.load(f)
    return {k: {"$schema": doc["$schema"], "$defs": doc["$defs"], "$ref": f"#/$defs/{k}"} for k in doc["$defs"]}


OIP = load_schemas("oip.json")
TFS = load_schemas("tfs.json")





def columns(rows, model_inputs):
    """Rows as V2 column tensors, one per input (None -> null)."""
    types = {"Age": "FP32", "Fare": "FP64", "Sex": "BYTES", "Embarked": "BYTES", "Pclass": "INT64"}
    return [{"name": k, "shape": [len(rows)], "datatype": types[k], "data": [r.get(k) for r in rows]}
            for k in model_inputs]


def make_numeric_model(path, trees=20, seed=1):
    """A GBT on 400 synthetic rows of three numeric inputs (x0 + 2 x1 - x2 > 0), each
    input empty in every 25th row (so that each may be missing in a request)."""
    rng = random.Random(seed)
    csv = path + ".csv"
    with open(csv, "w") as f:
        f.write("x0,x1,x2,y\n")
        for r in range(400):
            x = [rng.gauss(0, 1) for _ in range(3)]
            cells = ["" if r % 25 == 5 + 5 * j else f"{x[j]:.4f}" for j in range(3)]
            f.write(f"{','.join(cells)},{int(x[0] + 2 * x[1] - x[2] > 0)}\n")
    subprocess.run([BIN, "train", csv, "--label", "y", "--numeric", "x0,x1,x2", "--model", "gbt", "--trees",
                    str(trees), "--seed", str(seed), "--threads", "1", "-o", path], check=True,
                   capture_output=True)
    os.unlink(csv)


class Protocols(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tabserve-repo-")
        for name, versions in (("titanic", (1,)), ("numeric", (1,)), ("broken", (1,))):
            for v in versions:
                os.makedirs(f"{cls.dir}/{name}/{v}")
        subprocess.run([BIN, "predict", "--help"], capture_output=True)
        shutil.copy(os.path.join(HERE, "..", "models", "titanic.json"), f"{cls.dir}/titanic/1/model.json")
        make_numeric_model(f"{cls.dir}/numeric/1/gbt.json")
        with open(f"{cls.dir}/broken/1/model.json", "w") as f:
            f.write('{"format": "tabserve-model", "format_version": 2}')
        cls.s = Server("--model-repository", cls.dir, "--default-model", "titanic", "--max-batch", "64")
        _, cls.seed_p = cls.s.json("POST", "/model", SEED)
        _, cls.first_p = cls.s.json("POST", "/model", FIRST_CLASS)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()
        shutil.rmtree(cls.dir)

    def check(self, schema, status, body, want_status):
        self.assertEqual(status, want_status, body)
        jsonschema.validate(body, schema)
        return body

    def error(self, method, path, body, want_status, contains, tfs=False, headers=None):
        status, e = self.s.json(method, path, body, headers)
        self.check((TFS if tfs else OIP)["error"], status, e, want_status)
        self.assertIn(contains, e["error"])
        return e["error"]

    # ---- Open Inference Protocol ----

    def test_health_and_server_metadata(self):
        self.check(OIP["server_live"], *self.s.json("GET", "/v2/health/live"), 200)
        meta = self.check(OIP["server_metadata"], *self.s.json("GET", "/v2"), 200)
        # errors the router and the transport decide take the protocol's own shape on its routes
        for method, path, status in (("GET", "/v2/nowhere", 404), ("DELETE", "/v2/models/titanic/infer", 405),
                                     ("GET", "/v1/models/titanic:nothing", 404)):
            code, body = self.s.json(method, path)
            self.assertEqual(code, status, body)
            self.assertIsInstance(body["error"], str, body)
        self.assertEqual(self.s.json("GET", "/v2/"), (200, meta))  # the OpenAPI document's own path
        self.assertEqual(meta["name"], "tabserve")
        self.assertIn("binary_tensor_data", meta["extensions"])
        # one model of three has no version that loads: the server is not ready
        e = self.error("GET", "/v2/health/ready", None, 503, "model broken has no version ready")
        self.assertEqual(self.s.request("GET", "/readyz")[0], 503, e)

    def test_model_metadata_and_readiness(self):
        for path in ("/v2/models/titanic", "/v2/models/titanic/versions/1"):
            meta = self.check(OIP["model_metadata"], *self.s.json("GET", path), 200)
            self.assertEqual(meta["name"], "titanic")
            self.assertEqual(meta["versions"], ["1"])
            self.assertEqual([(t["name"], t["datatype"], t["shape"]) for t in meta["inputs"]],
                             [("Age", "FP32", [-1]), ("Fare", "FP32", [-1]), ("Sex", "BYTES", [-1]),
                              ("Embarked", "BYTES", [-1]), ("Pclass", "INT64", [-1])])
            self.assertEqual(meta["outputs"], [{"name": "predict", "datatype": "FP32", "shape": [-1]}])
        ready = self.check(OIP["model_ready"], *self.s.json("GET", "/v2/models/numeric/ready"), 200)
        self.assertEqual(ready["name"], "numeric")
        self.error("GET", "/v2/models/broken/ready", None, 503, "model broken has no version ready")
        self.error("GET", "/v2/models/nope", None, 404, 'no model named "nope"; models: broken, numeric, titanic')
        self.error("GET", "/v2/models/titanic/versions/7", None, 404, "model titanic has no version 7; versions: 1")
        self.error("GET", "/v2/models/titanic/versions/x1", None, 400, 'version "x1" of model titanic is not a positive integer')

    def test_infer_columns_equal_post_model(self):
        body = {"id": "q-1", "inputs": columns([SEED, FIRST_CLASS], ["Age", "Fare", "Sex", "Embarked", "Pclass"])}
        r = self.check(OIP["inference_response"], *self.s.json("POST", "/v2/models/titanic/infer", body), 200)
        self.assertEqual(r["model_name"], "titanic")
        self.assertEqual(r["model_version"], "1")
        self.assertEqual(r["id"], "q-1")
        self.assertEqual(r["outputs"], [{"name": "predict", "datatype": "FP32", "shape": [2],
                                         "data": [self.seed_p["predict"], self.first_p["predict"]]}])
        # [n, 1] shapes with nested data, an absent input (missing values), the output asked for by name
        nested = [dict(t, shape=[2, 1], data=[[v] for v in t["data"]]) for t in body["inputs"] if t["name"] != "Age"]
        r = self.check(OIP["inference_response"],
                       *self.s.json("POST", "/v2/models/titanic/versions/1/infer",
                                    {"inputs": nested, "outputs": [{"name": "predict"}]}), 200)
        _, want = self.s.json("POST", "/model", [dict(SEED, Age=None), FIRST_CLASS])
        self.assertEqual(r["outputs"][0]["data"], want["predict"])
        self.assertRegex(r["id"], r"^[0-9]+-[0-9]+$")  # none sent: one made (KServe's response requires it)

    def test_infer_one_matrix_for_a_numeric_model(self):
        rows = [[0.5, -1.0, 0.25], [1.5, 2.0, -0.5], [0.0, 0.0, 0.0]]
        want = [self.s.json("POST", "/v2/models/numeric/infer", {"inputs": [
            {"name": n, "shape": [1], "datatype": "FP32", "data": [row[i]]} for i, n in enumerate(("x0", "x1", "x2"))
        ]})[1]["outputs"][0]["data"][0] for row in rows]
        for data in ([v for row in rows for v in row], rows):  # flat and nested
            r = self.check(OIP["inference_response"], *self.s.json("POST", "/v2/models/numeric/infer", {
                "inputs": [{"name": "input", "shape": [3, 3], "datatype": "FP32", "data": data}]}), 200)
            self.assertEqual(r["outputs"][0]["data"], want)
        # the same through TF Serving, rows and columns
        _, p = self.s.json("POST", "/v1/models/numeric:predict",
                           {"instances": [dict(zip(("x0", "x1", "x2"), row)) for row in rows]})
        self.assertEqual(p, {"predictions": want})
        # and TF Serving's one-tensor forms: rows as lists, the columns as one matrix, by any name
        for body, key in (({"instances": rows}, "predictions"), ({"inputs": rows}, "outputs"),
                          ({"inputs": {"float_input": rows}}, "outputs")):
            self.assertEqual(self.s.json("POST", "/v1/models/numeric:predict", body), (200, {key: want}), body)
        self.error("POST", "/v1/models/numeric:predict", {"instances": [[1.0, 2.0]]}, 400,
                   "$.instances[0]: a row of 2 values, but the model has 3 inputs (x0, x1, x2)", tfs=True)
        self.error("POST", "/v1/models/titanic:predict", {"instances": [[22, 7.25, "male", "S", 3]]}, 400,
                   "$.instances[0]: expected an object keyed by input name, got an array", tfs=True)
        # the titanic model has string inputs: no matrix form
        self.error("POST", "/v2/models/titanic/infer",
                   {"inputs": [{"name": "input", "shape": [1, 5], "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]}, 400,
                   '$.inputs[0].name: the model has no input "input"; its inputs: Age, Fare, Sex, Embarked, Pclass')

    def test_an_infinity_is_a_value_for_trees_and_refused_by_an_mlp(self):
        """Trees compare an infinity as a number past every threshold: it answers as
        1e30 does, through V2 (JSON and binary) and TF Serving's bare tokens. The
        titanic model's MLP has no answer for one: a 400 naming the input."""
        inf = float("inf")
        for value, same in ((inf, 1e30), (-inf, -1e30)):
            rows = [[value, 0.5, -0.25], [same, 0.5, -0.25]]
            r = self.check(OIP["inference_response"], *self.s.json("POST", "/v2/models/numeric/infer", {
                "inputs": [{"name": "input", "shape": [2, 3], "datatype": "FP64", "data": rows}]}), 200)
            got = r["outputs"][0]["data"]
            self.assertEqual(got[0], got[1])
            h = json.dumps({"inputs": [{"name": "input", "shape": [2, 3], "datatype": "FP32",
                                        "parameters": {"binary_data_size": 24}}]}).encode()
            status, _, data = self.s.request("POST", "/v2/models/numeric/infer",
                                             h + struct.pack("<6f", *rows[0], *rows[1]),
                                             {"Inference-Header-Content-Length": str(len(h))})
            self.assertEqual((status, json.loads(data)["outputs"][0]["data"]), (200, got), data)
            text = json.dumps({"instances": [dict(zip(("x0", "x1", "x2"), row)) for row in rows]})
            self.assertIn("Infinity", text)
            self.assertEqual(self.s.json("POST", "/v1/models/numeric:predict", text), (200, {"predictions": got}))
        self.assertEqual(self.error("POST", "/v1/models/titanic:predict", json.dumps(
            {"instances": [dict(SEED, Fare=-inf)]}), 400, "Fare", tfs=True),
            "$.instances[0].Fare: this model has no answer for an infinity (its blend predictor computes with "
            "the value; trees and linear models take one): send a finite number")

    def test_infer_binary_tensors(self):
        header = {"inputs": [
            {"name": "Age", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},
            {"name": "Fare", "shape": [2], "datatype": "FP64", "parameters": {"binary_data_size": 16}},
            {"name": "Sex", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 18}},
            {"name": "Embarked", "shape": [2], "datatype": "BYTES", "data": ["S", "C"]},
            {"name": "Pclass", "shape": [2], "datatype": "INT32", "parameters": {"binary_data_size": 8}}],
            "outputs": [{"name": "predict", "parameters": {"binary_data": True}}]}
        h = json.dumps(header).encode()
        blob = (struct.pack("<2f", 22, float("nan")) + struct.pack("<2d", 7.25, 71.2833) + struct.pack("<I", 4) +
                b"male" + struct.pack("<I", 6) + b"female" + struct.pack("<2i", 3, 1))
        status, headers, data = self.s.request("POST", "/v2/models/titanic/infer", h + blob, {
            "Inference-Header-Content-Length": str(len(h)), "Content-Type": "application/octet-stream"})
        self.assertEqual(status, 200, data)
        self.assertEqual(headers["Content-Type"], "application/octet-stream")
        n = int(headers["Inference-Header-Content-Length"])
        meta = json.loads(data[:n])
        jsonschema.validate(meta, OIP["inference_response"])
        self.assertEqual(meta["outputs"][0]["parameters"], {"binary_data_size": 8})
        got = struct.unpack("<2f", data[n:])
        want = [struct.unpack("<f", struct.pack("<f", p))[0] for p in (self.seed_p["predict"], self.first_p["predict"])]
        self.assertEqual(list(got), want)
        # JSON in, binary out for every output (binary_data_output)
        body = {"inputs": columns([SEED], ["Age", "Fare", "Sex", "Embarked", "Pclass"]),
                "parameters": {"binary_data_output": True}}
        status, headers, data = self.s.request("POST", "/v2/models/titanic/infer", json.dumps(body),
                                               {"Content-Type": "application/json"})
        n = int(headers["Inference-Header-Content-Length"])
        self.assertEqual(struct.unpack("<f", data[n:])[0], want[0])
        # framing errors name the tensor and the bytes
        self.error("POST", "/v2/models/titanic/infer", h + blob[:-1], 400,
                   "$.inputs[4].parameters.binary_data_size: 8 bytes, but only 7 binary bytes are left",
                   headers={"Inference-Header-Content-Length": str(len(h)), "Content-Type": "application/octet-stream"})
        self.error("POST", "/v2/models/titanic/infer", h + blob + b"xx", 400,
                   "2 bytes after the JSON header belong to no tensor",
                   headers={"Inference-Header-Content-Length": str(len(h)), "Content-Type": "application/octet-stream"})
        self.error("POST", "/v2/models/titanic/infer", h + blob, 400, "Inference-Header-Content-Length",
                   headers={"Inference-Header-Content-Length": "99999", "Content-Type": "application/octet-stream"})

    def test_infer_errors_name_the_place(self):
        url = "/v2/models/titanic/infer"
        cases = [
            ("{\"inputs\": [", 400, "malformed JSON at byte"),
            ([], 400, "$: expected an inference request object"),
            ({"inputs": []}, 400, "$.inputs: expected a non-empty array of tensors, got an empty array"),
            ({"inputs": [{"name": "Fare", "shape": [1], "datatype": "FP32", "data": [7.25]},
                         {"name": "Sex", "shape": [1], "datatype": "BYTES", "data": ["robot"]}]}, 400,
             '$.inputs[1].data[0].Sex: unknown category "robot"; accepted values: "female", "male"'),
            # values out of their declared datatype's range: refused, never scored as the number sent
            ({"inputs": [{"name": "Pclass", "shape": [1], "datatype": "INT8", "data": [1000]}]}, 400,
             "$.inputs[0].data[0]: 1000 is out of the range of INT8"),
            ({"inputs": [{"name": "Pclass", "shape": [1], "datatype": "UINT8", "data": [300]}]}, 400,
             "$.inputs[0].data[0]: 300 is out of the range of UINT8"),
            ({"inputs": [{"name": "Age", "shape": [1], "datatype": "FP32", "data": [1e300]}]}, 400,
             "$.inputs[0].data[0]: 1.0000000000000001e+300 is out of the range of FP32"),
            # an input never missing in training is required: no answer without it
            ({"inputs": [{"name": "Age", "shape": [1], "datatype": "FP32", "data": [22]}]}, 400,
             'missing required field "Fare"'),
            ({"inputs": [{"name": "Fare ", "shape": [1], "datatype": "FP32", "data": [7.25]}]}, 400,
             'the model has no input "Fare "'),
            ({"inputs": [{"name": "Age", "shape": [1], "datatype": "FP32", "data": ["22"]}]}, 400,
             "$.inputs[0].data[0]: expected a number (FP32), got a string"),
            ({"inputs": [{"name": "Pclass", "shape": [1], "datatype": "INT64", "data": [1.5]}]}, 400,
             "$.inputs[0].data[0]: expected an integer (INT64), got a number"),
            ({"inputs": [{"name": "Age", "shape": [2], "datatype": "FP32", "data": [1]}]}, 400,
             "$.inputs[0].data: 1 elements, but the shape holds 2"),
            ({"inputs": [{"name": "Age", "shape": [1], "datatype": "FP16", "data": [1]}]}, 400,
             '$.inputs[0].datatype: "FP16" is not supported'),
            ({"inputs": [{"name": "Age", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}, 400,
             "$.inputs[0].shape: input Age is one column: [rows] or [rows, 1], not [1, 2]"),
            ({"inputs": [{"name": "Age", "shape": [1], "datatype": "FP32", "data": [1]},
                         {"name": "Fare", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}, 400,
             "$.inputs[1].shape: 2 rows, but $.inputs[0] has 1"),
            ({"inputs": [{"name": "Age", "shape": [1], "datatype": "FP32", "data": [1]},
                         {"name": "Age", "shape": [1], "datatype": "FP32", "data": [1]}]}, 400,
             'input "Age" is sent twice'),
            ({"inputs": [{"name": "Age", "shape": [1], "datatype": "FP32", "data": [1e39]}]}, 400,
             "$.inputs[0].data[0]: 9.9999999999999994e+38 is out of the range of FP32"),
            ({"inputs": [{"name": "Age", "shape": [1], "datatype": "FP32", "data": [1]}],
              "outputs": [{"name": "proba"}]}, 400, '$.outputs[0].name: the model has no output "proba"'),
            ({"id": 7, "inputs": [{"name": "Age", "shape": [1], "datatype": "FP32", "data": [1]}]}, 400,
             "$.id: expected a string"),
            ({"inputs": [{"name": "Age", "shape": [65], "datatype": "FP32", "data": [1] * 65}]}, 413,
             "65 rows is over the limit of 64 (--max-batch)"),
        ]
        for body, status, message in cases:
            with self.subTest(message=message):
                self.error("POST", url, body, status, message)
        self.error("POST", url, "{}", 415, "Content-Type must be application/json",
                   headers={"Content-Type": "text/plain"})
        self.error("POST", "/v2/models/broken/infer", {"inputs": []}, 503, "model broken has no version ready")
        self.error("POST", "/v2/models/titanic/versions/2/infer", {"inputs": []}, 404, "model titanic has no version 2")
        status, _, body = self.s.request("GET", url)
        self.assertEqual(status, 405, body)

    # ---- TF Serving ----

    def test_tfs_status_and_metadata(self):
        st = self.check(TFS["version_status"], *self.s.json("GET", "/v1/models/titanic"), 200)
        self.assertEqual(st["model_version_status"], [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}])
        self.check(TFS["version_status"], *self.s.json("GET", "/v1/models/titanic/versions/1"), 200)
        st = self.check(TFS["version_status"], *self.s.json("GET", "/v1/models/broken"), 200)
        self.assertEqual(st["model_version_status"][0]["state"], "END")
        self.assertIn("broken/1/model.json", st["model_version_status"][0]["status"]["error_message"])
        meta = self.check(TFS["metadata"], *self.s.json("GET", "/v1/models/titanic/metadata"), 200)
        sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
        self.assertEqual({k: v["dtype"] for k, v in sig["inputs"].items()},
                         {"Age": "DT_FLOAT", "Fare": "DT_FLOAT", "Sex": "DT_STRING", "Embarked": "DT_STRING",
                          "Pclass": "DT_INT64"})
        self.assertEqual(meta["model_spec"], {"name": "titanic", "signature_name": "", "version": "1"})
        self.error("GET", "/v1/models/nope", None, 404, 'no model named "nope"', tfs=True)
        self.error("GET", "/v1/models/titanic/versions/3/metadata", None, 404, "has no version 3", tfs=True)

    def test_compressed_request_bodies(self):
        """Content-Encoding gzip and deflate (zlib or raw), as Triton's client sends them, decoded
        under --limit-request-body: the same answer as the plain body; a small body inflating past
        the limit is a 413 found while inflating; a damaged one a 400; another coding a 415 — each in
        the protocol's error shape."""
        import gzip
        import zlib
        body = json.dumps({"inputs": [{"name": "Sex", "shape": [1], "datatype": "BYTES", "data": ["male"]},
                                      {"name": "Pclass", "shape": [1], "datatype": "INT64", "data": [3]},
                                      {"name": "Fare", "shape": [1], "datatype": "FP32", "data": [7.25]}]}).encode()
        url = "/v2/models/titanic/infer"
        plain = self.s.request("POST", url, body, headers={"Content-Type": "application/json"})
        self.assertEqual(plain[0], 200)
        raw = zlib.compressobj(wbits=-15)
        for coding, data in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body)),
                             ("deflate", raw.compress(body) + raw.flush()), ("GZIP", gzip.compress(body))):
            status, _, answer = self.s.request("POST", url, data, headers={"Content-Type": "application/json",
                                                                             "Content-Encoding": coding})
            self.assertEqual(status, 200, answer)
            self.assertEqual(json.loads(answer)["outputs"], json.loads(plain[2])["outputs"])
        bomb = gzip.compress(b" " * (4 << 20))  # a few kB that decode to 4 MB: past the 1 MB default
        for data, coding, status, words in ((bomb, "gzip", 413, "decodes to more than 1048576 bytes (--limit-request-body)"),
                                            (gzip.compress(body)[:-6], "gzip", 400, "the compressed body ends early"),
                                            (b"\x00\x01garbage", "deflate", 400, "damaged"),
                                            (body, "br", 415, "Content-Encoding br is not one tabserve decodes")):
            code, _, answer = self.s.request("POST", url, data, headers={"Content-Type": "application/json",
                                                                           "Content-Encoding": coding})
            self.assertEqual(code, status, answer)
            self.assertIn(words, json.loads(answer)["error"])

    def test_tfs_predict_rows_and_columns(self):
        r = self.check(TFS["predict_rows"], *self.s.json("POST", "/v1/models/titanic:predict",
                                                          {"instances": [SEED, FIRST_CLASS]}), 200)
        self.assertEqual(r["predictions"], [self.seed_p["predict"], self.first_p["predict"]])
        cols = {k: [SEED.get(k), FIRST_CLASS.get(k)] for k in SEED}
        r = self.check(TFS["predict_columns"], *self.s.json("POST", "/v1/models/titanic/versions/1:predict",
                                                             {"signature_name": "serving_default", "inputs": cols}),
                       200)
        self.assertEqual(r["outputs"], [self.seed_p["predict"], self.first_p["predict"]])
        # TF Serving reads the body whatever its Content-Type: its document's `curl -d` sends a form type
        status, _, body = self.s.request("POST", "/v1/models/titanic:predict", json.dumps({"instances": [SEED]}),
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((status, json.loads(body)["predictions"]), (200, [self.seed_p["predict"]]))
        for body, status, message in [
            ({"instances": [SEED], "inputs": cols}, 400, 'send exactly one of "instances" (rows) or "inputs"'),
            ({"instances": [dict(SEED, Sex="robot")]}, 400, '$.instances[0].Sex: unknown category "robot"'),
            ({"instances": [1.0]}, 400, "$.instances[0]: expected an object keyed by input name, got a number"),
            ({"inputs": {"Age": [1, 2], "Fare": [1]}}, 400, "$.inputs.Fare: 1 values, but another input has 2"),
            ({"inputs": {"Agee": [1]}}, 400, "$.inputs.Agee: the model has no input of that name"),
            ({"instances": [SEED], "signature_name": "other"}, 400, "$.signature_name"),
            ({"instances": [SEED] * 65}, 413, "65 rows is over the limit of 64"),
            ("[1", 400, "malformed JSON"),
        ]:
            with self.subTest(message=message):
                self.error("POST", "/v1/models/titanic:predict", body, status, message, tfs=True)
        self.error("POST", "/v1/models/broken:predict", {"instances": [SEED]}, 503, "has no version ready", tfs=True)

    def test_explanations_of_a_trained_gbt_and_the_mlp(self):
        """Explanations through both routes: the GBT trained here by TreeSHAP over its
        own covers, the default MLP against its background; base + contributions =
        margin, the margin's sigmoid the prediction."""
        rows = [{"x0": 0.5, "x1": -1.0, "x2": 0.25}, {"x0": None, "x1": 2.0, "x2": -0.5}]
        status, r = self.s.json("POST", "/v1/models/numeric:explain", {"instances": rows})
        self.assertEqual(status, 200, r)
        _, p = self.s.json("POST", "/v1/models/numeric:predict", {"instances": rows})
        for e, want in zip(r["explanations"], p["predictions"]):
            self.assertEqual(e["method"], "tree_path_dependent")
            self.assertEqual(sorted(e["contributions"]), ["x0", "x1", "x2"])
            self.assertLess(abs(e["base"] + sum(e["contributions"].values()) - e["margin"]), 1e-5)
            self.assertLess(abs(1 / (1 + math.exp(-e["margin"])) - want), 1e-6)
        status, e = self.s.json("POST", "/model/explain", SEED)
        self.assertEqual((status, e["method"], e["predict"]), (200, "interventional", self.seed_p["predict"]))
        status, batch = self.s.json("POST", "/model/explain", [SEED, FIRST_CLASS])
        self.assertEqual([x["predict"] for x in batch["explanations"]], [self.seed_p["predict"], self.first_p["predict"]])
        self.error("POST", "/v1/models/numeric:explain", {"instances": [{"x0": "a"}]}, 400, "$.instances[0].x0", tfs=True)

    def test_metrics_carry_model_and_version(self):
        self.s.json("POST", "/v2/models/numeric/infer", {"inputs": [
            {"name": "x0", "shape": [2], "datatype": "FP32", "data": [1, 2]}]})
        _, _, text = self.s.request("GET", "/metrics")
        text = text.decode()
        self.assertRegex(text, r'tabserve_model_requests_total\{model="numeric",version="1",status="200"\} [1-9]')
        before = int(re.search(r'tabserve_model_predictions_total\{model="numeric",version="1"\} (\d+)', text)[1])
        self.s.json("POST", "/v1/models/numeric:predict", {"instances": [{"x0": 1}, {"x0": 2}, {"x0": 3}]})
        _, _, again = self.s.request("GET", "/metrics")
        self.assertIn(f'tabserve_model_predictions_total{{model="numeric",version="1"}} {before + 3}\n', again.decode())
        self.assertIn('tabserve_model_load_failures_total{model="broken",version="1"} 1', text)
        self.assertIn('tabserve_model_loads_total{model="titanic",version="1"} 1', text)
        self.assertIn('tabserve_model_info{model="broken",version="1",hash=""} 0', text)
        self.assertIn('route="/v2/models/{model}[/versions/{version}]/infer"', text)


class Repository(unittest.TestCase):
    """Versions come and go on disk while the server runs."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tabserve-repo-")
        self.models = tempfile.mkdtemp(prefix="tabserve-models-")
        for trees in (5, 10, 15):  # three distinguishable versions of one model
            make_numeric_model(f"{self.models}/gbt{trees}.json", trees=trees)

    def tearDown(self):
        shutil.rmtree(self.dir)
        shutil.rmtree(self.models)

    def put_version(self, name, version, source):
        """As a user should: write beside, then rename the version directory into place."""
        tmp = f"{self.dir}/{name}/.incoming-{version}"
        os.makedirs(tmp)
        shutil.copy(source, f"{tmp}/model.json")
        os.rename(tmp, f"{self.dir}/{name}/{version}")

    def served_version(self, s, name="m"):
        status, r = s.json("POST", f"/v2/models/{name}/infer",
                           {"inputs": [{"name": "x0", "shape": [1], "datatype": "FP32", "data": [0.5]}]})
        return r.get("model_version") if status == 200 else None

    def wait_for(self, what, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if what():
                return True
            time.sleep(0.05)
        return False

    def test_hot_swap_under_load_loses_nothing(self):
        self.put_version("m", 1, f"{self.models}/gbt5.json")
        s = Server("--model-repository", self.dir, "--repository-poll", "0.2", workers=2)
        try:
            self.assertEqual(self.served_version(s), "1")
            failures, done, stop = [], [0], threading.Event()
            body = json.dumps({"inputs": [{"name": "x0", "shape": [1], "datatype": "FP32", "data": [0.5]}]})

            def load():
                c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
                while not stop.is_set():
                    try:
                        c.request("POST", "/v2/models/m/infer", body, {"Content-Type": "application/json"})
                        r = c.getresponse()
                        r.read()
                        if r.status != 200:
                            failures.append(r.status)
                        if r.getheader("Connection") == "close":
                            c.close()
                        done[0] += 1
                    except Exception as e:  # a dropped connection is a failed request
                        failures.append(repr(e))
                        c.close()
                c.close()

            threads = [threading.Thread(target=load) for _ in range(8)]
            for t in threads:
                t.start()
            self.assertTrue(self.wait_for(lambda: done[0] >= 20), "the clients answered")
            self.put_version("m", 2, f"{self.models}/gbt10.json")  # a new version: swapped in
            self.assertTrue(self.wait_for(lambda: self.served_version(s) == "2"), s.errors())
            os.makedirs(f"{self.dir}/m/3")  # a broken one: refused, version 2 keeps serving
            with open(f"{self.dir}/m/3/model.json", "w") as f:
                f.write("{")
            self.assertTrue(self.wait_for(lambda: "model m version 3 refused" in s.errors()), s.errors())

            def states():
                status, st = s.json("GET", "/v1/models/m")
                return [(v["version"], v["state"]) for v in st["model_version_status"]] if status == 200 else []

            # the master logs the refusal while it loads; the workers serving the new
            # repository (version 3 listed as refused) come after
            self.assertTrue(self.wait_for(lambda: ("3", "END") in states()), states())
            answered = done[0]  # the clients go on through the swap and after it
            self.assertTrue(self.wait_for(lambda: done[0] >= answered + 20), "the clients answered after it")
            stop.set()
            for t in threads:
                t.join()
            self.assertEqual(failures, [], f"{len(failures)} failed of {done[0]}")
            self.assertGreater(done[0], 100)
            self.assertEqual(self.served_version(s), "2")
            _, st = s.json("GET", "/v1/models/m")
            jsonschema.validate(st, TFS["version_status"])
            self.assertEqual([(v["version"], v["state"]) for v in st["model_version_status"]],
                             [("3", "END"), ("2", "AVAILABLE")])
            self.assertIn("model.json", st["model_version_status"][0]["status"]["error_message"])
            status, e = s.json("GET", "/v2/models/m/versions/3/ready")
            self.assertEqual(status, 503)
            jsonschema.validate(e, OIP["error"])
            self.assertEqual(s.request("GET", "/v2/models/m/versions/1/ready")[0], 404)  # retired (--versions-kept 1)
            # removed versions stop being served: without 3 and 2, version 1 is back
            shutil.rmtree(f"{self.dir}/m/3")
            shutil.rmtree(f"{self.dir}/m/2")
            self.assertTrue(self.wait_for(lambda: self.served_version(s) == "1"), s.errors())
            self.assertEqual(s.request("GET", "/v2/models/m/versions/2")[0], 404)
        finally:
            s.stop()

    def test_versions_kept_sighup_and_new_models(self):
        self.put_version("m", 1, f"{self.models}/gbt5.json")
        self.put_version("m", 2, f"{self.models}/gbt10.json")
        s = Server("--model-repository", self.dir, "--repository-poll", "0", "--versions-kept", "2", workers=1)
        try:
            _, meta = s.json("GET", "/v2/models/m")
            self.assertEqual(meta["versions"], ["2", "1"])
            self.assertEqual(self.served_version(s), "2")
            for v in ("1", "2"):
                status, r = s.json("POST", f"/v2/models/m/versions/{v}/infer",
                                   {"inputs": [{"name": "x0", "shape": [1], "datatype": "FP32", "data": [0.5]}]})
                self.assertEqual((status, r["model_version"]), (200, v))
            # with polling off, a new model appears on SIGHUP, not before
            self.put_version("other", 4, f"{self.models}/gbt15.json")
            time.sleep(0.5)
            self.assertEqual(s.request("GET", "/v2/models/other")[0], 404)
            s.proc.send_signal(signal.SIGHUP)
            self.assertTrue(self.wait_for(lambda: self.served_version(s, "other") == "4"), s.errors())
            _, _, text = s.request("GET", "/metrics")
            self.assertIn('tabserve_model_loads_total{model="other",version="4"} 1', text.decode())
            # the unchanged versions were not loaded again
            self.assertIn('tabserve_model_loads_total{model="m",version="1"} 1', text.decode())
        finally:
            s.stop()

    def test_a_rewrite_in_place_never_takes_the_model_offline(self):
        """The only version's file rewritten in place, slowly: while the new bytes do not
        load, the copy loaded before answers every request (never a 503); once they do,
        the new model answers."""
        def answer(s):
            status, r = s.json("POST", "/v2/models/m/infer",
                               {"inputs": [{"name": "x0", "shape": [1], "datatype": "FP32", "data": [0.5]}]})
            return status, (r["outputs"][0]["data"][0] if status == 200 else r)
        self.put_version("m", 1, f"{self.models}/gbt5.json")
        s = Server("--model-repository", self.dir, "--repository-poll", "0.1", workers=2)
        try:
            status, old = answer(s)
            self.assertEqual(status, 200)
            with open(f"{self.models}/gbt15.json", "rb") as f:
                new_bytes = f.read()
            path = f"{self.dir}/m/1/model.json"
            with open(path, "r+b") as f:  # `> model.json` then a slow write
                f.truncate(0)
                for piece in range(0, len(new_bytes) // 2, len(new_bytes) // 20):
                    f.write(new_bytes[piece:piece + len(new_bytes) // 20])
                    f.flush()
                    os.utime(path)
                    deadline = time.monotonic() + 0.25  # past a poll: the partial file is seen
                    while time.monotonic() < deadline:
                        self.assertEqual(answer(s), (200, old))
                f.seek(0)
                f.truncate(0)
                f.write(new_bytes)
            self.assertTrue(self.wait_for(lambda: answer(s)[1] != old), s.errors())
            self.assertEqual(answer(s)[0], 200)
            self.assertIn("its file changed and the new one is refused", s.errors())
        finally:
            s.stop()

    def test_nothing_of_the_servers_files_reaches_a_client(self):
        """A version that is a link out of the repository (to /etc/passwd) is refused, never
        read; a file that is no model is refused in words: no file bytes and no server path
        in GET /v1/models/{m} (the error log keeps the path)."""
        self.put_version("m", 1, f"{self.models}/gbt5.json")
        os.makedirs(f"{self.dir}/leak/1")
        os.symlink("/etc/passwd", f"{self.dir}/leak/1/model.json")
        os.makedirs(f"{self.dir}/junk/1")
        with open(f"{self.dir}/junk/1/model.bin", "wb") as f:
            f.write(b"root:x:0:0:root:/root:/bin/bash\n")
        s = Server("--model-repository", self.dir, "--default-model", "m", workers=1)
        try:
            for name, words in (("leak", "model.json is a link out of the model repository: refused"),
                                ("junk", "junk/1/model.bin: not a tabserve model, an XGBoost model (JSON or UBJSON), a LightGBM")):
                status, body = s.json("GET", f"/v1/models/{name}")
                text = json.dumps(body)
                self.assertIn(words, text, name)
                for secret in ("root", "72 6f 6f 74", os.path.realpath(self.dir), self.dir, "/bin/bash"):
                    self.assertNotIn(secret, text, name)
            self.assertEqual(self.served_version(s), "1")  # the rest serves
        finally:
            s.stop()

    def test_memory_per_worker_does_not_grow_with_models(self):
        """Models load in the master before fork: each worker's own (private)
        memory is the same with 1 model and with 20; only the shared part grows."""
        big = f"{self.models}/big.json"
        make_numeric_model(big, trees=400)
        private = {}
        for n in (1, 20):
            shutil.rmtree(self.dir)
            for i in range(n):
                self.put_version(f"m{i:02d}", 1, big)
            s = Server("--model-repository", self.dir, workers=2)
            try:
                for i in range(n):  # every model answers in every worker's reach
                    for _ in range(4):
                        self.assertIsNotNone(self.served_version(s, f"m{i:02d}"))
                kids = subprocess.run(["pgrep", "-P", str(s.proc.pid)], capture_output=True, text=True).stdout.split()
                kb, pss = [], []
                for pid in kids:
                    with open(f"/proc/{pid}/smaps_rollup") as f:
                        fields = {line.split(":")[0]: int(line.split()[1]) for line in f if line.endswith("kB\n")}
                    kb.append(fields["Private_Clean"] + fields["Private_Dirty"])
                    pss.append(fields["Pss"])
                private[n] = max(kb)
                print(f"\n  {n} model(s) of {os.path.getsize(big) // 1024} kB, 2 workers: per worker PSS "
                      f"{max(pss)} kB, private {max(kb)} kB", file=sys.stderr)
            finally:
                s.stop()
        size_kb = os.path.getsize(big) // 1024
        # 19 more copies would add 19 x the model in every worker; allow 2 MB of noise
        self.assertLess(private[20] - private[1], 2048, f"private kB per worker: {private}, model file {size_kb} kB")


if __name__ == "__main__":
    unittest.main(verbosity=2)
