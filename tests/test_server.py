#!/usr/bin/env python3
"""End-to-end tests of `tabserve serve`: every route and error, and the process
model (respawn, reload under load, graceful drain, recycling, TTIN/TTOU,
timeouts). Starts the real binary on free loopback ports; Python stdlib only."""
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BIN = os.path.abspath(os.environ.get("BIN", "build/tabserve"))
SEED = {"Age": 22, "Fare": 7.25, "Embarked": "S", "Sex": "male", "Pclass": 3}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def have_ipv6():
    """IPv6 loopback is off in some containers (Docker's default)."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def wait_healthy(addr, timeout=5):
    """Waits until `tabserve healthcheck ADDR` succeeds."""
    deadline = time.monotonic() + timeout
    while subprocess.run([BIN, "healthcheck", addr], capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{addr} not ready after {timeout} s")
        time.sleep(0.02)


def wait_until(cond, what, timeout=20):
    """Polls cond() until it holds: a wait on state the test can observe (a metric, a process,
    a socket). The timeout only keeps a broken server from hanging the suite; nothing here is
    timed."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting, after {timeout} s, for {what}")
        time.sleep(0.01)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def raw_exchange(port, data, pause=None):
    """Sends bytes on a raw socket (what a client library would refuse to send): data, or a list of
    pieces sent apart, pause seconds between them; returns all it reads until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for piece in data if isinstance(data, list) else [data]:
            sock.sendall(piece)
            if pause:
                time.sleep(pause)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
        return reply


class Server:
    """A running `tabserve serve` with its error log captured in a file."""

    def __init__(self, *args, env=None, workers=2, port=None):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="tabserve-test-")
        self.log_path = os.path.join(self.dir, "error.log")
        self.log = open(self.log_path, "w")
        full_env = dict(os.environ, TABSERVE_TEST_HOOKS="1")
        full_env.update(env or {})
        cmd = [BIN, "serve", "-w", str(workers), "-b", f"127.0.0.1:{self.port}", *args]
        self.t0 = time.monotonic()
        out = subprocess.PIPE if "--access-logfile" in args else subprocess.DEVNULL  # read by test_access_log
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=self.log, env=full_env)
        self.ready_after = self.wait_ready()

    def wait_ready(self, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, _, _ = self.request("GET", "/readyz")
                if status == 200:
                    return time.monotonic() - self.t0
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise AssertionError("server exited: " + self.errors())
            time.sleep(0.002)
        raise AssertionError("server not ready: " + self.errors())

    def request(self, method, path, body=None, headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                headers = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def predict(self, body=SEED, **kw):
        status, headers, data = self.request("POST", "/model", body, **kw)
        return status, headers, json.loads(data)

    def workers(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return sorted(int(p) for p in out.split())

    def wait_workers(self, n, timeout=5, exclude=()):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            w = [p for p in self.workers() if p not in exclude]
            if len(self.workers()) == n and len(w) == n:
                return w
            time.sleep(0.02)
        raise AssertionError(f"expected {n} workers, have {self.workers()}")

    def metric(self, name, labels="", timeout=10):
        _, _, text = self.request("GET", "/metrics", timeout=timeout)
        total = 0.0
        for line in text.decode().splitlines():
            if line.startswith(name) and labels in line and not line.startswith("#"):
                if line[len(name)] in " {":
                    total += float(line.rsplit(" ", 1)[1])
        return total

    def errors(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        errors = self.errors()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        # under `make test-asan`, a report from the master or any worker fails the test
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in errors:
                raise AssertionError("sanitizer report from the server:\n" + errors[errors.index(marker) - 200:][:3000])
        return self.proc.returncode


class Routes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("--limit-request-body", "4096", "--max-batch", "8", "--limit-request-line", "1000", "--limit-request-fields", "20")
        print(f"  (exec -> first 200 on /readyz: {cls.s.ready_after * 1000:.1f} ms)", file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def error(self, status, method, path, body=None, headers=None, field=None, contains=None):
        st, h, data = self.s.request(method, path, body, headers)
        self.assertEqual(st, status, data)
        self.assertEqual(h["Content-Type"], "application/json")
        e = json.loads(data)["error"]
        self.assertEqual(e["status"], status)
        if field:
            self.assertEqual(e.get("field"), field)
        if contains:
            self.assertIn(contains, e["message"])
        return e, h

    def test_seed_request(self):
        st, h, data = self.s.predict()
        self.assertEqual(st, 200)
        self.assertEqual(h["Content-Type"], "application/json")
        self.assertEqual(data, {"predict": 0.0715020671})  # the default model, as in the README

    def test_same_answer_as_offline_predict(self):
        out = subprocess.run([BIN, "predict", "--format", "jsonl"], input=json.dumps(SEED) + "\n",
                             capture_output=True, text=True, check=True).stdout
        self.assertAlmostEqual(json.loads(out)["predict"], self.s.predict()[2]["predict"], places=7)

    def test_batch(self):
        rows = [SEED, dict(SEED, Sex="female", Pclass=1), dict(SEED, Age=None)]
        st, _, data = self.s.predict(rows)
        self.assertEqual(st, 200)
        self.assertEqual(len(data["predict"]), 3)
        self.assertGreater(data["predict"][1], data["predict"][0])
        self.error(413, "POST", "/model", [SEED] * 9, contains="over the limit of 8")
        self.error(400, "POST", "/model", [], contains="empty batch")
        e, _ = self.error(400, "POST", "/model", [SEED, dict(SEED, Sex="x")], field="Sex")
        self.assertIn("$[1].Sex", e["message"])

    def test_model_metadata(self):
        st, _, data = self.s.request("GET", "/model")
        self.assertEqual(st, 200)
        m = json.loads(data)
        self.assertEqual([i["name"] for i in m["inputs"]], ["Age", "Fare", "Sex", "Embarked", "Pclass"])
        self.assertEqual(m["inputs"][4]["vocabulary"], [1, 2, 3])
        self.assertEqual(m["output"], {"name": "predict", "task": "binary", "link": "sigmoid", "label": "Survived",
                                       "meaning": "probability that Survived is 1"})
        # the MLP's columns (standardized, one-hot), then the trees' (raw values, category indices)
        self.assertEqual([f["input"] for f in m["features"]],
                         ["Age", "Age", "Fare", "Sex", "Embarked", "Pclass", "Age", "Fare", "Sex", "Embarked", "Pclass"])
        self.assertEqual([s["op"] for s in m["features"][2]["steps"]], ["impute", "log1p", "standardize"])
        self.assertEqual(m["predictor"]["kind"], "blend")
        mlp, trees = (member["predictor"] for member in m["predictor"]["members"])
        self.assertEqual([(member["offset"], member["weight"]) for member in m["predictor"]["members"]], [(0, 0.3), (11, 0.7)])
        self.assertEqual([(l["inputs"], l["units"]) for l in mlp["layers"]], [(11, 64), (64, 32), (32, 1)])
        self.assertEqual((trees["kind"], trees["trees"], trees["n_features"], trees["max_depth"]), ("trees", 128, 5, 5))
        self.assertIn("cross_validation", m["metadata"])
        self.assertRegex(m["hash"], r"^fnv1a64:[0-9a-f]{16}$")

    def test_health(self):
        for path in ("/healthz", "/readyz"):
            st, h, data = self.s.request("GET", path)
            self.assertEqual(st, 200)
            self.assertIn(json.loads(data)["status"], ("ok", "ready"))

    def test_openapi(self):
        st, h, data = self.s.request("GET", "/openapi.yaml")
        self.assertEqual(st, 200)
        self.assertTrue(data.startswith(b"openapi: 3.1"))
        with open(os.path.join(ROOT, "api", "openapi.yaml"), "rb") as f:
            self.assertEqual(data, f.read())  # the built-in model: the hand-written spec

    def test_openapi_of_a_model_file(self):
        """The built-in model's file served by path is still the built-in model (same
        content hash): the hand-written spec. Another model gets one generated from it."""
        with open(os.path.join(ROOT, "api", "openapi.yaml"), "rb") as f:
            written = f.read()
        for path, same in ((os.path.join(ROOT, "models", "titanic.json"), True),
                           (os.path.join(ROOT, "tests", "fixtures", "titanic-v1.json"), False)):
            s = Server(path, workers=1)
            try:
                st, _, data = s.request("GET", "/openapi.yaml")
                self.assertEqual(st, 200)
                self.assertTrue(data.startswith(b"openapi: 3"), data[:40])
                self.assertEqual(data == written, same, path)
            finally:
                s.stop()

    def test_classes_answered_with_the_likeliest(self):
        """A multiclass model answers each class's probability and the likeliest class
        (fuzz/corpus/model/v2-multiclass.json, written by hand: margins x, 0, -x)."""
        s = Server(os.path.join(ROOT, "fuzz", "corpus", "model", "v2-multiclass.json"), workers=1)
        try:
            st, _, data = s.request("POST", "/model", b'{"x": 2}', {"Content-Type": "application/json"})
            self.assertEqual(st, 200, data)
            got = json.loads(data)
            e = [math.exp(2), 1, math.exp(-2)]
            for name, want in zip(("setosa", "versicolor", "virginica"), e):
                self.assertAlmostEqual(got["predict"][name], want / sum(e), places=6)
            self.assertEqual(got["class"], "setosa")
            st, _, data = s.request("POST", "/model", b'[{"x": -3}, {"x": 0.5}]', {"Content-Type": "application/json"})
            self.assertEqual(json.loads(data)["class"], ["virginica", "setosa"])
        finally:
            s.stop()

    def test_errors(self):
        e, _ = self.error(400, "POST", "/model", '{"Age": 22,, }', {"Content-Type": "application/json"})
        self.assertEqual(e["offset"], 12)
        self.assertIn("byte 12", e["message"])
        self.error(400, "POST", "/model", dict(SEED, Age="old"), field="Age", contains="expected a number")
        self.error(400, "POST", "/model", dict(SEED, Age="22"), field="Age")
        self.error(400, "POST", "/model", dict(SEED, Sex="robot"), field="Sex", contains='"female", "male"')
        self.error(400, "POST", "/model", dict(SEED, Pclass=7), field="Pclass", contains="1, 2, 3")
        missing = dict(SEED)
        del missing["Sex"]
        self.error(400, "POST", "/model", missing, field="Sex", contains="missing required field")
        self.error(400, "POST", "/model", "", {"Content-Type": "application/json"}, contains="empty body")
        self.error(400, "POST", "/model", "[1]", {"Content-Type": "application/json"}, contains="expected an object")
        self.error(404, "GET", "/nope", contains="no route /nope")
        _, h = self.error(405, "DELETE", "/model")
        self.assertEqual(h["Allow"], "GET, HEAD, POST")
        _, h = self.error(405, "POST", "/healthz")
        self.assertEqual(h["Allow"], "GET, HEAD")
        self.error(415, "POST", "/model", "Age=22", {"Content-Type": "application/x-www-form-urlencoded"})
        _, h = self.error(413, "POST", "/model", "x" * 5000, {"Content-Type": "application/json"}, contains="--limit-request-body")
        self.assertNotIn("Allow", h)  # regression: transport errors once sent a garbage Allow header
        self.error(414, "GET", "/" + "a" * 2000, contains="--limit-request-line")
        self.error(431, "GET", "/healthz", headers={f"X-H{i}": "v" for i in range(30)}, contains="--limit-request-fields")
        # exact at the edge: 20 fields (Host, Connection and 18 more) are served, the 21st is refused
        for extra, status in ((18, b"200"), (19, b"431")):
            fields = b"".join(b"X-H%d: v\r\n" % i for i in range(extra))
            reply = raw_exchange(self.s.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + fields + b"\r\n")
            self.assertTrue(reply.startswith(b"HTTP/1.1 " + status), (extra, reply[:40]))
        # the server is still serving after all that
        self.assertEqual(self.s.predict()[0], 200)

    def test_headers_over_the_connection_buffer(self):
        # past --limit-request-headers the transport refuses the request itself
        try:
            st = self.s.request("GET", "/healthz", headers={"X-Big": "a" * 9000})[0]
            self.assertIn(st, (413, 414, 431))
        except (OSError, http.client.HTTPException):
            pass  # or drops the connection
        self.assertEqual(self.s.predict()[0], 200)

    def raw(self, data):
        """Sends bytes on a raw socket (what a client library would refuse to send); returns the reply."""
        return raw_exchange(self.s.port, data)

    def test_framing_errors_close_the_connection(self):
        # request smuggling (RFC 9112 6.3): an ambiguous body gets one answer and the
        # connection closed; bytes after it are never served as a next request
        body = b'{"Sex":"male","Pclass":3}'  # refused for its framing before it is read
        chunked = b"19\r\n" + body + b"\r\n0\r\n\r\n"
        nxt = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        post = b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        shapes = [
            (post + b"Content-Length: 31\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + nxt, 400, b"ambiguous"),
            (post + b"Content-Length: 25\r\nContent-Length: 59\r\n\r\n" + body + nxt, 400, b"more than one Content-Length"),
            (post + b"Content-Length : 25\r\n\r\n" + body + nxt, 400, b"not a token"),
            (post + b"Content-Length:\r\n 25\r\n\r\n" + body + nxt, 400, b"folded over lines (obs-fold)"),
            (post + b"Transfer-Encoding: chunked, identity\r\n\r\n" + chunked + nxt, 400, b"must end with chunked"),
            (post + b"Transfer-Encoding: identity\r\n\r\n" + body + nxt, 400, b"must end with chunked"),
            (post + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked + nxt, 501, b"only the chunked"),
            (b"GET /healthz HTTP/1.1\r\n\r\n" + nxt, 400, b"needs a Host header"),
            (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n" + nxt, 400, b"a bare CR or LF (lines end with CRLF) (byte 39"),
            (b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n" + nxt, 400, b"more than one Host"),
            # what libmicrohttpd 0.9.75 answered twice, or not at all, before tabserve parsed with llhttp
            (post + b"Content-Length: -1\r\n\r\n" + body + nxt, 400, b"decimal number of bytes (byte 79"),
            (post + b"Content-Length: +25\r\n\r\n" + body + nxt, 400, b"decimal number of bytes"),
            (post + b"Content-Length: 25, 25\r\n\r\n" + body + nxt, 400, b"decimal number of bytes"),
            (post + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n" + body + nxt, 413,
             b"a chunk of 18446744073709551615 bytes is over the body limit"),
            (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n" + nxt, 400, b"NUL, CR, LF or control byte"),
            (b"GET /healthz HTTP/1.1\nHost: x\n\n" + nxt, 400, b"byte"),
        ]
        # neither length nor chunked: an empty body (RFC 9112 6.3), answered, and the
        # connection goes on to the next request
        reply = self.raw(post + b"\r\n" + nxt.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        self.assertEqual(len(re.findall(rb"HTTP/1\.1 \d\d\d ", reply)), 2, reply)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:60])
        self.assertIn(b"empty body", reply)
        self.assertIn(b"HTTP/1.1 200 ", reply)
        # the server closes each connection itself: with a keep-alive of 300 s, a connection
        # left open would time out raw_exchange's read (5 s) instead
        patient = Server("--limit-request-body", "4096", "--max-batch", "8", "--limit-request-line", "1000",
                         "--limit-request-fields", "20", "--keep-alive", "300")
        try:
            for data, status, words in shapes:
                reply = raw_exchange(patient.port, data)
                self.assertTrue(reply.startswith(b"HTTP/1.1 %d " % status), (data, reply[:60]))
                self.assertEqual(len(re.findall(rb"HTTP/1\.1 \d\d\d ", reply)), 1, (data, reply))  # nothing after it served
                self.assertIn(b"Connection: close", reply)
                self.assertIn(words, reply)
        finally:
            patient.stop()

    def test_legal_shapes_are_served(self):
        # optional whitespace after a length or a coding is legal (RFC 9110 5.5)
        body = b'{"Sex":"male","Pclass":3,"Fare":7}'  # 34 bytes, 0x22
        post = b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
        for data in (post + b"Content-Length: 34 \r\n\r\n" + body,
                     post + b"Transfer-Encoding: chunked \r\n\r\n22\r\n" + body + b"\r\n0\r\n\r\n",
                     post + b"Transfer-Encoding: chunked\r\n\r\n22;ext=1\r\n" + body + b"\r\n0\r\nX-T: 1\r\n\r\n"):
            reply = self.raw(data)
            self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), (data, reply[:60]))
            self.assertIn(b'{"predict": ', reply)

    def test_chunk_extensions_as_rfc_9112_has_them(self):
        """Chunk extensions (RFC 9112 7.1.1) in every legal shape are read and ignored, on every
        chunk and the last, also when a read ends inside one; malformed ones are a 400 naming
        the byte. (llhttp 8.1 alone refuses a second extension after a value, and quoted-pairs.)"""
        body = b'{"Sex":"male","Pclass":3,"Fare":7}'  # 34 bytes, 0x22
        post = (b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        for ext in (b';ext=1;q="a"', b';q="a b"', b';q="a\\"b;c"', b';a;b=2 ; c = "x;y" ;d', b';a=1;b="";c=3',
                    b' ; a = 1', b'\t;a'):
            with self.subTest(ext):
                reply = self.raw(post + b"22" + ext + b"\r\n" + body + b"\r\n0" + ext + b"\r\n\r\n")
                self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:80])
                self.assertIn(b'{"predict": ', reply)
        # cut inside a quoted value, and between the two chunks of one body
        reply = raw_exchange(self.s.port, [post + b'11;a=1;q="x', b' y";r', b'=2\r\n' + body[:17] + b"\r\n11;s=\"",
                                           b'\\"\"\r\n' + body[17:] + b"\r\n0\r\n\r\n"], pause=0.05)
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:80])
        # the byte named counts from 1: the line's CR where a value is missing or unclosed, the
        # second value, the empty name, the control byte, the empty name, the line's end after BWS
        for ext, byte in ((b';a=', 118), (b';a="x', 120), (b';a=1 2', 120), (b';a;;b', 118), (b';a="\x01"', 119),
                          (b';=1', 116), (b' ', 116)):
            with self.subTest(ext):
                reply = self.raw(post + b"22" + ext + b"\r\n" + body + b"\r\n0\r\n\r\n")
                self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:80])
                self.assertIn(b"Invalid character in chunk extensions", reply)
                self.assertIn(b"(byte %d of the request)" % byte, reply)
        # one byte a read: size lines with extensions, and trailer fields (not kept: framing)
        data = (post + b'20 ;q="a\\"b" ; r=1\r\n' + body[:32] + b"\r\n2;s\r\n" + body[32:] +
                b'\r\n0 ; t="x"\r\nX-T: 1\r\nX-U:  two words \r\n\r\n')
        reply = raw_exchange(self.s.port, [data[i:i + 1] for i in range(len(data))], pause=0.001)
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:80])
        # trailer fields count against --limit-request-fields (20 here) like header fields
        reply = self.raw(post + b"22\r\n" + body + b"\r\n0\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(21)) + b"\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 431 "), reply[:80])
        self.assertIn(b"more than 20 trailer fields (--limit-request-fields)", reply)
        self.assertEqual(self.s.predict()[0], 200)

    def test_header_block_up_to_the_limit_is_served(self):
        # the whole block (request line, headers, blank line) may be --limit-request-headers (8192) bytes:
        # libmicrohttpd 0.9.75 closed blocks of 7.9-8 KB unanswered
        def block(size, extra=b""):
            head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            filler = size - len(head) - len(b"\r\n") - len(b"\r\n\r\n")
            rows = []
            while filler > 0:  # fields under --limit-request-field_size (8190)
                n = min(filler, 4000)
                rows.append(b"X-F%d: " % len(rows))
                rows[-1] += b"a" * max(n - len(rows[-1]) - 2, 0) + b"\r\n"
                filler -= len(rows[-1])
            return head + b"".join(rows) + extra + b"\r\n"
        for size in (7900, 8000, 8100, 8192):
            data = block(size)
            self.assertLessEqual(len(data), 8192)
            reply = self.raw(data)
            self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), (len(data), reply[:60]))
        reply = self.raw(block(8192, b"X: 1\r\n"))
        self.assertTrue(reply.startswith(b"HTTP/1.1 431 "), reply[:60])

    def test_pipelined_requests_answered_in_order(self):
        body = b'{"Sex":"male","Pclass":3,"Fare":7}'  # 34 bytes, 0x22
        data = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Length: 34\r\n\r\n" + body +
                b"POST /model HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n22\r\n" + body + b"\r\n0\r\n\r\n"
                b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = self.raw(data)
        self.assertEqual(re.findall(rb"HTTP/1\.1 (\d\d\d) ", reply), [b"200", b"200", b"200", b"404"])
        self.assertEqual(reply.count(b'{"predict": '), 2)

    def test_upgrade_and_connect_answered_once_then_closed(self):
        nxt = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        for data, status in ((b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 200),
                             (b"CONNECT x:80 HTTP/1.1\r\nHost: x\r\n\r\n", 404)):
            reply = self.raw(data + nxt)
            self.assertEqual(re.findall(rb"HTTP/1\.1 (\d\d\d) ", reply), [b"%d" % status], reply)
            self.assertIn(b"Connection: close", reply)

    def test_absolute_form_target_is_served(self):
        port = self.s.port
        reply = self.raw(b"GET http://127.0.0.1:%d/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % port)
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:40])

    def test_decoded_nul_does_not_end_the_path(self):
        # path confusion: "/model%00.json" must not be /model
        for path in ("/model%00.json", "/metrics%00/public", "/healthz%00"):
            e, _ = self.error(404, "GET", path)
            self.assertIn("no route", e["message"])
        self.assertEqual(self.s.request("GET", "/%6dodel")[0], 200)  # decodes to /model exactly

    def test_error_messages_are_valid_utf8(self):
        e, _ = self.error(404, "GET", "/%ff%fe")
        self.assertEqual(e["message"], "no route /??; routes: /model, /healthz, /readyz, /metrics, /openapi.yaml, /v2/..., /v1/models/...")
        e, _ = self.error(400, "POST", "/model", dict(SEED, Sex="a" + "é" * 40), field="Sex")
        self.assertTrue(e["message"].startswith('$.Sex: unknown category "a' + "é" * 29), e["message"])
        reply = self.raw(b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Type: text/\xff\xfe\r\n"
                         b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
        body = json.loads(reply.split(b"\r\n\r\n", 1)[1])
        self.assertEqual(body["error"]["message"], 'Content-Type must be application/json, got "text/??"')

    def test_transport_errors_counted_with_their_method(self):
        before = self.s.metric("tabserve_requests_total", 'method="GET",route="/model",status="431"')
        posts = self.s.metric("tabserve_requests_total", 'method="POST",route="/model",status="431"')
        headers = "".join(f"X-H{i}: v\r\n" for i in range(25)).encode()
        reply = self.raw(b"GET /model HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 431"), reply[:40])
        after = self.s.metric("tabserve_requests_total", 'method="GET",route="/model",status="431"')
        self.assertEqual(after - before, 1)
        self.assertEqual(self.s.metric("tabserve_requests_total", 'method="POST",route="/model",status="431"'), posts)

    def test_library_answered_errors_are_counted(self):
        # what the transport answers itself (before the handler sees a method or a
        # path) is counted once, as method="unknown", route="unparsed"
        def count(status):
            return self.s.metric("tabserve_requests_total", 'route="unparsed",status="%d"' % status)
        before = {400: count(400), 505: count(505)}
        shapes = [
            (b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
            (b"GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400),
            (b"POST /model HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
            (b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        ]
        for data, status in shapes:
            reply = self.raw(data)
            self.assertTrue(reply.startswith(b"HTTP/1.1 %d " % status), (data, reply[:60]))
        self.assertEqual(count(400) - before[400], 3)
        self.assertEqual(count(505) - before[505], 1)
        _, _, text = self.s.request("GET", "/metrics")
        self.assertNotIn(b'duration_seconds_count{method="unknown"', text)  # no timing for these

    def raw_post_headers(self, extra):
        """Sends a POST's headers (and no body) on a raw socket; returns the first reply bytes."""
        with socket.create_connection(("127.0.0.1", self.s.port), timeout=5) as sock:
            sock.sendall(b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + extra)
            return sock.recv(4096)

    def test_announced_huge_body_answered_at_once(self):
        reply = self.raw_post_headers(b"Content-Length: 1000000000\r\n\r\n{")
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply)
        self.assertIn(b"--limit-request-body", reply)

    def test_expect_continue_gets_413_before_the_body(self):
        reply = self.raw_post_headers(b"Content-Length: 10000\r\nExpect: 100-continue\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply)

    def chunked_post(self):
        """Starts a chunked POST /model; the caller sends the chunks."""
        conn = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=5)
        conn.putrequest("POST", "/model")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        return conn

    def test_chunked_body_over_limit(self):
        conn = self.chunked_post()
        for _ in range(10):
            conn.send(b"400\r\n" + b" " * 0x400 + b"\r\n")
        conn.send(b"0\r\n\r\n")
        r = conn.getresponse()
        self.assertEqual(r.status, 413)
        self.assertIn(b"--limit-request-body", r.read())
        conn.close()

    def test_endless_chunked_body_is_cut_off(self):
        conn = self.chunked_post()
        sent, rss_before = 0, sum(rss_kb(p) for p in self.s.workers())
        with self.assertRaises(OSError):
            while sent < 200_000_000:
                conn.send(b"4000\r\n" + b" " * 0x4000 + b"\r\n")
                sent += 0x4000
        # cut off after the limit plus what the kernel's socket buffers soak up
        self.assertLess(sent, 32_000_000)
        self.assertLess(sum(rss_kb(p) for p in self.s.workers()) - rss_before, 2048)
        conn.close()
        self.assertEqual(self.s.predict()[0], 200)

    def test_metrics_aggregate_all_workers(self):
        before = self.s.metric("tabserve_requests_total", 'route="/model",status="200"')
        pred_before = self.s.metric("tabserve_predictions_total")
        for _ in range(40):  # new connection each time: spread over both workers
            self.s.predict()
        after = self.s.metric("tabserve_requests_total", 'route="/model",status="200"')
        self.assertEqual(after - before, 40)
        self.assertEqual(self.s.metric("tabserve_predictions_total") - pred_before, 40)
        st, h, text = self.s.request("GET", "/metrics")
        self.assertTrue(h["Content-Type"].startswith("text/plain; version=0.0.4"))
        text = text.decode()
        for name in ("tabserve_request_duration_seconds_bucket", "tabserve_requests_in_flight",
                     "tabserve_worker_restarts_total", "tabserve_model_reloads_total", "tabserve_workers 2"):
            self.assertIn(name, text)
        inf = self.s.metric("tabserve_request_duration_seconds_bucket", 'method="POST",route="/model",le="+Inf"')
        self.assertEqual(inf, self.s.metric("tabserve_request_duration_seconds_count", 'method="POST",route="/model"'))

    def test_metrics_samples_are_unique(self):
        # GET and POST /model both write latency samples: each must be its own series
        self.s.request("GET", "/model")
        self.s.predict()
        self.s.request("GET", "/nowhere")
        _, _, text = self.s.request("GET", "/metrics")
        samples = [line.rsplit(" ", 1)[0] for line in text.decode().splitlines() if line and not line.startswith("#")]
        self.assertEqual(len(samples), len(set(samples)), [s for s in samples if samples.count(s) > 1])
        self.assertIn('tabserve_request_duration_seconds_count{method="GET",route="/model"}', samples)
        self.assertIn('tabserve_request_duration_seconds_count{method="POST",route="/model"}', samples)
        promtool = shutil.which("promtool")
        if not promtool:
            print("SKIPPED: promtool (Debian package prometheus) is absent: exposition not linted", file=sys.stderr)
            return
        p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class Transport(unittest.TestCase):
    """The HTTP loop's own semantics (serve/http.c): HEAD, HTTP/1.0, 100-continue, bytes
    arriving one at a time, bodies and answers larger than its buffer, a slow reader."""

    @classmethod
    def setUpClass(cls):
        cls.s = Server("--max-batch", "5000", workers=1)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def talk(self, data, pause=None):
        return raw_exchange(self.s.port, data, pause)

    def test_head_has_the_length_and_no_body(self):
        reply = self.talk(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, _, body = reply.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 OK"), head)
        self.assertIn(b"Content-Length: 17\r\n", head + b"\r\n")
        self.assertEqual(body, b"")

    def test_http10_closes_unless_asked_to_keep_alive(self):
        reply = self.talk(b"GET /healthz HTTP/1.0\r\n\r\n")  # no Host needed; closed after the answer
        self.assertEqual(reply.count(b"HTTP/1.1 200 OK"), 1)
        self.assertIn(b"Connection: close", reply)
        reply = self.talk(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                          b"GET /readyz HTTP/1.0\r\n\r\n")
        self.assertEqual(reply.count(b"HTTP/1.1 200 OK"), 2, reply)
        self.assertIn(b"Connection: keep-alive", reply)

    def test_expect_continue_then_the_body(self):
        body = json.dumps(SEED).encode()
        with socket.create_connection(("127.0.0.1", self.s.port), timeout=5) as sock:
            sock.sendall(b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Expect: 100-continue\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
            self.assertEqual(sock.recv(4096), b"HTTP/1.1 100 Continue\r\n\r\n")
            sock.sendall(body)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 OK"), reply)
        self.assertIn(b'{"predict": 0.0715020671}', reply)

    def test_one_byte_at_a_time(self):
        body = json.dumps(SEED).encode()
        data = (b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        reply = self.talk([data[i:i + 1] for i in range(len(data))], pause=0.0005)
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 OK"), reply)
        self.assertEqual(json.loads(reply.partition(b"\r\n\r\n")[2]), self.s.predict()[2])

    def test_body_and_answer_larger_than_the_buffer(self):
        rows = [dict(SEED, Age=i % 80) for i in range(4000)]  # ~290 kB in, ~60 kB out
        body = json.dumps(rows).encode()
        self.assertGreater(len(body), 200_000)
        for chunked in (False, True):
            framing = (b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
                       if chunked else b"Content-Length: %d\r\n\r\n" % len(body) + body)
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the answer cannot go out in one write
                sock.settimeout(10)
                sock.connect(("127.0.0.1", self.s.port))
                sock.sendall(b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             b"Connection: close\r\n" + framing)
                time.sleep(0.3)  # a slow reader: the rest of the answer waits in the server
                reply = b""
                while chunk := sock.recv(4096):
                    reply += chunk
            head, _, out = reply.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200 OK"), head)
            got = json.loads(out)["predict"]
            self.assertEqual(len(got), 4000)
            self.assertEqual(got[22], self.s.predict()[2]["predict"])  # row 22: the seed itself (Age 22)


    def test_answer_larger_than_the_socket_takes_then_a_pipelined_request(self):
        # a unix socket's send buffer is fixed (~200 kB): an 800 kB answer is written in
        # pieces as the client reads, and the request behind it is parsed only after that
        d = tempfile.mkdtemp()
        path = os.path.join(d, "s.sock")
        p = subprocess.Popen([BIN, "serve", "-w", "1", "-b", f"unix:{path}", "--max-batch", "100000",
                              "--limit-request-body", "10000000"], stderr=subprocess.DEVNULL)
        try:
            for _ in range(500):
                if os.path.exists(path):
                    break
                time.sleep(0.01)
            rows = [dict(SEED, Age=i % 80) for i in range(60000)]
            body = json.dumps(rows).encode()
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(10)
                for _ in range(200):
                    try:
                        sock.connect(path)
                        break
                    except OSError:
                        time.sleep(0.01)
                sock.sendall(b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body +
                             b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                time.sleep(0.3)
                reply = b""
                while chunk := sock.recv(65536):
                    reply += chunk
            first, _, rest = reply.partition(b"\r\n\r\n")
            length = int(re.search(rb"Content-Length: (\d+)", first).group(1))
            self.assertGreater(length, 700_000)
            got = json.loads(rest[:length])["predict"]
            self.assertEqual(len(got), 60000)
            self.assertEqual(got[22], self.s.predict()[2]["predict"])
            self.assertTrue(rest[length:].startswith(b"HTTP/1.1 200 OK"), rest[length:length + 40])
            self.assertTrue(rest[length:].endswith(b'{"status": "ok"}\n'), rest[-40:])
        finally:
            p.terminate()
            p.wait(5)
            shutil.rmtree(d)


class Process(unittest.TestCase):
    def tearDown(self):
        if getattr(self, "s", None):
            self.s.stop()

    def test_respawn_after_kill9(self):
        self.s = Server()
        old = self.s.workers()
        os.kill(old[0], signal.SIGKILL)
        new = self.s.wait_workers(2, exclude=[old[0]])
        self.assertNotIn(old[0], new)
        self.assertEqual(self.s.predict()[0], 200)
        self.assertIn("was killed by signal 9", self.s.errors())
        self.assertEqual(self.s.metric("tabserve_worker_restarts_total"), 1)

    def test_reload_under_load_and_bad_model(self):
        tmp = tempfile.mkdtemp()
        path = os.path.join(tmp, "model.json")
        subprocess.run([BIN, "inspect"], check=True, capture_output=True)
        shutil.copy(os.path.join(os.path.dirname(BIN), "..", "models", "titanic.json"), path)
        self.s = Server(path)
        hash0 = json.loads(self.s.request("GET", "/model")[2])["hash"]
        failures, done, stop = [], [0], threading.Event()

        def hammer():
            conn = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=10)
            while not stop.is_set():
                try:
                    conn.request("POST", "/model", json.dumps(SEED), {"Content-Type": "application/json"})
                    r = conn.getresponse()
                    body = r.read()
                    if r.status != 200:
                        failures.append((r.status, body[:300]))
                    done[0] += 1
                    if r.getheader("Connection") == "close":
                        conn.close()
                except Exception as e:  # any failure counts
                    failures.append(repr(e))
                    conn.close()

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for t in threads:
            t.start()
        wait_until(lambda: done[0] >= 20, "the clients to be answered")
        # a different model: logistic regression on the same inputs
        lr = json.load(open(path))
        lr["metadata"].pop("content_hash")
        lr["predictor"] = {"kind": "linear", "weights": [[0.1]] * lr["predictor"]["n_features"], "bias": [0.0]}
        json.dump(lr, open(path + ".new", "w"))
        os.rename(path + ".new", path)
        for n in (1, 2, 3):  # each HUP once the one before is done: pending signals merge
            self.s.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: self.s.metric("tabserve_model_reloads_total") == n, f"reload {n}")
        with open(path, "w") as f:
            f.write('{"format": "tabserve-model", "format_version": 2, "inputs": [')
        self.s.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self.s.metric("tabserve_model_reload_failures_total") == 1, "the bad model refused")
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual(failures, [], f"{len(failures)} failures in {done[0]} requests")
        self.assertGreater(done[0], 100)
        hash1 = json.loads(self.s.request("GET", "/model")[2])["hash"]
        self.assertNotEqual(hash0, hash1)
        self.assertEqual(json.loads(self.s.request("GET", "/model")[2])["predictor"]["kind"], "linear")
        self.assertIn("Reload refused, the old workers go on serving", self.s.errors())
        self.assertEqual(self.s.predict()[0], 200)
        self.assertEqual(self.s.metric("tabserve_model_reloads_total"), 3)
        self.assertEqual(self.s.metric("tabserve_model_reload_failures_total"), 1)
        # the retired generations drain and leave (slower under ASan on a busy machine)
        self.assertEqual(len(self.s.wait_workers(2, timeout=10)), 2)
        shutil.rmtree(tmp)

    def in_flight(self, n):
        # the /metrics request asking counts itself; one that lands on a worker busy with a
        # stalled request waits for it, so each asks for a second and then asks again
        def seen():
            try:
                return self.s.metric("tabserve_requests_in_flight", timeout=1) >= n + 1
            except OSError:
                return False

        wait_until(seen, f"{n} request(s) in flight")

    def test_sigterm_drains_in_flight(self):
        # the drain ends when the last request is answered, not at --graceful-timeout:
        # with 60 s of it, a drain that waited would outlast the 20 s wait below
        self.s = Server("--graceful-timeout", "60")
        result = {}

        def slow():
            result["r"] = self.s.predict(headers={"X-Tabserve-Test-Stall": "5"})

        t = threading.Thread(target=slow)
        t.start()
        self.in_flight(1)
        self.s.proc.send_signal(signal.SIGTERM)
        t.join()
        self.assertEqual(self.s.proc.wait(20), 0)
        self.assertEqual(result["r"][0], 200)
        with self.assertRaises(OSError):
            self.s.request("GET", "/healthz", timeout=1)

    def test_sigterm_closes_the_listening_socket_at_once(self):
        # slow and stuck clients: new connections fail fast during a drain, in-flight ones finish
        self.s = Server("--graceful-timeout", "60")
        result = {}
        t = threading.Thread(target=lambda: result.update(r=self.s.predict(headers={"X-Tabserve-Test-Stall": "8"})))
        t.start()
        self.in_flight(1)
        self.s.proc.send_signal(signal.SIGTERM)

        def refused():
            try:
                socket.create_connection(("127.0.0.1", self.s.port), timeout=2).close()
                return False
            except ConnectionRefusedError:
                return True

        wait_until(refused, "connections refused during the drain", timeout=10)
        self.assertTrue(t.is_alive())  # refused while the request in flight is still being answered
        t.join()
        self.assertEqual(result["r"][0], 200)
        self.assertEqual(self.s.proc.wait(5), 0)

    def test_slow_clients_cannot_lock_out_others(self):
        # slow clients: 3x the connection limit of clients trickling header bytes
        self.s = Server("--worker-connections", "8", "-t", "2", "--keep-alive", "2", workers=1)
        stop = threading.Event()

        def slowloris():
            while not stop.is_set():
                try:
                    with socket.create_connection(("127.0.0.1", self.s.port), timeout=5) as sock:
                        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
                        while not stop.wait(0.3):
                            sock.sendall(b"X")
                except OSError:
                    pass  # evicted: come back

        attackers = [threading.Thread(target=slowloris) for _ in range(24)]
        for t in attackers:
            t.start()
        try:
            time.sleep(1)
            for _ in range(20):  # each answered well before the 10 s header deadline would free a slot
                self.assertEqual(self.s.request("GET", "/healthz", timeout=5)[0], 200)
        finally:
            stop.set()
            for t in attackers:
                t.join()

    def test_header_and_body_deadlines(self):
        # closed at the 1 s deadlines: the keep-alive (300 s) is far beyond the 30 s the
        # client keeps dripping, so a close inside them is the deadline's
        self.s = Server("--header-timeout", "1", "--body-timeout", "1", "--keep-alive", "300")
        for first, drip in ((b"GET /healthz HTTP/1.1\r\n", b"X"),
                            (b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{", b" ")):
            t0 = time.monotonic()
            with socket.create_connection(("127.0.0.1", self.s.port), timeout=5) as sock:
                sock.sendall(first)
                with self.assertRaises(OSError):  # sending into a closed connection fails
                    while time.monotonic() - t0 < 30:
                        time.sleep(0.2)
                        sock.sendall(drip)
                        sock.settimeout(0.01)
                        try:
                            if sock.recv(1) == b"":
                                raise ConnectionResetError("closed")
                        except socket.timeout:
                            pass

    def test_ttou_at_one_worker_is_logged(self):
        self.s = Server(workers=1)
        self.s.proc.send_signal(signal.SIGTTOU)
        deadline = time.monotonic() + 3
        while "ttou ignored" not in self.s.errors() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("Handling signal: ttou ignored: 1 worker is the fewest", self.s.errors())
        self.assertEqual(len(self.s.workers()), 1)

    def test_access_log_cannot_be_forged(self):
        # log forging: client bytes are escaped as nginx does (\xHH): one request, one line
        d = tempfile.mkdtemp()
        log = os.path.join(d, "access.log")
        self.s = Server("--access-logfile", log)
        self.s.request("GET", "/x%0a127.0.0.1%20-%20-%20[01/Jan/2026]%20%22GET%20/admin")
        for agent in (b'a"c\\d\xff', b'a\rb'):
            with socket.create_connection(("127.0.0.1", self.s.port), timeout=5) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: " + agent + b"\r\nConnection: close\r\n\r\n")
                while sock.recv(4096):
                    pass
        self.s.stop()
        self.s = None
        lines = [l for l in open(log, encoding="ascii").read().splitlines() if "/readyz" not in l]  # readiness probes
        self.assertEqual(len(lines), 3, lines)  # three requests, three lines, in any order (two workers)
        forged = next(l for l in lines if '"GET /x' in l)
        agent = next(l for l in lines if '"GET /healthz HTTP/1.1" 200' in l)
        refused = next(l for l in lines if '"GET /healthz HTTP/1.1" 400' in l)
        # the target is logged as sent (as nginx's $request): its escapes stay escapes
        self.assertIn('"GET /x%0a127.0.0.1%20-%20-%20[01/Jan/2026]%20%22GET%20/admin HTTP/1.1" 404', forged)
        self.assertTrue(agent.endswith('"a\\x22c\\x5Cd\\xFF"'), agent)  # logged escaped
        self.assertTrue(refused.endswith('"-" "-"'), refused)  # a bare CR: refused, its headers not logged
        shutil.rmtree(d)

    def test_sigint_quick_shutdown(self):
        # SIGINT does not drain: a request stalled for 60 s (and a graceful timeout of 60 s)
        # does not keep the server up through the 20 s wait
        self.s = Server("--graceful-timeout", "60")
        result = {}

        def stalled():
            try:
                result["r"] = self.s.predict(headers={"X-Tabserve-Test-Stall": "60"}, timeout=30)
            except (OSError, http.client.HTTPException) as e:
                result["r"] = e

        t = threading.Thread(target=stalled)
        t.start()
        self.in_flight(1)
        self.s.proc.send_signal(signal.SIGINT)
        self.assertEqual(self.s.proc.wait(20), 0)
        t.join()
        self.assertIsInstance(result["r"], (OSError, http.client.HTTPException))  # dropped, not answered

    def test_max_requests_recycles_without_failures(self):
        self.s = Server("--max-requests", "10", "--max-requests-jitter", "3", workers=1)
        first = self.s.workers()
        for i in range(60):
            self.assertEqual(self.s.predict()[0], 200, i)
        self.assertNotEqual(first, self.s.workers())
        self.assertIn("recycled after --max-requests", self.s.errors())
        self.assertEqual(self.s.metric("tabserve_worker_restarts_total"), 0)

    def test_ttin_ttou(self):
        self.s = Server()
        self.s.proc.send_signal(signal.SIGTTIN)
        self.s.wait_workers(3)
        self.s.proc.send_signal(signal.SIGTTOU)
        self.s.wait_workers(2)
        self.s.proc.send_signal(signal.SIGTTOU)  # one at a time: the kernel merges pending signals
        self.s.wait_workers(1)
        self.assertEqual(self.s.predict()[0], 200)

    def test_timeout_kills_stuck_worker(self):
        self.s = Server("--timeout", "1", workers=1)
        old = self.s.workers()
        st = None
        try:
            st = self.s.request("GET", "/healthz", headers={"X-Tabserve-Test-Stall": "5"}, timeout=8)[0]
        except (OSError, http.client.HTTPException):
            pass  # the worker was killed under the request: the connection drops
        self.assertIsNone(st)
        self.s.wait_workers(1, exclude=old)
        self.assertIn("WORKER TIMEOUT", self.s.errors())
        self.assertEqual(self.s.predict()[0], 200)
        self.assertEqual(self.s.metric("tabserve_worker_restarts_total"), 1)

    def test_access_log(self):
        self.s = Server("--access-logfile", "-")
        self.s.request("GET", "/healthz", headers={"User-Agent": "probe/1"})
        self.s.stop()
        out = self.s.proc.stdout.read().decode()
        self.s.proc.stdout.close()
        self.assertRegex(out, r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /healthz HTTP/1\.1" 200 17 "-" "probe/1"')
        self.s = None


class Configuration(unittest.TestCase):
    def test_explanations_bounded_before_they_start(self):
        """Explaining costs what the model measured a row to cost, times the rows: a request
        over --explain-budget is a 413 in JSON saying how many rows fit, at once (the worker
        is never tied up until --timeout); that many rows are explained."""
        s = Server("--explain-budget", "0.05", "--max-batch", "4096", workers=1)
        try:
            status, _, body = s.request("POST", "/model/explain", [SEED] * 4000)
            self.assertEqual(status, 413, body)
            message = json.loads(body)["error"]["message"]
            self.assertIn("over the budget of 0.05 s a request (--explain-budget): send at most", message)
            most = int(re.search(r"send at most (\d+) rows", message)[1])
            self.assertGreater(most, 0)
            status, _, body = s.request("POST", "/model/explain", [SEED] * most)
            self.assertEqual(status, 200, body)
            self.assertEqual(len(json.loads(body)["explanations"]), most)
            self.assertEqual(s.predict()[0], 200)  # and the worker serves on
        finally:
            s.stop()

    def test_bad_model_fails_before_fork(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write('{"format": "tabserve-model", "format_version": 1, "inputs": []}')
            f.flush()
            p = subprocess.run([BIN, "serve", f.name, "-b", f"127.0.0.1:{free_port()}"], capture_output=True, text=True, timeout=5)
            self.assertEqual(p.returncode, 1)
            self.assertIn(f"{f.name}: $.inputs: expected 1 to", p.stderr)
            self.assertNotIn("Booting worker", p.stderr)

    def test_environment_and_flags(self):
        s = Server(workers=1, env={"TABSERVE_WORKERS": "3", "TABSERVE_MAX_BATCH": "2"})
        try:
            self.assertEqual(len(s.workers()), 1)  # the flag wins over TABSERVE_WORKERS
            self.assertEqual(s.predict([SEED] * 3)[0], 413)  # TABSERVE_MAX_BATCH applies
        finally:
            s.stop()
        port = free_port()
        p = subprocess.Popen([BIN, "serve"], env=dict(os.environ, TABSERVE_BIND=f"127.0.0.1:{port}", TABSERVE_WORKERS="3"),
                             stderr=subprocess.DEVNULL)
        try:
            wait_healthy(f"127.0.0.1:{port}")
            workers = lambda: subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
            wait_until(lambda: len(workers()) >= 3, "three workers")
            self.assertEqual(len(workers()), 3)
            h = subprocess.run([BIN, "healthcheck"], env=dict(os.environ, TABSERVE_BIND=f"127.0.0.1:{port}"))
            self.assertEqual(h.returncode, 0)
        finally:
            p.terminate()
            p.wait(5)
        self.assertEqual(subprocess.run([BIN, "healthcheck", f"127.0.0.1:{port}"], stderr=subprocess.DEVNULL).returncode, 1)

    def test_bad_options(self):
        for args, msg in ((["-w", "0"], "--workers"), (["--timeout", "abc"], "--timeout"), (["--nope"], "unknown option"),
                          (["-b", "nohost"], "bad address")):
            p = subprocess.run([BIN, "serve", *args], capture_output=True, text=True, timeout=5)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(msg, p.stderr)

    def test_listening_lines_as_gunicorn(self):
        port, second = free_port(), "[::1]:0" if have_ipv6() else "127.0.0.1:0"
        p = subprocess.Popen([BIN, "serve", "-b", f":{port}", "-b", second], stderr=subprocess.PIPE, text=True)
        try:
            lines = [p.stderr.readline() for _ in range(4)]
        finally:
            p.terminate()
            p.wait(5)
        listening = [l.split("] ", 3)[-1].rsplit(" (", 1)[0] for l in lines if "Listening at" in l]
        self.assertEqual(listening[0], f"Listening at: http://0.0.0.0:{port}")
        host = r"\[::1\]" if second.startswith("[") else r"127\.0\.0\.1"
        self.assertRegex(listening[1], rf"^Listening at: http://{host}:[1-9][0-9]*$")

    def test_live_unix_socket_is_not_taken_over(self):
        # a second server must not steal (and later delete) a live socket
        d = tempfile.mkdtemp()
        sock = os.path.join(d, "t.sock")
        p = subprocess.Popen([BIN, "serve", "-b", f"unix:{sock}"], stderr=subprocess.DEVNULL)
        try:
            wait_healthy(f"unix:{sock}")
            second = subprocess.run([BIN, "serve", "-b", f"unix:{sock}"], capture_output=True, text=True, timeout=5)
            self.assertNotEqual(second.returncode, 0)
            self.assertIn(f"cannot bind unix:{sock}: a server is already listening on that socket", second.stderr)
            self.assertEqual(subprocess.run([BIN, "healthcheck", f"unix:{sock}"], capture_output=True).returncode, 0)
        finally:
            p.terminate()
            p.wait(5)
        # a stale socket file (nobody listening) is replaced
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(sock)
        stale.close()
        p = subprocess.Popen([BIN, "serve", "-b", f"unix:{sock}"], stderr=subprocess.DEVNULL)
        try:
            wait_healthy(f"unix:{sock}")
        finally:
            p.terminate()
            p.wait(5)
        shutil.rmtree(d)

    def test_unix_and_ipv6_and_repeated_binds(self):
        d = tempfile.mkdtemp()
        sock, port = os.path.join(d, "t.sock"), free_port()
        ipv6 = have_ipv6()
        if not ipv6:
            print("SKIPPED: no IPv6 loopback here: the [::1] bind was not tested (127.0.0.1 instead)", file=sys.stderr)
        host = "::1" if ipv6 else "127.0.0.1"
        p = subprocess.Popen([BIN, "serve", "-b", f"unix:{sock}", "-b", f"[::1]:{port}" if ipv6 else f"127.0.0.1:{port}"],
                             stderr=subprocess.DEVNULL)
        try:
            wait_healthy(f"unix:{sock}")
            c = http.client.HTTPConnection(host, port, timeout=5)
            c.request("POST", "/model", json.dumps(SEED), {"Content-Type": "application/json"})
            self.assertEqual(c.getresponse().status, 200)
        finally:
            p.terminate()
            self.assertEqual(p.wait(5), 0)
            self.assertFalse(os.path.exists(sock))
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main(verbosity=2)
