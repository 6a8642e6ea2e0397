"""The data set registry and the loader of the user's own data.

Registered names (:data:`DATASETS`):

============== ========================================================= ============
name           what                                                      train + test
============== ========================================================= ============
mnist          handwritten digits, downloaded and verified               60000 + 10000
fashion-mnist  Zalando clothing images, downloaded (or Debian package)   60000 + 10000
kmnist         Kuzushiji (cursive Japanese) characters, downloaded       60000 + 10000
mnist-sample   5,000 real MNIST digits bundled with backprop (no network) 4000 + 1000
digits         scikit-learn's 8x8 digits, stratified 80/20 split, seed 0  1438 + 359
xor            the four XOR points; the test set is the training set     4 + 4
============== ========================================================= ============

The user's own data goes through ``load_dataset(data_dir=PATH)``, which looks at
``PATH`` and picks the reader:

* a folder with ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  ``t10k-images-idx3-ubyte[.gz]`` and ``t10k-labels-idx1-ubyte[.gz]`` (a dot
  instead of the second dash, as Kaggle writes them, also works; the test pair
  is optional);
* a ``.npz`` file with arrays ``X`` and ``y`` and optionally ``X_test``,
  ``y_test`` and ``class_names`` (loaded without pickle);
* a ``.csv`` file with the label in the first column and one column per pixel
  (Kaggle digit-recognizer ``train.csv``; a header row is allowed); no test split;
* a folder of images with one sub-folder per class (sorted sub-folder names are
  the class names), or with ``train/`` and ``test/`` folders laid out that way.
  Images are read with Pillow as greyscale and must all have the same size.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backprop.data import download as _download
from backprop.data.idx import check_pair, read_idx
from backprop.data.images import IMAGE_SUFFIXES, read_grey
from backprop.errors import DataError

__all__ = ["DATASETS", "Dataset", "load_dataset", "load_idx_folder", "SAMPLE_DIR"]

#: Folder of the bundled 5,000-digit MNIST sample.
SAMPLE_DIR = Path(__file__).resolve().parent / "mnist_sample"

DIGIT_NAMES = [str(i) for i in range(10)]
FASHION_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
#: KMNIST classes, romanised (the hiragana お き す つ な は ま や れ を).
KMNIST_NAMES = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]

_IMAGE_SUFFIXES = IMAGE_SUFFIXES  # the one list, beside the one decoder (data/images.py)


@dataclass
class Dataset:
    """A labelled data set, raw as stored.

    Attributes
    ----------
    name : str
    X_train : numpy.ndarray, shape (N, ...)
        E.g. uint8 (N, 28, 28) for MNIST, float64 (N, 8, 8) for digits,
        float64 (4, 2) for xor.
    y_train : numpy.ndarray of int64, shape (N,)
    X_test, y_test : numpy.ndarray or None
        None only for the user's data without a test split (a CSV file, an
        ``.npz`` without ``X_test``, an IDX folder without ``t10k-*`` files or
        an image folder without ``test/``).
    class_names : list of str
    image_shape : tuple of int or None
        ``(28, 28)``, ``(8, 8)``...; None for non-image data.
    source : str
        Where the data came from (a folder, a file, "bundled").
    files : dict of str to pathlib.Path
        The files read, by role.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    class_names: list[str]
    image_shape: tuple[int, ...] | None
    source: str = ""
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        """Number of classes, ``len(class_names)``."""
        return len(self.class_names)

    def summary(self) -> str:
        """A few lines: sizes, shape, dtype, class counts and where the data lives."""
        lines = [f"data set   {self.name}", f"source     {self.source}"]
        for role, path in self.files.items():
            size = path.stat().st_size if path.is_file() else 0
            lines.append(f"  {role:<13}{path}  ({size:,} bytes)")
        shape = self.image_shape if self.image_shape is not None else self.X_train.shape[1:]
        lines.append(f"sample     {tuple(shape)} {self.X_train.dtype}")
        lines.append(f"classes    {self.n_classes}")
        parts = [("train", self.y_train)]
        if self.y_test is not None:
            parts.append(("test", self.y_test))
        for label, y in parts:
            counts = np.bincount(y, minlength=self.n_classes)
            lines.append(f"{label:<10} {len(y):,} items")
            lines.append(
                "  " + "  ".join(f"{n}:{int(c)}" for n, c in zip(self.class_names, counts))
            )
        if self.y_test is None:
            lines.append("test       none (hold out a validation split instead)")
        return "\n".join(lines)


