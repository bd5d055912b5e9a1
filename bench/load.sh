#!/usr/bin/env bash
# Loading the 500-tree model in a fresh process, as a server starting or a
# reload does: model_open timed inside `bench_trees --one`, one process per
# load, the XGBoost JSON and the ONNX file alternating; medians of ROUNDS.
#   bench/load.sh DIR   (DIR from tests/oracles/make_xgboost.py --big then make_onnx.py --big)
set -eu
DIR=$1
BENCH=${BENCH:-build/bench_trees}
ROUNDS=${ROUNDS:-7}
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
load_ms() { "$BENCH" --one "$1" "$DIR/bench_rows.csv" 8 1 | sed -n 's/.*"load_ms": *\([0-9.]*\).*/\1/p'; }
xgb="" onnx=""
for r in $(seq "$ROUNDS"); do
  xgb="$xgb $(load_ms "$DIR/xgb_500x8.json")"
  onnx="$onnx $(load_ms "$DIR/trees_500x8.onnx")"
done
for f in xgb onnx; do
  v=${!f}
  printf '%-6s fresh-process load: median %6.1f ms (of%s)\n' "$f" "$(echo $v | tr ' ' '\n' | median)" "$v"
done
echo "target: <= 50 ms (ONNX Runtime's own load of the ONNX file: load_ms above)"
