"""`backprop explain`: every printed number is the engine's, every check passes."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backprop.cli import main
from backprop.cli.explain import use_color
from backprop.explain import FD_LIMIT, Explanation, explain, format_number

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
PAIRS = [
    ("sigmoid", "binary_crossentropy"),
    ("softmax", "categorical_crossentropy"),
    ("identity", "mse"),
    ("tanh", "mse"),
]
DEPTHS = {1: "2,2", 2: "2,3,2", 3: "2,3,3,2"}


@pytest.fixture(scope="module")
def default() -> Explanation:
    return explain()


def _numbers(arr: np.ndarray) -> list[str]:
    return [format_number(x) for x in np.ravel(arr)]


# ------------------------------------------------------------------ the numbers
def test_default_is_the_seed_network(default):
    assert default.sizes == [2, 3, 2]
    assert default.activations == ["sigmoid", "sigmoid"]
    assert default.loss == "binary_crossentropy"
    assert default.ok, [c for c in default.checks if not c.ok]


def test_hand_values_equal_engine_values(default):
    assert default.engine, "no engine values recorded"
    for key, value in default.engine.items():
        np.testing.assert_allclose(default.values[key], value, rtol=0, atol=1e-12, err_msg=key)


def test_hand_values_equal_a_fresh_engine_run(default):
    """Independent of explain's own bookkeeping: rebuild the net and ask the engine."""
    from backprop import Network

    net = Network([2, 3, 2], "sigmoid", "sigmoid", "binary_crossentropy", dtype="float64")
    net.set_params([default.values[k].reshape(p.shape) for k, p in
                    zip(["W1", "b1", "W2", "b2"], net.params())])
    net.forward(default.X)
    grads = net.backward(default.Y)
    np.testing.assert_allclose(default.values["a3"], net.cache["a"][1].T, atol=1e-12)
    np.testing.assert_allclose(default.values["delta3"], net.cache["delta"][1].T, atol=1e-12)
    np.testing.assert_allclose(default.values["delta2"], net.cache["delta"][0].T, atol=1e-12)
    np.testing.assert_allclose(default.values["grad_W2"], grads[2], atol=1e-12)
    np.testing.assert_allclose(default.values["grad_W1"], grads[0], atol=1e-12)
    assert default.cost_before == pytest.approx(net.cost(default.X, default.Y), abs=1e-12)


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_printed_numbers_are_the_engines(default, fmt):
    out = default.render(fmt)
    keys = ["z2", "a2", "z3", "a3", "delta3", "delta2", "grad_W2", "grad_W1", "grad_b2",
            "grad_b1", "new_W1", "new_W2", "J"]
    for key in keys:
        for s in _numbers(default.engine[key]):
            if fmt == "markdown" and "e" in s:
                continue  # LaTeX writes exponents as × 10^{..}
            assert s in out, f"{key}: {s} not printed in {fmt}"


def test_shortcut_and_chain_rule_agree(default):
    v = default.values
    np.testing.assert_allclose(v["delta_by_10"], v["a3"] - v["y"], atol=0)
    np.testing.assert_allclose(v["delta_by_11"], v["dJda3"] * v["dadz3"], atol=0)
    np.testing.assert_allclose(v["delta_by_10"], v["delta_by_11"], atol=1e-12)
    a2 = v["a2"]
    np.testing.assert_allclose(v["delta2"], (v["W2"].T @ v["delta3"]) * a2 * (1 - a2),
                               atol=1e-15)


def test_finite_difference_errors_below_limit_and_printed(default):
    assert set(default.fd_errors) == {"grad_W1", "grad_b1", "grad_W2", "grad_b2"}
    text = default.to_text()
    for err in default.fd_errors.values():
        assert err < 1e-7
        assert f"relative error {err:.1e}" in text
    assert FD_LIMIT == 1e-7


def test_step_lowers_cost(default):
    v = default.values
    np.testing.assert_allclose(v["dW1"], -default.lr * v["grad_W1"])
    np.testing.assert_allclose(v["new_W1"], v["W1"] + v["dW1"])
    assert default.cost_after < default.cost_before
    assert format_number(default.cost_after) in default.to_text()


def test_minibatch_gradient_is_the_mean():
    ex = explain(batch=4)
    v = ex.values
    assert v["x"].shape == (2, 4)
    per_sample = [np.outer(v["delta3"][:, n], v["a2"][:, n]) for n in range(4)]
    np.testing.assert_allclose(v["grad_W2"], np.mean(per_sample, axis=0), atol=1e-15)
    text = ex.to_text()
    assert "N = 4" in text and "(1/N)" in text and "mean" in text
    assert ex.ok


