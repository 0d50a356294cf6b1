"""Incremental cache of model answers for ``bench run`` (one SQLite file under ``config.cache_dir``).

An answer is keyed by (model name, model version, task id, task version, split hash of the data,
generation settings, sample id). The key never contains the batch size, shard or world size, so a
run interrupted at any point resumes where it stopped, and a sharded run reuses an unsharded one's
answers and vice versa. Each answered chunk is committed at once (WAL journal); the processes of a
``torchrun`` share the file.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import DataError
from bench.hashing import sha256_bytes
from bench.models.adapter import Prediction, SampleFailure

CACHE_FILE = "predictions.sqlite"
BUSY_TIMEOUT_S = 60.0
"""How long a process waits for another's write (ranks of one ``torchrun`` share the file)."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    namespace TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    answer TEXT NOT NULL,
    PRIMARY KEY (namespace, sample_id)
);
CREATE TABLE IF NOT EXISTS namespaces (namespace TEXT PRIMARY KEY, description TEXT NOT NULL);
"""


@dataclass(frozen=True)
class CacheKey:
    """Everything an answer depends on, except the sample id."""

    model: str
    model_version: str
    task: str
    task_version: str
    data_hash: str
    """SHA-256 of the dataset split the requests come from."""
    settings: tuple[tuple[str, Any], ...]
    """Generation settings (run seed, model options), sorted ``(name, value)`` pairs."""

    def namespace(self) -> str:
        """SHA-256 hex of the canonical JSON of the fields."""
        return sha256_bytes(self.describe().encode("utf-8"))

    def describe(self) -> str:
        return json.dumps({"model": self.model, "model_version": self.model_version, "task": self.task,
                           "task_version": self.task_version, "data_hash": self.data_hash,
                           "settings": [list(s) for s in self.settings]}, sort_keys=True)  # fmt: skip


def encode_answer(answer: Prediction | SampleFailure) -> str:
    """JSON text of an answer; float32 poses round-trip exactly."""
    if isinstance(answer, SampleFailure):
        return json.dumps({"failure": answer.reason})
    if isinstance(answer, str):
        return json.dumps({"text": answer}, ensure_ascii=False)
    return json.dumps({"pose": np.asarray(answer, dtype=np.float32).tolist()})


def decode_answer(text: str, where: Path, sample_id: str) -> Prediction | SampleFailure:
    """Inverse of :func:`encode_answer` (DataError on a corrupt row)."""
    try:
        record = json.loads(text)
        if "failure" in record:
            return SampleFailure(str(record["failure"]))
        if "text" in record:
            return str(record["text"])
        pose = np.asarray(record["pose"], dtype=np.float32)
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"corrupt cached answer ({exc}); delete the cache file", file=where, sample_id=sample_id) from None
    if pose.shape != (22, 3):
        raise DataError(f"cached pose has shape {pose.shape}; delete the cache file", file=where, sample_id=sample_id)
    return pose


class PredictionCache:
    """The answers cache at ``cache_dir / predictions.sqlite`` (created when missing)."""

    def __init__(self, cache_dir: str | Path) -> None:
        self.path = Path(cache_dir) / CACHE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        # Processes of one distributed run open the same file at once; switching a new file to WAL
        # takes a lock that SQLite's busy timeout does not wait for, so retry that step.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.executescript(_SCHEMA)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    self._conn.close()
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> PredictionCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, key: CacheKey, sample_ids: Iterable[str]) -> dict[str, Prediction | SampleFailure]:
        """Cached answers among ``sample_ids``."""
        namespace = key.namespace()
        wanted = set(sample_ids)
        rows = self._conn.execute("SELECT sample_id, answer FROM answers WHERE namespace = ?", (namespace,))
        return {sid: decode_answer(text, self.path, sid) for sid, text in rows if sid in wanted}

    def put(self, key: CacheKey, answers: Mapping[str, Prediction | SampleFailure]) -> None:
        """Store answers in one transaction (replacing earlier ones of the same samples)."""
        namespace = key.namespace()
        with self._conn:
            self._conn.execute("INSERT OR IGNORE INTO namespaces VALUES (?, ?)", (namespace, key.describe()))
            self._conn.executemany("INSERT OR REPLACE INTO answers VALUES (?, ?, ?)",
                                   [(namespace, sid, encode_answer(a)) for sid, a in answers.items()])  # fmt: skip
