"""What monitoring needs to know about each SLO: its service, team and tier, its objective and window,
its Prometheus indicator, and the service levels whose promise it measures.

Shared by the generators and by the `slo-matches-sla` check, so that `generate` refuses exactly what
`check` reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Iterator

from svcascode.reader import CatalogueReader
from svcascode.documents import Document
from svcascode.facts import level_in_force
from svcascode.finding import JsonPath
from svcascode.monitoring.promql import PromqlError, Query, parse_query, parse_selector

DAY = 86400
# OpenSLO duration units; a calendar month, quarter or year counts as its longest length.
_OPENSLO_UNITS = {"s": 1, "m": 60, "h": 3600, "d": DAY, "w": 7 * DAY, "M": 31 * DAY, "Q": 92 * DAY,
                  "Y": 366 * DAY}
_OPENSLO_DURATION = re.compile(r"^([0-9]+)([smhdwMQY])$")
# The longest period of an SLA window measured by the calendar.
SLA_CALENDAR_SECONDS = {"month": 31 * DAY, "quarter": 92 * DAY}
_OPS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_NEGATED = {"lt": ">=", "lte": ">", "gt": "<=", "gte": "<"}


class MonitoringProblem(Exception):
    """One reason an SLO cannot be turned into monitoring, at its place in a document."""

    def __init__(self, document: Document, message: str, path: JsonPath = ()) -> None:
        super().__init__(message)
        self.document, self.message, self.path = document, message, path

    def located(self) -> str:
        line, column = self.document.locate(self.path)
        return f"{self.document.file}:{line}:{column}: {self.document.kind}/{self.document.name}: {self.message}"


@dataclass(frozen=True)
class Window:
    text: str  # as written, e.g. "28d"
    seconds: int
    rolling: bool
    path: JsonPath

    def describe(self) -> str:
        return f"{self.text} {'rolling' if self.rolling else 'calendar'}"


@dataclass(frozen=True)
class Indicator:
    """A Prometheus SLI: `kind` is good (good/total), bad (bad/total), raw-failure / raw-success (a ratio
    metric), or threshold (a metric compared with the objective's value)."""

    kind: str
    events: Query  # good, bad, the raw ratio or the threshold metric
    total: Query | None = None
    counter: bool = True
    op: str | None = None  # threshold: the objective's op (lt, lte, gt, gte) and value
    value: float | None = None

    def error_ratio(self, window: str) -> str:
        """PromQL for the share of bad events (or bad time) over the window."""
        if self.kind in ("good", "bad"):
            assert self.total is not None
            events, total = self._sum(self.events, window), self._sum(self.total, window)
            if self.kind == "good":
                return f"1 - ({events} / {total})"
            return f"{events} / {total}"
        selector = self.events.selector.text()
        if self.kind == "raw-failure":
            return f"avg(avg_over_time({selector}[{window}]))"
        if self.kind == "raw-success":
            return f"1 - avg(avg_over_time({selector}[{window}]))"
        assert self.op is not None and self.value is not None
        return f"avg(avg_over_time(({selector} {_NEGATED[self.op]} bool {self.value!r})[{window}:1m]))"

    def _sum(self, query: Query, window: str) -> str:
        counter = self.counter if query.counter is None else query.counter
        function = "rate" if counter else "avg_over_time"
        return f"sum({function}({query.selector.text()}[{window}]))"


@dataclass
class Promise:
    """A service level in force whose availability (or a performance target) this SLO measures."""

    level: Document
    target_percent: float
    path: JsonPath  # of the level's `slo:` field naming the SLO
    window_seconds: int | None  # None: performance targets have no window of their own
    window_text: str


@dataclass
class MonitoredSlo:
    slo: Document
    service: Document | None
    team: Document | None
    tier: str
    target: Decimal | None
    target_path: JsonPath
    window: Window | None
    promises: list[Promise] = field(default_factory=list)

    @property
    def budget(self) -> Decimal:
        assert self.target is not None
        return Decimal(1) - self.target


def strictest_target(slo: Document) -> tuple[Decimal | None, JsonPath]:
    best: tuple[Decimal | None, JsonPath] = (None, ("spec", "objectives"))
    for index, objective in enumerate(slo.spec.objectives):
        fraction = objective.fraction
        if fraction is None:
            continue
        value = Decimal(fraction.numerator) / Decimal(fraction.denominator)
        if best[0] is None or value > best[0]:
            best = (value, ("spec", "objectives", index, objective.target_field))
    return best


def slo_window(slo: Document) -> Window | None:
    """The SLO's first spec.timeWindow, or None when it has none (or one this cannot read)."""
    windows = (slo.data.get("spec") or {}).get("timeWindow") if isinstance(slo.data, dict) else None
    if not isinstance(windows, list) or not windows or not isinstance(windows[0], dict):
        return None
    duration = windows[0].get("duration")
    if not isinstance(duration, str) or (match := _OPENSLO_DURATION.match(duration)) is None:
        return None
    rolling = windows[0].get("isRolling") is True
    return Window(duration, int(match.group(1)) * _OPENSLO_UNITS[match.group(2)], rolling,
                  ("spec", "timeWindow", 0, "duration"))


def sla_window(level: Document) -> tuple[int, str]:
    window = level.spec.availability.window
    if window.rolling is not None:
        return int(window.rolling.seconds), f"rolling {window.rolling}"
    return SLA_CALENDAR_SECONDS[window.calendar], f"calendar {window.calendar}"


def promises(catalogue: CatalogueReader, slo: Document, as_of: date) -> list[Promise]:
    """The in-force SLA and OLA targets that name this SLO, availability first."""
    found: list[Promise] = []
    for level in catalogue.levels_of(slo.spec.service):
        if level.spec.type not in ("SLA", "OLA") or not level_in_force(level, as_of):
            continue
        availability = level.spec.availability
        if availability.slo == slo.name:
            seconds, text = sla_window(level)
            found.append(Promise(level, availability.target_percent, ("spec", "availability", "slo"), seconds, text))
        for index, target in enumerate(level.spec.performance):
            if target.slo == slo.name:
                found.append(Promise(level, target.target_percent, ("spec", "performance", index, "slo"), None, ""))
    return found


@dataclass(frozen=True)
class Mismatch:
    """An SLO weaker than a promise it measures: its target is lower, or its window longer."""

    promise: Promise
    message: str  # about the SLO, naming the level
    level_message: str  # about the level, naming the SLO
    slo_path: JsonPath  # the SLO's target or time window


def mismatches(catalogue: CatalogueReader, slo: Document, as_of: date) -> Iterator[Mismatch]:
    target, target_path = strictest_target(slo)
    window = slo_window(slo)
    for promise in promises(catalogue, slo, as_of):
        level = promise.level
        where = f"{level.file}:{level.locate(promise.path)[0]}"
        slo_line = slo.locate(target_path)[0]
        wanted = Decimal(repr(promise.target_percent)) / 100
        if target is not None and target < wanted:
            yield Mismatch(
                promise,
                f"objective target {_percent(target)}% is weaker than the {promise.target_percent:g}% that "
                f"{level.spec.type} '{level.name}' promises ({where}): alerts would fire only after the promise "
                f"is broken; raise the target to at least {wanted.normalize()}",
                f"{level.spec.type} promises {promise.target_percent:g}% but SLO '{slo.name}' "
                f"({slo.file}:{slo_line}) targets only {_percent(target)}%: raise the SLO target to at least "
                f"{wanted.normalize()}", target_path)
        if window is not None and promise.window_seconds is not None and window.seconds > promise.window_seconds:
            window_line = slo.locate(window.path)[0]
            yield Mismatch(
                promise,
                f"time window {window.text} is longer than the {promise.window_text} window of "
                f"{level.spec.type} '{level.name}' ({where}): a bad period can break the promise while the SLO "
                f"still has budget; use a window no longer than {promise.window_seconds // DAY}d",
                f"{level.spec.type} is measured over a {promise.window_text} window but SLO '{slo.name}' "
                f"({slo.file}:{window_line}) spends its budget over {window.text}: shorten the SLO window to at "
                f"most {promise.window_seconds // DAY}d", window.path)


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}"


