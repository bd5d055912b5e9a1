#!/usr/bin/env bash
# HTTP server benchmark, one table: tabserve (2 workers), nginx-light (2 workers,
# `return 200` with a fixed JSON body on the same route: the anchor, same run) and,
# where Debian's gunicorn and python3-flask are installed, the seed's Flask app.
# wrk posts the seed's body on loopback.
#   MODEL=FILE BODY='{...}' TARGET=0.8  the same with another model and request
#   (make bench-import serves the 500-tree XGBoost model this way).
set -u
BIN=${BIN:-build/tabserve}
MODEL=${MODEL:-}
BODY=${BODY:-'{"Age": 22, "Fare": 7.25, "Embarked": "S", "Sex": "male", "Pclass": 3}'}
TARGET=${TARGET:-0.9}
DURATION=${DURATION:-4}
# Both servers run alike, as far as the scheduler can tell. The kernel's autogroups
# weigh each session as one: SESSIONS=shared (the default) runs both in the foreground
# in this script's session, with wrk, as both run in a container (nginx with
# "daemon off;"); SESSIONS=own gives each its own session, as a daemon has.
SESSIONS=${SESSIONS:-shared}
if [ "$SESSIONS" = own ]; then detach=setsid; NGINX_DAEMON=on; else detach=; NGINX_DAEMON=off; fi
. "$(dirname "$0")/lib.sh"
cat > "$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body   = '$BODY'
wrk.headers["Content-Type"] = "application/json"
LUA
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# ms from exec to the first 200 on PORT's PATH, polled every millisecond by bash
# itself (/dev/tcp, read -t on an idle FIFO): a fresh curl and sleep a try cost
# more than a server's start on a small VM, and made both servers look slower
mkfifo "$tmp/tick" && exec 8<> "$tmp/tick"
wait_200() {
  local t0=$1 port=$2 path=$3 line t
  while :; do
    if exec 9<> "/dev/tcp/127.0.0.1/$port"; then
      printf 'GET %s HTTP/1.0\r\nHost: bench\r\n\r\n' "$path" >&9
      IFS= read -r line <&9
      exec 9<&-
      case $line in "HTTP/1."?" 200"*) break ;; esac
    fi
    read -rt 0.001 -u 8
  done 2> /dev/null
  t=${EPOCHREALTIME/./}
  echo $((t / 1000 - t0))
}
rps() { wrk -t2 -c"$2" -d"${DURATION}s" --latency -s "$tmp/post.lua" "$1" > "$tmp/wrk.$3"; awk '/Requests\/sec/ {print int($2)}' "$tmp/wrk.$3"; }
p99() { awk '$1 == "99%" {print $2}' "$tmp/wrk.$1"; }
errs() { grep -E "Socket errors|Non-2xx" "$tmp/wrk.$1" | tr '\n' ' '; }

# both servers up first; then alternate short runs so that drift in the machine's
# load hits both alike, and report medians
port=$(free_port)
t0=$(now_ms)
$detach "$BIN" serve ${MODEL:+"$MODEL"} -w 2 -b "127.0.0.1:$port" 2>/dev/null & pids+=($!)
ts_ready=$(wait_200 "$t0" "$port" /readyz)
echo "$ts_ready" > "$tmp/ts.ready"
# the anchor: nginx answering the route with a fixed body
nginx_model() { # NAME PORT
  nginx_conf "$1" "" "listen 127.0.0.1:$2;
    location /model { default_type application/json; return 200 '{\"predict\": 0.116410606}\n'; }"
}
nport=$(free_port)
nginx_model nginx "$nport"
t0=$(now_ms)
nginx_run nginx
ng_ready=$(wait_200 "$t0" "$nport" /model)
echo "$ng_ready" > "$tmp/ng.ready"
# a start is one sample on a noisy machine: four more of each, alternating, for a median
for r in 1 2 3 4; do
  p=$(free_port)
  t0=$(now_ms)
  $detach "$BIN" serve ${MODEL:+"$MODEL"} -w 2 -b "127.0.0.1:$p" 2>/dev/null & sample=$!
  wait_200 "$t0" "$p" /readyz >> "$tmp/ts.ready"
  kill "$sample"; wait "$sample" 2>/dev/null
  p=$(free_port)
  nginx_model "ready$r" "$p"
  t0=$(now_ms)
  nginx_run "ready$r"; sample=$!
  wait_200 "$t0" "$p" /model >> "$tmp/ng.ready"
  kill "$(cat "$tmp/ready$r.pid")" 2>/dev/null && rm -f "$tmp/ready$r.pid"
  [ "$NGINX_DAEMON" = on ] || wait "$sample" 2>/dev/null
