"""The evaluators: pose-text and pose-pair-text retrieval models (docs/architecture.md §5).

>>> from retrieval_models import load_evaluator, EVALUATORS   # doctest: +SKIP
>>> ev = load_evaluator("posetext-synth-v1", search_dirs=[config.shipped_evaluators_dir])  # doctest: +SKIP
>>> ev.embed_texts(["The left knee is bent."]).shape  # doctest: +SKIP
(1, 512)

Modules: ``text_flip`` (left/right text flipping), ``word_embeddings`` (tokenizer + frozen table),
``encoders`` / ``model`` (networks, symBBC loss), ``evaluator`` (the embedding API),
``checkpoint`` (files, cards, SHA-256 checks), ``pinned`` (pinned ids), ``training_data`` /
``trainer`` / ``train_state`` (training and resumption), ``scoring`` (retrieval metrics),
``quick`` (tiny evaluators for other areas' tests).
"""

from retrieval_models.checkpoint import find_checkpoint, load_evaluator, read_card, save_evaluator
from retrieval_models.encoders import ArchConfig
from retrieval_models.evaluator import Evaluator
from retrieval_models.model import KINDS
from retrieval_models.pinned import EVALUATORS, PinnedEvaluator
from retrieval_models.scoring import retrieval_metrics
from retrieval_models.text_flip import flip_text, is_flippable
from retrieval_models.trainer import TrainConfig, TrainResult, train_evaluator
from retrieval_models.training_data import RetrievalSet, default_source, load_retrieval_set

__all__ = [
    "EVALUATORS",
    "KINDS",
    "ArchConfig",
    "Evaluator",
    "PinnedEvaluator",
    "RetrievalSet",
    "TrainConfig",
    "TrainResult",
    "default_source",
    "find_checkpoint",
    "flip_text",
    "is_flippable",
    "load_evaluator",
    "load_retrieval_set",
    "read_card",
    "retrieval_metrics",
    "save_evaluator",
    "train_evaluator",
]
