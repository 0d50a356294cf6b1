"""Session-wide fixtures shared by every test area.

Area-local fixtures live in ``tests/<area>/conftest.py``. Fixtures here are built once per session
(the small synth dataset, tiny trained evaluators) because they cost seconds each. Edit this file by
adding fixtures; never rewrite it wholesale.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never touch the network or the user's home.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def bench_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty BENCH_HOME for one test; BENCH_BODY_MODELS and BENCH_CONFIG unset."""
    home = tmp_path / "bench_home"
    home.mkdir()
    monkeypatch.setenv("BENCH_HOME", str(home))
    for var in ("BENCH_BODY_MODELS", "BENCH_CONFIG", "BENCH_TEXT_MODEL"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def tiny_smpl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only folder in smplx layout with tiny synthetic models (tests/body/tiny_smpl.py):
    ``smpl/SMPL_NEUTRAL.npz`` (24 joints, 144 vertices) and ``smplh/SMPLH_NEUTRAL.npz`` (52 joints).
    Use it as ``load_body_model("smpl", tiny_smpl_dir)`` or ``BENCH_BODY_MODELS``."""
    from tests.body.tiny_smpl import smpl_model_arrays, write_smpl_model

    root = tmp_path_factory.mktemp("tiny_smpl")
    for model_type in ("smpl", "smplh"):
        write_smpl_model(root, smpl_model_arrays(model_type), model_type=model_type)
    return root


@pytest.fixture(scope="session")
def synth_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small PoseBench-Synth dataset (``build_synth(root, size="small", seed=0)``), built once per
    test session (well under a minute); returns its folder, named ``synth-small``. Open it with
    ``bench.data.load_dataset(path, path.parent)``. Its files are read-only: copy it to modify it."""
    from bench.data.synth.build import build_synth

    root = tmp_path_factory.mktemp("synth_data") / "synth-small"
    build_synth(root, size="small", seed=0, workers=2)
    for path in root.rglob("*"):
        if path.is_file():
            path.chmod(0o444)
    return root


@pytest.fixture(scope="session")
def tiny_evaluators(tmp_path_factory: pytest.TempPathFactory):
    """A function ``tiny_evaluators(dataset_dir) -> {"pose-text": Evaluator, "pair-text": Evaluator}``:
    tiny evaluators (``retrieval_models.quick``, ids ``tiny-posetext`` / ``tiny-pairtext``) trained on
    that dataset folder in a few seconds, once per folder per session. Kinds whose train/val texts the
    dataset lacks are left out. Use them where a task needs *an* evaluator, never for real scores::

        evaluators = tiny_evaluators(synth_small)
        evaluators["pose-text"].embed_texts(["The left knee is bent."])   # float32 (1, 512)
    """
    import torch

    from retrieval_models.quick import train_tiny_evaluators

    cache: dict[Path, dict] = {}

    def get(dataset_dir: Path) -> dict:
        key = Path(dataset_dir).resolve()
        if key not in cache:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # tiny networks train fastest on one thread
            try:
                cache[key] = train_tiny_evaluators(key, tmp_path_factory.mktemp("tiny_evaluators"))
            finally:
                torch.set_num_threads(threads)
        return cache[key]

    return get


from collections.abc import Iterator  # noqa: E402  (appended with the fixture below)


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Torch on one intra-op thread for a test module (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``):
    tiny networks run fastest that way, and a busy shared machine does not stall on thread spinning."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def unipose_tiny(tmp_path_factory: pytest.TempPathFactory, synth_small: Path) -> Path:
    """A model folder (use it as a ``model_dirs`` entry) with tiny UniPose parts and two tiny trained
    UniPose LLMs, built in seconds on synth-small. Under ``<folder>/unipose/``:

    - ``tokenizer-tiny``: a pose tokenizer, 4 tokens per pose, 32 codes (codebook initialised on the
      train poses, not trained further);
    - ``generic-encoder-small`` (a tiny random generic ViT) and ``regressor`` (a tiny regressor
      trained for one epoch, whose backbone is the pose-specific encoder): the file names of the
      ``small`` visual config, each file carrying its own architecture;
    - ``unipose-tiny-llm`` and ``unipose-tiny-causal-llm``: the ``tiny`` and ``tiny-causal`` presets
      trained through all three stages, with their work folders ``work-tiny`` / ``work-tiny-causal``.

    Every file is ``.safetensors`` + ``.json`` card. Treat the folder as read-only (copy to modify).
    """
    import torch

    from bench.body import axis_angle_to_matrix, matrix_to_rot6d
    from bench.data import load_dataset
    from bench.models.regressor_training import RegressorTrainConfig, train_regressor
    from bench.models.unipose.generic_encoder import GenericEncoderConfig, GenericImageEncoder, save_generic_encoder
    from bench.models.unipose.tokenizer import PoseTokenizer, TokenizerConfig
    from bench.models.unipose.train_config import preset
    from bench.models.unipose.training import train_unipose

    root = tmp_path_factory.mktemp("unipose_tiny")
    folder = root / "unipose"
    dataset = load_dataset(synth_small, synth_small.parent)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tokenizer = PoseTokenizer(TokenizerConfig(name="tiny", hidden=16, code_dim=8, num_codes=32, resize_length=4,
                                                  upsample_steps=1, decoder_resize_stages=2, res_depth=1))
        tokenizer.train()
        rot6d = matrix_to_rot6d(axis_angle_to_matrix(torch.from_numpy(dataset.poses("train").poses)))
        tokenizer(rot6d, torch.Generator().manual_seed(0))  # the first training forward fills the codebook
        tokenizer.save(folder / "tokenizer-tiny.safetensors", {"note": "test fixture: codebook initialised only"})
        generic = GenericImageEncoder(GenericEncoderConfig(name="tiny", image_size=32, patch=16, width=16, depth=1, heads=2,
                                                           decoder_width=8, decoder_depth=1, decoder_heads=2))
        save_generic_encoder(generic, folder / "generic-encoder-small.safetensors", {"note": "test fixture: random"})
        train_regressor(dataset, folder, RegressorTrainConfig(epochs=1, batch_size=16, input_size=32, channels=(8, 8, 8, 8),
                                                              hidden=16))  # fmt: skip
        for name in ("tiny", "tiny-causal"):
            config = preset(name)
            train_unipose(config, dataset, folder / f"work-{name}", folder / f"{config.checkpoint_name}.safetensors", [root])
    finally:
        torch.set_num_threads(threads)
    for path in root.rglob("*"):
        if path.is_file():
            path.chmod(0o444)
    return root
