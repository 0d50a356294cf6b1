"""PoseBench datasets: the on-disk schema, the reading API, manifests and verification.

See ``docs/architecture.md`` §3. The synthetic dataset builder is ``bench.data.synth.build_synth``;
importers of licensed releases live in ``bench.data.importers``.
"""

from bench.data.dataset import (
    Dataset,
    PairSet,
    PoseSet,
    RenderPair,
    RenderSet,
    RpeItem,
    SpgItem,
    Texts,
    load_dataset,
    read_image,
)
from bench.data.manifest import COMPONENTS, SCHEMA_VERSION, read_manifest, split_hash, verify_dataset, write_manifest

__all__ = [
    "COMPONENTS",
    "SCHEMA_VERSION",
    "Dataset",
    "PairSet",
    "PoseSet",
    "RenderPair",
    "RenderSet",
    "RpeItem",
    "SpgItem",
    "Texts",
    "load_dataset",
    "read_image",
    "read_manifest",
    "split_hash",
    "verify_dataset",
    "write_manifest",
]
