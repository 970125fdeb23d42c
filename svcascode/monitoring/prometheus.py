"""Prometheus recording rules and multiwindow, multi-burn-rate alerts (Google SRE workbook, chapter 5).

For each SLO with a Prometheus indicator: `slo:sli_error:ratio_rate<window>` for every window the
alerts read, `slo:objective:ratio` and `slo:error_budget:ratio`, all labelled service, slo, team and
tier; then one page and one ticket alert. A condition fires when the error ratio over both its long
and its short window is at least factor x (1 - target), the factor scaled to the SLO's window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from svcascode.catalogue import Catalogue
from svcascode.documents import Document
from svcascode.errors import SvcascodeError
from svcascode.escape import squash
from svcascode.facts import TIER_ORDER
from svcascode.models.common import duration_seconds
from svcascode.monitoring.promql import matcher
from svcascode.monitoring.slos import Indicator, MonitoredSlo, MonitoringProblem, indicator, mismatches, monitored

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
RECORD = "slo:sli_error:ratio_rate{window}"
OBJECTIVE, BUDGET = "slo:objective:ratio", "slo:error_budget:ratio"
TIERS = TIER_ORDER


@dataclass(frozen=True)
class Condition:
    name: str
    severity: str  # page or ticket
    budget_percent: Decimal  # the share of the window's error budget spent over `long` when it fires
    long: str
    short: str

    def factor(self, window_seconds: int) -> Decimal:
        """The burn rate that spends `budget_percent` of the budget in the long window: the share times the
        SLO's window over the long window, to the hundredth (14.4 for 30 days, 13.44 for 28 days, as the
        workbook's table and Sloth give them)."""
        exact = self.budget_percent / 100 * Decimal(window_seconds) / Decimal(duration_seconds(self.long))
        return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN).normalize()


# The workbook's table: 2 % of the budget in 1 h, 5 % in 6 h, 10 % in 1 d, 10 % in 3 d; for a 30-day window
# the factors 14.4, 6, 3 and 1, scaled to the window of each SLO.
CONDITIONS = (
    Condition("page-fast", "page", Decimal(2), "1h", "5m"),
    Condition("page-slow", "page", Decimal(5), "6h", "30m"),
    Condition("ticket-fast", "ticket", Decimal(10), "1d", "2h"),
    Condition("ticket-slow", "ticket", Decimal(10), "3d", "6h"),
)
# Factors given with --burn-rate, per tier and condition: a number replaces the scaled factor, None turns the
# condition off. Tier-3 services have no on-call rota (see the baselines), so by default they are not paged:
# their burns become tickets.
Overrides = dict[str, dict[str, Decimal | None]]
WORKBOOK_WINDOW_SECONDS = 30 * 86400  # the window the workbook's table is written for
DEFAULT_OVERRIDES: Overrides = {"tier-3": {c.name: None for c in CONDITIONS if c.severity == "page"}}


def factor_of(overrides: Overrides, tier: str, condition: Condition, window_seconds: int) -> Decimal | None:
    """The factor of a condition for an SLO of this tier and window; None when the condition is off."""
    row = overrides.get(tier, {})
    if condition.name in row:
        return row[condition.name]
    return condition.factor(window_seconds)


def parse_overrides(values: tuple[str, ...]) -> Overrides:
    """`--burn-rate TIER:CONDITION=FACTOR` (TIER may be `all`; FACTOR `off`) over the defaults."""
    factors = {tier: dict(row) for tier, row in DEFAULT_OVERRIDES.items()}
    names = [c.name for c in CONDITIONS]
    for value in values:
        scope, _, rest = value.partition(":")
        name, _, number = rest.partition("=")
        tiers = TIERS if scope == "all" else (scope,)
        if scope != "all" and scope not in TIERS or name not in names or not number:
            raise SvcascodeError(f"--burn-rate {value!r}: write TIER:CONDITION=FACTOR with TIER one of all, "
                                 f"{', '.join(TIERS)}, CONDITION one of {', '.join(names)} and FACTOR a number "
                                 "or off, e.g. tier-2:page-fast=10")
        if number == "off":
            factor: Decimal | None = None
        else:
            try:
                factor = Decimal(number)
            except InvalidOperation:
                factor = Decimal(-1)
            if not factor.is_finite() or factor <= 0:
                raise SvcascodeError(f"--burn-rate {value!r}: the factor is a number above 0, or off")
        for tier in tiers:
            factors.setdefault(tier, {})[name] = factor
    return factors


