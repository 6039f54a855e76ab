#!/usr/bin/env python3
"""Run the conformance runner against a server or a client program under test.

Servers (the runner is the fuzzing client):
  run_against.py server [options] -- CMD [ARGS...]
    Starts CMD (an echo server that prints "listening on <port>" once ready; give it
    "--port 0" yourself), runs `runner.py client` against ws://127.0.0.1:<port>/, stops
    the server and exits with the runner's exit code.
    e.g. run_against.py server --cases 1-7,10 -- build/bin/echo_server --port 0

Clients (the runner is the fuzzing server):
  run_against.py client [options] -- CMD [ARGS...]
    Starts `runner.py server --port 0 --exit-after-report`, then runs CMD with the base
    URL and the agent name appended (or substituted for {url} and {agent} if CMD has
    them), waits (bounded) for the client and for the report, and exits with the
    runner's exit code (0 only if the report has no FAILED case).
    e.g. run_against.py client --agent uvws -- build/bin/autobahn_client

Options not listed below (--cases, --exclude, --strict, --time-scale, -v, ...) are
passed on to runner.py. Exit code 2: the program under test did not start, or the
runner did not produce a result in time.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "runner.py")
LISTENING = re.compile(r"listening on\s+(?:\S*:)?(\d+)")


def start(cmd, log):
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def stop(proc, grace=5.0):
    """Stop a process we started (and its process group, which it leads)."""
    if proc.poll() is not None:
        return proc.returncode
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass
        try:
            return proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    return proc.poll()


def wait_for_port(proc, logpath, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(logpath, "r", errors="replace") as f:
            m = LISTENING.search(f.read())
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            return None
        time.sleep(0.05)
    return None


def tail(path, n=30):
    try:
        with open(path, "r", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def run_server_under_test(a, passthrough, cmd):
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
        logpath = os.path.join(tmp, "server.log")
        with open(logpath, "w") as log:
            proc = start(cmd, log)
        try:
            port = wait_for_port(proc, logpath, a.startup_timeout)
            if port is None:
                print("run_against: the server did not print 'listening on <port>' within %.0fs (exit %s). "
                      "Its output:\n%s" % (a.startup_timeout, proc.poll(), tail(logpath)), file=sys.stderr)
                return 2
            url = "%s://%s:%d/" % (a.scheme, a.host, port)
            rcmd = [sys.executable, RUNNER, "client", "--url", url] + passthrough
            if a.report:
                rcmd += ["--report", a.report]
            if a.agent:
                rcmd += ["--agent", a.agent]
            print("run_against: server pid %d on port %d; %s" % (proc.pid, port, " ".join(rcmd[1:])), flush=True)
            try:
                rc = subprocess.run(rcmd, timeout=a.timeout, stdin=subprocess.DEVNULL).returncode
            except subprocess.TimeoutExpired:
                print("run_against: runner did not finish within %.0fs" % a.timeout, file=sys.stderr)
                rc = 2
            if proc.poll() is not None:
                print("run_against: note: the server exited during the run (exit %s); last output:\n%s"
                      % (proc.returncode, tail(logpath)), file=sys.stderr)
            return rc
        finally:
            stop(proc)


def run_client_under_test(a, passthrough, cmd):
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
        logpath = os.path.join(tmp, "runner.log")
        rcmd = [sys.executable, RUNNER, "server", "--port", "0", "--host", a.host, "--exit-after-report",
                "--idle-timeout", str(a.idle_timeout)] + passthrough
        if a.report:
            rcmd += ["--report", a.report]
        with open(logpath, "w") as log:
            runner = start(rcmd, log)
        client = None
        try:
            port = wait_for_port(runner, logpath, 30)
            if port is None:
                print("run_against: the runner did not start:\n%s" % tail(logpath), file=sys.stderr)
                return 2
            base = "%s://%s:%d" % (a.scheme, a.host, port)
            agent = a.agent or "client"
            if any("{url}" in x or "{agent}" in x for x in cmd):
                ccmd = [x.replace("{url}", base).replace("{agent}", agent) for x in cmd]
            else:
                ccmd = cmd + [base, agent]
            print("run_against: runner on port %d; client: %s" % (port, " ".join(ccmd)), flush=True)
            client = subprocess.Popen(ccmd, stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                crc = client.wait(a.timeout)
            except subprocess.TimeoutExpired:
                print("run_against: the client did not finish within %.0fs" % a.timeout, file=sys.stderr)
                crc = None
                stop(client)
            try:
                rc = runner.wait(a.report_timeout)
            except subprocess.TimeoutExpired:
                print("run_against: no report: the client never asked for /updateReports (client exit %s)" % crc,
                      file=sys.stderr)
                stop(runner)
                rc = 2
            print(tail(logpath, 10 ** 6), flush=True)
            if crc not in (0, None):
                print("run_against: note: the client exited with %s" % crc, file=sys.stderr)
            return rc
        finally:
            if client is not None:
                stop(client)
            stop(runner)


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    i = argv.index("--")
    own, cmd = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(usage="run_against.py {server|client} [options] -- CMD [ARGS...]")
    ap.add_argument("what", choices=("server", "client"), help="what CMD is")
    ap.add_argument("--report", help="JSON report file")
    ap.add_argument("--agent", help="agent name (client: passed to CMD; server: name in the report)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--scheme", default="ws", choices=("ws", "wss"),
                    help="wss: the server under test speaks TLS (pass --ca/--insecure for the runner), or, "
                         "for clients, the runner does (pass --tls-cert/--tls-key)")
    ap.add_argument("--startup-timeout", type=float, default=30.0, help="seconds for the server to start")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds for the whole run")
    ap.add_argument("--report-timeout", type=float, default=30.0,
                    help="client mode: seconds to wait for the report after the client exits")
    ap.add_argument("--idle-timeout", type=float, default=60.0,
                    help="client mode: the runner stops when no client was connected this long")
    a, passthrough = ap.parse_known_args(own)
    if not cmd:
        ap.error("no command after --")
    if a.what == "server":
        return run_server_under_test(a, passthrough, cmd)
    return run_client_under_test(a, passthrough, cmd)


if __name__ == "__main__":
    sys.exit(main())
