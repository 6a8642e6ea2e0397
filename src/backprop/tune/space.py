"""The search space of ``backprop tune``: its defaults per data set and its TOML file.

A search space has four parts, each a table of the TOML file that
``backprop tune --space FILE.toml`` reads (docs/tune.md describes it):

``[study]``
    ``seed`` (of the sampler, the validation split and every trial's
    training), ``validation`` (the fraction of the training set held out to
    score the trials), ``sampler`` ("tpe" or "random"), ``startup_trials``
    (TPE's random start), ``baseline`` (run the preset's own recipe first),
    ``trial_time`` ("auto", "none" or a duration: see :func:`trial_time_seconds`).
``[pruner]``
    ``kind`` ("median" or "none"), ``startup_trials``, ``warmup`` and
    ``interval`` (percent of a trial's epochs).
``[base]``
    ``preset`` and any ``backprop train`` setting, fixed for every trial.
``[params]``
    One inline table per searched parameter: ``type`` "float", "int" or
    "categorical", with ``low``, ``high`` and ``log`` or ``choices``.  A name
    is a ``backprop train`` setting (``lr``, ``dropout``, ``epochs``...) or
    one of :data:`DERIVED`: ``units`` and ``depth`` (``hidden`` is ``depth``
    layers of ``units``) and ``augment_strength`` (the ``best`` preset's affine
    distortions times this factor; 0 means none).

Keys of ``[study]``, ``[pruner]`` and ``[base]`` override the defaults one
by one; a ``[params]`` table replaces the default parameters as a whole.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backprop.config import SETTINGS, TrainConfig, check_values

#: Parameters that are not ``TrainConfig`` fields but map onto some.
DERIVED = ("units", "depth", "augment_strength")

#: The affine distortions ``augment_strength = 1`` stands for (the ``best`` preset's), 28 px images.
AFFINE_AT_1 = {"rotate": 10.0, "scale_range": 0.1, "shear": 10.0, "shift": 2.0}

#: Largest space file read (bytes); a space is a few dozen lines.
MAX_SPACE_BYTES = 256 * 1024

STUDY_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "validation": 0.2,
    "sampler": "tpe",
    "startup_trials": 6,
    "baseline": True,
    "trial_time": "auto",
}

#: With ``trial_time = "auto"`` and ``--time T``, each trial gets T / TRIALS_PER_BUDGET.
TRIALS_PER_BUDGET = 6
PRUNER_DEFAULTS: dict[str, Any] = {
    "kind": "median",
    "startup_trials": 3,
    "warmup": 20,
    "interval": 10,
}


@dataclass(frozen=True)
class Param:
    """One searched parameter and its range.

    Attributes
    ----------
    name : str
    kind : {"float", "int", "categorical"}
    low, high : float or int, optional
        Inclusive bounds of "float" and "int".
    log : bool
        Sample on a log scale (bounds must be > 0).
    choices : tuple, optional
        The values of "categorical".
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple | None = None

    def distribution(self):
        """The Optuna distribution of this parameter."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.kind == "float":
            return FloatDistribution(float(self.low), float(self.high), log=self.log)
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return CategoricalDistribution(list(self.choices))

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in this parameter's range."""
        if self.kind == "categorical":
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return self.low <= value <= self.high


@dataclass
class SearchSpace:
    """Everything a study searches over and how (see the module docstring)."""

    params: dict[str, Param]
    base: dict[str, Any] = field(default_factory=dict)
    preset: str = "best"
    study: dict[str, Any] = field(default_factory=lambda: dict(STUDY_DEFAULTS))
    pruner: dict[str, Any] = field(default_factory=lambda: dict(PRUNER_DEFAULTS))

    def distributions(self) -> dict:
        """``{name: optuna distribution}`` for ``Study.ask``."""
        return {name: p.distribution() for name, p in self.params.items()}

    def to_toml_dict(self) -> dict:
        """The space as the tables of a space file (for the tune folder's space.toml)."""
        params = {}
        for name, p in self.params.items():
            entry: dict[str, Any] = {"type": p.kind}
            if p.kind == "categorical":
                entry["choices"] = list(p.choices)
            else:
                entry.update(low=p.low, high=p.high, log=p.log)
            params[name] = entry
        return {
            "study": dict(self.study),
            "pruner": dict(self.pruner),
            "base": {"preset": self.preset, **self.base},
            "params": params,
        }


