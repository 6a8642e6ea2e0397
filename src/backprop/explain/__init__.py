"""The seed's equations (10)-(17), step by step, with a tiny network's own numbers.

``explain(...)`` builds a small float64 network (by default the seed's 2-3-2
shape: sigmoid hidden layer, sigmoid outputs, binary cross-entropy), runs one
forward and one backward pass on an XOR-like example, and recomputes every
quantity *by hand* in the seed's column-vector form:

- the forward pass z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾, a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾) and the cost J;
- (10) δ⁽ᴸ⁾ = a⁽ᴸ⁾ - y and, separately, (11) ∂J/∂a⁽ᴸ⁾ ⊙ ∂a⁽ᴸ⁾/∂z⁽ᴸ⁾;
- (12) δ⁽ˡ⁾ = W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾ ⊙ f'(z⁽ˡ⁾) and its chain rule (13) as explicit sums;
- (14)-(17) ∇⁽ˡ⁾ = δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ, as a matrix product and as explicit sums,
  each checked against central finite differences of J;
- the update ΔW = -η∇, W ← W + ΔW, and J before and after it.

Every hand-computed array is compared with the engine's own value
(``Network.cache``, ``Network.backward``, ``SGD.step``), and the comparison is
part of the result.  The result renders as terminal text (``to_text``),
markdown with LaTeX (``to_markdown``) or a self-contained HTML page whose
mathematics is plain HTML, Unicode and CSS (``to_html``): no script, no
network access.

In the seed's notation a sample is a column, so arrays are shown (and stored
in ``Explanation.values``) in column form: one column per sample, shape
(units, N).  The engine works row-major, (N, units); ``Explanation.engine``
holds its values transposed into the same column form.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from backprop.engine.gradcheck import numerical_gradients, relative_error
from backprop.engine.network import Network
from backprop.engine.optim import SGD
from backprop.explain.coderefs import CodeRef, code_refs

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


# --------------------------------------------------------------------- model
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
        return _render_text(self, color, width)

    def to_markdown(self) -> str:
        """Markdown with LaTeX (``$$ ... \\tag{10} $$``, ``bmatrix``).

        Returns
        -------
        str
        """
        return _render_markdown(self)

    def to_html(self) -> str:
        """A self-contained HTML page; math as HTML, Unicode and CSS (no scripts).

        Returns
        -------
        str
        """
        return _render_html(self)


# --------------------------------------------------------------------- symbols
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


# --------------------------------------------------------------------- hand maths
def _f(name: str, z: np.ndarray) -> np.ndarray:
    """f(z) in column form, written out independently of the engine."""
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, _LEAKY_SLOPE * z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    return z.copy()


def _fprime(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """f'(z) elementwise (for softmax: the diagonal of its Jacobian)."""
    if name in ("sigmoid", "softmax"):
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return (z > 0).astype(np.float64)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, _LEAKY_SLOPE)
    return np.ones_like(z)


def _clip(a: np.ndarray, upper: bool = True) -> np.ndarray:
    eps = float(np.finfo(np.float64).eps)
    return np.clip(a, eps, 1.0 - eps if upper else 1.0)


