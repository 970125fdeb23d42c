"""Reconcile with the ticketing tool: every SLA clock where what the tool recorded (its task_sla rows, its
SLA fields) differs from what the contract in git gives for the same ticket.

A ticketing tool runs its own copy of the agreement: SLA definitions, schedules and pause conditions
that someone configured once and may have changed since. No tool reports the drift between that copy and
the agreement. Here each recorded clock of an Incident (`spec.recordedSlas`) is compared with the clocks
svcascode computes from the definitions in force when the incident opened (the run's Ledger):

- the clock it matches is the one of the same metric (response or resolution) under each service level of
  the recorded kind (SLA, OLA, UC) that the incident's services have;
- they **differ** when one says breached and the other does not, or, for a clock that has stopped on both
  sides, when the time counted differs by a minute or more; a tool clock the contract has no counterpart for
  (no level of that kind sets a target for the priority) differs too;
- they **cannot be compared** when the record does not say which clock it is (no target, and no `response`
  or `resolution` in its name) or when the incident does not record the stop the contract's clock needs
  (ServiceNow's incident list has no response time): neither side can be checked, and this is counted, not
  reported as a difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any, Iterable

from svcascode.calendars import as_utc
from svcascode.delivery.clocks import NOT_RECORDED, Clock
from svcascode.delivery.ledger import Ledger
from svcascode.documents import Document
from svcascode.models.common import duration_seconds

TOLERANCE = Fraction(1)  # minutes: the tool counts in seconds, the contract exactly; less than this is rounding


@dataclass(frozen=True)
class Comparison:
    incident: str
    ticket: str  # the source system's id
    record: Any  # the RecordedSla
    clock: Clock | None  # None: the contract has no such clock
    reasons: tuple[str, ...]  # why they differ; empty when they agree

    @property
    def differs(self) -> bool:
        return bool(self.reasons)

    def as_json(self) -> dict[str, Any]:
        record, clock = self.record, self.clock
        elapsed = record.elapsed
        return {
            "incident": self.incident, "ticket": self.ticket,
            "tool": {"definition": record.definition, "metric": record.metric, "type": record.type,
                     "stage": record.stage, "breached": record.breached,
                     "elapsedMinutes": None if elapsed is None else round(duration_seconds(str(elapsed)) / 60, 2)},
            "contract": None if clock is None else {
                "level": clock.level, "type": clock.level_type, "metric": clock.metric, "priority": clock.priority,
                "target": clock.target_text, "calendar": clock.calendar, "status": clock.status,
                "elapsedMinutes": round(float(clock.elapsed), 2), "definition": clock.source.as_json()},
            "differences": list(self.reasons),
        }


@dataclass(frozen=True)
class Reconciliation:
    comparisons: tuple[Comparison, ...]
    not_comparable: tuple[tuple[str, str, str], ...]  # (incident, tool definition, why)

    @property
    def differences(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.differs]

    def as_json(self) -> dict[str, Any]:
        return {"compared": len(self.comparisons), "agreeing": len(self.comparisons) - len(self.differences),
                "differences": [c.as_json() for c in self.differences],
                "notComparable": [{"incident": i, "definition": d, "why": w} for i, d, w in self.not_comparable]}


def reconcile(ledger: Ledger, incidents: Iterable[Document]) -> Reconciliation:
    comparisons: list[Comparison] = []
    not_comparable: list[tuple[str, str, str]] = []
    for incident in sorted(incidents, key=lambda i: (as_utc(i.spec.opened), i.name)):
        records = getattr(incident.spec, "recorded_slas", None) or []
        if not records:
            continue
        source = getattr(incident.spec, "source", None)
        ticket = str(source.id) if source is not None else incident.name
        clocks = ledger.clocks(incident)
        for record in records:
            if record.metric is None:
                not_comparable.append((incident.name, record.definition, "the record does not say whether it is a "
                                       "response or a resolution clock"))
                continue
            matching = [c for c in clocks if c.metric == record.metric and c.level_type == record.type]
            if not matching:
                comparisons.append(Comparison(incident.name, ticket, record, None, (
                    f"the tool ran a {record.metric} clock, and no {record.type} of the incident's services sets a "
                    f"{incident.spec.priority} target for it",)))
                continue
            for clock in matching:
                if clock.status == NOT_RECORDED:
                    not_comparable.append((incident.name, record.definition, f"the incident records no "
                                           f"{clock.stop_field} time, so {clock.level}'s {clock.metric} clock is "
                                           "not recorded"))
                    continue
                comparisons.append(Comparison(incident.name, ticket, record, clock, _reasons(record, clock)))
    return Reconciliation(tuple(comparisons), tuple(not_comparable))


def _reasons(record: Any, clock: Clock) -> tuple[str, ...]:
    reasons = []
    ours = clock.status == "breached"
    if record.breached is not None and bool(record.breached) != ours:
        reasons.append(f"the tool says {'breached' if record.breached else 'not breached'}; the contract gives "
                       f"{clock.status}")
    stopped_there = record.stopped is not None or str(record.stage or "").casefold() in ("completed", "achieved",
                                                                                         "breached")
    if record.elapsed is not None and clock.stopped is not None and stopped_there:
        theirs = Fraction(int(round(duration_seconds(str(record.elapsed)))), 60)
        if abs(theirs - clock.elapsed) >= TOLERANCE:
            reasons.append(f"the tool counted {_minutes(theirs)}; the contract counts {_minutes(clock.elapsed)} in "
                           f"{clock.calendar}")
    return tuple(reasons)


def _minutes(value: Fraction) -> str:
    return f"{round(float(value), 2):g} min"


def in_span(incidents: Iterable[Document], first: datetime, end: datetime, as_of: datetime) -> list[Document]:
    """The incidents open at some time in [first, end) and opened by the as-of instant."""
    return [i for i in incidents
            if as_utc(i.spec.opened) < end and (i.spec.resolved is None or as_utc(i.spec.resolved) >= first)
            and as_utc(i.spec.opened) <= as_of]
