"""`backprop predict MODEL IMAGE...`: classify your own digit images."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="classify your own images (PNG, JPEG, BMP, GIF) with a trained model",
        description=(
            "Read each image (any size, colour or grey, dark ink on light paper or the "
            "reverse), preprocess it like MNIST (greyscale, invert a light background, crop "
            "to the ink, longest side 20 px, centre of mass at the centre of 28x28), scale it "
            "like the model's training data, and print the label and the top-3 probabilities."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file (RUN_DIR/model.npz)")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of text")
    p.add_argument("--top", type=int, default=3, help="how many classes to list per image")
    p.add_argument(
        "--show-input", metavar="DIR", default=None,
        help="write the 28x28 image the network saw for each file to DIR (PNG)",
    )
    p.set_defaults(func=run)


def _input_size(net, model_path: str) -> int:
    from backprop.errors import ModelFileError

    pre = net.preprocessor
    shape = None if pre is None else pre.input_shape
    if shape is None:
        extra = net.metadata.get("extra", {})
        shape = extra.get("image_shape")
    if shape is None and round(net.sizes[0] ** 0.5) ** 2 == net.sizes[0]:
        shape = (round(net.sizes[0] ** 0.5),) * 2
    if shape is None or len(shape) != 2 or shape[0] != shape[1]:
        raise ModelFileError(
            f"{model_path}: the model takes inputs of shape {shape or net.sizes[0]}, not square "
            "images; predict works with models trained on images such as MNIST's 28x28"
        )
    return int(shape[0])


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from backprop.data.images import load_digit, save_png
    from backprop.errors import DataError
    from backprop.model.modelfile import load

    if args.top < 1:
        raise ValueError(f"--top must be at least 1, got {args.top}")
    net = load(args.model)
    size = _input_size(net, args.model)
    box = max(1, round(size * 20 / 28))
    if args.show_input:
        Path(args.show_input).mkdir(parents=True, exist_ok=True)
    names = net.class_names or [str(i) for i in range(net.sizes[-1])]
    results, failed = [], 0
    for path in args.images:
        try:
            digit = load_digit(path, size=size, box=box)
        except (DataError, OSError) as exc:
            print(f"backprop: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        if net.preprocessor is not None:
            x = net.preprocessor.transform(digit[None])
        else:
            x = (digit.reshape(1, -1) / 255.0).astype(net.dtype)
        proba = net.predict_proba(x)[0].astype(np.float64)
        if proba.shape[0] == 1:  # one sigmoid unit: P(class 1)
            proba = np.array([1.0 - proba[0], proba[0]])
        order = np.argsort(-proba, kind="stable")[: args.top]
        entry = {
            "file": str(path),
            "label": names[int(order[0])],
            "top": [{"label": names[int(k)], "probability": float(proba[k])} for k in order],
        }
        if args.show_input:
            out = Path(args.show_input) / (Path(path).stem + "_28x28.png")
            save_png(digit, out)
            entry["input_png"] = str(out)
        results.append(entry)
        if not args.json:
            tops = "  ".join(f"{t['label']} {t['probability']:6.1%}" for t in entry["top"])
            print(f"{path}  ->  {entry['label']}    ({tops})")
    if args.json:
        print(json.dumps(results, indent=1))
    return 2 if failed else 0
