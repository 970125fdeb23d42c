"""ServiceNow's other records about a ticket, exported as their own CSV and read beside the incident list:

- outage records (`cmdb_ci_outage`, `--outages`): a configuration item's actual downtime, with its type
  (outage, degradation, planned), begin and end, and the task it was recorded from (`task_number`). They
  are the evidence of impairment: an incident's outage records replace the reading of its `impact` field
  for the services they name (type outage: an outage; degradation: degraded; planned: an outage, and the
  incident is planned work), each with its own start and end (no end: still going);
- task SLAs (`task_sla`, `--task-sla`): each SLA clock the tool ran on a task, with its definition, stage,
  whether it breached and the business time it counted. They are kept on the Incident as `recordedSlas`
  for `svcascode sla reconcile`, which compares them with what the contract in git gives.

Both are read with the bounds and located messages of the incident export (`FILE:ROW:COLUMN`); a row
that names a ticket not in the incident export is listed, not applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from svcascode.errors import SvcascodeError
from svcascode.escape import one_line, shorten, squash
from svcascode.incidentimport.importer import Directory, Evidence, ImportResult, _quote, _Row, header_index, read_rows
from svcascode.incidentimport.mapping import IncidentMapping

OUTAGE_TYPES = {"outage": ("outage", False), "degradation": ("degraded", False), "degraded": ("degraded", False),
                "planned": ("outage", True), "planned outage": ("outage", True)}
_DURATION_WORDS = re.compile(r"([0-9]+)\s*(day|hour|minute|second)s?", re.IGNORECASE)
_CLOCK = re.compile(r"(?:([0-9]+)\s+)?([0-9]{1,3}):([0-9]{2}):([0-9]{2})")
_WORD_SECONDS = {"day": 86400, "hour": 3600, "minute": 60, "second": 1}
_EPOCH = "1970-01-01 "  # ServiceNow writes a duration's value as a date-time from the epoch


@dataclass(frozen=True)
class RecordColumns:
    """The columns a record export is read from: field -> names, the first present with a value wins."""

    fields: dict[str, tuple[str, ...]]
    required: tuple[str, ...]

    def names(self, field: str) -> list[str]:
        return list(self.fields.get(field, ()))


OUTAGE_COLUMNS = RecordColumns({
    "number": ("number",), "ci": ("cmdb_ci", "configuration_item"), "type": ("type",),
    "begin": ("begin",), "end": ("end",), "task": ("task_number", "task"), "title": ("short_description",),
}, ("number", "ci", "type", "begin", "task"))

TASK_SLA_COLUMNS = RecordColumns({
    "task": ("task", "task.number"), "sla": ("sla", "sla.name"), "target": ("sla.target", "target"),
    "type": ("sla.type",), "stage": ("stage",), "breached": ("has_breached",),
    "started": ("start_time",), "stopped": ("end_time", "stop_time"),
    "elapsed": ("business_duration", "duration"),
}, ("task", "sla", "breached"))


def _read(path: Path, shown: str, columns: RecordColumns, what: str) -> tuple[dict[str, list[int]], list[list[str]]]:
    header, rows = read_rows(path, shown)
    missing = [f"{field} ({' or '.join(columns.fields[field])})" for field in columns.required
               if not any(name in header for name in columns.fields[field])]
    if missing:
        raise SvcascodeError(f"{shown}:1: the header has no column for {'; '.join(missing)}: is this ServiceNow's "
                             f"{what} export (Export > CSV of its list)?")
    return header_index(header), rows


def read_outages(path: Path, shown: str, mapping: IncidentMapping, directory: Directory, result: ImportResult,
                 evidence: dict[str, Evidence]) -> None:
    """Each outage record as an impact of the ticket it names, added to `evidence`; problems to `result`."""
    index, rows = _read(path, shown, OUTAGE_COLUMNS, "outage (cmdb_ci_outage)")
    impacts: dict[str, list[dict[str, Any]]] = {}
    planned: set[str] = set()
    for offset, cells in enumerate(rows):
        number = offset + 2
        if not any(cell.strip() for cell in cells):
            continue
        row = _Row(shown, number, index, cells, mapping, result.problems)
        outage = row.text(OUTAGE_COLUMNS.names("number"), "outage number", required=True)
        task = row.text(OUTAGE_COLUMNS.names("task"), "task number", required=True)
        kind = row.text(OUTAGE_COLUMNS.names("type"), "outage type", required=True)
        ci = row.text(OUTAGE_COLUMNS.names("ci"), "configuration item", required=True)
        begin = row.moment(OUTAGE_COLUMNS.names("begin"), "begin date-time", required=True)
        end = row.moment(OUTAGE_COLUMNS.names("end"), "end date-time")
        read = None
        if kind is not None:
            read = OUTAGE_TYPES.get(kind[1].strip().casefold())
            if read is None:
                row.problem(kind[0], f"outage type {_quote(kind[1])} is not outage, degradation or planned")
        services: tuple[str, ...] = ()
        if ci is not None:
            named = directory.resolve(mapping, ci[1])
            if named is None:
                row.problem(ci[0], f"configuration item {_quote(ci[1])} is not declared by a Service: add it to the "
                            f"Service's spec.externalNames.{mapping.system}")
            else:
                services = named[0]
        if begin is not None and end is not None and end < begin:
            row.problem(OUTAGE_COLUMNS.names("end")[0], "the outage ends before it begins")
        if not row.ok or outage is None or task is None or read is None or begin is None or kind is None:
            continue
        impact, is_planned = read
        for service in services:
            entry: dict[str, Any] = {"service": service, "impact": impact, "start": begin.isoformat()}
            if end is not None:
                entry["end"] = end.isoformat()
            entry["basis"] = one_line(shorten(f"outage record {squash(outage[1])} ({squash(kind[1])}) on "
                                              f"{squash(ci[1] if ci else '')}", 300))
            impacts.setdefault(task[1], []).append(entry)
        if is_planned:
            planned.add(task[1])
    for ticket, found in impacts.items():
        before = evidence.get(ticket, Evidence())
        evidence[ticket] = Evidence(before.impacts + tuple(found), before.planned or ticket in planned, before.slas)


def read_task_slas(path: Path, shown: str, mapping: IncidentMapping, result: ImportResult,
                   evidence: dict[str, Evidence]) -> None:
    """Each task_sla row as a recorded SLA clock of the ticket it names, added to `evidence`."""
    index, rows = _read(path, shown, TASK_SLA_COLUMNS, "task SLA (task_sla)")
    for offset, cells in enumerate(rows):
        number = offset + 2
        if not any(cell.strip() for cell in cells):
            continue
        row = _Row(shown, number, index, cells, mapping, result.problems)
        task = row.text(TASK_SLA_COLUMNS.names("task"), "task number", required=True)
        definition = row.text(TASK_SLA_COLUMNS.names("sla"), "SLA definition", required=True)
        breached = row.text(TASK_SLA_COLUMNS.names("breached"), "has breached", required=True)
        stage = row.text(TASK_SLA_COLUMNS.names("stage"), "stage")
        target = row.text(TASK_SLA_COLUMNS.names("target"), "target")
        kind = row.text(TASK_SLA_COLUMNS.names("type"), "SLA type")
        started = row.moment(TASK_SLA_COLUMNS.names("started"), "start time")
        stopped = row.moment(TASK_SLA_COLUMNS.names("stopped"), "stop time")
        elapsed = row.text(TASK_SLA_COLUMNS.names("elapsed"), "business elapsed time")
        flag = None
        if breached is not None:
            flag = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}.get(
                breached[1].strip().casefold())
            if flag is None:
                row.problem(breached[0], f"{_quote(breached[1])} is not true or false")
        seconds = None
        if elapsed is not None:
            seconds = duration_seconds_of(elapsed[1])
            if seconds is None:
                row.problem(elapsed[0], f"{_quote(elapsed[1])} is not a duration ServiceNow writes (such as "
                            "`4 Hours 10 Minutes`, `04:10:00` or `1970-01-01 04:10:00`)")
        metric = _metric(target[1] if target else None, definition[1] if definition else "")
        sla_type = _sla_type(kind[1] if kind else None)
        if not row.ok or task is None or definition is None or flag is None:
            continue
        record: dict[str, Any] = {"definition": one_line(shorten(squash(definition[1]), 200))}
        if metric is not None:
            record["metric"] = metric
        if sla_type != "SLA":
            record["type"] = sla_type
        if stage is not None:
            record["stage"] = one_line(shorten(squash(stage[1]), 40))
        record["breached"] = flag
        if seconds is not None:
            record["elapsed"] = f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"
        if started is not None:
            record["started"] = started.isoformat()
        if stopped is not None:
            record["stopped"] = stopped.isoformat()
        before = evidence.get(task[1], Evidence())
        evidence[task[1]] = Evidence(before.impacts, before.planned, before.slas + (record,))


def _metric(target: str | None, definition: str) -> str | None:
    """response or resolution: the definition's target when exported, else what its name says."""
    for text in (target or "", definition):
        words = text.casefold()
        if "response" in words or "respond" in words:
            return "response"
        if "resolution" in words or "resolve" in words:
            return "resolution"
    return None


def _sla_type(text: str | None) -> str:
    value = (text or "").strip().casefold()
    if value == "ola":
        return "OLA"
    if value in ("uc", "underpinning contract"):
        return "UC"
    return "SLA"


def duration_seconds_of(text: str) -> int | None:
    """A ServiceNow duration in seconds: `1 Day 4 Hours 10 Minutes`, `1 04:10:00`, `1970-01-02 04:10:00`,
    or a number of seconds; None when it is none of these."""
    value = text.strip()
    if value.isdigit():
        return int(value)
    if value.startswith(_EPOCH[:4]) and len(value) == 19:
        try:
            days = int(value[8:10]) - 1
            return days * 86400 + int(value[11:13]) * 3600 + int(value[14:16]) * 60 + int(value[17:19])
        except ValueError:
            return None
    clock = _CLOCK.fullmatch(value)
    if clock is not None:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in clock.groups())
        return int(timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds).total_seconds())
    words = _DURATION_WORDS.findall(value)
    if words and _DURATION_WORDS.sub("", value).strip() == "":
        return sum(int(n) * _WORD_SECONDS[u.casefold()] for n, u in words)
    return None

