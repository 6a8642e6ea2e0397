"""One ``backprop tune`` session, start to end.

1. The tune folder: new (``--out``, default ``tunes/<dataset>-<YYYYmmdd-HHMMSS>``)
   with ``tune.toml`` (the data) and ``space.toml`` (the whole search space),
   or an old one for ``--resume``.
2. The data: loaded once here; a stratified ``[study] validation`` share of
   the training set is held out with the study's seed; both parts are
   shipped to every worker once (``Client.scatter``).  The test set stays
   here.
3. The cluster, the study (``backprop.tune.study``) and the trials
   (``backprop.tune.runner``), until ``--trials`` or ``--time`` is reached.
4. The results: ``trials.csv``, the plots, ``best.toml``, ``report.html``.
5. Unless stopped by Ctrl-C: the cluster is closed and the best recipe
   trains on all the training data, ``backprop train --config best.toml
   --out TUNE_DIR/final``, whose test accuracy is the one test-set number
   of the whole study.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from backprop.fileio import atomic_write_text
from backprop.tune import cluster as dask_cluster
from backprop.tune.space import SearchSpace, baseline_params, data_settings, default_space
from backprop.tune.spacefile import parse_space


@dataclass
class TuneOptions:
    """The flags of ``backprop tune``."""

    dataset: str | None = None
    data_dir: str | None = None
    image_size: str | None = None
    space: str | None = None
    trials: int | None = None
    seconds: float | None = None
    scheduler: str | None = None
    workers: int | None = None
    out: str | None = None
    resume: str | None = None
    cache_dir: str | None = None
    quiet: bool = False


def _read_toml(path: Path) -> dict:
    from backprop.configfile import read_toml

    return read_toml(path)


def _new_tune_dir(out: str | None, name: str) -> Path:
    if out is not None:
        tune_dir = Path(out)
        if tune_dir.exists() and not tune_dir.is_dir():
            raise ValueError(f"--out {tune_dir} is a file; give a folder for the study")
        if (tune_dir / "study.db").exists():
            raise ValueError(
                f"{tune_dir} already holds a study; pick another --out, or continue it with "
                f"backprop tune --resume {tune_dir}"
            )
        tune_dir.mkdir(parents=True, exist_ok=True)
        return tune_dir
    base = Path("tunes") / f"{name or 'data'}-{datetime.now():%Y%m%d-%H%M%S}"
    tune_dir, k = base, 2
    while tune_dir.exists():
        tune_dir, k = Path(f"{base}-{k}"), k + 1
    tune_dir.mkdir(parents=True)
    return tune_dir


def _resume_inputs(opts: TuneOptions) -> tuple[Path, dict, dict]:
    tune_dir = Path(opts.resume)
    given = [f for f, v in (("--dataset", opts.dataset), ("--data-dir", opts.data_dir),
                            ("--image-size", opts.image_size), ("--space", opts.space),
                            ("--out", opts.out)) if v is not None]
    if given:
        raise ValueError(
            f"--resume continues {tune_dir} with its own data and search space; drop "
            f"{', '.join(given)}"
        )
    for name in ("tune.toml", "space.toml", "study.db"):
        if not (tune_dir / name).is_file():
            raise FileNotFoundError(
                f"--resume {tune_dir}: {tune_dir / name} does not exist; is it a tune folder?"
            )
    return tune_dir, _read_toml(tune_dir / "tune.toml"), _read_toml(tune_dir / "space.toml")


def _load(data: dict, cache_dir: str | None, quiet: bool):
    from backprop.data import load_dataset

    return load_dataset(data.get("dataset") or None, data_dir=data.get("data_dir"),
                        cache_dir=cache_dir, progress=not quiet,
                        image_size=data.get("image_size"))


def _split(ds, space: SearchSpace):
    """The trials' data: training and validation parts of the training set."""
    from backprop.data import stratified_split
    from backprop.tune.objective import TrialData

    X, y, Xv, yv = stratified_split(
        ds.X_train, ds.y_train, float(space.study["validation"]),
        np.random.default_rng(int(space.study["seed"])),
    )
    shape = tuple(ds.image_shape) if ds.image_shape else None
    return TrialData(X=X, y=y, Xv=Xv, yv=yv, n_classes=ds.n_classes, image_shape=shape)


