"""The synth text pipelines: posecodes and captions (PoseScript), paircodes and instructions
(PoseFix), and implicit situation descriptions (spg).

``posecode_joints`` / ``posecode_operators`` / ``posecode_defs`` / ``posecodes`` measure and bin a
pose's geometry; ``paircodes`` does the same for the change from pose A to pose B. The shared text
machinery is ``posecode_aggregation`` (grouping and ordering codes), ``posecode_render`` (surface
realisation), ``posecode_ripple`` (ripple effects) and the template tables
(``posecode_templates``, ``posecode_pair_templates``, ``posecode_activities``). ``captions`` and
``instructions`` are the two pipelines' entry points; ``spg`` holds the implicit descriptions.
"""
