"""The dataset quality report behind ``bench data info --stats``.

For each split: the archetype histogram, the range of every anatomical joint angle, caption and
instruction lengths and vocabulary sizes, posecode category frequencies, pair-difference statistics
(MPJPE between A and B through the skeleton body model, number of differing posecodes, share of
in-sequence pairs) and, for built synth data, the rejection rates of the generator's checks.
Everything is JSON-serialisable; numbers are plain floats (MPJPE in millimetres, angles in degrees).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

from bench.data.dataset import Dataset, Texts
from bench.data.synth.poses.limits import JOINTS, axis_angle_to_angles

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def text_stats(texts: dict[str, Texts]) -> dict[str, Any]:
    """Counts, words per text (mean/min/max) and vocabulary size over auto and human texts."""
    out: dict[str, Any] = {}
    for kind in ("auto", "human"):
        all_texts = [t for item in texts.values() for t in getattr(item, kind)]
        if not all_texts:
            out[kind] = {"texts": 0}
            continue
        words = [_WORD.findall(t.lower()) for t in all_texts]
        lengths = np.array([len(w) for w in words])
        out[kind] = {"texts": len(all_texts), "per_item": round(len(all_texts) / max(len(texts), 1), 3),
                     "words_mean": round(float(lengths.mean()), 2), "words_min": int(lengths.min()),
                     "words_max": int(lengths.max()), "vocabulary": len({w for ws in words for w in ws})}  # fmt: skip
    return out


def angle_ranges(poses: np.ndarray) -> dict[str, dict[str, list[float]]]:
    """Per joint and DOF, ``[min, 5th percentile, 95th percentile, max]`` of the anatomical angles, degrees."""
    angles = axis_angle_to_angles(poses)
    out: dict[str, dict[str, list[float]]] = {}
    for spec in JOINTS[1:]:
        out[spec.name] = {
            dof: [round(float(v), 1) for v in np.percentile(angles[:, spec.row, d], [0, 5, 95, 100])]
            for d, dof in enumerate(spec.dofs)
        }
    return out


def pair_stats(poses_a: np.ndarray, poses_b: np.ndarray, in_sequence: np.ndarray) -> dict[str, Any]:
    """MPJPE between A and B (mm, skeleton joints, pelvis at the origin) and differing posecodes."""
    from bench.body import load_body_model
    from bench.data.synth.text.posecodes import compute_posecodes, count_differing_posecodes

    body = load_body_model("skeleton")
    joints_a = np.asarray(body.joints(np.asarray(poses_a, np.float32)), np.float64)
    joints_b = np.asarray(body.joints(np.asarray(poses_b, np.float32)), np.float64)
    mpjpe_mm = np.linalg.norm(joints_a - joints_b, axis=-1).mean(axis=-1) * 1000.0
    differing = count_differing_posecodes(compute_posecodes(poses_a).categories, compute_posecodes(poses_b).categories)
    return {
        "pairs": int(len(mpjpe_mm)),
        "in_sequence_share": round(float(np.mean(in_sequence)), 4) if len(in_sequence) else 0.0,
        "mpjpe_mm": _summary(mpjpe_mm),
        "mpjpe_mm_in_sequence": _summary(mpjpe_mm[in_sequence]),
        "mpjpe_mm_out_of_sequence": _summary(mpjpe_mm[~in_sequence]),
        "differing_posecodes": _summary(differing.astype(np.float64)),
    }


def _summary(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {}
    return {"mean": round(float(values.mean()), 2), "median": round(float(np.median(values)), 2),
            "min": round(float(values.min()), 2), "max": round(float(values.max()), 2)}  # fmt: skip


def quality_report(dataset: Dataset, splits: list[str] | None = None) -> dict[str, Any]:
    """The full report for the given splits (default: all), as a JSON-serialisable dict."""
    from bench.data.synth.text.posecodes import posecode_frequencies

    report: dict[str, Any] = {"name": dataset.name, "version": dataset.version, "splits": {}}
    for split in splits or dataset.splits:
        entry: dict[str, Any] = {}
        if dataset.has("poses", split):
            poses = dataset.poses(split)
            if poses.archetype is not None:
                entry["archetypes"] = dict(sorted(Counter(str(a) for a in poses.archetype).items()))
            entry["angle_ranges_deg"] = angle_ranges(poses.poses)
            entry["posecode_frequencies"] = posecode_frequencies(poses.poses)
        if dataset.has("captions", split):
            entry["captions"] = text_stats(dataset.captions(split))
        if dataset.has("pairs", split):
            pairs = dataset.pairs(split)
            entry["pairs"] = pair_stats(pairs.poses_a, pairs.poses_b, pairs.in_sequence)
        if dataset.has("instructions", split):
            entry["instructions"] = text_stats(dataset.instructions(split))
        report["splits"][split] = entry
    rejections = dataset.manifest.get("build", {}).get("rejections")
    if rejections:
        report["rejections"] = rejections
    return report


def format_report(report: dict[str, Any]) -> list[str]:
    """A readable plain-text version of :func:`quality_report` (one list entry per line)."""
    lines = [f"{report['name']} {report['version']}: quality report"]
    for split, entry in report["splits"].items():
        lines.append(f"[{split}]")
        if "archetypes" in entry:
            hist = entry["archetypes"]
            lines.append(f"  archetypes: {len(hist)} kinds, {min(hist.values())}-{max(hist.values())} poses each")
            lines.extend(f"    {name:28s} {count}" for name, count in hist.items())
        for name, dofs in entry.get("angle_ranges_deg", {}).items():
            lines.append(f"  {name:16s} " + "  ".join(f"{dof} {v[0]:.0f}..{v[3]:.0f} (90%: {v[1]:.0f}..{v[2]:.0f})"
                                                        for dof, v in dofs.items()))  # fmt: skip
        for kind in ("captions", "instructions"):
            for source, stats in entry.get(kind, {}).items():
                if stats.get("texts"):
                    lines.append(f"  {kind} ({source}): {stats['texts']} texts, {stats['per_item']}/item, words "
                                 f"{stats['words_mean']} mean [{stats['words_min']}-{stats['words_max']}], "
                                 f"vocabulary {stats['vocabulary']}")  # fmt: skip
        for kind, freqs in entry.get("posecode_frequencies", {}).items():
            top = sorted(freqs.items(), key=lambda kv: -kv[1])[:6]
            lines.append(f"  posecodes {kind}: " + ", ".join(f"{c} {f:.2f}" for c, f in top))
        if "pairs" in entry:
            p = entry["pairs"]
            lines.append(f"  pairs: {p['pairs']}, in-sequence {p['in_sequence_share']:.2f}; MPJPE A-B mm "
                         f"{_fmt(p['mpjpe_mm'])} (in-seq {_fmt(p['mpjpe_mm_in_sequence'])}, "
                         f"out-of-seq {_fmt(p['mpjpe_mm_out_of_sequence'])}); differing posecodes "
                         f"{_fmt(p['differing_posecodes'])}")  # fmt: skip
    for split, stats in report.get("rejections", {}).items():
        rates = ", ".join(f"{name} {rate:.3f}" for name, rate in stats["rate"].items())
        lines.append(f"rejections [{split}]: {stats['attempts']} drawn, {stats['accepted']} kept; rate per check: {rates}")
    return lines


def _fmt(summary: dict[str, float]) -> str:
    return f"mean {summary['mean']:.1f}, median {summary['median']:.1f}" if summary else "-"
