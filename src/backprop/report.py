"""The run report: plots of one training run and an HTML page that shows them.

``make_report(run_dir)`` writes into the run folder

``curves.png``        loss and accuracy per epoch, training vs validation;
``confusion.png``     the test confusion matrix;
``misclassified.png`` up to 64 misclassified test images with true and predicted labels;
``weights.png``       the first layer's weights as image tiles (image data only);
``report.html``       the plots, the metrics and config.toml on one page.

The page embeds each plot as a ``data:`` URI (it opens offline, even when
moved alone) and links each one to its PNG file next to it.  Matplotlib is
imported only here, and only its object API with the Agg canvas is used, so
no window opens and the global pyplot state is left alone.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from backprop.data.colour import is_colour_shape
from backprop.fileio import atomic_write_text

__all__ = ["classification_metrics", "make_report"]


def classification_metrics(y_true, y_pred, class_names: list[str]) -> dict:
    """Accuracy, per-class precision/recall/F1/support, macro averages and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
    class_names : list of str
        One per class; classes are 0..K-1.

    Returns
    -------
    dict
        ``accuracy``, ``correct``, ``n``, ``class_names``, ``per_class`` (list
        of dicts with precision, recall, f1, support), ``macro`` and
        ``confusion`` (K×K list, rows true, columns predicted).  A class never
        predicted has precision 0 (likewise recall and F1 for absent classes);
        the macro averages are over the classes that are true or predicted at
        least once, as scikit-learn's ``precision_recall_fscore_support`` does.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be (N,) arrays of the same length, got {y_true.shape} "
            f"and {y_pred.shape}"
        )
    k = len(class_names)
    top = int(max(y_true.max(initial=0), y_pred.max(initial=0)))
    if top >= k:
        raise ValueError(f"label {top} but only {k} class names; give one name per class")
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    tp = np.diag(cm).astype(np.float64)
    pred_n = cm.sum(axis=0)
    true_n = cm.sum(axis=1)
    precision = np.divide(tp, pred_n, out=np.zeros(k), where=pred_n > 0)
    recall = np.divide(tp, true_n, out=np.zeros(k), where=true_n > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    seen = (true_n + pred_n) > 0
    if not seen.any():
        seen[:] = True
    n = int(len(y_true))
    correct = int(tp.sum())
    return {
        "accuracy": correct / n if n else 0.0,
        "correct": correct,
        "n": n,
        "class_names": list(class_names),
        "per_class": [
            {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for p, r, f, s in zip(precision, recall, f1, true_n)
        ],
        "macro": {  # over the classes that occur (scikit-learn's default labels)
            "precision": float(precision[seen].mean()),
            "recall": float(recall[seen].mean()),
            "f1": float(f1[seen].mean()),
        },
        "confusion": cm.tolist(),
    }


# --------------------------------------------------------------------------- plots


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def plot_curves(records: list[dict], path: Path) -> Path:
    """Loss and accuracy per epoch, training vs validation."""
    from matplotlib.ticker import MaxNLocator

    fig = _figure(10, 4)
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = [r["epoch"] for r in records]
    marker = 3 if len(epochs) <= 60 else 0  # hundreds of markers hide the curve
    for ax, key, title in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(epochs, [r[key] for r in records], "o-", label="training", markersize=marker)
        if any(r.get("val_" + key) is not None for r in records):
            ax.plot(epochs, [r.get("val_" + key) for r in records], "s-", label="validation",
                    markersize=marker)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return path


def plot_confusion(cm: np.ndarray, names: list[str], path: Path) -> Path:
    """The confusion matrix with counts in the cells."""
    cm = np.asarray(cm)
    k = len(names)
    fig = _figure(1.0 + 0.5 * k, 0.6 + 0.5 * k)
    ax = fig.subplots()
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(k), names, rotation=90 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = cm.max() if cm.size else 0
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if cm[i, j] > top / 2 else "black")
    ax.set_title("confusion matrix (test)")
    fig.tight_layout()
    fig.savefig(path)
    return path


def _mosaic(tiles: np.ndarray, cols: int, pad: int = 2, fill: float = np.nan) -> np.ndarray:
    """Tiles (n, h, w) or (n, h, w, 3) in rows of ``cols``, ``pad`` pixels between them."""
    n, h, w = tiles.shape[:3]
    rows = max(1, -(-n // cols))
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, *tiles.shape[3:]), fill)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h,
            pad + c * (w + pad): pad + c * (w + pad) + w] = t
    return out


