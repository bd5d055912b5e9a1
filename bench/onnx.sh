#!/usr/bin/env bash
# Imported ONNX models against ONNX Runtime 1.30 (npm onnxruntime-node, one thread),
# on the same files and rows: rounds alternate between tabserve (bench_trees --one)
# and ORT (tests/oracles/ort_predict.js --bench); medians of each figure, and ratios.
#   bench/onnx.sh DIR   (DIR from tests/oracles/make_xgboost.py --big then make_onnx.py --big)
set -eu
DIR=$1
BENCH=${BENCH:-build/bench_trees}
ROUNDS=${ROUNDS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p"; }
printf '%-22s %-14s %12s %12s %8s\n' model figure tabserve "ONNX Runtime" ratio
for m in trees_500x8 mlp_20x128x128; do
  for r in $(seq "$ROUNDS"); do
    "$BENCH" --one "$DIR/$m.onnx" "$DIR/bench_rows.csv" 1024 3 "$tmp/$m.native.json" >> "$tmp/$m.ts"
    node tests/oracles/ort_predict.js --bench "$DIR/$m.onnx" "$DIR/bench_rows.csv" 1024 3 >> "$tmp/$m.ort"
  done
  for f in load_ms ns_per_row one_row_ns; do
    a=$(field "$f" < "$tmp/$m.ts" | median); b=$(field "$f" < "$tmp/$m.ort" | median)
    printf '%-22s %-14s %12.1f %12.1f %8.3f\n' "$m" "$f" "$a" "$b" "$(echo "$a / $b" | bc -l)"
  done
  nat=$(field native_ns_per_row < "$tmp/$m.ts" | median); imp=$(field ns_per_row < "$tmp/$m.ts" | median)
  printf '%-22s %-14s %12.1f %12s %8.3f  (imported / re-saved in tabserve format)\n' "$m" native_ns_row "$nat" - "$(echo "$imp / $nat" | bc -l)"
done
echo "targets: trees ns_per_row <= 0.2x ORT; load of the 500-tree model <= 50 ms; the MLP no slower than ORT"
echo "and as fast as the same network in tabserve's format (ratio ~1)"
