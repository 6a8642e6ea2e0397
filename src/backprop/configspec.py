"""What a setting's declaration is: :class:`Setting` (kind, default, range or choices, help).

``backprop.config.TrainConfig`` declares the settings with :func:`setting`;
``backprop.config.SETTINGS`` holds one :class:`Setting` per field, which
converts (:meth:`Setting.convert`, :meth:`Setting.parse`) and checks
(:meth:`Setting.check`) values.  Standard library only.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backprop.errors import BackpropError


class SettingsError(BackpropError, ValueError):
    """A setting has the wrong type, is out of its range, or is unknown."""


@dataclass(frozen=True)
class Setting:
    """One setting's declaration (read from a ``TrainConfig`` field).

    ``kind`` is "int", "float", "str", "bool" or "list" (a list of ints);
    ``optional`` settings may be None ("default": chosen from other
    settings).  Numbers and list items must lie within ``low``/``high``
    (open bounds excluded); strings must be one of ``choices``, or pass
    ``form`` (a function of the value giving its problem in words, or None).
    """

    name: str
    kind: str
    default: Any
    help: str
    group: str
    optional: bool = False
    choices: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    max_items: int | None = None
    none: str = "none"  # what None means, for --help
    form: Callable[[Any], str | None] | None = None  # a text's own check: its problem or None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def rule(self) -> str:
        """The allowed values in words: ``"in [0, 1)"``, ``"> 0"``, ``"one of a, b"``."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        lo = None if self.low is None else _num(self.low)
        hi = None if self.high is None else _num(self.high)
        if lo is not None and hi is not None:
            return f"in {'(' if self.low_open else '['}{lo}, {hi}{')' if self.high_open else ']'}"
        if lo is not None:
            return f"{'>' if self.low_open else '≥'} {lo}"
        if hi is not None:
            return f"{'<' if self.high_open else '≤'} {hi}"
        return ""

    def problem(self, value: Any) -> str | None:
        """Why ``value`` (already of the right type) is not allowed, or None."""
        if value is None:
            return None if self.optional else "cannot be empty"
        if self.choices is not None:
            return None if value in self.choices else "must be " + self.rule()
        if self.form is not None:
            return self.form(value)
        if self.kind == "list":
            if self.max_items is not None and len(value) > self.max_items:
                return f"lists {len(value)} sizes; at most {self.max_items} are allowed"
            bad = [v for v in value if not self._in_range(v)]
            return f"holds {bad[0]}; each size must be {self.rule()}" if bad else None
        if self.kind in ("int", "float") and not self._in_range(value):
            return "must be " + self.rule()
        return None

    def _in_range(self, v: float) -> bool:
        if isinstance(v, float) and not math.isfinite(v):
            return False
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        return not (self.high is not None and (v >= self.high if self.high_open else v > self.high))

    def convert(self, value: Any) -> Any:
        """``value`` as this setting's type (int → float, N → [N]); TypeError if impossible."""
        if value is None:
            return None
        k = self.kind
        if k == "list":
            if _is_int(value):
                value = [value]
            if isinstance(value, (list, tuple)) and all(_is_int(v) for v in value):
                return [int(v) for v in value]
            raise TypeError("should be a list of integers, e.g. [256, 128]")
        if k == "int" and _is_int(value):
            return int(value)
        if k == "float" and isinstance(value, numbers.Real) and not _is_bool(value):
            return float(value)
        if k == "bool" and _is_bool(value):
            return bool(value)
        if k == "str" and isinstance(value, str):
            return value
        raise TypeError("should be " + _KIND_WORDS[k])

    def parse(self, text: str) -> Any:
        """A command-line value: ``"256,128"``, ``"0.1"``, ``"true"``, ``"none"``."""
        t = text.strip()
        if self.optional and t.lower() in ("none", "default"):
            return None
        try:
            if self.kind == "list":
                if t.lower() in ("", "none", "[]"):
                    return []
                return [int(p) for p in t.strip("[]").split(",") if p.strip()]
            if self.kind == "int":
                return int(t)
            if self.kind == "float":
                return float(t)
        except ValueError:
            raise TypeError("should be " + _KIND_WORDS[self.kind]) from None
        if self.kind == "bool":
            if t.lower() in ("true", "yes", "on", "1"):
                return True
            if t.lower() in ("false", "no", "off", "0"):
                return False
            raise TypeError("should be true or false")
        return t

    def check(self, value: Any, source: str = "settings", text: str | None = None) -> Any:
        """Convert and check ``value``; return it, or raise SettingsError naming ``source``.

        ``source`` "command line" words the message with the flag and the
        text typed (``--lr -1: must be > 0``); any other source with the
        name (``config.toml: lr = -1 must be > 0``).
        """
        try:
            value = self.convert(value)
            problem = self.problem(value)
        except TypeError as exc:
            problem = str(exc)
        if problem is None:
            return value
        if source == "command line":
            raise SettingsError(f"{self.flag} {text if text is not None else value}: {problem}")
        raise SettingsError(f"{source}: {self.name} = {value!r} {problem}")


_KIND_WORDS = {"int": "an integer", "float": "a number", "str": "text",
               "bool": "true or false", "list": "a list of integers"}


def _is_int(v: Any) -> bool:
    """An integer (Python's or NumPy's), not a bool."""
    return isinstance(v, numbers.Integral) and not _is_bool(v)


def _is_bool(v: Any) -> bool:
    """Python's bool or NumPy's (``np.bool_``), without importing NumPy."""
    return type(v).__name__ in ("bool", "bool_")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def setting(default: Any, help: str, group: str, **rule: Any) -> Any:
    """A ``TrainConfig`` field: its default, one line of help, its group and its rule.

    ``rule`` holds ``choices``, ``low``/``high`` (with ``low_open``/``high_open``),
    ``max_items`` or ``form`` (a function giving a text's problem, or None), as in
    :class:`Setting`.
    """
    meta = {"help": help, "group": group, **rule}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)
