"""Read a data ``.npz`` through the bounded zip reader that model files use.

The checks (zip directory, member names and sizes, compression ratio, ``.npy``
headers against their members, never a pickle) are those of
:func:`backprop.model.archive.read_npz`; here they run with the data limits
(``BACKPROP_MAX_DATA_BYTES``, ``BACKPROP_MAX_GZIP_RATIO``, at most
:data:`MAX_MEMBERS` members) and their failures are
:class:`backprop.errors.DataError`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backprop.errors import BackpropError, DataError
from backprop.limits import limit
from backprop.model import archive

__all__ = ["MAX_MEMBERS", "read_data_npz"]

#: Members a data .npz may hold (X, y, X_test, y_test, class_names and a few more).
MAX_MEMBERS = 16


def read_data_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of a data ``.npz``, keyed by name; numbers and strings only, never objects."""
    data_max = limit("BACKPROP_MAX_DATA_BYTES")
    lim = archive.Limits(members=MAX_MEMBERS, array_bytes=data_max, total_bytes=2 * data_max,
                         metadata_bytes=data_max, ratio=float(limit("BACKPROP_MAX_GZIP_RATIO")))
    try:
        return archive.read_npz(path, what="data file", metadata="class_names", kinds="biufUS",
                                lim=lim)
    except BackpropError as exc:
        msg = str(exc).replace("BACKPROP_MAX_MODEL_BYTES", "BACKPROP_MAX_DATA_BYTES")
        msg = msg.replace("BACKPROP_MAX_METADATA_BYTES", "BACKPROP_MAX_DATA_BYTES")
        raise DataError(msg) from None
