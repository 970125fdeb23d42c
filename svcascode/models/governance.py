"""Control, Baseline, Framework and Waiver: the organisation's rules, their parameters and exceptions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, Strict, model_validator

from svcascode.models.common import (
    FieldError,
    Date, DurationValue, Envelope, KindRef, Model, Name, PositiveDuration, PositiveInt, Ref, Selector, Severity, Text, Tier,
    Url,
)

KIND_NAMES = Literal["Service", "ServiceLevel", "Team", "BusinessCalendar", "MaintenanceWindow", "AccessPolicy",
                     "PatchPolicy", "IncidentPolicy", "Evidence", "Control", "Baseline", "Framework", "Waiver",
                     "Incident"]


class AppliesTo(Model):
    kinds: list[KIND_NAMES] = Field(min_length=1)
    where: dict[str, Any] = Field(default_factory=dict, description="dotted path under spec -> allowed value "
                                  "or list of allowed values")
    has_fields: list[Text] = Field(default_factory=list, description="dotted paths under spec that must be set")
    labels: dict[str, Annotated[str, Strict()]] = Field(default_factory=dict)


class Variable(Model):
    name: Annotated[str, Strict(), Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]
    expression: Text


class Validation(Model):
    """One CEL expression a selected document must make true, with the message and path of its finding."""

    expression: Text
    message: Text | None = None
    path: Text | None = Field(None, description="dotted path of the field the finding points at (spec.owner)")
    warning: Annotated[bool, Strict()] = Field(False, description="report at low severity, never blocking")


class Check(Model):
    """A built-in or plugin check with parameters, a JSON Schema fragment, or CEL expressions."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    builtin: Annotated[str, Strict(), Field(pattern=r"^[a-z][a-z0-9_]*$")] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    variables: list[Variable] = Field(default_factory=list, description="CEL values named for the expressions")
    expression: Text | None = Field(None, description="CEL: true passes, false fails with `message`, a list of "
                                    "strings fails once per string")
    message: Text | None = Field(None, description="what a failure says: an expression check's message (with "
                                 "{{...}} values), or a schema check's statement before the field it names "
                                 "(default: the control's title)")
    path: Text | None = None
    validations: list[Validation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> Check:
        given = [name for name, value in (("builtin", self.builtin), ("schema", self.schema_),
                                          ("expression", self.expression),
                                          ("validations", self.validations or None)) if value is not None]
        if len(given) != 1:
            raise FieldError(given[-1] if given else "builtin",
                             "give exactly one of `builtin:` (with `params:`), `schema:`, `expression:` or "
                             "`validations:`")
        if self.schema_ is not None and self.params:
            raise FieldError("params", "`params:` belong to a built-in or expression check, not to a `schema:` check")
        if self.builtin is not None or self.schema_ is not None:
            for name in ("variables", "path") if self.schema_ is not None else ("variables", "message", "path"):
                if getattr(self, name):
                    raise FieldError(name, f"`{name}:` belongs to an expression check")
        if self.validations and (self.message or self.path):
            raise FieldError("message", "with `validations:`, each validation has its own message and path")
        return self


class Examples(Model):
    failing: Text
    passing: Text


class Mapping(Model):
    framework: Ref
    controls: list[Text] = Field(min_length=1)
    relationship: Literal["equivalent-to", "equal-to", "subset-of", "superset-of", "intersects-with",
                          "no-relationship"] = "intersects-with"


class ControlSpec(Model):
    severity: Severity
    enforcement: Literal["block", "warn", "audit"]
    applies_to: AppliesTo
    check: Check
    rationale: Text
    remediation: Text
    examples: Examples
    mappings: list[Mapping] = Field(min_length=1)


class Control(Envelope):
    kind: Literal["Control"]
    spec: ControlSpec


class BaselineParameters(Model):
    """Per-tier parameters of the built-in checks; names are snake_case as in the control documentation."""

    model_config = ConfigDict(extra="forbid", alias_generator=None)

    min_availability_percent: Annotated[float, Strict(), Field(ge=0, le=100)] | None = None
    p1_response_max: PositiveDuration | None = None
    access_review_privileged_max: PositiveDuration | None = None
    access_review_standard_max: PositiveDuration | None = None
    restore_test_max_age: PositiveDuration | None = None
    dr_test_max_age: PositiveDuration | None = None
    healthcheck_max_interval: PositiveDuration | None = None
    oncall_min_people: PositiveInt | None = None
    oncall_recommended_people: PositiveInt | None = None
    max_planned_budget_share: Annotated[float, Strict(), Field(ge=0, le=1)] | None = None


class BaselineSpec(Model):
    applies_to: Selector
    controls: list[Text] = Field(default_factory=lambda: ["all"], description="control ids, or `all`")
    exclude: list[Text] = Field(default_factory=list)
    parameters: BaselineParameters = Field(default_factory=BaselineParameters)


class Baseline(Envelope):
    kind: Literal["Baseline"]
    spec: BaselineSpec


def _check_regex(value: str) -> str:
    """A pattern from a document runs on RE2, in time linear in the text it is matched against."""
    from svcascode.linear_regex import RegexRefused, compile_linear

    try:
        compile_linear(value)
    except RegexRefused as error:
        raise ValueError(f"not a regular expression svcascode can run: {error}") from None
    return value


class FrameworkSource(Model):
    type: Literal["manual", "oscal-catalog"]
    href: Url | None = None


class FrameworkControl(Model):
    id: Text
    title: Text | None = None


class FrameworkSpec(Model):
    version: Annotated[str, Strict()] | None = None
    source: FrameworkSource = Field(default_factory=lambda: FrameworkSource(type="manual"))
    id_format: Annotated[Text, AfterValidator(_check_regex)] | None = None
    controls: list[FrameworkControl] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids_match_format(self) -> FrameworkSpec:
        if self.id_format:
            from svcascode.linear_regex import compile_linear

            pattern = compile_linear(self.id_format)
            wrong = [c.id for c in self.controls if pattern.search(c.id) is None]
            if wrong:
                raise FieldError("controls", f"control ids not matching idFormat: {', '.join(wrong[:5])}")
        return self


class Framework(Envelope):
    kind: Literal["Framework"]
    spec: FrameworkSpec


class Risk(Model):
    likelihood: Literal["low", "medium", "high"] | None = None
    impact: Literal["low", "medium", "high"] | None = None
    rating: Literal["low", "medium", "high", "critical"]


class WaiverSpec(Model):
    control: Name
    subjects: list[KindRef] = Field(min_length=1, description="explicit kind:name references; no wildcards")
    justification: Text
    compensating_controls: Text | None = None
    risk: Risk | None = None
    requested_by: Text
    approved_by: list[Text] = Field(min_length=1)
    approved_at: Date
    expires_at: Date
    ticket: Text | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> WaiverSpec:
        if self.expires_at <= self.approved_at:
            raise FieldError("expiresAt", "expiresAt must be after approvedAt")
        return self


class Waiver(Envelope):
    kind: Literal["Waiver"]
    spec: WaiverSpec


