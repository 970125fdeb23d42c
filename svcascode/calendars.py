"""Calendars, maintenance schedules and SLA periods as lists of UTC intervals.

Every interval is half-open, ``[start, end)``, with timezone-aware UTC datetimes, so that a calendar in
Europe/London, a window scheduled in America/New_York and a monthly SLA in UTC can be compared directly.
Local wall-clock times are turned into instants with :mod:`zoneinfo` using ``fold=0``: a time inside a
daylight-saving gap takes the offset in force before the gap, an ambiguous time its first occurrence
(so 01:30 on the autumn change day is the earlier, summer-time 01:30). Recurring maintenance follows
RFC 5545 through python-dateutil's ``rrulestr``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta, timezone
from fractions import Fraction
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

from svcascode.holidays_calendar import closures, has_closures
from svcascode.models.common import duration_seconds
from svcascode.slamath import duration_minutes

UTC = timezone.utc
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_PER_WEEK = 168
DEFAULT_HORIZON_MONTHS = 12
MAX_HORIZON_MONTHS = 120  # a longer horizon asked for (a control parameter) is cut to this
# A recurring window occurs at most OCCURRENCES_PER_YEAR times a year (a denser rule is schema-invalid), and
# one expansion yields at most MAX_OCCURRENCES occurrences whatever its span: every check, page and generated
# configuration that expands a window does bounded work.
OCCURRENCES_PER_YEAR = 2_000
MAX_OCCURRENCES = 10_000

# Every instant computed here stays within [EARLIEST, LATEST]: inside datetime's range by a margin that
# any time zone offset, a window's duration (at most 7 days), a rolling SLA window (at most 366 days) and
# the day added at either end of an expansion fit in. An as-of date near 0001-01-01 or 9999-12-31 gives
# periods and horizons cut at these instants, and no occurrence beyond them.
EARLIEST = datetime(1, 1, 10, tzinfo=UTC)
LATEST = datetime(9998, 12, 1, tzinfo=UTC)


class Interval(NamedTuple):
    """A half-open span of time ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @property
    def minutes(self) -> Fraction:
        return duration_minutes(self.end - self.start)


class Period(NamedTuple):
    """One SLA measurement period: a label people recognise and its real extent in UTC."""

    label: str
    start: datetime
    end: datetime

    @property
    def minutes(self) -> Fraction:
        return duration_minutes(self.end - self.start)


# The models are duck-typed here so that this module stays independent of pydantic.
class CalendarLike(Protocol):
    timezone: str
    always_on: bool
    weekly: list[Any]  # items with days, from_ and to (a list of a Protocol would not accept list[WeeklyHours])
    holidays: list[Any]  # objects with a `date`


class WindowLike(Protocol):
    schedule: Any  # rrule, start, duration, timezone; or None
    window: Any  # start, end; or None


# --- intervals ----------------------------------------------------------------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same instants (touching ones are joined)."""
    merged: list[Interval] = []
    for current in sorted(i for i in intervals if i.end > i.start):
        if merged and current.start <= merged[-1].end:
            if current.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, current.end)
        else:
            merged.append(current)
    return merged


def intersect(first: Iterable[Interval], second: Iterable[Interval]) -> list[Interval]:
    """Instants in both lists, as merged intervals."""
    a, b = merge(first), merge(second)
    result: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i].start, b[j].start), min(a[i].end, b[j].end)
        if start < end:
            result.append(Interval(start, end))
        if a[i].end <= b[j].end:
            i += 1
        else:
            j += 1
    return result


def subtract(intervals: Iterable[Interval], removed: Iterable[Interval]) -> list[Interval]:
    """Instants of `intervals` not in `removed`."""
    cuts = merge(removed)
    result: list[Interval] = []
    for interval in merge(intervals):
        start = interval.start
        for cut in cuts:
            if cut.end <= start or cut.start >= interval.end:
                continue
            if cut.start > start:
                result.append(Interval(start, cut.start))
            start = max(start, cut.end)
        if start < interval.end:
            result.append(Interval(start, interval.end))
    return result


def clamp(moment: datetime) -> datetime:
    """The instant, moved into [EARLIEST, LATEST] when it lies outside."""
    return EARLIEST if moment < EARLIEST else LATEST if moment > LATEST else moment


