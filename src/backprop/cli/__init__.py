"""The ``backprop`` command line: one sub-command per module in this package.

Each sub-command module defines ``add_parser(subparsers)``, which registers its
flags and sets ``func`` to its ``run(args) -> int``.  Heavy imports (matplotlib,
Pillow, the data sets) happen inside ``run`` so that ``backprop --help`` and
``backprop explain`` start fast.

Usage errors are one line on stderr with exit code 2, with a suggestion for
a mistyped flag or command (``unknown flag --learning-rate; did you mean
--lr?``); ``backprop`` alone lists the commands.  When stdout is closed early
(``backprop evaluate MODEL | head -1``) the command ends quietly.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys

from backprop import __version__
from backprop.errors import BackpropError

#: Sub-commands, in the order ``backprop --help`` lists them.
COMMANDS = [
    "train", "evaluate", "predict", "report", "gradcheck", "explain", "data", "serve", "export",
    "tune",
]


class UsageError(Exception):
    """A command line argparse cannot read (raised instead of printing usage)."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and suggestions for unknown flags and commands."""

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        self._given = list(sys.argv[1:] if args is None else args)
        return super().parse_args(args, namespace)

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(self._suggest(message))

    def _command_flags(self) -> tuple[str | None, list[str]]:
        """The sub-command given (or None) and its ``--`` flags (``backprop``'s if None)."""
        subs = next((a.choices for a in self._actions
                     if isinstance(a, argparse._SubParsersAction)), {})
        command = next((w for w in getattr(self, "_given", []) if w in subs), None)
        actions = subs[command]._actions if command else self._actions
        return command, [s for a in actions for s in a.option_strings if s.startswith("--")]

    def _suggest(self, message: str) -> str:
        m = re.match(r"unrecognized arguments: (.*)", message)
        if m:
            words = m.group(1).split()
            flag = next((w for w in words if w.startswith("-")), words[0])
            command, known = self._command_flags()
            from backprop.config import SETTINGS, suggest

            name = flag.split("=")[0]
            setting = suggest(name) if name.startswith("--") else None
            if setting and SETTINGS[setting].flag in known:
                close = [SETTINGS[setting].flag]
            else:  # only a flag of the command given: another command's would fail too
                bare = {k[2:]: k for k in known if k != "--help"}
                close = [bare[c] for c in difflib.get_close_matches(
                    name.lstrip("-"), list(bare), n=1, cutoff=0.6)]
            where = f"backprop {command} --help" if command else "--help"
            hint = f"; did you mean {close[0]}?" if close else f"; see {where}"
            return f"unknown flag {flag}{hint}"
        m = re.match(r"argument COMMAND: invalid choice: '([^']*)'", message)
        if m:
            close = difflib.get_close_matches(m.group(1), COMMANDS, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]}?" if close else f"commands: {', '.join(COMMANDS)}"
            return f"unknown command {m.group(1)!r}; {hint}"
        return message


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="backprop",
        description="A multi-layer neural network trained by backpropagation.",
    )
    parser.add_argument("--version", action="version", version=f"backprop {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback on errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        module = __import__(f"backprop.cli.{name}", fromlist=["add_parser"])
        module.add_parser(sub)
    return parser


def command_list(parser: argparse.ArgumentParser) -> str:
    """``usage`` and one line per command with its help, for ``backprop`` alone."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    width = max(map(len, COMMANDS))
    lines = [f"usage: backprop [--version] [--debug] COMMAND ...  (backprop {__version__})", "",
             "commands:"]
    lines += [f"  {c.dest:<{width}}  {c.help}" for c in sub._choices_actions]
    lines += ["", "backprop COMMAND --help shows a command's flags."]
    return "\n".join(lines)


def _quiet_broken_pipe() -> int:
    """stdout was closed by the reader (``| head``): end without a message, like `cat`."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # so Python's exit flush of stdout cannot fail
    return 141 if os.name == "posix" else 1  # 128 + SIGPIPE, what a shell reports for `cat`


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"backprop: error: {exc}", file=sys.stderr)
        return 2
    if args.command is None:
        print(command_list(parser))
        return 0
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
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