def _loss_per_sample(loss: str, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ℓ of each sample (column), shape (N,)."""
    if loss == "binary_crossentropy":
        a = _clip(a)
        return -np.sum(y * np.log(a) + (1.0 - y) * np.log(1.0 - a), axis=0)
    if loss == "categorical_crossentropy":
        return -np.sum(y * np.log(_clip(a, upper=False)), axis=0)
    return 0.5 * np.sum((a - y) ** 2, axis=0)


def _dloss(loss: str, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂ℓ/∂a per sample, column form."""
    if loss == "binary_crossentropy":
        a = _clip(a)
        return (a - y) / (a * (1.0 - a))
    if loss == "categorical_crossentropy":
        return -y / _clip(a, upper=False)
    return a - y


def _output_delta(out: str, z: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """δ = (∂a/∂z)ᵀ ∂ℓ/∂a, sample by sample; the full Jacobian for softmax."""
    if out != "softmax":
        return g * _fprime(out, z, a)
    delta = np.empty_like(g)
    for n in range(a.shape[1]):
        jac = np.diag(a[:, n]) - np.outer(a[:, n], a[:, n])  # ∂a_k/∂z_j = a_k(δ_kj - a_j)
        delta[:, n] = jac.T @ g[:, n]
    return delta


# --------------------------------------------------------------------- checks
def _parse_layers(layers: Sequence[int] | str) -> list[int]:
    if isinstance(layers, str):
        parts = [p.strip() for p in layers.split(",")]
        try:
            sizes = [int(p) for p in parts]
        except ValueError:
            raise ValueError(
                f"layers must be comma-separated positive integers such as 2,3,2; got {layers!r}"
            ) from None
    else:
        try:
            sizes = [int(s) for s in layers]
        except (TypeError, ValueError):
            raise ValueError(
                f"layers must be a sequence of positive integers such as [2, 3, 2]; "
                f"got {layers!r}"
            ) from None
    if len(sizes) < 2:
        raise ValueError(
            f"layers needs at least two sizes, inputs then outputs (e.g. 2,3,2); got {layers!r}"
        )
    if any(s < 1 for s in sizes):
        raise ValueError(f"every layer size must be at least 1; got {layers!r}")
    if any(s > MAX_UNITS for s in sizes) or len(sizes) - 1 > MAX_DEPTH:
        raise ValueError(
            f"explain prints every number, so it takes at most {MAX_UNITS} units per layer "
            f"and {MAX_DEPTH} layers of weights; got {layers!r}"
        )
    return sizes


def _choose(what: str, value: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")
    return value


def _data(n_in: int, n_out: int, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An XOR-like batch: inputs of 0s and 1s, target "an odd number of 1s"."""
    if n_in == 2:
        patterns = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
        X = patterns[np.arange(batch) % 4]
    else:
        X = np.random.default_rng(seed).integers(0, 2, (batch, n_in)).astype(np.float64)
    odd = X.sum(axis=1) % 2  # XOR of the bits
    if n_out == 1:
        Y = odd[:, None]
    else:
        Y = np.zeros((batch, n_out))
        Y[np.arange(batch), np.where(odd == 1, 0, 1)] = 1.0  # unit 1: odd, unit 2: even
    return X, Y


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)))


# --------------------------------------------------------------------- build
def explain(
    layers: Sequence[int] | str = (2, 3, 2),
    activation: str = "sigmoid",
    output: str = "sigmoid",
    loss: str | None = None,
    seed: int = 0,
    lr: float = 0.5,
    batch: int = 1,
) -> Explanation:
    """Walk through one forward pass, one backward pass and one step, checking each number.

    Parameters
    ----------
    layers : sequence of int or str
        Units per layer, input first (``[2, 3, 2]`` or ``"2,3,2"``).
    activation : str
        Hidden-layer activation: sigmoid, tanh, relu, leaky_relu or identity.
    output : str
        Output activation: sigmoid, softmax, identity, tanh, relu or leaky_relu.
    loss : str, optional
        binary_crossentropy, categorical_crossentropy or mse; default binary
        cross-entropy after sigmoid, categorical after softmax, else mse.
    seed : int
        Seed of the initial weights (and of the inputs when there are not 2).
    lr : float
        Learning rate η of the step ΔW = -η∇.
    batch : int
        Number of samples N (the cost J is their mean).

    Returns
    -------
    Explanation

    Raises
    ------
    ValueError
        For an option out of range, with a message naming it and the choices.
    """
    sizes = _parse_layers(layers)
    activation = _choose("activation", activation, HIDDEN_ACTIVATIONS)
    output = _choose("output activation", output, OUTPUT_ACTIVATIONS)
    if loss is None:
        loss = {"sigmoid": "binary_crossentropy", "softmax": "categorical_crossentropy"}.get(
            output, "mse"
        )
    loss = _choose("loss", loss, LOSS_NAMES)
    if loss != "mse" and output not in ("sigmoid", "softmax"):
        raise ValueError(
            f"loss {loss!r} takes logarithms of the outputs, which must lie in (0, 1): "
            f"use output sigmoid or softmax with it, or loss mse with output {output!r}"
        )
    if output == "softmax" and sizes[-1] < 2:
        raise ValueError("a softmax output needs at least 2 output units (e.g. layers 2,3,2)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)):
        raise ValueError(f"batch must be an integer from 1 to {MAX_BATCH}; got {batch!r}")
    if not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"batch must be an integer from 1 to {MAX_BATCH}; got {batch!r}")
    try:
        lr = float(lr)
    except (TypeError, ValueError):
        raise ValueError(f"lr must be a positive number; got {lr!r}") from None
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number; got {lr!r}")
    return _build(sizes, activation, output, loss, int(seed), lr, int(batch))


def _build(
    sizes: list[int], activation: str, output: str, loss: str, seed: int, lr: float, N: int
) -> Explanation:
    L = len(sizes)  # layers of units; weights W⁽¹⁾ .. W⁽ᴸ⁻¹⁾
    nw = L - 1
    acts = [activation] * (nw - 1) + [output]
    net = Network(
        sizes, activation=activation, output=output, loss=loss, dtype="float64", seed=seed,
        leaky_slope=_LEAKY_SLOPE,
    )
    # Biases start at 0 in the engine; small random ones here make their role visible
    # and keep every z away from the kink of relu.
    rng = np.random.default_rng([seed, 1])
    params = net.get_params()
    for i in range(nw):
        params[2 * i + 1] = rng.uniform(-0.5, 0.5, sizes[i + 1])
    net.set_params(params)
    X, Y = _data(sizes[0], sizes[-1], N, seed)

    v: dict[str, np.ndarray] = {"x": X.T.copy(), "y": Y.T.copy(), "a1": X.T.copy()}
    e: dict[str, np.ndarray] = {}
    checks: list[Check] = []

    def same(key: str, what: str) -> None:
        checks.append(Check(what, "max |difference|", _max_diff(v[key], e[key]), SAME_LIMIT))

    # ---- engine: forward, backward, its own step
    net.forward(X)
    cache = {k: [None if a is None else a.copy() for a in net.cache[k]] for k in ("z", "a")}
    grads = [g.copy() for g in net.backward(Y)]
    deltas = [d.copy() for d in net.cache["delta"]]
    cost_before = net.cost(X, Y)
    stepped = net.copy()
    SGD().step(stepped.params(), [g.copy() for g in grads], lr)
    cost_after = stepped.cost(X, Y)
    numeric = numerical_gradients(net.copy(), X, Y, h=FD_STEP)

    for i in range(nw):
        k = i + 1
        v[f"W{k}"], v[f"b{k}"] = net.layers[i].W.copy(), net.layers[i].b[:, None].copy()
        e[f"z{k + 1}"], e[f"a{k + 1}"] = cache["z"][i].T, cache["a"][i].T
        e[f"delta{k + 1}"] = deltas[i].T
        e[f"grad_W{k}"], e[f"grad_b{k}"] = grads[2 * i], grads[2 * i + 1][:, None]
        e[f"new_W{k}"] = stepped.layers[i].W.copy()
        e[f"new_b{k}"] = stepped.layers[i].b[:, None].copy()

    steps: list[Step] = []
    shape = "-".join(str(s) for s in sizes)
    hidden_words = "no hidden layer"
    if nw > 1:
        hidden_words = f"{nw - 1} {activation} hidden layer{'s' if nw > 2 else ''}"
    intro = [
        Note(
            f"Network {shape}: {sizes[0]} inputs, {hidden_words}, {sizes[-1]} {output} "
            f"output{'s' if sizes[-1] > 1 else ''}, loss {loss}; float64, seed {seed}, "
            f"η = {lr:g}. Weights from the engine's initialiser; biases drawn from "
            "U(-0.5, 0.5) so that their part shows."
        ),
        Note(
            "As in the seed, a sample is a column: x is the input, y the target "
            "(an XOR-like example: the first output should say \"an odd number of 1s\")."
            + (
                f" The batch has N = {N} samples, one per column."
                if N > 1
                else " One sample: J below is exactly the seed's J(W)."
            )
        ),
    ]
    cost_eq = {
        "binary_crossentropy": Equation(
            "J(W) = -(1/N) Σₙ Σₖ [yₖ log aₖ + (1 - yₖ) log(1 - aₖ)]",
            "J(W) = -\\frac{1}{N}\\sum_n \\sum_k \\left[y_k \\log a_k + "
            "(1 - y_k)\\log(1 - a_k)\\right]",
        ),
        "categorical_crossentropy": Equation(
            "J(W) = -(1/N) Σₙ Σₖ yₖ log aₖ",
            "J(W) = -\\frac{1}{N}\\sum_n \\sum_k y_k \\log a_k",
        ),
        "mse": Equation(
            "J(W) = (1/N) Σₙ ½ Σₖ (aₖ - yₖ)²",
            "J(W) = \\frac{1}{N}\\sum_n \\tfrac12 \\sum_k (a_k - y_k)^2",
        ),
    }[loss]
    intro.append(cost_eq)
    intro.append(Equation("", "", "", [Sym("x", "x"), EQ, v["x"], Sym("   y", ",\\ y"),
                                       EQ, v["y"]]))
    steps.append(Step("The network and the example", (), intro))

    # ---- forward
    items: list = []
    for i in range(nw):
        k = i + 1
        W, b, a_in = v[f"W{k}"], v[f"b{k}"], v[f"a{k}"]
        z = W @ a_in + b
        a = _f(acts[i], z)
        v[f"z{k + 1}"], v[f"a{k + 1}"] = z, a
        zS, aS, WS, bS, inS = _S("z", k + 1), _S("a", k + 1), _S("W", k), _S("b", k), _a(k)
        items.append(
            Equation(
                f"{zS.text} = {WS.text}{inS.text} + {bS.text}",
                f"{zS.tex} = {WS.tex}{inS.tex} + {bS.tex}",
                "",
                [zS, EQ, W, a_in, PLUS, b, EQ, z],
            )
        )
        fname, ftex = _act_sym(acts[i])
        items.append(
            Equation(
                f"{aS.text} = {fname}({zS.text})",
                f"{aS.tex} = {ftex}({zS.tex})",
                "",
                [aS, EQ, a],
            )
        )
        same(f"z{k + 1}", f"{zS.text} equals the engine's net.cache['z'][{i}]")
        same(f"a{k + 1}", f"{aS.text} equals the engine's net.cache['a'][{i}]")
    aL, y = v[f"a{L}"], v["y"]
    per_sample = _loss_per_sample(loss, aL, y)
    v["J"] = np.array([[per_sample.mean()]])
    e["J"] = np.array([[cost_before]])
    items.append(Equation("", "", "", [Sym("J(W)", "J(W)"), EQ, v["J"]]))
    same("J", "J equals the engine's net.cost(X, Y)")
    steps.append(Step("Forward pass", (), items))

    # ---- (10), (11)
    items = []
    dS, aS, zS = _delta(L), _S("a", L), _S("z", L)
    d10 = aL - y
    g = _dloss(loss, aL, y)
    fp = _fprime(output, v[f"z{L}"], aL)
    d11 = _output_delta(output, v[f"z{L}"], aL, g)
    v[f"dJda{L}"], v[f"dadz{L}"] = g, fp
    e[f"dJda{L}"] = net.loss.grad(cache["a"][-1], Y).T
    v["a_minus_y"] = d10
    shortcut = net.shortcut
    dJ = Sym(f"∂J/∂{aS.text}", f"\\frac{{\\partial J}}{{\\partial {aS.tex}}}")
    dadz = Sym(f"∂{aS.text}/∂{zS.text}", f"\\frac{{\\partial {aS.tex}}}{{\\partial {zS.tex}}}")
    items.append(
        Note(
            "The seed's δ is per sample: δ = ∂ℓ/∂z of that sample's loss ℓ. "
            + ("J is the mean over the batch, so ∂J/∂z of sample n is δₙ/N. " if N > 1 else "")
            + "Its derivative ∂J/∂a below means ∂ℓ/∂a, sample by sample."
        )
    )
    if shortcut:
        items.append(
            Equation(
                f"{dS.text} = {aS.text} - y", f"{dS.tex} = {aS.tex} - y", "10",
                [dS, EQ, aL, MINUS, y, EQ, d10],
            )
        )
        v[f"delta{L}"] = d10
    else:
        items.append(
            Note(
                f"(10) δ = a - y is a shortcut that holds for sigmoid with binary cross-entropy, "
                f"softmax with categorical cross-entropy and identity with mse. With {output} "
                f"and {loss} it does not hold: a - y is not δ here, so δ comes from (11)."
            )
        )
        items.append(
            Equation(f"{aS.text} - y", f"{aS.tex} - y", "10", [aS, MINUS, Sym("y", "y"), EQ, d10])
        )
        v[f"delta{L}"] = d11
    items.append(Equation(f"{dS.text} = {dJ.text} · {dadz.text}",
                          f"{dS.tex} = {dJ.tex} \\cdot {dadz.tex}", "11"))
    dl_text = {
        "binary_crossentropy": ("(a - y) / (a(1 - a))", "\\frac{a - y}{a(1 - a)}"),
        "categorical_crossentropy": ("-y / a", "-\\frac{y}{a}"),
        "mse": ("a - y", "a - y"),
    }[loss]
    items.append(Equation(f"{dJ.text} = {dl_text[0]}", f"{dJ.tex} = {dl_text[1]}", "",
                          [dJ, EQ, g]))
    same(f"dJda{L}", f"∂J/∂{aS.text} equals the engine's net.loss.grad(a, y)")
    if output == "softmax":
        items.append(
            Note(
                "softmax couples the outputs of a sample: ∂aₖ/∂zⱼ = aₖ(δₖⱼ - aⱼ) is a full "
                "Jacobian matrix, not one number per unit. By the general chain rule each "
                "δⱼ = Σₖ ∂J/∂aₖ · ∂aₖ/∂zⱼ: every output's error reaches every z. Its diagonal "
                "aⱼ(1 - aⱼ) is shown; the product below uses the whole matrix."
            )
        )
        items.append(Equation(
            "δⱼ = Σₖ ∂J/∂aₖ · aₖ(δₖⱼ - aⱼ)",
            "\\delta_j = \\sum_k \\frac{\\partial J}{\\partial a_k} a_k(\\delta_{kj} - a_j)",
            "", [Sym(f"diag {dadz.text}", f"\\operatorname{{diag}} {dadz.tex}"), EQ, fp,
                 Sym(f"  {dS.text}", dS.tex), EQ, d11]))
    else:
        fS = _fprime_sym(output, L)
        items.append(Equation(f"{dadz.text} = {fS.text}", f"{dadz.tex} = {fS.tex}", "",
                              [dadz, EQ, fp]))
        items.append(Equation(f"{dS.text} = {dJ.text} ⊙ {dadz.text}",
                              f"{dS.tex} = {dJ.tex} \\odot {dadz.tex}", "11",
                              [dS, EQ, g, ODOT, fp, EQ, d11]))
        if output != "sigmoid" or loss != "binary_crossentropy":
            items.append(Note(
                f"In words: the chain rule takes the loss's sensitivity to each output "
                f"({dJ.text}) and multiplies it, unit by unit, by how fast the {output} output "
                f"moves with its input z ({dadz.text})."
            ))
        else:
            items.append(Note("a(1 - a) cancels the denominator of ∂J/∂a: that is why (10) holds."))
    v["delta_by_11"] = d11
    if shortcut:
        v["delta_by_10"] = d10
        checks.append(Check(f"(10) and (11) give the same {dS.text}", "max |difference|",
                            _max_diff(d10, d11), SAME_LIMIT))
    same(f"delta{L}", f"{dS.text} equals the engine's net.cache['delta'][{nw - 1}]")
    steps.append(Step(f"Output error {dS.text}", ("10", "11"), items))

    # ---- (12), (13)
    items = []
    if nw == 1:
        items.append(Note("This network has no hidden layer, so (12) and (13), which carry δ back "
                          "through a hidden layer, have nothing to do."))
    for k in range(L - 1, 1, -1):
        name = acts[k - 2]
        W, dn = v[f"W{k}"], v[f"delta{k + 1}"]
        z, a = v[f"z{k}"], v[f"a{k}"]
        back = W.T @ dn
        fp = _fprime(name, z, a)
        d12 = back * fp
        # (13): the same, one unit and one sample at a time
        d13 = np.zeros_like(d12)
        for n in range(N):
            for j in range(sizes[k - 1]):
                total = 0.0
                for kk in range(sizes[k]):
                    total += dn[kk, n] * W[kk, j]
                d13[j, n] = total * fp[j, n]
        v[f"delta{k}"], v[f"back{k}"], v[f"fprime{k}"] = d12, back, fp
        dS, dnS, WT, fS = _delta(k), _delta(k + 1), _S("W", k, T=True), _fprime_sym(name, k)
        items.append(Equation(
            f"{dS.text} = {WT.text}{dnS.text} ⊙ {fS.text}",
            f"{dS.tex} = {WT.tex}{dnS.tex} \\odot {fS.tex}", "12",
            [dS, EQ, W.T, dn, ODOT, fp, EQ, d12],
        ))
        items.append(Note(
            f"Shapes: {WT.text} is {W.shape[1]}×{W.shape[0]}, {dnS.text} is {dn.shape[0]}×{N}, "
            f"so {WT.text}{dnS.text} is {back.shape[0]}×{N}, the shape of {_S('z', k).text}; "
            f"⊙ multiplies elementwise by f'({_S('z', k).text}) ({name})."
        ))
        jS = f"δ{_sup(k)}ⱼ"
        items.append(Equation(
            f"{jS} = Σₖ ∂J/∂z{_sup(k + 1)}ₖ · ∂z{_sup(k + 1)}ₖ/∂a{_sup(k)}ⱼ · "
            f"∂a{_sup(k)}ⱼ/∂z{_sup(k)}ⱼ = (Σₖ δ{_sup(k + 1)}ₖ W{_sup(k)}ₖⱼ) f'(z{_sup(k)}ⱼ)",
            f"\\delta^{{({k})}}_j = \\sum_k \\frac{{\\partial J}}{{\\partial z^{{({k + 1})}}_k}}"
            f"\\frac{{\\partial z^{{({k + 1})}}_k}}{{\\partial a^{{({k})}}_j}}"
            f"\\frac{{\\partial a^{{({k})}}_j}}{{\\partial z^{{({k})}}_j}}"
            f" = \\Big(\\sum_k \\delta^{{({k + 1})}}_k W^{{({k})}}_{{kj}}\\Big) f'(z^{{({k})}}_j)",
            "13",
        ))
        items.append(Note(
            "In words: unit j of layer " + str(k) + " feeds every unit k above it through the "
            "weight Wₖⱼ, so its error is the sum of their errors weighted by those weights, "
            "times how fast its own output moves with its input. Summed by hand, unit by unit:"
        ))
        checks.append(Check(f"(12) as a matrix product and (13) as sums give the same {dS.text}",
                            "max |difference|", _max_diff(d12, d13), SAME_LIMIT))
        same(f"delta{k}", f"{dS.text} equals the engine's net.cache['delta'][{k - 2}]")
    steps.append(Step("Hidden errors δ, layer by layer" if nw > 2 else
                      ("Hidden error " + _delta(2).text if nw == 2 else "Hidden errors"),
                      ("12", "13"), items))

    # ---- (14)-(17)
    items = []
    if N > 1:
        items.append(Note(
            f"J is the mean over the N = {N} samples, so each gradient is the mean of the "
            "per-sample ones: ∇⁽ˡ⁾ = (1/N) Σₙ δ⁽ˡ⁺¹⁾ₙ a⁽ˡ⁾ₙᵀ = (1/N) δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ with the "
            "samples as columns; likewise ∂J/∂b⁽ˡ⁾ = (1/N) Σₙ δ⁽ˡ⁺¹⁾ₙ."
        ))
    fd: dict[str, np.ndarray] = {}
    fd_errors: dict[str, float] = {}
    for k in range(L - 1, 0, -1):
        i = k - 1
        dn, a_in = v[f"delta{k + 1}"], v[f"a{k}"]
        gW = dn @ a_in.T / N
        gW_sum = np.zeros_like(gW)
        for n in range(N):
            gW_sum += np.outer(dn[:, n], a_in[:, n])  # (15)/(17): δₖ aⱼ, one sample
        gW_sum /= N
        gb = dn.mean(axis=1, keepdims=True)
        v[f"grad_W{k}"], v[f"grad_b{k}"] = gW, gb
        fd[f"grad_W{k}"], fd[f"grad_b{k}"] = numeric[2 * i], numeric[2 * i + 1][:, None]
        gS, dnS, inT = _S("∇", k, "\\nabla"), _delta(k + 1), _a(k, T=True)
        if k == L - 1 and k == 1:
            tag, chain = "14", "17"
            items.append(Note("With one layer of weights, (14) for the last layer and (16) for "
                              "the first are the same equation; (15) and (17) are its chain rule."))
        elif k == L - 1:
            tag, chain = "14", "15"
        elif k == 1:
            tag, chain = "16", "17"
        else:
            tag, chain = "14", "15"
            items.append(Note(f"Layer {k} is in the middle: the same pattern as (14) and (16)."))
        scale = Sym(f"(1/{N})", f"\\tfrac{{1}}{{{N}}}") if N > 1 else None
        num_terms: list = [gS, EQ] + ([scale] if scale else []) + [dn, a_in.T, EQ, gW]
        lead_t, lead_x = ("(1/N) ", "\\tfrac{1}{N}") if N > 1 else ("", "")
        items.append(Equation(f"{gS.text} = {lead_t}{dnS.text}{inT.text}",
                              f"{gS.tex} = {lead_x}{dnS.tex}{inT.tex}", tag, num_terms))
        if L == 2:
            items.append(Equation(f"{gS.text} = {lead_t}{dnS.text}{inT.text}",
                                  f"{gS.tex} = {lead_x}{dnS.tex}{inT.tex}", "16"))
        inj = "xⱼ" if k == 1 else f"a{_sup(k)}ⱼ"
        inj_tex = "x_j" if k == 1 else f"a^{{({k})}}_j"
        items.append(Equation(
            f"∂J/∂W{_sup(k)}ₖⱼ = ∂J/∂z{_sup(k + 1)}ₖ · ∂z{_sup(k + 1)}ₖ/∂W{_sup(k)}ₖⱼ"
            f" = δ{_sup(k + 1)}ₖ {inj}",
            f"\\frac{{\\partial J}}{{\\partial W^{{({k})}}_{{kj}}}} = "
            f"\\frac{{\\partial J}}{{\\partial z^{{({k + 1})}}_k}}"
            f"\\frac{{\\partial z^{{({k + 1})}}_k}}{{\\partial W^{{({k})}}_{{kj}}}}"
            f" = \\delta^{{({k + 1})}}_k {inj_tex}",
            chain,
        ))
        if L == 2:
            items.append(Equation("(the same chain rule)", "\\text{(the same chain rule)}", "15"))
        items.append(Note(
            f"In words: W{_sup(k)}ₖⱼ touches J only through z{_sup(k + 1)}ₖ, which changes by "
            f"{inj} per unit of Wₖⱼ; so the gradient is δₖ times {inj}"
            + (", averaged over the samples." if N > 1 else ".")
        ))
        bS = _S("b", k)
        items.append(Equation(
            f"∂J/∂{bS.text} = {lead_t}Σₙ {dnS.text}" if N > 1 else f"∂J/∂{bS.text} = {dnS.text}",
            f"\\frac{{\\partial J}}{{\\partial {bS.tex}}} = "
            + (f"\\tfrac1N\\sum_n {dnS.tex}" if N > 1 else dnS.tex),
            "",
            [Sym(f"∂J/∂{bS.text}", f"\\frac{{\\partial J}}{{\\partial {bS.tex}}}"), EQ, gb],
        ))
        checks.append(Check(f"({tag}) as a matrix product and ({chain}) as sums give the same "
                            f"{gS.text}", "max |difference|", _max_diff(gW, gW_sum), SAME_LIMIT))
        same(f"grad_W{k}", f"{gS.text} equals the engine's backward()[{2 * i}]")
        same(f"grad_b{k}", f"∂J/∂{bS.text} equals the engine's backward()[{2 * i + 1}]")
        for key, label in ((f"grad_W{k}", gS.text), (f"grad_b{k}", f"∂J/∂{bS.text}")):
            err = relative_error(e[key], fd[key])
            fd_errors[key] = err
            checks.append(Check(f"{label} against central differences of J (h = {FD_STEP:g})",
                                "relative error", err, FD_LIMIT))
    steps.append(Step("Gradients ∇, layer by layer", ("14", "15", "16", "17"), items))

    # ---- the step
    items = [Note(f"Gradient descent moves each weight against its gradient, η = {lr:g}.")]
    for k in range(1, L):
        W, gW = v[f"W{k}"], v[f"grad_W{k}"]
        dW = -lr * gW
        v[f"dW{k}"], v[f"new_W{k}"] = dW, W + dW
        v[f"new_b{k}"] = v[f"b{k}"] - lr * v[f"grad_b{k}"]
        gS, WS, dWS = _S("∇", k, "\\nabla"), _S("W", k), Sym(f"ΔW{_sup(k)}", f"\\Delta W^{{({k})}}")
        items.append(Equation(f"{dWS.text} = -η{gS.text}", f"{dWS.tex} = -\\eta {gS.tex}", "",
                              [dWS, EQ, dW]))
        items.append(Equation(f"{WS.text} ← {WS.text} + {dWS.text}",
                              f"{WS.tex} \\leftarrow {WS.tex} + {dWS.tex}", "",
                              [Sym(f"new {WS.text}", f"\\text{{new }}{WS.tex}"), EQ, W, PLUS, dW,
                               EQ, v[f"new_W{k}"]]))
        same(f"new_W{k}", f"new {WS.text} equals the engine's SGD step")
        same(f"new_b{k}", f"new {_S('b', k).text} (b ← b - η∂J/∂b) equals the engine's SGD step")
    v["J_after"] = np.array([[_loss_per_sample(loss, _forward_hand(v, acts, L), y).mean()]])
    e["J_after"] = np.array([[cost_after]])
    items.append(Equation("", "", "",
                          [Sym("J before", "J_{\\text{before}}"), EQ, v["J"],
                           Sym("   J after", ",\\ J_{\\text{after}}"), EQ, v["J_after"]]))
    same("J_after", "J after the step equals the engine's net.cost on the stepped network")
    drop = cost_after - cost_before
    checks.append(Check("J goes down after the step", "J after - J before", drop, 0.0))
    if drop < 0:
        items.append(Note(f"J went down by {_fmt(-drop)}: one step downhill."))
    else:
        items.append(Note(f"J went up by {_fmt(drop)}: η = {lr:g} overshoots; try a smaller --lr."))
    steps.append(Step("The step ΔW = -η∇", (), items))

    return Explanation(
        sizes=sizes, activations=acts, loss=loss, lr=lr, seed=seed, X=X, Y=Y, values=v,
        engine=e, fd=fd, fd_errors=fd_errors, cost_before=cost_before, cost_after=cost_after,
        checks=checks, steps=steps, code_refs=code_refs(),
    )


def _forward_hand(v: dict[str, np.ndarray], acts: list[str], L: int) -> np.ndarray:
    a = v["x"]
    for k in range(1, L):
        a = _f(acts[k - 1], v[f"new_W{k}"] @ a + v[f"new_b{k}"])
    return a


# --------------------------------------------------------------------- numbers
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


def _render_text(ex: Explanation, color: bool, width: int) -> str:
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


# --------------------------------------------------------------------- markdown
def _tex_num(x: float) -> str:
    s = _fmt(x)
    if "e" in s and "inf" not in s:
        mant, _, exp = s.partition("e")
        return f"{mant}\\times 10^{{{exp}}}"
    return s


def _tex_matrix(m: np.ndarray) -> str:
    m = np.atleast_2d(m)
    if m.size == 1:
        return _tex_num(m.flat[0])
    rows = " \\\\ ".join(" & ".join(_tex_num(x) for x in row) for row in m)
    return f"\\begin{{bmatrix}} {rows} \\end{{bmatrix}}"


def _tex_terms(terms: list) -> str:
    return " ".join(_tex_matrix(t) if isinstance(t, np.ndarray) else t.tex for t in terms)


def _check_md(c: Check) -> str:
    return f"- {'✓' if c.ok else '✗'} {c.what} ({_check_value(c)})"


def _render_markdown(ex: Explanation) -> str:
    out = [f"# {ex.title}", ""]
    done: set[int] = set()
    for step in ex.steps:
        tags = f" ({step.tags[0]})–({step.tags[-1]})" if step.tags else ""
        out += [f"## {step.title}{tags}", ""]
        for item in step.items:
            if isinstance(item, Note):
                out += [item.text, ""]
            elif isinstance(item, Equation):
                tag = f" \\tag{{{item.tag}}}" if item.tag else ""
                label = f"({item.tag}) " if item.tag else ""
                if item.tex:
                    out += [f"{label}${item.tex}$", ""]
                if item.terms:
                    out += ["$$", f"{_tex_terms(item.terms)}{tag}", "$$", ""]
                elif item.tag:
                    out += ["$$", f"{item.tex}{tag}", "$$", ""]
        lines = [_check_md(c) for n, c in enumerate(ex.checks)
                 if n not in done and _belongs(c, step)]
        done |= {n for n, c in enumerate(ex.checks) if _belongs(c, step)}
        if lines:
            out += lines + [""]
    rest = [_check_md(c) for n, c in enumerate(ex.checks) if n not in done]
    if rest:
        out += ["## Other checks", ""] + rest + [""]
    out += ["## Where in the code", ""]
    for r in ex.code_refs:
        out.append(f"- {r.label} ({r.role}) `{r.path}:{r.line}`: {r.what} — `{r.code}`")
    out += ["", "The derivation, equation by equation: [docs/math.md](math.md).", ""]
    n_ok = sum(c.ok for c in ex.checks)
    out += [f"**{n_ok} of {len(ex.checks)} checks passed.**", ""]
    return "\n".join(out)


# --------------------------------------------------------------------- html
_CSS = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;
color:#1d2330;line-height:1.45}
h1{font-size:1.4rem}h2{font-size:1.15rem;border-bottom:1px solid #ccd;margin-top:2rem}
.eq{margin:.8rem 0}.sym{font-family:'STIX Two Math','Cambria Math','Latin Modern Math',
'Times New Roman',serif;font-size:1.15rem}
.tag{color:#a05a00;font-weight:600;margin-right:.6rem}
.num{display:flex;flex-wrap:wrap;align-items:center;gap:.45rem;margin:.35rem 0 0 2.2rem;
font-family:'STIX Two Math','Cambria Math',serif}
table.mat{border-collapse:separate;border-spacing:.55rem .1rem;position:relative;
border-left:2px solid #444;border-right:2px solid #444;border-radius:4px;
font-family:ui-monospace,monospace;font-size:.9rem}
table.mat td{text-align:right;padding:0}
.checks{list-style:none;padding-left:1rem}.ok{color:#17702f}.bad{color:#b00020;font-weight:600}
code{background:#f2f3f7;padding:0 .2rem}
"""


def _html_terms(terms: list) -> str:
    parts = []
    for t in terms:
        if isinstance(t, np.ndarray) and t.size == 1:
            parts.append(f'<span class="sym">{_fmt(t.flat[0])}</span>')
        elif isinstance(t, np.ndarray):
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(_fmt(x))}</td>" for x in row) + "</tr>"
                for row in np.atleast_2d(t)
            )
            parts.append(f'<table class="mat">{rows}</table>')
        else:
            parts.append(f'<span class="sym">{html.escape(t.text)}</span>')
    return '<div class="num">' + "".join(parts) + "</div>"


def _check_html(c: Check) -> str:
    cls, mark = ("ok", "✓") if c.ok else ("bad", "✗")
    val = html.escape(_check_value(c))
    return f'<li class="{cls}">{mark} {html.escape(c.what)} ({val})</li>'


def _render_html(ex: Explanation) -> str:
    body = [f"<h1>{html.escape(ex.title)}</h1>"]
    done: set[int] = set()
    for step in ex.steps:
        tags = f" ({step.tags[0]})–({step.tags[-1]})" if step.tags else ""
        body.append(f"<section><h2>{html.escape(step.title + tags)}</h2>")
        for item in step.items:
            if isinstance(item, Note):
                body.append(f"<p>{html.escape(item.text)}</p>")
            elif isinstance(item, Equation):
                tag = f'<span class="tag">({item.tag})</span>' if item.tag else ""
                body.append(f'<div class="eq">{tag}<span class="sym">{html.escape(item.text)}'
                            "</span>" if item.text else '<div class="eq">')
                if item.terms:
                    body.append(_html_terms(item.terms))
                body.append("</div>")
        lines = [_check_html(c) for n, c in enumerate(ex.checks)
                 if n not in done and _belongs(c, step)]
        done |= {n for n, c in enumerate(ex.checks) if _belongs(c, step)}
        if lines:
            body.append('<ul class="checks">' + "".join(lines) + "</ul>")
        body.append("</section>")
    rest = [_check_html(c) for n, c in enumerate(ex.checks) if n not in done]
    if rest:
        body.append('<section><h2>Other checks</h2><ul class="checks">' + "".join(rest)
                    + "</ul></section>")
    body.append("<section><h2>Where in the code</h2><ul>")
    for r in ex.code_refs:
        label = f"{r.label} ({r.role})"
        body.append(f"<li>{html.escape(label)} <code>{html.escape(r.path)}:{r.line}</code>: "
                    f"{html.escape(r.what)} — <code>{html.escape(r.code)}</code></li>")
    body.append('</ul><p>The derivation, equation by equation: '
                '<a href="docs/math.md">docs/math.md</a>.</p></section>')
    n_ok = sum(c.ok for c in ex.checks)
    cls = "ok" if ex.ok else "bad"
    body.append(f'<p class="{cls}"><strong>{n_ok} of {len(ex.checks)} checks passed.'
                "</strong></p>")
    title = html.escape(ex.title)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


__all__ = [
    "Check",
    "CodeRef",
    "Equation",
    "Explanation",
    "Note",
    "Step",
    "Sym",
    "code_refs",
    "explain",
    "format_number",
]
