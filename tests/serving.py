"""What the end-to-end suites share: a free port, and a tabserve server
started on it (BIN, default build/tabserve) that is waited for on /healthz,
spoken to over HTTP and stopped with TERM."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BIN = os.path.abspath(os.environ.get("BIN", "build/tabserve"))
DEFAULT_MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "titanic.json")


def titanic_repository(*names, prefix="tabserve-repo-"):
    """A model repository (a new temporary directory) serving the default model
    under each name, as version 1."""
    root = tempfile.mkdtemp(prefix=prefix)
    for name in names:
        os.makedirs(f"{root}/{name}/1")
        shutil.copy(DEFAULT_MODEL, f"{root}/{name}/1/model.json")
    return root


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`tabserve serve -w WORKERS -b 127.0.0.1:PORT ARGS...`, its error log in a temporary file."""

    def __init__(self, *args, workers=2):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile("w+", prefix="tabserve-test-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([BIN, "serve", "-w", str(workers), "-b", f"127.0.0.1:{self.port}", *args],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.01)
            if self.proc.poll() is not None:
                break
        raise AssertionError("server did not start: " + self.errors())

    def errors(self):
        with open(self.log.name) as f:
            return f.read()

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body bytes); a dict or list body is sent as JSON."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = {"Content-Type": "application/json"} if isinstance(body, (dict, list, str)) else {}
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body, h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def json(self, method, path, body=None, headers=None):
        status, h, data = self.request(method, path, body, headers)
        return status, json.loads(data)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)
        self.log.close()
        os.unlink(self.log.name)
