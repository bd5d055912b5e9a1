#!/usr/bin/env bash
# The cluster protocols against the anchor, same run: one-row POST
# /v2/models/model/infer (KServe V2, JSON) and POST /v1/models/model:predict (TF
# Serving) on tabserve -w 2, against nginx-light answering a fixed body on the
# same paths (2 workers), 64 connections, medians of alternating rounds. Then a
# 1,024-row request through the binary tensor extension against the same rows
# as JSON: rows a second for each.
set -u
BIN=${BIN:-build/tabserve}
DURATION=${DURATION:-3}
ROUNDS=${ROUNDS:-5}
. "$(dirname "$0")/lib.sh"

# request bodies (and headers) as files, read by wrk's Lua scripts
/usr/bin/python3 "$(dirname "$0")/rows.py" "$tmp"  # the 1,024 rows, JSON and binary
/usr/bin/python3 - "$tmp" "$(dirname "$0")" <<'PY'
import json, sys
d = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from rows import v2  # bench/rows.py
seed = {"Age": 22, "Fare": 7.25, "Embarked": "S", "Sex": "male", "Pclass": 3}
open(f"{d}/v2.json", "w").write(json.dumps(v2([seed])))
open(f"{d}/tfs.json", "w").write(json.dumps({"instances": [seed]}))
open(f"{d}/seed.json", "w").write(json.dumps(seed))
PY
lua() { # lua FILE [HEADER-LENGTH] -> a wrk script posting FILE (binary tensors when a header length is given)
  local script="$tmp/$(basename "$1").lua"
  {
    echo 'wrk.method = "POST"'
    echo "local f = io.open(\"$1\", \"rb\"); wrk.body = f:read(\"*a\"); f:close()"
    if [ -n "${2:-}" ]; then
      echo 'wrk.headers["Content-Type"] = "application/octet-stream"'
      echo "wrk.headers[\"Inference-Header-Content-Length\"] = \"$2\""
    else
      echo 'wrk.headers["Content-Type"] = "application/json"'
    fi
  } > "$script"
  echo "$script"
}
rps() { wrk -t2 -c"$3" -d"${DURATION}s" -s "$2" "$1" > "$tmp/wrk.out"; grep -E "Non-2xx|Socket errors" "$tmp/wrk.out" >&2; awk '/Requests\/sec/ {print int($2)}' "$tmp/wrk.out"; }

port=$(free_port)
tabserve_start "$port" --max-batch 1024 --limit-request-body 4194304
nport=$(free_port)
nginx_start nginx "" "listen 127.0.0.1:$nport;
    location = /v2/models/model/infer { default_type application/json; return 200 '{\"model_name\":\"model\",\"model_version\":\"1\",\"outputs\":[{\"name\":\"predict\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[0.0715020671]}]}\\n'; }
    location = /model { default_type application/json; return 200 '{\"predict\": 0.0715020671}\\n'; }
    location = /v1/models/model:predict { default_type application/json; return 200 '{\"predictions\": [0.0715020671]}\\n'; }"

# the answers are right before they are fast
curl -sf -H 'Content-Type: application/json' --data-binary @"$tmp/v2.json" "http://127.0.0.1:$port/v2/models/model/infer" | grep -q '"data":\[0.0715020671\]' \
  || { echo "FAIL: the V2 answer is not the seed's probability"; exit 1; }

v2=$(lua "$tmp/v2.json"); tfs=$(lua "$tmp/tfs.json"); seed=$(lua "$tmp/seed.json")
json1k=$(lua "$tmp/v2-1024.json"); bin1k=$(lua "$tmp/v2-1024.bin" "$(cat "$tmp/v2-1024.hlen")")
for r in $(seq "$ROUNDS"); do
  rps "http://127.0.0.1:$port/model" "$seed" 64 >> "$tmp/ts.seed"
  rps "http://127.0.0.1:$nport/model" "$seed" 64 >> "$tmp/ng.seed"
  rps "http://127.0.0.1:$port/v2/models/model/infer" "$v2" 64 >> "$tmp/ts.v2"
  rps "http://127.0.0.1:$nport/v2/models/model/infer" "$v2" 64 >> "$tmp/ng.v2"
  rps "http://127.0.0.1:$port/v1/models/model:predict" "$tfs" 64 >> "$tmp/ts.tfs"
  rps "http://127.0.0.1:$nport/v1/models/model:predict" "$tfs" 64 >> "$tmp/ng.tfs"
  rps "http://127.0.0.1:$port/v2/models/model/infer" "$json1k" 8 >> "$tmp/json1k"
  rps "http://127.0.0.1:$port/v2/models/model/infer" "$bin1k" 8 >> "$tmp/bin1k"
done
ts_v2=$(median < "$tmp/ts.v2"); ng_v2=$(median < "$tmp/ng.v2")
ts_tfs=$(median < "$tmp/ts.tfs"); ng_tfs=$(median < "$tmp/ng.tfs")
ts_seed=$(median < "$tmp/ts.seed"); ng_seed=$(median < "$tmp/ng.seed")
j=$(median < "$tmp/json1k"); b=$(median < "$tmp/bin1k")
printf '%-44s %10s %10s %8s\n' "one row, 2 workers, 64 connections" tabserve nginx ratio
printf '%-44s %10s %10s %7.2fx\n' "POST /v2/models/model/infer (JSON)" "$ts_v2" "$ng_v2" "$(echo "$ts_v2 / $ng_v2" | bc -l)"
printf '%-44s %10s %10s %7.2fx\n' "POST /v1/models/model:predict" "$ts_tfs" "$ng_tfs" "$(echo "$ts_tfs / $ng_tfs" | bc -l)"
printf '%-44s %10s %10s %7.2fx\n' "POST /model (the seed's route, for reference)" "$ts_seed" "$ng_seed" "$(echo "$ts_seed / $ng_seed" | bc -l)"
echo "(req/s, medians of $ROUNDS alternating rounds of ${DURATION}s; target >= 0.9x nginx's fixed response)"
echo
printf '%-44s %10s %12s\n' "1,024 rows per request, 8 connections" "req/s" "rows/s"
printf '%-44s %10s %12s\n' "JSON tensors" "$j" "$((j * 1024))"
printf '%-44s %10s %12s  %.2fx the JSON form\n' "binary tensor data extension" "$b" "$((b * 1024))" "$(echo "$b / $j" | bc -l)"
