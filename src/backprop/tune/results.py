"""What a study leaves in its tune folder: the trials table, the plots, best.toml.

``trials.csv``
    One row per trial: number, state, validation accuracy, the parameters,
    epochs trained, seconds, the worker's pid and host, and a note.
``history.png``, ``importances.png``, ``parallel.png``
    Optuna's own plots (``optuna.visualization.matplotlib``): the
    optimisation history, the parameter importances (fANOVA) and the
    parallel coordinates of the parameters.
``best.toml``
    Every ``backprop train`` setting of the best trial, with
    ``validation_split = 0`` so that ``backprop train --config best.toml``
    trains the winner on all the training data.
"""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

from backprop.fileio import atomic_write_text

TRIALS_CSV = "trials.csv"
BEST_TOML = "best.toml"
PLOTS = {
    "history.png": "plot_optimization_history",
    "importances.png": "plot_param_importances",
    "parallel.png": "plot_parallel_coordinate",
}


def trial_rows(study) -> list[dict]:
    """The trials table as a list of dicts (the columns of ``trials.csv``)."""
    names: list[str] = []
    for t in study.get_trials(deepcopy=False):
        names += [n for n in t.params if n not in names]
    rows = []
    for t in study.get_trials(deepcopy=False):
        outcome = t.user_attrs.get("outcome", {})
        row = {
            "number": t.number,
            "state": t.state.name.lower(),
            "val_acc": "" if t.value is None else round(float(t.value), 6),
        }
        row.update({n: t.params.get(n, "") for n in names})
        seconds = outcome.get("seconds")
        if seconds is None and t.datetime_start and t.datetime_complete:
            seconds = round((t.datetime_complete - t.datetime_start).total_seconds(), 3)
        row.update(
            epochs_trained=outcome.get("epochs", ""),
            seconds="" if seconds is None else seconds,
            pid=t.user_attrs.get("pid", ""),
            host=t.user_attrs.get("host", ""),
            note=t.user_attrs.get("note", ""),
        )
        if "rerun_of" in t.user_attrs:
            rerun = f"; re-run of trial {t.user_attrs['rerun_of']}"
            row["note"] = (row["note"] + rerun).strip("; ")
        if t.user_attrs.get("baseline"):
            row["note"] = (row["note"] + "; the preset's own recipe").strip("; ")
        rows.append(row)
    return rows


def write_trials_csv(study, tune_dir: Path) -> Path:
    """Write ``trials.csv`` (atomically) and return its path."""
    rows = trial_rows(study)
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return atomic_write_text(tune_dir / TRIALS_CSV, buf.getvalue())


def write_plots(study, tune_dir: Path) -> dict[str, str]:
    """Draw Optuna's plots into PNG files; return ``{file: why not drawn}`` for those skipped."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as ovm
    from optuna.trial import TrialState

    skipped: dict[str, str] = {}
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    for name, function in PLOTS.items():
        path = tune_dir / name
        if name != "history.png" and len(complete) < 2:
            skipped[name] = "needs at least two complete trials"
            path.unlink(missing_ok=True)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax = getattr(ovm, function)(study)
            fig = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
            fig.set_size_inches(8, 4.5)
            fig.tight_layout()
            fig.savefig(path, dpi=100)
            plt.close(fig)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            skipped[name] = f"{type(exc).__name__}: {exc}"
            path.unlink(missing_ok=True)
    return skipped


def best_settings(study) -> tuple[dict, object]:
    """The best complete trial's settings for training on all the data, and the trial."""
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        raise ValueError(
            "no trial completed, so there is no best recipe yet; give the study more time "
            "(--time) or trials (--trials), or widen the search space"
        )
    best = study.best_trial
    settings = dict(best.user_attrs["settings"])
    if best.user_attrs.get("trial_time"):  # it trained for a time: keep the epochs that fitted
        settings["epochs"] = int(best.user_attrs["outcome"]["epochs"])
    settings["validation_split"] = 0.0  # the winner trains on all training data
    return settings, best


def write_best_toml(study, tune_dir: Path) -> Path:
    """Write ``best.toml``, every setting of the best trial, for ``backprop train --config``."""
    from backprop.config import TrainConfig
    from backprop.configfile import to_toml

    settings, best = best_settings(study)
    cfg = TrainConfig.from_dict(settings, "best trial")
    header = (
        f"backprop tune: trial {best.number} of {tune_dir}, validation accuracy "
        f"{best.value:.4f}\n"
        "settings for training on all the training data; use it with\n"
        f"  backprop train --config {tune_dir / BEST_TOML}"
    )
    return atomic_write_text(tune_dir / BEST_TOML, to_toml(cfg.to_dict(), header=header))
