"""Errors a user or operator can meet, each with a message that says what and where."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class DwhError(Exception):
    """Base class: the message is shown to the operator as it is."""

    exit_code = 1


class UsageError(DwhError):
    exit_code = 2


class RejectedFile(DwhError):  # noqa: N818 - a verdict on a file, not a crash
    """A delivered file fails its own checks and is rejected whole (sources.md)."""

    def __init__(self, reason: str, *, rows_declared: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rows_declared = rows_declared


@dataclass(frozen=True)
class Reason:
    """One reason a run did not publish (or a warning): the check, and where it points."""

    check: str
    message: str
    file: str | None = None
    row: int | None = None

    def __str__(self) -> str:
        where = f" (file {self.file}" if self.file else ""
        if self.row is not None:
            where += f", line {self.row}" if where else f" (line {self.row}"
        return f"{self.check}: {self.message}{where + ')' if where else ''}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class GateBlocked(DwhError):  # noqa: N818 - an outcome of the quality gate
    """The quality gate failed: publication is blocked and the published file is untouched."""

    exit_code = 3

    def __init__(self, failures: list[Reason], peildatum: str | None = None) -> None:
        self.failures = failures
        self.peildatum = peildatum
        listed = "\n".join(f"  - {f}" for f in failures)
        edition = f" of edition {peildatum}" if peildatum else ""
        super().__init__(
            f"quality gate blocked publication{edition} ({len(failures)} failing):\n{listed}"
        )


class RunInProgress(DwhError):  # noqa: N818 - an outcome: another run holds this DWH_HOME
    """Another run holds the run lock of this ``DWH_HOME``; nothing was touched."""

    exit_code = 4


class Transient(DwhError):  # noqa: N818 - a condition that passes: the task is retried
    """A failure that may pass by itself (a lock held for a moment); Prefect retries it."""
