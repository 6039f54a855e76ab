"""The `uvws` command-line tool of both packages (python -m uvws and
node/bin/uvws.js): `connect` driven through a pipe against `listen`, for
every pairing of the two implementations, plus the failure paths. Both
implementations must print exactly the same lines (docs/cli.md).

    .venv/bin/python -m pytest tests/cli

The Python side is the installed package (`.venv/bin/pip install .`); the
Node side is node/bin/uvws.js with the addon built by `npm install`.
All traffic stays on 127.0.0.1; every process has a timeout.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 20  # seconds, for any one command

if importlib.util.find_spec("uvws.__main__") is None:  # pragma: no cover
    pytest.exit("the installed uvws has no command-line tool: run .venv/bin/pip install .", returncode=1)

NODE = shutil.which("node")
CLI: Dict[str, List[str]] = {
    "py": [sys.executable, "-m", "uvws"],
    "node": [NODE or "node", str(ROOT / "node" / "bin" / "uvws.js")],
}
IMPLS = ["py", "node"]
# (listen, connect): both alone, and each against the other.
PAIRS = [("py", "py"), ("node", "node"), ("node", "py"), ("py", "node")]


def pair_id(p: Sequence[str]) -> str:
    return f"listen-{p[0]}-connect-{p[1]}"


def env() -> Dict[str, str]:
    e = dict(os.environ)
    e.pop("PYTHONPATH", None)  # the installed package, not the source tree
    e["PYTHONUNBUFFERED"] = "1"
    return e


class Proc:
    """A long-running command whose stdout lines are read by a thread."""

    def __init__(self, argv: List[str]) -> None:
        self.argv = argv
        self.p = subprocess.Popen(argv, cwd=ROOT, env=env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self.seen: List[str] = []
        self.stderr = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, timeout: float = TIMEOUT) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.argv}: no output within {timeout} s; so far {self.seen}") from None
        if line is None:
            self.wait(5)
            raise AssertionError(f"{self.argv}: exited ({self.p.returncode}) after {self.seen}; stderr: {self.stderr}")
        self.seen.append(line)
        return line

    def read_until(self, last: str, timeout: float = TIMEOUT) -> List[str]:
        """Lines up to and including `last`."""
        out: List[str] = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(max(0.1, deadline - time.monotonic()))
            out.append(line)
            if line == last:
                return out

    def wait(self, timeout: float = TIMEOUT) -> int:
        rc = self.p.wait(timeout)
        if self.p.stderr is not None and not self.p.stderr.closed:
            self.stderr = self.p.stderr.read()
            self.p.stderr.close()
        return rc

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)


def start_listen(impl: str, *args: str) -> "tuple[Proc, int]":
    proc = Proc(CLI[impl] + ["listen", "0", "--host", "127.0.0.1", *args])
    first = proc.next_line()
    assert first.startswith("listening on "), first
    return proc, int(first.split()[-1])


def connect(impl: str, url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        CLI[impl] + ["connect", url, *args],
        cwd=ROOT,
        env=env(),
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
    )


@pytest.fixture
def procs():
    started: List[Proc] = []
    yield started
    for p in started:
        p.stop()


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    subprocess.run(["bash", str(ROOT / "tests" / "tls" / "make_certs.sh"), str(d)], check=True, capture_output=True, timeout=60)
    return d


@pytest.fixture
def peer(procs):
    """tests/cli/peer.py: a scripted server (see its docstring)."""

    def start(*args: str) -> int:
        p = Proc([sys.executable, str(ROOT / "tests" / "cli" / "peer.py"), *args])
        procs.append(p)
        first = p.next_line()
        assert first.startswith("listening on "), first
        return int(first.split()[-1])

    return start


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


LINES = ["hello", "wörld, ünïcödé ✓", "", "  spaces  ", 'quotes "and" \\backslashes\\', "last line, no newline"]


@pytest.mark.skipif(NODE is None, reason="node not found")
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_echo_through_a_pipe(pair, procs):
    listen_impl, connect_impl = pair
    server, port = start_listen(listen_impl, "--echo")
    procs.append(server)
    url = f"ws://127.0.0.1:{port}/echo?x=1"
    # "\r\n" endings are stripped too; the last line has no newline at all.
    stdin = "\n".join(LINES[:2]) + "\r\n" + "\n".join(LINES[2:])
    r = connect(connect_impl, url, stdin=stdin)
    assert r.returncode == 0, r
    assert r.stdout.splitlines() == [f"connected to {url}"] + [f"< {m}" for m in LINES] + ["closed 1000 (normal)"]
    assert r.stderr == ""

    got = server.read_until("[1] closed 1000 (normal)")
    assert got[0].startswith("[1] connection from 127.0.0.1:"), got
    assert got[0].endswith(" /echo?x=1"), got
    assert got[1:] == [f"[1] < {m}" for m in LINES] + ["[1] closed 1000 (normal)"]

    # A second connection gets the next number; the server keeps running.
    r = connect(connect_impl, url, stdin="again\n")
    assert r.returncode == 0, r
    assert r.stdout.splitlines() == [f"connected to {url}", "< again", "closed 1000 (normal)"]
    assert server.read_until("[2] closed 1000 (normal)")[1:] == ["[2] < again", "[2] closed 1000 (normal)"]


@pytest.mark.skipif(NODE is None, reason="node not found")
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_many_lines_in_order(pair, procs):
    server, port = start_listen(pair[0], "--echo")
    procs.append(server)
    lines = [f"{i:05d} " + "x" * 300 for i in range(3000)]
    r = connect(pair[1], f"ws://127.0.0.1:{port}/", stdin="\n".join(lines) + "\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[1:-1] == [f"< {m}" for m in lines]
    assert out[-1] == "closed 1000 (normal)"


@pytest.mark.skipif(NODE is None, reason="node not found")
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_subprotocol(pair, procs):
    server, port = start_listen(pair[0], "--echo", "--subprotocol", "v2", "--subprotocol", "v1")
    procs.append(server)
    url = f"ws://127.0.0.1:{port}/"
    # The server takes the first of the client's offers that it supports.
    r = connect(pair[1], url, "--subprotocol", "v9", "--subprotocol", "v1", "--subprotocol", "v2", stdin="hi\n")
    assert r.returncode == 0, r
    assert r.stdout.splitlines() == [f"connected to {url} subprotocol v1", "< hi", "closed 1000 (normal)"]
    first = server.next_line()
    assert first.startswith("[1] connection from 127.0.0.1:") and first.endswith(" / subprotocol v1"), first

    # Nothing in common: the server answers without a subprotocol and the
    # client fails the handshake, as ws and websockets do.
    r = connect(pair[1], url, "--subprotocol", "v9", stdin="hi\n")
    assert r.returncode == 1, r
    assert r.stdout == ""
    assert r.stderr == f"uvws: cannot connect to {url}: server sent no subprotocol\n"


@pytest.mark.skipif(NODE is None, reason="node not found")
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_wss_with_ca(pair, procs, certs):
    server, port = start_listen(pair[0], "--echo", "--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server.key"))
    procs.append(server)
    for host in ("localhost", "127.0.0.1"):
        url = f"wss://{host}:{port}/secure"
        r = connect(pair[1], url, "--ca", str(certs / "ca.pem"), stdin="over tls\n")
        assert r.returncode == 0, r
        assert r.stdout.splitlines() == [f"connected to {url}", "< over tls", "closed 1000 (normal)"]

    url = f"wss://127.0.0.1:{port}/"
    # Not trusted: the system store does not know the test CA, nor does another CA.
    for args in ([], ["--ca", str(certs / "otherca.pem")]):
        r = connect(pair[1], url, *args, stdin="x\n")
        assert r.returncode == 1, r
        assert r.stdout == ""
        assert r.stderr.startswith(f"uvws: cannot connect to {url}: "), r.stderr
        assert "certificate verify failed" in r.stderr, r.stderr
    r = connect(pair[1], url, "--insecure", stdin="anyway\n")
    assert r.returncode == 0, r
    assert r.stdout.splitlines() == [f"connected to {url}", "< anyway", "closed 1000 (normal)"]


@pytest.mark.parametrize("impl", IMPLS)
def test_refused_connection(impl):
    if impl == "node" and NODE is None:
        pytest.skip("node not found")
    url = f"ws://127.0.0.1:{closed_port()}/"
    r = connect(impl, url, stdin="never sent\n")
    assert r.returncode == 1, r
    assert r.stdout == ""
    assert r.stderr == f"uvws: cannot connect to {url}: ECONNREFUSED\n"


@pytest.mark.parametrize("impl", IMPLS)
def test_rejected_handshake_shows_the_status(impl, peer):
    if impl == "node" and NODE is None:
        pytest.skip("node not found")
    port = peer()
    for path, status in (("/reject", 401), ("/need-header", 403)):
        url = f"ws://127.0.0.1:{port}{path}"
        r = connect(impl, url, stdin="never sent\n")
        assert r.returncode == 1, r
        assert r.stdout == ""
        assert r.stderr == f"uvws: cannot connect to {url}: handshake failed: HTTP {status}\n"


def run_both(args_of_port, stdin: str, peer) -> List[subprocess.CompletedProcess]:
    port = peer()
    runs = []
    for impl in IMPLS:
        if impl == "node" and NODE is None:
            continue
        url, *args = args_of_port(port)
        runs.append(connect(impl, url, *args, stdin=stdin))
    if len(runs) == 2:
        py, node = runs
        assert (py.returncode, py.stdout, py.stderr) == (node.returncode, node.stdout, node.stderr), "the implementations differ"
    return runs


def test_headers_sent(peer):
    for r in run_both(lambda port: [f"ws://127.0.0.1:{port}/need-header", "--header", "X-Token: secret", "--header", "X-Multi: 1", "--header", "X-Multi:2"], "headers\n", peer):
        assert r.returncode == 0, r
        out = r.stdout.splitlines()
        for h in ("< X-Token: secret", "< X-Multi: 1", "< X-Multi: 2"):
            assert h in out, out
        assert out[-1] == "closed 1000 (normal)"


def test_binary_and_text_formats(peer):
    long = bytes(range(256)) * 2
    stdin = f"binary 00ff10\nbinary {long.hex()}\nbinary \ntext héllo wörld\ntext \nplain echo\n"
    for r in run_both(lambda port: [f"ws://127.0.0.1:{port}/"], stdin, peer):
        assert r.returncode == 0, r
        assert r.stdout.splitlines()[1:] == [
            "< binary 3 bytes: 00ff10",
            f"< binary 512 bytes: {long[:64].hex()}...",
            "< binary 0 bytes: ",
            "< héllo wörld",
            "< ",
            "< plain echo",
            "closed 1000 (normal)",
        ]


@pytest.mark.parametrize(
    "command, line, rc",
    [
        ("close 1000 bye", 'closed 1000 (normal) "bye"', 0),
        ("close 1001", "closed 1001 (going away)", 0),
        ("close 1011 oops", 'closed 1011 (internal error) "oops"', 1),
        ("close 3000 x", 'closed 3000 (registered) "x"', 1),
        ('close 4001 say "hi" \\o/ ✓', 'closed 4001 (private) "say \\"hi\\" \\\\o/ ✓"', 1),
    ],
)
def test_server_closes(peer, command, line, rc):
    # The server closes first (stdin still has lines after the command).
    for r in run_both(lambda port: [f"ws://127.0.0.1:{port}/"], f"{command}\nnot echoed\n", peer):
        assert r.returncode == rc, r
        assert r.stdout.splitlines()[1:] == [line]


def test_wait_for_late_replies(peer):
    for r in run_both(lambda port: [f"ws://127.0.0.1:{port}/", "--wait", "2"], "later slow reply\n", peer):
        assert r.returncode == 0, r
        assert r.stdout.splitlines()[1:] == ["< slow reply", "closed 1000 (normal)"]


@pytest.mark.parametrize("impl", IMPLS)
def test_listen_shows_binary_and_close_reason(impl, procs):
    if impl == "node" and NODE is None:
        pytest.skip("node not found")
    import uvws

    server, port = start_listen(impl, "--echo")
    procs.append(server)

    async def client() -> List[object]:
        got: List[object] = []
        async with uvws.connect(f"ws://127.0.0.1:{port}/bin", subprotocols=["s1"]) as ws:
            await ws.send(b"\x00\x01\xfe")
            got.append(await asyncio.wait_for(ws.recv(), TIMEOUT))
            await ws.send("text")
            got.append(await asyncio.wait_for(ws.recv(), TIMEOUT))
            await ws.close(4000, "done")
        return got

    assert asyncio.run(client()) == [b"\x00\x01\xfe", "text"]
    got = server.read_until('[1] closed 4000 (private) "done"')
    assert got[0].endswith(" /bin subprotocol s1"), got
    assert got[1:] == ["[1] < binary 3 bytes: 0001fe", "[1] < text", '[1] closed 4000 (private) "done"']


@pytest.mark.skipif(NODE is None, reason="node not found")
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_listen_stops_on_sigterm(pair, procs):
    server, port = start_listen(pair[0])
    procs.append(server)
    url = f"ws://127.0.0.1:{port}/"
    client = subprocess.Popen(CLI[pair[1]] + ["connect", url], cwd=ROOT, env=env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    try:
        assert client.stdin is not None
        client.stdin.write("still here\n")
        client.stdin.flush()
        assert server.read_until("[1] < still here")[-1] == "[1] < still here"
        server.p.send_signal(signal.SIGTERM)
        assert server.wait() == 0
        # stdin stays open: the client ends because the server closed.
        out, err = client.communicate(timeout=TIMEOUT)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait(5)
    assert client.returncode == 0, err
    assert out.splitlines() == [f"connected to {url}", 'closed 1001 (going away) "server shutting down"']
    assert server.read_until("[1] closed 1001 (going away)")


@pytest.mark.parametrize("impl", IMPLS)
def test_listen_port_in_use(impl):
    if impl == "node" and NODE is None:
        pytest.skip("node not found")
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run(CLI[impl] + ["listen", str(port), "--host", "127.0.0.1"], cwd=ROOT, env=env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 1, r
    assert r.stdout == ""
    assert r.stderr == f"uvws: cannot listen on 127.0.0.1:{port}: EADDRINUSE\n"


@pytest.mark.skipif(NODE is None, reason="node not found")
@pytest.mark.parametrize(
    "args, rc",
    [
        ([], 2),
        (["--help"], 0),
        (["listen", "--help"], 0),
        (["frobnicate"], 2),
        (["listen"], 2),
        (["listen", "1", "2"], 2),
        (["listen", "70000"], 2),
        (["listen", "+80"], 2),
        (["listen", "1_000"], 2),
        (["listen", "0", "--bogus"], 2),
        (["listen", "0", "--echo=yes"], 2),
        (["listen", "0", "--tls-cert", "x.pem"], 2),
        (["listen", "0", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"], 2),
        (["connect"], 2),
        (["connect", "ws://127.0.0.1:1/", "--header"], 2),
        (["connect", "ws://127.0.0.1:1/", "--header", "no colon"], 2),
        (["connect", "ws://127.0.0.1:1/", "--wait", "soon"], 2),
        (["connect", "ws://127.0.0.1:1/", "--ca", "/nonexistent.pem"], 2),
    ],
)
def test_usage_is_the_same(args, rc):
    py = subprocess.run(CLI["py"] + args, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    node = subprocess.run(CLI["node"] + args, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert (py.returncode, py.stdout, py.stderr) == (node.returncode, node.stdout, node.stderr)
    assert py.returncode == rc
    assert "usage: uvws listen PORT" in (py.stdout if rc == 0 else py.stderr)


def test_invalid_url_fails_cleanly(peer):
    for impl in IMPLS:
        if impl == "node" and NODE is None:
            continue
        r = connect(impl, "http//nope", stdin="")
        assert r.returncode == 1, r
        assert r.stdout == ""
        assert r.stderr.startswith("uvws: cannot connect to http//nope: "), r.stderr


def test_installed_commands():
    # The console script of the Python package, next to this interpreter.
    script = Path(sys.executable).parent / "uvws"
    assert script.exists(), f"{script}: the [project.scripts] entry was not installed"
    r = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and r.stdout.startswith("usage: uvws listen"), r
    # The Node half: a skip (a failure inside the test command) rather than a
    # silent pass when node or npx is missing.
    npx = shutil.which("npx")
    if NODE is None or npx is None:
        pytest.skip("node or npx not found: the Node command was not checked")
    # npx, from the repository root, runs the package's own bin entry (--no:
    # never fetch anything from the registry).
    r = subprocess.run([npx, "--no", "--", "uvws", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("usage: uvws listen"), r
    assert os.access(ROOT / "node" / "bin" / "uvws.js", os.X_OK)
    assert (ROOT / "node" / "bin" / "uvws.js").read_text().startswith("#!/usr/bin/env node\n")


def test_npm_pack_ships_the_bin():
    npm = shutil.which("npm")
    if npm is None or NODE is None:
        pytest.skip("npm not found")
    import json

    r = subprocess.run([npm, "pack", "--dry-run", "--json", "--ignore-scripts", "--loglevel=error"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)[0]
    files = {f["path"]: f for f in info["files"]}
    assert "node/bin/uvws.js" in files, sorted(files)
    manifest = json.loads((ROOT / "package.json").read_text())
    assert manifest["bin"] == {"uvws": "node/bin/uvws.js"}


def test_url_forms_as_ws_takes_them(peer):
    # http:// is ws://, and user info becomes an Authorization header (as ws
    # does; the Python tool rewrites the URL for the engine).
    for r in run_both(lambda port: [f"http://us%20er:p%40ss@127.0.0.1:{port}/need-header", "--header", "X-Token: secret"], "headers\n", peer):
        assert r.returncode == 0, r
        assert "< Authorization: Basic dXMgZXI6cEBzcw==" in r.stdout.splitlines(), r.stdout
    for r in run_both(lambda port: [f"ws://u:p@127.0.0.1:{port}/", "--header", "Authorization: Bearer t"], "headers\n", peer):
        out = r.stdout.splitlines()
        assert "< Authorization: Bearer t" in out and not any("Basic" in l for l in out), out
