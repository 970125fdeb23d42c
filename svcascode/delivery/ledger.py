"""One answer to "was the promise kept?", read by every command, format and page.

A Ledger judges the availability windows and the SLA clocks of a catalogue as of an instant, by one set
of definitions: those in force at each moment, from git, when the command read the history
(`definitions_from_git`); else the catalogue at hand. Each window and clock is computed once per run,
however many outputs ask for it:

- `windows(name, periods)`: availability attained per window (`attainment.level_attainment`);
- `current_and_last(level)` and `recent(level, count)`: the window holding the as-of instant and the
  ones before it;
- `service(name)`: a service's delivery: **breached** when the current or the last window of one of its
  service levels in force is breached. It is the badge of the service's pages and of the index, the
  status of the compliance report's and the service review's summaries, and what a Scorecard level's
  `noBreachedWindows` reads;
- `clocks(incident)` and `breached_windows(incident)`: what `dlv-pir-linked` reads, the same clocks and
  windows `svcascode sla` reports.

`svcascode sla`, `check` (on the working tree or a revision), `render` and `forecast` read the history;
`diff` and `history`, which assess many revisions, judge each catalogue by its own definitions.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Callable, Hashable, Iterator

from svcascode.calendars import EARLIEST, Period, as_utc, shift, sla_periods, zone
from svcascode.reader import CatalogueReader
from svcascode.delivery.attainment import WindowResult, level_attainment, running_at, impact_end
from svcascode.delivery.clocks import Clock, as_of_instant, incident_clocks
from svcascode.delivery.timeline import Definitions, from_git, today_only
from svcascode.documents import Document
from svcascode.facts import level_in_force
from svcascode.models.common import duration_seconds

MAX_WINDOWS_PER_IMPACT = 36  # calendar windows one impact is looked up in (a month-long outage spans two)


@dataclass(frozen=True)
class ServiceDelivery:
    """A service's delivery as of an instant: the current and last window of each level in force."""

    service: str
    windows: tuple[WindowResult, ...]

    @property
    def breached(self) -> tuple[WindowResult, ...]:
        return tuple(w for w in self.windows if w.status == "breached")

    @property
    def status(self) -> str:
        """breached, met, or none (no service level in force measures it)."""
        if not self.windows:
            return "none"
        return "breached" if self.breached else "met"

    @property
    def label(self) -> str:
        """What a badge says: `SLA breached` (or OLA, UC: the kinds breached), `levels met`, `no level`."""
        if not self.windows:
            return "no service level"
        if not self.breached:
            return "service levels met"
        kinds = dict.fromkeys(w.level_type for w in sorted(self.breached, key=lambda w: ("SLA", "OLA", "UC").index(
            w.level_type) if w.level_type in ("SLA", "OLA", "UC") else 3))
        return f"{'/'.join(kinds)} breached"

    def summary(self) -> str:
        if not self.windows:
            return "no service level in force"
        if not self.breached:
            return "every service level met its current and last window"
        return "; ".join(f"{w.level} {w.label} breached ({_percent(w.attained_percent)} against "
                         f"{_percent(w.target_percent)})" for w in self.breached)

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "label": self.label, "summary": self.summary(),
                "breached": [{"level": w.level, "window": w.label} for w in self.breached]}


def _percent(value: Any) -> str:
    return f"{round(float(value), 4):g}%"


Share = Callable[[Hashable, Callable[[], Any]], Any]


