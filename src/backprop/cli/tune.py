"""`backprop tune`: search for a training recipe with Optuna, running the trials on Dask.

See docs/tune.md.  The study lives in TUNE_DIR/study.db; ``--resume TUNE_DIR``
continues it.  The search space is ``backprop.tune.space``'s default for the
data set, or a TOML file (``--space``).
"""

from __future__ import annotations

import argparse


def parse_duration(text: str) -> float:
    """Seconds of ``90``, ``90s``, ``10m`` or ``1h30m`` (``backprop.timebudget``'s reader)."""
    from backprop.timebudget import parse_duration as _parse

    try:
        return _parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    from backprop.cli.trainflags import add_setting_flag

    p = sub.add_parser(
        "tune",
        help="search for a training recipe (Optuna on a Dask cluster)",
        description=(
            "Search for a training recipe with Optuna (seeded TPE, median pruning on validation "
            "accuracy), the trials running on Dask: a local cluster of worker processes, or an "
            "existing one (--scheduler). Trials are scored on data held out from the training "
            "set; at the end the best recipe trains on all the training data and is tested "
            "once. Writes TUNE_DIR with study.db, trials.csv, plots, report.html and best.toml "
            "(for backprop train --config). See docs/tune.md."
        ),
    )
    p.add_argument("--dataset", default=None, metavar="NAME",
                   help="a registered data set (mnist, fashion-mnist, kmnist, mnist-sample, "
                   "digits, xor)")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="your own data (as for backprop train --data-dir)")
    add_setting_flag(p, "image_size")
    p.add_argument("--space", default=None, metavar="FILE.toml",
                   help="search space file (docs/tune.md; default: the data set's own space)")
    p.add_argument("--trials", type=_positive_int, default=None, metavar="N",
                   help="start at most N trials in this session (default: 20 without --time, "
                   "unlimited with it)")
    p.add_argument("--time", type=parse_duration, default=None, metavar="DURATION",
                   help="time for the search, e.g. 10m or 1h30m; the running trials stop then "
                   "and the final training follows")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on an existing Dask cluster (tcp://HOST:8786) instead of a local one")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="worker processes of the local cluster (default: one per CPU core)")
    p.add_argument("--out", default=None, metavar="TUNE_DIR",
                   help="tune folder (default tunes/<dataset>-<YYYYmmdd-HHMMSS>)")
    p.add_argument("--resume", default=None, metavar="TUNE_DIR",
                   help="continue the study in TUNE_DIR (trial numbers continue)")
    p.add_argument("--cache-dir", default=None,
                   help="download cache (default $BACKPROP_DATA or ~/.cache)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backprop.cli.trainflags import setting_value

    image_size = setting_value(args, "image_size")
    try:
        from backprop.tune.session import TuneOptions, tune
    except ImportError as exc:
        raise ValueError(
            f"backprop tune needs Optuna and Dask ({exc}); install them with "
            "pip install 'backprop[tune]'"
        ) from None
    trials = args.trials
    if trials is None and args.time is None:
        trials = 20
    opts = TuneOptions(
        dataset=args.dataset, data_dir=args.data_dir, image_size=image_size,
        space=args.space, trials=trials,
        seconds=args.time, scheduler=args.scheduler, workers=args.workers, out=args.out,
        resume=args.resume, cache_dir=args.cache_dir, quiet=args.quiet,
    )
    return tune(opts)
