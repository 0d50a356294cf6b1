"""Task specs, the task registry, `bench tasks`, and requests built from the small synth dataset."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.errors import DataError, InternalError
from tasks import TASKS, MetricSpec, get_task, task_ids
from tasks.spec import REQUEST_KINDS
from tests.cli_helpers import run_bench

NINE = {"pose2text", "posediff", "image2text", "imagediff", "text2pose", "image2pose", "poseedit", "spg", "rpe"}
EXPECTED_COUNTS = {"pose2text": 256, "posediff": 256, "image2text": 128, "imagediff": 64, "text2pose": 256,
                   "image2pose": 128, "poseedit": 256, "spg": 64, "rpe": 64}  # fmt: skip


def test_nine_tasks_registered_one_file_each() -> None:
    assert set(task_ids()) == NINE
    for task_id in NINE:
        cls = TASKS.get(task_id)
        assert cls.spec.id == task_id and cls.__module__ == f"tasks.{task_id}"


@pytest.mark.parametrize("task_id", sorted(NINE))
def test_spec_is_consistent(task_id: str) -> None:
    spec = get_task(task_id).spec
    assert spec.changelog[-1][0] == spec.version
    main = spec.metric(spec.main_metric)
    assert main.variant is None and main.direction == spec.main_direction
    assert spec.request_kind in REQUEST_KINDS
    for metric in spec.metrics:
        assert metric.description and metric.unit in ("%", "mm", "x100", "1")
        if metric.measure == "mpjpe":
            assert metric.joint_set in ("body22", "lsp14") and metric.unit == "mm"
        if metric.measure == "r_precision":
            assert metric.seed == 0 and metric.protocol == ("blocks32" if metric.variant is None else "posescript")
    json.dumps(spec.to_dict())  # JSON-ready


def test_joint_sets_and_alignments_per_family() -> None:
    for task_id in ("image2pose", "rpe"):
        spec = get_task(task_id).spec
        assert (spec.metric("mpjpe_mm").joint_set, spec.metric("mpjpe_mm").alignment) == ("lsp14", "root")
    for task_id in ("text2pose", "spg", "poseedit"):
        spec = get_task(task_id).spec
        assert (spec.metric("mpjpe_mm").joint_set, spec.metric("mpjpe_mm").alignment) == ("body22", "none")
        assert spec.metric("pa_mpjpe_mm").alignment == "procrustes"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"version": "1"}, "must be 'X.Y'"),
        ({"evaluator_sha256": "ABC"}, "lower-case hex SHA-256"),
        ({"main_metric": "r_precision_posescript_top1"}, "not a default metric"),
        ({"main_direction": "lower"}, "higher-is-better"),
        ({"changelog": (("0.9", "old"),)}, "last entry must describe version"),
        ({"data_hashes": (("synth-small", "xyz"),)}, "hex SHA-256"),
        ({"family": "fun"}, "family"),
    ],
)
def test_bad_task_spec_is_rejected(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InternalError, match=message):
        replace(get_task("pose2text").spec, **change)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"k": None}, "r_precision metrics need 'k'"),
        ({"k": 0}, "positive rank cut-off"),
        ({"protocol": "batches"}, "protocol 'batches' is not one of r_precision's: blocks32, posescript"),
        ({"seed": None}, "r_precision metrics need a 'seed'"),
        ({"evaluator": None}, "r_precision metrics need 'evaluator'"),
        ({"direction": "up"}, "direction"),
        ({"joint_set": "body22"}, "r_precision metrics take no 'joint_set'"),
        ({"alignment": "sideways"}, "alignment"),
        ({"measure": "r_precison"}, "unknown measure 'r_precison'; did you mean 'r_precision'"),
        ({"measure": "mpjpe", "k": None, "query": None, "evaluator": None, "protocol": "joints"},
         "mpjpe metrics need 'joint_set'"),
    ],
)
def test_bad_metric_spec_is_rejected(change: dict[str, Any], message: str) -> None:
    base: MetricSpec = get_task("pose2text").spec.metric("r_precision_top1")
    with pytest.raises(InternalError, match=message):
        replace(base, **change)


def test_a_measure_scores_only_its_output_kind() -> None:
    pose_metric = get_task("text2pose").spec.metric("mpjpe_mm")
    spec = get_task("pose2text").spec
    with pytest.raises(InternalError, match="measure mpjpe does not score text answers"):
        replace(spec, metrics=(*spec.metrics, pose_metric))


def test_cli_tasks_list_and_show() -> None:
    listed = run_bench("tasks", "list")
    assert listed.exit_code == 0 and "r_precision_top1 ↑" in listed.stdout and "pa_mpjpe_mm ↓" in listed.stdout
    as_json = json.loads(run_bench("tasks", "list", "--json").stdout)
    assert {t["id"] for t in as_json} == NINE
    shown = run_bench("tasks", "show", "image2pose")
    assert shown.exit_code == 0 and "lsp14" in shown.stdout and "1.0  first version" in shown.stdout
    spec = json.loads(run_bench("tasks", "show", "pose2text", "--json").stdout)
    assert spec["main_metric"] == "r_precision_top1" and spec["evaluator_id"] == "posetext-synth-v1"
    unknown = run_bench("tasks", "show", "pose2txt")
    assert unknown.exit_code == 2 and "did you mean 'pose2text'" in unknown.stderr


@pytest.mark.parametrize("task_id", sorted(NINE))
def test_sample_ids_and_requests(task_id: str, synth_dataset: Any) -> None:
    task = get_task(task_id)
    ids = task.sample_ids(synth_dataset)
    assert len(ids) == EXPECTED_COUNTS[task_id] and len(set(ids)) == len(ids)
    requests = task.build_requests(synth_dataset, limit=2)
    assert [r.id for r in requests] == ids[:2]
    for request in requests:
        assert request.task == task_id and request.kind == task.spec.request_kind
        assert set(request.inputs) == set(task.spec.input_kinds)
        for key, value in request.inputs.items():
            if key == "text":
                assert isinstance(value, str) and value.strip()
            elif key.startswith("image"):
                assert value.dtype == np.uint8 and value.shape == (224, 224, 3)
            else:
                assert value.dtype == np.float32 and value.shape == (22, 3)


@pytest.mark.parametrize("task_id", ["pose2text", "text2pose", "poseedit", "image2pose"])
def test_reference_predictions(task_id: str, synth_dataset: Any) -> None:
    task = get_task(task_id)
    ceiling = task.reference_predictions(synth_dataset, "ceiling", limit=5)
    chance = task.reference_predictions(synth_dataset, "chance", seed=3, limit=5)
    again = task.reference_predictions(synth_dataset, "chance", seed=3, limit=5)
    assert list(ceiling) == list(chance) == task.sample_ids(synth_dataset, 5)
    for a, b in zip(chance.values(), again.values(), strict=True):
        assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b
    if task_id == "poseedit":  # chance = pose A unchanged
        first = task.build_requests(synth_dataset, limit=1)[0]
        assert np.array_equal(next(iter(chance.values())), first.inputs["pose_a"])


def test_missing_component_is_a_data_error(synth_small: Path, tmp_path: Path) -> None:
    """A dataset without renders cannot be scored on image tasks."""
    import shutil

    from bench.data import load_dataset

    copy = tmp_path / "synth-small"
    shutil.copytree(synth_small, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"] = {k: v for k, v in manifest["files"].items() if not k.startswith("renders/")}
    (copy / "manifest.json").chmod(0o644)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="has no renders/test; task image2pose needs renders"):
        get_task("image2pose").sample_ids(load_dataset(copy, tmp_path))


def test_the_pose_shape_is_the_body_models_pose() -> None:
    from bench.body import NUM_POSE_JOINTS
    from tasks.spec import POSE_SHAPE

    assert POSE_SHAPE == (NUM_POSE_JOINTS, 3)
