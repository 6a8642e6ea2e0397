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

from backprop.engine.network import Network


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
    flip: bool = False  # mirror left-right with probability ½ (clothes, not digits)
    # run
    seed: int = 0

    @classmethod
    def fields(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, values: dict, source: str = "settings") -> TrainConfig:
        """Build a config from a dict of field names (unknown names are an error)."""
        check_setting_names(values, source)
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def updated(self, **changes) -> TrainConfig:
        return TrainConfig.from_dict({**self.to_dict(), **changes})


def check_setting_names(values: dict, source: str) -> None:
    """Raise ValueError naming ``source`` if ``values`` has a key that is not a setting."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(
            f"{source}: unknown setting(s) {', '.join(unknown)}; "
            f"known settings are {', '.join(sorted(names))}"
        )


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


#: TrainConfig fields that are keyword arguments of ``backprop.engine.train.Trainer``.
TRAINER_FIELDS = (
    "optimizer", "lr", "epochs", "batch_size", "momentum", "beta1", "beta2", "eps",
    "schedule", "decay", "gamma", "step_size", "lr_min", "warmup", "l1", "l2",
    "max_norm", "patience", "label_smoothing",
)


def trainer_settings(cfg: TrainConfig) -> dict:
    """Keyword arguments of ``Trainer`` taken from ``cfg`` (augment and callbacks excluded)."""
    return {name: getattr(cfg, name) for name in TRAINER_FIELDS}


# --------------------------------------------------------------------------- TOML


def _toml_value(value) -> str:
    """One TOML value for a flat config: bool, int, float, str or a list of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) to TOML")


def to_toml(values: dict, header: str = "") -> str:
    """Write a flat dict as TOML ``key = value`` lines.

    TOML has no null, so a ``None`` value becomes a comment
    (``# output = (default)``) and reading the file back leaves that setting at
    its default, which is ``None`` for every such field of ``TrainConfig``.

    Parameters
    ----------
    values : dict
        Keys are bare TOML keys; values are bool, int, float, str, lists of
        those, or None.
    header : str
        Comment lines put first (each prefixed with ``# ``).
    """
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for key, value in values.items():
        if value is None:
            lines.append(f"# {key} = (default)")
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def read_toml(path) -> dict:
    """Read a TOML file into a dict; errors name the file and the line."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"config file {path} does not exist; check the path given to --config"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc}); fix the file or drop --config") from exc


#: Keys of a run's config.toml that are not settings (written for the record).
RECORD_KEYS = ("backprop_version", "numpy_version", "python_version", "created")


def config_from_file(path) -> dict:
    """The TrainConfig fields set in a config file (record keys are dropped).

    Unknown keys are an error naming the file; values are checked by
    ``coerce_fields``.
    """
    values = read_toml(path)
    for key in RECORD_KEYS:
        values.pop(key, None)
    nested = [k for k, v in values.items() if isinstance(v, dict)]
    if nested:
        raise ValueError(
            f"{path}: tables [{nested[0]}] are not used; write every setting as a top-level "
            "key = value line"
        )
    check_setting_names(values, str(path))
    return coerce_fields(values, source=str(path))


def _field_kind(f: dataclasses.Field) -> str:
    t = str(f.type).replace(" ", "")
    if t.startswith("list"):
        return "list"
    for kind in ("bool", "int", "float", "str"):
        if t.startswith(kind):
            return kind
    return "str"


def coerce_fields(values: dict, source: str = "settings") -> dict:
    """Check and convert setting values to their field types (int → float allowed).

    Raises ValueError naming ``source``, the setting, the value and the type
    expected.
    """
    fields = {f.name: f for f in TrainConfig.fields()}
    out = {}
    for key, value in values.items():
        f = fields.get(key)
        if f is None:
            raise ValueError(f"{source}: unknown setting {key!r}")
        kind = _field_kind(f)
        optional = "None" in str(f.type)
        if value is None:
            if not optional:
                raise ValueError(f"{source}: setting {key!r} cannot be empty")
            out[key] = None
            continue
        ok = True
        if kind == "list":
            if isinstance(value, int) and not isinstance(value, bool):
                value = [value]
            ok = isinstance(value, list) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value
            )
        elif kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok else value
        elif kind == "str":
            ok = isinstance(value, str)
        elif kind == "bool":
            ok = isinstance(value, bool)
        if not ok:
            raise ValueError(
                f"{source}: setting {key} = {value!r} should be "
                f"{'a list of integers' if kind == 'list' else 'a ' + kind}"
            )
        out[key] = value
    return out
