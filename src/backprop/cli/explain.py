"""`backprop explain`: the seed's equations (10)-(17), step by step, with real numbers.

Builds a tiny network, runs one forward pass, one backward pass and one
gradient-descent step, and prints every quantity in the seed's notation next
to the engine's own value and a finite-difference check.  Only numpy is
imported, so it prints in well under a second.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

FORMATS = ("text", "markdown", "html")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``backprop explain`` and its flags.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The sub-command registry of the ``backprop`` parser.
    """
    p = sub.add_parser(
        "explain",
        help="walk through the seed's equations (10)-(17) with a tiny network's numbers",
        description=(
            "Build a tiny network, run one forward and one backward pass and one step "
            "ΔW = -η∇, and print each of the seed's equations (10)-(17) with its numbers, "
            "checked against the engine and against finite differences."
        ),
    )
    p.add_argument("--layers", default="2,3,2",
                   help="units per layer, input first (default: 2,3,2, the seed's shape)")
    p.add_argument("--activation", default="sigmoid",
                   help="hidden activation: sigmoid, tanh, relu, leaky_relu, identity "
                        "(default: sigmoid)")
    p.add_argument("--output", default="sigmoid",
                   help="output activation: sigmoid, softmax, identity, tanh, relu, leaky_relu "
                        "(default: sigmoid)")
    p.add_argument("--loss", default=None,
                   help="binary_crossentropy, categorical_crossentropy or mse "
                        "(default: the natural one for --output)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights (default 0)")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate η (default 0.5)")
    p.add_argument("--batch", type=int, default=1,
                   help="number of samples N; J is their mean (default 1)")
    p.add_argument("--format", default="text",
                   help="text (default), markdown (with LaTeX) or html (a self-contained page)")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="write to FILE instead of standard output")
    p.set_defaults(func=run)


def use_color(stream: TextIO) -> bool:
    """ANSI colour only on a terminal, and never when NO_COLOR is set (no-color.org).

    Parameters
    ----------
    stream : TextIO

    Returns
    -------
    bool
    """
    if os.environ.get("NO_COLOR", ""):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def run(args: argparse.Namespace) -> int:
    """Print (or write) the walk-through; 0 when every check passed, else 1.

    Parameters
    ----------
    args : argparse.Namespace

    Returns
    -------
    int

    Raises
    ------
    ValueError
        For a bad option (the command line turns it into exit code 2).
    """
    from backprop.explain import explain

    if args.format not in FORMATS:
        raise ValueError(f"unknown --format {args.format!r}; choose one of {', '.join(FORMATS)}")
    try:
        ex = explain(
            layers=args.layers,
            activation=args.activation,
            output=args.output,
            loss=args.loss,
            seed=args.seed,
            lr=args.lr,
            batch=args.batch,
        )
    except ValueError as exc:
        raise ValueError(f"explain: {exc}") from None
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(ex.render(args.format))
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        text = ex.render(args.format, color=args.format == "text" and use_color(sys.stdout))
        try:
            sys.stdout.write(text)
        except UnicodeEncodeError:
            enc = getattr(sys.stdout, "encoding", None) or "ascii"
            sys.stdout.write(text.encode(enc, "replace").decode(enc))
        sys.stdout.flush()
    return 0 if ex.ok else 1
