"""Production services have a patch policy within the baseline SLAs and a way to apply it.

A PatchPolicy applies to a Service explicitly (spec.operations.patchPolicy) or, failing that, when its
spec.appliesTo matches the Service's tier and labels (when several match, the strictest value of each
applies). For tiers in `strictTiers`, remediationSla.critical is at most `maxCriticalRemediation` and
.high at most `maxHighRemediation`. The service can be patched: its deployment is one of
`zeroDowntimeDeployments`, or a recurring MaintenanceWindow affecting it (named in the window's
services, in the Service's operations.maintenanceWindows, or by selector) recurs at least as often as
the policy's cadence.os. Recurrence is FREQ x INTERVAL with DAILY=1d, WEEKLY=7d, MONTHLY=31d,
YEARLY=366d, unless the rule's BYxxx parts thin it out: the window is expanded over the next 366 days
and its recurrence is at least 366d / (occurrences + 1) -- a window recurring every p days occurs at
least floor(366/p) times in 366 days, so this never over-states p. A weekly rule limited to January
(5 Saturdays) recurs about every 61d; a rule that never occurs, such as BYMONTH=2;BYMONTHDAY=30,
never lets the service be patched. External services are not selected.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any, Callable, Iterator

from svcascode.calendars import horizon, window_intervals
from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import MaintenanceWindowSpec, PatchPolicySpec, ServiceSpec
from svcascode.models.common import Duration, duration_seconds
from svcascode.models.operations import Schedule

PARAMS: dict[str, Any] = {
    "strictTiers": ["tier-0", "tier-1"],
    "maxCriticalRemediation": "15d",
    "maxHighRemediation": "30d",
    "zeroDowntimeDeployments": ["rolling", "blue-green"],
}

OPERATIONS = ("spec", "operations")
FREQUENCY_SECONDS = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400, "WEEKLY": 7 * 86400,
                     "MONTHLY": 31 * 86400, "YEARLY": 366 * 86400}


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceSpec)
    operations = document.spec.operations
    explicit = operations.patch_policy if operations is not None else None
    if explicit is not None:
        policy = ctx.catalogue.get("PatchPolicy", explicit)
        if policy is None:
            return  # an unresolved reference is reported when the catalogue is loaded
        policies = [policy]
    else:
        policies = sorted((p for p in ctx.catalogue.of_kind("PatchPolicy") if _selects(p, document)),
                          key=lambda p: p.name)
    if not policies:
        yield ctx.fail(document, "no patch policy applies: set spec.operations.patchPolicy or give a PatchPolicy an "
                       f"appliesTo that selects {document.spec.tier}", (*OPERATIONS, "patchPolicy"))
        return
    if document.spec.tier in ctx.param("strictTiers"):
        yield from _remediation(ctx, document, policies)
    yield from _patchable(ctx, document, policies)


def _selects(policy: Document[PatchPolicySpec], service: Document[ServiceSpec]) -> bool:
    scope = policy.spec.applies_to
    if scope.tiers and service.spec.tier not in scope.tiers:
        return False
    return all(service.labels.get(key) == value for key, value in scope.labels.items())


Policy = Document[PatchPolicySpec]


def _strictest(policies: list[Policy], value: Callable[[Policy], Duration | None]) -> tuple[Policy, Duration] | None:
    chosen = [(p, duration) for p in policies if (duration := value(p)) is not None]
    return min(chosen, key=lambda item: item[1].seconds) if chosen else None


def _remediation(ctx: CheckContext, document: Document[ServiceSpec], policies: list[Policy]) -> Iterator[Finding]:
    for severity, param in (("critical", "maxCriticalRemediation"), ("high", "maxHighRemediation")):
        limit = str(ctx.param(param))
        strictest = _strictest(policies, lambda p: p.spec.remediation_sla.critical if severity == "critical"
                               else p.spec.remediation_sla.high)
        if strictest is None:  # not reached: remediationSla.critical and .high are required by the schema
            continue
        policy, allowed = strictest
        if allowed.seconds > duration_seconds(limit):
            yield ctx.fail(document, f"patch policy {policy.name} allows {allowed} to remediate {severity} "
                           f"vulnerabilities; {document.spec.tier} services need at most {limit}: lower its "
                           f"spec.remediationSla.{severity} or assign a stricter policy",
                           (*OPERATIONS, "patchPolicy"))


def _patchable(ctx: CheckContext, document: Document[ServiceSpec], policies: list[Policy]) -> Iterator[Finding]:
    operations = document.spec.operations
    deployment = operations.deployment if operations is not None else None
    zero_downtime = list(ctx.param("zeroDowntimeDeployments"))
    if deployment in zero_downtime:
        return
    strictest = _strictest(policies, lambda p: p.spec.cadence.os)
    cadence = strictest[1] if strictest is not None else None
    # each window's recurrence is the same for every service it affects: worked out once per run
    recurrences = [(w.name, ctx.shared(("recurrence", w.name), partial(_recurrence, ctx, w.spec, schedule)))
                   for w, schedule in _windows(ctx, document)]
    if any(cadence is None or every <= cadence.seconds for _, every in recurrences):
        return
    how = f"deployment is {deployment}" if deployment else "no deployment method is declared"
    often = f"at least every {cadence} (cadence.os of {strictest[0].name})" if strictest else "regularly"
    windows = ", ".join(f"{name} every {_days(every)}" for name, every in recurrences) or "none"
    yield ctx.fail(document, f"no way to apply patches: {how} and no recurring MaintenanceWindow recurs {often} "
                   f"(windows: {windows}): deploy {' or '.join(zero_downtime)}, or add a window that recurs at "
                   "least that often", (*OPERATIONS, "deployment") if deployment else (*OPERATIONS,
                                                                                    "maintenanceWindows"))


def _windows(ctx: CheckContext, service: Document[ServiceSpec]
             ) -> list[tuple[Document[MaintenanceWindowSpec], Schedule]]:
    """Recurring MaintenanceWindows affecting the service, by any of the three ways of naming it."""
    windows: list[Document[MaintenanceWindowSpec]] = ctx.catalogue.windows_of(service.name)
    return [(w, w.spec.schedule) for w in windows if w.spec.schedule is not None]


YEAR_SECONDS = 366 * 86400
NEVER = float("inf")


def _recurrence(ctx: CheckContext, window: MaintenanceWindowSpec, schedule: Schedule) -> float:
    """Seconds between occurrences of a recurring window: nominal, or the average when rarer."""
    nominal = _nominal(schedule.rrule)
    span = horizon(ctx.as_of, 12, schedule.timezone)
    end = span.start + timedelta(seconds=YEAR_SECONDS)
    count = sum(1 for o in window_intervals(window, span.start, end) if o.start >= span.start)
    return max(nominal, YEAR_SECONDS / (count + 1)) if count else NEVER


def _nominal(rrule: str) -> float:
    """Seconds between occurrences of an RRULE, from FREQ and INTERVAL."""
    text = rrule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parts = dict(part.split("=", 1) for part in text.split(";") if "=" in part)
    interval = int(parts.get("INTERVAL", "1"))
    return FREQUENCY_SECONDS.get(parts.get("FREQ", "").upper(), 366 * 86400) * interval


def _days(every: float) -> str:
    if every == NEVER:
        return "never (no occurrence in the next 366 days)"
    return f"{round(every / 86400, 1):g}d" if every >= 86400 else f"{every / 3600:g}h"
