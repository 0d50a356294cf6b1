"""Random looks for the synth renders: clothing colours, lighting and backdrop.

Colours are RGB float triples in [0, 1]. Clothing never codes left versus right: both sides of a
figure always share one colour per garment. :data:`NAMED_COLOURS` is the small palette of
unambiguous colour names used where a text refers to a colour (the rpe scenes' questions).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np

from bench.data.synth.images.backdrop import Backdrop, sample_backdrop
from bench.data.synth.images.figure import HAIRSTYLES, LEGS, SLEEVES, Clothing

Colour = tuple[float, float, float]

SKIN_TONES: tuple[Colour, ...] = (
    (0.96, 0.80, 0.69), (0.92, 0.72, 0.60), (0.85, 0.64, 0.50), (0.76, 0.56, 0.41),
    (0.62, 0.44, 0.31), (0.47, 0.32, 0.22), (0.35, 0.23, 0.16),
)
HAIR_COLOURS: tuple[Colour, ...] = (
    (0.07, 0.06, 0.05), (0.20, 0.13, 0.08), (0.38, 0.25, 0.14), (0.78, 0.64, 0.40),
    (0.52, 0.22, 0.10), (0.62, 0.62, 0.60),
)
SHOE_COLOURS: tuple[Colour, ...] = ((0.08, 0.08, 0.08), (0.90, 0.90, 0.88), (0.36, 0.22, 0.12), (0.45, 0.45, 0.47))
TROUSER_COLOURS: tuple[Colour, ...] = (
    (0.18, 0.27, 0.48), (0.10, 0.10, 0.12), (0.42, 0.42, 0.44), (0.68, 0.60, 0.44), (0.12, 0.15, 0.30),
)

#: Colour names a question may use, with the colour they stand for; distinct under any lighting.
NAMED_COLOURS: dict[str, Colour] = {
    "red": (0.80, 0.10, 0.10),
    "blue": (0.12, 0.28, 0.82),
    "green": (0.12, 0.58, 0.18),
    "yellow": (0.96, 0.84, 0.12),
    "white": (0.94, 0.94, 0.94),
    "black": (0.08, 0.08, 0.08),
    "purple": (0.48, 0.18, 0.66),
    "orange": (0.96, 0.48, 0.08),
}


@dataclass(frozen=True)
class Light:
    """A directional light plus ambient: ``direction`` world-frame unit vector towards the light;
    ``intensity`` of the direct term, ``ambient`` of the hemispheric fill; ``tint`` RGB gains."""

    direction: Colour
    intensity: float
    ambient: float
    tint: Colour = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Style:
    """Everything about a render's look except the camera: the outfit of the (first) figure, the
    light and the backdrop."""

    clothing: Clothing
    light: Light
    backdrop: Backdrop


def _jitter(rng: np.random.Generator, colour: Colour, amount: float) -> Colour:
    return tuple(float(np.clip(c + rng.uniform(-amount, amount), 0.0, 1.0)) for c in colour)


def _pick(rng: np.random.Generator, options: tuple[Colour, ...]) -> Colour:
    return options[int(rng.integers(len(options)))]


def random_garment_colour(rng: np.random.Generator) -> Colour:
    """Any garment colour: a random hue, saturation 0.15..0.9, value 0.25..0.95."""
    h, s, v = rng.uniform(0.0, 1.0), rng.uniform(0.15, 0.9), rng.uniform(0.25, 0.95)
    return tuple(float(c) for c in colorsys.hsv_to_rgb(h, s, v))


def sample_clothing(rng: np.random.Generator, top: Colour | None = None, trousers: Colour | None = None
                    ) -> Clothing:
    """A random outfit; ``top`` / ``trousers`` fix those colours (e.g. a named colour)."""
    if top is None:
        top = random_garment_colour(rng)
    if trousers is None:
        trousers = _jitter(rng, _pick(rng, TROUSER_COLOURS), 0.04) if rng.random() < 0.6 else \
            random_garment_colour(rng)
    return Clothing(
        skin=_jitter(rng, _pick(rng, SKIN_TONES), 0.03),
        hair_colour=_jitter(rng, _pick(rng, HAIR_COLOURS), 0.03),
        top=top,
        trousers=trousers,
        shoes=_jitter(rng, _pick(rng, SHOE_COLOURS), 0.03),
        sleeves=str(rng.choice(SLEEVES, p=[0.5, 0.35, 0.15])),
        legs=str(rng.choice(LEGS, p=[0.75, 0.25])),
        hair=str(rng.choice(HAIRSTYLES, p=[0.55, 0.35, 0.10])),
    )


def sample_light(rng: np.random.Generator) -> Light:
    """Light from a random azimuth, 25..75 deg above the horizon, with a slight warm/cool tint."""
    azimuth = rng.uniform(0.0, 2.0 * np.pi)
    elevation = np.radians(rng.uniform(25.0, 75.0))
    direction = (np.cos(elevation) * np.sin(azimuth), np.sin(elevation), np.cos(elevation) * np.cos(azimuth))
    warm = rng.uniform(-0.07, 0.07)
    return Light(
        direction=tuple(float(x) for x in direction),
        intensity=float(rng.uniform(0.55, 0.9)),
        ambient=float(rng.uniform(0.3, 0.5)),
        tint=(1.0 + warm, 1.0, 1.0 - warm),
    )


def sample_style(rng: np.random.Generator) -> Style:
    """A random look: outfit, light and backdrop (each drawn from ``rng`` in that order)."""
    return Style(clothing=sample_clothing(rng), light=sample_light(rng), backdrop=sample_backdrop(rng))


def mirror_style(style: Style) -> Style:
    """The style mirrored through the world's x = 0 plane: light and backdrop textures flipped."""
    x, y, z = style.light.direction
    return replace(style, light=replace(style.light, direction=(-x, y, z)),
                   backdrop=replace(style.backdrop, mirror=not style.backdrop.mirror))
