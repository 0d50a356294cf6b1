"""Tests of bench.body: rotations, joints, kinematics, pose transforms, body-model backends."""