def plot_misclassified(images: np.ndarray, y_true, y_pred, names: list[str], path: Path,
                       limit: int = 64) -> Path:
    """A grid of misclassified images, (N, H, W) or colour (N, H, W, 3), as ``true→predicted``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong = np.flatnonzero(y_true != y_pred)[:limit]
    cols = 8
    rows = max(1, -(-len(wrong) // cols))
    fig = _figure(cols * 1.1, rows * 1.25 + 0.5)
    ax = fig.subplots()
    ax.axis("off")
    if len(wrong):
        tiles = np.asarray(images[wrong], dtype=np.float64)
        h, w = tiles.shape[1:3]
        pad = max(2, h // 3)
        if tiles.ndim == 4:  # colour, as it is, on white
            top = 255.0 if images.dtype == np.uint8 else float(tiles.max()) or 1.0
            ax.imshow(np.clip(_mosaic(tiles / top, cols, pad, 1.0), 0, 1), interpolation="nearest")
        else:
            ax.imshow(_mosaic(tiles, cols, pad=pad), cmap="gray_r", interpolation="nearest")
        for i, k in enumerate(wrong):
            r, c = divmod(i, cols)
            ax.text(pad + c * (w + pad) + w / 2, pad + r * (h + pad) - 0.5,
                    f"{names[y_true[k]]}→{names[y_pred[k]]}", ha="center", va="bottom",
                    fontsize=7, color="crimson")
    else:
        ax.text(0.5, 0.5, "no misclassified test images", ha="center", va="center")
    ax.set_title(f"misclassified test images (true→predicted), {len(wrong)} shown", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    return path


def plot_weights(W: np.ndarray, shape: tuple[int, int], path: Path, limit: int = 100) -> Path:
    """First-layer weights, one tile per hidden unit (red positive, blue negative)."""
    W = np.asarray(W, dtype=np.float64)[:limit]
    cols = min(10, len(W))
    rows = -(-len(W) // cols)
    scale = np.abs(W).max(axis=1, keepdims=True)
    tiles = (W / np.where(scale > 0, scale, 1.0)).reshape(len(W), *shape)
    fig = _figure(cols * 0.9, rows * 0.9 + 0.5)
    ax = fig.subplots()
    ax.axis("off")
    ax.imshow(_mosaic(tiles, cols, pad=max(1, shape[0] // 10)), cmap="RdBu_r", vmin=-1, vmax=1,
              interpolation="nearest")
    ax.set_title(f"first-layer weights, {len(W)} units (each tile scaled to its own max)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    return path


# --------------------------------------------------------------------------- page


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.name)
    return (f'<figure><a href="{name}"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(alt)}"></a><figcaption>{html.escape(alt)} '
            f'(<a href="{name}">{name}</a>)</figcaption></figure>')


#: Keys every per-epoch record of history.json must have, and their types.
RECORD_KEYS = {"epoch": int, "loss": float, "acc": float}


def read_history(path: Path) -> tuple[dict, list[dict]]:
    """history.json of a run: the dict and its per-epoch records, checked.

    Raises
    ------
    ValueError
        One sentence naming the file and what is missing.
    """
    try:
        history = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{path} is not a JSON training history ({exc})"[:300]) from None
    if not isinstance(history, dict) or not isinstance(history.get("records"), list):
        raise ValueError(f"{path} lacks the list of per-epoch 'records' that backprop train "
                         "writes; is it a history.json of a run folder?")
    records = history["records"]
    for i, r in enumerate(records):
        bad = [k for k, t in RECORD_KEYS.items() if not isinstance(r, dict) or not isinstance(
            r.get(k), (int, float) if t is float else t) or isinstance(r.get(k), bool)]
        if not bad:
            bad = [k for k in ("val_loss", "val_acc", "seconds") if r.get(k) is not None
                   and (not isinstance(r[k], (int, float)) or isinstance(r[k], bool))]
        if bad:
            raise ValueError(f"{path}: record {i + 1} lacks a number for {', '.join(bad)}; "
                             "the history is damaged (re-run or resume the training)")
    if history.get("best_epoch") is not None and not isinstance(history["best_epoch"], int):
        raise ValueError(f"{path}: best_epoch must be an epoch number")
    return history, records


def _load_dataset(train_config: dict) -> Any:
    from backprop.data import load_dataset

    return load_dataset(train_config.get("dataset") or None, download=False, progress=False,
                        **{k: train_config.get(k) for k in ("data_dir", "image_size")})


def make_report(run_dir: str | os.PathLike, model: Any = None, dataset: Any = None) -> Path:
    """Write the plots and report.html into ``run_dir``; return the page's path.

    Parameters
    ----------
    run_dir : str or PathLike
        A run folder of ``backprop train`` (history.json; model.npz unless
        ``model`` is given; config.toml is shown when present).
    model : Model, optional
        The trained model (default: loaded from ``run_dir/model.npz``).
    dataset : Dataset, optional
        Its data set (default: loaded as recorded in the model, without
        downloading; when that fails the test-set plots are left out and the
        page says why).
    """
    from backprop.errors import BackpropError
    from backprop.model.modelfile import load

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist; give a folder "
                                "written by backprop train")
    hist_path = run_dir / "history.json"
    if not hist_path.is_file():
        raise FileNotFoundError(f"{hist_path} does not exist; is {run_dir} a run folder of "
                                "backprop train?")
    history, records = read_history(hist_path)
    if model is None:
        model_path = run_dir / "model.npz"
        if not model_path.is_file():
            model_path = run_dir / "best.npz"
        if not model_path.is_file():
            raise FileNotFoundError(f"{run_dir} has no model.npz yet (is the run finished? "
                                    f"resume it with backprop train --resume {run_dir})")
        model = load(model_path)
    notes: list[str] = []
    figures: list[str] = []
    if records:
        figures.append(_img(plot_curves(records, run_dir / "curves.png"), "learning curves"))
    metrics = None
    if dataset is None:
        try:
            dataset = _load_dataset(model.train_config)
            model.check_data(dataset, "the run's model")
        except (BackpropError, OSError, ValueError) as exc:
            notes.append(f"test-set plots left out: the data set could not be loaded ({exc})")
            dataset = None
    if dataset is not None and dataset.X_test is not None and len(dataset.X_test):
        pred = model.predict(dataset.X_test)
        names = model.class_names
        metrics = classification_metrics(dataset.y_test, pred, names)
        figures.append(_img(plot_confusion(np.array(metrics["confusion"]), names,
                                           run_dir / "confusion.png"), "confusion matrix"))
        if len(dataset.image_shape or ()) == 2 or is_colour_shape(dataset.image_shape):
            figures.append(_img(plot_misclassified(dataset.X_test, dataset.y_test, pred, names,
                                                   run_dir / "misclassified.png"),
                                "misclassified test images"))
    shape = None
    if dataset is not None and dataset.image_shape is not None:
        shape = tuple(dataset.image_shape)
    elif model.image is not None:
        shape = model.image.shape
    if shape is not None and len(shape) == 2 and int(np.prod(shape)) == model.n_inputs:
        figures.append(_img(plot_weights(model.network.weights()[0], shape,
                                         run_dir / "weights.png"), "first-layer weights"))
    return _write_page(run_dir, model, records, history, metrics, figures, notes)


def _ensemble_facts(model: Any, history: dict) -> list[tuple[str, str]]:
    """For an ensemble: how many networks, and each one's test accuracy when recorded."""
    k = model.n_members
    if k == 1:
        return []
    facts = [("ensemble", f"{k} networks whose class probabilities are averaged; the curves, "
                          "epochs and weights shown are network 1's")]
    members = history.get("members")
    accs = [m.get("test_accuracy") for m in members] if isinstance(members, list) and all(
        isinstance(m, dict) for m in members) else []
    if accs and all(isinstance(a, (int, float)) for a in accs):
        facts.append(("each network's test accuracy", ", ".join(f"{a:.2%}" for a in accs)))
    return facts


