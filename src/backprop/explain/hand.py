"""The independent hand computation: each quantity from its equation, in column form.

Nothing here calls the engine: f, f', the losses and their derivatives are
written out again from their formulas, in the seed's orientation (a sample is a
column), so that comparing them with the engine's values is a real check.
"""

from __future__ import annotations

import math

import numpy as np

from backprop.explain.model import _LEAKY_SLOPE


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


def _forward_hand(v: dict[str, np.ndarray], acts: list[str], L: int) -> np.ndarray:
    a = v["x"]
    for k in range(1, L):
        a = _f(acts[k - 1], v[f"new_W{k}"] @ a + v[f"new_b{k}"])
    return a


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)))
