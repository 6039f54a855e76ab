#!/usr/bin/env python3
"""Interop matrix: every matrix client (C, Python, Node) against every
matrix server (C, Python, Node), over ws:// and wss:// (18 pairings), plus a
SIGTERM check of each server. Standard library only; builds nothing.

    .venv/bin/python tests/matrix/run.py [--servers c,python,node]
        [--clients c,python,node] [--schemes ws,wss] [--steps a,b]
        [--build build] [--python .venv/bin/python] [--node node]
        [--json results.json] [-v]

Needs build/bin/matrix_server and matrix_client (cmake --build build), the
Python package installed in .venv (.venv/bin/pip install .) and the Node
addon built (npm install). Makes a throwaway CA and server certificate with
tests/tls/make_certs.sh. Prints a clients x servers table per scheme and
exits 0 only if every pairing and every SIGTERM check passed (2 when a
prerequisite is missing). See tests/matrix/README.md.
"""

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "tests", "matrix")
LANGS = ("c", "python", "node")
SCHEMES = ("ws", "wss")
STEPS = (
    "text-echo",
    "binary-echo",
    "big-binary-echo",
    "fragmented",
    "ping-pong",
    "subprotocol",
    "subprotocol-fallback",
    "close-normal",
    "too-big",
    "too-big-client",
    "protocol-error",
    "invalid-utf8",
    "protocol-error-raw",
    "reject-401",
    "going-away",
)
SERVER_START_TIMEOUT = 15.0
CLIENT_TIMEOUT = 90.0
SERVER_EXIT_TIMEOUT = 10.0


def log(msg: str) -> None:
    print(msg, flush=True)


class Proc:
    """A child in its own process group, so that stragglers can be killed
    with everything they started."""

    def __init__(self, argv: List[str], stdout_path: Optional[str] = None, stderr_path: Optional[str] = None) -> None:
        self.argv = argv
        self.stderr_path = stderr_path
        self._files = []
        out = subprocess.PIPE
        if stdout_path:
            out = open(stdout_path, "w")
            self._files.append(out)
        err = subprocess.DEVNULL
        if stderr_path:
            err = open(stderr_path, "w")
            self._files.append(err)
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=ROOT, start_new_session=True, text=True)

    def kill(self) -> None:
        """SIGTERM the group, then SIGKILL it after 3 s."""
        for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(grace)
                break
            except subprocess.TimeoutExpired:
                continue
        # A child that exited may still have left members in its group.
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.close_files()

    def close_files(self) -> None:
        if self.p.stdout:
            self.p.stdout.close()
        for f in self._files:
            f.close()
        self._files = []

    def stderr_tail(self, n: int = 15) -> str:
        if not self.stderr_path or not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, errors="replace") as f:
            lines = f.read().splitlines()
        return "\n".join(lines[-n:])


def read_line(stream, timeout: float) -> Optional[str]:
    """One line from a pipe within `timeout` seconds (None: nothing)."""
    box: List[str] = []
    t = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return box[0] if box else None


