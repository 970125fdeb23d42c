"""The service review of a period: per customer and service, target against attained for every window,
the trend of the last 12 windows, the SLA clocks with their breaches and timelines, the credits due and
the reviews held. `ServiceReview.as_json()` is the one shape every output format of `svcascode sla` reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from svcascode.calendars import as_utc
from svcascode.delivery.attainment import Span, WindowResult, level_windows, trailing_windows
from svcascode.delivery.clocks import Clock
from svcascode.delivery.ledger import Ledger, ServiceDelivery
from svcascode.delivery.timeline import Source

TREND_WINDOWS = 12


def minutes(value: Fraction) -> float:
    """Minutes for display and JSON, to the hundredth of a minute (exact values stay Fractions inside)."""
    return round(float(value), 2)


def percent(value: Fraction) -> float:
    return round(float(value), 4)


def moment(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat().replace("+00:00", "Z")


@dataclass
class ServiceReview:
    span: Span
    as_of: datetime
    windows: list[WindowResult]
    trends: dict[str, list[WindowResult]]
    clocks: list[Clock]
    incidents: dict[str, Any]  # name -> Document
    definitions_note: str
    evidence: dict[str, str]  # level -> newest sla-review date
    delivery: dict[str, ServiceDelivery] = field(default_factory=dict)  # service -> its status as of the as-of date

    @property
    def breached_clocks(self) -> list[Clock]:
        return [c for c in self.clocks if c.breached]

    @property
    def breached_windows(self) -> list[WindowResult]:
        return [w for w in self.windows if w.status == "breached"]

    def sources(self) -> list[Source]:
        found: dict[str | None, Source] = {}
        for source in [*(w.source for w in self.windows), *(c.source for c in self.clocks)]:
            found.setdefault(source.commit, source)
        return list(found.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "period": self.span.label,
            "asOf": moment(self.as_of),
            "asOfDate": (self.as_of - timedelta(microseconds=1)).date().isoformat(),
            "definitions": self.definitions_note,
            "commitsUsed": [s.as_json() for s in self.sources()],
            "windows": [window_json(w, self.trends.get(w.level, [])) for w in self.windows],
            "clocks": [clock_json(c) for c in self.clocks],
            "breaches": {"windows": [f"{w.level} {w.label}" for w in self.breached_windows],
                         "clocks": [f"{c.incident} {c.level} {c.metric}" for c in self.breached_clocks]},
            "credits": [{"level": w.level, "customer": w.customer, "window": w.label,
                         "creditPercent": percent(w.credit_percent)} for w in self.windows if w.credit_percent],
            "incidents": [incident_json(d) for d in self.incidents.values()],
            "reviews": [{"level": level, "lastSlaReview": when} for level, when in sorted(self.evidence.items())],
            "summary": self.summary(),
        }

    def summary(self) -> dict[str, Any]:
        """The one-screen summary: per service the attainment of the period, breaches, credits owed, the worst
        clock and its delivery now; the totals; and which definitions judged it, named once per service."""
        services: dict[str, dict[str, Any]] = {}
        for w in self.windows:
            row = services.setdefault(w.service, _service_row(w.service))
            level = row["levels"].setdefault(w.level, {
                "level": w.level, "type": w.level_type, "customer": w.customer,
                "targetPercent": percent(w.target_percent), "windows": 0, "minutes": Fraction(0),
                "downtime": Fraction(0), "breached": [], "credits": []})
            level["windows"] += 1
            level["minutes"] += w.service_minutes
            level["downtime"] += w.downtime
            if w.status == "breached":
                level["breached"].append(w.label)
            if w.credit_percent:
                level["credits"].append({"window": w.label, "creditPercent": percent(w.credit_percent)})
            row["sources"].setdefault(w.source.commit or w.source.reason, w.source)
            row["forReview"].update(dict.fromkeys(w.unknown))
        for c in self.clocks:
            row = services.setdefault(c.service, _service_row(c.service))
            row["clocks"].append(c)
            row["sources"].setdefault(c.source.commit or c.source.reason, c.source)
        out = []
        for name in sorted(services):
            row = services[name]
            levels = []
            for level in row["levels"].values():
                minutes, downtime = level.pop("minutes"), level.pop("downtime")
                level["attainedPercent"] = percent(100 * (minutes - downtime) / minutes) if minutes else 100.0
                level["downtimeMinutes"] = round(float(downtime), 2)
                levels.append(level)
            clocks: list[Clock] = row["clocks"]
            delivery = self.delivery.get(name)
            out.append({
                "service": name, "levels": levels,
                "breaches": sum(len(level["breached"]) for level in levels) + sum(1 for c in clocks if c.breached),
                "credits": [{"level": level["level"], **credit} for level in levels for credit in level["credits"]],
                "worstClock": _worst(clocks), "clocksNotRecorded": sum(1 for c in clocks if not c.recorded),
                "forReview": list(row["forReview"]),
                "now": delivery.as_json() if delivery is not None else None,
                "definitions": [s.describe() for s in row["sources"].values()],
            })
        return {"services": out, "totals": {
            "services": len(out), "windows": len(self.windows), "windowsBreached": len(self.breached_windows),
            "clocks": len(self.clocks), "clocksBreached": len(self.breached_clocks),
            "clocksNotRecorded": sum(1 for c in self.clocks if not c.recorded),
            "credits": sum(1 for w in self.windows if w.credit_percent),
            "forReview": len({i for w in self.windows for i in w.unknown})}}


def _service_row(name: str) -> dict[str, Any]:
    return {"levels": {}, "clocks": [], "sources": {}, "forReview": {}}


def _worst(clocks: list[Clock]) -> dict[str, Any] | None:
    """The breached clock that overran most; else the met or running one closest to its target."""
    breached = [c for c in clocks if c.breached]
    if breached:
        clock = max(breached, key=lambda c: c.over_by)
        text = f"{clock.priority} {clock.metric} breached by {minutes(clock.over_by):g} min"
    else:
        measured = [c for c in clocks if c.status in ("met", "running")]
        if not measured:
            return None
        clock = min(measured, key=lambda c: c.target - c.elapsed)
        spare = minutes(clock.target - clock.elapsed)
        text = f"{clock.priority} {clock.metric} {clock.status}, {spare:g} min to spare"
    return {"incident": clock.incident, "level": clock.level, "metric": clock.metric, "status": clock.status,
            "text": text}


def window_json(w: WindowResult, trend: list[WindowResult]) -> dict[str, Any]:
    return {
        "level": w.level, "type": w.level_type, "service": w.service, "customer": w.customer, "window": w.label,
        "start": moment(w.start), "end": moment(w.end), "complete": w.complete, "measurement": w.measurement,
        "targetPercent": percent(w.target_percent), "attainedPercent": percent(w.attained_percent),
        "serviceMinutes": minutes(w.service_minutes), "allowedMinutes": minutes(w.allowed),
        "downtimeMinutes": minutes(w.downtime), "excludedMinutes": minutes(w.excluded),
        "budgetRemainingMinutes": minutes(w.remaining), "status": w.status,
        "creditPercent": None if w.credit_percent is None else percent(w.credit_percent),
        "incidents": [{"incident": c.incident, "impact": c.impact, "weight": percent(c.weight),
                       "minutes": minutes(c.minutes), "running": c.running} for c in w.contributions],
        "unknownImpact": list(w.unknown),
        "trend": [{"window": t.label, "attainedPercent": percent(t.attained_percent), "status": t.status}
                  for t in trend],
        "definition": w.source.as_json(),
    }


def clock_json(c: Clock) -> dict[str, Any]:
    return {
        "incident": c.incident, "level": c.level, "type": c.level_type, "service": c.service,
        "priority": c.priority, "metric": c.metric, "calendar": c.calendar, "target": c.target_text,
        "targetMinutes": minutes(c.target), "started": moment(c.started), "stopped": moment(c.stopped),
        "elapsedMinutes": minutes(c.elapsed), "pausedMinutes": minutes(c.paused), "status": c.status,
        "overByMinutes": minutes(c.over_by), "marginMinutes": minutes(c.margin), "stopField": c.stop_field,
        ("breachedAt" if c.status == "breached" else "deadline"): moment(c.deadline),
        "definition": c.source.as_json(),
    }


def incident_json(document: Any) -> dict[str, Any]:
    spec = document.spec
    links = getattr(spec, "links", None)
    review = getattr(links, "post_incident_review", None) if links is not None else None
    return {
        "incident": document.name, "title": getattr(spec, "title", None), "priority": str(spec.priority),
        "file": document.file, "line": document.locate(())[0],
        "timeline": timeline(document),
        "postIncidentReview": None if review is None else {"url": getattr(review, "url", None),
                                                           "published": moment(getattr(review, "published", None))},
    }


def timeline(document: Any) -> list[dict[str, str | None]]:
    """The incident's events in time order: opened, state changes, responded, resolved, closed."""
    spec = document.spec
    events: list[tuple[datetime, str]] = [(as_utc(spec.opened), "opened")]
    for name in ("responded", "resolved", "closed"):
        value = getattr(spec, name, None)
        if value is not None:
            events.append((as_utc(value), name))
    for state in getattr(spec, "states", None) or []:
        events.append((as_utc(state.at), str(state.state)))
    return [{"at": moment(at), "event": what} for at, what in sorted(events, key=lambda e: e[0])]


