"""The data set registry and the loader of the user's own data.

The :class:`~backprop.data.dataset.Dataset` they return is in ``backprop.data.dataset``.

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
* a ``.csv`` file with one label column and one number per feature in the
  others (Kaggle digit-recognizer ``train.csv``, or a table exported with its
  label column last: :mod:`backprop.data.csvread`); no test split;
* a folder of images with one sub-folder per class (sorted sub-folder names are
  the class names), or with ``train/`` and ``test/`` folders laid out that way.
  Images are read with Pillow, grey or colour, and resized to one size: the
  ``image_size`` asked for, else the most common one
  (:mod:`backprop.data.foldersize`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from backprop.data import download as _download
from backprop.data.dataset import Dataset, classes_from_labels
from backprop.data.idx import check_pair, read_idx
from backprop.errors import DataError

__all__ = [
    "DATASETS", "Dataset", "classes_from_labels", "load_dataset", "load_idx_folder", "SAMPLE_DIR",
]

#: Folder of the bundled 5,000-digit MNIST sample.
SAMPLE_DIR = Path(__file__).resolve().parent / "mnist_sample"

DIGIT_NAMES = [str(i) for i in range(10)]
FASHION_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
#: KMNIST classes, romanised (the hiragana お き す つ な は ま や れ を).
KMNIST_NAMES = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


# --------------------------------------------------------------------------- IDX


def _is_idx_folder(folder: Path) -> bool:
    stems = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    return any(_find(folder, stem) for stem in stems)


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
        y_tr, y_te, class_names = classes_from_labels(y_tr, y_te, str(folder))
    elif len(y_tr) == 0:
        raise DataError(f"{files['train_labels']}: holds no labels; the file is empty")
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
                    f"data set {name!r} is not in the cache folder {folder}, or a file there "
                    f"is damaged (`backprop data verify {name}` tells which); run "
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
#: ``n_train``/``n_test``; ``where`` says where a set that is not downloaded comes from.
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
        "n_train": 4000, "n_test": 1000, "where": "bundled with backprop",
    },
    "digits": {
        "loader": _load_digits,
        "description": "scikit-learn's 8x8 digits, stratified 80/20 split with seed 0",
        "class_names": DIGIT_NAMES, "image_shape": (8, 8), "download": False,
        "n_train": 1438, "n_test": 359, "where": "shipped with scikit-learn",
    },
    "xor": {
        "loader": _load_xor,
        "description": "the four XOR points (test set = training set)",
        "class_names": ["0", "1"], "image_shape": None, "download": False,
        "n_train": 4, "n_test": 4, "where": "built in",
    },
}


def load_dataset(
    name: str | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: bool = True,
    image_size: str | tuple[int, int] | None = None,
    size_from: str = "as --image-size asks",
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
    image_size : str or (int, int), optional
        ``"HxW"``, ``"N"`` or (height, width): resize every image of a folder of
        class sub-folders to it (default: their most common size).  Other data
        is read as it is.
    size_from : str
        Where ``image_size`` comes from, for the note on resized images.

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
        from backprop.data.userdata import load_user
        from backprop.imagesize import parse_size

        size = None if image_size is None else parse_size(image_size)
        return load_user(Path(data_dir).expanduser(), _is_idx_folder,  # type: ignore[arg-type]
                         size, size_from)
    spec = DATASETS[name]
    if data_dir is not None and not spec["download"]:
        raise DataError(
            f"data set {name!r} is built in and takes no --data-dir; drop one of the two"
        )
    return spec["loader"](
        cache_dir=cache_dir, download=download, progress=progress, data_dir=data_dir
    )
