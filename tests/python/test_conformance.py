"""The conformance runner (tests/conformance, a re-implementation of
Autobahn|Testsuite groups 1-7, 9 short form, 10, 12, 13) against the Python echo
server and the Python Autobahn client. Every run is strict (FAILED, NON-STRICT
and UNIMPLEMENTED fail it) and must have exactly the expected number of OK
cases: groups 1-7 and 10 are 247 cases, 3 of them INFORMATIONAL by definition;
groups 12 and 13 are 324 cases."""

import os
import re
import subprocess
import sys

import pytest

from conftest import EXAMPLES, ROOT, engine_has_tls, example_env

RUN_AGAINST = ROOT / "tests" / "conformance" / "run_against.py"

pytestmark = pytest.mark.skipif(not RUN_AGAINST.exists(), reason="tests/conformance not present")


OK_1_TO_7_AND_10 = 244
OK_12_13 = 324


def run_against(args, env=None):
    what, rest = args[0], args[1:]
    expect = OK_12_13 if "12,13" in rest else OK_1_TO_7_AND_10
    args = [what, "--strict", "--expect-ok=%d" % expect, *rest]
    r = subprocess.run([sys.executable, str(RUN_AGAINST), *args], capture_output=True, text=True, timeout=600, env=env or example_env())
    out = r.stdout + r.stderr
    m = re.search(r"OK (\d+), NON-STRICT (\d+), FAILED (\d+)", out)
    assert m, out[-3000:]
    ok, non_strict, failed = map(int, m.groups())
    return r.returncode, ok, non_strict, failed, out


@pytest.mark.parametrize("extra", [[], ["--python-callback"]])
def test_echo_server_groups_1_to_7_and_10(extra):
    rc, ok, non_strict, failed, out = run_against(
        ["server", "--agent", "uvws-python-echo" + "".join(extra), "--cases", "1-7,10", "--",
         sys.executable, str(EXAMPLES / "echo_server.py"), "--host", "127.0.0.1", "--port", "0", *extra])
    assert rc == 0 and failed == 0 and non_strict == 0 and ok == OK_1_TO_7_AND_10, out[-3000:]


def test_echo_server_wss(tls_files):
    if not engine_has_tls(tls_files):
        pytest.skip("the engine was built without TLS")
    cert, key = tls_files
    rc, ok, non_strict, failed, out = run_against(
        ["server", "--agent", "uvws-python-echo-wss", "--cases", "1-7,10", "--scheme", "wss", "--host", "localhost", "--ca", cert, "--",
         sys.executable, str(EXAMPLES / "echo_server.py"), "--host", "127.0.0.1", "--port", "0", "--tls-cert", cert, "--tls-key", key])
    assert rc == 0 and failed == 0 and non_strict == 0, out[-3000:]


def test_python_client_groups_1_to_7_and_10():
    env = example_env()
    env["UVWS_AUTOBAHN_API"] = "callbacks"
    rc, ok, non_strict, failed, out = run_against(
        ["client", "--agent", "uvws-python-client", "--cases", "1-7,10", "--",
         sys.executable, str(EXAMPLES / "autobahn_client.py"), "{url}", "{agent}"], env=env)
    assert rc == 0 and failed == 0 and non_strict == 0, out[-3000:]


def test_echo_server_permessage_deflate_groups_12_13():
    rc, ok, non_strict, failed, out = run_against(
        ["server", "--agent", "uvws-python-echo-deflate", "--cases", "12,13", "--",
         sys.executable, str(EXAMPLES / "echo_server.py"), "--host", "127.0.0.1", "--port", "0", "--deflate"])
    assert rc == 0 and failed == 0 and non_strict == 0 and ok == OK_12_13, out[-3000:]