@dataclass
class Plan:
    """The SLOs to monitor and those skipped (with why), once every SLO has been judged."""

    slos: list[tuple[MonitoredSlo, Indicator]]
    skipped: list[str]


def plan(catalogue: Catalogue, as_of: date) -> Plan:
    """Every SLO with a Prometheus indicator; SvcascodeError listing every SLO that cannot be monitored
    as written: a query that is not a selector, no target or window, or weaker than its promise."""
    problems: list[MonitoringProblem] = []
    found: list[tuple[MonitoredSlo, Indicator]] = []
    skipped: list[str] = []
    for slo in sorted(catalogue.of_kind("SLO"), key=lambda d: d.name):
        slo_info = monitored(catalogue, slo, as_of)
        try:
            sli = indicator(catalogue, slo, slo_info.target_path)
        except MonitoringProblem as problem:
            problems.append(problem)
            continue
        if sli is None:
            skipped.append(f"{slo.file}: SLO {slo.name}: no Prometheus indicator (ratioMetric or thresholdMetric "
                           "with a Prometheus metricSource); not monitored")
            continue
        if slo_info.service is None:
            problems.append(MonitoringProblem(slo, f"service '{slo.spec.service}' is not in the catalogue",
                                              ("spec", "service")))
            continue
        if slo_info.target is None:
            problems.append(MonitoringProblem(slo, "no objective has a target: the error budget is 1 - target",
                                              ("spec", "objectives")))
            continue
        if slo_info.window is None:
            problems.append(MonitoringProblem(slo, "no readable spec.timeWindow[0].duration (e.g. 28d): the "
                                              "budget is spent over the SLO's window", ("spec",)))
            continue
        problems.extend(MonitoringProblem(slo, m.message, m.slo_path) for m in mismatches(catalogue, slo, as_of))
        found.append((slo_info, sli))
    if problems:
        raise SvcascodeError("cannot generate monitoring for these SLOs:\n  "
                             + "\n  ".join(p.located() for p in problems))
    return Plan(found, skipped)


def escape_template(text: str) -> str:
    """Prometheus expands alert labels and annotations as Go templates: catalogue text stays literal, on one
    line (a line break in a title cannot start a line of its own in the file, `::error` or not), with control
    and bidirectional characters shown as escapes."""
    return squash(text).replace("{{", '{{ "{{" }}')


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}"


def labels(info: MonitoredSlo) -> dict[str, str]:
    assert info.service is not None
    return {"service": info.service.name, "slo": info.slo.name, "team": str(info.service.spec.owner),
            "tier": info.tier}


def _series(name: str, info: MonitoredSlo) -> str:
    own = labels(info)
    return f"{name}{{{matcher('service', own['service'])},{matcher('slo', own['slo'])}}}"


def runbook(service: Document) -> str | None:
    operations = service.spec.operations
    if operations is not None and operations.runbook:
        return str(operations.runbook)
    for link in service.model.metadata.links:
        if link.title and "runbook" in link.title.lower():
            return str(link.url)
    return None


def oncall(catalogue: Catalogue, info: MonitoredSlo) -> str:
    assert info.service is not None
    owner = str(info.service.spec.owner)
    team = info.team
    parts = [f"team {owner}"]
    on_call = team.spec.on_call if team is not None else None
    if on_call is not None:
        parts.append(" ".join(p for p in ("on-call via", on_call.tool or "the rota",
                                          f"schedule {on_call.schedule_id}" if on_call.schedule_id else "") if p))
    targets = [t.name for t in catalogue.of_kind("AlertNotificationTarget")
               if isinstance(t.model.metadata.labels, dict) and t.model.metadata.labels.get("svcascode.io/team") == owner]
    if targets:
        parts.append(f"notification target {', '.join(sorted(targets))}")
    return "; ".join(parts)


