"""The examples in the metric docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import bench.metrics

MODULES = sorted(m.name for m in pkgutil.iter_modules(bench.metrics.__path__) if not m.name.startswith("_"))
"""Every public module of ``bench.metrics``: a new metric module is checked without being listed."""
WITHOUT_EXAMPLES = {"text_scores", "meteor_process", "measure"}
"""Modules whose docstrings show no example (text scores and the METEOR process need the JVM; the
measure registry is exercised by tests/metrics/test_measures.py); every other module's examples must
run, so a test that silently finds none (examples deleted, or turned into prose) fails."""


def test_the_module_list_is_discovered() -> None:
    assert {"diversity", "mpjpe", "near_duplicates", "r_precision"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"bench.metrics.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    if name not in WITHOUT_EXAMPLES:
        assert result.attempted > 0, f"bench.metrics.{name} has no docstring examples left to run"
