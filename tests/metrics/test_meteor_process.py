"""The METEOR JVM driver: same answers as pycocoevalcap's wrapper, one shared JVM, clear failures.

The real JVM is the module's one per process (shared with test_text_scores); failure cases use a
Python process standing in for the JVM.
"""

from __future__ import annotations

import importlib
import sys
import threading

import pytest
from pycocoevalcap.meteor.meteor import Meteor

from bench.errors import InternalError, NotFoundError

meteor_process = importlib.import_module("bench.metrics.meteor_process")

WORDS = ("left", "right", "fast", "slowly", "home", "up the stairs", "with both arms raised", "")


def _items(n: int) -> tuple[list[list[str]], list[str]]:
    refs = [[f"a person walks {WORDS[k % 8]}", f"someone moves {WORDS[(k * 3) % 8]} then stops"] for k in range(n)]
    hyps = [f"a man walks {WORDS[(k * 5) % 8]}" for k in range(n)]
    return refs, hyps


def test_pipelined_answers_equal_pycocoevalcaps_one_at_a_time():
    refs, hyps = _items(60)
    ours = meteor_process.meteor_scores(refs, hyps, 600.0)
    with meteor_process._lock:  # pycocoevalcap's own compute_score, on the same JVM
        wrapper = Meteor.__new__(Meteor)
        wrapper.meteor_p = meteor_process._running().process
        wrapper.lock = threading.Lock()
        keys = [str(k) for k in range(len(hyps))]
        theirs = wrapper.compute_score(dict(zip(keys, refs)), {k: [h] for k, h in zip(keys, hyps)})
    assert ours == theirs
    assert 0 < ours[0] < 1 and len(ours[1]) == 60


def test_missing_java_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(meteor_process, "_jvm", None)
    with pytest.raises(NotFoundError, match="java was not found"):
        meteor_process.meteor_scores([["x"]], ["x"], 10.0)


def _fake_jvm(script: str, tmp_path) -> meteor_process.MeteorProcess:
    """A MeteorProcess whose 'JVM' is a Python process running ``script``."""
    return meteor_process.MeteorProcess([sys.executable, "-c", script], cwd=tmp_path)


def test_dying_jvm_raises_and_is_replaced(monkeypatch, tmp_path):
    fake = _fake_jvm("import sys; sys.stdin.readline(); sys.stderr.write('OutOfMemoryError')", tmp_path)
    monkeypatch.setattr(meteor_process, "_jvm", fake)
    with pytest.raises(InternalError, match="METEOR 1.5 JVM died.*OutOfMemoryError"):
        meteor_process.meteor_scores([["x"]] * 3, ["x"] * 3, 60.0)
    assert meteor_process._jvm is None and fake.process.returncode is not None


@pytest.mark.parametrize(("answer", "message"), [("not a number", "could not convert string to float"),
                                                ("NaN", "non-finite score")])  # fmt: skip
def test_garbage_answer_is_an_error(monkeypatch, tmp_path, answer, message):
    # one answer per SCORE line; per-item scores and the corpus score for the EVAL line
    script = (f"import sys\nfor line in sys.stdin:\n"
              f"    print(*[{answer!r}] * (2 if line.startswith('EVAL') else 1), sep='\\n', flush=True)")  # fmt: skip
    fake = _fake_jvm(script, tmp_path)
    monkeypatch.setattr(meteor_process, "_jvm", fake)
    with pytest.raises(InternalError, match=message):
        meteor_process.meteor_scores([["x"]], ["x"], 60.0)
    assert meteor_process._jvm is None and not fake.alive


def test_silent_jvm_times_out(monkeypatch, tmp_path):
    fake = _fake_jvm("import time; time.sleep(60)", tmp_path)
    monkeypatch.setattr(meteor_process, "_jvm", fake)
    with pytest.raises(InternalError, match="stopped answering within 1 s"):
        meteor_process.meteor_scores([["x"]], ["x"], 1.0)
    assert fake.process.returncode is not None


def test_one_jvm_shared_safely_by_threads():
    items = [_items(5 + k) for k in range(3)]
    sequential = [meteor_process.meteor_scores(r, h, 600.0) for r, h in items]
    jvm = meteor_process._jvm
    results: list = [None] * len(items)

    def work(i: int) -> None:
        results[i] = meteor_process.meteor_scores(*items[i], 600.0)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert results == sequential and meteor_process._jvm is jvm  # no new JVM was started


def test_start_meteor_returns_before_the_jvm_is_ready():
    meteor_process.start_meteor()
    jvm = meteor_process._jvm
    assert jvm is not None and jvm.alive
    meteor_process.start_meteor()
    assert meteor_process._jvm is jvm
