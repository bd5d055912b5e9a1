"""`make readme-test`: every shell command in README.md's ```sh blocks, run as written, in order,
from the repository's root.

- A command that starts a server (`make run`, `tabserve serve`, `docker run`, `docker-compose
  ... up`) runs in the background until the next one starts (or the end); what follows talks
  to it on :8080 once /readyz answers. A block that starts none talks to `make run`'s.
- `make test` is not run again (it is what runs this).
- A line right after a command that starts with `{` is that command's output, compared
  exactly; a comment after a `curl` holding `"name": "text"` pairs asks that they be in its
  output; any other command must succeed.
- `iris.csv` (the README's own-data example) is written here from scikit-learn's iris data;
  the files the commands make (`iris.json`, `iris-model/`) are removed at the end.
- Docker and Compose lines run where an engine, `docker-compose` and the `tabserve` image
  are there (the container test builds it); otherwise they are skipped, saying so.

usage: python3 tests/readme.py
"""
import os
import sys

# not this folder first on the import path: its test modules are no libraries
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MADE = ["iris.csv", "iris.json", "iris-model"]
failed = 0


def say(ok, what):
    global failed
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    failed += not ok


def strip_comment(line):
    """The line without a trailing `  # comment` (a # after a space, outside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i] if i else line
    return line


def blocks(text):
    """Each ```sh block as a list of (kind, line): command, output or comment."""
    out = []
    for body in re.findall(r"```sh\n(.*?)```", text, re.S):
        lines, joined = [], ""
        for raw in body.splitlines():
            if not joined and raw.lstrip().startswith("#"):  # a comment line: never joined
                lines.append(("comment", raw.strip()))
                continue
            joined += raw
            if raw.endswith("\\"):  # continued on the next line
                joined = joined[:-1] + " "
                continue
            if joined.count("'") % 2:  # inside a quoted string that spans lines
                joined += "\n"
                continue
            line, joined = strip_comment(joined).strip(), ""
            if not line:
                continue
            kind = "comment" if line.startswith("#") else "output" if line.startswith("{") else "command"
            lines.append((kind, line))
        out.append(lines)
    return out


def port_free():
    try:
        socket.create_connection(("127.0.0.1", 8080), timeout=1).close()
        return False
    except OSError:
        return True


def ready(timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen("http://127.0.0.1:8080/readyz", timeout=1).status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def docker_ready():
    return (shutil.which("docker") and subprocess.run(["docker", "image", "inspect", "tabserve"],
                                                      capture_output=True).returncode == 0)


class Servers:
    """The one server the commands talk to: a process group, a container or a Compose project."""

    def __init__(self):
        self.proc = self.container = self.compose = None
        self.what = None

    def stop(self):
        if self.proc:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self.container:
            subprocess.run(["docker", "stop", "-t", "10", self.container], capture_output=True)
        self.proc = self.container = None
        self.what = None
        deadline = time.monotonic() + 40  # a server drains before it goes: :8080 free again first
        while time.monotonic() < deadline and not port_free():
            time.sleep(0.1)

    def start(self, line):
        self.stop()
        if line.startswith("docker run"):
            if not docker_ready():
                print("SKIPPED: README: no Docker engine or tabserve image: " + line, flush=True)
                return False
            cmd = line.replace("docker run", "docker run -d --rm", 1)
            p = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True)
            if p.returncode != 0:
                say(False, line + ": " + p.stderr.strip()[-200:])
                return False
            self.container = p.stdout.strip()
        else:
            self.proc = subprocess.Popen(["bash", "-c", line], cwd=ROOT, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        self.what = line
        ok = ready() and (self.proc is None or self.proc.poll() is None)  # this server answers, not another
        say(ok, "README: " + line + " (serving on :8080)")
        return ok


def run(line):
    return subprocess.run(["bash", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=900)


def write_iris():
    try:
        from sklearn.datasets import load_iris
    except ImportError:
        return False
    d = load_iris()
    with open(os.path.join(ROOT, "iris.csv"), "w") as f:
        f.write("sepal_length,sepal_width,petal_length,petal_width,species\n")
        for row, t in zip(d.data, d.target):
            f.write(",".join(repr(float(v)) for v in row) + "," + d.target_names[t] + "\n")
    return True


def main():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    if not port_free():
        print("FAIL README: something already listens on :8080, where the README's commands serve", flush=True)
        sys.exit(1)
    have_iris = write_iris()
    servers = Servers()
    compose_up = False
    try:
        for block in blocks(text):
            cmds = [line for kind, line in block if kind == "command"]
            if any("iris" in c for c in cmds) and not have_iris:
                print("SKIPPED: README: python3-sklearn is missing: the own-data example was not run", flush=True)
                continue
            starts = any(c == "make run" or " serve " in c or c.startswith("docker run") for c in cmds)
            if any(c.startswith("curl") for c in cmds) and not starts and servers.what != "make run" \
                    and not any("docker-compose" in c for c in cmds):
                servers.start("make run")
            skip_block = False
            for i, (kind, line) in enumerate(block):
                if kind != "command" or skip_block:
                    continue
                nxt = block[i + 1] if i + 1 < len(block) else (None, None)
                if line.startswith("make test"):
                    print("ok   README: make test (what runs this)", flush=True)
                elif line == "make run" or " serve " in line or line.startswith("docker run"):
                    servers.start(line)
                elif "docker-compose" in line:
                    if not (docker_ready() and shutil.which("docker-compose")):
                        print("SKIPPED: README: no Docker engine, docker-compose or tabserve image: the "
                              "Compose recipe was not run", flush=True)
                        skip_block = True
                        continue
                    servers.stop()
                    p = run(line)
                    say(p.returncode == 0, "README: " + line + ("" if p.returncode == 0 else ": " + p.stderr[-300:]))
                    if " up " in line:
                        compose_up = True
                        say(ready(180), "README: the Compose replicas answer on :8080")
                    if " down" in line:
                        compose_up = False
                else:
                    p = run(line)
                    want = nxt[1] if nxt[0] == "output" else None
                    pairs = re.findall(r'"(\w+)": "([^"]*)"', nxt[1]) if nxt[0] == "comment" and line.startswith("curl") else []
                    got = p.stdout.strip()
                    if want is not None:
                        say(p.returncode == 0 and got == want, f"README: {line[:90]} -> {got[:80]}")
                    elif pairs:
                        say(p.returncode == 0 and all(f'"{k}": "{v}"' in got for k, v in pairs),
                            f"README: {line[:90]} -> {got[:80]}")
                    else:
                        say(p.returncode == 0 and '"error"' not in got,
                            f"README: {line[:90]}" + ("" if p.returncode == 0 else ": " + (p.stderr or p.stdout)[-300:]))
    finally:
        servers.stop()
        if compose_up:
            run("TABSERVE_MODEL_DIR=$PWD/iris-model TABSERVE_MODEL_NAME=iris "
                "docker-compose -f deploy/compose/compose.yaml down")
        for name in MADE:
            path = os.path.join(ROOT, name)
            shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.path.exists(path) and os.remove(path)
    print("readme: all passed" if not failed else f"readme: {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
