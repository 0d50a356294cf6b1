"""Progress bars for long work: tqdm, silenced by ``--quiet`` or when stderr is not a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

_QUIET_ENV = "BENCH_QUIET"


def set_quiet(quiet: bool) -> None:
    """Called once by the CLI entry point."""
    os.environ[_QUIET_ENV] = "1" if quiet else "0"


def bars_enabled() -> bool:
    if os.environ.get(_QUIET_ENV) == "1":
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
