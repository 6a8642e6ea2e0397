"""`backprop predict MODEL FILE...`: classify your own images, or the rows of a CSV file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="classify your own images (PNG, JPEG, BMP, GIF), or a CSV's rows, with a model",
        description=(
            "Read each image (PNG, JPEG, BMP, GIF, TIFF, WebP or PGM; any size, colour or "
            "grey), repeat the image steps the model's training images went through (for "
            "MNIST-like data: greyscale, invert a light background, crop to the ink, longest "
            "side 20 px, centre of mass at the centre of 28x28; for a folder of your own "
            "images: greyscale at the training size), scale it like the training data, and "
            "print the label and the top-3 probabilities. Given .csv files, it classifies each "
            "row, laid out like the model's training file (a table's features, or an image's "
            "pixels in a row), with or without the label column."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file (RUN_DIR/model.npz)")
    p.add_argument("images", metavar="FILE", nargs="+",
                   help="image files; for a model of a table, CSV files of rows")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of text")
    p.add_argument("--top", type=int, default=3, help="how many classes to list per image")
    p.add_argument(
        "--show-input", metavar="DIR", default=None,
        help="write the image the network saw for each file to DIR (PNG, e.g. NAME_28x28.png)",
    )
    p.add_argument(
        "--output", metavar="FILE.csv", default=None,
        help="also write the predictions to FILE.csv, two columns: the row's id (its file's "
             "row-number column, else its number from 1) or the image file, and the label",
    )
    p.add_argument(
        "--columns", metavar="ID,LABEL", default=None,
        help="the header of --output (default: id,label for rows, file,label for images), "
             "e.g. ImageId,Label for Kaggle's digit recognizer",
    )
    p.set_defaults(func=run)


def write_output(args: argparse.Namespace, results: list[dict]) -> None:
    """``--output``: one line per prediction, a submission file (see :func:`add_parser`)."""
    import csv

    from backprop.errors import DataError

    rows = any("row" in e for e in results)
    header = (args.columns or ("id,label" if rows else "file,label")).split(",")
    if len(header) != 2 or not all(h.strip() for h in header):
        raise DataError(f"--columns {args.columns}: give two names, e.g. ImageId,Label")
    try:
        with open(args.output, "w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow([h.strip() for h in header])
            for e in results:
                out.writerow([e.get("id", e.get("row", e["file"])), e["label"]])
    except OSError as exc:
        raise DataError(f"--output {args.output}: cannot write it ({exc.strerror}); give a "
                        "file in a folder that exists and that you may write to") from None


def run(args: argparse.Namespace) -> int:
    from backprop.data.images import save_png
    from backprop.errors import DataError
    from backprop.model.modelfile import load

    if args.top < 1:
        raise ValueError(f"--top must be at least 1, got {args.top}")
    if args.columns and not args.output:
        raise ValueError("--columns names the header of --output; give --output FILE.csv too")
    if args.output and not Path(args.output).resolve().parent.is_dir():
        raise ValueError(f"--output {args.output}: the folder {Path(args.output).parent} does "
                         "not exist; create it or write the file elsewhere")
    model = load(args.model)
    if model.image is None or all(Path(p).suffix.lower() == ".csv" for p in args.images):
        return predict_rows(args, model)  # rows of numbers (of pixels, for a model of images)
    steps = model.image_steps(args.model)
    if args.show_input:
        Path(args.show_input).mkdir(parents=True, exist_ok=True)
    names = model.class_names
    results, failed = [], 0
    for path in args.images:
        try:
            out = model.predict_image(path)
        except (DataError, OSError) as exc:
            print(f"backprop: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        proba = out["probabilities"]
        order = np.argsort(-proba, kind="stable")[: args.top]
        entry = {
            "file": str(path),
            "label": out["label"],
            "top": [{"label": names[int(k)], "probability": float(proba[k])} for k in order],
        }
        if args.show_input:
            h, w = steps.shape[:2]
            shown = Path(args.show_input) / (Path(path).stem + f"_{h}x{w}.png")
            save_png(out["picture"], shown)
            entry["input_png"] = str(shown)
        results.append(entry)
        if not args.json:
            tops = "  ".join(f"{t['label']} {t['probability']:6.1%}" for t in entry["top"])
            print(f"{path}  ->  {entry['label']}    ({tops})")
    if args.json:
        print(json.dumps(results, indent=1))
    if args.output:
        write_output(args, results)
    return 2 if failed else 0


def predict_rows(args: argparse.Namespace, model) -> int:
    """Classify every row of the CSV files in ``args.images``: a table's rows, or images as
    rows of pixels (Kaggle's digit-recognizer ``test.csv``), as the model was trained on."""
    from backprop.data.csvread import read_features
    from backprop.errors import DataError

    if args.show_input:
        raise DataError("--show-input shows the images of image files, not the rows of a .csv")
    names, results, failed = model.class_names, [], 0
    for path in args.images:
        try:
            if Path(path).suffix.lower() != ".csv":
                raise DataError(
                    f"{path}: {args.model} takes rows of {model.n_inputs} numbers, not images; "
                    "give a .csv file of rows laid out like its training file"
                )
            X, note, ids = read_features(Path(path), model.n_inputs)
        except (DataError, OSError) as exc:
            print(f"backprop: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        if note and not args.json:
            print(f"{path}: {note}", file=sys.stderr)
        proba = model.predict_proba(X)
        for row, p in enumerate(proba, start=1):
            order = np.argsort(-p, kind="stable")[: args.top]
            top = [{"label": names[int(k)], "probability": float(p[k])} for k in order]
            entry = {"file": str(path), "row": row, "label": top[0]["label"], "top": top}
            if ids is not None:
                entry["id"] = str(ids[row - 1])
            results.append(entry)
            if not args.json:
                tops = "  ".join(f"{t['label']} {t['probability']:6.1%}" for t in top)
                print(f"{path}:{row}  ->  {top[0]['label']}    ({tops})")
    if args.json:
        print(json.dumps(results, indent=1))
    if args.output:
        write_output(args, results)
    return 2 if failed else 0
