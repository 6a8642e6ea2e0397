"""The ``backprop`` command line: one sub-command per module in this package.

Each sub-command module defines ``add_parser(subparsers)``, which registers its
flags and sets ``func`` to its ``run(args) -> int``.  Heavy imports (matplotlib,
Pillow, the data sets) happen inside ``run`` so that ``backprop --help`` and
``backprop explain`` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from backprop import __version__
from backprop.errors import BackpropError

#: Sub-commands, in the order ``backprop --help`` lists them.
COMMANDS = [
    "train", "evaluate", "predict", "report", "gradcheck", "explain", "data", "serve", "export",
    "tune",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backprop",
        description="A multi-layer neural network trained by backpropagation.",
    )
    parser.add_argument("--version", action="version", version=f"backprop {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback on errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"backprop.cli.{name}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("backprop: interrupted", file=sys.stderr)
        return 130
    except (BackpropError, ValueError, OSError) as exc:
        if args.debug:
            raise
        message = str(exc) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
            message = f"{message}: {exc.filename}"
        print(f"backprop: error: {message}", file=sys.stderr)
        return 2
