"""Export a model file to ONNX, so the network runs outside backprop.

The exported graph is one ``Gemm`` (``z = x Wᵀ + b``) and one activation node
per layer: ``Sigmoid``, ``Tanh``, ``Relu``, ``LeakyRelu`` (with the model's
slope), ``Softmax`` (``axis=1``) or ``Identity``; opset 13, IR version 7, so
any ONNX runtime from 2020 on reads it.

Input and output
----------------
``input``
    float32 ``[N, D]``, one flattened sample per row (``D = 784`` for
    28×28 MNIST images, row-major like ``image.reshape(-1)``).
``probabilities``
    float32 ``[N, K]``, the network's output activations, the same numbers as
    ``net.predict_proba``.  For a one-unit sigmoid output, ``K = 1`` holds
    P(class 1).

Ensembles
---------
A model of ``k > 1`` networks (``backprop train --ensemble k``) is one graph:
the preprocessing nodes once, then each member's layers (initializers and
nodes named ``m0.W1``, ``m1.dense2``, ...), and a ``Mean`` node whose output,
``probabilities``, is the average of the members' outputs, the numbers of
``Model.predict_proba``.  ``metadata_props["members"]`` says ``k``.

Preprocessing
-------------
By default the model's fitted :class:`backprop.data.Preprocessor` is part of
the graph, so the ONNX model takes **raw** inputs exactly like training did
(MNIST: grey levels 0–255 as float32):

========== ==============================================
scale      nodes before the first Gemm
========== ==============================================
unit       ``Div`` by the fitted maximum (255 for uint8 data)
symmetric  ``Div`` by the maximum, ``Mul`` by 2, ``Sub`` 1
standard   ``Sub`` the per-feature mean, ``Div`` by the std
none       none
========== ==============================================

With ``include_preprocessing=False`` (``backprop export --no-preprocessing``)
the graph starts at the first Gemm and ``input`` must already be scaled by
``net.preprocessor.transform``.  Either way the model's ``metadata_props``
say which (``preprocessing_included``), and also carry ``class_names``
(JSON), ``sizes``, ``activations`` and ``input_shape``.

The MNIST-style image steps (invert, crop, resize to 20 px, centre; see
:mod:`backprop.data.images`) are *not* in the graph: feed it 28×28 digits that
already look like MNIST.

``onnx`` is an optional dependency: ``pip install 'backprop-mlp[onnx]'``.

>>> from backprop.model.export import export_onnx
>>> export_onnx("runs/mnist/model.npz", "mnist.onnx")         # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from backprop.errors import BackpropError
from backprop.fileio import atomic_write_bytes

__all__ = ["OPSET", "IR_VERSION", "INPUT_NAME", "OUTPUT_NAME", "ExportError", "export_onnx",
           "to_onnx"]

#: ONNX operator set of the exported graph (Softmax-13 takes an explicit axis).
OPSET = 13
#: ONNX IR version written (7 goes with opset 13; newer runtimes read it too).
IR_VERSION = 7
INPUT_NAME = "input"
OUTPUT_NAME = "probabilities"

#: backprop activation name -> ONNX operator.
_OPS = {
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "Relu",
    "leaky_relu": "LeakyRelu",
    "softmax": "Softmax",
    "identity": "Identity",
}


class ExportError(BackpropError, ValueError):
    """The model cannot be exported (missing package, unsupported layer)."""


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ExportError(
            "ONNX export needs the 'onnx' package, which is not installed; install it with "
            "pip install 'backprop-mlp[onnx]'  (or: pip install onnx)"
        ) from None
    return onnx


def _preprocessing_nodes(pre: Any, n_in: int, helper: Any, numpy_helper: Any):
    """Nodes and constants that turn raw inputs into the network's inputs.

    Returns (nodes, initializers, output name, description).
    """
    nodes, inits = [], []
    if pre is None or pre.scale == "none":
        return nodes, inits, INPUT_NAME, "none (the model has no scaling)"
    if pre.n_features is not None and pre.n_features != n_in:
        raise ExportError(
            f"the preprocessor gives {pre.n_features} features but the network takes {n_in} "
            "inputs; the model file is inconsistent"
        )

    def const(name: str, value: Any) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    if pre.scale in ("unit", "symmetric"):
        if not pre.max_value:
            raise ExportError("the model's preprocessor has no fitted maximum; retrain the model")
        div = const("pre_max", pre.max_value)
        nodes.append(helper.make_node("Div", [INPUT_NAME, div], ["pre_unit"], name="scale_unit"))
        if pre.scale == "unit":
            return nodes, inits, "pre_unit", f"unit: x / {pre.max_value:g}"
        two, one = const("pre_two", 2.0), const("pre_one", 1.0)
        nodes.append(helper.make_node("Mul", ["pre_unit", two], ["pre_twice"], name="scale_mul"))
        nodes.append(helper.make_node("Sub", ["pre_twice", one], ["pre_sym"], name="scale_sub"))
        return nodes, inits, "pre_sym", f"symmetric: 2 x / {pre.max_value:g} - 1"
    if pre.scale == "standard":
        if pre.mean is None or pre.std is None:
            raise ExportError("the model's preprocessor has no fitted mean/std; retrain the model")
        mean, std = const("pre_mean", pre.mean), const("pre_std", pre.std)
        nodes.append(helper.make_node("Sub", [INPUT_NAME, mean], ["pre_centred"], name="centre"))
        nodes.append(helper.make_node("Div", ["pre_centred", std], ["pre_std_out"], name="whiten"))
        return nodes, inits, "pre_std_out", "standard: (x - mean) / std per feature"
    raise ExportError(f"preprocessing scale {pre.scale!r} has no ONNX form")


def _layer_nodes(net: Any, x: str, nodes: list, inits: list, helper: Any,
                 numpy_helper: Any, prefix: str = "", output: str = OUTPUT_NAME) -> str:
    """Append each layer's Gemm and activation node (and W, b) from input ``x``; the output.

    Every name (initializers, nodes, intermediate values) starts with
    ``prefix``; the last activation is named ``output``.
    """
    last = len(net.layers) - 1
    for i, layer in enumerate(net.layers):
        act = layer.activation.name
        if act not in _OPS:
            raise ExportError(
                f"layer {i + 1} uses activation {act!r}, which has no ONNX operator here; "
                f"exportable activations: {', '.join(_OPS)}"
            )
        n = i + 1
        w, b = f"{prefix}W{n}", f"{prefix}b{n}"
        inits.append(numpy_helper.from_array(np.asarray(layer.W, dtype=np.float32), w))
        inits.append(numpy_helper.from_array(np.asarray(layer.b, dtype=np.float32), b))
        z = f"{prefix}z{n}"
        nodes.append(helper.make_node("Gemm", [x, w, b], [z], name=f"{prefix}dense{n}",
                                      transB=1))
        out = output if i == last else f"{prefix}a{n}"
        attrs: dict[str, Any] = {}
        if act == "leaky_relu":
            attrs["alpha"] = float(net.leaky_slope)
        elif act == "softmax":
            attrs["axis"] = 1
        nodes.append(helper.make_node(_OPS[act], [z], [out], name=f"{prefix}{act}{n}", **attrs))
        x = out
    return x


def _member_nodes(model: Any, x: str, nodes: list, inits: list, helper: Any,
                  numpy_helper: Any) -> str:
    """Every member's layers from ``x``, averaged by a ``Mean`` node for an ensemble."""
    if model.n_members == 1:
        return _layer_nodes(model.network, x, nodes, inits, helper, numpy_helper)
    outs = [_layer_nodes(net, x, nodes, inits, helper, numpy_helper, prefix=f"m{i}.",
                         output=f"m{i}.{OUTPUT_NAME}")
            for i, net in enumerate(model.members)]
    nodes.append(helper.make_node("Mean", outs, [OUTPUT_NAME], name="ensemble_mean"))
    return OUTPUT_NAME


