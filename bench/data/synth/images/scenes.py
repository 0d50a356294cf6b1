"""Multi-person scenes for the rpe task (reasoning-based pose estimation).

A scene stands 2-4 mannequins side by side on one floor, at different depths, each turned a little
towards the camera, each in its own top colour. One of them is the target, and the question refers
to it by something visible that no one else in the scene shares:

- ``position``: its place in the left-to-right order of the image ("the person on the far left",
  "the second person from the right");
- ``top`` / ``bottoms``: a named clothing colour ("the person wearing the red top", "the person in
  blue shorts"), only when no one else wears that colour on that garment;
- ``activity``: what it is doing, from its archetype ("the person kneeling upright on both knees"),
  only when no one else's archetype is in the same family (so the difference is visible);
- ``depth``: "the person closest to / farthest from the camera", only with a clear depth gap.

:func:`referents` evaluates a reference against a scene's people, so uniqueness is checked, not
assumed. Boxes are pixel boxes ``(x0, y0, x1, y1)`` of each figure's visible pixels (``x1``, ``y1``
exclusive); poses are camera-frame poses (see :func:`render.camera_frame_pose`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from bench.data.synth.images.appearance import NAMED_COLOURS, sample_clothing, sample_light
from bench.data.synth.images.backdrop import sample_backdrop
from bench.data.synth.images.camera import Camera, frame_on_primitives
from bench.data.synth.images.figure import Clothing, layout_figures, posed_skeleton
from bench.data.synth.images.primitives import sphere_bounds
from bench.data.synth.images.render import Style, camera_frame_pose, render_figures
from bench.errors import InternalError, UserError
from bench.fixed_order import matvec

logger = logging.getLogger(__name__)

MIN_PEOPLE, MAX_PEOPLE = 2, 4
_MIN_PIXELS = 120  # each person must show at least this many pixels
_MIN_SIDE_PX = 28  # and a box at least this long
_DEPTH_GAP_M = 0.6  # nearest/farthest must be this much nearer/farther than the next person
_ATTEMPTS = 40
_ORDINALS = ("far left", "second from the left", "second from the right", "far right")
_QUESTIONS = (
    "What is the pose of the person {ref}?",
    "Estimate the 3D body pose of the person {ref}.",
    "Can you give the 3D pose of the person {ref}?",
    "Show me the pose of the person {ref}.",
    "Describe the body pose of the person {ref} as SMPL parameters.",
)


@dataclass
class Person:
    """What can be said about one person in a scene: ``order`` (0 = leftmost in the image),
    ``top``/``bottoms`` colour names, ``legs`` ("long" trousers or "short" shorts), ``archetype``
    and its ``family``, and ``depth_m`` (pelvis depth in the camera frame)."""

    order: int
    top: str
    bottoms: str
    legs: str
    archetype: str
    family: str
    depth_m: float


@dataclass
class RpeScene:
    """One rpe item: ``image`` uint8 (224, 224, 3); ``boxes`` float32 (P, 4) pixels; ``poses_camera``
    float32 (P, 22, 3) and ``pelvis_camera`` float32 (P, 3) metres, each person's pose and pelvis
    position in the camera frame (in input order); ``target`` index into them; ``question``;
    ``reference`` (kind, value); ``people`` the attributes the reference was checked against;
    ``camera`` the framed camera."""

    image: np.ndarray
    boxes: np.ndarray
    poses_camera: np.ndarray
    pelvis_camera: np.ndarray
    target: int
    question: str
    reference: tuple[str, str]
    people: list[Person]
    camera: Camera


def _family(archetype: str) -> str:
    from bench.data.synth.poses.archetypes import ARCHETYPES

    return ARCHETYPES[archetype].group if archetype in ARCHETYPES else archetype


# Archetypes whose description does not start with a usable clause.
_ACTIVITY_OVERRIDES = {
    "touching_toes": "folded forward over straight legs",
    "jumping_jack": "doing a jumping jack",
    "swinging_bat": "in a batting stance",
    "push_up_low": "at the bottom of a push-up",
    "golf_swing": "swinging a golf club",
    "running": "running mid-stride",
}
_FUNCTION_WORDS = {"a", "an", "the", "up", "down", "one", "both", "on", "in", "to", "and", "with"}


def activity_phrase(archetype: str) -> str:
    """How a question names an archetype after "the person ...", from the start of its description:
    a gerund clause as written ("kneeling upright on both knees", "celebrating a victory"), a noun
    phrase with "in a" ("in a deep squat", "in a T-pose"); unknown names are spelled out."""
    from bench.data.synth.poses.archetypes import ARCHETYPES

    if archetype in _ACTIVITY_OVERRIDES:
        return _ACTIVITY_OVERRIDES[archetype]
    if archetype not in ARCHETYPES:
        return "doing " + archetype.replace("_", " ")
    text = ARCHETYPES[archetype].description.rstrip(".")
    head, colon, _ = text.partition(":")
    clause = head if colon else text.split(",")[0]
    words = clause.split()
    gerund = words[0].lower().endswith("ing") and (
        not colon or len(words) == 1 or words[1].lower() in _FUNCTION_WORDS)
    if gerund:
        return clause[0].lower() + clause[1:]
    noun = clause if colon else clause.split(" with ")[0]
    noun = noun[0].lower() + noun[1:] if noun[1:2].islower() else noun  # keep "T-pose", "A-pose"
    return f"in {'an' if noun[0].lower() in 'aeiou' else 'a'} {noun}"


def referents(people: list[Person], kind: str, value: str) -> list[int]:
    """Indices of the people a reference ``(kind, value)`` picks out."""
    if kind == "position":
        return [i for i, p in enumerate(people) if _position_name(p.order, len(people)) == value]
    if kind == "top":
        return [i for i, p in enumerate(people) if p.top == value]
    if kind == "bottoms":
        return [i for i, p in enumerate(people) if f"{p.bottoms} {_bottoms_word(p.legs)}" == value]
    if kind == "activity":
        return [i for i, p in enumerate(people) if p.family == value]
    if kind == "depth":
        depths = np.array([p.depth_m for p in people])
        ranked = np.argsort(depths, kind="stable")
        if value == "closest" and depths[ranked[1]] - depths[ranked[0]] >= _DEPTH_GAP_M:
            return [int(ranked[0])]
        if value == "farthest" and depths[ranked[-1]] - depths[ranked[-2]] >= _DEPTH_GAP_M:
            return [int(ranked[-1])]
        return []
    raise InternalError(f"unknown reference kind {kind!r}", field="kind")


def _position_name(order: int, count: int) -> str:
    if count == 2:
        return ("left", "right")[order]
    if count == 3:
        return ("far left", "middle", "far right")[order]
    return _ORDINALS[order]


def _bottoms_word(legs: str) -> str:
    return "trousers" if legs == "long" else "shorts"


def _phrase(kind: str, value: str, person: Person) -> str:
    if kind == "position":
        if value in ("left", "right", "far left", "far right"):
            return f"on the {value}"
        return "in the middle" if value == "middle" else value
    if kind == "top":
        return f"wearing the {value} top"
    if kind == "bottoms":
        return f"in {value}"
    if kind == "activity":
        return activity_phrase(person.archetype)
    return f"{value} to the camera" if value == "closest" else f"{value} from the camera"


def candidate_references(people: list[Person], target: int) -> list[tuple[str, str]]:
    """Every reference that picks out exactly the target."""
    person = people[target]
    options = [
        ("position", _position_name(person.order, len(people))),
        ("top", person.top),
        ("bottoms", f"{person.bottoms} {_bottoms_word(person.legs)}"),
        ("activity", _family(person.archetype)),
        ("depth", "closest"),
        ("depth", "farthest"),
    ]
    return [(kind, value) for kind, value in options if referents(people, kind, value) == [target]]


def make_rpe_scene(poses: np.ndarray, archetypes: list[str], rng: np.random.Generator) -> RpeScene:
    """Render a scene of P = 2..4 people and ask about one of them.

    poses: float32 (P, 22, 3) axis-angle, body frame (heading-normalised poses are turned by a
    random yaw each); archetypes: P archetype names (for activity references). Raises
    InternalError if no clean layout (every person visible, boxes apart left to right) is found.
    """
    poses = np.asarray(poses, np.float32)
    count = len(poses)
    if poses.ndim != 3 or poses.shape[1:] != (22, 3) or not MIN_PEOPLE <= count <= MAX_PEOPLE:
        raise UserError(f"expected poses of shape (P, 22, 3) with {MIN_PEOPLE} <= P <= {MAX_PEOPLE}, "
                        f"got {poses.shape}", field="poses")
    if len(archetypes) != count:
        raise UserError(f"{count} poses but {len(archetypes)} archetypes", field="archetypes")
    for attempt in range(_ATTEMPTS):
        scene = _try_scene(poses, list(archetypes), rng)
        if scene is not None:
            if attempt:
                logger.debug("rpe scene of %s laid out after %d rejected layouts", archetypes, attempt)
            return scene
    raise InternalError(f"no clean rpe layout found in {_ATTEMPTS} attempts", field="poses")


def _try_scene(poses: np.ndarray, archetypes: list[str], rng: np.random.Generator) -> RpeScene | None:
    """One attempt: a random layout, camera and look; None if the people would overlap or be tiny."""
    from bench.body import rotate_heading

    count = len(poses)
    turned = np.asarray(rotate_heading(poses, rng.uniform(-np.pi / 3.5, np.pi / 3.5, count).astype(np.float32)),
                        np.float32)
    positions = _floor_positions(turned, rng)
    camera = Camera(
        azimuth_deg=float(rng.uniform(-15.0, 15.0)),
        elevation_deg=float(rng.uniform(0.0, 30.0)),
        roll_deg=float(np.clip(rng.normal(0.0, 2.0), -5.0, 5.0)),
        fov_deg=float(rng.uniform(40.0, 60.0)),
        fill=float(rng.uniform(0.85, 0.95)),
        offset_x=float(rng.uniform(-0.3, 0.3)),
        offset_y=float(rng.uniform(-0.3, 0.3)),
    )
    # Check the layout on conservative boxes (bounding spheres) before paying for a render.
    layout = layout_figures(turned, positions)
    framed = frame_on_primitives(camera, layout.geometry, layout.floor_y)
    rot, trans = framed.rotation(), framed.translation()
    bounds = []
    for p in range(count):
        centres, radii = layout.geometry.owned_by(p).bounding_spheres()
        bounds.append(sphere_bounds(matvec(rot.astype(np.float64), centres) + trans, radii) * framed.focal_px)
    bounds = np.array(bounds)
    order = np.argsort(bounds[:, 0], kind="stable")
    if np.any(bounds[order[:-1], 2] > bounds[order[1:], 0]):
        return None

    tops = [str(c) for c in rng.choice(list(NAMED_COLOURS), count, replace=False)]
    bottoms = [str(rng.choice([c for c in NAMED_COLOURS if c != top])) for top in tops]
    clothing: list[Clothing] = [sample_clothing(rng, top=NAMED_COLOURS[t], trousers=NAMED_COLOURS[b])
                                for t, b in zip(tops, bottoms)]
    style = Style(clothing=clothing[0], light=sample_light(rng), backdrop=sample_backdrop(rng))
    rendered = render_figures(turned, clothing, framed, style, positions)
    boxes = np.zeros((count, 4), np.float32)
    for p in range(count):
        rows, cols = np.nonzero(rendered.owner == p)
        if len(rows) < _MIN_PIXELS or max(rows.max() + 1 - rows.min(), cols.max() + 1 - cols.min()) < _MIN_SIDE_PX:
            return None
        boxes[p] = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    order = np.argsort(boxes[:, 0], kind="stable")
    rank = np.empty(count, np.int64)
    rank[order] = np.arange(count)
    pelvis = (matvec(rot.astype(np.float64), rendered.translations.astype(np.float64)) + trans).astype(np.float32)
    people = [Person(order=int(rank[p]), top=tops[p], bottoms=bottoms[p], legs=clothing[p].legs,
                     archetype=archetypes[p], family=_family(archetypes[p]), depth_m=float(pelvis[p, 2]))
              for p in range(count)]
    target = int(rng.integers(count))
    options = candidate_references(people, target)
    kinds = sorted({kind for kind, _ in options})
    kind = kinds[int(rng.integers(len(kinds)))]  # pick a kind first, so rare kinds still show up
    choices = [o for o in options if o[0] == kind]
    reference = choices[int(rng.integers(len(choices)))]
    question = _QUESTIONS[int(rng.integers(len(_QUESTIONS)))].format(ref=_phrase(*reference, people[target]))
    poses_camera = np.stack([camera_frame_pose(turned[p], framed) for p in range(count)])
    return RpeScene(image=rendered.image, boxes=boxes, poses_camera=poses_camera, pelvis_camera=pelvis, target=target,
                    question=question, reference=reference, people=people, camera=framed)


def _floor_positions(poses: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Floor positions float32 (P, 2) ``(x, z)`` metres: side by side in a random left-to-right
    order with 0.15-0.5 m between the figures' extents, at depths within +-0.9 m."""
    joints, _ = posed_skeleton(poses)
    half_width = np.abs(joints[:, :, 0]).max(axis=1) + 0.15  # the pelvis is at x = 0
    order = rng.permutation(len(poses))
    x = np.zeros(len(poses), np.float32)
    cursor = 0.0
    for rank, p in enumerate(order):
        if rank:
            cursor += half_width[order[rank - 1]] + rng.uniform(0.15, 0.5) + half_width[p]
        x[p] = cursor
    x -= (x.min() + x.max()) / 2
    z = rng.uniform(-0.9, 0.9, len(poses)).astype(np.float32)
    return np.stack([x, z], axis=1).astype(np.float32)
