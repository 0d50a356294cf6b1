"""``bench evaluators list | train | eval``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.config import BenchConfig
from retrieval_models import EVALUATORS
from tests.cli_helpers import run_bench


def test_list_shows_the_shipped_pinned_evaluators(bench_home: Path) -> None:
    result = run_bench("evaluators", "list")
    assert result.exit_code == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert "posetext-synth-v1" in lines and "pairtext-synth-v1" in lines
    assert " ok " in lines["posetext-synth-v1"] and "pose-text" in lines["posetext-synth-v1"]
    rows = {r["id"]: r for r in json.loads(run_bench("evaluators", "list", "--json").stdout)}
    for evaluator_id, kind in (("posetext-synth-v1", "pose-text"), ("pairtext-synth-v1", "pair-text")):
        assert rows[evaluator_id]["kind"] == kind and rows[evaluator_id]["present"] == "ok"
        assert rows[evaluator_id]["sha256"] == EVALUATORS.get(evaluator_id).sha256


def test_a_tampered_pinned_evaluator_is_a_clear_error(bench_home: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    shipped = BenchConfig.shipped_evaluators_dir.fget(None)  # type: ignore[union-attr]
    folder = tmp_path / "shipped"
    folder.mkdir()
    for suffix in (".safetensors", ".json"):
        shutil.copy(shipped / f"posetext-synth-v1{suffix}", folder / f"posetext-synth-v1{suffix}")
    weights = folder / "posetext-synth-v1.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(BenchConfig, "shipped_evaluators_dir", property(lambda self: folder))
    result = run_bench("evaluators", "eval", "posetext-synth-v1")
    assert result.exit_code == 2
    assert "posetext-synth-v1" in result.stderr and "SHA-256" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_train_resume_list_and_eval(bench_home: Path, tiny_dataset_dir: Path) -> None:
    args = ("evaluators", "train", "pose-text", "--data", str(tiny_dataset_dir), "--epochs", "2", "--finetune-epochs",
            "0", "--batch-size", "32", "--name", "cli-pt", "--tiny")  # fmt: skip
    stopped = run_bench(*args, "--stop-after", "1")
    assert stopped.exit_code == 0, stopped.stderr
    assert "stopped after 1 epoch(s)" in stopped.stdout
    done = run_bench(*args, "--json")
    assert done.exit_code == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["completed"] and summary["epochs_run"] == 1
    assert "tiny" not in summary and json.loads(Path(summary["path"]).with_suffix(".json").read_text())[
        "architecture"]["text_hidden"] == 32
    weights = bench_home / "evaluators" / "cli-pt.safetensors"
    assert Path(summary["path"]) == weights and weights.is_file()

    rows = {r["id"]: r for r in json.loads(run_bench("evaluators", "list", "--json").stdout)}
    assert rows["cli-pt"]["pinned"] is False and rows["cli-pt"]["present"] == "ok"
    assert rows["cli-pt"]["sha256"] == summary["sha256"]

    data = ("--data", str(tiny_dataset_dir))
    evaluated = run_bench("evaluators", "eval", "cli-pt", *data, "--split", "test", "--json")
    assert evaluated.exit_code == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["sha256"] == summary["sha256"] and report["data"]["folder"] == tiny_dataset_dir.name
    assert report["metrics"] == summary["metrics"]["test"]  # same numbers as the card's
    for key in ("t2p_R@1", "t2p_R@5", "t2p_R@10", "p2t_R@1", "p2t_R@5", "p2t_R@10", "mRecall",
                "rprec_blocks32_top1", "rprec_posescript_top3"):  # fmt: skip
        assert 0.0 <= report["metrics"][key] <= 100.0
    auto = json.loads(run_bench("evaluators", "eval", "cli-pt", *data, "--captions", "auto", "--json").stdout)
    assert auto["metrics"]["source"] == "auto" and auto["metrics"]["caption_indices"] == 3
    table = run_bench("evaluators", "eval", "cli-pt", *data, "--split", "val")
    assert table.exit_code == 0 and "mRecall" in table.stdout and "rprec_blocks32_top1" in table.stdout


def test_train_rejects_bad_options(bench_home: Path, tiny_dataset_dir: Path) -> None:
    result = run_bench("evaluators", "train", "pose-text", "--data", str(tiny_dataset_dir), "--flip-prob", "2")
    assert result.exit_code == 2
    missing = run_bench("evaluators", "train", "pair-text", "--data", "no-such-dataset")
    assert missing.exit_code == 2 and "no-such-dataset" in missing.stderr
