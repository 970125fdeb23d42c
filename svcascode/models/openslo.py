"""OpenSLO v1 documents, read as the specification (github.com/OpenSLO/OpenSLO, README.md) writes them.

Every kind is checked for what the specification requires: an SLO's service, budgeting method,
objectives and exactly one time window whose duration is a duration-shorthand (`1M`, `4w`; a calendar
window in whole days, weeks, months, quarters or years, so `1m` is a minute and refused); an SLI's one
metric; an AlertPolicy's one condition and its notification targets; an AlertCondition's severity and
burn-rate condition; an AlertNotificationTarget's target. Names follow the specification, which asks
implementations to take at least RFC 1123 names and itself names objects `AlertPolicy` or
`OnCallDevopsMailNotification`: letters of either case, digits, and `-`, `_`, `.` between them, at
most 63. Unknown fields are refused, with the closest known one suggested; implementation-specific data
belongs in `metadata.annotations`, where the specification puts it.

References between OpenSLO documents (an SLO's `service`, `indicatorRef`, `alertPolicyRef`, a policy's
`conditionRef`, `targetRef` and `metricSourceRef`) are resolved with the catalogue's other references
(catalogue.py).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator
from pydantic.alias_generators import to_camel

from svcascode.models.common import FieldError, SharedFields, TimeZone

OPENSLO_API_VERSION = "openslo/v1"
OPENSLO_KINDS = ("SLO", "SLI", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource", "Service")

OPENSLO_NAME_PATTERN = r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
# duration-shorthand: a positive whole number and one of m h d w M Q Y (minutes .. years)
DURATION_SHORTHAND = r"^[1-9][0-9]{0,8}[mhdwMQY]$"
CALENDAR_DURATION = re.compile(r"^[1-9][0-9]{0,8}[dwMQY]$")
START_TIME = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"

OpenSloName = Annotated[str, Strict(), Field(pattern=OPENSLO_NAME_PATTERN, description=(
    "letters, digits and '-', '_' or '.' between them, at most 63 characters (OpenSLO takes RFC 1123 names "
    "and more)"))]
Shorthand = Annotated[str, Strict(), Field(pattern=DURATION_SHORTHAND, description=(
    "an OpenSLO duration-shorthand: a whole number above 0 and m, h, d, w, M, Q or Y, e.g. 5m, 4w, 1M"))]
Description = Annotated[str, Strict(), Field(max_length=1050)]
Text = Annotated[str, Strict(), Field(min_length=1)]
Operator = Literal["lte", "gte", "lt", "gt"]
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)] | Annotated[int, Strict()]


class OpenSloModel(SharedFields):
    """camelCase as the specification writes it; unknown fields refused."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, defer_build=True)


class OpenSloMetadata(OpenSloModel):
    name: OpenSloName
    display_name: Annotated[str, Strict()] | None = None
    labels: dict[str, Annotated[str, Strict()] | list[Annotated[str, Strict()]]] = Field(default_factory=dict)
    annotations: dict[str, Annotated[str, Strict()]] = Field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------
# SLI


class MetricSource(OpenSloModel):
    metric_source_ref: OpenSloName | None = None
    type: Text | None = None
    spec: dict[str, Any] = Field(description="what the metric source needs, as it names it (e.g. query)")

    @model_validator(mode="after")
    def _typed(self) -> MetricSource:
        if self.type is None and self.metric_source_ref is None:
            raise FieldError("type", "a metricSource names its `type` (e.g. Prometheus) or a DataSource in "
                             "`metricSourceRef`")
        return self


class Metric(OpenSloModel):
    metric_source: MetricSource


class RatioMetric(OpenSloModel):
    counter: Annotated[bool, Strict()] | None = None
    good: Metric | None = None
    bad: Metric | None = None
    total: Metric | None = None
    raw_type: Literal["success", "failure"] | None = None
    raw: Metric | None = None

    @model_validator(mode="after")
    def _one_ratio(self) -> RatioMetric:
        if self.raw is not None:
            if self.good is not None or self.bad is not None or self.total is not None:
                raise FieldError("raw", "`raw` is a precomputed ratio: it takes no good, bad or total")
            if self.raw_type is None:
                raise FieldError("rawType", "`raw` needs `rawType: success` or `failure`")
            return self
        if (self.good is None) == (self.bad is None):
            raise FieldError("good", "a ratioMetric has either `good` or `bad` (with `total`), or `raw`")
        if self.total is None:
            raise FieldError("total", "a ratioMetric with good or bad events needs `total`")
        return self


class SliSpec(OpenSloModel):
    description: Description | None = None
    threshold_metric: Metric | None = None
    ratio_metric: RatioMetric | None = None

    @model_validator(mode="after")
    def _one_metric(self) -> SliSpec:
        if (self.threshold_metric is None) == (self.ratio_metric is None):
            raise FieldError("ratioMetric", "an SLI has exactly one of `ratioMetric` or `thresholdMetric`")
        return self


class InlineSli(OpenSloModel):
    metadata: OpenSloMetadata
    spec: SliSpec