done
to_us() { awk '{v = $1; if (v ~ /us$/) {sub(/us/, "", v); print v} else if (v ~ /ms$/) {sub(/ms/, "", v); print v * 1000} else {sub(/s/, "", v); print v * 1000000}}'; }
ROUNDS=${ROUNDS:-7}
ts_err=""
for r in $(seq "$ROUNDS"); do
  rps "http://127.0.0.1:$port/model" 64 ts64 >> "$tmp/ts.rps"; ts_err="$ts_err$(errs ts64)"
  rps "http://127.0.0.1:$nport/model" 64 ng64 >> "$tmp/ng.rps"
  rps "http://127.0.0.1:$port/model" 16 ts16 > /dev/null; p99 ts16 | to_us >> "$tmp/ts.p99"
  rps "http://127.0.0.1:$nport/model" 16 ng16 > /dev/null; p99 ng16 | to_us >> "$tmp/ng.p99"
done
ts_rps=$(median < "$tmp/ts.rps"); ng_rps=$(median < "$tmp/ng.rps")
ts_ready=$(median < "$tmp/ts.ready"); ng_ready=$(median < "$tmp/ng.ready")
ts_p99="$(median < "$tmp/ts.p99")us"; ng_p99="$(median < "$tmp/ng.p99")us"
# drive tabserve past a million requests in all, then read each worker's RSS
done_reqs=$(awk '{s += $1} END {print int(s * '"$DURATION"' * 1.5)}' "$tmp/ts.rps")
while [ "$done_reqs" -lt 1000000 ]; do
  wrk -t2 -c64 -d5s -s "$tmp/post.lua" "http://127.0.0.1:$port/model" > "$tmp/wrk.more"
  done_reqs=$((done_reqs + $(awk '/requests in/ {print $1}' "$tmp/wrk.more")))
done
ts_rss=$(for w in $(pgrep -P "${pids[0]}"); do awk '/VmRSS/ {print $2}' "/proc/$w/status"; done | sort -n | tail -1)
ng_rss=$(for w in $(pgrep -P "$(cat "$tmp/nginx.pid")"); do awk '/VmRSS/ {print $2}' "/proc/$w/status"; done | sort -n | tail -1)

printf '%-28s %10s %12s %12s %14s %s\n' server "req/s (64c)" "p99 (16c)" "worker RSS" "exec->200" "notes"
printf '%-28s %10s %12s %9s kB %11s ms %s\n' "tabserve -w 2" "$ts_rps" "$ts_p99" "$ts_rss" "$ts_ready" "median of $ROUNDS alternating runs; RSS after ~$done_reqs requests ${ts_err}"
printf '%-28s %10s %12s %9s kB %11s ms %s\n' "nginx-light, fixed body" "$ng_rps" "$ng_p99" "$ng_rss" "$ng_ready" "anchor, same rounds"
if [ -z "$MODEL" ] && /usr/bin/python3 -c 'import flask, numpy' 2>/dev/null && command -v gunicorn >/dev/null; then
  gport=$(free_port)
  t0=$(now_ms)
  (cd "$(dirname "$0")/.." && exec gunicorn -w 4 -b "127.0.0.1:$gport" --chdir bench flask_app:app --env TABSERVE_MODEL="$PWD/tests/fixtures/titanic-v1.json" 2>/dev/null) & pids+=($!)
  for _ in $(seq 3000); do curl -sf -o /dev/null -XPOST -H 'Content-Type: application/json' -d '{"Age":1,"Fare":1,"Sex":"male","Embarked":"S","Pclass":1}' "http://127.0.0.1:$gport/model" && break; sleep 0.01; done
  gu_ready=$(( $(now_ms) - t0 ))
  gu_rps=$(rps "http://127.0.0.1:$gport/model" 64 gu64)
  gu_p99=$(p99 gu64)
  gu_rss=$(for w in $(pgrep -P "${pids[1]}"); do awk '/VmRSS/ {print $2}' "/proc/$w/status"; done | sort -n | tail -1)
  printf '%-28s %10s %12s %9s kB %11s ms %s\n' "flask + gunicorn -w 4" "$gu_rps" "$gu_p99(64c)" "$gu_rss" "$gu_ready" "seed replica, numpy MLP"
fi
echo
printf "tabserve / nginx throughput: %.2fx (target >= ${TARGET}x); p99 at 16 connections: tabserve %s, nginx %s (target: no worse)\n" \
  "$(echo "$ts_rps / $ng_rps" | bc -l)" "$ts_p99" "$ng_p99"
echo "targets: worker RSS <= 4096 kB after 1M requests; exec -> first 200 on /readyz <= 50 ms (median of 5 starts each)"
echo "sessions: $SESSIONS (SESSIONS=shared|own), $ROUNDS rounds of ${DURATION}s"
