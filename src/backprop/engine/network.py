"""The network: a stack of dense layers, its forward pass and its backward pass.

``Network.backward`` is the reference backward pass: the seed's equations
(10)-(17) for any depth, one line each, tagged with its number (docs/math.md
gives the notation and the derivation):

    δ⁽ᴸ⁾ = a⁽ᴸ⁾ - y                          (10)  shortcut pairs only
    δ⁽ᴸ⁾ = ∂J/∂a⁽ᴸ⁾ ⊙ f'(z⁽ᴸ⁾)                (11)  any other output/loss pair
    δ⁽ˡ⁾ = W⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾ ⊙ f'(z⁽ˡ⁾)             (12), (13)
    ∇⁽ˡ⁾ = δ⁽ˡ⁺¹⁾ a⁽ˡ⁾ᵀ                        (14)-(17)

In row-major batch form (rows are samples, W of shape (n_out, n_in)) the
products read ``delta @ W`` for W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾ and ``delta.T @ a`` for δaᵀ summed
over the batch.  δ is per sample, exactly as in the seed; the cost is the
batch mean, so each gradient δaᵀ summed over the batch is divided by N.

The training loop runs the same equations through ``backprop.engine.fused``
(buffers reused per batch size, the optimiser's factor folded into 1/N,
momentum's update in the gradient's own BLAS product); ``tests/test_fused.py``
proves the two agree.

With ``batch_norm=True`` a hidden layer's z is γ ⊙ ẑ + b, ẑ its product W a
normalised over the batch; lines tagged (B3)-(B4) carry δ back through it.

After ``forward`` the attribute ``cache`` holds, per layer, the input
``inputs[l]`` (a⁽ˡ⁾ after dropout), ``z[l]``, the activation ``a[l]`` (before
dropout), the dropout ``masks[l]`` (or None) and, for batch-normalised layers,
``z_hat[l]`` and ``inv_std[l]`` (else None); ``backward`` adds the deltas
``delta[l]`` (δ of layer l's output, per sample), which ``backprop explain``
prints.  ``forward(X, train, reuse=True)`` (the training loop's call) writes
into arrays reused per batch size (``backprop.engine.buffers``); by default
every call allocates new ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backprop.engine import batchnorm
from backprop.engine.activations import ACTIVATIONS, Activation, LeakyReLU, get_activation
from backprop.engine.buffers import StepBuffers
from backprop.engine.init import default_init, get_initializer
from backprop.engine.layers import Dense, dropout_mask
from backprop.engine.losses import SHORTCUTS, get_loss
from backprop.engine.params import NetworkParams
from backprop.engine.regularization import add_gradient, check_coefficients, penalty

_DEFAULT_LOSS = {
    "softmax": "categorical_crossentropy",
    "sigmoid": "binary_crossentropy",
}


def _check_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt


#: predict_proba pads its batches to a multiple of this many rows (see there).
_PAD_ROWS = 16


def _per_hidden_layer(name: str, value, scalar: type | tuple, what: str, n: int) -> list:
    """``value`` once per hidden layer: a scalar repeated, or a sequence of exactly n."""
    values = [value] * n if isinstance(value, scalar) else list(value)
    if len(values) != n:
        raise ValueError(f"{name} lists {len(values)} {what} but the network has {n} hidden layers")
    return values


def _check_rate(name: str, rate: float) -> float:
    if not (isinstance(rate, (int, float)) and 0.0 <= rate < 1.0):
        raise ValueError(f"{name} must be a number in [0, 1), got {rate!r}")
    return float(rate)


class Network(NetworkParams):
    """A multi-layer perceptron trained by backpropagation.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first: ``[784, 800, 10]`` is 784 inputs, one
        hidden layer of 800 units and 10 outputs.  At least two entries.
    activation : str or sequence of str, default "sigmoid"
        Hidden-layer activation (one name, or one per hidden layer); see
        ``backprop.engine.activations.ACTIVATIONS``.
    output : str, optional
        Output activation.  Default: "softmax" for more than one output unit,
        "sigmoid" for one.
    loss : str, optional
        Default: categorical cross-entropy after softmax, binary cross-entropy
        after sigmoid, mean squared error otherwise.
    init : str, optional
        "glorot", "he", "uniform" (the textbook's U(-1, 1)) or "normal";
        default He for ReLU-family hidden layers, Glorot otherwise.
    dropout : float or sequence of float, default 0
        Inverted-dropout rate of each hidden layer's activations (training only).
    input_dropout : float, default 0
        Dropout rate of the input units (training only).
    dtype : {"float32", "float64"}, default "float32"
    seed : int, optional
        Seed of the one ``numpy.random.Generator`` (``self.rng``) behind every
        random draw: initial weights, shuffling, dropout and augmentation.
    rng : numpy.random.Generator, optional
        Use this generator instead of seeding a new one.
    leaky_slope : float, default 0.01
        Slope of leaky_relu for z < 0.
    batch_norm : bool, default False
        Normalise each hidden layer's product W a over the minibatch before its
        activation (``backprop.engine.batchnorm``); the layer's b becomes the
        shift after the normalisation, and a scale γ per unit is learnt.

    Attributes
    ----------
    layers : list of Dense
    loss : Loss
    rng : numpy.random.Generator
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Sequence[str] = "sigmoid",
        output: str | None = None,
        loss: str | None = None,
        init: str | None = None,
        dropout: float | Sequence[float] = 0.0,
        input_dropout: float = 0.0,
        dtype: str | np.dtype = "float32",
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        leaky_slope: float = 0.01,
        batch_norm: bool = False,
        _params: Sequence[np.ndarray] | None = None,
    ) -> None:
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or any(s < 1 for s in sizes):
            raise ValueError(
                f"sizes must list at least two positive layer sizes (inputs, ..., outputs), "
                f"got {sizes!r}"
            )
        hidden = _per_hidden_layer("activation", activation, str, "names", len(sizes) - 2)
        if output is None:
            output = "softmax" if sizes[-1] > 1 else "sigmoid"
        if loss is None:
            loss = _DEFAULT_LOSS.get(output, "mse")
        for name in [*hidden, output]:
            if name not in ACTIVATIONS:
                get_activation(name)  # raises the ValueError naming the choices
        if output == "softmax" and sizes[-1] < 2:
            raise ValueError("a softmax output needs at least 2 units; use output='sigmoid' for 1")
        rates = _per_hidden_layer("dropout", dropout, (int, float), "rates", len(sizes) - 2)
        self.dropout = [_check_rate("dropout", r) for r in rates]
        self.input_dropout = _check_rate("input_dropout", input_dropout)
        self.dtype = _check_dtype(dtype)
        self.sizes = sizes
        self.loss = get_loss(loss)
        self.init = init or default_init(hidden[0] if hidden else output)
        self.leaky_slope = float(leaky_slope)
        if not isinstance(batch_norm, (bool, np.bool_)):
            raise ValueError(f"batch_norm must be True or False, got {batch_norm!r}")
        self.batch_norm = bool(batch_norm)
        self.seed = seed
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        initializer = get_initializer(self.init)
        names = [*hidden, output]
        self.layers: list[Dense] = []
        n_layers = len(sizes) - 1
        if _params is not None:
            _params = list(_params)
            if len(_params) not in (self._n_params(n_layers), self._n_state(n_layers)):
                raise ValueError(
                    f"a {'-'.join(map(str, sizes))} network"
                    f"{' with batch normalisation' if self.batch_norm else ''} has "
                    f"{self._n_params(n_layers)} parameter arrays, got {len(_params)}"
                )
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if _params is not None:
                W = np.asarray(_params[2 * i], dtype=self.dtype)
                b = np.asarray(_params[2 * i + 1], dtype=self.dtype)
            else:
                W, b = initializer(n_in, n_out, self.rng, self.dtype)
            act: Activation = (
                LeakyReLU(self.leaky_slope)
                if names[i] == "leaky_relu"
                else get_activation(names[i])
            )
            self.layers.append(Dense(W, b, act, batch_norm=self.batch_norm and i < n_layers - 1))
        if _params is not None and len(_params) > 2 * n_layers:
            self.set_params(_params)  # γ (and the running averages, where given)
        self.cache: dict | None = None
        self._buffers: dict[int, StepBuffers] = {}  # batch size -> reused arrays (3 at most)
        self._step: StepBuffers | None = None  # the buffers of the last forward

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()  # pickles leave the scratch arrays behind
        state.update(cache=None, _buffers={}, _step=None)
        return state

    # ------------------------------------------------------------------ basics
    @property
    def activations(self) -> list[str]:
        """Activation names, one per layer (hidden layers, then the output)."""
        return [layer.activation.name for layer in self.layers]

    @property
    def shortcut(self) -> bool:
        """True when δ⁽ᴸ⁾ = a⁽ᴸ⁾ - y holds exactly for this output and loss."""
        return (self.layers[-1].activation.name, self.loss.name) in SHORTCUTS


    def __repr__(self) -> str:
        acts = ",".join(self.activations)
        bn = ", batch_norm=True" if self.batch_norm else ""
        return f"Network({self.sizes}, activations=[{acts}], loss={self.loss.name}{bn})"

    # ------------------------------------------------------------------ forward
    def _check_X(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(
                f"X must have shape (n_samples, {self.sizes[0]}), got {X.shape}; "
                "flatten images first (e.g. X.reshape(len(X), -1))"
            )
        return X.astype(self.dtype, copy=False)

    def forward(self, X: np.ndarray, train: bool = False, reuse: bool = False) -> np.ndarray:
        """Forward pass: return the output activations a⁽ᴸ⁾, shape (N, n_out).

        ``train=True`` applies dropout (masks drawn from ``self.rng``); z and a of
        every layer are kept in ``cache`` for ``backward``.  A batch-normalised
        layer uses the batch's own mean and variance (B1), as ``backward``
        differentiates, and ``train=True`` moves its running averages towards
        them; ``predict_proba`` uses the running averages.  ``reuse=True`` writes
        into buffers kept per batch size (the training loop's fast path), which the
        next ``reuse=True`` call with a batch of that size overwrites; by default
        every call returns new arrays.
        """
        X = self._check_X(X)
        step = StepBuffers.for_batch(self._buffers if reuse else {}, self.sizes, len(X),
                                     self.dtype, self.dropout, self.input_dropout,
                                     self.batch_norm)
        self._step = step
        inputs, zs, outs, masks, z_hats, inv_stds = [], [], [], [], [], []
        a = X
        if train and self.input_dropout:
            mask = dropout_mask(a.shape, self.input_dropout, self.rng, self.dtype, step.input_mask)
            a = np.multiply(a, mask, out=step.input_dropped)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            inputs.append(a)
            z_hat = inv_std = None
            if layer.batch_norm:  # z = γ ⊙ ẑ + b, ẑ = W a normalised over the batch (B1), (B2)
                z, a, z_hat, mean, var, inv_std = layer.forward_batch(
                    a, z_out=step.z[i], z_hat_out=step.z_hat[i], a_out=step.a[i])
                if train:
                    batchnorm.update_running(layer.running_mean, layer.running_var, mean, var,
                                             len(X))
            else:  # z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b, a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾)
                z, a = layer.forward(a, z_out=step.z[i], a_out=step.a[i])
            z_hats.append(z_hat)
            inv_stds.append(inv_std)
            zs.append(z)
            outs.append(a)
            mask = None
            if train and i < last and self.dropout[i]:
                mask = dropout_mask(a.shape, self.dropout[i], self.rng, self.dtype, step.masks[i],
                                    order="F" if a.flags.f_contiguous else "C")
                a = np.multiply(a, mask, out=step.dropped[i])
            masks.append(mask)
        self.cache = {"inputs": inputs, "z": zs, "a": outs, "masks": masks, "z_hat": z_hats,
                      "inv_std": inv_stds}
        return a

    @property
    def step_buffers(self) -> StepBuffers | None:
        """The arrays of the last ``forward`` (reused ones after ``reuse=True``), or None."""
        return self._step

    def predict_proba(self, X: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """Output activations for X, shape (N, n_out), in batches, without dropout.

        Each layer computes a = f(W a + b) in place in one C-ordered buffer per
        layer, allocated once per call.  A sample's output does not depend on
        the rest of its batch: OpenBLAS sums in the same order for every row
        of a batch whose length is a multiple of 16 (measured; other lengths
        can differ in the last bit), so a shorter last batch is zero-padded.
        """
        X = self._check_X(X)
        n, rows = len(X), _PAD_ROWS * -(-min(batch_size, len(X)) // _PAD_ROWS)
        result = np.empty((n, self.sizes[-1]), dtype=self.dtype)
        bufs = [np.empty((rows, k), dtype=self.dtype) for k in self.sizes[1:]]
        for start in range(0, n, batch_size):
            a = X[start : start + batch_size]
            m = len(a)
            if m % _PAD_ROWS:
                a = np.concatenate([a, np.zeros((-m % _PAD_ROWS, a.shape[1]), a.dtype)])
            for layer, buf in zip(self.layers, bufs):
                buf = buf[: len(a)]
                _, a = layer.forward(a, z_out=buf, a_out=buf)  # a = f(W a + b), z overwritten
            result[start : start + m] = a[:m]
        self.cache = None
        return result

    def predict(self, X: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """Class indices, shape (N,): argmax of the outputs, or output > 0.5 for one unit."""
        a = self.predict_proba(X, batch_size)
        if a.shape[1] == 1:
            return (a[:, 0] > 0.5).astype(np.int64)
        return a.argmax(axis=1)

    # ------------------------------------------------------------------ cost
    def cost(self, X: np.ndarray, Y: np.ndarray, l1: float = 0.0, l2: float = 0.0) -> float:
        """J = mean loss over the batch + (l2/2)Σ‖W‖² + l1Σ|W| (no dropout).

        As the network predicts: batch normalisation uses its running averages.
        """
        a = self.predict_proba(X)
        return self.loss.value(a, np.asarray(Y, dtype=a.dtype)) + penalty(self.weights(), l1, l2)

    def batch_cost(self, X: np.ndarray, Y: np.ndarray, l1: float = 0.0, l2: float = 0.0) -> float:
        """J of X as one training batch, without dropout: the function ``backward`` differentiates.

        The same as ``cost`` (to rounding) except with batch normalisation, which here
        uses X's own mean and variance (B1).
        """
        if not self.batch_norm:
            return self.cost(X, Y, l1, l2)
        a = self.forward(X)
        self.cache = None
        return self.loss.value(a, np.asarray(Y, dtype=a.dtype)) + penalty(self.weights(), l1, l2)

    # ------------------------------------------------------------------ backward
    def backward(self, Y: np.ndarray, l1: float = 0.0, l2: float = 0.0) -> list[np.ndarray]:
        """Backward pass after ``forward``: the gradients of the mean cost J, eqs. (10)-(17).

        The reference implementation, one line per equation; the training loop
        runs the same equations fused with the update (``backprop.engine.fused``).

        Parameters
        ----------
        Y : ndarray, shape (N, n_out)
            Targets of the batch given to the last ``forward`` (one-hot for
            classification).
        l1, l2 : float
            Regularisation coefficients (see ``backprop.engine.regularization``).

        Returns
        -------
        list of ndarray
            [∇W⁽¹⁾, ∇b⁽¹⁾, ∇W⁽²⁾, ...], new arrays, each the shape of its parameter.
            ``cache["delta"]`` gets δ of every layer's output, (N, n_out) each.
        """
        if self.cache is None:
            raise RuntimeError("backward() needs a forward() on the same batch first")
        check_coefficients(l1, l2)
        inputs, zs, outs, masks = (self.cache[k] for k in ("inputs", "z", "a", "masks"))
        a_L, z_L = outs[-1], zs[-1]
        Y = np.asarray(Y, dtype=a_L.dtype)
        if Y.shape != a_L.shape:
            raise ValueError(f"Y must have shape {a_L.shape} (one row per sample), got {Y.shape}")
        N, layers = len(Y), self.layers
        deltas, grads = [Y] * len(layers), [Y] * len(self.params())  # filled from the top down
        if self.shortcut:
            delta = a_L - Y  # (10): δ⁽ᴸ⁾ = a⁽ᴸ⁾ - y
        else:
            dJ_da = self.loss.grad(a_L, Y)  # ∂J/∂a⁽ᴸ⁾, per sample
            delta = layers[-1].activation.backward(z_L, a_L, dJ_da)  # (11): δ⁽ᴸ⁾ = ∂J/∂a ⊙ ∂a/∂z
        for i in reversed(range(len(layers))):  # layers[i] holds W⁽ˡ⁾, l = i + 1
            deltas[i] = delta  # δ⁽ˡ⁺¹⁾
            grads[2 * i + 1] = delta.sum(axis=0) / N  # ∂J/∂b⁽ˡ⁾ = δ⁽ˡ⁺¹⁾, batch mean (B3)
            if layers[i].batch_norm:  # δ of z = γ ⊙ ẑ + b, back through the normalisation
                z_hat, gamma = self.cache["z_hat"][i], layers[i].gamma
                grads[2 * len(layers) + i] = (delta * z_hat).sum(axis=0) / N  # (B3): ∂J/∂γ
                delta = batchnorm.backward(delta, z_hat, self.cache["inv_std"][i], gamma)  # (B4)
            grads[2 * i] = delta.T @ inputs[i] / N  # (14)-(17): ∇⁽ˡ⁾ = δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ, batch mean
            add_gradient(grads[2 * i], layers[i].W, l1, l2)  # + l2·W + l1·sign(W)
            if i > 0:
                back = delta @ layers[i].W  # (13): Σₖ δ⁽ˡ⁺¹⁾ₖ W⁽ˡ⁾ₖⱼ = W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾
                if masks[i - 1] is not None:
                    back = back * masks[i - 1]  # dropped units pass no gradient
                f, z, a = layers[i - 1].activation, zs[i - 1], outs[i - 1]  # layer l's
                delta = f.backward(z, a, back)  # (12): δ⁽ˡ⁾ = W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾ ⊙ f'(z⁽ˡ⁾)
        self.cache["delta"] = deltas
        return grads

    def gradients(
        self, X: np.ndarray, Y: np.ndarray, l1: float = 0.0, l2: float = 0.0, train: bool = False
    ) -> list[np.ndarray]:
        """``forward(X)`` then ``backward(Y)``: the gradient of J at X, Y."""
        self.forward(X, train=train)
        return self.backward(Y, l1, l2)
