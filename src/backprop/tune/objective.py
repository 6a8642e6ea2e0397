"""One trial of a study, as it runs inside a Dask worker.

:func:`run_trial` is the function the tune client submits to the cluster, one
task per trial.  It opens the study through the scheduler's Optuna storage
(``optuna_integration.DaskStorage``), trains the trial's settings on the
training part of the data, and after every ``interval`` percent of the
epochs reports the validation accuracy to the study's pruner and asks it
whether to stop.  The pruner reads the other trials' reports from the same
storage, so pruning works wherever the workers run.

The trial never sees test data: the client ships only the training split and
the validation split (:class:`TrialData`).  The task returns an outcome dict
and also records it in the trial's user attributes, so the client can tell
the study the result even when the task had to be run twice.
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop.engine.train import Callback

#: Seconds between two looks at the study's stop event during an epoch.
STOP_POLL_SECONDS = 2.0


@dataclass
class TrialData:
    """What every trial trains and is scored on, shipped once to each worker.

    Attributes
    ----------
    X, y : numpy.ndarray
        Training part, raw as the data set stores it: (N, ...) and (N,).
    Xv, yv : numpy.ndarray
        Validation part, held out from the training set with the study's seed.
    n_classes : int
    image_shape : tuple of int or None
    """

    X: np.ndarray
    y: np.ndarray
    Xv: np.ndarray
    yv: np.ndarray
    n_classes: int
    image_shape: tuple | None


def quiet_optuna() -> None:
    """Silence Optuna's per-trial log lines and its experimental-feature warnings."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message=".*is already reported.*")


def make_pruner(pruner: dict):
    """The Optuna pruner of a space's ``[pruner]`` table."""
    import optuna

    if pruner["kind"] == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(
        n_startup_trials=int(pruner["startup_trials"]),
        n_warmup_steps=int(pruner["warmup"]),
        interval_steps=1,
    )


class Reporter(Callback):
    """Reports validation accuracy at percent steps of the epochs; stops on prune or request.

    The step of a report is the percent of the trial's epochs done (10, 20...
    for ``interval = 10``), so trials of different lengths are compared at the
    same point of their learning-rate schedules.  Under a time limit the
    epochs are the trainer's current estimate (``backprop.timebudget``).
    """

    def __init__(self, trial, interval: int, stop_event=None,
                 kill_after_epoch: bool = False) -> None:
        self.trial = trial
        self.interval = interval
        self.stop_event = stop_event
        self.kill_after_epoch = kill_after_epoch
        self.next_step = interval
        self.pruned = False
        self.stopped = False
        self.last_poll = time.monotonic()

    def _poll_stop(self, trainer) -> None:
        now = time.monotonic()
        if self.stop_event is None or now - self.last_poll < STOP_POLL_SECONDS:
            return
        self.last_poll = now
        if self.stop_event.is_set():
            self.stopped = True
            trainer.request_stop()

    def on_batch_end(self, trainer, batch, n_batches, loss):
        self._poll_stop(trainer)

    def on_epoch_end(self, trainer, epoch, record):
        if self.kill_after_epoch:  # test hook: this worker process dies mid-trial
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
        done = 100 * (epoch + 1) // max(trainer.epochs, 1)  # percent of the epochs, rounded down
        step = done // self.interval * self.interval
        if step >= self.next_step:
            self.next_step = step + self.interval
            self.trial.report(float(record["val_acc"]), step)
            if epoch + 1 < trainer.epochs and self.trial.should_prune():
                self.pruned = True
                trainer.request_stop()
                return
        self.last_poll = 0.0  # look at the stop event at every epoch's end
        self._poll_stop(trainer)


def _earlier_run(frozen) -> dict | None:
    """The outcome for a trial this task finds already started (its worker died, or a rerun)."""
    from optuna.trial import TrialState

    attrs = frozen.user_attrs
    if frozen.state != TrialState.RUNNING:
        return {"state": "stale", "reason": f"trial already {frozen.state.name.lower()}"}
    if "outcome" in attrs:
        return dict(attrs["outcome"])
    if "pid" in attrs:
        return {
            "state": "fail",
            "reason": f"its worker died mid-trial (pid {attrs['pid']} on {attrs.get('host')})",
        }
    return None


