"""Incident: what happened to which services and when, the timestamps SLA clocks are measured on.

An incident record is a fact, not a promise: its priority picks the ServiceLevel's support targets,
its `opened`, `responded` and `resolved` times are what response and resolution clocks measure, its
state changes are what pauses a clock (the states a ServiceLevel lists in `support.pauseOn`), and the
impact on each service (with its own start and end where they differ from the incident's) is what
availability is measured on. An impact the record cannot establish is `unknown`: the service is named,
the incident counts no downtime, and it is listed for review. Every time is a date-time with its
offset, so a record means one instant whatever the reader's time zone. What the ticketing tool itself
recorded about its SLA clocks (`recordedSlas`) is kept beside the facts, so that `svcascode sla
reconcile` can compare it with what the contract in git gives.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, Strict, model_validator

from svcascode.models.common import (
    Bool, DateTime, DurationValue, Envelope, FieldError, Model, Priority, Ref, Text, Url,
)

IMPACTS = ("outage", "degraded", "partial", "unknown")
STATES = ("in-progress", "awaiting-customer", "awaiting-vendor", "scheduled", "on-hold")
MAX_STATES = 10_000  # state changes one incident may record; far more than any real ticket has
MAX_IMPACTS = 10_000  # services one incident may affect

ImpactKind = Literal["outage", "degraded", "partial", "unknown"]
ClockMetric = Literal["response", "resolution"]
IncidentState = Literal["in-progress", "awaiting-customer", "awaiting-vendor", "scheduled", "on-hold"]


class Impact(Model):
    service: Ref = Field(description="the affected Service")
    impact: ImpactKind = Field(description="outage (unavailable), degraded (working, worse), partial (out for a "
                               "fraction of its users), or unknown (the record does not say: no downtime is "
                               "counted and the incident is listed for review)")
    fraction: Annotated[float, Strict(), Field(gt=0, le=1)] | None = Field(
        None, description="partial only: the fraction of users affected, above 0 and at most 1")
    start: DateTime | None = Field(None, description="when the impact began; default: the incident's `opened`")
    end: DateTime | None = Field(None, description="when the impact ended; default: the incident's `resolved` "
                                 "(absent on an open incident: ongoing)")
    basis: Text | None = Field(None, max_length=300, description="what the impact was read from, e.g. "
                               "`impact 1 - High` or `outage record OUT0010233`; an importer says what it assumed")

    @model_validator(mode="after")
    def _fraction_for_partial(self) -> Impact:
        if self.impact == "partial" and self.fraction is None:
            raise FieldError("impact", "a partial impact gives the fraction of users affected: add `fraction:` "
                             "(above 0, at most 1)")
        if self.impact != "partial" and self.fraction is not None:
            raise FieldError("fraction", f"`fraction` belongs to a partial impact only, not to {self.impact}: "
                             "remove it, or set `impact: partial`")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise FieldError("end", f"the impact ends ({_at(self.end)}) before it starts ({_at(self.start)})")
        return self


class StateChange(Model):
    state: IncidentState = Field(description="the state entered; awaiting-customer, awaiting-vendor, scheduled "
                                 "and on-hold pause a clock when the ServiceLevel lists them in `pauseOn`")
    at: DateTime


class PostIncidentReview(Model):
    url: Url
    published: DateTime | None = None


class IncidentLinks(Model):
    change: Text | None = Field(None, description="the change record that caused or fixed it")
    problem: Text | None = Field(None, description="the problem record")
    post_incident_review: PostIncidentReview | None = None


class IncidentSource(Model):
    """Where the record was imported from: re-importing the same ticket is recognised by system and id."""

    system: Text = Field(description="e.g. servicenow, jsm, pagerduty")
    id: Text = Field(description="the ticket's identifier in that system, e.g. INC0012345")
    unrecorded: list[Literal["responded", "resolved"]] = Field(
        default_factory=list, description="times the source's export does not carry (ServiceNow's incident list "
        "has no response time): a clock that needs one is not recorded, neither met nor breached")


class RecordedSla(Model):
    """One SLA clock as the ticketing tool recorded it (a ServiceNow task_sla row, a Jira SLA field)."""

    definition: Text = Field(max_length=200, description="the tool's SLA definition, e.g. `P1 resolution (4 hours)`")
    metric: ClockMetric | None = Field(None, description="response or resolution, when the tool says or its "
                                       "definition's name does")
    type: Literal["SLA", "OLA", "UC"] = Field("SLA", description="the kind of agreement the definition is")
    stage: Text | None = Field(None, max_length=40, description="as the tool wrote it: In progress, Completed, "
                               "Paused, Cancelled")
    breached: Bool | None = Field(None, description="whether the tool judged the clock breached")
    elapsed: DurationValue | None = Field(None, description="the time the tool counted (its business elapsed "
                                          "time), e.g. 250m")
    started: DateTime | None = None
    stopped: DateTime | None = None


class IncidentSpec(Model):
    title: Text
    priority: Priority
    planned: Bool = Field(False, description="planned work recorded as an incident (e.g. an announced outage)")
    opened: DateTime
    responded: DateTime | None = None
    resolved: DateTime | None = Field(None, description="absent while the incident is open")
    closed: DateTime | None = None
    impacts: list[Impact] = Field(min_length=1, max_length=MAX_IMPACTS)
    states: list[StateChange] = Field(default_factory=list, max_length=MAX_STATES,
                                      description="state changes, in time order")
    links: IncidentLinks | None = None
    source: IncidentSource | None = None
    recorded_slas: list[RecordedSla] = Field(default_factory=list, max_length=100, description="the SLA clocks "
                                             "the ticketing tool recorded, compared by `svcascode sla reconcile`")

    @model_validator(mode="after")
    def _times_in_order(self) -> IncidentSpec:
        opened = self.opened
        if self.responded is not None and self.responded < opened:
            raise FieldError("responded", f"responded ({_at(self.responded)}) is before opened ({_at(opened)})")
        if self.resolved is not None and self.resolved < opened:
            raise FieldError("resolved", f"resolved ({_at(self.resolved)}) is before opened ({_at(opened)})")
        if self.closed is not None:
            if self.resolved is None:
                raise FieldError("closed", "a closed incident was resolved first: add `resolved:`")
            if self.closed < self.resolved:
                raise FieldError("closed", f"closed ({_at(self.closed)}) is before resolved ({_at(self.resolved)})")
        for index, impact in enumerate(self.impacts):
            start, end = impact.start or opened, impact.end or self.resolved
            if end is not None and end < start:
                field = "end" if impact.end is not None else "start"
                raise FieldError(("impacts", index, field),
                                 f"the impact ends ({_at(end)}{'' if impact.end else ', the incident resolved'}) "
                                 f"before it starts ({_at(start)}{'' if impact.start else ', the incident opened'})")
        previous: datetime | None = None
        for index, change in enumerate(self.states):
            if change.at < opened:
                raise FieldError(("states", index, "at"), f"{_at(change.at)} is before the incident opened "
                                 f"({_at(opened)})")
            if self.resolved is not None and change.at > self.resolved:
                raise FieldError(("states", index, "at"), f"{_at(change.at)} is after the incident was resolved "
                                 f"({_at(self.resolved)})")
            if previous is not None and change.at < previous:
                raise FieldError(("states", index, "at"), f"{_at(change.at)} is before the state change above it "
                                 f"({_at(previous)}): list state changes in time order")
            previous = change.at
        return self

    def impact_on(self, service: str) -> list[Impact]:
        """The impacts this incident records on one service."""
        return [impact for impact in self.impacts if impact.service == service]


def _at(moment: datetime) -> str:
    return moment.isoformat()


class Incident(Envelope):
    kind: Literal["Incident"]
    spec: IncidentSpec