def build_review(ledger: Ledger, span: Span, windows: bool = True) -> ServiceReview:
    """The review of a span: every level's windows in it, with trend, and the clocks of its incidents, read
    from the run's Ledger (the windows and clocks every other output reads)."""
    today, definitions, as_of = ledger.catalogue, ledger.definitions, ledger.as_of
    incidents = ledger.incidents
    names: dict[str, None] = {}
    start_catalogue, _ = definitions.at(as_utc(datetime(span.first.year, span.first.month, span.first.day)))
    for catalogue in (start_catalogue, today):
        for defined in catalogue.of_kind("ServiceLevel"):
            names.setdefault(defined.name, None)
    found_windows: list[WindowResult] = []
    trends: dict[str, list[WindowResult]] = {}
    for name in (names if windows else ()):
        level: Any = today.get("ServiceLevel", name) or start_catalogue.get("ServiceLevel", name)
        if level is None:
            continue
        found = ledger.windows(name, level_windows(level, span, as_of))
        if not found:
            continue
        found_windows += found
        trends[name] = ledger.windows(name, trailing_windows(level, span, as_of, TREND_WINDOWS))
    first = as_utc(datetime(span.first.year, span.first.month, span.first.day))
    end = as_utc(datetime(span.end.year, span.end.month, span.end.day))
    in_span = [i for i in incidents
               if as_utc(i.spec.opened) < end and (i.spec.resolved is None or as_utc(i.spec.resolved) >= first)
               and as_utc(i.spec.opened) <= as_of]
    clocks = [c for incident in sorted(in_span, key=lambda i: (as_utc(i.spec.opened), i.name))
              for c in ledger.clocks(incident)]
    found_windows.sort(key=lambda w: (w.customer, w.service, w.level, w.start))
    touched = {c.incident for c in clocks} | {c.incident for w in found_windows for c in w.contributions}
    shown = {i.name: i for i in sorted(incidents, key=lambda i: as_utc(i.spec.opened)) if i.name in touched}
    evidence: dict[str, str] = {}
    for item in today.of_kind("Evidence"):
        subject = str(item.spec.subject)
        if item.spec.type == "sla-review" and subject.startswith("servicelevel:") and item.spec.result == "pass":
            level_name = subject.partition(":")[2]
            when = str(item.spec.performed_at)
            if level_name in names and when > evidence.get(level_name, ""):
                evidence[level_name] = when
    reviewed = {w.service for w in found_windows} | {c.service for c in clocks}
    delivery = {name: ledger.service(name) for name in sorted(reviewed)}
    return ServiceReview(span, as_of, found_windows, trends, clocks, shown, ledger.note, evidence, delivery)
