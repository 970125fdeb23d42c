"""What `svcascode forecast` (and `check --until`) prints: the deadlines as text, JSON or Markdown, and one
iCalendar file per team. Text from documents goes through `svcascode.escape`, as in every other output."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from svcascode import __version__
from svcascode.errors import SvcascodeError
from svcascode.escape import inert, inert_json, md_code, md_text, one_line, squash

if TYPE_CHECKING:
    from svcascode.forecast import Deadline, Forecast

FORECAST_JSON_VERSION = 1
PRODID = "-//svcascode//deadlines//EN"
UNOWNED = "_unowned"  # the calendar of findings no team owns; no team name starts with "_"


def _heading(forecast: Forecast) -> str:
    count = len(forecast.deadlines)
    days = (forecast.until - forecast.as_of).days
    return (f"forecast {forecast.as_of} -> {forecast.until} ({days} days, {len(forecast.evaluated)} dates evaluated):"
            f" {count} finding{'s' * (count != 1)} will open")


def _line(d: Deadline) -> str:
    f = d.finding
    return one_line(f"{d.opens}: {f.located()}: {f.subject}: [{f.severity}/{f.enforcement}] {f.rule}: "
                    f"{f.message} (owner: {d.owner or 'none'})")


def render_text(forecast: Forecast) -> str:
    lines = [_heading(forecast)]
    lines += ["  " + _line(d) for d in forecast.deadlines]
    if forecast.note:
        lines.append(f"note: {forecast.note}")
    return inert("\n".join(lines) + "\n")


def render_json(forecast: Forecast) -> str:
    body = {"version": FORECAST_JSON_VERSION, "tool": {"name": "svcascode", "version": __version__},
            "command": "forecast", **forecast.as_dict()}
    return inert_json(json.dumps(body, indent=2, ensure_ascii=False)) + "\n"


def render_markdown(forecast: Forecast) -> str:
    lines = [f"### svcascode deadlines {md_code(str(forecast.as_of))} → {md_code(str(forecast.until))}", "",
             f"**{len(forecast.deadlines)} finding{'s' * (len(forecast.deadlines) != 1)} will open** "
             f"({len(forecast.evaluated)} dates evaluated)", ""]
    if forecast.note:
        lines += [f"> **Partial:** {md_text(forecast.note)}", ""]
    if forecast.deadlines:
        lines += ["| opens | control | document | owner | what |", "|---|---|---|---|---|"]
        for d in forecast.deadlines:
            f = d.finding
            lines.append(f"| {d.opens} | {md_text(f.rule, mentions=True)} ({md_text(f.severity)}) | "
                         f"{md_text(f.subject, mentions=True)} {md_code(one_line(f'{f.file}:{f.line}'))} | "
                         f"{md_text(d.owner or 'none', mentions=True)} | {md_text(f.message, mentions=True)} |")
        lines.append("")
    return inert("\n".join(lines))


FORECAST_FORMATS: dict[str, Callable[[Forecast], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
}


# ---------------------------------------------------------------------------------------------------
# iCalendar: one calendar per team, one all-day event per deadline


def calendar_text(forecast: Forecast, team: str | None) -> str:
    """The RFC 5545 calendar of one team's deadlines (team None: those no team owns).

    Each event's UID is the finding's fingerprint, so importing a newer calendar updates an event
    instead of adding a second one; DTSTAMP is the as-of date, so the same forecast gives the same bytes.
    """
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", squash(f"svcascode deadlines: {team or 'no owner'}"))
    stamp = datetime.combine(forecast.as_of, time(0, 0), tzinfo=timezone.utc)
    for d in forecast.for_team(team):
        f = d.finding
        event = Event()
        event.add("uid", f"{f.fingerprint}@svcascode")
        event.add("dtstamp", stamp)
        event.add("dtstart", d.opens)
        event.add("dtend", d.opens + timedelta(days=1))
        event.add("summary", squash(f"{f.rule}: {f.subject} ({f.severity})"))
        event.add("description", squash(f"{f.message} ({f.located()}; owner: {d.owner or 'none'})"))
        event.add("location", squash(f.located()))
        event.add("categories", [squash(f.rule)])
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data.decode("utf-8")


def calendar_names(forecast: Forecast, teams: list[str]) -> dict[str, str | None]:
    """File name -> team, for every team of the catalogue (an empty calendar clears the last run's events when
    re-imported), and one for the findings no team owns when there are any."""
    names: dict[str, str | None] = {f"{team}.ics": team for team in sorted(teams)}
    if forecast.for_team(None):
        names[f"{UNOWNED}.ics"] = None
    return names


def write_calendars(forecast: Forecast, teams: list[str], out: Path) -> tuple[list[Path], list[Path]]:
    """Write one calendar per team into `out`; returns (written, unchanged).

    A file svcascode did not write (one that is not a calendar with svcascode's PRODID) is never overwritten:
    the run stops with exit 2 naming it, before anything is written. A calendar whose content is the same is
    left alone, so running the forecast again is a no-op. No link is followed (svcascode.safewrite).
    """
    from svcascode.safewrite import OutputFolder

    folder = OutputFolder(out)
    planned = {name: calendar_text(forecast, team) for name, team in calendar_names(forecast, teams).items()}
    present = {name: folder.read(name, 1 << 20) for name in planned}
    for name, data in present.items():
        if folder.exists(name) and (data is None or not _ours(data)):
            raise SvcascodeError(f"{out / name}: exists and was not written by svcascode forecast; refusing to "
                                 "overwrite it: choose another --ical folder or remove the file")
    written, unchanged = [], []
    for name, text in planned.items():
        data = text.encode("utf-8")
        if present[name] == data:
            unchanged.append(out / name)
            continue
        written.append(folder.write(name, data))
    return written, unchanged


def _ours(data: bytes) -> bool:
    head = data[:4096]
    return head.startswith(b"BEGIN:VCALENDAR") and f"PRODID:{PRODID}".encode() in head
