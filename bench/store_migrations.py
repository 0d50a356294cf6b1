"""Schema migrations of the results store (``bench/store.py``).

Each :class:`Migration` moves the schema from ``version - 1`` to ``version``; :func:`migrate` applies
the pending ones, each inside the caller's transaction, and records them in ``schema_version``.
Add a migration by appending to :data:`MIGRATIONS`; never edit an applied one.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.errors import UserError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    """One schema step."""

    version: int
    """Schema version after this step (1, 2, ...)."""
    description: str
    """What the step changes, for the ``schema_version`` table."""
    statements: tuple[str, ...]
    """SQL statements run in order inside one transaction."""


_V1 = (
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model_name TEXT NOT NULL,
        model_version TEXT NOT NULL,
        meta_json TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('reproduced', 'verified', 'self-reported')),
        eligible INTEGER NOT NULL CHECK (eligible IN (0, 1)),
        ineligible_reasons_json TEXT NOT NULL,
        bench_version TEXT NOT NULL,
        data_name TEXT NOT NULL,
        data_version TEXT NOT NULL,
        data_hash TEXT NOT NULL,
        bundle_sha256 TEXT NOT NULL,
        created TEXT NOT NULL,
        settings_json TEXT NOT NULL,
        timings_json TEXT NOT NULL
    )""",
    """CREATE TABLE scores (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        task TEXT NOT NULL,
        task_version TEXT NOT NULL,
        metric TEXT NOT NULL,
        value REAL NOT NULL,
        ci_low REAL,
        ci_high REAL,
        direction TEXT NOT NULL CHECK (direction IN ('higher', 'lower')),
        unit TEXT NOT NULL,
        is_main INTEGER NOT NULL CHECK (is_main IN (0, 1)),
        protocol_json TEXT NOT NULL,
        evaluator_id TEXT,
        evaluator_sha256 TEXT,
        data_hash TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (run_id, task, metric)
    )""",
    """CREATE TABLE samples (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        task TEXT NOT NULL,
        sample_id TEXT NOT NULL,
        prediction_json TEXT NOT NULL,
        metrics_json TEXT NOT NULL,
        PRIMARY KEY (run_id, task, sample_id)
    )""",
    "CREATE INDEX scores_by_task ON scores (task, metric)",
)

MIGRATIONS: tuple[Migration, ...] = (Migration(1, "runs, scores and per-sample outputs", _V1),)
LATEST_VERSION = MIGRATIONS[-1].version


def current_version(conn: sqlite3.Connection) -> int:
    """The schema version of an open store; 0 for an empty database."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Bring the schema to :data:`LATEST_VERSION`; the caller holds an open write transaction.

    Returns the number of migrations applied. A store written by a newer bench raises UserError.
    """
    version = current_version(conn)
    if version > LATEST_VERSION:
        raise UserError(
            f"results store has schema version {version}, newer than this bench supports ({LATEST_VERSION}); "
            "upgrade bench",
            file=path,
        )
    if version == 0:
        conn.execute(
            "CREATE TABLE schema_version "
            "(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied TEXT NOT NULL)"
        )
    pending = [m for m in MIGRATIONS if m.version > version]
    for migration in pending:
        for statement in migration.statements:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_version (version, description, applied) VALUES (?, ?, ?)",
            (migration.version, migration.description, datetime.now(UTC).isoformat(timespec="seconds")),
        )
        logger.info("results store %s: migrated to schema version %d", path, migration.version)
    return len(pending)
