"""Settings as TOML: a run's ``config.toml``, ``--config FILE.toml`` and ``--print-config``.

A settings file is flat ``key = value`` lines, one per ``TrainConfig`` field
(``backprop.config``).  TOML has no null, so a setting that is None
("default") is written as a comment, ``# output = (default)``, and reading
the file back sets it to None again, so a preset under ``--config`` (the
default ``best`` sets ``max_time``) cannot fill it in.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

from backprop.config import SETTINGS, SettingsError, TrainConfig, check_values

#: Keys of a run's config.toml that are not settings (written for the record).
RECORD_KEYS = ("backprop_version", "numpy_version", "python_version", "created")

#: Largest settings file read (a settings file is a few KiB).
MAX_TOML_BYTES = 1 << 20

#: A None setting as :func:`to_toml` writes it.
_DEFAULTED = re.compile(r"^# ([a-z_0-9]+) = \(default\)$", re.MULTILINE)


def _toml_value(value: Any) -> str:
    """One TOML value for a flat config: bool, int, float, str or a list of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "dtype") and getattr(value, "shape", None) == ():
        value = value.item()  # a NumPy scalar
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) to TOML")


def to_toml(values: dict, header: str = "") -> str:
    """Write a flat dict as TOML ``key = value`` lines.

    Parameters
    ----------
    values : dict
        Keys are bare TOML keys; values are bool, int, float, str, lists of
        those, or None (written as a comment).
    header : str
        Comment lines put first (each prefixed with ``# ``).
    """
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for key, value in values.items():
        if value is None:
            lines.append(f"# {key} = (default)")
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def read_toml(path: str | os.PathLike, *, what: str = "config file", flag: str = "--config",
              limit: int | None = None) -> dict:
    """Read a TOML file (at most ``limit`` bytes, :data:`MAX_TOML_BYTES` by default) into a dict.

    ``what`` and ``flag`` name the file and the flag that gave it in the error
    messages (``backprop tune --space`` reads its space file through here too).
    """
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    limit = MAX_TOML_BYTES if limit is None else limit
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
        raise SettingsError(
            f"{what} {path} is not a regular file (a pipe or a device); give a .toml file"
        )
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{what} {path} does not exist; check the path given to {flag}"
        ) from None
    except IsADirectoryError:
        raise SettingsError(f"{what} {path} is a folder; give a .toml file") from None
    if len(data) > limit:
        raise SettingsError(
            f"{path} is larger than {limit:,} bytes; a {what} is a few lines of "
            f"key = value, check that {flag} names the right file"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(
            f"{path}: not valid TOML ({exc}); fix the file or drop {flag}"
        ) from None


def config_from_file(path: str | os.PathLike) -> dict:
    """The settings a TOML file sets (record keys dropped), checked and converted.

    Raises
    ------
    SettingsError
        Naming the file: unknown keys, tables, values of the wrong type or
        out of range.
    """
    values = read_toml(path)
    with open(path, encoding="utf-8") as f:  # read_toml checked its size and encoding
        for key in _DEFAULTED.findall(f.read(MAX_TOML_BYTES)):
            if key in SETTINGS and SETTINGS[key].optional:
                values.setdefault(key, None)
    for key in RECORD_KEYS:
        values.pop(key, None)
    nested = [k for k, v in values.items() if isinstance(v, dict)]
    if nested:
        raise SettingsError(
            f"{path}: tables [{nested[0]}] are not used; write every setting as a top-level "
            "key = value line"
        )
    return check_values(values, str(path))


def config_toml(cfg: TrainConfig, header: str = "", **record: Any) -> str:
    """``cfg`` as TOML, every setting in declaration order, then ``record`` keys."""
    return to_toml({**cfg.to_dict(), **record}, header=header)
