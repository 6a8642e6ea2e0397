"""Batch normalisation: (B1)-(B4) against finite differences and a batch worked by hand,
the fused step against the reference, the running averages, folding, files and resume."""

from __future__ import annotations

import numpy as np
import pytest
from test_fused import OPTIMIZERS, TOL, _assert_same, _batch, _train_both, _twins

from backprop.cli import main
from backprop.engine import batchnorm
from backprop.engine.gradcheck import gradient_check
from backprop.engine.history import Callback
from backprop.engine.layers import Dense
from backprop.engine.network import Network
from backprop.engine.train import Trainer
from backprop.errors import ModelFileError
from backprop.model.checkpoint import load_checkpoint, save_checkpoint
from backprop.model.modelfile import load, save


def _bn_net(sizes, activation, seed=1, **kw) -> Network:
    """A float64 network with batch norm whose γ and running averages are not 1 and 0."""
    net = Network(sizes, activation=activation, batch_norm=True, dtype="float64", seed=seed, **kw)
    rng = np.random.default_rng(seed + 100)
    for layer in net.layers[:-1]:
        layer.gamma[:] = rng.uniform(0.5, 1.5, layer.n_out)
        layer.b[:] = rng.normal(0.0, 0.5, layer.n_out)
        layer.running_mean[:] = rng.normal(0.0, 1.0, layer.n_out)
        layer.running_var[:] = rng.uniform(0.5, 2.0, layer.n_out)
    return net


@pytest.mark.parametrize("activation", [["sigmoid"], ["relu", "tanh"], ["leaky_relu"] * 3])
@pytest.mark.parametrize("output,loss", [("softmax", "categorical_crossentropy"),
                                         ("sigmoid", "mse")])
def test_every_gradient_matches_central_differences(activation, output, loss):
    sizes = [5, *[6] * len(activation), 3]
    net = _bn_net(sizes, activation, output=output, loss=loss)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(9, 5)), rng.integers(0, 3, 9)
    errors = gradient_check(net, X, y, l1=1e-3, l2=1e-2)
    names = [f"{p}{i}" for i in range(1, len(sizes)) for p in ("W", "b")]
    assert set(errors) == {*names, *(f"gamma{i}" for i in range(1, len(sizes) - 1))}
    assert max(errors.values()) < 1e-7, errors


def test_a_batch_worked_by_hand():
    # one unit, W = [[2]], b = 0.5, γ = 3 and three samples x = 1, 2, 3: v = 2, 4, 6,
    # μ = 4, σ² = 8/3, ẑ = (v - 4)/√(8/3 + ε), z = 3ẑ + 0.5, identity activation
    layer = Dense(np.array([[2.0]]), np.array([0.5]), "identity", batch_norm=True,
                  gamma=np.array([3.0]))
    z, a, z_hat, mean, var, inv_std = layer.forward_batch(np.array([[1.0], [2.0], [3.0]]))
    s = np.sqrt(8 / 3 + batchnorm.EPS)
    np.testing.assert_allclose(mean, [4.0])
    np.testing.assert_allclose(var, [8 / 3])
    np.testing.assert_allclose(z_hat[:, 0], [-2 / s, 0.0, 2 / s])
    np.testing.assert_allclose(z[:, 0], [0.5 - 6 / s, 0.5, 0.5 + 6 / s])
    np.testing.assert_allclose(a, z)
    # (B4) for δ = (1, 0, 0): mean δ = 1/3, mean δẑ = -2/(3s), so
    # δᵥ = (3/s)·(δ - 1/3 - ẑ·(-2/(3s)))
    delta = np.array([[1.0], [0.0], [0.0]])
    expected = 3 / s * (delta[:, 0] - 1 / 3 + z_hat[:, 0] * 2 / (3 * s))
    got = batchnorm.backward(delta, z_hat, inv_std, layer.gamma)
    np.testing.assert_allclose(got[:, 0], expected)
    assert abs(got.sum()) < 1e-12  # δᵥ sums to 0: a shift of every v changes nothing


@pytest.mark.parametrize("opt_name", OPTIMIZERS)
@pytest.mark.parametrize("depth", [2, 3])
def test_fused_step_equals_backward_then_step(opt_name, depth):
    sizes = [5] + [7] * (depth - 1) + [3]
    ref, fast = _twins(sizes, activation="relu", dropout=0.25, batch_norm=True)
    X, Y = _batch(sizes, 8, "softmax")
    opts = _train_both(ref, fast, opt_name, X, Y, l1=1e-3, l2=1e-2)
    _assert_same(ref, fast, *opts, TOL["float64"])
    for p, q in zip(ref.get_params(), fast.get_params(), strict=True):  # running averages too
        np.testing.assert_allclose(q, p, **TOL["float64"])


def test_running_averages_follow_the_training_batches():
    net = Network([4, 3, 2], activation="relu", batch_norm=True, dtype="float64", seed=0)
    X = np.random.default_rng(1).normal(2.0, 3.0, (10, 4))
    v = X @ net.layers[0].W.T  # the product before normalisation: its batch statistics
    for k in range(1, 6):
        net.forward(X, train=True)
        decay = (1 - batchnorm.MOMENTUM) ** k
        layer = net.layers[0]
        np.testing.assert_allclose(layer.running_mean, (1 - decay) * v.mean(0))
        np.testing.assert_allclose(layer.running_var, decay + (1 - decay) * v.var(0, ddof=1))
    net.forward(X)  # not training: the averages stay
    np.testing.assert_allclose(net.layers[0].running_mean, (1 - decay) * v.mean(0))


