"""What a built-in check is given: the control, its parameters, the catalogue, the as-of date.

A built-in check is a generator `check(ctx, document) -> Iterator[Finding]`, called once for each
document the control selects. It never prints, raises for a finding, or exits. It reports paths
relative to the document; `ctx.fail` and `ctx.warn` turn them into located findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Hashable, Iterator, TypeVar

from svcascode import facts
from svcascode.documents import Document
from svcascode.finding import Finding, JsonPath
from svcascode.models.common import Duration, duration_seconds
from svcascode.reader import CatalogueReader, Recorder, RecordingReader

_T = TypeVar("_T")

# Defaults of the per-tier parameters, used where no Baseline document sets the parameter for the tier.
TIER_DEFAULTS: dict[str, dict[str, Any]] = {
    "min_availability_percent": {"tier-0": 99.9, "tier-1": 99.9, "tier-2": 99.5, "tier-3": 99.0},
    "p1_response_max": {"tier-0": "15m", "tier-1": "15m", "tier-2": "30m", "tier-3": "4h"},
    "access_review_privileged_max": {"tier-0": "90d", "tier-1": "90d", "tier-2": "90d", "tier-3": "90d"},
    "access_review_standard_max": {"tier-0": "180d", "tier-1": "180d", "tier-2": "180d", "tier-3": "365d"},
    "restore_test_max_age": {"tier-0": "180d", "tier-1": "180d", "tier-2": "365d", "tier-3": "365d"},
    "dr_test_max_age": {"tier-0": "365d", "tier-1": "365d", "tier-2": None, "tier-3": None},
    "healthcheck_max_interval": {"tier-0": "60s", "tier-1": "60s", "tier-2": "5m", "tier-3": "5m"},
    "oncall_min_people": {"tier-0": 2, "tier-1": 2, "tier-2": 2, "tier-3": None},
    "oncall_recommended_people": {"tier-0": 6, "tier-1": 6, "tier-2": 6, "tier-3": None},
    "max_planned_budget_share": {"tier-0": 0.5, "tier-1": 0.5, "tier-2": 0.5, "tier-3": 0.5},
}

DAY = 86400  # seconds
# A control's warning clause (expiring soon, recommended but not required) reports at this severity
# with enforcement "warn": shown in every output, never failing a run.
WARNING_SEVERITY = "low"

CheckFunction = Callable[["CheckContext", Document], Iterator[Finding]]


@dataclass(frozen=True)
class CheckSpec:
    """A registered built-in check: its function and the parameters it accepts, with their defaults."""

    function: CheckFunction
    params: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    origin: str = "built-in"  # or the plugin package, or the repository module, it comes from


class CheckContext:
    """Everything one control's check may look at. Shared, read-only, for every document it selects.

    `catalogue` is what the check reads documents through (`CatalogueReader`). While the engine records
    what a check reads (svcascode.incremental), it is a `RecordingReader`, whose recorder also notes
    whether the check read the as-of date: a result is reused only while what it read is unchanged.
    """

    __slots__ = ("catalogue", "_as_of", "control", "params", "baseline", "_shared")

    def __init__(self, catalogue: CatalogueReader, as_of: date, control: Document, params: dict[str, Any],
                 baseline: Callable[[str, str], Any]) -> None:
        self.catalogue = catalogue
        self._as_of = as_of
        self.control = control
        self.params = params
        self.baseline = baseline  # (parameter name, tier) -> value, after Baselines
        self._shared: dict[Hashable, tuple[Any, Recorder | None]] = {}

    @property
    def recorder(self) -> Recorder | None:
        """What the current document's evaluation has read, while it is recorded."""
        return self.catalogue.recorder if isinstance(self.catalogue, RecordingReader) else None

    @property
    def as_of(self) -> date:
        recorder = self.recorder
        if recorder is not None:
            recorder.as_of_read = True
        return self._as_of

    def shared(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """A value computed once per control and run and shared by the documents it checks (for example
        one availability window several incidents spent downtime in).

        A result that reads it can still be reused by a later run: the catalogue lookups `compute` made,
        the as-of date if it read it, and anything it could not trace are recorded once and added to the
        trace of every document that reads the value, so that document's result depends on them as if it
        had computed the value itself.
        """
        found = self._shared.get(key)
        outer = self.recorder
        if found is None:
            if isinstance(self.catalogue, RecordingReader) and outer is not None:
                with self.catalogue.recording(Recorder()) as inner:
                    value = compute()
            else:
                inner, value = None, compute()
            found = self._shared[key] = (value, inner)
        value, inner = found
        if outer is not None:
            if inner is None:  # computed by a pair that was not traced: nothing to follow it by
                outer.untraceable = True
            else:
                outer.absorb(inner)
        return value

    @property
    def rule(self) -> str:
        return self.control.name

    @property
    def severity(self) -> str:
        return str(self.control.spec.severity)

    @property
    def enforcement(self) -> str:
        return str(self.control.spec.enforcement)

    # -- findings ------------------------------------------------------------------------------------

    def fail(self, document: Document, message: str, path: JsonPath = ()) -> Finding:
        """A finding at the control's severity and enforcement."""
        return document.finding(self.rule, self.severity, message, path, enforcement=self.enforcement)

    def warn(self, document: Document, message: str, path: JsonPath = ()) -> Finding:
        """A finding of the rule's warning clause: low severity, never blocking."""
        return document.finding(self.rule, WARNING_SEVERITY, message, path, enforcement="warn")

    # -- parameters ----------------------------------------------------------------------------------

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def tier_param(self, name: str, tier: str) -> Any:
        """A per-tier parameter (Baseline or default) for `tier`."""
        return self.baseline(name, tier)

    # -- catalogue queries ---------------------------------------------------------------------------

    def service(self, name: str) -> Document | None:
        return self.catalogue.get("Service", name)

    def tier_of(self, document: Document) -> str:
        """The tier a document is judged at (`facts.tier_of`)."""
        return facts.tier_of(self.catalogue, document)

    def services_of(self, document: Document) -> list[Document]:
        """The Services a document concerns (`facts.services_of`)."""
        return facts.services_of(self.catalogue, document)

    def window_services(self, window: Document) -> list[Document]:
        """Services a MaintenanceWindow affects: named ones, or those its selector matches."""
        return self.catalogue.window_services(window)

    def in_date(self, level: Document) -> bool:
        """A ServiceLevel in force on the as-of date (`facts.level_in_force`), read through the catalogue: while
        the engine records what a check reads, this records whether the level was in force, not the date, so
        a result that read the date only here stays valid on any date that gives the same answers."""
        return self.catalogue.in_force(level, self._as_of)

    def service_levels(self, service: str, types: tuple[str, ...] = ("SLA", "OLA", "UC"),
                       in_date_only: bool = True) -> list[Document]:
        return [level for level in self.catalogue.levels_of(service)
                if level.spec.type in types and (not in_date_only or self.in_date(level))]

    def evidence(self, subject: Document, evidence_type: str, passing_only: bool = True) -> list[Document]:
        """Evidence of a type about a subject, performed on or before the as-of date, newest first."""
        candidates = self.catalogue.evidence_about(subject.kind, subject.name)
        found = [e for e in candidates if e.spec.type == evidence_type and e.spec.performed_at <= self.as_of
                 and (not passing_only or e.spec.result == "pass")]
        return sorted(found, key=lambda e: e.spec.performed_at, reverse=True)

    def newest_evidence(self, subject: Document, evidence_type: str, result: str = "pass") -> Document | None:
        """The newest Evidence of a type with that result about a subject, on or before the as-of date."""
        found = [e for e in self.evidence(subject, evidence_type, passing_only=False) if e.spec.result == result]
        return found[0] if found else None

    def age_days(self, when: date) -> int:
        return (self.as_of - when).days

    def overdue(self, evidence: Document, limit: str | Duration | None) -> int | None:
        """The evidence's age in days when it is older than `limit` (a duration); None when it is not."""
        age = self.age_days(evidence.spec.performed_at)
        return age if limit is not None and age * DAY > duration_seconds(str(limit)) else None

    def owner_team(self, service: Document) -> Document | None:
        return self.catalogue.get("Team", service.spec.owner)

    def calendar(self, name: str | None) -> Document | None:
        return self.catalogue.get("BusinessCalendar", name) if name else None


def seconds(value: str | Duration | None) -> float | None:
    """Seconds of a duration written as text, or None."""
    return None if value is None else duration_seconds(str(value))
