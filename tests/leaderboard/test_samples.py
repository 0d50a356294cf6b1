"""The sample browser: predictions next to inputs and ground truth from the local dataset, drawn poses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from bench.body import axis_angle_to_matrix, load_body_model
from leaderboard.build import build_table
from leaderboard.samples import body_frame, render
from tests.leaderboard.conftest import open_app, show
from tests.leaderboard.entries import Entry, fill_store
from tasks import get_task

TASKS = ("pose2text", "text2pose", "image2pose")


@pytest.fixture
def sample_app(bench_home: Path, synth_small: Path, synth_dataset: Any) -> tuple[AppTest, dict[str, Any]]:
    """A store whose runs use the first four real sample ids of three tasks; the dataset is local."""
    (bench_home / "data").mkdir()
    (bench_home / "data" / "synth-small").symlink_to(synth_small)
    items = {t: get_task(t).items(synth_dataset) for t in TASKS}
    ids = {t: list(items[t].ids[:4]) for t in TASKS}
    store = bench_home / "results.sqlite"
    fill_store(store, (Entry("captioner", 0.5, tasks=TASKS),), sample_ids=ids,
               data_hash=synth_dataset.split_hash("test"))  # fmt: skip
    build_table(store, bench_home / "leaderboard" / "table.parquet")
    return show(open_app(), "Samples"), items


def pick(at: AppTest, task: str, sample_id: str) -> AppTest:
    at.selectbox(key="sample_task").set_value(task).run()
    at.selectbox(key="sample_id").set_value(sample_id).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_captions_next_to_references(sample_app: tuple[AppTest, dict[str, Any]]) -> None:
    at, items = sample_app
    sample_id = items["pose2text"].ids[2]
    pick(at, "pose2text", sample_id)
    overview = at.dataframe[0].value
    assert list(overview["sample_id"]) == list(items["pose2text"].ids[:4]) and "meteor" in overview
    texts = [t.value for t in at.text]
    assert "captioner says: the person raises the left arm (2)" in texts
    references = items["pose2text"].references[2]
    assert [f"{i}. {r}" for i, r in enumerate(references, 1)] == [t for t in texts if t[:1].isdigit()]
    assert len(at.get("image")) == 1  # the input pose, drawn
    assert not at.warning


def test_poses_drawn_for_prediction_and_ground_truth(sample_app: tuple[AppTest, dict[str, Any]]) -> None:
    at, items = sample_app
    pick(at, "text2pose", items["text2pose"].ids[0])
    assert len(at.get("image")) == 2  # prediction and ground truth
    assert at.text and all(isinstance(t.value, str) for t in at.text)  # the input description
    pick(at, "image2pose", items["image2pose"].ids[1])
    assert len(at.get("image")) == 3  # input image, prediction, ground truth


def test_missing_dataset_is_said_clearly(app: AppTest) -> None:
    show(app, "Samples")
    app.selectbox(key="sample_task").set_value("pose2text").run()
    warning = " ".join(w.value for w in app.warning).replace("\\", "")
    assert "not available here" in warning and "no dataset 'synth-small'" in warning
    assert "Only the prediction is shown" in warning
    assert any("raises the left arm" in t.value for t in app.text)


def test_body_frame_shows_camera_frame_poses_upright() -> None:
    rng = np.random.default_rng(0)
    pose = rng.normal(0.0, 0.4, (22, 3)).astype(np.float32)
    body = load_body_model("skeleton")
    joints_cam = body.joints(pose[None])[0]
    joints_body = body.joints(body_frame(pose)[None])[0]
    np.testing.assert_allclose(joints_body, joints_cam * np.array([1.0, -1.0, -1.0]), atol=1e-5)
    twice = axis_angle_to_matrix(torch.from_numpy(body_frame(body_frame(pose))[0]).double())
    np.testing.assert_allclose(twice.numpy(), axis_angle_to_matrix(torch.from_numpy(pose[0]).double()).numpy(), atol=1e-6)
    image = render(pose, "truth", camera_frame=True)
    assert image.shape == (224, 224, 3) and image.dtype == np.uint8 and image.std() > 5
