"""Service level targets at least as strong as the baseline for the service's tier.

For an in-date ServiceLevel: spec.availability.targetPercent must be at least the per-tier Baseline
parameter min_availability_percent of its service's tier and at most `maxTargetPercent` (99.999: above
that a month leaves under 26 seconds of budget, which nobody can measure); the response target of
`priority` (P1) must be at most the per-tier Baseline parameter p1_response_max. A level without
support priorities (an underpinning contract may have none) is judged on availability only.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import ServiceLevelSpec, ServiceSpec
from svcascode.models.common import duration_seconds
from svcascode.slamath import to_fraction

PARAMS: dict[str, Any] = {
    "maxTargetPercent": 99.999,
    "priority": "P1",
}


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceLevelSpec)
    service: Document[ServiceSpec] | None = ctx.service(document.spec.service)
    if service is None or not ctx.in_date(document):
        return
    tier = str(service.spec.tier)
    yield from _availability(ctx, document, tier)
    yield from _response(ctx, document, tier)


def _availability(ctx: CheckContext, document: Document[ServiceLevelSpec], tier: str) -> Iterator[Finding]:
    target = document.spec.availability.target_percent
    path = ("spec", "availability", "targetPercent")
    minimum = ctx.tier_param("min_availability_percent", tier)
    if minimum is not None and to_fraction(target) < to_fraction(minimum):
        yield ctx.fail(document, f"availability target {target:g}% is below the {tier} minimum of {minimum:g}%: "
                       "raise the target, or lower the Service's tier if it matters less than its tier says", path)
    maximum = ctx.param("maxTargetPercent")
    if to_fraction(target) > to_fraction(maximum):
        yield ctx.fail(document, f"availability target {target:g}% is above {maximum:g}%, more than can be "
                       f"measured within a month: lower it to at most {maximum:g}%", path)


def _response(ctx: CheckContext, document: Document[ServiceLevelSpec], tier: str) -> Iterator[Finding]:
    priority = str(ctx.param("priority"))
    support = document.spec.support
    target = support.priorities.target(priority) if support is not None else None
    maximum = ctx.tier_param("p1_response_max", tier)
    if target is None or maximum is None:
        return
    if target.response.seconds > duration_seconds(str(maximum)):
        yield ctx.fail(document, f"{priority} response {target.response} is slower than the {tier} maximum of "
                       f"{maximum}: shorten the response target to at most {maximum}",
                       ("spec", "support", "priorities", priority, "response"))
