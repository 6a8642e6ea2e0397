"""Training settings, each declared once: name, type, default, range or choices, help.

``TrainConfig`` is the declaration.  Every field is written as
``name: type = setting(default, help, <range or choices>)``, and everything
else reads it from there:

* the command line: ``backprop train`` makes one flag per field
  (``--batch-size`` for ``batch_size``) with the help, range and default
  (``backprop.cli.trainflags``);
* TOML files: ``--config FILE.toml`` sets fields by name
  (``backprop.configfile``), and ``--print-config`` writes them;
* presets: ``backprop.presets.PRESETS`` are dicts of field names;
* the trainer: ``backprop.engine.train.Trainer(net, config)`` reads the
  fields of the ``"training"`` and ``"regularisation"`` groups, and takes
  them by name too (``Trainer(net, lr=0.1)``, ``fit(net, X, y, epochs=5)``),
  which is how the scikit-learn estimator passes its parameters.

Values are checked in one place, :meth:`Setting.check`
(``backprop.configspec``), called for every
field when a ``TrainConfig`` is built, so a config that exists is valid.
Errors are :class:`SettingsError` naming the source (a file, a preset, the
command line), the setting, the value and the allowed range.

This module imports only the standard library at module level, so that the
engine (NumPy only) can import it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from backprop.configspec import Setting, SettingsError, setting

__all__ = ["GROUPS", "MAX_ENSEMBLE", "MAX_WEIGHTS", "SETTINGS", "Setting", "SettingsError",
           "TrainConfig", "build_network", "check_values", "setting", "suggest"]

#: The groups, in the order ``backprop train --help`` lists them.
GROUPS = ("data", "network", "training", "regularisation", "augmentation", "run")

#: Largest number of weights a network may have (``build_network`` checks it
#: before allocating): 2**27 float32 weights are 512 MiB, with Adam's two
#: moments 1.5 GiB.
MAX_WEIGHTS = 2**27

#: Most networks ``--ensemble`` trains into one model.
MAX_ENSEMBLE = 32


UNIT = {"low": 0.0, "high": 1.0, "high_open": True}  # [0, 1)
POSITIVE = {"low": 0.0, "low_open": True}  # > 0
NONNEG = {"low": 0.0}  # ≥ 0
DEGREES = {"low": 0.0, "high": 180.0}


#: Largest side of an ``image_size``, in pixels (as a model's image steps allow).
MAX_IMAGE_SIDE = 4096
_IMAGE_SIZE = re.compile(r"^\s*(\d+)\s*(?:[x×X]\s*(\d+))?\s*$")


def image_size_sides(value: Any) -> tuple[int, int] | str:
    """``(height, width)`` of an ``image_size`` text (``"28x28"``, ``"32"``), or its problem.

    The pixel limit is checked where the size is used (``backprop.imagesize``).
    """
    found = _IMAGE_SIZE.match(value) if isinstance(value, str) else None
    if found is None:
        return "must be HxW, e.g. 28x28, or one side, e.g. 32 for 32x32"
    h = int(found.group(1))
    w = int(found.group(2) or h)
    if not (1 <= h <= MAX_IMAGE_SIDE and 1 <= w <= MAX_IMAGE_SIDE):
        return f"each side must be 1 to {MAX_IMAGE_SIDE} pixels, e.g. 28x28"
    return h, w


def _image_size_problem(value: Any) -> str | None:
    sides = image_size_sides(value)
    return sides if isinstance(sides, str) else None


@dataclass
class TrainConfig:
    """Every setting of a training run, with its default, range and help.

    The defaults are the plain ones (``--preset none``); ``backprop train``
    starts from the ``best`` preset unless told otherwise.  Building a
    config checks every value (:class:`SettingsError`).
    """

    # data
    dataset: str = setting(
        "mnist", "data set: mnist (downloaded once), fashion-mnist, kmnist, mnist-sample "
        "(bundled, offline), digits, xor", "data")
    data_dir: str | None = setting(
        None, "your own data: a folder of IDX files or class sub-folders, a .npz or a .csv",
        "data")
    scale: str = setting(
        "unit", "input scaling: unit ([0,1]), standard (z-score per pixel), symmetric "
        "([-1,1]), none", "data", choices=("unit", "standard", "symmetric", "none"))
    image_size: str | None = setting(
        None, "resize every image of a --data-dir folder to HxW as it is read, e.g. 28x28 (32: "
        "32x32)", "data", none="the folder's most common size", form=_image_size_problem)
    validation_split: float = setting(
        0.1, "fraction of the training set held out for validation (0: none)", "data", **UNIT)
    # network
    hidden: list[int] = setting(
        [800], "hidden layer sizes, comma-separated (e.g. 256,128; 'none' for no hidden layer)",
        "network", low=1, high=65536, max_items=64)
    activation: str = setting(
        "relu", "hidden activation", "network",
        choices=("sigmoid", "tanh", "relu", "leaky_relu", "identity"))
    output: str | None = setting(
        None, "output activation", "network", none="softmax, sigmoid for one unit",
        choices=("softmax", "sigmoid", "identity", "tanh", "relu", "leaky_relu"))
    loss: str | None = setting(
        None, "loss", "network", none="matches the output",
        choices=("categorical_crossentropy", "binary_crossentropy", "mse"))
    init: str | None = setting(
        None, "weight init", "network", none="he for relu, else glorot",
        choices=("glorot", "xavier", "he", "uniform", "normal"))
    dropout: float = setting(0.0, "dropout rate of the hidden units", "network", **UNIT)
    input_dropout: float = setting(0.0, "dropout rate of the input units", "network", **UNIT)
    leaky_slope: float = setting(0.01, "slope of leaky_relu for z < 0", "network", **UNIT)
    batch_norm: bool = setting(
        False, "batch normalisation: each hidden layer's W a normalised over the minibatch "
        "before its activation (Ioffe & Szegedy 2015); folded into W and b in the model file",
        "network")
    dtype: str = setting("float32", "floating-point type", "network",
                         choices=("float32", "float64"))
    init_from: str | None = setting(
        None, "fine-tune: start from this model file's weights and architecture (hidden, "
        "activation, output, loss, dtype and input scaling are the model's)", "network")
    # training
    optimizer: str = setting(
        "momentum", "gd (full batch), sgd, momentum, nesterov, adam", "training",
        choices=("gd", "sgd", "momentum", "nesterov", "adam"))
    lr: float = setting(0.05, "learning rate η", "training", low=0.0, low_open=True, high=1e3)
    momentum: float = setting(0.9, "momentum α (momentum, nesterov)", "training", **UNIT)
    beta1: float = setting(0.9, "Adam β1", "training", **UNIT)
    beta2: float = setting(0.999, "Adam β2", "training", **UNIT)
    eps: float = setting(1e-8, "Adam ε", "training", low=0.0, low_open=True, high=1.0)
    schedule: str = setting(
        "constant", "learning-rate schedule", "training",
        choices=("constant", "decrease", "cumulative", "step", "exponential", "cosine"))
    decay: float = setting(0.0, "decay constant of the decrease/cumulative schedules",
                           "training", **NONNEG)
    gamma: float = setting(0.5, "factor of the step and exponential schedules", "training",
                           low=0.0, low_open=True, high=1.0)
    step_size: int = setting(10, "epochs between steps of the step schedule", "training",
                             low=1, high=10**6)
    lr_min: float = setting(0.0, "final learning rate of the cosine schedule", "training",
                            **NONNEG)
    warmup: int = setting(0, "epochs of linear learning-rate warm-up", "training",
                          low=0, high=10**6)
    epochs: int = setting(20, "number of passes over the training set (given, it overrides "
                          "--updates)", "training",
                          low=1, high=10**6)
    batch_size: int = setting(128, "minibatch size", "training", low=1, high=10**6)
    shuffle: bool = setting(True, "reshuffle the training set every epoch", "training")
    patience: int | None = setting(
        None, "stop after this many epochs without improvement (validation loss)", "training",
        low=1, high=10**6, none="none: no early stopping")
    restore_best: bool = setting(
        True, "with validation, end with the weights of the best epoch", "training")
    ensemble: int = setting(
        1, "networks trained with seeds seed, seed+1, ... (each for --epochs); the model "
        "averages their class probabilities", "training", low=1, high=MAX_ENSEMBLE)
    # regularisation
    l1: float = setting(0.0, "L1 penalty λ1", "regularisation", **NONNEG)
    l2: float = setting(0.0, "L2 penalty λ2 (weight decay)", "regularisation", **NONNEG)
    max_norm: float | None = setting(
        None, "cap on each unit's incoming weight norm", "regularisation", **POSITIVE)
    label_smoothing: float = setting(0.0, "label smoothing ε", "regularisation", **UNIT)
    # augmentation (backprop.data.augment)
    augment: str = setting("none", "training-time augmentation", "augmentation",
                           choices=("none", "affine", "elastic", "affine+elastic"))
    rotate: float = setting(0.0, "max rotation in degrees", "augmentation", **DEGREES)
    scale_range: float = setting(0.0, "max relative scaling", "augmentation", **UNIT)
    shear: float = setting(0.0, "max shear in degrees", "augmentation",
                           low=0.0, high=90.0, high_open=True)
    shift: float = setting(0.0, "max shift in pixels", "augmentation", low=0.0, high=1e3)
    elastic_alpha: float = setting(
        0.0, "elastic distortion strength α in pixels (Simard et al. 2003)", "augmentation",
        low=0.0, high=1e3)
    elastic_sigma: float = setting(
        0.0, "elastic distortion smoothing σ in pixels (Simard et al. 2003)", "augmentation",
        low=0.0, high=1e3)
    flip: bool = setting(
        False, "mirror left-right with probability 1/2 (clothes, not digits)", "augmentation")
    # run
    updates: int = setting(
        0, "training length as a budget of minibatch updates: epochs = updates / "
        "minibatches per epoch (20 to 2,000), unless --epochs is given (0: --epochs decides)",
        "run", low=0, high=10**9)
    time: str | None = setting(
        None, "wall-time budget for the whole run, e.g. 90s, 10m, 1h: the epochs are fitted "
        "to it so the learning-rate schedule ends on time (instead of --epochs)", "run",
        none="none: no time limit")
    max_time: str | None = setting(
        None, "ceiling on the run's wall time, e.g. 9m30s: the epochs that --epochs/--updates "
        "ask for, or fewer when the measured epoch time says they would not end by then (the "
        "learning-rate schedule is shortened to end on time); --time, which sets the length "
        "itself, overrides it", "run", none="none: no ceiling")
    seed: int = setting(
        0, "seed of every random draw (init, split, shuffles, dropout, augmentation)", "run",
        low=0, high=2**32 - 1)

    def __post_init__(self) -> None:
        for s in SETTINGS.values():
            setattr(self, s.name, s.check(getattr(self, s.name), "TrainConfig"))

    @classmethod
    def fields(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, values: dict, source: str = "settings") -> TrainConfig:
        """A config from a dict of field names; errors name ``source``."""
        return cls(**check_values(values, source))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def group(self, name: str) -> dict:
        """The settings of one group (``"training"``: what ``Trainer`` reads)."""
        return {s.name: getattr(self, s.name) for s in SETTINGS.values() if s.group == name}

    def updated(self, source: str = "settings", **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (checked, errors naming ``source``)."""
        return TrainConfig.from_dict({**self.to_dict(), **changes}, source)