def default_space(dataset: str, n_train: int, image_shape: tuple | None) -> SearchSpace:
    """The default search space for a data set of ``n_train`` training samples.

    Hidden width (64-2048, log) and depth (1-2), learning rate (0.005-0.5,
    log), dropout (0-0.6), the strength of the affine distortions (0-2,
    for images they suit: ``backprop.adapt.suits_distortions``, sides of 16
    to 64 pixels) and the number of epochs, whose range grows as the
    training set shrinks so that a trial is about the same amount of work:
    20-500 for the 4,000-image sample (500 is the ``best`` preset's choice
    there), 5-120 for 60,000 images.
    """
    if n_train <= 10_000:
        epochs = (20, 500)
    else:
        epochs = (5, 120)
    params = {
        "units": Param("units", "int", 64, 2048, log=True),
        "depth": Param("depth", "int", 1, 2),
        "lr": Param("lr", "float", 0.005, 0.5, log=True),
        "dropout": Param("dropout", "float", 0.0, 0.6),
        "epochs": Param("epochs", "int", epochs[0], epochs[1], log=True),
    }
    from backprop.adapt import suits_distortions

    if suits_distortions(image_shape):
        params["augment_strength"] = Param("augment_strength", "float", 0.0, 2.0)
    return SearchSpace(params=params)


def _parse_param(name: str, spec: Any, source: str) -> Param:
    if not isinstance(spec, dict):
        raise ValueError(
            f"{source}: [params] {name} = {spec!r} should be an inline table such as "
            f'{{ type = "float", low = 0.01, high = 0.3, log = true }}'
        )
    if name not in DERIVED and name not in SETTINGS:
        raise ValueError(
            f"{source}: [params] {name} is neither a backprop train setting nor one of "
            f"{', '.join(DERIVED)}; check the spelling (settings are listed by "
            "backprop train --help)"
        )
    unknown = sorted(set(spec) - {"type", "low", "high", "log", "choices"})
    if unknown:
        raise ValueError(
            f"{source}: [params] {name} has unknown key(s) {', '.join(unknown)}; "
            "use type, low, high, log or choices"
        )
    kind = spec.get("type")
    if kind not in ("float", "int", "categorical"):
        raise ValueError(
            f"{source}: [params] {name} type = {kind!r}; use \"float\", \"int\" or "
            "\"categorical\""
        )
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices or len(choices) > 1000:
            raise ValueError(
                f"{source}: [params] {name} needs choices = [...] with 1 to 1000 values"
            )
        if name in SETTINGS:  # check every choice is a valid value of the setting
            for choice in choices:
                check_values({name: choice}, f"{source}: [params] {name}")
        return Param(name, kind, choices=tuple(choices))
    return _parse_range(name, kind, spec, source)


def _parse_range(name: str, kind: str, spec: dict, source: str) -> Param:
    low, high, log = spec.get("low"), spec.get("high"), spec.get("log", False)
    number = (int,) if kind == "int" else (int, float)
    for key, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, number) or not math.isfinite(value):
            raise ValueError(
                f"{source}: [params] {name} {key} = {value!r} should be a finite {kind}"
            )
    if not isinstance(log, bool):
        raise ValueError(f"{source}: [params] {name} log = {log!r} should be true or false")
    if low > high:
        raise ValueError(f"{source}: [params] {name} low = {low} is above high = {high}; swap them")
    if log and low <= 0:
        raise ValueError(f"{source}: [params] {name} log = true needs low > 0, got {low}")
    if name in SETTINGS:
        expected = SETTINGS[name].kind
        if expected == "int" and kind != "int" or expected in ("str", "bool", "list"):
            wanted = "int" if expected == "int" else "categorical"
            raise ValueError(
                f'{source}: [params] {name} is a {expected} setting; give it type = "{wanted}"'
            )
        for bound in (low, high):  # both ends must be values the setting allows
            SETTINGS[name].check(bound, f"{source}: [params] {name}")
    if name in ("units", "depth", "epochs") and (kind != "int" or low < 1):
        raise ValueError(f"{source}: [params] {name} must be type = \"int\" with low >= 1")
    return Param(name, kind, low, high, log=log)