# ------------------------------------------------------------------ the formats
@pytest.mark.parametrize("layers", ["2,3,2", "2,2", "2,3,3,2"])
@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_every_equation_number_appears(layers, fmt):
    out = explain(layers=layers).render(fmt)
    for n in range(10, 18):
        assert f"({n})" in out, f"({n}) missing from {fmt} for {layers}"


def test_markdown_has_latex(default):
    md = default.to_markdown()
    assert "\\tag{10}" in md and "\\begin{bmatrix}" in md and "\\delta^{(3)}" in md
    assert "docs/math.md" in md


def test_html_is_self_contained(default):
    page = default.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page.lower()
    assert 'class="mat"' in page and "δ⁽³⁾" in page


def test_text_colour_only_when_asked(default):
    assert "\x1b[" not in default.to_text()
    assert "\x1b[" in default.to_text(color=True)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_use_color_respects_tty_and_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(_Tty())
    assert not use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(_Tty())


# ------------------------------------------------------------------ where in the code
def test_code_pointers_point_at_the_tags(default):
    assert {r.label for r in default.code_refs} >= {"(10)", "(11)", "(12)", "(13)", "(14)-(17)",
                                                     "ΔW"}
    for ref in default.code_refs:
        line = (ROOT / ref.path).read_text(encoding="utf-8").splitlines()[ref.line - 1]
        assert line.strip() == ref.code
        if ref.tag[:1].isdigit():
            assert ref.label in line
    text = default.to_text()
    assert "Where in the code" in text and "docs/math.md" in text
    assert text.index("Where in the code") > text.index("(17)")


# ------------------------------------------------------------------ every combination
@pytest.mark.parametrize("depth", sorted(DEPTHS))
@pytest.mark.parametrize("output,loss", PAIRS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_every_combination_runs_and_checks(activation, output, loss, depth):
    ex = explain(layers=DEPTHS[depth], activation=activation, output=output, loss=loss,
                 batch=3, lr=0.05)
    assert ex.ok, [c for c in ex.checks if not c.ok]
    assert all(err < 1e-7 for err in ex.fd_errors.values())
    for key, value in ex.engine.items():
        np.testing.assert_allclose(ex.values[key], value, rtol=0, atol=1e-10, err_msg=key)
    for fmt in ("text", "markdown", "html"):
        assert "(10)" in ex.render(fmt)
    if (output, loss) == ("tanh", "mse"):
        assert "does not hold" in ex.to_text()


def test_one_output_unit():
    ex = explain(layers="3,4,1", batch=2)
    assert ex.ok and ex.values["y"].shape == (1, 2)


# ------------------------------------------------------------------ the command line
def test_cli_prints_the_walk_through(capsys):
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # not a terminal
    order = ["Forward pass", "(10) δ", "(11) δ", "(12) δ", "(13) δ", "(14) ∇", "(16) ∇",
             "ΔW⁽¹⁾ = -η∇⁽¹⁾", "Where in the code"]
    at = [out.index(s) for s in order]
    assert at == sorted(at)
    assert "checks passed" in out


def test_cli_options_and_formats(capsys, tmp_path):
    args = ["explain", "--layers", "2,4,3", "--activation", "tanh", "--output", "softmax",
            "--loss", "categorical_crossentropy", "--seed", "3", "--lr", "0.1", "--batch", "2"]
    assert main([*args, "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "\\tag{12}" in md and "2-4-3" in md
    page = tmp_path / "explain.html"
    assert main([*args, "--format", "html", "--out", str(page)]) == 0
    assert "(17)" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "args,message",
    [
        (["--activation", "swish"], "unknown activation 'swish'"),
        (["--layers", "3"], "at least two sizes"),
        (["--layers", "2,x,2"], "comma-separated positive integers"),
        (["--layers", "2,0,2"], "at least 1"),
        (["--layers", "2,500,2"], "at most"),
        (["--output", "swish"], "unknown output activation"),
        (["--loss", "hinge"], "unknown loss 'hinge'"),
        (["--output", "identity", "--loss", "binary_crossentropy"], "sigmoid or softmax"),
        (["--output", "softmax", "--layers", "2,3,1"], "softmax"),
        (["--format", "pdf"], "unknown --format 'pdf'"),
        (["--batch", "0"], "batch"),
        (["--lr", "-1"], "lr must be a positive number"),
        (["--lr", "nan"], "lr must be a positive number"),
        (["--seed", "-1"], "seed"),
    ],
)
def test_cli_bad_options_exit_2(capsys, args, message):
    assert main(["explain", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("backprop: error: ")
    assert message in err
    assert "Traceback" not in err


def test_cli_imports_no_matplotlib():
    code = (
        "import sys; from backprop.cli import main; rc = main(['explain']); "
        "sys.stderr.write(f'{rc} {\"matplotlib\" in sys.modules}')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    rc, mpl = proc.stderr.split()[-2:]
    assert rc == "0" and mpl == "False"
    assert re.search(r"\(10\)", proc.stdout)
