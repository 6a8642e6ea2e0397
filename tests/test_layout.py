"""The package's layers: the engine stands on NumPy alone, and modules stay small.

Truth: the interpreter itself.  A fresh Python whose import system refuses
every third-party package but NumPy, and every part of backprop but the
engine and its exceptions, must import every module of ``backprop.engine``.
A static pass over the engine's source finds imports made inside functions too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
ENGINE = SRC / "backprop" / "engine"

#: The modules outside the engine that it may import: its exceptions, and the one declaration
#: of the training settings (TrainConfig, with configspec: what a declaration is), which the
#: blocker below holds to the same rule.
ALLOWED_OUTSIDE = ("backprop.errors", "backprop.config", "backprop.configspec")
#: Imports of the rest of backprop inside an engine function, each with its reason.
#: Network.save writes a model file: it goes when the model layer owns saving.
LAZY_EXCEPTIONS = {("network.py", "backprop.model.modelfile")}

_BLOCKER = textwrap.dedent('''
    import importlib, importlib.abc, pkgutil, sys, types

    ALLOWED = set(sys.stdlib_module_names) | {"numpy"}
    refused = []

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top == "backprop":
                if name in ("backprop", *ALLOWED_OUTSIDE) or name.split(".")[1] == "engine":
                    return None
            elif top in ALLOWED:
                return None
            refused.append(name)
            raise ImportError(f"test_layout refuses {name}")

    sys.meta_path.insert(0, Refuse())
    # backprop/__init__.py imports the whole package; stand in for it with a bare package
    pkg = types.ModuleType("backprop")
    pkg.__path__ = [SRC + "/backprop"]
    sys.modules["backprop"] = pkg
    import backprop.engine
    names = [m.name for m in pkgutil.walk_packages(backprop.engine.__path__, "backprop.engine.")]
    for name in names:
        importlib.import_module(name)
    # (the standard library itself probes for optional modules, e.g. copy for "org")
    assert not [name for name in refused if name.startswith("backprop")], refused
    print(" ".join(sorted(names)))
''')


def test_the_engine_imports_with_only_numpy_and_the_standard_library():
    code = f"SRC = {str(SRC)!r}\nALLOWED_OUTSIDE = {ALLOWED_OUTSIDE!r}\n" + _BLOCKER
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    imported = set(out.stdout.split())
    expected = {f"backprop.engine.{p.stem}" for p in ENGINE.glob("*.py") if p.stem != "__init__"}
    assert imported == expected


def test_what_the_engine_may_import_from_outside_obeys_the_same_rule():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for name in ALLOWED_OUTSIDE:
        path = SRC / (name.replace(".", "/") + ".py")
        for module, _ in _imports(path):
            top = module.partition(".")[0]
            ok = top in stdlib or top == "numpy" or module.startswith("backprop.engine")
            assert ok or module in ALLOWED_OUTSIDE, f"{name} imports {module}"


def test_the_blocker_refuses_what_it_should():
    """The same blocker, asked for a third-party package, fails: it is not a no-op."""
    code = (f"SRC = {str(SRC)!r}\nALLOWED_OUTSIDE = {ALLOWED_OUTSIDE!r}\n" + _BLOCKER
            + "\nimport backprop.model.modelfile\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode != 0 and "test_layout refuses backprop.model" in out.stderr


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at top level) of every import statement in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, id(node) in top))
    return found


@pytest.mark.parametrize("path", sorted(ENGINE.glob("*.py")), ids=lambda p: p.name)
def test_no_engine_module_imports_the_rest_of_backprop(path):
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for module, _ in _imports(path):
        top = module.partition(".")[0]
        if top == "backprop":
            ok = module.startswith("backprop.engine") or module in ALLOWED_OUTSIDE
            assert ok or (path.name, module) in LAZY_EXCEPTIONS, f"{path.name} imports {module}"
        else:
            assert top in stdlib or top == "numpy", f"{path.name} imports {module}"


# ---------------------------------------------------------------------- size budget
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _oversized() -> list[str]:
    """Every module over MAX_MODULE_LINES and function over MAX_FUNCTION_LINES under src/."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(ROOT)
        text = path.read_text(encoding="utf-8")
        n = len(text.splitlines())
        if n > MAX_MODULE_LINES:
            found.append(f"{rel}: {n} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{rel}:{node.lineno} {node.name}: {length} lines")
    return found


def test_no_module_over_400_lines_and_no_function_over_80():
    oversized = _oversized()
    assert oversized == [], "split these along a concept seam:\n" + "\n".join(oversized)
