"""Production services are health-checked often enough, and critical tiers alert their owners.

spec.operations.monitoring.healthCheck.interval must not exceed the Baseline
`healthcheck_max_interval` for the tier (60s tier-0/1, 5m otherwise). Services of `alertingTiers`
list at least one OpenSLO SLO (monitoring.slos) with an alert policy (inline in spec.alertPolicies or
an AlertPolicy document named by alertPolicyRef) that has a condition of kind `alertConditionKind` and
a notification target (inline or an AlertNotificationTarget named by targetRef) whose label
`teamLabel` names the Service's owner team.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import ServiceSpec, SloSpec
from svcascode.models.common import duration_seconds

PARAMS: dict[str, Any] = {
    "alertingTiers": ["tier-0", "tier-1"],
    "alertConditionKind": "burnrate",
    "teamLabel": "svcascode.io/team",
}

MONITORING = ("spec", "operations", "monitoring")


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceSpec)
    spec = document.spec
    monitoring = spec.operations.monitoring if spec.operations is not None else None
    health = monitoring.health_check if monitoring is not None else None
    maximum = ctx.tier_param("healthcheck_max_interval", spec.tier)
    if health is None:
        yield ctx.fail(document, f"no health check: set spec.operations.monitoring.healthCheck with a url and an "
                       f"interval of at most {maximum}", (*MONITORING, "healthCheck"))
    elif maximum is not None and health.interval.seconds > duration_seconds(str(maximum)):
        yield ctx.fail(document, f"health check every {health.interval} is slower than the {spec.tier} maximum "
                       f"{maximum}: poll at least every {maximum}", (*MONITORING, "healthCheck", "interval"))
    if spec.tier not in ctx.param("alertingTiers"):
        return
    slos = list(monitoring.slos) if monitoring is not None else []
    if not slos:
        yield ctx.fail(document, f"{spec.tier} service without an SLO: list an OpenSLO SLO with a "
                       f"{ctx.param('alertConditionKind')} alert policy in spec.operations.monitoring.slos",
                       (*MONITORING, "slos"))
        return
    reasons: list[str] = []
    for name in slos:
        slo = ctx.catalogue.get("SLO", name)
        if slo is None:
            continue  # an unresolved reference is reported when the catalogue is loaded
        reason = _why_not_alerting(ctx, slo, spec.owner)
        if reason is None:
            return
        reasons.append(reason)
    if reasons:
        yield ctx.fail(document, f"no SLO alerts the owner {spec.owner} on error-budget burn: {'; '.join(reasons)}",
                       (*MONITORING, "slos"))


def _why_not_alerting(ctx: CheckContext, slo: Document[SloSpec], owner: str) -> str | None:
    """None when the SLO has a qualifying alert policy, else what is missing."""
    kind = ctx.param("alertConditionKind")
    policies = [p for p in (_policy(ctx, item) for item in _items(slo.data, "alertPolicies")) if p is not None]
    if not policies:
        return f"SLO {slo.name} has no alert policy"
    burning = [p for p in policies if any(_condition_kind(ctx, c) == kind for c in _items(p, "conditions"))]
    if not burning:
        return f"SLO {slo.name} has no alert policy with a {kind} condition"
    teams: list[str] = []
    for policy in burning:
        for target in _items(policy, "notificationTargets"):
            team = _target_team(ctx, target)
            if team == owner:
                return None
            teams.append(str(team) if team else "no team")
    routed = ", ".join(sorted(set(teams))) or "nobody"
    return (f"the {kind} alerts of SLO {slo.name} notify {routed}; label an AlertNotificationTarget "
            f"{ctx.param('teamLabel')}: {owner} and use it")


def _items(data: Any, key: str) -> list[Any]:
    spec = data.get("spec") if isinstance(data, dict) else None
    value = spec.get(key) if isinstance(spec, dict) else None
    return value if isinstance(value, list) else []


def _policy(ctx: CheckContext, item: Any) -> dict[str, Any] | None:
    if isinstance(item, str):
        item = {"alertPolicyRef": item}
    if not isinstance(item, dict):
        return None
    if "alertPolicyRef" in item:
        document = ctx.catalogue.get("AlertPolicy", str(item["alertPolicyRef"]))
        return document.data if document is not None else None
    return item


def _condition_kind(ctx: CheckContext, item: Any) -> Any:
    if isinstance(item, dict) and "conditionRef" in item:
        document = ctx.catalogue.get("AlertCondition", str(item["conditionRef"]))
        item = document.data if document is not None else None
    spec = item.get("spec") if isinstance(item, dict) else None
    condition = spec.get("condition") if isinstance(spec, dict) else None
    return condition.get("kind") if isinstance(condition, dict) else None


def _target_team(ctx: CheckContext, item: Any) -> Any:
    if isinstance(item, dict) and "targetRef" in item:
        document = ctx.catalogue.get("AlertNotificationTarget", str(item["targetRef"]))
        item = document.data if document is not None else None
    metadata = item.get("metadata") if isinstance(item, dict) else None
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return labels.get(ctx.param("teamLabel")) if isinstance(labels, dict) else None