def _kind(type_text: str) -> str:
    t = str(type_text).replace(" ", "")
    for kind in ("list", "bool", "int", "float", "str"):
        if t.startswith(kind):
            return kind
    raise TypeError(f"TrainConfig field type {type_text!r} is not a setting kind")


def _declare() -> dict[str, Setting]:
    out = {}
    for f in dataclasses.fields(TrainConfig):
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        out[f.name] = Setting(name=f.name, kind=_kind(f.type), default=default,
                              optional="None" in str(f.type), **f.metadata)
    return out


#: name -> Setting, in declaration order.
SETTINGS: dict[str, Setting] = _declare()

#: The settings ``Trainer`` reads (the "training" group, plus l1, l2, max_norm
#: and label_smoothing of "regularisation").
TRAINER_GROUPS = ("training", "regularisation")


#: Names other libraries use for our settings (for "did you mean" hints).
ALIASES = {
    "learning_rate": "lr", "learning_rate_init": "lr", "eta": "lr", "rate": "lr",
    "n_epochs": "epochs", "max_iter": "epochs", "epoch": "epochs",
    "minibatch_size": "batch_size", "batch": "batch_size", "mini_batch_size": "batch_size",
    "hidden_layer_sizes": "hidden", "layers": "hidden", "hidden_layers": "hidden",
    "weight_decay": "l2", "alpha": "l2", "random_state": "seed", "solver": "optimizer",
    "beta_1": "beta1", "beta_2": "beta2", "epsilon": "eps", "validation_fraction":
    "validation_split", "val_split": "validation_split", "n_iter_no_change": "patience",
    "early_stopping": "patience", "data": "data_dir", "lr_schedule": "schedule",
}


