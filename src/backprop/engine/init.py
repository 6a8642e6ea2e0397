"""Weight initialisation.  Every draw comes from the caller's ``numpy.random.Generator``.

Each initialiser returns ``(W, b)`` with W of shape (n_out, n_in) and b of
shape (n_out,).

- ``glorot``: uniform(-r, r), r = √(6 / (n_in + n_out)) (Glorot & Bengio 2010);
  biases 0.  Good for sigmoid and tanh.
- ``he``: normal(0, √(2 / n_in)) (He et al. 2015); biases 0.  Good for ReLU.
- ``uniform``: the textbook's uniform(-1, 1) for weights and biases.
- ``normal``: normal(0, 1/√n_in) for weights, normal(0, 1) for biases
  (Nielsen's network2 ``default_weight_initializer``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Initializer = Callable[[int, int, np.random.Generator, np.dtype], tuple[np.ndarray, np.ndarray]]


def glorot(n_in: int, n_out: int, rng: np.random.Generator, dtype=np.float32):
    r = np.sqrt(6.0 / (n_in + n_out))
    W = rng.uniform(-r, r, size=(n_out, n_in)).astype(dtype)
    return W, np.zeros(n_out, dtype=dtype)


def he(n_in: int, n_out: int, rng: np.random.Generator, dtype=np.float32):
    W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in)).astype(dtype)
    return W, np.zeros(n_out, dtype=dtype)


def uniform(n_in: int, n_out: int, rng: np.random.Generator, dtype=np.float32):
    W = rng.uniform(-1.0, 1.0, size=(n_out, n_in)).astype(dtype)
    b = rng.uniform(-1.0, 1.0, size=n_out).astype(dtype)
    return W, b


def normal(n_in: int, n_out: int, rng: np.random.Generator, dtype=np.float32):
    W = rng.normal(0.0, 1.0 / np.sqrt(n_in), size=(n_out, n_in)).astype(dtype)
    b = rng.normal(0.0, 1.0, size=n_out).astype(dtype)
    return W, b


#: Registry: name -> initialiser.
INITIALIZERS: dict[str, Initializer] = {
    "glorot": glorot,
    "xavier": glorot,
    "he": he,
    "uniform": uniform,
    "normal": normal,
}


def get_initializer(name: str) -> Initializer:
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown init {name!r}; choose one of {', '.join(INITIALIZERS)}"
        ) from None


def default_init(activation: str) -> str:
    """He for the ReLU family, Glorot otherwise."""
    return "he" if activation in ("relu", "leaky_relu") else "glorot"
