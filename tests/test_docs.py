"""The docs cannot drift from the code.

Truth: the source files themselves, read with ``ast``.

- Every fenced Python block in README.md and docs/*.md that says it quotes the
  source, with a first line ``# src/PATH.py, Qualified.name``, must occur in
  that function's source verbatim, line for line (up to one uniform indent).
- Every file and function docs/math.md names (its table's file/function
  columns and its "`Name.attr` in `src/...py`" phrases) must exist.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
HEADER = re.compile(r"^# (src/[\w/]+\.py), ([\w.]+)$")
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _quotes() -> list[tuple[str, str, str, list[str]]]:
    """(doc, path, qualified name, quoted lines) of every block with a source header."""
    found = []
    for doc in DOCS:
        for block in FENCE.findall(doc.read_text(encoding="utf-8")):
            lines = block.rstrip("\n").split("\n")
            m = HEADER.match(lines[0])
            if m:
                found.append((doc.name, m.group(1), m.group(2), lines[1:]))
    return found


def _definitions(path: Path) -> dict[str, ast.AST]:
    """Qualified name -> node of every class and function in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: dict[str, ast.AST] = {}

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                out[name] = child
                walk(child, name + ".")

    walk(tree, "")
    return out


def _occurs(quoted: list[str], source: list[str]) -> bool:
    """True if ``quoted`` is a run of ``source`` lines, all shifted by one indent."""
    first = quoted[0]
    for i, line in enumerate(source):
        if line.strip() != first.strip():
            continue
        shift = " " * (len(line) - len(line.lstrip()) - (len(first) - len(first.lstrip())))
        window = source[i : i + len(quoted)]
        if len(window) == len(quoted) and all(
            s == (shift + q if q.strip() else s) and (q.strip() or not s.strip())
            for q, s in zip(quoted, window)
        ):
            return True
    return False


QUOTES = _quotes()


def test_the_docs_quote_the_source():
    docs = {doc for doc, *_ in QUOTES}
    assert {"README.md", "math.md"} <= docs  # the math is quoted in both


@pytest.mark.parametrize("doc,path,name,quoted", QUOTES,
                         ids=[f"{d}:{n}:{i}" for i, (d, _, n, _) in enumerate(QUOTES)])
def test_quoted_code_occurs_verbatim(doc, path, name, quoted):
    file = ROOT / path
    assert file.is_file(), f"{doc} quotes {path}, which does not exist"
    node = _definitions(file).get(name)
    assert node is not None, f"{doc} quotes {name}, which {path} does not define"
    source = file.read_text(encoding="utf-8").splitlines()[node.lineno - 1 : node.end_lineno]
    assert quoted and _occurs(quoted, source), (
        f"{doc}: the block quoting {path}, {name} is not in its source verbatim; "
        "copy the lines again from the source"
    )


def _math_names() -> list[tuple[str, str]]:
    """(file, name) pairs docs/math.md names."""
    text = (ROOT / "docs" / "math.md").read_text(encoding="utf-8")
    pairs = []
    for row in text.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if row.startswith("|") and len(cells) == 4 and "src/" in cells[2]:
            files = re.findall(r"`(src/[\w/]+\.py)`", cells[2])
            names = re.findall(r"`([\w.]+)`", cells[3])
            assert len(files) in (1, len(names)), row
            pairs += zip(files * len(names) if len(files) == 1 else files, names)
    pairs += re.findall(r"`([A-Za-z_][\w.]*)` in\s+`(src/[\w/]+\.py)`", text)
    return [(f, n) if f.startswith("src/") else (n, f) for f, n in pairs]


MATH_NAMES = _math_names()


def test_math_md_names_functions():
    assert len(MATH_NAMES) >= 12


@pytest.mark.parametrize("path,name", MATH_NAMES)
def test_every_file_and_function_math_md_names_exists(path, name):
    file = ROOT / path
    assert file.is_file(), f"docs/math.md names {path}, which does not exist"
    assert name in _definitions(file), f"docs/math.md names {name} in {path}: not defined there"
