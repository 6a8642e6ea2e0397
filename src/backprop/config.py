"""Training settings: one dataclass shared by the CLI flags, config.toml files and presets.

``TrainConfig`` lists every setting of ``backprop train`` with its default.
The command line makes one flag per field (``--batch-size`` for
``batch_size``), a ``--config FILE.toml`` file sets fields by name, and a
preset (``backprop.presets.PRESETS``) is a dict of fields.  Precedence:
defaults < preset < config file < flags given on the command line.

``build_network(cfg, n_in, n_out)`` and ``trainer_settings(cfg)`` turn a
config into the engine's objects.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from backprop.network import Network


@dataclass
class TrainConfig:
    """Every setting of a training run, with the defaults of ``backprop train``."""

    # data
    dataset: str = "mnist"
    data_dir: str | None = None
    scale: str = "unit"  # preprocessing: unit | standard | symmetric | none
    validation_split: float = 0.1
    # network
    hidden: list[int] = field(default_factory=lambda: [800])
    activation: str = "relu"
    output: str | None = None
    loss: str | None = None
    init: str | None = None
    dropout: float = 0.0
    input_dropout: float = 0.0
    leaky_slope: float = 0.01
    dtype: str = "float32"
    # optimisation
    optimizer: str = "momentum"
    lr: float = 0.05
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    schedule: str = "constant"
    decay: float = 0.0
    gamma: float = 0.5
    step_size: int = 10
    lr_min: float = 0.0
    warmup: int = 0
    epochs: int = 20
    batch_size: int = 128
    # regularisation
    l1: float = 0.0
    l2: float = 0.0
    max_norm: float | None = None
    label_smoothing: float = 0.0
    patience: int | None = None
    # augmentation (backprop.data.augment)
    augment: str = "none"  # none | affine | elastic
    rotate: float = 0.0  # degrees, ± uniform
    scale_range: float = 0.0  # relative, ± uniform
    shear: float = 0.0  # degrees, ± uniform
    shift: float = 0.0  # pixels, ± uniform
    elastic_alpha: float = 0.0  # Simard et al. 2003: displacement scale α (pixels)
    elastic_sigma: float = 0.0  # Simard et al. 2003: Gaussian smoothing σ (pixels)
    # run
    seed: int = 0

    @classmethod
    def fields(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, values: dict, source: str = "settings") -> TrainConfig:
        """Build a config from a dict of field names (unknown names are an error)."""
        names = {f.name for f in cls.fields()}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(
                f"{source}: unknown setting(s) {', '.join(unknown)}; "
                f"known settings are {', '.join(sorted(names))}"
            )
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def updated(self, **changes) -> TrainConfig:
        return TrainConfig.from_dict({**self.to_dict(), **changes})


def build_network(cfg: TrainConfig, n_in: int, n_out: int) -> Network:
    """The network a config describes, seeded by ``cfg.seed``."""
    return Network(
        [n_in, *cfg.hidden, n_out],
        activation=cfg.activation,
        output=cfg.output,
        loss=cfg.loss,
        init=cfg.init,
        dropout=cfg.dropout,
        input_dropout=cfg.input_dropout,
        dtype=cfg.dtype,
        leaky_slope=cfg.leaky_slope,
        rng=np.random.default_rng(cfg.seed),
    )


#: TrainConfig fields that are keyword arguments of ``backprop.train.Trainer``.
TRAINER_FIELDS = (
    "optimizer", "lr", "epochs", "batch_size", "momentum", "beta1", "beta2", "eps",
    "schedule", "decay", "gamma", "step_size", "lr_min", "warmup", "l1", "l2",
    "max_norm", "patience", "label_smoothing",
)


def trainer_settings(cfg: TrainConfig) -> dict:
    """Keyword arguments of ``Trainer`` taken from ``cfg`` (augment and callbacks excluded)."""
    return {name: getattr(cfg, name) for name in TRAINER_FIELDS}