# ---------------------------------------------------------------------------------------------------
# Alerting


class Condition(OpenSloModel):
    kind: Text = "burnrate"
    op: Operator | None = None
    threshold: Number | None = None
    lookback_window: Shorthand | None = None
    alert_after: Shorthand | None = None

    @model_validator(mode="after")
    def _burn_rate(self) -> Condition:
        if self.kind == "burnrate":
            for name, value in (("op", self.op), ("threshold", self.threshold),
                                ("lookbackWindow", self.lookback_window)):
                if value is None:
                    raise FieldError(name, f"a burnrate condition needs `{name}`")
        return self


class AlertConditionSpec(OpenSloModel):
    description: Description | None = None
    severity: Text
    condition: Condition


class InlineCondition(OpenSloModel):
    kind: Literal["AlertCondition"] | None = None
    metadata: OpenSloMetadata | None = None
    spec: AlertConditionSpec | None = None
    condition_ref: OpenSloName | None = None

    @model_validator(mode="after")
    def _inline_or_ref(self) -> InlineCondition:
        _inline_or_ref(self, self.condition_ref, "conditionRef", "AlertCondition")
        return self


class NotificationTargetSpec(OpenSloModel):
    description: Description | None = None
    target: Text


class InlineTarget(OpenSloModel):
    kind: Literal["AlertNotificationTarget"] | None = None
    metadata: OpenSloMetadata | None = None
    spec: NotificationTargetSpec | None = None
    target_ref: OpenSloName | None = None

    @model_validator(mode="after")
    def _inline_or_ref(self) -> InlineTarget:
        _inline_or_ref(self, self.target_ref, "targetRef", "AlertNotificationTarget")
        return self


class AlertPolicySpec(OpenSloModel):
    description: Description | None = None
    alert_when_no_data: Annotated[bool, Strict()] | None = None
    alert_when_resolved: Annotated[bool, Strict()] | None = None
    alert_when_breaching: Annotated[bool, Strict()] | None = None
    conditions: list[InlineCondition] = Field(min_length=1, max_length=1, description="exactly one condition")
    notification_targets: list[InlineTarget] = Field(min_length=1)


class InlinePolicy(OpenSloModel):
    kind: Literal["AlertPolicy"] | None = None
    metadata: OpenSloMetadata | None = None
    spec: AlertPolicySpec | None = None
    alert_policy_ref: OpenSloName | None = None

    @model_validator(mode="after")
    def _inline_or_ref(self) -> InlinePolicy:
        _inline_or_ref(self, self.alert_policy_ref, "alertPolicyRef", "AlertPolicy")
        return self


def _inline_or_ref(item: Any, reference: str | None, ref: str, kind: str) -> None:
    """An item of a list that holds an object either inline (metadata and spec, `kind` optional) or by
    reference (`ref: NAME`), never both."""
    inline = item.metadata is not None or item.spec is not None or item.kind is not None
    if reference is not None and inline:
        raise FieldError(ref, f"give either `{ref}` or the {kind} inline (metadata, spec), not both")
    if reference is None:
        for part in ("metadata", "spec"):
            if getattr(item, part) is None:
                raise FieldError(part if inline else ref, f"an inline {kind} needs `{part}`" if inline else
                                 f"give `{ref}: NAME` of a {kind}, or the {kind} inline (metadata, spec)")


# ---------------------------------------------------------------------------------------------------
# SLO


class Calendar(OpenSloModel):
    start_time: Annotated[str, Strict(), Field(pattern=START_TIME, description=(
        'the start of the first window, "YYYY-MM-DD HH:MM:SS" in 24-hour time, without a time zone'))]
    time_zone: TimeZone


class TimeWindow(OpenSloModel):
    duration: Shorthand
    is_rolling: Annotated[bool, Strict()] | None = None
    calendar: Calendar | None = None

    @model_validator(mode="after")
    def _rolling_or_calendar(self) -> TimeWindow:
        if self.calendar is None:
            if self.is_rolling is not True:
                raise FieldError("isRolling", "a time window without `calendar` is rolling: write `isRolling: true`, "
                                 "or give the calendar (startTime, timeZone) it is aligned to")
            return self
        if self.is_rolling:
            raise FieldError("isRolling", "a calendar-aligned window is not rolling: remove `isRolling: true` or "
                             "the calendar")
        if not CALENDAR_DURATION.match(self.duration):
            raise FieldError("duration", f"{self.duration} is in minutes or hours: a calendar-aligned window is whole "
                             "days, weeks, months, quarters or years (d, w, M, Q, Y), e.g. 1M for a month")
        return self


