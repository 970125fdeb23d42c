"""Field types shared by every kind: names, references, durations, percentages, dates, time zones.

Strings are strict: a YAML 1.1 plain scalar such as `no`, `on`, `12:30` or `1.10` arrives as a bool or
a number, and a strict string field rejects it instead of silently converting it. The validator turns
that rejection into a message that names the surprise and says to quote the value.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetPydanticSchema, Strict, StringConstraints
from pydantic.alias_generators import to_camel

from svcascode.finding import Severity as Severity  # defined with findings (light to import); the models declare it

API_VERSION = "svcascode.io/v1alpha1"

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
REF_PATTERN = r"^[a-z][a-z]*:[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DURATION_PATTERN = r"^[0-9]+(ms|s|m|h|d|w|y)$"
POSITIVE_DURATION_PATTERN = r"^0*[1-9][0-9]*(ms|s|m|h|d|w|y)$"
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATETIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
URL_PATTERN = r"^(https?|tcp|grpc)://\S+$"

# Shown instead of the raw regular expression when a value does not match.
PATTERN_HINTS = {
    NAME_PATTERN: "a lower-case name of letters, digits and '-', starting and ending with a letter or digit, "
                  "at most 63 characters (RFC 1123)",
    REF_PATTERN: "a reference of the form kind:name, e.g. service:claims-api",
    DURATION_PATTERN: "a duration: a whole number and a unit ms, s, m, h, d, w or y, e.g. 15m, 4h, 90d",
    POSITIVE_DURATION_PATTERN: "a duration longer than zero: a whole number above 0 and a unit ms, s, m, h, d, w "
                               "or y, e.g. 15m, 4h, 90d",
    TIME_PATTERN: 'a time of day "HH:MM" in quotes, e.g. "02:00"',
    DATE_PATTERN: "a date YYYY-MM-DD",
    DATETIME_PATTERN: "an RFC 3339 date-time with offset, e.g. 2026-07-11T22:00:00+01:00",
    URL_PATTERN: "a URL such as https://runbooks.example.com/claims",
}

_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION = re.compile(DURATION_PATTERN)
# The longest duration a document may give: durations are added to dates, compared and turned into
# floats, and ten thousand years of seconds is beyond every calendar svcascode can represent.
MAX_DURATION = "1000y"
MAX_DURATION_SECONDS = 1000 * 31536000
MAX_COUNT = 1_000_000_000  # the largest count (people, accounts, findings) a document may give


class Duration(str):
    """A duration as written (`15m`), which also knows its length in seconds."""

    __slots__ = ()

    @property
    def seconds(self) -> float:
        return duration_seconds(self)

    @property
    def minutes(self) -> float:
        return self.seconds / 60


@lru_cache(maxsize=4096)
def duration_seconds(text: str) -> float:
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    unit = match.group(1)
    digits = text[: -len(unit)].lstrip("0")
    if len(digits) > 18:  # far beyond MAX_DURATION in any unit; int() and float() of it are not bounded
        raise ValueError(f"{_short(text)} is longer than {MAX_DURATION}, the longest duration svcascode works with")
    return int(digits or "0") * _UNIT_SECONDS[unit]


@lru_cache(maxsize=4096)  # one object per duration text: a catalogue repeats `15m` and `4h` thousands of times
def _to_duration(value: str) -> Duration:
    if duration_seconds(value) > MAX_DURATION_SECONDS:
        raise ValueError(f"{_short(value)} is longer than {MAX_DURATION}, the longest duration svcascode works with")
    return Duration(value)


def _check_count(value: int) -> int:
    if value > MAX_COUNT:
        raise ValueError(f"{_short(str(value))} is more than {MAX_COUNT:,}, the largest count svcascode works with")
    return value


def _short(text: str) -> str:
    """A number as written, or how many digits it has when it is too long to show."""
    return text if len(text) <= 40 else f"{text[:12]}... ({len(text)} characters)"


def duration_between(low: str | None = None, high: str | None = None) -> AfterValidator:
    """A validator that keeps a duration within [low, high], written as durations."""

    def check(value: Duration) -> Duration:
        if low is not None and value.seconds < duration_seconds(low):
            raise ValueError(f"must be at least {low}")
        if high is not None and value.seconds > duration_seconds(high):
            raise ValueError(f"must be at most {high}")
        return value

    return AfterValidator(check)


def _validated_as(text: Any) -> GetPydanticSchema:
    """Validate (and describe in the JSON Schema) as the constrained string `text`, whose last validator
    turns it into the field's type: the field is typed as the value it holds, while the pattern and its
    error messages stay pydantic-core's own."""
    return GetPydanticSchema(lambda _source, handler: handler(text))


_DurationText = Annotated[str, Strict(), StringConstraints(pattern=DURATION_PATTERN), AfterValidator(_to_duration)]
DurationValue = Annotated[Duration, _validated_as(_DurationText),
                          Field(description="duration: a number and a unit (ms, s, m, h, d, w, y)")]
# Positivity is in the pattern, checked by pydantic-core itself: a catalogue has hundreds of thousands
# of durations, and each Python validator call costs more than the pattern.
_PositiveDurationText = Annotated[str, Strict(), StringConstraints(pattern=POSITIVE_DURATION_PATTERN),
                                  AfterValidator(_to_duration)]
PositiveDuration = Annotated[Duration, _validated_as(_PositiveDurationText), Field(
    description="duration longer than zero: a number and a unit (ms, s, m, h, d, w, y)")]


