"""Every ``python`` snippet of the README and ``docs/`` runs as written.

The snippets of one page run in order, in one namespace, in a fresh interpreter whose
``BENCH_HOME`` holds the small synth dataset as ``synth-small`` (what the pages tell a reader to
build first). A snippet that cannot run on a fresh machine says why on the line before its fence:
``<!-- snippet: not run (reason) -->``. API listings that are not code are fenced as ``text``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"^<!-- snippet: not run \((.+)\) -->$")


def snippets(page: Path) -> tuple[list[str], list[str]]:
    """The page's ``python`` blocks to run, and the reasons of those marked not to run."""
    lines = page.read_text(encoding="utf-8").splitlines()
    run, skipped, i = [], [], 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            end = lines.index("```", i + 1)
            marker = SKIP.match(lines[i - 1].strip()) if i else None
            if marker:
                skipped.append(marker.group(1))
            else:
                run.append("\n".join(lines[i + 1 : end]))
            i = end
        i += 1
    return run, skipped


def test_the_pages_have_snippets_and_every_skip_says_why() -> None:
    counts = {page.name: snippets(page) for page in PAGES}
    assert sum(len(run) for run, _ in counts.values()) >= 4, counts
    assert all(reason.strip() for _, skipped in counts.values() for reason in skipped)


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in PAGES if snippets(p)[0]], ids=lambda p: p.name)
def test_snippets_run_as_written(page: Path, synth_small: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    (home / "data" / "synth-small").symlink_to(synth_small)
    program = "\n\n".join(f"# ---- snippet {k + 1} of {page.name}\n{code}" for k, code in enumerate(snippets(page)[0]))
    env = {**os.environ, "BENCH_HOME": str(home), "OMP_NUM_THREADS": "1"}
    for var in ("BENCH_CONFIG", "BENCH_BODY_MODELS", "BENCH_TEXT_MODEL"):
        env.pop(var, None)
    done = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, f"{page.name}:\n{done.stderr[-4000:]}"
