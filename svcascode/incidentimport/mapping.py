"""How the columns of a ticket export become the fields of an Incident: the built-in mappings of
ServiceNow, Jira Service Management and PagerDuty, and a mapping file's model and located validation.

A mapping names, for each Incident field, the export columns it may come from, in order of preference:
per row, the first of them with a value is used (an export that has `priority_name` on some rows and
only `urgency` on others is read either way). It maps the tool's priority texts to P1-P4 and its impact
texts to outage, degraded or unknown; it says how dates are written, in which time zone a date-time
without an offset is meant, and how a local time that the zone's clock change makes ambiguous or skips
is read (by default it is an error). The services a ticket impacted are found by the names each Service
declares for the mapping's system (`spec.externalNames`), then by the mapping's `services:`, then by a
Service of that name. A mapping file may start from a built-in mapping (`base: servicenow`) and change
only what differs, typically `dates.timezone`.

The built-in mappings read each tool's own impact field and nothing else as evidence that a service was
impaired; a ticket without one has an `unknown` impact (no downtime). What each maps to is in
docs/incidents.md, with what was assumed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, field_validator

from svcascode.config import Limits
from svcascode.documents import explain_errors
from svcascode.escape import one_line
from svcascode.finding import JsonPath
from svcascode.loading.yamlfile import RawDocument, parse_text
from svcascode.models.common import Model, Priority, Ref, Text, TimeZone

BUILTIN = ("servicenow", "jsm", "pagerduty")
MAX_MAPPING_BYTES = 256 * 1024
_SAMPLE = datetime(2026, 12, 31, 23, 59, 58, tzinfo=timezone.utc)


def _check_format(value: str) -> str:
    """`iso`, or a strptime pattern that reads back what it writes."""
    if value == "iso":
        return value
    if "%" not in value:
        raise ValueError("give `iso` or a strptime pattern such as \"%Y-%m-%d %H:%M:%S\"")
    try:
        written = _SAMPLE.strftime(value)
        datetime.strptime(written, value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"not a date format Python's strptime reads: {error}") from None
    if not any(directive in value for directive in ("%Y", "%y", "%G")):
        raise ValueError("the format has no year (%Y or %y)")
    return value


DateFormat = Annotated[Text, AfterValidator(_check_format)]
ColumnList = Annotated[list[Text], Field(max_length=20)]
ImpactValue = Literal["outage", "degraded", "partial", "unknown"]


def _entries(value: Any) -> Any:
    """`service:` as written: a column, a list of columns, or a list whose entries are columns or lists of them."""
    if isinstance(value, str):
        return [[value]]
    if isinstance(value, list):
        return [[entry] if isinstance(entry, str) else entry for entry in value]
    return value


class Columns(Model):
    """Incident field -> the export columns it is read from, first non-empty one wins."""

    id: ColumnList = Field(min_length=1, description="the ticket's identifier: source.id and the document name")
    title: ColumnList = Field(min_length=1)
    priority: ColumnList = Field(min_length=1)
    opened: ColumnList = Field(min_length=1)
    responded: ColumnList = Field(default_factory=list)
    responded_after_seconds: ColumnList = Field(default_factory=list, description="seconds from opened to "
                                                "the first response, when the tool exports a duration")
    resolved: ColumnList = Field(default_factory=list)
    closed: ColumnList = Field(default_factory=list)
    service: Annotated[list[ColumnList], BeforeValidator(_entries), Field(min_length=1, max_length=20)] = Field(
        description="where the impacted services are named, in order of preference: each entry a column or a list "
        "of columns read together (Jira repeats a column per value); per row the first entry whose every value "
        "names a Service is used, so `[business_service, cmdb_ci]` reads the CI only when the business service "
        "is empty or no Service declares it. A cell may list several values, separated by `,` or `;`")
    impact: ColumnList = Field(default_factory=list)
    planned: ColumnList = Field(default_factory=list)
    change: ColumnList = Field(default_factory=list)
    problem: ColumnList = Field(default_factory=list)
    review: ColumnList = Field(default_factory=list, description="the post-incident review's URL")
    slas: dict[Literal["response", "resolution"], ColumnList] = Field(
        default_factory=dict, description="the tool's SLA fields (Jira's time to first response and to "
        "resolution): the time left, negative once breached; kept as the Incident's recordedSlas")

    @field_validator("*", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any, info: Any) -> Any:
        if info.field_name in ("service", "slas"):
            return value
        return [value] if isinstance(value, str) else value


class Dates(Model):
    format: DateFormat = Field("iso", description="`iso` (ISO 8601, with or without an offset) or a "
                               "strptime pattern")
    timezone: TimeZone = Field("UTC", description="the zone of a date-time written without an offset")
    ambiguous: Literal["error", "first", "second"] = Field(
        "error", description="a local time the zone's clocks show twice (the hour they go back): an error, or the "
        "first or the second time it occurred")
    nonexistent: Literal["error", "offset-before", "offset-after"] = Field(
        "error", description="a local time the zone's clocks skip (the hour they go forward): an error, or read "
        "with the offset in force before or after the change")


class IncidentMapping(Model):
    system: Annotated[Text, Field(max_length=40, pattern=r"^[a-z][a-z0-9-]*$")] = Field(
        description="source.system of every Incident written, e.g. servicenow")
    name_prefix: Annotated[str, Field(max_length=20, pattern=r"^([a-z0-9][-a-z0-9]*)?$")] = Field(
        "", description="put before the lower-cased ticket id to make the document name")
    columns: Columns
    priorities: dict[Text, Priority] = Field(min_length=1, description="the tool's priority text (compared "
                                             "without case) -> P1..P4")
    services: dict[Text, Ref] = Field(default_factory=dict, description="the tool's service name -> the "
                                      "catalogue's Service, where no Service declares it in spec.externalNames")
    impacts: dict[Text, ImpactValue] = Field(default_factory=dict, description="the impact column's text -> "
                                             "outage, degraded or unknown")
    impact: ImpactValue = Field("unknown", description="the impact when no impact column gives one: unknown (no "
                                "downtime, listed for review) unless the export's tickets are all of one kind")
    planned_values: list[Text] = Field(default_factory=list, max_length=50, description="texts of the planned "
                                       "column (any case) that mean planned work; without them: yes/no, true/false")
    dates: Dates = Field(default_factory=lambda: Dates.model_validate({}))

    def priority_of(self, text: str) -> str | None:
        wanted = text.strip().casefold()
        return next((p for key, p in self.priorities.items() if key.strip().casefold() == wanted), None)

    def impact_of(self, text: str) -> str | None:
        wanted = text.strip().casefold()
        return next((i for key, i in self.impacts.items() if key.strip().casefold() == wanted), None)


_SERVICENOW: dict[str, Any] = {
    # The incident list's CSV export (Export > CSV, or incident_list.do?CSV): field names as headers,
    # display values in the cells, dates in the exporting user's format and time zone. It has no response
    # time (the response is a task_sla record). `impact` is the business impact the agent set: 1 - High is
    # read as an outage of the service for the incident's span, 2 - Medium and 3 - Low as degraded (which
    # counts no downtime unless the level weighs it); outage records (cmdb_ci_outage, `--outages`) give
    # the type, begin and end, and replace that reading where they exist.
    "system": "servicenow",
    "columns": {
        "id": ["number"], "title": ["short_description"], "priority": ["priority"],
        "opened": ["opened_at"], "resolved": ["resolved_at"], "closed": ["closed_at"],
        "service": ["business_service", "cmdb_ci"], "impact": ["impact"],
        "change": ["rfc", "caused_by"], "problem": ["problem_id"],
    },
    "priorities": {"1 - Critical": "P1", "2 - High": "P2", "3 - Moderate": "P3", "4 - Low": "P4",
                   "5 - Planning": "P4"},
    "impacts": {"1 - High": "outage", "2 - Medium": "degraded", "3 - Low": "degraded"},
    "dates": {"format": "%Y-%m-%d %H:%M:%S", "timezone": "UTC"},
}

_JSM: dict[str, Any] = {
    # Jira's issue search "Export CSV (all fields)": display names as headers, a multi-valued field as
    # one column per value (Cloud: `Components`; Data Center: `Component/s`), affected services as one cell
    # of comma-separated names, dates as dd/MMM/yy h:mm AM/PM in the exporting user's time zone. Impact is
    # the service project's Impact field: Extensive / Widespread is read as an outage, the others as degraded.
    # The SLA fields give the time left (negative once breached), not when the clock stopped.
    "system": "jsm",
    "columns": {
        "id": ["Issue key"], "title": ["Summary"], "priority": ["Priority"],
        "opened": ["Created"], "resolved": ["Resolved"],
        "service": [["Custom field (Affected services)", "Affected services"], ["Components", "Component/s"]],
        "impact": ["Custom field (Impact)", "Impact"], "planned": ["Issue Type"],
        "problem": ["Custom field (Problem)"],
        "slas": {"response": ["Custom field (Time to first response)", "Time to first response"],
                 "resolution": ["Custom field (Time to resolution)", "Time to resolution"]},
    },
    "priorities": {"Highest": "P1", "High": "P2", "Medium": "P3", "Low": "P4", "Lowest": "P4"},
    "impacts": {"Extensive / Widespread": "outage", "Extensive": "outage",
                "Significant / Large": "degraded", "Significant": "degraded",
                "Moderate / Limited": "degraded", "Moderate": "degraded",
                "Minor / Localized": "degraded", "Minor": "degraded"},
    "planned_values": ["Change"],
    "dates": {"format": "%d/%b/%y %I:%M %p", "timezone": "UTC"},
}

_PAGERDUTY: dict[str, Any] = {
    # The incidents CSV (Incidents > Download CSV, and the Analytics raw incident data): ISO 8601 times
    # with an offset, the priority's name where priorities are enabled, else the urgency. The service by its
    # id first (a Service declares it in externalNames.pagerduty), else by its name. A high-urgency incident
    # paged its responders: read as an outage of its service; a low-urgency one as degraded.
    "system": "pagerduty",
    "name_prefix": "pd-",
    "columns": {
        "id": ["incident_number", "id"], "title": ["title", "description"],
        "priority": ["priority_name", "priority", "urgency"],
        "opened": ["created_on", "created_at"], "responded": ["acknowledged_on", "first_acknowledged_on"],
        "responded_after_seconds": ["seconds_to_first_ack"],
        "resolved": ["resolved_on", "resolved_at"], "service": ["service_id", "service_name"],
        "impact": ["urgency"],
    },
    "priorities": {"P1": "P1", "P2": "P2", "P3": "P3", "P4": "P4", "P5": "P4", "high": "P2", "low": "P4"},
    "impacts": {"high": "outage", "low": "degraded"},
    "dates": {"format": "iso", "timezone": "UTC"},
}

BUILTIN_DATA: dict[str, dict[str, Any]] = {"servicenow": _SERVICENOW, "jsm": _JSM, "pagerduty": _PAGERDUTY}


class MappingError(Exception):
    """A mapping file that cannot be used; `messages` are located, one per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


