"""`backprop train --ensemble K`: train K networks one after another into one model file.

Member ``i`` trains with seed ``seed + i`` for ``--epochs`` epochs on the
run's one training/validation split (``backprop.ensemble``), so member 0 is
the network ``--ensemble 1`` trains.  Progress lines start with
``network i/K`` and the run's ETA counts the networks still to train.  With
``--time D`` the budget is shared: each network gets an equal share of what
is left when it starts.  ``--max-time D`` is shared the same way, as a
ceiling: each network trains its ``--epochs``, or fewer when they would not
end within its share.

The run folder gets ``config.toml``, ``history.json`` (network 1's epochs, as
for one network, plus a ``members`` list of each network's final figures),
``model.npz`` (the ensemble) and the report.  No ``checkpoint.npz`` or
``best.npz`` is written: an ensemble run cannot be resumed (``--resume``
refuses it in one line); Ctrl-C stops it with exit code 130 and no model.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from backprop.cli.progress import Progress
from backprop.cli.runfolder import CONFIG, RunFolder, stop_on_signals
from backprop.config import TrainConfig
from backprop.ensemble import member_config, member_network


def train_ensemble(args: argparse.Namespace, cfg: TrainConfig, preset: str | None, data: Any,
                   start: Any, started: float, notes: list[str], mode: str) -> int:
    """Train ``cfg.ensemble`` networks into a new run folder; return the exit code.

    Parameters
    ----------
    args : argparse.Namespace
        ``backprop train``'s arguments (``out``, ``no_report``, ``debug``).
    cfg : TrainConfig
        The run's settings, ``cfg.ensemble > 1``.
    preset : str or None
        The preset the settings started from (for config.toml).
    data : backprop.cli.train.TrainingData
        The prepared data; ``data.net`` is member 0's network.
    start : Model or None
        ``--init-from``'s model (see :func:`backprop.ensemble.member_network`).
    started : float
        ``time.monotonic()`` when the command began (the ``--time`` budget's start).
    notes : list of str
        What ``adapt`` decided, printed before training.
    mode : {"bar", "lines", "quiet"}
    """
    from backprop.model.model import check_ensemble

    k = cfg.ensemble
    check_ensemble(k, len(data.net.layers))
    run = RunFolder.create(args.out, data.dataset.name)
    run.write_config(cfg, preset)
    if mode != "quiet":
        for note in notes:
            print(note, flush=True)
        n_val = 0 if data.validation is None else len(data.validation[1])
        origin = f" from {cfg.init_from}" if cfg.init_from else ""
        print(f"training an ensemble of {k} networks like {data.net}{origin} (seeds {cfg.seed} to "
              f"{cfg.seed + k - 1}) on {data.dataset.name}: {len(data.y):,} train, {n_val:,} "
              f"validation; run folder {run}", flush=True)
    deadline = _deadline(cfg, started, args.no_report)
    progress = Progress(mode, cfg.epochs, members=k)
    nets, histories, figures, fitted = [], [], [], []
    for i in range(k):
        progress.member = i
        net = data.net if i == 0 else member_network(cfg, i, data.X.shape[1],
                                                     data.dataset.n_classes, start)
        trainer = _train_member(cfg, i, net, data, progress, deadline)
        if trainer is None:
            print(f"interrupted during network {i + 1}/{k}: an ensemble run cannot be "
                  f"resumed, and {run} holds no model; train it again with backprop train "
                  f"--config {run.path / CONFIG} --out NEW_DIR", file=sys.stderr, flush=True)
            return 130
        history = trainer.history
        nets.append(net)
        histories.append(history)
        fitted.append(trainer.epochs)
        figures.append(member_figures(i, member_config(cfg, i).seed, history))
        run.write_history(histories[0], figures)
    trained = time.monotonic()
    code = finish_ensemble(args, cfg, data, nets, histories, figures, run)
    if deadline is not None and mode != "quiet" and cfg.time is not None:
        epochs = sum(len(h) for h in histories)
        print(f"time {cfg.time}: {k} networks, {epochs:,} epochs in all, "
              f"{trained - started:.1f}s loading and training, {time.monotonic() - trained:.1f}s "
              "evaluating and saving", flush=True)
    elif deadline is not None and mode != "quiet" and min(fitted) < cfg.epochs:
        print(f"max time {cfg.max_time}: {' + '.join(f'{e:,}' for e in fitted)} of "
              f"{cfg.epochs:,} epochs a network fitted; the schedules were shortened to end "
              "on time", flush=True)
    return code


def _deadline(cfg: TrainConfig, started: float, no_report: bool) -> float | None:
    """``time.monotonic()`` by which the last network should end (None without a time)."""
    from backprop.cli.train import time_budget

    budget = time_budget(cfg, started, no_report)
    return None if budget is None else budget.start + budget.seconds - budget.reserve


def _train_member(cfg: TrainConfig, i: int, net: Any, data: Any, progress: Progress,
                  deadline: float | None) -> Any:
    """Train member ``i`` (its share of the time left, if any); its Trainer, None if interrupted.

    With ``--max-time`` the share is a ceiling on ``--epochs``.
    """
    from backprop.cli.train import EXTRA_CALLBACKS, MAX_BUDGET_EPOCHS
    from backprop.engine.train import Trainer
    from backprop.timebudget import TimeBudget

    callbacks: list = [progress, *EXTRA_CALLBACKS]
    budget = None
    if deadline is not None:
        now = time.monotonic()
        share = max((deadline - now) / (cfg.ensemble - i), 1e-3)
        budget = TimeBudget(share, start=now,
                            max_epochs=cfg.epochs if cfg.time is None else None)
        callbacks.insert(0, budget)
    trainer = Trainer(net, member_config(cfg, i), augment=data.augment, callbacks=callbacks)
    if budget is not None and budget.max_epochs is None:
        trainer.epochs = MAX_BUDGET_EPOCHS  # until the first epoch is timed
    try:
        with stop_on_signals(trainer):
            history = trainer.fit(data.X, data.y, data.validation)
    except KeyboardInterrupt:
        return None
    finally:
        progress.close()
    return None if history.interrupted else trainer


def member_figures(i: int, seed: int, history: Any) -> dict:
    """One network's entry of history.json's ``members``: seed, epochs, final figures."""
    last = history.records[-1] if history.records else {}
    entry = {"network": i + 1, "seed": seed, "epochs_trained": len(history),
             "best_epoch": history.best_epoch, "stopped_early": history.stopped_early,
             "train_seconds": round(sum(r["seconds"] for r in history.records), 3)}
    for key in ("loss", "acc", "val_loss", "val_acc"):
        if last.get(key) is not None:
            entry[key] = last[key]
    return entry


def ensemble_test_accuracy(data: Any, nets: list) -> tuple[float, list[float], int] | None:
    """Test accuracy of the ensemble, of each network, and the test set's size (None: none)."""
    from backprop.model.model import Model

    ds = data.dataset
    if ds.X_test is None or not len(ds.X_test):
        return None
    x = data.preprocessor.transform(ds.X_test)
    probas = [Model.outputs_to_proba(net.predict_proba(x)) for net in nets]
    mean = np.sum(probas, axis=0) / len(probas)
    each = [float(np.mean(p.argmax(axis=1) == ds.y_test)) for p in probas]
    return float(np.mean(mean.argmax(axis=1) == ds.y_test)), each, len(ds.y_test)


def finish_ensemble(args: argparse.Namespace, cfg: TrainConfig, data: Any, nets: list,
                    histories: list, figures: list[dict], run: RunFolder) -> int:
    """Save the ensemble, write history and report, print the summary; return the exit code."""
    from backprop.cli.trainsummary import (
        NO_BETTER_THAN_CHANCE,
        learned_nothing,
        train_accuracy,
        write_report,
    )

    seconds = sum(f["train_seconds"] for f in figures)
    summary = {"epochs_trained": len(histories[0]), "best_epoch": histories[0].best_epoch,
               "train_seconds": round(seconds, 3)}
    scores = ensemble_test_accuracy(data, nets)
    test_line = "no test set"
    if scores is not None:
        acc, each, n = scores
        for f, a in zip(figures, each):
            f["test_accuracy"] = a
        summary.update(test_accuracy=acc, member_test_accuracy=each)
        test_line = (f"test accuracy {acc:.2%} ({round(acc * n)}/{n}) of the ensemble of "
                     f"{len(nets)} networks (each: {', '.join(f'{a:.2%}' for a in each)})")
    run.write_history(histories[0], figures)
    run.save_model(nets[0], members=nets, **data.model_meta(cfg), **summary)
    write_report(args, run, data.dataset)
    epochs = " + ".join(str(f["epochs_trained"]) for f in figures)
    print(f"{test_line}  |  {epochs} epochs in {seconds:.1f}s\n"
          f"run folder: {run}  (model.npz{', report.html' if not args.no_report else ''})",
          flush=True)
    warning = learned_nothing(histories[0], data.y, train_accuracy(nets, data.X, data.y))
    if warning:
        print(warning, file=sys.stderr, flush=True)
        return NO_BETTER_THAN_CHANCE
    return 0
