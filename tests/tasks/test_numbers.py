"""Numbers recomputed independently of the task code, on synth-small:

- every pose-output task's MPJPE / PA-MPJPE of perturbed ground truth equals ``bench.metrics.mpjpe``
  on the task's joint set, with the alignment its spec names, through the scoring body model;
- every task's requests carry the dataset rows of their sample ids (looked up here through the
  ``bench.data`` accessors), and its ground truth is the row meant (pose B of a pair, the
  referred person of an rpe scene).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bench.body import JOINT_NAMES, joint_indices, load_body_model
from bench.metrics import mpjpe
from tasks import ScoringContext, get_task, task_ids

pytestmark = pytest.mark.usefixtures("one_torch_thread")

POSE_TASKS = ("text2pose", "spg", "poseedit", "image2pose", "rpe")
PROTOCOL = {"text2pose": ("body22", "none"), "spg": ("body22", "none"), "poseedit": ("body22", "none"),
            "image2pose": ("lsp14", "root"), "rpe": ("lsp14", "root")}  # fmt: skip
"""(joint set, mpjpe_mm alignment) of each pose task (docs/protocols.md): generation and editing
count orientation errors on the 22 posed joints; estimation subtracts the pelvis and uses LSP-14.
PA-MPJPE is similarity Procrustes on the same joint set everywhere."""
PELVIS = JOINT_NAMES.index("pelvis")
NOISE_RAD = 0.15


def _metric(result: Any, name: str) -> Any:
    return next(m for m in result.metrics if m.name == name)


def _expected_mm(pred_m: np.ndarray, gt_m: np.ndarray, joint_set: str, alignment: str) -> np.ndarray:
    """Per-sample error in mm of ``(N, J, 3)`` joints (metres): joint set and root subtraction done
    here, the error (and Procrustes) by ``bench.metrics.mpjpe``."""
    joints = joint_indices(joint_set)
    if alignment == "root":
        pred_m, gt_m = pred_m - pred_m[:, PELVIS : PELVIS + 1], gt_m - gt_m[:, PELVIS : PELVIS + 1]
    align = "procrustes" if alignment == "procrustes" else "none"
    return mpjpe(pred_m[:, joints], gt_m[:, joints], align=align)


# ----- pose errors ---------------------------------------------------------------------------------


class StubEvaluator:
    """Stands in for the pose-text evaluator, whose recall and FID metrics these tests do not
    read: 8-dimensional embeddings keep FID cheap. Pose errors never touch an evaluator."""

    id, sha256, kind, dim = "stub-posetext", "0" * 64, "pose-text", 8

    def embed_texts(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        lengths = np.array([[len(t), t.count(" "), t.count("e"), 1.0, len(t) % 7, len(t) % 5, len(t) % 3, 2.0]
                            for t in texts], dtype=np.float64)  # fmt: skip
        return (lengths / np.linalg.norm(lengths, axis=1, keepdims=True)).astype(np.float32)

    def embed_poses(self, poses: np.ndarray, batch_size: int = 64) -> np.ndarray:
        flat = np.asarray(poses, dtype=np.float64).reshape(len(poses), -1)[:, 3:11] + 1.0
        return (flat / np.linalg.norm(flat, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def ctx() -> ScoringContext:
    from tasks.pins import POSETEXT_EVALUATOR

    return ScoringContext(evaluators={POSETEXT_EVALUATOR: StubEvaluator()}, body_model=load_body_model("skeleton"))


@pytest.mark.parametrize("task_id", POSE_TASKS)
def test_pose_errors_of_perturbed_ground_truth(task_id: str, synth_dataset: Any, ctx: ScoringContext) -> None:
    task = get_task(task_id)
    joint_set, alignment = PROTOCOL[task_id]
    mpjpe_spec, pa_spec = task.spec.metric("mpjpe_mm"), task.spec.metric("pa_mpjpe_mm")
    assert (mpjpe_spec.joint_set, mpjpe_spec.alignment) == (joint_set, alignment)
    assert (pa_spec.joint_set, pa_spec.alignment) == (joint_set, "procrustes")

    truth = task.reference_predictions(synth_dataset, "ceiling")
    ids = list(truth)
    gt = np.stack([truth[i] for i in ids]).astype(np.float32)
    rng = np.random.default_rng(sum(map(ord, task_id)))
    pred = (gt + rng.normal(scale=NOISE_RAD, size=gt.shape)).astype(np.float32)
    result = task.score(dict(zip(ids, pred, strict=True)), synth_dataset, ctx)

    body = ctx.body_model
    pred_m = np.asarray(body.joints(pred), dtype=np.float64)
    gt_m = np.asarray(body.joints(gt), dtype=np.float64)
    assert pred_m.shape == gt_m.shape == (len(ids), 24, 3)
    by_id = {s.sample_id: s for s in result.samples}
    for spec in (mpjpe_spec, pa_spec):
        expected = _expected_mm(pred_m, gt_m, str(spec.joint_set), str(spec.alignment))
        metric = _metric(result, spec.name)
        assert metric.unit == "mm" and metric.n == len(ids)
        assert metric.value == pytest.approx(float(expected.mean()), rel=1e-9, abs=1e-9), spec.name
        per_sample = np.array([by_id[i].metrics[spec.name] for i in ids])
        np.testing.assert_allclose(per_sample, expected, rtol=1e-9, atol=1e-9, err_msg=spec.name)
        # the check is sharp: another joint set, or Procrustes instead of none/root (and the other
        # way round), gives another number. (``root`` and ``none`` agree here: poses carry no
        # translation, so the body model keeps the pelvis at one place for prediction and truth.)
        other_set = "lsp14" if spec.joint_set == "body22" else "body22"
        assert abs(_expected_mm(pred_m, gt_m, other_set, str(spec.alignment)).mean() - metric.value) > 1.0
        other_alignment = "none" if spec.alignment == "procrustes" else "procrustes"
        assert abs(_expected_mm(pred_m, gt_m, str(spec.joint_set), other_alignment).mean() - metric.value) > 1.0
    assert 10.0 < _metric(result, "pa_mpjpe_mm").value < _metric(result, "mpjpe_mm").value


# ----- requests and ground truth --------------------------------------------------------------------


def _first_reference(texts: Any) -> str:
    """An item's first reference: its first human text, else its first automatic one."""
    return texts.human[0] if texts.human else texts.auto[0]