class Objective(OpenSloModel):
    display_name: Annotated[str, Strict()] | None = None
    op: Operator | None = None
    value: Number | None = None
    target: Annotated[float, Strict(), Field(ge=0, lt=1)] | None = None
    target_percent: Annotated[float, Field(ge=0, lt=100)] | None = None
    time_slice_target: Annotated[float, Field(gt=0, le=1)] | None = None
    time_slice_window: Shorthand | Annotated[int, Strict(), Field(gt=0)] | None = None
    indicator: InlineSli | None = None
    indicator_ref: OpenSloName | None = None
    composite_weight: Annotated[float, Field(gt=0)] | None = None

    @property
    def fraction(self) -> Fraction | None:
        """The objective's target as an exact fraction of 1, from `target` or `targetPercent` (99.95 is 0.9995)."""
        from svcascode.slamath import percent_to_fraction, to_fraction

        if self.target is not None:
            return to_fraction(self.target)
        return percent_to_fraction(self.target_percent) if self.target_percent is not None else None

    @property
    def target_field(self) -> str:
        return "target" if self.target is not None else "targetPercent"

    @model_validator(mode="after")
    def _one_target(self) -> Objective:
        if (self.target is None) == (self.target_percent is None):
            raise FieldError("target", "an objective has exactly one of `target` (0 to 1, e.g. 0.999) or "
                             "`targetPercent` (0 to 100, e.g. 99.9)")
        if self.indicator is not None and self.indicator_ref is not None:
            raise FieldError("indicatorRef", "give either `indicator` or `indicatorRef`, not both")
        return self


class SloSpec(OpenSloModel):
    description: Description | None = None
    service: OpenSloName = Field(description="an OpenSLO Service, or a Service of the catalogue")
    indicator: InlineSli | None = None
    indicator_ref: OpenSloName | None = None
    time_window: list[TimeWindow] | None = Field(None, min_length=1, max_length=1, description="exactly one window")
    budgeting_method: Literal["Occurrences", "Timeslices", "RatioTimeslices"]
    objectives: list[Objective] = Field(min_length=1)
    alert_policies: list[InlinePolicy] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SloSpec:
        if self.indicator is not None and self.indicator_ref is not None:
            raise FieldError("indicatorRef", "give either `indicator` or `indicatorRef`, not both")
        composite = all(o.indicator is not None or o.indicator_ref is not None for o in self.objectives)
        if self.indicator is None and self.indicator_ref is None and not composite:
            raise FieldError("indicator", "an SLO needs its SLI: `indicator` inline or `indicatorRef` (or one in each "
                             "objective, for a composite SLO)")
        threshold = self.indicator is not None and self.indicator.spec.threshold_metric is not None
        for index, objective in enumerate(self.objectives):
            if self.budgeting_method == "Timeslices" and objective.time_slice_target is None:
                raise FieldError(("objectives", index, "timeSliceTarget"),
                                 "budgetingMethod Timeslices needs `timeSliceTarget` in each objective")
            if self.budgeting_method != "Occurrences" and objective.time_slice_window is None:
                raise FieldError(("objectives", index, "timeSliceWindow"),
                                 f"budgetingMethod {self.budgeting_method} needs `timeSliceWindow` in each objective")
            if threshold and (objective.op is None or objective.value is None):
                raise FieldError(("objectives", index, "op" if objective.op is None else "value"),
                                 "an objective of a thresholdMetric needs `op` and `value`")
        return self


# ---------------------------------------------------------------------------------------------------
# The other kinds


class DataSourceSpec(OpenSloModel):
    description: Description | None = None
    type: Text
    connection_details: Any = Field(description="whatever the data source needs to connect")


class ServiceSpec(OpenSloModel):
    description: Description | None = None


class OpenSloDocument(OpenSloModel):
    """Any OpenSLO v1 document: the kinds below each hold their own spec."""

    api_version: Literal["openslo/v1"] = Field(alias="apiVersion")
    kind: Literal["SLO", "SLI", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource",
                  "Service"]
    metadata: OpenSloMetadata
    spec: Any = None


class OpenSloSlo(OpenSloDocument):
    kind: Literal["SLO"]
    spec: SloSpec


class OpenSloSli(OpenSloDocument):
    kind: Literal["SLI"]
    spec: SliSpec


class OpenSloAlertPolicy(OpenSloDocument):
    kind: Literal["AlertPolicy"]
    spec: AlertPolicySpec


class OpenSloAlertCondition(OpenSloDocument):
    kind: Literal["AlertCondition"]
    spec: AlertConditionSpec


class OpenSloNotificationTarget(OpenSloDocument):
    kind: Literal["AlertNotificationTarget"]
    spec: NotificationTargetSpec


class OpenSloDataSource(OpenSloDocument):
    kind: Literal["DataSource"]
    spec: DataSourceSpec


class OpenSloService(OpenSloDocument):
    kind: Literal["Service"]
    spec: ServiceSpec = Field(default_factory=ServiceSpec)


OPENSLO_DOCUMENTS: dict[str, type[OpenSloDocument]] = {
    "SLO": OpenSloSlo, "SLI": OpenSloSli, "AlertPolicy": OpenSloAlertPolicy, "AlertCondition": OpenSloAlertCondition,
    "AlertNotificationTarget": OpenSloNotificationTarget, "DataSource": OpenSloDataSource, "Service": OpenSloService,
}
