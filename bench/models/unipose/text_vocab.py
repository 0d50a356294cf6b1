"""The small text vocabulary of the from-scratch UniPose backbones: an uncased WordPiece vocabulary
counted on the training texts.

Why not the 30,522-entry BERT vocabulary: with a 256-wide decoder, its embedding table and lm_head
(2 × 7.8 M parameters) would outweigh the transformer layers (~3.4 M) and dominate the CPU time of
every training step, while the synthetic captions and instructions use about a thousand distinct
words. A pretrained backbone keeps its own tokenizer (``llm.load_pretrained_backbone``).

The tokenizer mirrors BERT-uncased's pipeline (BERT normaliser with lower-casing and accent
stripping, BERT pre-tokeniser, ``##`` continuation pieces, ``[PAD] [UNK] [CLS] [SEP] [MASK]`` as ids
0–4) and is deterministic for a given multiset of texts.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

from bench.errors import CheckpointError, ConfigError

logger = logging.getLogger(__name__)

__all__ = ["SPECIAL_TOKENS", "build_vocabulary", "wordpiece_from_vocab"]

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def build_vocabulary(texts: Iterable[str], vocab_size: int) -> list[str]:
    """An uncased WordPiece vocabulary (tokens in id order) of at most ``vocab_size`` entries.

    It is built by counting, not by the ``tokenizers`` trainer (whose ids depend on
    hash-map order): the special tokens, every character seen (alone and as a ``##`` piece, so any
    word can be spelled), then whole words by decreasing count (ties alphabetical). Only the
    *set* of texts and their counts matter, not their order.

    Args:
        texts: training sentences.
        vocab_size: upper bound on the vocabulary, special tokens included.
    """
    normalizer, pre_tokenizer = _normalizer(), _pre_tokenizer()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    alphabet = sorted({char for word in counts for char in word})
    vocab = [*SPECIAL_TOKENS, *alphabet, *(f"##{c}" for c in alphabet)]
    if vocab_size < len(vocab):
        raise ConfigError(f"must be at least {len(vocab)} (special tokens and the alphabet)", field="text_vocab_size")
    known = set(vocab)
    words = sorted((w for w in counts if w not in known), key=lambda w: (-counts[w], w))
    vocab += words[: vocab_size - len(vocab)]
    logger.info("text vocabulary: %d entries (%d distinct words seen)", len(vocab), len(counts))
    return vocab


def wordpiece_from_vocab(vocab: list[str]) -> Any:
    """The ``PreTrainedTokenizerFast`` of a vocabulary from :func:`build_vocabulary` (as stored in a
    model card): BERT-uncased normalisation and pre-tokenisation, greedy longest-match WordPiece."""
    from tokenizers import Tokenizer, decoders
    from tokenizers.models import WordPiece
    from transformers import PreTrainedTokenizerFast

    if list(vocab[: len(SPECIAL_TOKENS)]) != list(SPECIAL_TOKENS) or len(set(vocab)) != len(vocab):
        raise CheckpointError("text vocabulary must start with the special tokens and have no duplicates",
                              field="text_vocab")  # fmt: skip
    tokenizer = Tokenizer(WordPiece({token: i for i, token in enumerate(vocab)}, unk_token="[UNK]",
                                    continuing_subword_prefix="##", max_input_chars_per_word=100))  # fmt: skip
    tokenizer.normalizer = _normalizer()
    tokenizer.pre_tokenizer = _pre_tokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")  # fmt: skip


def _normalizer() -> Any:
    from tokenizers import normalizers

    return normalizers.BertNormalizer(lowercase=True, strip_accents=True, clean_text=True)


def _pre_tokenizer() -> Any:
    from tokenizers import pre_tokenizers

    return pre_tokenizers.BertPreTokenizer()
