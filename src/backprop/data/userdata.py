"""Readers of the user's own data: ``.npz``, ``.csv`` and folders of images.

``load_dataset(data_dir=PATH)`` comes here for anything but a folder of IDX
files.  Every reader is bounded (:mod:`backprop.limits`): sizes are checked
against what a file or folder declares before anything is allocated, and every
refusal is a :class:`backprop.errors.DataError` naming the file, the number and
the limit.

* ``.npz``: arrays ``X`` (N, ...) and ``y`` (N,), optionally ``X_test``,
  ``y_test`` and ``class_names``; read through the bounded zip reader, never
  with pickle;
* ``.csv``: UTF-8 text, one label column (named ``label``, ``class``, ``target``
  or ``y`` in a header, the one column of text, or else the first) and one
  number per feature in the others (:mod:`backprop.data.csvread`);
* a folder with one sub-folder per class of images (or ``train/`` and ``test/``
  folders laid out that way), decoded by :func:`backprop.data.colour.read_pixels`
  (raster formats only, a pixel limit): greyscale (N, H, W) uint8, or, when any
  image is colour, every image as RGB (N, H, W, 3); images of other sizes are
  resized to one (:mod:`backprop.data.foldersize`).

Classes: string labels and integer labels alike become the sorted distinct
values (at most ``BACKPROP_MAX_CLASSES``), so one absurd label such as 10**9
adds one class, not a billion.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from backprop.data.datasets import Dataset, classes_from_labels
from backprop.errors import DataError
from backprop.limits import limit, over

__all__ = ["load_user", "load_npz", "load_image_folder"]

_NUMERIC = "biuf"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _check_X(X: np.ndarray, path: Path, key: str) -> np.ndarray:
    """X must be a numeric array of shape (N, ...) with N >= 1 and finite values."""
    if X.dtype.kind not in _NUMERIC:
        raise DataError(
            f"{path}: {key} holds {X.dtype} values; it must hold numbers (save it with "
            ".astype(float) or as uint8 pixels)"
        )
    if X.ndim < 2:
        raise DataError(
            f"{path}: {key} has shape {X.shape}; it must be (N, features) or (N, height, "
            "width), one row per item"
        )
    if X.shape[0] == 0 or X[0].size == 0:
        raise DataError(f"{path}: {key} has shape {X.shape}, which holds no data")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise DataError(f"{path}: {key} holds NaN or infinite values; clean or drop those rows")
    if X.dtype.kind == "b":
        X = X.astype(np.uint8)
    return X


def _channels_last(X: np.ndarray) -> np.ndarray:
    """Images as (N, H, W, 3) colour or (N, H, W) grey, the layouts the image steps know.

    (N, 3, H, W) and (N, 1, H, W), as PyTorch keeps images, are moved channels-last,
    and (N, H, W, 1) loses its one channel.  A trailing side of 1 or 3 is taken for
    channels, so (N, 3, H, 3) stays as it is.
    """
    if X.ndim == 4 and X.shape[1] in (1, 3) and X.shape[3] not in (1, 3):
        X = np.ascontiguousarray(X.transpose(0, 2, 3, 1))
    if X.ndim == 4 and X.shape[3] == 1:
        X = X[..., 0]
    return X


def _labels(y: np.ndarray, path: Path, key: str) -> np.ndarray:
    """1-D labels as int64 (whole numbers) or str; anything else is refused."""
    if y.ndim != 1:
        raise DataError(f"{path}: {key} must have shape (N,), one label per item; found {y.shape}")
    if y.dtype.kind in "iub":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        ok = np.isfinite(y) & (np.abs(y) < 2.0**53)
        if not ok.all() or np.any(np.mod(y, 1) != 0):
            bad = y[~ok | (np.mod(np.where(ok, y, 0), 1) != 0)][0]
            raise DataError(f"{path}: {key} holds the label {bad!r}; labels must be whole numbers")
        return y.astype(np.int64)
    if y.dtype.kind in "US":
        return y.astype(str)
    raise DataError(f"{path}: {key} holds {y.dtype} values; labels must be integers or strings")


# --------------------------------------------------------------------------- npz


def load_npz(path: Path) -> Dataset:
    """Read an ``.npz`` data file (see the module docstring)."""
    from backprop.data.npzread import read_data_npz

    arrays = read_data_npz(path)
    if "X" not in arrays or "y" not in arrays:
        raise DataError(
            f"{path}: an .npz data file needs arrays 'X' and 'y' (and optionally 'X_test', "
            f"'y_test', 'class_names'); it has {sorted(arrays)}"
        )
    if ("X_test" in arrays) != ("y_test" in arrays):
        raise DataError(f"{path}: 'X_test' and 'y_test' must come together")
    X = _channels_last(_check_X(arrays["X"], path, "X"))
    y = _labels(arrays["y"], path, "y")
    if len(X) != len(y):
        raise DataError(f"{path}: X has {len(X):,} rows but y has {len(y):,} labels")
    X_te = y_te = None
    if "X_test" in arrays:
        X_te = _channels_last(_check_X(arrays["X_test"], path, "X_test"))
        y_te = _labels(arrays["y_test"], path, "y_test")
        if len(X_te) != len(y_te) or X_te.shape[1:] != X.shape[1:]:
            raise DataError(
                f"{path}: X_test {X_te.shape} and y_test {y_te.shape} must match each other "
                f"and X's sample shape {X.shape[1:]}"
            )
        if (y.dtype.kind == "U") != (y_te.dtype.kind == "U"):
            raise DataError(f"{path}: y and y_test must both be strings or both be numbers")
    if "class_names" in arrays:
        y, y_te, names = _named_classes(arrays["class_names"], y, y_te, path)
    else:
        y, y_te, names = classes_from_labels(y, y_te, str(path))
    shape = tuple(X.shape[1:]) if X.ndim >= 3 else None
    return Dataset(
        name=path.stem, X_train=X, y_train=y, X_test=X_te, y_test=y_te, class_names=names,
        image_shape=shape, source=str(path), files={"npz": path},
    )


def _named_classes(
    raw: np.ndarray, y: np.ndarray, y_te: np.ndarray | None, path: Path
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Integer labels index the stored ``class_names``."""
    if raw.dtype.kind not in "US" and raw.dtype.kind not in "iu":
        raise DataError(f"{path}: class_names must be strings, found {raw.dtype}")
    names = [str(n) for n in np.asarray(raw).ravel()]
    if len(names) > limit("BACKPROP_MAX_CLASSES"):
        raise DataError(f"{path}: " + over(
            "BACKPROP_MAX_CLASSES", "class_names lists", len(names), unit="classes"))
    if not names:
        raise DataError(f"{path}: class_names is empty")
    for key, labels in (("y", y), ("y_test", y_te)):
        if labels is None:
            continue
        if labels.dtype.kind == "U":
            raise DataError(f"{path}: with class_names, {key} must hold integer indices")
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= len(names):
            bad = lo if lo < 0 else hi
            raise DataError(
                f"{path}: {key} holds the label {bad} but class_names lists {len(names)} "
                f"names (labels 0..{len(names) - 1})"
            )
    return y, y_te, names


