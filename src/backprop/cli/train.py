"""`backprop train`: train a network, write a run folder, resume an interrupted run.

Settings come from ``backprop.config.TrainConfig``: every field is a flag
(``--batch-size`` for ``batch_size``), and the precedence is
defaults < ``--preset`` < ``--config FILE.toml`` < flags given on the command line.

The run folder (``--out``, default ``runs/<dataset>-<YYYYmmdd-HHMMSS>/``) gets
``config.toml`` (every setting, the seed and the versions; feed it back with
``--config``), ``history.json``, ``model.npz``, ``best.npz`` (the best epoch's
weights, when validating), ``checkpoint.npz`` while the run is unfinished, and
the report (``report.html`` and PNGs) at the end.

Ctrl-C or SIGTERM finishes the current minibatch, saves ``checkpoint.npz`` and
exits with 130; ``backprop train --resume RUN_DIR`` continues to exactly the
weights an uninterrupted run would reach.  A second Ctrl-C stops at once
(the last end-of-epoch checkpoint is still there).

For tests, the environment variable ``BACKPROP_TEST_INTERRUPT_AFTER=N`` makes
the process send itself SIGINT after N minibatches (counted from the start of
this process), which exercises the real signal handler at an exact position.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from backprop.config import TrainConfig
from backprop.engine.train import Callback
from backprop.fileio import atomic_write_text

#: One line of help per setting (the default is appended from TrainConfig).
HELP = {
    "dataset": "data set: mnist (downloaded once), fashion-mnist, kmnist, mnist-sample "
    "(bundled, offline), digits, xor",
    "data_dir": "your own data: a folder of IDX files or class sub-folders, a .npz or a .csv",
    "scale": "input scaling: unit ([0,1]), standard (z-score per pixel), symmetric ([-1,1]), none",
    "validation_split": "fraction of the training set held out for validation (0: none)",
    "hidden": "hidden layer sizes, comma-separated (e.g. 256,128; empty for none)",
    "activation": "hidden activation: sigmoid, tanh, relu, leaky_relu, identity",
    "output": "output activation (default softmax, sigmoid for one unit)",
    "loss": "categorical_crossentropy, binary_crossentropy or mse (default: matches output)",
    "init": "weight init: glorot, he, uniform, normal (default he for relu, else glorot)",
    "dropout": "dropout rate of the hidden units",
    "input_dropout": "dropout rate of the input units",
    "leaky_slope": "slope of leaky_relu for z < 0",
    "dtype": "float32 or float64",
    "optimizer": "gd (full batch), sgd, momentum, nesterov, adam",
    "lr": "learning rate η",
    "momentum": "momentum α (momentum, nesterov)",
    "beta1": "Adam β1",
    "beta2": "Adam β2",
    "eps": "Adam ε",
    "schedule": "learning-rate schedule: constant, decrease, step, exponential, cosine",
    "decay": "decay constant of the decrease/exponential schedules",
    "gamma": "factor of the step schedule",
    "step_size": "epochs between steps of the step schedule",
    "lr_min": "final learning rate of the cosine schedule",
    "warmup": "epochs of linear learning-rate warm-up",
    "epochs": "number of passes over the training set",
    "batch_size": "minibatch size",
    "l1": "L1 penalty λ1",
    "l2": "L2 penalty λ2 (weight decay)",
    "max_norm": "cap on each unit's incoming weight norm",
    "label_smoothing": "label smoothing ε",
    "patience": "stop after this many epochs without improvement (validation loss)",
    "augment": "training-time augmentation: none, affine, elastic",
    "rotate": "augmentation: max rotation in degrees",
    "scale_range": "augmentation: max relative scaling",
    "shear": "augmentation: max shear in degrees",
    "shift": "augmentation: max shift in pixels",
    "elastic_alpha": "elastic distortion strength α in pixels (Simard et al. 2003)",
    "elastic_sigma": "elastic distortion smoothing σ in pixels (Simard et al. 2003)",
    "flip": "augmentation: mirror left-right with probability 1/2 (clothes, not digits)",
    "seed": "seed of every random draw (init, split, shuffles, dropout, augmentation)",
}

CHECKPOINT = "checkpoint.npz"
MODEL = "model.npz"
BEST = "best.npz"


# --------------------------------------------------------------------------- flags


def _parse_bool(text: str) -> bool:
    """true/false, yes/no, on/off or 1/0."""
    value = text.strip().lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _parse_list(text: str) -> list[int]:
    text = text.strip()
    if text in ("", "none", "[]"):
        return []
    try:
        sizes = [int(part) for part in text.strip("[]").split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of layer sizes (e.g. 256,128)"
        ) from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be ≥ 1, got {text!r}")
    return sizes


def _optional(conv):
    def parse(text: str):
        if text.strip().lower() in ("none", "default", ""):
            return None
        return conv(text)

    parse.__name__ = conv.__name__
    return parse


#: The recipe ``backprop train`` starts from when no --preset is given (backprop.presets).
DEFAULT_PRESET = "best"


def add_parser(sub: argparse._SubParsersAction) -> None:
    from backprop.config import _field_kind

    p = sub.add_parser(
        "train",
        help="train a network and write a run folder",
        description=(
            "Train a network by backpropagation. Precedence of settings: defaults < --preset < "
            "--config FILE.toml < flags. Writes RUN_DIR with config.toml, history.json, "
            "model.npz, best.npz (when validating) and the report. Ctrl-C saves a checkpoint; "
            "continue with --resume RUN_DIR."
        ),
    )
    run_group = p.add_argument_group("run")
    try:
        from backprop.presets import PRESETS

        names = ", ".join(sorted(PRESETS))
    except ImportError:  # pragma: no cover - presets ship with the package
        names = "see backprop.presets"
    run_group.add_argument(
        "--preset", default=None, metavar="NAME",
        help=f"a named recipe: {names}; 'none' for the plain defaults below "
        f"(default: {DEFAULT_PRESET})",
    )
    run_group.add_argument(
        "--config", default=None, metavar="FILE.toml",
        help="settings file (key = value; a run's config.toml works)",
    )
    run_group.add_argument(
        "--out", default=None, metavar="RUN_DIR",
        help="run folder (default runs/<dataset>-<YYYYmmdd-HHMMSS>)",
    )
    run_group.add_argument(
        "--resume", default=None, metavar="RUN_DIR",
        help="continue the interrupted run in RUN_DIR with its own settings",
    )
    run_group.add_argument("--quiet", action="store_true", help="no progress output")
    run_group.add_argument("--no-report", action="store_true", help="skip the report at the end")
    run_group.add_argument(
        "--cache-dir", default=None, help="download cache (default $BACKPROP_DATA or ~/.cache)"
    )
    settings = p.add_argument_group("settings (TrainConfig fields)")
    defaults = TrainConfig()
    for f in TrainConfig.fields():
        kind = _field_kind(f)
        optional = "None" in str(f.type)
        conv: Any = {
            "list": _parse_list, "int": int, "float": float, "str": str, "bool": _parse_bool,
        }[kind]
        if optional:
            conv = _optional(conv)
        default = getattr(defaults, f.name)
        shown = ",".join(map(str, default)) if isinstance(default, list) else default
        settings.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            type=conv,
            default=argparse.SUPPRESS,
            metavar=kind.upper() if kind != "list" else "N,N",
            help=f"{HELP.get(f.name, f.name)} (default: {shown})",
        )
    p.set_defaults(func=run)


def resolve_config(args: argparse.Namespace) -> tuple[TrainConfig, dict]:
    """Merge defaults < preset < config file < flags; return the config and the explicit keys."""
    from backprop.config import coerce_fields, config_from_file
    from backprop.presets import PRESETS, preset_settings

    values: dict = {}
    from_file = config_from_file(args.config) if args.config is not None else {}
    flags = {f.name: getattr(args, f.name) for f in TrainConfig.fields() if hasattr(args, f.name)}
    preset = DEFAULT_PRESET if args.preset is None else args.preset
    if preset != "none":
        if preset not in PRESETS:
            raise ValueError(
                f"unknown preset {preset!r}; choose one of {', '.join(sorted(PRESETS))} or none"
            )
        # a preset may differ per data set (epochs, batch size, λ/n): look the data set up first
        dataset = flags.get("dataset", from_file.get("dataset", TrainConfig.dataset))
        values.update(coerce_fields(preset_settings(preset, dataset), f"preset {preset!r}"))
    values.update(from_file)
    values.update(flags)
    if values.get("data_dir") and "dataset" not in values:
        values["dataset"] = ""  # the user's own data, read by its layout
    return TrainConfig.from_dict(values), values


# --------------------------------------------------------------------------- data


def load_data(cfg: TrainConfig, cache_dir: str | None = None, progress: bool = True):
    """The Dataset a config names (``dataset`` "" with ``data_dir`` means the user's data)."""
    from backprop.data import load_dataset

    name = cfg.dataset or None
    return load_dataset(name, data_dir=cfg.data_dir, cache_dir=cache_dir, progress=progress)


def prepare_data(cfg: TrainConfig, ds) -> tuple:
    """Split off validation data (seeded by cfg.seed), fit the preprocessor on the rest.

    Returns ``(X_train, y_train, validation_data or None, preprocessor)`` with
    X arrays flattened and scaled.  The same config and data give the same
    arrays, which ``--resume`` relies on.
    """
    from backprop.data import Preprocessor, stratified_split

    X, y = ds.X_train, ds.y_train
    val = None
    if cfg.validation_split:
        if not 0.0 < cfg.validation_split < 1.0:
            raise ValueError(
                f"validation_split must be in [0, 1), got {cfg.validation_split}; try 0.1"
            )
        X, y, Xv, yv = stratified_split(X, y, cfg.validation_split, np.random.default_rng(cfg.seed))
        val = (Xv, yv)
    dtype = cfg.dtype if cfg.dtype in ("float32", "float64") else "float32"
    pre = Preprocessor(scale=cfg.scale, dtype=dtype).fit(X)
    Xt = pre.transform(X)
    if val is not None:
        val = (pre.transform(val[0]), val[1])
    return Xt, y, val, pre


def make_augment(cfg: TrainConfig, image_shape):
    """The training-time augmentation (None for augment="none")."""
    try:
        from backprop.data.augment import make_augment as _make
    except ImportError:
        if cfg.augment != "none":
            raise ValueError(
                f"augment={cfg.augment!r} needs backprop.data.augment, which this install "
                "lacks; use --augment none"
            ) from None
        return None
    return _make(cfg, image_shape)


# --------------------------------------------------------------------------- callbacks


def epoch_line(record: dict, epochs: int) -> str:
    """``epoch 3/20  loss 0.1123  acc 0.9671  val_loss 0.1301  val_acc 0.9640  lr 0.05  2.1s``."""
    parts = [f"epoch {record['epoch']}/{epochs}"]
    for key in ("loss", "acc", "val_loss", "val_acc"):
        if record.get(key) is not None:
            parts.append(f"{key} {record[key]:.4f}")
    parts.append(f"lr {record['lr']:.4g}")
    parts.append(f"{record['seconds']:.1f}s")
    return "  ".join(parts)


class Progress(Callback):
    """A tqdm bar per epoch on a terminal, else one line per epoch; nothing when quiet."""

    def __init__(self, mode: str, epochs: int, stream=None, mininterval: float = 0.1) -> None:
        self.mode = mode  # "bar" | "lines" | "quiet"
        self.mininterval = mininterval
        self.epochs = epochs
        self.stream = stream or sys.stdout
        self.bar = None
        self.epoch = 0

    def on_epoch_begin(self, trainer, epoch):
        self.epoch = epoch

    def on_batch_end(self, trainer, batch, n_batches, loss):
        if self.mode != "bar":
            return
        if self.bar is None:
            import shutil

            from tqdm import tqdm

            # a pseudo-terminal without a size (script, some CI) reports 0 columns
            size = shutil.get_terminal_size((100, 24))
            self.bar = tqdm(
                total=n_batches, initial=batch - 1, desc=f"epoch {trainer.epoch + 1}/{self.epochs}",
                unit="batch", leave=False, file=self.stream, ncols=min(size.columns, 120) or 100,
                nrows=size.lines or 24,
                mininterval=self.mininterval,
            )
        self.bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_epoch_end(self, trainer, epoch, record):
        self.close()
        if self.mode != "quiet":
            print(epoch_line(record, self.epochs), file=self.stream, flush=True)


class RunSaver(Callback):
    """After each epoch: history.json, checkpoint.npz, and best.npz when validation improved."""

    def __init__(self, run_dir: Path, model_meta: dict, validating: bool) -> None:
        self.run_dir = run_dir
        self.model_meta = model_meta
        self.validating = validating

    def on_epoch_end(self, trainer, epoch, record):
        from backprop.model.checkpoint import save_checkpoint
        from backprop.model.modelfile import save

        write_history(self.run_dir, trainer.history)
        if self.validating and trainer.history.best_epoch == epoch + 1:
            save(trainer.net, self.run_dir / BEST, **self.model_meta, best_epoch=epoch + 1)
        save_checkpoint(self.run_dir / CHECKPOINT, trainer)


class SelfInterrupt(Callback):
    """Test hook: send SIGINT to this process after ``n`` minibatches."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0

    def on_batch_end(self, trainer, batch, n_batches, loss):
        self.count += 1
        if self.count == self.n:
            os.kill(os.getpid(), signal.SIGINT)


def write_history(run_dir: Path, history) -> None:
    from backprop.model.modelfile import _jsonable

    text = json.dumps(_jsonable(history.to_dict(), "history"), indent=1)
    atomic_write_text(run_dir / "history.json", text + "\n")


# --------------------------------------------------------------------------- run


def _versions() -> dict:
    from backprop import __version__

    return {
        "backprop_version": __version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "created": datetime.now().isoformat(timespec="seconds"),
    }


def write_config(run_dir: Path, cfg: TrainConfig, preset: str | None) -> None:
    from backprop.config import to_toml

    header = (
        "backprop train settings of this run; repeat it with\n"
        f"  backprop train --config {run_dir / 'config.toml'}"
    )
    if preset:
        header += f"\n(started from --preset {preset})"
    text = to_toml({**cfg.to_dict(), **_versions()}, header=header)
    (run_dir / "config.toml").write_text(text, encoding="utf-8")


def _new_run_dir(out: str | None, dataset_name: str) -> Path:
    if out is not None:
        run_dir = Path(out)
        if run_dir.exists() and not run_dir.is_dir():
            raise ValueError(f"--out {run_dir} is a file; give a folder for the run")
        if run_dir.is_dir() and any(
            (run_dir / n).exists() for n in (MODEL, CHECKPOINT, "config.toml")
        ):
            raise ValueError(
                f"{run_dir} already holds a run; pick another --out, or continue it with "
                f"backprop train --resume {run_dir}"
            )
        run_dir.mkdir(parents=True, exist_ok=True)
        return run_dir
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{dataset_name}-{stamp}"
    run_dir, k = base, 2
    while run_dir.exists():
        run_dir = Path(f"{base}-{k}")
        k += 1
    run_dir.mkdir(parents=True)
    return run_dir


def _install_handlers(trainer) -> dict:
    def handler(signum, frame):
        if trainer.stop_requested:
            raise KeyboardInterrupt
        trainer.request_stop()
        name = signal.Signals(signum).name
        print(
            f"\n{name}: finishing this minibatch and saving a checkpoint "
            "(press Ctrl-C again to stop at once)",
            file=sys.stderr, flush=True,
        )

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread
            pass
    return old


def _restore_handlers(old: dict) -> None:
    for sig, h in old.items():
        signal.signal(sig, h)


def run(args: argparse.Namespace) -> int:
    from backprop.config import build_network, config_from_file, trainer_settings
    from backprop.engine.train import Trainer
    from backprop.model.checkpoint import load_checkpoint, save_checkpoint
    from backprop.model.model import image_steps_for
    from backprop.model.modelfile import load, save

    if args.resume is not None:
        run_dir = Path(args.resume)
        given = [
            f"--{f.name.replace('_', '-')}" for f in TrainConfig.fields() if hasattr(args, f.name)
        ]
        given += [flag for flag, v in (("--preset", args.preset), ("--config", args.config),
                                       ("--out", args.out)) if v is not None]
        if given:
            raise ValueError(
                f"--resume continues {run_dir} with its own settings; drop {', '.join(given)}"
            )
        if not run_dir.is_dir():
            raise FileNotFoundError(f"--resume {run_dir}: no such run folder")
        if not (run_dir / CHECKPOINT).is_file():
            if (run_dir / MODEL).is_file():
                raise ValueError(
                    f"the run in {run_dir} has finished (model.npz is there, no checkpoint); "
                    "start a new run instead of --resume"
                )
            raise FileNotFoundError(
                f"{run_dir / CHECKPOINT} does not exist, so there is nothing to resume"
            )
        cfg = TrainConfig.from_dict(config_from_file(run_dir / "config.toml"),
                                    str(run_dir / "config.toml"))
        preset = None
    else:
        cfg, _ = resolve_config(args)
        preset = DEFAULT_PRESET if args.preset is None else args.preset

    # check the network and optimiser settings before loading (maybe downloading) data
    Trainer(build_network(cfg.updated(hidden=[1] * len(cfg.hidden)), 1, 2),
            **trainer_settings(cfg))
    mode = "quiet" if args.quiet else ("bar" if sys.stdout.isatty() else "lines")
    ds = load_data(cfg, args.cache_dir, progress=mode != "quiet")
    X, y, val, pre = prepare_data(cfg, ds)
    net = build_network(cfg, X.shape[1], ds.n_classes)
    augment = make_augment(cfg, ds.image_shape)

    if args.resume is None:
        run_dir = _new_run_dir(args.out, ds.name)
        write_config(run_dir, cfg, preset)
    model_meta = {
        "preprocessor": pre,
        "class_names": ds.class_names,
        "train_config": cfg,
        "dataset": ds.name,
        "image_shape": list(ds.image_shape) if ds.image_shape else None,
        "image": image_steps_for(ds),
    }
    progress = Progress(mode, cfg.epochs)
    callbacks: list[Callback] = [progress, RunSaver(run_dir, model_meta, val is not None)]
    hook = os.environ.get("BACKPROP_TEST_INTERRUPT_AFTER")
    if hook:
        callbacks.append(SelfInterrupt(int(hook)))
    trainer = Trainer(net, **trainer_settings(cfg), augment=augment, callbacks=callbacks)

    if args.resume is not None:
        params, state, _meta = load_checkpoint(run_dir / CHECKPOINT)
        try:
            net.set_params(params)
            trainer.load_state_dict(state)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"{run_dir / CHECKPOINT} does not match the settings in "
                f"{run_dir / 'config.toml'} ({exc}); was config.toml edited?"
            ) from exc
        if mode != "quiet":
            print(
                f"resuming {run_dir} at epoch {trainer.epoch + 1}/{cfg.epochs}, "
                f"minibatch {trainer.batch}", flush=True,
            )
    elif mode != "quiet":
        n_val = 0 if val is None else len(val[1])
        print(
            f"training {net} on {ds.name}: {len(y):,} train, {n_val:,} validation; "
            f"run folder {run_dir}", flush=True,
        )

    old = _install_handlers(trainer)
    try:
        history = trainer.fit(X, y, val)
    except KeyboardInterrupt:
        progress.close()
        print(
            f"interrupted: the last end-of-epoch checkpoint is in {run_dir}; resume with "
            f"backprop train --resume {run_dir}",
            file=sys.stderr,
        )
        return 130
    finally:
        _restore_handlers(old)
        progress.close()

    if history.interrupted:
        save_checkpoint(run_dir / CHECKPOINT, trainer)
        write_history(run_dir, history)
        print(
            f"interrupted at epoch {trainer.epoch + 1}, minibatch {trainer.batch}: checkpoint "
            f"saved; resume with backprop train --resume {run_dir}",
            file=sys.stderr, flush=True,
        )
        return 130

    write_history(run_dir, history)
    summary = {"epochs_trained": len(history), "best_epoch": history.best_epoch,
               "train_seconds": round(sum(r["seconds"] for r in history.records), 3)}
    test_line = "no test set"
    if ds.X_test is not None and len(ds.X_test):
        pred = net.predict(pre.transform(ds.X_test))
        correct = int(np.sum(pred == ds.y_test))
        acc = correct / len(ds.y_test)
        summary["test_accuracy"] = acc
        test_line = f"test accuracy {acc:.2%} ({correct}/{len(ds.y_test)})"
    save(net, run_dir / MODEL, **model_meta, **summary)
    (run_dir / CHECKPOINT).unlink(missing_ok=True)
    model = load(run_dir / MODEL)  # the model as saved, with its preprocessor and names

    if not args.no_report:
        from backprop.report import make_report

        try:
            make_report(run_dir, model=model, dataset=ds)
        except Exception as exc:  # the model is saved; a plotting problem must not lose it
            if getattr(args, "debug", False):
                raise
            print(f"backprop: warning: the report failed ({exc}); the model is saved",
                  file=sys.stderr)
    total = summary["train_seconds"]
    best_note = ""
    if val is not None and history.best_epoch and history.best_epoch != len(history):
        best_note = f"  |  kept epoch {history.best_epoch} (lowest val_loss)"
    print(
        f"{test_line}  |  {len(history)} epoch{'s' if len(history) != 1 else ''} in {total:.1f}s"
        f"{'  (stopped early)' if history.stopped_early else ''}"
        f"{best_note}\n"
        f"run folder: {run_dir}  (model.npz"
        f"{', report.html' if not args.no_report else ''})",
        flush=True,
    )
    return 0
