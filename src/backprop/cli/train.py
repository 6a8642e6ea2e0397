"""`backprop train`: train a network into a run folder; resume, continue or fine-tune a run.

The flags come from the settings' declaration (``backprop.cli.trainflags``),
the run folder's life from ``backprop.cli.runfolder``, the progress output
from ``backprop.cli.progress`` and the closing summary from
``backprop.cli.trainsummary``.  This module joins them: settings → data →
network → trainer → run folder.

Ctrl-C or SIGTERM finishes the current minibatch, saves ``checkpoint.npz``
and exits with 130; ``backprop train --resume RUN_DIR`` continues to exactly
the weights an uninterrupted run would reach.  ``--ensemble K`` (K > 1) hands
the run to ``backprop.cli.ensemble``.  Tests inject an interrupt (or
any other callback) through :data:`EXTRA_CALLBACKS`.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop.cli.progress import Progress
from backprop.cli.runfolder import RunFolder, RunFolderError, continue_settings, stop_on_signals
from backprop.cli.trainflags import print_config, resolve_config
from backprop.config import SETTINGS, TrainConfig, build_network
from backprop.engine.history import Callback
from backprop.errors import DataError

#: Callbacks added to every run of this process (tests append one that interrupts).
EXTRA_CALLBACKS: list[Callback] = []


def add_parser(sub: argparse._SubParsersAction) -> None:
    from backprop.cli import trainflags

    trainflags.add_parser(sub, run)


@dataclass
class TrainingData:
    """What a run trains on: the data set, the scaled arrays, and the network to train."""

    dataset: Any
    X: np.ndarray
    y: np.ndarray
    validation: tuple[np.ndarray, np.ndarray] | None
    preprocessor: Any
    net: Any
    augment: Any

    def model_meta(self, cfg: TrainConfig) -> dict:
        from backprop.model.model import image_steps_for

        ds = self.dataset
        return {
            "preprocessor": self.preprocessor,
            "class_names": ds.class_names,
            "train_config": cfg,
            "dataset": ds.name,
            "image_shape": list(ds.image_shape) if ds.image_shape else None,
            "image": image_steps_for(ds),
        }


def load_data(cfg: TrainConfig, cache_dir: str | None = None, progress: bool = True):
    """The Dataset a config names (``dataset`` "" with ``data_dir`` means the user's data)."""
    from backprop.data import load_dataset

    ds = load_dataset(cfg.dataset or None, data_dir=cfg.data_dir, cache_dir=cache_dir,
                      progress=progress, image_size=cfg.image_size)
    if cfg.image_size is not None and "folder" not in ds.files:
        raise DataError(
            f"--image-size {cfg.image_size} resizes the images of a folder of class sub-folders; "
            f"{cfg.data_dir or ds.name} is not one: drop --image-size"
        )
    return ds


def prepare_data(cfg: TrainConfig, ds, preprocessor=None) -> tuple:
    """Split off validation data (seeded by cfg.seed), fit the preprocessor on the rest.

    Returns ``(X_train, y_train, validation_data or None, preprocessor)`` with
    X arrays flattened and scaled.  The same config and data give the same
    arrays, which ``--resume`` relies on.  A given ``preprocessor`` (a
    fine-tuned model's) is used instead of fitting one.
    """
    from backprop.data import Preprocessor, stratified_split

    X, y = ds.X_train, ds.y_train
    classes = np.unique(y)
    if len(classes) < 2:
        raise DataError(
            f"the training set of {ds.name or cfg.data_dir} holds one class only "
            f"({ds.class_names[int(classes[0])] if len(classes) else 'none'}); a classifier "
            "needs at least 2 classes"
        )
    val = None
    if cfg.validation_split:
        X, y, Xv, yv = stratified_split(X, y, cfg.validation_split, np.random.default_rng(cfg.seed))
        val = (Xv, yv)
    pre = preprocessor or Preprocessor(scale=cfg.scale, dtype=cfg.dtype).fit(X)
    Xt = pre.transform(X)
    if val is not None:
        val = (pre.transform(val[0]), val[1])
    return Xt, y, val, pre


def make_augment(cfg: TrainConfig, image_shape):
    """The training-time augmentation (None for augment="none")."""
    from backprop.data.augment import make_augment as _make

    return _make(cfg, image_shape)


def init_from(cfg: TrainConfig) -> tuple[TrainConfig, Any]:
    """For ``--init-from MODEL``: the settings with the model's architecture, and the model."""
    from backprop.model.modelfile import load

    model = load(cfg.init_from)
    c = model.network.config()
    hidden = c["activation"]
    if len(set(hidden)) > 1:
        raise RunFolderError(
            f"--init-from {cfg.init_from}: its hidden layers mix activations {hidden}; "
            "backprop train fine-tunes networks with one hidden activation"
        )
    arch = {"hidden": list(c["sizes"][1:-1]), "output": c["output"], "loss": c["loss"],
            "dtype": c["dtype"], "leaky_slope": c["leaky_slope"],
            "batch_norm": False}  # a model file's network has batch norm folded in
    if hidden:
        arch["activation"] = hidden[0]
    return cfg.updated(f"--init-from {cfg.init_from}", **arch), model


def prepare(cfg: TrainConfig, cache_dir: str | None, progress: bool, model=None,
            ds=None) -> TrainingData:
    """Load the data (unless ``ds`` is given), split and scale it, build the network."""
    ds = load_data(cfg, cache_dir, progress=progress) if ds is None else ds
    X, y, val, pre = prepare_data(cfg, ds, None if model is None else model.preprocessor)
    net = build_network(cfg, X.shape[1], ds.n_classes)
    if model is not None:
        if model.sizes != net.sizes:
            raise DataError(
                f"--init-from {cfg.init_from}: the model is {model.sizes[0]} inputs → "
                f"{model.sizes[-1]} outputs, the data {net.sizes[0]} features → "
                f"{net.sizes[-1]} classes; fine-tune on data of the same shape and classes"
            )
        net.set_params(model.network.get_params())
    return TrainingData(ds, X, y, val, pre, net, make_augment(cfg, ds.image_shape))


def _settings_given(args: argparse.Namespace) -> list[str]:
    given = [s.flag for s in SETTINGS.values() if hasattr(args, s.name) and s.name != "epochs"]
    given += [flag for flag, v in (("--preset", args.preset), ("--config", args.config),
                                   ("--out", args.out)) if v is not None]
    return given


def settings_for(args: argparse.Namespace) -> tuple[TrainConfig, str | None, RunFolder | None]:
    """The run's settings, its preset, and the run folder when resuming."""
    if args.resume is None:
        cfg, preset = resolve_config(args)
        return cfg, preset, None
    given = _settings_given(args)
    if given:
        raise RunFolderError(
            f"--resume continues {args.resume} with its own settings; drop {', '.join(given)}"
        )
    run_dir = RunFolder.open(args.resume)
    epochs = SETTINGS["epochs"].check(SETTINGS["epochs"].parse(args.epochs), "command line",
                                      args.epochs) if hasattr(args, "epochs") else None
    cfg = continue_settings(run_dir, run_dir.read_config(), epochs)
    return cfg, None, run_dir


def _given(args: argparse.Namespace) -> set[str]:
    """The settings set by flags or by the --config file (which adapt() leaves alone)."""
    from backprop.cli.trainflags import flag_values
    from backprop.configfile import config_from_file

    given = set(flag_values(args))
    if args.config is not None:
        given |= set(config_from_file(args.config))
    return given


def read_notes(ds) -> list[str]:
    """What ``train`` says of how it read ``ds``: a CSV's label column (and why), colour
    images, images resized to one size."""
    from backprop.data.colour import colour_words

    if colour_words(ds.image_shape):
        return [f"read {ds.source} in {colour_words(ds.image_shape)}", *ds.notes]
    return [f"read {ds.source}"] * ("csv" in ds.files) + ds.notes  # CSV: its label column


def run(args: argparse.Namespace) -> int:
    from backprop.adapt import adapt
    from backprop.cli.trainsummary import finish
    from backprop.engine.train import Trainer

    started = time.monotonic()
    cfg, preset, run_dir = settings_for(args)
    model = None
    if cfg.init_from:
        cfg, model = init_from(cfg)
    if args.print_config:
        return print_config(cfg, preset or "none")
    mode = "quiet" if args.quiet else ("bar" if sys.stdout.isatty() else "lines")
    ds, notes = None, []
    if run_dir is None:  # a new run: fit length, distortions and validation to the data
        ds = load_data(cfg, args.cache_dir, progress=mode != "quiet")
        cfg, notes = adapt(cfg, ds, _given(args))
        notes[:0] = read_notes(ds)
    data = prepare(cfg, args.cache_dir, mode != "quiet", model, ds)
    if cfg.ensemble > 1:  # (--resume refuses ensemble runs)
        from backprop.cli.ensemble import train_ensemble

        return train_ensemble(args, cfg, preset, data, model, started, notes, mode)
    resuming = run_dir is not None
    if run_dir is None:
        run_dir = RunFolder.create(args.out, data.dataset.name)
        run_dir.write_config(cfg, preset)
    elif cfg.epochs != run_dir.read_config().epochs:
        run_dir.write_config(cfg, None)
    progress = Progress(mode, cfg.epochs)
    saver = run_dir.saver(data.model_meta(cfg), data.validation is not None)
    budget = time_budget(cfg, started, args.no_report) if not resuming else None
    trainer = Trainer(data.net, cfg, augment=data.augment,
                      callbacks=[*([budget] if budget else []), progress, saver,
                                 *EXTRA_CALLBACKS])
    if budget is not None and budget.max_epochs is None:
        trainer.epochs = MAX_BUDGET_EPOCHS  # until the first epoch is timed
    for note in notes if mode != "quiet" else ():
        print(note, flush=True)
    if resuming:
        run_dir.restore(trainer, len(data.y))
        if trainer.history.stopped_early:  # continued after early stopping: patience anew
            trainer.history.stopped_early, trainer.bad_epochs = False, 0
        if mode != "quiet":
            where = f", minibatch {trainer.batch}" if trainer.batch else ""
            print(f"resuming {run_dir} at epoch {trainer.epoch + 1}/{cfg.epochs}{where}",
                  flush=True)
    elif mode != "quiet":
        n_val = 0 if data.validation is None else len(data.validation[1])
        start = f" from {cfg.init_from}" if cfg.init_from else ""
        print(f"training {data.net}{start} on {data.dataset.name}: {len(data.y):,} train, "
              f"{n_val:,} validation; run folder {run_dir}", flush=True)
    try:
        with stop_on_signals(trainer):
            history = trainer.fit(data.X, data.y, data.validation)
    except KeyboardInterrupt:
        progress.close()
        print(f"interrupted: the last end-of-epoch checkpoint is in {run_dir}; resume with "
              f"backprop train --resume {run_dir}", file=sys.stderr)
        return 130
    finally:
        progress.close()
    if budget is not None and (budget.max_epochs is None or trainer.epochs != cfg.epochs):
        # the config records the epochs the budget reached, for --resume and --config
        run_dir.write_config(cfg.updated(epochs=max(trainer.epochs, 1), time=None,
                                         max_time=None), preset)
    if history.interrupted:
        run_dir.save_checkpoint(trainer)
        run_dir.write_history(history)
        print(f"interrupted at epoch {trainer.epoch + 1}, minibatch {trainer.batch}: checkpoint "
              f"saved; resume with backprop train --resume {run_dir}", file=sys.stderr, flush=True)
        return 130
    trained = time.monotonic()
    code = finish(args, cfg, data, trainer, run_dir)
    if budget is not None and mode != "quiet":
        line = (time_summary(cfg.time, started, trained, budget, len(history))
                if budget.max_epochs is None else ceiling_summary(cfg, trainer.epochs, budget))
        if line:
            print(line, flush=True)
    return code


#: Epochs a --time run starts with, before its first epoch is timed.
MAX_BUDGET_EPOCHS = 10**6


def time_budget(cfg: TrainConfig, started: float, no_report: bool):
    """The TimeBudget callback of a ``--time`` or ``--max-time`` run (None without either).

    It keeps back 2 % of the budget plus a few seconds for the evaluation,
    saving the model and (unless ``--no-report``) the report.  ``--max-time``
    (when ``--time`` is not set) makes it a ceiling on ``cfg.epochs``.
    """
    if cfg.time is None and cfg.max_time is None:
        return None
    from backprop.timebudget import TimeBudget, parse_duration

    ceiling = cfg.time is None
    seconds = parse_duration(cfg.max_time, "max time") if ceiling else parse_duration(cfg.time)
    reserve = min(0.02 * seconds + (1.0 if no_report else 8.0), 0.2 * seconds)
    return TimeBudget(seconds, start=started, reserve=reserve,
                      max_epochs=cfg.epochs if ceiling else None)


def ceiling_summary(cfg: TrainConfig, epochs: int, budget) -> str | None:
    """``max time 9m30s: 1,040 of 1,300 epochs fitted (0.52s each); ...`` (None: not bound)."""
    if epochs >= cfg.epochs:
        return None
    return (f"max time {cfg.max_time}: {epochs:,} of {cfg.epochs:,} epochs fitted "
            f"({budget.epoch_seconds or 0.0:.2f}s each); the schedule was shortened to end "
            "on time")


def time_summary(text: str, started: float, trained: float, budget, epochs: int) -> str:
    """``time 10m: 1.2s loading, 571.0s training (1,402 epochs of 0.41s), ...``."""
    from backprop.timebudget import format_seconds

    now = time.monotonic()
    loading = budget._t0 - started
    training = trained - budget._t0
    return (
        f"time {text}: {loading:.1f}s loading and preparing the data, {training:.1f}s training "
        f"({epochs:,} epoch{'s' if epochs != 1 else ''} of {training / max(epochs, 1):.2f}s), "
        f"{now - trained:.1f}s evaluating and saving; {format_seconds(now - started)} in all"
    )
