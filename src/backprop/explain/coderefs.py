"""Where in the code: an explicit table from each equation to the line that implements it.

Each entry names a function by its qualified name and a marker, a piece of
text on the line that implements the equation (its tag in a comment, e.g.
``(10)``).  ``code_refs`` imports each name and finds the marker in its source;
``tests/test_explain_coderefs.py`` resolves every entry, so a moved or renamed
line fails a test instead of silently dropping out of ``backprop explain``.

Two roles: ``reference`` is the textbook form (``Network.backward``,
``Optimizer.step``); ``training`` is the code the training loop actually runs
(``backprop.engine.fused``, and the activations' ``backward`` that both call).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path

_NET = "backprop.engine.network.Network.backward"
_FUSED = "backprop.engine.fused.backward_fused"


@dataclass(frozen=True)
class Entry:
    """One row of the table.

    Attributes
    ----------
    eqs : tuple of str
        The seed's equation numbers it implements ("10", ...), or ("ΔW",) for the update.
    what : str
        The equation in words.
    qualname : str
        Module path and qualified name, e.g. ``backprop.engine.optim.SGD.step``.
    marker : str
        Text on the implementing line of that function's source.
    role : {"reference", "training"}
    """

    eqs: tuple[str, ...]
    what: str
    qualname: str
    marker: str
    role: str


#: The table: every equation (10)-(17) and the update, in the reference and as trained.
TABLE: tuple[Entry, ...] = (
    Entry(("10",), "δ⁽ᴸ⁾ = a⁽ᴸ⁾ - y (the shortcut pairs)", _NET, "(10)", "reference"),
    Entry(("10",), "δ⁽ᴸ⁾ = a⁽ᴸ⁾ - y (the shortcut pairs)", _FUSED, "(10)", "training"),
    Entry(("11",), "δ⁽ᴸ⁾ = ∂J/∂a ⊙ ∂a/∂z (other pairs)", _NET, "(11)", "reference"),
    Entry(("11",), "δ⁽ᴸ⁾ = ∂J/∂a ⊙ ∂a/∂z (other pairs)", _FUSED, "(11)", "training"),
    Entry(("13",), "W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾, the sum of (13)", _NET, "(13)", "reference"),
    Entry(("13",), "W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾, the sum of (13)", _FUSED, "(13)", "training"),
    Entry(("12",), "δ⁽ˡ⁾ = W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾ ⊙ f'(z⁽ˡ⁾)", _NET, "(12)", "reference"),
    Entry(("12",), "δ⁽ˡ⁾ = W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾ ⊙ f'(z⁽ˡ⁾)", _FUSED, "(12)", "training"),
    Entry(("12",), "⊙ σ'(z) = a(1 - a), the sigmoid's factor in (12)",
          "backprop.engine.activations.Sigmoid.backward", "(12)", "training"),
    Entry(("14", "15", "16", "17"), "∇⁽ˡ⁾ = δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ (the chain rule (15), (17))", _NET,
          "(14)-(17)", "reference"),
    Entry(("14", "15", "16", "17"), "∇⁽ˡ⁾ = δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ (the chain rule (15), (17))", _FUSED,
          "(14)-(17)", "training"),
    Entry(("ΔW",), "ΔW = -η∇, W ← W + ΔW (sgd)", "backprop.engine.optim.SGD.step",
          "ΔW = -η∇", "reference"),
    Entry(("ΔW",), "ΔW = -η∇, W ← W + ΔW (sgd, -η folded into the batch mean)",
          "backprop.engine.fused._sgd", "ΔW = -η∇", "training"),
    Entry(("ΔW",), "ΔW = αΔW - η∇, W ← W + ΔW (momentum)", "backprop.engine.optim.Momentum.step",
          "ΔW = αΔW - η∇", "reference"),
    Entry(("ΔW",), "ΔW = αΔW - η∇ (momentum, in the gradient's own gemm)",
          "backprop.engine.fused._momentum", "ΔW = αΔW - η∇", "training"),
)


@dataclass
class CodeRef:
    """Where an equation lives: ``path:line``, the line itself and the function's name."""

    tag: str
    what: str
    path: str
    line: int
    code: str
    qualname: str = ""
    role: str = "reference"

    @property
    def label(self) -> str:
        """"(10)", "(14)-(17)" or "ΔW"."""
        if not self.tag[:1].isdigit():
            return self.tag
        first, _, last = self.tag.partition("-")
        return f"({first})" + (f"-({last})" if last else "")


def resolve(qualname: str):
    """The object named ``module.path.Name.attr``: the longest importable module, then attributes.

    Raises
    ------
    LookupError
        When no prefix imports or an attribute is missing.
    """
    parts = qualname.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            raise LookupError(f"{qualname}: no attribute {name!r}") from None
        return obj
    raise LookupError(f"{qualname}: no importable module")


def _display_path(path: str) -> str:
    """``src/backprop/...`` in a source checkout, else the path below site-packages."""
    p = Path(path).resolve()
    pkg = Path(__file__).resolve().parent.parent  # src/backprop
    try:
        rel = p.relative_to(pkg.parent)
    except ValueError:
        return str(p)
    return str(Path("src") / rel) if pkg.parent.name == "src" else str(rel)


def locate(entry: Entry) -> CodeRef:
    """The line of ``entry.qualname``'s source that holds ``entry.marker``.

    Raises
    ------
    LookupError
        When the name does not resolve or no line of its source holds the marker.
    OSError
        When the source is not available (an installation without .py files).
    """
    lines, start = inspect.getsourcelines(resolve(entry.qualname))
    path = _display_path(inspect.getsourcefile(resolve(entry.qualname)) or "")
    for offset, line in enumerate(lines):
        code, _, comment = line.partition("#")
        if entry.marker in comment and code.strip():  # the tag on a line of code
            tag = entry.eqs[0] if len(entry.eqs) == 1 else f"{entry.eqs[0]}-{entry.eqs[-1]}"
            return CodeRef(tag, entry.what, path, start + offset, line.strip(), entry.qualname,
                           entry.role)
    raise LookupError(f"{entry.qualname}: no line of code has {entry.marker!r} in its comment")


def code_refs() -> list[CodeRef]:
    """Every entry of ``TABLE`` located, in table order (none where the source is missing)."""
    try:
        return [locate(entry) for entry in TABLE]
    except OSError:
        return []