def builtin_mapping(name: str) -> IncidentMapping:
    return IncidentMapping.model_validate(BUILTIN_DATA[name])


def load_mapping(choice: str, root: Path) -> IncidentMapping:
    """A built-in mapping by name, or a mapping file (relative to `root` or absolute)."""
    if choice in BUILTIN:
        return builtin_mapping(choice)
    path = Path(choice) if Path(choice).is_absolute() else root / choice
    shown = one_line(choice)
    from svcascode.loading.discover import Refusal, read_regular

    if not path.is_file():  # a FIFO, a device or a folder is no mapping file either
        raise MappingError([f"{shown}: no such mapping file, and not one of the built-in mappings "
                            f"({', '.join(BUILTIN)})"])
    try:  # without blocking, never past the bound
        data = read_regular(path, MAX_MAPPING_BYTES)
    except Refusal as refusal:
        if "over the limit" in str(refusal):
            raise MappingError([f"{shown}: larger than {MAX_MAPPING_BYTES // 1024} KiB; a mapping is a short "
                                "file"]) from None
        raise MappingError([f"{shown}: {refusal}"]) from None
    parsed = parse_text(shown, data, Limits())
    if parsed.problems:
        raise MappingError([f"{p.file}:{p.line}:{p.column}: {p.message}" for p in parsed.problems])
    if len(parsed.documents) != 1 or not isinstance(parsed.documents[0].data, dict):
        raise MappingError([f"{shown}:1:1: a mapping file is one YAML mapping (system:, columns:, priorities:, ...)"])
    raw = parsed.documents[0]
    values = dict(raw.data)
    base = values.pop("base", None)
    if base is not None:
        if base not in BUILTIN:
            line, column = _mark(raw, ("base",))
            raise MappingError([f"{shown}:{line}:{column}: base: {one_line(base)!r} is not a built-in mapping; "
                                f"use one of: {', '.join(BUILTIN)}"])
        values = _merged(BUILTIN_DATA[str(base)], values)
    try:
        return IncidentMapping.model_validate(values)
    except ValidationError as error:
        messages = []
        for loc, message in explain_errors(error, IncidentMapping, raw, parsed.text):
            line, column = _mark(raw, loc)
            messages.append(f"{shown}:{line}:{column}: {message}")
        raise MappingError(messages) from None


def _merged(base: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The built-in mapping with the file's keys over it; mappings (columns, dates, maps) merge key by key."""
    out = dict(base)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _mark(raw: RawDocument, loc: JsonPath) -> tuple[int, int]:
    """The line and column of a path, or of its nearest parent the file has (a key from `base:`)."""
    for end in range(len(loc), -1, -1):
        found = raw.mark(tuple(loc[:end]))
        if found is not None:
            return found
    return 1, 1


MappingChoice = Literal["servicenow", "jsm", "pagerduty"]
