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
    """Load a model file written by ``Network.save`` (never unpickles)."""
    from backprop.model.modelfile import load as _load

    return _load(path)


__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "OPTIMIZERS",
    "Callback",
    "History",
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
