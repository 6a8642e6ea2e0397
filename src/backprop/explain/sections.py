"""The sections of the walk-through, one function each: the example, the forward pass, the step.

``build._build`` runs the engine once and fills a ``Walk``; each section
function computes its equations by hand (``backprop.explain.hand``), compares
them with the engine's values (``Walk.same``) and returns one ``Step``.  The
backward pass, (10)-(17), is in ``backprop.explain.backward``.
"""

from __future__ import annotations

import numpy as np

from backprop.explain.backward import _gradients, _hidden_errors, _output_error
from backprop.explain.hand import (
    _f,
    _forward_hand,
    _loss_per_sample,
)
from backprop.explain.model import (
    Check,
    Equation,
    Note,
    Step,
    Sym,
)
from backprop.explain.symbols import (
    _S,
    EQ,
    PLUS,
    _a,
    _act_sym,
    _sup,
)
from backprop.explain.text import _fmt
from backprop.explain.walk import Walk


def sections(w: Walk) -> list[Step]:
    """Every section of the walk-through, in order."""
    return [_intro(w), _forward(w), _output_error(w), _hidden_errors(w), _gradients(w),
            _update(w)]


#: What "the seed" means, said once where the walk-through begins.
SEED_SENTENCE = (
    "The seed is the derivation text this project grows from: a network with a sigmoid hidden "
    "layer, sigmoid outputs and the cross-entropy cost, whose backward pass it writes as "
    "equations (10)-(17) (the random seed below only draws the weights)."
)


def _intro(w: Walk) -> Step:
    sizes, activation, output, loss, seed = w.sizes, w.activation, w.output, w.loss, w.seed
    lr, N, nw, v = w.lr, w.N, w.nw, w.v
    shape = "-".join(str(s) for s in sizes)
    hidden_words = "no hidden layer"
    if nw > 1:
        hidden_words = f"{nw - 1} {activation} hidden layer{'s' if nw > 2 else ''}"
    intro = [
        Note(SEED_SENTENCE),
        Note(
            f"Network {shape}: {sizes[0]} inputs, {hidden_words}, {sizes[-1]} {output} "
            f"output{'s' if sizes[-1] > 1 else ''}, loss {loss}; float64, random seed {seed}, "
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
    return Step("The network and the example", (), intro)


def _forward(w: Walk) -> Step:
    acts, loss, L, nw, v = w.acts, w.loss, w.L, w.nw, w.v
    e, cost_before, same = w.e, w.cost_before, w.same
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
    return Step("Forward pass", (), items)


def _update(w: Walk) -> Step:
    acts, loss, lr, L, v = w.acts, w.loss, w.lr, w.L, w.v
    e, checks, cost_before, cost_after, same = w.e, w.checks, w.cost_before, w.cost_after, w.same
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
    a_after = _forward_hand(v, acts, L)
    v["J_after"] = np.array([[_loss_per_sample(loss, a_after, v["y"]).mean()]])
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
    return Step("The step ΔW = -η∇", (), items)


_DLOSS_TEXT = {

        "binary_crossentropy": ("(a - y) / (a(1 - a))", "\\frac{a - y}{a(1 - a)}"),
        "categorical_crossentropy": ("-y / a", "-\\frac{y}{a}"),
        "mse": ("a - y", "a - y"),
}
