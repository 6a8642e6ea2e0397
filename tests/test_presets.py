"""Presets: every one builds a valid TrainConfig and trains on a tiny generated set."""

from __future__ import annotations

import numpy as np
import pytest

from backprop.config import SETTINGS, TrainConfig, build_network
from backprop.data.augment import make_augment
from backprop.engine.optim import Schedule
from backprop.engine.train import Trainer
from backprop.presets import DATASET_OVERRIDES, PRESETS, preset_settings

NAMES = ["seed", "raschka2015", "raschka2019", "nielsen", "simard2003", "best"]


def test_the_registry_holds_the_documented_presets():
    assert set(NAMES) <= set(PRESETS)
    for name, per_data in DATASET_OVERRIDES.items():
        assert name in PRESETS
        for values in per_data.values():
            assert set(values) <= set(SETTINGS)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dataset", [None, "mnist-sample", "fashion-mnist"])
def test_preset_builds_a_valid_config(name, dataset):
    settings = preset_settings(name, dataset)
    cfg = TrainConfig.from_dict(settings, source=name)  # types and declared ranges checked
    assert cfg.schedule in Schedule.KINDS
    assert 0.0 <= cfg.validation_split < 1.0
    net = build_network(cfg, 784, 10)
    assert net.sizes == [784, *cfg.hidden, 10]
    Trainer(net, cfg, augment=make_augment(cfg, (28, 28)))


def test_preset_settings_are_copies():
    a = preset_settings("best")
    a["hidden"].append(5)
    assert preset_settings("best")["hidden"] == PRESETS["best"]["hidden"]


def test_unknown_preset_is_an_error():
    with pytest.raises(ValueError, match="unknown preset"):
        preset_settings("lenet")


def test_batch_sum_conversions():
    # Raschka's summed-gradient η and λ: lr = η·B, l2 = λ/B.
    r15 = PRESETS["raschka2015"]
    assert r15["lr"] == pytest.approx(0.001 * r15["batch_size"])
    assert r15["l2"] == pytest.approx(0.1 / r15["batch_size"])
    r19 = PRESETS["raschka2019"]
    assert (r19["lr"], r19["l2"]) == (pytest.approx(0.05), pytest.approx(1e-4))
    assert PRESETS["nielsen"]["l2"] == pytest.approx(5 / 50000)


@pytest.mark.parametrize("name", NAMES)
def test_preset_trains_one_epoch_on_a_tiny_set(name):
    rng = np.random.default_rng(0)
    # Two classes of 28×28 images: bright left half vs bright right half.
    n = 60
    y = rng.integers(0, 10, n) % 2
    imgs = rng.random((n, 28, 28)).astype(np.float32) * 0.2
    imgs[y == 0, :, :14] += 0.8
    imgs[y == 1, :, 14:] += 0.8
    X = imgs.reshape(n, -1)
    if preset_settings(name).get("scale") == "none":
        X = X * 255
    cfg = TrainConfig.from_dict({**preset_settings(name), "epochs": 1, "batch_size": 20})
    net = build_network(cfg, 784, 10)
    trainer = Trainer(net, cfg, augment=make_augment(cfg, (28, 28)))
    hist = trainer.fit(X, y)
    assert len(hist) == 1
    assert np.isfinite(hist.records[0]["loss"])
    assert net.predict(X).shape == (n,)


def test_a_preset_can_set_a_max_time(monkeypatch, capsys, tmp_path):
    """A ceiling in a preset reaches the settings, --print-config and back through --config."""
    from backprop.cli import main

    monkeypatch.setitem(PRESETS, "capped", {**PRESETS["best"], "max_time": "9m30s"})
    assert main(["train", "--preset", "capped", "--dataset", "xor", "--print-config"]) == 0
    toml = capsys.readouterr().out
    assert 'max_time = "9m30s"' in toml
    (tmp_path / "c.toml").write_text(toml)
    assert main(["train", "--config", str(tmp_path / "c.toml"), "--preset", "none",
                 "--max-time", "1h", "--print-config"]) == 0
    assert 'max_time = "1h"' in capsys.readouterr().out  # a flag overrides the file
    assert TrainConfig.from_dict(preset_settings("capped"), "capped").max_time == "9m30s"
