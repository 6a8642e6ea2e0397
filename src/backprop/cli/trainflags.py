"""The flags of ``backprop train``, made from the settings' declaration, and their merge.

Every ``TrainConfig`` field (``backprop.config``) is a flag: ``--batch-size``
for ``batch_size``, with the field's help, range and the value the default
recipe really uses.  :func:`resolve_config` merges, later winning:
defaults < ``--preset`` (default ``best``) < ``--config FILE.toml`` < flags.
"""

from __future__ import annotations

import argparse
import sys

from backprop.config import GROUPS, SETTINGS, Setting, SettingsError, TrainConfig, check_values
from backprop.presets import DATASET_OVERRIDES, DEFAULT_PRESET, PRESETS, preset_settings

DESCRIPTION = (
    "Train a network by backpropagation. Settings: defaults < --preset (default "
    f"{DEFAULT_PRESET}) < --config FILE.toml < flags; the defaults shown are what the "
    f"{DEFAULT_PRESET!r} recipe uses on mnist (--print-config shows the settings a command "
    "would use). Writes RUN_DIR with config.toml, history.json, model.npz, best.npz (when "
    "validating), checkpoint.npz and the report. Ctrl-C saves a checkpoint; continue with "
    "--resume RUN_DIR."
)


def shown(value) -> str:
    """A setting's value as typed on the command line: ``800``, ``256,128``, ``none``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value)) if value else "none"
    return str(value)


def default_text(s: Setting) -> str:
    """``120; mnist-sample: 500; --preset none: 20``: what a run without flags uses."""
    recipe = preset_settings(DEFAULT_PRESET, "mnist")
    value = recipe.get(s.name, s.default)
    parts = [s.none if value is None else shown(value)]
    for dataset, values in DATASET_OVERRIDES.get(DEFAULT_PRESET, {}).items():
        if s.name in values and values[s.name] != recipe.get(s.name, s.default):
            parts.append(f"{dataset}: {shown(values[s.name])}")
    if s.name in recipe and recipe[s.name] != s.default:
        parts.append(f"--preset none: {shown(s.default)}")
    return "; ".join(parts)


def _metavar(s: Setting) -> str:
    if s.choices:
        return "{" + ",".join(s.choices) + "}"
    if s.name == "image_size":
        return "HxW"
    return {"list": "N,N", "int": "INT", "float": "X", "bool": "true|false", "str": "TEXT"}[s.kind]


def add_parser(sub: argparse._SubParsersAction, run) -> argparse.ArgumentParser:
    """Register ``backprop train`` with one flag per setting; ``run`` is its function."""
    p = sub.add_parser("train", help="train a network and write a run folder",
                       description=DESCRIPTION)
    g = p.add_argument_group("run")
    g.add_argument("--preset", default=None, metavar="NAME",
                   help=f"a named recipe: {', '.join(sorted(PRESETS))}; 'none' for the plain "
                   f"defaults (default: {DEFAULT_PRESET})")
    g.add_argument("--config", default=None, metavar="FILE.toml",
                   help="settings file (key = value; a run's config.toml and --print-config's "
                   "output work)")
    g.add_argument("--print-config", action="store_true",
                   help="print the settings this command would train with, as TOML, and exit")
    g.add_argument("--out", default=None, metavar="RUN_DIR",
                   help="run folder, new or empty (default runs/<dataset>-<YYYYmmdd-HHMMSS>)")
    g.add_argument("--resume", default=None, metavar="RUN_DIR",
                   help="continue the run in RUN_DIR with its own settings; with --epochs N, "
                   "continue a finished run up to N epochs in all")
    g.add_argument("--quiet", action="store_true", help="no progress output")
    g.add_argument("--no-report", action="store_true", help="skip the report at the end")
    g.add_argument("--cache-dir", default=None,
                   help="download cache (default $BACKPROP_DATA or ~/.cache)")
    groups = {name: p.add_argument_group(f"{name} settings") for name in GROUPS}
    for s in SETTINGS.values():
        rule = s.rule()
        groups[s.group].add_argument(
            s.flag, dest=s.name, default=argparse.SUPPRESS, metavar=_metavar(s),
            help=f"{s.help}{'; ' + rule if rule and not s.choices else ''} "
            f"(default: {default_text(s)})",
        )
    p.set_defaults(func=run)
    return p


def add_setting_flag(parser: argparse.ArgumentParser, name: str) -> None:
    """One setting's flag on another command (``data info``, ``tune``), from its declaration."""
    s = SETTINGS[name]
    parser.add_argument(s.flag, dest=s.name, default=None, metavar=_metavar(s),
                        help=f"{s.help} (default: {s.none})")


def setting_value(args: argparse.Namespace, name: str):
    """The value of a flag :func:`add_setting_flag` made, parsed and checked (None: not given)."""
    s, text = SETTINGS[name], getattr(args, name)
    if text is None:
        return None
    try:
        value = s.parse(text)
    except TypeError as exc:
        raise SettingsError(f"{s.flag} {text}: {exc}") from None
    return s.check(value, "command line", text)


def flag_values(args: argparse.Namespace) -> dict:
    """The settings given as flags, parsed and checked (errors name the flag)."""
    out = {}
    for s in SETTINGS.values():
        if hasattr(args, s.name):
            text = getattr(args, s.name)
            try:
                value = s.parse(text)
            except TypeError as exc:
                raise SettingsError(f"{s.flag} {text}: {exc}") from None
            out[s.name] = s.check(value, "command line", text)
    return out


def resolve_config(args: argparse.Namespace) -> tuple[TrainConfig, str]:
    """Merge defaults < preset < config file < flags; return the config and the preset name."""
    from backprop.configfile import config_from_file

    from_file = config_from_file(args.config) if args.config is not None else {}
    flags = flag_values(args)
    preset = DEFAULT_PRESET if args.preset is None else args.preset
    values: dict = {}
    if preset != "none":
        if preset not in PRESETS:
            raise SettingsError(
                f"unknown preset {preset!r}; choose one of {', '.join(sorted(PRESETS))} or none"
            )
        # a preset may differ per data set (epochs, batch size, λ/n): look the data set up first
        dataset = flags.get("dataset", from_file.get("dataset", SETTINGS["dataset"].default))
        values.update(check_values(preset_settings(preset, dataset), f"preset {preset!r}"))
    values.update(from_file)
    values.update(flags)
    if values.get("data_dir") and "dataset" not in {**from_file, **flags}:
        values["dataset"] = ""  # the user's own data, read by its layout
    return TrainConfig.from_dict(values), preset


def print_config(cfg: TrainConfig, preset: str) -> int:
    """``--print-config``: the settings as TOML on stdout (usable as ``--config``)."""
    from backprop.configfile import config_toml

    header = (f"backprop train settings (--preset {preset} < --config < flags);\n"
              "train with them: backprop train --config FILE.toml")
    sys.stdout.write(config_toml(cfg, header))
    return 0
