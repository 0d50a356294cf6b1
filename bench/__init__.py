"""PoseBench: an evaluation suite for models that connect 3D human pose, language and images."""

__version__ = "0.1.0"
