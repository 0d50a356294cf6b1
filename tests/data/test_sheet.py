"""Contact sheets: tiles from a (tiny) dataset, text wrapping, and the ``sheet`` command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageFont

from bench.body import JOINT_NAMES
from bench.cli import CliState
from bench.cli.data_sheet import sheet
from bench.config import BenchConfig
from bench.data.dataset import load_dataset
from bench.data.manifest import write_manifest
from bench.data.synth.contact_sheet import Tile, compose_sheet, dataset_sheet, wrap_text
from bench.data.synth.images.render import (
    camera_frame_pose,
    frame_camera,
    render_pair,
    render_pose,
    sample_camera,
    sample_style,
)
from bench.data.synth.images.scenes import make_rpe_scene
from bench.errors import DataError, NotFoundError

J = {name: i for i, name in enumerate(JOINT_NAMES)}


def _poses(rng: np.random.Generator, count: int) -> np.ndarray:
    poses = rng.normal(0.0, 0.15, (count, 22, 3)).astype(np.float32)
    poses[:, 0] = 0.0
    poses[:, J["left_shoulder"], 2] -= 1.1
    poses[:, J["right_shoulder"], 2] += 1.1
    return poses


@pytest.fixture(scope="module")
def mini_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<data_dir>/mini``: 4 renders with captions, 2 render pairs with instructions, 2 rpe scenes."""
    data_dir = tmp_path_factory.mktemp("data")
    root = data_dir / "mini"
    rng = np.random.default_rng(0)
    poses = _poses(rng, 4)
    pose_ids = [f"p{i}" for i in range(4)]
    (root / "renders" / "test").mkdir(parents=True)
    cameras, poses_camera = [], []
    for i, pose in enumerate(poses):
        camera, style = frame_camera(pose, sample_camera(rng)), sample_style(rng)
        Image.fromarray(render_pose(pose, camera, style)).save(root / "renders" / "test" / f"r{i}.png")
        cameras.append(camera.to_vector())
        poses_camera.append(camera_frame_pose(pose, camera))
    np.savez(root / "renders" / "test.npz", ids=np.array([f"r{i}" for i in range(4)]), pose_ids=np.array(pose_ids),
             poses_camera=np.stack(poses_camera), camera=np.stack(cameras))
    (root / "captions").mkdir()
    (root / "captions" / "test.jsonl").write_text("".join(
        json.dumps({"id": pid, "auto": [f"Caption of pose {pid}: the person stands with the arms lowered and the "
                                         "weight spread evenly over both feet, looking ahead."], "human": []}) + "\n"
        for pid in pose_ids))
    (root / "render_pairs" / "test").mkdir(parents=True)
    rows = []
    for k in range(2):
        a, b = render_pair(poses[k], poses[k + 2], sample_camera(rng), sample_style(rng))
        for tag, img in (("a", a), ("b", b)):
            Image.fromarray(img).save(root / "render_pairs" / "test" / f"q{k}_{tag}.png")
        rows.append({"id": f"q{k}", "pair_id": f"pair{k}", "image_a": f"render_pairs/test/q{k}_a.png",
                     "image_b": f"render_pairs/test/q{k}_b.png"})
    (root / "render_pairs" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "instructions").mkdir()
    (root / "instructions" / "test.jsonl").write_text("".join(
        json.dumps({"id": f"pair{k}", "auto": [f"Move the arms for pair {k}."], "human": []}) + "\n" for k in range(2)))
    (root / "rpe" / "test").mkdir(parents=True)
    rows, targets = [], []
    for k in range(2):
        scene = make_rpe_scene(poses[:3], ["stand_relaxed", "stand_relaxed", "stand_relaxed"], rng)
        Image.fromarray(scene.image).save(root / "rpe" / "test" / f"s{k}.png")
        rows.append({"id": f"s{k}", "image": f"rpe/test/s{k}.png", "question": scene.question, "target": scene.target,
                     "boxes": scene.boxes.tolist(), "pose_ids": pose_ids[:3]})
        targets.append(scene.poses_camera[scene.target])
    (root / "rpe" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    np.savez(root / "rpe" / "test.npz", ids=np.array(["s0", "s1"]), poses_camera=np.stack(targets))
    write_manifest(root, name="mini", version="0.1", variant="test", description="contact sheet test data",
                   config={}, counts={"test": {"renders": 4, "render_pairs": 2, "rpe": 2}})
    return data_dir


@pytest.mark.parametrize("kind,count,tile_w", [("renders", 4, 224), ("pairs", 2, 450), ("rpe", 2, 224)])
def test_dataset_sheet_lays_out_every_item(mini_data_dir: Path, kind: str, count: int, tile_w: int) -> None:
    dataset = load_dataset("mini", mini_data_dir)
    image = dataset_sheet(dataset, kind, split="test", n=10, columns=2)
    rows = -(-count // 2)
    assert image.width == 2 * (tile_w + 6) + 6
    assert image.height > rows * 224
    pixels = np.asarray(image)
    assert (pixels < 250).any(axis=-1).mean() > 0.3  # mostly pictures, not blank paper


@pytest.mark.parametrize("kind,image", [("pairs", "render_pairs/test/q1_b.png"), ("rpe", "rpe/test/s0.png")])
def test_dataset_sheet_rejects_a_modified_image(mini_data_dir: Path, tmp_path: Path, kind: str, image: str) -> None:
    shutil.copytree(mini_data_dir / "mini", tmp_path / "mini")
    Image.fromarray(np.zeros((224, 224, 3), np.uint8)).save(tmp_path / "mini" / image)
    with pytest.raises(DataError, match="SHA-256"):
        dataset_sheet(load_dataset("mini", tmp_path), kind, split="test", n=10)


def test_rpe_sheet_draws_the_target_box_in_red(mini_data_dir: Path) -> None:
    dataset = load_dataset("mini", mini_data_dir)
    items = dataset.rpe("test")
    sheet_image = np.asarray(dataset_sheet(dataset, "rpe", split="test", n=len(items), columns=1)).astype(int)
    red = (sheet_image[..., 0] > 200) & (sheet_image[..., 1] < 60) & (sheet_image[..., 2] < 60)

    def outline_share(box: list[float], top: int) -> float:
        """Share of red pixels on the 1-px outline of ``box`` drawn with the tile at (6, top)."""
        x0, y0, x1, y1 = (int(v) for v in box)
        xs, ys = np.arange(x0, x1) + 6, np.arange(y0, y1) + top
        ring = np.concatenate([red[ys[0], xs], red[ys[-1], xs], red[ys, xs[0]], red[ys, xs[-1]]])
        return float(ring.mean())

    item = items[0]
    # The first tile sits below the title line; find its top by the best-matching offset.
    shares = [outline_share(item.boxes[item.target], top) for top in range(6, 60)]
    best = int(np.argmax(shares)) + 6
    assert shares[best - 6] > 0.95
    others = [outline_share(box, best) for i, box in enumerate(item.boxes) if i != item.target]
    assert max(others) < 0.2  # the other people's boxes are grey


def test_wrap_text_respects_width_and_line_limit() -> None:
    font = ImageFont.load_default(11)
    text = "the person raises the left arm above the head while bending the right knee " * 4
    lines = wrap_text(text, 150, font, max_lines=3)
    assert len(lines) == 3 and lines[-1].endswith("…")
    assert all(font.getlength(line) <= 150 for line in lines)
    assert wrap_text("short text", 150, font, 3) == ["short text"]


def test_compose_sheet_handles_mixed_tiles() -> None:
    grey = np.full((224, 224, 3), 128, np.uint8)
    tiles = [Tile([grey], "one"), Tile([grey, grey], "two"), Tile([grey], "three", [(10, 10, 50, 90)], 0)]
    image = compose_sheet(tiles, columns=3, title="mixed")
    assert image.mode == "RGB" and image.width == 3 * (450 + 6) + 6


def _invoke(data_dir: Path, *args: str):
    config = BenchConfig(home=data_dir.parent)
    return CliRunner().invoke(sheet, list(args), obj=CliState(config=config), standalone_mode=False,
                              catch_exceptions=True)


def test_sheet_command_writes_a_png(mini_data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheets" / "renders.png"
    result = _invoke(mini_data_dir, "--kind", "renders", "--data", str(mini_data_dir / "mini"), "--n", "3",
                     "--out", str(out))
    assert result.exception is None, result.output
    assert f"wrote {out}" in result.output
    with Image.open(out) as img:
        assert img.format == "PNG" and img.width > 224 and img.height > 224


def test_sheet_command_reports_missing_data(mini_data_dir: Path, tmp_path: Path) -> None:
    result = _invoke(mini_data_dir, "--kind", "rpe", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "x.png"))
    assert isinstance(result.exception, NotFoundError)
    assert not (tmp_path / "x.png").exists()


def test_bench_data_sheet_through_the_cli(mini_data_dir: Path, tmp_path: Path) -> None:
    from tests.cli_helpers import run_bench

    out = tmp_path / "pairs.png"
    ok = run_bench("--home", str(mini_data_dir.parent), "data", "sheet", "--kind", "pairs",
                   "--data", str(mini_data_dir / "mini"), "--n", "2", "--out", str(out))
    assert ok.exit_code == 0, ok.stderr
    assert out.is_file()
    missing = run_bench("--home", str(tmp_path), "data", "sheet", "--kind", "renders", "--data", "absent",
                        "--out", str(tmp_path / "none.png"))
    assert missing.exit_code == 2 and "absent" in missing.stderr
