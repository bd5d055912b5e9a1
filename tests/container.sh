#!/usr/bin/env bash
# Container tests on a real Docker engine: build the image, run it as the seed's
# stage 2 did (run / ls / kill / rm), check size, health, reload, read-only,
# another user, a mounted model, and how fast `docker stop` ends it.
# Skips, saying so, when no Docker engine answers.
set -u
IMAGE=${IMAGE:-tabserve}
if ! docker info >/dev/null 2>&1; then
  echo "SKIPPED: no Docker engine answers (docker info failed): container tests not run"
  exit 0
fi
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
name=tabserve-test-$$
cleanup() { docker rm -f "$name" "$name-m" "$name-bad" >/dev/null 2>&1; }
trap cleanup EXIT
seed='{"Age": 22, "Fare": 7.25, "Embarked": "S", "Sex": "male", "Pclass": 3}'

make -s image IMAGE="$IMAGE" > /tmp/tabserve-image.log 2>&1 || { cat /tmp/tabserve-image.log; echo "FAIL make image"; exit 1; }
size=$(docker image inspect "$IMAGE:latest" --format '{{.Size}}')
echo "image size: $size bytes"
check "image is at most 10 MB" "[ $size -le 10000000 ]"
version=$(sed -n 's/^#define TABSERVE_VERSION *"\(.*\)"/\1/p' src/model/model.h)
check "image is tagged latest and $version" "docker image inspect $IMAGE:$version >/dev/null"

gport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
docker container run -d --name "$name" -p "127.0.0.1:$port:8080" -p "127.0.0.1:$gport:8001" --read-only --user 12345 "$IMAGE" >/dev/null
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
# gRPC health checking on the image's 8001 (grpcio from Debian: the raw response bytes, status 1 = SERVING)
if /usr/bin/python3 -c 'import grpc' 2>/dev/null; then
  health=$(/usr/bin/python3 -c "import grpc; print(grpc.insecure_channel('127.0.0.1:$gport').unary_unary('/grpc.health.v1.Health/Check')(b'', timeout=10).hex())")
  check "gRPC health checking answers SERVING on 8001" "[ '$health' = 0801 ]"
fi
out=$(curl -s -XPOST "http://127.0.0.1:$port/model" -H 'Content-Type: application/json' -d "$seed")
check "the seed's request is answered (read-only, --user 12345)" "echo '$out' | grep -Eq '^\\{\"predict\": 0\\.[0-9]+\\}\$'"
for _ in $(seq 60); do
  status=$(docker container ls --filter "name=$name" --format '{{.Status}}')
  case "$status" in *"(healthy)"*) break ;; esac
  sleep 0.5
done
check "docker container ls shows it healthy" "docker container ls --filter name=$name --format '{{.Status}}' | grep -q '(healthy)'"
if [ -n "${NEWMAN:-}" ]; then
  $NEWMAN run api/tabserve.postman_collection.json --env-var "baseUrl=http://127.0.0.1:$port" --reporters cli > /tmp/tabserve-newman-container.log 2>&1
  rc=$?; tail -25 /tmp/tabserve-newman-container.log
  check "the API collection passes against the container" "[ $rc -eq 0 ]"
fi
docker container kill -s HUP "$name" >/dev/null
sleep 1
check "docker kill -s HUP reloads the model" "docker logs $name 2>&1 | grep -q 'Reloaded model'"
check "and it keeps serving" "curl -sf -XPOST http://127.0.0.1:$port/model -H 'Content-Type: application/json' -d '$seed' >/dev/null"
check "logs go to stdout (access log) and stderr (error log)" "docker logs $name 2>/dev/null | grep -q 'POST /model HTTP/1.1\" 200' && docker logs $name 2>&1 >/dev/null | grep -q 'Booting worker'"
t0=$(date +%s%N)
docker container stop "$name" >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "docker stop took $ms ms"
check "docker stop ends it within 2 s (graceful drain)" "[ $ms -lt 2000 ]"
check "and it exited 0" "[ \"\$(docker inspect $name --format '{{.State.ExitCode}}')\" = 0 ]"
docker container rm "$name" >/dev/null
check "docker container rm removes it" "! docker container inspect $name >/dev/null 2>&1"

docker container run -d --name "$name-m" -p "127.0.0.1:$port:8080" -v "$PWD/models:/models:ro" -e TABSERVE_MODEL=/models/titanic.json "$IMAGE" >/dev/null
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
check "a mounted model is served (TABSERVE_MODEL)" "docker logs $name-m 2>&1 | grep -q 'Starting tabserve' && curl -sf http://127.0.0.1:$port/model | grep -q fnv1a64"
docker container kill "$name-m" >/dev/null
docker container rm "$name-m" >/dev/null
# models of other formats, mounted as the README says (the committed fuzz seeds)
for f in onnx-pipeline.onnx xgb-binary.json; do
  docker container run -d --name "$name-f" -p "127.0.0.1:$port:8080" -v "$PWD/fuzz/corpus/model:/models:ro" \
    -e TABSERVE_MODEL="/models/$f" "$IMAGE" >/dev/null
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  body=$(curl -sf "http://127.0.0.1:$port/model" | python3 -c 'import json,sys; print(json.dumps({i["name"]: (i["vocabulary"][0] if i.get("vocabulary") else 0.5) for i in json.load(sys.stdin)["inputs"]}))')
  check "the container serves $f: POST /model answers a number" \
    "curl -sf -XPOST http://127.0.0.1:$port/model -H 'Content-Type: application/json' -d '$body' | grep -Eq '\"predict\": [0-9.e-]+'"
  docker container rm -f "$name-f" >/dev/null
done
echo '{"format": "tabserve-model"}' > /tmp/tabserve-bad-model.json
docker container run --name "$name-bad" -v /tmp/tabserve-bad-model.json:/bad.json:ro "$IMAGE" serve /bad.json > /tmp/tabserve-bad.log 2>&1
rc=$?
check "a bad model stops the container before serving, with the loader's message" "[ $rc -ne 0 ] && grep -q 'cannot load the model: /bad.json: ' /tmp/tabserve-bad.log && ! grep -q 'Booting worker' /tmp/tabserve-bad.log"

[ $fails -eq 0 ] && echo "container: all passed" || { echo "container: $fails failed"; exit 1; }
