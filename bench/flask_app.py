"""The seed's Flask app, with the Keras model replaced by a numpy MLP: tabserve
0.1.0's default model, read from its format-1 file (tests/fixtures/titanic-v1.json;
format 2 composes feature steps and predictors this replica does not), for the
server benchmark."""
import json
import os

import numpy as np
from flask import Flask, jsonify, request

MODEL = json.load(open(os.environ.get("TABSERVE_MODEL", "../tests/fixtures/titanic-v1.json")))
LAYERS = [(np.array(l["weights"], dtype=np.float32), np.array(l["bias"], dtype=np.float32), l["activation"])
          for l in MODEL["network"]["layers"]]


def encode(payload):
    x = []
    for inp in MODEL["inputs"]:
        v = payload.get(inp["name"])
        if inp["kind"] == "numeric":
            missing = v is None
            v = inp["missing"]["value"] if missing else float(v)
            if inp.get("transform") == "log1p":
                v = np.log1p(max(v, 0))
            x.append((v - inp["normalize"]["mean"]) / inp["normalize"]["std"])
            if inp.get("missing_indicator"):
                x.append(1.0 if missing else 0.0)
        else:
            x.extend(1.0 if v == c else 0.0 for c in inp["vocabulary"])
    return np.array([x], dtype=np.float32)


app = Flask(__name__)


@app.route("/model", methods=["POST"])
def call():
    h = encode(request.json)
    for w, b, act in LAYERS:
        h = h @ w + b
        h = np.maximum(h, 0) if act == "relu" else 1 / (1 + np.exp(-h)) if act == "sigmoid" else h
    return jsonify({"predict": float(h[0][0])})
