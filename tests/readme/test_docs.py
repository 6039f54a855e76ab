"""The API pages must not drift from the code:

- docs/python.md: the parameter tables of uvws.Server, uvws.WebSocket,
  uvws.serve, uvws.connect and uvws.TLSOptions name exactly the parameters
  of the real signatures, with the same defaults; every method written as
  `name(args)` has those parameters and defaults; every attribute named in a
  method / property table exists.
- docs/node.md: the option tables name exactly the options of
  node/index.d.ts's ServerOptions and ClientOptions, and each one that is not
  documented as ignored is read somewhere in node/lib.
- docs/cli.md: the usage lines and the close-code names are the tools'.

    .venv/bin/python -m pytest tests/readme
"""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import uvws

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
NO_DEFAULT = object()


def sections(text: str) -> Dict[str, str]:
    """Heading text -> the text up to the next heading (any level)."""
    out: Dict[str, str] = {}
    current, body = "", []
    for line in text.splitlines():
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            out[current] = "\n".join(body)
            current, body = m.group(1).strip(), []
        else:
            body.append(line)
    out[current] = "\n".join(body)
    return out


def tables(text: str) -> List[Tuple[List[str], List[List[str]]]]:
    """The Markdown tables of `text`: (header cells, rows of cells)."""
    found = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"\|\s*-", lines[i + 1]):
            header = split_row(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(split_row(lines[i]))
                i += 1
            found.append((header, rows))
        else:
            i += 1
    return found


def split_row(line: str) -> List[str]:
    # Pipes inside backticks are not cell separators.
    cells, cur, code = [], "", False
    for ch in line.strip()[1:-1]:
        if ch == "`":
            code = not code
        if ch == "|" and not code:
            cells.append(cur.strip())
            cur = ""
        else:
            cur += ch
    cells.append(cur.strip())
    return cells


def code_spans(cell: str) -> List[str]:
    return re.findall(r"`([^`]+)`", cell)


def evaluate(expr: str) -> Any:
    return eval(expr, {"uvws": uvws, "__builtins__": {}}, {})


def params(obj: Any) -> List[inspect.Parameter]:
    sig = signature(obj)
    assert sig is not None, f"no signature for {obj}"
    return [p for p in sig.parameters.values() if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def signature(obj: Any) -> Optional[inspect.Signature]:
    try:
        return inspect.signature(obj)
    except (ValueError, TypeError):
        pass
    # C methods: "name(a, b=1) -> int" on the first line of the docstring.
    doc = (getattr(obj, "__doc__", "") or "").splitlines()
    m = re.match(r"\w+\((.*?)\)", doc[0]) if doc else None
    if not m:
        return None
    return inspect.signature(eval(f"lambda {m.group(1)}: None", {}))


# -- docs/python.md ----------------------------------------------------------

PY = sections((DOCS / "python.md").read_text(encoding="utf-8"))

CALLABLES = {
    "uvws.Server": uvws.Server,
    "uvws.WebSocket": uvws.WebSocket,
    "uvws.serve": uvws.serve,
    "uvws.connect": uvws.connect,
}


@pytest.mark.parametrize("name", sorted(CALLABLES))
def test_python_parameter_table(name):
    assert name in PY, f"docs/python.md has no '### {name}' section"
    table = next((rows for header, rows in tables(PY[name]) if header[0] == "parameter"), None)
    assert table is not None, f"docs/python.md, {name}: no parameter table"
    documented = [code_spans(row[0])[0] for row in table]
    real = params(CALLABLES[name])
    assert documented == [p.name for p in real], f"docs/python.md, {name}: parameters differ from the signature"
    for row, p in zip(table, real):
        default = code_spans(row[1])
        if p.default is inspect.Parameter.empty:
            assert not default, f"{name}({p.name}): documented default {default} but none in the code"
        else:
            assert default, f"{name}({p.name}): the default {p.default!r} is not documented"
            assert evaluate(default[0]) == p.default, f"{name}({p.name}): documented {default[0]}, code {p.default!r}"


def test_python_tls_options_table():
    table = next(rows for header, rows in tables(PY["TLS"]) if "TLSOptions" in header[0])
    fields = {f.name: f.default for f in uvws.TLSOptions.__dataclass_fields__.values()}
    documented = {}
    for row in table:
        for name in code_spans(row[0]):
            documented[name] = code_spans(row[1])[0]
    assert set(documented) == set(fields)
    for name, default in documented.items():
        assert evaluate(default) == fields[name], name


# Tables of methods and attributes, and the classes they describe.
MEMBER_TABLES = {
    "Module": [uvws],
    "EventEmitter": [uvws.EventEmitter],
    "uvws.Server": [uvws.Server],
    "uvws.WebSocket": [uvws.WebSocket],
    "uvws.serve": [uvws.WebSocketServer],
    "Connections": [uvws.Connection, uvws.ServerConnection, uvws.ClientConnection],
    "HTTP objects": [uvws.Request, uvws.Response],
}


def member_exists(classes: List[Any], name: str) -> Optional[Any]:
    for cls in classes:
        if hasattr(cls, name):
            return getattr(cls, name)
        if inspect.isclass(cls):
            for klass in cls.__mro__:
                try:
                    if re.search(rf"self\.{name}\b\s*(:[^=]*)?=", inspect.getsource(klass)):
                        return True
                except (OSError, TypeError):
                    pass
    return None


def member_cases() -> List[Tuple[str, str]]:
    cases = []
    for section in MEMBER_TABLES:
        for header, rows in tables(PY[section]):
            if header[0] not in ("name", "method", "property", "attribute / method", "attribute", "member"):
                continue
            for row in rows:
                for span in code_spans(row[0]):
                    cases.append((section, span))
    return cases


@pytest.mark.parametrize("section, span", member_cases())
def test_python_member(section, span):
    classes = MEMBER_TABLES[section]
    if span.startswith("async for") or " in " in span:
        return  # syntax, not a member
    text = re.sub(r"^await\s+", "", span)
    text = re.sub(r"^uvws\.", "", text)
    m = re.fullmatch(r"(\w+)(?:\((.*)\))?", text)
    assert m, f"docs/python.md, {section}: cannot read `{span}`"
    name, args = m.group(1), m.group(2)
    member = member_exists(classes, name)
    assert member is not None, f"docs/python.md, {section}: `{span}`: {name} does not exist"
    if args is None or args.strip() in ("...",):
        return
    documented = inspect.signature(eval(f"lambda {args.replace('...', '').rstrip(', ')}: None", {"uvws": uvws}))
    real = signature(member)
    assert real is not None, f"{span}: no signature to compare with"
    real_params = [p for p in real.parameters.values() if p.name != "self"]
    doc_params = list(documented.parameters.values())
    if "..." in args:
        real_params = real_params[: len(doc_params)]
    assert [p.name for p in doc_params] == [p.name for p in real_params], f"docs/python.md, {section}: `{span}` vs {real}"
    for d, r in zip(doc_params, real_params):
        assert d.default == r.default or (d.default is inspect.Parameter.empty and r.default is inspect.Parameter.empty), f"`{span}`: {d.name} defaults to {r.default!r} in the code"


def test_python_events_named_in_the_code():
    src = inspect.getsource(uvws.WebSocket) + inspect.getsource(uvws.Server)
    for section in ("uvws.Server", "uvws.WebSocket"):
        for header, rows in tables(PY[section]):
            if header[0] != "event":
                continue
            for row in rows:
                event = code_spans(row[0])[0]
                assert f'"{event}"' in src or f"'{event}'" in src, f"{section}: event {event!r} is never emitted"


# -- docs/node.md --------------------------------------------------------------

NODE_DOC = sections((DOCS / "node.md").read_text(encoding="utf-8"))
DTS = (ROOT / "node" / "index.d.ts").read_text(encoding="utf-8")
NODE_LIB = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "node" / "lib").glob("*.js"))


