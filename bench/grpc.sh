#!/usr/bin/env bash
# gRPC against the anchor, same run: one-row ModelInfer (typed contents) on
# tabserve -w 2 --grpc-bind, driven by h2load (nghttp2's load generator) with a
# pre-framed request, 4 connections x 16 streams = 64 concurrent streams,
# against nginx-light answering an HTTP/2 POST (h2c) with a fixed body over the
# same connections and streams, medians of alternating rounds, p99 beside. Then
# 1,024 rows a call as raw tensors over gRPC against the REST binary tensor
# extension (wrk), 8 connections: rows a second for each.
set -u
BIN=${BIN:-build/tabserve}
DURATION=${DURATION:-3}
ROUNDS=${ROUNDS:-5}
for tool in h2load nginx wrk protoc; do
  command -v "$tool" > /dev/null || { echo "SKIPPED: bench-grpc: $tool is not installed (packages/test.txt)"; exit 0; }
done
. "$(dirname "$0")/lib.sh"

# the calls, framed: protoc's Python messages from proto/inference.proto
protoc --proto_path=proto --python_out="$tmp" inference.proto
/usr/bin/python3 "$(dirname "$0")/rows.py" "$tmp"  # the 1,024 rows for REST's binary extension
/usr/bin/python3 - "$tmp" "$(dirname "$0")" <<'PY'
import struct, sys
d = sys.argv[1]
sys.path[:0] = [d, sys.argv[2]]
import inference_pb2 as pb
def frame(m):
    b = m.SerializeToString()
    return b"\0" + struct.pack(">I", len(b)) + b
one = pb.ModelInferRequest(model_name="model")
for name, dt, v in (("Age", "FP32", 22.0), ("Fare", "FP32", 7.25), ("Pclass", "INT64", 3)):
    t = one.inputs.add(name=name, datatype=dt, shape=[1])
    (t.contents.fp32_contents if dt == "FP32" else t.contents.int64_contents).append(v)
for name, v in (("Sex", b"male"), ("Embarked", b"S")):
    one.inputs.add(name=name, datatype="BYTES", shape=[1]).contents.bytes_contents.append(v)
open(f"{d}/one.grpc", "wb").write(frame(one))
from rows import N, parts  # bench/rows.py: the same 1,024 rows as the REST side
raw = pb.ModelInferRequest(model_name="model")
for n, t, b in parts:
    raw.inputs.add(name=n, datatype=t, shape=[N])
    raw.raw_input_contents.append(b)
open(f"{d}/1024.grpc", "wb").write(frame(raw))
PY

# h2load URL FILE CONNECTIONS STREAMS -> "req/s p99_ms" (only when every request got a 200)
h2() {
  h2load -D "$DURATION" -c "$3" -m "$4" -t 2 -d "$2" -H 'content-type: application/grpc' -H 'te: trailers' \
    --log-file="$tmp/h2.log" "$1" > "$tmp/h2.out" 2>&1
  grep -q " 0 failed, 0 errored" "$tmp/h2.out" && grep -q "status codes: [0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx" "$tmp/h2.out" \
    || { echo "h2load: not every call succeeded" >&2; grep -E "requests:|status codes" "$tmp/h2.out" >&2; }
  rps=$(awk '/^finished in/ {print int($4)}' "$tmp/h2.out")
  p99=$(awk '{print $3}' "$tmp/h2.log" | sort -n | awk '{v[NR] = $1} END {printf "%.2f", v[int(NR * 0.99)] / 1000}')
  echo "$rps $p99"
}

gport=$(free_port); port=$(free_port)
tabserve_start "$port" --grpc-bind "127.0.0.1:$gport" --max-batch 1024 --limit-request-body 4194304
nport=$(free_port)
# keepalive_requests: nginx closes a connection after 1,000 requests otherwise
nginx_start nginx "http2_max_concurrent_streams 128; keepalive_requests 1000000000;" "listen 127.0.0.1:$nport http2;
    location / { default_type application/grpc; return 200 'a fixed reply of about a ModelInfer answer size'; }"

