#!/usr/bin/env bash
# A short server session under valgrind memcheck: master and a worker, every
# route, good and bad input, a reload, then SIGTERM. Any memcheck error or
# definite/indirect leak in any process fails it.
set -u
BIN=${BIN:-build/tabserve}
VALGRIND=${VALGRIND:-valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
$VALGRIND --trace-children=yes --child-silent-after-fork=no --log-file="$log.%p" \
  "$BIN" serve -w 1 -b "127.0.0.1:$port" --max-requests 40 2> /dev/null &
server=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done
url=http://127.0.0.1:$port
seed='{"Age": 22, "Fare": 7.25, "Embarked": "S", "Sex": "male", "Pclass": 3}'
for _ in 1 2 3; do
  curl -s -XPOST "$url/model" -H 'Content-Type: application/json' -d "$seed" > /dev/null
  curl -s -XPOST "$url/model" -H 'Content-Type: application/json' -d "[$seed, $seed]" > /dev/null
  curl -s -XPOST "$url/model" -H 'Content-Type: application/json' -d '{"Age": "old"}' > /dev/null
  curl -s -XPOST "$url/model" -H 'Content-Type: application/json' -d '{"Age": 22,,' > /dev/null
  curl -s -XPOST "$url/model" -H 'Content-Type: text/plain' -d 'x' > /dev/null
  curl -s -XDELETE "$url/model" > /dev/null
  for p in /model /healthz /readyz /metrics /openapi.yaml /nope; do curl -s "$url$p" > /dev/null; done
done
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
  exit 1
fi
echo "ok   valgrind: server session clean ($processes processes: master, workers across a reload and a recycle)"
rm -f "$log"*
