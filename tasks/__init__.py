"""The nine PoseBench tasks: one file each, registered in :data:`TASKS` by decorator.

Adding a task is one new file ``tasks/<id>.py`` defining a subclass of
:class:`~tasks.text_output.TextOutputTask` or :class:`~tasks.pose_output.PoseOutputTask` with a
frozen :class:`~tasks.spec.TaskSpec`, decorated with ``@TASKS.register("<id>")``.
"""

from __future__ import annotations

from bench.registry import Registry
from tasks.base import Task
from tasks.context import ScoringContext
from tasks.result import MetricValue, SampleOutput, TaskResult
from tasks.spec import MetricSpec, Request, TaskSpec

TASKS: Registry[type[Task]] = Registry("task", packages=("tasks",))
"""Task id → Task class; modules of this package are imported on first lookup."""


def get_task(task_id: str) -> Task:
    """A fresh instance of the task ``task_id`` (NotFoundError with did-you-mean if unknown)."""
    return TASKS.get(task_id)()


def task_ids() -> list[str]:
    """Every registered task id, sorted."""
    return TASKS.names()


__all__ = [
    "TASKS", "MetricSpec", "MetricValue", "Request", "SampleOutput", "ScoringContext", "Task", "TaskResult",
    "TaskSpec", "get_task", "task_ids",
]  # fmt: skip