# --------------------------------------------------------------------------- IDX


def _find(folder: Path, stem: str) -> Path | None:
    """Find ``train-images-idx3-ubyte`` (or the dotted Kaggle spelling), plain or gzip."""
    head, _, tail = stem.partition("-idx")
    for base in (stem, f"{head}.idx{tail}"):
        for name in (base + ".gz", base):
            p = folder / name
            if p.is_file():
                return p
    return None


def _read_pair(
    images_path: Path, labels_path: Path, n_classes: int | None, expect: tuple[int, ...] | None
) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    check_pair(images, labels, images_path, labels_path, n_classes)
    if expect is not None and images.shape[1:] != expect:
        raise DataError(
            f"{images_path}: images of shape {images.shape[1:]}, expected {expect}; "
            "this file belongs to another data set"
        )
    return images, labels.astype(np.int64)


def load_idx_folder(
    folder: str | os.PathLike[str],
    name: str | None = None,
    class_names: list[str] | None = None,
    files: dict[str, Path] | None = None,
) -> Dataset:
    """Load the standard four IDX files from a folder (the test pair optional).

    Parameters
    ----------
    folder : str or PathLike
    name : str, optional
        Data set name (default: the folder's name).
    class_names : list of str, optional
        Default: ``"0"`` .. ``str(max label)``.
    files : dict, optional
        Role -> path, overriding the search in ``folder``.
    """
    folder = Path(folder)
    if files is None:
        files = {}
        for role, fname in _download.FILE_ROLES.items():
            p = _find(folder, fname.removesuffix(".gz"))
            if p is not None:
                files[role] = p
    if "train_images" not in files or "train_labels" not in files:
        raise DataError(
            f"{folder}: no train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] "
            "found; put the four MNIST-format files there or name a registered data set"
        )
    if ("test_images" in files) != ("test_labels" in files):
        have = "t10k-images" if "test_images" in files else "t10k-labels"
        raise DataError(f"{folder}: {have} is there but not its partner; add both or neither")
    n = len(class_names) if class_names else None
    X_tr, y_tr = _read_pair(files["train_images"], files["train_labels"], n, None)
    X_te = y_te = None
    if "test_images" in files:
        X_te, y_te = _read_pair(files["test_images"], files["test_labels"], n, X_tr.shape[1:])
    if class_names is None:
        top = int(max(y_tr.max(initial=0), y_te.max(initial=0) if y_te is not None else 0))
        class_names = [str(i) for i in range(top + 1)]
    shape = tuple(X_tr.shape[1:]) if X_tr.ndim >= 3 else None
    return Dataset(
        name=name or folder.name, X_train=X_tr, y_train=y_tr, X_test=X_te, y_test=y_te,
        class_names=list(class_names), image_shape=shape, source=str(folder), files=files,
    )


def _downloadable(name: str, class_names: list[str]) -> Callable[..., Dataset]:
    def load(
        cache_dir: str | os.PathLike[str] | None = None,
        download: bool = True,
        progress: bool = True,
        data_dir: str | os.PathLike[str] | None = None,
        **_: Any,
    ) -> Dataset:
        if data_dir is not None:
            ds = load_idx_folder(data_dir, name=name, class_names=class_names)
            _check_mnist_shape(ds)
            return ds
        if download:
            files = _download.fetch(name, cache_dir=cache_dir, progress=progress)
        else:
            files = _download.locate(name, cache_dir)
            if files is None:
                folder = _download._dataset_dir(name, cache_dir)
                raise DataError(
                    f"data set {name!r} is not in the cache folder {folder}; run "
                    f"`backprop data fetch {name}`, copy the four files there, pass "
                    "--data-dir, or use --dataset mnist-sample (needs no network)"
                )
        folder = next(iter(files.values())).parent
        ds = load_idx_folder(folder, name=name, class_names=class_names, files=files)
        _check_mnist_shape(ds)
        return ds

    return load


