"""`backprop evaluate MODEL`: accuracy, per-class precision/recall/F1, confusion matrix."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="accuracy, per-class precision/recall/F1 and the confusion matrix of a model",
        description=(
            "Evaluate a model file on a test set: by default the test split of the data set "
            "it was trained on (recorded in the model file)."
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
    """The test split named on the command line, else the one the model was trained on.

    Raises DataError when it has no test split, or other classes or another input
    size than the model.
    """
    from backprop.data import load_dataset
    from backprop.errors import DataError

    if dataset is None and data_dir is None:
        cfg = model.train_config
        dataset, data_dir = cfg.get("dataset") or None, cfg.get("data_dir")
        if dataset is None and data_dir is None:
            raise DataError(
                f"{model_path} does not record its data set; pass --dataset NAME or --data-dir DIR"
            )
    ds = load_dataset(dataset, data_dir=data_dir, cache_dir=cache_dir)
    if ds.X_test is None:
        raise DataError(
            f"data set {ds.name} ({ds.source}) has no test split; give one with a t10k-* pair, "
            "an .npz with X_test and y_test, or a test/ folder"
        )
    model.check_data(ds, model_path)
    return ds


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
    ds = load_test_data(model, args.dataset, args.data_dir, args.cache_dir, args.model)
    m = classification_metrics(ds.y_test, model.predict(ds.X_test), model.class_names)
    m["dataset"] = ds.name
    print(json.dumps(m, indent=1) if args.json else format_metrics(m))
    return 0
