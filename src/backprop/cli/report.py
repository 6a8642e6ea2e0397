"""`backprop report RUN_DIR`: plots and an HTML page for one training run.

RUN_DIR may also be a model file of the run (``RUN_DIR/model.npz``): its folder is used.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="plots and report.html for a run folder",
        description=(
            "Write curves.png (loss and accuracy, training vs validation), confusion.png, "
            "misclassified.png, weights.png (first-layer weights as image tiles) and "
            "report.html (readable offline) into RUN_DIR."
        ),
    )
    p.add_argument("run_dir", metavar="RUN_DIR",
                   help="a run folder written by backprop train, or a model file in it")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backprop.report import make_report

    path = Path(args.run_dir)
    page = make_report(path.parent if path.is_file() else path)
    print(f"wrote {page}")
    return 0
