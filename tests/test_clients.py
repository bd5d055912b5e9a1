#!/usr/bin/env python3
"""The cluster protocols spoken with software nobody here wrote: Triton's own
Python HTTP client (tritonclient.http, BSD-3, read unmodified from
../shared/clients/tritonclient), every call it has, JSON and binary tensors,
compression both ways, errors; then TF Serving's REST document's own examples
(../shared/specs/tfserving/api_rest.md) as written, and its JSON extensions; and every
answer of the Open Inference Protocol validated against its own OpenAPI document.

Needs Debian's python3-numpy, python3-geventhttpclient, python3-rapidjson and
python3-gevent (SKIPPED with the reason when one is missing). Predictions are
compared with POST /model's for the same passengers on the same server."""
import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

from serving import BIN, Server, free_port, titanic_repository  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.abspath(os.path.join(HERE, "..", "..", "shared", "clients", "tritonclient"))
SPECS = os.path.abspath(os.path.join(HERE, "..", "..", "shared", "specs"))

missing = []
for module, package in (("numpy", "python3-numpy"), ("geventhttpclient", "python3-geventhttpclient"),
                        ("rapidjson", "python3-rapidjson"), ("gevent", "python3-gevent")):
    try:
        __import__(module)
    except ImportError:
        missing.append(package)
if missing and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and \
        os.path.exists("/usr/bin/python3"):
    # another python3 first on PATH (pyenv): Debian's packages live in Debian's Python
    os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
if not os.path.isdir(CLIENTS):
    print(f"SKIPPED: client tests: Triton's client is not at {CLIENTS}")
    sys.exit(0)
if missing:
    print(f"SKIPPED: client tests: {', '.join(missing)} not installed (apt-get install {' '.join(missing)})")
    sys.exit(0)
sys.path.insert(0, CLIENTS)
import numpy as np  # noqa: E402
import tritonclient.http as triton  # noqa: E402
from tritonclient.utils import InferenceServerException  # noqa: E402

PASSENGERS = [
    {"Age": 22, "Fare": 7.25, "Embarked": "S", "Sex": "male", "Pclass": 3},
    {"Age": 38, "Fare": 71.2833, "Embarked": "C", "Sex": "female", "Pclass": 1},
    {"Fare": 8.05, "Embarked": "Q", "Sex": "female", "Pclass": 3},  # Age missing
]





def titanic_inputs(rows, binary):
    """The passengers as one V2 tensor per input, as a Triton user writes them."""
    columns = [("Age", "FP32", np.float32), ("Fare", "FP64", np.float64), ("Sex", "BYTES", object),
               ("Embarked", "BYTES", object), ("Pclass", "INT64", np.int64)]
    inputs = []
    for name, datatype, dtype in columns:
        if name == "Age" and any("Age" not in r for r in rows):
            values = np.array([r.get("Age", np.nan) for r in rows], dtype=dtype)  # NaN: missing
        elif dtype is object:
            values = np.array([r[name].encode() for r in rows], dtype=object)
        else:
            values = np.array([r[name] for r in rows], dtype=dtype)
        t = triton.InferInput(name, [len(rows)], datatype)
        t.set_data_from_numpy(values, binary_data=binary)
        inputs.append(t)
    return inputs


class TritonClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = titanic_repository("titanic", "spare", prefix="tabserve-clients-")
        cls.s = Server("--model-repository", cls.dir, "--default-model", "titanic", "--model-control-mode",
                       "explicit", "--repository-poll", "0")
        cls.c = triton.InferenceServerClient(f"127.0.0.1:{cls.s.port}")
        cls.want = []
        for p in PASSENGERS:
            status, _, body = cls.s.request("POST", "/model", json.dumps(p), {"Content-Type": "application/json"})
            assert status == 200, body
            cls.want.append(json.loads(body)["predict"])

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.s.stop()
        shutil.rmtree(cls.dir)

    def raises(self, status, contains, call, *args, **kwargs):
        with self.assertRaises(InferenceServerException) as e:
            call(*args, **kwargs)
        self.assertEqual(e.exception.status(), str(status))
        self.assertIsInstance(e.exception.message(), str)  # the protocol's {"error": "..."}
        self.assertIn(contains, e.exception.message())
        return e.exception.message()

    def test_health_and_metadata(self):
        self.assertTrue(self.c.is_server_live())
        self.assertTrue(self.c.is_server_ready())
        self.assertTrue(self.c.is_model_ready("titanic"))
        self.assertTrue(self.c.is_model_ready("titanic", "1"))
        self.assertFalse(self.c.is_model_ready("titanic", "2"))
        self.assertFalse(self.c.is_model_ready("nobody"))
        meta = self.c.get_server_metadata()
        self.assertEqual(meta["name"], "tabserve")
        self.assertEqual(set(meta["extensions"]),
                         {"binary_tensor_data", "model_configuration", "statistics", "model_repository"})
        m = self.c.get_model_metadata("titanic")
        self.assertEqual(m["name"], "titanic")
        self.assertEqual(m["versions"], ["1"])
        self.assertEqual([i["name"] for i in m["inputs"]], ["Age", "Fare", "Sex", "Embarked", "Pclass"])
        self.assertEqual(m["outputs"], [{"name": "predict", "datatype": "FP32", "shape": [-1]}])
        self.raises(404, 'no model named "nobody"', self.c.get_model_metadata, "nobody")

    def test_model_config(self):
        cfg = self.c.get_model_config("titanic")
        self.assertEqual(cfg["name"], "titanic")
        self.assertEqual(cfg["max_batch_size"], 1024)
        self.assertEqual([(i["name"], i["data_type"], i["dims"], i["optional"]) for i in cfg["input"]],
                         [("Age", "TYPE_FP32", [1], True), ("Fare", "TYPE_FP32", [1], False),
                          ("Sex", "TYPE_STRING", [1], False), ("Embarked", "TYPE_STRING", [1], True),
                          ("Pclass", "TYPE_INT64", [1], False)])
        self.assertEqual(cfg["output"][0]["name"], "predict")
        self.assertEqual(cfg["output"][0]["data_type"], "TYPE_FP32")
        self.assertEqual(self.c.get_model_config("titanic", "1"), cfg)
        self.raises(404, "has no version 3", self.c.get_model_config, "titanic", "3")

    def check_infer(self, **kwargs):
        binary = kwargs.pop("binary", True)
        outputs = [triton.InferRequestedOutput("predict", binary_data=binary)]
        r = self.c.infer("titanic", titanic_inputs(PASSENGERS, binary), outputs=outputs, request_id="r-7", **kwargs)
        got = r.as_numpy("predict")
        self.assertEqual(got.dtype, np.float32)
        self.assertEqual(got.shape, (3,))
        for g, w in zip(got, self.want):
            self.assertAlmostEqual(float(g), w, places=6)
        self.assertEqual(r.get_response()["id"], "r-7")
        self.assertEqual(r.get_response()["model_name"], "titanic")
        return r

    def test_infer_json_and_binary_tensors(self):
        self.check_infer(binary=False)
        self.check_infer(binary=True)
        self.check_infer(binary=True, model_version="1")

    def test_infer_compressed_both_ways(self):
        for coding in ("gzip", "deflate"):
            self.check_infer(binary=False, request_compression_algorithm=coding,
                             response_compression_algorithm=coding)
            self.check_infer(binary=True, request_compression_algorithm=coding)

    def test_an_infinity_is_refused_by_the_mlp_naming_the_input(self):
        rows = [dict(PASSENGERS[0], Fare=np.inf)]
        for binary in (False, True):
            self.raises(400, "Fare: this model has no answer for an infinity", self.c.infer, "titanic",
                        titanic_inputs(rows, binary))

    def test_async_infer(self):
        r = self.c.async_infer("titanic", titanic_inputs(PASSENGERS[:1], True)).get_result()
        self.assertAlmostEqual(float(r.as_numpy("predict")[0]), self.want[0], places=6)

    def test_infer_errors_are_strings(self):
        bad = titanic_inputs(PASSENGERS[:1], False)
        bad[2] = triton.InferInput("Sex", [1], "BYTES")
        bad[2].set_data_from_numpy(np.array([b"maile"], dtype=object), binary_data=False)
        self.raises(400, "Sex", self.c.infer, "titanic", bad)
        self.raises(404, 'no model named "nobody"', self.c.infer, "nobody", bad)
        # calls for extensions tabserve does not have: a 404 in the protocol's shape
        self.raises(404, "no route", self.c.get_trace_settings)
        self.raises(404, "no route", self.c.get_log_settings)
        self.raises(404, "no route", self.c.get_system_shared_memory_status)
        self.raises(404, "no route", self.c.get_cuda_shared_memory_status)

    def test_statistics_count_inference_requests(self):
        before = self.c.get_inference_statistics("titanic")["model_stats"][0]
        self.check_infer(binary=True)
        self.raises(400, 'missing required field "Fare"', self.c.infer, "titanic",
                    [titanic_inputs(PASSENGERS[:1], False)[0]])
        after = self.c.get_inference_statistics("titanic", "1")["model_stats"][0]
        self.assertEqual((after["name"], after["version"]), ("titanic", "1"))
        s0, s1 = before["inference_stats"], after["inference_stats"]
        self.assertEqual(s1["success"]["count"] - s0["success"]["count"], 1)
        self.assertEqual(s1["fail"]["count"] - s0["fail"]["count"], 1)
        self.assertGreater(s1["success"]["ns"], s0["success"]["ns"])
        self.assertEqual(after["inference_count"] - before["inference_count"], 3)  # rows
        self.assertGreaterEqual(after["last_inference"], int(time.time() * 1000) - 60000)
        every = self.c.get_inference_statistics()["model_stats"]
        self.assertIn(("titanic", "1"), [(m["name"], m["version"]) for m in every])

    def test_repository_index_load_and_unload(self):
        index = self.c.get_model_repository_index()
        self.assertIn({"name": "spare", "version": "1", "state": "READY"}, index)
        self.c.unload_model("spare")
        self.assertFalse(self.c.is_model_ready("spare"))
        self.assertTrue(self.c.is_server_ready())  # an unloaded model does not make the server unready
        self.assertIn({"name": "spare", "state": "UNLOADED", "reason": "unloaded through the repository API"},
                      self.c.get_model_repository_index())
        self.raises(404, "model spare is unloaded", self.c.get_model_config, "spare")
        self.c.load_model("spare")
        self.assertTrue(self.c.is_model_ready("spare"))
        self.raises(404, 'no model directory named "ghost"', self.c.load_model, "ghost")
        self.raises(404, 'no model named "ghost"', self.c.unload_model, "ghost")
        # a version that does not load is refused; the model keeps serving what it had
        os.makedirs(f"{self.dir}/spare/2")
        with open(f"{self.dir}/spare/2/model.json", "w") as f:
            f.write('{"format": "tabserve-model"')
        try:
            self.c.load_model("spare")
            index = self.c.get_model_repository_index()
            self.assertIn({"name": "spare", "version": "1", "state": "READY"}, index)
            self.assertIn("UNAVAILABLE", [e["state"] for e in index if e.get("version") == "2"])
            self.assertTrue(self.c.is_model_ready("spare", "1"))
        finally:
            shutil.rmtree(f"{self.dir}/spare/2")
        # a model none of whose versions loads: 400, and it stays unloaded
        os.makedirs(f"{self.dir}/broken/1")
        with open(f"{self.dir}/broken/1/model.json", "w") as f:
            f.write("{}")
        try:
            self.raises(400, "failed to load model broken", self.c.load_model, "broken")
            self.assertFalse(self.c.is_model_ready("broken"))
            self.assertTrue(self.c.is_server_ready())
        finally:
            shutil.rmtree(f"{self.dir}/broken")

    def test_control_is_off_unless_turned_on(self):
        s = Server("--model-repository", self.dir, "--default-model", "titanic")
        c = triton.InferenceServerClient(f"127.0.0.1:{s.port}")
        try:
            self.raises(403, "--model-control-mode explicit", c.load_model, "titanic")
            self.raises(403, "explicit model control is off", c.unload_model, "titanic")
            self.assertTrue(c.is_model_ready("titanic"))
            self.assertIn({"name": "titanic", "version": "1", "state": "READY"}, c.get_model_repository_index())
        finally:
            c.close()
            s.stop()

    def test_large_answers_are_compressed_small_ones_never(self):
        body = {"inputs": [{"name": "Sex", "shape": [1024], "datatype": "BYTES", "data": ["male"] * 1024},
                           {"name": "Fare", "shape": [1024], "datatype": "FP64", "data": [7.25] * 1024},
                           {"name": "Pclass", "shape": [1024], "datatype": "INT64", "data": [3] * 1024}]}
        for coding, decode in (("gzip", gzip.decompress), ("deflate", zlib.decompress)):
            status, h, data = self.s.request("POST", "/v2/models/titanic/infer", json.dumps(body),
                                             {"Accept-Encoding": coding})
            self.assertEqual(status, 200)
            self.assertEqual(h.get("Content-Encoding"), coding)
            self.assertEqual(h.get("Vary"), "Accept-Encoding")
            answer = json.loads(decode(data))
            self.assertEqual(answer["outputs"][0]["shape"], [1024])
            self.assertLess(len(data), len(json.dumps(answer)) / 2)
        status, h, data = self.s.request("POST", "/v2/models/titanic/infer", json.dumps(body),
                                         {"Accept-Encoding": "gzip;q=0, identity"})
        self.assertNotIn("Content-Encoding", h)
        one = {"inputs": [dict(i, shape=[1], data=i["data"][:1]) for i in body["inputs"]]}
        status, h, data = self.s.request("POST", "/v2/models/titanic/infer", json.dumps(one),
                                         {"Accept-Encoding": "gzip"})
        self.assertEqual(status, 200)
        self.assertNotIn("Content-Encoding", h)
        json.loads(data)


