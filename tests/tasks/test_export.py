"""``bench tasks export``: requests as files, answered outside PoseBench, scored by ``bench score``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tasks import get_task
from tests.cli_helpers import run_bench

TASKS = ("text2pose", "poseedit", "image2text", "imagediff", "rpe")
LIMIT = 5


def _answer_outside(export: Path, bundle: Path) -> None:
    """What a model running elsewhere does, with nothing but the export files and the JSON module:
    answer every request (a fixed text, or pose A / a rest pose) and write a bundle."""
    record = json.loads((export / "export.json").read_text(encoding="utf-8"))
    bundle.mkdir()
    meta = {"model_name": "outside", "model_version": "1", "parameter_count": None, "training_data": [],
            "code_link": None, "licence": "MIT", "bench_version": record["bench_version"], "data": record["data"],
            "task_versions": {task: entry["version"] for task, entry in record["tasks"].items()}}  # fmt: skip
    (bundle / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    for task, entry in record["tasks"].items():
        lines = []
        for line in (export / f"{task}.jsonl").read_text(encoding="utf-8").splitlines():
            request = json.loads(line)
            for key in ("image", "image_a", "image_b"):
                if key in request["inputs"]:
                    assert Image.open(export / request["inputs"][key]).size == (224, 224)
            if entry["answer"] == "text":
                lines.append({"id": request["id"], "text": "The person stands with the arms down."})
            else:
                pose = request["inputs"].get("pose_a", [[0.0, 0.0, 0.0]] * 22)
                lines.append({"id": request["id"], "pose": pose})
        (bundle / f"{task}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")


def test_exported_requests_answered_outside_are_scored(synth_small: Path, synth_dataset: Any, bench_home: Path,
                                                       tmp_path: Path) -> None:  # fmt: skip
    export = tmp_path / "export"
    done = run_bench("-q", "tasks", "export", ",".join(TASKS), "--data", str(synth_small), "--out", str(export),
                     "--limit", str(LIMIT))  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert f"bench score BUNDLE --data {synth_small} --limit {LIMIT}" in done.stdout

    for task_id in TASKS:  # every exported line is the request a model adapter gets, bit for bit
        requests = get_task(task_id).build_requests(synth_dataset, LIMIT)
        lines = [json.loads(x) for x in (export / f"{task_id}.jsonl").read_text(encoding="utf-8").splitlines()]
        assert [x["id"] for x in lines] == [r.id for r in requests]
        for line, request in zip(lines, requests, strict=True):
            assert set(line["inputs"]) == set(request.inputs) and line["task"] == task_id
            assert line["instruction"] == get_task(task_id).spec.description
            for key, value in request.inputs.items():
                got = line["inputs"][key]
                if key.startswith("image"):
                    np.testing.assert_array_equal(np.asarray(Image.open(export / got).convert("RGB")), value)
                elif key.startswith("pose"):
                    np.testing.assert_array_equal(np.asarray(got, dtype=np.float32), value)
                else:
                    assert got == value

    bundle = tmp_path / "outside"
    _answer_outside(export, bundle)
    scored = run_bench("score", str(bundle), "--data", str(synth_small), "--limit", str(LIMIT), "--no-store", "--json")
    assert scored.exit_code == 0, scored.stderr
    result = json.loads(scored.stdout)
    assert sorted(result["tasks"]) == sorted(TASKS)
    poseedit = {m["name"]: m["value"] for m in result["tasks"]["poseedit"]["metrics"]}
    copy = run_bench("run", "--model", "copy-source", "--tasks", "poseedit", "--data", str(synth_small), "--limit",
                     str(LIMIT), "--no-store", "--json")  # fmt: skip
    reference = {m["name"]: m["value"] for m in json.loads(copy.stdout)[0]["tasks"]["poseedit"]["metrics"]}
    assert poseedit["mpjpe_mm"] == pytest.approx(reference["mpjpe_mm"], abs=0)  # pose A answered = copy-source


def test_export_never_overwrites_by_accident(synth_small: Path, bench_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    assert run_bench("-q", "tasks", "export", "rpe", "--data", str(synth_small), "--out", str(out), "--limit", "2").exit_code == 0
    again = run_bench("-q", "tasks", "export", "all", "--data", str(synth_small), "--out", str(out), "--limit", "2")
    assert again.exit_code == 2 and "already exists (pass --overwrite" in again.stderr
    assert sorted(p.name for p in out.iterdir()) == ["export.json", "images", "rpe.jsonl"]
    replaced = run_bench("-q", "tasks", "export", "all", "--data", str(synth_small), "--out", str(out), "--limit", "2",
                         "--overwrite")  # fmt: skip
    assert replaced.exit_code == 0, replaced.stderr
    assert len(list(out.glob("*.jsonl"))) == 9 and not list(tmp_path.glob(".*partial"))
    unknown = run_bench("tasks", "export", "pose2txt", "--data", str(synth_small), "--out", str(tmp_path / "x"))
    assert unknown.exit_code == 2 and "did you mean 'pose2text'" in unknown.stderr
