"""Progress bars for long work: tqdm, silenced by ``--quiet`` or when stderr is not a terminal.

Quietness is a setting of this module, not of the environment: the CLI entry point calls
:func:`set_quiet` once, and code that starts worker processes running bench code hands
:func:`is_quiet` to them explicitly (the synth build passes it to its workers' initializer).
``torchrun`` ranks each run the CLI, so each sets it from its own ``-q``. ``BENCH_PROGRESS=1`` in the
environment forces bars on when not quiet (e.g. when piping to a log file).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

_quiet = False
"""Whether bars are off in this process (see :func:`set_quiet`)."""


def set_quiet(quiet: bool) -> None:
    """Turn progress bars off (True) or back on where stderr allows (False) in this process.

    Called once by the CLI entry point, and by worker processes with their parent's :func:`is_quiet`.
    """
    global _quiet
    _quiet = bool(quiet)


def is_quiet() -> bool:
    """Whether :func:`set_quiet` turned bars off in this process (to pass on to workers)."""
    return _quiet


def bars_enabled() -> bool:
    if _quiet:
        return False
    if os.environ.get("BENCH_PROGRESS") == "1":  # force bars, e.g. when piping to a log file
        return True
    return sys.stderr.isatty()


def progress(iterable: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Wrap ``iterable`` in a progress bar on stderr when bars are enabled."""
    return iter(tqdm(iterable, desc=desc, total=total, unit=unit, disable=not bars_enabled(), leave=False))


def progress_bar(desc: str, total: int | None = None, unit: str = "it") -> tqdm:
    """A manual bar (``.update(n)``); a disabled no-op bar when bars are off."""
    return tqdm(desc=desc, total=total, unit=unit, disable=not bars_enabled(), leave=False)
