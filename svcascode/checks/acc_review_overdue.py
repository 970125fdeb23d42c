"""Access reviews are current and their cadences are within the baseline.

spec.review.privilegedCadence must not exceed the Baseline `access_review_privileged_max`, nor
standardCadence `access_review_standard_max`, for the strictest tier among the targets. The newest
Evidence of type `evidenceType` with result `requiredResult` about this policy must be no older than
the cadence that applies: the privileged one as soon as any role is privileged, else the standard one.
A cadence that applies but is not declared is a finding; the evidence is then judged by the maximum.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import AccessPolicySpec, EvidenceSpec
from svcascode.models.common import Duration, duration_seconds

PARAMS: dict[str, Any] = {
    "evidenceType": "access-review",
    "requiredResult": "pass",
}

REVIEW = ("spec", "review")


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, AccessPolicySpec)
    review = document.spec.review
    tier = ctx.tier_of(document)
    privileged = any(role.privileged for role in document.spec.roles)
    cadences: dict[str, tuple[Duration | None, str | None]] = {
        "privilegedCadence": (review.privileged_cadence, ctx.tier_param("access_review_privileged_max", tier)),
        "standardCadence": (review.standard_cadence, ctx.tier_param("access_review_standard_max", tier)),
    }
    for field, (declared, maximum) in cadences.items():
        if declared is not None and maximum is not None and declared.seconds > duration_seconds(str(maximum)):
            yield ctx.fail(document, f"{field} {declared} is longer than the {tier} baseline maximum {maximum}: "
                           f"review at least every {maximum}", (*REVIEW, field))
    applies = "privilegedCadence" if privileged else "standardCadence"
    declared, maximum = cadences[applies]
    if declared is None:
        reason = "a role is privileged" if privileged else "no role is privileged"
        yield ctx.fail(document, f"no {applies} although {reason}: set spec.review.{applies} (at most "
                       f"{maximum})", REVIEW)
    cadence = declared or maximum
    if cadence is None:
        return
    evidence_type, result = ctx.param("evidenceType"), ctx.param("requiredResult")
    newest: Document[EvidenceSpec] | None = ctx.newest_evidence(document, evidence_type, result)
    if newest is None:
        yield ctx.fail(document, f"no {evidence_type} Evidence with result {result} for {document.ref}: run the "
                       f"review and record it (subject {document.ref})", REVIEW)
        return
    age = ctx.overdue(newest, cadence)
    if age is not None:
        yield ctx.fail(document, f"newest {evidence_type} ({newest.name}, {newest.spec.performed_at}) is {age} days "
                       f"old, older than the {applies} {cadence}: run the review and record it as Evidence",
                       (*REVIEW, applies) if declared else REVIEW)
