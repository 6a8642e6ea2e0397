"""ONNX export: the graph computes net.predict_proba, with and without the scaling."""

from __future__ import annotations

import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import backprop
from backprop.cli import main
from backprop.data import Preprocessor
from backprop.model.export import INPUT_NAME, OPSET, OUTPUT_NAME, ExportError, export_onnx, to_onnx
from backprop.model.model import Model


def run_onnx(model_or_path, x: np.ndarray) -> np.ndarray:
    if isinstance(model_or_path, onnx.ModelProto):
        model_or_path = model_or_path.SerializeToString()
    else:
        model_or_path = str(model_or_path)
    session = ort.InferenceSession(model_or_path, providers=["CPUExecutionProvider"])
    return session.run([OUTPUT_NAME], {INPUT_NAME: np.asarray(x, dtype=np.float32)})[0]


def props(model: onnx.ModelProto) -> dict:
    return {p.key: p.value for p in model.metadata_props}


@pytest.mark.parametrize(
    "hidden, output, kwargs",
    [
        (["sigmoid"], "softmax", {}),
        (["tanh", "relu"], "softmax", {}),
        (["leaky_relu"], "sigmoid", {"leaky_slope": 0.2}),
        (["relu"], "identity", {"loss": "mse"}),
        (["tanh"], "sigmoid", {"n_out": 1}),
        ([], "softmax", {}),
    ],
)
def test_every_activation_matches_predict_proba(hidden, output, kwargs):
    n_out = kwargs.pop("n_out", 4)
    sizes = [7, *([5] * len(hidden)), n_out]
    net = backprop.Network(sizes, activation=hidden, output=output, seed=1, **kwargs)
    x = np.random.default_rng(0).normal(size=(33, 7)).astype(np.float32) * 3
    model = to_onnx(net)
    got = run_onnx(model, x)
    np.testing.assert_allclose(got, net.predict_proba(x), rtol=1e-5, atol=1e-6)
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("Gemm") == len(sizes) - 1
    assert model.opset_import[0].version == OPSET


@pytest.mark.parametrize("scale", ["unit", "symmetric", "standard", "none"])
def test_preprocessing_is_in_the_graph(scale):
    rng = np.random.default_rng(1)
    raw_train = rng.integers(0, 256, size=(50, 3, 4), dtype=np.uint8)
    pre = Preprocessor(scale).fit(raw_train)
    net = backprop.Network([12, 6, 3], activation="tanh", seed=2)
    raw = rng.integers(0, 256, size=(20, 3, 4)).astype(np.float32)
    expected = net.predict_proba(pre.transform(raw))
    net = Model(net, pre)
    model = to_onnx(net)
    np.testing.assert_allclose(run_onnx(model, raw.reshape(20, -1)), expected, atol=1e-5)
    included = "false" if scale == "none" else "true"
    assert props(model)["preprocessing_included"] == included
    assert json.loads(props(model)["input_shape"]) == [3, 4]
    bare = to_onnx(net, include_preprocessing=False)
    assert props(bare)["preprocessing_included"] == "false"
    np.testing.assert_allclose(run_onnx(bare, pre.transform(raw)), expected, atol=1e-5)


def test_float64_network_exports_as_float32():
    net = backprop.Network([5, 4, 3], activation="relu", dtype="float64", seed=0)
    x = np.random.default_rng(3).normal(size=(9, 5))
    np.testing.assert_allclose(run_onnx(to_onnx(net), x), net.predict_proba(x), atol=1e-6)


@pytest.fixture(scope="module")
def mnist_model(sample_model):
    return sample_model


def test_mnist_model_file_round_trip_on_raw_pixels(mnist_model, tmp_path):
    path, ds = mnist_model
    out = export_onnx(path, tmp_path / "mnist.onnx")
    net = backprop.load(path)
    raw = ds.X_test[:200]
    got = run_onnx(out, raw.reshape(len(raw), -1).astype(np.float32))
    expected = net.network.predict_proba(net.preprocessor.transform(raw))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert (got.argmax(1) == expected.argmax(1)).all()
    model = onnx.load(str(out))
    assert json.loads(props(model)["class_names"]) == [str(i) for i in range(10)]
    assert props(model)["dataset"] == "mnist-sample"
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1] == 784


def test_cli_export_and_verify(mnist_model, tmp_path, capsys):
    path, _ = mnist_model
    out = tmp_path / "m.onnx"
    assert main(["export", str(path), "--onnx", str(out), "--verify"]) == 0
    text = capsys.readouterr().out
    assert "raw inputs" in text and "verified with onnxruntime" in text
    assert out.is_file() and not list(tmp_path.glob(".*.tmp"))
    bare = ["export", str(path), "--onnx", str(tmp_path / "b.onnx"), "--no-preprocessing"]
    assert main(bare) == 0
    assert "already scaled" in capsys.readouterr().out


def test_cli_errors_are_one_sentence(mnist_model, tmp_path, capsys):
    path, _ = mnist_model
    assert main(["export", str(path), "--onnx", str(tmp_path / "no" / "m.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.npz"), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    net = backprop.Network([3, 2], seed=0)
    with pytest.raises(ExportError, match=r"pip install 'backprop-mlp\[onnx\]'"):
        to_onnx(net)
