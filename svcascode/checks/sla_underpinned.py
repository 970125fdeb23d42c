"""The OLAs and underpinning contracts behind an SLA respond and resolve no slower than it promises.

For an SLA in force on the as-of date, every dependency its service declares `hard` is followed to the
OLAs and UCs of that dependency in force on the same date (`facts.level_in_force`; an expired or
not-yet-valid level is left to sla-review-current). An OLA underpins the SLA only when it is agreed with
the SLA's provider: its `customer` is the team that owns the SLA's service, or a team above it, by name or
title; an OLA agreed with another team promises that team, not this one, and does not count (a UC is
the organisation's contract with a supplier and counts whoever signed it). A dependency whose OLAs are
all agreed with other teams is, for this control, one without an OLA. When the SLA names its underpinning levels in spec.underpinnedBy and some of
them are levels of that dependency, only those count: the SLA says which agreement it relies on. For each priority both define, the underpinning level's response and its
resolution must each be no longer than the SLA's own; where one is longer, the finding names the chain
SLA -> service -> hard dependency -> OLA/UC with the priority and both durations. A priority only one of
them defines, and a dependency without any OLA or UC, are not this control's concern (sla-support-targets
and sla-dep-feasible report those). Durations are compared as written; the coverage calendars they are
counted in are not.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import ServiceLevelSpec, ServiceSpec
from svcascode.models.service import PriorityTarget

PARAMS: dict[str, Any] = {
    "underpinningTypes": ["OLA", "UC"],
    "dependencyCriticality": "hard",
}

PRIORITIES = ("P1", "P2", "P3", "P4")
_PRIORITIES_PATH = ("spec", "support", "priorities")


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceLevelSpec)
    if not ctx.in_date(document) or document.spec.support is None:
        return
    service: Document[ServiceSpec] | None = ctx.service(document.spec.service)
    if service is None:
        return
    own = _targets(document)
    types, criticality = tuple(ctx.param("underpinningTypes")), ctx.param("dependencyCriticality")
    named = set(document.spec.underpinned_by)
    provider = _provider(ctx, service)
    seen: set[str] = set()
    for dependency in service.spec.dependencies:
        if dependency.criticality != criticality or dependency.service in seen:
            continue
        seen.add(dependency.service)
        levels: list[Document[ServiceLevelSpec]] = ctx.service_levels(dependency.service, types)
        agreed = [level for level in levels if level.spec.type != "OLA" or _agreed_with(level, provider)]
        chosen = [level for level in agreed if level.name in named] or agreed
        for level in sorted(chosen, key=lambda level: level.name):
            yield from _compare(ctx, document, service.name, dependency.service, level, own)


def _provider(ctx: CheckContext, service: Document[ServiceSpec]) -> list[Document]:
    """The team that owns the service and the teams above it, nearest first (a cycle stops the walk)."""
    found: list[Document] = []
    team = ctx.catalogue.get("Team", str(service.spec.owner))
    while team is not None and all(team is not t for t in found):
        found.append(team)
        parent = team.spec.parent
        team = ctx.catalogue.get("Team", str(parent)) if parent else None
    return found


def _agreed_with(level: Document[ServiceLevelSpec], provider: list[Document]) -> bool:
    """Whether the level's customer names one of the provider's teams, by name or by title (any case)."""
    customer = " ".join(str(level.spec.customer).split()).casefold()
    return any(customer in (team.name.casefold(), " ".join(str(team.model.metadata.title or "").split()).casefold())
               for team in provider)


def _compare(ctx: CheckContext, document: Document[ServiceLevelSpec], service: str, dependency: str,
             level: Document[ServiceLevelSpec], own: dict[str, PriorityTarget]) -> Iterator[Finding]:
    theirs = _targets(level)
    chain = f"{document.name} -> {service} -> {dependency} (hard) -> {level.name} ({level.spec.type})"
    for priority in PRIORITIES:
        mine, under = own.get(priority), theirs.get(priority)
        if mine is None or under is None:
            continue
        slower = [(measure, str(getattr(under, measure)), str(getattr(mine, measure)))
                  for measure in ("response", "resolution")
                  if getattr(under, measure).seconds > getattr(mine, measure).seconds]
        if not slower:
            continue
        said = "; ".join(f"{priority} {measure} {theirs_} is slower than the SLA's {ours}"
                         for measure, theirs_, ours in slower)
        yield ctx.fail(document, f"{chain}: {said}: the {level.spec.type} cannot support the SLA; negotiate "
                       f"a faster {level.spec.type}, relax the SLA's {priority} target, or make the dependency "
                       "soft with a degraded mode", (*_PRIORITIES_PATH, priority, slower[0][0]))


def _targets(level: Document[ServiceLevelSpec]) -> dict[str, PriorityTarget]:
    support = level.spec.support
    if support is None:
        return {}
    named = {name: support.priorities.target(name) for name in PRIORITIES}
    return {name: target for name, target in named.items() if target is not None}
