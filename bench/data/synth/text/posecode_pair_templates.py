"""Imperative templates for PoseFix-style instructions (docs/peers.md#posefix-instruction-pipeline).

``{s}`` is the body part being moved ("your left knee"); verbs are written ``{v:verb}`` and come out
in the imperative ("Bend your left knee more") or, after " while ", in the gerund ("while bending
your left knee more"). Placeholders are described in :mod:`bench.data.synth.text.posecode_render`.
"""

from __future__ import annotations

PAIR_TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("pair_angle", "bent much less"): ("{v:straighten} {s} a lot", "{v:bend} {s} much less", "{v:open} {s} much wider"),
    ("pair_angle", "bent less"): ("{v:straighten} {s}", "{v:bend} {s} less", "{v:open} {s} more"),
    ("pair_angle", "bent slightly less"): ("{v:straighten} {s} slightly", "{v:bend} {s} a bit less",
                                           "{v:open} {s} a little"),
    ("pair_angle", "bent slightly more"): ("{v:bend} {s} slightly more", "{v:bend} {s} a little more",
                                           "{v:flex} {s} a bit more"),
    ("pair_angle", "bent more"): ("{v:bend} {s} more", "{v:flex} {s} more", "{v:bend} {s} further"),
    ("pair_angle", "bent much more"): ("{v:bend} {s} a lot more", "{v:bend} {s} much more", "{v:fold} {s} tightly"),
    ("pair_posX", "more to left"): ("{v:move} {s} to the left", "{v:bring} {s} further to the left",
                                    "{v:shift} {s} to the left"),
    ("pair_posX", "slightly more to left"): ("{v:move} {s} slightly to the left", "{v:shift} {s} a bit to the left"),
    ("pair_posX", "slightly more to right"): ("{v:move} {s} slightly to the right",
                                              "{v:shift} {s} a bit to the right"),
    ("pair_posX", "more to right"): ("{v:move} {s} to the right", "{v:bring} {s} further to the right",
                                     "{v:shift} {s} to the right"),
    ("pair_posY", "higher"): ("{v:raise} {s}", "{v:move} {s} higher", "{v:lift} {s} up", "{v:bring} {s} up"),
    ("pair_posY", "slightly higher"): ("{v:raise} {s} slightly", "{v:move} {s} a bit higher", "{v:lift} {s} a little"),
    ("pair_posY", "slightly lower"): ("{v:lower} {s} slightly", "{v:move} {s} a bit lower", "{v:drop} {s} a little"),
    ("pair_posY", "lower"): ("{v:lower} {s}", "{v:move} {s} down", "{v:bring} {s} lower", "{v:drop} {s}"),
    ("pair_posZ", "more to front"): ("{v:move} {s} forward", "{v:bring} {s} to the front", "{v:push} {s} forward"),
    ("pair_posZ", "slightly more to front"): ("{v:move} {s} slightly forward", "{v:bring} {s} a bit forward"),
    ("pair_posZ", "slightly more to back"): ("{v:move} {s} slightly back", "{v:pull} {s} a bit backward"),
    ("pair_posZ", "more to back"): ("{v:move} {s} backward", "{v:pull} {s} back", "{v:bring} {s} further back"),
    ("pair_inclineX", "incline forward more"): ("{v:lean} {s} forward more", "{v:bend} {s} further forward",
                                                "{v:tilt} {s} forward"),
    ("pair_inclineX", "incline forward slightly more"): ("{v:lean} {s} slightly more forward",
                                                         "{v:tilt} {s} a bit forward"),
    ("pair_inclineX", "incline backward slightly more"): ("{v:lean} {s} slightly back", "{v:tilt} {s} a bit backward"),
    ("pair_inclineX", "incline backward more"): ("{v:lean} {s} back more", "{v:straighten} up {s}",
                                                 "{v:tilt} {s} backward"),
    ("pair_inclineY", "twist right more"): ("{v:twist} {s} to the right", "{v:rotate} {s} further to the right"),
    ("pair_inclineY", "twist right slightly more"): ("{v:twist} {s} slightly to the right",
                                                     "{v:rotate} {s} a bit to the right"),
    ("pair_inclineY", "twist left slightly more"): ("{v:twist} {s} slightly to the left",
                                                    "{v:rotate} {s} a bit to the left"),
    ("pair_inclineY", "twist left more"): ("{v:twist} {s} to the left", "{v:rotate} {s} further to the left"),
    ("pair_inclineZ", "lean left more"): ("{v:lean} {s} to the left", "{v:tilt} {s} further to the left"),
    ("pair_inclineZ", "lean left slightly more"): ("{v:lean} {s} slightly to the left",
                                                   "{v:tilt} {s} a bit to the left"),
    ("pair_inclineZ", "lean right slightly more"): ("{v:lean} {s} slightly to the right",
                                                    "{v:tilt} {s} a bit to the right"),
    ("pair_inclineZ", "lean right more"): ("{v:lean} {s} to the right", "{v:tilt} {s} further to the right"),
    # super-paircodes
    ("pair_super", "straighten"): ("{v:straighten} {s}", "{v:extend} {s}", "{v:stretch} out {s}",
                                   "{v:straighten} out {s}"),
    ("pair_super", "farther"): ("{v:move} {s} apart", "{v:spread} {s} wide", "{v:move} {s} away from each other"),
    ("pair_super", "slightly farther"): ("{v:move} {s} slightly apart", "{v:spread} {s} a little",
                                         "{v:separate} {s} a bit"),
    ("pair_super", "closer"): ("{v:bring} {s} together", "{v:move} {s} close to each other", "{v:join} {s}"),
    ("pair_super", "slightly closer"): ("{v:bring} {s} a bit closer together", "{v:move} {s} slightly closer"),
    ("pair_super_torso", "farther"): ("{v:move} {s} away from the body", "{v:hold} {s} out, away from the torso"),
    ("pair_super_torso", "slightly farther"): ("{v:move} {s} a bit away from the body",
                                               "{v:hold} {s} slightly further from the torso"),
    ("pair_super_torso", "closer"): ("{v:bring} {s} in against the body", "{v:tuck} {s} in close to the torso"),
    ("pair_super_torso", "slightly closer"): ("{v:bring} {s} a bit closer to the body",
                                              "{v:move} {s} slightly in towards the torso"),
}

#: Global rotation sentences per rotation bin; ``{them}`` is " them" when the determiner is "their".
ROTATION_SENTENCES: dict[str, tuple[str, ...]] = {
    "around": ("Turn{them} around.", "Rotate{them} 180 degrees.", "Turn{them} to face the other way."),
    "around_2": ("Turn{them} around.", "Rotate{them} 180 degrees.", "Turn{them} to face the other way."),
    "around to the right": ("Turn{them} most of the way around to the right.", "Rotate{them} about 135 degrees to the right."),
    "a quarter to the right": ("Turn{them} a quarter to the right.", "Rotate{them} 90 degrees to the right.",
                               "Make a quarter turn to the right."),
    "slightly to the right": ("Turn{them} slightly to the right.", "Rotate{them} a bit to the right."),
    "slightly to the left": ("Turn{them} slightly to the left.", "Rotate{them} a bit to the left."),
    "a quarter to the left": ("Turn{them} a quarter to the left.", "Rotate{them} 90 degrees to the left.",
                              "Make a quarter turn to the left."),
    "around to the left": ("Turn{them} most of the way around to the left.", "Rotate{them} about 135 degrees to the left."),
}

#: How the whole body is named as the object of an imperative verb ("Lean your upper body forward").
BODY_OBJECTS: tuple[str, ...] = ("{det} upper body", "{det} torso", "{det} trunk")
