#!/usr/bin/env python3
"""gRPC spoken by clients nobody here wrote: Debian's grpcio with messages that
Debian's protoc generates at test time from the protocols' own .proto files
(../shared/specs: the Open Inference Protocol's, Triton's grpc_service.proto and
model_config.proto, gRPC's health.proto; tabserve's own proto/ when those are
absent), every RPC and its errors; Triton's own client (tritonclient.grpc,
unmodified, from ../shared/clients) with its stubs made at test time from the
same descriptors; and the hostile cases a gRPC server must survive, sent frame by
frame with python3-h2. Every prediction is compared with the REST answer of the
same server: bit for bit.

Needs python3-grpcio, python3-protobuf, protobuf-compiler, python3-numpy and
python3-h2 (SKIPPED with the reason when one is missing)."""
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import types
import unittest

from serving import Server, free_port, titanic_repository

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.abspath(os.path.join(HERE, "..", "..", "shared"))
SPECS = os.path.join(SHARED, "specs")
CLIENTS = os.path.join(SHARED, "clients", "tritonclient")

missing = []
for module, package in (("grpc", "python3-grpcio"), ("google.protobuf", "python3-protobuf"),
                        ("numpy", "python3-numpy"), ("h2", "python3-h2")):
    try:
        __import__(module)
    except ImportError:
        missing.append(package)
if not shutil.which("protoc"):
    missing.append("protobuf-compiler")
if missing and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and \
        os.path.exists("/usr/bin/python3"):
    os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])  # Debian's packages live in Debian's Python
if missing:
    print(f"SKIPPED: gRPC tests: {', '.join(missing)} not installed (apt-get install {' '.join(missing)})")
    sys.exit(0)

import grpc  # noqa: E402
import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.events  # noqa: E402
import h2.settings  # noqa: E402
import numpy as np  # noqa: E402

# ---- messages generated now, from the protocols' .proto files ----------------------------------
GEN = tempfile.mkdtemp(prefix="tabserve-grpc-pb-")
if os.path.isdir(SPECS):
    for src in ("oip/open_inference_grpc.proto", "triton/grpc_service.proto", "triton/model_config.proto",
                "triton/health.proto"):
        shutil.copy(os.path.join(SPECS, src), GEN)
    PROTOS, OIP = ["grpc_service.proto", "model_config.proto", "health.proto"], "open_inference_grpc.proto"
else:  # tabserve's own, the same wire messages
    for src in ("inference.proto", "health.proto"):
        shutil.copy(os.path.join(HERE, "..", "proto", src), GEN)
    PROTOS, OIP = ["inference.proto", "health.proto"], None
subprocess.run(["protoc", f"--proto_path={GEN}", f"--python_out={GEN}", *PROTOS], check=True)
if OIP:
    # the OIP file defines the same messages as Triton's, and Python's protobuf keeps one
    # pool of names: its copy is put in package "oip" (the wire does not carry package
    # names; the method paths are written out below)
    oip_dir = os.path.join(GEN, "oip")
    os.makedirs(oip_dir)
    with open(os.path.join(GEN, OIP)) as f:
        text = f.read().replace("package inference;", "package oip;")
    with open(os.path.join(oip_dir, OIP), "w") as f:
        f.write(text)
    subprocess.run(["protoc", f"--proto_path={oip_dir}", f"--python_out={oip_dir}", OIP], check=True)
sys.path.insert(0, GEN)
import health_pb2  # noqa: E402
if OIP:
    import grpc_service_pb2 as tpb  # noqa: E402  Triton's
    import model_config_pb2  # noqa: E402
    sys.path.insert(0, os.path.join(GEN, "oip"))
    import open_inference_grpc_pb2 as pb  # noqa: E402  the Open Inference Protocol's
else:
    import inference_pb2 as tpb  # noqa: E402
    pb = tpb

SERVICE = "/inference.GRPCInferenceService/"
PASSENGERS = [
    {"Age": 22, "Fare": 7.25, "Embarked": "S", "Sex": "male", "Pclass": 3},
    {"Age": 38, "Fare": 71.2833, "Embarked": "C", "Sex": "female", "Pclass": 1},
    {"Fare": 8.05, "Embarked": "Q", "Sex": "female", "Pclass": 3},  # Age missing: NaN
]
COLUMNS = [("Age", "FP32"), ("Fare", "FP64"), ("Sex", "BYTES"), ("Embarked", "BYTES"), ("Pclass", "INT64")]


