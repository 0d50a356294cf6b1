"""``--device``, ``--dtype`` and ``--model-args``: parsed at the CLI edge, passed to the model, and
part of the prediction cache key."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from bench.cli._common import parse_model_args
from bench.devices import device_kind, resolve_device
from bench.errors import ConfigError
from bench.models import ModelContext, ModelInfo, answer_settings
from bench.models.mean_pose import MeanPose
from bench.prediction_cache import PredictionCache
from bench.runner import generate
from tests.cli_helpers import run_bench

pytestmark = pytest.mark.usefixtures("one_torch_thread")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


class CountingTensorModel(MeanPose):
    """mean-pose declaring tensor precisions, counting the requests it answers."""

    info = ModelInfo(name="counting-tensor", version="1.0", description="test double")
    dtypes = ("float32", "bfloat16")

    def __init__(self, mean: Any) -> None:
        super().__init__(mean)
        self.answered = 0

    def predict(self, requests: Sequence[Any], seeds: Sequence[int]) -> list[Any]:
        self.answered += len(requests)
        return super().predict(requests, seeds)


def _context(dataset: Any, config: Any, **fields: Any) -> ModelContext:
    return ModelContext(config, dataset, **fields)


def test_every_setting_that_can_change_answers_keys_the_cache(small_dataset: Any, bench_config: Any,
                                                              tmp_path: Path) -> None:  # fmt: skip
    model = CountingTensorModel(MeanPose.load(_context(small_dataset, bench_config)).mean)
    contexts = [
        _context(small_dataset, bench_config),
        _context(small_dataset, bench_config, dtype="bfloat16"),
        _context(small_dataset, bench_config, device="cuda:0"),
        _context(small_dataset, bench_config, options={"temperature": 0.7}),
        _context(small_dataset, bench_config, options={"temperature": 0.9}),
    ]
    with PredictionCache(tmp_path) as cache:
        for rerun in (False, True):  # each setting computed once, then served from the cache
            for ctx in contexts:
                settings = answer_settings(CountingTensorModel, ctx)
                run = generate(model, "counting-tensor", small_dataset, ["text2pose"], cache, limit=6, options=settings)
                assert run.tasks["text2pose"].computed == (0 if rerun else 6), settings
    assert model.answered == 6 * len(contexts)


def test_settings_of_models_without_tensors_and_gpus_of_one_kind(small_dataset: Any, bench_config: Any) -> None:
    plain = answer_settings(MeanPose, _context(small_dataset, bench_config, device="cuda:1", dtype="bfloat16"))
    assert plain == {}  # mean-pose has no tensors: device and dtype cannot change its answers
    one = answer_settings(CountingTensorModel, _context(small_dataset, bench_config, device="cuda:0"))
    two = answer_settings(CountingTensorModel, _context(small_dataset, bench_config, device="cuda:3"))
    assert one == two == {"device": "cuda", "dtype": "float32"} and device_kind("cuda:3") == "cuda"
    with pytest.raises(ConfigError, match="runs in float32, bfloat16 only, not float16"):
        answer_settings(CountingTensorModel, _context(small_dataset, bench_config, dtype="float16"))


def test_model_args_parse_as_json_where_they_can() -> None:
    assert parse_model_args(None) == {}
    parsed = parse_model_args('max_tokens=64,temperature=0.7,sample=true,stop=[".", "!"],prompt="a, b",ckpt=my.safetensors')
    assert parsed == {"max_tokens": 64, "temperature": 0.7, "sample": True, "stop": [".", "!"], "prompt": "a, b",
                      "ckpt": "my.safetensors"}  # fmt: skip
    assert parse_model_args("x=3d, y=-1") == {"x": "3d", "y": -1}
    for bad, message in (("novalue", "expected key=value"), ("a=1,a=2", "given twice"), ("=1", "expected key=value"),
                         ('a=[1,', "not valid JSON")):  # fmt: skip
        with pytest.raises(ConfigError, match=message):
            parse_model_args(bad)


@no_cuda
def test_devices_this_machine_lacks_are_one_line_errors(synth_small: Path, bench_home: Path) -> None:
    assert resolve_device("cpu") == "cpu" and resolve_device("auto") == "cpu"
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    ran = run_bench("run", "--model", "mean-pose", "--tasks", "rpe", "--data", str(synth_small), "--device", "cuda:1")
    assert ran.exit_code == 2 and "field '--device': 'cuda:1' asked for, but CUDA is not available" in ran.stderr
    scored = run_bench("score", str(bench_home / "nothing"), "--device", "cuda")
    assert scored.exit_code == 2 and "CUDA is not available" in scored.stderr


def test_model_args_and_dtype_reach_the_model_or_fail_clearly(synth_small: Path, bench_home: Path) -> None:
    common = ("--tasks", "rpe", "--data", str(synth_small), "--limit", "4", "--no-store")
    wrong_dtype = run_bench("run", "--model", "regressor", "--dtype", "bfloat16", *common)
    assert wrong_dtype.exit_code == 2
    assert "field '--dtype': model 'regressor' runs in float32 only, not bfloat16" in wrong_dtype.stderr
    plain = run_bench("run", "--model", "mean-pose", "--dtype", "bfloat16", *common)  # no tensors: runs as always
    assert plain.exit_code == 0, plain.stderr
    unknown = run_bench("run", "--model", "unipose", "--model-args", "beam=4", *common)
    assert unknown.exit_code == 2 and "unknown unipose argument(s) ['beam']" in unknown.stderr
