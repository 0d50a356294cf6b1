"""Parity of ``bench evaluators import posescript`` with naver/posescript's own model code.

Run from the repository root, with a checkout of the peer's code and of VPoser v2 (neither is
installed or shipped by PoseBench; their licences keep them out of the repository)::

    python benchmarks/posescript_parity.py --peer-src PATH/posescript/src \
        --human-body-prior PATH/human_body_prior_repo [--n 300] [--seed 0]

``--human-body-prior`` is the folder that holds the ``human_body_prior`` package of
nghorbani/human_body_prior (v2, with ``models/vposer_model.py``; PyPI's 0.8.5 is v1). The peer's
modules import ``torchtext`` (GloVe only) and HuggingFace ``evaluate`` (NLP metrics only) at module
level; empty stand-ins are put on the path for both, and ``roma`` must be importable.

For each kind (``PoseText``, ``PairText``) the script builds the peer's model with random weights
(BatchNorm statistics randomised too) on a random 32-d DistilBERT saved in the layout of the hub's
``distilbert-base-uncased`` folder, saves it as the peer's trainer does, imports it with PoseBench,
and prints the largest embedding difference on random poses (fed to the peer as 52 z-up joints,
converted with scipy) and random texts (tokenised by the peer's ``Tokenizer``), whether the token ids
agree, and whether the peer's ``evaluate.x2y_recall_metrics`` gives PoseBench's recall and mRecall on
the same embeddings. Last, R-precision top-1/2/3 of the peer's ``textret_metrics`` (Python's
``random``, seeded here) beside PoseBench's ``posescript`` protocol on the same noisy embeddings:
same pool distribution, so they agree to sampling noise only.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch


def _stub_modules(folder: Path) -> None:
    for name in ("torchtext", "evaluate"):
        (folder / name).mkdir()
        (folder / name / "__init__.py").write_text("")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="posescript_parity_"))
    try:
        run(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path) -> None:
    """Everything, with ``work`` as the scratch folder (stand-in modules, DistilBERT, checkpoints)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-src", type=Path, required=True, help="naver/posescript's src/ folder")
    parser.add_argument("--human-body-prior", type=Path, required=True, help="folder holding human_body_prior/ (v2)")
    parser.add_argument("--n", type=int, default=300, help="poses and texts per check")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    (work / "stubs").mkdir()
    _stub_modules(work / "stubs")
    sys.path[:0] = [str(work / "stubs"), str(args.human_body_prior), str(args.peer_src), str(Path.cwd())]

    import text2pose.config as peer_config

    from tests.retrieval_models.posescript_release import to_zup_padded
    from tests.retrieval_models.test_word_embeddings import _tiny_distilbert

    folder = work / "distilbert-base-uncased"
    _tiny_distilbert(folder, seed=3)
    (folder / "tokenizer_config.json").write_text('{"do_lower_case": true, "model_max_length": 512}')  # as on the hub
    peer_config.TRANSFORMER_CACHE_DIR = str(work)

    import text2pose.evaluate as peer_eval
    from text2pose.encoders.tokenizers import Tokenizer
    from text2pose.retrieval.model_retrieval import PoseText
    from text2pose.retrieval_modifier.model_retrieval_modifier import PairText

    from bench.metrics import r_precision
    from retrieval_models import load_evaluator
    from retrieval_models.posescript.release import import_release
    from retrieval_models.scoring import recall_metrics

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    n = args.n
    poses, poses_b = rng.normal(0, 0.6, (n, 22, 3)), rng.normal(0, 0.6, (n, 22, 3))
    words = "left right knee elbow arm leg bent straight raise lower torso lean forward backward hand head".split()
    texts = [" ".join(rng.choice(words, size=rng.integers(3, 40))).capitalize() + "." for _ in range(n)]
    tokenizer = Tokenizer("distilbertUncased")
    rows: list[tuple[str, str, object]] = []
    for kind, peer_class in (("pose-text", PoseText), ("pair-text", PairText)):
        model = peer_class(text_encoder_name="distilbertUncased", transformer_topping="avgp", latentD=64,
                           num_body_joints=52)  # fmt: skip
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm1d):
                    module.running_mean.normal_(0, 0.3)
                    module.running_var.uniform_(0.5, 2.0)
                    module.weight.normal_(1, 0.2)
                    module.bias.normal_(0, 0.2)
        saved = argparse.Namespace(text_encoder_name="distilbertUncased", transformer_topping="avgp", latentD=64,
                                   num_body_joints=52)  # fmt: skip
        checkpoint = work / f"{kind}.pth"
        torch.save({"epoch": 7, "model": model.state_dict(), "optimizer": None, "scheduler": None, "args": saved},
                   checkpoint)  # fmt: skip
        ours = import_release(checkpoint, folder, work / "evaluators")
        ours = load_evaluator(ours.id, [work / "evaluators"])
        model.eval()
        with torch.inference_mode():
            tokens, lengths = tokenizer.assemble_raw_texts(texts)
            peer_text = torch.cat([model.encode_text(tokens[i : i + 32, : lengths[i : i + 32].max()], lengths[i : i + 32])
                                   for i in range(0, n, 32)]).numpy()  # fmt: skip
            a, b = to_zup_padded(poses, 52).view(n, 52, 3), to_zup_padded(poses_b, 52).view(n, 52, 3)
            if kind == "pose-text":
                peer_items, our_items = model.encode_pose(a).numpy(), ours.embed_poses(poses.astype(np.float32))
            else:
                peer_items = model.encode_pose_pair(a, b).numpy()
                our_items = ours.embed_pairs(poses.astype(np.float32), poses_b.astype(np.float32))
        our_ids = ours.words.encode(texts, 512)
        our_text = ours.embed_texts(texts)
        rows.append((kind, "token ids equal", all(tokens[i, : lengths[i]].tolist() == our_ids[i] for i in range(n))))
        rows.append((kind, "max |text embedding diff|", f"{np.abs(our_text - peer_text).max():.2e}"))
        rows.append((kind, "max |item embedding diff|", f"{np.abs(our_items - peer_items).max():.2e}"))
        t, p = torch.from_numpy(our_text), torch.from_numpy(our_items)
        peer = {**peer_eval.x2y_recall_metrics(p, t, peer_config.k_recall_values, sstr="p2t_"),
                **peer_eval.x2y_recall_metrics(t, p, peer_config.k_recall_values, sstr="t2p_")}  # fmt: skip
        peer = {k: float(v) for k, v in peer.items()}
        peer["mRecall"] = sum(peer.values()) / len(peer)
        mine = recall_metrics(our_text, our_items)
        rows.append((kind, "recall and mRecall equal", set(peer) == set(mine) and all(abs(peer[k] - mine[k]) < 1e-9
                                                                                      for k in mine)))  # fmt: skip
    print(f"{'kind':10} {'check':28} result")
    for kind, check, value in rows:
        print(f"{kind:10} {check:28} {value}")

    items = rng.normal(size=(1000, 64))
    items /= np.linalg.norm(items, axis=1, keepdims=True)
    queries = items + rng.normal(scale=0.6, size=items.shape)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    print(f"\n{'seed':5} {'peer textret r1/r2/r3 (%)':28} PoseBench posescript r1/r2/r3 (%)")
    for seed in range(3):
        random.seed(seed)
        peer = peer_eval.textret_metrics(torch.from_numpy(queries).float(), torch.from_numpy(items).float())
        ours = r_precision(queries, items, ks=(1, 2, 3), protocol="posescript", seed=seed)
        print(f"{seed:<5} {peer['ret_r1_prec']:.1f} / {peer['ret_r2_prec']:.1f} / {peer['ret_r3_prec']:.1f}"
              f"{'':14} {ours.values[1]:.1f} / {ours.values[2]:.1f} / {ours.values[3]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