def stub_module(module):
    """A service_pb2_grpc made from the proto's descriptor, as grpc_tools would write it."""
    mod = types.ModuleType("service_pb2_grpc")
    service = module.DESCRIPTOR.services_by_name["GRPCInferenceService"]

    class GRPCInferenceServiceStub:
        def __init__(self, channel):
            for m in service.methods:
                req = getattr(module, m.input_type.name)
                resp = getattr(module, m.output_type.name)
                kind = "stream_stream" if m.client_streaming and m.server_streaming else "unary_unary"
                setattr(self, m.name, getattr(channel, kind)(SERVICE + m.name, request_serializer=req.SerializeToString,
                                                             response_deserializer=resp.FromString))

    mod.GRPCInferenceServiceStub = GRPCInferenceServiceStub
    return mod


def column_values(name, rows):
    if name == "Age":
        return [r.get("Age", float("nan")) for r in rows]
    return [r[name] for r in rows]


def typed_request(rows, model="titanic"):
    r = pb.ModelInferRequest(model_name=model, id="typed-1")
    for name, datatype in COLUMNS:
        t = r.inputs.add(name=name, datatype=datatype, shape=[len(rows)])
        values = column_values(name, rows)
        if datatype == "FP32":
            t.contents.fp32_contents.extend(values)
        elif datatype == "FP64":
            t.contents.fp64_contents.extend(values)
        elif datatype == "INT64":
            t.contents.int64_contents.extend(values)
        else:
            t.contents.bytes_contents.extend(v.encode() for v in values)
    return r


def raw_bytes(datatype, values):
    if datatype == "BYTES":
        return b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in values)
    return np.array(values, dtype={"FP32": "<f4", "FP64": "<f8", "INT64": "<i8"}[datatype]).tobytes()


def raw_request(rows, model="titanic"):
    r = pb.ModelInferRequest(model_name=model)
    for name, datatype in COLUMNS:
        r.inputs.add(name=name, datatype=datatype, shape=[len(rows)])
        r.raw_input_contents.append(raw_bytes(datatype, column_values(name, rows)))
    return r


class GrpcServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = titanic_repository("titanic", "spare", prefix="tabserve-grpc-")
        cls.grpc_port = free_port()
        cls.s = Server("--model-repository", cls.dir, "--default-model", "titanic", "--max-batch", "64",
                       "--grpc-bind", f"127.0.0.1:{cls.grpc_port}", "--grpc-max-message-bytes", "65536",
                       "--model-control-mode", "explicit", "--body-timeout", "2", "--header-timeout", "2")
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.grpc_port}")
        grpc.channel_ready_future(cls.channel).result(timeout=10)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.s.stop()
        shutil.rmtree(cls.dir)

    def call(self, method, request, response_type, module=None, service=SERVICE):
        fn = self.channel.unary_unary(service + method, request_serializer=request.SerializeToString,
                                      response_deserializer=response_type.FromString)
        return fn(request, timeout=10)

    def error(self, method, request, response_type=None):
        with self.assertRaises(grpc.RpcError) as e:
            self.call(method, request, response_type or pb.ModelInferResponse)
        return e.exception.code(), e.exception.details()

    def rest_binary(self, rows, model="titanic"):
        """The REST answer's floats as bytes (the binary extension), for the same rows."""
        inputs = [{"name": n, "datatype": d, "shape": [len(rows)], "data": column_values(n, rows)} for n, d in COLUMNS]
        for i in inputs:
            if i["name"] == "Age":
                i["data"] = [None if v != v else v for v in i["data"]]
        body = {"inputs": inputs, "parameters": {"binary_data_output": True}}
        status, h, data = self.s.request("POST", f"/v2/models/{model}/infer", body)
        self.assertEqual(status, 200, data)
        head = int(h["Inference-Header-Content-Length"])
        return data[head:]

    # ---- the Open Inference Protocol's RPCs ------------------------------------------------

    def test_liveness_readiness_and_metadata_are_the_rest_documents(self):
        self.assertTrue(self.call("ServerLive", pb.ServerLiveRequest(), pb.ServerLiveResponse).live)
        self.assertTrue(self.call("ServerReady", pb.ServerReadyRequest(), pb.ServerReadyResponse).ready)
        self.assertTrue(self.call("ModelReady", pb.ModelReadyRequest(name="titanic"), pb.ModelReadyResponse).ready)
        self.assertTrue(self.call("ModelReady", pb.ModelReadyRequest(name="titanic", version="1"),
                                  pb.ModelReadyResponse).ready)
        meta = self.call("ServerMetadata", pb.ServerMetadataRequest(), pb.ServerMetadataResponse)
        _, rest = self.s.json("GET", "/v2")
        self.assertEqual((meta.name, meta.version, list(meta.extensions)),
                         (rest["name"], rest["version"], rest["extensions"]))
        m = self.call("ModelMetadata", pb.ModelMetadataRequest(name="titanic"), pb.ModelMetadataResponse)
        _, rest = self.s.json("GET", "/v2/models/titanic")
        self.assertEqual(m.name, "titanic")
        self.assertEqual(list(m.versions), rest["versions"])
        self.assertEqual(m.platform, rest["platform"])
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in m.inputs],
                         [(t["name"], t["datatype"], t["shape"]) for t in rest["inputs"]])
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in m.outputs],
                         [(t["name"], t["datatype"], t["shape"]) for t in rest["outputs"]])

    def test_infer_typed_contents_answers_the_rest_floats_bit_for_bit(self):
        out = self.call("ModelInfer", typed_request(PASSENGERS), pb.ModelInferResponse)
        self.assertEqual((out.model_name, out.model_version, out.id), ("titanic", "1", "typed-1"))
        self.assertEqual(len(out.outputs), 1)
        t = out.outputs[0]
        self.assertEqual((t.name, t.datatype, list(t.shape)), ("predict", "FP32", [3]))
        self.assertEqual(len(out.raw_output_contents), 0)  # typed in, typed out
        got = struct.pack("<3f", *t.contents.fp32_contents)
        self.assertEqual(got, self.rest_binary(PASSENGERS))

    def test_infer_raw_contents_answers_raw_bit_for_bit(self):
        out = self.call("ModelInfer", raw_request(PASSENGERS), pb.ModelInferResponse)
        self.assertEqual(len(out.raw_output_contents), 1)
        self.assertFalse(out.outputs[0].HasField("contents"))
        self.assertEqual(out.raw_output_contents[0], self.rest_binary(PASSENGERS))
        self.assertTrue(out.id)  # generated when the request has none, as REST does

    def test_infer_64_rows_and_a_version(self):
        rows = [dict(PASSENGERS[i % 3], Fare=float(i)) for i in range(64)]
        r = raw_request(rows)
        r.model_version = "1"
        out = self.call("ModelInfer", r, pb.ModelInferResponse)
        self.assertEqual(list(out.outputs[0].shape), [64])
        self.assertEqual(out.raw_output_contents[0], self.rest_binary(rows))

    def test_errors_are_status_codes_with_the_rest_message(self):
        r = typed_request(PASSENGERS[:1])
        r.inputs[0].name = "Agee"
        code, details = self.error("ModelInfer", r)
        body = {"inputs": [{"name": "Agee", "datatype": "FP32", "shape": [1], "data": [22]}]}
        _, rest = self.s.json("POST", "/v2/models/titanic/infer", body)
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(details, rest["error"])
        code, details = self.error("ModelInfer", typed_request(PASSENGERS, model="nope"))
        self.assertEqual(code, grpc.StatusCode.NOT_FOUND)
        self.assertEqual(details, 'no model named "nope"; models: spare, titanic')
        r = typed_request(PASSENGERS)
        r.model_version = "7"
        self.assertEqual(self.error("ModelInfer", r)[0], grpc.StatusCode.NOT_FOUND)
        code, details = self.error("ModelInfer", raw_request([PASSENGERS[0]] * 65))
        self.assertEqual(code, grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(details, "65 rows is over the limit of 64 (--max-batch)")
        code, _ = self.error("ModelMetadata", pb.ModelMetadataRequest(name="nope"), pb.ModelMetadataResponse)
        self.assertEqual(code, grpc.StatusCode.NOT_FOUND)
        code, _ = self.error("ModelReady", pb.ModelReadyRequest(name="nope"), pb.ModelReadyResponse)
        self.assertEqual(code, grpc.StatusCode.NOT_FOUND)
        code, details = self.error("ModelMetadata", pb.ModelMetadataRequest(), pb.ModelMetadataResponse)
        self.assertEqual((code, details), (grpc.StatusCode.INVALID_ARGUMENT, "name: a model name is required"))

    def test_names_are_escaped_into_the_rest_request(self):
        r = typed_request(PASSENGERS[:1])
        r.inputs[0].name = 'A"ge\n\\'
        code, details = self.error("ModelInfer", r)
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertTrue(details.startswith("$.inputs[0].name: the model has no input"), details)
        r = typed_request(PASSENGERS[:1], model="titanic")
        r.id = 'id "quoted"'
        self.assertEqual(self.call("ModelInfer", r, pb.ModelInferResponse).id, 'id "quoted"')

    def test_typed_contents_are_checked_against_their_datatype(self):
        r = pb.ModelInferRequest(model_name="titanic")
        t = r.inputs.add(name="Pclass", datatype="INT8", shape=[1])
        t.contents.int_contents.append(1000)
        code, details = self.error("ModelInfer", r)
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(details, "inputs[0].contents.int_contents[0]: 1000 is out of the range of INT8")
        r = pb.ModelInferRequest(model_name="titanic")
        t = r.inputs.add(name="Age", datatype="FP32", shape=[1])
        t.contents.fp64_contents.append(22)
        code, details = self.error("ModelInfer", r)
        self.assertEqual((code, details), (grpc.StatusCode.INVALID_ARGUMENT,
                                           "inputs[0].contents: a FP32 tensor's elements go in fp32_contents, "
                                           "and only there"))
        r = typed_request(PASSENGERS[:1])
        r.raw_input_contents.append(b"\0\0\0\0")
        code, details = self.error("ModelInfer", r)
        self.assertEqual((code, details), (grpc.StatusCode.INVALID_ARGUMENT,
                                           "raw_input_contents: 1 entries for 5 inputs (one each, in order)"))

    def test_unknown_methods_are_unimplemented(self):
        code, details = self.error("ModelStreamInfer", pb.ModelInferRequest())
        self.assertEqual(code, grpc.StatusCode.UNIMPLEMENTED)
        self.assertIn("ModelStreamInfer", details)
        with self.assertRaises(grpc.RpcError) as e:
            self.call("Watch", health_pb2.HealthCheckRequest(), health_pb2.HealthCheckResponse,
                      service="/grpc.health.v1.Health/")
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)

    def test_health_check_for_kubernetes_probes(self):
        for service in ("", "inference.GRPCInferenceService"):
            r = self.call("Check", health_pb2.HealthCheckRequest(service=service), health_pb2.HealthCheckResponse,
                          service="/grpc.health.v1.Health/")
            self.assertEqual(r.status, health_pb2.HealthCheckResponse.SERVING)
        with self.assertRaises(grpc.RpcError) as e:
            self.call("Check", health_pb2.HealthCheckRequest(service="other"), health_pb2.HealthCheckResponse,
                      service="/grpc.health.v1.Health/")
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_triton_extensions_are_the_rest_documents(self):
        c = self.call("ModelConfig", tpb.ModelConfigRequest(name="titanic"), tpb.ModelConfigResponse).config
        _, rest = self.s.json("GET", "/v2/models/titanic/config")
        self.assertEqual((c.name, c.platform, c.backend, c.max_batch_size),
                         (rest["name"], rest["platform"], rest["backend"], rest["max_batch_size"]))
        self.assertEqual([(i.name, list(i.dims)) for i in c.input], [(i["name"], i["dims"]) for i in rest["input"]])
        self.assertEqual(c.output[0].data_type, (model_config_pb2 if OIP else tpb).TYPE_FP32)
        self.assertEqual(c.version_policy.latest.num_versions, 1)
        index = self.call("RepositoryIndex", tpb.RepositoryIndexRequest(), tpb.RepositoryIndexResponse)
        _, rest = self.s.json("POST", "/v2/repository/index", {})
        self.assertEqual([(m.name, m.version, m.state) for m in index.models],
                         [(m["name"], m.get("version", ""), m.get("state", "")) for m in rest])
        before = self.call("ModelStatistics", tpb.ModelStatisticsRequest(name="spare"), tpb.ModelStatisticsResponse)
        self.call("ModelInfer", typed_request(PASSENGERS, model="spare"), pb.ModelInferResponse)
        after = self.call("ModelStatistics", tpb.ModelStatisticsRequest(name="spare"), tpb.ModelStatisticsResponse)
        self.assertEqual(after.model_stats[0].inference_count - before.model_stats[0].inference_count, 3)
        self.assertEqual(after.model_stats[0].inference_stats.success.count
                         - before.model_stats[0].inference_stats.success.count, 1)
        every = self.call("ModelStatistics", tpb.ModelStatisticsRequest(), tpb.ModelStatisticsResponse)
        self.assertEqual(sorted(m.name for m in every.model_stats), ["spare", "titanic"])

    def test_repository_load_and_unload(self):
        # waits on what the gRPC channel itself sees: its connection may be on a worker that has
        # not been replaced yet when a REST connection's already has
        def ready():
            try:
                return self.call("ModelReady", pb.ModelReadyRequest(name="spare"), pb.ModelReadyResponse).ready
            except grpc.RpcError:
                return False
        self.call("RepositoryModelUnload", tpb.RepositoryModelUnloadRequest(model_name="spare"),
                  tpb.RepositoryModelUnloadResponse)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and ready():
            time.sleep(0.05)
        self.assertEqual(self.error("ModelReady", pb.ModelReadyRequest(name="spare"), pb.ModelReadyResponse)[0],
                         grpc.StatusCode.NOT_FOUND)
        self.call("RepositoryModelLoad", tpb.RepositoryModelLoadRequest(model_name="spare"),
                  tpb.RepositoryModelLoadResponse)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not ready():
            time.sleep(0.05)
        self.assertTrue(self.call("ModelReady", pb.ModelReadyRequest(name="spare"), pb.ModelReadyResponse).ready)

    def test_reloads_lose_no_call(self):
        """Calls on one channel while the workers are replaced (a model unloaded, then loaded:
        each swaps the workers): the old ones say they are going away before they stop taking
        streams, so no call is reset."""
        import threading
        fn = self.channel.unary_unary(SERVICE + "ModelInfer", request_serializer=pb.ModelInferRequest.SerializeToString,
                                      response_deserializer=pb.ModelInferResponse.FromString)
        want = self.rest_binary(PASSENGERS)
        failures, calls, done = [], [0], threading.Event()

        def caller():
            while not done.is_set():
                try:
                    out = fn(raw_request(PASSENGERS), timeout=10)
                    calls[0] += 1
                    if out.raw_output_contents[0] != want:
                        failures.append("a different answer")
                except grpc.RpcError as e:
                    failures.append(f"{e.code()}: {e.details()}")

        def until(check):
            deadline = time.monotonic() + 20
            while not check() and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertTrue(check())

        threads = [threading.Thread(target=caller) for _ in range(2)]
        for t in threads:
            t.start()
        for load in (False, True, False, True):
            request = tpb.RepositoryModelLoadRequest if load else tpb.RepositoryModelUnloadRequest
            response = tpb.RepositoryModelLoadResponse if load else tpb.RepositoryModelUnloadResponse
            self.call("RepositoryModel" + ("Load" if load else "Unload"), request(model_name="spare"), response)
            until(lambda: (self.s.request("GET", "/v2/models/spare/ready")[0] == 200) == load)
            until(lambda: self.metric("tabserve_workers") == 2)  # the old workers have finished draining
        done.set()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        self.assertGreater(calls[0], 0)

    def metric(self, name):
        _, _, text = self.s.request("GET", "/metrics")
        for line in text.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return 0.0

    def test_compressed_requests(self):
        for compression in (grpc.Compression.Gzip, grpc.Compression.Deflate):
            fn = self.channel.unary_unary(SERVICE + "ModelInfer", request_serializer=pb.ModelInferRequest.SerializeToString,
                                          response_deserializer=pb.ModelInferResponse.FromString)
            out = fn(raw_request(PASSENGERS), timeout=10, compression=compression)
            self.assertEqual(out.raw_output_contents[0], self.rest_binary(PASSENGERS))

    def test_metrics_count_calls_by_method_and_code(self):
        def count(method, code):
            _, _, text = self.s.request("GET", "/metrics")
            for line in text.decode().splitlines():
                if line.startswith(f'tabserve_grpc_calls_total{{method="{method}",code="{code}"}} '):
                    return int(line.split()[-1])
            return 0
        ok, bad = count("ModelInfer", "OK"), count("ModelInfer", "NOT_FOUND")
        self.call("ModelInfer", typed_request(PASSENGERS), pb.ModelInferResponse)
        self.error("ModelInfer", typed_request(PASSENGERS, model="nope"))
        self.assertEqual(count("ModelInfer", "OK"), ok + 1)
        self.assertEqual(count("ModelInfer", "NOT_FOUND"), bad + 1)

    # ---- Triton's own client ---------------------------------------------------------------

    def triton(self):
        if not os.path.isdir(CLIENTS) or not OIP:
            self.skipTest(f"Triton's client or its protos are not in {SHARED}")
        for dep in ("rapidjson", "packaging"):
            try:
                __import__(dep)
            except ImportError:
                self.skipTest(f"{dep} is not installed")
        if "tritonclient.grpc" not in sys.modules:
            sys.path.insert(0, CLIENTS)
            sys.modules["tritonclient.grpc.model_config_pb2"] = model_config_pb2
            sys.modules["tritonclient.grpc.service_pb2"] = tpb
            sys.modules["tritonclient.grpc.service_pb2_grpc"] = stub_module(tpb)
        import tritonclient.grpc as tg
        return tg, tg.InferenceServerClient(f"127.0.0.1:{self.grpc_port}")

    def triton_inputs(self, tg, rows):
        inputs = []
        for name, datatype in COLUMNS:
            values = column_values(name, rows)
            dtype = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "BYTES": object}[datatype]
            arr = np.array([v.encode() for v in values] if dtype is object else values, dtype=dtype)
            t = tg.InferInput(name, [len(rows)], datatype)
            t.set_data_from_numpy(arr)
            inputs.append(t)
        return inputs

    def test_triton_client_every_call(self):
        tg, client = self.triton()
        from tritonclient.utils import InferenceServerException
        self.assertTrue(client.is_server_live())
        self.assertTrue(client.is_server_ready())
        self.assertTrue(client.is_model_ready("titanic"))
        self.assertEqual(client.get_server_metadata().name, "tabserve")
        self.assertEqual([i.name for i in client.get_model_metadata("titanic").inputs],
                         ["Age", "Fare", "Sex", "Embarked", "Pclass"])
        self.assertEqual(client.get_model_config("titanic").config.name, "titanic")
        self.assertEqual(sorted(m.name for m in client.get_model_repository_index().models), ["spare", "titanic"])
        self.assertTrue(client.get_inference_statistics("titanic").model_stats)
        result = client.infer("titanic", self.triton_inputs(tg, PASSENGERS),
                              outputs=[tg.InferRequestedOutput("predict")], request_id="t-1")
        self.assertEqual(result.get_response().id, "t-1")
        self.assertEqual(result.as_numpy("predict").astype("<f4").tobytes(), self.rest_binary(PASSENGERS))
        done = []
        client.async_infer("titanic", self.triton_inputs(tg, PASSENGERS[:2]),
                           callback=lambda result, error: done.append((result, error)))
        deadline = time.monotonic() + 10
        while not done and time.monotonic() < deadline:
            time.sleep(0.01)
        result, error = done[0]
        self.assertIsNone(error)
        self.assertEqual(result.as_numpy("predict").astype("<f4").tobytes(), self.rest_binary(PASSENGERS[:2]))
        result = client.infer("titanic", self.triton_inputs(tg, PASSENGERS), compression_algorithm="gzip")
        self.assertEqual(result.as_numpy("predict").astype("<f4").tobytes(), self.rest_binary(PASSENGERS))
        with self.assertRaises(InferenceServerException) as e:
            client.infer("nope", self.triton_inputs(tg, PASSENGERS))
        self.assertEqual(e.exception.status(), "StatusCode.NOT_FOUND")
        self.assertEqual(e.exception.message(), 'no model named "nope"; models: spare, titanic')
        bad = self.triton_inputs(tg, PASSENGERS)
        bad[4] = tg.InferInput("Pclass", [2], "INT64")
        bad[4].set_data_from_numpy(np.array([3, 1], dtype=np.int64))
        bad[4]._input.shape[:] = [3]  # 3 rows said, 2 elements sent
        with self.assertRaises(InferenceServerException) as e:
            client.infer("titanic", bad)
        self.assertEqual(e.exception.status(), "StatusCode.INVALID_ARGUMENT")
        client.close()

    # ---- hostile peers, frame by frame ---------------------------------------------------

    def h2(self, settings=None):
        sock = socket.create_connection(("127.0.0.1", self.grpc_port), timeout=5)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection()
        if settings:
            conn.update_settings(settings)
        sock.sendall(conn.data_to_send())
        return sock, conn

    @staticmethod
    def headers(method="ModelInfer"):
        return [(":method", "POST"), (":scheme", "http"), (":path", SERVICE + method),
                (":authority", "localhost"), ("content-type", "application/grpc"), ("te", "trailers")]

    def until(self, sock, conn, done, seconds=5):
        """Events until done(events) or the peer closes or the time is up."""
        events, deadline = [], time.monotonic() + seconds
        while not done(events) and time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                break
            if not data:
                events.append("closed")
                break
            events += conn.receive_data(data)
            sock.sendall(conn.data_to_send())
        return events

    @staticmethod
    def trailers(events):
        for e in events:
            if isinstance(e, (h2.events.TrailersReceived, h2.events.ResponseReceived)):
                d = dict(e.headers)
                if "grpc-status" in d:
                    return int(d["grpc-status"]), d.get("grpc-message", "")
        return None

    def still_serves(self):
        out = self.call("ModelInfer", raw_request(PASSENGERS), pb.ModelInferResponse)
        self.assertEqual(out.raw_output_contents[0], self.rest_binary(PASSENGERS))

    def test_truncated_and_oversized_messages(self):
        sock, conn = self.h2()
        message = raw_request(PASSENGERS).SerializeToString()
        conn.send_headers(1, self.headers())
        conn.send_data(1, b"\0" + struct.pack(">I", len(message) + 10) + message, end_stream=True)
        sock.sendall(conn.data_to_send())
        events = self.until(sock, conn, self.trailers)
        self.assertEqual(self.trailers(events)[0], 13)  # INTERNAL
        self.assertIn("truncated", self.trailers(events)[1])
        conn.send_headers(3, self.headers())
        # past --grpc-max-message-bytes 65536, within the window the server gives (the limit + 1 KiB)
        body = b"\0" + struct.pack(">I", 70000) + b"x" * 66000
        for at in range(0, len(body), 16384):
            conn.send_data(3, body[at:at + 16384])
            sock.sendall(conn.data_to_send())
        events = self.until(sock, conn, self.trailers)
        self.assertEqual(self.trailers(events)[0], 8)  # RESOURCE_EXHAUSTED
        sock.close()
        self.still_serves()

    def test_stream_never_finished_is_reset_at_the_deadline(self):
        sock, conn = self.h2()
        conn.send_headers(1, self.headers())
        conn.send_data(1, b"\0\0\0\0\x10", end_stream=False)
        sock.sendall(conn.data_to_send())
        events = self.until(sock, conn, lambda ev: any(isinstance(e, h2.events.StreamReset) for e in ev), seconds=6)
        self.assertTrue(any(isinstance(e, h2.events.StreamReset) for e in events), events)
        sock.close()
        self.still_serves()

    def test_headers_flood_is_refused_past_the_stream_limit(self):
        sock, conn = self.h2()
        self.until(sock, conn, lambda ev: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in ev))
        limit = conn.remote_settings.max_concurrent_streams
        self.assertEqual(limit, 100)
        conn.remote_settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = 1000  # past the server's limit
        conn.remote_settings.acknowledge()
        for k in range(150):
            conn.send_headers(1 + 2 * k, self.headers())
        sock.sendall(conn.data_to_send())
        events = self.until(sock, conn, lambda ev: sum(isinstance(e, h2.events.StreamReset) for e in ev) >= 50 or
                            "closed" in ev)
        self.assertTrue(sum(isinstance(e, h2.events.StreamReset) for e in events) >= 50 or "closed" in events)
        sock.close()
        self.still_serves()

    def test_window_of_zero_and_reset_mid_request(self):
        sock, conn = self.h2({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
        message = raw_request(PASSENGERS).SerializeToString()
        conn.send_headers(1, self.headers())
        conn.send_data(1, b"\0" + struct.pack(">I", len(message)) + message, end_stream=True)
        conn.send_headers(3, self.headers())
        conn.send_data(3, b"\0\0\0\0\x20", end_stream=False)
        conn.reset_stream(3)
        sock.sendall(conn.data_to_send())
        # the answer cannot be sent through a window of 0: reset at the deadline, the server unharmed
        events = self.until(sock, conn, lambda ev: any(isinstance(e, h2.events.StreamReset) and e.stream_id == 1
                                                       for e in ev), seconds=6)
        self.assertTrue(any(isinstance(e, h2.events.StreamReset) and e.stream_id == 1 for e in events), events)
        sock.close()
        self.still_serves()

    def test_not_http2_is_closed(self):
        sock = socket.create_connection(("127.0.0.1", self.grpc_port), timeout=5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        sock.close()
        types_seen, at = [], 0
        while at + 9 <= len(data):  # the frames sent: SETTINGS, then GOAWAY, then the close
            types_seen.append(data[at + 3])
            at += 9 + int.from_bytes(data[at:at + 3], "big")
        self.assertIn(7, types_seen)
        self.still_serves()


class GrpcDrain(unittest.TestCase):
    def test_term_lets_a_call_finish_and_then_closes(self):
        port = free_port()
        s = Server("--grpc-bind", f"127.0.0.1:{port}", workers=1)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        fn = channel.unary_unary(SERVICE + "ModelInfer", request_serializer=pb.ModelInferRequest.SerializeToString,
                                 response_deserializer=pb.ModelInferResponse.FromString)
        out = fn(typed_request(PASSENGERS, model="model"), timeout=10)
        self.assertEqual(list(out.outputs[0].shape), [3])
        s.stop()  # TERM: GOAWAY, then the worker and the master exit 0
        self.assertEqual(s.proc.returncode, 0)
        channel.close()


class DocumentedExample(unittest.TestCase):
    def test_the_python_example_of_the_readme_runs_as_written(self):
        """The README's grpcio example, run as written against a server on a free port, with
        the messages protoc makes from proto/inference.proto: it prints what POST /model
        answers for the same passenger."""
        with open(os.path.join(HERE, "..", "README.md")) as f:
            blocks = [b for b in re.findall(r"```python\n(.*?)```", f.read(), re.S) if "ModelInfer" in b]
        self.assertEqual(len(blocks), 1)
        port = free_port()
        s = Server("--grpc-bind", f"127.0.0.1:{port}", workers=1)
        d = tempfile.mkdtemp(prefix="tabserve-grpc-example-")
        try:
            shutil.copy(os.path.join(HERE, "..", "proto", "inference.proto"), d)
            subprocess.run(["protoc", f"--proto_path={d}", f"--python_out={d}", "inference.proto"], check=True)
            with open(os.path.join(d, "example.py"), "w") as f:
                f.write(blocks[0].replace("localhost:8001", f"127.0.0.1:{port}"))
            out = subprocess.run(["/usr/bin/python3", "example.py"], cwd=d, capture_output=True, text=True,
                                 timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            got = json.loads(out.stdout.strip())
            _, _, body = s.request("POST", "/model", json.dumps({"Sex": "male", "Pclass": 3, "Fare": 7.25}),
                                   {"Content-Type": "application/json"})
            want = json.loads(body)["predict"]
            self.assertEqual(len(got), 1)
            self.assertAlmostEqual(got[0], want, places=7)
            self.assertTrue(str(want).startswith("0.028069833"), want)  # the figure the document shows
        finally:
            s.stop()
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main(verbosity=2)
