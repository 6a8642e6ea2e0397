"""Optimisers and schedules against their formulas, step by step."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backprop.engine.optim import SGD, Adam, Momentum, Nesterov, Schedule, get_optimizer


def _run(opt, grads_seq, lr):
    w = np.array([1.0, -2.0])
    for g in grads_seq:
        opt.step([w], [np.array(g, dtype=float)], lr)
    return w


G = [[0.5, -1.0], [0.25, 0.5], [-1.0, 2.0]]


def test_sgd_is_w_minus_eta_grad():
    # 1 - 0.1(0.5 + 0.25 - 1) = 1.025 ; -2 - 0.1(-1 + 0.5 + 2) = -2.15
    np.testing.assert_allclose(_run(SGD(), G, 0.1), [1.025, -2.15])


def test_momentum_textbook_form():
    # ΔW_t = -η∇ + αΔW_{t-1}, η = 0.1, α = 0.5, first coordinate:
    # Δ1 = -0.05; Δ2 = -0.025 - 0.025 = -0.05; Δ3 = 0.1 - 0.025 = 0.075
    # w = 1 - 0.05 - 0.05 + 0.075 = 0.975
    # second: Δ1 = 0.1; Δ2 = -0.05 + 0.05 = 0; Δ3 = -0.2 + 0 = -0.2 ; w = -2 + 0.1 + 0 - 0.2 = -2.1
    np.testing.assert_allclose(_run(Momentum(0.5), G, 0.1), [0.975, -2.1])


def test_nesterov_formula():
    # v ← αv - η∇; w ← w + αv - η∇   (α = 0.5, η = 0.1), first coordinate:
    # v1 = -0.05, w = 1 - 0.025 - 0.05 = 0.925
    # v2 = -0.025 - 0.025 = -0.05, w = 0.925 - 0.025 - 0.025 = 0.875
    # v3 = -0.025 + 0.1 = 0.075, w = 0.875 + 0.0375 + 0.1 = 1.0125
    w = _run(Nesterov(0.5), G, 0.1)
    assert w[0] == pytest.approx(1.0125)


def test_adam_matches_algorithm_1_of_kingma_and_ba():
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    w_ref = np.array([1.0, -2.0])
    m = np.zeros(2)
    v = np.zeros(2)
    for t, g in enumerate(G, start=1):
        g = np.array(g)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        w_ref = w_ref - lr * m_hat / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(_run(Adam(b1, b2, eps), G, lr), w_ref, rtol=1e-12)


def test_optimizer_state_round_trip():
    a = Adam()
    w = np.ones(3)
    a.step([w], [np.full(3, 0.5)], 0.1)
    b = Adam()
    b.load_state_dict(a.state_dict())
    w2 = w.copy()
    a.step([w], [np.full(3, 0.2)], 0.1)
    b.step([w2], [np.full(3, 0.2)], 0.1)
    assert np.array_equal(w, w2)


def test_get_optimizer_ignores_unrelated_settings():
    assert isinstance(get_optimizer("sgd", momentum=0.9, beta1=0.5), SGD)
    assert get_optimizer("momentum", momentum=0.7).momentum == 0.7
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        get_optimizer("lbfgs")


@pytest.mark.parametrize(
    "kind,kwargs,expected",
    [
        ("constant", {}, [0.1, 0.1, 0.1, 0.1]),
        ("decrease", {"decay": 1.0}, [0.1, 0.05, 0.1 / 3, 0.025]),
        # η_t = η_{t-1} / (1 + d·t): 0.1, 0.1/2, 0.1/(2·3), 0.1/(2·3·4)
        ("cumulative", {"decay": 1.0}, [0.1, 0.05, 0.1 / 6, 0.1 / 24]),
        ("step", {"gamma": 0.5, "step_size": 2}, [0.1, 0.1, 0.05, 0.05]),
        ("exponential", {"gamma": 0.5}, [0.1, 0.05, 0.025, 0.0125]),
        ("cosine", {}, [0.1, 0.1 * (1 + math.cos(math.pi / 4)) / 2, 0.05,
                        0.1 * (1 + math.cos(3 * math.pi / 4)) / 2]),
    ],
)
def test_schedules(kind, kwargs, expected):
    s = Schedule(kind, lr=0.1, epochs=4, **kwargs)
    assert [s(t) for t in range(4)] == pytest.approx(expected)


def test_warmup_then_schedule():
    s = Schedule("cosine", lr=0.1, epochs=6, warmup=2)
    assert [s(0), s(1)] == pytest.approx([0.1 / 3, 0.2 / 3])
    assert s(2) == pytest.approx(0.1)
    assert s(4) == pytest.approx(0.05)