class Runner:
    def __init__(self, args: argparse.Namespace, workdir: str) -> None:
        self.args = args
        self.workdir = workdir
        self.certs = os.path.join(workdir, "certs")
        bindir = os.path.join(args.build, "bin")
        self.server_cmd = {
            "c": [os.path.join(bindir, "matrix_server")],
            "python": [args.python, os.path.join(HERE, "server.py")],
            "node": [args.node, os.path.join(HERE, "server.js")],
        }
        self.client_cmd = {
            "c": [os.path.join(bindir, "matrix_client")],
            "python": [args.python, os.path.join(HERE, "client.py")],
            "node": [args.node, os.path.join(HERE, "client.js")],
        }
        self.seq = 0

    # -- prerequisites ---------------------------------------------------

    def preflight(self) -> List[str]:
        problems = []
        for name in ("matrix_server", "matrix_client"):
            path = os.path.join(self.args.build, "bin", name)
            if not os.access(path, os.X_OK):
                problems.append(f"{path} is missing: build it with `cmake -S . -B build -G Ninja && cmake --build build`")
        try:
            r = subprocess.run([self.args.python, "-c", "import uvws"], capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                problems.append(f"{self.args.python} cannot import uvws: run `.venv/bin/pip install .` ({r.stderr.strip().splitlines()[-1:]})")
        except (OSError, subprocess.TimeoutExpired) as exc:
            problems.append(f"{self.args.python}: {exc}")
        try:
            r = subprocess.run(
                [self.args.node, "-e", f"require({json.dumps(os.path.join(ROOT, 'node'))})"],
                capture_output=True,
                text=True,
                timeout=120,
                env=dict(os.environ, UVWS_NO_LAZY_BUILD="1"),
            )
            if r.returncode != 0:
                problems.append(f"the Node addon does not load: run `npm install` ({r.stderr.strip().splitlines()[-1:]})")
        except (OSError, subprocess.TimeoutExpired) as exc:
            problems.append(f"{self.args.node}: {exc}")
        return problems

    def make_certs(self) -> None:
        subprocess.run(
            ["bash", os.path.join(ROOT, "tests", "tls", "make_certs.sh"), self.certs],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=120,
        )

    # -- servers ---------------------------------------------------------

    def start_server(self, lang: str, scheme: str) -> Tuple[Optional[Proc], int, str]:
        self.seq += 1
        argv = self.server_cmd[lang] + ["--host", "127.0.0.1", "--port", "0"]
        if scheme == "wss":
            argv += ["--tls-cert", os.path.join(self.certs, "server.pem"), "--tls-key", os.path.join(self.certs, "server.key")]
        errpath = os.path.join(self.workdir, f"{self.seq:03d}-server-{lang}-{scheme}.log")
        proc = Proc(argv, stderr_path=errpath)
        line = read_line(proc.p.stdout, SERVER_START_TIMEOUT)
        if not line or not line.startswith("listening on "):
            proc.kill()
            return None, 0, f"server did not print 'listening on <port>' within {SERVER_START_TIMEOUT:.0f} s (got {line!r}); {proc.stderr_tail()}"
        return proc, int(line.split()[2]), ""

    def wait_server_exit(self, proc: Proc) -> str:
        """'' if the server exited with status 0 within the timeout."""
        try:
            rc = proc.p.wait(SERVER_EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            return f"server still running {SERVER_EXIT_TIMEOUT:.0f} s after the shutdown (killed)"
        proc.kill()  # reap anything left in its group
        return "" if rc == 0 else f"server exited with status {rc}"

    # -- one pairing -----------------------------------------------------

    def pairing(self, server: str, client: str, scheme: str) -> Dict:
        res: Dict = {"server": server, "client": client, "scheme": scheme, "steps": [], "problems": []}
        t0 = time.monotonic()
        proc, port, why = self.start_server(server, scheme)
        if proc is None:
            res["problems"].append(why)
            res["ok"] = False
            res["seconds"] = time.monotonic() - t0
            return res
        url = f"{scheme}://127.0.0.1:{port}"
        argv = self.client_cmd[client] + ["--ca", os.path.join(self.certs, "ca.pem")]
        if self.args.steps:
            argv += ["--only", self.args.steps]
        argv.append(url)
        self.seq += 1
        cerr = os.path.join(self.workdir, f"{self.seq:03d}-client-{client}-{scheme}.log")
        cproc = Proc(argv, stderr_path=cerr)
        try:
            out, _ = cproc.p.communicate(timeout=CLIENT_TIMEOUT)
            crc = cproc.p.returncode
        except subprocess.TimeoutExpired:
            cproc.kill()
            out, crc = "", None
            res["problems"].append(f"client still running after {CLIENT_TIMEOUT:.0f} s (killed)")
        cproc.kill()
        summary = None
        for line in (out or "").splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                res["problems"].append(f"client printed a non-JSON line: {line[:200]!r}")
                continue
            if "summary" in obj:
                summary = obj["summary"]
            elif "step" in obj:
                res["steps"].append(obj)
        if crc is not None and crc != 0:
            res["problems"].append(f"client exited with status {crc}")
        if summary is None and crc is not None:
            res["problems"].append(f"client printed no summary; stderr: {cproc.stderr_tail()}")
        expected = self.args.steps.split(",") if self.args.steps else list(STEPS)
        seen = [s["step"] for s in res["steps"]]
        missing = [s for s in expected if s not in seen]
        if missing and crc is not None:
            res["problems"].append(f"steps not reported: {', '.join(missing)}")
        res["failed_steps"] = [s["step"] for s in res["steps"] if s.get("result") == "fail"]
        for st in res["steps"]:
            if st.get("result") == "skip" and not skip_allowed(client, scheme, st.get("step")):
                res["problems"].append(f"step {st.get('step')} skipped, which only the skips in ALLOWED_SKIPS may: "
                                       f"{st.get('detail')}")
        # going-away shuts the server down; otherwise stop it here.
        if "going-away" in expected:
            why = self.wait_server_exit(proc)
            if why:
                res["problems"].append(why + f"; server log: {proc.stderr_tail(5)}")
        else:
            proc.p.send_signal(signal.SIGTERM)
            self.wait_server_exit(proc)
        res["ok"] = not res["problems"] and not res["failed_steps"]
        res["seconds"] = time.monotonic() - t0
        if not res["ok"]:
            res["server_log"] = proc.stderr_tail()
            res["client_log"] = cproc.stderr_tail()
        return res

    # -- SIGTERM check ---------------------------------------------------

    def sigterm_check(self, server: str, scheme: str) -> Dict:
        """An idle connection gets a close frame with 1001 when the server
        receives SIGTERM, and the server exits with status 0."""
        res: Dict = {"server": server, "scheme": scheme, "problems": []}
        t0 = time.monotonic()
        proc, port, why = self.start_server(server, scheme)
        if proc is None:
            res["problems"].append(why)
        else:
            try:
                code, reason = self._idle_until_close(proc, port, scheme)
                res["close"] = [code, reason]
                if code != 1001:
                    res["problems"].append(f"close code {code} {reason!r} after SIGTERM, expected 1001")
            except (OSError, ValueError, ssl.SSLError) as exc:
                res["problems"].append(f"raw client: {type(exc).__name__}: {exc}")
            why = self.wait_server_exit(proc)
            if why:
                res["problems"].append(why)
        res["ok"] = not res["problems"]
        res["seconds"] = time.monotonic() - t0
        return res

    def _idle_until_close(self, proc: Proc, port: int, scheme: str) -> Tuple[int, str]:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            if scheme == "wss":
                ctx = ssl.create_default_context(cafile=os.path.join(self.certs, "ca.pem"))
                sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
            key = base64.b64encode(os.urandom(16)).decode()
            sock.sendall(
                (
                    f"GET /echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = sock.recv(4096)
                if not chunk:
                    raise ValueError(f"connection closed during the handshake: {buf!r}")
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 101"):
                raise ValueError(f"handshake answered {head.splitlines()[0]!r}")
            proc.p.send_signal(signal.SIGTERM)

            def need(n: int) -> bytes:
                nonlocal buf
                while len(buf) < n:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ValueError("connection closed without a close frame")
                    buf += chunk
                out, buf = buf[:n], buf[n:]
                return out

            while True:
                b0, b1 = need(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack(">H", need(2))[0]
                elif n == 127:
                    n = struct.unpack(">Q", need(8))[0]
                payload = need(n)
                if b0 & 0x0F == 0x8:
                    code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
                    mask = os.urandom(4)
                    echo = payload[:2]
                    sock.sendall(bytes([0x88, 0x80 | len(echo)]) + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(echo)))
                    return code, payload[2:].decode(errors="replace")
        finally:
            sock.close()


# The steps a client may skip: what its package cannot do (README.md, "Skips"):
# (client, step, scheme or None for every scheme). Any other skip fails the
# pairing, so that a step cannot silently stop running.
ALLOWED_SKIPS = {
    ("python", "invalid-utf8", None),        # the package refuses to send invalid text
    ("python", "protocol-error-raw", None),  # no access to the socket
    ("node", "protocol-error-raw", None),    # no access to the socket
    ("c", "protocol-error-raw", "wss"),      # the socket carries TLS records
}


def skip_allowed(client: str, scheme: str, step: Optional[str]) -> bool:
    return (client, step, None) in ALLOWED_SKIPS or (client, step, scheme) in ALLOWED_SKIPS


def render(results: List[Dict], sigterm: List[Dict], servers: List[str], clients: List[str], schemes: List[str]) -> str:
    def cell(r: Optional[Dict]) -> str:
        if r is None:
            return "-"
        ok = sum(1 for s in r["steps"] if s.get("result") == "pass")
        sk = sum(1 for s in r["steps"] if s.get("result") == "skip")
        text = f"{'PASS' if r['ok'] else 'FAIL'} {ok}"
        if sk:
            text += f"+{sk}skip"
        return f"{text} {r['seconds']:.1f}s"

    w = 22
    lines = []
    for scheme in schemes:
        corner = "client \\ server"
        lines.append(f"{scheme + '://':<8}{corner:<16}" + "".join(f"{s:<{w}}" for s in servers))
        for c in clients:
            row = f"{'':<8}{c:<16}"
            for s in servers:
                r = next((x for x in results if x["server"] == s and x["client"] == c and x["scheme"] == scheme), None)
                row += f"{cell(r):<{w}}"
            lines.append(row)
        if sigterm:
            row = f"{'':<8}{'SIGTERM->1001':<16}"
            for s in servers:
                r = next((x for x in sigterm if x["server"] == s and x["scheme"] == scheme), None)
                text = "-" if r is None else ("PASS" if r["ok"] else "FAIL") + " %.1fs" % r["seconds"]
                row += f"{text:<{w}}"
            lines.append(row)
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", default=",".join(LANGS))
    ap.add_argument("--clients", default=",".join(LANGS))
    ap.add_argument("--schemes", default=",".join(SCHEMES))
    ap.add_argument("--steps", help="only these steps (comma-separated)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    default_python = os.path.join(ROOT, ".venv", "bin", "python")
    ap.add_argument("--python", default=default_python if os.path.exists(default_python) else sys.executable)
    ap.add_argument("--node", default=shutil.which("node") or "node")
    ap.add_argument("--no-sigterm", action="store_true", help="skip the SIGTERM checks")
    ap.add_argument("--json", help="write every result to this file")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (certificates, logs)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every step of every pairing")
    args = ap.parse_args()
    servers = [s for s in args.servers.split(",") if s]
    clients = [c for c in args.clients.split(",") if c]
    schemes = [s for s in args.schemes.split(",") if s]
    for x in servers + clients:
        if x not in LANGS:
            ap.error(f"unknown language {x!r}")
    for x in schemes:
        if x not in SCHEMES:
            ap.error(f"unknown scheme {x!r}")
    if args.steps:
        for x in args.steps.split(","):
            if x not in STEPS:
                ap.error(f"unknown step {x!r}")

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="uvws-matrix-")
    runner = Runner(args, workdir)
    problems = runner.preflight()
    if problems:
        for p in problems:
            log(f"matrix: {p}")
        shutil.rmtree(workdir, ignore_errors=True)
        return 2
    results: List[Dict] = []
    sigterm: List[Dict] = []
    try:
        runner.make_certs()
        for scheme in schemes:
            for server in servers:
                for client in clients:
                    r = runner.pairing(server, client, scheme)
                    results.append(r)
                    status = "PASS" if r["ok"] else "FAIL"
                    log(f"{status}  {client:>6} client -> {server:<6} server  {scheme}://  ({r['seconds']:.1f} s)")
                    if args.verbose or not r["ok"]:
                        for s in r["steps"]:
                            log(f"        {s.get('result', '?'):<4} {s['step']:<22} {s.get('detail', '')}")
                    for p in r["problems"]:
                        log(f"        problem: {p}")
                    if not r["ok"]:
                        for what in ("server_log", "client_log"):
                            if r.get(what):
                                log(f"        {what}:\n" + "\n".join("          " + x for x in r[what].splitlines()))
                if not args.no_sigterm:
                    r = runner.sigterm_check(server, scheme)
                    sigterm.append(r)
                    log(f"{'PASS' if r['ok'] else 'FAIL'}  SIGTERM -> {server:<6} server  {scheme}://  ({r['seconds']:.1f} s) {r.get('close', '')}")
                    for p in r["problems"]:
                        log(f"        problem: {p}")
    except KeyboardInterrupt:
        log("matrix: interrupted")
        return 130
    finally:
        if args.keep:
            log(f"matrix: work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    elapsed = time.monotonic() - started
    failed = [r for r in results + sigterm if not r["ok"]]
    log("")
    log("=== interop matrix (cells: PASS/FAIL, steps passed, +skipped, seconds)")
    log(render(results, sigterm, servers, clients, schemes))
    log(f"{len(results)} pairings, {sum(r['ok'] for r in results)} passed; "
        f"{len(sigterm)} SIGTERM checks, {sum(r['ok'] for r in sigterm)} passed; {elapsed:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"pairings": results, "sigterm": sigterm, "seconds": elapsed}, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