def _merge_table(defaults: dict, given: Any, table: str, source: str) -> dict:
    if given is None:
        return dict(defaults)
    if not isinstance(given, dict):
        raise ValueError(f"{source}: [{table}] should be a table of key = value lines")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(
            f"{source}: [{table}] has unknown key(s) {', '.join(unknown)}; "
            f"known keys are {', '.join(defaults)}"
        )
    merged = {**defaults, **given}
    for key, value in merged.items():
        want = type(defaults[key])
        ok = isinstance(value, want) or (want is float and isinstance(value, int))
        if not ok or (want is not bool and isinstance(value, bool)):
            raise ValueError(
                f"{source}: [{table}] {key} = {value!r} should be a {want.__name__}"
            )
    return merged


def _check_study(study: dict, pruner: dict, source: str) -> None:
    if not 0.0 < study["validation"] < 1.0:
        raise ValueError(
            f"{source}: [study] validation = {study['validation']} must be between 0 and 1 "
            "(the trials are scored on held-out training data, never the test set); try 0.2"
        )
    if study["sampler"] not in ("tpe", "random"):
        raise ValueError(f"{source}: [study] sampler = {study['sampler']!r}; use tpe or random")
    if pruner["kind"] not in ("median", "none"):
        raise ValueError(f"{source}: [pruner] kind = {pruner['kind']!r}; use median or none")
    if not 1 <= pruner["interval"] <= 100:
        raise ValueError(f"{source}: [pruner] interval = {pruner['interval']} must be 1..100")
    trial_time_seconds(study["trial_time"], None, source)  # checks the value
    for table, key in (("study", "startup_trials"), ("pruner", "startup_trials"),
                       ("pruner", "warmup")):
        value = (study if table == "study" else pruner)[key]
        if value < 0:
            raise ValueError(f"{source}: [{table}] {key} = {value} must be >= 0")


def trial_time_seconds(value: str, study_seconds: float | None,
                       source: str = "space") -> float | None:
    """Seconds each trial may train, from ``[study] trial_time`` and ``--time``.

    ``"auto"``: a sixth of ``--time`` (:data:`TRIALS_PER_BUDGET`), or no limit
    without ``--time``; ``"none"``: no limit (trials run their ``epochs``); a
    duration (``"90s"``, ``"2m"``): that.  With a limit, every trial fits its
    epochs and its schedule's length to the time (``backprop.timebudget``).
    """
    from backprop.timebudget import parse_duration

    text = str(value).strip().lower()
    if text == "none":
        return None
    if text == "auto":
        return None if study_seconds is None else study_seconds / TRIALS_PER_BUDGET
    try:
        return parse_duration(text)
    except ValueError:
        raise ValueError(
            f'{source}: [study] trial_time = {value!r}; use "auto", "none" or a duration '
            'such as "90s" or "2m"'
        ) from None


def parse_space(data: dict, default: SearchSpace, source: str) -> SearchSpace:
    """Merge the tables of a space file over ``default``; errors name ``source``."""
    unknown = sorted(set(data) - {"study", "pruner", "base", "params"})
    if unknown:
        raise ValueError(
            f"{source}: unknown table(s) {', '.join(unknown)}; a space file has "
            "[study], [pruner], [base] and [params]"
        )
    study = _merge_table(default.study, data.get("study"), "study", source)
    pruner = _merge_table(default.pruner, data.get("pruner"), "pruner", source)
    _check_study(study, pruner, source)
    base = dict(data.get("base") or {})
    if not isinstance(data.get("base", {}), dict):
        raise ValueError(f"{source}: [base] should be a table of backprop train settings")
    preset = base.pop("preset", default.preset)
    from backprop.presets import PRESETS

    if preset != "none" and preset not in PRESETS:
        raise ValueError(
            f"{source}: [base] preset = {preset!r}; choose one of {', '.join(sorted(PRESETS))} "
            "or none"
        )
    base = {**default.base, **check_values(base, f"{source}: [base]")}
    params = default.params
    if "params" in data:
        if not isinstance(data["params"], dict) or not data["params"]:
            raise ValueError(f"{source}: [params] must list at least one parameter")
        params = {n: _parse_param(n, s, source) for n, s in data["params"].items()}
    return SearchSpace(params=params, base=base, preset=preset, study=study, pruner=pruner)