def _rows(ids: np.ndarray) -> dict[str, int]:
    return {str(i): k for k, i in enumerate(ids.tolist())}


def _expected_samples(task_id: str, dataset: Any, split: str) -> dict[str, tuple[dict[str, Any], np.ndarray | None]]:
    """Sample id -> (request inputs, ground-truth pose or None) of ``task_id``, from the dataset
    accessors alone, in dataset order. Images are returned as paths or render rows (decoded by the
    caller)."""
    out: dict[str, tuple[dict[str, Any], np.ndarray | None]] = {}
    poses = dataset.poses(split)
    pose_row = _rows(poses.ids)
    if task_id in ("pose2text", "text2pose"):
        captions = dataset.captions(split)
        for k, pose_id in enumerate(poses.ids.tolist()):
            if pose_id in captions:
                if task_id == "pose2text":
                    out[pose_id] = ({"pose": poses.poses[k]}, poses.poses[k])
                else:
                    out[pose_id] = ({"text": _first_reference(captions[pose_id])}, poses.poses[k])
    elif task_id in ("posediff", "poseedit"):
        pairs, instructions = dataset.pairs(split), dataset.instructions(split)
        for k, pair_id in enumerate(pairs.ids.tolist()):
            if pair_id in instructions:
                if task_id == "posediff":
                    inputs = {"pose_a": pairs.poses_a[k], "pose_b": pairs.poses_b[k]}
                else:
                    inputs = {"pose_a": pairs.poses_a[k], "text": _first_reference(instructions[pair_id])}
                out[pair_id] = (inputs, pairs.poses_b[k])
    elif task_id in ("image2text", "image2pose"):
        renders, captions = dataset.renders(split), dataset.captions(split)
        for k, render_id in enumerate(renders.ids.tolist()):
            if task_id == "image2pose" or str(renders.pose_ids[k]) in captions:
                out[render_id] = ({"image": ("render", k)}, renders.poses_camera[k])
    elif task_id == "imagediff":
        instructions = dataset.instructions(split)
        for item in dataset.render_pairs(split):
            if item.pair_id in instructions:
                out[item.id] = ({"image_a": ("listed", item.image_a), "image_b": ("listed", item.image_b)}, None)
    elif task_id == "rpe":
        for item in dataset.rpe(split):
            out[item.id] = ({"image": ("listed", item.image), "text": item.question}, item.poses_camera)
    elif task_id == "spg":
        for item in dataset.spg(split):
            out[item.id] = ({"text": item.description}, poses.poses[pose_row[item.pose_id]])
    else:
        raise AssertionError(f"no independent expectation for task {task_id!r}")
    return out


