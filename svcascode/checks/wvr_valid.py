"""Waivers are in date, approved independently, time-limited and scoped.

For each Waiver, as of the evaluation date:
- expired (as-of on or after expiresAt): a finding; the findings it waived are reported open again;
- approved by its own requester (requestedBy listed in approvedBy): a finding;
- in force longer than `maxWaiverDaysCriticalHigh` (critical and high controls) or `maxWaiverDaysOther`
  (medium, low, info), counted from approvedAt to expiresAt: a finding;
- a waiver of a control whose severity is in `riskOwnerRequiredFor` needs at least one approver who
  is a member with role `riskOwnerRole` of some Team: a finding otherwise;
- a subject of a kind the control does not apply to can never be waived: a finding;
- expiring within `warnWithin`: a warning, so it is renewed or closed in time;
- in force but suppressing no finding: a warning, the waiver is stale and can be deleted.

A waiver with any of the findings above (not the warnings) suppresses nothing: the findings it names
stay open until it is fixed, since an auditor cannot rely on a risk acceptance that breaks the policy.

That the waived control and subjects exist, and that subjects are explicit kind:name references
without wildcards, is checked when the documents are validated (ref-unresolved, schema-invalid).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterator

from svcascode.catalogue import KIND_BY_LOWER
from svcascode.checks.base import DAY, WARNING_SEVERITY, CheckContext, seconds
from svcascode.documents import Document, expect
from svcascode.facts import expired as is_expired
from svcascode.facts import self_approved as is_self_approved
from svcascode.facts import waiver_state
from svcascode.finding import Finding
from svcascode.models import ControlSpec, WaiverSpec
from svcascode.rules import WAIVER_CONTROL

PARAMS: dict[str, Any] = {
    "maxWaiverDaysCriticalHigh": "180d",
    "maxWaiverDaysOther": "365d",
    "warnWithin": "14d",
    "riskOwnerRole": "risk-owner",
    "riskOwnerRequiredFor": ["critical"],
}

SPEC = ("spec",)


def _days(value: Any) -> int:
    """A parameter given as a duration (`180d`) or as a number of days."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    return int((seconds(str(value)) or 0) // DAY)


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, WaiverSpec)
    spec = document.spec
    control = ctx.catalogue.get("Control", spec.control)
    policy: list[Finding] = []
    if is_expired(document, ctx.as_of):
        policy.append(ctx.fail(document, f"expired on {spec.expires_at}; the findings it waived are open again: "
                               "fix them, or renew the waiver with a new approval and expiry", (*SPEC, "expiresAt")))
    if is_self_approved(document):
        index = list(spec.approved_by).index(spec.requested_by)
        policy.append(ctx.fail(document, f"approved by its own requester {spec.requested_by}; approval must be "
                               "independent, so it waives nothing: have someone else approve it",
                               (*SPEC, "approvedBy", index)))
    if control is not None:
        severity = str(control.spec.severity)
        policy.extend(_duration(ctx, document, severity))
        policy.extend(_risk_owner(ctx, document, severity))
        policy.extend(_scope(ctx, document, control))
    yield from policy
    if not waiver_state(document, ctx.as_of, any(fails_policy(f) for f in policy)).suppresses:
        return  # not in force, or waiving nothing because it fails the above: neither expiring soon nor stale
    left = (spec.expires_at - ctx.as_of).days
    if left <= _days(ctx.param("warnWithin")):
        yield ctx.warn(document, f"expires on {spec.expires_at}, in {left} day{'s' * (left != 1)}: fix the "
                       "findings it waives or renew it before then", (*SPEC, "expiresAt"))


def fails_policy(finding: Finding) -> bool:
    """A finding of this control that fails its waiver (not merely a warning about it): the waiver then
    suppresses nothing."""
    return (finding.severity, finding.enforcement) != (WARNING_SEVERITY, "warn")


def stale(waiver: Document[WaiverSpec], as_of: date) -> Finding:
    """The warning for a waiver in force that suppressed no finding of this evaluation (its control ran): it
    is stale and can be deleted. Made by the engine once every other control has been evaluated and the
    waivers applied, since only then is it known what a waiver matched."""
    spec = waiver.spec
    return waiver.finding(WAIVER_CONTROL, WARNING_SEVERITY, f"matches no finding: stale; {spec.control} reports "
                          f"nothing about {', '.join(spec.subjects)} as of {as_of}, so delete the waiver or correct "
                          "its subjects", (*SPEC, "subjects"), enforcement="warn")


def _duration(ctx: CheckContext, document: Document[WaiverSpec], severity: str) -> Iterator[Finding]:
    spec = document.spec
    strict = severity in ("critical", "high")
    limit = _days(ctx.param("maxWaiverDaysCriticalHigh" if strict else "maxWaiverDaysOther"))
    length = (spec.expires_at - spec.approved_at).days
    if length > limit:
        which = "critical and high" if strict else "medium, low and info"
        yield ctx.fail(document, f"in force for {length} days ({spec.approved_at} to {spec.expires_at}); "
                       f"waivers of {which} controls may last at most {limit} days: bring expiresAt forward "
                       "and renew it when it ends", (*SPEC, "expiresAt"))


def _risk_owner(ctx: CheckContext, document: Document[WaiverSpec], severity: str) -> Iterator[Finding]:
    if severity not in ctx.param("riskOwnerRequiredFor"):
        return
    role = str(ctx.param("riskOwnerRole"))
    owners = {member.id.lower() for team in ctx.catalogue.of_kind("Team") for member in team.spec.members
              if member.role == role}
    if not any(approver.lower() in owners for approver in document.spec.approved_by):
        yield ctx.fail(document, f"waives the {severity} control {document.spec.control}, but no approver holds "
                       f"the {role} role in any Team: add the approval of a {role}",
                       (*SPEC, "approvedBy"))


def _scope(ctx: CheckContext, document: Document[WaiverSpec], control: Document[ControlSpec]) -> Iterator[Finding]:
    kinds = set(control.spec.applies_to.kinds)
    for index, subject in enumerate(document.spec.subjects):
        kind = KIND_BY_LOWER.get(subject.partition(":")[0])
        if kind is not None and kind not in kinds:
            yield ctx.fail(document, f"{subject}: {control.name} applies to {', '.join(sorted(kinds))} documents, "
                           f"not to {kind}, so this subject can never be waived: name the "
                           f"{' or '.join(sorted(kinds))} it is about", (*SPEC, "subjects", index))
