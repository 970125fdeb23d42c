"""Planned downtime that a service level does not exclude fits within a share of its error budget.

For a window with expectedImpact partial-outage or full-outage, each affected service's in-date SLAs
and OLAs are checked. A level excludes a window when the window has excludedFromSla true and the
level's spec.availability.exclusions lists `exclusionName` (approved-maintenance) or the window's own
name; otherwise the window's minutes count against the level's error budget. In every SLA period
covering `horizonMonths` (12) from the as-of date, the planned minutes of all such windows of the
service (overlaps counted once) must be at most the Baseline parameter max_planned_budget_share (0.5) x
the allowed downtime, (1 - target) x the minutes the level measures: the whole period, or only the hours
of its coverage calendar when that is not 24x7 (downtime outside those hours is not measured, so it
neither counts nor earns budget).

A calendar window (month or quarter) is judged period by period, in the level's
availability.window.timezone (default UTC) with the periods' real lengths. A rolling window has no fixed
blocks: at every instant the last `rolling` of time must fit, so the check slides the window over the
planned downtime and judges each position that begins with a planned outage, [start, start + rolling)
for each distinct occurrence start in the horizon or in the `rolling` before it: downtime already
planned before the as-of date counts in the window in force then. A window is reported only for its
occurrences from the as-of date on (one that is over cannot be changed). The most downtime any window of that length can hold
is reached at such a position, so two 15-minute outages 28 days apart are judged together against a 30-day
window however the horizon happens to be cut into blocks. The work is one pass over the occurrences with
prefix sums, O(n log n) in their number.

The finding names the worst period or window position with its numbers; it is reported on each window
that contributes to an over-budget one.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, Iterator, NamedTuple

from svcascode.calendars import (
    Interval, Period, calendar_intervals, horizon, intersect, is_always_on, merge, sla_periods, window_intervals,
    zone,
)
from svcascode.checks.base import CheckContext
from svcascode.documents import Document
from svcascode.finding import Finding
from svcascode.models.common import duration_seconds
from svcascode.slamath import allowed_downtime_minutes, to_fraction

PARAMS: dict[str, Any] = {
    "horizonMonths": 12,
    "exclusionName": "approved-maintenance",
}

OUTAGE_IMPACTS = ("partial-outage", "full-outage")
LEVEL_TYPES = ("SLA", "OLA")  # commitments this organisation makes; a UC is its supplier's


class Overrun(NamedTuple):
    period: Period
    planned: Fraction
    own: Fraction
    allowed: Fraction
    limit: Fraction
    measured: Fraction  # minutes the level measures in the period: its coverage hours


def check(ctx: CheckContext, document: Document) -> Iterator[Finding]:
    summaries = []
    for service in sorted(ctx.window_services(document), key=lambda s: s.name):
        for level in sorted(ctx.service_levels(service.name, LEVEL_TYPES), key=lambda d: d.name):
            if _excluded(ctx, level, document):
                continue
            summary = _judge(ctx, document, service, level)
            if summary:
                summaries.append(summary)
    if summaries:
        path = ("spec", "schedule", "duration") if document.spec.schedule is not None else ("spec", "window", "end")
        yield ctx.fail(document, "; ".join(summaries) + ": shorten the window or make it less frequent, lower its "
                       "impact, or set excludedFromSla true with approved-maintenance in the level's "
                       "availability.exclusions where the customer has agreed", path)


def _excluded(ctx: CheckContext, level: Document, window: Document) -> bool:
    exclusions = level.spec.availability.exclusions
    return bool(window.spec.excluded_from_sla) and (
        str(ctx.param("exclusionName", "approved-maintenance")) in exclusions or window.name in exclusions)


def _judge(ctx: CheckContext, window: Document, service: Document, level: Document) -> str | None:
    availability = level.spec.availability
    months = int(ctx.param("horizonMonths", 12))
    rolling = availability.window.rolling
    if rolling is not None:
        length = timedelta(seconds=duration_seconds(rolling))
        first, until = horizon(ctx.as_of, months, availability.window.timezone)
        # the window in force on the as-of date began `rolling` before it: planned downtime already spent
        # in it counts; the last position that starts in the horizon reaches past it
        span = (first - length, until + length)
    else:
        periods = sla_periods(availability.window.calendar, None, availability.window.timezone, ctx.as_of, months)
        if not periods:
            return None
        span = (periods[0].start, periods[-1].end)
    counted = [w for w in ctx.catalogue.of_kind("MaintenanceWindow")
               if w.spec.expected_impact in OUTAGE_IMPACTS and any(s is service for s in ctx.window_services(w))
               and not _excluded(ctx, level, w)]
    occurrences = [o for w in counted for o in window_intervals(w.spec, *span)]
    own = window_intervals(window.spec, *span)
    coverage = ctx.calendar(level.spec.coverage)
    covered: _Timeline | None = None
    if coverage is not None and not is_always_on(coverage.spec):
        # a level measured in its coverage hours only: downtime outside them costs no budget
        hours = calendar_intervals(coverage.spec, *span)
        occurrences, own = intersect(occurrences, hours), intersect(own, hours)
        covered = _Timeline(hours)
    if rolling is not None:
        periods = _positions(occurrences, first, until, length, rolling, availability.window.timezone)
        own = [o for o in own if o.end > first]  # what is over before the as-of date cannot be changed
    planned_line, own_line = _Timeline(occurrences), _Timeline(own)
    share = to_fraction(ctx.tier_param("max_planned_budget_share", service.spec.tier))
    overruns = []
    for period in periods:
        planned = planned_line.minutes(period.start, period.end)
        measured = covered.minutes(period.start, period.end) if covered is not None else period.minutes
        allowed = allowed_downtime_minutes(availability.target_percent, measured)
        mine = own_line.minutes(period.start, period.end)
        if planned > share * allowed and mine > 0:
            overruns.append(Overrun(period, planned, mine, allowed, share * allowed, measured))
    if not overruns:
        return None
    worst = max(overruns, key=_severity)
    others = f", {_min(worst.planned - worst.own)} min from other windows" if worst.planned > worst.own else ""
    counted_in = (f"{len(periods)} {rolling} windows starting at a planned outage" if rolling is not None
                  else f"{len(periods)} periods")
    return (f"planned downtime of {_min(worst.planned)} min in {worst.period.label} ({_min(worst.own)} min from "
            f"this window{others}) exceeds {_percent(share)} of the {_min(worst.allowed)}-minute error budget of "
            f"{level.spec.type} {level.name} ({availability.target_percent}% over "
            f"{_min(worst.measured)} {'covered ' if worst.measured != worst.period.minutes else ''}min), "
            f"a limit of {_min(worst.limit)} min; "
            f"{len(overruns)} of {counted_in} are over")


def _positions(occurrences: list[Interval], first: datetime, until: datetime, length: timedelta, rolling: str,
               tz_name: str | None) -> list[Period]:
    """The rolling-window positions worth judging: one starting at each distinct occurrence start.

    A window of `length` holds the most planned downtime when it begins where an outage begins (sliding
    it later from any other position loses nothing until its start enters an outage), so these
    positions find the worst one. The windows judged are those in force from the as-of date (`first`):
    a position may begin up to `length` before it, so planned downtime already spent in the window that
    holds the as-of date counts. An occurrence under way at the earliest such position is judged from it.
    """
    tz = zone(tz_name)
    earliest = first - length
    starts = sorted({max(o.start, earliest) for o in occurrences if o.start < until and o.end > earliest})
    return [Period(f"{rolling} from {s.astimezone(tz):%Y-%m-%d %H:%M}", s, s + length) for s in starts]


class _Timeline:
    """Intervals, merged, with running totals: the minutes they cover in any [start, end) in O(log n)."""

    def __init__(self, intervals: list[Interval]) -> None:
        self.blocks = merge(intervals)
        self.starts = [b.start for b in self.blocks]
        self.before = [0]  # before[k]: microseconds covered by blocks[:k], in integers for speed
        for block in self.blocks:
            self.before.append(self.before[-1] + _microseconds(block.end - block.start))

    def minutes(self, start: datetime, end: datetime) -> Fraction:
        return Fraction(self._until(end) - self._until(start), 60_000_000) if end > start else Fraction(0)

    def _until(self, moment: datetime) -> int:
        """Microseconds covered before `moment`."""
        index = bisect_right(self.starts, moment)
        if index == 0:
            return 0
        last = self.blocks[index - 1]
        return self.before[index - 1] + _microseconds(min(moment, last.end) - last.start)


def _microseconds(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


def _severity(overrun: Overrun) -> tuple[Fraction, float]:
    """Worst first: the largest planned share of the budget, the earliest period on a tie."""
    ratio = overrun.planned / overrun.allowed if overrun.allowed else Fraction(10**9)
    return ratio, -overrun.period.start.timestamp()


def _min(value: Fraction) -> str:
    rounded = round(float(value), 1)
    return f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"


def _percent(share: Fraction) -> str:
    return f"{float(share) * 100:g}%"

