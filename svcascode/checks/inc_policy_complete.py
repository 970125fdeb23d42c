"""Incident policies are complete, referenced by production services, and exercised.

On a Service of a lifecycle in `serviceLifecycles` (types in `exemptServiceTypes` are exempt):
spec.operations.incidentPolicy is set. On an IncidentPolicy: ack times strictly increase from SEV1
downwards; each level in `pagingLevels` exists, pages, and requires a postmortem within
`maxPostmortemWithin`; security notification times (notifyCisoWithin, regulatorNotificationWithin)
are set; exercise.cadence is set and at most `maxExerciseCadence`; the newest passing Evidence of type
`evidenceType` about the policy is no older than that cadence.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import EvidenceSpec, IncidentPolicySpec, ServiceSpec
from svcascode.models.common import duration_seconds

PARAMS: dict[str, Any] = {
    "serviceLifecycles": ["production"],
    "exemptServiceTypes": ["external"],
    "pagingLevels": ["SEV1", "SEV2"],
    "maxPostmortemWithin": "5d",
    "maxExerciseCadence": "365d",
    "evidenceType": "ir-exercise",
}



def check(ctx: CheckContext, document: Document) -> Iterator[Finding]:
    if document.kind == "Service":
        yield from _service(ctx, expect(document, ServiceSpec))
    elif document.kind == "IncidentPolicy":
        policy = expect(document, IncidentPolicySpec)
        yield from _severities(ctx, policy)
        yield from _security(ctx, policy)
        yield from _exercise(ctx, policy)


def _service(ctx: CheckContext, document: Document[ServiceSpec]) -> Iterator[Finding]:
    spec = document.spec
    if spec.lifecycle not in ctx.param("serviceLifecycles") or spec.type in ctx.param("exemptServiceTypes"):
        return
    if spec.operations is None or spec.operations.incident_policy is None:
        yield ctx.fail(document, f"{spec.lifecycle} service without an incident policy: set "
                       "spec.operations.incidentPolicy to an IncidentPolicy", ("spec", "operations", "incidentPolicy"))


def _severities(ctx: CheckContext, document: Document[IncidentPolicySpec]) -> Iterator[Finding]:
    levels = sorted(enumerate(document.spec.severities), key=lambda item: item[1].level)
    for (_, higher), (index, lower) in zip(levels, levels[1:]):
        if lower.ack.seconds <= higher.ack.seconds:
            yield ctx.fail(document, f"{lower.level} ack {lower.ack} is not longer than {higher.level} ack "
                           f"{higher.ack}: more severe incidents must be acknowledged faster",
                           ("spec", "severities", index, "ack"))
    present = {level.level: index for index, level in levels}
    limit = str(ctx.param("maxPostmortemWithin"))
    for name in ctx.param("pagingLevels"):
        if name not in present:
            yield ctx.fail(document, f"no {name} level: add it with page: true and a postmortem within {limit}",
                           ("spec", "severities"))
            continue
        index = present[name]
        level = document.spec.severities[index]
        path = ("spec", "severities", index)
        if not level.page:
            yield ctx.fail(document, f"{name} does not page anyone: set page: true", (*path, "page"))
        postmortem = level.postmortem
        if postmortem is None or not postmortem.required:
            yield ctx.fail(document, f"{name} incidents need a postmortem: set postmortem: {{required: true, "
                           f"within: {limit}}}", (*path, "postmortem"))
        elif postmortem.within is None or postmortem.within.seconds > duration_seconds(limit):
            written = postmortem.within or "no deadline"
            yield ctx.fail(document, f"{name} postmortem within {written}, longer than {limit}: set "
                           f"postmortem.within to {limit} or less", (*path, "postmortem", "within"))


def _security(ctx: CheckContext, document: Document[IncidentPolicySpec]) -> Iterator[Finding]:
    security = document.spec.security
    missing = [name for name, value in (
        ("notifyCisoWithin", security.notify_ciso_within if security else None),
        ("regulatorNotificationWithin", security.regulator_notification_within if security else None),
    ) if value is None]
    if missing:
        yield ctx.fail(document, f"security incident notification times not set ({', '.join(missing)}): add them "
                       "under spec.security (regulators often require 72h)",
                       ("spec", "security") if security is not None else ("spec",))


def _exercise(ctx: CheckContext, document: Document[IncidentPolicySpec]) -> Iterator[Finding]:
    exercise = document.spec.exercise
    limit = str(ctx.param("maxExerciseCadence"))
    cadence = limit
    if exercise is None:
        yield ctx.fail(document, f"no exercise cadence: set spec.exercise.cadence to {limit} or less", ("spec",))
    elif exercise.cadence.seconds > duration_seconds(limit):
        yield ctx.fail(document, f"exercise cadence {exercise.cadence} is longer than {limit}: exercise the policy "
                       f"at least every {limit}", ("spec", "exercise", "cadence"))
    else:
        cadence = str(exercise.cadence)
    path = ("spec", "exercise") if exercise is not None else ("spec",)
    evidence_type = ctx.param("evidenceType")
    newest: Document[EvidenceSpec] | None = ctx.newest_evidence(document, evidence_type)
    if newest is None:
        yield ctx.fail(document, f"no passing {evidence_type} Evidence: exercise the policy and record it (subject "
                       f"{document.ref})", path)
        return
    age = ctx.overdue(newest, cadence)
    if age is not None:
        yield ctx.fail(document, f"newest exercise ({newest.name}, {newest.spec.performed_at}) is {age} days old, "
                       f"older than the cadence {cadence}: run an exercise and record it", path)
