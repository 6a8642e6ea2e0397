"""`backprop data list|fetch|verify|info [NAME]`: list, fetch, check hashes, describe."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    from backprop.cli.trainflags import add_setting_flag

    p = sub.add_parser(
        "data",
        help="list, fetch, verify or describe data sets",
        description=(
            "list: every registered data set, its size and whether it is here. "
            "fetch: download a data set into the cache and verify it (sha256). "
            "verify: re-check cached files against the recorded hashes. "
            "info: print sizes, class counts and where the files are."
        ),
    )
    p.add_argument("action", choices=["list", "fetch", "verify", "info"], help="what to do")
    p.add_argument(
        "name",
        nargs="?",
        default=None,
        help="data set name (fetch: default mnist; verify: default every downloadable set; "
        "info: default mnist-sample)",
    )
    p.add_argument(
        "--data-dir",
        default=None,
        help="info on your own data: a folder of IDX files or class sub-folders, .npz or .csv",
    )
    add_setting_flag(p, "image_size")
    p.add_argument(
        "--cache-dir",
        default=None,
        help="cache root (default $BACKPROP_DATA, else $XDG_CACHE_HOME/backprop, "
        "else ~/.cache/backprop)",
    )
    p.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per network read (default 30)"
    )
    p.add_argument("--no-progress", action="store_true", help="no download progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backprop.data import download
    from backprop.data.datasets import DATASETS, load_dataset
    from backprop.errors import DataError

    name = args.name
    if name is not None and name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    root = args.cache_dir

    if args.action == "list":
        for line in registry_lines(root, name):
            print(line)
        return 0

    if args.action == "fetch":
        name = name or "mnist"
        if name not in download.DOWNLOADS:
            print(f"{name} is built in; nothing to fetch")
            return 0
        files = download.fetch(
            name, cache_dir=root, progress=not args.no_progress, timeout=args.timeout
        )
        for path in files.values():
            print(f"ok  {path}  ({path.stat().st_size:,} bytes, sha256 verified)")
        return 0

    if args.action == "verify":
        names = [name] if name else list(download.DOWNLOADS)
        bad = 0
        for n in names:
            if n not in download.DOWNLOADS:
                print(f"{n}: built in, nothing to verify")
                continue
            found = download.locate(n, root)
            if found is not None:
                for path in found.values():
                    print(f"{n:<14}{'ok':<8}{path}")
                continue
            results = download.verify(n, root)
            for path, status in results.values():
                print(f"{n:<14}{status:<8}{path}")
            statuses = {s for _, s in results.values()}
            if "damaged" in statuses or (name and "missing" in statuses):
                bad += 1
        if bad:
            print(
                "some files are missing or damaged; run `backprop data fetch NAME` to fetch "
                "them again",
                file=sys.stderr,
            )
            return 1
        return 0

    # info
    if args.data_dir is None:
        name = name or "mnist-sample"
    from backprop.cli.trainflags import setting_value

    ds = load_dataset(name, data_dir=args.data_dir, cache_dir=root, download=False,
                      image_size=setting_value(args, "image_size"))
    print(ds.summary())
    return 0


def registry_lines(root: str | None, only: str | None = None) -> list[str]:
    """``backprop data list``: a header and one line per registered data set.

    Each line gives the name, training + test items, classes, the input's
    shape and where the data is: bundled, built in, the verified folder that
    holds it (cache or a system package), or the command that fetches it.
    """
    from backprop.data import download
    from backprop.data.datasets import DATASETS

    rows = [("name", "train + test", "classes", "input", "where", "what")]
    for name, entry in DATASETS.items():
        if only is not None and name != only:
            continue
        shape = entry["image_shape"]
        size = "×".join(map(str, shape)) if shape else "table"
        where = entry.get("where", "")
        if name in download.DOWNLOADS:
            found = download.locate(name, root)
            where = (str(next(iter(found.values())).parent) if found is not None
                     else f"not here: backprop data fetch {name}")
        rows.append((name, f"{entry['n_train']:,} + {entry['n_test']:,}",
                     str(len(entry["class_names"])), size, where, entry["description"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows]
