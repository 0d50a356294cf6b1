"""bench.runner: caching and resume, shards and merging, failures, unsupported tasks, --limit."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.errors import ValidationError
from bench.models import ModelInfo, SampleFailure
from bench.models.chance import Chance
from bench.models.copy_source import CopySource
from bench.prediction_cache import PredictionCache
from bench.runner import (
    FALLBACK_TEXT, Shard, combine_runs, generate, merge_parts, score_and_store, write_run_bundle, write_shard_part,
)  # fmt: skip
from tasks.spec import Request

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Interrupted(RuntimeError):
    pass


class CountingCopy(CopySource):
    """copy-source that counts answered requests and can raise after ``fail_after`` calls."""

    info = ModelInfo(name="counting-copy", version="1.0", description="test double")

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.calls = 0
        self.answered: list[str] = []

    def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Any]:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise Interrupted("simulated crash")
        self.calls += 1
        self.answered += [r.id for r in requests]
        return super().predict(requests, seeds)


def test_interrupted_run_resumes_from_cache(small_dataset: Any, tmp_path: Path) -> None:
    with PredictionCache(tmp_path) as cache:
        flaky = CountingCopy(fail_after=3)
        with pytest.raises(Interrupted):
            generate(flaky, "counting-copy", small_dataset, ["poseedit"], cache, limit=40, batch_size=8)
        assert len(flaky.answered) == 24
        resumed = CountingCopy()
        run = generate(resumed, "counting-copy", small_dataset, ["poseedit"], cache, limit=40, batch_size=8)
    assert run.tasks["poseedit"].computed == 16
    assert set(resumed.answered).isdisjoint(flaky.answered)
    with PredictionCache(tmp_path / "fresh") as fresh:
        reference = generate(CountingCopy(), "counting-copy", small_dataset, ["poseedit"], fresh, limit=40, batch_size=5)
    got, want = run.tasks["poseedit"].predictions, reference.tasks["poseedit"].predictions
    assert list(got) == list(want) == sorted(want)
    for sample_id in want:
        np.testing.assert_array_equal(got[sample_id], want[sample_id])


def test_cache_is_keyed_by_model_version(small_dataset: Any, tmp_path: Path) -> None:
    class Bumped(CountingCopy):
        info = ModelInfo(name="counting-copy", version="2.0", description="test double")

    with PredictionCache(tmp_path) as cache:
        generate(CountingCopy(), "counting-copy", small_dataset, ["poseedit"], cache, limit=10)
        again = generate(CountingCopy(), "counting-copy", small_dataset, ["poseedit"], cache, limit=10)
        bumped = generate(Bumped(), "counting-copy", small_dataset, ["poseedit"], cache, limit=10)
        other_seed = generate(CountingCopy(), "counting-copy", small_dataset, ["poseedit"], cache, limit=10, seed=7)
    assert again.tasks["poseedit"].computed == 0
    assert bumped.tasks["poseedit"].computed == 10
    assert other_seed.tasks["poseedit"].computed == 10


def test_cache_is_keyed_by_checkpoint_hashes(small_dataset: Any, tmp_path: Path) -> None:
    class Weighted(CountingCopy):
        def __init__(self, sha: str) -> None:
            super().__init__()
            self.sha = sha

        def weights_sha256(self) -> tuple[str, ...]:
            return (self.sha,)

    with PredictionCache(tmp_path) as cache:
        first = generate(Weighted("a" * 64), "counting-copy", small_dataset, ["poseedit"], cache, limit=10)
        same = generate(Weighted("a" * 64), "counting-copy", small_dataset, ["poseedit"], cache, limit=10)
        retrained = generate(Weighted("b" * 64), "counting-copy", small_dataset, ["poseedit"], cache, limit=10)
    assert (first.tasks["poseedit"].computed, same.tasks["poseedit"].computed, retrained.tasks["poseedit"].computed) == (10, 0, 10)


def test_unsupported_tasks_are_recorded_not_run(small_dataset: Any, tmp_path: Path) -> None:
    with PredictionCache(tmp_path) as cache:
        run = generate(CountingCopy(), "counting-copy", small_dataset, ["pose2text", "poseedit", "image2pose"], cache, limit=4)
    assert run.not_supported == ["pose2text", "image2pose"]
    assert list(run.tasks) == ["poseedit"]
    assert run.summary()["not_supported"] == ["pose2text", "image2pose"]


def test_sample_failures_get_fallbacks_and_are_recorded(small_dataset: Any, tmp_path: Path) -> None:
    class HalfBroken(Chance):
        def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Any]:
            answers = super().predict(requests, seeds)
            return [SampleFailure("boom") if i % 2 else a for i, a in enumerate(answers)]

    with PredictionCache(tmp_path) as cache:
        run = generate(HalfBroken(_ctx(small_dataset)), "half-broken", small_dataset, ["pose2text", "text2pose"], cache, limit=6)
    for task_id in ("pose2text", "text2pose"):
        assert len(run.tasks[task_id].failures) == 3
        assert set(run.tasks[task_id].failures.values()) == {"boom"}
    failed = next(iter(run.tasks["pose2text"].failures))
    assert run.tasks["pose2text"].predictions[failed] == FALLBACK_TEXT
    failed = next(iter(run.tasks["text2pose"].failures))
    np.testing.assert_array_equal(run.tasks["text2pose"].predictions[failed], np.zeros((22, 3), np.float32))


def _ctx(dataset: Any) -> Any:
    from bench.config import load_config
    from bench.models import ModelContext

    return ModelContext(load_config(env={"BENCH_HOME": "/nonexistent"}), dataset)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_merged_shards_are_byte_identical_to_unsharded(small_dataset: Any, tmp_path: Path) -> None:
    chance = Chance(_ctx(small_dataset))
    tasks = ["pose2text", "text2pose", "image2pose"]
    with PredictionCache(tmp_path / "cache_a") as cache:
        whole = generate(chance, "chance", small_dataset, tasks, cache, limit=21, batch_size=3)
    unsharded = write_run_bundle(whole, chance, small_dataset, tmp_path / "whole")
    parts = []
    with PredictionCache(tmp_path / "cache_b") as cache:
        for index in (1, 0, 2):
            shard = Shard(index, 3)
            run = generate(chance, "chance", small_dataset, tasks, cache, limit=21, batch_size=3, shard=shard)
            assert all(len(r.predictions) == (9 if index == 0 else 6) for r in run.tasks.values())  # 7 chunks of 3
            parts.append(write_shard_part(run, chance, small_dataset, tmp_path / f"part{index}", shard, 21, 3))
    merged, limit, data = merge_parts(parts, tmp_path / "merged")
    assert (limit, data) == (21, "synth-small")
    assert _files(merged) == _files(unsharded)
    with pytest.raises(ValidationError, match="need 0..2"):
        merge_parts(parts[:2], tmp_path / "incomplete")
    with pytest.raises(ValidationError, match="two parts"):
        merge_parts([parts[0], parts[0], parts[1]], tmp_path / "twice")


class CompanionSensitive(CopySource):
    """copy-source whose answers depend on the chunk it is asked in, as batched LLM generation's
    padding and kernels make them: each pose is shifted by a hash of its companions' ids."""

    info = ModelInfo(name="companion-sensitive", version="1.0", description="test double")

    def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Any]:
        shift = sum(map(ord, "".join(r.id for r in requests))) % 97 * 1e-3
        return [pose + np.float32(shift) for pose in super().predict(requests, seeds)]


