"""SLA clocks: the response and resolution time of an incident, against each level of an affected service.

A clock runs from `opened` to `responded` (response) or `resolved` (resolution), counting only the
instants its priority's coverage calendar covers (the level's coverage when the priority names none):
business hours in the calendar's time zone, its holidays and public holidays, through daylight-saving
changes, all by `svcascode.calendars`. It stops while the incident is in one of the level's `pauseOn`
states: a state holds from its `at` until the next state change. The clock is met when the counted time
is at most the target, with the instant it would have breached had it kept running; breached when it is
more, by how much and at the instant the target ran out; an incident still open on the as-of instant is
running, with the instant it will breach if nothing pauses it, or paused.

A clock whose stop the record does not give is **not recorded**: neither met nor breached. That is a
response clock of an incident resolved without a `responded` time, or any clock whose time the source's
export does not carry (`source.unrecorded`): ServiceNow's and Jira's list exports have no response
time, so an imported ticket's response was never measured here, and saying it breached (or was met)
would invent a fact. Its deadline is still given: when the target ran out after the incident opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any, Iterable, Iterator

from svcascode.calendars import LATEST, Interval, as_utc, calendar_intervals, clamp, merge, shift, subtract
from svcascode.reader import CatalogueReader
from svcascode.delivery.timeline import Definitions, Source
from svcascode.documents import Document
from svcascode.facts import level_in_force
from svcascode.models.common import duration_seconds

METRICS = ("response", "resolution")
NOT_RECORDED = "not recorded"
STOPS = {"response": "responded", "resolution": "resolved"}
LOOKAHEAD = timedelta(days=400)  # how far past the as-of instant a running clock's breach is looked for
# A clock counts at most this long after the incident opened: a ticket open longer (or a record whose dates
# are decades apart) is judged on its first 400 days, so one record costs bounded work.
MAX_SPAN = timedelta(days=400)
_STEP = timedelta(days=31)  # the coverage of a running clock's future is expanded a month at a time


@dataclass(frozen=True)
class Clock:
    incident: str
    level: str
    level_type: str
    service: str
    priority: str
    metric: str  # response or resolution
    calendar: str  # the coverage calendar counted in
    target_text: str  # as written, e.g. 4h
    target: Fraction  # minutes
    started: datetime
    stopped: datetime | None  # None: still running on the as-of instant
    elapsed: Fraction  # counted minutes, to `stopped` or the as-of instant
    paused: Fraction  # minutes the calendar covered while the clock was paused
    status: str  # met, breached, running, paused, not recorded
    deadline: datetime | None  # when the counted time reached (or will, or would have) the target; None if never
    source: Source
    stop_field: str = ""  # the incident's field the clock stops at (responded, resolved)

    @property
    def over_by(self) -> Fraction:
        """Minutes past the target (0 when met or running within it)."""
        return max(self.elapsed - self.target, Fraction(0))

    @property
    def breached(self) -> bool:
        return self.status == "breached"

    @property
    def recorded(self) -> bool:
        return self.status != NOT_RECORDED

    @property
    def margin(self) -> Fraction:
        """Minutes to spare on a met clock (0 otherwise)."""
        return max(self.target - self.elapsed, Fraction(0)) if self.status == "met" else Fraction(0)


def as_of_instant(value: Any) -> datetime:
    """A date means the end of that day in UTC; a date-time is taken as it is; both within [EARLIEST, LATEST]."""
    if isinstance(value, datetime):
        return clamp(as_utc(value))
    return clamp(shift(datetime(value.year, value.month, value.day, tzinfo=timezone.utc), timedelta(days=1)))


def pauses(states: Iterable[Any], pause_on: Iterable[str], until: datetime) -> list[Interval]:
    """The intervals an incident spent in a pausing state: each state holds until the next one."""
    pausing = set(pause_on)
    ordered = sorted(((as_utc(s.at), str(s.state)) for s in states), key=lambda item: item[0])
    found = []
    for index, (at, state) in enumerate(ordered):
        end = ordered[index + 1][0] if index + 1 < len(ordered) else until
        if state in pausing and end > at:
            found.append(Interval(at, end))
    return merge(found)


def counted_intervals(calendar: Any, start: datetime, end: datetime, paused: list[Interval]) -> list[Interval]:
    """Instants in [start, end) a clock counts: in the calendar, not paused."""
    return subtract(calendar_intervals(calendar, start, end), paused)


def reach(intervals: Iterable[Interval], minutes: Fraction, already: Fraction = Fraction(0)) -> datetime | None:
    """The instant at which `already` plus the intervals' minutes reaches `minutes`, or None."""
    total = already
    for interval in intervals:
        if total + interval.minutes >= minutes:
            micros = round((minutes - total) * 60_000_000)
            return interval.start + timedelta(microseconds=micros)
        total += interval.minutes
    return None


