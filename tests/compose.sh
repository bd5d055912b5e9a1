#!/usr/bin/env bash
# deploy/compose on a real Docker engine with Debian's docker-compose: builds the
# images (as the container test does), starts 2 replicas behind HAProxy, and
# checks that requests through the balancer reach every replica; that under wrk
# load, stopping one replica and then a rolling restart of all of them lose no
# request; and measures throughput through the balancer with 1 and 2 replicas.
# Skips, saying so, where there is no engine, no docker-compose or no wrk.
set -u
cd "$(dirname "$0")/.."
for tool in docker docker-compose wrk curl; do
  command -v "$tool" > /dev/null || { echo "SKIPPED: compose test: $tool is not installed"; exit 0; }
done
docker info > /dev/null 2>&1 || { echo "SKIPPED: compose test: no Docker engine answers"; exit 0; }
docker image inspect debian:bookworm-slim > /dev/null 2>&1 \
  || { echo "SKIPPED: compose test: no debian:bookworm-slim image to build from"; exit 0; }

project=tscompose$$
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
gport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dc() { TABSERVE_LB_PORT=$port TABSERVE_LB_GRPC_PORT=$gport docker-compose -p "$project" -f deploy/compose/compose.yaml "$@"; }
tmp=$(mktemp -d)
cleanup() { dc down -v > /dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
failed=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; failed=1; fi; }
url=http://127.0.0.1:$port
seed='{"Age": 22, "Fare": 7.25, "Embarked": "S", "Sex": "male", "Pclass": 3}'
cat > "$tmp/post.lua" << LUA
wrk.method = "POST"
wrk.body = '$seed'
wrk.headers["Content-Type"] = "application/json"
LUA
# the replicas' addresses on the project's network, as the host reaches them
replicas() { for c in $(dc ps -q tabserve); do docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$c"; done; }
served() { curl -s "http://$1:8080/metrics" | awk '/^tabserve_requests_total\{method="POST",route="\/model",status="200"\}/ {print $2}'; }
wait_ready() { # every replica healthy in Docker's eyes, and the balancer answering
  for _ in $(seq 120); do
    local healthy=0 n=0
    for c in $(dc ps -q tabserve); do
      n=$((n + 1))
      [ "$(docker inspect -f '{{.State.Health.Status}}' "$c")" = healthy ] && healthy=$((healthy + 1))
    done
    [ "$n" -gt 0 ] && [ "$healthy" = "$n" ] && curl -sf -o /dev/null "$url/readyz" && return 0
    sleep 0.5
  done
  return 1
}
errors() { awk '/Socket errors/ {s += $4 + $6 + $8 + $10} /Non-2xx/ {s += $5} END {print s + 0}' "$1"; }
rps() { awk '/Requests\/sec/ {print int($2)}' "$1"; }

dc build > "$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; echo "FAIL compose build"; exit 1; }
dc up -d --scale tabserve=2 > "$tmp/up.log" 2>&1 || { tail -20 "$tmp/up.log"; echo "FAIL compose up"; exit 1; }
check "2 replicas and the balancer come up healthy" wait_ready
answer=$(curl -s "$url/model" -H 'Content-Type: application/json' -d "$seed")
check "the seed's request through the balancer: $answer" '[ "$answer" = "{\"predict\": 0.0715020671}" ]'
if /usr/bin/python3 -c 'import grpc' 2>/dev/null; then # gRPC through the balancer's 8001 (raw bytes: SERVING)
  health=$(/usr/bin/python3 -c "import grpc; print(grpc.insecure_channel('127.0.0.1:$gport').unary_unary('/grpc.health.v1.Health/Check')(b'', timeout=10).hex())" 2>&1)
  check "gRPC health checking through the balancer answers SERVING: $health" "[ '$health' = 0801 ]"
fi
for _ in $(seq 200); do curl -s -o /dev/null "$url/model" -H 'Content-Type: application/json' -d "$seed"; done
counts=$(for ip in $(replicas); do served "$ip"; done | tr '\n' ' ')
check "requests reach every replica (POST /model per replica: $counts)" \
  '[ "$(echo $counts | wc -w)" = 2 ] && ! echo " $counts " | grep -q " 0 "'

# one replica stopped under load: the balancer sends its requests elsewhere
wrk -t2 -c32 -d10s -s "$tmp/post.lua" "$url/model" > "$tmp/stop.txt" &
load=$!
sleep 3
victim=$(dc ps -q tabserve | head -1)
docker stop -t 15 "$victim" > /dev/null
sleep 2
docker start "$victim" > /dev/null
wait $load
check "docker stop of one replica under load: $(awk '/requests in/ {print $1}' "$tmp/stop.txt") requests, $(errors "$tmp/stop.txt") failed" \
  '[ "$(errors "$tmp/stop.txt")" = 0 ]'
wait_ready > /dev/null

# a rolling restart of every replica under load, one at a time as an orchestrator does
wrk -t2 -c32 -d30s -s "$tmp/post.lua" "$url/model" > "$tmp/roll.txt" &
load=$!
sleep 2
for c in $(dc ps -q tabserve); do
  docker restart -t 15 "$c" > /dev/null
  for _ in $(seq 60); do [ "$(docker inspect -f '{{.State.Health.Status}}' "$c")" = healthy ] && break; sleep 0.5; done
  sleep 1 # the balancer's next health check (every second) takes it back
done
kill -INT $load 2> /dev/null
wait $load
check "rolling restart of both replicas under load: $(awk '/requests in/ {print $1}' "$tmp/roll.txt") requests, $(errors "$tmp/roll.txt") failed" \
  '[ "$(errors "$tmp/roll.txt")" = 0 ]'

# throughput through the balancer, 1 and 2 replicas (the machine's cores are shared by all of them)
for n in 1 2; do
  dc up -d --scale tabserve=$n > /dev/null 2>&1
  wait_ready > /dev/null
  sleep 3 # the balancer's DNS hold: removed replicas leave its list
  wrk -t2 -c64 -d5s -s "$tmp/post.lua" "$url/model" > "$tmp/scale$n.txt"
  echo "     through HAProxy, $n replica(s) of tabserve -w 2: $(rps "$tmp/scale$n.txt") req/s, $(errors "$tmp/scale$n.txt") failed ($(nproc) cores)"
done
[ $failed = 0 ] && echo "compose: all passed"
exit $failed