# ---------------------------------------------------------------------------------------------------
# The Prometheus indicator


def _metric_source(catalogue: CatalogueReader, slo: Document, source: Any, path: JsonPath) -> tuple[str, JsonPath] | None:
    """The Prometheus query of an OpenSLO metricSource, with its path; None when it is not Prometheus."""
    if not isinstance(source, dict):
        return None
    kind = source.get("type")
    if kind is None and isinstance(source.get("metricSourceRef"), str):
        data_source = catalogue.get("DataSource", source["metricSourceRef"])
        spec = data_source.data.get("spec") if data_source is not None and isinstance(data_source.data, dict) else {}
        kind = spec.get("type") if isinstance(spec, dict) else None
    if not isinstance(kind, str) or kind.lower() != "prometheus":
        return None
    spec = source.get("spec")
    query = spec.get("query") if isinstance(spec, dict) else None
    if not isinstance(query, str):
        raise MonitoringProblem(slo, "a Prometheus metricSource needs spec.query: a PromQL selector",
                                (*path, "spec"))
    return query, (*path, "spec", "query")


def _query(slo: Document, found: tuple[str, JsonPath], origin: Document) -> Query:
    text, path = found
    try:
        return parse_query(text)
    except PromqlError as error:
        raise MonitoringProblem(origin, f"not a valid SLI query {text!r}: {error}", path) from None