def suggest(name: str) -> str | None:
    """The setting a mistyped or foreign ``name`` most likely means, or None."""
    import difflib

    key = name.lstrip("-").replace("-", "_").lower()
    if key in ALIASES:
        return ALIASES[key]
    close = difflib.get_close_matches(key, SETTINGS, n=1, cutoff=0.6)
    return close[0] if close else None


def check_names(values: dict, source: str) -> None:
    """Raise SettingsError naming ``source`` if ``values`` has a key that is not a setting."""
    unknown = sorted(set(values) - set(SETTINGS))
    if unknown:
        hint = suggest(unknown[0])
        raise SettingsError(
            f"{source}: unknown setting(s) {', '.join(unknown)}; "
            + (f"did you mean {hint}?" if hint else f"known settings are {', '.join(SETTINGS)}")
        )


def check_values(values: dict, source: str = "settings") -> dict:
    """Check names, types and ranges of ``values``; return them converted.

    Raises
    ------
    SettingsError
        Naming ``source``, the setting, the value and what is allowed.
    """
    check_names(values, source)
    return {k: SETTINGS[k].check(v, source) for k, v in values.items()}


def build_network(cfg: TrainConfig, n_in: int, n_out: int) -> Any:
    """The network a config describes, seeded by ``cfg.seed``.

    Raises SettingsError before allocating when the weights would exceed
    :data:`MAX_WEIGHTS`.
    """
    import numpy as np

    from backprop.engine.network import Network

    sizes = [n_in, *cfg.hidden, n_out]
    n_weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    if n_weights > MAX_WEIGHTS:
        raise SettingsError(
            f"hidden = {cfg.hidden} gives a {'-'.join(map(str, sizes))} network with "
            f"{n_weights:,} weights, above the limit of {MAX_WEIGHTS:,} "
            "(backprop.config.MAX_WEIGHTS); use smaller hidden layers"
        )
    return Network(
        sizes,
        activation=cfg.activation,
        output=cfg.output,
        loss=cfg.loss,
        init=cfg.init,
        dropout=cfg.dropout,
        input_dropout=cfg.input_dropout,
        dtype=cfg.dtype,
        leaky_slope=cfg.leaky_slope,
        batch_norm=cfg.batch_norm,
        rng=np.random.default_rng(cfg.seed),
    )
