"""The search space of ``backprop tune``: defaults, the TOML file, and what a trial trains."""

from __future__ import annotations

import argparse

import pytest

from backprop.cli.tune import parse_duration
from backprop.config import TrainConfig
from backprop.presets import preset_settings  # noqa: E402
from backprop.tune.space import (  # noqa: E402
    TRIALS_PER_BUDGET,
    SearchSpace,
    baseline_params,
    data_settings,
    default_space,
    trial_settings,
)
from backprop.tune.spacefile import parse_space, read_space, trial_time_seconds  # noqa: E402

SAMPLE = ("mnist-sample", 4000, (28, 28))


def test_duration_forms():
    assert parse_duration("600") == 600
    assert parse_duration("90s") == 90
    assert parse_duration("10m") == 600
    assert parse_duration("1h30m") == 5400
    for bad in ("", "10 minutes", "m10", "-5", "0", "10x"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_duration(bad)


def test_trial_time_follows_the_study_time():
    assert trial_time_seconds("auto", 600.0) == 600.0 / TRIALS_PER_BUDGET
    assert trial_time_seconds("auto", None) is None  # no --time: trials run their epochs
    assert trial_time_seconds("none", 600.0) is None
    assert trial_time_seconds("2m", None) == 120.0
    with pytest.raises(ValueError, match="trial_time"):
        trial_time_seconds("soon", 600.0, "space.toml")


def test_distortions_are_searched_only_for_images_they_suit():
    assert "augment_strength" in default_space(*SAMPLE).params
    assert "augment_strength" not in default_space("digits", 1438, (8, 8)).params
    assert "augment_strength" not in default_space("table", 500, None).params


def test_default_space_covers_the_default_recipe_on_the_sample():
    """Trial 0 of a default study is exactly what ``backprop train --dataset mnist-sample`` runs."""
    space = default_space(*SAMPLE)
    params = baseline_params(space, "mnist-sample", (28, 28))
    assert params is not None
    settings = trial_settings(space, params, {"dataset": "mnist-sample", "data_dir": None},
                              (28, 28))
    recipe = {**TrainConfig().to_dict(), **preset_settings("best", "mnist-sample")}
    for key in ("hidden", "lr", "dropout", "epochs", "augment", "rotate", "scale_range", "shear",
                "shift", "schedule", "optimizer", "batch_size"):
        assert settings[key] == pytest.approx(recipe[key]), key


def test_derived_parameters_map_onto_settings():
    space = default_space(*SAMPLE)
    params = {"units": 300, "depth": 2, "lr": 0.1, "dropout": 0.2, "epochs": 30,
              "augment_strength": 0.5}
    s = trial_settings(space, params, {"dataset": "mnist-sample", "data_dir": None}, (28, 28))
    assert s["hidden"] == [300, 300]
    assert (s["augment"], s["rotate"], s["scale_range"], s["shear"], s["shift"]) == (
        "affine+elastic", 5.0, 0.05, 5.0, 1.0)  # best's elastic distortions stay as they are
    plain = SearchSpace(params=space.params, preset="none")
    s = trial_settings(plain, params, {"dataset": "mnist-sample", "data_dir": None}, (28, 28))
    assert (s["augment"], s["shift"]) == ("affine", 1.0)
    s = trial_settings(space, {**params, "augment_strength": 0.0},
                       {"dataset": "mnist-sample", "data_dir": None}, (28, 28))
    assert s["augment"] == "none"
    # an 8 x 8 image shifts 8/28 as far
    s = trial_settings(space, params, {"dataset": "digits", "data_dir": None}, (8, 8))
    assert s["shift"] == pytest.approx(1.0 * 8 / 28)
    TrainConfig.from_dict(s)  # every key is a setting


def test_trials_share_what_train_decides_from_the_data():
    """The preset's distortions and one-divisor scale suit images, not tables or 8x8 digits."""
    from types import SimpleNamespace

    import numpy as np

    rng = np.random.default_rng(0)
    table = np.column_stack([rng.normal(13, 0.8, 60), rng.normal(750, 300, 60)])
    y = np.arange(60) % 3
    ds = SimpleNamespace(name="wine", X_train=table, y_train=y, image_shape=None)
    space = default_space("wine", 60, None)
    values, notes = data_settings(space, ds)
    assert values == {"scale": "standard", "augment": "none", "input_dropout": 0.1}
    assert [n.split(":")[0] for n in notes] == ["inputs standardised per feature",
                                                "no distortions"]
    s = trial_settings(space, {"units": 20, "depth": 1, "lr": 0.1, "dropout": 0.1, "epochs": 9},
                       {"dataset": "", "data_dir": None, **values}, None)
    assert (s["scale"], s["augment"], s["input_dropout"]) == ("standard", "none", 0.1)
    digits = SimpleNamespace(name="digits", X_train=rng.integers(0, 17, (60, 8, 8)),
                             y_train=y, image_shape=(8, 8))
    assert data_settings(default_space("digits", 60, (8, 8)), digits)[0] == {
        "augment": "none", "input_dropout": 0.1}
    images = SimpleNamespace(name="mnist-sample", X_train=rng.integers(0, 256, (60, 28, 28)),
                             y_train=y, image_shape=(28, 28))
    assert data_settings(default_space(*SAMPLE), images) == ({}, [])
    mine = SearchSpace(params=space.params, base={"scale": "unit", "augment": "affine"})
    assert data_settings(mine, ds)[0] == {}  # the space's choices stand


def test_a_space_file_overrides_the_defaults(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(
        '[study]\nseed = 3\n[pruner]\nkind = "none"\n[base]\npreset = "none"\nbatch_size = 32\n'
        '[params]\nlr = { type = "float", low = 0.01, high = 0.1, log = true }\n'
        'activation = { type = "categorical", choices = ["relu", "tanh"] }\n',
        encoding="utf-8",
    )
    space = read_space(path, default_space(*SAMPLE))
    assert set(space.params) == {"lr", "activation"}  # [params] replaces the default set
    assert space.study["seed"] == 3 and space.study["validation"] == 0.2  # keys merge one by one
    assert space.pruner["kind"] == "none" and space.preset == "none"
    assert space.base == {"batch_size": 32}
    dist = space.distributions()
    assert dist["lr"].log and dist["activation"].choices == ("relu", "tanh")
    # the tune folder's space.toml reads back to the same space
    again = parse_space(space.to_toml_dict(), default_space(*SAMPLE), "space.toml")
    assert again.to_toml_dict() == space.to_toml_dict()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[params]\nlrr = { type = \"float\", low = 0.1, high = 1.0 }\n", "lrr"),
        ("[params]\nlr = { type = \"float\", low = 1.0, high = 0.1 }\n", "swap"),
        ("[params]\nlr = { type = \"float\", low = 0.0, high = 0.1, log = true }\n", "low > 0"),
        ("[params]\nepochs = { type = \"float\", low = 1, high = 9 }\n", "int"),
        ("[params]\nactivation = { type = \"categorical\", choices = [\"relu\", 3] }\n",
         "activation"),
        ("[study]\nvalidation = 0.0\n", "never the test set"),
        ("[study]\nseeds = 1\n", "seeds"),
        ("[pruner]\nkind = \"hyper\"\n", "median or none"),
        ("[study]\ntrial_time = \"soon\"\n", "trial_time"),
        ("[params]\ndropout = { type = \"float\", low = 0.0, high = 1.0 }\n", "dropout"),
        ("[base]\npreset = \"fastest\"\n", "fastest"),
        ("[base]\nlearning_rate = 0.1\n", "learning_rate"),
        ("[tables]\n", "tables"),
        ("lr = 0.1\n", "lr"),
        ("[params\n", "not valid"),
    ],
)
def test_bad_space_files_name_the_file_and_the_fix(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as info:
        read_space(path, default_space(*SAMPLE))
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_space_file_size_is_bounded(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_bytes(b"# " + b"x" * (300 * 1024) + b"\n")
    with pytest.raises(ValueError, match="larger than"):
        read_space(path, default_space(*SAMPLE))
    with pytest.raises(FileNotFoundError, match="--space"):
        read_space(tmp_path / "missing.toml", default_space(*SAMPLE))


def test_an_outcome_stored_before_its_worker_died_is_kept():
    """A trial whose task stored its outcome, then lost its result with its worker, is not failed.

    Dask reports such a future cancelled ("already forgotten"); the study's own
    record of the trial (written by the task, read back with Optuna's storage)
    is the truth the runner falls back on.
    """
    from types import SimpleNamespace

    import optuna

    from backprop.tune.runner import StudyRunner

    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, direction="maximize")
    done, running, failed = study.ask(), study.ask(), study.ask()
    done.set_user_attr("outcome", {"state": "complete", "value": 0.9, "epochs": 3})
    failed.set_user_attr("outcome", {"state": "fail", "reason": "ValueError: x"})
    runner = SimpleNamespace(storage=storage)
    assert StudyRunner._recorded(runner, done) == {"state": "complete", "value": 0.9, "epochs": 3}
    assert StudyRunner._recorded(runner, running) is None  # nothing stored: it failed
    assert StudyRunner._recorded(runner, failed) is None
