"""The results store: one SQLite file (WAL mode) holding runs, scores and per-sample outputs.

Schema (version :data:`bench.store_migrations.LATEST_VERSION`; see ``store_migrations.py``):

- ``runs``: ``id`` (integer), ``model_name``, ``model_version``, ``meta_json`` (the bundle's
  meta.json), ``status`` (``reproduced`` | ``verified`` | ``self-reported``), ``eligible`` (0/1; 0
  for ``--limit`` runs, unpinned data or evaluators), ``ineligible_reasons_json``,
  ``bench_version``, ``data_name``, ``data_version``, ``data_hash``, ``bundle_sha256``, ``created``
  (UTC ISO 8601), ``settings_json`` (batch size, body model, variants, seeds, package versions),
  ``timings_json``.
- ``scores``: one row per (run, task, metric): ``task_version``, ``value``, ``ci_low``, ``ci_high``
  (NULL for set-level statistics), ``direction``, ``unit``, ``is_main``, ``protocol_json`` (joint
  set, alignment, body model, R-precision protocol and seed, chance level, ...), ``evaluator_id``,
  ``evaluator_sha256``, ``data_hash``, ``n``.
- ``samples``: one row per (run, task, sample id): ``prediction_json``, ``metrics_json``.
- ``schema_version``: applied migrations.

Every run is written in one transaction: a failed or interrupted write leaves the store as it was.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import NotFoundError, UserError
from bench.store_migrations import migrate

if TYPE_CHECKING:
    from submissions.result import RunResult

logger = logging.getLogger(__name__)

RUN_COLUMNS = (
    "id", "model_name", "model_version", "status", "eligible", "bench_version", "data_name", "data_version",
    "data_hash", "bundle_sha256", "created",
)  # fmt: skip
SCORE_COLUMNS = (
    "run_id", "task", "task_version", "metric", "value", "ci_low", "ci_high", "direction", "unit", "is_main", "n",
    "evaluator_id", "evaluator_sha256", "data_hash", "protocol_json",
)  # fmt: skip


class ResultsStore:
    """An open results store. Use as a context manager or call :meth:`close`.

    Args:
        path: the SQLite file (``BenchConfig.results_store``).
        create: create the file (and its folder) if missing; otherwise a missing store raises
            NotFoundError. Opening migrates an older schema; a newer one raises UserError.
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            if not create:
                raise NotFoundError("no results store yet (run `bench score` first)", file=self.path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            with self.transaction():
                migrate(self._conn, str(self.path))
        except sqlite3.DatabaseError as exc:
            raise UserError(f"not a readable results store ({exc})", file=self.path) from None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception (KeyboardInterrupt included) rolls back."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # ----- writing ------------------------------------------------------------------------------
    def add_run(self, run: RunResult) -> int:
        """Insert a scored run with its scores and per-sample outputs, atomically; returns its id."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (model_name, model_version, meta_json, status, eligible, ineligible_reasons_json, "
                "bench_version, data_name, data_version, data_hash, bundle_sha256, created, settings_json, "
                "timings_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.model_name, run.model_version, _json(run.meta), run.status, int(run.eligible),
                 _json(list(run.ineligible_reasons)), run.bench_version, run.data_name, run.data_version,
                 run.data_hash, run.bundle_sha256, run.created, _json(run.settings), _json(run.timings_s)),
            )  # fmt: skip
            run_id = int(cursor.lastrowid or 0)
            for task in run.tasks.values():
                conn.executemany(
                    "INSERT INTO scores (run_id, task, task_version, metric, value, ci_low, ci_high, direction, unit, "
                    "is_main, protocol_json, evaluator_id, evaluator_sha256, data_hash, n) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(run_id, task.task, task.task_version, m.name, m.value, m.ci_low, m.ci_high, m.direction, m.unit,
                      int(m.is_main), _json(m.protocol), task.evaluator_id, task.evaluator_sha256, task.data_hash, m.n)
                     for m in task.metrics],
                )  # fmt: skip
                conn.executemany(
                    "INSERT INTO samples (run_id, task, sample_id, prediction_json, metrics_json) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(run_id, task.task, s.sample_id, _json(s.prediction), _json(s.metrics)) for s in task.samples],
                )
        logger.info("stored run %d (%s %s) in %s", run_id, run.model_name, run.model_version, self.path)
        return run_id

    # ----- reading ------------------------------------------------------------------------------
    def runs(self) -> list[dict[str, Any]]:
        """Every run (without meta/settings/timings), newest first, with its task count."""
        rows = self._conn.execute(
            f"SELECT {', '.join('r.' + c for c in RUN_COLUMNS)}, COUNT(DISTINCT s.task) AS tasks "
            "FROM runs r LEFT JOIN scores s ON s.run_id = r.id GROUP BY r.id ORDER BY r.id DESC"
        ).fetchall()
        return [_run_row(row) for row in rows]

    def run(self, run_id: int) -> dict[str, Any]:
        """One run with its meta, settings, timings and scores (NotFoundError if absent)."""
        row = self._conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no run with id {run_id}", file=self.path, field="run")
        out = _run_row(row)
        for key in ("meta", "ineligible_reasons", "settings", "timings"):
            out[key] = json.loads(out.pop(f"{key}_json"))
        out["scores"] = self.scores(run_ids=[run_id])
        return out

    def scores(self, run_ids: list[int] | None = None, *, eligible_only: bool = False) -> list[dict[str, Any]]:
        """Score rows joined with their run's model and provenance, ordered by run, task, metric."""
        where, params = [], []
        if run_ids is not None:
            where.append(f"s.run_id IN ({', '.join('?' for _ in run_ids)})")
            params.extend(run_ids)
        if eligible_only:
            where.append("r.eligible = 1")
        sql = (
            f"SELECT r.model_name, r.model_version, r.status, r.eligible, r.data_name, r.created, "
            f"{', '.join('s.' + c for c in SCORE_COLUMNS)} FROM scores s JOIN runs r ON r.id = s.run_id "
            f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY s.run_id, s.task, s.is_main DESC, s.metric"
        )
        rows = []
        for row in self._conn.execute(sql, params).fetchall():
            item = dict(row)
            item["eligible"] = bool(item["eligible"])
            item["is_main"] = bool(item["is_main"])
            item["protocol"] = json.loads(item.pop("protocol_json"))
            rows.append(item)
        return rows

    def samples(self, run_id: int, task: str | None = None) -> list[dict[str, Any]]:
        """Per-sample outputs of a run (optionally one task), ordered by task then insertion."""
        sql = "SELECT task, sample_id, prediction_json, metrics_json FROM samples WHERE run_id = ?"
        params: list[Any] = [run_id]
        if task is not None:
            sql += " AND task = ?"
            params.append(task)
        rows = self._conn.execute(sql + " ORDER BY task, rowid", params).fetchall()
        return [{"task": r["task"], "sample_id": r["sample_id"], "prediction": json.loads(r["prediction_json"]),
                 "metrics": json.loads(r["metrics_json"])} for r in rows]  # fmt: skip


def _run_row(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["eligible"] = bool(out["eligible"])
    return out


def _json(value: Any) -> str:
    """Compact JSON; non-finite floats are refused so the store stays valid JSON."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=_default)


def _default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