def clock(incident: Document, level: Document, catalogue: CatalogueReader, metric: str, as_of: datetime,
          source_of_definition: Source) -> Clock | None:
    """One clock of an incident against a level, or None when the level sets no target for its priority."""
    spec = incident.spec
    support = level.spec.support
    if support is None:
        return None
    target = support.priorities.target(str(spec.priority))
    if target is None:
        return None
    calendar_name = target.coverage or level.spec.coverage
    calendar = catalogue.get("BusinessCalendar", calendar_name)
    if calendar is None:
        return None
    opened = as_utc(spec.opened)
    written = target.response if metric == "response" else target.resolution
    minutes = Fraction(int(round(duration_seconds(str(written)) * 1000)), 60_000)
    paused_all = pauses(getattr(spec, "states", None) or [], support.pause_on, LATEST)
    stop_field = STOPS[metric]
    end_event = getattr(spec, stop_field, None)
    source = getattr(spec, "source", None)
    unrecorded = stop_field in (getattr(source, "unrecorded", None) or ())
    resolved = getattr(spec, "resolved", None)
    if end_event is None and (unrecorded or (metric == "response" and resolved is not None
                                             and as_utc(resolved) <= as_of)):
        # the record does not say when the clock stopped: not measured, so neither met nor breached
        due = _future_deadline(calendar.spec, opened, paused_all, minutes, Fraction(0))
        return Clock(incident.name, level.name, str(level.spec.type), str(level.spec.service),
                     str(spec.priority).upper(), metric, calendar_name, str(written), minutes, opened, None,
                     Fraction(0), Fraction(0), NOT_RECORDED, due, source_of_definition, stop_field)
    stopped = as_utc(end_event) if end_event is not None else None
    until = stopped if stopped is not None and stopped <= as_of else as_of
    until = min(max(until, opened), shift(opened, MAX_SPAN))
    counted = counted_intervals(calendar.spec, opened, until, paused_all)
    elapsed = sum((i.minutes for i in counted), start=Fraction(0))
    covered = calendar_intervals(calendar.spec, opened, until)
    paused_minutes = sum((i.minutes for i in covered), start=Fraction(0)) - elapsed
    deadline = reach(counted, minutes)
    running = stopped is None or stopped > as_of
    if elapsed > minutes:
        status = "breached"
    elif not running:
        status = "met"
        if deadline is None:  # when it would have breached, had it kept running (no pause after it stopped)
            before = [p for p in paused_all if p.start < until]
            deadline = _future_deadline(calendar.spec, until, [Interval(p.start, min(p.end, until)) for p in before],
                                        minutes, elapsed)
    elif any(p.start <= until < p.end for p in paused_all):
        status, deadline = "paused", None
    else:
        status = "running"
        deadline = _future_deadline(calendar.spec, until, paused_all, minutes, elapsed)
    return Clock(incident.name, level.name, str(level.spec.type), str(level.spec.service), str(spec.priority).upper(),
                 metric, calendar_name, str(written), minutes, opened, None if running else stopped, elapsed,
                 paused_minutes, status, deadline, source_of_definition, stop_field)


def _future_deadline(calendar: Any, start: datetime, paused: list[Interval], target: Fraction,
                     elapsed: Fraction) -> datetime | None:
    """When a running clock reaches its target if it keeps running; None beyond LOOKAHEAD."""
    stop = shift(start, LOOKAHEAD)
    begin = start
    while begin < stop:
        end = min(shift(begin, _STEP), stop)
        block = counted_intervals(calendar, begin, end, paused)
        found = reach(block, target, elapsed)
        if found is not None:
            return found
        elapsed += sum((i.minutes for i in block), start=Fraction(0))
        begin = end
    return None


def affected_services(incident: Document) -> list[str]:
    seen: list[str] = []
    for impact in getattr(incident.spec, "impacts", None) or []:
        name = str(impact.service).partition(":")[2] or str(impact.service)
        if name not in seen:
            seen.append(name)
    return seen


def incident_clocks(incident: Document, definitions: Definitions, as_of: datetime,
                    types: tuple[str, ...] = ("SLA", "OLA", "UC")) -> Iterator[Clock]:
    """Every clock of an incident: each metric against each level of each affected service in force when
    it opened, by the definitions in force then."""
    opened = as_utc(incident.spec.opened)
    if opened > as_of:
        return
    catalogue, source = definitions.at(opened)
    for service in affected_services(incident):
        for level in catalogue.levels_of(service):
            if level.spec.type not in types or not level_in_force(level, opened.date()):
                continue
            for metric in METRICS:
                found = clock(incident, level, catalogue, metric, as_of, source)
                if found is not None:
                    yield found


def all_clocks(incidents: Iterable[Document], definitions: Definitions, as_of: datetime) -> list[Clock]:
    ordered = sorted(incidents, key=lambda i: (as_utc(i.spec.opened), i.name))
    return [c for incident in ordered for c in incident_clocks(incident, definitions, as_of)]
