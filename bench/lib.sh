# What the server benchmarks share (sourced by bench/serve.sh, bench/protocols.sh and
# bench/grpc.sh): a temporary folder cleaned up with the servers started, free ports,
# medians, and nginx-light as the anchor, configured with the server block given.
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for f in "$tmp"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  sleep 0.3
  rm -rf "$tmp"
}
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

# nginx_conf NAME HTTP-SETTINGS SERVER-BLOCK: $tmp/NAME.conf for nginx-light, 2 workers,
# pid file $tmp/NAME.pid, with these http{} settings and server{}. It runs in the
# foreground ("daemon off;", as in a container) unless NGINX_DAEMON=on.
NGINX_DAEMON=${NGINX_DAEMON:-off}
nginx_conf() {
  cat > "$tmp/$1.conf" <<NGX
worker_processes 2;
daemon $NGINX_DAEMON;
pid $tmp/$1.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp;
  $2
  server {
    $3
  }
}
NGX
}
# nginx_run NAME: start nginx on $tmp/NAME.conf and return at once (in the foreground
# mode $! is its master)
nginx_run() {
  if [ "$NGINX_DAEMON" = on ]; then nginx -c "$tmp/$1.conf" 2>/dev/null; else nginx -c "$tmp/$1.conf" 2>/dev/null & fi
}
# nginx_start NAME HTTP-SETTINGS SERVER-BLOCK: configure, start, and wait for its pid file
nginx_start() {
  nginx_conf "$@"
  nginx_run "$1"
  for _ in $(seq 200); do [ -f "$tmp/$1.pid" ] && break; sleep 0.02; done
  sleep 0.1
}
