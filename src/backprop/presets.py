"""Named training recipes for ``backprop train --preset NAME``.

A preset is a dict of ``backprop.config.TrainConfig`` fields; it overrides the
defaults, and a config file or explicit flags override it.
"""

from __future__ import annotations

#: Registry: name -> settings (TrainConfig field names).
PRESETS: dict[str, dict] = {
    # The seed text's network: one sigmoid hidden layer, sigmoid outputs,
    # binary cross-entropy J(W), plain gradient descent ΔW = -η∇.
    "seed": {
        "hidden": [30],
        "activation": "sigmoid",
        "output": "sigmoid",
        "loss": "binary_crossentropy",
        "optimizer": "sgd",
        "lr": 0.5,
        "momentum": 0.0,
        "batch_size": 10,
        "epochs": 30,
    },
    # Our own recipe (default of `backprop train`); tuned by the accuracy work.
    "best": {},
}