class Ledger:
    """The windows and clocks of one catalogue as of one instant, by one set of definitions.

    `share`, when given, computes each window once for everyone who asks (a check's `ctx.shared`, which
    also records what the computation looked up for each reader); without it the Ledger keeps them."""

    def __init__(self, catalogue: CatalogueReader, definitions: Definitions, as_of: datetime, share: Share | None = None
                 ) -> None:
        self.catalogue, self.definitions, self.as_of = catalogue, definitions, as_of
        self.share = share
        self._windows: dict[tuple[str, datetime, datetime], WindowResult | None] = {}
        self._clocks: dict[str, list[Clock]] = {}
        self._services: dict[str, ServiceDelivery] = {}

    @property
    def incidents(self) -> list[Document]:
        return list(self.catalogue.of_kind("Incident"))

    @property
    def note(self) -> str:
        """Which definitions the results were judged by."""
        if self.definitions.reason:
            return f"today's definitions (working tree): {self.definitions.reason}"
        return "each window and clock by the last commit on the first-parent line at or before it"

    # -- windows --------------------------------------------------------------------------------------

    def windows(self, name: str, periods: list[Period]) -> list[WindowResult]:
        """The named level's windows among these periods (those it was in force in), each judged once."""
        found = []
        for period in periods:
            key = (name, period.start, period.end)
            if self.share is not None:
                result = self.share(("window", *key), partial(self._window, name, period))
            else:
                if key not in self._windows:
                    self._windows[key] = self._window(name, period)
                result = self._windows[key]
            if result is not None:
                found.append(result)
        return found

    def _window(self, name: str, period: Period) -> WindowResult | None:
        results = level_attainment(name, self.definitions, [period], self.incidents, self.as_of)
        return results[0] if results else None

    def current_and_last(self, level: Document) -> list[WindowResult]:
        """The level's last complete window and the one holding the as-of instant (fewer when the level was
        not in force then)."""
        return self.windows(level.name, recent_periods(level, self.as_of, 1))

    def recent(self, level: Document, count: int) -> list[WindowResult]:
        """The window holding the as-of instant and the `count` complete windows before it, oldest first."""
        return self.windows(level.name, recent_periods(level, self.as_of, count))

    def service(self, name: str) -> ServiceDelivery:
        """The service's delivery: the current and last window of each of its levels in force."""
        found = self._services.get(name)
        if found is None:
            windows: list[WindowResult] = []
            for level in sorted(self.catalogue.levels_of(name), key=lambda d: (d.spec.type, d.name)):
                if level_in_force(level, (self.as_of - timedelta(microseconds=1)).date()):
                    windows += self.current_and_last(level)
            found = self._services[name] = ServiceDelivery(name, tuple(windows))
        return found

    def breaches_in(self, name: str, count: int) -> list[WindowResult]:
        """The breached windows of the service's levels in force, among each level's current window and the
        `count` complete ones before it."""
        found = []
        for level in self.catalogue.levels_of(name):
            if level_in_force(level, (self.as_of - timedelta(microseconds=1)).date()):
                found += [w for w in self.recent(level, count) if w.status == "breached"]
        return found

    # -- incidents ------------------------------------------------------------------------------------

    def clocks(self, incident: Document) -> list[Clock]:
        found = self._clocks.get(incident.name)
        if found is None:
            found = self._clocks[incident.name] = list(incident_clocks(incident, self.definitions, self.as_of))
        return found

    def breached_windows(self, incident: Document) -> list[WindowResult]:
        """The breached calendar windows the incident spent downtime in (a rolling window has no one window an
        incident belongs to), by the level in force when it opened."""
        opened = as_utc(incident.spec.opened)
        then, _ = self.definitions.at(opened)
        found: dict[tuple[str, str], WindowResult] = {}
        for impact in incident.spec.impacts:
            if str(impact.impact) == "unknown":
                continue
            service = str(impact.service)
            names = dict.fromkeys(level.name for catalogue in (then, self.catalogue)
                                  for level in catalogue.levels_of(service))
            start = as_utc(impact.start or opened)
            end = self.as_of if running_at(incident, impact, self.as_of) else impact_end(incident, impact)
            assert end is not None
            for name in names:
                level = then.get("ServiceLevel", name) or self.catalogue.get("ServiceLevel", name)
                if level is None or level.spec.availability.window.calendar is None:
                    continue
                for result in self.windows(name, calendar_periods(level, start, max(end, start))):
                    if result.status == "breached" and any(c.incident == incident.name for c in result.contributions):
                        found.setdefault((result.level, result.label), result)
        return list(found.values())


def calendar_periods(level: Document, start: datetime, end: datetime) -> list[Period]:
    """The calendar windows (month or quarter, in the level's time zone) that hold [start, end]."""
    window = level.spec.availability.window
    tz = zone(window.timezone)
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    months = (last.year - first.year) * 12 + last.month - first.month
    periods = sla_periods(window.calendar, None, window.timezone, first, months=min(months, MAX_WINDOWS_PER_IMPACT))
    return [p for p in periods if p.start <= end and p.end > start]


