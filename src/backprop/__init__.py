"""backprop: a multi-layer neural network in NumPy, trained by backpropagation.

>>> from backprop import Network, fit
>>> net = Network([784, 800, 10], activation="relu", seed=0)
"""

from __future__ import annotations

__version__ = "0.1.0"

from backprop.engine.activations import ACTIVATIONS
from backprop.engine.gradcheck import gradient_check
from backprop.engine.losses import LOSSES
from backprop.engine.network import Network
from backprop.engine.optim import OPTIMIZERS, Schedule
from backprop.engine.perceptron import Perceptron
from backprop.engine.train import Callback, History, Trainer, fit


def explain(*args, **kwargs):
    """The seed's equations (10)-(17), step by step, verified (see ``backprop.explain``)."""
    from backprop.explain import explain as _explain

    return _explain(*args, **kwargs)


def load(path):
    """Read a model file (``model.npz`` or ``.safetensors``, never a pickle); return a ``Model``.

    The :class:`backprop.model.model.Model` holds the network, its input
    scaling and image steps, class names and provenance; ``model.predict(X)``
    takes raw inputs.
    """
    from backprop.model.modelfile import load as _load

    return _load(path)


def __getattr__(name):
    if name == "Model":  # imported on first use: it pulls in the data package
        from backprop.model.model import Model

        return Model
    raise AttributeError(f"module 'backprop' has no attribute {name!r}")


__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "OPTIMIZERS",
    "Callback",
    "History",
    "Model",
    "Network",
    "Perceptron",
    "Schedule",
    "Trainer",
    "__version__",
    "explain",
    "fit",
    "gradient_check",
    "load",
]
