"""Instruction templates of the UniPose reference model, per PoseBench task id (UniPose's own:
``docs/peers.md#unipose-instruction-templates``).

Placeholders: ``<caption>`` (a description, an instruction or a question), ``<pose>`` / ``<poseA>``
(the first pose), ``<poseB>`` (the second pose), ``<image>`` (an image; a second ``<image>`` is
image B). Pretraining (stages 1 and 2) uses the one template of :data:`PRETRAIN`; instruction
fine-tuning (stage 3) and inference draw from :data:`INSTRUCTIONS` (at least 20 per task, written
for PoseBench in the style of the paper's GPT-written lists). :data:`ANSWERS` is each task's output.
"""

from __future__ import annotations

import numpy as np

from bench.errors import InternalError

__all__ = ["PRETRAIN", "INSTRUCTIONS", "ANSWERS", "TASK_SLOTS", "template_for"]

ANSWERS: dict[str, str] = {
    "pose2text": "<caption>", "posediff": "<caption>", "image2text": "<caption>", "imagediff": "<caption>",
    "text2pose": "<pose>.", "image2pose": "<pose>.", "poseedit": "<poseB>.", "spg": "<pose>.", "rpe": "<pose>.",
}  # fmt: skip
"""Answer template per task: a text (captions are whole sentences) or the output pose span."""

TASK_SLOTS: dict[str, tuple[str, ...]] = {
    "pose2text": ("<pose>",), "posediff": ("<poseA>", "<poseB>"), "image2text": ("<image>",),
    "imagediff": ("<image>", "<image>"), "text2pose": ("<caption>",), "image2pose": ("<image>",),
    "poseedit": ("<poseA>", "<caption>"), "spg": ("<caption>",), "rpe": ("<caption>", "<image>"),
}  # fmt: skip
"""Placeholders every user template of a task holds, as many times as listed (checked by the tests)."""

PRETRAIN: dict[str, str] = {
    "pose2text": "Generate description of the pose <pose>.",
    "posediff": "Output the difference between pose <poseA> and pose <poseB>.",
    "image2text": "Generate description of the pose in the image: <image>.",
    "imagediff": "Output the difference between image <image> and <image>.",
    "text2pose": "Generate pose of the description: <caption>.",
    "image2pose": "Generate pose of the image: <image>.",
    "poseedit": "Edit pose <poseA> by description: <caption>.",
    "spg": "Generate the pose of this person: <caption>.",
    "rpe": "<caption> Generate pose of the person: <image>.",
}

INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "pose2text": (
        "Generate a description of the SMPL pose: <pose>.",
        "Describe the body pose <pose> in words.",
        "What does the pose <pose> look like? Describe it.",
        "Explain how the body is positioned in <pose>.",
        "Write a short description of this pose: <pose>.",
        "Could you describe the SMPL pose <pose> for me?",
        "Give a detailed account of the body posture <pose>.",
        "Tell me how the limbs are arranged in the pose <pose>.",
        "Provide a natural-language description of <pose>.",
        "Here is a 3D human pose: <pose>. Describe it.",
        "Summarise the position of the arms, legs and torso in <pose>.",
        "Put the pose <pose> into words.",
        "How would you describe the posture shown by <pose>?",
        "Describe what the person is doing with their body in <pose>.",
        "Caption the following SMPL body pose: <pose>.",
        "I have the pose <pose>. What does it look like?",
        "Describe the stance of the body given by <pose>.",
        "Write a caption for the 3D pose <pose>.",
        "Characterise the body configuration <pose>.",
        "Look at the pose <pose> and describe it.",
        "Translate the pose <pose> into a textual description.",
    ),
    "posediff": (
        "Analyze the SMPL poses <poseA> and <poseB> and explain the differences.",
        "How should pose <poseA> change to become pose <poseB>?",
        "Write the instruction that turns <poseA> into <poseB>.",
        "Describe how to move from the pose <poseA> to the pose <poseB>.",
        "What must the person in <poseA> do to end up in <poseB>?",
        "Give directions to go from pose <poseA> to pose <poseB>.",
        "Compare <poseA> with <poseB> and tell me what to modify.",
        "Starting from <poseA>, how do I reach <poseB>?",
        "Explain the changes between the source pose <poseA> and the target pose <poseB>.",
        "Instruct someone in pose <poseA> to take the pose <poseB>.",
        "List the adjustments that transform <poseA> into <poseB>.",
        "What is different in <poseB> compared with <poseA>?",
        "Tell me how to correct the pose <poseA> so that it matches <poseB>.",
        "Pose one is <poseA> and pose two is <poseB>. How do I get from one to two?",
        "Write a correction that changes <poseA> into <poseB>.",
        "Describe the movement needed to go from <poseA> to <poseB>.",
        "Given the initial pose <poseA> and the final pose <poseB>, explain the change.",
        "How does <poseA> need to be modified to obtain <poseB>?",
        "Explain, as an instruction, the difference between <poseA> and <poseB>.",
        "Give a coaching cue that brings <poseA> to <poseB>.",
        "Summarise what changes from <poseA> to <poseB>.",
    ),
    "image2text": (
        "Describe the pose of the individual in the image <image>.",
        "What pose is the person in <image> taking?",
        "Look at <image> and describe the body posture.",
        "Explain how the person in the image <image> is positioned.",
        "Write a description of the pose shown in <image>.",
        "Could you describe the stance of the person in <image>?",
        "Caption the body pose visible in the picture <image>.",
        "How are the arms and legs of the person in <image> arranged?",
        "Describe what the person in <image> is doing with their body.",
        "Here is a photo: <image>. Describe the pose of the person.",
        "Tell me about the posture of the figure in <image>.",
        "Put the pose of the person in <image> into words.",
        "Give a detailed description of the pose in the image <image>.",
        "What does the body of the person in <image> look like?",
        "Summarise the body configuration of the person in <image>.",
        "Provide a textual description of the human pose in <image>.",
        "Examine the image <image> and write a pose caption.",
        "Describe the posture you see in <image>.",
        "How is the person standing, sitting or moving in <image>?",
        "Characterise the pose of the individual pictured in <image>.",
        "Write a caption describing the body position in <image>.",
    ),
    "imagediff": (
        "Analyze the poses in <image> and <image> and describe the differences.",
        "How should the person in <image> move to match the person in <image>?",
        "Write the instruction that turns the pose in <image> into the pose in <image>.",
        "Compare the body posture in <image> with that in <image>.",
        "What must the person in the first image <image> change to look like the second image <image>?",
        "Describe how to go from the pose in <image> to the pose in <image>.",
        "Give directions to change the pose of <image> into the pose of <image>.",
        "Explain the pose differences between image <image> and image <image>.",
        "Starting from the pose in <image>, how do I reach the pose in <image>?",
        "List the adjustments that transform the posture in <image> into that in <image>.",
        "Tell me what is different in the pose of <image> compared with <image>, as an instruction from the first to the second.",
        "Instruct the person in <image> to take the pose shown in <image>.",
        "Source image: <image>. Target image: <image>. How should the pose change?",
        "Write a correction that changes the pose in <image> into the pose in <image>.",
        "Describe the movement needed to go from the body in <image> to the body in <image>.",
        "How does the pose in <image> need to be modified to obtain the pose in <image>?",
        "Look at <image> and <image>; explain how to move from the first pose to the second.",
        "Give a coaching cue that brings the pose in <image> to the pose in <image>.",
        "Summarise what changes between the pose of <image> and the pose of <image>.",
        "Explain, as an instruction, the difference between the pose in <image> and the one in <image>.",
        "From the picture <image> to the picture <image>: what should the person do?",
    ),
    "text2pose": (
        "Could you generate the SMPL pose from the description: <caption>?",
        "Generate the 3D body pose described as follows: <caption>.",
        "Create a pose that matches this description: <caption>.",
        "Here is a description of a pose: <caption>. Produce the pose.",
        "Give me the SMPL pose for: <caption>.",
        "Turn this text into a body pose: <caption>.",
        "What pose does this describe? <caption>.",
        "Build the human pose corresponding to: <caption>.",
        "Synthesise a 3D pose from the following text: <caption>.",
        "Please output the pose described by: <caption>.",
        "Read the description <caption> and generate the matching pose.",
        "Produce an SMPL body pose that fits: <caption>.",
        "Generate the posture someone would have if: <caption>.",
        "Show me the pose: <caption>.",
        "Convert the description into SMPL parameters: <caption>.",
        "Text: <caption>. Generate the corresponding pose.",
        "Model the body pose explained here: <caption>.",
        "I need a 3D pose that looks like this: <caption>.",
        "Make the body take the pose described below. <caption>.",
        "Given the caption <caption>, output the pose.",
        "From the description <caption>, infer the 3D pose.",
    ),
    "image2pose": (
        "Could you estimate the SMPL pose of the individual in this image <image>?",
        "Estimate the 3D body pose of the person in <image>.",
        "What is the SMPL pose of the person shown in <image>?",
        "Recover the human pose from the image <image>.",
        "Predict the 3D pose of the person in the picture <image>.",
        "Give me the body pose visible in <image>.",
        "Here is an image: <image>. Output the SMPL pose of the person.",
        "Reconstruct the pose of the individual in <image>.",
        "Infer the 3D body posture of the person in <image>.",
        "Look at <image> and generate the person's SMPL pose.",
        "Perform 3D pose estimation on the image <image>.",
        "Which SMPL pose is the person in <image> in?",
        "Output the pose parameters of the person in <image>.",
        "Determine the body pose of the figure in <image>.",
        "Estimate the SMPL parameters for the human in <image>.",
        "Provide the 3D pose of the person appearing in <image>.",
        "From the image <image>, regress the body pose.",
        "Tell me the 3D pose of the individual in <image>.",
        "Extract the human pose from <image>.",
        "What 3D pose matches the person in the photo <image>?",
        "Generate the pose of the person pictured in <image>.",
    ),
    "poseedit": (
        "Adjust the SMPL pose <poseA> according to the following description: <caption>.",
        "Edit the pose <poseA> as follows: <caption>.",
        "Starting from <poseA>, apply this change: <caption>.",
        "Modify the body pose <poseA> so that: <caption>.",
        "Here is a pose: <poseA>. Change it like this: <caption>.",
        "Apply the instruction <caption> to the pose <poseA>.",
        "Take the pose <poseA> and <caption>.",
        "Correct the pose <poseA> using the instruction: <caption>.",
        "Given <poseA>, produce the pose obtained after: <caption>.",
        "Transform <poseA> following this instruction: <caption>.",
        "Update the SMPL pose <poseA>: <caption>.",
        "What pose results from <poseA> if we <caption>?",
        "Edit pose <poseA> by the description: <caption>.",
        "Change the posture <poseA> according to: <caption>.",
        "Instruction: <caption>. Source pose: <poseA>. Output the edited pose.",
        "Move the body in <poseA> as instructed: <caption>.",
        "Rework the pose <poseA> so that it matches the request: <caption>.",
        "Generate the target pose from <poseA> and the correction <caption>.",
        "Alter the pose <poseA> in the following way: <caption>.",
        "Produce the new pose after applying <caption> to <poseA>.",
        "From the initial pose <poseA>, follow this instruction and output the result: <caption>.",
    ),
    "spg": (
        "Generate the pose of this person: <caption>.",
        "What pose would this person be in? <caption>.",
        "Imagine <caption>. Generate their body pose.",
        "Think about the situation: <caption>. Output the SMPL pose.",
        "Show the pose of <caption>.",
        "Create the body pose that fits this scenario: <caption>.",
        "How would the body look for <caption>? Give the pose.",
        "Predict the 3D pose of <caption>.",
        "Infer the posture of <caption> and output it as an SMPL pose.",
        "Reason about the situation <caption> and generate the pose.",
        "Produce the SMPL pose one would expect from <caption>.",
        "Picture <caption>. What is their pose?",
        "Generate a plausible body pose for <caption>.",
        "Given the context <caption>, synthesise the person's pose.",
        "Output the pose that someone would take as <caption>.",
        "What 3D pose matches this description of a situation: <caption>?",
        "Describe, as an SMPL pose, <caption>.",
        "Model the posture of <caption>.",
        "Situation: <caption>. Generate the corresponding pose.",
        "Guess the body pose of <caption> and output it.",
        "Give me the 3D pose for this scene: <caption>.",
    ),
    "rpe": (
        "<caption> Generate pose of the person: <image>.",
        "<caption> Estimate the SMPL pose of that person in <image>.",
        "Look at <image>. <caption> Output their 3D pose.",
        "In the image <image>: <caption> Give the pose of the person meant.",
        "<caption> Find the person in <image> and estimate their pose.",
        "Here is a scene: <image>. <caption> Predict that person's SMPL pose.",
        "<caption> Recover the 3D pose of the person referred to in <image>.",
        "Image: <image>. Question: <caption> Answer with the person's pose.",
        "<caption> Which pose does that person in <image> have?",
        "Reason about the image <image>. <caption> Output the referred person's pose.",
        "<caption> Reconstruct the body pose of that individual in <image>.",
        "Given <image>, <caption> Generate the SMPL pose of the person you identified.",
        "<caption> Look at the picture <image> and give the pose.",
        "Find the person the question is about in <image>: <caption> Then estimate the pose.",
        "<caption> Provide the 3D pose of the matching person in <image>.",
        "Scene <image>. <caption> Estimate the pose.",
        "<caption> Infer the posture of the person referred to in the image <image>.",
        "Use the image <image> to answer: <caption> Reply with an SMPL pose.",
        "<caption> Determine the SMPL parameters of that person in <image>.",
        "Identify the person in <image> described here: <caption> Then output the pose.",
        "<caption> Extract that person's 3D body pose from <image>.",
    ),
}


def template_for(task: str, kind: str, rng: np.random.Generator | None = None) -> str:
    """A user template of ``task``: ``kind="pretrain"`` (the single one) or ``"instruct"`` (drawn
    uniformly with ``rng``; the first one when ``rng`` is None, as used at inference)."""
    if task not in ANSWERS:
        raise InternalError(f"no UniPose templates for task {task!r}")
    if kind == "pretrain":
        return PRETRAIN[task]
    if kind != "instruct":
        raise InternalError(f"unknown template kind {kind!r}")
    options = INSTRUCTIONS[task]
    return options[0] if rng is None else options[int(rng.integers(len(options)))]
