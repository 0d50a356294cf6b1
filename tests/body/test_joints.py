"""Joint names, the kinematic tree, joint sets and the mirror permutation."""

from __future__ import annotations

import pytest

from bench.body import JOINT_NAMES, JOINT_SETS, MIRROR_PERMUTATION, SMPL_PARENTS, joint_indices
from bench.errors import NotFoundError


def test_tree_shape() -> None:
    assert len(JOINT_NAMES) == len(SMPL_PARENTS) == 24
    assert JOINT_NAMES[:3] == ("pelvis", "left_hip", "right_hip") and JOINT_NAMES[-2:] == ("left_hand", "right_hand")
    assert SMPL_PARENTS[0] == -1 and all(0 <= p < j for j, p in enumerate(SMPL_PARENTS) if j)
    parent_of = {JOINT_NAMES[j]: JOINT_NAMES[p] for j, p in enumerate(SMPL_PARENTS) if p >= 0}
    assert parent_of["left_wrist"] == "left_elbow" and parent_of["right_collar"] == "spine3"
    assert parent_of["head"] == "neck" and parent_of["left_foot"] == "left_ankle"


def test_mirror_permutation_swaps_sides() -> None:
    assert all(MIRROR_PERMUTATION[MIRROR_PERMUTATION[j]] == j for j in range(24))
    for j, name in enumerate(JOINT_NAMES):
        other = JOINT_NAMES[MIRROR_PERMUTATION[j]]
        if name.startswith("left_"):
            assert other == "right_" + name[5:]
        elif name.startswith("right_"):
            assert other == "left_" + name[6:]
        else:
            assert other == name
    assert sorted(MIRROR_PERMUTATION[:22]) == list(range(22))


def test_joint_sets() -> None:
    assert joint_indices("body22") == list(range(22)) and joint_indices("smpl24") == list(range(24))
    lsp = [JOINT_NAMES[j] for j in joint_indices("lsp14")]
    assert lsp == [
        "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "right_wrist",
        "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist", "neck", "head",
    ]  # fmt: skip
    upper, lower = set(JOINT_SETS["upper_body"]), set(JOINT_SETS["lower_body"])
    assert not upper & lower and upper | lower == set(range(22))
    assert {JOINT_NAMES[j] for j in lower} >= {"pelvis", "left_foot", "right_knee"}
    returned = joint_indices("lsp14")
    returned.append(99)
    assert 99 not in joint_indices("lsp14")


def test_unknown_joint_set_suggests() -> None:
    with pytest.raises(NotFoundError, match=r"unknown joint set 'lsp12'.*did you mean 'lsp14'.*known: body22") as info:
        joint_indices("lsp12")
    assert "\n" not in str(info.value)
