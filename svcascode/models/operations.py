"""MaintenanceWindow, PatchPolicy and IncidentPolicy: how services are changed and how incidents run."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from svcascode.models.common import (
    FieldError,
    Bool, DateTime, DurationValue, Envelope, Model, PositiveDuration, Ref, Selector, Text, TimeOfDay, TimeZone,
    Tier, duration_between,
)


def _check_rrule(value: str) -> str:
    from dateutil.rrule import rrulestr

    text = value.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    try:
        rrulestr(text, ignoretz=True)
    except (ValueError, TypeError) as error:
        raise ValueError(f"not a valid RFC 5545 recurrence rule: {error}") from None
    from svcascode.calendars import OCCURRENCES_PER_YEAR, occurrences_in_a_year

    if occurrences_in_a_year(text) > OCCURRENCES_PER_YEAR:
        raise ValueError(f"occurs more than {OCCURRENCES_PER_YEAR:,} times a year, more than svcascode expands for one "
                         "window: use a longer FREQ or a larger INTERVAL, or one longer window instead of many")
    return value


RecurrenceRule = Annotated[Text, AfterValidator(_check_rrule),
                           Field(description='RFC 5545 RRULE, e.g. "FREQ=WEEKLY;BYDAY=SU"')]


class Schedule(Model):
    rrule: RecurrenceRule
    start: TimeOfDay
    duration: Annotated[PositiveDuration, duration_between("1m", "7d")]
    timezone: TimeZone


class OneOffWindow(Model):
    start: DateTime
    end: DateTime

    @model_validator(mode="after")
    def _ordered(self) -> OneOffWindow:
        if self.end <= self.start:
            raise FieldError("end", "`end` must be after `start`")
        return self


class Notice(Model):
    lead_time: DurationValue
    channels: list[Text] = Field(default_factory=list)


class MaintenanceWindowSpec(Model):
    services: list[Ref] = Field(default_factory=list)
    selector: Selector | None = None
    type: Literal["standard", "emergency", "vendor"]
    schedule: Schedule | None = None
    window: OneOffWindow | None = None
    expected_impact: Literal["none", "degraded", "partial-outage", "full-outage"]
    excluded_from_sla: Bool
    change_record: Text | None = None
    approved_by: list[Text] = Field(default_factory=list)
    notice: Notice | None = None

    @model_validator(mode="after")
    def _shape(self) -> MaintenanceWindowSpec:
        if bool(self.services) == (self.selector is not None):
            raise FieldError("selector" if self.selector is not None else "type",
                             "give exactly one of `services:` or `selector:`")
        if (self.schedule is None) == (self.window is None):
            raise FieldError("window" if self.window is not None else "type",
                             "give exactly one of `schedule:` (recurring) or `window:` (one-off)")
        return self


class MaintenanceWindow(Envelope):
    kind: Literal["MaintenanceWindow"]
    spec: MaintenanceWindowSpec


class RemediationSla(Model):
    critical: PositiveDuration
    high: PositiveDuration
    medium: PositiveDuration
    low: PositiveDuration


class PatchCadence(Model):
    os: PositiveDuration | None = None
    runtime: PositiveDuration | None = None
    dependencies: PositiveDuration | None = None
    firmware: PositiveDuration | None = None


class EmergencyPatching(Model):
    change_type: Text
    retro_approval_within: PositiveDuration


class HardwareLifecycle(Model):
    replace_before_end_of_support: Bool
    refresh_cycle: PositiveDuration | None = None


class PatchScope(Model):
    tiers: list[Tier] = Field(default_factory=list)
    labels: dict[str, Text] = Field(default_factory=dict)


class PatchPolicySpec(Model):
    applies_to: PatchScope
    remediation_sla: RemediationSla
    cadence: PatchCadence = Field(default_factory=PatchCadence)
    require_staging_soak: DurationValue | None = None
    rollback_plan_required: Bool = False
    emergency: EmergencyPatching | None = None
    hardware: HardwareLifecycle | None = None


class PatchPolicy(Envelope):
    kind: Literal["PatchPolicy"]
    spec: PatchPolicySpec


class Postmortem(Model):
    required: Bool
    within: PositiveDuration | None = None


class SeverityLevel(Model):
    level: Literal["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"]
    criteria: Text
    ack: PositiveDuration
    first_update: PositiveDuration | None = None
    update_every: PositiveDuration | None = None
    page: Bool = False
    incident_commander: Bool = False
    status_page: Bool = False
    postmortem: Postmortem | None = None


PriorityCell = Literal["P1", "P2", "P3", "P4"]


class UrgencyRow(Model):
    high: PriorityCell
    medium: PriorityCell
    low: PriorityCell


class PriorityMatrix(Model):
    """ITIL impact (rows) x urgency (columns) -> priority."""

    high: UrgencyRow
    medium: UrgencyRow
    low: UrgencyRow


class SecurityNotification(Model):
    notify_ciso_within: PositiveDuration | None = None
    regulator_notification_within: PositiveDuration | None = None


class Exercise(Model):
    cadence: PositiveDuration


class IncidentPolicySpec(Model):
    severities: list[SeverityLevel] = Field(min_length=1)
    priority_matrix: PriorityMatrix | None = None
    security: SecurityNotification | None = None
    exercise: Exercise | None = None

    @model_validator(mode="after")
    def _unique_levels(self) -> IncidentPolicySpec:
        levels = [s.level for s in self.severities]
        if len(set(levels)) != len(levels):
            raise FieldError("severities", "each severity level appears once")
        return self


class IncidentPolicy(Envelope):
    kind: Literal["IncidentPolicy"]
    spec: IncidentPolicySpec