class TFServingDocument(unittest.TestCase):
    """TF Serving's REST document's examples, sent as written (curl -d sends a form type)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tabserve-tfs-")
        os.makedirs(f"{cls.dir}/titanic/1")
        shutil.copy(os.path.join(HERE, "..", "models", "titanic.json"), f"{cls.dir}/titanic/1/model.json")
        with open(f"{cls.dir}/titanic/labels.json", "w") as f:
            json.dump({"stable": 1, "canary": 2}, f)
        cls.s = Server("--model-repository", cls.dir)
        _, _, body = cls.s.request("POST", "/model", json.dumps(PASSENGERS[0]), {"Content-Type": "application/json"})
        cls.p0 = json.loads(body)["predict"]
        with open(os.path.join(SPECS, "tfserving", "api_rest.md")) as f:
            cls.doc = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()
        shutil.rmtree(cls.dir)

    def post(self, path, body):
        status, h, data = self.s.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
        return status, json.loads(data)

    def test_the_documents_examples_reach_the_model(self):
        # its curl example: a one-input model's instances; ours has five inputs, so the
        # answer is the model's own 400 naming what it needs -- not a 415 for the type
        self.assertIn("curl -d '{\"instances\": [1.0,2.0,5.0]}'", self.doc)
        status, e = self.post("/v1/models/titanic:predict", '{"instances": [1.0,2.0,5.0]}')
        self.assertEqual(status, 400)
        self.assertIn("$.instances[0]: expected an object keyed by input name", e["error"])
        status, e = self.post("/v1/models/titanic:predict", json.dumps({"instances": [PASSENGERS[0]]}))
        self.assertEqual(status, 200)
        self.assertAlmostEqual(e["predictions"][0], self.p0, places=6)

    def test_classify_and_regress(self):
        self.assertIn("\"examples\": [", self.doc)
        body = {"signature_name": "serving_default", "context": {"Embarked": "S"},
                "examples": [{"Age": [22], "Fare": 7.25, "Sex": "male", "Pclass": 3},
                             {"Age": 22, "Fare": [7.25], "Sex": {"b64": "bWFsZQ=="}, "Pclass": [3]}]}
        status, r = self.post("/v1/models/titanic:classify", json.dumps(body))
        self.assertEqual(status, 200, r)
        self.assertEqual(len(r["result"]), 2)
        for row in r["result"]:
            self.assertEqual([label for label, _ in row], ["0", "1"])
            self.assertAlmostEqual(row[1][1], self.p0, places=6)
            self.assertAlmostEqual(row[0][1] + row[1][1], 1, places=6)
        status, r = self.post("/v1/models/titanic/versions/1:regress", json.dumps(body))
        self.assertEqual(status, 200, r)
        self.assertEqual(len(r["result"]), 2)
        self.assertAlmostEqual(r["result"][0], self.p0, places=6)
        body["examples"][0]["Embarked"] = "C"
        status, e = self.post("/v1/models/titanic:classify", json.dumps(body))
        self.assertEqual((status, e), (400, {"error": "$.examples[0].Embarked: also in $.context; a feature "
                                                      "is in one of them"}))

    def test_json_extensions(self):
        row = dict(PASSENGERS[0])
        text = json.dumps({"instances": [row]}).replace('"Age": 22', '"Age": NaN')
        status, r = self.post("/v1/models/titanic:predict", text)
        self.assertEqual(status, 200, r)
        _, _, missing = self.s.request("POST", "/model", json.dumps({k: v for k, v in row.items() if k != "Age"}),
                                       {"Content-Type": "application/json"})
        self.assertAlmostEqual(r["predictions"][0], json.loads(missing)["predict"], places=6)  # NaN: missing
        status, e = self.post("/v1/models/titanic:predict", text.replace("NaN", "-Infinity"))
        self.assertEqual((status, e), (400, {"error": "$.instances[0].Age: this model has no answer for an infinity "
                                                      "(its blend predictor computes with the value; trees and "
                                                      "linear models take one): send a finite number"}))
        b64 = json.dumps({"instances": [dict(row, Sex={"b64": "bWFsZQ=="})]})
        status, r = self.post("/v1/models/titanic:predict", b64)
        self.assertEqual(status, 200, r)
        self.assertAlmostEqual(r["predictions"][0], self.p0, places=6)
        status, e = self.post("/v1/models/titanic:predict", b64.replace("bWFsZQ==", "b!"))
        self.assertEqual((status, e), (400, {"error": "$.instances[0].Sex.b64: not base64 text"}))

    def test_version_labels(self):
        status, r = self.post("/v1/models/titanic/labels/stable:predict", json.dumps({"instances": [PASSENGERS[0]]}))
        self.assertEqual(status, 200, r)
        self.assertAlmostEqual(r["predictions"][0], self.p0, places=6)
        status, _, data = self.s.request("GET", "/v1/models/titanic/labels/stable")
        self.assertEqual((status, [v["version"] for v in json.loads(data)["model_version_status"]]), (200, ["1"]))
        status, _, data = self.s.request("GET", "/v1/models/titanic/labels/stable/metadata")
        self.assertEqual((status, json.loads(data)["model_spec"]["version"]), (200, "1"))
        status, e = self.post("/v1/models/titanic/labels/beta:predict", "{}")
        self.assertEqual((status, e), (404, {"error": 'model titanic has no version label "beta"; labels: stable, canary'}))
        status, e = self.post("/v1/models/titanic/labels/canary:predict", json.dumps({"instances": [PASSENGERS[0]]}))
        self.assertEqual((status, e), (404, {"error": "model titanic has no version 2; versions: 1"}))

    def test_models_list_and_metadata_shape(self):
        status, _, data = self.s.request("GET", "/v1/models")
        self.assertEqual(status, 400)
        self.assertTrue(json.loads(data)["error"].startswith("Missing model name in request."))
        status, _, data = self.s.request("GET", "/v1/models/titanic/metadata")
        sig = json.loads(data)["metadata"]["signature_def"]["signature_def"]["serving_default"]
        self.assertEqual(sig["defaults"], {})
        self.assertEqual(sig["inputs"]["Age"]["tensor_shape"]["dim"], [{"size": "-1", "name": ""}])


class OIPDocument(unittest.TestCase):
    """Every answer of the Open Inference Protocol's routes validated against the schemas of
    its own OpenAPI document (../shared/specs/oip/open_inference_rest.yaml), as written."""

    @classmethod
    def setUpClass(cls):
        try:
            import jsonschema
            import yaml
        except ImportError as e:
            raise unittest.SkipTest(f"needs python3-jsonschema and python3-yaml: {e}")
        with open(os.path.join(SPECS, "oip", "open_inference_rest.yaml")) as f:
            cls.doc = yaml.safe_load(f)
        text = json.dumps(cls.doc["components"]["schemas"]).replace("#/components/schemas/", "#/definitions/")
        cls.defs = json.loads(text)
        cls.jsonschema = jsonschema
        cls.s = Server()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def valid(self, name, body):
        self.jsonschema.validate(body, {"definitions": self.defs, "$ref": f"#/definitions/{name}"})

    def answer(self, method, path, body=None):
        status, _, data = self.s.request(method, path, json.dumps(body) if body is not None else None,
                                         {"Content-Type": "application/json"} if body is not None else {})
        return status, json.loads(data)

    def test_every_path_of_the_document(self):
        paths = set(self.doc["paths"])
        self.assertEqual(paths, {"/v2/health/live", "/v2/health/ready", "/v2/",
                                 "/v2/models/${MODEL_NAME}/versions/${MODEL_VERSION}/ready",
                                 "/v2/models/${MODEL_NAME}/versions/${MODEL_VERSION}",
                                 "/v2/models/${MODEL_NAME}/versions/${MODEL_VERSION}/infer"})
        for path in paths:
            concrete = path.replace("${MODEL_NAME}", "model").replace("${MODEL_VERSION}", "1")
            method = "post" if path.endswith("/infer") else "get"
            self.assertIn(method, self.doc["paths"][path])
            if method == "get":
                self.assertEqual(self.s.request("GET", concrete)[0], 200, concrete)
        status, meta = self.answer("GET", "/v2/")
        self.assertEqual(status, 200)
        self.valid("metadata_server_response", meta)
        status, meta = self.answer("GET", "/v2/models/model/versions/1")
        self.assertEqual(status, 200)
        self.valid("metadata_model_response", meta)
        status, e = self.answer("GET", "/v2/models/nope/versions/1")
        self.assertEqual(status, 404)
        self.valid("metadata_model_error_response", e)

    def test_inference_request_and_answers(self):
        request = {"id": "oip-1", "inputs": [
            {"name": "Age", "shape": [1], "datatype": "FP32", "data": [22]},
            {"name": "Fare", "shape": [1], "datatype": "FP64", "data": [7.25]},
            {"name": "Sex", "shape": [1], "datatype": "BYTES", "data": ["male"]},
            {"name": "Embarked", "shape": [1], "datatype": "BYTES", "data": ["S"]},
            {"name": "Pclass", "shape": [1], "datatype": "INT64", "data": [3]}],
            "outputs": [{"name": "predict"}]}
        self.valid("inference_request", request)
        status, r = self.answer("POST", "/v2/models/model/versions/1/infer", request)
        self.assertEqual(status, 200, r)
        self.valid("inference_response", r)
        self.assertEqual((r["id"], r["outputs"][0]["name"], r["outputs"][0]["shape"]), ("oip-1", "predict", [1]))
        del request["id"]
        status, r = self.answer("POST", "/v2/models/model/infer", request)
        self.valid("inference_response", r)
        self.assertTrue(r["id"])  # generated
        request["inputs"][2]["data"] = ["robot"]
        status, e = self.answer("POST", "/v2/models/model/infer", request)
        self.assertEqual(status, 400)
        self.valid("inference_error_response", e)
        for method, path in (("DELETE", "/v2/models/model/infer"), ("GET", "/v2/nothing"), ("POST", "/v2/")):
            status, e = self.answer(method, path)
            self.assertIn(status, (404, 405), path)
            self.valid("inference_error_response", e)


if __name__ == "__main__":
    unittest.main(verbosity=2)
