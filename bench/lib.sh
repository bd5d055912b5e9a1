# What the protocol benchmarks share (sourced by bench/protocols.sh and bench/grpc.sh):
# a temporary folder cleaned up with the servers started, free ports, medians,
# and nginx-light as the anchor, configured with the server block given.
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null; sleep 0.3; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# tabserve_start PORT ARGS...: tabserve -w 2 on 127.0.0.1:PORT, waited for until ready
tabserve_start() {
  local port=$1
  shift
  "$BIN" serve -w 2 -b "127.0.0.1:$port" "$@" 2>/dev/null & pids+=($!)
  for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/v2/health/ready" && break; sleep 0.02; done
}

# nginx_start HTTP-SETTINGS SERVER-BLOCK: nginx-light, 2 workers, with these http{} settings and server{}
nginx_start() {
  cat > "$tmp/nginx.conf" <<NGX
worker_processes 2;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp;
  $1
  server {
    $2
  }
}
NGX
  nginx -c "$tmp/nginx.conf" 2>/dev/null &
  for _ in $(seq 200); do [ -f "$tmp/nginx.pid" ] && break; sleep 0.02; done
  sleep 0.1
}
