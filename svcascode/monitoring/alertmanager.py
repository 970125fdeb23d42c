"""Alertmanager routes per team and time_intervals that mute each service during its maintenance windows.

A recurring window becomes one rule-shaped time interval (weekdays, days of the month, months, in the
window's own time zone as `location`) when that rule covers exactly the occurrences
`svcascode.calendars` computes over the horizon; otherwise (BYSETPOS, INTERVAL, COUNT, a start in a
daylight-saving gap, ...) each occurrence within the horizon is written as a dated interval and a note
names the window. Exactness is checked, not assumed: `covered` evaluates intervals as Alertmanager does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from svcascode.calendars import Interval, UTC, horizon, merge, window_intervals, zone
from svcascode.catalogue import Catalogue
from svcascode.documents import Document
from svcascode.monitoring.promql import matcher

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RRULE_DAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_BYDAY = re.compile(r"^([+-]?[0-9]{0,2})(MO|TU|WE|TH|FR|SA|SU)$")
INTERVAL_PREFIX = "maintenance-"


def interval_name(window: Document) -> str:
    return INTERVAL_PREFIX + window.name


# --- Alertmanager's own semantics -----------------------------------------------------------------


def _in_ranges(value: int, ranges: list[str], size: int | None = None) -> bool:
    for text in ranges:
        low_text, _, high_text = text.partition(":")
        low, high = int(low_text), int(high_text or low_text)
        if size is not None:  # days of the month: negative counts from the end
            low, high = (size + 1 + low if low < 0 else low), (size + 1 + high if high < 0 else high)
        if low <= value <= high:
            return True
    return False


def _day_matches(entry: dict[str, Any], day: date) -> bool:
    if "weekdays" in entry and not any(_weekday_in(day.weekday(), r) for r in entry["weekdays"]):
        return False
    if "days_of_month" in entry:
        size = ((day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
        if not _in_ranges(day.day, entry["days_of_month"], size):
            return False
    if "months" in entry and not _in_ranges(day.month, entry["months"]):
        return False
    return "years" not in entry or _in_ranges(day.year, entry["years"])


def _weekday_in(weekday: int, text: str) -> bool:
    low, _, high = text.partition(":")
    return WEEKDAYS.index(low) <= weekday <= WEEKDAYS.index(high or low)


def covered(entries: Iterable[dict[str, Any]], start: datetime, end: datetime) -> list[Interval]:
    """The instants of [start, end) muted by these time_intervals entries, to the minute, as Alertmanager
    decides it: the instant in `location`, its local date matching every day field, its local time of
    day inside one of `times` (start inclusive, end exclusive)."""
    spans: list[Interval] = []
    for entry in entries:
        tz = zone(entry.get("location", "UTC"))
        times = [(_minutes(t["start_time"]), _minutes(t["end_time"])) for t in entry.get("times", [])] or [(0, 1440)]
        day = start.astimezone(tz).date() - timedelta(days=1)
        while day <= end.astimezone(tz).date():
            if _day_matches(entry, day):
                for low, high in times:
                    spans.extend(_local_range(day, low, high, tz, start, end))
            day += timedelta(days=1)
    return merge(spans)


def _local_range(day: date, low: int, high: int, tz: Any, start: datetime, end: datetime) -> list[Interval]:
    """Instants in [start, end) whose local date is `day` and local minute of the day is in [low, high).

    Hour by hour: where the UTC offset is the same at both ends of the hour, local time is UTC plus that
    offset and the instants follow by arithmetic; an hour with an offset change is walked minute by minute.
    """
    found: list[Interval] = []
    midnight = datetime.combine(day, datetime.min.time())
    first = (midnight.replace(tzinfo=tz) - timedelta(hours=3)).astimezone(UTC).replace(minute=0, second=0,
                                                                                       microsecond=0)
    for hour in range(32):
        begin = first + timedelta(hours=hour)
        stop = begin + timedelta(hours=1)
        offset = begin.astimezone(tz).utcoffset()
        if offset == (stop - timedelta(minutes=1)).astimezone(tz).utcoffset() and offset is not None:
            lo = (midnight + timedelta(minutes=low) - offset).replace(tzinfo=UTC)
            hi = (midnight + timedelta(minutes=high) - offset).replace(tzinfo=UTC)
            a, b = max(lo, begin, start), min(hi, stop, end)
            if a < b:
                found.append(Interval(a, b))
            continue
        for step in range(60):
            moment = begin + timedelta(minutes=step)
            local = moment.astimezone(tz)
            if local.date() == day and low <= local.hour * 60 + local.minute < high and start <= moment < end:
                found.append(Interval(moment, moment + timedelta(minutes=1)))
    return found


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


# --- rrule -> rule-shaped entries -----------------------------------------------------------------


def _rule_parts(text: str) -> dict[str, str]:
    text = text.strip()
    text = text[6:] if text.upper().startswith("RRULE:") else text
    return {k.upper(): v.upper() for k, _, v in (p.partition("=") for p in text.split(";") if p)}


def _day_predicates(parts: dict[str, str]) -> list[dict[str, Any]] | None:
    """The days of the rule as Alertmanager day fields (OR of entries), or None when it cannot say them."""
    unsupported = ("COUNT", "UNTIL", "BYSETPOS", "BYWEEKNO", "BYYEARDAY", "BYHOUR", "BYMINUTE", "BYSECOND")
    if any(k in parts for k in unsupported) or parts.get("INTERVAL", "1") != "1":
        return None
    freq = parts.get("FREQ")
    months = [m for m in parts.get("BYMONTH", "").split(",") if m]
    base: dict[str, Any] = {"months": months} if months else {}
    monthdays = [d for d in parts.get("BYMONTHDAY", "").split(",") if d]
    days = [_BYDAY.match(d) for d in parts.get("BYDAY", "").split(",") if d]
    if any(d is None for d in days):
        return None
    plain = [WEEKDAYS[_RRULE_DAYS[d.group(2)]] for d in days if d is not None and d.group(1) in ("", "+")]
    ordinal = [(int(d.group(1)), WEEKDAYS[_RRULE_DAYS[d.group(2)]]) for d in days if d is not None
               and d.group(1) not in ("", "+")]
    if freq in ("DAILY", "WEEKLY") and not ordinal and not monthdays:
        if freq == "WEEKLY" and not plain:
            return None  # the weekday of the expansion's anchor: not a property of the rule
        return [{**base, **({"weekdays": plain} if plain else {})}]
    if freq == "MONTHLY" or (freq == "YEARLY" and months):
        if ordinal and (plain or monthdays):
            return None
        if ordinal:
            entries = []
            for number, weekday in ordinal:
                if not 1 <= abs(number) <= 4:  # a fifth weekday exists only in some months
                    return None
                low, high = (7 * (number - 1) + 1, 7 * number) if number > 0 else (7 * number, 7 * number + 6)
                entries.append({**base, "weekdays": [weekday], "days_of_month": [f"{low}:{high}"]})
            return entries
        if monthdays:
            return [{**base, **({"weekdays": plain} if plain else {}), "days_of_month": monthdays}]
        if plain:
            return [{**base, "weekdays": plain}]
    return None


def _shift(entry: dict[str, Any], days: int) -> dict[str, Any] | None:
    """The entry for `days` days after each day it matches, or None when the fields cannot say it."""
    if days == 0:
        return dict(entry)
    if "months" in entry or "years" in entry:
        return None
    shifted = dict(entry)
    if "weekdays" in entry:
        shifted["weekdays"] = [WEEKDAYS[(WEEKDAYS.index(w) + days) % 7] for w in entry["weekdays"]]
    if "days_of_month" in entry:
        moved = []
        for text in entry["days_of_month"]:
            low_text, _, high_text = text.partition(":")
            low, high = int(low_text), int(high_text or low_text)
            if low < 0 or high + days > 28:
                return None
            moved.append(f"{low + days}:{high + days}")
        shifted["days_of_month"] = moved
    return shifted


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def rule_entries(schedule: Any) -> list[dict[str, Any]] | None:
    """Rule-shaped time_intervals entries for a recurring schedule, or None when the rule has no such form."""
    predicates = _day_predicates(_rule_parts(str(schedule.rrule)))
    if predicates is None:
        return None
    start = _minutes(str(schedule.start))
    length = -(-int(schedule.duration.seconds) // 60)  # whole minutes, rounded up
    entries: list[dict[str, Any]] = []
    offset, remaining, begin = 0, length, start
    while remaining > 0:
        end = min(1440, begin + remaining)
        for predicate in predicates:
            shifted = _shift(predicate, offset)
            if shifted is None:
                return None
            entries.append({**shifted, "times": [{"start_time": _clock(begin), "end_time": _clock(end)}],
                            "location": str(schedule.timezone)})
        remaining -= end - begin
        begin, offset = 0, offset + 1
    return entries


def dated_entries(occurrence: Interval, tz_name: str) -> list[dict[str, Any]]:
    """One occurrence as dated entries (one per local day) in `tz_name`, its end rounded up to the minute."""
    tz = zone(tz_name)
    start = occurrence.start.replace(second=0, microsecond=0)
    end = occurrence.end if occurrence.end.second == 0 and occurrence.end.microsecond == 0 else \
        occurrence.end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    entries: list[dict[str, Any]] = []
    moment = start
    while moment < end:
        local = moment.astimezone(tz)
        next_midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        stop = min(end, next_midnight.astimezone(UTC))
        local_stop = stop.astimezone(tz)
        stop_minutes = 1440 if local_stop.date() != local.date() else local_stop.hour * 60 + local_stop.minute
        entries.append({"years": [str(local.year)], "months": [str(local.month)], "days_of_month": [str(local.day)],
                        "times": [{"start_time": _clock(local.hour * 60 + local.minute),
                                   "end_time": _clock(stop_minutes)}],
                        "location": tz_name})
        moment = stop
    return entries


def _rounded(occurrences: Iterable[Interval]) -> list[Interval]:
    out = []
    for o in occurrences:
        end = o.end if o.end.second == 0 and o.end.microsecond == 0 else \
            o.end.replace(second=0, microsecond=0) + timedelta(minutes=1)
        out.append(Interval(o.start.replace(second=0, microsecond=0), end))
    return merge(out)


@dataclass
class MuteInterval:
    window: Document
    entries: list[dict[str, Any]]
    exact_rule: bool  # a rule that holds beyond the horizon; else dated occurrences within it
    note: str | None = None


def mute_interval(window: Document, as_of: date, months: int) -> MuteInterval:
    spec = window.spec
    tz_name = str(spec.schedule.timezone) if spec.schedule is not None else "UTC"
    span = horizon(as_of, months, tz_name)
    occurrences = [o for o in window_intervals(spec, span.start, span.end) if o.end > span.start]
    wanted = _rounded(occurrences)
    rounding = wanted != merge(occurrences)
    if spec.schedule is not None:
        entries = rule_entries(spec.schedule)
        if entries is not None and covered(entries, span.start, span.end) == \
                merge(_rounded(window_intervals(spec, span.start, span.end))):
            note = (f"{window.name}: duration {spec.schedule.duration} rounded up to whole minutes"
                    if rounding else None)
            return MuteInterval(window, entries, True, note)
        reason = ("its recurrence rule has no Alertmanager form (weekdays, days of the month, months)"
                  if entries is None else
                  "the rule-shaped interval would differ from the occurrences (a daylight-saving change or a "
                  "month boundary falls in or next to one)")
        note = (f"{window.name}: {reason}; written as {len(occurrences)} dated intervals from {as_of} for "
                f"{months} months: run `svcascode generate alertmanager` again before {span.end.date()}")
    else:
        note = None
    dated: list[dict[str, Any]] = []
    for occurrence in occurrences:
        local = dated_entries(occurrence, tz_name)
        exact = covered(local, occurrence.start - timedelta(hours=3), occurrence.end + timedelta(hours=3))
        dated.extend(local if exact == _rounded([occurrence]) else dated_entries(occurrence, "UTC"))
    return MuteInterval(window, dated, False, note)


# --- the configuration ----------------------------------------------------------------------------


@dataclass
class AlertmanagerConfig:
    teams: dict[str, dict[str, Any]] = field(default_factory=dict)  # team -> {route, receivers}
    time_intervals: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def assembled(self) -> dict[str, Any]:
        """A whole configuration: the team fragments under one root route, for amtool and as a start."""
        return {
            "route": {"receiver": "default", "group_by": ["alertname", "service", "slo"],
                      "routes": [f["route"] for _, f in sorted(self.teams.items())]},
            "receivers": [{"name": "default"}] + [r for _, f in sorted(self.teams.items()) for r in f["receivers"]],
            "time_intervals": self.time_intervals,
        }


def _receivers(team: Document | None, name: str) -> list[dict[str, Any]]:
    page: dict[str, Any] = {"name": f"{name}-page"}
    on_call = team.spec.on_call if team is not None else None
    if on_call is not None and (on_call.tool or "").lower() == "pagerduty":
        page["pagerduty_configs"] = [{"routing_key_file": f"/etc/alertmanager/secrets/{name}-pagerduty",
                                      "send_resolved": True}]
    return [page, {"name": f"{name}-ticket"}]


def generate(catalogue: Catalogue, as_of: date, months: int = 12) -> AlertmanagerConfig:
    config = AlertmanagerConfig()
    windows_of: dict[str, list[str]] = {}
    for window in sorted(catalogue.of_kind("MaintenanceWindow"), key=lambda w: w.name):
        interval = mute_interval(window, as_of, months)
        if interval.note:
            config.notes.append(interval.note)
        if not interval.entries:
            config.notes.append(f"{window.name}: no occurrence from {as_of} on; nothing to mute")
            continue
        config.time_intervals.append({"name": interval_name(window), "time_intervals": interval.entries})
        for service in catalogue.window_services(window):
            windows_of.setdefault(service.name, []).append(interval_name(window))
    for service in catalogue.of_kind("Service"):
        operations = service.spec.operations
        for name in (operations.maintenance_windows if operations is not None else ()):
            if any(t["name"] == INTERVAL_PREFIX + name for t in config.time_intervals):
                listed = windows_of.setdefault(service.name, [])
                if INTERVAL_PREFIX + name not in listed:
                    listed.append(INTERVAL_PREFIX + name)
    owners = sorted({str(s.spec.owner) for s in catalogue.of_kind("Service")})
    for owner in owners:
        team = catalogue.get("Team", owner)
        routes: list[dict[str, Any]] = []
        for service in sorted(catalogue.services_owned_by(owner), key=lambda s: s.name):
            mutes = sorted(windows_of.get(service.name, ()))
            if not mutes:
                continue
            for severity in ("page", "ticket"):
                routes.append({"receiver": f"{owner}-{severity}",
                               "matchers": [matcher("service", service.name), matcher("severity", severity)],
                               "mute_time_intervals": mutes})
        routes.append({"receiver": f"{owner}-page", "matchers": [matcher("severity", "page")]})
        config.teams[owner] = {
            "route": {"receiver": f"{owner}-ticket", "matchers": [matcher("team", owner)], "routes": routes},
            "receivers": _receivers(team, owner),
        }
    return config
