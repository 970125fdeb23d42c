"""The disaster-recovery strategy can meet the RTO and has been tested.

Tier-0/1 services declare spec.continuity.dr.strategy; its floor from `minRtoByStrategy` (backup-restore
4h, pilot-light 1h, warm-standby 15m; active-active has none) must not exceed spec.continuity.rto. The
newest passing Evidence of type `evidenceType` about the Service must be no older than the Baseline
`dr_test_max_age` for its tier.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import EvidenceSpec, ServiceSpec
from svcascode.models.common import duration_seconds

PARAMS: dict[str, Any] = {
    "evidenceType": "dr-test",
    "minRtoByStrategy": {"backup-restore": "4h", "pilot-light": "1h", "warm-standby": "15m"},
}

CONTINUITY = ("spec", "continuity")


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceSpec)
    continuity = document.spec.continuity
    dr = continuity.dr if continuity is not None else None
    if continuity is None or dr is None:
        yield ctx.fail(document, f"{document.spec.tier} service without a disaster-recovery strategy: set "
                       "spec.continuity.dr.strategy", CONTINUITY if continuity is not None else ("spec",))
    elif continuity.rto is not None:
        floor = dict(ctx.param("minRtoByStrategy")).get(dr.strategy)
        rto = continuity.rto
        if floor is not None and rto.seconds < duration_seconds(str(floor)):
            yield ctx.fail(document, f"{dr.strategy} cannot recover within the RTO {rto} (it needs at least "
                           f"{floor}): choose a faster strategy or raise spec.continuity.rto to {floor}",
                           (*CONTINUITY, "dr", "strategy"))
    yield from _tested(ctx, document)


def _tested(ctx: CheckContext, document: Document[ServiceSpec]) -> Iterator[Finding]:
    evidence_type = ctx.param("evidenceType")
    max_age = ctx.tier_param("dr_test_max_age", document.spec.tier)
    newest: Document[EvidenceSpec] | None = ctx.newest_evidence(document, evidence_type)
    path = CONTINUITY if document.spec.continuity is not None else ("spec",)
    if newest is None:
        yield ctx.fail(document, f"no passing {evidence_type} Evidence: run a DR test and record it (subject "
                       f"{document.ref})", path)
        return
    age = ctx.overdue(newest, max_age)
    if age is not None:
        yield ctx.fail(document, f"newest DR test ({newest.name}, {newest.spec.performed_at}) is {age} days old, "
                       f"older than the maximum {max_age}: run a DR test and record it", path)
