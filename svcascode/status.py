"""A control's status: for one subject, for a service, or overall; read by the assessment and every
output that ranks or summarises it."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class Status(str, Enum):
    """The outcome of a control, for one subject, for a service, or overall. Worst first."""

    NOT_SATISFIED = "not-satisfied"
    NOT_ASSESSED = "not-assessed"  # the control's definition is malformed, or no control assesses it
    WARNING = "warning"
    WAIVED = "waived"
    SATISFIED = "satisfied"
    NOT_APPLICABLE = "not-applicable"  # the control selects no document (for this service)

    def __str__(self) -> str:
        return self.value


STATUS_ORDER = tuple(Status)


def worst(statuses: Iterable[Status], default: Status = Status.NOT_APPLICABLE) -> Status:
    found = set(statuses)
    return next((s for s in STATUS_ORDER if s in found), default)