def test_every_layout_hands_the_adapter_the_same_chunks(small_dataset: Any, tmp_path: Path) -> None:
    """Shards, processes and interruptions change nothing a batch-sensitive model answers."""
    model = CompanionSensitive()
    with PredictionCache(tmp_path / "whole") as cache:
        whole = generate(model, "companion-sensitive", small_dataset, ["poseedit"], cache, limit=30, batch_size=4)
    with PredictionCache(tmp_path / "parts") as cache:
        parts = [generate(model, "companion-sensitive", small_dataset, ["poseedit"], cache, limit=30, batch_size=4,
                          shard=Shard(i, 3)) for i in range(3)]  # fmt: skip
    with PredictionCache(tmp_path / "resumed") as cache:
        with pytest.raises(Interrupted):
            generate(_Flaky(2), "companion-sensitive", small_dataset, ["poseedit"], cache, limit=30, batch_size=4)
        resumed = generate(model, "companion-sensitive", small_dataset, ["poseedit"], cache, limit=30, batch_size=4)
    assert resumed.tasks["poseedit"].computed == 22
    for other in (combine_runs(parts), resumed):
        got, want = other.tasks["poseedit"].predictions, whole.tasks["poseedit"].predictions
        assert list(got) == list(want)
        for sample_id in want:
            np.testing.assert_array_equal(got[sample_id], want[sample_id])


