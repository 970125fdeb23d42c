"""Availability attained per measurement window, the error budget spent and service credits.

For a ServiceLevel and one of its windows (a calendar month or quarter between local midnights in the
level's time zone, or a rolling window ending on the as-of day):

- the agreed service time is what the level's coverage calendar covers in the window;
- downtime is the union of the impacts on the level's service, each minute weighted by the worst impact
  in force then (an outage in full, degraded and partial as `availability.impactWeights` says: by
  default a degraded minute counts for nothing and a partial one for its fraction of users), minus the occurrences of the
  maintenance windows the level excludes (`approved-maintenance`: every window of the service marked
  excludedFromSla; or windows by name), counted within the service time and up to the as-of instant;
- attained percent = 100 x (service time - downtime) / service time; the allowed downtime is
  (1 - target) x service time (`slamath.allowed_downtime_minutes`); the budget remaining is allowed
  minus spent; the window is met when attained >= target;
- the credit is the largest creditPercent of the credit schedule whose `below` the attained is under.

An impact that has not ended by the as-of instant counts up to it and is marked running; an impact whose
kind is unknown counts nothing and its incident is listed with the window, for review. Every number is
an exact Fraction of minutes or percent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any, Iterable

from svcascode.calendars import (
    Interval, Period, as_utc, calendar_intervals, clip, intersect, midnight, sla_periods, shift, subtract,
    window_intervals, zone,
)
from svcascode.reader import CatalogueReader
from svcascode.delivery.clocks import affected_services
from svcascode.delivery.timeline import Definitions, Source
from svcascode.documents import Document
from svcascode.models.common import duration_seconds
from svcascode.slamath import allowed_downtime_minutes, to_fraction

APPROVED_MAINTENANCE = "approved-maintenance"


@dataclass(frozen=True)
class Contribution:
    incident: str
    impact: str
    weight: Fraction
    minutes: Fraction  # weighted downtime minutes this incident added to the window (after the union)
    running: bool = False  # the impact had not ended by the as-of instant: counted up to it


@dataclass(frozen=True)
class WindowResult:
    level: str
    level_type: str
    service: str
    customer: str
    label: str
    start: datetime
    end: datetime
    complete: bool  # the window ended by the as-of instant
    measurement: str
    target_percent: Fraction
    service_minutes: Fraction
    downtime: Fraction
    excluded: Fraction  # weighted impact minutes removed because a maintenance window the level excludes held
    allowed: Fraction
    attained_percent: Fraction
    credit_percent: Fraction | None
    contributions: tuple[Contribution, ...]
    source: Source
    exclusions: tuple[str, ...] = field(default_factory=tuple)
    unknown: tuple[str, ...] = ()  # incidents on the service in the window whose impact is unknown: for review

    @property
    def remaining(self) -> Fraction:
        return self.allowed - self.downtime

    @property
    def met(self) -> bool:
        return self.attained_percent >= self.target_percent

    @property
    def status(self) -> str:
        if self.met:
            return "met" if self.complete else "on track"
        return "breached"


def weight_of(impact: Any, level: Document) -> Fraction:
    """The share of a minute of this impact that counts as downtime under the level."""
    kind = str(impact.impact)
    if kind == "outage":
        return Fraction(1)
    weights = level.spec.availability.impact_weights
    if kind == "degraded":
        return to_fraction(weights.degraded) / 100
    fraction = getattr(impact, "fraction", None)
    share = to_fraction(fraction) if fraction is not None else Fraction(1)
    return to_fraction(weights.partial) / 100 * share


def impact_span(incident: Document, impact: Any, as_of: datetime) -> Interval | None:
    spec = incident.spec
    start = as_utc(impact.start if getattr(impact, "start", None) is not None else spec.opened)
    end = impact_end(incident, impact)
    end = min(end, as_of) if end is not None else as_of
    return Interval(start, end) if end > start else None


def impact_end(incident: Document, impact: Any) -> datetime | None:
    """When the impact ended: its own end, else the incident's resolution; None while it goes on."""
    end_value = getattr(impact, "end", None)
    if end_value is None:
        end_value = incident.spec.resolved
    return as_utc(end_value) if end_value is not None else None


def running_at(incident: Document, impact: Any, as_of: datetime) -> bool:
    """Whether the impact had not ended by the as-of instant (it is counted up to it)."""
    end = impact_end(incident, impact)
    return end is None or end > as_of