def _check_mnist_shape(ds: Dataset) -> None:
    if ds.image_shape != (28, 28):
        raise DataError(
            f"{ds.source}: {ds.name} images should be 28x28, found {ds.image_shape}"
        )


def _load_sample(**_: Any) -> Dataset:
    return load_idx_folder(SAMPLE_DIR, name="mnist-sample", class_names=DIGIT_NAMES)


def _load_digits(**_: Any) -> Dataset:
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise DataError(
            "the 'digits' data set comes from scikit-learn, which is not installed; "
            "run `pip install scikit-learn` (or pip install 'backprop-mlp[sklearn]')"
        ) from exc
    from backprop.data.preprocess import stratified_split

    bunch = load_digits()
    X = np.asarray(bunch.images, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    X_tr, y_tr, X_te, y_te = stratified_split(X, y, 0.2, np.random.default_rng(0))
    return Dataset(
        name="digits", X_train=X_tr, y_train=y_tr, X_test=X_te, y_test=y_te,
        class_names=list(DIGIT_NAMES), image_shape=(8, 8),
        source="sklearn.datasets.load_digits (stratified 80/20 split, seed 0)",
    )


def _load_xor(**_: Any) -> Dataset:
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return Dataset(
        name="xor", X_train=X, y_train=y, X_test=X.copy(), y_test=y.copy(),
        class_names=["0", "1"], image_shape=None, source="built in (test set = training set)",
    )


#: Registry: name -> spec with ``loader`` (keyword arguments ``cache_dir``,
#: ``download``, ``progress``, ``data_dir``), ``description``, ``class_names``,
#: ``image_shape``, ``download`` (needs the network unless cached) and
#: ``n_train``/``n_test``.
DATASETS: dict[str, dict[str, Any]] = {
    "mnist": {
        "loader": _downloadable("mnist", DIGIT_NAMES),
        "description": "MNIST handwritten digits (LeCun, Cortes, Burges)",
        "class_names": DIGIT_NAMES, "image_shape": (28, 28), "download": True,
        "n_train": 60000, "n_test": 10000,
    },
    "fashion-mnist": {
        "loader": _downloadable("fashion-mnist", FASHION_NAMES),
        "description": "Fashion-MNIST clothing images (Xiao, Rasul, Vollgraf 2017)",
        "class_names": FASHION_NAMES, "image_shape": (28, 28), "download": True,
        "n_train": 60000, "n_test": 10000,
    },
    "kmnist": {
        "loader": _downloadable("kmnist", KMNIST_NAMES),
        "description": "Kuzushiji-MNIST cursive Japanese characters (Clanuwat et al. 2018)",
        "class_names": KMNIST_NAMES, "image_shape": (28, 28), "download": True,
        "n_train": 60000, "n_test": 10000,
    },
    "mnist-sample": {
        "loader": _load_sample,
        "description": "5,000 real MNIST digits bundled with backprop (no network needed)",
        "class_names": DIGIT_NAMES, "image_shape": (28, 28), "download": False,
        "n_train": 4000, "n_test": 1000,
    },
    "digits": {
        "loader": _load_digits,
        "description": "scikit-learn's 8x8 digits, stratified 80/20 split with seed 0",
        "class_names": DIGIT_NAMES, "image_shape": (8, 8), "download": False,
        "n_train": 1438, "n_test": 359,
    },
    "xor": {
        "loader": _load_xor,
        "description": "the four XOR points (test set = training set)",
        "class_names": ["0", "1"], "image_shape": None, "download": False,
        "n_train": 4, "n_test": 4,
    },
}


# --------------------------------------------------------------------------- user data


def _labels_to_int(y: np.ndarray, where: str) -> tuple[np.ndarray, list[str] | None]:
    """Integer labels pass through; strings become indices into their sorted set."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"{where}: labels must have shape (N,), found {y.shape}")
    if y.dtype.kind in "iu":
        if y.size and y.min() < 0:
            raise DataError(f"{where}: negative label {int(y.min())}; labels must be 0..K-1")
        return y.astype(np.int64), None
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(np.mod(y, 1) != 0) or (y.size and y.min() < 0):
            raise DataError(f"{where}: float labels must be whole numbers 0..K-1")
        return y.astype(np.int64), None
    if y.dtype.kind in "US":
        names, idx = np.unique(y.astype(str), return_inverse=True)
        return idx.astype(np.int64), [str(n) for n in names]
    raise DataError(f"{where}: labels of dtype {y.dtype} are not supported; use integers")


def _load_npz(path: Path) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except ValueError as exc:
        raise DataError(
            f"{path}: cannot read the .npz without pickle ({exc}); save plain numeric arrays"
        ) from exc
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from exc
    if "X" not in arrays or "y" not in arrays:
        raise DataError(
            f"{path}: an .npz data file needs arrays 'X' and 'y' (and optionally 'X_test', "
            f"'y_test', 'class_names'); it has {sorted(arrays)}"
        )
    if ("X_test" in arrays) != ("y_test" in arrays):
        raise DataError(f"{path}: 'X_test' and 'y_test' must come together")
    X = arrays["X"]
    y, names = _labels_to_int(arrays["y"], f"{path} (y)")
    if len(X) != len(y):
        raise DataError(f"{path}: X has {len(X)} rows but y has {len(y)} labels")
    X_te = y_te = None
    if "X_test" in arrays:
        X_te = arrays["X_test"]
        y_raw = arrays["y_test"]
        if names is not None:
            lookup = {n: i for i, n in enumerate(names)}
            unknown = sorted(set(y_raw.astype(str)) - set(lookup))
            if unknown:
                raise DataError(f"{path}: y_test has classes {unknown} that y lacks")
            y_te = np.array([lookup[v] for v in y_raw.astype(str)], dtype=np.int64)
        else:
            y_te, _ = _labels_to_int(y_raw, f"{path} (y_test)")
        if len(X_te) != len(y_te) or X_te.shape[1:] != X.shape[1:]:
            raise DataError(
                f"{path}: X_test {X_te.shape} and y_test {y_te.shape} must match each other "
                f"and X's sample shape {X.shape[1:]}"
            )
    if "class_names" in arrays:
        names = [str(n) for n in np.asarray(arrays["class_names"]).ravel()]
    top = int(max(y.max(initial=0), y_te.max(initial=0) if y_te is not None else 0))
    if names is None:
        names = [str(i) for i in range(top + 1)]
    if top >= len(names):
        raise DataError(f"{path}: label {top} but only {len(names)} class names")
    shape = tuple(X.shape[1:]) if X.ndim >= 3 else None
    return Dataset(
        name=path.stem, X_train=X, y_train=y, X_test=X_te, y_test=y_te, class_names=names,
        image_shape=shape, source=str(path), files={"npz": path},
    )


def _load_csv(path: Path) -> Dataset:
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    if not first.strip():
        raise DataError(f"{path}: the CSV file is empty")
    try:
        [float(v) for v in first.strip().split(",")]
        skip = 0
    except ValueError:
        skip = 1  # a header row such as label,pixel0,pixel1,...
    try:
        data = np.loadtxt(path, delimiter=",", skiprows=skip, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise DataError(
            f"{path}: cannot parse as numbers ({exc}); expected the label in the first column "
            "and one number per pixel after it, with at most one header row"
        ) from exc
    if data.shape[0] == 0 or data.shape[1] < 2:
        raise DataError(
            f"{path}: needs at least one row with a label and one feature, found {data.shape}"
        )
    y, _ = _labels_to_int(data[:, 0], f"{path} (first column)")
    X = data[:, 1:]
    if np.all(np.mod(X, 1) == 0) and X.min() >= 0 and X.max() <= 255:
        X = X.astype(np.uint8)
    D = X.shape[1]
    side = int(round(D**0.5))
    shape: tuple[int, ...] | None = None
    if side * side == D and D >= 16:
        X = X.reshape(-1, side, side)
        shape = (side, side)
    names = [str(i) for i in range(int(y.max()) + 1)]
    return Dataset(
        name=path.stem, X_train=X, y_train=y, X_test=None, y_test=None, class_names=names,
        image_shape=shape, source=str(path), files={"csv": path},
    )


def _class_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_image_classes(
    root: Path, class_names: list[str] | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    dirs = _class_dirs(root)
    names = class_names or [d.name for d in dirs]
    if class_names is not None:
        extra = sorted({d.name for d in dirs} - set(class_names))
        if extra:
            raise DataError(f"{root}: class folders {extra} are not in the training classes")
    images: list[np.ndarray] = []
    labels: list[int] = []
    size: tuple[int, int] | None = None
    first: Path | None = None
    for d in dirs:
        label = names.index(d.name)
        for f in sorted(d.iterdir()):
            if f.suffix.lower() not in _IMAGE_SUFFIXES or not f.is_file():
                continue
            grey = read_grey(f)  # the one decoder: raster formats only, pixel limit
            if size is None:
                size, first = grey.shape, f
            elif grey.shape != size:
                raise DataError(
                    f"{f}: image is {grey.shape[1]}x{grey.shape[0]} but {first} is "
                    f"{size[1]}x{size[0]}; all images must have the same size, resize them"
                )
            images.append(np.round(grey * 255.0).astype(np.uint8))
            labels.append(label)
    if not images:
        raise DataError(
            f"{root}: no images found; expected one sub-folder per class holding "
            f"{', '.join(sorted(_IMAGE_SUFFIXES))} files"
        )
    return np.stack(images), np.asarray(labels, dtype=np.int64), names


def _load_image_folder(root: Path) -> Dataset:
    subdirs = {d.name for d in _class_dirs(root)}
    if {"train", "test"} <= subdirs:
        X, y, names = _read_image_classes(root / "train", None)
        X_te, y_te, _ = _read_image_classes(root / "test", names)
        if X_te.shape[1:] != X.shape[1:]:
            raise DataError(
                f"{root / 'test'}: images are {X_te.shape[1:]} but train images are {X.shape[1:]}"
            )
    else:
        X, y, names = _read_image_classes(root, None)
        X_te = y_te = None
    return Dataset(
        name=root.name, X_train=X, y_train=y, X_test=X_te, y_test=y_te, class_names=names,
        image_shape=tuple(X.shape[1:]), source=str(root), files={"folder": root},
    )


def _load_user(path: Path) -> Dataset:
    if not path.exists():
        raise DataError(
            f"--data-dir {path} does not exist; give a folder of IDX files or of class "
            "sub-folders, an .npz or a .csv file"
        )
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".npz":
            return _load_npz(path)
        if suffix == ".csv":
            return _load_csv(path)
        raise DataError(
            f"{path}: unknown data file type {suffix!r}; use an .npz (X, y) or a .csv "
            "(label first), or a folder"
        )
    if _find(path, "train-images-idx3-ubyte") or _find(path, "train-labels-idx1-ubyte"):
        return load_idx_folder(path)
    if _class_dirs(path):
        return _load_image_folder(path)
    raise DataError(
        f"{path}: holds neither the MNIST-format files (train-images-idx3-ubyte[.gz], ...) "
        "nor one sub-folder of images per class"
    )


def load_dataset(
    name: str | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: bool = True,
) -> Dataset:
    """Load a registered data set or the user's own data.

    Parameters
    ----------
    name : str, optional
        A key of :data:`DATASETS`.  With ``data_dir`` as well, the files in
        ``data_dir`` are read as that data set (e.g. ``"fashion-mnist"`` with
        ``/usr/share/datasets/fashion-mnist``), which names the classes.
    data_dir : str or PathLike, optional
        The user's data: a folder of IDX files, a folder of class sub-folders of
        images, an ``.npz`` or a ``.csv`` file (see the module docstring).
    cache_dir : str or PathLike, optional
        Cache root for downloads (default :func:`backprop.data.download.cache_dir`).
    download : bool
        Fetch a missing data set; with False a missing one is an error.
    progress : bool
        Show a download progress bar on a terminal.

    Returns
    -------
    Dataset
    """
    if name is None and data_dir is None:
        raise DataError(
            f"name a data set ({', '.join(DATASETS)}) or pass data_dir (--data-dir)"
        )
    if name is not None and name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if name is None:
        return _load_user(Path(data_dir).expanduser())  # type: ignore[arg-type]
    spec = DATASETS[name]
    if data_dir is not None and not spec["download"]:
        raise DataError(
            f"data set {name!r} is built in and takes no --data-dir; drop one of the two"
        )
    return spec["loader"](
        cache_dir=cache_dir, download=download, progress=progress, data_dir=data_dir
    )
