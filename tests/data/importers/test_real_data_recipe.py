"""docs/real_data.md walked through on release-shaped fixtures: every command of its ``bash`` blocks,
in order, from the imports to the leaderboard row of the run (ineligible, with its reasons)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd
import pytest

from bench.hashing import sha256_file
from tests.cli_helpers import run_bench
from tests.data.importers.fixtures import (
    build_amass,
    build_posefix,
    build_posescript_v2,
)
from tests.retrieval_models.posescript_release import distilbert_state, release_state_dict, write_release_checkpoint
from tests.retrieval_models.test_word_embeddings import _tiny_distilbert

DOC = Path(__file__).resolve().parents[3] / "docs" / "real_data.md"
TINY_TRAINING = ["--tiny", "--finetune-epochs", "0"]
"""What the fixture scale needs on top of the doc's ``bench evaluators train`` (a few items per split)."""

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def recipe_commands() -> list[str]:
    """The lines of the doc's ```bash blocks, in order (comments and blank lines dropped)."""
    blocks = re.findall(r"^```bash\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL | re.MULTILINE)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.startswith("#")]


def test_the_doc_covers_the_whole_path() -> None:
    commands = recipe_commands()
    firsts = [" ".join(shlex.split(c)[:3]) for c in commands]
    assert firsts[0].startswith("export BENCH_TEXT_MODEL=")
    for step in ("bench data import", "bench data verify", "bench evaluators train", "bench run --model",
                 "bench score $BENCH_HOME/runs/posescript/chance", "bench leaderboard build"):  # fmt: skip
        assert any(c.startswith(step) for c in commands), step
    assert all(c.startswith(("bench ", "export ")) for c in commands), commands


def test_real_data_recipe(tmp_path: Path, bench_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = {"AMASS": tmp_path / "amass", "POSESCRIPT_RELEASE": tmp_path / "posescript_release",
             "POSEFIX_RELEASE": tmp_path / "posefix_release", "TEXT_MODEL": tmp_path / "distilbert-base-uncased",
             "BENCH_HOME": bench_home}  # fmt: skip
    build_amass(paths["AMASS"])
    build_posescript_v2(paths["POSESCRIPT_RELEASE"])
    build_posefix(paths["POSEFIX_RELEASE"])
    _tiny_distilbert(paths["TEXT_MODEL"], seed=0)  # a random stand-in for the user's DistilBERT folder
    for kind, var in (("pose-text", "POSESCRIPT_RETRIEVAL_CKPT"), ("pair-text", "POSEFIX_RETRIEVAL_CKPT")):
        paths[var] = tmp_path / f"{kind}-checkpoint_best.pth"  # release-layout checkpoints, random weights
        state = release_state_dict(kind, distilbert_state(paths["TEXT_MODEL"]), 32, 52, seed=1)
        write_release_checkpoint(paths[var], state, 32, 52)

    def substitute(command: str) -> list[str]:
        args = shlex.split(re.sub(r"\$([A-Z_]+)", lambda m: str(paths[m.group(1)]), command))
        return args[1:] + (TINY_TRAINING if args[1:3] == ["evaluators", "train"] else [])

    outputs: dict[str, str] = {}
    for command in recipe_commands():
        if command.startswith("export "):
            name, _, value = command.removeprefix("export ").partition("=")
            monkeypatch.setenv(name, substitute(f"_ {value}")[0])
            continue
        result = run_bench(*substitute(command))
        assert result.exit_code == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        outputs[command] = result.stdout

    assert (bench_home / "evaluators" / "posetext-posescript-s0.safetensors").is_file()
    assert (bench_home / "evaluators" / "pairtext-posefix-s0.safetensors").is_file()
    score_out = next(out for c, out in outputs.items() if c.startswith("bench score $BENCH_HOME/runs/posescript"))
    assert "eligible: no" in score_out and "posescript-body22" in score_out

    built = run_bench("leaderboard", "build", "--json")
    assert built.exit_code == 0, built.stderr
    assert '"ineligible": 3' in built.stdout
    released = next(out for c, out in outputs.items() if "posetext-synth-v1=posescript-released" in c)
    release_sha = sha256_file(paths["POSESCRIPT_RETRIEVAL_CKPT"])
    assert f"evaluator posescript-released ({release_sha[:12]})" in released, released
    evaluated = next(out for c, out in outputs.items() if c.startswith("bench evaluators eval posefix-released"))
    assert "mRecall" in evaluated
    table = pd.read_parquet(bench_home / "leaderboard" / "table.parquet")
    rows = table[(table.entry == "chance") & (table.task == "text2pose") & (table.metric == "mpjpe_mm")]
    assert sorted(rows.evaluator_id) == ["posescript-released", "posetext-posescript-s0"]
    assert set(rows[rows.evaluator_id == "posescript-released"].evaluator_sha256) == {release_sha}
    row = rows[rows.evaluator_id == "posetext-posescript-s0"].iloc[0]
    assert not row.eligible and row.data_name == "posescript-body22" and row.n == 4
    assert row.evaluator_id == "posetext-posescript-s0"
    assert "dataset 'posescript-body22' is not pinned" in row.ineligible_reasons
    assert "is not the pinned posetext-synth-v1" in row.ineligible_reasons
    posefix_rows = table[(table.entry == "chance") & (table.data_name == "posefix-body22")]
    assert set(posefix_rows.task) == {"posediff", "poseedit"} and not posefix_rows.eligible.any()
