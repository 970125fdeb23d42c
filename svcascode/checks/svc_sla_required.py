"""A production service of tier 0-2 has at least one service level (SLA or OLA) in force today.

A level is in force from spec.validFrom to spec.validTo inclusive (no validTo: open-ended): it is
expired only when its validTo is *before* the as-of date, so validTo is the last day in force, here and
in every other control (CheckContext.in_date, sla-review-current). The
finding names the levels that exist but are expired or not yet valid. External services are out of
scope (the control's `where` selects business, technical and platform services): they need an
underpinning contract instead, checked by svc-supplier-uc.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import ServiceLevelSpec, ServiceSpec

PARAMS: dict[str, Any] = {
    "serviceLevelTypes": ["SLA", "OLA"],
    "minActive": 1,
}


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceSpec)
    types = tuple(ctx.param("serviceLevelTypes"))
    levels: list[Document[ServiceLevelSpec]] = ctx.service_levels(document.name, types, in_date_only=False)
    active = [level for level in levels if ctx.in_date(level)]
    minimum = int(ctx.param("minActive"))
    if len(active) >= minimum:
        return
    kinds = " or ".join(types)
    others = "; ".join(_why_not_in_force(ctx, level) for level in levels if not ctx.in_date(level))
    found = f" ({others})" if others else ""
    yield ctx.fail(document, f"{document.spec.lifecycle} {document.spec.tier} service has {len(active)} {kinds} "
                   f"in force, {minimum} required{found}: add a ServiceLevel with spec.service "
                   f"{document.name} valid today, or renew the expired one", ("metadata", "name"))


def _why_not_in_force(ctx: CheckContext, level: Document[ServiceLevelSpec]) -> str:
    spec = level.spec
    if spec.valid_from > ctx.as_of:
        return f"{level.name} starts on {spec.valid_from}"
    return f"{level.name} expired on {spec.valid_to}"
