"""Caption templates per (template family, interpretation), after PoseScript's one- and two-part
templates (docs/peers.md#posescript-posecode-selection-and-text).

Each entry has ``one``-component templates (no second body part: ``{s}`` only) and ``two``-component
templates (``{s}`` and ``{o}``). :data:`IMPLICIT_OBJECT` holds the "flow omission" variants where
the second part is implicit (torso for a hand in front/behind, shoulder for a hand crossing over or
held out, neck for a raised hand); for left/right relations to the same side's shoulder or hip the
interpretation is "across" or "outward" and ``{dir}`` names the direction. Placeholders are described
in :mod:`bench.data.synth.text.posecode_render`.
"""

from __future__ import annotations

T = dict[str, tuple[str, ...]]


def _t(one: tuple[str, ...] = (), two: tuple[str, ...] = ()) -> T:
    return {"one": one, "two": two}


CAPTION_TEMPLATES: dict[tuple[str, str], T] = {
    # angles (knees, elbows)
    ("angle", "completely bent"): _t(("{s} {be} completely bent", "{s} {be} fully bent", "{s} {be} folded tightly")),
    ("angle", "bent more"): _t(("{s} {be} sharply bent", "{s} {be} bent at an acute angle", "{s} {be} bent a lot",
                                 "{s} {be} strongly bent")),
    ("angle", "right angle"): _t(("{s} {be} bent at a right angle", "{s} {v:form} a right angle",
                                   "{s} {be} bent at 90 degrees", "{s} {be} at a right angle")),
    ("angle", "bent less"): _t(("{s} {be} partially bent", "{s} {be} bent at an obtuse angle",
                                 "{s} {be} half bent", "{s} {be} somewhat bent")),
    ("angle", "slightly bent"): _t(("{s} {be} slightly bent", "{s} {be} a little bent", "{s} {be} almost straight",
                                     "{s} {be} bent a bit")),
    ("angle", "straight"): _t(("{s} {be} straight", "{s} {be} extended", "{s} {be} unbent", "{s} {be} fully extended")),
    # distances
    ("distance", "close"): _t(("{s} {be} close together", "{s} {be} close to each other", "{s} {be} near each other",
                                "{s} {be} together"),
                               ("{s} {be} close to {o}", "{s} {be} near {o}", "{s} {be} right next to {o}",
                                "{s} {be} very close to {o}")),
    ("distance", "shoulder width"): _t(("{s} {be} shoulder width apart", "{s} {be} about shoulder width apart",
                                         "{s} {be} apart at shoulder width"),
                                        ("{s} {be} shoulder width apart from {o}",)),
    ("distance", "spread"): _t(("{s} {be} spread apart", "{s} {be} apart", "{s} {be} held apart"),
                                ("{s} {be} apart from {o}", "{s} {be} spread apart from {o}")),
    ("distance", "wide"): _t(("{s} {be} wide apart", "{s} {be} spread wide", "{s} {be} far apart",
                               "{s} {be} very far from each other"),
                              ("{s} {be} wide apart from {o}", "{s} {be} far from {o}")),
    # relative positions
    ("relposX", "at_left"): _t(two=("{s} {be} to the left of {o}", "{s} {be} on the left of {o}",
                                    "{s} {be} further left than {o}")),
    ("relposX", "at_right"): _t(two=("{s} {be} to the right of {o}", "{s} {be} on the right of {o}",
                                     "{s} {be} further right than {o}")),
    ("relposY", "above"): _t(two=("{s} {be} above {o}", "{s} {be} higher than {o}", "{s} {be} raised above {o}",
                                  "{s} {be} over {o}")),
    ("relposY", "below"): _t(two=("{s} {be} below {o}", "{s} {be} lower than {o}", "{s} {be} beneath {o}")),
    ("relposY", "y-aligned"): _t(two=("{s} {be} at the same height as {o}", "{s} {be} level with {o}",
                                      "{s} {be} at the height of {o}")),
    ("relposZ", "front"): _t(two=("{s} {be} in front of {o}", "{s} {be} ahead of {o}",
                                  "{s} {be} further forward than {o}")),
    ("relposZ", "behind"): _t(two=("{s} {be} behind {o}", "{s} {be} further back than {o}",
                                   "{s} {be} at the back of {o}")),
    # segment orientation
    ("vaxis", "vertical"): _t(("{s} {be} vertical", "{s} {be} perpendicular to the ground",
                               "{s} {be} in a vertical position")),
    ("vaxis", "horizontal"): _t(("{s} {be} horizontal", "{s} {be} parallel to the ground",
                                 "{s} {be} in a horizontal position", "{s} {be} level with the ground")),
    # ground contact
    ("onground", "on_ground"): _t(("{s} {be} on the ground", "{s} {v:touch} the ground", "{s} {v:rest} on the floor",
                                   "{s} {be} placed on the ground")),
    # whole-body facing direction and incline
    ("facing", "facing up"): _t(("{s} {be} facing up", "{s} {be} facing the sky", "{s} {have} the chest turned upward")),
    ("facing", "facing down"): _t(("{s} {be} facing down", "{s} {be} facing the ground",
                                   "{s} {have} the chest turned toward the floor")),
    ("inclineX", "forward"): _t(("{s} {be} bent forward", "{s} {v:lean} far forward", "{s} {be} bending forward a lot")),
    ("inclineX", "forward slightly"): _t(("{s} {v:lean} slightly forward", "{s} {be} bent a bit forward",
                                          "{s} {be} tilted slightly forward")),
    ("inclineX", "backward slightly"): _t(("{s} {v:lean} slightly backward", "{s} {be} tilted a bit backward",
                                           "{s} {be} leaning back a little")),
    ("inclineX", "backward"): _t(("{s} {be} bent backward", "{s} {v:lean} far back", "{s} {be} arched backward")),
    ("inclineY", "twist left"): _t(("{s} {be} twisted to the left", "{s} {v:twist} to the left",
                                    "{s} {have} the shoulders turned to the left")),
    ("inclineY", "twist left slightly"): _t(("{s} {be} slightly twisted to the left", "{s} {v:twist} a bit to the left")),
    ("inclineY", "twist right slightly"): _t(("{s} {be} slightly twisted to the right",
                                              "{s} {v:twist} a bit to the right")),
    ("inclineY", "twist right"): _t(("{s} {be} twisted to the right", "{s} {v:twist} to the right",
                                     "{s} {have} the shoulders turned to the right")),
    ("inclineZ", "lean left"): _t(("{s} {v:lean} to the left", "{s} {be} bent to the left side",
                                   "{s} {be} tilted to the left")),
    ("inclineZ", "lean left slightly"): _t(("{s} {v:lean} slightly to the left", "{s} {be} tilted a bit to the left")),
    ("inclineZ", "lean right slightly"): _t(("{s} {v:lean} slightly to the right",
                                             "{s} {be} tilted a bit to the right")),
    ("inclineZ", "lean right"): _t(("{s} {v:lean} to the right", "{s} {be} bent to the right side",
                                    "{s} {be} tilted to the right")),
    # super-posecodes without an operator of their own
    ("super", "kneeling"): _t(("{s} {be} kneeling", "{s} {v:kneel} on both knees", "{s} {be} kneeling on the ground")),
    ("super", "kneel on left"): _t(("{s} {be} kneeling on the left knee", "{s} {v:kneel} on the left knee",
                                    "{s} {have} the left knee down on the ground")),
    ("super", "kneel on right"): _t(("{s} {be} kneeling on the right knee", "{s} {v:kneel} on the right knee",
                                     "{s} {have} the right knee down on the ground")),
}

