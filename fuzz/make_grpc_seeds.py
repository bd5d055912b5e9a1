#!/usr/bin/env python3
"""Writes fuzz/corpus/grpc/: whole client connections (the HTTP/2 preface,
SETTINGS, then calls) as grpcio sends them, framed with python3-h2, the
messages built from proto/ by protoc at run time. Each file is one input of
fuzz_grpc. usage: python3 fuzz/make_grpc_seeds.py fuzz/corpus/grpc"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import h2.config
import h2.connection

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
here = os.path.dirname(os.path.abspath(__file__))
gen = tempfile.mkdtemp()
subprocess.run(["protoc", f"--proto_path={os.path.join(here, '..', 'proto')}", f"--python_out={gen}",
                "inference.proto", "health.proto"], check=True)
sys.path.insert(0, gen)
import health_pb2  # noqa: E402
import inference_pb2 as pb  # noqa: E402


def connection(calls, split=False):
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    c.initiate_connection()
    sid = 1
    for path, message, extra in calls:
        c.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "x"),
                             ("content-type", "application/grpc"), ("te", "trailers"), *extra])
        body = b"\0" + struct.pack(">I", len(message)) + message
        if split:
            c.send_data(sid, body[:3])
            c.send_data(sid, body[3:], end_stream=True)
        else:
            c.send_data(sid, body, end_stream=True)
        sid += 2
    return c.data_to_send()


S = "/inference.GRPCInferenceService/"
typed = pb.ModelInferRequest(model_name="model", id="seed")
for name, dt, v in (("Age", "FP32", 22.0), ("Fare", "FP64", 7.25), ("Pclass", "INT64", 3)):
    t = typed.inputs.add(name=name, datatype=dt, shape=[1])
    {"FP32": t.contents.fp32_contents, "FP64": t.contents.fp64_contents, "INT64": t.contents.int64_contents}[dt].append(v)
for name, v in (("Sex", b"male"), ("Embarked", b"S")):
    typed.inputs.add(name=name, datatype="BYTES", shape=[1]).contents.bytes_contents.append(v)
raw = pb.ModelInferRequest(model_name="model")
raw.inputs.add(name="Age", datatype="FP32", shape=[1])
raw.raw_input_contents.append(struct.pack("<f", 30.0))
raw.inputs.add(name="Sex", datatype="BYTES", shape=[1])
raw.raw_input_contents.append(struct.pack("<I", 6) + b"female")
seeds = {
    "live": [(S + "ServerLive", pb.ServerLiveRequest().SerializeToString(), [])],
    "metadata": [(S + "ServerMetadata", b"", []), (S + "ModelMetadata", pb.ModelMetadataRequest(name="model").SerializeToString(), [])],
    "infer-typed": [(S + "ModelInfer", typed.SerializeToString(), [])],
    "infer-raw": [(S + "ModelInfer", raw.SerializeToString(), [])],
    "config-stats-index": [(S + "ModelConfig", pb.ModelConfigRequest(name="model").SerializeToString(), []),
                           (S + "ModelStatistics", b"", []), (S + "RepositoryIndex", b"", [])],
    "health": [("/grpc.health.v1.Health/Check", health_pb2.HealthCheckRequest().SerializeToString(), [])],
    "unknown-method": [(S + "ModelStreamInfer", typed.SerializeToString(), [])],
}
for name, calls in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(connection(calls))
with open(os.path.join(out, "infer-split"), "wb") as f:
    f.write(connection(seeds["infer-typed"], split=True))
shutil.rmtree(gen)
