"""A bundle uploaded in the page: the same validation and scoring as ``bench score``, then the store
and the table.

Nothing is stored unless validation and scoring both succeed (``submissions.score_and_store``
scores first, then adds the run in one transaction). Error messages name the uploaded file, not the temporary
copy it was scored from.
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.config import BenchConfig
from bench.errors import BenchError, ValidationError
from leaderboard.build import build_table

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class UploadOutcome:
    """A stored upload."""

    run_id: int
    model_name: str
    model_version: str
    eligible: bool
    ineligible_reasons: tuple[str, ...]
    tasks: tuple[str, ...]


def safe_name(filename: str) -> str:
    """A file name for the temporary copy: ``[A-Za-z0-9._-]`` only, ending in ``.zip`` if the upload did.

    >>> safe_name("../my bundle<1>.zip")
    'my_bundle_1_.zip'
    """
    base = _UNSAFE.sub("_", Path(filename).name).strip("_") or "bundle"
    return base[-120:]


def score_upload(data: bytes, filename: str, config: BenchConfig, table_path: Path,
                 dataset: str | None = None) -> UploadOutcome:  # fmt: skip
    """Validate and score an uploaded ``.zip`` bundle, store the run and rebuild the table.

    Args:
        data: the uploaded bytes.
        filename: the name the user uploaded (used in messages only).
        config: store, data and evaluator paths, body model.
        table_path: the leaderboard table to rebuild.
        dataset: dataset name; None uses the bundle's ``meta.json`` ``data``, else the default.

    Raises:
        BenchError subclasses (ValidationError, DataError, ...), each one line naming the uploaded
        file, field and sample id. The store is unchanged when one is raised.
    """
    from submissions import score_and_store

    if not filename.lower().endswith(".zip"):
        raise ValidationError("a bundle upload must be a .zip file", file=filename)
    with tempfile.TemporaryDirectory(prefix="posebench-upload-") as tmp:
        path = Path(tmp) / safe_name(filename)
        path.write_bytes(data)
        try:
            result, run_id = score_and_store(path, config, dataset or None)
        except BenchError as exc:
            raise _renamed(exc, str(path), filename) from None
    build_table(config.results_store, table_path)
    logger.info("upload %s stored as run %d; table rebuilt", filename, run_id)
    return UploadOutcome(run_id, result.model_name, result.model_version, result.eligible,
                         tuple(result.ineligible_reasons), tuple(result.tasks))  # fmt: skip


def _renamed(exc: BenchError, temporary: str, filename: str) -> BenchError:
    """The same error with the temporary path replaced by the uploaded file's name."""
    location = None if exc.file is None else exc.file.replace(temporary, filename)
    return type(exc)(exc.reason.replace(temporary, filename), file=location, field=exc.field, sample_id=exc.sample_id)
