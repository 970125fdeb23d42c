"""A ticket export (CSV) -> Incident documents, one file each, never over an existing one.

The export is untrusted: it is read with bounds (file size, rows, columns, field size), decoded as
UTF-8 (a byte-order mark is dropped; another encoding is refused with the row it fails on), and every
cell that becomes text in a document is one line with its control and bidirectional characters shown
as visible escapes, so nothing in a written document or a message acts on a terminal, a page or a
spreadsheet. Each bad cell is one message `FILE:ROW:COLUMN: what is wrong: what to do`, ROW counting the
header as row 1, as a spreadsheet shows it. A row is planned only when it gives a valid Incident.

Re-importing is a no-op: a row whose (system, id) is already the `source` of an Incident in the
catalogue is skipped, whatever that document is called or wherever it lives.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError

from svcascode.config import Limits
from svcascode.documents import validate_document
from svcascode.errors import SvcascodeError
from svcascode.escape import one_line, shorten, squash
from svcascode.finding import format_path
from svcascode.incidentimport.mapping import IncidentMapping
from svcascode.loading.yamlfile import parse_text
from svcascode.models.common import API_VERSION, NAME_PATTERN, FieldError
from svcascode.models.incidents import Incident

MAX_CSV_BYTES = 64 * 1024 * 1024  # a year of tickets of a large service desk is a few megabytes
MAX_ROWS = 100_000
MAX_COLUMNS = 2_000
MAX_FIELD_CHARS = 128 * 1024  # one cell; Python's csv refuses longer fields, so a hostile one stops early
MAX_TITLE_CHARS = 300
MAX_VALUE_CHARS = 200  # ids, priorities, dates, service names, links
MAX_MESSAGES = 1_000  # problems listed; the rest are counted
_SHOWN = 60  # characters of a bad value quoted in a message

_NAME = re.compile(NAME_PATTERN)
_NOT_NAME = re.compile(r"[^a-z0-9]+")
_SEPARATORS = re.compile(r"[,;\n]")
_CUSTOM_FIELD = re.compile(r"^Custom field \((.*)\)$")
_TIME_LEFT = re.compile(r"(\s*[0-9]{1,6}\s*[wdhm])+\s*")
_TIME_LEFT_PART = re.compile(r"([0-9]{1,6})\s*([wdhm])")
_UNIT_MINUTES = {"w": 7 * 1440, "d": 1440, "h": 60, "m": 1}
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}


@dataclass(frozen=True)
class Problem:
    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" + (f":{self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class Planned:
    row: int
    name: str
    source_id: str
    data: dict[str, Any]


@dataclass
class ImportResult:
    problems: list[Problem] = field(default_factory=list)
    planned: list[Planned] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (row, why)
    more_problems: int = 0
    notes: list[str] = field(default_factory=list)  # what to review: unknown impacts, records not applied


@dataclass(frozen=True)
class Existing:
    """What the catalogue already holds: Incident sources (system, id) -> file, and document names -> file."""

    sources: dict[tuple[str, str], str]
    names: dict[str, str]


# ---------------------------------------------------------------------------------------------------
# reading


def read_rows(path: Path, shown: str) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a CSV export, bounded; a SvcascodeError (exit 2) names the place."""
    from svcascode.loading.discover import Refusal, not_regular, read_regular

    if not path.exists():
        raise SvcascodeError(f"{shown}: no such file")
    why = not_regular(path)  # a FIFO would block, a device or /proc file never end: refused before opening
    if why is not None:
        raise SvcascodeError(f"{shown}: {why.split(':')[0]}: export the tickets as a CSV file and name it")
    try:  # read without blocking, never past the bound, whatever size the file says it has
        data = read_regular(path, MAX_CSV_BYTES)
    except Refusal as refusal:
        if "over the limit" in str(refusal):
            raise SvcascodeError(f"{shown}: larger than {MAX_CSV_BYTES // (1024 * 1024)} MiB; export fewer "
                                 "tickets at a time (by month or quarter)") from None
        raise SvcascodeError(f"{shown}: {refusal}") from None
    text = _decode(data, shown)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise SvcascodeError(f"{shown}: line {line}: a NUL character; this is not a text export: export the "
                             "tickets as CSV")
    previous = csv.field_size_limit()
    csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        rows: list[list[str]] = []
        try:
            for record in reader:
                if len(rows) > MAX_ROWS:
                    raise SvcascodeError(f"{shown}: more than {MAX_ROWS:,} rows; export fewer tickets at a time")
                if len(record) > MAX_COLUMNS:
                    raise SvcascodeError(f"{shown}:{len(rows) + 1}: more than {MAX_COLUMNS:,} columns")
                rows.append(record)
        except csv.Error as error:
            raise SvcascodeError(f"{shown}:{len(rows) + 1}: not readable as CSV ({one_line(error)}); a quoted "
                                 f"field longer than {MAX_FIELD_CHARS // 1024} KiB or an unclosed quote stops "
                                 "the reading: fix that row or export again") from None
    finally:
        csv.field_size_limit(previous)
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise SvcascodeError(f"{shown}: empty; export the tickets with a header row")
    return [cell.strip() for cell in rows[0]], rows[1:]


