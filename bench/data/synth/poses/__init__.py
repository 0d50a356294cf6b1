"""The synth pose generator: the archetype library and the anatomical angles it is written in.

``archetypes_spec`` is the little language an archetype is written in and ``archetypes`` collects
the library (``archetypes_upright`` / ``archetypes_floor`` / ``archetypes_action``); ``limits``
converts anatomical joint angles to axis-angle and checks them against ranges of motion;
``generator`` draws pose sequences from the archetypes, runs the rejection checks and holds the
seeded-generator helpers (``derive_rng``, ``torch_threads``) every build stage uses.
"""
