"""Reference UniPose: pose tokenizer, visual processor and unified LLM (``docs/architecture.md`` §7).

Importing the package registers its models (``unipose``, ``unipose-causal``) and trainers
(``unipose``, ``unipose-causal``, ``unipose-tokenizer``, ``unipose-vision``).
"""

from bench.models.unipose import adapter, train_tokenizer, train_vision  # noqa: F401  (registration side effects)
