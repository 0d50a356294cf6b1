"""``captioner``: PoseBench-Synth's automatic captioner and comparative pipeline applied to the input poses.

``pose2text``: :func:`bench.data.synth.text.captions.caption_poses` of the pose (one caption, the first
version, posecode noise drawn from the request's seed). ``posediff``:
:func:`bench.data.synth.text.instructions.instruct_pairs` of (A, B) (one instruction, seeded likewise).
The ``regressor`` chains these functions after its image→pose network for ``image2text`` and
``imagediff``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from bench.body import heading_angle, rotate_heading
from bench.models.adapter import ModelAdapter, ModelInfo, Prediction, SampleFailure, register_model
from tasks.spec import Request


def describe_pose(pose: np.ndarray, seed: int) -> str:
    """One automatic caption of a float32 (22, 3) heading-normalised axis-angle pose."""
    from bench.data.synth.text.captions import caption_poses

    return caption_poses(np.asarray(pose, np.float32)[None], None, np.random.default_rng(seed), n_captions=1)[0][0]


def describe_difference(pose_a: np.ndarray, pose_b: np.ndarray, seed: int) -> str:
    """One automatic instruction turning pose A into pose B (float32 (22, 3); B in A's heading frame)."""
    from bench.data.synth.text.instructions import instruct_pairs

    a, b = (np.asarray(p, np.float32)[None] for p in (pose_a, pose_b))
    return instruct_pairs(a, b, np.random.default_rng(seed), n=1)[0][0]


def heading_frame(pose_a: np.ndarray, pose_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both poses turned about +y by minus A's heading: A heading-normalised, B relative to A.

    float32 (22, 3) each (e.g. camera-frame estimates of two images) → the same pair in A's frame.
    """
    both = torch.as_tensor(np.stack([pose_a, pose_b]).astype(np.float32))
    turned = rotate_heading(both, -heading_angle(both[:1]).expand(2))
    return turned[0].numpy(), turned[1].numpy()


@register_model("captioner")
class Captioner(ModelAdapter):
    """Automatic captions of the input pose and automatic instructions of the input pose pair."""

    info = ModelInfo(name="captioner", version="1.0",
                     description="the synth automatic captioner / comparative pipeline applied to the input poses")  # fmt: skip
    tasks = ("pose2text", "posediff")

    def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Prediction | SampleFailure]:
        out: list[Prediction | SampleFailure] = []
        for request, seed in zip(requests, seeds, strict=True):
            x = request.inputs
            out.append(describe_pose(x["pose"], seed) if request.task == "pose2text"
                       else describe_difference(x["pose_a"], x["pose_b"], seed))  # fmt: skip
        return out