def _decode(data: bytes, shown: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise SvcascodeError(f"{shown}: line {line}: byte 0x{data[error.start]:02X} is not UTF-8; export the "
                             "tickets as UTF-8 (in Excel: Save As > CSV UTF-8)") from None


# ---------------------------------------------------------------------------------------------------
# rows -> documents


class _Row:
    """One CSV row as the mapping reads it; collects its problems."""

    def __init__(self, file: str, number: int, index: dict[str, list[int]], cells: list[str],
                 mapping: IncidentMapping, problems: list[Problem]) -> None:
        self.file, self.number, self.index, self.cells, self.mapping = file, number, index, cells, mapping
        self.problems = problems
        self.ok = True

    def problem(self, column: str, message: str) -> None:
        self.ok = False
        self.problems.append(Problem(self.file, self.number, one_line(shorten(column, _SHOWN)), message))

    def values(self, columns: list[str]) -> Iterator[tuple[str, str]]:
        """(column, cell) for every column of those names with a value, in the mapping's order."""
        for name in columns:
            for index in self.index.get(name, ()):
                if index < len(self.cells) and self.cells[index].strip():
                    yield name, self.cells[index].strip()

    def first(self, columns: list[str]) -> tuple[str, str] | None:
        return next(self.values(columns), None)

    def text(self, columns: list[str], field_name: str, limit: int = MAX_VALUE_CHARS,
             required: bool = False) -> tuple[str, str] | None:
        found = self.first(columns)
        if found is None:
            if required:
                self.problem(columns[0], f"no {field_name}: every row needs one (columns read: "
                             f"{', '.join(one_line(c) for c in columns)})")
            return None
        column, value = found
        cleaned = squash(value)
        if len(cleaned) > limit:
            if field_name != "title":
                self.problem(column, f"{field_name} is {len(cleaned):,} characters long, more than the "
                             f"{limit} a {field_name} may have: {_quote(cleaned)}")
                return None
            cleaned = shorten(cleaned, limit)
        return column, cleaned

    def moment(self, columns: list[str], field_name: str, required: bool = False) -> datetime | None:
        found = self.text(columns, field_name, required=required)
        if found is None:
            return None
        column, value = found
        dates = self.mapping.dates
        try:
            moment = (datetime.fromisoformat(value) if dates.format == "iso"
                      else datetime.strptime(value, dates.format))
        except ValueError:
            expected = "an ISO 8601 date-time" if dates.format == "iso" else f"the format {dates.format}"
            self.problem(column, f"{_quote(value)} is not a date-time in {expected}: correct the cell, or set "
                         "`dates.format` in a mapping file")
            return None
        if moment.tzinfo is None:
            local = self.localise(column, value, moment)
            if local is None:
                return None
            moment = local
        try:
            moment.astimezone(timezone.utc)
        except OverflowError:
            self.problem(column, f"{_quote(value)} is outside the dates svcascode can represent")
            return None
        return moment


    def localise(self, column: str, value: str, moment: datetime) -> datetime | None:
        """A wall-clock time in the mapping's zone as an instant. One the zone's clocks skip or show twice
        (the daylight-saving changes) is a problem unless the mapping says how to read it."""
        dates = self.mapping.dates
        zone = ZoneInfo(dates.timezone)
        first, second = moment.replace(tzinfo=zone, fold=0), moment.replace(tzinfo=zone, fold=1)
        if first.utcoffset() == second.utcoffset():
            return first
        if first.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) == moment:  # shown twice
            if dates.ambiguous == "error":
                self.problem(column, f"{_quote(value)} happened twice in {dates.timezone} (the clocks went back "
                             f"over it: {_offset(first)} or {_offset(second)}): correct the cell with its offset, "
                             "or set `dates.ambiguous: first` or `second` in a mapping file")
                return None
            return first if dates.ambiguous == "first" else second
        if dates.nonexistent == "error":  # skipped: the clocks went forward over it
            self.problem(column, f"{_quote(value)} does not exist in {dates.timezone} (the clocks went forward "
                         "over it): correct the cell, set `dates.timezone` to the zone the export was made in, "
                         "or set `dates.nonexistent: offset-before` or `offset-after` in a mapping file")
            return None
        return first if dates.nonexistent == "offset-before" else second


