"""Which commit of the main line is in force at a moment: the rule every "as it was then" answer reads.

A commit is in force from the moment it entered the history (its committer date, in UTC) until the next
commit of the first-parent line entered it. A committer clock that went back does not reorder the line:
such a commit counts as entering when the commit before it did. Light on purpose (no catalogue, no
models): the ledger asks it before deciding whether anything needs loading at all.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime
from typing import Iterable


def entered(committed: str) -> datetime:
    """A commit's ISO 8601 committer date as an aware UTC datetime."""
    moment = datetime.fromisoformat(committed)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def line_times(committed: Iterable[str]) -> list[datetime]:
    """When each commit of a first-parent line (oldest first) entered the history, kept in order."""
    times: list[datetime] = []
    for text in committed:
        when = entered(text)
        if times and when < times[-1]:  # a committer clock that went back: keep the line ordered
            when = times[-1]
        times.append(when)
    return times


def index_in_force(times: list[datetime], moment: datetime) -> int:
    """The index of the commit in force at `moment` (an aware datetime) in `times`; -1 before the first."""
    when = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return bisect_right(times, when) - 1
