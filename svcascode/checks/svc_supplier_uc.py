"""An external service that a tier-0/1 service depends on hard has an underpinning contract in force.

Selects external services. When a service of one of `consumerTiers` (not retired) lists it in
spec.dependencies with criticality `consumerCriticality`, a ServiceLevel of type `serviceLevelType`
(UC) for it must be in force today (validFrom <= today <= validTo). Without one, the supplier's part of
the consumer's commitment is unsupported and its availability ceiling cannot be computed.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import ServiceLevelSpec, ServiceSpec

PARAMS: dict[str, Any] = {
    "consumerTiers": ["tier-0", "tier-1"],
    "consumerCriticality": "hard",
    "serviceLevelType": "UC",
}


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceSpec)
    consumers = _critical_consumers(ctx, document.name)
    if not consumers:
        return
    kind = str(ctx.param("serviceLevelType"))
    contracts: list[Document[ServiceLevelSpec]] = ctx.service_levels(document.name, (kind,), in_date_only=False)
    if any(ctx.in_date(contract) for contract in contracts):
        return
    stale = "; ".join(f"{c.name} valid {c.spec.valid_from} to {c.spec.valid_to or 'open'}" for c in contracts)
    status = f"its only {kind}s are not in force ({stale})" if stale else f"it has no {kind}"
    who = ", ".join(f"{s.name} ({s.spec.tier})" for s in consumers)
    yield ctx.fail(document, f"{ctx.param('consumerCriticality')} dependency of {who}, but {status}: add a "
                   f"ServiceLevel of type {kind} from the signed contract, or renew it", ("spec", "supplier"))


def _critical_consumers(ctx: CheckContext, name: str) -> list[Document[ServiceSpec]]:
    tiers, criticality = set(ctx.param("consumerTiers")), ctx.param("consumerCriticality")
    dependants: list[Document[ServiceSpec]] = ctx.catalogue.dependants.get(name, [])
    return sorted((s for s in set(dependants)
                   if s.spec.tier in tiers and s.spec.lifecycle != "retired"
                   and any(d.service == name and d.criticality == criticality for d in s.spec.dependencies)),
                  key=lambda s: s.name)