def _offset(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes")


def _quote(value: str) -> str:
    """A cell quoted in a message: cut, one line, its control characters already visible escapes."""
    return f"'{one_line(shorten(value, _SHOWN))}'"


def _slug(text: str) -> str:
    return _NOT_NAME.sub("-", text.lower()).strip("-")


def header_index(header: list[str]) -> dict[str, list[int]]:
    """Column name -> its positions (Jira repeats a column once per value of a multi-valued field)."""
    index: dict[str, list[int]] = {}
    for position, name in enumerate(header):
        index.setdefault(name, []).append(position)
    return index


@dataclass(frozen=True)
class Directory:
    """The catalogue's Services as an import reads a ticket's service cell: by the names each Service declares
    for the mapping's system (`spec.externalNames`), and by name."""

    services: frozenset[str]
    declared: dict[str, dict[str, tuple[str, ...]]]  # system -> casefolded name -> the Services declaring it

    @classmethod
    def of(cls, services: Iterable[Any]) -> Directory:
        names: set[str] = set()
        declared: dict[str, dict[str, tuple[str, ...]]] = {}
        for service in services:
            names.add(service.name)
            for system, values in (getattr(service.spec, "external_names", None) or {}).items():
                table = declared.setdefault(system, {})
                for value in values:
                    key = " ".join(str(value).split()).casefold()
                    if service.name not in table.get(key, ()):
                        table[key] = (*table.get(key, ()), service.name)
        return cls(frozenset(names), declared)

    @classmethod
    def named(cls, services: Iterable[str]) -> Directory:
        """Services with no declared names (an import that reads names only)."""
        return cls(frozenset(services), {})

    def resolve(self, mapping: IncidentMapping, value: str) -> tuple[tuple[str, ...], str] | None:
        """The Services a cell value names, and how it was read; None when none."""
        wanted = " ".join(value.split()).casefold()
        declaring = self.declared.get(mapping.system, {}).get(wanted)
        if declaring:
            return declaring, f"declared in spec.externalNames.{mapping.system}"
        mapped = next((svc for key, svc in mapping.services.items() if key.strip().casefold() == wanted), None)
        if mapped is not None:
            return ((mapped,), "mapped by the mapping's services") if mapped in self.services else None
        if value.strip() in self.services:
            return (value.strip(),), "a Service of that name"
        slug = _slug(value)
        if slug in self.services:
            return (slug,), f"the Service {slug}, by its lower-case name"
        return None


@dataclass(frozen=True)
class Evidence:
    """What other records of the tool say about one ticket: its outage records and its SLA clocks."""

    impacts: tuple[dict[str, Any], ...] = ()  # Impact documents, from outage records
    planned: bool = False  # an outage record of type planned
    slas: tuple[dict[str, Any], ...] = ()  # RecordedSla documents


def plan_row(file: str, number: int, index: dict[str, list[int]], cells: list[str], mapping: IncidentMapping,
             directory: Directory, problems: list[Problem], unrecorded: tuple[str, ...] = (),
             evidence: dict[str, Evidence] | None = None, notes: list[str] | None = None) -> Planned | None:
    """The Incident a row gives, or None with its problems appended. `unrecorded` are the times the export has
    no column for; `evidence` the other records of the tool by ticket id; `notes` collects what to review."""
    row = _Row(file, number, index, cells, mapping, problems)
    columns = mapping.columns
    identity = row.text(columns.id, "ticket id", required=True)
    title = row.text(columns.title, "title", MAX_TITLE_CHARS, required=True)
    priority = _priority(row)
    opened = row.moment(columns.opened, "opened date-time", required=True)
    responded = row.moment(columns.responded, "responded date-time")
    if responded is None and opened is not None:
        responded = _responded_after(row, opened)
    resolved = row.moment(columns.resolved, "resolved date-time")
    closed = row.moment(columns.closed, "closed date-time")
    impacted = _services(row, directory)
    impact, basis = _impact(row)
    planned = _planned(row)
    slas = _sla_fields(row, notes)
    name = _name(row, identity)
    if not row.ok or identity is None or title is None or priority is None or opened is None or name is None:
        return None
    found = (evidence or {}).get(identity[1], Evidence())
    spec: dict[str, Any] = {"title": title[1], "priority": priority}
    if planned or found.planned:
        spec["planned"] = True
    spec["opened"] = _iso(opened)
    for key, moment in (("responded", responded), ("resolved", resolved), ("closed", closed)):
        if moment is not None:
            spec[key] = _iso(moment)
    covered = {impact_data["service"] for impact_data in found.impacts}
    impacts = list(found.impacts)
    for service, how in impacted:
        if service not in covered:
            impacts.append({"service": service, "impact": impact, "basis": f"{basis}; service {how}"})
    spec["impacts"] = impacts
    links: dict[str, Any] = {}
    for key, source in (("change", columns.change), ("problem", columns.problem)):
        found_text = row.text(source, key)
        if found_text is not None:
            links[key] = found_text[1]
    review = row.text(columns.review, "post-incident review URL")
    if review is not None:
        links["postIncidentReview"] = {"url": review[1]}
    if links:
        spec["links"] = links
    spec["source"] = {"system": mapping.system, "id": identity[1]}
    if unrecorded:
        spec["source"]["unrecorded"] = list(unrecorded)
    if slas or found.slas:
        spec["recordedSlas"] = [*slas, *found.slas]
    data = {"apiVersion": API_VERSION, "kind": "Incident", "metadata": {"name": name}, "spec": spec}
    if not _valid(row, data, identity[0]):
        return None
    if notes is not None:
        unknown = [i["service"] for i in impacts if i["impact"] == "unknown"]
        if unknown:
            notes.append(f"row {number}: {one_line(identity[1])} impact on {', '.join(unknown)} unknown ({basis}): it "
                         f"counts no downtime; review it and set the impact in {name}.yaml if the service was "
                         "impaired")
    return Planned(number, name, identity[1], data)


def _priority(row: _Row) -> str | None:
    found = row.text(row.mapping.columns.priority, "priority", required=True)
    if found is None:
        return None
    column, value = found
    priority = row.mapping.priority_of(value)
    if priority is None:
        known = ", ".join(repr(k) for k in row.mapping.priorities)
        row.problem(column, f"priority {_quote(value)} is not in the mapping's priorities ({known}): add it "
                    "under `priorities:` in a mapping file (`base:` the built-in one)")
    return priority


def _responded_after(row: _Row, opened: datetime) -> datetime | None:
    found = row.text(row.mapping.columns.responded_after_seconds, "seconds to first response")
    if found is None:
        return None
    column, value = found
    try:
        seconds = float(value)
        if not 0 <= seconds <= 10 * 365 * 86400:
            raise ValueError
    except ValueError:
        row.problem(column, f"{_quote(value)} is not a number of seconds between 0 and ten years")
        return None
    return opened + timedelta(seconds=round(seconds))


def _split(cell: str) -> list[str]:
    """The values of a cell that lists several (`A, B` or `A; B`)."""
    return [part.strip() for part in _SEPARATORS.split(cell) if part.strip()]


def _services(row: _Row, directory: Directory) -> list[tuple[str, str]]:
    """(service, how it was read) for every Service the row names: the first entry of the mapping's service
    columns whose every value names one; a cell is read whole first, then as a list."""
    entries = row.mapping.columns.service
    unresolved: list[tuple[str, str]] = []
    any_value = False
    for entry in entries:
        found = list(row.values(entry))
        if not found:
            continue
        any_value = True
        resolved: list[tuple[str, str]] = []
        missing: list[tuple[str, str]] = []
        for column, cell in found:
            value = squash(cell)
            if len(value) > MAX_VALUE_CHARS:
                row.problem(column, f"service is {len(value):,} characters long, more than the {MAX_VALUE_CHARS} "
                            f"a service name may have: {_quote(value)}")
                return []
            whole = directory.resolve(row.mapping, value)
            parts = [value] if whole is not None else _split(value)
            for part in parts:
                named = whole if part == value else directory.resolve(row.mapping, part)
                if named is None:
                    missing.append((column, part))
                    continue
                services, how = named
                for service in services:
                    if service not in (s for s, _ in resolved):
                        resolved.append((service, f"{column} {_quote(part)}, {how}"))
        if not missing:
            return resolved
        unresolved += missing
    if not any_value:
        shown = ", ".join(one_line(c) for entry in entries for c in entry)
        row.problem(entries[0][0], f"no service: every row names the service it impacted (columns read: {shown})")
        return []
    column, value = unresolved[0]
    system = row.mapping.system
    row.problem(column, f"service {_quote(value)} is not a Service of the catalogue, and no Service declares it: "
                f"add it to the Service's spec.externalNames.{system} (e.g. {system}: [{_quote(value)}]), or add the "
                "Service")
    return []


def _impact(row: _Row) -> tuple[str, str]:
    """The impact the row's impact column gives, and what it was read from; the mapping's default without one."""
    found = row.text(row.mapping.columns.impact, "impact")
    if found is None:
        default = row.mapping.impact
        return default, ("no impact in the export" if default == "unknown"
                         else f"no impact in the export: the mapping's default, {default}")
    column, value = found
    impact = row.mapping.impact_of(value) or (value.lower() if value.lower() in ("outage", "degraded", "unknown")
                                              else None)
    if impact is None:
        row.problem(column, f"impact {_quote(value)} is not in the mapping's impacts: add it under `impacts:` "
                    "(outage, degraded or unknown) in a mapping file")
        return "unknown", ""
    if impact == "partial":
        row.problem(column, "a partial impact needs the fraction of users affected, which an export does not "
                    "give: map it to outage, degraded or unknown, and edit the document after importing")
    return impact, f"{column} {_quote(value)}, read as {impact}"


def _planned(row: _Row) -> bool:
    found = row.text(row.mapping.columns.planned, "planned")
    if found is None:
        return False
    column, value = found
    if row.mapping.planned_values:
        return value.casefold() in {v.strip().casefold() for v in row.mapping.planned_values}
    if value.lower() in _TRUE:
        return True
    if value.lower() not in _FALSE:
        row.problem(column, f"{_quote(value)} is not yes or no (true/false, 1/0)")
    return False


def _sla_fields(row: _Row, notes: list[str] | None) -> list[dict[str, Any]]:
    """The tool's SLA fields (Jira's: the time left, negative once breached) as recorded SLA clocks."""
    found = []
    for metric, columns in row.mapping.columns.slas.items():
        cell = row.text(columns, f"{metric} SLA field")
        if cell is None:
            continue
        column, value = cell
        left = parse_time_left(value)
        if left is None:
            if notes is not None:
                notes.append(f"row {row.number}: {one_line(column)} {_quote(value)} is not a time left (such as 2h "
                             "30m, or -15m once breached): not kept")
            continue
        name = _CUSTOM_FIELD.sub(r"\1", squash(column))  # Jira's "Custom field (Time to resolution)"
        found.append({"definition": one_line(shorten(name, 200)), "metric": metric, "breached": left < 0})
    return found


def parse_time_left(text: str) -> int | None:
    """Jira's time left, `2h 30m` or `-1d 4h`, in minutes; None when it is not one."""
    value = text.strip()
    sign = -1 if value.startswith("-") else 1
    body = value.lstrip("+-").strip()
    if not body or not _TIME_LEFT.fullmatch(body):
        return None
    minutes = sum(int(n) * _UNIT_MINUTES[u] for n, u in _TIME_LEFT_PART.findall(body))
    return sign * minutes if minutes or sign > 0 else 0


def _name(row: _Row, identity: tuple[str, str] | None) -> str | None:
    if identity is None:
        return None
    column, value = identity
    name = (row.mapping.name_prefix + _slug(value))[:63].rstrip("-")
    if not _NAME.match(name):
        row.problem(column, f"ticket id {_quote(value)} gives no document name (letters and digits, "
                    "lower-cased): correct the cell")
        return None
    return name


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _valid(row: _Row, data: dict[str, Any], id_column: str) -> bool:
    """The document passes the Incident model; a rule it breaks is reported at the row."""
    try:
        Incident.model_validate(data)
    except ValidationError as error:
        for item in error.errors(include_url=False)[:5]:
            loc = tuple(p for p in item["loc"] if isinstance(p, (str, int)))
            cause = item.get("ctx", {}).get("error")
            if isinstance(cause, FieldError):
                loc = (*loc, *cause.path)
            where = format_path(loc)
            message = str(cause) if cause is not None else item["msg"]
            row.problem(_column_of(row, where) or id_column, f"the Incident it gives is not valid: {where}: "
                        f"{one_line(message)}")
        return False
    return True


def _column_of(row: _Row, where: str) -> str | None:
    """The export column a document field came from, for the message's place."""
    columns = row.mapping.columns
    for field_name, names in (("responded", columns.responded), ("resolved", columns.resolved),
                              ("closed", columns.closed), ("opened", columns.opened)):
        if f"spec.{field_name}" in where:
            found = row.first(names)
            return found[0] if found else None
    return None


# ---------------------------------------------------------------------------------------------------
# the whole import


def plan_import(path: Path, shown: str, mapping: IncidentMapping, directory: Directory, existing: Existing,
                evidence: dict[str, Evidence] | None = None) -> ImportResult:
    header, rows = read_rows(path, shown)
    result = ImportResult()
    _check_header(header, mapping, shown)
    unrecorded = unrecorded_times(header, mapping)
    seen: dict[str, int] = {}
    names: dict[str, int] = {}
    index = header_index(header)
    for offset, cells in enumerate(rows):
        number = offset + 2  # the header is row 1; a blank row keeps its number, so later rows match the sheet
        if not any(cell.strip() for cell in cells):
            continue
        notes: list[str] = []
        planned = plan_row(shown, number, index, cells, mapping, directory, result.problems, unrecorded, evidence,
                           notes)
        if len(result.problems) > MAX_MESSAGES:
            result.more_problems += len(result.problems) - MAX_MESSAGES
            del result.problems[MAX_MESSAGES:]
        if planned is None:
            continue
        id_column = mapping.columns.id[0]
        source = (mapping.system, planned.source_id)
        if source in existing.sources:
            more = " (its outage or SLA records in this import are not applied: edit that document)" if (
                evidence and planned.source_id in evidence) else ""
            result.skipped.append((number, f"{mapping.system} {one_line(planned.source_id)} is already imported "
                                   f"in {existing.sources[source]}{more}"))
            continue
        if planned.source_id in seen:
            result.problems.append(Problem(shown, number, one_line(id_column),
                                           f"{_quote(planned.source_id)} is on row {seen[planned.source_id]} too: "
                                           "export each ticket once"))
            continue
        seen[planned.source_id] = number
        if planned.name in existing.names or planned.name in names:
            where = existing.names.get(planned.name) or f"row {names[planned.name]}"
            result.problems.append(Problem(shown, number, one_line(id_column),
                                           f"the document name {planned.name} is already taken ({where}) by an "
                                           "Incident from another source: set `namePrefix` in a mapping file"))
            continue
        names[planned.name] = number
        result.planned.append(planned)
        result.notes += notes
    listed = {cells[i].strip() for cells in rows for i in index.get(mapping.columns.id[0], ()) if i < len(cells)}
    for ticket in sorted((evidence or {}).keys() - listed - {p.source_id for p in result.planned}):
        if (mapping.system, ticket) not in existing.sources:
            result.notes.append(f"{one_line(ticket)}: outage or SLA records name this ticket, which is not in the "
                                "export: export it with the incidents to import them")
    return result


def unrecorded_times(header: list[str], mapping: IncidentMapping) -> tuple[str, ...]:
    """The times the export has no column for: an Incident from it says so, and a clock that needs one is
    not recorded rather than running or breached."""
    columns = mapping.columns
    present = set(header)
    missing = []
    if not present & {*columns.responded, *columns.responded_after_seconds}:
        missing.append("responded")
    if not present & set(columns.resolved):
        missing.append("resolved")
    return tuple(missing)


def _check_header(header: list[str], mapping: IncidentMapping, shown: str) -> None:
    """Every required field has at least one of its columns in the header; else the export is not this tool's."""
    columns = mapping.columns
    service_columns = [c for entry in columns.service for c in entry]
    missing = [f"{field_name} ({' or '.join(one_line(c) for c in names)})"
               for field_name, names in (("id", columns.id), ("title", columns.title),
                                         ("priority", columns.priority), ("opened", columns.opened),
                                         ("service", service_columns))
               if not any(name in header for name in names)]
    if missing:
        raise SvcascodeError(f"{shown}:1: the header has no column for {'; '.join(missing)}: is this a "
                             f"{mapping.system} export? Choose the --mapping of the tool it came from, or write a "
                             "mapping file naming its columns")


HEADER = ("# Imported by `svcascode import incidents` from {source}. Edit it like any other document;\n"
          "# importing the same export again leaves it alone (it is matched on spec.source).")


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper (it quotes whatever YAML would read as another type), and text that a
    spreadsheet would run as a formula (`=cmd|...`, `+`, `-`, `@`) always double-quoted, so that it reads
    as the text it is wherever the document is shown."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if value[:1] in ("=", "+", "-", "@", "\t", "\r", "'", '"') else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_text)


def render(planned: Planned, source: str) -> str:
    """The document's YAML: every string quoted where YAML could misread it, nothing that is not text."""
    body = yaml.dump(planned.data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=120)
    text = HEADER.format(source=one_line(source)) + "\n" + body
    parsed = parse_text("import.yaml", text.encode(), Limits())
    document, findings = (None, parsed.problems) if parsed.problems else validate_document(parsed.documents[0],
                                                                                           parsed.text)
    if document is None or findings:  # the model accepted the data, so the YAML must read back the same
        raise SvcascodeError(f"internal: the YAML written for {planned.name} does not read back: "
                             f"{one_line(findings[0].message) if findings else 'no document'}")
    return text


def write(result: ImportResult, out: Path, source: str) -> None:
    """Write every planned document into `out`, never over a file (one that exists is listed as skipped)."""
    from svcascode.safewrite import OutputFolder

    folder: OutputFolder | None = None
    for planned in result.planned:
        target = out / f"{planned.name}.yaml"
        text = render(planned, source)
        if folder is None:  # created, through no link, only when there is something to write
            folder = OutputFolder(out)
        try:
            folder.write(f"{planned.name}.yaml", text, exclusive=True)
        except FileExistsError:
            result.skipped.append((planned.row, f"{target} exists"))
            continue
        result.written.append(target)
