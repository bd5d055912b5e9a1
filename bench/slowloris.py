#!/usr/bin/env python3
"""Slowloris against one tabserve: N clients each send a request line,
then one header byte every INTERVAL seconds (reconnecting when evicted), while a quick client
sends GET /healthz every 50 ms; prints its latency percentiles.
Usage: bench/slowloris.py PORT N INTERVAL SECONDS   (start e.g. tabserve serve -w 1 --worker-connections 8 -b 127.0.0.1:PORT)"""
import socket, sys, time, threading, http.client
port, n, interval = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
stop = time.time() + float(sys.argv[4])
reconnects = [0]
def attacker():
    while time.time() < stop:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\n")
            while time.time() < stop:
                time.sleep(interval)
                s.sendall(b"X")
        except OSError:
            reconnects[0] += 1
ts = [threading.Thread(target=attacker, daemon=True) for _ in range(n)]
for t in ts: t.start()
time.sleep(1.5)
lat = []
while time.time() < stop - 0.5:
    t0 = time.time()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10); c.request("GET", "/healthz"); r = c.getresponse(); r.read(); c.close()
        lat.append(time.time() - t0)
    except Exception as e:
        lat.append(99)
    time.sleep(0.05)
lat.sort()
print(f"attackers={n} requests={len(lat)} p50={lat[len(lat)//2]*1000:.1f}ms p99={lat[int(len(lat)*0.99)]*1000:.1f}ms max={lat[-1]*1000:.1f}ms attacker reconnects={reconnects[0]}")