def indicator(catalogue: CatalogueReader, slo: Document, target_path: JsonPath) -> Indicator | None:
    """The SLO's Prometheus indicator (inline or through indicatorRef), None when it has none.

    MonitoringProblem when it has one that cannot be used: a query that is not a selector.
    """
    spec = slo.data.get("spec") if isinstance(slo.data, dict) else None
    if not isinstance(spec, dict):
        return None
    origin, base = slo, ("spec", "indicator", "spec")
    base_path: JsonPath = base
    sli = spec.get("indicator")
    if not isinstance(sli, dict) and isinstance(spec.get("indicatorRef"), str):
        referenced = catalogue.get("SLI", spec["indicatorRef"])
        if referenced is None:
            return None
        origin, base_path, sli = referenced, ("spec",), referenced.data
    body = sli.get("spec") if isinstance(sli, dict) else None
    if not isinstance(body, dict):
        return None
    ratio, threshold = body.get("ratioMetric"), body.get("thresholdMetric")
    if isinstance(ratio, dict):
        path = (*base_path, "ratioMetric")
        counter = ratio.get("counter") is not False
        total = ratio.get("total")
        total_source = _metric_source(catalogue, origin, total.get("metricSource"), (*path, "total", "metricSource")) \
            if isinstance(total, dict) else None
        for kind in ("good", "bad"):
            part = ratio.get(kind)
            if isinstance(part, dict):
                found = _metric_source(catalogue, origin, part.get("metricSource"), (*path, kind, "metricSource"))
                if found is None or total_source is None:
                    return None
                return Indicator(kind, _query(slo, found, origin), _query(slo, total_source, origin), counter)
        raw = ratio.get("raw")
        if isinstance(raw, dict):
            found = _metric_source(catalogue, origin, raw.get("metricSource"), (*path, "raw", "metricSource"))
            if found is None:
                return None
            raw_type = ratio.get("rawType")
            if raw_type not in ("success", "failure"):
                raise MonitoringProblem(origin, "a raw ratioMetric needs rawType: success or failure",
                                        (*path, "rawType"))
            return Indicator(f"raw-{raw_type}", _bare(found, origin), counter=False)
        return None
    if isinstance(threshold, dict):
        found = _metric_source(catalogue, origin, threshold.get("metricSource"),
                               (*base_path, "thresholdMetric", "metricSource"))
        if found is None:
            return None
        objective_path = target_path[:3]
        objective = _at(slo.data, objective_path)
        op, value = (objective.get("op"), objective.get("value")) if isinstance(objective, dict) else (None, None)
        if op not in _OPS or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MonitoringProblem(slo, "a threshold SLI needs its objective's op (lt, lte, gt, gte) and a "
                                    "numeric value", objective_path)
        return Indicator("threshold", _bare(found, origin), counter=False, op=op, value=float(value))
    return None


def _bare(found: tuple[str, JsonPath], origin: Document) -> Query:
    text, path = found
    try:
        return Query(parse_selector(text), False)
    except PromqlError as error:
        raise MonitoringProblem(origin, f"not a valid PromQL selector {text!r}: {error}; this SLI kind takes a "
                                "bare selector", path) from None


def _at(data: Any, path: JsonPath) -> Any:
    for part in path:
        if isinstance(part, int) and isinstance(data, list) and part < len(data):
            data = data[part]
        elif isinstance(part, str) and isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


def monitored(catalogue: CatalogueReader, slo: Document, as_of: date) -> MonitoredSlo:
    service = catalogue.get("Service", slo.spec.service)
    team = catalogue.get("Team", service.spec.owner) if service is not None else None
    target, target_path = strictest_target(slo)
    return MonitoredSlo(slo, service, team, str(service.spec.tier) if service is not None else "",
                        target, target_path, slo_window(slo), promises(catalogue, slo, as_of))
