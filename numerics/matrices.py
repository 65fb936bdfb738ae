"""Matrix files, read exactly: ``.npy`` (any integer or real floating dtype), ``.csv`` (decimal
strings, one row a line) and JSON ``{"matrix": [[...]]}`` (decimal strings or numbers).

Every entry becomes an exact number (a Python int or a :class:`~fractions.Fraction`): integers
beyond 2^53 and long doubles are not rounded to doubles on the way. Anything that has no exact
real value (complex, bool, object, string or structured dtypes, NaN or infinity), an empty
matrix, or a file that is not what its suffix says is an :class:`InstanceError` naming the
file, and the entry where there is one:

>>> import tempfile, numpy as np
>>> folder = tempfile.mkdtemp()
>>> np.save(f"{folder}/big.npy", np.array([[2**62], [2**62 + 1]], dtype=np.int64))
>>> read_matrix(f"{folder}/big.npy")[:, 0].tolist()         # as float64 both would be 2^62
[4611686018427387904, 4611686018427387905]
>>> np.save(f"{folder}/z.npy", np.array([[1 + 2j]]))
>>> read_matrix(f"{folder}/z.npy")
Traceback (most recent call last):
...
rankcollapse.numerics.instance.InstanceError: .../z.npy: dtype complex128 has no exact real entries; use an integer or real floating dtype
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from .instance import InstanceError, _Reader, read_json, read_text

__all__ = ["read_matrix", "array_entries", "SUFFIXES"]

SUFFIXES = (".npy", ".csv", ".json")


def array_entries(A: np.ndarray, source: str) -> np.ndarray:
    """The exact entries of a 2-D numpy array (an object array of ints and Fractions)."""
    if A.dtype.fields is not None or A.dtype.kind not in "iuf":
        raise InstanceError(f"{source}: dtype {A.dtype} has no exact real entries; use an integer or real "
                            "floating dtype")
    if A.ndim != 2 or A.size == 0:
        raise InstanceError(f"{source}: expected a non-empty 2-D matrix, got shape {A.shape}")
    if A.dtype.kind in "iu":
        return np.array(A.tolist(), dtype=object)  # Python ints, exact at any width
    bad = np.argwhere(~np.isfinite(A))
    if len(bad):
        i, j = bad[0]
        raise InstanceError(f"{source}: matrix[{i}][{j}]: {A[i, j]} is not a finite number")
    # as_integer_ratio is exact for every float width, long double included
    return np.array([Fraction(*v.as_integer_ratio()) for v in A.flat], dtype=object).reshape(A.shape)


def _npy(path: Path) -> np.ndarray:
    try:
        A = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, MemoryError) as e:
        raise InstanceError(f"{path}: not a readable .npy array ({e})") from None
    if not isinstance(A, np.ndarray):  # an .npz archive under a .npy name
        A.close()
        raise InstanceError(f"{path}: not a .npy array (an .npz archive?)")
    return array_entries(A, str(path))


def _csv(path: Path) -> np.ndarray:
    rows = [[c.strip() for c in line.split(",")] for line in read_text(path).splitlines() if line.strip()]
    return _Reader(str(path)).matrix(rows, "matrix")


def _json(path: Path) -> np.ndarray:
    obj = read_json(path)  # numbers keep their decimal text, read exactly by _Reader
    if not isinstance(obj, dict) or set(obj) != {"matrix"}:
        raise InstanceError(f'{path}: expected an object with the single key "matrix"')
    return _Reader(str(path)).matrix(obj["matrix"], "matrix")


def read_matrix(path) -> np.ndarray:
    """The matrix in a ``.npy``, ``.csv`` or ``.json`` file, every entry exact (module docstring);
    :class:`InstanceError` naming the file (and entry) for anything else."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise InstanceError(f"{path}: unknown file type {suffix!r}; use {', '.join(SUFFIXES)}")
    if not p.is_file():
        raise InstanceError(f"{path}: no such file")
    return {".npy": _npy, ".csv": _csv, ".json": _json}[suffix](p)
