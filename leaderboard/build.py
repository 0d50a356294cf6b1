"""``bench leaderboard build``: the results store → the one table the leaderboard app reads.

The table is a single parquet file (``BenchConfig.leaderboard_table``) with one row per stored
(run, task, metric), each carrying its run's model metadata and provenance and the metric's
protocol (:data:`SCHEMA`). Metrics that a task should report but a run lacks (a metric skipped at
scoring time) get a row with ``state = "failed"`` and a null value, so the page can show "failed"
rather than nothing. Task metadata from the task registry (family, input modality, main metric and
direction, the main metric under each R-precision protocol, chance and ceiling definitions) travels
in the parquet's schema metadata under the key ``posebench``. The file is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench.errors import NotFoundError, UserError
from bench.store import ResultsStore

logger = logging.getLogger(__name__)

FORMAT = "posebench-leaderboard"
FORMAT_VERSION = 1
METADATA_KEY = b"posebench"

SCHEMA = pa.schema([
    ("run_id", pa.int64()), ("entry", pa.string()), ("model_version", pa.string()), ("status", pa.string()),
    ("eligible", pa.bool_()), ("ineligible_reasons", pa.string()), ("parameter_count", pa.int64()),
    ("training_data", pa.string()), ("date", pa.string()), ("created", pa.string()), ("code_link", pa.string()),
    ("data_name", pa.string()), ("bench_version", pa.string()), ("task", pa.string()), ("task_version", pa.string()),
    ("metric", pa.string()), ("is_main", pa.bool_()), ("state", pa.string()), ("value", pa.float64()),
    ("ci_low", pa.float64()), ("ci_high", pa.float64()), ("direction", pa.string()), ("unit", pa.string()),
    ("n", pa.int64()), ("evaluator_id", pa.string()), ("evaluator_sha256", pa.string()), ("data_hash", pa.string()),
    ("protocol", pa.string()), ("joint_set", pa.string()), ("alignment", pa.string()), ("seed", pa.int64()),
    ("protocol_json", pa.string()),
])  # fmt: skip
"""Columns of the table. ``entry`` is the model name; ``date`` is ``meta.release_date`` when
given, else the day the run was scored; ``state`` is ``ok`` or ``failed`` (value null)."""


@dataclass(frozen=True)
class Board:
    """A loaded leaderboard table."""

    scores: pd.DataFrame
    """One row per (run, task, metric), columns of :data:`SCHEMA`."""
    meta: dict[str, Any]
    """``format``, ``version``, ``built`` (UTC ISO 8601), ``store`` (path), ``runs`` (count),
    ``tasks`` (task id → metadata, see :func:`task_metadata`), ``rp_protocols``."""


@dataclass(frozen=True)
class BuildSummary:
    """What :func:`build_table` wrote."""

    path: Path
    runs: int
    rows: int
    tasks: int
    ineligible: int = 0
    """Runs marked ineligible: the app hides them unless "Show ineligible runs" is on."""
    ineligible_reasons: dict[str, int] = field(default_factory=dict)
    """Reason → how many of those runs give it (a run may give several), most frequent first."""


def task_metadata() -> dict[str, dict[str, Any]]:
    """Task id → what the leaderboard shows about it, from the task registry.

    Each value holds ``version``, ``family``, ``input_modality``, ``description``, ``main_metric``,
    ``main_direction``, ``chance``, ``ceiling``, ``evaluator_id``, ``default_metrics`` (names),
    ``metrics`` (name → ``description``, ``unit``, ``direction``, ``protocol``) and
    ``main_by_protocol`` (R-precision protocol → the main metric computed under it, for tasks whose
    main metric is an R-precision; otherwise ``{}``).
    """
    from tasks import get_task, task_ids

    out: dict[str, dict[str, Any]] = {}
    for task_id in task_ids():
        spec = get_task(task_id).spec
        main = spec.metric(spec.main_metric)
        by_protocol = {}
        if main.measure == "r_precision":
            by_protocol = {m.protocol: m.name for m in spec.metrics
                           if (m.measure, m.k, m.query) == (main.measure, main.k, main.query)}  # fmt: skip
        out[task_id] = {
            "version": spec.version, "family": spec.family, "input_modality": spec.input_modality,
            "description": spec.description, "main_metric": spec.main_metric, "main_direction": spec.main_direction,
            "chance": spec.chance, "ceiling": spec.ceiling, "evaluator_id": spec.evaluator_id,
            "default_metrics": [m.name for m in spec.metrics if m.variant is None],
            "metrics": {m.name: {"description": m.description, "unit": m.unit, "direction": m.direction,
                                 "protocol": m.protocol} for m in spec.metrics},
            "main_by_protocol": by_protocol,
        }  # fmt: skip
    return out


def build_table(store_path: str | Path, out_path: str | Path) -> BuildSummary:
    """Read every run of the store at ``store_path`` and write the table to ``out_path`` atomically.

    Raises:
        NotFoundError: no store at ``store_path``.
    """
    from bench.metrics.r_precision import PROTOCOLS as R_PRECISION_PROTOCOLS

    tasks = task_metadata()
    with ResultsStore(store_path, create=False) as store:
        runs = {r["id"]: store.run(r["id"]) for r in store.runs()}
    rows = []
    for run in runs.values():
        rows.extend(_run_rows(run, tasks))
    tasks.update(_unregistered_tasks(rows, tasks))
    meta = {
        "format": FORMAT, "version": FORMAT_VERSION, "built": datetime.now(UTC).isoformat(timespec="seconds"),
        "store": str(Path(store_path).resolve()), "runs": len(runs), "tasks": tasks,
        "rp_protocols": list(R_PRECISION_PROTOCOLS),
    }  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=SCHEMA).replace_schema_metadata({METADATA_KEY: json.dumps(meta)})
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".table-", suffix=".parquet", dir=out.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    logger.info("leaderboard table: %d rows from %d runs → %s", len(rows), len(runs), out)
    ineligible = [run for run in runs.values() if not run["eligible"]]
    reasons = Counter(reason for run in ineligible  # each reason once per run
                      for reason in dict.fromkeys(run["ineligible_reasons"] or ["(no reason stored)"]))  # fmt: skip
    return BuildSummary(out, len(runs), len(rows), len({r["task"] for r in rows}), len(ineligible),
                        dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))))  # fmt: skip


def _run_rows(run: dict[str, Any], tasks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The table rows of one stored run: its scores, plus ``failed`` rows for missing default metrics."""
    meta = run["meta"] if isinstance(run["meta"], dict) else {}
    training = meta.get("training_data")
    params = meta.get("parameter_count")
    release = meta.get("release_date")
    common = {
        "run_id": run["id"], "entry": run["model_name"], "model_version": run["model_version"],
        "status": run["status"], "eligible": run["eligible"], "ineligible_reasons": "; ".join(run["ineligible_reasons"]),
        "parameter_count": params if isinstance(params, int) and not isinstance(params, bool) else None,
        "training_data": ", ".join(str(t) for t in training) if isinstance(training, list) else None,
        "date": release if isinstance(release, str) and release else str(run["created"])[:10],
        "created": run["created"], "code_link": meta.get("code_link") if isinstance(meta.get("code_link"), str) else None,
        "data_name": run["data_name"], "bench_version": run["bench_version"],
    }  # fmt: skip
    rows = []
    seen: dict[str, tuple[str, set[str], dict[str, Any]]] = {}
    for s in run["scores"]:
        protocol = s["protocol"] if isinstance(s["protocol"], dict) else {}
        seed = protocol.get("seed")
        rows.append({
            **common, "task": s["task"], "task_version": s["task_version"], "metric": s["metric"],
            "is_main": s["is_main"], "state": "ok", "value": s["value"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
            "direction": s["direction"], "unit": s["unit"], "n": s["n"], "evaluator_id": s["evaluator_id"],
            "evaluator_sha256": s["evaluator_sha256"], "data_hash": s["data_hash"],
            "protocol": _opt_str(protocol.get("protocol")), "joint_set": _opt_str(protocol.get("joint_set")),
            "alignment": _opt_str(protocol.get("alignment")),
            "seed": seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            "protocol_json": json.dumps(protocol, sort_keys=True),
        })  # fmt: skip
        version, names, first = seen.setdefault(s["task"], (s["task_version"], set(), s))
        names.add(s["metric"])
    for task_id, (version, names, first) in seen.items():
        spec = tasks.get(task_id)
        if spec is None or spec["version"] != version:
            continue  # unknown task or another version: its expected metrics are not known here
        for name in spec["default_metrics"]:
            if name in names:
                continue
            m = spec["metrics"][name]
            rows.append({
                **common, "task": task_id, "task_version": version, "metric": name, "is_main": name == spec["main_metric"],
                "state": "failed", "value": None, "ci_low": None, "ci_high": None, "direction": m["direction"],
                "unit": m["unit"], "n": None, "evaluator_id": first["evaluator_id"],
                "evaluator_sha256": first["evaluator_sha256"], "data_hash": first["data_hash"],
                "protocol": m["protocol"], "joint_set": None, "alignment": None, "seed": None, "protocol_json": "{}",
            })  # fmt: skip
    return rows


def _unregistered_tasks(rows: list[dict[str, Any]], known: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Metadata, read off the stored rows, of tasks the registry no longer knows (removed or renamed)."""
    out: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: -r["run_id"]):  # newest run first
        if row["task"] in known:
            continue
        info = out.setdefault(row["task"], {
            "version": row["task_version"], "family": "unknown", "input_modality": "unknown",
            "description": "not in this bench's task registry", "main_metric": None, "main_direction": None,
            "chance": "unknown", "ceiling": "unknown", "evaluator_id": row["evaluator_id"], "default_metrics": [],
            "metrics": {}, "main_by_protocol": {},
        })  # fmt: skip
        info["metrics"].setdefault(row["metric"], {"description": "", "unit": row["unit"], "direction": row["direction"],
                                                   "protocol": row["protocol"]})  # fmt: skip
        if row["is_main"] and info["main_metric"] is None:
            info["main_metric"], info["main_direction"] = row["metric"], row["direction"]
    return out


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def table_digest(path: str | Path) -> str:
    """SHA-256 of the table file's bytes: the cache key of everything loaded from it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load_table(path: str | Path) -> Board:
    """Read a table written by :func:`build_table`.

    Raises:
        NotFoundError: no file at ``path``.
        UserError: not a leaderboard table, or one of another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError("no leaderboard table yet (run `bench leaderboard build`)", file=path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise UserError(f"not a readable parquet file ({' '.join(str(exc).split())})", file=path) from None
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    try:
        meta = json.loads(raw) if raw is not None else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError("not a PoseBench leaderboard table (no 'posebench' metadata)", file=path)
    if meta.get("version") != FORMAT_VERSION:
        raise UserError(f"table format version {meta.get('version')!r}; this bench reads {FORMAT_VERSION} "
                        "(rebuild it with `bench leaderboard build`)", file=path)  # fmt: skip
    missing = set(SCHEMA.names) - set(table.schema.names)
    if missing:
        raise UserError(f"table lacks columns {sorted(missing)} (rebuild it)", file=path)
    frame = table.select(SCHEMA.names).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    return Board(frame, meta)
