"""The walk-through as data: symbols, equations, notes, checks, steps and the whole.

``backprop.explain.build`` fills an ``Explanation``; ``text`` and ``markup``
render it.  The limits every check is held to are here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backprop.explain.coderefs import CodeRef

#: Hidden-layer activations ``explain`` accepts.
HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "identity")
#: Output activations ``explain`` accepts.
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax", "identity", "tanh", "relu", "leaky_relu")
#: Losses ``explain`` accepts.
LOSS_NAMES = ("binary_crossentropy", "categorical_crossentropy", "mse")
#: Largest layer, batch and depth ``explain`` will print.
MAX_UNITS, MAX_BATCH, MAX_DEPTH = 16, 16, 6
#: Limit of the finite-difference relative errors (float64, h = FD_STEP).
FD_LIMIT = 1e-7
FD_STEP = 1e-6
#: Limit of |hand - engine| for values computed two ways in float64.
SAME_LIMIT = 1e-10

_LEAKY_SLOPE = 0.01
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")

_LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Sym:
    """A symbol or operator written two ways: Unicode text and LaTeX."""

    text: str
    tex: str


@dataclass
class Equation:
    """One equation: its symbolic form and, optionally, the same with numbers.

    Attributes
    ----------
    text, tex : str
        The symbolic equation in Unicode and in LaTeX.
    tag : str
        The seed's equation number(s), e.g. ``"10"`` or ``"14"``; empty if none.
    terms : list of Sym or ndarray
        The numeric line, left to right: arrays (column form) and operators.
    """

    text: str
    tex: str
    tag: str = ""
    terms: list = field(default_factory=list)


@dataclass
class Note:
    """A sentence in words (may contain Unicode symbols)."""

    text: str


@dataclass
class Check:
    """A verified fact: ``value`` (an error or a difference) below ``limit``.

    Attributes
    ----------
    what : str
        What was compared, in words.
    measure : str
        What ``value`` is: "max |difference|", "relative error", ...
    value, limit : float
    """

    what: str
    measure: str
    value: float
    limit: float

    @property
    def ok(self) -> bool:
        """True when the check passed (``value < limit``, NaN fails)."""
        return bool(self.value < self.limit)


@dataclass
class Step:
    """A section of the walk-through: a title, the seed's tags and its items."""

    title: str
    tags: tuple[str, ...]
    items: list


@dataclass
class Explanation:
    """The walk-through: the numbers, the checks and the steps that print them.

    Attributes
    ----------
    sizes : list of int
        Units per layer, input first.
    activations : list of str
        Activation of each layer of weights (hidden layers, then output).
    loss : str
    lr : float
    seed : int
    X, Y : ndarray, shape (N, n_in) and (N, n_out)
        The batch, row-major as given to the engine.
    values : dict of str to ndarray
        Hand-computed arrays in column form (units, N): ``"x"``, ``"y"``,
        ``"W1"``, ``"b1"``, ``"z2"``, ``"a2"``, ``"delta3"``, ``"dJda3"``,
        ``"dadz3"``, ``"grad_W2"``, ``"grad_b2"``, ``"dW2"``, ``"new_W2"``, ...
        (superscripts as in the seed: W⁽ˡ⁾ maps a⁽ˡ⁾ to z⁽ˡ⁺¹⁾).
    engine : dict of str to ndarray
        The engine's own values under the same keys, in the same form.
    fd : dict of str to ndarray
        Central finite differences of J under the keys ``"grad_W1"``, ...
    fd_errors : dict of str to float
        Relative error of the engine's gradient against ``fd``.
    cost_before, cost_after : float
        J before and after the step ΔW = -η∇ (engine values).
    checks : list of Check
        Every comparison made.
    steps : list of Step
    code_refs : list of CodeRef
    """

    sizes: list[int]
    activations: list[str]
    loss: str
    lr: float
    seed: int
    X: np.ndarray
    Y: np.ndarray
    values: dict[str, np.ndarray]
    engine: dict[str, np.ndarray]
    fd: dict[str, np.ndarray]
    fd_errors: dict[str, float]
    cost_before: float
    cost_after: float
    checks: list[Check]
    steps: list[Step]
    code_refs: list[CodeRef]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(c.ok for c in self.checks)

    @property
    def title(self) -> str:
        """One line naming the network."""
        shape = "-".join(str(s) for s in self.sizes)
        return f"backprop explain: the seed's equations (10)-(17) on a {shape} network"

    def render(self, fmt: str = "text", color: bool = False) -> str:
        """Render as ``"text"``, ``"markdown"`` or ``"html"``.

        Parameters
        ----------
        fmt : {"text", "markdown", "html"}
        color : bool
            ANSI colour (text only).

        Returns
        -------
        str
        """
        if fmt == "text":
            return self.to_text(color=color)
        if fmt == "markdown":
            return self.to_markdown()
        if fmt == "html":
            return self.to_html()
        raise ValueError(f"unknown format {fmt!r}; choose one of text, markdown, html")

    def to_text(self, color: bool = False, width: int = 100) -> str:
        """Terminal text: aligned matrices, 4 significant digits.

        Parameters
        ----------
        color : bool
            Add ANSI colour codes.
        width : int
            Wrap numeric lines wider than this.

        Returns
        -------
        str
        """
        from backprop.explain.text import render_text

        return render_text(self, color, width)

    def to_markdown(self) -> str:
        """Markdown with LaTeX (``$$ ... \\tag{10} $$``, ``bmatrix``).

        Returns
        -------
        str
        """
        from backprop.explain.markup import render_markdown

        return render_markdown(self)

    def to_html(self) -> str:
        """A self-contained HTML page; math as HTML, Unicode and CSS (no scripts).

        Returns
        -------
        str
        """
        from backprop.explain.markup import render_html

        return render_html(self)
