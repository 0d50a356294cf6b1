"""The one error hierarchy of PoseBench.

Every error a user can cause is a :class:`BenchError` subclass whose message is one line naming the
file, field and sample id involved. ``bench.cli.main()`` turns one that reaches it into
``error: <message>`` on stderr and exits with its ``exit_code`` (0 ok, 2 bad input or usage,
1 internal error).

Library code catches a subclass only where it can carry on and report the problem as data: the
submission validator (``submissions.validate.check_bundle``) collects ``ValidationError`` s into its
report, the runner records a task whose items cannot be loaded (``UserError``) as skipped and an
answer that breaks the submission schema as a ``SampleFailure``,
``bench.data.manifest.verify_dataset`` turns a missing or malformed manifest into one problem line,
and the leaderboard app shows the message on the page. Some CLI commands do the same (``bench data
info`` lists a broken dataset with its problem, ``bench evaluators list`` marks a checkpoint without
a card, ``bench run`` builds a missing ``synth-small`` / ``synth-full`` dataset); elsewhere a catch
only adds context and raises again.
"""

from __future__ import annotations

from os import PathLike


class BenchError(Exception):
    """Base class. ``exit_code`` is what the CLI exits with when this error reaches it."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | PathLike[str] | None = None,
        field: str | None = None,
        sample_id: str | int | None = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.field = field
        self.sample_id = sample_id
        self.reason = message
        super().__init__(format_location(message, file=self.file, field=field, sample_id=sample_id))


def format_location(
    message: str, *, file: str | None = None, field: str | None = None, sample_id: str | int | None = None
) -> str:
    """``"<file>: sample '<id>': field '<field>': <message>"``, leaving out the parts that are None."""
    parts = []
    if file is not None:
        parts.append(str(file))
    if sample_id is not None:
        parts.append(f"sample {str(sample_id)!r}")
    if field is not None:
        parts.append(f"field {field!r}")
    parts.append(" ".join(str(message).split()))  # one line, always
    return ": ".join(parts)


class UserError(BenchError):
    """Bad input or usage: exit code 2."""

    exit_code = 2


class ConfigError(UserError):
    """A bad config file, environment variable or option value."""


class NotFoundError(UserError):
    """An unknown registry name, or a path that does not exist."""


class BodyModelError(UserError):
    """A missing, corrupt or wrong-format body model file."""


class DataError(UserError):
    """A dataset that is missing, corrupt, or does not match its manifest or schema."""


class ValidationError(UserError):
    """A submission bundle or prediction file that breaks the submission schema."""


class CheckpointError(UserError):
    """A model or evaluator checkpoint that is missing, corrupt or does not match its pinned hash."""


class InternalError(BenchError):
    """A bug in PoseBench itself: exit code 1."""

    exit_code = 1
