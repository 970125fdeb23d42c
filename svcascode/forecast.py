"""Deadlines: every finding that will open between the as-of date and a later date, with the day it opens.

Nothing here decides when a document goes stale. The forecast evaluates the same `assess` that `check
--as-of` runs, on every date on which its answer can change, and compares the open (unwaived) findings by
fingerprint: a finding not open on the as-of date opens on the first of those dates on which it is open.
So the forecast says what `check --as-of DAY` says on that day, by construction.

The dates on which the answer can change are derived from the documents (`candidate_dates`): every date a
document writes (a waiver's expiry, evidence's date, a service level's validTo, a window's start) and the
day after it, and every such date moved forwards and backwards by every duration the catalogue writes (a
review cadence, an evidence maximum age in a baseline, a control parameter, a number of days a control's
parameter gives), floored and rounded up to whole days, and the day after each. Findings that depend on the as-of date only through a horizon of occurrences (a
maintenance window's next twelve months) can change on other days: `every_day=True` evaluates each day
of the period instead.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterator

from pydantic import BaseModel

from svcascode.errors import SvcascodeError
from svcascode.finding import Finding
from svcascode.models.common import Duration, duration_seconds

if TYPE_CHECKING:
    from svcascode.assessment import Assessment, ControlSelection
    from svcascode.catalogue import Catalogue, LoadResult

MAX_DAYS = 1096  # three years ahead at most: each date evaluated is a whole assessment
_DAY = 86400
MAX_OFFSETS = 2000  # distinct durations past which every day is evaluated instead


@dataclass(frozen=True)
class Deadline:
    """A finding that is not open on the as-of date and opens on `opens`."""

    opens: date
    finding: Finding  # as `check --as-of opens` reports it
    teams: tuple[str, ...]  # the teams that own what it concerns (the first is the owner)
    services: tuple[str, ...]

    @property
    def owner(self) -> str | None:
        return self.teams[0] if self.teams else None

    @property
    def control(self) -> str:
        return self.finding.rule

    def as_dict(self) -> dict[str, Any]:
        f = self.finding
        return {"opens": self.opens.isoformat(), "control": f.rule, "severity": f.severity,
                "enforcement": f.enforcement, "owner": self.owner, "teams": list(self.teams),
                "services": list(self.services), "kind": f.kind or None, "name": f.name or None,
                "file": f.file, "line": f.line, "column": f.column, "path": f.json_path,
                "message": f.message, "fingerprint": f.fingerprint}


@dataclass(frozen=True)
class Forecast:
    as_of: date
    until: date
    evaluated: tuple[date, ...]  # the dates assessed after the as-of date
    deadlines: tuple[Deadline, ...]  # by date, then file and line

    def for_team(self, team: str | None) -> list[Deadline]:
        return [d for d in self.deadlines if d.owner == team]

    def for_service(self, service: str) -> list[Deadline]:
        return [d for d in self.deadlines if service in d.services]

    def as_dict(self) -> dict[str, Any]:
        return {"asOf": self.as_of.isoformat(), "until": self.until.isoformat(),
                "datesEvaluated": len(self.evaluated), "deadlines": [d.as_dict() for d in self.deadlines]}


def until_date(as_of: date, days: int | None, until: date | None) -> date:
    """The last day of the forecast: `until`, or `days` after the as-of date (90 by default)."""
    if days is not None and until is not None:
        raise SvcascodeError("give --days or --until, not both")
    if until is None:
        if days is not None and days < 1:
            raise SvcascodeError(f"--days {days}: give a number of days of at least 1")
        days = 90 if days is None else days
        if days > MAX_DAYS:
            raise SvcascodeError(f"--days {days}: at most {MAX_DAYS} days ahead")
        # a period past the last date there is ends on it: nothing can open after 9999-12-31
        return date.fromordinal(min(as_of.toordinal() + days, date.max.toordinal()))
    if until <= as_of:
        raise SvcascodeError(f"--until {until}: must be after the as-of date {as_of}")
    if (until - as_of).days > MAX_DAYS:
        raise SvcascodeError(f"--until {until}: at most {MAX_DAYS} days after the as-of date {as_of}")
    return until


# ---------------------------------------------------------------------------------------------------
# The dates on which the answer can change


def _values(value: Any) -> Iterator[Any]:
    """Every leaf value of a typed spec: models, lists and mappings walked (in time linear in the document,
    whose size the loader's limits already bound)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseModel):
            stack.extend(item.__dict__.values())
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            yield item


def _days(text: str) -> tuple[int, ...]:
    try:
        seconds = duration_seconds(text)
    except ValueError:
        return ()
    return (math.floor(seconds / _DAY), math.ceil(seconds / _DAY))


def dates_and_offsets(catalogue: Catalogue) -> tuple[list[date], set[int]]:
    """The dates the documents write, and the whole-day lengths of every duration they write."""
    dates: set[date] = set()
    offsets: set[int] = {0}
    for document in catalogue.documents:
        for value in _values(document.spec):
            if isinstance(value, datetime):
                dates.update(_around(value.date()))
            elif isinstance(value, date):
                dates.add(value)
            elif isinstance(value, Duration) or (isinstance(value, str) and len(value) <= 24):
                offsets.update(_days(value))
        if document.kind == "Control":  # a built-in's parameter may give days as a plain number (warnWithin: 14)
            for value in _values(document.spec.check.params):
                if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_DAYS * 40:
                    offsets.add(value)
    return sorted(dates), offsets


def _around(day: date) -> list[date]:
    """A date-time's day and its neighbours: in another time zone it falls on either."""
    out = [day]
    for step in (-1, 1):
        try:
            out.append(day + timedelta(days=step))
        except OverflowError:
            pass
    return out


def candidate_dates(catalogue: Catalogue, as_of: date, until: date, every_day: bool = False) -> list[date]:
    """The dates after `as_of`, up to `until`, on which an assessment's findings can differ from the day before."""
    window = (until - as_of).days
    if every_day:
        return [as_of + timedelta(days=n) for n in range(1, window + 1)]
    dates, offsets = dates_and_offsets(catalogue)
    if len(offsets) > MAX_OFFSETS:  # so many durations that nearly every day is a candidate: take every day
        return candidate_dates(catalogue, as_of, until, every_day=True)
    ordinals = [d.toordinal() for d in dates]
    first, last = as_of.toordinal() + 1, until.toordinal()
    found: set[int] = set()
    # a date moved either way: evidence ages past a cadence after its date, a warning starts before an expiry
    for offset in sorted({sign * o + extra for o in offsets for sign in (1, -1) for extra in (0, 1)}, key=abs):
        low = bisect.bisect_left(ordinals, first - offset)
        high = bisect.bisect_right(ordinals, last - offset)
        found.update(ordinals[i] + offset for i in range(low, high))
        if len(found) >= window:
            break
    return [date.fromordinal(o) for o in sorted(found)]


# ---------------------------------------------------------------------------------------------------
# The forecast


def open_findings(assessment: Assessment) -> dict[str, Finding]:
    """The findings that are open (not waived) in an assessment, by fingerprint."""
    out: dict[str, Finding] = {}
    for finding in assessment.findings:
        if not finding.suppressed:
            out.setdefault(finding.fingerprint, finding)
    return out


def forecast(loaded: LoadResult, as_of: date, until: date, selection: ControlSelection | None = None,
             every_day: bool = False, now: Assessment | None = None) -> Forecast:
    """Every finding not open on `as_of` that opens by `until`, with the first date it is open on."""
    from svcascode.assessment import ControlSelection, assess

    selection = selection or ControlSelection()
    start = now if now is not None else assess(loaded, as_of, selection)
    seen = set(open_findings(start))
    dates = candidate_dates(loaded.catalogue, as_of, until, every_day)
    deadlines = []
    for day in dates:
        later = assess(loaded, day, selection)
        for fingerprint, finding in open_findings(later).items():
            if fingerprint in seen:
                continue
            seen.add(fingerprint)
            if later.scope is not None and finding.file not in later.scope:
                continue
            services = tuple(s.name for s in later.services_of(finding))
            deadlines.append(Deadline(day, finding, tuple(later.teams_of(finding)), services))
    deadlines.sort(key=lambda d: (d.opens, *d.finding.sort_key()))
    return Forecast(as_of, until, tuple(dates), tuple(deadlines))
