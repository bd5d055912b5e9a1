#!/usr/bin/env python3
"""Faults under load: wrk at 64 connections against `tabserve serve -w 2` while
the server is reloaded, its workers are killed, it is slow-lorised, it holds
10,000 idle connections, and it is sent endless bodies. Prints the figures that
docs/RELIABILITY.md records. Needs wrk and (for slowloris) slowhttptest."""
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from test_server import SEED, Server, rss_kb  # noqa: E402

LUA = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
LUA.write('wrk.method = "POST"\nwrk.body = \'{"Age": 22, "Fare": 7.25, "Embarked": "S", "Sex": "male", "Pclass": 3}\'\n'
          'wrk.headers["Content-Type"] = "application/json"\n')
LUA.close()


def wrk(port, seconds, conns=64, latency=False):
    args = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "-s", LUA.name, f"http://127.0.0.1:{port}/model"]
    if latency:
        args.insert(1, "--latency")
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def parse(out):
    r = {"requests": int(re.search(r"(\d+) requests in", out).group(1))}
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(map(int, m.groups())) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    r["p99"] = m.group(1) if m else "?"
    return r


def reloads():
    s = Server()
    w = wrk(s.port, 8)
    time.sleep(1)
    for _ in range(10):
        s.proc.send_signal(signal.SIGHUP)
        time.sleep(0.6)
    r = parse(w.communicate()[0])
    s.stop()
    print(f"SIGHUP x10 under load: {r['requests']} requests, {r['non2xx']} non-2xx, {r['socket_errors']} socket errors")
    return r


