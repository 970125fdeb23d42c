"""The owner team's on-call coverage contains every P1 coverage a tier-0/1 service has committed to.

For each in-date ServiceLevel of the service whose type is in `serviceLevelTypes` (SLA, OLA), the
coverage calendar of the `priority` target (spec.support.priorities.P1.coverage, else the level's
spec.coverage) must be covered by the owner Team's spec.onCall.coverage calendar. Both calendars are
expanded in their own time zones, holidays removed, over the year from the as-of date, so a rota in
UTC against a commitment in Europe/London is judged hour by hour through the DST changes (24x7 is
168 h/week). Calendars that do not resolve are left to the support-targets control; a missing on-call
rota or on-call calendar is a finding here.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.calendars import calendar_intervals, describe_local, horizon, hours_per_week, subtract, total_minutes
from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import BusinessCalendarSpec, ServiceLevelSpec, ServiceSpec, TeamSpec

PARAMS: dict[str, Any] = {
    "priority": "P1",
    "serviceLevelTypes": ["SLA", "OLA"],
}

WEEKS_PER_YEAR = 365 / 7


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceSpec)
    needed = _needed(ctx, document)
    if not needed:
        return
    team: Document[TeamSpec] | None = ctx.owner_team(document)
    path = ("spec", "owner")
    if team is None:
        return  # the owner-exists control reports a missing team
    if team.spec.on_call is None:
        yield ctx.fail(document, f"owner team {team.name} has no on-call rota, but the service's "
                       f"{ctx.param('priority', 'P1')} commitments ({_levels(needed)}) need one: add spec.onCall to "
                       "the team", path)
        return
    rota: Document[BusinessCalendarSpec] | None = ctx.calendar(team.spec.on_call.coverage)
    if rota is None:
        yield ctx.fail(document, f"owner team {team.name}'s on-call coverage calendar "
                       f"'{team.spec.on_call.coverage}' does not exist: define it or point spec.onCall.coverage at "
                       "an existing BusinessCalendar", path)
        return
    span = horizon(ctx.as_of)
    covered = calendar_intervals(rota.spec, span.start, span.end)
    gaps = []
    for calendar, levels in needed.items():
        required: Document[BusinessCalendarSpec] | None = ctx.calendar(calendar)
        if required is None:
            continue
        missing = subtract(calendar_intervals(required.spec, span.start, span.end), covered)
        if missing:
            per_week = float(total_minutes(missing)) / 60 / WEEKS_PER_YEAR
            gaps.append(f"{calendar} ({_hours(hours_per_week(required.spec))} h/week) of {_levels(levels)}: "
                        f"about {per_week:.0f} h/week uncovered on average over the next year, first from "
                        f"{describe_local(missing[0].start, required.spec.timezone)}")
    if gaps:
        yield ctx.fail(document, f"owner team {team.name}'s on-call coverage {rota.name} "
                       f"({_hours(hours_per_week(rota.spec))} h/week) does not cover the "
                       f"{ctx.param('priority', 'P1')} coverage {'; '.join(gaps)}: extend the team's "
                       "spec.onCall.coverage or narrow the ServiceLevel's P1 coverage with the customer", path)


def _needed(ctx: CheckContext, service: Document[ServiceSpec]) -> dict[str, list[str]]:
    """P1 coverage calendar name -> the service levels that commit to it (resolvable calendars only)."""
    priority = str(ctx.param("priority", "P1"))
    needed: dict[str, list[str]] = {}
    types = tuple(ctx.param("serviceLevelTypes", ["SLA", "OLA"]))
    levels: list[Document[ServiceLevelSpec]] = ctx.service_levels(service.name, types)
    for level in sorted(levels, key=lambda d: d.name):
        support = level.spec.support
        target = support.priorities.target(priority) if support is not None else None
        if support is None or target is None:
            continue
        calendar = target.coverage or level.spec.coverage
        if ctx.calendar(calendar) is not None:
            needed.setdefault(calendar, []).append(level.name)
    return needed


def _levels(names: list[str] | dict[str, list[str]]) -> str:
    flat = sorted({n for v in names.values() for n in v}) if isinstance(names, dict) else names
    return ", ".join(flat)


def _hours(value: Any) -> str:
    number = float(value)
    return f"{number:.0f}" if number == int(number) else f"{number:.1f}"
