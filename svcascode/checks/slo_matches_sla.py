"""The SLO that measures a promise is at least as strict as the promise: its target no weaker, its
window no longer.

For an in-date SLA or OLA, every OpenSLO SLO named by spec.availability.slo or spec.performance[].slo
has a strictest objective (spec.objectives[].target, or targetPercent / 100) of at least the promised targetPercent / 100, and (for the
availability SLO) a spec.timeWindow no longer than the level's window: a calendar month counts as 31
days, a quarter as 92. `svcascode generate` refuses the same SLOs, so the alerts it writes never
fire only after the promise is already broken. A name that is not an SLO is sla-slo-backed's finding.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document
from svcascode.finding import Finding
from svcascode.monitoring.slos import mismatches

PARAMS: dict[str, Any] = {}


def check(ctx: CheckContext, document: Document) -> Iterator[Finding]:
    if not ctx.in_date(document):
        return
    spec = document.spec
    names = dict.fromkeys([spec.availability.slo, *(t.slo for t in spec.performance)])
    for name in names:
        slo = ctx.catalogue.get("SLO", name) if name else None
        if slo is None or slo.spec.service != spec.service:
            continue
        for mismatch in mismatches(ctx.catalogue, slo, ctx.as_of):
            if mismatch.promise.level is document:
                yield ctx.fail(document, mismatch.level_message, mismatch.promise.path)