def _check_decimals(value: float) -> float:
    if round(value, 3) != value:
        raise ValueError("at most 3 decimals")
    return value


Text = Annotated[str, Strict(), StringConstraints(min_length=1)]
Name = Annotated[str, Strict(), StringConstraints(pattern=NAME_PATTERN, max_length=63)]
Ref = Annotated[str, Strict(), StringConstraints(pattern=NAME_PATTERN, max_length=63),
                Field(description="name of a document of the kind this field refers to")]
KindRef = Annotated[str, Strict(), StringConstraints(pattern=REF_PATTERN),
                    Field(description="reference of the form kind:name, e.g. service:claims-api")]
Url = Annotated[str, Strict(), StringConstraints(pattern=URL_PATTERN)]
Percent = Annotated[float, Strict(), Field(ge=90, le=99.999), AfterValidator(_check_decimals),
                    Field(description="percent between 90 and 99.999, at most 3 decimals")]
AnyPercent = Annotated[float, Strict(), Field(ge=0, le=100), AfterValidator(_check_decimals)]
TimeOfDay = Annotated[str, Strict(), StringConstraints(pattern=TIME_PATTERN),
                      Field(description='time of day "HH:MM"; always quote it in YAML')]
PositiveInt = Annotated[int, Strict(), Field(ge=1), AfterValidator(_check_count)]
Count = Annotated[int, Strict(), Field(ge=0), AfterValidator(_check_count)]
Bool = Annotated[bool, Strict()]


def _to_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a real calendar date") from None


def _to_datetime(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a real date-time") from None
    try:
        moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{value} is outside the dates svcascode can represent in UTC (0001-01-01 to "
                         "9999-12-31)") from None
    return moment


_DateText = Annotated[str, Strict(), StringConstraints(pattern=DATE_PATTERN), AfterValidator(_to_date)]
_DateTimeText = Annotated[str, Strict(), StringConstraints(pattern=DATETIME_PATTERN), AfterValidator(_to_datetime)]
Date = Annotated[date, _validated_as(_DateText), Field(json_schema_extra={"format": "date"})]
DateTime = Annotated[datetime, _validated_as(_DateTimeText), Field(json_schema_extra={"format": "date-time"})]


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def _check_zone(value: str) -> str:
    if value not in _zones():
        import difflib

        close = difflib.get_close_matches(value, sorted(_zones()), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; use an IANA name such as Europe/London"
        raise ValueError(f"unknown IANA time zone '{value}'{hint}")
    return value


TimeZone = Annotated[str, Strict(), StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"),
                     AfterValidator(_check_zone), Field(description="IANA time zone, e.g. Europe/London")]

Tier = Literal["tier-0", "tier-1", "tier-2", "tier-3"]
Priority = Literal["P1", "P2", "P3", "P4"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class FieldError(ValueError):
    """A cross-field rule broken; names the field the message belongs to, so it is reported at its line.

    `field` is a key of the model that raises it, or a path below it (("states", 2, "at")).
    """

    def __init__(self, field: str | tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path: tuple[str | int, ...] = (field,) if isinstance(field, str) else field
        self.field = self.path[0]


class FieldsGiven(set[str]):
    """The fields a document gave for one of its models: one object per distinct set, shared by every model
    that gave the same fields. pydantic keeps a new set in each model instance, most of a validated
    document's memory (16 of them in a Service), while a catalogue has a few hundred distinct ones. A
    document is never changed once validated; a shared set refuses to change, so that nothing can change
    another model's through it."""

    __slots__ = ()

    def _refuse(self, *args: Any) -> Any:
        raise TypeError("the fields a validated document gave do not change")

    add = discard = remove = pop = clear = update = _refuse
    difference_update = intersection_update = symmetric_difference_update = _refuse
    __ior__ = __iand__ = __isub__ = __ixor__ = _refuse


_FIELDS_GIVEN: dict[frozenset[str], FieldsGiven] = {}
_MOST_SHARED = 50_000  # distinct sets kept for sharing (a long-lived process reading hostile files): a model
# that gave yet another one keeps its own set


class SharedFields(BaseModel):
    """A model whose set of given fields is shared with every other model that gave the same ones."""

    def model_post_init(self, context: Any, /) -> None:
        given = frozenset(self.__pydantic_fields_set__)
        shared = _FIELDS_GIVEN.get(given)
        if shared is None:
            if len(_FIELDS_GIVEN) >= _MOST_SHARED:
                return
            shared = _FIELDS_GIVEN[given] = FieldsGiven(given)
        object.__setattr__(self, "__pydantic_fields_set__", shared)


class Model(SharedFields):
    """Base of every spec model: camelCase in YAML, unknown fields rejected."""

    # defer_build: a kind's validator is built when a document of that kind is first validated, not at import
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, defer_build=True)


class Link(Model):
    url: Url
    title: Text | None = None


class Metadata(Model):
    name: Name
    title: Text | None = None
    description: Text | None = None
    labels: dict[str, Annotated[str, Strict()]] = Field(default_factory=dict)
    annotations: dict[str, Annotated[str, Strict()]] = Field(
        default_factory=dict, description="free-form notes for tools and people; any keys")
    tags: list[Text] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)


class Selector(Model):
    """Documents chosen by tier and labels rather than by name."""

    tiers: list[Tier] = Field(default_factory=list)
    labels: dict[str, Annotated[str, Strict()]] = Field(default_factory=dict)


class Envelope(Model):
    api_version: Literal["svcascode.io/v1alpha1"] = Field(alias="apiVersion")
    metadata: Metadata