def read_space(path: str | Path, default: SearchSpace) -> SearchSpace:
    """Read a space file (at most :data:`MAX_SPACE_BYTES`) and merge it over ``default``."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_SPACE_BYTES + 1)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"space file {path} does not exist; check the path given to --space"
        ) from None
    if len(raw) > MAX_SPACE_BYTES:
        raise ValueError(
            f"{path} is larger than {MAX_SPACE_BYTES // 1024} KiB; a space file is a few "
            "dozen lines, check that --space names the right file"
        )
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: not valid UTF-8 TOML ({exc}); fix the file") from None
    return parse_space(data, default, str(path))


def trial_settings(space: SearchSpace, params: dict, dataset_values: dict,
                   image_shape: tuple | None) -> dict:
    """The ``TrainConfig`` fields of one trial: preset < base < data set < sampled params.

    Parameters
    ----------
    space : SearchSpace
    params : dict
        The sampled values, by parameter name.
    dataset_values : dict
        ``dataset`` and ``data_dir`` of the data being tuned.
    image_shape : tuple or None
        (H, W) of one sample; ``augment_strength`` scales the shift by H / 28.
    """
    from backprop.presets import preset_settings

    values: dict[str, Any] = {}
    if space.preset != "none":
        values.update(preset_settings(space.preset, dataset_values.get("dataset") or None))
    values.update(space.base)
    values.update(dataset_values)
    rest = {k: v for k, v in params.items() if k not in DERIVED}
    values.update(check_values(rest, "trial parameters"))
    if "units" in params or "depth" in params:
        current = values.get("hidden", TrainConfig().hidden) or [TrainConfig().hidden[0]]
        units = int(params.get("units", current[0]))
        depth = int(params.get("depth", len(current)))
        values["hidden"] = [units] * depth
    if "augment_strength" in params:
        s = float(params["augment_strength"])
        side = image_shape[0] if image_shape else 28
        if s <= 0:
            values.update(augment="none")
        else:
            values.update(augment="affine", **{k: v * s for k, v in AFFINE_AT_1.items()})
            values["shift"] = AFFINE_AT_1["shift"] * s * side / 28
    values["seed"] = space.study["seed"]
    return values


def baseline_params(space: SearchSpace, dataset: str | None,
                    image_shape: tuple | None) -> dict | None:
    """The preset's own recipe as parameter values, or None where it lies outside the space.

    This is the first trial of a study with ``[study] baseline = true``, so the
    table shows the recipe ``backprop train`` would use, scored like the rest.
    """
    from backprop.presets import preset_settings

    if space.preset == "none":
        recipe = dataclasses.asdict(TrainConfig())
    else:
        recipe = {**dataclasses.asdict(TrainConfig()), **preset_settings(space.preset, dataset)}
    recipe.update(space.base)
    out: dict[str, Any] = {}
    for name, p in space.params.items():
        if name == "units":
            value: Any = recipe["hidden"][0] if recipe["hidden"] else None
        elif name == "depth":
            value = len(recipe["hidden"])
        elif name == "augment_strength":
            value = _strength_of(recipe, image_shape[0] if image_shape else 28)
        else:
            value = recipe[name]
        if value is None or not p.contains(value):
            return None
        out[name] = value
    return out


def _strength_of(recipe: dict, side: int) -> float | None:
    """The ``augment_strength`` of a recipe: 0 undistorted, k for k × AFFINE_AT_1, else None."""
    if recipe["augment"] == "none":
        return 0.0
    if recipe["augment"] != "affine":
        return None
    at_1 = {**AFFINE_AT_1, "shift": AFFINE_AT_1["shift"] * side / 28}
    ratios = {round(recipe[k] / v, 9) for k, v in at_1.items()}
    return ratios.pop() if len(ratios) == 1 else None
