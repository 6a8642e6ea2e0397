"""A run folder's life: create (guarded), checkpoint, interrupt, resume or continue, finish.

``backprop train`` writes everything of a run into one folder:

``config.toml``     every setting and the versions (a valid ``--config`` file)
``history.json``    one record per epoch
``checkpoint.npz``  the trainer's whole state after the last epoch (or minibatch,
                    when interrupted): what ``--resume`` continues from
``best.npz``        the best epoch's model, when validating
``model.npz``       the final model

The guard: ``--out`` must be a new or an empty folder, so nothing that was
there is ever overwritten.  ``--resume RUN`` continues an interrupted run;
``--resume RUN --epochs N`` continues a finished one up to N epochs in all.
An ensemble run (``--ensemble K``, K > 1) writes no checkpoint and no
``best.npz`` and cannot be resumed: ``--resume`` refuses it in one line.
"""

from __future__ import annotations

import contextlib
import json
import platform
import signal
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from backprop.config import SettingsError, TrainConfig
from backprop.engine.history import Callback
from backprop.errors import BackpropError, ModelFileError
from backprop.fileio import atomic_write_text

CONFIG, HISTORY, CHECKPOINT = "config.toml", "history.json", "checkpoint.npz"
MODEL, BEST = "model.npz", "best.npz"


class RunFolderError(BackpropError, ValueError):
    """A run folder cannot be created, resumed or continued as asked."""


def _versions() -> dict:
    from backprop import __version__

    return {
        "backprop_version": __version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "created": datetime.now().isoformat(timespec="seconds"),
    }