def _sla_text(info: MonitoredSlo) -> str:
    texts = []
    for promise in info.promises:
        level = promise.level
        what = f"availability per {promise.window_text}" if promise.window_seconds is not None else "performance"
        texts.append(f"{level.spec.type} {level.name}: {promise.target_percent:g}% {what} ({level.file})")
    return "; ".join(texts) or "no SLA or OLA in force names this SLO"


def rule_groups(catalogue: Catalogue, info: MonitoredSlo, sli: Indicator,
                factors: Overrides, catalogue_url: str) -> list[dict[str, Any]]:
    assert info.service is not None and info.window is not None
    own = labels(info)
    recording: list[dict[str, Any]] = [
        {"record": RECORD.format(window=window), "expr": sli.error_ratio(window), "labels": dict(own)}
        for window in WINDOWS]
    recording.append({"record": OBJECTIVE, "expr": f"vector({_number(info.target or Decimal(0))})", "labels": dict(own)})
    recording.append({"record": BUDGET, "expr": f"vector({_number(info.budget)})", "labels": dict(own)})
    service = info.service
    title = service.model.metadata.title or service.name
    slo_title = getattr(info.slo.model.metadata, "display_name", None) or info.slo.name
    annotations = {
        "runbook_url": runbook(service),
        "service_page": f"{catalogue_url.rstrip('/') + '/' if catalogue_url else ''}services/{service.name}.html",
        "sla": _sla_text(info),
        "oncall": oncall(catalogue, info),
        "slo_source": info.slo.file,
    }
    alerts: list[dict[str, Any]] = []
    for severity in ("page", "ticket"):
        active = [(c, factor_of(factors, info.tier, c, info.window.seconds)) for c in CONDITIONS
                  if c.severity == severity]
        active = [(c, f) for c, f in active if f is not None]
        if not active:
            continue
        terms, words = [], []
        for condition, factor in active:
            assert factor is not None
            threshold = _number(factor * info.budget)
            terms.append(f"({_series(RECORD.format(window=condition.long), info)} >= {threshold} and "
                         f"{_series(RECORD.format(window=condition.short), info)} >= {threshold})")
            words.append(f"{_number(factor)}x over {condition.long} (and {condition.short})")
        # the catalogue's text escaped, then the one template svcascode writes itself
        description = escape_template(
            f"{slo_title} of {title} ({service.name}, {info.tier}) is spending its error budget of "
            f"{_number(info.budget * 100)}% over {info.window.describe()} at " + " or ".join(words) + "."
        ) + " Error ratio now: {{ $value | humanizePercentage }}."
        alerts.append({
            "alert": f"SLOErrorBudgetBurn{severity.capitalize()}",
            "expr": " or ".join(terms),
            "labels": {"severity": severity, **{k: escape_template(v) for k, v in own.items()}},
            "annotations": {
                "summary": escape_template(f"{service.name}: {info.slo.name} error budget burning fast "
                                           f"({severity})"),
                "description": description,
                **{k: escape_template(v) for k, v in annotations.items() if v},
            },
        })
    return [{"name": f"slo-{info.slo.name}-sli", "rules": recording},
            {"name": f"slo-{info.slo.name}-alerts", "rules": alerts}]


def generate(catalogue: Catalogue, as_of: date, factors: Overrides,
             catalogue_url: str = "") -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Rule groups per service (file stem -> groups), and the notes on SLOs skipped."""
    chosen = plan(catalogue, as_of)
    files: dict[str, list[dict[str, Any]]] = {}
    for info, sli in chosen.slos:
        assert info.service is not None
        files.setdefault(info.service.name, []).extend(rule_groups(catalogue, info, sli, factors, catalogue_url))
    return files, chosen.skipped