def shift(moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, clamped into [EARLIEST, LATEST] instead of overflowing."""
    if delta >= timedelta(0):
        return moment + delta if LATEST - moment > delta else max(moment, LATEST)
    return moment + delta if moment - EARLIEST > -delta else min(moment, EARLIEST)


def add_months(day: date, months: int) -> date:
    """The date `months` after `day` (before, when negative), or the first or last date there is."""
    try:
        return day + relativedelta(months=months)
    except (ValueError, OverflowError):
        return date.max if months >= 0 else date.min


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    return intersect(intervals, [Interval(start, end)])


def total_minutes(intervals: Iterable[Interval]) -> Fraction:
    return sum((i.minutes for i in merge(intervals)), start=Fraction(0))


def overlap_minutes(first: Iterable[Interval], second: Iterable[Interval]) -> Fraction:
    """Minutes during which both lists cover time (each list's own overlaps counted once)."""
    return sum((i.minutes for i in intersect(first, second)), start=Fraction(0))


def overlapping(occurrences: Iterable[Interval], calendar: Iterable[Interval]) -> list[Interval]:
    """The occurrences that share at least one instant with the calendar's intervals."""
    cover = merge(calendar)
    starts = [c.start for c in cover]
    hits = []
    for occurrence in occurrences:
        # from the last block that starts before it, until one starts after it ends
        for index in range(max(bisect_right(starts, occurrence.start) - 1, 0), len(cover)):
            block = cover[index]
            if block.start >= occurrence.end:
                break
            if block.end > occurrence.start:
                hits.append(occurrence)
                break
    return hits


# --- local time ---------------------------------------------------------------------------------


def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


def local_instant(day: date, clock: str, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock "HH:MM" ("24:00" = next midnight) on a local day.

    ``fold=0``: in a DST gap the offset before the gap applies, an ambiguous time is its first occurrence.
    """
    hours, minutes = (int(part) for part in clock.split(":"))
    try:
        if hours == 24:
            day, hours = day + timedelta(days=1), 0
        return clamp(datetime.combine(day, time(hours, minutes), tzinfo=tz).astimezone(UTC))
    except OverflowError:
        return EARLIEST if day.year < 5000 else LATEST


def midnight(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight of `day` in UTC, clamped into [EARLIEST, LATEST]."""
    try:
        return clamp(datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC))
    except OverflowError:
        return EARLIEST if day.year < 5000 else LATEST


def as_utc(value: datetime | str) -> datetime:
    """An aware datetime (or RFC 3339 text) in UTC; naive values are taken as UTC. Not clamped."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # within a day of datetime's range
        return datetime.min.replace(tzinfo=UTC) if moment.year < 5000 else datetime.max.replace(tzinfo=UTC)


def describe_local(moment: datetime, tz_name: str | None) -> str:
    """ "Tue 2026-12-01 10:00 Europe/London" for a UTC instant."""
    local = moment.astimezone(zone(tz_name))
    return f"{local:%a %Y-%m-%d %H:%M} {tz_name or 'UTC'}"


# --- business calendars -------------------------------------------------------------------------


def calendar_intervals(calendar: CalendarLike, start: datetime, end: datetime) -> list[Interval]:
    """The instants in [start, end) that a BusinessCalendar covers, as merged UTC intervals.

    Weekly hours are wall-clock hours in the calendar's own time zone; holidays (local dates) are
    removed; an always-on calendar covers everything.
    """
    start, end = clamp(as_utc(start)), clamp(as_utc(end))
    if end <= start:
        return []
    if calendar.always_on:
        return [Interval(start, end)]
    tz = zone(calendar.timezone)
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    holidays = closures(calendar, first, last)  # its own holidays and its country's public holidays
    blocks: list[Interval] = []
    day = first
    while day <= last:
        if day not in holidays:
            weekday = WEEKDAYS[day.weekday()]
            for hours in calendar.weekly:
                if weekday in hours.days:
                    blocks.append(Interval(local_instant(day, hours.from_, tz), local_instant(day, hours.to, tz)))
        day += timedelta(days=1)
    return clip(blocks, start, end)


def hours_per_week(calendar: CalendarLike) -> Fraction:
    """Nominal hours a calendar covers in a week, by its weekly ranges (always-on = 168)."""
    if calendar.always_on:
        return Fraction(HOURS_PER_WEEK)
    # A fixed UTC week: wall-clock hours without a DST change or holiday in it.
    monday = datetime(2001, 1, 1, tzinfo=UTC)
    blocks = []
    for hours in calendar.weekly:
        for weekday in hours.days:
            day = monday + timedelta(days=WEEKDAYS.index(weekday))
            blocks.append(Interval(day + _clock(hours.from_), day + _clock(hours.to)))
    return total_minutes(blocks) / 60


def is_always_on(calendar: CalendarLike) -> bool:
    return calendar.always_on or (hours_per_week(calendar) == HOURS_PER_WEEK and not has_closures(calendar))


def uncovered(outer: CalendarLike, inner: CalendarLike, start: datetime, end: datetime) -> list[Interval]:
    """Instants in [start, end) that `inner` covers and `outer` does not."""
    return subtract(calendar_intervals(inner, start, end), calendar_intervals(outer, start, end))


def covers(outer: CalendarLike, inner: CalendarLike, start: datetime, end: datetime) -> bool:
    """Whether `outer` covers every instant of `inner` over the reference period [start, end)."""
    return not uncovered(outer, inner, start, end)


# --- maintenance windows ------------------------------------------------------------------------


def horizon(as_of: date, months: int = DEFAULT_HORIZON_MONTHS, tz_name: str | None = None) -> Interval:
    """From local midnight of the as-of date to the same date `months` later (at most MAX_HORIZON_MONTHS),
    both clamped into [EARLIEST, LATEST]: empty when the as-of date is past LATEST."""
    tz = zone(tz_name)
    months = max(0, min(months, MAX_HORIZON_MONTHS))
    return Interval(midnight(as_of, tz), midnight(add_months(as_of, months), tz))


def window_intervals(window: WindowLike, start: datetime, end: datetime) -> list[Interval]:
    """Occurrences of a MaintenanceWindow that overlap [start, end), in UTC, unclipped, in order.

    A recurring schedule is expanded with RFC 5545 semantics in `schedule.timezone`, anchored at the
    local day the expansion starts on (this matters only for INTERVAL > 1 and COUNT); each occurrence lasts
    `schedule.duration` of real time. Recurring occurrences are expanded within [EARLIEST, LATEST] only, and at
    most MAX_OCCURRENCES of them, whatever the span.
    """
    start, end = as_utc(start), as_utc(end)
    if window.window is not None:
        one_off = Interval(as_utc(window.window.start), as_utc(window.window.end))
        return [one_off] if one_off.start < end and one_off.end > start else []
    start, end = clamp(start), clamp(end)
    if end <= start:
        return []
    return list(_recurring(window.schedule, start, end))


def next_occurrences(window: WindowLike, as_of: date, n: int,
                     months: int = DEFAULT_HORIZON_MONTHS) -> list[Interval]:
    """The first `n` occurrences starting on or after the as-of date, within `months` of it; none past LATEST."""
    tz_name = window.schedule.timezone if window.schedule is not None else "UTC"
    span = horizon(as_of, months, tz_name)
    return [o for o in window_intervals(window, span.start, span.end) if o.start >= span.start][:n]


def _recurring(schedule: Any, start: datetime, end: datetime) -> Iterator[Interval]:
    tz = zone(schedule.timezone)
    length = timedelta(seconds=duration_seconds(str(schedule.duration)))
    first_day = (start - length).astimezone(tz).date()  # an occurrence may have begun before `start`
    anchor = datetime.combine(first_day, time(0)) + _clock(schedule.start)
    stop = end.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    rule = _bounded(rrulestr(_rule_text(schedule.rrule), dtstart=anchor, ignoretz=True), anchor, stop)
    budget = MAX_OCCURRENCES  # counted lazily: nothing past it is generated
    for local in _expand(rule):
        budget -= 1
        if local > stop or budget < 0:
            break
        begin = local.replace(tzinfo=tz).astimezone(UTC)
        occurrence = Interval(begin, begin + length)
        if occurrence.start < end and occurrence.end > start:
            yield occurrence


class _PastHorizon(Exception):
    """Raised inside an expansion once it has looked at more months than the horizon holds."""


class _BoundedRule(rrule):
    """An rrule whose expansion gives up after a bounded number of months.

    python-dateutil checks UNTIL and COUNT only against dates that match the rule's BYxxx parts, so a
    rule that can never match (``FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30``) is searched month by month up
    to the year 9999, for seconds. dateutil rebuilds its masks for each month (or year) it moves to
    and reads ``_bynweekday`` at most 13 times per rebuild; counting those reads bounds the search.
    Should a later dateutil stop reading it, the guard stays silent and the expansion is only slower.
    """

    _reads_left: int | None = None  # None while the rule is being built: no limit

    @property
    def _bynweekday(self) -> Any:
        if self._reads_left is not None:
            self._reads_left -= 1
            if self._reads_left < 0:
                raise _PastHorizon
        return self.__dict__.get("_nweekdays")

    @_bynweekday.setter
    def _bynweekday(self, value: Any) -> None:
        self.__dict__["_nweekdays"] = value


def _bounded(rule: Any, anchor: datetime, stop: datetime) -> Any:
    """`rule` (a parsed rrule) as a _BoundedRule allowed to look a few months past `stop`."""
    if type(rule) is not rrule:  # an rruleset: nothing to bound it with
        return rule
    months = (stop.year - anchor.year) * 12 + stop.month - anchor.month + 2
    parsed: Any = rule  # the parameters are private attributes of dateutil's rrule, absent from its stubs
    kwargs = {"freq": parsed._freq, "dtstart": parsed._dtstart, "interval": parsed._interval, "wkst": parsed._wkst,
              "count": parsed._count, "until": parsed._until, **parsed._original_rule}
    bounded = _BoundedRule(**kwargs)
    bounded._reads_left = 14 * max(months, 1)
    return bounded


def _expand(rule: Any) -> Iterator[datetime]:
    try:
        yield from rule
    except _PastHorizon:
        return


def occurrences_in_a_year(rule_text: str, limit: int = OCCURRENCES_PER_YEAR) -> int:
    """How many times an RRULE occurs in a year (2001, from its first midnight), counted up to limit + 1.

    Counted lazily, one occurrence at a time, so a FREQ=SECONDLY rule costs `limit` steps, not millions.
    """
    anchor = datetime(2001, 1, 1)
    stop = datetime(2002, 1, 1)
    rule = _bounded(rrulestr(_rule_text(rule_text), dtstart=anchor, ignoretz=True), anchor, stop)
    count = 0
    for local in _expand(rule):
        if local >= stop or count > limit:
            break
        count += 1
    return count


def _rule_text(text: str) -> str:
    text = text.strip()
    return text[6:] if text.upper().startswith("RRULE:") else text


# --- SLA periods --------------------------------------------------------------------------------


def sla_periods(calendar: str | None, rolling: str | None, tz_name: str | None, as_of: date,
                months: int = DEFAULT_HORIZON_MONTHS) -> list[Period]:
    """The SLA measurement periods that cover `months` from the as-of date.

    A calendar month or quarter runs between local midnights in the SLA's time zone (default UTC),
    starting with the one that contains the as-of date. A rolling window is a run of consecutive
    periods of its length starting at the as-of date.
    """
    tz = zone(tz_name)
    until = add_months(as_of, max(0, min(months, MAX_HORIZON_MONTHS)))
    periods: list[Period] = []
    if rolling is not None:
        length = timedelta(seconds=duration_seconds(rolling))
        begin, stop = midnight(as_of, tz), midnight(until, tz)
        while True:
            local = begin.astimezone(tz)
            periods.append(Period(f"{rolling} from {local:%Y-%m-%d %H:%M}", begin, shift(begin, length)))
            begin = shift(begin, length)
            if begin >= stop:
                return periods  # at least one, cut short at LATEST
    step = 3 if calendar == "quarter" else 1
    first = date(as_of.year, as_of.month - (as_of.month - 1) % step, 1)
    while True:
        following = add_months(first, step)
        label = f"{first.year}-Q{(first.month + 2) // 3}" if step == 3 else f"{first:%Y-%m}"
        periods.append(Period(label, midnight(first, tz), midnight(following, tz)))
        first = following
        if first >= until:
            return periods  # at least one: the period that holds the as-of date


def covered_minutes(calendar: CalendarLike | None, start: datetime, end: datetime) -> Fraction:
    """Minutes of [start, end) inside a coverage calendar: what a time-based SLA measures.

    No calendar, or an always-on one, covers the whole span.
    """
    if calendar is None or is_always_on(calendar):
        return Fraction(int((end - start).total_seconds()), 60)
    return total_minutes(calendar_intervals(calendar, start, end))


# --- helpers ------------------------------------------------------------------------------------


def _clock(text: str) -> timedelta:
    hours, minutes = (int(part) for part in text.split(":"))
    return timedelta(hours=hours, minutes=minutes)


