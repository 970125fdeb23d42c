"""Disruptive standard and vendor maintenance stays out of the peak hours of tier-0/1 services.

For each affected Service whose tier is in `serviceTiers`, a window with expectedImpact at or above
`minImpact` (degraded) is compared with the service's spec.peakHours calendar; when the service has no
peak hours and its spec.supportHours calendar is not always-on, with its support hours; an always-on
service without peak hours has nothing to compare. Occurrences are expanded for `horizonMonths` (12)
from the as-of date: recurring schedules with RFC 5545 rules in schedule.timezone, calendars in their
own time zones, so daylight-saving shifts are caught. The finding names the first overlapping
occurrence in local time (the schedule's time zone, or the calendar's for a one-off window) and how
many occurrences overlap.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.calendars import (
    Interval, calendar_intervals, describe_local, horizon, is_always_on, overlapping, window_intervals,
)
from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import BusinessCalendarSpec, MaintenanceWindowSpec, ServiceSpec

PARAMS: dict[str, Any] = {
    "serviceTiers": ["tier-0", "tier-1"],
    "minImpact": "degraded",
    "horizonMonths": 12,
}

IMPACTS = ("none", "degraded", "partial-outage", "full-outage")


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, MaintenanceWindowSpec)
    spec = document.spec
    if IMPACTS.index(spec.expected_impact) < IMPACTS.index(str(ctx.param("minImpact", "degraded"))):
        return
    schedule = spec.schedule
    tz_name = schedule.timezone if schedule is not None else "UTC"
    span = horizon(ctx.as_of, int(ctx.param("horizonMonths", 12)), tz_name)
    occurrences = [o for o in window_intervals(spec, span.start, span.end) if o.start >= span.start]
    if not occurrences:
        return
    clashes = []
    # calendar name -> the occurrences that overlap its hours: many services share a calendar, so each
    # calendar is expanded and compared with the window once
    overlaps: dict[str, list[Interval]] = {}
    services: list[Document[ServiceSpec]] = ctx.window_services(document)
    for service in sorted(services, key=lambda s: s.name):
        if service.facts["tier"] not in ctx.param("serviceTiers", []):  # read without building its model
            continue
        calendar, what = _protected_hours(ctx, service)
        if calendar is None:
            continue
        hits = overlaps.get(calendar.name)
        if hits is None:
            hits = overlaps[calendar.name] = overlapping(
                occurrences, calendar_intervals(calendar.spec, span.start, span.end))
        if hits:
            first = describe_local(hits[0].start, schedule.timezone if schedule is not None else
                                   calendar.spec.timezone)
            clashes.append(f"{what} {calendar.name} of {service.name} ({service.spec.tier}): first on {first}, "
                           f"{len(hits)} of {len(occurrences)} occurrences in the next "
                           f"{ctx.param('horizonMonths', 12)} months overlap")
    if clashes:
        path = ("spec", "schedule", "start") if schedule is not None else ("spec", "window", "start")
        yield ctx.fail(document, f"{spec.expected_impact} maintenance overlaps the {'; the '.join(clashes)}: "
                       "move the window outside these hours or make it zero-downtime", path)


def _protected_hours(ctx: CheckContext, service: Document[ServiceSpec]
                     ) -> tuple[Document[BusinessCalendarSpec] | None, str]:
    """The calendar maintenance must avoid: peak hours, else support hours unless always-on."""
    if service.spec.peak_hours:
        return ctx.calendar(service.spec.peak_hours), "peak hours"
    support: Document[BusinessCalendarSpec] | None = ctx.calendar(service.spec.support_hours)
    if support is None or is_always_on(support.spec):
        return None, ""
    return support, "support hours"
