"""What each archetype's activity is called, for the leading sentence of some captions ("The person
is doing a lunge.", in place of PoseScript's sentence naming the frame's BABEL action,
docs/peers.md#posescript-posecode-selection-and-text).

Phrases are gerund phrases that follow "is" / "seems to be". An archetype without its own entry
falls back to its group's phrases (logged once), so a newly added archetype never breaks a build.
"""

from __future__ import annotations

import functools
import logging

logger = logging.getLogger(__name__)

ACTIVITY_PHRASES: dict[str, tuple[str, ...]] = {
    "sitting_chair": ("sitting on a chair", "sitting upright on a seat"),
    "sitting_chair_legs_crossed": ("sitting with crossed legs", "sitting on a chair with one leg over the other"),
    "sitting_floor": ("sitting on the floor", "sitting on the ground with the legs out"),
    "sitting_cross_legged": ("sitting cross-legged", "sitting on the floor with crossed legs"),
    "kneeling": ("kneeling", "kneeling upright"),
    "kneeling_one_knee": ("kneeling on one knee", "going down on one knee"),
    "kneeling_sitting_on_heels": ("sitting on their heels", "kneeling back on the heels"),
    "kneeling_praying": ("praying on their knees", "kneeling in prayer"),
    "squatting": ("squatting", "doing a deep squat"),
    "lunging": ("doing a lunge", "lunging forward"),
    "lunging_side": ("doing a side lunge", "lunging to the side"),
    "lying_on_back": ("lying on their back", "lying down face up"),
    "lying_on_back_knees_up": ("lying on their back with the knees up", "resting on their back"),
    "lying_on_back_arms_overhead": ("lying stretched out", "stretching out on their back"),
    "lying_on_side": ("lying on their side", "sleeping on one side"),
    "lying_on_front": ("lying face down", "lying on their stomach"),
    "crawling": ("crawling", "crawling on all fours"),
    "plank": ("holding a plank", "doing a plank"),
    "push_up_low": ("doing a push-up", "doing push-ups"),
    "yoga_downward_dog": ("doing the downward dog", "doing yoga"),
    "stand_relaxed": ("standing", "standing still"),
    "stand_attention": ("standing to attention", "standing at attention"),
    "stand_weight_shift": ("standing at ease", "resting on one leg"),
    "stand_looking_around": ("looking around", "looking to one side"),
    "stand_hands_on_hips": ("standing with the hands on the hips", "standing akimbo"),
    "stand_arms_crossed": ("standing with folded arms", "crossing their arms"),
    "stand_hands_behind_back": ("standing with the hands behind the back", "waiting patiently"),
    "stand_hands_behind_head": ("standing with the hands behind the head", "relaxing with the hands behind the head"),
    "t_pose": ("doing a T-pose", "holding a T-pose"),
    "a_pose": ("doing an A-pose", "holding an A-pose"),
    "stand_one_leg": ("balancing on one leg", "standing on one leg"),
    "phone_call": ("talking on the phone", "making a phone call"),
    "texting": ("texting", "looking at a phone"),
    "saluting": ("saluting", "giving a salute"),
    "pointing": ("pointing", "pointing at something"),
    "waving": ("waving", "waving hello"),
    "shrugging": ("shrugging", "shrugging the shoulders"),
    "clapping": ("clapping", "applauding"),
    "praying": ("praying", "holding the palms together"),
    "bowing": ("bowing", "taking a bow"),
    "carrying_box": ("carrying a box", "carrying something heavy"),
    "boxing_guard": ("boxing", "in a boxing stance"),
    "punching": ("throwing a punch", "punching"),
    "reaching_up": ("reaching up", "reaching for something high"),
    "reaching_forward": ("reaching forward", "reaching for something"),
    "reaching_side": ("reaching to the side", "reaching sideways"),
    "walking": ("walking", "taking a step"),
    "running": ("running", "jogging"),
    "bending_forward": ("bending forward", "bending over"),
    "touching_toes": ("touching their toes", "doing a forward fold"),
    "stretching_side": ("doing a side stretch", "stretching sideways"),
    "stretching_quad": ("stretching the thigh", "doing a quad stretch"),
    "kicking": ("kicking", "kicking a ball"),
    "throwing": ("throwing", "throwing a ball"),
    "swinging_bat": ("swinging a bat", "playing baseball"),
    "swinging_racket": ("swinging a racket", "playing tennis"),
    "golf_swing": ("swinging a golf club", "playing golf"),
    "celebrating": ("celebrating", "cheering"),
    "fist_pump": ("pumping a fist", "celebrating"),
    "dancing": ("dancing", "moving to music"),
    "dancing_disco": ("dancing disco", "doing a disco move"),
    "yoga_tree": ("doing the tree pose", "doing yoga"),
    "yoga_warrior_one": ("doing warrior one", "doing a yoga pose"),
    "yoga_warrior_two": ("doing warrior two", "doing a yoga pose"),
    "yoga_warrior_three": ("doing warrior three", "balancing in a yoga pose"),
    "jumping_tuck": ("doing a tuck jump", "jumping"),
    "jumping_jack": ("doing a jumping jack", "doing jumping jacks"),
    "jumping_leap": ("leaping", "jumping forward"),
    "diving": ("diving", "diving into water"),
    "climbing": ("climbing", "climbing a wall"),
    "handstand": ("doing a handstand", "standing on their hands"),
}

#: Fallback by archetype group.
GROUP_PHRASES: dict[str, tuple[str, ...]] = {
    "standing": ("standing",), "gesture": ("making a gesture", "gesturing"), "sport": ("doing sport", "exercising"),
    "reaching": ("reaching for something",), "locomotion": ("moving", "on the move"),
    "bending": ("bending",), "stretching": ("stretching",), "sitting": ("sitting",), "kneeling": ("kneeling",),
    "squatting": ("squatting",), "lunging": ("doing a lunge",), "lying": ("lying down",),
    "crawling": ("crawling",), "exercise": ("exercising", "working out"), "yoga": ("doing yoga",),
    "dancing": ("dancing",), "celebrating": ("celebrating",), "jumping": ("jumping",), "diving": ("diving",),
    "climbing": ("climbing",), "gymnastics": ("doing gymnastics",),
}
_DEFAULT = ("striking a pose", "holding a pose")


@functools.cache
def activity_phrases(archetype: str) -> tuple[str, ...]:
    """Gerund phrases naming the activity of ``archetype`` (its group's, or a generic one, when it
    has no entry)."""
    if archetype in ACTIVITY_PHRASES:
        return ACTIVITY_PHRASES[archetype]
    group = archetype_group(archetype)
    logger.warning("no activity phrase for archetype %r; using its group %r", archetype, group)
    return GROUP_PHRASES.get(group or "", _DEFAULT)


def archetype_group(archetype: str) -> str | None:
    """The group of a registered archetype, or None for a name the archetype library does not know."""
    from bench.data.synth.poses.archetypes import ARCHETYPES

    found = ARCHETYPES.get(archetype)
    return None if found is None else found.group
