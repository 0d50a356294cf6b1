"""The measure registry: every task metric resolves to a measure that scores its output kind, a
measure's rules reject misfitting specs, groups are computed in one call, and a measure that neither
computes nor skips a metric is a bug."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from bench.errors import InternalError
from bench.metrics import mpjpe
from bench.metrics.measure import MEASURES, Measured, MeasureInput, Measurements, measure, register_measure
from tasks import MetricSpec, get_task, task_ids


def test_every_task_metric_has_a_measure_for_its_output_kind() -> None:
    for task_id in task_ids():
        spec = get_task(task_id).spec
        for metric in spec.metrics:
            registered = MEASURES.get(metric.measure)
            assert spec.output_kind in registered.output_kinds and registered.check(metric) is None


def test_the_registry_is_frozen_once_loaded() -> None:
    MEASURES.names()
    with pytest.raises(InternalError, match="registry is frozen"):
        register_measure("late", output_kinds=("pose",), protocols=("x",))(lambda inputs, specs: ({}, {}))


def test_a_group_is_one_call_and_silence_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def forgets_meteor(inputs: MeasureInput, specs: Sequence[MetricSpec]) -> Measurements:
        calls.append([s.name for s in specs])
        return {s.name: Measured(1.0) for s in specs if s.name != "meteor"}, {}

    for name in ("bleu4", "rouge_l", "meteor"):  # the registry is frozen: swap the entries in place
        monkeypatch.setitem(MEASURES._entries, name, replace(MEASURES.get(name), compute=forgets_meteor))
    specs = [m for m in get_task("pose2text").spec.metrics if m.protocol == "coco-caption"]
    inputs = MeasureInput(task="pose2text", evaluator_id=None, ids=("a", "b"), ctx=None, timings={})  # type: ignore[arg-type]
    with pytest.raises(InternalError, match="no value and no reason for meteor"):
        measure(specs, inputs)
    assert calls == [["bleu4", "rouge_l", "meteor"]]


def test_task_mpjpe_takes_the_pelvis_of_all_joints_before_the_subset() -> None:
    rng = np.random.default_rng(0)
    pred, gt = rng.normal(size=(3, 24, 3)), rng.normal(size=(3, 24, 3))
    subset = [8, 5, 2, 1]  # no pelvis among them
    got = mpjpe(pred, gt, align="root", root=0, joints=subset)
    centred_pred, centred_gt = pred - pred[:, :1], gt - gt[:, :1]
    expected = 1000.0 * np.linalg.norm(centred_pred[:, subset] - centred_gt[:, subset], axis=2).mean(axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    procrustes = mpjpe(pred, gt, align="procrustes", joints=subset)
    np.testing.assert_allclose(procrustes, mpjpe(pred[:, subset], gt[:, subset], align="procrustes"), rtol=1e-12)


@pytest.mark.parametrize("joints", [[], [0, 0], [24], [1.5]])
def test_bad_joint_subsets(joints: list[Any]) -> None:
    from bench.errors import ConfigError

    with pytest.raises(ConfigError, match="joints must be"):
        mpjpe(np.zeros((1, 24, 3)), np.zeros((1, 24, 3)), align="none", joints=joints)
