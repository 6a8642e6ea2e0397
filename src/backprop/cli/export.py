"""`backprop export MODEL --onnx FILE --safetensors FILE`: write a model as ONNX or safetensors."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a model to ONNX (needs: pip install 'backprop-mlp[onnx]') or safetensors",
        description=(
            "Write MODEL as an ONNX graph (opset 13): one Gemm and one activation node per "
            "layer (for an ensemble, every network's, averaged by a Mean node). Input 'input' "
            "is float32 [N, n_in], output 'probabilities' float32 [N, n_out]. By default the "
            "model's input scaling is part of the graph, so it takes raw inputs like training "
            "did (MNIST: flattened grey levels 0-255). --safetensors writes the weights W1, "
            "b1, ... (an ensemble's further networks as m1.W1, ...) as safetensors (PyTorch: "
            "safetensors.torch.load_file) with backprop's metadata, which backprop loads like "
            "a model.npz."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file (RUN_DIR/model.npz)")
    p.add_argument(
        "--onnx", metavar="FILE", default=None, help="the ONNX file to write (e.g. model.onnx)"
    )
    p.add_argument(
        "--safetensors", metavar="FILE", default=None,
        help="the safetensors file to write (e.g. model.safetensors)",
    )
    p.add_argument(
        "--no-preprocessing", dest="preprocessing", action="store_false",
        help="leave the input scaling out: the graph then takes already-scaled inputs",
    )
    p.add_argument(
        "--verify", action="store_true",
        help="run the exported file with onnxruntime on 64 random inputs and compare "
        "with backprop's own predictions (needs onnxruntime)",
    )
    p.set_defaults(func=run)


def _verify(model, path, preprocessing: bool) -> str:
    import numpy as np

    from backprop.model.export import INPUT_NAME, ExportError

    try:
        import onnxruntime as ort
    except ImportError:
        raise ExportError(
            "--verify needs onnxruntime, which is not installed; pip install onnxruntime"
        ) from None
    rng = np.random.default_rng(0)
    pre, net = model.preprocessor, model.network
    if pre is not None and pre.input_shape is not None and pre.max_value:
        raw = rng.uniform(0, pre.max_value, size=(64, net.sizes[0]))
    else:
        raw = rng.normal(size=(64, net.sizes[0]))
    raw = raw.astype(np.float32)
    x = model.transform(raw)
    expected = model.network_outputs(x)
    fed = raw if preprocessing else np.asarray(x, dtype=np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {INPUT_NAME: fed})[0]
    diff = float(np.max(np.abs(got - expected)))
    if diff > 1e-4:
        raise ExportError(
            f"{path}: onnxruntime's outputs differ from backprop's by up to {diff:.2e} on 64 "
            "random inputs; please report this as a bug"
        )
    return f"verified with onnxruntime {ort.__version__}: max |difference| {diff:.1e} on 64 inputs"


def run(args: argparse.Namespace) -> int:
    from backprop.model.modelfile import load

    if args.onnx is None and args.safetensors is None:
        raise ValueError("give --onnx FILE, --safetensors FILE, or both")
    model = load(args.model)
    if args.onnx is not None:
        _write_onnx(model, args)
    if args.safetensors is not None:
        from backprop.model import safetensors

        path = safetensors.save(model, args.safetensors)
        net, k = model.network, model.n_members
        more = f" (network 1; the others' m1.W1, ... m{k - 1}.b{len(net.layers)})" \
            if k > 1 else ""
        print(
            f"wrote {path}  ({_what(model)}, {net.dtype.name})\n"
            f"  tensors W1, b1, ... W{len(net.layers)}, b{len(net.layers)}{more} "
            "(W: [n_out, n_in]) and backprop's metadata; PyTorch: safetensors.torch.load_file"
        )
    return 0


def _what(model) -> str:
    """``784-800-10``, or ``an ensemble of 3 784-800-10 networks``."""
    sizes = "-".join(map(str, model.network.sizes))
    k = model.n_members
    return sizes if k == 1 else f"an ensemble of {k} {sizes} networks"


def _write_onnx(model, args: argparse.Namespace) -> None:
    from backprop.model.export import INPUT_NAME, OPSET, OUTPUT_NAME, export_onnx

    path = export_onnx(model, args.onnx, include_preprocessing=args.preprocessing)
    pre, net = model.preprocessor, model.network
    if pre is None or pre.scale == "none":
        how = "the model has no input scaling"
    elif args.preprocessing:
        how = f"takes raw inputs; the model's '{pre.scale}' scaling is inside the graph"
    else:
        how = f"takes inputs already scaled by the model's '{pre.scale}' preprocessor"
    print(
        f"wrote {path}  ({_what(model)}, {'/'.join(net.activations)}, opset {OPSET})\n"
        f"  input  '{INPUT_NAME}' float32 [N, {net.sizes[0]}]: {how}\n"
        f"  output '{OUTPUT_NAME}' float32 [N, {net.sizes[-1]}]"
        f"{' (the mean of the networks)' if model.n_members > 1 else ''}; classes "
        f"{', '.join(model.class_names)}"
    )
    if args.verify:
        print("  " + _verify(model, path, args.preprocessing))
