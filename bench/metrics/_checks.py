"""Input checks shared by the metric functions.

Every check converts to ``float64`` (metrics accumulate in float64) and raises
:class:`bench.errors.ValidationError` for bad data, or :class:`bench.errors.ConfigError` for a bad
protocol option, with a one-line message naming the offending argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from bench.errors import ConfigError, ValidationError

#: How far an embedding's L2 norm may be from 1 (float16/float32 evaluators stay far inside it).
NORM_TOLERANCE = 1e-3


def as_float64(x: ArrayLike, name: str, *, ndim: int) -> np.ndarray:
    """``x`` as a finite float64 array with ``ndim`` dimensions (a copy only where needed)."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"not a numeric array ({exc})", field=name) from None
    if arr.ndim != ndim:
        raise ValidationError(f"expected {ndim} dimensions, got shape {arr.shape}", field=name)
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValidationError(f"non-finite value at index {tuple(int(i) for i in bad)}", field=name)
    return arr


def as_embedding_pair(
    a: ArrayLike, b: ArrayLike, names: tuple[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Two matched ``(N, D)`` L2-normalised embedding matrices as float64.

    Row ``i`` of ``a`` and row ``i`` of ``b`` are a matched pair, so the shapes must be equal.
    """
    arrays = (as_float64(a, names[0], ndim=2), as_float64(b, names[1], ndim=2))
    if arrays[0].shape != arrays[1].shape:
        raise ValidationError(
            f"shape {arrays[0].shape} of {names[0]} != shape {arrays[1].shape} of {names[1]}",
            field=names[1],
        )
    if arrays[0].shape[0] == 0 or arrays[0].shape[1] == 0:
        raise ValidationError(f"empty embeddings, shape {arrays[0].shape}", field=names[0])
    for arr, name in zip(arrays, names):
        norms = np.linalg.norm(arr, axis=1)
        off = np.flatnonzero(np.abs(norms - 1.0) > NORM_TOLERANCE)
        if off.size:
            raise ValidationError(
                f"row {int(off[0])} has L2 norm {norms[off[0]]:.6g}; embeddings must be "
                "L2-normalised (similarity is the dot product)",
                field=name,
            )
    return arrays


def check_int(value: object, name: str, *, low: int) -> int:
    """``value`` as an int ``>= low`` (bools rejected), else :class:`ConfigError`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"{name} must be an int >= {low}, got {value!r}", field=name)
    return int(value)


def check_ks(ks: Sequence[int], *, upper: int, upper_name: str) -> tuple[int, ...]:
    """``ks`` as a tuple of distinct ints in ``[1, upper]``, in the given order."""
    out = tuple(ks)
    if not out:
        raise ConfigError("ks is empty", field="ks")
    for k in out:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise ConfigError(f"k={k!r} is not an int", field="ks")
        if not 1 <= k <= upper:
            raise ConfigError(f"k={k} is outside [1, {upper}] ({upper_name}={upper})", field="ks")
    if len(set(out)) != len(out):
        raise ConfigError(f"duplicate values in ks={out}", field="ks")
    return tuple(int(k) for k in out)
