"""Planned downtime that a service level does not exclude fits within a share of its error budget.

For a window with expectedImpact partial-outage or full-outage, each affected service's in-date SLAs
and OLAs are checked. A level excludes a window when the window has excludedFromSla true and the
level's spec.availability.exclusions lists `exclusionName` (approved-maintenance) or the window's own
name; otherwise the window's minutes count against the level's error budget. In every SLA period
covering `horizonMonths` (12) from the as-of date (calendar months or quarters in the level's
availability.window.timezone, default UTC, with their real lengths; or consecutive rolling periods),
the planned minutes of all such windows of the service (overlaps counted once) must be at most the
Baseline parameter max_planned_budget_share (0.5) x the allowed downtime, (1 - target) x the minutes
the level measures: the whole period, or only the hours of its coverage calendar when that is not
24x7 (downtime outside those hours is not measured, so it neither counts nor earns budget). The finding names the worst period with its numbers; it is reported on each window that
contributes to an over-budget period.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Iterator, NamedTuple

from svcascode.calendars import (
    Period, calendar_intervals, clip, covered_minutes, intersect, is_always_on, sla_periods, total_minutes,
    window_intervals,
)
from svcascode.checks.base import CheckContext
from svcascode.documents import Document
from svcascode.finding import Finding
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
    periods = sla_periods(availability.window.calendar, availability.window.rolling, availability.window.timezone,
                          ctx.as_of, int(ctx.param("horizonMonths", 12)))
    if not periods:
        return None
    span = (periods[0].start, periods[-1].end)
    counted = [w for w in ctx.catalogue.of_kind("MaintenanceWindow")
               if w.spec.expected_impact in OUTAGE_IMPACTS and any(s is service for s in ctx.window_services(w))
               and not _excluded(ctx, level, w)]
    occurrences = [o for w in counted for o in window_intervals(w.spec, *span)]
    own = window_intervals(window.spec, *span)
    coverage = ctx.calendar(level.spec.coverage)
    if coverage is not None and not is_always_on(coverage.spec):
        # a level measured in its coverage hours only: downtime outside them costs no budget
        covered = calendar_intervals(coverage.spec, *span)
        occurrences, own = intersect(occurrences, covered), intersect(own, covered)
    share = to_fraction(ctx.tier_param("max_planned_budget_share", service.spec.tier))
    overruns = []
    for period in periods:
        planned = total_minutes(clip(occurrences, period.start, period.end))
        measured = covered_minutes(coverage.spec if coverage is not None else None, period.start, period.end)
        allowed = allowed_downtime_minutes(availability.target_percent, measured)
        mine = total_minutes(clip(own, period.start, period.end))
        if planned > share * allowed and mine > 0:
            overruns.append(Overrun(period, planned, mine, allowed, share * allowed, measured))
    if not overruns:
        return None
    worst = max(overruns, key=_severity)
    others = f", {_min(worst.planned - worst.own)} min from other windows" if worst.planned > worst.own else ""
    return (f"planned downtime of {_min(worst.planned)} min in {worst.period.label} ({_min(worst.own)} min from "
            f"this window{others}) exceeds {_percent(share)} of the {_min(worst.allowed)}-minute error budget of "
            f"{level.spec.type} {level.name} ({availability.target_percent}% over "
            f"{_min(worst.measured)} {'covered ' if worst.measured != worst.period.minutes else ''}min), "
            f"a limit of {_min(worst.limit)} min; "
            f"{len(overruns)} of {len(periods)} periods are over")


def _severity(overrun: Overrun) -> tuple[Fraction, float]:
    """Worst first: the largest planned share of the budget, the earliest period on a tie."""
    ratio = overrun.planned / overrun.allowed if overrun.allowed else Fraction(10**9)
    return ratio, -overrun.period.start.timestamp()


def _min(value: Fraction) -> str:
    rounded = round(float(value), 1)
    return f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"


def _percent(share: Fraction) -> str:
    return f"{float(share) * 100:g}%"

