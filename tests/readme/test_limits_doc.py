"""docs/limits.md must be true in every package.

Every default in docs/limits.md is compared with the running code:

- the `default` column of the engine's tables and the C column of "Defaults
  in each package" with what uvws_server_options_init() and
  uvws_client_options_init() set (build/bin/print_defaults, built from
  tests/c/print_defaults.c);
- the Python columns with the signatures of uvws.Server, uvws.WebSocket,
  uvws.serve and uvws.connect, and, for limits that are not parameters, with
  the limits those APIs hand to the engine;
- the Node column with what the addon starts from (its defaults(), the very
  function its listen() and connect() use) overlaid with what the JavaScript
  layer passes for a server and for a client.

So changing a default in one place without the others fails here.

    .venv/bin/python -m pytest tests/readme/test_limits_doc.py
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import uvws
from uvws import _asyncio, _events

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "limits.md").read_text(encoding="utf-8")
MiB = 1 << 20
KiB = 1 << 10
NA = object()


def tables() -> List[Tuple[List[str], List[List[str]]]]:
    out, lines, i = [], DOC.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("| ---"):
            header = cells(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(cells(lines[i]))
                i += 1
            out.append((header, rows))
        else:
            i += 1
    return out


def cells(line: str) -> List[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def spans(cell: str) -> List[str]:
    return re.findall(r"`([^`]+)`", cell)


def value(expr: str) -> Any:
    return eval(expr, {"__builtins__": {}}, {"MiB": MiB, "KiB": KiB, "None": None, "True": True, "False": False})


# -- the running code ---------------------------------------------------------


def c_defaults() -> Dict[str, Dict[str, int]]:
    exe = ROOT / os.environ.get("UVWS_BUILD", "build") / "bin" / "print_defaults"
    if not exe.exists():
        pytest.fail(f"{exe} is missing: build the C engine (cmake --build build)")
    out: Dict[str, Dict[str, int]] = {"server": {}, "client": {}}
    for line in subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines():
        key, val = line.split("=")
        scope, name = key.split(".")
        out[scope][name] = int(val)
    return out


def signature_defaults(fn: Any) -> Dict[str, Any]:
    return {
        p.name: p.default
        for p in inspect.signature(fn).parameters.values()
        if p.default is not inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD
    }


def python_events() -> Dict[str, Dict[str, Any]]:
    out = {}
    for scope, fn in (("Server", uvws.Server), ("WebSocket", uvws.WebSocket)):
        d = signature_defaults(fn)
        # What these defaults become for the engine (engine names, ms).
        engine = _events._limits(d["max_payload"], d["max_fragments"], d["max_backpressure"], d["close_on_backpressure"], d["idle_timeout"], d["ping_interval"], d["pong_timeout"], d["close_timeout"])
        out[scope] = {**engine, **d}
    return out


def python_asyncio() -> Dict[str, Dict[str, Any]]:
    out = {}
    for scope, fn in (("serve", uvws.serve), ("connect", uvws.connect)):
        d = signature_defaults(fn)
        engine = _asyncio._asyncio_limits(d["max_size"], d["ping_interval"], d["ping_timeout"], d["close_timeout"])
        out[scope] = {**engine, **d}
    return out


NODE_PROBE = r"""
const path = require('path');
const node = path.join(process.argv[1], 'node');
const binding = require(path.join(node, 'lib', 'binding'));
const { WebSocketServer, WebSocket } = require(node);
const d = binding.defaults();
const wss = new WebSocketServer({ noServer: true });
const server = { ...d.server, ...wss._nativeOptions() };
// The client hands its options to binding.connect(): capture them there.
let native = null;
const connect = binding.connect;
binding.connect = (ws, url, n) => { native = n; return binding.errors.EINVAL; };
try { new WebSocket('ws://127.0.0.1:1/'); } catch (e) {}
binding.connect = connect;
const client = { ...d.client, ...native };
delete client.headers; delete client.protocols; delete client.deflate;
process.stdout.write(JSON.stringify({ WebSocketServer: server, WebSocket: client }));
"""


def node_defaults() -> Dict[str, Dict[str, Any]]:
    r = subprocess.run(["node", "-e", NODE_PROBE, str(ROOT)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


PACKAGES: Dict[str, Any] = {}


def package(column: str) -> Dict[str, Dict[str, Any]]:
    if column not in PACKAGES:
        if column.startswith("C"):
            PACKAGES[column] = c_defaults()
        elif column.startswith("Python `uvws.Server`"):
            PACKAGES[column] = python_events()
        elif column.startswith("Python `uvws.serve`"):
            PACKAGES[column] = python_asyncio()
        elif column.startswith("Node"):
            PACKAGES[column] = node_defaults()
        else:
            raise AssertionError(f"docs/limits.md: unknown package column {column!r}")
    return PACKAGES[column]


# -- the checks -----------------------------------------------------------------

PER_PACKAGE = next(((h, rows) for h, rows in tables() if h[0] == "limit"), None)


def per_package_cells():
    assert PER_PACKAGE is not None, "docs/limits.md has no 'Defaults in each package' table"
    header, rows = PER_PACKAGE
    for row in rows:
        for column, cell in zip(header[1:], row[1:]):
            yield pytest.param(column, row[0], cell, id=f"{row[0]} / {column.replace('`', '')}")


@pytest.mark.parametrize("column,limit,cell", list(per_package_cells()))
def test_per_package_default(column, limit, cell):
    found = spans(cell)
    if not found:
        assert cell == "—", f"{limit} / {column}: write `name = default` or —"
        return
    assigned = [s for s in found if "=" in s]
    assert assigned, f"{limit} / {column}: no `name = default` in {cell!r}"
    pkg = package(column)
    for s in assigned[:1]:  # the first span is the setting; later ones are prose
        name, expr = (x.strip() for x in s.split("=", 1))
        expected = value(expr)
        scopes = [name.split(".", 1)[0]] if "." in name else list(pkg)
        key = name.split(".", 1)[-1]
        checked = 0
        for scope in scopes:
            assert scope in pkg, f"{limit} / {column}: unknown scope {scope!r} (known: {list(pkg)})"
            if key not in pkg[scope]:
                continue
            actual = pkg[scope][key]
            assert actual == expected, f"docs/limits.md, {limit}: {column.split('`')[0].strip()} {scope} {key} is {actual!r} in the code, {expected!r} in the doc"
            checked += 1
        assert checked, f"docs/limits.md, {limit}: {key} is not a default of {column} ({', '.join(scopes)})"


def human(text: str, name: str) -> int:
    """'100 MiB' -> bytes, '30 s' -> ms, '0 (off)', 'off' -> 0, '16384' -> 16384."""
    t = text.strip()
    if t.startswith("off") or t.startswith("0 ("):
        return 0
    m = re.match(r"([\d.,]+)\s*(MiB|KiB|s|ms)?\b", t)
    assert m, f"docs/limits.md: cannot read the default {text!r} of {name}"
    n = float(m.group(1).replace(",", ""))
    unit = {"MiB": MiB, "KiB": KiB, "s": 1000, "ms": 1, None: 1}[m.group(2)]
    return int(n * unit)


def engine_rows():
    for header, rows in tables():
        if header[:2] != ["setting", "default"]:
            continue
        for row in rows:
            for name in spans(row[0])[:1]:
                yield pytest.param(name, row[1], id=name)


@pytest.mark.parametrize("name,text", list(engine_rows()))
def test_engine_default_column(name, text):
    c = c_defaults()
    if name == "backlog":
        assert human(text, name) == c["server"]["backlog"]
        return
    scopes = [s for s in ("server", "client") if name in c[s]]
    assert scopes, f"docs/limits.md documents `{name}`, which is not an option of the C API"
    for scope in scopes:
        assert c[scope][name] == human(text, name), f"docs/limits.md: {name} is {c[scope][name]} in the {scope} defaults, {text!r} in the doc"


def test_every_c_option_is_documented():
    c = c_defaults()
    names = set(c["server"]) | set(c["client"])
    documented = {n for header, rows in tables() for row in rows for n in spans(row[0])}
    prose = set(re.findall(r"`(\w+)`", DOC))
    missing = sorted(n for n in names if n not in documented and n not in prose)
    assert not missing, f"docs/limits.md does not mention {missing}"
