"""The search space file of ``backprop tune --space FILE.toml``: read, checked, merged.

:func:`read_space` reads a file of at most :data:`MAX_SPACE_BYTES`;
:func:`parse_space` merges its tables over a default
:class:`~backprop.tune.space.SearchSpace`, checking every key and value
(errors name the file, the key, the value and the fix);
:func:`trial_time_seconds` turns ``[study] trial_time`` and ``--time`` into
each trial's seconds.  The format is described in ``backprop.tune.space``
and docs/tune.md.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from backprop.config import SETTINGS, check_values
from backprop.tune.space import DERIVED, TRIALS_PER_BUDGET, Param, SearchSpace

#: Largest space file read (bytes); a space is a few dozen lines.
MAX_SPACE_BYTES = 256 * 1024


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
    from backprop.configfile import read_toml

    data = read_toml(path, what="space file", flag="--space", limit=MAX_SPACE_BYTES)
    return parse_space(data, default, str(path))