def prepare(opts: TuneOptions):
    """The tune folder, the data set, the search space and the data settings of the trials."""
    from backprop.configfile import to_toml

    if opts.resume is not None:
        tune_dir, data, space_tables = _resume_inputs(opts)
        ds = _load(data, opts.cache_dir, opts.quiet)
        default = default_space(ds.name, len(ds.y_train), ds.image_shape)
        space = parse_space(space_tables, default, str(tune_dir / "space.toml"))
        return tune_dir, ds, space, data
    if opts.dataset is None and opts.data_dir is None:
        raise ValueError("give the data to tune on: --dataset NAME or --data-dir DIR")
    data = {"dataset": opts.dataset or "",
            "data_dir": None if opts.data_dir is None else str(Path(opts.data_dir).resolve()),
            "image_size": opts.image_size}
    ds = _load(data, opts.cache_dir, opts.quiet)
    space = default_space(ds.name, len(ds.y_train), ds.image_shape)
    if opts.space is not None:
        from backprop.tune.spacefile import read_space

        space = read_space(opts.space, space)
    tune_dir = _new_tune_dir(opts.out, ds.name)
    tables = space.to_toml_dict()
    lines = ["# the search space of this study; backprop tune --space accepts this file"]
    for table, values in tables.items():
        if table == "params":
            lines.append("\n[params]")
            lines += [f"{k} = {_inline(v)}" for k, v in values.items()]
        else:
            lines.append(f"\n[{table}]")
            lines.append(to_toml(values).rstrip("\n"))
    atomic_write_text(tune_dir / "space.toml", "\n".join(lines) + "\n")
    record = {k: v for k, v in data.items() if v is not None}
    atomic_write_text(tune_dir / "tune.toml", to_toml(record, header="data of this study"))
    return tune_dir, ds, space, data


def _inline(entry: dict) -> str:
    from backprop.configfile import _toml_value

    return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in entry.items()) + " }"


def _enqueue_first(study, space: SearchSpace, ds, resume: bool, say) -> None:
    from backprop.tune.study import recover

    if resume:
        requeued = recover(study)
        if requeued:
            say(f"queued again the trials that were stopped: {', '.join(map(str, requeued))}")
        return
    if space.study["baseline"]:
        params = baseline_params(space, ds.name, ds.image_shape)
        if params is not None:
            study.enqueue_trial(params, user_attrs={"baseline": True})
            say(f"trial 0 is the {space.preset!r} preset's own recipe, scored like the rest")


def run_study(opts: TuneOptions, tune_dir: Path, ds, space: SearchSpace, data: dict,
              say) -> tuple[bool, dict]:
    """Start the cluster, run the trials, close the cluster; return (finished, counts)."""
    from backprop.tune.runner import Progress, StudyRunner
    from backprop.tune.spacefile import trial_time_seconds
    from backprop.tune.study import close_storage, open_study

    trial_time = trial_time_seconds(space.study["trial_time"], opts.seconds)
    if trial_time is not None:  # the time decides each trial's epochs
        space = dataclasses.replace(
            space, params={k: v for k, v in space.params.items() if k != "epochs"})
        say(f"each trial trains for {trial_time:.0f} s, its epochs and learning-rate schedule "
            "fitted to that ([study] trial_time)")

    client, cluster, blas = dask_cluster.start(opts.scheduler, opts.workers,
                                               tune_dir / "dask.log")
    try:
        study, storage = open_study(tune_dir, client, space, opts.resume is not None,
                                    opts.scheduler)
        _enqueue_first(study, space, ds, opts.resume is not None, say)
        trial_data = _split(ds, space)
        n = dask_cluster.slots(client)
        where = opts.scheduler or f"a local cluster of {n} worker processes"
        say(f"tuning on {ds.name}: {len(trial_data.y):,} training and {len(trial_data.yv):,} "
            f"validation images per trial, on {where}; study in {tune_dir / 'study.db'}")
        decided, notes = data_settings(space, ds)
        for note in notes:
            say(f"every trial: {note}")
        future = client.scatter(trial_data, broadcast=True, hash=False)
        runner = StudyRunner(study, storage, client, space, future, {**data, **decided},
                             trial_data.image_shape,
                             blas, Progress(opts.quiet), trial_time)
        runner.trial_data = trial_data
        finished = runner.run(opts.trials, opts.seconds)
        close_storage(storage, client)
    finally:
        dask_cluster.stop(client, cluster)
    return finished, vars(runner.counts)


