"""The client side of a study: ask Optuna for trials, run them as Dask tasks, tell the results.

The client keeps exactly as many trials in flight as the cluster has worker
threads.  Each new trial's parameters come from ``Study.ask`` with the
space's distributions, so one sampler (seeded) sees every result; the task
(:func:`backprop.tune.objective.run_trial`) reports to the pruner itself.
When a task ends, ``Study.tell`` records it: complete (its validation
accuracy), pruned, or failed with a note (the worker died, training
diverged, the time limit or Ctrl-C stopped it).

Time limit and Ctrl-C: no new trial starts, and a ``distributed.Event`` asks
the running trials to stop after their current minibatch; they are marked
failed with a note, and ``--resume`` queues their parameters again.  A second
Ctrl-C stops without waiting.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

from backprop.tune import cluster as dask_cluster
from backprop.tune.objective import run_trial
from backprop.tune.space import SearchSpace, trial_settings

#: Seconds between two looks at the running trials' futures.
POLL_SECONDS = 0.25

#: Test hook: the worker running the trial with this number kills itself after one epoch.
KILL_ENV = "BACKPROP_TUNE_TEST_KILL_TRIAL"


@dataclass
class Counts:
    """Trials of this session by outcome, for the progress line."""

    complete: int = 0
    pruned: int = 0
    failed: int = 0
    running: int = 0
    best: float | None = None
    best_trial: int | None = None
    events: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.complete + self.pruned + self.failed


def format_seconds(seconds: float) -> str:
    """``4:05`` for 245 seconds, ``1:02:03`` past an hour."""
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """One status line (rewritten in place on a terminal) and one line per finished trial."""

    def __init__(self, quiet: bool, stream=None) -> None:
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self.width = 0

    def status(self, c: Counts, time_left: float | None) -> str:
        best = "none yet" if c.best is None else f"{c.best:.4f} (trial {c.best_trial})"
        left = "" if time_left is None else f" | {format_seconds(time_left)} left"
        return (
            f"trials: {c.done} done ({c.complete} complete, {c.pruned} pruned, {c.failed} "
            f"failed), {c.running} running | best val acc {best}{left}"
        )

    def event(self, line: str, c: Counts, time_left: float | None) -> None:
        if self.quiet:
            return
        self._clear()
        print(line, file=self.stream, flush=True)
        if not self.tty:
            print("  " + self.status(c, time_left), file=self.stream, flush=True)
        self.tick(c, time_left)

    def tick(self, c: Counts, time_left: float | None) -> None:
        if self.quiet or not self.tty:
            return
        text = self.status(c, time_left)
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def _clear(self) -> None:
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.width = 0

    def close(self) -> None:
        if self.tty and self.width and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0


def _short(params: dict) -> str:
    parts = []
    for k, v in params.items():
        parts.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts)


class StudyRunner:
    """Drive one session of a study on a Dask cluster (see the module docstring)."""

    def __init__(self, study, storage, client, space: SearchSpace, data_future,
                 dataset_values: dict, image_shape, blas_threads: int,
                 progress: Progress, trial_time: float | None = None) -> None:
        self.study = study
        self.storage = storage
        self.client = client
        self.space = space
        self.data_future = data_future
        self.trial_data = None  # the local copy, to scatter again if the workers lose it
        self.dataset_values = dataset_values
        self.image_shape = image_shape
        self.blas_threads = blas_threads
        self.trial_time = trial_time
        self.progress = progress
        self.distributions = space.distributions()
        self.in_flight: dict = {}  # future -> optuna Trial
        self.counts = Counts()
        self.stop_name = f"backprop-tune-stop-{storage.name}"
        self.stop_reason: str | None = None
        self.kill_number = os.environ.get(KILL_ENV)

    # ---------------------------------------------------------------- one trial
    def _submit(self) -> None:
        trial = self.study.ask(self.distributions)
        settings = trial_settings(self.space, trial.params, self.dataset_values, self.image_shape)
        trial.set_user_attr("settings", settings)
        if self.trial_time:
            trial.set_user_attr("trial_time", self.trial_time)
        task = {
            "study_name": self.study.study_name,
            "trial_id": trial._trial_id,
            "number": trial.number,
            "settings": settings,
            "pruner": self.space.pruner,
            "stop_event": self.stop_name,
            "blas_threads": self.blas_threads,
            "trial_time": self.trial_time,
            "kill": self.kill_number is not None and int(self.kill_number) == trial.number,
        }
        if self.data_future.status != "finished" and self.trial_data is not None:
            # every worker holding the scattered data died: ship it again
            self.data_future = self.client.scatter(self.trial_data, broadcast=True, hash=False)
        future = self.client.submit(
            run_trial, task, self.data_future, self.storage, pure=False,
            key=f"trial-{trial.number}-{self.storage.name}",
        )
        self.in_flight[future] = trial
        self.counts.running = len(self.in_flight)

    def _finish(self, future, time_left: float | None, note: str | None = None) -> None:
        from optuna.trial import TrialState

        trial = self.in_flight.pop(future)
        self.counts.running = len(self.in_flight)
        if note is None:
            try:
                outcome = future.result()
            except Exception as exc:  # KilledWorker, a lost connection, a bug in the task
                outcome = self._recorded(trial) or {
                    "state": "fail", "reason": self.stop_reason or _reason(exc)}
        else:
            future.cancel()
            outcome = {"state": "fail", "reason": note}
        future.release()
        state = outcome["state"]
        if state == "stale":
            return
        number = trial.number
        if state == "complete":
            self.study.tell(trial, outcome["value"])
            self.counts.complete += 1
            if self.counts.best is None or outcome["value"] > self.counts.best:
                self.counts.best, self.counts.best_trial = outcome["value"], number
            line = f"trial {number} complete: val acc {outcome['value']:.4f}"
        elif state == "pruned":
            self.study.tell(trial, state=TrialState.PRUNED)
            self.counts.pruned += 1
            line = f"trial {number} pruned after {outcome['epochs']} epochs"
        else:
            reason = outcome.get("reason", "")
            if state == "stopped":
                reason = self.stop_reason or reason
            self.storage.set_trial_user_attr(trial._trial_id, "note", _note(reason))
            self.study.tell(trial, state=TrialState.FAIL)
            self.counts.failed += 1
            line = f"trial {number} failed: {reason}"
        if "seconds" in outcome:
            secs = outcome["seconds"]
            line += f" in {secs:.1f} s" if secs < 60 else f" in {format_seconds(secs)}"
        if "pid" in outcome:
            line += f" (worker pid {outcome['pid']})"
        self.progress.event(f"{line}  [{_short(trial.params)}]", self.counts, time_left)

    def _recorded(self, trial) -> dict | None:
        """The outcome the trial's task stored before its result was lost, or None.

        The task writes its outcome to the study (``objective``) before it
        returns; a worker that dies after that, before the result reaches this
        process, loses only the copy (Dask then reports the future cancelled).
        """
        attrs = self.storage.get_trial(trial._trial_id).user_attrs
        outcome = attrs.get("outcome")
        if isinstance(outcome, dict) and outcome.get("state") in ("complete", "pruned"):
            return dict(outcome)
        return None

    # ---------------------------------------------------------------- the loop
    def _signal_stop(self, reason: str) -> None:
        if self.stop_reason is not None:
            return
        from distributed import Event

        self.stop_reason = reason
        Event(self.stop_name, client=self.client).set()

    def _step(self, more: bool, time_left: float | None) -> None:
        """Fill the free worker threads with new trials (if ``more``); collect finished ones."""
        open_slots = dask_cluster.slots(self.client) - len(self.in_flight)
        if more and open_slots <= 0 and not self.in_flight and not self.waiting_shown:
            self.progress.event("waiting for Dask workers to connect...", self.counts, time_left)
            self.waiting_shown = True
        while more and open_slots > 0 and (self.n_trials is None or self.started < self.n_trials):
            self._submit()
            self.started += 1
            open_slots -= 1
        done = [f for f in self.in_flight if f.done()]
        if not done:
            time.sleep(POLL_SECONDS)
        for future in done:
            self._finish(future, time_left)
        self.progress.tick(self.counts, time_left)

    def run(self, n_trials: int | None, seconds: float | None) -> bool:
        """Run up to ``n_trials`` new trials within ``seconds``; False if Ctrl-C stopped it.

        SIGINT and SIGTERM only set a flag that the loop reads, so a result is
        never half recorded: the first stops new trials and asks the running
        ones to stop, the second marks the running ones failed at once.
        """
        deadline = None if seconds is None else time.monotonic() + seconds
        self.n_trials, self.started, self.waiting_shown = n_trials, 0, False
        signals = {"count": 0}

        def handler(signum, frame):
            signals["count"] += 1

        old = _install(handler)
        time_left = None
        try:
            while True:
                time_left = None if deadline is None else deadline - time.monotonic()
                if signals["count"] and self.stop_reason != "interrupted":
                    self.stop_reason = None  # Ctrl-C overrides the time limit's note
                    self._signal_stop("interrupted")
                    self.progress.event(
                        "Ctrl-C: no new trials; the running ones stop after their current "
                        "minibatch (Ctrl-C again to stop at once)", self.counts, time_left,
                    )
                if signals["count"] >= 2:
                    for future in list(self.in_flight):
                        self._finish(future, time_left, note="interrupted")
                    break
                out_of_time = time_left is not None and time_left <= 0
                more = not signals["count"] and not out_of_time and (
                    n_trials is None or self.started < n_trials)
                if out_of_time and self.in_flight:
                    self._signal_stop("stopped at the time limit")
                if not more and not self.in_flight:
                    break
                self._step(more, time_left)
        finally:
            _restore(old)
            self.progress.close()
        return not signals["count"]


def _install(handler) -> dict:
    """Route SIGINT and SIGTERM to ``handler`` (main thread only); return the old handlers."""
    import signal
    import threading

    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
    return old


def _restore(old: dict) -> None:
    import signal

    for sig, h in old.items():
        signal.signal(sig, h)


def _reason(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "KilledWorker":
        return "its worker died mid-trial"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{name}: {text}"[:300]


def _note(reason: str) -> str:
    """The short note stored with a failed trial (``recover`` re-runs some of them)."""
    for note in ("interrupted", "stopped at the time limit"):
        if reason.startswith(note):
            return note
    return reason[:300]
