"""A network's arrays and description: parameters, batch norm's running averages, config.

``Network`` (``backprop.engine.network``) inherits these: the list of its
parameter arrays in the order the optimisers and files use (W⁽¹⁾, b⁽¹⁾, W⁽²⁾,
..., then γ of each batch-normalised layer), copies of its whole state
(``get_params``/``set_params``, with the running averages), the JSON-able
description that rebuilds it (``config``/``from_config``), and the folded
network a model file holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class NetworkParams:
    """The arrays and description of a ``Network`` (needs its ``layers`` and settings)."""

    layers: list
    batch_norm: bool

    def _n_params(self, n_layers: int) -> int:
        """Parameter arrays: W and b per layer, and γ per hidden layer with batch norm."""
        return 2 * n_layers + (n_layers - 1) * self.batch_norm

    def _n_state(self, n_layers: int) -> int:
        """Arrays of ``get_params``: the parameters, then μ and σ² per normalised layer."""
        return self._n_params(n_layers) + 2 * (n_layers - 1) * self.batch_norm

    def params(self) -> list[np.ndarray]:
        """[W⁽¹⁾, b⁽¹⁾, W⁽²⁾, b⁽²⁾, ..., γ⁽¹⁾, ...]: the arrays themselves (updates act in place).

        γ, one per hidden layer, only with batch normalisation, after every W and b.
        """
        pairs = [p for layer in self.layers for p in (layer.W, layer.b)]
        return pairs + [layer.gamma for layer in self.layers if layer.gamma is not None]

    def param_names(self) -> list[str]:
        names = [f"{p}{i}" for i in range(1, len(self.layers) + 1) for p in ("W", "b")]
        return names + [f"gamma{i}" for i, layer in enumerate(self.layers, 1) if layer.batch_norm]

    def weights(self) -> list[np.ndarray]:
        return [layer.W for layer in self.layers]

    def _state(self) -> list[np.ndarray]:
        running = [s for layer in self.layers if layer.batch_norm
                   for s in (layer.running_mean, layer.running_var)]
        return self.params() + running

    def get_params(self) -> list[np.ndarray]:
        """A copy of every parameter array, then (batch norm) the running means and variances.

        What ``set_params`` restores: a network's whole state between two steps.
        """
        return [p.copy() for p in self._state()]

    def set_params(self, values: Sequence[np.ndarray]) -> None:
        """Copy ``values`` (as from ``get_params``, or ``params()``) into the network, in place."""
        state = self._state()
        if len(values) not in (len(state), len(self.params())):
            raise ValueError(f"expected {len(state)} parameter arrays, got {len(values)}")
        for p, v in zip(state, values):
            if np.shape(v) != p.shape:
                raise ValueError(f"parameter shape mismatch: expected {p.shape}, got {np.shape(v)}")
            p[...] = v

    def folded(self) -> NetworkParams:
        """The same inference map without batch normalisation (itself when it has none).

        Each normalised layer becomes W' = (γ/σ) ⊙ W, b' = b - γμ/σ with the running
        averages μ, σ² (``backprop.engine.batchnorm.fold``): what model files and
        ONNX graphs hold.
        """
        if not self.batch_norm:
            return self
        cfg = self.config()
        cfg["batch_norm"] = False
        params = [p for layer in self.layers for p in layer.inference_params()]
        return self.from_config(cfg, params, rng=np.random.default_rng(0))

    def config(self) -> dict:
        """Everything but the arrays needed to rebuild this network (JSON-able)."""
        return {
            "sizes": list(self.sizes),
            "activation": self.activations[:-1],
            "output": self.activations[-1],
            "loss": self.loss.name,
            "init": self.init,
            "dropout": list(self.dropout),
            "input_dropout": self.input_dropout,
            "dtype": self.dtype.name,
            "leaky_slope": self.leaky_slope,
            "batch_norm": self.batch_norm,
        }

    @classmethod
    def from_config(
        cls, config: dict, params: Sequence[np.ndarray] | None = None, **kwargs
    ) -> Any:
        """Rebuild a network from ``config()`` and, optionally, its parameter arrays."""
        return cls(**config, _params=params, **kwargs)

    def astype(self, dtype) -> Any:
        """A copy of this network with parameters in ``dtype`` (shares nothing)."""
        cfg = self.config()
        cfg["dtype"] = dtype
        return self.from_config(cfg, self.get_params(), rng=np.random.default_rng(0))

    def copy(self) -> Any:
        return self.astype(self.dtype)
