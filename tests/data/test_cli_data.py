"""`bench data build / info / verify`, and the attached `import` and `sheet` commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.data.synth import build as build_module
from bench.data.synth.build import VERSION
from tests.cli_helpers import run_bench
from tests.data.test_build import TINY


@pytest.fixture
def data_dir(bench_home: Path, synth_small: Path) -> Path:
    """BENCH_HOME/data holding a writable copy of the small synth dataset."""
    target = bench_home / "data" / "synth-small"
    shutil.copytree(synth_small, target)
    for path in target.rglob("*"):
        if path.is_file():
            path.chmod(0o644)
    return bench_home / "data"


def test_data_group_lists_its_commands():
    result = run_bench("data", "--help")
    assert result.exit_code == 0
    for command in ("build", "info", "verify", "import", "sheet"):
        assert command in result.stdout


def test_build_writes_the_default_location_and_refuses_to_overwrite(bench_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture):
    monkeypatch.setitem(build_module.SIZES, "small", TINY)
    result = run_bench("data", "build", "synth", "--size", "small", "--seed", "0", "--workers", "1", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    root = bench_home / "data" / "synth-small"
    assert summary["root"] == str(root) and (root / "manifest.json").is_file()
    assert summary["pinned"] is False and "differs from the pinned" in caplog.text  # TINY counts: not the published data
    again = run_bench("data", "build", "synth", "--seed", "3", "--workers", "1")
    assert again.exit_code == 2
    assert again.stderr.count("\n") == 1 and "already exists; pass --force" in again.stderr
    forced = run_bench("data", "build", "synth", "--seed", "4", "--workers", "1", "--force")
    assert forced.exit_code == 0 and "built" in forced.stdout


def test_build_rejects_unknown_names_and_sizes(bench_home: Path):
    assert run_bench("data", "build", "posescript").exit_code == 2
    assert run_bench("data", "build", "synth", "--size", "huge").exit_code == 2


def test_info_lists_and_describes_datasets(data_dir: Path):
    listing = run_bench("data", "info")
    assert listing.exit_code == 0 and "synth-small" in listing.stdout
    listing_json = json.loads(run_bench("data", "info", "--json").stdout)
    assert listing_json["datasets"][0]["name"] == "synth"
    one = run_bench("data", "info", "synth-small", "--json")
    info = json.loads(one.stdout)
    assert info["version"] == VERSION and info["splits"]["test"]["counts"]["poses"] == 256
    assert len(info["splits"]["test"]["hash"]) == 64
    text = run_bench("data", "info", "synth-small")
    assert text.exit_code == 0 and "test" in text.stdout and "render_pairs" in text.stdout


def test_info_stats_prints_the_quality_report(data_dir: Path):
    result = run_bench("data", "info", "synth-small", "--stats", "--json")
    assert result.exit_code == 0, result.stderr
    stats = json.loads(result.stdout)["stats"]
    test = stats["splits"]["test"]
    assert sum(test["archetypes"].values()) == 256
    assert test["captions"]["auto"]["vocabulary"] > 50 and test["instructions"]["auto"]["words_mean"] > 5
    assert test["pairs"]["mpjpe_mm"]["mean"] > 0 and test["pairs"]["differing_posecodes"]["mean"] > 0
    assert "angle" in test["posecode_frequencies"] and test["angle_ranges_deg"]["left_knee"]["flex"][3] <= 151
    assert set(stats["rejections"]["train"]["rate"]) == {"joint_limits", "self_penetration", "ground_penetration", "floating"}
    text = run_bench("data", "info", "synth-small", "--stats")
    assert "rejections [train]" in text.stdout and "MPJPE" in text.stdout


def test_verify_passes_then_names_the_first_tampered_file(data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    # integrity only: the build stands for the published one whatever this CPU's kernels drew
    # (tests/data/test_pinned_files.py checks the comparison with the published build)
    from tests.data.test_pinned_files import _publish_fixture

    _publish_fixture(data_dir / "synth-small", monkeypatch)
    ok = run_bench("data", "verify", "synth-small")
    assert ok.exit_code == 0 and ok.stdout.startswith("ok ")
    assert run_bench("data", "verify").exit_code == 0
    with open(data_dir / "synth-small" / "captions" / "test.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"id": "extra", "auto": [], "human": []}\n')
    bad = run_bench("data", "verify", "synth-small")
    assert bad.exit_code == 2
    assert bad.stderr.count("\n") == 1 and "captions/test.jsonl" in bad.stderr and "SHA-256" in bad.stderr


def test_verify_and_info_name_missing_datasets(bench_home: Path):
    missing = run_bench("data", "verify", "synth-full")
    assert missing.exit_code == 2 and "no dataset 'synth-full'" in missing.stderr
    assert run_bench("data", "verify").exit_code == 2
    assert run_bench("data", "info", "nope").exit_code == 2
    empty = run_bench("data", "info")
    assert empty.exit_code == 0 and "no datasets" in empty.stdout


def test_incomplete_dataset_is_reported_not_crashed_on(bench_home: Path):
    (bench_home / "data" / "synth-small" / "poses").mkdir(parents=True)
    result = run_bench("data", "verify", "synth-small")
    assert result.exit_code == 2 and "no manifest.json" in result.stderr
    listing = run_bench("data", "info")
    assert listing.exit_code == 0 and "no manifest.json" in listing.stdout
