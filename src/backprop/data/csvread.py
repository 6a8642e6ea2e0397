"""Read a CSV data file: which row is a header, which column is the label.

A CSV from a stranger comes in one of a few layouts, and the reader accepts
them without flags:

* Kaggle's digit recognizer ``train.csv``: a header ``label,pixel0,...``, the
  label first;
* a table exported from pandas, R or a spreadsheet: a header naming every
  column, the label last, often as text (``...,petal_width,species`` with
  ``setosa``);
* no header at all, the label first.

The rules, in order (:func:`label_column`):

1. a header field named ``label``, ``class``, ``target`` or ``y`` (any case)
   is the label column;
2. otherwise the one column whose first data row is not a number, when it is
   the first or the last column, is the label column (text labels; one column
   of text in the middle is more likely a feature such as ``Sex``, and is
   refused with the advice to name the label column);
3. otherwise, in a file without a header, the first column; a file with a
   header that names no label column and has numbers at both ends is refused
   (is the label the first column or the last?), with the advice to name it.

A column headed ``id``, ``index``, ``Unnamed: 0`` or nothing whose values are
distinct whole numbers counts the rows (pandas writes its index so): it is
dropped.  The first non-blank row is a header when it names a label column,
or when one of its fields is not a number where the row below holds a number.  The
delimiter is a comma, or, where the first row has none, a semicolon or a tab.
Labels are whole numbers or text; the classes are their sorted distinct values.
Every problem is a :class:`backprop.errors.DataError` naming the file and the
fix, and the file's size is checked against ``BACKPROP_MAX_DATA_BYTES`` before
it is read.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from backprop.data.dataset import Dataset, classes_from_labels
from backprop.errors import DataError
from backprop.limits import limit, size_words

__all__ = ["LABEL_NAMES", "ROW_NUMBER_NAMES", "load_csv", "read_features", "label_column",
           "has_header"]

#: Header names that mark the label column (compared without case or spaces).
LABEL_NAMES = ("label", "class", "target", "y")

#: Why :func:`label_column` chose a column.
BY_NAME, BY_TEXT = "by its name", "the one column of text, at an end"
BY_DEFAULT = "the first; name another 'label' in a header row to choose it"

#: Header names of a column that may number the rows (dropped when it does).
ROW_NUMBER_NAMES = ("", "id", "index", "unnamed: 0")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _fields(line: str, sep: str) -> list[str]:
    """The fields of one row, quotes honoured (``"Braund, Mr. Owen"`` is one field)."""
    if '"' not in line:
        return [f.strip() for f in line.split(sep)]
    return [f.strip() for f in next(csv.reader([line], delimiter=sep, skipinitialspace=True))]


def has_header(first: list[str], second: list[str] | None) -> bool:
    """Whether the first row is a header (see the module docstring).

    Parameters
    ----------
    first, second : list of str
        The fields of the first two non-blank rows; ``second`` is None when the
        file has one row.
    """
    if any(f.lower() in LABEL_NAMES for f in first):
        return True
    if second is None:
        return not all(_is_number(f) for f in first)
    return any(not _is_number(a) and _is_number(b) for a, b in zip(first, second))


def label_column(header: list[str] | None, row: list[str]) -> tuple[int, str]:
    """The label column's index and, in words, why it was chosen.

    Parameters
    ----------
    header : list of str or None
        The header's fields, if the file has a header.
    row : list of str
        The fields of the first data row.
    """
    if header is not None:
        named = [i for i, f in enumerate(header) if f.lower() in LABEL_NAMES]
        if named:
            return named[0], BY_NAME
    text = [i for i, f in enumerate(row) if f and not _is_number(f)]  # an empty field: no
    if len(text) == 1 and text[0] in (0, len(row) - 1):  # labels sit at an end
        return text[0], BY_TEXT
    return 0, BY_DEFAULT


def _column_name(header: list[str] | None, i: int) -> str:
    if header is None or i >= len(header):
        return f"{i + 1}"
    return repr(header[i]) if header[i] else f"{i + 1} (no name)"


def _read_text(path: Path) -> str:
    size = path.stat().st_size
    cap = limit("BACKPROP_MAX_DATA_BYTES") // 4
    if size > cap:
        raise DataError(
            f"{path}: the CSV file is {size_words(size)}, over the limit of {size_words(cap)} "
            "(a quarter of BACKPROP_MAX_DATA_BYTES); if that is genuine, raise "
            "BACKPROP_MAX_DATA_BYTES"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start:,}, "
            f"line {line}); save the CSV as UTF-8"
        ) from None
    if "\0" in text:
        at = text.index("\0")
        raise DataError(
            f"{path}: holds a NUL byte (line {text.count(chr(10), 0, at) + 1}); this is not a "
            "text CSV file"
        )
    return text


def _check_ragged(path: Path, rows: list[str], sep: str, skip: int) -> None:
    """Every data row has as many fields as the first (before columns are picked)."""
    want = len(_fields(rows[skip], sep))
    for i, ln in enumerate(rows[skip:], start=skip):
        # a separator count is enough unless quotes may hide separators
        if ln.strip() and ln.count(sep) + 1 != want and len(_fields(ln, sep)) != want:
            raise DataError(
                f"{path}: cannot parse as numbers (line {i + 1} has {len(_fields(ln, sep))} "
                f"fields where line {skip + 1} has {want}); every row needs a label and "
                "the same number of features"
            )


def _parse(path: Path, rows: list[str], sep: str, col: int, n: int, header) -> tuple:
    """(labels as int64 or str, features as float64) of the data rows."""
    from backprop.data.userdata import _labels

    features = [i for i in range(n) if i != col]
    try:  # all numbers (the usual case): one pass
        data = np.loadtxt(rows, delimiter=sep, dtype=np.float64, ndmin=2, quotechar='"')
        numbers = data[:, col]
        X = data[:, 1:] if col == 0 else data[:, features]
    except ValueError:
        try:
            X = np.loadtxt(rows, delimiter=sep, dtype=np.float64, ndmin=2, usecols=features,
                           quotechar='"')
        except ValueError as exc:
            first = _fields(next(r for r in rows if r.strip()), sep)
            text = [i for i in features if i < len(first) and first[i] and
                    not _is_number(first[i])]
            if len(text) > 0 and header is not None:
                names = ", ".join(_column_name(header, i) for i in text[:6])
                raise DataError(
                    f"{path}: cannot parse as numbers: besides the label column "
                    f"({_column_name(header, col)}), the column{'s' if len(text) > 1 else ''} "
                    f"{names}{', ...' if len(text) > 6 else ''} "
                    f"hold{'' if len(text) > 1 else 's'} text; features must be numbers: "
                    "encode those as numbers or drop them, and name the label column 'label'"
                ) from None
            msg = " ".join(str(exc).split())[:300]
            raise DataError(
                f"{path}: cannot parse as numbers ({msg}); expected one label column (column "
                f"{_column_name(header, col)}) and one number per feature in the others, "
                "with at most one header row"
            ) from None
        raw = np.loadtxt(rows, delimiter=sep, dtype=str, ndmin=1, usecols=col, quotechar='"')
        labels = np.char.strip(np.char.strip(raw.astype(str)), '"')
        try:
            numbers = labels.astype(np.float64)
        except ValueError:
            return labels, X  # text labels: the classes are their sorted distinct values
    try:
        y = _labels(numbers, path, f"the label column ({_column_name(header, col)})")
    except DataError as exc:
        raise DataError(
            f"{exc}; if the label is another column, name it 'label' in the header row"
        ) from None
    return y, X


def _layout(path: Path, need: str, least: int) -> tuple:
    """Read ``path``; return (rows, delimiter, header or None, first data row, fields a row).

    ``need`` and ``least`` say what a row must hold, for the messages.
    """
    rows = _read_text(path).splitlines()
    body = [i for i, ln in enumerate(rows) if ln.strip()]
    if not body:
        raise DataError(f"{path}: the CSV file is empty; it needs {need} per row")
    top = rows[body[0]]
    sep = "," if "," in top or not ("\t" in top or ";" in top) else ("\t" if "\t" in top else ";")
    first = _fields(top, sep)
    second = _fields(rows[body[1]], sep) if len(body) > 1 else None
    header = first if has_header(first, second) else None
    skip = body[1] if header is not None and len(body) > 1 else body[0]
    if header is not None and len(body) < 2:
        raise DataError(f"{path}: needs at least one row with {need} after the header")
    n = len(_fields(rows[skip], sep))
    if n < least:
        raise DataError(
            f"{path}: needs at least one row with {need}, found rows of {n} column"
        )
    _check_ragged(path, rows, sep, skip)
    return rows, sep, header, skip, n


def read_features(path: Path, n_features: int) -> tuple[np.ndarray, str, np.ndarray | None]:
    """The rows of a CSV file as a model's inputs: ``(X (N, n_features) float64, note, ids)``.

    For ``backprop predict`` on a model of a table.  The file is laid out like a
    training CSV, with or without its label column: where it has more columns
    than ``n_features``, the label column (named, or the one column of text) and
    then a row-number column (see :data:`ROW_NUMBER_NAMES`) are left out, and
    ``note`` says which.  ``ids`` (N,) holds the row-number column's values as
    written (str), or is None when the file has none.
    """
    path = Path(path)
    rows, sep, header, skip, n = _layout(path, f"{n_features} features", 1)
    cols, left, id_col = list(range(n)), [], None
    if n > n_features:
        col, why = label_column(header, _fields(rows[skip], sep))
        if why != BY_DEFAULT:  # named, or the one column of text: never the first by default
            cols.remove(col)
            left.append(f"labels: column {_column_name(header, col)}")
    for i in list(cols):
        if len(cols) > n_features and header is not None and header[i].lower() in ROW_NUMBER_NAMES:
            cols.remove(i)
            id_col = i
            left.append(f"row numbers: column {_column_name(header, i)}")
    if len(cols) != n_features:
        raise DataError(
            f"{path}: rows of {n} columns"
            + (f" ({len(cols)} without the {' and '.join(x.split(':')[0] for x in left)})"
               if left else "")
            + f", but the model takes {n_features} features; give the columns the model was "
            "trained on, in the same order"
        )
    try:
        X = np.loadtxt(rows[skip:], delimiter=sep, dtype=np.float64, ndmin=2, usecols=cols,
                       quotechar='"')
    except ValueError as exc:
        msg = " ".join(str(exc).split())[:300]
        raise DataError(f"{path}: cannot parse the features as numbers ({msg})") from None
    from backprop.data.userdata import _check_X

    note = f"left out: {'; '.join(left)}" if left else ""
    ids = None if id_col is None else np.array(  # the rows loadtxt read: not blank, no comment
        [_fields(r, sep)[id_col] for r in rows[skip:] if r.strip() and r.lstrip()[:1] != "#"])
    return _check_X(X, path, "the feature columns"), note, ids


def load_csv(path: Path) -> Dataset:
    """Read a CSV data file (see the module docstring for the layouts it accepts).

    Returns
    -------
    Dataset
        ``X_train`` (N, D) float64, or uint8 where every value is a whole number in
        0..255, reshaped to (N, s, s) images where D = s² ≥ 16; no test split.
        ``source`` says which column held the labels.
    """
    rows, sep, header, skip, n = _layout(path, "a label and one feature", 2)
    row = _fields(rows[skip], sep)
    col, why = label_column(header, row)
    if header is not None and why == BY_DEFAULT and _is_number(row[0]) and _is_number(row[-1]):
        raise DataError(
            f"{path}: which column is the label? The header names none 'label', 'class', "
            f"'target' or 'y', and its first column ({_column_name(header, 0)}) and last "
            f"({_column_name(header, n - 1)}) are both numbers; rename the label column "
            "'label' in the header"
        )
    y, X = _parse(path, rows[skip:], sep, col, n, header)
    del rows
    source = f"{path} (labels: column {_column_name(header, col)}, {why}"
    X, dropped = _drop_row_numbers(X, header, col)
    if dropped:
        source += f"; row numbers dropped: column {', '.join(dropped)}"
    return _dataset(path, X, y, source + ")")


def _drop_row_numbers(X: np.ndarray, header: list[str] | None, col: int) -> tuple:
    """X without the columns that number the rows, and their names.

    A column headed ``id``, ``index``, ``Unnamed: 0`` or nothing (what pandas'
    ``to_csv`` writes for its index) whose values are distinct whole numbers
    numbers the rows: as a feature it would let the network learn the file's
    order (Kaggle's ``Iris.csv`` lists its classes in runs of ``Id``).
    """
    if header is None:
        return X, []
    features = [i for i in range(len(header)) if i != col]
    drop = []
    for j, i in enumerate(features):
        if header[i].lower() in ROW_NUMBER_NAMES and X.shape[1] - len(drop) > 1:
            v = X[:, j]
            if np.all(np.mod(v, 1) == 0) and len(np.unique(v)) == len(v):
                drop.append(j)
    if not drop:
        return X, []
    return np.delete(X, drop, axis=1), [_column_name(header, features[j]) for j in drop]


def _dataset(path: Path, X: np.ndarray, y: np.ndarray, source: str) -> Dataset:
    from backprop.data.userdata import _check_X

    X = _check_X(X, path, "the feature columns")
    if np.all(np.mod(X, 1) == 0) and X.min() >= 0 and X.max() <= 255:
        X = X.astype(np.uint8)
    D = X.shape[1]
    side = int(round(D**0.5))
    shape: tuple[int, ...] | None = None
    if side * side == D and D >= 16:
        X = X.reshape(-1, side, side)
        shape = (side, side)
    y, _, names = classes_from_labels(y, None, str(path))
    return Dataset(
        name=path.stem, X_train=X, y_train=y, X_test=None, y_test=None, class_names=names,
        image_shape=shape, source=source, files={"csv": path},
    )
