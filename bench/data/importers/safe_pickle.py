"""A restricted unpickler for the official 3DPW sequence files.

3DPW ships its annotations as Python 2 pickles of a dict of numpy arrays, lists and strings. A
pickle can name any importable callable and run it while loading, so these files are never handed to
``pickle.load``. :func:`load_restricted_pickle` resolves only the globals needed to rebuild numpy
arrays, dtypes and scalars and the builtin containers; any other global (``os.system``,
``builtins.eval``, a class of some library, ...) is refused with a :class:`~bench.errors.DataError`
before anything is called. The callables allowed build arrays from bytes and shapes and run no
user code. Python 2 byte strings are decoded as latin-1, which is what numpy needs for array payloads
written by Python 2.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
from numpy._core import multiarray, numeric

_ALLOWED: dict[tuple[str, str], Any] = {}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_module, "_reconstruct")] = multiarray._reconstruct
    _ALLOWED[(_module, "scalar")] = multiarray.scalar
for _module in ("numpy.core.numeric", "numpy._core.numeric"):
    _ALLOWED[(_module, "_frombuffer")] = numeric._frombuffer
_ALLOWED[("numpy", "ndarray")] = np.ndarray
_ALLOWED[("numpy", "dtype")] = np.dtype
_ALLOWED[("_codecs", "encode")] = __import__("codecs").encode  # Python 3 protocol-2 bytes payloads
for _module in ("builtins", "__builtin__"):
    for _name, _obj in (("list", list), ("dict", dict), ("tuple", tuple), ("set", set), ("frozenset", frozenset)):
        _ALLOWED[(_module, _name)] = _obj


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle names a global outside the whitelist."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"refusing to load global {module}.{name}") from None


def load_restricted_pickle(path: Path) -> Any:
    """Unpickle ``path`` allowing only numpy array/dtype/scalar reconstruction and builtin containers.

    Raises:
        UnsafePickleError: the pickle names any other global.
        pickle.UnpicklingError, EOFError, ValueError, OSError: a corrupt or unreadable file.
    """
    with path.open("rb") as handle:
        return _RestrictedUnpickler(handle, encoding="latin1").load()
