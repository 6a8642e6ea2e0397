"""The end of ``backprop train``: test accuracy, the model file, the report, the summary.

A run whose model is no better than always answering the most common class
(training diverged, e.g. ``--lr 50``) is saved like any other, but the
summary says so on stderr and the exit code is 3.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from backprop.cli.runfolder import MODEL, RunFolder
from backprop.config import TrainConfig

#: Exit code of a run that finished but learned nothing (see :func:`learned_nothing`).
NO_BETTER_THAN_CHANCE = 3


#: Most training samples :func:`train_accuracy` predicts.
TRAIN_CHECK_SAMPLES = 10_000


def train_accuracy(nets: list, X: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the trained model (probabilities averaged over ``nets``) on training data.

    Without dropout, unlike the ``acc`` a training epoch records (the noisy
    networks that made the updates): with dropout on XOR's four points that
    can read 50 % while the model is right on all four.  At most
    :data:`TRAIN_CHECK_SAMPLES` evenly spaced samples are predicted.

    Parameters
    ----------
    nets : list of Network
    X : ndarray, shape (n, d)
        Scaled training samples.
    y : ndarray of int, shape (n,)
    """
    step = max(1, -(-len(y) // TRAIN_CHECK_SAMPLES))
    Xs, ys = X[::step], np.asarray(y)[::step]
    proba = sum(net.predict_proba(Xs) for net in nets)
    return float(np.mean(np.argmax(proba, axis=1) == ys))


def learned_nothing(history, y_train: np.ndarray, train_acc: float | None = None) -> str | None:
    """A warning when the final model is no better than guessing the most common class.

    Compares the validation accuracy of the kept epoch (else ``train_acc``,
    the final model's accuracy on training data, else the last epoch's
    recorded training accuracy) with the share of the most common class in
    the training labels, plus one point.
    """
    if not len(history):
        return None
    kept = history.best_epoch if history.best_epoch else len(history)
    record = history.records[min(kept, len(history)) - 1]
    acc = record.get("val_acc")
    if acc is None:
        acc = train_acc if train_acc is not None else history.records[-1]["acc"]
    base = float(np.bincount(np.asarray(y_train, dtype=np.int64)).max() / len(y_train))
    if acc > base + 0.01:
        return None
    return (
        f"backprop: warning: the model is no better than always answering the most common "
        f"class (accuracy {acc:.2%}, that class is {base:.2%} of the data): training "
        f"diverged or did not learn; try a smaller --lr (this run: {record['lr']:g}) "
        "or more epochs"
    )


def evaluate(data) -> tuple[dict, str]:
    """Test-set accuracy of the trained network: (summary fields, one line)."""
    ds = data.dataset
    if ds.X_test is None or not len(ds.X_test):
        return {}, "no test set"
    pred = data.net.predict(data.preprocessor.transform(ds.X_test))
    correct = int(np.sum(pred == ds.y_test))
    acc = correct / len(ds.y_test)
    return {"test_accuracy": acc}, f"test accuracy {acc:.2%} ({correct}/{len(ds.y_test)})"


def write_report(args: argparse.Namespace, run: RunFolder, dataset) -> None:
    """The run's report (unless ``--no-report``); a failure is a warning, the model is saved."""
    from backprop.model.modelfile import load

    if args.no_report:
        return
    from backprop.report import make_report

    try:
        make_report(run.path, model=load(run.path / MODEL), dataset=dataset)
    except Exception as exc:  # the model is saved; a plotting problem must not lose it
        if getattr(args, "debug", False):
            raise
        print(f"backprop: warning: the report failed ({exc}); the model is saved",
              file=sys.stderr)


def finish(args: argparse.Namespace, cfg: TrainConfig, data, trainer, run: RunFolder) -> int:
    """Save the model, write the report, print the summary; return the exit code."""
    history = trainer.history
    run.write_history(history)
    summary = {"epochs_trained": len(history), "best_epoch": history.best_epoch,
               "train_seconds": round(sum(r["seconds"] for r in history.records), 3)}
    scores, test_line = evaluate(data)
    run.save_model(data.net, **data.model_meta(cfg), **summary, **scores)
    write_report(args, run, data.dataset)
    n = len(history)
    best_note = ""
    if data.validation is not None and history.best_epoch and history.best_epoch != n:
        best_note = f"  |  kept epoch {history.best_epoch} (lowest val_loss)"
    print(
        f"{test_line}  |  {n} epoch{'s' if n != 1 else ''} in {summary['train_seconds']:.1f}s"
        f"{'  (stopped early)' if history.stopped_early else ''}{best_note}\n"
        f"run folder: {run}  (model.npz{', report.html' if not args.no_report else ''})",
        flush=True,
    )
    if not scores:
        print(f"score it on data it has not seen: backprop evaluate {run.path / MODEL} --data-dir "
              "TEST (a .csv, an .npz or a folder like the training data)", flush=True)
    warning = learned_nothing(history, data.y, train_accuracy([data.net], data.X, data.y))
    if warning:
        print(warning, file=sys.stderr, flush=True)
        return NO_BETTER_THAN_CHANCE
    return 0
