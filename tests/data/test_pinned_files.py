"""The published test splits' file lists, and ``bench data verify`` / ``bench info`` naming what of a
build differs from the published one. Differences are made by editing a copy of the small build, and
the "published" list is the fixture's own (monkeypatched), so the checks hold on any CPU."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import bench.data.synth.pinned as pinned_module
from bench.data.manifest import file_split, read_manifest, split_hash
from bench.data.synth.pinned import PINNED_TEST_HASHES, compare_with_pinned, pinned_test_files
from bench.errors import InternalError
from bench.hashing import sha256_file
from tests.cli_helpers import run_bench


@pytest.mark.parametrize(("size", "seed"), sorted(PINNED_TEST_HASHES))
def test_every_pin_ships_its_file_list(size: str, seed: int) -> None:
    files = pinned_test_files(size, seed)  # raises when the list does not hash to the pin
    assert files and all(file_split(rel) == "test" for rel in files)
    assert split_hash(files, "test") == PINNED_TEST_HASHES[(size, seed)]


def test_a_list_that_misses_its_pin_is_an_internal_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(pinned_module.PINNED_FILES_DIR / "small-seed0-test.json", tmp_path / "small-seed0-test.json")
    body = json.loads((tmp_path / "small-seed0-test.json").read_text())
    body["files"]["poses/test.npz"] = "0" * 64
    (tmp_path / "small-seed0-test.json").write_text(json.dumps(body))
    monkeypatch.setattr(pinned_module, "PINNED_FILES_DIR", tmp_path)
    with pytest.raises(InternalError, match="does not hash to the pinned test split 0f3c500519f0"):
        pinned_test_files("small")


def _publish_fixture(synth_small: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Make the fixture's own test files the published list (whatever this CPU's kernels built)."""
    files = {r: s for r, s in read_manifest(synth_small)["files"].items() if file_split(r) == "test"}
    monkeypatch.setattr(pinned_module, "pinned_test_files", lambda size, seed=0: dict(files))
    return files


def test_compare_names_changed_missing_and_extra_files(synth_small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _publish_fixture(synth_small, monkeypatch)
    manifest = read_manifest(synth_small)
    assert compare_with_pinned(manifest).matches
    assert compare_with_pinned(manifest).summary() == "test split identical to the pinned synth-small 1.1 build"
    renders = sorted(r for r in files if r.startswith("renders/test/"))
    rpe = sorted(r for r in files if r.startswith("rpe/test/"))
    edited = dict(manifest["files"])
    edited[renders[3]] = "f" * 64
    edited[renders[1]] = "e" * 64
    del edited[rpe[0]]
    edited["spg/test/extra.json"] = "d" * 64
    edited["renders/train/000000.npz"] = "c" * 64  # other splits never count
    comparison = compare_with_pinned({**manifest, "files": edited})
    assert comparison.changed == (renders[1], renders[3]) and comparison.missing == (rpe[0],)
    assert comparison.extra == ("spg/test/extra.json",) and not comparison.matches
    assert comparison.by_component() == {"renders": 2, "rpe": 1, "spg": 1}
    first = min(renders[1], rpe[0], "spg/test/extra.json")
    assert comparison.summary() == (f"4 of {len(files)} test files differ from the pinned synth-small 1.1 build: "
                                    f"renders 2, rpe 1, spg 1 (first: {first})")  # fmt: skip


def test_only_published_synth_builds_are_compared(synth_small: Path) -> None:
    manifest = read_manifest(synth_small)
    assert compare_with_pinned({**manifest, "name": "posescript"}) is None
    assert compare_with_pinned({**manifest, "config": {**manifest["config"], "size": "custom"}}) is None
    assert compare_with_pinned({**manifest, "config": {**manifest["config"], "seed": 7}}) is None
    assert compare_with_pinned({**manifest, "version": "0.9"}) is None


def _rebuild_manifest(root: Path) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["files"] = {rel: sha256_file(root / rel) for rel in manifest["files"]}
    for split in manifest["splits"]:
        manifest["splits"][split]["hash"] = split_hash(manifest["files"], split)
    (root / "manifest.json").write_text(json.dumps(manifest))


def test_verify_and_info_name_what_differs(synth_small: Path, bench_home: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    files = _publish_fixture(synth_small, monkeypatch)
    root = bench_home / "data" / "synth-small"
    shutil.copytree(synth_small, root)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    ok = run_bench("data", "verify", "synth-small")
    assert ok.exit_code == 0 and "test split identical to the pinned synth-small 1.1 build" in ok.stdout

    render = sorted(r for r in files if r.startswith("renders/test/"))[0]
    data = bytearray((root / render).read_bytes())  # other bytes, as another BLAS kernel's pixels give
    data[len(data) // 2] ^= 1
    (root / render).write_bytes(bytes(data))
    _rebuild_manifest(root)  # intact as a dataset: only its bytes differ from the published ones

    bad = run_bench("data", "verify", "synth-small")
    assert bad.exit_code == 2
    assert (f"intact, but 1 of {len(files)} test files differ from the pinned synth-small 1.1 build: renders 1 "
            f"(first: {render}); runs on it are not leaderboard-eligible") in bad.stderr  # fmt: skip
    info = run_bench("info")
    assert info.exit_code == 0 and f"synth-small: 1 of {len(files)} test files differ" in info.stdout
    data = json.loads(run_bench("info", "--json").stdout)["data"]["pinned"]
    assert data == {"synth-small": {"matches": False, "differing_files": {"renders": 1},
                                    "summary": data["synth-small"]["summary"]}}  # fmt: skip