def _write_page(run_dir, model, records, history, metrics, figures, notes) -> Path:
    esc = html.escape
    rows = []
    last = records[-1] if records else {}
    facts = [("network", repr(model.network)), *_ensemble_facts(model, history),
             ("epochs", str(len(records))),
             ("training seconds", f"{sum(r.get('seconds', 0) for r in records):.1f}")]
    if history.get("best_epoch"):
        facts.append(("best epoch (validation)", str(history["best_epoch"])))
    for key in ("loss", "acc", "val_loss", "val_acc"):
        if last.get(key) is not None:
            facts.append((f"final {key}", f"{last[key]:.4f}"))
    if metrics is not None:
        facts.insert(0, ("test accuracy",
                         f"{metrics['accuracy']:.2%} ({metrics['correct']}/{metrics['n']})"))
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
    per_class = ""
    if metrics is not None:
        body = "".join(
            f"<tr><td>{esc(n)}</td><td>{c['precision']:.4f}</td><td>{c['recall']:.4f}</td>"
            f"<td>{c['f1']:.4f}</td><td>{c['support']}</td></tr>"
            for n, c in zip(metrics["class_names"], metrics["per_class"])
        )
        per_class = ("<h2>Per class (test)</h2><table><tr><th>class</th><th>precision</th>"
                     f"<th>recall</th><th>F1</th><th>support</th></tr>{body}</table>")
    config_path = run_dir / "config.toml"
    config = config_path.read_text(encoding="utf-8") if config_path.is_file() else "(none)"
    note_html = "".join(f"<p class=note>{esc(n)}</p>" for n in notes)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>backprop run {esc(run_dir.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }} .note {{ color: #a40; }}
</style></head><body>
<h1>backprop run <code>{esc(run_dir.name)}</code></h1>
<table>{rows}</table>
{note_html}
{''.join(figures)}
{per_class}
<h2>Settings (<a href="config.toml">config.toml</a>)</h2>
<pre>{esc(config)}</pre>
<p>History per epoch: <a href="history.json">history.json</a>.</p>
</body></html>
"""
    return atomic_write_text(run_dir / "report.html", page)
