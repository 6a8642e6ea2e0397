"""Learning: XOR, the 8×8 digits, the trainer's features and its errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from backprop import Network, Perceptron, Trainer, fit
from backprop.engine.train import Callback
from backprop.errors import TrainingDiverged

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_Y = np.array([0, 1, 1, 0])


@pytest.mark.parametrize("seed", range(10))
def test_two_three_one_sigmoid_network_learns_xor(seed):
    """Documented recipe: 2-3-1 sigmoid, BCE, full-batch GD, η = 2, 2000 epochs; seeds 0-9."""
    net = Network([2, 3, 1], activation="sigmoid", seed=seed)
    history = fit(net, XOR_X, XOR_Y, optimizer="gd", lr=2.0, epochs=2000)
    assert net.predict(XOR_X).tolist() == [0, 1, 1, 0]
    assert history["acc"][-1] == 1.0
    assert history["loss"][-1] < history["loss"][0]


@pytest.mark.parametrize("seed", range(5))
def test_single_layer_perceptron_cannot_learn_xor(seed):
    p = Perceptron(epochs=1000, seed=seed).fit(XOR_X, XOR_Y)
    assert np.mean(p.predict(XOR_X) == XOR_Y) <= 0.75


def test_no_linear_threshold_unit_separates_xor():
    """Exhaustive over a grid of (w1, w2, b): at most 3 of the 4 points are right."""
    grid = np.linspace(-3, 3, 25)
    best = 0
    for w1, w2, b in itertools.product(grid, grid, grid):
        pred = (XOR_X @ np.array([w1, w2]) + b > 0).astype(int)
        best = max(best, int(np.sum(pred == XOR_Y)))
    assert best == 3


def test_perceptron_learns_a_linearly_separable_function():
    y_and = np.array([0, 0, 0, 1])
    p = Perceptron(epochs=100, seed=0).fit(XOR_X, y_and)
    assert p.predict(XOR_X).tolist() == y_and.tolist()


def test_digits_8x8_to_95_percent():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    train, test = order[:1400], order[1400:]
    net = Network([64, 100, 10], activation="relu", seed=0)
    fit(net, X[train], y[train], optimizer="momentum", lr=0.05, epochs=30, batch_size=32)
    accuracy = np.mean(net.predict(X[test]) == y[test])
    assert accuracy >= 0.95


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam", "gd"])
def test_every_optimizer_lowers_the_loss(optimizer):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    net = Network([5, 8, 2], activation="tanh", seed=0)
    lr = 0.01 if optimizer == "adam" else 0.2
    h = fit(net, X, y, optimizer=optimizer, lr=lr, epochs=15, batch_size=20)
    assert h["loss"][-1] < 0.5 * h["loss"][0]


def _blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    X = rng.normal(size=(n, 4)) + 2.0 * np.eye(3, 4)[y]
    return X, y


def test_history_records_every_field():
    X, y = _blobs()
    net = Network([4, 6, 3], activation="relu", seed=0)
    h = fit(net, X, y, epochs=4, batch_size=32, validation_split=0.2,
            schedule="decrease", decay=0.5)
    assert len(h) == 4
    assert [r["epoch"] for r in h.records] == [1, 2, 3, 4]
    for r in h.records:
        assert set(r) == {"epoch", "loss", "acc", "val_loss", "val_acc", "lr", "seconds"}
        assert r["seconds"] >= 0
    from backprop.config import SETTINGS

    lr = SETTINGS["lr"].default  # fit's default is the declared one
    assert h["lr"] == pytest.approx([lr / (1 + 0.5 * t) for t in range(4)])


def test_early_stopping_restores_the_best_weights():
    X, y = _blobs()
    Xv, yv = _blobs(100, seed=1)
    net = Network([4, 30, 3], activation="relu", seed=0)
    trainer = Trainer(net, lr=0.5, epochs=200, batch_size=8, patience=3)
    h = trainer.fit(X, y, validation_data=(Xv, yv))
    assert h.stopped_early
    assert len(h) < 200
    best = min(h["val_loss"])
    assert h["val_loss"][h.best_epoch - 1] == best
    Yv = np.eye(3)[yv]
    assert net.cost(Xv, Yv) == pytest.approx(best, rel=1e-5)


def test_divergence_names_the_epoch_and_suggests_a_smaller_rate():
    X, y = _blobs()
    X = X * 1e6
    net = Network([4, 8, 3], activation="relu", output="identity", loss="mse", seed=0)
    with pytest.raises(TrainingDiverged, match=r"epoch 1.*smaller learning rate"):
        fit(net, X, np.eye(3)[y], lr=10.0, epochs=5, batch_size=32)


def test_callbacks_are_called_in_order():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, trainer):
            events.append("begin")

        def on_epoch_begin(self, trainer, epoch):
            events.append(f"e{epoch}")

        def on_batch_end(self, trainer, batch, n_batches, loss):
            events.append(f"b{batch}/{n_batches}")

        def on_epoch_end(self, trainer, epoch, record):
            events.append(f"end{epoch}")

        def on_train_end(self, trainer):
            events.append("done")

    X, y = _blobs(50)
    fit(Network([4, 3, 3], seed=0), X, y, epochs=2, batch_size=20, callbacks=[Recorder()])
    assert events == ["begin", "e0", "b1/3", "b2/3", "b3/3", "end0",
                      "e1", "b1/3", "b2/3", "b3/3", "end1", "done"]


def test_interrupt_and_resume_gives_the_uninterrupted_weights_bitwise():
    X, y = _blobs(200)
    settings = dict(optimizer="adam", lr=0.01, epochs=3, batch_size=16)

    def make():
        return Network([4, 7, 3], activation="relu", dropout=0.3, seed=5)

    reference = make()
    Trainer(reference, **settings).fit(X, y)

    class StopAt(Callback):
        def on_batch_end(self, trainer, batch, n_batches, loss):
            if trainer.epoch == 1 and batch == 4:
                trainer.request_stop()

    net = make()
    first = Trainer(net, **settings, callbacks=[StopAt()])
    h = first.fit(X, y)
    assert h.interrupted and first.epoch == 1 and first.batch == 4
    state, params = first.state_dict(), net.get_params()

    resumed_net = make()
    resumed_net.set_params(params)
    second = Trainer(resumed_net, **settings)
    second.load_state_dict(state)
    h2 = second.fit(X, y)
    assert not h2.interrupted and len(h2) == 3
    for p, q in zip(reference.params(), resumed_net.params()):
        assert np.array_equal(p, q)


def test_dropout_changes_training_but_not_prediction():
    X, y = _blobs(64)
    net = Network([4, 50, 3], activation="relu", dropout=0.5, input_dropout=0.2, seed=0)
    a1 = net.predict_proba(X)
    a2 = net.predict_proba(X)
    assert np.array_equal(a1, a2)
    t1 = net.forward(X, train=True)
    t2 = net.forward(X, train=True)
    assert not np.array_equal(t1, t2)
    kept = net.cache["masks"][0]
    assert set(np.unique(kept)) <= {0.0, np.float32(2.0)}


@pytest.mark.parametrize("reuse", [False, True])
def test_dropout_masks_share_the_layout_of_what_they_multiply(reuse):
    # a hidden layer's a is column-major (one column per sample); a C-ordered mask
    # made a ⊙ mask and Wᵀδ ⊙ mask several times slower.  The rate and scale hold.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 30)).astype(np.float32)
    net = Network([30, 400, 3], activation="relu", dropout=0.4, input_dropout=0.1, seed=0)
    net.forward(X, train=True, reuse=reuse)
    (hidden_mask, _), a = net.cache["masks"], net.cache["a"][0]
    assert hidden_mask.flags.f_contiguous and a.flags.f_contiguous
    assert set(np.unique(hidden_mask)) == {0.0, np.float32(1 / 0.6)}
    assert abs(np.mean(hidden_mask == 0) - 0.4) < 0.01  # 102,400 draws: σ ≈ 0.0015
    assert net.cache["inputs"][0].flags.c_contiguous  # the input batch stays row-major


def test_max_norm_caps_every_row():
    X, y = _blobs()
    net = Network([4, 20, 3], activation="relu", seed=0)
    fit(net, X, y, lr=1.0, epochs=3, batch_size=10, max_norm=0.5)
    for W in net.weights():
        assert np.all(np.linalg.norm(W, axis=1) <= 0.5 + 1e-5)


def test_float64_on_request():
    X, y = _blobs(40)
    net = Network([4, 5, 3], dtype="float64", seed=0)
    fit(net, X, y, epochs=1)
    assert all(p.dtype == np.float64 for p in net.params())
    assert net.predict_proba(X).dtype == np.float64


def test_label_smoothing_targets():
    X, y = _blobs(60)
    net = Network([4, 5, 3], seed=0)
    h = fit(net, X, y, epochs=2, label_smoothing=0.1)
    assert np.isfinite(h["loss"]).all()


# ------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(lr=-0.1), "lr"),
        (dict(lr=float("nan")), "lr"),
        (dict(batch_size=0), "batch_size"),
        (dict(epochs=0), "epochs"),
        (dict(optimizer="rmsprop"), "optimizer.*sgd"),
        (dict(schedule="linear"), "schedule.*cosine"),
        (dict(momentum=1.5), "momentum"),
        (dict(l2=-1.0), "l2"),
        (dict(patience=0), "patience"),
        (dict(optimizer="adam", beta1=1.0), "beta1"),
    ],
)
def test_bad_training_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Trainer(Network([2, 2]), **kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(activation="swish"), "activation.*sigmoid.*relu"),
        (dict(output="swish"), "activation"),
        (dict(loss="hinge"), "loss.*mse"),
        (dict(init="zeros"), "init.*glorot"),
        (dict(dtype="int32"), "dtype"),
        (dict(dropout=1.0), "dropout"),
    ],
)
def test_bad_network_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Network([2, 3, 2], **kwargs)


def test_bad_data_raises_value_error():
    net = Network([2, 3, 2], seed=0)
    with pytest.raises(ValueError, match="same length"):
        fit(net, np.zeros((4, 2)), np.zeros(3, dtype=int))
    X = np.zeros((4, 2))
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit(net, X, np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.1"):
        fit(net, np.zeros((4, 2)), np.array([0, 1, 2, 1]))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        fit(net, np.zeros((4, 3)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="sizes"):
        Network([5])
