"""Team (with its on-call rota) and BusinessCalendar."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, Strict, StringConstraints, model_validator

from svcascode.models.common import (
    FieldError,
    Bool, Date, DurationValue, Envelope, Model, Ref, Text, TimeOfDay, TimeZone, Weekday, duration_between,
)


class Member(Model):
    id: Text = Field(description="IdP login or e-mail; no HR data in git")
    role: Literal["lead", "manager", "member", "risk-owner"]


class Rotation(Model):
    type: Literal["weekly", "daily", "follow-the-sun"]
    handoff: Annotated[str, Strict(), StringConstraints(
        pattern=r"^(MON|TUE|WED|THU|FRI|SAT|SUN) ([01][0-9]|2[0-3]):[0-5][0-9]$")] | None = Field(
        None, description='day and time of the hand-over, e.g. "MON 09:00"')
    timezone: TimeZone | None = None


class OnCall(Model):
    tool: Text | None = None
    schedule_id: Text | None = None
    coverage: Ref = Field(description="a BusinessCalendar")
    rotation: Rotation | None = None
    primary: list[Text] = Field(min_length=1)
    secondary: list[Text] = Field(default_factory=list)


class EscalationStep(Model):
    after: Annotated[DurationValue, duration_between("0s", "60m")]
    notify: list[Text] = Field(min_length=1, description="member ids, team:<name>, oncall:primary, oncall:secondary")


class TeamSpec(Model):
    type: Literal["team", "department", "vendor"]
    parent: Ref | None = None
    email: Text | None = None
    chat_channel: Text | None = None
    members: list[Member] = Field(min_length=1)
    on_call: OnCall | None = None
    escalation: list[EscalationStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _escalation_ascending(self) -> TeamSpec:
        afters = [step.after.seconds for step in self.escalation]
        if afters != sorted(afters):
            raise FieldError("escalation", "escalation steps must be in ascending order of `after`")
        if self.on_call is not None and not self.escalation:
            raise FieldError("onCall", "a team with `onCall` needs an `escalation` list")
        return self


class Team(Envelope):
    kind: Literal["Team"]
    spec: TeamSpec


class WeeklyHours(Model):
    days: list[Weekday] = Field(min_length=1)
    from_: TimeOfDay = Field(alias="from")
    to: TimeOfDay

    @model_validator(mode="after")
    def _ordered(self) -> WeeklyHours:
        if self.to <= self.from_:
            raise FieldError("to", '`to` must be later than `from`; split an overnight range in two ("22:00"-"24:00" '
                             'and "00:00"-"06:00")')
        return self


class Holiday(Model):
    date: Date
    name: Text


class PublicHolidays(Model):
    country: Text = Field(description="ISO 3166-1 alpha-2 code as the holidays package knows it, e.g. GB")
    subdivision: Text | None = Field(None, description="the holidays package's subdivision code, e.g. ENG")

    @model_validator(mode="after")
    def _known(self) -> PublicHolidays:
        from svcascode.holidays_calendar import check_public_holidays

        problem = check_public_holidays(self.country, self.subdivision)
        if problem is not None:
            raise FieldError(*problem)
        return self


class BusinessCalendarSpec(Model):
    timezone: TimeZone
    always_on: Bool = False
    weekly: list[WeeklyHours] = Field(default_factory=list)
    holidays: list[Holiday] = Field(default_factory=list)
    public_holidays: PublicHolidays | None = Field(
        None, description="closed on the public holidays of a country (and subdivision), as well as `holidays`")

    @model_validator(mode="after")
    def _one_shape(self) -> BusinessCalendarSpec:
        if self.always_on == bool(self.weekly):
            raise FieldError("alwaysOn" if self.always_on else "weekly",
                             "give exactly one of `alwaysOn: true` or `weekly:` hours")
        if self.always_on and self.public_holidays is not None:
            raise FieldError("publicHolidays", "an `alwaysOn` calendar has no closed days; remove `publicHolidays` "
                             "or give `weekly:` hours")
        return self


class BusinessCalendar(Envelope):
    kind: Literal["BusinessCalendar"]
    spec: BusinessCalendarSpec
