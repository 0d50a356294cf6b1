"""Torch devices and dtypes as the command line names them (``--device``, ``--dtype``).

``--device`` takes ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto`` (CUDA if present, else MPS,
else CPU). Under torch.distributed a plain ``cuda`` (or an ``auto`` that finds CUDA) means
``cuda:LOCAL_RANK``, so each process of a node drives its own GPU. A device that this machine
does not have is a :class:`~bench.errors.ConfigError` naming the option, before anything loads.

``--dtype`` takes ``float32`` (the default), ``bfloat16`` or ``float16``: the precision a model's
weights and activations run in. Scoring never uses it: metrics accumulate in float64.
"""

from __future__ import annotations

import re
from typing import Any

from bench.errors import ConfigError

DEVICE_CHOICES = ("cpu", "cuda", "cuda:N", "mps", "auto")
"""What ``--device`` accepts (``N`` a GPU index)."""
DTYPES = ("float32", "bfloat16", "float16")
"""What ``--dtype`` accepts."""
_CUDA_INDEX = re.compile(r"^cuda:(\d+)$")


def resolve_device(spec: str, *, local_rank: int | None = None, field: str = "--device") -> str:
    """The concrete torch device string for ``spec`` on this machine.

    Args:
        spec: one of :data:`DEVICE_CHOICES` (``cuda:N`` with a literal index).
        local_rank: this process's rank on its node under torch.distributed; it picks the GPU for a
            plain ``cuda`` or ``auto``.
        field: the option named in errors.

    Returns:
        ``"cpu"``, ``"cuda:N"`` or ``"mps"``.

    Raises:
        ConfigError: an unknown spec, or a device this machine does not have.
    """
    import torch

    spec = spec.strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            spec = "cuda"
        elif _mps_available():
            return "mps"
        else:
            return "cpu"
    if spec == "cpu":
        return "cpu"
    if spec == "mps":
        if not _mps_available():
            raise ConfigError("MPS (Apple GPU) is not available on this machine", field=field)
        return "mps"
    match = _CUDA_INDEX.match(spec)
    if spec != "cuda" and match is None:
        raise ConfigError(f"unknown device {spec!r}; use one of {', '.join(DEVICE_CHOICES)}", field=field)
    if not torch.cuda.is_available():
        raise ConfigError(f"{spec!r} asked for, but CUDA is not available on this machine (torch "
                          f"{torch.__version__}); use --device cpu", field=field)  # fmt: skip
    index = int(match.group(1)) if match else (local_rank or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise ConfigError(f"cuda:{index} asked for, but this machine has {count} CUDA device(s)", field=field)
    return f"cuda:{index}"


def device_kind(device: str) -> str:
    """``"cuda:1"`` → ``"cuda"``: the part of a device that can change a model's answers (every GPU
    of one kind computes alike, so runs spread over GPUs share one prediction cache)."""
    return device.split(":", 1)[0]


def check_dtype(name: str, field: str = "--dtype") -> str:
    """``name`` when it is one of :data:`DTYPES`; ConfigError otherwise."""
    if name not in DTYPES:
        raise ConfigError(f"unknown dtype {name!r}; use one of {', '.join(DTYPES)}", field=field)
    return name


def torch_dtype(name: str) -> Any:
    """The ``torch.dtype`` called ``name`` (one of :data:`DTYPES`)."""
    import torch

    return getattr(torch, check_dtype(name))


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
