"""``bench run`` end to end on joint-only tasks (no evaluator needed): table, store, shards and merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import run_bench

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_run_scores_stores_and_merges_shards(synth_small: Path, bench_home: Path, tmp_path: Path) -> None:
    common = ("--data", str(synth_small), "--tasks", "image2pose,rpe", "--limit", "10")
    result = run_bench("run", "--model", "gt,mean-pose,copy-source", *common, "--out", str(tmp_path / "whole"))
    assert result.exit_code == 0, result.stderr
    assert "copy-source: image2pose: not supported" in result.stderr
    table = result.stdout.splitlines()
    assert any(line.startswith("image2pose") and " 0 " in f"{line} " for line in table), result.stdout
    assert "eligible: no" in result.stdout and "stored as run" in result.stdout
    assert (bench_home / "results.sqlite").is_file() and (bench_home / "cache" / "predictions.sqlite").is_file()

    for index in range(2):
        part = run_bench("run", "--model", "mean-pose", *common, "--shard", f"{index}/2", "--out", str(tmp_path / "parts"))
        assert part.exit_code == 0, part.stderr
    parts = sorted((tmp_path / "parts").iterdir())
    assert [p.name for p in parts] == ["mean-pose.shard-0-of-2", "mean-pose.shard-1-of-2"]
    merged = run_bench("run", "--merge", str(parts[0]), "--merge", str(parts[1]), "--out", str(tmp_path / "merged"),
                       "--data", str(synth_small), "--no-store")  # fmt: skip
    assert merged.exit_code == 0, merged.stderr
    assert _files(tmp_path / "merged") == _files(tmp_path / "whole" / "mean-pose")
    bad = run_bench("run", "--model", "mean-pose", *common, "--shard", "2/2")
    assert bad.exit_code == 2 and "i/N" in bad.stderr
