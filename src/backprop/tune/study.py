"""The study and where it is stored: SQLite in the tune folder, served through Dask.

The study lives in ``TUNE_DIR/study.db``, Optuna's RDB storage on SQLite.
The Dask scheduler opens that file and serves it to the client and to every
worker (``optuna_integration.DaskStorage``), so trials on any machine report
to and read from the same study, and no worker needs the tune folder.  With
the embedded cluster the scheduler runs inside ``backprop tune``; with
``--scheduler`` it must run on the machine that holds the tune folder (or see
it at the same absolute path), which :func:`open_study` checks.

SQLite writes whole transactions, so a process killed mid-write leaves the
file as it was before that transaction.  Trials still marked running when a
study is resumed belonged to a process that is gone: :func:`recover` marks
them failed and queues their parameters again, with those of the trials the
time limit or Ctrl-C stopped.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from backprop.tune.objective import make_pruner, quiet_optuna

STUDY_NAME = "backprop-tune"
DB_NAME = "study.db"

#: Notes of trials that ended without a result of their own; --resume runs their parameters again.
RERUN_NOTES = ("interrupted", "stopped at the time limit", "its tune process stopped")


def make_sampler(study: dict, n_done: int):
    """The study's sampler, seeded; ``n_done`` shifts the seed so a resumed study draws anew."""
    import optuna

    seed = int(study["seed"]) + n_done
    if study["sampler"] == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=int(study["startup_trials"]), constant_liar=True,
    )


def open_study(tune_dir: Path, client, space, resume: bool, scheduler: str | None):
    """Create (or, resuming, load) the study in ``tune_dir/study.db``, served by the scheduler.

    Returns
    -------
    (optuna.Study, DaskStorage)
    """
    import optuna
    from optuna_integration.dask import DaskStorage

    quiet_optuna()
    db = (tune_dir / DB_NAME).resolve()
    if resume and not db.is_file():
        raise FileNotFoundError(f"--resume {tune_dir}: {db} does not exist, nothing to resume")
    storage = DaskStorage(
        storage=f"sqlite:///{db}", name=f"backprop-tune-{uuid.uuid4().hex}", client=client
    )
    n_done = 0
    if resume:
        n_done = len(storage.get_all_trials(_study_id(storage)))
    study = optuna.create_study(
        study_name=STUDY_NAME, storage=storage, direction="maximize", load_if_exists=resume,
        sampler=make_sampler(space.study, n_done), pruner=make_pruner(space.pruner),
    )
    if not db.is_file():
        raise ValueError(
            f"the Dask scheduler at {scheduler} wrote the study to {db} on its own machine, not "
            "this one; run backprop tune on the scheduler's machine or give --out a folder "
            "both machines see at the same path"
        )
    return study, storage


def _study_id(storage) -> int:
    try:
        return storage.get_study_id_from_name(STUDY_NAME)
    except KeyError:
        raise ValueError(
            f"the study database has no study named {STUDY_NAME!r}; is it a backprop tune folder?"
        ) from None


def close_storage(storage, client) -> None:
    """Drop the storage from the scheduler so it closes the SQLite file."""

    def _drop(dask_scheduler, name: str) -> None:
        ext = dask_scheduler.extensions.get("optuna")
        if ext is None:
            return
        inner = ext.storages.pop(name, None)
        backend = getattr(inner, "_backend", inner)
        engine = getattr(backend, "engine", None)
        if engine is not None:
            engine.dispose()

    try:
        client.run_on_scheduler(_drop, name=storage.name)
    except Exception:  # the cluster is already gone: nothing left to close
        pass


def recover(study) -> list[int]:
    """Fail trials left running by a stopped process and queue the unfinished ones again.

    Returns the numbers of the trials whose parameters were queued.
    """
    from optuna.trial import TrialState

    storage = study._storage
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_user_attr(t._trial_id, "note", "its tune process stopped")
        storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
    trials = study.get_trials(deepcopy=False)
    done = {t.user_attrs.get("rerun_of") for t in trials}
    requeued = []
    for t in trials:
        if (t.state == TrialState.FAIL and t.user_attrs.get("note") in RERUN_NOTES
                and t.number not in done):
            study.enqueue_trial(t.params, user_attrs={"rerun_of": t.number})
            requeued.append(t.number)
    return requeued


class FolderLock:
    """An exclusive lock on the tune folder, so two processes never drive one study."""

    def __init__(self, tune_dir: Path) -> None:
        self.path = tune_dir / ".lock"
        self.fd: int | None = None

    def __enter__(self) -> FolderLock:
        try:
            import fcntl
        except ImportError:  # no flock on this platform
            return self
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            self.fd = None
            raise ValueError(
                f"{self.path.parent} is in use by another backprop tune process; wait for it "
                "to finish or stop it first"
            ) from None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