class RunFolder:
    """The folder of one training run (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    # ------------------------------------------------------------------ create / open
    @classmethod
    def create(cls, out: str | None, dataset_name: str) -> RunFolder:
        """A new run folder: ``out`` if it is new or empty, else runs/<dataset>-<time>[-k]."""
        if out is None:
            base = Path("runs") / f"{dataset_name or 'data'}-{datetime.now():%Y%m%d-%H%M%S}"
            path, k = base, 2
            while path.exists():
                path, k = Path(f"{base}-{k}"), k + 1
            path.mkdir(parents=True)
            return cls(path)
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise RunFolderError(f"--out {path} is a file; give a new or empty folder for the run")
        if path.is_dir():
            entries = sorted(p.name for p in path.iterdir())
            if (path / CONFIG).exists() or (path / MODEL).exists():
                raise RunFolderError(
                    f"{path} already holds a run; pick another --out, or continue it with "
                    f"backprop train --resume {path}"
                )
            if entries:
                shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
                raise RunFolderError(
                    f"--out {path} is not empty (it holds {shown}); give a new or empty folder "
                    "so that nothing in it is overwritten"
                )
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    @classmethod
    def open(cls, path: str) -> RunFolder:
        """An existing run folder for ``--resume``."""
        run = cls(Path(path))
        if not run.path.is_dir():
            raise RunFolderError(f"--resume {path}: no such run folder")
        if not (run.path / CONFIG).is_file():
            raise RunFolderError(
                f"--resume {path}: not a run folder ({CONFIG} is missing); give the folder "
                "backprop train wrote"
            )
        k = run.read_config().ensemble
        if k > 1:
            raise RunFolderError(
                f"--resume {path}: an ensemble run (ensemble = {k}) cannot be resumed or "
                f"continued; train it again with backprop train --config "
                f"{run.path / CONFIG} --out NEW_DIR"
            )
        if not (run.path / CHECKPOINT).is_file():
            raise RunFolderError(
                f"{run.path / CHECKPOINT} does not exist, so there is nothing to resume"
            )
        return run

    # ------------------------------------------------------------------ files
    def write_config(self, cfg: TrainConfig, preset: str | None) -> None:
        from backprop.configfile import config_toml

        header = ("backprop train settings of this run; repeat it with\n"
                  f"  backprop train --config {self.path / CONFIG}")
        if preset:
            header += f"\n(started from --preset {preset})"
        atomic_write_text(self.path / CONFIG, config_toml(cfg, header, **_versions()))

    def read_config(self) -> TrainConfig:
        from backprop.configfile import config_from_file

        return TrainConfig.from_dict(config_from_file(self.path / CONFIG), str(self.path / CONFIG))

    def write_history(self, history, members: list[dict] | None = None) -> None:
        """history.json: ``history``'s records (member 0's for an ensemble) and ``members``."""
        from backprop.model.modelfile import jsonable

        doc = history.to_dict()
        if members is not None:
            doc["members"] = members
        text = json.dumps(jsonable(doc, "history"), indent=1)
        atomic_write_text(self.path / HISTORY, text + "\n")

    def save_checkpoint(self, trainer) -> None:
        from backprop.model.checkpoint import save_checkpoint

        save_checkpoint(self.path / CHECKPOINT, trainer)

    def restore(self, trainer, n_samples: int) -> None:
        """Load ``checkpoint.npz`` into ``trainer`` (and its network); one-line errors."""
        from backprop.model.checkpoint import load_checkpoint

        path = self.path / CHECKPOINT
        try:
            params, state, _meta = load_checkpoint(path)
            trainer.net.set_params(params)
            trainer.load_state_dict(state)
        except ModelFileError as exc:
            raise RunFolderError(f"{exc}; the run cannot be resumed from it") from exc
        except Exception as exc:  # a damaged file: any reader error is one sentence
            raise RunFolderError(
                f"{path} is damaged or does not match {self.path / CONFIG} "
                f"({type(exc).__name__}: {exc}); the run cannot be resumed from it"
            ) from exc
        perm = trainer.perm
        if perm is not None and (perm.shape != (n_samples,) or perm.min() < 0
                                 or perm.max() >= n_samples):
            raise RunFolderError(
                f"{path} was written for another training set ({len(perm)} samples, the data "
                f"now has {n_samples}); the run cannot be resumed from it"
            )

    def save_model(self, net, name: str = MODEL, members: list | None = None,
                   **meta: Any) -> Path:
        """Write ``net`` (with ``members``, an ensemble) as model file ``name``."""
        from backprop.model.modelfile import save

        return save(net, self.path / name, members=members, **meta)

    def saver(self, model_meta: dict, validating: bool) -> Callback:
        """The callback that writes history, checkpoint and best model after each epoch."""
        return _Saver(self, model_meta, validating)


class _Saver(Callback):
    """After each epoch: history.json, checkpoint.npz, and best.npz when validation improved.

    history.json and checkpoint.npz hold the whole history, so writing them
    after every one of thousands of short epochs (xor, small data sets) would
    cost time quadratic in the epochs: they are written after the first epoch,
    then at most every :data:`SAVE_EVERY` seconds, and after the last.
    """

    def __init__(self, run: RunFolder, model_meta: dict, validating: bool) -> None:
        self.run, self.model_meta, self.validating = run, model_meta, validating
        self.saved_at: float | None = None

    def _save(self, trainer) -> None:
        self.run.write_history(trainer.history)
        self.run.save_checkpoint(trainer)
        self.saved_at = time.monotonic()

    def on_epoch_end(self, trainer, epoch, record):
        if self.validating and trainer.history.best_epoch == epoch + 1:
            self.run.save_model(trainer.net, BEST, **self.model_meta, best_epoch=epoch + 1)
        due = self.saved_at is None or time.monotonic() - self.saved_at >= SAVE_EVERY
        last = (trainer.epoch >= trainer.epochs or trainer.stop_requested
                or trainer.stop_training
                or (trainer.patience is not None and trainer.bad_epochs >= trainer.patience))
        if due or last:
            self._save(trainer)


#: Most seconds between two end-of-epoch saves of history.json and checkpoint.npz.
SAVE_EVERY = 2.0


def continue_settings(run: RunFolder, cfg: TrainConfig, epochs: int | None) -> TrainConfig:
    """The settings to go on with: ``cfg``, or with ``epochs`` in all when given.

    A finished run (all epochs done, or stopped early) continues only with a
    larger ``epochs``.
    """
    from backprop.model.checkpoint import load_checkpoint

    try:
        _, state, _ = load_checkpoint(run.path / CHECKPOINT)
        done, batch = int(state["epoch"]), int(state["batch"])
        stopped = bool(state["history"].get("stopped_early"))
    except Exception as exc:
        raise RunFolderError(
            f"{run.path / CHECKPOINT} is damaged or incomplete ({type(exc).__name__}: {exc}); "
            "the run cannot be resumed from it"
        ) from exc
    finished = batch == 0 and (done >= cfg.epochs or stopped)
    if epochs is None:
        if finished:
            raise RunFolderError(
                f"the run in {run} has finished ({done} epochs); continue it with "
                f"backprop train --resume {run} --epochs N, N > {done}"
            )
        return cfg
    if epochs <= done:
        raise SettingsError(
            f"--epochs {epochs}: the run in {run} has already trained {done} epochs; "
            f"give more than {done} (the total, not the number to add)"
        )
    return cfg.updated(f"--resume {run}", epochs=epochs)


@contextlib.contextmanager
def stop_on_signals(trainer) -> Iterator[None]:
    """Ctrl-C/SIGTERM ask ``trainer`` to stop after its minibatch; a second Ctrl-C stops now."""

    def handler(signum, frame):
        if trainer.stop_requested:
            raise KeyboardInterrupt
        trainer.request_stop()
        print(
            f"\n{signal.Signals(signum).name}: finishing this minibatch and saving a checkpoint "
            "(press Ctrl-C again to stop at once)",
            file=sys.stderr, flush=True,
        )

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread
            old[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