def excluded_intervals(level: Document, catalogue: CatalogueReader, start: datetime, end: datetime) -> list[Interval]:
    """Occurrences in [start, end) of the maintenance windows the level excludes."""
    exclusions = [str(e) for e in level.spec.availability.exclusions]
    service = catalogue.get("Service", str(level.spec.service))
    windows: list[Document] = []
    if APPROVED_MAINTENANCE in exclusions and service is not None:
        windows += [w for w in catalogue.windows_of(service.name) if w.spec.excluded_from_sla]
    for name in exclusions:
        window = catalogue.get("MaintenanceWindow", name)
        if window is not None and window not in windows:
            windows.append(window)
    found: list[Interval] = []
    for window in windows:
        found += window_intervals(window.spec, start, end)
    return clip(found, start, end)


def weighted_segments(spans: list[tuple[Interval, Fraction, str, str]]) -> list[tuple[Interval, Fraction, str, str]]:
    """Split overlapping weighted spans into disjoint segments, each with the worst weight in force (and
    the first incident giving it). A sweep over the start and end instants with a heap of the active
    spans: n log n, however many incidents overlap."""
    import heapq

    events = sorted({p for span, _, _, _ in spans for p in (span.start, span.end)})
    order = sorted(range(len(spans)), key=lambda k: spans[k][0].start)
    active: list[tuple[Fraction, int]] = []  # (-weight, index) of spans that have started
    segments: list[tuple[Interval, Fraction, str, str]] = []
    position = 0
    for begin, end in zip(events, events[1:]):
        while position < len(order) and spans[order[position]][0].start <= begin:
            index = order[position]
            heapq.heappush(active, (-spans[index][1], index))
            position += 1
        while active and spans[active[0][1]][0].end <= begin:
            heapq.heappop(active)
        if not active:
            continue
        # the heap's top may be a span that ended; ended spans below it are dropped when they reach the top
        _, index = active[0]
        _, weight, name, kind = spans[index]
        if weight > 0:
            segments.append((Interval(begin, end), weight, name, kind))
    return segments


def attain(level: Document, catalogue: CatalogueReader, period: Period, incidents: Iterable[Document], as_of: datetime,
           source: Source) -> WindowResult:
    """The attainment of one window of a level."""
    spec = level.spec
    calendar = catalogue.get("BusinessCalendar", str(spec.coverage))
    start, end = period.start, period.end
    service_time = calendar_intervals(calendar.spec, start, end) if calendar is not None else [Interval(start, end)]
    service_minutes = sum((i.minutes for i in service_time), start=Fraction(0))
    measured_to = min(end, as_of)
    measured = clip(service_time, start, measured_to)
    spans: list[tuple[Interval, Fraction, str, str]] = []
    unknown: dict[str, None] = {}
    running: set[str] = set()
    for incident in incidents:
        for impact in getattr(incident.spec, "impacts", None) or []:
            name = str(impact.service).partition(":")[2] or str(impact.service)
            if name != spec.service:
                continue
            span = impact_span(incident, impact, as_of)
            if span is None or not (span.start < measured_to and span.end > start):
                continue
            if str(impact.impact) == "unknown":  # the record does not say the service was impaired
                unknown.setdefault(incident.name, None)
                continue
            spans.append((span, weight_of(impact, level), incident.name, str(impact.impact)))
            if running_at(incident, impact, as_of):
                running.add(incident.name)
    downtime = removed = Fraction(0)
    by_incident: dict[str, list[Any]] = {}
    # the maintenance windows the level excludes are expanded only when there is downtime to remove them from
    excluded = excluded_intervals(level, catalogue, start, measured_to) if spans else []
    for segment, weight, name, kind in weighted_segments(spans):
        inside = intersect([segment], measured)
        counted = sum((i.minutes for i in _minus(inside, excluded)), start=Fraction(0))
        total = sum((i.minutes for i in inside), start=Fraction(0))
        downtime += weight * counted
        removed += weight * (total - counted)
        entry = by_incident.setdefault(name, [kind, weight, Fraction(0)])
        entry[2] += weight * counted
    target = to_fraction(spec.availability.target_percent)
    allowed = allowed_downtime_minutes(spec.availability.target_percent, service_minutes)
    attained = 100 * (service_minutes - downtime) / service_minutes if service_minutes else Fraction(100)
    credit: Fraction | None = None
    for tier in spec.credits:
        if attained < to_fraction(tier.below):
            value = to_fraction(tier.credit_percent)
            credit = value if credit is None or value > credit else credit
    contributions = tuple(Contribution(n, k, w, m, n in running) for n, (k, w, m) in by_incident.items() if m > 0)
    return WindowResult(level.name, str(spec.type), str(spec.service), str(spec.customer), period.label, start, end,
                        end <= as_of, str(spec.availability.measurement), target, service_minutes, downtime, removed,
                        allowed, attained, credit, contributions, source,
                        tuple(str(e) for e in spec.availability.exclusions), tuple(unknown))


def _minus(intervals: list[Interval], removed: list[Interval]) -> list[Interval]:
    return subtract(intervals, removed)


