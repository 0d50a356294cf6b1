"""The examples in the metric docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["bootstrap", "fid", "mpjpe", "r_precision", "text_scores", "topk_recall"]
WITHOUT_EXAMPLES = {"text_scores"}
"""Modules whose docstrings show no example (text scores need the METEOR JVM); every other module's
examples must run, so a test that silently finds none (examples deleted, or turned into prose) fails."""


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"bench.metrics.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    if name not in WITHOUT_EXAMPLES:
        assert result.attempted > 0, f"bench.metrics.{name} has no docstring examples left to run"
