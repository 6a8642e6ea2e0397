"""The search space of ``backprop tune``: its defaults per data set and its TOML file.

A search space has four parts, each a table of the TOML file that
``backprop tune --space FILE.toml`` reads (docs/tune.md describes it):

``[study]``
    ``seed`` (of the sampler, the validation split and every trial's
    training), ``validation`` (the fraction of the training set held out to
    score the trials), ``sampler`` ("tpe" or "random"), ``startup_trials``
    (TPE's random start), ``baseline`` (run the preset's own recipe first),
    ``trial_time`` ("auto", "none" or a duration; ``spacefile.trial_time_seconds``).
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
    distortions times this factor, with the recipe's elastic distortions, if
    any, as they are; 0 means none).

Keys of ``[study]``, ``[pruner]`` and ``[base]`` override the defaults one
by one; a ``[params]`` table replaces the default parameters as a whole
(:mod:`backprop.tune.spacefile` reads and checks the file).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from backprop.config import TrainConfig, check_values

#: Parameters that are not ``TrainConfig`` fields but map onto some.
DERIVED = ("units", "depth", "augment_strength")

#: The affine distortions ``augment_strength = 1`` stands for (the ``best`` preset's), 28 px images.
AFFINE_AT_1 = {"rotate": 10.0, "scale_range": 0.1, "shear": 10.0, "shift": 2.0}

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


def data_settings(space: SearchSpace, ds) -> tuple[dict, list[str]]:
    """What ``backprop train`` would decide from ``ds``'s samples for the space's recipe.

    The preset's distortions and one-divisor scale suit images; on tables or
    8×8 digits ``backprop.adapt.input_decisions`` turns them off and
    standardises features of unlike ranges.  Trials get the same decisions
    (as data-set values, below the sampled parameters), except for settings
    the space's ``[base]`` or parameters set.

    Parameters
    ----------
    space : SearchSpace
    ds : backprop.data.Dataset
        Reads ``name``, ``X_train`` and ``image_shape``.

    Returns
    -------
    values : dict
        The settings that differ from the recipe's.
    notes : list of str
        The sentences ``backprop train`` prints about them.
    """
    from backprop.adapt import input_decisions
    from backprop.presets import preset_settings

    recipe = {} if space.preset == "none" else preset_settings(space.preset, ds.name)
    recipe.update(space.base)
    cfg = TrainConfig.from_dict(recipe, "the search space's recipe")
    given = set(space.base) | set(space.params)
    if "augment_strength" in space.params:
        given |= {"augment", "flip"}
    changes, notes = input_decisions(cfg, ds, given)
    return {k: v for k, v in changes.items() if getattr(cfg, k) != v}, notes


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
            kind = "affine+elastic" if "elastic" in str(values.get("augment")) else "affine"
            values.update(augment=kind, **{k: v * s for k, v in AFFINE_AT_1.items()})
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
    """The ``augment_strength`` of a recipe: 0 undistorted, k for k × AFFINE_AT_1, else None.

    Elastic distortions beside the affine ones do not change the strength.
    """
    if recipe["augment"] == "none":
        return 0.0
    if recipe["augment"] not in ("affine", "affine+elastic"):
        return None
    at_1 = {**AFFINE_AT_1, "shift": AFFINE_AT_1["shift"] * side / 28}
    ratios = {round(recipe[k] / v, 9) for k, v in at_1.items()}
    return ratios.pop() if len(ratios) == 1 else None