# --------------------------------------------------------------------------- image folders


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _class_dirs(root: Path) -> list[Path]:
    dirs = []
    cap = limit("BACKPROP_MAX_IMAGE_FILES")
    entries = []
    with os.scandir(root) as it:
        for e in it:
            entries.append(Path(e.path))
            if len(entries) > cap:
                raise DataError(
                    f"{root}: holds more than {cap:,} entries, the limit; if that is genuine, "
                    "raise BACKPROP_MAX_IMAGE_FILES"
                )
    for entry in sorted(entries):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        if not _inside(entry, root):
            raise DataError(
                f"{entry}: the class folder is a link to {entry.resolve()}, outside {root}; "
                "copy the images into the data folder"
            )
        dirs.append(entry)
    if len(dirs) > limit("BACKPROP_MAX_CLASSES"):
        raise DataError(f"{root}: " + over(
            "BACKPROP_MAX_CLASSES", "holds", len(dirs), unit="class folders"))
    return dirs


class _Budget:
    """Counts folder entries against ``BACKPROP_MAX_IMAGE_FILES`` and pixels against memory."""

    def __init__(self, root: Path) -> None:
        self.root, self.entries, self.bytes, self.colour = root, 0, 0, False
        self.max_entries = limit("BACKPROP_MAX_IMAGE_FILES")
        self.max_bytes = limit("BACKPROP_MAX_DATA_BYTES")

    def entry(self, folder: Path) -> None:
        self.entries += 1
        if self.entries > self.max_entries:
            raise DataError(
                f"{self.root}: holds more than {self.max_entries:,} files (counted up to "
                f"{folder.name}/), the limit; if that is genuine, raise BACKPROP_MAX_IMAGE_FILES"
            )

    def image(self, f: Path, pixels: np.ndarray) -> None:
        """Count an image's bytes: from the first colour image on, every image takes 3 a pixel."""
        if pixels.ndim == 3 and not self.colour:
            self.colour = True
            self.bytes *= 3  # the grey images read so far become RGB
        self.bytes += pixels.nbytes * (3 if self.colour and pixels.ndim == 2 else 1)
        if self.bytes > self.max_bytes:
            raise DataError(f"{f}: " + over(
                "BACKPROP_MAX_DATA_BYTES", "the images read so far take", self.bytes))


def _stack(images: list[np.ndarray], colour: bool) -> np.ndarray:
    """(N, H, W) uint8 of grey images, or (N, H, W, 3) with each grey one in every channel."""
    if not colour:
        return np.stack(images)
    out = np.empty((len(images), *images[0].shape[:2], 3), dtype=np.uint8)
    for i, image in enumerate(images):
        out[i] = image if image.ndim == 3 else image[..., None]
    return out


