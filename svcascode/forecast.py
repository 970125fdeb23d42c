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
import re
import time
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
# CPU time the dates after the as-of date may take together: a catalogue where every date costs a whole
# assessment stops there, and the forecast covers the days before the first date it did not evaluate
FORECAST_SECONDS = 60.0
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
    until: date  # the last day the forecast covers
    evaluated: tuple[date, ...]  # the dates assessed after the as-of date
    deadlines: tuple[Deadline, ...]  # by date, then file and line
    requested: date | None = None  # the last day asked for, when the forecast stopped short of it
    stopped_at: date | None = None  # the first date it did not evaluate (the day after `until`)

    @property
    def complete(self) -> bool:
        return self.requested is None

    @property
    def note(self) -> str | None:
        """Why the forecast covers fewer days than asked, or None when it covers them all."""
        if self.requested is None:
            return None
        return (f"the forecast stopped at {self.stopped_at}: evaluating the dates after {self.until} up to "
                f"{self.requested} would take more than {FORECAST_SECONDS:g} s of CPU time; it covers "
                f"{self.as_of} -> {self.until}. Ask for fewer days (--days, --until) or fewer controls "
                "(--select)")

    def for_team(self, team: str | None) -> list[Deadline]:
        return [d for d in self.deadlines if d.owner == team]

    def for_service(self, service: str) -> list[Deadline]:
        return [d for d in self.deadlines if service in d.services]

    def as_dict(self) -> dict[str, Any]:
        body = {"asOf": self.as_of.isoformat(), "until": self.until.isoformat(), "complete": self.complete,
                "datesEvaluated": len(self.evaluated), "deadlines": [d.as_dict() for d in self.deadlines]}
        if self.requested is not None:
            body.update({"requestedUntil": self.requested.isoformat(), "note": self.note})
        return body


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


# A date written in text (an annotation, a quoted field, a control's expression: `date("2026-12-15")`,
# `timestamp("2027-01-18T00:00:00Z")`), and a duration written in text (`duration("720h")`)
_DATE_TEXT = re.compile(r"(?<![0-9])([0-9]{4})-([0-9]{2})-([0-9]{2})(?![0-9])")
_WHOLE_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9:.]+(?:Z|[+-][0-9:]+)?)?$")
_DURATION_TEXT = re.compile(r"(?<![\w.])[0-9]{1,18}(?:ms|s|m|h|d|w|y)(?!\w)")


def _text(text: str, dates: set[date], offsets: set[int]) -> None:
    """The dates and durations written inside a text. A date in text may be a date-time's, or be read in
    another time zone: its neighbours count too."""
    for match in _DATE_TEXT.finditer(text):
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            continue
        dates.update(_around(day))
    for match in _DURATION_TEXT.finditer(text):
        offsets.update(_days(match.group()))


def _raw_values(data: Any) -> Iterator[Any]:
    """Every key and leaf value of a document as YAML gave it (metadata included), iteratively."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            yield item


def dates_and_offsets(catalogue: Catalogue) -> tuple[list[date], set[int]]:
    """The dates the documents write, and the whole-day lengths of every duration they write: in typed
    fields, in any text that is a date or a date-time (an annotation, a quoted field: an expression may
    read it as one), and inside a control's texts (`date("2026-12-15")`, `duration("720h")` in an
    expression)."""
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
        for value in _raw_values(document.raw.data):
            if isinstance(value, str):
                if _WHOLE_DATE.match(value):  # a date or date-time written as text, as an annotation is
                    try:
                        day = date.fromisoformat(value[:10])
                    except ValueError:
                        continue
                    dates.update(_around(day) if len(value) > 10 else (day,))  # a date-time's day: its zone's
            elif isinstance(value, datetime):
                dates.update(_around(value.date()))
            elif isinstance(value, date):
                dates.add(value)
        if document.kind == "Control":  # its check's expressions write dates and durations inside their text
            raw = document.raw.data if isinstance(document.raw.data, dict) else {}
            check = raw.get("spec", {}).get("check") if isinstance(raw.get("spec"), dict) else None
            for value in _raw_values(check):
                if isinstance(value, str):
                    _text(value, dates, offsets)
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
    deadline = time.process_time() + FORECAST_SECONDS
    evaluated: list[date] = []
    stopped: date | None = None
    for day in dates:
        if time.process_time() > deadline:
            stopped = day
            break
        evaluated.append(day)
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
    if stopped is not None:  # nothing changes between two dates evaluated: it covers up to the day before
        return Forecast(as_of, stopped - timedelta(days=1), tuple(evaluated), tuple(deadlines), until, stopped)
    return Forecast(as_of, until, tuple(evaluated), tuple(deadlines))