def _decode(dataset: Any, split: str, value: Any) -> Any:
    if isinstance(value, tuple) and value[0] == "render":
        return dataset.renders(split).image(value[1])
    if isinstance(value, tuple) and value[0] == "listed":
        return dataset.listed_image(value[1])
    return value


def test_every_task_has_an_independent_expectation() -> None:
    assert set(task_ids()) == {"pose2text", "posediff", "image2text", "imagediff", "text2pose", "spg", "poseedit",
                               "image2pose", "rpe"}  # fmt: skip


@pytest.mark.parametrize("task_id", sorted(["pose2text", "posediff", "image2text", "imagediff", "text2pose", "spg",
                                            "poseedit", "image2pose", "rpe"]))  # fmt: skip
def test_requests_carry_the_rows_of_their_sample_ids(task_id: str, synth_dataset: Any) -> None:
    task = get_task(task_id)
    split = task.spec.split
    expected = _expected_samples(task_id, synth_dataset, split)
    requests = task.build_requests(synth_dataset)
    assert [r.id for r in requests] == list(expected) == task.sample_ids(synth_dataset)
    assert len(requests) > 0
    for request in requests:
        inputs, _ = expected[request.id]
        assert request.task == task_id and request.kind == task.spec.request_kind
        assert set(request.inputs) == set(inputs) == set(task.spec.input_kinds), request.id
        for key, value in inputs.items():
            got, want = request.inputs[key], _decode(synth_dataset, split, value)
            if isinstance(want, str):
                assert got == want, (request.id, key)
            else:
                assert np.array_equal(np.asarray(got), np.asarray(want)), (request.id, key)
    if task.spec.output_kind == "pose":
        truth = task.reference_predictions(synth_dataset, "ceiling")
        assert list(truth) == list(expected)
        for sample_id, (_, target) in expected.items():
            assert np.array_equal(np.asarray(truth[sample_id]), target), sample_id


@pytest.mark.parametrize("task_id", ["posediff", "poseedit"])
def test_pair_inputs_are_a_then_b(task_id: str, synth_dataset: Any) -> None:
    """Pose A is the pair's first pose, as the instruction reads (checked on pairs whose A and B
    differ, so a swap cannot pass); poseedit's ground truth is pose B."""
    pairs = synth_dataset.pairs("test")
    row = _rows(pairs.ids)
    task = get_task(task_id)
    requests = task.build_requests(synth_dataset, limit=16)
    truth = task.reference_predictions(synth_dataset, "ceiling", limit=16) if task_id == "poseedit" else None
    for request in requests:
        a, b = pairs.poses_a[row[request.id]], pairs.poses_b[row[request.id]]
        assert not np.array_equal(a, b)
        assert np.array_equal(request.inputs["pose_a"], a) and not np.array_equal(request.inputs["pose_a"], b)
        if truth is not None:
            assert np.array_equal(truth[request.id], b)
        else:
            assert np.array_equal(request.inputs["pose_b"], b)


def test_rpe_target_is_the_person_meant(synth_dataset: Any) -> None:
    """An rpe sample's ground truth is the articulation of ``pose_ids[target]`` (its body rows equal
    that test pose's, in the camera frame only the root differs), and no other person's."""
    poses = synth_dataset.poses("test")
    row = _rows(poses.ids)
    truth = get_task("rpe").reference_predictions(synth_dataset, "ceiling")
    items = {item.id: item for item in synth_dataset.rpe("test")}
    assert list(truth) == list(items)
    for sample_id, target in truth.items():
        item = items[sample_id]
        meant = item.pose_ids[item.target]
        assert np.array_equal(target[1:], poses.poses[row[meant]][1:]), sample_id
        others = [p for j, p in enumerate(item.pose_ids) if j != item.target and p in row]
        assert all(not np.allclose(target[1:], poses.poses[row[p]][1:], atol=1e-4) for p in others), sample_id


def test_image2pose_target_is_the_rendered_pose(synth_dataset: Any) -> None:
    """A render's ground truth is the articulation of the pose it renders (camera-frame root)."""
    poses, renders = synth_dataset.poses("test"), synth_dataset.renders("test")
    row = _rows(poses.ids)
    truth = get_task("image2pose").reference_predictions(synth_dataset, "ceiling")
    for k, render_id in enumerate(renders.ids.tolist()):
        assert np.array_equal(truth[render_id][1:], poses.poses[row[str(renders.pose_ids[k])]][1:]), render_id
