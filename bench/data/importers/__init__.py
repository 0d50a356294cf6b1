"""Importers of licensed dataset releases into PoseBench's dataset schema (architecture §3).

- :mod:`.posescript`: PoseScript V0/V1/V2 poses + captions (AMASS frames, via :mod:`.amass`);
- :mod:`.posefix`: PoseFix pose pairs + instructions;
- :mod:`.threedpw`: 3DPW person crops + camera-frame poses (pickles read by :mod:`.safe_pickle`);
- :mod:`.frames`: every frame conversion the importers do (AMASS z-up → y-up, camera frame);
- :mod:`.pipeline`: the entry points used by ``bench data import`` (import them from there).
"""
