"""``explain(...)``: check the options, run the engine once, build the sections.

The engine's forward pass, ``Network.backward``, an ``SGD.step`` and central
finite differences of J give the numbers; ``backprop.explain.sections``
recomputes each by hand and compares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from backprop.engine.gradcheck import numerical_gradients
from backprop.engine.network import Network
from backprop.engine.optim import SGD
from backprop.explain.coderefs import code_refs
from backprop.explain.model import (
    _LEAKY_SLOPE,
    FD_STEP,
    HIDDEN_ACTIVATIONS,
    LOSS_NAMES,
    MAX_BATCH,
    MAX_DEPTH,
    MAX_UNITS,
    OUTPUT_ACTIVATIONS,
    Explanation,
)
from backprop.explain.sections import sections
from backprop.explain.walk import Walk


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

    w = Walk(sizes, acts, activation, output, loss, seed, lr, N, net, X, Y, cache, numeric,
             cost_before, cost_after, v, e)
    steps = sections(w)
    return Explanation(
        sizes=sizes, activations=acts, loss=loss, lr=lr, seed=seed, X=X, Y=Y, values=v,
        engine=e, fd=w.fd, fd_errors=w.fd_errors, cost_before=cost_before,
        cost_after=cost_after, checks=w.checks, steps=steps, code_refs=code_refs(),
    )
