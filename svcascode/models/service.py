"""Service (a catalogue entry) and ServiceLevel (SLA, OLA or underpinning contract)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, Strict, StringConstraints, model_validator

from svcascode.models.common import (
    FieldError,
    AnyPercent, Bool, Date, DurationValue, Envelope, Model, Percent, PositiveDuration, Ref, Text, Tier, Url,
    duration_between, TimeZone,
)
from typing import Annotated


class Dependency(Model):
    service: Ref
    criticality: Literal["hard", "soft"]
    redundancy_group: Text | None = Field(None, description="dependencies sharing a group are redundant "
                                          "replicas: any one of them suffices")


class DataHandling(Model):
    classification: Literal["public", "internal", "confidential", "restricted"]
    personal_data: Bool = False
    regions: list[Text] = Field(default_factory=list)


class EncryptionInTransit(Model):
    min_tls: Literal["1.2", "1.3"] = Field(alias="minTls", description='"1.2" or "1.3", quoted')


class Security(Model):
    encryption_at_rest: Bool | None = None
    encryption_in_transit: EncryptionInTransit | None = None
    access_policy: Ref | None = None


class Backup(Model):
    method: Literal["snapshot", "continuous", "none"]
    interval: PositiveDuration | None = None
    log_ship_interval: PositiveDuration | None = None
    retention: PositiveDuration | None = None
    offsite: Bool = False
    immutable: Bool = False


class DisasterRecovery(Model):
    strategy: Literal["backup-restore", "pilot-light", "warm-standby", "active-active"]


class Continuity(Model):
    rpo: DurationValue | None = None
    rto: PositiveDuration | None = None
    backup: Backup | None = None
    dr: DisasterRecovery | None = None


class HealthCheck(Model):
    url: Url
    interval: Annotated[PositiveDuration, duration_between("1s", "1d")]
    timeout: Annotated[PositiveDuration, duration_between("100ms", "5m")] | None = None


class Monitoring(Model):
    health_check: HealthCheck | None = None
    slos: list[Ref] = Field(default_factory=list, description="names of OpenSLO SLO documents")


class Operations(Model):
    runbook: Url | None = None
    monitoring: Monitoring | None = None
    maintenance_windows: list[Ref] = Field(default_factory=list)
    patch_policy: Ref | None = None
    incident_policy: Ref | None = None
    deployment: Literal["rolling", "blue-green", "recreate"] | None = None


SystemName = Annotated[str, Strict(), StringConstraints(pattern=r"^[a-z][a-z0-9-]*$", max_length=40)]
ExternalName = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=200)]


class ComplianceScope(Model):
    scope: list[Ref] = Field(default_factory=list, description="Framework names")


class ServiceSpec(Model):
    type: Literal["business", "technical", "platform", "external"]
    tier: Tier
    lifecycle: Literal["pipeline", "experimental", "production", "deprecated", "retired"]
    owner: Ref = Field(description="the owning Team")
    business_owner: Text | None = None
    supplier: Text | None = None
    support_hours: Ref = Field(description="a BusinessCalendar")
    peak_hours: Ref | None = Field(None, description="a BusinessCalendar")
    consumers: list[Text] = Field(default_factory=list)
    dependencies: list[Dependency] = Field(default_factory=list)
    data: DataHandling
    security: Security | None = None
    continuity: Continuity | None = None
    operations: Operations | None = None
    compliance: ComplianceScope | None = None
    external_names: dict[SystemName, Annotated[list[ExternalName], Field(min_length=1, max_length=100)]] = Field(
        default_factory=dict, description="this service's names in other tools, by the system an import mapping "
        "names (servicenow: business service, CIs; jsm: components, affected-service values; pagerduty: service "
        "ids and names), matched without case: `svcascode import incidents` reads a ticket's service cell by them")

    @model_validator(mode="after")
    def _supplier_for_external(self) -> ServiceSpec:
        if self.type == "external" and not self.supplier:
            raise FieldError("type", "an external service names its supplier: add `supplier:`")
        return self


class Service(Envelope):
    kind: Literal["Service"]
    spec: ServiceSpec


# ---------------------------------------------------------------------------------------------------


class Window(Model):
    calendar: Literal["month", "quarter"] | None = None
    rolling: Annotated[PositiveDuration, duration_between("1d", "366d")] | None = None
    timezone: TimeZone | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Window:
        if (self.calendar is None) == (self.rolling is None):
            raise FieldError("rolling" if self.rolling is not None else "calendar",
                             "give exactly one of `calendar: month|quarter` or `rolling: <duration>`")
        return self


class ImpactWeights(Model):
    """How much of a minute of impact counts as downtime, by the kind of impact (an outage counts in full).

    By default a degraded service is available (it works, worse) and a partial outage counts for the
    fraction of users it affected."""

    degraded: AnyPercent = Field(0, description="percent of each degraded minute counted as downtime (default 0)")
    partial: AnyPercent = Field(100, description="percent of each partial-outage minute counted, times the "
                                "incident's fraction of users affected (default 100)")


class Availability(Model):
    target_percent: Percent
    window: Window
    measurement: Literal["time", "requests"]
    slo: Ref | None = Field(None, description="an OpenSLO SLO")
    exclusions: list[Text] = Field(default_factory=list, description="approved-maintenance, customer-caused, "
                                   "force-majeure, or names of MaintenanceWindows")
    impact_weights: ImpactWeights = Field(default_factory=lambda: ImpactWeights.model_validate({}),
                                          description="degraded and partial impact as a share of an outage; "
                                          "by default degraded counts for nothing, partial for its fraction")


class PerformanceTarget(Model):
    name: Text
    threshold: PositiveDuration
    target_percent: AnyPercent
    slo: Ref | None = None


class PriorityTarget(Model):
    response: PositiveDuration
    resolution: PositiveDuration
    coverage: Ref | None = Field(None, description="a BusinessCalendar")


class Priorities(Model):
    p1: PriorityTarget = Field(alias="P1")
    p2: PriorityTarget = Field(alias="P2")
    p3: PriorityTarget | None = Field(None, alias="P3")
    p4: PriorityTarget | None = Field(None, alias="P4")

    def target(self, priority: str) -> PriorityTarget | None:
        """The targets of a priority named P1 to P4; None when the level does not define it."""
        return {"P1": self.p1, "P2": self.p2, "P3": self.p3, "P4": self.p4}.get(priority.upper())


class Support(Model):
    priorities: Priorities
    pause_on: list[Literal["awaiting-customer", "awaiting-vendor", "scheduled"]] = Field(default_factory=list)


class PromisedContinuity(Model):
    rpo: DurationValue | None = None
    rto: PositiveDuration | None = None


class Credit(Model):
    below: AnyPercent
    credit_percent: AnyPercent


class Reporting(Model):
    cadence: Literal["weekly", "monthly", "quarterly"]
    recipients: list[Text] = Field(default_factory=list)


class Review(Model):
    cadence: PositiveDuration


class ServiceLevelSpec(Model):
    type: Literal["SLA", "OLA", "UC"]
    service: Ref
    customer: Text
    valid_from: Date
    valid_to: Date | None = None
    coverage: Ref = Field(description="a BusinessCalendar")
    availability: Availability
    performance: list[PerformanceTarget] = Field(default_factory=list)
    support: Support | None = None
    continuity: PromisedContinuity | None = None
    credits: list[Credit] = Field(default_factory=list)
    reporting: Reporting | None = None
    review: Review
    underpinned_by: list[Ref] = Field(default_factory=list, description="OLA or UC ServiceLevels")

    @model_validator(mode="after")
    def _dates_in_order(self) -> ServiceLevelSpec:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise FieldError("validTo", "validTo must be after validFrom")
        return self


class ServiceLevel(Envelope):
    kind: Literal["ServiceLevel"]
    spec: ServiceLevelSpec