def dts_members(interface: str) -> List[str]:
    m = re.search(rf"interface {interface}(?: extends (\w+))? \{{(.*?)\n  \}}", DTS, re.S)
    assert m, f"index.d.ts: no interface {interface}"
    names = re.findall(r"^\s{4}(\w+)\??:", m.group(2), re.M)
    if m.group(1):
        names += dts_members(m.group(1))
    return names


@pytest.mark.parametrize("section, interface", [("WebSocketServer options", "ServerOptions"), ("WebSocket options", "ClientOptions")])
def test_node_option_tables(section, interface):
    assert section in NODE_DOC, f"docs/node.md has no '### {section}'"
    (header, rows), = [t for t in tables(NODE_DOC[section]) if t[0][0] == "option"]
    documented = {}
    for row in rows:
        for name in code_spans(row[0]):
            documented[name] = row[2]
    assert sorted(documented) == sorted(set(dts_members(interface))), f"docs/node.md, {section} vs index.d.ts {interface}"
    for name, meaning in documented.items():
        if "ignored" in meaning:
            continue
        assert re.search(rf"\b{name}\b", NODE_LIB), f"option {name} is documented but node/lib never reads it"


# -- docs/cli.md ---------------------------------------------------------------

CLI_DOC = (DOCS / "cli.md").read_text(encoding="utf-8")


def test_cli_usage_lines():
    from uvws import __main__ as cli

    usage = [re.sub(r"^(usage:)?\s+", "", l) for l in cli.USAGE.splitlines()[:2]]
    block = re.search(r"```\n(uvws listen .*?)```", CLI_DOC, re.S)
    assert block, "docs/cli.md: no usage block"
    assert block.group(1).splitlines()[:2] == usage


def test_cli_close_names():
    from uvws import __main__ as cli

    doc = {}
    for header, rows in tables(CLI_DOC):
        if header[:2] == ["code", "name"]:
            for row in rows:
                for code, name in ((row[0], row[1]), (row[2], row[3])):
                    doc[code] = name
    assert doc, "docs/cli.md: no close-code table"
    samples = {}
    for code, name in doc.items():
        first = int(code.split("-")[0])
        samples[first] = name
        assert cli.close_name(first) == name, code
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found: the Node command's close names were not checked")
    script = "const c = require('./node/bin/uvws.js'); console.log(JSON.stringify(%s.map((n) => c.closeName(n))));" % sorted(samples)
    r = subprocess.run([node, "-e", script], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    import json

    assert json.loads(r.stdout) == [samples[k] for k in sorted(samples)]
