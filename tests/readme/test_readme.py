"""The README's quick starts are programs, and they must keep working: every
fenced code block under the "## Quick start" heading of README.md is run
(```c compiled against the built library, ```python with this interpreter,
```js with node from the repository root, so that require('uvws') is this
repository's package). Each must exit 0 by itself within a few seconds and
print what the section says it prints: the echo, "hello", and nothing else.

    .venv/bin/python -m pytest tests/readme

C: build/libuvws.a and core/include (build with cmake first), else an
installed copy found by pkg-config. Python: the installed package
(.venv/bin/pip install .). Node: the addon built by npm install.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 15  # seconds; the programs finish in well under one
ECHO = "hello"  # what the client of every quick start sends, and so prints
LANGS = {"c": "c", "python": "python", "py": "python", "js": "js", "javascript": "js", "mjs": "js"}


def quick_start_blocks(text: str) -> List[Tuple[str, str, int]]:
    """(language, code, line number) of the fenced blocks in the section."""
    lines = text.splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if re.fullmatch(r"##\s+Quick start\s*", l))
    except StopIteration:
        raise AssertionError("README.md has no '## Quick start' section") from None
    blocks = []
    i = start + 1
    while i < len(lines) and not re.match(r"##?\s", lines[i]):
        m = re.fullmatch(r"(\s*)(```+|~~~+)\s*([\w+-]*)\s*", lines[i])
        if m:
            fence, lang, first = m.group(2), m.group(3).lower(), i + 1
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() != fence:
                body.append(lines[i])
                i += 1
            if lang in LANGS:
                blocks.append((LANGS[lang], "\n".join(body) + "\n", first))
        i += 1
    return blocks


BLOCKS = quick_start_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


def test_one_block_per_language():
    langs = [b[0] for b in BLOCKS]
    for lang in ("c", "python", "js"):
        assert lang in langs, f"README.md's Quick start has no {lang} block (blocks: {langs})"


def c_flags() -> List[str]:
    lib = ROOT / "build" / "libuvws.a"
    if lib.exists():
        deps = subprocess.run(["pkg-config", "--cflags", "--libs", "libuv", "libssl", "libcrypto", "zlib"], capture_output=True, text=True, check=True).stdout.split()
        return ["-I", str(ROOT / "core" / "include"), str(lib), *deps]
    r = subprocess.run(["pkg-config", "--cflags", "--libs", "uvws"], capture_output=True, text=True)
    if r.returncode == 0:
        return r.stdout.split()
    pytest.fail("no build/libuvws.a (cmake -S . -B build && cmake --build build) and no installed uvws for pkg-config")


def run(argv: List[str], **kw) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT, **kw)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{argv[0]}: still running after {RUN_TIMEOUT} s (a quick start must stop by itself); output: {exc.stdout!r}") from None


@pytest.mark.parametrize("lang, code, line", BLOCKS, ids=[f"{b[0]}-line{b[2]}" for b in BLOCKS])
def test_quick_start_block_runs(lang, code, line, tmp_path):
    where = f"README.md line {line}"
    if lang == "c":
        cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
        assert cc, "no C compiler"
        src, exe = tmp_path / "quick_start.c", tmp_path / "quick_start"
        src.write_text(code)
        build = subprocess.run([cc, "-Wall", "-Werror", "-o", str(exe), str(src), *c_flags()], capture_output=True, text=True, timeout=120)
        assert build.returncode == 0, f"{where}: does not compile:\n{build.stderr}"
        r = run([str(exe)], cwd=tmp_path)
    elif lang == "python":
        src = tmp_path / "quick_start.py"
        src.write_text(code)
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # the installed package
        r = run([sys.executable, str(src)], cwd=tmp_path, env=env)
    else:
        node = shutil.which("node")
        assert node is not None, "node not found (the Node quick start cannot run)"
        # From stdin with the repository root as the working directory,
        # require('uvws') / import 'uvws' resolve to this package (its own
        # name, through package.json's "exports").
        module = re.search(r"^\s*(import|export)\s", code, re.M) is not None
        r = run([node, "--input-type=" + ("module" if module else "commonjs"), "-"], cwd=ROOT, input=code)
    assert r.returncode == 0, f"{where}: exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    # exit 0 alone would pass a client that never got the echo
    assert r.stdout.splitlines() == [ECHO], (f"{where}: printed {r.stdout!r}, not the echo {ECHO!r} on a line of "
                                             f"its own\nstderr:\n{r.stderr}")