def repository_swaps():
    """wrk on POST /v2/models/m/infer while new versions of m arrive (and one broken)."""
    root = tempfile.mkdtemp(prefix="tabserve-swaps-")
    model = os.path.join(os.path.dirname(__file__), "..", "models", "titanic.json")

    def put(version, broken=False):
        tmp = f"{root}/m/.incoming-{version}"
        os.makedirs(tmp)
        if broken:
            with open(f"{tmp}/model.json", "w") as f:
                f.write("{")
        else:
            shutil.copy(model, f"{tmp}/model.json")
        os.rename(tmp, f"{root}/m/{version}")

    put(1)
    body = ('{"inputs": [{"name": "Age", "shape": [1], "datatype": "FP32", "data": [22]}, '
            '{"name": "Sex", "shape": [1], "datatype": "BYTES", "data": ["male"]}, '
            '{"name": "Pclass", "shape": [1], "datatype": "INT64", "data": [3]}]}')
    lua = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    lua.write(f'wrk.method = "POST"\nwrk.body = \'{body}\'\nwrk.headers["Content-Type"] = "application/json"\n')
    lua.close()
    s = Server("--model-repository", root, "--repository-poll", "0.2")
    w = subprocess.Popen(["wrk", "-t2", "-c64", "-d9s", "-s", lua.name, f"http://127.0.0.1:{s.port}/v2/models/m/infer"],
                         stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    for v in range(2, 8):
        put(v, broken=v == 5)
        time.sleep(1)
    r = parse(w.communicate()[0])
    swaps = s.errors().count("Repository ") if hasattr(s, "errors") else "?"
    s.stop()
    os.unlink(lua.name)
    shutil.rmtree(root)
    print(f"6 new versions (one broken) under load, KServe V2 infer: {r['requests']} requests, {r['non2xx']} non-2xx, "
          f"{r['socket_errors']} socket errors; {swaps} reloads")
    return r


def kills():
    s = Server()
    w = wrk(s.port, 9)
    time.sleep(1)
    respawn_ms = []
    for _ in range(10):
        victim = s.workers()[0]
        t0 = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        while True:  # a new worker answering: two live workers again, readiness through it
            live = s.workers()
            if len(live) == 2 and victim not in live:
                break
            time.sleep(0.0005)
        respawn_ms.append((time.monotonic() - t0) * 1000)
        time.sleep(0.5)
    r = parse(w.communicate()[0])
    restarts = s.metric("tabserve_worker_restarts_total")
    s.stop()
    print(f"kill -9 of a worker x10 under load: {r['requests']} requests, {r['non2xx']} non-2xx, "
          f"{r['socket_errors']} socket errors (connections of the killed worker); "
          f"respawn median {sorted(respawn_ms)[5]:.1f} ms, max {max(respawn_ms):.1f} ms; restarts counted {restarts:.0f}")
    return r


def slowloris():
    if not shutil.which("slowhttptest"):
        print("slowloris: SKIPPED (apt-get install slowhttptest)")
        return None
    s = Server("--worker-connections", "4000")
    base = parse(wrk(s.port, 5, conns=16, latency=True).communicate()[0])
    attack = subprocess.Popen(["slowhttptest", "-H", "-c", "1000", "-i", "5", "-r", "500", "-l", "30", "-t", "POST",
                               "-u", f"http://127.0.0.1:{s.port}/model", "-x", "24", "-p", "3"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(5)
    r = parse(wrk(s.port, 8, conns=16, latency=True).communicate()[0])
    attack.terminate()
    attack.wait()
    s.stop()
    print(f"slowloris (slowhttptest, 1000 slow connections) + wrk 16 connections: {r['requests']} requests, "
          f"p99 {r['p99']} (without the attack: {base['p99']}), {r['non2xx']} non-2xx, {r['socket_errors']} socket errors")
    return r


def idle_connections(n=10000):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    s = Server("--worker-connections", "10000", "--keep-alive", "60")
    rss0 = sum(rss_kb(p) for p in s.workers())
    socks = []
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", s.port))
        c.sendall(req)
        socks.append(c)
    for c in socks:
        c.recv(1024)  # each got its answer and now idles, kept alive
    rss1 = sum(rss_kb(p) for p in s.workers())
    r = parse(wrk(s.port, 5, conns=64, latency=True).communicate()[0])
    for c in socks:
        c.close()
    s.stop()
    print(f"{n} idle keep-alive connections: wrk still did {r['requests']} requests, p99 {r['p99']}, "
          f"{r['socket_errors']} socket errors; workers' RSS {rss0} kB -> {rss1} kB "
          f"({(rss1 - rss0) * 1024 / n:.0f} bytes per idle connection)")
    return r


def endless_bodies():
    s = Server()
    w = wrk(s.port, 6)
    rss0 = sum(rss_kb(p) for p in s.workers())
    results = []

    def endless():
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        c.sendall(b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        sent = 0
        try:
            while sent < 500_000_000:
                c.sendall(b"10000\r\n" + b" " * 0x10000 + b"\r\n")
                sent += 0x10000
            results.append(("not cut off", sent))
        except OSError:
            results.append(("cut off", sent))
        c.close()

    def huge():
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        c.sendall(b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{")
        results.append(("1 GB announced", c.recv(200).split(b"\r\n")[0].decode()))
        c.close()

    threads = [threading.Thread(target=endless) for _ in range(4)] + [threading.Thread(target=huge) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rss1 = sum(rss_kb(p) for p in s.workers())
    r = parse(w.communicate()[0])
    s.stop()
    print(f"4 endless chunked bodies + 4 bodies announced as 1 GB, under load: {sorted(set(x[0] for x in results))}, "
          f"answers to the 1 GB ones: {sorted(set(x[1] for x in results if x[0] == '1 GB announced'))}; "
          f"bytes sent before the cut: max {max(x[1] for x in results if x[0] == 'cut off') / 1e6:.1f} MB; "
          f"workers' RSS {rss0} -> {rss1} kB; wrk: {r['requests']} requests, {r['non2xx']} non-2xx")
    return r


if __name__ == "__main__":
    reloads()
    repository_swaps()
    kills()
    slowloris()
    idle_connections()
    endless_bodies()
