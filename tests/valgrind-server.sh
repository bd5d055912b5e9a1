#!/usr/bin/env bash
# A short server session under valgrind memcheck: master and a worker serving a
# model repository (a good model, a broken one), every route of the seed's API,
# explanations and the page, KServe V2 and TF Serving, good and bad input, a new version and a reload, then
# SIGTERM. Any memcheck error or definite/indirect leak in any process fails it.
set -u
BIN=${BIN:-build/tabserve}
VALGRIND=${VALGRIND:-valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
repo=$(mktemp -d)
mkdir -p "$repo/m/1" "$repo/broken/1"
"$BIN" inspect --json > /dev/null  # the binary runs before valgrind is blamed
cp "$(dirname "$0")/../models/titanic.json" "$repo/m/1/model.json"
echo '{"format": "tabserve-model"}' > "$repo/broken/1/model.json"
$VALGRIND --trace-children=yes --child-silent-after-fork=no --log-file="$log.%p" \
  "$BIN" serve --model-repository "$repo" --default-model m --repository-poll 0 -w 1 -b "127.0.0.1:$port" \
  --max-requests 80 2> /dev/null &
server=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.1; done
url=http://127.0.0.1:$port
seed='{"Age": 22, "Fare": 7.25, "Embarked": "S", "Sex": "male", "Pclass": 3}'
for _ in 1 2 3; do
  curl -s -XPOST "$url/model" -H 'Content-Type: application/json' -d "$seed" > /dev/null
  curl -s -XPOST "$url/model" -H 'Content-Type: application/json' -d "[$seed, $seed]" > /dev/null
  curl -s -XPOST "$url/model" -H 'Content-Type: application/json' -d '{"Age": "old"}' > /dev/null
  curl -s -XPOST "$url/model" -H 'Content-Type: application/json' -d '{"Age": 22,,' > /dev/null
  curl -s -XPOST "$url/model" -H 'Content-Type: text/plain' -d 'x' > /dev/null
  curl -s -XDELETE "$url/model" > /dev/null
  for p in /model /healthz /readyz /metrics /openapi.yaml /nope /v2 /v2/health/ready /v2/models/m \
           /v2/models/broken/ready /v1/models/broken /v1/models/m/metadata /v2/models/m/versions/9; do
    curl -s "$url$p" > /dev/null
  done
  curl -s "$url/v2/models/m/infer" -H 'Content-Type: application/json' -d '{"id": "x", "inputs": [
    {"name": "Age", "shape": [2], "datatype": "FP32", "data": [22, null]},
    {"name": "Sex", "shape": [2, 1], "datatype": "BYTES", "data": [["male"], ["female"]]},
    {"name": "Pclass", "shape": [2], "datatype": "INT64", "data": [3, 1]}], "outputs": [{"name": "predict"}]}' > /dev/null
  curl -s "$url/v2/models/m/infer" -H 'Content-Type: application/json' \
    -d '{"inputs": [{"name": "Sex", "shape": [1], "datatype": "BYTES", "data": ["robot"]}]}' > /dev/null
  printf '{"inputs":[{"name":"Age","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}},{"name":"Sex","shape":[1],"datatype":"BYTES","data":["male"]},{"name":"Pclass","shape":[1],"datatype":"INT64","data":[3]}],"parameters":{"binary_data_output":true}}\x00\x00\xb0\x41' > "$repo/binary"
  curl -s "$url/v2/models/m/infer" -H 'Content-Type: application/octet-stream' \
    -H "Inference-Header-Content-Length: $(( $(wc -c < "$repo/binary") - 4 ))" --data-binary @"$repo/binary" > /dev/null
  curl -s "$url/v1/models/m:predict" -H 'Content-Type: application/json' -d "{\"instances\": [$seed]}" > /dev/null
  curl -s "$url/v1/models/m/versions/1:predict" -H 'Content-Type: application/json' \
    -d '{"inputs": {"Age": [1, 2], "Sex": ["male", "female"], "Pclass": [1, 2]}}' > /dev/null
  curl -s "$url/v1/models/m:predict" -H 'Content-Type: application/json' -d '{"instances": [{"Age": "x"}]}' > /dev/null
  curl -s "$url/model/explain" -H 'Content-Type: application/json' -d "[$seed, {\"Sex\": \"female\", \"Pclass\": 1}]" > /dev/null
  curl -s "$url/v1/models/m:explain" -H 'Content-Type: application/json' -d "{\"instances\": [$seed]}" > /dev/null
  curl -s "$url/v1/models/broken:explain" -H 'Content-Type: application/json' -d "{\"instances\": [$seed]}" > /dev/null
  curl -s "$url/" > /dev/null
done
mkdir -p "$repo/m/2" && cp "$repo/m/1/model.json" "$repo/m/2/model.json"
kill -HUP $server
sleep 3
for _ in $(seq 30); do curl -s "$url/healthz" > /dev/null; done  # crosses --max-requests: a recycle
sleep 2
kill -TERM $server
wait $server
rc=$?
cat "$log".* > "$log.all" 2>/dev/null
processes=$(ls "$log".* | grep -vc all)
if [ $rc -ne 0 ] || grep -q "ERROR SUMMARY: [1-9]\|definitely lost: [1-9]\|indirectly lost: [1-9]\|Invalid \|uninitialised" "$log.all"; then
  cat "$log.all"
  echo "FAIL valgrind: server session (exit $rc)"
  rm -f "$log"*
  rm -rf "$repo"
  exit 1
fi
rm -rf "$repo"
echo "ok   valgrind: server session clean ($processes processes: master, workers across a repository reload and a recycle)"
rm -f "$log"*