def _train(settings: dict, data: TrialData, reporter: Reporter,
           trial_time: float | None) -> tuple[Any, float]:
    """Train one trial's settings (within ``trial_time`` seconds if given); return (history, s)."""
    from backprop.config import TrainConfig, build_network
    from backprop.data import Preprocessor
    from backprop.data.augment import make_augment
    from backprop.engine.train import Trainer

    # the score is the last epoch's, the weights backprop train keeps without validation
    cfg = TrainConfig.from_dict({**settings, "restore_best": False}, "trial settings")
    pre = Preprocessor(scale=cfg.scale, dtype=cfg.dtype).fit(data.X)
    X, Xv = pre.transform(data.X), pre.transform(data.Xv)
    net = build_network(cfg, X.shape[1], data.n_classes)
    callbacks: list = [reporter]
    if trial_time:
        from backprop.timebudget import TimeBudget

        callbacks.insert(0, TimeBudget(trial_time))  # fits epochs before the reporter reads them
    trainer = Trainer(net, cfg, augment=make_augment(cfg, data.image_shape),
                      callbacks=callbacks)
    start = time.perf_counter()
    history = trainer.fit(X, data.y, (Xv, data.yv))
    return history, time.perf_counter() - start


def run_trial(task: dict, data: TrialData, storage) -> dict:
    """Run one trial inside a Dask worker and return its outcome.

    Parameters
    ----------
    task : dict
        ``study_name``, ``trial_id``, ``number``, ``settings`` (TrainConfig
        fields), ``pruner`` (the space's ``[pruner]`` table), ``stop_event``
        (name of a ``distributed.Event``, or None), ``blas_threads``,
        ``trial_time`` (seconds, or None to train ``epochs``) and ``kill``
        (test hook: die after the first epoch).
    data : TrialData
    storage : optuna_integration.DaskStorage

    Returns
    -------
    dict
        ``state`` ("complete", "pruned", "stopped", "fail" or "stale"),
        ``value`` (validation accuracy of the last epoch, complete trials),
        ``epochs``, ``seconds``, ``pid``, ``host`` and ``reason`` for failures.
    """
    import optuna
    from threadpoolctl import threadpool_limits

    quiet_optuna()
    study = optuna.load_study(
        study_name=task["study_name"], storage=storage, pruner=make_pruner(task["pruner"]),
        sampler=optuna.samplers.RandomSampler(),  # the client samples; this one is never used
    )
    earlier = _earlier_run(storage.get_trial(task["trial_id"]))
    if earlier is not None:
        return earlier
    trial = optuna.trial.Trial(study, task["trial_id"])
    where = {"pid": os.getpid(), "host": socket.gethostname()}
    for key, value in where.items():
        trial.set_user_attr(key, value)
    stop_event = None
    if task.get("stop_event"):
        from distributed import Event

        stop_event = Event(task["stop_event"])
    reporter = Reporter(trial, int(task["pruner"]["interval"]), stop_event,
                        kill_after_epoch=bool(task.get("kill")))
    try:
        with threadpool_limits(limits=int(task.get("blas_threads", 1)), user_api="blas"):
            history, seconds = _train(task["settings"], data, reporter, task.get("trial_time"))
    except (ValueError, FloatingPointError, MemoryError) as exc:
        outcome = {"state": "fail", "reason": f"{type(exc).__name__}: {exc}", **where}
    else:
        val = history["val_acc"]
        outcome = {"epochs": len(history), "seconds": round(seconds, 3), **where}
        if reporter.pruned:
            outcome.update(state="pruned", value=float(val[-1]))
        elif reporter.stopped or history.interrupted:
            outcome.update(state="stopped", reason="stopped before its last epoch")
        else:
            outcome.update(state="complete", value=float(val[-1]))
    trial.set_user_attr("outcome", outcome)
    return outcome
