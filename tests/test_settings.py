"""One source of settings: the declaration drives the flags, --help, TOML, presets and Trainer."""

from __future__ import annotations

import re

import numpy as np
import pytest

from backprop.cli import build_parser, main
from backprop.config import GROUPS, MAX_WEIGHTS, SETTINGS, SettingsError, TrainConfig, build_network
from backprop.configfile import read_toml
from backprop.engine.train import TRAINER_SETTINGS, Trainer


def test_every_setting_is_declared_once_with_help_group_and_a_valid_default():
    for s in SETTINGS.values():
        assert s.help and s.group in GROUPS, s.name
        assert s.check(s.default) == s.default  # the default obeys its own range
    assert TrainConfig().to_dict() == {name: s.default for name, s in SETTINGS.items()}


def test_declared_choices_are_the_engines_registries():
    from backprop.data.augment import AUGMENT_KINDS
    from backprop.data.preprocess import SCALES
    from backprop.engine.activations import ACTIVATIONS
    from backprop.engine.init import INITIALIZERS
    from backprop.engine.losses import LOSSES
    from backprop.engine.optim import OPTIMIZERS, Schedule

    assert set(SETTINGS["activation"].choices) == set(ACTIVATIONS) - {"softmax"}
    assert set(SETTINGS["output"].choices) == set(ACTIVATIONS)
    assert set(SETTINGS["loss"].choices) == set(LOSSES)
    assert set(SETTINGS["init"].choices) == set(INITIALIZERS)
    assert set(SETTINGS["optimizer"].choices) == set(OPTIMIZERS)
    assert set(SETTINGS["schedule"].choices) == set(Schedule.KINDS)
    assert set(SETTINGS["scale"].choices) == set(SCALES)
    assert set(SETTINGS["augment"].choices) == set(AUGMENT_KINDS)


@pytest.mark.parametrize("name, value, message", [
    ("lr", 0.0, "lr = 0.0 must be in (0, 1000]"),
    ("lr", float("nan"), "must be in (0, 1000]"),
    ("dropout", 1.0, "must be in [0, 1)"),
    ("epochs", 2.5, "should be an integer"),
    ("hidden", [10**10], "each size must be in [1, 65536]"),
    ("hidden", [8] * 65, "at most 64 are allowed"),
    ("activation", "swish", "must be one of sigmoid, tanh"),
    ("shuffle", "yes", "should be true or false"),
    ("image_size", "28x", "must be HxW, e.g. 28x28, or one side, e.g. 32 for 32x32"),
    ("image_size", "5000x10", "each side must be 1 to 4096 pixels"),
    ("image_size", 28, "should be text"),
])
def test_values_outside_the_declared_range_are_refused(name, value, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        TrainConfig(**{name: value})
    with pytest.raises(SettingsError, match=re.escape(f"my.toml: {name} = ")):
        TrainConfig.from_dict({name: value}, "my.toml")


def test_a_network_too_large_is_refused_before_allocating():
    cfg = TrainConfig(hidden=[65536, 65536])
    with pytest.raises(SettingsError, match="above the limit"):
        build_network(cfg, 784, 10)
    assert 784 * 65536 < MAX_WEIGHTS  # one wide layer alone is allowed


def test_unknown_setting_names_get_a_suggestion():
    with pytest.raises(SettingsError, match="unknown setting.*learning_rate.*did you mean lr"):
        TrainConfig.from_dict({"learning_rate": 0.1}, "f.toml")


def test_trainer_takes_the_config_or_keywords_alike():
    X = np.random.default_rng(0).random((40, 5)).astype(np.float32)
    y = np.arange(40) % 2
    cfg = TrainConfig(hidden=[4], optimizer="adam", lr=0.01, epochs=3, batch_size=8, seed=2)
    a = build_network(cfg, 5, 2)
    Trainer(a, cfg).fit(X, y)
    b = build_network(cfg, 5, 2)
    Trainer(b, optimizer="adam", lr=0.01, epochs=3, batch_size=8).fit(X, y)
    assert all(np.array_equal(p, q) for p, q in zip(a.params(), b.params()))
    assert set(TRAINER_SETTINGS) >= {"lr", "epochs", "batch_size", "l2", "patience", "shuffle"}
    with pytest.raises(TypeError, match="unknown setting.*hidden"):
        Trainer(a, hidden=[3])
    with pytest.raises(SettingsError, match="epochs = 0"):
        Trainer(a, epochs=0)


def _help_defaults() -> dict[str, str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    train = sub.choices["train"]
    out = {}
    for action in train._actions:
        if action.dest in SETTINGS:
            m = re.search(r"\(default: ([^;)]*)", action.help)
            out[action.dest] = m.group(1)
    return out


def test_help_shows_what_the_default_recipe_really_uses(tmp_path, capsys):
    """--help's defaults against --print-config of a run with no flags (data set mnist)."""
    assert main(["train", "--print-config"]) == 0
    printed = capsys.readouterr().out
    (tmp_path / "c.toml").write_text(printed)
    effective = {**{k: None for k in SETTINGS}, **read_toml(tmp_path / "c.toml")}
    shown = _help_defaults()
    for name, value in effective.items():
        if value is None:
            continue
        text = ",".join(map(str, value)) if isinstance(value, list) else (
            str(value).lower() if isinstance(value, bool) else str(value))
        assert shown[name] == text, (name, shown[name], value)
    # the recipe differs from the plain defaults, and --help says so
    assert effective["updates"] != SETTINGS["updates"].default
    assert shown["updates"] == str(effective["updates"])


def test_print_config_is_the_merge_and_a_valid_config_file(tmp_path, capsys):
    conf = tmp_path / "mine.toml"
    conf.write_text("lr = 0.3\nepochs = 7\nhidden = [20, 10]\n")
    argv = ["train", "--preset", "seed", "--config", str(conf), "--epochs", "2",
            "--dataset", "mnist-sample", "--print-config"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    printed = tmp_path / "printed.toml"
    printed.write_text(first)
    values = read_toml(printed)
    assert values["activation"] == "sigmoid"  # from the preset
    assert values["lr"] == 0.3 and values["hidden"] == [20, 10]  # the file beats the preset
    assert values["epochs"] == 2  # the flag beats the file
    # fed back as --config (with the default preset underneath) it gives the same settings
    assert main(["train", "--config", str(printed), "--print-config"]) == 0
    assert capsys.readouterr().out.splitlines()[2:] == first.splitlines()[2:]
    assert not list(tmp_path.glob("runs"))  # nothing trained, nothing written


def test_numpy_scalars_are_accepted_as_python_values():
    """GridSearchCV and np.arange hand over NumPy scalars; they are numbers all the same."""
    cfg = TrainConfig(epochs=np.int64(5), lr=np.float32(0.5), shuffle=np.bool_(False),
                      hidden=(np.int64(3), 4))
    assert (cfg.epochs, cfg.lr, cfg.shuffle, cfg.hidden) == (5, 0.5, False, [3, 4])
    assert type(cfg.epochs) is int and type(cfg.lr) is float and type(cfg.shuffle) is bool
    with pytest.raises(SettingsError, match="should be an integer"):
        TrainConfig(epochs=True)
