"""Ensembles: k networks in one Model, one model file, one ONNX graph, one `backprop train`.

Truths: each member's probabilities computed here from its weight arrays
with NumPy (ReLU hidden layers, a softmax output) and averaged by hand; the
plain run (``--ensemble 1``) and runs with seeds seed+i, which the members
must equal bit for bit; onnxruntime for the graph.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from _models import model_arrays

import backprop
from backprop.cli import main
from backprop.config import TrainConfig
from backprop.data import Preprocessor, load_dataset
from backprop.ensemble import fit_ensemble, member_network
from backprop.model.model import Model, image_steps_for
from backprop.model.modelfile import load, read_metadata

BASE = ["--dataset", "digits", "--hidden", "16", "--epochs", "3", "--validation-split", "0",
        "--augment", "none", "--batch-size", "64", "--quiet", "--no-report"]


def forward(arrays: dict, prefix: str, x: np.ndarray) -> np.ndarray:
    """Softmax probabilities of a ReLU network from its arrays ``{prefix}W1, ...`` (float64)."""
    a = np.asarray(x, dtype=np.float64)
    n = sum(1 for k in arrays if k.startswith(prefix + "W") and k[len(prefix) + 1:].isdigit())
    for i in range(1, n + 1):
        z = a @ arrays[f"{prefix}W{i}"].astype(np.float64).T + arrays[f"{prefix}b{i}"]
        if i < n:
            a = np.maximum(z, 0.0)
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
    return a


def by_hand(arrays: dict, k: int, x: np.ndarray) -> np.ndarray:
    """The mean of the k members' probabilities, each from its own arrays."""
    prefixes = [""] + [f"m{i}." for i in range(1, k)]
    return sum(forward(arrays, p, x) for p in prefixes) / k


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory, digits) -> Path:
    """A run folder of `backprop train --ensemble 2` on the scikit-learn digits."""
    out = tmp_path_factory.mktemp("ens") / "run"
    assert main(["train", *BASE, "--ensemble", "2", "--out", str(out)]) in (0, 3)
    return out


def three_members(dtype="float32") -> Model:
    nets = [backprop.Network([6, 5, 4], activation="relu", seed=s, dtype=dtype)
            for s in (3, 4, 5)]
    X = np.random.default_rng(0).normal(size=(50, 6)) * 4
    return Model(nets[0], Preprocessor("standard").fit(X), members=nets)


# ------------------------------------------------------------------ the Model


def test_predict_proba_is_the_mean_of_the_members():
    model = three_members()
    X = np.random.default_rng(1).normal(size=(20, 6)) * 4
    x = model.preprocessor.transform(X)
    arrays = {name: a for i, net in enumerate(model.members)
              for name, a in zip([("" if i == 0 else f"m{i}.") + n for n in net.param_names()],
                                 net.params())}
    got = model.predict_proba(X)
    assert got.dtype == np.float64 and got.shape == (20, 4)
    np.testing.assert_allclose(got, by_hand(arrays, 3, x), atol=1e-6)
    assert np.array_equal(model.predict(X), got.argmax(axis=1))
    assert model.n_members == 3 and model.members[0] is model.network
    assert "x 3 networks" in repr(model)


def test_one_network_is_as_before():
    net = backprop.Network([6, 5, 4], activation="relu", seed=3)
    model = Model(net)
    x = np.random.default_rng(1).normal(size=(20, 6)).astype(np.float32)
    assert model.members == [net] and model.n_members == 1
    assert np.array_equal(model.predict_proba(x), net.predict_proba(x).astype(np.float64))


def test_members_must_share_member_0s_architecture():
    a = backprop.Network([6, 5, 4], seed=0)
    with pytest.raises(ValueError, match="member 1 is not a network like member 0"):
        Model(a, members=[a, backprop.Network([6, 7, 4], seed=1)])
    with pytest.raises(ValueError, match="members\\[0\\] must be"):
        Model(a, members=[backprop.Network([6, 5, 4], seed=1), a])
    with pytest.raises(ValueError, match="1 to 32 networks, not 33"):
        Model(a, members=[a] * 33)


def test_predict_image_averages_and_shows_member_0s_hidden_layers(digits):
    pre = Preprocessor("unit").fit(digits.X_train)
    nets = [backprop.Network([64, 12, 10], activation="relu", seed=s) for s in (0, 1)]
    ens = Model(nets[0], pre, digits.class_names, image_steps_for(digits), members=nets)
    singles = [Model(n, pre, digits.class_names, image_steps_for(digits)) for n in nets]
    grey = np.zeros((40, 40))
    grey[8:32, 18:23] = 1.0  # a "1"
    out = ens.predict_image(grey, layers=True)
    each = [m.predict_image(grey, layers=True) for m in singles]
    np.testing.assert_allclose(out["probabilities"],
                               (each[0]["probabilities"] + each[1]["probabilities"]) / 2,
                               atol=1e-12)
    assert np.array_equal(out["hidden"][0], each[0]["hidden"][0])