def _image_files(
    root: Path, class_names: list[str] | None, budget: _Budget
) -> tuple[list[Path], np.ndarray, list[str]]:
    """The image files of the class folders (nothing decoded), their labels and the classes."""
    from backprop.data.images import IMAGE_SUFFIXES

    dirs = _class_dirs(root)
    names = class_names or [d.name for d in dirs]
    if class_names is not None:
        extra = sorted({d.name for d in dirs} - set(class_names))
        if extra:
            raise DataError(f"{root}: class folders {extra} are not in the training classes")
    files: list[Path] = []
    labels: list[int] = []
    for d in dirs:
        label = names.index(d.name)
        with os.scandir(d) as it:
            entries = []
            for e in it:
                budget.entry(d)
                entries.append(Path(e.path))
        for f in sorted(entries):
            if f.name.startswith(".") or f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if not _inside(f, root):
                raise DataError(
                    f"{f}: the image is a link to {f.resolve()}, outside {root}; copy the "
                    "image into the data folder"
                )
            if not f.is_file():
                raise DataError(f"{f}: not a regular file; an image folder holds image files")
            files.append(f)
            labels.append(label)
    if not files:
        raise DataError(
            f"{root}: no images found; expected one sub-folder per class holding "
            f"{', '.join(sorted(IMAGE_SUFFIXES))} files"
        )
    return files, np.asarray(labels, dtype=np.int64), names


def _read_images(
    files: list[Path], size: tuple[int, int] | None, budget: _Budget
) -> tuple[list[np.ndarray], int]:
    """Each file decoded, resized to ``size`` (H, W), and counted; and how many were resized."""
    from backprop.data.foldersize import read_at

    images, resized = [], 0
    for f in files:
        pixels, changed = read_at(f, size)
        budget.image(f, pixels)
        images.append(pixels)
        resized += changed
    return images, resized


def load_image_folder(root: Path, size: tuple[int, int] | None = None,
                      why: str = "as --image-size asks") -> Dataset:
    """Read a folder of class sub-folders (or ``train/`` and ``test/`` laid out that way).

    Images are greyscale (N, H, W) uint8, or (N, H, W, 3) RGB when any image of
    the folder, in ``train/`` or ``test/``, is colour (:mod:`backprop.data.colour`).
    Every image is resized to ``size`` (height, width), or, without it, to the
    most common size of the training images (:mod:`backprop.data.foldersize`);
    ``why`` is how the note on the resized images names where ``size`` comes from.
    """
    from backprop.data.foldersize import common_size, header_size, resize_note

    budget = _Budget(root)
    subdirs = {d.name for d in _class_dirs(root)}
    split = {"train", "test"} <= subdirs
    train_files, y, names = _image_files(root / "train" if split else root, None, budget)
    test_files, y_te, _ = (_image_files(root / "test", names, budget) if split
                           else ([], None, names))
    if size is None:
        size = common_size(train_files, [header_size(f) for f in train_files])
        why = "the most common size; --image-size HxW to choose"
    train, resized = _read_images(train_files, size, budget)
    test, resized_test = _read_images(test_files, size, budget)
    X = _stack(train, budget.colour)
    X_te = _stack(test, budget.colour) if split else None
    notes = []
    if resized + resized_test and size is not None:
        notes.append(resize_note(resized + resized_test, len(train) + len(test), size, why))
    return Dataset(
        name=root.name, X_train=X, y_train=y, X_test=X_te, y_test=y_te if split else None,
        class_names=names, image_shape=tuple(X.shape[1:]), source=str(root),
        files={"folder": root}, notes=notes,
    )


# --------------------------------------------------------------------------- dispatch


def load_user(path: Path, find_idx, size: tuple[int, int] | None = None,
              why: str = "as --image-size asks") -> Dataset:
    """Pick the reader for ``--data-dir PATH`` (``find_idx(folder)`` tells an IDX folder).

    ``size`` (height, width) resizes the images of a folder of class sub-folders
    (:func:`load_image_folder`); other data is read as it is.
    """
    from backprop.data.datasets import load_idx_folder

    if not path.exists():
        raise DataError(
            f"--data-dir {path} does not exist; give a folder of IDX files or of class "
            "sub-folders, an .npz or a .csv file"
        )
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".npz":
            return load_npz(path)
        if suffix == ".csv":
            from backprop.data.csvread import load_csv

            return load_csv(path)
        raise DataError(
            f"{path}: unknown data file type {suffix!r}; use an .npz (X, y) or a .csv "
            "(one label column), or a folder"
        )
    if not path.is_dir():
        raise DataError(f"--data-dir {path} is neither a file nor a folder")
    if find_idx(path):
        return load_idx_folder(path)
    if _class_dirs(path):
        return load_image_folder(path, size, why)
    raise DataError(
        f"{path}: holds neither the MNIST-format files (train-images-idx3-ubyte[.gz], ...) "
        "nor one sub-folder of images per class"
    )
