#!/usr/bin/env bash
# The API contract: lint the spec, check it against the model and the collection
# against the spec, then run the Postman collection with newman against a freshly
# started server. Skips, saying so, when `npm ci` has not installed the tools.
set -u
BIN=${BIN:-build/tabserve}
if [ ! -x node_modules/.bin/newman ]; then
  echo "SKIPPED: node_modules/.bin/newman is missing (run npm ci): API contract tests not run"
  exit 0
fi
set -e
# @redocly/cli 1.34 runs on Debian bookworm's Node.js 18 (2.x needs 20): the lint runs everywhere
node_modules/.bin/redocly lint api/openapi.yaml --format=stylish 2>&1 | grep -v -i "deprecation\|upgrade\|^ *║\|^ *╔\|^ *╚" || true
node_modules/.bin/redocly lint api/openapi.yaml > /dev/null 2>&1 || { echo "FAIL redocly lint"; exit 1; }
# the specs generated for other models: an XGBoost model with a categorical input, and three classes
for served in xgb-categorical v2-multiclass; do
  gport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$BIN" serve "fuzz/corpus/model/$served.json" -b "127.0.0.1:$gport" 2> /dev/null &
  gen=$!
  for _ in $(seq 100); do "$BIN" healthcheck "127.0.0.1:$gport" > /dev/null 2>&1 && break; sleep 0.05; done
  spec=$(mktemp --suffix=.yaml)
  curl -sf "http://127.0.0.1:$gport/openapi.yaml" > "$spec"
  kill $gen; wait $gen 2>/dev/null || true
  grep -q "generated for the model being served" "$spec" || { echo "FAIL: GET /openapi.yaml was not generated for $served"; exit 1; }
  # only the built-in model talks about passengers: every example is this model's own
  if grep -n -i -E "passenger|titanic|pclass|embarked" "$spec"; then echo "FAIL: the spec generated for $served talks about Titanic"; exit 1; fi
  node_modules/.bin/redocly lint "$spec" > /dev/null 2>&1 || { node_modules/.bin/redocly lint "$spec"; echo "FAIL redocly lint of the spec generated for $served"; exit 1; }
  echo "ok   redocly lint of the spec generated for $served"
  rm -f "$spec"
done
"$BIN" inspect --json | node api/check-model-schema.js
node api/make-collection.js --check
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve -w 2 -b "127.0.0.1:$port" 2> /tmp/tabserve-api-server.log &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 100); do "$BIN" healthcheck "127.0.0.1:$port" > /dev/null 2>&1 && break; sleep 0.05; done
node_modules/.bin/newman run api/tabserve.postman_collection.json --env-var "baseUrl=http://127.0.0.1:$port" \
  --reporters cli --color off