def recent_periods(level: Document, as_of: datetime, count: int) -> list[Period]:
    """The window holding the as-of instant and the `count` before it, oldest first; none within the first
    400 days svcascode computes with (where the earliest window would start before it)."""
    if as_of <= shift(EARLIEST, timedelta(days=400 * (count + 1))):
        return []
    window = level.spec.availability.window
    tz = zone(window.timezone)
    if window.rolling is not None:
        length = timedelta(seconds=duration_seconds(str(window.rolling)))
        periods = []
        end = as_of
        for _ in range(count + 1):
            start = shift(end, -length)
            periods.append(Period(f"{window.rolling} to {end.astimezone(tz):%Y-%m-%d %H:%M}", start, end))
            end = start
        return periods[::-1]
    day = (as_of - timedelta(microseconds=1)).astimezone(tz).date()
    [current] = sla_periods(window.calendar, None, window.timezone, day, months=0)
    periods = [current]
    for _ in range(count):
        before = (periods[-1].start - timedelta(microseconds=1)).astimezone(tz).date()
        [previous] = sla_periods(window.calendar, None, window.timezone, before, months=0)
        periods.append(previous)
    return periods[::-1]


# ---------------------------------------------------------------------------------------------------
# Which definitions: the history a command read, or the catalogue at hand


@dataclass
class _History:
    root: Path
    settings: Any
    rev: str
    definitions: dict[int, tuple[CatalogueReader, Definitions]] = field(default_factory=dict)
    ledgers: dict[tuple[int, datetime], Ledger] = field(default_factory=dict)
    today: dict[tuple[int, datetime], Ledger] = field(default_factory=dict)  # where there is no history to read

    def close(self) -> None:
        for _, definitions in self.definitions.values():
            definitions.close()


_HISTORY: ContextVar[_History | None] = ContextVar("svcascode_delivery_history", default=None)


@contextmanager
def definitions_from_git(root: Path, settings: Any, rev: str = "HEAD") -> Iterator[None]:
    """Within this block every delivery judgement (`ledger_for`) reads the definitions in force at each moment
    from the first-parent history of `rev`, read once per catalogue when first needed (never, when nothing
    asks). Outside git, or before the first commit, the catalogue's own definitions are used and said."""
    state = _History(root, settings, rev)
    token = _HISTORY.set(state)
    try:
        yield
    finally:
        _HISTORY.reset(token)
        state.close()


def ledger_for(catalogue: CatalogueReader, as_of: date | datetime, reason: str = "the catalogue at hand") -> Ledger:
    """The Ledger of a catalogue as of a date (the end of that day, UTC) or instant: one per run and date
    within `definitions_from_git`, judged by the history; else a new one, by the catalogue's definitions."""
    found = history_ledger(catalogue, as_of)
    if found is not None:
        return found
    instant = as_of_instant(as_of)
    state = _HISTORY.get()
    if state is None:
        return Ledger(catalogue, today_only(catalogue, reason), instant)
    real = _underlying(catalogue)  # no history to read: the documents' own definitions, once per run and date
    key = (id(real), instant)
    if key not in state.today:
        state.today[key] = Ledger(real, today_only(real, state.definitions[id(real)][1].reason), instant)
    return state.today[key]


def history_ledger(catalogue: CatalogueReader, as_of: date | datetime) -> Ledger | None:
    """The run's Ledger judged by git history (one per catalogue and date), or None when this block reads no
    history or the catalogue has none (outside git, no commit yet): its answers are then the documents' own."""
    state = _HISTORY.get()
    if state is None:
        return None
    real = _underlying(catalogue)  # a check sees the catalogue through a recording proxy
    key = id(real)
    if key not in state.definitions:
        state.definitions[key] = (real, from_git(state.root, state.settings, real, state.rev))
    real, definitions = state.definitions[key]
    if definitions.loader is None:
        return None
    instant = as_of_instant(as_of)
    found = state.ledgers.get((key, instant))
    if found is None:
        found = state.ledgers[(key, instant)] = Ledger(real, definitions, instant)
    return found


def _underlying(catalogue: CatalogueReader) -> CatalogueReader:
    """The catalogue itself, when given the recording reader a check sees (its answers are the same)."""
    return catalogue.underlying()
