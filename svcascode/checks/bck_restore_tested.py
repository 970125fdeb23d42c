"""Restores are tested recently and the test met the objectives.

The newest Evidence of type `evidenceType` with result `requiredResult` about the Service must be no
older than the Baseline `restore_test_max_age` for its tier (180d tier-0/1, 365d tier-2), and what it
measured must meet the objectives: measured.restoreDuration <= spec.continuity.rto and
measured.dataLossWindow <= spec.continuity.rpo (a missing measurement for a declared objective is a
finding). Services that declare neither an rpo nor a backup hold no data to restore and are skipped.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext, seconds
from svcascode.documents import Document
from svcascode.finding import Finding

PARAMS: dict[str, Any] = {
    "evidenceType": "restore-test",
    "requiredResult": "pass",
}

CONTINUITY = ("spec", "continuity")


def check(ctx: CheckContext, document: Document) -> Iterator[Finding]:
    continuity = document.spec.continuity
    if continuity is None or (continuity.rpo is None and (continuity.backup is None
                                                          or continuity.backup.method == "none")):
        return
    tier = document.spec.tier
    max_age = ctx.tier_param("restore_test_max_age", tier)
    evidence_type, result = ctx.param("evidenceType"), ctx.param("requiredResult")
    newest = ctx.newest_evidence(document, evidence_type, result)
    if newest is None:
        yield ctx.fail(document, f"no {evidence_type} Evidence with result {result}: run a restore drill and record "
                       f"it (subject {document.ref})", CONTINUITY)
        return
    age = ctx.overdue(newest, max_age)
    if age is not None:
        yield ctx.fail(document, f"newest restore test ({newest.name}, {newest.spec.performed_at}) is {age} days old, "
                       f"older than the {tier} maximum {max_age}: run a restore drill and record it", CONTINUITY)
    measured = newest.spec.measured
    for objective, field, label in (("rto", "restore_duration", "restoreDuration"),
                                    ("rpo", "data_loss_window", "dataLossWindow")):
        target = getattr(continuity, objective)
        if target is None:
            continue
        value = getattr(measured, field, None) if measured is not None else None
        if value is None:
            yield ctx.fail(document, f"restore test {newest.name} records no measured.{label}, so the {objective} "
                           f"{target} is unverified: record what the drill measured", (*CONTINUITY, objective))
        elif seconds(value) > seconds(target):  # type: ignore[operator]
            yield ctx.fail(document, f"restore test {newest.name} measured {label} {value}, more than the "
                           f"{objective} {target}: fix the restore path or agree a longer {objective}",
                           (*CONTINUITY, objective))
