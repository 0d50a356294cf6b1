"""``torchrun -m bench run``: two gloo processes on CPU make one run, byte-identical to one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.distributed import World, world_from_env
from bench.errors import ConfigError
from bench.store import ResultsStore
from tests.cli_helpers import run_bench

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]

FLAKY_ADAPTER = '''
import os
from bench.models import ModelInfo, register_model
from bench.models.mean_pose import MeanPose


@register_model("flaky-mean")
class FlakyMean(MeanPose):
    info = ModelInfo(name="flaky-mean", version="1.0", description="mean-pose that fails on rank 1 when FLAKY=1")

    def predict(self, requests, seeds):
        if os.environ.get("RANK") == "1" and os.environ.get("FLAKY") == "1":
            raise RuntimeError("simulated failure on rank 1")
        return super().predict(requests, seeds)
'''


def _torchrun(home: Path, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BENCH_HOME": str(home), "OMP_NUM_THREADS": "1", **(extra_env or {})}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "bench", "-q", "run", *args]  # fmt: skip
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_two_processes_write_the_single_process_bundle_and_store_one_run(synth_small: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    common = ("--model", "mean-pose,chance", "--tasks", "text2pose,rpe,pose2text", "--data", str(synth_small),
              "--limit", "40", "--batch-size", "4")  # fmt: skip
    monkeypatch.setenv("BENCH_HOME", str(tmp_path / "single_home"))
    single = run_bench("-q", "run", *common, "--out", str(tmp_path / "single"), "--no-store")
    assert single.exit_code == 0, single.stderr

    home = tmp_path / "dist_home"
    done = _torchrun(home, *common, "--out", str(tmp_path / "dist"))
    assert done.returncode == 0, done.stderr[-3000:]
    for model in ("mean-pose", "chance"):
        assert _files(tmp_path / "dist" / model) == _files(tmp_path / "single" / model), model
    assert done.stdout.count("stored as run") == 2 and done.stdout.count("main metric") == 1, done.stdout  # rank 0 only
    with ResultsStore(home / "results.sqlite") as store:
        runs = store.runs()
    assert sorted(r["model_name"] for r in runs) == ["chance", "mean-pose"]


def test_a_failing_rank_fails_the_run_and_a_rerun_resumes_from_the_cache(synth_small: Path, tmp_path: Path) -> None:
    adapter = tmp_path / "flaky.py"
    adapter.write_text(FLAKY_ADAPTER, encoding="utf-8")
    home = tmp_path / "home"
    args = ("--include", str(adapter), "--model", "flaky-mean", "--tasks", "text2pose", "--data", str(synth_small),
            "--limit", "40", "--batch-size", "4", "--json")  # fmt: skip

    failed = _torchrun(home, *args, extra_env={"FLAKY": "1"})
    assert failed.returncode != 0
    assert "error: rank 1 failed: RuntimeError: simulated failure on rank 1" in failed.stderr, failed.stderr[-3000:]
    assert not (home / "results.sqlite").exists() or not ResultsStore(home / "results.sqlite").runs()

    resumed = _torchrun(home, *args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    [outcome] = json.loads(resumed.stdout)
    assert outcome["run"]["computed"] == {"text2pose": 20}  # rank 0's 20 answers came from the cache
    assert outcome["run"]["processes"] == 2


def test_world_from_env() -> None:
    assert world_from_env({}) is None
    assert world_from_env({"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0"}) is None
    assert world_from_env({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}) == World(3, 4, 1)
    with pytest.raises(ConfigError, match="RANK=4 does not fit WORLD_SIZE=4"):
        world_from_env({"WORLD_SIZE": "4", "RANK": "4", "LOCAL_RANK": "0"})
    with pytest.raises(ConfigError, match="non-integer"):
        world_from_env({"WORLD_SIZE": "two"})
