"""`backprop evaluate MODEL`: accuracy, per-class precision/recall/F1, confusion matrix."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="accuracy, per-class precision/recall/F1 and the confusion matrix of a model",
        description=(
            "Evaluate a model file on a test set: the test split of the data set it was "
            "trained on (recorded in the model file), or of --dataset/--data-dir; data given "
            "with --data-dir that has no test split (a .csv, say) is scored whole. Classes "
            "are matched by name: a test file may hold some of the model's classes only. The "
            "images of a folder are resized to the model's input size."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file (RUN_DIR/model.npz)")
    p.add_argument("--dataset", default=None, help="data set name (default: the training one)")
    p.add_argument("--data-dir", default=None, help="your own data (as for backprop train)")
    p.add_argument("--cache-dir", default=None, help="download cache")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=run)


def load_test_data(model, dataset: str | None, data_dir: str | None, cache_dir: str | None,
                   model_path: str):
    """What to score: ``(X, y as the model's class indices, what it is in words)``.

    The test split of the data named on the command line, else of the data the
    model was trained on.  Data named on the command line without a test split (a
    CSV, an ``.npz`` without ``X_test``, a folder of class sub-folders) is scored
    whole, unless it is the model's own training data.  Classes are matched by
    name, so a test file may hold some of the model's classes only.  A folder's
    images are resized to the model's input size.

    Raises DataError when there is nothing honest to score, or the data has
    another input size or classes the model does not know.
    """
    from pathlib import Path

    from backprop.data import load_dataset
    from backprop.errors import DataError

    named = dataset is not None or data_dir is not None
    cfg = model.train_config
    if not named:
        dataset, data_dir = cfg.get("dataset") or None, cfg.get("data_dir")
        if dataset is None and data_dir is None:
            raise DataError(
                f"{model_path} does not record its data set; pass --dataset NAME or --data-dir DIR"
            )
    size = None if model.image is None else model.image.shape[:2]  # a folder's images: resized
    ds = load_dataset(dataset, data_dir=data_dir, cache_dir=cache_dir, image_size=size,
                      size_from="the model's input size")
    model.check_features(ds, model_path)
    said = "".join(f"; {note}" for note in ds.notes)
    if ds.X_test is not None:
        y = model.class_indices(ds.class_names, ds.y_test, f"the test split of {ds.name}")
        return ds.X_test, y, f"{ds.name} (test split{said})"
    trained_on = cfg.get("data_dir")
    own = data_dir is not None and trained_on is not None and (
        Path(data_dir).resolve() == Path(trained_on).resolve())
    if not named or own:
        raise DataError(
            f"data set {ds.name} ({ds.source}) is what {model_path} was trained on and has no "
            "test split, so its accuracy there says nothing of new data; pass --data-dir with "
            "data the model has not seen (a .csv, an .npz or a folder: all of it is scored)"
        )
    y = model.class_indices(ds.class_names, ds.y_train, f"data set {ds.name} ({ds.source})")
    return ds.X_train, y, f"{ds.name} (all {len(y):,} items: it has no test split{said})"


def format_metrics(m: dict) -> str:
    """The text table: accuracy, per-class P/R/F1/support, then the confusion matrix."""
    names = m["class_names"]
    w = max(7, *(len(n) for n in names)) + 1
    lines = [f"accuracy {m['accuracy']:.4f}  ({m['correct']}/{m['n']})  on {m['dataset']}", ""]
    lines.append(f"{'class':<{w}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for name, c in zip(names, m["per_class"]):
        lines.append(
            f"{name:<{w}}{c['precision']:>10.4f}{c['recall']:>10.4f}{c['f1']:>10.4f}"
            f"{c['support']:>9d}"
        )
    macro = m["macro"]
    lines.append(
        f"{'macro':<{w}}{macro['precision']:>10.4f}{macro['recall']:>10.4f}{macro['f1']:>10.4f}"
        f"{m['n']:>9d}"
    )
    lines += ["", "confusion matrix (rows: true class, columns: predicted)"]
    cm = m["confusion"]
    cw = max(5, len(str(max(max(r) for r in cm))) + 1, *(len(n) + 1 for n in names))
    lines.append(" " * w + "".join(f"{n:>{cw}}" for n in names))
    for name, row in zip(names, cm):
        lines.append(f"{name:<{w}}" + "".join(f"{v:>{cw}d}" for v in row))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from backprop.model.modelfile import load
    from backprop.report import classification_metrics

    model = load(args.model)
    X, y, what = load_test_data(model, args.dataset, args.data_dir, args.cache_dir, args.model)
    m = classification_metrics(y, model.predict(X), model.class_names)
    m["dataset"] = what
    print(json.dumps(m, indent=1) if args.json else format_metrics(m))
    return 0
