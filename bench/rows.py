"""The benchmarks' 1,024 Titanic-like rows (bench/protocols.sh, bench/grpc.sh), seeded:
written into DIR as v2-1024.json (KServe V2 JSON tensors), v2-1024.bin with v2-1024.hlen
(the binary tensor extension: a JSON header, then the raw tensors; the header's length), and
importable for the tensors themselves (`parts`: name, datatype, little-endian bytes).

usage: /usr/bin/python3 bench/rows.py DIR
"""
import json
import random
import struct
import sys

N = 1024
TYPES = {"Age": "FP32", "Fare": "FP32", "Sex": "BYTES", "Embarked": "BYTES", "Pclass": "INT64"}
rng = random.Random(7)
rows = [{"Age": rng.randint(1, 80), "Fare": round(rng.uniform(5, 200), 2), "Embarked": rng.choice("SCQ"),
         "Sex": rng.choice(["male", "female"]), "Pclass": rng.randint(1, 3)} for _ in range(N)]


def v2(rows):
    return {"inputs": [{"name": k, "shape": [len(rows)], "datatype": TYPES[k], "data": [r[k] for r in rows]}
                       for k in TYPES]}


def strings(vals):
    return b"".join(struct.pack("<I", len(s)) + s.encode() for s in vals)


parts = [("Age", "FP32", struct.pack("<%df" % N, *[r["Age"] for r in rows])),
         ("Fare", "FP32", struct.pack("<%df" % N, *[r["Fare"] for r in rows])),
         ("Sex", "BYTES", strings(r["Sex"] for r in rows)),
         ("Embarked", "BYTES", strings(r["Embarked"] for r in rows)),
         ("Pclass", "INT64", struct.pack("<%dq" % N, *[r["Pclass"] for r in rows]))]

if __name__ == "__main__":
    d = sys.argv[1]
    with open(f"{d}/v2-1024.json", "w") as f:
        f.write(json.dumps(v2(rows)))
    header = json.dumps({"inputs": [{"name": n, "shape": [N], "datatype": t, "parameters": {"binary_data_size": len(b)}}
                                    for n, t, b in parts], "parameters": {"binary_data_output": True}}).encode()
    with open(f"{d}/v2-1024.bin", "wb") as f:
        f.write(header + b"".join(b for _, _, b in parts))
    with open(f"{d}/v2-1024.hlen", "w") as f:
        f.write(str(len(header)))
