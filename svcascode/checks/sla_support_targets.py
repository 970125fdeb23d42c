"""Priority response and resolution targets of an SLA or OLA are complete and coherent.

For an in-date SLA or OLA: spec.support.priorities defines every one of `requiredPriorities` (P1, P2);
each priority's response is shorter than its resolution; along `priorityOrder` (P1 to P4) neither
target gets faster for a less urgent priority; every coverage calendar (the level's spec.coverage and
each priority's coverage, which defaults to it) is a BusinessCalendar; and when the Service's
supportHours calendar is 24x7, each of `alwaysOnPriorities` (P1) is covered 24x7 too. A calendar is
24x7 when it is alwaysOn, or when its weekly hours cover every day from 00:00 to 24:00 with no holidays.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import BusinessCalendarSpec, ServiceLevelSpec, ServiceSpec
from svcascode.models.service import PriorityTarget

PARAMS: dict[str, Any] = {
    "requiredPriorities": ["P1", "P2"],
    "priorityOrder": ["P1", "P2", "P3", "P4"],
    "alwaysOnPriorities": ["P1"],
}

_PRIORITIES = ("spec", "support", "priorities")


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceLevelSpec)
    if not ctx.in_date(document):
        return
    defined = _defined(document)
    required = [p for p in ctx.param("requiredPriorities") if p not in defined]
    if required:
        where = _PRIORITIES if document.spec.support is not None else ("spec",)
        yield ctx.fail(document, f"support priorities {', '.join(required)} are not defined: add response, "
                       "resolution and coverage for each under spec.support.priorities", where)
    yield from _response_before_resolution(ctx, document, defined)
    yield from _non_decreasing(ctx, document, defined)
    yield from _coverage(ctx, document, defined)


def _defined(document: Document[ServiceLevelSpec]) -> dict[str, PriorityTarget]:
    """Priority name (P1..) -> its targets, for those the level defines."""
    support = document.spec.support
    if support is None:
        return {}
    named = {name: support.priorities.target(name) for name in ("P1", "P2", "P3", "P4")}
    return {name: target for name, target in named.items() if target is not None}


def _response_before_resolution(ctx: CheckContext, document: Document[ServiceLevelSpec],
                                defined: dict[str, PriorityTarget]) -> Iterator[Finding]:
    for name, target in defined.items():
        if target.response.seconds >= target.resolution.seconds:
            yield ctx.fail(document, f"{name} response {target.response} is not shorter than its resolution "
                           f"{target.resolution}: a resolution cannot be promised before the response",
                           (*_PRIORITIES, name))


def _non_decreasing(ctx: CheckContext, document: Document[ServiceLevelSpec], defined: dict[str, PriorityTarget]
                    ) -> Iterator[Finding]:
    ordered = [name for name in ctx.param("priorityOrder") if name in defined]
    for more_urgent, less_urgent in zip(ordered, ordered[1:]):
        urgent, later = defined[more_urgent], defined[less_urgent]
        for field, slower, faster in (("response", urgent.response, later.response),
                                      ("resolution", urgent.resolution, later.resolution)):
            if faster.seconds < slower.seconds:
                yield ctx.fail(document, f"{less_urgent} {field} {faster} is faster than {more_urgent} {field} "
                               f"{slower}: a less urgent priority must not be handled faster; make {more_urgent} "
                               f"at least as fast", (*_PRIORITIES, less_urgent, field))


def _coverage(ctx: CheckContext, document: Document[ServiceLevelSpec], defined: dict[str, PriorityTarget]
              ) -> Iterator[Finding]:
    spec = document.spec
    if ctx.calendar(spec.coverage) is None:
        yield ctx.fail(document, f"coverage calendar '{spec.coverage}' is not a BusinessCalendar: fix the name "
                       "or add the calendar", ("spec", "coverage"))
    for name, target in defined.items():
        if target.coverage is not None and ctx.calendar(target.coverage) is None:
            yield ctx.fail(document, f"{name} coverage calendar '{target.coverage}' is not a BusinessCalendar: "
                           "fix the name or add the calendar", (*_PRIORITIES, name, "coverage"))
    service: Document[ServiceSpec] | None = ctx.service(spec.service)
    if service is None or not _always_on(ctx.calendar(service.spec.support_hours)):
        return
    for name in ctx.param("alwaysOnPriorities"):
        always = defined.get(name)
        if always is None:
            continue
        calendar = always.coverage or spec.coverage
        if ctx.calendar(calendar) is not None and not _always_on(ctx.calendar(calendar)):
            path = (*_PRIORITIES, name, "coverage") if always.coverage else (*_PRIORITIES, name)
            yield ctx.fail(document, f"{name} is covered only by '{calendar}', but {service.name} is supported "
                           f"24x7 ('{service.spec.support_hours}'): cover {name} with an always-on calendar", path)


def _always_on(calendar: Document[BusinessCalendarSpec] | None) -> bool:
    if calendar is None:
        return False
    spec = calendar.spec
    if spec.always_on:
        return True
    if spec.holidays:
        return False
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return all(_whole_day([(h.from_, h.to) for h in spec.weekly if day in h.days]) for day in days)


def _whole_day(ranges: list[tuple[str, str]]) -> bool:
    """True when the "HH:MM" ranges together cover 00:00 to 24:00."""
    reached = 0
    for start, end in sorted((_minutes(f), _minutes(t)) for f, t in ranges):
        if start > reached:
            return False
        reached = max(reached, end)
    return reached >= 24 * 60


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)
