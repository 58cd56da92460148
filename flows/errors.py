"""Errors a user or operator can meet, each with a message that says what and where."""

from __future__ import annotations


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


class GateBlocked(DwhError):  # noqa: N818 - an outcome of the quality gate
    """The quality gate failed: publication is blocked and the published file is untouched."""

    exit_code = 3

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        listed = "\n".join(f"  - {f}" for f in failures)
        super().__init__(f"quality gate blocked publication ({len(failures)} failing):\n{listed}")
