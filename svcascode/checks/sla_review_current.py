"""A service level is reviewed on its cadence, reported on, and not expired.

For every ServiceLevel, expired ones included: spec.review.cadence is at most `maxReviewCadence`
(365d); the newest passing Evidence of type `evidenceType` (sla-review) whose subject is this level
is at most one review cadence old on the as-of date (a level with no review yet is due one cadence
after its validFrom); spec.validTo is not before the as-of date; spec.reporting exists, its cadence
(weekly = 7d, monthly = 31d, quarterly = 92d) is no longer than the review cadence and it has at
least `minRecipients` recipients.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import DAY, CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import EvidenceSpec, ServiceLevelSpec
from svcascode.models.common import duration_seconds

PARAMS: dict[str, Any] = {
    "evidenceType": "sla-review",
    "maxReviewCadence": "365d",
    "minRecipients": 1,
}

REPORTINGDAYS = {"weekly": 7, "monthly": 31, "quarterly": 92}


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceLevelSpec)
    yield from _cadence_and_review(ctx, document)
    yield from _not_expired(ctx, document)
    yield from _reporting(ctx, document)


def _cadence_and_review(ctx: CheckContext, document: Document[ServiceLevelSpec]) -> Iterator[Finding]:
    cadence = document.spec.review.cadence
    maximum = str(ctx.param("maxReviewCadence"))
    if cadence.seconds > duration_seconds(maximum):
        yield ctx.fail(document, f"review cadence {cadence} is longer than the maximum of {maximum}: review at "
                       f"least every {maximum}", ("spec", "review", "cadence"))
    due_days = min(cadence.seconds, duration_seconds(maximum)) / DAY
    kind = str(ctx.param("evidenceType"))
    reviews: list[Document[EvidenceSpec]] = ctx.evidence(document, kind)
    if reviews:
        last = reviews[0].spec.performed_at
        if ctx.age_days(last) > due_days:
            yield ctx.fail(document, f"last passing {kind} was on {last}, {ctx.age_days(last)} days ago, longer "
                           f"than the {due_days:g}d review cadence: hold the review and record it as Evidence",
                           ("spec", "review"))
    elif ctx.age_days(document.spec.valid_from) > due_days:
        yield ctx.fail(document, f"no passing {kind} Evidence for servicelevel:{document.name} although it has been "
                       f"valid since {document.spec.valid_from}, more than the {due_days:g}d review cadence: "
                       f"hold the review and record it as Evidence (type {kind}, result pass)", ("spec", "review"))


def _not_expired(ctx: CheckContext, document: Document[ServiceLevelSpec]) -> Iterator[Finding]:
    valid_to = document.spec.valid_to
    if valid_to is not None and valid_to < ctx.as_of:
        yield ctx.fail(document, f"expired on {valid_to}, {ctx.age_days(valid_to)} days ago: renew it after a "
                       "review (move spec.validTo) or remove it", ("spec", "validTo"))


def _reporting(ctx: CheckContext, document: Document[ServiceLevelSpec]) -> Iterator[Finding]:
    reporting = document.spec.reporting
    if reporting is None:
        yield ctx.fail(document, "no reporting: add spec.reporting with a cadence and recipients", ("spec",))
        return
    cadence = document.spec.review.cadence
    if REPORTINGDAYS[reporting.cadence] * DAY > cadence.seconds:
        yield ctx.fail(document, f"reporting cadence {reporting.cadence} ({REPORTINGDAYS[reporting.cadence]}d) "
                       f"is longer than the {cadence} review cadence: report at least as often as the level is "
                       "reviewed", ("spec", "reporting", "cadence"))
    minimum = int(ctx.param("minRecipients"))
    if len(reporting.recipients) < minimum:
        yield ctx.fail(document, f"reporting has {len(reporting.recipients)} recipient(s), fewer than {minimum}: "
                       "name who receives the reports in spec.reporting.recipients",
                       ("spec", "reporting", "recipients"))