# the answer is right before it is fast: the seed's probability, as REST gives it
out=$(h2load -n 1 -c 1 -d "$tmp/one.grpc" -H 'content-type: application/grpc' -H 'te: trailers' \
  "http://127.0.0.1:$gport/inference.GRPCInferenceService/ModelInfer" 2>&1)
echo "$out" | grep -q "1 succeeded" || { echo "FAIL: the ModelInfer call did not succeed"; echo "$out"; exit 1; }

url=/inference.GRPCInferenceService/ModelInfer
bin1k=$tmp/bin.lua
{ echo 'wrk.method = "POST"'; echo "local f = io.open(\"$tmp/v2-1024.bin\", \"rb\"); wrk.body = f:read(\"*a\"); f:close()"
  echo 'wrk.headers["Content-Type"] = "application/octet-stream"'
  echo "wrk.headers[\"Inference-Header-Content-Length\"] = \"$(cat "$tmp/v2-1024.hlen")\""; } > "$bin1k"
for r in $(seq "$ROUNDS"); do
  h2 "http://127.0.0.1:$gport$url" "$tmp/one.grpc" 4 16 >> "$tmp/ts.one"
  h2 "http://127.0.0.1:$nport$url" "$tmp/one.grpc" 4 16 >> "$tmp/ng.one"
  h2 "http://127.0.0.1:$gport$url" "$tmp/1024.grpc" 8 1 >> "$tmp/ts.1k"
  wrk -t2 -c8 -d"${DURATION}s" -s "$bin1k" "http://127.0.0.1:$port/v2/models/model/infer" > "$tmp/wrk.out"
  awk '/Requests\/sec/ {print int($2)}' "$tmp/wrk.out" >> "$tmp/rest.1k"
done
ts=$(awk '{print $1}' "$tmp/ts.one" | median); ts99=$(awk '{print $2}' "$tmp/ts.one" | median)
ng=$(awk '{print $1}' "$tmp/ng.one" | median); ng99=$(awk '{print $2}' "$tmp/ng.one" | median)
g1k=$(awk '{print $1}' "$tmp/ts.1k" | median); g1k99=$(awk '{print $2}' "$tmp/ts.1k" | median)
r1k=$(median < "$tmp/rest.1k")
printf '%-48s %10s %9s %10s %9s %8s\n' "one row, 2 workers, 4 connections x 16 streams" tabserve "p99 ms" nginx "p99 ms" ratio
# the ratio of each round's pair, then their median: this machine's speed drifts between rounds
ratio=$(paste "$tmp/ts.one" "$tmp/ng.one" | awk '{printf "%.4f\n", $1 / $3}' | median)
printf '%-48s %10s %9s %10s %9s %7.2fx\n' "ModelInfer (gRPC, typed contents)" "$ts" "$ts99" "$ng" "$ng99" "$ratio"
echo "(calls/s and p99, medians of $ROUNDS alternating rounds of ${DURATION}s; the ratio: the median of each round's"
echo " pair; nginx answers a fixed body over h2c; target >= 0.8x; rounds: $(paste -d/ <(awk '{print $1}' "$tmp/ts.one") <(awk '{print $1}' "$tmp/ng.one") | tr '\n' ' '))"
echo
printf '%-48s %10s %12s %9s\n' "1,024 rows per call, 8 connections" "calls/s" "rows/s" "p99 ms"
printf '%-48s %10s %12s %9s\n' "gRPC ModelInfer, raw tensors" "$g1k" "$((g1k * 1024))" "$g1k99"
printf '%-48s %10s %12s  %.2fx gRPC over REST\n' "REST binary tensor data extension" "$r1k" "$((r1k * 1024))" "$(echo "$g1k / $r1k" | bc -l)"
