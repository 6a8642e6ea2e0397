"""Terminal text: numbers to 4 significant digits, matrices drawn with brackets."""

from __future__ import annotations

import math

import numpy as np

from backprop.explain.model import Check, Equation, Explanation, Note, Step


def _fmt(x: float) -> str:
    """4 significant digits; ``0`` for zero, exponents as ``1.2e-5``."""
    x = float(x)
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    s = f"{x:.4g}"
    if "e" in s:
        mant, _, exp = s.partition("e")
        s = f"{mant}e{int(exp)}"
    return s


def format_number(x: float) -> str:
    """How every number is printed: 4 significant digits (``0.6225``, ``-1.5e-5``).

    Parameters
    ----------
    x : float

    Returns
    -------
    str
    """
    return _fmt(x)


def _err(x: float) -> str:
    return f"{x:.1e}" if x != 0 else "0"


# --------------------------------------------------------------------- text
_ANSI = {"title": "1;36", "step": "1;34", "tag": "33", "ok": "32", "bad": "1;31", "dim": "2"}


def _paint(s: str, style: str, color: bool) -> str:
    return f"\x1b[{_ANSI[style]}m{s}\x1b[0m" if color else s


def _matrix_block(m: np.ndarray) -> list[str]:
    m = np.atleast_2d(m)
    if m.size == 1:
        return [_fmt(m.flat[0])]
    cells = [[_fmt(x) for x in row] for row in m]
    cols = []
    for j in range(m.shape[1]):
        parts = []
        for row in cells:
            s = row[j]
            if "." in s:
                left, right = s.split(".", 1)
                parts.append((left, "." + right))
            else:
                parts.append((s, ""))
        lw = max(len(p[0]) for p in parts)
        rw = max(len(p[1]) for p in parts)
        cols.append([p[0].rjust(lw) + p[1].ljust(rw) for p in parts])
    rows = [" ".join(col[r] for col in cols) for r in range(m.shape[0])]
    if len(rows) == 1:
        return [f"[ {rows[0]} ]"]
    out = []
    for r, row in enumerate(rows):
        lb, rb = ("⎡", "⎤") if r == 0 else (("⎣", "⎦") if r == len(rows) - 1 else ("⎢", "⎥"))
        out.append(f"{lb} {row} {rb}")
    return out


def _hjoin(blocks: list[list[str]]) -> list[str]:
    height = max(len(b) for b in blocks)
    out = [""] * height
    for n, b in enumerate(blocks):
        w = max(len(s) for s in b)
        top = (height - len(b)) // 2
        for r in range(height):
            s = b[r - top] if 0 <= r - top < len(b) else ""
            out[r] += (" " if n else "") + s.ljust(w)
    return [s.rstrip() for s in out]


def _terms_text(terms: list, width: int, indent: str) -> list[str]:
    blocks = [_matrix_block(t) if isinstance(t, np.ndarray) else [t.text] for t in terms]
    lines: list[str] = []
    row: list[list[str]] = []
    used = len(indent)
    for b in blocks:
        w = max(len(s) for s in b) + 1
        if row and used + w > width:
            lines += [indent + s for s in _hjoin(row)]
            row, used = [], len(indent) + 4
            b = [" " * 3 + s for s in b] if len(b) == 1 else b
        row.append(b)
        used += w
    if row:
        lines += [indent + s for s in _hjoin(row)]
    return lines


def _wrap(text: str, width: int, indent: str) -> list[str]:
    words, lines, cur = text.split(), [], indent
    for w in words:
        if len(cur) + len(w) + 1 > width and cur.strip():
            lines.append(cur.rstrip())
            cur = indent
        cur += w + " "
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def _check_value(c: Check) -> str:
    """The measured value of a check, as plain text: "relative error 3e-10 < 1e-07"."""
    if c.measure == "relative error":
        return f"relative error {_err(c.value)} < {c.limit:g}"
    if c.limit == 0:
        return f"{c.measure} = {_fmt(c.value)}"
    return f"{c.measure} {_err(c.value)}"


def _check_text(c: Check, color: bool) -> str:
    mark = _paint("✓", "ok", color) if c.ok else _paint("✗", "bad", color)
    return f"  {mark} {c.what} ({_check_value(c)})"


def render_text(ex: Explanation, color: bool, width: int) -> str:
    out = [_paint(ex.title, "title", color), "═" * min(width, len(ex.title))]
    done: set[int] = set()
    for step in ex.steps:
        tags = f" ({step.tags[0]})-({step.tags[-1]})" if step.tags else ""
        out += ["", _paint(f"── {step.title}{tags}", "step", color)]
        for item in step.items:
            if isinstance(item, Note):
                out += _wrap(item.text, width, "  ")
            elif isinstance(item, Equation):
                tag = _paint(f"({item.tag})", "tag", color) + " " if item.tag else ""
                if item.text:
                    out.append(f"  {tag}{item.text}")
                if item.terms:
                    out += _terms_text(item.terms, width, "      " if item.text else "  ")
        for n, c in enumerate(ex.checks):
            if n not in done and _belongs(c, step):
                out.append(_check_text(c, color))
                done.add(n)
    rest = [c for n, c in enumerate(ex.checks) if n not in done]
    if rest:
        out += ["", _paint("── Other checks", "step", color)]
        out += [_check_text(c, color) for c in rest]
    out += ["", _paint("── Where in the code", "step", color)]
    width_ref = max((len(f"{r.path}:{r.line}") for r in ex.code_refs), default=0)
    for r in ex.code_refs:
        where = f"{r.path}:{r.line}".ljust(width_ref)
        out.append(f"  {r.label:<9} {r.role:<9} {where}  {r.what}")
    out.append("  The derivation, equation by equation: docs/math.md")
    n_ok = sum(c.ok for c in ex.checks)
    summary = f"{n_ok} of {len(ex.checks)} checks passed"
    out += ["", _paint(summary, "ok" if ex.ok else "bad", color)]
    return "\n".join(out) + "\n"


def _belongs(c: Check, step: Step) -> bool:
    """Which step a check is printed under, from the symbols it names."""
    w = c.what
    if step.title.startswith("Forward"):
        return w.startswith(("z", "a", "J equals"))
    if "10" in step.tags:
        return w.startswith(("(10)", "∂J/∂a")) or (w.startswith("δ") and _is_output(w, step))
    if "12" in step.tags:
        return w.startswith(("(12)", "δ"))
    if "14" in step.tags:
        return w.startswith(("(14)", "(16)", "∇", "∂J/∂b"))
    if step.title.startswith("The step"):
        return w.startswith(("new", "J after", "J goes"))
    return False


def _is_output(what: str, step: Step) -> bool:
    return step.title.endswith(what.split(" ")[0])
