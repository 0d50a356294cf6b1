"""Contact sheets: a grid of a dataset's images with their texts, for looking at the data.

Three kinds, one per image component of the dataset schema (``docs/architecture.md`` §3):

- ``renders``: each render with the first caption of its pose;
- ``pairs``: the two renders of a pose pair side by side (A | B) with the pair's instruction;
- ``rpe``: each scene with its question, the target's box in red and the other people's in grey.

Texts are wrapped under each tile (DejaVu Sans when the system has it, else PIL's default font) and
cut with an ellipsis after a few lines. Which items appear is a seeded draw, so a sheet is
reproducible. Every image is checked against its manifest hash as it is read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.data.dataset import Dataset, Texts
from bench.errors import NotFoundError, UserError

logger = logging.getLogger(__name__)

SHEET_KINDS = ("renders", "pairs", "rpe")
_COMPONENT = {"renders": "renders", "pairs": "render_pairs", "rpe": "rpe"}
_FONT_SIZE = 11
_PAD = 6
_BACKGROUND = (255, 255, 255)
_TEXT = (20, 20, 20)
_TARGET = (230, 30, 30)
_OTHER = (150, 150, 150)


@dataclass
class Tile:
    """One cell: ``images`` uint8 (H, W, 3) shown side by side (one, or two for a pair),
    ``caption`` under them, and optional pixel boxes ``(x0, y0, x1, y1)`` drawn on the first image
    (``target`` in red, the rest in grey)."""

    images: list[np.ndarray]
    caption: str
    boxes: list[tuple[float, float, float, float]] | None = None
    target: int | None = None


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        try:
            return ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", size)
        except OSError:
            logger.debug("DejaVu Sans not found; using PIL's default font")
            return ImageFont.load_default(size)


def wrap_text(text: str, width_px: int, font: ImageFont.ImageFont, max_lines: int) -> list[str]:
    """Greedy word wrap to ``width_px``; at most ``max_lines`` lines, the last cut with an ellipsis."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width_px:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        last = " ".join(lines[max_lines - 1:])
        while last and font.getlength(last + "…") > width_px:
            last = last[:-1]
        lines = lines[:max_lines - 1] + [last.rstrip() + "…"]
    return lines


def compose_sheet(tiles: list[Tile], columns: int | None = None, caption_lines: int = 4,
                  title: str | None = None) -> Image.Image:
    """Lay tiles out in a grid (``columns`` defaults to about square) and return the RGB sheet."""
    if not tiles:
        raise UserError("nothing to put on the contact sheet", field="n")
    font = _font(_FONT_SIZE)
    line_h = int(font.getbbox("Ag")[3]) + 2
    height = max(img.shape[0] for t in tiles for img in t.images)
    width = max(sum(img.shape[1] for img in t.images) + 2 * (len(t.images) - 1) for t in tiles)
    cols = columns or max(1, int(np.ceil(np.sqrt(len(tiles) * (height + line_h * caption_lines) / width))))
    rows = -(-len(tiles) // cols)
    cell_w, cell_h = width + _PAD, height + line_h * caption_lines + 2 * _PAD
    top = line_h + 2 * _PAD if title else 0
    sheet = Image.new("RGB", (cols * cell_w + _PAD, rows * cell_h + top + _PAD), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((_PAD, _PAD), title, fill=_TEXT, font=font)
    for k, tile in enumerate(tiles):
        x, y = _PAD + (k % cols) * cell_w, top + _PAD + (k // cols) * cell_h
        left = x
        for img in tile.images:
            sheet.paste(Image.fromarray(np.asarray(img, np.uint8)), (left, y))
            left += img.shape[1] + 2
        for b, box in enumerate(tile.boxes or []):
            colour = _TARGET if b == tile.target else _OTHER
            x0, y0, x1, y1 = (float(v) for v in box)
            draw.rectangle([x + x0, y + y0, x + x1 - 1, y + y1 - 1], outline=colour, width=2 if b == tile.target else 1)
        for i, line in enumerate(wrap_text(tile.caption, width, font, caption_lines)):
            draw.text((x, y + height + 2 + i * line_h), line, fill=_TEXT, font=font)
    return sheet


def _first_text(texts: Texts | None) -> str:
    if texts is None:
        return "(no text)"
    return (texts.human or texts.auto or ["(no text)"])[0]


def _pick(count: int, n: int, seed: int) -> list[int]:
    """``n`` of ``count`` indices, a seeded draw, in order."""
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(count, size=min(n, count), replace=False))


def dataset_tiles(dataset: Dataset, kind: str, split: str, n: int, seed: int = 0) -> list[Tile]:
    """The tiles of a ``kind`` sheet (see module docstring) for ``n`` items of ``split``."""
    if kind not in SHEET_KINDS:
        raise UserError(f"unknown sheet kind {kind!r}; known: {', '.join(SHEET_KINDS)}", field="kind")
    if not dataset.has(_COMPONENT[kind], split):
        raise NotFoundError(f"dataset {dataset.name!r} has no {_COMPONENT[kind]} for split {split!r}")
    if kind == "renders":
        renders = dataset.renders(split)
        captions = dataset.captions(split) if dataset.has("captions", split) else {}
        return [Tile([renders.image(i)], _first_text(captions.get(str(renders.pose_ids[i]))))
                for i in _pick(len(renders.ids), n, seed)]
    if kind == "pairs":
        pairs = dataset.render_pairs(split)
        instructions = dataset.instructions(split) if dataset.has("instructions", split) else {}
        return [Tile([dataset.listed_image(pairs[i].image_a), dataset.listed_image(pairs[i].image_b)],
                     "A | B: " + _first_text(instructions.get(pairs[i].pair_id)))
                for i in _pick(len(pairs), n, seed)]
    items = dataset.rpe(split)
    return [Tile([dataset.listed_image(items[i].image)], items[i].question, [tuple(b) for b in items[i].boxes], items[i].target)
            for i in _pick(len(items), n, seed)]


def dataset_sheet(dataset: Dataset, kind: str, split: str = "test", n: int = 32, seed: int = 0,
                  columns: int | None = None) -> Image.Image:
    """A contact sheet of ``n`` items of one image component of ``dataset`` (see module docstring)."""
    tiles = dataset_tiles(dataset, kind, split, n, seed)
    title = f"{dataset.name} {dataset.version} · {split} · {kind} · {len(tiles)} items (seed {seed})"
    return compose_sheet(tiles, columns=columns, title=title)
