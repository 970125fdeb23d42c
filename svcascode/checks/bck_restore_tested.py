"""Restores are tested recently and the test met the objectives.

The newest Evidence of type `evidenceType` with result `requiredResult` about the Service must be no
older than the Baseline `restore_test_max_age` for its tier (180d tier-0/1, 365d tier-2), and what it
measured must meet the objectives: measured.restoreDuration <= spec.continuity.rto and
measured.dataLossWindow <= spec.continuity.rpo (a missing measurement for a declared objective is a
finding). Services that declare neither an rpo nor a backup hold no data to restore and are skipped.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import EvidenceSpec, ServiceSpec

PARAMS: dict[str, Any] = {
    "evidenceType": "restore-test",
    "requiredResult": "pass",
}

CONTINUITY = ("spec", "continuity")


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceSpec)
    continuity = document.spec.continuity
    if continuity is None or (continuity.rpo is None and (continuity.backup is None
                                                          or continuity.backup.method == "none")):
        return
    tier = document.spec.tier
    max_age = ctx.tier_param("restore_test_max_age", tier)
    evidence_type, result = ctx.param("evidenceType"), ctx.param("requiredResult")
    newest: Document[EvidenceSpec] | None = ctx.newest_evidence(document, evidence_type, result)
    if newest is None:
        yield ctx.fail(document, f"no {evidence_type} Evidence with result {result}: run a restore drill and record "
                       f"it (subject {document.ref})", CONTINUITY)
        return
    age = ctx.overdue(newest, max_age)
    if age is not None:
        yield ctx.fail(document, f"newest restore test ({newest.name}, {newest.spec.performed_at}) is {age} days old, "
                       f"older than the {tier} maximum {max_age}: run a restore drill and record it", CONTINUITY)
    measured = newest.spec.measured
    for objective, target, label, value in (
            ("rto", continuity.rto, "restoreDuration", measured.restore_duration if measured is not None else None),
            ("rpo", continuity.rpo, "dataLossWindow", measured.data_loss_window if measured is not None else None)):
        if target is None:
            continue
        if value is None:
            yield ctx.fail(document, f"restore test {newest.name} records no measured.{label}, so the {objective} "
                           f"{target} is unverified: record what the drill measured", (*CONTINUITY, objective))
        elif value.seconds > target.seconds:
            yield ctx.fail(document, f"restore test {newest.name} measured {label} {value}, more than the "
                           f"{objective} {target}: fix the restore path or agree a longer {objective}",
                           (*CONTINUITY, objective))