# --- windows of a period -------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A reporting period: local dates [first, end) and its label (2026-11, 2026-Q4, 2026-01..2026-06)."""

    label: str
    first: date
    end: date


def parse_period(text: str) -> Span:
    """`YYYY-MM`, `YYYY-QN` or `YYYY-MM..YYYY-MM` (months included); ValueError says what is wrong."""
    value = text.strip()
    if ".." in value:
        left, _, right = value.partition("..")
        opening, closing = parse_period(left), parse_period(right)
        if closing.end <= opening.first:
            raise ValueError(f"{text!r}: the range ends before it starts")
        if (closing.end.year - opening.first.year) * 12 + closing.end.month - opening.first.month > 120:
            raise ValueError(f"{text!r}: a range of at most 120 months")
        return Span(value, opening.first, closing.end)
    try:
        year_text, _, rest = value.partition("-")
        year = int(year_text)
        if len(year_text) != 4 or not 1 <= year <= 9997:
            raise ValueError
        if rest.upper().startswith("Q") and len(rest) == 2 and rest[1] in "1234":
            quarter = int(rest[1])
            first = date(year, 3 * quarter - 2, 1)
            end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
            return Span(f"{year}-Q{quarter}", first, end)
        if len(rest) != 2 or not rest.isdigit():
            raise ValueError
        month = int(rest)
        first = date(year, month, 1)
        end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return Span(f"{first:%Y-%m}", first, end)
    except ValueError:
        raise ValueError(f"{text!r}: not a period; write a month 2026-11, a quarter 2026-Q4 or a range "
                         "2026-01..2026-06") from None


def level_windows(level: Document, span: Span, as_of: datetime) -> list[Period]:
    """The level's windows that start in the span (calendar windows) or, for a rolling window, the one
    ending at the end of the span (or the as-of instant, when sooner). None start after the as-of instant."""
    window = level.spec.availability.window
    tz = zone(window.timezone)
    if window.rolling is not None:
        end = min(midnight(span.end, tz), as_of)
        length = timedelta(seconds=duration_seconds(str(window.rolling)))
        start = shift(end, -length)
        label = f"{window.rolling} to {end.astimezone(tz):%Y-%m-%d %H:%M}"
        return [Period(label, start, end)] if start < as_of else []
    months = (span.end.year - span.first.year) * 12 + span.end.month - span.first.month
    periods = sla_periods(window.calendar, None, window.timezone, span.first, months=max(months, 1))
    first, last = midnight(span.first, tz), midnight(span.end, tz)
    return [p for p in periods if first <= p.start < last and p.start < as_of]


def trailing_windows(level: Document, span: Span, as_of: datetime, count: int = 12) -> list[Period]:
    """The `count` windows of the level ending with the last one of the span (oldest first)."""
    window = level.spec.availability.window
    step = 3 if window.calendar == "quarter" else 1
    if window.rolling is not None:
        last = level_windows(level, span, as_of)
        if not last:
            return []
        length = last[0].end - last[0].start
        ends = [shift(last[0].end, -k * length) for k in range(count - 1, -1, -1)]
        return [Period(f"{window.rolling} to {end.astimezone(zone(window.timezone)):%Y-%m-%d}", shift(end, -length), end)
                for end in ends if shift(end, -length) < end]
    from svcascode.calendars import add_months

    back = add_months(span.end, -step * count)
    wide = Span(span.label, back, span.end)
    return level_windows(level, wide, as_of)[-count:]


def service_incidents(incidents: Iterable[Document], service: str) -> list[Document]:
    return [i for i in incidents if service in affected_services(i)]


def level_attainment(name: str, definitions: Definitions, periods: list[Period], incidents: list[Document],
                     as_of: datetime) -> list[WindowResult]:
    """The windows of the named level, each judged by the definitions in force when the window began (or,
    when the level did not exist yet then, by the first commit within the window that defines it)."""
    results = []
    for period in periods:
        catalogue, source = definitions.at(period.start)
        level = catalogue.get("ServiceLevel", name)
        if level is None:
            for later, later_source in definitions.first_after(period.start, min(period.end, as_of)):
                level = later.get("ServiceLevel", name)
                if level is not None:
                    catalogue, source = later, later_source
                    break
        if level is None or not _in_force_during(level, period):
            continue
        mine = service_incidents(incidents, str(level.spec.service))
        results.append(attain(level, catalogue, period, mine, as_of, source))
    return results


def _in_force_during(level: Document, period: Period) -> bool:
    """Whether a level is in force on some day of the window (validFrom..validTo, both included)."""
    spec = level.spec
    last_day = (period.end - timedelta(microseconds=1)).date()
    return bool(spec.valid_from <= last_day and (spec.valid_to is None or spec.valid_to >= period.start.date()))
