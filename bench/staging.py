"""Folders written whole or not at all (submission bundles, request exports)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.errors import UserError


@contextmanager
def staged_folder(root: str | Path, *, overwrite: bool, exists_message: str) -> Iterator[Path]:
    """Yield a hidden staging folder beside ``root`` to write into; when the block ends normally it
    replaces ``root``, and when it raises it is deleted, so ``root`` is never left half-written.

    Raises:
        UserError: ``root`` exists and ``overwrite`` is False (``exists_message``, naming ``root``).
    """
    root = Path(root)
    if root.exists() and not overwrite:
        raise UserError(exists_message, file=root)
    staging = root.with_name(f".{root.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        if root.exists():
            shutil.rmtree(root)
        staging.rename(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