def write_results(tune_dir: Path, final: dict | None = None) -> tuple[object, dict]:
    """Write trials.csv, the plots, best.toml (if any trial completed) and report.html."""
    import optuna

    from backprop.tune.objective import quiet_optuna
    from backprop.tune.report import write_report
    from backprop.tune.results import write_best_toml, write_plots, write_trials_csv
    from backprop.tune.study import STUDY_NAME

    quiet_optuna()
    db = (tune_dir / "study.db").resolve()
    study = optuna.load_study(study_name=STUDY_NAME, storage=f"sqlite:///{db}")
    write_trials_csv(study, tune_dir)
    skipped = write_plots(study, tune_dir)
    summary = _summary(study, final)
    if summary.get("best trial") is not None:
        write_best_toml(study, tune_dir)
    write_report(study, tune_dir, summary, skipped)
    return study, summary


def _summary(study, final: dict | None) -> dict:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    by = {s: sum(t.state == s for t in trials) for s in TrialState}
    out: dict = {
        "trials": f"{len(trials)}: {by[TrialState.COMPLETE]} complete, "
                  f"{by[TrialState.PRUNED]} pruned, {by[TrialState.FAIL]} failed",
        "best trial": None,
    }
    if by[TrialState.COMPLETE]:
        best = study.best_trial
        out["best trial"] = best.number
        out["best validation accuracy"] = f"{best.value:.4f}"
        out["best parameters"] = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                           for k, v in best.params.items())
    base = [t for t in trials if t.user_attrs.get("baseline")]
    if base and base[0].value is not None:
        out["baseline (preset recipe) validation accuracy"] = f"{base[0].value:.4f}"
    if final:
        out.update(final)
    return out


def train_final(tune_dir: Path, cache_dir: str | None, say) -> dict:
    """Train best.toml on all the training data and evaluate it once on the test set."""
    from backprop.cli import main as cli_main
    from backprop.model.modelfile import read_metadata

    out = tune_dir / "final"
    if out.exists():
        import shutil

        shutil.rmtree(out)  # an earlier session's final training of an older winner
    argv = ["train", "--config", str(tune_dir / "best.toml"), "--out", str(out), "--quiet"]
    if cache_dir:
        argv += ["--cache-dir", cache_dir]
    say("training the best recipe on all the training data: backprop " + " ".join(argv))
    code = cli_main(argv)
    if code != 0:
        raise ValueError(f"the final training of {tune_dir / 'best.toml'} failed (exit {code})")
    extra = read_metadata(out / "model.npz").get("extra", {})
    result = {"final run": str(out), "final training seconds": extra.get("train_seconds")}
    if extra.get("test_accuracy") is not None:
        result["test accuracy (once, final model)"] = f"{extra['test_accuracy']:.4f}"
    return result


def tune(opts: TuneOptions) -> int:
    """Run ``backprop tune``; return the exit code (130 after Ctrl-C)."""
    from backprop.tune.study import FolderLock

    def say(text: str) -> None:
        if not opts.quiet:
            print(text, flush=True)

    tune_dir, ds, space, data = prepare(opts)
    with FolderLock(tune_dir):
        finished, _ = run_study(opts, tune_dir, ds, space, data, say)
        study, summary = write_results(tune_dir)
        if not finished:
            say(f"stopped: the study is in {tune_dir}; continue it with "
                f"backprop tune --resume {tune_dir}")
            return 130
        if summary.get("best trial") is None:
            raise ValueError(
                f"no trial of {tune_dir} completed, so there is no best recipe; resume with more "
                f"--time or --trials (backprop tune --resume {tune_dir}) or widen the space"
            )
        final = train_final(tune_dir, opts.cache_dir, say)
        study, summary = write_results(tune_dir, final)
    lines = [f"{k}: {v}" for k, v in summary.items()]
    say("\n".join(lines))
    say(f"tune folder: {tune_dir}  (trials.csv, report.html, best.toml, final/)")
    return 0