# ------------------------------------------------------------------ the model file


def test_file_holds_every_member_and_declares_the_count(tmp_path):
    model = three_members()
    path = model.save(tmp_path / "ens.npz", note="x")
    arrays = model_arrays(path)
    assert sorted(arrays) == sorted(["W1", "b1", "W2", "b2", "m1.W1", "m1.b1", "m1.W2",
                                     "m1.b2", "m2.W1", "m2.b1", "m2.W2", "m2.b2"])
    assert np.array_equal(arrays["m2.W1"], model.members[2].layers[0].W)
    meta = read_metadata(path)
    assert meta["members"] == 3 and meta["version"] == 2
    back = load(path)
    assert back.n_members == 3
    X = np.random.default_rng(2).normal(size=(9, 6))
    assert np.array_equal(back.predict_proba(X), model.predict_proba(X))


def test_one_network_keeps_the_version_1_layout(tmp_path, sample_model):
    path, _ = sample_model
    assert sorted(model_arrays(path)) == ["W1", "W2", "b1", "b2"]
    meta = read_metadata(path)
    assert meta["version"] == 1 and meta["members"] == 1


def test_a_version_1_file_without_members_loads_as_one_network(tmp_path, sample_model):
    path, _ = sample_model
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("metadata").tobytes())
    del meta["members"]
    old = tmp_path / "old.npz"
    np.savez(old, **arrays, metadata=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    assert load(old).n_members == 1


def test_safetensors_carries_every_member(tmp_path):
    from backprop.model import safetensors

    model = three_members("float64")
    path = safetensors.save(model, tmp_path / "ens.safetensors")
    back = load(path)
    assert back.n_members == 3 and back.network.dtype == np.float64
    for a, b in zip(back.members, model.members):
        assert all(np.array_equal(p, q) for p, q in zip(a.params(), b.params()))


# ------------------------------------------------------------------ ONNX


@pytest.mark.parametrize("k", [1, 3])
def test_onnx_graph_is_the_ensembles_predict_proba(k):
    import onnxruntime as ort

    from backprop.model.export import INPUT_NAME, OUTPUT_NAME, to_onnx

    full = three_members()
    model = Model(full.network, full.preprocessor, members=full.members[:k])
    proto = to_onnx(model)
    assert {p.key: p.value for p in proto.metadata_props}["members"] == str(k)
    assert sum(n.op_type == "Mean" for n in proto.graph.node) == (k > 1)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    X = (np.random.default_rng(3).normal(size=(25, 6)) * 4).astype(np.float32)
    got = session.run([OUTPUT_NAME], {INPUT_NAME: X})[0]
    np.testing.assert_allclose(got, model.predict_proba(X), atol=1e-5)


# ------------------------------------------------------------------ training


def test_fit_and_trainer_refuse_an_ensemble_setting():
    net = backprop.Network([2, 3, 2], seed=0)
    X, y = np.eye(2), np.array([0, 1])
    with pytest.raises(ValueError, match="ensemble = 2.*fit_ensemble"):
        backprop.fit(net, X, y, config=TrainConfig(ensemble=2))
    with pytest.raises(ValueError, match="ensemble = 3"):
        backprop.Trainer(net, ensemble=3)


def test_fit_ensemble_members_are_runs_with_seeds_seed_plus_i():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    cfg = TrainConfig(hidden=[4], epochs=3, batch_size=8, seed=7, ensemble=3, dropout=0.2)
    nets, histories = fit_ensemble(cfg, X, y, n_classes=2)
    assert len(nets) == len(histories) == 3
    for i, net in enumerate(nets):
        alone = backprop.config.build_network(cfg.updated(seed=7 + i, ensemble=1), 5, 2)
        backprop.Trainer(alone, cfg.updated(seed=7 + i, ensemble=1)).fit(X, y)
        assert all(np.array_equal(p, q) for p, q in zip(net.params(), alone.params())), i


def test_init_from_gives_member_i_the_models_network_i_mod_k():
    start = three_members()
    cfg = TrainConfig(hidden=[5], ensemble=4)
    for i in range(4):
        net = member_network(cfg, i, 6, 4, start)
        want = start.members[i % 3].params()
        assert all(np.array_equal(p, q) for p, q in zip(net.params(), want))


def test_cross_validate_averages_the_runs_of_each_seed():
    from backprop.selection import cross_validate

    ds = load_dataset("digits")
    X, y = ds.X_train[:300], ds.y_train[:300]
    base = {"hidden": [8], "epochs": 2, "validation_split": 0.0, "batch_size": 32}
    ens = cross_validate({**base, "ensemble": 2}, X, y, folds=3)
    one = [cross_validate({**base, "seed": s}, X, y, folds=3) for s in (0, 1)]
    np.testing.assert_allclose(ens.proba, (one[0].proba + one[1].proba) / 2, atol=1e-12)


# ------------------------------------------------------------------ the command line


def test_member_0_is_the_plain_run_and_member_1_the_run_with_seed_1(tmp_path, ensemble_run):
    ens = model_arrays(ensemble_run / "model.npz")
    for seed, prefix in ((0, ""), (1, "m1.")):
        out = tmp_path / f"seed{seed}"
        assert main(["train", *BASE, "--seed", str(seed), "--out", str(out)]) in (0, 3)
        alone = model_arrays(out / "model.npz")
        assert sorted(alone) == ["W1", "W2", "b1", "b2"]
        for name, a in alone.items():
            assert np.array_equal(ens[prefix + name], a), (seed, name)


def test_init_from_an_ensemble_trains_an_ensemble(tmp_path, ensemble_run):
    out = tmp_path / "tuned"
    argv = [*BASE, "--ensemble", "3", "--epochs", "1", "--lr", "1e-30", "--init-from",
            str(ensemble_run / "model.npz"), "--out", str(out)]
    assert main(["train", *argv]) in (0, 3)
    start, tuned = load(ensemble_run / "model.npz"), load(out / "model.npz")
    assert tuned.n_members == 3
    for i, net in enumerate(tuned.members):  # an update of lr 1e-30 leaves the start
        for p, q in zip(net.params(), start.members[i % 2].params()):
            np.testing.assert_allclose(p, q, rtol=0, atol=1e-6)


def test_train_summary_history_and_progress(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [a for a in BASE if a not in ("--quiet",)]
    assert main(["train", *argv, "--ensemble", "3", "--epochs", "2", "--out", str(out)]) in (0, 3)
    text = capsys.readouterr().out
    lines = [ln for ln in text.splitlines() if "epoch " in ln and "loss" in ln]
    assert [ln.split("  ")[0] for ln in lines] == [f"network {i}/3" for i in (1, 1, 2, 2, 3, 3)]
    assert all("left" in ln for ln in lines[:-1]) and "left" not in lines[-1]
    assert "of the ensemble of 3 networks (each: " in text
    history = json.loads((out / "history.json").read_text())
    assert [m["seed"] for m in history["members"]] == [0, 1, 2]
    assert len(history["records"]) == 2  # network 1's epochs, readable by `backprop report`
    assert not (out / "checkpoint.npz").exists() and not (out / "best.npz").exists()
    assert read_metadata(out / "model.npz")["members"] == 3


def test_evaluate_export_and_predict_use_the_average(tmp_path, ensemble_run, digits, capsys):
    import onnxruntime as ort

    arrays = model_arrays(ensemble_run / "model.npz")
    x = digits.X_test.reshape(len(digits.X_test), -1) / digits.X_train.max()
    truth = by_hand(arrays, 2, x)
    assert main(["evaluate", str(ensemble_run / "model.npz"), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["correct"] == int(np.sum(truth.argmax(axis=1) == digits.y_test))
    onnx_path = tmp_path / "ens.onnx"
    assert main(["export", str(ensemble_run / "model.npz"), "--onnx", str(onnx_path),
                 "--verify"]) == 0
    assert "an ensemble of 2 64-16-10 networks" in capsys.readouterr().out
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    raw = digits.X_test.reshape(len(digits.X_test), -1).astype(np.float32)
    np.testing.assert_allclose(session.run(None, {"input": raw})[0], truth, atol=1e-5)
    # predict: the ensemble's probabilities are the mean of its two networks' alone
    from PIL import Image

    Image.fromarray((digits.X_test[0] * 255 / 16).astype(np.uint8)).save(tmp_path / "d.png")
    model = load(ensemble_run / "model.npz")
    answers = []
    for i, net in enumerate([*model.members, None]):
        path = ensemble_run / "model.npz"
        if net is not None:
            path = Model(net, model.preprocessor, model.class_names, model.image,
                         model.metadata).save(tmp_path / f"member{i}.npz")
        assert main(["predict", str(path), str(tmp_path / "d.png"), "--json", "--top", "10"]) == 0
        top = json.loads(capsys.readouterr().out)[0]["top"]
        answers.append({t["label"]: t["probability"] for t in top})
    for label in answers[2]:
        assert answers[2][label] == pytest.approx((answers[0][label] + answers[1][label]) / 2,
                                                  abs=1e-9)


def test_report_and_serve_say_it_is_an_ensemble(ensemble_run):
    from backprop.report import make_report
    from backprop.serve.service import ModelService

    page = make_report(ensemble_run).read_text()
    assert "2 networks whose class probabilities are averaged" in page
    assert "network 1&#x27;s" in page or "network 1's" in page
    model = load(ensemble_run / "model.npz")
    service = ModelService(model)
    assert service.info()["members"] == 2
    # the page's probabilities are the mean of what each network alone answers
    grey = np.zeros((30, 30))
    grey[5:25, 12:17] = 1.0
    got = service.predict_grey(grey, activations=True)
    alone = [ModelService(Model(net, model.preprocessor, model.class_names, model.image,
                                model.metadata)).predict_grey(grey, activations=True)
             for net in model.members]
    want = (np.array(alone[0]["probabilities"]) + np.array(alone[1]["probabilities"])) / 2
    np.testing.assert_allclose(got["probabilities"], want, atol=2e-6)  # rounded to 6 places
    assert got["hidden"] == alone[0]["hidden"]


def test_resume_of_an_ensemble_run_is_refused_in_one_line(ensemble_run, capsys):
    assert main(["train", "--resume", str(ensemble_run)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "ensemble run (ensemble = 2) cannot be resumed" in err


def test_an_interrupted_ensemble_run_says_so_and_leaves_no_model(tmp_path, capsys, monkeypatch):
    from backprop.cli import train
    from backprop.engine.history import Callback

    class StopInNetwork2(Callback):
        calls = 0

        def on_train_begin(self, trainer):
            StopInNetwork2.calls += 1
            if StopInNetwork2.calls == 2:
                trainer.request_stop()

    monkeypatch.setattr(train, "EXTRA_CALLBACKS", [StopInNetwork2()])
    out = tmp_path / "run"
    assert main(["train", *BASE, "--ensemble", "2", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "interrupted during network 2/2" in err and "cannot be resumed" in err
    assert not (out / "model.npz").exists()


def test_a_time_budget_is_shared_by_the_networks(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [a for a in BASE if a != "--epochs" and a != "3"]
    assert main(["train", *argv, "--ensemble", "2", "--time", "3s", "--out", str(out)]) in (0, 3)
    history = json.loads((out / "history.json").read_text())
    assert len(history["members"]) == 2 and all(m["epochs_trained"] >= 1
                                                for m in history["members"])
    assert load(out / "model.npz").n_members == 2


def test_a_max_time_is_a_ceiling_shared_by_the_networks(tmp_path, capsys, monkeypatch):
    """Each network gets its share of the time left as a ceiling on --epochs."""
    from backprop import timebudget
    from backprop.cli import train
    from backprop.engine.history import Callback

    class Clock(Callback):  # the process's clock: every epoch takes one second
        now = 1000.0

        def on_epoch_begin(self, trainer, epoch):
            Clock.now += 1.0

    monkeypatch.setattr(timebudget.time, "monotonic", lambda: Clock.now)
    monkeypatch.setattr(train, "EXTRA_CALLBACKS", [Clock()])
    argv = [a for a in BASE if a not in ("--epochs", "3", "--quiet")]
    out = tmp_path / "run"
    assert main(["train", *argv, "--ensemble", "2", "--epochs", "100", "--max-time", "1m",
                 "--out", str(out)]) in (0, 3)
    # 60 s less the reserve (2 % + 1 s) = 57.8 s: network 1 fits 28 epochs in half of it,
    # network 2 the 29 that fit in the 29.8 s left
    members = json.loads((out / "history.json").read_text())["members"]
    assert [m["epochs_trained"] for m in members] == [28, 29]
    assert ("max time 1m: 28 + 29 of 100 epochs a network fitted; the schedules were shortened "
            "to end on time") in capsys.readouterr().out
    # a ceiling that does not bind: every network trains its --epochs, and nothing is said
    assert main(["train", *argv, "--epochs", "3", "--ensemble", "2", "--max-time", "1h",
                 "--out", str(tmp_path / "fast")]) in (0, 3)
    members = json.loads((tmp_path / "fast" / "history.json").read_text())["members"]
    assert [m["epochs_trained"] for m in members] == [3, 3]
    fast = capsys.readouterr().out
    assert "3 + 3 epochs" in fast and "max time 1h:" not in fast


def test_the_flag_reaches_print_config_and_help(capsys):
    assert main(["train", "--ensemble", "4", "--dataset", "digits", "--print-config"]) == 0
    assert "ensemble = 4" in capsys.readouterr().out
    assert main(["train", "--ensemble", "33", "--print-config"]) == 2
    assert "ensemble" in capsys.readouterr().err
    buf = io.StringIO()
    from contextlib import redirect_stdout

    with redirect_stdout(buf), pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--ensemble" in buf.getvalue()