def to_onnx(
    model: Any,
    include_preprocessing: bool = True,
    model_name: str = "backprop",
) -> Any:
    """Build the ``onnx.ModelProto`` of a model (see the module docstring).

    Parameters
    ----------
    model : Model or Network
        Usually from :func:`backprop.load`: its network (all its networks,
        averaged, for an ensemble), input scaling, class names and data set
        go into the graph and its properties.
    include_preprocessing : bool, default True
        Put the model's input scaling into the graph, so it takes raw inputs.
    model_name : str
        The graph's name.

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker.check_model``.

    Raises
    ------
    ExportError
        ``onnx`` is not installed, or a layer has no ONNX operator.
    """
    onnx = _import_onnx()
    from onnx import TensorProto, helper, numpy_helper

    from backprop import __version__
    from backprop.model.model import Model

    model = Model.of(model).folded()  # batch normalisation folded into W and b
    sizes = list(model.network.sizes)
    pre = model.preprocessor if include_preprocessing else None
    nodes, inits, x, pre_desc = _preprocessing_nodes(pre, sizes[0], helper, numpy_helper)
    included = bool(nodes)
    if not include_preprocessing:
        pre_desc = "not included: scale inputs with the model's preprocessor first"
    _member_nodes(model, x, nodes, inits, helper, numpy_helper)
    graph = helper.make_graph(
        nodes,
        model_name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", sizes[0]])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", sizes[-1]])],
        initializer=inits,
    )
    props = _properties(model, included, pre_desc)
    proto = helper.make_model(
        graph,
        producer_name="backprop",
        producer_version=__version__,
        doc_string=_doc(model, pre_desc, json.loads(props["input_shape"])),
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    proto.ir_version = IR_VERSION
    helper.set_model_props(proto, props)
    onnx.checker.check_model(proto)
    return proto


def _properties(model: Any, included: bool, pre_desc: str) -> dict[str, str]:
    """The graph's ``metadata_props``: sizes, activations, preprocessing, classes, members."""
    net, pre = model.network, model.preprocessor
    shape = None if pre is None else pre.input_shape
    props = {
        "sizes": json.dumps(list(net.sizes)),
        "activations": json.dumps(net.activations),
        "preprocessing_included": "true" if included else "false",
        "preprocessing": pre_desc,
        "input_shape": json.dumps(None if shape is None else [int(d) for d in shape]),
        "class_names": json.dumps(model.class_names),
        "members": str(model.n_members),
    }
    if model.dataset:
        props["dataset"] = str(model.dataset)
    return props


def _doc(model: Any, pre_desc: str, input_shape: list | None) -> str:
    """The graph's one-paragraph description."""
    net, sizes = model.network, list(model.network.sizes)
    k = model.n_members
    what = f"an ensemble of {k} " if k > 1 else ""
    mean = "; the mean of the networks' outputs" if k > 1 else ""
    return (
        f"backprop {what}{'-'.join(map(str, sizes))} network{'s' if k > 1 else ''} "
        f"({', '.join(net.activations)}). "
        f"Input '{INPUT_NAME}': float32 [N, {sizes[0]}], flattened samples"
        + (f" of shape {input_shape}" if input_shape else "")
        + f". Preprocessing: {pre_desc}. Output '{OUTPUT_NAME}': float32 [N, {sizes[-1]}]"
        + f"{mean}."
    )


def export_onnx(
    model: str | os.PathLike | Any,
    path: str | os.PathLike,
    include_preprocessing: bool = True,
) -> Path:
    """Write a model (a model file path or a loaded ``Model``) as ONNX to ``path``.

    The file is written to a temporary name in the target folder and renamed,
    so a failure never leaves half a file.

    Parameters
    ----------
    model : str, PathLike or Model
    path : str or PathLike
        Target ``.onnx`` file.
    include_preprocessing : bool, default True
        See :func:`to_onnx`.

    Returns
    -------
    pathlib.Path
    """
    if isinstance(model, (str, os.PathLike)):
        from backprop.model.modelfile import load

        name = Path(model).stem
        model = load(model)
    else:
        name = "backprop"
    proto = to_onnx(model, include_preprocessing=include_preprocessing, model_name=name)
    data = proto.SerializeToString()
    return atomic_write_bytes(path, data)