#: (family, interpretation, second part) → templates where the second part goes unsaid.
IMPLICIT_OBJECT: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("relposZ", "behind", "torso"): ("{s} {be} behind the back", "{s} {be} behind the body", "{s} {be} held back"),
    ("relposZ", "front", "torso"): ("{s} {be} in front of the body", "{s} {be} forward", "{s} {be} held forward"),
    # left/right of the same side's shoulder or hip: "across" the body's midline, or "outward"
    ("relposX", "across", "shoulder"): ("{s} {be} across the body, to the {dir}", "{s} {v:cross} over to the {dir}"),
    ("relposX", "outward", "shoulder"): ("{s} {be} out to the {dir} side", "{s} {be} held out to the {dir}"),
    ("relposX", "across", "hip"): ("{s} {be} crossed over to the {dir}", "{s} {be} placed across to the {dir}"),
    ("relposX", "outward", "hip"): ("{s} {be} out to the {dir} side", "{s} {be} placed out to the {dir}"),
    ("relposY", "above", "neck"): ("{s} {be} raised high", "{s} {be} up in the air", "{s} {be} raised above the shoulders",
                                   "{s} {be} lifted high"),
    ("relposY", "y-aligned", "shoulder"): ("{s} {be} at shoulder height", "{s} {be} at shoulder level"),
}

#: Subjects standing for the whole body, by determiner style, at a sentence start and mid-sentence.
BODY_SUBJECTS: dict[str, dict[str, tuple[str, ...]]] = {
    "neutral": {"start": ("Someone", "The person", "This person", "A person", "The figure", "The body",
                          "The subject", "The human", "They"),
                "mid": ("the body", "the figure", "the person")},
    "his": {"start": ("The man", "He", "This man", "A man"), "mid": ("the man", "he")},
    "her": {"start": ("The woman", "She", "This woman", "A woman"), "mid": ("the woman", "she")},
}

#: Sentences naming the activity; ``{a}`` is an activity phrase in the gerund ("doing a lunge").
ACTIVITY_SENTENCES: tuple[str, ...] = ("{s} {be} {a}.", "{s} {v:seem} to be {a}.", "{s} {v:appear} to be {a}.",
                                       "{s} {be} in the middle of {a}.")
