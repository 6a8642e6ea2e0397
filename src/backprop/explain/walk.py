"""What the sections of the walk-through share: the network, its run and the values so far."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backprop.engine.network import Network
from backprop.explain.hand import _max_diff
from backprop.explain.model import SAME_LIMIT, Check


@dataclass
class Walk:
    """Everything the sections share: the network, its run, and the values so far.

    Attributes
    ----------
    sizes, acts : list
        Units per layer (input first) and the activation of each layer of weights.
    activation, output, loss : str
    seed : int
    lr : float
    N, L, nw : int
        Samples, layers of units, layers of weights (L - 1).
    net : Network
        The float64 network, before the step.
    X, Y : ndarray
        The batch, row-major.
    cache : dict
        Copies of the engine's z and a after ``forward``.
    numeric : list of ndarray
        Central finite differences of J, one per parameter.
    cost_before, cost_after : float
        The engine's J before and after its SGD step.
    v, e : dict of str to ndarray
        Hand-computed values and the engine's, column form, under the same keys.
    checks : list of Check
    fd, fd_errors : dict
        Finite-difference gradients and the engine's relative error against them.
    """

    sizes: list[int]
    acts: list[str]
    activation: str
    output: str
    loss: str
    seed: int
    lr: float
    N: int
    net: Network
    X: np.ndarray
    Y: np.ndarray
    cache: dict
    numeric: list[np.ndarray]
    cost_before: float
    cost_after: float
    v: dict[str, np.ndarray]
    e: dict[str, np.ndarray]
    checks: list[Check] = field(default_factory=list)
    fd: dict[str, np.ndarray] = field(default_factory=dict)
    fd_errors: dict[str, float] = field(default_factory=dict)

    @property
    def L(self) -> int:
        return len(self.sizes)

    @property
    def nw(self) -> int:
        return len(self.sizes) - 1

    def same(self, key: str, what: str) -> None:
        """Check that the hand value ``v[key]`` equals the engine's ``e[key]``."""
        diff = _max_diff(self.v[key], self.e[key])
        self.checks.append(Check(what, "max |difference|", diff, SAME_LIMIT))