def test_prediction_uses_the_running_averages_and_folds_into_a_plain_network():
    net = _bn_net([6, 5, 4, 3], ["relu", "sigmoid"])
    X = np.random.default_rng(2).normal(size=(7, 6))
    a = X  # by hand: γ(W a - μ)/√(σ² + ε) + b, then f, layer by layer
    for layer in net.layers[:-1]:
        z = layer.gamma * (a @ layer.W.T - layer.running_mean) / np.sqrt(
            layer.running_var + batchnorm.EPS) + layer.b
        a = layer.activation.forward(z)
    out = net.layers[-1]
    expected = out.activation.forward(a @ out.W.T + out.b)
    np.testing.assert_allclose(net.predict_proba(X), expected, rtol=1e-12)
    plain = net.folded()
    assert not plain.batch_norm and plain.config()["batch_norm"] is False
    assert len(plain.params()) == 6 and plain.param_names() == ["W1", "b1", "W2", "b2", "W3", "b3"]
    np.testing.assert_allclose(plain.predict_proba(X), expected, rtol=1e-12)


def test_model_file_and_onnx_hold_the_folded_network(tmp_path):
    import onnxruntime as ort

    from backprop.model.export import INPUT_NAME, export_onnx

    net = _bn_net([6, 5, 3], ["relu"])
    X = np.random.default_rng(3).normal(size=(8, 6))
    path = save(net, tmp_path / "bn.npz")
    with np.load(path) as z:
        assert sorted(k for k in z.files if k != "metadata") == ["W1", "W2", "b1", "b2"]
    model = load(path)
    assert not model.network.batch_norm
    np.testing.assert_allclose(model.network.predict_proba(X), net.predict_proba(X), rtol=1e-12)
    export_onnx(model, tmp_path / "bn.onnx")
    session = ort.InferenceSession(str(tmp_path / "bn.onnx"))
    got = session.run(None, {INPUT_NAME: X.astype(np.float32)})[0]
    np.testing.assert_allclose(got, net.predict_proba(X), rtol=1e-4, atol=1e-6)


def test_a_file_that_claims_batch_norm_is_refused(tmp_path):
    import json

    net = Network([4, 3, 2], activation="relu", seed=0)
    path = save(net, tmp_path / "m.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays["metadata"].tobytes())
    meta["network"]["batch_norm"] = True
    arrays["metadata"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError, match="bad.npz.*batch normalisation"):
        load(tmp_path / "bad.npz")


class _StopAfter(Callback):
    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def on_batch_end(self, trainer, batch, n_batches, loss):
        self.seen += 1
        if self.seen == self.n:
            trainer.request_stop()


def test_checkpoint_and_resume_equal_the_uninterrupted_run(tmp_path):
    from backprop.data import load_dataset

    ds = load_dataset("digits")
    X, y = ds.X_train[:400].reshape(400, -1) / 16.0, ds.y_train[:400]
    Xv, yv = ds.X_train[400:500].reshape(100, -1) / 16.0, ds.y_train[400:500]
    settings = {"optimizer": "momentum", "epochs": 3, "batch_size": 32, "lr": 0.1}

    def network():
        return Network([64, 20, 10], activation="relu", batch_norm=True, dropout=0.2, seed=4)

    reference = network()
    ref_history = Trainer(reference, **settings).fit(X, y, (Xv, yv))
    first = network()
    trainer = Trainer(first, callbacks=[_StopAfter(17)], **settings)
    assert trainer.fit(X, y, (Xv, yv)).interrupted
    save_checkpoint(tmp_path / "c.npz", trainer)
    params, state, _ = load_checkpoint(tmp_path / "c.npz")
    resumed = Network([64, 20, 10], activation="relu", batch_norm=True, dropout=0.2, seed=99)
    resumed.set_params(params)
    again = Trainer(resumed, **settings)
    again.load_state_dict(state)
    history = again.fit(X, y, (Xv, yv))
    for p, q in zip(reference.get_params(), resumed.get_params(), strict=True):
        assert np.array_equal(p, q)
    assert [r["val_loss"] for r in history.records] == [r["val_loss"] for r in ref_history.records]


def test_set_params_refuses_a_wrong_count():
    net = Network([4, 3, 2], batch_norm=True)
    assert len(net.get_params()) == len(net.params()) + 2 == 7
    net.set_params(net.params())  # the parameters alone leave the running averages
    with pytest.raises(ValueError, match="expected 7 parameter arrays, got 4"):
        net.set_params(net.params()[:4])


def test_cli_trains_with_batch_norm_and_the_model_predicts(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--dataset", "digits", "--preset", "none", "--batch-norm", "true",
            "--hidden", "64", "--epochs", "15", "--lr", "0.1", "--optimizer", "momentum",
            "--quiet", "--no-report", "--out", str(run)]
    assert main(args) == 0
    capsys.readouterr()
    model = load(run / "model.npz")
    assert not model.network.batch_norm
    assert model.metadata["train_config"]["batch_norm"] is True
    from backprop.data import load_dataset

    ds = load_dataset("digits")
    accuracy = float((model.predict(ds.X_test) == ds.y_test).mean())
    assert accuracy > 0.93  # MLPClassifier() gets 0.97 on these digits with 200 epochs


def test_cli_gradcheck_checks_batch_norm_and_catches_a_wrong_b4(capsys, monkeypatch):
    args = ["gradcheck", "--layers", "12,7,5,3", "--activation", "relu", "--batch-norm",
            "--samples", "16", "--max-entries", "0"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "gamma1" in out and "gamma2" in out and "PASS" in out

    def without_the_variance_term(delta, z_hat, inv_std, gamma, out=None):
        return (delta - delta.mean(axis=0)) * gamma * inv_std  # (B4) missing -ẑ·mean(δẑ)

    monkeypatch.setattr(batchnorm, "backward", without_the_variance_term)
    assert main(args) == 1
    assert "FAIL" in capsys.readouterr().out