class _Flaky(CompanionSensitive):
    def __init__(self, fail_after: int) -> None:
        self.left = fail_after

    def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Any]:
        if self.left == 0:
            raise Interrupted("simulated crash")
        self.left -= 1
        return super().predict(requests, seeds)


def test_shard_parse_and_partition() -> None:
    chunks = [[f"s{i:02d}"] for i in range(10)]
    parts = [Shard.parse(f"{i}/3").keep(chunks) for i in range(3)]
    assert sorted(sum(parts, [])) == chunks
    assert parts[0] == [["s00"], ["s03"], ["s06"], ["s09"]]
    for bad in ("3/3", "a/2", "1", "-1/2"):
        with pytest.raises(Exception, match="i/N"):
            Shard.parse(bad)


def test_limit_runs_are_ineligible_and_scored_like_bench_score(small_dataset: Any, tmp_path: Path, bench_config: Any,
                                                               evaluator_overrides: dict) -> None:  # fmt: skip
    copy = CopySource()
    with PredictionCache(tmp_path) as cache:
        run = generate(copy, "copy-source", small_dataset, ["poseedit"], cache, limit=32)
    bundle = write_run_bundle(run, copy, small_dataset, tmp_path / "bundle")
    result, run_id = score_and_store(bundle, bench_config, small_dataset.root, limit=32, summary=run.summary(),
                                     evaluators=evaluator_overrides)  # fmt: skip
    assert not result.eligible
    assert any("--limit 32" in reason for reason in result.ineligible_reasons)
    assert result.status == "reproduced" and run_id is not None
    assert result.tasks["poseedit"].n == 32
    from submissions import score_bundle

    direct = score_bundle(bundle, bench_config, str(small_dataset.root), limit=32, evaluators=evaluator_overrides)
    assert [m.value for m in direct.tasks["poseedit"].metrics] == [m.value for m in result.tasks["poseedit"].metrics]


class Sloppy(Chance):
    """chance whose answers break the bundle rules: a caption with a newline, a pose with a NaN, a
    pose of the wrong shape, and a list pose (which is fine)."""

    info = ModelInfo(name="sloppy", version="1.0", description="test double")

    def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Any]:
        answers = super().predict(requests, seeds)
        if requests[0].task == "pose2text":
            return ["The left arm\nis raised.", *answers[1:]]
        nan = answers[0].copy()
        nan[3, 1] = np.nan
        return [nan, np.zeros((21, 3)), answers[2].tolist(), *answers[3:]]


def test_answers_the_validator_refuses_are_failures_never_cached(small_dataset: Any, tmp_path: Path,
                                                                 bench_config: Any, evaluator_overrides: dict) -> None:  # fmt: skip
    model = Sloppy(_ctx(small_dataset))
    with PredictionCache(tmp_path / "cache") as cache:
        run = generate(model, "sloppy", small_dataset, ["pose2text", "text2pose"], cache, limit=6, batch_size=6)
        assert run.tasks["pose2text"].failures == {
            "test_00000_0": "invalid answer: newline inside the text (a prediction is one line of text)"}
        assert run.tasks["text2pose"].failures == {
            "test_00000_0": "invalid answer: row 3: non-finite value (NaN, inf, or beyond float32 range)",
            "test_00000_1": "invalid answer: expected a (22, 3) array of numbers, got float64 with shape (21, 3)"}
        again = generate(model, "sloppy", small_dataset, ["pose2text", "text2pose"], cache, limit=6, batch_size=6)
    assert again.tasks["pose2text"].computed == 6 and again.tasks["text2pose"].computed == 6  # chunks not complete
    bundle = write_run_bundle(run, model, small_dataset, tmp_path / "bundle")
    result, _ = score_and_store(bundle, bench_config, small_dataset.root, limit=6, evaluators=evaluator_overrides,
                                store=False)  # fmt: skip
    assert set(result.tasks) == {"pose2text", "text2pose"}  # the bundle passes the validator
