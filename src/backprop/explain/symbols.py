"""The seed's symbols, written twice: Unicode for text and HTML, LaTeX for markdown."""

from __future__ import annotations

from backprop.explain.model import _LEAKY_SLOPE, Sym

_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _sup(k: int | str) -> str:
    return f"⁽{str(k).translate(_SUP)}⁾"


def _S(name: str, k: int | str, tex_name: str | None = None, T: bool = False) -> Sym:
    tex = f"{tex_name or name}^{{({k})}}"
    if T:
        return Sym(f"{name}{_sup(k)}ᵀ", f"{{{tex}}}^{{\\top}}")
    return Sym(f"{name}{_sup(k)}", tex)


def _a(k: int, T: bool = False) -> Sym:
    """a⁽ᵏ⁾, with a⁽¹⁾ written x as in the seed."""
    if k == 1:
        return Sym("xᵀ", "x^{\\top}") if T else Sym("x", "x")
    return _S("a", k, T=T)


def _delta(k: int) -> Sym:
    return _S("δ", k, "\\delta")


EQ, PLUS, MINUS, ODOT, TIMES = (
    Sym("=", "="),
    Sym("+", "+"),
    Sym("-", "-"),
    Sym("⊙", "\\odot"),
    Sym("·", "\\cdot"),
)


def _act_sym(name: str) -> tuple[str, str]:
    """Name of f in text and LaTeX."""
    return {
        "sigmoid": ("σ", "\\sigma"),
        "tanh": ("tanh", "\\tanh"),
        "relu": ("relu", "\\operatorname{relu}"),
        "leaky_relu": ("lrelu", "\\operatorname{lrelu}"),
        "identity": ("id", "\\operatorname{id}"),
        "softmax": ("softmax", "\\operatorname{softmax}"),
    }[name]


def _fprime_sym(name: str, k: int) -> Sym:
    """f'(z⁽ᵏ⁾) written as the seed would, in terms of a⁽ᵏ⁾ where possible."""
    a, z = _S("a", k), _S("z", k)
    if name == "sigmoid":
        return Sym(f"{a.text}(1 - {a.text})", f"{a.tex}(1 - {a.tex})")
    if name == "tanh":
        return Sym(f"(1 - {a.text}²)", f"(1 - ({a.tex})^2)")
    if name == "relu":
        return Sym(f"[{z.text} > 0]", f"[{z.tex} > 0]")
    if name == "leaky_relu":
        return Sym(
            f"({z.text} > 0 ? 1 : {_LEAKY_SLOPE})",
            f"\\begin{{cases}}1 & {z.tex} > 0\\\\ {_LEAKY_SLOPE} & \\text{{else}}\\end{{cases}}",
        )
    return Sym("1", "1")
