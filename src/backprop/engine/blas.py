"""Three BLAS routines NumPy does not expose, called in NumPy's own OpenBLAS.

``np.matmul`` always computes C = A·B into a fresh (or overwritten) C.  The
BLAS routine behind it computes C ← α·A·B + β·C, and that β is exactly what
the momentum update needs: ΔW_t = αΔW_{t-1} - η∇ is one ``gemm`` with
β = α writing into the velocity, so the velocity is updated by the
multi-threaded matrix kernel instead of by two single-threaded passes of
NumPy afterwards.  ``axpy`` (y ← a·x + y) is OpenBLAS's threaded W ← W + ΔW,
and ``axpby`` (y ← a·x + b·y) makes Adam's moving averages one pass each.

NumPy's wheels ship OpenBLAS as ``scipy-openblas`` with 64-bit integers and
the symbol names ``scipy_cblas_sgemm64_`` etc.; this module opens that very
library, which NumPy has already loaded (so the calls share NumPy's thread
pool), and binds the routines with :mod:`ctypes` (standard library).  So the
engine needs NumPy and the standard library; with NumPy's own OpenBLAS it is
faster.  Where that library or its symbols are not there (another BLAS, another
platform), or ``BACKPROP_BLAS=0`` is set in the environment, :data:`AVAILABLE`
is False and every caller (``backprop.engine.fused``) keeps its plain NumPy path.
Each path is deterministic.  For the momentum product as ``fused.backward_fused``
calls it (β·C + A·B, A·B summed over at most 256 samples, C large) OpenBLAS
gives the NumPy path's result bit for bit (measured); ``axpby`` and a scaled
``alpha`` round differently from NumPy's separate passes, within rounding.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_GEMM: dict[np.dtype, object] = {}
_AXPY: dict[np.dtype, object] = {}
_AXPBY: dict[np.dtype, object] = {}


def _openblas_path() -> Path | None:
    """The OpenBLAS that NumPy's wheel ships (and has loaded), if this NumPy is one."""
    here = Path(np.__file__).parent
    for folder in (here.parent / "numpy.libs", here / ".dylibs"):  # Linux, macOS wheels
        for lib in sorted(folder.glob("libscipy_openblas64_*")):
            return lib
    return None


def _bind() -> bool:
    if os.environ.get("BACKPROP_BLAS", "1") == "0":
        return False
    path = _openblas_path()
    if path is None:
        return False
    try:
        lib = ctypes.CDLL(str(path))
        i64, ptr, i32 = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int
        for dtype, prefix, real in (
            (np.dtype(np.float32), "s", ctypes.c_float),
            (np.dtype(np.float64), "d", ctypes.c_double),
        ):
            gemm = getattr(lib, f"scipy_cblas_{prefix}gemm64_")
            gemm.argtypes = [i32, i32, i32, i64, i64, i64, real, ptr, i64, ptr, i64, real, ptr, i64]
            gemm.restype = None
            axpy = getattr(lib, f"scipy_cblas_{prefix}axpy64_")
            axpy.argtypes = [i64, real, ptr, i64, ptr, i64]
            axpy.restype = None
            axpby = getattr(lib, f"scipy_cblas_{prefix}axpby64_")
            axpby.argtypes = [i64, real, ptr, i64, real, ptr, i64]
            axpby.restype = None
            _GEMM[dtype], _AXPY[dtype], _AXPBY[dtype] = gemm, axpy, axpby
    except (OSError, AttributeError):
        for table in (_GEMM, _AXPY, _AXPBY):
            table.clear()
        return False
    return True


#: Whether the fused routines run in OpenBLAS (else callers use NumPy).
AVAILABLE: bool = _bind()


def _layout(M: np.ndarray) -> tuple[int, int] | None:
    """(transpose flag, leading dimension) of a 2-D array for row-major BLAS, or None."""
    s0, s1 = M.strides
    item = M.itemsize
    if s1 == item and s0 >= item * max(M.shape[1], 1):
        return _NO_TRANS, s0 // item
    if s0 == item and s1 >= item * max(M.shape[0], 1):
        return _TRANS, s1 // item
    return None


def gemm(alpha: float, A: np.ndarray, B: np.ndarray, beta: float, C: np.ndarray) -> bool:
    """C ← alpha·A·B + beta·C in place; False (and C untouched) where BLAS can't take it.

    Parameters
    ----------
    A : ndarray, (m, k); B : ndarray, (k, n); C : ndarray, (m, n), C-contiguous
        One dtype, float32 or float64; A and B may be C- or Fortran-ordered
        (or transposed views of either).
    """
    dtype = C.dtype
    fn = _GEMM.get(dtype)
    if fn is None or A.dtype != dtype or B.dtype != dtype or not C.flags.c_contiguous:
        return False
    (m, k), (k2, n) = A.shape, B.shape
    if k != k2 or C.shape != (m, n):
        raise ValueError(f"gemm shapes do not match: {A.shape} @ {B.shape} into {C.shape}")
    la, lb = _layout(A), _layout(B)
    if la is None or lb is None or min(m, n, k) == 0:
        return False
    fn(_ROW_MAJOR, la[0], lb[0], m, n, k, alpha, A.ctypes.data, la[1], B.ctypes.data, lb[1],
       beta, C.ctypes.data, n)  # fmt: skip
    return True


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    """y ← alpha·x + y in place (OpenBLAS's threaded axpy, else NumPy)."""
    fn = _vectors(_AXPY, x, y)
    if fn is None:
        if alpha == 1.0:
            y += x
        else:
            y += alpha * x
        return
    fn(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)


def _vectors(table: dict, x: np.ndarray, y: np.ndarray):
    fn = table.get(y.dtype)
    if (fn is None or x.dtype != y.dtype or x.shape != y.shape
            or not (x.flags.c_contiguous and y.flags.c_contiguous)):  # fmt: skip
        return None
    return fn


def axpby(alpha: float, x: np.ndarray, beta: float, y: np.ndarray) -> None:
    """y ← alpha·x + beta·y in place, one pass; the NumPy fallback may overwrite x."""
    fn = _vectors(_AXPBY, x, y)
    if fn is None:
        y *= beta
        if alpha != 1.0:
            x *= alpha
        y += x
        return
    fn(y.size, alpha, x.ctypes.data, 1, beta, y.ctypes.data, 1)
